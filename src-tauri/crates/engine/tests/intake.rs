//! Webhook intake end to end, over real HTTP on loopback: the simulator delivers through its
//! tunnel to the engine's listener, signed with the app's client secret, and the engine
//! applies each event through its work queue.
//!
//! - a merchant's stock edit reaches the cache through a webhook, with no poll;
//! - duplicated and reordered deliveries leave the cache equal to the simulator;
//! - an event answered `200` is applied after a restart even if it was not applied before;
//! - a subscription Shopify removed after failed deliveries is created again, the events say
//!   so, and the changes it missed are read by a catch-up sync;
//! - `bulk_operations/finish` wakes a full sync waiting for its export;
//! - `app/uninstalled` stops syncing and asks the owner to connect again.

use std::sync::Arc;
use std::time::{Duration, Instant};

use base64::Engine as _;
use hmac::{Hmac, Mac};
use serde_json::{Value, json};
use shelfsync_engine::intake::subscriptions;
use shelfsync_engine::intake::{
    InboxWriter, IntakeEvent, IntakeStats, JOB_WEBHOOK, Listener, ListenerConfig, Processor, TOPICS,
};
use shelfsync_engine::{
    Attention, Cache, ConnectWith, Engine, EngineConfig, EngineError, EngineEvent, Events,
    IntakeConfig, JobHandlers, Keychain, Supervisor, SupervisorConfig, SyncKind, Syncer,
};
use shelfsync_shopify::{ClientConfig, Clock, Credentials, Secret, ShopifyClient};
use shelfsync_store::{JobState, Reader, Source};
use shopify_sim::store::money;
use shopify_sim::{RunningSim, SimConfig};

fn mock_keychain() -> Keychain {
    let store: Arc<keyring_core::CredentialStore> = keyring_core::mock::Store::new().unwrap();
    Keychain::with_store("app.shelfsync.test", store)
}

fn config(products: usize) -> SimConfig {
    SimConfig {
        products,
        variants_per_product: 2,
        locations: 2,
        ..SimConfig::default()
    }
}

async fn sim(products: usize) -> RunningSim {
    shopify_sim::start(config(products)).await.unwrap()
}

/// A port free right now on 127.0.0.1.
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

async fn post(sim: &RunningSim, path: &str, body: Value) -> Value {
    let r = reqwest::Client::new()
        .post(format!("{}{path}", sim.info.base_url))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success(), "{path}: {}", r.status());
    r.json().await.unwrap_or(Value::Null)
}

async fn get(sim: &RunningSim, path: &str) -> Value {
    reqwest::get(format!("{}{path}", sim.info.base_url))
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

/// A public https URL that the simulator delivers to 127.0.0.1:`port` (as ngrok would).
async fn tunnel(sim: &RunningSim, port: u16) -> String {
    let t = post(
        sim,
        "/_sim/tunnels",
        json!({ "target": format!("http://127.0.0.1:{port}") }),
    )
    .await;
    format!("{}/webhooks", t["public_url"].as_str().unwrap())
}

/// Waits (at most `secs` real seconds) until `check` passes; panics with its last message.
async fn eventually<F, Fut>(secs: u64, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<(), String>>,
{
    let deadline = Instant::now() + Duration::from_secs(secs);
    loop {
        match check().await {
            Ok(()) => return,
            Err(why) if Instant::now() > deadline => panic!("gave up waiting: {why}"),
            Err(_) => tokio::time::sleep(Duration::from_millis(50)).await,
        }
    }
}

/// Every level's `available` and every variant's price in the cache equal the simulator's.
/// (`inventory_levels/update` carries only `available`; the other quantities come with polls.)
fn cache_matches_sim(sim: &RunningSim, reader: &Reader) -> Result<(), String> {
    let store = sim.state.read_store();
    for v in store.variants.values() {
        let cached = reader
            .variant(v.id as i64)
            .map_err(|e| e.to_string())?
            .ok_or_else(|| format!("variant {} missing", v.id))?;
        if cached.price.as_str() != money(v.price_cents) {
            return Err(format!(
                "price of {}: cache {} vs store {}",
                v.sku,
                cached.price.as_str(),
                money(v.price_cents)
            ));
        }
        let levels = reader
            .levels_for_variant(v.id as i64)
            .map_err(|e| e.to_string())?;
        for (location, level) in &store.inventory_items[&v.inventory_item_id].levels {
            let cached = levels
                .iter()
                .find(|l| l.level.location_id == *location as i64)
                .ok_or_else(|| format!("level of {} at {location} missing", v.sku))?;
            let want = level.quantities[shopify_sim::store::AVAILABLE];
            if cached.level.quantities.available != Some(want) {
                return Err(format!(
                    "available of {} at {location}: cache {:?} vs store {want}",
                    v.sku, cached.level.quantities.available
                ));
            }
        }
    }
    Ok(())
}

struct Connected {
    sim: RunningSim,
    engine: Arc<Engine>,
    keychain: Keychain,
    dir: tempfile::TempDir,
    port: u16,
    public_url: String,
}

impl Connected {
    fn reader(&self) -> Reader {
        Reader::open(self.engine.cache().unwrap().path()).unwrap()
    }

    fn intake_config(&self) -> IntakeConfig {
        IntakeConfig {
            port: self.port,
            public_url: Some(self.public_url.clone()),
            check_subscriptions_every: Duration::from_millis(200),
            ..IntakeConfig::default()
        }
    }

    /// Waits until every topic is subscribed at the tunnel's address.
    async fn subscribed(&self) {
        let engine = self.engine.clone();
        eventually(10, || {
            let engine = engine.clone();
            async move {
                let status = engine.intake_status().await.map_err(|e| e.to_string())?;
                if status.subscriptions.len() == TOPICS.len()
                    && status.subscriptions.iter().all(|s| s.present)
                {
                    Ok(())
                } else {
                    Err(format!("{:?}", status.subscriptions))
                }
            }
        })
        .await;
    }

    /// A level of the store: (inventory item, location, variant).
    fn a_level(&self, n: usize) -> (u64, u64, u64) {
        let store = self.sim.state.read_store();
        let v = store.variants.values().nth(n).unwrap();
        let location = *store.inventory_items[&v.inventory_item_id]
            .levels
            .keys()
            .next()
            .unwrap();
        (v.inventory_item_id, location, v.id)
    }

    async fn edit_stock(&self, item: u64, location: u64, delta: i64) {
        post(
            &self.sim,
            "/_sim/inventory",
            json!({"inventory_item_id": item, "location_id": location, "name": "available", "delta": delta}),
        )
        .await;
    }
}

fn engine(dir: &std::path::Path, keychain: &Keychain) -> Arc<Engine> {
    Arc::new(
        Engine::new(EngineConfig {
            data_dir: dir.to_path_buf(),
            keychain: keychain.clone(),
            clock: Clock::real(),
        })
        .with_job_config(SupervisorConfig {
            jitter_seed: Some(1),
            ..SupervisorConfig::default()
        }),
    )
}

/// A store connected with client credentials, fully synced, intake running behind a tunnel.
async fn connected(products: usize) -> Connected {
    connected_to(sim(products).await).await
}

async fn connected_to(sim: RunningSim) -> Connected {
    let dir = tempfile::tempdir().unwrap();
    let keychain = mock_keychain();
    let engine = engine(dir.path(), &keychain);
    engine
        .connect(
            &sim.info.base_url,
            ConnectWith::ClientCredentials {
                client_id: sim.info.client_id.clone(),
                client_secret: Secret::new(sim.info.client_secret.clone()),
            },
        )
        .await
        .unwrap();
    engine.sync(SyncKind::Full).await.unwrap();
    let port = free_port();
    let public_url = tunnel(&sim, port).await;
    let c = Connected {
        sim,
        engine,
        keychain,
        dir,
        port,
        public_url,
    };
    let addr = c
        .engine
        .start_intake(c.intake_config())
        .await
        .unwrap()
        .expect("the listener runs");
    assert_eq!(addr.port(), port);
    assert!(addr.ip().is_loopback());
    c.subscribed().await;
    c
}

#[tokio::test(flavor = "multi_thread")]
async fn a_merchant_stock_edit_reaches_the_cache_through_a_webhook() {
    let c = connected(10).await;
    // The subscriptions are the app's, at the tunnel's address, one per topic.
    let listed = get(&c.sim, "/_sim/webhooks").await;
    let subs = listed["subscriptions"].as_array().unwrap();
    assert_eq!(subs.len(), TOPICS.len(), "{listed}");
    // Starting again does not subscribe twice.
    c.engine.start_intake(c.intake_config()).await.unwrap();
    c.subscribed().await;
    let listed = get(&c.sim, "/_sim/webhooks").await;
    assert_eq!(
        listed["subscriptions"].as_array().unwrap().len(),
        TOPICS.len()
    );

    let (item, location, variant) = c.a_level(3);
    c.edit_stock(item, location, -3).await;
    let want = c.sim.state.read_store().inventory_items[&item].levels[&location].quantities
        [shopify_sim::store::AVAILABLE];
    let reader = c.reader();
    eventually(10, || {
        let got = reader.levels_for_variant(variant as i64).unwrap();
        let level = got
            .iter()
            .find(|l| l.level.location_id == location as i64)
            .cloned();
        async move {
            match level {
                Some(l) if l.level.quantities.available == Some(want) => {
                    assert_eq!(l.source, Source::Webhook);
                    Ok(())
                }
                other => Err(format!("{other:?}")),
            }
        }
    })
    .await;
    // No poll: the only jobs are the webhook's.
    let jobs = reader.jobs_in_state(JobState::Done, 100).unwrap();
    assert!(!jobs.is_empty());
    assert!(jobs.iter().all(|j| j.kind == JOB_WEBHOOK), "{jobs:?}");
    let audit = reader
        .audit_for("inventory_level", &format!("{item}@{location}"))
        .unwrap();
    assert_eq!(audit.last().unwrap().source, Source::Webhook);
    let status = c.engine.status().await.unwrap();
    let intake = status.intake.unwrap();
    assert_eq!(intake.paths[0].accepted, 1);
    assert!(intake.paths[0].last_event_at.is_some());
    assert_eq!(intake.inbox.unwrap().unprocessed, 0);
    c.engine.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn duplicated_and_reordered_deliveries_leave_the_cache_equal_to_the_store() {
    // The store's clock stands still unless moved: edits between two moves share one
    // timestamp (Shopify's have whole seconds, so this happens there too), and deliveries
    // held back by the reorder fault go out only when the clock moves past their delay.
    let start = config(10).start_time;
    let sim = shopify_sim::start_with_clock(config(10), shopify_sim::SimClock::manual(start))
        .await
        .unwrap();
    let c = connected_to(sim).await;
    post(
        &c.sim,
        "/_sim/faults",
        json!({"webhook_duplicate_rate": 0.3, "webhook_reorder_rate": 0.4, "webhook_reorder_seconds": 2}),
    )
    .await;
    let levels: Vec<_> = (0..4).map(|n| c.a_level(n)).collect();
    for round in 0..12 {
        for (i, (item, location, _)) in levels.iter().enumerate() {
            let delta = if (round + i) % 3 == 0 { 5 } else { -1 };
            c.edit_stock(*item, *location, delta).await;
        }
        if round % 3 == 0 {
            let (_, _, variant) = levels[round % levels.len()];
            post(
                &c.sim,
                "/_sim/prices",
                json!({"variant_id": variant, "price": format!("{}.50", 10 + round), "compare_at_price": null}),
            )
            .await;
            post(&c.sim, "/_sim/clock/advance", json!({"seconds": 1})).await;
        }
    }
    // Let every held-back delivery go.
    for _ in 0..5 {
        post(&c.sim, "/_sim/clock/advance", json!({"seconds": 1})).await;
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let reader = c.reader();
    eventually(30, || {
        let result = cache_matches_sim(&c.sim, &reader);
        async move { result }
    })
    .await;
    // Let held-back and duplicate deliveries arrive, then check again: a late, older event
    // must not undo the newer state.
    eventually(30, || {
        let r = all_delivered(&c.sim);
        async move { r }
    })
    .await;
    eventually(10, || {
        let r = reader
            .inbox_counts()
            .map_err(|e| e.to_string())
            .and_then(|n| match n.unprocessed {
                0 => Ok(()),
                n => Err(format!("{n} to apply")),
            });
        async move { r }
    })
    .await;
    cache_matches_sim(&c.sim, &reader).unwrap();

    // Each store event is in the inbox once, however often it came.
    let events: usize = c
        .sim
        .state
        .read_store()
        .events
        .iter()
        .filter(|e| e.topic == "inventory_levels/update" || e.topic == "products/update")
        .count();
    let counts = reader.inbox_counts().unwrap();
    assert_eq!(counts.total as usize, events);
    assert_eq!(counts.unprocessed, 0);
    let stats = &c.engine.intake_status().await.unwrap().paths[0];
    assert_eq!(stats.accepted as usize, events);
    assert!(stats.duplicates > 0, "the fault sent duplicates: {stats:?}");
    c.engine.shutdown().await;
}

/// Ok once every stock and product event of the store was delivered with a `200`.
fn all_delivered(sim: &RunningSim) -> Result<(), String> {
    let delivered: std::collections::HashSet<u64> = sim
        .state
        .webhooks
        .attempts()
        .iter()
        .filter(|a| a.status == Some(200))
        .map(|a| a.event_sequence)
        .collect();
    let store = sim.state.read_store();
    let missing = store
        .events
        .iter()
        .filter(|e| e.topic == "inventory_levels/update" || e.topic == "products/update")
        .filter(|e| !delivered.contains(&e.sequence))
        .count();
    match missing {
        0 => Ok(()),
        n => Err(format!("{n} events not delivered yet")),
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn an_event_answered_200_is_applied_after_a_restart() {
    let c = connected(6).await;
    let path = c.engine.cache().unwrap().path().to_path_buf();
    // The engine stops; its subscriptions stay registered at the store.
    c.engine.shutdown().await;
    let Connected {
        sim,
        engine: first,
        keychain,
        dir,
        port,
        ..
    } = c;
    drop(first);

    // An intake that stores and answers but dies before applying: no queue workers.
    let cache = open_when_free(&path).await;
    let inbox = InboxWriter::start(cache, Arc::new(|| {}));
    let listener = Listener::start(
        ListenerConfig {
            port,
            keys: vec![Secret::new(sim.info.client_secret.clone())],
            shop_domain: None,
            max_body_bytes: 1 << 20,
        },
        inbox,
        IntakeStats::default(),
    )
    .await
    .unwrap();
    let (item, location, variant) = {
        let store = sim.state.read_store();
        let v = store.variants.values().nth(2).unwrap();
        let l = *store.inventory_items[&v.inventory_item_id]
            .levels
            .keys()
            .next()
            .unwrap();
        (v.inventory_item_id, l, v.id)
    };
    post(
        &sim,
        "/_sim/inventory",
        json!({"inventory_item_id": item, "location_id": location, "name": "available", "delta": 7}),
    )
    .await;
    eventually(10, || {
        let delivered = sim
            .state
            .webhooks
            .attempts()
            .iter()
            .any(|a| a.topic == "inventory_levels/update" && a.status == Some(200));
        async move {
            if delivered {
                Ok(())
            } else {
                Err("not delivered yet".into())
            }
        }
    })
    .await;
    listener.stop().await;
    {
        let reader = Reader::open(&path).unwrap();
        assert_eq!(
            reader.inbox_counts().unwrap().unprocessed,
            1,
            "stored, not applied"
        );
        let before = reader.levels_for_variant(variant as i64).unwrap();
        assert_ne!(before[0].source, Source::Webhook);
    }

    // The engine starts again: the queue applies the stored event.
    let engine = engine(dir.path(), &keychain);
    let deadline = Instant::now() + Duration::from_secs(10);
    while let Err(err) = engine.resume().await {
        assert!(Instant::now() < deadline, "{err}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let want = sim.state.read_store().inventory_items[&item].levels[&location].quantities
        [shopify_sim::store::AVAILABLE];
    let reader = Reader::open(&path).unwrap();
    eventually(10, || {
        let level = reader
            .levels_for_variant(variant as i64)
            .unwrap()
            .into_iter()
            .find(|l| l.level.location_id == location as i64);
        async move {
            match level {
                Some(l) if l.level.quantities.available == Some(want) => Ok(()),
                other => Err(format!("{other:?}")),
            }
        }
    })
    .await;
    assert_eq!(reader.inbox_counts().unwrap().unprocessed, 0);
    engine.shutdown().await;
}

/// Opens the cache once the previous writer has let go of it.
async fn open_when_free(path: &std::path::Path) -> Cache {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        match Cache::open(path).await {
            Ok(cache) => return cache,
            Err(err) if Instant::now() > deadline => panic!("{err}"),
            Err(_) => tokio::time::sleep(Duration::from_millis(50)).await,
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_subscription_removed_after_failed_deliveries_is_created_again() {
    let mut c = connected(6).await;
    // Shopify's patience, shortened: the first failed attempt removes the subscription.
    post(
        &c.sim,
        "/_sim/webhooks/settings",
        json!({"retries": 0, "removal_after_failures": 1}),
    )
    .await;
    // The laptop sleeps: Shelfsync is not running, nothing listens behind the tunnel.
    c.engine.shutdown().await;
    let (item, location, variant) = c.a_level(1);
    c.edit_stock(item, location, -2).await;
    eventually(10, || {
        let subs = c.sim.state.webhooks.subscriptions();
        let gone = !subs.iter().any(|s| s.topic == "INVENTORY_LEVELS_UPDATE");
        async move {
            if gone {
                Ok(())
            } else {
                Err("still subscribed".into())
            }
        }
    })
    .await;

    // It wakes up and Shelfsync starts again: the keeper notices, creates the subscription
    // again, and says so.
    let path = c.engine.cache().unwrap().path().to_path_buf();
    c.engine = engine(c.dir.path(), &c.keychain);
    let mut intake_events = c.engine.intake_events().subscribe();
    let deadline = Instant::now() + Duration::from_secs(10);
    while let Err(err) = c.engine.resume().await {
        // The previous engine's tasks let go of the database as they end.
        assert!(Instant::now() < deadline, "{err}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(c.engine.cache().unwrap().path(), path);
    c.engine.start_intake(c.intake_config()).await.unwrap();
    c.subscribed().await;
    let mut lost = false;
    let mut restored = false;
    let deadline = Instant::now() + Duration::from_secs(10);
    while !(lost && restored) && Instant::now() < deadline {
        match tokio::time::timeout(Duration::from_millis(200), intake_events.recv()).await {
            Ok(Ok(IntakeEvent::SubscriptionLost { topic, uri })) => {
                assert_eq!(topic, "INVENTORY_LEVELS_UPDATE");
                assert_eq!(uri, c.public_url);
                assert!(!restored, "lost comes first");
                lost = true;
            }
            Ok(Ok(IntakeEvent::SubscriptionRestored { topic, .. })) => {
                assert_eq!(topic, "INVENTORY_LEVELS_UPDATE");
                restored = true;
            }
            _ => {}
        }
    }
    assert!(lost && restored, "lost {lost}, restored {restored}");
    let status = c.engine.intake_status().await.unwrap();
    let health = status
        .subscriptions
        .iter()
        .find(|s| s.topic == "INVENTORY_LEVELS_UPDATE")
        .unwrap();
    assert_eq!(health.restored, 1);
    assert_eq!(
        c.sim
            .state
            .webhooks
            .subscriptions()
            .iter()
            .filter(|s| s.topic == "INVENTORY_LEVELS_UPDATE")
            .count(),
        1
    );

    // The change whose delivery failed arrives through the catch-up sync, and the next one
    // through the restored subscription.
    let reader = c.reader();
    eventually(15, || {
        let r = cache_matches_sim(&c.sim, &reader);
        async move { r }
    })
    .await;
    c.edit_stock(item, location, -1).await;
    eventually(10, || {
        let r = cache_matches_sim(&c.sim, &reader);
        let level = reader
            .levels_for_variant(variant as i64)
            .unwrap()
            .into_iter()
            .find(|l| l.level.location_id == location as i64)
            .unwrap();
        async move {
            r?;
            if level.source == Source::Webhook {
                Ok(())
            } else {
                Err(format!("source {:?}", level.source))
            }
        }
    })
    .await;
    c.engine.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn bulk_operations_finish_wakes_a_waiting_full_sync() {
    let sim = sim(40).await;
    let client = ShopifyClient::new(
        ClientConfig::new(
            &sim.info.base_url,
            Credentials::AdminToken(Secret::new(sim.info.admin_token.clone().unwrap())),
        )
        .unwrap(),
    )
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let cache = Cache::open(dir.path().join("store.db")).await.unwrap();
    let mut syncer = Syncer::new(client.clone(), cache.clone(), Events::new());
    // Without the webhook the sync would look again only after a minute.
    syncer.bulk.poll_first = Duration::from_secs(60);
    syncer.bulk.poll_max = Duration::from_secs(60);
    let processor = Processor::new(syncer.clone(), Arc::new(|| {}));
    let jobs = Arc::new(Supervisor::start(
        cache.clone(),
        Events::new(),
        JobHandlers::new().with(JOB_WEBHOOK, processor),
        SupervisorConfig::default(),
    ));
    let woken = jobs.clone();
    let inbox = InboxWriter::start(cache.clone(), Arc::new(move || woken.wake()));
    let listener = Listener::start(
        ListenerConfig {
            port: 0,
            // A legacy admin-token app: webhooks are signed with its API secret key.
            keys: vec![Secret::new(sim.info.client_secret.clone())],
            shop_domain: Some(sim.info.shop_domain.clone()),
            max_body_bytes: 1 << 20,
        },
        inbox,
        IntakeStats::default(),
    )
    .await
    .unwrap();
    let url = tunnel(&sim, listener.local_addr().port()).await;
    assert!(
        subscriptions::create(&client, &url, "BULK_OPERATIONS_FINISH")
            .await
            .unwrap()
    );
    assert!(
        !subscriptions::create(&client, &url, "BULK_OPERATIONS_FINISH")
            .await
            .unwrap(),
        "a second create is recognised as already there"
    );
    // The export takes a couple of seconds.
    sim.state.bulk.set_pace(Some(150.0));

    let started = Instant::now();
    let report = tokio::time::timeout(Duration::from_secs(30), syncer.run(SyncKind::Full))
        .await
        .expect("the finish webhook woke the sync well before its next poll")
        .unwrap();
    assert!(report.variants > 0);
    let op = sim.state.bulk.all().pop().unwrap();
    let took = op.completed_at.unwrap() - op.created_at;
    assert!(
        took >= 1000,
        "the export ran {took} ms: the sync had to wait"
    );
    assert!(started.elapsed() < Duration::from_secs(20));
    let reader = Reader::open(dir.path().join("store.db")).unwrap();
    let done = reader.jobs_in_state(JobState::Done, 10).unwrap();
    assert!(done.iter().any(|j| j.kind == JOB_WEBHOOK));
    listener.stop().await;
    jobs.shutdown().await;
}

fn sign(secret: &str, body: &[u8]) -> String {
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(body);
    base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
}

#[tokio::test(flavor = "multi_thread")]
async fn app_uninstalled_stops_syncing_and_tells_the_owner() {
    let c = connected(4).await;
    let mut events = c.engine.events().subscribe();
    let body = br#"{"id":548380009,"name":"Shelfsync","email":"owner@example.com","domain":null}"#;
    let status = reqwest::Client::new()
        .post(format!("http://127.0.0.1:{}/webhooks", c.port))
        .header("X-Shopify-Topic", "app/uninstalled")
        .header(
            "X-Shopify-Hmac-Sha256",
            sign(&c.sim.info.client_secret, body),
        )
        .header("X-Shopify-Shop-Domain", c.sim.info.shop_domain.as_str())
        .header("X-Shopify-API-Version", "2026-07")
        .header(
            "X-Shopify-Webhook-Id",
            "0b1e7c0e-59a4-4ad8-a1f5-4a2b2a9b8c01",
        )
        .header("X-Shopify-Event-Id", "6f0d3c3e-1c1b-4c4e-9d7d-7c5e8e2f0a11")
        .body(body.to_vec())
        .send()
        .await
        .unwrap()
        .status();
    assert_eq!(status, 200);
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut told = None;
    while told.is_none() && Instant::now() < deadline {
        if let Ok(Ok(EngineEvent::Attention {
            attention: Attention::Reconnect { reason },
        })) = tokio::time::timeout(Duration::from_millis(200), events.recv()).await
        {
            told = Some(reason);
        }
    }
    let reason = told.expect("the owner is told");
    assert!(reason.contains("uninstalled"), "{reason}");
    assert!(matches!(
        c.engine.request_sync(SyncKind::Incremental).await,
        Err(EngineError::NotConnected)
    ));
    assert!(matches!(
        c.engine.sync(SyncKind::Incremental).await,
        Err(EngineError::NotConnected)
    ));
    // Unknown topics are kept and marked processed, not failed.
    let body = br#"{"id":1}"#;
    let status = reqwest::Client::new()
        .post(format!("http://127.0.0.1:{}/webhooks", c.port))
        .header("X-Shopify-Topic", "customers/create")
        .header(
            "X-Shopify-Hmac-Sha256",
            sign(&c.sim.info.client_secret, body),
        )
        .header("X-Shopify-Shop-Domain", c.sim.info.shop_domain.as_str())
        .header("X-Shopify-API-Version", "2026-07")
        .header(
            "X-Shopify-Webhook-Id",
            "0b1e7c0e-59a4-4ad8-a1f5-4a2b2a9b8c02",
        )
        .body(body.to_vec())
        .send()
        .await
        .unwrap()
        .status();
    assert_eq!(status, 200);
    let reader = c.reader();
    eventually(10, || {
        let counts = reader.inbox_counts().unwrap();
        let failed = reader.failed_jobs().unwrap();
        async move {
            assert!(failed.is_empty(), "{failed:?}");
            if counts.total == 2 && counts.unprocessed == 0 {
                Ok(())
            } else {
                Err(format!("{counts:?}"))
            }
        }
    })
    .await;
    c.engine.shutdown().await;
}
