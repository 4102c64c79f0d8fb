//! The cross-chain feed: initiating logs of every devnet chain's canonical blocks, shared by all
//! sequencers so that each one can execute messages of the others.
//!
//! ```text
//!  sequencer A ── after each block: push(A's initiating logs) ─┐
//!                                                              ├─▶ [first, first + len) (append,
//!  sequencer B ── push(B's) ───────────────────────────────────┘   oldest dropped past FEED_WINDOW)
//!  txgen of A reads entries of other chains from its cursor on ◀──────┘
//! ```
//! Entries keep their absolute index, so cursors stay valid when old entries go. Only the
//! newest [`FEED_WINDOW`] are kept: a generator executes logs within a block or two of their
//! creation, so an entry that old has been read by every chain (one that lags further just
//! skips to the oldest kept entry).

use std::collections::VecDeque;
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

/// Entries kept (see the module documentation).
pub const FEED_WINDOW: usize = 4096;

#[derive(Debug, Default)]
struct Entries {
    /// Absolute index of `kept[0]`.
    first: usize,
    kept: VecDeque<InitiatingLog>,
}

/// The shared registry of initiating logs, appended to and trimmed to [`FEED_WINDOW`].
#[derive(Clone, Debug, Default)]
pub struct InteropFeed(Arc<Mutex<Entries>>);

impl InteropFeed {
    /// An empty feed.
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> MutexGuard<'_, Entries> {
        // Every update completes before unlocking: a poisoned lock still holds consistent entries.
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Appends the initiating logs of a new canonical block.
    pub fn push(&self, logs: impl IntoIterator<Item = InitiatingLog>) {
        let mut e = self.lock();
        e.kept.extend(logs);
        while e.kept.len() > FEED_WINDOW {
            e.kept.pop_front();
            e.first += 1;
        }
    }

    /// Number of entries ever pushed (the index the next one gets).
    pub fn len(&self) -> usize {
        let e = self.lock();
        e.first + e.kept.len()
    }

    /// Whether nothing was ever pushed.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Entries held.
    pub fn held(&self) -> usize {
        self.lock().kept.len()
    }

    /// Kept entries from index `from` on, with their indices.
    pub fn since(&self, from: usize) -> Vec<(usize, InitiatingLog)> {
        let e = self.lock();
        let skip = from.saturating_sub(e.first);
        e.kept
            .iter()
            .enumerate()
            .skip(skip)
            .map(|(i, l)| (e.first + i, l.clone()))
            .collect()
    }

    /// Every kept entry.
    pub fn all(&self) -> Vec<InitiatingLog> {
        self.lock().kept.iter().cloned().collect()
    }
}
