//! OP Stack types and codecs for opfleet. Pure code: no I/O, no async runtime.

pub mod block;
pub mod chain_id;
pub mod p2p;

pub use block::{BlockId, L1BlockRef, L2BlockRef};
pub use chain_id::ChainId;
