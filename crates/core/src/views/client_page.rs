//! Everything the client page shows.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::error::Result;
use crate::organisation::numbers::{self, NumberKind};
use crate::permission::Action;
use crate::reception::appointment::{self, Appointment};
use crate::reception::client::{self, Client};
use crate::reception::patient::{self, Patient};
use crate::session::Session;
use crate::store::database::Store;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct ClientRecord {
    pub client: Client,
    pub patients: Vec<Patient>,
    /// Newest first.
    pub appointments: Vec<Appointment>,
    /// Lifeboat's number for the client ("C-1001"), if it was registered on a PC with a block.
    pub number: Option<String>,
}

impl Store {
    pub fn client_record(&self, session: &Session, id: Uuid) -> Result<ClientRecord> {
        self.read_as(session, Action::ViewRecords, |r| {
            Ok(ClientRecord {
                client: client::get(r, id)?,
                patients: patient::of_client(r, id)?,
                appointments: appointment::of_client(r, id)?,
                number: numbers::of(r, NumberKind::Client, id)?,
            })
        })
    }
}
