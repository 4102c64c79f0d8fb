//! Node configuration: an optional TOML file, overridden by flags (and their `OPFLEET_*` env
//! twins), resolved into one validated [`NodeConfig`].
//!
//! ```text
//!   supernode.toml ──▶ FileConfig ─┐
//!                                  ├─ merge (flags win) ─▶ resolve ─▶ NodeConfig
//!   flags / env ─────▶ Overrides ──┘         chains by id: registry name | rollup.json,
//!                                            endpoints from [[chain]] or --l2.<id>.*
//! ```
//! Per-chain flags are `--l2.<chainid>.engine URL`, `--l2.<chainid>.rpc URL`,
//! `--l2.<chainid>.jwt-secret FILE` and, in attester mode, `--l2.<chainid>.follow URL`
//! (env `OPFLEET_L2_<CHAINID>_ENGINE`, `..._RPC`, `..._JWT_SECRET`, `..._FOLLOW`).
//! Every error names the flag or file key that is missing or wrong.

use std::collections::BTreeMap;
use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};

use opfleet_protocol::ChainId;
use opfleet_protocol::config::RollupConfig;
use opfleet_protocol::config::builtin;
use serde::Deserialize;

use crate::l1::CacheConfig;

/// Default JSON-RPC port (op-node's default is 9545).
pub const DEFAULT_RPC_PORT: u16 = 9545;
/// Default metrics port (op-node's default is 7300).
pub const DEFAULT_METRICS_PORT: u16 = 7300;

/// A configuration that cannot be used, naming the flag or key at fault.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The config file cannot be read.
    #[error("config file {path}: {source}")]
    ReadFile {
        /// The file.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// The config file is not valid TOML of the expected shape.
    #[error("config file {path}: {message}")]
    ParseFile {
        /// The file.
        path: PathBuf,
        /// The TOML error, with line and column.
        message: String,
    },
    /// A required value is absent.
    #[error("missing {0}")]
    Missing(String),
    /// A value is present but wrong.
    #[error("invalid {what}: {reason}")]
    Invalid {
        /// The flag or key.
        what: String,
        /// What is wrong.
        reason: String,
    },
    /// A chain appears twice.
    #[error("chain {0} is configured more than once")]
    DuplicateChain(ChainId),
    /// A `--l2.<id>.*` setting names a chain that is not configured.
    #[error("{flag} names chain {chain}, which is not among the configured chains ({known})")]
    UnknownChain {
        /// The flag.
        flag: String,
        /// The chain it names.
        chain: ChainId,
        /// The configured chains.
        known: String,
    },
}

fn invalid(what: impl Into<String>, reason: impl Into<String>) -> ConfigError {
    ConfigError::Invalid {
        what: what.into(),
        reason: reason.into(),
    }
}

/// Where a chain's rollup config comes from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ChainSource {
    /// A superchain-registry name or chain id (built into the binary).
    Registry(String),
    /// An op-node `rollup.json` file.
    RollupFile(PathBuf),
}

/// One chain's endpoints as given (any may be absent until validated for a mode).
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Endpoints {
    /// Engine API URL of the chain's execution client.
    pub engine: Option<String>,
    /// eth JSON-RPC URL of the chain's execution client.
    pub rpc: Option<String>,
    /// File holding the Engine API JWT secret.
    pub jwt_secret: Option<PathBuf>,
    /// op-node-shaped CL to follow (attester mode).
    pub follow: Option<String>,
}

impl Endpoints {
    fn merge(&mut self, over: Self) {
        self.engine = over.engine.or(self.engine.take());
        self.rpc = over.rpc.or(self.rpc.take());
        self.jwt_secret = over.jwt_secret.or(self.jwt_secret.take());
        self.follow = over.follow.or(self.follow.take());
    }
}

/// A `[[chain]]` table of the config file.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileChain {
    /// Registry name or chain id.
    pub name: Option<String>,
    /// Or a rollup.json file.
    pub rollup_config: Option<PathBuf>,
    /// The chain's endpoints.
    #[serde(flatten)]
    pub endpoints: Endpoints,
}

/// `[rpc]`.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileListen {
    /// Listen address.
    pub addr: Option<IpAddr>,
    /// Listen port.
    pub port: Option<u16>,
    /// Only for `[metrics]`: serve a separate metrics listener.
    pub enabled: Option<bool>,
}

/// `[p2p.attest]`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AttestP2p {
    /// libp2p listen multiaddr, e.g. `/ip4/0.0.0.0/tcp/9223`.
    pub listen: Option<String>,
    /// The fleet's pre-shared key file (go-libp2p swarm.key format).
    pub psk: Option<PathBuf>,
    /// Fleet members to dial, multiaddrs ending in `/p2p/<peer id>`.
    #[serde(default)]
    pub static_peers: Vec<String>,
    /// This node's libp2p identity key file (default `<data dir>/attest_p2p_priv.txt`).
    pub priv_path: Option<PathBuf>,
}

/// `[p2p]`.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileP2p {
    /// The private attestation gossip.
    pub attest: Option<AttestP2p>,
}

/// The config file (`--config`), every key optional; see `deploy/examples/supernode.toml`.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileConfig {
    /// L1 execution JSON-RPC URL.
    pub l1: Option<String>,
    /// L1 beacon API URL.
    pub l1_beacon: Option<String>,
    /// L1 timestamp of Prague, for an L1 without a built-in blob fee schedule (devnets).
    pub l1_prague_time: Option<u64>,
    /// Most entries the shared L1 cache holds.
    pub l1_cache_entries: Option<usize>,
    /// Most bytes (estimated) the shared L1 cache holds.
    pub l1_cache_bytes: Option<usize>,
    /// Data directory.
    pub data_dir: Option<PathBuf>,
    /// Attestation signing key file.
    pub signer_key: Option<PathBuf>,
    /// `[rpc]`.
    pub rpc: Option<FileListen>,
    /// `[metrics]`.
    pub metrics: Option<FileListen>,
    /// `[p2p]`.
    pub p2p: Option<FileP2p>,
    /// `[[chain]]`.
    #[serde(default)]
    pub chain: Vec<FileChain>,
}

impl FileConfig {
    /// Parses config file text; `path` only names the file in errors.
    pub fn parse(text: &str, path: &Path) -> Result<Self, ConfigError> {
        toml::from_str(text).map_err(|e| ConfigError::ParseFile {
            path: path.to_path_buf(),
            message: e.to_string(),
        })
    }

    /// Reads and parses a config file.
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::ReadFile {
            path: path.to_path_buf(),
            source,
        })?;
        Self::parse(&text, path)
    }
}

/// Values given by flags or env; each wins over the file.
#[derive(Clone, Debug, Default)]
pub struct Overrides {
    /// `--chains`: registry names or ids.
    pub chains: Vec<String>,
    /// `--rollup-config`: rollup.json files.
    pub rollup_configs: Vec<PathBuf>,
    /// `--l2.<chainid>.<field>` settings.
    pub chain_endpoints: BTreeMap<ChainId, Endpoints>,
    /// `--l1`.
    pub l1: Option<String>,
    /// `--l1.beacon`.
    pub l1_beacon: Option<String>,
    /// `--l1.prague-time`.
    pub l1_prague_time: Option<u64>,
    /// `--l1.cache-entries`.
    pub l1_cache_entries: Option<usize>,
    /// `--l1.cache-bytes`.
    pub l1_cache_bytes: Option<usize>,
    /// `--data-dir`.
    pub data_dir: Option<PathBuf>,
    /// `--signer.key`.
    pub signer_key: Option<PathBuf>,
    /// `--rpc.addr`.
    pub rpc_addr: Option<IpAddr>,
    /// `--rpc.port`.
    pub rpc_port: Option<u16>,
    /// `--metrics.enabled`.
    pub metrics_enabled: Option<bool>,
    /// `--metrics.addr`.
    pub metrics_addr: Option<IpAddr>,
    /// `--metrics.port`.
    pub metrics_port: Option<u16>,
    /// `--p2p.attest.*`.
    pub p2p_attest: AttestP2p,
    /// `attest --follow`: the op-node of the one configured chain.
    pub follow: Option<String>,
}

/// What a chain is configured with after resolution.
#[derive(Clone, Debug, PartialEq)]
pub struct ChainConfig {
    /// Where the rollup config came from.
    pub source: ChainSource,
    /// The rollup config.
    pub rollup: RollupConfig,
    /// The chain's endpoints.
    pub endpoints: Endpoints,
}

impl ChainConfig {
    /// The chain id.
    pub const fn chain_id(&self) -> ChainId {
        self.rollup.l2_chain_id
    }
}

/// Which subcommand the configuration is for: each needs other endpoints.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// `run`: derive from L1, drive execution clients.
    Derive,
    /// `attest`: follow an op-node per chain.
    Attest,
}

/// A validated node configuration.
#[derive(Clone, Debug, PartialEq)]
pub struct NodeConfig {
    /// The chains, by ascending id.
    pub chains: Vec<ChainConfig>,
    /// L1 execution JSON-RPC URL.
    pub l1: String,
    /// L1 beacon API URL (derivation only).
    pub l1_beacon: Option<String>,
    /// Prague's L1 timestamp when given: the blob fee schedule of an L1 chain the node has no
    /// built-in schedule for (devnets), as op-node takes an L1 chain config for unknown L1s.
    pub l1_prague_time: Option<u64>,
    /// Bounds of the shared L1 cache (headers, transactions, receipts, blobs).
    pub l1_cache: CacheConfig,
    /// Data directory.
    pub data_dir: PathBuf,
    /// Attestation signing key file.
    pub signer_key: PathBuf,
    /// JSON-RPC listen address.
    pub rpc: SocketAddr,
    /// Separate metrics listener, when enabled.
    pub metrics: Option<SocketAddr>,
    /// Private attestation gossip, when configured.
    pub p2p_attest: Option<AttestP2p>,
}

fn check_url(what: &str, url: &str, schemes: &[&str]) -> Result<(), ConfigError> {
    let (scheme, rest) = url.split_once("://").ok_or_else(|| {
        invalid(
            what,
            format!("{url:?} is not a URL (expected scheme://host...)"),
        )
    })?;
    if !schemes.contains(&scheme) {
        return Err(invalid(
            what,
            format!(
                "{url:?} has scheme {scheme:?}, expected one of {}",
                schemes.join(", ")
            ),
        ));
    }
    if rest.is_empty() || rest.starts_with('/') {
        return Err(invalid(what, format!("{url:?} has no host")));
    }
    Ok(())
}

const HTTP: &[&str] = &["http", "https"];

/// Flag name of a per-chain setting.
pub fn chain_flag(chain: ChainId, field: &str) -> String {
    format!("--l2.{chain}.{field}")
}

/// Parses one `--l2.<chainid>.<field>` flag name (without value) into chain and field.
pub fn parse_chain_flag(name: &str) -> Result<(ChainId, String), ConfigError> {
    let rest = name
        .strip_prefix("--l2.")
        .ok_or_else(|| invalid(name, "expected --l2.<chainid>.<field>"))?;
    let (id, field) = rest
        .split_once('.')
        .ok_or_else(|| invalid(name, "expected --l2.<chainid>.<field>"))?;
    let chain: ChainId = id.parse().map_err(|e| invalid(name, format!("{e}")))?;
    match field {
        "engine" | "rpc" | "jwt-secret" | "follow" => Ok((chain, field.to_string())),
        other => Err(invalid(
            name,
            format!("unknown field {other:?} (expected engine, rpc, jwt-secret or follow)"),
        )),
    }
}

/// Records `value` for a parsed per-chain flag.
pub fn set_chain_endpoint(
    map: &mut BTreeMap<ChainId, Endpoints>,
    chain: ChainId,
    field: &str,
    value: String,
) -> Result<(), ConfigError> {
    let e = map.entry(chain).or_default();
    let slot_taken = |flag: String| invalid(flag, "given more than once");
    match field {
        "engine" if e.engine.is_none() => e.engine = Some(value),
        "rpc" if e.rpc.is_none() => e.rpc = Some(value),
        "jwt-secret" if e.jwt_secret.is_none() => e.jwt_secret = Some(PathBuf::from(value)),
        "follow" if e.follow.is_none() => e.follow = Some(value),
        "engine" | "rpc" | "jwt-secret" | "follow" => {
            return Err(slot_taken(chain_flag(chain, field)));
        }
        other => return Err(invalid(chain_flag(chain, other), "unknown field")),
    }
    Ok(())
}

/// Per-chain settings from `OPFLEET_L2_<CHAINID>_<FIELD>` variables.
pub fn chain_endpoints_from_env(
    vars: impl IntoIterator<Item = (String, String)>,
) -> Result<BTreeMap<ChainId, Endpoints>, ConfigError> {
    let mut map = BTreeMap::new();
    for (k, v) in vars {
        let Some(rest) = k.strip_prefix("OPFLEET_L2_") else {
            continue;
        };
        let Some((id, field)) = rest.split_once('_') else {
            return Err(invalid(k, "expected OPFLEET_L2_<CHAINID>_<FIELD>"));
        };
        let chain: ChainId = id.parse().map_err(|e| invalid(&k, format!("{e}")))?;
        let field = match field {
            "ENGINE" => "engine",
            "RPC" => "rpc",
            "JWT_SECRET" => "jwt-secret",
            "FOLLOW" => "follow",
            _ => {
                return Err(invalid(
                    &k,
                    "unknown field (expected ENGINE, RPC, JWT_SECRET or FOLLOW)",
                ));
            }
        };
        set_chain_endpoint(&mut map, chain, field, v)?;
    }
    Ok(map)
}

fn load_chain(source: ChainSource, what: &str) -> Result<ChainConfig, ConfigError> {
    let rollup = match &source {
        ChainSource::Registry(name) => {
            builtin::rollup_config(name).map_err(|e| invalid(what, e.to_string()))?
        }
        ChainSource::RollupFile(path) => {
            let text = std::fs::read_to_string(path)
                .map_err(|e| invalid(what, format!("{}: {e}", path.display())))?;
            RollupConfig::from_rollup_json(&text)
                .map_err(|e| invalid(what, format!("{}: {e}", path.display())))?
        }
    };
    Ok(ChainConfig {
        source,
        rollup,
        endpoints: Endpoints::default(),
    })
}

/// Merges the file and the overrides and validates the result for `mode`.
pub fn resolve(file: FileConfig, over: Overrides, mode: Mode) -> Result<NodeConfig, ConfigError> {
    let mut chains: BTreeMap<ChainId, ChainConfig> = BTreeMap::new();
    let mut add = |c: ChainConfig| -> Result<(), ConfigError> {
        let id = c.chain_id();
        if chains.insert(id, c).is_some() {
            return Err(ConfigError::DuplicateChain(id));
        }
        Ok(())
    };
    for (i, fc) in file.chain.into_iter().enumerate() {
        let what = format!("[[chain]] #{}", i + 1);
        let source = match (fc.name, fc.rollup_config) {
            (Some(n), None) => ChainSource::Registry(n),
            (None, Some(p)) => ChainSource::RollupFile(p),
            (Some(_), Some(_)) => {
                return Err(invalid(what, "give either name or rollup_config, not both"));
            }
            (None, None) => {
                return Err(ConfigError::Missing(format!(
                    "{what}: name or rollup_config"
                )));
            }
        };
        let mut c = load_chain(source, &what)?;
        c.endpoints = fc.endpoints;
        add(c)?;
    }
    for name in over.chains.iter().filter(|n| !n.trim().is_empty()) {
        add(load_chain(
            ChainSource::Registry(name.trim().to_string()),
            &format!("--chains {name}"),
        )?)?;
    }
    for path in &over.rollup_configs {
        add(load_chain(
            ChainSource::RollupFile(path.clone()),
            &format!("--rollup-config {}", path.display()),
        )?)?;
    }
    if chains.is_empty() {
        return Err(ConfigError::Missing(
            "chains: give --chains, --rollup-config or [[chain]] in --config".into(),
        ));
    }
    let known = chains
        .keys()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(", ");
    for (id, e) in over.chain_endpoints {
        let Some(c) = chains.get_mut(&id) else {
            let field = if e.engine.is_some() {
                "engine"
            } else if e.rpc.is_some() {
                "rpc"
            } else if e.jwt_secret.is_some() {
                "jwt-secret"
            } else {
                "follow"
            };
            return Err(ConfigError::UnknownChain {
                flag: chain_flag(id, field),
                chain: id,
                known,
            });
        };
        c.endpoints.merge(e);
    }
    if let Some(url) = over.follow {
        let mut all = chains.values_mut();
        match (all.next(), all.next()) {
            (Some(only), None) => only.endpoints.follow = Some(url),
            _ => {
                return Err(invalid(
                    "--follow",
                    format!(
                        "applies to exactly one chain, but {known} are configured \
                         (use --l2.<chainid>.follow per chain)"
                    ),
                ));
            }
        }
    }
    for (id, c) in &chains {
        let e = &c.endpoints;
        match mode {
            Mode::Derive => {
                let engine = e.engine.as_deref().ok_or_else(|| {
                    ConfigError::Missing(format!("{} (Engine API URL)", chain_flag(*id, "engine")))
                })?;
                check_url(&chain_flag(*id, "engine"), engine, HTTP)?;
                let rpc = e.rpc.as_deref().ok_or_else(|| {
                    ConfigError::Missing(format!(
                        "{} (execution client RPC URL)",
                        chain_flag(*id, "rpc")
                    ))
                })?;
                check_url(&chain_flag(*id, "rpc"), rpc, HTTP)?;
                if e.jwt_secret.is_none() {
                    return Err(ConfigError::Missing(format!(
                        "{} (Engine API JWT secret file)",
                        chain_flag(*id, "jwt-secret")
                    )));
                }
            }
            Mode::Attest => {
                let follow = e.follow.as_deref().ok_or_else(|| {
                    ConfigError::Missing(format!(
                        "{} (op-node RPC URL to follow)",
                        chain_flag(*id, "follow")
                    ))
                })?;
                check_url(&chain_flag(*id, "follow"), follow, HTTP)?;
            }
        }
    }
    let l1 = over
        .l1
        .or(file.l1)
        .ok_or_else(|| ConfigError::Missing("--l1 (L1 execution RPC URL)".into()))?;
    check_url("--l1", &l1, HTTP)?;
    let l1_beacon = over.l1_beacon.or(file.l1_beacon);
    match (&l1_beacon, mode) {
        (Some(b), _) => check_url("--l1.beacon", b, HTTP)?,
        (None, Mode::Derive) => {
            return Err(ConfigError::Missing(
                "--l1.beacon (L1 beacon API URL)".into(),
            ));
        }
        (None, Mode::Attest) => {}
    }
    let data_dir = over
        .data_dir
        .or(file.data_dir)
        .ok_or_else(|| ConfigError::Missing("--data-dir".into()))?;
    let signer_key = over
        .signer_key
        .or(file.signer_key)
        .ok_or_else(|| ConfigError::Missing("--signer.key (attestation key file)".into()))?;
    let frpc = file.rpc.unwrap_or_default();
    let rpc = SocketAddr::new(
        over.rpc_addr
            .or(frpc.addr)
            .unwrap_or(IpAddr::from([127, 0, 0, 1])),
        over.rpc_port.or(frpc.port).unwrap_or(DEFAULT_RPC_PORT),
    );
    let fm = file.metrics.unwrap_or_default();
    let metrics = over
        .metrics_enabled
        .or(fm.enabled)
        .unwrap_or(false)
        .then(|| {
            SocketAddr::new(
                over.metrics_addr
                    .or(fm.addr)
                    .unwrap_or(IpAddr::from([0, 0, 0, 0])),
                over.metrics_port
                    .or(fm.port)
                    .unwrap_or(DEFAULT_METRICS_PORT),
            )
        });
    if metrics.is_some_and(|m| m.port() == rpc.port() && m.port() != 0) {
        return Err(invalid(
            "--metrics.port",
            format!(
                "{} is also the RPC port (metrics are at /metrics there too)",
                rpc.port()
            ),
        ));
    }
    let mut p2p = file.p2p.and_then(|p| p.attest).unwrap_or_default();
    let o = over.p2p_attest;
    p2p.listen = o.listen.or(p2p.listen);
    p2p.psk = o.psk.or(p2p.psk);
    p2p.priv_path = o.priv_path.or(p2p.priv_path);
    if !o.static_peers.is_empty() {
        p2p.static_peers = o.static_peers;
    }
    let p2p_attest = if p2p == AttestP2p::default() {
        None
    } else {
        if p2p.listen.is_none() {
            return Err(ConfigError::Missing(
                "--p2p.attest.listen (gossip is configured, but not where to listen)".into(),
            ));
        }
        if p2p.psk.is_none() {
            return Err(ConfigError::Missing(
                "--p2p.attest.psk (the fleet's pre-shared swarm key file)".into(),
            ));
        }
        Some(p2p)
    };
    let cache_default = CacheConfig::default();
    let l1_cache = CacheConfig {
        max_entries: over
            .l1_cache_entries
            .or(file.l1_cache_entries)
            .unwrap_or(cache_default.max_entries),
        max_bytes: over
            .l1_cache_bytes
            .or(file.l1_cache_bytes)
            .unwrap_or(cache_default.max_bytes),
    };
    Ok(NodeConfig {
        chains: chains.into_values().collect(),
        l1,
        l1_beacon,
        l1_prague_time: over.l1_prague_time.or(file.l1_prague_time),
        l1_cache,
        data_dir,
        signer_key,
        rpc,
        metrics,
        p2p_attest,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn base(mode: Mode) -> Overrides {
        let mut o = Overrides {
            chains: vec!["op-sepolia".into()],
            l1: Some("http://l1:8545".into()),
            l1_beacon: Some("http://beacon:5052".into()),
            data_dir: Some("/tmp/x".into()),
            signer_key: Some("/tmp/key".into()),
            ..Default::default()
        };
        let id = ChainId(11155420);
        let mut e = Endpoints::default();
        match mode {
            Mode::Derive => {
                e.engine = Some("http://geth:8551".into());
                e.rpc = Some("http://geth:8545".into());
                e.jwt_secret = Some("/tmp/jwt".into());
            }
            Mode::Attest => e.follow = Some("http://op-node:9545".into()),
        }
        o.chain_endpoints.insert(id, e);
        o
    }

    fn error(file: FileConfig, o: Overrides, mode: Mode) -> String {
        resolve(file, o, mode).unwrap_err().to_string()
    }

    #[test]
    fn flags_alone_resolve_with_defaults() {
        let c = resolve(FileConfig::default(), base(Mode::Derive), Mode::Derive).unwrap();
        assert_eq!(c.chains.len(), 1);
        assert_eq!(c.chains[0].chain_id(), ChainId(11155420));
        assert_eq!(
            c.chains[0].source,
            ChainSource::Registry("op-sepolia".into())
        );
        assert_eq!(c.rpc, "127.0.0.1:9545".parse().unwrap());
        assert_eq!(c.metrics, None);
        assert_eq!(c.p2p_attest, None);
    }

    #[test]
    fn l1_cache_bounds_come_from_flags_then_file_then_default() {
        let c = resolve(FileConfig::default(), base(Mode::Derive), Mode::Derive).unwrap();
        assert_eq!(c.l1_cache, CacheConfig::default());
        let file = FileConfig {
            l1_cache_entries: Some(100),
            l1_cache_bytes: Some(1 << 20),
            ..Default::default()
        };
        let c = resolve(file.clone(), base(Mode::Derive), Mode::Derive).unwrap();
        assert_eq!(
            (c.l1_cache.max_entries, c.l1_cache.max_bytes),
            (100, 1 << 20)
        );
        let mut o = base(Mode::Derive);
        o.l1_cache_bytes = Some(4096);
        let c = resolve(file, o, Mode::Derive).unwrap();
        assert_eq!((c.l1_cache.max_entries, c.l1_cache.max_bytes), (100, 4096));
    }

    #[test]
    fn each_missing_value_is_named() {
        for (field, want) in [
            ("engine", "--l2.11155420.engine"),
            ("rpc", "--l2.11155420.rpc"),
            ("jwt", "--l2.11155420.jwt-secret"),
            ("l1", "--l1"),
            ("beacon", "--l1.beacon"),
            ("data", "--data-dir"),
            ("key", "--signer.key"),
        ] {
            let mut o = base(Mode::Derive);
            let e = o.chain_endpoints.get_mut(&ChainId(11155420)).unwrap();
            match field {
                "engine" => e.engine = None,
                "rpc" => e.rpc = None,
                "jwt" => e.jwt_secret = None,
                "l1" => o.l1 = None,
                "beacon" => o.l1_beacon = None,
                "data" => o.data_dir = None,
                _ => o.signer_key = None,
            }
            let msg = error(FileConfig::default(), o, Mode::Derive);
            assert!(msg.contains(want), "{field}: {msg}");
        }
        let msg = error(FileConfig::default(), Overrides::default(), Mode::Derive);
        assert!(msg.contains("--chains"), "{msg}");
    }

    #[test]
    fn wrong_values_are_named() {
        let mut o = base(Mode::Derive);
        o.l1 = Some("l1:8545".into());
        assert!(error(FileConfig::default(), o, Mode::Derive).contains("--l1"));
        let mut o = base(Mode::Derive);
        o.chain_endpoints
            .get_mut(&ChainId(11155420))
            .unwrap()
            .engine = Some("ws://geth:8551".into());
        let msg = error(FileConfig::default(), o, Mode::Derive);
        assert!(
            msg.contains("--l2.11155420.engine") && msg.contains("ws"),
            "{msg}"
        );
        let mut o = base(Mode::Derive);
        o.chains = vec!["no-such-chain".into()];
        let msg = error(FileConfig::default(), o, Mode::Derive);
        assert!(msg.contains("--chains no-such-chain"), "{msg}");
        let mut o = base(Mode::Derive);
        o.chain_endpoints.insert(
            ChainId(10),
            Endpoints {
                rpc: Some("http://x".into()),
                ..Default::default()
            },
        );
        let msg = error(FileConfig::default(), o, Mode::Derive);
        assert!(
            msg.contains("--l2.10.rpc") && msg.contains("11155420"),
            "{msg}"
        );
        let mut o = base(Mode::Derive);
        o.chains.push("11155420".into());
        assert!(error(FileConfig::default(), o, Mode::Derive).contains("more than once"));
        let mut o = base(Mode::Derive);
        o.metrics_enabled = Some(true);
        o.metrics_port = Some(DEFAULT_RPC_PORT);
        assert!(error(FileConfig::default(), o, Mode::Derive).contains("--metrics.port"));
        let mut o = base(Mode::Derive);
        o.p2p_attest.listen = Some("/ip4/0.0.0.0/tcp/9223".into());
        assert!(error(FileConfig::default(), o, Mode::Derive).contains("--p2p.attest.psk"));
    }

    #[test]
    fn follow_sugar_needs_exactly_one_chain() {
        let mut o = base(Mode::Attest);
        o.chain_endpoints.clear();
        o.follow = Some("http://op-node:1".into());
        let c = resolve(FileConfig::default(), o.clone(), Mode::Attest).unwrap();
        assert_eq!(
            c.chains[0].endpoints.follow.as_deref(),
            Some("http://op-node:1")
        );
        o.chains.push("unichain-sepolia".into());
        assert!(error(FileConfig::default(), o, Mode::Attest).contains("--follow"));
    }

    #[test]
    fn attest_mode_needs_follow_but_no_engine_or_beacon() {
        let mut o = base(Mode::Attest);
        o.l1_beacon = None;
        let c = resolve(FileConfig::default(), o, Mode::Attest).unwrap();
        assert_eq!(
            c.chains[0].endpoints.follow.as_deref(),
            Some("http://op-node:9545")
        );
        let msg = error(FileConfig::default(), base(Mode::Derive), Mode::Attest);
        assert!(msg.contains("--l2.11155420.follow"), "{msg}");
    }

    #[test]
    fn example_file_parses_and_flags_win() {
        let path = Path::new(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../deploy/examples/supernode.toml"
        ));
        let file = FileConfig::load(path).unwrap();
        assert_eq!(file.chain.len(), 2);
        let over = Overrides {
            rpc_port: Some(1234),
            ..Default::default()
        };
        let c = resolve(file, over, Mode::Derive).unwrap();
        assert_eq!(c.rpc.port(), 1234);
        let ids: Vec<u64> = c.chains.iter().map(|c| c.chain_id().get()).collect();
        assert_eq!(ids, vec![1301, 11155420]);
        assert!(c.metrics.is_some());
        let p2p = c.p2p_attest.unwrap();
        assert_eq!(p2p.static_peers.len(), 1);
    }

    #[test]
    fn file_errors_have_line_numbers_and_unknown_keys_fail() {
        let msg = FileConfig::parse("l1 = \n", Path::new("x.toml"))
            .unwrap_err()
            .to_string();
        assert!(msg.contains("x.toml") && msg.contains("line 1"), "{msg}");
        let msg = FileConfig::parse("[[chain]]\nnmae = \"op-sepolia\"\n", Path::new("x.toml"))
            .unwrap_err()
            .to_string();
        assert!(msg.contains("nmae"), "{msg}");
    }

    #[test]
    fn rollup_file_chains() {
        let dir = tempfile::tempdir().unwrap();
        let cfg = builtin::rollup_config("op-sepolia").unwrap();
        let path = dir.path().join("rollup.json");
        std::fs::write(&path, cfg.to_rollup_json().unwrap()).unwrap();
        let mut o = base(Mode::Derive);
        o.chains.clear();
        o.rollup_configs.push(path.clone());
        let c = resolve(FileConfig::default(), o, Mode::Derive).unwrap();
        assert_eq!(c.chains[0].source, ChainSource::RollupFile(path));
        assert_eq!(c.chains[0].rollup, cfg);
        let mut o = base(Mode::Derive);
        o.chains.clear();
        o.rollup_configs.push(dir.path().join("missing.json"));
        assert!(error(FileConfig::default(), o, Mode::Derive).contains("--rollup-config"));
    }

    #[test]
    fn chain_flags_and_env() {
        assert_eq!(
            parse_chain_flag("--l2.10.jwt-secret").unwrap(),
            (ChainId(10), "jwt-secret".to_string())
        );
        assert!(parse_chain_flag("--l2.10.bogus").is_err());
        assert!(parse_chain_flag("--l2.ten.rpc").is_err());
        let env = chain_endpoints_from_env([
            ("OPFLEET_L2_10_ENGINE".to_string(), "http://e".to_string()),
            ("OPFLEET_L2_10_JWT_SECRET".to_string(), "/j".to_string()),
            ("PATH".to_string(), "/bin".to_string()),
        ])
        .unwrap();
        assert_eq!(env[&ChainId(10)].engine.as_deref(), Some("http://e"));
        assert_eq!(env[&ChainId(10)].jwt_secret, Some(PathBuf::from("/j")));
        assert!(chain_endpoints_from_env([("OPFLEET_L2_10_X".into(), "v".into())]).is_err());
        let mut m = BTreeMap::new();
        set_chain_endpoint(&mut m, ChainId(1), "rpc", "a".into()).unwrap();
        assert!(set_chain_endpoint(&mut m, ChainId(1), "rpc", "b".into()).is_err());
    }
}
