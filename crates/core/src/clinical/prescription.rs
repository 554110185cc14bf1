//! Prescribing and dispensing under the Veterinary Medicines Regulations 2013.
//!
//! A prescription carries every field the law asks of a written prescription (the prescriber's name,
//! address, telephone and qualifications, and RCVS number for Schedule 2 and 3 controlled drugs; the
//! owner's name and address; the animal and its species; where it is kept if not with the owner; the
//! date; the product and amount; dosage and administration; warnings; the withdrawal period for a
//! food-producing animal; a cascade statement) and the rules around it:
//!
//! - who may prescribe: only a vet prescribes POM-V medicines and controlled drugs; a nurse who is a
//!   suitably qualified person (SQP) may prescribe POM-VPS and NFA-VPS; an SQP never uses the cascade;
//! - validity: six months, or 28 days for Schedules 2 to 4; no repeats for Schedules 2 and 3;
//! - the total quantity in words and figures for Schedules 2 and 3;
//! - the cascade: a product not authorised for the species is prescribed only under the cascade, with
//!   its statement;
//! - dispensing: batch and expiry, never more than prescribed, never after the prescription expires,
//!   and for Schedule 2 who collected it and an entry in the controlled drugs register.
//!
//! `check` lists every problem at once (the form shows them live, beside their fields); prescribing
//! refuses the first. Prescriptions and dispensings are never changed or deleted.

use chrono::{DateTime, Datelike, Months, NaiveDate, Utc};
use rusqlite::{params, Connection, OptionalExtension, Row};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::clinical::cd_register::{self, CdEntryKind, ValidEntry};
use crate::clinical::charge::{self, Priced};
use crate::clinical::formulary::{self, LegalCategory, Product};
use crate::clinical::quantity::Quantity;
use crate::error::{Error, Result};
use crate::organisation::practice;
use crate::organisation::staff::{self, Staff};
use crate::permission::{Action, Role};
use crate::reception::client::{self, Client};
use crate::reception::patient::{self, Patient};
use crate::session::Session;
use crate::store::database::Store;
use crate::store::row;
use crate::store::write::{ChangeKind, Entity, Fields, Write};
use crate::time;
use crate::validate;

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct NewPrescription {
    pub patient_id: Option<Uuid>,
    pub consultation_id: Option<Uuid>,
    pub product_id: Option<Uuid>,
    /// In the product's unit: "28", "10.5".
    pub quantity: String,
    /// The same amount in words ("twenty-eight"): required for Schedules 2 and 3.
    pub quantity_words: String,
    /// "1.5 ml", "one tablet".
    pub dose: String,
    /// "By mouth", "subcutaneous injection".
    pub route: String,
    /// "Once daily".
    pub frequency: String,
    /// "7 days".
    pub duration: String,
    /// Dosage and administration as the label says it: "Give 1.5 ml by mouth once daily with food for 7 days".
    pub directions: String,
    pub warnings: String,
    /// Required for a food-producing animal: "Meat 28 days, milk 7 days".
    pub withdrawal_period: String,
    /// Prescribed under the cascade (not authorised for this species or condition).
    pub cascade: bool,
    pub cascade_statement: String,
    /// Where the animal is kept, if not at the owner's address.
    pub animal_premises: String,
    /// How many times it may be dispensed again.
    pub repeats: u32,
    /// Dispense now, from stock.
    pub dispense: Option<NewDispensing>,
}

/// A supply from stock against a prescription.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct NewDispensing {
    /// Empty: the whole prescribed quantity.
    pub quantity: String,
    pub batch: String,
    pub expiry: Option<NaiveDate>,
    /// Who took it away (required for Schedule 2).
    pub collected_by: String,
}

/// The people and places on a prescription, as they were when it was issued: a reprint shows what
/// was issued, whatever has changed since.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct IssuedAs {
    pub practice_name: String,
    pub premises_name: String,
    pub premises_address: String,
    pub premises_phone: String,
    pub prescriber_name: String,
    pub prescriber_username: String,
    pub prescriber_qualifications: String,
    pub prescriber_rcvs_number: Option<String>,
    pub owner_name: String,
    pub owner_address: String,
    pub animal_name: String,
    pub animal_species: String,
    pub animal_breed: String,
    pub animal_microchip: Option<String>,
    pub food_producing: bool,
}

/// A problem with a prescription, beside the field it is about.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Problem {
    pub field: String,
    pub message: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Prescription {
    pub id: Uuid,
    pub patient_id: Uuid,
    pub client_id: Uuid,
    pub consultation_id: Option<Uuid>,
    pub prescriber_id: Uuid,
    pub prescriber_name: String,
    pub premises_id: Uuid,
    pub product_id: Uuid,
    pub product_name: String,
    pub strength: String,
    pub form: String,
    pub legal_category: LegalCategory,
    pub cd_schedule: Option<u8>,
    pub unit: String,
    pub quantity: Quantity,
    pub quantity_words: String,
    pub dose: String,
    pub route: String,
    pub frequency: String,
    pub duration: String,
    pub directions: String,
    pub warnings: String,
    pub withdrawal_period: String,
    pub cascade: bool,
    pub cascade_statement: String,
    pub animal_premises: String,
    pub repeats: u32,
    pub issued_as: IssuedAs,
    pub issued_on: NaiveDate,
    /// The last day it may be dispensed.
    pub valid_until: NaiveDate,
    pub issued_at: DateTime<Utc>,
    pub void_reason: Option<String>,
    pub dispensings: Vec<Dispensing>,
}

impl Prescription {
    /// How many more times it may be dispensed.
    pub fn supplies_left(&self) -> u32 {
        (self.repeats + 1).saturating_sub(self.dispensings.len() as u32)
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Dispensing {
    pub id: Uuid,
    pub prescription_id: Uuid,
    /// Where it was supplied from.
    pub premises_id: Uuid,
    pub dispensed_by: Uuid,
    pub dispensed_by_name: String,
    pub dispensed_at: DateTime<Utc>,
    pub quantity: Quantity,
    pub batch: String,
    pub expiry: NaiveDate,
    pub collected_by: String,
}

/// What was prescribed, and what was dispensed now (if anything).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Prescribed {
    pub prescription: Prescription,
    pub dispensing: Option<Dispensing>,
}

/// The default cascade statement.
pub const CASCADE_STATEMENT: &str = "Prescribed under the cascade";

/// Everything a prescription's checks need from the database.
struct Context {
    prescriber: Staff,
    patient: Option<Patient>,
    owner: Option<Client>,
    product: Option<Product>,
}

fn context(conn: &Connection, prescriber: Uuid, new: &NewPrescription) -> Result<Context> {
    let patient = match new.patient_id {
        Some(id) => patient::get(conn, id).ok(),
        None => None,
    };
    let owner = match &patient {
        Some(p) => p.owner_ids.first().map(|o| client::get(conn, *o)).transpose()?,
        None => None,
    };
    let product = match new.product_id {
        Some(id) => formulary::get(conn, id).ok().filter(|p| p.active),
        None => None,
    };
    Ok(Context { prescriber: staff::get(conn, prescriber)?, patient, owner, product })
}

/// The checked prescription, ready to write.
struct Valid {
    patient: Patient,
    owner: Client,
    product: Product,
    quantity: Quantity,
    text: [String; 11],
    cascade: bool,
    repeats: u32,
    dispense: Option<ValidDispensing>,
}

struct ValidDispensing {
    quantity: Quantity,
    batch: String,
    expiry: NaiveDate,
    collected_by: String,
}

/// Every problem with `new`, in the order of the form, as of `today`.
fn problems(
    conn: &Connection,
    ctx: &Context,
    new: &NewPrescription,
    today: NaiveDate,
) -> (Vec<Problem>, Option<Valid>) {
    let mut found = Vec::new();
    let mut problem = |field: &str, message: String| found.push(Problem { field: field.into(), message });
    let prescriber = &ctx.prescriber;

    // The animal and its owner.
    let patient = match (&ctx.patient, new.patient_id) {
        (Some(p), _) if p.deceased_on.is_some() => {
            problem("patient_id", format!("{} is recorded as deceased", p.name));
            None
        }
        (Some(p), _) => Some(p),
        (None, None) => {
            problem("patient_id", "choose the animal".into());
            None
        }
        (None, Some(_)) => {
            problem("patient_id", "this animal is not on file".into());
            None
        }
    };
    match (&patient, &ctx.owner) {
        (Some(p), None) => problem("owner", format!("{} has no owner on file: a prescription names the owner", p.name)),
        (Some(_), Some(o)) if !o.has_postal_address() => problem(
            "owner",
            format!(
                "{}'s address (street and postcode) is needed on a prescription: add it on the client page",
                o.full_name()
            ),
        ),
        _ => {}
    }
    if let (Some(consultation), Some(p)) = (new.consultation_id, &patient) {
        let of: Option<(String, bool)> = conn
            .query_row(
                "SELECT c.patient_id, EXISTS (SELECT 1 FROM clinical_void v WHERE v.entity = 'consultation' AND v.entity_id = c.id)
                 FROM consultation c WHERE c.id = ?1",
                [consultation.to_string()],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .ok();
        match of {
            Some((pid, false)) if pid == p.id.to_string() => {}
            Some((_, true)) => problem("consultation_id", "this consultation was voided".into()),
            _ => problem("consultation_id", format!("is not a consultation of {}", p.name)),
        }
    }

    // The product, and whether this person may prescribe it.
    let product = match (&ctx.product, new.product_id) {
        (Some(p), _) => Some(p),
        (None, None) => {
            problem("product_id", "choose the medicine".into());
            None
        }
        (None, Some(_)) => {
            problem("product_id", "this medicine is not in the formulary".into());
            None
        }
    };
    if let Some(product) = product {
        let controlled = product.cd_schedule.is_some_and(|s| s <= 4);
        match (prescriber.role, product.legal_category) {
            (Role::Vet, _) => {}
            (_, LegalCategory::PomV) => problem("product_id", format!("{} is POM-V: only a vet may prescribe it", product.name)),
            (_, _) if controlled => problem("product_id", format!("{} is a controlled drug: only a vet may prescribe it", product.name)),
            (Role::Nurse, LegalCategory::PomVps | LegalCategory::NfaVps) if !prescriber.sqp => problem(
                "product_id",
                format!("{} is {}: a nurse prescribes it only as a suitably qualified person (SQP); a manager records that on your account", product.name, product.legal_category.as_str()),
            ),
            (Role::Nurse, _) => {}
            (role, _) => problem("product_id", format!("a {role} account may not prescribe")),
        }
        if prescriber.qualifications.trim().is_empty() {
            problem("prescriber", "your qualifications are not recorded, and a prescription must show them: ask a manager to add them to your account".into());
        }
        if product.is_schedule_2_or_3() && prescriber.rcvs_number.is_none() {
            problem(
                "prescriber",
                "a Schedule 2 or 3 controlled drug prescription must show your RCVS number: ask a manager to add it"
                    .into(),
            );
        }
        // The cascade.
        if let Some(p) = &patient {
            let authorised = product.authorised_species.is_empty() || product.authorised_species.contains(&p.species);
            if !authorised && !new.cascade {
                problem(
                    "cascade",
                    format!(
                        "{} is not authorised for {}: prescribe it under the cascade, or choose another medicine",
                        product.name,
                        species_plural(p)
                    ),
                );
            }
        }
        if new.cascade && prescriber.role != Role::Vet {
            problem("cascade", "only a vet may prescribe under the cascade".into());
        }
    }
    if new.cascade && new.cascade_statement.trim().is_empty() {
        problem(
            "cascade_statement",
            format!("is required when prescribing under the cascade (for example \"{CASCADE_STATEMENT}\")"),
        );
    }

    // Amount, in figures and (for Schedules 2 and 3) words.
    let quantity = match Quantity::parse("quantity", &new.quantity) {
        Ok(q) => Some(q),
        Err(e) => {
            problem("quantity", e.user_message());
            None
        }
    };
    let cd23 = product.is_some_and(|p| p.is_schedule_2_or_3());
    let words = new.quantity_words.trim();
    if words.chars().count() > 200 {
        problem("quantity_words", "is too long for an amount in words".into());
    }
    match quantity {
        Some(q) if words.is_empty() && cd23 => problem(
            "quantity_words",
            format!("a Schedule 2 or 3 controlled drug prescription states the total quantity in words as well as figures: \"{}\"", q.words()),
        ),
        Some(q) if !words.is_empty() && !q.matches_words(words) => {
            problem("quantity_words", format!("says a different amount from the figures ({} is \"{}\")", q.figures(), q.words()))
        }
        _ => {}
    }

    // Dosage and administration.
    let mut text = |field: &str, value: &str, max: usize, required: Option<&str>| -> String {
        match validate::optional_multiline(field, value, max) {
            Ok(v) if v.is_empty() && required.is_some() => {
                problem(field, format!("is required: {}", required.unwrap_or_default()));
                v
            }
            Ok(v) => v,
            Err(e) => {
                problem(field, e.user_message());
                String::new()
            }
        }
    };
    let dose = text("dose", &new.dose, 200, Some("how much each time, e.g. 1.5 ml"));
    let route = text("route", &new.route, 100, Some("how it is given, e.g. by mouth"));
    let frequency = text("frequency", &new.frequency, 100, Some("how often, e.g. once daily"));
    let duration = text("duration", &new.duration, 100, Some("for how long, e.g. 7 days"));
    let directions =
        text("directions", &new.directions, 1000, Some("the dosage and administration as the label should say it"));
    let warnings = text("warnings", &new.warnings, 1000, None);
    let food = patient.is_some_and(|p| p.species.is_food_producing());
    let withdrawal = text(
        "withdrawal_period",
        &new.withdrawal_period,
        300,
        food.then_some(
            "the animal is food-producing, so the withdrawal period must be stated (e.g. meat 28 days, milk 7 days)",
        ),
    );
    let statement = text("cascade_statement", &new.cascade_statement, 300, None);
    let animal_premises = text("animal_premises", &new.animal_premises, 200, None);

    // Repeats and validity.
    if new.repeats > 12 {
        problem("repeats", "at most 12 repeats".into());
    } else if new.repeats > 0 && cd23 {
        problem("repeats", "a Schedule 2 or 3 controlled drug prescription cannot be repeated".into());
    }

    // Dispensing now.
    let dispense = new.dispense.as_ref().and_then(|d| {
        let dq = if d.quantity.trim().is_empty() {
            quantity
        } else {
            match Quantity::parse("dispense.quantity", &d.quantity) {
                Ok(q) => Some(q),
                Err(e) => {
                    problem("dispense.quantity", e.user_message());
                    None
                }
            }
        };
        if let (Some(dq), Some(q)) = (dq, quantity) {
            if dq > q {
                problem("dispense.quantity", format!("is more than the {} prescribed", q.figures()));
            }
        }
        let batch = match validate::required("dispense.batch", &d.batch, 40) {
            Ok(b) => Some(b),
            Err(_) if d.batch.trim().is_empty() => {
                problem("dispense.batch", "is required: the batch number on the pack".into());
                None
            }
            Err(e) => {
                problem("dispense.batch", e.user_message());
                None
            }
        };
        let expiry = match d.expiry {
            None => {
                problem("dispense.expiry", "is required: the expiry date on the pack".into());
                None
            }
            Some(e) if e < today => {
                problem(
                    "dispense.expiry",
                    format!("{} has passed: this batch has expired and must not be supplied", e.format("%d/%m/%Y")),
                );
                None
            }
            Some(e) if time::sane_date("dispense.expiry", e).is_err() => {
                problem("dispense.expiry", "is not a believable expiry date".into());
                None
            }
            Some(e) => Some(e),
        };
        let collected_by = validate::optional("dispense.collected_by", &d.collected_by, 100).unwrap_or_default();
        if collected_by.is_empty() && product.is_some_and(|p| p.needs_register()) {
            problem(
                "dispense.collected_by",
                "is required for a Schedule 2 controlled drug: who is taking it away".into(),
            );
        }
        Some(ValidDispensing { quantity: dq?, batch: batch?, expiry: expiry?, collected_by })
    });

    let valid = match (found.is_empty(), patient, &ctx.owner, product, quantity) {
        (true, Some(patient), Some(owner), Some(product), Some(quantity)) => Some(Valid {
            patient: patient.clone(),
            owner: owner.clone(),
            product: product.clone(),
            quantity,
            text: [
                dose,
                route,
                frequency,
                duration,
                directions,
                warnings,
                withdrawal,
                statement,
                animal_premises,
                words.to_string(),
                String::new(),
            ],
            cascade: new.cascade,
            repeats: new.repeats,
            dispense,
        }),
        _ => None,
    };
    (found, valid)
}

fn species_plural(p: &Patient) -> String {
    let label = p.species_label().to_lowercase();
    match label.as_str() {
        "sheep" | "cattle" | "poultry" => label,
        "guinea pig" => "guinea pigs".into(),
        _ => format!("{label}s"),
    }
}

/// The last day a prescription may be dispensed: it is valid for 28 days for Schedules 2 to 4,
/// otherwise six months, counting the day it was written as the first (one dated 1 March is valid to
/// 28 March, or to 31 August).
fn valid_until(product: &Product, issued: NaiveDate) -> NaiveDate {
    if product.is_schedule_2_to_4() {
        return issued + chrono::Duration::days(27);
    }
    // Six months on, less a day; where that month is too short for the day (31 August), the month's
    // last day.
    let on = issued.checked_add_months(Months::new(6)).unwrap_or(issued);
    if on.day() == issued.day() {
        on.pred_opt().unwrap_or(issued)
    } else {
        on
    }
}

const COLUMNS: &str = "p.id, p.patient_id, p.client_id, p.consultation_id, p.prescriber_id, s.display_name, p.premises_id, p.product_id,
    p.product_name, p.strength, p.form, p.legal_category, p.cd_schedule, p.unit, p.quantity_milli, p.quantity_words, p.dose,
    p.route, p.frequency, p.duration, p.directions, p.warnings, p.withdrawal_period, p.cascade, p.cascade_statement,
    p.animal_premises, p.repeats, p.issued_on, p.valid_until, p.issued_at, v.reason, p.issued_as";
const FROM: &str = "prescription p JOIN staff s ON s.id = p.prescriber_id
    LEFT JOIN clinical_void v ON v.id = (SELECT id FROM clinical_void WHERE entity = 'prescription' AND entity_id = p.id ORDER BY voided_at, id LIMIT 1)";

fn from_row(r: &Row<'_>) -> rusqlite::Result<Prescription> {
    Ok(Prescription {
        id: row::uuid(r, 0)?,
        patient_id: row::uuid(r, 1)?,
        client_id: row::uuid(r, 2)?,
        consultation_id: row::opt_uuid(r, 3)?,
        prescriber_id: row::uuid(r, 4)?,
        prescriber_name: r.get(5)?,
        premises_id: row::uuid(r, 6)?,
        product_id: row::uuid(r, 7)?,
        product_name: r.get(8)?,
        strength: r.get(9)?,
        form: r.get(10)?,
        legal_category: row::word(r, 11, LegalCategory::parse)?,
        cd_schedule: r.get(12)?,
        unit: r.get(13)?,
        quantity: Quantity(r.get(14)?),
        quantity_words: r.get(15)?,
        dose: r.get(16)?,
        route: r.get(17)?,
        frequency: r.get(18)?,
        duration: r.get(19)?,
        directions: r.get(20)?,
        warnings: r.get(21)?,
        withdrawal_period: r.get(22)?,
        cascade: r.get(23)?,
        cascade_statement: r.get(24)?,
        animal_premises: r.get(25)?,
        repeats: r.get(26)?,
        issued_on: row::date(r, 27)?,
        valid_until: row::date(r, 28)?,
        issued_at: row::time(r, 29)?,
        void_reason: r.get(30)?,
        issued_as: row::json(r, 31)?,
        dispensings: Vec::new(),
    })
}

const DISPENSING: &str = "SELECT d.id, d.prescription_id, d.dispensed_by, s.display_name, d.dispensed_at, d.quantity_milli, d.batch, d.expiry, d.collected_by, d.premises_id
    FROM dispensing d JOIN staff s ON s.id = d.dispensed_by";

fn dispensing_from_row(r: &Row<'_>) -> rusqlite::Result<Dispensing> {
    Ok(Dispensing {
        id: row::uuid(r, 0)?,
        prescription_id: row::uuid(r, 1)?,
        dispensed_by: row::uuid(r, 2)?,
        dispensed_by_name: r.get(3)?,
        dispensed_at: row::time(r, 4)?,
        quantity: Quantity(r.get(5)?),
        batch: r.get(6)?,
        expiry: row::date(r, 7)?,
        collected_by: r.get(8)?,
        premises_id: row::uuid(r, 9)?,
    })
}

fn dispensings_of(conn: &Connection, prescription: Uuid) -> Result<Vec<Dispensing>> {
    let mut stmt =
        conn.prepare_cached(&format!("{DISPENSING} WHERE d.prescription_id = ?1 ORDER BY d.dispensed_at, d.id"))?;
    let rows =
        stmt.query_map([prescription.to_string()], dispensing_from_row)?.collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(rows)
}

pub(crate) fn get(conn: &Connection, id: Uuid) -> Result<Prescription> {
    let mut p = conn
        .query_row(&format!("SELECT {COLUMNS} FROM {FROM} WHERE p.id = ?1"), [id.to_string()], from_row)
        .optional()?
        .ok_or_else(|| Error::NotFound(format!("prescription {id}")))?;
    p.dispensings = dispensings_of(conn, id)?;
    Ok(p)
}

/// A patient's prescriptions with what was dispensed, newest first (two queries, however many).
pub(crate) fn of_patient(conn: &Connection, patient: Uuid, limit: u32) -> Result<Vec<Prescription>> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM {FROM} WHERE p.patient_id IN (SELECT id FROM patient WHERE id = ?1 OR merged_into = ?1) ORDER BY p.issued_at DESC, p.id DESC LIMIT ?2"
    ))?;
    let mut rows =
        stmt.query_map(params![patient.to_string(), limit], from_row)?.collect::<rusqlite::Result<Vec<_>>>()?;
    let mut stmt = conn.prepare_cached(&format!(
        "{DISPENSING} JOIN prescription p ON p.id = d.prescription_id WHERE p.patient_id IN (SELECT id FROM patient WHERE id = ?1 OR merged_into = ?1) ORDER BY d.dispensed_at, d.id"
    ))?;
    let all = stmt.query_map([patient.to_string()], dispensing_from_row)?.collect::<rusqlite::Result<Vec<_>>>()?;
    let mut by_prescription: std::collections::HashMap<Uuid, Vec<Dispensing>> = std::collections::HashMap::new();
    for d in all {
        by_prescription.entry(d.prescription_id).or_default().push(d);
    }
    for p in &mut rows {
        p.dispensings = by_prescription.remove(&p.id).unwrap_or_default();
    }
    Ok(rows)
}

pub(crate) fn of_consultation(conn: &Connection, consultation: Uuid) -> Result<Vec<Prescription>> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM {FROM} WHERE p.consultation_id = ?1 ORDER BY p.issued_at, p.id"
    ))?;
    let mut rows = stmt.query_map([consultation.to_string()], from_row)?.collect::<rusqlite::Result<Vec<_>>>()?;
    for p in &mut rows {
        p.dispensings = dispensings_of(conn, p.id)?;
    }
    Ok(rows)
}

/// Whether a supply of `product` at `premises` goes in the controlled drugs register: always for
/// Schedule 2 (the law requires it), and for Schedule 3 where the premises keeps a register for it
/// (it has entries), so that its balance stays true.
fn register_keeps(conn: &Connection, product: &Product, premises: Uuid) -> Result<bool> {
    match product.cd_schedule {
        Some(2) => Ok(true),
        Some(3) => Ok(conn.query_row(
            "SELECT EXISTS (SELECT 1 FROM cd_entry WHERE premises_id = ?1 AND product_id = ?2)",
            [premises.to_string(), product.id.to_string()],
            |r| r.get(0),
        )?),
        _ => Ok(false),
    }
}

/// Writes a dispensing, its charge and (for a drug in the register) its register entry.
/// When a prescription is issued and dispensed: now, with a charge; or earlier, for history
/// recorded from a PMS or a generated demo practice (no charge: it was invoiced at the time).
#[derive(Clone, Copy)]
struct Occasion {
    at: DateTime<Utc>,
    charge: bool,
    /// Who prescribes and dispenses.
    by: Uuid,
}

fn dispense(
    w: &mut Write<'_>,
    action: Action,
    p: &Prescription,
    product: &Product,
    owner: &Client,
    d: &ValidDispensing,
    when: Occasion,
) -> Result<Dispensing> {
    let id = w.new_id();
    let at = time::stored(when.at);
    let premises = practice::this_premises(w.tx())?;
    w.tx().execute(
        "INSERT INTO dispensing (id, prescription_id, dispensed_by, premises_id, dispensed_at, quantity_milli, batch, expiry, collected_by)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
        params![id.to_string(), p.id.to_string(), when.by.to_string(), premises.id.to_string(), at, d.quantity.milli(), d.batch, time::stored_date(d.expiry), d.collected_by],
    )?;
    let fields = Fields::new()
        .with("prescription_id", p.id)
        .with("dispensed_by", when.by)
        .with("premises_id", premises.id)
        .with("dispensed_at", &at)
        .with("quantity_milli", d.quantity.milli())
        .with("batch", &d.batch)
        .with("expiry", time::stored_date(d.expiry))
        .with("collected_by", &d.collected_by);
    w.record(action, Entity::Dispensing, id, ChangeKind::Create, fields)?;
    if register_keeps(w.tx(), product, premises.id)? {
        let entry = ValidEntry {
            premises_id: premises.id,
            product_id: product.id,
            kind: CdEntryKind::Supply,
            occurred_at: at.clone(),
            quantity: d.quantity,
            delta: -d.quantity.milli(),
            supplier: String::new(),
            reference: String::new(),
            recipient: format!("{}, {}", owner.full_name(), owner.address()),
            patient_id: Some(p.patient_id),
            prescriber_id: Some(p.prescriber_id),
            dispensing_id: Some(id),
            collected_by: d.collected_by.clone(),
            witness: String::new(),
            expected: None,
            corrects_id: None,
            note: String::new(),
        };
        // A supply made now is a register entry in its own right; history comes in as imported.
        let register_action = if when.charge { Action::RecordControlledDrugs } else { action };
        w.authorize(register_action)?;
        cd_register::insert(w, register_action, &entry)?;
    }
    let description = format!("{} × {} {}", product.name, d.quantity.figures(), product.unit);
    if when.charge {
        w.authorize(Action::CaptureCharge)?;
        charge::insert(
            w,
            Action::CaptureCharge,
            &Priced {
                client_id: p.client_id,
                patient_id: p.patient_id,
                consultation_id: p.consultation_id,
                dispensing_id: Some(id),
                fee_id: None,
                product_id: Some(product.id),
                description: &description,
                quantity: d.quantity,
                net_pence: product.net_price(d.quantity),
                vat_rate_bp: product.vat_rate_bp,
            },
        )?;
    }
    dispensings_of(w.tx(), p.id)?
        .into_iter()
        .find(|x| x.id == id)
        .ok_or_else(|| Error::Internal("the dispensing just written was not found".into()))
}

impl Write<'_> {
    /// Issues a prescription (and dispenses it now, if asked), or refuses it naming the first problem.
    pub fn prescribe(&mut self, new: &NewPrescription) -> Result<Prescribed> {
        self.authorize(Action::Prescribe)?;
        if new.dispense.is_some() {
            self.authorize(Action::Dispense)?;
        }
        let when = Occasion { at: self.now(), charge: true, by: self.actor().id };
        issue(self, Action::Prescribe, Action::Dispense, new, when)
    }

    /// Records a prescription that `prescriber` issued (and dispensed, if `dispense` is given) at
    /// `at` in the past, checked against the rules as they applied to that prescriber on that day:
    /// history from a PMS snapshot or a generated demo practice. No charge is made.
    pub fn record_past_prescription(
        &mut self,
        new: &NewPrescription,
        prescriber: Uuid,
        at: DateTime<Utc>,
    ) -> Result<Prescribed> {
        self.authorize(Action::ImportRecords)?;
        if at > self.now() {
            return Err(Error::invalid("issued_at", "is in the future"));
        }
        issue(self, Action::ImportRecords, Action::ImportRecords, new, Occasion { at, charge: false, by: prescriber })
    }
}

/// Checks and writes a prescription (and its dispensing) as of `when`.
fn issue(
    w: &mut Write<'_>,
    action: Action,
    dispense_action: Action,
    new: &NewPrescription,
    when: Occasion,
) -> Result<Prescribed> {
    {
        let ctx = context(w.tx(), when.by, new)?;
        let (found, valid) = problems(w.tx(), &ctx, new, time::local_date(when.at));
        if let Some(first) = found.into_iter().next() {
            return Err(Error::invalid(first.field, first.message));
        }
        let v = valid.ok_or_else(|| Error::Internal("a prescription with no problems did not validate".into()))?;
        let premises = practice::this_premises(w.tx())?;
        let practice_name = practice::practice(w.tx())?.map(|p| p.name).unwrap_or_default();
        let issued_as = IssuedAs {
            practice_name,
            premises_name: premises.name.clone(),
            premises_address: premises.address(),
            premises_phone: premises.phone.clone(),
            prescriber_name: ctx.prescriber.display_name.clone(),
            prescriber_username: ctx.prescriber.username.clone(),
            prescriber_qualifications: ctx.prescriber.qualifications.clone(),
            prescriber_rcvs_number: ctx.prescriber.rcvs_number.clone(),
            owner_name: v.owner.full_name(),
            owner_address: v.owner.address(),
            animal_name: v.patient.name.clone(),
            animal_species: v.patient.species_label(),
            animal_breed: v.patient.breed.clone(),
            animal_microchip: v.patient.microchip.clone(),
            food_producing: v.patient.species.is_food_producing(),
        };
        // Stored in the canonical encoding, as every node that receives it stores it.
        let issued_as_json = lifeboat_protocol::canonical::json(
            &serde_json::to_value(&issued_as).map_err(|e| Error::Internal(e.to_string()))?,
        );
        let id = w.new_id();
        let issued_on = time::local_date(when.at);
        let until = valid_until(&v.product, issued_on);
        let at = time::stored(when.at);
        let [dose, route, frequency, duration, directions, warnings, withdrawal, statement, animal_premises, words, _] =
            &v.text;
        let p = &v.product;
        w.tx().execute(
            "INSERT INTO prescription (id, patient_id, client_id, consultation_id, prescriber_id, premises_id, product_id, product_name,
                strength, form, legal_category, cd_schedule, unit, quantity_milli, quantity_words, dose, route, frequency, duration,
                directions, warnings, withdrawal_period, cascade, cascade_statement, animal_premises, repeats, issued_on, valid_until, issued_at, issued_as)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20, ?21, ?22, ?23, ?24, ?25, ?26, ?27, ?28, ?29, ?30)",
            params![
                id.to_string(),
                v.patient.id.to_string(),
                v.owner.id.to_string(),
                new.consultation_id.map(|c| c.to_string()),
                when.by.to_string(),
                premises.id.to_string(),
                p.id.to_string(),
                p.name,
                p.strength,
                p.form,
                p.legal_category.as_str(),
                p.cd_schedule,
                p.unit,
                v.quantity.milli(),
                words,
                dose,
                route,
                frequency,
                duration,
                directions,
                warnings,
                withdrawal,
                v.cascade,
                statement,
                animal_premises,
                v.repeats,
                time::stored_date(issued_on),
                time::stored_date(until),
                at,
                issued_as_json
            ],
        )?;
        let fields = Fields::new()
            .with("patient_id", v.patient.id)
            .with("client_id", v.owner.id)
            .with("consultation_id", new.consultation_id)
            .with("prescriber_id", when.by)
            .with("premises_id", premises.id)
            .with("product_id", p.id)
            .with("product_name", &p.name)
            .with("strength", &p.strength)
            .with("form", &p.form)
            .with("legal_category", p.legal_category)
            .with("cd_schedule", p.cd_schedule)
            .with("unit", &p.unit)
            .with("quantity_milli", v.quantity.milli())
            .with("quantity_words", words)
            .with("dose", dose)
            .with("route", route)
            .with("frequency", frequency)
            .with("duration", duration)
            .with("directions", directions)
            .with("warnings", warnings)
            .with("withdrawal_period", withdrawal)
            .with("cascade", v.cascade)
            .with("cascade_statement", statement)
            .with("animal_premises", animal_premises)
            .with("repeats", v.repeats)
            .with("issued_on", time::stored_date(issued_on))
            .with("valid_until", time::stored_date(until))
            .with("issued_at", &at)
            .with("issued_as", &issued_as);
        w.record(action, Entity::Prescription, id, ChangeKind::Create, fields)?;
        let prescription = get(w.tx(), id)?;
        let dispensing = match &v.dispense {
            Some(d) => Some(dispense(w, dispense_action, &prescription, &v.product, &v.owner, d, when)?),
            None => None,
        };
        Ok(Prescribed { prescription: get(w.tx(), id)?, dispensing })
    }
}

impl Write<'_> {
    /// Dispenses a prescription again (a repeat, or the first supply of one not dispensed at once).
    pub fn dispense(&mut self, prescription_id: Uuid, d: &NewDispensing) -> Result<Dispensing> {
        self.authorize(Action::Dispense)?;
        let p = get(self.tx(), prescription_id)?;
        if p.void_reason.is_some() {
            return Err(Error::Conflict("this prescription was voided and cannot be dispensed".into()));
        }
        if self.today() > p.valid_until {
            return Err(Error::Conflict(format!(
                "this prescription expired on {}: a new one is needed",
                p.valid_until.format("%d/%m/%Y")
            )));
        }
        if p.supplies_left() == 0 {
            return Err(Error::Conflict("this prescription has been dispensed as many times as it allows".into()));
        }
        let product = formulary::get(self.tx(), p.product_id)?;
        let owner = client::get(self.tx(), p.client_id)?;
        let patient = patient::get(self.tx(), p.patient_id)?;
        if patient.deceased_on.is_some() {
            return Err(Error::invalid("prescription_id", format!("{} is recorded as deceased", patient.name)));
        }
        let new = NewPrescription {
            patient_id: Some(p.patient_id),
            product_id: Some(p.product_id),
            quantity: p.quantity.figures(),
            dispense: Some(d.clone()),
            ..Default::default()
        };
        let ctx = Context {
            prescriber: staff::get(self.tx(), self.actor().id)?,
            patient: Some(patient),
            owner: Some(owner.clone()),
            product: Some(product.clone()),
        };
        let (found, _) = problems(self.tx(), &ctx, &new, self.today());
        if let Some(first) = found.into_iter().find(|f| f.field.starts_with("dispense.")) {
            return Err(Error::invalid(first.field, first.message));
        }
        let quantity =
            if d.quantity.trim().is_empty() { p.quantity } else { Quantity::parse("dispense.quantity", &d.quantity)? };
        let valid = ValidDispensing {
            quantity,
            batch: validate::required("dispense.batch", &d.batch, 40)?,
            expiry: d.expiry.ok_or_else(|| Error::invalid("dispense.expiry", "is required"))?,
            collected_by: validate::optional("dispense.collected_by", &d.collected_by, 100)?,
        };
        let when = Occasion { at: self.now(), charge: true, by: self.actor().id };
        dispense(self, Action::Dispense, &p, &product, &owner, &valid, when)
    }
}

impl Store {
    /// Every problem with a prescription as it stands, for the form to show as it is filled in.
    pub fn check_prescription(&self, session: &Session, new: &NewPrescription) -> Result<Vec<Problem>> {
        let today = time::local_date(self.clock().now());
        self.read_as(session, Action::Prescribe, |r| {
            let ctx = context(r, session.staff_id, new)?;
            Ok(problems(r, &ctx, new, today).0)
        })
    }

    pub fn prescribe(&self, session: &Session, new: &NewPrescription) -> Result<Prescribed> {
        self.write(session, |w| w.prescribe(new))
    }

    pub fn dispense(&self, session: &Session, prescription: Uuid, d: &NewDispensing) -> Result<Dispensing> {
        self.write(session, |w| w.dispense(prescription, d))
    }

    pub fn prescription(&self, session: &Session, id: Uuid) -> Result<Prescription> {
        self.read_as(session, Action::ViewClinical, |r| get(r, id))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validity_is_six_months_or_28_days_for_schedules_2_to_4() {
        let issued = NaiveDate::from_ymd_opt(2026, 8, 31).unwrap();
        let mut product = formulary::starter_list()
            .into_iter()
            .map(|n| Product {
                id: Uuid::nil(),
                name: n.name,
                active_ingredient: n.active_ingredient,
                strength: n.strength,
                form: n.form,
                legal_category: n.legal_category,
                cd_schedule: n.cd_schedule,
                unit: n.unit,
                pack_size: Quantity(1000),
                price_pence: 0,
                vat_rate_bp: 2000,
                authorised_species: n.authorised_species,
                withdrawal_meat_days: None,
                withdrawal_milk_days: None,
                withdrawal_eggs_days: None,
                warnings: n.warnings,
                active: true,
            })
            .next()
            .unwrap();
        // Written on 31 August: six months runs to the end of February; 28 days to 27 September.
        for (schedule, until) in [
            (None, "2027-02-28"),
            (Some(2), "2026-09-27"),
            (Some(3), "2026-09-27"),
            (Some(4), "2026-09-27"),
            (Some(5), "2027-02-28"),
        ] {
            product.cd_schedule = schedule;
            assert_eq!(valid_until(&product, issued).to_string(), until, "schedule {schedule:?}");
        }
        // Written on 1 March: valid to 31 August, or to 28 March.
        let first_of_march = NaiveDate::from_ymd_opt(2026, 3, 1).unwrap();
        for (schedule, until) in [(None, "2026-08-31"), (Some(2), "2026-03-28")] {
            product.cd_schedule = schedule;
            assert_eq!(valid_until(&product, first_of_march).to_string(), until, "schedule {schedule:?}");
        }
    }
}
