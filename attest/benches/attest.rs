//! Attestation verification and quorum ingestion, each beside raw ed25519-dalek `verify_strict`
//! of a 32-byte message measured in the same run. Results and ratios: BENCHMARKS.md.
//!
//! Run: `cargo bench -p opfleet-attest --bench attest`.

use std::hint::black_box;

use alloy::primitives::B256;
use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use ed25519_dalek::Signer;
use opfleet_attest::{
    Attestation, AttestationKind, PublicKey, QuorumTracker, SignedAttestation, SigningKey,
    TrackerConfig, TrustPolicy, verify_batch,
};
use opfleet_protocol::{BlockId, ChainId, L2BlockRef};

/// A pool of seven supernodes, as a large operator might run.
const SIGNERS: u8 = 7;
const NOW_MS: u64 = 1_750_000_000_000;

fn keys() -> Vec<SigningKey> {
    (0..SIGNERS)
        .map(|i| SigningKey::from_bytes(&[i + 1; 32]))
        .collect()
}

/// `n` attestations: every signer attests each height in turn, safe heads of one chain.
fn attestations(n: usize) -> Vec<SignedAttestation> {
    let keys = keys();
    (0..n)
        .map(|i| {
            let number = (i / keys.len()) as u64 + 1;
            let a = Attestation {
                kind: AttestationKind::Safe,
                chain_id: ChainId(11155420),
                block: L2BlockRef {
                    hash: B256::from(alloy::primitives::U256::from(number)),
                    number,
                    parent_hash: B256::from(alloy::primitives::U256::from(number - 1)),
                    timestamp: 1_750_000_000 + 2 * number,
                    l1_origin: BlockId {
                        hash: B256::repeat_byte(0x11),
                        number: 7_000_000 + number / 6,
                    },
                    sequence_number: number % 6,
                },
                derived_from: BlockId {
                    hash: B256::repeat_byte(0x22),
                    number: 7_000_000 + number / 6,
                },
                output_root: B256::repeat_byte(0x33),
                issued_at_ms: NOW_MS - 1000 + number,
            };
            SignedAttestation::sign(a, &keys[i % keys.len()])
        })
        .collect()
}

fn benches(c: &mut Criterion) {
    let key = SigningKey::from_bytes(&[9; 32]);
    let vk = key.verifying_key();
    let msg32 = [0x5au8; 32];
    let sig32 = key.sign(&msg32);

    let mut single = c.benchmark_group("single");
    single.throughput(Throughput::Elements(1));
    single.bench_function("raw_ed25519_verify_strict_32B", |b| {
        b.iter(|| vk.verify_strict(black_box(&msg32), black_box(&sig32)))
    });
    let one = attestations(1)[0];
    let wire = one.to_wire();
    single.bench_function("attestation_decode_and_verify", |b| {
        b.iter(|| SignedAttestation::from_wire(black_box(&wire)).map(|s| s.verify()))
    });
    single.finish();

    for n in [64usize, 1024] {
        let items = attestations(n);
        let wires: Vec<[u8; 314]> = items.iter().map(SignedAttestation::to_wire).collect();
        let policy = TrustPolicy::new(keys().iter().map(PublicKey::of), 5).unwrap_or_else(|e| {
            panic!("benchmark policy: {e}");
        });
        let mut g = c.benchmark_group(format!("batch_{n}"));
        g.throughput(Throughput::Elements(n as u64));
        if n > 64 {
            g.sample_size(20);
        }
        g.bench_function("raw_ed25519_verify_strict_32B_x_n", |b| {
            b.iter(|| {
                for _ in 0..n {
                    let _ = black_box(vk.verify_strict(black_box(&msg32), black_box(&sig32)));
                }
            })
        });
        g.bench_function("verify_batch", |b| {
            b.iter(|| verify_batch(black_box(&items)))
        });
        g.bench_function("ingest_wire_decode_verify_quorum", |b| {
            b.iter_batched(
                || QuorumTracker::new(policy.clone(), TrackerConfig::default()),
                |mut t| {
                    let refs: Vec<&[u8]> = wires.iter().map(|w| w.as_slice()).collect();
                    let report = t.ingest_wire(&refs, NOW_MS);
                    black_box((report, t))
                },
                BatchSize::LargeInput,
            )
        });
        g.finish();
    }
}

criterion_group!(attest_benches, benches);
criterion_main!(attest_benches);
