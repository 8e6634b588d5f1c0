//! A sync killed with SIGKILL at any moment, then restarted, converges to the store.
//!
//! The sync runs in a child process (this same test binary, re-run with `--exact
//! child_sync`), against a simulator that lives in the parent, so the kill takes down the
//! syncing process and nothing else. After the kill the parent opens the same database —
//! as the restarted app would — syncs again and compares the cache with the store field by
//! field. A sync killed while Shopify is still running its export leaves that export behind;
//! the restarted sync takes it over instead of starting a second one.

mod common;

use serde_json::json;
use shelfsync_engine::{Cache, Events, SyncKind, Syncer};
use shelfsync_shopify::{ClientConfig, Credentials, Secret, ShopifyClient};
use shelfsync_store::Reader;
use shopify_sim::bulk::Status;
use shopify_sim::{RunningSim, SimConfig};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

fn syncer(base_url: &str, token: &str, cache: Cache) -> Syncer {
    let client = ShopifyClient::new(
        ClientConfig::new(base_url, Credentials::AdminToken(Secret::new(token))).unwrap(),
    )
    .unwrap();
    let mut s = Syncer::new(client, cache, Events::new());
    s.page_size = 25;
    // Small transactions, so a kill can land between two of them during the bulk ingest.
    s.bulk.batch_rows = 20;
    s
}

/// The child: syncs and exits. Does nothing when run without the parent's variables.
#[tokio::test(flavor = "multi_thread")]
#[ignore = "run only as a child of the kill tests"]
async fn child_sync() {
    let (Ok(url), Ok(token), Ok(db), Ok(kind)) = (
        std::env::var("KILL_SIM_URL"),
        std::env::var("KILL_TOKEN"),
        std::env::var("KILL_DB"),
        std::env::var("KILL_KIND"),
    ) else {
        return;
    };
    let cache = Cache::open(&db).await.unwrap();
    let kind = if kind == "full" {
        SyncKind::Full
    } else {
        SyncKind::Incremental
    };
    println!("CHILD-STARTED");
    syncer(&url, &token, cache).run(kind).await.unwrap();
    println!("CHILD-FINISHED");
}

/// Starts the child sync and kills it with SIGKILL after `after`. Returns whether it had
/// already finished.
fn sync_in_child_and_kill(sim: &RunningSim, db: &Path, kind: &str, after: Duration) -> bool {
    let mut child = spawn_child(sim, db, kind);
    std::thread::sleep(after);
    let finished = matches!(child.try_wait(), Ok(Some(_)));
    // Child::kill sends SIGKILL on Unix: no destructor, no flush, no clean shutdown.
    let _ = child.kill();
    let _ = child.wait();
    finished
}

/// A full sync spends most of its time waiting for the bulk operation and then ingests the
/// file in a short burst, so a fixed timer rarely hits the ingest. This kills the child
/// `after` the cache first shows committed variants (or after 30 s). Returns whether it had
/// already finished.
fn full_sync_in_child_and_kill_mid_ingest(sim: &RunningSim, db: &Path, after: Duration) -> bool {
    let mut child = spawn_child(sim, db, "full");
    let started = std::time::Instant::now();
    while started.elapsed() < Duration::from_secs(30) {
        if matches!(child.try_wait(), Ok(Some(_))) {
            break;
        }
        let written = db.exists()
            && Reader::open(db)
                .and_then(|r| r.counts())
                .is_ok_and(|c| c.variants > 0);
        if written {
            break;
        }
        std::thread::sleep(Duration::from_millis(1));
    }
    std::thread::sleep(after);
    let finished = matches!(child.try_wait(), Ok(Some(_)));
    let _ = child.kill();
    let _ = child.wait();
    finished
}

fn spawn_child(sim: &RunningSim, db: &Path, kind: &str) -> std::process::Child {
    Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "child_sync",
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .env("KILL_SIM_URL", &sim.info.base_url)
        .env("KILL_TOKEN", sim.info.admin_token.clone().unwrap())
        .env("KILL_DB", db)
        .env("KILL_KIND", kind)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap()
}

fn assert_cache_equals_sim(sim: &RunningSim, db: &Path) {
    common::assert_cache_equals_sim(sim, &Reader::open(db).unwrap());
}

async fn slow_sim() -> RunningSim {
    let sim = shopify_sim::start(SimConfig {
        products: 150,
        variants_per_product: 3,
        ..SimConfig::default()
    })
    .await
    .unwrap();
    // Slow answers, so that the kill lands in the middle of the sync.
    reqwest::Client::new()
        .post(format!("{}/_sim/faults", sim.info.base_url))
        .json(&json!({"latency_ms": 15}))
        .send()
        .await
        .unwrap();
    sim
}

#[tokio::test(flavor = "multi_thread")]
async fn a_full_sync_killed_midway_converges_after_restart() {
    let sim = slow_sim().await;
    let mut rng = fastrand::Rng::with_seed(11);
    let mut partial_rounds = 0;
    for round in 0..3 {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("store.db");
        let after = Duration::from_millis(rng.u64(0..10));
        let finished = full_sync_in_child_and_kill_mid_ingest(&sim, &db, after);
        assert!(
            !finished,
            "round {round}: the sync finished before the kill ({after:?})"
        );
        if db.exists() {
            let cached = Reader::open(&db).unwrap().counts().unwrap().variants;
            if cached > 0 && (cached as usize) < sim.state.read_store().variants.len() {
                partial_rounds += 1;
            }
        }
        // The restarted app: open the same file, sync, compare.
        let cache = Cache::open(&db).await.unwrap();
        let token = sim.info.admin_token.clone().unwrap();
        syncer(&sim.info.base_url, &token, cache)
            .run(SyncKind::Incremental)
            .await
            .unwrap();
        assert_cache_equals_sim(&sim, &db);
    }
    assert!(
        partial_rounds > 0,
        "no kill landed while pages were being written"
    );
    sim.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn an_incremental_sync_killed_midway_converges_after_restart() {
    let sim = slow_sim().await;
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("store.db");
    let token = sim.info.admin_token.clone().unwrap();
    syncer(&sim.info.base_url, &token, Cache::open(&db).await.unwrap())
        .run(SyncKind::Full)
        .await
        .unwrap();

    // Store activity across many variants, so the incremental pass has pages to read.
    let http = reqwest::Client::new();
    let ids: Vec<(u64, u64)> = {
        let store = sim.state.read_store();
        store
            .variants
            .values()
            .step_by(3)
            .map(|v| (v.id, v.inventory_item_id))
            .collect()
    };
    for (i, (variant, item)) in ids.iter().enumerate() {
        let location = *sim.state.read_store().inventory_items[item]
            .levels
            .keys()
            .next()
            .unwrap();
        let body = if i % 2 == 0 {
            json!({"inventory_item_id": item, "location_id": location, "name": "available", "delta": 3})
        } else {
            json!({"variant_id": variant, "price": format!("{}.50", 10 + i), "compare_at_price": null})
        };
        let path = if i % 2 == 0 { "inventory" } else { "prices" };
        let r = http
            .post(format!("{}/_sim/{path}", sim.info.base_url))
            .json(&body)
            .send()
            .await
            .unwrap();
        assert!(r.status().is_success());
    }

    let finished = sync_in_child_and_kill(&sim, &db, "incremental", Duration::from_millis(250));
    assert!(!finished, "the incremental sync finished before the kill");
    syncer(&sim.info.base_url, &token, Cache::open(&db).await.unwrap())
        .run(SyncKind::Incremental)
        .await
        .unwrap();
    assert_cache_equals_sim(&sim, &db);
    sim.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_full_sync_killed_while_its_export_runs_takes_that_export_over_after_restart() {
    let sim = shopify_sim::start(SimConfig {
        products: 60,
        variants_per_product: 3,
        locations: 2,
        ..SimConfig::default()
    })
    .await
    .unwrap();
    // The export makes no progress until the pace is lifted: it stays RUNNING.
    sim.state.bulk.set_pace(Some(0.0));
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("store.db");
    let mut child = spawn_child(&sim, &db, "full");
    let started = std::time::Instant::now();
    while !sim
        .state
        .bulk
        .all()
        .iter()
        .any(|op| op.status == Status::Running)
    {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "the child never started its export"
        );
        assert!(
            !matches!(child.try_wait(), Ok(Some(_))),
            "the child stopped before starting its export"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
    let _ = child.kill();
    let _ = child.wait();

    // The restarted app runs a full sync again.
    let token = sim.info.admin_token.clone().unwrap();
    let mut restarted = syncer(&sim.info.base_url, &token, Cache::open(&db).await.unwrap());
    restarted.bulk.poll_first = Duration::from_millis(10);
    restarted.bulk.poll_max = Duration::from_millis(50);
    let client = restarted.client.clone();
    let running = tokio::spawn(async move { restarted.run(SyncKind::Full).await });
    // Shop, locations, the list of operations, then status polls: once it has polled twice it
    // has decided between taking the export over and starting another.
    while client.stats().requests < 5 {
        assert!(!running.is_finished(), "the restarted sync stopped early");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    assert_eq!(
        sim.state.bulk.all().len(),
        1,
        "the restarted sync started a second export"
    );
    sim.state.bulk.set_pace(None);
    let report = tokio::time::timeout(Duration::from_secs(60), running)
        .await
        .expect("the restarted sync finishes")
        .unwrap()
        .unwrap();
    assert_eq!(report.variants, 180);

    let ops = sim.state.bulk.all();
    assert_eq!(ops.len(), 1, "one export in all: {ops:?}");
    assert_eq!(ops[0].status, Status::Completed);
    assert_cache_equals_sim(&sim, &db);
    sim.stop().await;
}
