//! In-test fakes: an in-memory execution client, supernodes serving C2 (`test_support`), an op-node serving
//! `optimism_syncStatus`, and builders of real payloads and signed attestations.

#![allow(dead_code)]

use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use alloy::primitives::{B256, Bloom, Bytes, U256, keccak256};
use alloy::rpc::types::engine::{
    ExecutionPayloadV1, ExecutionPayloadV2, ExecutionPayloadV3, PayloadStatusEnum,
};
use jsonrpsee::RpcModule;
use jsonrpsee::server::{Server, ServerHandle};
use op_alloy_rpc_types_engine::{OpExecutionPayload, OpExecutionPayloadEnvelope};
use opfleet_attest::{AttestationKind, SignedAttestation};
use opfleet_follower::config::{AttestedSources, FollowerConfig, HeadsSource, trust_policy};
use opfleet_follower::engine::{BlockAt, ElError, ExecutionLayer, Forkchoice, OwnOutput};
use opfleet_follower::test_support;
pub use opfleet_follower::test_support::{FakeSupernode, eventually, pk};
use opfleet_protocol::config::RollupConfig;
use opfleet_protocol::p2p::validation::compute_block_hash;
use opfleet_protocol::{BlockId, ChainId, L2BlockRef, SyncStatus};

pub const CHAIN: ChainId = ChainId(901);

/// A real (correctly hashed) V3 payload on top of `parent`; `fork` varies its contents.
pub fn payload(
    parent: Option<&OpExecutionPayloadEnvelope>,
    fork: u8,
) -> OpExecutionPayloadEnvelope {
    let (number, parent_hash, ts) = match parent {
        Some(p) => (
            p.execution_payload.block_number() + 1,
            p.execution_payload.block_hash(),
            p.execution_payload.timestamp() + 2,
        ),
        None => (0, B256::ZERO, 1_000),
    };
    let v1 = ExecutionPayloadV1 {
        parent_hash,
        fee_recipient: Default::default(),
        state_root: B256::repeat_byte(fork),
        receipts_root: B256::ZERO,
        logs_bloom: Bloom::ZERO,
        prev_randao: B256::ZERO,
        block_number: number,
        gas_limit: 30_000_000,
        gas_used: 0,
        timestamp: ts,
        extra_data: Bytes::new(),
        base_fee_per_gas: U256::from(1),
        block_hash: B256::ZERO,
        transactions: vec![],
    };
    let mut env = OpExecutionPayloadEnvelope {
        parent_beacon_block_root: Some(B256::ZERO),
        execution_payload: OpExecutionPayload::v3(ExecutionPayloadV3 {
            payload_inner: ExecutionPayloadV2 {
                payload_inner: v1,
                withdrawals: vec![],
            },
            blob_gas_used: 0,
            excess_blob_gas: 0,
        }),
    };
    let hash = compute_block_hash(&env.execution_payload, env.parent_beacon_block_root).unwrap();
    if let OpExecutionPayload::V3(p) = &mut env.execution_payload {
        p.payload_inner.payload_inner.block_hash = hash;
    }
    env
}

/// A chain of `len` payloads from genesis; blocks above `fork_after` carry `fork` contents.
pub fn chain(
    len: u64,
    fork_after: Option<(u64, &[OpExecutionPayloadEnvelope])>,
    fork: u8,
) -> Vec<OpExecutionPayloadEnvelope> {
    let mut out: Vec<OpExecutionPayloadEnvelope> = Vec::new();
    for n in 0..len {
        let shared =
            fork_after.and_then(|(after, base)| (n <= after).then(|| base[n as usize].clone()));
        let env = shared.unwrap_or_else(|| payload(out.last(), fork));
        out.push(env);
    }
    out
}

/// The block ref a rollup node sees for a test payload (no L1-info deposit: origin zero).
pub fn block_ref(env: &OpExecutionPayloadEnvelope) -> L2BlockRef {
    let p = &env.execution_payload;
    L2BlockRef {
        hash: p.block_hash(),
        number: p.block_number(),
        parent_hash: p.parent_hash(),
        timestamp: p.timestamp(),
        l1_origin: BlockId::default(),
        sequence_number: 0,
    }
}

/// The output root the in-memory execution client computes for a block.
pub fn output_root_of(hash: B256) -> B256 {
    keccak256(hash)
}

/// An in-memory execution client: payloads whose parent it has are VALID; the forkchoice
/// head's ancestry is canonical.
#[derive(Default)]
pub struct MemEl {
    inner: Mutex<MemElState>,
}

#[derive(Default)]
struct MemElState {
    blocks: HashMap<B256, OpExecutionPayloadEnvelope>,
    canonical: BTreeMap<u64, B256>,
    safe: Option<B256>,
    finalized: Option<B256>,
    new_payloads: u64,
    fcus: u64,
}

impl MemEl {
    /// Starts with `blocks` all canonical.
    pub fn with_chain(blocks: &[OpExecutionPayloadEnvelope]) -> Arc<Self> {
        let el = Self::default();
        {
            let mut s = el.inner.lock().unwrap();
            for b in blocks {
                let p = &b.execution_payload;
                s.blocks.insert(p.block_hash(), b.clone());
                s.canonical.insert(p.block_number(), p.block_hash());
            }
        }
        Arc::new(el)
    }

    fn r(&self, h: B256) -> Option<L2BlockRef> {
        self.inner.lock().unwrap().blocks.get(&h).map(block_ref)
    }

    pub fn head(&self) -> L2BlockRef {
        let h = *self
            .inner
            .lock()
            .unwrap()
            .canonical
            .values()
            .last()
            .unwrap();
        self.r(h).unwrap()
    }

    pub fn canonical_hash(&self, n: u64) -> Option<B256> {
        self.inner.lock().unwrap().canonical.get(&n).copied()
    }

    pub fn safe(&self) -> Option<L2BlockRef> {
        let h = self.inner.lock().unwrap().safe?;
        self.r(h)
    }

    pub fn finalized(&self) -> Option<L2BlockRef> {
        let h = self.inner.lock().unwrap().finalized?;
        self.r(h)
    }
}

#[async_trait::async_trait]
impl ExecutionLayer for MemEl {
    async fn block_ref(&self, at: BlockAt) -> Result<Option<L2BlockRef>, ElError> {
        let s = self.inner.lock().unwrap();
        let hash = match at {
            BlockAt::Latest => s.canonical.values().last().copied(),
            BlockAt::Safe => s.safe.or_else(|| s.canonical.get(&0).copied()),
            BlockAt::Finalized => s.finalized.or_else(|| s.canonical.get(&0).copied()),
            BlockAt::Number(n) => s.canonical.get(&n).copied(),
        };
        Ok(hash.and_then(|h| s.blocks.get(&h)).map(block_ref))
    }

    async fn new_payload(
        &self,
        env: &OpExecutionPayloadEnvelope,
    ) -> Result<PayloadStatusEnum, ElError> {
        let mut s = self.inner.lock().unwrap();
        s.new_payloads += 1;
        let p = &env.execution_payload;
        if p.block_number() > 0 && !s.blocks.contains_key(&p.parent_hash()) {
            return Ok(PayloadStatusEnum::Syncing);
        }
        s.blocks.insert(p.block_hash(), env.clone());
        Ok(PayloadStatusEnum::Valid)
    }

    async fn forkchoice_updated(&self, fc: Forkchoice) -> Result<PayloadStatusEnum, ElError> {
        let mut s = self.inner.lock().unwrap();
        s.fcus += 1;
        if !s.blocks.contains_key(&fc.head) {
            return Ok(PayloadStatusEnum::Syncing);
        }
        let mut canonical = BTreeMap::new();
        let mut h = fc.head;
        while let Some(b) = s.blocks.get(&h) {
            let p = &b.execution_payload;
            canonical.insert(p.block_number(), h);
            if p.block_number() == 0 {
                break;
            }
            h = p.parent_hash();
        }
        s.canonical = canonical;
        if fc.safe != B256::ZERO {
            s.safe = Some(fc.safe);
        }
        if fc.finalized != B256::ZERO {
            s.finalized = Some(fc.finalized);
        }
        Ok(PayloadStatusEnum::Valid)
    }

    async fn output_at(&self, number: u64) -> Result<Option<OwnOutput>, ElError> {
        let s = self.inner.lock().unwrap();
        Ok(s.canonical
            .get(&number)
            .and_then(|h| s.blocks.get(h))
            .map(|b| {
                let r = block_ref(b);
                OwnOutput {
                    block: r,
                    output_root: output_root_of(r.hash),
                }
            }))
    }

    async fn payload_by_number(
        &self,
        number: u64,
    ) -> Result<Option<OpExecutionPayloadEnvelope>, ElError> {
        let s = self.inner.lock().unwrap();
        Ok(s.canonical
            .get(&number)
            .and_then(|h| s.blocks.get(h))
            .cloned())
    }
}

/// An attestation of `block` on [`CHAIN`] signed by pool key `i` (1..=3 trusted, 4 untrusted).
pub fn attest(
    i: u8,
    kind: AttestationKind,
    block: L2BlockRef,
    derived: u64,
    output_root: B256,
) -> SignedAttestation {
    test_support::attest(i, CHAIN, kind, block, derived, output_root)
}

/// A fake op-node serving `optimism_syncStatus` from a settable status.
pub struct FakeOpNode {
    pub addr: SocketAddr,
    pub status: Arc<Mutex<SyncStatus>>,
    handle: ServerHandle,
}

impl FakeOpNode {
    pub async fn start() -> Self {
        let status = Arc::new(Mutex::new(SyncStatus::default()));
        let server = Server::builder().build("127.0.0.1:0").await.unwrap();
        let addr = server.local_addr().unwrap();
        let mut m = RpcModule::from_arc(status.clone());
        m.register_method("optimism_syncStatus", |_, st, _| {
            Ok::<_, jsonrpsee::types::ErrorObjectOwned>(*st.lock().unwrap())
        })
        .unwrap();
        let handle = server.start(m);
        Self {
            addr,
            status,
            handle,
        }
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }
}

/// A rollup config for chain 901 with Ecotone from genesis (V3 payloads).
pub fn rollup() -> RollupConfig {
    let mut r = RollupConfig {
        block_time: 2,
        l2_chain_id: CHAIN,
        l1_chain_id: ChainId(900),
        ..RollupConfig::default()
    };
    r.genesis.l2_time = 1_000;
    r.hardforks.canyon_time = Some(0);
    r.hardforks.ecotone_time = Some(0);
    r
}

/// A follower config in attested mode over `urls`, trusting keys 1..=3 with threshold 2.
pub fn attested_config(data_dir: &Path, urls: Vec<String>, verify: bool) -> FollowerConfig {
    FollowerConfig {
        rollup: rollup(),
        engine_url: "http://unused".into(),
        l2_rpc_url: "http://unused".into(),
        jwt_secret: "/unused".into(),
        data_dir: data_dir.to_path_buf(),
        heads: HeadsSource::Attested(AttestedSources {
            policy: trust_policy(
                &[pk(1).to_string(), pk(2).to_string(), pk(3).to_string()],
                2,
            )
            .unwrap(),
            urls,
            gossip: None,
            poll_interval: Duration::from_millis(200),
        }),
        p2p: None,
        rpc_addr: "127.0.0.1:0".parse().unwrap(),
        metrics_addr: Some("127.0.0.1:0".parse().unwrap()),
        verify_output_root: verify,
        healthz_max_safe_age: Duration::from_secs(100_000_000_000),
    }
}

/// A JSON-RPC call over HTTP.
pub async fn rpc(addr: SocketAddr, method: &str) -> serde_json::Value {
    use jsonrpsee::core::client::ClientT;
    let c = jsonrpsee::http_client::HttpClientBuilder::default()
        .build(format!("http://{addr}"))
        .unwrap();
    c.request(method, jsonrpsee::rpc_params![]).await.unwrap()
}
