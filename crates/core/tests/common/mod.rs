#![allow(dead_code)]

use std::sync::Arc;

use chrono::{TimeZone, Utc};
use lifeboat_core::{example, ManualClock, Role, Session, Store, StoreConfig};
use tempfile::TempDir;

pub const PASSWORD: &str = "correct horse battery";

pub fn clock() -> Arc<ManualClock> {
    Arc::new(ManualClock::new(Utc.with_ymd_and_hms(2026, 3, 29, 8, 30, 0).unwrap()))
}

/// A new database in a temporary folder.
pub fn store() -> (TempDir, Store) {
    let dir = TempDir::new().unwrap();
    let store = Store::open(StoreConfig::in_dir(dir.path()), clock()).unwrap();
    (dir, store)
}

/// A new database with a practice; returns the admin's session.
pub fn practice() -> (TempDir, Store, Session) {
    let (dir, store) = store();
    let admin = store.create_practice(&example::practice_setup("admin", PASSWORD)).unwrap();
    (dir, store, admin)
}

/// Adds an account with `role` and logs it in.
pub fn login_as(store: &Store, admin: &Session, username: &str, role: Role) -> Session {
    store.add_staff(admin, &example::staff(username, role, PASSWORD)).unwrap();
    store.login(username, PASSWORD).unwrap()
}

pub fn reopen(dir: &TempDir) -> lifeboat_core::Result<Store> {
    Store::open(StoreConfig::in_dir(dir.path()), clock())
}

pub fn count(store: &Store, table: &str) -> i64 {
    store.read(|c| Ok(c.query_row(&format!("SELECT count(*) FROM {table}"), [], |r| r.get(0))?)).unwrap()
}

/// A connection opened behind Lifeboat's back with the key from the key file, as someone with access
/// to the PC could do, for tests that tamper with the data.
pub fn raw_connection(dir: &TempDir) -> rusqlite::Connection {
    let key: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join(StoreConfig::KEY_FILE)).unwrap()).unwrap();
    let conn = rusqlite::Connection::open(dir.path().join(StoreConfig::DATABASE_FILE)).unwrap();
    let pragma = format!("x'{}{}'", key["key"].as_str().unwrap(), key["salt"].as_str().unwrap());
    conn.pragma_update(None, "key", pragma).unwrap();
    conn
}
