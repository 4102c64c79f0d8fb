//! opfleet follower: a light consensus client that follows heads attested by a quorum of supernodes.

pub mod cli;
