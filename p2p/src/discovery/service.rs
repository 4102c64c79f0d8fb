//! discv5 for block gossip, as op-node runs it: a local ENR with the `opstack` entry, bootnodes
//! given as ENRs, and a periodic walk of the DHT whose finds are filtered by chain and handed to
//! the gossip node to dial over TCP.
//!
//! ```text
//!   start: bootnodes + records of the discovery DB ──► routing table
//!   every interval: routing table + FINDNODE(random id) ──► ENRs ─► opstack matches chain?
//!        │          └─► known nodes ──(persist interval, shutdown)──► discovery DB
//!        │                                                          ├─ no ─► dropped
//!        └─ DiscoveredPeer { peer id from secp256k1 key, /ip4/<ip>/tcp/<tcp> } ─► node (dials
//!                                                          while below its peer goal)
//! ```
//!
//! The local record carries the advertised IP and ports (op-node's `--p2p.advertise.*`) when
//! given, the bound ones otherwise. An advertised IP is static, as in op-node: discv5 does not
//! replace it with what its peers report.

use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use discv5::{ConfigBuilder, Discv5, Enr, ListenConfig};
use enr::{CombinedKey, CombinedPublicKey, EnrPublicKey, NodeId};
use libp2p::identity::{Keypair, PublicKey, secp256k1};
use libp2p::multiaddr::Protocol;
use libp2p::{Multiaddr, PeerId};
use opfleet_protocol::ChainId;
use tokio::net::UdpSocket;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use crate::discovery::db::{DiscoveryDb, KnownNodes, MAX_STORED_RECORDS};
use crate::discovery::opstack::{OPSTACK_ENR_KEY, OpStackEnr};

/// op-node's `--p2p.peers.lo`: below this many connections, discovered peers are dialled.
pub const DEFAULT_PEERS_GOAL: usize = 20;

/// op-node's fast discovery and connection interval.
pub const DEFAULT_DISCOVERY_INTERVAL: Duration = Duration::from_secs(5);

/// How often the known records are written to the discovery DB while running.
pub const DEFAULT_PERSIST_INTERVAL: Duration = Duration::from_secs(30);

/// How many matching records one random walk asks for.
const WALK_TARGET: usize = 16;

/// Discovery settings of a block gossip node.
#[derive(Debug, Clone)]
pub struct DiscoveryConfig {
    /// The UDP address discv5 binds (port 0 picks a free one, advertised as bound).
    pub listen_udp: SocketAddr,
    /// The IP put in the ENR; the listen IP when unset and not unspecified (0.0.0.0), else none
    /// until discv5's peers report the external address.
    pub advertise_ip: Option<IpAddr>,
    /// The TCP port put in the ENR; the gossip listener's port when unset.
    pub advertise_tcp_port: Option<u16>,
    /// The UDP port put in the ENR; the bound discv5 port when unset.
    pub advertise_udp_port: Option<u16>,
    /// Records to start the DHT from (op-node's `--p2p.bootnodes`).
    pub bootnodes: Vec<Enr>,
    /// Where learnt records are kept across restarts and read back as extra bootnodes.
    pub db: DiscoveryDb,
    /// How often the known records are written to `db` while running (also on shutdown).
    pub persist_interval: Duration,
    /// Connections below which discovered peers are dialled.
    pub peers_goal: usize,
    /// How often the DHT is walked and the peer goal checked.
    pub interval: Duration,
}

impl DiscoveryConfig {
    /// Discovery on `listen_udp` from `bootnodes`, with op-node's goal and interval, keeping
    /// nothing across restarts.
    pub fn new(listen_udp: SocketAddr, bootnodes: Vec<Enr>) -> Self {
        Self {
            listen_udp,
            advertise_ip: None,
            advertise_tcp_port: None,
            advertise_udp_port: None,
            bootnodes,
            db: DiscoveryDb::Memory,
            persist_interval: DEFAULT_PERSIST_INTERVAL,
            peers_goal: DEFAULT_PEERS_GOAL,
            interval: DEFAULT_DISCOVERY_INTERVAL,
        }
    }
}

/// Discovery that cannot start, or a bootnode that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum DiscoveryError {
    /// discv5 records are signed with the node's secp256k1 key: other key types cannot be used.
    #[error("discovery needs a secp256k1 node identity")]
    NotSecp256k1,
    /// A bootnode string that is not an ENR.
    #[error("bootnode {input:?}: {reason}")]
    Bootnode {
        /// The string given.
        input: String,
        /// Why it is not usable.
        reason: String,
    },
    /// The local record could not be built or signed.
    #[error("local ENR: {0}")]
    LocalEnr(String),
    /// The UDP socket could not be bound.
    #[error("discovery UDP socket {addr}: {source}")]
    Bind {
        /// The configured address.
        addr: SocketAddr,
        /// The OS error.
        source: std::io::Error,
    },
    /// discv5 refused to start.
    #[error("discv5: {0}")]
    Discv5(String),
}

/// Reads a bootnode: an ENR in text form (`enr:-...`, base64url). enode URLs carry no signed
/// record and no `opstack` entry, so they are refused with a message saying so.
pub fn parse_bootnode(input: &str) -> Result<Enr, DiscoveryError> {
    let trimmed = input.trim();
    let err = |reason: String| DiscoveryError::Bootnode {
        input: input.to_owned(),
        reason,
    };
    if trimmed.starts_with("enode://") {
        return Err(err(
            "enode URLs are not supported for discv5 bootnodes; give the node's ENR (enr:...)"
                .into(),
        ));
    }
    trimmed.parse::<Enr>().map_err(err)
}

/// A peer found by discovery, ready to dial.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DiscoveredPeer {
    /// The libp2p identity: the ENR's secp256k1 key.
    pub peer_id: PeerId,
    /// `/ip4|ip6/<ip>/tcp/<tcp>` from the record.
    pub addr: Multiaddr,
}

/// The record's `opstack` entry, if present and readable.
pub fn opstack_entry(enr: &Enr) -> Option<OpStackEnr> {
    enr.get_raw_rlp(OPSTACK_ENR_KEY)
        .and_then(|rlp| OpStackEnr::from_rlp(rlp).ok())
}

/// op-node's record filter: an `opstack` entry of `chain_id`, version 0.
pub fn enr_matches_chain(enr: &Enr, chain_id: ChainId) -> bool {
    opstack_entry(enr).is_some_and(|e| e.matches(chain_id))
}

/// The dialable peer of a record: secp256k1 key and a TCP address (IPv4 preferred).
pub fn enr_to_peer(enr: &Enr) -> Option<DiscoveredPeer> {
    let CombinedPublicKey::Secp256k1(key) = enr.public_key() else {
        return None;
    };
    let compressed = CombinedPublicKey::Secp256k1(key).encode();
    let public = secp256k1::PublicKey::try_from_bytes(&compressed).ok()?;
    let peer_id = PublicKey::from(public).to_peer_id();
    let (ip, port) = match (enr.ip4(), enr.tcp4(), enr.ip6(), enr.tcp6()) {
        (Some(ip), Some(port), _, _) => (IpAddr::V4(ip), port),
        (_, _, Some(ip), Some(port)) => (IpAddr::V6(ip), port),
        _ => return None,
    };
    let addr = Multiaddr::empty()
        .with(Protocol::from(ip))
        .with(Protocol::Tcp(port));
    Some(DiscoveredPeer { peer_id, addr })
}

/// The node's discv5 key: the same secp256k1 secret as its libp2p identity, as op-node does.
fn enr_key(identity: &Keypair) -> Result<CombinedKey, DiscoveryError> {
    let keypair = identity
        .clone()
        .try_into_secp256k1()
        .map_err(|_| DiscoveryError::NotSecp256k1)?;
    let mut secret = keypair.secret().to_bytes();
    CombinedKey::secp256k1_from_bytes(&mut secret)
        .map_err(|e| DiscoveryError::LocalEnr(format!("{e:?}")))
}

/// How long a restart waits for the previous service of the same node to release its port.
const REBIND_WAIT: Duration = Duration::from_secs(5);

/// Binds `addr`. A fixed port still held by this node's previous discv5 service (which shuts
/// down asynchronously after being dropped) is retried for a few seconds, so a node restarted
/// on its old port keeps the record others hold.
async fn bind_udp(addr: SocketAddr, wait: Duration) -> std::io::Result<UdpSocket> {
    let deadline = tokio::time::Instant::now() + wait;
    loop {
        match UdpSocket::bind(addr).await {
            Err(e)
                if e.kind() == std::io::ErrorKind::AddrInUse
                    && addr.port() != 0
                    && tokio::time::Instant::now() < deadline =>
            {
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            other => return other,
        }
    }
}

/// The signed local record: IP (advertised, else the bound one unless unspecified, else none
/// until peers report it), UDP and TCP ports (advertised, else bound) and the `opstack` entry.
fn local_record(
    config: &DiscoveryConfig,
    key: &CombinedKey,
    bound: SocketAddr,
    tcp_port: u16,
    chain_id: ChainId,
) -> Result<Enr, DiscoveryError> {
    let ip = config
        .advertise_ip
        .or_else(|| (!bound.ip().is_unspecified()).then_some(bound.ip()));
    let tcp = config.advertise_tcp_port.unwrap_or(tcp_port);
    let udp = config.advertise_udp_port.unwrap_or(bound.port());
    let mut builder = Enr::builder();
    match ip {
        Some(IpAddr::V4(v4)) => {
            builder.ip4(v4).udp4(udp).tcp4(tcp);
        }
        Some(IpAddr::V6(v6)) => {
            builder.ip6(v6).udp6(udp).tcp6(tcp);
        }
        None => {
            builder.udp4(udp).tcp4(tcp);
        }
    }
    let opstack = OpStackEnr::new(chain_id).to_rlp();
    builder.add_value_rlp(OPSTACK_ENR_KEY, opstack.into());
    builder
        .build(key)
        .map_err(|e| DiscoveryError::LocalEnr(e.to_string()))
}

/// The records worth keeping, shared by the walk and the final save on shutdown.
struct Persistence {
    db: DiscoveryDb,
    known: Mutex<KnownNodes>,
    /// One writer at a time: the periodic save and the one on shutdown share the temp file.
    writing: Mutex<()>,
}

impl Persistence {
    fn observe(&self, records: impl IntoIterator<Item = Enr>) {
        let mut known = self.known.lock().unwrap_or_else(PoisonError::into_inner);
        for enr in records {
            known.observe(enr);
        }
    }

    fn snapshot(&self) -> Vec<Enr> {
        self.known
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .records()
            .to_vec()
    }

    /// Writes the known records; a failure is logged, never fatal (discovery goes on).
    fn save(&self) {
        if self.db == DiscoveryDb::Memory {
            return;
        }
        let _writing = self.writing.lock().unwrap_or_else(PoisonError::into_inner);
        let records = self.snapshot();
        if let Err(e) = self.db.save(&records) {
            if let DiscoveryDb::File(path) = &self.db {
                tracing::warn!(file = %path.display(), error = %e, "discovery DB not written");
            }
        } else {
            tracing::debug!(records = records.len(), "discovery DB written");
        }
    }
}

/// A running discv5 service and its DHT walk.
pub struct Discovery {
    discv5: Arc<Discv5>,
    persistence: Arc<Persistence>,
    task: JoinHandle<()>,
}

impl Discovery {
    /// Binds the UDP socket, signs the local ENR (see [`DiscoveryConfig`] for the advertised
    /// values; TCP falls back to `tcp_port`, the gossip listener's), adds the bootnodes and the
    /// records of the discovery DB and starts walking; matching peers go to `found`.
    pub async fn start(
        config: &DiscoveryConfig,
        chain_id: ChainId,
        identity: &Keypair,
        tcp_port: u16,
        found: mpsc::Sender<DiscoveredPeer>,
    ) -> Result<Self, DiscoveryError> {
        let key = enr_key(identity)?;
        let socket = bind_udp(config.listen_udp, REBIND_WAIT)
            .await
            .map_err(|source| DiscoveryError::Bind {
                addr: config.listen_udp,
                source,
            })?;
        let bound = socket.local_addr().map_err(|source| DiscoveryError::Bind {
            addr: config.listen_udp,
            source,
        })?;
        let local_enr = local_record(config, &key, bound, tcp_port, chain_id)?;

        let socket = Arc::new(socket);
        let listen = match bound {
            SocketAddr::V4(_) => ListenConfig::FromSockets {
                ipv4: Some(socket),
                ipv6: None,
            },
            SocketAddr::V6(_) => ListenConfig::FromSockets {
                ipv4: None,
                ipv6: Some(socket),
            },
        };
        let mut discv5_config = ConfigBuilder::new(listen);
        if config.advertise_ip.is_some() {
            // op-node's static IP: what peers report does not replace the advertised address.
            discv5_config.disable_enr_update();
        }
        let mut discv5 = Discv5::new(local_enr, key, discv5_config.build())
            .map_err(|e| DiscoveryError::Discv5(e.into()))?;
        for boot in &config.bootnodes {
            if let Err(e) = discv5.add_enr(boot.clone()) {
                tracing::warn!(enr = %boot, error = e, "bootnode not added");
            }
        }
        let stored = config.db.load();
        let local_id = discv5.local_enr().node_id();
        let mut seeded = 0usize;
        for enr in stored.iter().filter(|e| e.node_id() != local_id) {
            match discv5.add_enr(enr.clone()) {
                Ok(()) => seeded += 1,
                Err(e) => tracing::debug!(enr = %enr, error = e, "stored record not added"),
            }
        }
        if let DiscoveryDb::File(path) = &config.db {
            tracing::info!(
                file = %path.display(),
                stored = stored.len(),
                added = seeded,
                "discovery DB read"
            );
        }
        let persistence = Arc::new(Persistence {
            db: config.db.clone(),
            known: Mutex::new(KnownNodes::from_records(MAX_STORED_RECORDS, stored)),
            writing: Mutex::new(()),
        });
        discv5
            .start()
            .await
            .map_err(|e| DiscoveryError::Discv5(format!("{e:?}")))?;
        let local = discv5.local_enr();
        tracing::info!(
            enr = %local,
            ip = ?local.ip4().map(IpAddr::V4).or(local.ip6().map(IpAddr::V6)),
            udp = ?local.udp4().or(local.udp6()),
            tcp = ?local.tcp4().or(local.tcp6()),
            "discovery started"
        );
        let discv5 = Arc::new(discv5);
        let task = tokio::spawn(walk(
            discv5.clone(),
            chain_id,
            identity.public().to_peer_id(),
            config.interval.max(Duration::from_millis(100)),
            found,
            persistence.clone(),
            config.persist_interval.max(Duration::from_millis(100)),
        ));
        Ok(Self {
            discv5,
            persistence,
            task,
        })
    }

    /// The signed local record, to hand to other nodes as a bootnode.
    pub fn local_enr(&self) -> Enr {
        self.discv5.local_enr()
    }

    /// The records in the routing table now (all chains: filtering happens before dialling).
    pub fn table(&self) -> Vec<Enr> {
        self.discv5.table_entries_enr()
    }

    /// The records the discovery DB will hold, most recently seen first.
    pub fn known_records(&self) -> Vec<Enr> {
        self.persistence.snapshot()
    }
}

impl Drop for Discovery {
    fn drop(&mut self) {
        // The walk holds the other reference; once it is gone, discv5 shuts down on drop.
        self.task.abort();
        // The last table is the newest knowledge: keep it for the next start.
        self.persistence.observe(self.discv5.table_entries_enr());
        self.persistence.save();
    }
}

/// Walks the DHT every `interval`: the routing table first (bootnodes and what was learnt),
/// then a random FINDNODE; every record of our chain is reported. What was seen is kept for the
/// discovery DB, written every `persist_interval`.
async fn walk(
    discv5: Arc<Discv5>,
    chain_id: ChainId,
    local: PeerId,
    interval: Duration,
    found: mpsc::Sender<DiscoveredPeer>,
    persistence: Arc<Persistence>,
    persist_interval: Duration,
) {
    let mut tick = tokio::time::interval(interval);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut last_saved = tokio::time::Instant::now();
    loop {
        tick.tick().await;
        let mut records = discv5.table_entries_enr();
        let predicate = Box::new(move |enr: &Enr| enr_matches_chain(enr, chain_id));
        match discv5
            .find_node_predicate(NodeId::random(), predicate, WALK_TARGET)
            .await
        {
            Ok(more) => records.extend(more),
            Err(e) => tracing::debug!(error = %e, "discovery walk failed"),
        }
        persistence.observe(records.iter().cloned());
        if last_saved.elapsed() >= persist_interval {
            last_saved = tokio::time::Instant::now();
            let p = persistence.clone();
            // Blocking file I/O stays off the runtime's workers.
            let _ = tokio::task::spawn_blocking(move || p.save()).await;
        }
        for enr in records {
            if !enr_matches_chain(&enr, chain_id) {
                continue;
            }
            let Some(peer) = enr_to_peer(&enr) else {
                continue;
            };
            if peer.peer_id == local {
                continue;
            }
            // A full channel means the node is busy; the next walk finds the peer again.
            if found.try_send(peer).is_err() && found.is_closed() {
                return;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::net::Ipv4Addr;

    use super::*;

    const CHAIN: ChainId = ChainId(901);

    fn key() -> CombinedKey {
        CombinedKey::secp256k1_from_bytes(&mut [7u8; 32]).unwrap()
    }

    #[test]
    fn the_record_carries_the_advertised_ip_and_ports() {
        let mut config = DiscoveryConfig::new("0.0.0.0:9222".parse().unwrap(), Vec::new());
        config.advertise_ip = Some(IpAddr::V4(Ipv4Addr::new(203, 0, 113, 7)));
        config.advertise_tcp_port = Some(30303);
        config.advertise_udp_port = Some(30304);
        let bound = "0.0.0.0:9222".parse().unwrap();
        let enr = local_record(&config, &key(), bound, 9333, CHAIN).unwrap();
        assert_eq!(enr.ip4(), Some(Ipv4Addr::new(203, 0, 113, 7)));
        assert_eq!(enr.tcp4(), Some(30303));
        assert_eq!(enr.udp4(), Some(30304));
        assert!(enr_matches_chain(&enr, CHAIN));
        let peer = enr_to_peer(&enr).unwrap();
        assert_eq!(peer.addr.to_string(), "/ip4/203.0.113.7/tcp/30303");
    }

    #[test]
    fn unset_advertised_values_fall_back_to_the_listen_ones() {
        let config = DiscoveryConfig::new("127.0.0.1:0".parse().unwrap(), Vec::new());
        let bound = "127.0.0.1:40001".parse().unwrap();
        let enr = local_record(&config, &key(), bound, 40002, CHAIN).unwrap();
        assert_eq!(enr.ip4(), Some(Ipv4Addr::LOCALHOST));
        assert_eq!(enr.udp4(), Some(40001));
        assert_eq!(enr.tcp4(), Some(40002));
        // An unspecified listen IP is not advertised: peers report the external one.
        let bound = "0.0.0.0:40001".parse().unwrap();
        let enr = local_record(&config, &key(), bound, 40002, CHAIN).unwrap();
        assert_eq!(enr.ip4(), None);
        assert_eq!(enr.udp4(), Some(40001));
        // One advertised port alone: the other still follows the listener.
        let mut config = config;
        config.advertise_udp_port = Some(50000);
        let enr = local_record(&config, &key(), bound, 40002, CHAIN).unwrap();
        assert_eq!((enr.udp4(), enr.tcp4()), (Some(50000), Some(40002)));
    }

    /// Polls `check` every 100 ms for up to 30 s.
    async fn eventually(what: &str, mut check: impl FnMut() -> bool) {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
        while !check() {
            assert!(tokio::time::Instant::now() < deadline, "timed out: {what}");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    async fn run(config: &DiscoveryConfig) -> (Discovery, mpsc::Receiver<DiscoveredPeer>) {
        let (tx, rx) = mpsc::channel(64);
        let identity = crate::blocks::generate_identity();
        let d = Discovery::start(config, CHAIN, &identity, 9000, tx)
            .await
            .unwrap();
        (d, rx)
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_running_node_keeps_advertising_what_it_was_given() {
        let mut config = DiscoveryConfig::new("127.0.0.1:0".parse().unwrap(), Vec::new());
        config.advertise_ip = Some(IpAddr::V4(Ipv4Addr::new(198, 51, 100, 1)));
        config.advertise_tcp_port = Some(31000);
        config.advertise_udp_port = Some(31001);
        let (node, _rx) = run(&config).await;
        let enr = node.local_enr();
        assert_eq!(enr.ip4(), Some(Ipv4Addr::new(198, 51, 100, 1)));
        assert_eq!((enr.udp4(), enr.tcp4()), (Some(31001), Some(31000)));
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn learnt_records_seed_the_next_start() {
        let dir = tempfile::tempdir().unwrap();
        let db = DiscoveryDb::File(dir.path().join("disc"));
        let mut boot_config = DiscoveryConfig::new("127.0.0.1:0".parse().unwrap(), Vec::new());
        boot_config.interval = Duration::from_millis(200);
        let (boot, _boot_rx) = run(&boot_config).await;
        let boot_enr = boot.local_enr();

        // A node started from the bootnode writes what it learnt, periodically and on drop.
        let mut config =
            DiscoveryConfig::new("127.0.0.1:0".parse().unwrap(), vec![boot_enr.clone()]);
        config.interval = Duration::from_millis(200);
        config.persist_interval = Duration::from_millis(200);
        config.db = db.clone();
        let (first, mut found) = run(&config).await;
        let peer = tokio::time::timeout(Duration::from_secs(30), found.recv())
            .await
            .unwrap()
            .unwrap();
        assert_eq!(Some(peer), enr_to_peer(&boot_enr));
        eventually("the periodic save", || {
            db.load().iter().any(|e| e.node_id() == boot_enr.node_id())
        })
        .await;
        assert!(
            first
                .known_records()
                .iter()
                .any(|e| e.node_id() == boot_enr.node_id())
        );
        drop(first);
        drop(found);

        // Restarted without bootnodes, it finds the bootnode again from the DB alone.
        config.bootnodes.clear();
        let (second, mut found) = run(&config).await;
        assert!(
            second
                .table()
                .iter()
                .any(|e| e.node_id() == boot_enr.node_id())
        );
        let peer = tokio::time::timeout(Duration::from_secs(30), found.recv())
            .await
            .unwrap()
            .unwrap();
        assert_eq!(Some(peer), enr_to_peer(&boot_enr));
        drop(second);
        let stored = db.load();
        assert!(stored.iter().any(|e| e.node_id() == boot_enr.node_id()));
        assert!(stored.len() <= MAX_STORED_RECORDS);
    }

    #[tokio::test]
    async fn a_port_released_soon_is_bound_again() {
        let held = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let addr = held.local_addr().unwrap();
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(300)).await;
            drop(held);
        });
        let again = bind_udp(addr, Duration::from_secs(5)).await.unwrap();
        assert_eq!(again.local_addr().unwrap(), addr);
    }

    #[tokio::test]
    async fn a_port_held_for_good_is_an_error() {
        let held = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let addr = held.local_addr().unwrap();
        let err = bind_udp(addr, Duration::from_millis(300))
            .await
            .unwrap_err();
        assert_eq!(err.kind(), std::io::ErrorKind::AddrInUse);
        drop(held);
    }
}
