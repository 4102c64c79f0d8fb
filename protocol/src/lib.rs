//! OP Stack types and codecs for opfleet. Pure code: no I/O, no async runtime.

pub mod block;
pub mod chain_id;
pub mod deposit;
pub mod interop;
pub mod l1_info;
pub mod output_root;
pub mod super_root;

pub use block::{BlockId, L1BlockRef, L2BlockRef};
pub use chain_id::ChainId;
