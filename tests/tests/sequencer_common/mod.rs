//! Shared setup of the sequencer tests: an L1, and per chain a simulated execution client and
//! a sequencer on top of it.

#![allow(dead_code)]

use alloy::consensus::TxReceipt;
use alloy::primitives::{B256, Log};
use alloy::signers::local::PrivateKeySigner;
use opfleet_protocol::ChainId;
use opfleet_tests::el::{JwtSecret, SimEl, SimElConfig, SimElHandle};
use opfleet_tests::l1::{DepositConfig, L1, L1Config, L1Handle};
use opfleet_tests::sequencer::{
    DevnetChainConfig, InteropFeed, RollupAnchor, Sequencer, SequencerConfig, TxGenConfig,
};

/// A fixed L1 genesis time in the past: step-driven tests do not depend on the clock.
pub const GENESIS_TIME: u64 = 1_700_000_000;

pub fn jwt() -> JwtSecret {
    JwtSecret::new([0x42; 32])
}

/// The P2P key of the sequencer of `chain`.
pub fn p2p_key(chain: ChainId) -> PrivateKeySigner {
    let mut bytes = [0x11u8; 32];
    bytes[24..].copy_from_slice(&chain.get().to_be_bytes());
    PrivateKeySigner::from_bytes(&B256::from(bytes)).unwrap()
}

/// A manually mined L1 with 6 s blocks (three 2 s L2 blocks per epoch) and deposits.
pub async fn manual_l1() -> L1Handle {
    let config = L1Config {
        block_time: 6,
        genesis_time: Some(GENESIS_TIME),
        deposits: DepositConfig {
            max_per_block: 3,
            seed: 7,
        },
        ..L1Config::devnet().manual()
    };
    L1::spawn(config).await.unwrap()
}

/// One L2 chain: its execution client and sequencer.
pub struct Chain {
    pub el: SimElHandle,
    pub seq: Sequencer,
}

pub async fn spawn_chain(
    l1: &L1Handle,
    config: DevnetChainConfig,
    txgen: TxGenConfig,
    feed: Option<InteropFeed>,
) -> Chain {
    spawn_chain_with_depth(l1, config, txgen, feed, 0).await
}

/// The devnet's configuration of chain `id` with the default transaction generator, no
/// interop feed.
pub async fn devnet_chain(l1: &L1Handle, id: ChainId) -> Chain {
    spawn_chain(
        l1,
        DevnetChainConfig::devnet(id),
        TxGenConfig::default(),
        None,
    )
    .await
}

/// Like [`spawn_chain`], with an L1 confirmation depth for origin selection.
pub async fn spawn_chain_with_depth(
    l1: &L1Handle,
    config: DevnetChainConfig,
    txgen: TxGenConfig,
    feed: Option<InteropFeed>,
    l1_confirmation_depth: u64,
) -> Chain {
    let l1_genesis = l1.genesis();
    let el = SimEl::spawn(SimElConfig::local(
        config.chain_spec(l1_genesis.timestamp),
        jwt(),
    ))
    .await
    .unwrap();
    let rollup = config.rollup_config(&RollupAnchor::new(l1, l1_genesis, &el.genesis()));
    let seq = Sequencer::new(SequencerConfig {
        rollup,
        l1_rpc_url: l1.rpc_url(),
        engine_url: el.engine_url(),
        jwt_secret: jwt(),
        p2p_key: p2p_key(config.chain_id),
        l1_confirmation_depth,
        txgen,
        interop: feed,
    })
    .await
    .unwrap();
    Chain { el, seq }
}

/// The logs of an L1 block with their block-wide index, straight from the chain.
pub fn l1_logs(l1: &L1Handle, number: u64) -> Vec<(u64, Log)> {
    l1.with_chain(|c| {
        c.by_number(number)
            .map(|b| {
                b.txs
                    .iter()
                    .flat_map(|m| {
                        m.receipt
                            .logs()
                            .iter()
                            .enumerate()
                            .map(move |(i, l)| (m.first_log_index + i as u64, l.clone()))
                    })
                    .collect()
            })
            .unwrap_or_default()
    })
}

/// The logs of an L2 block with their block-wide index, from the execution client's receipts.
pub fn l2_logs(el: &SimElHandle, number: u64) -> Vec<(u64, Log)> {
    let block = el.block_by_number(number).unwrap();
    block
        .receipts
        .iter()
        .flat_map(|r| r.logs().to_vec())
        .enumerate()
        .map(|(i, l)| (i as u64, l))
        .collect()
}
