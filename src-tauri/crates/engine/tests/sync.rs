//! Sync against the simulator over real HTTP: after a full sync, and after store activity
//! and an incremental sync, the cache equals the simulator's state field by field.

use serde_json::json;
mod common;

use common::assert_cache_equals_sim;
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
