//! A canonical dump of everything sync shares: every synced table's rows (in key order, without the
//! columns each PC keeps for itself), the set of changes held, the changes kept aside, and the
//! conflicts shown. Two nodes that hold the same changes must produce the same dump, whatever order
//! the changes reached them in (SYNC.md, invariant 3); the convergence tests compare dumps.

use rusqlite::types::ValueRef;
use rusqlite::Connection;
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

use crate::error::Result;
use crate::replica::conflicts;
use crate::store::database::Store;
use crate::time;
use lifeboat_protocol::canonical;

/// The synced tables and the order their rows are dumped in. `ownership` is dumped by the pair it
/// links: the same owner added to the same animal on two PCs is one link, whichever id each PC kept.
const TABLES: &[(&str, &str)] = &[
    ("practice", "id"),
    ("premises", "id"),
    ("staff", "id"),
    ("client", "id"),
    ("patient", "id"),
    ("ownership", "client_id, patient_id"),
    ("appointment", "id"),
    ("working_hours", "clinician_id, weekday, start_minute"),
    ("product", "id"),
    ("fee", "id"),
    ("consultation", "id"),
    ("addendum", "id"),
    ("clinical_void", "id"),
    ("prescription", "id"),
    ("dispensing", "id"),
    ("cd_entry", "id"),
    ("charge", "id"),
    ("handover", "id"),
    ("export_batch", "id"),
    ("ledger_mark", "id"),
    ("duplicate_decision", "id"),
    ("outage_closure", "id"),
    ("purge_run", "id"),
    ("lab_test", "id"),
    ("lab_request", "id"),
    ("lab_result", "id"),
    ("payment", "id"),
    ("card_run", "id"),
    ("cash_up", "id"),
    ("insurance_claim", "id"),
    ("number_block", "id"),
    ("field_clock", "entity, entity_id"),
];

/// Columns each PC keeps for itself: when its copy last changed, and the search index's row number.
fn local_only(table: &str, column: &str) -> bool {
    column == "updated_at" || column == "search_rowid" || (table == "ownership" && column == "id")
}

fn value(v: ValueRef<'_>) -> Value {
    match v {
        ValueRef::Null => Value::Null,
        ValueRef::Integer(i) => Value::from(i),
        ValueRef::Real(f) => Value::from(f),
        ValueRef::Text(t) => Value::String(String::from_utf8_lossy(t).into_owned()),
        ValueRef::Blob(b) => Value::String(hex::encode(b)),
    }
}

fn dump_table(conn: &Connection, table: &str, order: &str, out: &mut String) -> Result<()> {
    let mut stmt = conn.prepare(&format!("SELECT * FROM {table} ORDER BY {order}"))?;
    let names: Vec<String> = stmt.column_names().into_iter().map(str::to_string).collect();
    let mut rows = stmt.query([])?;
    while let Some(row) = rows.next()? {
        let mut map = Map::new();
        for (i, name) in names.iter().enumerate() {
            if !local_only(table, name) {
                map.insert(name.clone(), value(row.get_ref(i)?));
            }
        }
        out.push_str(table);
        out.push(' ');
        out.push_str(&canonical::json(&Value::Object(map)));
        out.push('\n');
    }
    Ok(())
}

/// The dump as text, one line per row.
pub(crate) fn dump(conn: &Connection) -> Result<String> {
    let mut out = String::new();
    for (table, order) in TABLES {
        dump_table(conn, table, order, &mut out)?;
    }
    let mut stmt = conn.prepare("SELECT op_id, content_hash FROM journal ORDER BY op_id")?;
    let mut rows = stmt.query([])?;
    while let Some(row) = rows.next()? {
        out.push_str(&format!("change {} {}\n", row.get::<_, String>(0)?, row.get::<_, String>(1)?));
    }
    drop(rows);
    let mut stmt = conn.prepare("SELECT op_id FROM quarantine ORDER BY op_id")?;
    let mut rows = stmt.query([])?;
    while let Some(row) = rows.next()? {
        out.push_str(&format!("kept aside {}\n", row.get::<_, String>(0)?));
    }
    drop(rows);
    let mut shown = conflicts::list(conn, false)?;
    shown.sort_by_key(|c| c.id);
    for c in shown {
        let members: Vec<String> = c.members.iter().map(|m| m.to_string()).collect();
        out.push_str(&format!(
            "conflict {} {} {} [{}] {}\n",
            c.id,
            c.kind,
            c.entity,
            members.join(","),
            c.resolution.map(|r| canonical::json(&r)).unwrap_or_else(|| "open".into())
        ));
    }
    Ok(out)
}

impl Store {
    /// The canonical dump of the synced data (see the module documentation), after looking for
    /// conflicts among changes not yet looked at.
    pub fn dump(&self) -> Result<String> {
        let conn = self.lock_writer();
        conflicts::refresh(&conn, &time::stored(self.clock.now()), &[])?;
        dump(&conn)
    }

    /// SHA-256 (hex) of the dump.
    pub fn dump_hash(&self) -> Result<String> {
        Ok(hex::encode(Sha256::digest(self.dump()?.as_bytes())))
    }
}
