-- Lifeboat schema 4: the consult room. Consultations (SOAP notes and vitals), addenda, voids, the
-- formulary, prescriptions, dispensings, the controlled drugs register, fees and charges.
--
-- Clinical records are legal records. The database itself refuses to change or delete them: a signed
-- consultation, an addendum, a void, a prescription, a dispensing, a register entry and a charge are
-- never updated, deleted or replaced (INSERT OR REPLACE), by Lifeboat or by anyone with SQL (the
-- triggers below; a consultation is never deleted or replaced, even as a draft). Corrections are new
-- rows: addenda, voids, register corrections.
--
-- Amounts of medicine are stored in thousandths of the product's unit (`*_milli`), money in pence,
-- VAT rates in basis points (2000 = 20%). Never edit this file once shipped; add a new migration.

-- A nurse who is a suitably qualified person (SQP) may prescribe POM-VPS and NFA-VPS medicines.
ALTER TABLE staff ADD COLUMN sqp INTEGER NOT NULL DEFAULT 0 CHECK (sqp IN (0, 1));

-- Settings of this PC alone (never synced): which premises it stands in.
CREATE TABLE local_setting (
    key    TEXT PRIMARY KEY NOT NULL,
    value  TEXT NOT NULL
) STRICT;

CREATE TABLE product (
    id                    TEXT PRIMARY KEY NOT NULL,
    name                  TEXT NOT NULL,
    active_ingredient     TEXT NOT NULL DEFAULT '',
    strength              TEXT NOT NULL,
    form                  TEXT NOT NULL,
    legal_category        TEXT NOT NULL CHECK (legal_category IN ('POM-V', 'POM-VPS', 'NFA-VPS', 'AVM-GSL')),
    cd_schedule           INTEGER CHECK (cd_schedule BETWEEN 1 AND 5),
    -- What quantities of it count: 'ml', 'tablet', 'capsule', 'g', 'dose', 'applicator', 'vial'.
    unit                  TEXT NOT NULL,
    pack_size_milli       INTEGER NOT NULL CHECK (pack_size_milli > 0),
    -- Price of one pack, before VAT.
    price_pence           INTEGER NOT NULL CHECK (price_pence >= 0),
    vat_rate_bp           INTEGER NOT NULL DEFAULT 2000 CHECK (vat_rate_bp BETWEEN 0 AND 10000),
    -- Species the marketing authorisation covers (JSON list of species words); any other is the cascade.
    authorised_species    TEXT NOT NULL DEFAULT '[]',
    -- Withdrawal periods for food-producing animals, in days; NULL where the product has none set.
    withdrawal_meat_days  INTEGER CHECK (withdrawal_meat_days >= 0),
    withdrawal_milk_days  INTEGER CHECK (withdrawal_milk_days >= 0),
    withdrawal_eggs_days  INTEGER CHECK (withdrawal_eggs_days >= 0),
    warnings              TEXT NOT NULL DEFAULT '',
    active                INTEGER NOT NULL DEFAULT 1 CHECK (active IN (0, 1)),
    pms_id                TEXT,
    created_at            TEXT NOT NULL,
    updated_at            TEXT NOT NULL
) STRICT;
CREATE INDEX product_name ON product (name COLLATE NOCASE);

-- The practice's price list for consultations and procedures.
CREATE TABLE fee (
    id           TEXT PRIMARY KEY NOT NULL,
    name         TEXT NOT NULL,
    kind         TEXT NOT NULL CHECK (kind IN ('consultation', 'procedure', 'other')),
    price_pence  INTEGER NOT NULL CHECK (price_pence >= 0),
    vat_rate_bp  INTEGER NOT NULL DEFAULT 2000 CHECK (vat_rate_bp BETWEEN 0 AND 10000),
    active       INTEGER NOT NULL DEFAULT 1 CHECK (active IN (0, 1)),
    created_at   TEXT NOT NULL,
    updated_at   TEXT NOT NULL
) STRICT;

CREATE TABLE consultation (
    id                 TEXT PRIMARY KEY NOT NULL,
    patient_id         TEXT NOT NULL REFERENCES patient (id),
    appointment_id     TEXT REFERENCES appointment (id),
    clinician_id       TEXT NOT NULL REFERENCES staff (id),
    premises_id        TEXT NOT NULL REFERENCES premises (id),
    started_at         TEXT NOT NULL,
    subjective         TEXT NOT NULL DEFAULT '',
    objective          TEXT NOT NULL DEFAULT '',
    assessment         TEXT NOT NULL DEFAULT '',
    plan               TEXT NOT NULL DEFAULT '',
    weight_g           INTEGER CHECK (weight_g > 0),
    temperature_dc     INTEGER CHECK (temperature_dc > 0),
    heart_rate         INTEGER CHECK (heart_rate > 0),
    respiratory_rate   INTEGER CHECK (respiratory_rate > 0),
    body_condition     INTEGER CHECK (body_condition BETWEEN 1 AND 9),
    signed_at          TEXT,
    signed_by          TEXT REFERENCES staff (id),
    -- SHA-256 of the signed content, so a copy can be checked against the original.
    signed_hash        TEXT,
    created_at         TEXT NOT NULL,
    updated_at         TEXT NOT NULL,
    CHECK ((signed_at IS NULL) = (signed_by IS NULL) AND (signed_at IS NULL) = (signed_hash IS NULL))
) STRICT;
CREATE UNIQUE INDEX consultation_appointment ON consultation (appointment_id) WHERE appointment_id IS NOT NULL;
CREATE INDEX consultation_patient ON consultation (patient_id, started_at);
CREATE INDEX consultation_clinician ON consultation (clinician_id, started_at);
CREATE TRIGGER consultation_signed_is_final BEFORE UPDATE ON consultation WHEN OLD.signed_at IS NOT NULL
BEGIN SELECT RAISE(ABORT, 'a signed consultation cannot be changed; add an addendum'); END;
CREATE TRIGGER consultation_never_deleted BEFORE DELETE ON consultation
BEGIN SELECT RAISE(ABORT, 'a consultation cannot be deleted; void it with a reason'); END;
CREATE TRIGGER consultation_never_replaced BEFORE INSERT ON consultation WHEN EXISTS (SELECT 1 FROM consultation WHERE id = NEW.id)
BEGIN SELECT RAISE(ABORT, 'a consultation cannot be replaced'); END;

-- Corrections to a signed consultation: dated, attributed, with a reason.
CREATE TABLE addendum (
    id               TEXT PRIMARY KEY NOT NULL,
    consultation_id  TEXT NOT NULL REFERENCES consultation (id),
    author_id        TEXT NOT NULL REFERENCES staff (id),
    written_at       TEXT NOT NULL,
    reason           TEXT NOT NULL,
    text             TEXT NOT NULL
) STRICT;
CREATE INDEX addendum_consultation ON addendum (consultation_id, written_at);
CREATE TRIGGER addendum_is_final BEFORE UPDATE ON addendum
BEGIN SELECT RAISE(ABORT, 'an addendum cannot be changed; add another'); END;
CREATE TRIGGER addendum_never_deleted BEFORE DELETE ON addendum
BEGIN SELECT RAISE(ABORT, 'an addendum cannot be deleted'); END;
CREATE TRIGGER addendum_never_replaced BEFORE INSERT ON addendum WHEN EXISTS (SELECT 1 FROM addendum WHERE id = NEW.id)
BEGIN SELECT RAISE(ABORT, 'an addendum cannot be replaced'); END;

-- A record withdrawn with a reason. The record itself stays, shown as void.
CREATE TABLE clinical_void (
    id          TEXT PRIMARY KEY NOT NULL,
    entity      TEXT NOT NULL CHECK (entity IN ('consultation', 'prescription', 'charge')),
    entity_id   TEXT NOT NULL,
    reason      TEXT NOT NULL,
    voided_by   TEXT NOT NULL REFERENCES staff (id),
    voided_at   TEXT NOT NULL
) STRICT;
CREATE UNIQUE INDEX clinical_void_entity ON clinical_void (entity, entity_id);
CREATE TRIGGER clinical_void_is_final BEFORE UPDATE ON clinical_void
BEGIN SELECT RAISE(ABORT, 'a void cannot be changed'); END;
CREATE TRIGGER clinical_void_never_deleted BEFORE DELETE ON clinical_void
BEGIN SELECT RAISE(ABORT, 'a void cannot be deleted'); END;
CREATE TRIGGER clinical_void_never_replaced BEFORE INSERT ON clinical_void WHEN EXISTS (SELECT 1 FROM clinical_void WHERE id = NEW.id)
BEGIN SELECT RAISE(ABORT, 'a void cannot be replaced'); END;

-- A prescription as issued, with the product's details as they were then.
CREATE TABLE prescription (
    id                  TEXT PRIMARY KEY NOT NULL,
    patient_id          TEXT NOT NULL REFERENCES patient (id),
    client_id           TEXT NOT NULL REFERENCES client (id),
    consultation_id     TEXT REFERENCES consultation (id),
    prescriber_id       TEXT NOT NULL REFERENCES staff (id),
    premises_id         TEXT NOT NULL REFERENCES premises (id),
    product_id          TEXT NOT NULL REFERENCES product (id),
    product_name        TEXT NOT NULL,
    strength            TEXT NOT NULL,
    form                TEXT NOT NULL,
    legal_category      TEXT NOT NULL CHECK (legal_category IN ('POM-V', 'POM-VPS', 'NFA-VPS', 'AVM-GSL')),
    cd_schedule         INTEGER CHECK (cd_schedule BETWEEN 1 AND 5),
    unit                TEXT NOT NULL,
    quantity_milli      INTEGER NOT NULL CHECK (quantity_milli > 0),
    quantity_words      TEXT NOT NULL DEFAULT '',
    dose                TEXT NOT NULL,
    route               TEXT NOT NULL,
    frequency           TEXT NOT NULL,
    duration            TEXT NOT NULL,
    directions          TEXT NOT NULL,
    warnings            TEXT NOT NULL DEFAULT '',
    withdrawal_period   TEXT NOT NULL DEFAULT '',
    cascade             INTEGER NOT NULL DEFAULT 0 CHECK (cascade IN (0, 1)),
    cascade_statement   TEXT NOT NULL DEFAULT '',
    -- Where the animal is kept, when that is not the owner's address.
    animal_premises     TEXT NOT NULL DEFAULT '',
    repeats             INTEGER NOT NULL DEFAULT 0 CHECK (repeats BETWEEN 0 AND 12),
    -- The people and places as they were when it was issued (JSON): the practice and premises, the
    -- prescriber's name, qualifications and RCVS number, the owner's name and address, the animal.
    -- A reprint shows what was issued, whatever has changed since.
    issued_as           TEXT NOT NULL,
    issued_on           TEXT NOT NULL,
    valid_until         TEXT NOT NULL CHECK (valid_until >= issued_on),
    issued_at           TEXT NOT NULL
) STRICT;
CREATE INDEX prescription_patient ON prescription (patient_id, issued_at);
CREATE INDEX prescription_consultation ON prescription (consultation_id) WHERE consultation_id IS NOT NULL;
CREATE TRIGGER prescription_is_final BEFORE UPDATE ON prescription
BEGIN SELECT RAISE(ABORT, 'a prescription cannot be changed; void it and write another'); END;
CREATE TRIGGER prescription_never_deleted BEFORE DELETE ON prescription
BEGIN SELECT RAISE(ABORT, 'a prescription cannot be deleted; supply records are kept for at least 5 years'); END;
CREATE TRIGGER prescription_never_replaced BEFORE INSERT ON prescription WHEN EXISTS (SELECT 1 FROM prescription WHERE id = NEW.id)
BEGIN SELECT RAISE(ABORT, 'a prescription cannot be replaced'); END;

CREATE TABLE dispensing (
    id               TEXT PRIMARY KEY NOT NULL,
    prescription_id  TEXT NOT NULL REFERENCES prescription (id),
    dispensed_by     TEXT NOT NULL REFERENCES staff (id),
    -- Where it was supplied from (a repeat may be dispensed at another of the practice's premises).
    premises_id      TEXT NOT NULL REFERENCES premises (id),
    dispensed_at     TEXT NOT NULL,
    quantity_milli   INTEGER NOT NULL CHECK (quantity_milli > 0),
    batch            TEXT NOT NULL,
    expiry           TEXT NOT NULL,
    -- Who took the medicine away (required for controlled drugs).
    collected_by     TEXT NOT NULL DEFAULT ''
) STRICT;
CREATE INDEX dispensing_prescription ON dispensing (prescription_id, dispensed_at);
CREATE TRIGGER dispensing_is_final BEFORE UPDATE ON dispensing
BEGIN SELECT RAISE(ABORT, 'a dispensing record cannot be changed'); END;
CREATE TRIGGER dispensing_never_deleted BEFORE DELETE ON dispensing
BEGIN SELECT RAISE(ABORT, 'a dispensing record cannot be deleted; supply records are kept for at least 5 years'); END;
CREATE TRIGGER dispensing_never_replaced BEFORE INSERT ON dispensing WHEN EXISTS (SELECT 1 FROM dispensing WHERE id = NEW.id)
BEGIN SELECT RAISE(ABORT, 'a dispensing record cannot be replaced'); END;

-- The controlled drugs register: per premises and drug, in the order things happened. `delta_milli`
-- is the entry's effect on the balance (receipts add, supplies, administrations and destructions take
-- away, a stock check changes nothing, a correction adds or takes away what the corrected entry got
-- wrong).
CREATE TABLE cd_entry (
    id              TEXT PRIMARY KEY NOT NULL,
    premises_id     TEXT NOT NULL REFERENCES premises (id),
    product_id      TEXT NOT NULL REFERENCES product (id),
    kind            TEXT NOT NULL CHECK (kind IN ('receipt', 'supply', 'administration', 'destruction', 'stock_check', 'correction')),
    occurred_at     TEXT NOT NULL,
    quantity_milli  INTEGER NOT NULL CHECK (quantity_milli >= 0),
    delta_milli     INTEGER NOT NULL,
    -- Receipts: the supplier's name and address, and their invoice or delivery note.
    supplier        TEXT NOT NULL DEFAULT '',
    reference       TEXT NOT NULL DEFAULT '',
    -- Supplies and administrations: to whom (name and address), for which animal, prescribed by whom.
    recipient       TEXT NOT NULL DEFAULT '',
    patient_id      TEXT REFERENCES patient (id),
    prescriber_id   TEXT REFERENCES staff (id),
    dispensing_id   TEXT REFERENCES dispensing (id),
    collected_by    TEXT NOT NULL DEFAULT '',
    -- Destructions: the authorised witness.
    witness         TEXT NOT NULL DEFAULT '',
    -- Stock checks: what the register said the balance was when counted.
    expected_milli  INTEGER,
    -- Corrections: the entry this corrects.
    corrects_id     TEXT REFERENCES cd_entry (id),
    note            TEXT NOT NULL DEFAULT '',
    recorded_by     TEXT NOT NULL REFERENCES staff (id),
    recorded_at     TEXT NOT NULL
) STRICT;
CREATE INDEX cd_entry_drug ON cd_entry (premises_id, product_id, occurred_at, recorded_at);
CREATE TRIGGER cd_entry_is_final BEFORE UPDATE ON cd_entry
BEGIN SELECT RAISE(ABORT, 'a controlled drugs register entry cannot be changed; add a correction'); END;
CREATE TRIGGER cd_entry_never_deleted BEFORE DELETE ON cd_entry
BEGIN SELECT RAISE(ABORT, 'a controlled drugs register entry cannot be deleted'); END;
CREATE TRIGGER cd_entry_never_replaced BEFORE INSERT ON cd_entry WHEN EXISTS (SELECT 1 FROM cd_entry WHERE id = NEW.id)
BEGIN SELECT RAISE(ABORT, 'a controlled drugs register entry cannot be replaced'); END;

-- What was done and supplied, priced, for invoicing when the PMS returns.
CREATE TABLE charge (
    id                TEXT PRIMARY KEY NOT NULL,
    client_id         TEXT NOT NULL REFERENCES client (id),
    patient_id        TEXT NOT NULL REFERENCES patient (id),
    consultation_id   TEXT REFERENCES consultation (id),
    dispensing_id     TEXT REFERENCES dispensing (id),
    fee_id            TEXT REFERENCES fee (id),
    product_id        TEXT REFERENCES product (id),
    description       TEXT NOT NULL,
    quantity_milli    INTEGER NOT NULL CHECK (quantity_milli > 0),
    net_pence         INTEGER NOT NULL CHECK (net_pence >= 0),
    vat_rate_bp       INTEGER NOT NULL CHECK (vat_rate_bp BETWEEN 0 AND 10000),
    vat_pence         INTEGER NOT NULL CHECK (vat_pence >= 0),
    charged_by        TEXT NOT NULL REFERENCES staff (id),
    charged_at        TEXT NOT NULL
) STRICT;
CREATE INDEX charge_patient ON charge (patient_id, charged_at);
CREATE INDEX charge_consultation ON charge (consultation_id) WHERE consultation_id IS NOT NULL;
CREATE INDEX charge_client ON charge (client_id, charged_at);
CREATE TRIGGER charge_is_final BEFORE UPDATE ON charge
BEGIN SELECT RAISE(ABORT, 'a charge cannot be changed; void it and add another'); END;
CREATE TRIGGER charge_never_deleted BEFORE DELETE ON charge
BEGIN SELECT RAISE(ABORT, 'a charge cannot be deleted; void it'); END;
CREATE TRIGGER charge_never_replaced BEFORE INSERT ON charge WHEN EXISTS (SELECT 1 FROM charge WHERE id = NEW.id)
BEGIN SELECT RAISE(ABORT, 'a charge cannot be replaced'); END;
