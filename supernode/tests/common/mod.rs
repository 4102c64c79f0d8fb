//! Shared fixtures: a deterministic fake chain (blocks, output roots), node configs, and a raw
//! HTTP helper.

#![allow(dead_code)]

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use alloy::primitives::{B256, keccak256};
use opfleet_protocol::config::RollupConfig;
use opfleet_protocol::output_root::OutputV0;
use opfleet_protocol::{BlockId, ChainId, L1BlockRef, L2BlockRef, SyncStatus};
use opfleet_supernode::config::NodeConfig;
use opfleet_supernode::heads::ChainHeads;
use opfleet_supernode::node::{ChainSetup, OutputAtBlock, OutputRootSource, SourceError};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

pub const GENESIS_TIME: u64 = 1_000;
pub const BLOCK_TIME: u64 = 2;

fn h(parts: &[&[u8]]) -> B256 {
    keccak256(parts.concat())
}

/// L1 block `n` of the fake L1.
pub fn l1(n: u64) -> L1BlockRef {
    L1BlockRef {
        hash: h(&[b"l1", &n.to_be_bytes()]),
        number: n,
        parent_hash: h(&[b"l1", &n.saturating_sub(1).to_be_bytes()]),
        timestamp: 10 * n,
    }
}

/// L2 block `n` of chain `c` (L1 origin n / 2).
pub fn l2(c: ChainId, n: u64) -> L2BlockRef {
    let id = |n: u64| h(&[b"l2", &c.get().to_be_bytes(), &n.to_be_bytes()]);
    L2BlockRef {
        hash: id(n),
        number: n,
        parent_hash: id(n.saturating_sub(1)),
        timestamp: GENESIS_TIME + BLOCK_TIME * n,
        l1_origin: l1(n / 2).id(),
        sequence_number: n % 2,
    }
}

/// The output of L2 block `n` of chain `c`.
pub fn output(c: ChainId, n: u64) -> OutputAtBlock {
    let block = l2(c, n);
    let v0 = OutputV0 {
        state_root: h(&[b"state", block.hash.as_slice()]),
        message_passer_storage_root: h(&[b"mp", block.hash.as_slice()]),
        block_hash: block.hash,
    };
    OutputAtBlock {
        block,
        output_root: v0.output_root(),
        state_root: v0.state_root,
        message_passer_storage_root: v0.message_passer_storage_root,
    }
}

/// Outputs of the fake chain up to `max` (an execution client at that height).
pub struct FakeOutputs {
    pub chain: ChainId,
    pub max: std::sync::atomic::AtomicU64,
}

#[async_trait::async_trait]
impl OutputRootSource for FakeOutputs {
    async fn output_at_block(&self, number: u64) -> Result<Option<OutputAtBlock>, SourceError> {
        let max = self.max.load(std::sync::atomic::Ordering::SeqCst);
        Ok((number <= max).then(|| output(self.chain, number)))
    }
}

/// A rollup config for chain `c` with the fake genesis.
pub fn rollup(c: ChainId) -> RollupConfig {
    let mut r = RollupConfig {
        l2_chain_id: c,
        block_time: BLOCK_TIME,
        ..Default::default()
    };
    r.genesis.l2_time = GENESIS_TIME;
    r.genesis.l2 = BlockId {
        hash: l2(c, 0).hash,
        number: 0,
    };
    r
}

pub fn setup(c: ChainId) -> ChainSetup {
    ChainSetup {
        rollup: rollup(c),
        outputs: Arc::new(FakeOutputs {
            chain: c,
            max: std::sync::atomic::AtomicU64::new(1_000_000),
        }),
        payloads: None,
    }
}

/// The op-node status of chain `c` with the given heads (L1 at `current`).
pub fn status(c: ChainId, current: u64, safe: u64, finalized: u64) -> SyncStatus {
    SyncStatus {
        current_l1: l1(current),
        current_l1_finalized: l1(current / 2),
        head_l1: l1(current + 2),
        safe_l1: l1(current),
        finalized_l1: l1(current / 2),
        unsafe_l2: l2(c, safe + 4),
        safe_l2: l2(c, safe),
        finalized_l2: l2(c, finalized),
        pending_safe_l2: l2(c, safe),
        cross_unsafe_l2: l2(c, safe + 4),
        local_safe_l2: l2(c, safe),
    }
}

/// Heads as derivation would publish them.
pub fn heads(c: ChainId, safe: u64, finalized: u64) -> ChainHeads {
    let current = safe / 2 + 3;
    ChainHeads {
        chain_id: c,
        status: status(c, current, safe, finalized),
        safe_derived_from: l1(current).id(),
        finalized_derived_from: l1(current / 2).id(),
        last_rewind: None,
    }
}

/// A node config on 127.0.0.1:0 with data in `dir`.
pub fn node_config(dir: &Path) -> NodeConfig {
    NodeConfig {
        chains: Vec::new(),
        l1: "http://127.0.0.1:1".into(),
        l1_beacon: None,
        l1_prague_time: None,
        l1_cache: Default::default(),
        data_dir: dir.to_path_buf(),
        signer_key: dir.join("unused.key"),
        rpc: "127.0.0.1:0".parse().unwrap(),
        metrics: None,
        p2p_attest: None,
    }
}

/// One HTTP/1.1 request over a fresh connection: (status code, body).
pub async fn http(addr: SocketAddr, method: &str, path: &str, body: &str) -> (u16, String) {
    let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
    let req = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    s.write_all(req.as_bytes()).await.unwrap();
    let mut out = Vec::new();
    s.read_to_end(&mut out).await.unwrap();
    let text = String::from_utf8_lossy(&out).to_string();
    let code = text
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let body = text
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or_default();
    (code, body)
}

/// Polls `f` every 20 ms until it returns `Some`, for at most 10 s.
pub async fn eventually<T, F, Fut>(what: &str, mut f: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        if let Some(v) = f().await {
            return v;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
