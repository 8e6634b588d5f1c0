//! Benchmark of bulk updates, in one run against the simulator with 50,001 variants × 3
//! locations (about 138,000 levels: the generator leaves some variants unstocked at a
//! location) on Shopify's standard plan (2,000 points, 100 a second):
//!
//! 1. **Plan and diff** of a 50,000-row file against that cache, without the live
//!    refresh (goal: under 1 s), beside two baselines measured in the same run: the CSV parse
//!    alone and a raw rusqlite read of every variant and level (the floor of any diff against
//!    the cache).
//! 2. **Live refresh**: what re-reading the store's values cost in bucket points and time, for
//!    the 50,000-row plan on a cache synced moments ago (an incremental pass) and on one last
//!    synced two hours ago (one bulk operation), and for a plan small enough to read by id.
//! 3. **Apply throughput** of the 50,000 changes as a fraction of what the bucket allows for
//!    `inventorySetQuantities` at 250 quantities per call (goal: ≥ 0.95, under 1% throttled):
//!    the bucket is drained first, so the figure is the steady state, where the restore rate
//!    is the only limit.
//!
//! Run: `cargo run --release -p shelfsync-engine --example bench_bulk [-- --products 16667]`

use std::time::Instant;

use shelfsync_engine::bulk_update::{ApplyOptions, LIVE_READ_LIMIT, PlanOptions};
use shelfsync_engine::{BulkUpdates, Cache, Events, Syncer, bulk_sync, import};
use shelfsync_shopify::{ClientConfig, Credentials, Secret, ShopifyClient};
use shelfsync_store::BulkMode;
use shopify_sim::store::AVAILABLE;
use shopify_sim::{Plan, SimConfig};

fn arg(name: &str, default: usize) -> usize {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// A plain `sku,location,quantity` file moving each of the first `rows` levels.
fn stock_file(sim: &shopify_sim::RunningSim, rows: usize, path: &std::path::Path) {
    let store = sim.state.read_store();
    let mut text = String::with_capacity(rows * 40);
    text.push_str("sku,location,quantity\n");
    let mut n = 0;
    'outer: for v in store.variants.values() {
        for (loc, level) in &store.inventory_items[&v.inventory_item_id].levels {
            if n == rows {
                break 'outer;
            }
            let after = level.quantities[AVAILABLE] + 1 + (n as i64 % 9);
            text.push_str(&format!(
                "{},{},{after}\n",
                v.sku, store.locations[loc].name
            ));
            n += 1;
        }
    }
    std::fs::write(path, text).expect("write file");
}

#[tokio::main(flavor = "multi_thread")]
async fn main() {
    let products = arg("--products", 16_667);
    let rows = arg("--rows", 50_000);
    let sim = shopify_sim::start(SimConfig {
        products,
        variants_per_product: 3,
        locations: 3,
        plan: Plan::parse("standard").expect("plan"),
        ..SimConfig::default()
    })
    .await
    .expect("simulator starts");
    let dir = tempfile::tempdir().expect("temp dir");
    let token = Secret::new(sim.info.admin_token.clone().unwrap_or_default());
    let client = ShopifyClient::new(
        ClientConfig::new(&sim.info.base_url, Credentials::AdminToken(token)).expect("config"),
    )
    .expect("client");
    let db = dir.path().join("store.db");
    let cache = Cache::open(&db).await.expect("cache");
    let syncer = Syncer::new(client.clone(), cache.clone(), Events::new());
    syncer.sync_shop().await.expect("shop");
    let counts = bulk_sync::full_sync(&syncer).await.expect("full sync");
    println!(
        "store: {} variants, {} levels cached",
        counts.variants, counts.levels
    );
    let bulk = BulkUpdates::new(client.clone(), cache.clone()).with_syncer(syncer.clone());

    // 1. Plan and diff against the cache.
    let file = dir.path().join("stock.csv");
    stock_file(&sim, rows, &file);
    let mut plan_s = f64::MAX;
    let mut plan = None;
    for _ in 0..3 {
        let t = Instant::now();
        let path = file.clone();
        let read = tokio::task::spawn_blocking(move || import::read_file(&path))
            .await
            .expect("task")
            .expect("read");
        let p = bulk
            .plan_rows(read, "stock.csv", PlanOptions::default())
            .await
            .expect("plan");
        plan_s = plan_s.min(t.elapsed().as_secs_f64());
        plan = Some(p);
    }
    let plan = plan.expect("a plan");
    assert_eq!(plan.quantities.len(), rows, "{:?}", plan.problems.first());
    let mut parse_s = f64::MAX;
    for _ in 0..3 {
        let t = Instant::now();
        let check = import::check_file(&file).expect("check");
        assert_eq!(check.data_rows as usize, rows);
        parse_s = parse_s.min(t.elapsed().as_secs_f64());
    }
    let mut raw_s = f64::MAX;
    for _ in 0..3 {
        let t = Instant::now();
        raw_s = raw_s.min({
            let conn = rusqlite::Connection::open(&db).expect("open");
            let mut n = 0u64;
            let mut stmt = conn
                .prepare("SELECT id, product_id, sku, title, price, inventory_item_id FROM variants")
                .expect("prepare");
            let mut q = stmt.query([]).expect("query");
            while let Some(row) = q.next().expect("row") {
                let _: (i64, Option<String>) = (row.get(0).expect("id"), row.get(2).expect("sku"));
                n += 1;
            }
            let mut stmt = conn
                .prepare("SELECT inventory_item_id, location_id, available, on_hand FROM inventory_levels")
                .expect("prepare");
            let mut q = stmt.query([]).expect("query");
            while let Some(row) = q.next().expect("row") {
                let _: (i64, i64) = (row.get(0).expect("item"), row.get(1).expect("location"));
                n += 1;
            }
            assert!(n > 0);
            t.elapsed().as_secs_f64()
        });
    }
    println!(
        "plan and diff, {rows} rows against {} levels: {plan_s:.3} s (goal < 1 s); CSV parse alone \
         {parse_s:.3} s, raw SQLite read of every variant and level {raw_s:.3} s; plan / (parse + \
         read) = {:.2}",
        counts.levels,
        plan_s / (parse_s + raw_s)
    );

    // 2. The live refresh: on a cache synced moments ago (an incremental pass), then on the
    // same cache as if the laptop had been closed for two hours since (a bulk operation).
    let mut live = None;
    for left_for_hours in [false, true] {
        if left_for_hours {
            let two_hours_ago = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .expect("clock")
                .as_millis() as i64
                - 2 * 60 * 60 * 1000;
            rusqlite::Connection::open(&db)
                .expect("open")
                .execute(
                    "UPDATE sync_watermarks SET advanced_at_ms = ?1",
                    [two_hours_ago],
                )
                .expect("age the watermarks");
        }
        let t = Instant::now();
        let plan = bulk
            .plan(&file, PlanOptions::default())
            .await
            .expect("live plan");
        let big_s = t.elapsed().as_secs_f64();
        println!(
            "live refresh, {rows} rows, {} ({}): {:.0} points in {} requests, {big_s:.2} s in all",
            if left_for_hours {
                "cache last synced two hours ago"
            } else {
                "cache synced moments ago"
            },
            if plan.refresh.bulk_operation {
                "bulk operation"
            } else {
                "incremental pass"
            },
            plan.refresh.points,
            plan.refresh.requests
        );
        live = Some(plan);
    }
    let live = live.expect("a live plan");
    let small_file = dir.path().join("small.csv");
    stock_file(&sim, LIVE_READ_LIMIT, &small_file);
    let t = Instant::now();
    let small = bulk
        .plan(&small_file, PlanOptions::default())
        .await
        .expect("small plan");
    println!(
        "live refresh, {LIVE_READ_LIMIT} rows (reads by id): {:.0} points in {} requests, {:.2} s \
         in all ({:.2} points a row)",
        small.refresh.points,
        small.refresh.requests,
        t.elapsed().as_secs_f64(),
        small.refresh.points / LIVE_READ_LIMIT as f64
    );

    // 3. Apply throughput from a drained bucket.
    reqwest::Client::new()
        .post(format!("{}/_sim/bucket/drain", sim.info.base_url))
        .json(&serde_json::json!({ "to": 0 }))
        .send()
        .await
        .expect("drain")
        .error_for_status()
        .expect("drained");
    let before = client.stats();
    let started = Instant::now();
    let outcome = bulk
        .apply(
            &live,
            ApplyOptions {
                mode: BulkMode::AllOrNothing,
                skip_problems: false,
            },
            &mut |_| {},
        )
        .await
        .expect("apply");
    let elapsed = started.elapsed().as_secs_f64();
    let after = client.stats();
    let calls = after.requests - before.requests;
    let throttled = after.throttled - before.throttled;
    let points = after.actual_cost - before.actual_cost;
    let restore = client.bucket().borrow().restore_rate;
    let per_call = points / calls.max(1) as f64;
    let allowed_calls = restore * elapsed / per_call;
    let set_calls = outcome.applied.div_ceil(250);
    let fraction = set_calls as f64 / allowed_calls;
    println!(
        "apply: {} changes in {set_calls} inventorySetQuantities calls ({calls} requests, {throttled} \
         throttled), {elapsed:.1} s, {points:.0} points ({per_call:.1} a call); the bucket allows \
         {allowed_calls:.1} calls in that time at {restore}/s: fraction {fraction:.3} (goal >= 0.95), \
         {:.2}% throttled (goal < 1%)",
        outcome.applied,
        100.0 * throttled as f64 / calls.max(1) as f64
    );
    println!(
        "goals: plan and diff {} ; apply throughput {} ; throttled {}",
        if plan_s < 1.0 { "met" } else { "NOT met" },
        if fraction >= 0.95 { "met" } else { "NOT met" },
        if (throttled as f64) < 0.01 * calls as f64 {
            "met"
        } else {
            "NOT met"
        }
    );
    sim.stop().await;
}
