//! The durable cloud relay: store events that Shopify delivered to Amazon EventBridge, held
//! in an SQS queue while the laptop sleeps, consumed into the inbox.
//!
//! The owner's AWS account has Shopify's partner event source on an event bus, a rule on
//! `detail.metadata.X-Shopify-Topic` and an SQS queue as its target. SQS keeps messages for
//! days (four by default, up to fourteen), far longer than Shopify's four hours of HTTPS
//! retries, so nothing is lost while Shelfsync is off. [`Relay::run`] long-polls the queue
//! (`WaitTimeSeconds` 20 in production), and for each message:
//!
//! 1. unwraps the EventBridge envelope (`detail-type` `shopifyWebhook`, a
//!    `aws.partner/shopify.com/…` source, `detail.payload` an object, `detail.metadata` the
//!    delivery headers; `account` is not required, local EventBridges omit it) into a
//!    [`WebhookEvent`]: the event id from `X-Shopify-Event-Id` (the `X-Shopify-Webhook-Id` only
//!    when it is absent), the payload kept as the exact JSON text it arrived as, so 64-bit ids
//!    and timestamps with their offsets are never re-serialised;
//! 2. commits it through the intake's [`InboxWriter`], as the loopback listener does: the
//!    event and the job that applies it to the cache in one `synchronous=FULL` transaction
//!    (a duplicate, from either path, is a no-op), counted under [`IntakePath::Relay`];
//! 3. deletes the message, only after that commit. A crash between receiving and deleting
//!    leaves the message in the queue: it comes back after the visibility timeout and the
//!    second commit is a no-op.
//!
//! **A malformed message** (not JSON, not a Shopify EventBridge event, a missing topic or
//! shop, a payload that is not an object) is never stored. It is logged (its id and the
//! reason, never its body), counted as refused, and **left in the queue**, hidden for
//! [`RelaySettings::malformed_hold`] so it does not come back on every poll: after the queue's
//! `maxReceiveCount` receives its redrive policy moves it to the dead-letter queue, where the
//! owner can inspect it; without one, SQS drops it when its retention ends. Shelfsync does not
//! delete it itself: the message may be a format a newer Shelfsync understands, and the
//! dead-letter queue is where AWS owners already look for such messages.
//!
//! **An unreachable relay** (network, credentials refused, queue missing) publishes
//! [`EngineEvent::Relay`] with [`RelayState::Unreachable`] after each failed poll and retries
//! on [`RetrySchedule`]; the first poll that works again publishes [`RelayState::Reachable`].
//!
//! The SDK is Amazon's `aws-sdk-sqs` with its HTTP calls sent through the engine's own
//! `reqwest` (native TLS, as for Shopify), so the app carries no second TLS stack. Its own
//! retries are off: this module's schedule is the only one, on an injectable clock.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use aws_sdk_sqs::config::{BehaviorVersion, Credentials, Region, retry::RetryConfig};
use aws_sdk_sqs::types::{DeleteMessageBatchRequestEntry, MessageSystemAttributeName};
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use shelfsync_shopify::Clock;
use shelfsync_store::{Recorded, ShopifyTime, WebhookEvent};
use tokio_util::sync::CancellationToken;

use crate::Secret;
use crate::credentials::{CredentialError, Keychain, SecretKind, StoreKey};
use crate::events::{EngineEvent, Events};
use crate::intake::{InboxWriter, IntakePath, IntakeStats, Outcome, Refusal};

mod http;

/// The HTTP client the relay gives the SQS SDK (`reqwest`, native TLS), for other SQS
/// clients that should share its transport.
pub fn http_client() -> Result<aws_smithy_runtime_api::client::http::SharedHttpClient, RelayError> {
    let http = http::ReqwestHttp::new()
        .map_err(|e| RelayError::Unreachable(format!("no HTTP client: {e}")))?;
    Ok(aws_smithy_runtime_api::client::http::SharedHttpClient::new(
        http,
    ))
}

/// Waits between polls of an unreachable relay, as data: the n-th failure in a row waits
/// `steps[n-1]`, and every later one the last step.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetrySchedule {
    pub steps: Vec<Duration>,
}

impl Default for RetrySchedule {
    fn default() -> Self {
        Self {
            steps: [1, 2, 5, 15, 30, 60, 120, 300]
                .into_iter()
                .map(Duration::from_secs)
                .collect(),
        }
    }
}

impl RetrySchedule {
    /// The wait after `failures` failed polls in a row (1-based).
    pub fn delay(&self, failures: u32) -> Duration {
        let index = (failures.max(1) as usize - 1).min(self.steps.len().saturating_sub(1));
        self.steps
            .get(index)
            .copied()
            .unwrap_or(Duration::from_secs(1))
    }
}

/// Where the relay queue is and how to poll it.
#[derive(Debug, Clone)]
pub struct RelaySettings {
    /// `https://sqs.<region>.amazonaws.com/<account>/<queue>`.
    pub queue_url: String,
    pub region: String,
    /// Another SQS endpoint (a local one in tests); `None` uses Amazon's for the region.
    pub endpoint_url: Option<String>,
    /// Long-poll length (SQS allows 0–20 s).
    pub wait_time: Duration,
    /// Messages per receive (1–10).
    pub max_messages: i32,
    /// How long a malformed message stays hidden before its next receive.
    pub malformed_hold: Duration,
    /// Waits between failed polls.
    pub retry: RetrySchedule,
    /// Time for a poll beyond its long wait before it counts as failed.
    pub request_timeout: Duration,
}

impl RelaySettings {
    pub fn new(queue_url: impl Into<String>, region: impl Into<String>) -> Self {
        Self {
            queue_url: queue_url.into(),
            region: region.into(),
            endpoint_url: None,
            wait_time: Duration::from_secs(20),
            max_messages: 10,
            malformed_hold: Duration::from_secs(600),
            retry: RetrySchedule::default(),
            request_timeout: Duration::from_secs(15),
        }
    }
}

/// The AWS access key the relay reads the queue with. Lives in the OS keychain; the secret
/// half is a [`Secret`] and never printed.
#[derive(Debug, Clone)]
pub struct RelayCredentials {
    pub access_key_id: String,
    pub secret_access_key: Secret,
}

impl RelayCredentials {
    /// Reads both halves from the keychain.
    pub async fn load(keychain: &Keychain, store: &StoreKey) -> Result<Self, CredentialError> {
        let id = keychain.get(store, SecretKind::RelayAccessKeyId).await?;
        let secret = keychain
            .get(store, SecretKind::RelaySecretAccessKey)
            .await?;
        Ok(Self {
            access_key_id: id.expose().to_owned(),
            secret_access_key: secret,
        })
    }

    /// Saves both halves to the keychain.
    pub async fn save(&self, keychain: &Keychain, store: &StoreKey) -> Result<(), CredentialError> {
        keychain
            .set(
                store,
                SecretKind::RelayAccessKeyId,
                &Secret::new(self.access_key_id.clone()),
            )
            .await?;
        keychain
            .set(
                store,
                SecretKind::RelaySecretAccessKey,
                &self.secret_access_key,
            )
            .await
    }
}

/// Whether the relay queue can be read, as published in [`EngineEvent::Relay`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum RelayState {
    /// A poll worked (again).
    Reachable,
    /// Polls fail; the next try is in `retry_in_ms`.
    Unreachable {
        error: String,
        failures: u32,
        retry_in_ms: u64,
    },
}

#[derive(Debug, thiserror::Error)]
pub enum RelayError {
    #[error("The relay queue cannot be reached: {0}")]
    Unreachable(String),
    #[error("The relay's event could not be saved: {0}")]
    Store(String),
}

/// Why a message is not a Shopify event.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("malformed relay message: {0}")]
pub struct Malformed(pub String);

/// A message as received, before it is decoded.
#[derive(Debug, Clone)]
pub struct Received {
    pub message_id: String,
    pub receipt_handle: String,
    pub body: String,
    /// SQS's `ApproximateReceiveCount`: 1 on the first receive.
    pub receive_count: u32,
}

/// What became of one message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Handled {
    /// Committed (new or duplicate) and deleted from the queue.
    Stored(Recorded),
    /// Not a Shopify event: kept out of the inbox, left in the queue.
    Malformed(Malformed),
}

/// The relay's health. Its events, duplicates and malformed messages are counted with the
/// listener's, in [`IntakeStats`] under [`IntakePath::Relay`].
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RelayHealth {
    /// Polls that failed.
    pub failed_polls: u64,
    /// What the last poll found; `None` before the first one ends.
    pub state: Option<RelayState>,
}

/// Why a malformed message is counted as refused (the detail goes to the log).
const NOT_A_SHOPIFY_EVENT: &str = "not a Shopify EventBridge event";

/// A consumer of the relay queue.
#[derive(Clone)]
pub struct Relay {
    client: aws_sdk_sqs::Client,
    settings: RelaySettings,
    inbox: InboxWriter,
    stats: IntakeStats,
    events: Events,
    clock: Clock,
    health: Arc<Mutex<RelayHealth>>,
}

impl std::fmt::Debug for Relay {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Relay")
            .field("queue_url", &self.settings.queue_url)
            .field("region", &self.settings.region)
            .finish_non_exhaustive()
    }
}

impl Relay {
    /// A consumer that commits through `inbox` (the one the listener uses) and counts in
    /// `stats`; [`EngineEvent::Relay`] goes to `events`.
    pub fn new(
        settings: RelaySettings,
        credentials: &RelayCredentials,
        inbox: InboxWriter,
        stats: IntakeStats,
        events: Events,
    ) -> Result<Self, RelayError> {
        Self::with_clock(settings, credentials, inbox, stats, events, Clock::real())
    }

    /// With an injected clock for the waits between failed polls.
    pub fn with_clock(
        settings: RelaySettings,
        credentials: &RelayCredentials,
        inbox: InboxWriter,
        stats: IntakeStats,
        events: Events,
        clock: Clock,
    ) -> Result<Self, RelayError> {
        let http = http::ReqwestHttp::new()
            .map_err(|e| RelayError::Unreachable(format!("no HTTP client: {e}")))?;
        let keys = Credentials::new(
            credentials.access_key_id.clone(),
            credentials.secret_access_key.expose().to_owned(),
            None,
            None,
            "shelfsync-keychain",
        );
        let mut config = aws_sdk_sqs::Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new(settings.region.clone()))
            .credentials_provider(keys)
            .retry_config(RetryConfig::disabled())
            .http_client(http.with_timeout(settings.wait_time + settings.request_timeout));
        if let Some(url) = &settings.endpoint_url {
            config = config.endpoint_url(url.clone());
        }
        Ok(Self {
            client: aws_sdk_sqs::Client::from_conf(config.build()),
            settings,
            inbox,
            stats,
            events,
            clock,
            health: Arc::new(Mutex::new(RelayHealth::default())),
        })
    }

    pub fn settings(&self) -> &RelaySettings {
        &self.settings
    }

    pub fn health(&self) -> RelayHealth {
        self.lock().clone()
    }

    /// One long poll: the messages that arrived (possibly none after the wait).
    pub async fn receive(&self) -> Result<Vec<Received>, RelayError> {
        let answer = self
            .client
            .receive_message()
            .queue_url(&self.settings.queue_url)
            .wait_time_seconds(self.settings.wait_time.as_secs().min(20) as i32)
            .max_number_of_messages(self.settings.max_messages.clamp(1, 10))
            .message_system_attribute_names(MessageSystemAttributeName::ApproximateReceiveCount)
            .send()
            .await
            .map_err(|e| RelayError::Unreachable(describe(&e)))?;
        Ok(answer
            .messages
            .unwrap_or_default()
            .into_iter()
            .filter_map(|m| {
                let receive_count = m
                    .attributes()
                    .and_then(|a| a.get(&MessageSystemAttributeName::ApproximateReceiveCount))
                    .and_then(|n| n.parse().ok())
                    .unwrap_or(1);
                Some(Received {
                    message_id: m.message_id?,
                    receipt_handle: m.receipt_handle?,
                    body: m.body.unwrap_or_default(),
                    receive_count,
                })
            })
            .collect())
    }

    /// Decodes, commits and then deletes one message; a malformed one is left in the queue.
    pub async fn handle(&self, message: &Received) -> Result<Handled, RelayError> {
        let handled = self.commit(message).await?;
        if matches!(handled, Handled::Stored(_)) {
            self.acknowledge(message).await?;
        }
        Ok(handled)
    }

    /// Decodes and commits one message without deleting it; a malformed one is held in the
    /// queue for its redrive policy.
    async fn commit(&self, message: &Received) -> Result<Handled, RelayError> {
        let event = match decode(&message.body) {
            Ok(event) => event,
            Err(malformed) => {
                tracing::warn!(
                    message_id = %message.message_id,
                    receives = message.receive_count,
                    reason = %malformed.0,
                    "relay message is not a Shopify event; left for the queue's redrive policy"
                );
                self.stats.record(
                    IntakePath::Relay,
                    Outcome::Refused(Refusal::Malformed(NOT_A_SHOPIFY_EVENT)),
                );
                self.hold(message).await;
                return Ok(Handled::Malformed(malformed));
            }
        };
        let recorded = match self.inbox.commit(event).await {
            Ok(recorded) => recorded,
            Err(error) => {
                // Not deleted: the message comes back after its visibility timeout.
                self.stats.record(IntakePath::Relay, Outcome::StoreFailed);
                return Err(RelayError::Store(error));
            }
        };
        self.stats.record(
            IntakePath::Relay,
            match recorded {
                Recorded::New(_) => Outcome::Accepted,
                Recorded::Duplicate(_) => Outcome::Duplicate,
            },
        );
        Ok(Handled::Stored(recorded))
    }

    /// Deletes a message from the queue. Call only after its event is committed.
    pub async fn acknowledge(&self, message: &Received) -> Result<(), RelayError> {
        self.client
            .delete_message()
            .queue_url(&self.settings.queue_url)
            .receipt_handle(&message.receipt_handle)
            .send()
            .await
            .map_err(|e| RelayError::Unreachable(describe(&e)))?;
        Ok(())
    }

    /// Deletes committed messages in one request (SQS takes up to ten, as many as one
    /// receive hands out). One that is not deleted comes back after its visibility timeout
    /// and is then a duplicate, a no-op.
    pub async fn acknowledge_all(&self, messages: &[&Received]) -> Result<(), RelayError> {
        match messages {
            [] => return Ok(()),
            [one] => return self.acknowledge(one).await,
            _ => {}
        }
        let entries = messages
            .iter()
            .enumerate()
            .map(|(i, m)| {
                DeleteMessageBatchRequestEntry::builder()
                    .id(i.to_string())
                    .receipt_handle(&m.receipt_handle)
                    .build()
            })
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| RelayError::Unreachable(e.to_string()))?;
        let answer = self
            .client
            .delete_message_batch()
            .queue_url(&self.settings.queue_url)
            .set_entries(Some(entries))
            .send()
            .await
            .map_err(|e| RelayError::Unreachable(describe(&e)))?;
        for failed in answer.failed() {
            tracing::warn!(
                code = failed.code(),
                message = failed.message().unwrap_or_default(),
                "a relayed message was not deleted; it comes back later as a duplicate"
            );
        }
        Ok(())
    }

    /// Receives once, commits every message, then deletes the committed ones together.
    /// Returns what became of each.
    pub async fn poll_once(&self) -> Result<Vec<Handled>, RelayError> {
        let messages = self.receive().await?;
        let mut handled = Vec::with_capacity(messages.len());
        let mut committed = Vec::with_capacity(messages.len());
        let mut failure = None;
        for message in &messages {
            match self.commit(message).await {
                Ok(outcome) => {
                    if matches!(outcome, Handled::Stored(_)) {
                        committed.push(message);
                    }
                    handled.push(outcome);
                }
                Err(err) => {
                    failure = Some(err);
                    break;
                }
            }
        }
        // What was committed is durable: delete it even when a later commit failed.
        self.acknowledge_all(&committed).await?;
        match failure {
            Some(err) => Err(err),
            None => Ok(handled),
        }
    }

    /// Polls until `stop` is cancelled, backing off while the relay is unreachable.
    pub async fn run(&self, stop: CancellationToken) {
        self.run_until_drained(stop, None).await
    }

    /// [`Relay::run`], telling `drained` once the backlog is consumed: the first poll that
    /// finds the queue empty, or fails (an unreachable queue has no backlog to wait for).
    pub async fn run_until_drained(
        &self,
        stop: CancellationToken,
        mut drained: Option<tokio::sync::oneshot::Sender<()>>,
    ) {
        let mut failures: u32 = 0;
        loop {
            let result = tokio::select! {
                () = stop.cancelled() => return,
                result = self.poll_once() => result,
            };
            if !matches!(&result, Ok(handled) if !handled.is_empty())
                && let Some(tx) = drained.take()
            {
                let _ = tx.send(());
            }
            match result {
                Ok(_) => {
                    self.lock().state = Some(RelayState::Reachable);
                    if failures > 0 {
                        tracing::info!(after = failures, "relay reachable again");
                        self.events.publish(EngineEvent::Relay {
                            relay: RelayState::Reachable,
                        });
                    }
                    failures = 0;
                }
                Err(error) => {
                    failures = failures.saturating_add(1);
                    let wait = self.settings.retry.delay(failures);
                    tracing::warn!(%error, failures, retry_in_ms = wait.as_millis() as u64, "relay poll failed");
                    let state = RelayState::Unreachable {
                        error: error.to_string(),
                        failures,
                        retry_in_ms: wait.as_millis() as u64,
                    };
                    {
                        let mut health = self.lock();
                        health.failed_polls += 1;
                        health.state = Some(state.clone());
                    }
                    self.events.publish(EngineEvent::Relay { relay: state });
                    tokio::select! {
                        () = stop.cancelled() => return,
                        () = self.clock.sleep(wait) => {}
                    }
                }
            }
        }
    }

    /// Hides a malformed message for `malformed_hold`, so the queue's redrive policy, not a
    /// tight loop, decides its fate.
    async fn hold(&self, message: &Received) {
        let hold = self.settings.malformed_hold.as_secs().min(43_200) as i32;
        if let Err(e) = self
            .client
            .change_message_visibility()
            .queue_url(&self.settings.queue_url)
            .receipt_handle(&message.receipt_handle)
            .visibility_timeout(hold)
            .send()
            .await
        {
            tracing::warn!(message_id = %message.message_id, error = %describe(&e), "could not hold a malformed relay message");
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, RelayHealth> {
        self.health.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// An SDK error in one line: the service's code and message when there is one.
fn describe<E, R>(error: &aws_sdk_sqs::error::SdkError<E, R>) -> String
where
    E: aws_sdk_sqs::error::ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug,
{
    use aws_sdk_sqs::error::SdkError;
    match error {
        SdkError::ServiceError(service) => {
            let e = service.err();
            match (e.code(), e.message()) {
                (Some(code), Some(message)) => format!("{code}: {message}"),
                (Some(code), None) => code.to_owned(),
                _ => e.to_string(),
            }
        }
        other => {
            let mut text = other.to_string();
            let mut source = std::error::Error::source(other);
            while let Some(s) = source {
                text.push_str(": ");
                text.push_str(&s.to_string());
                source = s.source();
            }
            text
        }
    }
}

#[derive(Deserialize)]
struct Envelope<'a> {
    #[serde(rename = "detail-type")]
    detail_type: String,
    source: String,
    #[serde(borrow)]
    detail: Detail<'a>,
}

#[derive(Deserialize)]
struct Detail<'a> {
    #[serde(borrow)]
    payload: &'a RawValue,
    metadata: serde_json::Map<String, serde_json::Value>,
}

/// The store event inside one SQS message body (an EventBridge envelope).
pub fn decode(body: &str) -> Result<WebhookEvent, Malformed> {
    let envelope: Envelope<'_> = serde_json::from_str(body).map_err(|e| {
        Malformed(format!(
            "not an EventBridge event with detail.payload and detail.metadata: {e}"
        ))
    })?;
    if envelope.detail_type != "shopifyWebhook" {
        return Err(Malformed(format!(
            "detail-type is {:?}, not \"shopifyWebhook\"",
            envelope.detail_type
        )));
    }
    if !envelope.source.starts_with("aws.partner/shopify.com/") {
        return Err(Malformed(format!(
            "source {:?} is not a Shopify partner event source",
            envelope.source
        )));
    }
    let payload = envelope.detail.payload.get();
    if !payload.trim_start().starts_with('{') {
        return Err(Malformed("detail.payload is not a JSON object".into()));
    }
    let metadata = &envelope.detail.metadata;
    // Header names are case-insensitive (Shopify spells Hmac-SHA256 and Hmac-Sha256).
    let header = |name: &str| {
        metadata
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .and_then(|(_, v)| v.as_str())
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .map(str::to_owned)
    };
    let topic = header("X-Shopify-Topic")
        .ok_or_else(|| Malformed("detail.metadata has no X-Shopify-Topic".into()))?;
    let shop_domain = header("X-Shopify-Shop-Domain")
        .ok_or_else(|| Malformed("detail.metadata has no X-Shopify-Shop-Domain".into()))?;
    let webhook_id = header("X-Shopify-Webhook-Id");
    let event_id = header("X-Shopify-Event-Id")
        .or_else(|| webhook_id.clone())
        .ok_or_else(|| {
            Malformed(
                "detail.metadata has neither X-Shopify-Event-Id nor X-Shopify-Webhook-Id".into(),
            )
        })?;
    let triggered_at = header("X-Shopify-Triggered-At")
        .map(|text| {
            ShopifyTime::parse(text.clone())
                .map_err(|_| Malformed(format!("X-Shopify-Triggered-At {text:?} is not RFC 3339")))
        })
        .transpose()?;
    Ok(WebhookEvent {
        event_id,
        webhook_id,
        topic,
        shop_domain,
        triggered_at,
        body: payload.as_bytes().to_vec(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// FACTS §8's envelope, with an id above 2^53 and a timestamp with an offset.
    const ENVELOPE: &str = r#"{"version":"0","id":"5e2b","detail-type":"shopifyWebhook",
        "source":"aws.partner/shopify.com/347082227713/shelfsync","time":"2026-05-11T15:06:59Z",
        "region":"us-east-2","resources":[],
        "detail":{"payload":{"inventory_item_id":271878346596884015,"location_id":24826418,
            "available":10,"updated_at":"2021-12-31T19:00:00-05:00"},
          "metadata":{"Content-Type":"application/json","X-Shopify-Topic":"inventory_levels/update",
            "X-Shopify-Shop-Domain":"s.myshopify.com","X-Shopify-Hmac-SHA256":"x",
            "X-Shopify-Webhook-Id":"f267a21b-0000","X-Shopify-API-Version":"2026-07",
            "X-Shopify-Event-Id":"a2533945-0000","X-Shopify-Triggered-At":"2026-05-11T15:06:59.110521905Z"}}}"#;

    #[test]
    fn decodes_the_envelope_without_an_account_and_keeps_the_payload_text() {
        let event = decode(ENVELOPE).unwrap();
        assert_eq!(event.event_id, "a2533945-0000");
        assert_eq!(event.webhook_id.as_deref(), Some("f267a21b-0000"));
        assert_eq!(event.topic, "inventory_levels/update");
        assert_eq!(event.shop_domain, "s.myshopify.com");
        let body = String::from_utf8(event.body).unwrap();
        assert!(body.contains("271878346596884015"), "{body}");
        assert!(body.contains("2021-12-31T19:00:00-05:00"), "{body}");
        assert_eq!(
            event.triggered_at.unwrap().as_str(),
            "2026-05-11T15:06:59.110521905Z"
        );
    }

    #[test]
    fn falls_back_to_the_webhook_id_only_without_an_event_id() {
        let body = ENVELOPE.replace("\"X-Shopify-Event-Id\":\"a2533945-0000\",", "");
        assert_eq!(decode(&body).unwrap().event_id, "f267a21b-0000");
    }

    #[test]
    fn refuses_what_is_not_a_shopify_event() {
        for bad in [
            "not json".to_owned(),
            ENVELOPE.replace("shopifyWebhook", "Scheduled Event"),
            ENVELOPE.replace("aws.partner/shopify.com", "aws.partner/other.com"),
            ENVELOPE.replace("\"X-Shopify-Topic\":\"inventory_levels/update\",", ""),
            ENVELOPE.replace("2026-05-11T15:06:59.110521905Z", "yesterday"),
            r#"{"detail-type":"shopifyWebhook","source":"aws.partner/shopify.com/1/s","detail":{"payload":"{}","metadata":{}}}"#.to_owned(),
        ] {
            assert!(decode(&bad).is_err(), "accepted {bad}");
        }
    }

    #[test]
    fn the_retry_schedule_ends_on_its_last_step() {
        let s = RetrySchedule {
            steps: vec![Duration::from_millis(10), Duration::from_millis(40)],
        };
        assert_eq!(s.delay(1), Duration::from_millis(10));
        assert_eq!(s.delay(2), Duration::from_millis(40));
        assert_eq!(s.delay(9), Duration::from_millis(40));
    }
}
