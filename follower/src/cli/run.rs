//! `opfleet-follower run`: op-node-style flags, each with an `OPFLEET_` environment twin.

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

use alloy::primitives::Address;
use clap::Args;

use crate::config::{
    AttestGossipSettings, AttestedSources, ConfigError, DiscoverySettings, FollowerConfig,
    HeadsSource, P2pSettings, advertise_ip, advertise_port, check_url, load_rollup, trust_policy,
};

/// Flags of `run`.
#[derive(Debug, Clone, Args)]
pub struct RunArgs {
    /// Built-in chain name (superchain registry), e.g. `op-sepolia`.
    #[arg(long, env = "OPFLEET_CHAIN")]
    pub chain: Option<String>,
    /// op-node rollup.json of the chain.
    #[arg(long = "rollup-config", env = "OPFLEET_ROLLUP_CONFIG")]
    pub rollup_config: Option<PathBuf>,
    /// Engine API URL of the execution client.
    #[arg(long = "l2", env = "OPFLEET_L2")]
    pub l2: String,
    /// eth JSON-RPC URL of the execution client (default: the engine URL).
    #[arg(long = "l2.rpc", env = "OPFLEET_L2_RPC")]
    pub l2_rpc: Option<String>,
    /// File with the Engine API JWT secret (64 hex characters).
    #[arg(long = "l2.jwt-secret", env = "OPFLEET_L2_JWT_SECRET")]
    pub l2_jwt_secret: PathBuf,
    /// Data directory (SQLite database).
    #[arg(
        long = "data-dir",
        env = "OPFLEET_DATA_DIR",
        default_value = "./follower-data"
    )]
    pub data_dir: PathBuf,
    /// Trusted attestation signer keys (0x + 64 hex), comma separated or repeated.
    #[arg(long = "trust.keys", env = "OPFLEET_TRUST_KEYS", value_delimiter = ',')]
    pub trust_keys: Vec<String>,
    /// How many trusted signers must attest the same block.
    #[arg(long = "trust.threshold", env = "OPFLEET_TRUST_THRESHOLD")]
    pub trust_threshold: Option<usize>,
    /// Supernode URL (http(s) or ws(s)); repeatable.
    #[arg(
        long = "attest.source",
        env = "OPFLEET_ATTEST_SOURCE",
        value_delimiter = ','
    )]
    pub attest_source: Vec<String>,
    /// `attest_latest` poll interval (seconds) while push is down.
    #[arg(
        long = "attest.poll-interval",
        env = "OPFLEET_ATTEST_POLL_INTERVAL",
        default_value_t = 2
    )]
    pub attest_poll_interval: u64,
    /// Private attestation gossip listen multiaddr.
    #[arg(long = "attest.gossip.listen", env = "OPFLEET_ATTEST_GOSSIP_LISTEN")]
    pub attest_gossip_listen: Option<String>,
    /// Private attestation gossip peers (multiaddrs); repeatable.
    #[arg(
        long = "attest.gossip.peers",
        env = "OPFLEET_ATTEST_GOSSIP_PEERS",
        value_delimiter = ','
    )]
    pub attest_gossip_peers: Vec<String>,
    /// go-libp2p swarm.key of the private network.
    #[arg(
        long = "attest.gossip.swarm-key",
        env = "OPFLEET_ATTEST_GOSSIP_SWARM_KEY"
    )]
    pub attest_gossip_swarm_key: Option<PathBuf>,
    /// Attestation gossip identity key file (hex secp256k1 secret), created 0600 on first start
    /// [default: <data-dir>/attest_p2p_priv.txt].
    #[arg(
        long = "attest.gossip.priv.path",
        env = "OPFLEET_ATTEST_GOSSIP_PRIV_PATH"
    )]
    pub attest_gossip_priv_path: Option<PathBuf>,
    /// op-node-shaped sync status source to follow instead of attestations.
    #[arg(long = "l2.follow.source", env = "OPFLEET_L2_FOLLOW_SOURCE")]
    pub l2_follow_source: Option<String>,
    /// L1 RPC, to check the follow source's L1 origins are canonical.
    #[arg(long = "l1", env = "OPFLEET_L1")]
    pub l1: Option<String>,
    /// Unsafe-block P2P listen multiaddr, e.g. /ip4/0.0.0.0/tcp/9222.
    #[arg(long = "p2p.listen", env = "OPFLEET_P2P_LISTEN")]
    pub p2p_listen: Option<String>,
    /// Static P2P peers (multiaddrs with /p2p/<id>); repeatable.
    #[arg(long = "p2p.static", env = "OPFLEET_P2P_STATIC", value_delimiter = ',')]
    pub p2p_static: Vec<String>,
    /// discv5 bootnodes (ENRs); repeatable.
    #[arg(
        long = "p2p.bootnodes",
        env = "OPFLEET_P2P_BOOTNODES",
        value_delimiter = ','
    )]
    pub p2p_bootnodes: Vec<String>,
    /// discv5 UDP listen port (discv5 runs when it has bootnodes or a discovery DB file).
    #[arg(
        long = "p2p.listen.udp",
        env = "OPFLEET_P2P_LISTEN_UDP",
        default_value_t = 9222
    )]
    pub p2p_listen_udp: u16,
    /// Disable discv5 (node discovery).
    #[arg(long = "p2p.no-discovery", env = "OPFLEET_P2P_NO_DISCOVERY")]
    pub p2p_no_discovery: bool,
    /// IP (or hostname, resolved to its first IPv4 address) advertised in the node's ENR instead
    /// of the listen IP, for nodes behind NAT. Unset: the listen IP when it is not 0.0.0.0,
    /// else what discv5 peers report.
    #[arg(long = "p2p.advertise.ip", env = "OPFLEET_P2P_ADVERTISE_IP")]
    pub p2p_advertise_ip: Option<String>,
    /// TCP port advertised in the ENR; the --p2p.listen TCP port if 0.
    #[arg(
        long = "p2p.advertise.tcp",
        env = "OPFLEET_P2P_ADVERTISE_TCP",
        default_value_t = 0
    )]
    pub p2p_advertise_tcp: u16,
    /// UDP port advertised in the ENR; the --p2p.listen.udp port if 0.
    #[arg(
        long = "p2p.advertise.udp",
        env = "OPFLEET_P2P_ADVERTISE_UDP",
        default_value_t = 0
    )]
    pub p2p_advertise_udp: u16,
    /// File keeping the ENRs discv5 learnt, read back on start as extra bootnodes; `memory`
    /// keeps nothing [default: <data-dir>/opnode_discovery_db].
    #[arg(long = "p2p.discovery.path", env = "OPFLEET_P2P_DISCOVERY_PATH")]
    pub p2p_discovery_path: Option<PathBuf>,
    /// P2P secp256k1 key, hex; takes precedence over --p2p.priv.path.
    #[arg(long = "p2p.priv.raw", env = "OPFLEET_P2P_PRIV_RAW")]
    pub p2p_priv_raw: Option<String>,
    /// P2P identity key file (hex secp256k1 secret), created 0600 on first start
    /// [default: <data-dir>/opnode_p2p_priv.txt].
    #[arg(long = "p2p.priv.path", env = "OPFLEET_P2P_PRIV_PATH")]
    pub p2p_priv_path: Option<PathBuf>,
    /// The sequencer's unsafe block signer address.
    #[arg(
        long = "p2p.unsafe-block-signer",
        env = "OPFLEET_P2P_UNSAFE_BLOCK_SIGNER"
    )]
    pub p2p_unsafe_block_signer: Option<Address>,
    /// JSON-RPC listen address.
    #[arg(
        long = "rpc.addr",
        env = "OPFLEET_RPC_ADDR",
        default_value = "127.0.0.1"
    )]
    pub rpc_addr: IpAddr,
    /// JSON-RPC listen port.
    #[arg(long = "rpc.port", env = "OPFLEET_RPC_PORT", default_value_t = 9545)]
    pub rpc_port: u16,
    /// Serve /metrics and /healthz.
    #[arg(long = "metrics.enabled", env = "OPFLEET_METRICS_ENABLED")]
    pub metrics_enabled: bool,
    /// Metrics listen address.
    #[arg(
        long = "metrics.addr",
        env = "OPFLEET_METRICS_ADDR",
        default_value = "0.0.0.0"
    )]
    pub metrics_addr: IpAddr,
    /// Metrics listen port.
    #[arg(
        long = "metrics.port",
        env = "OPFLEET_METRICS_PORT",
        default_value_t = 7300
    )]
    pub metrics_port: u16,
    /// Check attested output roots against the execution client.
    #[arg(long = "verify.output-root", env = "OPFLEET_VERIFY_OUTPUT_ROOT")]
    pub verify_output_root: bool,
    /// /healthz fails when the safe head is older than this many seconds.
    #[arg(
        long = "healthz.max-safe-age",
        env = "OPFLEET_HEALTHZ_MAX_SAFE_AGE",
        default_value_t = 600
    )]
    pub healthz_max_safe_age: u64,
}

impl RunArgs {
    /// Validates the flags into a configuration.
    pub fn to_config(&self) -> Result<FollowerConfig, ConfigError> {
        let rollup = load_rollup(self.chain.as_deref(), self.rollup_config.as_deref())?;
        check_url("--l2", &self.l2)?;
        if let Some(u) = &self.l2_rpc {
            check_url("--l2.rpc", u)?;
        }
        let attested = !self.attest_source.is_empty() || self.attest_gossip_listen.is_some();
        let heads = match (&self.l2_follow_source, attested) {
            (Some(_), true) => return Err(ConfigError::MixedHeadsSources),
            (None, false) => return Err(ConfigError::NoHeadsSource),
            (Some(url), false) => {
                check_url("--l2.follow.source", url)?;
                if let Some(l1) = &self.l1 {
                    check_url("--l1", l1)?;
                }
                HeadsSource::FollowSource {
                    url: url.clone(),
                    l1: self.l1.clone(),
                }
            }
            (None, true) => {
                let threshold = self.trust_threshold.ok_or(ConfigError::MissingTrust)?;
                if self.trust_keys.is_empty() {
                    return Err(ConfigError::MissingTrust);
                }
                for u in &self.attest_source {
                    check_url("--attest.source", u)?;
                }
                if self.attest_poll_interval == 0 {
                    return Err(ConfigError::ZeroDuration("--attest.poll-interval"));
                }
                let gossip = match &self.attest_gossip_listen {
                    Some(listen) => Some(AttestGossipSettings {
                        listen: listen.clone(),
                        peers: self.attest_gossip_peers.clone(),
                        swarm_key: self
                            .attest_gossip_swarm_key
                            .clone()
                            .ok_or(ConfigError::MissingSwarmKey)?,
                        priv_path: self.attest_gossip_priv_path.clone(),
                    }),
                    None => None,
                };
                HeadsSource::Attested(AttestedSources {
                    policy: trust_policy(&self.trust_keys, threshold)?,
                    urls: self.attest_source.clone(),
                    gossip,
                    poll_interval: Duration::from_secs(self.attest_poll_interval),
                })
            }
        };
        let p2p = match &self.p2p_listen {
            Some(listen) => Some(P2pSettings {
                listen: listen.clone(),
                static_peers: self.p2p_static.clone(),
                bootnodes: self.p2p_bootnodes.clone(),
                discovery_udp: SocketAddr::from(([0, 0, 0, 0], self.p2p_listen_udp)),
                priv_key_hex: self.p2p_priv_raw.clone(),
                priv_path: self.p2p_priv_path.clone(),
                unsafe_block_signer: self
                    .p2p_unsafe_block_signer
                    .ok_or(ConfigError::MissingUnsafeSigner)?,
                discovery: self.discovery_settings()?,
            }),
            None => None,
        };
        if self.healthz_max_safe_age == 0 {
            return Err(ConfigError::ZeroDuration("--healthz.max-safe-age"));
        }
        Ok(FollowerConfig {
            rollup,
            engine_url: self.l2.clone(),
            l2_rpc_url: self.l2_rpc.clone().unwrap_or_else(|| self.l2.clone()),
            jwt_secret: self.l2_jwt_secret.clone(),
            data_dir: self.data_dir.clone(),
            heads,
            p2p,
            rpc_addr: SocketAddr::new(self.rpc_addr, self.rpc_port),
            metrics_addr: self
                .metrics_enabled
                .then(|| SocketAddr::new(self.metrics_addr, self.metrics_port)),
            verify_output_root: self.verify_output_root,
            healthz_max_safe_age: Duration::from_secs(self.healthz_max_safe_age),
        })
    }
}

impl RunArgs {
    /// The discv5 flags, checked as op-node checks them.
    fn discovery_settings(&self) -> Result<DiscoverySettings, ConfigError> {
        Ok(DiscoverySettings {
            disabled: self.p2p_no_discovery,
            advertise_ip: self
                .p2p_advertise_ip
                .as_deref()
                .filter(|v| !v.trim().is_empty())
                .map(advertise_ip)
                .transpose()?,
            advertise_tcp: advertise_port("--p2p.advertise.tcp", self.p2p_advertise_tcp)?,
            advertise_udp: advertise_port("--p2p.advertise.udp", self.p2p_advertise_udp)?,
            path: self.p2p_discovery_path.clone(),
        })
    }
}

/// Runs the follower until SIGINT or SIGTERM, then shuts it down gracefully.
pub fn run(args: RunArgs) -> anyhow::Result<()> {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .try_init();
    let config = args.to_config()?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async move {
        let secret = opfleet_engine::JwtSecret::from_file(&config.jwt_secret)?;
        let el = crate::engine::el_client::EngineLayer::new(
            &config.engine_url,
            &config.l2_rpc_url,
            secret,
            &config.rollup,
        )?;
        let extras = crate::node::Extras {
            prometheus: Some(crate::metrics::prometheus()),
            ..Default::default()
        };
        let node =
            crate::node::FollowerNode::start(config, std::sync::Arc::new(el), extras).await?;
        wait_for_signal().await?;
        tracing::info!("shutting down");
        node.stop().await;
        anyhow::Ok(())
    })
}

async fn wait_for_signal() -> std::io::Result<()> {
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    tokio::select! {
        r = tokio::signal::ctrl_c() => r,
        _ = term.recv() => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use crate::cli::{Cli, Command};
    use crate::config::{ConfigError, DiscoverySettings, HeadsSource};

    fn parse(extra: &[&str]) -> Result<crate::config::FollowerConfig, ConfigError> {
        let rollup = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../protocol/src/config/testdata/base-sepolia-rollup.json"
        );
        let mut argv = vec![
            "opfleet-follower",
            "run",
            "--rollup-config",
            rollup,
            "--l2",
            "http://127.0.0.1:8551",
            "--l2.jwt-secret",
            "/tmp/jwt.hex",
        ];
        argv.extend_from_slice(extra);
        let Command::Run(args) = Cli::try_parse_from(argv).unwrap().command else {
            panic!("not run");
        };
        args.to_config()
    }

    fn key(i: u8) -> String {
        opfleet_attest::PublicKey::of(&opfleet_attest::SigningKey::from_bytes(&[i; 32])).to_string()
    }

    #[test]
    fn sequencer_attested_mode_is_one_key_threshold_one() {
        let k = key(1);
        let c = parse(&[
            "--trust.keys",
            &k,
            "--trust.threshold",
            "1",
            "--attest.source",
            "ws://sn:8545",
        ])
        .unwrap();
        let HeadsSource::Attested(a) = c.heads else {
            panic!("not attested")
        };
        assert_eq!(a.policy.threshold(), 1);
        assert_eq!(a.urls, vec!["ws://sn:8545".to_string()]);
        assert_eq!(c.l2_rpc_url, "http://127.0.0.1:8551");
    }

    #[test]
    fn flags_are_checked() {
        assert!(matches!(parse(&[]), Err(ConfigError::NoHeadsSource)));
        assert!(matches!(
            parse(&[
                "--attest.source",
                "http://a",
                "--l2.follow.source",
                "http://b"
            ]),
            Err(ConfigError::MixedHeadsSources)
        ));
        assert!(matches!(
            parse(&["--attest.source", "http://a"]),
            Err(ConfigError::MissingTrust)
        ));
        assert!(matches!(
            parse(&[
                "--l2.follow.source",
                "http://b",
                "--p2p.listen",
                "/ip4/0.0.0.0/tcp/9222"
            ]),
            Err(ConfigError::MissingUnsafeSigner)
        ));
        let k = format!("{},{},{}", key(1), key(2), key(3));
        let c = parse(&[
            "--trust.keys",
            &k,
            "--trust.threshold",
            "2",
            "--attest.source",
            "http://a,http://b",
        ])
        .unwrap();
        let HeadsSource::Attested(a) = c.heads else {
            panic!("not attested")
        };
        assert_eq!(a.urls.len(), 2);
        assert_eq!(a.policy.keys().count(), 3);
        let c = parse(&["--l2.follow.source", "http://b", "--l1", "http://l1"]).unwrap();
        assert!(matches!(
            c.heads,
            HeadsSource::FollowSource { l1: Some(_), .. }
        ));
    }

    #[test]
    fn identity_key_paths_reach_the_config() {
        let k = key(1);
        let signer = format!("{:#x}", alloy::primitives::Address::repeat_byte(1));
        let base = [
            "--trust.keys",
            k.as_str(),
            "--trust.threshold",
            "1",
            "--attest.gossip.listen",
            "/ip4/127.0.0.1/tcp/0",
            "--attest.gossip.swarm-key",
            "/tmp/swarm.key",
            "--p2p.listen",
            "/ip4/127.0.0.1/tcp/0",
            "--p2p.unsafe-block-signer",
            signer.as_str(),
        ];
        let c = parse(&base).unwrap();
        let HeadsSource::Attested(a) = &c.heads else {
            panic!("not attested")
        };
        // Unset: the node puts the key files in its data directory.
        assert_eq!(a.gossip.as_ref().unwrap().priv_path, None);
        assert_eq!(c.p2p.as_ref().unwrap().priv_path, None);
        let mut argv = base.to_vec();
        argv.extend([
            "--p2p.priv.path",
            "/keys/p2p.txt",
            "--attest.gossip.priv.path",
            "/keys/attest.txt",
        ]);
        let c = parse(&argv).unwrap();
        let HeadsSource::Attested(a) = &c.heads else {
            panic!("not attested")
        };
        assert_eq!(
            a.gossip.as_ref().unwrap().priv_path.as_deref(),
            Some(std::path::Path::new("/keys/attest.txt"))
        );
        let p2p = c.p2p.unwrap();
        assert_eq!(
            p2p.priv_path.as_deref(),
            Some(std::path::Path::new("/keys/p2p.txt"))
        );
        assert_eq!(p2p.priv_key_hex, None);
    }

    /// A follow-source follower with unsafe-block P2P, plus `extra` flags.
    fn p2p_args(extra: &[&str]) -> Vec<String> {
        let signer = format!("{:#x}", alloy::primitives::Address::repeat_byte(1));
        let mut argv: Vec<String> = [
            "--l2.follow.source",
            "http://b",
            "--p2p.listen",
            "/ip4/0.0.0.0/tcp/9222",
            "--p2p.unsafe-block-signer",
            signer.as_str(),
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        argv.extend(extra.iter().map(|s| s.to_string()));
        argv
    }

    fn discovery(extra: &[&str]) -> Result<DiscoverySettings, ConfigError> {
        let argv = p2p_args(extra);
        let argv: Vec<&str> = argv.iter().map(String::as_str).collect();
        Ok(parse(&argv)?.p2p.unwrap().discovery)
    }

    /// Set by the env-twin test in the child process it runs.
    const CHILD_MARKER: &str = "OPFLEET_TEST_DISCOVERY_ENV_CHILD";

    #[test]
    fn discovery_flags_follow_op_node() {
        if std::env::var_os(CHILD_MARKER).is_some() {
            return;
        }
        // op-node's defaults: nothing advertised beyond the listen values, records kept in the
        // data directory, discovery on.
        assert_eq!(discovery(&[]).unwrap(), DiscoverySettings::default());
        let d = discovery(&[
            "--p2p.advertise.ip",
            "203.0.113.7",
            "--p2p.advertise.tcp",
            "30303",
            "--p2p.advertise.udp",
            "30304",
            "--p2p.discovery.path",
            "memory",
            "--p2p.no-discovery",
        ])
        .unwrap();
        assert_eq!(
            d,
            DiscoverySettings {
                disabled: true,
                advertise_ip: Some(std::net::IpAddr::from([203, 0, 113, 7])),
                advertise_tcp: Some(30303),
                advertise_udp: Some(30304),
                path: Some("memory".into()),
            }
        );
        // 0 is op-node's "the listen port"; an empty IP is unset.
        let d = discovery(&["--p2p.advertise.tcp", "0", "--p2p.advertise.ip", ""]).unwrap();
        assert_eq!((d.advertise_tcp, d.advertise_ip), (None, None));
        assert!(matches!(
            discovery(&["--p2p.advertise.tcp", "80"]),
            Err(ConfigError::ReservedPort {
                flag: "--p2p.advertise.tcp",
                port: 80
            })
        ));
        assert!(matches!(
            discovery(&["--p2p.advertise.ip", "2001:db8::1"]),
            Err(ConfigError::AdvertiseIp { .. })
        ));
        let argv = p2p_args(&["--p2p.advertise.udp", "70000"]);
        let mut full = vec![
            "opfleet-follower",
            "run",
            "--l2",
            "http://x",
            "--l2.jwt-secret",
            "/j",
        ];
        full.extend(argv.iter().map(String::as_str));
        let err = Cli::try_parse_from(full).unwrap_err().to_string();
        assert!(err.contains("--p2p.advertise.udp"), "{err}");
    }

    /// The env twins are read in a child process (this test binary, running only
    /// [`env_twins_child`]), so no other test sees them.
    #[test]
    fn discovery_flags_have_env_twins() {
        if std::env::var_os(CHILD_MARKER).is_some() {
            return;
        }
        let exe = std::env::current_exe().unwrap();
        let out = std::process::Command::new(exe)
            .args([
                "--exact",
                "cli::run::tests::env_twins_child",
                "--ignored",
                "--nocapture",
                "--test-threads=1",
            ])
            .env(CHILD_MARKER, "1")
            .env("OPFLEET_P2P_ADVERTISE_IP", "198.51.100.9")
            .env("OPFLEET_P2P_ADVERTISE_TCP", "40000")
            .env("OPFLEET_P2P_ADVERTISE_UDP", "40001")
            .env("OPFLEET_P2P_DISCOVERY_PATH", "/var/lib/disc")
            .env("OPFLEET_P2P_NO_DISCOVERY", "true")
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "{stdout}\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(stdout.contains("env twins read"), "{stdout}");
    }

    /// Run by [`discovery_flags_have_env_twins`] with the environment set.
    #[test]
    #[ignore = "run by discovery_flags_have_env_twins in a child process"]
    fn env_twins_child() {
        if std::env::var_os(CHILD_MARKER).is_none() {
            return;
        }
        assert_eq!(
            discovery(&[]).unwrap(),
            DiscoverySettings {
                disabled: true,
                advertise_ip: Some(std::net::IpAddr::from([198, 51, 100, 9])),
                advertise_tcp: Some(40000),
                advertise_udp: Some(40001),
                path: Some("/var/lib/disc".into()),
            }
        );
        // A flag wins over its twin.
        let d = discovery(&["--p2p.advertise.tcp", "40100"]).unwrap();
        assert_eq!(d.advertise_tcp, Some(40100));
        println!("env twins read");
    }
}
