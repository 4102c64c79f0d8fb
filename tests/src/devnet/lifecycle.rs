//! The start / kill / restart bookkeeping shared by the in-process fleet nodes (supernodes and
//! followers): what their `launch` returned while they run, and whether they run.
//!
//! ```text
//!  start   ── launch ok ─▶ running = true, slot = Some(r)     (err: FleetStartError::Start)
//!  kill    ── slot.take() ─▶ running = false, stop(r)         (empty: FleetError::NotRunning)
//!  restart ── slot empty? ─▶ launch ok ─▶ running, slot = r   (full: AlreadyRunning; err: Restart)
//! ```
//! The slot's lock is held from the check to the end of a kill or restart, so the two never
//! interleave on one node.

use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};

use tokio::sync::{Mutex, MutexGuard};

use super::context::FleetStartError;
use super::fleet::FleetError;

/// A node's running state `R` (`None` while killed) and its running flag.
pub(super) struct Lifecycle<R> {
    slot: Mutex<Option<R>>,
    running: AtomicBool,
}

impl<R> Lifecycle<R> {
    /// Not started yet.
    pub(super) fn new() -> Self {
        Self {
            slot: Mutex::new(None),
            running: AtomicBool::new(false),
        }
    }

    /// Whether the node runs now.
    pub(super) fn is_running(&self) -> bool {
        self.running.load(Ordering::SeqCst)
    }

    /// The running state, for reading it (`None` while killed).
    pub(super) async fn lock(&self) -> MutexGuard<'_, Option<R>> {
        self.slot.lock().await
    }

    /// The first start of node `name`: runs `launch` and keeps what it returns.
    pub(super) async fn start(
        &self,
        name: &str,
        launch: impl Future<Output = Result<R, String>>,
    ) -> Result<(), FleetStartError> {
        let running = launch.await.map_err(|reason| FleetStartError::Start {
            node: name.to_string(),
            reason,
        })?;
        self.running.store(true, Ordering::SeqCst);
        *self.slot.lock().await = Some(running);
        Ok(())
    }

    /// Kills node `name`: clears the flag, then `stop`s its running state (as a crash would).
    pub(super) async fn kill<F: Future<Output = ()>>(
        &self,
        name: &str,
        stop: impl FnOnce(R) -> F,
    ) -> Result<(), FleetError> {
        let mut slot = self.slot.lock().await;
        let running = slot
            .take()
            .ok_or_else(|| FleetError::NotRunning(name.to_string()))?;
        self.running.store(false, Ordering::SeqCst);
        stop(running).await;
        Ok(())
    }

    /// Starts node `name` again after a kill with `launch` (not polled unless it was killed).
    pub(super) async fn restart(
        &self,
        name: &str,
        launch: impl Future<Output = Result<R, String>>,
    ) -> Result<(), FleetError> {
        let mut slot = self.slot.lock().await;
        if slot.is_some() {
            return Err(FleetError::AlreadyRunning(name.to_string()));
        }
        let running = launch.await.map_err(|reason| FleetError::Restart {
            node: name.to_string(),
            reason,
        })?;
        self.running.store(true, Ordering::SeqCst);
        *slot = Some(running);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn start_kill_restart_keep_the_flag_and_the_slot_in_step() {
        let life = Lifecycle::<u32>::new();
        assert!(!life.is_running());
        let failed = life.start("n", async { Err("no port".to_string()) }).await;
        assert!(
            matches!(failed, Err(FleetStartError::Start { node, reason }) if node == "n" && reason == "no port")
        );
        assert!(!life.is_running());

        life.start("n", async { Ok(1) }).await.unwrap();
        assert!(life.is_running());
        assert_eq!(*life.lock().await, Some(1));
        let again = life.restart("n", async { Ok(2) }).await;
        assert!(matches!(again, Err(FleetError::AlreadyRunning(n)) if n == "n"));
        assert_eq!(*life.lock().await, Some(1));

        let mut stopped = None;
        life.kill("n", |r| {
            stopped = Some(r);
            async {}
        })
        .await
        .unwrap();
        assert_eq!(stopped, Some(1));
        assert!(!life.is_running());
        assert!(matches!(
            life.kill("n", |_| async {}).await,
            Err(FleetError::NotRunning(n)) if n == "n"
        ));

        let failed = life.restart("n", async { Err("busy".to_string()) }).await;
        assert!(
            matches!(failed, Err(FleetError::Restart { node, reason }) if node == "n" && reason == "busy")
        );
        assert!(!life.is_running());
        life.restart("n", async { Ok(3) }).await.unwrap();
        assert!(life.is_running());
        assert_eq!(*life.lock().await, Some(3));
    }
}
