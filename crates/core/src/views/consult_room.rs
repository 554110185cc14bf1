//! The consult room's screens: a clinician's consults for a day, and one consultation with everything
//! around it (the animal and its owners, addenda, prescriptions and what was dispensed, charges, lab
//! requests and their results).

use chrono::NaiveDate;
use rusqlite::Connection;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::clinical::charge::{self, Charge, Fee};
use crate::clinical::consultation::{self, Addendum, Consultation};
use crate::clinical::lab::{self, LabRequest, LabTest};
use crate::clinical::prescription::{self, Prescription};
use crate::clinical::vitals::{self, VitalWarning};
use crate::error::Result;
use crate::permission::Action;
use crate::reception::appointment::{self, Appointment};
use crate::reception::client::Client;
use crate::reception::patient::{self, Patient};
use crate::session::Session;
use crate::store::database::Store;
use crate::time;

/// Where a consult stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum ConsultState {
    NotStarted,
    Draft,
    Signed,
    Void,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct ConsultRow {
    pub appointment: Appointment,
    pub consultation_id: Option<Uuid>,
    pub state: ConsultState,
}

/// A clinician's day: their appointments in time order, with where each consultation stands, and
/// drafts left open from other days or walk-ins.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct MyConsults {
    pub date: NaiveDate,
    pub rows: Vec<ConsultRow>,
    pub open_drafts: Vec<OpenDraft>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct OpenDraft {
    pub consultation_id: Uuid,
    pub patient_id: Uuid,
    pub patient_name: String,
    pub started_at: chrono::DateTime<chrono::Utc>,
}

fn state(c: &Consultation) -> ConsultState {
    match (c.void_reason.is_some(), c.is_signed()) {
        (true, _) => ConsultState::Void,
        (false, true) => ConsultState::Signed,
        (false, false) => ConsultState::Draft,
    }
}

fn my_consults(conn: &Connection, clinician: Uuid, date: NaiveDate) -> Result<MyConsults> {
    let (start, end) = time::day_bounds("date", date)?;
    let mut rows = Vec::new();
    for a in appointment::of_day(conn, start, end)? {
        if a.clinician_id != clinician || !a.status.is_active() {
            continue;
        }
        let c = consultation::of_appointment(conn, a.id)?;
        rows.push(ConsultRow {
            consultation_id: c.as_ref().map(|c| c.id),
            state: c.as_ref().map(state).unwrap_or(ConsultState::NotStarted),
            appointment: a,
        });
    }
    let in_rows: Vec<Uuid> = rows.iter().filter_map(|r| r.consultation_id).collect();
    let mut open_drafts = Vec::new();
    for c in consultation::open_drafts_of(conn, clinician)? {
        if !in_rows.contains(&c.id) {
            open_drafts.push(OpenDraft {
                consultation_id: c.id,
                patient_name: patient::get(conn, c.patient_id)?.name,
                patient_id: c.patient_id,
                started_at: c.started_at,
            });
        }
    }
    Ok(MyConsults { date, rows, open_drafts })
}

/// One consultation as the consult room shows it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct ConsultationView {
    pub consultation: Consultation,
    pub state: ConsultState,
    pub signed_by_name: Option<String>,
    pub appointment: Option<Appointment>,
    pub patient: Patient,
    pub owners: Vec<Client>,
    pub addenda: Vec<Addendum>,
    pub prescriptions: Vec<Prescription>,
    pub charges: Vec<Charge>,
    /// Vitals that are possible but unusual for the species.
    pub warnings: Vec<VitalWarning>,
    /// The practice's price list, for adding charges.
    pub fees: Vec<Fee>,
    /// Tests requested in this consultation, with their results.
    pub lab_requests: Vec<LabRequest>,
    /// The practice's tests, for requesting more.
    pub lab_tests: Vec<LabTest>,
}

fn consultation_view(conn: &Connection, id: Uuid) -> Result<ConsultationView> {
    let c = consultation::get(conn, id)?;
    let patient = patient::get(conn, c.patient_id)?;
    let warnings =
        vitals::check(patient.species, &patient.species_label(), &c.vitals).map(|(_, w)| w).unwrap_or_default();
    let signed_by_name = match c.signed_by {
        Some(by) => Some(crate::organisation::staff::get(conn, by)?.display_name),
        None => None,
    };
    Ok(ConsultationView {
        state: state(&c),
        signed_by_name,
        appointment: c.appointment_id.map(|a| appointment::get(conn, a)).transpose()?,
        owners: patient::owner_clients(conn, &patient)?,
        addenda: consultation::addenda_of(conn, id)?,
        prescriptions: prescription::of_consultation(conn, id)?,
        charges: charge::of_consultation(conn, id)?,
        fees: charge::fees(conn)?,
        lab_requests: lab::of_consultation(conn, id)?,
        lab_tests: lab::tests(conn, false)?,
        warnings,
        patient,
        consultation: c,
    })
}

impl Store {
    /// The logged-in clinician's consults on a London date.
    pub fn my_consults(&self, session: &Session, date: NaiveDate) -> Result<MyConsults> {
        self.read_as(session, Action::ViewClinical, |r| my_consults(r, session.staff_id, date))
    }

    pub fn consultation_view(&self, session: &Session, id: Uuid) -> Result<ConsultationView> {
        self.read_as(session, Action::ViewClinical, |r| consultation_view(r, id))
    }
}
