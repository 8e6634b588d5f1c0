//! Webhook bodies in Shopify's REST style (FACTS §8 "Payload conventions"): snake_case keys,
//! timestamps with the shop's local offset, exact 64-bit integer ids beside
//! `admin_graphql_api_id`, money as decimal strings. Shapes follow the 2026-07 examples copied
//! in `tests/fixtures/webhook-examples/`, limited to the fields the simulated store has.
//!
//! A body is built when the store records the event ([`for_event`] is called from
//! `Store::record`), so every delivery and retry carries the state of that moment, as Shopify's
//! retries carry the original payload.

use serde_json::{Value, json};

use crate::clock::UnixMillis;
use crate::store::{AVAILABLE, Order, Store, money};

/// The body for `topic` about `subject` (a global id), or `None` for a topic the simulator has
/// no body for.
pub fn for_event(store: &Store, topic: &str, subject: &str, at: UnixMillis) -> Option<Value> {
    let (kind, id, item) = super::parse_gid(subject)?;
    match (topic, kind) {
        (
            "inventory_levels/update" | "inventory_levels/connect" | "inventory_levels/disconnect",
            "InventoryLevel",
        ) => {
            let item_id = item?;
            let level = store.inventory_items.get(&item_id)?.levels.get(&id)?;
            // Only `available`: Shopify's inventory_levels payload has no other quantity.
            Some(json!({
                "inventory_item_id": item_id,
                "location_id": id,
                "available": level.quantities[AVAILABLE],
                "updated_at": local_time(store, at),
                "admin_graphql_api_id": subject,
            }))
        }
        (t, "Order") if t.starts_with("orders/") => {
            store.orders.get(&id).map(|order| order_body(store, order))
        }
        (t, "Product") if t.starts_with("products/") => product_body(store, id),
        // Built from the bulk operation itself by [`bulk_operation_finish`].
        (_, "BulkOperation") => None,
        _ => Some(json!({ "admin_graphql_api_id": subject })),
    }
}

/// `bulk_operations/finish` (FACTS §7, example in `tests/fixtures/webhook-examples/`): status,
/// type and error code in lowercase, the shop's local times.
pub fn bulk_operation_finish(state: &crate::server::SimState, subject: &str) -> Option<Value> {
    let (_, id, _) = super::parse_gid(subject)?;
    let op = state.bulk.get(id)?;
    let store = state.read_store();
    Some(json!({
        "admin_graphql_api_id": subject,
        "completed_at": op.completed_at.map(|t| local_time(&store, t)),
        "created_at": local_time(&store, op.created_at),
        "error_code": op.error_code.map(str::to_ascii_lowercase),
        "status": op.status.as_str().to_ascii_lowercase(),
        "type": "query",
    }))
}

/// `X-Shopify-<Resource>-Id` for a topic's subject: the header name and the numeric id.
pub fn resource_header(subject: &str) -> Option<(String, String)> {
    let (kind, id, _) = super::parse_gid(subject)?;
    let name = match kind {
        "Order" => "X-Shopify-Order-Id",
        "Product" => "X-Shopify-Product-Id",
        "InventoryItem" => "X-Shopify-Inventory-Item-Id",
        _ => return None,
    };
    Some((name.to_owned(), id.to_string()))
}

fn order_body(store: &Store, order: &Order) -> Value {
    let total = money(order.total_cents());
    let cancelled = order.cancelled_at.is_some();
    let fulfillment_status = match order.fulfillment_status() {
        "FULFILLED" if !cancelled => Value::from("fulfilled"),
        "PARTIALLY_FULFILLED" => Value::from("partial"),
        _ => Value::Null,
    };
    let line_items: Vec<Value> = order
        .line_items
        .iter()
        .map(|line| {
            let current_quantity = line.current_quantity();
            json!({
                "id": line.id,
                "admin_graphql_api_id": format!("gid://shopify/LineItem/{}", line.id),
                "variant_id": line.variant_id,
                "product_id": line.product_id,
                "sku": line.sku,
                "title": line.title,
                "variant_title": line.variant_title,
                "name": format!("{} - {}", line.title, line.variant_title),
                "quantity": line.quantity,
                "current_quantity": current_quantity,
                "fulfillable_quantity": line.fulfillable_quantity,
                "fulfillment_status": if line.fulfillable_quantity == 0 && !cancelled { Value::from("fulfilled") } else { Value::Null },
                "price": money(line.price_cents),
                "variant_inventory_management": "shopify",
                "requires_shipping": true,
                "taxable": true,
                "gift_card": false,
                "fulfillment_service": "manual",
            })
        })
        .collect();
    let opt_time = |t: Option<UnixMillis>| t.map_or(Value::Null, |t| local_time(store, t).into());
    json!({
        "id": order.id,
        "admin_graphql_api_id": format!("gid://shopify/Order/{}", order.id),
        "name": order.name(),
        "number": order.number,
        "order_number": order.number + 1000,
        "created_at": local_time(store, order.created_at),
        "updated_at": local_time(store, order.updated_at),
        "processed_at": local_time(store, order.processed_at),
        "cancelled_at": opt_time(order.cancelled_at),
        "closed_at": opt_time(order.closed_at),
        "cancel_reason": if cancelled { Value::from("customer") } else { Value::Null },
        "financial_status": if cancelled { "voided" } else { "paid" },
        "fulfillment_status": fulfillment_status,
        "currency": store.shop().currency_code,
        "presentment_currency": store.shop().currency_code,
        "total_price": total,
        "subtotal_price": total,
        "current_total_price": if cancelled { money(0) } else { total.clone() },
        "total_tax": "0.00",
        "taxes_included": false,
        "test": false,
        "confirmed": true,
        "location_id": order.location_id,
        "line_items": line_items,
    })
}

fn product_body(store: &Store, id: u64) -> Option<Value> {
    let product = store.products.get(&id)?;
    let variants: Vec<Value> = product
        .variant_ids
        .iter()
        .filter_map(|v| store.variants.get(v))
        .map(|v| {
            json!({
                "id": v.id,
                "admin_graphql_api_id": format!("gid://shopify/ProductVariant/{}", v.id),
                "product_id": v.product_id,
                "title": v.title,
                "sku": v.sku,
                "barcode": v.barcode,
                "price": money(v.price_cents),
                "compare_at_price": v.compare_at_price_cents.map(money),
                "position": v.position,
                "inventory_policy": v.inventory_policy.to_ascii_lowercase(),
                "inventory_item_id": v.inventory_item_id,
                "inventory_quantity": store.variant_inventory_quantity(v),
                "created_at": local_time(store, v.created_at),
                "updated_at": local_time(store, v.updated_at),
            })
        })
        .collect();
    Some(json!({
        "id": product.id,
        "admin_graphql_api_id": format!("gid://shopify/Product/{}", product.id),
        "title": product.title,
        "handle": product.handle,
        "vendor": product.vendor,
        "product_type": product.product_type,
        "status": product.status.to_ascii_lowercase(),
        "tags": product.tags.join(", "),
        "created_at": local_time(store, product.created_at),
        "updated_at": local_time(store, product.updated_at),
        "variants": variants,
    }))
}

/// `2026-07-14T20:00:00-04:00`: the instant in the shop's time zone with its offset.
pub fn local_time(store: &Store, t: UnixMillis) -> String {
    let offset_minutes = offset_minutes(&store.shop().iana_timezone, t);
    let local = crate::clock::format_rfc3339(t + offset_minutes * 60_000);
    let sign = if offset_minutes < 0 { '-' } else { '+' };
    let m = offset_minutes.abs();
    format!(
        "{}{sign}{:02}:{:02}",
        local.trim_end_matches('Z'),
        m / 60,
        m % 60
    )
}

/// UTC offset in minutes. The simulated shop is in `America/New_York` (US Eastern, daylight
/// time from the second Sunday of March 02:00 to the first Sunday of November 02:00 local);
/// any other zone is treated as UTC.
fn offset_minutes(zone: &str, t: UnixMillis) -> i64 {
    if zone != "America/New_York" {
        return 0;
    }
    let year: i64 = crate::clock::format_rfc3339(t)[..4].parse().unwrap_or(1970);
    let day =
        |month: u32, d: u32| crate::clock::parse_rfc3339(&format!("{year:04}-{month:02}-{d:02}"));
    // Weekday of a date: 1970-01-01 was a Thursday (4, counting Sunday as 0).
    let weekday = |millis: UnixMillis| (millis.div_euclid(86_400_000) + 4).rem_euclid(7);
    let nth_sunday = |month: u32, n: i64| -> Option<UnixMillis> {
        let first = day(month, 1)?;
        let to_sunday = (7 - weekday(first)) % 7;
        Some(first + (to_sunday + 7 * (n - 1)) * 86_400_000)
    };
    let (Some(start), Some(end)) = (nth_sunday(3, 2), nth_sunday(11, 1)) else {
        return -300;
    };
    // 02:00 EST = 07:00 UTC; 02:00 EDT = 06:00 UTC.
    let dst_start = start + 7 * 3_600_000;
    let dst_end = end + 6 * 3_600_000;
    if (dst_start..dst_end).contains(&t) {
        -240
    } else {
        -300
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn eastern_time_with_daylight_saving() {
        let store = Store::generate(&crate::config::SimConfig {
            products: 1,
            ..Default::default()
        });
        let at = |s: &str| crate::clock::parse_rfc3339(s).unwrap();
        assert_eq!(
            local_time(&store, at("2026-07-15T00:00:00Z")),
            "2026-07-14T20:00:00-04:00"
        );
        assert_eq!(
            local_time(&store, at("2026-01-15T12:00:00Z")),
            "2026-01-15T07:00:00-05:00"
        );
        // 2026: DST from 8 March 07:00 UTC to 1 November 06:00 UTC.
        assert!(local_time(&store, at("2026-03-08T06:59:00Z")).ends_with("-05:00"));
        assert!(local_time(&store, at("2026-03-08T07:00:00Z")).ends_with("-04:00"));
        assert!(local_time(&store, at("2026-11-01T05:59:00Z")).ends_with("-04:00"));
        assert!(local_time(&store, at("2026-11-01T06:00:00Z")).ends_with("-05:00"));
    }
}
