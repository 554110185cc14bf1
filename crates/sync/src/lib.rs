//! Lifeboat's sync engine, the client side of `lifeboat_protocol`: the HTTP client pinned to the
//! server's certificate (`client`), one sync and background sync (`engine`), bundle files for when
//! there is no network (`bundle`), and hand-overs to another practice of the group (`handover`).
//! What received changes do to the records is `lifeboat_core::replica`'s business.

pub mod bundle;
pub mod client;
pub mod engine;
pub mod error;
pub mod handover;
