//! Vector tests and property tests of whole batches.

use std::path::{Path, PathBuf};

use alloy::eips::eip2930::{AccessList, AccessListItem};
use alloy::eips::eip7702::{Authorization, SignedAuthorization};
use alloy::primitives::{Address, B256, Bytes, FixedBytes, Signature, U256};
use proptest::prelude::*;

use super::*;
use crate::{ChainId, L1BlockRef};

/// Default max RLP bytes per channel from Fjord on.
const MAX_RLP_BYTES_PER_CHANNEL: usize = 100_000_000;

fn vectors() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/vectors/batches")
}

fn ctx(chain_id: u64) -> SpanBatchContext {
    SpanBatchContext {
        genesis_timestamp: 0,
        block_time: 2,
        chain_id: ChainId(chain_id),
    }
}

/// Checks the derived span agrees with its wire form in every derivable way.
fn assert_consistent(raw: &RawSpanBatch, span: &SpanBatch, c: &SpanBatchContext) {
    assert_eq!(span.blocks.len(), raw.block_count());
    assert_eq!(raw.block_tx_counts.len(), raw.block_count());
    assert_eq!(
        raw.block_tx_counts.iter().sum::<u64>(),
        raw.tx_count() as u64
    );
    assert_eq!(span.tx_count(), raw.tx_count());
    assert_eq!(
        span.start_timestamp(),
        Some(c.genesis_timestamp + raw.rel_timestamp)
    );
    assert_eq!(span.end_epoch_num(), Some(raw.l1_origin_num));
    let changes = raw.origin_bits.iter().filter(|b| **b).count() as u64;
    let bit0 = u64::from(raw.origin_bits[0]);
    assert_eq!(
        span.start_epoch_num(),
        Some(raw.l1_origin_num - changes + bit0)
    );
    for (i, w) in span.blocks.windows(2).enumerate() {
        assert_eq!(
            w[1].timestamp,
            w[0].timestamp + c.block_time,
            "block {}",
            i + 1
        );
        assert_eq!(
            w[1].epoch_num - w[0].epoch_num,
            u64::from(raw.origin_bits[i + 1])
        );
    }
    for (b, n) in span.blocks.iter().zip(&raw.block_tx_counts) {
        assert_eq!(b.transactions.len() as u64, *n);
    }
}

#[test]
fn raw_span_batch_vector_round_trips_byte_for_byte() {
    let data = std::fs::read(vectors().join("raw_span_batch.bin")).unwrap();
    assert_eq!(data.len(), 23_886);
    let raw = RawSpanBatch::decode(&data).unwrap();
    let mut out = Vec::new();
    raw.encode(&mut out).unwrap();
    assert_eq!(out, data);

    // Through the derived form and back.
    let c = ctx(10);
    let span = raw.to_span_batch(&c).unwrap();
    assert_consistent(&raw, &span, &c);
    assert_eq!(span.to_raw(&c).unwrap(), raw);

    // With the type byte, through `Batch`.
    let typed = [&[SPAN_BATCH_TYPE][..], &data].concat();
    let batch = Batch::decode(&typed).unwrap();
    assert_eq!(batch.encode().unwrap(), typed);
}

#[test]
fn zlib_channel_vector_reads_one_consistent_span_batch() {
    let hex_text = std::fs::read_to_string(vectors().join("zlib_channel_span_batch.hex")).unwrap();
    let compressed = alloy::primitives::hex::decode(hex_text.trim()).unwrap();
    let decompressed = crate::compression::decompress(
        &compressed,
        crate::config::params::MAX_RLP_BYTES_PER_CHANNEL_FJORD,
        true,
    )
    .unwrap();
    assert_eq!(decompressed.end, crate::compression::StreamEnd::Complete);
    let channel = decompressed.data;
    // One RLP string header (4 bytes) around the 1,409,459-byte batch.
    let inner = BatchReader::new(&channel, MAX_RLP_BYTES_PER_CHANNEL)
        .next_raw()
        .unwrap()
        .unwrap();
    assert_eq!(inner.len(), 1_409_459);
    assert_eq!(channel.len(), 4 + inner.len());

    let batches: Vec<Batch> = BatchReader::new(&channel, MAX_RLP_BYTES_PER_CHANNEL)
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(batches.len(), 1);
    let Batch::Span(raw) = &batches[0] else {
        panic!("expected a span batch, got {:?}", batches[0].batch_type());
    };
    assert!(raw.block_count() > 1);
    assert!(raw.tx_count() > 0);

    let c = ctx(10);
    let span = raw.to_span_batch(&c).unwrap();
    assert_consistent(raw, &span, &c);
    assert_eq!(&span.to_raw(&c).unwrap(), raw);

    // Re-encoding the channel entry reproduces the decompressed bytes exactly.
    assert_eq!(batches[0].encode_channel_entry().unwrap(), channel);

    // Every transaction rebuilt from the span decodes as a signed transaction.
    for block in &span.blocks {
        for tx in &block.transactions {
            use alloy::eips::eip2718::Decodable2718;
            alloy::consensus::TxEnvelope::decode_2718_exact(tx).unwrap();
        }
    }

    // Singular batches of the blocks after a safe head halfway through the span.
    let mid = &span.blocks[span.blocks.len() / 2];
    let origins: Vec<L1BlockRef> = (span.start_epoch_num().unwrap()
        ..=span.end_epoch_num().unwrap())
        .map(|n| L1BlockRef {
            number: n,
            hash: B256::with_last_byte(n as u8),
            ..Default::default()
        })
        .collect();
    let singles = span.to_singular_batches(&origins, mid.timestamp).unwrap();
    assert_eq!(singles.len(), span.blocks.len() - span.blocks.len() / 2 - 1);
    assert_eq!(singles[0].timestamp, mid.timestamp + 2);
    let last = singles.last().unwrap();
    assert_eq!(last.epoch_num, raw.l1_origin_num);
    assert_eq!(
        last.epoch_hash,
        B256::with_last_byte(raw.l1_origin_num as u8)
    );
    assert_eq!(
        &last.transactions,
        &span.blocks.last().unwrap().transactions
    );
}

#[test]
fn channel_limit_below_the_batch_is_an_error() {
    let data = std::fs::read(vectors().join("raw_span_batch.bin")).unwrap();
    let entry = Batch::Span(RawSpanBatch::decode(&data).unwrap())
        .encode_channel_entry()
        .unwrap();
    let mut r = BatchReader::new(&entry, entry.len() - 1);
    assert!(matches!(
        r.next(),
        Some(Err(BatchReaderError::Rlp {
            index: 0,
            offset: 0,
            ..
        }))
    ));
    assert!(
        BatchReader::new(&entry, entry.len())
            .next()
            .unwrap()
            .is_ok()
    );
}

#[test]
fn span_decode_limits_are_errors() {
    let mut prefix = vec![0u8, 0];
    prefix.extend_from_slice(&[0u8; 40]);
    // block_count 0
    let zero = [prefix.clone(), vec![0]].concat();
    assert_eq!(
        RawSpanBatch::decode(&zero),
        Err(BatchDecodeError::EmptySpanBatch { offset: 42 })
    );
    // block_count above the limit, with no data behind it
    let mut big = prefix.clone();
    cursor::write_uvarint(&mut big, MAX_SPAN_BATCH_ELEMENT_COUNT + 1);
    assert!(matches!(
        RawSpanBatch::decode(&big),
        Err(BatchDecodeError::TooManyElements {
            field: "block_count",
            ..
        })
    ));
    // block_count at the limit but no origin bits: an end-of-input error, not an allocation
    let mut max = prefix.clone();
    cursor::write_uvarint(&mut max, MAX_SPAN_BATCH_ELEMENT_COUNT);
    assert!(matches!(
        RawSpanBatch::decode(&max),
        Err(BatchDecodeError::UnexpectedEnd {
            field: "origin_bits",
            ..
        })
    ));
    // one block whose tx count passes the limit
    let mut many = prefix.clone();
    many.extend_from_slice(&[1, 0]);
    cursor::write_uvarint(&mut many, MAX_SPAN_BATCH_ELEMENT_COUNT + 1);
    assert!(matches!(
        RawSpanBatch::decode(&many),
        Err(BatchDecodeError::TooManyElements {
            field: "block_tx_counts",
            ..
        })
    ));
    // two blocks whose tx counts together pass the limit
    let mut sum = prefix.clone();
    sum.extend_from_slice(&[2, 0]);
    cursor::write_uvarint(&mut sum, MAX_SPAN_BATCH_ELEMENT_COUNT);
    cursor::write_uvarint(&mut sum, 1);
    assert!(matches!(
        RawSpanBatch::decode(&sum),
        Err(BatchDecodeError::TooManyElements {
            field: "total tx count",
            ..
        })
    ));
    // ten million txs declared, signatures missing
    let mut sigs = prefix;
    sigs.extend_from_slice(&[1, 0]);
    cursor::write_uvarint(&mut sigs, MAX_SPAN_BATCH_ELEMENT_COUNT);
    sigs.extend(std::iter::repeat_n(0u8, 2 * 1_250_000));
    assert!(matches!(
        RawSpanBatch::decode(&sigs),
        Err(BatchDecodeError::UnexpectedEnd {
            field: "tx_sigs",
            ..
        })
    ));
}

#[test]
fn unsupported_tx_types_are_rejected() {
    let base = sample_raw(vec![legacy_tx(true)]);
    let mut out = Vec::new();
    base.encode(&mut out).unwrap();
    // Find the legacy tx data (an RLP list) and turn it into a type-3 and a deposit entry.
    let at = out.len() - legacy_tail_len(&base);
    for ty in [0x00u8, 0x03, 0x7e] {
        let mut bad = out[..at].to_vec();
        bad.push(ty);
        bad.extend_from_slice(&out[at..]);
        assert!(
            matches!(
                RawSpanBatch::decode(&bad),
                Err(BatchDecodeError::UnsupportedTxType { index: 0, ty: t, .. }) if t == ty
            ),
            "type {ty:#x}"
        );
    }
}

/// Bytes from the start of tx_datas to the end, for a batch of legacy txs.
fn legacy_tail_len(raw: &RawSpanBatch) -> usize {
    // txs = creation bits ++ parity bits ++ sigs ++ tos ++ (datas ++ nonces ++ gases ++ protected)
    let mut all = Vec::new();
    span_txs::encode_txs(&raw.txs, &mut all);
    let fixed = 2 * bits::bitlist_len(raw.txs.len())
        + 64 * raw.txs.len()
        + 20 * raw.txs.iter().filter(|t| t.to.is_some()).count();
    all.len() - fixed
}

fn legacy_tx(protected: bool) -> SpanTx {
    SpanTx {
        to: Some(Address::repeat_byte(0x11)),
        signature: Signature::new(U256::from(5), U256::from(6), true),
        nonce: 1,
        gas_limit: 21_000,
        data: SpanTxData::Legacy {
            protected,
            value: U256::from(1),
            gas_price: U256::from(2),
            data: Bytes::new(),
        },
    }
}

fn sample_raw(txs: Vec<SpanTx>) -> RawSpanBatch {
    RawSpanBatch {
        rel_timestamp: 100,
        l1_origin_num: 50,
        parent_check: FixedBytes::repeat_byte(1),
        l1_origin_check: FixedBytes::repeat_byte(2),
        origin_bits: vec![true],
        block_tx_counts: vec![txs.len() as u64],
        txs,
    }
}

#[test]
fn legacy_v_follows_eip155() {
    let c = ctx(10);
    let raw = sample_raw(vec![legacy_tx(true), legacy_tx(false)]);
    let span = raw.to_span_batch(&c).unwrap();
    use alloy::eips::eip2718::Decodable2718;
    let protected =
        alloy::consensus::TxEnvelope::decode_2718_exact(&span.blocks[0].transactions[0]).unwrap();
    let alloy::consensus::TxEnvelope::Legacy(p) = protected else {
        panic!("not legacy")
    };
    assert_eq!(p.tx().chain_id, Some(10));
    let plain =
        alloy::consensus::TxEnvelope::decode_2718_exact(&span.blocks[0].transactions[1]).unwrap();
    let alloy::consensus::TxEnvelope::Legacy(u) = plain else {
        panic!("not legacy")
    };
    assert_eq!(u.tx().chain_id, None);
    // v = 2 * 10 + 35 + 1 = 56 for the protected one, 28 for the other: the RLP ends in v, r, s.
    let tail_protected = &span.blocks[0].transactions[0][..];
    assert!(tail_protected.windows(3).any(|w| w == [56, 0x05, 0x06]));
    let tail_plain = &span.blocks[0].transactions[1][..];
    assert!(tail_plain.windows(3).any(|w| w == [28, 0x05, 0x06]));
    assert_eq!(span.to_raw(&c).unwrap(), raw);
}

#[test]
fn foreign_chain_tx_is_rejected_by_to_raw() {
    let raw = sample_raw(vec![legacy_tx(true)]);
    let span = raw.to_span_batch(&ctx(10)).unwrap();
    assert!(matches!(
        span.to_raw(&ctx(11)),
        Err(SpanBatchError::ChainIdMismatch {
            found: 10,
            expected: 11,
            ..
        })
    ));
}

#[test]
fn encode_rejects_inconsistent_counts() {
    let mut raw = sample_raw(vec![legacy_tx(true)]);
    raw.block_tx_counts = vec![2];
    assert_eq!(
        raw.encode(&mut Vec::new()),
        Err(SpanBatchError::TxCountMismatch {
            declared: 2,
            actual: 1
        })
    );
    raw.origin_bits = vec![];
    raw.block_tx_counts = vec![];
    assert_eq!(raw.encode(&mut Vec::new()), Err(SpanBatchError::Empty));
}

#[test]
fn epoch_underflow_is_an_error() {
    let mut raw = sample_raw(vec![]);
    raw.origin_bits = vec![false, true, true];
    raw.block_tx_counts = vec![0, 0, 0];
    raw.l1_origin_num = 1;
    assert!(matches!(
        raw.to_span_batch(&ctx(10)),
        Err(SpanBatchError::EpochUnderflow {
            l1_origin_num: 1,
            changes: 2
        })
    ));
}

fn arb_u256() -> impl Strategy<Value = U256> {
    prop_oneof![
        any::<u64>().prop_map(U256::from),
        any::<[u8; 32]>().prop_map(U256::from_be_bytes),
    ]
}

fn arb_fee() -> impl Strategy<Value = U256> {
    any::<u128>().prop_map(U256::from)
}

fn arb_bytes() -> impl Strategy<Value = Bytes> {
    proptest::collection::vec(any::<u8>(), 0..70).prop_map(Bytes::from)
}

fn arb_access_list() -> impl Strategy<Value = AccessList> {
    proptest::collection::vec(
        (
            any::<[u8; 20]>(),
            proptest::collection::vec(any::<[u8; 32]>(), 0..3),
        )
            .prop_map(|(a, keys)| AccessListItem {
                address: Address::from(a),
                storage_keys: keys.into_iter().map(B256::from).collect(),
            }),
        0..3,
    )
    .prop_map(AccessList)
}

fn arb_auth() -> impl Strategy<Value = SignedAuthorization> {
    (
        arb_u256(),
        any::<[u8; 20]>(),
        any::<u64>(),
        0u8..2,
        arb_u256(),
        arb_u256(),
    )
        .prop_map(|(chain_id, a, nonce, y, r, s)| {
            SignedAuthorization::new_unchecked(
                Authorization {
                    chain_id,
                    address: Address::from(a),
                    nonce,
                },
                y,
                r,
                s,
            )
        })
}

fn arb_data() -> impl Strategy<Value = SpanTxData> {
    prop_oneof![
        (any::<bool>(), arb_u256(), arb_fee(), arb_bytes()).prop_map(|(p, v, g, d)| {
            SpanTxData::Legacy {
                protected: p,
                value: v,
                gas_price: g,
                data: d,
            }
        }),
        (arb_u256(), arb_fee(), arb_bytes(), arb_access_list()).prop_map(|(v, g, d, a)| {
            SpanTxData::Eip2930 {
                value: v,
                gas_price: g,
                data: d,
                access_list: a,
            }
        }),
        (
            arb_u256(),
            arb_fee(),
            arb_fee(),
            arb_bytes(),
            arb_access_list()
        )
            .prop_map(|(v, tip, cap, d, a)| SpanTxData::Eip1559 {
                value: v,
                max_priority_fee_per_gas: tip,
                max_fee_per_gas: cap,
                data: d,
                access_list: a,
            }),
        (
            arb_u256(),
            arb_fee(),
            arb_fee(),
            arb_bytes(),
            arb_access_list(),
            proptest::collection::vec(arb_auth(), 0..3)
        )
            .prop_map(|(v, tip, cap, d, a, auth)| SpanTxData::Eip7702 {
                value: v,
                max_priority_fee_per_gas: tip,
                max_fee_per_gas: cap,
                data: d,
                access_list: a,
                authorization_list: auth,
            }),
    ]
}

fn arb_tx() -> impl Strategy<Value = SpanTx> {
    (
        proptest::option::of(any::<[u8; 20]>()),
        arb_u256(),
        arb_u256(),
        any::<bool>(),
        any::<u64>(),
        any::<u64>(),
        arb_data(),
    )
        .prop_map(|(to, r, s, y, nonce, gas_limit, data)| {
            let to = match (&data, to) {
                // A set-code transaction always has a recipient.
                (SpanTxData::Eip7702 { .. }, None) => Some(Address::repeat_byte(0x77)),
                (_, to) => to.map(Address::from),
            };
            SpanTx {
                to,
                signature: Signature::new(r, s, y),
                nonce,
                gas_limit,
                data,
            }
        })
}

fn arb_raw_span() -> impl Strategy<Value = RawSpanBatch> {
    (
        proptest::collection::vec((any::<bool>(), 0u64..4), 1..6),
        any::<u32>(),
        any::<u32>(),
        any::<[u8; 20]>(),
        any::<[u8; 20]>(),
    )
        .prop_flat_map(|(blocks, rel, origin, pc, oc)| {
            let total: u64 = blocks.iter().map(|b| b.1).sum();
            proptest::collection::vec(arb_tx(), total as usize).prop_map(move |txs| {
                RawSpanBatch {
                    rel_timestamp: u64::from(rel),
                    // Enough room below for every origin change.
                    l1_origin_num: u64::from(origin) + 10,
                    parent_check: FixedBytes(pc),
                    l1_origin_check: FixedBytes(oc),
                    origin_bits: blocks.iter().map(|b| b.0).collect(),
                    block_tx_counts: blocks.iter().map(|b| b.1).collect(),
                    txs,
                }
            })
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn raw_span_batch_round_trips(raw in arb_raw_span()) {
        let mut out = Vec::new();
        raw.encode(&mut out).unwrap();
        prop_assert_eq!(&RawSpanBatch::decode(&out).unwrap(), &raw);
        let c = ctx(901);
        let span = raw.to_span_batch(&c).unwrap();
        prop_assert_eq!(span.tx_count(), raw.tx_count());
        prop_assert_eq!(span.to_raw(&c).unwrap(), raw);
    }

    #[test]
    fn channel_of_mixed_batches_round_trips(
        raw in arb_raw_span(),
        single in singular::tests::arb_singular(),
    ) {
        let batches = vec![Batch::Singular(single), Batch::Span(raw)];
        let channel: Vec<u8> = batches
            .iter()
            .flat_map(|b| b.encode_channel_entry().unwrap())
            .collect();
        let read: Vec<Batch> = BatchReader::new(&channel, MAX_RLP_BYTES_PER_CHANNEL)
            .collect::<Result<_, _>>()
            .unwrap();
        prop_assert_eq!(read, batches);
    }

    #[test]
    fn batch_decode_never_panics(data in proptest::collection::vec(any::<u8>(), 0..300)) {
        let _ = Batch::decode(&data);
        let _ = RawSpanBatch::decode(&data);
    }

    #[test]
    fn mutated_span_batches_never_panic(
        raw in arb_raw_span(),
        cut in any::<prop::sample::Index>(),
        flips in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..4),
    ) {
        let mut out = Vec::new();
        raw.encode(&mut out).unwrap();
        let mut bad = out.clone();
        for (at, x) in flips {
            let i = at.index(bad.len());
            bad[i] ^= x;
        }
        if let Ok(decoded) = RawSpanBatch::decode(&bad) {
            let _ = decoded.to_span_batch(&ctx(1));
        }
        let truncated = &out[..cut.index(out.len())];
        prop_assert!(RawSpanBatch::decode(truncated).is_err());
    }
}

#[test]
fn singular_batches_make_a_span_and_come_back() {
    let data = std::fs::read(vectors().join("raw_span_batch.bin")).unwrap();
    let c = SpanBatchContext {
        genesis_timestamp: 1_000,
        ..ctx(10)
    };
    let span = RawSpanBatch::decode(&data)
        .unwrap()
        .to_span_batch(&c)
        .unwrap();
    let origins: Vec<L1BlockRef> = (span.start_epoch_num().unwrap()
        ..=span.end_epoch_num().unwrap())
        .map(|n| {
            let mut hash = B256::repeat_byte(0x42);
            hash[..20].copy_from_slice(span.l1_origin_check.as_slice());
            hash[31] = n as u8;
            L1BlockRef {
                number: n,
                hash,
                ..Default::default()
            }
        })
        .collect();
    let mut singles = span.to_singular_batches(&origins, 0).unwrap();
    assert_eq!(singles.len(), span.blocks.len());
    let mut parent = B256::repeat_byte(0x42);
    parent[..20].copy_from_slice(span.parent_check.as_slice());
    singles[0].parent_hash = parent;
    let rebuilt = SpanBatch::from_singular_batches(&singles, span.first_origin_changed).unwrap();
    assert_eq!(rebuilt, span);
    let mut out = Vec::new();
    rebuilt.to_raw(&c).unwrap().encode(&mut out).unwrap();
    assert_eq!(out, data);
    assert_eq!(
        SpanBatch::from_singular_batches(&[], true),
        Err(SpanBatchError::Empty)
    );
}
