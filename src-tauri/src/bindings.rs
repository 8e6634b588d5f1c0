//! TypeScript bindings for the UI, generated from the Rust types.
//!
//! `ui/src/lib/bindings.ts` is committed; the test below regenerates it and fails when the
//! committed file has drifted from the Rust types (run it with `UPDATE_BINDINGS=1` to
//! rewrite the file).

use crate::commands::{self, AppInfo};
use crate::error::{ErrorCode, UiError};
use crate::views::{
    ActivityView, BucketView, CacheView, ConnectRequest, FailedJobView, InventoryPage,
    InventoryRow, LastSyncView, QueueView, ReconciliationRunView, ReconciliationView, StatusView,
    StoreView, UiEvent,
};
use ts_rs::{Config, TS};

/// The full text of `ui/src/lib/bindings.ts`.
pub fn render() -> String {
    let cfg = Config::default();
    let mut out = String::from(
        "// This file is generated from the Rust types by `cargo test -p shelfsync-desktop` (bindings test). Do not edit.\n",
    );
    for decl in [
        AppInfo::decl(&cfg),
        ErrorCode::decl(&cfg),
        UiError::decl(&cfg),
        StoreView::decl(&cfg),
        BucketView::decl(&cfg),
        QueueView::decl(&cfg),
        CacheView::decl(&cfg),
        LastSyncView::decl(&cfg),
        ReconciliationRunView::decl(&cfg),
        ReconciliationView::decl(&cfg),
        StatusView::decl(&cfg),
        InventoryRow::decl(&cfg),
        InventoryPage::decl(&cfg),
        ConnectRequest::decl(&cfg),
        UiEvent::decl(&cfg),
        FailedJobView::decl(&cfg),
        ActivityView::decl(&cfg),
        crate::orders::OrderStatusView::decl(&cfg),
        crate::orders::OrderLineView::decl(&cfg),
        crate::orders::OrderView::decl(&cfg),
        crate::orders::SkuThresholdView::decl(&cfg),
        crate::settings::Settings::decl(&cfg),
        crate::commands::SettingsView::decl(&cfg),
        crate::intake::PathView::decl(&cfg),
        crate::intake::SubscriptionView::decl(&cfg),
        crate::intake::RelayView::decl(&cfg),
        crate::intake::IntakeView::decl(&cfg),
        crate::settings::WebhookSettings::decl(&cfg),
        crate::intake::WebhookSecrets::decl(&cfg),
        crate::intake::WebhookSettingsView::decl(&cfg),
        crate::intake::TestDeliveryView::decl(&cfg),
        crate::intake::TestWebhookReportView::decl(&cfg),
        crate::bulk::FileFormatView::decl(&cfg),
        crate::bulk::QuantityFieldView::decl(&cfg),
        crate::bulk::QuantityRowView::decl(&cfg),
        crate::bulk::PriceRowView::decl(&cfg),
        crate::bulk::ProblemView::decl(&cfg),
        crate::bulk::PlanSummaryView::decl(&cfg),
        crate::bulk::BulkPlanView::decl(&cfg),
        crate::bulk::BulkModeView::decl(&cfg),
        crate::bulk::BulkStateView::decl(&cfg),
        crate::bulk::RecoveryView::decl(&cfg),
        crate::bulk::ConflictView::decl(&cfg),
        crate::bulk::BulkOutcomeView::decl(&cfg),
        crate::bulk::BulkSummaryView::decl(&cfg),
        crate::bulk::UndoRowView::decl(&cfg),
        crate::bulk::UndoPreviewView::decl(&cfg),
    ] {
        out.push_str("\nexport ");
        out.push_str(&decl);
        out.push('\n');
    }
    out.push_str("\nexport type Commands = { ");
    for sig in commands::signatures() {
        let args = if sig.args.is_empty() {
            "Record<string, never>".to_string()
        } else {
            let fields: Vec<String> = sig
                .args
                .iter()
                .map(|(name, ty)| format!("{}: {ty}", camel_case(name)))
                .collect();
            format!("{{ {} }}", fields.join(", "))
        };
        out.push_str(&format!(
            "{}: {{ args: {args}, result: {} }}, ",
            sig.name, sig.result
        ));
    }
    out.push_str("};\n");
    out.push_str(&format!(
        "\n/** The channel engine events arrive on. */\nexport const ENGINE_EVENT = {:?};\n",
        crate::state::ENGINE_EVENT
    ));
    out
}

/// Tauri passes command arguments under their camelCase names.
fn camel_case(snake: &str) -> String {
    let mut out = String::with_capacity(snake.len());
    let mut upper = false;
    for c in snake.chars() {
        if c == '_' {
            upper = true;
        } else if upper {
            out.extend(c.to_uppercase());
            upper = false;
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    #[test]
    fn committed_bindings_match_the_rust_types() {
        let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../ui/src/lib/bindings.ts");
        let fresh = render();
        if std::env::var_os("UPDATE_BINDINGS").is_some() {
            std::fs::write(&path, &fresh).expect("write bindings");
        }
        let committed = std::fs::read_to_string(&path).unwrap_or_default();
        assert!(
            committed == fresh,
            "ui/src/lib/bindings.ts is out of date with the Rust types.\n\
             Regenerate it: UPDATE_BINDINGS=1 cargo test -p shelfsync-desktop bindings\n\
             --- expected ---\n{fresh}\n--- committed ---\n{committed}"
        );
    }

    /// JSON has no bigint: an `i64` argument would be typed `bigint` in TypeScript, and the
    /// UI could not send it. Every argument and result must avoid it.
    #[test]
    fn no_command_uses_bigint() {
        let rendered = render();
        assert!(!rendered.contains("bigint"), "{rendered}");
    }

    #[test]
    fn argument_names_are_camel_cased_as_tauri_expects() {
        assert_eq!(camel_case("job_id"), "jobId");
        assert_eq!(camel_case("request"), "request");
    }
}
