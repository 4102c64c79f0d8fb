//! Follower latency: from a supernode signing a safe head to the follower's
//! `engine_forkchoiceUpdated` whose safe hash is that head arriving at the execution client.
//!
//! ```text
//!  record (once, untimed): L1 (manual) ─ sequencer ─▶ SimEl "seq" (N blocks)
//!
//!  per setup (fresh nodes, fresh data dirs):
//!    watch<ChainHeads> ─▶ supernode Node ×1|3 ── output roots: L2Client ─▶ SimEl "seq"
//!      (hand-fed: safe_l2 = block n)   │ sign ─▶ store ─▶ NodeState broadcast ──▶ t0 (k-th signer)
//!                                      ├─ ws attest_subscribe ─────────────┐   (push)
//!                                      ├─ attest_latest ◀─ http-only proxy ─┤   (poll: ws refused)
//!                                      └─ private gossip (pnet) ───────────┤   (gossip)
//!                                                                           ▼
//!                       FollowerNode (trust k of n) ─ EngineLayer ─▶ recording proxy ─▶ SimEl "follower"
//!                                                                    t1: fcU with safe = block n      (holds blocks 1..N)
//! ```
//! Latency = t1 - t0, where t0 is when the k-th trusted signer's attestation of block n left
//! its publisher (observed on the node's own attestation broadcast, the one `attest_subscribe`
//! reads) and t1 is when the forkchoice update carrying block n as safe reached the proxy in
//! front of the follower's execution client. Each head is fed only after the previous one
//! landed, after a random pause (uniform over one poll interval for poll setups, so heads meet
//! the poll ticks at uniformly random phases).
//!
//! Run: `cargo bench -p opfleet-tests --bench follow_latency` (optional arguments: heads per
//! setup, default 200; heads for the setups polling at the default interval, default 100).

#[path = "../tests/sequencer_common/mod.rs"]
mod sequencer_common;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use alloy::primitives::B256;
use alloy::rpc::types::engine::ForkchoiceState;
use axum::extract::State;
use axum::response::IntoResponse;
use axum::serve::ListenerExt;
use libp2p::Multiaddr;
use libp2p::multiaddr::Protocol;
use op_alloy_rpc_types_engine::OpExecutionPayloadEnvelope;
use opfleet_attest::{PublicKey, SigningKey};
use opfleet_engine::EngineClient;
use opfleet_follower::config::{
    AttestGossipSettings, AttestedSources, FollowerConfig, HeadsSource, trust_policy,
};
use opfleet_follower::engine::el_client::EngineLayer;
use opfleet_follower::node::{Extras, FollowerNode};
use opfleet_p2p::attest::{AttestGossipConfig, AttestGossipNode, SwarmKey};
use opfleet_protocol::config::RollupConfig;
use opfleet_protocol::{BlockId, ChainId, L1BlockRef, L2BlockRef, SyncStatus};
use opfleet_supernode::config::NodeConfig;
use opfleet_supernode::heads::ChainHeads;
use opfleet_supernode::node::ChainSetup;
use opfleet_supernode::node::derivation::ElOutputs;
use opfleet_supernode::node::service::Node;
use opfleet_supernode::publish::AttestSink;
use opfleet_supernode::publish::gossip::GossipSink;
use opfleet_tests::el::{SimEl, SimElConfig, SimElHandle};
use opfleet_tests::sequencer::{DevnetChainConfig, TxGenConfig};
use rand::Rng;
use sequencer_common::{Chain, jwt, manual_l1, spawn_chain};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Notify, watch};
use tokio::task::JoinHandle;

const CHAIN: ChainId = ChainId(901);
/// Heads per setup by default.
const DEFAULT_HEADS: usize = 200;
/// Heads for the setups polling every 2 s (each head costs about one interval).
const DEFAULT_SLOW_POLL_HEADS: usize = 100;
/// The follower's default `--attest.poll-interval` (2 s).
const DEFAULT_POLL: Duration = Duration::from_secs(2);
/// A small poll interval (below what the CLI's whole seconds allow; set through the config).
const SMALL_POLL: Duration = Duration::from_millis(250);
/// Longest random pause between heads of the push and gossip setups.
const PUSH_GAP: Duration = Duration::from_millis(50);
/// Heads that must land in a row before measuring (connections, gossip mesh).
const WARMUP_STREAK: usize = 3;
/// Most heads spent warming up.
const MAX_WARMUP: usize = 40;
/// Blocks recorded beyond the heads of one setup (warm-up).
const SPARE_BLOCKS: usize = MAX_WARMUP + 5;

type BenchError = Box<dyn std::error::Error + Send + Sync>;

/// The recorded chain every setup attests.
struct History {
    rollup: RollupConfig,
    chain_config: DevnetChainConfig,
    l1_genesis_time: u64,
    /// L2 blocks 1..=N with their payloads.
    blocks: Vec<(L2BlockRef, OpExecutionPayloadEnvelope)>,
    /// L1 blocks by number.
    l1: Vec<L1BlockRef>,
    /// The sequencer's execution client: the supernodes' output roots come from it.
    seq_el: Arc<SimElHandle>,
}

async fn record(blocks: usize) -> Result<History, BenchError> {
    let l1 = manual_l1().await;
    l1.mine();
    let chain_config = DevnetChainConfig::devnet(CHAIN);
    let Chain { el, mut seq } = spawn_chain(&l1, chain_config, TxGenConfig::default(), None).await;
    let mut out = Vec::with_capacity(blocks);
    while out.len() < blocks {
        for _ in 0..3 {
            let b = seq.step().await?;
            out.push((b.l2_block_ref, b.envelope));
        }
        l1.mine();
    }
    let l1_refs = l1.with_chain(|c| {
        let head = c.head().header.number;
        (0..=head)
            .filter_map(|n| c.by_number(n))
            .map(|b| b.block_ref())
            .collect()
    });
    Ok(History {
        rollup: seq.rollup().clone(),
        chain_config,
        l1_genesis_time: l1.genesis().timestamp,
        blocks: out,
        l1: l1_refs,
        seq_el: Arc::new(el),
    })
}

impl History {
    /// Heads as derivation would publish them with block `n` (1-based) safe; finalized stays
    /// unset so that each head calls for exactly one (safe) attestation.
    fn heads(&self, n: usize) -> Option<ChainHeads> {
        let (block, _) = self.blocks.get(n.checked_sub(1)?)?;
        let (head, _) = self.blocks.last()?;
        // Safe one L1 block after its origin (the batch landed there).
        let derived = self
            .l1
            .get(usize::try_from(block.l1_origin.number).ok()? + 1)
            .or(self.l1.last())
            .copied()?;
        let status = SyncStatus {
            current_l1: derived,
            head_l1: self.l1.last().copied().unwrap_or(derived),
            safe_l1: derived,
            unsafe_l2: *head,
            safe_l2: *block,
            pending_safe_l2: *block,
            cross_unsafe_l2: *head,
            local_safe_l2: *block,
            ..SyncStatus::default()
        };
        Some(ChainHeads {
            chain_id: CHAIN,
            status,
            safe_derived_from: derived.id(),
            finalized_derived_from: BlockId::default(),
            last_rewind: None,
        })
    }
}

/// How the follower hears of attestations.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Mode {
    /// WebSocket `attest_subscribe`.
    Push,
    /// `attest_latest` every interval (WebSocket upgrades refused by a proxy).
    Poll(Duration),
    /// The private attestation gossip only.
    Gossip,
}

impl Mode {
    fn label(self) -> String {
        match self {
            Self::Push => "push (ws attest_subscribe)".into(),
            Self::Poll(d) => format!("poll attest_latest every {} ms", d.as_millis()),
            Self::Gossip => "private gossip".into(),
        }
    }
}

#[derive(Clone, Copy, Debug)]
struct Setup {
    mode: Mode,
    signers: u8,
    threshold: usize,
    heads: usize,
    verify_output_root: bool,
}

/// Times at which each attested block hash was seen.
#[derive(Default)]
struct Seen {
    times: Mutex<HashMap<B256, Vec<Instant>>>,
    notify: Notify,
}

impl Seen {
    fn record(&self, hash: B256, at: Instant, keep_all: bool) {
        let mut t = self.times.lock().unwrap_or_else(PoisonError::into_inner);
        let e = t.entry(hash).or_default();
        if keep_all || e.is_empty() {
            e.push(at);
        }
        drop(t);
        self.notify.notify_waiters();
    }

    /// The `k`-th time `hash` was seen, waiting up to `timeout`.
    async fn wait(&self, hash: B256, k: usize, timeout: Duration) -> Option<Instant> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let notified = self.notify.notified();
            if let Some(at) = self
                .times
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .get(&hash)
                .and_then(|v| {
                    let mut v = v.clone();
                    v.sort();
                    v.get(k.checked_sub(1)?).copied()
                })
            {
                return Some(at);
            }
            if tokio::time::timeout_at(deadline, notified).await.is_err() {
                return None;
            }
        }
    }
}

/// An Engine API proxy that forwards every request (JWT header included) to the execution
/// client and records when a forkchoice update first names each safe hash.
struct EngineRecorder {
    upstream: String,
    client: reqwest::Client,
    seen: Arc<Seen>,
}

async fn forward(
    State(p): State<Arc<EngineRecorder>>,
    headers: http::HeaderMap,
    body: axum::body::Bytes,
) -> axum::response::Response {
    let at = Instant::now();
    if let Some(safe) = fcu_safe_hash(&body) {
        p.seen.record(safe, at, false);
    }
    let mut req = p
        .client
        .post(&p.upstream)
        .header(http::header::CONTENT_TYPE, "application/json")
        .body(body);
    if let Some(auth) = headers.get(http::header::AUTHORIZATION) {
        req = req.header(http::header::AUTHORIZATION, auth);
    }
    match req.send().await {
        Ok(resp) => {
            let status = resp.status();
            match resp.bytes().await {
                Ok(b) => (
                    status,
                    [(http::header::CONTENT_TYPE, "application/json")],
                    b,
                )
                    .into_response(),
                Err(e) => (http::StatusCode::BAD_GATEWAY, e.to_string()).into_response(),
            }
        }
        Err(e) => (http::StatusCode::BAD_GATEWAY, e.to_string()).into_response(),
    }
}

/// The safe hash of an `engine_forkchoiceUpdated*` request body.
fn fcu_safe_hash(body: &[u8]) -> Option<B256> {
    if !body.windows(24).any(|w| w == b"engine_forkchoiceUpdated") {
        return None;
    }
    let v: serde_json::Value = serde_json::from_slice(body).ok()?;
    let state: ForkchoiceState = serde_json::from_value(v.get("params")?.get(0)?.clone()).ok()?;
    Some(state.safe_block_hash)
}

async fn spawn_engine_recorder(
    upstream: String,
    seen: Arc<Seen>,
) -> Result<(String, JoinHandle<()>), BenchError> {
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let state = Arc::new(EngineRecorder {
        upstream,
        client: reqwest::Client::builder().tcp_nodelay(true).build()?,
        seen,
    });
    let app = axum::Router::new().fallback(forward).with_state(state);
    let listener = listener.tap_io(|tcp| {
        let _ = tcp.set_nodelay(true);
    });
    let task = tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    Ok((format!("http://{addr}"), task))
}

/// A TCP proxy to a supernode that closes every WebSocket upgrade, so the follower's push
/// subscription never comes up and it polls `attest_latest` (what it does when push is down).
async fn spawn_http_only_proxy(
    upstream: SocketAddr,
) -> Result<(String, JoinHandle<()>), BenchError> {
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let task = tokio::spawn(async move {
        while let Ok((inbound, _)) = listener.accept().await {
            tokio::spawn(async move {
                let _ = splice_unless_websocket(inbound, upstream).await;
            });
        }
    });
    Ok((format!("http://{addr}"), task))
}

async fn splice_unless_websocket(
    mut inbound: TcpStream,
    upstream: SocketAddr,
) -> std::io::Result<()> {
    inbound.set_nodelay(true)?;
    let mut head = Vec::new();
    let mut buf = [0u8; 4096];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
        let n = inbound.read(&mut buf).await?;
        if n == 0 || head.len() > 64 * 1024 {
            return Ok(());
        }
        head.extend_from_slice(buf.get(..n).unwrap_or_default());
    }
    if String::from_utf8_lossy(&head)
        .to_ascii_lowercase()
        .contains("upgrade: websocket")
    {
        return Ok(());
    }
    let mut out = TcpStream::connect(upstream).await?;
    out.set_nodelay(true)?;
    out.write_all(&head).await?;
    tokio::io::copy_bidirectional(&mut inbound, &mut out).await?;
    Ok(())
}

fn pool_key(i: u8) -> SigningKey {
    SigningKey::from_bytes(&[i + 1; 32])
}

/// A follower execution client holding every recorded block (head = the last one).
async fn follower_el(h: &History) -> Result<SimElHandle, BenchError> {
    let el = SimEl::spawn(SimElConfig::local(
        h.chain_config.chain_spec(h.l1_genesis_time),
        jwt(),
    ))
    .await?;
    let engine = EngineClient::new(
        &el.engine_url(),
        opfleet_engine::JwtSecret::from_hex(&jwt().to_hex())?,
    )?;
    for (_, env) in &h.blocks {
        engine.new_payload(env).await?;
    }
    let genesis = el.genesis().hash;
    let head = h.blocks.last().map(|(b, _)| b.hash).unwrap_or(genesis);
    engine
        .forkchoice_updated(
            ForkchoiceState {
                head_block_hash: head,
                safe_block_hash: genesis,
                finalized_block_hash: genesis,
            },
            None,
        )
        .await?;
    if el.head().hash != head {
        return Err("follower EL did not take the recorded chain".into());
    }
    Ok(el)
}

/// One pool member: the node, its heads sender and (in gossip setups) its gossip node.
struct Member {
    node: Node,
    heads: watch::Sender<ChainHeads>,
    gossip: Option<Arc<GossipSink>>,
}

async fn start_member(
    h: &History,
    i: u8,
    dir: &Path,
    swarm_key: Option<&SwarmKey>,
    signed: Arc<Seen>,
) -> Result<(Member, Option<Multiaddr>), BenchError> {
    let config = NodeConfig {
        chains: Vec::new(),
        l1: "http://127.0.0.1:1".into(),
        l1_beacon: None,
        data_dir: dir.to_path_buf(),
        signer_key: dir.join("unused.key"),
        rpc: "127.0.0.1:0".parse()?,
        metrics: None,
        p2p_attest: None,
        l1_prague_time: None,
        l1_cache: Default::default(),
    };
    let (gossip, addr) = match swarm_key {
        Some(key) => {
            let mut gc = AttestGossipConfig::new(
                opfleet_p2p::generate_identity(),
                *key,
                vec![CHAIN],
                "/ip4/127.0.0.1/tcp/0".parse()?,
            );
            gc.ip_colocation_whitelist
                .insert(std::net::IpAddr::from([127, 0, 0, 1]));
            let node = AttestGossipNode::spawn(gc).await?;
            let addr = node
                .listen_addrs()
                .await?
                .into_iter()
                .next()
                .ok_or("gossip node has no listen address")?
                .with(Protocol::P2p(node.local_peer_id()));
            (Some(Arc::new(GossipSink(node))), Some(addr))
        }
        None => (None, None),
    };
    let setup = ChainSetup {
        rollup: h.rollup.clone(),
        outputs: Arc::new(ElOutputs(opfleet_engine::L2Client::new(
            &h.seq_el.rpc_url(),
            &h.rollup,
        )?)),
        payloads: None,
    };
    let sink = gossip.clone().map(|g| g as Arc<dyn AttestSink>);
    let mut node = Node::start(&config, vec![setup], pool_key(i), sink).await?;
    let mut rx = node.state().subscribe();
    let stop = node.stop_signal();
    tokio::spawn(async move {
        let mut stop = stop;
        loop {
            tokio::select! {
                r = rx.recv() => match r {
                    Ok(a) => signed.record(a.attestation.block.hash, Instant::now(), true),
                    Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {}
                    Err(_) => return,
                },
                _ = stop.wait_for(|s| *s) => return,
            }
        }
    });
    let (tx, heads_rx) = watch::channel(ChainHeads {
        chain_id: CHAIN,
        ..ChainHeads::default()
    });
    node.attach(heads_rx);
    Ok((
        Member {
            node,
            heads: tx,
            gossip,
        },
        addr,
    ))
}

/// Latencies of one setup.
struct Figures {
    setup: Setup,
    latencies: Vec<Duration>,
    /// Per head, from the follower accepting it (heads watch) to the forkchoice update.
    engine_part: Vec<Duration>,
    missed: usize,
    warmup: usize,
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    // Nearest rank.
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted
        .get(rank.clamp(1, sorted.len()) - 1)
        .copied()
        .unwrap_or_default()
}

async fn run_setup(h: &History, setup: Setup) -> Result<Figures, BenchError> {
    let dir = tempfile::tempdir()?;
    let el = Arc::new(follower_el(h).await?);
    let fcu = Arc::new(Seen::default());
    let signed = Arc::new(Seen::default());
    let (engine_url, recorder) = spawn_engine_recorder(el.engine_url(), fcu.clone()).await?;

    let swarm_key = match setup.mode {
        Mode::Gossip => Some(SwarmKey::generate()?),
        _ => None,
    };
    let mut members = Vec::new();
    let mut gossip_peers = Vec::new();
    let mut urls = Vec::new();
    let mut proxies = Vec::new();
    for i in 0..setup.signers {
        let d = dir.path().join(format!("supernode-{i}"));
        std::fs::create_dir_all(&d)?;
        let (m, addr) = start_member(h, i, &d, swarm_key.as_ref(), signed.clone()).await?;
        let root = m.node.rpc_addr();
        match setup.mode {
            Mode::Push => urls.push(format!("http://{root}")),
            Mode::Poll(_) => {
                let (url, task) = spawn_http_only_proxy(root).await?;
                urls.push(url);
                proxies.push(task);
            }
            Mode::Gossip => gossip_peers.extend(addr.map(|a| a.to_string())),
        }
        members.push(m);
    }
    let gossip = match &swarm_key {
        Some(key) => {
            let path = dir.path().join("swarm.key");
            key.to_file(&path)?;
            Some(AttestGossipSettings {
                listen: "/ip4/127.0.0.1/tcp/0".into(),
                peers: gossip_peers,
                swarm_key: path,
                priv_path: None,
            })
        }
        None => None,
    };
    let keys: Vec<String> = (0..setup.signers)
        .map(|i| PublicKey::of(&pool_key(i)).to_string())
        .collect();
    let poll_interval = match setup.mode {
        Mode::Poll(d) => d,
        _ => DEFAULT_POLL,
    };
    let follower_dir = dir.path().join("follower");
    std::fs::create_dir_all(&follower_dir)?;
    let config = FollowerConfig {
        rollup: h.rollup.clone(),
        engine_url: engine_url.clone(),
        l2_rpc_url: el.rpc_url(),
        jwt_secret: dir.path().join("jwt.hex"),
        data_dir: follower_dir,
        heads: HeadsSource::Attested(AttestedSources {
            policy: trust_policy(&keys, setup.threshold)?,
            urls,
            gossip,
            poll_interval,
        }),
        p2p: None,
        rpc_addr: "127.0.0.1:0".parse()?,
        metrics_addr: None,
        verify_output_root: setup.verify_output_root,
        healthz_max_safe_age: Duration::from_secs(3600),
    };
    let layer = EngineLayer::new(
        &engine_url,
        &el.rpc_url(),
        opfleet_engine::JwtSecret::from_hex(&jwt().to_hex())?,
        &h.rollup,
    )
    .map_err(|e| e.to_string())?;
    let follower = FollowerNode::start(config, Arc::new(layer), Extras::default()).await?;
    let accepted = Arc::new(Seen::default());
    let watcher = {
        let mut heads = follower.state().heads.clone();
        let accepted = accepted.clone();
        tokio::spawn(async move {
            while heads.changed().await.is_ok() {
                let safe = heads.borrow_and_update().safe;
                if let Some(s) = safe {
                    accepted.record(s.block.hash, Instant::now(), false);
                }
            }
        })
    };

    let gap = match setup.mode {
        Mode::Poll(d) => d,
        _ => PUSH_GAP,
    };
    let timeout = Duration::from_secs(10) + gap;
    let mut n = 0;
    let mut streak = 0;
    let mut warmup = 0;
    let mut latencies = Vec::with_capacity(setup.heads);
    let mut engine_part = Vec::with_capacity(setup.heads);
    let mut missed = 0;
    while latencies.len() + missed < setup.heads {
        n += 1;
        let heads = h
            .heads(n)
            .ok_or_else(|| format!("the recorded chain has no block {n}"))?;
        let hash = heads.status.safe_l2.hash;
        for m in &members {
            m.heads.send_replace(heads);
        }
        let measuring = streak >= WARMUP_STREAK;
        let wait = if measuring {
            timeout
        } else {
            Duration::from_secs(3) + gap
        };
        let t1 = fcu.wait(hash, 1, wait).await;
        let t0 = signed.wait(hash, setup.threshold, Duration::ZERO).await;
        let ta = accepted.wait(hash, 1, Duration::ZERO).await;
        match (measuring, t0, t1) {
            (true, Some(t0), Some(t1)) => {
                latencies.push(t1.saturating_duration_since(t0));
                engine_part.push(ta.map(|ta| t1.saturating_duration_since(ta)));
            }
            (true, _, _) => missed += 1,
            (false, _, Some(_)) => {
                streak += 1;
                warmup += 1;
            }
            (false, _, None) => {
                streak = 0;
                warmup += 1;
                if warmup >= MAX_WARMUP {
                    return Err(format!("{}: heads do not arrive", setup.mode.label()).into());
                }
            }
        }
        let pause = rand::rng().random_range(Duration::ZERO..gap);
        tokio::time::sleep(pause).await;
    }

    watcher.abort();
    follower.stop().await;
    for m in members {
        m.node.shutdown().await;
        if let Some(g) = m.gossip
            && let Ok(GossipSink(node)) = Arc::try_unwrap(g)
        {
            node.shutdown().await;
        }
    }
    recorder.abort();
    for p in proxies {
        p.abort();
    }
    if let Ok(el) = Arc::try_unwrap(el) {
        el.stop().await;
    }
    Ok(Figures {
        setup,
        latencies,
        engine_part: engine_part.into_iter().flatten().collect(),
        missed,
        warmup,
    })
}

fn ms(d: Duration) -> String {
    format!("{:.2}", d.as_secs_f64() * 1e3)
}

fn median_of(figures: &[Figures], mode: Mode, threshold: usize, verify: bool) -> Option<Duration> {
    figures
        .iter()
        .find(|f| {
            f.setup.mode == mode
                && f.setup.threshold == threshold
                && f.setup.verify_output_root == verify
        })
        .map(|f| {
            let mut v = f.latencies.clone();
            v.sort();
            percentile(&v, 50.0)
        })
}

#[tokio::main(flavor = "multi_thread")]
async fn main() -> Result<(), BenchError> {
    // Numbers: heads per setup, then heads of the 2 s poll setups; a word keeps only the
    // setups whose source label contains it (e.g. `push`, `poll`, `gossip`).
    let words: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with('-'))
        .collect();
    let mut numbers = words.iter().filter_map(|w| w.parse::<usize>().ok());
    let heads = numbers.next().unwrap_or(DEFAULT_HEADS).max(1);
    let slow_heads = numbers.next().unwrap_or(DEFAULT_SLOW_POLL_HEADS).max(1);
    let only: Vec<&String> = words
        .iter()
        .filter(|w| w.parse::<usize>().is_err())
        .collect();
    let history = record(heads.max(slow_heads) + SPARE_BLOCKS).await?;
    eprintln!("recorded {} L2 blocks", history.blocks.len());

    let mut setups = Vec::new();
    for (signers, threshold) in [(1u8, 1usize), (3, 2)] {
        for (mode, n) in [
            (Mode::Push, heads),
            (Mode::Gossip, heads),
            (Mode::Poll(SMALL_POLL), heads),
            (Mode::Poll(DEFAULT_POLL), slow_heads),
        ] {
            setups.push(Setup {
                mode,
                signers,
                threshold,
                heads: n,
                verify_output_root: false,
            });
        }
    }
    setups.push(Setup {
        mode: Mode::Push,
        signers: 1,
        threshold: 1,
        heads,
        verify_output_root: true,
    });

    setups.retain(|s| only.is_empty() || only.iter().any(|w| s.mode.label().contains(w.as_str())));
    let mut figures = Vec::new();
    for s in setups {
        let started = Instant::now();
        let f = run_setup(&history, s).await?;
        eprintln!(
            "{} k={}/{}{}: {} heads in {:.1} s",
            s.mode.label(),
            s.threshold,
            s.signers,
            if s.verify_output_root { " verify" } else { "" },
            f.latencies.len(),
            started.elapsed().as_secs_f64()
        );
        figures.push(f);
    }

    println!(
        "| source | quorum | output-root check | heads (warm-up) | missed | p50 ms | p90 ms | p99 ms | max ms | mean ms | p50 accepted to fcU ms |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|---|");
    for f in &figures {
        let mut v = f.latencies.clone();
        v.sort();
        let mean = if v.is_empty() {
            Duration::ZERO
        } else {
            v.iter().sum::<Duration>() / u32::try_from(v.len()).unwrap_or(u32::MAX)
        };
        let mut e = f.engine_part.clone();
        e.sort();
        println!(
            "| {} | {} of {} | {} | {} ({}) | {} | {} | {} | {} | {} | {} | {} |",
            f.setup.mode.label(),
            f.setup.threshold,
            f.setup.signers,
            if f.setup.verify_output_root {
                "on"
            } else {
                "off"
            },
            v.len(),
            f.warmup,
            f.missed,
            ms(percentile(&v, 50.0)),
            ms(percentile(&v, 90.0)),
            ms(percentile(&v, 99.0)),
            ms(v.last().copied().unwrap_or_default()),
            ms(mean),
            ms(percentile(&e, 50.0)),
        );
    }
    println!();
    for threshold in [1, 2] {
        let Some(push) = median_of(&figures, Mode::Push, threshold, false) else {
            continue;
        };
        for mode in [
            Mode::Gossip,
            Mode::Poll(SMALL_POLL),
            Mode::Poll(DEFAULT_POLL),
        ] {
            if let Some(other) = median_of(&figures, mode, threshold, false) {
                println!(
                    "p50 {} / push, k={threshold}: {:.1}x",
                    mode.label(),
                    other.as_secs_f64() / push.as_secs_f64().max(1e-9)
                );
            }
        }
    }
    Ok(())
}
