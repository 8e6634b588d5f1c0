//! A bulk update killed with SIGKILL at random moments, then recovered as the next start
//! would: every run ends fully applied or fully rolled back, and no sale is lost.
//!
//! The apply runs in a child process (this test binary, re-run with `--exact child_apply`)
//! against a simulator in the parent, which sells units at random moments while the child
//! applies. After the kill the parent opens the same database, finds the unfinished update and
//! recovers it with the default choice (roll back). Each row then holds either the plan's
//! "after" or its "before", minus every unit sold during the run; an update that stopped
//! itself on a sale (all or nothing) is rolled back the same way.
//!
//! Seeded: `SHELFSYNC_KILL_SEED` replays a run; the seed is printed on failure.

use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::json;
use shelfsync_engine::bulk_update::{ApplyOptions, Plan, PlanOptions, Recovery};
use shelfsync_engine::{BulkUpdates, Cache, Events, SyncKind, Syncer};
use shelfsync_shopify::{ClientConfig, Credentials, Secret, ShopifyClient};
use shelfsync_store::{BulkMode, BulkState};
use shopify_sim::store::AVAILABLE;
use shopify_sim::{RunningSim, SimConfig};

const RUNS: usize = 50;

fn client(url: &str, token: &str) -> ShopifyClient {
    ShopifyClient::new(ClientConfig::new(url, Credentials::AdminToken(Secret::new(token))).unwrap())
        .unwrap()
}

/// The child: applies the plan in `KILL_PLAN` and exits. Does nothing when run without the
/// parent's variables.
#[tokio::test(flavor = "multi_thread")]
#[ignore = "run only as a child of the kill test"]
async fn child_apply() {
    let (Ok(url), Ok(token), Ok(db), Ok(plan)) = (
        std::env::var("KILL_SIM_URL"),
        std::env::var("KILL_TOKEN"),
        std::env::var("KILL_DB"),
        std::env::var("KILL_PLAN"),
    ) else {
        return;
    };
    let plan: Plan = serde_json::from_str(&std::fs::read_to_string(plan).unwrap()).unwrap();
    let bulk = BulkUpdates::new(client(&url, &token), Cache::open(&db).await.unwrap());
    println!("CHILD-APPLYING");
    let options = ApplyOptions {
        mode: BulkMode::AllOrNothing,
        skip_problems: false,
    };
    let outcome = bulk.apply(&plan, options, &mut |_| {}).await.unwrap();
    println!("CHILD-FINISHED {:?}", outcome.state);
}

/// (sku, location name, item, location) of the first `n` levels, in a stable order.
fn levels(sim: &RunningSim, n: usize) -> Vec<(String, String, u64, u64)> {
    let store = sim.state.read_store();
    let mut out = Vec::new();
    for v in store.variants.values() {
        for loc in store.inventory_items[&v.inventory_item_id].levels.keys() {
            out.push((
                v.sku.clone(),
                store.locations[loc].name.clone(),
                v.inventory_item_id,
                *loc,
            ));
        }
    }
    out.sort();
    out.truncate(n);
    out
}

fn available(sim: &RunningSim, item: u64, location: u64) -> i64 {
    sim.state.read_store().inventory_items[&item].levels[&location].quantities[AVAILABLE]
}

#[tokio::test(flavor = "multi_thread")]
async fn fifty_applies_killed_at_random_moments_end_applied_or_rolled_back_with_no_sale_lost() {
    let seed = std::env::var("SHELFSYNC_KILL_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| fastrand::u64(..));
    // Printed with the test's output when it fails.
    eprintln!("SHELFSYNC_KILL_SEED={seed}");
    run(seed).await;
}

async fn run(seed: u64) {
    let mut rng = fastrand::Rng::with_seed(seed);
    let sim = shopify_sim::start(SimConfig {
        products: 110,
        variants_per_product: 3,
        locations: 2,
        // Shopify Plus's bucket: this test is about crashes, not about waiting for points.
        plan: shopify_sim::config::Plan::parse("plus").unwrap(),
        ..SimConfig::default()
    })
    .await
    .unwrap();
    // Each answer takes a little while, so a run spans a few hundred milliseconds of requests
    // and the kills land before, between and during them.
    reqwest::Client::new()
        .post(format!("{}/_sim/faults", sim.info.base_url))
        .json(&json!({ "latency_ms": 15 }))
        .send()
        .await
        .unwrap()
        .error_for_status()
        .unwrap();
    let token = sim.info.admin_token.clone().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("store.db");
    {
        let cache = Cache::open(&db).await.unwrap();
        Syncer::new(client(&sim.info.base_url, &token), cache, Events::new())
            .run(SyncKind::Full)
            .await
            .unwrap();
    }
    let rows = levels(&sim, 450);
    let mut tally: HashMap<&str, usize> = HashMap::new();
    for run in 0..RUNS {
        // A file moving every row by a random amount; the plan is made by the parent, as the
        // app makes it before the owner confirms.
        let mut text = String::from("sku,location,quantity\n");
        for (sku, location, item, loc) in &rows {
            let now = available(&sim, *item, *loc);
            let after = (now + rng.i64(-5..=20)).max(0);
            text.push_str(&format!("{sku},{location},{after}\n"));
        }
        let file = dir.path().join(format!("run-{run}.csv"));
        std::fs::write(&file, text).unwrap();
        let plan = {
            let bulk = BulkUpdates::new(
                client(&sim.info.base_url, &token),
                Cache::open(&db).await.unwrap(),
            );
            bulk.plan(&file, PlanOptions::default()).await.unwrap()
        };
        assert!(plan.problems.is_empty(), "{:?}", plan.problems);
        let plan_path = dir.path().join("plan.json");
        std::fs::write(&plan_path, serde_json::to_string(&plan).unwrap()).unwrap();

        let mut child = Command::new(std::env::current_exe().unwrap())
            .args([
                "--exact",
                "child_apply",
                "--ignored",
                "--nocapture",
                "--test-threads=1",
            ])
            .env("KILL_SIM_URL", &sim.info.base_url)
            .env("KILL_TOKEN", &token)
            .env("KILL_DB", &db)
            .env("KILL_PLAN", &plan_path)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut out = BufReader::new(child.stdout.take().unwrap());
        let mut line = String::new();
        while !line.contains("CHILD-APPLYING") {
            line.clear();
            if out.read_line(&mut line).unwrap() == 0 {
                panic!("run {run}: the child stopped before applying");
            }
        }
        // Sales at random moments of the apply, on random rows.
        let sold: Arc<Mutex<HashMap<usize, i64>>> = Arc::default();
        let seller = {
            let state = sim.state.clone();
            let sold = sold.clone();
            let picks: Vec<(usize, u64)> = (0..3)
                .map(|_| (rng.usize(..rows.len()), rng.u64(0..250)))
                .collect();
            let rows = rows.clone();
            std::thread::spawn(move || {
                for (row, wait) in picks {
                    std::thread::sleep(Duration::from_millis(wait / 3));
                    let (sku, _, item, loc) = &rows[row];
                    let now = state.clock.now();
                    let mut store = state.write_store();
                    if store.inventory_items[item].levels[loc].quantities[AVAILABLE] < 1 {
                        continue;
                    }
                    let variant = store.variants.values().find(|v| &v.sku == sku).unwrap().id;
                    store.place_order(&[(variant, 1)], Some(*loc), now).unwrap();
                    *sold.lock().unwrap().entry(row).or_default() += 1;
                }
            })
        };
        std::thread::sleep(Duration::from_millis(rng.u64(0..300)));
        let _ = child.kill();
        let _ = child.wait();
        seller.join().unwrap();

        // The restart.
        let bulk = BulkUpdates::new(
            client(&sim.info.base_url, &token),
            Cache::open(&db).await.unwrap(),
        );
        let mut end = bulk.list(1).await.unwrap().into_iter().next();
        if let Some(summary) = &end
            && summary.state.is_unfinished()
        {
            let outcome = bulk
                .recover(summary.id, Recovery::RollBack, &mut |_| {})
                .await
                .unwrap();
            assert!(outcome.not_reversed.is_empty(), "run {run}: {outcome:?}");
            end = bulk.list(1).await.unwrap().into_iter().next();
        }
        assert!(bulk.unfinished().await.unwrap().is_empty(), "run {run}");
        // Killed before the journal's first write: nothing was applied.
        let state = end
            .filter(|e| e.file_name == format!("run-{run}.csv"))
            .map(|e| e.state);
        let sold = sold.lock().unwrap().clone();
        let applied = match state {
            Some(BulkState::Applied) => true,
            Some(BulkState::RolledBack) | None => false,
            Some(other) => panic!("run {run}: ended {other:?}"),
        };
        *tally
            .entry(match state {
                Some(BulkState::Applied) => "applied",
                Some(_) => "rolled back",
                None => "killed before journaling",
            })
            .or_default() += 1;
        for (i, q) in plan.quantities.iter().enumerate() {
            let (_, _, item, loc) = &rows[i];
            let sold = sold.get(&i).copied().unwrap_or(0);
            let want = if applied { q.after } else { q.before } - sold;
            assert_eq!(
                available(&sim, *item, *loc),
                want,
                "run {run}, row {i} ({}): applied {applied}, sold {sold}",
                q.sku
            );
        }
    }
    eprintln!("kill_bulk_update: {RUNS} runs, seed {seed}: {tally:?}");
    sim.stop().await;
}
