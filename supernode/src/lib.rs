//! opfleet supernode: one process that derives every chain of a dependency set and signs its heads.

pub mod attester;
pub mod cli;
pub mod config;
pub mod derive;
pub mod driver;
pub mod heads;
pub mod inspect;
pub mod l1;
pub mod metrics;
pub mod node;
pub mod publish;
pub mod rpc;
pub mod store;
