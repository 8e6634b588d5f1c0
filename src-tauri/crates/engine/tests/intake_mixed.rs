//! The intake acceptance test: store events arriving through both paths at once, with
//! duplicates, reordering and forgeries, end with a cache equal to the simulator's state,
//! each event stored and applied once, and no forged request stored.
//!
//! The simulator has every topic subscribed twice, by the engine itself: at the tunnel to the
//! loopback listener and at the EventBridge event source, whose events a rule on
//! `detail.metadata.X-Shopify-Topic` forwards to an SQS queue the engine's relay consumes
//! (moto, as in `relay.rs`). So every store event reaches the engine at least twice, once per
//! path, and the simulator's seeded faults add more: 20% of deliveries are sent twice (same
//! `X-Shopify-Event-Id`, their own webhook id) and 10% are held back so later events overtake
//! them. Merchant stock edits, price edits and customer orders produce the events (stock and
//! orders: `orders/create` and `inventory_levels/update`; prices: `products/update`). Meanwhile the test sends
//! about one forged request per hundred events straight to the listener: signed with a wrong
//! key, a genuine body with one byte changed, a request without its signature, a signed one
//! without its topic.
//!
//! At the end: the cache equals the simulator (`available` of every level, every price); the
//! inbox holds exactly the event ids the simulator emitted, each once; every inbox event has
//! exactly one `webhook.process` job, done, and is marked processed; no forged body is in the
//! inbox; the listener refused exactly the forgeries and nothing else was refused.
//!
//! The simulator's clock is manual: it moves one second every [`EDITS_PER_SECOND`] actions, so
//! same-second edits of one level happen (Shopify's timestamps have whole seconds) and a
//! held-back delivery is overtaken by the events of the next seconds.
//!
//! **How many events.** The issue's figure is 10,000, and that is what runs in CI (`CI` set).
//! Elsewhere the default is [`LOCAL_EVENTS`] (1,000), because the relay path is only as fast as
//! moto: one Python process handles every `PutEvents`, `ReceiveMessage` and `DeleteMessage`,
//! and slows as its queue's history grows: on a 2-core machine in a debug build the full figure
//! took 9 minutes (19 events/s, moto using a whole core), 1,000 events 44 s (the rate is
//! printed). `SHELFSYNC_INTAKE_EVENTS=10000`
//! runs the full figure anywhere; `SHELFSYNC_INTAKE_SEED` sets the seed (printed at the start
//! and again on failure).
//!
//! Needs moto: ignored by a plain `cargo test`, run by `.ci/test` with `--include-ignored`.

mod common;

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

use base64::Engine as _;
use common::moto::{self, Moto, depth, event_source_arn, relay_credentials, relay_settings};
use common::{
    WIRE_TOPICS, cache_matches_sim, connect_with_client_credentials, env_or, eventually,
    mock_keychain, tunnel,
};
use hmac::{Hmac, Mac};
use serde_json::{Value, json};
use shelfsync_engine::intake::{PathStats, TOPICS};
use shelfsync_engine::{
    Engine, EngineConfig, IntakeConfig, IntakePath, StoreKey, SupervisorConfig, SyncKind,
};
use shelfsync_shopify::Clock;
use shelfsync_store::Reader;
use shopify_sim::webhooks::delivery::Outcome as DeliveryOutcome;
use shopify_sim::webhooks::eventbridge::EventBridgeTarget;
use shopify_sim::{RunningSim, SimClock, SimConfig};

/// The issue's figure, run in CI.
const ISSUE_EVENTS: usize = 10_000;
/// Run elsewhere unless `SHELFSYNC_INTAKE_EVENTS` says otherwise (see the module docs).
const LOCAL_EVENTS: usize = 1_000;
const DEFAULT_SEED: u64 = 0x5EED_1A7E;
/// The simulated clock moves one second after this many store actions.
const EDITS_PER_SECOND: usize = 50;
/// One forged request per this many store actions.
const FORGE_EVERY: usize = 100;
/// Deliveries waiting in the simulator, and relayed messages not yet consumed, above which the
/// producer pauses until half are through: a store's merchants do not outrun Shopify's delivery
/// for long, and moto slows down as its queue grows (each receive scans the whole queue).
const MAX_PENDING: usize = 1_000;
const MAX_RELAY_BACKLOG: u64 = 300;

/// Prints the seed again when the test fails, next to the failure.
struct SeedOnFailure(u64);

impl Drop for SeedOnFailure {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!(
                "intake_mixed failed with seed {0}: run again with SHELFSYNC_INTAKE_SEED={0}",
                self.0
            );
        }
    }
}

fn sign(secret: &str, body: &[u8]) -> String {
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(body);
    base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
}

/// A version-4 UUID from the test's generator.
fn uuid(rng: &mut fastrand::Rng) -> String {
    let (a, b) = (rng.u64(..), rng.u64(..));
    format!(
        "{:08x}-{:04x}-4{:03x}-{:04x}-{:012x}",
        a >> 32,
        (a >> 16) & 0xffff,
        a & 0xfff,
        0x8000 | (b >> 48) & 0x3fff,
        b & 0xffff_ffff_ffff
    )
}

/// One forged request and the answer it must get.
struct Forgery {
    kind: &'static str,
    headers: Vec<(&'static str, String)>,
    body: Vec<u8>,
    status: u16,
}

/// The headers Shopify sends with a delivery.
fn delivery_headers(
    topic: &str,
    shop: &str,
    event_id: &str,
    webhook_id: &str,
    hmac: Option<String>,
) -> Vec<(&'static str, String)> {
    let mut headers = vec![
        ("Content-Type", "application/json".to_owned()),
        ("X-Shopify-Topic", topic.to_owned()),
        ("X-Shopify-Shop-Domain", shop.to_owned()),
        ("X-Shopify-API-Version", "2026-07".to_owned()),
        ("X-Shopify-Webhook-Id", webhook_id.to_owned()),
        ("X-Shopify-Event-Id", event_id.to_owned()),
        (
            "X-Shopify-Triggered-At",
            "2026-07-15T00:00:00.000000000Z".to_owned(),
        ),
    ];
    if let Some(hmac) = hmac {
        headers.push(("X-Shopify-Hmac-Sha256", hmac));
    }
    headers
}

/// The `n`-th forgery: the kinds take turns. `genuine` is the body of an event the simulator
/// just emitted (its topic and event id), for the one-byte change.
fn forge(
    n: usize,
    rng: &mut fastrand::Rng,
    sim: &RunningSim,
    level: (u64, u64),
    genuine: (&str, &str, Vec<u8>),
) -> Forgery {
    let shop = sim.info.shop_domain.as_str();
    let secret = sim.info.client_secret.as_str();
    // A stock level no merchant set, stamped in the future so that, were it stored, it would
    // win over every genuine event and show in the cache.
    let (item, location) = level;
    let fake = serde_json::to_vec(&json!({
        "inventory_item_id": item,
        "location_id": location,
        "available": 987_654,
        "updated_at": "2031-01-01T00:00:00-04:00",
        "admin_graphql_api_id":
            format!("gid://shopify/InventoryLevel/{location}?inventory_item_id={item}"),
    }))
    .unwrap();
    let topic = "inventory_levels/update";
    let (event_id, webhook_id) = (uuid(rng), uuid(rng));
    match n % 4 {
        0 => Forgery {
            kind: "signed with another key",
            headers: delivery_headers(
                topic,
                shop,
                &event_id,
                &webhook_id,
                Some(sign("shpss_an_attackers_guess", &fake)),
            ),
            body: fake,
            status: 401,
        },
        1 => {
            let (topic, event_id, mut body) = genuine;
            let hmac = sign(secret, &body);
            // One digit changed: still JSON, no longer what was signed.
            let digits: Vec<usize> = (0..body.len())
                .filter(|&i| body[i].is_ascii_digit())
                .collect();
            let at = digits[rng.usize(..digits.len())];
            body[at] = if body[at] == b'9' { b'0' } else { body[at] + 1 };
            Forgery {
                kind: "a genuine body with one byte changed",
                headers: delivery_headers(topic, shop, event_id, &webhook_id, Some(hmac)),
                body,
                status: 401,
            }
        }
        2 => Forgery {
            kind: "no X-Shopify-Hmac-Sha256",
            headers: delivery_headers(topic, shop, &event_id, &webhook_id, None),
            body: fake,
            status: 400,
        },
        _ => {
            let mut headers = delivery_headers(
                topic,
                shop,
                &event_id,
                &webhook_id,
                Some(sign(secret, &fake)),
            );
            headers.retain(|(name, _)| *name != "X-Shopify-Topic");
            Forgery {
                kind: "no X-Shopify-Topic",
                headers,
                body: fake,
                status: 400,
            }
        }
    }
}

/// The simulator's control API.
struct Control {
    http: reqwest::Client,
    base: String,
}

impl Control {
    async fn post(&self, path: &str, body: Value) -> reqwest::Response {
        self.http
            .post(format!("{}{path}", self.base))
            .json(&body)
            .send()
            .await
            .unwrap()
    }

    async fn ok(&self, path: &str, body: Value) {
        let answer = self.post(path, body).await;
        assert!(answer.status().is_success(), "{path}: {}", answer.status());
    }

    async fn advance(&self, seconds: u64) {
        self.ok("/_sim/clock/advance", json!({ "seconds": seconds }))
            .await;
    }

    async fn pending_deliveries(&self) -> usize {
        let overview: Value = self
            .http
            .get(format!("{}/_sim/webhooks", self.base))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        overview["pending_deliveries"].as_u64().unwrap() as usize
    }
}

fn path(paths: &[PathStats], path: IntakePath) -> PathStats {
    paths
        .iter()
        .find(|p| p.path == path)
        .cloned()
        .unwrap_or_else(|| panic!("no {path:?} counters: {paths:?}"))
}

/// The inbox as stored: (row id, event id, body, processed).
fn inbox_rows(db: &std::path::Path) -> Vec<(i64, String, Vec<u8>, bool)> {
    let conn =
        rusqlite::Connection::open_with_flags(db, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
            .unwrap();
    let mut stmt = conn
        .prepare(
            "SELECT id, event_id, body, processed_at_ms IS NOT NULL FROM webhook_inbox ORDER BY id",
        )
        .unwrap();
    stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap()
}

/// Every job by kind: (kind, state, attempts, `payload.inbox_id`).
fn jobs(db: &std::path::Path) -> Vec<(String, String, i64, Option<i64>)> {
    let conn =
        rusqlite::Connection::open_with_flags(db, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
            .unwrap();
    let mut stmt = conn
        .prepare(
            "SELECT kind, state, attempts, json_extract(payload, '$.inbox_id') FROM jobs ORDER BY id",
        )
        .unwrap();
    stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap()
}

/// Deliveries the simulator has not made yet, and about how many relayed messages the relay
/// has still to consume: what the listener received beyond what the relay did (every event
/// goes both ways, with duplicates at the same rate). A pacing figure, cheap to ask for often.
/// What is still on its way: deliveries the simulator holds (reordered, or waiting for a
/// retry), and events the simulator put on the bus that the relay has not taken off the queue
/// yet. The relay's backlog is counted against the simulator's own delivery log, not against
/// the listener: each path draws its duplicates independently, so the two paths' counts drift
/// apart by chance over thousands of events.
async fn backlog(control: &Control, sim: &RunningSim, engine: &Engine) -> (usize, u64) {
    let pending = control.pending_deliveries().await;
    let put_on_bus = sim
        .state
        .webhooks
        .attempts()
        .iter()
        .filter(|a| a.outcome == DeliveryOutcome::Delivered && a.uri.starts_with("arn:"))
        .count() as u64;
    let paths = engine.intake_status().await.unwrap().paths;
    let relay_seen = paths
        .iter()
        .find(|p| p.path == IntakePath::Relay)
        .map_or(0, |p| p.accepted + p.duplicates);
    (pending, put_on_bus.saturating_sub(relay_seen))
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "needs moto: run through .ci/test"]
async fn store_events_through_both_paths_with_duplicates_reordering_and_forgeries() {
    let in_ci = std::env::var("CI").is_ok_and(|v| !v.is_empty() && v != "false" && v != "0");
    let events_wanted: usize = env_or(
        "SHELFSYNC_INTAKE_EVENTS",
        if in_ci { ISSUE_EVENTS } else { LOCAL_EVENTS },
    );
    let seed: u64 = env_or("SHELFSYNC_INTAKE_SEED", DEFAULT_SEED);
    let _seed_on_failure = SeedOnFailure(seed);
    println!("intake_mixed: {events_wanted} store events, seed {seed}");
    assert_eq!(
        WIRE_TOPICS.len(),
        TOPICS.len(),
        "the rule forwards every topic"
    );
    for (wire, topic) in WIRE_TOPICS.iter().zip(TOPICS) {
        assert_eq!(shopify_sim::webhooks::enum_topic(wire), *topic);
    }
    let mut rng = fastrand::Rng::with_seed(seed);

    // The owner's AWS side: a bus with a plain name (moto refuses `/` in rules), the rule on
    // the topic, the queue with a dead-letter queue.
    let moto = Moto::start();
    let queue = moto.set_up_relay("shop-events", 30, 5, &WIRE_TOPICS);

    let config = SimConfig {
        seed,
        products: 250,
        variants_per_product: 2,
        locations: 2,
        eventbridge: Some(EventBridgeTarget {
            endpoint_url: moto.endpoint.clone(),
            region: moto::REGION.into(),
            event_bus_name: moto::BUS.into(),
            access_key_id: moto::KEY_ID.into(),
            secret_access_key: moto::SECRET_KEY.into(),
        }),
        ..SimConfig::default()
    };
    let clock = SimClock::manual(config.start_time);
    let sim = shopify_sim::start_with_clock(config, clock).await.unwrap();
    let control = Control {
        http: reqwest::Client::new(),
        base: sim.info.base_url.clone(),
    };

    // The engine: connected, fully synced, the relay's key in its keychain, intake on both
    // paths with the subscriptions its own.
    let dir = tempfile::tempdir().unwrap();
    let keychain = mock_keychain();
    let engine = Arc::new(
        Engine::new(EngineConfig {
            data_dir: dir.path().to_path_buf(),
            keychain: keychain.clone(),
            clock: Clock::real(),
        })
        .with_job_config(SupervisorConfig {
            jitter_seed: Some(seed),
            ..SupervisorConfig::default()
        }),
    );
    connect_with_client_credentials(&engine, &sim).await;
    engine.sync(SyncKind::Full).await.unwrap();
    let address = engine.profile().unwrap().address;
    relay_credentials()
        .save(&keychain, &StoreKey::new(&address))
        .await
        .unwrap();
    let port = moto::free_port();
    let public_url = tunnel(&sim, port).await;
    let event_source = event_source_arn(&sim);
    engine
        .start_intake(IntakeConfig {
            port,
            public_url: Some(public_url),
            relay: Some(relay_settings(&moto, &queue)),
            relay_event_source: Some(event_source),
            check_subscriptions_every: Duration::from_secs(1),
            ..IntakeConfig::default()
        })
        .await
        .unwrap();
    eventually(20, || {
        let engine = engine.clone();
        async move {
            let status = engine.intake_status().await.map_err(|e| e.to_string())?;
            let present = status.subscriptions.iter().filter(|s| s.present).count();
            if present == 2 * TOPICS.len() {
                Ok(())
            } else {
                Err(format!(
                    "{present} subscriptions: {:?}",
                    status.subscriptions
                ))
            }
        }
    })
    .await;
    control
        .ok(
            "/_sim/faults",
            json!({ "webhook_duplicate_rate": 0.2, "webhook_reorder_rate": 0.1,
                    "webhook_reorder_seconds": 2 }),
        )
        .await;

    // (inventory item, location) of every level; (variant, product) of every variant;
    // inventory item → variant.
    let (levels, variants, variant_of_item) = {
        let store = sim.state.read_store();
        let levels: Vec<(u64, u64)> = store
            .inventory_items
            .values()
            .flat_map(|item| item.levels.keys().map(move |l| (item.id, *l)))
            .collect();
        let variants: Vec<(u64, u64)> = store
            .variants
            .values()
            .map(|v| (v.id, v.product_id))
            .collect();
        let variant_of_item: HashMap<u64, u64> = store
            .variants
            .values()
            .map(|v| (v.inventory_item_id, v.id))
            .collect();
        (levels, variants, variant_of_item)
    };
    let first_event = sim.state.read_store().events.len();
    let listener_url = format!("http://127.0.0.1:{port}/webhooks");

    // The store's activity, with forgeries among it.
    let started = Instant::now();
    let mut cursor = first_event;
    let mut produced = 0;
    let mut actions = 0;
    let mut last_genuine: Option<(&'static str, String, Vec<u8>)> = None;
    let mut forgeries: Vec<Forgery> = Vec::new();
    let mut tally = BTreeMap::<&str, usize>::new();
    while produced < events_wanted {
        let roll = rng.u32(..100);
        let (item, location) = levels[rng.usize(..levels.len())];
        let mut done = false;
        if roll < 4 {
            // A price edit. Two edits of one variant within a simulated second carry the
            // same whole-second `updated_at`; the engine reads the product back to settle
            // such a tie.
            let (variant, _) = variants[rng.usize(..variants.len())];
            let price = format!("{}.{:02}", rng.u32(1..200), rng.u32(..100));
            control
                .ok(
                    "/_sim/prices",
                    json!({ "variant_id": variant, "price": price, "compare_at_price": null }),
                )
                .await;
            *tally.entry("price edits").or_default() += 1;
            done = true;
        } else if roll < 7 {
            let variant = variant_of_item[&item];
            let answer = control
                .post(
                    "/_sim/orders",
                    json!({ "lines": [{ "variant_id": variant, "quantity": 1 }],
                            "location_id": location }),
                )
                .await;
            // Out of stock (422): the merchant restocks instead, below.
            if answer.status().is_success() {
                *tally.entry("orders").or_default() += 1;
                done = true;
            }
        }
        if !done {
            let delta = [-3, -2, -1, 1, 2, 5, 10][rng.usize(..7)];
            control
                .ok(
                    "/_sim/inventory",
                    json!({ "inventory_item_id": item, "location_id": location,
                            "name": "available", "delta": delta }),
                )
                .await;
            *tally.entry("stock edits").or_default() += 1;
        }
        {
            let store = sim.state.read_store();
            for event in &store.events[cursor..] {
                if WIRE_TOPICS.contains(&event.topic) {
                    produced += 1;
                    let payload = event.payload.as_ref().expect("a body for every event");
                    last_genuine = Some((
                        event.topic,
                        sim.state.webhooks.event_id(event.sequence),
                        serde_json::to_vec(payload.as_ref()).unwrap(),
                    ));
                }
            }
            cursor = store.events.len();
        }
        actions += 1;
        if actions % FORGE_EVERY == FORGE_EVERY / 2 {
            let (topic, event_id, body) = last_genuine.clone().unwrap();
            let target = levels[rng.usize(..levels.len())];
            let forgery = forge(
                forgeries.len(),
                &mut rng,
                &sim,
                target,
                (topic, &event_id, body),
            );
            let mut request = control.http.post(&listener_url);
            for (name, value) in &forgery.headers {
                request = request.header(*name, value);
            }
            let status = request
                .body(forgery.body.clone())
                .send()
                .await
                .unwrap()
                .status();
            assert_eq!(status.as_u16(), forgery.status, "{}", forgery.kind);
            forgeries.push(forgery);
        }
        if actions % EDITS_PER_SECOND == 0 {
            control.advance(1).await;
        }
        if actions % 100 == 0 {
            let (pending, unconsumed) = backlog(&control, &sim, &engine).await;
            if pending > MAX_PENDING || unconsumed > MAX_RELAY_BACKLOG {
                let (control, sim, engine) = (&control, &sim, &engine);
                eventually(120, || async move {
                    match backlog(control, sim, engine).await {
                        (p, b) if p <= MAX_PENDING / 2 && b <= MAX_RELAY_BACKLOG / 2 => Ok(()),
                        (p, b) => Err(format!("{p} deliveries pending, {b} relayed not consumed")),
                    }
                })
                .await;
            }
        }
    }
    let produced_in = started.elapsed();

    // Let the held-back deliveries go (and any retry), then wait for both paths to drain and
    // the queue to apply everything.
    control.advance(3).await;
    {
        let control = &control;
        eventually(120, || async move {
            match control.pending_deliveries().await {
                0 => Ok(()),
                n => {
                    control.advance(1).await;
                    Err(format!("{n} deliveries pending"))
                }
            }
        })
        .await;
    }
    let emitted: BTreeMap<String, u64> = {
        let store = sim.state.read_store();
        store.events[first_event..]
            .iter()
            .filter(|e| WIRE_TOPICS.contains(&e.topic))
            .map(|e| (sim.state.webhooks.event_id(e.sequence), e.sequence))
            .collect()
    };
    assert_eq!(emitted.len(), produced, "one event id per store event");
    let db = engine.cache().unwrap().path().to_path_buf();
    let attempts = sim.state.webhooks.attempts();
    let delivered_to = |prefix: &str| {
        attempts
            .iter()
            .filter(|a| a.outcome == DeliveryOutcome::Delivered && a.uri.starts_with(prefix))
            .count() as u64
    };
    let (tunnel_delivered, relay_delivered) = (delivered_to("https://"), delivered_to("arn:"));
    {
        let (engine, moto, queue_url) = (&engine, &moto, &queue.queue_url);
        let wanted = emitted.len();
        eventually(180, || async move {
            let status = engine.intake_status().await.map_err(|e| e.to_string())?;
            let relay = path(&status.paths, IntakePath::Relay);
            let inbox = status.inbox.ok_or("no inbox")?;
            if relay.accepted + relay.duplicates < relay_delivered {
                return Err(format!("relay: {relay:?} of {relay_delivered}"));
            }
            if (inbox.total as usize) < wanted || inbox.unprocessed > 0 {
                return Err(format!("inbox {inbox:?} of {wanted}"));
            }
            // Asked last: each question costs moto a scan of the queue.
            match depth(moto, queue_url).await {
                0 => Ok(()),
                n => Err(format!("{n} messages still in the queue")),
            }
        })
        .await;
    }
    let applied_in = started.elapsed();

    // The cache equals the store.
    let reader = Reader::open(&db).unwrap();
    cache_matches_sim(&sim, &reader).unwrap();

    // Every event the simulator emitted reached the engine through both paths…
    let mut paths_of: HashMap<&str, (bool, bool)> = HashMap::new();
    for a in attempts
        .iter()
        .filter(|a| a.outcome == DeliveryOutcome::Delivered)
    {
        let seen = paths_of.entry(a.event_id.as_str()).or_default();
        if a.uri.starts_with("https://") {
            seen.0 = true;
        } else if a.uri.starts_with("arn:") {
            seen.1 = true;
        }
    }
    let one_path_only: Vec<_> = emitted
        .keys()
        .filter(|id| paths_of.get(id.as_str()) != Some(&(true, true)))
        .collect();
    assert!(
        one_path_only.is_empty(),
        "{} events not delivered both ways, e.g. {:?}",
        one_path_only.len(),
        &one_path_only[..one_path_only.len().min(5)]
    );

    // …and is in the inbox exactly once, with nothing else there.
    let rows = inbox_rows(&db);
    let mut stored: BTreeMap<&str, usize> = BTreeMap::new();
    for (_, event_id, _, _) in &rows {
        *stored.entry(event_id.as_str()).or_default() += 1;
    }
    let twice: Vec<_> = stored.iter().filter(|(_, n)| **n > 1).collect();
    assert!(twice.is_empty(), "stored more than once: {twice:?}");
    let stored_ids: BTreeSet<&str> = stored.keys().copied().collect();
    let emitted_ids: BTreeSet<&str> = emitted.keys().map(String::as_str).collect();
    assert_eq!(
        stored_ids.difference(&emitted_ids).count(),
        0,
        "stored but never emitted: {:?}",
        stored_ids
            .difference(&emitted_ids)
            .take(5)
            .collect::<Vec<_>>()
    );
    assert_eq!(
        emitted_ids.difference(&stored_ids).count(),
        0,
        "emitted but not stored: {:?}",
        emitted_ids
            .difference(&stored_ids)
            .take(5)
            .collect::<Vec<_>>()
    );
    assert_eq!(rows.len(), emitted.len());
    assert!(rows.iter().all(|r| r.3), "every inbox event processed");

    // Each event applied once: one webhook job per inbox row, each done.
    let all_jobs = jobs(&db);
    let webhook_jobs: Vec<_> = all_jobs
        .iter()
        .filter(|j| j.0 == shelfsync_engine::intake::JOB_WEBHOOK)
        .collect();
    assert_eq!(webhook_jobs.len(), rows.len(), "one job per inbox event");
    let job_inbox_ids: BTreeSet<i64> = webhook_jobs.iter().filter_map(|j| j.3).collect();
    let row_ids: BTreeSet<i64> = rows.iter().map(|r| r.0).collect();
    assert_eq!(job_inbox_ids, row_ids, "each job applies its own event");
    let not_done: Vec<_> = webhook_jobs.iter().filter(|j| j.1 != "done").collect();
    assert!(not_done.is_empty(), "webhook jobs not done: {not_done:?}");
    let retried = webhook_jobs.iter().filter(|j| j.2 > 1).count();
    let mut other_jobs = BTreeMap::<&str, usize>::new();
    for j in all_jobs
        .iter()
        .filter(|j| j.0 != shelfsync_engine::intake::JOB_WEBHOOK)
    {
        *other_jobs.entry(j.0.as_str()).or_default() += 1;
    }

    // No forged body is stored, and the listener refused exactly the forgeries.
    let bodies: HashSet<&[u8]> = rows.iter().map(|r| r.2.as_slice()).collect();
    for forgery in &forgeries {
        assert!(
            !bodies.contains(forgery.body.as_slice()),
            "a forged body ({}) is in the inbox",
            forgery.kind
        );
    }
    let status = engine.intake_status().await.unwrap();
    let (listener, relay) = (
        path(&status.paths, IntakePath::Listener),
        path(&status.paths, IntakePath::Relay),
    );
    assert_eq!(listener.refused() as usize, forgeries.len(), "{listener:?}");
    let forged_401 = forgeries.iter().filter(|f| f.status == 401).count();
    assert_eq!(listener.refused_forged as usize, forged_401, "{listener:?}");
    assert_eq!(relay.refused(), 0, "{relay:?}");
    assert_eq!(listener.store_failures + relay.store_failures, 0);
    assert_eq!(
        (listener.accepted + relay.accepted) as usize,
        emitted.len(),
        "{listener:?} {relay:?}"
    );
    assert!(listener.accepted + listener.duplicates >= tunnel_delivered);
    assert!(relay.accepted + relay.duplicates >= relay_delivered);

    // The faults happened: duplicates, and events stored after a later one of the store.
    let duplicated = attempts
        .iter()
        .filter(|a| a.duplicate && a.outcome == DeliveryOutcome::Delivered)
        .count();
    let originals = attempts
        .iter()
        .filter(|a| a.attempt == 1 && !a.duplicate)
        .count();
    // Deliveries that reached their address after a later event's had.
    let mut newest = HashMap::<u64, u64>::new();
    let mut late = 0;
    for a in attempts
        .iter()
        .filter(|a| a.outcome == DeliveryOutcome::Delivered)
    {
        let seen = newest.entry(a.subscription_id).or_default();
        if a.event_sequence < *seen {
            late += 1;
        }
        *seen = (*seen).max(a.event_sequence);
    }
    let mut latest = 0;
    let mut overtaken = 0;
    for (_, event_id, _, _) in &rows {
        let sequence = emitted[event_id.as_str()];
        if sequence < latest {
            overtaken += 1;
        }
        latest = latest.max(sequence);
    }
    let failed = attempts
        .iter()
        .filter(|a| a.outcome == DeliveryOutcome::Failed)
        .count();
    println!(
        "intake_mixed: {produced} store events ({tally:?}) and {} forgeries in {:.1} s; all \
         applied after {:.1} s: {:.0} events/s",
        forgeries.len(),
        produced_in.as_secs_f64(),
        applied_in.as_secs_f64(),
        produced as f64 / applied_in.as_secs_f64()
    );
    println!(
        "intake_mixed: deliveries {} through the tunnel, {} to EventBridge; {duplicated} \
         duplicates ({:.1}% of {originals} first deliveries), {late} delivered after a later \
         event ({:.1}%), {failed} failed attempts; {overtaken} events stored after a later one",
        tunnel_delivered,
        relay_delivered,
        100.0 * duplicated as f64 / originals as f64,
        100.0 * late as f64 / (tunnel_delivered + relay_delivered) as f64,
    );
    println!(
        "intake_mixed: listener {} new, {} duplicate, {} refused; relay {} new, {} duplicate; \
         {retried} webhook jobs retried; other jobs {other_jobs:?}",
        listener.accepted,
        listener.duplicates,
        listener.refused(),
        relay.accepted,
        relay.duplicates
    );
    assert!(duplicated > 0, "the duplicate fault sent nothing twice");
    assert!(late > 0, "no delivery was overtaken");
    assert!(overtaken > 0, "no event was overtaken by a later one");

    engine.shutdown().await;
    sim.stop().await;
}
