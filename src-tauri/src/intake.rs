//! Webhook intake in the app: the owner's webhook settings turned into the engine's
//! [`IntakeConfig`], intake's state and events in the shapes the UI shows, and which of them
//! deserve a desktop notification.
//!
//! The engine does the work (listener, relay, subscriptions); this module only translates.
//! What a person must act on (a subscription Shopify removed, a relay that cannot be read)
//! becomes a [`Notice`]; what resolves itself (a subscription restored, the relay answering
//! again) is shown on the dashboard and never notified, so a flapping tunnel does not keep
//! interrupting the owner.

use crate::commands::SecretInput;
use crate::error::{ErrorCode, UiError};
use crate::settings::{NoticeKind, WebhookField, WebhookSettings};
use serde::{Deserialize, Serialize};
use shelfsync_engine::intake::{TestDelivery, TestWebhookReport};
use shelfsync_engine::{
    IntakeConfig, IntakeError, IntakeEvent, IntakePath, IntakeStatus, RelaySettings, RelayState,
    Secret,
};
use ts_rs::TS;

/// The keys typed on the Webhooks settings. Each goes straight to the keychain; an absent or
/// empty one keeps what is saved.
#[derive(Debug, Default, Deserialize, TS)]
#[serde(rename_all = "camelCase", default)]
pub struct WebhookSecrets {
    /// The app's API secret key (`shpss_…`) that signs an admin-token store's webhooks.
    pub signing_secret: Option<SecretInput>,
    pub relay_access_key_id: Option<String>,
    pub relay_secret_access_key: Option<SecretInput>,
}

impl WebhookSecrets {
    /// The signing key, if one was typed.
    pub fn signing_secret(&self) -> Option<Secret> {
        self.signing_secret.as_ref().and_then(SecretInput::secret)
    }

    /// The relay's AWS key, if one was typed: both halves, or a problem when only one is.
    pub fn relay_key(&self) -> Result<Option<(String, Secret)>, UiError> {
        let id = self
            .relay_access_key_id
            .as_deref()
            .map(str::trim)
            .filter(|id| !id.is_empty());
        let secret = self
            .relay_secret_access_key
            .as_ref()
            .and_then(SecretInput::secret);
        match (id, secret) {
            (Some(id), Some(secret)) => Ok(Some((id.to_owned(), secret))),
            (None, None) => Ok(None),
            _ => Err(field_error(
                ErrorCode::InvalidInput,
                WebhookField::RelayAccessKey,
                "Enter both the access key id and the secret access key: they are saved together.",
            )),
        }
    }
}

/// What the Webhooks settings show: the settings, which keys are saved (never the keys), and
/// whether intake runs.
#[derive(Debug, Clone, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct WebhookSettingsView {
    pub settings: WebhookSettings,
    /// A signing key is in the keychain for the connected store.
    pub signing_secret_saved: bool,
    /// The relay's AWS access key is in the keychain for the connected store.
    pub relay_key_saved: bool,
    /// The connected store signs in with an admin token, so the signing key is needed.
    pub needs_signing_secret: bool,
    /// The listener's address while it runs (`127.0.0.1:8787`).
    pub listening_on: Option<String>,
    /// The relay's queue while it is read.
    pub relay_queue: Option<String>,
    /// Why intake did not start the last time it was tried, if it did not.
    pub problem: Option<UiError>,
    /// The demo store runs its own intake behind a simulated tunnel; these settings are for
    /// the owner's store.
    pub demo: bool,
}

/// The engine's intake configuration for these settings, or `None` when intake is off.
/// `signing_secret` is the admin-token store's key from the keychain (a client-credentials
/// store's client secret is found by the engine itself).
pub fn intake_config(w: &WebhookSettings, signing_secret: Option<Secret>) -> Option<IntakeConfig> {
    let w = w.normalized();
    if !w.enabled() {
        return None;
    }
    let relay = match (&w.relay_queue_url, w.region()) {
        (Some(queue), Some(region)) => Some(RelaySettings {
            // A queue outside AWS (a LocalStack or moto endpoint) is reached at its own host.
            endpoint_url: (!queue.contains(".amazonaws.com"))
                .then(|| endpoint_of(queue))
                .flatten(),
            ..RelaySettings::new(queue.clone(), region)
        }),
        _ => None,
    };
    Some(IntakeConfig {
        port: w.port,
        listen: w.listen,
        public_url: w.public_url.clone(),
        signing_secrets: signing_secret.into_iter().collect(),
        relay_event_source: relay.as_ref().and(w.relay_event_source.clone()),
        relay,
        ..IntakeConfig::default()
    })
}

/// `http://127.0.0.1:5000` from `http://127.0.0.1:5000/123456789012/shop-events`.
fn endpoint_of(queue_url: &str) -> Option<String> {
    let (scheme, rest) = queue_url.split_once("://")?;
    let host = rest.split('/').next().filter(|h| !h.is_empty())?;
    Some(format!("{scheme}://{host}"))
}

pub fn field_error(code: ErrorCode, field: WebhookField, message: impl Into<String>) -> UiError {
    UiError {
        field: Some(field.as_str().to_owned()),
        ..UiError::new(code, message)
    }
}

/// Why intake did not start, at the field that can fix it.
pub fn intake_error(err: IntakeError) -> UiError {
    use WebhookField as F;
    let err = match err {
        IntakeError::Engine(engine) => return UiError::from(engine),
        other => other,
    };
    let field = match &err {
        IntakeError::Engine(_) => None,
        IntakeError::NoSigningSecret => Some(F::SigningSecret),
        IntakeError::Bind { .. } => Some(F::Port),
        IntakeError::NotHttps { .. } => Some(F::PublicUrl),
        IntakeError::NothingToRun | IntakeError::TunnelWithoutListener => Some(F::Listen),
        IntakeError::NoRelayCredentials { .. } => Some(F::RelayAccessKey),
        IntakeError::NotAnEventSource { .. } => Some(F::RelayEventSource),
        IntakeError::Relay(_) => Some(F::RelayQueueUrl),
        IntakeError::NotRunning => Some(F::Listen),
        IntakeError::NoTestAddress => Some(F::PublicUrl),
    };
    let code = match &err {
        IntakeError::NoRelayCredentials { .. } => ErrorCode::Keychain,
        IntakeError::Relay(_) => ErrorCode::StoreUnreachable,
        _ => ErrorCode::InvalidInput,
    };
    UiError {
        field: field.map(|f| f.as_str().to_owned()),
        ..UiError::new(code, err.to_string())
    }
}

/// A desktop notification to offer to the coalescer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notice {
    pub kind: NoticeKind,
    pub title: String,
    pub body: String,
}

/// The notification an intake event deserves: only a lost subscription.
pub fn intake_notice(event: &IntakeEvent) -> Option<Notice> {
    match event {
        IntakeEvent::SubscriptionLost { topic, .. } => Some(Notice {
            kind: NoticeKind::SubscriptionLost,
            title: "A webhook subscription was lost".into(),
            body: format!(
                "Shopify removed the {} subscription after failed deliveries. Shelfsync is \
                 creating it again and checking the store for what was missed.",
                topic_text(topic)
            ),
        }),
        IntakeEvent::Stats { .. }
        | IntakeEvent::SubscriptionRegistered { .. }
        | IntakeEvent::SubscriptionRestored { .. } => None,
    }
}

/// The notification a relay state deserves: the first failed poll of a run of failures, not
/// every retry after it, and never the recovery.
pub fn relay_notice(state: &RelayState) -> Option<Notice> {
    match state {
        RelayState::Unreachable {
            error, failures: 1, ..
        } => Some(Notice {
            kind: NoticeKind::RelayUnreachable,
            title: "The cloud relay is unreachable".into(),
            body: format!("{error} Events wait in the queue until Shelfsync can read it again."),
        }),
        RelayState::Unreachable { .. } | RelayState::Reachable => None,
    }
}

/// How long "Send test webhook" waits for its events to reach the inbox: a tunnel answers in
/// well under a second, the relay's queue is read in long polls of up to 20 s.
pub const TEST_WEBHOOK_WAIT: std::time::Duration = std::time::Duration::from_secs(25);

fn path_name(path: IntakePath) -> &'static str {
    match path {
        IntakePath::Listener => "listener",
        IntakePath::Relay => "relay",
    }
}

/// What happened to the test event sent through one intake path.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct TestDeliveryView {
    /// `listener` or `relay`.
    pub path: String,
    /// The tunnel's public URL or the EventBridge event source it was sent to.
    pub address: String,
    /// Whether a test event could be sent at all.
    pub sent: bool,
    /// Whether it reached the inbox in time.
    pub arrived: bool,
    /// From sending to its commit in the inbox.
    #[ts(type = "number | null")]
    pub after_ms: Option<u64>,
    /// What went wrong or what to do, in plain words.
    pub detail: Option<String>,
}

/// One test delivery per intake path with an address.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct TestWebhookReportView {
    pub deliveries: Vec<TestDeliveryView>,
}

impl From<TestWebhookReport> for TestWebhookReportView {
    fn from(r: TestWebhookReport) -> Self {
        Self {
            deliveries: r
                .deliveries
                .into_iter()
                .map(|d: TestDelivery| TestDeliveryView {
                    path: path_name(d.path).into(),
                    address: d.address,
                    sent: d.sent,
                    arrived: d.arrived,
                    after_ms: d.after_ms,
                    detail: d.detail,
                })
                .collect(),
        }
    }
}

/// `INVENTORY_LEVELS_UPDATE` → `inventory levels update`.
pub fn topic_text(topic: &str) -> String {
    topic.to_ascii_lowercase().replace('_', " ")
}

/// Counters of one intake path, as the dashboard shows them.
#[derive(Debug, Clone, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct PathView {
    /// `listener` or `relay`.
    pub path: String,
    #[ts(type = "number")]
    pub accepted: u64,
    #[ts(type = "number")]
    pub duplicates: u64,
    /// Refused with 401: the signature did not match.
    #[ts(type = "number")]
    pub refused_forged: u64,
    /// Refused with 400: a header missing, an empty body, another shop.
    #[ts(type = "number")]
    pub refused_malformed: u64,
    /// Refused with 413: too large.
    #[ts(type = "number")]
    pub refused_oversized: u64,
    /// When the last event arrived (RFC 3339).
    pub last_event_at: Option<String>,
}

impl From<shelfsync_engine::intake::PathStats> for PathView {
    fn from(s: shelfsync_engine::intake::PathStats) -> Self {
        Self {
            path: path_name(s.path).into(),
            accepted: s.accepted,
            duplicates: s.duplicates,
            refused_forged: s.refused_forged,
            refused_malformed: s.refused_malformed,
            refused_oversized: s.refused_oversized,
            last_event_at: s.last_event_at.map(crate::views::rfc3339),
        }
    }
}

#[derive(Debug, Clone, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct SubscriptionView {
    /// `INVENTORY_LEVELS_UPDATE`, …
    pub topic: String,
    pub uri: String,
    /// Shopify listed it at the last check.
    pub present: bool,
    /// How many times it was lost and created again.
    pub restored: u32,
}

#[derive(Debug, Clone, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct RelayView {
    pub queue_url: String,
    pub region: String,
    /// `None` until the first poll ends.
    pub reachable: Option<bool>,
    pub error: Option<String>,
}

#[derive(Debug, Clone, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct IntakeView {
    /// The listener's address while it runs.
    pub listening_on: Option<String>,
    pub public_url: Option<String>,
    pub relay: Option<RelayView>,
    pub paths: Vec<PathView>,
    pub subscriptions: Vec<SubscriptionView>,
}

impl From<IntakeStatus> for IntakeView {
    fn from(s: IntakeStatus) -> Self {
        Self {
            listening_on: s.listening_on,
            public_url: s.public_url,
            relay: s.relay.map(|r| {
                let (reachable, error) = match r.health.state {
                    Some(RelayState::Reachable) => (Some(true), None),
                    Some(RelayState::Unreachable { error, .. }) => (Some(false), Some(error)),
                    None => (None, None),
                };
                RelayView {
                    queue_url: r.queue_url,
                    region: r.region,
                    reachable,
                    error,
                }
            }),
            paths: s.paths.into_iter().map(PathView::from).collect(),
            subscriptions: s
                .subscriptions
                .into_iter()
                .map(|h| SubscriptionView {
                    topic: h.topic,
                    uri: h.uri,
                    present: h.present,
                    restored: u32::try_from(h.restored).unwrap_or(u32::MAX),
                })
                .collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lost() -> IntakeEvent {
        IntakeEvent::SubscriptionLost {
            topic: "INVENTORY_LEVELS_UPDATE".into(),
            uri: "https://abc.ngrok.app/webhooks".into(),
        }
    }

    #[test]
    fn a_lost_subscription_is_notified_and_a_restored_one_is_not() {
        let notice = intake_notice(&lost()).unwrap();
        assert_eq!(notice.kind, NoticeKind::SubscriptionLost);
        assert!(
            notice.body.contains("inventory levels update"),
            "{}",
            notice.body
        );
        assert_eq!(
            intake_notice(&IntakeEvent::SubscriptionRestored {
                topic: "INVENTORY_LEVELS_UPDATE".into(),
                uri: "https://abc.ngrok.app/webhooks".into(),
            }),
            None
        );
        assert_eq!(
            intake_notice(&IntakeEvent::SubscriptionRegistered {
                topic: "PRODUCTS_UPDATE".into(),
                uri: "https://abc.ngrok.app/webhooks".into(),
            }),
            None
        );
    }

    #[test]
    fn the_relay_is_notified_once_per_outage_and_not_on_recovery() {
        let failing = |failures| RelayState::Unreachable {
            error: "The relay queue cannot be reached: connection refused".into(),
            failures,
            retry_in_ms: 2000,
        };
        let first = relay_notice(&failing(1)).unwrap();
        assert_eq!(first.kind, NoticeKind::RelayUnreachable);
        assert!(first.body.contains("connection refused"), "{}", first.body);
        assert_eq!(relay_notice(&failing(2)), None, "retries of one outage");
        assert_eq!(relay_notice(&RelayState::Reachable), None);
    }

    #[test]
    fn each_notice_kind_can_be_switched_off() {
        let settings = crate::settings::Settings {
            notify_subscription_lost: false,
            ..Default::default()
        };
        let kind = intake_notice(&lost()).unwrap().kind;
        assert!(!settings.wants(kind));
        assert!(settings.wants(NoticeKind::RelayUnreachable));
    }

    #[test]
    fn settings_become_the_engines_intake_configuration() {
        assert!(intake_config(&WebhookSettings::default(), None).is_none());
        let tunnel = WebhookSettings {
            listen: true,
            port: 9100,
            public_url: Some(" https://abc.ngrok.app/webhooks ".into()),
            ..WebhookSettings::default()
        };
        let config = intake_config(&tunnel, Some(Secret::new("shpss_x"))).unwrap();
        assert!(config.listen);
        assert_eq!(config.port, 9100);
        assert_eq!(
            config.public_url.as_deref(),
            Some("https://abc.ngrok.app/webhooks")
        );
        assert_eq!(config.signing_secrets.len(), 1);
        assert!(config.relay.is_none());

        let relay = WebhookSettings {
            listen: false,
            relay_queue_url: Some("https://sqs.eu-west-1.amazonaws.com/1234/shop".into()),
            relay_event_source: Some("arn:aws:events:eu-west-1::event-source/x".into()),
            ..WebhookSettings::default()
        };
        let config = intake_config(&relay, None).unwrap();
        assert!(!config.listen);
        let settings = config.relay.unwrap();
        assert_eq!(settings.region, "eu-west-1");
        assert_eq!(settings.endpoint_url, None, "Amazon's own endpoint");
        assert!(config.relay_event_source.is_some());

        let local = WebhookSettings {
            relay_queue_url: Some("http://127.0.0.1:5000/123456789012/shop".into()),
            relay_region: Some("us-east-1".into()),
            ..relay
        };
        let settings = intake_config(&local, None).unwrap().relay.unwrap();
        assert_eq!(
            settings.endpoint_url.as_deref(),
            Some("http://127.0.0.1:5000")
        );
    }

    #[test]
    fn start_errors_point_at_the_field_that_fixes_them() {
        let e = intake_error(IntakeError::Bind {
            port: 8787,
            detail: "address in use".into(),
        });
        assert_eq!(e.field.as_deref(), Some("port"));
        assert!(e.message.contains("Choose another port"), "{}", e.message);
        let e = intake_error(IntakeError::NoSigningSecret);
        assert_eq!(e.field.as_deref(), Some("signingSecret"));
        assert!(e.message.contains("shpss_"), "{}", e.message);
        let e = intake_error(IntakeError::NoRelayCredentials {
            detail: "missing".into(),
        });
        assert_eq!(e.field.as_deref(), Some("relayAccessKey"));
        assert_eq!(e.code, ErrorCode::Keychain);
        let e = intake_error(IntakeError::Engine(
            shelfsync_engine::EngineError::NotConnected,
        ));
        assert_eq!(e.code, ErrorCode::NotConnected);
        assert_eq!(e.field, None);
    }

    #[test]
    fn a_test_webhook_report_names_each_path_and_what_happened() {
        let report = TestWebhookReport {
            deliveries: vec![
                TestDelivery {
                    path: IntakePath::Listener,
                    address: "https://abc.ngrok.app/webhooks".into(),
                    sent: true,
                    arrived: true,
                    after_ms: Some(140),
                    detail: None,
                },
                TestDelivery {
                    path: IntakePath::Relay,
                    address: "arn:aws:events:us-east-2::event-source/x".into(),
                    sent: false,
                    arrived: false,
                    after_ms: None,
                    detail: Some("Only Shopify can put events on the EventBridge bus.".into()),
                },
            ],
        };
        let json = serde_json::to_value(TestWebhookReportView::from(report)).unwrap();
        assert_eq!(json["deliveries"][0]["path"], "listener");
        assert_eq!(json["deliveries"][0]["afterMs"], 140);
        assert_eq!(json["deliveries"][1]["path"], "relay");
        assert_eq!(json["deliveries"][1]["sent"], false);
        assert!(json["deliveries"][1]["detail"].is_string());
        // Nothing to send a test to: the problem points at the field that fixes it.
        let e = intake_error(IntakeError::NotRunning);
        assert_eq!(e.field.as_deref(), Some("listen"));
        let e = intake_error(IntakeError::NoTestAddress);
        assert_eq!(e.field.as_deref(), Some("publicUrl"));
    }

    #[test]
    fn only_a_pair_of_relay_keys_is_accepted() {
        let secrets: WebhookSecrets =
            serde_json::from_str(r#"{"relayAccessKeyId":"AKIA1","relaySecretAccessKey":""}"#)
                .unwrap();
        let e = secrets.relay_key().unwrap_err();
        assert_eq!(e.field.as_deref(), Some("relayAccessKey"));
        let secrets: WebhookSecrets = serde_json::from_str(
            r#"{"relayAccessKeyId":" AKIA1 ","relaySecretAccessKey":"s3cret","signingSecret":""}"#,
        )
        .unwrap();
        let (id, secret) = secrets.relay_key().unwrap().unwrap();
        assert_eq!(id, "AKIA1");
        assert_eq!(secret.expose(), "s3cret");
        assert!(
            secrets.signing_secret().is_none(),
            "empty keeps the saved key"
        );
        assert!(!format!("{secrets:?}").contains("s3cret"));
    }
}
