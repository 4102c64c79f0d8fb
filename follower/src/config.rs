//! The follower's validated configuration: what `opfleet-follower run` parsed, checked once so
//! that the node never meets a contradictory setting at run time.
//!
//! ```text
//! RunArgs (clap, OPFLEET_ env twins) ──validate──> FollowerConfig
//!   rollup: --chain NAME | --rollup-config FILE
//!   heads:  Attested { trust policy, --attest.source URLs, gossip }  |  FollowSource { URL, L1? }
//!   engine: --l2 + --l2.jwt-secret (+ --l2.rpc)      p2p: optional unsafe-block gossip
//!   p2p discovery: bootnodes, --p2p.advertise.{ip,tcp,udp}, --p2p.discovery.path, --p2p.no-discovery
//! ```

use std::net::{IpAddr, SocketAddr, ToSocketAddrs};
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
    /// discv5 bootnodes (ENRs).
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
    /// What discv5 advertises and keeps, and whether it runs.
    pub discovery: DiscoverySettings,
}

/// discv5 settings besides the bootnodes and the UDP listen address (op-node's
/// `--p2p.no-discovery`, `--p2p.advertise.*` and `--p2p.discovery.path`). The default is
/// op-node's: the listen values advertised, records kept in the data directory.
///
/// op-node always runs discv5, falling back to built-in bootnodes; the follower has no built-in
/// list, so discv5 runs (unless disabled) when it has somewhere to start: bootnodes or a
/// discovery DB file.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DiscoverySettings {
    /// `--p2p.no-discovery`: discv5 never runs.
    pub disabled: bool,
    /// The IPv4 address put in the ENR instead of the listen IP (resolved from
    /// `--p2p.advertise.ip`); kept static, never replaced by what peers report.
    pub advertise_ip: Option<IpAddr>,
    /// The TCP port put in the ENR; the gossip listener's when unset.
    pub advertise_tcp: Option<u16>,
    /// The UDP port put in the ENR; the discv5 listen port when unset.
    pub advertise_udp: Option<u16>,
    /// The discovery DB file; `opnode_discovery_db` in the data directory when unset, and the
    /// value `memory` keeps nothing.
    pub path: Option<PathBuf>,
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
    /// An advertised IP or hostname without an IPv4 address.
    #[error("--p2p.advertise.ip {value:?}: {reason}")]
    AdvertiseIp {
        /// The value given.
        value: String,
        /// Why no IPv4 address came of it.
        reason: String,
    },
    /// An advertised port op-node refuses (1 to 1023 are reserved for the system).
    #[error(
        "{flag} {port}: port is reserved for system (use 1024 or above, or 0 for the listen port)"
    )]
    ReservedPort {
        /// The flag.
        flag: &'static str,
        /// The value.
        port: u16,
    },
}

/// Reads `--p2p.advertise.ip` as op-node does: an IP or a hostname, of which the first IPv4
/// address is advertised.
pub fn advertise_ip(value: &str) -> Result<IpAddr, ConfigError> {
    let err = |reason: String| ConfigError::AdvertiseIp {
        value: value.to_string(),
        reason,
    };
    let trimmed = value.trim();
    let candidates: Vec<IpAddr> = match trimmed.parse::<IpAddr>() {
        Ok(ip) => vec![ip],
        Err(_) => (trimmed, 0)
            .to_socket_addrs()
            .map_err(|e| err(format!("cannot resolve: {e}")))?
            .map(|a| a.ip())
            .collect(),
    };
    candidates
        .into_iter()
        .find_map(|ip| match ip {
            IpAddr::V4(v4) => Some(IpAddr::V4(v4)),
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map(IpAddr::V4),
        })
        .ok_or_else(|| err("no IPv4 address (the ENR advertises IPv4, as op-node's)".into()))
}

/// Reads an advertised port as op-node does: 0 is unset (the listen port is advertised),
/// 1 to 1023 are refused.
pub fn advertise_port(flag: &'static str, port: u16) -> Result<Option<u16>, ConfigError> {
    match port {
        0 => Ok(None),
        1..1024 => Err(ConfigError::ReservedPort { flag, port }),
        p => Ok(Some(p)),
    }
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
    fn advertised_values_are_read_like_op_node() {
        assert_eq!(
            advertise_ip("203.0.113.7").unwrap(),
            IpAddr::from([203, 0, 113, 7])
        );
        assert_eq!(
            advertise_ip("::ffff:203.0.113.7").unwrap(),
            IpAddr::from([203, 0, 113, 7])
        );
        assert_eq!(
            advertise_ip("localhost").unwrap(),
            IpAddr::from([127, 0, 0, 1])
        );
        let err = advertise_ip("2001:db8::1").unwrap_err();
        assert!(
            err.to_string()
                .contains("--p2p.advertise.ip \"2001:db8::1\"")
        );
        assert!(matches!(
            advertise_ip("no such host.invalid"),
            Err(ConfigError::AdvertiseIp { .. })
        ));
        assert_eq!(advertise_port("--p2p.advertise.tcp", 0).unwrap(), None);
        assert_eq!(
            advertise_port("--p2p.advertise.tcp", 1024).unwrap(),
            Some(1024)
        );
        assert_eq!(
            advertise_port("--p2p.advertise.udp", 65535).unwrap(),
            Some(65535)
        );
        let err = advertise_port("--p2p.advertise.udp", 443).unwrap_err();
        assert!(
            err.to_string()
                .starts_with("--p2p.advertise.udp 443: port is reserved")
        );
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
