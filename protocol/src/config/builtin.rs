//! The superchain registry compiled into the crate, so chains resolve by name with no files.
//!
//! ```text
//!  "op-sepolia" | "sepolia/op" | "OP Sepolia Testnet" | "11155420"
//!        |  ChainList::find (chainList.json)          else: registry display name or id
//!        v
//!     ChainId --RegistryJson::get (configs.json)--> RollupConfig
//! ```

use super::{ChainList, ChainListError, RegistryJson, RegistryJsonError, RollupConfig};
use crate::ChainId;

/// superchain-registry `chainList.json`.
pub const CHAIN_LIST_JSON: &str = include_str!("../../registry/chainList.json");

/// Every registry chain's config (kona's registry JSON).
pub const REGISTRY_JSON: &str = include_str!("../../registry/configs.json");

/// Why a chain could not be resolved from the built-in registry.
#[derive(Debug, thiserror::Error)]
pub enum BuiltinError {
    /// The embedded chain list does not parse (a broken build).
    #[error("built-in chainList.json: {0}")]
    ChainList(#[from] ChainListError),
    /// The embedded registry does not parse (a broken build).
    #[error("built-in registry configs.json: {0}")]
    Registry(#[from] RegistryJsonError),
    /// No chain of that name or id.
    #[error(
        "unknown chain {0:?}: not in the built-in superchain registry (give a name such as \
         op-sepolia or sepolia/op, a chain id, or a rollup.json file)"
    )]
    Unknown(String),
}

/// Parses the built-in chain list.
pub fn chain_list() -> Result<ChainList, ChainListError> {
    ChainList::from_json(CHAIN_LIST_JSON)
}

/// Parses the built-in registry of rollup configs.
pub fn registry() -> Result<RegistryJson, RegistryJsonError> {
    RegistryJson::from_json(REGISTRY_JSON)
}

/// Resolves a chain by any name form `ChainList::find` accepts, by the registry's display name,
/// or by decimal chain id, to its rollup config.
pub fn rollup_config(name: &str) -> Result<RollupConfig, BuiltinError> {
    let registry = registry()?;
    let list = chain_list()?;
    let wanted = name.trim();
    let id = match list.find(wanted) {
        Ok(entry) => Some(entry.chain_id),
        Err(_) => wanted.parse::<ChainId>().ok().or_else(|| {
            registry
                .chains()
                .find(|c| c.name.eq_ignore_ascii_case(wanted))
                .map(|c| c.config.l2_chain_id)
        }),
    };
    id.and_then(|id| registry.get(id))
        .map(|c| c.config.clone())
        .ok_or_else(|| BuiltinError::Unknown(wanted.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embedded_files_load() {
        assert!(chain_list().unwrap().entries().len() > 50);
        assert!(registry().unwrap().len() > 50);
    }

    #[test]
    fn resolves_every_name_form() {
        for name in ["op-sepolia", "sepolia/op", "OP Sepolia Testnet", "11155420"] {
            let cfg = rollup_config(name).unwrap();
            assert_eq!(cfg.l2_chain_id, ChainId(11155420), "{name}");
        }
        assert_eq!(
            rollup_config("op-mainnet").unwrap().l2_chain_id,
            ChainId(10)
        );
        assert_eq!(
            rollup_config("unichain-sepolia").unwrap().l2_chain_id,
            ChainId(1301)
        );
    }

    #[test]
    fn base_resolves_by_registry_name() {
        assert_eq!(rollup_config("Base").unwrap().l2_chain_id, ChainId(8453));
    }

    #[test]
    fn unknown_chain_names_itself() {
        let err = rollup_config("no-such-chain").unwrap_err();
        assert!(err.to_string().contains("no-such-chain"), "{err}");
    }

    #[test]
    fn embedded_copies_match_the_vectors() {
        let dir =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/vectors/registry");
        let list = std::fs::read_to_string(dir.join("chainList.json")).unwrap();
        assert_eq!(list, CHAIN_LIST_JSON);
        let cfgs = std::fs::read_to_string(dir.join("kona-rollup-configs.json")).unwrap();
        assert_eq!(cfgs, REGISTRY_JSON);
    }
}
