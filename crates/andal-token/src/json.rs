//! JSON parsing that rejects duplicate object members at any depth.
//!
//! serde_json keeps the last of duplicate members silently; two parsers
//! disagreeing on which one counts is a classic JWS confusion, so we refuse.

use std::fmt;

use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};

use crate::{Part, TokenError};

const DUP_MARKER: &str = "andal: duplicate JSON member";

/// Walks a JSON document without building it, failing on duplicate members.
struct DupCheck;

impl<'de> Deserialize<'de> for DupCheck {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(DupCheckVisitor)
    }
}

struct DupCheckVisitor;

/// A map key, borrowed from the input when it has no escapes.
struct Key<'de>(std::borrow::Cow<'de, str>);

impl<'de> Deserialize<'de> for Key<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct KV;
        impl<'de> Visitor<'de> for KV {
            type Value = Key<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string key")
            }
            fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Key<'de>, E> {
                Ok(Key(std::borrow::Cow::Borrowed(v)))
            }
            fn visit_str<E>(self, v: &str) -> Result<Key<'de>, E> {
                Ok(Key(std::borrow::Cow::Owned(v.to_owned())))
            }
            fn visit_string<E>(self, v: String) -> Result<Key<'de>, E> {
                Ok(Key(std::borrow::Cow::Owned(v)))
            }
        }
        d.deserialize_str(KV)
    }
}

impl<'de> Visitor<'de> for DupCheckVisitor {
    type Value = DupCheck;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }
    fn visit_bool<E>(self, _: bool) -> Result<DupCheck, E> {
        Ok(DupCheck)
    }
    fn visit_i64<E>(self, _: i64) -> Result<DupCheck, E> {
        Ok(DupCheck)
    }
    fn visit_u64<E>(self, _: u64) -> Result<DupCheck, E> {
        Ok(DupCheck)
    }
    fn visit_f64<E>(self, _: f64) -> Result<DupCheck, E> {
        Ok(DupCheck)
    }
    fn visit_str<E>(self, _: &str) -> Result<DupCheck, E> {
        Ok(DupCheck)
    }
    fn visit_unit<E>(self) -> Result<DupCheck, E> {
        Ok(DupCheck)
    }
    fn visit_none<E>(self) -> Result<DupCheck, E> {
        Ok(DupCheck)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<DupCheck, A::Error> {
        while seq.next_element::<DupCheck>()?.is_some() {}
        Ok(DupCheck)
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<DupCheck, A::Error> {
        // Small objects: linear scan; large ones: ordered set (no quadratic blow-up).
        let mut small: Vec<Key<'de>> = Vec::new();
        let mut large: std::collections::BTreeSet<std::borrow::Cow<'de, str>> = Default::default();
        while let Some(k) = map.next_key::<Key<'de>>()? {
            let dup = if large.is_empty() && small.len() < 16 {
                let d = small.iter().any(|s| s.0 == k.0);
                small.push(k);
                d
            } else {
                large.extend(small.drain(..).map(|k| k.0));
                !large.insert(k.0)
            };
            if dup {
                return Err(de::Error::custom(DUP_MARKER));
            }
            map.next_value::<DupCheck>()?;
        }
        Ok(DupCheck)
    }
}

/// Parse strictly then map onto a typed struct: one pass rejecting duplicate
/// members anywhere, then serde's typed parse of the same bytes.
pub(crate) fn parse_typed<T: serde::de::DeserializeOwned>(
    bytes: &[u8],
    part: Part,
) -> Result<T, TokenError> {
    match serde_json::from_slice::<DupCheck>(bytes) {
        Ok(DupCheck) => {}
        Err(e) if e.to_string().contains(DUP_MARKER) => {
            return Err(TokenError::DuplicateKey { part });
        }
        Err(_) => return Err(TokenError::Malformed { part }),
    }
    // Objects only at the top level.
    if bytes.iter().find(|b| !b.is_ascii_whitespace()) != Some(&b'{') {
        return Err(TokenError::Malformed { part });
    }
    serde_json::from_slice(bytes).map_err(|_| TokenError::Malformed { part })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(serde::Deserialize)]
    struct Any {}

    #[test]
    fn duplicates_rejected_at_any_depth() {
        for doc in [
            r#"{"a":1,"a":2}"#,
            r#"{"a":{"b":[{"c":1,"c":1}]}}"#,
            r#"{"a":1,"\u0061":2}"#,
            r#"{"x":[1,{"k":null,"k":null}]}"#,
        ] {
            assert_eq!(
                parse_typed::<Any>(doc.as_bytes(), Part::Claims).err(),
                Some(TokenError::DuplicateKey { part: Part::Claims }),
                "{doc}"
            );
        }
    }

    #[test]
    fn large_objects_checked_without_quadratic_cost() {
        let mut doc = String::from("{");
        for i in 0..50_000 {
            doc.push_str(&format!("\"k{i}\":{i},"));
        }
        doc.push_str("\"k49999\":0}");
        assert_eq!(
            parse_typed::<Any>(doc.as_bytes(), Part::Claims).err(),
            Some(TokenError::DuplicateKey { part: Part::Claims })
        );
    }

    #[test]
    fn non_objects_and_garbage_are_malformed() {
        for doc in ["[]", "1", "\"s\"", "{", "{} {}", "", "{\"a\":1,}"] {
            assert_eq!(
                parse_typed::<Any>(doc.as_bytes(), Part::Claims).err(),
                Some(TokenError::Malformed { part: Part::Claims }),
                "{doc}"
            );
        }
    }
}
