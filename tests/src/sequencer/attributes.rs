//! Payload attributes of one sequenced L2 block: the builder lives in
//! `opfleet_protocol::attributes`, shared with the supernode's derivation.

pub use opfleet_protocol::attributes::{
    AttributesError, BlockRecipe, SEQUENCER_FEE_VAULT, l1_info_params,
};
