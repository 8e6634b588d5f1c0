//! Webhook intake: the one way a store event enters the durable inbox, whichever path it
//! came by, and the per-path counters the dashboard shows.
//!
//! Shopify can reach a laptop two ways (issue 8): the loopback `listener` behind a tunnel, and
//! the cloud `relay` (EventBridge → SQS). Both end in [`Intake::commit`], which stores the
//! event with `synchronous=FULL` before returning, so a path may acknowledge the event (answer
//! 200, delete the SQS message) only after it returns `Ok`. The inbox is unique on
//! `X-Shopify-Event-Id`, so the same event arriving twice — a retry, a duplicate, or one copy
//! through each path — is stored once and the second commit is a no-op.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, PoisonError};

use serde::Serialize;
use shelfsync_store::{Clock, Recorded, Timestamp, WebhookEvent};

use crate::cache::{Cache, CacheError};

/// How an event reached Shelfsync.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum IntakePath {
    /// The loopback HTTP listener (behind the owner's tunnel).
    Listener,
    /// The cloud relay: EventBridge → SQS, consumed by [`crate::relay`].
    Relay,
}

/// Counters of one path, since the engine started.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct PathCounts {
    /// Events stored for the first time.
    pub events: u64,
    /// Deliveries of events already in the inbox (no-ops).
    pub duplicates: u64,
    /// Deliveries refused and never stored (forged, malformed, oversized).
    pub refused: u64,
    /// When the last event (new or duplicate) was committed.
    pub last_event_at: Option<Timestamp>,
}

/// The inbox commit and the counters, shared by both intake paths. Cloning shares them.
#[derive(Clone)]
pub struct Intake {
    cache: Cache,
    clock: Clock,
    counts: Arc<Mutex<BTreeMap<IntakePath, PathCounts>>>,
}

impl std::fmt::Debug for Intake {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Intake")
            .field("cache", &self.cache)
            .field("counts", &self.counts())
            .finish()
    }
}

impl Intake {
    pub fn new(cache: Cache) -> Self {
        Self::with_clock(cache, Arc::new(Timestamp::now))
    }

    /// With an injected clock for the counters' times.
    pub fn with_clock(cache: Cache, clock: Clock) -> Self {
        Self {
            cache,
            clock,
            counts: Arc::new(Mutex::new(BTreeMap::new())),
        }
    }

    pub fn cache(&self) -> &Cache {
        &self.cache
    }

    /// Commits `event` to the inbox durably (`Durability::Full`) and counts it under `path`.
    /// Acknowledge the delivery only after this returns `Ok`.
    pub async fn commit(
        &self,
        path: IntakePath,
        event: WebhookEvent,
    ) -> Result<Recorded, CacheError> {
        let recorded = self
            .cache
            .write(move |db| db.record_webhook(&event))
            .await?;
        let now = (self.clock)();
        let mut counts = self.lock();
        let entry = counts.entry(path).or_default();
        match recorded {
            Recorded::New(_) => entry.events += 1,
            Recorded::Duplicate(_) => entry.duplicates += 1,
        }
        entry.last_event_at = Some(now);
        Ok(recorded)
    }

    /// Counts a delivery that was refused and not stored.
    pub fn refused(&self, path: IntakePath) {
        self.lock().entry(path).or_default().refused += 1;
    }

    /// The counters of every path that has seen a delivery.
    pub fn counts(&self) -> BTreeMap<IntakePath, PathCounts> {
        self.lock().clone()
    }

    /// The counters of one path (zero if it has seen nothing).
    pub fn path_counts(&self, path: IntakePath) -> PathCounts {
        self.lock().get(&path).cloned().unwrap_or_default()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<IntakePath, PathCounts>> {
        // Counters only: a panic elsewhere leaves them usable.
        self.counts.lock().unwrap_or_else(PoisonError::into_inner)
    }
}
