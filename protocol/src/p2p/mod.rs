//! op-node compatible unsafe-block gossip, without any networking: topic names, the message
//! codec, block signatures, the message id, the validation rules and the `payload_by_number`
//! codec. The libp2p side (in the follower) feeds bytes in and acts on the verdicts.
//!
//! ```text
//!             sequencer                                       follower
//!   payload ─► sign_block ─► encode_block_message ─► gossip ─► message_id (dedup)
//!   (op-alloy OpExecutionPayload)                              validate_message ─► GossipVerdict
//!                                                                 │ decode_block_message
//!                                                                 │ signer, time, hash, fields
//!                                                                 └ SeenBlocks per height
//!   gap? ─► encode_request ─► /opstack/req/payload_by_number/<chain>/0 ─► decode_response
//! ```

pub mod envelope;
pub mod errors;
pub mod message_id;
pub mod params;
pub mod req_resp;
pub mod seen;
pub mod signature;
pub mod topic;
pub mod validation;

#[cfg(test)]
mod testutil;

pub use envelope::{
    MAX_GOSSIP_SIZE, decode_block_message, decode_decompressed, encode_block_message,
    payload_version,
};
pub use errors::{EnvelopeError, ReqRespError, SignatureError, TopicParseError};
pub use message_id::{MessageId, message_id};
pub use params::{GossipsubParams, OP_NODE_GOSSIPSUB};
pub use req_resp::{PayloadByNumberResponse, ResultCode, payload_by_number_protocol_id};
pub use seen::SeenBlocks;
pub use signature::{block_signing_hash, recover_signer, sign_block, verify_signer};
pub use topic::{BlockTopicVersion, GossipTopic, TopicForkTimes, TopicForks};
pub use validation::{
    GossipValidationContext, GossipVerdict, IgnoreReason, RejectReason, validate_block,
    validate_message,
};
