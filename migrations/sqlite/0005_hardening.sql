-- Every API token expires: tokens made before expiry was required get 90 days
-- from their creation. The asset cache is keyed on the newest asset event.
UPDATE api_tokens SET expires_at = strftime('%Y-%m-%dT%H:%M:%SZ', created_at, '+90 days')
WHERE expires_at IS NULL;
CREATE INDEX events_type_seq ON events (entity_type, seq);
