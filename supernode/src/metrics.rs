//! Prometheus metrics of one node, rendered at `/metrics`. Per-chain series carry a `chain`
//! label. The recorder belongs to the node (not the process-global one), so several nodes in one
//! test process keep separate numbers.
//!
//! ```text
//!   opfleet_supernode_l2_head{chain,head=unsafe|local_safe|safe|finalized}   block number
//!   opfleet_supernode_l1_head{chain,head=current|head|safe|finalized}        block number
//!   opfleet_supernode_attestations_signed_total{chain,kind}
//!   opfleet_supernode_heads_held_total{chain,reason}
//!   opfleet_supernode_errors_total{chain,stage=output_root|store|gossip|poll|check}
//! ```

use std::sync::Arc;

use metrics::{Key, KeyName, Label, Level, Metadata, Recorder, SharedString};
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusRecorder};
use opfleet_attest::AttestationKind;
use opfleet_protocol::ChainId;

use crate::heads::ChainHeads;

const L2_HEAD: &str = "opfleet_supernode_l2_head";
const L1_HEAD: &str = "opfleet_supernode_l1_head";
const SIGNED: &str = "opfleet_supernode_attestations_signed_total";
const HELD: &str = "opfleet_supernode_heads_held_total";
const ERRORS: &str = "opfleet_supernode_errors_total";

const META: Metadata<'static> = Metadata::new("opfleet_supernode", Level::INFO, None);

/// Where an error happened, for the `stage` label.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErrorStage {
    /// Fetching an output root for signing.
    OutputRoot,
    /// Writing to the database.
    Store,
    /// Publishing on the private gossip topic.
    Gossip,
    /// Polling a followed op-node (attester mode).
    Poll,
    /// A followed status failed the follow checks (attester mode).
    Check,
}

impl ErrorStage {
    const fn label(self) -> &'static str {
        match self {
            Self::OutputRoot => "output_root",
            Self::Store => "store",
            Self::Gossip => "gossip",
            Self::Poll => "poll",
            Self::Check => "check",
        }
    }
}

/// The node's metrics.
#[derive(Clone)]
pub struct Metrics {
    recorder: Arc<PrometheusRecorder>,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Metrics")
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

fn key(name: &'static str, labels: Vec<Label>) -> Key {
    Key::from_parts(name, labels)
}

impl Metrics {
    /// A fresh set of metrics with their help texts.
    pub fn new() -> Self {
        let recorder = PrometheusBuilder::new().build_recorder();
        let describe = |name: &'static str, help: &'static str, gauge: bool| {
            if gauge {
                recorder.describe_gauge(KeyName::from(name), None, SharedString::from(help));
            } else {
                recorder.describe_counter(KeyName::from(name), None, SharedString::from(help));
            }
        };
        describe(L2_HEAD, "L2 head block number served, by head", true);
        describe(
            L1_HEAD,
            "L1 block number of the served sync status, by head",
            true,
        );
        describe(SIGNED, "Attestations signed and published, by kind", false);
        describe(HELD, "Live heads not adopted, by reason", false);
        describe(ERRORS, "Errors, by stage", false);
        Self {
            recorder: Arc::new(recorder),
        }
    }

    fn gauge(&self, name: &'static str, chain: ChainId, head: &'static str, value: u64) {
        let labels = vec![
            Label::new("chain", chain.to_string()),
            Label::new("head", head),
        ];
        self.recorder
            .register_gauge(&key(name, labels), &META)
            .set(value as f64);
    }

    fn count(&self, name: &'static str, chain: ChainId, label: (&'static str, &'static str)) {
        let labels = vec![
            Label::new("chain", chain.to_string()),
            Label::new(label.0, label.1),
        ];
        self.recorder
            .register_counter(&key(name, labels), &META)
            .increment(1);
    }

    /// Records the heads now served for a chain.
    pub fn served(&self, heads: &ChainHeads) {
        let s = &heads.status;
        let c = heads.chain_id;
        for (head, n) in [
            ("unsafe", s.unsafe_l2.number),
            ("local_safe", s.local_safe_l2.number),
            ("safe", s.safe_l2.number),
            ("finalized", s.finalized_l2.number),
        ] {
            self.gauge(L2_HEAD, c, head, n);
        }
        for (head, n) in [
            ("current", s.current_l1.number),
            ("head", s.head_l1.number),
            ("safe", s.safe_l1.number),
            ("finalized", s.finalized_l1.number),
        ] {
            self.gauge(L1_HEAD, c, head, n);
        }
    }

    /// Counts one signed attestation.
    pub fn signed(&self, chain: ChainId, kind: AttestationKind) {
        self.count(SIGNED, chain, ("kind", kind.as_str()));
    }

    /// Counts live heads that were held back.
    pub fn held(&self, chain: ChainId, reason: &'static str) {
        self.count(HELD, chain, ("reason", reason));
    }

    /// Counts an error.
    pub fn error(&self, chain: ChainId, stage: ErrorStage) {
        self.count(ERRORS, chain, ("stage", stage.label()));
    }

    /// The Prometheus text exposition.
    pub fn render(&self) -> String {
        self.recorder.handle().render()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_labelled_series() {
        let m = Metrics::new();
        let mut h = ChainHeads {
            chain_id: ChainId(10),
            ..Default::default()
        };
        h.status.safe_l2.number = 42;
        m.served(&h);
        m.signed(ChainId(10), AttestationKind::Safe);
        m.signed(ChainId(10), AttestationKind::Safe);
        m.error(ChainId(10), ErrorStage::Gossip);
        let text = m.render();
        assert!(
            text.contains(r#"opfleet_supernode_l2_head{chain="10",head="safe"} 42"#),
            "{text}"
        );
        assert!(
            text.contains(
                r#"opfleet_supernode_attestations_signed_total{chain="10",kind="safe"} 2"#
            ),
            "{text}"
        );
        assert!(text.contains("# HELP opfleet_supernode_l2_head"), "{text}");
        // A second node's metrics are its own.
        assert!(!Metrics::new().render().contains("chain=\"10\""));
    }
}
