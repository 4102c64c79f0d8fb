//! The supernode's one HTTP + WebSocket listener.
//!
//! ```text
//!   axum router
//!   ├── /                 jsonrpsee (HTTP POST and WebSocket): root methods, attest_*
//!   ├── /<chainid>[/...]  jsonrpsee (HTTP POST): that chain's op-node-shaped methods
//!   ├── /metrics /healthz /status
//!   └── anything else     404 (an unknown chain id in the path lands here)
//! ```
//! Each request (or WebSocket session) gets its own jsonrpsee service built from the shared
//! methods, so connection ids and subscriptions stay per connection.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::extract::Request;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use jsonrpsee::Methods;
use jsonrpsee::core::RegisterMethodError;
use jsonrpsee::server::{Server, ServerHandle, StopHandle, stop_channel};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tower::Service;

use crate::node::NodeState;

pub mod chain;
pub mod http;
pub mod params;
pub mod root;
pub mod superroot;

/// Why the server did not start.
#[derive(Debug, thiserror::Error)]
pub enum RpcError {
    /// The listen address cannot be bound.
    #[error("RPC listen address {addr}: {source}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// The OS error.
        source: std::io::Error,
    },
    /// Two methods share a name (a programming error).
    #[error("RPC method registration: {0}")]
    Register(#[from] RegisterMethodError),
}

/// A running RPC server.
pub struct RpcServer {
    local_addr: SocketAddr,
    stop: ServerHandle,
    task: JoinHandle<()>,
}

impl RpcServer {
    /// The bound address (useful with port 0).
    pub const fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// Stops accepting, closes subscriptions, and waits for the listener task.
    pub async fn stop(self) {
        let _ = self.stop.stop();
        self.task.abort();
        let _ = self.task.await;
    }
}

/// A tower service running `methods` through a fresh jsonrpsee service per request.
fn jsonrpc_service(
    methods: Methods,
    stop: StopHandle,
) -> impl Service<Request, Response = Response, Error = Infallible, Future: Send> + Clone + Send + 'static
{
    let builder = Server::builder().to_service_builder();
    tower::service_fn(move |req: Request| {
        let mut svc = builder.clone().build(methods.clone(), stop.clone());
        async move {
            Ok(match svc.call(req).await {
                Ok(resp) => resp.map(Body::new),
                Err(e) => (StatusCode::INTERNAL_SERVER_ERROR, e.to_string()).into_response(),
            })
        }
    })
}

/// The full router for `state`.
pub fn router(state: Arc<NodeState>, stop: StopHandle) -> Result<Router, RpcError> {
    let root = root::module(state.clone())?;
    let mut router = Router::new()
        .route("/metrics", get(http::metrics))
        .route("/healthz", get(http::healthz))
        .route("/status", get(http::status))
        .with_state(state.clone())
        .route_service("/", jsonrpc_service(root.into(), stop.clone()));
    for (id, _) in state.chains() {
        let module = chain::module(state.clone(), id)?;
        router = router.nest_service(
            &format!("/{id}"),
            jsonrpc_service(module.into(), stop.clone()),
        );
    }
    Ok(router.fallback(|| async { (StatusCode::NOT_FOUND, "not found: unknown chain or path\n") }))
}

/// Binds `addr` and serves `state` until stopped.
pub async fn serve(state: Arc<NodeState>, addr: SocketAddr) -> Result<RpcServer, RpcError> {
    let (stop_handle, stop) = stop_channel();
    let app = router(state, stop_handle.clone())?;
    serve_router(app, addr, stop_handle, stop).await
}

/// Binds `addr` and serves only `/metrics` (the separate metrics listener).
pub async fn serve_metrics(state: Arc<NodeState>, addr: SocketAddr) -> Result<RpcServer, RpcError> {
    let (stop_handle, stop) = stop_channel();
    let app = Router::new()
        .route("/metrics", get(http::metrics))
        .with_state(state);
    serve_router(app, addr, stop_handle, stop).await
}

async fn serve_router(
    app: Router,
    addr: SocketAddr,
    stop_handle: StopHandle,
    stop: ServerHandle,
) -> Result<RpcServer, RpcError> {
    let listener = TcpListener::bind(addr)
        .await
        .map_err(|source| RpcError::Bind { addr, source })?;
    let local_addr = listener
        .local_addr()
        .map_err(|source| RpcError::Bind { addr, source })?;
    let task = tokio::spawn(async move {
        let shutdown = async move { stop_handle.shutdown().await };
        if let Err(e) = axum::serve(listener, app)
            .with_graceful_shutdown(shutdown)
            .await
        {
            tracing::error!(error = %e, "HTTP listener stopped");
        }
    });
    tracing::info!(%local_addr, "HTTP listening");
    Ok(RpcServer {
        local_addr,
        stop,
        task,
    })
}
