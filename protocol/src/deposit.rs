//! User deposits: the `TransactionDeposited` log of the OptimismPortal and the deposit
//! transaction derived from it (specs `protocol/deposits.md`, op-node `derive/deposit_log.go`).
//!
//! ```text
//! event TransactionDeposited(address indexed from, address indexed to,
//!                            uint256 indexed version, bytes opaqueData)
//!
//! topics: [keccak256(signature), from (left-padded), to (left-padded), version (= 0)]
//! data:   | 0x20 (offset) | len(opaqueData) | opaqueData ... zero padding to 32 |
//!            32 bytes       32 bytes
//! opaqueData v0 (packed):
//!         | mint u256 | value u256 | gas u64 | isCreation u8 | calldata ... |
//!           32          32           8         1               rest
//! ```
//! The deposit's source hash is the user-deposit source hash of (L1 block hash, log index in the
//! L1 block); op-alloy computes it. `TxDeposit::mint` is a `u128`, so a mint word above 2^128 is
//! an error here (the portal's mint is an ETH amount, far below that).

use alloy::primitives::{Address, B256, Bytes, Log, LogData, TxKind, U256, b256};
use op_alloy_consensus::{TxDeposit, UserDepositSource};

/// `keccak256("TransactionDeposited(address,address,uint256,bytes)")`, topic 0 of a deposit log.
pub const DEPOSIT_EVENT_TOPIC: B256 =
    b256!("b3813568d9991fc951961fcb4c784893574240a28925604d09fc577c55bb7c32");

/// The only defined deposit event version (topic 3).
pub const DEPOSIT_EVENT_VERSION_0: B256 = B256::ZERO;

/// Length of the fixed part of version-0 opaque data: mint, value, gas, isCreation.
const OPAQUE_FIXED_LEN: usize = 32 + 32 + 8 + 1;

/// Why a log is not a valid user deposit.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DepositLogError {
    /// The log was not emitted by the deposit contract.
    #[error("log emitted by {got}, not by the deposit contract {expected}")]
    WrongAddress {
        /// The configured deposit contract.
        expected: Address,
        /// The log's emitter.
        got: Address,
    },
    /// The log does not have exactly 4 topics.
    #[error("expected 4 topics (event, from, to, version), got {0}")]
    TopicCount(usize),
    /// Topic 0 is not the `TransactionDeposited` event.
    #[error("topic 0 is {0}, not the TransactionDeposited event")]
    WrongEvent(B256),
    /// Topic 3 is not version 0.
    #[error("unsupported deposit version {0} in topic 3 (only version 0 is defined)")]
    UnsupportedVersion(B256),
    /// Log data shorter than the 64-byte `bytes` header.
    #[error("log data is {0} bytes, shorter than the 64-byte opaqueData header")]
    DataTooShort(usize),
    /// Log data not a multiple of 32 bytes.
    #[error("log data is {0} bytes, not a multiple of 32")]
    UnalignedData(usize),
    /// The `bytes` offset word (data bytes 0..32) is not 32.
    #[error("opaqueData offset word at data bytes 0..32 is {0}, expected 32")]
    BadOffset(U256),
    /// The `bytes` length word (data bytes 32..64) does not match the data that follows.
    #[error(
        "opaqueData length word at data bytes 32..64 is {length}, but {available} bytes follow (padding must be minimal)"
    )]
    BadLength {
        /// The declared length.
        length: U256,
        /// Bytes after the header.
        available: usize,
    },
    /// Version-0 opaque data shorter than mint, value, gas and isCreation.
    #[error(
        "opaqueData is {0} bytes, shorter than the {OPAQUE_FIXED_LEN} bytes of mint, value, gas and isCreation"
    )]
    OpaqueTooShort(usize),
    /// The mint word (opaqueData bytes 0..32) does not fit the 128-bit mint of `TxDeposit`.
    #[error("mint {0} at opaqueData bytes 0..32 does not fit in 128 bits")]
    MintTooLarge(U256),
}

/// A deposit that failed, with the log index it came from.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("deposit log at L1 log index {log_index}: {source}")]
pub struct UserDepositError {
    /// Index of the log in its L1 block.
    pub log_index: u64,
    /// What is wrong with it.
    pub source: DepositLogError,
}

/// Derives the deposit transaction of one `TransactionDeposited` log.
///
/// `log_index` is the log's index within the L1 block (not within its receipt).
pub fn deposit_from_log(
    deposit_contract: Address,
    l1_block_hash: B256,
    log_index: u64,
    log: &Log,
) -> Result<TxDeposit, DepositLogError> {
    if log.address != deposit_contract {
        return Err(DepositLogError::WrongAddress {
            expected: deposit_contract,
            got: log.address,
        });
    }
    let [event, from, to, version] = log.topics() else {
        return Err(DepositLogError::TopicCount(log.topics().len()));
    };
    if *event != DEPOSIT_EVENT_TOPIC {
        return Err(DepositLogError::WrongEvent(*event));
    }
    let opaque = opaque_data(&log.data.data)?;
    if *version != DEPOSIT_EVENT_VERSION_0 {
        return Err(DepositLogError::UnsupportedVersion(*version));
    }
    // Addresses are the low 20 bytes of the topic, as op-node reads them.
    let from = Address::from_word(*from);
    let to = Address::from_word(*to);
    let (fixed, input) = opaque
        .split_at_checked(OPAQUE_FIXED_LEN)
        .ok_or(DepositLogError::OpaqueTooShort(opaque.len()))?;
    let mint_word = U256::from_be_slice(&fixed[0..32]);
    let mint = u128::try_from(mint_word).map_err(|_| DepositLogError::MintTooLarge(mint_word))?;
    let value = U256::from_be_slice(&fixed[32..64]);
    let mut gas = [0u8; 8];
    gas.copy_from_slice(&fixed[64..72]);
    // Any non-zero isCreation byte means creation, as in op-node.
    let to = if fixed[72] == 0 {
        TxKind::Call(to)
    } else {
        TxKind::Create
    };
    Ok(TxDeposit {
        source_hash: UserDepositSource::new(l1_block_hash, log_index).source_hash(),
        from,
        to,
        mint,
        value,
        gas_limit: u64::from_be_bytes(gas),
        is_system_transaction: false,
        input: Bytes::copy_from_slice(input),
    })
}

/// Derives the deposits of an L1 block, in log order.
///
/// `logs` are the logs of the block's successful receipts with their log index in the block;
/// logs from other emitters or other events are skipped, as op-node does. Any malformed deposit
/// log fails the whole block.
pub fn user_deposits<'a>(
    deposit_contract: Address,
    l1_block_hash: B256,
    logs: impl IntoIterator<Item = (u64, &'a Log)>,
) -> Result<Vec<TxDeposit>, UserDepositError> {
    logs.into_iter()
        .filter(|(_, log)| {
            log.address == deposit_contract && log.topics().first() == Some(&DEPOSIT_EVENT_TOPIC)
        })
        .map(|(log_index, log)| {
            deposit_from_log(deposit_contract, l1_block_hash, log_index, log)
                .map_err(|source| UserDepositError { log_index, source })
        })
        .collect()
}

/// The `TransactionDeposited` log the portal emits for a deposit (the devnet's L1 uses it).
pub fn deposit_log(
    deposit_contract: Address,
    from: Address,
    to: TxKind,
    mint: u128,
    value: U256,
    gas_limit: u64,
    input: &[u8],
) -> Log {
    let (to_topic, is_creation) = match to {
        TxKind::Call(addr) => (addr.into_word(), 0u8),
        TxKind::Create => (B256::ZERO, 1u8),
    };
    let mut opaque = Vec::with_capacity(OPAQUE_FIXED_LEN + input.len());
    opaque.extend_from_slice(&U256::from(mint).to_be_bytes::<32>());
    opaque.extend_from_slice(&value.to_be_bytes::<32>());
    opaque.extend_from_slice(&gas_limit.to_be_bytes());
    opaque.push(is_creation);
    opaque.extend_from_slice(input);

    let padded = opaque.len().div_ceil(32) * 32;
    let mut data = Vec::with_capacity(64 + padded);
    data.extend_from_slice(&U256::from(32u8).to_be_bytes::<32>());
    data.extend_from_slice(&U256::from(opaque.len()).to_be_bytes::<32>());
    data.extend_from_slice(&opaque);
    data.resize(64 + padded, 0);

    Log {
        address: deposit_contract,
        data: LogData::new_unchecked(
            vec![
                DEPOSIT_EVENT_TOPIC,
                from.into_word(),
                to_topic,
                DEPOSIT_EVENT_VERSION_0,
            ],
            data.into(),
        ),
    }
}

/// The `TransactionDeposited` log that derives back into `tx` (its source hash aside).
pub fn deposit_log_for_tx(deposit_contract: Address, tx: &TxDeposit) -> Log {
    deposit_log(
        deposit_contract,
        tx.from,
        tx.to,
        tx.mint,
        tx.value,
        tx.gas_limit,
        &tx.input,
    )
}

/// The opaqueData of the ABI `bytes` in log data, checked the way op-node checks it.
fn opaque_data(data: &[u8]) -> Result<&[u8], DepositLogError> {
    if data.len() < 64 {
        return Err(DepositLogError::DataTooShort(data.len()));
    }
    if !data.len().is_multiple_of(32) {
        return Err(DepositLogError::UnalignedData(data.len()));
    }
    let (header, rest) = data.split_at(64);
    let offset = U256::from_be_slice(&header[0..32]);
    if offset != U256::from(32u8) {
        return Err(DepositLogError::BadOffset(offset));
    }
    let length_word = U256::from_be_slice(&header[32..64]);
    let bad_length = DepositLogError::BadLength {
        length: length_word,
        available: rest.len(),
    };
    let length = usize::try_from(length_word).map_err(|_| bad_length.clone())?;
    // The content must fit, and the padding after it must be shorter than one word.
    if length > rest.len() || length + 32 <= rest.len() {
        return Err(bad_length);
    }
    Ok(&rest[..length])
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloy::eips::eip2718::Encodable2718;
    use alloy::primitives::{address, hex, keccak256};
    use proptest::prelude::*;

    const PORTAL: Address = address!("0xbEb5Fc579115071764c7423A4f12eDde41f106Ed");

    fn log_with(topics: Vec<B256>, data: Vec<u8>) -> Log {
        Log {
            address: PORTAL,
            data: LogData::new_unchecked(topics, data.into()),
        }
    }

    #[test]
    fn event_topic_is_keccak_of_signature() {
        assert_eq!(
            DEPOSIT_EVENT_TOPIC,
            keccak256("TransactionDeposited(address,address,uint256,bytes)")
        );
    }

    /// Known answer from op-rs/kona `crates/protocol/protocol/src/deposits.rs`
    /// (`test_decode_deposit_full_succeeds`): the log data and the expected EIP-2718 bytes.
    #[test]
    fn kona_known_answer_full_deposit() {
        let mut data = vec![0u8; 192];
        data[31] = 32;
        data[63] = 128;
        data[80..96].copy_from_slice(&10u128.to_be_bytes());
        data[96..128].copy_from_slice(&U256::from(100).to_be_bytes::<32>());
        data[128..136].copy_from_slice(&1000u64.to_be_bytes());
        data[136] = 1;
        let from = address!("0x1111111111111111111111111111111111111111");
        let to = address!("0x2222222222222222222222222222222222222222");
        let log = log_with(
            vec![
                DEPOSIT_EVENT_TOPIC,
                from.into_word(),
                to.into_word(),
                B256::ZERO,
            ],
            data.clone(),
        );
        let tx = deposit_from_log(PORTAL, B256::ZERO, 0, &log).unwrap();
        assert_eq!(tx.to, TxKind::Create);
        assert_eq!(tx.mint, 10);
        assert_eq!(tx.value, U256::from(100));
        assert_eq!(tx.gas_limit, 1000);
        assert_eq!(tx.input.len(), 128 - 73);
        let expected = hex!(
            "7ef875a0ed428e1c45e1d9561b62834e1a2d3015a0caae3bfdc16b4da059ac885b01a145941111111111111111111111111111111111111111800a648203e880b700000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000"
        );
        assert_eq!(tx.encoded_2718(), expected.to_vec());

        // A creation deposit encodes `to` as zero, so the log we emit differs from kona's
        // (which set a `to` topic on a creation); the data is identical.
        let back = deposit_log_for_tx(PORTAL, &tx);
        assert_eq!(back.data.data.as_ref(), data.as_slice());
    }

    #[test]
    fn source_hash_is_user_deposit_domain() {
        let log = deposit_log(
            PORTAL,
            Address::repeat_byte(1),
            TxKind::Call(Address::repeat_byte(2)),
            0,
            U256::ZERO,
            21_000,
            &[],
        );
        let hash = B256::repeat_byte(0xab);
        let tx = deposit_from_log(PORTAL, hash, 7, &log).unwrap();
        // keccak256(bytes32(uint256(0)) ++ keccak256(l1BlockHash ++ bytes32(uint256(logIndex))))
        let mut inner = [0u8; 64];
        inner[..32].copy_from_slice(hash.as_slice());
        inner[63] = 7;
        let mut outer = [0u8; 64];
        outer[32..].copy_from_slice(keccak256(inner).as_slice());
        assert_eq!(tx.source_hash, keccak256(outer));
        assert!(!tx.is_system_transaction);
    }

    #[test]
    fn rejects_malformed_logs() {
        let good = deposit_log(
            PORTAL,
            Address::ZERO,
            TxKind::Create,
            1,
            U256::ZERO,
            1,
            &[9; 40],
        );
        let topics = good.topics().to_vec();
        let data = good.data.data.to_vec();

        let mut other = good.clone();
        other.address = Address::repeat_byte(9);
        assert!(matches!(
            deposit_from_log(PORTAL, B256::ZERO, 0, &other),
            Err(DepositLogError::WrongAddress { .. })
        ));
        assert_eq!(
            deposit_from_log(
                PORTAL,
                B256::ZERO,
                0,
                &log_with(topics[..3].to_vec(), data.clone())
            ),
            Err(DepositLogError::TopicCount(3))
        );
        let mut wrong = topics.clone();
        wrong[0] = B256::repeat_byte(1);
        assert_eq!(
            deposit_from_log(PORTAL, B256::ZERO, 0, &log_with(wrong, data.clone())),
            Err(DepositLogError::WrongEvent(B256::repeat_byte(1)))
        );
        let mut v1 = topics.clone();
        v1[3] = B256::with_last_byte(1);
        assert_eq!(
            deposit_from_log(PORTAL, B256::ZERO, 0, &log_with(v1, data.clone())),
            Err(DepositLogError::UnsupportedVersion(B256::with_last_byte(1)))
        );
        let check =
            |d: Vec<u8>| deposit_from_log(PORTAL, B256::ZERO, 0, &log_with(topics.clone(), d));
        assert_eq!(check(vec![0; 63]), Err(DepositLogError::DataTooShort(63)));
        assert_eq!(check(vec![0; 65]), Err(DepositLogError::UnalignedData(65)));
        assert_eq!(
            check(vec![0; 64]),
            Err(DepositLogError::BadOffset(U256::ZERO))
        );
        let mut long = data.clone();
        long.extend_from_slice(&[0; 32]);
        assert!(matches!(
            check(long),
            Err(DepositLogError::BadLength { .. })
        ));
        let mut huge = data.clone();
        huge[32] = 0xff;
        assert!(matches!(
            check(huge),
            Err(DepositLogError::BadLength { .. })
        ));
        let mut short = vec![0u8; 160];
        short[31] = 32;
        short[63] = 72;
        assert_eq!(check(short), Err(DepositLogError::OpaqueTooShort(72)));
        let mut big_mint = data;
        big_mint[64] = 1;
        assert!(matches!(
            check(big_mint),
            Err(DepositLogError::MintTooLarge(_))
        ));
    }

    #[test]
    fn user_deposits_skip_foreign_logs_and_report_the_failing_index() {
        let dep = deposit_log(PORTAL, Address::ZERO, TxKind::Create, 1, U256::ZERO, 1, &[]);
        let mut foreign = dep.clone();
        foreign.address = Address::repeat_byte(3);
        let mut other_event = dep.clone();
        other_event.data = LogData::new_unchecked(vec![B256::repeat_byte(4)], Bytes::new());
        let txs = user_deposits(
            PORTAL,
            B256::ZERO,
            [(0, &foreign), (1, &dep), (2, &other_event), (3, &dep)],
        )
        .unwrap();
        assert_eq!(txs.len(), 2);
        assert_ne!(txs[0].source_hash, txs[1].source_hash);

        let mut bad = dep.clone();
        bad.data = LogData::new_unchecked(dep.topics().to_vec(), Bytes::new());
        let err = user_deposits(PORTAL, B256::ZERO, [(0, &dep), (5, &bad)]).unwrap_err();
        assert_eq!(err.log_index, 5);
        assert_eq!(err.source, DepositLogError::DataTooShort(0));
    }

    fn arb_to() -> impl Strategy<Value = TxKind> {
        prop_oneof![
            Just(TxKind::Create),
            any::<[u8; 20]>().prop_map(|a| TxKind::Call(Address::from(a))),
        ]
    }

    proptest! {
        #[test]
        fn log_tx_log_round_trip(
            from in any::<[u8; 20]>(),
            to in arb_to(),
            mint in any::<u128>(),
            value in any::<[u8; 32]>(),
            gas in any::<u64>(),
            input in proptest::collection::vec(any::<u8>(), 0..200),
            block in any::<[u8; 32]>(),
            index in any::<u64>(),
        ) {
            let log = deposit_log(PORTAL, Address::from(from), to, mint, U256::from_be_bytes(value), gas, &input);
            prop_assert_eq!(log.data.data.len() % 32, 0);
            let tx = deposit_from_log(PORTAL, B256::from(block), index, &log).unwrap();
            prop_assert_eq!(tx.from, Address::from(from));
            prop_assert_eq!(tx.to, to);
            prop_assert_eq!(tx.mint, mint);
            prop_assert_eq!(tx.value, U256::from_be_bytes(value));
            prop_assert_eq!(tx.gas_limit, gas);
            prop_assert_eq!(tx.input.as_ref(), input.as_slice());
            prop_assert_eq!(deposit_log_for_tx(PORTAL, &tx), log);
        }

        #[test]
        fn never_panics_on_arbitrary_logs(
            topics in proptest::collection::vec(any::<[u8; 32]>(), 0..6),
            data in proptest::collection::vec(any::<u8>(), 0..300),
            keep_event in any::<bool>(),
        ) {
            let mut topics: Vec<B256> = topics.into_iter().map(B256::from).collect();
            if keep_event && !topics.is_empty() {
                topics[0] = DEPOSIT_EVENT_TOPIC;
            }
            let _ = deposit_from_log(PORTAL, B256::ZERO, 0, &log_with(topics, data));
        }

        #[test]
        fn never_panics_on_well_framed_data(
            len in any::<u64>(),
            body in proptest::collection::vec(any::<u8>(), 0..8).prop_map(|w| w.len()),
            fill in any::<u8>(),
        ) {
            let mut data = vec![0u8; 64 + body * 32];
            data[31] = 32;
            data[56..64].copy_from_slice(&len.to_be_bytes());
            for b in data.iter_mut().skip(64) { *b = fill; }
            let topics = vec![DEPOSIT_EVENT_TOPIC, B256::ZERO, B256::ZERO, B256::ZERO];
            let _ = deposit_from_log(PORTAL, B256::ZERO, 0, &log_with(topics, data));
        }
    }
}
