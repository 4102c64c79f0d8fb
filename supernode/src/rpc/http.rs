//! Plain HTTP endpoints beside JSON-RPC: `/metrics`, `/healthz` and the `/status` page.

use std::fmt::Write;
use std::sync::Arc;

use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;

use crate::node::NodeState;

/// Prometheus text exposition.
pub async fn metrics(State(state): State<Arc<NodeState>>) -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        state.metrics().render(),
    )
}

/// 200 once every chain has heads to serve, 503 (naming the chains) before.
pub async fn healthz(State(state): State<Arc<NodeState>>) -> impl IntoResponse {
    let waiting: Vec<String> = state
        .chains()
        .filter(|(_, c)| c.served().is_none())
        .map(|(id, _)| id.to_string())
        .collect();
    if waiting.is_empty() {
        (StatusCode::OK, "ok\n".to_string())
    } else {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            format!("waiting for heads of chain(s) {}\n", waiting.join(", ")),
        )
    }
}

/// A human-readable summary of every chain.
pub fn render_status(state: &NodeState) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "opfleet supernode {}", super::chain::VERSION);
    let _ = writeln!(out, "signer   {}", state.signer());
    let _ = writeln!(out, "uptime   {}s", state.uptime_secs());
    for (id, c) in state.chains() {
        let _ = writeln!(out, "\nchain {id}");
        match c.served() {
            None => {
                let _ = writeln!(out, "  no heads yet");
            }
            Some(h) => {
                let s = &h.status;
                for (name, b) in [
                    ("unsafe", s.unsafe_l2),
                    ("local_safe", s.local_safe_l2),
                    ("safe", s.safe_l2),
                    ("finalized", s.finalized_l2),
                ] {
                    let _ = writeln!(out, "  {name:<11} #{:<10} {}", b.number, b.hash);
                }
                let _ = writeln!(
                    out,
                    "  current_l1  #{:<10} {}",
                    s.current_l1.number, s.current_l1.hash
                );
                let _ = writeln!(
                    out,
                    "  safe derived from L1 #{}, finalized from L1 #{}",
                    h.safe_derived_from.number, h.finalized_derived_from.number
                );
            }
        }
        let latest = c.latest();
        for (kind, a) in [("safe", latest.safe), ("finalized", latest.finalized)] {
            match a {
                Some(a) => {
                    let _ = writeln!(
                        out,
                        "  attested {kind:<9} #{} at {} ms",
                        a.attestation.block.number, a.attestation.issued_at_ms
                    );
                }
                None => {
                    let _ = writeln!(out, "  attested {kind:<9} none yet");
                }
            }
        }
    }
    out
}

/// The status page (plain text).
pub async fn status(State(state): State<Arc<NodeState>>) -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        render_status(&state),
    )
}
