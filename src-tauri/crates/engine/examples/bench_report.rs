//! The performance report: the same workloads through three clients against the simulator on
//! Shopify's standard plan (a 2,000-point bucket restoring 100 points a second), in one run:
//!
//! - **Shelfsync**: the engine as the app drives it ([`Syncer`], [`bulk_sync::full_sync`],
//!   [`BulkUpdates`] through [`ShopifyClient`] with its cost-aware throttle, retries and
//!   idempotency keys);
//! - **naive concurrent**: a script in the style of `asyncio.gather` / `Promise.all`: plain
//!   HTTP POSTs of GraphQL documents, every request of a step fired at once, any error
//!   (HTTP error, dropped connection, `THROTTLED`, `userErrors`) retried after a fixed 1 s
//!   sleep, writes by delta with a fresh idempotency key per attempt and no compare-and-set;
//! - **sequential**: the same requests one at a time, with the same fixed-sleep retry.
//!
//! Workloads (each on its own simulator, 50,000 variants × 3 locations by default):
//!
//! 1. **Full sync**: every variant with its inventory levels. Shelfsync runs its bulk
//!    operation; the others page through `productVariants` (250 a page; the concurrent one
//!    splits the id range into one slice per page and reads every slice at once).
//! 2. **Incremental syncs under a trickle of orders**: for a fixed window each client keeps its
//!    view current with back-to-back passes (Shelfsync: `Syncer::run(Incremental)`; the others:
//!    variants, levels per location and orders updated since their last pass). Its "time" is
//!    staleness: from an order being placed to the end of the first pass that started after it.
//! 3. **A 20,000-level bulk update with faults on** (5% HTTP 503, 2% connections reset after
//!    the write was applied): Shelfsync plans (live values) and applies all-or-nothing; the
//!    others send `inventoryAdjustQuantities` deltas, 250 a call. Each client moves its own
//!    20,000 levels; the simulator's final values are then compared with the intended ones:
//!    levels lost (not applied) and doubled (applied twice).
//! 4. **Webhook intake**: 10,000 signed webhooks through Shelfsync's listener beside a listener
//!    that commits each event on its own (as `bench_intake` measures).
//!
//! Also rerun from earlier benchmarks: plan and diff of a 50,000-row file (`bench_bulk`).
//! The desktop app's cold start and memory are not measured here (that needs the release app
//! in a display session): they are read from the file `.ci/measure-desktop` writes
//! (`measure/desktop.json` in cargo's target directory) and printed with where they came from
//! and when, or said to be not measured, with the command that measures them.
//!
//! **Throughput as a fraction of the bucket's limit**: the bucket is drained before each
//! client starts, so the limit is the restore rate. The fraction is the points Shopify
//! charged (`actualQueryCost`, summed over the answers the client received) divided by the
//! points the bucket made available over the run: its level at the start (the simulator's
//! own, about zero) plus `restore rate × time`. For the bulk update the goal is judged on
//! Shelfsync's apply phase (as `bench_bulk` does; the level the bucket refilled to while
//! planning counts as available), and for the full sync it does not apply (a bulk operation
//! is not metered by the bucket). The bucket level plotted is `currentlyAvailable` of each
//! answer (for Shelfsync: its client's bucket as of each answer). Throttled responses are
//! `THROTTLED` answers; retries are requests sent again after any other failure (HTTP error,
//! dropped connection, GraphQL error, `userErrors`).
//!
//! **Time scale**: the full and incremental syncs' simulators run their clocks ten times faster
//! than real time (`--scale-full`, `--scale-incremental`) so that minutes of the standard
//! plan's refill pass in seconds. Shelfsync's client gets the matching [`Clock::scaled`]; the
//! other two divide their fixed sleeps by the scale, so all three see the same simulated world.
//! Times are in simulated seconds. CPU-bound work (the bulk export, planning, writing the
//! cache) is stretched by the scale like everything else, which counts against Shelfsync. The
//! bulk update is short (about 10 simulated seconds of refill per client), so it runs in real
//! time (`--scale-bulk 1`): scaled, one call's real latency would outlast the refill it waits
//! for and the sequential clients would measure latency rather than the bucket.
//!
//! The results are printed as tables with the goals (Shelfsync faster than both others, at
//! ≥ 0.95 of the bucket's limit, under 1% throttled, no write lost or doubled, while the naive
//! client loses or doubles writes under faults; the desktop app's memory within 1.3× of a bare
//! Tauri window idle and 2× with 50,000 variants) and written to `artifacts/bench/report.json`
//! and `artifacts/bench/report.svg` (throughput and bucket level over time, one panel per
//! workload); with `--publish`, also to `tests/bench/report.json` and `tests/bench/report.svg`,
//! the copies the README shows (the JSON there keeps at most 300 samples a client). For the
//! bulk update, Shelfsync's apply phase alone is printed on a line of its own; the goal is
//! judged on the whole workload, planning included.
//!
//! Run: `cargo run --release -p shelfsync-engine --example bench_report [-- --quick]`
//!
//! A full run takes about four minutes in release on two cores; `--quick` (400 products,
//! 1,000 levels per client, 2,000 plan rows, 1,000 webhooks, a 60 s window) well under one in
//! a debug build: `cargo run -p shelfsync-engine --example bench_report -- --quick`.
//!
//! Flags (defaults in brackets; `--quick` makes everything small, for checking the harness):
//! `--products` [16667] (× 3 variants × 3 locations), `--bulk-rows` [20000],
//! `--plan-rows` [50000], `--events` [10000], `--concurrency` [32] (webhook senders),
//! `--window` [300] (simulated seconds per client, incremental), `--orders-per-hour` [1800],
//! `--scale-full` [10], `--scale-incremental` [10], `--scale-bulk` [1], `--out` [artifacts/bench],
//! `--publish` (also write to `tests/bench/`), `--desktop` [`measure/desktop.json` in cargo's
//! target directory] (the desktop measurement to print).

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use base64::Engine as _;
use hmac::{Hmac, Mac};
use serde::Serialize;
use serde_json::{Value, json};
use shelfsync_engine::bulk_update::{ApplyOptions, PlanOptions};
use shelfsync_engine::intake::{
    InboxWriter, IntakeStats, JOB_WEBHOOK, Listener, ListenerConfig, verify,
};
use shelfsync_engine::{BulkUpdates, Cache, Events, SyncKind, Syncer, bulk_sync, import};
use shelfsync_shopify::operations::{NoVariables, ShopInfo};
use shelfsync_shopify::{ClientConfig, Clock, Credentials, Secret, ShopifyClient};
use shelfsync_store::{BulkMode, BulkState, Durability, NewJob};
use shopify_sim::clock::format_rfc3339;
use shopify_sim::store::AVAILABLE;
use shopify_sim::{Plan, RunningSim, SimConfig};

const ENGINE: &str = "Shelfsync";
const NAIVE: &str = "naive concurrent";
const SEQUENTIAL: &str = "sequential";
const API: &str = "2026-07";
const WEBHOOK_SECRET: &str = "shpss_bench_app_secret";

// ---------------------------------------------------------------------------------------------
// Flags

#[derive(Debug, Clone, Serialize)]
struct Args {
    quick: bool,
    products: usize,
    bulk_rows: usize,
    plan_rows: usize,
    events: usize,
    concurrency: usize,
    window: f64,
    orders_per_hour: f64,
    scale_full: f64,
    scale_incremental: f64,
    scale_bulk: f64,
    #[serde(skip)]
    out: PathBuf,
    /// Also write the JSON and the chart to `tests/bench/` (tracked, shown in the README).
    publish: bool,
    /// The desktop app's measurement (`.ci/measure-desktop` writes it).
    #[serde(skip)]
    desktop: PathBuf,
}

impl Args {
    fn parse() -> Self {
        let args: Vec<String> = std::env::args().collect();
        let value = |name: &str| {
            args.iter()
                .position(|a| a == name)
                .and_then(|i| args.get(i + 1))
                .cloned()
        };
        let quick = args.iter().any(|a| a == "--quick");
        let num = |name: &str, full: usize, small: usize| {
            value(name)
                .and_then(|v| v.parse().ok())
                .unwrap_or(if quick { small } else { full })
        };
        let float = |name: &str, full: f64, small: f64| {
            value(name)
                .and_then(|v| v.parse().ok())
                .filter(|v: &f64| v.is_finite() && *v > 0.0)
                .unwrap_or(if quick { small } else { full })
        };
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../..");
        let out = value("--out")
            .map(PathBuf::from)
            .unwrap_or_else(|| root.join("artifacts/bench"));
        // Where `.ci/measure-desktop` writes: `measure/desktop.json` in cargo's target
        // directory (`CARGO_TARGET_DIR`, relative to the workspace root, or `target/`).
        let desktop = value("--desktop").map(PathBuf::from).unwrap_or_else(|| {
            let target = match std::env::var_os("CARGO_TARGET_DIR") {
                Some(dir) if !dir.is_empty() => root.join(dir),
                _ => root.join("target"),
            };
            target.join("measure/desktop.json")
        });
        Self {
            quick,
            products: num("--products", 16_667, 400),
            bulk_rows: num("--bulk-rows", 20_000, 1_000),
            plan_rows: num("--plan-rows", 50_000, 2_000),
            events: num("--events", 10_000, 1_000),
            concurrency: num("--concurrency", 32, 16),
            window: float("--window", 300.0, 60.0),
            orders_per_hour: float("--orders-per-hour", 1_800.0, 1_800.0),
            scale_full: float("--scale-full", 10.0, 10.0),
            scale_incremental: float("--scale-incremental", 10.0, 10.0),
            scale_bulk: float("--scale-bulk", 1.0, 1.0),
            out,
            publish: args.iter().any(|a| a == "--publish"),
            desktop,
        }
    }
}

// ---------------------------------------------------------------------------------------------
// What is recorded

/// One point of a client's time series: simulated seconds since its start, the points charged
/// so far, and the bucket level the last answer reported (`currentlyAvailable`).
#[derive(Debug, Clone, Copy, Serialize, serde::Deserialize)]
struct Sample {
    t: f64,
    spent: f64,
    level: f64,
}

/// Collects a client's samples on the simulated clock.
struct Recorder {
    started: Instant,
    scale: f64,
    state: Mutex<(f64, Vec<Sample>)>,
}

impl Recorder {
    fn new(scale: f64) -> Arc<Self> {
        Arc::new(Self {
            started: Instant::now(),
            scale,
            state: Mutex::new((0.0, Vec::new())),
        })
    }

    fn now(&self) -> f64 {
        self.started.elapsed().as_secs_f64() * self.scale
    }

    /// An answer carrying a cost: `charged` points (added to the total) and the level after.
    fn answer(&self, charged: f64, level: f64) {
        let t = self.now();
        let mut s = self.state.lock().unwrap_or_else(|p| p.into_inner());
        s.0 += charged;
        let spent = s.0;
        s.1.push(Sample { t, spent, level });
    }

    /// A sample whose total is known (Shelfsync's client counts the points itself).
    fn total(&self, spent: f64, level: f64) {
        let t = self.now();
        let mut s = self.state.lock().unwrap_or_else(|p| p.into_inner());
        s.0 = spent;
        s.1.push(Sample { t, spent, level });
    }

    fn spent(&self) -> f64 {
        self.state.lock().unwrap_or_else(|p| p.into_inner()).0
    }

    fn samples(&self) -> Vec<Sample> {
        let mut all = self
            .state
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .1
            .clone();
        all.sort_by(|a, b| a.t.total_cmp(&b.t));
        all
    }
}

/// One client's run of one workload.
#[derive(Debug, Clone, Serialize)]
struct ClientRun {
    client: &'static str,
    /// Simulated seconds from start to finish (the incremental workload: the window).
    seconds: f64,
    real_seconds: f64,
    requests: u64,
    throttled: u64,
    retries: u64,
    /// Points charged (sum of `actualQueryCost` of the answers received).
    points: f64,
    /// Bucket level when the run started (it was drained just before).
    start_level: f64,
    /// `points / (start_level + restore_rate × seconds)`.
    fraction: f64,
    /// Whether the client read or wrote everything it had to.
    complete: bool,
    lost: Option<u64>,
    doubled: Option<u64>,
    /// Levels neither as intended, nor untouched, nor doubled.
    wrong: Option<u64>,
    /// Incremental: passes run, and staleness in simulated seconds.
    passes: Option<u64>,
    staleness_p50: Option<f64>,
    staleness_p99: Option<f64>,
    /// Bulk update: the apply phase alone as a fraction of the limit.
    apply_fraction: Option<f64>,
    /// Bulk update: simulated seconds of the plan (live values read) and of the apply alone.
    plan_seconds: Option<f64>,
    apply_seconds: Option<f64>,
    detail: String,
    samples: Vec<Sample>,
}

impl ClientRun {
    fn new(client: &'static str) -> Self {
        Self {
            client,
            seconds: 0.0,
            real_seconds: 0.0,
            requests: 0,
            throttled: 0,
            retries: 0,
            points: 0.0,
            start_level: 0.0,
            fraction: 0.0,
            complete: true,
            lost: None,
            doubled: None,
            wrong: None,
            passes: None,
            staleness_p50: None,
            staleness_p99: None,
            apply_fraction: None,
            plan_seconds: None,
            apply_seconds: None,
            detail: String::new(),
            samples: Vec::new(),
        }
    }

    fn finish(&mut self, real: Duration, scale: f64, restore: f64, rec: &Recorder) {
        self.real_seconds = real.as_secs_f64();
        self.seconds = self.real_seconds * scale;
        self.fraction = self.points / (self.start_level + restore * self.seconds).max(1e-9);
        self.samples = downsample(rec.samples(), 1_500);
    }

    fn throttled_share(&self) -> f64 {
        self.throttled as f64 / self.requests.max(1) as f64
    }
}

fn downsample(all: Vec<Sample>, max: usize) -> Vec<Sample> {
    if all.len() <= max {
        return all;
    }
    let step = all.len().div_ceil(max);
    let last = *all.last().expect("not empty");
    let mut out: Vec<Sample> = all.into_iter().step_by(step).collect();
    out.push(last);
    out
}

#[derive(Debug, Clone, Serialize)]
struct Workload {
    key: &'static str,
    title: String,
    /// What the "time" column is.
    time_is: &'static str,
    time_scale: f64,
    clients: Vec<ClientRun>,
    notes: Vec<String>,
}

// ---------------------------------------------------------------------------------------------
// The simulator and Shelfsync's client

async fn start_sim(products: usize, scale: f64) -> RunningSim {
    shopify_sim::start(SimConfig {
        products,
        variants_per_product: 3,
        locations: 3,
        plan: Plan::parse("standard").expect("plan"),
        time_scale: scale,
        ..SimConfig::default()
    })
    .await
    .expect("simulator starts")
}

fn store_size(sim: &RunningSim) -> (usize, usize) {
    let store = sim.state.read_store();
    let levels = store.inventory_items.values().map(|i| i.levels.len()).sum();
    (store.variants.len(), levels)
}

fn engine_client(sim: &RunningSim, scale: f64) -> ShopifyClient {
    let token = Secret::new(sim.info.admin_token.clone().unwrap_or_default());
    let mut config = ClientConfig::new(&sim.info.base_url, Credentials::AdminToken(token))
        .expect("valid address");
    config.clock = Clock::scaled(scale);
    ShopifyClient::new(config).expect("client")
}

async fn control(sim: &RunningSim, path: &str, body: Value) {
    reqwest::Client::new()
        .post(format!("{}{path}", sim.info.base_url))
        .json(&body)
        .send()
        .await
        .and_then(reqwest::Response::error_for_status)
        .unwrap_or_else(|e| panic!("{path}: {e}"));
}

async fn drain(sim: &RunningSim) {
    control(sim, "/_sim/bucket/drain", json!({ "to": 0 })).await;
}

/// The simulator's own bucket level for the admin token's app, now.
fn sim_level(sim: &RunningSim) -> f64 {
    sim.state
        .bucket_status(shopify_sim::auth::App::LegacyAdmin, sim.state.clock.now())
        .currently_available
}

/// Drains the bucket, then lets Shelfsync's client see it (one small read, untimed), so its
/// throttle starts from the true level. Returns the simulator's level after that read.
async fn drain_for_engine(sim: &RunningSim, client: &ShopifyClient) -> f64 {
    drain(sim).await;
    client
        .execute::<ShopInfo>(&NoVariables {})
        .await
        .expect("shop");
    sim_level(sim)
}

/// Records Shelfsync's bucket (as of each answer) and points until stopped.
struct EngineWatch {
    stop: tokio::sync::oneshot::Sender<()>,
    task: tokio::task::JoinHandle<()>,
}

impl EngineWatch {
    fn start(client: &ShopifyClient, rec: Arc<Recorder>) -> Self {
        let (stop, mut stopped) = tokio::sync::oneshot::channel::<()>();
        let client = client.clone();
        let base = client.stats().actual_cost;
        let task = tokio::spawn(async move {
            let mut bucket = client.bucket();
            loop {
                tokio::select! {
                    _ = &mut stopped => break,
                    changed = bucket.changed() => {
                        if changed.is_err() {
                            break;
                        }
                        let b = *bucket.borrow_and_update();
                        rec.total(client.stats().actual_cost - base, b.available);
                    }
                }
            }
        });
        Self { stop, task }
    }

    async fn stop(self) {
        let _ = self.stop.send(());
        let _ = self.task.await;
    }
}

fn engine_counts(
    run: &mut ClientRun,
    before: shelfsync_shopify::client::PipelineStats,
    client: &ShopifyClient,
) {
    let after = client.stats();
    run.requests = after.requests - before.requests;
    run.throttled = after.throttled - before.throttled;
    run.retries = after.retries - before.retries;
    run.points = after.actual_cost - before.actual_cost;
}

async fn synced_engine(sim: &RunningSim, scale: f64, dir: &Path) -> Syncer {
    let client = engine_client(sim, scale);
    let cache = Cache::open(dir.join("store.db")).await.expect("cache");
    let mut syncer = Syncer::new(client, cache, Events::new());
    // The syncer counts its wide passes' period in the store's (scaled) seconds too.
    syncer.clock = Clock::scaled(scale);
    syncer.sync_shop().await.expect("shop");
    bulk_sync::full_sync(&syncer).await.expect("full sync");
    syncer
}

// ---------------------------------------------------------------------------------------------
// The naive client: plain HTTP, fixed-sleep retries

#[derive(Default)]
struct Counters {
    requests: AtomicU64,
    throttled: AtomicU64,
    retries: AtomicU64,
    gave_up: AtomicU64,
    /// Failures other than `THROTTLED`, by kind.
    failures: Mutex<BTreeMap<String, u64>>,
}

enum Failure {
    Throttled,
    Other(String),
}

struct Naive {
    http: reqwest::Client,
    url: String,
    token: String,
    /// The fixed sleep after any error, in real time (1 simulated second).
    pause: Duration,
    counters: Counters,
    rec: Arc<Recorder>,
}

/// Attempts per call before a naive client gives up (far more than any run here needs: the
/// point is that it keeps trying, not that it drops work).
const NAIVE_ATTEMPTS: u32 = 10_000;

impl Naive {
    fn new(sim: &RunningSim, scale: f64, rec: Arc<Recorder>) -> Arc<Self> {
        Arc::new(Self {
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(120))
                .build()
                .expect("http client"),
            url: format!("{}/admin/api/{API}/graphql.json", sim.info.base_url),
            token: sim.info.admin_token.clone().unwrap_or_default(),
            pause: Duration::from_secs_f64(1.0 / scale),
            counters: Counters::default(),
            rec,
        })
    }

    async fn attempt(&self, body: &Value) -> Result<Value, Failure> {
        self.counters.requests.fetch_add(1, Ordering::Relaxed);
        let response = self
            .http
            .post(&self.url)
            .header("X-Shopify-Access-Token", &self.token)
            .json(body)
            .send()
            .await
            .map_err(|_| Failure::Other("connection dropped".into()))?;
        let status = response.status();
        let text = response
            .text()
            .await
            .map_err(|_| Failure::Other("connection dropped".into()))?;
        if !status.is_success() {
            return Err(Failure::Other(format!("HTTP {status}")));
        }
        let answer: Value =
            serde_json::from_str(&text).map_err(|_| Failure::Other("not JSON".into()))?;
        if let Some(cost) = answer.pointer("/extensions/cost") {
            let charged = cost["actualQueryCost"].as_f64().unwrap_or(0.0);
            let level = cost["throttleStatus"]["currentlyAvailable"]
                .as_f64()
                .unwrap_or(f64::NAN);
            self.rec.answer(charged, level);
        }
        if let Some(errors) = answer["errors"].as_array().filter(|e| !e.is_empty()) {
            if errors
                .iter()
                .any(|e| e["extensions"]["code"] == "THROTTLED")
            {
                return Err(Failure::Throttled);
            }
            return Err(Failure::Other(format!("error {}", errors[0]["message"])));
        }
        let data = answer["data"].clone();
        if let Some(fields) = data.as_object() {
            for field in fields.values() {
                if let Some(errors) = field["userErrors"].as_array().filter(|e| !e.is_empty()) {
                    return Err(Failure::Other(format!(
                        "userError {}",
                        errors[0]["message"]
                    )));
                }
            }
        }
        if data.is_null() {
            return Err(Failure::Other("no data".into()));
        }
        Ok(data)
    }

    /// Sends the body `make` builds (a new one per attempt) until it succeeds, sleeping the
    /// fixed pause after every failure.
    async fn call(&self, make: impl Fn() -> Value) -> Option<Value> {
        for attempt in 1..=NAIVE_ATTEMPTS {
            match self.attempt(&make()).await {
                Ok(data) => return Some(data),
                Err(Failure::Throttled) => {
                    self.counters.throttled.fetch_add(1, Ordering::Relaxed);
                }
                Err(Failure::Other(kind)) => {
                    self.counters.retries.fetch_add(1, Ordering::Relaxed);
                    *self
                        .counters
                        .failures
                        .lock()
                        .unwrap_or_else(|p| p.into_inner())
                        .entry(kind)
                        .or_default() += 1;
                }
            }
            if attempt < NAIVE_ATTEMPTS {
                tokio::time::sleep(self.pause).await;
            }
        }
        self.counters.gave_up.fetch_add(1, Ordering::Relaxed);
        None
    }

    /// Every page of the connection at `path` (a JSON pointer into `data`): the nodes read,
    /// and whether the whole connection was read.
    async fn paginate(&self, document: &str, variables: Value, path: &str) -> (Vec<Value>, bool) {
        let mut nodes = Vec::new();
        let mut after = Value::Null;
        loop {
            let mut vars = variables.clone();
            vars["after"] = after.clone();
            let body = json!({ "query": document, "variables": vars });
            let Some(data) = self.call(|| body.clone()).await else {
                return (nodes, false);
            };
            let Some(connection) = data.pointer(path) else {
                return (nodes, false);
            };
            if let Some(page) = connection["nodes"].as_array() {
                nodes.extend(page.iter().cloned());
            }
            if connection["pageInfo"]["hasNextPage"] != true {
                return (nodes, true);
            }
            after = connection["pageInfo"]["endCursor"].clone();
        }
    }

    fn counts(&self, run: &mut ClientRun) {
        let c = &self.counters;
        run.requests = c.requests.load(Ordering::Relaxed);
        run.throttled = c.throttled.load(Ordering::Relaxed);
        run.retries = c.retries.load(Ordering::Relaxed);
        run.points = self.rec.spent();
        let failures = c.failures.lock().unwrap_or_else(|p| p.into_inner());
        if !failures.is_empty() {
            let list: Vec<String> = failures.iter().map(|(k, n)| format!("{n} {k}")).collect();
            let _ = write!(run.detail, "failures: {}; ", list.join(", "));
        }
        let gave_up = c.gave_up.load(Ordering::Relaxed);
        if gave_up > 0 {
            run.complete = false;
            let _ = write!(run.detail, "{gave_up} calls given up; ");
        }
    }
}

/// Runs `jobs` all at once (`concurrent`) or one after another; returns their results in order.
async fn run_all<T, F>(jobs: Vec<F>, concurrent: bool) -> Vec<T>
where
    F: std::future::Future<Output = T> + Send + 'static,
    T: Send + 'static,
{
    if concurrent {
        let handles: Vec<_> = jobs.into_iter().map(tokio::spawn).collect();
        let mut out = Vec::with_capacity(handles.len());
        for h in handles {
            out.push(h.await.expect("task"));
        }
        out
    } else {
        let mut out = Vec::with_capacity(jobs.len());
        for job in jobs {
            out.push(job.await);
        }
        out
    }
}

// ---------------------------------------------------------------------------------------------
// Workload 1: full sync

/// The naive clients' read of the catalogue: the same fields Shelfsync's bulk query exports.
const VARIANTS_DOCUMENT: &str = r#"query Variants($first: Int!, $after: String, $query: String) {
  productVariants(first: $first, after: $after, query: $query) {
    nodes {
      id
      sku
      title
      price
      compareAtPrice
      updatedAt
      product { id title handle status vendor productType updatedAt }
      inventoryItem {
        id
        inventoryLevels(first: 10) {
          nodes {
            location { id }
            updatedAt
            quantities(names: ["available", "on_hand", "committed", "incoming", "reserved", "damaged", "safety_stock", "quality_control"]) { name quantity }
          }
        }
      }
    }
    pageInfo { hasNextPage endCursor }
  }
}"#;

const BOUNDS_DOCUMENT: &str = r#"query Bounds {
  productVariantsCount(limit: null) { count }
  lowest: productVariants(first: 1, sortKey: ID) { nodes { id } }
  highest: productVariants(first: 1, sortKey: ID, reverse: true) { nodes { id } }
}"#;

fn gid_number(gid: &Value) -> u64 {
    gid.as_str()
        .and_then(|s| s.rsplit('/').next())
        .and_then(|s| s.split('?').next())
        .and_then(|s| s.parse().ok())
        .unwrap_or(0)
}

fn levels_in(variants: &[Value]) -> usize {
    variants
        .iter()
        .map(|v| {
            v["inventoryItem"]["inventoryLevels"]["nodes"]
                .as_array()
                .map_or(0, Vec::len)
        })
        .sum()
}

async fn naive_full_read(naive: Arc<Naive>, concurrent: bool) -> (usize, usize, bool) {
    if !concurrent {
        let (variants, complete) = naive
            .paginate(
                VARIANTS_DOCUMENT,
                json!({ "first": 250, "query": null }),
                "/productVariants",
            )
            .await;
        return (variants.len(), levels_in(&variants), complete);
    }
    // All pages at once: cursors chain pages, so split the id range into one slice per page.
    let body = json!({ "query": BOUNDS_DOCUMENT, "variables": {} });
    let Some(bounds) = naive.call(|| body.clone()).await else {
        return (0, 0, false);
    };
    let count = bounds["productVariantsCount"]["count"]
        .as_u64()
        .unwrap_or(0);
    let low = gid_number(&bounds["lowest"]["nodes"][0]["id"]);
    let high = gid_number(&bounds["highest"]["nodes"][0]["id"]) + 1;
    let slices = count.div_ceil(250).max(1);
    let width = (high - low).div_ceil(slices).max(1);
    let jobs: Vec<_> = (0..slices)
        .map(|i| {
            let naive = naive.clone();
            let (from, to) = (low + i * width, (low + (i + 1) * width).min(high));
            async move {
                naive
                    .paginate(
                        VARIANTS_DOCUMENT,
                        json!({ "first": 250, "query": format!("id:>={from} id:<{to}") }),
                        "/productVariants",
                    )
                    .await
            }
        })
        .collect();
    let mut variants = 0;
    let mut levels = 0;
    let mut complete = true;
    for (nodes, done) in run_all(jobs, true).await {
        variants += nodes.len();
        levels += levels_in(&nodes);
        complete &= done;
    }
    (variants, levels, complete)
}

async fn full_sync_workload(a: &Args, restore: f64) -> Workload {
    let scale = a.scale_full;
    let generated = Instant::now();
    let sim = start_sim(a.products, scale).await;
    let (variants, levels) = store_size(&sim);
    println!(
        "\n[1/4] full sync: {variants} variants, {levels} levels (store generated in {:.1} s), time scale {scale}x",
        generated.elapsed().as_secs_f64()
    );
    let mut clients = Vec::new();

    // Shelfsync: shop and locations, then the bulk operation into a fresh cache.
    let dir = tempfile::tempdir().expect("temp dir");
    let client = engine_client(&sim, scale);
    let cache = Cache::open(dir.path().join("store.db"))
        .await
        .expect("cache");
    let syncer = Syncer::new(client.clone(), cache, Events::new());
    let mut run = ClientRun::new(ENGINE);
    run.start_level = drain_for_engine(&sim, &client).await;
    let rec = Recorder::new(scale);
    let watch = EngineWatch::start(&client, rec.clone());
    let before = client.stats();
    let started = Instant::now();
    syncer.sync_shop().await.expect("shop");
    let counts = bulk_sync::full_sync(&syncer).await.expect("bulk full sync");
    let real = started.elapsed();
    watch.stop().await;
    engine_counts(&mut run, before, &client);
    run.finish(real, scale, restore, &rec);
    run.complete = counts.variants as usize == variants && counts.levels as usize == levels;
    run.detail = format!(
        "bulk operation: {} variants, {} levels; {:.1} s waiting for the export, {:.1} s download + ingest",
        counts.variants,
        counts.levels,
        counts.wait_ms as f64 / 1000.0 * scale,
        counts.ingest_ms as f64 / 1000.0 * scale
    );
    print_progress(&run);
    clients.push(run);

    for (name, concurrent) in [(NAIVE, true), (SEQUENTIAL, false)] {
        let rec = Recorder::new(scale);
        let naive = Naive::new(&sim, scale, rec.clone());
        let mut run = ClientRun::new(name);
        drain(&sim).await;
        run.start_level = sim_level(&sim);
        let started = Instant::now();
        let (read_variants, read_levels, done) = naive_full_read(naive.clone(), concurrent).await;
        let real = started.elapsed();
        naive.counts(&mut run);
        run.finish(real, scale, restore, &rec);
        run.complete &= done && read_variants == variants && read_levels == levels;
        let _ = write!(
            run.detail,
            "read {read_variants} variants, {read_levels} levels"
        );
        print_progress(&run);
        clients.push(run);
    }
    sim.stop().await;
    Workload {
        key: "full_sync",
        title: format!(
            "Full sync: {variants} variants, {levels} levels ({} locations)",
            3
        ),
        time_is: "completion",
        time_scale: scale,
        clients,
        notes: vec![
            "Shelfsync exports through a bulk operation, which Shopify does not meter by the \
             bucket: its fraction of the bucket is not a goal here."
                .into(),
        ],
    }
}

// ---------------------------------------------------------------------------------------------
// Workload 2: incremental syncs under a trickle of orders

const CHANGED_VARIANTS: &str = r#"query ChangedVariants($first: Int!, $after: String, $query: String) {
  productVariants(first: $first, after: $after, query: $query) {
    nodes { id sku title price compareAtPrice updatedAt product { id title } }
    pageInfo { hasNextPage endCursor }
  }
}"#;

const CHANGED_LEVELS: &str = r#"query ChangedLevels($location: ID!, $first: Int!, $after: String, $query: String) {
  location(id: $location) {
    inventoryLevels(first: $first, after: $after, query: $query) {
      nodes {
        updatedAt
        item { id }
        quantities(names: ["available", "on_hand", "committed", "incoming", "reserved", "damaged", "safety_stock", "quality_control"]) { name quantity }
      }
      pageInfo { hasNextPage endCursor }
    }
  }
}"#;

const CHANGED_ORDERS: &str = r#"query ChangedOrders($first: Int!, $after: String, $query: String) {
  orders(first: $first, after: $after, query: $query, sortKey: UPDATED_AT) {
    nodes {
      id
      name
      createdAt
      updatedAt
      cancelledAt
      lineItems(first: 50) { nodes { sku quantity currentQuantity variant { id } } }
    }
    pageInfo { hasNextPage endCursor }
  }
}"#;

const LOCATIONS_DOCUMENT: &str = r#"query Locations { locations(first: 50) { nodes { id } } }"#;

/// One naive pass: every read of what changed since `since`, all at once or in turn. Returns
/// the rows read and whether every read finished.
async fn naive_pass(
    naive: &Arc<Naive>,
    locations: &[String],
    since: &str,
    concurrent: bool,
) -> (usize, bool) {
    let query = format!("updated_at:>='{since}'");
    let mut reads = vec![
        (
            CHANGED_VARIANTS,
            json!({ "first": 250, "query": query }),
            "/productVariants",
        ),
        (
            CHANGED_ORDERS,
            json!({ "first": 50, "query": query }),
            "/orders",
        ),
    ];
    for l in locations {
        reads.push((
            CHANGED_LEVELS,
            json!({ "location": l, "first": 250, "query": query }),
            "/location/inventoryLevels",
        ));
    }
    let jobs: Vec<_> = reads
        .into_iter()
        .map(|(document, variables, path)| {
            let naive = naive.clone();
            async move { naive.paginate(document, variables, path).await }
        })
        .collect();
    let mut rows = 0;
    let mut complete = true;
    for (nodes, done) in run_all(jobs, concurrent).await {
        rows += nodes.len();
        complete &= done;
    }
    (rows, complete)
}

/// Staleness of each order placed in `[from, to)`: from its creation to the end of the first
/// pass that started after it (simulated seconds), sorted.
fn staleness(sim: &RunningSim, passes: &[(i64, i64)], from: i64, to: i64) -> Vec<f64> {
    let store = sim.state.read_store();
    let mut out: Vec<f64> = store
        .orders
        .values()
        .filter(|o| o.created_at >= from && o.created_at < to)
        .filter_map(|o| {
            passes
                .iter()
                .find(|(start, _)| *start >= o.created_at)
                .map(|(_, end)| (end - o.created_at) as f64 / 1000.0)
        })
        .collect();
    out.sort_by(f64::total_cmp);
    out
}

fn quantile(sorted: &[f64], q: f64) -> Option<f64> {
    (!sorted.is_empty()).then(|| sorted[((sorted.len() - 1) as f64 * q).round() as usize])
}

async fn incremental_workload(a: &Args, restore: f64) -> Workload {
    let scale = a.scale_incremental;
    let sim = start_sim(a.products, scale).await;
    let (variants, levels) = store_size(&sim);
    println!(
        "\n[2/4] incremental syncs: {variants} variants, {levels} levels, {} orders/hour, {} simulated s per client, time scale {scale}x",
        a.orders_per_hour, a.window
    );
    let dir = tempfile::tempdir().expect("temp dir");
    let syncer = synced_engine(&sim, scale, dir.path()).await;
    // The first incremental pass reads the newest orders; it is setup, not the workload.
    syncer.run(SyncKind::Incremental).await.expect("first pass");
    control(
        &sim,
        "/_sim/trickle",
        json!({ "orders_per_hour": a.orders_per_hour, "max_quantity": 2 }),
    )
    .await;
    let window = Duration::from_secs_f64(a.window / scale);
    let (narrow, overlap, every) = (
        syncer.narrow_overlap.as_secs(),
        syncer.overlap.as_secs(),
        syncer.wide_every.as_secs(),
    );
    let now = || sim.state.clock.now();
    let mut clients = Vec::new();

    // Shelfsync: `Syncer::run(Incremental)` back to back.
    {
        let client = syncer.client.clone();
        let mut run = ClientRun::new(ENGINE);
        run.start_level = drain_for_engine(&sim, &client).await;
        let rec = Recorder::new(scale);
        let watch = EngineWatch::start(&client, rec.clone());
        let before = client.stats();
        let started = Instant::now();
        let from = now();
        let mut passes = Vec::new();
        let mut failed = 0;
        let mut read = (0, 0, 0);
        // Points of the wide passes and of the narrow ones: (passes, points).
        let (mut wide, mut narrow) = ((0u64, 0.0), (0u64, 0.0));
        while started.elapsed() < window {
            let s = now();
            let points = client.stats().actual_cost;
            match syncer.run(SyncKind::Incremental).await {
                Ok(r) => {
                    passes.push((s, now()));
                    read = (read.0 + r.variants, read.1 + r.levels, read.2 + r.orders);
                    let kind = if r.wide { &mut wide } else { &mut narrow };
                    kind.0 += 1;
                    kind.1 += client.stats().actual_cost - points;
                }
                Err(_) => failed += 1,
            }
        }
        let real = started.elapsed();
        let to = now();
        watch.stop().await;
        engine_counts(&mut run, before, &client);
        run.finish(real, scale, restore, &rec);
        incremental_figures(&mut run, &sim, &passes, from, to, failed);
        let n = passes.len().max(1) as f64;
        let _ = write!(
            run.detail,
            "; {:.0} points a pass ({} narrow passes at {:.0} points, {} wide at {:.0}); rows read a pass: {:.0} variants, {:.0} levels, {:.0} orders",
            run.points / n,
            narrow.0,
            narrow.1 / narrow.0.max(1) as f64,
            wide.0,
            wide.1 / wide.0.max(1) as f64,
            read.0 as f64 / n,
            read.1 as f64 / n,
            read.2 as f64 / n,
        );
        print_progress(&run);
        clients.push(run);
    }

    for (name, concurrent) in [(NAIVE, true), (SEQUENTIAL, false)] {
        // The locations, read once before the window (not counted).
        let setup = Naive::new(&sim, scale, Recorder::new(scale));
        let body = json!({ "query": LOCATIONS_DOCUMENT, "variables": {} });
        let locations: Vec<String> = setup
            .call(|| body.clone())
            .await
            .and_then(|d| d["locations"]["nodes"].as_array().cloned())
            .unwrap_or_default()
            .iter()
            .filter_map(|n| n["id"].as_str().map(str::to_owned))
            .collect();
        let rec = Recorder::new(scale);
        let naive = Naive::new(&sim, scale, rec.clone());
        let mut run = ClientRun::new(name);
        drain(&sim).await;
        run.start_level = sim_level(&sim);
        let started = Instant::now();
        let from = now();
        let mut since = format_rfc3339(from);
        let mut passes = Vec::new();
        let mut rows = 0;
        let mut failed = 0;
        while started.elapsed() < window {
            let s = now();
            let (read, done) = naive_pass(&naive, &locations, &since, concurrent).await;
            rows += read;
            if done {
                passes.push((s, now()));
                since = format_rfc3339(s);
            } else {
                failed += 1;
            }
        }
        let real = started.elapsed();
        let to = now();
        naive.counts(&mut run);
        run.finish(real, scale, restore, &rec);
        incremental_figures(&mut run, &sim, &passes, from, to, failed);
        let n = passes.len().max(1) as f64;
        let _ = write!(
            run.detail,
            "; {:.0} points a pass; {:.1} rows read a pass",
            run.points / n,
            rows as f64 / n
        );
        print_progress(&run);
        clients.push(run);
    }
    control(&sim, "/_sim/trickle", json!({ "orders_per_hour": 0 })).await;
    sim.stop().await;
    Workload {
        key: "incremental",
        title: format!(
            "Incremental syncs, {} orders/hour, {} simulated s per client",
            a.orders_per_hour, a.window
        ),
        time_is: "staleness p50",
        time_scale: scale,
        clients,
        notes: vec![
            "Each client polls back to back for the window; staleness runs from an order being \
             placed to the end of the first pass that started after it."
                .into(),
            format!(
                "Shelfsync's passes start {narrow} s behind their watermark; one every {every} s \
                 (and the first) starts {overlap} s behind the watermark the previous such pass \
                 started from, for writes that commit late; the others read from their previous \
                 pass's start."
            ),
        ],
    }
}

fn incremental_figures(
    run: &mut ClientRun,
    sim: &RunningSim,
    passes: &[(i64, i64)],
    from: i64,
    to: i64,
    failed: u64,
) {
    let stale = staleness(sim, passes, from, to);
    run.passes = Some(passes.len() as u64);
    run.staleness_p50 = quantile(&stale, 0.5);
    run.staleness_p99 = quantile(&stale, 0.99);
    let mean_pass = passes
        .iter()
        .map(|(s, e)| (e - s) as f64 / 1000.0)
        .sum::<f64>()
        / passes.len().max(1) as f64;
    run.complete = failed == 0;
    let _ = write!(
        run.detail,
        "{} passes ({failed} failed), {mean_pass:.2} s a pass, {} orders placed, staleness p99 {:.1} s",
        passes.len(),
        stale.len(),
        run.staleness_p99.unwrap_or(f64::NAN)
    );
}

// ---------------------------------------------------------------------------------------------
// Workload 3: bulk update with faults

/// One level to move: its SKU and location (for the file), ids, the value before, and the
/// change.
#[derive(Debug, Clone)]
struct Target {
    sku: String,
    location: String,
    item: u64,
    location_id: u64,
    before: i64,
    delta: i64,
}

fn targets(sim: &RunningSim) -> Vec<Target> {
    let store = sim.state.read_store();
    let mut out = Vec::new();
    for v in store.variants.values() {
        for (loc, level) in &store.inventory_items[&v.inventory_item_id].levels {
            out.push(Target {
                sku: v.sku.clone(),
                location: store.locations[loc].name.clone(),
                item: v.inventory_item_id,
                location_id: *loc,
                before: level.quantities[AVAILABLE],
                delta: 1 + (out.len() as i64 % 9),
            });
        }
    }
    out
}

/// `sku,location,quantity` setting each target to `before + delta`.
fn stock_file(rows: &[Target], path: &Path) {
    let mut text = String::with_capacity(rows.len() * 40 + 32);
    text.push_str("sku,location,quantity\n");
    for t in rows {
        let _ = writeln!(
            text,
            "{},\"{}\",{}",
            t.sku,
            t.location.replace('"', "\"\""),
            t.before + t.delta
        );
    }
    std::fs::write(path, text).expect("write file");
}

/// (lost, doubled, other) against the intended `before + delta`.
fn verify_levels(sim: &RunningSim, rows: &[Target]) -> (u64, u64, u64) {
    let store = sim.state.read_store();
    let (mut lost, mut doubled, mut wrong) = (0, 0, 0);
    for t in rows {
        let now = store.inventory_items[&t.item].levels[&t.location_id].quantities[AVAILABLE];
        if now == t.before + t.delta {
            continue;
        } else if now == t.before {
            lost += 1;
        } else if now == t.before + 2 * t.delta {
            doubled += 1;
        } else {
            wrong += 1;
        }
    }
    (lost, doubled, wrong)
}

const ADJUST_DOCUMENT: &str = r#"mutation Adjust($input: InventoryAdjustQuantitiesInput!, $key: String!) {
  inventoryAdjustQuantities(input: $input) @idempotent(key: $key) {
    inventoryAdjustmentGroup { id }
    userErrors { field message code }
  }
}"#;

async fn naive_bulk_update(naive: Arc<Naive>, rows: &[Target], concurrent: bool) {
    let jobs: Vec<_> = rows
        .chunks(250)
        .map(|chunk| {
            let changes: Vec<Value> = chunk
                .iter()
                .map(|t| {
                    json!({
                        "inventoryItemId": format!("gid://shopify/InventoryItem/{}", t.item),
                        "locationId": format!("gid://shopify/Location/{}", t.location_id),
                        "delta": t.delta,
                        "changeFromQuantity": null,
                    })
                })
                .collect();
            let input = json!({ "name": "available", "reason": "correction", "changes": changes });
            let naive = naive.clone();
            async move {
                // A fresh key per attempt, as a script that makes one up for each request does.
                naive
                    .call(|| {
                        json!({
                            "query": ADJUST_DOCUMENT,
                            "variables": {
                                "input": input,
                                "key": format!("{:016x}{:016x}", fastrand::u64(..), fastrand::u64(..)),
                            },
                        })
                    })
                    .await
            }
        })
        .collect();
    run_all(jobs, concurrent).await;
}

/// Plan and diff of `rows` rows against the cache (no live refresh), best of three; and the
/// store's size it was diffed against.
async fn plan_and_diff(
    sim: &RunningSim,
    bulk: &BulkUpdates,
    rows: usize,
    dir: &Path,
) -> (f64, usize) {
    let all = targets(sim);
    let rows = rows.min(all.len());
    let file = dir.join("plan.csv");
    stock_file(&all[..rows], &file);
    let mut best = f64::MAX;
    for _ in 0..3 {
        let t = Instant::now();
        let path = file.clone();
        let read = tokio::task::spawn_blocking(move || import::read_file(&path))
            .await
            .expect("task")
            .expect("read");
        let plan = bulk
            .plan_rows(read, "plan.csv", PlanOptions::default())
            .await
            .expect("plan");
        best = best.min(t.elapsed().as_secs_f64());
        assert_eq!(plan.quantities.len(), rows, "{:?}", plan.problems.first());
    }
    (best, rows)
}

async fn bulk_update_workload(a: &Args, restore: f64) -> (Workload, (f64, usize, usize)) {
    let scale = a.scale_bulk;
    let sim = start_sim(a.products, scale).await;
    let (variants, levels) = store_size(&sim);
    println!(
        "\n[3/4] bulk update: {} levels per client with faults on, store of {variants} variants and {levels} levels, time scale {scale}x",
        a.bulk_rows
    );
    let dir = tempfile::tempdir().expect("temp dir");
    let syncer = synced_engine(&sim, scale, dir.path()).await;
    let client = syncer.client.clone();
    let bulk = BulkUpdates::new(client.clone(), syncer.cache.clone()).with_syncer(syncer.clone());
    // The app polls between its full sync and the owner's bulk update: one incremental pass,
    // as its schedule would have made (the first after a start re-reads the wide overlap).
    syncer
        .run(shelfsync_engine::SyncKind::Incremental)
        .await
        .expect("incremental pass");

    // The earlier benchmark's plan and diff, on this cache (no faults yet).
    let (plan_s, plan_rows) = plan_and_diff(&sim, &bulk, a.plan_rows, dir.path()).await;

    let all = targets(&sim);
    let per = a.bulk_rows.min(all.len() / 3);
    let sets: Vec<Vec<Target>> = (0..3)
        .map(|k| all[k * per..(k + 1) * per].to_vec())
        .collect();
    control(
        &sim,
        "/_sim/faults",
        json!({ "http_5xx_rate": 0.05, "connection_reset_rate": 0.02 }),
    )
    .await;
    let mut clients = Vec::new();
    // How Shelfsync's plan read the live values, and the bucket's level when its apply began.
    let mut refresh = ("no plan", f64::NAN);

    // Shelfsync: plan (live values) and apply, all or nothing.
    {
        let rows = &sets[0];
        let file = dir.path().join("stock.csv");
        stock_file(rows, &file);
        let mut run = ClientRun::new(ENGINE);
        run.start_level = drain_for_engine(&sim, &client).await;
        let rec = Recorder::new(scale);
        let watch = EngineWatch::start(&client, rec.clone());
        let before = client.stats();
        let started = Instant::now();
        let planned = bulk.plan(&file, PlanOptions::default()).await;
        let plan_real = started.elapsed();
        let mid = client.stats();
        let mid_level = sim_level(&sim);
        let outcome = match &planned {
            Ok(plan) => Some(
                bulk.apply(
                    plan,
                    ApplyOptions {
                        mode: BulkMode::AllOrNothing,
                        skip_problems: false,
                    },
                    &mut |_| {},
                )
                .await,
            ),
            Err(_) => None,
        };
        let real = started.elapsed();
        watch.stop().await;
        engine_counts(&mut run, before, &client);
        run.finish(real, scale, restore, &rec);
        let (lost, doubled, wrong) = verify_levels(&sim, rows);
        (run.lost, run.doubled, run.wrong) = (Some(lost), Some(doubled), Some(wrong));
        let apply_s = (real - plan_real).as_secs_f64() * scale;
        let apply_points = run.points - (mid.actual_cost - before.actual_cost);
        let apply_fraction = apply_points / (mid_level.max(0.0) + restore * apply_s).max(1e-9);
        match (&planned, &outcome) {
            (Ok(plan), Some(Ok(o))) => {
                run.complete = o.state == BulkState::Applied && o.applied as usize == rows.len();
                refresh = (
                    if plan.refresh.bulk_operation {
                        "a bulk operation"
                    } else {
                        "an incremental pass"
                    },
                    mid_level,
                );
                run.detail = format!(
                    "plan {:.1} s ({} changes, live refresh {:.0} points by {}), apply {apply_s:.1} s at {apply_fraction:.3} of the limit ({:.1} points a write call): {:?}, {} applied",
                    plan_real.as_secs_f64() * scale,
                    plan.summary.quantity_changes,
                    plan.refresh.points,
                    refresh.0,
                    apply_points / rows.len().div_ceil(250).max(1) as f64,
                    o.state,
                    o.applied
                );
            }
            (Err(e), _) | (Ok(_), Some(Err(e))) => {
                run.complete = false;
                run.detail = format!("failed: {e}");
            }
            (Ok(_), None) => unreachable!("applied when planned"),
        }
        run.apply_fraction = Some(apply_fraction);
        run.plan_seconds = Some(plan_real.as_secs_f64() * scale);
        run.apply_seconds = Some(apply_s);
        print_progress(&run);
        clients.push(run);
    }

    for (k, (name, concurrent)) in [(NAIVE, true), (SEQUENTIAL, false)].into_iter().enumerate() {
        let rows = &sets[k + 1];
        let rec = Recorder::new(scale);
        let naive = Naive::new(&sim, scale, rec.clone());
        let mut run = ClientRun::new(name);
        drain(&sim).await;
        run.start_level = sim_level(&sim);
        let started = Instant::now();
        naive_bulk_update(naive.clone(), rows, concurrent).await;
        let real = started.elapsed();
        naive.counts(&mut run);
        run.finish(real, scale, restore, &rec);
        let (lost, doubled, wrong) = verify_levels(&sim, rows);
        (run.lost, run.doubled, run.wrong) = (Some(lost), Some(doubled), Some(wrong));
        run.complete &= lost + doubled + wrong == 0;
        let _ = write!(
            run.detail,
            "{} adjust calls of up to 250 changes ({:.1} points a call)",
            rows.len().div_ceil(250),
            run.points / rows.len().div_ceil(250).max(1) as f64
        );
        print_progress(&run);
        clients.push(run);
    }
    control(&sim, "/_sim/faults", json!({})).await;
    sim.stop().await;
    let apply_fraction = clients[0].apply_fraction.unwrap_or(f64::NAN);
    (
        Workload {
            key: "bulk_update",
            title: format!(
                "Bulk update of {per} levels per client, 5% HTTP 503 and 2% connection resets"
            ),
            time_is: "completion",
            time_scale: scale,
            clients,
            notes: vec![format!(
                "Shelfsync's time includes planning against the store's live values (above {} \
                     rows: an incremental pass when the cache's stock was brought up to date within \
                     the hour, else a bulk operation; here {}); its apply alone ran at \
                     {apply_fraction:.3} of the bucket's limit, counting the {:.0} points the \
                     bucket held when the apply began.",
                shelfsync_engine::bulk_update::LIVE_READ_LIMIT,
                refresh.0,
                refresh.1
            )],
        },
        (plan_s, plan_rows, levels),
    )
}

// ---------------------------------------------------------------------------------------------
// Workload 4: webhook intake (the approach of `bench_intake`)

struct Delivery {
    body: Vec<u8>,
    headers: Vec<(&'static str, String)>,
}

fn deliveries(n: usize) -> Vec<Delivery> {
    (0..n)
        .map(|i| {
            let item = 271_878_346_596_884_015_i64 + i as i64;
            let body = serde_json::to_vec(&json!({
                "inventory_item_id": item,
                "location_id": 24_826_418,
                "available": i % 97,
                "updated_at": "2026-11-24T07:00:00-05:00",
                "admin_graphql_api_id":
                    format!("gid://shopify/InventoryLevel/24826418?inventory_item_id={item}"),
            }))
            .expect("json");
            let mut mac =
                Hmac::<sha2::Sha256>::new_from_slice(WEBHOOK_SECRET.as_bytes()).expect("key");
            mac.update(&body);
            let hmac =
                base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes());
            Delivery {
                body,
                headers: vec![
                    ("X-Shopify-Topic", "inventory_levels/update".into()),
                    ("X-Shopify-Hmac-Sha256", hmac),
                    ("X-Shopify-Shop-Domain", "bench.myshopify.com".into()),
                    ("X-Shopify-API-Version", API.into()),
                    (
                        "X-Shopify-Webhook-Id",
                        format!("00000000-0000-4000-8000-{i:012}"),
                    ),
                    (
                        "X-Shopify-Event-Id",
                        format!("11111111-0000-4000-8000-{i:012}"),
                    ),
                    (
                        "X-Shopify-Triggered-At",
                        "2026-11-24T12:00:00.912552336Z".into(),
                    ),
                ],
            }
        })
        .collect()
}

#[derive(Debug, Clone, Serialize)]
struct IntakeRun {
    listener: &'static str,
    events_per_sec: f64,
    p50_ms: f64,
    p99_ms: f64,
    stored: u64,
}

async fn load(url: &str, all: Arc<Vec<Delivery>>, concurrency: usize) -> (f64, f64, f64) {
    let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let client = reqwest::Client::new();
    let started = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..concurrency {
        let (all, next, client, url) = (all.clone(), next.clone(), client.clone(), url.to_owned());
        tasks.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(d) = all.get(i) else { break };
                let mut request = client.post(&url).body(d.body.clone());
                for (name, value) in &d.headers {
                    request = request.header(*name, value);
                }
                let sent = Instant::now();
                let status = request.send().await.expect("request").status();
                latencies.push(sent.elapsed());
                assert_eq!(status, 200, "delivery {i}");
            }
            latencies
        }));
    }
    let mut latencies = Vec::new();
    for t in tasks {
        latencies.extend(t.await.expect("sender"));
    }
    let elapsed = started.elapsed();
    latencies.sort();
    let at = |q: f64| latencies[((latencies.len() - 1) as f64 * q) as usize].as_secs_f64() * 1e3;
    (
        latencies.len() as f64 / elapsed.as_secs_f64(),
        at(0.50),
        at(0.99),
    )
}

/// The baseline listener: verify, then one durable transaction per event, then 200.
async fn one_commit_per_event(
    State(cache): State<Cache>,
    headers: HeaderMap,
    body: Bytes,
) -> StatusCode {
    let keys = [Secret::new(WEBHOOK_SECRET)];
    let Ok(event) = verify::verify(&keys, None, &headers, &body) else {
        return StatusCode::UNAUTHORIZED;
    };
    let stored = cache
        .write(move |db| {
            let tx = db.write_with(Durability::Full)?;
            if let shelfsync_store::Recorded::New(id) = tx.record_webhook(&event)? {
                tx.enqueue(&NewJob {
                    kind: JOB_WEBHOOK.into(),
                    payload: json!({ "inbox_id": id }),
                    dedupe_key: None,
                    run_at: None,
                })?;
            }
            tx.commit()
        })
        .await;
    match stored {
        Ok(()) => StatusCode::OK,
        Err(_) => StatusCode::SERVICE_UNAVAILABLE,
    }
}

async fn intake_workload(a: &Args) -> Vec<IntakeRun> {
    println!(
        "\n[4/4] webhook intake: {} signed webhooks, {} concurrent senders",
        a.events, a.concurrency
    );
    let all = Arc::new(deliveries(a.events));
    let dir = tempfile::tempdir_in(std::env::temp_dir()).expect("temp dir");

    let cache = Cache::open(dir.path().join("listener.db"))
        .await
        .expect("cache");
    let inbox = InboxWriter::start(cache.clone(), Arc::new(|| {}));
    let listener = Listener::start(
        ListenerConfig {
            port: 0,
            keys: vec![Secret::new(WEBHOOK_SECRET)],
            shop_domain: None,
            max_body_bytes: 1 << 20,
        },
        inbox,
        IntakeStats::default(),
    )
    .await
    .expect("listener");
    let url = format!("http://{}/webhooks", listener.local_addr());
    let (rate, p50, p99) = load(&url, all.clone(), a.concurrency).await;
    listener.stop().await;
    let stored = cache.read(|r| r.inbox_counts()).await.expect("count").total as u64;
    let grouped = IntakeRun {
        listener: "Shelfsync listener (grouped durable commits)",
        events_per_sec: rate,
        p50_ms: p50,
        p99_ms: p99,
        stored,
    };

    let cache = Cache::open(dir.path().join("baseline.db"))
        .await
        .expect("cache");
    let app = axum::Router::new()
        .fallback(axum::routing::post(one_commit_per_event))
        .with_state(cache.clone());
    let socket = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let url = format!("http://{}/webhooks", socket.local_addr().expect("addr"));
    let server = tokio::spawn(async move { axum::serve(socket, app).await });
    let (rate, p50, p99) = load(&url, all, a.concurrency).await;
    server.abort();
    let stored = cache.read(|r| r.inbox_counts()).await.expect("count").total as u64;
    let single = IntakeRun {
        listener: "one commit per event",
        events_per_sec: rate,
        p50_ms: p50,
        p99_ms: p99,
        stored,
    };
    for r in [&grouped, &single] {
        println!(
            "  {:<46} {:>8.0} events/s  p50 {:>6.2} ms  p99 {:>6.2} ms  ({} stored)",
            r.listener, r.events_per_sec, r.p50_ms, r.p99_ms, r.stored
        );
    }
    vec![grouped, single]
}

// ---------------------------------------------------------------------------------------------
// Tables and goals

fn print_progress(r: &ClientRun) {
    println!(
        "  {:<17} {:>8.1} s simulated ({:.1} s real), {} requests, {} throttled, {} retries, {:.0} points, {:.3} of the limit; {}",
        r.client,
        r.seconds,
        r.real_seconds,
        r.requests,
        r.throttled,
        r.retries,
        r.points,
        r.fraction,
        r.detail
    );
}

fn opt(v: Option<u64>) -> String {
    v.map_or_else(|| "-".into(), |v| v.to_string())
}

fn time_of(w: &Workload, c: &ClientRun) -> Option<f64> {
    match w.key {
        "incremental" => c.staleness_p50,
        _ => Some(c.seconds),
    }
}

fn print_table(w: &Workload) {
    println!("\n{} (time scale {}x)", w.title, w.time_scale);
    println!(
        "  {:<17} {:>14} {:>9} {:>9} {:>9} {:>10} {:>8} {:>6} {:>8}  done",
        "client",
        format!("{} s", w.time_is),
        "points/s",
        "of limit",
        "requests",
        "throttled",
        "retries",
        "lost",
        "doubled"
    );
    for c in &w.clients {
        println!(
            "  {:<17} {:>14} {:>9.1} {:>9.3} {:>9} {:>5} {:>3.1}% {:>8} {:>6} {:>8}  {}",
            c.client,
            time_of(w, c).map_or_else(|| "-".into(), |t| format!("{t:.2}")),
            c.points / c.seconds.max(1e-9),
            c.fraction,
            c.requests,
            c.throttled,
            100.0 * c.throttled_share(),
            c.retries,
            opt(c.lost),
            opt(c.doubled),
            if c.complete { "yes" } else { "NO" }
        );
    }
    if let Some(engine) = w.clients.first()
        && let (Some(plan), Some(apply)) = (engine.plan_seconds, engine.apply_seconds)
    {
        println!(
            "  {:<17} {:>14.2}  (the apply phase alone, after {plan:.2} s of planning against the \
             store's live values; not what the goal is judged on: the time above is)",
            format!("{}, apply", engine.client),
            apply
        );
    }
    for n in &w.notes {
        println!("  note: {n}");
    }
}

#[derive(Debug, Clone, Serialize)]
struct Goal {
    workload: &'static str,
    goal: String,
    met: Option<bool>,
    evidence: String,
}

fn goals(workloads: &[Workload], bulk_apply_fraction: f64, intake: &[IntakeRun]) -> Vec<Goal> {
    let mut out = Vec::new();
    for w in workloads {
        let engine = &w.clients[0];
        let others = &w.clients[1..];
        let mine = time_of(w, engine);
        let faster = mine.is_some()
            && others
                .iter()
                .all(|o| time_of(w, o).is_none_or(|t| mine.unwrap_or(f64::MAX) < t));
        out.push(Goal {
            workload: w.key,
            goal: format!("faster than both ({})", w.time_is),
            met: Some(faster && engine.complete),
            evidence: w
                .clients
                .iter()
                .map(|c| {
                    let apply = c.apply_seconds.map_or_else(String::new, |a| {
                        format!(" (of which {a:.2} s applying; the rest planning)")
                    });
                    format!(
                        "{} {}{apply}",
                        c.client,
                        time_of(w, c).map_or_else(|| "-".into(), |t| format!("{t:.2} s"))
                    )
                })
                .collect::<Vec<_>>()
                .join(", "),
        });
        let (fraction, met) = match w.key {
            "full_sync" => (engine.fraction, None),
            "bulk_update" => (bulk_apply_fraction, Some(bulk_apply_fraction >= 0.95)),
            _ => (engine.fraction, Some(engine.fraction >= 0.95)),
        };
        out.push(Goal {
            workload: w.key,
            goal: "at >= 0.95 of the bucket's limit".into(),
            met,
            evidence: match w.key {
                "full_sync" => format!(
                    "{fraction:.3}: a bulk operation is not metered by the bucket (not applicable)"
                ),
                "bulk_update" => format!(
                    "apply {fraction:.3}; whole workload with planning {:.3}",
                    engine.fraction
                ),
                _ => format!("{fraction:.3}"),
            },
        });
        out.push(Goal {
            workload: w.key,
            goal: "under 1% throttled".into(),
            met: Some(engine.throttled_share() < 0.01),
            evidence: format!(
                "{} of {} requests ({:.2}%)",
                engine.throttled,
                engine.requests,
                100.0 * engine.throttled_share()
            ),
        });
        if w.key == "bulk_update" {
            out.push(Goal {
                workload: w.key,
                goal: "zero writes lost or doubled".into(),
                met: Some(
                    engine.complete
                        && engine.lost == Some(0)
                        && engine.doubled == Some(0)
                        && engine.wrong == Some(0),
                ),
                evidence: format!(
                    "lost {}, doubled {}, other {}",
                    opt(engine.lost),
                    opt(engine.doubled),
                    opt(engine.wrong)
                ),
            });
            let naive = &w.clients[1];
            out.push(Goal {
                workload: w.key,
                goal: "the naive client loses or doubles writes under faults".into(),
                met: Some(
                    naive.lost.unwrap_or(0) + naive.doubled.unwrap_or(0) + naive.wrong.unwrap_or(0)
                        > 0,
                ),
                evidence: w.clients[1..]
                    .iter()
                    .map(|c| {
                        format!(
                            "{}: lost {}, doubled {}, other {}",
                            c.client,
                            opt(c.lost),
                            opt(c.doubled),
                            opt(c.wrong)
                        )
                    })
                    .collect::<Vec<_>>()
                    .join("; "),
            });
        }
    }
    if let [grouped, single] = intake {
        out.push(Goal {
            workload: "intake",
            goal: "listener faster than one commit per event".into(),
            met: Some(grouped.events_per_sec > single.events_per_sec),
            evidence: format!(
                "{:.0} vs {:.0} events/s ({:.2}x)",
                grouped.events_per_sec,
                single.events_per_sec,
                grouped.events_per_sec / single.events_per_sec
            ),
        });
    }
    out
}

// ---------------------------------------------------------------------------------------------
// The desktop app's memory and cold start (measured by `.ci/measure-desktop`, read here)

const MEASURE_DESKTOP: &str = "bash .ci/measure-desktop";

/// The desktop app's figures from the file `.ci/measure-desktop` writes, if it has been run.
#[derive(Debug, Clone, Serialize)]
struct Desktop {
    command: &'static str,
    /// The file read, relative to the workspace root when inside it.
    file: String,
    /// When the file was written (UTC), if it exists.
    measured_at: Option<String>,
    runs: Option<u64>,
    cold_start_s: Option<f64>,
    bare_cold_start_s: Option<f64>,
    idle_pss_mib: Option<f64>,
    bare_idle_pss_mib: Option<f64>,
    idle_ratio: Option<f64>,
    idle_goal: Option<f64>,
    synced_pss_mib: Option<f64>,
    scrolled_pss_mib: Option<f64>,
    loaded_ratio: Option<f64>,
    loaded_goal: Option<f64>,
    variants: Option<u64>,
}

fn desktop_figures(path: &Path) -> Desktop {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../..");
    let shown = path
        .strip_prefix(&root)
        .ok()
        .map(Path::to_path_buf)
        .or_else(|| {
            let root = std::fs::canonicalize(&root).ok()?;
            let path = std::fs::canonicalize(path).ok()?;
            path.strip_prefix(root).ok().map(Path::to_path_buf)
        })
        .unwrap_or_else(|| path.to_path_buf());
    let mut d = Desktop {
        command: MEASURE_DESKTOP,
        file: shown.display().to_string(),
        measured_at: None,
        runs: None,
        cold_start_s: None,
        bare_cold_start_s: None,
        idle_pss_mib: None,
        bare_idle_pss_mib: None,
        idle_ratio: None,
        idle_goal: None,
        synced_pss_mib: None,
        scrolled_pss_mib: None,
        loaded_ratio: None,
        loaded_goal: None,
        variants: None,
    };
    let Ok(text) = std::fs::read_to_string(path) else {
        return d;
    };
    let Ok(m) = serde_json::from_str::<Value>(&text) else {
        return d;
    };
    d.measured_at = std::fs::metadata(path)
        .and_then(|m| m.modified())
        .ok()
        .and_then(|t| shelfsync_store::Timestamp::try_from(t).ok())
        .map(|t| t.strftime("%Y-%m-%d %H:%M UTC").to_string());
    let f = |pointer: &str| m.pointer(pointer).and_then(Value::as_f64);
    d.runs = m["runs"].as_u64();
    d.cold_start_s = f("/shelfsync/median_cold_start_s");
    d.bare_cold_start_s = f("/bare_window/median_cold_start_s");
    d.idle_pss_mib = f("/shelfsync/median_idle_pss_mib");
    d.bare_idle_pss_mib = f("/bare_window/median_idle_pss_mib");
    d.idle_ratio = f("/ratios/idle_pss");
    d.idle_goal = f("/goals/idle_pss_within");
    d.synced_pss_mib = f("/loaded/synced/pss_mib");
    d.scrolled_pss_mib = f("/loaded/scrolled_through_list/pss_mib");
    d.loaded_ratio = f("/ratios/loaded_pss");
    d.loaded_goal = f("/goals/loaded_pss_within");
    d.variants = m.pointer("/loaded/variants").and_then(Value::as_u64);
    d
}

fn print_desktop(d: &Desktop) {
    let Some(at) = &d.measured_at else {
        println!(
            "  desktop app memory and cold start: not measured (no {}). `{}` builds the app, a bare \
             Tauri window and the simulator in release and measures them; this report then prints \
             its figures.",
            d.file, d.command
        );
        return;
    };
    println!(
        "  desktop app (not rerun here: measured by `{}`, read from {}, written {at}):",
        d.command, d.file
    );
    let mib = |v: Option<f64>| v.map_or_else(|| "-".into(), |v| format!("{v:.0} MiB"));
    let secs = |v: Option<f64>| v.map_or_else(|| "-".into(), |v| format!("{v:.2} s"));
    let ratio = |v: Option<f64>| v.map_or_else(|| "-".into(), |v| format!("{v:.2}x"));
    let runs = d
        .runs
        .map_or_else(String::new, |r| format!(", median of {r}"));
    println!(
        "    cold start to a usable window{runs}: {} (bare Tauri window {}, {})",
        secs(d.cold_start_s),
        secs(d.bare_cold_start_s),
        ratio(d.cold_start_s.zip(d.bare_cold_start_s).map(|(a, b)| a / b))
    );
    println!(
        "    memory (PSS) idle, no store{runs}: {} (bare window {}, {})",
        mib(d.idle_pss_mib),
        mib(d.bare_idle_pss_mib),
        ratio(d.idle_ratio)
    );
    let variants = d
        .variants
        .map_or_else(|| "the measured store's".into(), |v| v.to_string());
    println!(
        "    memory (PSS) with {variants} variants: {} synced, {} with the Inventory list scrolled \
         through ({} the bare window's idle, the larger of the two)",
        mib(d.synced_pss_mib),
        mib(d.scrolled_pss_mib),
        ratio(d.loaded_ratio)
    );
}

/// The desktop app's goals, as `.ci/measure-desktop` judges them.
fn desktop_goals(d: &Desktop) -> Vec<Goal> {
    let judged = |ratio: Option<f64>, goal: Option<f64>| match (ratio, goal) {
        (Some(r), Some(g)) => (Some(r <= g), format!("{r:.2}x")),
        _ => (
            None,
            format!("not measured: run `{}` (see above)", d.command),
        ),
    };
    let (idle_met, idle) = judged(d.idle_ratio, d.idle_goal);
    let (loaded_met, loaded) = judged(d.loaded_ratio, d.loaded_goal);
    vec![
        Goal {
            workload: "desktop",
            goal: format!(
                "idle memory within {}x of a bare Tauri window",
                d.idle_goal.unwrap_or(1.3)
            ),
            met: idle_met,
            evidence: idle,
        },
        Goal {
            workload: "desktop",
            goal: format!(
                "memory with 50,000 variants within {}x",
                d.loaded_goal.unwrap_or(2.0)
            ),
            met: loaded_met,
            evidence: loaded,
        },
    ]
}

// ---------------------------------------------------------------------------------------------
// The chart

const COLORS: [(&str, &str); 3] = [
    (ENGINE, "#1b7f3b"),
    (NAIVE, "#c0392b"),
    (SEQUENTIAL, "#2c6fbb"),
];

fn color(client: &str) -> &'static str {
    COLORS
        .iter()
        .find(|(c, _)| *c == client)
        .map_or("#555555", |(_, col)| col)
}

fn nice_step(range: f64) -> f64 {
    let raw = range / 5.0;
    let p = 10f64.powf(raw.log10().floor());
    [1.0, 2.0, 2.5, 5.0, 10.0]
        .iter()
        .map(|m| m * p)
        .find(|s| *s >= raw)
        .unwrap_or(10.0 * p)
}

/// Points charged per second in `bins` equal bins over `[0, t_max]`.
fn throughput(samples: &[Sample], t_max: f64, bins: usize) -> Vec<(f64, f64)> {
    let width = t_max / bins as f64;
    let mut out = Vec::with_capacity(bins);
    let mut i = 0;
    let mut prev = 0.0;
    for b in 0..bins {
        let edge = (b + 1) as f64 * width;
        let mut spent = prev;
        while i < samples.len() && samples[i].t <= edge {
            spent = samples[i].spent;
            i += 1;
        }
        let end = samples.last().map_or(0.0, |s| s.t);
        if edge - width > end {
            break;
        }
        out.push(((b as f64 + 0.5) * width, (spent - prev) / width));
        prev = spent;
    }
    out
}

#[allow(clippy::too_many_arguments)]
fn plot(
    svg: &mut String,
    x0: f64,
    y0: f64,
    w: f64,
    h: f64,
    t_max: f64,
    y_max: f64,
    label: &str,
    series: &[(&str, Vec<(f64, f64)>)],
    reference: Option<f64>,
) {
    let px = |t: f64| x0 + t / t_max * w;
    let py = |v: f64| y0 + h - (v / y_max).clamp(0.0, 1.05) * h;
    let _ = writeln!(
        svg,
        r##"<rect x="{x0}" y="{y0}" width="{w}" height="{h}" fill="#fafafa" stroke="#bbb"/>"##
    );
    let ys = nice_step(y_max);
    let mut v = 0.0;
    while v <= y_max + 1e-9 {
        let y = py(v);
        let _ = writeln!(
            svg,
            r##"<line x1="{x0}" y1="{y:.1}" x2="{:.1}" y2="{y:.1}" stroke="#e4e4e4"/><text x="{:.1}" y="{:.1}" font-size="10" text-anchor="end">{v}</text>"##,
            x0 + w,
            x0 - 4.0,
            y + 3.0
        );
        v += ys;
    }
    let xs = nice_step(t_max);
    let mut t = 0.0;
    while t <= t_max + 1e-9 {
        let x = px(t);
        let _ = writeln!(
            svg,
            r##"<line x1="{x:.1}" y1="{:.1}" x2="{x:.1}" y2="{:.1}" stroke="#999"/><text x="{x:.1}" y="{:.1}" font-size="10" text-anchor="middle">{t}</text>"##,
            y0 + h,
            y0 + h + 4.0,
            y0 + h + 15.0
        );
        t += xs;
    }
    if let Some(r) = reference {
        let y = py(r);
        let _ = writeln!(
            svg,
            r##"<line x1="{x0}" y1="{y:.1}" x2="{:.1}" y2="{y:.1}" stroke="#888" stroke-dasharray="4 3"/>"##,
            x0 + w
        );
    }
    let _ = writeln!(
        svg,
        r##"<text x="{x0}" y="{:.1}" font-size="12" font-weight="bold">{label}</text>"##,
        y0 - 6.0
    );
    for (client, points) in series {
        if points.is_empty() {
            continue;
        }
        let path: Vec<String> = points
            .iter()
            .filter(|(_, v)| v.is_finite())
            .map(|(t, v)| format!("{:.1},{:.1}", px(*t), py(*v)))
            .collect();
        let _ = writeln!(
            svg,
            r##"<polyline fill="none" stroke="{}" stroke-width="1.5" points="{}"/>"##,
            color(client),
            path.join(" ")
        );
    }
}

fn chart(workloads: &[Workload], intake: &[IntakeRun], maximum: f64, restore: f64) -> String {
    let (width, panel_h, left) = (960.0, 330.0, 70.0);
    let height = 60.0 + panel_h * workloads.len() as f64 + 150.0;
    let mut svg = String::new();
    let _ = writeln!(
        svg,
        r##"<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" viewBox="0 0 {width} {height}" font-family="sans-serif">"##
    );
    let _ = writeln!(
        svg,
        r##"<rect width="100%" height="100%" fill="white"/><text x="{left}" y="24" font-size="16" font-weight="bold">Shelfsync performance report: standard plan ({maximum} points, {restore}/s)</text>"##
    );
    let mut lx = left;
    for (client, col) in COLORS {
        let _ = writeln!(
            svg,
            r##"<rect x="{lx}" y="36" width="14" height="4" fill="{col}"/><text x="{:.1}" y="42" font-size="12">{client}</text>"##,
            lx + 18.0
        );
        lx += 150.0;
    }
    let _ = writeln!(
        svg,
        r##"<text x="{lx}" y="42" font-size="11" fill="#666">x: simulated s since the client started; dashed: restore rate</text>"##
    );
    let plot_w = (width - left - 30.0) / 2.0 - 20.0;
    for (i, w) in workloads.iter().enumerate() {
        let y = 60.0 + panel_h * i as f64;
        let _ = writeln!(
            svg,
            r##"<text x="{left}" y="{:.1}" font-size="14" font-weight="bold">{}</text>"##,
            y + 20.0,
            xml(&w.title)
        );
        let t_max = w
            .clients
            .iter()
            .map(|c| c.samples.last().map_or(0.0, |s| s.t).max(c.seconds))
            .fold(1.0, f64::max);
        // Bins of at least one simulated second (the naive clients retry on a 1 s beat).
        let bins = (t_max.floor() as usize).clamp(8, 60);
        let rates: Vec<(&str, Vec<(f64, f64)>)> = w
            .clients
            .iter()
            .map(|c| (c.client, throughput(&c.samples, t_max, bins)))
            .collect();
        let peak = rates
            .iter()
            .flat_map(|(_, r)| r.iter().map(|p| p.1))
            .fold(restore * 1.2, f64::max);
        plot(
            &mut svg,
            left,
            y + 50.0,
            plot_w,
            230.0,
            t_max,
            peak,
            "throughput (points/s)",
            &rates,
            Some(restore),
        );
        let levels: Vec<(&str, Vec<(f64, f64)>)> = w
            .clients
            .iter()
            .map(|c| (c.client, c.samples.iter().map(|s| (s.t, s.level)).collect()))
            .collect();
        plot(
            &mut svg,
            left + plot_w + 60.0,
            y + 50.0,
            plot_w,
            230.0,
            t_max,
            maximum,
            "bucket level (currentlyAvailable, points)",
            &levels,
            None,
        );
    }
    let y = 60.0 + panel_h * workloads.len() as f64;
    let _ = writeln!(
        svg,
        r##"<text x="{left}" y="{:.1}" font-size="14" font-weight="bold">Webhook intake (events/s)</text>"##,
        y + 20.0
    );
    let top = intake.iter().map(|r| r.events_per_sec).fold(1.0, f64::max);
    for (i, r) in intake.iter().enumerate() {
        let by = y + 40.0 + 40.0 * i as f64;
        let bw = (width - left - 560.0) * r.events_per_sec / top;
        let col = if i == 0 { color(ENGINE) } else { "#888888" };
        let _ = writeln!(
            svg,
            r##"<rect x="{:.1}" y="{by:.1}" width="{bw:.1}" height="24" fill="{col}"/><text x="{left}" y="{:.1}" font-size="11">{}</text><text x="{:.1}" y="{:.1}" font-size="11">{:.0} events/s, p50 {:.1} ms, p99 {:.1} ms</text>"##,
            left + 280.0,
            by + 16.0,
            xml(r.listener),
            left + 286.0 + bw,
            by + 16.0,
            r.events_per_sec,
            r.p50_ms,
            r.p99_ms
        );
    }
    svg.push_str("</svg>\n");
    svg
}

fn xml(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

// ---------------------------------------------------------------------------------------------

#[tokio::main(flavor = "multi_thread")]
async fn main() {
    let a = Args::parse();
    let plan = Plan::parse("standard").expect("plan");
    let (maximum, restore) = (plan.maximum_available, plan.restore_rate);
    let begun = Instant::now();
    println!(
        "Shelfsync performance report{}: standard plan ({maximum} points, {restore}/s), {} products × 3 variants × 3 locations",
        if a.quick { " (quick)" } else { "" },
        a.products
    );

    let full = full_sync_workload(&a, restore).await;
    let incremental = incremental_workload(&a, restore).await;
    let (bulk, (plan_s, plan_rows, plan_levels)) = bulk_update_workload(&a, restore).await;
    let bulk_apply_fraction = bulk.clients[0].apply_fraction.unwrap_or(f64::NAN);
    let intake = intake_workload(&a).await;
    let workloads = vec![full, incremental, bulk];

    println!("\n==================== results ====================");
    println!(
        "throughput: points charged / (bucket level at start + {restore} × simulated seconds), after draining the bucket"
    );
    for w in &workloads {
        print_table(w);
    }
    println!(
        "\nWebhook intake ({} events, {} senders)",
        a.events, a.concurrency
    );
    for r in &intake {
        println!(
            "  {:<46} {:>8.0} events/s  p50 {:>6.2} ms  p99 {:>6.2} ms",
            r.listener, r.events_per_sec, r.p50_ms, r.p99_ms
        );
    }

    println!("\nEarlier benchmarks, rerun here");
    if let [grouped, single] = intake.as_slice() {
        println!(
            "  webhook intake (bench_intake): {:.0} events/s (p50 {:.2} ms, p99 {:.2} ms) vs one commit per event {:.0} events/s (p50 {:.2} ms, p99 {:.2} ms): {:.2}x",
            grouped.events_per_sec,
            grouped.p50_ms,
            grouped.p99_ms,
            single.events_per_sec,
            single.p50_ms,
            single.p99_ms,
            grouped.events_per_sec / single.events_per_sec
        );
    }
    println!(
        "  plan and diff (bench_bulk): {plan_rows} rows against {plan_levels} cached levels in {plan_s:.3} s (goal < 1 s: {})",
        if plan_s < 1.0 { "met" } else { "NOT met" }
    );
    let desktop = desktop_figures(&a.desktop);
    print_desktop(&desktop);

    let mut goals = goals(&workloads, bulk_apply_fraction, &intake);
    goals.extend(desktop_goals(&desktop));
    println!("\nGoals (Shelfsync)");
    for g in &goals {
        println!(
            "  {:<12} {:<55} {:<8} {}",
            g.workload,
            g.goal,
            match g.met {
                Some(true) => "met",
                Some(false) => "NOT met",
                None => "n/a",
            },
            g.evidence
        );
    }
    let all_met = goals.iter().all(|g| g.met != Some(false));
    println!(
        "overall: {}",
        if all_met {
            "every applicable goal met"
        } else {
            "not every goal met"
        }
    );
    if a.quick {
        println!(
            "(quick mode checks the harness: at these sizes the figures are dominated by latency and \
             polling, not by the bucket, and say little about the goals)"
        );
    }

    std::fs::create_dir_all(&a.out).expect("output directory");
    let out = std::fs::canonicalize(&a.out).unwrap_or_else(|_| a.out.clone());
    let report = json!({
        "plan": { "name": "standard", "maximum_available": maximum, "restore_rate": restore },
        "args": a,
        "workloads": workloads,
        "intake": intake,
        "earlier": {
            "plan_and_diff": { "rows": plan_rows, "levels": plan_levels, "seconds": plan_s, "goal_seconds": 1.0 },
            "desktop_memory_and_cold_start": desktop,
        },
        "goals": goals,
        "all_met": all_met,
        "run_seconds": begun.elapsed().as_secs_f64(),
    });
    let json_path = out.join("report.json");
    std::fs::write(
        &json_path,
        serde_json::to_string_pretty(&report).expect("json"),
    )
    .expect("write report.json");
    let svg_path = out.join("report.svg");
    let svg = chart(&workloads, &intake, maximum, restore);
    std::fs::write(&svg_path, &svg).expect("write report.svg");
    println!("\nwrote {} and {}", json_path.display(), svg_path.display());
    if a.publish {
        // The copies the README shows: the same chart, and the JSON with fewer samples a
        // client so that it stays small enough to keep in the repository.
        let published = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../tests/bench");
        std::fs::create_dir_all(&published).expect("tests/bench");
        let mut report = report;
        if let Some(all) = report["workloads"].as_array_mut() {
            for client in all.iter_mut().filter_map(|w| w["clients"].as_array_mut()) {
                for c in client.iter_mut() {
                    let samples: Vec<Sample> =
                        serde_json::from_value(c["samples"].take()).unwrap_or_default();
                    c["samples"] = json!(downsample(samples, 300));
                }
            }
        }
        let published = std::fs::canonicalize(&published).unwrap_or(published);
        let json_path = published.join("report.json");
        std::fs::write(
            &json_path,
            serde_json::to_string_pretty(&report).expect("json") + "\n",
        )
        .expect("write tests/bench/report.json");
        let svg_path = published.join("report.svg");
        std::fs::write(&svg_path, &svg).expect("write tests/bench/report.svg");
        println!("wrote {} and {}", json_path.display(), svg_path.display());
    }
    println!("({:.0} s in all)", begun.elapsed().as_secs_f64());
}
