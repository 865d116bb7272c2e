//! Numbers in request bodies as a JSON number or a decimal string (`"fromHeight": "2"`), the
//! way Cosmos JSON writes int64 and the way our own responses write heights. Use with
//! `#[serde(default, deserialize_with = "int::opt")]` on `Option<u64 | usize | f64>` fields.
//! Errors say what was expected, never the value.

use serde::de::{self, Deserializer, Visitor};
use std::fmt;
use std::marker::PhantomData;

/// A number type a request field may hold.
pub trait Number: Sized {
    const EXPECTED: &'static str;
    fn from_u64(v: u64) -> Option<Self>;
    fn from_i64(v: i64) -> Option<Self>;
    fn from_f64(v: f64) -> Option<Self>;
    fn from_text(s: &str) -> Option<Self>;
}

impl Number for u64 {
    const EXPECTED: &'static str = "a non-negative integer (number or decimal string)";
    fn from_u64(v: u64) -> Option<Self> {
        Some(v)
    }
    fn from_i64(v: i64) -> Option<Self> {
        u64::try_from(v).ok()
    }
    fn from_f64(_: f64) -> Option<Self> {
        None
    }
    fn from_text(s: &str) -> Option<Self> {
        s.parse().ok()
    }
}

impl Number for usize {
    const EXPECTED: &'static str = u64::EXPECTED;
    fn from_u64(v: u64) -> Option<Self> {
        usize::try_from(v).ok()
    }
    fn from_i64(v: i64) -> Option<Self> {
        usize::try_from(v).ok()
    }
    fn from_f64(_: f64) -> Option<Self> {
        None
    }
    fn from_text(s: &str) -> Option<Self> {
        s.parse().ok()
    }
}

impl Number for f64 {
    const EXPECTED: &'static str = "a number (or a decimal string)";
    fn from_u64(v: u64) -> Option<Self> {
        Some(v as f64)
    }
    fn from_i64(v: i64) -> Option<Self> {
        Some(v as f64)
    }
    fn from_f64(v: f64) -> Option<Self> {
        v.is_finite().then_some(v)
    }
    fn from_text(s: &str) -> Option<Self> {
        s.parse::<f64>().ok().filter(|v| v.is_finite())
    }
}

struct NumberVisitor<T>(PhantomData<T>);

impl<'de, T: Number> Visitor<'de> for NumberVisitor<T> {
    type Value = Option<T>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(T::EXPECTED)
    }

    fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(self)
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
        T::from_u64(v).map(Some).ok_or_else(|| E::custom(format!("out of range: expected {}", T::EXPECTED)))
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
        T::from_i64(v).map(Some).ok_or_else(|| E::custom(format!("out of range: expected {}", T::EXPECTED)))
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Self::Value, E> {
        T::from_f64(v).map(Some).ok_or_else(|| E::custom(format!("wrong type: expected {}", T::EXPECTED)))
    }

    fn visit_str<E: de::Error>(self, s: &str) -> Result<Self::Value, E> {
        if s.trim().is_empty() {
            return Ok(None);
        }
        T::from_text(s.trim())
            .map(Some)
            .ok_or_else(|| E::custom(format!("invalid number: expected {}", T::EXPECTED)))
    }
}

/// An optional number given as a JSON number or a decimal string (`null` = absent).
pub fn opt<'de, D: Deserializer<'de>, T: Number>(d: D) -> Result<Option<T>, D::Error> {
    d.deserialize_option(NumberVisitor(PhantomData))
}

#[cfg(test)]
mod tests {
    use serde::Deserialize;

    #[derive(Debug, Deserialize, PartialEq)]
    struct Req {
        #[serde(default, deserialize_with = "super::opt")]
        height: Option<u64>,
        #[serde(default, deserialize_with = "super::opt")]
        rate: Option<f64>,
    }

    fn read(text: &str) -> Result<Req, String> {
        serde_json::from_str(text).map_err(|e| e.to_string())
    }

    #[test]
    fn numbers_and_decimal_strings_are_the_same_value() {
        assert_eq!(read(r#"{"height": 7, "rate": 2.5}"#), Ok(Req { height: Some(7), rate: Some(2.5) }));
        assert_eq!(read(r#"{"height": "7", "rate": "2.5"}"#), Ok(Req { height: Some(7), rate: Some(2.5) }));
        assert_eq!(read(r#"{"height": null}"#), Ok(Req { height: None, rate: None }));
        assert_eq!(read(r#"{"height": ""}"#), Ok(Req { height: None, rate: None }));
        assert_eq!(read("{}"), Ok(Req { height: None, rate: None }));
    }

    #[test]
    fn wrong_numbers_say_what_was_expected_and_not_what_came() {
        for bad in [r#"{"height": -1}"#, r#"{"height": "x7"}"#, r#"{"height": 1.5}"#, r#"{"height": true}"#] {
            let e = read(bad).unwrap_err();
            assert!(e.contains("non-negative integer"), "{bad}: {e}");
            assert!(!e.contains("x7"), "{bad}: {e}");
        }
    }
}
