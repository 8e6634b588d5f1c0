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
//! - `app/uninstalled` stops syncing and asks the owner to connect again;
//! - an order placed, fulfilled or cancelled in the store reaches the cache with the stock it
//!   moved, and a new one is announced;
//! - stock falling to the low-stock line is announced once (global and per-SKU thresholds);
//! - a reconciliation pass repairs what webhooks missed and counts it.

mod common;

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
    Attention, Cache, Engine, EngineConfig, EngineError, EngineEvent, Events, IntakeConfig,
    JobHandlers, Keychain, Supervisor, SupervisorConfig, SyncKind, Syncer,
};
use shelfsync_shopify::{ClientConfig, Clock, Credentials, Secret, ShopifyClient};
use shelfsync_store::{JobState, Reader, Source};
use shopify_sim::{RunningSim, SimConfig};

use common::{
    cache_matches_sim, connect_with_client_credentials, eventually, mock_keychain, tunnel,
};

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

    /// The first level from the `n`-th variant on that has at least 5 units to sell.
    fn a_stocked_level(&self, n: usize) -> (u64, u64, u64) {
        let store = self.sim.state.read_store();
        store
            .variants
            .values()
            .skip(n)
            .find_map(|v| {
                let item = &store.inventory_items[&v.inventory_item_id];
                item.levels
                    .iter()
                    .find(|(_, l)| l.quantities[shopify_sim::store::AVAILABLE] >= 5)
                    .map(|(location, _)| (v.inventory_item_id, *location, v.id))
            })
            .expect("a stocked variant")
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
    connected_with(sim, true).await
}

/// An engine connected to `sim`, fully synced first if `full_sync`, with intake running.
async fn connected_with(sim: RunningSim, full_sync: bool) -> Connected {
    let dir = tempfile::tempdir().unwrap();
    let keychain = mock_keychain();
    let engine = engine(dir.path(), &keychain);
    connect_with_client_credentials(&engine, &sim).await;
    if full_sync {
        engine.sync(SyncKind::Full).await.unwrap();
    }
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
    // No poll: besides the reconciliation pass that starting intake runs once, the only
    // jobs are the webhook's.
    let jobs = reader.jobs_in_state(JobState::Done, 100).unwrap();
    assert!(jobs.iter().any(|j| j.kind == JOB_WEBHOOK), "{jobs:?}");
    assert!(
        jobs.iter()
            .all(|j| j.kind == JOB_WEBHOOK || j.payload == json!({"reason": "start"})),
        "{jobs:?}"
    );
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

/// `(available, committed, on_hand)` of a level.
type Stock = (i64, i64, i64);

/// A level's [`Stock`] in the simulator and in the cache.
fn stock(c: &Connected, reader: &Reader, item: u64, location: u64) -> (Stock, Option<Stock>) {
    use shopify_sim::store::{AVAILABLE, COMMITTED, ON_HAND};
    let want = {
        let store = c.sim.state.read_store();
        let q = &store.inventory_items[&item].levels[&location].quantities;
        (q[AVAILABLE], q[COMMITTED], q[ON_HAND])
    };
    let variant = c.sim.state.read_store().inventory_items[&item].variant_id;
    let got = reader
        .levels_for_variant(variant as i64)
        .unwrap()
        .into_iter()
        .find(|l| l.level.location_id == location as i64)
        .map(|l| {
            let q = l.level.quantities;
            (
                q.available.unwrap_or(0),
                q.committed.unwrap_or(0),
                q.on_hand.unwrap_or(0),
            )
        });
    (want, got)
}

/// Waits until the cache holds the simulator's `available`, `committed` and `on_hand` of a
/// level.
async fn stock_matches(c: &Connected, item: u64, location: u64) {
    let reader = c.reader();
    eventually(15, || {
        let (want, got) = stock(c, &reader, item, location);
        async move {
            match got {
                Some(got) if got == want => Ok(()),
                other => Err(format!("want {want:?}, cache has {other:?}")),
            }
        }
    })
    .await;
}

/// Waits for the order's cached status.
async fn order_status(
    c: &Connected,
    id: u64,
    want: shelfsync_store::OrderStatus,
) -> shelfsync_store::Order {
    let reader = c.reader();
    let mut found = None;
    eventually(15, || {
        let order = reader.order(id as i64).unwrap();
        let ok = order.as_ref().is_some_and(|o| o.status() == want);
        if ok {
            found = order.clone();
        }
        async move {
            if ok {
                Ok(())
            } else {
                Err(format!("{order:?}"))
            }
        }
    })
    .await;
    found.unwrap()
}

/// Receives engine events until `pick` returns something (at most `secs` seconds).
async fn next_event<T>(
    rx: &mut tokio::sync::broadcast::Receiver<EngineEvent>,
    secs: u64,
    mut pick: impl FnMut(EngineEvent) -> Option<T>,
) -> T {
    tokio::time::timeout(Duration::from_secs(secs), async {
        loop {
            match rx.recv().await {
                Ok(event) => {
                    if let Some(found) = pick(event) {
                        return found;
                    }
                }
                Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => continue,
                Err(e) => panic!("events ended: {e}"),
            }
        }
    })
    .await
    .expect("the event came")
}

#[tokio::test(flavor = "multi_thread")]
async fn an_order_reaches_the_cache_with_the_stock_it_moved_and_is_announced() {
    use shelfsync_store::OrderStatus;
    let c = connected(10).await;
    let mut events = c.engine.events().subscribe();
    let (item, location, variant) = c.a_stocked_level(0);
    let placed = post(
        &c.sim,
        "/_sim/orders",
        json!({"lines": [{"variant_id": variant, "quantity": 2}], "location_id": location}),
    )
    .await;
    let id = placed["id"].as_u64().unwrap();
    let name = placed["name"].as_str().unwrap().to_owned();

    // Announced once, with what was bought.
    let notice = next_event(&mut events, 15, |e| match e {
        EngineEvent::NewOrder { order } => Some(order),
        _ => None,
    })
    .await;
    assert_eq!(
        (notice.id, notice.name.as_str(), notice.units),
        (id as i64, name.as_str(), 2)
    );
    // The order with its line, its two units committed: the cache's stock equals the
    // store's in every quantity the order moved, without a poll.
    let order = order_status(&c, id, OrderStatus::Open).await;
    assert_eq!(order.line_items.len(), 1);
    let line = &order.line_items[0];
    assert_eq!((line.quantity, line.unfulfilled_quantity), (2, 2));
    assert_eq!(line.inventory_item_id, Some(item as i64));
    stock_matches(&c, item, location).await;

    // Shipped: committed and on hand go down.
    post(&c.sim, &format!("/_sim/orders/{id}/fulfill"), json!({})).await;
    let order = order_status(&c, id, OrderStatus::Fulfilled).await;
    assert_eq!(order.line_items[0].unfulfilled_quantity, 0);
    stock_matches(&c, item, location).await;

    // Another order cancelled: its units go back to available.
    let placed = post(
        &c.sim,
        "/_sim/orders",
        json!({"lines": [{"variant_id": variant, "quantity": 1}], "location_id": location}),
    )
    .await;
    let second = placed["id"].as_u64().unwrap();
    order_status(&c, second, OrderStatus::Open).await;
    post(&c.sim, &format!("/_sim/orders/{second}/cancel"), json!({})).await;
    order_status(&c, second, OrderStatus::Cancelled).await;
    stock_matches(&c, item, location).await;

    let reader = c.reader();
    let recent = reader.recent_orders(None, 10).unwrap();
    let ids: Vec<i64> = recent.iter().map(|o| o.id).collect();
    assert_eq!(ids, [second as i64, id as i64], "newest first");
    // Every order event was applied from the inbox, and no job failed.
    assert!(
        reader
            .jobs_in_state(JobState::Failed, 10)
            .unwrap()
            .is_empty()
    );
    // Only the first order was announced as new: the second one too, once.
    let second_notice = next_event(&mut events, 5, |e| match e {
        EngineEvent::NewOrder { order } => Some(order),
        _ => None,
    })
    .await;
    assert_eq!(second_notice.id, second as i64);
    c.engine.shutdown().await;
}

/// Regression: two price edits of one variant within a second carry the same whole-second
/// `updated_at`; delivered in reverse, the older price used to win in the cache.
#[tokio::test(flavor = "multi_thread")]
async fn two_price_edits_in_one_second_delivered_in_reverse_leave_the_newer_price() {
    let start = config(5).start_time;
    let sim = shopify_sim::start_with_clock(config(5), shopify_sim::SimClock::manual(start))
        .await
        .unwrap();
    let c = connected_to(sim).await;
    let (_, _, variant) = c.a_level(0);
    let price = |reader: &Reader| {
        reader
            .variant(variant as i64)
            .unwrap()
            .map(|v| v.price.as_str().to_owned())
    };
    // The first edit's delivery is held back two seconds; the second one goes at once.
    post(
        &c.sim,
        "/_sim/faults",
        json!({"webhook_reorder_rate": 1.0, "webhook_reorder_seconds": 2}),
    )
    .await;
    let edit = |amount: &'static str| {
        post(
            &c.sim,
            "/_sim/prices",
            json!({"variant_id": variant, "price": amount, "compare_at_price": null}),
        )
    };
    edit("11.00").await;
    post(&c.sim, "/_sim/faults", json!({})).await;
    edit("12.00").await;
    let reader = c.reader();
    eventually(15, || {
        let got = price(&reader);
        async move {
            match got.as_deref() {
                Some("12.00") => Ok(()),
                other => Err(format!("price {other:?}")),
            }
        }
    })
    .await;
    // Now the older edit arrives, with the same time.
    for _ in 0..3 {
        post(&c.sim, "/_sim/clock/advance", json!({"seconds": 1})).await;
    }
    eventually(15, || {
        let r = all_delivered(&c.sim).and_then(|()| {
            match reader
                .inbox_counts()
                .map_err(|e| e.to_string())?
                .unprocessed
            {
                0 => Ok(()),
                n => Err(format!("{n} to apply")),
            }
        });
        async move { r }
    })
    .await;
    assert_eq!(price(&reader).as_deref(), Some("12.00"));
    cache_matches_sim(&c.sim, &reader).unwrap();
    c.engine.shutdown().await;
}

/// Regression: intake started before the first full sync queued a reconciliation that read
/// the whole catalogue page by page ahead of the full sync, spending the rate limit twice.
#[tokio::test(flavor = "multi_thread")]
async fn intake_before_the_first_sync_leaves_the_reading_to_the_full_sync() {
    let c = connected_with(sim(5).await, false).await;
    c.engine.sync(SyncKind::Full).await.unwrap();
    tokio::time::sleep(Duration::from_millis(500)).await;
    let reader = c.reader();
    let polls: Vec<_> = [JobState::Pending, JobState::Running, JobState::Done]
        .into_iter()
        .flat_map(|state| reader.jobs_in_state(state, 100).unwrap())
        .filter(|j| j.kind == shelfsync_engine::engine::JOB_SYNC_INCREMENTAL)
        .collect();
    assert!(polls.is_empty(), "{polls:?}");
    assert!(c.engine.reconciliation().await.unwrap().last.is_none());
    // Started again once synced, intake reconciles what changed while it was off.
    c.engine.start_intake(c.intake_config()).await.unwrap();
    eventually(15, || async {
        match c.engine.reconciliation().await.unwrap().last {
            Some(run) if run.reason == "start" => Ok(()),
            other => Err(format!("{other:?}")),
        }
    })
    .await;
    c.engine.shutdown().await;
}

/// Regression: the read of an order's stock asked for 50 items at once, which Shopify prices
/// above its 1,000-point limit for one query, so a large order's stock never arrived.
#[tokio::test(flavor = "multi_thread")]
async fn a_large_order_reads_back_the_stock_of_every_line() {
    let c = connected(30).await;
    let (location, lines) = {
        let store = c.sim.state.read_store();
        let location = *store.locations.keys().next().unwrap();
        let lines: Vec<(u64, u64)> = store
            .variants
            .values()
            .filter(|v| {
                store.inventory_items[&v.inventory_item_id]
                    .levels
                    .get(&location)
                    .is_some_and(|l| l.quantities[shopify_sim::store::AVAILABLE] >= 1)
            })
            .map(|v| (v.id, v.inventory_item_id))
            .take(45)
            .collect();
        (location, lines)
    };
    assert_eq!(
        lines.len(),
        45,
        "the store stocks 45 variants at one location"
    );
    post(
        &c.sim,
        "/_sim/orders",
        json!({
            "lines": lines.iter().map(|(v, _)| json!({"variant_id": v, "quantity": 1})).collect::<Vec<_>>(),
            "location_id": location,
        }),
    )
    .await;
    for (_, item) in &lines {
        stock_matches(&c, *item, location).await;
    }
    let failed = c.reader().jobs_in_state(JobState::Failed, 10).unwrap();
    assert!(failed.is_empty(), "{failed:?}");
    c.engine.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn stock_falling_to_the_low_stock_line_is_announced_once() {
    let c = connected(10).await;
    let reader = c.reader();
    let (item, location, variant) = c.a_level(4);
    let total = |reader: &Reader, variant: u64| {
        reader
            .levels_for_variant(variant as i64)
            .unwrap()
            .iter()
            .map(|l| l.level.quantities.available.unwrap_or(0))
            .sum::<i64>()
    };
    let start = total(&reader, variant);
    assert!(start > 3, "the seeded store stocks the variant: {start}");
    c.engine.low_stock().set_global((start - 2) as u32);
    let mut events = c.engine.events().subscribe();

    c.edit_stock(item, location, -3).await;
    let low = next_event(&mut events, 15, |e| match e {
        EngineEvent::LowStock { stock } => Some(stock),
        _ => None,
    })
    .await;
    assert_eq!(low.variant_id, variant as i64);
    assert_eq!((low.available, low.threshold), (start - 3, start - 2));
    assert!(
        low.title.contains(" - "),
        "product and variant: {}",
        low.title
    );

    // Further down, still under the line: no second announcement.
    c.edit_stock(item, location, -1).await;
    eventually(10, || {
        let t = total(&reader, variant);
        async move {
            if t == start - 4 {
                Ok(())
            } else {
                Err(format!("total {t}"))
            }
        }
    })
    .await;
    // A SKU's own line overrides the global one.
    let (other_item, other_location, other_variant) = c.a_level(5);
    let sku = c.sim.state.read_store().variants[&other_variant]
        .sku
        .clone();
    let line = total(&reader, other_variant) - 1;
    assert!(line > 0);
    c.engine
        .set_sku_threshold(&sku, Some(line as u32))
        .await
        .unwrap();
    c.engine.low_stock().set_global(0);
    c.edit_stock(other_item, other_location, -1).await;
    let next = next_event(&mut events, 15, |e| match e {
        EngineEvent::LowStock { stock } => Some(stock),
        _ => None,
    })
    .await;
    assert_eq!(
        next.variant_id, other_variant as i64,
        "not the first variant again"
    );
    assert_eq!((next.available, next.threshold), (line, line));
    assert_eq!(next.sku.as_deref(), Some(sku.as_str()));
    c.engine.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_reconciliation_repairs_what_webhooks_missed_and_counts_it() {
    let c = connected(10).await;
    let mut events = c.engine.events().subscribe();
    let reconciled = |e| match e {
        EngineEvent::Reconciled { reconciliation } => Some(reconciliation),
        _ => None,
    };
    // The pass that starting intake queues finds nothing to repair.
    let engine = c.engine.clone();
    eventually(15, || {
        let engine = engine.clone();
        async move {
            let summary = engine.reconciliation().await.map_err(|e| e.to_string())?;
            match summary.last {
                Some(run) if run.reason == "start" && run.repaired == 0 => Ok(()),
                other => Err(format!("{other:?}")),
            }
        }
    })
    .await;

    // Every delivery is lost from now on (the laptop's tunnel is down, say).
    post(&c.sim, "/_sim/faults", json!({"webhook_drop_rate": 1.0})).await;
    let edited: Vec<_> = (0..3).map(|n| c.a_level(n)).collect();
    for (item, location, _) in &edited {
        c.edit_stock(*item, *location, -1).await;
    }
    let (item, location, variant) = c.a_stocked_level(6);
    let placed = post(
        &c.sim,
        "/_sim/orders",
        json!({"lines": [{"variant_id": variant, "quantity": 1}], "location_id": location}),
    )
    .await;
    let order = placed["id"].as_u64().unwrap();

    c.engine.request_reconciliation("manual").await.unwrap();
    let pass = next_event(&mut events, 30, reconciled).await;
    assert_eq!(pass.reason, "manual");
    // Three edited levels, the ordered level and the order itself.
    assert_eq!(pass.repaired, 5, "{pass:?}");
    assert_eq!(pass.repaired_last_day, 5);
    let reader = c.reader();
    assert!(reader.order(order as i64).unwrap().is_some());
    for (item, location, _) in &edited {
        stock_matches(&c, *item, *location).await;
    }
    stock_matches(&c, item, location).await;
    let audit = reader
        .audit_for(
            "inventory_level",
            &format!("{}@{}", edited[0].0, edited[0].1),
        )
        .unwrap();
    assert_eq!(audit.last().unwrap().source, Source::Reconciliation);
    let status = c.engine.status().await.unwrap();
    let summary = status.reconciliation.unwrap();
    assert_eq!(summary.repaired_last_day, 5);
    assert_eq!(summary.last.unwrap().reason, "manual");
    c.engine.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_test_webhook_reports_where_it_arrived_and_changes_nothing() {
    let c = connected(5).await;
    let reader = c.reader();
    let before = reader.counts().unwrap();
    let report = c
        .engine
        .send_test_webhook(Duration::from_secs(10))
        .await
        .unwrap();
    assert_eq!(report.deliveries.len(), 1);
    let d = &report.deliveries[0];
    assert_eq!(d.path, shelfsync_engine::IntakePath::Listener);
    assert_eq!(d.address, c.public_url);
    assert!(d.sent && d.arrived, "{d:?}");
    assert_eq!(
        reader.counts().unwrap(),
        before,
        "a test changes no cached row"
    );

    // The tunnel closed: the store sends, nothing arrives, and the report says what to check.
    let host = c
        .public_url
        .trim_start_matches("https://")
        .split('/')
        .next()
        .unwrap();
    let closed = reqwest::Client::new()
        .delete(format!("{}/_sim/tunnels/{host}", c.sim.info.base_url))
        .send()
        .await
        .unwrap();
    assert_eq!(closed.status(), 204);
    let report = c
        .engine
        .send_test_webhook(Duration::from_millis(800))
        .await
        .unwrap();
    let d = &report.deliveries[0];
    assert!(d.sent && !d.arrived, "{d:?}");
    assert!(
        d.detail.as_deref().unwrap().contains("tunnel is running"),
        "{d:?}"
    );

    // Without intake there is nothing to test.
    c.engine.stop_intake().await;
    let err = c
        .engine
        .send_test_webhook(Duration::from_millis(100))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("not running"), "{err}");
    c.engine.shutdown().await;
}
