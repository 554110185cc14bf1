-- Lifeboat schema 12: taking payment while card systems and invoicing are down. Payments against the
-- charges already captured (cash, card on a standalone terminal with its reference, cheque, bank
-- transfer), deposits, and card payments taken down to run on the terminal later (run once it works:
-- approved with its reference, or declined); the end-of-day cash-up per premises, with the difference
-- recorded, never edited away; insurance claims to make once the insurers' systems are reachable.
-- All of them are records like the clinical ones: never changed or deleted (a wrong payment or claim
-- is voided with a reason; a recount is another cash-up).
-- Never edit this file once shipped; add a new numbered migration.

CREATE TABLE payment (
    id            TEXT PRIMARY KEY NOT NULL,
    client_id     TEXT NOT NULL REFERENCES client (id),
    premises_id   TEXT NOT NULL REFERENCES premises (id),
    kind          TEXT NOT NULL CHECK (kind IN ('payment', 'deposit')),
    -- 'pay_later': what the client agreed to pay later (by when, in the note); not money received.
    method        TEXT NOT NULL CHECK (method IN ('cash', 'card', 'card_to_run', 'cheque', 'bank_transfer', 'pay_later')),
    amount_pence  INTEGER NOT NULL CHECK (amount_pence > 0 AND amount_pence <= 10000000),
    -- The terminal's or the cheque's reference.
    reference     TEXT NOT NULL DEFAULT '',
    note          TEXT NOT NULL DEFAULT '',
    taken_by      TEXT NOT NULL REFERENCES staff (id),
    taken_at      TEXT NOT NULL
) STRICT;
CREATE INDEX payment_client ON payment (client_id, taken_at);
CREATE INDEX payment_premises ON payment (premises_id, taken_at);
CREATE INDEX payment_taken ON payment (taken_at);
CREATE TRIGGER payment_is_final BEFORE UPDATE ON payment
BEGIN SELECT RAISE(ABORT, 'a payment cannot be changed; void it and take it again'); END;
CREATE TRIGGER payment_never_deleted BEFORE DELETE ON payment
BEGIN SELECT RAISE(ABORT, 'a payment cannot be deleted; void it'); END;
CREATE TRIGGER payment_never_replaced BEFORE INSERT ON payment WHEN EXISTS (SELECT 1 FROM payment WHERE id = NEW.id)
BEGIN SELECT RAISE(ABORT, 'a payment cannot be replaced'); END;

-- A card payment taken down while the terminal was unusable, run on it later.
CREATE TABLE card_run (
    id          TEXT PRIMARY KEY NOT NULL,
    payment_id  TEXT NOT NULL REFERENCES payment (id),
    outcome     TEXT NOT NULL CHECK (outcome IN ('approved', 'declined')),
    reference   TEXT NOT NULL DEFAULT '',
    run_by      TEXT NOT NULL REFERENCES staff (id),
    run_at      TEXT NOT NULL
) STRICT;
CREATE INDEX card_run_payment ON card_run (payment_id, run_at);
CREATE INDEX card_run_run ON card_run (run_at);
CREATE TRIGGER card_run_is_final BEFORE UPDATE ON card_run
BEGIN SELECT RAISE(ABORT, 'a card run cannot be changed'); END;
CREATE TRIGGER card_run_never_deleted BEFORE DELETE ON card_run
BEGIN SELECT RAISE(ABORT, 'a card run cannot be deleted'); END;
CREATE TRIGGER card_run_never_replaced BEFORE INSERT ON card_run WHEN EXISTS (SELECT 1 FROM card_run WHERE id = NEW.id)
BEGIN SELECT RAISE(ABORT, 'a card run cannot be replaced'); END;

-- The cash counted at the end of a day at a premises against the cash taken in Lifeboat.
CREATE TABLE cash_up (
    id                TEXT PRIMARY KEY NOT NULL,
    premises_id       TEXT NOT NULL REFERENCES premises (id),
    day               TEXT NOT NULL,
    expected_pence    INTEGER NOT NULL CHECK (expected_pence >= 0),
    counted_pence     INTEGER NOT NULL CHECK (counted_pence >= 0),
    difference_pence  INTEGER NOT NULL CHECK (difference_pence = counted_pence - expected_pence),
    note              TEXT NOT NULL DEFAULT '',
    counted_by        TEXT NOT NULL REFERENCES staff (id),
    counted_at        TEXT NOT NULL
) STRICT;
CREATE INDEX cash_up_day ON cash_up (premises_id, day);
CREATE INDEX cash_up_counted ON cash_up (counted_at);
CREATE TRIGGER cash_up_is_final BEFORE UPDATE ON cash_up
BEGIN SELECT RAISE(ABORT, 'a cash-up cannot be changed; count again'); END;
CREATE TRIGGER cash_up_never_deleted BEFORE DELETE ON cash_up
BEGIN SELECT RAISE(ABORT, 'a cash-up cannot be deleted'); END;
CREATE TRIGGER cash_up_never_replaced BEFORE INSERT ON cash_up WHEN EXISTS (SELECT 1 FROM cash_up WHERE id = NEW.id)
BEGIN SELECT RAISE(ABORT, 'a cash-up cannot be replaced'); END;

CREATE TABLE insurance_claim (
    id             TEXT PRIMARY KEY NOT NULL,
    client_id      TEXT NOT NULL REFERENCES client (id),
    patient_id     TEXT NOT NULL REFERENCES patient (id),
    insurer        TEXT NOT NULL,
    policy_number  TEXT NOT NULL,
    condition      TEXT NOT NULL,
    amount_pence   INTEGER NOT NULL CHECK (amount_pence > 0 AND amount_pence <= 10000000),
    note           TEXT NOT NULL DEFAULT '',
    made_by        TEXT NOT NULL REFERENCES staff (id),
    made_at        TEXT NOT NULL
) STRICT;
CREATE INDEX insurance_claim_client ON insurance_claim (client_id, made_at);
CREATE INDEX insurance_claim_made ON insurance_claim (made_at);
CREATE TRIGGER insurance_claim_is_final BEFORE UPDATE ON insurance_claim
BEGIN SELECT RAISE(ABORT, 'a claim cannot be changed; void it and make it again'); END;
CREATE TRIGGER insurance_claim_never_deleted BEFORE DELETE ON insurance_claim
BEGIN SELECT RAISE(ABORT, 'a claim cannot be deleted; void it'); END;
CREATE TRIGGER insurance_claim_never_replaced BEFORE INSERT ON insurance_claim WHEN EXISTS (SELECT 1 FROM insurance_claim WHERE id = NEW.id)
BEGIN SELECT RAISE(ABORT, 'a claim cannot be replaced'); END;

-- Payments and claims are voided like clinical records: the void table learns their names (rebuilt, as
-- schema 10 did, with its rows, index and guards).
CREATE TABLE clinical_void_next (
    id          TEXT PRIMARY KEY NOT NULL,
    entity      TEXT NOT NULL CHECK (entity IN ('consultation', 'prescription', 'charge', 'lab_request', 'lab_result',
                                            'payment', 'insurance_claim')),
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
