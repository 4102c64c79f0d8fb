//! Execution-client access for opfleet: the Engine API with JWT authentication, and the eth
//! reads a consensus client makes of its L2 execution client, answered as rollup-node types.
//!
//! ```text
//! jwt            JwtSecret: jwt.hex files, HS256 tokens with iat = now
//! rpc            RpcTransport: JSON-RPC over HTTP, a fresh token per request, typed errors
//! engine_client  EngineClient: forkchoiceUpdatedV3, getPayloadV3/V4, newPayloadV3/V4
//! block          OpRpcBlock, hash and transactions-root checks, consensus form
//! block_ref      L2BlockRef from a block's L1-info deposit (genesis: the rollup anchor)
//! payload        PayloadForGossip: a block back as its V1..V4 execution payload
//! output         OutputAtBlock: output root v0 from the message passer's proven storage root
//! l2_client      L2Client: the eth reads above, over HTTP
//! ```
//! The pure parts (block, block_ref, payload, output) do no I/O.

pub mod block;
pub mod block_ref;
pub mod engine_client;
pub mod jwt;
pub mod l2_client;
pub mod output;
pub mod payload;
pub mod rpc;

pub use block::{
    BlockCheckError, OpConsensusBlock, OpRpcBlock, check_block, consensus_block,
    encoded_transactions,
};
pub use block_ref::{BlockRefError, l1_info_of, l2_block_ref};
pub use engine_client::{EngineClient, EngineError, PayloadVersion};
pub use jwt::{JwtError, JwtSecret};
pub use l2_client::{L2Client, L2ClientError, is_not_found_message};
pub use output::{OutputAtBlock, OutputError, output_from_proof};
pub use payload::{
    PayloadError, PayloadForGossip, payload_block_hash, payload_from_block, topic_fork_times,
};
pub use rpc::{DEFAULT_TIMEOUT, RpcError, RpcTransport};
