//! A change as it travels between nodes (SYNC.md, "Journal"): one record created or changed, by one
//! person on one node, with the fields that changed and a content hash over its canonical encoding.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use uuid::Uuid;

use crate::canonical::{self, Content};

/// Fields whose values travel to the practice's devices and the hub (so that staff can log in on any
/// PC of the practice) but are never shown or printed.
pub const SECRET_FIELDS: &[&str] = &["password_hash"];

/// One change.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Change {
    #[serde(deserialize_with = "crate::id::uuid")]
    pub op_id: Uuid,
    #[serde(deserialize_with = "crate::id::uuid")]
    pub node_id: Uuid,
    /// Dense, gap-free sequence of the node that made the change, from 1.
    #[serde(deserialize_with = "crate::whole::i64")]
    #[cfg_attr(feature = "openapi", schema(minimum = 1))]
    pub node_seq: i64,
    /// Hybrid logical clock stamp: milliseconds since 1970 shifted left 16 bits, plus a counter.
    #[serde(deserialize_with = "crate::whole::i64")]
    #[cfg_attr(feature = "openapi", schema(minimum = 0))]
    pub hlc: i64,
    /// The schema version of the database that made it.
    #[serde(deserialize_with = "crate::whole::u32")]
    #[cfg_attr(feature = "openapi", schema(value_type = u64, minimum = 0, maximum = 4294967295_u64))]
    pub schema_version: u32,
    /// The member of staff who made it.
    #[serde(deserialize_with = "crate::id::uuid")]
    pub actor_id: Uuid,
    /// The kind of record (`client`, `appointment`, `consultation`, ...).
    #[cfg_attr(feature = "openapi", schema(pattern = "^[a-z_]{1,40}$"))]
    pub entity: String,
    #[serde(deserialize_with = "crate::id::uuid")]
    pub entity_id: Uuid,
    /// `create` or `update`.
    #[cfg_attr(feature = "openapi", schema(pattern = "^(create|update)$"))]
    pub kind: String,
    /// Only the fields that changed.
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub payload: Value,
    /// For an update of a mutable record: each changed field's clock before the change.
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub base: Value,
    /// SHA-256 (hex) of the canonical encoding. A change whose content does not match it is
    /// refused (409, `refused`).
    #[cfg_attr(feature = "openapi", schema(pattern = "^[0-9a-f]{64}$"))]
    pub content_hash: String,
}

impl Change {
    /// The content hash this change should have (canonical encoding, format 2).
    pub fn computed_hash(&self) -> String {
        let (op, node, actor, id) =
            (self.op_id.to_string(), self.node_id.to_string(), self.actor_id.to_string(), self.entity_id.to_string());
        canonical::content_hash(&Content {
            op_id: &op,
            node_id: &node,
            node_seq: self.node_seq,
            hlc: self.hlc,
            schema_version: self.schema_version,
            actor_id: &actor,
            entity: &self.entity,
            entity_id: &id,
            kind: &self.kind,
            payload: &self.payload,
            base: &self.base,
        })
    }

    /// Whether the content hash matches the content.
    pub fn is_intact(&self) -> bool {
        self.computed_hash() == self.content_hash
    }

    /// Sets the content hash from the content.
    pub fn sealed(mut self) -> Change {
        self.content_hash = self.computed_hash();
        self
    }

    /// The same change with secret fields hidden, for showing or printing.
    pub fn redacted(&self) -> Change {
        let mut copy = self.clone();
        if let Value::Object(map) = &mut copy.payload {
            for name in SECRET_FIELDS {
                if map.contains_key(*name) {
                    map.insert((*name).to_string(), Value::String("(hidden)".into()));
                }
            }
        }
        copy
    }

    /// The UTC day of the change's clock (`YYYY-MM-DD`), for the daily comparison of `verify`.
    pub fn day(&self) -> String {
        day_of(self.hlc)
    }
}

/// The UTC day (`YYYY-MM-DD`) of a hybrid clock stamp.
pub fn day_of(hlc: i64) -> String {
    let millis = (hlc.max(0) as u64 >> 16) as i64;
    chrono::DateTime::from_timestamp_millis(millis).unwrap_or_default().date_naive().to_string()
}

#[cfg(test)]
mod tests {
    use serde_json::json;
    use uuid::Uuid;

    use super::Change;

    #[test]
    fn the_day_is_the_utc_date_of_the_clock() {
        let millis: i64 = 1_774_773_000_000; // 2026-03-29T08:30:00Z
        let c = Change {
            op_id: Uuid::nil(),
            node_id: Uuid::nil(),
            node_seq: 1,
            hlc: millis << 16 | 3,
            schema_version: 5,
            actor_id: Uuid::nil(),
            entity: "client".into(),
            entity_id: Uuid::nil(),
            kind: "create".into(),
            payload: json!({ "password_hash": "$argon2id$secret", "last_name": "Quillfeather" }),
            base: json!({}),
            content_hash: String::new(),
        }
        .sealed();
        assert_eq!(c.day(), "2026-03-29");
        assert!(c.is_intact());
        assert_eq!(c.redacted().payload, json!({ "password_hash": "(hidden)", "last_name": "Quillfeather" }));
    }
}
