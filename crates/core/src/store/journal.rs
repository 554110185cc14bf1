//! The journal: the transactional outbox that sync ships (SYNC.md). An entry is appended in the same
//! transaction as the change it describes; entries are never updated and, until sync acknowledges
//! them, never removed.

use rusqlite::{params, Connection, Row};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::error::{Error, Result};
use crate::store::hlc::Stamp;
use crate::store::row;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct JournalEntry {
    /// Local order of arrival in this database.
    pub seq: i64,
    pub op_id: Uuid,
    pub node_id: Uuid,
    /// Dense, gap-free sequence of the node that made the change.
    pub node_seq: i64,
    /// Hybrid logical clock stamp, as `millis-counter` in hexadecimal.
    pub hlc: String,
    pub schema_version: u32,
    pub actor_id: Uuid,
    pub entity: String,
    pub entity_id: Uuid,
    pub kind: String,
    /// Only the fields that changed.
    #[cfg_attr(feature = "ts", ts(type = "Record<string, unknown>"))]
    pub payload: serde_json::Value,
    pub content_hash: String,
}

/// The fields that the content hash covers, in a fixed order.
#[derive(Serialize)]
struct Hashed<'a> {
    op_id: &'a Uuid,
    node_id: &'a Uuid,
    node_seq: i64,
    hlc: i64,
    schema_version: u32,
    actor_id: &'a Uuid,
    entity: &'a str,
    entity_id: &'a Uuid,
    kind: &'a str,
    payload: &'a serde_json::Value,
}

pub(crate) struct NewEntry<'a> {
    pub op_id: Uuid,
    pub node_id: Uuid,
    pub hlc: Stamp,
    pub schema_version: u32,
    pub actor_id: Uuid,
    pub entity: &'a str,
    pub entity_id: Uuid,
    pub kind: &'a str,
    pub payload: &'a serde_json::Value,
}

/// Appends an entry with the node's next sequence number and returns that number.
pub(crate) fn append(conn: &Connection, entry: &NewEntry<'_>) -> Result<i64> {
    let node_seq: i64 = conn.query_row(
        "SELECT coalesce(max(node_seq), 0) + 1 FROM journal WHERE node_id = ?1",
        [entry.node_id.to_string()],
        |r| r.get(0),
    )?;
    let hash = content_hash(&Hashed {
        op_id: &entry.op_id,
        node_id: &entry.node_id,
        node_seq,
        hlc: entry.hlc.raw(),
        schema_version: entry.schema_version,
        actor_id: &entry.actor_id,
        entity: entry.entity,
        entity_id: &entry.entity_id,
        kind: entry.kind,
        payload: entry.payload,
    })?;
    conn.execute(
        "INSERT INTO journal (op_id, node_id, node_seq, hlc, schema_version, actor_id, entity, entity_id, kind, payload, content_hash)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
        params![
            entry.op_id.to_string(),
            entry.node_id.to_string(),
            node_seq,
            entry.hlc.raw(),
            entry.schema_version,
            entry.actor_id.to_string(),
            entry.entity,
            entry.entity_id.to_string(),
            entry.kind,
            entry.payload.to_string(),
            hash,
        ],
    )?;
    Ok(node_seq)
}

fn content_hash(hashed: &Hashed<'_>) -> Result<String> {
    let bytes = serde_json::to_vec(hashed).map_err(|e| Error::Internal(e.to_string()))?;
    Ok(hex::encode(Sha256::digest(&bytes)))
}

/// Entries after local sequence `after`, oldest first, at most `limit`.
pub fn since(conn: &Connection, after: i64, limit: u32) -> Result<Vec<JournalEntry>> {
    let mut stmt = conn.prepare(
        "SELECT seq, op_id, node_id, node_seq, hlc, schema_version, actor_id, entity, entity_id, kind, payload, content_hash
         FROM journal WHERE seq > ?1 ORDER BY seq LIMIT ?2",
    )?;
    let rows = stmt.query_map(params![after, limit], from_row)?;
    Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
}

/// How many changes made on this node are waiting to be sent. Nothing is sent before the sync
/// issue, so for now that is every change this node made.
pub fn pending_count(conn: &Connection, node_id: Uuid) -> Result<u64> {
    let n: i64 =
        conn.query_row("SELECT count(*) FROM journal WHERE node_id = ?1", [node_id.to_string()], |r| r.get(0))?;
    Ok(n as u64)
}

fn from_row(row: &Row<'_>) -> rusqlite::Result<JournalEntry> {
    let payload: String = row.get(10)?;
    Ok(JournalEntry {
        seq: row.get(0)?,
        op_id: row::uuid(row, 1)?,
        node_id: row::uuid(row, 2)?,
        node_seq: row.get(3)?,
        hlc: Stamp::from_raw(row.get(4)?).to_string(),
        schema_version: row.get(5)?,
        actor_id: row::uuid(row, 6)?,
        entity: row.get(7)?,
        entity_id: row::uuid(row, 8)?,
        kind: row.get(9)?,
        payload: serde_json::from_str(&payload)
            .map_err(|e| rusqlite::Error::FromSqlConversionFailure(10, rusqlite::types::Type::Text, Box::new(e)))?,
        content_hash: row.get(11)?,
    })
}
