//! Shared by the engine's integration tests: the comparisons of the cache with the simulator's
//! state, waiting for a condition, and the simulator's tunnel to a loopback listener.

#![allow(dead_code)]

pub mod moto;

use std::time::{Duration, Instant};

use serde_json::{Value, json};
use shelfsync_store::Reader;
use shopify_sim::RunningSim;
use shopify_sim::store::{QUANTITY_NAMES, money};

/// Waits (at most `secs` real seconds) until `check` passes; panics with its last message.
pub async fn eventually<F, Fut>(secs: u64, mut check: F)
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

/// A public https URL that the simulator delivers to 127.0.0.1:`port` (as ngrok would).
pub async fn tunnel(sim: &RunningSim, port: u16) -> String {
    let answer: Value = reqwest::Client::new()
        .post(format!("{}/_sim/tunnels", sim.info.base_url))
        .json(&json!({ "target": format!("http://127.0.0.1:{port}") }))
        .send()
        .await
        .unwrap()
        .error_for_status()
        .unwrap()
        .json()
        .await
        .unwrap();
    format!("{}/webhooks", answer["public_url"].as_str().unwrap())
}

/// Every level's `available` and every variant's price in the cache equal the simulator's.
/// (`inventory_levels/update` carries only `available`; the other quantities come with polls.)
pub fn cache_matches_sim(sim: &RunningSim, reader: &Reader) -> Result<(), String> {
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

/// Compares every variant, price and level of the simulator with the cache.
pub fn assert_cache_equals_sim(sim: &RunningSim, reader: &Reader) {
    let store = sim.state.read_store();
    assert_eq!(
        reader.counts().unwrap().variants as usize,
        store.variants.len(),
        "variants in the cache"
    );
    let mut levels_checked = 0;
    for v in store.variants.values() {
        let cached = reader
            .variant(v.id as i64)
            .unwrap()
            .unwrap_or_else(|| panic!("variant {} ({}) missing from the cache", v.id, v.sku));
        assert_eq!(
            cached.sku.as_deref(),
            Some(v.sku.as_str()),
            "sku of {}",
            v.id
        );
        assert_eq!(
            cached.price.as_str(),
            money(v.price_cents),
            "price of {}",
            v.sku
        );
        assert_eq!(
            cached
                .compare_at_price
                .as_ref()
                .map(|m| m.as_str().to_string()),
            v.compare_at_price_cents.map(money),
            "compare-at price of {}",
            v.sku
        );
        assert_eq!(cached.inventory_item_id, v.inventory_item_id as i64);
        let item = &store.inventory_items[&v.inventory_item_id];
        let cached_levels = reader.levels_for_variant(v.id as i64).unwrap();
        for (location, level) in &item.levels {
            let c = cached_levels
                .iter()
                .find(|l| l.level.location_id == *location as i64)
                .unwrap_or_else(|| panic!("level of {} at {location} missing", v.sku));
            let q = c.level.quantities;
            let got = [
                q.available,
                q.committed,
                q.damaged,
                q.incoming,
                q.on_hand,
                q.quality_control,
                q.reserved,
                q.safety_stock,
            ];
            for (i, name) in QUANTITY_NAMES.iter().enumerate() {
                assert_eq!(
                    got[i],
                    Some(level.quantities[i]),
                    "{name} of {} at {location}",
                    v.sku
                );
            }
            levels_checked += 1;
        }
    }
    assert!(levels_checked > 0);
}

/// Waits (at most `secs`) until the engine's intake status passes `check`.
pub async fn wait_status(
    engine: &shelfsync_engine::Engine,
    secs: u64,
    what: &str,
    check: impl Fn(&shelfsync_engine::IntakeStatus) -> bool,
) -> shelfsync_engine::IntakeStatus {
    let started = Instant::now();
    loop {
        let status = engine.intake_status().await.unwrap();
        if check(&status) {
            return status;
        }
        assert!(
            started.elapsed() < Duration::from_secs(secs),
            "{what}: {status:#?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// A keychain of the engine's own kind over keyring's in-memory store: each test its own.
pub fn mock_keychain() -> shelfsync_engine::Keychain {
    let store: std::sync::Arc<keyring_core::CredentialStore> =
        keyring_core::mock::Store::new().unwrap();
    shelfsync_engine::Keychain::with_store("app.shelfsync.test", store)
}

/// Connects `engine` to `sim` the way the Connect page does, with the app's client id and
/// secret.
pub async fn connect_with_client_credentials(engine: &shelfsync_engine::Engine, sim: &RunningSim) {
    engine
        .connect(
            &sim.info.base_url,
            shelfsync_engine::ConnectWith::ClientCredentials {
                client_id: sim.info.client_id.clone(),
                client_secret: shelfsync_engine::Secret::new(sim.info.client_secret.clone()),
            },
        )
        .await
        .unwrap();
}

/// Every topic intake subscribes to (`shelfsync_engine::intake::TOPICS`), as the wire names
/// it: what an EventBridge rule forwarding all of them matches.
pub const WIRE_TOPICS: [&str; 9] = [
    "inventory_levels/update",
    "inventory_items/update",
    "products/update",
    "app/uninstalled",
    "bulk_operations/finish",
    "orders/create",
    "orders/updated",
    "orders/cancelled",
    "orders/fulfilled",
];

/// A number from the environment variable `name`, or `default` when it is not set.
pub fn env_or<T: std::str::FromStr>(name: &str, default: T) -> T {
    match std::env::var(name) {
        Ok(text) => text
            .trim()
            .parse()
            .unwrap_or_else(|_| panic!("{name}={text:?} is not a number")),
        Err(_) => default,
    }
}

/// Every quantity of every level in the cache equals the simulator's.
pub fn stock_equals_sim(sim: &RunningSim, reader: &Reader) -> Result<(), String> {
    let store = sim.state.read_store();
    for v in store.variants.values() {
        let cached = reader
            .levels_for_variant(v.id as i64)
            .map_err(|e| e.to_string())?;
        for (location, level) in &store.inventory_items[&v.inventory_item_id].levels {
            let q = cached
                .iter()
                .find(|l| l.level.location_id == *location as i64)
                .ok_or_else(|| format!("level of {} at {location} missing", v.sku))?
                .level
                .quantities;
            let got = [
                q.available,
                q.committed,
                q.damaged,
                q.incoming,
                q.on_hand,
                q.quality_control,
                q.reserved,
                q.safety_stock,
            ];
            for (i, name) in QUANTITY_NAMES.iter().enumerate() {
                if got[i] != Some(level.quantities[i]) {
                    return Err(format!(
                        "{name} of {} at {location}: cache {:?}, store {}",
                        v.sku, got[i], level.quantities[i]
                    ));
                }
            }
        }
    }
    Ok(())
}
