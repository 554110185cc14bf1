//! Per-field clocks: for each mutable record, the clock (HLC stamp and node) of each field's current
//! value. The merge keeps, field by field, the value with the later clock; a local change records the
//! clocks it replaced (its `base`), so that two changes made without seeing each other can be told
//! apart from one that followed the other.

use rusqlite::{params, Connection, OptionalExtension};
use serde_json::{Map, Value};
use uuid::Uuid;

use crate::error::Result;

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

/// The clocks of a record's fields.
pub(crate) fn load(conn: &Connection, entity: &str, id: Uuid) -> Result<Map<String, Value>> {
    let text: Option<String> = conn
        .prepare_cached("SELECT clocks FROM field_clock WHERE entity = ?1 AND entity_id = ?2")?
        .query_row(params![entity, id.to_string()], |r| r.get(0))
        .optional()?;
    Ok(text
        .and_then(|t| serde_json::from_str::<Value>(&t).ok())
        .and_then(|v| v.as_object().cloned())
        .unwrap_or_default())
}

pub(crate) fn save(conn: &Connection, entity: &str, id: Uuid, clocks: &Map<String, Value>) -> Result<()> {
    conn.prepare_cached(
        "INSERT INTO field_clock (entity, entity_id, clocks) VALUES (?1, ?2, ?3)
         ON CONFLICT (entity, entity_id) DO UPDATE SET clocks = excluded.clocks",
    )?
    .execute(params![
        entity,
        id.to_string(),
        lifeboat_protocol::canonical::json(&Value::Object(clocks.clone()))
    ])?;
    Ok(())
}

/// The latest HLC stamp among the clocks of `fields` of a record (0 when none has one).
pub(crate) fn latest(conn: &Connection, entity: &str, id: Uuid, fields: &Map<String, Value>) -> Result<i64> {
    let clocks = load(conn, entity, id)?;
    Ok(fields.keys().filter_map(|f| clocks.get(f).and_then(FieldClock::from_json)).map(|c| c.hlc).max().unwrap_or(0))
}

/// Sets the clock of each of `fields` to `clock` and returns what they were (the change's base).
pub(crate) fn stamp(
    conn: &Connection,
    entity: &str,
    id: Uuid,
    fields: &Map<String, Value>,
    clock: &FieldClock,
) -> Result<Value> {
    let mut clocks = load(conn, entity, id)?;
    let mut base = Map::new();
    // `created_at` is set once and never merged: it has no clock.
    for name in fields.keys().filter(|n| *n != "created_at") {
        if let Some(old) = clocks.get(name) {
            base.insert(name.clone(), old.clone());
        }
        clocks.insert(name.clone(), clock.to_json());
    }
    save(conn, entity, id, &clocks)?;
    Ok(Value::Object(base))
}
