//! Errors of batch decoding, encoding and span batch conversion.
//!
//! Offsets count bytes from the start of the batch payload being decoded (after the batch type
//! byte), so an error points at the exact byte that is wrong.

/// A batch's bytes do not decode.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BatchDecodeError {
    /// Batch data holds no batch type byte.
    #[error("batch data is empty: expected a batch type byte")]
    EmptyBatch,
    /// The batch type byte is neither 0 (singular) nor 1 (span).
    #[error("unknown batch type {0:#04x}")]
    UnknownBatchType(u8),
    /// Input ended inside a field.
    #[error(
        "unexpected end of input reading {field} at offset {offset}: needed {needed} bytes, {remaining} left"
    )]
    UnexpectedEnd {
        /// Field being read.
        field: &'static str,
        /// Offset where the field starts.
        offset: usize,
        /// Bytes the field needs.
        needed: usize,
        /// Bytes that were left.
        remaining: usize,
    },
    /// A uvarint does not fit in 64 bits.
    #[error("uvarint {field} at offset {offset} overflows 64 bits")]
    VarintOverflow {
        /// Field being read.
        field: &'static str,
        /// Offset where the varint starts.
        offset: usize,
    },
    /// A count exceeds `MAX_SPAN_BATCH_ELEMENT_COUNT`.
    #[error("{field} at offset {offset} is {value}, above the span batch element limit {limit}")]
    TooManyElements {
        /// Field being read.
        field: &'static str,
        /// Offset of the field.
        offset: usize,
        /// Decoded count.
        value: u64,
        /// The limit.
        limit: u64,
    },
    /// A span batch declares zero blocks.
    #[error(
        "span batch block_count at offset {offset} is 0: a span batch holds at least one block"
    )]
    EmptySpanBatch {
        /// Offset of `block_count`.
        offset: usize,
    },
    /// A bitlist has a bit set in its zero padding.
    #[error("bitlist {field} at offset {offset} has a bit set beyond its {bits} bits")]
    BitlistTooLong {
        /// Field being read.
        field: &'static str,
        /// Offset of the bitlist.
        offset: usize,
        /// Declared bit count.
        bits: usize,
    },
    /// A span batch transaction has a type that batches cannot carry.
    #[error("tx_datas[{index}] at offset {offset}: unsupported transaction type {ty:#04x}")]
    UnsupportedTxType {
        /// Transaction index in the span batch.
        index: usize,
        /// Offset of the transaction data.
        offset: usize,
        /// The type byte.
        ty: u8,
    },
    /// A span batch transaction's RLP data is malformed.
    #[error("tx_datas[{index}] at offset {offset}: {reason}")]
    TxData {
        /// Transaction index in the span batch.
        index: usize,
        /// Offset of the transaction data.
        offset: usize,
        /// What is wrong.
        reason: String,
    },
    /// A set-code (EIP-7702) transaction is marked as a contract creation.
    #[error("transaction {index}: a set-code transaction must have a `to` address")]
    SetCodeWithoutTo {
        /// Transaction index in the span batch.
        index: usize,
    },
    /// A singular batch's RLP is malformed.
    #[error("singular batch RLP at offset {offset}: {reason}")]
    SingularRlp {
        /// Offset in the singular batch payload.
        offset: usize,
        /// What is wrong.
        reason: String,
    },
}

/// A span batch cannot be converted between its raw (wire) and derived forms, or encoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SpanBatchError {
    /// The span batch holds no blocks.
    #[error("span batch has no blocks")]
    Empty,
    /// More blocks or transactions than `MAX_SPAN_BATCH_ELEMENT_COUNT`.
    #[error("span batch has {value} {what}, above the limit {limit}")]
    TooManyElements {
        /// Blocks or transactions.
        what: &'static str,
        /// The count.
        value: u64,
        /// The limit.
        limit: u64,
    },
    /// `origin_bits` and `block_tx_counts` disagree on the block count.
    #[error("origin_bits has {origin_bits} entries but block_tx_counts has {tx_counts}")]
    BlockCountMismatch {
        /// Length of `origin_bits`.
        origin_bits: usize,
        /// Length of `block_tx_counts`.
        tx_counts: usize,
    },
    /// `block_tx_counts` do not sum to the number of transactions.
    #[error("block_tx_counts sum to {declared} but the span batch holds {actual} transactions")]
    TxCountMismatch {
        /// Sum of `block_tx_counts`.
        declared: u64,
        /// Transactions present.
        actual: usize,
    },
    /// The L1 origin numbers go below zero.
    #[error(
        "l1_origin_num {l1_origin_num} is smaller than the {changes} origin changes of the span"
    )]
    EpochUnderflow {
        /// Last L1 origin number.
        l1_origin_num: u64,
        /// Number of set origin bits.
        changes: u64,
    },
    /// A timestamp does not fit in 64 bits.
    #[error("timestamp of block {block} overflows 64 bits")]
    TimestampOverflow {
        /// Block index in the span.
        block: usize,
    },
    /// The first block is older than L2 genesis.
    #[error("first block timestamp {timestamp} is before L2 genesis {genesis}")]
    BeforeGenesis {
        /// First block timestamp.
        timestamp: u64,
        /// L2 genesis timestamp.
        genesis: u64,
    },
    /// Block timestamps are not spaced by the block time.
    #[error("block {block} has timestamp {actual}, expected {expected} (previous + block time)")]
    TimestampGap {
        /// Block index in the span.
        block: usize,
        /// Expected timestamp.
        expected: u64,
        /// Actual timestamp.
        actual: u64,
    },
    /// Consecutive blocks' L1 origins are neither equal nor adjacent.
    #[error(
        "block {block} has L1 origin {actual}, previous block {previous}: origins advance by 0 or 1"
    )]
    OriginJump {
        /// Block index in the span.
        block: usize,
        /// The previous block's origin number.
        previous: u64,
        /// This block's origin number.
        actual: u64,
    },
    /// A full transaction does not decode as an EIP-2718 transaction.
    #[error("block {block} transaction {index}: {reason}")]
    BadTransaction {
        /// Block index in the span.
        block: usize,
        /// Transaction index in the block.
        index: usize,
        /// What is wrong.
        reason: String,
    },
    /// A transaction's chain id is not the batch's chain id.
    #[error("block {block} transaction {index}: chain id {found}, expected {expected}")]
    ChainIdMismatch {
        /// Block index in the span.
        block: usize,
        /// Transaction index in the block.
        index: usize,
        /// Chain id of the transaction.
        found: u64,
        /// Chain id of the batch.
        expected: u64,
    },
    /// A fee field does not fit the 128 bits Ethereum transactions allow.
    #[error("transaction {index}: {field} {value} does not fit in 128 bits")]
    FeeOverflow {
        /// Transaction index in the span batch.
        index: usize,
        /// The field.
        field: &'static str,
        /// The value, decimal.
        value: String,
    },
    /// A set-code (EIP-7702) transaction has no `to` address.
    #[error("transaction {index}: a set-code transaction must have a `to` address")]
    SetCodeWithoutTo {
        /// Transaction index in the span batch.
        index: usize,
    },
    /// Singular batches asked of a block whose L1 origin is not among the given L1 blocks.
    #[error("block {block} has L1 origin {epoch_num}, which is not among the given L1 origins")]
    UnknownOrigin {
        /// Block index in the span.
        block: usize,
        /// The block's L1 origin number.
        epoch_num: u64,
    },
}
