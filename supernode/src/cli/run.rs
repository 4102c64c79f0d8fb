//! `opfleet-supernode run`: derive every configured chain from L1, drive its execution client,
//! and sign, store, serve and publish its safe and finalized heads.
//!
//! ```text
//! opfleet-supernode run --chains op-sepolia,unichain-sepolia --l1 URL --l1.beacon URL \
//!     --l2.11155420.engine URL --l2.11155420.rpc URL --l2.11155420.jwt-secret FILE ... \
//!     --signer.key FILE --data-dir DIR
//! opfleet-supernode run --config supernode.toml
//! ```

use std::io::Write;

use anyhow::Context;
use opfleet_attest::{PublicKey, keys};

use super::node_args::NodeArgs;
use crate::config::Mode;
use crate::node::derivation;

/// `run` arguments.
#[derive(Debug, clap::Args)]
pub struct RunArgs {
    /// Everything a node takes.
    #[command(flatten)]
    pub node: NodeArgs,
}

/// Runs the supernode until interrupted.
pub fn run(args: &RunArgs, out: &mut dyn Write) -> anyhow::Result<()> {
    let config = args.node.resolve(Mode::Derive, std::env::vars(), None)?;
    let key = keys::load_secret_key(&config.signer_key)?;
    super::init_tracing();
    let runtime = tokio::runtime::Runtime::new().context("starting the async runtime")?;
    runtime.block_on(async {
        let sink = super::attest_gossip_sink(&config, out).await?;
        let node = derivation::start(&config, key.clone(), sink).await?;
        writeln!(
            out,
            "supernode {} deriving {} chain(s), serving at http://{}",
            PublicKey::of(&key),
            config.chains.len(),
            node.rpc_addr()
        )?;
        super::wait_for_shutdown().await;
        node.shutdown().await;
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use crate::cli::{Cli, Command};

    #[test]
    fn run_flags_resolve_and_missing_ones_are_named() {
        let cli = Cli::parse_args(
            [
                "opfleet-supernode",
                "run",
                "--chains",
                "op-sepolia",
                "--l2.11155420.engine",
                "http://geth:8551",
                "--l2.11155420.rpc",
                "http://geth:8545",
                "--l1",
                "http://l1:8545",
                "--l1.beacon",
                "http://beacon:5052",
                "--signer.key",
                "/k",
                "--data-dir",
                "/d",
            ]
            .map(std::ffi::OsString::from),
        )
        .unwrap();
        let Command::Run(args) = cli.command else {
            panic!("not run");
        };
        let err = args
            .node
            .resolve(crate::config::Mode::Derive, [], None)
            .unwrap_err();
        assert!(
            err.to_string().contains("--l2.11155420.jwt-secret"),
            "{err}"
        );
        let cfg = args
            .node
            .resolve(
                crate::config::Mode::Derive,
                [(
                    "OPFLEET_L2_11155420_JWT_SECRET".to_string(),
                    "/jwt".to_string(),
                )],
                None,
            )
            .unwrap();
        assert_eq!(cfg.chains[0].chain_id().get(), 11155420);
    }
}
