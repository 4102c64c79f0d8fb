//! One fetch per key at a time: when several chains miss the same L1 block at once, the first
//! fetches and the others wait, then find it in the cache.
//!
//! ```text
//!  chain A: miss ─▶ lock(key) ─▶ fetch ─▶ cache.put ─▶ unlock
//!  chain B: miss ─▶ lock(key) ······ waits ········▶ re-check cache: hit
//! ```

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::{Arc, Mutex, PoisonError, Weak};

use tokio::sync::OwnedMutexGuard;

/// Held while fetching one key; dropping it lets the next waiter in.
pub type FlightGuard = OwnedMutexGuard<()>;

/// Per-key async locks that exist only while someone holds or waits for them.
#[derive(Debug)]
pub struct Flights<K> {
    locks: Mutex<HashMap<K, Weak<tokio::sync::Mutex<()>>>>,
}

impl<K> Default for Flights<K> {
    fn default() -> Self {
        Self {
            locks: Mutex::new(HashMap::new()),
        }
    }
}

impl<K: Hash + Eq + Clone> Flights<K> {
    /// Waits until no one else fetches `key`, then holds it.
    pub async fn enter(&self, key: K) -> FlightGuard {
        let lock = {
            let mut locks = self.locks.lock().unwrap_or_else(PoisonError::into_inner);
            // Forget keys nobody holds or waits for any more.
            locks.retain(|_, weak| weak.strong_count() > 0);
            match locks.get(&key).and_then(Weak::upgrade) {
                Some(lock) => lock,
                None => {
                    let lock = Arc::new(tokio::sync::Mutex::new(()));
                    locks.insert(key, Arc::downgrade(&lock));
                    lock
                }
            }
        };
        lock.lock_owned().await
    }

    /// Keys currently held or waited for.
    pub fn active(&self) -> usize {
        let locks = self.locks.lock().unwrap_or_else(PoisonError::into_inner);
        locks.values().filter(|w| w.strong_count() > 0).count()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[tokio::test]
    async fn one_holder_per_key_and_no_leftovers() {
        let flights = Arc::new(Flights::<u8>::default());
        let first = flights.enter(1).await;
        let other_key = flights.enter(2).await;
        assert_eq!(flights.active(), 2);

        let f = flights.clone();
        let waiter = tokio::spawn(async move {
            let _g = f.enter(1).await;
        });
        tokio::time::sleep(Duration::from_millis(5)).await;
        assert!(!waiter.is_finished(), "key 1 is held");
        drop(first);
        waiter.await.unwrap();
        drop(other_key);
        assert_eq!(flights.active(), 0);
        // A fresh entry after all holders left works.
        let _again = flights.enter(1).await;
        assert_eq!(flights.active(), 1);
    }
}
