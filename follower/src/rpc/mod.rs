//! The follower's RPC: `optimism_syncStatus` and `follower_status` over JSON-RPC (jsonrpsee),
//! `/metrics` and `/healthz` over plain HTTP (axum).
//!
//! ```text
//!   --rpc.addr:port      POST /  optimism_syncStatus, follower_status
//!   --metrics.addr:port  GET /metrics (Prometheus), GET /healthz (200 | 503 + JSON reason)
//! ```

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::get;
use jsonrpsee::RpcModule;
use jsonrpsee::server::{Server, ServerHandle};
use jsonrpsee::types::ErrorObjectOwned;
use metrics_exporter_prometheus::PrometheusHandle;
use opfleet_attest::{AttestationKind, Evidence, PublicKey};
use opfleet_protocol::{ChainId, L2BlockRef, SyncStatus};
use serde::Serialize;
use tokio::sync::watch;

use crate::engine::runner::ElHeads;
use crate::heads::AcceptedHeads;
use crate::intake::{Intake, QuorumView};
use crate::sources::follow::FollowHealth;
use crate::sources::supernode::{SourceHealth, SourceReport};

pub mod health;

/// An attestation refused because its output root differs from the follower's own.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct OutputRootRefusal {
    /// Safe or finalized.
    pub kind: AttestationKind,
    /// The attested block.
    pub block: L2BlockRef,
    /// The attested output root.
    pub attested: alloy::primitives::B256,
    /// The follower's own.
    pub computed: alloy::primitives::B256,
    /// Who signed it.
    pub signers: Vec<PublicKey>,
}

/// What the RPC reads.
pub struct RpcState {
    /// The chain followed.
    pub chain_id: ChainId,
    /// Accepted heads.
    pub heads: watch::Receiver<AcceptedHeads>,
    /// The execution client's heads.
    pub el_heads: watch::Receiver<ElHeads>,
    /// The quorum intake (attested mode).
    pub intake: Option<Arc<Mutex<Intake>>>,
    /// Supernode sources (URL, health).
    pub sources: Vec<(String, Arc<SourceHealth>)>,
    /// The follow source (follow mode).
    pub follow: Option<(String, Arc<FollowHealth>)>,
    /// Output-root refusals, most recent last.
    pub refusals: Arc<Mutex<Vec<OutputRootRefusal>>>,
    /// `/healthz` bound.
    pub max_safe_age: Duration,
}

/// `follower_status`'s answer.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FollowerStatus {
    /// The chain.
    pub chain_id: ChainId,
    /// `attested` or `follow-source`.
    pub mode: &'static str,
    /// Trusted keys and threshold.
    pub trust: Option<TrustView>,
    /// Trusted signers seen.
    pub signers_seen: Vec<PublicKey>,
    /// Signers excluded for equivocation.
    pub excluded_signers: Vec<PublicKey>,
    /// Quorum heads with their voters.
    pub quorum: QuorumHeads,
    /// Accepted heads (persisted).
    pub accepted: AcceptedHeads,
    /// Execution client heads.
    pub execution: ElHeadsView,
    /// Equivocation evidence.
    pub evidence: Vec<Evidence>,
    /// Supernode sources.
    pub sources: Vec<SourceReport>,
    /// Follow source URL, if following one.
    pub follow_source: Option<String>,
    /// Tracker counters.
    pub stats: Option<opfleet_attest::quorum::Stats>,
    /// Output-root refusals.
    pub output_root_refusals: Vec<OutputRootRefusal>,
}

/// The trust policy, for display.
#[derive(Clone, Debug, Serialize)]
pub struct TrustView {
    /// Keys.
    pub keys: Vec<PublicKey>,
    /// k.
    pub threshold: usize,
}

/// Quorum heads per kind.
#[derive(Clone, Debug, Default, Serialize)]
pub struct QuorumHeads {
    /// Safe.
    pub safe: Option<QuorumView>,
    /// Finalized.
    pub finalized: Option<QuorumView>,
}

/// Execution client heads, for display.
#[derive(Clone, Debug, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ElHeadsView {
    /// Head.
    pub unsafe_l2: Option<L2BlockRef>,
    /// Safe label.
    pub safe_l2: Option<L2BlockRef>,
    /// Finalized label.
    pub finalized_l2: Option<L2BlockRef>,
}

impl RpcState {
    /// `optimism_syncStatus`: unsafe from the execution client, safe and finalized accepted.
    /// L1 fields are zero: the follower reads no L1.
    pub fn sync_status(&self) -> SyncStatus {
        let heads = *self.heads.borrow();
        let el = *self.el_heads.borrow();
        let safe = heads.safe.map(|h| h.block).unwrap_or_default();
        let finalized = heads.finalized.map(|h| h.block).unwrap_or_default();
        let unsafe_l2 = el.unsafe_head.unwrap_or(safe);
        SyncStatus {
            unsafe_l2,
            cross_unsafe_l2: unsafe_l2,
            safe_l2: safe,
            local_safe_l2: safe,
            pending_safe_l2: safe,
            finalized_l2: finalized,
            ..SyncStatus::default()
        }
    }

    /// `follower_status`.
    pub fn status(&self) -> FollowerStatus {
        let el = *self.el_heads.borrow();
        let (trust, seen, excluded, quorum, evidence, stats) = match &self.intake {
            Some(intake) => {
                let i = intake.lock().unwrap_or_else(|p| p.into_inner());
                (
                    Some(TrustView {
                        keys: i.policy().keys().copied().collect(),
                        threshold: i.policy().threshold(),
                    }),
                    i.signers_seen().into_iter().collect(),
                    i.excluded().iter().copied().collect(),
                    QuorumHeads {
                        safe: i.quorum(AttestationKind::Safe),
                        finalized: i.quorum(AttestationKind::Finalized),
                    },
                    i.evidence().to_vec(),
                    Some(i.stats()),
                )
            }
            None => Default::default(),
        };
        FollowerStatus {
            chain_id: self.chain_id,
            mode: if self.intake.is_some() {
                "attested"
            } else {
                "follow-source"
            },
            trust,
            signers_seen: seen,
            excluded_signers: excluded,
            quorum,
            accepted: *self.heads.borrow(),
            execution: ElHeadsView {
                unsafe_l2: el.unsafe_head,
                safe_l2: el.safe,
                finalized_l2: el.finalized,
            },
            evidence,
            sources: self
                .sources
                .iter()
                .map(|(url, h)| SourceReport::of(url, h))
                .collect(),
            follow_source: self.follow.as_ref().map(|(u, _)| u.clone()),
            stats,
            output_root_refusals: self
                .refusals
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .clone(),
        }
    }
}

/// An RPC listener that could not start.
#[derive(Debug, thiserror::Error)]
pub enum RpcError {
    /// Binding or starting failed.
    #[error("{what} on {addr}: {reason}")]
    Listen {
        /// Which listener.
        what: &'static str,
        /// Address.
        addr: SocketAddr,
        /// Why.
        reason: String,
    },
}

/// Starts the JSON-RPC server; returns its bound address and handle.
pub async fn serve_rpc(
    addr: SocketAddr,
    state: Arc<RpcState>,
) -> Result<(SocketAddr, ServerHandle), RpcError> {
    let err = |reason: String| RpcError::Listen {
        what: "JSON-RPC",
        addr,
        reason,
    };
    let server = Server::builder()
        .build(addr)
        .await
        .map_err(|e| err(e.to_string()))?;
    let bound = server.local_addr().map_err(|e| err(e.to_string()))?;
    let mut module = RpcModule::from_arc(state);
    module
        .register_method("optimism_syncStatus", |_, st, _| {
            Ok::<_, ErrorObjectOwned>(st.sync_status())
        })
        .map_err(|e| err(e.to_string()))?;
    module
        .register_method("follower_status", |_, st, _| {
            Ok::<_, ErrorObjectOwned>(st.status())
        })
        .map_err(|e| err(e.to_string()))?;
    Ok((bound, server.start(module)))
}

/// Starts the `/metrics` + `/healthz` listener; returns its bound address.
pub async fn serve_http(
    addr: SocketAddr,
    state: Arc<RpcState>,
    prometheus: PrometheusHandle,
    mut shutdown: watch::Receiver<bool>,
) -> Result<SocketAddr, RpcError> {
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|e| RpcError::Listen {
            what: "metrics",
            addr,
            reason: e.to_string(),
        })?;
    let bound = listener.local_addr().map_err(|e| RpcError::Listen {
        what: "metrics",
        addr,
        reason: e.to_string(),
    })?;
    let app = axum::Router::new()
        .route("/metrics", get(move || async move { prometheus.render() }))
        .route(
            "/healthz",
            get(move || async move {
                let safe = state.heads.borrow().safe.map(|h| h.block);
                let h = health::health(
                    safe.as_ref(),
                    crate::sources::now_ms() / 1000,
                    state.max_safe_age,
                );
                let code = if h.healthy {
                    StatusCode::OK
                } else {
                    StatusCode::SERVICE_UNAVAILABLE
                };
                (code, axum::Json(h)).into_response()
            }),
        );
    tokio::spawn(async move {
        let stop = async move {
            let _ = shutdown.wait_for(|s| *s).await;
        };
        if let Err(e) = axum::serve(listener, app)
            .with_graceful_shutdown(stop)
            .await
        {
            tracing::error!(error = %e, "metrics listener failed");
        }
    });
    Ok(bound)
}
