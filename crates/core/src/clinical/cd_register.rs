//! The controlled drugs register (Misuse of Drugs Regulations 2001): per premises and per drug, in the
//! order things happened. Receipts (from whom), supplies (to whom, prescribed by whom, collected by
//! whom; written by dispensing), administrations, destructions (with a witness) and stock checks
//! (counted against expected). The running balance can never go below zero, at any point in the
//! register's history. Entries are never altered (the database refuses): a mistake is corrected by a
//! dated correction that names the entry it corrects and says why.

use chrono::{DateTime, NaiveDateTime, Utc};
use rusqlite::{params, Connection, OptionalExtension, Row};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::clinical::formulary::{self, Product};
use crate::clinical::quantity::Quantity;
use crate::error::{Error, Result};
use crate::organisation::practice::{self, Premises};
use crate::permission::{Action, Role};
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
pub enum CdEntryKind {
    Receipt,
    Supply,
    Administration,
    Destruction,
    StockCheck,
    Correction,
}

impl CdEntryKind {
    pub const ALL: [CdEntryKind; 6] = [
        CdEntryKind::Receipt,
        CdEntryKind::Supply,
        CdEntryKind::Administration,
        CdEntryKind::Destruction,
        CdEntryKind::StockCheck,
        CdEntryKind::Correction,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            CdEntryKind::Receipt => "receipt",
            CdEntryKind::Supply => "supply",
            CdEntryKind::Administration => "administration",
            CdEntryKind::Destruction => "destruction",
            CdEntryKind::StockCheck => "stock_check",
            CdEntryKind::Correction => "correction",
        }
    }

    pub fn parse(text: &str) -> Option<CdEntryKind> {
        CdEntryKind::ALL.into_iter().find(|k| k.as_str() == text)
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct CdEntry {
    pub id: Uuid,
    pub premises_id: Uuid,
    pub product_id: Uuid,
    pub kind: CdEntryKind,
    pub occurred_at: DateTime<Utc>,
    /// The amount moved (for a stock check, the amount counted).
    pub quantity: Quantity,
    /// The entry's effect on the balance, in thousandths (negative for what left).
    pub delta_milli: i64,
    pub supplier: String,
    pub reference: String,
    pub recipient: String,
    pub patient_id: Option<Uuid>,
    pub patient_name: Option<String>,
    pub prescriber_id: Option<Uuid>,
    pub prescriber_name: Option<String>,
    pub dispensing_id: Option<Uuid>,
    pub collected_by: String,
    pub witness: String,
    /// Stock checks: what the register said when the count was made.
    pub expected: Option<Quantity>,
    pub corrects_id: Option<Uuid>,
    pub note: String,
    pub recorded_by: Uuid,
    pub recorded_by_name: String,
    pub recorded_at: DateTime<Utc>,
    /// The running balance after this entry.
    pub balance: Quantity,
}

/// A new register entry. Which fields matter depends on the kind (see `Write::record_cd_entry`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct NewCdEntry {
    pub product_id: Uuid,
    /// Default: the premises this PC stands in.
    pub premises_id: Option<Uuid>,
    pub kind: CdEntryKind,
    /// London wall-clock time it happened; default now.
    pub occurred_at: Option<NaiveDateTime>,
    /// The amount moved, in the product's unit; for a stock check, the amount counted.
    pub quantity: String,
    /// Receipts: the supplier's name and address.
    pub supplier: String,
    /// Receipts: invoice or delivery note number.
    pub reference: String,
    /// Supplies: the name and address of the person supplied.
    pub recipient: String,
    /// Administrations (and supplies): the animal.
    pub patient_id: Option<Uuid>,
    /// Supplies and administrations: the vet responsible.
    pub prescriber_id: Option<Uuid>,
    /// Supplies: who took it away.
    pub collected_by: String,
    /// Destructions: the authorised witness.
    pub witness: String,
    /// Corrections: the entry being corrected.
    pub corrects_id: Option<Uuid>,
    /// Corrections: whether the correction adds to the balance (else it takes away).
    pub correction_adds: bool,
    /// Why (required for destructions and corrections).
    pub note: String,
}

impl NewCdEntry {
    pub fn new(product_id: Uuid, kind: CdEntryKind, quantity: &str) -> NewCdEntry {
        NewCdEntry {
            product_id,
            premises_id: None,
            kind,
            occurred_at: None,
            quantity: quantity.into(),
            supplier: String::new(),
            reference: String::new(),
            recipient: String::new(),
            patient_id: None,
            prescriber_id: None,
            collected_by: String::new(),
            witness: String::new(),
            corrects_id: None,
            correction_adds: false,
            note: String::new(),
        }
    }
}

/// One drug's place in the register: its balance at a premises.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct CdBalance {
    pub product: Product,
    pub balance: Quantity,
    pub entries: u32,
    pub last_entry_at: Option<DateTime<Utc>>,
}

const COLUMNS: &str =
    "e.id, e.premises_id, e.product_id, e.kind, e.occurred_at, e.quantity_milli, e.delta_milli, e.supplier,
    e.reference, e.recipient, e.patient_id, p.name, e.prescriber_id, ps.display_name, e.dispensing_id, e.collected_by,
    e.witness, e.expected_milli, e.corrects_id, e.note, e.recorded_by, rs.display_name, e.recorded_at";
const FROM: &str = "cd_entry e JOIN staff rs ON rs.id = e.recorded_by LEFT JOIN patient p ON p.id = e.patient_id
    LEFT JOIN staff ps ON ps.id = e.prescriber_id";
const ORDER: &str = "ORDER BY e.occurred_at, e.recorded_at, e.id";

fn from_row(r: &Row<'_>) -> rusqlite::Result<CdEntry> {
    Ok(CdEntry {
        id: row::uuid(r, 0)?,
        premises_id: row::uuid(r, 1)?,
        product_id: row::uuid(r, 2)?,
        kind: row::word(r, 3, CdEntryKind::parse)?,
        occurred_at: row::time(r, 4)?,
        quantity: Quantity(r.get(5)?),
        delta_milli: r.get(6)?,
        supplier: r.get(7)?,
        reference: r.get(8)?,
        recipient: r.get(9)?,
        patient_id: row::opt_uuid(r, 10)?,
        patient_name: r.get(11)?,
        prescriber_id: row::opt_uuid(r, 12)?,
        prescriber_name: r.get(13)?,
        dispensing_id: row::opt_uuid(r, 14)?,
        collected_by: r.get(15)?,
        witness: r.get(16)?,
        expected: r.get::<_, Option<i64>>(17)?.map(Quantity),
        corrects_id: row::opt_uuid(r, 18)?,
        note: r.get(19)?,
        recorded_by: row::uuid(r, 20)?,
        recorded_by_name: r.get(21)?,
        recorded_at: row::time(r, 22)?,
        balance: Quantity(0),
    })
}

/// Every entry for a drug at a premises, in order, with the running balance.
pub(crate) fn entries(conn: &Connection, premises: Uuid, product: Uuid) -> Result<Vec<CdEntry>> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM {FROM} WHERE e.premises_id = ?1 AND e.product_id = ?2 {ORDER}"
    ))?;
    let mut rows =
        stmt.query_map([premises.to_string(), product.to_string()], from_row)?.collect::<rusqlite::Result<Vec<_>>>()?;
    let mut balance = 0;
    for e in &mut rows {
        balance += e.delta_milli;
        e.balance = Quantity(balance);
    }
    Ok(rows)
}

/// The register's drugs at a premises: every Schedule 2 and 3 product in the formulary, with its balance.
pub(crate) fn balances(conn: &Connection, premises: Uuid) -> Result<Vec<CdBalance>> {
    let mut out = Vec::new();
    for product in formulary::controlled(conn)? {
        let (balance, entries, last): (i64, u32, Option<String>) = conn.query_row(
            "SELECT coalesce(sum(delta_milli), 0), count(*), max(occurred_at) FROM cd_entry WHERE premises_id = ?1 AND product_id = ?2",
            [premises.to_string(), product.id.to_string()],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )?;
        out.push(CdBalance {
            product,
            balance: Quantity(balance),
            entries,
            last_entry_at: last.map(|t| time::parse_stored(&t)).transpose()?,
        });
    }
    Ok(out)
}

/// Refuses an entry that would take the running balance below zero at any point.
fn check_balance(
    conn: &Connection,
    premises: Uuid,
    product: &Product,
    occurred_at: &str,
    recorded_at: &str,
    delta: i64,
) -> Result<()> {
    let mut stmt = conn.prepare_cached(
        "SELECT occurred_at, recorded_at, delta_milli FROM cd_entry WHERE premises_id = ?1 AND product_id = ?2 ORDER BY occurred_at, recorded_at, id",
    )?;
    let mut list: Vec<(String, String, i64)> = stmt
        .query_map([premises.to_string(), product.id.to_string()], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    let at = list.partition_point(|(o, r, _)| (o.as_str(), r.as_str()) <= (occurred_at, recorded_at));
    list.insert(at, (occurred_at.to_string(), recorded_at.to_string(), delta));
    let mut balance = 0;
    for (i, (occurred, _, d)) in list.iter().enumerate() {
        balance += d;
        if balance < 0 {
            let before = Quantity(balance - d).figures();
            let when = if i == list.len() - 1 {
                String::new()
            } else {
                format!(
                    " at {}, before later entries",
                    time::to_local(time::parse_stored(occurred)?).format("%d/%m/%Y %H:%M")
                )
            };
            return Err(Error::Conflict(format!(
                "the register holds only {before} {} of {}{when}: an entry cannot take the balance below zero. Record the receipt first, or check the amount",
                product.unit, product.name
            )));
        }
    }
    Ok(())
}

/// A checked entry, ready to write.
pub(crate) struct ValidEntry {
    pub premises_id: Uuid,
    pub product_id: Uuid,
    pub kind: CdEntryKind,
    pub occurred_at: String,
    pub quantity: Quantity,
    pub delta: i64,
    pub supplier: String,
    pub reference: String,
    pub recipient: String,
    pub patient_id: Option<Uuid>,
    pub prescriber_id: Option<Uuid>,
    pub dispensing_id: Option<Uuid>,
    pub collected_by: String,
    pub witness: String,
    pub expected: Option<i64>,
    pub corrects_id: Option<Uuid>,
    pub note: String,
}

/// Writes a checked entry under `action`, after the balance check.
pub(crate) fn insert(w: &mut Write<'_>, action: Action, e: &ValidEntry) -> Result<CdEntry> {
    let product = formulary::get(w.tx(), e.product_id)?;
    let recorded_at = time::stored(w.now());
    check_balance(w.tx(), e.premises_id, &product, &e.occurred_at, &recorded_at, e.delta)?;
    let id = w.new_id();
    w.tx().execute(
        "INSERT INTO cd_entry (id, premises_id, product_id, kind, occurred_at, quantity_milli, delta_milli, supplier, reference, recipient,
            patient_id, prescriber_id, dispensing_id, collected_by, witness, expected_milli, corrects_id, note, recorded_by, recorded_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20)",
        params![
            id.to_string(),
            e.premises_id.to_string(),
            e.product_id.to_string(),
            e.kind.as_str(),
            e.occurred_at,
            e.quantity.milli(),
            e.delta,
            e.supplier,
            e.reference,
            e.recipient,
            e.patient_id.map(|p| p.to_string()),
            e.prescriber_id.map(|p| p.to_string()),
            e.dispensing_id.map(|d| d.to_string()),
            e.collected_by,
            e.witness,
            e.expected,
            e.corrects_id.map(|c| c.to_string()),
            e.note,
            w.actor().id.to_string(),
            recorded_at
        ],
    )?;
    let fields = Fields::new()
        .with("premises_id", e.premises_id)
        .with("product_id", e.product_id)
        .with("kind", e.kind)
        .with("occurred_at", &e.occurred_at)
        .with("quantity_milli", e.quantity.milli())
        .with("delta_milli", e.delta)
        .with("supplier", &e.supplier)
        .with("reference", &e.reference)
        .with("recipient", &e.recipient)
        .with("patient_id", e.patient_id)
        .with("prescriber_id", e.prescriber_id)
        .with("dispensing_id", e.dispensing_id)
        .with("collected_by", &e.collected_by)
        .with("witness", &e.witness)
        .with("expected_milli", e.expected)
        .with("corrects_id", e.corrects_id)
        .with("note", &e.note)
        .with("recorded_by", w.actor().id)
        .with("recorded_at", &recorded_at);
    w.record(action, Entity::CdEntry, id, ChangeKind::Create, fields)?;
    entries(w.tx(), e.premises_id, e.product_id)?
        .into_iter()
        .find(|x| x.id == id)
        .ok_or_else(|| Error::Internal("the register entry just written was not found".into()))
}

/// When an entry happened: `given` (London time), not in the future, or now.
pub(crate) fn occurred(w: &Write<'_>, given: Option<NaiveDateTime>) -> Result<String> {
    match given {
        None => Ok(time::stored(w.now())),
        Some(local) => {
            let at = time::to_utc("occurred_at", local)?;
            if at > w.now() + chrono::Duration::minutes(5) {
                return Err(Error::invalid("occurred_at", "is in the future: record things once they have happened"));
            }
            Ok(time::stored(at))
        }
    }
}

impl Write<'_> {
    /// Records a receipt, administration, destruction, stock check, correction, or a supply made
    /// other than by dispensing.
    pub fn record_cd_entry(&mut self, new: &NewCdEntry) -> Result<CdEntry> {
        self.authorize(Action::RecordControlledDrugs)?;
        let product = formulary::get(self.tx(), new.product_id)?;
        if !product.is_schedule_2_or_3() {
            return Err(Error::invalid(
                "product_id",
                format!("{} is not a Schedule 2 or 3 controlled drug", product.name),
            ));
        }
        let premises = match new.premises_id {
            Some(id) => practice::premises_by_id(self.tx(), id)
                .map_err(|_| Error::invalid("premises_id", "choose the premises"))?,
            None => practice::this_premises(self.tx())?,
        };
        let occurred_at = occurred(self, new.occurred_at)?;
        let quantity = match new.kind {
            CdEntryKind::StockCheck if new.quantity.trim() == "0" => Quantity(0),
            _ => Quantity::parse("quantity", &new.quantity)?,
        };
        let text = |field: &str, value: &str, max: usize| validate::optional(field, value, max);
        let mut e = ValidEntry {
            premises_id: premises.id,
            product_id: product.id,
            kind: new.kind,
            occurred_at,
            quantity,
            delta: 0,
            supplier: text("supplier", &new.supplier, 200)?,
            reference: text("reference", &new.reference, 60)?,
            recipient: text("recipient", &new.recipient, 200)?,
            patient_id: None,
            prescriber_id: None,
            dispensing_id: None,
            collected_by: text("collected_by", &new.collected_by, 100)?,
            witness: text("witness", &new.witness, 100)?,
            expected: None,
            corrects_id: None,
            note: validate::optional_multiline("note", &new.note, 1000)?,
        };
        let required = |field: &str, value: &str, what: &str| {
            if value.is_empty() {
                Err(Error::invalid(field, format!("is required: {what}")))
            } else {
                Ok(())
            }
        };
        match new.kind {
            CdEntryKind::Receipt => {
                required("supplier", &e.supplier, "the name and address of the supplier")?;
                e.delta = quantity.milli();
            }
            CdEntryKind::Supply | CdEntryKind::Administration
                if !matches!(self.actor().role, Role::Vet | Role::Nurse) =>
            {
                return Err(Error::Forbidden(
                    "supplies and administrations are recorded by the vets and nurses who make them".into(),
                ));
            }
            CdEntryKind::Supply => {
                required("recipient", &e.recipient, "the name and address of the person supplied")?;
                required("collected_by", &e.collected_by, "who collected it")?;
                e.prescriber_id = Some(vet(self.tx(), new.prescriber_id)?);
                e.patient_id = animal(self.tx(), new.patient_id, false)?;
                e.delta = -quantity.milli();
            }
            CdEntryKind::Administration => {
                e.patient_id = animal(self.tx(), new.patient_id, true)?;
                e.prescriber_id = Some(vet(self.tx(), new.prescriber_id.or(Some(self.actor().id)))?);
                e.delta = -quantity.milli();
            }
            CdEntryKind::Destruction => {
                required("witness", &e.witness, "the authorised person who witnessed the destruction")?;
                required("note", &e.note, "why it was destroyed (expired, returned, spilt...)")?;
                e.delta = -quantity.milli();
            }
            CdEntryKind::StockCheck => {
                let balance: i64 = self.tx().query_row(
                    "SELECT coalesce(sum(delta_milli), 0) FROM cd_entry WHERE premises_id = ?1 AND product_id = ?2 AND occurred_at <= ?3",
                    params![premises.id.to_string(), product.id.to_string(), e.occurred_at],
                    |r| r.get(0),
                )?;
                e.expected = Some(balance);
            }
            CdEntryKind::Correction => {
                let corrects =
                    new.corrects_id.ok_or_else(|| Error::invalid("corrects_id", "choose the entry this corrects"))?;
                let target: Option<(String, String)> = self
                    .tx()
                    .query_row(
                        "SELECT premises_id, product_id FROM cd_entry WHERE id = ?1",
                        [corrects.to_string()],
                        |r| Ok((r.get(0)?, r.get(1)?)),
                    )
                    .optional()?;
                if target != Some((premises.id.to_string(), product.id.to_string())) {
                    return Err(Error::invalid("corrects_id", "is not an entry for this drug at these premises"));
                }
                required("note", &e.note, "what was wrong and why this corrects it")?;
                e.corrects_id = Some(corrects);
                e.delta = if new.correction_adds { quantity.milli() } else { -quantity.milli() };
            }
        }
        insert(self, Action::RecordControlledDrugs, &e)
    }
}

/// The vet responsible for a supply or administration.
fn vet(conn: &Connection, id: Option<Uuid>) -> Result<Uuid> {
    let id = id.ok_or_else(|| Error::invalid("prescriber_id", "choose the vet responsible"))?;
    let found: Option<(String, bool)> = conn
        .query_row("SELECT role, active FROM staff WHERE id = ?1", [id.to_string()], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()?;
    let (role, active) = match found {
        Some((role, active)) => (Role::parse(&role), active),
        None => (None, false),
    };
    match role {
        Some(Role::Vet) if !active => Err(Error::invalid("prescriber_id", "this vet's account is deactivated")),
        Some(Role::Vet) => Ok(id),
        Some(_) => Err(Error::invalid(
            "prescriber_id",
            "must be the vet responsible (the person recording it is noted as well)",
        )),
        None => Err(Error::invalid("prescriber_id", "choose the vet responsible")),
    }
}

fn animal(conn: &Connection, id: Option<Uuid>, required: bool) -> Result<Option<Uuid>> {
    match id {
        Some(id) => {
            patient::get(conn, id).map(|p| Some(p.id)).map_err(|_| Error::invalid("patient_id", "choose the animal"))
        }
        None if required => Err(Error::invalid("patient_id", "choose the animal it was given to")),
        None => Ok(None),
    }
}

/// The register as a screen shows it: the premises and each drug's balance.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct CdRegister {
    pub premises: Premises,
    pub drugs: Vec<CdBalance>,
}

impl Store {
    pub fn record_cd_entry(&self, session: &Session, new: &NewCdEntry) -> Result<CdEntry> {
        self.write(session, |w| w.record_cd_entry(new))
    }

    /// Every controlled drug's balance at a premises (default: this PC's).
    pub fn cd_register(&self, session: &Session, premises: Option<Uuid>) -> Result<CdRegister> {
        self.read_as(session, Action::ViewClinical, |r| {
            let premises = match premises {
                Some(id) => practice::premises_by_id(r, id)?,
                None => practice::this_premises(r)?,
            };
            Ok(CdRegister { drugs: balances(r, premises.id)?, premises })
        })
    }

    /// One drug's register at a premises, oldest first, with the running balance.
    pub fn cd_entries(&self, session: &Session, premises: Uuid, product: Uuid) -> Result<Vec<CdEntry>> {
        self.read_as(session, Action::ViewClinical, |r| entries(r, premises, product))
    }
}
