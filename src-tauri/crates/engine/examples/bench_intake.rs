//! Benchmark: signed webhooks per second through the loopback listener into the durable
//! inbox, with the time to answer (p50/p99), beside two baselines measured in the same run on
//! the same disk:
//!
//! - a minimal listener that verifies the same signature and commits each event (with its
//!   processing job) in its own `synchronous=FULL` transaction before answering;
//! - the raw rate of single-row durable commits (`Database::record_webhook`, one event per
//!   transaction, no HTTP), the bound any one-commit-per-event design cannot pass.
//!
//! The listener groups the events that arrive while a commit is being synced into the next
//! transaction, so under concurrent deliveries it can pass the raw single-row rate while
//! still answering each request only after its event is on disk.
//!
//! Run: `cargo run --release -p shelfsync-engine --example bench_intake [-- --events 10000
//! --concurrency 32]`

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use base64::Engine as _;
use hmac::{Hmac, Mac};
use serde_json::json;
use shelfsync_engine::Cache;
use shelfsync_engine::intake::{
    InboxWriter, IntakeStats, JOB_WEBHOOK, Listener, ListenerConfig, verify,
};
use shelfsync_shopify::Secret;
use shelfsync_store::{Database, Durability, NewJob};

const SECRET: &str = "shpss_bench_app_secret";

fn arg(name: &str, default: usize) -> usize {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// One delivery as Shopify would send it: body and headers.
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
            let mut mac = Hmac::<sha2::Sha256>::new_from_slice(SECRET.as_bytes()).expect("key");
            mac.update(&body);
            let hmac =
                base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes());
            Delivery {
                body,
                headers: vec![
                    ("X-Shopify-Topic", "inventory_levels/update".into()),
                    ("X-Shopify-Hmac-Sha256", hmac),
                    ("X-Shopify-Shop-Domain", "bench.myshopify.com".into()),
                    ("X-Shopify-API-Version", "2026-07".into()),
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

struct Run {
    per_sec: f64,
    p50: Duration,
    p99: Duration,
}

/// Sends every delivery to `url` from `concurrency` clients; every answer must be 200.
async fn load(url: &str, all: Arc<Vec<Delivery>>, concurrency: usize) -> Run {
    let next = Arc::new(AtomicUsize::new(0));
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
        latencies.extend(t.await.expect("client task"));
    }
    let elapsed = started.elapsed();
    latencies.sort();
    let at = |q: f64| latencies[((latencies.len() - 1) as f64 * q) as usize];
    Run {
        per_sec: latencies.len() as f64 / elapsed.as_secs_f64(),
        p50: at(0.50),
        p99: at(0.99),
    }
}

/// The minimal listener: verify, then one durable transaction per event, then 200.
async fn one_commit_per_event(
    State(cache): State<Cache>,
    headers: HeaderMap,
    body: Bytes,
) -> StatusCode {
    let keys = [Secret::new(SECRET)];
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

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

#[tokio::main(flavor = "multi_thread")]
async fn main() {
    let events = arg("--events", 10_000);
    let concurrency = arg("--concurrency", 32);
    let all = Arc::new(deliveries(events));
    // A temporary directory; set TMPDIR to measure another disk.
    let dir = tempfile::tempdir_in(std::env::temp_dir()).expect("temp dir");
    println!(
        "{events} signed inventory_levels/update webhooks, {concurrency} concurrent senders, SQLite in {}",
        dir.path().display()
    );

    // 1. Shelfsync's listener: grouped durable commits.
    let cache = Cache::open(dir.path().join("listener.db"))
        .await
        .expect("cache");
    let inbox = InboxWriter::start(cache.clone(), Arc::new(|| {}));
    let listener = Listener::start(
        ListenerConfig {
            port: 0,
            keys: vec![Secret::new(SECRET)],
            shop_domain: None,
            max_body_bytes: 1 << 20,
        },
        inbox,
        IntakeStats::default(),
    )
    .await
    .expect("listener");
    let url = format!("http://{}/webhooks", listener.local_addr());
    let grouped = load(&url, all.clone(), concurrency).await;
    listener.stop().await;
    let stored = cache.read(|r| r.inbox_counts()).await.expect("count").total;
    assert_eq!(stored as usize, events, "every event stored once");

    // 2. The minimal one-commit-per-event listener, same load.
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
    let single = load(&url, all.clone(), concurrency).await;
    server.abort();

    // 3. Raw single-row durable commits, no HTTP, no job.
    let raw_events = events.min(3_000);
    let raw_per_sec = {
        let mut db = Database::open(dir.path().join("raw.db")).expect("db");
        let keys = [Secret::new(SECRET)];
        let parsed: Vec<_> = all[..raw_events]
            .iter()
            .map(|d| {
                let mut headers = HeaderMap::new();
                for (name, value) in &d.headers {
                    headers.insert(*name, value.parse().expect("header"));
                }
                verify::verify(&keys, None, &headers, &d.body).expect("signed")
            })
            .collect();
        let started = Instant::now();
        for event in &parsed {
            db.record_webhook(event).expect("commit");
        }
        raw_events as f64 / started.elapsed().as_secs_f64()
    };

    println!(
        "listener (grouped commits):      {:>8.0} events/s   p50 {:>6.2} ms   p99 {:>6.2} ms",
        grouped.per_sec,
        ms(grouped.p50),
        ms(grouped.p99)
    );
    println!(
        "baseline (one commit per event): {:>8.0} events/s   p50 {:>6.2} ms   p99 {:>6.2} ms",
        single.per_sec,
        ms(single.p50),
        ms(single.p99)
    );
    println!(
        "raw single-row FULL commits:     {:>8.0} commits/s ({raw_events} sequential, no HTTP)",
        raw_per_sec
    );
    println!(
        "ratio listener / one-commit-per-event: {:.2}x;  listener / raw single-row commits: {:.2}x",
        grouped.per_sec / single.per_sec,
        grouped.per_sec / raw_per_sec
    );
}
