//! The chain id of an L1 or L2 chain.
//!
//! op-node and op-supernode write chain ids into JSON as decimal strings (also as map keys) so
//! that ids above 2^53 survive JavaScript clients; rollup.json writes them as numbers. `ChainId`
//! serializes as a decimal string and accepts either form.

use core::fmt;
use core::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// An EIP-155 chain id.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ChainId(pub u64);

impl ChainId {
    /// The id as a plain integer.
    pub const fn get(self) -> u64 {
        self.0
    }

    /// The id as the 32-byte big-endian word used by super roots and P2P signing.
    pub fn to_be_word(self) -> [u8; 32] {
        let mut out = [0u8; 32];
        out[24..].copy_from_slice(&self.0.to_be_bytes());
        out
    }
}

impl From<u64> for ChainId {
    fn from(v: u64) -> Self {
        Self(v)
    }
}

impl From<ChainId> for u64 {
    fn from(v: ChainId) -> Self {
        v.0
    }
}

impl fmt::Display for ChainId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

/// A chain id that is not a decimal (or `0x` hex) unsigned 64-bit integer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid chain id {0:?}: expected a decimal or 0x-hex unsigned 64-bit integer")]
pub struct ParseChainIdError(pub String);

impl FromStr for ChainId {
    type Err = ParseChainIdError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let t = s.trim();
        let parsed = match t.strip_prefix("0x").or_else(|| t.strip_prefix("0X")) {
            Some(hex) => u64::from_str_radix(hex, 16),
            None => t.parse::<u64>(),
        };
        parsed
            .map(Self)
            .map_err(|_| ParseChainIdError(s.to_string()))
    }
}

impl Serialize for ChainId {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for ChainId {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl serde::de::Visitor<'_> for Visitor {
            type Value = ChainId;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a chain id as a decimal string or an unsigned integer")
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<ChainId, E> {
                Ok(ChainId(v))
            }
            fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<ChainId, E> {
                u64::try_from(v)
                    .map(ChainId)
                    .map_err(|_| E::custom(format!("negative chain id {v}")))
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<ChainId, E> {
                v.parse().map_err(E::custom)
            }
        }
        d.deserialize_any(Visitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    #[test]
    fn json_is_a_decimal_string_and_map_key() {
        let id = ChainId(11155420);
        assert_eq!(serde_json::to_string(&id).unwrap(), "\"11155420\"");
        let mut m = BTreeMap::new();
        m.insert(id, 7u8);
        assert_eq!(serde_json::to_string(&m).unwrap(), "{\"11155420\":7}");
        let back: BTreeMap<ChainId, u8> = serde_json::from_str("{\"11155420\":7}").unwrap();
        assert_eq!(back, m);
    }

    #[test]
    fn accepts_numbers_and_hex() {
        assert_eq!(serde_json::from_str::<ChainId>("10").unwrap(), ChainId(10));
        assert_eq!("0xa".parse::<ChainId>().unwrap(), ChainId(10));
        assert!("ten".parse::<ChainId>().is_err());
        assert!(serde_json::from_str::<ChainId>("-1").is_err());
    }

    #[test]
    fn be_word() {
        let w = ChainId(0x0102).to_be_word();
        assert_eq!(&w[..30], &[0u8; 30]);
        assert_eq!(&w[30..], &[1, 2]);
    }
}
