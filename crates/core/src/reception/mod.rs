//! Reception: clients, patients and who owns them, appointments and clinicians' hours (the search
//! index they feed is `store::search_index`). Entity modules only: what screens show is assembled in `views`.

pub mod appointment;
pub mod client;
pub mod duplicates;
pub mod hours;
pub mod origin;
pub mod patient;
