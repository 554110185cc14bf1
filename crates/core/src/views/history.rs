//! A patient's clinical history: everything clinical for the animal, newest first (consultations with
//! their addenda and prescriptions, prescriptions written outside a consultation, and lab requests
//! with their results), and its weight over time for the chart. Built in a handful of queries
//! whatever the number of records.

use std::collections::HashMap;

use chrono::{DateTime, NaiveDate, Utc};
use rusqlite::Connection;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::clinical::consultation::{self, Addendum, Consultation};
use crate::clinical::lab::{self, LabRequest};
use crate::clinical::prescription::{self, Prescription};
use crate::error::Result;
use crate::organisation::staff;
use crate::permission::Action;
use crate::reception::client::Client;
use crate::reception::patient::{self, Patient};
use crate::session::Session;
use crate::store::database::Store;
use crate::time;

/// How far back the history goes on screen.
const MOST_RECORDS: u32 = 1000;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum HistoryEntry {
    Consultation {
        at: DateTime<Utc>,
        consultation: Box<Consultation>,
        signed_by_name: Option<String>,
        addenda: Vec<Addendum>,
        prescriptions: Vec<Prescription>,
    },
    Prescription {
        at: DateTime<Utc>,
        prescription: Box<Prescription>,
    },
    /// Tests requested, with their results (placed when the sample was taken).
    Lab {
        at: DateTime<Utc>,
        request: Box<LabRequest>,
    },
}

impl HistoryEntry {
    pub fn at(&self) -> DateTime<Utc> {
        match self {
            HistoryEntry::Consultation { at, .. }
            | HistoryEntry::Prescription { at, .. }
            | HistoryEntry::Lab { at, .. } => *at,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct WeightPoint {
    pub date: NaiveDate,
    pub kg: f64,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct PatientHistory {
    pub patient: Patient,
    pub owners: Vec<Client>,
    /// Newest first.
    pub entries: Vec<HistoryEntry>,
    /// Oldest first; from consultations that are not void.
    pub weights: Vec<WeightPoint>,
}

pub(crate) fn history(conn: &Connection, patient_id: Uuid) -> Result<PatientHistory> {
    let patient = patient::get(conn, patient_id)?;
    let owners = patient::owner_clients(conn, &patient)?;
    let consultations = consultation::of_patient(conn, patient_id, MOST_RECORDS)?;
    let mut addenda: HashMap<Uuid, Vec<Addendum>> = HashMap::new();
    for a in consultation::addenda_of_patient(conn, patient_id)? {
        addenda.entry(a.consultation_id).or_default().push(a);
    }
    let mut by_consultation: HashMap<Uuid, Vec<Prescription>> = HashMap::new();
    let mut entries = Vec::new();
    for p in prescription::of_patient(conn, patient_id, MOST_RECORDS)? {
        match p.consultation_id {
            Some(c) => by_consultation.entry(c).or_default().push(p),
            None => entries.push(HistoryEntry::Prescription { at: p.issued_at, prescription: Box::new(p) }),
        }
    }
    for q in lab::of_patient(conn, patient_id, MOST_RECORDS)? {
        entries.push(HistoryEntry::Lab { at: q.sample_taken_at, request: Box::new(q) });
    }
    let mut names: HashMap<Uuid, String> = HashMap::new();
    let mut weights = Vec::new();
    for c in consultations {
        if let (Some(kg), None) = (c.vitals.weight_kg, &c.void_reason) {
            weights.push(WeightPoint { date: time::local_date(c.started_at), kg });
        }
        let signed_by_name = match c.signed_by {
            Some(by) => Some(match names.get(&by) {
                Some(n) => n.clone(),
                None => {
                    let n = staff::get(conn, by)?.display_name;
                    names.insert(by, n.clone());
                    n
                }
            }),
            None => None,
        };
        let mut prescriptions = by_consultation.remove(&c.id).unwrap_or_default();
        prescriptions.reverse();
        entries.push(HistoryEntry::Consultation {
            at: c.started_at,
            signed_by_name,
            addenda: addenda.remove(&c.id).unwrap_or_default(),
            prescriptions,
            consultation: Box::new(c),
        });
    }
    entries.sort_by_key(|e| std::cmp::Reverse(e.at()));
    weights.reverse();
    Ok(PatientHistory { patient, owners, entries, weights })
}

impl Store {
    pub fn patient_history(&self, session: &Session, patient: Uuid) -> Result<PatientHistory> {
        self.read_as(session, Action::ViewClinical, |r| history(r, patient))
    }
}
