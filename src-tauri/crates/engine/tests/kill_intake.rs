//! A listener killed with SIGKILL while deliveries pour in loses no event it answered `200`.
//!
//! The listener runs in a child process (this same test binary, re-run with `--exact
//! child_listener`); the parent sends signed deliveries from many connections at once, notes
//! every `200`, kills the child mid-stream, then opens the database as the restarted app
//! would: every acknowledged event is in the inbox, each with the job that will apply it.

use std::collections::HashSet;
use std::io::BufRead;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::Engine as _;
use hmac::{Hmac, Mac};
use shelfsync_engine::Cache;
use shelfsync_engine::intake::{InboxWriter, IntakeStats, JOB_WEBHOOK, Listener, ListenerConfig};
use shelfsync_shopify::Secret;
use shelfsync_store::{JobState, Reader};

const SECRET: &str = "shpss_kill_test_secret";

/// The child: listens until killed. Does nothing when run without the parent's variables.
#[tokio::test(flavor = "multi_thread")]
#[ignore = "run only as a child of the kill test"]
async fn child_listener() {
    let (Ok(db), Ok(port)) = (std::env::var("KILL_DB"), std::env::var("KILL_PORT")) else {
        return;
    };
    let cache = Cache::open(&db).await.unwrap();
    let inbox = InboxWriter::start(cache, Arc::new(|| {}));
    let listener = Listener::start(
        ListenerConfig {
            port: port.parse().unwrap(),
            keys: vec![Secret::new(SECRET)],
            shop_domain: None,
            max_body_bytes: 1 << 20,
        },
        inbox,
        IntakeStats::default(),
    )
    .await
    .unwrap();
    println!("CHILD-LISTENING {}", listener.local_addr());
    std::future::pending::<()>().await;
}

fn delivery(i: usize) -> (String, Vec<u8>, String) {
    let event_id = format!("7a1e0000-0000-4000-8000-{i:012}");
    let body = format!(
        r#"{{"inventory_item_id":{},"location_id":24826418,"available":{},"updated_at":"2026-11-24T07:00:00-05:00"}}"#,
        271_878_346_596_884_015_i64 + i as i64,
        i % 50
    )
    .into_bytes();
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(SECRET.as_bytes()).unwrap();
    mac.update(&body);
    let hmac = base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes());
    (event_id, body, hmac)
}

#[tokio::test(flavor = "multi_thread")]
async fn a_kill_during_intake_loses_no_acknowledged_event() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("store.db");
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "child_listener",
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .env("KILL_DB", &db)
        .env("KILL_PORT", port.to_string())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = std::io::BufReader::new(child.stdout.take().unwrap()).lines();
    loop {
        let line = lines.next().expect("the child starts").unwrap();
        if line.contains("CHILD-LISTENING") {
            break;
        }
    }

    let total = 20_000;
    let acked = Arc::new(Mutex::new(Vec::new()));
    let next = Arc::new(AtomicUsize::new(0));
    let dead = Arc::new(AtomicBool::new(false));
    let client = reqwest::Client::new();
    let url = format!("http://127.0.0.1:{port}/webhooks");
    let mut senders = Vec::new();
    for _ in 0..16 {
        let (acked, next, dead, client, url) = (
            acked.clone(),
            next.clone(),
            dead.clone(),
            client.clone(),
            url.clone(),
        );
        senders.push(tokio::spawn(async move {
            while !dead.load(Ordering::SeqCst) {
                let i = next.fetch_add(1, Ordering::SeqCst);
                if i >= total {
                    return;
                }
                let (event_id, body, hmac) = delivery(i);
                let answer = client
                    .post(&url)
                    .header("X-Shopify-Topic", "inventory_levels/update")
                    .header("X-Shopify-Hmac-Sha256", hmac)
                    .header("X-Shopify-Shop-Domain", "kill.myshopify.com")
                    .header("X-Shopify-API-Version", "2026-07")
                    .header("X-Shopify-Webhook-Id", format!("w-{event_id}"))
                    .header("X-Shopify-Event-Id", &event_id)
                    .body(body)
                    .send()
                    .await;
                if let Ok(r) = answer
                    && r.status() == 200
                {
                    acked.lock().unwrap().push(event_id);
                }
            }
        }));
    }
    // Kill once a good number of events were acknowledged, while the rest are in flight.
    let started = std::time::Instant::now();
    while acked.lock().unwrap().len() < 500 && started.elapsed() < Duration::from_secs(60) {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    child.kill().unwrap(); // SIGKILL: no destructor, no flush.
    child.wait().unwrap();
    dead.store(true, Ordering::SeqCst);
    for s in senders {
        s.await.unwrap();
    }
    let acked: HashSet<String> = acked.lock().unwrap().iter().cloned().collect();
    let sent = next.load(Ordering::SeqCst).min(total);
    assert!(acked.len() >= 500, "{} acknowledged", acked.len());
    assert!(sent < total, "the kill landed mid-stream ({sent} sent)");

    let reader = Reader::open(&db).unwrap();
    let stored: HashSet<String> = reader
        .unprocessed_webhooks(u32::MAX)
        .unwrap()
        .into_iter()
        .map(|w| w.event.event_id)
        .collect();
    let lost: Vec<_> = acked.difference(&stored).collect();
    assert!(
        lost.is_empty(),
        "{} acknowledged events lost: {lost:?}",
        lost.len()
    );
    // Each stored event came with its job, in the same transaction.
    let jobs = reader.jobs_in_state(JobState::Pending, u32::MAX).unwrap();
    assert_eq!(jobs.len(), stored.len());
    assert!(jobs.iter().all(|j| j.kind == JOB_WEBHOOK));
    println!(
        "{sent} sent, {} acknowledged, {} stored (events stored but not yet answered are fine)",
        acked.len(),
        stored.len()
    );
}
