-- Lifeboat schema 7: the reconciliation ledger. What was recorded during the outage must reach the PMS
-- exactly once, and the manager must be able to prove it: each record of the backlog moves from
-- captured to exported (in which export) to entered in the PMS (its PMS number, who, when) to verified.
-- A stage is a mark: a row that is never changed or deleted, synced like any other record, so every PC
-- of the practice sees the same ledger and two managers marking on two PCs both keep their marks.
-- Never edit this file once shipped; add a new numbered migration.

-- One export written for the PMS: what, by whom, when, how many rows, and the SHA-256 of the file.
CREATE TABLE export_batch (
    id          TEXT PRIMARY KEY NOT NULL,
    format      TEXT NOT NULL CHECK (format IN ('csv', 'fhir', 'worklist')),
    kind        TEXT NOT NULL,
    since       TEXT,
    rows        INTEGER NOT NULL CHECK (rows >= 0),
    sha256      TEXT NOT NULL,
    made_by     TEXT NOT NULL REFERENCES staff (id),
    made_at     TEXT NOT NULL
) STRICT;
CREATE TRIGGER export_batch_is_final BEFORE UPDATE ON export_batch
BEGIN SELECT RAISE(ABORT, 'an export record cannot be changed'); END;
CREATE TRIGGER export_batch_never_deleted BEFORE DELETE ON export_batch
BEGIN SELECT RAISE(ABORT, 'an export record cannot be deleted'); END;

-- One step of one record through the ledger. `seen_changes` is how many changes of the record the
-- journal held when it was marked (counting a change made in the same write): a record changed again
-- afterwards is back to captured, because what the PMS holds is no longer what Lifeboat holds.
CREATE TABLE ledger_mark (
    id            TEXT PRIMARY KEY NOT NULL,
    record_kind   TEXT NOT NULL,
    record_id     TEXT NOT NULL,
    stage         TEXT NOT NULL CHECK (stage IN ('exported', 'entered', 'verified')),
    export_id     TEXT REFERENCES export_batch (id),
    pms_id        TEXT,
    seen_changes  INTEGER NOT NULL CHECK (seen_changes >= 1),
    marked_by     TEXT NOT NULL REFERENCES staff (id),
    marked_at     TEXT NOT NULL,
    CHECK ((stage = 'exported') = (export_id IS NOT NULL))
) STRICT;
CREATE INDEX ledger_mark_record ON ledger_mark (record_id, stage);
CREATE TRIGGER ledger_mark_is_final BEFORE UPDATE ON ledger_mark
BEGIN SELECT RAISE(ABORT, 'a ledger mark cannot be changed; add another'); END;
CREATE TRIGGER ledger_mark_never_deleted BEFORE DELETE ON ledger_mark
BEGIN SELECT RAISE(ABORT, 'a ledger mark cannot be deleted'); END;
