-- The state as of a moment reads, per record, its last event at or before
-- that moment (`Log::record_events_until`). This index holds everything
-- that inner query reads, so it never touches a stored snapshot.
CREATE INDEX events_record_at ON events (kind, entity_type, entity_id, at, seq);
