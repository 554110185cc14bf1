-- Lifeboat schema 5: sync. The journal made fit to ship (a counter row per node, a canonical content
-- hash, audit entries that cover the journal entry's hash), ids for ownership rows, per-field clocks for
-- merging, conflicts, quarantined changes, this PC's sync peers, and the hub's signed receipts for the
-- audit chain. Never edit this file once shipped; add a new numbered migration.

-- A node id is retired (and a new one made) when the database turns up on another PC or is found to be
-- a restored copy; old entries keep the node id they were made under.
ALTER TABLE node ADD COLUMN retired_at TEXT;
-- Where this node's database lives (machine and folder), to notice a copy opened elsewhere.
ALTER TABLE node ADD COLUMN fingerprint TEXT NOT NULL DEFAULT '';

-- The last sequence number used by each node whose changes this database holds: the next one is
-- taken from here, never from max() + 1.
CREATE TABLE node_counter (
    node_id   TEXT PRIMARY KEY NOT NULL,
    last_seq  INTEGER NOT NULL CHECK (last_seq >= 0)
) STRICT;
INSERT INTO node_counter (node_id, last_seq) SELECT node_id, max(node_seq) FROM journal GROUP BY node_id;

-- How each entry's content hash was computed: 1, the first release's serde_json encoding; 2, the
-- canonical encoding (see store/canonical.rs).
ALTER TABLE journal ADD COLUMN hash_format INTEGER NOT NULL DEFAULT 1;
-- For updates of mutable records: the clock of each field's value that the change replaced, so that
-- two changes made without seeing each other can be told apart from one that followed the other.
ALTER TABLE journal ADD COLUMN base TEXT NOT NULL DEFAULT '{}';
-- When this database received the entry (local bookkeeping).
ALTER TABLE journal ADD COLUMN received_at TEXT;
CREATE INDEX journal_entity ON journal (entity, entity_id);

-- How each audit entry's hash was computed: 1, without the journal entry's content hash; 2, covering it.
ALTER TABLE audit ADD COLUMN format INTEGER NOT NULL DEFAULT 1;

-- Ownership rows get ids of their own, so that two owners of one animal are two records in a merge.
CREATE TABLE ownership_new (
    id          TEXT PRIMARY KEY NOT NULL,
    client_id   TEXT NOT NULL REFERENCES client (id),
    patient_id  TEXT NOT NULL REFERENCES patient (id),
    created_at  TEXT NOT NULL,
    UNIQUE (client_id, patient_id)
) STRICT;
INSERT INTO ownership_new (id, client_id, patient_id, created_at)
SELECT lower(hex(randomblob(4)) || '-' || hex(randomblob(2)) || '-4' || substr(hex(randomblob(2)), 2) || '-' ||
             substr('89ab', 1 + (abs(random()) % 4), 1) || substr(hex(randomblob(2)), 2) || '-' || hex(randomblob(6))),
       client_id, patient_id, created_at
FROM ownership;
DROP INDEX ownership_patient;
DROP TABLE ownership;
ALTER TABLE ownership_new RENAME TO ownership;
CREATE INDEX ownership_patient ON ownership (patient_id);

-- Two computers may each start a consultation for one appointment, or void one record, while apart:
-- both are clinical records and both must arrive everywhere, so these are no longer unique in the
-- table (the operations still refuse a second one on one PC).
DROP INDEX consultation_appointment;
CREATE INDEX consultation_appointment ON consultation (appointment_id) WHERE appointment_id IS NOT NULL;
DROP INDEX clinical_void_entity;
CREATE INDEX clinical_void_entity ON clinical_void (entity, entity_id);

-- For each mutable record, the clock (HLC and node) of each field's current value: the merge keeps,
-- field by field, the value with the later clock.
CREATE TABLE field_clock (
    entity     TEXT NOT NULL,
    entity_id  TEXT NOT NULL,
    clocks     TEXT NOT NULL,
    PRIMARY KEY (entity, entity_id)
) STRICT, WITHOUT ROWID;

-- Conflicts a person must resolve. The id is derived from the kind and the sorted ids of the records
-- involved, so every node raises the same conflict once it holds the same changes.
CREATE TABLE conflict (
    id           TEXT PRIMARY KEY NOT NULL,
    kind         TEXT NOT NULL CHECK (kind IN ('double_booking', 'duplicate_client', 'duplicate_patient', 'concurrent_edit', 'after_signing')),
    entity       TEXT NOT NULL,
    members      TEXT NOT NULL,
    detail       TEXT NOT NULL DEFAULT '',
    detected_at  TEXT NOT NULL,
    resolved_at  TEXT,
    resolved_by  TEXT,
    resolution   TEXT
) STRICT;
CREATE INDEX conflict_open ON conflict (resolved_at, detected_at);

-- Changes received that could not be applied (a rule of the domain refused them). Kept, never dropped,
-- with the reason; the change itself is in the journal.
CREATE TABLE quarantine (
    op_id    TEXT PRIMARY KEY NOT NULL,
    reason   TEXT NOT NULL,
    at       TEXT NOT NULL
) STRICT;

-- Where this PC syncs to (local settings, never synced): the practice relay or the central hub.
CREATE TABLE sync_peer (
    id              TEXT PRIMARY KEY NOT NULL,
    name            TEXT NOT NULL,
    url             TEXT NOT NULL,
    -- SHA-256 of the server's TLS certificate, pinned at pairing.
    cert_sha256     TEXT NOT NULL,
    device_id       TEXT NOT NULL,
    -- The device's credential at the server (a secret: never shown, never synced).
    token           TEXT NOT NULL,
    server_id       TEXT NOT NULL,
    server_key      TEXT NOT NULL,
    practice_id     TEXT NOT NULL,
    practice_name   TEXT NOT NULL,
    -- The server's epoch when the pull cursor was last moved, the cursor, and the change at it.
    epoch           TEXT NOT NULL DEFAULT '',
    pull_cursor     INTEGER NOT NULL DEFAULT 0,
    pull_op         TEXT,
    -- What the server held per node at the last exchange (JSON list of marks).
    marks           TEXT NOT NULL DEFAULT '[]',
    last_attempt    TEXT,
    last_success    TEXT,
    last_error      TEXT,
    enabled         INTEGER NOT NULL DEFAULT 1 CHECK (enabled IN (0, 1)),
    created_at      TEXT NOT NULL
) STRICT;

-- The hub's signed receipts for this node's audit chain head: an audit log later cut short or rewritten
-- no longer matches the last receipt.
CREATE TABLE audit_receipt (
    audit_seq   INTEGER NOT NULL,
    head_hash   TEXT NOT NULL,
    hub_key     TEXT NOT NULL,
    signed_at   TEXT NOT NULL,
    signature   TEXT NOT NULL,
    PRIMARY KEY (audit_seq, hub_key)
) STRICT, WITHOUT ROWID;

-- Records received from another practice of the group (a hand-over): shown read-only, marked received.
CREATE TABLE handover (
    id             TEXT PRIMARY KEY NOT NULL,
    from_practice  TEXT NOT NULL,
    to_practice    TEXT NOT NULL,
    patient_id     TEXT NOT NULL,
    direction      TEXT NOT NULL CHECK (direction IN ('sent', 'received')),
    body           TEXT NOT NULL,
    note           TEXT NOT NULL DEFAULT '',
    at             TEXT NOT NULL
) STRICT;

-- The same consultation signed on two computers while apart (only its own clinician can sign it):
-- every node keeps the earlier signature (by clock, then node). Putting the earlier signature in place
-- of a later one is the one change a signed consultation may undergo, made only by sync, which names
-- the consultation here for the length of that one update.
CREATE TABLE signature_replacement (
    consultation_id  TEXT PRIMARY KEY NOT NULL
) STRICT;
DROP TRIGGER consultation_signed_is_final;
CREATE TRIGGER consultation_signed_is_final BEFORE UPDATE ON consultation
WHEN OLD.signed_at IS NOT NULL AND NOT EXISTS (SELECT 1 FROM signature_replacement WHERE consultation_id = OLD.id)
BEGIN SELECT RAISE(ABORT, 'a signed consultation cannot be changed; add an addendum'); END;
