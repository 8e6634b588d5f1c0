//! Benchmark: steady-state throughput of paginated reads as a fraction of what the store's
//! bucket allows, measured against the simulator in the same run.
//!
//! The standard plan restores 100 points a second; no client can sustainably spend more.
//! This drains the initial 2000-point bucket, then for a window of simulated time has
//! several callers page through the catalogue, and compares the points Shopify charged
//! (plus what the bucket gave up over the window) with `restore rate × window`. A fraction
//! near 1.0 means the throttle keeps the bucket busy without being refused.
//!
//! Run: `cargo run --release -p shelfsync-shopify --example bench_reads [-- --window 120 --callers 4 --time-scale 20]`

use shelfsync_shopify::operations::{VariantsPage, VariantsPageVariables};
use shelfsync_shopify::{ClientConfig, Clock, Credentials, Secret, ShopifyClient};
use shopify_sim::SimConfig;
use std::time::{Duration, Instant};

fn arg(name: &str, default: f64) -> f64 {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

#[tokio::main(flavor = "multi_thread")]
async fn main() {
    let window = arg("--window", 120.0);
    let callers = arg("--callers", 4.0) as usize;
    let scale = arg("--time-scale", 20.0);
    let sim = shopify_sim::start(SimConfig {
        products: 2000,
        variants_per_product: 3,
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

    let stop = tokio_util_stop();
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
        "paginated reads, standard plan ({} points, {}/s), {callers} callers, time scale {scale}x",
        start_bucket.maximum, start_bucket.restore_rate
    );
    println!("  window:               {sim_seconds:.1} simulated s ({real:.2} real s)");
    println!(
        "  requests:             {requests} ({throttled} throttled, {:.2}%)",
        100.0 * throttled as f64 / (requests.max(1)) as f64
    );
    println!("  points charged:       {spent:.0}");
    println!("  bucket allows:        {allowed:.0} (restore rate × window)");
    println!(
        "  throughput fraction:  {:.3} of the bucket's limit (goal >= 0.95)",
        used / allowed
    );
    sim.stop().await;
}

fn tokio_util_stop() -> std::sync::Arc<std::sync::atomic::AtomicBool> {
    std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false))
}
