//! `/healthz`: healthy while the accepted safe head is recent enough.

use std::time::Duration;

use opfleet_protocol::L2BlockRef;
use serde::Serialize;

/// The health verdict and why.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Health {
    /// Healthy or not.
    pub healthy: bool,
    /// The reason, for humans.
    pub reason: String,
    /// Age of the safe head in seconds (by its block timestamp), when there is one.
    pub safe_age_secs: Option<u64>,
}

/// Healthy when there is a safe head whose block timestamp is at most `max_age` before `now`.
pub fn health(safe: Option<&L2BlockRef>, now_secs: u64, max_age: Duration) -> Health {
    let Some(safe) = safe else {
        return Health {
            healthy: false,
            reason: "no safe head accepted yet".into(),
            safe_age_secs: None,
        };
    };
    let age = now_secs.saturating_sub(safe.timestamp);
    let healthy = age <= max_age.as_secs();
    Health {
        healthy,
        reason: if healthy {
            format!("safe head #{} is {age} s old", safe.number)
        } else {
            format!(
                "safe head #{} is {age} s old, more than the {} s allowed",
                safe.number,
                max_age.as_secs()
            )
        },
        safe_age_secs: Some(age),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(ts: u64) -> L2BlockRef {
        L2BlockRef {
            number: 7,
            timestamp: ts,
            ..L2BlockRef::default()
        }
    }

    #[test]
    fn unhealthy_without_a_safe_head_or_when_it_is_too_old() {
        let max = Duration::from_secs(60);
        assert!(!health(None, 1000, max).healthy);
        assert!(health(Some(&at(950)), 1000, max).healthy);
        assert!(health(Some(&at(940)), 1000, max).healthy);
        let h = health(Some(&at(939)), 1000, max);
        assert!(!h.healthy);
        assert_eq!(h.safe_age_secs, Some(61));
        // A block from the future (clock skew) counts as fresh.
        assert!(health(Some(&at(2000)), 1000, max).healthy);
    }
}
