//! `shelfsync bulk`: the journal of bulk updates, undoing one, and recovering what a crash
//! or a lost connection interrupted; and what `import --apply` shares with them (progress
//! lines, the outcome, its exit code).
//!
//! `list` reads the journal through a read-only connection, so it needs neither the keychain
//! nor the network and works while the app or the daemon runs. `undo` and `recover` talk to
//! the store: `undo` shows what it would reverse and what it would leave (from the store's
//! current values) and asks first; `recover` rolls back every unfinished update (or, with
//! `--finish`, sends the rest of it) without asking, since it only settles what was already
//! confirmed.
//!
//! An outcome that is not what was asked for (an apply rolled back, rows left out, changes
//! that could not be reversed) exits 5.

use crate::cli::{BulkAction, BulkListArgs, BulkRecoverArgs, BulkUndoArgs};
use crate::context::Context;
use crate::failure::{self, Code, Failure};
use crate::output::{self, Align, Cell, Paint, Tone};
use serde::Serialize;
use shelfsync_engine::bulk_update::{
    BulkSummary, Conflict, Outcome, Progress, Recovery, UndoPreview,
};
use shelfsync_engine::{Engine, EngineError, EngineEvent, StoreProfile};
use shelfsync_store::{BulkMode, BulkState, Reader};
use std::future::Future;
use std::time::{Duration, Instant, SystemTime};
use tokio::sync::broadcast::error::{RecvError, TryRecvError};

/// How many rows of a conflict or undo list are printed without `--all`.
const SHOWN_ROWS: usize = crate::commands::import::SHOWN_ROWS;

pub async fn run(ctx: &Context, action: BulkAction) -> Result<(), Failure> {
    match action {
        BulkAction::List(args) => list(ctx, args).await,
        BulkAction::Undo(args) => undo(ctx, args).await,
        BulkAction::Recover(args) => recover(ctx, args).await,
    }
}

/// A question can be asked for `flag`: refuses with a usage error when stdin is not a
/// terminal, or with `--json`, unless `--yes` was given (checked by the caller).
pub fn can_confirm(ctx: &Context, flag: &str) -> Result<(), Failure> {
    if ctx.json {
        return Err(Failure::usage(format!(
            "{flag} with --json needs --yes: the plan is not shown to confirm it. Nothing was \
             written."
        )));
    }
    if !output::can_ask() {
        return Err(Failure::usage(format!(
            "{flag} asks for confirmation, and stdin is not a terminal: pass --yes to go ahead \
             without asking. Nothing was written."
        )));
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------
// list

async fn list(ctx: &Context, args: BulkListArgs) -> Result<(), Failure> {
    let (_, path) = ctx.local_store()?;
    let limit = args.limit;
    let updates = tokio::task::spawn_blocking(move || {
        if !path.exists() {
            return Ok(Vec::new());
        }
        Reader::open(&path)?.bulk_updates(limit)
    })
    .await
    .map_err(Failure::cache)?
    .map_err(Failure::cache)?;
    let summaries: Vec<BulkSummary> = updates.into_iter().map(BulkSummary::from).collect();
    if ctx.json {
        return output::json(&summaries);
    }
    if summaries.is_empty() {
        return output::line(
            "No bulk updates yet: `shelfsync import FILE` shows what a file would change, \
             `--apply` applies it.",
        );
    }
    let paint = Paint::stdout();
    let rows: Vec<Vec<Cell>> = summaries
        .iter()
        .map(|b| {
            let outcome = b.outcome.as_ref();
            let left = outcome.map_or(0, |o| o.skipped.len() + o.not_reversed.len());
            vec![
                Cell::from(b.id.to_string()),
                Cell::from(b.file_name.as_str()),
                Cell::from(mode_label(b.mode)),
                Cell::new(failure::bulk_state(b.state), state_tone(b.state)),
                Cell::from(output::thousands(b.quantity_changes + b.price_changes)),
                Cell::from(outcome.map_or(String::new(), |o| output::thousands(o.applied))),
                Cell::from(outcome.map_or(String::new(), |o| output::thousands(o.reversed))),
                if left > 0 {
                    Cell::new(output::thousands(left as u64), Tone::Warn)
                } else {
                    Cell::default()
                },
                Cell::from(at_ms(b.created_at_ms)),
            ]
        })
        .collect();
    output::line(&output::styled_table(
        paint,
        &[
            ("ID", Align::Right),
            ("FILE", Align::Left),
            ("MODE", Align::Left),
            ("STATE", Align::Left),
            ("CHANGES", Align::Right),
            ("APPLIED", Align::Right),
            ("REVERSED", Align::Right),
            ("LEFT", Align::Right),
            ("STARTED", Align::Left),
        ],
        &rows,
    ))?;
    let mut notes = Vec::new();
    if summaries.iter().any(|b| b.state.is_unfinished()) {
        notes.push(
            "Unfinished updates were interrupted: `shelfsync bulk recover` rolls them back, \
             `--finish` sends the rest.",
        );
    }
    if summaries.iter().any(|b| b.state == BulkState::Applied) {
        notes.push("`shelfsync bulk undo ID` reverses an applied update.");
    }
    if !notes.is_empty() {
        output::line(&format!("\n{}", notes.join("\n")))?;
    }
    Ok(())
}

fn mode_label(mode: BulkMode) -> &'static str {
    match mode {
        BulkMode::AllOrNothing => "all-or-nothing",
        BulkMode::SkipConflicts => "skip-conflicts",
    }
}

fn state_tone(state: BulkState) -> Tone {
    match state {
        BulkState::Applied => Tone::Up,
        BulkState::RolledBack | BulkState::Undone => Tone::Plain,
        BulkState::Applying | BulkState::RollingBack | BulkState::Undoing => Tone::Warn,
    }
}

fn at_ms(ms: i64) -> String {
    SystemTime::UNIX_EPOCH
        .checked_add(Duration::from_millis(ms.max(0) as u64))
        .and_then(output::rfc3339)
        .unwrap_or_default()
}

// ---------------------------------------------------------------------------------------
// undo

/// What `bulk undo --json` prints.
#[derive(Debug, Serialize)]
struct UndoView<'a> {
    preview: &'a UndoPreview,
    /// `null` when nothing could be reversed, so nothing was sent.
    outcome: Option<&'a Outcome>,
}

async fn undo(ctx: &Context, args: BulkUndoArgs) -> Result<(), Failure> {
    if !args.yes {
        can_confirm(ctx, "undo")?;
    }
    ctx.warn_unfinished_bulk_updates().await;
    let engine = ctx.engine();
    let profile = engine.resume().await?;
    let result = undo_with(ctx, &args, &engine, &profile).await;
    engine.shutdown().await;
    result
}

async fn undo_with(
    ctx: &Context,
    args: &BulkUndoArgs,
    engine: &Engine,
    profile: &StoreProfile,
) -> Result<(), Failure> {
    let store = Some(profile.address.as_str());
    let id = args.id;
    let fail = |e: EngineError| Failure::engine(e, store);
    let preview = engine
        .bulk_updates()
        .map_err(fail)?
        .undo_preview(id)
        .await
        .map_err(|e| Failure::bulk(e, store))?;
    let name = file_name(engine, id).await;
    let paint = Paint::stdout();
    if !ctx.json {
        output::line(&render_preview(paint, &name, &preview, args.all))?;
    }
    if preview.reverse.is_empty() {
        if ctx.json {
            output::json(&UndoView {
                preview: &preview,
                outcome: None,
            })?;
        }
        return match preview.leave.len() as u64 {
            0 => Ok(()),
            n => Err(Failure::new(
                Code::Partial,
                format!(
                    "Nothing of bulk update {id} can be reversed: the store changed {} since \
                     it was applied. Nothing was written.",
                    if n == 1 {
                        "its change"
                    } else {
                        "all its changes"
                    }
                ),
            )),
        };
    }
    if !args.yes {
        let question = format!(
            "Undo bulk update {id}: reverse {} in {}?",
            output::count(preview.reverse.len() as u64, "change", "changes"),
            profile.name
        );
        if !output::confirm(question).await? {
            return output::line("Nothing was written.");
        }
    }
    let outcome = with_progress(engine, ctx.json, engine.undo_bulk_update(id))
        .await
        .map_err(fail)?;
    if ctx.json {
        output::json(&UndoView {
            preview: &preview,
            outcome: Some(&outcome),
        })?;
    } else {
        output::line(&render_outcome(paint, &name, &outcome, args.all))?;
    }
    outcome_result(&outcome, Expected::Undone)
}

fn render_preview(paint: Paint, name: &str, preview: &UndoPreview, all: bool) -> String {
    let id = preview.id;
    let mut out = Vec::new();
    if preview.reverse.is_empty() {
        out.push(format!(
            "Undoing bulk update {id} ({name}) would reverse nothing."
        ));
    } else {
        out.push(format!(
            "Undoing bulk update {id} ({name}) reverses {} by the amount it changed them \
             (units sold since stay sold):",
            output::count(preview.reverse.len() as u64, "change", "changes")
        ));
        let rows: Vec<Vec<Cell>> = preview
            .reverse
            .iter()
            .map(|r| {
                let tone = match (output_number(&r.after_undo), output_number(&r.current)) {
                    (Some(after), Some(now)) if after > now => Tone::Up,
                    (Some(after), Some(now)) if after < now => Tone::Down,
                    _ => Tone::Plain,
                };
                vec![
                    Cell::from(r.row.to_string()),
                    Cell::from(r.sku.as_str()),
                    Cell::from(r.location.as_deref().unwrap_or("-")),
                    Cell::from(field_label(&r.field)),
                    Cell::from(r.applied.as_str()),
                    Cell::from(r.current.as_str()),
                    Cell::new(r.after_undo.as_str(), tone),
                ]
            })
            .collect();
        out.push(limited_table(
            paint,
            &[
                ("ROW", Align::Right),
                ("SKU", Align::Left),
                ("LOCATION", Align::Left),
                ("FIELD", Align::Left),
                ("APPLIED", Align::Right),
                ("NOW", Align::Right),
                ("AFTER UNDO", Align::Right),
            ],
            rows,
            all,
        ));
    }
    if !preview.leave.is_empty() {
        out.push(String::new());
        out.push(paint.paint(
            &format!(
                "It leaves {} as the store holds them now:",
                output::count(preview.leave.len() as u64, "change", "changes")
            ),
            Tone::Warn,
        ));
        out.push(conflict_table(paint, &preview.leave, all));
    }
    out.join("\n")
}

/// A quantity or an amount as a number, for comparing two values of a row.
fn output_number(text: &str) -> Option<f64> {
    text.trim().parse().ok()
}

fn field_label(field: &str) -> &str {
    match field {
        "on_hand" => "on hand",
        "compare_at_price" => "compare-at",
        other => other,
    }
}

/// The file name of bulk update `id`, from the journal.
async fn file_name(engine: &Engine, id: i64) -> String {
    let Ok(cache) = engine.cache() else {
        return String::new();
    };
    cache
        .read(move |r| r.bulk_update_file_name(id))
        .await
        .ok()
        .flatten()
        .unwrap_or_default()
}

// ---------------------------------------------------------------------------------------
// recover

/// One line of `bulk recover --json`.
#[derive(Debug, Serialize)]
struct Recovered {
    file_name: String,
    #[serde(flatten)]
    outcome: Outcome,
}

async fn recover(ctx: &Context, args: BulkRecoverArgs) -> Result<(), Failure> {
    let engine = ctx.engine();
    let profile = engine.resume().await?;
    let result = recover_with(ctx, &args, &engine, &profile).await;
    engine.shutdown().await;
    result
}

async fn recover_with(
    ctx: &Context,
    args: &BulkRecoverArgs,
    engine: &Engine,
    profile: &StoreProfile,
) -> Result<(), Failure> {
    let store = Some(profile.address.as_str());
    let fail = |e: EngineError| Failure::engine(e, store);
    let targets: Vec<(i64, String)> = match args.id {
        Some(id) => vec![(id, file_name(engine, id).await)],
        None => engine
            .bulk_updates()
            .map_err(fail)?
            .unfinished()
            .await
            .map_err(|e| Failure::bulk(e, store))?
            .into_iter()
            .map(|b| (b.id, b.file_name))
            .collect(),
    };
    if targets.is_empty() {
        return if ctx.json {
            output::json(&Vec::<Recovered>::new())
        } else {
            output::line("No bulk update is unfinished: there is nothing to recover.")
        };
    }
    let choice = if args.finish {
        Recovery::Finish
    } else {
        Recovery::RollBack
    };
    let paint = Paint::stdout();
    let mut recovered = Vec::new();
    let mut partial = Vec::new();
    for (id, name) in targets {
        if !ctx.json {
            eprintln!(
                "Recovering bulk update {id} ({name}): {}.",
                match choice {
                    Recovery::Finish => "sending the rest",
                    Recovery::RollBack => "rolling back what it wrote",
                }
            );
        }
        let outcome = with_progress(engine, ctx.json, engine.recover_bulk_update(id, choice))
            .await
            .map_err(fail)?;
        if !ctx.json {
            output::line(&render_outcome(paint, &name, &outcome, false))?;
        }
        let expected = match (choice, outcome.state) {
            (_, BulkState::Undone) => Expected::Undone,
            (Recovery::Finish, _) => Expected::Applied,
            (Recovery::RollBack, _) => Expected::RolledBack,
        };
        if let Err(failure) = outcome_result(&outcome, expected) {
            partial.push(failure.message);
        }
        recovered.push(Recovered {
            file_name: name,
            outcome,
        });
    }
    if ctx.json {
        output::json(&recovered)?;
    }
    if partial.is_empty() {
        Ok(())
    } else {
        Err(Failure::new(Code::Partial, partial.join(" ")))
    }
}

// ---------------------------------------------------------------------------------------
// shared with `import --apply`

/// Runs `work`, an engine call that publishes `BulkProgress` events, printing a progress line
/// on stderr at most once a second (and the last one), unless `quiet`.
pub async fn with_progress<T>(engine: &Engine, quiet: bool, work: impl Future<Output = T>) -> T {
    let mut events = engine.events().subscribe();
    let mut lines = ProgressLines::default();
    let mut show = |event: EngineEvent| {
        if let EngineEvent::BulkProgress { progress } = event
            && !quiet
        {
            lines.show(&progress);
        }
    };
    tokio::pin!(work);
    let mut open = true;
    let result = loop {
        tokio::select! {
            result = &mut work => break result,
            event = events.recv(), if open => match event {
                Ok(event) => show(event),
                Err(RecvError::Lagged(_)) => {}
                Err(RecvError::Closed) => open = false,
            },
        }
    };
    // What was published between the last event read and the end.
    loop {
        match events.try_recv() {
            Ok(event) => show(event),
            Err(TryRecvError::Lagged(_)) => {}
            Err(_) => break,
        }
    }
    result
}

#[derive(Debug, Default)]
struct ProgressLines {
    phase: Option<String>,
    at: Option<Instant>,
}

impl ProgressLines {
    fn show(&mut self, p: &Progress) {
        let now = Instant::now();
        let new_phase = self.phase.as_deref() != Some(p.phase.as_str());
        let last = p.done >= p.total;
        if !new_phase && !last && self.at.is_some_and(|at| now - at < Duration::from_secs(1)) {
            return;
        }
        self.phase = Some(p.phase.clone());
        self.at = Some(now);
        eprintln!("{}", progress_line(p));
    }
}

/// "Applying: 250/600 changes, 1,200/s, about 1 s left"
fn progress_line(p: &Progress) -> String {
    let phase = match p.phase.as_str() {
        "applying" => "Applying",
        "reversing" => "Reversing",
        other => other,
    };
    let left = match p.seconds_left {
        Some(s) if p.done < p.total => format!(", about {} s left", s.max(0.0).ceil() as u64),
        _ => String::new(),
    };
    format!(
        "{phase}: {}/{} changes, {}/s{left}",
        output::thousands(p.done),
        output::thousands(p.total),
        output::thousands(p.rate.max(0.0).round() as u64)
    )
}

/// What the person asked for, so an outcome that differs exits 5.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expected {
    Applied,
    RolledBack,
    Undone,
}

/// Exit 0 when the outcome is what was asked for and nothing was left out; 5 otherwise.
pub fn outcome_result(outcome: &Outcome, expected: Expected) -> Result<(), Failure> {
    let id = outcome.id;
    let mut why = Vec::new();
    if expected == Expected::Applied && outcome.state == BulkState::RolledBack {
        why.push(format!(
            "Bulk update {id} was rolled back{}.",
            outcome
                .stopped_by
                .as_deref()
                .map(|s| format!(": {s}"))
                .unwrap_or_default()
        ));
    }
    if !outcome.skipped.is_empty() {
        why.push(format!(
            "{} of bulk update {id} left out because the store changed since the plan.",
            output::count(outcome.skipped.len() as u64, "row was", "rows were")
        ));
    }
    if !outcome.not_reversed.is_empty() {
        why.push(format!(
            "{} of bulk update {id} could not be reversed; the store keeps {} as {} now.",
            output::count(outcome.not_reversed.len() as u64, "change", "changes"),
            if outcome.not_reversed.len() == 1 {
                "it"
            } else {
                "them"
            },
            if outcome.not_reversed.len() == 1 {
                "it is"
            } else {
                "they are"
            }
        ));
    }
    if why.is_empty() {
        Ok(())
    } else {
        Err(Failure::new(Code::Partial, why.join(" ")))
    }
}

/// How an apply, an undo or a recovery ended, for a person.
pub fn render_outcome(paint: Paint, name: &str, outcome: &Outcome, all: bool) -> String {
    let id = outcome.id;
    let mut out = Vec::new();
    let head = format!("Bulk update {id} ({name})");
    match outcome.state {
        BulkState::Applied => {
            out.push(paint.paint(
                &format!(
                    "{head} applied: {} written.",
                    output::count(outcome.applied, "change", "changes")
                ),
                Tone::Up,
            ));
        }
        BulkState::RolledBack => {
            out.push(paint.paint(
                &format!(
                    "{head} rolled back{}.",
                    outcome
                        .stopped_by
                        .as_deref()
                        .map(|s| format!(": {s}"))
                        .unwrap_or_default()
                ),
                Tone::Bad,
            ));
            out.push(format!(
                "{} it had written {} reversed.",
                output::count(outcome.reversed, "change", "changes"),
                if outcome.reversed == 1 { "was" } else { "were" }
            ));
        }
        BulkState::Undone => out.push(format!(
            "{head} undone: {} reversed.",
            output::count(outcome.reversed, "change", "changes")
        )),
        state => out.push(format!("{head} is {}.", failure::bulk_state(state))),
    }
    if !outcome.skipped.is_empty() {
        out.push(String::new());
        out.push(paint.paint(
            &format!(
                "Left out ({}), because the store changed since the plan:",
                output::thousands(outcome.skipped.len() as u64)
            ),
            Tone::Warn,
        ));
        out.push(conflict_table(paint, &outcome.skipped, all));
    }
    if !outcome.not_reversed.is_empty() {
        out.push(String::new());
        out.push(paint.paint(
            &format!(
                "Not reversed ({}): the store keeps these values; check them in Shopify:",
                output::thousands(outcome.not_reversed.len() as u64)
            ),
            Tone::Warn,
        ));
        out.push(conflict_table(paint, &outcome.not_reversed, all));
    }
    if outcome.state == BulkState::Applied {
        out.push(format!("`shelfsync bulk undo {id}` reverses it."));
    }
    out.join("\n")
}

fn conflict_table(paint: Paint, conflicts: &[Conflict], all: bool) -> String {
    let rows = conflicts
        .iter()
        .map(|c| {
            vec![
                Cell::from(c.row.to_string()),
                Cell::from(c.sku.as_str()),
                Cell::from(c.location.as_deref().unwrap_or("-")),
                Cell::from(field_label(&c.field)),
                Cell::from(c.expected.as_str()),
                Cell::from(c.current.as_deref().unwrap_or("unknown")),
                Cell::from(c.reason.as_str()),
            ]
        })
        .collect();
    limited_table(
        paint,
        &[
            ("ROW", Align::Right),
            ("SKU", Align::Left),
            ("LOCATION", Align::Left),
            ("FIELD", Align::Left),
            ("EXPECTED", Align::Right),
            ("CURRENT", Align::Right),
            ("REASON", Align::Left),
        ],
        rows,
        all,
    )
}

/// A table of the first [`SHOWN_ROWS`] rows (all with `all`), saying how many more there are.
fn limited_table(
    paint: Paint,
    header: &[(&str, Align)],
    mut rows: Vec<Vec<Cell>>,
    all: bool,
) -> String {
    let more = if all {
        0
    } else {
        rows.len().saturating_sub(SHOWN_ROWS)
    };
    rows.truncate(rows.len() - more);
    let mut text = output::styled_table(paint, header, &rows);
    if more > 0 {
        text.push_str(&format!(
            "\n… and {} more (--all prints every one).",
            output::thousands(more as u64)
        ));
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    fn outcome(state: BulkState) -> Outcome {
        Outcome {
            id: 3,
            state,
            mode: BulkMode::AllOrNothing,
            applied: 28,
            reversed: 0,
            skipped: Vec::new(),
            stopped_by: None,
            not_reversed: Vec::new(),
        }
    }

    fn conflict() -> Conflict {
        Conflict {
            row: 4,
            sku: "MUG-S".into(),
            location: Some("Warehouse".into()),
            field: "available".into(),
            expected: "10".into(),
            current: Some("9".into()),
            reason: "changed since the plan (a sale or another edit)".into(),
        }
    }

    #[test]
    fn a_clean_apply_exits_0_and_says_how_to_undo_it() {
        let o = outcome(BulkState::Applied);
        assert!(outcome_result(&o, Expected::Applied).is_ok());
        let text = render_outcome(Paint::plain(), "stock.csv", &o, false);
        assert!(text.starts_with("Bulk update 3 (stock.csv) applied: 28 changes written."));
        assert!(text.contains("`shelfsync bulk undo 3`"));
    }

    #[test]
    fn a_rollback_or_rows_left_out_exit_5_with_the_rows_listed() {
        let mut o = outcome(BulkState::RolledBack);
        o.applied = 0;
        o.reversed = 12;
        o.stopped_by = Some("MUG-S at Warehouse changed since the plan (10 → 9)".into());
        o.not_reversed = vec![conflict()];
        let failure = outcome_result(&o, Expected::Applied).unwrap_err();
        assert_eq!(failure.code, Code::Partial);
        assert!(
            failure.message.contains("rolled back: MUG-S"),
            "{}",
            failure.message
        );
        assert!(
            failure
                .message
                .contains("1 change of bulk update 3 could not be reversed")
        );
        let text = render_outcome(Paint::plain(), "stock.csv", &o, false);
        assert!(
            text.contains("12 changes it had written were reversed."),
            "{text}"
        );
        assert!(text.contains("Not reversed (1)"), "{text}");
        assert!(
            text.contains("4  MUG-S  Warehouse  available        10        9"),
            "{text}"
        );

        let mut o = outcome(BulkState::Applied);
        o.mode = BulkMode::SkipConflicts;
        o.skipped = vec![conflict()];
        assert_eq!(
            outcome_result(&o, Expected::Applied).unwrap_err().code,
            Code::Partial
        );
        // A roll-back that was asked for is a success.
        let o = outcome(BulkState::RolledBack);
        assert!(outcome_result(&o, Expected::RolledBack).is_ok());
    }

    #[test]
    fn progress_lines_say_done_total_rate_and_time_left() {
        let p = Progress {
            id: 3,
            phase: "applying".into(),
            done: 250,
            total: 600,
            rate: 1234.4,
            seconds_left: Some(0.3),
        };
        assert_eq!(
            progress_line(&p),
            "Applying: 250/600 changes, 1,234/s, about 1 s left"
        );
    }
}
