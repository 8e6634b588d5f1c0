//! `shelfsync import --check FILE`: what a bulk-update file holds and what is wrong with it,
//! before any plan is made.
//!
//! It reads the file with the engine's checker (`shelfsync_engine::import`) and touches no
//! store: it needs neither a connection nor the keychain, so an owner can check a supplier's
//! file anywhere. The exit code is 0 for a clean file and 2 when problems were found, so a
//! script can stop before applying it. Applying a file comes with the bulk-update plan.

use crate::context::Context;
use crate::failure::Failure;
use crate::output;
use shelfsync_engine::import::{self, FileCheck, Format};

pub fn run(ctx: &Context, args: &crate::cli::ImportArgs) -> Result<(), Failure> {
    if !args.check {
        return Err(Failure::usage(
            "Applying a file is not available yet: `shelfsync import --check FILE` reads it \
             and reports its problems without touching the store.",
        ));
    }
    let check = import::check_file(&args.file).map_err(|e| Failure::local(e.to_string()))?;
    if ctx.json {
        output::json(&check)?;
    } else {
        output::line(&render(&check))?;
    }
    match check.problems.len() {
        0 => Ok(()),
        n => Err(Failure::usage(format!(
            "{} in {}; nothing was written.",
            if n == 1 {
                "1 problem".to_owned()
            } else {
                format!("{} problems", output::thousands(n as u64))
            },
            args.file.display()
        ))),
    }
}

fn render(check: &FileCheck) -> String {
    let format = match check.format {
        Some(Format::ShopifyInventory) => "Shopify inventory export",
        Some(Format::ShopifyProduct) => "Shopify product CSV",
        Some(Format::PlainQuantity) => "sku,location,quantity",
        Some(Format::PlainPrice) => "sku,price",
        None => "not recognised",
    };
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
        for p in &check.problems {
            let column = p
                .column
                .as_deref()
                .map(|c| format!(", column \"{c}\""))
                .unwrap_or_default();
            let kind = serde_json::to_value(p.kind)
                .ok()
                .and_then(|v| v.as_str().map(str::to_owned))
                .unwrap_or_default();
            out.push(format!("  row {}{column}: {} [{kind}]", p.row, p.message));
        }
    }
    out.join("\n")
}
