//! The admin JSON-RPC namespace (own port, HTTP): the faults a test triggers at run time.
//!
//! ```text
//!  admin_l1Reorg(depth, mode?)                -> {"dropped": [L1BlockRef], "newHead": L1BlockRef}
//!      mode: "requeue" (default: the new branch re-includes the transactions) or
//!            "dropSubmitted" (submitted ones, the batchers' included, are lost)
//!  admin_injectInvalidExecutingMessage(chain) -> true
//!  admin_equivocateNextBlock(chain)           -> true
//!  admin_batcherStop(chain) / admin_batcherResume(chain) -> true
//!  admin_nodeKill(name) / admin_nodeRestart(name)        -> true
//!  admin_status()                             -> Status
//! ```
//! Chain ids are accepted as decimal strings (as everywhere in opfleet's JSON) or numbers.
//! Unknown chains and nodes are invalid params (-32602); refused faults are server errors.

use std::net::SocketAddr;
use std::sync::Arc;

use jsonrpsee::RpcModule;
use jsonrpsee::server::{Server, ServerHandle};
use jsonrpsee::types::{ErrorObjectOwned, Params};
use opfleet_protocol::ChainId;
use serde_json::{Value, json};

use super::fleet::FleetError;
use super::world::{FaultError, World};
use crate::l1::ReorgMode;

/// JSON-RPC "invalid params".
const INVALID_PARAMS: i32 = -32602;
/// JSON-RPC server error.
const SERVER_ERROR: i32 = -32000;

/// Why the admin server did not start.
#[derive(Debug, thiserror::Error)]
pub enum AdminError {
    /// Binding failed.
    #[error("binding {addr}: {source}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// The I/O error.
        source: std::io::Error,
    },
    /// A method was registered twice (a bug here).
    #[error("registering admin methods: {0}")]
    Register(#[from] jsonrpsee::core::RegisterMethodError),
}

/// The running admin server.
#[derive(Debug)]
pub struct AdminServer {
    addr: SocketAddr,
    handle: ServerHandle,
}

impl AdminServer {
    /// `http://` URL.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Stops the server and waits for it.
    pub async fn stop(self) {
        let _ = self.handle.stop();
        self.handle.stopped().await;
    }
}

/// Binds `addr` and serves the admin namespace over `world`.
pub async fn serve(world: Arc<World>, addr: SocketAddr) -> Result<AdminServer, AdminError> {
    let server = Server::builder()
        .build(addr)
        .await
        .map_err(|source| AdminError::Bind { addr, source })?;
    let local = server
        .local_addr()
        .map_err(|source| AdminError::Bind { addr, source })?;
    let handle = server.start(module(world)?);
    tracing::info!(addr = %local, "admin JSON-RPC listening");
    Ok(AdminServer {
        addr: local,
        handle,
    })
}

fn fault_error(e: FaultError) -> ErrorObjectOwned {
    let code = match &e {
        FaultError::UnknownChain(_) | FaultError::Fleet(FleetError::UnknownNode(_)) => {
            INVALID_PARAMS
        }
        _ => SERVER_ERROR,
    };
    ErrorObjectOwned::owned(code, e.to_string(), None::<()>)
}

fn bad_params(e: ErrorObjectOwned) -> ErrorObjectOwned {
    ErrorObjectOwned::owned(INVALID_PARAMS, e.message().to_string(), None::<()>)
}

fn one<T: serde::de::DeserializeOwned>(p: &Params<'_>) -> Result<T, ErrorObjectOwned> {
    p.one::<T>().map_err(bad_params)
}

type Ctx = Arc<World>;

fn module(world: Arc<World>) -> Result<RpcModule<Ctx>, AdminError> {
    let mut m = RpcModule::new(world);
    m.register_method(
        "admin_l1Reorg",
        |p, w, _| -> Result<Value, ErrorObjectOwned> {
            let mut seq = p.sequence();
            let depth: u64 = seq.next().map_err(bad_params)?;
            let mode: Option<ReorgMode> = seq.optional_next().map_err(bad_params)?;
            let outcome = w
                .l1_reorg_with(depth, mode.unwrap_or_default())
                .map_err(fault_error)?;
            Ok(json!({ "dropped": outcome.dropped, "newHead": outcome.new_head }))
        },
    )?;
    m.register_method(
        "admin_injectInvalidExecutingMessage",
        |p, w, _| -> Result<bool, ErrorObjectOwned> {
            let chain: ChainId = one(&p)?;
            w.inject_invalid_executing_message(chain)
                .map_err(fault_error)?;
            Ok(true)
        },
    )?;
    m.register_method(
        "admin_equivocateNextBlock",
        |p, w, _| -> Result<bool, ErrorObjectOwned> {
            let chain: ChainId = one(&p)?;
            w.equivocate_next_block(chain).map_err(fault_error)?;
            Ok(true)
        },
    )?;
    m.register_async_method("admin_batcherStop", |p, w, _| async move {
        let chain: ChainId = one(&p)?;
        w.batcher_stop(chain).await.map_err(fault_error)?;
        Ok::<_, ErrorObjectOwned>(true)
    })?;
    m.register_async_method("admin_batcherResume", |p, w, _| async move {
        let chain: ChainId = one(&p)?;
        w.batcher_resume(chain).await.map_err(fault_error)?;
        Ok::<_, ErrorObjectOwned>(true)
    })?;
    m.register_async_method("admin_nodeKill", |p, w, _| async move {
        let name: String = one(&p)?;
        w.node_kill(&name).await.map_err(fault_error)?;
        Ok::<_, ErrorObjectOwned>(true)
    })?;
    m.register_async_method("admin_nodeRestart", |p, w, _| async move {
        let name: String = one(&p)?;
        w.node_restart(&name).await.map_err(fault_error)?;
        Ok::<_, ErrorObjectOwned>(true)
    })?;
    m.register_method(
        "admin_status",
        |_, w, _| -> Result<Value, ErrorObjectOwned> {
            serde_json::to_value(w.status())
                .map_err(|e| ErrorObjectOwned::owned(SERVER_ERROR, e.to_string(), None::<()>))
        },
    )?;
    Ok(m)
}
