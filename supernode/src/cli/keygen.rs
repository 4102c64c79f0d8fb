//! `opfleet-supernode keygen --out FILE`: a new ed25519 attestation key in DESIGN's key file
//! format (64 hex characters, mode 0600); prints the public key as `0x` hex for followers'
//! trust policies.

use std::io::Write;
use std::path::PathBuf;

use anyhow::Context;
use opfleet_attest::{PublicKey, keys};

/// `keygen` arguments.
#[derive(Debug, clap::Args)]
pub struct KeygenArgs {
    /// Where to write the secret key; must not exist yet.
    #[arg(long, env = "OPFLEET_KEYGEN_OUT", value_name = "FILE")]
    pub out: PathBuf,
}

/// Generates and saves the key, then prints its public key.
pub fn run(args: &KeygenArgs, out: &mut dyn Write) -> anyhow::Result<()> {
    let key = keys::generate().context("reading the operating system's random source")?;
    keys::save_secret_key(&args.out, &key)?;
    writeln!(out, "{}", PublicKey::of(&key)).context("writing the public key")?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_a_loadable_key_and_prints_its_public_key() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("signer.key");
        let mut printed = Vec::new();
        run(&KeygenArgs { out: path.clone() }, &mut printed).unwrap();
        let key = keys::load_secret_key(&path).unwrap();
        assert_eq!(
            String::from_utf8(printed).unwrap(),
            format!("{}\n", PublicKey::of(&key))
        );
    }
}
