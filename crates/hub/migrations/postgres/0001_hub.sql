-- Lifeboat hub, schema 1. The hub connects as the role that owns these tables; that role must be made
-- NOSUPERUSER NOBYPASSRLS, and every table that holds a practice's data has row-level security FORCED,
-- so that even the owner sees and changes only the rows of the practice named in the transaction
-- (`SET LOCAL lifeboat.practice`), which the hub takes from the device's credential.

CREATE TABLE hub_server (
    id           integer PRIMARY KEY CHECK (id = 1),
    server_id    uuid NOT NULL,
    epoch        uuid NOT NULL,
    signing_key  text NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE practice (
    id          uuid PRIMARY KEY,
    name        text NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
    -- The practice's sequence: the next change stored gets last_seq + 1, assigned while this row is
    -- locked, so changes commit in sequence order and a reader never skips one.
    last_seq    bigint NOT NULL DEFAULT 0,
    created_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE device (
    id           uuid PRIMARY KEY,
    practice_id  uuid NOT NULL REFERENCES practice (id),
    name         text NOT NULL,
    node_id      uuid NOT NULL,
    token_hash   text NOT NULL UNIQUE,
    enrolled_at  timestamptz NOT NULL DEFAULT now(),
    revoked_at   timestamptz,
    last_seen    timestamptz,
    app_version  text NOT NULL DEFAULT ''
);

CREATE TABLE enrol_code (
    code_hash    text PRIMARY KEY,
    practice_id  uuid NOT NULL REFERENCES practice (id),
    expires_at   timestamptz NOT NULL,
    used_at      timestamptz
);

CREATE TABLE change (
    practice_id   uuid NOT NULL REFERENCES practice (id),
    seq           bigint NOT NULL,
    op_id         uuid NOT NULL,
    node_id       uuid NOT NULL,
    node_seq      bigint NOT NULL,
    hlc           bigint NOT NULL,
    content_hash  text NOT NULL,
    body          text NOT NULL,
    device_id     uuid,
    received_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (practice_id, seq),
    UNIQUE (practice_id, op_id),
    UNIQUE (practice_id, node_id, node_seq)
);

-- The last node sequence number held per node (kept in step by each push; never max() over change).
CREATE TABLE node_mark (
    practice_id  uuid NOT NULL REFERENCES practice (id),
    node_id      uuid NOT NULL,
    last_seq     bigint NOT NULL,
    PRIMARY KEY (practice_id, node_id)
);

CREATE TABLE audit_receipt (
    practice_id  uuid NOT NULL REFERENCES practice (id),
    device_id    uuid NOT NULL,
    node_id      uuid NOT NULL,
    audit_seq    bigint NOT NULL,
    head_hash    text NOT NULL,
    signed_at    text NOT NULL,
    server_key   text NOT NULL,
    signature    text NOT NULL,
    PRIMARY KEY (device_id, audit_seq, signed_at)
);

ALTER TABLE practice ENABLE ROW LEVEL SECURITY;
ALTER TABLE practice FORCE ROW LEVEL SECURITY;
ALTER TABLE device ENABLE ROW LEVEL SECURITY;
ALTER TABLE device FORCE ROW LEVEL SECURITY;
ALTER TABLE enrol_code ENABLE ROW LEVEL SECURITY;
ALTER TABLE enrol_code FORCE ROW LEVEL SECURITY;
ALTER TABLE change ENABLE ROW LEVEL SECURITY;
ALTER TABLE change FORCE ROW LEVEL SECURITY;
ALTER TABLE node_mark ENABLE ROW LEVEL SECURITY;
ALTER TABLE node_mark FORCE ROW LEVEL SECURITY;
ALTER TABLE audit_receipt ENABLE ROW LEVEL SECURITY;
ALTER TABLE audit_receipt FORCE ROW LEVEL SECURITY;

-- The practice named for the transaction (NULL when none is).
CREATE FUNCTION lifeboat_practice() RETURNS uuid LANGUAGE sql STABLE
    AS $$ SELECT nullif(current_setting('lifeboat.practice', true), '')::uuid $$;

-- The group's directory: every practice's id and name may be read (to address a hand-over); a
-- practice's own row alone may be changed.
CREATE POLICY practice_read ON practice FOR SELECT USING (true);
CREATE POLICY practice_insert ON practice FOR INSERT WITH CHECK (id = lifeboat_practice());
CREATE POLICY practice_update ON practice FOR UPDATE USING (id = lifeboat_practice());

-- A device is found by its token's hash (before its practice is known), otherwise only within its practice.
CREATE POLICY device_read ON device FOR SELECT
    USING (practice_id = lifeboat_practice() OR token_hash = current_setting('lifeboat.token', true));
CREATE POLICY device_insert ON device FOR INSERT WITH CHECK (practice_id = lifeboat_practice());
CREATE POLICY device_update ON device FOR UPDATE USING (practice_id = lifeboat_practice());

-- An enrolment code is found by its hash (the device knows no practice yet).
CREATE POLICY enrol_code_read ON enrol_code FOR SELECT
    USING (practice_id = lifeboat_practice() OR code_hash = current_setting('lifeboat.code', true));
CREATE POLICY enrol_code_insert ON enrol_code FOR INSERT WITH CHECK (practice_id = lifeboat_practice());
CREATE POLICY enrol_code_update ON enrol_code FOR UPDATE USING (practice_id = lifeboat_practice());

-- Changes are written once and never changed or removed: no UPDATE or DELETE policy, so neither
-- finds a row; TRUNCATE (which row-level security does not cover) is refused by a trigger.
CREATE POLICY change_read ON change FOR SELECT USING (practice_id = lifeboat_practice());
CREATE POLICY change_insert ON change FOR INSERT WITH CHECK (practice_id = lifeboat_practice());
CREATE POLICY node_mark_read ON node_mark FOR SELECT USING (practice_id = lifeboat_practice());
CREATE POLICY node_mark_insert ON node_mark FOR INSERT WITH CHECK (practice_id = lifeboat_practice());
CREATE POLICY node_mark_update ON node_mark FOR UPDATE USING (practice_id = lifeboat_practice());
CREATE POLICY audit_receipt_read ON audit_receipt FOR SELECT USING (practice_id = lifeboat_practice());
CREATE POLICY audit_receipt_insert ON audit_receipt FOR INSERT WITH CHECK (practice_id = lifeboat_practice());

CREATE FUNCTION lifeboat_never_removed() RETURNS trigger LANGUAGE plpgsql
    AS $$ BEGIN RAISE EXCEPTION 'Lifeboat never removes synced changes or receipts'; END $$;
CREATE TRIGGER change_never_truncated BEFORE TRUNCATE ON change FOR EACH STATEMENT EXECUTE FUNCTION lifeboat_never_removed();
CREATE TRIGGER audit_receipt_never_truncated BEFORE TRUNCATE ON audit_receipt FOR EACH STATEMENT EXECUTE FUNCTION lifeboat_never_removed();
