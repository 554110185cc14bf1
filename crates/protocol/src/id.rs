//! Ids as the OpenAPI description's `format: uuid` has them: 36 characters, hex in groups of 8, 4,
//! 4, 4 and 12 joined by hyphens (either case). The `uuid` crate also reads the 32-character,
//! braced and `urn:uuid:` forms; the requests refuse them, so that what the description forbids is
//! never taken.

use serde::de::{self, Deserialize, Deserializer, Unexpected};
use uuid::Uuid;

fn hyphenated<E: de::Error>(text: &str) -> Result<Uuid, E> {
    let b = text.as_bytes();
    let shaped = b.len() == 36
        && b.iter()
            .enumerate()
            .all(|(i, c)| if matches!(i, 8 | 13 | 18 | 23) { *c == b'-' } else { c.is_ascii_hexdigit() });
    if !shaped {
        return Err(E::invalid_value(Unexpected::Str(text), &"an id of 36 characters (8-4-4-4-12 hex digits)"));
    }
    Uuid::parse_str(text).map_err(|_| E::invalid_value(Unexpected::Str(text), &"an id"))
}

pub fn uuid<'de, D: Deserializer<'de>>(d: D) -> Result<Uuid, D::Error> {
    let text: std::borrow::Cow<'de, str> = Deserialize::deserialize(d)?;
    hyphenated(&text)
}

pub fn option_uuid<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Uuid>, D::Error> {
    let text: Option<std::borrow::Cow<'de, str>> = Deserialize::deserialize(d)?;
    text.map(|t| hyphenated(&t)).transpose()
}

#[cfg(test)]
mod tests {
    use uuid::Uuid;

    #[derive(serde::Deserialize, Debug)]
    struct Ids {
        #[serde(deserialize_with = "super::uuid")]
        id: Uuid,
        #[serde(default, deserialize_with = "super::option_uuid")]
        other: Option<Uuid>,
    }

    #[test]
    fn only_the_hyphenated_form_is_an_id() {
        let id = Uuid::parse_str("0193a0b0-0000-7000-8000-000000000001").unwrap();
        let read = |text: &str| serde_json::from_str::<Ids>(text).map(|i| (i.id, i.other)).map_err(|e| e.to_string());
        assert_eq!(read(r#"{"id": "0193a0b0-0000-7000-8000-000000000001"}"#), Ok((id, None)));
        assert_eq!(read(r#"{"id": "0193A0B0-0000-7000-8000-000000000001", "other": null}"#), Ok((id, None)));
        assert_eq!(
            read(r#"{"id": "0193a0b0-0000-7000-8000-000000000001", "other": "0193a0b0-0000-7000-8000-000000000001"}"#),
            Ok((id, Some(id)))
        );
        for form in [
            "0193a0b0000070008000000000000001",
            "{0193a0b0-0000-7000-8000-000000000001}",
            "urn:uuid:0193a0b0-0000-7000-8000-000000000001",
            "0193a0b0-0000-7000-8000-00000000000g",
            "0193a0b0-0000-7000-8000+000000000001",
            "",
        ] {
            let err = read(&format!(r#"{{"id": "{form}"}}"#)).expect_err(form);
            assert!(err.contains("an id of 36 characters"), "{form}: {err}");
            let err = read(&format!(r#"{{"id": "{id}", "other": "{form}"}}"#)).expect_err(form);
            assert!(err.contains("an id of 36 characters"), "{form}: {err}");
        }
    }
}
