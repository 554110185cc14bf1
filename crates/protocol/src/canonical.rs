//! The canonical encoding of a change: the bytes its content hash covers, written out here field by
//! field rather than left to a serialiser's choices (key order, spacing, escaping), so that every node
//! and the hub compute the same hash for the same change, today and in every later version.
//!
//! JSON values are written with object keys in byte order, no whitespace, strings escaped as JSON
//! requires (`\"`, `\\`, control characters as `\u00XX`, everything else as UTF-8), numbers as
//! serde_json writes them (integers in decimal; floats shortest round-trip, which the workspace's
//! `float_roundtrip` feature reads back to the same float on every node). Fields are written as
//! `name=length:value` lines, so no value can be mistaken for the next field.

use std::fmt::Write as _;

use serde_json::Value;
use sha2::{Digest, Sha256};

/// A JSON value in canonical form.
pub fn json(value: &Value) -> String {
    let mut out = String::new();
    write_value(&mut out, value);
    out
}

fn write_value(out: &mut String, value: &Value) {
    match value {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) => out.push_str(&n.to_string()),
        Value::String(s) => write_string(out, s),
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_value(out, item);
            }
            out.push(']');
        }
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            out.push('{');
            for (i, key) in keys.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_string(out, key);
                out.push(':');
                write_value(out, &map[key]);
            }
            out.push('}');
        }
    }
}

fn write_string(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

/// The fields of a change that its content hash covers.
pub struct Content<'a> {
    pub op_id: &'a str,
    pub node_id: &'a str,
    pub node_seq: i64,
    pub hlc: i64,
    pub schema_version: u32,
    pub actor_id: &'a str,
    pub entity: &'a str,
    pub entity_id: &'a str,
    pub kind: &'a str,
    pub payload: &'a Value,
    pub base: &'a Value,
}

/// SHA-256 (hex) of a change in canonical form, hash format 2.
pub fn content_hash(c: &Content<'_>) -> String {
    let mut text = String::from("lifeboat-change-2\n");
    let mut field = |name: &str, value: &str| {
        let _ = writeln!(text, "{name}={}:{value}", value.len());
    };
    field("op_id", c.op_id);
    field("node_id", c.node_id);
    field("node_seq", &c.node_seq.to_string());
    field("hlc", &c.hlc.to_string());
    field("schema_version", &c.schema_version.to_string());
    field("actor_id", c.actor_id);
    field("entity", c.entity);
    field("entity_id", c.entity_id);
    field("kind", c.kind);
    field("payload", &json(c.payload));
    field("base", &json(c.base));
    hex::encode(Sha256::digest(text.as_bytes()))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    /// Found by fuzzing: a long number parsed without `float_roundtrip` became a float whose shortest
    /// form read back as another float, so a peer parsing the change would compute another hash.
    #[test]
    fn a_float_reads_back_to_the_same_canonical_text() {
        for text in [format!("\t\t{}", "3".repeat(168)), "0.30000000000000004".into(), "1e-320".into(), "12.5".into()] {
            let first: Value = serde_json::from_str(&text).unwrap();
            let written = json(&first);
            let again: Value = serde_json::from_str(&written).unwrap();
            assert_eq!(json(&again), written, "from {text:?}");
        }
    }

    #[test]
    fn keys_are_sorted_and_nothing_depends_on_insertion_order() {
        let a = json!({ "b": 1, "a": [true, null, "x\"y\\z\n"], "c": { "z": 1.5, "y": "é" } });
        assert_eq!(json(&a), r#"{"a":[true,null,"x\"y\\z\u000a"],"b":1,"c":{"y":"é","z":1.5}}"#);
        let mut m = serde_json::Map::new();
        m.insert("z".into(), json!(1));
        m.insert("a".into(), json!(2));
        assert_eq!(json(&Value::Object(m)), r#"{"a":2,"z":1}"#);
    }

    /// The hash of a fixed change is pinned: a change to the encoding would make every node disagree
    /// with every change already shipped. The pinned value is the SHA-256 of exactly this text, which
    /// anyone can check without this code:
    ///
    /// ```text
    /// printf 'lifeboat-change-2\nop_id=36:018f0000-0000-7000-8000-000000000001\nnode_id=36:018f0000-0000-7000-8000-0000000000aa\nnode_seq=1:7\nhlc=9:123456789\nschema_version=1:5\nactor_id=36:018f0000-0000-7000-8000-0000000000bb\nentity=6:client\nentity_id=36:018f0000-0000-7000-8000-0000000000cc\nkind=6:create\npayload=51:{"last_name":"Quillfeather","phone":"07700 900461"}\nbase=2:{}\n' | sha256sum
    /// ```
    #[test]
    fn the_content_hash_of_a_known_change_is_pinned() {
        let payload = json!({ "last_name": "Quillfeather", "phone": "07700 900461" });
        let c = Content {
            op_id: "018f0000-0000-7000-8000-000000000001",
            node_id: "018f0000-0000-7000-8000-0000000000aa",
            node_seq: 7,
            hlc: 123_456_789,
            schema_version: 5,
            actor_id: "018f0000-0000-7000-8000-0000000000bb",
            entity: "client",
            entity_id: "018f0000-0000-7000-8000-0000000000cc",
            kind: "create",
            payload: &payload,
            base: &json!({}),
        };
        assert_eq!(content_hash(&c), "1215512c6a160ef1b52ad31621b58598ac334c436f923cd1cb8332ddf31531b3");
    }
}
