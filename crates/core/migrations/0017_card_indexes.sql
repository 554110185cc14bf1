-- Covering indexes for what lists show of a client or an animal beside something else (the day
-- book's appointments, search hits): each join reads one index entry instead of an index entry and
-- then the table row. Local structures of this PC's database; nothing synced changes.
CREATE INDEX client_card ON client (id, title, first_name, last_name, phone, phone_alt);
CREATE INDEX patient_card ON patient (id, name, species, alerts, merged_into);
