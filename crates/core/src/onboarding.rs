//! Setting a practice up: the first-run write that creates the practice, its premises and first admin,
//! and gives it the starter formulary, price list and lab tests, all in one transaction.

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::organisation::practice::PracticeSetup;
use crate::session::Session;
use crate::store::database::Store;

impl Store {
    /// Creates the practice with its first premises and admin, the starter list of common UK
    /// veterinary medicines, a starter price list and a starter list of lab tests, and returns the admin's session. Refused if the
    /// database already holds a practice.
    pub fn create_practice(&self, setup: &PracticeSetup) -> Result<Session> {
        self.create_practice_then(setup, |w| {
            w.add_starter_formulary()?;
            w.add_starter_fees()?;
            w.add_starter_lab_tests()?;
            Ok(())
        })
    }
}

/// What adding the starter lists added.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct StarterLists {
    pub products: u32,
    pub fees: u32,
    pub lab_tests: u32,
}

impl Store {
    /// Adds whatever of the starter formulary and price list the practice does not have yet (a
    /// practice set up before they existed has neither). Managers and admins.
    pub fn add_starter_lists(&self, session: &Session) -> Result<StarterLists> {
        self.write(session, |w| {
            let products = w.add_starter_formulary()? as u32;
            let fees = w.add_starter_fees()? as u32;
            let lab_tests = w.add_starter_lab_tests()? as u32;
            if products + fees + lab_tests == 0 {
                return Err(Error::Conflict(
                    "the practice already has every product, fee and lab test of the starter lists".into(),
                ));
            }
            Ok(StarterLists { products, fees, lab_tests })
        })
    }
}
