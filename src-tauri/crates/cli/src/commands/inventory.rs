//! `shelfsync inventory`: search the local cache by SKU, product title or variant title.
//!
//! The search reads the cache through a read-only connection: no keychain, no network, and
//! it works while the app or the daemon is syncing.

use crate::cli::InventoryArgs;
use crate::context::Context;
use crate::failure::Failure;
use crate::output;
use serde::Serialize;
use shelfsync_store::{Reader, VariantRow};

/// One row of `inventory --json`.
#[derive(Debug, Serialize)]
pub struct InventoryRow {
    pub variant_id: i64,
    pub sku: Option<String>,
    /// "Product — Variant", or the product title alone for a single-variant product.
    pub title: String,
    pub product_title: String,
    pub variant_title: String,
    pub price: String,
    /// Sum of `available` over every location.
    pub total_available: i64,
}

impl From<VariantRow> for InventoryRow {
    fn from(row: VariantRow) -> Self {
        let v = row.variant;
        let title = if v.title.is_empty() || v.title == "Default Title" {
            row.product_title.clone()
        } else {
            format!("{} — {}", row.product_title, v.title)
        };
        Self {
            variant_id: v.id,
            sku: v.sku,
            title,
            product_title: row.product_title,
            variant_title: v.title,
            price: v.price.as_str().to_string(),
            total_available: row.total_available,
        }
    }
}

pub async fn run(ctx: &Context, args: InventoryArgs) -> Result<(), Failure> {
    let (_, path) = ctx.local_store()?;
    let InventoryArgs {
        query,
        limit,
        offset,
    } = args;
    let search = query.clone();
    let rows = tokio::task::spawn_blocking(move || {
        if !path.exists() {
            // Nothing synced yet.
            return Ok(Vec::new());
        }
        Reader::open(&path)?.search_variants(&search, limit, offset)
    })
    .await
    .map_err(Failure::cache)?
    .map_err(Failure::cache)?;
    let rows: Vec<InventoryRow> = rows.into_iter().map(InventoryRow::from).collect();
    if ctx.json {
        return output::json(&rows);
    }
    if rows.is_empty() {
        return output::line(&nothing_found(&query, offset));
    }
    let table: Vec<Vec<String>> = rows
        .iter()
        .map(|r| {
            vec![
                r.sku.clone().unwrap_or_else(|| "-".into()),
                r.title.clone(),
                r.total_available.to_string(),
            ]
        })
        .collect();
    output::line(&output::table(&["SKU", "TITLE", "AVAILABLE"], &table))
}

/// Why the list is empty, in words that say what to try next: an empty query finds every
/// variant, so only an empty cache (or paging past its end) gives nothing.
fn nothing_found(query: &str, offset: u32) -> String {
    match (query.trim().is_empty(), offset) {
        (true, 0) => "The local copy is empty: `shelfsync sync --full` fills it.".into(),
        (true, offset) => format!("No more variants after the first {offset}."),
        (false, 0) => format!(
            "No variant's SKU, product title or variant title starts with \"{}\".",
            query.trim()
        ),
        (false, offset) => format!(
            "No more variants starting with \"{}\" after the first {offset}.",
            query.trim()
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::nothing_found;

    #[test]
    fn an_empty_answer_says_whether_the_cache_or_the_query_is_the_reason() {
        assert!(nothing_found("", 0).contains("sync --full"));
        assert!(nothing_found("  ", 100).contains("after the first 100"));
        let text = nothing_found("MUG", 0);
        assert!(text.contains("starts with \"MUG\""), "{text}");
        assert!(!text.contains("sync --full"), "{text}");
        assert!(nothing_found("MUG", 50).contains("after the first 50"));
    }
}
