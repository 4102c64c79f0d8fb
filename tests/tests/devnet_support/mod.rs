//! Shared by the devnet tests: a devnet on free ports with fast blocks, JSON-RPC over the wire,
//! and a libp2p block gossip node that dials a chain's sequencer.

#![allow(dead_code)]

pub mod fleet;

use std::future::Future;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use jsonrpsee::core::client::{ClientT, Error as ClientError};
use jsonrpsee::core::params::ArrayParams;
use jsonrpsee::http_client::{HttpClient, HttpClientBuilder};
use opfleet_p2p::{BlockGossipNode, NoPayloads, P2pConfig, StaticPeer, generate_identity};
use opfleet_tests::devnet::{ChainEndpoints, Devnet, DevnetConfig, DevnetHandle, Endpoints};
use serde::de::DeserializeOwned;
use serde_json::Value;

/// A devnet for one test, with its output directory.
pub struct TestNet {
    pub devnet: DevnetHandle,
    pub endpoints: Endpoints,
    pub dir: PathBuf,
}

/// A fresh output directory under the system temp dir.
pub fn out_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("opfleet-devnet-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

/// The test configuration: free ports, 1 s L1 and L2 blocks, `chains` chains.
pub fn config(name: &str, chains: usize) -> DevnetConfig {
    let mut c = DevnetConfig::ephemeral(out_dir(name));
    c.chain_ids = DevnetConfig::numbered_chains(chains);
    c.l1_block_time = 1;
    c.l2_block_time = 1;
    c
}

/// Starts a devnet and reads its endpoints back from the file it wrote.
pub async fn start(config: DevnetConfig) -> TestNet {
    let dir = config.out_dir.clone();
    let devnet = Devnet::start(config).await.unwrap();
    let endpoints = Endpoints::read(&dir.join("endpoints.json")).unwrap();
    assert_eq!(&endpoints, devnet.endpoints());
    TestNet {
        devnet,
        endpoints,
        dir,
    }
}

impl TestNet {
    /// Calls an admin method.
    pub async fn admin<T: DeserializeOwned>(
        &self,
        method: &str,
        params: ArrayParams,
    ) -> Result<T, ClientError> {
        client(&self.endpoints.admin).request(method, params).await
    }

    /// Stops the devnet and removes its directory.
    pub async fn stop(self) {
        self.devnet.stop().await;
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A plain JSON-RPC client.
pub fn client(url: &str) -> HttpClient {
    HttpClientBuilder::default()
        .request_timeout(Duration::from_secs(10))
        .build(url)
        .unwrap()
}

/// One JSON-RPC call returning raw JSON.
pub async fn call(url: &str, method: &str, params: ArrayParams) -> Value {
    client(url).request(method, params).await.unwrap()
}

/// A hex quantity as u64.
pub fn quantity(v: &Value) -> u64 {
    let s = v.as_str().unwrap();
    u64::from_str_radix(s.trim_start_matches("0x"), 16).unwrap()
}

/// Head block number over eth JSON-RPC.
pub async fn block_number(url: &str) -> u64 {
    quantity(&call(url, "eth_blockNumber", jsonrpsee::rpc_params![]).await)
}

/// A block with full transactions over eth JSON-RPC (`Null` if absent).
pub async fn block(url: &str, number: u64) -> Value {
    call(
        url,
        "eth_getBlockByNumber",
        jsonrpsee::rpc_params![format!("{number:#x}"), true],
    )
    .await
}

/// Polls `check` every 100 ms until it gives `Some`; panics after `timeout`.
pub async fn eventually<T, F, Fut>(what: &str, timeout: Duration, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        if let Some(v) = check().await {
            return v;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out after {timeout:?} waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// A block gossip node on a free port that dials `chain`'s sequencer and trusts its signer.
pub async fn listener(chain: &ChainEndpoints) -> BlockGossipNode {
    let mut config = P2pConfig::new(
        chain.chain_id,
        "/ip4/127.0.0.1/tcp/0".parse().unwrap(),
        chain.unsafe_block_signer,
    );
    config.static_peers =
        vec![StaticPeer::from_multiaddr(chain.sequencer_p2p.parse().unwrap()).unwrap()];
    config.redial_interval = Duration::from_millis(300);
    // Jovian changes a validation rule: take the activation from the chain's rollup.json.
    let rollup = opfleet_protocol::config::RollupConfig::from_rollup_json(
        &std::fs::read_to_string(&chain.rollup_config).unwrap(),
    )
    .unwrap();
    config.block_time = Duration::from_secs(rollup.block_time);
    config.jovian_time = rollup.hardforks.jovian_time;
    config
        .ip_colocation_whitelist
        .insert("127.0.0.1".parse().unwrap());
    BlockGossipNode::start(config, generate_identity(), Arc::new(NoPayloads))
        .await
        .unwrap()
}

/// [`config`] with a pool of `supernodes` and `followers` followers.
pub fn fleet_config(name: &str, supernodes: usize, followers: usize) -> DevnetConfig {
    let mut c = config(name, 2);
    c.supernodes = supernodes;
    c.followers = followers;
    c
}
