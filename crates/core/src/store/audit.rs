//! The tamper-evident audit log: a hash chain in which each entry's hash covers its own fields and
//! the previous entry's hash. Entries are appended in the same transaction as the change they record.
//! `verify` walks the chain and reports the first entry that was altered, removed or moved, and
//! checks that every change in the journal has its audit entry (which catches a cut-off tail).
//!
//! The chain shows tampering by anyone who edits rows without recomputing every later hash; it is
//! not a signature. Anchoring chain heads outside the PC (the hub) is the sync issue's job.

use chrono::{DateTime, Utc};
use rusqlite::{params, Connection};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::error::{Error, Result};

const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

pub(crate) struct NewAuditEntry<'a> {
    pub at: DateTime<Utc>,
    pub actor_id: Uuid,
    pub action: &'a str,
    pub entity: &'a str,
    pub entity_id: Uuid,
    pub op_id: Uuid,
}

#[derive(Serialize)]
struct Hashed<'a> {
    seq: i64,
    at: &'a str,
    actor_id: &'a str,
    action: &'a str,
    entity: &'a str,
    entity_id: &'a str,
    op_id: &'a str,
}

fn entry_hash(prev_hash: &str, fields: &Hashed<'_>) -> String {
    let mut hasher = Sha256::new();
    hasher.update(prev_hash.as_bytes());
    hasher.update(b"\n");
    hasher.update(serde_json::to_vec(fields).expect("audit fields serialise"));
    hex::encode(hasher.finalize())
}

pub(crate) fn append(conn: &Connection, entry: &NewAuditEntry<'_>) -> Result<i64> {
    let (seq, prev_hash): (i64, String) = conn.query_row(
        "SELECT coalesce(max(seq), 0) + 1, coalesce((SELECT entry_hash FROM audit ORDER BY seq DESC LIMIT 1), ?1) FROM audit",
        [GENESIS],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )?;
    let at = crate::time::stored(entry.at);
    let (actor_id, entity_id, op_id) =
        (entry.actor_id.to_string(), entry.entity_id.to_string(), entry.op_id.to_string());
    let hash = entry_hash(
        &prev_hash,
        &Hashed {
            seq,
            at: &at,
            actor_id: &actor_id,
            action: entry.action,
            entity: entry.entity,
            entity_id: &entity_id,
            op_id: &op_id,
        },
    );
    conn.execute(
        "INSERT INTO audit (seq, at, actor_id, action, entity, entity_id, op_id, prev_hash, entry_hash)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
        params![seq, at, actor_id, entry.action, entry.entity, entity_id, op_id, prev_hash, hash],
    )?;
    Ok(seq)
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct AuditReport {
    /// Entries checked.
    pub entries: u64,
    /// The first problem found, if any.
    pub first_broken: Option<AuditBreak>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct AuditBreak {
    /// The audit sequence number where the chain breaks.
    pub seq: i64,
    pub reason: String,
}

impl AuditReport {
    pub fn is_intact(&self) -> bool {
        self.first_broken.is_none()
    }
}

/// Walks the whole chain in sequence order.
pub fn verify(conn: &Connection) -> Result<AuditReport> {
    let mut stmt = conn.prepare(
        "SELECT seq, at, actor_id, action, entity, entity_id, op_id, prev_hash, entry_hash FROM audit ORDER BY seq",
    )?;
    let mut rows = stmt.query([])?;
    let mut expected_seq = 1i64;
    let mut prev = GENESIS.to_string();
    let mut entries = 0u64;
    let broken =
        |entries, seq, reason: String| Ok(AuditReport { entries, first_broken: Some(AuditBreak { seq, reason }) });
    while let Some(row) = rows.next()? {
        let seq: i64 = row.get(0)?;
        let texts: Vec<String> = (1..9).map(|i| row.get(i)).collect::<rusqlite::Result<_>>()?;
        let [at, actor_id, action, entity, entity_id, op_id, prev_hash, stored_hash] = &texts[..] else {
            return Err(Error::Internal("audit row shape".into()));
        };
        if seq != expected_seq {
            return broken(entries, expected_seq, format!("entry {expected_seq} is missing: entries were removed"));
        }
        if *prev_hash != prev {
            return broken(
                entries,
                seq,
                format!("entry {seq} does not follow entry {}: entries were removed or reordered", seq - 1),
            );
        }
        let recomputed = entry_hash(prev_hash, &Hashed { seq, at, actor_id, action, entity, entity_id, op_id });
        if recomputed != *stored_hash {
            return broken(entries, seq, format!("entry {seq} has been altered: its content does not match its hash"));
        }
        prev = stored_hash.clone();
        expected_seq += 1;
        entries += 1;
    }
    drop(rows);
    // Every change in the journal has its audit entry; a missing one means the tail was cut off.
    let orphan: Option<(i64, String)> = conn
        .query_row(
            "SELECT j.seq, j.op_id FROM journal j WHERE NOT EXISTS (SELECT 1 FROM audit a WHERE a.op_id = j.op_id) ORDER BY j.seq LIMIT 1",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .map(Some)
        .or_else(|e| if e == rusqlite::Error::QueryReturnedNoRows { Ok(None) } else { Err(e) })?;
    if let Some((_, op_id)) = orphan {
        return broken(
            entries,
            expected_seq,
            format!("the change {op_id} in the journal has no audit entry: entries were removed"),
        );
    }
    Ok(AuditReport { entries, first_broken: None })
}
