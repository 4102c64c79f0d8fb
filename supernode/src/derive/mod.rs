//! Per-chain derivation from L1 (Holocene and later rules).
//!
//! ```text
//!   traits ── the I/O seams: L1 chain data and blobs (implemented by `crate::l1`)
//! ```

pub mod traits;
