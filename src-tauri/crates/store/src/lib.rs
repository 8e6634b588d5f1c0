//! Shelfsync's local SQLite cache: one database file per store.
//!
//! The cache lets the app show inventory instantly and work offline, and it
//! is where the engine keeps work that must survive a restart: the job queue,
//! the webhook inbox and the audit log. It is a cache of Shopify, not the
//! source of truth, so it favours speed (`synchronous=NORMAL` in WAL mode)
//! everywhere except the webhook inbox, whose commits use
//! [`Durability::Full`].
//!
//! - [`Database`] is the single writer for a store; it applies the embedded
//!   migrations on open and refuses files written by a newer Shelfsync.
//! - [`Reader`] is a read-only connection for the UI and the CLI; in WAL
//!   mode it never waits behind a write.
//! - [`WriteTx`] batches writes in one transaction; a sync page and the
//!   watermark that covers it are committed together with
//!   [`WriteTx::commit_with_watermark`].
//!
//! Bulk updates are journaled (their plan, each request sent, its answer) so that a crash
//! mid-update can be finished or reversed, and a finished one undone.
//!
//! The audit log records, with their source, every change to a cached
//! inventory quantity, variant (title, SKU, price, compare-at price) and
//! product (title, status) — through triggers, so no write path can skip it —
//! plus product deletions and every decision a person makes about a failed
//! job. A row's first appearance is not a change; the row's own `source` and
//! `recorded_at_ms` say where it came from. Orders and locations are
//! Shopify's records and are cached without an audit trail.
//!
//! Files next to the database: SQLite's `-wal` and `-shm`, and a `.lock`
//! file that the writer holds an OS lock on while it is open.
//!
//! No type in this crate can hold a credential, and nothing here is handed
//! one, so tokens and client secrets cannot end up in the database file.
//!
//! Time: Shopify's timestamps are kept as the RFC 3339 text Shopify sent plus
//! UTC milliseconds for ordering; times Shelfsync records come from an
//! injectable [`Clock`] and are stored as UTC milliseconds.

mod bulk;
mod catalogue;
mod db;
mod error;
mod file_name;
mod inbox;
mod intake;
mod migrate;
mod model;
mod orders;
mod queue;
mod sql;

pub use bulk::{
    BulkCounts, BulkEntry, BulkMode, BulkState, BulkStep, BulkUpdate, LevelQuantities, SkuVariant,
    StepPurpose, StepState,
};
pub use catalogue::CacheCounts;
pub use db::{Clock, DEFAULT_BUSY_TIMEOUT, Database, Durability, OpenOptions, Reader, WriteTx};
pub use error::{Error, Result};
pub use file_name::store_file_name;
pub use intake::InboxCounts;
pub use migrate::SCHEMA_VERSION;
pub use model::{
    AuditEntry, Enqueued, Job, JobCounts, JobState, Level, LineItem, Location, Money, NewJob,
    Order, OrderStatus, Product, Quantities, ReconciliationRun, Recorded, Resource, Shop,
    ShopifyTime, Source, StoredLevel, StoredWebhook, Variant, VariantPage, VariantRow, Watermark,
    WebhookEvent, gid_id,
};
pub use orders::OrderWrite;

pub use jiff::Timestamp;
