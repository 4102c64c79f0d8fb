//! What the block and the attestation gossip nodes share: a handle that asks an event loop
//! through a command channel, and the swarm bookkeeping the loop does the same way for both.
//!
//! ```text
//!   node handle ── NodeHandle<C>::ask ──C──► event loop (one tokio task)
//!                      (oneshot reply)         ├─ C::Common(CommonCommand) ─► GossipSwarm::answer
//!                                              ├─ node's own commands (publish, requests...)
//!                                              ├─ swarm events: the node's behaviours first,
//!                                              │  the rest ─► GossipSwarm::on_swarm_event
//!                                              └─ PeerTicks: score bans, static-peer redials
//! ```

mod command;
mod handle;
mod swarm;

pub(crate) use command::{CommonCommand, NodeCommand, Reply};
pub(crate) use handle::NodeHandle;
pub(crate) use swarm::{GossipSwarm, HasGossipsub, PeerTicks};
