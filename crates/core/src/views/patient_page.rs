//! Everything the patient page shows.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::error::Result;
use crate::organisation::numbers::{self, NumberKind};
use crate::permission::Action;
use crate::reception::appointment::{self, Appointment};
use crate::reception::client::Client;
use crate::reception::patient::{self, Patient};
use crate::session::Session;
use crate::store::database::Store;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct PatientRecord {
    pub patient: Patient,
    pub owners: Vec<Client>,
    /// Newest first.
    pub appointments: Vec<Appointment>,
    /// Lifeboat's number for the animal ("A-52"), if it was registered on a PC with a block.
    pub number: Option<String>,
}

impl Store {
    pub fn patient_record(&self, session: &Session, id: Uuid) -> Result<PatientRecord> {
        self.read_as(session, Action::ViewRecords, |r| {
            let patient = patient::get(r, id)?;
            let owners = patient::owner_clients(r, &patient)?;
            let number = numbers::of(r, NumberKind::Animal, id)?;
            Ok(PatientRecord { owners, appointments: appointment::of_patient(r, id)?, patient, number })
        })
    }
}
