//! Consultations: SOAP notes and vitals, written as a draft that saves as it is typed, then signed by
//! the clinician (who re-enters their password). A signed consultation is final: the core refuses to
//! change it, and so does the database (a trigger aborts any UPDATE or DELETE of a signed row).
//! Corrections are addenda: dated, attributed, with a reason, shown with the original. A consultation
//! can be voided with a reason (see `void.rs`), never deleted.

use chrono::{DateTime, Utc};
use rusqlite::{params, Connection, OptionalExtension, Row};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::clinical::vitals::{self, StoredVitals, VitalWarning, Vitals};
use crate::error::{Error, Result};
use crate::organisation::practice;
use crate::organisation::staff::Reauthenticated;
use crate::permission::Action;
use crate::reception::appointment::{self, AppointmentStatus};
use crate::reception::patient;
use crate::session::Session;
use crate::store::database::Store;
use crate::store::row;
use crate::store::write::{ChangeKind, Entity, Fields, Write};
use crate::time;
use crate::validate;

/// Longest SOAP section, in characters.
const MAX_SECTION: usize = 20_000;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Consultation {
    pub id: Uuid,
    pub patient_id: Uuid,
    pub appointment_id: Option<Uuid>,
    pub clinician_id: Uuid,
    pub clinician_name: String,
    pub premises_id: Uuid,
    pub started_at: DateTime<Utc>,
    pub subjective: String,
    pub objective: String,
    pub assessment: String,
    pub plan: String,
    pub vitals: Vitals,
    pub signed_at: Option<DateTime<Utc>>,
    pub signed_by: Option<Uuid>,
    /// SHA-256 of the signed content.
    pub signed_hash: Option<String>,
    /// Why it was voided, if it was.
    pub void_reason: Option<String>,
    pub updated_at: DateTime<Utc>,
}

impl Consultation {
    pub fn is_signed(&self) -> bool {
        self.signed_at.is_some()
    }
}

/// What the clinician has typed so far.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct ConsultationDraft {
    pub subjective: String,
    pub objective: String,
    pub assessment: String,
    pub plan: String,
    pub vitals: Vitals,
}

/// Start a consultation for an appointment, or for a walk-in patient.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct StartConsultation {
    pub appointment_id: Option<Uuid>,
    pub patient_id: Option<Uuid>,
}

/// A saved draft, with the vitals that are possible but unusual for the species.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct DraftSaved {
    pub consultation: Consultation,
    pub warnings: Vec<VitalWarning>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Addendum {
    pub id: Uuid,
    pub consultation_id: Uuid,
    pub author_id: Uuid,
    pub author_name: String,
    pub written_at: DateTime<Utc>,
    pub reason: String,
    pub text: String,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct NewAddendum {
    pub reason: String,
    pub text: String,
}

const COLUMNS: &str =
    "c.id, c.patient_id, c.appointment_id, c.clinician_id, s.display_name, c.premises_id, c.started_at,
    c.subjective, c.objective, c.assessment, c.plan, c.weight_g, c.temperature_dc, c.heart_rate, c.respiratory_rate,
    c.body_condition, c.signed_at, c.signed_by, c.signed_hash, v.reason, c.updated_at";
const FROM: &str = "consultation c JOIN staff s ON s.id = c.clinician_id
    LEFT JOIN clinical_void v ON v.id = (SELECT id FROM clinical_void WHERE entity = 'consultation' AND entity_id = c.id ORDER BY voided_at, id LIMIT 1)";

fn from_row(r: &Row<'_>) -> rusqlite::Result<Consultation> {
    let stored = StoredVitals {
        weight_g: r.get(11)?,
        temperature_dc: r.get(12)?,
        heart_rate: r.get(13)?,
        respiratory_rate: r.get(14)?,
        body_condition: r.get(15)?,
    };
    Ok(Consultation {
        id: row::uuid(r, 0)?,
        patient_id: row::uuid(r, 1)?,
        appointment_id: row::opt_uuid(r, 2)?,
        clinician_id: row::uuid(r, 3)?,
        clinician_name: r.get(4)?,
        premises_id: row::uuid(r, 5)?,
        started_at: row::time(r, 6)?,
        subjective: r.get(7)?,
        objective: r.get(8)?,
        assessment: r.get(9)?,
        plan: r.get(10)?,
        vitals: stored.typed(),
        signed_at: row::opt_time(r, 16)?,
        signed_by: row::opt_uuid(r, 17)?,
        signed_hash: r.get(18)?,
        void_reason: r.get(19)?,
        updated_at: row::time(r, 20)?,
    })
}

pub(crate) fn get(conn: &Connection, id: Uuid) -> Result<Consultation> {
    conn.query_row(&format!("SELECT {COLUMNS} FROM {FROM} WHERE c.id = ?1"), [id.to_string()], from_row)
        .optional()?
        .ok_or_else(|| Error::NotFound(format!("consultation {id}")))
}

pub(crate) fn of_appointment(conn: &Connection, appointment: Uuid) -> Result<Option<Consultation>> {
    Ok(conn
        .query_row(
            &format!("SELECT {COLUMNS} FROM {FROM} WHERE c.appointment_id = ?1 ORDER BY c.started_at, c.id LIMIT 1"),
            [appointment.to_string()],
            from_row,
        )
        .optional()?)
}

/// A patient's consultations, newest first.
pub(crate) fn of_patient(conn: &Connection, patient: Uuid, limit: u32) -> Result<Vec<Consultation>> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM {FROM} WHERE c.patient_id IN (SELECT id FROM patient WHERE id = ?1 OR merged_into = ?1) ORDER BY c.started_at DESC, c.id DESC LIMIT ?2"
    ))?;
    let rows = stmt.query_map(params![patient.to_string(), limit], from_row)?.collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(rows)
}

/// Unsigned, unvoided consultations a clinician started, newest first.
pub(crate) fn open_drafts_of(conn: &Connection, clinician: Uuid) -> Result<Vec<Consultation>> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM {FROM} WHERE c.clinician_id = ?1 AND c.signed_at IS NULL AND v.id IS NULL ORDER BY c.started_at DESC LIMIT 50"
    ))?;
    let rows = stmt.query_map([clinician.to_string()], from_row)?.collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(rows)
}

fn addendum_from_row(r: &Row<'_>) -> rusqlite::Result<Addendum> {
    Ok(Addendum {
        id: row::uuid(r, 0)?,
        consultation_id: row::uuid(r, 1)?,
        author_id: row::uuid(r, 2)?,
        author_name: r.get(3)?,
        written_at: row::time(r, 4)?,
        reason: r.get(5)?,
        text: r.get(6)?,
    })
}

/// A consultation's addenda, oldest first.
pub(crate) fn addenda_of(conn: &Connection, consultation: Uuid) -> Result<Vec<Addendum>> {
    let mut stmt = conn.prepare_cached(
        "SELECT a.id, a.consultation_id, a.author_id, s.display_name, a.written_at, a.reason, a.text
         FROM addendum a JOIN staff s ON s.id = a.author_id WHERE a.consultation_id = ?1 ORDER BY a.written_at, a.id",
    )?;
    let rows = stmt.query_map([consultation.to_string()], addendum_from_row)?.collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(rows)
}

/// Every addendum to a patient's consultations, oldest first, in one query.
pub(crate) fn addenda_of_patient(conn: &Connection, patient: Uuid) -> Result<Vec<Addendum>> {
    let mut stmt = conn.prepare_cached(
        "SELECT a.id, a.consultation_id, a.author_id, s.display_name, a.written_at, a.reason, a.text
         FROM addendum a JOIN consultation c ON c.id = a.consultation_id JOIN staff s ON s.id = a.author_id
         WHERE c.patient_id IN (SELECT id FROM patient WHERE id = ?1 OR merged_into = ?1) ORDER BY a.written_at, a.id",
    )?;
    let rows = stmt.query_map([patient.to_string()], addendum_from_row)?.collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(rows)
}

/// A checked draft: trimmed sections and vitals in stored units.
struct ValidDraft {
    sections: [String; 4],
    vitals: StoredVitals,
    warnings: Vec<VitalWarning>,
}

fn validated(conn: &Connection, patient_id: Uuid, draft: &ConsultationDraft) -> Result<ValidDraft> {
    let patient = patient::get(conn, patient_id)?;
    let (vitals, warnings) = vitals::check(patient.species, &patient.species_label(), &draft.vitals)?;
    Ok(ValidDraft {
        sections: [
            validate::optional_multiline("subjective", &draft.subjective, MAX_SECTION)?,
            validate::optional_multiline("objective", &draft.objective, MAX_SECTION)?,
            validate::optional_multiline("assessment", &draft.assessment, MAX_SECTION)?,
            validate::optional_multiline("plan", &draft.plan, MAX_SECTION)?,
        ],
        vitals,
        warnings,
    })
}

const SECTIONS: [&str; 4] = ["subjective", "objective", "assessment", "plan"];

/// The content a signature covers, in a fixed order.
#[derive(Serialize)]
struct Signed<'a> {
    id: Uuid,
    patient_id: Uuid,
    clinician_id: Uuid,
    started_at: &'a str,
    subjective: &'a str,
    objective: &'a str,
    assessment: &'a str,
    plan: &'a str,
    weight_g: Option<i64>,
    temperature_dc: Option<i64>,
    heart_rate: Option<i64>,
    respiratory_rate: Option<i64>,
    body_condition: Option<i64>,
    signed_at: &'a str,
    signed_by: Uuid,
}

fn signed_hash(content: &Signed<'_>) -> Result<String> {
    let bytes = serde_json::to_vec(content).map_err(|e| Error::Internal(e.to_string()))?;
    Ok(hex::encode(Sha256::digest(bytes)))
}

/// The current draft of `id`, refusing one that is signed, voided or someone else's.
fn own_draft(w: &Write<'_>, id: Uuid) -> Result<Consultation> {
    let current = get(w.tx(), id)?;
    if current.is_signed() {
        return Err(Error::Conflict(
            "this consultation is signed and cannot be changed; add an addendum instead".into(),
        ));
    }
    if current.void_reason.is_some() {
        return Err(Error::Conflict("this consultation was voided and cannot be changed".into()));
    }
    if current.clinician_id != w.actor().id {
        return Err(Error::Forbidden(format!(
            "this consultation is {}'s; only the clinician who started it writes and signs it (others add addenda once it is signed)",
            current.clinician_name
        )));
    }
    Ok(current)
}

/// A consultation that happened before, signed by its clinician: history from a PMS snapshot or a
/// generated demo practice.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PastConsultation {
    pub appointment_id: Option<Uuid>,
    pub patient_id: Uuid,
    pub clinician_id: Uuid,
    pub started_at: DateTime<Utc>,
    pub signed_at: DateTime<Utc>,
    pub notes: ConsultationDraft,
    /// The PMS's number for the record, when it comes from the PMS's clinical history.
    pub pms_id: Option<String>,
}

impl Write<'_> {
    /// Records a signed consultation that happened earlier (see `PastConsultation`). Vitals are
    /// checked for what is possible; unusual values are kept as recorded.
    pub fn record_past_consultation(&mut self, past: &PastConsultation) -> Result<Consultation> {
        self.authorize(Action::ImportRecords)?;
        if past.signed_at < past.started_at || past.signed_at > self.now() {
            return Err(Error::invalid("signed_at", "must be after the start and not in the future"));
        }
        let clinician = crate::organisation::staff::get(self.tx(), past.clinician_id)?;
        if !matches!(clinician.role, crate::permission::Role::Vet | crate::permission::Role::Nurse) {
            return Err(Error::invalid("clinician_id", "must be a vet or a nurse"));
        }
        if let Some(a) = past.appointment_id {
            if of_appointment(self.tx(), a)?.is_some() {
                return Err(Error::Conflict("this appointment already has a consultation".into()));
            }
        }
        let valid = validated(self.tx(), past.patient_id, &past.notes)?;
        let premises = practice::this_premises(self.tx())?;
        let id = self.new_id();
        let (started, signed) = (time::stored(past.started_at), time::stored(past.signed_at));
        let [s, o, a, p] = &valid.sections;
        let v = valid.vitals;
        let hash = signed_hash(&Signed {
            id,
            patient_id: past.patient_id,
            clinician_id: past.clinician_id,
            started_at: &started,
            subjective: s,
            objective: o,
            assessment: a,
            plan: p,
            weight_g: v.weight_g,
            temperature_dc: v.temperature_dc,
            heart_rate: v.heart_rate,
            respiratory_rate: v.respiratory_rate,
            body_condition: v.body_condition,
            signed_at: &signed,
            signed_by: past.clinician_id,
        })?;
        self.tx().execute(
            "INSERT INTO consultation (id, patient_id, appointment_id, clinician_id, premises_id, started_at, subjective, objective,
                assessment, plan, weight_g, temperature_dc, heart_rate, respiratory_rate, body_condition, signed_at, signed_by,
                signed_hash, pms_id, created_at, updated_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?16, ?16)",
            params![
                id.to_string(),
                past.patient_id.to_string(),
                past.appointment_id.map(|a| a.to_string()),
                past.clinician_id.to_string(),
                premises.id.to_string(),
                started,
                s,
                o,
                a,
                p,
                v.weight_g,
                v.temperature_dc,
                v.heart_rate,
                v.respiratory_rate,
                v.body_condition,
                signed,
                past.clinician_id.to_string(),
                hash,
                past.pms_id
            ],
        )?;
        let mut fields = Fields::new()
            .with("patient_id", past.patient_id)
            .with("appointment_id", past.appointment_id)
            .with("clinician_id", past.clinician_id)
            .with("premises_id", premises.id)
            .with("started_at", &started)
            .with("created_at", &signed)
            .with("subjective", s)
            .with("objective", o)
            .with("assessment", a)
            .with("plan", p)
            .with("weight_g", v.weight_g)
            .with("temperature_dc", v.temperature_dc)
            .with("heart_rate", v.heart_rate)
            .with("respiratory_rate", v.respiratory_rate)
            .with("body_condition", v.body_condition)
            .with("signed_at", &signed)
            .with("signed_by", past.clinician_id)
            .with("signed_hash", &hash);
        if let Some(pms) = &past.pms_id {
            fields.put("pms_id", pms);
        }
        self.record(Action::ImportRecords, Entity::Consultation, id, ChangeKind::Create, fields)?;
        get(self.tx(), id)
    }

    /// Opens the consultation for an appointment (starting it, and moving the appointment to "in
    /// consult", the first time), or starts one for a walk-in patient.
    pub fn start_consultation(&mut self, start: &StartConsultation) -> Result<Consultation> {
        self.authorize(Action::RecordConsultation)?;
        let (patient_id, appointment_id) = match (start.appointment_id, start.patient_id) {
            (Some(appointment_id), _) => {
                if let Some(existing) = of_appointment(self.tx(), appointment_id)? {
                    return Ok(existing);
                }
                let a = appointment::get(self.tx(), appointment_id)?;
                if !a.status.is_active() {
                    return Err(Error::Conflict(format!(
                        "this appointment is {}; book again or start a walk-in consultation",
                        a.status.label().to_lowercase()
                    )));
                }
                if matches!(a.status, AppointmentStatus::Booked | AppointmentStatus::Arrived) {
                    self.authorize(Action::ChangeAppointment)?;
                    let step =
                        if a.status == AppointmentStatus::Booked { AppointmentStatus::Arrived } else { a.status };
                    if step != a.status {
                        appointment::change_status(self, Action::ChangeAppointment, a.id, step)?;
                    }
                    appointment::change_status(self, Action::ChangeAppointment, a.id, AppointmentStatus::InConsult)?;
                }
                (a.patient_id, Some(a.id))
            }
            (None, Some(patient_id)) => (patient_id, None),
            (None, None) => return Err(Error::invalid("patient_id", "choose the appointment or the patient")),
        };
        let patient = patient::get(self.tx(), patient_id)?;
        if patient.deceased_on.is_some() && appointment_id.is_none() {
            return Err(Error::invalid("patient_id", format!("{} is recorded as deceased", patient.name)));
        }
        let premises = practice::this_premises(self.tx())?;
        let id = self.new_id();
        let now = time::stored(self.now());
        self.tx().execute(
            "INSERT INTO consultation (id, patient_id, appointment_id, clinician_id, premises_id, started_at, created_at, updated_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?6, ?6)",
            params![
                id.to_string(),
                patient_id.to_string(),
                appointment_id.map(|a| a.to_string()),
                self.actor().id.to_string(),
                premises.id.to_string(),
                now
            ],
        )?;
        let fields = Fields::new()
            .with("patient_id", patient_id)
            .with("appointment_id", appointment_id)
            .with("clinician_id", self.actor().id)
            .with("premises_id", premises.id)
            .with("started_at", &now);
        self.record(Action::RecordConsultation, Entity::Consultation, id, ChangeKind::Create, fields)?;
        get(self.tx(), id)
    }

    /// Saves what has been typed so far; only what changed is written and journaled.
    pub fn save_consultation_draft(&mut self, id: Uuid, draft: &ConsultationDraft) -> Result<DraftSaved> {
        self.authorize(Action::RecordConsultation)?;
        let current = own_draft(self, id)?;
        let valid = validated(self.tx(), current.patient_id, draft)?;
        let stored_now = vitals::stored(&current.vitals);
        let mut fields = Fields::new();
        let old = [&current.subjective, &current.objective, &current.assessment, &current.plan];
        for ((name, new), old) in SECTIONS.iter().zip(&valid.sections).zip(old) {
            if new != old {
                fields.put(name, new);
            }
        }
        let v = valid.vitals;
        for (name, new, old) in [
            ("weight_g", v.weight_g, stored_now.weight_g),
            ("temperature_dc", v.temperature_dc, stored_now.temperature_dc),
            ("heart_rate", v.heart_rate, stored_now.heart_rate),
            ("respiratory_rate", v.respiratory_rate, stored_now.respiratory_rate),
            ("body_condition", v.body_condition, stored_now.body_condition),
        ] {
            if new != old {
                fields.put(name, new);
            }
        }
        if fields.is_empty() {
            return Err(Error::invalid("draft", "changes nothing"));
        }
        let [s, o, a, p] = &valid.sections;
        self.tx().execute(
            "UPDATE consultation SET subjective = ?2, objective = ?3, assessment = ?4, plan = ?5, weight_g = ?6,
             temperature_dc = ?7, heart_rate = ?8, respiratory_rate = ?9, body_condition = ?10, updated_at = ?11 WHERE id = ?1",
            params![id.to_string(), s, o, a, p, v.weight_g, v.temperature_dc, v.heart_rate, v.respiratory_rate, v.body_condition, time::stored(self.now())],
        )?;
        self.record(Action::RecordConsultation, Entity::Consultation, id, ChangeKind::Update, fields)?;
        Ok(DraftSaved { consultation: get(self.tx(), id)?, warnings: valid.warnings })
    }

    /// Signs the consultation, which makes it final. `confirmed` carries the clinician's re-entered
    /// password (see `Store::confirm_password`); vitals that are unusual for the species must be
    /// confirmed with `confirm_unusual_vitals`. Finishes the appointment it belongs to.
    pub fn sign_consultation(
        &mut self,
        id: Uuid,
        confirmed: &Reauthenticated,
        confirm_unusual_vitals: bool,
    ) -> Result<Consultation> {
        self.authorize(Action::RecordConsultation)?;
        if confirmed.staff_id() != self.actor().id {
            return Err(Error::Forbidden("only the person who re-entered their password may sign".into()));
        }
        let current = own_draft(self, id)?;
        if [&current.subjective, &current.objective, &current.assessment, &current.plan].iter().all(|s| s.is_empty()) {
            return Err(Error::invalid("subjective", "write the consultation before signing it"));
        }
        let patient = patient::get(self.tx(), current.patient_id)?;
        let (v, warnings) = vitals::check(patient.species, &patient.species_label(), &current.vitals)?;
        if !warnings.is_empty() && !confirm_unusual_vitals {
            let list = warnings.iter().map(|w| w.message.clone()).collect::<Vec<_>>().join("; ");
            return Err(Error::NeedsConfirmation(format!("{list}. Sign with these values?")));
        }
        let signed_at = time::stored(self.now());
        let started_at = time::stored(current.started_at);
        let hash = signed_hash(&Signed {
            id,
            patient_id: current.patient_id,
            clinician_id: current.clinician_id,
            started_at: &started_at,
            subjective: &current.subjective,
            objective: &current.objective,
            assessment: &current.assessment,
            plan: &current.plan,
            weight_g: v.weight_g,
            temperature_dc: v.temperature_dc,
            heart_rate: v.heart_rate,
            respiratory_rate: v.respiratory_rate,
            body_condition: v.body_condition,
            signed_at: &signed_at,
            signed_by: self.actor().id,
        })?;
        self.tx().execute(
            "UPDATE consultation SET signed_at = ?2, signed_by = ?3, signed_hash = ?4, updated_at = ?2 WHERE id = ?1",
            params![id.to_string(), signed_at, self.actor().id.to_string(), hash],
        )?;
        // The signing carries the content it signed, so that every node ends with exactly that content
        // whatever order the drafts and the signature reach it in.
        let fields = Fields::new()
            .with("subjective", &current.subjective)
            .with("objective", &current.objective)
            .with("assessment", &current.assessment)
            .with("plan", &current.plan)
            .with("weight_g", v.weight_g)
            .with("temperature_dc", v.temperature_dc)
            .with("heart_rate", v.heart_rate)
            .with("respiratory_rate", v.respiratory_rate)
            .with("body_condition", v.body_condition)
            .with("signed_at", &signed_at)
            .with("signed_by", self.actor().id)
            .with("signed_hash", &hash);
        self.record(Action::RecordConsultation, Entity::Consultation, id, ChangeKind::Update, fields)?;
        if let Some(appointment_id) = current.appointment_id {
            let a = appointment::get(self.tx(), appointment_id)?;
            if a.status == AppointmentStatus::InConsult {
                self.authorize(Action::ChangeAppointment)?;
                appointment::change_status(self, Action::ChangeAppointment, appointment_id, AppointmentStatus::Done)?;
            }
        }
        get(self.tx(), id)
    }

    /// Adds a correction or later note to a signed consultation.
    pub fn add_addendum(&mut self, consultation_id: Uuid, new: &NewAddendum) -> Result<Addendum> {
        self.authorize(Action::RecordConsultation)?;
        let consultation = get(self.tx(), consultation_id)?;
        if !consultation.is_signed() {
            return Err(Error::Conflict(
                "this consultation is still a draft: change the draft itself; addenda are for signed records".into(),
            ));
        }
        let reason = validate::required("reason", &new.reason, 200)?;
        let text = validate::required("text", &new.text, MAX_SECTION)
            .and_then(|t| validate::optional_multiline("text", &t, MAX_SECTION))?;
        let id = self.new_id();
        let at = time::stored(self.now());
        self.tx().execute(
            "INSERT INTO addendum (id, consultation_id, author_id, written_at, reason, text) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![id.to_string(), consultation_id.to_string(), self.actor().id.to_string(), at, reason, text],
        )?;
        let fields = Fields::new()
            .with("consultation_id", consultation_id)
            .with("author_id", self.actor().id)
            .with("written_at", &at)
            .with("reason", &reason)
            .with("text", &text);
        self.record(Action::RecordConsultation, Entity::Addendum, id, ChangeKind::Create, fields)?;
        addenda_of(self.tx(), consultation_id)?
            .into_iter()
            .find(|a| a.id == id)
            .ok_or_else(|| Error::Internal("the addendum just written was not found".into()))
    }
}

impl Store {
    /// Opens the appointment's consultation if it has one, or starts one.
    pub fn start_consultation(&self, session: &Session, start: &StartConsultation) -> Result<Consultation> {
        if let Some(appointment) = start.appointment_id {
            let existing = self.read_as(session, Action::RecordConsultation, |r| of_appointment(r, appointment))?;
            if let Some(existing) = existing {
                return Ok(existing);
            }
        }
        self.write(session, |w| w.start_consultation(start))
    }

    /// Saves a draft as it is typed. Saving what is already saved writes nothing.
    pub fn save_consultation_draft(
        &self,
        session: &Session,
        id: Uuid,
        draft: &ConsultationDraft,
    ) -> Result<DraftSaved> {
        let unchanged = self.read_as(session, Action::RecordConsultation, |r| {
            let current = get(r, id)?;
            let valid = validated(r, current.patient_id, draft)?;
            let same = [&current.subjective, &current.objective, &current.assessment, &current.plan]
                .iter()
                .zip(&valid.sections)
                .all(|(a, b)| *a == b)
                && vitals::stored(&current.vitals) == valid.vitals;
            Ok(same.then_some(DraftSaved { consultation: current, warnings: valid.warnings }))
        })?;
        match unchanged {
            Some(saved) if !saved.consultation.is_signed() && saved.consultation.clinician_id == session.staff_id => {
                Ok(saved)
            }
            _ => self.write(session, |w| w.save_consultation_draft(id, draft)),
        }
    }

    /// Signs a consultation after checking the clinician's password (outside the write lock: the
    /// check is slow on purpose).
    pub fn sign_consultation(
        &self,
        session: &Session,
        id: Uuid,
        password: &str,
        confirm_unusual_vitals: bool,
    ) -> Result<Consultation> {
        // Permission before the password: someone who may not sign learns nothing from trying.
        self.require(session, Action::RecordConsultation)?;
        let confirmed = self.confirm_password(session, password)?;
        self.write(session, |w| w.sign_consultation(id, &confirmed, confirm_unusual_vitals))
    }

    pub fn add_addendum(&self, session: &Session, consultation_id: Uuid, new: &NewAddendum) -> Result<Addendum> {
        self.write(session, |w| w.add_addendum(consultation_id, new))
    }

    pub fn consultation(&self, session: &Session, id: Uuid) -> Result<Consultation> {
        self.read_as(session, Action::ViewClinical, |r| get(r, id))
    }
}
