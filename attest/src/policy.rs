//! A follower's trust policy: the public keys it trusts and how many of them must agree.
//! `k = 1, keys = [sequencer]` is the sequencer-attested following mode.

use std::collections::BTreeMap;

use crate::batch_verify::PreparedKey;
use crate::keys::PublicKey;
use crate::signed::VerifyError;

/// Trusted signer keys (decoded once) and the threshold k.
#[derive(Clone, Debug)]
pub struct TrustPolicy {
    keys: BTreeMap<PublicKey, PreparedKey>,
    threshold: usize,
}

/// A trust policy that cannot work.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PolicyError {
    /// k = 0 would accept heads nobody attested.
    #[error("threshold must be at least 1")]
    ZeroThreshold,
    /// k larger than the number of keys can never be met.
    #[error("threshold {threshold} exceeds the {keys} trusted keys")]
    ThresholdTooHigh {
        /// The requested k.
        threshold: usize,
        /// Number of distinct keys.
        keys: usize,
    },
    /// The same key listed twice would count one signer twice in the operator's head.
    #[error("trusted key {key} at index {index} is listed twice")]
    DuplicateKey {
        /// Position in the given list.
        index: usize,
        /// The key.
        key: PublicKey,
    },
    /// A key that strict verification never accepts signatures from.
    #[error("trusted key {key} at index {index}: {reason}")]
    UnusableKey {
        /// Position in the given list.
        index: usize,
        /// The key.
        key: PublicKey,
        /// Why it is unusable.
        reason: VerifyError,
    },
}

impl TrustPolicy {
    /// A policy trusting `keys`, needing `threshold` of them to agree.
    pub fn new(
        keys: impl IntoIterator<Item = PublicKey>,
        threshold: usize,
    ) -> Result<Self, PolicyError> {
        let mut map = BTreeMap::new();
        for (index, key) in keys.into_iter().enumerate() {
            let prepared = PreparedKey::new(&key).map_err(|reason| PolicyError::UnusableKey {
                index,
                key,
                reason,
            })?;
            if map.insert(key, prepared).is_some() {
                return Err(PolicyError::DuplicateKey { index, key });
            }
        }
        if threshold == 0 {
            return Err(PolicyError::ZeroThreshold);
        }
        if threshold > map.len() {
            return Err(PolicyError::ThresholdTooHigh {
                threshold,
                keys: map.len(),
            });
        }
        Ok(Self {
            keys: map,
            threshold,
        })
    }

    /// The threshold k.
    pub const fn threshold(&self) -> usize {
        self.threshold
    }

    /// Whether `key` is trusted.
    pub fn trusts(&self, key: &PublicKey) -> bool {
        self.keys.contains_key(key)
    }

    /// The trusted keys, in key order.
    pub fn keys(&self) -> impl Iterator<Item = &PublicKey> {
        self.keys.keys()
    }

    /// The decoded key of a trusted signer.
    pub fn prepared(&self, key: &PublicKey) -> Option<PreparedKey> {
        self.keys.get(key).copied()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::SigningKey;

    fn pk(i: u8) -> PublicKey {
        PublicKey::of(&SigningKey::from_bytes(&[i; 32]))
    }

    #[test]
    fn valid_policy() {
        let p = TrustPolicy::new([pk(1), pk(2), pk(3)], 2).unwrap();
        assert_eq!(p.threshold(), 2);
        assert!(p.trusts(&pk(2)));
        assert!(!p.trusts(&pk(4)));
        assert_eq!(p.keys().count(), 3);
        assert!(p.prepared(&pk(1)).is_some_and(|k| k.batchable));
    }

    #[test]
    fn rejections() {
        assert_eq!(
            TrustPolicy::new([pk(1)], 0).unwrap_err(),
            PolicyError::ZeroThreshold
        );
        assert_eq!(
            TrustPolicy::new([pk(1), pk(2)], 3).unwrap_err(),
            PolicyError::ThresholdTooHigh {
                threshold: 3,
                keys: 2
            }
        );
        assert_eq!(
            TrustPolicy::new([pk(1), pk(2), pk(1)], 1).unwrap_err(),
            PolicyError::DuplicateKey {
                index: 2,
                key: pk(1)
            }
        );
        let mut identity = [0u8; 32];
        identity[0] = 1;
        assert_eq!(
            TrustPolicy::new([pk(1), PublicKey(identity)], 1).unwrap_err(),
            PolicyError::UnusableKey {
                index: 1,
                key: PublicKey(identity),
                reason: VerifyError::WeakPublicKey
            }
        );
    }
}
