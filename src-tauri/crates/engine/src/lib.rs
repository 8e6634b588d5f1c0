//! The Shelfsync engine: everything that keeps a store's inventory and orders in sync,
//! with no knowledge of windows, trays or IPC.
//!
//! The desktop app and the `shelfsync` CLI are both thin front ends over this crate, so
//! every behaviour a store owner relies on is testable headless, against the simulator.
//!
//! Store changes arrive two ways: polls ([`sync`], [`bulk_sync`]) and webhooks ([`intake`]),
//! both through the durable work queue ([`jobs`]), so a failure in either lands in the same
//! failed list and nothing acknowledged is lost in a crash.
//! Invariant: this crate never depends on Tauri (checked in `tests/invariants.rs`).

pub mod bulk_sync;
pub mod bulk_update;
pub mod cache;
pub mod credentials;
#[cfg(feature = "demo")]
pub mod demo;
pub mod engine;
pub mod events;
pub mod import;
pub mod intake;
pub mod jobs;
pub mod orders;
pub mod relay;
pub mod sync;

pub use bulk_sync::{BulkCounts, BulkSettings};
pub use bulk_update::{BulkError, BulkUpdates};
pub use cache::{Cache, CacheError};
pub use credentials::{CredentialError, Keychain, SecretKind, StoreKey};
pub use engine::{
    AuthMethod, ConnectWith, Engine, EngineConfig, EngineError, ReconciliationSummary, Status,
    StoreProfile,
};
pub use events::{
    Attention, EngineEvent, Events, LowStockNotice, OrderNotice, ReconciliationNotice, SyncKind,
};
pub use intake::{
    IntakeConfig, IntakeError, IntakeEvent, IntakeEvents, IntakePath, IntakeStats, IntakeStatus,
    RelayStatus,
};
pub use jobs::{
    JobContext, JobError, JobHandler, JobHandlers, JobRetryPolicy, Supervisor, SupervisorConfig,
};
pub use orders::{JOB_STOCK_REFRESH, LowStockRule};
pub use relay::{
    Relay, RelayCredentials, RelayError, RelayHealth, RelaySettings, RelayState,
    RetrySchedule as RelayRetrySchedule,
};
/// Secrets are defined beside the client that sends them; the engine re-exports the type.
pub use shelfsync_shopify::Secret;
pub use sync::{SyncError, SyncReport, Syncer};

/// The engine's version, shown in the UI's About line and in `shelfsync --version`.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
