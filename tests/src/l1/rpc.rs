//! The execution-layer JSON-RPC server (jsonrpsee over HTTP), with the JSON shapes of geth.
//!
//! ```text
//! eth_chainId  eth_blockNumber  eth_syncing  net_version  web3_clientVersion
//! eth_getBlockByNumber(tag|number, full)   tags: latest pending safe finalized earliest
//! eth_getBlockByHash(hash, full)           eth_getBlockReceipts(tag|number|hash)
//! eth_getTransactionByHash(hash)           eth_getTransactionReceipt(hash)
//! eth_getLogs(filter)
//! eth_getStorageAt(address, slot, block)   eth_getProof(address, slots, block)
//!     storage of the SystemConfigs (see `system_config`); every other account has none
//! debug_getRawHeader / debug_getRawBlock / debug_getRawReceipts(tag|number|hash)
//! ```
//! Unknown blocks and transactions answer `null`, as geth does.

use alloy::consensus::Transaction as _;
use alloy::eips::eip2718::Encodable2718;
use alloy::eips::eip4844::DATA_GAS_PER_BLOB;
use alloy::eips::{BlockId, BlockNumberOrTag};
use alloy::primitives::{Address, B256, Bytes, U64};
use alloy::rpc::types::{
    Block, BlockTransactions, Filter, FilterBlockOption, Header as RpcHeader, Log as RpcLog,
    Transaction, TransactionReceipt,
};
use alloy::serde::JsonStorageKey;
use jsonrpsee::server::{RpcModule, Server, ServerHandle};
use jsonrpsee::types::{ErrorObjectOwned, Params};
use serde::Serialize;
use serde_json::Value;

use super::SharedChain;
use super::block::L1Block;
use super::chain::L1Chain;

/// JSON-RPC "invalid params".
const INVALID_PARAMS: i32 = -32602;
/// Geth's generic server error code.
const SERVER_ERROR: i32 = -32000;
/// At most this many blocks per `eth_getLogs` range, like the limits public nodes set.
const MAX_LOG_RANGE: u64 = 10_000;

type RpcResult = Result<Value, ErrorObjectOwned>;

/// Why the JSON-RPC server did not start.
#[derive(Debug, thiserror::Error)]
pub enum RpcServerError {
    /// Binding the listener failed.
    #[error("binding the L1 JSON-RPC server: {0}")]
    Bind(std::io::Error),
    /// A method name was registered twice (a programming error).
    #[error("registering L1 JSON-RPC methods: {0}")]
    Register(#[from] jsonrpsee::core::RegisterMethodError),
}

/// Starts the server on `addr`; returns its address and handle.
pub async fn serve(
    chain: SharedChain,
    addr: std::net::SocketAddr,
) -> Result<(std::net::SocketAddr, ServerHandle), RpcServerError> {
    let server = Server::builder()
        .build(addr)
        .await
        .map_err(RpcServerError::Bind)?;
    let local = server.local_addr().map_err(RpcServerError::Bind)?;
    let handle = server.start(module(chain)?);
    Ok((local, handle))
}

/// The RPC methods over the shared chain.
pub fn module(chain: SharedChain) -> Result<RpcModule<SharedChain>, RpcServerError> {
    let mut m = RpcModule::new(chain);
    m.register_method("eth_chainId", |_, c, _| {
        json(U64::from(super::lock(c).chain_id().get()))
    })?;
    m.register_method("net_version", |_, c, _| {
        json(super::lock(c).chain_id().get().to_string())
    })?;
    m.register_method("web3_clientVersion", |_, _, _| json("opfleet-devnet-l1"))?;
    m.register_method("eth_syncing", |_, _, _| json(false))?;
    m.register_method("eth_blockNumber", |_, c, _| {
        json(U64::from(super::lock(c).head().header.number))
    })?;
    m.register_method("eth_getBlockByNumber", |p, c, _| {
        let (tag, full) = block_and_full::<BlockNumberOrTag>(p)?;
        let chain = super::lock(c);
        json(by_tag(&chain, tag).map(|b| rpc_block(b, full)))
    })?;
    m.register_method("eth_getBlockByHash", |p, c, _| {
        let (hash, full) = block_and_full::<B256>(p)?;
        let chain = super::lock(c);
        json(chain.by_hash(&hash).map(|b| rpc_block(b, full)))
    })?;
    m.register_method("eth_getBlockReceipts", |p, c, _| {
        let id: BlockId = p.one().map_err(invalid)?;
        let chain = super::lock(c);
        json(by_id(&chain, id).map(|b| {
            (0..b.txs.len())
                .map(|i| rpc_receipt(b, i))
                .collect::<Vec<_>>()
        }))
    })?;
    // The raw encodings some rollup nodes (older kona) fetch instead of JSON objects.
    m.register_method("debug_getRawHeader", |p, c, _| {
        let id: BlockId = p.one().map_err(invalid)?;
        let chain = super::lock(c);
        json(by_id(&chain, id).map(|b| Bytes::from(alloy::rlp::encode(&b.header))))
    })?;
    m.register_method("debug_getRawBlock", |p, c, _| {
        let id: BlockId = p.one().map_err(invalid)?;
        let chain = super::lock(c);
        json(by_id(&chain, id).map(|b| Bytes::from(alloy::rlp::encode(b.consensus_block()))))
    })?;
    m.register_method("debug_getRawReceipts", |p, c, _| {
        let id: BlockId = p.one().map_err(invalid)?;
        let chain = super::lock(c);
        json(by_id(&chain, id).map(|b| {
            b.txs
                .iter()
                .map(|m| Bytes::from(m.receipt.encoded_2718()))
                .collect::<Vec<_>>()
        }))
    })?;
    m.register_method("eth_getTransactionReceipt", |p, c, _| {
        let hash: B256 = p.one().map_err(invalid)?;
        let chain = super::lock(c);
        json(locate(&chain, &hash).map(|(b, i)| rpc_receipt(b, i)))
    })?;
    m.register_method("eth_getTransactionByHash", |p, c, _| {
        let hash: B256 = p.one().map_err(invalid)?;
        let chain = super::lock(c);
        json(locate(&chain, &hash).map(|(b, i)| rpc_tx(b, i)))
    })?;
    m.register_method("eth_getStorageAt", |p, c, _| {
        let mut seq = p.sequence();
        let address: Address = seq.next().map_err(invalid)?;
        let slot: JsonStorageKey = seq.next().map_err(invalid)?;
        let id: Option<BlockId> = seq.optional_next().map_err(invalid)?;
        let chain = super::lock(c);
        let number = state_block(&chain, id)?;
        let value = chain
            .system_config_at(&address, number)
            .map_or(B256::ZERO, |s| s.get(&slot.as_b256()));
        json(value)
    })?;
    m.register_method("eth_getProof", |p, c, _| {
        let mut seq = p.sequence();
        let address: Address = seq.next().map_err(invalid)?;
        let keys: Vec<JsonStorageKey> = seq.next().map_err(invalid)?;
        let id: Option<BlockId> = seq.optional_next().map_err(invalid)?;
        let chain = super::lock(c);
        let number = state_block(&chain, id)?;
        let storage = chain.system_config_at(&address, number).unwrap_or_default();
        json(storage.account_proof(address, &keys))
    })?;
    m.register_method("eth_getLogs", |p, c, _| {
        let filter: Filter = p.one().map_err(invalid)?;
        let chain = super::lock(c);
        json(logs(&chain, &filter)?)
    })?;
    Ok(m)
}

fn json<T: Serialize>(value: T) -> RpcResult {
    serde_json::to_value(value)
        .map_err(|e| ErrorObjectOwned::owned(SERVER_ERROR, e.to_string(), None::<()>))
}

fn invalid(e: ErrorObjectOwned) -> ErrorObjectOwned {
    ErrorObjectOwned::owned(INVALID_PARAMS, e.message().to_string(), None::<()>)
}

fn server_error(message: String) -> ErrorObjectOwned {
    ErrorObjectOwned::owned(SERVER_ERROR, message, None::<()>)
}

/// `[block, fullTransactions]`, the flag defaulting to false.
fn block_and_full<T: serde::de::DeserializeOwned>(
    p: Params<'_>,
) -> Result<(T, bool), ErrorObjectOwned> {
    let mut seq = p.sequence();
    let block: T = seq.next().map_err(invalid)?;
    let full: Option<bool> = seq.optional_next().map_err(invalid)?;
    Ok((block, full.unwrap_or(false)))
}

fn by_tag(chain: &L1Chain, tag: BlockNumberOrTag) -> Option<&L1Block> {
    match tag {
        BlockNumberOrTag::Latest | BlockNumberOrTag::Pending => Some(chain.head()),
        BlockNumberOrTag::Safe => Some(chain.safe()),
        BlockNumberOrTag::Finalized => Some(chain.finalized()),
        BlockNumberOrTag::Earliest => chain.by_number(0),
        BlockNumberOrTag::Number(n) => chain.by_number(n),
    }
}

fn by_id(chain: &L1Chain, id: BlockId) -> Option<&L1Block> {
    match id {
        BlockId::Hash(h) => chain.by_hash(&h.block_hash),
        BlockId::Number(tag) => by_tag(chain, tag),
    }
}

/// The block whose state a storage read names (latest by default); a pruned or unknown block
/// fails as on a node that no longer has that state.
fn state_block(chain: &L1Chain, id: Option<BlockId>) -> Result<u64, ErrorObjectOwned> {
    let id = id.unwrap_or(BlockId::Number(BlockNumberOrTag::Latest));
    by_id(chain, id)
        .map(|b| b.header.number)
        .ok_or_else(|| server_error(format!("header not found: {id}")))
}

fn tag_number(chain: &L1Chain, tag: Option<BlockNumberOrTag>) -> u64 {
    tag.and_then(|t| by_tag(chain, t))
        .map_or(chain.head().header.number, |b| b.header.number)
}

fn locate<'a>(chain: &'a L1Chain, hash: &B256) -> Option<(&'a L1Block, usize)> {
    let loc = chain.tx_location(hash)?;
    Some((chain.by_number(loc.block)?, loc.index))
}

/// The block as `eth_getBlockBy*` returns it.
pub fn rpc_block(b: &L1Block, full: bool) -> Block {
    let transactions = if full {
        BlockTransactions::Full((0..b.txs.len()).map(|i| rpc_tx(b, i)).collect())
    } else {
        BlockTransactions::Hashes(b.txs.iter().map(|m| m.tx.hash()).collect())
    };
    Block {
        header: RpcHeader {
            hash: b.hash,
            inner: b.header.clone(),
            total_difficulty: Some(alloy::primitives::U256::ZERO),
            size: Some(alloy::primitives::U256::from(b.size)),
        },
        uncles: Vec::new(),
        transactions,
        withdrawals: Some(Default::default()),
    }
}

fn rpc_tx(b: &L1Block, index: usize) -> Transaction {
    let m = &b.txs[index];
    Transaction {
        inner: m.tx.tx.clone(),
        block_hash: Some(b.hash),
        block_number: Some(b.header.number),
        transaction_index: Some(index as u64),
        effective_gas_price: Some(m.effective_gas_price),
        block_timestamp: None,
    }
}

fn rpc_receipt(b: &L1Block, index: usize) -> TransactionReceipt {
    let m = &b.txs[index];
    let tx = m.tx.tx.inner();
    let mut log_index = m.first_log_index;
    let inner = m.receipt.clone().map_logs(|log| {
        let rpc = rpc_log(b, index, log_index, log);
        log_index += 1;
        rpc
    });
    let blob_count = tx.blob_versioned_hashes().map_or(0, <[B256]>::len) as u64;
    TransactionReceipt {
        inner,
        transaction_hash: m.tx.hash(),
        transaction_index: Some(index as u64),
        block_hash: Some(b.hash),
        block_number: Some(b.header.number),
        gas_used: m.gas_used,
        effective_gas_price: m.effective_gas_price,
        blob_gas_used: (blob_count > 0).then_some(blob_count * DATA_GAS_PER_BLOB),
        blob_gas_price: (blob_count > 0).then(|| b.blob_gas_price()),
        from: m.tx.tx.signer(),
        to: tx.to(),
        contract_address: tx
            .kind()
            .is_create()
            .then(|| m.tx.tx.signer().create(tx.nonce())),
    }
}

fn rpc_log(b: &L1Block, tx_index: usize, log_index: u64, log: alloy::primitives::Log) -> RpcLog {
    RpcLog {
        inner: log,
        block_hash: Some(b.hash),
        block_number: Some(b.header.number),
        block_timestamp: Some(b.header.timestamp),
        transaction_hash: b.txs.get(tx_index).map(|m| m.tx.hash()),
        transaction_index: Some(tx_index as u64),
        log_index: Some(log_index),
        removed: false,
    }
}

/// `eth_getLogs` over canonical blocks.
fn logs(chain: &L1Chain, filter: &Filter) -> Result<Vec<RpcLog>, ErrorObjectOwned> {
    let blocks: Vec<&L1Block> = match &filter.block_option {
        FilterBlockOption::AtBlockHash(hash) => vec![
            chain
                .by_hash(hash)
                .ok_or_else(|| server_error(format!("unknown block {hash}")))?,
        ],
        FilterBlockOption::Range {
            from_block,
            to_block,
        } => {
            let from = tag_number(chain, *from_block);
            let to = tag_number(chain, *to_block);
            if from > to {
                return Err(server_error(format!(
                    "invalid block range: fromBlock {from} is after toBlock {to}"
                )));
            }
            if to - from >= MAX_LOG_RANGE {
                return Err(server_error(format!(
                    "block range {from}..={to} is longer than {MAX_LOG_RANGE} blocks"
                )));
            }
            chain.range(from, to).collect()
        }
    };
    let mut out = Vec::new();
    for b in blocks {
        if !filter.matches_bloom(b.header.logs_bloom) {
            continue;
        }
        for (tx_index, m) in b.txs.iter().enumerate() {
            for (i, log) in m.receipt.logs().iter().enumerate() {
                if filter.matches(log) {
                    out.push(rpc_log(
                        b,
                        tx_index,
                        m.first_log_index + i as u64,
                        log.clone(),
                    ));
                }
            }
        }
    }
    Ok(out)
}
