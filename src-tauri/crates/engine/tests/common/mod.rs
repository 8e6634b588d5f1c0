//! Shared by the engine's integration tests: the field-by-field comparison of the cache with
//! the simulator's state.

#![allow(dead_code)]

pub mod moto;

use shelfsync_store::Reader;
use shopify_sim::RunningSim;
use shopify_sim::store::{QUANTITY_NAMES, money};

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
