//! Everything the patient page shows.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::error::Result;
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
}

impl Store {
    pub fn patient_record(&self, session: &Session, id: Uuid) -> Result<PatientRecord> {
        self.read_as(session, Action::ViewRecords, |r| {
            let patient = patient::get(r, id)?;
            let owners = patient::owner_clients(r, &patient)?;
            Ok(PatientRecord { owners, appointments: appointment::of_patient(r, id)?, patient })
        })
    }
}
