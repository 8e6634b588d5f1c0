//! Applying a plan, reversing it, and finishing what a crash interrupted.
//!
//! Every request is a journaled step (see the module above): recorded `sending` before it
//! leaves and `done` or `rejected` after Shopify's answer. A transport failure that outlasts
//! the request pipeline's retries leaves the step `sending` and the update unfinished; the next
//! [`recover`](BulkUpdates::recover) settles it.

use std::collections::{BTreeMap, HashSet};
use std::time::Instant;

use serde::{Deserialize, Serialize};
use shelfsync_shopify::IdempotencyKey;
use shelfsync_shopify::operations::{
    AdjustQuantity, InventoryAdjust, InventoryAdjustInput, InventoryAdjustVariables,
    InventoryPayload, InventorySet, InventorySetInput, InventorySetVariables, SetQuantity,
    UserError, VariantPriceInput, VariantsBulkUpdate, VariantsBulkUpdateVariables,
};
use shelfsync_store::{BulkMode, BulkState, BulkStep, Durability, StepPurpose, StepState};

use super::{BulkError, BulkUpdates, Conflict, MAX_QUANTITIES_PER_CALL, Outcome, Plan};
use crate::import::QuantityName;

/// How to apply a plan.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApplyOptions {
    pub mode: BulkMode,
    /// Apply the rows that matched even though other rows of the file have problems.
    pub skip_problems: bool,
}

/// What to do with an update a crash interrupted while applying.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Recovery {
    /// Send the rest of the plan (conflicts are handled as the update's mode says).
    Finish,
    /// Reverse what was applied.
    RollBack,
}

/// How far an apply or a reversal is.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Progress {
    pub id: i64,
    /// `applying` or `reversing`.
    pub phase: String,
    pub done: u64,
    pub total: u64,
    /// Rows per second so far.
    pub rate: f64,
    /// Seconds left at that rate.
    pub seconds_left: Option<f64>,
}

/// The rows of one request, as journaled.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
enum StepRequest {
    /// `inventorySetQuantities` of plan rows (indexes into `Plan::quantities`).
    SetQuantities {
        name: QuantityName,
        rows: Vec<usize>,
    },
    /// `productVariantsBulkUpdate` of plan rows (indexes into `Plan::prices`).
    SetPrices { product_id: i64, rows: Vec<usize> },
    /// `inventoryAdjustQuantities` by `before − after` of plan rows.
    AdjustQuantities {
        name: QuantityName,
        rows: Vec<usize>,
    },
    /// `productVariantsBulkUpdate` back to the plan's "before".
    RestorePrices { product_id: i64, rows: Vec<usize> },
}

/// What Shopify did with a request.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Sent {
    Applied,
    /// Some `changeFromQuantity` no longer matched; nothing was applied.
    Stale,
    /// Refused for another reason; nothing was applied.
    Refused(String),
}

/// Whether a reversal undoes an interrupted or failed apply, or a finished one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Reversal {
    RollBack,
    Undo,
}

struct Run<'a> {
    bulk: &'a BulkUpdates,
    id: i64,
    plan: Plan,
    outcome: Outcome,
    progress: &'a mut (dyn FnMut(&Progress) + Send + Sync),
    started: Instant,
    phase: &'static str,
    done: u64,
    total: u64,
}

impl BulkUpdates {
    /// Applies a plan as `options` say; returns how it ended. The plan is journaled before the
    /// first write.
    pub async fn apply(
        &self,
        plan: &Plan,
        options: ApplyOptions,
        progress: &mut (dyn FnMut(&Progress) + Send + Sync),
    ) -> Result<Outcome, BulkError> {
        if !plan.problems.is_empty() && !options.skip_problems {
            return Err(BulkError::Unresolved(plan.problems.len() as u64));
        }
        let json = serde_json::to_string(plan).map_err(|e| BulkError::Unexpected(e.to_string()))?;
        let file_name = plan.file_name.clone();
        let mode = options.mode;
        let counts = shelfsync_store::BulkCounts {
            quantity_changes: plan.summary.quantity_changes,
            price_changes: plan.summary.price_changes,
        };
        let id = self
            .cache
            .write(move |db| {
                let tx = db.write_with(Durability::Full)?;
                let id = tx.begin_bulk_update(&file_name, mode, &json, counts)?;
                tx.commit()?;
                Ok(id)
            })
            .await?;
        let mut run = Run::new(self, id, plan.clone(), mode, progress);
        run.apply(&HashSet::new(), &HashSet::new()).await
    }

    /// Finishes an update a crash or kill interrupted: settles its last requests from the
    /// store's answers, then sends the rest (`Finish`) or reverses what was applied
    /// (`RollBack`). An interrupted reversal or undo is always carried to its end.
    pub async fn recover(
        &self,
        id: i64,
        choice: Recovery,
        progress: &mut (dyn FnMut(&Progress) + Send + Sync),
    ) -> Result<Outcome, BulkError> {
        let (update, mut run) = self.load(id, progress).await?;
        match update.entry.state {
            BulkState::Applying => {
                run.settle().await?;
                match choice {
                    Recovery::Finish => {
                        let steps = run.steps().await?;
                        let (quantities, prices) = run.applied(&steps)?;
                        run.apply(&quantities, &prices).await
                    }
                    Recovery::RollBack => {
                        run.outcome.stopped_by =
                            Some("the update was interrupted and rolled back".into());
                        run.reverse(Reversal::RollBack).await
                    }
                }
            }
            BulkState::RollingBack => run.reverse(Reversal::RollBack).await,
            BulkState::Undoing => run.reverse(Reversal::Undo).await,
            state => Err(BulkError::WrongState {
                id,
                state,
                what: "it is not unfinished",
            }),
        }
    }

    /// What undoing a finished update would do, from its journal and the store's current
    /// values: each change it would reverse, and each it would leave because the store has
    /// changed in a way a reversal would overwrite.
    pub async fn undo_preview(&self, id: i64) -> Result<UndoPreview, BulkError> {
        let mut silent = |_: &Progress| {};
        let (update, run) = self.load(id, &mut silent).await?;
        if update.entry.state != BulkState::Applied {
            return Err(BulkError::WrongState {
                id,
                state: update.entry.state,
                what: "only an applied update can be undone",
            });
        }
        run.preview().await
    }

    /// Undoes a finished update: reverses each of its changes by delta (sales since stay
    /// sold), puts back prices that still hold what it wrote, and lists what it left.
    pub async fn undo(
        &self,
        id: i64,
        progress: &mut (dyn FnMut(&Progress) + Send + Sync),
    ) -> Result<Outcome, BulkError> {
        let (update, mut run) = self.load(id, progress).await?;
        if update.entry.state != BulkState::Applied {
            return Err(BulkError::WrongState {
                id,
                state: update.entry.state,
                what: "only an applied update can be undone",
            });
        }
        run.reverse(Reversal::Undo).await
    }

    async fn load<'a>(
        &'a self,
        id: i64,
        progress: &'a mut (dyn FnMut(&Progress) + Send + Sync),
    ) -> Result<(shelfsync_store::BulkUpdate, Run<'a>), BulkError> {
        let update = self
            .cache
            .read(move |r| r.bulk_update(id))
            .await?
            .ok_or(BulkError::Unknown(id))?;
        let plan: Plan = serde_json::from_str(&update.plan).map_err(|e| BulkError::Journal {
            id,
            detail: e.to_string(),
        })?;
        let mut run = Run::new(self, id, plan, update.entry.mode, progress);
        if let Some(outcome) = update
            .entry
            .outcome
            .as_deref()
            .and_then(|o| serde_json::from_str::<Outcome>(o).ok())
        {
            run.outcome = outcome;
        }
        run.outcome.state = update.entry.state;
        Ok((update, run))
    }
}

/// One change an undo would make or leave.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UndoRow {
    pub row: u64,
    pub sku: String,
    pub location: Option<String>,
    /// `available`, `on_hand` or `price`.
    pub field: String,
    /// What the update wrote.
    pub applied: String,
    pub current: String,
    /// What the store would hold after the undo.
    pub after_undo: String,
}

/// What [`BulkUpdates::undo`] would do.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UndoPreview {
    pub id: i64,
    pub reverse: Vec<UndoRow>,
    pub leave: Vec<Conflict>,
}

/// The changes a reversal makes, from the journal and the store's current values.
struct ReversalPlan {
    quantities: Vec<(usize, i64)>,
    prices: Vec<usize>,
    leave: Vec<Conflict>,
}

impl<'a> Run<'a> {
    fn new(
        bulk: &'a BulkUpdates,
        id: i64,
        plan: Plan,
        mode: BulkMode,
        progress: &'a mut (dyn FnMut(&Progress) + Send + Sync),
    ) -> Self {
        Self {
            bulk,
            id,
            plan,
            outcome: Outcome {
                id,
                state: BulkState::Applying,
                mode,
                applied: 0,
                reversed: 0,
                skipped: Vec::new(),
                stopped_by: None,
                not_reversed: Vec::new(),
            },
            progress,
            started: Instant::now(),
            phase: "applying",
            done: 0,
            total: 0,
        }
    }

    fn report(&mut self, rows: usize) {
        self.done += rows as u64;
        let elapsed = self.started.elapsed().as_secs_f64().max(1e-3);
        let rate = self.done as f64 / elapsed;
        let left = self.total.saturating_sub(self.done) as f64;
        (self.progress)(&Progress {
            id: self.id,
            phase: self.phase.to_owned(),
            done: self.done,
            total: self.total,
            rate,
            seconds_left: (rate > 0.0).then(|| left / rate),
        });
    }

    async fn apply(
        &mut self,
        done_quantities: &HashSet<usize>,
        done_prices: &HashSet<usize>,
    ) -> Result<Outcome, BulkError> {
        let mode = self.outcome.mode;
        let mut groups: BTreeMap<QuantityName, Vec<usize>> = BTreeMap::new();
        for (i, q) in self.plan.quantities.iter().enumerate() {
            if q.delta != 0 && !done_quantities.contains(&i) {
                groups.entry(q.name).or_default().push(i);
            }
        }
        let mut products: Vec<(i64, Vec<usize>)> = Vec::new();
        for (i, p) in self.plan.prices.iter().enumerate() {
            if !p.changes() || done_prices.contains(&i) {
                continue;
            }
            match products.iter_mut().find(|(id, _)| *id == p.product_id) {
                Some((_, rows)) => rows.push(i),
                None => products.push((p.product_id, vec![i])),
            }
        }
        self.total = (groups.values().map(Vec::len).sum::<usize>()
            + products.iter().map(|(_, r)| r.len()).sum::<usize>()) as u64;
        self.outcome.applied = (done_quantities.len() + done_prices.len()) as u64;
        // The first figure before the first request, so a progress bar knows its total.
        self.report(0);
        for (name, rows) in groups {
            for chunk in rows.chunks(MAX_QUANTITIES_PER_CALL) {
                let mut rows = chunk.to_vec();
                while !rows.is_empty() {
                    let request = StepRequest::SetQuantities {
                        name,
                        rows: rows.clone(),
                    };
                    let sent = match self.send_apply(&request).await? {
                        Ok(sent) => sent,
                        Err(stopped) => return Ok(stopped),
                    };
                    match sent {
                        Sent::Applied => {
                            self.outcome.applied += rows.len() as u64;
                            self.report(rows.len());
                            break;
                        }
                        Sent::Stale => {
                            let stale = self.stale_quantities(&rows).await?;
                            if mode == BulkMode::SkipConflicts && !stale.is_empty() {
                                let gone: HashSet<usize> = stale.iter().map(|(i, _)| *i).collect();
                                rows.retain(|i| !gone.contains(i));
                                self.report(gone.len());
                                self.outcome
                                    .skipped
                                    .extend(stale.into_iter().map(|(_, c)| c));
                                continue;
                            }
                            let first = stale.first().map(|(_, c)| c.clone());
                            self.outcome.skipped.clear();
                            self.outcome.not_reversed.clear();
                            return self
                                .stop(match first {
                                    Some(c) => format!(
                                        "{} at {} changed since the plan ({} → {}): someone \
                                         sold or edited it meanwhile",
                                        c.sku,
                                        c.location.unwrap_or_default(),
                                        c.expected,
                                        c.current.unwrap_or_else(|| "unknown".into())
                                    ),
                                    None => "a quantity changed since the plan".into(),
                                })
                                .await;
                        }
                        Sent::Refused(why) => {
                            return self.stop(format!("Shopify refused a change: {why}")).await;
                        }
                    }
                }
            }
        }
        for (product_id, mut rows) in products {
            let variants: Vec<i64> = rows
                .iter()
                .map(|&i| self.plan.prices[i].variant_id)
                .collect();
            let live = self.bulk.read_prices(&variants).await?;
            let mut stale = Vec::new();
            for &i in &rows {
                let p = &self.plan.prices[i];
                let now = live.get(&p.variant_id);
                if now != Some(&(p.before_price.clone(), p.before_compare_at.clone())) {
                    stale.push((
                        i,
                        Conflict {
                            row: p.row,
                            sku: p.sku.clone(),
                            location: None,
                            field: "price".into(),
                            expected: p.before_price.clone(),
                            current: now.map(|(price, _)| price.clone()),
                            reason: "the price changed since the plan".into(),
                        },
                    ));
                }
            }
            if !stale.is_empty() {
                if mode == BulkMode::AllOrNothing {
                    let c = &stale[0].1;
                    let why = format!(
                        "the price of {} changed since the plan ({} → {})",
                        c.sku,
                        c.expected,
                        c.current.clone().unwrap_or_else(|| "gone".into())
                    );
                    return self.stop(why).await;
                }
                let gone: HashSet<usize> = stale.iter().map(|(i, _)| *i).collect();
                rows.retain(|i| !gone.contains(i));
                self.report(gone.len());
                self.outcome
                    .skipped
                    .extend(stale.into_iter().map(|(_, c)| c));
                if rows.is_empty() {
                    continue;
                }
            }
            let request = StepRequest::SetPrices {
                product_id,
                rows: rows.clone(),
            };
            let sent = match self.send_apply(&request).await? {
                Ok(sent) => sent,
                Err(stopped) => return Ok(stopped),
            };
            match sent {
                Sent::Applied => {
                    self.outcome.applied += rows.len() as u64;
                    self.report(rows.len());
                }
                Sent::Stale | Sent::Refused(_) => {
                    return self
                        .stop(format!(
                            "Shopify refused the prices of product {product_id}"
                        ))
                        .await;
                }
            }
        }
        self.outcome.state = BulkState::Applied;
        self.save_state(BulkState::Applied).await?;
        Ok(self.outcome.clone())
    }

    /// Sends an apply step. A chunk that failed for good (the store did not answer through
    /// every retry) stops the apply and reverses it: `Err(outcome)`. If the store still does
    /// not answer, the update stays journaled as rolling back, and `recover` carries the
    /// reversal to its end once it does.
    async fn send_apply(
        &mut self,
        request: &StepRequest,
    ) -> Result<Result<Sent, Outcome>, BulkError> {
        match self.send(StepPurpose::Apply, request).await {
            Err(BulkError::Interrupted { detail, .. }) => {
                let why = format!("Shopify did not answer a chunk through every retry ({detail})");
                self.stop(why).await.map(Err)
            }
            other => other.map(Ok),
        }
    }

    /// Stops an apply and reverses what it did.
    async fn stop(&mut self, why: String) -> Result<Outcome, BulkError> {
        tracing::warn!(bulk_update = self.id, reason = %why, "bulk update stopped; rolling back");
        self.outcome.stopped_by = Some(why);
        self.reverse(Reversal::RollBack).await
    }

    /// The rows of a refused chunk whose store value differs from the plan's "before".
    async fn stale_quantities(&self, rows: &[usize]) -> Result<Vec<(usize, Conflict)>, BulkError> {
        let keys: Vec<(i64, i64)> = rows
            .iter()
            .map(|&i| {
                let q = &self.plan.quantities[i];
                (q.inventory_item_id, q.location_id)
            })
            .collect();
        let live = self.bulk.read_levels(&keys).await?;
        let mut out = Vec::new();
        for &i in rows {
            let q = &self.plan.quantities[i];
            let now = live
                .get(&(q.inventory_item_id, q.location_id))
                .map(|&(a, h)| pick(q.name, a, h));
            if now != Some(q.before) {
                out.push((
                    i,
                    Conflict {
                        row: q.row,
                        sku: q.sku.clone(),
                        location: Some(q.location_name.clone()),
                        field: q.name.as_str().into(),
                        expected: q.before.to_string(),
                        current: now.map(|n| n.to_string()),
                        reason: "changed since the plan (a sale or another edit)".into(),
                    },
                ));
            }
        }
        Ok(out)
    }

    /// Works out what reversing needs from the journal and the store's current values.
    async fn reversal(&self, steps: &[BulkStep]) -> Result<ReversalPlan, BulkError> {
        let (applied_q, applied_p) = self.applied(steps)?;
        let mut leave = Vec::new();
        let mut targets: Vec<usize> = applied_q.into_iter().collect();
        targets.sort_unstable();
        let keys: Vec<(i64, i64)> = targets
            .iter()
            .map(|&i| {
                let q = &self.plan.quantities[i];
                (q.inventory_item_id, q.location_id)
            })
            .collect();
        let live = self.bulk.read_levels(&keys).await?;
        let mut quantities = Vec::new();
        for i in targets {
            let q = &self.plan.quantities[i];
            let Some(&(a, h)) = live.get(&(q.inventory_item_id, q.location_id)) else {
                leave.push(self.quantity_conflict(i, None, "the level is gone from the store"));
                continue;
            };
            let now = pick(q.name, a, h);
            if now - q.delta < 0 {
                leave.push(self.quantity_conflict(
                    i,
                    Some(now),
                    "reversing would take stock below zero: units were sold or moved since",
                ));
                continue;
            }
            quantities.push((i, now));
        }
        let mut targets: Vec<usize> = applied_p.into_iter().collect();
        targets.sort_unstable();
        let variants: Vec<i64> = targets
            .iter()
            .map(|&i| self.plan.prices[i].variant_id)
            .collect();
        let live = self.bulk.read_prices(&variants).await?;
        let mut prices = Vec::new();
        for i in targets {
            let p = &self.plan.prices[i];
            let now = live.get(&p.variant_id);
            if now == Some(&(p.after_price.clone(), p.after_compare_at.clone())) {
                prices.push(i);
            } else {
                leave.push(Conflict {
                    row: p.row,
                    sku: p.sku.clone(),
                    location: None,
                    field: "price".into(),
                    expected: p.after_price.clone(),
                    current: now.map(|(price, _)| price.clone()),
                    reason: "the price was changed after this update; it is left as it is".into(),
                });
            }
        }
        Ok(ReversalPlan {
            quantities,
            prices,
            leave,
        })
    }

    fn quantity_conflict(&self, i: usize, current: Option<i64>, reason: &str) -> Conflict {
        let q = &self.plan.quantities[i];
        Conflict {
            row: q.row,
            sku: q.sku.clone(),
            location: Some(q.location_name.clone()),
            field: q.name.as_str().into(),
            expected: q.after.to_string(),
            current: current.map(|n| n.to_string()),
            reason: reason.into(),
        }
    }

    async fn preview(&self) -> Result<UndoPreview, BulkError> {
        let steps = self.steps().await?;
        let plan = self.reversal(&steps).await?;
        let mut reverse = Vec::new();
        for &(i, now) in &plan.quantities {
            let q = &self.plan.quantities[i];
            reverse.push(UndoRow {
                row: q.row,
                sku: q.sku.clone(),
                location: Some(q.location_name.clone()),
                field: q.name.as_str().into(),
                applied: q.after.to_string(),
                current: now.to_string(),
                after_undo: (now - q.delta).to_string(),
            });
        }
        for &i in &plan.prices {
            let p = &self.plan.prices[i];
            reverse.push(UndoRow {
                row: p.row,
                sku: p.sku.clone(),
                location: None,
                field: "price".into(),
                applied: p.after_price.clone(),
                current: p.after_price.clone(),
                after_undo: p.before_price.clone(),
            });
        }
        reverse.sort_by_key(|r| r.row);
        Ok(UndoPreview {
            id: self.id,
            reverse,
            leave: plan.leave,
        })
    }

    async fn reverse(&mut self, kind: Reversal) -> Result<Outcome, BulkError> {
        let (during, after) = match kind {
            Reversal::RollBack => (BulkState::RollingBack, BulkState::RolledBack),
            Reversal::Undo => (BulkState::Undoing, BulkState::Undone),
        };
        self.outcome.state = during;
        self.save_state(during).await?;
        self.settle().await?;
        let steps = self.steps().await?;
        let plan = self.reversal(&steps).await?;
        self.phase = "reversing";
        self.started = Instant::now();
        self.done = 0;
        self.total = (plan.quantities.len() + plan.prices.len()) as u64;
        self.outcome.not_reversed = plan.leave;
        self.outcome.reversed = reversed_count(&steps);
        self.report(0);
        let mut groups: BTreeMap<QuantityName, Vec<usize>> = BTreeMap::new();
        for &(i, _) in &plan.quantities {
            groups
                .entry(self.plan.quantities[i].name)
                .or_default()
                .push(i);
        }
        for (name, rows) in groups {
            for chunk in rows.chunks(MAX_QUANTITIES_PER_CALL) {
                let request = StepRequest::AdjustQuantities {
                    name,
                    rows: chunk.to_vec(),
                };
                match self.send(StepPurpose::Reverse, &request).await? {
                    Sent::Applied => self.outcome.reversed += chunk.len() as u64,
                    Sent::Stale | Sent::Refused(_) => {
                        for &i in chunk {
                            let c = self.quantity_conflict(
                                i,
                                None,
                                "Shopify refused to reverse it; check it in Shopify",
                            );
                            self.outcome.not_reversed.push(c);
                        }
                    }
                }
                self.report(chunk.len());
            }
        }
        let mut products: BTreeMap<i64, Vec<usize>> = BTreeMap::new();
        for &i in &plan.prices {
            products
                .entry(self.plan.prices[i].product_id)
                .or_default()
                .push(i);
        }
        for (product_id, rows) in products {
            let request = StepRequest::RestorePrices {
                product_id,
                rows: rows.clone(),
            };
            match self.send(StepPurpose::Reverse, &request).await? {
                Sent::Applied => self.outcome.reversed += rows.len() as u64,
                Sent::Stale | Sent::Refused(_) => {
                    for &i in &rows {
                        let p = &self.plan.prices[i];
                        self.outcome.not_reversed.push(Conflict {
                            row: p.row,
                            sku: p.sku.clone(),
                            location: None,
                            field: "price".into(),
                            expected: p.after_price.clone(),
                            current: None,
                            reason: "Shopify refused to put the price back".into(),
                        });
                    }
                }
            }
            self.report(rows.len());
        }
        self.outcome.not_reversed.sort_by_key(|c| c.row);
        // What the store still holds from this update: the changes that were not reversed.
        self.outcome.applied = self.outcome.not_reversed.len() as u64;
        self.outcome.state = after;
        self.save_state(after).await?;
        Ok(self.outcome.clone())
    }

    /// The plan rows (quantities, prices) the store holds from this update's apply steps.
    fn applied(&self, steps: &[BulkStep]) -> Result<(HashSet<usize>, HashSet<usize>), BulkError> {
        let mut quantities = HashSet::new();
        let mut prices = HashSet::new();
        for step in steps.iter().filter(|s| s.state == StepState::Done) {
            match self.request(step)? {
                StepRequest::SetQuantities { rows, .. } => quantities.extend(rows),
                StepRequest::SetPrices { rows, .. } => prices.extend(rows),
                StepRequest::AdjustQuantities { rows, .. } => {
                    for r in rows {
                        quantities.remove(&r);
                    }
                }
                StepRequest::RestorePrices { rows, .. } => {
                    for r in rows {
                        prices.remove(&r);
                    }
                }
            }
        }
        Ok((quantities, prices))
    }

    fn request(&self, step: &BulkStep) -> Result<StepRequest, BulkError> {
        serde_json::from_str(&step.request).map_err(|e| BulkError::Journal {
            id: self.id,
            detail: format!("step {}: {e}", step.seq),
        })
    }

    async fn steps(&self) -> Result<Vec<BulkStep>, BulkError> {
        let id = self.id;
        Ok(self.bulk.cache.read(move |r| r.bulk_steps(id)).await?)
    }

    /// Learns the fate of every step still `sending` (a crash between sending and recording
    /// the answer): quantity requests are sent again with their key, whose replay Shopify
    /// answers with the first result; price requests are settled by reading the prices.
    async fn settle(&mut self) -> Result<(), BulkError> {
        let steps = self.steps().await?;
        for step in steps.iter().filter(|s| s.state == StepState::Sending) {
            let request = self.request(step)?;
            let key = IdempotencyKey::new(step.idempotency_key.clone());
            let sent = match &request {
                StepRequest::SetQuantities { .. } | StepRequest::AdjustQuantities { .. } => {
                    self.call(&request, &key).await?
                }
                StepRequest::SetPrices { rows, .. } | StepRequest::RestorePrices { rows, .. } => {
                    let restoring = matches!(request, StepRequest::RestorePrices { .. });
                    let variants: Vec<i64> = rows
                        .iter()
                        .map(|&i| self.plan.prices[i].variant_id)
                        .collect();
                    let live = self.bulk.read_prices(&variants).await?;
                    let wrote = rows.iter().any(|&i| {
                        let p = &self.plan.prices[i];
                        let target = if restoring {
                            (p.before_price.clone(), p.before_compare_at.clone())
                        } else {
                            (p.after_price.clone(), p.after_compare_at.clone())
                        };
                        live.get(&p.variant_id) == Some(&target)
                    });
                    if wrote {
                        Sent::Applied
                    } else {
                        Sent::Refused("not applied".into())
                    }
                }
            };
            self.record(step.seq, &sent).await?;
        }
        Ok(())
    }

    /// Journals a step, sends it and records the answer. A transport failure leaves the
    /// step `sending` and the update unfinished.
    async fn send(
        &mut self,
        purpose: StepPurpose,
        request: &StepRequest,
    ) -> Result<Sent, BulkError> {
        let key = IdempotencyKey::random();
        let json =
            serde_json::to_string(request).map_err(|e| BulkError::Unexpected(e.to_string()))?;
        let id = self.id;
        let key_text = key.as_str().to_owned();
        let seq = self
            .bulk
            .cache
            .write(move |db| {
                let tx = db.write_with(Durability::Full)?;
                let seq = tx.add_bulk_step(id, purpose, &key_text, &json)?;
                tx.commit()?;
                Ok(seq)
            })
            .await?;
        let sent = self.call(request, &key).await?;
        self.record(seq, &sent).await?;
        Ok(sent)
    }

    async fn record(&self, seq: i64, sent: &Sent) -> Result<(), BulkError> {
        let (state, response) = match sent {
            Sent::Applied => (StepState::Done, serde_json::json!({"applied": true})),
            Sent::Stale => (
                StepState::Rejected,
                serde_json::json!({"applied": false, "reason": "CHANGE_FROM_QUANTITY_STALE"}),
            ),
            Sent::Refused(why) => (
                StepState::Rejected,
                serde_json::json!({"applied": false, "reason": why}),
            ),
        };
        let id = self.id;
        self.bulk
            .cache
            .write(move |db| {
                let tx = db.write_with(Durability::Full)?;
                tx.finish_bulk_step(id, seq, state, &response.to_string())?;
                tx.commit()
            })
            .await?;
        Ok(())
    }

    async fn save_state(&self, state: BulkState) -> Result<(), BulkError> {
        let id = self.id;
        let outcome = serde_json::to_string(&self.outcome)
            .map_err(|e| BulkError::Unexpected(e.to_string()))?;
        self.bulk
            .cache
            .write(move |db| {
                let tx = db.write_with(Durability::Full)?;
                tx.set_bulk_state(id, state, Some(&outcome))?;
                tx.commit()
            })
            .await?;
        Ok(())
    }

    /// Sends one request with `key` through the request pipeline.
    async fn call(&self, request: &StepRequest, key: &IdempotencyKey) -> Result<Sent, BulkError> {
        let reference = Some(format!("shelfsync://bulk-update/{}", self.id));
        let client = &self.bulk.client;
        let interrupted = |e: shelfsync_shopify::ShopifyError| BulkError::Interrupted {
            id: self.id,
            detail: e.to_string(),
        };
        // Shopify answers IDEMPOTENCY_CONCURRENT_REQUEST while the first request with a key
        // is still being processed; wait for it, a few times.
        for attempt in 0..5u32 {
            let sent = match request {
                StepRequest::SetQuantities { name, rows } => {
                    let quantities = rows
                        .iter()
                        .map(|&i| {
                            let q = &self.plan.quantities[i];
                            SetQuantity {
                                inventory_item_id: item_gid(q.inventory_item_id),
                                location_id: location_gid(q.location_id),
                                quantity: q.after,
                                change_from_quantity: Some(q.before),
                            }
                        })
                        .collect();
                    let variables = InventorySetVariables {
                        input: InventorySetInput {
                            name: name.as_str().into(),
                            reason: "correction".into(),
                            reference_document_uri: reference.clone(),
                            quantities,
                        },
                    };
                    let data = client
                        .mutate::<InventorySet>(&variables, key)
                        .await
                        .map_err(interrupted)?;
                    inventory_outcome(data.inventory_set_quantities)
                }
                StepRequest::AdjustQuantities { name, rows } => {
                    let changes = rows
                        .iter()
                        .map(|&i| {
                            let q = &self.plan.quantities[i];
                            AdjustQuantity {
                                inventory_item_id: item_gid(q.inventory_item_id),
                                location_id: location_gid(q.location_id),
                                delta: -q.delta,
                                change_from_quantity: None,
                            }
                        })
                        .collect();
                    let variables = InventoryAdjustVariables {
                        input: InventoryAdjustInput {
                            name: name.as_str().into(),
                            reason: "correction".into(),
                            reference_document_uri: reference.clone(),
                            changes,
                        },
                    };
                    let data = client
                        .mutate::<InventoryAdjust>(&variables, key)
                        .await
                        .map_err(interrupted)?;
                    inventory_outcome(data.inventory_adjust_quantities)
                }
                StepRequest::SetPrices { product_id, rows }
                | StepRequest::RestorePrices { product_id, rows } => {
                    let restoring = matches!(request, StepRequest::RestorePrices { .. });
                    let variants = rows
                        .iter()
                        .map(|&i| {
                            let p = &self.plan.prices[i];
                            let (price, compare_at) = if restoring {
                                (&p.before_price, &p.before_compare_at)
                            } else {
                                (&p.after_price, &p.after_compare_at)
                            };
                            VariantPriceInput {
                                id: format!("gid://shopify/ProductVariant/{}", p.variant_id),
                                price: Some(price.clone()),
                                compare_at_price: Some(compare_at.clone()),
                            }
                        })
                        .collect();
                    let variables = VariantsBulkUpdateVariables {
                        product_id: format!("gid://shopify/Product/{product_id}"),
                        variants,
                    };
                    let data = client
                        .mutate::<VariantsBulkUpdate>(&variables, key)
                        .await
                        .map_err(interrupted)?;
                    match data.product_variants_bulk_update {
                        Some(p) if p.user_errors.is_empty() => Sent::Applied,
                        Some(p) => Sent::Refused(messages(&p.user_errors)),
                        None => Sent::Refused("no answer for productVariantsBulkUpdate".into()),
                    }
                }
            };
            match &sent {
                Sent::Refused(why) if why.contains("IDEMPOTENCY_CONCURRENT_REQUEST") => {
                    tokio::time::sleep(std::time::Duration::from_millis(500 << attempt)).await;
                }
                _ => return Ok(sent),
            }
        }
        Err(BulkError::Interrupted {
            id: self.id,
            detail: "Shopify kept answering that the same request is still in progress".into(),
        })
    }
}

fn pick(name: QuantityName, available: i64, on_hand: i64) -> i64 {
    match name {
        QuantityName::Available => available,
        QuantityName::OnHand => on_hand,
    }
}

fn item_gid(id: i64) -> String {
    format!("gid://shopify/InventoryItem/{id}")
}

fn location_gid(id: i64) -> String {
    format!("gid://shopify/Location/{id}")
}

fn messages(errors: &[UserError]) -> String {
    errors
        .iter()
        .map(|e| match &e.code {
            Some(code) => format!("{} ({code})", e.message),
            None => e.message.clone(),
        })
        .collect::<Vec<_>>()
        .join("; ")
}

fn inventory_outcome(payload: Option<InventoryPayload>) -> Sent {
    match payload {
        Some(p) if p.user_errors.is_empty() => Sent::Applied,
        Some(p)
            if p.user_errors
                .iter()
                .any(|e| e.code.as_deref() == Some("CHANGE_FROM_QUANTITY_STALE")) =>
        {
            Sent::Stale
        }
        Some(p) => Sent::Refused(messages(&p.user_errors)),
        None => Sent::Refused("Shopify returned no result".into()),
    }
}

/// Rows reversed by steps already done (a reversal resumed after a crash counts them).
fn reversed_count(steps: &[BulkStep]) -> u64 {
    steps
        .iter()
        .filter(|s| s.state == StepState::Done && s.purpose == StepPurpose::Reverse)
        .filter_map(|s| serde_json::from_str::<StepRequest>(&s.request).ok())
        .map(|r| match r {
            StepRequest::AdjustQuantities { rows, .. }
            | StepRequest::RestorePrices { rows, .. } => rows.len() as u64,
            _ => 0,
        })
        .sum()
}
