//! Numbered SQL migrations, embedded in the binary and tracked by `PRAGMA user_version`. All pending
//! migrations are applied in one transaction. A shipped migration is never edited: each one is
//! pinned by the SHA-256 of its text, and a test fails if a file no longer matches its pin.

use rusqlite::Connection;

use crate::error::{Error, Result};
use crate::store::clocks;

/// One migration: its file name, its SQL, and the SHA-256 (hex) of that SQL as shipped.
pub struct Migration {
    pub name: &'static str,
    pub sql: &'static str,
    pub sha256: &'static str,
}

/// Migration N (1-based) is `MIGRATIONS[N - 1]`.
pub const MIGRATIONS: &[Migration] = &[
    Migration {
        name: "0001_foundation.sql",
        sql: include_str!("../../migrations/0001_foundation.sql"),
        sha256: "a74e0a0f8208a174c01219ca3e5ffee42fcaf5914d66bfedb3b0bd46fb9b9b86",
    },
    Migration {
        name: "0002_reception.sql",
        sql: include_str!("../../migrations/0002_reception.sql"),
        sha256: "e1e1dc8436df4185c7d55e93b9b4eb730483112ed1aa9381900e1cd491acdfed",
    },
    Migration {
        name: "0003_one_time_format.sql",
        sql: include_str!("../../migrations/0003_one_time_format.sql"),
        sha256: "b576f313d039491d6df93f89801a4c7de9903fac670a0742aa5d565bce0150d3",
    },
    Migration {
        name: "0004_clinical.sql",
        sql: include_str!("../../migrations/0004_clinical.sql"),
        sha256: "aab72219138dfd8310a773efb3c898be3758236a5f634abd892873136e5d18bc",
    },
    Migration {
        name: "0005_sync.sql",
        sql: include_str!("../../migrations/0005_sync.sql"),
        sha256: "469a7000a9b2a3429ba7cb2649636e2fdd9a9820ba380302542572287c4525c4",
    },
    Migration {
        name: "0006_origin.sql",
        sql: include_str!("../../migrations/0006_origin.sql"),
        sha256: "5244c7b1fbfcc8302dce4412abbd4ae88755c19f55c25bae74f32a8ba9b9eae9",
    },
    Migration {
        name: "0007_ledger.sql",
        sql: include_str!("../../migrations/0007_ledger.sql"),
        sha256: "f0c1e6e78928706777291741953bfa3c13e7f81d3490c0019fd270eb161e8c2b",
    },
    Migration {
        name: "0008_duplicates.sql",
        sql: include_str!("../../migrations/0008_duplicates.sql"),
        sha256: "dba0ef74859e9e260e4866b9089c46201aaa6802c410ca8b4c9ad5ca05d1d1fc",
    },
    Migration {
        name: "0009_closing.sql",
        sql: include_str!("../../migrations/0009_closing.sql"),
        sha256: "ee0600fbdc085870f192caa4c5b20696fcc544e699db01bb8b2c2ef3bb54d129",
    },
    Migration {
        name: "0010_lab.sql",
        sql: include_str!("../../migrations/0010_lab.sql"),
        sha256: "114fc55750cab3971879d20615969378874dbf6a6bc62f68fe4fef9d81209967",
    },
    Migration {
        name: "0011_continuity.sql",
        sql: include_str!("../../migrations/0011_continuity.sql"),
        sha256: "4fbe131431b9b1eefa456f2407ee82d0eee84b3b77fc87284e70d2fba206bbef",
    },
    Migration {
        name: "0012_payments.sql",
        sql: include_str!("../../migrations/0012_payments.sql"),
        sha256: "eb3a1bcaa6139bf751deec41b2ab18935d83e31c4e97d416089e76716683139d",
    },
    Migration {
        name: "0013_numbers.sql",
        sql: include_str!("../../migrations/0013_numbers.sql"),
        sha256: "1cb16ef76c6250bce575e3d37f3d21c4cc36e55e8e9b15e38cdabaeafa73834f",
    },
    Migration {
        name: "0014_drill.sql",
        sql: include_str!("../../migrations/0014_drill.sql"),
        sha256: "88031572d31ec89fc57ffd58a2143a5d909590f84082822b1a56cf140153fed9",
    },
    Migration {
        name: "0015_password_change.sql",
        sql: include_str!("../../migrations/0015_password_change.sql"),
        sha256: "bbc1be61d71ce7d9c5317b878cce7c2fbe4e738be0605dc9c7eafd922aab5563",
    },
    Migration {
        name: "0016_search_terms.sql",
        sql: include_str!("../../migrations/0016_search_terms.sql"),
        sha256: "6b087d44da2de7aabcfe99eda940f6415fc241c20716e0e70c47a06ffe6f7e0c",
    },
    Migration {
        name: "0017_card_indexes.sql",
        sql: include_str!("../../migrations/0017_card_indexes.sql"),
        sha256: "45b01574625c13bc220156d8265b5ef2e154ef419c200c08745c7376d93c7f88",
    },
    Migration {
        name: "0018_search_pending.sql",
        sql: include_str!("../../migrations/0018_search_pending.sql"),
        sha256: "fe5d49491a53adf636f69dfdc70d5d9134cdcf178c8258b2b3ec9e7cf50d7947",
    },
    Migration {
        name: "0019_field_clock_groups.sql",
        sql: include_str!("../../migrations/0019_field_clock_groups.sql"),
        sha256: "a6428751d5c6f075ecaf521a1e9e8304edc6f3dce66bcf9655849b5be3810b12",
    },
];

/// The schema version this build writes.
pub const SCHEMA_VERSION: u32 = MIGRATIONS.len() as u32;

pub fn schema_version(conn: &Connection) -> Result<u32> {
    Ok(conn.query_row("PRAGMA user_version", [], |r| r.get(0))?)
}

/// Steps in Rust around a migration's SQL (in its transaction), by number: work the SQL alone does
/// too slowly or in too much memory on a large practice. Shipped SQL is never edited, so a step
/// prepares the data for it (see `clocks::before_migration_19`).
fn before(conn: &Connection, number: u32) -> Result<()> {
    match number {
        19 => clocks::before_migration_19(conn),
        _ => Ok(()),
    }
}

fn after(conn: &Connection, number: u32) -> Result<()> {
    match number {
        19 => clocks::after_migration_19(conn),
        _ => Ok(()),
    }
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
    for (number, migration) in (1..).zip(MIGRATIONS).take(target as usize).skip(found as usize) {
        // A full disk is said as such (an upgrade writes a copy of what it converts), and a damaged
        // page met on the way as damage (the app then offers the backups).
        let failed = |e: Error| match e {
            Error::DiskFull { .. } => e,
            Error::Storage(ref inner) if crate::error::is_damage(inner) => e,
            e => Error::Internal(format!("migration {} failed: {e}", migration.name)),
        };
        before(&tx, number).map_err(failed)?;
        tx.execute_batch(migration.sql).map_err(|e| failed(e.into()))?;
        after(&tx, number).map_err(failed)?;
    }
    tx.pragma_update(None, "user_version", target)?;
    tx.commit()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use sha2::{Digest, Sha256};

    /// A shipped migration is never edited: its text must still hash to its pin. (A new migration
    /// gets its pin when it ships; this test prints the hash to copy.)
    #[test]
    fn shipped_migrations_are_pinned_by_their_hash() {
        for (i, m) in super::MIGRATIONS.iter().enumerate() {
            assert!(m.name.starts_with(&format!("{:04}_", i + 1)), "{} is migration {}", m.name, i + 1);
            let actual = hex::encode(Sha256::digest(m.sql.as_bytes()));
            assert_eq!(actual, m.sha256, "{} no longer matches its pin: shipped migrations are never edited", m.name);
        }
    }
}
