//! opfleet attestations: the signed statements a supernode makes about safe and finalized heads.
//!
//! ```text
//! attestation   Attestation, canonical 218 bytes, signing message
//! signed        SignedAttestation: 314-byte wire form, JSON, sign, strict verify
//! batch_verify  many at once, with the verdicts of strict verification
//! keys          PublicKey, secret key files (0600)
//! policy        TrustPolicy: trusted keys and threshold k
//! evidence      Evidence of equivocation
//! quorum        QuorumTracker: k-of-n heads per chain and kind
//! ```

pub mod attestation;
pub mod batch_verify;
pub mod evidence;
pub mod keys;
pub mod policy;
pub mod quorum;
pub mod signed;

pub use attestation::{Attestation, AttestationKind, DecodeError};
pub use batch_verify::{PreparedKey, verify_batch};
pub use evidence::Evidence;
pub use keys::{KeyFileError, PublicKey, SigningKey};
pub use policy::TrustPolicy;
pub use quorum::{
    Claim, HeadChange, IngestReport, Outcome, QuorumHead, QuorumTracker, Rejection, TrackerConfig,
};
pub use signed::{SignedAttestation, VerifyError, WireError};
