//! Shared pieces of the follower end-to-end tests: an execution-layer adapter over a devnet
//! simulated execution client; the fake supernode pool member serving C2 is the follower crate's
//! (`opfleet_follower::test_support`).
//!
//! The adapter sends every Engine API call over HTTP with JWT (the devnet's Engine API client);
//! block refs and output roots come from the simulated client in process; payloads by number
//! come over its eth RPC through `opfleet_engine::L2Client`, as the follower's own
//! `EngineLayer` reads them.

#![allow(dead_code)]

use std::sync::Arc;

use alloy::primitives::B256;
use opfleet_follower::engine::el_client::EngineLayer;
pub use opfleet_follower::test_support::{FakeSupernode, attest, eventually, now_ms, pk};
use opfleet_protocol::config::RollupConfig;
use opfleet_protocol::output_root::OutputV0;
use opfleet_tests::el::{JwtSecret, SimBlock, SimElHandle};

/// The follower's execution client over the SimEl's Engine API and eth RPC: the follower's own
/// `EngineLayer`, as `opfleet-follower run` builds it.
pub fn sim_el_layer(el: &SimElHandle, jwt: JwtSecret, rollup: &RollupConfig) -> Arc<EngineLayer> {
    let secret = opfleet_engine::JwtSecret::from_hex(&jwt.to_hex()).expect("a valid JWT secret");
    Arc::new(
        EngineLayer::new(&el.engine_url(), &el.rpc_url(), secret, rollup)
            .expect("an execution layer"),
    )
}

/// Output root v0 of a simulated block.
pub fn output_root(b: &SimBlock) -> B256 {
    OutputV0 {
        state_root: b.header().state_root,
        message_passer_storage_root: b.message_passer_root,
        block_hash: b.hash,
    }
    .output_root()
}
