//! The journal: the transactional outbox that sync ships (SYNC.md), and the record of every change this
//! database holds, its own and those received. A local entry is appended in the same transaction as
//! the change it describes; a received one in the same transaction as its effect. Entries are never
//! updated or removed.
//!
//! Each node numbers its changes 1, 2, 3, ... with no gaps, from a counter row (`node_counter`), never
//! from `max() + 1`; each change carries a content hash over its canonical encoding (`canonical.rs`).

use rusqlite::{params, Connection, OptionalExtension, Row};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use uuid::Uuid;

use lifeboat_protocol::canonical;
use lifeboat_protocol::Change;

use crate::error::{Error, Result};
use crate::store::hlc::Stamp;
use crate::store::row;

/// A change as this database holds it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct JournalEntry {
    /// Local order of arrival in this database.
    pub seq: i64,
    /// 1: hashed by the first release's serde_json encoding; 2: the canonical encoding.
    pub hash_format: u8,
    pub change: Change,
}

impl JournalEntry {
    /// The stamp as `millis-counter` in hexadecimal.
    pub fn hlc_text(&self) -> String {
        Stamp::from_raw(self.change.hlc).to_string()
    }

    /// Whether the stored content hash matches the content.
    pub fn is_intact(&self) -> bool {
        match self.hash_format {
            1 => legacy_hash(&self.change) == self.change.content_hash,
            _ => self.change.is_intact(),
        }
    }
}

/// The first release's content hash: serde_json over these fields in this order.
pub fn legacy_hash(c: &Change) -> String {
    use sha2::{Digest, Sha256};
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
        payload: &'a Value,
    }
    let bytes = serde_json::to_vec(&Hashed {
        op_id: &c.op_id,
        node_id: &c.node_id,
        node_seq: c.node_seq,
        hlc: c.hlc,
        schema_version: c.schema_version,
        actor_id: &c.actor_id,
        entity: &c.entity,
        entity_id: &c.entity_id,
        kind: &c.kind,
        payload: &c.payload,
    })
    .unwrap_or_default();
    hex::encode(Sha256::digest(&bytes))
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
    pub payload: &'a Value,
    pub base: &'a Value,
}

/// The next sequence number of `node`, taken from its counter row.
fn next_seq(conn: &Connection, node: Uuid) -> Result<i64> {
    Ok(conn
        .prepare_cached(
            "INSERT INTO node_counter (node_id, last_seq) VALUES (?1, 1)
             ON CONFLICT (node_id) DO UPDATE SET last_seq = last_seq + 1 RETURNING last_seq",
        )?
        .query_row([node.to_string()], |r| r.get(0))?)
}

fn insert(conn: &Connection, c: &Change, received_at: Option<&str>) -> Result<i64> {
    conn.prepare_cached(
        "INSERT INTO journal (op_id, node_id, node_seq, hlc, schema_version, actor_id, entity, entity_id, kind, payload, content_hash, hash_format, base, received_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, 2, ?12, ?13)",
    )?
    .execute(params![
            c.op_id.to_string(),
            c.node_id.to_string(),
            c.node_seq,
            c.hlc,
            c.schema_version,
            c.actor_id.to_string(),
            c.entity,
            c.entity_id.to_string(),
            c.kind,
            canonical::json(&c.payload),
            c.content_hash,
            canonical::json(&c.base),
            received_at
        ],
    )?;
    Ok(conn.last_insert_rowid())
}

/// Appends a local change with its node's next sequence number.
pub(crate) fn append(conn: &Connection, entry: &NewEntry<'_>) -> Result<Change> {
    let node_seq = next_seq(conn, entry.node_id)?;
    let mut change = Change {
        op_id: entry.op_id,
        node_id: entry.node_id,
        node_seq,
        hlc: entry.hlc.raw(),
        schema_version: entry.schema_version,
        actor_id: entry.actor_id,
        entity: entry.entity.to_string(),
        entity_id: entry.entity_id,
        kind: entry.kind.to_string(),
        payload: entry.payload.clone(),
        base: entry.base.clone(),
        content_hash: String::new(),
    };
    change.content_hash = change.computed_hash();
    insert(conn, &change, None)?;
    Ok(change)
}

/// What happened to a change received from elsewhere.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Received {
    /// New here: written to the journal (its effect is the caller's).
    New,
    /// Already here, identical: nothing to do.
    Duplicate,
}

/// The numbering of the nodes whose changes a batch receives: read once per node, kept in memory
/// while the batch runs, written back before it commits (`Counters::save`).
#[derive(Default)]
pub(crate) struct Counters(std::collections::HashMap<Uuid, (i64, bool)>);

impl Counters {
    fn last(&mut self, conn: &Connection, node: Uuid) -> Result<&mut (i64, bool)> {
        if let std::collections::hash_map::Entry::Vacant(slot) = self.0.entry(node) {
            let last: i64 = conn
                .prepare_cached("SELECT last_seq FROM node_counter WHERE node_id = ?1")?
                .query_row([node.to_string()], |r| r.get(0))
                .optional()?
                .unwrap_or(0);
            slot.insert((last, false));
        }
        Ok(self.0.get_mut(&node).expect("just inserted"))
    }

    /// Writes the numbers that moved.
    pub(crate) fn save(&self, conn: &Connection) -> Result<()> {
        let mut stmt = conn.prepare_cached(
            "INSERT INTO node_counter (node_id, last_seq) VALUES (?1, ?2) ON CONFLICT (node_id) DO UPDATE SET last_seq = excluded.last_seq",
        )?;
        for (node, (last, moved)) in &self.0 {
            if *moved {
                stmt.execute(params![node.to_string(), last])?;
            }
        }
        Ok(())
    }
}

/// Writes a change received from another node to the journal, refusing anything that does not fit:
/// a content hash that does not match its content, an op id already here with other content, a
/// node sequence number already used by another change, or a gap in the node's sequence. The next
/// change of a node in order costs one insert; anything else is looked up.
pub(crate) fn receive(conn: &Connection, counters: &mut Counters, c: &Change, received_at: &str) -> Result<Received> {
    if !c.is_intact() {
        return Err(Error::SyncRefused(format!("change {} does not match its content hash", c.op_id)));
    }
    let last = counters.last(conn, c.node_id)?;
    if c.node_seq == last.0 + 1 {
        match insert(conn, c, Some(received_at)) {
            Ok(_) => {
                *last = (c.node_seq, true);
                return Ok(Received::New);
            }
            // The op id is already here, under another number.
            Err(Error::Storage(e)) if e.sqlite_error_code() == Some(rusqlite::ErrorCode::ConstraintViolation) => {
                return Err(Error::SyncRefused(format!("change {} arrived again with other content", c.op_id)));
            }
            Err(e) => return Err(e),
        }
    }
    if c.node_seq > last.0 + 1 {
        return Err(Error::SyncRefused(format!(
            "changes of node {} arrived out of order: expected number {}, got {}",
            c.node_id,
            last.0 + 1,
            c.node_seq
        )));
    }
    let same: Option<String> = conn
        .prepare_cached("SELECT content_hash FROM journal WHERE op_id = ?1")?
        .query_row([c.op_id.to_string()], |r| r.get(0))
        .optional()?;
    match same {
        Some(hash) if hash == c.content_hash => Ok(Received::Duplicate),
        Some(_) => Err(Error::SyncRefused(format!("change {} arrived again with other content", c.op_id))),
        None => {
            let other: Option<String> = conn
                .prepare_cached("SELECT op_id FROM journal WHERE node_id = ?1 AND node_seq = ?2")?
                .query_row(params![c.node_id.to_string(), c.node_seq], |r| r.get(0))
                .optional()?;
            Err(Error::SyncRefused(format!(
                "node {} used sequence number {} for two different changes ({} and {})",
                c.node_id,
                c.node_seq,
                other.unwrap_or_default(),
                c.op_id
            )))
        }
    }
}

const COLUMNS: &str =
    "seq, op_id, node_id, node_seq, hlc, schema_version, actor_id, entity, entity_id, kind, payload, content_hash, hash_format, base";

fn from_row(row: &Row<'_>) -> rusqlite::Result<JournalEntry> {
    let json = |i: usize| -> rusqlite::Result<Value> {
        let text: String = row.get(i)?;
        serde_json::from_str(&text)
            .map_err(|e| rusqlite::Error::FromSqlConversionFailure(i, rusqlite::types::Type::Text, Box::new(e)))
    };
    Ok(JournalEntry {
        seq: row.get(0)?,
        hash_format: row.get(12)?,
        change: Change {
            op_id: row::uuid(row, 1)?,
            node_id: row::uuid(row, 2)?,
            node_seq: row.get(3)?,
            hlc: row.get(4)?,
            schema_version: row.get(5)?,
            actor_id: row::uuid(row, 6)?,
            entity: row.get(7)?,
            entity_id: row::uuid(row, 8)?,
            kind: row.get(9)?,
            payload: json(10)?,
            content_hash: row.get(11)?,
            base: json(13)?,
        },
    })
}

/// Blanks this PC's journal copies of one record's changes (each field of the payload set to null,
/// so which fields a change touched stays known; the values it replaced dropped), except the change
/// `keep`: the purge after the outage. Returns how many were blanked.
pub(crate) fn redact(
    conn: &Connection,
    entity: &str,
    entity_id: &str,
    keep: Option<Uuid>,
    before_hlc: i64,
    at: &str,
) -> Result<usize> {
    // Only changes older than the purge, and never a purge itself (two PCs may purge one record).
    Ok(conn
        .prepare_cached(
            "UPDATE journal SET payload = (SELECT coalesce(json_group_object(key, json('null')), '{}') FROM json_each(journal.payload)),
                    base = '{}', redacted_at = ?3
             WHERE entity = ?1 AND entity_id = ?2 AND redacted_at IS NULL AND op_id <> coalesce(?4, '')
               AND hlc < ?5 AND json_type(payload, '$.purged_at') IS NULL",
        )?
        .execute(params![entity, entity_id, at, keep.map(|k| k.to_string()), before_hlc])?)
}

/// Gives every intact entry of the first release (hash format 1, which relied on serde_json's key
/// order) the canonical hash (format 2), so it can be shipped and checked everywhere. Runs once, after
/// the upgrade to schema 5. An entry that is not intact keeps its old hash, for `verify` to report: it
/// is never laundered. The audit entries of those changes (format 1) do not cover the content hash,
/// so the chain still holds. Returns how many were resealed.
pub(crate) fn reseal_legacy(conn: &Connection) -> Result<u64> {
    let done: Option<String> = conn
        .query_row("SELECT value FROM local_setting WHERE key = 'journal_resealed'", [], |r| r.get(0))
        .optional()?;
    if done.is_some() {
        return Ok(0);
    }
    let mut stmt = conn.prepare(&format!("SELECT {COLUMNS} FROM journal WHERE hash_format = 1 ORDER BY seq"))?;
    let entries = stmt.query_map([], from_row)?.collect::<rusqlite::Result<Vec<_>>>()?;
    drop(stmt);
    let mut n = 0;
    for e in entries.iter().filter(|e| e.is_intact()) {
        let hash = e.change.computed_hash();
        conn.execute("UPDATE journal SET content_hash = ?2, hash_format = 2 WHERE seq = ?1", params![e.seq, hash])?;
        n += 1;
    }
    conn.execute(
        "INSERT INTO local_setting (key, value) VALUES ('journal_resealed', '1') ON CONFLICT (key) DO NOTHING",
        [],
    )?;
    Ok(n)
}

/// Entries after local sequence `after`, oldest first, at most `limit`.
pub fn since(conn: &Connection, after: i64, limit: u32) -> Result<Vec<JournalEntry>> {
    let mut stmt =
        conn.prepare_cached(&format!("SELECT {COLUMNS} FROM journal WHERE seq > ?1 ORDER BY seq LIMIT ?2"))?;
    let rows = stmt.query_map(params![after, limit], from_row)?;
    Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
}

/// The changes of `node` after its sequence number `after`, in order, at most `limit`.
pub fn of_node_after(conn: &Connection, node: Uuid, after: i64, limit: u32) -> Result<Vec<Change>> {
    of_node_within(conn, node, after, limit, &mut |_| true)
}

/// `of_node_after`, keeping changes while `take` accepts them: the first it refuses is left out and
/// no row after it is read.
pub fn of_node_within(
    conn: &Connection,
    node: Uuid,
    after: i64,
    limit: u32,
    take: &mut dyn FnMut(&Change) -> bool,
) -> Result<Vec<Change>> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM journal WHERE node_id = ?1 AND node_seq > ?2 ORDER BY node_seq LIMIT ?3"
    ))?;
    let mut out = Vec::new();
    for row in stmt.query_map(params![node.to_string(), after, limit], from_row)? {
        let change = row?.change;
        if !take(&change) {
            break;
        }
        out.push(change);
    }
    Ok(out)
}

/// The highest sequence number held for each node.
pub fn marks(conn: &Connection) -> Result<Vec<(Uuid, i64)>> {
    let mut stmt = conn.prepare_cached("SELECT node_id, last_seq FROM node_counter ORDER BY node_id")?;
    let rows = stmt.query_map([], |r| Ok((row::uuid(r, 0)?, r.get(1)?)))?;
    Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
}

/// The changes of one entity, oldest first (by clock, then node).
pub(crate) fn of_entity(conn: &Connection, entity: &str, id: Uuid) -> Result<Vec<Change>> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM journal WHERE entity = ?1 AND entity_id = ?2 ORDER BY hlc, node_id"
    ))?;
    let rows = stmt.query_map(params![entity, id.to_string()], from_row)?;
    Ok(rows.map(|r| r.map(|e| e.change)).collect::<rusqlite::Result<Vec<_>>>()?)
}

/// How many changes were made on this database's nodes (all of them wait while there is no server).
pub fn pending_count(conn: &Connection, own_nodes: &[Uuid]) -> Result<u64> {
    let mut n = 0u64;
    for node in own_nodes {
        let total: i64 = conn
            .query_row("SELECT last_seq FROM node_counter WHERE node_id = ?1", [node.to_string()], |r| r.get(0))
            .optional()?
            .unwrap_or(0);
        n += total as u64;
    }
    Ok(n)
}

/// The first thing wrong with the journal itself: an entry whose content no longer matches its hash,
/// a node whose sequence has a gap or does not start at 1, or a counter that is behind or ahead of its
/// node's entries (entries removed from the end).
pub(crate) fn check(conn: &Connection) -> Result<Option<String>> {
    // A change whose personal details were purged after the outage no longer matches its hash, by
    // design (its audit entry still covers the hash) — but only a change of a record that was purged:
    // marking any other entry redacted does not hide an edit.
    let unexplained: Option<(i64, String)> = conn
        .query_row(
            "SELECT j.seq, j.op_id FROM journal j WHERE j.redacted_at IS NOT NULL AND (j.base <> '{}'
              OR EXISTS (SELECT 1 FROM json_each(j.payload) WHERE json_each.type <> 'null') OR NOT (
                 (j.entity = 'client' AND EXISTS (SELECT 1 FROM client c WHERE c.id = j.entity_id AND c.purged_at IS NOT NULL))
              OR (j.entity = 'patient' AND EXISTS (SELECT 1 FROM patient p WHERE p.id = j.entity_id AND p.purged_at IS NOT NULL))
              OR (j.entity = 'appointment' AND EXISTS (SELECT 1 FROM appointment a WHERE a.id = j.entity_id AND a.purged_at IS NOT NULL))))
             ORDER BY j.seq LIMIT 1",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?;
    if let Some((seq, op)) = unexplained {
        return Ok(Some(format!(
            "journal entry {seq} (change {op}) has been altered: it is marked purged, but holds values or its record was never purged"
        )));
    }
    let mut stmt = conn.prepare(&format!("SELECT {COLUMNS} FROM journal WHERE redacted_at IS NULL ORDER BY seq"))?;
    let mut rows = stmt.query([])?;
    while let Some(row) = rows.next()? {
        let entry = from_row(row)?;
        if !entry.is_intact() {
            return Ok(Some(format!(
                "journal entry {} (change {}) has been altered: its content does not match its hash",
                entry.seq, entry.change.op_id
            )));
        }
    }
    drop(rows);
    let mut stmt = conn.prepare(
        "SELECT c.node_id, c.last_seq, count(j.seq), coalesce(min(j.node_seq), 0), coalesce(max(j.node_seq), 0)
         FROM node_counter c LEFT JOIN journal j ON j.node_id = c.node_id GROUP BY c.node_id, c.last_seq",
    )?;
    let rows = stmt
        .query_map([], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, i64>(1)?,
                r.get::<_, i64>(2)?,
                r.get::<_, i64>(3)?,
                r.get::<_, i64>(4)?,
            ))
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    for (node, counter, count, min, max) in rows {
        if count > 0 && (min != 1 || count != max) {
            return Ok(Some(format!(
                "the journal of node {node} has a gap: {count} entries numbered {min} to {max}: entries were removed"
            )));
        }
        if counter != max {
            return Ok(Some(format!(
                "node {node} has numbered {counter} changes but the journal holds {max}: entries were removed from the end"
            )));
        }
    }
    let orphans: Option<String> = conn
        .query_row("SELECT j.node_id FROM journal j WHERE NOT EXISTS (SELECT 1 FROM node_counter c WHERE c.node_id = j.node_id) LIMIT 1", [], |r| r.get(0))
        .optional()?;
    if let Some(node) = orphans {
        return Ok(Some(format!("node {node} has journal entries but no counter: the counter was removed")));
    }
    Ok(None)
}
