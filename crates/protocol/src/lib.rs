//! Lifeboat's sync protocol, shared by the desktop app, the practice relay and the central hub:
//!
//! - `change`: a change as it travels between nodes, and its content hash;
//! - `bundle` (feature `bundle`): bundle files, signed and encrypted;
//! - `id`: id fields that take only the hyphenated form, as the OpenAPI description says;
//! - `canonical`: the canonical encoding that the content hash covers;
//! - `pairing`: the code a device types to join a server;
//! - `whole`: integer fields that also read `324.0`, as JSON Schema allows;
//! - `wire`: the versioned messages of the HTTP API (hello, push, pull, verify, audit receipts,
//!   enrolment, hand-over) and of bundle files.
//!
//! Every message is JSON. A change in the encoding of anything here is a new protocol version: the
//! golden files in `tests/golden` freeze the current one.

#[cfg(feature = "bundle")]
pub mod bundle;
pub mod canonical;
pub mod change;
pub mod id;
pub mod pairing;
pub mod whole;
pub mod wire;

pub use change::{Change, SECRET_FIELDS};
pub use wire::*;
