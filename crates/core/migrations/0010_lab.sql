-- Lifeboat schema 10: lab work. The practice's list of tests (in-house and external panels, each with
-- its sample type, lab and the time a result should take), requests made from a consultation or for
-- an animal (with who took the sample and when), and results: values with units and reference ranges
-- (high and low flagged when entered), a comment, or a file (a lab's PDF, a photo of a printout).
--
-- Requests and results are clinical records: never changed, deleted or replaced (a wrong one is voided,
-- as a prescription is). A request is awaited until a result that is not void is entered for it, and
-- overdue once its `due_at` (sample time plus the test's turnaround, fixed when requested) has passed.
-- Never edit this file once shipped; add a new numbered migration.

CREATE TABLE lab_test (
    id                TEXT PRIMARY KEY NOT NULL,
    name              TEXT NOT NULL,
    sample_type       TEXT NOT NULL,
    -- Who runs it: 'In house', or the external laboratory's name.
    lab               TEXT NOT NULL,
    in_house          INTEGER NOT NULL CHECK (in_house IN (0, 1)),
    -- How long after the sample a result should be here; later, the request is overdue.
    turnaround_hours  INTEGER NOT NULL CHECK (turnaround_hours BETWEEN 1 AND 2160),
    active            INTEGER NOT NULL DEFAULT 1 CHECK (active IN (0, 1)),
    created_at        TEXT NOT NULL,
    updated_at        TEXT NOT NULL
) STRICT;
CREATE INDEX lab_test_name ON lab_test (name COLLATE NOCASE);

CREATE TABLE lab_request (
    id               TEXT PRIMARY KEY NOT NULL,
    patient_id       TEXT NOT NULL REFERENCES patient (id),
    consultation_id  TEXT REFERENCES consultation (id),
    test_id          TEXT NOT NULL REFERENCES lab_test (id),
    -- As the test was named when requested (the list may change later).
    test_name        TEXT NOT NULL,
    lab              TEXT NOT NULL,
    in_house         INTEGER NOT NULL CHECK (in_house IN (0, 1)),
    sample_type      TEXT NOT NULL,
    sample_taken_by  TEXT NOT NULL REFERENCES staff (id),
    sample_taken_at  TEXT NOT NULL,
    due_at           TEXT NOT NULL,
    note             TEXT NOT NULL DEFAULT '',
    requested_by     TEXT NOT NULL REFERENCES staff (id),
    requested_at     TEXT NOT NULL
) STRICT;
CREATE INDEX lab_request_patient ON lab_request (patient_id, requested_at);
CREATE INDEX lab_request_consultation ON lab_request (consultation_id) WHERE consultation_id IS NOT NULL;
CREATE INDEX lab_request_requested ON lab_request (requested_at);
CREATE TRIGGER lab_request_is_final BEFORE UPDATE ON lab_request
BEGIN SELECT RAISE(ABORT, 'a lab request cannot be changed; void it and request again'); END;
CREATE TRIGGER lab_request_never_deleted BEFORE DELETE ON lab_request
BEGIN SELECT RAISE(ABORT, 'a lab request cannot be deleted; void it'); END;
CREATE TRIGGER lab_request_never_replaced BEFORE INSERT ON lab_request WHEN EXISTS (SELECT 1 FROM lab_request WHERE id = NEW.id)
BEGIN SELECT RAISE(ABORT, 'a lab request cannot be replaced'); END;

CREATE TABLE lab_result (
    id            TEXT PRIMARY KEY NOT NULL,
    request_id    TEXT NOT NULL REFERENCES lab_request (id),
    -- The values as a JSON list of {name, value, unit, low, high, flag}; flag 'high', 'low' or null.
    measurements  TEXT NOT NULL DEFAULT '[]' CHECK (json_valid(measurements) AND json_type(measurements) = 'array'),
    -- How many of the values are flagged high or low.
    flagged       INTEGER NOT NULL DEFAULT 0 CHECK (flagged >= 0),
    comment       TEXT NOT NULL DEFAULT '',
    -- A file from the lab (PDF, PNG or JPEG), base64, kept in the encrypted database and synced.
    file_name     TEXT,
    file_type     TEXT CHECK (file_type IN ('application/pdf', 'image/png', 'image/jpeg')),
    file_data     TEXT,
    -- The file's size, so lists need not read the file.
    file_bytes    INTEGER CHECK (file_bytes > 0),
    entered_by    TEXT NOT NULL REFERENCES staff (id),
    entered_at    TEXT NOT NULL,
    CHECK ((file_name IS NULL) = (file_data IS NULL) AND (file_type IS NULL) = (file_data IS NULL)
           AND (file_bytes IS NULL) = (file_data IS NULL)),
    CHECK (measurements <> '[]' OR file_data IS NOT NULL OR comment <> '')
) STRICT;
CREATE INDEX lab_result_request ON lab_result (request_id, entered_at);
CREATE INDEX lab_result_entered ON lab_result (entered_at);
CREATE TRIGGER lab_result_is_final BEFORE UPDATE ON lab_result
BEGIN SELECT RAISE(ABORT, 'a lab result cannot be changed; void it and enter it again'); END;
CREATE TRIGGER lab_result_never_deleted BEFORE DELETE ON lab_result
BEGIN SELECT RAISE(ABORT, 'a lab result cannot be deleted; void it'); END;
CREATE TRIGGER lab_result_never_replaced BEFORE INSERT ON lab_result WHEN EXISTS (SELECT 1 FROM lab_result WHERE id = NEW.id)
BEGIN SELECT RAISE(ABORT, 'a lab result cannot be replaced'); END;

-- Lab requests and results are voided like other clinical records: the void table learns their names
-- (a CHECK cannot be altered, so the table is rebuilt with its rows, index and guards).
CREATE TABLE clinical_void_next (
    id          TEXT PRIMARY KEY NOT NULL,
    entity      TEXT NOT NULL CHECK (entity IN ('consultation', 'prescription', 'charge', 'lab_request', 'lab_result')),
    entity_id   TEXT NOT NULL,
    reason      TEXT NOT NULL,
    voided_by   TEXT NOT NULL REFERENCES staff (id),
    voided_at   TEXT NOT NULL
) STRICT;
INSERT INTO clinical_void_next (id, entity, entity_id, reason, voided_by, voided_at)
    SELECT id, entity, entity_id, reason, voided_by, voided_at FROM clinical_void;
DROP TABLE clinical_void;
ALTER TABLE clinical_void_next RENAME TO clinical_void;
-- Not unique: two PCs apart may each void one record (schema 5).
CREATE INDEX clinical_void_entity ON clinical_void (entity, entity_id);
CREATE TRIGGER clinical_void_is_final BEFORE UPDATE ON clinical_void
BEGIN SELECT RAISE(ABORT, 'a void cannot be changed'); END;
CREATE TRIGGER clinical_void_never_deleted BEFORE DELETE ON clinical_void
BEGIN SELECT RAISE(ABORT, 'a void cannot be deleted'); END;
CREATE TRIGGER clinical_void_never_replaced BEFORE INSERT ON clinical_void WHEN EXISTS (SELECT 1 FROM clinical_void WHERE id = NEW.id)
BEGIN SELECT RAISE(ABORT, 'a void cannot be replaced'); END;
