//! Offline for a simulated hour: the laptop is closed while the shop keeps trading.
//!
//! Shelfsync runs with both webhook paths, the loopback listener behind the owner's tunnel and
//! the cloud relay (Shopify → EventBridge → the owner's SQS queue). The owner's EventBridge
//! rule forwards only stock updates and new orders. Then Shelfsync stops, and for an hour of
//! store time customers place orders, the merchant edits stock and prices, and orders are
//! shipped and cancelled:
//!
//! - the queue holds every relayed event until Shelfsync is back;
//! - Shopify's deliveries to the tunnel fail (nothing listens) and are retried on Shopify's
//!   schedule until, after eight failures in a row, Shopify removes each of those
//!   subscriptions; the relay's subscriptions, whose deliveries succeed, stay.
//!
//! Shelfsync starts again and nobody touches anything: it subscribes the tunnel again, reads
//! the queue empty, and the cache ends up equal to the store (every quantity, price and order).
//! What neither path brought (prices, shipments, cancellations, and the quantities other than
//! `available`, which the stock webhook does not carry) is read by the reconciliation that
//! runs once the queue's backlog is read, and counted there, exactly: a change the relay
//! brought is not counted as missed.
//!
//! Needs moto: ignored by a plain `cargo test`, run by `.ci/test` with `--include-ignored`.

mod common;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::moto::{self, Moto, depth, event_source_arn, relay_credentials, relay_settings};
use common::{
    assert_cache_equals_sim, connect_with_client_credentials, eventually, mock_keychain,
    stock_equals_sim, tunnel, wait_status,
};
use serde_json::{Value, json};
use shelfsync_engine::intake::TOPICS;
use shelfsync_engine::{
    Engine, EngineConfig, IntakeConfig, IntakePath, Keychain, StoreKey, SyncKind,
};
use shelfsync_shopify::Clock;
use shelfsync_store::{OrderStatus, Reader, Source, Timestamp};
use shopify_sim::clock::parse_rfc3339;
use shopify_sim::store::AVAILABLE;
use shopify_sim::webhooks::delivery::Outcome;
use shopify_sim::webhooks::eventbridge::EventBridgeTarget;
use shopify_sim::{RunningSim, SimClock, SimConfig};

/// The topics the owner's EventBridge rule forwards to the queue.
const RELAYED: &[&str] = &["inventory_levels/update", "orders/create"];

/// The subscriptions whose deliveries fail while Shelfsync is off: every topic the hour's
/// changes fire.
const EXERCISED: &[&str] = &[
    "INVENTORY_LEVELS_UPDATE",
    "ORDERS_CREATE",
    "ORDERS_UPDATED",
    "ORDERS_FULFILLED",
    "ORDERS_CANCELLED",
    "PRODUCTS_UPDATE",
];

fn target(moto: &Moto) -> EventBridgeTarget {
    EventBridgeTarget {
        endpoint_url: moto.endpoint.clone(),
        region: moto::REGION.into(),
        event_bus_name: moto::BUS.into(),
        access_key_id: moto::KEY_ID.into(),
        secret_access_key: moto::SECRET_KEY.into(),
    }
}

fn engine(dir: &std::path::Path, keychain: &Keychain) -> Arc<Engine> {
    Arc::new(Engine::new(EngineConfig {
        data_dir: dir.to_path_buf(),
        keychain: keychain.clone(),
        clock: Clock::real(),
    }))
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

/// The simulator's subscriptions as `(topic, uri)`.
async fn subscriptions(sim: &RunningSim) -> Vec<(String, String)> {
    let listed: Value = reqwest::get(format!("{}/_sim/webhooks", sim.info.base_url))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    listed["subscriptions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["topic"].as_str().unwrap().to_owned(),
                s["uri"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

fn topics_at(subs: &[(String, String)], uri: &str) -> BTreeSet<String> {
    subs.iter()
        .filter(|(_, u)| u == uri)
        .map(|(t, _)| t.clone())
        .collect()
}

fn all_topics() -> BTreeSet<String> {
    TOPICS.iter().map(|t| (*t).to_owned()).collect()
}

/// Ok once the simulator's dispatcher has made every attempt due by the (stopped) store
/// clock: each event has reached each subscription that wants it, and no failed delivery
/// waits for a retry whose time has come.
fn deliveries_settled(sim: &RunningSim) -> Result<(), String> {
    let now = sim.state.clock.now();
    let attempts = sim.state.webhooks.attempts();
    let subs = sim.state.webhooks.subscriptions();
    let events = sim.state.read_store().events.clone();
    for event in events.iter().filter(|e| e.payload.is_some()) {
        for sub in subs
            .iter()
            .filter(|s| s.wants(event.topic) && event.sequence > s.after_sequence)
        {
            let tried = attempts
                .iter()
                .any(|a| a.event_sequence == event.sequence && a.subscription_id == sub.id);
            if !tried {
                return Err(format!(
                    "event {} ({}) not yet sent to {}",
                    event.sequence,
                    event.topic,
                    sub.address.uri()
                ));
            }
        }
    }
    let mut last = HashMap::new();
    for a in &attempts {
        last.insert(a.webhook_id.as_str(), a);
    }
    for a in last.values() {
        let due = a.next_attempt_at.as_deref().and_then(parse_rfc3339);
        if a.outcome == Outcome::Failed && due.is_some_and(|due| due <= now) {
            return Err(format!("retry of {} to {} is due", a.topic, a.uri));
        }
    }
    Ok(())
}

/// Waits until Shopify has made every delivery and retry due by the store's clock.
async fn settle(sim: &RunningSim) {
    eventually(20, || {
        let r = deliveries_settled(sim);
        async move { r }
    })
    .await;
}

/// Each order has the status the store gives it.
fn orders_match(reader: &Reader, want: &BTreeMap<u64, OrderStatus>) -> Result<(), String> {
    for (id, status) in want {
        match reader.order(*id as i64).map_err(|e| e.to_string())? {
            Some(order) if order.status() == *status => {}
            other => {
                return Err(format!(
                    "order {id}: want {status:?}, cache has {:?}",
                    other.map(|o| o.status())
                ));
            }
        }
    }
    Ok(())
}

/// Ok once the engine has applied everything it received and has no job left to run.
fn quiet(reader: &Reader) -> Result<(), String> {
    let inbox = reader.inbox_counts().map_err(|e| e.to_string())?;
    let jobs = reader.job_counts().map_err(|e| e.to_string())?;
    if inbox.unprocessed == 0 && jobs.pending == 0 && jobs.running == 0 {
        Ok(())
    } else {
        Err(format!("inbox {inbox:?}, jobs {jobs:?}"))
    }
}

/// A level of the store: `(variant, inventory item, location)`.
type Spot = (u64, u64, u64);

/// `count` levels of distinct variants with at least 5 units available, each a level the
/// test changes in its own way (so no two kinds of change share an inventory item).
fn distinct_stocked_levels(sim: &RunningSim, count: usize) -> Vec<Spot> {
    let store = sim.state.read_store();
    let spots: Vec<Spot> = store
        .variants
        .values()
        .filter_map(|v| {
            store.inventory_items[&v.inventory_item_id]
                .levels
                .iter()
                .find(|(_, l)| l.quantities[AVAILABLE] >= 5)
                .map(|(location, _)| (v.id, v.inventory_item_id, *location))
        })
        .take(count)
        .collect();
    assert_eq!(
        spots.len(),
        count,
        "the seeded store stocks enough variants"
    );
    spots
}

async fn place_order(sim: &RunningSim, (variant, _, location): Spot) -> u64 {
    let placed = post(
        sim,
        "/_sim/orders",
        json!({ "lines": [{ "variant_id": variant, "quantity": 1 }], "location_id": location }),
    )
    .await;
    placed["id"].as_u64().unwrap()
}

async fn edit_stock(sim: &RunningSim, (_, item, location): Spot, delta: i64) {
    post(
        sim,
        "/_sim/inventory",
        json!({ "inventory_item_id": item, "location_id": location, "name": "available", "delta": delta }),
    )
    .await;
}

async fn edit_price(sim: &RunningSim, (variant, _, _): Spot, price: &str) {
    post(
        sim,
        "/_sim/prices",
        json!({ "variant_id": variant, "price": price, "compare_at_price": null }),
    )
    .await;
}

async fn fulfill(sim: &RunningSim, order: u64) {
    post(sim, &format!("/_sim/orders/{order}/fulfill"), json!({})).await;
}

async fn cancel(sim: &RunningSim, order: u64) {
    post(sim, &format!("/_sim/orders/{order}/cancel"), json!({})).await;
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "needs moto: run through .ci/test"]
async fn after_an_hour_offline_the_cache_converges_unattended_and_the_missed_changes_are_counted() {
    let moto = Moto::start();
    // Visibility of a few seconds: a message handed to a poll that shutting down cut short
    // comes back soon.
    let queue = moto.set_up_relay("shop-events", 5, 5, RELAYED);
    let config = SimConfig {
        products: 8,
        eventbridge: Some(target(&moto)),
        ..SimConfig::default()
    };
    // The store's clock moves only when the test moves it.
    let clock = SimClock::manual(config.start_time);
    let sim = shopify_sim::start_with_clock(config, clock).await.unwrap();

    // Connected, fully synced, the relay's AWS key in the keychain.
    let dir = tempfile::tempdir().unwrap();
    let keychain = mock_keychain();
    let first = engine(dir.path(), &keychain);
    connect_with_client_credentials(&first, &sim).await;
    first.sync(SyncKind::Full).await.unwrap();
    let address = first.profile().unwrap().address;
    relay_credentials()
        .save(&keychain, &StoreKey::new(&address))
        .await
        .unwrap();

    // Both paths: the listener behind the owner's tunnel, and the relay.
    let port = moto::free_port();
    let public_url = tunnel(&sim, port).await;
    let intake = || IntakeConfig {
        port,
        public_url: Some(public_url.clone()),
        relay: Some(relay_settings(&moto, &queue)),
        relay_event_source: Some(event_source_arn(&sim)),
        check_subscriptions_every: Duration::from_secs(1),
        ..IntakeConfig::default()
    };
    first.start_intake(intake()).await.unwrap();
    wait_status(&first, 20, "subscriptions at both addresses", |s| {
        s.subscriptions.len() == 2 * TOPICS.len() && s.subscriptions.iter().all(|h| h.present)
    })
    .await;
    let subs = subscriptions(&sim).await;
    assert_eq!(topics_at(&subs, &public_url), all_topics());
    assert_eq!(topics_at(&subs, &event_source_arn(&sim)), all_topics());
    // The start's reconciliation has run (after the empty queue was read) and found nothing.
    eventually(20, || async {
        match first
            .reconciliation()
            .await
            .map_err(|e| e.to_string())?
            .last
        {
            Some(run) if run.reason == "start" && run.repaired == 0 => Ok(()),
            other => Err(format!("{other:?}")),
        }
    })
    .await;

    // Eleven variants, each changed one way only: two orders placed now (one to be shipped
    // and one to be cancelled while Shelfsync is off), three orders placed while it is off,
    // four levels the merchant edits and two prices.
    let spots = distinct_stocked_levels(&sim, 11);
    let (to_ship, to_cancel) = (spots[0], spots[1]);
    let (first_new, second_new, third_new) = (spots[2], spots[3], spots[4]);
    let edited = [spots[5], spots[6], spots[7], spots[8]];
    let priced = [spots[9], spots[10]];

    let shipped_later = place_order(&sim, to_ship).await;
    let cancelled_later = place_order(&sim, to_cancel).await;
    post(&sim, "/_sim/clock/advance", json!({ "seconds": 60 })).await;
    let reader = Reader::open(first.cache().unwrap().path()).unwrap();
    let open_now = BTreeMap::from([
        (shipped_later, OrderStatus::Open),
        (cancelled_later, OrderStatus::Open),
    ]);
    eventually(30, || {
        let r = orders_match(&reader, &open_now)
            .and_then(|()| stock_equals_sim(&sim, &reader))
            .and_then(|()| quiet(&reader));
        async move { r }
    })
    .await;
    eventually(20, || async {
        match depth(&moto, &queue.queue_url).await {
            0 => Ok(()),
            n => Err(format!("{n} messages in the queue")),
        }
    })
    .await;
    let before_restart_audit = reader
        .audit_for(
            "inventory_level",
            &format!("{}@{}", edited[0].1, edited[0].2),
        )
        .unwrap()
        .len();
    drop(reader);
    settle(&sim).await;

    // The laptop closes.
    first.shutdown().await;
    drop(first);
    let offline_from = sim.state.clock.now();
    let events_before = sim.state.read_store().events.len();

    // An hour of store time, minute by minute.
    let mut first_order = 0;
    let mut second_order = 0;
    let mut third_order = 0;
    for minute in 1..=60 {
        post(&sim, "/_sim/clock/advance", json!({ "seconds": 60 })).await;
        settle(&sim).await;
        match minute {
            1 => fulfill(&sim, shipped_later).await,
            2 => edit_price(&sim, priced[0], "41.50").await,
            3 => cancel(&sim, cancelled_later).await,
            4 => edit_stock(&sim, edited[0], -2).await,
            6 => first_order = place_order(&sim, first_new).await,
            8 => edit_price(&sim, priced[1], "17.25").await,
            10 => edit_stock(&sim, edited[1], 3).await,
            12 => second_order = place_order(&sim, second_new).await,
            15 => fulfill(&sim, first_order).await,
            20 => cancel(&sim, second_order).await,
            25 => third_order = place_order(&sim, third_new).await,
            30 => edit_stock(&sim, edited[2], -1).await,
            40 => edit_stock(&sim, edited[0], 5).await,
            50 => edit_price(&sim, priced[0], "39.00").await,
            55 => edit_stock(&sim, edited[3], -4).await,
            _ => {}
        }
        settle(&sim).await;
    }
    assert_eq!(
        sim.state.clock.now() - offline_from,
        3_600_000,
        "an hour of store time"
    );

    // Shopify gave up on the tunnel: each subscription whose deliveries kept failing is
    // gone, those that had nothing to deliver remain, and so does every subscription of the
    // relay, whose deliveries succeeded.
    let subs = subscriptions(&sim).await;
    let exercised: BTreeSet<String> = EXERCISED.iter().map(|t| (*t).to_owned()).collect();
    assert_eq!(
        topics_at(&subs, &public_url),
        all_topics().difference(&exercised).cloned().collect(),
        "{subs:?}"
    );
    assert_eq!(topics_at(&subs, &event_source_arn(&sim)), all_topics());
    let attempts = sim.state.webhooks.attempts();
    let to_tunnel: Vec<_> = attempts
        .iter()
        .filter(|a| a.uri == public_url && a.event_sequence > events_before as u64)
        .collect();
    assert!(
        to_tunnel
            .iter()
            .all(|a| matches!(a.outcome, Outcome::Failed | Outcome::Abandoned)),
        "nothing reached the tunnel"
    );
    let removed: BTreeSet<String> = to_tunnel
        .iter()
        .filter(|a| a.subscription_removed)
        .map(|a| a.topic.to_ascii_uppercase().replace('/', "_"))
        .collect();
    assert_eq!(removed, exercised, "removed after failed deliveries");
    // The queue holds every relayed event of the hour.
    let held = sim.state.read_store().events[events_before..]
        .iter()
        .filter(|e| RELAYED.contains(&e.topic))
        .count() as u64;
    assert!(held > 0);
    assert_eq!(depth(&moto, &queue.queue_url).await, held);

    // The laptop opens: Shelfsync starts as the app starts it, with no sync asked for.
    let second = engine(dir.path(), &keychain);
    let deadline = Instant::now() + Duration::from_secs(10);
    while let Err(err) = second.resume().await {
        // The previous engine's tasks let go of the database as they end.
        assert!(Instant::now() < deadline, "{err}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let restarted_at = Timestamp::now();
    second.start_intake(intake()).await.unwrap();

    // The tunnel's subscriptions are back, each topic once, and the restoration is counted.
    let status = wait_status(&second, 30, "subscriptions at both addresses again", |s| {
        s.subscriptions.len() == 2 * TOPICS.len() && s.subscriptions.iter().all(|h| h.present)
    })
    .await;
    for health in &status.subscriptions {
        let lost = health.uri == public_url && exercised.contains(&health.topic);
        assert_eq!(health.restored, u64::from(lost), "{health:?}");
    }
    let subs = subscriptions(&sim).await;
    assert_eq!(subs.len(), 2 * TOPICS.len(), "{subs:?}");
    assert_eq!(topics_at(&subs, &public_url), all_topics());
    assert_eq!(topics_at(&subs, &event_source_arn(&sim)), all_topics());

    // The queue is read empty, each held event stored once.
    eventually(30, || async {
        match depth(&moto, &queue.queue_url).await {
            0 => Ok(()),
            n => Err(format!("{n} messages still in the queue")),
        }
    })
    .await;
    let status = wait_status(&second, 30, "the held events accepted", |s| {
        s.paths
            .iter()
            .find(|p| p.path == IntakePath::Relay)
            .is_some_and(|p| p.accepted == held)
    })
    .await;
    assert!(
        !status.paths.iter().any(|p| p.path == IntakePath::Listener),
        "nothing came to the listener: {status:#?}"
    );

    // Then the reconciliation, and the cache equals the store.
    let reader = Reader::open(second.cache().unwrap().path()).unwrap();
    let want_orders = BTreeMap::from([
        (shipped_later, OrderStatus::Fulfilled),
        (cancelled_later, OrderStatus::Cancelled),
        (first_order, OrderStatus::Fulfilled),
        (second_order, OrderStatus::Cancelled),
        (third_order, OrderStatus::Open),
    ]);
    eventually(60, || async {
        match second
            .reconciliation()
            .await
            .map_err(|e| e.to_string())?
            .last
        {
            Some(run) if run.started_at >= restarted_at => {}
            other => return Err(format!("no reconciliation since the restart: {other:?}")),
        }
        stock_equals_sim(&sim, &reader)?;
        orders_match(&reader, &want_orders)?;
        quiet(&reader)
    })
    .await;
    assert_cache_equals_sim(&sim, &reader);
    let placed: BTreeSet<i64> = reader
        .recent_orders(None, 50)
        .unwrap()
        .iter()
        .map(|o| o.id)
        .collect();
    for id in want_orders.keys() {
        assert!(placed.contains(&(*id as i64)), "order {id} listed");
    }
    assert!(reader.failed_jobs().unwrap().is_empty());

    // Counted: what neither path brought, once per record. The four levels the merchant
    // edited (the relay brought `available`, not `on_hand`), the two levels of the orders
    // shipped or cancelled (`committed`, `on_hand`), the two repriced variants, and four
    // orders whose shipping or cancellation no path forwarded. The three orders placed
    // while off came through the relay with their stock: not counted.
    let repaired: BTreeSet<(String, String)> = reader
        .recent_audit(10_000)
        .unwrap()
        .into_iter()
        .filter(|e| e.source == Source::Reconciliation)
        .map(|e| (e.entity, e.entity_id))
        .collect();
    let level =
        |(_, item, location): Spot| ("inventory_level".to_owned(), format!("{item}@{location}"));
    let variant = |(id, _, _): Spot| ("variant".to_owned(), id.to_string());
    let mut want: BTreeSet<(String, String)> = [to_ship, to_cancel]
        .into_iter()
        .chain(edited)
        .map(level)
        .collect();
    want.extend(priced.map(variant));
    assert_eq!(repaired, want);
    let changed_orders = 4;
    let summary = second.reconciliation().await.unwrap();
    let run = summary.last.clone().unwrap();
    assert_eq!(run.reason, "start");
    assert!(run.started_at >= restarted_at);
    assert_eq!(
        run.repaired,
        want.len() as u64 + changed_orders,
        "{summary:?}"
    );
    // Before going offline the first start's pass found nothing; no other pass counted any.
    assert_eq!(
        summary.repaired_last_day, run.repaired,
        "one pass counted them"
    );
    // The merchant's edit of the first level: `available` arrived by the relay, `on_hand`
    // by the reconciliation.
    let trail = reader
        .audit_for(
            "inventory_level",
            &format!("{}@{}", edited[0].1, edited[0].2),
        )
        .unwrap();
    let since_restart = &trail[before_restart_audit..];
    let by_field = |field: &str| -> Vec<Source> {
        since_restart
            .iter()
            .filter(|e| e.field == field)
            .map(|e| e.source)
            .collect()
    };
    assert_eq!(
        by_field("available"),
        [Source::Webhook, Source::Webhook],
        "{trail:?}"
    );
    assert_eq!(by_field("on_hand"), [Source::Reconciliation], "{trail:?}");
    let price = reader
        .audit_for("variant", &priced[0].0.to_string())
        .unwrap();
    assert_eq!(price.last().unwrap().source, Source::Reconciliation);

    second.shutdown().await;
    sim.stop().await;
}
