//! Bulk updates in the app: the engine's plans, outcomes and journal in the shapes the Bulk
//! update and Activity pages show, the plan the owner is looking at, and the notification
//! when an update ends.
//!
//! Preview and apply share one path. The engine makes a plan from a file; the app keeps that
//! plan here and hands the page only a view of it and a handle. Applying sends the handle
//! back, never a plan, so what is applied is exactly what was shown: the page cannot alter a
//! row, and a plan made for one store cannot be applied to another (the handle remembers the
//! engine it was made with). One bulk update runs at a time; a second request while one runs
//! is refused rather than queued, because its plan's "before" values would be stale by then.

use crate::error::{ErrorCode, UiError};
use crate::intake::Notice;
use crate::settings::NoticeKind;
use serde::{Deserialize, Serialize};
use shelfsync_engine::Engine;
use shelfsync_engine::bulk_update::{
    BulkSummary, Conflict, Outcome, Plan, PriceRow, Progress, QuantityRow, Recovery, UndoPreview,
};
use shelfsync_engine::import::{Format, Problem, ProblemKind, QuantityName};
use shelfsync_store::{BulkMode, BulkState};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::sync::{Arc, Mutex};
use ts_rs::TS;

/// What kind of file the plan was read from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "kebab-case")]
pub enum FileFormatView {
    /// Shopify's inventory export.
    ShopifyInventory,
    /// Shopify's product CSV.
    ShopifyProduct,
    /// `sku,location,quantity`.
    PlainQuantity,
    /// `sku,price`.
    PlainPrice,
}

impl From<Format> for FileFormatView {
    fn from(f: Format) -> Self {
        match f {
            Format::ShopifyInventory => Self::ShopifyInventory,
            Format::ShopifyProduct => Self::ShopifyProduct,
            Format::PlainQuantity => Self::PlainQuantity,
            Format::PlainPrice => Self::PlainPrice,
        }
    }
}

/// Which of Shopify's quantities a row sets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum QuantityFieldView {
    Available,
    OnHand,
}

impl From<QuantityName> for QuantityFieldView {
    fn from(n: QuantityName) -> Self {
        match n {
            QuantityName::Available => Self::Available,
            QuantityName::OnHand => Self::OnHand,
        }
    }
}

/// One stock change of a plan: a variant's quantity at one location, before and after.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct QuantityRowView {
    /// The file's row, as a spreadsheet numbers it (the header is row 1).
    #[ts(type = "number")]
    pub row: u64,
    pub sku: String,
    #[ts(type = "number")]
    pub product_id: i64,
    pub product_title: String,
    #[ts(type = "number")]
    pub variant_id: i64,
    /// Empty for a product's only variant.
    pub variant_title: String,
    pub location: String,
    pub field: QuantityFieldView,
    /// The store's value when the plan was made, read live from Shopify.
    #[ts(type = "number")]
    pub before: i64,
    #[ts(type = "number")]
    pub after: i64,
    #[ts(type = "number")]
    pub delta: i64,
    /// Shelfsync's copy, when it differed from the store's value: the store changed since
    /// the last sync.
    #[ts(type = "number | null")]
    pub cached: Option<i64>,
    /// Beyond the plan's large-change line.
    pub large: bool,
}

impl From<&QuantityRow> for QuantityRowView {
    fn from(q: &QuantityRow) -> Self {
        Self {
            row: q.row,
            sku: q.sku.clone(),
            product_id: q.product_id,
            product_title: q.product_title.clone(),
            variant_id: q.variant_id,
            variant_title: variant_title(&q.variant_title),
            location: q.location_name.clone(),
            field: q.name.into(),
            before: q.before,
            after: q.after,
            delta: q.delta,
            cached: q.cached,
            large: q.large,
        }
    }
}

/// One price change of a plan. Amounts are decimal text with two decimals.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct PriceRowView {
    #[ts(type = "number")]
    pub row: u64,
    pub sku: String,
    #[ts(type = "number")]
    pub product_id: i64,
    pub product_title: String,
    #[ts(type = "number")]
    pub variant_id: i64,
    pub variant_title: String,
    pub before_price: String,
    pub after_price: String,
    pub before_compare_at: Option<String>,
    pub after_compare_at: Option<String>,
    /// Whether the price or the compare-at price changes.
    pub changes: bool,
    pub large: bool,
}

impl From<&PriceRow> for PriceRowView {
    fn from(p: &PriceRow) -> Self {
        Self {
            row: p.row,
            sku: p.sku.clone(),
            product_id: p.product_id,
            product_title: p.product_title.clone(),
            variant_id: p.variant_id,
            variant_title: variant_title(&p.variant_title),
            before_price: p.before_price.clone(),
            after_price: p.after_price.clone(),
            before_compare_at: p.before_compare_at.clone(),
            after_compare_at: p.after_compare_at.clone(),
            changes: p.changes(),
            large: p.large,
        }
    }
}

/// Shopify calls a product's only variant "Default Title"; the page shows nothing for it.
fn variant_title(title: &str) -> String {
    if title == "Default Title" {
        String::new()
    } else {
        title.to_owned()
    }
}

/// What is wrong with a row of the file (or the file itself), where a spreadsheet shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct ProblemView {
    #[ts(type = "number")]
    pub row: u64,
    /// The header's name of the column, when the problem is in one.
    pub column: Option<String>,
    /// `not-a-number`, `negative`, `duplicate`, `unknown-sku`, … (for filtering).
    pub kind: String,
    pub message: String,
}

impl From<&Problem> for ProblemView {
    fn from(p: &Problem) -> Self {
        let kind = match p.kind {
            ProblemKind::NotANumber => "not-a-number",
            ProblemKind::Negative => "negative",
            ProblemKind::Duplicate => "duplicate",
            ProblemKind::MissingSku => "missing-sku",
            ProblemKind::MissingLocation => "missing-location",
            ProblemKind::MissingColumn => "missing-column",
            ProblemKind::UnknownFormat => "unknown-format",
            ProblemKind::Unreadable => "unreadable",
            ProblemKind::UnknownSku => "unknown-sku",
            ProblemKind::UnknownLocation => "unknown-location",
        };
        Self {
            row: p.row,
            column: p.column.clone(),
            kind: kind.into(),
            message: p.message.clone(),
        }
    }
}

/// The counts shown above a plan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct PlanSummaryView {
    /// Records after the header.
    #[ts(type = "number")]
    pub file_rows: u64,
    #[ts(type = "number")]
    pub quantity_changes: u64,
    #[ts(type = "number")]
    pub price_changes: u64,
    /// Rows that name the value the store already has.
    #[ts(type = "number")]
    pub unchanged: u64,
    #[ts(type = "number")]
    pub large: u64,
    #[ts(type = "number")]
    pub problems: u64,
    /// Rows whose store value changed since Shelfsync's last sync.
    #[ts(type = "number")]
    pub changed_in_store: u64,
    #[ts(type = "number")]
    pub units_added: i64,
    /// A positive number.
    #[ts(type = "number")]
    pub units_removed: i64,
    /// Requests it took to read the store's current values.
    #[ts(type = "number")]
    pub requests: u64,
}

/// A plan as the Bulk update page shows it, with the handle that applies it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct BulkPlanView {
    /// Give this back to apply the plan; it names this plan and no other.
    #[ts(type = "number")]
    pub handle: i64,
    pub file_name: String,
    pub format: FileFormatView,
    /// When the store's values were read (RFC 3339).
    pub read_at: String,
    /// A quantity change is large beyond this share of its value before, in percent…
    pub large_percent: u32,
    /// …or beyond this many units.
    #[ts(type = "number")]
    pub large_units: i64,
    pub summary: PlanSummaryView,
    /// In file order.
    pub quantities: Vec<QuantityRowView>,
    pub prices: Vec<PriceRowView>,
    /// By row.
    pub problems: Vec<ProblemView>,
}

impl BulkPlanView {
    pub fn from_plan(handle: i64, p: &Plan) -> Self {
        let s = &p.summary;
        Self {
            handle,
            file_name: p.file_name.clone(),
            format: p.format.into(),
            read_at: millis_rfc3339(p.read_at_ms),
            large_percent: p.options.large_percent,
            large_units: p.options.large_units,
            summary: PlanSummaryView {
                file_rows: s.file_rows,
                quantity_changes: s.quantity_changes,
                price_changes: s.price_changes,
                unchanged: s.unchanged,
                large: s.large,
                problems: s.problems,
                changed_in_store: p.quantities.iter().filter(|q| q.cached.is_some()).count() as u64,
                units_added: s.units_added,
                units_removed: s.units_removed,
                requests: p.refresh.requests,
            },
            quantities: p.quantities.iter().map(Into::into).collect(),
            prices: p.prices.iter().map(Into::into).collect(),
            problems: p.problems.iter().map(Into::into).collect(),
        }
    }
}

/// How an update treats a row someone changed since the plan.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "kebab-case")]
pub enum BulkModeView {
    /// Any conflict stops the update and reverses what it applied.
    AllOrNothing,
    /// Conflicting rows are left out and listed; the rest is applied.
    SkipConflicts,
}

impl From<BulkMode> for BulkModeView {
    fn from(m: BulkMode) -> Self {
        match m {
            BulkMode::AllOrNothing => Self::AllOrNothing,
            BulkMode::SkipConflicts => Self::SkipConflicts,
        }
    }
}

impl From<BulkModeView> for BulkMode {
    fn from(m: BulkModeView) -> Self {
        match m {
            BulkModeView::AllOrNothing => Self::AllOrNothing,
            BulkModeView::SkipConflicts => Self::SkipConflicts,
        }
    }
}

/// Where a bulk update is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "kebab-case")]
pub enum BulkStateView {
    Applying,
    Applied,
    RollingBack,
    RolledBack,
    Undoing,
    Undone,
}

impl From<BulkState> for BulkStateView {
    fn from(s: BulkState) -> Self {
        match s {
            BulkState::Applying => Self::Applying,
            BulkState::Applied => Self::Applied,
            BulkState::RollingBack => Self::RollingBack,
            BulkState::RolledBack => Self::RolledBack,
            BulkState::Undoing => Self::Undoing,
            BulkState::Undone => Self::Undone,
        }
    }
}

/// In words, for messages: "rolled back".
pub fn state_words(s: BulkState) -> &'static str {
    match s {
        BulkState::Applying => "being applied",
        BulkState::Applied => "applied",
        BulkState::RollingBack => "being rolled back",
        BulkState::RolledBack => "rolled back",
        BulkState::Undoing => "being undone",
        BulkState::Undone => "undone",
    }
}

/// What to do with an update a crash interrupted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, TS)]
#[serde(rename_all = "kebab-case")]
pub enum RecoveryView {
    /// Reverse what was applied (the safe choice).
    RollBack,
    /// Send the rest of the plan.
    Finish,
}

impl From<RecoveryView> for Recovery {
    fn from(r: RecoveryView) -> Self {
        match r {
            RecoveryView::RollBack => Recovery::RollBack,
            RecoveryView::Finish => Recovery::Finish,
        }
    }
}

/// A row that was not applied or not reversed, with what the store holds now.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct ConflictView {
    #[ts(type = "number")]
    pub row: u64,
    pub sku: String,
    pub location: Option<String>,
    /// `available`, `on_hand` or `price`.
    pub field: String,
    /// What the plan (or the apply) expected to find.
    pub expected: String,
    /// What the store holds now; absent when it could not be read.
    pub current: Option<String>,
    pub reason: String,
}

impl From<&Conflict> for ConflictView {
    fn from(c: &Conflict) -> Self {
        Self {
            row: c.row,
            sku: c.sku.clone(),
            location: c.location.clone(),
            field: c.field.clone(),
            expected: c.expected.clone(),
            current: c.current.clone(),
            reason: c.reason.clone(),
        }
    }
}

/// How a bulk update ended (or how far it got).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct BulkOutcomeView {
    /// The journal's id: give it back to undo the update.
    #[ts(type = "number")]
    pub id: i64,
    pub state: BulkStateView,
    pub mode: BulkModeView,
    /// Rows the store holds from this update now.
    #[ts(type = "number")]
    pub applied: u64,
    /// Rows whose change was reversed.
    #[ts(type = "number")]
    pub reversed: u64,
    /// Rows left out because the store had changed them ("skip conflicting rows").
    pub skipped: Vec<ConflictView>,
    /// What made an all-or-nothing update stop, when it did.
    pub stopped_by: Option<String>,
    /// Changes that could not be reversed cleanly, with the store's current value.
    pub not_reversed: Vec<ConflictView>,
}

impl From<&Outcome> for BulkOutcomeView {
    fn from(o: &Outcome) -> Self {
        Self {
            id: o.id,
            state: o.state.into(),
            mode: o.mode.into(),
            applied: o.applied,
            reversed: o.reversed,
            skipped: o.skipped.iter().map(Into::into).collect(),
            stopped_by: o.stopped_by.clone(),
            not_reversed: o.not_reversed.iter().map(Into::into).collect(),
        }
    }
}

/// A journaled bulk update, as the Activity page lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct BulkSummaryView {
    #[ts(type = "number")]
    pub id: i64,
    pub file_name: String,
    pub mode: BulkModeView,
    pub state: BulkStateView,
    /// Whether a crash stopped it midway (it waits on the Bulk update page).
    pub unfinished: bool,
    #[ts(type = "number")]
    pub quantity_changes: u64,
    #[ts(type = "number")]
    pub price_changes: u64,
    /// RFC 3339.
    pub created_at: String,
    /// RFC 3339.
    pub finished_at: Option<String>,
    pub outcome: Option<BulkOutcomeView>,
}

impl From<&BulkSummary> for BulkSummaryView {
    fn from(b: &BulkSummary) -> Self {
        Self {
            id: b.id,
            file_name: b.file_name.clone(),
            mode: b.mode.into(),
            state: b.state.into(),
            unfinished: b.state.is_unfinished(),
            quantity_changes: b.quantity_changes,
            price_changes: b.price_changes,
            created_at: millis_rfc3339(b.created_at_ms),
            finished_at: b.finished_at_ms.map(millis_rfc3339),
            outcome: b.outcome.as_ref().map(Into::into),
        }
    }
}

/// One change an undo would reverse.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct UndoRowView {
    #[ts(type = "number")]
    pub row: u64,
    pub sku: String,
    pub location: Option<String>,
    /// `available`, `on_hand` or `price`.
    pub field: String,
    /// What the update wrote.
    pub applied: String,
    /// What the store holds now.
    pub current: String,
    /// What the store will hold after the undo.
    pub after_undo: String,
}

/// What undoing an update would do, shown before the owner confirms it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct UndoPreviewView {
    #[ts(type = "number")]
    pub id: i64,
    pub reverse: Vec<UndoRowView>,
    /// Changes the undo leaves alone, because reversing them would overwrite what the store
    /// holds now.
    pub leave: Vec<ConflictView>,
}

impl From<UndoPreview> for UndoPreviewView {
    fn from(p: UndoPreview) -> Self {
        Self {
            id: p.id,
            reverse: p
                .reverse
                .into_iter()
                .map(|r| UndoRowView {
                    row: r.row,
                    sku: r.sku,
                    location: r.location,
                    field: r.field,
                    applied: r.applied,
                    current: r.current,
                    after_undo: r.after_undo,
                })
                .collect(),
            leave: p.leave.iter().map(Into::into).collect(),
        }
    }
}

/// Runs an engine call that applies, undoes or recovers a bulk update as a task of its own,
/// so it runs to its end even when the command that started it is dropped (the window
/// reloaded or closed): stopping it between two requests would leave it for recovery.
pub async fn to_the_end<T, F, Fut>(make: F) -> Result<T, UiError>
where
    F: FnOnce() -> Fut,
    Fut: std::future::Future<Output = T> + Send + 'static,
    T: Send + 'static,
{
    tokio::spawn(make()).await.map_err(|e| {
        UiError::new(
            ErrorCode::Internal,
            format!(
                "The bulk update stopped unexpectedly ({e}). It is saved: reopen the Bulk \
                 update page to roll it back or finish it."
            ),
        )
    })
}

/// The `bulkProgress` event's fields, from the engine's progress.
pub fn progress_event(p: Progress) -> crate::views::UiEvent {
    crate::views::UiEvent::BulkProgress {
        id: p.id,
        reversing: p.phase == "reversing",
        done: p.done,
        total: p.total,
        rate: p.rate,
        seconds_left: p.seconds_left,
    }
}

/// The file a person typed, pasted or dropped: surrounding quotes and blanks are dropped, a
/// `file://` address (what a file manager's "copy" gives) becomes its path, and `~/` is the
/// home folder. `None` when nothing was typed.
pub fn typed_path(text: &str) -> Option<PathBuf> {
    let text = text.trim();
    let text = text
        .strip_prefix('"')
        .and_then(|t| t.strip_suffix('"'))
        .or_else(|| text.strip_prefix('\'').and_then(|t| t.strip_suffix('\'')))
        .unwrap_or(text)
        .trim();
    if text.is_empty() {
        return None;
    }
    if let Some(rest) = text.strip_prefix("file://") {
        // `file:///home/…` or `file://localhost/home/…`.
        let rest = rest.strip_prefix("localhost").unwrap_or(rest);
        return Some(PathBuf::from(percent_decoded(rest)));
    }
    if let Some(rest) = text.strip_prefix("~/")
        && let Some(home) = std::env::var_os("HOME")
    {
        return Some(PathBuf::from(home).join(rest));
    }
    Some(PathBuf::from(text))
}

/// `%20` → a space, and so on; text that is not an escape is kept as it is.
fn percent_decoded(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let escaped = (bytes[i] == b'%')
            .then(|| text.get(i + 1..i + 3))
            .flatten()
            .and_then(|hex| u8::from_str_radix(hex, 16).ok());
        match escaped {
            Some(byte) => {
                out.push(byte);
                i += 3;
            }
            None => {
                out.push(bytes[i]);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn millis_rfc3339(ms: i64) -> String {
    shelfsync_store::Timestamp::from_millisecond(ms)
        .map(|t| t.to_string())
        .unwrap_or_default()
}

/// The notification for a bulk update that ended: applied, rolled back or undone, with what
/// needs a look.
pub fn finished_notice(file_name: &str, o: &Outcome) -> Notice {
    let file = if file_name.is_empty() {
        "The file".to_string()
    } else {
        file_name.to_owned()
    };
    let rows = |n: u64| {
        if n == 1 {
            "1 row".into()
        } else {
            format!("{n} rows")
        }
    };
    let left = o.not_reversed.len() as u64;
    let left_note = if left > 0 {
        format!(
            " {} could not be put back: open Bulk update to see them.",
            rows(left)
        )
    } else {
        String::new()
    };
    let (title, body) = match o.state {
        BulkState::Applied => {
            let skipped = o.skipped.len() as u64;
            let skipped_note = if skipped > 0 {
                format!(
                    " {} skipped (changed in the store since the preview).",
                    rows(skipped)
                )
            } else {
                String::new()
            };
            (
                "Bulk update applied",
                format!("{file}: {} changed.{skipped_note}", rows(o.applied)),
            )
        }
        BulkState::RolledBack => {
            let body = match o.stopped_by.as_deref() {
                Some(why) => format!("{file} stopped because {why}; its changes were reversed."),
                None => format!("{file}: its changes were reversed."),
            };
            ("Bulk update rolled back", format!("{body}{left_note}"))
        }
        BulkState::Undone => (
            "Bulk update undone",
            format!("{file}: {} put back.{left_note}", rows(o.reversed)),
        ),
        BulkState::Applying | BulkState::RollingBack | BulkState::Undoing => (
            "Bulk update stopped",
            format!("{file} stopped midway: open Bulk update to finish or roll it back."),
        ),
    };
    Notice {
        kind: NoticeKind::BulkUpdate,
        title: title.into(),
        body,
    }
}

/// The plan the owner is looking at, and whether a bulk update is running.
#[derive(Default)]
pub struct BulkDesk {
    shown: Mutex<Option<Shown>>,
    last_handle: AtomicI64,
    running: Arc<AtomicBool>,
}

struct Shown {
    handle: i64,
    /// The engine the plan was made with: applying it through another store's engine is
    /// refused.
    engine: Arc<Engine>,
    plan: Arc<Plan>,
}

/// Held while a bulk update runs; lets the next one start when dropped. It moves with the
/// work, so a command whose caller went away still holds it until the update ends.
pub struct Running(Arc<AtomicBool>);

impl Drop for Running {
    fn drop(&mut self) {
        self.0.store(false, Ordering::SeqCst);
    }
}

impl BulkDesk {
    /// Keeps `plan` as the one on screen (replacing any other); returns its handle.
    pub fn show(&self, engine: Arc<Engine>, plan: Plan) -> (i64, Arc<Plan>) {
        let handle = self.last_handle.fetch_add(1, Ordering::SeqCst) + 1;
        let plan = Arc::new(plan);
        *self.shown.lock().unwrap_or_else(|p| p.into_inner()) = Some(Shown {
            handle,
            engine,
            plan: plan.clone(),
        });
        (handle, plan)
    }

    /// The plan shown under `handle`, if it was made with `engine`.
    pub fn plan(&self, handle: i64, engine: &Arc<Engine>) -> Result<Arc<Plan>, UiError> {
        let shown = self.shown.lock().unwrap_or_else(|p| p.into_inner());
        match shown.as_ref() {
            Some(s) if s.handle == handle && Arc::ptr_eq(&s.engine, engine) => Ok(s.plan.clone()),
            Some(s) if s.handle == handle => Err(UiError::new(
                ErrorCode::InvalidInput,
                "This preview was made for another store. Choose the file again to see what it \
                 would change in the store connected now.",
            )),
            _ => Err(UiError::new(
                ErrorCode::InvalidInput,
                "This preview is no longer the current one (a newer file was opened, or it was \
                 already applied). Choose the file again.",
            )),
        }
    }

    /// Forgets the plan under `handle` (once applied, it cannot be applied again).
    pub fn forget(&self, handle: i64) {
        let mut shown = self.shown.lock().unwrap_or_else(|p| p.into_inner());
        if shown.as_ref().is_some_and(|s| s.handle == handle) {
            *shown = None;
        }
    }

    /// Marks a bulk update as running, or says that one already is.
    pub fn start(&self) -> Result<Running, UiError> {
        if self.running.swap(true, Ordering::SeqCst) {
            return Err(UiError::new(
                ErrorCode::Conflict,
                "A bulk update is already running. Wait for it to finish, then try again.",
            ));
        }
        Ok(Running(self.running.clone()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use shelfsync_engine::bulk_update::{PlanOptions, PlanSummary, RefreshCost};

    fn quantity(row: u64, before: i64, after: i64) -> QuantityRow {
        QuantityRow {
            row,
            sku: format!("SKU-{row}"),
            product_id: 7,
            product_title: "Linen shirt".into(),
            variant_id: 70 + row as i64,
            variant_title: "Default Title".into(),
            inventory_item_id: 700 + row as i64,
            location_id: 1,
            location_name: "Main Street".into(),
            name: QuantityName::OnHand,
            before,
            after,
            delta: after - before,
            cached: (row == 3).then_some(before - 2),
            large: false,
        }
    }

    fn plan() -> Plan {
        Plan {
            file_name: "stock.csv".into(),
            format: Format::ShopifyInventory,
            read_at_ms: 1_764_850_000_000,
            options: PlanOptions::default(),
            quantities: vec![quantity(2, 10, 17), quantity(3, 5, 1)],
            prices: vec![PriceRow {
                row: 4,
                sku: "SKU-4".into(),
                product_id: 8,
                product_title: "Wool scarf".into(),
                variant_id: 80,
                variant_title: "Blue".into(),
                before_price: "12.00".into(),
                after_price: "14.50".into(),
                before_compare_at: None,
                after_compare_at: None,
                large: false,
            }],
            problems: vec![Problem {
                row: 5,
                column: Some("Quantity".into()),
                kind: ProblemKind::NotANumber,
                message: "\"ten\" is not a whole number.".into(),
            }],
            summary: PlanSummary {
                file_rows: 4,
                quantity_changes: 2,
                price_changes: 1,
                unchanged: 0,
                large: 0,
                problems: 1,
                units_added: 7,
                units_removed: 4,
            },
            refresh: RefreshCost {
                requests: 2,
                points: 20.0,
                ..RefreshCost::default()
            },
        }
    }

    fn conflict(row: u64) -> Conflict {
        Conflict {
            row,
            sku: format!("SKU-{row}"),
            location: Some("Main Street".into()),
            field: "available".into(),
            expected: "10".into(),
            current: Some("9".into()),
            reason: "1 sold since the plan".into(),
        }
    }

    fn outcome(state: BulkState) -> Outcome {
        Outcome {
            id: 3,
            state,
            mode: BulkMode::AllOrNothing,
            applied: 2,
            reversed: 0,
            skipped: Vec::new(),
            stopped_by: None,
            not_reversed: Vec::new(),
        }
    }

    #[test]
    fn a_plan_reaches_the_page_in_camel_case_with_numbers_as_numbers() {
        let view = BulkPlanView::from_plan(9, &plan());
        let json = serde_json::to_value(&view).unwrap();
        assert_eq!(json["handle"], 9);
        assert_eq!(json["format"], "shopify-inventory");
        assert_eq!(json["readAt"], "2025-12-04T12:06:40Z");
        assert_eq!(json["largePercent"], 50);
        let q = &json["quantities"][0];
        assert_eq!(q["row"], 2);
        assert_eq!(q["field"], "on_hand");
        assert_eq!(
            (&q["before"], &q["after"], &q["delta"]),
            (&10.into(), &17.into(), &7.into())
        );
        assert_eq!(
            q["variantTitle"], "",
            "Shopify's \"Default Title\" is not shown"
        );
        assert_eq!(q["cached"], serde_json::Value::Null);
        assert_eq!(json["quantities"][1]["cached"], 3);
        assert_eq!(json["prices"][0]["afterPrice"], "14.50");
        assert_eq!(json["prices"][0]["changes"], true);
        assert_eq!(json["prices"][0]["variantTitle"], "Blue");
        assert_eq!(json["problems"][0]["kind"], "not-a-number");
        assert_eq!(json["problems"][0]["column"], "Quantity");
        let s = &json["summary"];
        assert_eq!(
            s["changedInStore"], 1,
            "row 3's store value moved since the sync"
        );
        assert_eq!(
            (&s["unitsAdded"], &s["unitsRemoved"]),
            (&7.into(), &4.into())
        );
        assert_eq!(s["requests"], 2);
    }

    #[test]
    fn an_outcome_and_a_summary_keep_their_state_mode_and_rows() {
        let mut o = outcome(BulkState::RolledBack);
        o.stopped_by = Some("SKU-2 sold 1 since the plan".into());
        o.not_reversed = vec![conflict(2)];
        let json = serde_json::to_value(BulkOutcomeView::from(&o)).unwrap();
        assert_eq!(json["state"], "rolled-back");
        assert_eq!(json["mode"], "all-or-nothing");
        assert_eq!(json["stoppedBy"], "SKU-2 sold 1 since the plan");
        assert_eq!(json["notReversed"][0]["current"], "9");
        assert_eq!(json["notReversed"][0]["location"], "Main Street");

        let summary = BulkSummary {
            id: 3,
            file_name: "stock.csv".into(),
            mode: BulkMode::SkipConflicts,
            state: BulkState::Applying,
            quantity_changes: 600,
            price_changes: 2,
            created_at_ms: 1_764_850_000_000,
            finished_at_ms: None,
            outcome: None,
        };
        let json = serde_json::to_value(BulkSummaryView::from(&summary)).unwrap();
        assert_eq!(json["mode"], "skip-conflicts");
        assert_eq!(json["unfinished"], true);
        assert_eq!(json["createdAt"], "2025-12-04T12:06:40Z");
        assert_eq!(json["finishedAt"], serde_json::Value::Null);
        assert_eq!(json["quantityChanges"], 600);
    }

    #[test]
    fn choices_from_the_page_map_to_the_engine() {
        let mode: BulkModeView = serde_json::from_str("\"skip-conflicts\"").unwrap();
        assert_eq!(BulkMode::from(mode), BulkMode::SkipConflicts);
        let choice: RecoveryView = serde_json::from_str("\"roll-back\"").unwrap();
        assert_eq!(Recovery::from(choice), Recovery::RollBack);
        let choice: RecoveryView = serde_json::from_str("\"finish\"").unwrap();
        assert_eq!(Recovery::from(choice), Recovery::Finish);
    }

    #[test]
    fn progress_says_whether_it_is_reversing() {
        let event = progress_event(Progress {
            id: 3,
            phase: "reversing".into(),
            done: 250,
            total: 600,
            rate: 125.0,
            seconds_left: Some(2.8),
        });
        let json = serde_json::to_value(&event).unwrap();
        assert_eq!(json["type"], "bulkProgress");
        assert_eq!(json["reversing"], true);
        assert_eq!((&json["done"], &json["total"]), (&250.into(), &600.into()));
        assert_eq!(json["secondsLeft"], 2.8);
    }

    #[test]
    fn an_undo_preview_lists_what_it_reverses_and_what_it_leaves() {
        let view = UndoPreviewView::from(UndoPreview {
            id: 3,
            reverse: vec![shelfsync_engine::bulk_update::UndoRow {
                row: 2,
                sku: "SKU-2".into(),
                location: Some("Main Street".into()),
                field: "available".into(),
                applied: "17".into(),
                current: "16".into(),
                after_undo: "9".into(),
            }],
            leave: vec![conflict(3)],
        });
        assert_eq!(view.reverse[0].after_undo, "9");
        assert_eq!(view.leave[0].row, 3);
        let json = serde_json::to_value(&view).unwrap();
        assert_eq!(json["reverse"][0]["afterUndo"], "9");
        assert_eq!(json["leave"][0]["current"], "9");
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn a_bulk_update_runs_to_its_end_when_its_command_is_dropped() {
        let (tx, rx) = tokio::sync::oneshot::channel();
        let call = to_the_end(move || async move {
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
            let _ = tx.send("finished");
        });
        // The command's future is dropped before the work is done.
        let dropped = tokio::time::timeout(std::time::Duration::from_millis(5), call).await;
        assert!(dropped.is_err());
        assert_eq!(rx.await.unwrap(), "finished");
    }

    #[test]
    fn the_notification_says_how_it_ended_and_what_needs_a_look() {
        let applied = finished_notice("stock.csv", &outcome(BulkState::Applied));
        assert_eq!(applied.kind, NoticeKind::BulkUpdate);
        assert_eq!(applied.title, "Bulk update applied");
        assert_eq!(applied.body, "stock.csv: 2 rows changed.");

        let mut skipped = outcome(BulkState::Applied);
        skipped.mode = BulkMode::SkipConflicts;
        skipped.skipped = vec![conflict(4)];
        assert_eq!(
            finished_notice("stock.csv", &skipped).body,
            "stock.csv: 2 rows changed. 1 row skipped (changed in the store since the preview)."
        );

        let mut rolled = outcome(BulkState::RolledBack);
        rolled.stopped_by = Some("Shopify refused a change: stock is locked".into());
        rolled.not_reversed = vec![conflict(2), conflict(3)];
        let n = finished_notice("stock.csv", &rolled);
        assert_eq!(n.title, "Bulk update rolled back");
        assert_eq!(
            n.body,
            "stock.csv stopped because Shopify refused a change: stock is locked; its changes \
             were reversed. 2 rows could not be put back: open Bulk update to see them."
        );

        let mut undone = outcome(BulkState::Undone);
        undone.reversed = 1;
        let n = finished_notice("", &undone);
        assert_eq!(n.title, "Bulk update undone");
        assert_eq!(n.body, "The file: 1 row put back.");
    }

    #[test]
    fn a_typed_pasted_or_copied_path_names_the_file() {
        assert_eq!(typed_path("  "), None);
        assert_eq!(typed_path("\"\""), None);
        assert_eq!(
            typed_path(" /tmp/stock.csv \n"),
            Some(PathBuf::from("/tmp/stock.csv"))
        );
        assert_eq!(
            typed_path("'/tmp/my stock.csv'"),
            Some(PathBuf::from("/tmp/my stock.csv"))
        );
        assert_eq!(
            typed_path("file:///tmp/my%20stock%E2%80%94May.csv"),
            Some(PathBuf::from("/tmp/my stock—May.csv"))
        );
        assert_eq!(
            typed_path("file://localhost/tmp/a%2.csv"),
            Some(PathBuf::from("/tmp/a%2.csv"))
        );
        if let Some(home) = std::env::var_os("HOME") {
            assert_eq!(
                typed_path("~/stock.csv"),
                Some(PathBuf::from(home).join("stock.csv"))
            );
        }
    }

    #[test]
    fn a_handle_applies_its_own_plan_once_and_one_update_runs_at_a_time() {
        let desk = BulkDesk::default();
        let dir = tempfile::tempdir().unwrap();
        let engine = |sub: &str| {
            Arc::new(Engine::new(shelfsync_engine::EngineConfig {
                data_dir: dir.path().join(sub),
                keychain: shelfsync_engine::Keychain::in_memory("shelfsync.test.bulk").unwrap(),
                clock: shelfsync_shopify::Clock::real(),
            }))
        };
        let (shop, other) = (engine("shop"), engine("other"));
        let (first, _) = desk.show(shop.clone(), plan());
        let (second, shown) = desk.show(shop.clone(), plan());
        assert_ne!(first, second);
        assert!(Arc::ptr_eq(&desk.plan(second, &shop).unwrap(), &shown));
        let stale = desk.plan(first, &shop).unwrap_err();
        assert_eq!(stale.code, ErrorCode::InvalidInput);
        assert!(
            stale.message.contains("Choose the file again"),
            "{}",
            stale.message
        );
        let elsewhere = desk.plan(second, &other).unwrap_err();
        assert!(
            elsewhere.message.contains("another store"),
            "{}",
            elsewhere.message
        );

        let running = desk.start().unwrap();
        assert_eq!(
            desk.start().err().map(|e| e.code),
            Some(ErrorCode::Conflict)
        );
        drop(running);
        assert!(desk.start().is_ok());

        desk.forget(second);
        assert!(desk.plan(second, &shop).is_err(), "applied once, then gone");
    }
}
