//! One supernode as an attestation source: WebSocket push (`attest_subscribe`) when it works,
//! `attest_latest` polling while it does not, reconnecting with backoff.
//!
//! ```text
//!   push task:  connect ws ─> subscribe ─> items ─> sink      (on error: backoff, reconnect)
//!                    │ push_live = true while subscribed
//!   poll task:  every poll interval, if !push_live: attest_latest ─> sink
//! ```
//! Both tasks feed the same intake, where duplicates are counted and ignored; so a push that
//! is live but quiet loses nothing when polling also runs for a moment.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use jsonrpsee::core::client::{ClientT, SubscriptionClientT};
use jsonrpsee::http_client::HttpClientBuilder;
use jsonrpsee::rpc_params;
use jsonrpsee::ws_client::WsClientBuilder;
use opfleet_attest::SignedAttestation;
use opfleet_protocol::ChainId;
use serde::{Deserialize, Serialize};
use tokio::sync::{mpsc, watch};

use crate::sources::backoff::Backoff;
use crate::sources::{AttestationBatch, now_ms};

/// `attest_latest`'s answer (C2).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AttestLatest {
    /// The signer's latest safe attestation for the chain.
    pub safe: Option<SignedAttestation>,
    /// The latest finalized one.
    pub finalized: Option<SignedAttestation>,
}

/// The URLs of one supernode, derived from the configured one.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SupernodeUrls {
    /// HTTP root (`attest_latest`).
    pub http: String,
    /// WebSocket root (`attest_subscribe`).
    pub ws: String,
}

impl SupernodeUrls {
    /// Both schemes from either (`https` <-> `wss`, `http` <-> `ws`); trailing `/` dropped.
    pub fn from_url(url: &str) -> Self {
        let url = url.trim_end_matches('/');
        let swap = |from: &str, to: &str| url.strip_prefix(from).map(|rest| format!("{to}{rest}"));
        let (http, ws) = if let Some(ws) = swap("http://", "ws://") {
            (url.to_string(), ws)
        } else if let Some(ws) = swap("https://", "wss://") {
            (url.to_string(), ws)
        } else if let Some(http) = swap("ws://", "http://") {
            (http, url.to_string())
        } else if let Some(http) = swap("wss://", "https://") {
            (http, url.to_string())
        } else {
            (url.to_string(), url.to_string())
        };
        Self { http, ws }
    }

    /// The per-chain op-node-shaped prefix `/<chainid>/`.
    pub fn chain_prefix(&self, chain_id: ChainId) -> String {
        format!("{}/{}/", self.http, chain_id.get())
    }
}

/// What a source's tasks report, read by `follower_status` and metrics.
#[derive(Debug, Default)]
pub struct SourceHealth {
    /// The push subscription is up.
    pub push_live: AtomicBool,
    /// Attestations received (push and poll).
    pub received: AtomicU64,
    /// Failed connects, subscriptions and polls.
    pub errors: AtomicU64,
    /// When an attestation or a successful poll last arrived (ms since the epoch; 0 = never).
    pub last_ok_ms: AtomicU64,
}

/// A snapshot of [`SourceHealth`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SourceReport {
    /// The configured URL.
    pub url: String,
    /// Push subscription up.
    pub push_live: bool,
    /// Attestations received.
    pub received: u64,
    /// Errors.
    pub errors: u64,
    /// Last success, ms since the epoch (0 = never).
    pub last_ok_ms: u64,
}

/// Timings of a supernode source.
#[derive(Clone, Copy, Debug)]
pub struct SupernodeTimings {
    /// Poll interval while push is down.
    pub poll_interval: Duration,
    /// First reconnect delay.
    pub backoff_initial: Duration,
    /// Longest reconnect delay.
    pub backoff_max: Duration,
    /// Per-request timeout.
    pub request_timeout: Duration,
}

impl Default for SupernodeTimings {
    fn default() -> Self {
        Self {
            poll_interval: Duration::from_secs(2),
            backoff_initial: Duration::from_millis(250),
            backoff_max: Duration::from_secs(30),
            request_timeout: Duration::from_secs(5),
        }
    }
}

/// A running supernode source.
pub struct SupernodeSource {
    /// The configured URL.
    pub url: String,
    /// Its health counters.
    pub health: Arc<SourceHealth>,
}

impl SourceReport {
    /// A snapshot of `health` for `url`.
    pub fn of(url: &str, health: &SourceHealth) -> Self {
        Self {
            url: url.to_string(),
            push_live: health.push_live.load(Ordering::Relaxed),
            received: health.received.load(Ordering::Relaxed),
            errors: health.errors.load(Ordering::Relaxed),
            last_ok_ms: health.last_ok_ms.load(Ordering::Relaxed),
        }
    }
}

impl SupernodeSource {
    /// Starts the push and poll tasks for `url`, feeding `sink` until `shutdown` turns true.
    pub fn spawn(
        url: String,
        chain_id: ChainId,
        timings: SupernodeTimings,
        sink: mpsc::Sender<AttestationBatch>,
        shutdown: watch::Receiver<bool>,
    ) -> Self {
        let health = Arc::new(SourceHealth::default());
        let urls = SupernodeUrls::from_url(&url);
        tokio::spawn(push_task(
            urls.clone(),
            chain_id,
            timings,
            sink.clone(),
            health.clone(),
            shutdown.clone(),
        ));
        tokio::spawn(poll_task(
            urls,
            chain_id,
            timings,
            sink,
            health.clone(),
            shutdown,
        ));
        Self { url, health }
    }
}

fn mark_ok(health: &SourceHealth, items: usize) {
    health.received.fetch_add(items as u64, Ordering::Relaxed);
    health.last_ok_ms.store(now_ms(), Ordering::Relaxed);
}

async fn push_task(
    urls: SupernodeUrls,
    chain_id: ChainId,
    timings: SupernodeTimings,
    sink: mpsc::Sender<AttestationBatch>,
    health: Arc<SourceHealth>,
    mut shutdown: watch::Receiver<bool>,
) {
    let mut backoff = Backoff::new(timings.backoff_initial, timings.backoff_max);
    while !*shutdown.borrow() {
        let session = async {
            let client = WsClientBuilder::default()
                .request_timeout(timings.request_timeout)
                .connection_timeout(timings.request_timeout)
                .build(&urls.ws)
                .await
                .map_err(|e| format!("connect {}: {e}", urls.ws))?;
            let mut sub = client
                .subscribe::<SignedAttestation, _>(
                    "attest_subscribe",
                    rpc_params![vec![chain_id.get().to_string()]],
                    "attest_unsubscribe",
                )
                .await
                .map_err(|e| format!("attest_subscribe on {}: {e}", urls.ws))?;
            health.push_live.store(true, Ordering::Relaxed);
            backoff.reset();
            tracing::info!(url = %urls.ws, "attestation push subscription up");
            while let Some(item) = sub.next().await {
                match item {
                    Ok(att) => {
                        mark_ok(&health, 1);
                        let batch = AttestationBatch {
                            source: urls.http.clone(),
                            items: vec![att],
                        };
                        if sink.send(batch).await.is_err() {
                            return Ok(());
                        }
                    }
                    Err(e) => {
                        health.errors.fetch_add(1, Ordering::Relaxed);
                        tracing::warn!(url = %urls.ws, error = %e, "undecodable attestation notification");
                    }
                }
            }
            Err(format!("subscription on {} ended", urls.ws))
        };
        let result = tokio::select! {
            r = session => r,
            _ = shutdown.changed() => return,
        };
        health.push_live.store(false, Ordering::Relaxed);
        if let Err(reason) = result {
            health.errors.fetch_add(1, Ordering::Relaxed);
            let delay = backoff.next_delay();
            tracing::warn!(%reason, retry_in = ?delay, "attestation push down; polling meanwhile");
            tokio::select! {
                _ = tokio::time::sleep(delay) => {}
                _ = shutdown.changed() => return,
            }
        } else {
            return;
        }
    }
}

async fn poll_task(
    urls: SupernodeUrls,
    chain_id: ChainId,
    timings: SupernodeTimings,
    sink: mpsc::Sender<AttestationBatch>,
    health: Arc<SourceHealth>,
    mut shutdown: watch::Receiver<bool>,
) {
    let client = match HttpClientBuilder::default()
        .request_timeout(timings.request_timeout)
        .build(&urls.http)
    {
        Ok(c) => c,
        Err(e) => {
            tracing::error!(url = %urls.http, error = %e, "cannot build the attest_latest client");
            return;
        }
    };
    let mut ticker = tokio::time::interval(timings.poll_interval);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = ticker.tick() => {}
            _ = shutdown.changed() => return,
        }
        if *shutdown.borrow() {
            return;
        }
        if health.push_live.load(Ordering::Relaxed) {
            continue;
        }
        let answer: Result<AttestLatest, _> = client
            .request("attest_latest", rpc_params![chain_id.get().to_string()])
            .await;
        match answer {
            Ok(latest) => {
                let items: Vec<_> = latest.safe.into_iter().chain(latest.finalized).collect();
                mark_ok(&health, items.len());
                if !items.is_empty() {
                    let batch = AttestationBatch {
                        source: urls.http.clone(),
                        items,
                    };
                    if sink.send(batch).await.is_err() {
                        return;
                    }
                }
            }
            Err(e) => {
                health.errors.fetch_add(1, Ordering::Relaxed);
                tracing::debug!(url = %urls.http, error = %e, "attest_latest failed");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_swap_schemes_both_ways() {
        let u = SupernodeUrls::from_url("http://a:1/");
        assert_eq!(u.http, "http://a:1");
        assert_eq!(u.ws, "ws://a:1");
        let u = SupernodeUrls::from_url("wss://b");
        assert_eq!(u.http, "https://b");
        assert_eq!(u.ws, "wss://b");
        assert_eq!(u.chain_prefix(ChainId(10)), "https://b/10/");
    }

    #[test]
    fn attest_latest_reads_nulls() {
        let v: AttestLatest = serde_json::from_str(r#"{"safe":null,"finalized":null}"#).unwrap();
        assert_eq!(v, AttestLatest::default());
    }
}
