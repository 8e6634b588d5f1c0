//! Bulk updates against the simulator over real HTTP: a file becomes a plan against the live
//! store, and applying it is all or nothing, never overwrites a sale, and can be undone.
//!
//! "Mid-way" events are made in the simulator's own process from the apply's progress
//! callback, which runs between two requests: a sale after the first chunk was applied is a
//! sale the rollback must keep.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use shelfsync_engine::bulk_update::{ApplyOptions, PlanOptions, Progress, Recovery};
use shelfsync_engine::import::ProblemKind;
use shelfsync_engine::{BulkError, BulkUpdates, Cache, Events, SyncKind, Syncer};
use shelfsync_shopify::{ClientConfig, Credentials, Secret, ShopifyClient};
use shelfsync_store::{BulkMode, BulkState};
use shopify_sim::store::AVAILABLE;
use shopify_sim::{RunningSim, SimConfig};

struct Setup {
    sim: RunningSim,
    bulk: BulkUpdates,
    cache: Cache,
    dir: tempfile::TempDir,
}

/// 120 products × 3 variants × 2 locations, synced.
async fn setup() -> Setup {
    let sim = shopify_sim::start(SimConfig {
        products: 120,
        variants_per_product: 3,
        locations: 2,
        ..SimConfig::default()
    })
    .await
    .unwrap();
    let token = Secret::new(sim.info.admin_token.clone().unwrap());
    let client = ShopifyClient::new(
        ClientConfig::new(&sim.info.base_url, Credentials::AdminToken(token)).unwrap(),
    )
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let cache = Cache::open(dir.path().join("store.db")).await.unwrap();
    let syncer = Syncer::new(client.clone(), cache.clone(), Events::new());
    syncer.run(SyncKind::Full).await.unwrap();
    Setup {
        sim,
        bulk: BulkUpdates::new(client, cache.clone()),
        cache,
        dir,
    }
}

/// One stock row of the store: (sku, location name, item, location, available).
type Stock = (String, String, u64, u64, i64);

fn stock(sim: &RunningSim) -> Vec<Stock> {
    let store = sim.state.read_store();
    let mut out = Vec::new();
    for v in store.variants.values() {
        for (loc, level) in &store.inventory_items[&v.inventory_item_id].levels {
            out.push((
                v.sku.clone(),
                store.locations[loc].name.clone(),
                v.inventory_item_id,
                *loc,
                level.quantities[AVAILABLE],
            ));
        }
    }
    out.sort();
    out
}

fn available(sim: &RunningSim, item: u64, location: u64) -> i64 {
    sim.state.read_store().inventory_items[&item].levels[&location].quantities[AVAILABLE]
}

/// A plain `sku,location,quantity` file setting each of `rows` to available + 7.
fn quantity_file(dir: &std::path::Path, rows: &[Stock]) -> std::path::PathBuf {
    let mut text = String::from("sku,location,quantity\r\n");
    for (sku, location, _, _, q) in rows {
        text.push_str(&format!("{sku},\"{location}\",{}\r\n", q + 7));
    }
    let path = dir.join("stock.csv");
    std::fs::write(&path, text).unwrap();
    path
}

fn sell(sim: &RunningSim, sku: &str, location: u64, units: i64) {
    let now = sim.state.clock.now();
    let mut store = sim.state.write_store();
    let variant = store.variants.values().find(|v| v.sku == sku).unwrap().id;
    store
        .place_order(&[(variant, units)], Some(location), now)
        .unwrap();
}

fn no_progress() -> impl FnMut(&Progress) + Send + Sync {
    |_: &Progress| {}
}

#[tokio::test(flavor = "multi_thread")]
async fn a_clean_apply_writes_every_row_in_chunks_and_undo_keeps_a_later_sale() {
    let s = setup().await;
    let rows: Vec<Stock> = stock(&s.sim).into_iter().take(600).collect();
    // A merchant edit after the sync, to the file's value: the plan's "before" is the store's,
    // not the cache's, so the row changes nothing.
    let edited = &rows[3];
    {
        let now = s.sim.state.clock.now();
        s.sim
            .state
            .write_store()
            .adjust_level(edited.2, edited.3, &[(AVAILABLE, 7)], now);
    }
    let path = quantity_file(s.dir.path(), &rows);
    let plan = s.bulk.plan(&path, PlanOptions::default()).await.unwrap();
    assert!(plan.problems.is_empty(), "{:?}", plan.problems);
    assert_eq!(plan.quantities.len(), 600);
    assert_eq!(plan.summary.quantity_changes, 599, "{:?}", plan.summary);
    assert_eq!(plan.summary.unchanged, 1);
    let row3 = plan.quantities.iter().find(|q| q.row == 5).unwrap();
    assert_eq!((row3.before, row3.cached), (edited.4 + 7, Some(edited.4)));
    assert_eq!(row3.delta, 0);
    assert!(plan.refresh.points > 0.0 && plan.refresh.requests >= 3);
    // Synced moments ago: an incremental pass brought the cache up to date, for far fewer
    // points than reading 600 levels by id (1,200).
    assert!(!plan.refresh.bulk_operation, "{:?}", plan.refresh);
    assert!(plan.refresh.points < 400.0, "{:?}", plan.refresh);

    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = seen.clone();
    let mut progress = move |p: &Progress| log.lock().unwrap().push((p.done, p.total));
    let outcome = s
        .bulk
        .apply(
            &plan,
            ApplyOptions {
                mode: BulkMode::AllOrNothing,
                skip_problems: false,
            },
            &mut progress,
        )
        .await
        .unwrap();
    assert_eq!(outcome.state, BulkState::Applied);
    assert_eq!(outcome.applied, 599);
    // 599 changes in chunks of at most 250.
    assert_eq!(
        *seen.lock().unwrap(),
        [(0, 599), (250, 599), (500, 599), (599, 599)]
    );
    for (_, _, item, loc, q) in &rows {
        assert_eq!(available(&s.sim, *item, *loc), q + 7);
    }

    // Undo after a sale: the preview shows it, and the sold unit stays sold.
    let sold = &rows[10];
    sell(&s.sim, &sold.0, sold.3, 1);
    let preview = s.bulk.undo_preview(outcome.id).await.unwrap();
    assert_eq!(preview.reverse.len(), 599);
    let line = preview.reverse.iter().find(|r| r.row == 12).unwrap();
    assert_eq!(
        (
            line.applied.as_str(),
            line.current.clone(),
            line.after_undo.clone()
        ),
        (
            (sold.4 + 7).to_string().as_str(),
            (sold.4 + 6).to_string(),
            (sold.4 - 1).to_string()
        )
    );
    let undone = s.bulk.undo(outcome.id, &mut no_progress()).await.unwrap();
    assert_eq!(undone.state, BulkState::Undone);
    assert_eq!(undone.reversed, 599);
    for (i, (_, _, item, loc, q)) in rows.iter().enumerate() {
        let want = match i {
            10 => q - 1,
            3 => q + 7,
            _ => *q,
        };
        assert_eq!(available(&s.sim, *item, *loc), want, "row {i}");
    }
    let listed = s.bulk.list(10).await.unwrap();
    assert_eq!(listed[0].state, BulkState::Undone);
    s.sim.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_sale_mid_way_rolls_the_apply_back_and_the_sold_units_stay_sold() {
    let s = setup().await;
    let rows: Vec<Stock> = stock(&s.sim).into_iter().take(600).collect();
    let path = quantity_file(s.dir.path(), &rows);
    let plan = s.bulk.plan(&path, PlanOptions::default()).await.unwrap();
    // After the first chunk: one unit of an applied row and one of a row not yet sent sell.
    let sim = s.sim.state.clone();
    let (applied_row, later_row) = (rows[5].clone(), rows[400].clone());
    let (a, b) = (applied_row.clone(), later_row.clone());
    let mut progress = move |p: &Progress| {
        if p.phase == "applying" && p.done == 250 {
            let now = sim.clock.now();
            let mut store = sim.write_store();
            for (sku, loc) in [(&a.0, a.3), (&b.0, b.3)] {
                let variant = store.variants.values().find(|v| &v.sku == sku).unwrap().id;
                store.place_order(&[(variant, 1)], Some(loc), now).unwrap();
            }
        }
    };
    let outcome = s
        .bulk
        .apply(
            &plan,
            ApplyOptions {
                mode: BulkMode::AllOrNothing,
                skip_problems: false,
            },
            &mut progress,
        )
        .await
        .unwrap();
    assert_eq!(outcome.state, BulkState::RolledBack, "{outcome:?}");
    let why = outcome.stopped_by.clone().unwrap();
    assert!(why.contains(&later_row.0), "{why}");
    assert_eq!(outcome.reversed, 250);
    assert!(
        outcome.not_reversed.is_empty(),
        "{:?}",
        outcome.not_reversed
    );
    for (i, (_, _, item, loc, q)) in rows.iter().enumerate() {
        let want = if i == 5 || i == 400 { q - 1 } else { *q };
        assert_eq!(available(&s.sim, *item, *loc), want, "row {i}");
    }
    s.sim.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn skip_conflicts_applies_the_rest_and_lists_what_changed() {
    let s = setup().await;
    let rows: Vec<Stock> = stock(&s.sim).into_iter().take(300).collect();
    let path = quantity_file(s.dir.path(), &rows);
    let plan = s.bulk.plan(&path, PlanOptions::default()).await.unwrap();
    sell(&s.sim, &rows[1].0, rows[1].3, 1);
    sell(&s.sim, &rows[260].0, rows[260].3, 2);
    let outcome = s
        .bulk
        .apply(
            &plan,
            ApplyOptions {
                mode: BulkMode::SkipConflicts,
                skip_problems: false,
            },
            &mut no_progress(),
        )
        .await
        .unwrap();
    assert_eq!(outcome.state, BulkState::Applied);
    assert_eq!(outcome.applied, 298);
    let skipped: Vec<(u64, Option<String>)> = outcome
        .skipped
        .iter()
        .map(|c| (c.row, c.current.clone()))
        .collect();
    assert_eq!(
        skipped,
        [
            (3, Some((rows[1].4 - 1).to_string())),
            (262, Some((rows[260].4 - 2).to_string()))
        ]
    );
    for (i, (_, _, item, loc, q)) in rows.iter().enumerate() {
        let want = match i {
            1 => q - 1,
            260 => q - 2,
            _ => q + 7,
        };
        assert_eq!(available(&s.sim, *item, *loc), want, "row {i}");
    }
    s.sim.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_refused_chunk_rolls_back_and_problems_block_apply_unless_skipped() {
    let s = setup().await;
    let mut rows: Vec<Stock> = stock(&s.sim).into_iter().take(400).collect();
    let mut path = quantity_file(s.dir.path(), &rows);
    // A file with problems: an unknown SKU and an unknown location, by row.
    let mut text = std::fs::read_to_string(&path).unwrap();
    text.push_str("NO-SUCH-SKU,Anywhere,3\r\n");
    text.push_str(&format!("{},Nowhere,3\r\n", rows[0].0));
    std::fs::write(&path, text).unwrap();
    let plan = s.bulk.plan(&path, PlanOptions::default()).await.unwrap();
    let problems: Vec<(u64, ProblemKind)> = plan.problems.iter().map(|p| (p.row, p.kind)).collect();
    assert_eq!(
        problems,
        [
            (402, ProblemKind::UnknownSku),
            (403, ProblemKind::UnknownLocation)
        ]
    );
    let refused = s
        .bulk
        .apply(
            &plan,
            ApplyOptions {
                mode: BulkMode::AllOrNothing,
                skip_problems: false,
            },
            &mut no_progress(),
        )
        .await;
    assert!(
        matches!(refused, Err(BulkError::Unresolved(2))),
        "{refused:?}"
    );
    assert!(
        s.bulk.list(10).await.unwrap().is_empty(),
        "nothing journaled"
    );

    // Skipping the problem rows; a level of the second chunk is removed from the store after
    // the first chunk, so Shopify refuses that chunk for good.
    path = quantity_file(s.dir.path(), &rows);
    let plan = s.bulk.plan(&path, PlanOptions::default()).await.unwrap();
    let sim = s.sim.state.clone();
    let gone = rows[300].clone();
    let mut progress = move |p: &Progress| {
        if p.phase == "applying" && p.done == 250 {
            let mut store = sim.write_store();
            store
                .inventory_items
                .get_mut(&gone.2)
                .unwrap()
                .levels
                .remove(&gone.3);
        }
    };
    let outcome = s
        .bulk
        .apply(
            &plan,
            ApplyOptions {
                mode: BulkMode::AllOrNothing,
                skip_problems: true,
            },
            &mut progress,
        )
        .await
        .unwrap();
    assert_eq!(outcome.state, BulkState::RolledBack, "{outcome:?}");
    assert!(outcome.stopped_by.unwrap().contains("refused"));
    rows.remove(300);
    for (i, (_, _, item, loc, q)) in rows.iter().enumerate() {
        assert_eq!(available(&s.sim, *item, *loc), *q, "row {i}");
    }
    s.sim.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn an_apply_killed_mid_way_is_rolled_back_or_finished_from_its_journal() {
    for choice in [Recovery::RollBack, Recovery::Finish] {
        let s = setup().await;
        let rows: Vec<Stock> = stock(&s.sim).into_iter().take(600).collect();
        let path = quantity_file(s.dir.path(), &rows);
        let plan = s.bulk.plan(&path, PlanOptions::default()).await.unwrap();
        // The apply task is dropped at its next await after the first chunk: the second
        // chunk is journaled "sending" and may or may not have reached the store.
        let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
        let stop_tx = Mutex::new(Some(stop_tx));
        let mut progress = move |p: &Progress| {
            if p.done == 250
                && let Some(tx) = stop_tx.lock().unwrap().take()
            {
                let _ = tx.send(());
            }
        };
        let bulk = s.bulk.clone();
        let options = ApplyOptions {
            mode: BulkMode::AllOrNothing,
            skip_problems: false,
        };
        tokio::select! {
            r = bulk.apply(&plan, options, &mut progress) => panic!("finished: {r:?}"),
            _ = stop_rx => {}
        }
        let unfinished = s.bulk.unfinished().await.unwrap();
        assert_eq!(unfinished.len(), 1);
        assert_eq!(unfinished[0].state, BulkState::Applying);
        // A sale while the app was down, on an applied row.
        sell(&s.sim, &rows[0].0, rows[0].3, 1);
        let outcome = s
            .bulk
            .recover(unfinished[0].id, choice, &mut no_progress())
            .await
            .unwrap();
        let values: HashMap<usize, i64> = rows
            .iter()
            .enumerate()
            .map(|(i, r)| (i, available(&s.sim, r.2, r.3)))
            .collect();
        match choice {
            Recovery::RollBack => {
                assert_eq!(outcome.state, BulkState::RolledBack);
                for (i, r) in rows.iter().enumerate() {
                    let want = if i == 0 { r.4 - 1 } else { r.4 };
                    assert_eq!(values[&i], want, "row {i}");
                }
            }
            Recovery::Finish => {
                assert_eq!(outcome.state, BulkState::Applied, "{outcome:?}");
                for (i, r) in rows.iter().enumerate() {
                    let want = if i == 0 { r.4 + 6 } else { r.4 + 7 };
                    assert_eq!(values[&i], want, "row {i}");
                }
            }
        }
        assert!(s.bulk.unfinished().await.unwrap().is_empty());
        s.sim.stop().await;
    }
}

/// (sku, variant id, price in cents, compare-at cents) of two products' variants.
fn priced(sim: &RunningSim) -> Vec<(String, u64, i64, Option<i64>)> {
    let store = sim.state.read_store();
    let mut products: Vec<u64> = store.products.keys().copied().collect();
    products.sort_unstable();
    let mut out: Vec<_> = store
        .variants
        .values()
        .filter(|v| v.product_id == products[0] || v.product_id == products[1])
        .map(|v| (v.sku.clone(), v.id, v.price_cents, v.compare_at_price_cents))
        .collect();
    out.sort();
    out
}

fn price_of(sim: &RunningSim, variant: u64) -> i64 {
    sim.state.read_store().variants[&variant].price_cents
}

fn set_price(sim: &RunningSim, variant: u64, cents: i64) {
    let now = sim.state.clock.now();
    sim.state
        .write_store()
        .set_price(variant, cents, None, now)
        .unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn prices_apply_per_product_and_undo_leaves_a_price_changed_since() {
    let s = setup().await;
    let variants = priced(&s.sim);
    assert_eq!(variants.len(), 6);
    let mut text = String::from("sku,price\n");
    for (sku, _, cents, _) in &variants {
        text.push_str(&format!(
            "{sku},{}.{:02}\n",
            (cents + 100) / 100,
            (cents + 100) % 100
        ));
    }
    let path = s.dir.path().join("prices.csv");
    std::fs::write(&path, text).unwrap();
    let plan = s.bulk.plan(&path, PlanOptions::default()).await.unwrap();
    assert_eq!(plan.summary.price_changes, 6, "{:?}", plan.problems);
    let options = ApplyOptions {
        mode: BulkMode::AllOrNothing,
        skip_problems: false,
    };
    let outcome = s
        .bulk
        .apply(&plan, options, &mut no_progress())
        .await
        .unwrap();
    assert_eq!((outcome.state, outcome.applied), (BulkState::Applied, 6));
    for (_, id, cents, _) in &variants {
        assert_eq!(price_of(&s.sim, *id), cents + 100);
    }
    // The merchant changes one price afterwards: undo puts the others back and leaves it.
    set_price(&s.sim, variants[2].1, 9_900);
    let preview = s.bulk.undo_preview(outcome.id).await.unwrap();
    assert_eq!(preview.reverse.len(), 5);
    assert_eq!(preview.leave.len(), 1);
    assert_eq!(preview.leave[0].current.as_deref(), Some("99.00"));
    let undone = s.bulk.undo(outcome.id, &mut no_progress()).await.unwrap();
    assert_eq!((undone.state, undone.reversed), (BulkState::Undone, 5));
    for (i, (_, id, cents, _)) in variants.iter().enumerate() {
        let want = if i == 2 { 9_900 } else { *cents };
        assert_eq!(price_of(&s.sim, *id), want, "variant {i}");
    }
    s.sim.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_price_changed_after_the_plan_rolls_back_the_stock_already_applied() {
    let s = setup().await;
    let rows: Vec<Stock> = stock(&s.sim).into_iter().take(40).collect();
    let variants = priced(&s.sim);
    let mut text = String::from("Handle,Title,Variant SKU,Variant Price,Variant Inventory Qty\n");
    for (sku, _, cents, _) in &variants {
        text.push_str(&format!("h,T,{sku},{}.00,\n", cents / 100 + 3));
    }
    let path = s.dir.path().join("products.csv");
    std::fs::write(&path, text).unwrap();
    // The store has two locations, so a product file's quantities would be ambiguous; this
    // one sets prices only. Stock comes from a second file applied first.
    let stock_path = quantity_file(s.dir.path(), &rows);
    let stock_plan = s
        .bulk
        .plan(&stock_path, PlanOptions::default())
        .await
        .unwrap();
    let mut plan = s.bulk.plan(&path, PlanOptions::default()).await.unwrap();
    assert_eq!(plan.summary.price_changes, 6, "{:?}", plan.problems);
    // One plan with both: stock rows first, then prices (as a product file with quantities
    // would give).
    plan.quantities = stock_plan.quantities.clone();
    plan.summary.quantity_changes = stock_plan.summary.quantity_changes;
    set_price(&s.sim, variants[4].1, 1_234);
    let outcome = s
        .bulk
        .apply(
            &plan,
            ApplyOptions {
                mode: BulkMode::AllOrNothing,
                skip_problems: false,
            },
            &mut no_progress(),
        )
        .await
        .unwrap();
    assert_eq!(outcome.state, BulkState::RolledBack, "{outcome:?}");
    assert!(
        outcome.stopped_by.as_deref().unwrap().contains("12.34"),
        "{outcome:?}"
    );
    for (i, (_, _, item, loc, q)) in rows.iter().enumerate() {
        assert_eq!(available(&s.sim, *item, *loc), *q, "row {i}");
    }
    for (i, (_, id, cents, _)) in variants.iter().enumerate() {
        let want = if i == 4 { 1_234 } else { *cents };
        assert_eq!(price_of(&s.sim, *id), want, "variant {i}");
    }
    s.sim.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_chunk_that_fails_for_good_stops_the_apply_and_the_rollback_ends_when_the_store_answers()
{
    let s = setup().await;
    let rows: Vec<Stock> = stock(&s.sim).into_iter().take(600).collect();
    let path = quantity_file(s.dir.path(), &rows);
    let plan = s.bulk.plan(&path, PlanOptions::default()).await.unwrap();
    // A client that gives up quickly, as the app's would after its retries.
    let token = Secret::new(s.sim.info.admin_token.clone().unwrap());
    let mut config =
        ClientConfig::new(&s.sim.info.base_url, Credentials::AdminToken(token)).unwrap();
    config.retry.max_attempts = 2;
    config.retry.base = std::time::Duration::from_millis(20);
    config.retry.cap = std::time::Duration::from_millis(40);
    let client = ShopifyClient::new(config).unwrap();
    let bulk = BulkUpdates::new(client, s.cache.clone());
    // After the first chunk, every GraphQL request fails with a 503.
    let sim = s.sim.state.clone();
    let mut progress = move |p: &Progress| {
        if p.phase == "applying" && p.done == 250 {
            sim.faults().http_5xx_rate = 1.0;
        }
    };
    let options = ApplyOptions {
        mode: BulkMode::AllOrNothing,
        skip_problems: false,
    };
    let stopped = bulk.apply(&plan, options, &mut progress).await;
    assert!(
        matches!(stopped, Err(BulkError::Interrupted { .. })),
        "{stopped:?}"
    );
    let unfinished = bulk.unfinished().await.unwrap();
    assert_eq!(unfinished.len(), 1);
    assert_eq!(unfinished[0].state, BulkState::RollingBack);
    // The first chunk is still applied while the store is down.
    assert_eq!(available(&s.sim, rows[0].2, rows[0].3), rows[0].4 + 7);

    // The store answers again: the rollback is carried to its end.
    s.sim.state.faults().http_5xx_rate = 0.0;
    let outcome = bulk
        .recover(unfinished[0].id, Recovery::Finish, &mut no_progress())
        .await
        .unwrap();
    assert_eq!(outcome.state, BulkState::RolledBack, "{outcome:?}");
    assert!(outcome.stopped_by.unwrap().contains("did not answer"));
    for (i, (_, _, item, loc, q)) in rows.iter().enumerate() {
        assert_eq!(available(&s.sim, *item, *loc), *q, "row {i}");
    }
    s.sim.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_large_plan_on_a_cache_left_for_hours_re_reads_the_store_with_a_bulk_operation() {
    let s = setup().await;
    // The laptop was closed for two hours after its last sync.
    let two_hours_ago = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
        - 2 * 60 * 60 * 1000;
    rusqlite::Connection::open(s.dir.path().join("store.db"))
        .unwrap()
        .execute(
            "UPDATE sync_watermarks SET advanced_at_ms = ?1",
            [two_hours_ago],
        )
        .unwrap();
    let rows: Vec<Stock> = stock(&s.sim).into_iter().take(600).collect();
    let edited = &rows[10];
    {
        let now = s.sim.state.clock.now();
        s.sim
            .state
            .write_store()
            .adjust_level(edited.2, edited.3, &[(AVAILABLE, -2)], now);
    }
    let path = quantity_file(s.dir.path(), &rows);
    let plan = s.bulk.plan(&path, PlanOptions::default()).await.unwrap();
    assert!(plan.refresh.bulk_operation, "{:?}", plan.refresh);
    let row = plan.quantities.iter().find(|q| q.row == 12).unwrap();
    assert_eq!((row.before, row.cached), (edited.4 - 2, Some(edited.4)));
}
