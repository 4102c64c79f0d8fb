//! The simulated L1: an execution JSON-RPC and a beacon blob API over one in-memory chain.
//!
//! ```text
//!  batcher ──submit(tx, sidecar)──┐        ┌── eth JSON-RPC (jsonrpsee, HTTP) ──► op-node, kona,
//!  devnet  ──set_batcher, reorg───┤        │                                       supernode
//!  timer / mine() ──────────────► L1Chain ─┤
//!  (random deposits each block)            └── beacon REST (axum): genesis, spec, blob sidecars,
//!                                                blobs ──► blob fetchers
//! ```
//! What is real: block headers and hashes (keccak256 of RLP), signed transactions, transaction
//! and receipt roots, logs and blooms, `TransactionDeposited` and `ConfigUpdate` encodings, KZG
//! commitments and proofs from c-kzg with the Ethereum trusted setup. What is simulated: there
//! is no EVM (contracts are reduced to the logs they emit, every receipt has status 1, gas is
//! computed, not executed, balances are not checked, nonces only for gaps) and no beacon chain
//! (one block per slot, synthetic beacon headers, no signatures).

pub mod accounts;
pub mod beacon;
pub mod beacon_block;
pub mod block;
pub mod chain;
pub mod config;
pub mod contracts;
pub mod kzg;
pub mod retention;
pub mod rpc;
pub mod system_config;

use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use alloy::consensus::TxEnvelope;
use alloy::eips::eip4844::BlobTransactionSidecar;
use alloy::primitives::{Address, B256};
use jsonrpsee::server::ServerHandle;
use opfleet_protocol::{ChainId, L1BlockRef};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

pub use accounts::SignError;
pub use chain::{L1Chain, ReorgError, ReorgMode, ReorgOutcome, SubmitError};
pub use config::{DepositConfig, L1Config, TagLag};

/// The chain as the servers and the handle share it.
pub type SharedChain = Arc<Mutex<L1Chain>>;

/// Locks the chain. Nothing panics while holding the lock, but a poisoned lock still holds a
/// consistent chain (every mutation completes before it returns), so poisoning is ignored.
pub fn lock(chain: &SharedChain) -> MutexGuard<'_, L1Chain> {
    chain.lock().unwrap_or_else(PoisonError::into_inner)
}

/// How often the block timer looks at the clock.
const MINER_POLL: Duration = Duration::from_millis(200);

/// At most this many blocks per timer tick when catching up with the clock.
const MAX_CATCH_UP: usize = 64;

/// Why the L1 did not start.
#[derive(Debug, thiserror::Error)]
pub enum L1Error {
    /// The JSON-RPC server failed to start.
    #[error(transparent)]
    Rpc(#[from] rpc::RpcServerError),
    /// The beacon API failed to bind.
    #[error("binding the L1 beacon API: {0}")]
    Beacon(std::io::Error),
    /// The system clock is before 1970.
    #[error("system clock is before the Unix epoch")]
    Clock,
}

/// The simulated L1 (see the module documentation).
pub struct L1;

impl L1 {
    /// Starts the chain, its JSON-RPC server, its beacon API and (if configured) the block timer.
    pub async fn spawn(config: L1Config) -> Result<L1Handle, L1Error> {
        let genesis_time = match config.genesis_time {
            Some(t) => t,
            None => unix_now().ok_or(L1Error::Clock)?,
        };
        let chain: SharedChain = Arc::new(Mutex::new(L1Chain::new(&config, genesis_time)));
        let (rpc_addr, rpc) = rpc::serve(chain.clone(), config.rpc_addr).await?;
        let beacon = match beacon::serve(chain.clone(), config.beacon_addr).await {
            Ok(b) => b,
            Err(e) => {
                let _ = rpc.stop();
                return Err(L1Error::Beacon(e));
            }
        };
        let miner = config.auto_mine.then(|| spawn_miner(chain.clone()));
        tracing::info!(%rpc_addr, beacon_addr = %beacon.addr, genesis_time, "L1 started");
        Ok(L1Handle {
            chain,
            config,
            rpc_addr,
            beacon_addr: beacon.addr,
            rpc: Some(rpc),
            beacon_shutdown: Some(beacon.shutdown),
            beacon_task: Some(beacon.task),
            miner,
        })
    }
}

/// A running L1: its endpoints, and the in-process controls the devnet uses.
pub struct L1Handle {
    chain: SharedChain,
    config: L1Config,
    rpc_addr: SocketAddr,
    beacon_addr: SocketAddr,
    rpc: Option<ServerHandle>,
    beacon_shutdown: Option<oneshot::Sender<()>>,
    beacon_task: Option<JoinHandle<()>>,
    miner: Option<(oneshot::Sender<()>, JoinHandle<()>)>,
}

impl L1Handle {
    /// `http://` URL of the execution JSON-RPC.
    pub fn rpc_url(&self) -> String {
        format!("http://{}", self.rpc_addr)
    }

    /// `http://` URL of the beacon API.
    pub fn beacon_url(&self) -> String {
        format!("http://{}", self.beacon_addr)
    }

    /// The configuration it runs with.
    pub fn config(&self) -> &L1Config {
        &self.config
    }

    /// L1 chain id.
    pub fn chain_id(&self) -> ChainId {
        self.config.chain_id
    }

    /// OptimismPortal address.
    pub fn portal(&self) -> Address {
        self.config.portal
    }

    /// SystemConfig address.
    pub fn system_config(&self) -> Address {
        self.config.system_config
    }

    /// Batch inbox address.
    pub fn batch_inbox(&self) -> Address {
        self.config.batch_inbox
    }

    /// Beacon genesis time (= L1 genesis timestamp).
    pub fn genesis_time(&self) -> u64 {
        lock(&self.chain).genesis_time()
    }

    /// The genesis block.
    pub fn genesis(&self) -> L1BlockRef {
        self.with_chain(|c| c.by_number(0).unwrap_or_else(|| c.head()).block_ref())
    }

    /// The head block.
    pub fn head(&self) -> L1BlockRef {
        self.with_chain(|c| c.head().block_ref())
    }

    /// The safe block.
    pub fn safe(&self) -> L1BlockRef {
        self.with_chain(|c| c.safe().block_ref())
    }

    /// The finalized block.
    pub fn finalized(&self) -> L1BlockRef {
        self.with_chain(|c| c.finalized().block_ref())
    }

    /// Runs `f` on the chain under its lock (keep it short: the servers wait meanwhile).
    pub fn with_chain<R>(&self, f: impl FnOnce(&L1Chain) -> R) -> R {
        f(&lock(&self.chain))
    }

    /// Queues a signed transaction for the next blocks (the batcher's way in). A type-3
    /// transaction needs its blobs, in `sidecar` or in the envelope's network form.
    pub fn submit(
        &self,
        tx: TxEnvelope,
        sidecar: Option<BlobTransactionSidecar>,
    ) -> Result<B256, SubmitError> {
        lock(&self.chain).submit(tx, sidecar)
    }

    /// Has the SystemConfig owner change the batcher; returns the L1 transaction hash.
    pub fn set_batcher(&self, batcher: Address) -> Result<B256, SignError> {
        lock(&self.chain).set_batcher(batcher)
    }

    /// Deploys chain `chain`'s SystemConfig at [`system_config::address_for`] with the
    /// rollup's genesis system config and the chain's unsafe block signer; returns its address
    /// (what the chain's rollup.json names as `l1_system_config_address`).
    pub fn deploy_system_config(
        &self,
        chain: ChainId,
        config: &opfleet_protocol::config::SystemConfig,
        unsafe_block_signer: Address,
    ) -> Address {
        let address = system_config::address_for(chain);
        let mut c = lock(&self.chain);
        let owner = c.system_config_owner();
        c.deploy_system_config(
            address,
            system_config::SystemConfigStorage::deployed(config, owner, unsafe_block_signer),
        );
        address
    }

    /// Has the owner change the batcher of the SystemConfig at `system_config`.
    pub fn set_batcher_of(
        &self,
        system_config: Address,
        batcher: Address,
    ) -> Result<B256, SignError> {
        lock(&self.chain).set_batcher_of(system_config, batcher)
    }

    /// The batcher as of the head (what derivation accepts batches from).
    pub fn batcher(&self) -> Address {
        lock(&self.chain).batcher()
    }

    /// Mines one block now (`block_time` after the head, whatever the clock says).
    pub fn mine(&self) -> L1BlockRef {
        lock(&self.chain).mine()
    }

    /// Reorgs the last `depth` blocks away (see [`L1Chain::reorg`]).
    pub fn reorg(&self, depth: u64) -> Result<ReorgOutcome, ReorgError> {
        self.reorg_with(depth, ReorgMode::Requeue)
    }

    /// Reorgs the last `depth` blocks away, their transactions treated as `mode` says (see
    /// [`L1Chain::reorg_with`]).
    pub fn reorg_with(&self, depth: u64, mode: ReorgMode) -> Result<ReorgOutcome, ReorgError> {
        let outcome = lock(&self.chain).reorg_with(depth, mode)?;
        tracing::info!(depth, ?mode, new_head = %outcome.new_head.hash, "L1 reorg");
        Ok(outcome)
    }

    /// Stops the timer and both servers, and waits for them.
    pub async fn stop(mut self) {
        if let Some((stop, task)) = self.miner.take() {
            let _ = stop.send(());
            let _ = task.await;
        }
        if let Some(rpc) = self.rpc.take() {
            let _ = rpc.stop();
            rpc.stopped().await;
        }
        if let Some(shutdown) = self.beacon_shutdown.take() {
            let _ = shutdown.send(());
        }
        if let Some(task) = self.beacon_task.take() {
            let _ = task.await;
        }
    }
}

impl Drop for L1Handle {
    fn drop(&mut self) {
        if let Some((_, task)) = self.miner.take() {
            task.abort();
        }
        if let Some(rpc) = self.rpc.take() {
            let _ = rpc.stop();
        }
        if let Some(shutdown) = self.beacon_shutdown.take() {
            let _ = shutdown.send(());
        }
    }
}

/// Mines whenever the clock passes the next block's timestamp, so block timestamps track the
/// wall clock; after a reorg (one block more) the chain is ahead and waits for the clock.
fn spawn_miner(chain: SharedChain) -> (oneshot::Sender<()>, JoinHandle<()>) {
    let (stop, mut stopped) = oneshot::channel::<()>();
    let task = tokio::spawn(async move {
        loop {
            tokio::select! {
                _ = &mut stopped => return,
                _ = tokio::time::sleep(MINER_POLL) => {}
            }
            let Some(now) = unix_now() else { continue };
            let mut c = lock(&chain);
            for _ in 0..MAX_CATCH_UP {
                if c.next_timestamp() > now {
                    break;
                }
                c.mine();
            }
        }
    });
    (stop, task)
}

fn unix_now() -> Option<u64> {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .ok()
        .map(|d| d.as_secs())
}
