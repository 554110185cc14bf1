//! The store: the encrypted database and everything that guards it. `database` opens it and reads
//! from it, `write` is the one write path, `journal` and `audit` are what every write appends, `hlc`
//! and `clock` give time, `migrations` the schema.

pub mod actor;
pub mod audit;
pub mod backup;
pub mod clock;
pub(crate) mod clocks;
pub mod database;
pub mod doctor;
pub mod folder_lock;
pub mod hlc;
pub mod journal;
pub mod keyfile;
mod keys;
pub mod migrations;
pub(crate) mod row;
pub(crate) mod search_index;
pub mod write;
