//! Charges: what was done and supplied, priced in pence with VAT, captured as it happens so it can be
//! invoiced when the PMS returns. Fees (consultations, procedures) come from the practice's price
//! list; dispensed medicines are charged by the dispensing itself. A charge is never changed: a wrong
//! one is voided and another added.

use chrono::{DateTime, Utc};
use rusqlite::{params, Connection, OptionalExtension, Row};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::clinical::quantity::Quantity;
use crate::error::{Error, Result};
use crate::permission::Action;
use crate::reception::patient;
use crate::session::Session;
use crate::store::database::Store;
use crate::store::row;
use crate::store::write::{ChangeKind, Entity, Fields, Write};
use crate::time;
use crate::validate;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum FeeKind {
    Consultation,
    Procedure,
    Other,
}

impl FeeKind {
    pub fn as_str(self) -> &'static str {
        match self {
            FeeKind::Consultation => "consultation",
            FeeKind::Procedure => "procedure",
            FeeKind::Other => "other",
        }
    }
    pub fn parse(text: &str) -> Option<FeeKind> {
        [FeeKind::Consultation, FeeKind::Procedure, FeeKind::Other].into_iter().find(|k| k.as_str() == text)
    }
}

/// An entry in the practice's price list.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Fee {
    pub id: Uuid,
    pub name: String,
    pub kind: FeeKind,
    /// Before VAT.
    pub price_pence: i64,
    pub vat_rate_bp: i64,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Charge {
    pub id: Uuid,
    pub client_id: Uuid,
    pub patient_id: Uuid,
    pub consultation_id: Option<Uuid>,
    pub dispensing_id: Option<Uuid>,
    pub description: String,
    pub quantity: Quantity,
    pub net_pence: i64,
    pub vat_rate_bp: i64,
    pub vat_pence: i64,
    pub charged_by: Uuid,
    pub charged_at: DateTime<Utc>,
    /// Why it was voided, if it was.
    pub void_reason: Option<String>,
}

impl Charge {
    pub fn total_pence(&self) -> i64 {
        self.net_pence + self.vat_pence
    }
}

/// A fee charged for a patient: from the price list, `quantity` times (a number of days, say).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct NewCharge {
    pub patient_id: Uuid,
    pub consultation_id: Option<Uuid>,
    pub fee_id: Uuid,
    pub quantity: String,
    /// Said on the invoice after the fee's name, e.g. "left fore".
    pub note: String,
}

/// VAT on `net` at `rate_bp` basis points, to the nearest penny (halves up).
pub(crate) fn vat(net: i64, rate_bp: i64) -> i64 {
    ((net as i128 * rate_bp as i128 * 2 + 10_000) / 20_000) as i64
}

const FEE_COLUMNS: &str = "id, name, kind, price_pence, vat_rate_bp";

fn fee_from_row(r: &Row<'_>) -> rusqlite::Result<Fee> {
    Ok(Fee {
        id: row::uuid(r, 0)?,
        name: r.get(1)?,
        kind: row::word(r, 2, FeeKind::parse)?,
        price_pence: r.get(3)?,
        vat_rate_bp: r.get(4)?,
    })
}

pub(crate) fn fees(conn: &Connection) -> Result<Vec<Fee>> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {FEE_COLUMNS} FROM fee WHERE active = 1 ORDER BY CASE kind WHEN 'consultation' THEN 0 WHEN 'procedure' THEN 1 ELSE 2 END, name"
    ))?;
    let rows = stmt.query_map([], fee_from_row)?.collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(rows)
}

fn fee(conn: &Connection, id: Uuid) -> Result<Fee> {
    conn.query_row(
        &format!("SELECT {FEE_COLUMNS} FROM fee WHERE id = ?1 AND active = 1"),
        [id.to_string()],
        fee_from_row,
    )
    .optional()?
    .ok_or_else(|| Error::invalid("fee_id", "choose a fee from the price list"))
}

const COLUMNS: &str = "c.id, c.client_id, c.patient_id, c.consultation_id, c.dispensing_id, c.description, c.quantity_milli, c.net_pence, c.vat_rate_bp, c.vat_pence, c.charged_by, c.charged_at, v.reason";
const FROM: &str = "charge c LEFT JOIN clinical_void v ON v.id = (SELECT id FROM clinical_void WHERE entity = 'charge' AND entity_id = c.id ORDER BY voided_at, id LIMIT 1)";

fn from_row(r: &Row<'_>) -> rusqlite::Result<Charge> {
    Ok(Charge {
        id: row::uuid(r, 0)?,
        client_id: row::uuid(r, 1)?,
        patient_id: row::uuid(r, 2)?,
        consultation_id: row::opt_uuid(r, 3)?,
        dispensing_id: row::opt_uuid(r, 4)?,
        description: r.get(5)?,
        quantity: Quantity(r.get(6)?),
        net_pence: r.get(7)?,
        vat_rate_bp: r.get(8)?,
        vat_pence: r.get(9)?,
        charged_by: row::uuid(r, 10)?,
        charged_at: row::time(r, 11)?,
        void_reason: r.get(12)?,
    })
}

pub(crate) fn get(conn: &Connection, id: Uuid) -> Result<Charge> {
    conn.query_row(&format!("SELECT {COLUMNS} FROM {FROM} WHERE c.id = ?1"), [id.to_string()], from_row)
        .optional()?
        .ok_or_else(|| Error::NotFound(format!("charge {id}")))
}

/// A client's charges (and those of any record merged into it), newest first (the last 1000).
pub(crate) fn of_client(conn: &Connection, client: Uuid) -> Result<Vec<Charge>> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM {FROM} WHERE c.client_id IN (SELECT id FROM client WHERE id = ?1 OR merged_into = ?1)
         ORDER BY c.charged_at DESC, c.id DESC LIMIT 1000"
    ))?;
    let rows = stmt.query_map([client.to_string()], from_row)?.collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(rows)
}

pub(crate) fn of_consultation(conn: &Connection, consultation: Uuid) -> Result<Vec<Charge>> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM {FROM} WHERE c.consultation_id = ?1 ORDER BY c.charged_at, c.id"
    ))?;
    let rows = stmt.query_map([consultation.to_string()], from_row)?.collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(rows)
}

/// What the charge is for and how much, for `insert`.
pub(crate) struct Priced<'a> {
    pub client_id: Uuid,
    pub patient_id: Uuid,
    pub consultation_id: Option<Uuid>,
    pub dispensing_id: Option<Uuid>,
    pub fee_id: Option<Uuid>,
    pub product_id: Option<Uuid>,
    pub description: &'a str,
    pub quantity: Quantity,
    pub net_pence: i64,
    pub vat_rate_bp: i64,
}

/// Writes a charge inside a write that has authorized `action` (capturing a charge, or dispensing).
pub(crate) fn insert(w: &mut Write<'_>, action: Action, p: &Priced<'_>) -> Result<Uuid> {
    let id = w.new_id();
    let vat_pence = vat(p.net_pence, p.vat_rate_bp);
    let at = time::stored(w.now());
    w.tx().execute(
        "INSERT INTO charge (id, client_id, patient_id, consultation_id, dispensing_id, fee_id, product_id, description, quantity_milli, net_pence, vat_rate_bp, vat_pence, charged_by, charged_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)",
        params![
            id.to_string(),
            p.client_id.to_string(),
            p.patient_id.to_string(),
            p.consultation_id.map(|c| c.to_string()),
            p.dispensing_id.map(|d| d.to_string()),
            p.fee_id.map(|f| f.to_string()),
            p.product_id.map(|f| f.to_string()),
            p.description,
            p.quantity.milli(),
            p.net_pence,
            p.vat_rate_bp,
            vat_pence,
            w.actor().id.to_string(),
            at
        ],
    )?;
    let fields = Fields::new()
        .with("client_id", p.client_id)
        .with("patient_id", p.patient_id)
        .with("consultation_id", p.consultation_id)
        .with("dispensing_id", p.dispensing_id)
        .with("fee_id", p.fee_id)
        .with("product_id", p.product_id)
        .with("description", p.description)
        .with("quantity_milli", p.quantity.milli())
        .with("net_pence", p.net_pence)
        .with("vat_rate_bp", p.vat_rate_bp)
        .with("vat_pence", vat_pence)
        .with("charged_by", w.actor().id)
        .with("charged_at", &at);
    w.record(action, Entity::Charge, id, ChangeKind::Create, fields)?;
    Ok(id)
}

impl Write<'_> {
    /// Charges a fee from the price list to the patient's (first) owner.
    pub fn add_charge(&mut self, new: &NewCharge) -> Result<Charge> {
        self.authorize(Action::CaptureCharge)?;
        let fee = fee(self.tx(), new.fee_id)?;
        let quantity =
            if new.quantity.trim().is_empty() { Quantity(1000) } else { Quantity::parse("quantity", &new.quantity)? };
        let note = validate::optional("note", &new.note, 100)?;
        let patient = patient::get(self.tx(), new.patient_id)?;
        let client_id = *patient
            .owner_ids
            .first()
            .ok_or_else(|| Error::invalid("patient_id", format!("{} has no owner to charge", patient.name)))?;
        if let Some(consultation) = new.consultation_id {
            let of: Option<String> = self
                .tx()
                .query_row("SELECT patient_id FROM consultation WHERE id = ?1", [consultation.to_string()], |r| {
                    r.get(0)
                })
                .optional()?;
            if of.as_deref() != Some(patient.id.to_string().as_str()) {
                return Err(Error::invalid("consultation_id", format!("is not a consultation of {}", patient.name)));
            }
        }
        let description = if note.is_empty() { fee.name.clone() } else { format!("{} ({note})", fee.name) };
        let net = (fee.price_pence as i128 * quantity.milli() as i128 + 500) / 1000;
        let id = insert(
            self,
            Action::CaptureCharge,
            &Priced {
                client_id,
                patient_id: patient.id,
                consultation_id: new.consultation_id,
                dispensing_id: None,
                fee_id: Some(fee.id),
                product_id: None,
                description: &description,
                quantity,
                net_pence: net as i64,
                vat_rate_bp: fee.vat_rate_bp,
            },
        )?;
        get(self.tx(), id)
    }

    /// Adds the starter price list's fees that are not on the list yet; returns how many.
    pub fn add_starter_fees(&mut self) -> Result<usize> {
        self.authorize(Action::ManageFees)?;
        let mut added = 0;
        for (name, kind, price) in STARTER_FEES {
            let present: bool = self.tx().query_row(
                "SELECT EXISTS (SELECT 1 FROM fee WHERE name = ?1 COLLATE NOCASE)",
                [name],
                |r| r.get(0),
            )?;
            if present {
                continue;
            }
            let id = self.new_id();
            let now = time::stored(self.now());
            self.tx().execute(
                "INSERT INTO fee (id, name, kind, price_pence, vat_rate_bp, active, created_at, updated_at) VALUES (?1, ?2, ?3, ?4, 2000, 1, ?5, ?5)",
                params![id.to_string(), name, kind.as_str(), price, now],
            )?;
            let fields = Fields::new()
                .with("name", name)
                .with("kind", kind)
                .with("price_pence", price)
                .with("vat_rate_bp", 2000)
                .with("active", true);
            self.record(Action::ManageFees, Entity::Fee, id, ChangeKind::Create, fields)?;
            added += 1;
        }
        Ok(added)
    }
}

/// How many fees the starter price list has.
pub fn starter_fee_count() -> usize {
    STARTER_FEES.len()
}

/// A typical small-animal price list, for the practice to change.
const STARTER_FEES: [(&str, FeeKind, i64); 10] = [
    ("Consultation", FeeKind::Consultation, 4500),
    ("Repeat consultation", FeeKind::Consultation, 3000),
    ("Nurse clinic", FeeKind::Consultation, 2000),
    ("Vaccination consultation", FeeKind::Consultation, 4000),
    ("Blood sample collection", FeeKind::Procedure, 2500),
    ("Microchip implantation", FeeKind::Procedure, 2000),
    ("Sedation", FeeKind::Procedure, 9000),
    ("Euthanasia", FeeKind::Procedure, 15000),
    ("Hospitalisation, per day", FeeKind::Other, 4000),
    ("Clinical waste disposal", FeeKind::Other, 500),
];

impl Store {
    pub fn fees(&self, session: &Session) -> Result<Vec<Fee>> {
        self.read_as(session, Action::ViewRecords, |r| fees(r))
    }

    pub fn add_charge(&self, session: &Session, new: &NewCharge) -> Result<Charge> {
        self.write(session, |w| w.add_charge(new))
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn vat_is_twenty_percent_to_the_nearest_penny() {
        for (net, vat) in [(4500, 900), (910, 182), (98, 20), (2, 0), (3, 1), (0, 0)] {
            assert_eq!(super::vat(net, 2000), vat, "VAT on {net}p");
        }
    }
}
