//! The control API under `/_sim/…` (a prefix Shopify does not use): store activity a merchant or
//! customer would cause, fault injection, the clock, and the full state for assertions.
//! No authentication: the simulator only listens on 127.0.0.1.
//!
//! | route | body | effect |
//! |---|---|---|
//! | `GET /_sim/info` | | the start line again |
//! | `GET /_sim/state` | | shop clock, locations, variants with prices and levels, orders, events |
//! | `POST /_sim/orders` | `{"lines":[{"variant_id":…,"quantity":n}],"location_id":…?}` | place an order: `available` → `committed` |
//! | `POST /_sim/orders/{id}/fulfill` | | `committed` and `on_hand` go down |
//! | `POST /_sim/orders/{id}/cancel` | | `committed` back to `available` |
//! | `POST /_sim/inventory` | `{"inventory_item_id":…,"location_id":…,"name":"available","delta":n}` | a merchant's stock edit |
//! | `POST /_sim/prices` | `{"variant_id":…,"price":"12.00","compare_at_price":"15.00"\|null}` | a merchant's price edit |
//! | `POST /_sim/faults` | `{"http_5xx_rate":0.1,"http_5xx_status":503,"latency_ms":200,"throttle_status":429,"connection_reset_rate":0.1}` | GraphQL faults (seeded) |
//! | `POST /_sim/faults` | `{"webhook_drop_rate":0.01,"webhook_duplicate_rate":0.2,"webhook_reorder_rate":0.1,"webhook_reorder_seconds":30,"webhook_delay_seconds":5}` | webhook delivery faults (seeded; one faults object holds both kinds, `{}` clears all) |
//! | `POST /_sim/bucket/drain` | `{"to":0}` | empty every app's bucket to `to` points (throttle burst) |
//! | `POST /_sim/tokens/revoke` | | revoke every token, the legacy one too |
//! | `POST /_sim/clock/advance` | `{"seconds":n}` | move simulated time forward |
//! | `POST /_sim/trickle` | `{"orders_per_hour":120,"max_quantity":2}` | steady random orders on the simulated clock; 0 stops |
//!
//! Webhook routes (`/_sim/tunnels`, `/_sim/webhooks/…`) are in `webhooks::control`.
//!
//! Ids are accepted as numbers or as global ids.

use std::sync::Arc;

use axum::Json;
use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::auth::App;
use crate::clock::format_rfc3339;
use crate::server::SimState;
use crate::store::{AVAILABLE, ON_HAND, QUANTITY_NAMES, StoreError, money, quantity_index};

/// Seeded GraphQL-endpoint faults.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Faults {
    /// Share of GraphQL requests answered with `http_5xx_status` instead (0..=1).
    #[serde(default)]
    pub http_5xx_rate: f64,
    /// 500, 502, 503 or 504; default 503.
    #[serde(default)]
    pub http_5xx_status: Option<u16>,
    /// Real milliseconds added before each GraphQL answer.
    #[serde(default)]
    pub latency_ms: u64,
    /// Share of GraphQL requests (0..=1) that are executed — writes are applied — but whose
    /// response is cut off: the connection drops mid-answer, as when a network path fails after
    /// Shopify has done the work. The client cannot tell whether its write happened.
    #[serde(default)]
    pub connection_reset_rate: f64,
    /// 429 or 503: answer a request the bucket cannot cover with that status and a `Retry-After`
    /// header (seconds, one decimal, as Shopify's REST API writes it) instead of Shopify's
    /// GraphQL `THROTTLED` on HTTP 200 — other protections in front of Shopify do this.
    #[serde(default)]
    pub throttle_status: Option<u16>,
    /// Share of webhook deliveries (0..=1) never sent (see `webhooks::delivery`).
    #[serde(default)]
    pub webhook_drop_rate: f64,
    /// Share of webhook deliveries sent twice: same `X-Shopify-Event-Id`, own Webhook-Id.
    #[serde(default)]
    pub webhook_duplicate_rate: f64,
    /// Share of webhook deliveries held back `webhook_reorder_seconds` (default 30 simulated
    /// seconds) so that later events overtake them.
    #[serde(default)]
    pub webhook_reorder_rate: f64,
    #[serde(default)]
    pub webhook_reorder_seconds: Option<f64>,
    /// Simulated seconds every webhook delivery waits before its first attempt.
    #[serde(default)]
    pub webhook_delay_seconds: f64,
}

pub fn routes() -> Router<Arc<SimState>> {
    Router::new()
        .route("/_sim/state", get(state))
        .route("/_sim/orders", post(place_order))
        .route("/_sim/orders/{id}/fulfill", post(fulfill))
        .route("/_sim/orders/{id}/cancel", post(cancel))
        .route("/_sim/inventory", post(edit_inventory))
        .route("/_sim/prices", post(edit_price))
        .route("/_sim/faults", post(set_faults))
        .route("/_sim/bucket/drain", post(drain))
        .route("/_sim/tokens/revoke", post(revoke))
        .route("/_sim/clock/advance", post(advance))
        .route("/_sim/trickle", post(trickle))
}

/// A numeric id or a global id of any type.
fn id_of(value: &Value) -> Option<u64> {
    match value {
        Value::Number(n) => n.as_u64(),
        Value::String(s) => s
            .rsplit('/')
            .next()
            .and_then(|tail| tail.split('?').next())
            .and_then(|n| n.parse().ok()),
        _ => None,
    }
}

fn problem(status: StatusCode, message: impl Into<String>) -> Response {
    (status, Json(json!({ "error": message.into() }))).into_response()
}

fn store_error(e: StoreError) -> Response {
    let status = match e {
        StoreError::Unknown(_) => StatusCode::NOT_FOUND,
        _ => StatusCode::UNPROCESSABLE_ENTITY,
    };
    problem(status, e.to_string())
}

async fn state(State(state): State<Arc<SimState>>) -> Response {
    state.catch_up_trickle();
    let now = state.clock.now();
    let store = state.read_store();
    let locations: Vec<Value> = store
        .locations
        .values()
        .map(|l| json!({ "id": l.id, "name": l.name, "is_active": l.is_active }))
        .collect();
    let variants: Vec<Value> = store
        .variants
        .values()
        .map(|v| {
            let levels: serde_json::Map<String, Value> = store
                .inventory_items
                .get(&v.inventory_item_id)
                .map(|item| {
                    item.levels
                        .iter()
                        .map(|(location, level)| {
                            let quantities: serde_json::Map<String, Value> = QUANTITY_NAMES
                                .iter()
                                .zip(level.quantities)
                                .map(|(name, q)| ((*name).to_owned(), json!(q)))
                                .collect();
                            (location.to_string(), Value::Object(quantities))
                        })
                        .collect()
                })
                .unwrap_or_default();
            json!({
                "id": v.id,
                "product_id": v.product_id,
                "sku": v.sku,
                "price": money(v.price_cents),
                "compare_at_price": v.compare_at_price_cents.map(money),
                "inventory_item_id": v.inventory_item_id,
                "updated_at": format_rfc3339(v.updated_at),
                "levels": levels,
            })
        })
        .collect();
    let orders: Vec<Value> = store
        .orders
        .values()
        .map(|o| {
            json!({
                "id": o.id,
                "name": o.name(),
                "location_id": o.location_id,
                "fulfillment_status": o.fulfillment_status(),
                "cancelled": o.cancelled_at.is_some(),
                "line_items": o.line_items.iter().map(|l| json!({
                    "id": l.id, "variant_id": l.variant_id, "sku": l.sku,
                    "quantity": l.quantity, "fulfillable_quantity": l.fulfillable_quantity,
                })).collect::<Vec<_>>(),
            })
        })
        .collect();
    Json(json!({
        "now": format_rfc3339(now),
        "shop_domain": store.shop().myshopify_domain,
        "locations": locations,
        "variants": variants,
        "orders": orders,
        "events": store.events,
    }))
    .into_response()
}

#[derive(Deserialize)]
struct OrderLine {
    variant_id: Value,
    quantity: i64,
}

#[derive(Deserialize)]
struct PlaceOrder {
    lines: Vec<OrderLine>,
    #[serde(default)]
    location_id: Option<Value>,
}

async fn place_order(State(state): State<Arc<SimState>>, Json(body): Json<PlaceOrder>) -> Response {
    let mut lines = Vec::new();
    for line in &body.lines {
        let Some(id) = id_of(&line.variant_id) else {
            return problem(
                StatusCode::BAD_REQUEST,
                "variant_id must be an id or a global id",
            );
        };
        lines.push((id, line.quantity));
    }
    let location = body.location_id.as_ref().and_then(id_of);
    let now = state.clock.now();
    let mut store = state.write_store();
    match store.place_order(&lines, location, now) {
        Ok(id) => {
            let name = store.orders.get(&id).map(|o| o.name()).unwrap_or_default();
            (
                StatusCode::CREATED,
                Json(json!({ "id": id, "admin_graphql_api_id": format!("gid://shopify/Order/{id}"), "name": name })),
            )
                .into_response()
        }
        Err(e) => store_error(e),
    }
}

async fn fulfill(State(state): State<Arc<SimState>>, Path(id): Path<String>) -> Response {
    let Some(id) = id_of(&Value::String(id)) else {
        return problem(StatusCode::BAD_REQUEST, "bad order id");
    };
    let now = state.clock.now();
    match state.write_store().fulfill_order(id, now) {
        Ok(()) => Json(json!({ "id": id, "fulfilled": true })).into_response(),
        Err(e) => store_error(e),
    }
}

async fn cancel(State(state): State<Arc<SimState>>, Path(id): Path<String>) -> Response {
    let Some(id) = id_of(&Value::String(id)) else {
        return problem(StatusCode::BAD_REQUEST, "bad order id");
    };
    let now = state.clock.now();
    match state.write_store().cancel_order(id, now) {
        Ok(()) => Json(json!({ "id": id, "cancelled": true })).into_response(),
        Err(e) => store_error(e),
    }
}

#[derive(Deserialize)]
struct EditInventory {
    inventory_item_id: Value,
    location_id: Value,
    name: String,
    delta: i64,
}

async fn edit_inventory(
    State(state): State<Arc<SimState>>,
    Json(body): Json<EditInventory>,
) -> Response {
    let (Some(item), Some(location)) = (id_of(&body.inventory_item_id), id_of(&body.location_id))
    else {
        return problem(
            StatusCode::BAD_REQUEST,
            "bad inventory_item_id or location_id",
        );
    };
    let Some(index) = quantity_index(&body.name).filter(|i| *i != ON_HAND) else {
        return problem(
            StatusCode::BAD_REQUEST,
            "name must be a quantity name other than on_hand (on_hand follows the others)",
        );
    };
    let now = state.clock.now();
    let mut store = state.write_store();
    let stocked = store
        .inventory_items
        .get(&item)
        .is_some_and(|i| i.levels.contains_key(&location));
    if !stocked {
        return problem(
            StatusCode::NOT_FOUND,
            "no inventory level for that item and location",
        );
    }
    // Everything but `incoming` is part of `on_hand`.
    let mut deltas = vec![(index, body.delta)];
    if index != crate::store::INCOMING {
        deltas.push((ON_HAND, body.delta));
    }
    store.adjust_level(item, location, &deltas, now);
    let level = store
        .inventory_items
        .get(&item)
        .and_then(|i| i.levels.get(&location))
        .map(|l| json!({ "available": l.quantities[AVAILABLE], "on_hand": l.quantities[ON_HAND] }));
    Json(json!({ "level": level })).into_response()
}

#[derive(Deserialize)]
struct EditPrice {
    variant_id: Value,
    price: String,
    #[serde(default)]
    compare_at_price: Option<String>,
}

fn cents(text: &str) -> Option<i64> {
    let (whole, fraction) = text.split_once('.').unwrap_or((text, "0"));
    if fraction.len() > 2 {
        return None;
    }
    let whole: i64 = whole.parse().ok()?;
    let fraction: i64 = format!("{fraction:0<2}").parse().ok()?;
    Some(whole * 100 + if whole < 0 { -fraction } else { fraction })
}

async fn edit_price(State(state): State<Arc<SimState>>, Json(body): Json<EditPrice>) -> Response {
    let Some(variant) = id_of(&body.variant_id) else {
        return problem(StatusCode::BAD_REQUEST, "bad variant_id");
    };
    let Some(price) = cents(&body.price) else {
        return problem(
            StatusCode::BAD_REQUEST,
            "price must be a decimal string like \"12.00\"",
        );
    };
    let compare_at = match body.compare_at_price.as_deref().map(cents) {
        Some(None) => return problem(StatusCode::BAD_REQUEST, "bad compare_at_price"),
        Some(Some(c)) => Some(c),
        None => None,
    };
    let now = state.clock.now();
    match state
        .write_store()
        .set_price(variant, price, compare_at, now)
    {
        Ok(()) => Json(json!({ "variant_id": variant, "price": money(price) })).into_response(),
        Err(e) => store_error(e),
    }
}

async fn set_faults(State(state): State<Arc<SimState>>, Json(faults): Json<Faults>) -> Response {
    let rates = [
        faults.webhook_drop_rate,
        faults.webhook_duplicate_rate,
        faults.webhook_reorder_rate,
    ];
    let seconds = [
        faults.webhook_delay_seconds,
        faults.webhook_reorder_seconds.unwrap_or(0.0),
    ];
    if rates.iter().any(|r| !(0.0..=1.0).contains(r))
        || seconds.iter().any(|s| !s.is_finite() || *s < 0.0)
    {
        return problem(
            StatusCode::BAD_REQUEST,
            "webhook rates must be within 0..=1 and webhook seconds not negative",
        );
    }
    if !(0.0..=1.0).contains(&faults.http_5xx_rate) {
        return problem(
            StatusCode::BAD_REQUEST,
            "http_5xx_rate must be within 0..=1",
        );
    }
    if faults
        .http_5xx_status
        .is_some_and(|status| !(500..=599).contains(&status))
    {
        return problem(
            StatusCode::BAD_REQUEST,
            "http_5xx_status must be a 5xx status",
        );
    }
    *state.faults() = faults.clone();
    Json(json!({ "http_5xx_rate": faults.http_5xx_rate, "latency_ms": faults.latency_ms }))
        .into_response()
}

#[derive(Deserialize)]
struct Drain {
    #[serde(default)]
    to: f64,
}

async fn drain(State(state): State<Arc<SimState>>, Json(body): Json<Drain>) -> Response {
    for app in [App::ClientCredentials, App::LegacyAdmin] {
        state.drain_bucket(app, body.to);
    }
    Json(json!({ "drained_to": body.to })).into_response()
}

async fn revoke(State(state): State<Arc<SimState>>) -> Response {
    state.tokens().revoke_all();
    Json(json!({ "revoked": true })).into_response()
}

#[derive(Deserialize)]
struct TrickleBody {
    orders_per_hour: f64,
    #[serde(default)]
    max_quantity: Option<u64>,
}

async fn trickle(State(state): State<Arc<SimState>>, Json(body): Json<TrickleBody>) -> Response {
    if !(body.orders_per_hour >= 0.0 && body.orders_per_hour.is_finite()) {
        return problem(
            StatusCode::BAD_REQUEST,
            "orders_per_hour must be zero or positive",
        );
    }
    state.catch_up_trickle();
    state.set_trickle(body.orders_per_hour, body.max_quantity.unwrap_or(2));
    Json(json!({ "orders_per_hour": body.orders_per_hour })).into_response()
}

#[derive(Deserialize)]
struct Advance {
    seconds: f64,
}

async fn advance(State(state): State<Arc<SimState>>, Json(body): Json<Advance>) -> Response {
    if !(body.seconds >= 0.0 && body.seconds.is_finite()) {
        return problem(StatusCode::BAD_REQUEST, "seconds must be zero or positive");
    }
    state
        .clock
        .advance(std::time::Duration::from_secs_f64(body.seconds));
    Json(json!({ "now": format_rfc3339(state.clock.now()) })).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_ids_and_prices() {
        assert_eq!(id_of(&json!(12)), Some(12));
        assert_eq!(id_of(&json!("gid://shopify/ProductVariant/34")), Some(34));
        assert_eq!(
            id_of(&json!("gid://shopify/InventoryLevel/5?inventory_item_id=6")),
            Some(5)
        );
        assert_eq!(cents("12.5"), Some(1250));
        assert_eq!(cents("12.05"), Some(1205));
        assert_eq!(cents("7"), Some(700));
        assert_eq!(cents("1.234"), None);
    }
}
