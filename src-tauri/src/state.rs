//! The app's hold on the engine: which engine is current (the owner's store or the demo
//! store), its background poller, and the forwarding of its events to the UI and the tray.
//!
//! The demo store runs in its own engine with its own data directory and keychain namespace,
//! so trying the demo never touches the owner's store. Switching engines cancels the old
//! engine's tasks and its webhook intake. Locks here are `std::sync` locks held only to swap or clone values, never
//! across an `.await`.

use crate::error::{ErrorCode, UiError};
use crate::intake::{Notice, WebhookSecrets, WebhookSettingsView};
use crate::settings::{
    Coalescer, NoticeKind, Offer, Settings, SettingsDocument, SettingsFile, WebhookField,
    WebhookSettings,
};
use crate::views::UiEvent;
use shelfsync_engine::credentials::SecretKind;
use shelfsync_engine::demo::{DemoOptions, DemoStore};
use shelfsync_engine::jobs::SupervisorConfig;
use shelfsync_engine::{
    AuthMethod, Engine, EngineConfig, EngineEvent, Keychain, RelayCredentials, StoreKey, SyncKind,
};
use shelfsync_shopify::Clock;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tauri::{AppHandle, Emitter, Manager};
use tauri_plugin_notification::NotificationExt;
use tokio_util::sync::CancellationToken;

/// The event channel the UI listens on.
pub const ENGINE_EVENT: &str = "engine-event";

/// The work queue's retry budget. `SHELFSYNC_JOB_ATTEMPTS` and `SHELFSYNC_JOB_BACKOFF_MS`
/// override it (for an impatient setup, and for the end-to-end tests, which need a failed
/// job within seconds rather than half an hour).
fn job_config() -> SupervisorConfig {
    let mut config = SupervisorConfig::default();
    let number = |name: &str| std::env::var(name).ok().and_then(|v| v.parse::<u64>().ok());
    if let Some(attempts) = number("SHELFSYNC_JOB_ATTEMPTS") {
        config.retry.max_attempts = u32::try_from(attempts.clamp(1, 100)).unwrap_or(10);
    }
    if let Some(ms) = number("SHELFSYNC_JOB_BACKOFF_MS") {
        config.retry.base = Duration::from_millis(ms.max(1));
        config.retry.cap = config.retry.cap.max(config.retry.base);
    }
    config
}

/// The demo store's size. `SHELFSYNC_DEMO_PRODUCTS` sets how many products it has (each
/// with 3 variants at 3 locations; default 2,000), so the app can be tried, and measured,
/// with a store the size of a large real one: 16,667 products give 50,001 variants.
fn demo_options() -> DemoOptions {
    let mut options = DemoOptions::default();
    if let Some(products) = std::env::var("SHELFSYNC_DEMO_PRODUCTS")
        .ok()
        .and_then(|v| v.parse::<usize>().ok())
    {
        options.products = products.clamp(1, 200_000);
    }
    // `SHELFSYNC_DEMO_PLAN` gives the demo store another Shopify plan's API budget
    // (`standard`: 2,000 points refilled at 100/s; default `plus`), to watch the rate-limit
    // gauge with a small bucket, as the end-to-end test of the gauge does.
    if let Ok(plan) = std::env::var("SHELFSYNC_DEMO_PLAN")
        && !plan.trim().is_empty()
    {
        options.plan = plan.trim().to_string();
    }
    // `SHELFSYNC_DEMO_ORDER_SECS` sets how often the demo store's customers place an order
    // (default every 5 s; `0`: never), so a test can place its own and know which one it sees.
    if let Some(secs) = std::env::var("SHELFSYNC_DEMO_ORDER_SECS")
        .ok()
        .and_then(|v| v.trim().parse::<u64>().ok())
    {
        options.order_every = (secs > 0).then(|| Duration::from_secs(secs.min(86_400)));
    }
    options
}

/// Notices of one kind closer together than this are shown as one summary.
pub const NOTICE_WINDOW: Duration = Duration::from_secs(30);

struct Current {
    engine: Arc<Engine>,
    demo: bool,
    tasks: CancellationToken,
}

pub struct AppState {
    app: AppHandle,
    data_dir: PathBuf,
    current: Mutex<Current>,
    demo_store: Mutex<Option<DemoStore>>,
    /// The running poller, if any; pausing cancels it.
    poller: Mutex<Option<CancellationToken>>,
    settings_file: SettingsFile,
    settings: Mutex<Settings>,
    /// How webhooks reach the owner's store (saved beside the settings).
    webhooks: Mutex<WebhookSettings>,
    /// Why the owner's webhook intake did not start the last time it was tried.
    intake_problem: Mutex<Option<UiError>>,
    /// A problem reading the settings file, shown on the Settings page.
    settings_problem: Mutex<Option<String>>,
    notices: Mutex<Coalescer>,
    /// The bulk update plan on screen, and whether one is running.
    bulk: crate::bulk::BulkDesk,
}

impl AppState {
    pub fn new(app: AppHandle, data_dir: PathBuf, config_dir: PathBuf) -> Self {
        let settings_file = SettingsFile::new(&config_dir);
        let (document, settings_problem) = match settings_file.load() {
            Ok(doc) => (doc, None),
            Err(problem) => {
                tracing::warn!(%problem, "settings");
                (SettingsDocument::default(), Some(problem))
            }
        };
        let engine = Arc::new(
            Engine::new(EngineConfig {
                data_dir: data_dir.clone(),
                keychain: Keychain::platform(),
                clock: Clock::real(),
            })
            .with_job_config(job_config()),
        );
        let state = Self {
            app,
            data_dir,
            current: Mutex::new(Current {
                engine: engine.clone(),
                demo: false,
                tasks: CancellationToken::new(),
            }),
            demo_store: Mutex::new(None),
            poller: Mutex::new(None),
            settings_file,
            settings: Mutex::new(document.settings),
            webhooks: Mutex::new(document.webhooks),
            intake_problem: Mutex::new(None),
            settings_problem: Mutex::new(settings_problem),
            notices: Mutex::new(Coalescer::new(NOTICE_WINDOW)),
            bulk: crate::bulk::BulkDesk::default(),
        };
        state.apply_low_stock(&engine);
        state.watch(&engine, &state.tasks());
        state
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Current> {
        self.current.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn engine(&self) -> Arc<Engine> {
        self.lock().engine.clone()
    }

    pub fn is_demo(&self) -> bool {
        self.lock().demo
    }

    /// The bulk update plan on screen, and whether one is running.
    pub fn bulk(&self) -> &crate::bulk::BulkDesk {
        &self.bulk
    }

    fn tasks(&self) -> CancellationToken {
        self.lock().tasks.clone()
    }

    /// Resumes the owner's saved store, if any, and starts polling it.
    pub async fn resume_saved(&self) {
        let engine = self.engine();
        match engine.saved_profile() {
            Ok(Some(_)) => match engine.resume().await {
                Ok(_) => {
                    self.start_polling();
                    let _ = self.start_owner_intake().await;
                }
                Err(err) => tracing::warn!(error = %err, "could not resume the saved store"),
            },
            Ok(None) => {}
            Err(err) => tracing::warn!(error = %err, "could not read the saved store"),
        }
    }

    /// Starts the demo store in an engine of its own and makes it current.
    pub async fn start_demo(&self) -> Result<Arc<Engine>, shelfsync_engine::EngineError> {
        let engine = Arc::new(
            Engine::new(EngineConfig {
                data_dir: self.data_dir.join("demo"),
                keychain: Keychain::in_memory(format!(
                    "{}.demo",
                    Keychain::platform().namespace()
                ))?,
                clock: Clock::real(),
            })
            .with_job_config(job_config()),
        );
        let tasks = CancellationToken::new();
        self.apply_low_stock(&engine);
        self.watch(&engine, &tasks);
        let demo = DemoStore::start(&engine, demo_options()).await?;
        // The demo shows webhooks arriving; without them it still syncs by polling.
        match demo.start_intake(&engine).await {
            Ok((addr, url)) => tracing::info!(%addr, %url, "demo store webhooks"),
            Err(err) => tracing::warn!(error = %err, "the demo store's webhooks did not start"),
        }
        let previous_demo = self
            .demo_store
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .replace(demo);
        let replaced = {
            let mut current = self.lock();
            current.tasks.cancel();
            std::mem::replace(
                &mut *current,
                Current {
                    engine: engine.clone(),
                    demo: true,
                    tasks,
                },
            )
        };
        replaced.engine.stop_intake().await;
        if let Some(old) = previous_demo {
            old.stop().await;
        }
        Ok(engine)
    }

    /// Starts the demo store, queues its first full sync and polls it. A failure is also
    /// told to the UI, since nobody may be looking at the terminal.
    pub async fn open_demo(&self) -> Result<Arc<Engine>, shelfsync_engine::EngineError> {
        let opened: Result<Arc<Engine>, shelfsync_engine::EngineError> = async {
            let engine = self.start_demo().await?;
            self.queue_sync(SyncKind::Full).await?;
            self.start_polling();
            Ok(engine)
        }
        .await;
        if let Err(err) = &opened {
            let _ = self.app.emit(
                ENGINE_EVENT,
                UiEvent::Attention {
                    title: "The demo store did not start".into(),
                    message: err.to_string(),
                },
            );
        }
        opened
    }

    /// Switches back to the owner's engine (after connecting a real store).
    pub fn use_owner_engine(&self, engine: Arc<Engine>) {
        let tasks = CancellationToken::new();
        self.apply_low_stock(&engine);
        self.watch(&engine, &tasks);
        let replaced = {
            let mut current = self.lock();
            current.tasks.cancel();
            std::mem::replace(
                &mut *current,
                Current {
                    engine: engine.clone(),
                    demo: false,
                    tasks,
                },
            )
        };
        // The demo's listener and subscriptions end with it.
        if !Arc::ptr_eq(&replaced.engine, &engine) {
            tauri::async_runtime::spawn(async move { replaced.engine.stop_intake().await });
        }
    }

    /// A new engine for the owner's store (connect replaces the current one).
    pub fn owner_engine(&self) -> Arc<Engine> {
        let current = self.lock();
        if !current.demo {
            return current.engine.clone();
        }
        Arc::new(
            Engine::new(EngineConfig {
                data_dir: self.data_dir.clone(),
                keychain: Keychain::platform(),
                clock: Clock::real(),
            })
            .with_job_config(job_config()),
        )
    }

    /// Queues a sync as a durable job; its progress and outcome arrive as events, and a
    /// sync that keeps failing lands in the failed list.
    pub async fn queue_sync(&self, kind: SyncKind) -> Result<(), shelfsync_engine::EngineError> {
        self.engine().request_sync(kind).await.map(|_| ())
    }

    /// Polls the current store for changes until the engine is replaced.
    pub fn start_polling(&self) {
        let engine = self.engine();
        // The poller stops with the engine's tasks, or when paused.
        let token = self.tasks().child_token();
        if let Some(old) = self
            .poller
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .replace(token.clone())
        {
            old.cancel();
        }
        self.update_tray(|m| {
            m.connected = true;
            m.paused = false;
        });
        let every = self.settings().poll_interval();
        tauri::async_runtime::spawn(engine.poll(every, token));
    }

    /// Stops the schedule of syncs (work already queued still runs).
    pub fn pause(&self) {
        if let Some(token) = self.poller.lock().unwrap_or_else(|p| p.into_inner()).take() {
            token.cancel();
        }
        self.update_tray(|m| m.paused = true);
    }

    pub fn is_paused(&self) -> bool {
        self.poller
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .is_none()
    }

    /// Gives `engine` the owner's global low-stock line, which it compares stock with.
    fn apply_low_stock(&self, engine: &Engine) {
        engine
            .low_stock()
            .set_global(self.settings().low_stock_threshold);
    }

    pub fn settings(&self) -> Settings {
        self.settings
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    pub fn settings_problem(&self) -> Option<String> {
        self.settings_problem
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Saves new settings and applies them: the low-stock line goes to the engine, the poll
    /// interval restarts a running poller, start-at-login is registered with the OS.
    pub fn save_settings(&self, new: Settings) -> Result<Settings, String> {
        self.settings_file.save(&SettingsDocument {
            settings: new.clone(),
            webhooks: self.webhook_settings(),
        })?;
        let old = std::mem::replace(
            &mut *self.settings.lock().unwrap_or_else(|p| p.into_inner()),
            new.clone(),
        );
        *self
            .settings_problem
            .lock()
            .unwrap_or_else(|p| p.into_inner()) = None;
        self.apply_low_stock(&self.engine());
        if old.poll_interval_secs != new.poll_interval_secs && !self.is_paused() {
            self.start_polling();
        }
        if old.start_at_login != new.start_at_login {
            use tauri_plugin_autostart::ManagerExt;
            let launcher = self.app.autolaunch();
            let applied = if new.start_at_login {
                launcher.enable()
            } else {
                launcher.disable()
            };
            if let Err(err) = applied {
                return Err(format!(
                    "Settings saved, but starting at login could not be changed: {err}"
                ));
            }
        }
        Ok(new)
    }

    /// Shows a desktop notification for what needs a person, if the owner wants that kind,
    /// coalescing bursts into one summary.
    fn notify(&self, event: &EngineEvent) {
        let notice = match event {
            EngineEvent::Relay { relay } => crate::intake::relay_notice(relay),
            EngineEvent::NewOrder { order } => Some(crate::orders::order_notice(order)),
            EngineEvent::LowStock { stock } => Some(crate::orders::low_stock_notice(stock)),
            EngineEvent::BulkFinished { file_name, outcome } => {
                Some(crate::bulk::finished_notice(file_name, outcome))
            }
            _ => None,
        };
        if let Some(notice) = notice {
            self.offer_notice(notice);
            return;
        }
        let (kind, title, body) = match event {
            EngineEvent::SyncFinished {
                sync: SyncKind::Full,
                rows,
                ..
            } => (
                NoticeKind::SyncFinished,
                "Full sync finished".to_string(),
                format!("{rows} variants are in Shelfsync."),
            ),
            EngineEvent::Attention { attention } => {
                let kind = match attention {
                    shelfsync_engine::Attention::JobFailed { .. } => NoticeKind::JobFailed,
                    shelfsync_engine::Attention::Reconnect { .. } => NoticeKind::Reconnect,
                };
                match UiEvent::from(event.clone()) {
                    UiEvent::Attention { title, message } => (kind, title, message),
                    _ => return,
                }
            }
            _ => return,
        };
        self.offer_notice(Notice { kind, title, body });
    }

    /// Shows `notice` if the owner wants its kind, coalescing bursts of one kind into one
    /// summary.
    fn offer_notice(&self, notice: Notice) {
        let Notice { kind, title, body } = notice;
        if !self.settings().wants(kind) {
            return;
        }
        let offer = self
            .notices
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .offer(kind, std::time::Instant::now());
        if offer == Offer::Held {
            return;
        }
        show_notification(&self.app, &title, &body);
        let app = self.app.clone();
        tauri::async_runtime::spawn(async move {
            tokio::time::sleep(NOTICE_WINDOW).await;
            let state = app.state::<AppState>();
            let held = state
                .notices
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .close(kind);
            if held > 0 {
                let (title, body) = kind.summary(held);
                show_notification(&app, &title, &body);
            }
        });
    }

    fn update_tray(&self, f: impl FnOnce(&mut crate::tray::TrayModel)) {
        if let Some(tray) = self.app.try_state::<crate::tray::Tray>() {
            tray.update(f);
        }
    }

    /// Forwards `engine`'s events to the UI, and what needs a person to a notification.
    fn watch(&self, engine: &Arc<Engine>, tasks: &CancellationToken) {
        // What the tray knew about the previous engine's webhooks does not carry over.
        self.update_tray(|m| m.intake_restarted());
        self.watch_intake(engine, tasks);
        let mut rx = engine.events().subscribe();
        let app = self.app.clone();
        let tasks = tasks.clone();
        tauri::async_runtime::spawn(async move {
            loop {
                let event = tokio::select! {
                    _ = tasks.cancelled() => return,
                    e = rx.recv() => e,
                };
                match event {
                    Ok(event) => {
                        if let Some(state) = app.try_state::<AppState>() {
                            state.notify(&event);
                        }
                        if let Some(tray) = app.try_state::<crate::tray::Tray>() {
                            tray.update(|m| m.apply(&event));
                        }
                        let _ = app.emit(ENGINE_EVENT, UiEvent::from(event));
                    }
                    Err(tokio::sync::broadcast::error::RecvError::Lagged(n)) => {
                        tracing::debug!(missed = n, "UI event forwarder lagged");
                    }
                    Err(tokio::sync::broadcast::error::RecvError::Closed) => return,
                }
            }
        });
    }
}

impl AppState {
    /// Forwards `engine`'s intake events to the UI and the tray, and a lost subscription to a
    /// notification.
    fn watch_intake(&self, engine: &Arc<Engine>, tasks: &CancellationToken) {
        let mut rx = engine.intake_events().subscribe();
        let app = self.app.clone();
        let tasks = tasks.clone();
        tauri::async_runtime::spawn(async move {
            loop {
                let event = tokio::select! {
                    _ = tasks.cancelled() => return,
                    e = rx.recv() => e,
                };
                match event {
                    Ok(event) => {
                        if let Some(notice) = crate::intake::intake_notice(&event)
                            && let Some(state) = app.try_state::<AppState>()
                        {
                            state.offer_notice(notice);
                        }
                        if let Some(tray) = app.try_state::<crate::tray::Tray>() {
                            tray.update(|m| m.apply_intake(&event));
                        }
                        let _ = app.emit(ENGINE_EVENT, UiEvent::from_intake(event));
                    }
                    Err(tokio::sync::broadcast::error::RecvError::Lagged(n)) => {
                        tracing::debug!(missed = n, "intake event forwarder lagged");
                    }
                    Err(tokio::sync::broadcast::error::RecvError::Closed) => return,
                }
            }
        });
    }

    pub fn webhook_settings(&self) -> WebhookSettings {
        self.webhooks
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    fn set_intake_problem(&self, problem: Option<UiError>) {
        *self
            .intake_problem
            .lock()
            .unwrap_or_else(|p| p.into_inner()) = problem;
    }

    /// Starts (or restarts, or stops) the owner's webhook intake from the saved webhook
    /// settings. The demo store runs its own. A failure is also kept for the Settings page.
    pub async fn start_owner_intake(&self) -> Result<(), UiError> {
        if self.is_demo() {
            return Ok(());
        }
        let engine = self.engine();
        let webhooks = self.webhook_settings();
        // A restarted intake registers its subscriptions and polls its relay afresh.
        self.update_tray(|m| m.intake_restarted());
        let result = async {
            let Some(profile) = engine.profile() else {
                return Ok(());
            };
            let signing = if webhooks.listen && matches!(profile.auth, AuthMethod::AdminToken) {
                engine
                    .keychain()
                    .find(
                        &StoreKey::new(&profile.address),
                        SecretKind::WebhookSigningSecret,
                    )
                    .await?
            } else {
                None
            };
            match crate::intake::intake_config(&webhooks, signing) {
                Some(config) => engine
                    .start_intake(config)
                    .await
                    .map(|_| ())
                    .map_err(crate::intake::intake_error),
                None => {
                    engine.stop_intake().await;
                    Ok(())
                }
            }
        }
        .await;
        if let Err(err) = &result {
            tracing::warn!(error = %err.message, "webhook intake did not start");
        }
        self.set_intake_problem(result.as_ref().err().cloned());
        result
    }

    /// Validates and saves the webhook settings, puts the typed keys in the keychain, and
    /// restarts intake with them. A problem names the field it is about.
    pub async fn save_webhooks(
        &self,
        new: WebhookSettings,
        secrets: WebhookSecrets,
    ) -> Result<WebhookSettingsView, UiError> {
        let new = new.normalized();
        new.validate()
            .map_err(|p| crate::intake::field_error(ErrorCode::InvalidInput, p.field, p.message))?;
        let relay_key = secrets.relay_key()?;
        let signing = secrets.signing_secret();
        if signing.is_some() || relay_key.is_some() {
            let engine = self.engine();
            let (Some(profile), false) = (engine.profile(), self.is_demo()) else {
                let field = if signing.is_some() {
                    WebhookField::SigningSecret
                } else {
                    WebhookField::RelayAccessKey
                };
                return Err(crate::intake::field_error(
                    ErrorCode::NotConnected,
                    field,
                    "Connect your store first: its keys are kept in the keychain with it.",
                ));
            };
            let store = StoreKey::new(&profile.address);
            if let Some(secret) = &signing {
                engine
                    .keychain()
                    .set(&store, SecretKind::WebhookSigningSecret, secret)
                    .await?;
            }
            if let Some((access_key_id, secret_access_key)) = relay_key {
                RelayCredentials {
                    access_key_id,
                    secret_access_key,
                }
                .save(engine.keychain(), &store)
                .await?;
            }
        }
        self.settings_file
            .save(&SettingsDocument {
                settings: self.settings(),
                webhooks: new.clone(),
            })
            .map_err(|message| UiError::new(ErrorCode::Internal, message))?;
        *self.webhooks.lock().unwrap_or_else(|p| p.into_inner()) = new;
        if let Err(err) = self.start_owner_intake().await {
            return Err(UiError {
                message: format!(
                    "Saved, but webhooks are not being received: {}",
                    err.message
                ),
                ..err
            });
        }
        Ok(self.webhook_view().await)
    }

    /// The webhook settings with which keys are saved and whether intake runs.
    pub async fn webhook_view(&self) -> WebhookSettingsView {
        let engine = self.engine();
        let demo = self.is_demo();
        let profile = engine.profile().filter(|_| !demo);
        let (mut signing_saved, mut relay_saved) = (false, false);
        if let Some(p) = &profile {
            let store = StoreKey::new(&p.address);
            let keychain = engine.keychain();
            signing_saved = matches!(
                keychain
                    .find(&store, SecretKind::WebhookSigningSecret)
                    .await,
                Ok(Some(_))
            );
            relay_saved = matches!(
                keychain
                    .find(&store, SecretKind::RelaySecretAccessKey)
                    .await,
                Ok(Some(_))
            );
        }
        let status = engine.intake_status().await.ok();
        WebhookSettingsView {
            settings: self.webhook_settings(),
            signing_secret_saved: signing_saved,
            relay_key_saved: relay_saved,
            needs_signing_secret: profile
                .as_ref()
                .is_some_and(|p| matches!(p.auth, AuthMethod::AdminToken)),
            listening_on: status.as_ref().and_then(|s| s.listening_on.clone()),
            relay_queue: status.and_then(|s| s.relay.map(|r| r.queue_url)),
            problem: self
                .intake_problem
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .clone(),
            demo,
        }
    }
}

fn show_notification(app: &AppHandle, title: &str, body: &str) {
    if let Err(err) = app.notification().builder().title(title).body(body).show() {
        tracing::debug!(error = %err, "notification not shown");
    }
}

/// What the tray menu's items do.
pub fn on_tray_menu(app: &AppHandle, id: &str) {
    match id {
        "open" => crate::tray::show_main_window(app),
        "failed" => {
            crate::tray::show_main_window(app);
            if let Some(window) = app.get_webview_window("main") {
                let _ = window.eval("window.location.hash = '#/failures'");
            }
        }
        "sync" => {
            let app = app.clone();
            tauri::async_runtime::spawn(async move {
                let state = app.state::<AppState>();
                if let Err(err) = state.queue_sync(SyncKind::Incremental).await {
                    tracing::warn!(error = %err, "sync from the tray failed to start");
                }
            });
        }
        "pause" => {
            let state = app.state::<AppState>();
            if state.is_paused() {
                state.start_polling();
            } else {
                state.pause();
            }
        }
        "quit" => {
            // Intake stops first: requests in progress are committed and answered.
            let app = app.clone();
            tauri::async_runtime::spawn(async move {
                let engine = app.state::<AppState>().engine();
                let _ = tokio::time::timeout(Duration::from_secs(5), engine.stop_intake()).await;
                app.exit(0);
            });
        }
        _ => {}
    }
}
