//! OP Stack types and codecs for opfleet. Pure code: no I/O, no async runtime.

pub mod attributes;
pub mod batch;
pub mod batcher_data;
pub mod blob;
pub mod block;
pub mod chain_id;
pub mod channel;
pub mod compression;
pub mod config;
pub mod deposit;
pub mod follow_check;
pub mod frame;
pub mod interop;
mod json_compat;
pub mod l1_info;
pub mod output_response;
pub mod output_root;
pub mod p2p;
pub mod safety;
pub mod super_root;
pub mod supernode_rpc;
pub mod supervisor_rpc;
pub mod sync_status;

pub use block::{BlockId, L1BlockRef, L2BlockRef};
pub use chain_id::ChainId;
pub use follow_check::{
    FollowCheckError, FollowRef, check_follow_l1, check_follow_order, check_follow_status,
    follow_l1_numbers,
};
pub use output_response::{OutputResponse, SafeHeadResponse};
pub use safety::SafetyLevel;
pub use super_root::{OutputWithChainId, SuperRootError, SuperV1};
pub use supernode_rpc::{
    OutputWithRequiredL1, SuperRootAtTimestampResponse, SuperRootResponseData, SupernodeSyncStatus,
};
pub use supervisor_rpc::{
    ChainRootInfo, DerivedIdPair, SuperRootResponse, SupervisorChainSyncStatus,
    SupervisorSyncStatus, ToSuperV1Error,
};
pub use sync_status::SyncStatus;
