//! opfleet devnet: a simulated L1 and L2 world speaking the real wire formats, and end-to-end tests.

pub mod batcher;
pub mod devnet;
pub mod el;
pub mod l1;
pub mod sequencer;
