//! The superchain-registry `chainList.json`: which chains exist and what they are called.
//!
//! ```text
//! [ { "name": "OP Sepolia Testnet", "identifier": "sepolia/op", "chainId": 11155420,
//!     "rpc": [...], "explorers": [...], "governedByOptimism": true,
//!     "dataAvailabilityType": "eth-da", "parent": {"type": "L2", "chain": "sepolia"},
//!     "gasPayingToken"?: "0x..", "faultProofs": {"status": "permissionless"} }, ... ]
//!
//! find("op-sepolia") | find("sepolia/op") | find("OP Sepolia Testnet") | find("11155420")
//!   -> entry "sepolia/op" -> caller reads superchain/configs/sepolia/op.toml
//! ```
//!
//! `<chain>-<superchain>` (e.g. `op-sepolia`, `base-mainnet`) is op-node's `--network` name.

use alloy::primitives::Address;
use serde::Deserialize;

use crate::ChainId;

/// One chain of `chainList.json`.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ChainListEntry {
    /// Display name, e.g. `OP Sepolia Testnet`.
    pub name: String,
    /// Registry identifier `<superchain>/<chain>`, e.g. `sepolia/op`.
    pub identifier: String,
    /// L2 chain id.
    pub chain_id: ChainId,
    /// Public RPC endpoints.
    #[serde(default)]
    pub rpc: Vec<String>,
    /// Block explorers.
    #[serde(default)]
    pub explorers: Vec<String>,
    /// Whether Optimism governs the chain.
    #[serde(default)]
    pub governed_by_optimism: bool,
    /// `eth-da` or `alt-da`.
    #[serde(default)]
    pub data_availability_type: String,
    /// Where the chain settles.
    pub parent: ChainParent,
    /// Custom gas token, if any.
    #[serde(default)]
    pub gas_paying_token: Option<Address>,
    /// Fault proof status.
    #[serde(default)]
    pub fault_proofs: Option<FaultProofs>,
}

/// The chain a listed chain settles on.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
pub struct ChainParent {
    /// Kind of parent, `L2` for superchain members.
    #[serde(rename = "type")]
    pub kind: String,
    /// The superchain's name, e.g. `sepolia`.
    pub chain: String,
}

/// A chain's fault proof status.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
pub struct FaultProofs {
    /// `none`, `permissioned` or `permissionless`.
    pub status: String,
}

impl ChainListEntry {
    /// The superchain part of the identifier (`sepolia` in `sepolia/op`).
    pub fn superchain(&self) -> &str {
        self.split_identifier().0
    }

    /// The chain part of the identifier (`op` in `sepolia/op`).
    pub fn short_name(&self) -> &str {
        self.split_identifier().1
    }

    /// op-node's network name `<chain>-<superchain>`, e.g. `op-sepolia`.
    pub fn network_name(&self) -> String {
        format!("{}-{}", self.short_name(), self.superchain())
    }

    /// Path of the chain's config in the registry repository.
    pub fn config_path(&self) -> String {
        format!(
            "superchain/configs/{}/{}.toml",
            self.superchain(),
            self.short_name()
        )
    }

    /// Identifiers are checked at load time to have exactly one `/`.
    fn split_identifier(&self) -> (&str, &str) {
        self.identifier
            .split_once('/')
            .unwrap_or((self.identifier.as_str(), ""))
    }

    fn matches(&self, wanted: &str) -> bool {
        self.identifier.eq_ignore_ascii_case(wanted)
            || self.network_name().eq_ignore_ascii_case(wanted)
            || self.name.eq_ignore_ascii_case(wanted)
    }
}

/// A chain list that could not be loaded, or a lookup that found nothing or too much.
#[derive(Debug, thiserror::Error)]
pub enum ChainListError {
    /// Not JSON, or an entry has the wrong shape.
    #[error("chainList.json does not parse: {0}")]
    Json(#[from] serde_json::Error),
    /// An identifier is not `<superchain>/<chain>`.
    #[error(
        "chainList.json entry #{index} ({name:?}): identifier {identifier:?} is not <superchain>/<chain>"
    )]
    BadIdentifier {
        /// Position in the list.
        index: usize,
        /// The entry's name.
        name: String,
        /// The identifier found.
        identifier: String,
    },
    /// Two entries share a chain id.
    #[error("chainList.json: chain id {chain_id} is listed twice ({first} and {second})")]
    DuplicateChainId {
        /// The repeated id.
        chain_id: ChainId,
        /// First identifier.
        first: String,
        /// Second identifier.
        second: String,
    },
    /// No chain has this name, identifier or id.
    #[error(
        "unknown chain {0:?}: not a chain id, registry identifier (e.g. sepolia/op), network name (e.g. op-sepolia) or chain name in chainList.json"
    )]
    UnknownChain(String),
    /// No chain has this id.
    #[error("unknown chain id {0}: not in chainList.json")]
    UnknownChainId(ChainId),
    /// A name matches more than one chain.
    #[error("chain name {wanted:?} is ambiguous: it matches {matches:?}")]
    Ambiguous {
        /// The name looked up.
        wanted: String,
        /// Identifiers of the matching chains.
        matches: Vec<String>,
    },
}

/// The parsed `chainList.json`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ChainList {
    entries: Vec<ChainListEntry>,
}

impl ChainList {
    /// Parses `chainList.json` and checks identifiers and chain ids.
    pub fn from_json(json: &str) -> Result<Self, ChainListError> {
        let entries: Vec<ChainListEntry> = serde_json::from_str(json)?;
        for (index, e) in entries.iter().enumerate() {
            let well_formed = e
                .identifier
                .split_once('/')
                .is_some_and(|(s, c)| !s.is_empty() && !c.is_empty() && !c.contains('/'));
            if !well_formed {
                return Err(ChainListError::BadIdentifier {
                    index,
                    name: e.name.clone(),
                    identifier: e.identifier.clone(),
                });
            }
            if let Some(first) = entries[..index].iter().find(|p| p.chain_id == e.chain_id) {
                return Err(ChainListError::DuplicateChainId {
                    chain_id: e.chain_id,
                    first: first.identifier.clone(),
                    second: e.identifier.clone(),
                });
            }
        }
        Ok(Self { entries })
    }

    /// All entries, in file order.
    pub fn entries(&self) -> &[ChainListEntry] {
        &self.entries
    }

    /// Looks a chain up by registry identifier (`sepolia/op`), network name (`op-sepolia`),
    /// display name (`OP Sepolia Testnet`), all case-insensitive, or decimal chain id.
    pub fn find(&self, wanted: &str) -> Result<&ChainListEntry, ChainListError> {
        let wanted = wanted.trim();
        if let Ok(id) = wanted.parse::<u64>() {
            return self.find_by_id(ChainId(id));
        }
        let mut hits = self.entries.iter().filter(|e| e.matches(wanted));
        match (hits.next(), hits.next()) {
            (Some(e), None) => Ok(e),
            (None, _) => Err(ChainListError::UnknownChain(wanted.to_string())),
            (Some(a), Some(b)) => {
                let mut matches = vec![a.identifier.clone(), b.identifier.clone()];
                matches.extend(hits.map(|e| e.identifier.clone()));
                Err(ChainListError::Ambiguous {
                    wanted: wanted.to_string(),
                    matches,
                })
            }
        }
    }

    /// Looks a chain up by its L2 chain id.
    pub fn find_by_id(&self, id: ChainId) -> Result<&ChainListEntry, ChainListError> {
        self.entries
            .iter()
            .find(|e| e.chain_id == id)
            .ok_or(ChainListError::UnknownChainId(id))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::path::Path;

    fn vector_list() -> ChainList {
        let path = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../shared/vectors/registry/chainList.json");
        let json = std::fs::read_to_string(&path).unwrap();
        ChainList::from_json(&json).unwrap()
    }

    #[test]
    fn every_form_of_a_name_finds_op_sepolia() {
        let list = vector_list();
        for wanted in [
            "op-sepolia",
            "sepolia/op",
            "OP Sepolia Testnet",
            "op sepolia testnet",
            "11155420",
            " Sepolia/OP ",
        ] {
            let e = list.find(wanted).unwrap();
            assert_eq!(e.identifier, "sepolia/op", "for {wanted:?}");
            assert_eq!(e.chain_id, ChainId(11_155_420));
        }
        let e = list.find("op-sepolia").unwrap();
        assert_eq!(e.superchain(), "sepolia");
        assert_eq!(e.short_name(), "op");
        assert_eq!(e.config_path(), "superchain/configs/sepolia/op.toml");
        assert_eq!(e.parent.chain, "sepolia");
        assert_eq!(e.fault_proofs.as_ref().unwrap().status, "permissionless");
    }

    #[test]
    fn other_known_chains() {
        let list = vector_list();
        assert_eq!(list.find("op-mainnet").unwrap().chain_id, ChainId(10));
        assert_eq!(list.find("OP Mainnet").unwrap().identifier, "mainnet/op");
        assert_eq!(
            list.find("unichain-sepolia").unwrap().chain_id,
            ChainId(1301)
        );
        assert_eq!(
            list.find_by_id(ChainId(1301)).unwrap().identifier,
            "sepolia/unichain"
        );
        assert_eq!(list.entries().len(), 53);
    }

    #[test]
    fn unknown_names_and_ids_are_errors_that_name_them() {
        let list = vector_list();
        let err = list.find("op-nowhere").unwrap_err();
        assert!(matches!(&err, ChainListError::UnknownChain(n) if n == "op-nowhere"));
        assert!(err.to_string().contains("\"op-nowhere\""), "{err}");
        let err = list.find("424242").unwrap_err();
        assert!(err.to_string().contains("424242"), "{err}");
        assert!(matches!(
            list.find_by_id(ChainId(424_242)),
            Err(ChainListError::UnknownChainId(ChainId(424_242)))
        ));
    }

    #[test]
    fn ambiguous_names_are_reported() {
        let json = r#"[
          {"name":"Twin","identifier":"mainnet/a","chainId":1000,"parent":{"type":"L2","chain":"mainnet"}},
          {"name":"twin","identifier":"sepolia/b","chainId":1001,"parent":{"type":"L2","chain":"sepolia"}}
        ]"#;
        let list = ChainList::from_json(json).unwrap();
        let err = list.find("TWIN").unwrap_err();
        assert!(
            matches!(&err, ChainListError::Ambiguous { matches, .. } if matches == &["mainnet/a", "sepolia/b"])
        );
    }

    #[test]
    fn corrupt_lists_say_what_is_wrong() {
        let err = ChainList::from_json("[{\"name\": 5}]").unwrap_err();
        assert!(err.to_string().contains("invalid type"), "{err}");
        let err = ChainList::from_json(
            r#"[{"name":"X","identifier":"x","chainId":1,"parent":{"type":"L2","chain":"m"}}]"#,
        )
        .unwrap_err();
        assert!(err.to_string().contains("entry #0"), "{err}");
        assert!(err.to_string().contains("\"x\""), "{err}");
        let err = ChainList::from_json(
            r#"[{"name":"X","identifier":"m/x","chainId":1,"parent":{"type":"L2","chain":"m"}},
                {"name":"Y","identifier":"m/y","chainId":1,"parent":{"type":"L2","chain":"m"}}]"#,
        )
        .unwrap_err();
        assert!(
            err.to_string().contains("chain id 1 is listed twice"),
            "{err}"
        );
        let err = ChainList::from_json(r#"[{"identifier":"m/x"}"#).unwrap_err();
        assert!(err.to_string().contains("line 1"), "{err}");
    }

    proptest! {
        #[test]
        fn arbitrary_input_never_panics(s in "\\PC*") {
            let _ = ChainList::from_json(&s);
        }

        #[test]
        fn lookups_never_panic(s in "\\PC*") {
            let list = vector_list();
            let _ = list.find(&s);
        }
    }
}
