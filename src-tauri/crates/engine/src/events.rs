//! What the engine tells its front ends.
//!
//! Every state change a person might see — a job moving between states, the API bucket,
//! sync progress, something that needs attention — is published as a typed [`EngineEvent`]
//! on a broadcast channel. The desktop app forwards them to the UI and the tray; the CLI's
//! `daemon` prints them. A slow subscriber only misses old events (it is told how many), it
//! never slows the engine down.

use serde::Serialize;
use shelfsync_shopify::BucketSnapshot;
use shelfsync_store::{JobCounts, JobState};
use tokio::sync::broadcast;

/// Which sync ran.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SyncKind {
    Full,
    Incremental,
}

/// Something only a person can resolve.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Attention {
    /// A job failed after its retries and waits for retry or discard.
    JobFailed {
        job_id: i64,
        what: String,
        error: String,
    },
    /// The store refused the credentials: connect it again.
    Reconnect { reason: String },
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum EngineEvent {
    /// A job changed state.
    Job {
        id: i64,
        kind: String,
        state: JobState,
        attempts: u32,
        last_error: Option<String>,
    },
    /// Queue totals after a change.
    Queue { counts: JobCounts },
    /// The store's API budget, after every answer.
    Bucket { bucket: BucketSnapshot },
    /// Progress of a running sync.
    SyncProgress {
        sync: SyncKind,
        rows: u64,
        total: Option<u64>,
        rows_per_sec: f64,
        seconds_left: Option<f64>,
    },
    /// A sync finished.
    SyncFinished {
        sync: SyncKind,
        rows: u64,
        elapsed_ms: u64,
    },
    /// Something needs a person.
    Attention { attention: Attention },
    /// The cloud relay's queue became unreachable (after each failed poll) or reachable again.
    Relay { relay: crate::relay::RelayState },
}

/// The engine's event channel. Cloning shares it.
#[derive(Debug, Clone)]
pub struct Events {
    tx: broadcast::Sender<EngineEvent>,
}

impl Default for Events {
    fn default() -> Self {
        Self::new()
    }
}

impl Events {
    pub fn new() -> Self {
        let (tx, _) = broadcast::channel(1024);
        Self { tx }
    }

    pub fn subscribe(&self) -> broadcast::Receiver<EngineEvent> {
        self.tx.subscribe()
    }

    /// Publishes an event; having no subscriber is fine.
    pub fn publish(&self, event: EngineEvent) {
        let _ = self.tx.send(event);
    }
}
