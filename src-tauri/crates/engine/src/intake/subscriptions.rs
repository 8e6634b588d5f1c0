//! The webhook subscriptions the engine needs, registered and kept alive.
//!
//! Shopify deletes a subscription created through the API after 8 failed deliveries in a row
//! (a laptop asleep for a few hours is enough), and says nothing. The keeper lists the app's
//! subscriptions for the tunnel's address on start and then periodically; a topic that is
//! missing is created again. A topic it had seen before and no longer finds is reported as
//! lost, then as restored once created again, and an incremental sync is queued to read what
//! the missing deliveries would have carried (unless the caller says its own reconciliation
//! will: see [`SubscriptionKeeper::start`]).
//!
//! Creating is idempotent: Shopify refuses a second subscription for the same topic and
//! address ("Address for this topic has already been taken"), which counts as present.
//! No lock is held across an `.await`: the health list is behind a `std::sync::Mutex` that is
//! only taken to copy or replace it.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use serde::{Deserialize, Serialize};
use std::time::Duration;

use shelfsync_shopify::operations::{
    WebhookSubscriptionCreate, WebhookSubscriptionCreateVariables, WebhookSubscriptions,
    WebhookSubscriptionsVariables,
};
use shelfsync_shopify::{ShopifyClient, ShopifyError};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use super::{IntakeEvent, IntakeEvents, SubscriptionHealth};
use crate::cache::Cache;

/// The topics the engine applies (see [`super::process`]).
pub const TOPICS: &[&str] = &[
    "INVENTORY_LEVELS_UPDATE",
    "INVENTORY_ITEMS_UPDATE",
    "PRODUCTS_UPDATE",
    "APP_UNINSTALLED",
    "BULK_OPERATIONS_FINISH",
    "ORDERS_CREATE",
    "ORDERS_UPDATED",
    "ORDERS_CANCELLED",
    "ORDERS_FULFILLED",
];

/// Why a check could not finish.
#[derive(Debug, thiserror::Error)]
pub enum SubscriptionError {
    #[error(transparent)]
    Shopify(#[from] ShopifyError),
    #[error("Shopify refused to subscribe {uri} to {topic}: {reason}")]
    Refused {
        topic: String,
        uri: String,
        reason: String,
    },
}

/// What one check found and did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CheckReport {
    /// Topics Shopify listed for the address.
    pub present: Vec<String>,
    /// Topics created because they were missing.
    pub created: Vec<String>,
}

/// The topics subscribed at `uri` (every page).
pub async fn list(
    client: &ShopifyClient,
    uri: &str,
    topics: &[&str],
) -> Result<BTreeSet<String>, ShopifyError> {
    let mut found = BTreeSet::new();
    let mut after = None;
    loop {
        let page = client
            .execute::<WebhookSubscriptions>(&WebhookSubscriptionsVariables {
                first: 100,
                after: after.clone(),
                topics: Some(topics.iter().map(|t| (*t).to_owned()).collect()),
                uri: Some(uri.to_owned()),
            })
            .await?
            .webhook_subscriptions;
        // Filtered by address on Shopify's side too; checked again here.
        found.extend(
            page.nodes
                .into_iter()
                .filter(|s| s.uri == uri)
                .map(|s| s.topic),
        );
        if !page.page_info.has_next_page {
            return Ok(found);
        }
        after = page.page_info.end_cursor;
    }
}

/// Subscribes `uri` to `topic`. `Ok(false)`: it already was.
pub async fn create(
    client: &ShopifyClient,
    uri: &str,
    topic: &str,
) -> Result<bool, SubscriptionError> {
    let payload = client
        .execute::<WebhookSubscriptionCreate>(&WebhookSubscriptionCreateVariables {
            topic: topic.to_owned(),
            uri: uri.to_owned(),
        })
        .await?
        .webhook_subscription_create;
    let refused = |reason: String| SubscriptionError::Refused {
        topic: topic.to_owned(),
        uri: uri.to_owned(),
        reason,
    };
    let Some(payload) = payload else {
        return Err(refused("no answer".into()));
    };
    if payload.webhook_subscription.is_some() {
        return Ok(true);
    }
    if payload
        .user_errors
        .iter()
        .any(|e| e.message.contains("already been taken"))
    {
        return Ok(false);
    }
    let messages: Vec<&str> = payload
        .user_errors
        .iter()
        .map(|e| e.message.as_str())
        .collect();
    Err(refused(messages.join("; ")))
}

struct Keeper {
    client: ShopifyClient,
    cache: Cache,
    uri: String,
    topics: Vec<String>,
    events: IntakeEvents,
    health: Arc<Mutex<Vec<SubscriptionHealth>>>,
    wake_jobs: Arc<dyn Fn() + Send + Sync>,
    known: KnownSubscriptions,
    /// Whether a loss queues a catch-up sync (see [`SubscriptionKeeper::start`]).
    catch_up: Arc<AtomicBool>,
}

/// Subscriptions seen present at least once (by topic and address), with how often each was
/// restored. Shared by the keepers one engine starts and, with a file, kept across restarts,
/// so a keeper started after the laptop slept or the app restarted knows what it had and
/// reports what is now gone.
#[derive(Debug, Clone, Default)]
pub struct KnownSubscriptions {
    inner: Arc<Mutex<BTreeMap<(String, String), u64>>>,
    file: Option<Arc<PathBuf>>,
}

/// One line of the file.
#[derive(Debug, Serialize, Deserialize)]
struct KnownEntry {
    topic: String,
    uri: String,
    restored: u64,
}

impl KnownSubscriptions {
    /// Kept in `file` (JSON, no secret in it): read now, written on every change. A missing
    /// or unreadable file starts empty (the worst case is a removal reported as a first
    /// registration).
    pub fn persistent(file: PathBuf) -> Self {
        let entries: Vec<KnownEntry> = std::fs::read(&file)
            .ok()
            .and_then(|bytes| serde_json::from_slice(&bytes).ok())
            .unwrap_or_default();
        let map = entries
            .into_iter()
            .map(|e| ((e.topic, e.uri), e.restored))
            .collect();
        Self {
            inner: Arc::new(Mutex::new(map)),
            file: Some(Arc::new(file)),
        }
    }

    fn with<T>(&self, f: impl FnOnce(&mut BTreeMap<(String, String), u64>) -> T) -> T {
        f(&mut self.inner.lock().unwrap_or_else(|p| p.into_inner()))
    }

    fn save(&self) {
        let Some(file) = &self.file else { return };
        let entries: Vec<KnownEntry> = self.with(|m| {
            m.iter()
                .map(|((topic, uri), restored)| KnownEntry {
                    topic: topic.clone(),
                    uri: uri.clone(),
                    restored: *restored,
                })
                .collect()
        });
        let written = serde_json::to_vec_pretty(&entries)
            .map_err(std::io::Error::other)
            .and_then(|text| {
                if let Some(dir) = file.parent() {
                    std::fs::create_dir_all(dir)?;
                }
                // Write then rename, so a crash never leaves half a file.
                let tmp = file.with_extension("json.tmp");
                std::fs::write(&tmp, text)?;
                std::fs::rename(&tmp, file.as_path())
            });
        if let Err(err) = written {
            tracing::warn!(error = %err, file = %file.display(), "could not save the known webhook subscriptions");
        }
    }

    fn seen(&self, topic: &str, uri: &str) -> bool {
        self.with(|m| m.contains_key(&(topic.to_owned(), uri.to_owned())))
    }

    /// Records `topic` at `uri` as present; `restored` counts one more restoration.
    fn present(&self, topic: &str, uri: &str, restored: bool) {
        let changed = self.with(|m| {
            let key = (topic.to_owned(), uri.to_owned());
            let new = !m.contains_key(&key);
            let n = m.entry(key).or_insert(0);
            if restored {
                *n += 1;
            }
            new || restored
        });
        if changed {
            self.save();
        }
    }

    fn restorations(&self, topic: &str, uri: &str) -> Option<u64> {
        self.with(|m| m.get(&(topic.to_owned(), uri.to_owned())).copied())
    }
}

impl Keeper {
    async fn check(&mut self) -> Result<CheckReport, SubscriptionError> {
        let topics: Vec<&str> = self.topics.iter().map(String::as_str).collect();
        let present = list(&self.client, &self.uri, &topics).await?;
        let mut report = CheckReport {
            present: present.iter().cloned().collect(),
            created: Vec::new(),
        };
        let mut lost_any = false;
        for topic in &self.topics {
            if present.contains(topic) {
                self.known.present(topic, &self.uri, false);
                continue;
            }
            let lost = self.known.seen(topic, &self.uri);
            if lost {
                lost_any = true;
                tracing::warn!(%topic, uri = %self.uri, "Shopify removed a webhook subscription");
                self.events.publish(IntakeEvent::SubscriptionLost {
                    topic: topic.clone(),
                    uri: self.uri.clone(),
                });
            }
            create(&self.client, &self.uri, topic).await?;
            report.created.push(topic.clone());
            self.known.present(topic, &self.uri, lost);
            if lost {
                self.events.publish(IntakeEvent::SubscriptionRestored {
                    topic: topic.clone(),
                    uri: self.uri.clone(),
                });
            } else {
                self.events.publish(IntakeEvent::SubscriptionRegistered {
                    topic: topic.clone(),
                    uri: self.uri.clone(),
                });
            }
        }
        self.publish_health(|_| true);
        if lost_any && !self.catch_up.load(Ordering::SeqCst) {
            tracing::info!(uri = %self.uri, "the start's reconciliation reads what the lost subscriptions missed");
        } else if lost_any {
            // Deliveries were missed while it was gone: read what changed.
            let queued = self
                .cache
                .write(|db| db.enqueue(&crate::engine::incremental_job("subscription")))
                .await;
            match queued {
                Ok(_) => (self.wake_jobs)(),
                Err(err) => tracing::warn!(error = %err, "could not queue a catch-up sync"),
            }
        }
        Ok(report)
    }

    fn publish_health(&self, present: impl Fn(&str) -> bool) {
        let health = self
            .topics
            .iter()
            .map(|topic| SubscriptionHealth {
                topic: topic.clone(),
                uri: self.uri.clone(),
                present: self.known.seen(topic, &self.uri) && present(topic),
                restored: self.known.restorations(topic, &self.uri).unwrap_or(0),
            })
            .collect();
        *self.health.lock().unwrap_or_else(|p| p.into_inner()) = health;
    }
}

/// Keeps the subscriptions of one address alive until stopped.
pub struct SubscriptionKeeper {
    health: Arc<Mutex<Vec<SubscriptionHealth>>>,
    stop: CancellationToken,
    task: Option<JoinHandle<()>>,
}

impl std::fmt::Debug for SubscriptionKeeper {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SubscriptionKeeper").finish_non_exhaustive()
    }
}

impl Drop for SubscriptionKeeper {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

impl SubscriptionKeeper {
    /// Checks at once, then every `every`. `wake_jobs` is called after a catch-up sync was
    /// queued. While `catch_up` is false a loss queues no catch-up sync: the caller queues a
    /// reconciliation when it sets it (intake with a relay does once the relay's backlog is
    /// read, so the pass counts only what both paths missed).
    #[allow(clippy::too_many_arguments)]
    pub fn start(
        client: ShopifyClient,
        cache: Cache,
        uri: String,
        every: Duration,
        events: IntakeEvents,
        known: KnownSubscriptions,
        wake_jobs: Arc<dyn Fn() + Send + Sync>,
        catch_up: Arc<AtomicBool>,
    ) -> Self {
        let health = Arc::new(Mutex::new(Vec::new()));
        let stop = CancellationToken::new();
        let mut keeper = Keeper {
            client,
            cache,
            uri,
            topics: TOPICS.iter().map(|t| (*t).to_owned()).collect(),
            events,
            health: health.clone(),
            wake_jobs,
            known,
            catch_up,
        };
        let stopped = stop.clone();
        let task = tokio::spawn(async move {
            let mut tick = tokio::time::interval(every);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tokio::select! {
                    _ = stopped.cancelled() => return,
                    _ = tick.tick() => {}
                }
                let checked = tokio::select! {
                    _ = stopped.cancelled() => return,
                    checked = keeper.check() => checked,
                };
                if let Err(err) = checked {
                    tracing::warn!(error = %err, "could not check the webhook subscriptions");
                    keeper.publish_health(|_| false);
                }
            }
        });
        Self {
            health,
            stop,
            task: Some(task),
        }
    }

    /// Each topic's state at the last check.
    pub fn health(&self) -> Vec<SubscriptionHealth> {
        self.health
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Stops checking and waits for a check in progress to be dropped.
    pub async fn stop(mut self) {
        self.stop.cancel();
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}
