//! Reception: clients, patients and who owns them, appointments, clinicians' hours, and the search
//! index. Entity modules only: what screens show is assembled in `views`.

pub mod appointment;
pub mod client;
pub mod duplicates;
pub mod hours;
pub mod origin;
pub mod patient;
pub(crate) mod search_index;
