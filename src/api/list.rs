//! Lists in request bodies with a bound checked while they are read: a list longer than its
//! bound stops the parse at the first item too many, so a huge array costs no more memory
//! than the body itself and is refused as a 422 naming the field.

use serde::Deserialize;
use serde::de::{self, Deserializer, SeqAccess, Visitor};
use std::fmt;
use std::marker::PhantomData;

struct AtMost<T, const N: usize>(PhantomData<T>);

impl<'de, T: Deserialize<'de>, const N: usize> Visitor<'de> for AtMost<T, N> {
    type Value = Option<Vec<T>>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "a list of at most {N} items")
    }

    fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_seq(self)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(N));
        while let Some(item) = seq.next_element()? {
            if items.len() == N {
                return Err(de::Error::custom(format!("too many items: at most {N}")));
            }
            items.push(item);
        }
        Ok(Some(items))
    }
}

/// An optional list of at most `N` items (`null` = absent). Use with
/// `#[serde(default, deserialize_with = "crate::api::list::opt_at_most::<_, T, N>")]`.
pub fn opt_at_most<'de, D: Deserializer<'de>, T: Deserialize<'de>, const N: usize>(
    d: D,
) -> Result<Option<Vec<T>>, D::Error> {
    d.deserialize_option(AtMost::<T, N>(PhantomData))
}

#[cfg(test)]
mod tests {
    use serde::Deserialize;

    #[derive(Debug, Deserialize, PartialEq)]
    struct Req {
        #[serde(default, deserialize_with = "super::opt_at_most::<_, String, 2>")]
        steps: Option<Vec<String>>,
    }

    #[test]
    fn a_list_beyond_its_bound_is_refused_while_read() {
        let read = |t: &str| serde_json::from_str::<Req>(t).map_err(|e| e.to_string());
        assert_eq!(read(r#"{"steps":["a","b"]}"#), Ok(Req { steps: Some(vec!["a".into(), "b".into()]) }));
        assert_eq!(read(r#"{"steps":null}"#), Ok(Req { steps: None }));
        assert_eq!(read("{}"), Ok(Req { steps: None }));
        let huge = format!(r#"{{"steps":[{}"c"]}}"#, r#""a","#.repeat(100_000));
        let e = read(&huge).unwrap_err();
        assert!(e.starts_with("too many items: at most 2"), "{e}");
    }
}
