//! Fee parameters in the header: the Holocene/Jovian extra-data encoding and the EIP-1559 base
//! fee of a child block, computed from its parent alone.
//!
//! ```text
//! extraData (Holocene) = 0x00 | denominator u32 | elasticity u32
//! extraData (Jovian)   = 0x01 | denominator u32 | elasticity u32 | minBaseFee u64
//! child.baseFee = max(parent.minBaseFee, eip1559(parent gas metered, parent params))
//!                 gas metered = gasUsed, or max(gasUsed, blobGasUsed) from Jovian
//! ```

use alloy::{
    eips::{calc_next_block_base_fee, eip1559::BaseFeeParams},
    primitives::{B64, Bytes},
};
use op_alloy_consensus::{
    decode_holocene_extra_data, decode_jovian_extra_data, encode_holocene_extra_data,
    encode_jovian_extra_data,
};

use super::{
    builder::{BuildError, SimBlock},
    spec::Fork,
};

/// Extra data for a block of `fork` with the given attributes' EIP-1559 parameters.
pub(super) fn encode_extra_data(
    fork: Fork,
    params: B64,
    min_base_fee: Option<u64>,
    defaults: BaseFeeParams,
) -> Result<Bytes, BuildError> {
    let [d0, d1, d2, d3, e0, e1, e2, e3] = params.0;
    let (denominator, elasticity) = (
        u32::from_be_bytes([d0, d1, d2, d3]),
        u32::from_be_bytes([e0, e1, e2, e3]),
    );
    // Holocene: all-zero means "use the defaults"; a zero denominator alone is invalid, and a
    // zero elasticity would make the next base fee undefined.
    if !params.is_zero() && (denominator == 0 || elasticity == 0) {
        return Err(BuildError::Eip1559(format!(
            "denominator {denominator} and elasticity {elasticity} must both be non-zero"
        )));
    }
    let encoded = if fork.is_jovian() {
        let min = min_base_fee.ok_or(BuildError::MinBaseFee { fork })?;
        encode_jovian_extra_data(params, defaults, min)
    } else {
        encode_holocene_extra_data(params, defaults)
    };
    encoded.map_err(|e| BuildError::Eip1559(e.to_string()))
}

/// The base fee of a child of `parent`, from the parameters in the parent's extra data.
pub(super) fn next_base_fee(parent: &SimBlock) -> Result<u64, BuildError> {
    let h = parent.header();
    let (elasticity, denominator, min_base_fee, metered) = if parent.fork.is_jovian() {
        let (e, d, m) = decode_jovian_extra_data(&h.extra_data)
            .map_err(|e| BuildError::Eip1559(format!("parent extraData: {e}")))?;
        (e, d, m, h.gas_used.max(h.blob_gas_used.unwrap_or(0)))
    } else {
        let (e, d) = decode_holocene_extra_data(&h.extra_data)
            .map_err(|e| BuildError::Eip1559(format!("parent extraData: {e}")))?;
        (e, d, 0, h.gas_used)
    };
    let base_fee = h.base_fee_per_gas.unwrap_or(0);
    // The EIP-1559 increase can overflow u64 when a huge minBaseFee pinned the parent's base fee;
    // saturate instead (alloy's helper would overflow).
    let target = u128::from(h.gas_limit) / u128::from(elasticity.max(1));
    if target > 0 && u128::from(metered) > target {
        let delta = (u128::from(base_fee) * (u128::from(metered) - target)
            / (target * u128::from(denominator.max(1))))
        .max(1);
        if u128::from(base_fee) + delta > u128::from(u64::MAX) {
            return Ok(u64::MAX);
        }
    }
    let params = BaseFeeParams::new(u128::from(denominator), u128::from(elasticity));
    let fee = calc_next_block_base_fee(metered, h.gas_limit, base_fee, params);
    Ok(fee.max(min_base_fee))
}

#[cfg(test)]
mod tests {
    use super::*;

    const DEFAULTS: BaseFeeParams = BaseFeeParams::new(250, 6);

    #[test]
    fn extra_data_layouts() {
        let holocene = encode_extra_data(Fork::Isthmus, B64::ZERO, None, DEFAULTS).unwrap();
        assert_eq!(holocene.as_ref(), &[0, 0, 0, 0, 250, 0, 0, 0, 6]);
        let params = B64::from([0, 0, 0, 50, 0, 0, 0, 2]);
        let jovian = encode_extra_data(Fork::Jovian, params, Some(0x0102), DEFAULTS).unwrap();
        assert_eq!(
            jovian.as_ref(),
            &[1, 0, 0, 0, 50, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 1, 2]
        );
        assert_eq!(
            encode_extra_data(Fork::Jovian, params, None, DEFAULTS),
            Err(BuildError::MinBaseFee { fork: Fork::Jovian })
        );
        let zero_elasticity = B64::from([0, 0, 0, 50, 0, 0, 0, 0]);
        assert!(matches!(
            encode_extra_data(Fork::Holocene, zero_elasticity, None, DEFAULTS),
            Err(BuildError::Eip1559(_))
        ));
    }
}
