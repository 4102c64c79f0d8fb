//! `opfleet-follower attestation verify FILE [--trust 0xPUBKEY ...]`: for operators debugging
//! trust. Reads one signed attestation (JSON, 314 raw wire bytes, or those bytes as hex),
//! prints it as JSON with `"valid"` (and `"reason"` when invalid), and fails when it does not
//! verify or its signer is not among the trusted keys.

use std::io::Write;
use std::path::{Path, PathBuf};

use alloy::primitives::hex;
use anyhow::{Context, bail};
use opfleet_attest::signed::WIRE_LEN;
use opfleet_attest::{PublicKey, SignedAttestation};

/// `attestation` arguments.
#[derive(Debug, clap::Args)]
pub struct AttestationArgs {
    /// What to do with attestations.
    #[command(subcommand)]
    pub command: AttestationCommand,
}

/// The `attestation` subcommands.
#[derive(Debug, clap::Subcommand)]
pub enum AttestationCommand {
    /// Decode and strictly verify one signed attestation.
    Verify(VerifyArgs),
}

/// `attestation verify` arguments.
#[derive(Debug, clap::Args)]
pub struct VerifyArgs {
    /// File with one signed attestation: JSON, 314 raw wire bytes, or wire bytes as hex.
    pub file: PathBuf,
    /// A trusted signer public key (0x hex); repeat or comma-separate. When given, a signer
    /// outside this set makes the attestation invalid.
    #[arg(
        long = "trust",
        env = "OPFLEET_TRUST",
        value_name = "0xPUBKEY",
        value_delimiter = ','
    )]
    pub trust: Vec<PublicKey>,
}

/// Runs an `attestation` subcommand.
pub fn run(args: AttestationArgs, out: &mut dyn Write) -> anyhow::Result<()> {
    match args.command {
        AttestationCommand::Verify(v) => verify(&v, out),
    }
}

/// The verdict on one signed attestation under an optional trust set.
pub fn verdict(signed: &SignedAttestation, trust: &[PublicKey]) -> Result<(), String> {
    signed.verify().map_err(|e| e.to_string())?;
    if !trust.is_empty() && !trust.contains(&signed.signer) {
        return Err(format!(
            "signer {} is not among the {} trusted key(s)",
            signed.signer,
            trust.len()
        ));
    }
    Ok(())
}

/// Prints the decoded attestation with its verdict; an error when it is not valid.
pub fn verify(args: &VerifyArgs, out: &mut dyn Write) -> anyhow::Result<()> {
    let bytes =
        std::fs::read(&args.file).with_context(|| format!("reading {}", args.file.display()))?;
    let signed = parse(&bytes).with_context(|| format!("decoding {}", args.file.display()))?;
    let verdict = verdict(&signed, &args.trust);
    let mut json = serde_json::to_value(signed).context("encoding the attestation as JSON")?;
    if let Some(obj) = json.as_object_mut() {
        obj.insert("valid".into(), verdict.is_ok().into());
        if let Err(reason) = &verdict {
            obj.insert("reason".into(), reason.clone().into());
        }
    }
    writeln!(out, "{}", serde_json::to_string_pretty(&json)?).context("writing the result")?;
    if let Err(reason) = verdict {
        bail!("{}: invalid attestation: {reason}", display(&args.file));
    }
    Ok(())
}

fn display(p: &Path) -> String {
    p.display().to_string()
}

/// Reads one signed attestation in any of the accepted forms. Raw wire bytes start with the
/// version byte 0x01, so they are never mistaken for JSON or hex text.
pub fn parse(bytes: &[u8]) -> anyhow::Result<SignedAttestation> {
    if bytes.len() == WIRE_LEN && bytes.first() == Some(&1) {
        return Ok(SignedAttestation::from_wire(bytes)?);
    }
    let text = std::str::from_utf8(bytes)
        .context("neither 314 raw wire bytes nor UTF-8 text (JSON or hex)")?
        .trim();
    if text.starts_with('{') {
        return serde_json::from_str(text).context("not a signed attestation in JSON form");
    }
    let wire = hex::decode(text).context("neither JSON nor hex-encoded wire bytes")?;
    Ok(SignedAttestation::from_wire(&wire)?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use opfleet_attest::{Attestation, AttestationKind, SigningKey};
    use opfleet_protocol::{BlockId, ChainId, L2BlockRef};

    fn signed() -> SignedAttestation {
        let a = Attestation {
            kind: AttestationKind::Finalized,
            chain_id: ChainId(10),
            block: L2BlockRef {
                number: 7,
                ..L2BlockRef::default()
            },
            derived_from: BlockId::default(),
            output_root: Default::default(),
            issued_at_ms: 5,
        };
        SignedAttestation::sign(a, &SigningKey::from_bytes(&[3; 32]))
    }

    #[test]
    fn parses_every_form() {
        let s = signed();
        let w = s.to_wire();
        assert_eq!(parse(&w).unwrap(), s);
        assert_eq!(parse(hex::encode(w).as_bytes()).unwrap(), s);
        assert_eq!(
            parse(format!("0x{}\n", hex::encode(w)).as_bytes()).unwrap(),
            s
        );
        assert_eq!(
            parse(serde_json::to_string(&s).unwrap().as_bytes()).unwrap(),
            s
        );
        assert!(parse(b"").is_err());
        assert!(parse(&w[..313]).is_err());
        assert!(parse(b"{}").is_err());
    }

    #[test]
    fn verdicts() {
        let s = signed();
        assert_eq!(verdict(&s, &[]), Ok(()));
        assert_eq!(verdict(&s, &[s.signer]), Ok(()));
        let other = PublicKey::of(&SigningKey::from_bytes(&[4; 32]));
        assert!(verdict(&s, &[other]).unwrap_err().contains("not among"));
        let mut bad = s;
        bad.attestation.issued_at_ms += 1;
        assert!(verdict(&bad, &[]).unwrap_err().contains("does not verify"));
    }
}
