//! The attestation topic of a chain: `/opfleet/<chainId>/attest/1` (chain id in decimal).

use std::fmt;
use std::str::FromStr;

use opfleet_protocol::ChainId;

/// The gossipsub topic that carries one chain's signed attestations.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct AttestTopic {
    /// The chain whose attestations the topic carries.
    pub chain_id: ChainId,
}

/// A topic name that is not an attestation topic.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0:?} is not an attestation topic /opfleet/<decimal chain id>/attest/1")]
pub struct NotAnAttestTopic(pub String);

impl AttestTopic {
    /// The topic of `chain_id`.
    pub const fn new(chain_id: ChainId) -> Self {
        Self { chain_id }
    }
}

impl fmt::Display for AttestTopic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "/opfleet/{}/attest/1", u64::from(self.chain_id))
    }
}

impl FromStr for AttestTopic {
    type Err = NotAnAttestTopic;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let err = || NotAnAttestTopic(s.to_owned());
        let id = s
            .strip_prefix("/opfleet/")
            .and_then(|rest| rest.strip_suffix("/attest/1"))
            .ok_or_else(err)?;
        // Exactly the Display form: no sign, no leading zeros, so one chain has one topic.
        if id.is_empty()
            || !id.bytes().all(|b| b.is_ascii_digit())
            || (id.len() > 1 && id.starts_with('0'))
        {
            return Err(err());
        }
        let id: u64 = id.parse().map_err(|_| err())?;
        Ok(Self::new(ChainId::from(id)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_and_parses() {
        let t = AttestTopic::new(ChainId::from(11_155_420u64));
        assert_eq!(t.to_string(), "/opfleet/11155420/attest/1");
        assert_eq!("/opfleet/11155420/attest/1".parse::<AttestTopic>(), Ok(t));
        for bad in [
            "/opfleet/10/attest/2",
            "/opfleet//attest/1",
            "/opfleet/+10/attest/1",
            "/opfleet/010/attest/1",
            "/opfleet/99999999999999999999/attest/1",
            "/optimism/10/0/blocks",
        ] {
            assert!(bad.parse::<AttestTopic>().is_err(), "{bad}");
        }
    }

    proptest::proptest! {
        #[test]
        fn round_trips(id in 0u64..) {
            let t = AttestTopic::new(ChainId::from(id));
            proptest::prop_assert_eq!(t.to_string().parse::<AttestTopic>(), Ok(t));
        }

        #[test]
        fn never_panics(s in "\\PC*") {
            let _ = s.parse::<AttestTopic>();
        }
    }
}
