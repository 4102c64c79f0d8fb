//! `opfleet-supernode attest`: sign the safe and finalized heads of trusted op-nodes (one per
//! chain) without deriving, after checking them against our own L1.
//!
//! ```text
//! opfleet-supernode attest --chain op-sepolia --follow http://op-node:9545 \
//!     --l1 http://l1:8545 --signer.key attest.key --data-dir /var/lib/opfleet
//! opfleet-supernode attest --chains op-sepolia,unichain-sepolia \
//!     --l2.11155420.follow URL --l2.1301.follow URL ...
//! ```

use std::io::Write;
use std::sync::Arc;

use anyhow::Context;
use opfleet_attest::{PublicKey, keys};

use super::node_args::NodeArgs;
use crate::attester::{self, CanonicalL1, L1Rpc};
use crate::config::Mode;

/// `attest` arguments.
#[derive(Debug, clap::Args)]
pub struct AttestArgs {
    /// The op-node to follow, when exactly one chain is configured.
    #[arg(long, env = "OPFLEET_FOLLOW", value_name = "URL")]
    pub follow: Option<String>,
    /// One chain by registry name or id (same as --chains with one entry).
    #[arg(long, env = "OPFLEET_CHAIN", value_name = "NAME")]
    pub chain: Option<String>,
    /// Everything else a node takes.
    #[command(flatten)]
    pub node: NodeArgs,
}

/// Runs the attester until interrupted.
pub fn run(args: &AttestArgs, out: &mut dyn Write) -> anyhow::Result<()> {
    let mut node_args = args.node.clone();
    node_args.chains.extend(args.chain.clone());
    let config = node_args.resolve(Mode::Attest, std::env::vars(), args.follow.clone())?;
    let key = keys::load_secret_key(&config.signer_key)?;
    let l1: Arc<dyn CanonicalL1> = Arc::new(L1Rpc::new(&config.l1).context("--l1")?);
    super::init_tracing();
    let runtime = tokio::runtime::Runtime::new().context("starting the async runtime")?;
    runtime.block_on(async {
        let sink = super::attest_gossip_sink(&config, out).await?;
        let node = attester::service::start(&config, key.clone(), l1, sink).await?;
        writeln!(
            out,
            "attester {} serving {} chain(s) at http://{}",
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

    fn parse(args: &[&str]) -> Cli {
        Cli::parse_args(args.iter().map(std::ffi::OsString::from)).unwrap()
    }

    #[test]
    fn op_node_style_flags_parse() {
        let cli = parse(&[
            "opfleet-supernode",
            "attest",
            "--chains",
            "op-sepolia,unichain-sepolia",
            "--l2.11155420.follow",
            "http://a:9545",
            "--l2.1301.follow=http://b:9545",
            "--l1",
            "http://l1:8545",
            "--signer.key",
            "/k",
            "--data-dir",
            "/d",
            "--rpc.port",
            "0",
            "--metrics.enabled",
        ]);
        let Command::Attest(args) = cli.command else {
            panic!("not attest");
        };
        let cfg = args
            .node
            .resolve(crate::config::Mode::Attest, [], None)
            .unwrap();
        assert_eq!(cfg.chains.len(), 2);
        assert_eq!(
            cfg.chains[0].endpoints.follow.as_deref(),
            Some("http://b:9545")
        );
        assert_eq!(cfg.rpc.port(), 0);
        assert!(cfg.metrics.is_some());
    }

    #[test]
    fn missing_values_are_named() {
        let cli = parse(&[
            "opfleet-supernode",
            "attest",
            "--chain",
            "op-sepolia",
            "--follow",
            "http://a:9545",
            "--signer.key",
            "/k",
            "--data-dir",
            "/d",
        ]);
        let Command::Attest(args) = cli.command else {
            panic!("not attest");
        };
        let mut node = args.node.clone();
        node.chains.extend(args.chain.clone());
        let err = node
            .resolve(crate::config::Mode::Attest, [], args.follow.clone())
            .unwrap_err();
        assert!(err.to_string().contains("--l1"), "{err}");
    }
}
