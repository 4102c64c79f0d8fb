//! The sequencer loop: one L2 block per step, built through the Engine API and published as a
//! signed gossip message.
//!
//! ```text
//!  new():   resume at the EL head (genesis or above: ref and system config read back from its
//!           L1-info deposit, l2_chain.rs), safe/finalized from the EL's tags
//!  step():  head's origin no longer canonical on L1? ─▶ rewind (below)
//!           parent = head, t = parent.time + block time
//!           origin  = select_origin(parent's origin, next L1 block, t)      (origin.rs)
//!           new epoch? deposits + system config updates of the origin      (l1_client.rs)
//!           user txs = txgen (none past the drift)                         (txgen.rs)
//!           attrs    = L1-info, deposits, user txs                         (attributes.rs)
//!           FCU(parent, attrs) ─▶ getPayload ─▶ newPayload ─▶ FCU(new head)  (opfleet-engine)
//!           sign + encode gossip ─▶ broadcast SequencedBlock, store payload
//!           initiating logs of the new block ─▶ interop feed
//!  run():   step() whenever the wall clock reaches the next block's timestamp
//!
//!  rewind (op-node: the origin selector's ErrNextL1OriginOrphaned -> engine reset):
//!    safe ── a ── b ── c ── head        walk parents from the head while the block's L1 origin
//!                 ▲                      is not canonical, never below the safe head
//!                 └─ FCU(head = b); payloads above b dropped; tx generator back to b;
//!                    the next steps rebuild b+1.. on the new L1 branch and publish them
//! ```
//! Once the current origin is canonical, every older origin of the chain is too (they are its
//! L1 ancestors), so one lookup per step is the whole check.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use alloy::eips::BlockId as RpcBlockId;
use alloy::primitives::{Address, B256, Log};
use alloy::rpc::types::engine::{ForkchoiceState, PayloadStatusEnum};
use alloy::signers::local::PrivateKeySigner;
use op_alloy_consensus::TxDeposit;
use op_alloy_rpc_types_engine::{OpExecutionPayloadEnvelope, OpNetworkPayloadEnvelope};
use opfleet_protocol::config::{RollupConfig, SystemConfig};
use opfleet_protocol::deposit::{UserDepositError, user_deposits};
use opfleet_protocol::p2p::{
    BlockTopicVersion, EnvelopeError, SignatureError, TopicForkTimes, encode_block_message,
    payload_version, sign_block,
};
use opfleet_protocol::{BlockId, ChainId, L2BlockRef};
use serde::Deserialize;
use tokio::sync::{broadcast, oneshot};
use tokio::task::JoinHandle;

use super::attributes::{AttributesError, BlockRecipe};
use super::feed::{InitiatingLog, InteropFeed};
use super::l1_client::{L1Client, L1ClientError, L1Origin};
use super::l2_chain::{ChainBlock, L2ChainError, hash_at, nonce_at, read_block};
use super::origin::{OriginError, select_origin};
use super::txgen::{Checkpoint, INITIATOR_ADDRESS, TxGen, TxGenConfig, TxGenError};
use crate::el::JwtSecret;
use crate::l1::contracts::batcher_from_log;
use opfleet_engine::{EngineClient, EngineError, PayloadVersion};

/// Blocks kept on the broadcast for slow subscribers.
const BROADCAST_CAPACITY: usize = 256;

/// How often `run` looks at the clock.
const RUN_POLL: Duration = Duration::from_millis(100);

/// Why a block could not be sequenced.
#[derive(Debug, thiserror::Error)]
pub enum SequencerError {
    /// Reading L1 failed.
    #[error(transparent)]
    L1(#[from] L1ClientError),
    /// An Engine API call failed.
    #[error(transparent)]
    Engine(#[from] EngineError),
    /// The Engine API JWT secret could not be handed to the client.
    #[error("Engine API JWT secret: {0}")]
    Jwt(String),
    /// No origin could be chosen.
    #[error(transparent)]
    Origin(#[from] OriginError),
    /// Attributes could not be built.
    #[error(transparent)]
    Attributes(#[from] AttributesError),
    /// Transactions could not be generated.
    #[error(transparent)]
    TxGen(#[from] TxGenError),
    /// A deposit log of the origin is malformed.
    #[error("deposits of L1 block {block}: {source}")]
    Deposits {
        /// The L1 block.
        block: B256,
        /// The bad log.
        source: UserDepositError,
    },
    /// The L1 block the chain's current origin names is gone.
    #[error("L1 block {0} (the current origin) is not available")]
    MissingOrigin(u64),
    /// The execution client refused or did not finish a step.
    #[error("{step}: execution client answered {status}")]
    EngineStatus {
        /// Which call.
        step: &'static str,
        /// The status it gave.
        status: String,
    },
    /// The execution client did not start a payload build.
    #[error("forkchoiceUpdated with attributes at {0} gave no payload id")]
    NoPayloadId(u64),
    /// The built payload is not the one asked for.
    #[error("built payload {got} does not extend the head {expected}")]
    WrongParent {
        /// The head.
        expected: B256,
        /// The payload's parent.
        got: B256,
    },
    /// The execution client's chain does not start at the rollup's L2 genesis.
    #[error("execution client block {number} is {got:?}, not the L2 genesis {expected}")]
    WrongGenesis {
        /// The genesis number.
        number: u64,
        /// The rollup's genesis hash.
        expected: B256,
        /// The execution client's block there.
        got: Option<B256>,
    },
    /// Reading the chain back from the execution client failed.
    #[error(transparent)]
    L2Chain(#[from] L2ChainError),
    /// The execution client answered `null` for its latest block.
    #[error("execution client has no latest block")]
    NoHead,
    /// A block of the unsafe chain is unknown to the execution client.
    #[error("L2 block {0} of the unsafe chain is unknown to the execution client")]
    MissingBlock(B256),
    /// The safe head's L1 origin was reorged away: derivation must move the safe head back.
    #[error(
        "L1 origin {} ({}) of the safe head {} ({}) is no longer canonical",
        origin.number, origin.hash, safe.number, safe.hash
    )]
    SafeOriginReorged {
        /// The safe head (the unsafe head was rewound to it).
        safe: BlockId,
        /// Its L1 origin, gone from L1.
        origin: BlockId,
    },
    /// Signing the gossip message failed.
    #[error("signing the block: {0}")]
    Sign(#[from] SignatureError),
    /// Encoding the gossip message failed.
    #[error("encoding the gossip message: {0}")]
    Gossip(#[from] EnvelopeError),
    /// The payload's variant is not the one of the topic at its timestamp.
    #[error("payload of topic version {payload:?} at a timestamp of topic version {topic:?}")]
    TopicMismatch {
        /// The payload's version.
        payload: BlockTopicVersion,
        /// The topic version at the timestamp.
        topic: BlockTopicVersion,
    },
    /// The block's timestamp overflows.
    #[error("block timestamp overflows after {0}")]
    TimeOverflow(u64),
}

/// Everything a sequencer needs.
#[derive(Clone, Debug)]
pub struct SequencerConfig {
    /// The chain's rollup configuration (genesis anchors the first block).
    pub rollup: RollupConfig,
    /// L1 JSON-RPC URL.
    pub l1_rpc_url: String,
    /// Engine API URL of the chain's execution client.
    pub engine_url: String,
    /// Engine API JWT secret.
    pub jwt_secret: JwtSecret,
    /// The unsafe block signer's P2P key.
    pub p2p_key: PrivateKeySigner,
    /// L1 blocks the next origin must be below the L1 head (0: the head itself may be used).
    pub l1_confirmation_depth: u64,
    /// Transaction traffic.
    pub txgen: TxGenConfig,
    /// The shared feed of initiating logs (interop traffic); `None` for no interop.
    pub interop: Option<InteropFeed>,
}

/// How a block takes part in an equivocation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Equivocation {
    /// The block the execution client made canonical.
    Canonical,
    /// The conflicting block at the same height, signed and published but never canonical.
    Conflicting,
}

/// A new unsafe block as the sequencer publishes it.
#[derive(Clone, Debug)]
pub struct SequencedBlock {
    /// The block as a rollup node sees it.
    pub l2_block_ref: L2BlockRef,
    /// The payload and its parent beacon block root.
    pub envelope: OpExecutionPayloadEnvelope,
    /// The signed envelope.
    pub signed: OpNetworkPayloadEnvelope,
    /// Topic version of the gossip message.
    pub topic_version: BlockTopicVersion,
    /// The gossip message for that topic: snappy(signature | parent beacon root | SSZ payload).
    pub signed_gossip: Vec<u8>,
    /// Set when this height was equivocated.
    pub equivocation: Option<Equivocation>,
}

/// Payloads [`PayloadStore`] keeps by default: 30 minutes of 2 s blocks. `payload_by_number`
/// serves peers filling a gap in their unsafe chain (op-node asks for the blocks between its
/// unsafe head and a newer gossiped one), so only recent payloads are ever asked for; a node
/// further behind syncs from its execution client's peers, or follows the safe head.
pub const DEFAULT_PAYLOAD_WINDOW: usize = 900;

/// Canonical payloads by number, for `payload_by_number` requests: the newest `window` ones.
#[derive(Clone, Debug)]
pub struct PayloadStore {
    payloads: Arc<Mutex<BTreeMap<u64, OpExecutionPayloadEnvelope>>>,
    window: usize,
}

impl Default for PayloadStore {
    fn default() -> Self {
        Self::with_window(DEFAULT_PAYLOAD_WINDOW)
    }
}

impl PayloadStore {
    /// An empty store that keeps the newest `window` payloads (at least one).
    pub fn with_window(window: usize) -> Self {
        Self {
            payloads: Arc::default(),
            window: window.max(1),
        }
    }

    fn lock(&self) -> MutexGuard<'_, BTreeMap<u64, OpExecutionPayloadEnvelope>> {
        // Every update completes before unlocking: a poisoned lock still holds a consistent map.
        self.payloads.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The canonical payload at `number`.
    pub fn payload_by_number(&self, number: u64) -> Option<OpExecutionPayloadEnvelope> {
        self.lock().get(&number).cloned()
    }

    /// Payloads held.
    pub fn len(&self) -> usize {
        self.lock().len()
    }

    /// Whether no payload is held.
    pub fn is_empty(&self) -> bool {
        self.lock().is_empty()
    }

    /// Stores the canonical payload at `number`, dropping the oldest past the window.
    pub fn insert(&self, number: u64, envelope: OpExecutionPayloadEnvelope) {
        let mut map = self.lock();
        map.insert(number, envelope);
        while map.len() > self.window {
            map.pop_first();
        }
    }

    /// Drops the payloads above `number` (they were rewound away).
    fn truncate_above(&self, number: u64) {
        let mut map = self.lock();
        if let Some(first_dropped) = number.checked_add(1) {
            map.split_off(&first_dropped);
        }
    }
}

/// Knobs that can be turned while the sequencer runs.
#[derive(Clone, Debug)]
pub struct SequencerControls(Arc<ControlState>);

#[derive(Debug)]
struct ControlState {
    safe: Mutex<BlockId>,
    finalized: Mutex<BlockId>,
    invalid_message: AtomicBool,
    equivocate: AtomicBool,
}

impl SequencerControls {
    fn new(safe: BlockId, finalized: BlockId) -> Self {
        Self(Arc::new(ControlState {
            safe: Mutex::new(safe),
            finalized: Mutex::new(finalized),
            invalid_message: AtomicBool::new(false),
            equivocate: AtomicBool::new(false),
        }))
    }

    /// Sets the safe block sent with every forkchoice update (as derivation reports it).
    pub fn set_safe(&self, block: BlockId) {
        *self.0.safe.lock().unwrap_or_else(PoisonError::into_inner) = block;
    }

    /// Sets the finalized block sent with every forkchoice update.
    pub fn set_finalized(&self, block: BlockId) {
        *self
            .0
            .finalized
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = block;
    }

    /// The safe block.
    pub fn safe(&self) -> BlockId {
        *self.0.safe.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The finalized block.
    pub fn finalized(&self) -> BlockId {
        *self
            .0
            .finalized
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// The next block carries an executing message for a log that does not exist.
    pub fn inject_invalid_executing_message(&self) {
        self.0.invalid_message.store(true, Ordering::SeqCst);
    }

    /// The next height gets two different signed blocks; only the first becomes canonical.
    pub fn equivocate_next_block(&self) {
        self.0.equivocate.store(true, Ordering::SeqCst);
    }
}

/// A devnet sequencer (see the module documentation).
pub struct Sequencer {
    rollup: RollupConfig,
    l1: L1Client,
    engine: EngineClient,
    p2p_key: PrivateKeySigner,
    conf_depth: u64,
    txgen: TxGen,
    feed: Option<InteropFeed>,
    head: L2BlockRef,
    system_config: SystemConfig,
    /// The tx generator's state before each unsafe block above the safe head (rewind targets).
    checkpoints: BTreeMap<u64, Checkpoint>,
    topics: TopicForkTimes,
    controls: SequencerControls,
    store: PayloadStore,
    blocks: broadcast::Sender<SequencedBlock>,
}

impl std::fmt::Debug for Sequencer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sequencer")
            .field("chain", &self.rollup.l2_chain_id)
            .field("head", &self.head)
            .finish_non_exhaustive()
    }
}

#[derive(Deserialize)]
struct L2Receipt {
    logs: Vec<alloy::rpc::types::Log>,
}

impl Sequencer {
    /// Connects to L1 and the execution client and resumes at the client's head: its L2 genesis
    /// or, after a restart, the last block it holds (the chain must start at the genesis).
    pub async fn new(config: SequencerConfig) -> Result<Self, SequencerError> {
        let rollup = config.rollup;
        let l1 = L1Client::new(&config.l1_rpc_url)?;
        let secret = opfleet_engine::JwtSecret::from_hex(&config.jwt_secret.to_hex())
            .map_err(|e| SequencerError::Jwt(e.to_string()))?;
        let engine = EngineClient::new(&config.engine_url, secret)?;
        let g = rollup.genesis;
        let at_genesis = hash_at(&engine, g.l2.number).await?;
        if at_genesis != Some(g.l2.hash) {
            return Err(SequencerError::WrongGenesis {
                number: g.l2.number,
                expected: g.l2.hash,
                got: at_genesis,
            });
        }
        let head = read_block(&engine, &rollup, RpcBlockId::latest())
            .await?
            .ok_or(SequencerError::NoHead)?;
        let mut tags = [g.l2; 2];
        for (slot, id) in tags
            .iter_mut()
            .zip([RpcBlockId::safe(), RpcBlockId::finalized()])
        {
            if let Some(b) = read_block(&engine, &rollup, id).await? {
                *slot = b.block_ref.id();
            }
        }
        let [safe, finalized] = tags;
        let controls = SequencerControls::new(safe, finalized);
        let h = &rollup.hardforks;
        let topics = TopicForkTimes {
            canyon: h.canyon_time,
            ecotone: h.ecotone_time,
            isthmus: h.isthmus_time,
        };
        let txgen = TxGen::new(rollup.l2_chain_id, config.txgen, config.interop.clone())?;
        let (blocks, _) = broadcast::channel(BROADCAST_CAPACITY);
        let mut sequencer = Self {
            head: head.block_ref,
            system_config: head.system_config,
            checkpoints: BTreeMap::new(),
            controls,
            store: PayloadStore::default(),
            feed: config.interop,
            p2p_key: config.p2p_key,
            conf_depth: config.l1_confirmation_depth,
            rollup,
            l1,
            engine,
            txgen,
            topics,
            blocks,
        };
        if head.block_ref.number > g.l2.number {
            sequencer.resume_nonces(head.block_ref.hash).await?;
            tracing::info!(
                chain = %sequencer.chain_id(),
                head = head.block_ref.number,
                hash = %head.block_ref.hash,
                origin = head.block_ref.l1_origin.number,
                seq = head.block_ref.sequence_number,
                safe = sequencer.controls.safe().number,
                "resuming at the execution client's head"
            );
        }
        Ok(sequencer)
    }

    /// Continues the tx generator's nonces from the chain at `block`.
    async fn resume_nonces(&mut self, block: B256) -> Result<(), SequencerError> {
        let mut nonces = Vec::new();
        for address in self.txgen.addresses() {
            nonces.push(nonce_at(&self.engine, address, block).await?);
        }
        self.txgen.set_nonces(&nonces);
        Ok(())
    }

    /// The chain id.
    pub fn chain_id(&self) -> ChainId {
        self.rollup.l2_chain_id
    }

    /// The unsafe block signer's address.
    pub fn signer(&self) -> Address {
        self.p2p_key.address()
    }

    /// The newest block built.
    pub fn head(&self) -> L2BlockRef {
        self.head
    }

    /// The rollup configuration.
    pub fn rollup(&self) -> &RollupConfig {
        &self.rollup
    }

    /// New blocks, as they are built.
    pub fn subscribe(&self) -> broadcast::Receiver<SequencedBlock> {
        self.blocks.subscribe()
    }

    /// Keeps the newest `window` payloads for `payload_by_number` instead of
    /// [`DEFAULT_PAYLOAD_WINDOW`] (call before sharing [`Self::store`]).
    pub fn with_payload_window(mut self, window: usize) -> Self {
        self.store = PayloadStore::with_window(window);
        self
    }

    /// The payload store (shared: it keeps filling while the sequencer runs).
    pub fn store(&self) -> PayloadStore {
        self.store.clone()
    }

    /// The canonical payload at `number`.
    pub fn payload_by_number(&self, number: u64) -> Option<OpExecutionPayloadEnvelope> {
        self.store.payload_by_number(number)
    }

    /// The run-time knobs (shared).
    pub fn controls(&self) -> SequencerControls {
        self.controls.clone()
    }

    /// The head's L1 origin as L1 has it now, after rewinding the head if L1 reorged it away.
    async fn canonical_origin(&mut self) -> Result<L1Origin, SequencerError> {
        let id = self.head.l1_origin;
        if let Some(origin) = self.l1.by_number(id.number).await?
            && origin.block.hash == id.hash
        {
            return Ok(origin);
        }
        self.rewind().await
    }

    /// Resets the unsafe head to the highest block whose L1 origin is canonical, never below the
    /// safe head (op-node resets its engine the same way when its origin is orphaned), and
    /// returns that origin.
    async fn rewind(&mut self) -> Result<L1Origin, SequencerError> {
        let safe = self.controls.safe();
        let from = self.head;
        let mut l1_at: HashMap<u64, Option<L1Origin>> = HashMap::new();
        let mut block = self.chain_block(from.hash).await?;
        let origin = loop {
            let id = block.block_ref.l1_origin;
            let canonical = match l1_at.get(&id.number) {
                Some(known) => *known,
                None => {
                    let fetched = self.l1.by_number(id.number).await?;
                    l1_at.insert(id.number, fetched);
                    fetched
                }
            };
            let origin = canonical.filter(|o| o.block.hash == id.hash);
            if origin.is_some() || block.block_ref.number <= safe.number {
                break origin;
            }
            block = self.chain_block(block.block_ref.parent_hash).await?;
        };
        let target = block.block_ref;
        if target.hash != from.hash {
            let updated = self
                .engine
                .forkchoice_updated(self.forkchoice(target.hash), None)
                .await?;
            if !updated.payload_status.status.is_valid() {
                return Err(SequencerError::EngineStatus {
                    step: "forkchoiceUpdated rewinding the unsafe head",
                    status: updated.payload_status.status.to_string(),
                });
            }
            self.store.truncate_above(target.number);
            let next = target.number.saturating_add(1);
            let mut dropped = self.checkpoints.split_off(&next);
            match dropped.remove(&next) {
                Some(checkpoint) => self.txgen.restore(checkpoint),
                // Blocks built before a restart have no checkpoint: the chain has the nonces.
                None => self.resume_nonces(target.hash).await?,
            }
            self.head = target;
            self.system_config = block.system_config;
            tracing::warn!(
                chain = %self.chain_id(),
                from = from.number,
                from_origin = from.l1_origin.number,
                to = target.number,
                to_hash = %target.hash,
                to_origin = target.l1_origin.number,
                safe = safe.number,
                "L1 reorged the unsafe chain's origin: rewound the unsafe head"
            );
        }
        origin.ok_or_else(|| {
            tracing::error!(
                chain = %self.chain_id(),
                safe = safe.number,
                safe_hash = %safe.hash,
                origin = target.l1_origin.number,
                origin_hash = %target.l1_origin.hash,
                "L1 REORGED THE SAFE HEAD'S ORIGIN AWAY: the unsafe head is at the safe head and \
                 cannot advance until derivation moves the safe head back"
            );
            SequencerError::SafeOriginReorged {
                safe: target.id(),
                origin: target.l1_origin,
            }
        })
    }

    async fn chain_block(&self, hash: B256) -> Result<ChainBlock, SequencerError> {
        read_block(&self.engine, &self.rollup, RpcBlockId::hash(hash))
            .await?
            .ok_or(SequencerError::MissingBlock(hash))
    }

    /// Decides the origin of the block at `timestamp` after the head, whose origin is `current`.
    async fn next_origin(
        &mut self,
        current: L1Origin,
        timestamp: u64,
    ) -> Result<(L1Origin, bool, bool), SequencerError> {
        let l1_head = self.l1.head().await?;
        let next_number = current.block.number + 1;
        let next = if next_number.saturating_add(self.conf_depth) <= l1_head.block.number {
            self.l1.by_number(next_number).await?
        } else {
            None
        };
        let max_drift = self.rollup.max_sequencer_drift(current.block.timestamp);
        let d = select_origin(
            &current.block,
            next.as_ref().map(|n| &n.block),
            timestamp,
            max_drift,
        )?;
        let origin = if d.new_epoch {
            next.ok_or(SequencerError::MissingOrigin(next_number))?
        } else {
            current
        };
        Ok((origin, d.new_epoch, d.past_drift))
    }

    /// The deposits of a new origin, after applying its system config updates.
    async fn enter_epoch(&mut self, origin: &L1Origin) -> Result<Vec<TxDeposit>, SequencerError> {
        let logs = self.l1.logs(origin.block.hash).await?;
        for (_, log) in &logs {
            if log.address == self.rollup.l1_system_config_address
                && let Some(batcher) = batcher_from_log(log)
            {
                tracing::info!(chain = %self.chain_id(), %batcher, "batcher updated on L1");
                self.system_config.batcher_address = batcher;
            }
        }
        user_deposits(
            self.rollup.deposit_contract_address,
            origin.block.hash,
            logs.iter().map(|(i, l)| (*i, l)),
        )
        .map_err(|source| SequencerError::Deposits {
            block: origin.block.hash,
            source,
        })
    }

    fn forkchoice(&self, head: B256) -> ForkchoiceState {
        ForkchoiceState {
            head_block_hash: head,
            safe_block_hash: self.controls.safe().hash,
            finalized_block_hash: self.controls.finalized().hash,
        }
    }

    /// Builds (but does not import) the payload for `attrs` on the current head.
    async fn build(
        &self,
        attrs: &op_alloy_rpc_types_engine::OpPayloadAttributes,
    ) -> Result<OpExecutionPayloadEnvelope, SequencerError> {
        let ts = attrs.payload_attributes.timestamp;
        let updated = self
            .engine
            .forkchoice_updated(self.forkchoice(self.head.hash), Some(attrs.clone()))
            .await?;
        if !updated.payload_status.status.is_valid() {
            return Err(SequencerError::EngineStatus {
                step: "forkchoiceUpdated with attributes",
                status: updated.payload_status.status.to_string(),
            });
        }
        let id = updated.payload_id.ok_or(SequencerError::NoPayloadId(ts))?;
        let version = PayloadVersion::at(&self.rollup, ts);
        let envelope = self.engine.get_payload(id, version).await?;
        let parent = envelope.execution_payload.parent_hash();
        if parent != self.head.hash {
            return Err(SequencerError::WrongParent {
                expected: self.head.hash,
                got: parent,
            });
        }
        Ok(envelope)
    }

    async fn import(&self, envelope: &OpExecutionPayloadEnvelope) -> Result<(), SequencerError> {
        let status = self.engine.new_payload(envelope).await?;
        if status.status != PayloadStatusEnum::Valid {
            return Err(SequencerError::EngineStatus {
                step: "newPayload",
                status: status.status.to_string(),
            });
        }
        Ok(())
    }

    fn sign(
        &self,
        l2_block_ref: L2BlockRef,
        envelope: OpExecutionPayloadEnvelope,
        equivocation: Option<Equivocation>,
    ) -> Result<SequencedBlock, SequencerError> {
        let topic_version = self.topics.version_at(l2_block_ref.timestamp);
        let payload = payload_version(&envelope.execution_payload);
        if payload != topic_version {
            return Err(SequencerError::TopicMismatch {
                payload,
                topic: topic_version,
            });
        }
        let signed = sign_block(
            &self.p2p_key,
            self.chain_id(),
            envelope.execution_payload.clone(),
            envelope.parent_beacon_block_root,
        )?;
        let signed_gossip = encode_block_message(&signed)?;
        Ok(SequencedBlock {
            l2_block_ref,
            envelope,
            signed,
            topic_version,
            signed_gossip,
            equivocation,
        })
    }

    /// Builds exactly one block on the head and publishes it.
    pub async fn step(&mut self) -> Result<SequencedBlock, SequencerError> {
        let mut looked_again = false;
        let (parent, timestamp, origin, new_epoch, past_drift) = loop {
            let current = self.canonical_origin().await?;
            let parent = self.head;
            let timestamp = parent
                .timestamp
                .checked_add(self.rollup.block_time)
                .ok_or(SequencerError::TimeOverflow(parent.timestamp))?;
            match self.next_origin(current, timestamp).await {
                Ok((origin, new_epoch, past_drift)) => {
                    break (parent, timestamp, origin, new_epoch, past_drift);
                }
                // L1 reorged between the two reads: the origin check sees it now.
                Err(SequencerError::Origin(OriginError::NotChild { .. })) if !looked_again => {
                    looked_again = true;
                }
                Err(e) => return Err(e),
            }
        };
        let saved_system_config = self.system_config;
        let deposits = if new_epoch {
            self.enter_epoch(&origin).await?
        } else {
            Vec::new()
        };
        let invalid = self
            .controls
            .0
            .invalid_message
            .swap(false, Ordering::SeqCst);
        let equivocate = self.controls.0.equivocate.swap(false, Ordering::SeqCst);
        let checkpoint = self.txgen.checkpoint();
        let result = self
            .build_and_publish(
                parent, timestamp, origin, new_epoch, past_drift, &deposits, invalid, equivocate,
            )
            .await;
        match result {
            Ok(block) => {
                self.head = block.l2_block_ref;
                self.checkpoints.insert(self.head.number, checkpoint);
                // Nothing rewinds below the safe head: older checkpoints are not needed.
                let keep_from = self.controls.safe().number.saturating_add(1);
                self.checkpoints = self.checkpoints.split_off(&keep_from);
                Ok(block)
            }
            Err(e) => {
                self.txgen.restore(checkpoint);
                self.system_config = saved_system_config;
                if invalid {
                    self.controls.inject_invalid_executing_message();
                }
                if equivocate {
                    self.controls.equivocate_next_block();
                }
                Err(e)
            }
        }
    }

    #[allow(clippy::too_many_arguments)]
    async fn build_and_publish(
        &mut self,
        parent: L2BlockRef,
        timestamp: u64,
        origin: L1Origin,
        new_epoch: bool,
        past_drift: bool,
        deposits: &[TxDeposit],
        invalid: bool,
        equivocate: bool,
    ) -> Result<SequencedBlock, SequencerError> {
        // Past the drift a block may carry no user transactions (derivation would drop it).
        let batch = if past_drift {
            Default::default()
        } else {
            self.txgen.generate(timestamp, invalid)?
        };
        let sequence_number = if new_epoch {
            0
        } else {
            parent.sequence_number + 1
        };
        let recipe = BlockRecipe {
            rollup: &self.rollup,
            system_config: &self.system_config,
            origin: &origin,
            sequence_number,
            timestamp,
            deposits,
            user_txs: batch.txs.clone(),
        };
        let attrs = recipe.attributes()?;
        let envelope = self.build(&attrs).await?;
        let conflicting = if equivocate {
            let alt_recipe = BlockRecipe {
                user_txs: vec![self.txgen.equivocation_tx()?],
                ..recipe
            };
            let alt = self.build(&alt_recipe.attributes()?).await?;
            self.import(&alt).await?;
            Some(alt)
        } else {
            None
        };
        self.import(&envelope).await?;
        let hash = envelope.execution_payload.block_hash();
        let updated = self
            .engine
            .forkchoice_updated(self.forkchoice(hash), None)
            .await?;
        if !updated.payload_status.status.is_valid() {
            return Err(SequencerError::EngineStatus {
                step: "forkchoiceUpdated to the new head",
                status: updated.payload_status.status.to_string(),
            });
        }
        let l2_ref = |e: &OpExecutionPayloadEnvelope| L2BlockRef {
            hash: e.execution_payload.block_hash(),
            number: e.execution_payload.block_number(),
            parent_hash: e.execution_payload.parent_hash(),
            timestamp,
            l1_origin: origin.block.id(),
            sequence_number,
        };
        let l2_block_ref = l2_ref(&envelope);
        self.store.insert(l2_block_ref.number, envelope.clone());
        let block = self.sign(
            l2_block_ref,
            envelope,
            conflicting.is_some().then_some(Equivocation::Canonical),
        )?;
        let conflicting = conflicting
            .map(|alt| self.sign(l2_ref(&alt), alt, Some(Equivocation::Conflicting)))
            .transpose()?;
        tracing::info!(
            chain = %self.chain_id(),
            number = l2_block_ref.number,
            hash = %l2_block_ref.hash,
            origin = origin.block.number,
            seq = sequence_number,
            deposits = deposits.len(),
            user_txs = batch.txs.len(),
            executing = batch.executing.len(),
            invalid = batch.invalid.is_some(),
            equivocated = conflicting.is_some(),
            "sequenced block"
        );
        if let Some(feed) = &self.feed {
            let logs = self.initiating_logs(&l2_block_ref).await?;
            feed.push(logs);
        }
        // No subscribers is fine: the block is in the store and the EL either way.
        let _ = self.blocks.send(block.clone());
        if let Some(c) = conflicting {
            let _ = self.blocks.send(c);
        }
        Ok(block)
    }

    /// The initiating logs of a canonical block, read back from the execution client's receipts.
    async fn initiating_logs(
        &self,
        block: &L2BlockRef,
    ) -> Result<Vec<InitiatingLog>, SequencerError> {
        let receipts: Option<Vec<L2Receipt>> = self
            .engine
            .transport()
            .call("eth_getBlockReceipts", (block.hash,))
            .await
            .map_err(EngineError::from)?;
        let logs = receipts
            .unwrap_or_default()
            .into_iter()
            .flat_map(|r| r.logs)
            .filter(|l| l.inner.address == INITIATOR_ADDRESS)
            .filter_map(|l| {
                let log_index = u32::try_from(l.log_index?).ok()?;
                Some(InitiatingLog {
                    chain_id: self.chain_id(),
                    block_number: block.number,
                    log_index,
                    timestamp: block.timestamp,
                    log: Log::clone(&l.inner),
                })
            })
            .collect();
        Ok(logs)
    }

    /// Runs `step` whenever the wall clock reaches the next block's timestamp, until stopped.
    pub fn run(mut self) -> SequencerHandle {
        let controls = self.controls();
        let store = self.store();
        let blocks = self.blocks.clone();
        let (stop, mut stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            loop {
                tokio::select! {
                    _ = &mut stopped => break,
                    _ = tokio::time::sleep(RUN_POLL) => {}
                }
                let next = self.head.timestamp.saturating_add(self.rollup.block_time);
                if crate::el::jwt::unix_now() < next {
                    continue;
                }
                if let Err(e) = self.step().await {
                    tracing::warn!(chain = %self.chain_id(), error = %e, "sequencing failed; retrying");
                }
            }
            tracing::info!(chain = %self.chain_id(), head = self.head.number, "sequencer stopped");
            self
        });
        SequencerHandle {
            controls,
            store,
            blocks,
            stop: Some(stop),
            task,
        }
    }
}

/// A sequencer running on its timer.
#[derive(Debug)]
pub struct SequencerHandle {
    controls: SequencerControls,
    store: PayloadStore,
    blocks: broadcast::Sender<SequencedBlock>,
    stop: Option<oneshot::Sender<()>>,
    task: JoinHandle<Sequencer>,
}

impl SequencerHandle {
    /// New blocks, as they are built.
    pub fn subscribe(&self) -> broadcast::Receiver<SequencedBlock> {
        self.blocks.subscribe()
    }

    /// The run-time knobs.
    pub fn controls(&self) -> SequencerControls {
        self.controls.clone()
    }

    /// The canonical payload at `number`.
    pub fn payload_by_number(&self, number: u64) -> Option<OpExecutionPayloadEnvelope> {
        self.store.payload_by_number(number)
    }

    /// Stops after the block in progress and gives the sequencer back (`None` if its task
    /// panicked).
    pub async fn stop(mut self) -> Option<Sequencer> {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        (&mut self.task).await.ok()
    }
}

impl Drop for SequencerHandle {
    fn drop(&mut self) {
        if self.stop.is_some() {
            self.task.abort();
        }
    }
}
