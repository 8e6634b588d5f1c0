//! From a file to a plan: rows matched to the cache, "before" values read live from the store,
//! large changes flagged.
//!
//! Matching uses the cache (one read of every SKU and level, so a 50,000-row file is matched in
//! memory, not with a query per row); the values a plan compares against are read from Shopify
//! at planning time, because the cache may be minutes behind and the plan's "before" is what
//! the compare-and-set writes will insist on.

use std::collections::HashMap;
use std::path::Path;

use serde::{Deserialize, Serialize};
use shelfsync_shopify::operations::{
    LevelQuantities, LevelQuantitiesVariables, VariantPrices, VariantPricesVariables,
};

use super::{
    BulkError, BulkUpdates, Plan, PlanSummary, PriceRow, QuantityRow, RefreshCost, level_gid,
    parse_level_gid,
};
use crate::import::{self, Problem, ProblemKind, QuantityName, Wanted, WantedChange};

/// Ids per `nodes(ids:)` read: Shopify's limit.
const IDS_PER_READ: usize = 250;

/// Up to this many values, a plan reads each one back by id: two points a level, so a full
/// bucket (2,000 points on the standard plan) answers at once. Beyond, reading by id would
/// wait on the bucket (2,000 levels: 20 s), so the plan brings the whole cache up to date
/// instead and reads "before" from it:
/// - when the cache's stock was brought up to date within [`FRESH_WITHIN`], with an
///   incremental read of the catalogue and stock (its syncer's next pass, without orders),
///   which reads only what changed since: a few dozen points and well under a second on a
///   store the app keeps in sync;
/// - otherwise with one bulk operation, which costs about 20 points whatever the store's size
///   but takes seconds (5.7 s for 137,877 levels in `bench_bulk`), where an incremental pass
///   after days away could read much of the store page by page.
///
/// Either way a value that changes after the read is caught when the update is applied: every
/// quantity is compare-and-set against its "before", and prices are read again just before
/// they are written.
pub const LIVE_READ_LIMIT: usize = 500;

/// How recently the cache's stock watermark must have moved for an incremental pass to
/// stand in for a full re-read (see [`LIVE_READ_LIMIT`]).
pub const FRESH_WITHIN: std::time::Duration = std::time::Duration::from_secs(60 * 60);

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

/// When a change counts as large: more than `percent` of the value before, or more than `units`
/// units (for prices, more than `percent`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlanOptions {
    pub large_percent: u32,
    pub large_units: i64,
}

impl Default for PlanOptions {
    fn default() -> Self {
        Self {
            large_percent: 50,
            large_units: 100,
        }
    }
}

impl PlanOptions {
    fn large_quantity(&self, before: i64, after: i64) -> bool {
        let delta = (after - before).abs();
        delta > self.large_units
            || (before > 0 && delta * 100 > i64::from(self.large_percent) * before)
    }

    fn large_price(&self, before: &str, after: &str) -> bool {
        match (import::cents(before), import::cents(after)) {
            (Some(b), Some(a)) if b > 0 => (a - b).abs() * 100 > i64::from(self.large_percent) * b,
            (Some(0), Some(a)) => a > 0,
            _ => false,
        }
    }
}

/// What the cache knows, indexed for matching.
struct Index {
    by_sku: HashMap<String, Vec<shelfsync_store::SkuVariant>>,
    locations: HashMap<String, (i64, String)>,
    /// (item, location) → (available, on_hand)
    levels: HashMap<(i64, i64), (Option<i64>, Option<i64>)>,
    /// The only active location, when the store has one (for files without locations).
    only_location: Option<(i64, String)>,
}

impl BulkUpdates {
    /// Reads `path`, matches it to the cache and reads the affected values from the store.
    /// Writes nothing to Shopify.
    pub async fn plan(&self, path: &Path, options: PlanOptions) -> Result<Plan, BulkError> {
        let path_owned = path.to_path_buf();
        let file = tokio::task::spawn_blocking(move || import::read_file(&path_owned))
            .await
            .map_err(|e| BulkError::Unexpected(e.to_string()))??;
        let file_name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| path.display().to_string());
        let values = file.wanted.len();
        if values <= LIVE_READ_LIMIT {
            let mut plan = self.plan_rows(file, &file_name, options).await?;
            self.refresh(&mut plan).await?;
            finish(&mut plan);
            return Ok(plan);
        }
        // Many rows: the whole cache is brought up to date (see `LIVE_READ_LIMIT`).
        let cached = self.plan_rows(file.clone(), &file_name, options).await?;
        let fresh = self
            .cache
            .read(|r| r.watermarks())
            .await?
            .into_iter()
            .find(|w| w.resource == shelfsync_store::Resource::InventoryLevels)
            .is_some_and(|w| {
                let age_ms = now_ms() - w.advanced_at.as_millisecond();
                (0..=FRESH_WITHIN.as_millis() as i64).contains(&age_ms)
            });
        let start = self.client.stats();
        let syncer = self.syncer.clone().unwrap_or_else(|| {
            crate::sync::Syncer::new(
                self.client.clone(),
                self.cache.clone(),
                crate::events::Events::new(),
            )
        });
        let synced = if fresh {
            syncer.refresh_stock().await.map(|_| ())
        } else {
            crate::bulk_sync::full_sync(&syncer).await.map(|_| ())
        };
        synced.map_err(|e| match e {
            crate::sync::SyncError::Shopify(e) => BulkError::Shopify(e),
            other => BulkError::Unexpected(other.to_string()),
        })?;
        let end = self.client.stats();
        let mut plan = self.plan_rows(file, &file_name, options).await?;
        let was: HashMap<(u64, QuantityName), i64> = cached
            .quantities
            .iter()
            .map(|q| ((q.row, q.name), q.before))
            .collect();
        for q in &mut plan.quantities {
            q.cached = was
                .get(&(q.row, q.name))
                .copied()
                .filter(|&b| b != q.before);
        }
        plan.refresh = RefreshCost {
            requests: end.requests - start.requests,
            points: end.actual_cost - start.actual_cost,
            bulk_operation: !fresh,
        };
        plan.read_at_ms = now_ms();
        finish(&mut plan);
        Ok(plan)
    }

    /// Matches a read file to the cache: the plan with the cache's values as "before".
    pub async fn plan_rows(
        &self,
        file: import::ReadFile,
        file_name: &str,
        options: PlanOptions,
    ) -> Result<Plan, BulkError> {
        let index = self
            .cache
            .read(|r| {
                let variants = r.variants_with_sku()?;
                let levels = r.level_quantities()?;
                let locations = r.locations()?;
                Ok((variants, levels, locations))
            })
            .await?;
        let (variants, levels, locations) = index;
        if variants.is_empty() && locations.is_empty() {
            return Err(BulkError::NotSynced);
        }
        let mut by_sku: HashMap<String, Vec<_>> = HashMap::new();
        for v in variants {
            by_sku.entry(v.sku.to_lowercase()).or_default().push(v);
        }
        let active: Vec<_> = locations.iter().filter(|l| l.is_active).collect();
        let index = Index {
            by_sku,
            only_location: match active.as_slice() {
                [one] => Some((one.id, one.name.clone())),
                _ => None,
            },
            locations: locations
                .iter()
                .map(|l| (l.name.to_lowercase(), (l.id, l.name.clone())))
                .collect(),
            levels: levels
                .into_iter()
                .map(|l| {
                    (
                        (l.inventory_item_id, l.location_id),
                        (l.available, l.on_hand),
                    )
                })
                .collect(),
        };
        Ok(match_rows(file, file_name, options, &index))
    }

    /// Replaces every row's "before" with the store's live value; a level or variant the store
    /// no longer has becomes a problem.
    async fn refresh(&self, plan: &mut Plan) -> Result<(), BulkError> {
        let start = self.client.stats();
        let ids: Vec<(i64, i64)> = {
            let mut seen = std::collections::HashSet::new();
            plan.quantities
                .iter()
                .map(|q| (q.inventory_item_id, q.location_id))
                .filter(|k| seen.insert(*k))
                .collect()
        };
        let live = self.read_levels(&ids).await?;
        let mut gone = Vec::new();
        plan.quantities
            .retain(|q| match live.get(&(q.inventory_item_id, q.location_id)) {
                Some(_) => true,
                None => {
                    gone.push(Problem {
                        row: q.row,
                        column: None,
                        kind: ProblemKind::UnknownLocation,
                        message: format!(
                            "{} is no longer stocked at {} in the store.",
                            q.sku, q.location_name
                        ),
                    });
                    false
                }
            });
        for q in &mut plan.quantities {
            let (available, on_hand) = live[&(q.inventory_item_id, q.location_id)];
            let value = match q.name {
                QuantityName::Available => available,
                QuantityName::OnHand => on_hand,
            };
            if value != q.before {
                q.cached = Some(q.before);
            }
            q.before = value;
        }
        let variant_ids: Vec<i64> = plan.prices.iter().map(|p| p.variant_id).collect();
        let prices = self.read_prices(&variant_ids).await?;
        plan.prices.retain(|p| {
            if prices.contains_key(&p.variant_id) {
                true
            } else {
                gone.push(Problem {
                    row: p.row,
                    column: None,
                    kind: ProblemKind::UnknownSku,
                    message: format!("{} is no longer in the store.", p.sku),
                });
                false
            }
        });
        for p in &mut plan.prices {
            let (price, compare_at) = &prices[&p.variant_id];
            p.before_price = price.clone();
            p.before_compare_at = compare_at.clone();
        }
        plan.problems.extend(gone);
        plan.problems.sort_by_key(|p| p.row);
        let end = self.client.stats();
        plan.refresh = RefreshCost {
            requests: end.requests - start.requests,
            points: end.actual_cost - start.actual_cost,
            bulk_operation: false,
        };
        plan.read_at_ms = now_ms();
        Ok(())
    }

    /// The live `available` and `on_hand` of some levels; a level the store does not have is
    /// absent.
    pub(crate) async fn read_levels(
        &self,
        levels: &[(i64, i64)],
    ) -> Result<HashMap<(i64, i64), (i64, i64)>, BulkError> {
        let mut out = HashMap::with_capacity(levels.len());
        for chunk in levels.chunks(IDS_PER_READ) {
            let ids = chunk.iter().map(|(i, l)| level_gid(*i, *l)).collect();
            let data = self
                .client
                .execute::<LevelQuantities>(&LevelQuantitiesVariables { ids })
                .await?;
            for node in data.nodes.into_iter().flatten() {
                let Some(key) = node.id.as_deref().and_then(parse_level_gid) else {
                    continue;
                };
                let get = |name: &str| {
                    node.quantities
                        .iter()
                        .find(|q| q.name == name)
                        .map_or(0, |q| q.quantity)
                };
                out.insert(key, (get("available"), get("on_hand")));
            }
        }
        Ok(out)
    }

    /// The live price and compare-at price of some variants; a variant the store does not
    /// have is absent.
    pub(crate) async fn read_prices(
        &self,
        variants: &[i64],
    ) -> Result<HashMap<i64, (String, Option<String>)>, BulkError> {
        let mut out = HashMap::with_capacity(variants.len());
        for chunk in variants.chunks(IDS_PER_READ) {
            let ids = chunk
                .iter()
                .map(|v| format!("gid://shopify/ProductVariant/{v}"))
                .collect();
            let data = self
                .client
                .execute::<VariantPrices>(&VariantPricesVariables { ids })
                .await?;
            for node in data.nodes.into_iter().flatten() {
                let (Some(id), Some(price)) = (node.id, node.price) else {
                    continue;
                };
                let Some(id) = shelfsync_store::gid_id(&id, "ProductVariant") else {
                    continue;
                };
                let norm = |t: &str| import::cents_text(t).unwrap_or_else(|| t.to_owned());
                out.insert(
                    id,
                    (norm(&price), node.compare_at_price.as_deref().map(norm)),
                );
            }
        }
        Ok(out)
    }
}

fn match_rows(
    file: import::ReadFile,
    file_name: &str,
    options: PlanOptions,
    index: &Index,
) -> Plan {
    let mut problems = file.check.problems;
    let mut quantities = Vec::new();
    let mut prices: Vec<PriceRow> = Vec::new();
    let mut price_rows: HashMap<i64, usize> = HashMap::new();
    for Wanted {
        row,
        sku,
        location,
        change,
    } in file.wanted
    {
        let variant = match index.by_sku.get(&sku.to_lowercase()).map(Vec::as_slice) {
            None | Some([]) => {
                problems.push(Problem {
                    row,
                    column: None,
                    kind: ProblemKind::UnknownSku,
                    message: format!("No variant of the store has the SKU {sku}."),
                });
                continue;
            }
            Some([one]) => one,
            Some(many) => {
                problems.push(Problem {
                    row,
                    column: None,
                    kind: ProblemKind::Duplicate,
                    message: format!(
                        "{} variants of the store share the SKU {sku}, so the row cannot tell \
                         which one it means.",
                        many.len()
                    ),
                });
                continue;
            }
        };
        match change {
            WantedChange::Quantity { name, value, .. } => {
                let place = match &location {
                    Some(name) => index.locations.get(&name.to_lowercase()).cloned(),
                    None => index.only_location.clone(),
                };
                let Some((location_id, location_name)) = place else {
                    problems.push(Problem {
                        row,
                        column: location.as_ref().map(|_| "Location".to_owned()),
                        kind: ProblemKind::UnknownLocation,
                        message: match &location {
                            Some(name) => format!("The store has no location named {name}."),
                            None => "The file names no location and the store has several: \
                                     use the inventory export (one row per location)."
                                .to_owned(),
                        },
                    });
                    continue;
                };
                let Some(&(available, on_hand)) =
                    index.levels.get(&(variant.inventory_item_id, location_id))
                else {
                    problems.push(Problem {
                        row,
                        column: None,
                        kind: ProblemKind::UnknownLocation,
                        message: format!(
                            "{sku} is not stocked at {location_name}: stock it there in \
                             Shopify first."
                        ),
                    });
                    continue;
                };
                let before = match name {
                    QuantityName::Available => available,
                    QuantityName::OnHand => on_hand,
                }
                .unwrap_or(0);
                quantities.push(QuantityRow {
                    row,
                    sku: variant.sku.clone(),
                    product_id: variant.product_id,
                    product_title: variant.product_title.clone(),
                    variant_id: variant.variant_id,
                    variant_title: variant.variant_title.clone(),
                    inventory_item_id: variant.inventory_item_id,
                    location_id,
                    location_name,
                    name,
                    before,
                    after: value,
                    delta: value - before,
                    cached: None,
                    large: false,
                });
            }
            WantedChange::Price {
                price, compare_at, ..
            } => {
                let norm = |t: &str| import::cents_text(t).unwrap_or_else(|| t.to_owned());
                let before_price = norm(&variant.price);
                let before_compare_at = variant.compare_at_price.as_deref().map(norm);
                let row_plan = PriceRow {
                    row,
                    sku: variant.sku.clone(),
                    product_id: variant.product_id,
                    product_title: variant.product_title.clone(),
                    variant_id: variant.variant_id,
                    variant_title: variant.variant_title.clone(),
                    after_price: price.unwrap_or_else(|| before_price.clone()),
                    after_compare_at: compare_at.unwrap_or_else(|| before_compare_at.clone()),
                    before_price,
                    before_compare_at,
                    large: false,
                };
                if let Some(&i) = price_rows.get(&variant.variant_id) {
                    problems.push(Problem {
                        row,
                        column: None,
                        kind: ProblemKind::Duplicate,
                        message: format!("The price of {sku} is set on row {} too.", prices[i].row),
                    });
                    continue;
                }
                price_rows.insert(variant.variant_id, prices.len());
                prices.push(row_plan);
            }
        }
    }
    problems.sort_by_key(|p| p.row);
    let mut plan = Plan {
        file_name: file_name.to_owned(),
        format: file.check.format.unwrap_or(import::Format::PlainQuantity),
        read_at_ms: 0,
        options,
        quantities,
        prices,
        problems,
        summary: PlanSummary {
            file_rows: file.check.data_rows,
            ..PlanSummary::default()
        },
        refresh: RefreshCost::default(),
    };
    finish(&mut plan);
    plan
}

/// Deltas, flags and counts from the rows' before and after values.
fn finish(plan: &mut Plan) {
    let options = plan.options;
    let mut s = PlanSummary {
        file_rows: plan.summary.file_rows,
        problems: plan.problems.len() as u64,
        ..PlanSummary::default()
    };
    for q in &mut plan.quantities {
        q.delta = q.after - q.before;
        q.large = options.large_quantity(q.before, q.after);
        if q.delta == 0 {
            s.unchanged += 1;
        } else {
            s.quantity_changes += 1;
            if q.delta > 0 {
                s.units_added += q.delta;
            } else {
                s.units_removed -= q.delta;
            }
        }
        s.large += u64::from(q.large);
    }
    for p in &mut plan.prices {
        p.large = options.large_price(&p.before_price, &p.after_price);
        if p.changes() {
            s.price_changes += 1;
        } else {
            s.unchanged += 1;
        }
        s.large += u64::from(p.large);
    }
    plan.summary = s;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn large_changes_are_flagged_by_share_and_by_units() {
        let o = PlanOptions::default();
        assert!(!o.large_quantity(10, 15)); // +50%: not more than half
        assert!(o.large_quantity(10, 16)); // +60%
        assert!(o.large_quantity(1000, 1101)); // +101 units, 10%
        assert!(!o.large_quantity(1000, 1100));
        assert!(o.large_quantity(0, 101));
        assert!(!o.large_quantity(0, 100));
        assert!(o.large_price("10.00", "15.01"));
        assert!(!o.large_price("10.00", "14.99"));
        assert!(o.large_price("0.00", "1.00"));
    }
}
