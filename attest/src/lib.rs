//! opfleet attestations: the signed statements a supernode makes about safe and finalized heads.
