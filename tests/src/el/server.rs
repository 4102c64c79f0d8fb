//! The two JSON-RPC listeners of a simulated execution client, like op-geth's:
//!
//! ```text
//! engine (authrpc, JWT) ── engine_* + eth_* + net_* + web3_*   <- the consensus client
//! rpc    (open)         ──            eth_* + net_* + web3_*   <- tools, tests, users
//! ```

use std::{
    net::SocketAddr,
    sync::{Arc, Mutex, MutexGuard},
};

use alloy::{
    eips::{BlockId, BlockNumberOrTag},
    primitives::{Address, B256, Bytes, U64},
    rpc::types::engine::{ExecutionPayloadInputV2, ExecutionPayloadV3, ForkchoiceState, PayloadId},
    serde::JsonStorageKey,
};
use jsonrpsee::{
    RpcModule,
    server::{Server, ServerHandle},
    types::{ErrorObjectOwned, Params},
};
use op_alloy_rpc_types_engine::{OpExecutionPayloadV4, OpPayloadAttributes};

use super::{
    builder::{BuildError, SimBlock},
    engine::{EngineError, EngineState, NewPayload, PayloadVersion, envelope_v3, envelope_v4},
    eth,
    jwt::{JwtAuthLayer, JwtSecret},
    spec::ChainSpec,
};

/// What `web3_clientVersion` answers; says plainly that there is no EVM.
pub const CLIENT_VERSION: &str = "opfleet-sim-el/v0.1.0 (simulated: no EVM)";

/// The Engine API methods served, as `engine_exchangeCapabilities` reports them.
pub const ENGINE_CAPABILITIES: &[&str] = &[
    "engine_exchangeCapabilities",
    "engine_forkchoiceUpdatedV2",
    "engine_forkchoiceUpdatedV3",
    "engine_getPayloadV2",
    "engine_newPayloadV2",
    "engine_getPayloadV3",
    "engine_getPayloadV4",
    "engine_newPayloadV3",
    "engine_newPayloadV4",
];

/// The state both listeners share.
pub type SharedState = Arc<Mutex<EngineState>>;

/// Why the client could not start.
#[derive(Debug, thiserror::Error)]
pub enum SpawnError {
    /// The genesis block could not be built from the spec.
    #[error("genesis: {0}")]
    Genesis(#[from] BuildError),
    /// A listener could not bind.
    #[error("binding {addr}: {source}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// The I/O error.
        source: std::io::Error,
    },
    /// A method name was registered twice (a bug in this module).
    #[error("registering RPC methods: {0}")]
    Register(#[from] jsonrpsee::core::RegisterMethodError),
}

/// Configuration of one simulated execution client.
#[derive(Clone, Debug)]
pub struct SimElConfig {
    /// The chain rules and genesis.
    pub spec: ChainSpec,
    /// The Engine API JWT secret.
    pub jwt_secret: JwtSecret,
    /// Engine API listen address (port 0 picks a free port).
    pub engine_addr: SocketAddr,
    /// Open RPC listen address (port 0 picks a free port).
    pub rpc_addr: SocketAddr,
}

impl SimElConfig {
    /// Both listeners on 127.0.0.1 with free ports.
    pub fn local(spec: ChainSpec, jwt_secret: JwtSecret) -> Self {
        let any = SocketAddr::from(([127, 0, 0, 1], 0));
        Self {
            spec,
            jwt_secret,
            engine_addr: any,
            rpc_addr: any,
        }
    }
}

/// How a simulated execution client runs, beyond its chain and listeners.
#[derive(Clone, Debug)]
pub struct SimElOptions {
    /// Blocks kept below the head when finalized is closer (see [`super::chain`]); `None`
    /// keeps every block.
    pub block_window: Option<u64>,
    /// The peer execution client missing blocks are fetched from (see [`super::sync`]);
    /// `None`: no EL sync (unknown blocks stay SYNCING).
    pub sync_from: Option<super::sync::SyncPeer>,
}

impl Default for SimElOptions {
    fn default() -> Self {
        Self {
            block_window: Some(super::chain::DEFAULT_BLOCK_WINDOW),
            sync_from: None,
        }
    }
}

/// Starts simulated execution clients.
#[derive(Debug)]
pub struct SimEl;

impl SimEl {
    /// Builds genesis, binds both listeners and starts serving, with the default options.
    pub async fn spawn(config: SimElConfig) -> Result<SimElHandle, SpawnError> {
        Self::spawn_with(config, SimElOptions::default()).await
    }

    /// [`Self::spawn`] with `options`.
    pub async fn spawn_with(
        config: SimElConfig,
        options: SimElOptions,
    ) -> Result<SimElHandle, SpawnError> {
        let state: SharedState = Arc::new(Mutex::new(
            EngineState::new(config.spec)?.with_block_window(options.block_window),
        ));

        let mut engine_module = eth_module(state.clone())?;
        engine_module.merge(engine_api_module(state.clone())?)?;
        let engine = Server::builder()
            .set_http_middleware(
                tower::ServiceBuilder::new().layer(JwtAuthLayer::new(config.jwt_secret)),
            )
            .build(config.engine_addr)
            .await
            .map_err(|source| SpawnError::Bind {
                addr: config.engine_addr,
                source,
            })?;
        let engine_addr = engine.local_addr().map_err(|source| SpawnError::Bind {
            addr: config.engine_addr,
            source,
        })?;

        let rpc = Server::builder()
            .build(config.rpc_addr)
            .await
            .map_err(|source| SpawnError::Bind {
                addr: config.rpc_addr,
                source,
            })?;
        let rpc_addr = rpc.local_addr().map_err(|source| SpawnError::Bind {
            addr: config.rpc_addr,
            source,
        })?;

        let engine_server = engine.start(engine_module);
        let rpc_server = rpc.start(eth_module(state.clone())?);
        let sync = options
            .sync_from
            .map(|peer| super::sync::spawn(state.clone(), peer));
        tracing::info!(%engine_addr, %rpc_addr, "simulated execution client started");
        Ok(SimElHandle {
            engine_addr,
            rpc_addr,
            state,
            engine_server,
            rpc_server,
            sync,
        })
    }
}

/// A running simulated execution client.
#[derive(Debug)]
pub struct SimElHandle {
    engine_addr: SocketAddr,
    rpc_addr: SocketAddr,
    state: SharedState,
    engine_server: ServerHandle,
    rpc_server: ServerHandle,
    sync: Option<tokio::task::JoinHandle<()>>,
}

impl SimElHandle {
    /// The Engine API address (JWT required).
    pub const fn engine_addr(&self) -> SocketAddr {
        self.engine_addr
    }

    /// The open RPC address.
    pub const fn rpc_addr(&self) -> SocketAddr {
        self.rpc_addr
    }

    /// `http://` URL of the Engine API.
    pub fn engine_url(&self) -> String {
        format!("http://{}", self.engine_addr)
    }

    /// `http://` URL of the open RPC.
    pub fn rpc_url(&self) -> String {
        format!("http://{}", self.rpc_addr)
    }

    fn lock(&self) -> MutexGuard<'_, EngineState> {
        lock(&self.state)
    }

    /// The genesis block.
    pub fn genesis(&self) -> Arc<SimBlock> {
        self.lock().chain().genesis()
    }

    /// The current head.
    pub fn head(&self) -> Arc<SimBlock> {
        self.lock().chain().head()
    }

    /// The current safe block.
    pub fn safe(&self) -> Arc<SimBlock> {
        self.lock().chain().safe()
    }

    /// The current finalized block.
    pub fn finalized(&self) -> Arc<SimBlock> {
        self.lock().chain().finalized()
    }

    /// The canonical block at `number`.
    pub fn block_by_number(&self, number: u64) -> Option<Arc<SimBlock>> {
        self.lock().chain().canonical(number)
    }

    /// Any known block by hash.
    pub fn block_by_hash(&self, hash: B256) -> Option<Arc<SimBlock>> {
        self.lock().chain().get(&hash)
    }

    /// This client as an in-process EL-sync peer of another one.
    pub fn sync_peer(&self) -> super::sync::SyncPeer {
        super::sync::SyncPeer::InProcess(self.state.clone())
    }

    /// Stops both listeners (and the sync task) and waits until they have stopped.
    pub async fn stop(self) {
        if let Some(sync) = &self.sync {
            sync.abort();
        }
        // Stopping twice is the only error, and this consumes the handle.
        let _ = self.engine_server.stop();
        let _ = self.rpc_server.stop();
        self.engine_server.stopped().await;
        self.rpc_server.stopped().await;
    }
}

/// Locks the state; a panic while holding the lock cannot leave it half-updated (every update is
/// a single insert or pointer swap), so a poisoned lock is still usable.
pub(crate) fn lock(state: &SharedState) -> MutexGuard<'_, EngineState> {
    state
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn engine_error(e: EngineError) -> ErrorObjectOwned {
    ErrorObjectOwned::owned(e.code(), e.to_string(), None::<()>)
}

fn internal(msg: String) -> ErrorObjectOwned {
    ErrorObjectOwned::owned(-32603, msg, None::<()>)
}

fn engine_api_module(state: SharedState) -> Result<RpcModule<SharedState>, SpawnError> {
    let mut m = RpcModule::new(state);
    m.register_method("engine_exchangeCapabilities", |_, _, _| {
        Ok::<_, ErrorObjectOwned>(ENGINE_CAPABILITIES.to_vec())
    })?;
    m.register_method("engine_forkchoiceUpdatedV3", |p: Params<'_>, s, _| {
        let mut seq = p.sequence();
        let fc: ForkchoiceState = seq.next()?;
        let attrs: Option<OpPayloadAttributes> = seq.optional_next()?;
        lock(s)
            .forkchoice_updated(fc, attrs.as_ref())
            .map_err(engine_error)
    })?;
    // V2 exists for clients that probe it: forkchoice without attributes works as in V3; payload
    // building and import answer Unsupported fork, since every simulated block is post-Ecotone.
    m.register_method("engine_forkchoiceUpdatedV2", |p: Params<'_>, s, _| {
        let mut seq = p.sequence();
        let fc: ForkchoiceState = seq.next()?;
        let attrs: Option<OpPayloadAttributes> = seq.optional_next()?;
        let mut state = lock(s);
        if let Some(a) = &attrs {
            state
                .check_version(PayloadVersion::V2, a.payload_attributes.timestamp)
                .map_err(engine_error)?;
        }
        state
            .forkchoice_updated(fc, attrs.as_ref())
            .map_err(engine_error)
    })?;
    m.register_method("engine_getPayloadV2", |p: Params<'_>, s, _| {
        let (id,): (PayloadId,) = p.parse()?;
        let error = match lock(s).get_payload(id, PayloadVersion::V2) {
            Err(e) => e,
            Ok(block) => EngineError::UnsupportedFork {
                method_version: PayloadVersion::V2,
                fork: block.fork,
                timestamp: block.header().timestamp,
            },
        };
        Err::<(), _>(engine_error(error))
    })?;
    m.register_method("engine_newPayloadV2", |p: Params<'_>, s, _| {
        let (payload,): (ExecutionPayloadInputV2,) = p.parse()?;
        let timestamp = payload.execution_payload.timestamp;
        let fork = lock(s).spec().forks.fork_at(timestamp);
        let error = EngineError::UnsupportedFork {
            method_version: PayloadVersion::V2,
            fork,
            timestamp,
        };
        Err::<(), _>(engine_error(error))
    })?;
    m.register_method("engine_getPayloadV3", |p: Params<'_>, s, _| {
        let (id,): (PayloadId,) = p.parse()?;
        let block = lock(s)
            .get_payload(id, PayloadVersion::V3)
            .map_err(engine_error)?;
        Ok::<_, ErrorObjectOwned>(envelope_v3(&block))
    })?;
    m.register_method("engine_getPayloadV4", |p: Params<'_>, s, _| {
        let (id,): (PayloadId,) = p.parse()?;
        let block = lock(s)
            .get_payload(id, PayloadVersion::V4)
            .map_err(engine_error)?;
        Ok::<_, ErrorObjectOwned>(envelope_v4(&block))
    })?;
    m.register_method("engine_newPayloadV3", |p: Params<'_>, s, _| {
        let (payload, versioned_hashes, parent_beacon_block_root): (
            ExecutionPayloadV3,
            Vec<B256>,
            B256,
        ) = p.parse()?;
        let input = NewPayload {
            payload,
            withdrawals_root: None,
            versioned_hashes,
            parent_beacon_block_root,
            execution_requests: None,
        };
        lock(s)
            .new_payload(input, PayloadVersion::V3)
            .map_err(engine_error)
    })?;
    m.register_method("engine_newPayloadV4", |p: Params<'_>, s, _| {
        let (payload, versioned_hashes, parent_beacon_block_root, requests): (
            OpExecutionPayloadV4,
            Vec<B256>,
            B256,
            Vec<Bytes>,
        ) = p.parse()?;
        let input = NewPayload {
            payload: payload.payload_inner,
            withdrawals_root: Some(payload.withdrawals_root),
            versioned_hashes,
            parent_beacon_block_root,
            execution_requests: Some(requests),
        };
        lock(s)
            .new_payload(input, PayloadVersion::V4)
            .map_err(engine_error)
    })?;
    Ok(m)
}

fn eth_module(state: SharedState) -> Result<RpcModule<SharedState>, SpawnError> {
    let mut m = RpcModule::new(state);
    m.register_method("eth_chainId", |_, s, _| {
        Ok::<_, ErrorObjectOwned>(U64::from(lock(s).spec().chain_id.get()))
    })?;
    m.register_method("net_version", |_, s, _| {
        Ok::<_, ErrorObjectOwned>(lock(s).spec().chain_id.get().to_string())
    })?;
    m.register_method("web3_clientVersion", |_, _, _| {
        Ok::<_, ErrorObjectOwned>(CLIENT_VERSION)
    })?;
    m.register_method("eth_syncing", |_, _, _| Ok::<_, ErrorObjectOwned>(false))?;
    m.register_method("eth_blockNumber", |_, s, _| {
        Ok::<_, ErrorObjectOwned>(U64::from(lock(s).chain().head().number()))
    })?;
    m.register_method("eth_getBlockByNumber", |p: Params<'_>, s, _| {
        let (tag, full): (BlockNumberOrTag, bool) = p.parse()?;
        let block = eth::by_number(lock(s).chain(), tag);
        Ok::<_, ErrorObjectOwned>(block.map(|b| eth::block(&b, full)))
    })?;
    m.register_method("eth_getBlockByHash", |p: Params<'_>, s, _| {
        let (hash, full): (B256, bool) = p.parse()?;
        let block = lock(s).chain().get(&hash);
        Ok::<_, ErrorObjectOwned>(block.map(|b| eth::block(&b, full)))
    })?;
    m.register_method("eth_getBlockReceipts", |p: Params<'_>, s, _| {
        let (id,): (BlockId,) = p.parse()?;
        let block = eth::by_id(lock(s).chain(), id);
        Ok::<_, ErrorObjectOwned>(block.map(|b| eth::block_receipts(&b)))
    })?;
    m.register_method("eth_getTransactionByHash", |p: Params<'_>, s, _| {
        let (hash,): (B256,) = p.parse()?;
        let found = lock(s).chain().transaction(&hash);
        Ok::<_, ErrorObjectOwned>(found.and_then(|(b, i)| eth::transaction(&b, i)))
    })?;
    m.register_method("eth_getTransactionReceipt", |p: Params<'_>, s, _| {
        let (hash,): (B256,) = p.parse()?;
        let found = lock(s).chain().transaction(&hash);
        Ok::<_, ErrorObjectOwned>(found.and_then(|(b, i)| eth::receipt(&b, i)))
    })?;
    m.register_method("eth_getTransactionCount", |p: Params<'_>, s, _| {
        let (address, id): (Address, BlockId) = p.parse()?;
        let block = eth::by_id(lock(s).chain(), id)
            .ok_or_else(|| internal(format!("block {id} not found")))?;
        Ok::<_, ErrorObjectOwned>(U64::from(block.nonces.get(&address).copied().unwrap_or(0)))
    })?;
    m.register_method("eth_getProof", |p: Params<'_>, s, _| {
        let (address, keys, id): (Address, Vec<JsonStorageKey>, BlockId) = p.parse()?;
        let block = eth::by_id(lock(s).chain(), id)
            .ok_or_else(|| internal(format!("block {id} not found")))?;
        Ok::<_, ErrorObjectOwned>(eth::account_proof(&block, address, keys))
    })?;
    Ok(m)
}
