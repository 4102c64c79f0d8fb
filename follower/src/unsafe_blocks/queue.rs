//! Unsafe payloads waiting for insertion, ordered by number; a few forks per height.
//!
//! ```text
//!   gossip / fetch ─> insert ─> { n: [payload, ...] }  ─> lowest_above(head) ─> driver
//!                                   bounded: beyond capacity the highest heights go first
//! ```

use std::collections::BTreeMap;

use op_alloy_rpc_types_engine::OpExecutionPayloadEnvelope;

use crate::engine::driver::PayloadInfo;

/// Payloads kept per height (forks of the unsafe chain).
pub const MAX_PER_HEIGHT: usize = 4;

/// The identity of a payload.
pub fn info_of(env: &OpExecutionPayloadEnvelope) -> PayloadInfo {
    let p = &env.execution_payload;
    PayloadInfo {
        number: p.block_number(),
        hash: p.block_hash(),
        parent_hash: p.parent_hash(),
    }
}

/// Queued payloads.
#[derive(Debug)]
pub struct UnsafeQueue {
    by_number: BTreeMap<u64, Vec<OpExecutionPayloadEnvelope>>,
    capacity: usize,
    len: usize,
}

impl UnsafeQueue {
    /// A queue holding at most `capacity` payloads.
    pub fn new(capacity: usize) -> Self {
        Self {
            by_number: BTreeMap::new(),
            capacity: capacity.max(1),
            len: 0,
        }
    }

    /// Payloads queued.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Nothing queued.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Queues a payload; false when it was already there or its height is full.
    pub fn insert(&mut self, env: OpExecutionPayloadEnvelope) -> bool {
        let info = info_of(&env);
        let at = self.by_number.entry(info.number).or_default();
        if at.iter().any(|e| info_of(e).hash == info.hash) || at.len() >= MAX_PER_HEIGHT {
            return false;
        }
        at.push(env);
        self.len += 1;
        while self.len > self.capacity {
            // The highest heights are the furthest from insertion: drop them first.
            let Some(mut last) = self.by_number.last_entry() else {
                break;
            };
            if last.get_mut().pop().is_some() {
                self.len -= 1;
            }
            if last.get().is_empty() {
                last.remove();
            }
        }
        true
    }

    /// Drops every payload at or below `number` (already decided by the execution client).
    pub fn prune_through(&mut self, number: u64) {
        let keep = self.by_number.split_off(&(number.saturating_add(1)));
        let dropped: usize = self.by_number.values().map(Vec::len).sum();
        self.len -= dropped;
        self.by_number = keep;
    }

    /// The payload to consider next above `head`: the lowest height; at that height the one
    /// whose parent is `head_hash` if any, else the first received.
    pub fn lowest_above(
        &self,
        head: u64,
        head_hash: alloy::primitives::B256,
    ) -> Option<PayloadInfo> {
        let (_, at) = self.by_number.range(head.saturating_add(1)..).next()?;
        let infos = at.iter().map(info_of);
        infos
            .clone()
            .find(|i| i.parent_hash == head_hash)
            .or_else(|| at.first().map(info_of))
    }

    /// Removes and returns the payload `info` names.
    pub fn take(&mut self, info: &PayloadInfo) -> Option<OpExecutionPayloadEnvelope> {
        let at = self.by_number.get_mut(&info.number)?;
        let pos = at.iter().position(|e| info_of(e).hash == info.hash)?;
        let env = at.remove(pos);
        self.len -= 1;
        if at.is_empty() {
            self.by_number.remove(&info.number);
        }
        Some(env)
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use alloy::primitives::{B256, Bloom, Bytes, U256};
    use alloy::rpc::types::engine::{ExecutionPayloadV1, ExecutionPayloadV2, ExecutionPayloadV3};
    use op_alloy_rpc_types_engine::OpExecutionPayload;

    /// A payload with the given identity (contents irrelevant to the queue).
    pub(crate) fn env(number: u64, hash: B256, parent_hash: B256) -> OpExecutionPayloadEnvelope {
        let v1 = ExecutionPayloadV1 {
            parent_hash,
            fee_recipient: Default::default(),
            state_root: B256::ZERO,
            receipts_root: B256::ZERO,
            logs_bloom: Bloom::ZERO,
            prev_randao: B256::ZERO,
            block_number: number,
            gas_limit: 30_000_000,
            gas_used: 0,
            timestamp: number * 2,
            extra_data: Bytes::new(),
            base_fee_per_gas: U256::from(1),
            block_hash: hash,
            transactions: vec![],
        };
        OpExecutionPayloadEnvelope {
            parent_beacon_block_root: Some(B256::ZERO),
            execution_payload: OpExecutionPayload::v3(ExecutionPayloadV3 {
                payload_inner: ExecutionPayloadV2 {
                    payload_inner: v1,
                    withdrawals: vec![],
                },
                blob_gas_used: 0,
                excess_blob_gas: 0,
            }),
        }
    }

    fn h(n: u64, fork: u8) -> B256 {
        let mut b = [fork; 32];
        b[..8].copy_from_slice(&n.to_be_bytes());
        B256::from(b)
    }

    #[test]
    fn lowest_prefers_the_child_of_the_head_and_prune_drops_decided_heights() {
        let mut q = UnsafeQueue::new(16);
        assert!(q.insert(env(6, h(6, 1), h(5, 1))));
        assert!(q.insert(env(6, h(6, 0), h(5, 0))));
        assert!(!q.insert(env(6, h(6, 0), h(5, 0))), "duplicate");
        assert!(q.insert(env(7, h(7, 0), h(6, 0))));
        assert!(q.insert(env(4, h(4, 0), h(3, 0))));
        assert_eq!(q.len(), 4);
        let next = q.lowest_above(5, h(5, 0)).unwrap();
        assert_eq!(next.hash, h(6, 0));
        assert_eq!(q.lowest_above(5, h(5, 9)).unwrap().hash, h(6, 1));
        q.prune_through(5);
        assert_eq!(q.len(), 3);
        let taken = q.take(&next).unwrap();
        assert_eq!(taken.execution_payload.block_hash(), h(6, 0));
        assert_eq!(q.len(), 2);
    }

    #[test]
    fn over_capacity_the_highest_heights_go() {
        let mut q = UnsafeQueue::new(2);
        for n in [3, 5, 4] {
            q.insert(env(n, h(n, 0), h(n - 1, 0)));
        }
        assert_eq!(q.len(), 2);
        assert!(q.lowest_above(2, h(2, 0)).is_some());
        q.prune_through(3);
        assert_eq!(q.lowest_above(3, h(3, 0)).unwrap().number, 4);
    }
}
