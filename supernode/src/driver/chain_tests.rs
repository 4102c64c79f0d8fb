//! The driver over a fake L1 and a fake execution client: insertion, consolidation, finality,
//! L1 reorg rewinds and Holocene deposits-only replacement.

use super::*;
use crate::derive::pipeline::tests::{
    INBOX, channel_frames, genesis_ref, l1_with_deposit, rollup, sequence, span_entry,
};
use crate::derive::test_utils::*;
use alloy::consensus::Header;
use alloy::primitives::Bytes;
use op_alloy_rpc_types_engine::OpPayloadAttributes;
use std::sync::Mutex;

/// An execution client that "executes" attributes into a header, with a forkchoice.
#[derive(Default)]
struct FakeEl {
    blocks: Mutex<Vec<ExecutedBlock>>,
    tags: Mutex<(B256, B256)>,
    inserts: Mutex<u64>,
    poison: Mutex<Option<Bytes>>,
    failing_inserts: Mutex<u32>,
}

impl FakeEl {
    fn with_genesis(r: &RollupConfig) -> Self {
        let el = Self::default();
        let g = ExecutedBlock {
            hash: r.genesis.l2.hash,
            header: Header {
                timestamp: r.genesis.l2_time,
                gas_limit: 30_000_000,
                ..Default::default()
            },
            transactions: Vec::new(),
            withdrawals: Some(Vec::new()),
        };
        el.blocks.lock().unwrap().push(g);
        *el.tags.lock().unwrap() = (r.genesis.l2.hash, r.genesis.l2.hash);
        el
    }

    fn build(parent: &ExecutedBlock, a: &OpPayloadAttributes) -> ExecutedBlock {
        let p = &a.payload_attributes;
        let mut extra = vec![0u8];
        extra.extend_from_slice(&a.eip_1559_params.unwrap_or_default().0);
        let header = Header {
            parent_hash: parent.hash,
            number: parent.header.number + 1,
            timestamp: p.timestamp,
            gas_limit: a.gas_limit.unwrap_or_default(),
            beneficiary: p.suggested_fee_recipient,
            mix_hash: p.prev_randao,
            parent_beacon_block_root: p.parent_beacon_block_root,
            extra_data: extra.into(),
            ..Default::default()
        };
        ExecutedBlock {
            hash: header.hash_slow(),
            header,
            transactions: a.transactions.clone().unwrap_or_default(),
            withdrawals: p.withdrawals.clone(),
        }
    }
}

#[async_trait::async_trait]
impl ExecutionLayer for FakeEl {
    async fn block_by_number(&self, number: u64) -> Result<Option<ExecutedBlock>, ElError> {
        Ok(self.blocks.lock().unwrap().get(number as usize).cloned())
    }

    async fn block_by_tag(&self, tag: L2Tag) -> Result<Option<ExecutedBlock>, ElError> {
        let blocks = self.blocks.lock().unwrap();
        let (safe, finalized) = *self.tags.lock().unwrap();
        Ok(match tag {
            L2Tag::Latest => blocks.last().cloned(),
            L2Tag::Safe => blocks.iter().find(|b| b.hash == safe).cloned(),
            L2Tag::Finalized => blocks.iter().find(|b| b.hash == finalized).cloned(),
        })
    }

    async fn insert(
        &self,
        parent: B256,
        attributes: OpPayloadAttributes,
        safe: B256,
        finalized: B256,
    ) -> Result<InsertOutcome, ElError> {
        {
            let mut failing = self.failing_inserts.lock().unwrap();
            if *failing > 0 {
                *failing -= 1;
                return Err(ElError::Temporary("injected".into()));
            }
        }
        let poison = self.poison.lock().unwrap().clone();
        if let Some(p) = poison
            && attributes
                .transactions
                .as_ref()
                .is_some_and(|t| t.contains(&p))
        {
            return Ok(InsertOutcome::Invalid("poisoned transaction".into()));
        }
        *self.inserts.lock().unwrap() += 1;
        let mut blocks = self.blocks.lock().unwrap();
        let i = blocks
            .iter()
            .position(|b| b.hash == parent)
            .ok_or_else(|| ElError::Invalid("unknown parent".into()))?;
        blocks.truncate(i + 1);
        let b = Self::build(&blocks[i], &attributes);
        blocks.push(b.clone());
        *self.tags.lock().unwrap() = (safe, finalized);
        Ok(InsertOutcome::Inserted(Box::new(b)))
    }

    async fn forkchoice(&self, head: B256, safe: B256, finalized: B256) -> Result<(), ElError> {
        let mut blocks = self.blocks.lock().unwrap();
        if let Some(i) = blocks.iter().position(|b| b.hash == head) {
            blocks.truncate(i + 1);
        }
        *self.tags.lock().unwrap() = (safe, finalized);
        Ok(())
    }
}

fn config(r: &RollupConfig) -> DriverConfig {
    DriverConfig {
        rollup: Arc::new(r.clone()),
        blob_schedule: L1BlobSchedule::prague_at(0),
        anchor: None,
        idle_interval: Duration::from_millis(10),
    }
}

async fn driver(l1: &Arc<FakeL1>, el: &Arc<FakeEl>, r: &RollupConfig) -> ChainDriver {
    ChainDriver::new(config(r), l1.clone(), l1.clone(), el.clone())
        .await
        .unwrap()
}

async fn run_to_idle(d: &mut ChainDriver) -> Vec<Step> {
    let mut steps = Vec::new();
    loop {
        match d.step().await.unwrap() {
            Step::Idle => return steps,
            s => steps.push(s),
        }
    }
}

/// An L1 with a span batch of blocks 1..=6 in block 2.
fn posted() -> (Arc<FakeL1>, RollupConfig) {
    let (l1, _) = l1_with_deposit();
    let r = rollup(l1.block(0), 4);
    let (_, batches) = sequence(&l1, &r, 6);
    let data = channel_frames(&span_entry(&r, &batches, false), 2);
    l1.set_txs(
        l1.block(2).hash,
        vec![calldata_tx(&batcher_key().0, 0, INBOX, &data)],
    );
    (l1, r)
}

#[tokio::test]
async fn inserts_derived_blocks_and_finalizes_with_l1() {
    let (l1, r) = posted();
    let el = Arc::new(FakeEl::with_genesis(&r));
    let mut d = driver(&l1, &el, &r).await;
    let heads = d.subscribe();
    let steps = run_to_idle(&mut d).await;
    assert_eq!(steps.len(), 6);
    assert!(steps.iter().all(|s| matches!(s, Step::Inserted(_))));
    let h = *heads.borrow();
    assert_eq!(h.status.safe_l2.number, 6);
    assert_eq!(h.status.unsafe_l2, h.status.safe_l2);
    assert_eq!(h.safe_derived_from, l1.block(2).id());
    assert_eq!(h.status.current_l1.number, 4);
    assert_eq!(h.status.finalized_l2, genesis_ref(&r));
    assert_eq!(el.tags.lock().unwrap().0, h.status.safe_l2.hash);
    // Finality follows L1: block 1 finalized is not enough, block 2 is.
    l1.set_finalized(1);
    assert_eq!(d.step().await.unwrap(), Step::Idle);
    assert_eq!(heads.borrow().status.finalized_l2.number, 0);
    assert_eq!(
        d.history.len(),
        2,
        "the start anchor and the span's last block"
    );
    l1.set_finalized(2);
    assert_eq!(d.step().await.unwrap(), Step::Idle);
    let h = *heads.borrow();
    assert_eq!(h.status.finalized_l2.number, 6);
    assert_eq!(h.finalized_derived_from, l1.block(2).id());
    assert_eq!(el.tags.lock().unwrap().1, h.status.finalized_l2.hash);
    // The history now starts at the finalized block: nothing below it is kept.
    let kept: Vec<u64> = d.history.iter().map(|e| e.block.number).collect();
    assert_eq!(kept, vec![6]);
}

#[tokio::test]
async fn consolidates_blocks_the_el_already_has() {
    let (l1, r) = posted();
    let first = Arc::new(FakeEl::with_genesis(&r));
    let mut d = driver(&l1, &first, &r).await;
    run_to_idle(&mut d).await;
    // A second EL holding the same blocks as unsafe (safe still genesis).
    let second = Arc::new(FakeEl::with_genesis(&r));
    second
        .blocks
        .lock()
        .unwrap()
        .clone_from(&first.blocks.lock().unwrap());
    let mut d2 = driver(&l1, &second, &r).await;
    let steps = run_to_idle(&mut d2).await;
    assert_eq!(steps.len(), 6);
    assert!(steps.iter().all(|s| matches!(s, Step::Consolidated(_))));
    assert_eq!(*second.inserts.lock().unwrap(), 0);
    assert_eq!(d2.safe_head(), d.safe_head());
}

#[tokio::test]
async fn l1_reorg_rewinds_and_rederives() {
    let (l1, r) = posted();
    let el = Arc::new(FakeEl::with_genesis(&r));
    let mut d = driver(&l1, &el, &r).await;
    run_to_idle(&mut d).await;
    let safe_before = d.safe_head();
    // The batch's L1 block is reorged out; the new branch carries it one block later.
    let data = {
        let (_, batches) = sequence(&l1, &r, 6);
        channel_frames(&span_entry(&r, &batches, false), 2)
    };
    l1.rewind_to(2);
    for _ in 0..3 {
        l1.mine(1);
    }
    l1.set_txs(
        l1.block(3).hash,
        vec![calldata_tx(&batcher_key().0, 0, INBOX, &data)],
    );
    let heads = d.subscribe();
    assert_eq!(d.step().await.unwrap(), Step::Rewound(genesis_ref(&r)));
    assert_eq!(heads.borrow().status.safe_l2, genesis_ref(&r));
    let steps = run_to_idle(&mut d).await;
    assert!(
        steps.iter().all(|s| matches!(s, Step::Consolidated(_))),
        "{steps:?}"
    );
    assert_eq!(d.safe_head(), safe_before);
    assert_eq!(heads.borrow().safe_derived_from, l1.block(3).id());
}

#[tokio::test]
async fn invalid_payload_becomes_deposits_only() {
    let (l1, r) = posted();
    let el = Arc::new(FakeEl::with_genesis(&r));
    let (_, batches) = sequence(&l1, &r, 6);
    *el.poison.lock().unwrap() = Some(batches[2].transactions[0].clone());
    let mut d = driver(&l1, &el, &r).await;
    let steps = run_to_idle(&mut d).await;
    assert!(matches!(steps[0], Step::Inserted(_)));
    assert!(matches!(steps[1], Step::Inserted(_)));
    let Step::ReplacedWithDepositsOnly(b3) = steps[2] else {
        panic!("block 3 should be deposits-only: {steps:?}");
    };
    let block = el.blocks.lock().unwrap()[3].clone();
    assert_eq!(block.hash, b3.hash);
    assert_eq!(block.transactions.len(), 1, "only the L1-info deposit");
    // The rest of the span is gone: epoch 0's expired window (at L1 block 4) fills blocks 4
    // and 5 with empty blocks; epoch 1 has not expired.
    assert_eq!(d.safe_head().number, 5);
    for n in 4..=5 {
        assert_eq!(el.blocks.lock().unwrap()[n].transactions.len(), 1);
    }
}

#[tokio::test]
async fn a_failed_insert_is_retried_with_the_same_attributes() {
    let (l1, r) = posted();
    let el = Arc::new(FakeEl::with_genesis(&r));
    let mut reference = driver(&l1, &Arc::new(FakeEl::with_genesis(&r)), &r).await;
    run_to_idle(&mut reference).await;
    let mut d = driver(&l1, &el, &r).await;
    assert!(matches!(d.step().await.unwrap(), Step::Inserted(_)));
    *el.failing_inserts.lock().unwrap() = 1;
    let err = d.step().await.unwrap_err();
    assert!(err.is_temporary(), "{err}");
    run_to_idle(&mut d).await;
    assert_eq!(d.safe_head(), reference.safe_head());
}

#[tokio::test]
async fn a_restart_continues_from_the_els_safe_head() {
    let (l1, r) = posted();
    let el = Arc::new(FakeEl::with_genesis(&r));
    let mut d = driver(&l1, &el, &r).await;
    run_to_idle(&mut d).await;
    let mut again = driver(&l1, &el, &r).await;
    assert_eq!(again.safe_head(), d.safe_head());
    assert!(run_to_idle(&mut again).await.is_empty());
}

#[tokio::test]
async fn a_restart_walks_back_from_a_safe_head_whose_origin_was_reorged_out() {
    let (l1, r) = posted();
    let el = Arc::new(FakeEl::with_genesis(&r));
    let mut d = driver(&l1, &el, &r).await;
    run_to_idle(&mut d).await;
    assert_eq!(d.safe_head().l1_origin.number, 1);
    // L1 block 1 (block 6's origin) is replaced while the driver is down.
    l1.rewind_to(1);
    for _ in 0..4 {
        l1.mine(2);
    }
    let again = driver(&l1, &el, &r).await;
    assert_eq!(again.safe_head().number, 5);
    assert_eq!(again.safe_head().l1_origin.number, 0);
}

#[tokio::test]
async fn run_publishes_heads_until_stopped() {
    let (l1, r) = posted();
    let el = Arc::new(FakeEl::with_genesis(&r));
    let d = driver(&l1, &el, &r).await;
    let mut heads = d.subscribe();
    let (stop, stopped) = watch::channel(false);
    let task = tokio::spawn(d.run(stopped));
    let safe = tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            heads.changed().await.unwrap();
            let h = *heads.borrow();
            if h.status.safe_l2.number == 6 {
                return h;
            }
        }
    })
    .await
    .unwrap();
    assert_eq!(safe.status.unsafe_l2.number, 6);
    stop.send(true).unwrap();
    assert_eq!(task.await.unwrap(), Ok(()));
}
