//! Voiding: withdrawing a clinical record entered in error, with a reason. The record stays where it
//! was, shown as void with who, when and why; nothing is deleted. A prescription that has been
//! dispensed cannot be voided (the supply happened): it is corrected by an addendum and, for a
//! controlled drug, a correction in the register.

use rusqlite::{params, OptionalExtension};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::error::{Error, Result};
use crate::permission::{Action, Role};
use crate::session::Session;
use crate::store::database::Store;
use crate::store::write::{ChangeKind, Entity, Fields, Write};
use crate::time;
use crate::validate;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum Voidable {
    Consultation,
    Prescription,
    Charge,
    LabRequest,
    LabResult,
    Payment,
    InsuranceClaim,
}

impl Voidable {
    fn as_str(self) -> &'static str {
        match self {
            Voidable::Consultation => "consultation",
            Voidable::Prescription => "prescription",
            Voidable::Charge => "charge",
            Voidable::LabRequest => "lab_request",
            Voidable::LabResult => "lab_result",
            Voidable::Payment => "payment",
            Voidable::InsuranceClaim => "insurance_claim",
        }
    }

    /// The record's author column, and the action that voiding it needs.
    fn author_sql(self) -> &'static str {
        match self {
            Voidable::Consultation => "SELECT clinician_id FROM consultation WHERE id = ?1",
            Voidable::Prescription => "SELECT prescriber_id FROM prescription WHERE id = ?1",
            Voidable::Charge => "SELECT charged_by FROM charge WHERE id = ?1",
            Voidable::LabRequest => "SELECT requested_by FROM lab_request WHERE id = ?1",
            Voidable::LabResult => "SELECT entered_by FROM lab_result WHERE id = ?1",
            Voidable::Payment => "SELECT taken_by FROM payment WHERE id = ?1",
            Voidable::InsuranceClaim => "SELECT made_by FROM insurance_claim WHERE id = ?1",
        }
    }

    fn action(self) -> Action {
        match self {
            Voidable::Charge => Action::CaptureCharge,
            Voidable::Payment => Action::TakePayment,
            Voidable::InsuranceClaim => Action::RecordClaim,
            _ => Action::VoidClinical,
        }
    }
}

impl Write<'_> {
    /// Voids a record with a reason. Its author may void it, and so may any vet (any manager, for a
    /// charge).
    pub fn void_record(&mut self, entity: Voidable, id: Uuid, reason: &str) -> Result<()> {
        let action = entity.action();
        self.authorize(action)?;
        let reason = validate::required("reason", reason, 300)?;
        let author: Option<String> =
            self.tx().query_row(entity.author_sql(), [id.to_string()], |r| r.get(0)).optional()?;
        let author = author.ok_or_else(|| Error::NotFound(format!("{} {id}", entity.as_str())))?;
        let actor = self.actor();
        let senior = match entity {
            Voidable::Charge | Voidable::InsuranceClaim => {
                matches!(actor.role, Role::Vet | Role::Manager | Role::Admin)
            }
            // Money taken is voided by whoever took it or a manager.
            Voidable::Payment => matches!(actor.role, Role::Manager | Role::Admin),
            _ => actor.role == Role::Vet,
        };
        if author != actor.id.to_string() && !senior {
            return Err(Error::Forbidden(format!(
                "only the person who wrote this {} or {} may void it",
                entity.as_str(),
                match entity {
                    Voidable::Payment => "a manager",
                    Voidable::Charge | Voidable::InsuranceClaim => "a vet or a manager",
                    _ => "a vet",
                }
            )));
        }
        if entity == Voidable::Consultation {
            let open: i64 = self.tx().query_row(
                "SELECT count(*) FROM prescription p WHERE p.consultation_id = ?1
                 AND NOT EXISTS (SELECT 1 FROM clinical_void v WHERE v.entity = 'prescription' AND v.entity_id = p.id)",
                [id.to_string()],
                |r| r.get(0),
            )?;
            if open > 0 {
                return Err(Error::Conflict(
                    "this consultation has prescriptions: void those first (a dispensed one stands, and so does its consultation; correct it with an addendum)".into(),
                ));
            }
            let labs: i64 = self.tx().query_row(
                "SELECT count(*) FROM lab_request q WHERE q.consultation_id = ?1
                 AND NOT EXISTS (SELECT 1 FROM clinical_void v WHERE v.entity = 'lab_request' AND v.entity_id = q.id)",
                [id.to_string()],
                |r| r.get(0),
            )?;
            if labs > 0 {
                return Err(Error::Conflict(
                    "this consultation has lab requests: void those first (a request with a result stands, and so does its consultation; correct it with an addendum)".into(),
                ));
            }
        }
        if entity == Voidable::Payment && !matches!(actor.role, Role::Manager | Role::Admin) {
            // Money already counted in a cash-up, or taken from a card, is voided by a manager only.
            let (premises, taken_at, method): (String, String, String) = self.tx().query_row(
                "SELECT premises_id, taken_at, method FROM payment WHERE id = ?1",
                [id.to_string()],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )?;
            let day = time::stored_date(time::local_date(time::parse_stored(&taken_at)?));
            let counted: bool = self.tx().query_row(
                "SELECT EXISTS (SELECT 1 FROM cash_up WHERE premises_id = ?1 AND day = ?2)",
                params![premises, day],
                |r| r.get(0),
            )?;
            let approved: bool = self.tx().query_row(
                "SELECT EXISTS (SELECT 1 FROM card_run WHERE payment_id = ?1 AND outcome = 'approved')",
                [id.to_string()],
                |r| r.get(0),
            )?;
            let settled = (method == "cash" && counted) || approved;
            if settled {
                return Err(Error::Forbidden(
                    "this payment has been counted in a cash-up or taken from the card: only a manager may void it"
                        .into(),
                ));
            }
        }
        if entity == Voidable::LabRequest {
            let results: i64 = self.tx().query_row(
                "SELECT count(*) FROM lab_result x WHERE x.request_id = ?1
                 AND NOT EXISTS (SELECT 1 FROM clinical_void v WHERE v.entity = 'lab_result' AND v.entity_id = x.id)",
                [id.to_string()],
                |r| r.get(0),
            )?;
            if results > 0 {
                return Err(Error::Conflict(
                    "this request has a result, so the test was done: void the result first if it was entered in error"
                        .into(),
                ));
            }
        }
        if entity == Voidable::Prescription {
            let dispensed: bool = self.tx().query_row(
                "SELECT EXISTS (SELECT 1 FROM dispensing WHERE prescription_id = ?1)",
                [id.to_string()],
                |r| r.get(0),
            )?;
            if dispensed {
                return Err(Error::Conflict(
                    "this prescription has been dispensed, so the supply stands: correct it with an addendum to the consultation, and for a controlled drug a correction in the register".into(),
                ));
            }
        }
        let already: bool = self.tx().query_row(
            "SELECT EXISTS (SELECT 1 FROM clinical_void WHERE entity = ?1 AND entity_id = ?2)",
            params![entity.as_str(), id.to_string()],
            |r| r.get(0),
        )?;
        if already {
            return Err(Error::Conflict(format!("this {} is already void", entity.as_str())));
        }
        let void_id = self.new_id();
        let at = time::stored(self.now());
        self.tx().execute(
            "INSERT INTO clinical_void (id, entity, entity_id, reason, voided_by, voided_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![void_id.to_string(), entity.as_str(), id.to_string(), reason, actor.id.to_string(), at],
        )?;
        let fields = Fields::new()
            .with("entity", entity.as_str())
            .with("entity_id", id)
            .with("reason", &reason)
            .with("voided_by", actor.id)
            .with("voided_at", &at);
        self.record(action, Entity::Void, void_id, ChangeKind::Create, fields)
    }
}

impl Store {
    pub fn void_record(&self, session: &Session, entity: Voidable, id: Uuid, reason: &str) -> Result<()> {
        self.write(session, |w| w.void_record(entity, id, reason))
    }
}
