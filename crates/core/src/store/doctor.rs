//! Health checks for a database: SQLite's and SQLCipher's integrity checks, foreign keys, the search
//! index against a rebuild, the audit chain, and the versions in play. Reports only counts and versions, never practice data.

use serde::{Deserialize, Serialize};

use crate::error::Result;
use crate::store::audit::{self, AuditReport};
use crate::store::database::Store;
use crate::store::migrations::{self, SCHEMA_VERSION};
use crate::store::search_index;

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct DoctorReport {
    pub lifeboat_version: String,
    pub sqlite_version: String,
    pub sqlcipher_version: String,
    pub schema_version: u32,
    pub supported_schema_version: u32,
    /// "ok", or the problems SQLite's integrity check found.
    pub integrity: Vec<String>,
    /// Pages whose encryption checksum (HMAC) does not match.
    pub cipher_problems: Vec<String>,
    pub foreign_key_violations: u64,
    /// Rows of the search index that differ from what a rebuild would make (0 when it is right). Not
    /// damage: the index is derived, and `Store::rebuild_search_index` makes it again.
    #[serde(default)]
    pub search_index_differences: u64,
    pub audit: AuditReport,
}

impl DoctorReport {
    pub fn is_healthy(&self) -> bool {
        self.integrity == ["ok"]
            && self.cipher_problems.is_empty()
            && self.foreign_key_violations == 0
            && self.audit.is_intact()
    }
}

impl Store {
    pub fn doctor(&self) -> Result<DoctorReport> {
        let own = self.own_nodes()?;
        self.read(|conn| {
            let column = |sql: &str| -> Result<Vec<String>> {
                let mut stmt = conn.prepare(sql)?;
                let rows = stmt.query_map([], |r| r.get::<_, String>(0))?.collect::<rusqlite::Result<Vec<_>>>()?;
                Ok(rows)
            };
            let foreign_key_violations = {
                let mut stmt = conn.prepare("PRAGMA foreign_key_check")?;
                let mut rows = stmt.query([])?;
                let mut n = 0;
                while rows.next()?.is_some() {
                    n += 1;
                }
                n
            };
            Ok(DoctorReport {
                lifeboat_version: env!("CARGO_PKG_VERSION").to_string(),
                sqlite_version: rusqlite::version().to_string(),
                sqlcipher_version: conn.query_row("PRAGMA cipher_version", [], |r| r.get(0))?,
                schema_version: migrations::schema_version(conn)?,
                supported_schema_version: SCHEMA_VERSION,
                integrity: column("PRAGMA integrity_check")?,
                cipher_problems: column("PRAGMA cipher_integrity_check")?,
                foreign_key_violations,
                search_index_differences: search_index::differences(conn)?,
                audit: audit::verify(conn, &own, None)?,
            })
        })
    }

    /// Walks the audit chain and reports the first broken entry.
    /// Checks the audit chain, the journal against it, and the latest receipt from the hub.
    pub fn verify_audit(&self) -> Result<AuditReport> {
        let own = self.own_nodes()?;
        self.read(|r| audit::verify(r, &own, None))
    }

    /// Builds the search index again from the records (derived data: nothing journaled or audited,
    /// as when a write rewrites a client's rows), under the write lock.
    pub fn rebuild_search_index(&self) -> Result<()> {
        let mut conn = self.lock_writer();
        let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        search_index::rebuild(&tx)?;
        tx.commit()?;
        Ok(())
    }
}
