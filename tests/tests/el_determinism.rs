//! Two simulated execution clients given the same attributes build the same block, and each
//! accepts the other's payload; over random attributes and all supported fork sets.

use alloy::{
    primitives::{Address, B64, B256, Bytes, LogData},
    rpc::types::engine::{ForkchoiceState, PayloadStatusEnum},
};
use opfleet_protocol::ChainId;
use opfleet_tests::el::{
    ChainSpec, ForkSchedule, GenesisConfig, MESSAGE_PASSER, SimBlock, encode_sim_logs,
    engine::{EngineState, NewPayload, PayloadVersion, payload_v3},
    fixtures::{attributes, l1_info_tx, test_signed_tx, user_deposit},
};
use proptest::prelude::*;

#[derive(Debug, Clone)]
enum TxSpec {
    Deposit {
        log_index: u64,
        to_passer: bool,
        input: Vec<u8>,
    },
    User {
        nonce: u64,
        input: Vec<u8>,
    },
    Logging {
        topic: [u8; 32],
        data: Vec<u8>,
    },
}

fn arb_tx() -> impl Strategy<Value = TxSpec> {
    prop_oneof![
        (
            any::<u64>(),
            any::<bool>(),
            proptest::collection::vec(any::<u8>(), 0..64)
        )
            .prop_map(|(log_index, to_passer, input)| TxSpec::Deposit {
                log_index,
                to_passer,
                input
            }),
        (0u64..1000, proptest::collection::vec(any::<u8>(), 0..300))
            .prop_map(|(nonce, input)| TxSpec::User { nonce, input }),
        (
            any::<[u8; 32]>(),
            proptest::collection::vec(any::<u8>(), 0..64)
        )
            .prop_map(|(topic, data)| TxSpec::Logging { topic, data }),
    ]
}

fn encode(spec: &TxSpec) -> (bool, Bytes) {
    match spec {
        TxSpec::Deposit {
            log_index,
            to_passer,
            input,
        } => {
            let to = if *to_passer {
                MESSAGE_PASSER
            } else {
                Address::repeat_byte(3)
            };
            (
                true,
                user_deposit(
                    B256::ZERO,
                    *log_index,
                    Address::repeat_byte(4),
                    to,
                    input.clone().into(),
                ),
            )
        }
        TxSpec::User { nonce, input } => (
            false,
            test_signed_tx(901, *nonce, Address::repeat_byte(6), input.clone().into()),
        ),
        TxSpec::Logging { topic, data } => {
            let log = alloy::primitives::Log {
                address: Address::repeat_byte(0x22),
                data: LogData::new_unchecked(vec![B256::from(*topic)], data.clone().into()),
            };
            let input = encode_sim_logs(&[log]).unwrap_or_default();
            (
                false,
                test_signed_tx(901, 0, Address::repeat_byte(0x22), input),
            )
        }
    }
}

fn new_payload_of(block: &SimBlock) -> NewPayload {
    NewPayload {
        payload: payload_v3(block),
        withdrawals_root: block.fork.is_isthmus().then_some(block.message_passer_root),
        versioned_hashes: vec![],
        parent_beacon_block_root: block.header().parent_beacon_block_root.unwrap_or_default(),
        execution_requests: block.fork.is_isthmus().then(Vec::new),
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]
    #[test]
    fn same_attributes_same_block(
        fork_set in 0usize..3,
        blocks in proptest::collection::vec(
            (1u64..30, any::<[u8; 32]>(), any::<[u8; 20]>(), any::<bool>(), 1u32..500, 1u32..20,
             proptest::collection::vec(arb_tx(), 0..6)),
            1..4),
    ) {
        let forks = [ForkSchedule::holocene(), ForkSchedule::isthmus(), ForkSchedule::jovian()][fork_set];
        let spec = ChainSpec::new(ChainId(901), GenesisConfig::new(ChainId(901), 1_000), forks);
        let mut a = EngineState::new(spec).unwrap();
        let mut b = EngineState::new(spec).unwrap();
        let mut timestamp = 1_000;
        for (delta, randao, recipient, custom_fees, denominator, elasticity, txs) in blocks {
            timestamp += delta;
            let fork = forks.fork_at(timestamp);
            let mut encoded: Vec<(bool, Bytes)> = txs.iter().map(encode).collect();
            // Deposits first, after the L1-info deposit, as derivation orders them.
            encoded.sort_by_key(|(deposit, _)| !deposit);
            let mut all = vec![l1_info_tx(fork, 1, 0, 0)];
            all.extend(encoded.into_iter().map(|(_, tx)| tx));
            let mut attrs = attributes(fork, timestamp, all);
            attrs.payload_attributes.prev_randao = B256::from(randao);
            attrs.payload_attributes.suggested_fee_recipient = Address::from(recipient);
            if custom_fees {
                let mut params = [0u8; 8];
                params[..4].copy_from_slice(&denominator.to_be_bytes());
                params[4..].copy_from_slice(&elasticity.to_be_bytes());
                attrs.eip_1559_params = Some(B64::from(params));
            }
            let head = a.chain().head().hash;
            let state = ForkchoiceState { head_block_hash: head, safe_block_hash: head, finalized_block_hash: head };
            let version = PayloadVersion::for_fork(fork);
            let id_a = a.forkchoice_updated(state, Some(&attrs)).unwrap().payload_id.unwrap();
            let id_b = b.forkchoice_updated(state, Some(&attrs)).unwrap().payload_id.unwrap();
            prop_assert_eq!(id_a, id_b);
            let block_a = a.get_payload(id_a, version).unwrap();
            let block_b = b.get_payload(id_b, version).unwrap();
            prop_assert_eq!(block_a.hash, block_b.hash);
            prop_assert_eq!(block_a.hash, block_a.header().hash_slow());
            // Each accepts the other's payload (which is its own, hash for hash).
            let status = a.new_payload(new_payload_of(&block_b), version).unwrap();
            prop_assert_eq!(status.status, PayloadStatusEnum::Valid);
            let status = b.new_payload(new_payload_of(&block_a), version).unwrap();
            prop_assert_eq!(status.status, PayloadStatusEnum::Valid);
            let next = ForkchoiceState { head_block_hash: block_a.hash, ..state };
            a.forkchoice_updated(next, None).unwrap();
            b.forkchoice_updated(next, None).unwrap();
        }
    }
}
