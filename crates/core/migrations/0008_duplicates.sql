-- Lifeboat schema 8: duplicates. Two records of one client or one animal (registered at the desk
-- during the outage, then found in the PMS snapshot; or registered twice) are found by what they
-- share, and a manager links them (the same, both kept) or merges one into the other. A merged
-- record stays, with the record it was merged into, so its id (and PMS number) still leads
-- somewhere; its clinical records are never moved or changed, and are shown with the other's.
-- Never edit this file once shipped; add a new numbered migration.

ALTER TABLE client ADD COLUMN merged_into TEXT REFERENCES client (id);
ALTER TABLE patient ADD COLUMN merged_into TEXT REFERENCES patient (id);
CREATE INDEX client_merged_into ON client (merged_into) WHERE merged_into IS NOT NULL;
CREATE INDEX patient_merged_into ON patient (merged_into) WHERE merged_into IS NOT NULL;

-- A person's decision on a pair (first_id < second_id): the same (linked, both kept), different
-- (not suggested again), or merged. The latest decision on a pair stands. Never changed or deleted.
CREATE TABLE duplicate_decision (
    id          TEXT PRIMARY KEY NOT NULL,
    kind        TEXT NOT NULL CHECK (kind IN ('client', 'patient')),
    first_id    TEXT NOT NULL,
    second_id   TEXT NOT NULL CHECK (second_id > first_id),
    decision    TEXT NOT NULL CHECK (decision IN ('same', 'different', 'merged')),
    decided_by  TEXT NOT NULL REFERENCES staff (id),
    decided_at  TEXT NOT NULL
) STRICT;
CREATE INDEX duplicate_decision_pair ON duplicate_decision (kind, first_id, second_id, decided_at);
CREATE TRIGGER duplicate_decision_is_final BEFORE UPDATE ON duplicate_decision
BEGIN SELECT RAISE(ABORT, 'a decision on duplicates cannot be changed; make another'); END;
CREATE TRIGGER duplicate_decision_never_deleted BEFORE DELETE ON duplicate_decision
BEGIN SELECT RAISE(ABORT, 'a decision on duplicates cannot be deleted'); END;
