//! The catalogue cache: upserts, UI queries, provenance, audit and
//! watermarks, on real database files.

mod common;

use common::*;
use shelfsync_store::{
    Database, Level, LineItem, Order, OrderStatus, OrderWrite, Quantities, ReconciliationRun,
    Resource, Shop, Source, Timestamp, Variant, gid_id,
};

#[test]
fn a_new_database_is_created_in_wal_mode_with_the_current_schema() {
    let store = TestStore::new();
    let db = store.open();
    assert_eq!(Database::schema_version(), shelfsync_store::SCHEMA_VERSION);
    drop(db);
    let conn = rusqlite::Connection::open(&store.path).unwrap();
    let mode: String = conn
        .query_row("PRAGMA journal_mode", [], |r| r.get(0))
        .unwrap();
    assert_eq!(mode, "wal");
    let version: u32 = conn
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .unwrap();
    assert_eq!(version, shelfsync_store::SCHEMA_VERSION);
}

#[test]
fn the_ui_finds_variants_by_sku_or_title_prefix_and_pages_them() {
    let store = TestStore::new();
    let mut db = store.open();
    seed(&mut db);
    let reader = db.reader().unwrap();

    let by_sku = reader.search_variants("mug-blue", 10, 0).unwrap();
    let skus: Vec<_> = by_sku
        .iter()
        .map(|r| r.variant.sku.clone().unwrap())
        .collect();
    assert_eq!(skus, ["MUG-BLUE-L", "MUG-BLUE-S"]);
    assert_eq!(by_sku[0].product_title, "Blue Mug");
    assert_eq!(
        by_sku[0].total_available, 13,
        "10 in the back room + 3 at the stall"
    );

    let by_title = reader.search_variants("ash", 10, 0).unwrap();
    assert_eq!(by_title.len(), 1);
    assert_eq!(by_title[0].variant.price.as_str(), "31.99");

    // Prefix, not substring; wildcards in the query are literal.
    assert!(reader.search_variants("lue", 10, 0).unwrap().is_empty());
    assert!(reader.search_variants("%", 10, 0).unwrap().is_empty());
    assert!(reader.search_variants("MUG_", 10, 0).unwrap().is_empty());

    let all = reader.search_variants("", 10, 0).unwrap();
    assert_eq!(all.len(), 3);
    let page2 = reader.search_variants("", 2, 2).unwrap();
    assert_eq!(page2.len(), 1);
    assert_eq!(page2[0].variant.id, all[2].variant.id);
}

#[test]
fn money_and_ids_come_back_exactly_as_shopify_sent_them() {
    let store = TestStore::new();
    let mut db = store.open();
    seed(&mut db);
    let mut v = variant(31, 2, "Huge", "BOWL-HUGE", "1234567890123.10");
    v.compare_at_price = Some(money("0.30"));
    v.id = gid_id(
        "gid://shopify/ProductVariant/9007199254740993",
        "ProductVariant",
    )
    .unwrap();
    v.inventory_item_id = i64::MAX - 7;
    db.upsert_variants(std::slice::from_ref(&v), Source::Poll)
        .unwrap();
    let back = db.reader().unwrap().variant(v.id).unwrap().unwrap();
    assert_eq!(back, v);
    assert_eq!(back.price.as_str(), "1234567890123.10", "no float rounding");
    assert_eq!(back.compare_at_price.unwrap().as_str(), "0.30");
    assert_eq!(back.id, 9_007_199_254_740_993, "above 2^53, exact");
}

#[test]
fn levels_for_a_variant_show_every_quantity_and_where_it_came_from() {
    let store = TestStore::new();
    let mut db = store.open();
    let variants = seed(&mut db);
    store.clock.advance_secs(60);
    let mut webhook_level = level(&variants[0], 1002, 7);
    webhook_level.quantities.damaged = Some(1);
    webhook_level.updated_at = Some(at("2026-02-02T08:00:00-05:00"));
    db.upsert_levels(&[webhook_level], Source::Webhook).unwrap();

    let levels = db
        .reader()
        .unwrap()
        .levels_for_variant(variants[0].id)
        .unwrap();
    assert_eq!(levels.len(), 2);
    assert_eq!(levels[0].location_name, "Back room");
    assert_eq!(levels[0].source, Source::Import);
    assert_eq!(levels[0].recorded_at, ts("2026-03-01T09:00:00Z"));
    let stall = &levels[1];
    assert_eq!(stall.location_name, "Market stall");
    assert_eq!(stall.level.quantities.available, Some(7));
    assert_eq!(stall.level.quantities.on_hand, Some(9));
    assert_eq!(stall.level.quantities.damaged, Some(1));
    assert_eq!(stall.level.quantities.safety_stock, Some(1));
    assert_eq!(stall.source, Source::Webhook);
    assert_eq!(stall.recorded_at, ts("2026-03-01T09:01:00Z"));
    assert_eq!(
        stall.level.updated_at.as_ref().unwrap().as_str(),
        "2026-02-02T08:00:00-05:00",
        "Shopify's text and offset are kept"
    );
}

#[test]
fn a_partial_update_keeps_the_quantities_it_does_not_mention() {
    let store = TestStore::new();
    let mut db = store.open();
    let variants = seed(&mut db);
    let only_available = Level {
        inventory_item_id: variants[0].inventory_item_id,
        location_id: 1001,
        quantities: Quantities {
            available: Some(4),
            ..Quantities::default()
        },
        updated_at: None,
    };
    assert_eq!(
        db.upsert_levels(&[only_available], Source::Webhook)
            .unwrap(),
        1
    );
    let levels = db
        .reader()
        .unwrap()
        .levels_for_variant(variants[0].id)
        .unwrap();
    let q = levels[0].level.quantities;
    assert_eq!(q.available, Some(4));
    assert_eq!(q.on_hand, Some(12), "not reported, so kept");
    assert_eq!(levels[0].level.updated_at, Some(at("2026-02-01T10:00:00Z")));
}

#[test]
fn older_data_never_overwrites_newer_data() {
    let store = TestStore::new();
    let mut db = store.open();
    let variants = seed(&mut db);
    let mut newer = level(&variants[0], 1001, 2);
    newer.updated_at = Some(at("2026-02-05T00:00:00Z"));
    db.upsert_levels(&[newer], Source::Webhook).unwrap();

    // A poll that started before the webhook arrived reports the old value.
    let mut stale = level(&variants[0], 1001, 10);
    stale.updated_at = Some(at("2026-02-04T23:59:59Z"));
    assert_eq!(db.upsert_levels(&[stale], Source::Poll).unwrap(), 0);

    let mut stale_variant = variants[0].clone();
    stale_variant.price = money("1.00");
    stale_variant.updated_at = at("2026-01-01T00:00:00Z");
    assert_eq!(
        db.upsert_variants(&[stale_variant], Source::Poll).unwrap(),
        0
    );

    let reader = db.reader().unwrap();
    let levels = reader.levels_for_variant(variants[0].id).unwrap();
    assert_eq!(levels[0].level.quantities.available, Some(2));
    assert_eq!(levels[0].source, Source::Webhook);
    assert_eq!(
        reader
            .variant(variants[0].id)
            .unwrap()
            .unwrap()
            .price
            .as_str(),
        "18.00"
    );
}

#[test]
fn every_change_is_audited_with_its_source_and_repeats_are_not() {
    let store = TestStore::new();
    let mut db = store.open();
    let variants = seed(&mut db);
    let reader = db.reader().unwrap();
    assert!(
        reader.recent_audit(100).unwrap().is_empty(),
        "a first sync is not a change"
    );

    store.clock.advance_secs(30);
    let mut sold = level(&variants[1], 1002, 1);
    sold.quantities.committed = Some(4);
    sold.updated_at = Some(at("2026-02-03T12:00:00Z"));
    db.upsert_levels(&[sold.clone()], Source::Webhook).unwrap();
    let mut repriced = variants[1].clone();
    repriced.price = money("26.00");
    repriced.updated_at = at("2026-02-03T12:00:00Z");
    db.upsert_variants(&[repriced.clone()], Source::User)
        .unwrap();

    // The same data again (an overlapping poll) changes nothing.
    assert_eq!(db.upsert_levels(&[sold], Source::Poll).unwrap(), 0);
    assert_eq!(db.upsert_variants(&[repriced], Source::Poll).unwrap(), 0);

    let key = format!("{}@1002", variants[1].inventory_item_id);
    let trail = reader.audit_for("inventory_level", &key).unwrap();
    let changes: Vec<_> = trail
        .iter()
        .map(|e| {
            (
                e.field.as_str(),
                e.before.as_deref(),
                e.after.as_deref(),
                e.source,
            )
        })
        .collect();
    assert_eq!(
        changes,
        [
            ("available", Some("3"), Some("1"), Source::Webhook),
            ("on_hand", Some("5"), Some("3"), Source::Webhook),
            ("committed", Some("2"), Some("4"), Source::Webhook),
        ]
    );
    assert_eq!(trail[0].at, ts("2026-03-01T09:00:30Z"));

    let price = reader
        .audit_for("variant", &variants[1].id.to_string())
        .unwrap();
    assert_eq!(price.len(), 1);
    assert_eq!(price[0].field, "price");
    assert_eq!(price[0].before.as_deref(), Some("24.50"));
    assert_eq!(price[0].after.as_deref(), Some("26.00"));
    assert_eq!(price[0].source, Source::User);
}

#[test]
fn fifty_thousand_levels_in_one_batch_and_again_is_a_no_op() {
    let store = TestStore::new();
    let mut db = store.open();
    let tx = db.write().unwrap();
    tx.upsert_locations(&locations()).unwrap();
    tx.upsert_products(&[product(1, "Bulk")], Source::Import)
        .unwrap();
    let variants: Vec<_> = (0..25_000)
        .map(|i| variant(100 + i, 1, &format!("V{i}"), &format!("SKU-{i:05}"), "9.99"))
        .collect();
    tx.upsert_variants(&variants, Source::Import).unwrap();
    tx.commit().unwrap();

    let levels: Vec<Level> = variants
        .iter()
        .flat_map(|v| [level(v, 1001, 5), level(v, 1002, 6)])
        .collect();
    assert_eq!(levels.len(), 50_000);
    assert_eq!(db.upsert_levels(&levels, Source::Import).unwrap(), 50_000);
    assert_eq!(db.upsert_levels(&levels, Source::Poll).unwrap(), 0);

    let reader = db.reader().unwrap();
    assert_eq!(reader.counts().unwrap().levels, 50_000);
    assert!(reader.recent_audit(1).unwrap().is_empty());
    let sample = reader.levels_for_variant(variants[12_345].id).unwrap();
    assert_eq!(sample.len(), 2);
    assert_eq!(
        sample[0].source,
        Source::Import,
        "unchanged rows keep their provenance"
    );
}

#[test]
fn a_watermark_moves_only_with_the_data_it_covers() {
    let store = TestStore::new();
    let mut db = store.open();
    let variants = seed(&mut db);
    let reader = db.reader().unwrap();
    assert_eq!(reader.watermark(Resource::InventoryLevels).unwrap(), None);

    let mut page = level(&variants[0], 1001, 1);
    store.clock.advance_secs(120);
    page.updated_at = Some(at("2026-02-10T00:00:00Z"));
    let tx = db.write().unwrap();
    tx.upsert_levels(std::slice::from_ref(&page), Source::Poll)
        .unwrap();
    tx.commit_with_watermark(Resource::InventoryLevels, &at("2026-02-10T00:00:00Z"))
        .unwrap();
    assert_eq!(
        reader.watermark(Resource::InventoryLevels).unwrap(),
        Some(at("2026-02-10T00:00:00Z"))
    );
    let all = reader.watermarks().unwrap();
    assert_eq!(all.len(), 1);
    assert_eq!(all[0].resource, Resource::InventoryLevels);
    assert_eq!(all[0].advanced_at, ts("2026-03-01T09:02:00Z"));

    // A page whose transaction never commits (the process dies) leaves
    // neither its rows nor its watermark behind.
    let mut lost = level(&variants[0], 1001, 99);
    lost.updated_at = Some(at("2026-02-11T00:00:00Z"));
    {
        let tx = db.write().unwrap();
        tx.upsert_levels(&[lost], Source::Poll).unwrap();
        tx.advance_watermark(Resource::InventoryLevels, &at("2026-02-11T00:00:00Z"))
            .unwrap();
        // Dropped without commit.
    }
    assert_eq!(
        reader.watermark(Resource::InventoryLevels).unwrap(),
        Some(at("2026-02-10T00:00:00Z"))
    );
    let levels = reader.levels_for_variant(variants[0].id).unwrap();
    assert_eq!(levels[0].level.quantities.available, Some(1));

    // Watermarks never move backwards; a reset is explicit.
    let tx = db.write().unwrap();
    assert!(
        !tx.advance_watermark(Resource::InventoryLevels, &at("2026-02-01T00:00:00Z"))
            .unwrap()
    );
    tx.commit().unwrap();
    assert_eq!(
        reader.watermark(Resource::InventoryLevels).unwrap(),
        Some(at("2026-02-10T00:00:00Z"))
    );
    let tx = db.write().unwrap();
    tx.reset_watermark(Resource::InventoryLevels).unwrap();
    tx.commit().unwrap();
    assert_eq!(reader.watermark(Resource::InventoryLevels).unwrap(), None);
}

fn line(id: i64, variant: &Variant, quantity: i64, unfulfilled: i64, price: &str) -> LineItem {
    LineItem {
        id,
        variant_id: Some(variant.id),
        sku: variant.sku.clone(),
        title: "Blue Mug".into(),
        variant_title: Some(variant.title.clone()),
        inventory_item_id: Some(variant.inventory_item_id),
        quantity,
        current_quantity: quantity,
        unfulfilled_quantity: unfulfilled,
        price: money(price),
    }
}

fn placed_order(variants: &[Variant]) -> Order {
    Order {
        id: 5_000_001,
        name: "#1001".into(),
        created_at: at("2026-02-20T14:03:00+01:00"),
        updated_at: at("2026-02-20T14:03:00+01:00"),
        cancelled_at: None,
        closed_at: None,
        financial_status: Some("PAID".into()),
        fulfillment_status: None,
        currency_code: "EUR".into(),
        total_price: money("60.50"),
        line_items: vec![
            line(7001, &variants[0], 2, 2, "18.00"),
            line(7002, &variants[1], 1, 1, "24.50"),
        ],
    }
}

#[test]
fn orders_keep_their_lines_and_an_update_replaces_them() {
    let store = TestStore::new();
    let mut db = store.open();
    let variants = seed(&mut db);
    let mut order = placed_order(&variants);
    let tx = db.write().unwrap();
    tx.upsert_shop(&Shop {
        id: 42,
        domain: "test-shop.myshopify.com".into(),
        name: "Hilltop".into(),
        currency_code: "EUR".into(),
        iana_timezone: Some("Europe/Paris".into()),
    })
    .unwrap();
    assert_eq!(
        tx.upsert_order(&order, Source::Webhook).unwrap(),
        OrderWrite::New
    );
    tx.commit().unwrap();
    let reader = db.reader().unwrap();
    assert_eq!(reader.order(order.id).unwrap().unwrap(), order);
    assert_eq!(
        reader.order(order.id).unwrap().unwrap().status(),
        OrderStatus::Open
    );
    assert_eq!(reader.shop().unwrap().unwrap().currency_code, "EUR");

    // A refund removes a line; the same update again changes nothing.
    order.line_items.pop();
    order.total_price = money("36.00");
    order.updated_at = at("2026-02-21T09:00:00+01:00");
    let tx = db.write().unwrap();
    assert_eq!(
        tx.upsert_order(&order, Source::Poll).unwrap(),
        OrderWrite::Changed
    );
    assert_eq!(
        tx.upsert_order(&order, Source::Poll).unwrap(),
        OrderWrite::Unchanged
    );
    tx.commit().unwrap();
    assert_eq!(reader.order(order.id).unwrap().unwrap(), order);
}

#[test]
fn a_late_order_event_never_reopens_a_shipped_order() {
    let store = TestStore::new();
    let mut db = store.open();
    let variants = seed(&mut db);
    let placed = placed_order(&variants);
    // Shipped within the same second: the same `updated_at`, more progress.
    let mut shipped = placed.clone();
    shipped.closed_at = Some(placed.created_at.clone());
    shipped.fulfillment_status = Some("FULFILLED".into());
    for l in &mut shipped.line_items {
        l.unfulfilled_quantity = 0;
    }
    let tx = db.write().unwrap();
    tx.upsert_order(&placed, Source::Webhook).unwrap();
    assert_eq!(
        tx.upsert_order(&shipped, Source::Webhook).unwrap(),
        OrderWrite::Changed
    );
    // `orders/create` delivered again, late: ignored.
    assert_eq!(
        tx.upsert_order(&placed, Source::Webhook).unwrap(),
        OrderWrite::Unchanged
    );
    // An older version (earlier second) is ignored too.
    let mut older = placed.clone();
    older.updated_at = at("2026-02-20T14:02:59+01:00");
    assert_eq!(
        tx.upsert_order(&older, Source::Poll).unwrap(),
        OrderWrite::Unchanged
    );
    tx.commit().unwrap();
    let reader = db.reader().unwrap();
    assert_eq!(reader.order(placed.id).unwrap().unwrap(), shipped);
    assert_eq!(
        reader
            .recent_orders(Some(OrderStatus::Fulfilled), 10)
            .unwrap(),
        vec![shipped.clone()]
    );
    assert!(
        reader
            .recent_orders(Some(OrderStatus::Open), 10)
            .unwrap()
            .is_empty()
    );
}

#[test]
fn recent_orders_are_newest_first_and_filtered_by_status() {
    let store = TestStore::new();
    let mut db = store.open();
    let variants = seed(&mut db);
    let mut orders = Vec::new();
    for (i, minute) in ["01", "02", "03"].iter().enumerate() {
        let mut o = placed_order(&variants);
        o.id += i as i64;
        o.name = format!("#{}", 1001 + i);
        o.created_at = at(&format!("2026-02-20T14:{minute}:00+01:00"));
        o.updated_at = o.created_at.clone();
        for (n, l) in o.line_items.iter_mut().enumerate() {
            l.id = 7000 + (i * 10 + n) as i64;
        }
        orders.push(o);
    }
    orders[1].cancelled_at = Some(orders[1].created_at.clone());
    let tx = db.write().unwrap();
    for o in &orders {
        tx.upsert_order(o, Source::Poll).unwrap();
    }
    tx.commit().unwrap();
    let reader = db.reader().unwrap();
    let names = |status| {
        reader
            .recent_orders(status, 10)
            .unwrap()
            .into_iter()
            .map(|o| o.name)
            .collect::<Vec<_>>()
    };
    assert_eq!(names(None), ["#1003", "#1002", "#1001"]);
    assert_eq!(names(Some(OrderStatus::Open)), ["#1003", "#1001"]);
    assert_eq!(names(Some(OrderStatus::Cancelled)), ["#1002"]);
    assert_eq!(reader.recent_orders(None, 2).unwrap().len(), 2);
}

#[test]
fn reconciliation_repairs_are_summed_over_a_window() {
    let store = TestStore::new();
    let mut db = store.open();
    let run = |finished: i64, repaired: u64| ReconciliationRun {
        started_at: Timestamp::from_millisecond(finished - 500).unwrap(),
        finished_at: Timestamp::from_millisecond(finished).unwrap(),
        reason: "scheduled".into(),
        checked: 10,
        repaired,
    };
    let tx = db.write().unwrap();
    tx.record_reconciliation(&run(1_000_000, 4)).unwrap();
    tx.record_reconciliation(&run(2_000_000, 3)).unwrap();
    tx.set_low_stock_threshold("MUG-S", Some(7)).unwrap();
    tx.set_low_stock_threshold("MUG-L", Some(2)).unwrap();
    tx.set_low_stock_threshold("MUG-L", None).unwrap();
    assert_eq!(tx.low_stock_threshold("MUG-S").unwrap(), Some(7));
    tx.commit().unwrap();
    let reader = db.reader().unwrap();
    assert_eq!(reader.repairs_since(0).unwrap(), 7);
    assert_eq!(reader.repairs_since(1_500_000).unwrap(), 3);
    assert_eq!(
        reader.last_reconciliation().unwrap().unwrap(),
        run(2_000_000, 3)
    );
    assert_eq!(
        reader.low_stock_thresholds().unwrap(),
        vec![("MUG-S".to_owned(), 7)]
    );
}

#[test]
fn a_deleted_product_takes_its_variants_and_levels_and_is_audited() {
    let store = TestStore::new();
    let mut db = store.open();
    let variants = seed(&mut db);
    let tx = db.write().unwrap();
    assert_eq!(tx.delete_products(&[1, 999], Source::Webhook).unwrap(), 1);
    tx.commit().unwrap();
    let reader = db.reader().unwrap();
    assert!(reader.variant(variants[0].id).unwrap().is_none());
    assert!(
        reader
            .levels_for_variant(variants[0].id)
            .unwrap()
            .is_empty()
    );
    let counts = reader.counts().unwrap();
    assert_eq!((counts.products, counts.variants, counts.levels), (1, 1, 2));
    let trail = reader.audit_for("product", "1").unwrap();
    assert_eq!(trail.len(), 1);
    assert_eq!(trail[0].before.as_deref(), Some("Blue Mug"));
    assert_eq!(trail[0].after, None);
}

#[test]
fn a_variant_before_its_product_is_refused_and_nothing_of_the_batch_is_kept() {
    let store = TestStore::new();
    let mut db = store.open();
    seed(&mut db);
    let ok = variant(13, 1, "Medium", "MUG-BLUE-M", "21.00");
    let orphan = variant(99, 777, "Lost", "LOST", "1.00");
    let err = db
        .upsert_variants(&[ok.clone(), orphan], Source::Poll)
        .unwrap_err();
    assert!(
        matches!(err, shelfsync_store::Error::NotYetSynced),
        "{err:?}"
    );
    assert!(err.to_string().contains("Nothing was lost"), "{err}");
    assert!(db.reader().unwrap().variant(ok.id).unwrap().is_none());

    // A level for an inventory item that is not cached yet is refused the same way.
    let unknown = Level {
        inventory_item_id: 424242,
        ..level(&ok, 1001, 1)
    };
    let err = db.upsert_levels(&[unknown], Source::Webhook).unwrap_err();
    assert!(
        matches!(err, shelfsync_store::Error::NotYetSynced),
        "{err:?}"
    );

    // A real constraint breach (two variants sharing one inventory item) is
    // reported as such.
    let mut clash = variant(14, 1, "Clash", "CLASH", "1.00");
    clash.inventory_item_id = ok.inventory_item_id - 2; // variant 11's item
    let err = db.upsert_variants(&[clash], Source::Poll).unwrap_err();
    assert!(
        matches!(err, shelfsync_store::Error::Constraint(_)),
        "{err:?}"
    );
}

#[test]
fn bad_money_and_timestamps_are_refused_with_the_value_named() {
    let err = shelfsync_store::Money::new("12,50").unwrap_err();
    assert_eq!(
        err.to_string(),
        "\"12,50\" is not an amount of money such as 12.50."
    );
    for bad in ["", "-", "1.", ".5", "1e3", "NaN", " 1"] {
        assert!(shelfsync_store::Money::new(bad).is_err(), "{bad:?}");
    }
    for good in ["0", "12.50", "-3.1", "1000000000000000000000.01"] {
        assert!(shelfsync_store::Money::new(good).is_ok(), "{good:?}");
    }
    let err = shelfsync_store::ShopifyTime::parse("yesterday").unwrap_err();
    assert!(err.to_string().contains("\"yesterday\""), "{err}");
}

#[test]
fn the_ui_reads_committed_data_while_a_long_write_is_in_progress() {
    let store = TestStore::new();
    let mut db = store.open();
    let variants = seed(&mut db);
    let reader = db.reader().unwrap();

    let tx = db.write().unwrap();
    let more: Vec<_> = (0..5_000)
        .map(|i| {
            variant(
                10_000 + i,
                2,
                &format!("Glaze {i}"),
                &format!("GLAZE-{i}"),
                "5.00",
            )
        })
        .collect();
    tx.upsert_variants(&more, Source::Import).unwrap();

    // The write holds the lock; the reader neither waits nor sees it.
    let visible = reader.search_variants("", 100, 0).unwrap();
    assert_eq!(visible.len(), variants.len());
    let from_other_thread = std::thread::spawn({
        let path = store.path.clone();
        move || {
            shelfsync_store::Reader::open(path)
                .unwrap()
                .counts()
                .unwrap()
                .variants
        }
    })
    .join()
    .unwrap();
    assert_eq!(from_other_thread, 3);

    tx.commit().unwrap();
    assert_eq!(reader.counts().unwrap().variants, 5_003);
}

#[test]
fn the_cli_reads_a_closed_store_without_opening_a_writer() {
    let store = TestStore::new();
    {
        let mut db = store.open();
        seed(&mut db);
    }
    let reader = shelfsync_store::Reader::open(&store.path).unwrap();
    assert_eq!(reader.search_variants("BOWL", 10, 0).unwrap().len(), 1);
    // No writer lock is taken: the app can start while the CLI reads.
    let db = store.open();
    assert_eq!(reader.counts().unwrap().variants, 3);
    drop(db);

    let missing = store.dir.path().join("never-synced.sqlite3");
    let err = shelfsync_store::Reader::open(&missing).unwrap_err();
    assert!(
        matches!(err, shelfsync_store::Error::CannotOpen { .. }),
        "{err:?}"
    );
    assert!(!missing.exists(), "a reader never creates a database");
}

#[test]
fn a_search_says_how_many_variants_it_finds_in_all_and_pages_agree_with_it() {
    let store = TestStore::new();
    let mut db = store.open();
    seed(&mut db);
    // "Small" is a product title and a variant title: PLATE-S matches on both and counts once.
    let tx = db.write().unwrap();
    tx.upsert_products(&[product(3, "Small Plate")], Source::Import)
        .unwrap();
    tx.upsert_variants(
        &[
            variant(31, 3, "Small", "PLATE-S", "12.00"),
            variant(32, 3, "Large", "PLATE-L", "15.00"),
        ],
        Source::Import,
    )
    .unwrap();
    tx.commit().unwrap();
    let reader = db.reader().unwrap();

    assert_eq!(reader.count_variants("").unwrap(), 5);
    assert_eq!(
        reader.count_variants("small").unwrap(),
        3,
        "MUG-BLUE-S, PLATE-S, PLATE-L"
    );
    assert_eq!(reader.count_variants("mug-blue").unwrap(), 2);
    assert_eq!(reader.count_variants("  bowl ").unwrap(), 1);
    assert_eq!(
        reader.count_variants("lue").unwrap(),
        0,
        "a prefix, not a substring"
    );
    assert_eq!(
        reader.count_variants("%").unwrap(),
        0,
        "wildcards are literal"
    );
    assert_eq!(reader.count_variants("PLATE_").unwrap(), 0);

    for query in ["", "small", "mug", "PLATE-", "ash", "s", "nothing"] {
        let all = reader.search_variants(query, 100, 0).unwrap();
        assert_eq!(
            reader.count_variants(query).unwrap(),
            all.len() as u64,
            "{query:?}"
        );
        // Pages of two, put end to end, are the whole list in the same order.
        let mut paged = Vec::new();
        for offset in (0..all.len() + 2).step_by(2) {
            let page = reader.search_page(query, 2, offset as u32).unwrap();
            assert_eq!(page.total, all.len() as u64, "{query:?} at {offset}");
            paged.extend(page.rows);
        }
        assert_eq!(paged, all, "{query:?}");
    }

    let small = reader.search_variants("small", 10, 0).unwrap();
    let skus: Vec<_> = small.iter().map(|r| r.variant.sku.as_deref()).collect();
    // By product title (NOCASE), then variant title, then id.
    assert_eq!(skus, [Some("MUG-BLUE-S"), Some("PLATE-L"), Some("PLATE-S")]);
    assert_eq!(small[0].total_available, 13);
}
