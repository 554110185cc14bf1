-- Lifeboat schema 9: closing the outage. Once every record of the backlog is verified in the PMS, a
-- manager closes the outage: the final export (the backlog as FHIR) is signed with this PC's key and
-- noted with its SHA-256, and the practice sets when personal data held only as a copy of the PMS is
-- purged from its PCs (UK GDPR: no copy kept longer than needed). A purge blanks those records'
-- personal details, on every PC (it syncs), and the journal's old copies of them on each PC; records
-- the law requires (prescriptions, the controlled drugs register, consultations, charges) stay, with
-- the clients and animals they name.
-- Never edit this file once shipped; add a new numbered migration.

ALTER TABLE client ADD COLUMN purged_at TEXT;
ALTER TABLE patient ADD COLUMN purged_at TEXT;
ALTER TABLE appointment ADD COLUMN purged_at TEXT;
-- This PC's copy of a change whose personal details were purged (its payload blanked); never synced.
ALTER TABLE journal ADD COLUMN redacted_at TEXT;

CREATE TABLE outage_closure (
    id              TEXT PRIMARY KEY NOT NULL,
    outage_began    TEXT NOT NULL,
    records         INTEGER NOT NULL CHECK (records >= 0),
    export_id       TEXT NOT NULL REFERENCES export_batch (id),
    export_sha256   TEXT NOT NULL,
    signer_key      TEXT NOT NULL,
    signature       TEXT NOT NULL,
    purge_after     TEXT NOT NULL,
    closed_by       TEXT NOT NULL REFERENCES staff (id),
    closed_at       TEXT NOT NULL
) STRICT;
CREATE TRIGGER outage_closure_is_final BEFORE UPDATE ON outage_closure
BEGIN SELECT RAISE(ABORT, 'a closed outage cannot be changed'); END;
CREATE TRIGGER outage_closure_never_deleted BEFORE DELETE ON outage_closure
BEGIN SELECT RAISE(ABORT, 'a closed outage cannot be deleted'); END;

CREATE TABLE purge_run (
    id            TEXT PRIMARY KEY NOT NULL,
    closure_id    TEXT NOT NULL REFERENCES outage_closure (id),
    clients       INTEGER NOT NULL,
    patients      INTEGER NOT NULL,
    appointments  INTEGER NOT NULL,
    kept_clients  INTEGER NOT NULL,
    kept_patients INTEGER NOT NULL,
    run_by        TEXT NOT NULL REFERENCES staff (id),
    run_at        TEXT NOT NULL
) STRICT;
CREATE TRIGGER purge_run_is_final BEFORE UPDATE ON purge_run
BEGIN SELECT RAISE(ABORT, 'a purge record cannot be changed'); END;
CREATE TRIGGER purge_run_never_deleted BEFORE DELETE ON purge_run
BEGIN SELECT RAISE(ABORT, 'a purge record cannot be deleted'); END;

-- The backlog reads what was made or changed since a time, kind by kind.
CREATE INDEX client_updated ON client (updated_at);
CREATE INDEX patient_updated ON patient (updated_at);
CREATE INDEX appointment_updated ON appointment (updated_at);
CREATE INDEX consultation_updated ON consultation (updated_at);
CREATE INDEX prescription_issued ON prescription (issued_at);
CREATE INDEX dispensing_dispensed ON dispensing (dispensed_at);
CREATE INDEX cd_entry_recorded ON cd_entry (recorded_at);
CREATE INDEX charge_charged ON charge (charged_at);

-- A consultation read in from the PMS's clinical history has its PMS record number: importing the
-- same history again finds it; a copy of the PMS is not backlog.
ALTER TABLE consultation ADD COLUMN pms_id TEXT;
CREATE INDEX consultation_pms_id ON consultation (pms_id) WHERE pms_id IS NOT NULL;
