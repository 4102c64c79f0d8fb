//! The pipeline over a fake L1: batches posted in calldata and blobs come back as the blocks
//! they were made from; empty blocks fill an expired sequencing window; reorgs stop it.

use super::*;
use crate::derive::test_utils::*;
use alloy::consensus::{SignableTransaction, TxEip1559};
use alloy::eips::eip2718::{Decodable2718, Encodable2718};
use alloy::primitives::{Address, B64, B256, Bytes, TxKind, U256};
use alloy::signers::SignerSync;
use alloy::signers::local::PrivateKeySigner;
use op_alloy_consensus::{OpTxEnvelope, TxDeposit, UserDepositSource};
use opfleet_protocol::batch::{Batch, SpanBatch, SpanBatchContext};
use opfleet_protocol::batcher_data::encode_frames;
use opfleet_protocol::blob::encode_blob;
use opfleet_protocol::compression::{Compression, compress};
use opfleet_protocol::config::{Genesis, HardForkTimes};
use opfleet_protocol::deposit::deposit_log_for_tx;
use opfleet_protocol::frame::{ChannelId, split_channel};
use opfleet_protocol::{ChainId, L1BlockRef};

pub(crate) const INBOX: Address = Address::repeat_byte(0xee);
const PORTAL: Address = Address::repeat_byte(0xd0);
const L2_TIME: u64 = L1_GENESIS_TIME;

pub(crate) fn rollup(l1_genesis: L1BlockRef, seq_window_size: u64) -> RollupConfig {
    let mut scalar = B256::ZERO;
    scalar.0[0] = 1;
    scalar.0[31] = 5;
    let all = Some(0);
    RollupConfig {
        genesis: Genesis {
            l1: l1_genesis.id(),
            l2: BlockId {
                hash: B256::repeat_byte(0x22),
                number: 0,
            },
            l2_time: L2_TIME,
            system_config: SystemConfig {
                batcher_address: batcher_key().1,
                scalar,
                gas_limit: 30_000_000,
                eip1559_params: Some(B64::new([0, 0, 0, 250, 0, 0, 0, 6])),
                ..Default::default()
            },
        },
        block_time: 2,
        max_sequencer_drift_bedrock: 600,
        seq_window_size,
        channel_timeout_bedrock: 300,
        l1_chain_id: ChainId(900),
        l2_chain_id: ChainId(901),
        hardforks: HardForkTimes {
            regolith_time: all,
            canyon_time: all,
            delta_time: all,
            ecotone_time: all,
            fjord_time: all,
            granite_time: all,
            holocene_time: all,
            isthmus_time: all,
            ..Default::default()
        },
        batch_inbox_address: INBOX,
        deposit_contract_address: PORTAL,
        l1_system_config_address: Address::repeat_byte(0x5c),
        ..Default::default()
    }
}

pub(crate) fn genesis_ref(r: &RollupConfig) -> L2BlockRef {
    L2BlockRef {
        hash: r.genesis.l2.hash,
        number: 0,
        parent_hash: B256::ZERO,
        timestamp: L2_TIME,
        l1_origin: r.genesis.l1,
        sequence_number: 0,
    }
}

pub(crate) fn l2_tx(nonce: u64) -> Bytes {
    let tx = TxEip1559 {
        chain_id: 901,
        nonce,
        gas_limit: 21_000,
        max_fee_per_gas: 10,
        max_priority_fee_per_gas: 1,
        to: TxKind::Call(Address::repeat_byte(0x77)),
        value: U256::from(1),
        access_list: Default::default(),
        input: Bytes::from(vec![nonce as u8; 3]),
    };
    let sig = other_key().sign_hash_sync(&tx.signature_hash()).unwrap();
    alloy::consensus::TxEnvelope::Eip1559(tx.into_signed(sig))
        .encoded_2718()
        .into()
}

/// The L2 chain a sequencer would build: blocks 1..=n, origin = the last L1 block not after
/// the L2 time, two user txs each; returns the refs and their batches.
pub(crate) fn sequence(
    l1: &FakeL1,
    r: &RollupConfig,
    n: u64,
) -> (Vec<L2BlockRef>, Vec<SingularBatch>) {
    let mut refs = vec![genesis_ref(r)];
    let mut batches = Vec::new();
    for i in 1..=n {
        let parent = *refs.last().unwrap();
        let ts = L2_TIME + 2 * i;
        let origin = l1.block((ts - L1_GENESIS_TIME) / 12);
        let seq = if origin.number == parent.l1_origin.number {
            parent.sequence_number + 1
        } else {
            0
        };
        batches.push(SingularBatch {
            parent_hash: parent.hash,
            epoch_num: origin.number,
            epoch_hash: origin.hash,
            timestamp: ts,
            transactions: vec![l2_tx(2 * i), l2_tx(2 * i + 1)],
        });
        refs.push(child(&parent, ts, origin.id(), seq, 0));
    }
    (refs, batches)
}

pub(crate) fn channel_frames(entries: &[u8], id: u8) -> Vec<u8> {
    let packed = compress(entries, Compression::Zlib).unwrap();
    encode_frames(&split_channel(ChannelId([id; 16]), &packed, 100_000).unwrap()).unwrap()
}

pub(crate) fn singular_entries(batches: &[SingularBatch]) -> Vec<u8> {
    batches
        .iter()
        .flat_map(|b| Batch::Singular(b.clone()).encode_channel_entry().unwrap())
        .collect()
}

pub(crate) fn span_entry(
    r: &RollupConfig,
    batches: &[SingularBatch],
    first_origin_changed: bool,
) -> Vec<u8> {
    let ctx = SpanBatchContext {
        genesis_timestamp: r.genesis.l2_time,
        block_time: r.block_time,
        chain_id: r.l2_chain_id,
    };
    let span = SpanBatch::from_singular_batches(batches, first_origin_changed).unwrap();
    Batch::Span(span.to_raw(&ctx).unwrap())
        .encode_channel_entry()
        .unwrap()
}

fn deposit(l1_block: B256) -> TxDeposit {
    TxDeposit {
        source_hash: UserDepositSource::new(l1_block, 0).source_hash(),
        from: Address::repeat_byte(8),
        to: TxKind::Call(Address::repeat_byte(9)),
        mint: 5,
        value: U256::from(5),
        gas_limit: 100_000,
        is_system_transaction: false,
        input: Bytes::new(),
    }
}

async fn try_pipeline(l1: &Arc<FakeL1>, r: &RollupConfig) -> Result<Pipeline, PipelineError> {
    Pipeline::new(
        PipelineConfig {
            rollup: Arc::new(r.clone()),
            blob_schedule: L1BlobSchedule::prague_at(0),
        },
        l1.clone(),
        l1.clone(),
        genesis_ref(r),
        r.genesis.system_config,
    )
    .await
}

async fn pipeline(l1: &Arc<FakeL1>, r: &RollupConfig) -> Pipeline {
    try_pipeline(l1, r).await.unwrap()
}

/// Derives until the pipeline runs out of L1, executing each block as [`child`] would.
async fn derive_all(p: &mut Pipeline, start: L2BlockRef) -> Vec<(L2BlockRef, DerivedAttributes)> {
    derive_over(p, start, &FakeL2::default()).await
}

/// [`derive_all`] with `l2` as the L2 chain the pipeline reads (each derived block is added).
async fn derive_over(
    p: &mut Pipeline,
    start: L2BlockRef,
    l2: &FakeL2,
) -> Vec<(L2BlockRef, DerivedAttributes)> {
    let mut parent = start;
    let mut out = Vec::new();
    while let Some(d) = p.next(&parent, l2).await.unwrap() {
        assert_eq!(d.parent, parent);
        let block = child(
            &parent,
            d.attributes.payload_attributes.timestamp,
            d.l1_origin,
            d.sequence_number,
            0,
        );
        l2.refs.lock().unwrap().insert(block.number, block);
        out.push((block, d));
        parent = block;
    }
    out
}

pub(crate) fn user_txs(d: &DerivedAttributes) -> Vec<Bytes> {
    d.attributes
        .transactions
        .clone()
        .unwrap()
        .into_iter()
        .filter(|t| t.first() != Some(&0x7e))
        .collect()
}

fn deposits(d: &DerivedAttributes) -> Vec<TxDeposit> {
    d.attributes
        .transactions
        .clone()
        .unwrap()
        .into_iter()
        .filter_map(|t| match OpTxEnvelope::decode_2718(&mut &t[..]).unwrap() {
            OpTxEnvelope::Deposit(d) => Some(d.into_inner()),
            _ => None,
        })
        .collect()
}

/// An L1 of 5 blocks whose block 1 holds a user deposit (with a window of 4, epoch 1 does not
/// expire within it).
pub(crate) fn l1_with_deposit() -> (Arc<FakeL1>, TxDeposit) {
    let l1 = Arc::new(FakeL1::with_chain(5));
    let b1 = l1.block(1).hash;
    let dep = deposit(b1);
    l1.push_receipt(b1, receipt(vec![deposit_log_for_tx(PORTAL, &dep)]));
    (l1, dep)
}

/// The six L2 blocks a sequencer built over [`l1_with_deposit`]: the world most tests post.
struct Sequenced {
    l1: Arc<FakeL1>,
    dep: TxDeposit,
    r: RollupConfig,
    refs: Vec<L2BlockRef>,
    batches: Vec<SingularBatch>,
}

impl Sequenced {
    /// Under a sequencing window of `window` L1 blocks.
    fn new(window: u64) -> Self {
        let (l1, dep) = l1_with_deposit();
        let r = rollup(l1.block(0), window);
        let (refs, batches) = sequence(&l1, &r, 6);
        Self {
            l1,
            dep,
            r,
            refs,
            batches,
        }
    }

    /// Posts the batches as one channel of singular batches in a calldata transaction of
    /// `sender` (nonce 0) in L1 block `at`.
    fn post_singular(&self, at: u64, sender: &PrivateKeySigner) {
        let data = channel_frames(&singular_entries(&self.batches), 1);
        self.l1.set_txs(
            self.l1.block(at).hash,
            vec![calldata_tx(sender, 0, INBOX, &data)],
        );
    }

    /// Checks that `got` is the sequenced chain, every block derived from L1 block
    /// `derived_from`.
    fn check_derived(&self, got: &[(L2BlockRef, DerivedAttributes)], derived_from: u64) {
        assert_eq!(got.len(), self.batches.len());
        for (i, (block, d)) in got.iter().enumerate() {
            assert_eq!(*block, self.refs[i + 1], "block {}", i + 1);
            assert_eq!(user_txs(d), self.batches[i].transactions);
            assert_eq!(d.derived_from.number, derived_from);
            let deps = deposits(d);
            // L1-info first; the user deposit of L1 block 1 opens epoch 1 (block 6).
            if block.number == 6 {
                assert_eq!(deps.len(), 2);
                assert_eq!(deps[1], self.dep);
            } else {
                assert_eq!(deps.len(), 1);
            }
            let info = opfleet_protocol::l1_info::L1BlockInfo::from_deposit_tx(&deps[0]).unwrap();
            assert_eq!(info.l1_origin(), block.l1_origin);
            assert_eq!(info.sequence_number, block.sequence_number);
            assert_eq!(d.attributes.gas_limit, Some(30_000_000));
        }
    }
}

#[tokio::test]
async fn calldata_singular_batches_derive_the_blocks() {
    let s = Sequenced::new(4);
    s.post_singular(2, &batcher_key().0);
    let mut p = pipeline(&s.l1, &s.r).await;
    let got = derive_all(&mut p, s.refs[0]).await;
    s.check_derived(&got, 2);
    assert_eq!(p.origin().number, 4);
    assert_eq!(got.iter().filter(|(_, d)| !d.last_in_span).count(), 0);
}

#[tokio::test]
async fn blob_span_batch_derives_the_blocks() {
    let s = Sequenced::new(4);
    let data = channel_frames(&span_entry(&s.r, &s.batches, false), 2);
    let blob = encode_blob(&data).unwrap();
    let b2 = s.l1.block(2);
    let tx = blob_tx(&batcher_key().0, 0, INBOX, &[blob], &s.l1, b2);
    s.l1.set_txs(b2.hash, vec![tx]);
    let mut p = pipeline(&s.l1, &s.r).await;
    let got = derive_all(&mut p, s.refs[0]).await;
    s.check_derived(&got, 2);
    let last_in_span: Vec<bool> = got.iter().map(|(_, d)| d.last_in_span).collect();
    assert_eq!(last_in_span, vec![false, false, false, false, false, true]);
}

#[tokio::test]
async fn frames_from_another_sender_are_ignored() {
    let s = Sequenced::new(40);
    s.post_singular(2, &other_key());
    let mut p = pipeline(&s.l1, &s.r).await;
    assert!(derive_all(&mut p, s.refs[0]).await.is_empty());
}

#[tokio::test]
async fn expired_window_fills_epochs_with_empty_blocks() {
    let l1 = Arc::new(FakeL1::with_chain(8));
    let r = rollup(l1.block(0), 4);
    let mut p = pipeline(&l1, &r).await;
    let got = derive_all(&mut p, genesis_ref(&r)).await;
    assert!(!got.is_empty());
    for (i, (block, d)) in got.iter().enumerate() {
        assert_eq!(block.timestamp, L2_TIME + 2 * (i as u64 + 1));
        assert!(user_txs(d).is_empty());
        // Epoch e expires when the cursor reaches e + 4.
        assert!(d.derived_from.number >= block.l1_origin.number + 4);
        // L2 time never runs ahead of the next L1 block: the origin is the latest it may be.
        let origin = l1.block(block.l1_origin.number);
        assert!(block.timestamp >= origin.timestamp);
        assert!(block.timestamp < origin.timestamp + 12);
    }
    // Epochs 0..=3 are expired at L1 block 7: 6 blocks each, but genesis is epoch 0's first.
    assert_eq!(got.len(), 5 + 3 * 6);
}

#[tokio::test]
async fn invalid_batch_flushes_its_channel_and_window_expiry_recovers() {
    let mut s = Sequenced::new(4);
    // Block 3's batch names a wrong epoch hash: dropped, and blocks 4.. of the channel with it.
    s.batches[2].epoch_hash = B256::repeat_byte(0x99);
    s.post_singular(2, &batcher_key().0);
    let mut p = pipeline(&s.l1, &s.r).await;
    let got = derive_all(&mut p, s.refs[0]).await;
    assert_eq!(got[0].0, s.refs[1]);
    assert_eq!(got[1].0, s.refs[2]);
    // Block 3 comes from the expired window of epoch 0 (at L1 block 4), empty.
    assert!(user_txs(&got[2].1).is_empty());
    assert_eq!(got[2].1.derived_from.number, 4);
    assert_eq!(p.batch_stats().dropped, 1);
}

#[tokio::test]
async fn reorg_under_the_cursor_needs_a_reset() {
    let s = Sequenced::new(4);
    s.post_singular(2, &batcher_key().0);
    let mut p = pipeline(&s.l1, &s.r).await;
    let got = derive_all(&mut p, s.refs[0]).await;
    s.check_derived(&got, 2);
    // Replace L1 blocks 3.. under the cursor (at 4).
    s.l1.rewind_to(3);
    for _ in 0..3 {
        s.l1.mine(1);
    }
    let err = p.next(&s.refs[6], &FakeL2::default()).await.unwrap_err();
    assert!(err.needs_reset(), "{err}");
    // The safe head's origin (block 1) is still canonical: reset and go on.
    p.reset(s.refs[6], s.r.genesis.system_config).await.unwrap();
    assert_eq!(p.origin().number, 0);
    // The old batches are past; on the new branch epoch 1's window expires at block 5.
    let d = p
        .next(&s.refs[6], &FakeL2::default())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(d.parent, s.refs[6]);
    assert!(user_txs(&d).is_empty());
    assert_eq!(d.derived_from, s.l1.block(5));
    // A safe head whose origin was reorged out cannot anchor a reset.
    let stale = L2BlockRef {
        l1_origin: BlockId {
            hash: B256::repeat_byte(1),
            number: 5,
        },
        ..s.refs[6]
    };
    assert!(matches!(
        p.reset(stale, s.r.genesis.system_config).await,
        Err(PipelineError::AnchorNotCanonical(_))
    ));
}

#[tokio::test]
async fn span_overlapping_the_safe_chain_reads_the_parent_from_l2() {
    let s = Sequenced::new(4);
    // Blocks 1..=3 posted first; then a span of 2..=6 (re-posted after a timeout, say).
    let first = channel_frames(&singular_entries(&s.batches[..3]), 1);
    let span = channel_frames(&span_entry(&s.r, &s.batches[1..], false), 2);
    s.l1.set_txs(
        s.l1.block(2).hash,
        vec![
            calldata_tx(&batcher_key().0, 0, INBOX, &first),
            calldata_tx(&batcher_key().0, 1, INBOX, &span),
        ],
    );
    let mut p = pipeline(&s.l1, &s.r).await;
    // Start from block 3 as the safe head (a restart), with the L2 chain known to the source.
    p.reset(s.refs[3], s.r.genesis.system_config).await.unwrap();
    let l2 = FakeL2::default();
    for b in &s.refs {
        l2.refs.lock().unwrap().insert(b.number, *b);
    }
    let got = derive_over(&mut p, s.refs[3], &l2).await;
    assert_eq!(
        got.iter().map(|(b, _)| *b).collect::<Vec<_>>(),
        s.refs[4..].to_vec()
    );
    assert_eq!(deposits(&got[2].1)[1], s.dep);
}

#[tokio::test]
async fn a_temporary_l1_error_never_loses_a_batch() {
    let s = Sequenced::new(4);
    s.post_singular(2, &batcher_key().0);
    let mut p = pipeline(&s.l1, &s.r).await;
    *s.l1.failing_header_reads.lock().unwrap() = 2;
    for _ in 0..2 {
        let err = p.next(&s.refs[0], &FakeL2::default()).await.unwrap_err();
        assert!(err.is_temporary() && !err.needs_reset(), "{err}");
    }
    let got = derive_all(&mut p, s.refs[0]).await;
    s.check_derived(&got, 2);
}

#[tokio::test]
async fn pre_holocene_anchors_are_refused() {
    let l1 = Arc::new(FakeL1::with_chain(2));
    let mut r = rollup(l1.block(0), 4);
    r.hardforks.holocene_time = Some(L2_TIME + 100);
    r.hardforks.isthmus_time = Some(L2_TIME + 100);
    let err = try_pipeline(&l1, &r).await.unwrap_err();
    assert_eq!(err, PipelineError::PreHolocene { timestamp: L2_TIME });
}

/// A `ConfigUpdate` log of the test rollup's SystemConfig with a one-word payload.
fn config_update(r: &RollupConfig, kind: u8, word: B256) -> alloy::primitives::Log {
    let mut data = B256::with_last_byte(32).to_vec();
    data.extend_from_slice(B256::with_last_byte(32).as_slice());
    data.extend_from_slice(word.as_slice());
    alloy::primitives::Log {
        address: r.l1_system_config_address,
        data: alloy::primitives::LogData::new_unchecked(
            vec![
                crate::derive::system_config::CONFIG_UPDATE_TOPIC,
                B256::ZERO,
                B256::with_last_byte(kind),
            ],
            Bytes::from(data),
        ),
    }
}

#[tokio::test]
async fn system_config_updates_move_the_batcher_and_the_gas_limit() {
    let s = Sequenced::new(4);
    let new_batcher = other_key().address();
    let b1 = s.l1.block(1).hash;
    s.l1.push_receipt(
        b1,
        receipt(vec![
            config_update(&s.r, 0, new_batcher.into_word()),
            config_update(
                &s.r,
                2,
                B256::left_padding_from(&40_000_000u64.to_be_bytes()),
            ),
        ]),
    );
    // The old batcher's frames after the change are not read; the new batcher's are.
    s.post_singular(2, &batcher_key().0);
    s.post_singular(3, &other_key());
    let mut p = pipeline(&s.l1, &s.r).await;
    let got = derive_all(&mut p, s.refs[0]).await;
    assert_eq!(got.len(), 6);
    for (i, (block, d)) in got.iter().enumerate() {
        assert_eq!(*block, s.refs[i + 1]);
        assert_eq!(d.derived_from.number, 3);
        // The L2 system config changes with the epoch of the update's L1 block (block 6).
        let want = if block.number < 6 {
            30_000_000
        } else {
            40_000_000
        };
        assert_eq!(d.attributes.gas_limit, Some(want), "block {}", block.number);
        let info =
            opfleet_protocol::l1_info::L1BlockInfo::from_deposit_tx(&deposits(d)[0]).unwrap();
        let batcher = if block.number < 6 {
            batcher_key().1
        } else {
            new_batcher
        };
        assert_eq!(info.batcher, batcher);
    }
}

proptest::proptest! {
    // Each case signs transactions and compresses channels: few cases keep the debug build quick.
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(48))]
    /// Any split of the chain into channels of singular or span batches, cut into frames of any
    /// size and packed several per transaction, derives back exactly the chain.
    #[test]
    fn any_batching_derives_the_chain(
        n in 1u64..14,
        cuts in proptest::collection::vec((1u64..6, proptest::prelude::any::<bool>()), 1..6),
        frame_size in 40usize..600,
        frames_per_tx in 1usize..4,
    ) {
        let l1 = Arc::new(FakeL1::with_chain(8));
        let r = rollup(l1.block(0), 10);
        let (refs, batches) = sequence(&l1, &r, n);
        let mut txs = Vec::new();
        let mut start = 0usize;
        let mut nonce = 0;
        for (k, (len, span)) in cuts.iter().cycle().enumerate() {
            if start >= batches.len() {
                break;
            }
            let end = (start + *len as usize).min(batches.len());
            let chunk = &batches[start..end];
            let entries = if *span {
                let first_origin_changed = refs[start + 1].sequence_number == 0;
                span_entry(&r, chunk, first_origin_changed)
            } else {
                singular_entries(chunk)
            };
            let packed = compress(&entries, Compression::Zlib).unwrap();
            let frames = split_channel(ChannelId([k as u8; 16]), &packed, frame_size).unwrap();
            for group in frames.chunks(frames_per_tx) {
                let data = encode_frames(group).unwrap();
                txs.push(calldata_tx(&batcher_key().0, nonce, INBOX, &data));
                nonce += 1;
            }
            start = end;
        }
        l1.set_txs(l1.block(3).hash, txs);
        let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
        let got = rt.block_on(async {
            let mut p = pipeline(&l1, &r).await;
            derive_all(&mut p, refs[0]).await
        });
        let blocks: Vec<L2BlockRef> = got.iter().map(|(b, _)| *b).collect();
        proptest::prop_assert_eq!(blocks, refs[1..].to_vec());
        for (i, (_, d)) in got.iter().enumerate() {
            proptest::prop_assert_eq!(user_txs(d), batches[i].transactions.clone());
        }
    }
}
