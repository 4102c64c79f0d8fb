//! Where the L1 is and how hard to try: the client's settings and their command-line flags.

use std::time::Duration;

use super::cache::CacheConfig;
use super::retry::RetryPolicy;

/// Everything [`super::L1Client::new`] needs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct L1ClientConfig {
    /// L1 execution JSON-RPC (`http://` or `https://`).
    pub rpc_url: String,
    /// L1 beacon node REST API base URL.
    pub beacon_url: String,
    /// Bounds of the cache the chains share.
    pub cache: CacheConfig,
    /// Retries of temporary errors, per request.
    pub retry: RetryPolicy,
    /// Timeout of one HTTP request (connect, send, and read the whole answer).
    pub request_timeout: Duration,
}

impl L1ClientConfig {
    /// Default bounds, retries and timeout for these endpoints.
    pub fn new(rpc_url: impl Into<String>, beacon_url: impl Into<String>) -> Self {
        Self {
            rpc_url: rpc_url.into(),
            beacon_url: beacon_url.into(),
            cache: CacheConfig::default(),
            retry: RetryPolicy::default(),
            request_timeout: Duration::from_secs(30),
        }
    }
}

/// The supernode's L1 flags (flattened into the `run` command).
#[derive(Clone, Debug, PartialEq, Eq, clap::Args)]
pub struct L1Args {
    /// L1 execution JSON-RPC URL.
    #[arg(long = "l1", env = "OPFLEET_L1_RPC")]
    pub l1_rpc: String,
    /// L1 beacon API URL.
    #[arg(long = "l1.beacon", env = "OPFLEET_L1_BEACON")]
    pub l1_beacon: String,
    /// Most entries (headers, transaction and receipt lists, blobs) the shared L1 cache holds.
    #[arg(long = "l1.cache-entries", default_value_t = CacheConfig::default().max_entries)]
    pub cache_entries: usize,
    /// Most bytes (estimated) the shared L1 cache holds.
    #[arg(long = "l1.cache-bytes", default_value_t = CacheConfig::default().max_bytes)]
    pub cache_bytes: usize,
    /// Attempts per L1 request before a temporary error is returned.
    #[arg(long = "l1.retry-attempts", default_value_t = RetryPolicy::default().max_attempts)]
    pub retry_attempts: u32,
    /// First retry delay in milliseconds (doubles per attempt, with jitter).
    #[arg(long = "l1.retry-base-ms", default_value_t = 250)]
    pub retry_base_ms: u64,
    /// Timeout of one L1 HTTP request, in seconds.
    #[arg(long = "l1.timeout-secs", default_value_t = 30)]
    pub timeout_secs: u64,
}

impl L1Args {
    /// The client configuration these flags describe.
    pub fn to_config(&self) -> L1ClientConfig {
        L1ClientConfig {
            rpc_url: self.l1_rpc.clone(),
            beacon_url: self.l1_beacon.clone(),
            cache: CacheConfig {
                max_entries: self.cache_entries,
                max_bytes: self.cache_bytes,
            },
            retry: RetryPolicy {
                max_attempts: self.retry_attempts,
                base_delay: Duration::from_millis(self.retry_base_ms),
                ..RetryPolicy::default()
            },
            request_timeout: Duration::from_secs(self.timeout_secs),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Cmd {
        #[command(flatten)]
        l1: L1Args,
    }

    #[test]
    fn flags_map_to_config() {
        let cmd = Cmd::try_parse_from([
            "x",
            "--l1",
            "http://l1:8545",
            "--l1.beacon",
            "http://cl:5052",
            "--l1.cache-entries",
            "10",
            "--l1.retry-base-ms",
            "5",
        ])
        .unwrap();
        let c = cmd.l1.to_config();
        assert_eq!(c.rpc_url, "http://l1:8545");
        assert_eq!(c.beacon_url, "http://cl:5052");
        assert_eq!(c.cache.max_entries, 10);
        assert_eq!(c.cache.max_bytes, CacheConfig::default().max_bytes);
        assert_eq!(c.retry.base_delay, Duration::from_millis(5));
        assert_eq!(c.retry.max_attempts, RetryPolicy::default().max_attempts);
        assert_eq!(c.request_timeout, Duration::from_secs(30));
    }
}
