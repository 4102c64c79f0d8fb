//! discv5 for block gossip, as op-node runs it: a local ENR with the `opstack` entry, bootnodes
//! given as ENRs, and a periodic walk of the DHT whose finds are filtered by chain and handed to
//! the gossip node to dial over TCP.
//!
//! ```text
//!   every interval: routing table + FINDNODE(random id) ──► ENRs ─► opstack matches chain?
//!        │                                                          ├─ no ─► dropped
//!        └─ DiscoveredPeer { peer id from secp256k1 key, /ip4/<ip>/tcp/<tcp> } ─► node (dials
//!                                                          while below its peer goal)
//! ```

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
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

use crate::discovery::opstack::{OPSTACK_ENR_KEY, OpStackEnr};

/// op-node's `--p2p.peers.lo`: below this many connections, discovered peers are dialled.
pub const DEFAULT_PEERS_GOAL: usize = 20;

/// op-node's fast discovery and connection interval.
pub const DEFAULT_DISCOVERY_INTERVAL: Duration = Duration::from_secs(5);

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
    /// Records to start the DHT from (op-node's `--p2p.bootnodes`).
    pub bootnodes: Vec<Enr>,
    /// Connections below which discovered peers are dialled.
    pub peers_goal: usize,
    /// How often the DHT is walked and the peer goal checked.
    pub interval: Duration,
}

impl DiscoveryConfig {
    /// Discovery on `listen_udp` from `bootnodes`, with op-node's goal and interval.
    pub fn new(listen_udp: SocketAddr, bootnodes: Vec<Enr>) -> Self {
        Self {
            listen_udp,
            advertise_ip: None,
            advertise_tcp_port: None,
            bootnodes,
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

/// A running discv5 service and its DHT walk.
pub struct Discovery {
    discv5: Arc<Discv5>,
    task: JoinHandle<()>,
}

impl Discovery {
    /// Binds the UDP socket, signs the local ENR (IP, UDP, TCP `tcp_port`, `opstack` entry of
    /// `chain_id`), adds the bootnodes and starts walking; matching peers go to `found`.
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
        let ip = config
            .advertise_ip
            .or_else(|| (!bound.ip().is_unspecified()).then_some(bound.ip()));
        let tcp = config.advertise_tcp_port.unwrap_or(tcp_port);
        let mut builder = Enr::builder();
        match ip {
            Some(IpAddr::V4(v4)) => {
                builder.ip4(v4).udp4(bound.port()).tcp4(tcp);
            }
            Some(IpAddr::V6(v6)) => {
                builder.ip6(v6).udp6(bound.port()).tcp6(tcp);
            }
            None => {
                builder.udp4(bound.port()).tcp4(tcp);
            }
        }
        let opstack = OpStackEnr::new(chain_id).to_rlp();
        builder.add_value_rlp(OPSTACK_ENR_KEY, opstack.into());
        let local_enr = builder
            .build(&key)
            .map_err(|e| DiscoveryError::LocalEnr(e.to_string()))?;

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
        let discv5_config = ConfigBuilder::new(listen).build();
        let mut discv5 = Discv5::new(local_enr, key, discv5_config)
            .map_err(|e| DiscoveryError::Discv5(e.into()))?;
        for boot in &config.bootnodes {
            if let Err(e) = discv5.add_enr(boot.clone()) {
                tracing::warn!(enr = %boot, error = e, "bootnode not added");
            }
        }
        discv5
            .start()
            .await
            .map_err(|e| DiscoveryError::Discv5(format!("{e:?}")))?;
        tracing::info!(enr = %discv5.local_enr(), "discovery started");
        let discv5 = Arc::new(discv5);
        let task = tokio::spawn(walk(
            discv5.clone(),
            chain_id,
            identity.public().to_peer_id(),
            config.interval.max(Duration::from_millis(100)),
            found,
        ));
        Ok(Self { discv5, task })
    }

    /// The signed local record, to hand to other nodes as a bootnode.
    pub fn local_enr(&self) -> Enr {
        self.discv5.local_enr()
    }

    /// The records in the routing table now (all chains: filtering happens before dialling).
    pub fn table(&self) -> Vec<Enr> {
        self.discv5.table_entries_enr()
    }
}

impl Drop for Discovery {
    fn drop(&mut self) {
        // The walk holds the other reference; once it is gone, discv5 shuts down on drop.
        self.task.abort();
    }
}

/// Walks the DHT every `interval`: the routing table first (bootnodes and what was learnt),
/// then a random FINDNODE; every record of our chain is reported.
async fn walk(
    discv5: Arc<Discv5>,
    chain_id: ChainId,
    local: PeerId,
    interval: Duration,
    found: mpsc::Sender<DiscoveredPeer>,
) {
    let mut tick = tokio::time::interval(interval);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
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
    use super::*;

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
