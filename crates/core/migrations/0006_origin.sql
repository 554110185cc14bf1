-- Lifeboat schema 6: where a record came from. A client, patient or appointment read in from the
-- practice management system's (PMS) snapshot is marked so, with its PMS number (clients and patients
-- already had a column for it), and importing the same file again finds it by that number instead of
-- adding it twice. Both travel
-- with the record's creation (sync). The PMS number is not unique in the table: two PCs that import
-- the same file before they sync each make a record; the duplicate is raised as a conflict for a
-- person, never refused by one PC while another accepted it.
-- Never edit this file once shipped; add a new numbered migration.

ALTER TABLE client ADD COLUMN origin TEXT NOT NULL DEFAULT 'offline' CHECK (origin IN ('offline', 'pms'));
ALTER TABLE patient ADD COLUMN origin TEXT NOT NULL DEFAULT 'offline' CHECK (origin IN ('offline', 'pms'));
ALTER TABLE appointment ADD COLUMN origin TEXT NOT NULL DEFAULT 'offline' CHECK (origin IN ('offline', 'pms'));
ALTER TABLE appointment ADD COLUMN pms_id TEXT;
CREATE INDEX client_pms_id ON client (pms_id) WHERE pms_id IS NOT NULL;
CREATE INDEX patient_pms_id ON patient (pms_id) WHERE pms_id IS NOT NULL;
CREATE INDEX appointment_pms_id ON appointment (pms_id) WHERE pms_id IS NOT NULL;
-- When the outage began (UTC), as a manager records it: the backlog is what was made or changed since.
ALTER TABLE practice ADD COLUMN outage_began TEXT;
