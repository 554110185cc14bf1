//! Conflicts a person must settle: two bookings of one clinician at one time, the same client or
//! animal registered on two computers, a field changed two ways at once, a consultation changed after
//! it was signed elsewhere. Each conflict's id is derived from its kind and the sorted ids of what it
//! involves, so every node raises the same conflict once it holds the same changes, and raising it
//! again changes nothing. A resolution is itself a change, synced like any other.

use std::collections::BTreeSet;

use rusqlite::{params, Connection, OptionalExtension};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::error::{Error, Result};
use crate::permission::Action;
use crate::session::Session;
use crate::store::database::Store;
use crate::store::row;
use crate::time;
use lifeboat_protocol::Change;

/// The id of the conflict of `kind` between `members` (in any order).
pub fn conflict_id(kind: &str, members: &[Uuid]) -> Uuid {
    let mut sorted: Vec<String> = members.iter().map(|m| m.to_string()).collect();
    sorted.sort();
    sorted.dedup();
    let digest = Sha256::digest(format!("{kind}|{}", sorted.join("|")).as_bytes());
    let mut bytes = [0u8; 16];
    bytes.copy_from_slice(&digest[..16]);
    Uuid::new_v8(bytes)
}

/// Records a conflict unless it is already known; returns whether it is new.
pub(crate) fn raise(
    conn: &Connection,
    kind: &str,
    entity: &str,
    members: &[Uuid],
    detail: &str,
    now: &str,
) -> Result<bool> {
    // Two fields changed two ways by the same two changes are two conflicts: a concurrent edit's id
    // also covers its field (the first word of its detail).
    let id = match kind {
        "concurrent_edit" => conflict_id(&format!("{kind}:{}", detail.split(' ').next().unwrap_or_default()), members),
        _ => conflict_id(kind, members),
    };
    let mut sorted: Vec<String> = members.iter().map(|m| m.to_string()).collect();
    sorted.sort();
    sorted.dedup();
    if sorted.len() < 2 {
        return Ok(false);
    }
    let added = conn.execute(
        "INSERT OR IGNORE INTO conflict (id, kind, entity, members, detail, detected_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        params![id.to_string(), kind, entity, serde_json::to_string(&sorted).unwrap_or_default(), detail, now],
    )?;
    Ok(added > 0)
}

/// Looks for double bookings and duplicate registrations among the records changed since the last
/// look (by this PC or received), and records each as a conflict unless already known. Runs after
/// every batch of received changes and before conflicts are listed, so local changes are covered too.
/// Returns how many conflicts are new.
pub(crate) fn refresh(conn: &Connection, now: &str, also: &[(String, Uuid)]) -> Result<u32> {
    let checked: i64 = conn
        .query_row("SELECT value FROM local_setting WHERE key = 'conflicts_checked_seq'", [], |r| r.get::<_, String>(0))
        .optional()?
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    // A range of the journal's own order (`+entity` keeps SQLite from walking the whole entity index
    // instead, which costs a scan of the journal after every batch of a long pull).
    let mut stmt = conn.prepare_cached(
        "SELECT entity, entity_id FROM journal WHERE seq > ?1 AND +entity IN ('appointment', 'client', 'patient')",
    )?;
    let mut touched = stmt
        .query_map([checked], |r| Ok((r.get::<_, String>(0)?, row::uuid(r, 1)?)))?
        .collect::<rusqlite::Result<BTreeSet<_>>>()?;
    // Records changed now by changes that had waited: their journal entries are older than the look.
    touched.extend(also.iter().filter(|(e, _)| matches!(e.as_str(), "appointment" | "client" | "patient")).cloned());
    drop(stmt);
    let last: i64 = conn.query_row("SELECT coalesce(max(seq), 0) FROM journal", [], |r| r.get(0))?;
    let mut raised = 0;
    for (entity, id) in &touched {
        let (kind, detail) = match entity.as_str() {
            "appointment" => ("double_booking", "the same clinician is booked twice at the same time"),
            "client" => (
                "duplicate_client",
                "the same surname and phone number or email, or the same PMS number, registered on two computers",
            ),
            _ => ("duplicate_patient", "the same microchip or PMS number, registered on two computers"),
        };
        let mut others = BTreeSet::new();
        for sql in conditions(kind) {
            let mut stmt = conn.prepare_cached(&format!("SELECT b.id {sql} AND a.id = ?1"))?;
            for other in stmt.query_map([id.to_string()], |r| row::uuid(r, 0))? {
                others.insert(other?);
            }
        }
        for other in others {
            let distinct_nodes = kind == "double_booking" || created_on_different_nodes(conn, entity, *id, other)?;
            if distinct_nodes && raise(conn, kind, entity, &[*id, other], detail, now)? {
                raised += 1;
            }
        }
    }
    conn.execute(
        "INSERT INTO local_setting (key, value) VALUES ('conflicts_checked_seq', ?1) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        [last.to_string()],
    )?;
    Ok(raised)
}

// The conditions, as `FROM ... WHERE ...` over a pair `a`, `b` of records (`a.id = ?` is added).
// Local booking refuses overlaps, so any overlap came from two computers. No appointment is longer
// than ten hours (`MAX_MINUTES`: booking refuses longer, and so does applying a received change), so
// only those starting less than ten hours before `a` can overlap it: a short range of the
// `(clinician_id, starts_at, ...)` index, not a walk through the clinician's whole diary.
const DOUBLE_BOOKING: &str = "FROM appointment a JOIN appointment b
    ON b.clinician_id = a.clinician_id AND b.starts_at > strftime('%Y-%m-%dT%H:%M:%fZ', a.starts_at, '-600 minutes')
   AND b.starts_at < a.ends_at AND b.ends_at > a.starts_at AND b.id <> a.id
   AND b.status NOT IN ('cancelled', 'no_show')
  WHERE a.status NOT IN ('cancelled', 'no_show')";
// Found by phone, then by email, each through its own index (`+` keeps SQLite from walking everyone
// of a common surname instead).
const DUPLICATE_CLIENT_PHONE: &str = "FROM client a JOIN client b
    ON b.phone = a.phone AND b.id <> a.id AND +b.last_name = a.last_name COLLATE NOCASE
  WHERE a.phone <> ''";
const DUPLICATE_CLIENT_EMAIL: &str = "FROM client a JOIN client b
    ON b.email = a.email AND b.id <> a.id AND +b.last_name = a.last_name COLLATE NOCASE
  WHERE a.email <> ''";
const DUPLICATE_PATIENT: &str = "FROM patient a JOIN patient b ON b.id <> a.id AND b.microchip = a.microchip
  WHERE a.microchip IS NOT NULL";
// The same PMS record read in on two computers (each indexed on its own, so kept apart from the above).
const SAME_PMS_CLIENT: &str =
    "FROM client a JOIN client b ON b.id <> a.id AND b.pms_id = a.pms_id WHERE a.pms_id IS NOT NULL";
const SAME_PMS_PATIENT: &str =
    "FROM patient a JOIN patient b ON b.id <> a.id AND b.pms_id = a.pms_id WHERE a.pms_id IS NOT NULL";

/// The conditions under which a pair of records is a conflict of `kind` (any one of them).
fn conditions(kind: &str) -> &'static [&'static str] {
    match kind {
        "double_booking" => &[DOUBLE_BOOKING],
        "duplicate_client" => &[DUPLICATE_CLIENT_PHONE, DUPLICATE_CLIENT_EMAIL, SAME_PMS_CLIENT],
        "duplicate_patient" => &[DUPLICATE_PATIENT, SAME_PMS_PATIENT],
        _ => &[],
    }
}

/// Whether what a conflict is about still stands: two bookings later moved apart, or one of them
/// cancelled, no longer conflict; the same for two registrations one of which was corrected. Conflicts
/// that no longer stand are not shown, so which ones a PC shows depends only on the changes it holds,
/// not on the order they came in.
fn holds(conn: &Connection, kind: &str, members: &[Uuid]) -> Result<bool> {
    match kind {
        "double_booking" | "duplicate_client" | "duplicate_patient" => {}
        "after_signing" => {
            // Raised against a signature: shown while that signature is the one the record holds.
            let mut stmt = conn.prepare_cached(
                "SELECT 1 FROM journal j JOIN consultation c ON c.id = j.entity_id
                 WHERE j.op_id IN (SELECT value FROM json_each(?1)) AND j.entity = 'consultation'
                   AND json_extract(j.payload, '$.signed_hash') = c.signed_hash",
            )?;
            let json =
                serde_json::to_string(&members.iter().map(|m| m.to_string()).collect::<Vec<_>>()).unwrap_or_default();
            return Ok(stmt.exists([json])?);
        }
        _ => return Ok(true),
    }
    let [a, b] = members else { return Ok(true) };
    for sql in conditions(kind) {
        let mut stmt = conn.prepare_cached(&format!("SELECT 1 {sql} AND a.id = ?1 AND b.id = ?2"))?;
        if stmt.exists(params![a.to_string(), b.to_string()])? {
            return Ok(true);
        }
    }
    Ok(false)
}

/// Whether two records were created by different nodes (one node's own duplicates are warned about
/// while typing, not raised later).
fn created_on_different_nodes(conn: &Connection, entity: &str, a: Uuid, b: Uuid) -> Result<bool> {
    let node = |id: Uuid| -> Result<Option<String>> {
        Ok(conn
            .query_row(
                "SELECT node_id FROM journal WHERE entity = ?1 AND entity_id = ?2 AND kind = 'create' ORDER BY seq LIMIT 1",
                params![entity, id.to_string()],
                |r| r.get(0),
            )
            .optional()?)
    };
    Ok(match (node(a)?, node(b)?) {
        (Some(x), Some(y)) => x != y,
        _ => false,
    })
}

/// Records that a conflict was resolved (locally, or by a change received). Which resolution stands
/// when there are two is decided when reading (the earliest by clock, then node; see `list`), so every
/// node agrees whatever order they arrived in.
pub(crate) fn mark_resolved(conn: &Connection, id: Uuid, fields: &Map<String, Value>, now: &str) -> Result<()> {
    let text = |k: &str| fields.get(k).and_then(Value::as_str).unwrap_or_default().to_string();
    let members: Vec<String> = fields
        .get("members")
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(|v| v.as_str().map(str::to_string)).collect())
        .unwrap_or_default();
    conn.execute(
        "INSERT OR IGNORE INTO conflict (id, kind, entity, members, detail, detected_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        params![id.to_string(), text("kind"), text("entity"), serde_json::to_string(&members).unwrap_or_default(), text("detail"), now],
    )?;
    conn.execute(
        "UPDATE conflict SET resolved_at = coalesce(resolved_at, ?2) WHERE id = ?1",
        params![id.to_string(), text("resolved_at")],
    )?;
    Ok(())
}

pub(crate) fn apply_resolution(conn: &Connection, c: &Change, fields: &Map<String, Value>, now: &str) -> Result<()> {
    mark_resolved(conn, c.entity_id, fields, now)
}

/// A conflict as the inbox shows it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Conflict {
    pub id: Uuid,
    pub kind: String,
    pub entity: String,
    pub members: Vec<Uuid>,
    pub detail: String,
    pub detected_at: String,
    pub resolved_at: Option<String>,
    pub resolved_by: Option<Uuid>,
    /// `{ "choice": ..., "note": ... }` once resolved.
    #[cfg_attr(feature = "ts", ts(type = "Record<string, unknown> | null"))]
    pub resolution: Option<Value>,
}

/// Conflicts, newest first; each resolution read from the journal (the earliest by clock and node).
pub(crate) fn list(conn: &Connection, open_only: bool) -> Result<Vec<Conflict>> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT c.id, c.kind, c.entity, c.members, c.detail, c.detected_at, r.payload, r.actor_id, c.resolved_at
         FROM conflict c LEFT JOIN journal r ON r.seq = (
             SELECT j.seq FROM journal j WHERE j.entity = 'resolution' AND j.entity_id = c.id ORDER BY j.hlc, j.node_id LIMIT 1)
         {} ORDER BY c.detected_at DESC, c.id",
        if open_only { "WHERE c.resolved_at IS NULL" } else { "" }
    ))?;
    let rows = stmt
        .query_map([], |r| {
            let members: Vec<String> = row::json(r, 3)?;
            let resolution: Option<Value> = r.get::<_, Option<String>>(6)?.and_then(|t| serde_json::from_str(&t).ok());
            Ok(Conflict {
                id: row::uuid(r, 0)?,
                kind: r.get(1)?,
                entity: r.get(2)?,
                members: members.iter().filter_map(|m| Uuid::parse_str(m).ok()).collect(),
                detail: r.get(4)?,
                detected_at: r.get(5)?,
                resolved_at: resolution
                    .as_ref()
                    .and_then(|v| v.get("resolved_at"))
                    .and_then(Value::as_str)
                    .map(str::to_string),
                resolved_by: row::opt_uuid(r, 7)?,
                resolution: resolution.map(|v| serde_json::json!({ "choice": v.get("choice"), "note": v.get("note") })),
            })
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    let mut shown = Vec::with_capacity(rows.len());
    for c in rows {
        if c.resolved_at.is_some() || holds(conn, &c.kind, &c.members)? {
            shown.push(c);
        }
    }
    Ok(shown)
}

pub(crate) fn get(conn: &Connection, id: Uuid) -> Result<Conflict> {
    list(conn, false)?.into_iter().find(|c| c.id == id).ok_or_else(|| Error::NotFound(format!("conflict {id}")))
}

impl Store {
    /// Conflicts, newest first, after looking for new ones among changes not yet looked at.
    pub fn conflicts(&self, session: &Session, open_only: bool) -> Result<Vec<Conflict>> {
        self.read_as(session, Action::ViewRecords, |_| Ok(()))?;
        {
            let conn = self.lock_writer();
            refresh(&conn, &time::stored(self.clock.now()), &[])?;
        }
        self.read(|r| list(r, open_only))
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_double_booking_window_is_the_longest_booking() {
        let window = format!("'-{} minutes'", crate::reception::appointment::MAX_MINUTES);
        assert!(super::DOUBLE_BOOKING.contains(&window), "DOUBLE_BOOKING must look back {window}");
    }

    /// The checks run for every record of every batch a pull applies: each must find the other
    /// record through an index, never by walking a table (or a whole surname, or a clinician's diary).
    #[test]
    fn every_conflict_check_finds_the_other_record_through_an_index() {
        let mut conn = rusqlite::Connection::open_in_memory().unwrap();
        crate::store::migrations::migrate(&mut conn).unwrap();
        for kind in ["double_booking", "duplicate_client", "duplicate_patient"] {
            for sql in super::conditions(kind) {
                let plan: Vec<String> = conn
                    .prepare(&format!("EXPLAIN QUERY PLAN SELECT b.id {sql} AND a.id = ?1"))
                    .unwrap()
                    .query_map(["x"], |r| r.get::<_, String>(3))
                    .unwrap()
                    .collect::<rusqlite::Result<_>>()
                    .unwrap();
                let b = plan.iter().find(|step| step.contains(" b ")).unwrap_or_else(|| panic!("{kind}: {plan:?}"));
                assert!(b.starts_with("SEARCH b USING"), "{kind}: the other record is found by {b:?} ({plan:?})");
                if kind == "double_booking" {
                    assert!(b.contains("starts_at>? AND starts_at<?"), "{kind}: {b}");
                }
                if sql.contains("last_name") {
                    assert!(!b.contains("last_name"), "{kind}: walks a surname: {b}");
                }
            }
        }
    }
}
