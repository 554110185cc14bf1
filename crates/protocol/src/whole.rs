//! Whole numbers as JSON may write them. JSON has one kind of number, and JSON Schema (which the
//! hub's OpenAPI description uses) counts `324.0` as the integer 324, where serde takes only `324`
//! for an integer field. The integer fields of the requests read both, refuse a fraction or a
//! number out of the field's range naming it, and are always written as `324`.

use std::fmt;
use std::marker::PhantomData;

use serde::de::{self, Deserializer, Unexpected, Visitor};

struct Whole<T>(PhantomData<T>);

impl<T: TryFrom<i128>> Whole<T> {
    fn fit<E: de::Error>(&self, n: i128) -> Result<T, E> {
        T::try_from(n).map_err(|_| E::invalid_value(Unexpected::Other("a number out of range"), self))
    }
}

impl<T: TryFrom<i128>> Visitor<'_> for Whole<T> {
    type Value = T;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        write!(f, "a whole number that fits {}", std::any::type_name::<T>())
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<T, E> {
        self.fit(v.into())
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<T, E> {
        self.fit(v.into())
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<T, E> {
        // Below 2^53, a float with no fraction is exactly the integer written. (serde_json also reads
        // an integer too large for 64 bits as a float, rounded: refused, since it is out of range.)
        if v.is_finite() && v.fract() == 0.0 && v.abs() < 9_007_199_254_740_992.0 {
            self.fit(v as i128)
        } else {
            Err(E::invalid_value(Unexpected::Float(v), &self))
        }
    }
}

fn whole<'de, D: Deserializer<'de>, T: TryFrom<i128>>(d: D) -> Result<T, D::Error> {
    d.deserialize_i64(Whole(PhantomData))
}

pub fn i64<'de, D: Deserializer<'de>>(d: D) -> Result<i64, D::Error> {
    whole(d)
}

pub fn u32<'de, D: Deserializer<'de>>(d: D) -> Result<u32, D::Error> {
    whole(d)
}

/// A count: 0 to 2^63 - 1, what the description's `int64` allows.
pub fn count<'de, D: Deserializer<'de>>(d: D) -> Result<u64, D::Error> {
    let n: i64 = whole(d)?;
    u64::try_from(n).map_err(|_| de::Error::invalid_value(Unexpected::Signed(n), &"a count, 0 or more"))
}

#[cfg(test)]
mod tests {
    #[derive(serde::Deserialize, Debug)]
    struct N {
        #[serde(deserialize_with = "super::i64")]
        a: i64,
        #[serde(deserialize_with = "super::u32")]
        b: u32,
    }

    fn read(text: &str) -> Result<(i64, u32), String> {
        serde_json::from_str::<N>(text).map(|n| (n.a, n.b)).map_err(|e| e.to_string())
    }

    #[test]
    fn whole_numbers_read_with_or_without_a_point_and_nothing_else_does() {
        assert_eq!(read(r#"{"a": 324, "b": 7}"#), Ok((324, 7)));
        assert_eq!(read(r#"{"a": 324.0, "b": 7.0}"#), Ok((324, 7)));
        assert_eq!(read(r#"{"a": -5e2, "b": 4294967295}"#), Ok((-500, u32::MAX)));
        assert_eq!(read(r#"{"a": 9223372036854775807, "b": 0}"#), Ok((i64::MAX, 0)));
        for (text, what) in [
            (r#"{"a": 1.5, "b": 1}"#, "floating point `1.5`"),
            (r#"{"a": 1, "b": -1}"#, "a number out of range"),
            (r#"{"a": 1, "b": 4294967296}"#, "a number out of range"),
            (r#"{"a": 9223372036854775808, "b": 1}"#, "a number out of range"),
            (r#"{"a": 1e300, "b": 1}"#, "floating point"),
            (r#"{"a": -9223372036854775809, "b": 1}"#, "floating point"),
            (r#"{"a": 9007199254740994.0, "b": 1}"#, "floating point"),
            (r#"{"a": 9007199254740993.0, "b": 1}"#, "floating point"),
            (r#"{"a": "1", "b": 1}"#, "invalid type: string"),
        ] {
            let err = read(text).expect_err(text);
            assert!(err.contains(what), "{text}: {err}");
        }
    }
}
