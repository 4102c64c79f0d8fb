//! opfleet supernode: one process that derives every chain of a dependency set and signs its heads.

pub mod cli;
pub mod derive;
pub mod driver;
pub mod heads;
pub mod inspect;
