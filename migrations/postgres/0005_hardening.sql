-- Every API token expires: tokens made before expiry was required get 90 days
-- from their creation. The asset cache is keyed on the newest asset event.
UPDATE api_tokens
SET expires_at = to_char((created_at::timestamptz + interval '90 days') AT TIME ZONE 'UTC',
                         'YYYY-MM-DD"T"HH24:MI:SS"Z"')
WHERE expires_at IS NULL;
CREATE INDEX events_type_seq ON events (entity_type, seq);
