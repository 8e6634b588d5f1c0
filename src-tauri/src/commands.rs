//! Tauri commands: each one calls the engine and maps its errors to [`UiError`].
//!
//! The list in [`ui_commands!`] is the single source for both the invoke handler and the
//! TypeScript `Commands` map in `ui/src/lib/bindings.ts`, so a command cannot be
//! registered without a typed signature in the UI, or the other way round.

use crate::bulk::{
    BulkModeView, BulkOutcomeView, BulkPlanView, BulkSummaryView, RecoveryView, UndoPreviewView,
};
use crate::error::{ErrorCode, UiError};
use crate::intake::{TestWebhookReportView, WebhookSecrets, WebhookSettingsView};
use crate::orders::{OrderStatusView, OrderView, SkuThresholdView};
use crate::settings::{Settings, WebhookSettings};
use crate::state::AppState;
use crate::views::{
    ActivityView, ConnectRequest, FailedJobView, InventoryPage, StatusView, StoreView,
};
use serde::{Deserialize, Serialize};
use shelfsync_engine::bulk_update::{ApplyOptions, PlanOptions};
use shelfsync_engine::{BulkError, ConnectWith, EngineError, Secret, SyncKind};
use tauri::{AppHandle, State};
use ts_rs::TS;

/// Who is running: shown in the UI's status line.
#[derive(Debug, Clone, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct AppInfo {
    pub product_name: String,
    pub version: String,
    pub engine_version: String,
}

#[tauri::command]
pub fn app_info(app: AppHandle) -> Result<AppInfo, UiError> {
    let info = app.package_info();
    Ok(AppInfo {
        product_name: info.name.clone(),
        version: info.version.to_string(),
        engine_version: shelfsync_engine::VERSION.to_string(),
    })
}

/// The connected store, the API budget, the cache and the queue.
#[tauri::command]
pub async fn get_status(state: State<'_, AppState>) -> Result<StatusView, UiError> {
    let engine = state.engine();
    let status = engine.status().await?;
    Ok(StatusView::from_status(status, state.is_demo()))
}

/// Connects the owner's store. The secret travels in its own argument and goes straight to
/// the keychain; it is never stored anywhere else or echoed back.
#[tauri::command]
pub async fn connect_store(
    state: State<'_, AppState>,
    request: ConnectRequest,
    secret: SecretInput,
) -> Result<StoreView, UiError> {
    let secret = Secret::new(secret.0);
    let with = match request.client_id.filter(|id| !id.trim().is_empty()) {
        Some(client_id) => ConnectWith::ClientCredentials {
            client_id,
            client_secret: secret,
        },
        None => ConnectWith::AdminToken(secret),
    };
    let engine = state.owner_engine();
    let profile = engine.connect(&request.address, with).await?;
    state.use_owner_engine(engine);
    state.queue_sync(SyncKind::Full).await?;
    state.start_polling();
    // A problem starting webhooks does not undo the connection; Settings shows it.
    let _ = state.start_owner_intake().await;
    Ok(StoreView::from_profile(&profile, false))
}

/// Starts the built-in demo store and syncs it.
#[tauri::command]
pub async fn start_demo(state: State<'_, AppState>) -> Result<StoreView, UiError> {
    let engine = state.open_demo().await?;
    let profile = engine
        .profile()
        .ok_or_else(|| UiError::new(ErrorCode::Internal, "the demo store did not connect"))?;
    Ok(StoreView::from_profile(&profile, true))
}

/// Starts a sync now; progress arrives as events.
#[tauri::command]
pub async fn sync_now(state: State<'_, AppState>, full: bool) -> Result<(), UiError> {
    let kind = if full {
        SyncKind::Full
    } else {
        SyncKind::Incremental
    };
    state.queue_sync(kind).await?;
    Ok(())
}

/// Variants whose SKU or title starts with `query`, a page at a time, with how many there
/// are in all.
#[tauri::command]
pub async fn search_inventory(
    state: State<'_, AppState>,
    query: String,
    limit: u32,
    offset: u32,
) -> Result<InventoryPage, UiError> {
    let page = state
        .engine()
        .search_inventory_page(&query, limit.min(500), offset)
        .await?;
    Ok(page.into())
}

/// Jobs that failed after their retries, for the Failures page.
#[tauri::command]
pub async fn list_failed_jobs(state: State<'_, AppState>) -> Result<Vec<FailedJobView>, UiError> {
    let jobs = state.engine().failed_jobs().await?;
    Ok(jobs.into_iter().map(FailedJobView::from).collect())
}

/// Puts one failed job back in the queue.
#[tauri::command]
pub async fn retry_job(state: State<'_, AppState>, id: Id) -> Result<(), UiError> {
    Ok(state.engine().retry_job(id.0).await?)
}

/// Puts every failed job back in the queue; returns how many.
#[tauri::command]
pub async fn retry_all_jobs(state: State<'_, AppState>) -> Result<u32, UiError> {
    let n = state.engine().retry_all_jobs().await?;
    Ok(u32::try_from(n).unwrap_or(u32::MAX))
}

/// Drops a failed job for good (recorded in the activity log).
#[tauri::command]
pub async fn discard_job(state: State<'_, AppState>, id: Id) -> Result<(), UiError> {
    Ok(state.engine().discard_job(id.0).await?)
}

/// The latest changes to the local copy, newest first (at most 1000).
#[tauri::command]
pub async fn recent_activity(
    state: State<'_, AppState>,
    limit: u32,
) -> Result<Vec<ActivityView>, UiError> {
    let entries = state.engine().recent_activity(limit.min(1000)).await?;
    Ok(entries.into_iter().map(ActivityView::from).collect())
}

/// The newest orders first (at most 500), optionally only those in `status`, each line with
/// what it did to stock.
#[tauri::command]
pub async fn recent_orders(
    state: State<'_, AppState>,
    status: Option<OrderStatusView>,
    limit: u32,
) -> Result<Vec<OrderView>, UiError> {
    let orders = state
        .engine()
        .recent_orders(status.map(Into::into), limit.min(500))
        .await?;
    Ok(orders.into_iter().map(OrderView::from).collect())
}

/// Queues a reconciliation pass now; its result arrives as a `reconciled` event.
#[tauri::command]
pub async fn reconcile_now(state: State<'_, AppState>) -> Result<(), UiError> {
    state.engine().request_reconciliation("manual").await?;
    Ok(())
}

/// The SKUs with a low-stock line of their own, by SKU.
#[tauri::command]
pub async fn sku_thresholds(state: State<'_, AppState>) -> Result<Vec<SkuThresholdView>, UiError> {
    let lines = state.engine().sku_thresholds().await?;
    Ok(lines
        .into_iter()
        .map(|(sku, threshold)| SkuThresholdView { sku, threshold })
        .collect())
}

/// Sets a SKU's own low-stock line, or with `null` removes it (the global line applies
/// again); returns the whole list.
#[tauri::command]
pub async fn set_sku_threshold(
    state: State<'_, AppState>,
    sku: String,
    threshold: Option<u32>,
) -> Result<Vec<SkuThresholdView>, UiError> {
    let sku = crate::orders::check_sku_threshold(&sku, threshold)?;
    state.engine().set_sku_threshold(&sku, threshold).await?;
    sku_thresholds(state).await
}

/// The owner's settings, and a problem reading them if there was one.
#[derive(Debug, Clone, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct SettingsView {
    pub settings: Settings,
    pub problem: Option<String>,
}

#[tauri::command]
pub fn get_settings(state: State<'_, AppState>) -> Result<SettingsView, UiError> {
    Ok(SettingsView {
        settings: state.settings(),
        problem: state.settings_problem(),
    })
}

/// Validates, saves and applies new settings.
#[tauri::command]
pub fn save_settings(state: State<'_, AppState>, settings: Settings) -> Result<Settings, UiError> {
    state
        .save_settings(settings)
        .map_err(|message| UiError::new(ErrorCode::InvalidInput, message))
}

/// The webhook settings, which keys are saved, and whether intake runs.
#[tauri::command]
pub async fn get_webhook_settings(
    state: State<'_, AppState>,
) -> Result<WebhookSettingsView, UiError> {
    Ok(state.webhook_view().await)
}

/// Validates and saves the webhook settings, stores the typed keys in the keychain, and
/// restarts intake. A problem names the field it is about.
#[tauri::command]
pub async fn save_webhook_settings(
    state: State<'_, AppState>,
    settings: WebhookSettings,
    secrets: WebhookSecrets,
) -> Result<WebhookSettingsView, UiError> {
    state.save_webhooks(settings, secrets).await
}

/// Sends a signed test event through each running intake path with an address (the tunnel's
/// URL, the EventBridge event source) and reports, per path, whether it reached the inbox.
#[tauri::command]
pub async fn send_test_webhook(
    state: State<'_, AppState>,
) -> Result<TestWebhookReportView, UiError> {
    let report = state
        .engine()
        .send_test_webhook(crate::intake::TEST_WEBHOOK_WAIT)
        .await
        .map_err(crate::intake::intake_error)?;
    Ok(report.into())
}

/// Reads the file at `path` and works out what it would change, against the store's current
/// values (read from Shopify now, not from the local copy). Writes nothing to the store. The
/// plan stays here; the answer shows it, with the handle that applies it.
#[tauri::command]
pub async fn plan_bulk_update(
    state: State<'_, AppState>,
    path: String,
) -> Result<BulkPlanView, UiError> {
    let Some(path) = crate::bulk::typed_path(&path) else {
        return Err(UiError::new(
            ErrorCode::InvalidInput,
            "Enter the path of a CSV file, or drop the file on this window.",
        ));
    };
    let engine = state.engine();
    let plan = engine
        .plan_bulk_update(&path, PlanOptions::default())
        .await?;
    let (handle, plan) = state.bulk().show(engine, plan);
    Ok(BulkPlanView::from_plan(handle, &plan))
}

/// Applies the plan shown under `handle`, exactly as shown; progress arrives as
/// `bulkProgress` events and the end as a `bulkFinished` event too. A plan is applied once:
/// after that (or after a failure midway) its handle no longer applies anything.
#[tauri::command]
pub async fn apply_bulk_update(
    state: State<'_, AppState>,
    handle: Id,
    mode: BulkModeView,
    skip_problems: bool,
) -> Result<BulkOutcomeView, UiError> {
    let engine = state.engine();
    let plan = state.bulk().plan(handle.0, &engine)?;
    let running = state.bulk().start()?;
    let options = ApplyOptions {
        mode: mode.into(),
        skip_problems,
    };
    let applied = crate::bulk::to_the_end(move || async move {
        let _running = running;
        engine.apply_bulk_update(&plan, options).await
    })
    .await;
    match applied {
        // Refused before anything was written: the same plan can be applied with other choices.
        Ok(Err(err @ EngineError::Bulk(BulkError::Unresolved(_)))) => Err(err.into()),
        // Anything else has written it, or may have written part of it (the journal has it
        // then, and the page offers to roll it back or finish it): it is not applied again.
        applied => {
            state.bulk().forget(handle.0);
            Ok((&applied??).into())
        }
    }
}

/// What undoing bulk update `id` would put back, and what it would leave because the store
/// changed since. Writes nothing.
#[tauri::command]
pub async fn bulk_undo_preview(
    state: State<'_, AppState>,
    id: Id,
) -> Result<UndoPreviewView, UiError> {
    let bulk = state.engine().bulk_updates()?;
    let preview = crate::bulk::to_the_end(move || async move {
        bulk.undo_preview(id.0).await.map_err(UiError::from)
    })
    .await??;
    Ok(preview.into())
}

/// Undoes bulk update `id`: each change is reversed by its difference, so units sold since
/// stay sold. Progress arrives as events.
#[tauri::command]
pub async fn undo_bulk_update(
    state: State<'_, AppState>,
    id: Id,
) -> Result<BulkOutcomeView, UiError> {
    let engine = state.engine();
    let running = state.bulk().start()?;
    let outcome = crate::bulk::to_the_end(move || async move {
        let _running = running;
        engine.undo_bulk_update(id.0).await
    })
    .await??;
    Ok((&outcome).into())
}

/// Rolls back (the safe choice) or finishes bulk update `id`, which a crash or a lost
/// connection stopped midway. Progress arrives as events.
#[tauri::command]
pub async fn recover_bulk_update(
    state: State<'_, AppState>,
    id: Id,
    choice: RecoveryView,
) -> Result<BulkOutcomeView, UiError> {
    let engine = state.engine();
    let running = state.bulk().start()?;
    let outcome = crate::bulk::to_the_end(move || async move {
        let _running = running;
        engine.recover_bulk_update(id.0, choice.into()).await
    })
    .await??;
    Ok((&outcome).into())
}

/// The latest bulk updates, newest first (at most 200).
#[tauri::command]
pub async fn list_bulk_updates(
    state: State<'_, AppState>,
    limit: u32,
) -> Result<Vec<BulkSummaryView>, UiError> {
    let updates = state.engine().bulk_updates()?.list(limit.min(200)).await?;
    Ok(updates.iter().map(Into::into).collect())
}

/// Bulk updates a crash or a lost connection stopped midway, oldest first.
#[tauri::command]
pub async fn unfinished_bulk_updates(
    state: State<'_, AppState>,
) -> Result<Vec<BulkSummaryView>, UiError> {
    let updates = state.engine().bulk_updates()?.unfinished().await?;
    Ok(updates.iter().map(Into::into).collect())
}

/// Types that cross the boundary as a plain TypeScript type (`number`, `string`).
macro_rules! ts_as {
    ($ty:ident, $ts:literal) => {
        impl TS for $ty {
            type WithoutGenerics = Self;
            type OptionInnerType = Self;
            fn name(_: &ts_rs::Config) -> String {
                $ts.into()
            }
            fn inline(_: &ts_rs::Config) -> String {
                $ts.into()
            }
            fn decl(_: &ts_rs::Config) -> String {
                concat!("type ", stringify!($ty), " = ", $ts, ";").into()
            }
            fn decl_concrete(c: &ts_rs::Config) -> String {
                Self::decl(c)
            }
        }
    };
}

/// A row id from the UI. It travels as a JSON number (TypeScript `number`: ids stay far
/// below 2^53), never as a `bigint`, which JSON cannot carry.
#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(transparent)]
pub struct Id(pub i64);

ts_as!(Id, "number");

/// A secret typed into the UI. It deserializes from a plain string but cannot be printed
/// or serialized back, so it cannot leak into a log or an answer.
#[derive(Deserialize)]
#[serde(transparent)]
pub struct SecretInput(String);

impl SecretInput {
    /// The typed secret, trimmed; `None` when nothing was typed.
    pub fn secret(&self) -> Option<Secret> {
        let typed = self.0.trim();
        (!typed.is_empty()).then(|| Secret::new(typed))
    }
}

impl std::fmt::Debug for SecretInput {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SecretInput(<redacted>)")
    }
}

ts_as!(SecretInput, "string");

/// One command's TypeScript signature: name, arguments (`name: Type` pairs as the UI
/// passes them, camelCase) and result type.
pub struct CommandSignature {
    pub name: &'static str,
    pub args: Vec<(&'static str, String)>,
    pub result: String,
}

macro_rules! ui_commands {
    ($(fn $name:ident($($arg:ident: $ty:ty),* $(,)?) -> $ret:ty;)*) => {
        /// The invoke handler for every command the UI may call.
        pub fn handler() -> impl Fn(tauri::ipc::Invoke) -> bool + Send + Sync + 'static {
            tauri::generate_handler![$($name),*]
        }

        /// The signatures of those same commands, for the TypeScript bindings.
        pub fn signatures() -> Vec<CommandSignature> {
            vec![$(CommandSignature {
                name: stringify!($name),
                args: vec![$((stringify!($arg), <$ty as ts_rs::TS>::name(&ts_rs::Config::default()))),*],
                result: <$ret as ts_rs::TS>::name(&ts_rs::Config::default()),
            }),*]
        }
    };
}

ui_commands! {
    fn app_info() -> AppInfo;
    fn get_status() -> StatusView;
    fn connect_store(request: ConnectRequest, secret: SecretInput) -> StoreView;
    fn start_demo() -> StoreView;
    fn sync_now(full: bool) -> ();
    fn search_inventory(query: String, limit: u32, offset: u32) -> InventoryPage;
    fn list_failed_jobs() -> Vec<FailedJobView>;
    fn retry_job(id: Id) -> ();
    fn retry_all_jobs() -> u32;
    fn discard_job(id: Id) -> ();
    fn recent_activity(limit: u32) -> Vec<ActivityView>;
    fn recent_orders(status: Option<OrderStatusView>, limit: u32) -> Vec<OrderView>;
    fn reconcile_now() -> ();
    fn sku_thresholds() -> Vec<SkuThresholdView>;
    fn set_sku_threshold(sku: String, threshold: Option<u32>) -> Vec<SkuThresholdView>;
    fn get_settings() -> SettingsView;
    fn save_settings(settings: Settings) -> Settings;
    fn get_webhook_settings() -> WebhookSettingsView;
    fn save_webhook_settings(settings: WebhookSettings, secrets: WebhookSecrets) -> WebhookSettingsView;
    fn send_test_webhook() -> TestWebhookReportView;
    fn plan_bulk_update(path: String) -> BulkPlanView;
    fn apply_bulk_update(handle: Id, mode: BulkModeView, skip_problems: bool) -> BulkOutcomeView;
    fn bulk_undo_preview(id: Id) -> UndoPreviewView;
    fn undo_bulk_update(id: Id) -> BulkOutcomeView;
    fn recover_bulk_update(id: Id, choice: RecoveryView) -> BulkOutcomeView;
    fn list_bulk_updates(limit: u32) -> Vec<BulkSummaryView>;
    fn unfinished_bulk_updates() -> Vec<BulkSummaryView>;
}
