//! Starting, running and stopping the world, and the faults it can be put through.
//!
//! ```text
//!  start: L1 (batcher = devnet batcher key) ─▶ per chain: SimEl ─▶ RollupConfig ─▶ rollup.json,
//!         jwt file ─▶ Sequencer (+ InteropFeed) ─▶ SequencerNode (gossip) ─▶ BatcherNode
//!         ─▶ Fleet registry ─▶ swarm.key ─▶ supernode pool ─▶ followers ─▶ admin server
//!         ─▶ endpoints file ─▶ fault plan timer
//!  later: World::add_supernode / add_follower (tests), registered and listed the same way
//! ```

use std::path::PathBuf;
use std::sync::{Arc, Mutex, OnceLock, PoisonError};
use std::time::Duration;

use alloy::primitives::Address;
use alloy::signers::local::PrivateKeySigner;
use libp2p::Multiaddr;
use opfleet_p2p::{NodeError, P2pConfig, identity_from_hex};
use opfleet_protocol::config::RollupConfig;
use opfleet_protocol::{BlockId, ChainId, L1BlockRef};
use serde::Serialize;
use tokio::task::JoinHandle;

use super::admin::{self, AdminServer};
use super::config::{ConfigError, DevnetConfig, FaultPlan, L1_CHAIN_ID, keys};
use super::context::{FleetChain, FleetContext, FleetStartError};
use super::endpoints::{self, ChainEndpoints, Endpoints, EndpointsError, NodeEntry};
use super::fleet::{Fleet, FleetError, FleetNode, NodeKind};
use super::followers::{FleetFollower, FollowerSpec};
use super::nodes::{BatcherFaultError, BatcherNode, SequencerNode};
use super::supernodes::{FleetSupernode, SupernodeSpec};
use crate::batcher::{BatcherConfig, BatcherError, L1Sink};
use crate::el::{ChainSpec, JwtSecret, SimEl, SimElConfig, SimElHandle, SpawnError};
use crate::l1::{L1, L1Config, L1Error, L1Handle, ReorgError, ReorgMode, ReorgOutcome};
use crate::sequencer::{
    DevnetChainConfig, InteropFeed, RollupAnchor, Sequencer, SequencerConfig, SequencerError,
};

/// Why the devnet did not start.
#[derive(Debug, thiserror::Error)]
pub enum DevnetError {
    /// The configuration is unusable.
    #[error("devnet configuration: {0}")]
    Config(#[from] ConfigError),
    /// The L1 did not start.
    #[error("L1: {0}")]
    L1(#[from] L1Error),
    /// An execution client did not start.
    #[error("execution client of chain {chain}: {source}")]
    El {
        /// The chain.
        chain: ChainId,
        /// Why.
        source: SpawnError,
    },
    /// A sequencer did not start.
    #[error("sequencer of chain {chain}: {source}")]
    Sequencer {
        /// The chain.
        chain: ChainId,
        /// Why.
        source: SequencerError,
    },
    /// A sequencer's P2P node did not start.
    #[error("P2P node of chain {chain}: {source}")]
    P2p {
        /// The chain.
        chain: ChainId,
        /// Why.
        source: NodeError,
    },
    /// A key could not be made.
    #[error("key: {0}")]
    Key(String),
    /// A batcher did not start.
    #[error("batcher of chain {chain}: {source}")]
    Batcher {
        /// The chain.
        chain: ChainId,
        /// Why.
        source: BatcherError,
    },
    /// The output directory could not be written.
    #[error(transparent)]
    Output(#[from] EndpointsError),
    /// The admin server did not start.
    #[error("admin server: {0}")]
    Admin(#[from] admin::AdminError),
    /// The fleet registry refused a node.
    #[error(transparent)]
    Fleet(#[from] FleetError),
    /// A supernode or follower did not start.
    #[error(transparent)]
    FleetStart(#[from] FleetStartError),
    /// The swarm key could not be written.
    #[error("swarm key: {0}")]
    SwarmKey(String),
}

/// Why a fault could not be applied.
#[derive(Debug, thiserror::Error)]
pub enum FaultError {
    /// No such chain.
    #[error("no chain {0} in this devnet")]
    UnknownChain(ChainId),
    /// The L1 refused the reorg.
    #[error(transparent)]
    Reorg(#[from] ReorgError),
    /// The batcher is killed.
    #[error(transparent)]
    Batcher(#[from] BatcherFaultError),
    /// A kill or restart failed.
    #[error(transparent)]
    Fleet(#[from] FleetError),
}

/// One running L2 chain.
pub struct ChainRuntime {
    rollup: RollupConfig,
    spec: ChainSpec,
    jwt: JwtSecret,
    el: Mutex<Option<SimElHandle>>,
    sequencer: Arc<SequencerNode>,
    batcher: Arc<BatcherNode>,
    endpoints: ChainEndpoints,
}

impl ChainRuntime {
    /// The chain id.
    pub fn chain_id(&self) -> ChainId {
        self.rollup.l2_chain_id
    }

    /// Its rollup configuration.
    pub fn rollup(&self) -> &RollupConfig {
        &self.rollup
    }

    /// The sequencer node.
    pub fn sequencer(&self) -> &Arc<SequencerNode> {
        &self.sequencer
    }

    /// The batcher node.
    pub fn batcher(&self) -> &Arc<BatcherNode> {
        &self.batcher
    }

    /// The execution client's head (`None` once stopped).
    pub fn head(&self) -> Option<BlockId> {
        self.el
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .as_ref()
            .map(|el| el.head().id())
    }

    /// The sequencer's canonical block at `number` (`None` if not built yet, or once stopped).
    pub fn block(&self, number: u64) -> Option<BlockId> {
        self.el
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .as_ref()
            .and_then(|el| el.block_by_number(number))
            .map(|b| b.id())
    }

    /// Its endpoints.
    pub fn endpoints(&self) -> &ChainEndpoints {
        &self.endpoints
    }
}

/// The running world behind a [`DevnetHandle`] (shared with the admin server).
pub struct World {
    l1: Arc<L1Handle>,
    chains: Vec<ChainRuntime>,
    fleet: Fleet,
    feed: Option<InteropFeed>,
    confs: u64,
    ctx: FleetContext,
    members: Mutex<Members>,
    /// Serializes node starts so names and ports are handed out once.
    starting: tokio::sync::Mutex<()>,
    follower_threshold: usize,
    endpoints_file: PathBuf,
    admin_url: OnceLock<String>,
}

/// The supernodes and followers of a world, in start order.
#[derive(Default)]
struct Members {
    supernodes: Vec<Arc<FleetSupernode>>,
    followers: Vec<Arc<FleetFollower>>,
}

/// The status `admin_status` reports and the progress line prints.
#[derive(Clone, Debug, Serialize)]
pub struct Status {
    /// L1 head, safe and finalized.
    pub l1: L1Status,
    /// Per chain.
    pub chains: Vec<ChainStatus>,
    /// Every fleet node.
    pub nodes: Vec<NodeStatus>,
}

/// The L1's tags.
#[derive(Clone, Debug, Serialize)]
pub struct L1Status {
    /// Head.
    pub head: L1BlockRef,
    /// Safe.
    pub safe: BlockId,
    /// Finalized.
    pub finalized: BlockId,
}

/// One chain's progress.
#[derive(Clone, Debug, Serialize)]
pub struct ChainStatus {
    /// Chain id.
    pub chain_id: ChainId,
    /// Unsafe head of its execution client.
    pub head: Option<BlockId>,
    /// Blocks handed to libp2p.
    pub gossiped: u64,
    /// Whether the batcher is paused (`None`: killed).
    pub batcher_paused: Option<bool>,
    /// Last L2 block in a fully posted channel.
    pub batcher_posted: Option<BlockId>,
    /// Batch transactions sent, over every run of the batcher.
    pub batch_txs: u64,
    /// The batcher's last error.
    pub batcher_error: Option<String>,
    /// Times the running batcher posted again what an L1 reorg lost.
    pub batcher_l1_rewinds: u64,
}

/// One fleet node.
#[derive(Clone, Debug, Serialize)]
pub struct NodeStatus {
    /// Name.
    pub name: String,
    /// Kind.
    pub kind: NodeKind,
    /// Whether it runs.
    pub running: bool,
}

impl std::fmt::Display for Status {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "L1 #{}", self.l1.head.number)?;
        for c in &self.chains {
            let head = c
                .head
                .map_or_else(|| "-".to_string(), |h| h.number.to_string());
            let posted = c
                .batcher_posted
                .map_or_else(|| "-".to_string(), |p| p.number.to_string());
            let state = match c.batcher_paused {
                None => " (batcher killed)",
                Some(true) => " (batcher paused)",
                Some(false) => "",
            };
            write!(
                f,
                " | chain {}: head #{head}, posted #{posted}, {} batch txs{state}",
                c.chain_id, c.batch_txs
            )?;
        }
        let down: Vec<_> = self.nodes.iter().filter(|n| !n.running).collect();
        if !down.is_empty() {
            write!(f, " | down:")?;
            for n in down {
                write!(f, " {}", n.name)?;
            }
        }
        Ok(())
    }
}

impl World {
    /// The L1.
    pub fn l1(&self) -> &L1Handle {
        &self.l1
    }

    /// The chains.
    pub fn chains(&self) -> &[ChainRuntime] {
        &self.chains
    }

    /// The chain `id`.
    pub fn chain(&self, id: ChainId) -> Result<&ChainRuntime, FaultError> {
        self.chains
            .iter()
            .find(|c| c.chain_id() == id)
            .ok_or(FaultError::UnknownChain(id))
    }

    /// The fleet registry.
    pub fn fleet(&self) -> &Fleet {
        &self.fleet
    }

    /// The interop feed (initiating logs of every chain), when interop is on.
    pub fn feed(&self) -> Option<&InteropFeed> {
        self.feed.as_ref()
    }

    /// What fleet nodes start from (chains, L1, swarm key).
    pub fn fleet_context(&self) -> &FleetContext {
        &self.ctx
    }

    /// Every supernode, in start order.
    pub fn supernodes(&self) -> Vec<Arc<FleetSupernode>> {
        lock(&self.members).supernodes.clone()
    }

    /// The pool: supernodes started with the world and those added with `join_pool`.
    pub fn pool(&self) -> Vec<Arc<FleetSupernode>> {
        self.supernodes()
            .into_iter()
            .filter(|s| s.in_pool())
            .collect()
    }

    /// Every follower, in start order.
    pub fn followers(&self) -> Vec<Arc<FleetFollower>> {
        lock(&self.members).followers.clone()
    }

    /// The spec of the world's own followers for `chain`: every pool URL (WebSocket push),
    /// the pool's gossip, the pool's keys and the world's threshold.
    pub fn pool_follower_spec(&self, chain: ChainId) -> FollowerSpec {
        let pool = self.pool();
        let threshold = self.follower_threshold.min(pool.len()).max(1);
        let mut spec =
            FollowerSpec::attested(chain, pool.iter().map(|s| s.signer()).collect(), threshold);
        spec.supernode_urls = pool.iter().map(|s| s.ws_url()).collect();
        spec.gossip_peers = pool
            .iter()
            .filter_map(|s| s.gossip_addr())
            .map(|a| a.to_string())
            .collect();
        spec.attest_gossip = !spec.gossip_peers.is_empty();
        spec
    }

    /// Starts a supernode after the world started; it is registered (kill/restart by name)
    /// and listed in the endpoints file.
    pub async fn add_supernode(
        &self,
        spec: SupernodeSpec,
    ) -> Result<Arc<FleetSupernode>, FleetStartError> {
        self.start_supernode(spec, self.ctx.addr(0)).await
    }

    /// Starts a follower after the world started; registered and listed like
    /// [`Self::add_supernode`].
    pub async fn add_follower(
        &self,
        spec: FollowerSpec,
    ) -> Result<Arc<FleetFollower>, FleetStartError> {
        self.start_follower(spec, self.ctx.addr(0)).await
    }

    async fn start_supernode(
        &self,
        spec: SupernodeSpec,
        rpc: std::net::SocketAddr,
    ) -> Result<Arc<FleetSupernode>, FleetStartError> {
        let _one_at_a_time = self.starting.lock().await;
        let name = spec
            .name
            .clone()
            .unwrap_or_else(|| format!("supernode-{}", lock(&self.members).supernodes.len()));
        let node = FleetSupernode::start(&self.ctx, name, &spec, rpc).await?;
        if let Err(e) = self.fleet.register(node.clone()) {
            let _ = node.kill().await;
            node.stop_els().await;
            return Err(e.into());
        }
        lock(&self.members).supernodes.push(node.clone());
        tracing::info!(node = node.name(), rpc = %node.rpc_url(), signer = %node.signer(), "supernode started");
        self.rewrite_endpoints();
        Ok(node)
    }

    async fn start_follower(
        &self,
        spec: FollowerSpec,
        rpc: std::net::SocketAddr,
    ) -> Result<Arc<FleetFollower>, FleetStartError> {
        let _one_at_a_time = self.starting.lock().await;
        let name = spec
            .name
            .clone()
            .unwrap_or_else(|| format!("follower-{}", lock(&self.members).followers.len()));
        let node = FleetFollower::start(&self.ctx, name, spec, rpc).await?;
        if let Err(e) = self.fleet.register(node.clone()) {
            let _ = node.kill().await;
            node.stop_el().await;
            return Err(e.into());
        }
        lock(&self.members).followers.push(node.clone());
        tracing::info!(node = node.name(), chain = %node.chain_id(), rpc = %node.rpc_url(), "follower started");
        self.rewrite_endpoints();
        Ok(node)
    }

    /// Every endpoint now, nodes added since start included (the admin URL is empty until
    /// the admin server runs).
    pub fn endpoints(&self) -> Endpoints {
        endpoints_of(self, self.admin_url.get().cloned().unwrap_or_default())
    }

    /// Rewrites the endpoints file once the world runs (nodes added by tests appear in it).
    fn rewrite_endpoints(&self) {
        if let Some(admin) = self.admin_url.get()
            && let Err(e) = endpoints_of(self, admin.clone()).write(&self.endpoints_file)
        {
            tracing::warn!(error = %e, "endpoints file not rewritten");
        }
    }

    /// Reorgs the last `depth` L1 blocks away (they are replaced by `depth + 1` new ones);
    /// the new branch re-includes their transactions at once.
    pub fn l1_reorg(&self, depth: u64) -> Result<ReorgOutcome, FaultError> {
        self.l1_reorg_with(depth, ReorgMode::Requeue)
    }

    /// Reorgs the last `depth` L1 blocks away, their transactions treated as `mode` says
    /// (with [`ReorgMode::DropSubmitted`] the batchers must notice and post again).
    pub fn l1_reorg_with(&self, depth: u64, mode: ReorgMode) -> Result<ReorgOutcome, FaultError> {
        if depth >= self.confs {
            tracing::warn!(
                depth,
                sequencer_l1_confs = self.confs,
                "L1 reorg may reach the sequencers' L1 origins"
            );
        }
        Ok(self.l1.reorg_with(depth, mode)?)
    }

    /// The next block of `chain` carries an executing message for a log that does not exist.
    pub fn inject_invalid_executing_message(&self, chain: ChainId) -> Result<(), FaultError> {
        self.chain(chain)?
            .sequencer
            .controls()
            .inject_invalid_executing_message();
        tracing::warn!(%chain, "next block carries an invalid executing message");
        Ok(())
    }

    /// `chain`'s sequencer signs and gossips two different blocks at the next height.
    pub fn equivocate_next_block(&self, chain: ChainId) -> Result<(), FaultError> {
        self.chain(chain)?
            .sequencer
            .controls()
            .equivocate_next_block();
        tracing::warn!(%chain, "sequencer equivocates at the next height");
        Ok(())
    }

    /// `chain`'s batcher stops posting.
    pub async fn batcher_stop(&self, chain: ChainId) -> Result<(), FaultError> {
        Ok(self.chain(chain)?.batcher.pause().await?)
    }

    /// `chain`'s batcher resumes, posting the backlog.
    pub async fn batcher_resume(&self, chain: ChainId) -> Result<(), FaultError> {
        Ok(self.chain(chain)?.batcher.resume().await?)
    }

    /// Kills the fleet node `name`.
    pub async fn node_kill(&self, name: &str) -> Result<(), FaultError> {
        Ok(self.fleet.kill(name).await?)
    }

    /// Restarts the fleet node `name` (and rewrites the endpoints file: a node may come back
    /// with a new libp2p identity).
    pub async fn node_restart(&self, name: &str) -> Result<(), FaultError> {
        self.fleet.restart(name).await?;
        self.rewrite_endpoints();
        Ok(())
    }

    /// Where everything is.
    pub fn status(&self) -> Status {
        let chains = self
            .chains
            .iter()
            .map(|c| {
                let (live, earlier) = c.batcher.status();
                ChainStatus {
                    chain_id: c.chain_id(),
                    head: c.head(),
                    gossiped: c.sequencer.published(),
                    batcher_paused: live.as_ref().map(|s| s.paused),
                    batcher_posted: live.as_ref().and_then(|s| s.posted),
                    batch_txs: earlier + live.as_ref().map_or(0, |s| s.txs),
                    batcher_l1_rewinds: live.as_ref().map_or(0, |s| s.l1_rewinds),
                    batcher_error: live.and_then(|s| s.last_error),
                }
            })
            .collect();
        let nodes = self
            .fleet
            .nodes()
            .iter()
            .map(|n| NodeStatus {
                name: n.name().to_string(),
                kind: n.kind(),
                running: n.is_running(),
            })
            .collect();
        L1Status {
            head: self.l1.head(),
            safe: self.l1.safe().id(),
            finalized: self.l1.finalized().id(),
        }
        .pipe(|l1| Status { l1, chains, nodes })
    }

    /// Applies `plan` once, `plan.at` from now (restarts and resumes later, if asked).
    async fn run_plan(self: Arc<Self>, plan: FaultPlan) {
        tokio::time::sleep(plan.at).await;
        tracing::warn!(?plan, "applying the start-time fault plan");
        if let Some(depth) = plan.l1_reorg_depth
            && let Err(e) = self.l1_reorg_with(depth, plan.l1_reorg_mode)
        {
            tracing::error!(error = %e, "planned L1 reorg failed");
        }
        for &c in &plan.invalid_executing_message {
            if let Err(e) = self.inject_invalid_executing_message(c) {
                tracing::error!(error = %e, "planned invalid executing message failed");
            }
        }
        for &c in &plan.equivocate {
            if let Err(e) = self.equivocate_next_block(c) {
                tracing::error!(error = %e, "planned equivocation failed");
            }
        }
        for &c in &plan.batcher_stop {
            if let Err(e) = self.batcher_stop(c).await {
                tracing::error!(error = %e, "planned batcher stop failed");
            }
        }
        for name in &plan.kill {
            if let Err(e) = self.node_kill(name).await {
                tracing::error!(error = %e, "planned kill failed");
            }
        }
        let resume = plan
            .batcher_resume_after
            .filter(|_| !plan.batcher_stop.is_empty());
        let restart = plan.restart_after.filter(|_| !plan.kill.is_empty());
        let mut later: Vec<(Duration, bool)> = Vec::new();
        later.extend(resume.map(|d| (d, true)));
        later.extend(restart.map(|d| (d, false)));
        later.sort();
        let mut waited = Duration::ZERO;
        for (at, is_resume) in later {
            tokio::time::sleep(at.saturating_sub(waited)).await;
            waited = at;
            if is_resume {
                for &c in &plan.batcher_stop {
                    if let Err(e) = self.batcher_resume(c).await {
                        tracing::error!(error = %e, "planned batcher resume failed");
                    }
                }
            } else {
                for name in &plan.kill {
                    if let Err(e) = self.node_restart(name).await {
                        tracing::error!(error = %e, "planned restart failed");
                    }
                }
            }
        }
    }
}

/// `x.pipe(f)` = `f(x)`, to keep a struct literal readable.
trait Pipe: Sized {
    fn pipe<R>(self, f: impl FnOnce(Self) -> R) -> R {
        f(self)
    }
}
impl<T> Pipe for T {}

/// Starts devnets.
#[derive(Debug)]
pub struct Devnet;

/// A running devnet.
pub struct DevnetHandle {
    world: Arc<World>,
    endpoints: Endpoints,
    admin: Option<AdminServer>,
    plan: Option<JoinHandle<()>>,
}

impl Devnet {
    /// Starts everything `config` asks for; returns once every endpoint answers and the
    /// endpoints file (if asked) is written.
    pub async fn start(config: DevnetConfig) -> Result<DevnetHandle, DevnetError> {
        config.validate()?;
        endpoints::create_dir(&config.out_dir)?;
        let batcher_key = keys::batcher();
        let batcher = PrivateKeySigner::from_bytes(&batcher_key)
            .map_err(|e| DevnetError::Key(e.to_string()))?
            .address();
        let ports = config.ports;
        let l1_config = L1Config {
            chain_id: L1_CHAIN_ID,
            block_time: config.l1_block_time,
            initial_batcher: batcher,
            rpc_addr: ports.addr(ports.l1_rpc),
            beacon_addr: ports.addr(ports.beacon),
            blob_retention: config.l1_blob_retention,
            ..L1Config::devnet()
        };
        let l1 = Arc::new(L1::spawn(l1_config).await?);
        let feed = config.interop.then(InteropFeed::new);
        let fleet = Fleet::new();
        let mut chains = Vec::new();
        for (index, &chain) in config.chain_ids.iter().enumerate() {
            let runtime = start_chain(
                &config,
                index,
                chain,
                &l1,
                batcher_key,
                batcher,
                feed.clone(),
            )
            .await?;
            fleet.register(runtime.sequencer.clone())?;
            fleet.register(runtime.batcher.clone())?;
            chains.push(runtime);
        }
        let swarm_key = absolute(&config.out_dir.join("swarm.key"));
        opfleet_p2p::attest::SwarmKey::from_bytes(keys::swarm_key())
            .to_file(&swarm_key)
            .map_err(|e| DevnetError::SwarmKey(e.to_string()))?;
        let ctx = FleetContext {
            l1_rpc: l1.rpc_url(),
            beacon: l1.beacon_url(),
            host: ports.host,
            out_dir: absolute(&config.out_dir),
            swarm_key,
            chains: chains
                .iter()
                .map(|c| FleetChain {
                    rollup: c.rollup.clone(),
                    rollup_file: c.endpoints.rollup_config.clone(),
                    jwt: c.jwt.clone(),
                    jwt_file: c.endpoints.jwt_secret_file.clone(),
                    spec: c.spec,
                    sequencer_p2p: c.endpoints.sequencer_p2p.clone(),
                    unsafe_block_signer: c.endpoints.unsafe_block_signer,
                })
                .collect(),
        };
        let endpoints_file = config
            .endpoints_file
            .clone()
            .unwrap_or_else(|| config.out_dir.join("endpoints.json"));
        let world = Arc::new(World {
            l1,
            chains,
            fleet,
            feed,
            confs: config.sequencer_l1_confs,
            ctx,
            members: Mutex::default(),
            starting: tokio::sync::Mutex::new(()),
            follower_threshold: config.follower_threshold,
            endpoints_file: endpoints_file.clone(),
            admin_url: OnceLock::new(),
        });
        if let Err(e) = start_fleet(&world, &config).await {
            stop_world(world).await;
            return Err(e);
        }
        let admin = admin::serve(world.clone(), ports.addr(ports.admin)).await?;
        let endpoints = endpoints_of(&world, admin.url());
        let _ = world.admin_url.set(admin.url());
        endpoints.write(&endpoints_file)?;
        let plan = (!config.faults.is_empty())
            .then(|| tokio::spawn(world.clone().run_plan(config.faults.clone())));
        Ok(DevnetHandle {
            world,
            endpoints,
            admin: Some(admin),
            plan,
        })
    }
}

async fn start_chain(
    config: &DevnetConfig,
    index: usize,
    chain: ChainId,
    l1: &Arc<L1Handle>,
    batcher_key: alloy::primitives::B256,
    batcher: Address,
    feed: Option<InteropFeed>,
) -> Result<ChainRuntime, DevnetError> {
    let ports = config.ports;
    let chain_config = DevnetChainConfig {
        fork: config.fork,
        block_time: config.l2_block_time,
        batcher: Some(batcher),
        interop: config.interop,
        ..DevnetChainConfig::devnet(chain)
    };
    let l1_genesis = l1.genesis();
    let jwt = JwtSecret::new(keys::jwt(chain));
    let el = SimEl::spawn(SimElConfig {
        spec: chain_config.chain_spec(l1_genesis.timestamp),
        jwt_secret: jwt.clone(),
        engine_addr: ports.chain_addr(ports.el_engine, index)?,
        rpc_addr: ports.chain_addr(ports.el_rpc, index)?,
    })
    .await
    .map_err(|source| DevnetError::El { chain, source })?;
    let mut anchor = RollupAnchor::new(l1, l1_genesis, &el.genesis());
    anchor.batch_inbox = keys::batch_inbox(chain);
    let unsafe_signer = PrivateKeySigner::from_bytes(&keys::sequencer(chain))
        .map_err(|e| DevnetError::Key(e.to_string()))?
        .address();
    anchor.system_config =
        l1.deploy_system_config(chain, &chain_config.system_config(batcher), unsafe_signer);
    let rollup = chain_config.rollup_config(&anchor);
    let rollup_path = endpoints::write_rollup(&config.out_dir, &rollup)?;
    let jwt_path = endpoints::write_jwt(&config.out_dir, chain, &jwt)?;

    let p2p_key = PrivateKeySigner::from_bytes(&keys::sequencer(chain))
        .map_err(|e| DevnetError::Key(e.to_string()))?;
    let sequencer = Sequencer::new(SequencerConfig {
        rollup: rollup.clone(),
        l1_rpc_url: l1.rpc_url(),
        engine_url: el.engine_url(),
        jwt_secret: jwt.clone(),
        p2p_key,
        l1_confirmation_depth: config.sequencer_l1_confs,
        txgen: config.txgen,
        interop: feed,
    })
    .await
    .map_err(|source| DevnetError::Sequencer { chain, source })?;
    let signer = sequencer.signer();

    let p2p_addr = ports.chain_addr(ports.p2p, index)?;
    let listen: Multiaddr = format!(
        "/{}/{}/tcp/{}",
        if p2p_addr.is_ipv4() { "ip4" } else { "ip6" },
        p2p_addr.ip(),
        p2p_addr.port()
    )
    .parse()
    .map_err(|e: libp2p::multiaddr::Error| DevnetError::Key(e.to_string()))?;
    let mut p2p = P2pConfig::new(chain, listen, signer);
    p2p.block_time = Duration::from_secs(config.l2_block_time);
    p2p.jovian_time = rollup.hardforks.jovian_time;
    p2p.ip_colocation_whitelist.insert(ports.host);
    let identity = identity_from_hex(&keys::p2p_identity(chain).to_string())
        .map_err(|e| DevnetError::Key(e.to_string()))?;
    let sequencer = SequencerNode::start(sequencer, p2p, identity)
        .await
        .map_err(|source| DevnetError::P2p { chain, source })?;

    let mut batcher_config = BatcherConfig::new(
        el.rpc_url(),
        chain,
        rollup.genesis.l2_time,
        config.l2_block_time,
        l1.chain_id(),
        anchor.batch_inbox,
        batcher_key,
    );
    batcher_config.da = config.da;
    batcher_config.compression = config.compression;
    batcher_config.head_sink = Some(sequencer.controls());
    let sink: Arc<dyn L1Sink> = l1.clone();
    let batcher_node = BatcherNode::start(batcher_config, sink)
        .await
        .map_err(|source| DevnetError::Batcher { chain, source })?;

    let spec = chain_config.chain_spec(l1_genesis.timestamp);
    let endpoints = ChainEndpoints {
        chain_id: chain,
        sequencer_p2p: sequencer.multiaddr().to_string(),
        sequencer_enr: sequencer.enr().map(|e| e.to_base64()),
        unsafe_block_signer: signer,
        el_engine: el.engine_url(),
        el_rpc: el.rpc_url(),
        jwt_secret: jwt.to_hex(),
        jwt_secret_file: absolute(&jwt_path),
        rollup_config: absolute(&rollup_path),
        batch_inbox: anchor.batch_inbox,
        batcher,
    };
    tracing::info!(%chain, el_engine = %endpoints.el_engine, p2p = %endpoints.sequencer_p2p, "chain started");
    Ok(ChainRuntime {
        rollup,
        spec,
        jwt,
        el: Mutex::new(Some(el)),
        sequencer,
        batcher: batcher_node,
        endpoints,
    })
}

/// Starts the pool (supernode `i` with signer key `i` and RPC port `supernode_rpc + i`) and
/// the followers (follower `i` on chain `i % chains`, RPC port `follower_rpc + i`).
async fn start_fleet(world: &World, config: &DevnetConfig) -> Result<(), DevnetError> {
    let ports = config.ports;
    for i in 0..config.supernodes {
        let spec = SupernodeSpec {
            name: Some(format!("supernode-{i}")),
            join_pool: true,
            ..SupernodeSpec::deriving(keys::supernode_signer(i))
        };
        let rpc = ports.chain_addr(ports.supernode_rpc, i)?;
        world.start_supernode(spec, rpc).await?;
    }
    for i in 0..config.followers {
        let Some(chain) = world.chains.get(i % world.chains.len()) else {
            break;
        };
        let mut spec = world.pool_follower_spec(chain.chain_id());
        spec.name = Some(format!("follower-{i}"));
        spec.threshold = config.follower_threshold;
        let rpc = ports.chain_addr(ports.follower_rpc, i)?;
        world.start_follower(spec, rpc).await?;
    }
    Ok(())
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Kills every node (newest first: followers before the supernodes they read, supernodes
/// before the chains), stops every execution client and the L1.
async fn stop_world(world: Arc<World>) {
    for node in world.fleet.nodes().into_iter().rev() {
        if node.is_running() {
            let _ = node.kill().await;
        }
    }
    let members = std::mem::take(&mut *lock(&world.members));
    for s in members.supernodes {
        s.stop_els().await;
    }
    for f in members.followers {
        f.stop_el().await;
    }
    for chain in &world.chains {
        let el = chain
            .el
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        if let Some(el) = el {
            el.stop().await;
        }
    }
    if let Ok(world) = Arc::try_unwrap(world) {
        let World {
            l1, chains, fleet, ..
        } = world;
        drop(chains);
        drop(fleet);
        if let Ok(l1) = Arc::try_unwrap(l1) {
            l1.stop().await;
        }
    }
}

fn absolute(path: &std::path::Path) -> std::path::PathBuf {
    std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf())
}

fn endpoints_of(world: &World, admin_url: String) -> Endpoints {
    let nodes = world.fleet.nodes();
    let of = |kind| {
        nodes
            .iter()
            .filter(|n| n.kind() == kind)
            .map(|n| n.endpoints())
            .collect()
    };
    Endpoints {
        l1: world.l1.rpc_url(),
        l1_chain_id: world.l1.chain_id(),
        beacon: world.l1.beacon_url(),
        admin: admin_url,
        chains: world.chains.iter().map(|c| c.endpoints.clone()).collect(),
        supernodes: of(NodeKind::Supernode),
        followers: of(NodeKind::Follower),
        nodes: nodes
            .iter()
            .map(|n| NodeEntry {
                name: n.name().to_string(),
                kind: n.kind(),
            })
            .collect(),
    }
}

impl DevnetHandle {
    /// Every endpoint at start (what the endpoints file held then).
    pub fn endpoints(&self) -> &Endpoints {
        &self.endpoints
    }

    /// Every endpoint now, with the supernodes and followers added since start (what the
    /// endpoints file was last rewritten with).
    pub fn current_endpoints(&self) -> Endpoints {
        self.world.endpoints()
    }

    /// The running world (faults, status, components).
    pub fn world(&self) -> &Arc<World> {
        &self.world
    }

    /// Where everything is.
    pub fn status(&self) -> Status {
        self.world.status()
    }

    /// Stops the admin server, every node, the execution clients and the L1, and waits for
    /// them.
    pub async fn stop(mut self) {
        if let Some(plan) = self.plan.take() {
            plan.abort();
        }
        if let Some(admin) = self.admin.take() {
            admin.stop().await;
        }
        stop_world(self.world).await;
        tracing::info!("devnet stopped");
    }
}
