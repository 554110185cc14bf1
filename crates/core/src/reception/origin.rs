//! Where a client or patient came from: made in Lifeboat while the practice management system (PMS)
//! was down, or read in from a PMS snapshot (keeping its PMS number, so a second import of the same
//! file finds it again).

use rusqlite::{params, Connection, OptionalExtension};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::error::{Error, Result};
use crate::permission::Action;
use crate::store::row;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum Origin {
    /// Made in Lifeboat: it must be entered in the PMS when it returns.
    Offline,
    /// A copy of a PMS record, from a snapshot import.
    Pms,
}

impl Origin {
    pub fn as_str(self) -> &'static str {
        match self {
            Origin::Offline => "offline",
            Origin::Pms => "pms",
        }
    }

    pub fn parse(text: &str) -> Option<Origin> {
        [Origin::Offline, Origin::Pms].into_iter().find(|o| o.as_str() == text)
    }
}

/// What importing one PMS record did.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(tag = "outcome", content = "id", rename_all = "snake_case")]
pub enum Imported {
    /// Not here before: added.
    Added(Uuid),
    /// Here, and the file holds newer details: they were written.
    Updated(Uuid),
    /// Here with the same details: nothing written.
    Unchanged(Uuid),
    /// Here, and changed in Lifeboat since it was imported: Lifeboat's version is kept (the PMS
    /// snapshot is older than what the practice recorded during the outage).
    KeptLocal(Uuid),
}

/// The record of `table` (`client` or `patient`) holding PMS number `pms_id`: the earliest made,
/// should two PCs have imported it before they synced.
pub(crate) fn find(conn: &Connection, table: &str, pms_id: &str) -> Result<Option<Uuid>> {
    let sql = match table {
        "client" => "SELECT id FROM client WHERE pms_id = ?1 ORDER BY created_at, id LIMIT 1",
        _ => "SELECT id FROM patient WHERE pms_id = ?1 ORDER BY created_at, id LIMIT 1",
    };
    Ok(conn.prepare_cached(sql)?.query_row([pms_id], |r| row::uuid(r, 0)).optional()?)
}

/// The record a merged one was merged into, followed to the end (a merge of a merge).
pub(crate) fn current(conn: &Connection, table: &str, id: Uuid) -> Result<Uuid> {
    let mut at = id;
    for _ in 0..16 {
        let next: Option<Option<String>> = conn
            .prepare_cached(&format!("SELECT merged_into FROM {table} WHERE id = ?1"))?
            .query_row([at.to_string()], |r| r.get(0))
            .optional()?;
        match next.flatten() {
            Some(n) => {
                at = Uuid::parse_str(&n).map_err(|_| Error::DamagedRecord(format!("{table} merged_into {n:?}")))?
            }
            None => return Ok(at),
        }
    }
    Ok(at)
}

/// Like `find`, but a record merged into another (a duplicate) leads to the one it was merged into:
/// what an animal's owner or an appointment's animal is found as.
pub(crate) fn find_current(conn: &Connection, table: &str, pms_id: &str) -> Result<Option<Uuid>> {
    find(conn, table, pms_id)?.map(|id| current(conn, table, id)).transpose()
}

/// Whether the record was changed after it was made by anything but an import on this PC: an edit
/// here, or any change received from another PC.
pub(crate) fn changed_since_made(conn: &Connection, entity: &str, id: Uuid) -> Result<bool> {
    let mut stmt = conn.prepare_cached(
        "SELECT 1 FROM journal j WHERE j.entity = ?1 AND j.entity_id = ?2 AND j.kind = 'update'
           AND NOT EXISTS (SELECT 1 FROM audit a WHERE a.op_id = j.op_id AND a.action = ?3)",
    )?;
    Ok(stmt.exists(params![entity, id.to_string(), Action::ImportRecords.as_str()])?)
}
