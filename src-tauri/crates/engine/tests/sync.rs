//! Sync against the simulator over real HTTP: after a full sync, and after store activity
//! and an incremental sync, the cache equals the simulator's state field by field.

use serde_json::json;
mod common;

use common::{assert_cache_equals_sim, cache_matches_sim};
use shelfsync_engine::{Cache, EngineEvent, Events, SyncKind, Syncer};
use shelfsync_shopify::{ClientConfig, Credentials, Secret, ShopifyClient};
use shelfsync_store::{Reader, Resource};
use shopify_sim::{RunningSim, SimConfig};

async fn setup(products: usize) -> (RunningSim, Syncer, tempfile::TempDir) {
    let sim = shopify_sim::start(SimConfig {
        products,
        variants_per_product: 3,
        locations: 3,
        ..SimConfig::default()
    })
    .await
    .unwrap();
    let token = Secret::new(sim.info.admin_token.clone().unwrap());
    let client = ShopifyClient::new(
        ClientConfig::new(&sim.info.base_url, Credentials::AdminToken(token)).unwrap(),
    )
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let cache = Cache::open(dir.path().join("store.db")).await.unwrap();
    let mut syncer = Syncer::new(client, cache, Events::new());
    syncer.page_size = 50;
    (sim, syncer, dir)
}

#[tokio::test(flavor = "multi_thread")]
async fn full_sync_then_incremental_sync_track_the_store() {
    let (sim, syncer, dir) = setup(40).await;
    let report = syncer.run(SyncKind::Full).await.unwrap();
    assert_eq!(report.variants, 120);
    let path = dir.path().join("store.db");
    assert_cache_equals_sim(&sim, &Reader::open(&path).unwrap());
    let reader = Reader::open(&path).unwrap();
    assert!(reader.watermark(Resource::Products).unwrap().is_some());
    assert!(
        reader
            .watermark(Resource::InventoryLevels)
            .unwrap()
            .is_some()
    );
    assert_eq!(reader.locations().unwrap().len(), 3);

    // Store activity: a sale, a merchant's stock edit and a price change.
    let (variant, item, location) = {
        let store = sim.state.read_store();
        let v = store.variants.values().nth(7).unwrap().clone();
        let item = &store.inventory_items[&v.inventory_item_id];
        let (loc, level) = item
            .levels
            .iter()
            .find(|(_, l)| l.quantities[0] >= 2)
            .expect("a level with stock");
        let _ = level;
        (v, item.id, *loc)
    };
    let http = reqwest::Client::new();
    let base = &sim.info.base_url;
    let ok = |r: reqwest::Response| assert!(r.status().is_success(), "{}", r.status());
    let mut events = syncer.events.subscribe();
    let placed: serde_json::Value = http
        .post(format!("{base}/_sim/orders"))
        .json(
            &json!({"lines": [{"variant_id": variant.id, "quantity": 2}], "location_id": location}),
        )
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    ok(http
        .post(format!("{base}/_sim/inventory"))
        .json(&json!({"inventory_item_id": item, "location_id": location, "name": "available", "delta": 5}))
        .send()
        .await
        .unwrap());
    let other = sim.state.read_store().variants.values().nth(30).unwrap().id;
    ok(http
        .post(format!("{base}/_sim/prices"))
        .json(&json!({"variant_id": other, "price": "99.95", "compare_at_price": null}))
        .send()
        .await
        .unwrap());

    let report = syncer.run(SyncKind::Incremental).await.unwrap();
    // Only what changed (and the overlap window) is read again, not the whole store.
    assert!(
        report.variants < 12,
        "incremental re-read too much: {report:?}"
    );
    assert!(
        report.levels >= 1 && report.levels < 36,
        "levels: {report:?}"
    );
    assert_cache_equals_sim(&sim, &Reader::open(&path).unwrap());
    // The store had no orders at the full sync; the order placed since is new, and said so
    // (regression: a store without orders never got an orders watermark, so every pass was a
    // first pass, which announces nothing).
    let mut announced = Vec::new();
    while let Ok(event) = events.try_recv() {
        if let EngineEvent::NewOrder { order } = event {
            announced.push(order.id);
        }
    }
    assert_eq!(announced, [placed["id"].as_i64().unwrap()]);
    let cached = Reader::open(&path)
        .unwrap()
        .variant(other as i64)
        .unwrap()
        .unwrap();
    assert_eq!(cached.price.as_str(), "99.95");
    sim.stop().await;
}

/// The points Shopify charged for one pass of `syncer`, and its report.
async fn costed_pass(syncer: &Syncer) -> (f64, shelfsync_engine::SyncReport) {
    let before = syncer.client.stats().actual_cost;
    let report = syncer.run(SyncKind::Incremental).await.unwrap();
    (syncer.client.stats().actual_cost - before, report)
}

#[tokio::test(flavor = "multi_thread")]
async fn narrow_passes_cost_less_and_the_next_wide_pass_reads_a_late_write() {
    // The store's clock moves only when the test moves it, so every timestamp is known.
    let start = shopify_sim::SimConfig::default().start_time;
    let sim = shopify_sim::start_with_clock(
        SimConfig {
            products: 20,
            variants_per_product: 3,
            locations: 3,
            ..SimConfig::default()
        },
        shopify_sim::SimClock::manual(start),
    )
    .await
    .unwrap();
    let token = Secret::new(sim.info.admin_token.clone().unwrap());
    let client = ShopifyClient::new(
        ClientConfig::new(&sim.info.base_url, Credentials::AdminToken(token)).unwrap(),
    )
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("store.db");
    let cache = Cache::open(&path).await.unwrap();
    let mut syncer = Syncer::new(client, cache, Events::new());
    syncer.page_size = 50;
    // No wide pass falls due by time in this test; the one it needs is asked for below.
    syncer.wide_every = std::time::Duration::from_secs(3_600);

    // The first pass after a start is wide (here it reads everything: no watermarks yet).
    let (_, first) = costed_pass(&syncer).await;
    assert!(first.wide, "{first:?}");
    assert_cache_equals_sim(&sim, &Reader::open(&path).unwrap());
    let http = reqwest::Client::new();
    let base = &sim.info.base_url;
    let post = |path: &str, body: serde_json::Value| {
        let request = http.post(format!("{base}{path}")).json(&body);
        async move {
            let r = request.send().await.unwrap();
            assert!(r.status().is_success(), "{}", r.status());
        }
    };

    // A level and a price written long before the store's present, whose writes commit only
    // now, 200 s late: older than a narrow pass reaches, inside the wide overlap.
    let old = start - 1_000_000;
    let (item, location, variant) = {
        let store = sim.state.read_store();
        let v = store
            .variants
            .values()
            .find(|v| {
                v.updated_at < old
                    && store.inventory_items[&v.inventory_item_id]
                        .levels
                        .values()
                        .any(|l| l.updated_at < old)
            })
            .expect("a variant and a level untouched for a while");
        let item = &store.inventory_items[&v.inventory_item_id];
        let location = *item
            .levels
            .iter()
            .find(|(_, l)| l.updated_at < old)
            .unwrap()
            .0;
        (item.id, location, v.clone())
    };
    // Other variants: their item, its locations.
    let others: Vec<(u64, Vec<u64>, u64)> = {
        let store = sim.state.read_store();
        store
            .variants
            .values()
            .filter(|v| v.inventory_item_id != item)
            .take(25)
            .map(|v| {
                let i = &store.inventory_items[&v.inventory_item_id];
                (i.id, i.levels.keys().copied().collect(), v.id)
            })
            .collect()
    };
    // An edit of stock and of a price now, read by a narrow pass, then a wide pass: it is
    // recorded as starting from watermarks at the store's present.
    sim.state.clock.advance(std::time::Duration::from_secs(1));
    let (other_item, other_locations, other_variant) = &others[0];
    post(
        "/_sim/inventory",
        json!({"inventory_item_id": other_item, "location_id": other_locations[0], "name": "available", "delta": 1}),
    )
    .await;
    post(
        "/_sim/prices",
        json!({"variant_id": other_variant, "price": "12.34", "compare_at_price": null}),
    )
    .await;
    let (_, narrow) = costed_pass(&syncer).await;
    assert!(
        !narrow.wide && narrow.levels >= 1 && narrow.variants >= 1,
        "{narrow:?}"
    );
    let mut due = syncer.clone();
    due.wide_every = std::time::Duration::ZERO;
    let (_, wide) = costed_pass(&due).await;
    assert!(wide.wide, "{wide:?}");

    // Writes 250 s late: made 245 s before the store's present, committed only now.
    sim.state.clock.advance(std::time::Duration::from_secs(4));
    let late = sim.state.clock.now() - 250_000;
    {
        let mut store = sim.state.write_store();
        store.adjust_level(item, location, &[(shopify_sim::store::AVAILABLE, 7)], late);
        store
            .set_price(variant.id, variant.price_cents + 100, None, late)
            .unwrap();
    }
    // Then an item's stock edited at every location every 10 s of store time, each time
    // followed by a pass, for 250 s.
    let mut narrow_points = Vec::new();
    for (step, (other_item, other_locations, _)) in others.iter().enumerate() {
        sim.state.clock.advance(std::time::Duration::from_secs(10));
        for location in other_locations {
            post(
                "/_sim/inventory",
                json!({"inventory_item_id": other_item, "location_id": location, "name": "available", "delta": 1}),
            )
            .await;
        }
        let (points, report) = costed_pass(&syncer).await;
        assert!(!report.wide, "{report:?}");
        // The edits, and the previous pass's again (they share the watermark's second).
        assert!(
            report.levels <= 2 * 3,
            "a narrow pass reads the newest edits only: {report:?}"
        );
        // The price edited at the start is not read again once the store has shown a later
        // time (the stock edits') before a pass: a write older than that would be late.
        if step >= 2 {
            assert_eq!(report.variants, 0, "step {step}: {report:?}");
        }
        narrow_points.push(points);
    }
    // The narrow passes moved the stock watermark far past the late write: even 450 s
    // behind it (the overlap and the period of wide passes) is after it.
    let reader = Reader::open(&path).unwrap();
    let w = reader
        .watermark(Resource::InventoryLevels)
        .unwrap()
        .unwrap();
    assert!(w.instant().as_millisecond() - 450_000 > late, "{w:?}");
    assert!(
        cache_matches_sim(&sim, &reader).is_err(),
        "narrow passes do not reach back to the late writes"
    );

    // A wide pass reads from 300 s behind where the previous wide pass started.
    let (wide_points, wide) = costed_pass(&due).await;
    assert!(wide.wide, "{wide:?}");
    let edited: usize = others.iter().map(|(_, locations, _)| locations.len()).sum();
    assert!(wide.levels as usize > edited, "{wide:?}");
    assert_cache_equals_sim(&sim, &Reader::open(&path).unwrap());
    let cached = Reader::open(&path)
        .unwrap()
        .variant(variant.id as i64)
        .unwrap()
        .unwrap();
    assert_eq!(
        cached.price.as_str(),
        shopify_sim::store::money(variant.price_cents + 100)
    );

    // The wide pass is recorded (clones share it): the next pass is narrow again.
    let (after_points, after) = costed_pass(&syncer).await;
    assert!(!after.wide, "{after:?}");
    let narrow_max = narrow_points
        .iter()
        .copied()
        .chain([after_points])
        .fold(0.0, f64::max);
    assert!(
        narrow_max * 1.5 < wide_points,
        "a narrow pass costs far less than a wide one: narrow {narrow_points:?}, {after_points}; wide {wide_points}"
    );
    sim.stop().await;
}

/// Regression: with the reads of a pass made at once, the first pass on a store without
/// orders could finish its orders read before the catalogue's watermark existed, leave the
/// orders without a watermark, and so never announce a new order (every pass stayed a
/// "first" pass, which announces nothing).
#[tokio::test(flavor = "multi_thread")]
async fn after_a_first_pass_on_a_store_without_orders_the_next_order_is_announced() {
    let (sim, syncer, _dir) = setup(30).await;
    assert!(sim.state.read_store().orders.is_empty());
    let mut events = syncer.events.subscribe();
    syncer.run(SyncKind::Incremental).await.unwrap();
    let (variant, location) = {
        let store = sim.state.read_store();
        store
            .inventory_items
            .values()
            .find_map(|item| {
                item.levels
                    .values()
                    .find(|l| l.quantities[shopify_sim::store::AVAILABLE] >= 1)
                    .map(|l| (item.variant_id, l.location_id))
            })
            .unwrap()
    };
    {
        let now = sim.state.clock.now();
        sim.state
            .write_store()
            .place_order(&[(variant, 1)], Some(location), now)
            .unwrap();
    }
    syncer.run(SyncKind::Incremental).await.unwrap();
    let mut announced = 0;
    while let Ok(event) = events.try_recv() {
        if matches!(event, EngineEvent::NewOrder { .. }) {
            announced += 1;
        }
    }
    assert_eq!(announced, 1);
}
