//! Super roots at a timestamp, for `superroot_atTimestamp` and
//! `supervisor_superRootAtTimestamp`.
//!
//! ```text
//!   per chain:  n = genesis.l2.number + (ts - genesis.l2_time) / block_time
//!               output root of block n (execution client)
//!               required_l1 = first L1 block at which a safe head >= n was recorded (SafeDB)
//!               verified    = n <= served safe_l2 and both of the above are known
//!   all chains verified ─▶ data { verified_required_l1 = highest required_l1,
//!                                 super = SuperV1(ts, outputs), super_root = keccak256(super) }
//! ```

use std::collections::BTreeMap;

use alloy::primitives::{B256, Bytes, keccak256};
use jsonrpsee::types::ErrorObjectOwned;
use opfleet_protocol::config::RollupConfig;
use opfleet_protocol::output_root::OutputV0;
use opfleet_protocol::{
    BlockId, ChainId, ChainRootInfo, OutputResponse, OutputWithChainId, OutputWithRequiredL1,
    SuperRootAtTimestampResponse, SuperRootResponse, SuperRootResponseData, SuperV1,
    SupernodeSyncStatus,
};

use super::params::{BACKEND, NOT_FOUND, err};
use crate::node::{NodeState, OutputAtBlock};

/// The L2 block number whose timestamp is the latest at or before `ts`; `None` before genesis.
pub fn block_at_timestamp(rollup: &RollupConfig, ts: u64) -> Option<u64> {
    let since = ts.checked_sub(rollup.genesis.l2_time)?;
    let blocks = since.checked_div(rollup.block_time)?;
    rollup.genesis.l2.number.checked_add(blocks)
}

/// One chain's contribution at a timestamp.
#[derive(Clone, Copy, Debug)]
pub struct ChainAtTimestamp {
    /// The chain.
    pub chain_id: ChainId,
    /// Its block and output at the timestamp, if the execution client has it.
    pub output: Option<OutputAtBlock>,
    /// The L1 block that made it safe, if it is safe.
    pub required_l1: Option<BlockId>,
    /// Whether the block is safe (so the root is final up to L1 reorgs).
    pub verified: bool,
}

/// Output v0 of `o` as an `optimism_outputAtBlock` answer.
pub fn output_response(o: &OutputAtBlock) -> OutputResponse {
    OutputResponse {
        version: B256::ZERO,
        output_root: o.output_root,
        block_ref: o.block,
        withdrawal_storage_root: o.message_passer_storage_root,
        state_root: o.state_root,
        sync_status: None,
    }
}

/// The output v0 of `o`.
pub fn output_v0(o: &OutputAtBlock) -> OutputV0 {
    OutputV0 {
        state_root: o.state_root,
        message_passer_storage_root: o.message_passer_storage_root,
        block_hash: o.block.hash,
    }
}

/// The 128-byte output v0 preimage (`ChainRootInfo.pending`).
pub fn output_preimage(o: &OutputAtBlock) -> Bytes {
    Bytes::copy_from_slice(&output_v0(o).encode())
}

/// Every chain's block, output and safety at `ts`.
pub async fn chains_at(
    state: &NodeState,
    ts: u64,
) -> Result<Vec<ChainAtTimestamp>, ErrorObjectOwned> {
    let mut out = Vec::new();
    for (chain_id, chain) in state.chains() {
        let Some(number) = block_at_timestamp(&chain.rollup, ts) else {
            out.push(ChainAtTimestamp {
                chain_id,
                output: None,
                required_l1: None,
                verified: false,
            });
            continue;
        };
        let output = chain
            .outputs
            .output_at_block(number)
            .await
            .map_err(|e| err(BACKEND, format!("chain {chain_id} block #{number}: {e}")))?;
        let required_l1 = state
            .store()
            .safe_source_of(chain_id, number)
            .await
            .map_err(|e| err(BACKEND, format!("chain {chain_id}: {e}")))?;
        let safe = chain.served().map(|h| h.status.safe_l2.number);
        let verified =
            output.is_some() && required_l1.is_some() && safe.is_some_and(|s| number <= s);
        out.push(ChainAtTimestamp {
            chain_id,
            output,
            required_l1,
            verified,
        });
    }
    Ok(out)
}

/// The super root of `chains` if every one is verified.
fn verified_super(ts: u64, chains: &[ChainAtTimestamp]) -> Option<(BlockId, SuperV1, B256)> {
    let mut outputs = Vec::with_capacity(chains.len());
    let mut required = BlockId::default();
    for c in chains {
        if !c.verified {
            return None;
        }
        let (o, r) = (c.output?, c.required_l1?);
        if r.number >= required.number {
            required = r;
        }
        outputs.push(OutputWithChainId {
            chain_id: c.chain_id,
            output_root: o.output_root,
        });
    }
    let sup = SuperV1::new(ts, outputs).ok()?;
    let root = keccak256(sup.encode());
    Some((required, sup, root))
}

/// `superroot_atTimestamp` (op-supernode's response shape).
pub async fn super_root_at_timestamp(
    state: &NodeState,
    ts: u64,
) -> Result<SuperRootAtTimestampResponse, ErrorObjectOwned> {
    let chains = chains_at(state, ts).await?;
    let statuses = state
        .chains()
        .map(|(id, c)| (id, c.served().map(|h| h.status).unwrap_or_default()))
        .collect();
    let agg = SupernodeSyncStatus::aggregate(statuses);
    let optimistic: BTreeMap<ChainId, OutputWithRequiredL1> = chains
        .iter()
        .map(|c| {
            (
                c.chain_id,
                OutputWithRequiredL1 {
                    output: c.output.as_ref().map(output_response),
                    required_l1: c.required_l1.unwrap_or_default(),
                },
            )
        })
        .collect();
    let data = verified_super(ts, &chains).map(|(verified_required_l1, sup, super_root)| {
        SuperRootResponseData {
            verified_required_l1,
            super_v1: Some(sup),
            super_root,
        }
    });
    Ok(SuperRootAtTimestampResponse {
        current_l1: agg.current_l1,
        current_safe_timestamp: agg.safe_timestamp,
        current_local_safe_timestamp: agg.local_safe_timestamp,
        current_finalized_timestamp: agg.finalized_timestamp,
        optimistic_at_timestamp: optimistic,
        chain_ids: agg.chain_ids,
        data,
    })
}

/// `supervisor_superRootAtTimestamp`: only for a timestamp every chain has made safe.
pub async fn supervisor_super_root(
    state: &NodeState,
    ts: u64,
) -> Result<SuperRootResponse, ErrorObjectOwned> {
    let chains = chains_at(state, ts).await?;
    let (required, _sup, super_root) = verified_super(ts, &chains).ok_or_else(|| {
        let behind: Vec<String> = chains
            .iter()
            .filter(|c| !c.verified)
            .map(|c| c.chain_id.to_string())
            .collect();
        err(
            NOT_FOUND,
            format!(
                "future data: timestamp {ts} is not yet safe on chain(s) {}",
                behind.join(", ")
            ),
        )
    })?;
    let infos = chains
        .iter()
        .filter_map(|c| {
            c.output.map(|o| ChainRootInfo {
                chain_id: c.chain_id,
                canonical: o.output_root,
                pending: output_preimage(&o),
            })
        })
        .collect();
    Ok(SuperRootResponse {
        cross_safe_derived_from: required,
        timestamp: ts,
        super_root,
        version: opfleet_protocol::super_root::SUPER_ROOT_VERSION_V1,
        chains: infos,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn block_numbers_from_timestamps() {
        let mut r = RollupConfig::default();
        r.genesis.l2_time = 1000;
        r.genesis.l2.number = 50;
        r.block_time = 2;
        assert_eq!(block_at_timestamp(&r, 999), None);
        assert_eq!(block_at_timestamp(&r, 1000), Some(50));
        assert_eq!(block_at_timestamp(&r, 1001), Some(50));
        assert_eq!(block_at_timestamp(&r, 1010), Some(55));
        r.block_time = 0;
        assert_eq!(block_at_timestamp(&r, 1010), None);
    }

    #[test]
    fn preimage_hashes_to_the_output_root() {
        let o = OutputAtBlock {
            block: opfleet_protocol::L2BlockRef {
                hash: B256::repeat_byte(3),
                ..Default::default()
            },
            output_root: B256::ZERO,
            state_root: B256::repeat_byte(1),
            message_passer_storage_root: B256::repeat_byte(2),
        };
        let pre = output_preimage(&o);
        assert_eq!(pre.len(), 128);
        assert_eq!(keccak256(&pre), output_v0(&o).output_root());
        assert_eq!(&pre[..32], B256::ZERO.as_slice());
    }
}
