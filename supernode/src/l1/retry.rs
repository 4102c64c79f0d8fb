//! Bounded retries with exponential backoff and jitter, for temporary L1 and beacon errors.
//!
//! ```text
//!  attempt 1 ──fail(retryable)──▶ sleep d1 ──▶ attempt 2 ──fail──▶ sleep d2 ──▶ ... attempt N ──▶ error
//!  d_k = e/2 + (e/2)·jitter,  e = min(base · 2^(k-1), max_delay),  jitter ∈ [0, 1)
//! ```
//! "Equal jitter": half of each delay is fixed so retries never collapse to zero, half is random
//! so the chains of one supernode (and the members of a pool) do not hammer a recovering node in
//! lockstep. Non-retryable errors (not found, invalid data) return at once.

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

/// How often and how patiently to retry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Attempts in all, the first included (at least 1 is always made).
    pub max_attempts: u32,
    /// The delay scale before the first retry.
    pub base_delay: Duration,
    /// No single delay exceeds this.
    pub max_delay: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_attempts: 5,
            base_delay: Duration::from_millis(250),
            max_delay: Duration::from_secs(8),
        }
    }
}

impl RetryPolicy {
    /// The delay after the `failures`-th failure (1-based), for a jitter draw in `[0, 1)`.
    pub fn delay(&self, failures: u32, jitter: f64) -> Duration {
        let doublings = failures.saturating_sub(1).min(63);
        let factor = 1u64 << doublings;
        let scaled = u32::try_from(factor)
            .ok()
            .and_then(|f| self.base_delay.checked_mul(f))
            .unwrap_or(self.max_delay);
        let ceiling = scaled.min(self.max_delay);
        let half = ceiling / 2;
        let jitter = if jitter.is_finite() {
            jitter.clamp(0.0, 1.0)
        } else {
            0.0
        };
        half + (ceiling - half).mul_f64(jitter)
    }
}

/// Whether an error is worth another attempt.
pub trait Retryable {
    /// True for transport failures, timeouts, rate limits and server overload.
    fn is_retryable(&self) -> bool;
}

/// Time as retries see it: sleeping and jitter draws, injectable so tests never wait.
pub trait Clock: Send + Sync {
    /// Waits for `d`.
    fn sleep(&self, d: Duration) -> Pin<Box<dyn Future<Output = ()> + Send + '_>>;
    /// A uniform draw in `[0, 1)`.
    fn jitter(&self) -> f64;
}

/// The real clock: tokio timers and thread-local randomness.
#[derive(Clone, Copy, Debug, Default)]
pub struct TokioClock;

impl Clock for TokioClock {
    fn sleep(&self, d: Duration) -> Pin<Box<dyn Future<Output = ()> + Send + '_>> {
        Box::pin(tokio::time::sleep(d))
    }

    fn jitter(&self) -> f64 {
        rand::random::<f64>()
    }
}

/// Runs `op` until it succeeds, fails with a non-retryable error, or `policy.max_attempts`
/// attempts have failed; `what` names the request in logs and the retry counter.
pub async fn retry<T, E, F, Fut>(
    policy: &RetryPolicy,
    clock: &dyn Clock,
    what: &'static str,
    mut op: F,
) -> Result<T, E>
where
    E: Retryable + std::fmt::Display,
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, E>>,
{
    let mut failures = 0u32;
    loop {
        match op().await {
            Ok(v) => return Ok(v),
            Err(e) => {
                failures = failures.saturating_add(1);
                if !e.is_retryable() || failures >= policy.max_attempts {
                    return Err(e);
                }
                let d = policy.delay(failures, clock.jitter());
                tracing::debug!(what, attempt = failures, delay_ms = d.as_millis() as u64, error = %e, "retrying L1 request");
                metrics::counter!("opfleet_l1_retries_total", "request" => what).increment(1);
                clock.sleep(d).await;
            }
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use std::sync::Mutex;
    use std::sync::atomic::{AtomicU32, Ordering};

    /// A clock that records sleeps instead of sleeping and draws a fixed jitter.
    #[derive(Default)]
    pub(crate) struct FakeClock {
        pub(crate) slept: Mutex<Vec<Duration>>,
        pub(crate) jitter: f64,
    }

    impl Clock for FakeClock {
        fn sleep(&self, d: Duration) -> Pin<Box<dyn Future<Output = ()> + Send + '_>> {
            if let Ok(mut s) = self.slept.lock() {
                s.push(d);
            }
            Box::pin(std::future::ready(()))
        }

        fn jitter(&self) -> f64 {
            self.jitter
        }
    }

    #[derive(Debug, PartialEq)]
    enum TestError {
        Flaky,
        Fatal,
    }

    impl std::fmt::Display for TestError {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            write!(f, "{self:?}")
        }
    }

    impl Retryable for TestError {
        fn is_retryable(&self) -> bool {
            matches!(self, Self::Flaky)
        }
    }

    fn policy() -> RetryPolicy {
        RetryPolicy {
            max_attempts: 4,
            base_delay: Duration::from_millis(100),
            max_delay: Duration::from_millis(300),
        }
    }

    #[test]
    fn delays_double_up_to_the_cap() {
        let p = policy();
        let full: Vec<_> = (1..=5).map(|k| p.delay(k, 0.999_999)).collect();
        let none: Vec<_> = (1..=5).map(|k| p.delay(k, 0.0)).collect();
        assert_eq!(none, [50, 100, 150, 150, 150].map(Duration::from_millis));
        for (k, d) in full.iter().enumerate() {
            let ceiling = [100, 200, 300, 300, 300][k];
            assert!(*d < Duration::from_millis(ceiling), "{k}: {d:?}");
            assert!(*d > Duration::from_millis(ceiling - 1), "{k}: {d:?}");
        }
    }

    #[test]
    fn huge_failure_counts_and_bad_jitter_stay_bounded() {
        let p = policy();
        assert_eq!(p.delay(u32::MAX, 0.0), Duration::from_millis(150));
        assert_eq!(p.delay(40, f64::NAN), Duration::from_millis(150));
        assert_eq!(p.delay(2, 7.0), Duration::from_millis(200));
        assert_eq!(p.delay(2, -1.0), Duration::from_millis(100));
    }

    #[tokio::test]
    async fn retries_temporary_errors_then_succeeds() {
        let clock = FakeClock {
            jitter: 0.5,
            ..Default::default()
        };
        let calls = AtomicU32::new(0);
        let out = retry(&policy(), &clock, "test", || async {
            if calls.fetch_add(1, Ordering::SeqCst) < 2 {
                Err(TestError::Flaky)
            } else {
                Ok(7)
            }
        })
        .await;
        assert_eq!(out, Ok(7));
        assert_eq!(calls.load(Ordering::SeqCst), 3);
        let slept = clock.slept.lock().unwrap().clone();
        assert_eq!(slept, [75, 150].map(Duration::from_millis));
    }

    #[tokio::test]
    async fn gives_up_after_max_attempts() {
        let clock = FakeClock::default();
        let calls = AtomicU32::new(0);
        let out: Result<(), _> = retry(&policy(), &clock, "test", || async {
            calls.fetch_add(1, Ordering::SeqCst);
            Err(TestError::Flaky)
        })
        .await;
        assert_eq!(out, Err(TestError::Flaky));
        assert_eq!(calls.load(Ordering::SeqCst), 4);
        assert_eq!(clock.slept.lock().unwrap().len(), 3);
    }

    #[tokio::test]
    async fn fatal_errors_are_not_retried() {
        let clock = FakeClock::default();
        let calls = AtomicU32::new(0);
        let out: Result<(), _> = retry(&policy(), &clock, "test", || async {
            calls.fetch_add(1, Ordering::SeqCst);
            Err(TestError::Fatal)
        })
        .await;
        assert_eq!(out, Err(TestError::Fatal));
        assert_eq!(calls.load(Ordering::SeqCst), 1);
        assert!(clock.slept.lock().unwrap().is_empty());
    }

    #[tokio::test]
    async fn zero_attempts_still_tries_once() {
        let p = RetryPolicy {
            max_attempts: 0,
            ..policy()
        };
        let clock = FakeClock::default();
        let out: Result<u8, TestError> = retry(&p, &clock, "test", || async { Ok(1) }).await;
        assert_eq!(out, Ok(1));
    }

    proptest::proptest! {
        /// Every delay lies in [ceiling/2, ceiling] and never exceeds the cap.
        #[test]
        fn delay_within_bounds(base_ms in 0u64..10_000, max_ms in 0u64..100_000, k in 0u32..200, j in proptest::num::f64::ANY) {
            let p = RetryPolicy { max_attempts: 3, base_delay: Duration::from_millis(base_ms), max_delay: Duration::from_millis(max_ms) };
            let d = p.delay(k, j);
            proptest::prop_assert!(d <= p.max_delay);
        }
    }
}
