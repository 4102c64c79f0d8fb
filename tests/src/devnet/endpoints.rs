//! The devnet's output directory: the endpoints JSON (what a test or an operator reads to find
//! everything), and per chain the op-node `rollup.json` and the Engine API JWT secret.
//!
//! ```text
//!  out_dir/
//!    endpoints.json        (or --endpoints-file; written last, atomically)
//!    rollup-<chainid>.json op-node rollup configuration
//!    jwt-<chainid>.hex     0x-prefixed 32-byte secret, op-node's --l2.jwt-secret format
//! ```

use std::path::{Path, PathBuf};

use alloy::primitives::Address;
use opfleet_protocol::ChainId;
use opfleet_protocol::config::RollupConfig;
use serde::{Deserialize, Serialize};

use super::fleet::NodeKind;
use crate::el::JwtSecret;
use crate::sequencer::rollup::{WriteRollupError, write_rollup_json};

/// Every endpoint of a running devnet (the `--endpoints-file` JSON).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Endpoints {
    /// L1 execution JSON-RPC URL.
    pub l1: String,
    /// L1 chain id.
    pub l1_chain_id: ChainId,
    /// L1 beacon API URL.
    pub beacon: String,
    /// Admin (fault) JSON-RPC URL.
    pub admin: String,
    /// The L2 chains.
    pub chains: Vec<ChainEndpoints>,
    /// Supernodes of the pool, each as its node reports its endpoints.
    pub supernodes: Vec<serde_json::Value>,
    /// Followers, each as its node reports its endpoints.
    pub followers: Vec<serde_json::Value>,
    /// Every node of the fleet registry (names for `admin_nodeKill` / `admin_nodeRestart`).
    pub nodes: Vec<NodeEntry>,
}

/// One L2 chain's endpoints and files.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ChainEndpoints {
    /// L2 chain id.
    pub chain_id: ChainId,
    /// The sequencer's libp2p multiaddr including `/p2p/<peer id>` (op-node `--p2p.static`).
    pub sequencer_p2p: String,
    /// The sequencer's discv5 record, `enr:...` (op-node `--p2p.bootnodes`), when it runs discv5.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sequencer_enr: Option<String>,
    /// The unsafe block signer (op-node `p2p.sequencer.address`).
    pub unsafe_block_signer: Address,
    /// Engine API URL of the execution client (JWT required).
    pub el_engine: String,
    /// Open eth JSON-RPC URL of the execution client.
    pub el_rpc: String,
    /// The Engine API JWT secret, `0x`-prefixed hex.
    pub jwt_secret: String,
    /// File holding the JWT secret.
    pub jwt_secret_file: PathBuf,
    /// The chain's op-node rollup.json.
    pub rollup_config: PathBuf,
    /// The chain's batch inbox on L1.
    pub batch_inbox: Address,
    /// The batcher (sender of every batch transaction).
    pub batcher: Address,
}

/// A node of the fleet registry.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NodeEntry {
    /// Unique name, e.g. `sequencer-901`.
    pub name: String,
    /// What it is.
    pub kind: NodeKind,
}

/// Why the output directory could not be written or read.
#[derive(Debug, thiserror::Error)]
pub enum EndpointsError {
    /// A file or directory could not be written or read.
    #[error("{path}: {source}")]
    Io {
        /// The path.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The rollup.json could not be written.
    #[error(transparent)]
    Rollup(#[from] WriteRollupError),
    /// The endpoints JSON is malformed.
    #[error("endpoints JSON {path}: {source}")]
    Json {
        /// The file.
        path: PathBuf,
        /// What serde said.
        source: serde_json::Error,
    },
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> EndpointsError + '_ {
    move |source| EndpointsError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// Creates `dir` (and its parents) if missing.
pub fn create_dir(dir: &Path) -> Result<(), EndpointsError> {
    std::fs::create_dir_all(dir).map_err(io(dir))
}

/// Writes `rollup-<chainid>.json` into `dir`; returns its path.
pub fn write_rollup(dir: &Path, rollup: &RollupConfig) -> Result<PathBuf, EndpointsError> {
    let path = dir.join(format!("rollup-{}.json", rollup.l2_chain_id));
    write_rollup_json(rollup, &path)?;
    Ok(path)
}

/// Writes `jwt-<chainid>.hex` into `dir` (mode 0600 on Unix: it is a secret); returns its path.
pub fn write_jwt(
    dir: &Path,
    chain: ChainId,
    secret: &JwtSecret,
) -> Result<PathBuf, EndpointsError> {
    let path = dir.join(format!("jwt-{chain}.hex"));
    write_atomically(&path, format!("{}\n", secret.to_hex()).as_bytes())?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600))
            .map_err(io(&path))?;
    }
    Ok(path)
}

impl Endpoints {
    /// Writes the JSON to `path` through a temporary file and a rename, so a reader polling
    /// for the file never sees half of it.
    pub fn write(&self, path: &Path) -> Result<(), EndpointsError> {
        let json = serde_json::to_vec_pretty(self).map_err(|source| EndpointsError::Json {
            path: path.to_path_buf(),
            source,
        })?;
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            create_dir(parent)?;
        }
        write_atomically(path, &json)
    }

    /// Reads an endpoints file back.
    pub fn read(path: &Path) -> Result<Self, EndpointsError> {
        let bytes = std::fs::read(path).map_err(io(path))?;
        serde_json::from_slice(&bytes).map_err(|source| EndpointsError::Json {
            path: path.to_path_buf(),
            source,
        })
    }

    /// The chain with id `chain`.
    pub fn chain(&self, chain: ChainId) -> Option<&ChainEndpoints> {
        self.chains.iter().find(|c| c.chain_id == chain)
    }

    /// One `name: url` line per endpoint, for the terminal.
    pub fn lines(&self) -> Vec<String> {
        let mut out = vec![
            format!("l1 (chain {}): {}", self.l1_chain_id, self.l1),
            format!("beacon: {}", self.beacon),
            format!("admin: {}", self.admin),
        ];
        for c in &self.chains {
            let id = c.chain_id;
            out.push(format!("chain {id} el_engine: {}", c.el_engine));
            out.push(format!("chain {id} el_rpc: {}", c.el_rpc));
            out.push(format!("chain {id} sequencer_p2p: {}", c.sequencer_p2p));
            if let Some(enr) = &c.sequencer_enr {
                out.push(format!("chain {id} sequencer_enr: {enr}"));
            }
            out.push(format!(
                "chain {id} rollup_config: {}",
                c.rollup_config.display()
            ));
            out.push(format!(
                "chain {id} jwt_secret_file: {}",
                c.jwt_secret_file.display()
            ));
        }
        for n in &self.supernodes {
            out.push(format!(
                "supernode {}: {} chains {} signer {} gossip {}",
                field(n, "name"),
                field(n, "rpc"),
                field(n, "chain_ids"),
                field(n, "signer"),
                field(n, "attest_gossip"),
            ));
        }
        for n in &self.followers {
            out.push(format!(
                "follower {}: {} chain {} el_rpc {} threshold {}",
                field(n, "name"),
                field(n, "rpc"),
                field(n, "chain_id"),
                field(n, "el_rpc"),
                field(n, "trust_threshold"),
            ));
        }
        out
    }
}

/// A field of a node's endpoints JSON for the terminal: strings bare, the rest as JSON.
fn field(node: &serde_json::Value, key: &str) -> String {
    match node.get(key) {
        Some(serde_json::Value::String(s)) => s.clone(),
        Some(serde_json::Value::Array(a)) => a
            .iter()
            .map(|v| v.as_str().map_or_else(|| v.to_string(), str::to_string))
            .collect::<Vec<_>>()
            .join(","),
        Some(v) => v.to_string(),
        None => "-".into(),
    }
}

fn write_atomically(path: &Path, bytes: &[u8]) -> Result<(), EndpointsError> {
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".tmp");
    let tmp = PathBuf::from(tmp);
    std::fs::write(&tmp, bytes).map_err(io(&tmp))?;
    std::fs::rename(&tmp, path).map_err(io(path))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(dir: &Path) -> Endpoints {
        Endpoints {
            l1: "http://127.0.0.1:8545".into(),
            l1_chain_id: ChainId(900),
            beacon: "http://127.0.0.1:5052".into(),
            admin: "http://127.0.0.1:9645".into(),
            chains: vec![ChainEndpoints {
                chain_id: ChainId(901),
                sequencer_p2p: "/ip4/127.0.0.1/tcp/9222/p2p/16Uiu2HAm".into(),
                sequencer_enr: Some("enr:-IS4QHCYrYZbAKW".into()),
                unsafe_block_signer: Address::repeat_byte(1),
                el_engine: "http://127.0.0.1:8551".into(),
                el_rpc: "http://127.0.0.1:9545".into(),
                jwt_secret: JwtSecret::new([7; 32]).to_hex(),
                jwt_secret_file: dir.join("jwt-901.hex"),
                rollup_config: dir.join("rollup-901.json"),
                batch_inbox: Address::repeat_byte(2),
                batcher: Address::repeat_byte(3),
            }],
            supernodes: vec![],
            followers: vec![],
            nodes: vec![NodeEntry {
                name: "sequencer-901".into(),
                kind: NodeKind::Sequencer,
            }],
        }
    }

    #[test]
    fn endpoints_round_trip_through_a_file_with_snake_case_fields() {
        let dir = std::env::temp_dir().join(format!("opfleet-endpoints-{}", std::process::id()));
        let e = sample(&dir);
        let path = dir.join("sub/endpoints.json");
        e.write(&path).unwrap();
        assert_eq!(Endpoints::read(&path).unwrap(), e);
        let v: serde_json::Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
        assert_eq!(v["chains"][0]["chain_id"], "901");
        assert_eq!(v["chains"][0]["sequencer_enr"], "enr:-IS4QHCYrYZbAKW");
        assert!(v["chains"][0]["el_engine"].is_string());
        assert_eq!(v["nodes"][0]["kind"], "sequencer");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn jwt_file_reads_back_as_the_secret() {
        let dir = std::env::temp_dir().join(format!("opfleet-jwt-{}", std::process::id()));
        create_dir(&dir).unwrap();
        let secret = JwtSecret::new([9; 32]);
        let path = write_jwt(&dir, ChainId(901), &secret).unwrap();
        let back = JwtSecret::from_hex(&std::fs::read_to_string(&path).unwrap()).unwrap();
        assert_eq!(back.to_hex(), secret.to_hex());
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn one_line_per_supernode_and_follower() {
        let mut e = sample(Path::new("/tmp"));
        e.supernodes = vec![serde_json::json!({
            "name": "supernode-0", "rpc": "http://127.0.0.1:9560",
            "chain_ids": ["901", "902"], "signer": "0xab", "attest_gossip": null,
        })];
        e.followers = vec![serde_json::json!({
            "name": "follower-0", "rpc": "http://127.0.0.1:9580", "chain_id": "901",
            "el_rpc": "http://127.0.0.1:1", "trust_threshold": 2,
        })];
        let lines = e.lines();
        assert_eq!(lines.len(), 3 + 6 + 2);
        assert!(lines.contains(
            &"supernode supernode-0: http://127.0.0.1:9560 chains 901,902 signer 0xab gossip null"
                .to_string()
        ));
        assert!(lines.contains(
            &"follower follower-0: http://127.0.0.1:9580 chain 901 el_rpc http://127.0.0.1:1 threshold 2"
                .to_string()
        ));
    }

    #[test]
    fn one_line_per_endpoint() {
        let e = sample(Path::new("/tmp"));
        let lines = e.lines();
        assert_eq!(lines.len(), 3 + 6);
        assert!(lines.iter().any(|l| l.contains("sequencer_p2p")));
        assert!(lines.contains(&"chain 901 sequencer_enr: enr:-IS4QHCYrYZbAKW".to_string()));
    }

    #[test]
    fn a_chain_without_discovery_has_no_enr_field_or_line() {
        let mut e = sample(Path::new("/tmp"));
        e.chains[0].sequencer_enr = None;
        let v = serde_json::to_value(&e).unwrap();
        assert!(v["chains"][0].get("sequencer_enr").is_none());
        assert_eq!(serde_json::from_value::<Endpoints>(v).unwrap(), e);
        assert_eq!(e.lines().len(), 3 + 5);
    }
}
