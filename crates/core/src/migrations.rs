//! Numbered SQL migrations, embedded in the binary and tracked by `PRAGMA user_version`. All pending
//! migrations are applied in one transaction. A shipped migration is never edited.

use rusqlite::Connection;

use crate::error::{Error, Result};

/// Migration N (1-based) is `MIGRATIONS[N - 1]`.
const MIGRATIONS: &[&str] =
    &[include_str!("../migrations/0001_foundation.sql"), include_str!("../migrations/0002_reception.sql")];

/// The schema version this build writes.
pub const SCHEMA_VERSION: u32 = MIGRATIONS.len() as u32;

pub fn schema_version(conn: &Connection) -> Result<u32> {
    Ok(conn.query_row("PRAGMA user_version", [], |r| r.get(0))?)
}

pub(crate) fn migrate(conn: &mut Connection) -> Result<()> {
    migrate_to(conn, SCHEMA_VERSION)
}

/// Brings the schema up to `target`. Tests use a lower target to build a database as an older
/// Lifeboat would have left it.
pub fn migrate_to(conn: &mut Connection, target: u32) -> Result<()> {
    let found = schema_version(conn)?;
    if found > SCHEMA_VERSION {
        return Err(Error::TooNew { found, supported: SCHEMA_VERSION });
    }
    if found >= target {
        return Ok(());
    }
    let tx = conn.transaction()?;
    for (index, sql) in MIGRATIONS.iter().enumerate().take(target as usize).skip(found as usize) {
        tx.execute_batch(sql).map_err(|e| Error::Internal(format!("migration {} failed: {e}", index + 1)))?;
    }
    tx.pragma_update(None, "user_version", target)?;
    tx.commit()?;
    Ok(())
}
