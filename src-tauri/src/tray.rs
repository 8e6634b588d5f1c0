//! The tray: the app stays reachable, and says how the sync is doing, while its window is
//! hidden.
//!
//! [`TrayModel`] is plain data fed by engine events, so the rules (what counts as "needs
//! attention", what wins over what) are unit-tested without a display; [`Tray`] renders the
//! model into the icon, its tooltip and the menu labels.

use shelfsync_engine::{EngineEvent, IntakeEvent, RelayState};
use std::collections::BTreeSet;
use std::sync::Mutex;
use tauri::image::Image;
use tauri::menu::{Menu, MenuItem, PredefinedMenuItem};
use tauri::tray::{TrayIcon, TrayIconBuilder};
use tauri::{AppHandle, Manager, Wry};

pub const TRAY_ID: &str = "main-tray";

/// What the tray icon shows at a glance.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TrayState {
    NotConnected,
    InSync,
    Syncing,
    NeedsAttention,
    Paused,
}

impl TrayState {
    pub fn label(self) -> &'static str {
        match self {
            TrayState::NotConnected => "No store connected",
            TrayState::InSync => "In sync",
            TrayState::Syncing => "Syncing…",
            TrayState::NeedsAttention => "Needs attention",
            TrayState::Paused => "Paused",
        }
    }
}

/// The facts the tray state is derived from.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TrayModel {
    pub connected: bool,
    pub syncing: bool,
    pub paused: bool,
    pub failed_jobs: u64,
    /// Something asked for a person (e.g. reconnect) since the last successful sync.
    pub attention: bool,
    /// Webhook subscriptions Shopify removed and Shelfsync has not restored yet, by topic and
    /// address: changes may be missed until they are back.
    pub lost_subscriptions: BTreeSet<(String, String)>,
    /// The cloud relay's queue could not be read at its last poll.
    pub relay_unreachable: bool,
}

impl TrayModel {
    /// Paused wins (the owner chose it); then anything that needs a person; then activity.
    pub fn state(&self) -> TrayState {
        if !self.connected {
            TrayState::NotConnected
        } else if self.paused {
            TrayState::Paused
        } else if self.attention
            || self.failed_jobs > 0
            || self.relay_unreachable
            || !self.lost_subscriptions.is_empty()
        {
            TrayState::NeedsAttention
        } else if self.syncing {
            TrayState::Syncing
        } else {
            TrayState::InSync
        }
    }

    /// Folds one engine event into the model.
    pub fn apply(&mut self, event: &EngineEvent) {
        match event {
            EngineEvent::SyncProgress { .. } => {
                self.connected = true;
                self.syncing = true;
            }
            EngineEvent::SyncFinished { .. } => {
                self.connected = true;
                self.syncing = false;
                self.attention = false;
            }
            EngineEvent::Queue { counts } => self.failed_jobs = counts.failed,
            EngineEvent::Attention { .. } => {
                self.syncing = false;
                self.attention = true;
            }
            EngineEvent::Relay { relay } => {
                self.relay_unreachable = matches!(relay, RelayState::Unreachable { .. });
            }
            EngineEvent::Job { .. }
            | EngineEvent::Bucket { .. }
            | EngineEvent::NewOrder { .. }
            | EngineEvent::LowStock { .. }
            | EngineEvent::Reconciled { .. }
            | EngineEvent::BulkProgress { .. }
            | EngineEvent::BulkFinished { .. } => {}
        }
    }

    /// Folds one webhook intake event into the model: a lost subscription needs attention
    /// until it is restored (or registered again).
    pub fn apply_intake(&mut self, event: &IntakeEvent) {
        match event {
            IntakeEvent::SubscriptionLost { topic, uri } => {
                self.lost_subscriptions.insert((topic.clone(), uri.clone()));
            }
            IntakeEvent::SubscriptionRestored { topic, uri }
            | IntakeEvent::SubscriptionRegistered { topic, uri } => {
                self.lost_subscriptions
                    .remove(&(topic.clone(), uri.clone()));
            }
            IntakeEvent::Stats { .. } => {}
        }
    }

    /// Webhook intake started again (or another store became current): what was known about
    /// its subscriptions and relay no longer holds.
    pub fn intake_restarted(&mut self) {
        self.lost_subscriptions.clear();
        self.relay_unreachable = false;
    }
}

/// The tray icon and the menu items whose labels change.
pub struct Tray {
    icon: TrayIcon,
    status: MenuItem<Wry>,
    pause: MenuItem<Wry>,
    failed: MenuItem<Wry>,
    model: Mutex<TrayModel>,
}

fn icon_for(state: TrayState) -> Option<Image<'static>> {
    let bytes: &'static [u8] = match state {
        TrayState::InSync => include_bytes!("../../icons/tray-synced.png"),
        TrayState::Syncing => include_bytes!("../../icons/tray-syncing.png"),
        TrayState::NeedsAttention => include_bytes!("../../icons/tray-attention.png"),
        TrayState::Paused | TrayState::NotConnected => {
            include_bytes!("../../icons/tray-paused.png")
        }
    };
    Image::from_bytes(bytes).ok()
}

impl Tray {
    pub fn install(app: &AppHandle) -> tauri::Result<Self> {
        let status = MenuItem::with_id(
            app,
            "status",
            TrayState::NotConnected.label(),
            false,
            None::<&str>,
        )?;
        let open = MenuItem::with_id(app, "open", "Open Shelfsync", true, None::<&str>)?;
        let sync = MenuItem::with_id(app, "sync", "Sync now", true, None::<&str>)?;
        let pause = MenuItem::with_id(app, "pause", "Pause syncing", true, None::<&str>)?;
        let failed = MenuItem::with_id(app, "failed", "Failed jobs: 0", true, None::<&str>)?;
        let quit = MenuItem::with_id(app, "quit", "Quit Shelfsync", true, None::<&str>)?;
        let separator = PredefinedMenuItem::separator(app)?;
        let menu = Menu::with_items(
            app,
            &[
                &status, &separator, &open, &sync, &pause, &failed, &separator, &quit,
            ],
        )?;
        let mut builder = TrayIconBuilder::with_id(TRAY_ID)
            .tooltip("Shelfsync")
            .menu(&menu)
            .on_menu_event(|app, event| crate::state::on_tray_menu(app, event.id.as_ref()));
        if let Some(icon) =
            icon_for(TrayState::NotConnected).or_else(|| app.default_window_icon().cloned())
        {
            builder = builder.icon(icon);
        }
        let icon = builder.build(app)?;
        Ok(Self {
            icon,
            status,
            pause,
            failed,
            model: Mutex::new(TrayModel::default()),
        })
    }

    /// Updates the model with `f` and redraws what changed.
    pub fn update(&self, f: impl FnOnce(&mut TrayModel)) {
        let (before, after) = {
            let mut model = self.model.lock().unwrap_or_else(|p| p.into_inner());
            let before = model.clone();
            f(&mut model);
            (before, model.clone())
        };
        if before == after {
            return;
        }
        let state = after.state();
        if before.state() != state {
            let _ = self.icon.set_icon(icon_for(state));
            let _ = self
                .icon
                .set_tooltip(Some(format!("Shelfsync: {}", state.label())));
            let _ = self.status.set_text(state.label());
        }
        if before.paused != after.paused {
            let _ = self.pause.set_text(if after.paused {
                "Resume syncing"
            } else {
                "Pause syncing"
            });
        }
        if before.failed_jobs != after.failed_jobs {
            let _ = self
                .failed
                .set_text(format!("Failed jobs: {}", after.failed_jobs));
        }
    }

    pub fn model(&self) -> TrayModel {
        self.model.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }
}

/// Shows and focuses the main window.
pub fn show_main_window(app: &AppHandle) {
    if let Some(window) = app.get_webview_window("main") {
        let _ = window.unminimize();
        let _ = window.show();
        let _ = window.set_focus();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use shelfsync_engine::{Attention, SyncKind};
    use shelfsync_store::JobCounts;

    fn progress() -> EngineEvent {
        EngineEvent::SyncProgress {
            sync: SyncKind::Full,
            rows: 10,
            total: Some(100),
            rows_per_sec: 5.0,
            seconds_left: Some(18.0),
        }
    }

    fn finished() -> EngineEvent {
        EngineEvent::SyncFinished {
            sync: SyncKind::Full,
            rows: 100,
            elapsed_ms: 20,
        }
    }

    #[test]
    fn a_sync_shows_syncing_then_in_sync() {
        let mut m = TrayModel::default();
        assert_eq!(m.state(), TrayState::NotConnected);
        m.apply(&progress());
        assert_eq!(m.state(), TrayState::Syncing);
        m.apply(&finished());
        assert_eq!(m.state(), TrayState::InSync);
    }

    #[test]
    fn failed_jobs_and_reconnects_need_attention_until_resolved() {
        let mut m = TrayModel::default();
        m.apply(&finished());
        m.apply(&EngineEvent::Queue {
            counts: JobCounts {
                pending: 0,
                running: 0,
                done: 3,
                failed: 2,
            },
        });
        assert_eq!(m.state(), TrayState::NeedsAttention);
        // A later successful sync does not hide failed jobs: they still wait for a person.
        m.apply(&progress());
        m.apply(&finished());
        assert_eq!(m.state(), TrayState::NeedsAttention);
        m.apply(&EngineEvent::Queue {
            counts: JobCounts {
                pending: 0,
                running: 0,
                done: 5,
                failed: 0,
            },
        });
        assert_eq!(m.state(), TrayState::InSync);
        m.apply(&EngineEvent::Attention {
            attention: Attention::Reconnect {
                reason: "refused".into(),
            },
        });
        assert_eq!(m.state(), TrayState::NeedsAttention);
        m.apply(&finished());
        assert_eq!(m.state(), TrayState::InSync);
    }

    fn subscription(change: fn(String, String) -> IntakeEvent, topic: &str) -> IntakeEvent {
        change(topic.into(), "https://abc.ngrok.app/webhooks".into())
    }

    fn lost(topic: String, uri: String) -> IntakeEvent {
        IntakeEvent::SubscriptionLost { topic, uri }
    }

    fn restored(topic: String, uri: String) -> IntakeEvent {
        IntakeEvent::SubscriptionRestored { topic, uri }
    }

    #[test]
    fn a_lost_subscription_needs_attention_until_every_one_is_restored() {
        let mut m = TrayModel::default();
        m.apply(&finished());
        m.apply_intake(&subscription(lost, "INVENTORY_LEVELS_UPDATE"));
        m.apply_intake(&subscription(lost, "ORDERS_CREATE"));
        assert_eq!(m.state(), TrayState::NeedsAttention);
        // A successful sync does not hide it: webhooks may still be missing changes.
        m.apply(&progress());
        m.apply(&finished());
        assert_eq!(m.state(), TrayState::NeedsAttention);
        m.apply_intake(&subscription(restored, "INVENTORY_LEVELS_UPDATE"));
        assert_eq!(m.state(), TrayState::NeedsAttention, "one is still lost");
        m.apply_intake(&subscription(restored, "ORDERS_CREATE"));
        assert_eq!(m.state(), TrayState::InSync);
        // Lost twice before it is restored is still one subscription to restore.
        m.apply_intake(&subscription(lost, "ORDERS_CREATE"));
        m.apply_intake(&subscription(lost, "ORDERS_CREATE"));
        m.apply_intake(&subscription(restored, "ORDERS_CREATE"));
        assert_eq!(m.state(), TrayState::InSync);
    }

    #[test]
    fn an_unreachable_relay_needs_attention_until_it_answers() {
        let mut m = TrayModel::default();
        m.apply(&finished());
        let unreachable = |failures| EngineEvent::Relay {
            relay: RelayState::Unreachable {
                error: "connection refused".into(),
                failures,
                retry_in_ms: 2000,
            },
        };
        m.apply(&unreachable(1));
        assert_eq!(m.state(), TrayState::NeedsAttention);
        m.apply(&unreachable(2));
        m.apply(&finished());
        assert_eq!(
            m.state(),
            TrayState::NeedsAttention,
            "polls still work, the relay not"
        );
        m.apply(&EngineEvent::Relay {
            relay: RelayState::Reachable,
        });
        assert_eq!(m.state(), TrayState::InSync);
    }

    #[test]
    fn restarting_intake_forgets_the_old_subscriptions_and_relay() {
        let mut m = TrayModel::default();
        m.apply(&finished());
        m.apply_intake(&subscription(lost, "ORDERS_CREATE"));
        m.apply(&EngineEvent::Relay {
            relay: RelayState::Unreachable {
                error: "timed out".into(),
                failures: 1,
                retry_in_ms: 2000,
            },
        });
        assert_eq!(m.state(), TrayState::NeedsAttention);
        m.intake_restarted();
        assert_eq!(m.state(), TrayState::InSync);
    }

    #[test]
    fn paused_wins_over_everything_but_not_being_connected() {
        let mut m = TrayModel {
            connected: true,
            failed_jobs: 1,
            syncing: true,
            ..TrayModel::default()
        };
        m.paused = true;
        assert_eq!(m.state(), TrayState::Paused);
        m.connected = false;
        assert_eq!(m.state(), TrayState::NotConnected);
    }
}
