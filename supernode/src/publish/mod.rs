//! Turning adopted heads into signed, stored and published attestations.
//!
//! ```text
//!   gate      ── which live heads are adopted (no regression, restart catch-up)
//!   plan      ── which attestations adopted heads call for
//!   sink      ── the gossip seam (AttestSink)
//!   publisher ── the per-chain task tying them to the store, NodeState and the sink
//! ```

pub mod gate;
pub mod plan;
pub mod publisher;
pub mod sink;

pub use gate::{Gate, HoldReason};
pub use plan::{Claim, plan};
pub use publisher::{ChainPublisher, SignError, now_ms};
pub use sink::{AttestSink, SinkError};
