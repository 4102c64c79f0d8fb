//! Soak check of the devnet's memory, by hand (ignored, so not in CI):
//!
//! ```text
//! SOAK_SECS=900 cargo test -p opfleet-tests --test devnet_soak -- --ignored --nocapture
//! ```
//! Starts the default devnet in this process with 1 s L1 and L2 blocks (twice the default rate,
//! so windows fill twice as fast), samples the process RSS and the stores' sizes every
//! `SOAK_SAMPLE_SECS` (30), and fails if RSS grew by more than `SOAK_MAX_GROWTH_MB` (40) over
//! the last half of the run, once the SimEl (300 blocks), blob (200) and payload (900) windows
//! are full. The L1 block window (1800 blocks) needs 30 minutes at 1 s to fill: pass a
//! `SOAK_SECS` past that to see it level off too.

use std::time::{Duration, Instant};

use opfleet_tests::devnet::{Devnet, DevnetConfig};

fn env_u64(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Resident set size of this process, in KiB (Linux).
fn rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse().ok())
        })
        .unwrap_or(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a soak run of minutes; run by hand"]
async fn devnet_memory_levels_off() {
    let secs = env_u64("SOAK_SECS", 900);
    let sample = env_u64("SOAK_SAMPLE_SECS", 30);
    let max_growth_mb = env_u64("SOAK_MAX_GROWTH_MB", 40);
    let dir = tempfile::tempdir().unwrap();
    let mut config = DevnetConfig::ephemeral(dir.path().to_path_buf());
    config.l1_block_time = 1;
    config.l2_block_time = 1;
    let net = Devnet::start(config).await.unwrap();
    let start = Instant::now();
    let mut samples: Vec<(u64, u64)> = Vec::new();
    while start.elapsed() < Duration::from_secs(secs) {
        tokio::time::sleep(Duration::from_secs(sample)).await;
        let world = net.world();
        let (l1_blocks, blobs) = world.l1().with_chain(|c| (c.blocks_held(), c.blobs_held()));
        let payloads: Vec<usize> = world
            .chains()
            .iter()
            .map(|c| c.sequencer().store().len())
            .collect();
        let heads: Vec<u64> = world
            .chains()
            .iter()
            .filter_map(|c| c.head().map(|h| h.number))
            .collect();
        let feed = world.feed().map_or(0, |f| f.held());
        let rss = rss_kib();
        let t = start.elapsed().as_secs();
        println!(
            "t={t:>5}s rss={:>7.1} MiB  L1 blocks={l1_blocks} blobs={blobs}  L2 heads={heads:?} \
             payloads={payloads:?} feed={feed}",
            rss as f64 / 1024.0
        );
        samples.push((t, rss));
    }
    net.stop().await;
    let half = samples.len() / 2;
    let (Some(mid), Some(last)) = (samples.get(half), samples.last()) else {
        panic!("SOAK_SECS too short for two samples");
    };
    let growth_mb = last.1.saturating_sub(mid.1) / 1024;
    println!(
        "RSS {} MiB at t={}s, {} MiB at t={}s: +{growth_mb} MiB over the second half",
        mid.1 / 1024,
        mid.0,
        last.1 / 1024,
        last.0
    );
    assert!(
        growth_mb <= max_growth_mb,
        "RSS grew {growth_mb} MiB over the second half (limit {max_growth_mb})"
    );
}
