-- Lifeboat schema 6: where a record came from. A client or patient read in from the practice
-- management system's (PMS) snapshot is marked so, beside the PMS number it already had a column for,
-- and importing the same file again finds it by that number instead of adding it twice. Both travel
-- with the record's creation (sync). The PMS number is not unique in the table: two PCs that import
-- the same file before they sync each make a record; the duplicate is raised as a conflict for a
-- person, never refused by one PC while another accepted it.
-- Never edit this file once shipped; add a new numbered migration.

ALTER TABLE client ADD COLUMN origin TEXT NOT NULL DEFAULT 'offline' CHECK (origin IN ('offline', 'pms'));
ALTER TABLE patient ADD COLUMN origin TEXT NOT NULL DEFAULT 'offline' CHECK (origin IN ('offline', 'pms'));
CREATE INDEX client_pms_id ON client (pms_id) WHERE pms_id IS NOT NULL;
CREATE INDEX patient_pms_id ON patient (pms_id) WHERE pms_id IS NOT NULL;
