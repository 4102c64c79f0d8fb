//! System config changes derivation reads from L1: `ConfigUpdate` logs of the L1 SystemConfig
//! contract (specs `protocol/system-config.md`, op-node `derive/system_config.go`).
//!
//! ```text
//! log: address = rollup.l1_system_config_address, receipt status = success
//!      topics  = [keccak("ConfigUpdate(uint256,uint8,bytes)"), version (= 0), updateType]
//!      data    = | 0x20 (pointer) | length | payload words |
//! type 0 BATCHER            payload: address word            -> batcher_address
//! type 1 FEE_SCALARS        payload: overhead, scalar        -> scalar (Ecotone: checked, overhead 0)
//! type 2 GAS_LIMIT          payload: u64 word                -> gas_limit
//! type 3 UNSAFE_BLOCK_SIGNER                                 -> ignored by derivation
//! type 4 EIP_1559_PARAMS    payload: word, bytes 24..32      -> eip1559_params
//! type 5 OPERATOR_FEE       payload: word                    -> operator_fee_params
//! type 6 MIN_BASE_FEE       payload: u64 word                -> min_base_fee
//! type 7 DA_FOOTPRINT       payload: u16 word                -> da_footprint_gas_scalar
//! ```
//! A malformed log is skipped (the config keeps its value) and reported, as op-node does.

use alloy::consensus::ReceiptEnvelope;
use alloy::primitives::{Address, B64, B256, Log, b256};
use opfleet_protocol::config::{RollupConfig, SystemConfig};

/// `keccak256("ConfigUpdate(uint256,uint8,bytes)")`.
pub const CONFIG_UPDATE_TOPIC: B256 =
    b256!("0x1d2b0bda21d56b8bd12d4f94ebacffdfb35f5e226f84b461103bb8beab6353be");

/// Why a `ConfigUpdate` log was not applied.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigUpdateError {
    /// Not exactly 3 topics.
    #[error("ConfigUpdate log has {0} topics, want 3")]
    Topics(usize),
    /// Topic 1 is not version 0.
    #[error("ConfigUpdate version {0} is unknown")]
    Version(B256),
    /// Topic 2 names no update type.
    #[error("ConfigUpdate type {0} is unknown")]
    UpdateType(B256),
    /// Data is not `pointer 32 | length | words` of the type's size.
    #[error("ConfigUpdate type {update_type}: data {reason}")]
    Data {
        /// The update type.
        update_type: u8,
        /// What is wrong.
        reason: &'static str,
    },
}

/// A `ConfigUpdate` that failed, with where it was.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("system config log {log} of receipt {receipt}: {source}")]
pub struct SkippedUpdate {
    /// Receipt index in the L1 block.
    pub receipt: usize,
    /// Log index in the receipt.
    pub log: usize,
    /// What is wrong with it.
    pub source: ConfigUpdateError,
}

/// Applies the `ConfigUpdate` logs of an L1 block's receipts (block time `l1_time`) to `sys`,
/// in order; returns the updates that were skipped as malformed.
pub fn apply_receipts(
    sys: &mut SystemConfig,
    receipts: &[ReceiptEnvelope],
    rollup: &RollupConfig,
    l1_time: u64,
) -> Vec<SkippedUpdate> {
    let mut skipped = Vec::new();
    for (ri, receipt) in receipts.iter().enumerate() {
        if !receipt.status() {
            continue;
        }
        for (li, log) in receipt.logs().iter().enumerate() {
            if log.address != rollup.l1_system_config_address
                || log.topics().first() != Some(&CONFIG_UPDATE_TOPIC)
            {
                continue;
            }
            if let Err(source) = apply_log(sys, log, rollup, l1_time) {
                skipped.push(SkippedUpdate {
                    receipt: ri,
                    log: li,
                    source,
                });
            }
        }
    }
    skipped
}

/// Applies one `ConfigUpdate` log (its emitter and topic 0 already checked).
pub fn apply_log(
    sys: &mut SystemConfig,
    log: &Log,
    rollup: &RollupConfig,
    l1_time: u64,
) -> Result<(), ConfigUpdateError> {
    let topics = log.topics();
    let [_, version, kind] = topics else {
        return Err(ConfigUpdateError::Topics(topics.len()));
    };
    if *version != B256::ZERO {
        return Err(ConfigUpdateError::Version(*version));
    }
    if kind.0[..31].iter().any(|&b| b != 0) || kind.0[31] > 7 {
        return Err(ConfigUpdateError::UpdateType(*kind));
    }
    let update_type = kind.0[31];
    let data = log.data.data.as_ref();
    match update_type {
        0 => {
            let [w] = payload_words::<1>(data, update_type)?;
            sys.batcher_address = Address::from_word(padded(w, 12, update_type)?);
        }
        1 => {
            let [overhead, scalar] = payload_words::<2>(data, update_type)?;
            if rollup.is_ecotone_active(l1_time) {
                // An invalid Ecotone scalar is ignored: the old one stays (op-node).
                if ecotone_scalar_ok(&scalar) {
                    sys.scalar = scalar;
                    sys.overhead = B256::ZERO;
                }
            } else {
                sys.overhead = overhead;
                sys.scalar = scalar;
            }
        }
        2 => {
            let [w] = payload_words::<1>(data, update_type)?;
            sys.gas_limit = u64_word(padded(w, 24, update_type)?);
        }
        3 => {}
        4 => {
            let [w] = payload_words::<1>(data, update_type)?;
            let params = B64::from_slice(&w.0[24..32]);
            let denominator = u32::from_be_bytes([w.0[24], w.0[25], w.0[26], w.0[27]]);
            let elasticity = u32::from_be_bytes([w.0[28], w.0[29], w.0[30], w.0[31]]);
            if denominator == 0 && elasticity != 0 {
                return Err(ConfigUpdateError::Data {
                    update_type,
                    reason: "has a zero EIP-1559 denominator with a non-zero elasticity",
                });
            }
            sys.eip1559_params = Some(params);
        }
        5 => {
            let [w] = payload_words::<1>(data, update_type)?;
            sys.operator_fee_params = Some(w);
        }
        6 => {
            let [w] = payload_words::<1>(data, update_type)?;
            sys.min_base_fee = Some(u64_word(padded(w, 24, update_type)?));
        }
        _ => {
            let [w] = payload_words::<1>(data, update_type)?;
            let w = padded(w, 30, update_type)?;
            sys.da_footprint_gas_scalar = Some(u16::from_be_bytes([w.0[30], w.0[31]]));
        }
    }
    Ok(())
}

/// Version 0: 27 zero bytes of padding; version 1: 23 (op-node `CheckEcotoneL1SystemConfigScalar`).
fn ecotone_scalar_ok(scalar: &B256) -> bool {
    match scalar.0[0] {
        0 => scalar.0[1..28].iter().all(|&b| b == 0),
        1 => scalar.0[1..24].iter().all(|&b| b == 0),
        _ => false,
    }
}

/// The `N` payload words of ABI `bytes` data: pointer 32, length 32·N, then exactly N words.
fn payload_words<const N: usize>(
    data: &[u8],
    update_type: u8,
) -> Result<[B256; N], ConfigUpdateError> {
    let err = |reason| ConfigUpdateError::Data {
        update_type,
        reason,
    };
    if data.len() != 64 + 32 * N {
        return Err(err("has the wrong length"));
    }
    let word = |i: usize| B256::from_slice(&data[32 * i..32 * (i + 1)]);
    if word(0) != B256::with_last_byte(32) {
        return Err(err("pointer is not 32"));
    }
    let mut len = B256::ZERO;
    len.0[31] = (32 * N) as u8;
    if word(1) != len {
        return Err(err("length does not match the update type"));
    }
    Ok(std::array::from_fn(|i| word(2 + i)))
}

/// The word if its first `zeros` bytes are zero.
fn padded(w: B256, zeros: usize, update_type: u8) -> Result<B256, ConfigUpdateError> {
    if w.0[..zeros].iter().any(|&b| b != 0) {
        return Err(ConfigUpdateError::Data {
            update_type,
            reason: "value has non-zero padding",
        });
    }
    Ok(w)
}

fn u64_word(w: B256) -> u64 {
    let mut b = [0u8; 8];
    b.copy_from_slice(&w.0[24..32]);
    u64::from_be_bytes(b)
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloy::consensus::{Receipt, ReceiptWithBloom};
    use alloy::primitives::{Bytes, LogData, keccak256};
    use proptest::prelude::*;

    const SYS: Address = Address::repeat_byte(0x5c);

    fn rollup() -> RollupConfig {
        RollupConfig {
            l1_system_config_address: SYS,
            hardforks: opfleet_protocol::config::HardForkTimes {
                ecotone_time: Some(0),
                ..Default::default()
            },
            ..Default::default()
        }
    }

    fn log(kind: u8, payload: &[B256]) -> Log {
        let mut data = B256::with_last_byte(32).to_vec();
        data.extend_from_slice(B256::with_last_byte((32 * payload.len()) as u8).as_slice());
        for w in payload {
            data.extend_from_slice(w.as_slice());
        }
        Log {
            address: SYS,
            data: LogData::new_unchecked(
                vec![CONFIG_UPDATE_TOPIC, B256::ZERO, B256::with_last_byte(kind)],
                Bytes::from(data),
            ),
        }
    }

    fn receipt(status: bool, logs: Vec<Log>) -> ReceiptEnvelope {
        ReceiptEnvelope::Eip1559(ReceiptWithBloom::new(
            Receipt {
                status: status.into(),
                cumulative_gas_used: 1,
                logs,
            },
            Default::default(),
        ))
    }

    fn word_u64(v: u64) -> B256 {
        B256::left_padding_from(&v.to_be_bytes())
    }

    #[test]
    fn topic_is_the_event_signature() {
        assert_eq!(
            CONFIG_UPDATE_TOPIC,
            keccak256("ConfigUpdate(uint256,uint8,bytes)")
        );
    }

    #[test]
    fn every_update_type_applies() {
        let batcher = Address::repeat_byte(0xba);
        let mut scalar = B256::ZERO;
        scalar.0[0] = 1;
        scalar.0[31] = 9;
        let mut eip = B256::ZERO;
        eip.0[24..32].copy_from_slice(&[0, 0, 0, 250, 0, 0, 0, 6]);
        let op_fee = B256::repeat_byte(3);
        let logs = vec![
            log(0, &[batcher.into_word()]),
            log(1, &[B256::repeat_byte(1), scalar]),
            log(2, &[word_u64(60_000_000)]),
            log(3, &[B256::repeat_byte(0x11)]),
            log(4, &[eip]),
            log(5, &[op_fee]),
            log(6, &[word_u64(1000)]),
            log(7, &[word_u64(250)]),
        ];
        let mut sys = SystemConfig::default();
        let skipped = apply_receipts(&mut sys, &[receipt(true, logs)], &rollup(), 10);
        assert_eq!(skipped, vec![]);
        assert_eq!(sys.batcher_address, batcher);
        assert_eq!(sys.scalar, scalar);
        assert_eq!(sys.overhead, B256::ZERO);
        assert_eq!(sys.gas_limit, 60_000_000);
        assert_eq!(
            sys.eip1559_params,
            Some(B64::new([0, 0, 0, 250, 0, 0, 0, 6]))
        );
        assert_eq!(sys.operator_fee_params, Some(op_fee));
        assert_eq!(sys.min_base_fee, Some(1000));
        assert_eq!(sys.da_footprint_gas_scalar, Some(250));
    }

    #[test]
    fn failed_receipts_other_emitters_and_bad_logs_are_skipped() {
        let mut other = log(2, &[word_u64(5)]);
        other.address = Address::repeat_byte(1);
        let mut bad_padding = B256::ZERO;
        bad_padding.0[0] = 1;
        let bad_eip = {
            let mut w = B256::ZERO;
            w.0[31] = 6;
            w
        };
        let mut sys = SystemConfig {
            gas_limit: 7,
            ..Default::default()
        };
        let skipped = apply_receipts(
            &mut sys,
            &[
                receipt(false, vec![log(2, &[word_u64(99)])]),
                receipt(
                    true,
                    vec![
                        other,
                        log(2, &[bad_padding]),
                        log(4, &[bad_eip]),
                        log(9, &[word_u64(1)]),
                    ],
                ),
            ],
            &rollup(),
            10,
        );
        assert_eq!(sys.gas_limit, 7);
        assert_eq!(sys.eip1559_params, None);
        assert_eq!(skipped.len(), 3);
        assert_eq!((skipped[0].receipt, skipped[0].log), (1, 1));
        assert!(matches!(
            skipped[2].source,
            ConfigUpdateError::UpdateType(_)
        ));
    }

    #[test]
    fn invalid_ecotone_scalar_keeps_the_old_one() {
        let mut sys = SystemConfig {
            scalar: B256::with_last_byte(4),
            ..Default::default()
        };
        let mut bad = B256::ZERO;
        bad.0[0] = 1;
        bad.0[5] = 1;
        let skipped = apply_receipts(
            &mut sys,
            &[receipt(true, vec![log(1, &[B256::ZERO, bad])])],
            &rollup(),
            10,
        );
        assert!(skipped.is_empty());
        assert_eq!(sys.scalar, B256::with_last_byte(4));
    }

    proptest! {
        #[test]
        fn arbitrary_logs_never_panic(
            kind in any::<[u8; 32]>(),
            data in proptest::collection::vec(any::<u8>(), 0..200),
        ) {
            let l = Log {
                address: SYS,
                data: LogData::new_unchecked(
                    vec![CONFIG_UPDATE_TOPIC, B256::ZERO, B256::from(kind)],
                    Bytes::from(data),
                ),
            };
            let mut sys = SystemConfig::default();
            let _ = apply_log(&mut sys, &l, &rollup(), 0);
        }
    }
}
