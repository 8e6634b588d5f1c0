//! The owner's preferences: how often to poll, what counts as low stock, which
//! notifications to show, whether to start at login, and how webhooks reach Shelfsync.
//!
//! Kept in `settings.json` in the app's config directory, the webhook intake under its
//! `webhooks` key (saved on its own, since saving it restarts intake). Nothing here is secret
//! (the webhook signing key and the relay's AWS key live in the keychain). A missing file means defaults; an unreadable one is reported and
//! replaced by defaults only when the owner saves, so a hand-edited typo never silently
//! loses the other values.

use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};
use ts_rs::TS;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase", default)]
pub struct Settings {
    /// Seconds between incremental syncs (10 to 3600).
    pub poll_interval_secs: u32,
    /// Stock at or below this is shown as low.
    pub low_stock_threshold: u32,
    /// Notify when a job failed after its retries and waits for a person.
    pub notify_failed_jobs: bool,
    /// Notify when the store must be connected again.
    pub notify_reconnect: bool,
    /// Notify when a full sync finished.
    pub notify_sync_finished: bool,
    /// Notify when Shopify removed a webhook subscription (Shelfsync creates it again).
    pub notify_subscription_lost: bool,
    /// Notify when the cloud relay's queue cannot be read.
    pub notify_relay_unreachable: bool,
    /// Notify when a customer places an order.
    pub notify_new_orders: bool,
    /// Notify when a variant's stock falls to its low-stock line.
    pub notify_low_stock: bool,
    /// Notify when a bulk update is applied, rolled back or undone.
    pub notify_bulk_updates: bool,
    /// Start Shelfsync when you log in.
    pub start_at_login: bool,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            poll_interval_secs: 60,
            low_stock_threshold: 5,
            notify_failed_jobs: true,
            notify_reconnect: true,
            notify_sync_finished: true,
            notify_subscription_lost: true,
            notify_relay_unreachable: true,
            notify_new_orders: true,
            notify_low_stock: true,
            notify_bulk_updates: true,
            start_at_login: false,
        }
    }
}

impl Settings {
    /// Checks the values a person can type; the message says what is allowed.
    pub fn validate(&self) -> Result<(), String> {
        if !(10..=3600).contains(&self.poll_interval_secs) {
            return Err(format!(
                "The sync interval must be between 10 seconds and 1 hour (got {} s).",
                self.poll_interval_secs
            ));
        }
        if self.low_stock_threshold > 1_000_000 {
            return Err("The low-stock threshold must be at most 1,000,000.".into());
        }
        Ok(())
    }

    pub fn poll_interval(&self) -> Duration {
        Duration::from_secs(u64::from(self.poll_interval_secs.clamp(10, 3600)))
    }

    /// Whether a notification of this kind is wanted.
    pub fn wants(&self, kind: NoticeKind) -> bool {
        match kind {
            NoticeKind::JobFailed => self.notify_failed_jobs,
            NoticeKind::Reconnect => self.notify_reconnect,
            NoticeKind::SyncFinished => self.notify_sync_finished,
            NoticeKind::SubscriptionLost => self.notify_subscription_lost,
            NoticeKind::RelayUnreachable => self.notify_relay_unreachable,
            NoticeKind::NewOrder => self.notify_new_orders,
            NoticeKind::LowStock => self.notify_low_stock,
            NoticeKind::BulkUpdate => self.notify_bulk_updates,
        }
    }
}

/// The port the loopback listener suggests; any free port above 1023 works.
pub const DEFAULT_WEBHOOK_PORT: u16 = 8787;

/// How webhooks reach Shelfsync: the loopback listener behind the owner's tunnel, the cloud
/// relay's SQS queue, or both. The keys (the signing key of an admin-token store, the relay's
/// AWS access key) are not here: they go straight to the keychain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase", default)]
pub struct WebhookSettings {
    /// Run the listener on 127.0.0.1 (never on other interfaces).
    pub listen: bool,
    /// Its port on 127.0.0.1 (1024 to 65535).
    pub port: u16,
    /// The tunnel's public `https://` address, which Shelfsync subscribes in Shopify.
    pub public_url: Option<String>,
    /// The cloud relay's SQS queue URL.
    pub relay_queue_url: Option<String>,
    /// Its AWS region; empty takes the one in the queue URL.
    pub relay_region: Option<String>,
    /// The Shopify partner event source on EventBridge (`arn:aws:events:…`), which Shelfsync
    /// subscribes in Shopify.
    pub relay_event_source: Option<String>,
}

impl Default for WebhookSettings {
    fn default() -> Self {
        Self {
            listen: false,
            port: DEFAULT_WEBHOOK_PORT,
            public_url: None,
            relay_queue_url: None,
            relay_region: None,
            relay_event_source: None,
        }
    }
}

/// Which webhook field a problem is about, so the UI can show it there.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WebhookField {
    Listen,
    Port,
    PublicUrl,
    SigningSecret,
    RelayQueueUrl,
    RelayRegion,
    RelayEventSource,
    RelayAccessKey,
}

impl WebhookField {
    /// The UI's name for the field (the camelCase key of [`WebhookSettings`] or the secret).
    pub fn as_str(self) -> &'static str {
        match self {
            WebhookField::Listen => "listen",
            WebhookField::Port => "port",
            WebhookField::PublicUrl => "publicUrl",
            WebhookField::SigningSecret => "signingSecret",
            WebhookField::RelayQueueUrl => "relayQueueUrl",
            WebhookField::RelayRegion => "relayRegion",
            WebhookField::RelayEventSource => "relayEventSource",
            WebhookField::RelayAccessKey => "relayAccessKey",
        }
    }
}

/// A webhook setting that cannot be used, in words, and where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookProblem {
    pub field: WebhookField,
    pub message: String,
}

fn problem(field: WebhookField, message: impl Into<String>) -> WebhookProblem {
    WebhookProblem {
        field,
        message: message.into(),
    }
}

/// `us-east-2` from `https://sqs.us-east-2.amazonaws.com/123456789012/shop-events`.
pub fn region_of(queue_url: &str) -> Option<String> {
    let host = queue_url.strip_prefix("https://")?.split('/').next()?;
    let region = host.strip_prefix("sqs.")?.strip_suffix(".amazonaws.com")?;
    (!region.is_empty() && !region.contains('.')).then(|| region.to_owned())
}

/// `None` for a blank field, the trimmed text otherwise.
fn filled(value: &Option<String>) -> Option<&str> {
    value.as_deref().map(str::trim).filter(|v| !v.is_empty())
}

impl WebhookSettings {
    /// Blank text fields become `None`, the rest is trimmed.
    pub fn normalized(&self) -> Self {
        let own = |v: &Option<String>| filled(v).map(str::to_owned);
        Self {
            listen: self.listen,
            port: self.port,
            public_url: own(&self.public_url),
            relay_queue_url: own(&self.relay_queue_url),
            relay_region: own(&self.relay_region),
            relay_event_source: own(&self.relay_event_source),
        }
    }

    /// Whether intake should run at all: the listener is on or a relay queue is given.
    pub fn enabled(&self) -> bool {
        self.listen || filled(&self.relay_queue_url).is_some()
    }

    /// The relay's region: the one typed, or the one in the queue URL.
    pub fn region(&self) -> Option<String> {
        filled(&self.relay_region)
            .map(str::to_owned)
            .or_else(|| filled(&self.relay_queue_url).and_then(region_of))
    }

    /// Checks what a person typed; the problem names the field and what is allowed.
    pub fn validate(&self) -> Result<(), WebhookProblem> {
        use WebhookField as F;
        if self.listen && self.port < 1024 {
            return Err(problem(
                F::Port,
                format!(
                    "The listener's port must be between 1024 and 65535 (got {}).",
                    self.port
                ),
            ));
        }
        if let Some(url) = filled(&self.public_url) {
            if !self.listen {
                return Err(problem(
                    F::Listen,
                    "A tunnel address needs the listener: turn it on, or clear the address.",
                ));
            }
            if !url.starts_with("https://") || url.len() <= "https://".len() {
                return Err(problem(
                    F::PublicUrl,
                    "The tunnel address must start with https:// (Shopify only delivers to                      https). Copy the public address your tunnel tool shows.",
                ));
            }
            if url.contains(char::is_whitespace) {
                return Err(problem(
                    F::PublicUrl,
                    "The tunnel address cannot contain spaces.",
                ));
            }
        }
        let queue = filled(&self.relay_queue_url);
        if let Some(queue) = queue {
            if !queue.starts_with("https://") && !queue.starts_with("http://") {
                return Err(problem(
                    F::RelayQueueUrl,
                    "The queue URL must be the SQS queue's URL, e.g.                      https://sqs.us-east-2.amazonaws.com/123456789012/shop-events.",
                ));
            }
            if self.region().is_none() {
                return Err(problem(
                    F::RelayRegion,
                    "This queue URL does not name its region: enter the region, e.g. us-east-2.",
                ));
            }
        }
        if let Some(region) = filled(&self.relay_region)
            && !region
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        {
            return Err(problem(
                F::RelayRegion,
                format!("{region:?} is not an AWS region; regions look like us-east-2."),
            ));
        }
        if let Some(arn) = filled(&self.relay_event_source) {
            if queue.is_none() {
                return Err(problem(
                    F::RelayQueueUrl,
                    "An EventBridge event source needs the relay's queue URL too: Shelfsync                      reads the events from that queue.",
                ));
            }
            if !arn.starts_with("arn:aws:events:") {
                return Err(problem(
                    F::RelayEventSource,
                    "The event source must be an arn:aws:events: address, as EventBridge shows                      for the Shopify partner event source.",
                ));
            }
        }
        Ok(())
    }
}

/// What `settings.json` holds: the settings, and the webhook intake under `webhooks`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct SettingsDocument {
    #[serde(flatten)]
    pub settings: Settings,
    #[serde(default)]
    pub webhooks: WebhookSettings,
}

/// Where the settings live and how they are read and written.
#[derive(Debug, Clone)]
pub struct SettingsFile {
    path: PathBuf,
}

impl SettingsFile {
    pub fn new(dir: &Path) -> Self {
        Self {
            path: dir.join("settings.json"),
        }
    }

    /// The saved settings; defaults when there is no file yet.
    pub fn load(&self) -> Result<SettingsDocument, String> {
        match std::fs::read_to_string(&self.path) {
            Ok(text) => serde_json::from_str(&text).map_err(|e| {
                format!(
                    "{} could not be read ({e}); Shelfsync is using the defaults until you save.",
                    self.path.display()
                )
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(SettingsDocument::default()),
            Err(e) => Err(format!("{} could not be read: {e}", self.path.display())),
        }
    }

    /// Writes the settings atomically (write, then rename).
    pub fn save(&self, document: &SettingsDocument) -> Result<(), String> {
        document.settings.validate()?;
        document.webhooks.validate().map_err(|p| p.message)?;
        let fail =
            |e: &dyn std::fmt::Display| format!("Could not save {}: {e}", self.path.display());
        if let Some(dir) = self.path.parent() {
            std::fs::create_dir_all(dir).map_err(|e| fail(&e))?;
        }
        let text = serde_json::to_string_pretty(document).map_err(|e| fail(&e))?;
        let tmp = self.path.with_extension("json.tmp");
        std::fs::write(&tmp, text).map_err(|e| fail(&e))?;
        std::fs::rename(&tmp, &self.path).map_err(|e| fail(&e))
    }
}

/// Kinds of notification, each switchable in the settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum NoticeKind {
    JobFailed,
    Reconnect,
    SyncFinished,
    SubscriptionLost,
    RelayUnreachable,
    NewOrder,
    LowStock,
    BulkUpdate,
}

impl NoticeKind {
    /// The one notification that stands for `held` notices of this kind held back in a
    /// window: its title and body.
    pub fn summary(self, held: u32) -> (String, String) {
        let shelfsync = |body: String| ("Shelfsync".to_string(), body);
        match self {
            NoticeKind::JobFailed => {
                shelfsync(format!("{held} more jobs failed and wait for you."))
            }
            NoticeKind::Reconnect => {
                shelfsync("The store still refuses Shelfsync's credentials.".into())
            }
            NoticeKind::SyncFinished => shelfsync(format!("{held} more full syncs finished.")),
            NoticeKind::SubscriptionLost => shelfsync(format!(
                "{held} more webhook subscriptions were lost and are being restored."
            )),
            NoticeKind::RelayUnreachable => {
                shelfsync("The cloud relay is still unreachable; events wait in its queue.".into())
            }
            NoticeKind::NewOrder => (
                if held == 1 {
                    "1 more new order".to_string()
                } else {
                    format!("{held} more new orders")
                },
                "Open Orders in Shelfsync to see what they took from stock.".into(),
            ),
            NoticeKind::LowStock => (
                "Low stock".to_string(),
                if held == 1 {
                    "1 more variant fell to its low-stock line.".to_string()
                } else {
                    format!("{held} more variants fell to their low-stock line.")
                },
            ),
            NoticeKind::BulkUpdate => shelfsync(if held == 1 {
                "1 more bulk update ended: see Activity.".to_string()
            } else {
                format!("{held} more bulk updates ended: see Activity.")
            }),
        }
    }
}

/// Coalesces bursts: the first notice of a kind shows at once; more of the same kind within
/// the window are counted and shown as one summary when the window closes.
#[derive(Debug)]
pub struct Coalescer {
    window: Duration,
    open: std::collections::HashMap<NoticeKind, (Instant, u32)>,
}

/// What to do with a notice.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Offer {
    /// Show it now, and call [`Coalescer::close`] after the window.
    ShowAndOpenWindow,
    /// Counted into the open window's summary.
    Held,
}

impl Coalescer {
    pub fn new(window: Duration) -> Self {
        Self {
            window,
            open: Default::default(),
        }
    }

    pub fn window(&self) -> Duration {
        self.window
    }

    pub fn offer(&mut self, kind: NoticeKind, now: Instant) -> Offer {
        match self.open.get_mut(&kind) {
            Some((opened, held)) if now.duration_since(*opened) < self.window => {
                *held += 1;
                Offer::Held
            }
            _ => {
                self.open.insert(kind, (now, 0));
                Offer::ShowAndOpenWindow
            }
        }
    }

    /// Closes the window of `kind`; returns how many notices it held back.
    pub fn close(&mut self, kind: NoticeKind) -> u32 {
        self.open.remove(&kind).map(|(_, held)| held).unwrap_or(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_burst_shows_one_notice_then_one_summary() {
        let mut c = Coalescer::new(Duration::from_secs(10));
        let t0 = Instant::now();
        assert_eq!(c.offer(NoticeKind::JobFailed, t0), Offer::ShowAndOpenWindow);
        for i in 1..=4 {
            assert_eq!(
                c.offer(NoticeKind::JobFailed, t0 + Duration::from_secs(i)),
                Offer::Held
            );
        }
        // Another kind is not held back by this burst.
        assert_eq!(c.offer(NoticeKind::Reconnect, t0), Offer::ShowAndOpenWindow);
        assert_eq!(c.close(NoticeKind::JobFailed), 4);
        assert_eq!(
            c.offer(NoticeKind::JobFailed, t0 + Duration::from_secs(12)),
            Offer::ShowAndOpenWindow
        );
        assert_eq!(c.close(NoticeKind::JobFailed), 0);
    }

    #[test]
    fn settings_round_trip_and_bad_values_are_refused_with_the_allowed_range() {
        let dir = tempfile::tempdir().unwrap();
        let file = SettingsFile::new(dir.path());
        assert_eq!(file.load().unwrap(), SettingsDocument::default());
        let mut doc = SettingsDocument {
            settings: Settings {
                poll_interval_secs: 120,
                notify_sync_finished: false,
                notify_relay_unreachable: false,
                ..Settings::default()
            },
            webhooks: WebhookSettings {
                listen: true,
                port: 9000,
                public_url: Some("https://abc.ngrok.app/webhooks".into()),
                ..WebhookSettings::default()
            },
        };
        file.save(&doc).unwrap();
        assert_eq!(file.load().unwrap(), doc);
        let loaded = file.load().unwrap().settings;
        assert!(!loaded.wants(NoticeKind::SyncFinished));
        assert!(!loaded.wants(NoticeKind::RelayUnreachable));
        assert!(loaded.wants(NoticeKind::SubscriptionLost));
        doc.settings.poll_interval_secs = 5;
        let err = file.save(&doc).unwrap_err();
        assert!(err.contains("between 10 seconds and 1 hour"), "{err}");
        assert_eq!(
            file.load().unwrap().settings.poll_interval_secs,
            120,
            "a refused save changes nothing"
        );
        // The webhook section is in the same file, and an older file without it still reads.
        let text = std::fs::read_to_string(dir.path().join("settings.json")).unwrap();
        assert!(text.contains("\"webhooks\""), "{text}");
        std::fs::write(
            dir.path().join("settings.json"),
            r#"{"pollIntervalSecs": 30}"#,
        )
        .unwrap();
        let old = file.load().unwrap();
        assert_eq!(old.settings.poll_interval_secs, 30);
        assert_eq!(old.webhooks, WebhookSettings::default());
        assert!(old.settings.wants(NoticeKind::SubscriptionLost));
        assert!(
            old.settings.wants(NoticeKind::BulkUpdate),
            "a file from before bulk updates notifies about them"
        );
    }

    fn webhooks(f: impl FnOnce(&mut WebhookSettings)) -> WebhookSettings {
        let mut w = WebhookSettings {
            listen: true,
            ..WebhookSettings::default()
        };
        f(&mut w);
        w
    }

    fn refused(w: &WebhookSettings) -> (WebhookField, String) {
        let p = w.validate().unwrap_err();
        (p.field, p.message)
    }

    #[test]
    fn webhook_settings_name_the_field_and_what_is_allowed() {
        assert_eq!(webhooks(|_| {}).validate(), Ok(()));
        assert!(!WebhookSettings::default().enabled());
        assert_eq!(WebhookSettings::default().port, DEFAULT_WEBHOOK_PORT);

        let (field, msg) = refused(&webhooks(|w| w.port = 80));
        assert_eq!(field, WebhookField::Port);
        assert!(msg.contains("between 1024 and 65535 (got 80)"), "{msg}");

        let (field, msg) = refused(&webhooks(|w| {
            w.public_url = Some("http://abc.ngrok.app".into())
        }));
        assert_eq!(field, WebhookField::PublicUrl);
        assert!(msg.contains("https://"), "{msg}");

        let (field, msg) = refused(&webhooks(|w| {
            w.listen = false;
            w.public_url = Some("https://abc.ngrok.app".into());
        }));
        assert_eq!(field, WebhookField::Listen);
        assert!(msg.contains("needs the listener"), "{msg}");

        // The region comes from an AWS queue URL; another endpoint must name it.
        let aws = webhooks(|w| {
            w.listen = false;
            w.relay_queue_url =
                Some(" https://sqs.us-east-2.amazonaws.com/123456789012/shop-events ".into());
        })
        .normalized();
        assert_eq!(aws.validate(), Ok(()));
        assert!(aws.enabled());
        assert_eq!(aws.region().as_deref(), Some("us-east-2"));
        let (field, msg) = refused(&webhooks(|w| {
            w.relay_queue_url = Some("http://127.0.0.1:5000/123456789012/shop".into())
        }));
        assert_eq!(field, WebhookField::RelayRegion);
        assert!(msg.contains("does not name its region"), "{msg}");
        let (field, _) = refused(&webhooks(|w| {
            w.relay_queue_url = Some("sqs/shop-events".into())
        }));
        assert_eq!(field, WebhookField::RelayQueueUrl);
        let (field, msg) = refused(&webhooks(|w| {
            w.relay_queue_url = Some("http://127.0.0.1:5000/1/shop".into());
            w.relay_region = Some("US East".into());
        }));
        assert_eq!(field, WebhookField::RelayRegion);
        assert!(msg.contains("us-east-2"), "{msg}");

        let (field, msg) = refused(&webhooks(|w| {
            w.relay_event_source = Some("arn:aws:events:us-east-2::event-source/x".into())
        }));
        assert_eq!(field, WebhookField::RelayQueueUrl);
        assert!(msg.contains("needs the relay's queue URL"), "{msg}");
        let (field, _) = refused(&webhooks(|w| {
            w.relay_queue_url = Some("https://sqs.us-east-2.amazonaws.com/1/shop".into());
            w.relay_event_source = Some("aws.partner/shopify.com/1/shop".into());
        }));
        assert_eq!(field, WebhookField::RelayEventSource);

        // Blank fields are absent, not refused.
        let blank = webhooks(|w| {
            w.public_url = Some("  ".into());
            w.relay_region = Some(String::new());
        })
        .normalized();
        assert_eq!(blank.public_url, None);
        assert_eq!(blank.relay_region, None);
        assert_eq!(blank.validate(), Ok(()));
    }

    #[test]
    fn a_damaged_file_is_reported_not_silently_replaced() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("settings.json"), "{ not json").unwrap();
        let err = SettingsFile::new(dir.path()).load().unwrap_err();
        assert!(err.contains("using the defaults until you save"), "{err}");
        assert!(dir.path().join("settings.json").exists());
    }
}
