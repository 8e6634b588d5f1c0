//! `shelfsync import FILE`: what a bulk-update file would change in the store, and applying
//! exactly that.
//!
//! - `--check` reads the file with the engine's checker (`shelfsync_engine::import`) and
//!   touches no store: it needs neither a connection nor the keychain, so an owner can check a
//!   supplier's file anywhere. Exit code 0 for a clean file, 2 when problems were found.
//! - Without it the file is planned against the connected store: rows are matched through
//!   the local cache and every "before" value is read live from Shopify. Nothing is written.
//!   The plan is printed (summary first, then problems, then the rows that change), or with
//!   `--json` printed as one object; `--output` also writes it as CSV or JSON.
//! - `--apply` applies the plan it just printed, after "Apply N changes? [y/N]" (or `--yes`):
//!   the plan object shown is the one sent, so what the owner confirmed is what is written.
//!
//! A plan with problems exits 2 unless `--skip-problems` says to apply the other rows.

use crate::cli::ImportArgs;
use crate::commands::bulk;
use crate::context::Context;
use crate::failure::{Code, Failure};
use crate::output::{self, Align, Cell, Paint, Tone};
use serde::Serialize;
use shelfsync_engine::bulk_update::{ApplyOptions, Outcome, Plan, PlanOptions, PlanSummary};
use shelfsync_engine::import::{self, FileCheck, Format, Problem, ProblemKind};
use shelfsync_engine::{Engine, StoreProfile};
use shelfsync_store::BulkMode;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

/// How many rows of a plan are printed without `--all`.
pub const SHOWN_ROWS: usize = 50;

pub async fn run(ctx: &Context, args: &ImportArgs) -> Result<(), Failure> {
    if args.check {
        return check(ctx, args);
    }
    let output_kind = args.output.as_deref().map(OutputKind::of).transpose()?;
    if args.apply && !args.yes {
        bulk::can_confirm(ctx, "--apply")?;
    }
    ctx.warn_unfinished_bulk_updates().await;
    let engine = ctx.engine();
    let profile = engine.resume().await?;
    let result = plan_and_apply(ctx, args, output_kind, &engine, &profile).await;
    engine.shutdown().await;
    result
}

async fn plan_and_apply(
    ctx: &Context,
    args: &ImportArgs,
    output_kind: Option<OutputKind>,
    engine: &Engine,
    profile: &StoreProfile,
) -> Result<(), Failure> {
    let store = Some(profile.address.as_str());
    let plan = engine
        .plan_bulk_update(&args.file, PlanOptions::default())
        .await
        .map_err(|e| Failure::engine(e, store))?;
    if let (Some(path), Some(kind)) = (&args.output, output_kind) {
        write_plan(&plan, path, kind)?;
    }
    let paint = Paint::stdout();
    if !ctx.json {
        output::line(&render_plan(paint, &plan, &profile.name, args.all))?;
        if let Some(path) = &args.output {
            output::line(&format!("The whole plan is written to {}.", path.display()))?;
        }
    } else if !args.apply {
        output::json(&plan)?;
    }
    let problems = plan.problems.len() as u64;
    if problems > 0 && !args.skip_problems {
        return Err(Failure::usage(format!(
            "{} in {}: fix the file, or pass --skip-problems to {} the other rows. Nothing was \
             written.",
            output::count(problems, "problem", "problems"),
            args.file.display(),
            if args.apply { "apply" } else { "plan" }
        )));
    }
    let changes = plan.summary.quantity_changes + plan.summary.price_changes;
    if !args.apply {
        if !ctx.json {
            output::line(&if changes == 0 {
                nothing_to_apply(&plan).to_owned()
            } else {
                format!(
                    "Nothing was written. Add --apply to apply {}.",
                    if changes == 1 {
                        "this change".to_owned()
                    } else {
                        format!("these {} changes", output::thousands(changes))
                    }
                )
            })?;
        }
        return Ok(());
    }
    if !plan.has_changes() {
        return if ctx.json {
            output::json(&ApplyView::new(&plan, None))
        } else {
            output::line(nothing_to_apply(&plan))
        };
    }
    if problems > 0 && !ctx.json {
        output::line(&if problems == 1 {
            "The row with a problem is left out.".to_owned()
        } else {
            format!(
                "The {} rows with problems are left out.",
                output::thousands(problems)
            )
        })?;
    }
    if !args.yes {
        let question = format!(
            "Apply {} to {}?",
            output::count(changes, "change", "changes"),
            profile.name
        );
        if !output::confirm(question).await? {
            return output::line("Nothing was written.");
        }
    }
    let options = ApplyOptions {
        mode: if args.skip_conflicts {
            BulkMode::SkipConflicts
        } else {
            BulkMode::AllOrNothing
        },
        skip_problems: args.skip_problems,
    };
    let outcome = bulk::with_progress(engine, ctx.json, engine.apply_bulk_update(&plan, options))
        .await
        .map_err(|e| Failure::engine(e, store))?;
    if ctx.json {
        output::json(&ApplyView::new(&plan, Some(&outcome)))?;
    } else {
        output::line(&bulk::render_outcome(
            paint,
            &plan.file_name,
            &outcome,
            args.all,
        ))?;
    }
    bulk::outcome_result(&outcome, bulk::Expected::Applied)
}

fn nothing_to_apply(plan: &Plan) -> &'static str {
    if plan.problems.is_empty() {
        "Nothing to apply: the store already holds every value of the file."
    } else {
        "Nothing to apply: the rows without problems change nothing."
    }
}

/// What `import FILE --apply --json` prints.
#[derive(Debug, Serialize)]
struct ApplyView<'a> {
    file_name: &'a str,
    summary: &'a PlanSummary,
    /// `null` when the plan changed nothing, so nothing was applied.
    outcome: Option<&'a Outcome>,
}

impl<'a> ApplyView<'a> {
    fn new(plan: &'a Plan, outcome: Option<&'a Outcome>) -> Self {
        Self {
            file_name: &plan.file_name,
            summary: &plan.summary,
            outcome,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum OutputKind {
    Csv,
    Json,
}

impl OutputKind {
    fn of(path: &Path) -> Result<Self, Failure> {
        match path
            .extension()
            .and_then(|e| e.to_str())
            .map(str::to_ascii_lowercase)
            .as_deref()
        {
            Some("csv") => Ok(Self::Csv),
            Some("json") => Ok(Self::Json),
            _ => Err(Failure::usage(format!(
                "--output {}: the file name must end in .csv or .json.",
                path.display()
            ))),
        }
    }
}

/// The CSV's columns, one line per plan row (a price row whose compare-at price changes too
/// has a second line for it).
pub const CSV_HEADER: [&str; 10] = [
    "row", "sku", "product", "variant", "location", "field", "before", "after", "delta", "large",
];

fn write_plan(plan: &Plan, path: &PathBuf, kind: OutputKind) -> Result<(), Failure> {
    let failed = |e: &dyn std::fmt::Display| {
        Failure::local(format!(
            "could not write the plan to {}: {e}",
            path.display()
        ))
    };
    match kind {
        OutputKind::Json => {
            let text = serde_json::to_string_pretty(plan).map_err(|e| failed(&e))?;
            std::fs::write(path, text + "\n").map_err(|e| failed(&e))
        }
        OutputKind::Csv => {
            let mut out = csv::Writer::from_path(path).map_err(|e| failed(&e))?;
            out.write_record(CSV_HEADER).map_err(|e| failed(&e))?;
            for line in plan_lines(plan) {
                out.write_record([
                    line.row.to_string(),
                    line.sku,
                    line.product,
                    line.variant,
                    line.location.unwrap_or_default(),
                    line.field.to_owned(),
                    line.before.unwrap_or_default(),
                    line.after.unwrap_or_default(),
                    line.delta,
                    line.large.to_string(),
                ])
                .map_err(|e| failed(&e))?;
            }
            out.flush().map_err(|e| failed(&e))
        }
    }
}

/// One value a plan row sets, as the table and the CSV show it.
#[derive(Debug, Clone, PartialEq, Eq)]
struct PlanLine {
    row: u64,
    sku: String,
    product: String,
    variant: String,
    location: Option<String>,
    /// `available`, `on_hand`, `price` or `compare_at_price`.
    field: &'static str,
    /// `None` for a compare-at price that is not set.
    before: Option<String>,
    after: Option<String>,
    /// `+7`, `-3`, `0`, `+2.50`; empty when it cannot be computed.
    delta: String,
    /// Up (1), down (-1) or unchanged (0).
    direction: i64,
    large: bool,
}

impl PlanLine {
    fn changes(&self) -> bool {
        self.before != self.after
    }
}

/// Every value of the plan in the file's order.
fn plan_lines(plan: &Plan) -> Vec<PlanLine> {
    let mut lines = Vec::with_capacity(plan.quantities.len() + plan.prices.len());
    for q in &plan.quantities {
        lines.push(PlanLine {
            row: q.row,
            sku: q.sku.clone(),
            product: q.product_title.clone(),
            variant: q.variant_title.clone(),
            location: Some(q.location_name.clone()),
            field: q.name.as_str(),
            before: Some(q.before.to_string()),
            after: Some(q.after.to_string()),
            delta: output::signed(q.delta),
            direction: q.delta.signum(),
            large: q.large,
        });
    }
    for p in &plan.prices {
        let (delta, direction) = money_delta(Some(&p.before_price), Some(&p.after_price));
        lines.push(PlanLine {
            row: p.row,
            sku: p.sku.clone(),
            product: p.product_title.clone(),
            variant: p.variant_title.clone(),
            location: None,
            field: "price",
            before: Some(p.before_price.clone()),
            after: Some(p.after_price.clone()),
            delta,
            direction,
            large: p.large,
        });
        if p.before_compare_at != p.after_compare_at {
            let (delta, direction) =
                money_delta(p.before_compare_at.as_ref(), p.after_compare_at.as_ref());
            lines.push(PlanLine {
                row: p.row,
                sku: p.sku.clone(),
                product: p.product_title.clone(),
                variant: p.variant_title.clone(),
                location: None,
                field: "compare_at_price",
                before: p.before_compare_at.clone(),
                after: p.after_compare_at.clone(),
                delta,
                direction,
                large: false,
            });
        }
    }
    // Stable: a row's quantity comes before its price, its price before its compare-at.
    lines.sort_by_key(|l| l.row);
    lines
}

/// "+2.50" and its direction, from two amounts; "" when either is missing or unreadable.
fn money_delta(before: Option<&String>, after: Option<&String>) -> (String, i64) {
    match (
        before.and_then(|b| import::cents(b)),
        after.and_then(|a| import::cents(a)),
    ) {
        (Some(b), Some(a)) => {
            let d = a - b;
            let sign = match d.signum() {
                1 => "+",
                -1 => "-",
                _ => "",
            };
            let abs = d.unsigned_abs();
            (format!("{sign}{}.{:02}", abs / 100, abs % 100), d.signum())
        }
        (None, Some(_)) => (String::new(), 1),
        (Some(_), None) => (String::new(), -1),
        (None, None) => (String::new(), 0),
    }
}

fn format_name(format: Format) -> &'static str {
    match format {
        Format::ShopifyInventory => "Shopify inventory export",
        Format::ShopifyProduct => "Shopify product CSV",
        Format::PlainQuantity => "sku,location,quantity",
        Format::PlainPrice => "sku,price",
    }
}

fn field_label(field: &str) -> &str {
    match field {
        "on_hand" => "on hand",
        "compare_at_price" => "compare-at",
        other => other,
    }
}

/// The plan as a person reads it: the summary, the problems, then the rows that change.
fn render_plan(paint: Paint, plan: &Plan, store: &str, all: bool) -> String {
    let s = &plan.summary;
    let read_at = SystemTime::UNIX_EPOCH
        .checked_add(Duration::from_millis(plan.read_at_ms.max(0) as u64))
        .and_then(output::rfc3339)
        .map(|at| format!(" at {at}"))
        .unwrap_or_default();
    let mut out = vec![format!(
        "Plan for {} ({}, {}), against {store}'s live values{read_at}:",
        plan.file_name,
        format_name(plan.format),
        output::count(s.file_rows, "row", "rows")
    )];
    let changes = s.quantity_changes + s.price_changes;
    let mut kinds = Vec::new();
    if s.quantity_changes > 0 || s.price_changes == 0 {
        kinds.push(output::count(
            s.quantity_changes,
            "stock level",
            "stock levels",
        ));
    }
    if s.price_changes > 0 {
        kinds.push(output::count(s.price_changes, "price", "prices"));
    }
    let summary: Vec<(&str, String)> = vec![
        (
            "Changes",
            format!("{} ({})", output::thousands(changes), kinds.join(", ")),
        ),
        (
            "Unchanged",
            format!(
                "{} (the store already holds the file's value)",
                output::thousands(s.unchanged)
            ),
        ),
        (
            "Large",
            paint.paint(
                &format!(
                    "{} (more than {}% or {} units)",
                    output::thousands(s.large),
                    plan.options.large_percent,
                    plan.options.large_units
                ),
                if s.large > 0 { Tone::Warn } else { Tone::Plain },
            ),
        ),
        (
            "Problems",
            paint.paint(
                &output::thousands(s.problems),
                if s.problems > 0 {
                    Tone::Bad
                } else {
                    Tone::Plain
                },
            ),
        ),
        (
            "Units",
            format!(
                "{} added, {} removed",
                paint.paint(
                    &output::signed(s.units_added),
                    if s.units_added > 0 {
                        Tone::Up
                    } else {
                        Tone::Plain
                    }
                ),
                paint.paint(
                    &output::signed(-s.units_removed),
                    if s.units_removed > 0 {
                        Tone::Down
                    } else {
                        Tone::Plain
                    }
                ),
            ),
        ),
        (
            "Prices",
            output::count(s.price_changes, "change", "changes"),
        ),
    ];
    for (label, value) in summary {
        out.push(format!("  {label:<10} {value}"));
    }
    let stale = plan
        .quantities
        .iter()
        .filter(|q| q.cached.is_some())
        .count() as u64;
    if stale > 0 {
        out.push(format!(
            "  ({} had changed in the store since the last sync: the plan uses the store's \
             values.)",
            output::count(stale, "stock level", "stock levels")
        ));
    }
    if !plan.problems.is_empty() {
        out.push(String::new());
        out.push(paint.paint(
            &format!("Problems ({}):", output::thousands(s.problems)),
            Tone::Bad,
        ));
        let shown = if all {
            plan.problems.len()
        } else {
            plan.problems.len().min(SHOWN_ROWS)
        };
        out.extend(plan.problems[..shown].iter().map(problem_line));
        if shown < plan.problems.len() {
            out.push(format!(
                "  … and {} more (--all prints every one).",
                output::thousands((plan.problems.len() - shown) as u64)
            ));
        }
        if plan
            .problems
            .iter()
            .any(|p| p.kind == ProblemKind::UnknownSku)
        {
            out.push(
                "  SKUs are matched through the local cache: if some are new in the store, run \
                 `shelfsync sync` and plan again."
                    .to_owned(),
            );
        }
    }
    let lines: Vec<PlanLine> = plan_lines(plan)
        .into_iter()
        .filter(PlanLine::changes)
        .collect();
    if !lines.is_empty() {
        out.push(String::new());
        out.push(changes_table(paint, &lines, all));
    }
    out.join("\n")
}

fn problem_line(p: &Problem) -> String {
    let column = p
        .column
        .as_deref()
        .map(|c| format!(", column \"{c}\""))
        .unwrap_or_default();
    let kind = serde_json::to_value(p.kind)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default();
    format!("  row {}{column}: {} [{kind}]", p.row, p.message)
}

/// The rows that change, the first [`SHOWN_ROWS`] unless `all`.
fn changes_table(paint: Paint, lines: &[PlanLine], all: bool) -> String {
    let fields = lines.iter().any(|l| l.field != "available");
    let shown = if all {
        lines.len()
    } else {
        lines.len().min(SHOWN_ROWS)
    };
    let mut header = vec![
        ("ROW", Align::Right),
        ("SKU", Align::Left),
        ("LOCATION", Align::Left),
    ];
    if fields {
        header.push(("FIELD", Align::Left));
    }
    header.extend([
        ("BEFORE", Align::Right),
        ("", Align::Left),
        ("AFTER", Align::Right),
        ("DELTA", Align::Right),
        ("", Align::Left),
    ]);
    let rows: Vec<Vec<Cell>> = lines[..shown]
        .iter()
        .map(|l| {
            let tone = match l.direction {
                1 => Tone::Up,
                -1 => Tone::Down,
                _ => Tone::Plain,
            };
            let mut row = vec![
                Cell::from(l.row.to_string()),
                Cell::from(l.sku.as_str()),
                Cell::from(l.location.as_deref().unwrap_or("-")),
            ];
            if fields {
                row.push(Cell::from(field_label(l.field)));
            }
            row.extend([
                Cell::from(l.before.as_deref().unwrap_or("none")),
                Cell::from("→"),
                Cell::from(l.after.as_deref().unwrap_or("none")),
                Cell::new(l.delta.as_str(), tone),
                if l.large {
                    Cell::new("large", Tone::Warn)
                } else {
                    Cell::default()
                },
            ]);
            row
        })
        .collect();
    let mut text = output::styled_table(paint, &header, &rows);
    let hidden = &lines[shown..];
    if !hidden.is_empty() {
        let large = hidden.iter().filter(|l| l.large).count() as u64;
        text.push_str(&format!(
            "\n… and {} more {}{}: --all prints every one, --output FILE.csv writes the whole \
             plan.",
            output::thousands(hidden.len() as u64),
            if hidden.len() == 1 {
                "change"
            } else {
                "changes"
            },
            if large > 0 {
                format!(" ({} of them large)", output::thousands(large))
            } else {
                String::new()
            }
        ));
    }
    text
}

/// `import --check`: the file alone, no store.
fn check(ctx: &Context, args: &ImportArgs) -> Result<(), Failure> {
    let check = import::check_file(&args.file).map_err(|e| Failure::local(e.to_string()))?;
    if ctx.json {
        output::json(&check)?;
    } else {
        output::line(&render_check(&check))?;
    }
    match check.problems.len() {
        0 => Ok(()),
        n => Err(Failure::new(
            Code::Usage,
            format!(
                "{} in {}; nothing was written.",
                output::count(n as u64, "problem", "problems"),
                args.file.display()
            ),
        )),
    }
}

fn render_check(check: &FileCheck) -> String {
    let format = check.format.map_or("not recognised", format_name);
    let mut out = vec![
        format!(
            "Format: {format} (delimiter {}{})",
            match check.delimiter.as_str() {
                "\\t" => "tab",
                "," => "comma",
                ";" => "semicolon",
                other => other,
            },
            if check.has_bom {
                ", with a byte-order mark"
            } else {
                ""
            }
        ),
        format!(
            "Rows: {} after the header, {} distinct SKUs",
            output::thousands(check.data_rows),
            output::thousands(check.distinct_skus)
        ),
    ];
    if !check.locations.is_empty() {
        out.push(format!("Locations: {}", check.locations.join(", ")));
    }
    if check.problems.is_empty() {
        out.push("No problems found.".to_owned());
    } else {
        out.push(format!("Problems ({}):", check.problems.len()));
        out.extend(check.problems.iter().map(problem_line));
    }
    out.join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;
    use shelfsync_engine::bulk_update::{PriceRow, QuantityRow, RefreshCost};
    use shelfsync_engine::import::QuantityName;

    fn quantity(row: u64, sku: &str, before: i64, after: i64, large: bool) -> QuantityRow {
        QuantityRow {
            row,
            sku: sku.into(),
            product_id: 1,
            product_title: "Mug".into(),
            variant_id: 2,
            variant_title: "Small".into(),
            inventory_item_id: 3,
            location_id: 4,
            location_name: "Warehouse".into(),
            name: QuantityName::Available,
            before,
            after,
            delta: after - before,
            cached: None,
            large,
        }
    }

    fn plan() -> Plan {
        Plan {
            file_name: "stock.csv".into(),
            format: Format::PlainQuantity,
            read_at_ms: 1_784_073_600_000,
            options: PlanOptions::default(),
            quantities: vec![
                quantity(2, "MUG-S", 10, 17, false),
                quantity(3, "MUG-M", 5, 5, false),
                quantity(4, "MUG-L", 300, 20, true),
            ],
            prices: vec![PriceRow {
                row: 5,
                sku: "TEE-1".into(),
                product_id: 9,
                product_title: "Tee".into(),
                variant_id: 10,
                variant_title: "M".into(),
                before_price: "19.00".into(),
                after_price: "21.50".into(),
                before_compare_at: None,
                after_compare_at: Some("25.00".into()),
                large: false,
            }],
            problems: vec![Problem {
                row: 6,
                column: None,
                kind: ProblemKind::UnknownSku,
                message: "No variant of the store has the SKU NOPE.".into(),
            }],
            summary: PlanSummary {
                file_rows: 5,
                quantity_changes: 2,
                price_changes: 1,
                unchanged: 1,
                large: 1,
                problems: 1,
                units_added: 7,
                units_removed: 280,
            },
            refresh: RefreshCost::default(),
        }
    }

    #[test]
    fn the_plan_reads_summary_first_then_problems_then_the_changes() {
        let text = render_plan(Paint::plain(), &plan(), "Corner Shop", false);
        let at = |needle: &str| {
            text.find(needle)
                .unwrap_or_else(|| panic!("{needle:?} missing from\n{text}"))
        };
        assert!(text.starts_with(
            "Plan for stock.csv (sku,location,quantity, 5 rows), against Corner Shop's live \
             values at 2026-07-15T00:00:00Z:"
        ));
        assert!(
            text.contains("  Changes    3 (2 stock levels, 1 price)"),
            "{text}"
        );
        assert!(
            text.contains("  Units      +7 added, -280 removed"),
            "{text}"
        );
        assert!(at("Units") < at("Problems (1):"));
        assert!(at("Problems (1):") < at("ROW"));
        assert!(text.contains("row 6: No variant of the store has the SKU NOPE. [unknown-sku]"));
        // The unchanged row is counted, not listed; a price row lists its compare-at too.
        assert!(!text.contains("MUG-M"), "{text}");
        assert!(
            text.contains("  4  MUG-L  Warehouse  available      300  →     20   -280  large"),
            "{text}"
        );
        assert!(
            text.ends_with("  5  TEE-1  -          compare-at    none  →  25.00"),
            "{text}"
        );
        assert!(text.contains("19.00  →  21.50  +2.50"), "{text}");
        assert!(!text.contains('\u{1b}'));
    }

    #[test]
    fn a_long_plan_shows_its_first_rows_and_says_how_many_more() {
        let mut plan = plan();
        plan.prices.clear();
        plan.quantities = (0..SHOWN_ROWS as u64 + 12)
            .map(|i| quantity(i + 2, &format!("SKU-{i}"), 1, 2 + i as i64, i == 60))
            .collect();
        let text = render_plan(Paint::plain(), &plan, "Corner Shop", false);
        assert!(text.contains("SKU-49"));
        assert!(!text.contains("SKU-50 "), "{text}");
        assert!(
            text.contains("… and 12 more changes (1 of them large): --all prints every one"),
            "{text}"
        );
        let text = render_plan(Paint::plain(), &plan, "Corner Shop", true);
        assert!(text.contains("SKU-61"));
        assert!(!text.contains("more changes"));
    }

    #[test]
    fn csv_lines_cover_every_row_in_file_order() {
        let lines = plan_lines(&plan());
        let fields: Vec<(u64, &str, &str)> = lines
            .iter()
            .map(|l| (l.row, l.field, l.delta.as_str()))
            .collect();
        assert_eq!(
            fields,
            [
                (2, "available", "+7"),
                (3, "available", "0"),
                (4, "available", "-280"),
                (5, "price", "+2.50"),
                (5, "compare_at_price", ""),
            ]
        );
    }

    #[test]
    fn output_files_are_csv_or_json() {
        assert_eq!(
            OutputKind::of(Path::new("plan.CSV")).unwrap(),
            OutputKind::Csv
        );
        assert_eq!(
            OutputKind::of(Path::new("a/plan.json")).unwrap(),
            OutputKind::Json
        );
        assert_eq!(
            OutputKind::of(Path::new("plan.txt")).unwrap_err().code,
            Code::Usage
        );
    }
}
