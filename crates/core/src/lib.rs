//! Lifeboat's core: the domain types and rules of a veterinary practice, and the `Store` that keeps
//! them in an SQLCipher-encrypted SQLite file.
//!
//! The core depends on no shell (no Tauri, no CLI parser, no HTTP) and does no networking. It never
//! reads the wall clock or the environment by itself: shells hand it a `Clock` and the paths of its
//! files.
//!
//! Layers, each depending only on those before it (a test in `architecture.rs` checks this):
//! 1. `error`, `time`, `validate`, `permission`, `session`: plain rules and types;
//! 2. `store`: the database, the write path, journal, audit, clock;
//! 3. `organisation`: the practice, premises and staff;
//! 4. `reception`: clients, patients, appointments, hours, the search index;
//! 5. `clinical`: consultations, prescriptions, the controlled drugs register, charges;
//! 6. `replica`: changes received from other nodes, conflicts, sync peers;
//! 7. `views`: read models for screens; `onboarding`: setting a practice up; `handover`: a patient's
//!    record sent to another practice of the group; `import`: a PMS snapshot read in from CSV files; `export`: records written
//!    out as CSV for back-entry into the PMS; `ledger`: the reconciliation ledger (each record of the
//!    backlog captured, exported, entered in the PMS, verified); `closing`: closing the outage with a
//!    signed final export, and the purge of the copies of PMS records.
//!
//! Start reading at `store/mod.rs` (opening a database and reading), then `store/write.rs`: every
//! change to practice data is an operation on a `Write`, which checks permission, validates, writes
//! its rows, and appends the journal and audit entries, all in one transaction.

pub mod accounts;
pub mod clinical;
pub mod closing;
pub mod drill;
pub mod error;
pub mod example;
pub mod export;
pub mod handover;
pub mod import;
pub mod ledger;
pub mod onboarding;
pub mod organisation;
pub mod permission;
pub mod reception;
pub mod replica;
pub mod session;
pub mod store;
pub mod time;
pub mod validate;
pub mod views;

#[cfg(test)]
mod architecture;

pub use error::{Error, ErrorCode, Result};
pub use organisation::practice::{NewPremises, Practice, PracticeSetup, Premises};
pub use organisation::staff::{NewStaff, Staff, StaffUpdate};
pub use permission::{Action, Role};
pub use reception::appointment::{Appointment, AppointmentKind, AppointmentMove, AppointmentStatus, NewAppointment};
pub use reception::client::{Client, NewClient};
pub use reception::hours::WorkingDay;
pub use reception::patient::{NewPatient, Patient, Registered, Sex, Species};
pub use session::Session;
pub use store::clock::{Clock, ManualClock, SystemClock};
pub use store::database::{Read, Store, StoreConfig};
#[cfg(feature = "os-keyring")]
pub use store::keyfile::OsCredentials;
pub use store::keyfile::{
    use_credential_store, CredentialStore, KeyAccess, KeyProtection, Passphrase, PassphraseSlot, RecoveryKey,
};
pub use store::write::{ChangeKind, Write};
pub use views::day_book::DayBook;
