//! The two L1 contracts the rollup reads, reduced to the calls and events they must produce.
//!
//! ```text
//! EOA --depositTransaction(to, value, gasLimit, isCreation, data){value: mint}--> OptimismPortal
//!       log: TransactionDeposited(from, to, version 0, opaqueData)     (specs protocol/deposits.md)
//! owner --setBatcherHash(bytes32)--> SystemConfig
//!       log: ConfigUpdate(version 0, updateType 0 = BATCHER, abi.encode(batcherHash))
//!                                                                (specs protocol/system-config.md)
//! ```
//! There is no EVM: the L1 attaches these logs to the receipts of the calling transactions
//! directly. Calldata is real ABI encoding, so the transactions look like the real ones.

use alloy::primitives::{Address, B256, Bytes, Log, TxKind, U256};
use alloy::sol_types::{SolCall, SolEvent, sol};
use opfleet_protocol::deposit::deposit_log;

sol! {
    #![sol(alloy_sol_types = alloy::sol_types)]

    /// `OptimismPortal.depositTransaction`, the entry point of user deposits.
    function depositTransaction(
        address _to,
        uint256 _value,
        uint64 _gasLimit,
        bool _isCreation,
        bytes _data
    ) payable;

    /// `SystemConfig.setBatcherHash`, the owner's call to change the batcher.
    function setBatcherHash(bytes32 _batcherHash);

    /// `SystemConfig.ConfigUpdate`, the event op-node derives system config changes from.
    event ConfigUpdate(uint256 indexed version, uint8 indexed updateType, bytes data);
}

/// `ConfigUpdate` update type 0: the batcher hash changed.
pub const UPDATE_TYPE_BATCHER: u8 = 0;

/// The only defined `ConfigUpdate` version.
pub const CONFIG_UPDATE_VERSION_0: U256 = U256::ZERO;

/// A user deposit as the portal receives it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Deposit {
    /// The depositing account (an EOA here, so not aliased).
    pub from: Address,
    /// L2 recipient, or contract creation.
    pub to: TxKind,
    /// ETH minted on L2: the `msg.value` of the L1 call.
    pub mint: u128,
    /// ETH transferred to the recipient on L2.
    pub value: U256,
    /// L2 gas limit.
    pub gas_limit: u64,
    /// L2 calldata.
    pub data: Bytes,
}

impl Deposit {
    /// The calldata of the `depositTransaction` call that makes this deposit.
    pub fn portal_calldata(&self) -> Bytes {
        let (to, is_creation) = match self.to {
            TxKind::Call(to) => (to, false),
            TxKind::Create => (Address::ZERO, true),
        };
        depositTransactionCall {
            _to: to,
            _value: self.value,
            _gasLimit: self.gas_limit,
            _isCreation: is_creation,
            _data: self.data.clone(),
        }
        .abi_encode()
        .into()
    }

    /// The `TransactionDeposited` log the portal at `portal` emits for this deposit.
    pub fn log(&self, portal: Address) -> Log {
        deposit_log(
            portal,
            self.from,
            self.to,
            self.mint,
            self.value,
            self.gas_limit,
            &self.data,
        )
    }
}

/// Version-0 batcher hash of an address: `bytes32(uint256(uint160(batcher)))`.
pub fn batcher_hash(batcher: Address) -> B256 {
    batcher.into_word()
}

/// The calldata of the owner's `setBatcherHash` call for `batcher`.
pub fn set_batcher_calldata(batcher: Address) -> Bytes {
    setBatcherHashCall {
        _batcherHash: batcher_hash(batcher),
    }
    .abi_encode()
    .into()
}

/// The `ConfigUpdate(0, BATCHER, abi.encode(batcherHash))` log of `system_config`.
pub fn batcher_update_log(system_config: Address, batcher: Address) -> Log {
    let event = ConfigUpdate {
        version: CONFIG_UPDATE_VERSION_0,
        updateType: UPDATE_TYPE_BATCHER,
        data: batcher_hash(batcher).to_vec().into(),
    };
    Log {
        address: system_config,
        data: event.encode_log_data(),
    }
}

/// The batcher a `ConfigUpdate` BATCHER log sets, if `log` is one (any emitter: the caller
/// checks the address). A batcher hash with non-zero padding is not a version-0 address.
pub fn batcher_from_log(log: &Log) -> Option<Address> {
    let event = ConfigUpdate::decode_log_data(&log.data).ok()?;
    if event.version != CONFIG_UPDATE_VERSION_0 || event.updateType != UPDATE_TYPE_BATCHER {
        return None;
    }
    let hash = B256::try_from(event.data.as_ref()).ok()?;
    hash[..12]
        .iter()
        .all(|b| *b == 0)
        .then(|| Address::from_word(hash))
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloy::primitives::{address, keccak256};
    use opfleet_protocol::deposit::deposit_from_log;

    #[test]
    fn config_update_topics_and_data_follow_the_spec() {
        let sc = address!("0x0000000000000000000000000000000000005c00");
        let batcher = address!("0x1111111111111111111111111111111111111111");
        let log = batcher_update_log(sc, batcher);
        assert_eq!(log.address, sc);
        let topics = log.topics();
        assert_eq!(topics.len(), 3);
        assert_eq!(topics[0], keccak256("ConfigUpdate(uint256,uint8,bytes)"));
        assert_eq!(topics[1], B256::ZERO);
        assert_eq!(topics[2], B256::ZERO);
        // abi.encode(bytes): offset 0x20, length 0x20, then the batcher hash.
        let data = &log.data.data;
        assert_eq!(data.len(), 96);
        assert_eq!(U256::from_be_slice(&data[0..32]), U256::from(32));
        assert_eq!(U256::from_be_slice(&data[32..64]), U256::from(32));
        assert_eq!(&data[64..76], &[0u8; 12]);
        assert_eq!(&data[76..96], batcher.as_slice());
        assert_eq!(batcher_from_log(&log), Some(batcher));
    }

    #[test]
    fn other_logs_are_not_batcher_updates() {
        let d = Deposit {
            from: Address::repeat_byte(1),
            to: TxKind::Create,
            mint: 0,
            value: U256::ZERO,
            gas_limit: 1,
            data: Bytes::new(),
        };
        assert_eq!(batcher_from_log(&d.log(Address::ZERO)), None);
    }

    #[test]
    fn set_batcher_calldata_has_the_selector() {
        let data = set_batcher_calldata(Address::repeat_byte(7));
        assert_eq!(&data[..4], &keccak256("setBatcherHash(bytes32)")[..4]);
        assert_eq!(data.len(), 36);
    }

    #[test]
    fn deposit_log_derives_back_into_the_deposit() {
        let portal = address!("0x00000000000000000000000000000000000a11ce");
        let d = Deposit {
            from: Address::repeat_byte(1),
            to: TxKind::Call(Address::repeat_byte(2)),
            mint: 5,
            value: U256::from(3),
            gas_limit: 100_000,
            data: Bytes::from_static(b"hello"),
        };
        let tx = deposit_from_log(portal, B256::repeat_byte(9), 4, &d.log(portal)).unwrap();
        assert_eq!(tx.from, d.from);
        assert_eq!(tx.to, d.to);
        assert_eq!(tx.mint, d.mint);
        assert_eq!(tx.value, d.value);
        assert_eq!(tx.gas_limit, d.gas_limit);
        assert_eq!(tx.input, d.data);

        let call = depositTransactionCall::abi_decode(&d.portal_calldata()).unwrap();
        assert_eq!(call._to, Address::repeat_byte(2));
        assert!(!call._isCreation);
        assert_eq!(call._data, d.data);
    }
}
