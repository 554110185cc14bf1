//! Lifeboat's core: the domain types and rules of a veterinary practice, and the `Store` that keeps
//! them in an SQLCipher-encrypted SQLite file.
//!
//! The core depends on no shell (no Tauri, no CLI parser, no HTTP) and does no networking. It never
//! reads the wall clock or the environment by itself: shells hand it a `Clock` and the paths of its
//! files.
//!
//! Start reading at `store.rs` (opening a database), then `write.rs`: every change to practice data
//! goes through `Store::write`, which checks permission, runs the change, and appends the journal and
//! audit entries in one transaction.

pub mod appointment;
pub mod audit;
pub mod client;
pub mod clock;
pub mod doctor;
pub mod error;
pub mod example;
pub mod hlc;
pub mod journal;
mod keyfile;
pub mod migrations;
pub mod patient;
pub mod permission;
pub mod practice;
pub mod search;
pub mod session;
pub mod staff;
pub mod store;
pub mod sync_status;
pub mod time;
pub mod validate;
pub mod write;

pub use appointment::{
    Appointment, AppointmentKind, AppointmentMove, AppointmentStatus, DayBook, NewAppointment, WorkingDay,
};
pub use client::{Client, NewClient};
pub use clock::{Clock, ManualClock, SystemClock};
pub use error::{Error, Result};
pub use patient::{NewPatient, Patient, Sex, Species};
pub use permission::{Action, Role};
pub use practice::{NewPremises, Practice, PracticeSetup, Premises};
pub use session::Session;
pub use staff::{NewStaff, Staff, StaffUpdate};
pub use store::{Store, StoreConfig};
