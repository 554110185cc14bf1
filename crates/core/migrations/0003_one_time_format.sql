-- Lifeboat schema 3: one timestamp format. Earlier versions stored some times as RFC 3339 with an
-- offset ('2026-03-29T08:30:00.123456789+00:00') and others as whole seconds ('2026-03-29T08:30:00Z').
-- From now on every stored instant is UTC with milliseconds: '2026-03-29T08:30:00.123Z' (fixed width,
-- so text order is time order). This rewrites the existing values; the audit log's `at` is left as it
-- was written, because the audit chain's hashes cover that text.
-- Never edit this file once shipped; add a new numbered migration.

UPDATE node SET created_at = strftime('%Y-%m-%dT%H:%M:%fZ', created_at);
UPDATE practice SET created_at = strftime('%Y-%m-%dT%H:%M:%fZ', created_at);
UPDATE premises SET created_at = strftime('%Y-%m-%dT%H:%M:%fZ', created_at);
UPDATE staff SET created_at = strftime('%Y-%m-%dT%H:%M:%fZ', created_at),
                 updated_at = strftime('%Y-%m-%dT%H:%M:%fZ', updated_at);
UPDATE client SET created_at = strftime('%Y-%m-%dT%H:%M:%fZ', created_at),
                  updated_at = strftime('%Y-%m-%dT%H:%M:%fZ', updated_at);
UPDATE patient SET created_at = strftime('%Y-%m-%dT%H:%M:%fZ', created_at),
                   updated_at = strftime('%Y-%m-%dT%H:%M:%fZ', updated_at);
UPDATE ownership SET created_at = strftime('%Y-%m-%dT%H:%M:%fZ', created_at);
UPDATE appointment SET starts_at = strftime('%Y-%m-%dT%H:%M:%fZ', starts_at),
                       ends_at = strftime('%Y-%m-%dT%H:%M:%fZ', ends_at),
                       created_at = strftime('%Y-%m-%dT%H:%M:%fZ', created_at),
                       updated_at = strftime('%Y-%m-%dT%H:%M:%fZ', updated_at);
