//! Lifeboat's sync server, in two forms with one API (`lifeboat_protocol::wire`):
//!
//! - the **central hub** of a group of practices, on PostgreSQL, run by the group's IT
//!   (`lifeboat-hub serve`);
//! - the **practice relay**, on an embedded SQLite file, run inside the desktop app of the PC that
//!   hosts it (no set-up).
//!
//! The server stores each change once, numbers each practice's changes in one sequence under a lock,
//! serves them in pages, compares daily summaries, signs receipts for devices' audit chains, and
//! carries hand-overs between practices. It never applies changes to records: that is the devices'
//! work (`lifeboat_core::replica`). Modules: `store` (the two stores), `api` (HTTP handlers, credentials,
//! limits, OpenAPI), `tls` (certificates), `server` (running it).

pub mod api;
pub mod bundle;
pub mod error;
#[cfg(feature = "postgres")]
pub mod pg_cluster;
pub mod server;
pub mod store;
pub mod tls;
