//! Methods on the root path `/` (HTTP and WebSocket).
//!
//! ```text
//!   heartbeat_check                    random hex: a sign of life (op-supernode)
//!   supernode_syncStatus               every chain's SyncStatus and the minimums
//!   superroot_atTimestamp(ts)          super root v1 from the chains' output roots at ts
//!   attest_latest(chainId)             {safe, finalized} signed attestations
//!   attest_subscribe(chainIds?)        latest first, then every new one (attest_subscription)
//!   supervisor_syncStatus / crossSafe(chainId) / finalized(chainId)
//!   supervisor_superRootAtTimestamp(ts)
//!   supervisor_checkAccessList         "interop not active" error (no executing-message index)
//! ```

use std::collections::BTreeSet;
use std::sync::Arc;

use jsonrpsee::core::server::{PendingSubscriptionSink, SubscriptionMessage};
use jsonrpsee::types::{ErrorObjectOwned, Params};
use jsonrpsee::{RpcModule, core::RegisterMethodError};
use opfleet_attest::SignedAttestation;
use opfleet_protocol::{
    BlockId, ChainId, DerivedIdPair, L1BlockRef, SupernodeSyncStatus, SupervisorChainSyncStatus,
    SupervisorSyncStatus,
};
use tokio::sync::broadcast::error::RecvError;

use super::params::{
    INVALID_PARAMS, NOT_FOUND, UNSUPPORTED, chain_id, err, positional, quantity, required,
};
use super::superroot;
use crate::heads::ChainHeads;
use crate::node::{ChainState, LatestAttestations, NodeState};

type Ctx = Arc<NodeState>;

fn known_chain(state: &NodeState, id: ChainId) -> Result<&ChainState, ErrorObjectOwned> {
    state
        .chain(id)
        .ok_or_else(|| err(INVALID_PARAMS, format!("unknown chain {id}")))
}

fn chain_param(params: &Params<'_>, state: &NodeState) -> Result<ChainId, ErrorObjectOwned> {
    let args = positional(params)?;
    let id = chain_id(required(&args, 0, "chainId")?, "chainId")?;
    known_chain(state, id)?;
    Ok(id)
}

fn served(state: &NodeState, id: ChainId) -> Result<ChainHeads, ErrorObjectOwned> {
    known_chain(state, id)?
        .served()
        .ok_or_else(|| err(NOT_FOUND, format!("chain {id}: no heads yet")))
}

fn sync_status(state: &NodeState) -> SupernodeSyncStatus {
    SupernodeSyncStatus::aggregate(
        state
            .chains()
            .map(|(id, c)| (id, c.served().map(|h| h.status).unwrap_or_default()))
            .collect(),
    )
}

fn supervisor_sync_status(state: &NodeState) -> SupervisorSyncStatus {
    let mut out = SupervisorSyncStatus::default();
    let mut min_l1: Option<L1BlockRef> = None;
    let mut safe_ts: Option<u64> = None;
    let mut fin_ts: Option<u64> = None;
    for (id, c) in state.chains() {
        let s = c.served().map(|h| h.status).unwrap_or_default();
        if min_l1.is_none_or(|m| s.current_l1.number < m.number) {
            min_l1 = Some(s.current_l1);
        }
        safe_ts = Some(safe_ts.map_or(s.safe_l2.timestamp, |t| t.min(s.safe_l2.timestamp)));
        fin_ts = Some(fin_ts.map_or(s.finalized_l2.timestamp, |t| {
            t.min(s.finalized_l2.timestamp)
        }));
        // Without interop validation, cross-unsafe is the unsafe head unless derivation said.
        let cross_unsafe = if s.cross_unsafe_l2.hash.is_zero() {
            s.unsafe_l2
        } else {
            s.cross_unsafe_l2
        };
        out.chains.insert(
            id,
            SupervisorChainSyncStatus {
                local_unsafe: L1BlockRef {
                    hash: s.unsafe_l2.hash,
                    number: s.unsafe_l2.number,
                    parent_hash: s.unsafe_l2.parent_hash,
                    timestamp: s.unsafe_l2.timestamp,
                },
                local_safe: s.local_safe_l2.id(),
                cross_unsafe: cross_unsafe.id(),
                cross_safe: s.safe_l2.id(),
                finalized: s.finalized_l2.id(),
            },
        );
    }
    out.min_synced_l1 = min_l1.unwrap_or_default();
    out.safe_timestamp = safe_ts.unwrap_or_default();
    out.finalized_timestamp = fin_ts.unwrap_or_default();
    out
}

/// The chains an `attest_subscribe` asks for (all when the list is absent or empty).
fn subscribed_chains(
    params: &Params<'_>,
    state: &NodeState,
) -> Result<BTreeSet<ChainId>, ErrorObjectOwned> {
    let args = positional(params)?;
    let list = match args.first() {
        None | Some(serde_json::Value::Null) => Vec::new(),
        Some(serde_json::Value::Array(v)) => v.clone(),
        Some(other) => {
            return Err(err(
                INVALID_PARAMS,
                format!("invalid params: chainIds: expected a list of chain ids, got {other}"),
            ));
        }
    };
    if list.is_empty() {
        return Ok(state.chains().map(|(id, _)| id).collect());
    }
    let mut out = BTreeSet::new();
    for (i, v) in list.iter().enumerate() {
        let id = chain_id(v, &format!("chainIds[{i}]"))?;
        known_chain(state, id)?;
        out.insert(id);
    }
    Ok(out)
}

fn message(signed: &SignedAttestation) -> Result<SubscriptionMessage, serde_json::Error> {
    Ok(serde_json::value::to_raw_value(signed)?.into())
}

async fn run_subscription(pending: PendingSubscriptionSink, state: Ctx, chains: BTreeSet<ChainId>) {
    // Subscribe before reading the latest so nothing signed in between is missed.
    let mut rx = state.subscribe();
    let Ok(sink) = pending.accept().await else {
        return;
    };
    let mut sent = BTreeSet::new();
    for id in &chains {
        let latest = state.chain(*id).map(ChainState::latest).unwrap_or_default();
        for signed in [latest.safe, latest.finalized].into_iter().flatten() {
            let Ok(msg) = message(&signed) else { return };
            if sink.send(msg).await.is_err() {
                return;
            }
            sent.insert(signed.to_wire());
        }
    }
    loop {
        tokio::select! {
            () = sink.closed() => return,
            item = rx.recv() => match item {
                Ok(signed) => {
                    if !chains.contains(&signed.attestation.chain_id)
                        || sent.remove(&signed.to_wire())
                    {
                        continue;
                    }
                    let Ok(msg) = message(&signed) else { return };
                    if sink.send(msg).await.is_err() {
                        return;
                    }
                }
                // A subscriber that fell behind misses the oldest; the latest stay correct.
                Err(RecvError::Lagged(n)) => {
                    tracing::warn!(missed = n, "attest_subscribe subscriber lagged");
                }
                Err(RecvError::Closed) => return,
            }
        }
    }
}

/// The root module.
pub fn module(state: Ctx) -> Result<RpcModule<NodeState>, RegisterMethodError> {
    let mut m = RpcModule::from_arc(state);
    m.register_method("heartbeat_check", |_, _, _| {
        let mut bytes = [0u8; 16];
        getrandom::fill(&mut bytes)
            .map(|()| alloy::primitives::hex::encode_prefixed(bytes))
            .map_err(|e| err(super::params::BACKEND, format!("no randomness: {e}")))
    })?;
    m.register_method("supernode_syncStatus", |_, s, _| {
        Ok::<_, ErrorObjectOwned>(sync_status(s))
    })?;
    m.register_async_method("superroot_atTimestamp", |p, s, _| async move {
        let args = positional(&p)?;
        let ts = quantity(required(&args, 0, "timestamp")?, "timestamp")?;
        superroot::super_root_at_timestamp(&s, ts).await
    })?;
    m.register_method("attest_latest", |p, s, _| {
        let id = chain_param(&p, s)?;
        Ok::<LatestAttestations, ErrorObjectOwned>(known_chain(s, id)?.latest())
    })?;
    m.register_subscription(
        "attest_subscribe",
        "attest_subscription",
        "attest_unsubscribe",
        |p, pending, s, _| async move {
            match subscribed_chains(&p, &s) {
                Ok(chains) => run_subscription(pending, s, chains).await,
                Err(e) => pending.reject(e).await,
            }
        },
    )?;
    m.register_method("supervisor_syncStatus", |_, s, _| {
        Ok::<_, ErrorObjectOwned>(supervisor_sync_status(s))
    })?;
    m.register_method("supervisor_crossSafe", |p, s, _| {
        let id = chain_param(&p, s)?;
        let h = served(s, id)?;
        Ok::<_, ErrorObjectOwned>(DerivedIdPair {
            source: h.safe_derived_from,
            derived: h.status.safe_l2.id(),
        })
    })?;
    m.register_method("supervisor_finalized", |p, s, _| {
        let id = chain_param(&p, s)?;
        Ok::<BlockId, ErrorObjectOwned>(served(s, id)?.status.finalized_l2.id())
    })?;
    m.register_async_method("supervisor_superRootAtTimestamp", |p, s, _| async move {
        let args = positional(&p)?;
        let ts = quantity(required(&args, 0, "timestamp")?, "timestamp")?;
        superroot::supervisor_super_root(&s, ts).await
    })?;
    m.register_method("supervisor_checkAccessList", |_, _, _| {
        Err::<(), _>(err(
            UNSUPPORTED,
            "supervisor_checkAccessList: interop is not active on this supernode \
             (it keeps no executing-message index), so access lists cannot be checked",
        ))
    })?;
    Ok(m)
}
