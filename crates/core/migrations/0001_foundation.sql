-- Lifeboat schema 1: the foundation. Never edit this file once shipped; add a new numbered migration.

-- This PC's identity in sync: one row, written when the database is created.
CREATE TABLE node (
    id          TEXT PRIMARY KEY NOT NULL,
    created_at  TEXT NOT NULL
) STRICT;

-- The persisted hybrid logical clock: one row, advanced in the same transaction as every change.
CREATE TABLE hlc_state (
    id       INTEGER PRIMARY KEY CHECK (id = 1),
    stamp    INTEGER NOT NULL
) STRICT;
INSERT INTO hlc_state (id, stamp) VALUES (1, 0);

CREATE TABLE practice (
    id          TEXT PRIMARY KEY NOT NULL,
    name        TEXT NOT NULL,
    created_at  TEXT NOT NULL
) STRICT;

CREATE TABLE premises (
    id                     TEXT PRIMARY KEY NOT NULL,
    practice_id            TEXT NOT NULL REFERENCES practice (id),
    name                   TEXT NOT NULL,
    address_line1          TEXT NOT NULL,
    address_line2          TEXT NOT NULL DEFAULT '',
    town                   TEXT NOT NULL,
    postcode               TEXT NOT NULL,
    phone                  TEXT NOT NULL,
    rcvs_premises_number   TEXT NOT NULL DEFAULT '',
    created_at             TEXT NOT NULL
) STRICT;

CREATE TABLE staff (
    id              TEXT PRIMARY KEY NOT NULL,
    practice_id     TEXT NOT NULL REFERENCES practice (id),
    username        TEXT NOT NULL UNIQUE,
    display_name    TEXT NOT NULL,
    role            TEXT NOT NULL CHECK (role IN ('reception', 'nurse', 'vet', 'manager', 'admin')),
    qualifications  TEXT NOT NULL DEFAULT '',
    rcvs_number     TEXT,
    active          INTEGER NOT NULL DEFAULT 1 CHECK (active IN (0, 1)),
    password_hash   TEXT NOT NULL,
    created_at      TEXT NOT NULL,
    updated_at      TEXT NOT NULL
) STRICT;

-- The journal (transactional outbox) that sync ships. Append-only.
CREATE TABLE journal (
    seq             INTEGER PRIMARY KEY AUTOINCREMENT,
    op_id           TEXT NOT NULL UNIQUE,
    node_id         TEXT NOT NULL,
    node_seq        INTEGER NOT NULL,
    hlc             INTEGER NOT NULL,
    schema_version  INTEGER NOT NULL,
    actor_id        TEXT NOT NULL,
    entity          TEXT NOT NULL,
    entity_id       TEXT NOT NULL,
    kind            TEXT NOT NULL,
    payload         TEXT NOT NULL,
    content_hash    TEXT NOT NULL,
    UNIQUE (node_id, node_seq)
) STRICT;

-- The tamper-evident audit log: a hash chain, one entry per change, written in the change's transaction.
CREATE TABLE audit (
    seq         INTEGER PRIMARY KEY,
    at          TEXT NOT NULL,
    actor_id    TEXT NOT NULL,
    action      TEXT NOT NULL,
    entity      TEXT NOT NULL,
    entity_id   TEXT NOT NULL,
    op_id       TEXT NOT NULL,
    prev_hash   TEXT NOT NULL,
    entry_hash  TEXT NOT NULL
) STRICT;
CREATE INDEX audit_op ON audit (op_id);
