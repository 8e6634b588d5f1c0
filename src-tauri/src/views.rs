//! What the UI is shown: view types generated into `ui/src/lib/bindings.ts`.
//!
//! The engine's own types stay free of UI concerns; the adapter maps them to these, in the
//! shapes and names the UI wants (camelCase, numbers as JS numbers, times as RFC 3339 text).

use serde::{Deserialize, Serialize};
use shelfsync_engine::{Attention, EngineEvent, Status, StoreProfile, SyncKind};
use shelfsync_shopify::BucketSnapshot;
use shelfsync_store::{AuditEntry, Job, JobCounts, JobState, VariantPage, VariantRow};
use ts_rs::TS;

#[derive(Debug, Clone, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct StoreView {
    /// The store's address (a `*.myshopify.com` domain, or the demo store's local URL).
    pub address: String,
    pub name: String,
    /// `client_credentials` or `admin_token`.
    pub auth: String,
    /// Whether this is the built-in demo store.
    pub demo: bool,
}

impl StoreView {
    pub fn from_profile(p: &StoreProfile, demo: bool) -> Self {
        let auth = match p.auth {
            shelfsync_engine::AuthMethod::ClientCredentials { .. } => "client_credentials",
            shelfsync_engine::AuthMethod::AdminToken => "admin_token",
        };
        Self {
            address: p.address.clone(),
            name: p.name.clone(),
            auth: auth.into(),
            demo,
        }
    }
}

#[derive(Debug, Clone, Copy, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct BucketView {
    pub maximum: f64,
    pub available: f64,
    pub restore_rate: f64,
    #[ts(type = "number")]
    pub throttled: u64,
    #[ts(type = "number")]
    pub answered: u64,
}

impl From<BucketSnapshot> for BucketView {
    fn from(b: BucketSnapshot) -> Self {
        Self {
            maximum: b.maximum,
            available: b.available,
            restore_rate: b.restore_rate,
            throttled: b.throttled,
            answered: b.answered,
        }
    }
}

#[derive(Debug, Clone, Copy, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct QueueView {
    #[ts(type = "number")]
    pub pending: u64,
    #[ts(type = "number")]
    pub running: u64,
    #[ts(type = "number")]
    pub done: u64,
    #[ts(type = "number")]
    pub failed: u64,
}

impl From<JobCounts> for QueueView {
    fn from(c: JobCounts) -> Self {
        Self {
            pending: c.pending,
            running: c.running,
            done: c.done,
            failed: c.failed,
        }
    }
}

#[derive(Debug, Clone, Copy, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct CacheView {
    #[ts(type = "number")]
    pub locations: u64,
    #[ts(type = "number")]
    pub products: u64,
    #[ts(type = "number")]
    pub variants: u64,
    #[ts(type = "number")]
    pub levels: u64,
    #[ts(type = "number")]
    pub orders: u64,
}

#[derive(Debug, Clone, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct LastSyncView {
    /// `products`, `inventory_levels`, …
    pub resource: String,
    /// Everything Shopify changed up to this time is in the cache.
    pub covers_until: String,
    /// When Shelfsync last moved it.
    pub synced_at: String,
}

#[derive(Debug, Clone, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct StatusView {
    pub store: Option<StoreView>,
    pub token_expires_at: Option<String>,
    pub bucket: Option<BucketView>,
    pub cache: Option<CacheView>,
    pub queue: Option<QueueView>,
    pub last_syncs: Vec<LastSyncView>,
    /// Webhook intake, while a store is connected.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub intake: Option<crate::intake::IntakeView>,
    /// What reconciliation found, while a store is connected.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub reconciliation: Option<ReconciliationView>,
}

/// One reconciliation pass: the store compared with the local copy.
#[derive(Debug, Clone, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct ReconciliationRunView {
    /// RFC 3339.
    pub started_at: String,
    /// RFC 3339.
    pub finished_at: String,
    /// Why it ran: `scheduled`, `start`, `wake`, `subscription` or `manual`.
    pub reason: String,
    /// Records the store reported changed since the pass before.
    #[ts(type = "number")]
    pub checked: u64,
    /// Changes the local copy had not received through webhooks.
    #[ts(type = "number")]
    pub repaired: u64,
}

/// What reconciliation found lately.
#[derive(Debug, Clone, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct ReconciliationView {
    pub last: Option<ReconciliationRunView>,
    /// Changes webhooks missed over the last 24 hours.
    #[ts(type = "number")]
    pub repaired_last_day: u64,
}

impl From<shelfsync_engine::ReconciliationSummary> for ReconciliationView {
    fn from(s: shelfsync_engine::ReconciliationSummary) -> Self {
        Self {
            last: s.last.map(|r| ReconciliationRunView {
                started_at: r.started_at.to_string(),
                finished_at: r.finished_at.to_string(),
                reason: r.reason,
                checked: r.checked,
                repaired: r.repaired,
            }),
            repaired_last_day: s.repaired_last_day,
        }
    }
}

pub(crate) fn rfc3339(t: std::time::SystemTime) -> String {
    shelfsync_store::Timestamp::try_from(t)
        .map(|t| t.to_string())
        .unwrap_or_default()
}

impl StatusView {
    pub fn from_status(s: Status, demo: bool) -> Self {
        Self {
            store: s.store.as_ref().map(|p| StoreView::from_profile(p, demo)),
            token_expires_at: s.token_expires_at.map(rfc3339),
            bucket: s.bucket.map(Into::into),
            cache: s.cache.map(|c| CacheView {
                locations: c.locations,
                products: c.products,
                variants: c.variants,
                levels: c.levels,
                orders: c.orders,
            }),
            queue: s.queue.map(Into::into),
            last_syncs: s
                .watermarks
                .into_iter()
                .map(|w| LastSyncView {
                    resource: w.resource.as_str().to_string(),
                    covers_until: w.updated_at.as_str().to_string(),
                    synced_at: w.advanced_at.to_string(),
                })
                .collect(),
            intake: s.intake.map(Into::into),
            reconciliation: s.reconciliation.map(Into::into),
        }
    }
}

#[derive(Debug, Clone, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct InventoryRow {
    #[ts(type = "number")]
    pub variant_id: i64,
    pub sku: Option<String>,
    pub title: String,
    pub product_title: String,
    /// Decimal text as Shopify sends it.
    pub price: String,
    #[ts(type = "number")]
    pub total_available: i64,
}

impl From<VariantRow> for InventoryRow {
    fn from(r: VariantRow) -> Self {
        Self {
            variant_id: r.variant.id,
            sku: r.variant.sku,
            title: r.variant.title,
            product_title: r.product_title,
            price: r.variant.price.as_str().to_string(),
            total_available: r.total_available,
        }
    }
}

/// One page of an inventory search and the number of variants the search finds in all, so
/// the list can be as long as the search from its first answer and load only what is seen.
#[derive(Debug, Clone, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct InventoryPage {
    pub rows: Vec<InventoryRow>,
    /// Read in the same transaction as `rows`.
    pub total: u32,
}

impl From<VariantPage> for InventoryPage {
    fn from(p: VariantPage) -> Self {
        Self {
            rows: p.rows.into_iter().map(InventoryRow::from).collect(),
            // A catalogue has far fewer than 4 billion variants; saturate rather than wrap.
            total: u32::try_from(p.total).unwrap_or(u32::MAX),
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct ConnectRequest {
    /// A `*.myshopify.com` domain or a full URL.
    pub address: String,
    /// Set for the client-credentials grant; absent for an admin token.
    pub client_id: Option<String>,
}

/// Events pushed to the UI on the `engine-event` channel.
#[derive(Debug, Clone, Serialize, TS)]
#[serde(
    tag = "type",
    rename_all = "camelCase",
    rename_all_fields = "camelCase"
)]
pub enum UiEvent {
    SyncProgress {
        full: bool,
        #[ts(type = "number")]
        rows: u64,
        #[ts(type = "number | null")]
        total: Option<u64>,
        rows_per_sec: f64,
        seconds_left: Option<f64>,
    },
    SyncFinished {
        full: bool,
        #[ts(type = "number")]
        rows: u64,
        #[ts(type = "number")]
        elapsed_ms: u64,
    },
    Bucket {
        bucket: BucketView,
    },
    Queue {
        queue: QueueView,
    },
    Job {
        #[ts(type = "number")]
        id: i64,
        kind: String,
        /// `pending`, `running`, `done` or `failed`.
        state: String,
        attempts: u32,
        last_error: Option<String>,
    },
    /// Something a person must act on, in plain words.
    Attention {
        title: String,
        message: String,
    },
    /// One intake path's counters changed (an event arrived or a request was refused).
    IntakePath {
        stats: crate::intake::PathView,
    },
    /// A webhook subscription was registered, lost (Shopify removed it) or restored.
    Subscription {
        topic: String,
        uri: String,
        /// `registered`, `lost` or `restored`.
        change: String,
    },
    /// Whether the cloud relay's queue can be read.
    Relay {
        reachable: bool,
        error: Option<String>,
        #[ts(type = "number | null")]
        retry_in_ms: Option<u64>,
    },
    /// A customer placed an order.
    NewOrder {
        #[ts(type = "number")]
        id: i64,
        name: String,
        total_price: String,
        currency_code: String,
        #[ts(type = "number")]
        units: i64,
        first_line: Option<String>,
    },
    /// A variant fell to or below its low-stock threshold.
    LowStock {
        #[ts(type = "number")]
        variant_id: i64,
        sku: Option<String>,
        title: String,
        #[ts(type = "number")]
        available: i64,
        #[ts(type = "number")]
        threshold: i64,
    },
    /// A reconciliation pass finished.
    Reconciled {
        reason: String,
        #[ts(type = "number")]
        checked: u64,
        #[ts(type = "number")]
        repaired: u64,
        #[ts(type = "number")]
        repaired_last_day: u64,
    },
    /// A bulk update (or its reversal) sent another chunk of rows.
    BulkProgress {
        /// The bulk update's id.
        #[ts(type = "number")]
        id: i64,
        /// Reversing what was applied (a rollback or an undo) rather than applying.
        reversing: bool,
        #[ts(type = "number")]
        done: u64,
        #[ts(type = "number")]
        total: u64,
        /// Rows per second so far.
        rate: f64,
        seconds_left: Option<f64>,
    },
    /// A bulk update ended: applied, rolled back or undone (see `outcome.state`).
    BulkFinished {
        file_name: String,
        outcome: crate::bulk::BulkOutcomeView,
    },
}

impl UiEvent {
    /// The UI's form of an intake event.
    pub fn from_intake(e: shelfsync_engine::IntakeEvent) -> Self {
        use shelfsync_engine::IntakeEvent as I;
        let subscription = |topic, uri, change: &str| UiEvent::Subscription {
            topic,
            uri,
            change: change.into(),
        };
        match e {
            I::Stats { stats } => UiEvent::IntakePath {
                stats: stats.into(),
            },
            I::SubscriptionRegistered { topic, uri } => subscription(topic, uri, "registered"),
            I::SubscriptionLost { topic, uri } => subscription(topic, uri, "lost"),
            I::SubscriptionRestored { topic, uri } => subscription(topic, uri, "restored"),
        }
    }
}

impl From<EngineEvent> for UiEvent {
    fn from(e: EngineEvent) -> Self {
        match e {
            EngineEvent::SyncProgress {
                sync,
                rows,
                total,
                rows_per_sec,
                seconds_left,
            } => UiEvent::SyncProgress {
                full: sync == SyncKind::Full,
                rows,
                total,
                rows_per_sec,
                seconds_left,
            },
            EngineEvent::SyncFinished {
                sync,
                rows,
                elapsed_ms,
            } => UiEvent::SyncFinished {
                full: sync == SyncKind::Full,
                rows,
                elapsed_ms,
            },
            EngineEvent::Bucket { bucket } => UiEvent::Bucket {
                bucket: bucket.into(),
            },
            EngineEvent::Queue { counts } => UiEvent::Queue {
                queue: counts.into(),
            },
            EngineEvent::Job {
                id,
                kind,
                state,
                attempts,
                last_error,
            } => UiEvent::Job {
                id,
                kind,
                state: match state {
                    JobState::Pending => "pending",
                    JobState::Running => "running",
                    JobState::Done => "done",
                    JobState::Failed => "failed",
                }
                .into(),
                attempts,
                last_error,
            },
            EngineEvent::Attention { attention } => match attention {
                Attention::JobFailed { what, error, .. } => UiEvent::Attention {
                    title: format!("{what} failed"),
                    message: error,
                },
                Attention::Reconnect { reason } => UiEvent::Attention {
                    title: "Re-connect the store".into(),
                    message: reason,
                },
            },
            EngineEvent::Relay { relay } => match relay {
                shelfsync_engine::RelayState::Unreachable {
                    error, retry_in_ms, ..
                } => UiEvent::Relay {
                    reachable: false,
                    error: Some(error),
                    retry_in_ms: Some(retry_in_ms),
                },
                shelfsync_engine::RelayState::Reachable => UiEvent::Relay {
                    reachable: true,
                    error: None,
                    retry_in_ms: None,
                },
            },
            EngineEvent::NewOrder { order } => UiEvent::NewOrder {
                id: order.id,
                name: order.name,
                total_price: order.total_price,
                currency_code: order.currency_code,
                units: order.units,
                first_line: order.first_line,
            },
            EngineEvent::LowStock { stock } => UiEvent::LowStock {
                variant_id: stock.variant_id,
                sku: stock.sku,
                title: stock.title,
                available: stock.available,
                threshold: stock.threshold,
            },
            EngineEvent::Reconciled { reconciliation: r } => UiEvent::Reconciled {
                reason: r.reason,
                checked: r.checked,
                repaired: r.repaired,
                repaired_last_day: r.repaired_last_day,
            },
            EngineEvent::BulkProgress { progress } => crate::bulk::progress_event(progress),
            EngineEvent::BulkFinished { file_name, outcome } => UiEvent::BulkFinished {
                file_name,
                outcome: (&outcome).into(),
            },
        }
    }
}

#[derive(Debug, Clone, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct FailedJobView {
    #[ts(type = "number")]
    pub id: i64,
    /// What the job was, in words (e.g. "Incremental sync").
    pub what: String,
    /// Why it failed, in words a person understands.
    pub error: String,
    pub attempts: u32,
    /// When it last changed state (RFC 3339).
    pub failed_at: String,
}

impl From<Job> for FailedJobView {
    fn from(job: Job) -> Self {
        let what = match job.kind.as_str() {
            "sync.full" => "Full sync".to_string(),
            "sync.incremental" => "Incremental sync".to_string(),
            other => other.to_string(),
        };
        Self {
            id: job.id,
            what,
            error: job.last_error.unwrap_or_default(),
            attempts: job.attempts,
            failed_at: job.updated_at.to_string(),
        }
    }
}

/// One change in the activity log.
#[derive(Debug, Clone, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct ActivityView {
    #[ts(type = "number")]
    pub id: i64,
    /// When it was recorded (RFC 3339).
    pub at: String,
    /// Where the change came from: `poll`, `webhook`, `user`, `retry`, `import` or
    /// `reconciliation`.
    pub source: String,
    /// `inventory_level`, `variant`, `product` or `job`.
    pub entity: String,
    pub entity_id: String,
    pub field: String,
    pub before: Option<String>,
    pub after: Option<String>,
}

impl From<AuditEntry> for ActivityView {
    fn from(e: AuditEntry) -> Self {
        Self {
            id: e.id,
            at: e.at.to_string(),
            source: e.source.as_str().to_string(),
            entity: e.entity,
            entity_id: e.entity_id,
            field: e.field,
            before: e.before,
            after: e.after,
        }
    }
}
