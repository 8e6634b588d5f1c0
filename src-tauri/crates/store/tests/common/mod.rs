//! Fixtures shared by the integration tests: a controllable clock and a
//! small, realistic store.

#![allow(dead_code)]

use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use shelfsync_store::{
    Database, Level, Location, Money, OpenOptions, Product, Quantities, ShopifyTime, Timestamp,
    Variant,
};

/// A clock the test moves by hand.
#[derive(Clone)]
pub struct TestClock(Arc<Mutex<Timestamp>>);

impl TestClock {
    pub fn new() -> Self {
        TestClock(Arc::new(Mutex::new(ts("2026-03-01T09:00:00Z"))))
    }

    pub fn now(&self) -> Timestamp {
        *self.0.lock().unwrap()
    }

    pub fn advance_secs(&self, secs: i64) {
        let mut now = self.0.lock().unwrap();
        *now = now
            .checked_add(jiff::SignedDuration::from_secs(secs))
            .unwrap();
    }

    pub fn options(&self) -> OpenOptions {
        let clock = self.clone();
        OpenOptions {
            clock: Arc::new(move || clock.now()),
            ..OpenOptions::default()
        }
    }
}

pub struct TestStore {
    pub dir: tempfile::TempDir,
    pub path: PathBuf,
    pub clock: TestClock,
}

impl TestStore {
    pub fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("test-shop.myshopify.com.sqlite3");
        TestStore {
            dir,
            path,
            clock: TestClock::new(),
        }
    }

    pub fn open(&self) -> Database {
        Database::open_with(&self.path, self.clock.options()).unwrap()
    }
}

pub fn ts(text: &str) -> Timestamp {
    text.parse().unwrap()
}

pub fn at(text: &str) -> ShopifyTime {
    ShopifyTime::parse(text).unwrap()
}

pub fn money(text: &str) -> Money {
    Money::new(text).unwrap()
}

pub fn locations() -> Vec<Location> {
    vec![
        Location {
            id: 1001,
            name: "Back room".into(),
            is_active: true,
            updated_at: Some(at("2026-01-01T00:00:00Z")),
        },
        Location {
            id: 1002,
            name: "Market stall".into(),
            is_active: true,
            updated_at: None,
        },
    ]
}

pub fn product(id: i64, title: &str) -> Product {
    Product {
        id,
        title: title.into(),
        handle: title.to_lowercase().replace(' ', "-"),
        status: "ACTIVE".into(),
        vendor: Some("Hilltop Ceramics".into()),
        product_type: Some("Mug".into()),
        updated_at: at("2026-02-01T10:00:00Z"),
    }
}

pub fn variant(id: i64, product_id: i64, title: &str, sku: &str, price: &str) -> Variant {
    Variant {
        id,
        product_id,
        title: title.into(),
        sku: Some(sku.into()),
        price: money(price),
        compare_at_price: None,
        inventory_item_id: id + 500_000,
        updated_at: at("2026-02-01T10:00:00Z"),
    }
}

pub fn level(variant: &Variant, location_id: i64, available: i64) -> Level {
    Level {
        inventory_item_id: variant.inventory_item_id,
        location_id,
        quantities: Quantities {
            available: Some(available),
            on_hand: Some(available + 2),
            committed: Some(2),
            incoming: Some(0),
            reserved: Some(0),
            damaged: Some(0),
            safety_stock: Some(1),
            quality_control: Some(0),
        },
        updated_at: Some(at("2026-02-01T10:00:00Z")),
    }
}

/// Two products, three variants, levels at two locations.
pub fn seed(db: &mut Database) -> Vec<Variant> {
    use shelfsync_store::Source;
    let variants = vec![
        variant(11, 1, "Small", "MUG-BLUE-S", "18.00"),
        variant(12, 1, "Large", "MUG-BLUE-L", "24.50"),
        variant(21, 2, "Default Title", "BOWL-ASH", "31.99"),
    ];
    let tx = db.write().unwrap();
    tx.upsert_locations(&locations()).unwrap();
    tx.upsert_products(
        &[product(1, "Blue Mug"), product(2, "Ash Bowl")],
        Source::Import,
    )
    .unwrap();
    tx.upsert_variants(&variants, Source::Import).unwrap();
    let levels: Vec<Level> = variants
        .iter()
        .flat_map(|v| [level(v, 1001, 10), level(v, 1002, 3)])
        .collect();
    tx.upsert_levels(&levels, Source::Import).unwrap();
    tx.commit().unwrap();
    variants
}
