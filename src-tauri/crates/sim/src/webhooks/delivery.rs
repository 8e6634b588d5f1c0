//! Delivery: a background dispatcher turns each store event into one delivery per matching
//! subscription and sends it, on the simulator's clock.
//!
//! - Each event gets one `X-Shopify-Event-Id` (shared by every subscription's copy, retries and
//!   duplicates); each delivery gets its own `X-Shopify-Webhook-Id`, kept across its retries.
//! - The body and the target are fixed when the event fires: retries carry the original payload
//!   to the original address, even if the subscription's uri changes (FACTS §8).
//! - An attempt succeeds on a 2xx within the answer timeout: 5 simulated seconds, never more than
//!   5 real ones and never less than [`REAL_TIMEOUT_FLOOR`] (under `--time-scale 3600` five
//!   simulated seconds are 1.4 real milliseconds, less than a durable commit takes); a 3xx, 4xx,
//!   5xx, a refused connection or a timeout is a failure (redirects are not followed,
//!   FACTS §11 #11).
//! - Failures are retried on [`super::Settings`]' schedule; a subscription is removed after its
//!   `removal_after_failures`-th failed attempt in a row (any success resets the count), and its
//!   pending deliveries stop.
//! - Faults (`/_sim/faults`, seeded): `webhook_drop_rate` (never delivered),
//!   `webhook_duplicate_rate` (a second delivery of the same event: same Event-Id, its own
//!   Webhook-Id), `webhook_reorder_rate` (held back `webhook_reorder_seconds`, default 30, so
//!   later events overtake it), `webhook_delay_seconds` (every delivery waits that long).
//! - At most `max_concurrency` attempts are in flight; stopping the simulator stops the
//!   dispatcher, lets in-flight attempts finish for up to a second and cancels the rest.

use std::sync::Arc;
use std::time::Duration;

use base64::Engine;
use hmac::{Hmac, Mac};
use serde::Serialize;
use sha2::Sha256;
use tokio::sync::oneshot;
use tokio::task::{JoinHandle, JoinSet};

use super::validate::Address;
use super::{Webhooks, uuid_from};
use crate::clock::{SimClock, UnixMillis, format_rfc3339};
use crate::server::{API_VERSION, SimState};

/// Where a delivery goes. HTTPS is delivered through a [`super::tunnel`]; EventBridge with a
/// signed `PutEvents` to the configured [`super::eventbridge::EventBridgeTarget`]. Pub/Sub, and
/// EventBridge while no target is configured, are accepted and validated but not delivered:
/// their attempts are recorded as `not_simulated`, count as neither success nor failure, and
/// are not retried.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DeliveryTarget {
    Https(String),
    EventBridge(String),
    PubSub { project: String, topic: String },
}

impl From<&Address> for DeliveryTarget {
    fn from(address: &Address) -> Self {
        match address {
            Address::Https(uri) => DeliveryTarget::Https(uri.clone()),
            Address::EventBridge(arn) => DeliveryTarget::EventBridge(arn.clone()),
            Address::PubSub { project, topic } => DeliveryTarget::PubSub {
                project: project.clone(),
                topic: topic.clone(),
            },
        }
    }
}

impl DeliveryTarget {
    pub fn uri(&self) -> String {
        match self {
            DeliveryTarget::Https(uri) | DeliveryTarget::EventBridge(uri) => uri.clone(),
            DeliveryTarget::PubSub { project, topic } => format!("pubsub://{project}:{topic}"),
        }
    }

    /// Sends one attempt.
    async fn send(&self, job: &Job, ctx: &SendContext) -> Sent {
        match self {
            DeliveryTarget::Https(uri) => send_https(uri, job, ctx).await,
            DeliveryTarget::EventBridge(arn) => match &ctx.eventbridge {
                Some(target) => {
                    let send = super::eventbridge::send(&ctx.client, target, arn, job, &ctx.secret);
                    let limit = Duration::from_millis(ctx.timeout_ms.max(0) as u64)
                        .max(REAL_TIMEOUT_FLOOR);
                    match tokio::time::timeout(limit, send).await {
                        Ok(sent) => sent,
                        Err(_) => Sent::Failed {
                            status: None,
                            error: format!(
                                "timed out: EventBridge did not answer within {} s",
                                limit.as_secs_f64()
                            ),
                        },
                    }
                }
                None => Sent::NotSimulated(
                    "no EventBridge target is configured (SimConfig::eventbridge or POST /_sim/eventbridge)"
                        .into(),
                ),
            },
            DeliveryTarget::PubSub { .. } => {
                Sent::NotSimulated("Pub/Sub delivery is not simulated".into())
            }
        }
    }
}

/// How one attempt ended.
#[derive(Debug, Clone, PartialEq)]
pub enum Sent {
    Delivered(u16),
    Failed { status: Option<u16>, error: String },
    NotSimulated(String),
}

/// What happened to a delivery, for `/_sim/webhooks/deliveries`.
#[derive(Debug, Clone, Copy, Serialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Delivered,
    Failed,
    /// The drop fault: never sent.
    Dropped,
    /// Not sent because the subscription was removed (after failures or by a delete).
    Abandoned,
    NotSimulated,
}

/// One line of the delivery log.
#[derive(Debug, Clone, Serialize)]
pub struct Attempt {
    pub webhook_id: String,
    pub event_id: String,
    pub event_sequence: u64,
    pub subscription_id: u64,
    pub topic: String,
    pub uri: String,
    /// When the event happened (simulated milliseconds).
    pub event_at_ms: UnixMillis,
    /// 1 for the first attempt; 0 for deliveries never attempted.
    pub attempt: u32,
    pub at: String,
    pub at_ms: UnixMillis,
    pub outcome: Outcome,
    pub status: Option<u16>,
    pub error: Option<String>,
    /// When the next retry is due, if one is scheduled.
    pub next_attempt_at: Option<String>,
    pub duplicate: bool,
    /// This failure removed the subscription.
    pub subscription_removed: bool,
}

/// A delivery waiting for (or in) its next attempt.
#[derive(Debug, Clone)]
pub struct Pending {
    pub job: Job,
    pub due: UnixMillis,
    pub in_flight: bool,
}

/// Everything an attempt needs, fixed when the event fired.
#[derive(Debug, Clone)]
pub struct Job {
    pub webhook_id: String,
    pub event_id: String,
    pub event_sequence: u64,
    pub subscription_id: u64,
    pub subscription_name: Option<String>,
    /// Wire topic, `orders/create`.
    pub topic: String,
    pub target: DeliveryTarget,
    pub body: Arc<[u8]>,
    pub triggered_at: UnixMillis,
    pub shop_domain: String,
    pub resource_header: Option<(String, String)>,
    pub duplicate: bool,
    /// Attempts made so far (including one in flight).
    pub attempts: u32,
}

struct SendContext {
    client: reqwest::Client,
    clock: SimClock,
    secret: String,
    timeout_ms: i64,
    route: Option<String>,
    eventbridge: Option<super::eventbridge::EventBridgeTarget>,
}

/// base64 HMAC-SHA256 of the raw body under the app's client secret (`X-Shopify-Hmac-Sha256`).
pub fn sign(secret: &str, body: &[u8]) -> String {
    // HMAC accepts keys of any length, so this cannot fail.
    let mut mac = match Hmac::<Sha256>::new_from_slice(secret.as_bytes()) {
        Ok(mac) => mac,
        Err(_) => return String::new(),
    };
    mac.update(body);
    base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
}

/// `X-Shopify-Triggered-At`: RFC 3339 UTC with nanoseconds.
pub fn triggered_at(t: UnixMillis) -> String {
    let seconds = format_rfc3339(t);
    format!(
        "{}.{:03}000000Z",
        seconds.trim_end_matches('Z'),
        t.rem_euclid(1000)
    )
}

/// The headers of one delivery, in the order Shopify's captures show them.
pub fn headers(job: &Job, secret: &str) -> Vec<(String, String)> {
    let mut headers = vec![
        ("Content-Type".to_owned(), "application/json".to_owned()),
        ("User-Agent".to_owned(), "Shopify-Captain-Hook".to_owned()),
        (
            "Accept-Encoding".to_owned(),
            "gzip;q=1.0,deflate;q=0.6,identity;q=0.3".to_owned(),
        ),
        ("X-Shopify-Topic".to_owned(), job.topic.clone()),
        ("X-Shopify-Hmac-Sha256".to_owned(), sign(secret, &job.body)),
        ("X-Shopify-Shop-Domain".to_owned(), job.shop_domain.clone()),
        ("X-Shopify-API-Version".to_owned(), API_VERSION.to_owned()),
        ("X-Shopify-Webhook-Id".to_owned(), job.webhook_id.clone()),
        ("X-Shopify-Event-Id".to_owned(), job.event_id.clone()),
        (
            "X-Shopify-Triggered-At".to_owned(),
            triggered_at(job.triggered_at),
        ),
    ];
    if let Some(name) = &job.subscription_name {
        headers.push(("X-Shopify-Name".to_owned(), name.clone()));
    }
    if let Some((name, value)) = &job.resource_header {
        headers.push((name.clone(), value.clone()));
    }
    headers
}

async fn send_https(uri: &str, job: &Job, ctx: &SendContext) -> Sent {
    let Some(url) = ctx.route.clone() else {
        let host = uri
            .trim_start_matches("https://")
            .split(['/', '?', '#'])
            .next()
            .unwrap_or_default();
        return Sent::Failed {
            status: None,
            error: format!(
                "connection refused: {host} is not reachable from the simulator (only /_sim/tunnels hosts are)"
            ),
        };
    };
    let mut request = ctx.client.post(url).body(job.body.to_vec());
    for (name, value) in headers(job, &ctx.secret) {
        request = request.header(name, value);
    }
    let started = ctx.clock.now();
    let real_started = tokio::time::Instant::now();
    let deadline = started + ctx.timeout_ms;
    let exchange = async {
        let response = request.send().await?;
        let status = response.status().as_u16();
        // Drain the answer so the connection is reusable.
        let _ = response.bytes().await;
        Ok::<u16, reqwest::Error>(status)
    };
    let timeout = || Sent::Failed {
        status: None,
        error: format!(
            "timed out: no answer within {} s",
            ctx.timeout_ms as f64 / 1000.0
        ),
    };
    tokio::select! {
        result = exchange => match result {
            Ok(status) if (200..300).contains(&status) => Sent::Delivered(status),
            Ok(status) => Sent::Failed { status: Some(status), error: format!("answered HTTP {status}") },
            Err(e) => Sent::Failed { status: None, error: format!("request failed: {e}") },
        },
        () = async {
            sim_deadline(&ctx.clock, deadline).await;
            tokio::time::sleep_until(real_started + REAL_TIMEOUT_FLOOR).await;
        } => timeout(),
        () = tokio::time::sleep(Duration::from_millis(ctx.timeout_ms.max(0) as u64)) => timeout(),
    }
}

/// The shortest real time a receiver is given, whatever the clock's speed.
pub const REAL_TIMEOUT_FLOOR: Duration = Duration::from_millis(500);

/// Resolves once the simulated clock reaches `deadline`.
async fn sim_deadline(clock: &SimClock, deadline: UnixMillis) {
    while clock.now() < deadline {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// The running dispatcher; [`Dispatcher::stop`] ends it in order.
pub struct Dispatcher {
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<()>>,
}

impl Dispatcher {
    pub async fn stop(mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

impl Drop for Dispatcher {
    fn drop(&mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
    }
}

pub fn spawn(state: Arc<SimState>) -> Dispatcher {
    let (tx, rx) = oneshot::channel();
    let task = tokio::spawn(run(state, rx));
    Dispatcher {
        stop: Some(tx),
        task: Some(task),
    }
}

async fn run(state: Arc<SimState>, mut stop: oneshot::Receiver<()>) {
    let client = match reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .no_proxy()
        .build()
    {
        Ok(client) => client,
        Err(e) => {
            tracing::error!("webhook delivery disabled: no HTTP client: {e}");
            return;
        }
    };
    let mut tasks = JoinSet::new();
    loop {
        tokio::select! {
            _ = &mut stop => break,
            () = state.webhooks.wake.notified() => {}
            () = tokio::time::sleep(Duration::from_millis(10)) => {}
            Some(_) = tasks.join_next(), if !tasks.is_empty() => {}
        }
        ingest(&state);
        for (job, ctx) in due_jobs(&state, &client) {
            let state = state.clone();
            tasks.spawn(async move {
                let sent = job.target.send(&job, &ctx).await;
                finish(&state.webhooks, &job, sent, state.clock.now());
            });
        }
    }
    let drain = async { while tasks.join_next().await.is_some() {} };
    let _ = tokio::time::timeout(Duration::from_secs(1), drain).await;
    tasks.shutdown().await;
}

/// Turns store events logged since the last call into pending deliveries.
fn ingest(state: &SimState) {
    let cursor = state.webhooks.lock().cursor;
    let (events, shop_domain) = {
        let store = state.read_store();
        if store.events.len() <= cursor {
            return;
        }
        (
            store.events[cursor..].to_vec(),
            store.shop().myshopify_domain.clone(),
        )
    };
    // Bodies the store cannot build (the bulk operation lives outside it).
    let events: Vec<crate::store::StoreEvent> = events
        .into_iter()
        .map(|mut e| {
            if e.payload.is_none() && e.topic == "bulk_operations/finish" {
                e.payload = super::payload::bulk_operation_finish(state, &e.subject).map(Arc::new);
            }
            e
        })
        .collect();
    let faults = state.faults().clone();
    let now = state.clock.now();
    let webhooks = &state.webhooks;
    let event_ids: Vec<String> = events
        .iter()
        .map(|e| webhooks.event_id(e.sequence))
        .collect();
    let mut inner = webhooks.lock();
    inner.cursor = cursor + events.len();
    for (event, event_id) in events.iter().zip(event_ids) {
        let Some(payload) = &event.payload else {
            continue;
        };
        let targets: Vec<super::Subscription> = inner
            .subscriptions
            .values()
            .filter(|s| s.wants(event.topic) && event.sequence > s.after_sequence)
            .filter(|s| {
                s.filter
                    .as_deref()
                    .is_none_or(|f| super::validate::filter_matches(f, payload))
            })
            .cloned()
            .collect();
        for sub in targets {
            let body = body_for(payload, &sub.include_fields);
            let mut job = Job {
                webhook_id: uuid_from(&mut inner.rng),
                event_id: event_id.clone(),
                event_sequence: event.sequence,
                subscription_id: sub.id,
                subscription_name: sub.name.clone(),
                topic: event.topic.to_owned(),
                target: DeliveryTarget::from(&sub.address),
                body,
                triggered_at: event.at,
                shop_domain: shop_domain.clone(),
                resource_header: super::payload::resource_header(&event.subject),
                duplicate: false,
                attempts: 0,
            };
            let mut roll =
                |rate: f64| rate > 0.0 && (inner.rng.below(1_000_000) as f64 / 1_000_000.0) < rate;
            if roll(faults.webhook_drop_rate) {
                let record = log_line(
                    &job,
                    now,
                    Outcome::Dropped,
                    None,
                    Some("dropped by the webhook_drop_rate fault".into()),
                );
                inner.log.push(record);
                continue;
            }
            // Delays count from the moment the event fired, not from when it was picked up.
            let mut due = event.at + seconds_to_ms(faults.webhook_delay_seconds);
            if roll(faults.webhook_reorder_rate) {
                due += seconds_to_ms(faults.webhook_reorder_seconds.unwrap_or(30.0));
            }
            let duplicate = roll(faults.webhook_duplicate_rate);
            if duplicate {
                let mut copy = job.clone();
                copy.webhook_id = uuid_from(&mut inner.rng);
                copy.duplicate = true;
                inner.pending.push(Pending {
                    job: copy,
                    due,
                    in_flight: false,
                });
            }
            job.attempts = 0;
            inner.pending.push(Pending {
                job,
                due,
                in_flight: false,
            });
        }
    }
}

fn seconds_to_ms(seconds: f64) -> i64 {
    if seconds.is_finite() && seconds > 0.0 {
        (seconds * 1000.0).round() as i64
    } else {
        0
    }
}

/// The serialized body; `includeFields` keeps only the named top-level keys.
fn body_for(payload: &serde_json::Value, include_fields: &[String]) -> Arc<[u8]> {
    let value = match payload {
        serde_json::Value::Object(map) if !include_fields.is_empty() => serde_json::Value::Object(
            map.iter()
                .filter(|(k, _)| include_fields.iter().any(|f| f == *k))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
        ),
        other => other.clone(),
    };
    serde_json::to_vec(&value).unwrap_or_default().into()
}

fn log_line(
    job: &Job,
    now: UnixMillis,
    outcome: Outcome,
    status: Option<u16>,
    error: Option<String>,
) -> Attempt {
    Attempt {
        webhook_id: job.webhook_id.clone(),
        event_id: job.event_id.clone(),
        event_sequence: job.event_sequence,
        subscription_id: job.subscription_id,
        event_at_ms: job.triggered_at,
        topic: job.topic.clone(),
        uri: job.target.uri(),
        attempt: job.attempts,
        at: format_rfc3339(now),
        at_ms: now,
        outcome,
        status,
        error,
        next_attempt_at: None,
        duplicate: job.duplicate,
        subscription_removed: false,
    }
}

/// Marks the due deliveries in flight (up to the free concurrency) and returns them.
fn due_jobs(state: &SimState, client: &reqwest::Client) -> Vec<(Job, SendContext)> {
    let now = state.clock.now();
    let secret = state.tokens().client_secret.clone();
    let mut inner = state.webhooks.lock();
    let settings = inner.settings.clone();
    let eventbridge = inner.eventbridge.clone();
    let busy = inner.pending.iter().filter(|p| p.in_flight).count();
    let free = settings.max_concurrency.max(1).saturating_sub(busy);
    if free == 0 {
        return Vec::new();
    }
    let mut due: Vec<usize> = (0..inner.pending.len())
        .filter(|&i| !inner.pending[i].in_flight && inner.pending[i].due <= now)
        .collect();
    // Oldest due first; ties in the order the deliveries were created.
    due.sort_by_key(|&i| (inner.pending[i].due, i));
    due.truncate(free);
    let mut jobs = Vec::new();
    for i in due {
        let route = match &inner.pending[i].job.target {
            DeliveryTarget::Https(uri) => inner.tunnels.route(uri),
            _ => None,
        };
        let pending = &mut inner.pending[i];
        pending.in_flight = true;
        pending.job.attempts += 1;
        jobs.push((
            pending.job.clone(),
            SendContext {
                client: client.clone(),
                clock: state.clock.clone(),
                secret: secret.clone(),
                timeout_ms: seconds_to_ms(settings.timeout_seconds),
                route,
                eventbridge: eventbridge.clone(),
            },
        ));
    }
    jobs
}

/// Records an attempt's outcome and schedules a retry, gives up or removes the subscription.
fn finish(webhooks: &Webhooks, job: &Job, sent: Sent, now: UnixMillis) {
    let mut inner = webhooks.lock();
    let settings = inner.settings.clone();
    let position = inner
        .pending
        .iter()
        .position(|p| p.job.webhook_id == job.webhook_id);
    match sent {
        Sent::Delivered(status) => {
            if let Some(sub) = inner.subscriptions.get_mut(&job.subscription_id) {
                sub.consecutive_failures = 0;
            }
            if let Some(i) = position {
                inner.pending.remove(i);
            }
            inner
                .log
                .push(log_line(job, now, Outcome::Delivered, Some(status), None));
        }
        Sent::NotSimulated(reason) => {
            if let Some(i) = position {
                inner.pending.remove(i);
            }
            inner.log.push(log_line(
                job,
                now,
                Outcome::NotSimulated,
                None,
                Some(reason),
            ));
        }
        Sent::Failed { status, error } => {
            let mut line = log_line(job, now, Outcome::Failed, status, Some(error));
            let failures = inner
                .subscriptions
                .get_mut(&job.subscription_id)
                .map(|sub| {
                    sub.consecutive_failures += 1;
                    sub.consecutive_failures
                });
            if failures.is_none() {
                // Deleted meanwhile: no retries.
                if let Some(i) = position {
                    inner.pending.remove(i);
                }
                inner.log.push(line);
                return;
            }
            if failures.is_some_and(|n| n >= settings.removal_after_failures.max(1)) {
                // FACTS §8: an API-created subscription is deleted after repeated failures;
                // nothing more is sent to it.
                inner.subscriptions.remove(&job.subscription_id);
                line.subscription_removed = true;
                inner.log.push(line);
                let (gone, kept): (Vec<Pending>, Vec<Pending>) = std::mem::take(&mut inner.pending)
                    .into_iter()
                    .partition(|p| p.job.subscription_id == job.subscription_id);
                inner.pending = kept;
                for p in gone.iter().filter(|p| p.job.webhook_id != job.webhook_id) {
                    let mut l = log_line(&p.job, now, Outcome::Abandoned, None, None);
                    l.error = Some("subscription removed after repeated failed deliveries".into());
                    inner.log.push(l);
                }
                return;
            }
            match position {
                Some(i) if job.attempts <= settings.retries => {
                    let exponent = job.attempts.saturating_sub(1).min(30);
                    let wait = seconds_to_ms(settings.first_retry_seconds) * (1_i64 << exponent);
                    let pending = &mut inner.pending[i];
                    pending.in_flight = false;
                    pending.due = now + wait;
                    line.next_attempt_at = Some(format_rfc3339(now + wait));
                }
                Some(i) => {
                    inner.pending.remove(i);
                }
                None => {}
            }
            inner.log.push(line);
        }
    }
}

/// Drops the pending deliveries of a deleted subscription (logged as abandoned).
pub(crate) fn forget_subscription(inner: &mut super::Inner, id: u64, now: UnixMillis) {
    let (gone, kept): (Vec<Pending>, Vec<Pending>) = std::mem::take(&mut inner.pending)
        .into_iter()
        .partition(|p| p.job.subscription_id == id && !p.in_flight);
    inner.pending = kept;
    for p in gone {
        let mut l = log_line(&p.job, now, Outcome::Abandoned, None, None);
        l.error = Some("subscription deleted".into());
        inner.log.push(l);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signs_the_shared_test_vector() {
        // tests/fixtures/webhooks/hmac-test-vector.json (computed by Shopify's own library).
        let body = include_bytes!("../../tests/fixtures/webhooks/hmac-test-vector.body.json");
        assert_eq!(
            sign("shpss_test_app_secret", body),
            "qJixj0DBbx+2QizbixmHsPTGsPVfCUFQQ464uBtpADs="
        );
        assert_ne!(
            sign("shpss_test_app_secret", &body[1..]),
            "qJixj0DBbx+2QizbixmHsPTGsPVfCUFQQ464uBtpADs="
        );
    }

    #[test]
    fn triggered_at_has_nanoseconds() {
        assert_eq!(
            triggered_at(1_784_073_600_123),
            "2026-07-15T00:00:00.123000000Z"
        );
    }
}
