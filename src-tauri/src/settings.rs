//! The owner's preferences: how often to poll, what counts as low stock, which
//! notifications to show, whether to start at login.
//!
//! Kept in `settings.json` in the app's config directory. Nothing here is secret (secrets
//! live in the keychain). A missing file means defaults; an unreadable one is reported and
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
        }
    }
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
    pub fn load(&self) -> Result<Settings, String> {
        match std::fs::read_to_string(&self.path) {
            Ok(text) => serde_json::from_str(&text).map_err(|e| {
                format!(
                    "{} could not be read ({e}); Shelfsync is using the defaults until you save.",
                    self.path.display()
                )
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Settings::default()),
            Err(e) => Err(format!("{} could not be read: {e}", self.path.display())),
        }
    }

    /// Writes the settings atomically (write, then rename).
    pub fn save(&self, settings: &Settings) -> Result<(), String> {
        settings.validate()?;
        let fail =
            |e: &dyn std::fmt::Display| format!("Could not save {}: {e}", self.path.display());
        if let Some(dir) = self.path.parent() {
            std::fs::create_dir_all(dir).map_err(|e| fail(&e))?;
        }
        let text = serde_json::to_string_pretty(settings).map_err(|e| fail(&e))?;
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
        assert_eq!(file.load().unwrap(), Settings::default());
        let mut s = Settings {
            poll_interval_secs: 120,
            notify_sync_finished: false,
            ..Settings::default()
        };
        file.save(&s).unwrap();
        assert_eq!(file.load().unwrap(), s);
        assert!(!file.load().unwrap().wants(NoticeKind::SyncFinished));
        s.poll_interval_secs = 5;
        let err = file.save(&s).unwrap_err();
        assert!(err.contains("between 10 seconds and 1 hour"), "{err}");
        assert_eq!(
            file.load().unwrap().poll_interval_secs,
            120,
            "a refused save changes nothing"
        );
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
