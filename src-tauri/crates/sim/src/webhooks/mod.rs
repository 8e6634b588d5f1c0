//! Webhooks: subscriptions, a simulated tunnel, and delivery of every store event.
//!
//! Shopify pushes store changes to subscribed addresses, and Shelfsync's intake (issue 8) must
//! cope with what that really looks like: signed POSTs that may come twice, late, out of order or
//! never, retried on Shopify's schedule, and a subscription that disappears after repeated
//! failures. This module reproduces that on the simulator's clock, so hours of retries run in
//! milliseconds under a manual clock or `--time-scale`.
//!
//! - [`graphql`]: `webhookSubscriptionCreate`/`Update`/`Delete`, the deprecated dedicated
//!   EventBridge and Pub/Sub roots, and the `webhookSubscription(s)` reads, with the userErrors
//!   of [`validate`] (FACTS §8, captures).
//! - [`delivery`]: the dispatcher task that turns each logged store event into one delivery per
//!   matching subscription, signs it, sends it through a [`delivery::DeliveryTarget`], retries
//!   and removes subscriptions; faults (duplicates, reordering, drops, delay) are seeded.
//! - [`eventbridge`]: signed `PutEvents` in Shopify's EventBridge envelope, for `arn:aws:events:…`
//!   subscriptions, to a configured endpoint (Amazon's, or a local one in tests).
//! - [`tunnel`]: `https://<name>.tunnel.shelfsync.test` addresses that reach a loopback port,
//!   the way ngrok or cloudflared give a laptop a public address.
//! - [`control`]: the `/_sim/tunnels` and `/_sim/webhooks/…` routes.
//! - [`payload`]: the REST-style bodies.

pub mod control;
pub mod delivery;
pub mod eventbridge;
pub mod graphql;
pub mod payload;
pub mod tunnel;
pub mod validate;

use std::collections::BTreeMap;
use std::sync::{Mutex, MutexGuard, PoisonError};

use serde::{Deserialize, Serialize};

use crate::clock::UnixMillis;
use crate::store::SeededRng;
use validate::Address;

/// An API-created webhook subscription.
#[derive(Debug, Clone)]
pub struct Subscription {
    pub id: u64,
    /// `WebhookSubscriptionTopic` enum value, e.g. `INVENTORY_LEVELS_UPDATE`.
    pub topic: String,
    pub address: Address,
    /// `JSON` or `XML`.
    pub format: String,
    pub include_fields: Vec<String>,
    pub metafield_namespaces: Vec<String>,
    pub filter: Option<String>,
    pub name: Option<String>,
    pub created_at: UnixMillis,
    pub updated_at: UnixMillis,
    /// Failed delivery attempts in a row (reset by any success).
    pub consecutive_failures: u32,
    /// Store events up to this sequence happened before the subscription existed.
    pub after_sequence: u64,
}

impl Subscription {
    /// Whether this subscription receives events with the wire topic `wire`
    /// (`inventory_levels/update` ↔ `INVENTORY_LEVELS_UPDATE`).
    pub fn wants(&self, wire: &str) -> bool {
        enum_topic(wire) == self.topic
    }
}

/// `orders/updated` → `ORDERS_UPDATED`.
pub fn enum_topic(wire: &str) -> String {
    wire.to_ascii_uppercase().replace('/', "_")
}

/// Delivery policy. Defaults are FACTS §11 #9–#11: the first attempt plus 8 retries at doubling
/// intervals from 1 minute (1, 2, 4 … 128 min, about 4 h 15 min in all); an API-created
/// subscription is removed after 8 failed attempts in a row; 5 s to answer with a 2xx.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct Settings {
    /// Simulated seconds before the first retry; each later retry waits twice as long.
    pub first_retry_seconds: f64,
    /// Retries after the first attempt.
    pub retries: u32,
    /// Failed attempts in a row (over all of a subscription's deliveries) that remove it.
    pub removal_after_failures: u32,
    /// Simulated seconds a receiver has to answer (never more than this many real seconds, never
    /// less than half a real second).
    pub timeout_seconds: f64,
    /// Deliveries in flight at once.
    pub max_concurrency: usize,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            first_retry_seconds: 60.0,
            retries: 8,
            removal_after_failures: 8,
            timeout_seconds: 5.0,
            max_concurrency: 16,
        }
    }
}

/// Webhook state of one simulator.
pub struct Webhooks {
    /// The app's numeric API client id (the `<app_id>` of EventBridge ARNs and `app--<id>--`
    /// metafield namespaces), derived from the seed.
    pub api_client_id: u64,
    seed: u64,
    inner: Mutex<Inner>,
    /// Wakes the dispatcher (new subscription, clock moved, settings changed).
    pub(crate) wake: tokio::sync::Notify,
}

pub(crate) struct Inner {
    pub subscriptions: BTreeMap<u64, Subscription>,
    pub next_id: u64,
    pub tunnels: tunnel::Tunnels,
    pub pending: Vec<delivery::Pending>,
    pub log: Vec<delivery::Attempt>,
    /// Store events already turned into deliveries.
    pub cursor: usize,
    pub settings: Settings,
    pub rng: SeededRng,
    /// Where EventBridge subscriptions are delivered; `None` records them as not simulated.
    pub eventbridge: Option<eventbridge::EventBridgeTarget>,
}

impl Webhooks {
    pub fn new(seed: u64) -> Self {
        let mut rng = SeededRng::new(seed ^ 0x7EB0_0C5E);
        // Twelve digits, like real app ids (347082227713).
        let api_client_id = 100_000_000_000 + rng.below(899_999_999_999);
        Self {
            api_client_id,
            seed,
            inner: Mutex::new(Inner {
                subscriptions: BTreeMap::new(),
                next_id: 1_950_000_000_000 + rng.below(10_000_000) * 1000,
                tunnels: tunnel::Tunnels::default(),
                pending: Vec::new(),
                log: Vec::new(),
                cursor: 0,
                settings: Settings::default(),
                rng,
                eventbridge: None,
            }),
            wake: tokio::sync::Notify::new(),
        }
    }

    pub(crate) fn lock(&self) -> MutexGuard<'_, Inner> {
        // A panic under this lock leaves at worst a half-recorded attempt; keep serving.
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    pub fn settings(&self) -> Settings {
        self.lock().settings.clone()
    }

    pub fn set_settings(&self, settings: Settings) {
        self.lock().settings = settings;
        self.wake.notify_one();
    }

    /// Where EventBridge subscriptions are delivered from now on (`None`: not delivered).
    pub fn set_eventbridge(&self, target: Option<eventbridge::EventBridgeTarget>) {
        self.lock().eventbridge = target;
        self.wake.notify_one();
    }

    pub fn eventbridge(&self) -> Option<eventbridge::EventBridgeTarget> {
        self.lock().eventbridge.clone()
    }

    /// Current subscriptions, in id order.
    pub fn subscriptions(&self) -> Vec<Subscription> {
        self.lock().subscriptions.values().cloned().collect()
    }

    /// Every delivery attempt so far (and drops, removals), oldest first.
    pub fn attempts(&self) -> Vec<delivery::Attempt> {
        self.lock().log.clone()
    }

    /// The `X-Shopify-Event-Id` of store event `sequence`: the same for every delivery of it.
    pub fn event_id(&self, sequence: u64) -> String {
        let mut rng = SeededRng::new(self.seed ^ 0xE7E7_0000 ^ sequence.wrapping_mul(0x9E37_79B9));
        uuid_from(&mut rng)
    }
}

/// A version-4 UUID from the seeded generator (reproducible per seed).
pub fn uuid_from(rng: &mut SeededRng) -> String {
    let hex = rng.hex(16);
    let mut chars: Vec<char> = hex.chars().collect();
    chars.resize(32, '0');
    chars[12] = '4';
    chars[16] = ['8', '9', 'a', 'b'][(chars[16].to_digit(16).unwrap_or(0) % 4) as usize];
    let s: String = chars.into_iter().collect();
    format!(
        "{}-{}-{}-{}-{}",
        &s[0..8],
        &s[8..12],
        &s[12..16],
        &s[16..20],
        &s[20..32]
    )
}

/// `gid://shopify/<Type>/<id>[?inventory_item_id=<n>]` → (type, id, inventory_item_id).
pub fn parse_gid(text: &str) -> Option<(&str, u64, Option<u64>)> {
    let rest = text.strip_prefix("gid://shopify/")?;
    let (kind, rest) = rest.split_once('/')?;
    let (id, query) = match rest.split_once('?') {
        Some((id, query)) => (id, Some(query)),
        None => (rest, None),
    };
    let item = query.and_then(|q| {
        q.split('&')
            .find_map(|kv| kv.strip_prefix("inventory_item_id="))
            .and_then(|v| v.parse().ok())
    });
    Some((kind, id.parse().ok()?, item))
}
