-- Lifeboat schema 2: reception. Clients, patients, their owners, appointments, clinicians' working
-- hours, and the search index. Never edit this file once shipped; add a new numbered migration.

CREATE TABLE client (
    id              TEXT PRIMARY KEY NOT NULL,
    title           TEXT NOT NULL DEFAULT '',
    first_name      TEXT NOT NULL,
    last_name       TEXT NOT NULL,
    address_line1   TEXT NOT NULL DEFAULT '',
    address_line2   TEXT NOT NULL DEFAULT '',
    town            TEXT NOT NULL DEFAULT '',
    postcode        TEXT NOT NULL DEFAULT '',
    phone           TEXT NOT NULL DEFAULT '',
    phone_alt       TEXT NOT NULL DEFAULT '',
    email           TEXT NOT NULL DEFAULT '',
    consent_email   INTEGER NOT NULL DEFAULT 0 CHECK (consent_email IN (0, 1)),
    consent_sms     INTEGER NOT NULL DEFAULT 0 CHECK (consent_sms IN (0, 1)),
    notes           TEXT NOT NULL DEFAULT '',
    pms_id          TEXT,
    -- Local only (not synced): the rowid of this client's row in client_search.
    search_rowid    INTEGER NOT NULL UNIQUE,
    created_at      TEXT NOT NULL,
    updated_at      TEXT NOT NULL
) STRICT;
CREATE INDEX client_last_name ON client (last_name COLLATE NOCASE);
CREATE INDEX client_phone ON client (phone);
CREATE INDEX client_phone_alt ON client (phone_alt);
CREATE INDEX client_email ON client (email);
CREATE INDEX client_postcode ON client (postcode);

CREATE TABLE patient (
    id              TEXT PRIMARY KEY NOT NULL,
    name            TEXT NOT NULL,
    species         TEXT NOT NULL,
    species_other   TEXT NOT NULL DEFAULT '',
    breed           TEXT NOT NULL DEFAULT '',
    sex             TEXT NOT NULL CHECK (sex IN ('male', 'female', 'unknown')),
    neutered        INTEGER NOT NULL DEFAULT 0 CHECK (neutered IN (0, 1)),
    date_of_birth   TEXT,
    dob_estimated   INTEGER NOT NULL DEFAULT 0 CHECK (dob_estimated IN (0, 1)),
    colour          TEXT NOT NULL DEFAULT '',
    microchip       TEXT,
    alerts          TEXT NOT NULL DEFAULT '[]',
    deceased_on     TEXT,
    notes           TEXT NOT NULL DEFAULT '',
    pms_id          TEXT,
    created_at      TEXT NOT NULL,
    updated_at      TEXT NOT NULL
) STRICT;
CREATE INDEX patient_microchip ON patient (microchip) WHERE microchip IS NOT NULL;

-- A patient may have several owners; a client several patients.
CREATE TABLE ownership (
    client_id   TEXT NOT NULL REFERENCES client (id),
    patient_id  TEXT NOT NULL REFERENCES patient (id),
    created_at  TEXT NOT NULL,
    PRIMARY KEY (client_id, patient_id)
) STRICT, WITHOUT ROWID;
CREATE INDEX ownership_patient ON ownership (patient_id);

-- Start and end are UTC, 'YYYY-MM-DDTHH:MM:SSZ', so text order is time order.
CREATE TABLE appointment (
    id              TEXT PRIMARY KEY NOT NULL,
    clinician_id    TEXT NOT NULL REFERENCES staff (id),
    room            TEXT NOT NULL DEFAULT '',
    starts_at       TEXT NOT NULL,
    ends_at         TEXT NOT NULL CHECK (ends_at > starts_at),
    kind            TEXT NOT NULL,
    reason          TEXT NOT NULL DEFAULT '',
    patient_id      TEXT NOT NULL REFERENCES patient (id),
    client_id       TEXT NOT NULL REFERENCES client (id),
    notes           TEXT NOT NULL DEFAULT '',
    status          TEXT NOT NULL CHECK (status IN ('booked', 'arrived', 'in_consult', 'done', 'no_show', 'cancelled')),
    created_at      TEXT NOT NULL,
    updated_at      TEXT NOT NULL
) STRICT;
-- ends_at and status are in the index so the overlap check filters on index entries alone.
CREATE INDEX appointment_clinician_time ON appointment (clinician_id, starts_at, ends_at, status);
CREATE INDEX appointment_time ON appointment (starts_at);
CREATE INDEX appointment_patient ON appointment (patient_id, starts_at);
CREATE INDEX appointment_client ON appointment (client_id, starts_at);

-- Simple weekly hours: minutes after local midnight (Europe/London); weekday 1 = Monday .. 7 = Sunday.
CREATE TABLE working_hours (
    clinician_id  TEXT NOT NULL REFERENCES staff (id),
    weekday       INTEGER NOT NULL CHECK (weekday BETWEEN 1 AND 7),
    start_minute  INTEGER NOT NULL CHECK (start_minute BETWEEN 0 AND 1440),
    end_minute    INTEGER NOT NULL CHECK (end_minute BETWEEN 0 AND 1440 AND end_minute > start_minute),
    PRIMARY KEY (clinician_id, weekday)
) STRICT, WITHOUT ROWID;

-- One row per client (rowid = client.search_rowid): their names, their patients' names and microchips, phone digits, compact
-- postcode and email. Trigram tokens make any three or more characters match anywhere. Derived
-- data, rewritten in the same transaction as the records it indexes; never journaled.
CREATE VIRTUAL TABLE client_search USING fts5 (
    names,
    contact,
    tokenize = 'trigram'
);
