//! Serde helpers that reproduce Go `encoding/json` behaviour in op-node's RPC types.
//!
//! - Go writes map keys sorted by their text form, so chain-id keyed maps come out in string
//!   order (`"11155420"` before `"8453"`), not numeric order.
//! - Go writes a nil map or slice as `null`; we read `null` as empty.
//! - `hexutil.Bytes{b}` for a one-byte version field is written `"0x01"`.

use std::collections::BTreeMap;

use alloy::primitives::hex;
use serde::de::Error as _;
use serde::ser::SerializeMap;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::ChainId;

/// Serializes a chain-id keyed map with keys in Go's order (bytewise on the decimal string).
pub(crate) fn serialize_go_map<V: Serialize, S: Serializer>(
    map: &BTreeMap<ChainId, V>,
    s: S,
) -> Result<S::Ok, S::Error> {
    let mut entries: Vec<(String, &V)> = map.iter().map(|(k, v)| (k.to_string(), v)).collect();
    entries.sort_by(|a, b| a.0.cmp(&b.0));
    let mut out = s.serialize_map(Some(entries.len()))?;
    for (k, v) in entries {
        out.serialize_entry(&k, v)?;
    }
    out.end()
}

/// Reads a value that Go may write as `null` (nil map or slice), giving the empty value.
pub(crate) fn null_as_default<'de, T, D>(d: D) -> Result<T, D::Error>
where
    T: Deserialize<'de> + Default,
    D: Deserializer<'de>,
{
    Ok(Option::<T>::deserialize(d)?.unwrap_or_default())
}

/// A single byte written as `hexutil.Bytes`: `"0x01"`.
pub(crate) mod one_byte_hex {
    use super::*;

    pub(crate) fn serialize<S: Serializer>(v: &u8, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&hex::encode_prefixed([*v]))
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<u8, D::Error> {
        let text = String::deserialize(d)?;
        let digits = text
            .strip_prefix("0x")
            .ok_or_else(|| D::Error::custom(format!("byte {text:?} lacks the 0x prefix")))?;
        let bytes = hex::decode(digits)
            .map_err(|e| D::Error::custom(format!("byte {text:?} is not hex: {e}")))?;
        match bytes.as_slice() {
            [b] => Ok(*b),
            other => Err(D::Error::custom(format!(
                "expected exactly 1 byte, got {} in {text:?}",
                other.len()
            ))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Serialize, Deserialize, Debug, PartialEq, Default)]
    struct Probe {
        #[serde(
            serialize_with = "serialize_go_map",
            deserialize_with = "null_as_default"
        )]
        m: BTreeMap<ChainId, u8>,
        #[serde(with = "one_byte_hex")]
        v: u8,
    }

    #[test]
    fn map_keys_in_go_string_order() {
        let mut m = BTreeMap::new();
        m.insert(ChainId(8453), 1);
        m.insert(ChainId(11155420), 2);
        m.insert(ChainId(10), 3);
        let json = serde_json::to_string(&Probe { m, v: 1 }).unwrap();
        assert_eq!(json, r#"{"m":{"10":3,"11155420":2,"8453":1},"v":"0x01"}"#);
        let back: Probe = serde_json::from_str(&json).unwrap();
        assert_eq!(serde_json::to_string(&back).unwrap(), json);
    }

    #[test]
    fn null_map_is_empty() {
        let p: Probe = serde_json::from_str(r#"{"m":null,"v":"0xff"}"#).unwrap();
        assert_eq!(
            p,
            Probe {
                m: BTreeMap::new(),
                v: 0xff
            }
        );
    }

    #[test]
    fn one_byte_rejects_bad_input() {
        for bad in [r#""01""#, r#""0x""#, r#""0x0102""#, r#""0xzz""#, "1"] {
            let json = format!(r#"{{"m":{{}},"v":{bad}}}"#);
            assert!(serde_json::from_str::<Probe>(&json).is_err(), "{bad}");
        }
    }
}
