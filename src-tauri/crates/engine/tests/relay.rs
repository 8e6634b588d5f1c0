//! The cloud relay end to end, on loopback: the simulator delivers `arn:aws:events:…`
//! subscriptions with `PutEvents` to a real EventBridge (moto), a rule on
//! `detail.metadata.X-Shopify-Topic` forwards them to a real SQS queue, and the engine's
//! [`Relay`] consumes that queue into the SQLite inbox.
//!
//! The engine's own intake runs the relay beside the loopback listener: both commit through
//! one inbox writer, so the same event arriving both ways is stored and applied once, and a
//! relayed stock edit reaches the cache with no poll.
//!
//! Needs moto: ignored by a plain `cargo test`, run by `.ci/test` (which installs it) with
//! `--include-ignored`; without moto these tests fail, they never pass silently.

mod common;

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::moto::{
    self, Moto, RelayQueue, depth, event_source_arn, relay_credentials, relay_settings, sqs,
    wait_empty,
};
use common::{connect_with_client_credentials, mock_keychain, wait_status};
use serde_json::{Value, json};
use shelfsync_engine::intake::trial::TEST_TOPIC;
use shelfsync_engine::intake::{InboxWriter, IntakeStats, JOB_WEBHOOK, PathStats, TOPICS};
use shelfsync_engine::relay::Handled;
use shelfsync_engine::{
    Cache, Engine, EngineConfig, EngineEvent, Events, IntakeConfig, IntakeError, IntakePath,
    IntakeStatus, Keychain, Relay, RelayRetrySchedule, RelaySettings, RelayState, StoreKey,
    SyncKind,
};
use shelfsync_shopify::Clock;
use shelfsync_store::{JobState, Reader, Recorded, Source, StoredWebhook};
use shopify_sim::webhooks::eventbridge::EventBridgeTarget;
use shopify_sim::{RunningSim, SimConfig};
use tokio_util::sync::CancellationToken;

const TOPIC: &str = "inventory_levels/update";

const CREATE: &str = r#"mutation Create($topic: WebhookSubscriptionTopic!, $sub: WebhookSubscriptionInput!) {
  webhookSubscriptionCreate(topic: $topic, webhookSubscription: $sub) {
    webhookSubscription { id }
    userErrors { field message }
  }
}"#;

fn target(moto: &Moto) -> EventBridgeTarget {
    EventBridgeTarget {
        endpoint_url: moto.endpoint.clone(),
        region: moto::REGION.into(),
        event_bus_name: moto::BUS.into(),
        access_key_id: moto::KEY_ID.into(),
        secret_access_key: moto::SECRET_KEY.into(),
    }
}

async fn sim_delivering_to(moto: &Moto) -> RunningSim {
    shopify_sim::start(SimConfig {
        products: 5,
        eventbridge: Some(target(moto)),
        ..SimConfig::default()
    })
    .await
    .unwrap()
}

async fn subscribe(sim: &RunningSim, uri: &str) {
    shopify_schema::validate(CREATE).expect("valid against Admin 2026-07");
    let answer: Value = reqwest::Client::new()
        .post(&sim.info.graphql_url)
        .header(
            "X-Shopify-Access-Token",
            sim.info.admin_token.clone().unwrap(),
        )
        .json(&json!({ "query": CREATE, "variables": {
            "topic": "INVENTORY_LEVELS_UPDATE", "sub": { "uri": uri } } }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        answer["data"]["webhookSubscriptionCreate"]["userErrors"],
        json!([]),
        "{answer}"
    );
}

/// Changes the stock of the `n`-th level: one `inventory_levels/update` event.
async fn edit_stock(sim: &RunningSim, n: usize) {
    let (item, location) = {
        let store = sim.state.read_store();
        let item = store
            .inventory_items
            .values()
            .nth(n % store.inventory_items.len())
            .unwrap();
        (item.id, *item.levels.keys().next().unwrap())
    };
    let r = reqwest::Client::new()
        .post(format!("{}/_sim/inventory", sim.info.base_url))
        .json(&json!({ "inventory_item_id": item, "location_id": location, "name": "available", "delta": -1 }))
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success());
}

/// The simulator's delivery log.
async fn deliveries(sim: &RunningSim) -> Vec<Value> {
    let log: Value = reqwest::get(format!("{}/_sim/webhooks/deliveries", sim.info.base_url))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    log["deliveries"].as_array().unwrap().clone()
}

async fn wait_delivered(sim: &RunningSim, count: usize) -> Vec<Value> {
    let started = Instant::now();
    loop {
        let log = deliveries(sim).await;
        let delivered: Vec<Value> = log
            .iter()
            .filter(|d| d["outcome"] == "delivered")
            .cloned()
            .collect();
        if delivered.len() >= count {
            return delivered;
        }
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "only {} of {count} delivered: {log:#?}",
            delivered.len()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// A relay on `queue` committing into a new cache in a temporary directory (kept alive by
/// the returned `TempDir`), with its own counters.
async fn relay_over_new_cache(
    moto: &Moto,
    queue: &RelayQueue,
) -> (tempfile::TempDir, Cache, IntakeStats, Relay) {
    let dir = tempfile::tempdir().unwrap();
    let cache = Cache::open(dir.path().join("store.sqlite")).await.unwrap();
    let stats = IntakeStats::default();
    let relay = Relay::new(
        relay_settings(moto, queue),
        &relay_credentials(),
        inbox_writer(&cache),
        stats.clone(),
        Events::new(),
    )
    .unwrap();
    (dir, cache, stats, relay)
}

/// The inbox writer the engine's intake uses, over `cache`, with no work queue behind it:
/// the events stay in the inbox for the test to read.
fn inbox_writer(cache: &Cache) -> InboxWriter {
    InboxWriter::start(cache.clone(), Arc::new(|| {}))
}

/// The relay's counters (zero before its first message).
fn relay_stats(stats: &IntakeStats) -> PathStats {
    stats
        .snapshot()
        .into_iter()
        .find(|p| p.path == IntakePath::Relay)
        .unwrap_or(PathStats {
            path: IntakePath::Relay,
            accepted: 0,
            duplicates: 0,
            refused_forged: 0,
            refused_malformed: 0,
            refused_oversized: 0,
            store_failures: 0,
            last_event_at: None,
        })
}

fn inbox(cache: &Cache) -> Vec<StoredWebhook> {
    inbox_at(cache.path())
}

fn inbox_at(db: &std::path::Path) -> Vec<StoredWebhook> {
    Reader::open(db)
        .unwrap()
        .unprocessed_webhooks(10_000)
        .unwrap()
}

async fn wait_inbox(cache: &Cache, count: usize, within: Duration) -> Vec<StoredWebhook> {
    let started = Instant::now();
    loop {
        let rows = inbox(cache);
        if rows.len() >= count {
            return rows;
        }
        assert!(
            started.elapsed() < within,
            "inbox has {} of {count} events",
            rows.len()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

struct Running {
    stop: CancellationToken,
    task: tokio::task::JoinHandle<()>,
}

fn run(relay: &Relay) -> Running {
    let stop = CancellationToken::new();
    let relay = relay.clone();
    let token = stop.clone();
    let task = tokio::spawn(async move { relay.run(token).await });
    Running { stop, task }
}

impl Running {
    async fn stop(self) {
        self.stop.cancel();
        self.task.await.unwrap();
    }
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "needs moto: run through .ci/test"]
async fn a_store_event_reaches_the_inbox_through_eventbridge_and_sqs() {
    let moto = Moto::start();
    let queue = moto.set_up_relay("shop-events", 30, 5, &[TOPIC]);
    let sim = sim_delivering_to(&moto).await;
    subscribe(&sim, &event_source_arn(&sim)).await;
    let (_dir, cache, stats, relay) = relay_over_new_cache(&moto, &queue).await;
    let running = run(&relay);

    edit_stock(&sim, 0).await;
    let delivered = wait_delivered(&sim, 1).await;
    let rows = wait_inbox(&cache, 1, Duration::from_secs(15)).await;
    // Deleted after the commit.
    wait_empty(&moto, &queue.queue_url).await;
    running.stop().await;

    assert_eq!(rows.len(), 1);
    let event = &rows[0].event;
    assert_eq!(event.topic, TOPIC);
    assert_eq!(event.shop_domain, sim.info.shop_domain);
    assert_eq!(event.event_id, delivered[0]["event_id"].as_str().unwrap());
    assert_eq!(
        event.webhook_id.as_deref(),
        delivered[0]["webhook_id"].as_str()
    );
    assert!(event.triggered_at.is_some());
    // The payload is the HTTPS body, as JSON text: integer ids, not floats.
    let body: Value = serde_json::from_slice(&event.body).unwrap();
    assert!(body["inventory_item_id"].is_u64(), "{body}");
    assert!(body["available"].is_i64(), "{body}");
    let counts = relay_stats(&stats);
    assert_eq!((counts.accepted, counts.duplicates), (1, 0));
    assert!(counts.last_event_at.is_some());
    sim.stop().await;
}

/// The child: receives (and with `RELAY_CHILD_COMMIT`, commits) one message, says so, and
/// waits to be killed. Does nothing when run without the parent's variables.
#[tokio::test(flavor = "multi_thread")]
#[ignore = "run only as a child of the kill test"]
async fn child_relay() {
    let (Ok(endpoint), Ok(queue_url), Ok(db)) = (
        std::env::var("RELAY_CHILD_ENDPOINT"),
        std::env::var("RELAY_CHILD_QUEUE"),
        std::env::var("RELAY_CHILD_DB"),
    ) else {
        return;
    };
    let cache = Cache::open(&db).await.unwrap();
    let inbox = inbox_writer(&cache);
    let relay = Relay::new(
        RelaySettings {
            endpoint_url: Some(endpoint),
            wait_time: Duration::from_secs(5),
            max_messages: 1,
            ..RelaySettings::new(queue_url, moto::REGION)
        },
        &relay_credentials(),
        inbox.clone(),
        IntakeStats::default(),
        Events::new(),
    )
    .unwrap();
    let messages = relay.receive().await.unwrap();
    assert_eq!(messages.len(), 1);
    if std::env::var("RELAY_CHILD_COMMIT").is_ok() {
        let event = shelfsync_engine::relay::decode(&messages[0].body).unwrap();
        let recorded = inbox.commit(event).await.unwrap();
        assert!(matches!(recorded, Recorded::New(_)));
        println!("CHILD-COMMITTED");
    } else {
        println!("CHILD-RECEIVED");
    }
    tokio::time::sleep(Duration::from_secs(120)).await;
}

/// Runs the child until it prints `marker`, then kills it with SIGKILL.
fn child_until(moto: &Moto, queue: &RelayQueue, db: &std::path::Path, commit: bool, marker: &str) {
    let mut command = Command::new(std::env::current_exe().unwrap());
    command
        .args(["--exact", "child_relay", "--include-ignored", "--nocapture"])
        .env("RELAY_CHILD_ENDPOINT", &moto.endpoint)
        .env("RELAY_CHILD_QUEUE", &queue.queue_url)
        .env("RELAY_CHILD_DB", db)
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
    if commit {
        command.env("RELAY_CHILD_COMMIT", "1");
    }
    let mut child = command.spawn().unwrap();
    let stdout = child.stdout.take().unwrap();
    let mut seen = false;
    for line in BufReader::new(stdout).lines().map_while(Result::ok) {
        if line.contains(marker) {
            seen = true;
            break;
        }
    }
    // Child::kill sends SIGKILL on Unix: no destructor, no delete, no clean shutdown.
    let _ = child.kill();
    let _ = child.wait();
    assert!(seen, "the child never printed {marker}");
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "needs moto: run through .ci/test"]
async fn a_message_is_deleted_only_after_its_commit() {
    let moto = Moto::start();
    // Two seconds of visibility: a message received by a killed consumer comes back quickly.
    let queue = moto.set_up_relay("shop-events", 2, 10, &[TOPIC]);
    let sim = sim_delivering_to(&moto).await;
    subscribe(&sim, &event_source_arn(&sim)).await;
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("store.sqlite");

    // Killed between receive and commit: nothing stored, the message comes back.
    edit_stock(&sim, 0).await;
    wait_delivered(&sim, 1).await;
    child_until(&moto, &queue, &db, false, "CHILD-RECEIVED");
    assert!(inbox_at(&db).is_empty());
    assert_eq!(
        depth(&moto, &queue.queue_url).await,
        1,
        "still in the queue"
    );

    // Killed between commit and delete: stored, and the message still comes back.
    edit_stock(&sim, 1).await;
    wait_delivered(&sim, 2).await;
    // Wait out the first message's visibility so the child takes the second one... or the
    // first: either way the child commits exactly one event and dies before deleting.
    tokio::time::sleep(Duration::from_millis(2500)).await;
    child_until(&moto, &queue, &db, true, "CHILD-COMMITTED");
    assert_eq!(inbox_at(&db).len(), 1);
    assert_eq!(depth(&moto, &queue.queue_url).await, 2, "both still queued");

    // The restarted relay gets both after their visibility timeouts: each stored once.
    let cache = Cache::open(&db).await.unwrap();
    let stats = IntakeStats::default();
    let relay = Relay::new(
        relay_settings(&moto, &queue),
        &relay_credentials(),
        inbox_writer(&cache),
        stats.clone(),
        Events::new(),
    )
    .unwrap();
    let running = run(&relay);
    let started = Instant::now();
    while depth(&moto, &queue.queue_url).await > 0 {
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "queue never drained"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    running.stop().await;
    let rows = inbox(&cache);
    let ids: BTreeSet<&str> = rows.iter().map(|r| r.event.event_id.as_str()).collect();
    assert_eq!((rows.len(), ids.len()), (2, 2), "each event stored once");
    let counts = relay_stats(&stats);
    assert_eq!((counts.accepted, counts.duplicates), (1, 1));
    sim.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "needs moto: run through .ci/test"]
async fn events_sent_while_the_engine_was_off_are_all_consumed_at_start() {
    let moto = Moto::start();
    let queue = moto.set_up_relay("shop-events", 30, 5, &[TOPIC]);
    let sim = sim_delivering_to(&moto).await;
    subscribe(&sim, &event_source_arn(&sim)).await;
    // The laptop sleeps: the store changes, Shopify delivers, the queue holds everything.
    for n in 0..12 {
        edit_stock(&sim, n).await;
    }
    let delivered = wait_delivered(&sim, 12).await;
    assert_eq!(depth(&moto, &queue.queue_url).await, 12);

    let dir = tempfile::tempdir().unwrap();
    let cache = Cache::open(dir.path().join("store.sqlite")).await.unwrap();
    let relay = Relay::new(
        relay_settings(&moto, &queue),
        &relay_credentials(),
        inbox_writer(&cache),
        IntakeStats::default(),
        Events::new(),
    )
    .unwrap();
    let running = run(&relay);
    let rows = wait_inbox(&cache, 12, Duration::from_secs(20)).await;
    let stored: BTreeSet<String> = rows.iter().map(|r| r.event.event_id.clone()).collect();
    let sent: BTreeSet<String> = delivered
        .iter()
        .map(|d| d["event_id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(stored, sent);
    wait_empty(&moto, &queue.queue_url).await;
    running.stop().await;
    sim.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "needs moto: run through .ci/test"]
async fn a_malformed_message_does_not_poison_the_queue() {
    let moto = Moto::start();
    let queue = moto.set_up_relay("shop-events", 30, 2, &[TOPIC]);
    let sim = sim_delivering_to(&moto).await;
    subscribe(&sim, &event_source_arn(&sim)).await;
    // Something that is not a Shopify event lands in the queue first.
    sqs(&moto)
        .send_message()
        .queue_url(&queue.queue_url)
        .message_body(r#"{"detail-type":"Scheduled Event","source":"aws.events","detail":{}}"#)
        .send()
        .await
        .unwrap();
    edit_stock(&sim, 0).await;
    edit_stock(&sim, 1).await;
    wait_delivered(&sim, 2).await;

    let (_dir, cache, stats, relay) = relay_over_new_cache(&moto, &queue).await;
    let running = run(&relay);
    let rows = wait_inbox(&cache, 2, Duration::from_secs(20)).await;
    // The malformed message is received again after its hold, then the queue's redrive
    // policy (two receives) moves it to the dead-letter queue.
    let started = Instant::now();
    while depth(&moto, &queue.dead_letter_url).await == 0 {
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "never moved to the dead-letter queue"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    running.stop().await;
    assert_eq!(
        rows.len(),
        2,
        "the good events are stored, the bad one is not"
    );
    assert!(rows.iter().all(|r| r.event.topic == TOPIC));
    assert!(relay_stats(&stats).refused_malformed >= 1);
    assert_eq!(depth(&moto, &queue.queue_url).await, 0);
    sim.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "needs moto: run through .ci/test"]
async fn an_unreachable_relay_is_announced_and_retried_until_it_answers() {
    // Nothing listens on the port yet: the relay is unreachable.
    let port = moto::free_port();
    let endpoint = format!("http://127.0.0.1:{port}");
    let queue_url = format!("{endpoint}/123456789012/shop-events");
    let dir = tempfile::tempdir().unwrap();
    let cache = Cache::open(dir.path().join("store.sqlite")).await.unwrap();
    let events = Events::new();
    let mut rx = events.subscribe();
    let relay = Relay::new(
        RelaySettings {
            endpoint_url: Some(endpoint.clone()),
            wait_time: Duration::from_secs(1),
            retry: RelayRetrySchedule {
                steps: vec![Duration::from_millis(100), Duration::from_millis(300)],
            },
            ..RelaySettings::new(queue_url.clone(), moto::REGION)
        },
        &relay_credentials(),
        inbox_writer(&cache),
        IntakeStats::default(),
        events.clone(),
    )
    .unwrap();
    let running = run(&relay);
    let mut failures = Vec::new();
    while failures.len() < 3 {
        let event = tokio::time::timeout(Duration::from_secs(10), rx.recv())
            .await
            .expect("an event")
            .unwrap();
        if let EngineEvent::Relay {
            relay:
                RelayState::Unreachable {
                    failures: n,
                    retry_in_ms,
                    error,
                },
        } = event
        {
            assert!(!error.contains(moto::SECRET_KEY));
            failures.push((n, retry_in_ms));
        }
    }
    // The schedule, as data: 100 ms, then 300 ms from then on.
    assert_eq!(failures, vec![(1, 100), (2, 300), (3, 300)]);

    // The relay comes back (moto on that port, with the queue): announced, and events flow.
    let moto = Moto::start_on(port);
    let queue = moto.set_up_relay("shop-events", 30, 5, &[TOPIC]);
    assert_eq!(queue.queue_url, queue_url);
    let restored = tokio::time::timeout(Duration::from_secs(15), async {
        loop {
            if let Ok(EngineEvent::Relay {
                relay: RelayState::Reachable,
            }) = rx.recv().await
            {
                return;
            }
        }
    })
    .await;
    assert!(restored.is_ok(), "no Reachable event");
    let sim = sim_delivering_to(&moto).await;
    subscribe(&sim, &event_source_arn(&sim)).await;
    edit_stock(&sim, 0).await;
    wait_inbox(&cache, 1, Duration::from_secs(15)).await;
    running.stop().await;
    assert!(relay.health().failed_polls >= 3);
    assert_eq!(relay.health().state, Some(RelayState::Reachable));
    sim.stop().await;
}

/// One poll handles what is there and reports it: proof that `handle` commits before it
/// deletes (a duplicate commit is reported as such).
#[tokio::test(flavor = "multi_thread")]
#[ignore = "needs moto: run through .ci/test"]
async fn a_redelivered_event_is_a_duplicate_no_op() {
    let moto = Moto::start();
    let queue = moto.set_up_relay("shop-events", 30, 5, &[TOPIC]);
    let sim = sim_delivering_to(&moto).await;
    subscribe(&sim, &event_source_arn(&sim)).await;
    edit_stock(&sim, 0).await;
    wait_delivered(&sim, 1).await;
    // Copy the message so the same event arrives twice, as Shopify's at-least-once allows.
    let client = sqs(&moto);
    let first = client
        .receive_message()
        .queue_url(&queue.queue_url)
        .wait_time_seconds(1)
        .visibility_timeout(0)
        .send()
        .await
        .unwrap();
    let body = first.messages()[0].body().unwrap().to_owned();
    client
        .send_message()
        .queue_url(&queue.queue_url)
        .message_body(body)
        .send()
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let cache = Cache::open(dir.path().join("store.sqlite")).await.unwrap();
    let relay = Relay::new(
        relay_settings(&moto, &queue),
        &relay_credentials(),
        inbox_writer(&cache),
        IntakeStats::default(),
        Events::new(),
    )
    .unwrap();
    let mut handled = Vec::new();
    let started = Instant::now();
    while handled.len() < 2 {
        assert!(started.elapsed() < Duration::from_secs(15));
        handled.extend(relay.poll_once().await.unwrap());
    }
    let new = handled
        .iter()
        .filter(|h| matches!(h, Handled::Stored(Recorded::New(_))))
        .count();
    let dup = handled
        .iter()
        .filter(|h| matches!(h, Handled::Stored(Recorded::Duplicate(_))))
        .count();
    assert_eq!((new, dup), (1, 1));
    assert_eq!(inbox(&cache).len(), 1);
    assert_eq!(depth(&moto, &queue.queue_url).await, 0);
    sim.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "needs moto: run through .ci/test"]
async fn duplicated_and_reordered_eventbridge_deliveries_are_stored_once_each() {
    let moto = Moto::start();
    let queue = moto.set_up_relay("shop-events", 30, 5, &[TOPIC]);
    let sim = sim_delivering_to(&moto).await;
    let faults = reqwest::Client::new()
        .post(format!("{}/_sim/faults", sim.info.base_url))
        .json(
            &json!({ "webhook_duplicate_rate": 1.0, "webhook_reorder_rate": 0.5,
            "webhook_reorder_seconds": 1 }),
        )
        .send()
        .await
        .unwrap();
    assert!(faults.status().is_success());
    subscribe(&sim, &event_source_arn(&sim)).await;
    let (_dir, cache, stats, relay) = relay_over_new_cache(&moto, &queue).await;
    let running = run(&relay);
    for n in 0..6 {
        edit_stock(&sim, n).await;
    }
    // Every event twice: twelve PutEvents, each with its own Webhook-Id and a shared Event-Id.
    let delivered = wait_delivered(&sim, 12).await;
    let started = Instant::now();
    while relay_stats(&stats).duplicates < 6 {
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "{:?}",
            stats.snapshot()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    running.stop().await;
    let rows = inbox(&cache);
    let sent: BTreeSet<&str> = delivered
        .iter()
        .map(|d| d["event_id"].as_str().unwrap())
        .collect();
    let stored: BTreeSet<&str> = rows.iter().map(|r| r.event.event_id.as_str()).collect();
    assert_eq!((rows.len(), sent.len()), (6, 6));
    assert_eq!(stored, sent);
    assert_eq!(relay_stats(&stats).accepted, 6);
    sim.stop().await;
}

/// An engine connected to `sim` with client credentials and fully synced (the last read
/// before the events under test), with the relay's AWS key in its keychain.
async fn connected_engine(sim: &RunningSim, dir: &std::path::Path) -> Arc<Engine> {
    let (engine, keychain) = engine_connected_to(sim, dir).await;
    engine.sync(SyncKind::Full).await.unwrap();
    let address = engine.profile().unwrap().address;
    relay_credentials()
        .save(&keychain, &StoreKey::new(&address))
        .await
        .unwrap();
    engine
}

/// An engine connected to `sim` with client credentials, nothing synced and no relay key,
/// with the keychain it keeps its secrets in.
async fn engine_connected_to(sim: &RunningSim, dir: &std::path::Path) -> (Arc<Engine>, Keychain) {
    let keychain = mock_keychain();
    let engine = Arc::new(Engine::new(EngineConfig {
        data_dir: dir.to_path_buf(),
        keychain: keychain.clone(),
        clock: Clock::real(),
    }));
    connect_with_client_credentials(&engine, sim).await;
    (engine, keychain)
}

fn path(status: &IntakeStatus, path: IntakePath) -> Option<&PathStats> {
    status.paths.iter().find(|p| p.path == path)
}

/// The level `edit_stock(sim, n)` changes: (inventory item, location, variant).
fn level(sim: &RunningSim, n: usize) -> (u64, u64, u64) {
    let store = sim.state.read_store();
    let item = store
        .inventory_items
        .values()
        .nth(n % store.inventory_items.len())
        .unwrap();
    let variant = store
        .variants
        .values()
        .find(|v| v.inventory_item_id == item.id)
        .unwrap();
    (item.id, *item.levels.keys().next().unwrap(), variant.id)
}

/// Waits until the cache's `available` of the `n`-th level equals the simulator's, and
/// returns where the cached value came from.
async fn wait_level_applied(engine: &Engine, sim: &RunningSim, n: usize) -> Source {
    let (item, location, variant) = level(sim, n);
    let want = sim.state.read_store().inventory_items[&item].levels[&location].quantities
        [shopify_sim::store::AVAILABLE];
    let reader = Reader::open(engine.cache().unwrap().path()).unwrap();
    let started = Instant::now();
    loop {
        let cached = reader
            .levels_for_variant(variant as i64)
            .unwrap()
            .into_iter()
            .find(|l| l.level.location_id == location as i64)
            .unwrap();
        if cached.level.quantities.available == Some(want) {
            return cached.source;
        }
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "available of {item}@{location}: cache {:?}, store {want}",
            cached.level.quantities.available
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "needs moto: run through .ci/test"]
async fn the_same_event_through_listener_and_relay_is_stored_once_and_applied_once() {
    let moto = Moto::start();
    // The owner's rule also lets the test event ("Send test webhook") through.
    let queue = moto.set_up_relay("shop-events", 30, 5, &[TOPIC, TEST_TOPIC]);
    let sim = sim_delivering_to(&moto).await;
    let dir = tempfile::tempdir().unwrap();
    let engine = connected_engine(&sim, dir.path()).await;
    let port = moto::free_port();
    let tunnel: Value = reqwest::Client::new()
        .post(format!("{}/_sim/tunnels", sim.info.base_url))
        .json(&json!({ "target": format!("http://127.0.0.1:{port}") }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let public_url = format!("{}/webhooks", tunnel["public_url"].as_str().unwrap());
    let addr = engine
        .start_intake(IntakeConfig {
            port,
            public_url: Some(public_url.clone()),
            relay: Some(relay_settings(&moto, &queue)),
            relay_event_source: Some(event_source_arn(&sim)),
            check_subscriptions_every: Duration::from_millis(200),
            ..IntakeConfig::default()
        })
        .await
        .unwrap();
    assert_eq!(addr.map(|a| a.port()), Some(port));
    // Every topic subscribed at both addresses, by the engine.
    wait_status(&engine, 15, "subscriptions at both addresses", |s| {
        s.subscriptions.len() == 2 * TOPICS.len() && s.subscriptions.iter().all(|h| h.present)
    })
    .await;

    for n in 0..5 {
        edit_stock(&sim, n).await;
    }
    // Each event once per address, with one Event-Id.
    wait_delivered(&sim, 10).await;
    let status = wait_status(&engine, 20, "five deliveries on each path", |s| {
        let seen = |p| path(s, p).map_or(0, |p| p.accepted + p.duplicates);
        seen(IntakePath::Listener) == 5 && seen(IntakePath::Relay) == 5
    })
    .await;
    let (listener, relay) = (
        path(&status, IntakePath::Listener).unwrap(),
        path(&status, IntakePath::Relay).unwrap(),
    );
    assert_eq!(listener.accepted + relay.accepted, 5, "{status:#?}");
    assert_eq!(listener.duplicates + relay.duplicates, 5, "{status:#?}");
    for n in 0..5 {
        assert_eq!(wait_level_applied(&engine, &sim, n).await, Source::Webhook);
    }
    wait_status(&engine, 10, "inbox applied", |s| {
        s.inbox.as_ref().is_some_and(|i| i.unprocessed == 0)
    })
    .await;
    let reader = Reader::open(engine.cache().unwrap().path()).unwrap();
    assert_eq!(
        reader.inbox_counts().unwrap().total,
        5,
        "each event stored once"
    );
    let done = reader.jobs_in_state(JobState::Done, 1000).unwrap();
    let applied = done.iter().filter(|j| j.kind == JOB_WEBHOOK).count();
    assert_eq!(applied, 5, "each event applied once: {done:?}");
    assert_eq!(depth(&moto, &queue.queue_url).await, 0);

    // "Send test webhook": the store fires a signed sample at each address, and the report
    // says which path it came through.
    let report = engine
        .send_test_webhook(Duration::from_secs(20))
        .await
        .unwrap();
    let paths: Vec<_> = report.deliveries.iter().map(|d| d.path).collect();
    assert_eq!(paths, [IntakePath::Listener, IntakePath::Relay]);
    for d in &report.deliveries {
        assert!(d.sent && d.arrived, "{d:?}");
        assert!(d.after_ms.is_some() && d.detail.is_none(), "{d:?}");
    }
    assert_eq!(report.deliveries[0].address, public_url);
    assert_eq!(report.deliveries[1].address, event_source_arn(&sim));
    assert_eq!(reader.inbox_counts().unwrap().total, 7);
    engine.shutdown().await;
    sim.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "needs moto: run through .ci/test"]
async fn a_stock_edit_reaches_the_cache_through_eventbridge_and_sqs_without_a_poll() {
    let moto = Moto::start();
    // Two seconds of visibility: stopping intake cuts its long poll short, and a message SQS
    // had already handed to that poll comes back after the visibility timeout.
    let queue = moto.set_up_relay("shop-events", 2, 5, &[TOPIC]);
    let sim = sim_delivering_to(&moto).await;
    let dir = tempfile::tempdir().unwrap();
    let engine = connected_engine(&sim, dir.path()).await;
    let relay_only = || IntakeConfig {
        listen: false,
        relay: Some(relay_settings(&moto, &queue)),
        relay_event_source: Some(event_source_arn(&sim)),
        check_subscriptions_every: Duration::from_millis(200),
        ..IntakeConfig::default()
    };
    let addr = engine.start_intake(relay_only()).await.unwrap();
    assert_eq!(addr, None, "no listener for a relay-only owner");
    // The engine subscribed the EventBridge event source to every topic.
    wait_status(&engine, 15, "subscriptions at the event source", |s| {
        s.subscriptions.len() == TOPICS.len()
            && s.subscriptions
                .iter()
                .all(|h| h.present && h.uri == event_source_arn(&sim))
    })
    .await;
    let listed: Value = reqwest::get(format!("{}/_sim/webhooks", sim.info.base_url))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let uris: BTreeSet<&str> = listed["subscriptions"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|s| s["uri"].as_str())
        .collect();
    assert_eq!(
        uris,
        BTreeSet::from([event_source_arn(&sim).as_str()]),
        "{listed}"
    );
    // Once the queue's backlog is read, the start's reconciliation runs, finding nothing.
    let started = Instant::now();
    let start = loop {
        if let Some(last) = engine.reconciliation().await.unwrap().last {
            break last;
        }
        assert!(
            started.elapsed() < Duration::from_secs(15),
            "no reconciliation at start"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!((start.reason.as_str(), start.repaired), ("start", 0));

    // The merchant edits stock in the admin: Shopify → EventBridge → SQS → the engine.
    edit_stock(&sim, 2).await;
    assert_eq!(wait_level_applied(&engine, &sim, 2).await, Source::Webhook);
    let status = wait_status(&engine, 10, "the relay reachable", |s| {
        s.relay
            .as_ref()
            .is_some_and(|r| r.health.state == Some(RelayState::Reachable))
    })
    .await;
    assert_eq!(status.listening_on, None);
    assert_eq!(path(&status, IntakePath::Relay).unwrap().accepted, 1);
    assert!(path(&status, IntakePath::Listener).is_none());
    assert_eq!(status.relay.as_ref().unwrap().queue_url, queue.queue_url);
    // No poll brought it: besides the start's reconciliation, the only jobs that ran are the
    // webhook's.
    let reader = Reader::open(engine.cache().unwrap().path()).unwrap();
    let done = reader.jobs_in_state(JobState::Done, 100).unwrap();
    let (polls, hooks): (Vec<_>, Vec<_>) = done.iter().partition(|j| j.kind != JOB_WEBHOOK);
    assert!(!hooks.is_empty());
    assert_eq!(polls.len(), 1, "{polls:?}");

    // Stopped, the relay reads nothing: the queue holds the next event until intake starts.
    engine.stop_intake().await;
    assert!(engine.intake_status().await.unwrap().relay.is_none());
    edit_stock(&sim, 3).await;
    wait_delivered(&sim, 2).await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(depth(&moto, &queue.queue_url).await, 1, "held in the queue");
    engine.start_intake(relay_only()).await.unwrap();
    // Started again, the relay reads it. (The start's reconciliation may reach the level
    // first when the message is still invisible after the stopped poll: either way the cache
    // has it, and the queue is emptied.)
    wait_level_applied(&engine, &sim, 3).await;
    let started = Instant::now();
    while depth(&moto, &queue.queue_url).await != 0 {
        assert!(
            started.elapsed() < Duration::from_secs(15),
            "the held event was never read from the queue"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    engine.shutdown().await;
    sim.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn intake_needs_a_path_and_the_relay_needs_its_key() {
    let sim = shopify_sim::start(SimConfig {
        products: 2,
        ..SimConfig::default()
    })
    .await
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let (engine, _keychain) = engine_connected_to(&sim, dir.path()).await;
    let queue_url = "https://sqs.us-east-1.amazonaws.com/123456789012/shop-events";
    let neither = engine
        .start_intake(IntakeConfig {
            listen: false,
            ..IntakeConfig::default()
        })
        .await;
    assert!(
        matches!(neither, Err(IntakeError::NothingToRun)),
        "{neither:?}"
    );
    // No AWS key in the keychain: refused with what to do, and nothing runs.
    let keyless = engine
        .start_intake(IntakeConfig {
            listen: false,
            relay: Some(RelaySettings::new(queue_url, "us-east-1")),
            ..IntakeConfig::default()
        })
        .await;
    match keyless {
        Err(e @ IntakeError::NoRelayCredentials { .. }) => {
            assert!(e.to_string().contains("access key"), "{e}")
        }
        other => panic!("{other:?}"),
    }
    let not_arn = engine
        .start_intake(IntakeConfig {
            listen: false,
            relay: Some(RelaySettings::new(queue_url, "us-east-1")),
            relay_event_source: Some("https://example.test/hooks".into()),
            ..IntakeConfig::default()
        })
        .await;
    assert!(
        matches!(not_arn, Err(IntakeError::NotAnEventSource { .. })),
        "{not_arn:?}"
    );
    let status = engine.intake_status().await.unwrap();
    assert!(status.relay.is_none() && status.listening_on.is_none());
    engine.shutdown().await;
    sim.stop().await;
}
