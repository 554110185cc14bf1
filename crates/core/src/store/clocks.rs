//! Per-field clocks: for each mutable record, the clock (HLC stamp and node) of each field's current
//! value. The merge keeps, field by field, the value with the later clock; a local change records the
//! clocks it replaced (its `base`), so that two changes made without seeing each other can be told
//! apart from one that followed the other.

use std::collections::BTreeMap;

use rusqlite::{params, Connection, OptionalExtension};
use serde_json::{Map, Value};
use uuid::Uuid;

use crate::error::{Error, Result};

/// A field's clock: the HLC stamp of its value's change, then the node that made it (ties broken by
/// node id, so every node orders two changes the same way).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct FieldClock {
    pub hlc: i64,
    pub node: String,
}

impl FieldClock {
    pub fn to_json(&self) -> Value {
        Value::Array(vec![Value::from(self.hlc), Value::String(self.node.clone())])
    }

    pub fn from_json(v: &Value) -> Option<FieldClock> {
        let a = v.as_array()?;
        Some(FieldClock { hlc: a.first()?.as_i64()?, node: a.get(1)?.as_str()?.to_string() })
    }
}

/// The clocks of a record's fields, field by field (`[hlc, node]` each).
pub(crate) fn load(conn: &Connection, entity: &str, id: Uuid) -> Result<Map<String, Value>> {
    let text: Option<String> = conn
        .prepare_cached("SELECT clocks FROM field_clock WHERE entity = ?1 AND entity_id = ?2")?
        .query_row(params![entity, id.to_string()], |r| r.get(0))
        .optional()?;
    match text {
        None => Ok(Map::new()),
        Some(text) => ungroup(&text).ok_or_else(|| Error::DamagedRecord(format!("the field clocks of {entity} {id}"))),
    }
}

/// Stores a record's clocks grouped by clock (migration 19): `[[hlc, "node", ["field", ...]], ...]`,
/// groups in clock order and fields in name order, so that the same clocks are always the same text.
pub(crate) fn save(conn: &Connection, entity: &str, id: Uuid, clocks: &Map<String, Value>) -> Result<()> {
    conn.prepare_cached(
        "INSERT INTO field_clock (entity, entity_id, clocks) VALUES (?1, ?2, ?3)
         ON CONFLICT (entity, entity_id) DO UPDATE SET clocks = excluded.clocks",
    )?
    .execute(params![entity, id.to_string(), group(clocks)?])?;
    Ok(())
}

fn group(clocks: &Map<String, Value>) -> Result<String> {
    let mut groups: BTreeMap<FieldClock, Vec<&str>> = BTreeMap::new();
    for (field, clock) in clocks {
        let clock = FieldClock::from_json(clock)
            .ok_or_else(|| Error::Internal(format!("the clock of field {field} is not [hlc, node]")))?;
        groups.entry(clock).or_default().push(field);
    }
    let groups: Vec<Value> = groups
        .into_iter()
        .map(|(clock, mut fields)| {
            fields.sort_unstable();
            Value::Array(vec![
                Value::from(clock.hlc),
                Value::String(clock.node),
                Value::Array(fields.into_iter().map(|f| Value::String(f.to_string())).collect()),
            ])
        })
        .collect();
    Ok(lifeboat_protocol::canonical::json(&Value::Array(groups)))
}

fn ungroup(text: &str) -> Option<Map<String, Value>> {
    let groups: Vec<(i64, String, Vec<String>)> = serde_json::from_str(text).ok()?;
    let mut clocks = Map::new();
    for (hlc, node, fields) in groups {
        let clock = FieldClock { hlc, node }.to_json();
        for field in fields {
            clocks.insert(field, clock.clone());
        }
    }
    Some(clocks)
}

/// Migration 19, the conversion: its SQL turns every row's object into groups with `json_each` and
/// two `GROUP BY`s, which sort one row per field of every record at once, in memory (`temp_store` is
/// `MEMORY`): 26 s and 885 MiB on the L practice (`lifeboat-bench upgrade`), three times that on XL. This runs before that SQL,
/// reading the old rows one at a time, writing each converted row to a table of its own and emptying
/// the old one, so the SQL's conversion finds nothing to do; `after_migration_19` puts the rows in
/// the new table. The text is `group`'s, as written since; it equals the SQL's for every row an
/// earlier Lifeboat wrote (tests/migrations.rs compares the two). A row that is not an object of
/// `[hlc, "node"]` clocks (damage: no Lifeboat wrote one) is kept as it was, so that `load` reports
/// that record as damaged instead of the upgrade failing, or the record's clocks becoming none.
pub(crate) fn before_migration_19(conn: &Connection) -> Result<()> {
    conn.execute_batch(
        "CREATE TABLE field_clock_regrouped (entity TEXT NOT NULL, entity_id TEXT NOT NULL, clocks TEXT NOT NULL) STRICT",
    )?;
    {
        let mut read = conn.prepare("SELECT entity, entity_id, clocks FROM field_clock")?;
        let mut write =
            conn.prepare("INSERT INTO field_clock_regrouped (entity, entity_id, clocks) VALUES (?1, ?2, ?3)")?;
        let mut rows = read.query([])?;
        while let Some(row) = rows.next()? {
            let (entity, id, text): (String, String, String) = (row.get(0)?, row.get(1)?, row.get(2)?);
            let regrouped = serde_json::from_str::<Map<String, Value>>(&text)
                .ok()
                .filter(|clocks| clocks.values().all(|c| FieldClock::from_json(c).is_some()))
                .and_then(|clocks| group(&clocks).ok());
            write.execute(params![entity, id, regrouped.unwrap_or(text)])?;
        }
    }
    conn.execute_batch("DELETE FROM field_clock")?;
    Ok(())
}

/// Migration 19, after its SQL: the converted rows into the new table (in key order, as read).
pub(crate) fn after_migration_19(conn: &Connection) -> Result<()> {
    conn.execute_batch(
        "INSERT INTO field_clock (entity, entity_id, clocks)
         SELECT entity, entity_id, clocks FROM field_clock_regrouped ORDER BY rowid;
         DROP TABLE field_clock_regrouped;",
    )?;
    Ok(())
}

/// Stamps `fields` of a record for a local change by `node` at `at` (an HLC stamp) and returns the
/// stamp used and the clocks the fields had (the change's base), reading the record's clocks once.
/// The stamp is `at`, or just after the latest clock among those fields when one is at or past it
/// (set by a peer whose clock is wrong), so that the change wins everywhere as it does here.
pub(crate) fn stamp(
    conn: &Connection,
    entity: &str,
    id: Uuid,
    fields: &Map<String, Value>,
    node: &str,
    at: i64,
) -> Result<(i64, Value)> {
    let mut clocks = load(conn, entity, id)?;
    let latest =
        fields.keys().filter_map(|f| clocks.get(f).and_then(FieldClock::from_json)).map(|c| c.hlc).max().unwrap_or(0);
    let hlc = if latest >= at { latest.saturating_add(1) } else { at };
    let clock = FieldClock { hlc, node: node.to_string() }.to_json();
    let mut base = Map::new();
    // `created_at` is set once and never merged: it has no clock.
    for name in fields.keys().filter(|n| *n != "created_at") {
        if let Some(old) = clocks.get(name) {
            base.insert(name.clone(), old.clone());
        }
        clocks.insert(name.clone(), clock.clone());
    }
    save(conn, entity, id, &clocks)?;
    Ok((hlc, Value::Object(base)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn clock(hlc: i64, node: &str) -> Value {
        FieldClock { hlc, node: node.into() }.to_json()
    }

    /// The text written here is the text migration 19 makes of the same clocks (pinned by the same
    /// literal in tests/migrations.rs), so a PC upgraded and a PC made new hold the same rows.
    #[test]
    fn clocks_are_grouped_by_clock_in_one_order_and_read_back_whole() {
        let mut clocks = Map::new();
        clocks.insert("town".into(), clock(116312891392000003, "n1"));
        clocks.insert("phone".into(), clock(116312999999000001, "n2"));
        clocks.insert("last_name".into(), clock(116312891392000003, "n1"));
        clocks.insert("email".into(), clock(116312999999000001, "n0"));
        clocks.insert("first_name".into(), clock(116312891392000003, "n1"));
        let text = group(&clocks).unwrap();
        assert_eq!(
            text,
            r#"[[116312891392000003,"n1",["first_name","last_name","town"]],[116312999999000001,"n0",["email"]],[116312999999000001,"n2",["phone"]]]"#
        );
        assert_eq!(ungroup(&text).unwrap(), clocks);
        assert_eq!(group(&Map::new()).unwrap(), "[]");
        assert_eq!(ungroup("[]").unwrap(), Map::new());
    }

    /// Stamps order as numbers, not as text.
    #[test]
    fn groups_follow_the_stamps_as_numbers() {
        let mut clocks = Map::new();
        clocks.insert("b".into(), clock(10, "n1"));
        clocks.insert("a".into(), clock(9, "n1"));
        assert_eq!(group(&clocks).unwrap(), r#"[[9,"n1",["a"]],[10,"n1",["b"]]]"#);
    }

    /// A record whose clocks an upgrade could not read (no Lifeboat wrote such a row) is reported as
    /// damaged when read, its neighbours unharmed; the upgrade itself goes through.
    #[test]
    fn an_unreadable_row_survives_the_upgrade_and_is_reported_when_read() {
        let mut conn = Connection::open_in_memory().unwrap();
        crate::store::migrations::migrate_to(&mut conn, 18).unwrap();
        let (good, bad) = (Uuid::now_v7(), Uuid::now_v7());
        conn.execute(
            "INSERT INTO field_clock (entity, entity_id, clocks) VALUES ('client', ?1, '{\"phone\":[7,\"n1\"]}'), ('client', ?2, '{\"phone\":')",
            params![good.to_string(), bad.to_string()],
        )
        .unwrap();
        crate::store::migrations::migrate_to(&mut conn, 19).unwrap();
        let mut expected = Map::new();
        expected.insert("phone".into(), clock(7, "n1"));
        assert_eq!(load(&conn, "client", good).unwrap(), expected);
        let err = load(&conn, "client", bad).unwrap_err();
        assert_eq!(err.to_string(), format!("a stored record is damaged: the field clocks of client {bad}"));
    }

    #[test]
    fn damaged_clocks_are_reported_not_taken_for_none() {
        for text in ["", "{}", r#"{"phone":[1,"n1"]}"#, r#"[[1,"n1"]]"#, r#"[["1","n1",["phone"]]]"#] {
            assert!(ungroup(text).is_none(), "{text:?}");
        }
        let mut bad = Map::new();
        bad.insert("phone".into(), Value::from(3));
        assert!(group(&bad).is_err());
    }
}
