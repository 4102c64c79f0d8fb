//! The `opfleet-devnet` binary: starts (with its supernode pool and followers), writes its
//! endpoints file, serves, and exits 0 within seconds of SIGINT.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use jsonrpsee::core::client::ClientT;
use jsonrpsee::http_client::HttpClientBuilder;
use jsonrpsee::rpc_params;
use opfleet_tests::devnet::Endpoints;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn binary_serves_and_stops_cleanly_on_sigint() {
    let dir = std::env::temp_dir().join(format!("opfleet-devnet-process-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let file = dir.join("endpoints.json");
    let mut child = Command::new(env!("CARGO_BIN_EXE_opfleet-devnet"))
        .arg("--ephemeral-ports")
        .arg("--endpoints-file")
        .arg(&file)
        .args(["--l1.block-time", "1", "--l2.block-time", "1"])
        .args(["--progress-interval", "1"])
        .args(["--supernodes", "3", "--followers", "4"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();

    let started = Instant::now();
    while !file.exists() {
        if let Some(status) = child.try_wait().unwrap() {
            panic!("opfleet-devnet exited early: {status}");
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "no endpoints file"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let endpoints = Endpoints::read(&file).unwrap();
    assert_eq!(endpoints.chains.len(), 2);
    // rollup.json and the JWT secrets sit next to the endpoints file.
    for c in &endpoints.chains {
        assert_eq!(c.rollup_config.parent(), file.parent());
        assert!(c.jwt_secret_file.exists());
    }
    // The pool and the followers, each with its RPC and own execution client(s).
    assert_eq!(endpoints.supernodes.len(), 3);
    assert_eq!(endpoints.followers.len(), 4);
    for s in &endpoints.supernodes {
        assert_eq!(s["els"].as_array().unwrap().len(), 2, "{s}");
        assert!(
            s["attest_gossip"].as_str().unwrap().contains("/p2p/"),
            "{s}"
        );
    }
    for (i, f) in endpoints.followers.iter().enumerate() {
        assert_eq!(
            f["chain_id"],
            serde_json::json!(endpoints.chains[i % 2].chain_id),
            "{f}"
        );
        assert_eq!(f["trust_threshold"], 2, "{f}");
        assert_eq!(f["trust_keys"].as_array().unwrap().len(), 3, "{f}");
    }
    let sn = HttpClientBuilder::default()
        .build(endpoints.supernodes[0]["rpc"].as_str().unwrap())
        .unwrap();
    let ok: String = sn.request("heartbeat_check", rpc_params![]).await.unwrap();
    assert!(!ok.is_empty());
    let fl = HttpClientBuilder::default()
        .build(endpoints.followers[0]["rpc"].as_str().unwrap())
        .unwrap();
    let status: serde_json::Value = fl
        .request("optimism_syncStatus", rpc_params![])
        .await
        .unwrap();
    assert!(status["unsafe_l2"].is_object(), "{status}");
    let l1 = HttpClientBuilder::default().build(&endpoints.l1).unwrap();
    let id: String = l1.request("eth_chainId", rpc_params![]).await.unwrap();
    assert_eq!(id, "0x384");

    let pid = child.id().to_string();
    assert!(
        Command::new("kill")
            .args(["-INT", &pid])
            .status()
            .unwrap()
            .success()
    );
    let stopping = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        assert!(
            stopping.elapsed() < Duration::from_secs(15),
            "still running 15 s after SIGINT"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert!(status.success(), "exit status {status}");
    let out = child.wait_with_output().unwrap();
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert!(
        stdout
            .lines()
            .any(|l| l.starts_with("l1 (chain 900): http://")),
        "{stdout}"
    );
    assert!(
        stdout
            .lines()
            .filter(|l| l.contains("sequencer_p2p"))
            .count()
            == 2,
        "{stdout}"
    );
    let count = |prefix: &str| stdout.lines().filter(|l| l.starts_with(prefix)).count();
    assert_eq!(count("supernode supernode-"), 3, "{stdout}");
    assert_eq!(count("follower follower-"), 4, "{stdout}");
    let _ = std::fs::remove_dir_all(&dir);
}
