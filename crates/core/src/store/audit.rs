//! The tamper-evident audit log: a hash chain in which each entry's hash covers its own fields, the
//! content hash of the journal entry it records, and the previous entry's hash. Entries are appended in
//! the same transaction as the change they record. `verify` walks the chain and the journal together
//! and reports the first thing wrong: an entry altered, removed or moved; a journal entry altered,
//! removed, or without its audit entry (a cut-off tail); a gap in a node's numbering; and an audit log
//! shorter than, or different from, what the hub last signed a receipt for.
//!
//! The chain shows tampering by anyone who edits rows without recomputing every later hash; the hub's
//! receipts (`audit_receipt`) catch even a consistent rewrite of what they covered.

use chrono::{DateTime, Utc};
use lifeboat_protocol::Receipt;
use rusqlite::{params, Connection, OptionalExtension};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::error::{Error, Result};
use crate::store::journal;

const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

pub(crate) struct NewAuditEntry<'a> {
    pub at: DateTime<Utc>,
    pub actor_id: Uuid,
    pub action: &'a str,
    pub entity: &'a str,
    pub entity_id: Uuid,
    pub op_id: Uuid,
    /// The content hash of the journal entry this records.
    pub content_hash: &'a str,
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

/// Format 1 (the first release): the previous hash and the fields as serde_json wrote them.
fn entry_hash_v1(prev_hash: &str, fields: &Hashed<'_>) -> String {
    let mut hasher = Sha256::new();
    hasher.update(prev_hash.as_bytes());
    hasher.update(b"\n");
    hasher.update(serde_json::to_vec(fields).unwrap_or_default());
    hex::encode(hasher.finalize())
}

/// Format 2: the previous hash, the fields, and the journal entry's content hash, each as a
/// `name=length:value` line.
fn entry_hash_v2(prev_hash: &str, fields: &Hashed<'_>, content_hash: &str) -> String {
    use std::fmt::Write as _;
    let mut text = String::from("lifeboat-audit-2\n");
    for (name, value) in [
        ("prev", prev_hash),
        ("seq", &fields.seq.to_string()),
        ("at", fields.at),
        ("actor_id", fields.actor_id),
        ("action", fields.action),
        ("entity", fields.entity),
        ("entity_id", fields.entity_id),
        ("op_id", fields.op_id),
        ("content_hash", content_hash),
    ] {
        let _ = writeln!(text, "{name}={}:{value}", value.len());
    }
    hex::encode(Sha256::digest(text.as_bytes()))
}

pub(crate) fn append(conn: &Connection, entry: &NewAuditEntry<'_>) -> Result<i64> {
    let last: Option<(i64, String)> = conn
        .prepare_cached("SELECT seq, entry_hash FROM audit ORDER BY seq DESC LIMIT 1")?
        .query_row([], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()?;
    let (seq, prev_hash) = match last {
        Some((seq, hash)) => (seq + 1, hash),
        None => (1, GENESIS.to_string()),
    };
    let at = crate::time::stored(entry.at);
    let (actor_id, entity_id, op_id) =
        (entry.actor_id.to_string(), entry.entity_id.to_string(), entry.op_id.to_string());
    let hash = entry_hash_v2(
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
        entry.content_hash,
    );
    conn.prepare_cached(
        "INSERT INTO audit (seq, at, actor_id, action, entity, entity_id, op_id, prev_hash, entry_hash, format)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, 2)",
    )?
    .execute(params![seq, at, actor_id, entry.action, entry.entity, entity_id, op_id, prev_hash, hash])?;
    Ok(seq)
}

/// The head of the chain: its last entry's number and hash (`(0, genesis)` when empty).
pub fn head(conn: &Connection) -> Result<(i64, String)> {
    Ok(conn
        .query_row("SELECT seq, entry_hash FROM audit ORDER BY seq DESC LIMIT 1", [], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()?
        .unwrap_or((0, GENESIS.to_string())))
}

/// Keeps a receipt the hub signed for this database's audit chain (its signature already checked
/// by the sync engine).
pub(crate) fn store_receipt(conn: &Connection, r: &Receipt) -> Result<()> {
    conn.execute(
        "INSERT OR IGNORE INTO audit_receipt (audit_seq, head_hash, hub_key, signed_at, signature) VALUES (?1, ?2, ?3, ?4, ?5)",
        params![r.audit_seq, r.head_hash, r.server_key, r.signed_at, r.signature],
    )?;
    Ok(())
}

/// The latest receipt held, if any (`node_id` is left nil: the chain is the database's, whatever
/// node id it had).
pub fn last_receipt(conn: &Connection) -> Result<Option<Receipt>> {
    Ok(conn
        .query_row(
            "SELECT audit_seq, head_hash, hub_key, signed_at, signature FROM audit_receipt ORDER BY audit_seq DESC, signed_at DESC LIMIT 1",
            [],
            |r| {
                Ok(Receipt {
                    node_id: Uuid::nil(),
                    audit_seq: r.get(0)?,
                    head_hash: r.get(1)?,
                    server_key: r.get(2)?,
                    signed_at: r.get(3)?,
                    signature: r.get(4)?,
                })
            },
        )
        .optional()?)
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

/// Walks the whole chain in sequence order, checks the journal against it both ways, checks the
/// journal itself, and checks the chain against the latest receipt from the hub (if `receipt` is given,
/// against that one instead: a receipt fetched from the hub, say).
pub fn verify(conn: &Connection, own_nodes: &[Uuid], receipt: Option<&Receipt>) -> Result<AuditReport> {
    let mut stmt = conn.prepare(
        "SELECT a.seq, a.at, a.actor_id, a.action, a.entity, a.entity_id, a.op_id, a.prev_hash, a.entry_hash, a.format, j.content_hash
         FROM audit a LEFT JOIN journal j ON j.op_id = a.op_id ORDER BY a.seq",
    )?;
    let mut rows = stmt.query([])?;
    let mut expected_seq = 1i64;
    let mut prev = GENESIS.to_string();
    let mut entries = 0u64;
    let mut hashes: Vec<String> = Vec::new();
    let broken =
        |entries, seq, reason: String| Ok(AuditReport { entries, first_broken: Some(AuditBreak { seq, reason }) });
    while let Some(row) = rows.next()? {
        let seq: i64 = row.get(0)?;
        let texts: Vec<String> = (1..9).map(|i| row.get(i)).collect::<rusqlite::Result<_>>()?;
        let format: i64 = row.get(9)?;
        let content_hash: Option<String> = row.get(10)?;
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
        let fields = Hashed { seq, at, actor_id, action, entity, entity_id, op_id };
        let recomputed = match (format, &content_hash) {
            (1, _) => entry_hash_v1(prev_hash, &fields),
            (_, Some(content)) => entry_hash_v2(prev_hash, &fields, content),
            (_, None) => {
                return broken(
                    entries,
                    seq,
                    format!("the journal entry of audit entry {seq} (change {op_id}) was removed"),
                )
            }
        };
        if recomputed != *stored_hash {
            return broken(entries, seq, format!("entry {seq} has been altered: its content does not match its hash"));
        }
        if format == 1 && content_hash.is_none() {
            return broken(
                entries,
                seq,
                format!("the journal entry of audit entry {seq} (change {op_id}) was removed"),
            );
        }
        prev = stored_hash.clone();
        hashes.push(stored_hash.clone());
        expected_seq += 1;
        entries += 1;
    }
    drop(rows);
    // Every change this database made has its audit entry; a missing one means the tail was cut off.
    // (For a node this database retired, only the changes it numbered before retiring it.)
    for node in own_nodes {
        let upto: i64 = conn
            .query_row("SELECT value FROM local_setting WHERE key = ?1", [format!("retired_seq:{node}")], |r| {
                r.get::<_, String>(0)
            })
            .optional()?
            .and_then(|v| v.parse().ok())
            .unwrap_or(i64::MAX);
        let orphan: Option<(i64, String)> = conn
            .query_row(
                "SELECT j.seq, j.op_id FROM journal j WHERE j.node_id = ?1 AND j.node_seq <= ?2
                 AND NOT EXISTS (SELECT 1 FROM audit a WHERE a.op_id = j.op_id) ORDER BY j.seq LIMIT 1",
                params![node.to_string(), upto],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?;
        if let Some((_, op_id)) = orphan {
            return broken(
                entries,
                expected_seq,
                format!("the change {op_id} in the journal has no audit entry: entries were removed"),
            );
        }
    }
    if let Some(problem) = journal::check(conn)? {
        return broken(entries, 0, problem);
    }
    let held = last_receipt(conn)?;
    if let Some(r) = receipt.or(held.as_ref()) {
        let at = (r.audit_seq - 1) as usize;
        match hashes.get(at) {
            None => {
                return broken(
                    entries,
                    r.audit_seq,
                    format!(
                    "the hub signed a receipt for audit entry {} on {}, but the log ends at {}: entries were removed",
                    r.audit_seq, r.signed_at, entries
                ),
                )
            }
            Some(h) if *h != r.head_hash => {
                return broken(
                    entries,
                    r.audit_seq,
                    format!(
                        "audit entry {} is not the one the hub signed a receipt for on {}: the log was rewritten",
                        r.audit_seq, r.signed_at
                    ),
                )
            }
            Some(_) => {}
        }
    }
    Ok(AuditReport { entries, first_broken: None })
}
