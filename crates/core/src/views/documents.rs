//! What the printed documents need, read in one snapshot, for one animal only. A written
//! prescription shows the people and places as they were when it was issued (the prescription keeps
//! them); a label shows the premises the medicine was supplied from.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::clinical::prescription::{self, Dispensing, Prescription};
use crate::error::{Error, Result};
use crate::organisation::numbers::{self, NumberKind};
use crate::organisation::practice;
use crate::permission::Action;
use crate::session::Session;
use crate::store::database::Store;

/// Who supplied a medicine: the practice and the premises it was dispensed at.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Supplier {
    pub practice_name: String,
    pub premises_name: String,
    pub address: String,
    pub phone: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PrescriptionDocument {
    /// With `issued_as`: everyone and everything on it, as it was issued.
    pub prescription: Prescription,
    /// For a label: the supply it goes on, and who supplied it.
    pub dispensing: Option<(Dispensing, Supplier)>,
    /// Lifeboat's number for the animal ("A-52"), if it has one.
    pub animal_number: Option<String>,
}

impl Store {
    /// The written prescription's content, or a dispensing label's when `dispensing` is given.
    pub fn prescription_document(
        &self,
        session: &Session,
        prescription_id: Uuid,
        dispensing: Option<Uuid>,
    ) -> Result<PrescriptionDocument> {
        self.read_as(session, Action::ViewClinical, |r| {
            let prescription = prescription::get(r, prescription_id)?;
            let dispensing = match dispensing {
                Some(id) => {
                    let d = prescription
                        .dispensings
                        .iter()
                        .find(|d| d.id == id)
                        .cloned()
                        .ok_or_else(|| Error::NotFound(format!("dispensing {id} of this prescription")))?;
                    let premises = practice::premises_by_id(r, d.premises_id)?;
                    let practice = practice::practice(r)?.ok_or_else(|| Error::NotFound("the practice".into()))?;
                    let supplier = Supplier {
                        practice_name: practice.name,
                        premises_name: premises.name.clone(),
                        address: premises.address(),
                        phone: premises.phone.clone(),
                    };
                    Some((d, supplier))
                }
                None => None,
            };
            let animal_number = numbers::of(r, NumberKind::Animal, prescription.patient_id)?;
            Ok(PrescriptionDocument { prescription, dispensing, animal_number })
        })
    }
}
