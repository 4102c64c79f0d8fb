//! The follower's validated configuration: what `opfleet-follower run` parsed, checked once so
//! that the node never meets a contradictory setting at run time.
//!
//! ```text
//! RunArgs (clap, OPFLEET_ env twins) ──validate──> FollowerConfig
//!   rollup: --chain NAME | --rollup-config FILE
//!   heads:  Attested { trust policy, --attest.source URLs, gossip }  |  FollowSource { URL, L1? }
//!   engine: --l2 + --l2.jwt-secret (+ --l2.rpc)      p2p: optional unsafe-block gossip
//! ```

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use alloy::primitives::Address;
use opfleet_attest::TrustPolicy;
use opfleet_attest::policy::PolicyError;
use opfleet_protocol::config::RollupConfig;

/// Where safe and finalized heads come from.
#[derive(Clone, Debug)]
pub enum HeadsSource {
    /// Signed attestations counted against a trust policy.
    Attested(AttestedSources),
    /// An op-node-shaped `optimism_syncStatus` endpoint, trusted as it is (op-node's
    /// `--l2.follow.source` model), checked against L1 when an L1 RPC is given.
    FollowSource {
        /// The upstream endpoint.
        url: String,
        /// L1 RPC for the canonical-origin checks.
        l1: Option<String>,
    },
}

/// The attestation inputs and the trust policy they are counted against.
#[derive(Clone, Debug)]
pub struct AttestedSources {
    /// Trusted keys and threshold.
    pub policy: TrustPolicy,
    /// Supernode root URLs (`http(s)://` polls, `ws(s)://` also subscribes).
    pub urls: Vec<String>,
    /// Private attestation gossip, if configured.
    pub gossip: Option<AttestGossipSettings>,
    /// How often `attest_latest` is polled while a push subscription is down.
    pub poll_interval: Duration,
}

/// Settings of the private attestation gossip (C5).
#[derive(Clone, Debug)]
pub struct AttestGossipSettings {
    /// Listen multiaddr.
    pub listen: String,
    /// Peers to dial (multiaddrs with `/p2p/<id>`).
    pub peers: Vec<String>,
    /// The go-libp2p `swarm.key` file of the private network.
    pub swarm_key: PathBuf,
    /// The node's identity key file; `attest_p2p_priv.txt` in the data directory when unset.
    pub priv_path: Option<PathBuf>,
}

/// Unsafe-block P2P settings (op-node's `--p2p.*`).
#[derive(Clone, Debug)]
pub struct P2pSettings {
    /// Listen multiaddr.
    pub listen: String,
    /// Static peers (multiaddrs with `/p2p/<id>`).
    pub static_peers: Vec<String>,
    /// discv5 bootnodes (ENRs); discovery runs when there are any.
    pub bootnodes: Vec<String>,
    /// discv5 UDP listen address.
    pub discovery_udp: SocketAddr,
    /// The node's secp256k1 key, hex; takes precedence over `priv_path`.
    pub priv_key_hex: Option<String>,
    /// The node's identity key file (op-node's `--p2p.priv.path` format), created on first
    /// start; `opnode_p2p_priv.txt` in the data directory when unset.
    pub priv_path: Option<PathBuf>,
    /// The address whose signature unsafe blocks must carry.
    pub unsafe_block_signer: Address,
}

/// The whole validated configuration.
#[derive(Clone, Debug)]
pub struct FollowerConfig {
    /// The chain followed.
    pub rollup: RollupConfig,
    /// Engine API URL of the execution client.
    pub engine_url: String,
    /// eth JSON-RPC URL of the execution client (defaults to the engine URL).
    pub l2_rpc_url: String,
    /// JWT secret file for the Engine API.
    pub jwt_secret: PathBuf,
    /// Where the SQLite database lives.
    pub data_dir: PathBuf,
    /// Safe and finalized heads.
    pub heads: HeadsSource,
    /// Unsafe-block gossip; `None` follows safe heads only.
    pub p2p: Option<P2pSettings>,
    /// JSON-RPC listen address.
    pub rpc_addr: SocketAddr,
    /// Prometheus and `/healthz` listen address; `None` disables it.
    pub metrics_addr: Option<SocketAddr>,
    /// Check attested output roots against the execution client before accepting them.
    pub verify_output_root: bool,
    /// `/healthz` fails when the safe head is older than this.
    pub healthz_max_safe_age: Duration,
}

/// A configuration that cannot work, with the flag at fault.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// Neither --chain nor --rollup-config, or both.
    #[error("give exactly one of --chain NAME or --rollup-config FILE")]
    RollupChoice,
    /// The named chain is unknown.
    #[error("--chain {name}: {reason}")]
    UnknownChain {
        /// The name given.
        name: String,
        /// Why it was not found.
        reason: String,
    },
    /// The rollup config file is unreadable or invalid.
    #[error("--rollup-config {path}: {reason}")]
    RollupFile {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// No source of safe heads at all.
    #[error(
        "no source of safe heads: give --attest.source URL, --attest.gossip.listen, or --l2.follow.source URL"
    )]
    NoHeadsSource,
    /// Both trust models at once.
    #[error(
        "--l2.follow.source trusts one URL and cannot be combined with attestation sources; choose one"
    )]
    MixedHeadsSources,
    /// Attestations without a trust policy.
    #[error("attestation sources need --trust.keys and --trust.threshold")]
    MissingTrust,
    /// The trust policy is unusable.
    #[error("--trust.keys/--trust.threshold: {0}")]
    Trust(#[from] PolicyError),
    /// A trusted key does not parse.
    #[error("--trust.keys entry {index}: {reason}")]
    TrustKey {
        /// Position in the list.
        index: usize,
        /// Why.
        reason: String,
    },
    /// Private gossip without its pre-shared key.
    #[error("--attest.gossip.listen needs --attest.gossip.swarm-key FILE")]
    MissingSwarmKey,
    /// P2P enabled without the signer to check blocks against.
    #[error("--p2p.listen needs --p2p.unsafe-block-signer ADDRESS (the follower reads no L1)")]
    MissingUnsafeSigner,
    /// A URL with a scheme the client cannot use.
    #[error("{flag} {url}: expected an http://, https://, ws:// or wss:// URL")]
    BadUrl {
        /// The flag.
        flag: &'static str,
        /// The value.
        url: String,
    },
    /// A zero duration where a positive one is needed.
    #[error("{0} must be positive")]
    ZeroDuration(&'static str),
}

/// Checks that `url` has a scheme the RPC clients speak.
pub fn check_url(flag: &'static str, url: &str) -> Result<(), ConfigError> {
    let ok = ["http://", "https://", "ws://", "wss://"]
        .iter()
        .any(|s| url.starts_with(s));
    if ok {
        Ok(())
    } else {
        Err(ConfigError::BadUrl {
            flag,
            url: url.to_string(),
        })
    }
}

/// Builds the trust policy from `--trust.keys` (comma separated or repeated) and the threshold.
pub fn trust_policy(keys: &[String], threshold: usize) -> Result<TrustPolicy, ConfigError> {
    let parsed = keys
        .iter()
        .enumerate()
        .map(|(index, k)| {
            k.parse()
                .map_err(
                    |e: opfleet_attest::keys::ParsePublicKeyError| ConfigError::TrustKey {
                        index,
                        reason: e.to_string(),
                    },
                )
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(TrustPolicy::new(parsed, threshold)?)
}

/// Loads the rollup config from exactly one of a built-in chain name or a rollup.json file.
pub fn load_rollup(
    chain: Option<&str>,
    file: Option<&std::path::Path>,
) -> Result<RollupConfig, ConfigError> {
    match (chain, file) {
        (Some(name), None) => opfleet_protocol::config::builtin::rollup_config(name).map_err(|e| {
            ConfigError::UnknownChain {
                name: name.to_string(),
                reason: e.to_string(),
            }
        }),
        (None, Some(path)) => {
            let text = std::fs::read_to_string(path).map_err(|e| ConfigError::RollupFile {
                path: path.to_path_buf(),
                reason: e.to_string(),
            })?;
            RollupConfig::from_rollup_json(&text).map_err(|e| ConfigError::RollupFile {
                path: path.to_path_buf(),
                reason: e.to_string(),
            })
        }
        _ => Err(ConfigError::RollupChoice),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(i: u8) -> String {
        let sk = opfleet_attest::SigningKey::from_bytes(&[i; 32]);
        opfleet_attest::PublicKey::of(&sk).to_string()
    }

    #[test]
    fn urls_need_a_known_scheme() {
        assert!(check_url("--x", "http://a:1").is_ok());
        assert!(check_url("--x", "wss://a").is_ok());
        let err = check_url("--attest.source", "ftp://a").unwrap_err();
        assert!(err.to_string().contains("--attest.source ftp://a"));
    }

    #[test]
    fn trust_policy_checks_keys_and_threshold() {
        let p = trust_policy(&[key(1), key(2), key(3)], 2).unwrap();
        assert_eq!(p.threshold(), 2);
        assert!(matches!(
            trust_policy(&[key(1)], 2),
            Err(ConfigError::Trust(PolicyError::ThresholdTooHigh { .. }))
        ));
        let err = trust_policy(&[key(1), "0x12".into()], 1).unwrap_err();
        assert!(matches!(err, ConfigError::TrustKey { index: 1, .. }));
    }

    #[test]
    fn rollup_needs_exactly_one_choice() {
        assert!(matches!(
            load_rollup(None, None),
            Err(ConfigError::RollupChoice)
        ));
        let missing = std::path::Path::new("/nonexistent/rollup.json");
        let err = load_rollup(None, Some(missing)).unwrap_err();
        assert!(err.to_string().contains("/nonexistent/rollup.json"));
    }
}
