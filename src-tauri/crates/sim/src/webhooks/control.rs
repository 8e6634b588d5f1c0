//! Control routes for webhooks (no authentication, loopback only, like the rest of `/_sim`).
//!
//! | route | body | effect |
//! |---|---|---|
//! | `POST /_sim/tunnels` | `{"target":"http://127.0.0.1:PORT"}` | opens a tunnel → `{"public_url":"https://<name>.tunnel.shelfsync.test","target":…}` |
//! | `GET /_sim/tunnels` | | open tunnels |
//! | `DELETE /_sim/tunnels/{name}` | | closes a tunnel (name, host or public URL); deliveries to it fail from then on |
//! | `GET /_sim/webhooks` | | `api_client_id`, settings, subscriptions with their failure counts |
//! | `GET /_sim/webhooks/deliveries` | | every attempt, drop and abandonment, oldest first |
//! | `GET /_sim/eventbridge` | | the EventBridge target (without its secret key), or `null` |
//! | `POST /_sim/eventbridge` | `{"endpoint_url":"http://127.0.0.1:PORT","region":"us-east-1","event_bus_name":"shop","access_key_id":"…","secret_access_key":"…"}` | delivers `arn:aws:events:…` subscriptions there from now on |
//! | `DELETE /_sim/eventbridge` | | stops delivering them (recorded as `not_simulated`) |
//! | `POST /_sim/webhooks/trigger` | `{"topic":"shop/update","address":"https://….tunnel.shelfsync.test/webhooks"}` (or an `arn:aws:events:…` address) | what `shopify app webhook trigger` does: one signed delivery of a sample payload to the address, whether or not a subscription points there, never retried → `{"webhook_id","event_id"}` |
//! | `POST /_sim/webhooks/settings` | `{"first_retry_seconds":60,"retries":8,"removal_after_failures":8,"timeout_seconds":5,"max_concurrency":16}` | delivery policy (omitted keys take the defaults) |
//!
//! Webhook faults are set with the other faults, `POST /_sim/faults`.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::json;

use super::Settings;
use super::eventbridge::EventBridgeTarget;
use super::tunnel;
use crate::clock::format_rfc3339;
use crate::server::SimState;

pub fn routes() -> Router<Arc<SimState>> {
    Router::new()
        .route("/_sim/tunnels", post(open_tunnel).get(list_tunnels))
        .route("/_sim/tunnels/{name}", delete(close_tunnel))
        .route("/_sim/webhooks", get(overview))
        .route("/_sim/webhooks/deliveries", get(deliveries))
        .route("/_sim/webhooks/settings", post(set_settings))
        .route("/_sim/webhooks/trigger", post(trigger))
        .route(
            "/_sim/eventbridge",
            get(show_eventbridge)
                .post(set_eventbridge)
                .delete(clear_eventbridge),
        )
}

fn problem(status: StatusCode, message: impl Into<String>) -> Response {
    (status, Json(json!({ "error": message.into() }))).into_response()
}

#[derive(Deserialize)]
struct OpenTunnel {
    target: String,
}

async fn open_tunnel(State(state): State<Arc<SimState>>, Json(body): Json<OpenTunnel>) -> Response {
    if !tunnel::valid_target(&body.target) {
        return problem(
            StatusCode::BAD_REQUEST,
            "target must be http://127.0.0.1:PORT, http://localhost:PORT or http://[::1]:PORT",
        );
    }
    let mut inner = state.webhooks.lock();
    // Random-looking but seeded names, like ngrok's.
    let name = inner.rng.hex(6);
    let opened = inner.tunnels.open(&name, &body.target);
    drop(inner);
    (StatusCode::CREATED, Json(json!(opened))).into_response()
}

async fn list_tunnels(State(state): State<Arc<SimState>>) -> Response {
    Json(json!({ "tunnels": state.webhooks.lock().tunnels.list() })).into_response()
}

async fn close_tunnel(State(state): State<Arc<SimState>>, Path(name): Path<String>) -> Response {
    if state.webhooks.lock().tunnels.close(&name) {
        StatusCode::NO_CONTENT.into_response()
    } else {
        problem(StatusCode::NOT_FOUND, format!("no tunnel {name}"))
    }
}

async fn overview(State(state): State<Arc<SimState>>) -> Response {
    let webhooks = &state.webhooks;
    let subscriptions: Vec<_> = webhooks
        .subscriptions()
        .into_iter()
        .map(|s| {
            json!({
                "id": super::graphql::gid(s.id),
                "topic": s.topic,
                "uri": s.address.uri(),
                "format": s.format,
                "name": s.name,
                "filter": s.filter,
                "consecutive_failures": s.consecutive_failures,
                "created_at": format_rfc3339(s.created_at),
            })
        })
        .collect();
    let pending = webhooks.lock().pending.len();
    Json(json!({
        "api_client_id": webhooks.api_client_id,
        "settings": webhooks.settings(),
        "subscriptions": subscriptions,
        "pending_deliveries": pending,
    }))
    .into_response()
}

async fn deliveries(State(state): State<Arc<SimState>>) -> Response {
    Json(json!({ "deliveries": state.webhooks.attempts() })).into_response()
}

async fn set_settings(
    State(state): State<Arc<SimState>>,
    Json(settings): Json<Settings>,
) -> Response {
    let bad = |v: f64| !v.is_finite() || v < 0.0;
    if bad(settings.first_retry_seconds) || bad(settings.timeout_seconds) {
        return problem(
            StatusCode::BAD_REQUEST,
            "first_retry_seconds and timeout_seconds must be finite and not negative",
        );
    }
    if settings.max_concurrency == 0 || settings.removal_after_failures == 0 {
        return problem(
            StatusCode::BAD_REQUEST,
            "max_concurrency and removal_after_failures must be at least 1",
        );
    }
    state.webhooks.set_settings(settings.clone());
    Json(json!(settings)).into_response()
}

async fn show_eventbridge(State(state): State<Arc<SimState>>) -> Response {
    let view = state
        .webhooks
        .eventbridge()
        .map(|t| t.public_view())
        .unwrap_or(serde_json::Value::Null);
    Json(json!({ "target": view })).into_response()
}

async fn set_eventbridge(
    State(state): State<Arc<SimState>>,
    Json(target): Json<EventBridgeTarget>,
) -> Response {
    let url_ok =
        target.endpoint_url.starts_with("http://") || target.endpoint_url.starts_with("https://");
    if !url_ok || target.region.is_empty() || target.event_bus_name.is_empty() {
        return problem(
            StatusCode::BAD_REQUEST,
            "endpoint_url must be an http(s) URL; region and event_bus_name must not be empty",
        );
    }
    let view = target.public_view();
    state.webhooks.set_eventbridge(Some(target));
    Json(json!({ "target": view })).into_response()
}

async fn clear_eventbridge(State(state): State<Arc<SimState>>) -> Response {
    state.webhooks.set_eventbridge(None);
    StatusCode::NO_CONTENT.into_response()
}

#[derive(Deserialize)]
struct Trigger {
    #[serde(default = "shop_update")]
    topic: String,
    address: String,
}

fn shop_update() -> String {
    "shop/update".into()
}

/// `shopify app webhook trigger`: a sample payload delivered once to `address`. Only
/// `shop/update` has a sample here (the shop's own record).
async fn trigger(State(state): State<Arc<SimState>>, Json(body): Json<Trigger>) -> Response {
    if body.topic != "shop/update" {
        return problem(
            StatusCode::BAD_REQUEST,
            "the simulator has a sample payload for shop/update only",
        );
    }
    let target = if body.address.starts_with("https://") {
        super::delivery::DeliveryTarget::Https(body.address.clone())
    } else if super::eventbridge::event_source(&body.address).is_some() {
        super::delivery::DeliveryTarget::EventBridge(body.address.clone())
    } else {
        return problem(
            StatusCode::BAD_REQUEST,
            "address must be an https:// URL or an arn:aws:events: event source",
        );
    };
    let (payload, shop_domain) = {
        let store = state.read_store();
        let shop = store.shop();
        (
            json!({
                "id": shop.id,
                "name": shop.name,
                "domain": shop.myshopify_domain,
                "myshopify_domain": shop.myshopify_domain,
                "currency": shop.currency_code,
            }),
            shop.myshopify_domain.clone(),
        )
    };
    let now = state.clock.now();
    let mut inner = state.webhooks.lock();
    let webhook_id = super::uuid_from(&mut inner.rng);
    let event_id = super::uuid_from(&mut inner.rng);
    let job = super::delivery::Job {
        webhook_id: webhook_id.clone(),
        event_id: event_id.clone(),
        event_sequence: 0,
        // No subscription: a failed attempt is not retried and removes nothing.
        subscription_id: 0,
        subscription_name: None,
        topic: body.topic,
        target,
        body: serde_json::to_vec(&payload).unwrap_or_default().into(),
        triggered_at: now,
        shop_domain,
        resource_header: None,
        duplicate: false,
        attempts: 0,
    };
    inner.pending.push(super::delivery::Pending {
        job,
        due: now,
        in_flight: false,
    });
    drop(inner);
    state.webhooks.wake.notify_one();
    (
        StatusCode::ACCEPTED,
        Json(json!({ "webhook_id": webhook_id, "event_id": event_id })),
    )
        .into_response()
}
