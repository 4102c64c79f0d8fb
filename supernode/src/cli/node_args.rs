//! Flags shared by the node subcommands (`attest`, and `run` once derivation is wired), with
//! their `OPFLEET_*` env twins, and the `--l2.<chainid>.<field>` flags clap cannot declare.
//!
//! ```text
//!   argv ──rewrite_chain_flags──▶ --l2.10.engine URL  becomes  --l2-chain 10.engine=URL
//!        ──clap──▶ NodeArgs ──overrides()──▶ config::Overrides (+ OPFLEET_L2_<ID>_<FIELD> env)
//! ```

use std::ffi::OsString;
use std::net::IpAddr;
use std::path::PathBuf;

use crate::config::{
    self, AttestP2p, ConfigError, FileConfig, Mode, NodeConfig, Overrides, parse_chain_flag,
    set_chain_endpoint,
};

/// The hidden flag per-chain flags are rewritten into.
const CHAIN_FLAG: &str = "--l2-chain";

/// Rewrites `--l2.<chainid>.<field> VALUE` and `--l2.<chainid>.<field>=VALUE` into the hidden
/// `--l2-chain <chainid>.<field>=VALUE`, leaving every other argument as it is.
pub fn rewrite_chain_flags(args: impl IntoIterator<Item = OsString>) -> Vec<OsString> {
    let mut out = Vec::new();
    let mut it = args.into_iter();
    while let Some(arg) = it.next() {
        let Some(rest) = arg.to_str().and_then(|s| s.strip_prefix("--l2.")) else {
            out.push(arg);
            continue;
        };
        let (name, value) = match rest.split_once('=') {
            Some((n, v)) => (n.to_string(), Some(OsString::from(v))),
            None => (rest.to_string(), it.next()),
        };
        out.push(CHAIN_FLAG.into());
        let mut joined = OsString::from(format!("{name}="));
        if let Some(v) = value {
            joined.push(v);
        }
        out.push(joined);
    }
    out
}

/// Node flags common to the subcommands.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct NodeArgs {
    /// TOML config file (see deploy/examples/supernode.toml); flags override it.
    #[arg(long, env = "OPFLEET_CONFIG", value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Chains from the built-in superchain registry, by name or id (comma separated).
    #[arg(
        long,
        env = "OPFLEET_CHAINS",
        value_delimiter = ',',
        value_name = "NAMES"
    )]
    pub chains: Vec<String>,
    /// An op-node rollup.json (repeatable).
    #[arg(
        long = "rollup-config",
        env = "OPFLEET_ROLLUP_CONFIG",
        value_delimiter = ',',
        value_name = "FILE"
    )]
    pub rollup_config: Vec<PathBuf>,
    /// Per-chain endpoints, given as `--l2.<chainid>.engine|rpc|jwt-secret|follow VALUE`.
    #[arg(long = "l2-chain", hide = true, value_name = "ID.FIELD=VALUE")]
    pub l2_chain: Vec<String>,
    /// L1 execution client JSON-RPC URL.
    #[arg(long = "l1", env = "OPFLEET_L1", value_name = "URL")]
    pub l1: Option<String>,
    /// L1 beacon API URL.
    #[arg(long = "l1.beacon", env = "OPFLEET_L1_BEACON", value_name = "URL")]
    pub l1_beacon: Option<String>,
    /// L1 timestamp from which Prague's blob fee parameters apply, for an L1 chain without a
    /// built-in schedule (devnets); mainnet and Sepolia need none.
    #[arg(
        long = "l1.prague-time",
        env = "OPFLEET_L1_PRAGUE_TIME",
        value_name = "SECONDS"
    )]
    pub l1_prague_time: Option<u64>,
    /// Most entries (headers, transaction and receipt lists, blobs) the shared L1 cache holds
    /// [default: 8192].
    #[arg(
        long = "l1.cache-entries",
        env = "OPFLEET_L1_CACHE_ENTRIES",
        value_name = "N"
    )]
    pub l1_cache_entries: Option<usize>,
    /// Most bytes (estimated) the shared L1 cache holds [default: 268435456, 256 MiB].
    #[arg(
        long = "l1.cache-bytes",
        env = "OPFLEET_L1_CACHE_BYTES",
        value_name = "BYTES"
    )]
    pub l1_cache_bytes: Option<usize>,
    /// Data directory (SQLite database).
    #[arg(long = "data-dir", env = "OPFLEET_DATA_DIR", value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// Attestation signing key file (`opfleet-supernode keygen`).
    #[arg(long = "signer.key", env = "OPFLEET_SIGNER_KEY", value_name = "FILE")]
    pub signer_key: Option<PathBuf>,
    /// JSON-RPC listen address [default: 127.0.0.1].
    #[arg(long = "rpc.addr", env = "OPFLEET_RPC_ADDR", value_name = "IP")]
    pub rpc_addr: Option<IpAddr>,
    /// JSON-RPC listen port [default: 9545].
    #[arg(long = "rpc.port", env = "OPFLEET_RPC_PORT", value_name = "PORT")]
    pub rpc_port: Option<u16>,
    /// Serve /metrics on a separate listener too.
    #[arg(long = "metrics.enabled", env = "OPFLEET_METRICS_ENABLED", num_args = 0..=1, default_missing_value = "true", value_name = "BOOL")]
    pub metrics_enabled: Option<bool>,
    /// Metrics listen address [default: 0.0.0.0].
    #[arg(long = "metrics.addr", env = "OPFLEET_METRICS_ADDR", value_name = "IP")]
    pub metrics_addr: Option<IpAddr>,
    /// Metrics listen port [default: 7300].
    #[arg(
        long = "metrics.port",
        env = "OPFLEET_METRICS_PORT",
        value_name = "PORT"
    )]
    pub metrics_port: Option<u16>,
    /// Private attestation gossip listen multiaddr, e.g. /ip4/0.0.0.0/tcp/9223.
    #[arg(
        long = "p2p.attest.listen",
        env = "OPFLEET_P2P_ATTEST_LISTEN",
        value_name = "MULTIADDR"
    )]
    pub p2p_attest_listen: Option<String>,
    /// The fleet's pre-shared swarm key file.
    #[arg(
        long = "p2p.attest.psk",
        env = "OPFLEET_P2P_ATTEST_PSK",
        value_name = "FILE"
    )]
    pub p2p_attest_psk: Option<PathBuf>,
    /// Fleet members to dial: multiaddrs ending in /p2p/<peer id> (comma separated).
    #[arg(
        long = "p2p.attest.static-peers",
        env = "OPFLEET_P2P_ATTEST_STATIC_PEERS",
        value_delimiter = ',',
        value_name = "MULTIADDRS"
    )]
    pub p2p_attest_static_peers: Vec<String>,
    /// This node's libp2p identity key file (hex secp256k1 secret, op-node's format), created
    /// 0600 on first start [default: <data-dir>/attest_p2p_priv.txt].
    #[arg(
        long = "p2p.attest.priv-path",
        env = "OPFLEET_P2P_ATTEST_PRIV_PATH",
        value_name = "FILE"
    )]
    pub p2p_attest_priv_path: Option<PathBuf>,
}

impl NodeArgs {
    /// The overrides these flags (and the per-chain env variables) make.
    pub fn overrides(
        &self,
        env: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Overrides, ConfigError> {
        let mut chain_endpoints = config::chain_endpoints_from_env(env)?;
        let mut from_flags = std::collections::BTreeMap::new();
        for item in &self.l2_chain {
            let (name, value) = item.split_once('=').ok_or_else(|| ConfigError::Invalid {
                what: format!("--l2.{item}"),
                reason: "expected --l2.<chainid>.<field> VALUE".into(),
            })?;
            let flag = format!("--l2.{name}");
            if value.is_empty() {
                return Err(ConfigError::Missing(format!("value of {flag}")));
            }
            let (chain, field) = parse_chain_flag(&flag)?;
            set_chain_endpoint(&mut from_flags, chain, &field, value.to_string())?;
        }
        for (chain, e) in from_flags {
            let slot = chain_endpoints.entry(chain).or_default();
            slot.engine = e.engine.or(slot.engine.take());
            slot.rpc = e.rpc.or(slot.rpc.take());
            slot.jwt_secret = e.jwt_secret.or(slot.jwt_secret.take());
            slot.follow = e.follow.or(slot.follow.take());
        }
        Ok(Overrides {
            chains: self.chains.clone(),
            rollup_configs: self.rollup_config.clone(),
            chain_endpoints,
            l1: self.l1.clone(),
            l1_beacon: self.l1_beacon.clone(),
            l1_prague_time: self.l1_prague_time,
            l1_cache_entries: self.l1_cache_entries,
            l1_cache_bytes: self.l1_cache_bytes,
            data_dir: self.data_dir.clone(),
            signer_key: self.signer_key.clone(),
            rpc_addr: self.rpc_addr,
            rpc_port: self.rpc_port,
            metrics_enabled: self.metrics_enabled,
            metrics_addr: self.metrics_addr,
            metrics_port: self.metrics_port,
            p2p_attest: AttestP2p {
                listen: self.p2p_attest_listen.clone(),
                psk: self.p2p_attest_psk.clone(),
                static_peers: self.p2p_attest_static_peers.clone(),
                priv_path: self.p2p_attest_priv_path.clone(),
            },
            follow: None,
        })
    }

    /// The config file (if any) merged with these flags, validated for `mode`.
    pub fn resolve(
        &self,
        mode: Mode,
        env: impl IntoIterator<Item = (String, String)>,
        follow: Option<String>,
    ) -> Result<NodeConfig, ConfigError> {
        let file = match &self.config {
            Some(path) => FileConfig::load(path)?,
            None => FileConfig::default(),
        };
        let mut over = self.overrides(env)?;
        over.follow = follow;
        config::resolve(file, over, mode)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn os(v: &[&str]) -> Vec<OsString> {
        v.iter().map(OsString::from).collect()
    }

    #[test]
    fn chain_flags_are_rewritten() {
        let out = rewrite_chain_flags(os(&[
            "bin",
            "run",
            "--l2.10.engine",
            "http://e",
            "--l2.10.rpc=http://r",
            "--l1",
            "http://l1",
        ]));
        assert_eq!(
            out,
            os(&[
                "bin",
                "run",
                "--l2-chain",
                "10.engine=http://e",
                "--l2-chain",
                "10.rpc=http://r",
                "--l1",
                "http://l1",
            ])
        );
        // A trailing flag without value keeps an empty value, reported later by name.
        assert_eq!(
            rewrite_chain_flags(os(&["--l2.10.rpc"])),
            os(&["--l2-chain", "10.rpc="])
        );
    }

    #[test]
    fn overrides_take_flags_over_env() {
        let args = NodeArgs {
            l2_chain: vec!["10.rpc=http://flag".into()],
            ..Default::default()
        };
        let over = args
            .overrides([
                ("OPFLEET_L2_10_RPC".to_string(), "http://env".to_string()),
                (
                    "OPFLEET_L2_10_ENGINE".to_string(),
                    "http://env-e".to_string(),
                ),
            ])
            .unwrap();
        let e = &over.chain_endpoints[&opfleet_protocol::ChainId(10)];
        assert_eq!(e.rpc.as_deref(), Some("http://flag"));
        assert_eq!(e.engine.as_deref(), Some("http://env-e"));
        let empty = NodeArgs {
            l2_chain: vec!["10.rpc=".into()],
            ..Default::default()
        };
        let msg = empty.overrides([]).unwrap_err().to_string();
        assert!(msg.contains("--l2.10.rpc"), "{msg}");
        let bogus = NodeArgs {
            l2_chain: vec!["10.bogus=x".into()],
            ..Default::default()
        };
        assert!(
            bogus
                .overrides([])
                .unwrap_err()
                .to_string()
                .contains("--l2.10.bogus")
        );
    }
}
