//! Starting a node in derivation mode (`run`): one shared L1 client, and per chain an
//! execution client (Engine API + eth RPC) and a [`ChainDriver`] feeding the usual publisher.
//!
//! ```text
//!   L1Client (rpc + beacon, one cache) ──for_chain──▶ ChainDriver ◀── EngineExecutionLayer
//!                                                        │                (engine + L2Client)
//!                                                        └─ watch<ChainHeads> ─▶ ChainPublisher
//!   output roots for signing and RPC: L2Client::output_at_block
//! ```

use std::sync::Arc;
use std::time::Duration;

use opfleet_attest::SigningKey;
use opfleet_engine::{EngineClient, JwtSecret, L2Client};
use opfleet_protocol::ChainId;

use super::service::{Node, StartError};
use super::sources::{ElPayloads, OutputAtBlock, OutputRootSource, SourceError};
use super::state::ChainSetup;
use crate::config::NodeConfig;
use crate::derive::stages::attributes::L1BlobSchedule;
use crate::driver::chain::{ChainDriver, DriverConfig};
use crate::driver::engine_el::EngineExecutionLayer;
use crate::l1::client::L1Client;
use crate::l1::config::L1ClientConfig;
use crate::publish::AttestSink;

/// Pause between driver steps when L1 has nothing new.
const IDLE_INTERVAL: Duration = Duration::from_secs(2);

/// Output roots read from a chain's execution client.
pub struct ElOutputs(pub L2Client);

#[async_trait::async_trait]
impl OutputRootSource for ElOutputs {
    async fn output_at_block(&self, number: u64) -> Result<Option<OutputAtBlock>, SourceError> {
        let out = self.0.output_at_block(number).await?;
        Ok(out.map(|o| OutputAtBlock {
            block: o.block,
            output_root: o.output_root,
            state_root: o.state_root,
            message_passer_storage_root: o.message_passer_storage_root,
        }))
    }
}

fn chain_err(chain: ChainId, what: &str, e: impl std::fmt::Display) -> StartError {
    StartError::Chain {
        chain,
        reason: format!("{what}: {e}"),
    }
}

/// Builds the drivers of every chain of `config` and starts the node with them.
pub async fn start(
    config: &NodeConfig,
    key: SigningKey,
    sink: Option<Arc<dyn AttestSink>>,
) -> Result<Node, StartError> {
    let beacon = config.l1_beacon.clone().unwrap_or_default();
    let l1_config = L1ClientConfig {
        cache: config.l1_cache,
        ..L1ClientConfig::new(config.l1.clone(), beacon)
    };
    let l1 = L1Client::new(l1_config).map_err(|e| StartError::Chain {
        chain: ChainId(0),
        reason: format!("--l1 / --l1.beacon: {e}"),
    })?;
    let mut setups = Vec::new();
    let mut drivers = Vec::new();
    for c in &config.chains {
        let id = c.chain_id();
        let e = &c.endpoints;
        let (Some(engine_url), Some(rpc_url), Some(jwt_path)) = (
            e.engine.as_deref(),
            e.rpc.as_deref(),
            e.jwt_secret.as_deref(),
        ) else {
            return Err(chain_err(
                id,
                "endpoints",
                "--l2.<chainid>.engine, .rpc and .jwt-secret are required",
            ));
        };
        let jwt = JwtSecret::from_file(jwt_path)
            .map_err(|e| chain_err(id, &format!("--l2.{id}.jwt-secret"), e))?;
        let engine = EngineClient::new(engine_url, jwt)
            .map_err(|e| chain_err(id, &format!("--l2.{id}.engine"), e))?;
        // One client drives derivation, others serve output roots and payloads; none is shared.
        let l2_client = || {
            L2Client::new(rpc_url, &c.rollup)
                .map_err(|e| chain_err(id, &format!("--l2.{id}.rpc"), e))
        };
        let l2 = l2_client()?;
        let rollup = Arc::new(c.rollup.clone());
        let schedule = config
            .l1_prague_time
            .map(L1BlobSchedule::prague_at)
            .or_else(|| L1BlobSchedule::for_l1_chain(c.rollup.l1_chain_id))
            .ok_or_else(|| {
                chain_err(
                    id,
                    "L1 blob fee schedule",
                    format!(
                        "no built-in schedule for L1 chain {}; give --l1.prague-time",
                        c.rollup.l1_chain_id
                    ),
                )
            })?;
        let chain_l1 = Arc::new(l1.for_chain(id));
        let el = Arc::new(EngineExecutionLayer::new(
            engine,
            l2_client()?,
            rollup.clone(),
        ));
        let driver = ChainDriver::new(
            DriverConfig {
                rollup,
                blob_schedule: schedule,
                anchor: None,
                idle_interval: IDLE_INTERVAL,
            },
            chain_l1.clone(),
            chain_l1,
            el,
        )
        .await
        .map_err(|e| chain_err(id, "derivation driver", e))?;
        setups.push(ChainSetup {
            rollup: c.rollup.clone(),
            outputs: Arc::new(ElOutputs(l2)),
            payloads: Some(Arc::new(ElPayloads(l2_client()?))),
        });
        drivers.push(driver);
    }
    let mut node = Node::start(config, setups, key, sink).await?;
    for driver in drivers {
        node.attach(driver.subscribe());
        let stop = node.stop_signal();
        node.spawn(async move {
            if let Err(e) = driver.run(stop).await {
                tracing::error!(error = %e, "derivation driver stopped");
            }
        });
    }
    Ok(node)
}
