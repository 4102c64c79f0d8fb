//! Interop safety levels with op-service's exact strings (`op-service/eth/safety/safety.go`,
//! specs `interop/supervisor.md#safetylevel`).
//!
//! ```text
//! weakest                                                         strongest
//! invalid < unsafe < cross-unsafe < local-safe < safe < finalized
//!           (local)                              (cross-safe)
//! ```
//! `unsafe` is local-unsafe and `safe` is cross-safe: the strings match the RPC block labels
//! (`latest`/`safe`/`finalized`) rather than the level names.

use core::fmt;
use core::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// How far a block or message is verified; ordered from weakest to strongest.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum SafetyLevel {
    /// Does not match the expected data.
    Invalid,
    /// Local-unsafe: the tip of the chain, RPC label `latest`.
    Unsafe,
    /// Unsafe, with cross-L2 dependencies verified at least cross-unsafe.
    CrossUnsafe,
    /// Reproducible from L1, cross-L2 dependencies not yet verified.
    LocalSafe,
    /// Cross-safe: local-safe with every dependency also reproducible from L1.
    CrossSafe,
    /// Cross-safe and derived only from finalized L1 data.
    Finalized,
}

impl SafetyLevel {
    /// Every level, weakest first.
    pub const ALL: [Self; 6] = [
        Self::Invalid,
        Self::Unsafe,
        Self::CrossUnsafe,
        Self::LocalSafe,
        Self::CrossSafe,
        Self::Finalized,
    ];

    /// The level's JSON string as op-service writes it.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Invalid => "invalid",
            Self::Unsafe => "unsafe",
            Self::CrossUnsafe => "cross-unsafe",
            Self::LocalSafe => "local-safe",
            Self::CrossSafe => "safe",
            Self::Finalized => "finalized",
        }
    }
}

impl fmt::Display for SafetyLevel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A string that is not one of op-service's safety level names.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "unrecognized safety level {0:?}: expected one of invalid, unsafe, cross-unsafe, local-safe, safe, finalized"
)]
pub struct ParseSafetyLevelError(pub String);

impl FromStr for SafetyLevel {
    type Err = ParseSafetyLevelError;

    /// Exact, case-sensitive match, as op-service's `UnmarshalText` does.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|level| level.as_str() == s)
            .ok_or_else(|| ParseSafetyLevelError(s.to_string()))
    }
}

impl Serialize for SafetyLevel {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for SafetyLevel {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl serde::de::Visitor<'_> for Visitor {
            type Value = SafetyLevel;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a safety level string")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<SafetyLevel, E> {
                v.parse().map_err(E::custom)
            }
        }
        d.deserialize_str(Visitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strings_match_op_service() {
        // op-service/eth/safety/safety.go constants.
        let expected = [
            (SafetyLevel::Invalid, "invalid"),
            (SafetyLevel::Unsafe, "unsafe"),
            (SafetyLevel::CrossUnsafe, "cross-unsafe"),
            (SafetyLevel::LocalSafe, "local-safe"),
            (SafetyLevel::CrossSafe, "safe"),
            (SafetyLevel::Finalized, "finalized"),
        ];
        for (level, s) in expected {
            assert_eq!(level.to_string(), s);
            assert_eq!(s.parse::<SafetyLevel>().unwrap(), level);
            let json = format!("\"{s}\"");
            assert_eq!(serde_json::to_string(&level).unwrap(), json);
            assert_eq!(serde_json::from_str::<SafetyLevel>(&json).unwrap(), level);
        }
    }

    #[test]
    fn ordering_weakest_to_strongest() {
        use SafetyLevel::*;
        assert!(Invalid < Unsafe);
        assert!(Unsafe < CrossUnsafe);
        assert!(CrossUnsafe < LocalSafe);
        assert!(LocalSafe < CrossSafe);
        assert!(CrossSafe < Finalized);
        let mut shuffled = [
            Finalized,
            Unsafe,
            CrossSafe,
            Invalid,
            LocalSafe,
            CrossUnsafe,
        ];
        shuffled.sort();
        assert_eq!(shuffled, SafetyLevel::ALL);
    }

    #[test]
    fn rejects_unknown_and_wrong_case() {
        for bad in [
            "",
            "Safe",
            "cross-safe",
            "local-unsafe",
            "latest",
            "pending",
        ] {
            let err = bad.parse::<SafetyLevel>().unwrap_err();
            assert_eq!(err, ParseSafetyLevelError(bad.to_string()));
            assert!(serde_json::from_str::<SafetyLevel>(&format!("\"{bad}\"")).is_err());
        }
        assert!(serde_json::from_str::<SafetyLevel>("3").is_err());
    }
}
