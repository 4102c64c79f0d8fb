//! Interop messages: the `ExecutingMessage` log of the CrossL2Inbox, the payload hash of an
//! initiating log, and the access-list checksum (specs `interop/messaging.md`,
//! `interop/predeploys.md`; op-core `interop/messages`).
//!
//! ```text
//! initiating log L on chain A          executing log on chain B (CrossL2Inbox 0x42..22)
//!   payload     = L.topics[0..] ++ L.data      topics: [EXECUTING_MESSAGE_TOPIC, payloadHash]
//!   payloadHash = keccak256(payload)           data:   Identifier, 5 ABI words:
//!   logHash     = keccak256(L.address ++ payloadHash)   | origin | blockNumber | logIndex |
//!                                                       | timestamp | chainId |
//! checksum = keccak256(keccak256(logHash ++ idPacked) ++ chainId u256) with byte 0 := 0x03
//!   idPacked = 12 zero bytes | blockNumber u64 | timestamp u64 | logIndex u32
//! ```
//! Identifier words must fit their types (origin 20 bytes, block number and timestamp 64 bits,
//! log index 32 bits, chain id 64 bits for our `ChainId`): anything wider is an error.

use alloy::primitives::{Address, B256, Log, LogData, U256, b256, keccak256};

use crate::ChainId;

/// The CrossL2Inbox predeploy that emits executing messages.
pub use op_alloy_consensus::interop::CROSS_L2_INBOX_ADDRESS;

/// `keccak256("ExecutingMessage(bytes32,(address,uint256,uint256,uint256,uint256))")`.
pub const EXECUTING_MESSAGE_TOPIC: B256 =
    b256!("5c37832d2e8d10e346e55ad62071a6a2f9fa5130614ef2ec6617555c6f467ba7");

/// Type byte of an access-list checksum entry.
pub const ACCESS_CHECKSUM_PREFIX: u8 = 3;

/// Type byte of an access-list lookup entry.
pub const ACCESS_LOOKUP_PREFIX: u8 = 1;

/// Type byte of an access-list chain-id extension entry.
pub const ACCESS_CHAIN_ID_EXTENSION_PREFIX: u8 = 2;

/// Length of the ABI-encoded `Identifier` in the event data.
const IDENTIFIER_LEN: usize = 5 * 32;

/// Why a CrossL2Inbox log is not a valid executing message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ExecutingMessageError {
    /// The event data is not exactly five words.
    #[error("identifier data is {0} bytes, expected {IDENTIFIER_LEN}")]
    DataLength(usize),
    /// An identifier word has bits set above what its field can hold.
    #[error("identifier field {field} (data bytes {offset}..{end}) does not fit in {bits} bits", end = offset + 32)]
    FieldTooWide {
        /// Field name as in the spec's `Identifier`.
        field: &'static str,
        /// Byte offset of the word in the event data.
        offset: usize,
        /// Width the field must fit in.
        bits: u32,
    },
}

/// Why access-list entries do not parse into an [`Access`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AccessListError {
    /// The list ended in the middle of an access.
    #[error("access list ends at entry {0}, in the middle of an access")]
    Truncated(usize),
    /// An entry has the wrong type byte at its position.
    #[error("access list entry {index} has type {found}, expected {expected}")]
    UnexpectedType {
        /// Entry index.
        index: usize,
        /// The entry's type byte.
        found: u8,
        /// What the position requires.
        expected: &'static str,
    },
    /// Reserved bytes of an entry are not zero.
    #[error("access list entry {0} has non-zero reserved bytes")]
    Malformed(usize),
    /// The chain id extension makes the chain id wider than 64 bits.
    #[error("access list entry {0} extends the chain id beyond 64 bits")]
    ChainIdTooLarge(usize),
}

/// An executing message: the identifier of an initiating log and the hash of its payload.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ExecutingMessage {
    /// Chain that emitted the initiating log.
    pub chain_id: ChainId,
    /// Block number of the initiating log.
    pub block_number: u64,
    /// Index of the initiating log in its block.
    pub log_index: u32,
    /// Timestamp of the initiating block.
    pub timestamp: u64,
    /// Address that emitted the initiating log.
    pub origin: Address,
    /// `keccak256` of the initiating log's payload.
    pub payload_hash: B256,
}

impl ExecutingMessage {
    /// Parses a log if it is an executing message.
    ///
    /// Logs from another address, with other than 2 topics, or with another event topic are not
    /// executing messages (`Ok(None)`), as in op-supervisor; a matching log with a malformed
    /// identifier is an error.
    pub fn from_log(log: &Log) -> Result<Option<Self>, ExecutingMessageError> {
        if log.address != CROSS_L2_INBOX_ADDRESS {
            return Ok(None);
        }
        let [event, payload_hash] = log.topics() else {
            return Ok(None);
        };
        if *event != EXECUTING_MESSAGE_TOPIC {
            return Ok(None);
        }
        Self::decode_identifier(*payload_hash, &log.data.data).map(Some)
    }

    /// Decodes the ABI-encoded `Identifier` of an executing-message event.
    pub fn decode_identifier(
        payload_hash: B256,
        data: &[u8],
    ) -> Result<Self, ExecutingMessageError> {
        let data: &[u8; IDENTIFIER_LEN] = data
            .try_into()
            .map_err(|_| ExecutingMessageError::DataLength(data.len()))?;
        let word = |i: usize| -> &[u8] { &data[i * 32..(i + 1) * 32] };
        // Returns the low `bytes` bytes of word `i`, requiring the rest to be zero.
        let narrow = |i: usize, field: &'static str, bytes: usize| {
            let (high, low) = word(i).split_at(32 - bytes);
            if high.iter().any(|&b| b != 0) {
                return Err(ExecutingMessageError::FieldTooWide {
                    field,
                    offset: i * 32,
                    bits: (bytes * 8) as u32,
                });
            }
            Ok(low)
        };
        let be_u64 = |b: &[u8]| {
            let mut a = [0u8; 8];
            a[8 - b.len()..].copy_from_slice(b);
            u64::from_be_bytes(a)
        };
        let origin = Address::from_slice(narrow(0, "origin", 20)?);
        let block_number = be_u64(narrow(1, "blockNumber", 8)?);
        let log_index = be_u64(narrow(2, "logIndex", 4)?) as u32;
        let timestamp = be_u64(narrow(3, "timestamp", 8)?);
        let chain_id = ChainId(be_u64(narrow(4, "chainId", 8)?));
        Ok(Self {
            chain_id,
            block_number,
            log_index,
            timestamp,
            origin,
            payload_hash,
        })
    }

    /// The executing message that points at an initiating log.
    pub fn for_initiating_log(
        chain_id: ChainId,
        block_number: u64,
        log_index: u32,
        timestamp: u64,
        log: &Log,
    ) -> Self {
        Self {
            chain_id,
            block_number,
            log_index,
            timestamp,
            origin: log.address,
            payload_hash: payload_hash(&log.data),
        }
    }

    /// The executing-message log the CrossL2Inbox emits for this message (for the devnet).
    pub fn to_log(&self) -> Log {
        let mut data = Vec::with_capacity(IDENTIFIER_LEN);
        data.extend_from_slice(self.origin.into_word().as_slice());
        data.extend_from_slice(&U256::from(self.block_number).to_be_bytes::<32>());
        data.extend_from_slice(&U256::from(self.log_index).to_be_bytes::<32>());
        data.extend_from_slice(&U256::from(self.timestamp).to_be_bytes::<32>());
        data.extend_from_slice(&self.chain_id.to_be_word());
        Log {
            address: CROSS_L2_INBOX_ADDRESS,
            data: LogData::new_unchecked(
                vec![EXECUTING_MESSAGE_TOPIC, self.payload_hash],
                data.into(),
            ),
        }
    }

    /// The hash of the initiating log as the log database stores it.
    pub fn log_hash(&self) -> B256 {
        log_hash(self.origin, self.payload_hash)
    }

    /// The access-list checksum of this message.
    pub fn checksum(&self) -> B256 {
        let mut id_packed = [0u8; 32];
        id_packed[12..20].copy_from_slice(&self.block_number.to_be_bytes());
        id_packed[20..28].copy_from_slice(&self.timestamp.to_be_bytes());
        id_packed[28..32].copy_from_slice(&self.log_index.to_be_bytes());
        let mut buf = [0u8; 64];
        buf[..32].copy_from_slice(self.log_hash().as_slice());
        buf[32..].copy_from_slice(&id_packed);
        let id_log_hash = keccak256(buf);
        buf[..32].copy_from_slice(id_log_hash.as_slice());
        buf[32..].copy_from_slice(&self.chain_id.to_be_word());
        let mut checksum = keccak256(buf);
        checksum.0[0] = ACCESS_CHECKSUM_PREFIX;
        checksum
    }

    /// What a transaction's access list must hold to execute this message.
    pub fn access(&self) -> Access {
        Access {
            chain_id: self.chain_id,
            block_number: self.block_number,
            timestamp: self.timestamp,
            log_index: self.log_index,
            checksum: self.checksum(),
        }
    }
}

/// The message payload of a log: its topics concatenated, then its data.
pub fn message_payload(log: &LogData) -> Vec<u8> {
    let mut out = Vec::with_capacity(log.topics().len() * 32 + log.data.len());
    for topic in log.topics() {
        out.extend_from_slice(topic.as_slice());
    }
    out.extend_from_slice(&log.data);
    out
}

/// The payload hash of a log: `keccak256` of its message payload.
pub fn payload_hash(log: &LogData) -> B256 {
    keccak256(message_payload(log))
}

/// `keccak256(origin ++ payloadHash)`: the hash that identifies an initiating log.
pub fn log_hash(origin: Address, payload_hash: B256) -> B256 {
    let mut buf = [0u8; 52];
    buf[..20].copy_from_slice(origin.as_slice());
    buf[20..].copy_from_slice(payload_hash.as_slice());
    keccak256(buf)
}

/// One message access parsed from (or for) a transaction's CrossL2Inbox access list.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Access {
    /// Chain of the initiating log.
    pub chain_id: ChainId,
    /// Block number of the initiating log.
    pub block_number: u64,
    /// Timestamp of the initiating block.
    pub timestamp: u64,
    /// Index of the initiating log in its block.
    pub log_index: u32,
    /// The message checksum (type byte 3).
    pub checksum: B256,
}

impl Access {
    /// The storage keys for this access: a lookup entry, then the checksum.
    ///
    /// A 64-bit chain id never needs the chain-id extension entry.
    pub fn entries(&self) -> [B256; 2] {
        let mut lookup = B256::ZERO;
        lookup.0[0] = ACCESS_LOOKUP_PREFIX;
        lookup.0[4..12].copy_from_slice(&self.chain_id.get().to_be_bytes());
        lookup.0[12..20].copy_from_slice(&self.block_number.to_be_bytes());
        lookup.0[20..28].copy_from_slice(&self.timestamp.to_be_bytes());
        lookup.0[28..32].copy_from_slice(&self.log_index.to_be_bytes());
        [lookup, self.checksum]
    }

    /// Parses every access of a CrossL2Inbox access list, in order.
    pub fn parse_all(entries: &[B256]) -> Result<Vec<Self>, AccessListError> {
        let mut out = Vec::new();
        let mut i = 0;
        while i < entries.len() {
            let (access, used) = Self::parse_one(&entries[i..], i)?;
            out.push(access);
            i += used;
        }
        Ok(out)
    }

    /// Parses one access at the start of `entries` (which start at list index `base`).
    fn parse_one(entries: &[B256], base: usize) -> Result<(Self, usize), AccessListError> {
        let lookup = entries.first().ok_or(AccessListError::Truncated(base))?;
        if lookup[0] != ACCESS_LOOKUP_PREFIX {
            return Err(AccessListError::UnexpectedType {
                index: base,
                found: lookup[0],
                expected: "lookup (1)",
            });
        }
        if lookup[1..4] != [0, 0, 0] {
            return Err(AccessListError::Malformed(base));
        }
        let be = |r: core::ops::Range<usize>| {
            let mut a = [0u8; 8];
            a[8 - r.len()..].copy_from_slice(&lookup[r]);
            u64::from_be_bytes(a)
        };
        let mut used = 1;
        let mut next = entries
            .get(used)
            .ok_or(AccessListError::Truncated(base + used))?;
        if next[0] == ACCESS_CHAIN_ID_EXTENSION_PREFIX {
            if next[1..8].iter().any(|&b| b != 0) {
                return Err(AccessListError::Malformed(base + used));
            }
            // The extension carries the upper 24 bytes of the chain id word.
            if next[8..32].iter().any(|&b| b != 0) {
                return Err(AccessListError::ChainIdTooLarge(base + used));
            }
            used += 1;
            next = entries
                .get(used)
                .ok_or(AccessListError::Truncated(base + used))?;
        }
        if next[0] != ACCESS_CHECKSUM_PREFIX {
            return Err(AccessListError::UnexpectedType {
                index: base + used,
                found: next[0],
                expected: "checksum (3)",
            });
        }
        let access = Self {
            chain_id: ChainId(be(4..12)),
            block_number: be(12..20),
            timestamp: be(20..28),
            log_index: be(28..32) as u32,
            checksum: *next,
        };
        Ok((access, used + 1))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloy::primitives::{address, hex};
    use proptest::prelude::*;

    #[test]
    fn constants_match_spec() {
        assert_eq!(
            EXECUTING_MESSAGE_TOPIC,
            keccak256("ExecutingMessage(bytes32,(address,uint256,uint256,uint256,uint256))")
        );
        assert_eq!(
            CROSS_L2_INBOX_ADDRESS,
            address!("0x4200000000000000000000000000000000000022")
        );
    }

    /// Known answers from ethereum-optimism/optimism `op-core/interop/messages/messages_test.go`.
    fn op_core_message() -> ExecutingMessage {
        ExecutingMessage {
            chain_id: ChainId(0xd1d2_d3d4_d5d6_d7d8),
            block_number: 0xa1a2_a3a4_a5a6_a7a8,
            log_index: 0xb1b2_b3b4,
            timestamp: 0xc1c2_c3c4_c5c6_c7c8,
            origin: address!("0xe0e1e2e3e4e5e6e7e8e9f0f1f2f3f4f5f6f7f8f9"),
            payload_hash: keccak256("example payload"),
        }
    }

    #[test]
    fn op_core_known_answers() {
        let m = op_core_message();
        assert_eq!(
            m.payload_hash,
            b256!("8017559a85b12c04b14a1a425d53486d1015f833714a09bd62f04152a7e2ae9b")
        );
        assert_eq!(
            m.log_hash(),
            b256!("f9ed05990c887d3f86718aabd7e940faaa75d6a5cd44602e89642586ce85f2aa")
        );
        assert_eq!(
            m.checksum(),
            b256!("03749e87fd7789575de9906569deb05aaf220dc4cfab3d8abbfd34a2e1d7d357")
        );
        let entries = m.access().entries();
        assert_eq!(
            entries[0],
            b256!("01000000d1d2d3d4d5d6d7d8a1a2a3a4a5a6a7a8c1c2c3c4c5c6c7c8b1b2b3b4")
        );
        assert_eq!(Access::parse_all(&entries), Ok(vec![m.access()]));
    }

    /// `TestLogToLogHash` of op-core `interop/messages/logs_test.go`.
    #[test]
    fn op_core_log_hash_of_a_log() {
        let mut addr = [0u8; 20];
        addr[..2].copy_from_slice(&[0xaa, 0xbb]);
        let log = LogData::new_unchecked(
            vec![B256::ZERO.with_first(0xcc), B256::ZERO.with_first(0xdd)],
            vec![0xee, 0xff, 0x00].into(),
        );
        assert_eq!(
            log_hash(Address::from(addr), payload_hash(&log)),
            b256!("4e1dc08fddeb273275f787762cdfe945cf47bb4e80a1fabbc7a825801e81b73f")
        );
    }

    /// A real executing-message log from op-core `interop/messages/logs_test.go`
    /// (`TestDecodeExecutingMessageLog`).
    #[test]
    fn op_core_real_log() {
        let log = Log {
            address: CROSS_L2_INBOX_ADDRESS,
            data: LogData::new_unchecked(
                vec![
                    b256!("5c37832d2e8d10e346e55ad62071a6a2f9fa5130614ef2ec6617555c6f467ba7"),
                    b256!("c3f57e1f0dd62a4f77787d834029bfeaab8894022c47edbe13b044fb658c9190"),
                ],
                hex!("0000000000000000000000005fbdb2315678afecb367f032d93f642f64180aa3000000000000000000000000000000000000000000000000000000000000119d0000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000006724d56300000000000000000000000000000000000000000000000000000000000dbc68").into(),
            ),
        };
        let m = ExecutingMessage::from_log(&log).unwrap().unwrap();
        assert_eq!(
            m.origin,
            address!("0x5fbdb2315678afecb367f032d93f642f64180aa3")
        );
        assert_eq!(m.block_number, 4509);
        assert_eq!(m.log_index, 0);
        assert_eq!(m.timestamp, 1730467171);
        assert_eq!(m.chain_id, ChainId(900200));
        assert_eq!(m.to_log(), log);
    }

    #[test]
    fn executing_message_for_an_initiating_log() {
        let init = Log {
            address: Address::repeat_byte(0xaa),
            data: LogData::new_unchecked(vec![keccak256("Ping()")], b"hi".to_vec().into()),
        };
        let m = ExecutingMessage::for_initiating_log(ChainId(901), 12, 3, 1_700_000_000, &init);
        assert_eq!(m.origin, init.address);
        let mut payload = keccak256("Ping()").to_vec();
        payload.extend_from_slice(b"hi");
        assert_eq!(m.payload_hash, keccak256(&payload));
        assert_eq!(ExecutingMessage::from_log(&m.to_log()), Ok(Some(m)));
    }

    #[test]
    fn message_payload_is_topics_then_data() {
        let t0 = keccak256("topic0");
        let t1 = keccak256("topic1");
        let log = LogData::new_unchecked(vec![t0, t1], b"foobar".to_vec().into());
        let mut expected = t0.to_vec();
        expected.extend_from_slice(t1.as_slice());
        expected.extend_from_slice(b"foobar");
        assert_eq!(message_payload(&log), expected);
        assert_eq!(payload_hash(&log), keccak256(&expected));
    }

    #[test]
    fn non_executing_logs_are_skipped_and_bad_identifiers_rejected() {
        let good = op_core_message().to_log();
        let mut elsewhere = good.clone();
        elsewhere.address = Address::repeat_byte(1);
        assert_eq!(ExecutingMessage::from_log(&elsewhere), Ok(None));
        let mut three = good.clone();
        three.data = LogData::new_unchecked(
            vec![EXECUTING_MESSAGE_TOPIC, B256::ZERO, B256::ZERO],
            good.data.data.clone(),
        );
        assert_eq!(ExecutingMessage::from_log(&three), Ok(None));

        let with_data = |data: Vec<u8>| Log {
            address: CROSS_L2_INBOX_ADDRESS,
            data: LogData::new_unchecked(good.topics().to_vec(), data.into()),
        };
        assert_eq!(
            ExecutingMessage::from_log(&with_data(vec![0; 128])),
            Err(ExecutingMessageError::DataLength(128))
        );
        for (byte, field, offset) in [
            (0, "origin", 0),
            (32 + 23, "blockNumber", 32),
            (64 + 27, "logIndex", 64),
            (96, "timestamp", 96),
            (128 + 23, "chainId", 128),
        ] {
            let mut data = good.data.data.to_vec();
            data[byte] = 1;
            let err = ExecutingMessage::from_log(&with_data(data)).unwrap_err();
            assert!(
                matches!(err, ExecutingMessageError::FieldTooWide { field: f, offset: o, .. } if f == field && o == offset),
                "{err}"
            );
        }
    }

    #[test]
    fn access_list_rejections() {
        let m = op_core_message();
        let [lookup, checksum] = m.access().entries();
        assert_eq!(Access::parse_all(&[]), Ok(vec![]));
        assert_eq!(
            Access::parse_all(&[lookup]),
            Err(AccessListError::Truncated(1))
        );
        assert!(matches!(
            Access::parse_all(&[checksum]),
            Err(AccessListError::UnexpectedType {
                index: 0,
                found: 3,
                ..
            })
        ));
        assert!(matches!(
            Access::parse_all(&[lookup, lookup]),
            Err(AccessListError::UnexpectedType {
                index: 1,
                found: 1,
                ..
            })
        ));
        let mut padded = lookup;
        padded.0[2] = 1;
        assert_eq!(
            Access::parse_all(&[padded, checksum]),
            Err(AccessListError::Malformed(0))
        );
        let zero_ext = B256::ZERO.with_first(ACCESS_CHAIN_ID_EXTENSION_PREFIX);
        assert_eq!(
            Access::parse_all(&[lookup, zero_ext, checksum, lookup, checksum]),
            Ok(vec![m.access(), m.access()])
        );
        let mut wide = zero_ext;
        wide.0[31] = 1;
        assert_eq!(
            Access::parse_all(&[lookup, wide, checksum]),
            Err(AccessListError::ChainIdTooLarge(1))
        );
    }

    trait WithFirst {
        fn with_first(self, b: u8) -> Self;
    }
    impl WithFirst for B256 {
        fn with_first(mut self, b: u8) -> Self {
            self.0[0] = b;
            self
        }
    }

    fn arb_message() -> impl Strategy<Value = ExecutingMessage> {
        (
            any::<u64>(),
            any::<u64>(),
            any::<u32>(),
            any::<u64>(),
            any::<[u8; 20]>(),
            any::<[u8; 32]>(),
        )
            .prop_map(|(c, b, l, t, o, p)| ExecutingMessage {
                chain_id: ChainId(c),
                block_number: b,
                log_index: l,
                timestamp: t,
                origin: Address::from(o),
                payload_hash: B256::from(p),
            })
    }

    proptest! {
        #[test]
        fn log_round_trip(m in arb_message()) {
            prop_assert_eq!(ExecutingMessage::from_log(&m.to_log()), Ok(Some(m)));
        }

        #[test]
        fn access_round_trip(ms in proptest::collection::vec(arb_message(), 0..5)) {
            let entries: Vec<B256> = ms.iter().flat_map(|m| m.access().entries()).collect();
            let expected: Vec<Access> = ms.iter().map(|m| m.access()).collect();
            prop_assert_eq!(Access::parse_all(&entries), Ok(expected));
        }

        #[test]
        fn decoders_never_panic(
            data in proptest::collection::vec(any::<u8>(), 0..200),
            entries in proptest::collection::vec((0u8..5, any::<[u8; 32]>()), 0..8),
        ) {
            let _ = ExecutingMessage::decode_identifier(B256::ZERO, &data);
            let mut words = [0u8; 160];
            for (i, b) in data.iter().take(160).enumerate() { words[i] = *b; }
            let _ = ExecutingMessage::decode_identifier(B256::ZERO, &words);
            let entries: Vec<B256> = entries
                .into_iter()
                .map(|(t, w)| B256::from(w).with_first(t))
                .collect();
            let _ = Access::parse_all(&entries);
        }
    }
}
