//! Benchmark of the engine's measurable goals, in one run against the simulator with 50,000
//! variants × 3 locations:
//!
//! 1. **Full sync** through a bulk operation: its time, and the ingest rate of the JSONL →
//!    SQLite part in rows/s (variants plus inventory levels) beside a baseline measured in the
//!    same run — the same rows inserted with prepared statements in one transaction through
//!    rusqlite directly — with their ratio (goal: ≥ 100,000 rows/s). Also the size of the file
//!    downloaded and the process's peak memory (VmHWM) before and after the sync, to show the
//!    file is streamed rather than held (the simulator runs in this process, so the peak
//!    includes its store), and the store's upserts alone on the same rows.
//! 2. **Paginated reads** (what incremental syncs do): steady-state throughput as a fraction of
//!    what the bucket allows (goal: ≥ 0.95). The standard plan restores 100 points a second;
//!    no client can sustainably spend more. This drains the initial bucket, then for a window
//!    of simulated time has several callers page through the catalogue, and compares the
//!    points Shopify charged (plus what the bucket gave up over the window) with
//!    `restore rate × window`. A fraction near 1.0 means the throttle keeps the bucket busy
//!    without being refused.
//!
//! It ends with a table of the figures and which goals are met.
//!
//! Run: `cargo run --release -p shelfsync-engine --example bench_engine [-- --products 16667 --window 120 --callers 4 --time-scale 20]`

use std::time::{Duration, Instant};

use shelfsync_engine::{Cache, Events, Syncer, bulk_sync};
use shelfsync_shopify::operations::{VariantsPage, VariantsPageVariables};
use shelfsync_shopify::{ClientConfig, Clock, Credentials, Secret, ShopifyClient};
use shopify_sim::clock::format_rfc3339;
use shopify_sim::store::money;
use shopify_sim::{Plan, SimConfig};

fn arg_f64(name: &str, default: f64) -> f64 {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn arg(name: &str, default: usize) -> usize {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// `VmHWM` (peak resident set) of this process, in MiB.
fn peak_mib() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<f64>().ok())
        })
        .map_or(f64::NAN, |kb| kb / 1024.0)
}

#[tokio::main(flavor = "multi_thread")]
async fn main() {
    let products = arg("--products", 16_667);
    let started = Instant::now();
    let sim = shopify_sim::start(SimConfig {
        products,
        variants_per_product: 3,
        locations: 3,
        plan: Plan::parse("plus").expect("plan"),
        ..SimConfig::default()
    })
    .await
    .expect("simulator starts");
    let (variants, levels) = {
        let store = sim.state.read_store();
        let levels: usize = store.inventory_items.values().map(|i| i.levels.len()).sum();
        (store.variants.len(), levels)
    };
    println!(
        "store: {products} products, {variants} variants, {levels} inventory levels (generated in {:.1} s)",
        started.elapsed().as_secs_f64()
    );
    let peak_before = peak_mib();

    let dir = tempfile::tempdir().expect("temp dir");
    let token = Secret::new(sim.info.admin_token.clone().unwrap_or_default());
    let client = ShopifyClient::new(
        ClientConfig::new(&sim.info.base_url, Credentials::AdminToken(token)).expect("config"),
    )
    .expect("client");
    let cache = Cache::open(dir.path().join("store.db"))
        .await
        .expect("cache");
    let syncer = Syncer::new(client, cache, Events::new());

    // The full sync as the app runs it (shop, locations, then the bulk operation).
    let t = Instant::now();
    syncer.sync_shop().await.expect("shop");
    let counts = bulk_sync::full_sync(&syncer).await.expect("bulk full sync");
    let full = t.elapsed();
    let peak_after = peak_mib();
    let rows = counts.variants + counts.levels;
    let ingest = Duration::from_millis(counts.ingest_ms.max(1));
    let rate = rows as f64 / ingest.as_secs_f64();
    println!(
        "full sync: {:.2} s ({:.2} s waiting for the bulk operation, {:.2} s download + ingest)",
        full.as_secs_f64(),
        counts.wait_ms as f64 / 1000.0,
        ingest.as_secs_f64()
    );
    println!(
        "ingest (JSONL -> SQLite, streamed): {rows} rows in {:.2} s = {rate:.0} rows/s (goal >= 100000)",
        ingest.as_secs_f64()
    );
    println!(
        "of which the reader waited {:.2} s for the cache's writer (the bottleneck when close to the total)",
        counts.writer_wait_ms as f64 / 1000.0
    );
    println!(
        "download: {:.1} MiB; peak memory (VmHWM): {peak_before:.0} MiB before the sync, {peak_after:.0} MiB after",
        counts.bytes as f64 / 1_048_576.0
    );

    // Baseline: the same rows, raw prepared inserts in one transaction.
    let baseline = baseline_rows_per_sec(&sim, dir.path().join("baseline.db"));
    println!(
        "baseline (rusqlite prepared inserts, one transaction): {baseline:.0} rows/s; engine / baseline = {:.2}",
        rate / baseline
    );

    // The store's upserts alone on the same rows (no download, no parsing), in 5,000-row
    // transactions: what a later full sync over a filled cache writes through.
    let writer = store_writer_rows_per_sec(&sim, dir.path().join("writer.db"));
    println!(
        "store upserts alone (a later full sync's path, 5,000-row transactions): {writer:.0} rows/s"
    );

    // Sanity: the engine's cache holds every variant.
    let cached = shelfsync_store::Reader::open(dir.path().join("store.db"))
        .and_then(|r| r.counts())
        .map(|c| c.variants)
        .unwrap_or(0);
    println!("cache: {cached} variants");
    sim.stop().await;

    // Small reads through the cache (what status displays and the inventory page do), beside
    // the same reads on a read-only connection opened for each call.
    let (pooled, fresh) = cache_reads_per_sec(&syncer.cache).await;
    println!(
        "cache reads (one variant by id): {pooled:.0} reads/s pooled, {fresh:.0} reads/s opening a reader per read; ratio {:.1}",
        pooled / fresh
    );

    let reads = paginated_reads(products).await;

    let ingest_goal = rate >= 100_000.0;
    let reads_goal = reads >= 0.95;
    let met = |ok: bool| if ok { "met" } else { "NOT met" };
    println!();
    println!(
        "{:<34} {:>14} {:>14} {:>8}  goal",
        "", "measured", "baseline", "ratio"
    );
    println!(
        "{:<34} {:>12.2} s {:>14} {:>8}",
        "full sync (shop + bulk operation)",
        full.as_secs_f64(),
        "",
        ""
    );
    println!(
        "{:<34} {:>10.0} r/s {:>10.0} r/s {:>8.2}  >= 100000 r/s: {}",
        "ingest JSONL -> SQLite",
        rate,
        baseline,
        rate / baseline,
        met(ingest_goal)
    );
    println!(
        "{:<34} {:>14.3} {:>14} {:>8}  >= 0.95: {}",
        "paginated reads / bucket limit",
        reads,
        "1.000",
        "",
        met(reads_goal)
    );
    println!(
        "goals: {}",
        if ingest_goal && reads_goal {
            "all met"
        } else {
            "not all met"
        }
    );
}

/// Reads per second through [`Cache::read`], and with a [`shelfsync_store::Reader`] opened for
/// every read (how `Cache::read` used to work), alternating rounds so both see the same load.
async fn cache_reads_per_sec(cache: &Cache) -> (f64, f64) {
    const READS: i64 = 2_000;
    let ids: Vec<i64> = cache
        .read(|r| {
            Ok(r.search_variants("", READS as u32, 0)?
                .into_iter()
                .map(|row| row.variant.id)
                .collect())
        })
        .await
        .expect("variant ids");
    let (mut pooled, mut fresh) = (Duration::ZERO, Duration::ZERO);
    for _ in 0..3 {
        let t = Instant::now();
        for &id in &ids {
            cache.read(move |r| r.variant(id)).await.expect("read");
        }
        pooled += t.elapsed();
        let t = Instant::now();
        for &id in &ids {
            let path = cache.path().to_path_buf();
            tokio::task::spawn_blocking(move || {
                shelfsync_store::Reader::open(&path).and_then(|r| r.variant(id))
            })
            .await
            .expect("task")
            .expect("read");
        }
        fresh += t.elapsed();
    }
    let reads = 3.0 * ids.len() as f64;
    (reads / pooled.as_secs_f64(), reads / fresh.as_secs_f64())
}

/// Steady-state throughput of paginated reads as a fraction of what the bucket allows.
async fn paginated_reads(products: usize) -> f64 {
    let window = arg_f64("--window", 120.0);
    let callers = arg("--callers", 4);
    let scale = arg_f64("--time-scale", 20.0);
    let sim = shopify_sim::start(SimConfig {
        products,
        variants_per_product: 3,
        locations: 3,
        time_scale: scale,
        ..SimConfig::default()
    })
    .await
    .expect("simulator starts");
    let token = Secret::new(sim.info.admin_token.clone().unwrap_or_default());
    let mut config = ClientConfig::new(&sim.info.base_url, Credentials::AdminToken(token))
        .expect("valid address");
    config.clock = Clock::scaled(scale);
    let client = ShopifyClient::new(config).expect("client");

    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let mut tasks = Vec::new();
    for _ in 0..callers {
        let client = client.clone();
        let stop = stop.clone();
        tasks.push(tokio::spawn(async move {
            let mut after = None;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                let page = client
                    .execute::<VariantsPage>(&VariantsPageVariables {
                        first: 100,
                        after: after.clone(),
                        query: None,
                    })
                    .await
                    .expect("page");
                let info = page.product_variants.page_info;
                after = if info.has_next_page {
                    info.end_cursor
                } else {
                    None
                };
            }
        }));
    }

    // Drain: wait until the initial bucket is spent.
    let mut bucket = client.bucket();
    loop {
        let b = *bucket.borrow_and_update();
        if b.maximum > 0.0 && b.available < 300.0 {
            break;
        }
        if bucket.changed().await.is_err() {
            break;
        }
    }
    let start_stats = client.stats();
    let start_bucket = *client.bucket().borrow();
    let started = Instant::now();
    tokio::time::sleep(Duration::from_secs_f64(window / scale)).await;
    let end_stats = client.stats();
    let end_bucket = *client.bucket().borrow();
    let real = started.elapsed().as_secs_f64();
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    for t in tasks {
        let _ = t.await;
    }

    let sim_seconds = real * scale;
    let allowed = start_bucket.restore_rate * sim_seconds;
    let spent = end_stats.actual_cost - start_stats.actual_cost;
    // Points the bucket gave up (or gained) over the window also count as spending room.
    let used = spent + (start_bucket.available - end_bucket.available);
    let requests = end_stats.requests - start_stats.requests;
    let throttled = end_stats.throttled - start_stats.throttled;
    println!(
        "paginated reads, standard plan ({} points, {}/s), {callers} callers, time scale {scale}x, \
         {sim_seconds:.1} simulated s ({real:.2} real s): {requests} requests ({throttled} throttled), \
         {spent:.0} points charged, the bucket allows {allowed:.0}",
        start_bucket.maximum, start_bucket.restore_rate
    );
    sim.stop().await;
    used / allowed
}

fn baseline_rows_per_sec(sim: &shopify_sim::RunningSim, path: std::path::PathBuf) -> f64 {
    struct V(
        i64,
        i64,
        String,
        String,
        String,
        Option<String>,
        i64,
        String,
    );
    struct L(i64, i64, [i64; 8], String);
    struct P(i64, String, String, String, String, String, String);
    let (products, variants, levels) = {
        let store = sim.state.read_store();
        let products: Vec<P> = store
            .products
            .values()
            .map(|p| {
                P(
                    p.id as i64,
                    p.title.clone(),
                    p.handle.clone(),
                    p.status.to_owned(),
                    p.vendor.clone(),
                    p.product_type.clone(),
                    format_rfc3339(p.updated_at),
                )
            })
            .collect();
        let variants: Vec<V> = store
            .variants
            .values()
            .map(|v| {
                V(
                    v.id as i64,
                    v.product_id as i64,
                    v.title.clone(),
                    v.sku.clone(),
                    money(v.price_cents),
                    v.compare_at_price_cents.map(money),
                    v.inventory_item_id as i64,
                    format_rfc3339(v.updated_at),
                )
            })
            .collect();
        let levels: Vec<L> = store
            .inventory_items
            .values()
            .flat_map(|i| {
                i.levels.values().map(move |l| {
                    L(
                        i.id as i64,
                        l.location_id as i64,
                        l.quantities,
                        format_rfc3339(l.updated_at),
                    )
                })
            })
            .collect();
        (products, variants, levels)
    };
    let mut conn = rusqlite::Connection::open(path).expect("baseline db");
    conn.execute_batch(
        "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL;
         CREATE TABLE products (id INTEGER PRIMARY KEY, title TEXT, handle TEXT, status TEXT,
           vendor TEXT, product_type TEXT, updated_at TEXT);
         CREATE TABLE variants (id INTEGER PRIMARY KEY, product_id INTEGER, title TEXT, sku TEXT,
           price TEXT, compare_at_price TEXT, inventory_item_id INTEGER, updated_at TEXT);
         CREATE TABLE levels (inventory_item_id INTEGER, location_id INTEGER, available INTEGER,
           committed INTEGER, damaged INTEGER, incoming INTEGER, on_hand INTEGER,
           quality_control INTEGER, reserved INTEGER, safety_stock INTEGER, updated_at TEXT,
           PRIMARY KEY (inventory_item_id, location_id));",
    )
    .expect("schema");
    let t = Instant::now();
    let tx = conn.transaction().expect("tx");
    {
        let mut p = tx
            .prepare("INSERT INTO products VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)")
            .expect("prepare");
        for r in &products {
            p.execute(rusqlite::params![r.0, r.1, r.2, r.3, r.4, r.5, r.6])
                .expect("insert");
        }
        let mut v = tx
            .prepare("INSERT INTO variants VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)")
            .expect("prepare");
        for r in &variants {
            v.execute(rusqlite::params![r.0, r.1, r.2, r.3, r.4, r.5, r.6, r.7])
                .expect("insert");
        }
        let mut l = tx
            .prepare("INSERT INTO levels VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)")
            .expect("prepare");
        for r in &levels {
            let q = r.2;
            l.execute(rusqlite::params![
                r.0, r.1, q[0], q[1], q[2], q[3], q[4], q[5], q[6], q[7], r.3
            ])
            .expect("insert");
        }
    }
    tx.commit().expect("commit");
    let rows = (variants.len() + levels.len()) as f64;
    rows / t.elapsed().as_secs_f64()
}

fn store_writer_rows_per_sec(sim: &shopify_sim::RunningSim, path: std::path::PathBuf) -> f64 {
    use shelfsync_store::{
        Database, Level, Location, Money, Product, Quantities, ShopifyTime, Source, Variant,
    };
    let time = |t| ShopifyTime::parse(format_rfc3339(t)).expect("time");
    let (locations, products, variants, levels) = {
        let store = sim.state.read_store();
        let locations: Vec<Location> = store
            .locations
            .values()
            .map(|l| Location {
                id: l.id as i64,
                name: l.name.clone(),
                is_active: l.is_active,
                updated_at: None,
            })
            .collect();
        let products: Vec<Product> = store
            .products
            .values()
            .map(|p| Product {
                id: p.id as i64,
                title: p.title.clone(),
                handle: p.handle.clone(),
                status: p.status.to_owned(),
                vendor: Some(p.vendor.clone()),
                product_type: Some(p.product_type.clone()),
                updated_at: time(p.updated_at),
            })
            .collect();
        let variants: Vec<Variant> = store
            .variants
            .values()
            .map(|v| Variant {
                id: v.id as i64,
                product_id: v.product_id as i64,
                title: v.title.clone(),
                sku: Some(v.sku.clone()),
                price: Money::new(money(v.price_cents)).expect("money"),
                compare_at_price: v
                    .compare_at_price_cents
                    .map(|c| Money::new(money(c)).expect("money")),
                inventory_item_id: v.inventory_item_id as i64,
                updated_at: time(v.updated_at),
            })
            .collect();
        let levels: Vec<Level> = store
            .inventory_items
            .values()
            .flat_map(|i| {
                i.levels.values().map(move |l| {
                    let q = l.quantities;
                    Level {
                        inventory_item_id: i.id as i64,
                        location_id: l.location_id as i64,
                        quantities: Quantities {
                            available: Some(q[0]),
                            committed: Some(q[1]),
                            damaged: Some(q[2]),
                            incoming: Some(q[3]),
                            on_hand: Some(q[4]),
                            quality_control: Some(q[5]),
                            reserved: Some(q[6]),
                            safety_stock: Some(q[7]),
                        },
                        updated_at: Some(
                            ShopifyTime::parse(format_rfc3339(l.updated_at)).expect("time"),
                        ),
                    }
                })
            })
            .collect();
        (locations, products, variants, levels)
    };
    let mut db = Database::open(path).expect("store db");
    let tx = db.write().expect("tx");
    tx.upsert_locations(&locations).expect("locations");
    tx.commit().expect("commit");
    let t = Instant::now();
    // Variants with their levels, as the bulk file delivers them.
    let mut levels_by_item: std::collections::HashMap<i64, Vec<Level>> =
        std::collections::HashMap::new();
    for l in levels {
        levels_by_item
            .entry(l.inventory_item_id)
            .or_default()
            .push(l);
    }
    let mut rows = 0usize;
    let mut batch = (Vec::new(), Vec::new());
    let flush = |db: &mut Database, batch: &mut (Vec<Variant>, Vec<Level>)| {
        let tx = db.write().expect("tx");
        tx.upsert_variants(&batch.0, Source::Poll)
            .expect("variants");
        tx.upsert_levels(&batch.1, Source::Poll).expect("levels");
        tx.commit().expect("commit");
        batch.0.clear();
        batch.1.clear();
    };
    let tx = db.write().expect("tx");
    tx.upsert_products(&products, Source::Poll)
        .expect("products");
    tx.commit().expect("commit");
    for v in variants {
        if let Some(ls) = levels_by_item.remove(&v.inventory_item_id) {
            rows += ls.len();
            batch.1.extend(ls);
        }
        rows += 1;
        batch.0.push(v);
        if batch.0.len() + batch.1.len() >= 5_000 {
            flush(&mut db, &mut batch);
        }
    }
    flush(&mut db, &mut batch);
    rows as f64 / t.elapsed().as_secs_f64()
}
