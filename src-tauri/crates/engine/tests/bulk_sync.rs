//! Full sync through a bulk operation against the simulator over real HTTP: the cache equals
//! the store field by field (including product fields and watermarks); a bulk operation that
//! fails or is canceled surfaces as a clear error and leaves the watermarks alone; a download
//! link that expires mid-way is handled by starting a new operation; the finish webhook's
//! hook wakes the poll loop early; another bulk query left running by the app is canceled.

use std::time::Duration;

mod common;

use common::assert_cache_equals_sim;
use serde_json::json;
use shelfsync_engine::{Cache, EngineEvent, Events, SyncError, SyncKind, Syncer};
use shelfsync_shopify::{ClientConfig, Credentials, Secret, ShopifyClient};
use shelfsync_store::{Reader, Resource, Source};
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
    // Several transactions even for a small store.
    syncer.bulk.batch_rows = 50;
    syncer.bulk.poll_first = Duration::from_millis(20);
    syncer.bulk.poll_max = Duration::from_millis(100);
    (sim, syncer, dir)
}

fn reader(dir: &tempfile::TempDir) -> Reader {
    Reader::open(dir.path().join("store.db")).unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_bulk_full_sync_fills_the_cache_with_the_store() {
    let (sim, syncer, dir) = setup(40).await;
    let mut events = syncer.events.subscribe();
    let report = syncer.run(SyncKind::Full).await.unwrap();
    let (variants, levels) = {
        let store = sim.state.read_store();
        let levels: usize = store.inventory_items.values().map(|i| i.levels.len()).sum();
        (store.variants.len(), levels)
    };
    assert_eq!(report.variants as usize, variants);
    assert_eq!(report.levels as usize, levels);
    let r = reader(&dir);
    assert_cache_equals_sim(&sim, &r);
    // Products, field by field.
    {
        let store = sim.state.read_store();
        for p in store.products.values() {
            let cached = r.product(p.id as i64).unwrap().expect("product cached");
            assert_eq!(cached.title, p.title);
            assert_eq!(cached.handle, p.handle);
            assert_eq!(cached.status, p.status);
        }
    }
    assert!(r.watermark(Resource::Products).unwrap().is_some());
    assert!(r.watermark(Resource::InventoryLevels).unwrap().is_some());
    // One bulk operation did it, and progress was reported against its object count.
    let ops = sim.state.bulk.all();
    assert_eq!(ops.len(), 1);
    let mut progress = Vec::new();
    let mut finished = false;
    while let Ok(event) = events.try_recv() {
        match event {
            EngineEvent::SyncProgress { rows, total, .. } => progress.push((rows, total)),
            EngineEvent::SyncFinished { sync, .. } => finished = sync == SyncKind::Full,
            _ => {}
        }
    }
    assert!(finished, "SyncFinished published");
    assert!(
        progress.len() > 1,
        "progress during the ingest: {progress:?}"
    );
    let total = Some((variants + levels) as u64);
    assert_eq!(progress.last(), Some(&((variants + levels) as u64, total)));

    // Store activity, then an incremental pass: still equal (the watermarks were right).
    let http = reqwest::Client::new();
    let (item, location, variant) = {
        let store = sim.state.read_store();
        let v = store.variants.values().next().unwrap();
        let location = *store.inventory_items[&v.inventory_item_id]
            .levels
            .keys()
            .next()
            .unwrap();
        (v.inventory_item_id, location, v.id)
    };
    sim.state.clock.advance(Duration::from_secs(60));
    for (path, body) in [
        (
            "inventory",
            json!({"inventory_item_id": item, "location_id": location, "name": "available", "delta": -2}),
        ),
        (
            "prices",
            json!({"variant_id": variant, "price": "99.95", "compare_at_price": null}),
        ),
    ] {
        let r = http
            .post(format!("{}/_sim/{path}", sim.info.base_url))
            .json(&body)
            .send()
            .await
            .unwrap();
        assert!(r.status().is_success());
    }
    syncer.run(SyncKind::Incremental).await.unwrap();
    assert_cache_equals_sim(&sim, &reader(&dir));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_failed_bulk_operation_is_a_clear_error_and_moves_no_watermark() {
    let (sim, syncer, dir) = setup(10).await;
    sim.state.bulk.fail_next("INTERNAL_SERVER_ERROR");
    let err = syncer.run(SyncKind::Full).await.unwrap_err();
    assert!(matches!(err, SyncError::Bulk(_)), "{err:?}");
    let text = err.to_string();
    assert!(
        text.contains("export failed") && text.contains("INTERNAL_SERVER_ERROR"),
        "{text}"
    );
    let r = reader(&dir);
    assert_eq!(r.watermark(Resource::Products).unwrap(), None);
    assert_eq!(r.counts().unwrap().variants, 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_canceled_bulk_operation_is_a_clear_error() {
    let (sim, syncer, _dir) = setup(10).await;
    // The simulated clock does not move past the pace: the operation stays RUNNING.
    sim.state.bulk.set_pace(Some(0.0));
    let running = tokio::spawn({
        let syncer = syncer.clone();
        async move { syncer.run(SyncKind::Full).await }
    });
    let id = loop {
        if let Some(op) = sim.state.bulk.all().first() {
            break format!("gid://shopify/BulkOperation/{}", op.id);
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    };
    // Someone cancels it (another app session, or the merchant's support).
    let document = "mutation Cancel($id: ID!) { bulkOperationCancel(id: $id) { bulkOperation { status } userErrors { message } } }";
    shopify_schema::validate(document).unwrap();
    let reply: serde_json::Value = reqwest::Client::new()
        .post(&sim.info.graphql_url)
        .header(
            "X-Shopify-Access-Token",
            sim.info.admin_token.clone().unwrap(),
        )
        .json(&json!({"query": document, "variables": {"id": id}}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        reply["data"]["bulkOperationCancel"]["bulkOperation"]["status"],
        "CANCELING"
    );
    let err = running.await.unwrap().unwrap_err();
    assert!(err.to_string().contains("canceled"), "{err}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_download_link_that_expires_mid_way_is_replaced_by_a_new_operation() {
    let (sim, syncer, dir) = setup(40).await;
    // The first download is cut after 20 kB, and by then its link has expired.
    sim.state.bulk.expire_next_download_after(20_000);
    let report = syncer.run(SyncKind::Full).await.unwrap();
    assert_eq!(report.variants, 120);
    assert_eq!(
        sim.state.bulk.all().len(),
        2,
        "a second operation was started"
    );
    assert_cache_equals_sim(&sim, &reader(&dir));
}

#[tokio::test(flavor = "multi_thread")]
async fn the_finish_hook_wakes_the_poll_loop() {
    let (sim, mut syncer, _dir) = setup(10).await;
    // Without a wake-up the loop would sleep an hour after its first poll.
    syncer.bulk.poll_first = Duration::from_secs(3600);
    syncer.bulk.poll_max = Duration::from_secs(3600);
    sim.state.bulk.set_pace(Some(0.0));
    let wake = syncer.bulk.wake.clone();
    let running = tokio::spawn({
        let syncer = syncer.clone();
        async move { syncer.run(SyncKind::Full).await }
    });
    while sim.state.bulk.all().is_empty() {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    sim.state.bulk.set_pace(None);
    while sim.state.bulk.all()[0].status != shopify_sim::bulk::Status::Completed {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    // What the bulk_operations/finish webhook handler does.
    wake.notify_one();
    let report = tokio::time::timeout(Duration::from_secs(120), running)
        .await
        .expect("the woken sync finishes (it would otherwise sleep for an hour)")
        .unwrap()
        .unwrap();
    assert_eq!(report.variants, 30);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_full_sync_cancels_another_query_export_left_running() {
    let (sim, syncer, dir) = setup(20).await;
    sim.state.bulk.set_pace(Some(0.0));
    // An export the app started for something else (an older Shelfsync, say) and never read.
    let document = "mutation Run($q: String!) { bulkOperationRunQuery(query: $q) { bulkOperation { id } userErrors { message } } }";
    shopify_schema::validate(document).unwrap();
    let other = "{ products { edges { node { id title } } } }";
    let reply: serde_json::Value = reqwest::Client::new()
        .post(&sim.info.graphql_url)
        .header(
            "X-Shopify-Access-Token",
            sim.info.admin_token.clone().unwrap(),
        )
        .json(&json!({"query": document, "variables": {"q": other}}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let foreign = reply["data"]["bulkOperationRunQuery"]["bulkOperation"]["id"]
        .as_str()
        .unwrap_or_else(|| panic!("{reply}"))
        .to_owned();

    let running = tokio::spawn({
        let syncer = syncer.clone();
        async move { syncer.run(SyncKind::Full).await }
    });
    while sim.state.bulk.all().len() < 2 {
        assert!(!running.is_finished(), "the sync stopped early");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    sim.state.bulk.set_pace(None);
    let report = running.await.unwrap().unwrap();
    assert_eq!(report.variants, 60);

    let ops = sim.state.bulk.all();
    assert_eq!(ops.len(), 2, "{ops:?}");
    assert_eq!(ops[0].gid(), foreign);
    assert_eq!(ops[0].status, shopify_sim::bulk::Status::Canceled);
    assert_eq!(ops[1].status, shopify_sim::bulk::Status::Completed);
    assert_cache_equals_sim(&sim, &reader(&dir));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_full_sync_over_a_filled_cache_audits_what_changed_and_removes_nothing() {
    let (sim, syncer, dir) = setup(20).await;
    syncer.run(SyncKind::Full).await.unwrap();
    let r = reader(&dir);
    assert!(
        r.recent_audit(10).unwrap().is_empty(),
        "a first sighting is not a change"
    );
    let before = r.counts().unwrap();

    let (item, location, variant) = {
        let store = sim.state.read_store();
        let v = store.variants.values().nth(7).unwrap();
        let location = *store.inventory_items[&v.inventory_item_id]
            .levels
            .keys()
            .next()
            .unwrap();
        (v.inventory_item_id, location, v.id)
    };
    sim.state.clock.advance(Duration::from_secs(60));
    let http = reqwest::Client::new();
    for (path, body) in [
        (
            "inventory",
            json!({"inventory_item_id": item, "location_id": location, "name": "available", "delta": -4}),
        ),
        (
            "prices",
            json!({"variant_id": variant, "price": "77.70", "compare_at_price": null}),
        ),
    ] {
        let r = http
            .post(format!("{}/_sim/{path}", sim.info.base_url))
            .json(&body)
            .send()
            .await
            .unwrap();
        assert!(r.status().is_success());
    }
    syncer.run(SyncKind::Full).await.unwrap();

    assert_cache_equals_sim(&sim, &r);
    assert_eq!(r.counts().unwrap(), before, "nothing added or removed");
    let stock = r
        .audit_for("inventory_level", &format!("{item}@{location}"))
        .unwrap();
    let available = stock
        .iter()
        .find(|e| e.field == "available")
        .expect("the stock change is audited");
    assert_eq!(available.source, Source::Poll);
    let price = r.audit_for("variant", &variant.to_string()).unwrap();
    assert!(
        price.iter().any(|e| e.field == "price"
            && e.after.as_deref() == Some("77.70")
            && e.source == Source::Poll),
        "{price:?}"
    );
    // Only the two changed rows reached the audit log.
    let entities: std::collections::HashSet<_> = r
        .recent_audit(100)
        .unwrap()
        .into_iter()
        .map(|e| (e.entity, e.entity_id))
        .collect();
    assert_eq!(entities.len(), 2, "{entities:?}");
}
