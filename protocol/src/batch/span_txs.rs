//! Span batch transactions: the column layout on the wire, and conversion to and from full
//! signed EIP-2718 transactions.
//!
//! ```text
//! txs = contract_creation_bits ++ y_parity_bits ++ tx_sigs ++ tx_tos ++ tx_datas
//!       ++ tx_nonces ++ tx_gases ++ protected_bits
//!
//! tx_sigs[i]  = r (32 bytes BE) ++ s (32 bytes BE)
//! tx_tos      = 20 bytes per transaction that is not a contract creation
//! tx_datas[i] = rlp([value, gasPrice, data])                                   legacy
//!             | 0x01 ++ rlp([value, gasPrice, data, accessList])               EIP-2930
//!             | 0x02 ++ rlp([value, tip, feeCap, data, accessList])            EIP-1559
//!             | 0x04 ++ rlp([value, tip, feeCap, data, accessList, authList])  EIP-7702
//! protected_bits: one bit per legacy transaction, set when EIP-155 protected
//! ```
//! The chain id is not on the wire: the L2 chain supplies it, and a legacy transaction's `v` is
//! rebuilt from its y parity and protected bit (`27 + y` or `2 * chain_id + 35 + y`).

use alloy::consensus::transaction::RlpEcdsaEncodableTx;
use alloy::consensus::{Transaction as _, TxEip1559, TxEip2930, TxEip7702, TxEnvelope, TxLegacy};
use alloy::eips::eip2718::Decodable2718;
use alloy::eips::eip2930::AccessList;
use alloy::eips::eip7702::SignedAuthorization;
use alloy::primitives::{Address, Bytes, Signature, TxKind, U256};
use alloy::rlp::{Decodable, Encodable, Header};

use super::bits::{read_bitlist, write_bitlist};
use super::cursor::{Cursor, write_uvarint};
use super::errors::{BatchDecodeError, SpanBatchError};
use crate::ChainId;

/// EIP-2930 transaction type byte.
const EIP2930_TX_TYPE: u8 = 0x01;
/// EIP-1559 transaction type byte.
const EIP1559_TX_TYPE: u8 = 0x02;
/// EIP-7702 (set code) transaction type byte.
const EIP7702_TX_TYPE: u8 = 0x04;

/// The type-specific part of a span batch transaction (`tx_datas` entry).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SpanTxData {
    /// A legacy transaction.
    Legacy {
        /// Whether the signature is EIP-155 protected (binds the chain id).
        protected: bool,
        /// Value transferred, wei.
        value: U256,
        /// Gas price, wei.
        gas_price: U256,
        /// Call data.
        data: Bytes,
    },
    /// An EIP-2930 access-list transaction.
    Eip2930 {
        /// Value transferred, wei.
        value: U256,
        /// Gas price, wei.
        gas_price: U256,
        /// Call data.
        data: Bytes,
        /// Access list.
        access_list: AccessList,
    },
    /// An EIP-1559 dynamic-fee transaction.
    Eip1559 {
        /// Value transferred, wei.
        value: U256,
        /// Max priority fee per gas, wei.
        max_priority_fee_per_gas: U256,
        /// Max fee per gas, wei.
        max_fee_per_gas: U256,
        /// Call data.
        data: Bytes,
        /// Access list.
        access_list: AccessList,
    },
    /// An EIP-7702 set-code transaction (allowed from Isthmus).
    Eip7702 {
        /// Value transferred, wei.
        value: U256,
        /// Max priority fee per gas, wei.
        max_priority_fee_per_gas: U256,
        /// Max fee per gas, wei.
        max_fee_per_gas: U256,
        /// Call data.
        data: Bytes,
        /// Access list.
        access_list: AccessList,
        /// Signed code delegations.
        authorization_list: Vec<SignedAuthorization>,
    },
}

impl SpanTxData {
    /// The EIP-2718 type byte (0 for legacy).
    pub const fn tx_type(&self) -> u8 {
        match self {
            Self::Legacy { .. } => 0,
            Self::Eip2930 { .. } => EIP2930_TX_TYPE,
            Self::Eip1559 { .. } => EIP1559_TX_TYPE,
            Self::Eip7702 { .. } => EIP7702_TX_TYPE,
        }
    }

    /// Appends the `tx_datas` entry: type byte (if typed) and the RLP list of its fields, in
    /// the order of the picture above.
    fn encode(&self, out: &mut Vec<u8>) {
        let fields: &[&dyn Encodable] = match self {
            Self::Legacy {
                value,
                gas_price,
                data,
                ..
            } => &[value, gas_price, data],
            Self::Eip2930 {
                value,
                gas_price,
                data,
                access_list,
            } => &[value, gas_price, data, access_list],
            Self::Eip1559 {
                value,
                max_priority_fee_per_gas: tip,
                max_fee_per_gas: cap,
                data,
                access_list,
            } => &[value, tip, cap, data, access_list],
            Self::Eip7702 {
                value,
                max_priority_fee_per_gas: tip,
                max_fee_per_gas: cap,
                data,
                access_list,
                authorization_list: auths,
            } => &[value, tip, cap, data, access_list, auths],
        };
        if !matches!(self, Self::Legacy { .. }) {
            out.push(self.tx_type());
        }
        alloy::rlp::encode_list::<_, dyn Encodable>(fields, out);
    }

    /// Reads one `tx_datas` entry. `protected` is filled in later from `protected_bits`.
    fn decode(cursor: &mut Cursor<'_>, index: usize) -> Result<Self, BatchDecodeError> {
        let offset = cursor.offset();
        let first = cursor.peek("tx_datas")?;
        // A first byte below 0x80 is an EIP-2718 type; an RLP list (legacy) starts at 0xc0.
        let ty = if first <= 0x7f {
            if !matches!(first, EIP2930_TX_TYPE | EIP1559_TX_TYPE | EIP7702_TX_TYPE) {
                return Err(BatchDecodeError::UnsupportedTxType {
                    index,
                    offset,
                    ty: first,
                });
            }
            cursor.advance(1);
            first
        } else {
            0
        };
        let rlp_err = |reason: String| BatchDecodeError::TxData {
            index,
            offset,
            reason,
        };
        let mut buf = cursor.rest();
        let before = buf.len();
        let mut fields = Header::decode_bytes(&mut buf, true)
            .map_err(|e| rlp_err(format!("expected an RLP list: {e}")))?;
        cursor.advance(before - buf.len());
        let f = &mut fields;
        let field =
            |name: &'static str| move |e: alloy::rlp::Error| rlp_err(format!("{name}: {e}"));
        let data = match ty {
            0 => Self::Legacy {
                protected: false,
                value: U256::decode(f).map_err(field("value"))?,
                gas_price: U256::decode(f).map_err(field("gas_price"))?,
                data: Bytes::decode(f).map_err(field("data"))?,
            },
            EIP2930_TX_TYPE => Self::Eip2930 {
                value: U256::decode(f).map_err(field("value"))?,
                gas_price: U256::decode(f).map_err(field("gas_price"))?,
                data: Bytes::decode(f).map_err(field("data"))?,
                access_list: AccessList::decode(f).map_err(field("access_list"))?,
            },
            EIP1559_TX_TYPE => Self::Eip1559 {
                value: U256::decode(f).map_err(field("value"))?,
                max_priority_fee_per_gas: U256::decode(f)
                    .map_err(field("max_priority_fee_per_gas"))?,
                max_fee_per_gas: U256::decode(f).map_err(field("max_fee_per_gas"))?,
                data: Bytes::decode(f).map_err(field("data"))?,
                access_list: AccessList::decode(f).map_err(field("access_list"))?,
            },
            _ => Self::Eip7702 {
                value: U256::decode(f).map_err(field("value"))?,
                max_priority_fee_per_gas: U256::decode(f)
                    .map_err(field("max_priority_fee_per_gas"))?,
                max_fee_per_gas: U256::decode(f).map_err(field("max_fee_per_gas"))?,
                data: Bytes::decode(f).map_err(field("data"))?,
                access_list: AccessList::decode(f).map_err(field("access_list"))?,
                authorization_list: Vec::<SignedAuthorization>::decode(f)
                    .map_err(field("authorization_list"))?,
            },
        };
        if !fields.is_empty() {
            return Err(rlp_err(format!(
                "{} bytes of extra list items",
                fields.len()
            )));
        }
        Ok(data)
    }
}

/// One transaction of a span batch in wire form: everything but the chain id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpanTx {
    /// Recipient; `None` for a contract creation.
    pub to: Option<Address>,
    /// Signature `r`, `s` and y parity.
    pub signature: Signature,
    /// Sender nonce.
    pub nonce: u64,
    /// Gas limit.
    pub gas_limit: u64,
    /// Type-specific fields.
    pub data: SpanTxData,
}

fn fee_u128(value: U256, index: usize, field: &'static str) -> Result<u128, SpanBatchError> {
    u128::try_from(value).map_err(|_| SpanBatchError::FeeOverflow {
        index,
        field,
        value: value.to_string(),
    })
}

impl SpanTx {
    /// The full signed EIP-2718 transaction for `chain_id`; `index` locates errors.
    pub fn to_full_tx(&self, chain_id: ChainId, index: usize) -> Result<Bytes, SpanBatchError> {
        let kind = self.to.map_or(TxKind::Create, TxKind::Call);
        let sig = &self.signature;
        let chain = chain_id.get();
        let mut out = Vec::new();
        match &self.data {
            SpanTxData::Legacy {
                protected,
                value,
                gas_price,
                data,
            } => TxLegacy {
                chain_id: protected.then_some(chain),
                nonce: self.nonce,
                gas_price: fee_u128(*gas_price, index, "gas_price")?,
                gas_limit: self.gas_limit,
                to: kind,
                value: *value,
                input: data.clone(),
            }
            .eip2718_encode(sig, &mut out),
            SpanTxData::Eip2930 {
                value,
                gas_price,
                data,
                access_list,
            } => TxEip2930 {
                chain_id: chain,
                nonce: self.nonce,
                gas_price: fee_u128(*gas_price, index, "gas_price")?,
                gas_limit: self.gas_limit,
                to: kind,
                value: *value,
                access_list: access_list.clone(),
                input: data.clone(),
            }
            .eip2718_encode(sig, &mut out),
            SpanTxData::Eip1559 {
                value,
                max_priority_fee_per_gas,
                max_fee_per_gas,
                data,
                access_list,
            } => TxEip1559 {
                chain_id: chain,
                nonce: self.nonce,
                gas_limit: self.gas_limit,
                max_fee_per_gas: fee_u128(*max_fee_per_gas, index, "max_fee_per_gas")?,
                max_priority_fee_per_gas: fee_u128(
                    *max_priority_fee_per_gas,
                    index,
                    "max_priority_fee_per_gas",
                )?,
                to: kind,
                value: *value,
                access_list: access_list.clone(),
                input: data.clone(),
            }
            .eip2718_encode(sig, &mut out),
            SpanTxData::Eip7702 {
                value,
                max_priority_fee_per_gas,
                max_fee_per_gas,
                data,
                access_list,
                authorization_list,
            } => TxEip7702 {
                chain_id: chain,
                nonce: self.nonce,
                gas_limit: self.gas_limit,
                max_fee_per_gas: fee_u128(*max_fee_per_gas, index, "max_fee_per_gas")?,
                max_priority_fee_per_gas: fee_u128(
                    *max_priority_fee_per_gas,
                    index,
                    "max_priority_fee_per_gas",
                )?,
                to: self.to.ok_or(SpanBatchError::SetCodeWithoutTo { index })?,
                value: *value,
                access_list: access_list.clone(),
                authorization_list: authorization_list.clone(),
                input: data.clone(),
            }
            .eip2718_encode(sig, &mut out),
        }
        Ok(out.into())
    }

    /// Splits a full signed EIP-2718 transaction of chain `chain_id` into span batch form.
    /// `block` and `index` locate errors.
    pub fn from_full_tx(
        tx: &[u8],
        chain_id: ChainId,
        block: usize,
        index: usize,
    ) -> Result<Self, SpanBatchError> {
        let bad = |reason: String| SpanBatchError::BadTransaction {
            block,
            index,
            reason,
        };
        let envelope = TxEnvelope::decode_2718_exact(tx).map_err(|e| bad(e.to_string()))?;
        // What every type has in common comes from the envelope; the match takes the rest.
        let to = envelope.to();
        let signature = *envelope.signature();
        let (nonce, gas_limit) = (envelope.nonce(), envelope.gas_limit());
        let found_chain = envelope.chain_id();
        let data = match envelope {
            TxEnvelope::Legacy(signed) => {
                let t = signed.strip_signature();
                SpanTxData::Legacy {
                    protected: t.chain_id.is_some(),
                    value: t.value,
                    gas_price: U256::from(t.gas_price),
                    data: t.input,
                }
            }
            TxEnvelope::Eip2930(signed) => {
                let t = signed.strip_signature();
                SpanTxData::Eip2930 {
                    value: t.value,
                    gas_price: U256::from(t.gas_price),
                    data: t.input,
                    access_list: t.access_list,
                }
            }
            TxEnvelope::Eip1559(signed) => {
                let t = signed.strip_signature();
                SpanTxData::Eip1559 {
                    value: t.value,
                    max_priority_fee_per_gas: U256::from(t.max_priority_fee_per_gas),
                    max_fee_per_gas: U256::from(t.max_fee_per_gas),
                    data: t.input,
                    access_list: t.access_list,
                }
            }
            TxEnvelope::Eip7702(signed) => {
                let t = signed.strip_signature();
                SpanTxData::Eip7702 {
                    value: t.value,
                    max_priority_fee_per_gas: U256::from(t.max_priority_fee_per_gas),
                    max_fee_per_gas: U256::from(t.max_fee_per_gas),
                    data: t.input,
                    access_list: t.access_list,
                    authorization_list: t.authorization_list,
                }
            }
            TxEnvelope::Eip4844(_) => {
                return Err(bad("blob (type 3) transactions cannot be batched".into()));
            }
        };
        // An unprotected legacy transaction names no chain.
        if let Some(found) = found_chain.filter(|c| *c != chain_id.get()) {
            return Err(SpanBatchError::ChainIdMismatch {
                block,
                index,
                found,
                expected: chain_id.get(),
            });
        }
        Ok(Self {
            to,
            signature,
            nonce,
            gas_limit,
            data,
        })
    }
}

/// Reads the `txs` section of `total` transactions.
pub(crate) fn decode_txs(
    cursor: &mut Cursor<'_>,
    total: usize,
) -> Result<Vec<SpanTx>, BatchDecodeError> {
    let creation = read_bitlist(cursor, total, "contract_creation_bits")?;
    let y_parity = read_bitlist(cursor, total, "y_parity_bits")?;

    // Fixed-size columns: the whole column is checked present before anything is allocated.
    let sig_bytes = cursor.read_bytes(total.saturating_mul(64), "tx_sigs")?;
    let to_count = creation.iter().filter(|c| !**c).count();
    let to_bytes = cursor.read_bytes(to_count.saturating_mul(20), "tx_tos")?;

    // Every remaining entry takes at least one byte: cap allocations by the input left.
    let mut datas = Vec::with_capacity(total.min(cursor.remaining()));
    for index in 0..total {
        datas.push(SpanTxData::decode(cursor, index)?);
    }
    let nonces = read_uvarints(cursor, total, "tx_nonces")?;
    let gases = read_uvarints(cursor, total, "tx_gases")?;
    let legacy_count = datas
        .iter()
        .filter(|d| matches!(d, SpanTxData::Legacy { .. }))
        .count();
    let protected = read_bitlist(cursor, legacy_count, "protected_bits")?;

    let mut sigs = sig_bytes.chunks_exact(64);
    let mut tos = to_bytes.chunks_exact(20);
    let mut protected = protected.into_iter();
    let mut txs = Vec::with_capacity(total);
    let columns = creation
        .into_iter()
        .zip(y_parity)
        .zip(datas)
        .zip(nonces.into_iter().zip(gases));
    for (index, (((is_creation, parity), mut data), (nonce, gas_limit))) in columns.enumerate() {
        let (r, s) = sigs
            .next()
            .map(|rs| rs.split_at(32))
            .map(|(r, s)| (U256::from_be_slice(r), U256::from_be_slice(s)))
            .unwrap_or_default();
        let to = if is_creation {
            None
        } else {
            tos.next().map(Address::from_slice)
        };
        if let SpanTxData::Legacy { protected: p, .. } = &mut data {
            *p = protected.next().unwrap_or(false);
        }
        if to.is_none() && matches!(data, SpanTxData::Eip7702 { .. }) {
            return Err(BatchDecodeError::SetCodeWithoutTo { index });
        }
        txs.push(SpanTx {
            to,
            signature: Signature::new(r, s, parity),
            nonce,
            gas_limit,
            data,
        });
    }
    Ok(txs)
}

/// Reads a column of `total` uvarints.
fn read_uvarints(
    cursor: &mut Cursor<'_>,
    total: usize,
    field: &'static str,
) -> Result<Vec<u64>, BatchDecodeError> {
    // Every uvarint takes at least one byte: cap the allocation by the input left.
    let mut out = Vec::with_capacity(total.min(cursor.remaining()));
    for _ in 0..total {
        out.push(cursor.read_uvarint(field)?);
    }
    Ok(out)
}

/// Appends the `txs` section.
pub(crate) fn encode_txs(txs: &[SpanTx], out: &mut Vec<u8>) {
    let creation: Vec<bool> = txs.iter().map(|t| t.to.is_none()).collect();
    write_bitlist(out, &creation);
    let parity: Vec<bool> = txs.iter().map(|t| t.signature.v()).collect();
    write_bitlist(out, &parity);
    for t in txs {
        out.extend_from_slice(&t.signature.r().to_be_bytes::<32>());
        out.extend_from_slice(&t.signature.s().to_be_bytes::<32>());
    }
    for to in txs.iter().filter_map(|t| t.to) {
        out.extend_from_slice(to.as_slice());
    }
    for t in txs {
        t.data.encode(out);
    }
    for t in txs {
        write_uvarint(out, t.nonce);
    }
    for t in txs {
        write_uvarint(out, t.gas_limit);
    }
    let protected: Vec<bool> = txs
        .iter()
        .filter_map(|t| match t.data {
            SpanTxData::Legacy { protected, .. } => Some(protected),
            _ => None,
        })
        .collect();
    write_bitlist(out, &protected);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode_one(bytes: &[u8]) -> Result<SpanTxData, BatchDecodeError> {
        SpanTxData::decode(&mut Cursor::new(bytes), 0)
    }

    #[test]
    fn legacy_data_is_a_bare_rlp_list() {
        let d = SpanTxData::Legacy {
            protected: false,
            value: U256::from(1),
            gas_price: U256::from(2),
            data: Bytes::from_static(&[0xaa]),
        };
        let mut out = Vec::new();
        d.encode(&mut out);
        assert_eq!(out, [0xc4, 0x01, 0x02, 0x81, 0xaa]);
        assert_eq!(decode_one(&out).unwrap(), d);
    }

    #[test]
    fn typed_data_starts_with_its_type() {
        let d = SpanTxData::Eip1559 {
            value: U256::ZERO,
            max_priority_fee_per_gas: U256::from(1),
            max_fee_per_gas: U256::from(2),
            data: Bytes::new(),
            access_list: AccessList::default(),
        };
        let mut out = Vec::new();
        d.encode(&mut out);
        assert_eq!(out, [0x02, 0xc5, 0x80, 0x01, 0x02, 0x80, 0xc0]);
        assert_eq!(decode_one(&out).unwrap(), d);
    }

    #[test]
    fn non_canonical_and_malformed_data_are_rejected() {
        // value with a leading zero byte
        assert!(matches!(
            decode_one(&[0xc6, 0x82, 0x00, 0x01, 0x02, 0x81, 0xaa]),
            Err(BatchDecodeError::TxData {
                index: 0,
                offset: 0,
                ..
            })
        ));
        // a single byte below 0x80 wrapped in a string header
        assert!(decode_one(&[0xc4, 0x81, 0x01, 0x02, 0x80]).is_err());
        // one field too many
        let err = decode_one(&[0xc4, 0x01, 0x02, 0x80, 0x80]).unwrap_err();
        assert!(err.to_string().contains("extra list items"), "{err}");
        // a byte string where the list should be
        assert!(decode_one(&[0x83, 1, 2, 3]).is_err());
        // typed, then nothing
        assert!(decode_one(&[0x02]).is_err());
    }

    #[test]
    fn fee_above_u128_cannot_become_a_transaction() {
        let tx = SpanTx {
            to: None,
            signature: Signature::new(U256::from(1), U256::from(1), false),
            nonce: 0,
            gas_limit: 0,
            data: SpanTxData::Legacy {
                protected: false,
                value: U256::ZERO,
                gas_price: U256::MAX,
                data: Bytes::new(),
            },
        };
        assert!(matches!(
            tx.to_full_tx(ChainId(1), 3),
            Err(SpanBatchError::FeeOverflow {
                index: 3,
                field: "gas_price",
                ..
            })
        ));
    }

    #[test]
    fn set_code_creation_is_rejected() {
        let tx = SpanTx {
            to: None,
            signature: Signature::new(U256::from(1), U256::from(1), false),
            nonce: 0,
            gas_limit: 0,
            data: SpanTxData::Eip7702 {
                value: U256::ZERO,
                max_priority_fee_per_gas: U256::ZERO,
                max_fee_per_gas: U256::ZERO,
                data: Bytes::new(),
                access_list: AccessList::default(),
                authorization_list: vec![],
            },
        };
        let mut out = Vec::new();
        encode_txs(std::slice::from_ref(&tx), &mut out);
        assert_eq!(
            decode_txs(&mut Cursor::new(&out), 1),
            Err(BatchDecodeError::SetCodeWithoutTo { index: 0 })
        );
        assert_eq!(
            tx.to_full_tx(ChainId(1), 0),
            Err(SpanBatchError::SetCodeWithoutTo { index: 0 })
        );
    }

    #[test]
    fn blob_transactions_cannot_be_batched() {
        // A type-3 envelope: 0x03 ++ rlp([...]) — rejected before any field matters.
        use alloy::consensus::{SignableTransaction, TxEip4844};
        let tx = TxEip4844 {
            chain_id: 1,
            blob_versioned_hashes: vec![alloy::primitives::B256::ZERO],
            ..Default::default()
        };
        let signed = tx.into_signed(Signature::new(U256::from(1), U256::from(1), false));
        let mut out = Vec::new();
        signed.tx().eip2718_encode(signed.signature(), &mut out);
        assert!(matches!(
            SpanTx::from_full_tx(&out, ChainId(1), 0, 0),
            Err(SpanBatchError::BadTransaction { .. })
        ));
    }
}
