//! `shelfsync sync`: one sync pass, with a progress bar fed by the engine's events.
//!
//! The bar is drawn on stderr, and only when stderr is a terminal and the output is not
//! JSON; the numbers (rows, rows/s, time left) are the engine's own, from
//! `EngineEvent::SyncProgress`, so the CLI and the desktop app always agree.

use crate::context::Context;
use crate::failure::Failure;
use crate::output;
use indicatif::{ProgressBar, ProgressStyle};
use serde::Serialize;
use shelfsync_engine::{Engine, EngineError, EngineEvent, SyncKind, SyncReport};
use std::io::IsTerminal;
use std::time::Duration;
use tokio::sync::broadcast::error::RecvError;

pub async fn run(ctx: &Context, full: bool) -> Result<(), Failure> {
    ctx.warn_unfinished_bulk_updates().await;
    let engine = ctx.engine();
    let profile = engine.resume().await?;
    let kind = if full {
        SyncKind::Full
    } else {
        SyncKind::Incremental
    };
    let result = with_progress(&engine, kind, !ctx.json).await;
    engine.shutdown().await;
    let report = result.map_err(|e| Failure::engine(e, Some(&profile.address)))?;
    if ctx.json {
        output::json(&SyncView::new(kind, report))
    } else {
        output::line(&describe(kind, &report))
    }
}

/// What a sync did, for `--json`.
#[derive(Debug, Serialize)]
pub struct SyncView {
    pub sync: SyncKind,
    pub variants: u64,
    pub levels: u64,
    pub elapsed_ms: u64,
}

impl SyncView {
    pub fn new(sync: SyncKind, report: SyncReport) -> Self {
        Self {
            sync,
            variants: report.variants,
            levels: report.levels,
            elapsed_ms: report.elapsed_ms,
        }
    }
}

/// "Full sync: 60 variants with their stock in 0.4 s."
pub fn describe(kind: SyncKind, report: &SyncReport) -> String {
    let secs = report.elapsed_ms as f64 / 1000.0;
    match kind {
        SyncKind::Full => format!(
            "Full sync: {} variants with their stock in {secs:.1} s.",
            output::thousands(report.variants)
        ),
        SyncKind::Incremental => format!(
            "Incremental sync: {} and {} changed, in {secs:.1} s.",
            count(report.variants, "variant", "variants"),
            count(report.levels, "stock level", "stock levels")
        ),
    }
}

fn count(n: u64, one: &str, many: &str) -> String {
    format!(
        "{} {}",
        output::thousands(n),
        if n == 1 { one } else { many }
    )
}

/// Runs a sync, drawing a progress bar on stderr when `show` and stderr is a terminal.
pub async fn with_progress(
    engine: &Engine,
    kind: SyncKind,
    show: bool,
) -> Result<SyncReport, EngineError> {
    let bar = if show && std::io::stderr().is_terminal() {
        let bar = ProgressBar::new_spinner();
        bar.set_style(spinner_style());
        bar.set_message(match kind {
            SyncKind::Full => "starting a full sync",
            SyncKind::Incremental => "looking for changes",
        });
        bar.enable_steady_tick(Duration::from_millis(120));
        bar
    } else {
        ProgressBar::hidden()
    };
    let mut events = engine.events().subscribe();
    let shown = bar.clone();
    let watcher = tokio::spawn(async move {
        loop {
            match events.recv().await {
                Ok(EngineEvent::SyncProgress {
                    rows,
                    total,
                    rows_per_sec,
                    seconds_left,
                    ..
                }) => show_progress(&shown, rows, total, rows_per_sec, seconds_left),
                Ok(_) | Err(RecvError::Lagged(_)) => {}
                Err(RecvError::Closed) => break,
            }
        }
    });
    let result = engine.sync(kind).await;
    watcher.abort();
    bar.finish_and_clear();
    result
}

fn show_progress(
    bar: &ProgressBar,
    rows: u64,
    total: Option<u64>,
    rows_per_sec: f64,
    seconds_left: Option<f64>,
) {
    if let Some(total) = total.filter(|t| *t > 0 && bar.length() != Some(*t)) {
        bar.set_style(bar_style());
        bar.set_length(total);
    }
    bar.set_position(rows);
    let rate = output::thousands(rows_per_sec.max(0.0).round() as u64);
    bar.set_message(match seconds_left {
        Some(left) => format!("{rate} rows/s, {} s left", left.max(0.0).ceil() as u64),
        None => format!("{rate} rows/s"),
    });
}

fn spinner_style() -> ProgressStyle {
    ProgressStyle::with_template("{spinner} {pos} rows  {msg}")
        .unwrap_or_else(|_| ProgressStyle::default_spinner())
}

fn bar_style() -> ProgressStyle {
    ProgressStyle::with_template("{spinner} [{bar:32}] {pos}/{len} rows  {msg}")
        .map(|s| s.progress_chars("=> "))
        .unwrap_or_else(|_| ProgressStyle::default_bar())
}
