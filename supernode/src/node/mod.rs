//! A running node's shared state and the seams to its execution clients.

pub mod derivation;
pub mod service;
pub mod sources;
pub mod state;

pub use sources::{ElPayloads, OutputAtBlock, OutputRootSource, PayloadSource, SourceError};
pub use state::{ChainSetup, ChainState, LatestAttestations, NodeState};
