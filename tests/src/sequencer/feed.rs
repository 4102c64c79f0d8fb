//! The cross-chain feed: initiating logs of every devnet chain's canonical blocks, shared by all
//! sequencers so that each one can execute messages of the others.
//!
//! ```text
//!  sequencer A ── after each block: push(A's initiating logs) ─┐
//!                                                              ├─▶ Vec<InitiatingLog> (append only)
//!  sequencer B ── push(B's) ───────────────────────────────────┘      │
//!  txgen of A reads entries of other chains from its cursor on ◀──────┘
//! ```

use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use alloy::primitives::Log;
use opfleet_protocol::ChainId;
use opfleet_protocol::interop::ExecutingMessage;

/// One initiating log of a canonical block.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InitiatingLog {
    /// Chain that emitted it.
    pub chain_id: ChainId,
    /// Block number.
    pub block_number: u64,
    /// Index of the log in its block.
    pub log_index: u32,
    /// Block timestamp.
    pub timestamp: u64,
    /// The log.
    pub log: Log,
}

impl InitiatingLog {
    /// The executing message that points at this log.
    pub fn executing_message(&self) -> ExecutingMessage {
        ExecutingMessage::for_initiating_log(
            self.chain_id,
            self.block_number,
            self.log_index,
            self.timestamp,
            &self.log,
        )
    }
}

/// The shared, append-only registry of initiating logs.
#[derive(Clone, Debug, Default)]
pub struct InteropFeed(Arc<Mutex<Vec<InitiatingLog>>>);

impl InteropFeed {
    /// An empty feed.
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> MutexGuard<'_, Vec<InitiatingLog>> {
        // Every update is one extend: a poisoned lock still holds a consistent list.
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Appends the initiating logs of a new canonical block.
    pub fn push(&self, logs: impl IntoIterator<Item = InitiatingLog>) {
        self.lock().extend(logs);
    }

    /// Number of entries so far.
    pub fn len(&self) -> usize {
        self.lock().len()
    }

    /// Whether the feed is empty.
    pub fn is_empty(&self) -> bool {
        self.lock().is_empty()
    }

    /// Entries from index `from` on, with their indices.
    pub fn since(&self, from: usize) -> Vec<(usize, InitiatingLog)> {
        self.lock()
            .iter()
            .enumerate()
            .skip(from)
            .map(|(i, l)| (i, l.clone()))
            .collect()
    }

    /// Every entry.
    pub fn all(&self) -> Vec<InitiatingLog> {
        self.lock().clone()
    }
}
