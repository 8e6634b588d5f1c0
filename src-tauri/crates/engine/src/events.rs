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
    /// A customer placed an order (seen first through a webhook or a poll).
    NewOrder { order: OrderNotice },
    /// A variant's stock, summed over its locations, fell to or below its low-stock threshold.
    LowStock { stock: LowStockNotice },
    /// A reconciliation pass compared the cache with the store and repaired what webhooks
    /// had missed.
    Reconciled {
        reconciliation: ReconciliationNotice,
    },
    /// A bulk update (or its reversal) sent another chunk.
    BulkProgress {
        progress: crate::bulk_update::Progress,
    },
    /// A bulk update finished: applied, rolled back or undone (see `outcome.state`).
    BulkFinished {
        file_name: String,
        outcome: crate::bulk_update::Outcome,
    },
}

/// What the owner hears about a new order.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct OrderNotice {
    pub id: i64,
    /// `#1001`.
    pub name: String,
    /// `36.00`.
    pub total_price: String,
    pub currency_code: String,
    /// Units over all lines.
    pub units: i64,
    /// The first line's title (`Blue Mug - Small`), for a one-line summary.
    pub first_line: Option<String>,
}

/// A variant at or below its low-stock threshold.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LowStockNotice {
    pub variant_id: i64,
    pub sku: Option<String>,
    /// Product and variant title.
    pub title: String,
    /// Summed over locations.
    pub available: i64,
    /// The SKU's own threshold, or the global one.
    pub threshold: i64,
}

/// A finished reconciliation pass.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ReconciliationNotice {
    /// Why it ran: `scheduled`, `start`, `wake`, `subscription` or `manual`.
    pub reason: String,
    /// Records the store reported changed since the last pass.
    pub checked: u64,
    /// Changes the cache had not received through webhooks.
    pub repaired: u64,
    /// Repairs over the last 24 hours, this pass included.
    pub repaired_last_day: u64,
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
