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
    if config.p2p_attest.is_some() {
        anyhow::bail!(
            "--p2p.attest.* is set, but this build has no private attestation gossip yet \
             (opfleet-p2p's attestation node); remove the p2p.attest settings"
        );
    }
    let l1: Arc<dyn CanonicalL1> = Arc::new(L1Rpc::new(&config.l1).context("--l1")?);
    super::init_tracing();
    let runtime = tokio::runtime::Runtime::new().context("starting the async runtime")?;
    runtime.block_on(async {
        let node = attester::service::start(&config, key.clone(), l1, None).await?;
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
