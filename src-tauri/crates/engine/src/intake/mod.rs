//! Webhook intake: Shopify's pushes reach the cache without waiting for a poll.
//!
//! A laptop has no public address, so owners run a tunnel (ngrok, cloudflared) and Shopify
//! delivers to the tunnel's public `https://` URL, which forwards to [`listener`] on
//! 127.0.0.1. The listener checks every request before anything is stored (required headers,
//! a size bound, the HMAC signature in constant time: [`verify`]), then hands the event to
//! [`inbox`], which commits it durably together with the job that will apply it, and only
//! then answers `200`. Shopify does not send an event again after a `200`, so **an event is
//! committed before its `200`**: a crash after the answer loses nothing, the job runs after
//! the restart. Commits are grouped: requests that arrive while one transaction is being
//! synced to disk share the next one, so a burst costs a few `fsync`s, not one per event.
//!
//! Shopify delivers at least once and in no particular order. `X-Shopify-Event-Id` is the
//! same on every delivery of one store event (retries, duplicates, and copies reaching
//! several subscriptions or arriving through the cloud relay too), so the inbox stores an
//! event once and a redelivery is a no-op `200`. Order is restored when the event is applied
//! ([`process`]): the event's own `updated_at` keeps an older event from overwriting newer
//! state already in the cache, from a webhook or from a poll.
//!
//! [`subscriptions`] registers the topics the engine needs for the tunnel's URL and keeps
//! them alive: Shopify deletes a subscription after repeated failed deliveries (a laptop
//! asleep for hours), so they are listed periodically, and a missing one is created again,
//! with [`IntakeEvent::SubscriptionLost`] and [`IntakeEvent::SubscriptionRestored`] for the
//! owner and an incremental sync to pick up what was missed.
//!
//! Which key signs deliveries: the app's client secret (client-credentials connections, read
//! from the keychain). A legacy admin-token connection has no client secret in Shelfsync;
//! Shopify signs its webhooks with the app's API secret key (`shpss_…`), which the owner must
//! give in [`IntakeConfig::signing_secrets`]. After a rotation Shopify may sign with the old
//! secret for up to an hour, so several keys can be given; any of them verifies.
//!
//! The cloud relay ([`crate::relay`]: Shopify → EventBridge → SQS, for owners without a
//! tunnel, and to hold events while the laptop sleeps) is the other way in. It commits
//! through the same [`InboxWriter`] and counts in the same [`IntakeStats`] under
//! [`IntakePath::Relay`], so a relayed event is applied exactly like a delivered one, and an
//! event arriving both ways is stored and applied once. [`crate::Engine::start_intake`] runs
//! either path, or both.
//!
//! Everything a person should hear about (counts per intake path, last event time,
//! subscriptions lost and restored) is published on [`IntakeEvents`], separate from
//! [`crate::EngineEvent`] so front ends that do not show intake yet keep working unchanged.

pub mod inbox;
pub mod listener;
pub mod process;
pub(crate) mod run;
pub mod subscriptions;
pub mod trial;
pub mod verify;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use serde::Serialize;
use shelfsync_shopify::Secret;

use crate::relay::{RelayHealth, RelaySettings};
use tokio::sync::broadcast;

pub use inbox::InboxWriter;
pub use listener::{Listener, ListenerConfig};
pub use process::{Applied, JOB_WEBHOOK, Processor};
pub use subscriptions::{KnownSubscriptions, SubscriptionKeeper, TOPICS};
pub use trial::{TestDelivery, TestWebhookReport};
pub use verify::Refusal;

/// How an event reached the engine.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum IntakePath {
    /// The loopback listener behind the owner's tunnel.
    Listener,
    /// The cloud relay (EventBridge → SQS).
    Relay,
}

/// Counters of one intake path since the engine started.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PathStats {
    pub path: IntakePath,
    /// Events stored for the first time.
    pub accepted: u64,
    /// Deliveries of an event already stored (answered `200`, nothing stored).
    pub duplicates: u64,
    /// Refused with `401`: the signature did not match.
    pub refused_forged: u64,
    /// Refused with `400`: a required header missing or unreadable, an empty body, another shop.
    pub refused_malformed: u64,
    /// Refused with `413`: the body was larger than the bound.
    pub refused_oversized: u64,
    /// Answered `503` because the inbox could not be written (Shopify retries).
    pub store_failures: u64,
    /// When the last event (new or duplicate) arrived.
    pub last_event_at: Option<SystemTime>,
}

impl PathStats {
    fn new(path: IntakePath) -> Self {
        Self {
            path,
            accepted: 0,
            duplicates: 0,
            refused_forged: 0,
            refused_malformed: 0,
            refused_oversized: 0,
            store_failures: 0,
            last_event_at: None,
        }
    }

    /// Requests refused for any reason.
    pub fn refused(&self) -> u64 {
        self.refused_forged + self.refused_malformed + self.refused_oversized
    }
}

/// What happened to one request or message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Accepted,
    Duplicate,
    Refused(Refusal),
    StoreFailed,
}

/// Subscription health, as the last check saw it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SubscriptionHealth {
    /// `WebhookSubscriptionTopic`, e.g. `INVENTORY_LEVELS_UPDATE`.
    pub topic: String,
    pub uri: String,
    /// Whether Shopify listed it at the last check (or it was just created).
    pub present: bool,
    /// How many times it was found missing and created again.
    pub restored: u64,
}

/// What intake tells its front ends.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum IntakeEvent {
    /// Counters of one path after a change.
    Stats { stats: PathStats },
    /// A subscription was created for the first time.
    SubscriptionRegistered { topic: String, uri: String },
    /// Shopify no longer lists a subscription the engine had (removed after failed
    /// deliveries, or by hand).
    SubscriptionLost { topic: String, uri: String },
    /// A lost subscription was created again.
    SubscriptionRestored { topic: String, uri: String },
}

/// The intake event channel. Cloning shares it. A slow subscriber only misses old events.
#[derive(Debug, Clone)]
pub struct IntakeEvents {
    tx: broadcast::Sender<IntakeEvent>,
}

impl Default for IntakeEvents {
    fn default() -> Self {
        Self::new()
    }
}

impl IntakeEvents {
    pub fn new() -> Self {
        let (tx, _) = broadcast::channel(1024);
        Self { tx }
    }

    pub fn subscribe(&self) -> broadcast::Receiver<IntakeEvent> {
        self.tx.subscribe()
    }

    pub fn publish(&self, event: IntakeEvent) {
        let _ = self.tx.send(event);
    }
}

/// Per-path counters, shared by the listener and the relay. The lock is only taken to bump a
/// counter or copy the map, never across an `.await`.
#[derive(Debug, Clone, Default)]
pub struct IntakeStats {
    by_path: Arc<Mutex<BTreeMap<IntakePath, PathStats>>>,
    events: IntakeEvents,
}

impl IntakeStats {
    pub fn new(events: IntakeEvents) -> Self {
        Self {
            by_path: Arc::default(),
            events,
        }
    }

    /// Counts one request and publishes the path's new counters.
    pub fn record(&self, path: IntakePath, outcome: Outcome) {
        let snapshot = {
            let mut map = self.by_path.lock().unwrap_or_else(|p| p.into_inner());
            let stats = map.entry(path).or_insert_with(|| PathStats::new(path));
            match outcome {
                Outcome::Accepted => stats.accepted += 1,
                Outcome::Duplicate => stats.duplicates += 1,
                Outcome::Refused(Refusal::Forged) => stats.refused_forged += 1,
                Outcome::Refused(Refusal::Malformed(_)) => stats.refused_malformed += 1,
                Outcome::Refused(Refusal::Oversized) => stats.refused_oversized += 1,
                Outcome::StoreFailed => stats.store_failures += 1,
            }
            if matches!(outcome, Outcome::Accepted | Outcome::Duplicate) {
                stats.last_event_at = Some(SystemTime::now());
            }
            stats.clone()
        };
        self.events.publish(IntakeEvent::Stats { stats: snapshot });
    }

    /// Every path's counters, in path order.
    pub fn snapshot(&self) -> Vec<PathStats> {
        self.by_path
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .values()
            .cloned()
            .collect()
    }

    pub fn events(&self) -> &IntakeEvents {
        &self.events
    }
}

/// How the engine runs webhook intake (see [`crate::Engine::start_intake`]).
#[derive(Debug, Clone)]
pub struct IntakeConfig {
    /// Port on 127.0.0.1 for the listener; 0 picks a free one (the bound address is reported).
    pub port: u16,
    /// The tunnel's public `https://` URL, as the owner's tunnel tool shows it. With it, the
    /// engine registers and keeps alive the subscriptions of [`TOPICS`] for that address;
    /// without it, the listener runs and subscriptions are left alone.
    pub public_url: Option<String>,
    /// Keys Shopify signs deliveries with. Empty: the connected store's client secret from
    /// the keychain (client-credentials connections). A legacy admin-token connection must
    /// give the app's API secret key (`shpss_…`) here.
    pub signing_secrets: Vec<Secret>,
    /// Largest body accepted; larger requests get `413`.
    pub max_body_bytes: usize,
    /// How often the subscriptions are listed and lost ones created again.
    pub check_subscriptions_every: Duration,
    /// Whether to run the loopback listener. Off for an owner who uses the relay alone.
    pub listen: bool,
    /// The cloud relay's SQS queue (URL, region, another endpoint, long-poll wait). With it
    /// the engine consumes the queue, reading the AWS key from the keychain
    /// ([`crate::RelayCredentials::load`]).
    pub relay: Option<RelaySettings>,
    /// The owner's EventBridge partner event source (`arn:aws:events:…`). With it (and a
    /// relay), the engine registers and keeps alive the subscriptions of [`TOPICS`] for that
    /// address, as it does for the tunnel's URL.
    pub relay_event_source: Option<String>,
}

/// 1 MiB: Shopify's bodies are a few kilobytes (an order with many lines stays far below),
/// and EventBridge, the other path, caps events at 256 KB.
pub const DEFAULT_MAX_BODY_BYTES: usize = 1 << 20;

impl Default for IntakeConfig {
    fn default() -> Self {
        Self {
            port: 0,
            public_url: None,
            signing_secrets: Vec::new(),
            max_body_bytes: DEFAULT_MAX_BODY_BYTES,
            check_subscriptions_every: Duration::from_secs(15 * 60),
            listen: true,
            relay: None,
            relay_event_source: None,
        }
    }
}

/// Why intake could not start.
#[derive(Debug, thiserror::Error)]
pub enum IntakeError {
    #[error(transparent)]
    Engine(#[from] crate::EngineError),
    #[error(
        "This store is connected with an admin token, so Shelfsync has no key to check webhook \
         signatures with. Give the app's API secret key (it starts with shpss_) as the webhook \
         signing secret."
    )]
    NoSigningSecret,
    #[error("Shelfsync could not listen on 127.0.0.1:{port}: {detail}. Choose another port.")]
    Bind { port: u16, detail: String },
    #[error(
        "The tunnel address {url:?} is not an https:// address; Shopify only delivers to https."
    )]
    NotHttps { url: String },
    #[error("Webhook intake needs the listener, the cloud relay, or both; neither is configured.")]
    NothingToRun,
    #[error("A tunnel address needs the listener; it is turned off.")]
    TunnelWithoutListener,
    #[error(
        "The relay's AWS access key is not in the keychain ({detail}). Store the access key id \
         and secret access key first."
    )]
    NoRelayCredentials { detail: String },
    #[error(
        "The EventBridge address {arn:?} is not an arn:aws:events: address of a partner event \
         source."
    )]
    NotAnEventSource { arn: String },
    #[error(transparent)]
    Relay(#[from] crate::relay::RelayError),
    #[error("Webhook intake is not running. Start it in the webhook settings first.")]
    NotRunning,
    #[error(
        "Intake runs without a tunnel address or a relay event source, so there is no address \
         to send a test event to. Give the tunnel's public URL or the EventBridge event source."
    )]
    NoTestAddress,
}

/// The relay as the engine reports it.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RelayStatus {
    pub queue_url: String,
    pub region: String,
    #[serde(flatten)]
    pub health: RelayHealth,
}

/// What the engine reports about intake in its status.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct IntakeStatus {
    /// The listener's bound address, while it runs.
    pub listening_on: Option<String>,
    pub public_url: Option<String>,
    /// The cloud relay, while it runs.
    pub relay: Option<RelayStatus>,
    pub paths: Vec<PathStats>,
    pub subscriptions: Vec<SubscriptionHealth>,
    pub inbox: Option<shelfsync_store::InboxCounts>,
}
