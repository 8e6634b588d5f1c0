//! The HTTP surface: routes, shared state and start-up.
//!
//! Routes: `POST /admin/oauth/access_token` (client-credentials grant),
//! `POST /admin/api/{version}/graphql.json`, `GET /_sim/info` (the start line again) and the
//! control API of [`crate::control`].
//! Everything runs on 127.0.0.1; tests start the server in-process on port 0.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::{Deserialize, Serialize};
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use crate::auth::{App, INVALID_TOKEN_BODY, Tokens};
use crate::bucket::{LeakyBucket, ThrottleStatus};
use crate::clock::{SimClock, UnixMillis};
use crate::config::SimConfig;
use crate::control::{self, Faults};
use crate::cost::{Calibrated2026, CostModel};
use crate::graphql::{self, GraphqlRequest, IdempotencyRecord};
use crate::store::{SeededRng, Store};

pub const API_VERSION: &str = shopify_schema::API_VERSION;

/// Everything the handlers share.
pub struct SimState {
    pub config: SimConfig,
    pub clock: SimClock,
    pub base_url: String,
    pub cost_model: Box<dyn CostModel>,
    store: RwLock<Store>,
    tokens: Mutex<Tokens>,
    buckets: Mutex<HashMap<App, LeakyBucket>>,
    idempotency: Mutex<HashMap<String, IdempotencyRecord>>,
    faults: Mutex<Faults>,
    fault_rng: Mutex<SeededRng>,
    trickle: Mutex<Option<Trickle>>,
    /// Webhook subscriptions, tunnels and deliveries.
    pub webhooks: crate::webhooks::Webhooks,
    /// Bulk operations and their result files.
    pub bulk: crate::bulk::BulkOperations,
}

/// A steady stream of customer orders for the demo, paced on the simulated clock.
#[derive(Debug)]
pub struct Trickle {
    interval_ms: i64,
    next_due: UnixMillis,
    max_quantity: u64,
    rng: SeededRng,
}

/// Upper bound of orders placed by one catch-up, so a huge clock jump cannot stall a request.
const MAX_TRICKLE_CATCH_UP: usize = 10_000;

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic while holding a lock cannot leave these maps half-updated in a way that matters
    // more than refusing all further requests would.
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl SimState {
    pub fn read_store(&self) -> RwLockReadGuard<'_, Store> {
        self.store.read().unwrap_or_else(PoisonError::into_inner)
    }

    pub fn write_store(&self) -> RwLockWriteGuard<'_, Store> {
        self.store.write().unwrap_or_else(PoisonError::into_inner)
    }

    pub fn tokens(&self) -> MutexGuard<'_, Tokens> {
        lock(&self.tokens)
    }

    pub fn faults(&self) -> MutexGuard<'_, Faults> {
        lock(&self.faults)
    }

    /// Draws the injected-failure decisions for one GraphQL request: the status to answer with
    /// instead (if any), the added latency, and whether to cut the answer off.
    fn draw_fault(&self) -> (Option<u16>, u64, bool) {
        let faults = self.faults().clone();
        let roll = |rate: f64| {
            rate > 0.0 && (lock(&self.fault_rng).below(1_000_000) as f64 / 1_000_000.0) < rate
        };
        let fail = roll(faults.http_5xx_rate);
        let reset = !fail && roll(faults.connection_reset_rate);
        (
            fail.then(|| faults.http_5xx_status.unwrap_or(503)),
            faults.latency_ms,
            reset,
        )
    }

    /// Starts (rate > 0) or stops (rate 0) the order trickle.
    pub fn set_trickle(&self, orders_per_hour: f64, max_quantity: u64) {
        let mut trickle = lock(&self.trickle);
        *trickle = (orders_per_hour > 0.0).then(|| {
            let interval_ms = ((3_600_000.0 / orders_per_hour).round() as i64).max(1);
            Trickle {
                interval_ms,
                next_due: self.clock.now() + interval_ms,
                max_quantity: max_quantity.max(1),
                rng: SeededRng::new(self.config.seed ^ 0x0DE5),
            }
        });
    }

    /// Places every trickle order that is due by now (each at its own due time). Called before
    /// each request and by a background ticker, so both a scaled and a hand-moved clock work.
    pub fn catch_up_trickle(&self) -> usize {
        let mut guard = lock(&self.trickle);
        let Some(trickle) = guard.as_mut() else {
            return 0;
        };
        let now = self.clock.now();
        if trickle.next_due > now {
            return 0;
        }
        let mut store = self.write_store();
        let variant_ids: Vec<u64> = store.variants.keys().copied().collect();
        let mut placed = 0;
        while trickle.next_due <= now && placed < MAX_TRICKLE_CATCH_UP {
            let at = trickle.next_due;
            trickle.next_due += trickle.interval_ms;
            if variant_ids.is_empty() {
                break;
            }
            let variant = variant_ids[trickle.rng.below(variant_ids.len() as u64) as usize];
            let quantity = 1 + trickle.rng.below(trickle.max_quantity) as i64;
            // Out of stock: the customer goes away, as on a real store.
            if store.place_order(&[(variant, quantity)], None, at).is_ok() {
                placed += 1;
            }
        }
        if trickle.next_due <= now {
            // Give up on the backlog beyond the cap.
            trickle.next_due = now + trickle.interval_ms;
        }
        placed
    }

    pub fn idempotency(&self) -> MutexGuard<'_, HashMap<String, IdempotencyRecord>> {
        lock(&self.idempotency)
    }

    fn with_bucket<R>(
        &self,
        app: App,
        now: UnixMillis,
        f: impl FnOnce(&mut LeakyBucket) -> R,
    ) -> R {
        let mut buckets = lock(&self.buckets);
        let bucket = buckets
            .entry(app)
            .or_insert_with(|| LeakyBucket::new(&self.config.plan, now));
        f(bucket)
    }

    pub fn take_from_bucket(&self, app: App, cost: f64, now: UnixMillis) -> bool {
        self.with_bucket(app, now, |b| b.try_take(cost, now))
    }

    pub fn refund_to_bucket(&self, app: App, amount: f64, now: UnixMillis) {
        self.with_bucket(app, now, |b| b.refund(amount, now));
    }

    pub fn bucket_status(&self, app: App, now: UnixMillis) -> ThrottleStatus {
        self.with_bucket(app, now, |b| b.status(now))
    }

    /// Whether the app holds `scope` (a `write_` scope implies the matching `read_` one).
    pub fn has_scope(&self, scope: &str) -> bool {
        let write = scope.replacen("read_", "write_", 1);
        self.config.scopes.iter().any(|s| s == scope || *s == write)
    }

    /// Empties an app's bucket down to `level` points (throttle-burst fault, tests).
    pub fn drain_bucket(&self, app: App, level: f64) {
        let now = self.clock.now();
        self.with_bucket(app, now, |b| b.drain_to(level, now));
    }
}

/// The first line the binary prints: how to connect.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct StartInfo {
    pub base_url: String,
    pub shop_domain: String,
    pub api_version: String,
    pub graphql_url: String,
    pub client_id: String,
    pub client_secret: String,
    pub admin_token: Option<String>,
    pub seed: u64,
    pub plan: String,
}

/// A running simulator. Dropping it stops the server.
pub struct RunningSim {
    pub info: StartInfo,
    pub state: Arc<SimState>,
    pub addr: SocketAddr,
    shutdown: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<()>>,
}

impl RunningSim {
    /// Stops accepting connections and waits for the server task to end.
    pub async fn stop(mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

impl Drop for RunningSim {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

/// Starts with a clock running at `config.time_scale`.
pub async fn start(config: SimConfig) -> std::io::Result<RunningSim> {
    let clock = SimClock::scaled(config.start_time, config.time_scale);
    start_with_clock(config, clock).await
}

/// Starts with the given clock (tests pass [`SimClock::manual`]).
pub async fn start_with_clock(config: SimConfig, clock: SimClock) -> std::io::Result<RunningSim> {
    let listener = TcpListener::bind(("127.0.0.1", config.port)).await?;
    let addr = listener.local_addr()?;
    let base_url = format!("http://{addr}");
    let store = Store::generate(&config);
    let tokens = Tokens::new(
        config.seed,
        config.token_ttl_secs,
        config.legacy_admin_token.clone(),
    );
    let info = StartInfo {
        base_url: base_url.clone(),
        shop_domain: store.shop().myshopify_domain.clone(),
        api_version: API_VERSION.to_owned(),
        graphql_url: format!("{base_url}/admin/api/{API_VERSION}/graphql.json"),
        client_id: tokens.client_id.clone(),
        client_secret: tokens.client_secret.clone(),
        admin_token: tokens.legacy_admin_token.clone(),
        seed: config.seed,
        plan: config.plan.name.clone(),
    };
    let config_seed = config.seed;
    let eventbridge = config.eventbridge.clone();
    let state = Arc::new(SimState {
        config,
        clock,
        base_url,
        cost_model: Box::new(Calibrated2026),
        store: RwLock::new(store),
        tokens: Mutex::new(tokens),
        buckets: Mutex::new(HashMap::new()),
        idempotency: Mutex::new(HashMap::new()),
        faults: Mutex::new(Faults::default()),
        fault_rng: Mutex::new(SeededRng::new(config_seed ^ 0xFA17)),
        trickle: Mutex::new(None),
        webhooks: crate::webhooks::Webhooks::new(config_seed),
        bulk: crate::bulk::BulkOperations::new(config_seed),
    });
    state.webhooks.set_eventbridge(eventbridge);
    crate::bulk::spawn_worker(&state);
    let dispatcher = crate::webhooks::delivery::spawn(state.clone());
    let ticker_state = state.clone();
    let ticker = tokio::spawn(async move {
        let mut tick = tokio::time::interval(std::time::Duration::from_millis(250));
        loop {
            tick.tick().await;
            ticker_state.catch_up_trickle();
        }
    });
    let app = router(state.clone(), info.clone());
    let (tx, rx) = oneshot::channel::<()>();
    let task = tokio::spawn(async move {
        let server = axum::serve(listener, app).with_graceful_shutdown(async {
            let _ = rx.await;
        });
        if let Err(e) = server.await {
            tracing::error!("shopify-sim server stopped: {e}");
        }
        dispatcher.stop().await;
        ticker.abort();
    });
    Ok(RunningSim {
        info,
        state,
        addr,
        shutdown: Some(tx),
        task: Some(task),
    })
}

fn router(state: Arc<SimState>, info: StartInfo) -> Router {
    Router::new()
        .route("/admin/oauth/access_token", post(access_token))
        .route("/admin/api/{version}/graphql.json", post(graphql_endpoint))
        .route("/_sim/info", get(move || async move { axum::Json(info) }))
        .route("/_bulk/{file}", get(crate::bulk::download))
        .merge(control::routes())
        .merge(crate::webhooks::control::routes())
        .with_state(state)
}

fn json_response(status: StatusCode, body: String) -> Response {
    let mut response = (status, body).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json; charset=utf-8"),
    );
    response
}

fn unauthorized() -> Response {
    json_response(StatusCode::UNAUTHORIZED, INVALID_TOKEN_BODY.to_owned())
}

#[derive(Debug, Default, Deserialize)]
struct GrantRequest {
    grant_type: Option<String>,
    client_id: Option<String>,
    client_secret: Option<String>,
}

/// The client-credentials grant, form or JSON body (FACTS §2).
async fn access_token(
    State(state): State<Arc<SimState>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let is_json = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    let grant: GrantRequest = if is_json {
        serde_json::from_slice(&body).unwrap_or_default()
    } else {
        serde_urlencoded::from_bytes(&body).unwrap_or_default()
    };
    if grant.grant_type.as_deref() != Some("client_credentials") {
        // Not captured from Shopify; RFC 6749 §5.2's error for a missing or other grant type.
        return json_response(
            StatusCode::BAD_REQUEST,
            serde_json::json!({
                "error": "unsupported_grant_type",
                "error_description": "grant_type must be client_credentials"
            })
            .to_string(),
        );
    }
    let now = state.clock.now();
    let mut tokens = state.tokens();
    let issued = tokens.grant(
        grant.client_id.as_deref().unwrap_or_default(),
        grant.client_secret.as_deref().unwrap_or_default(),
        now,
    );
    match issued {
        Some(token) => json_response(
            StatusCode::OK,
            serde_json::json!({
                "access_token": token,
                "scope": state.config.scopes.join(","),
                "expires_in": tokens.ttl_secs(),
            })
            .to_string(),
        ),
        // FACTS §11 #4: bad credentials answer 401 with the standard body.
        None => unauthorized(),
    }
}

fn is_version(v: &str) -> bool {
    v == "unstable"
        || (v.len() == 7
            && v.as_bytes()[4] == b'-'
            && v[..4].bytes().all(|b| b.is_ascii_digit())
            && v[5..].bytes().all(|b| b.is_ascii_digit()))
}

async fn graphql_endpoint(
    State(state): State<Arc<SimState>>,
    Path(version): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if !is_version(&version) {
        // FACTS §11 #16.
        return json_response(
            StatusCode::NOT_FOUND,
            r#"{"errors":[{"message":"Not found"}]}"#.to_owned(),
        );
    }
    // Only `X-Shopify-Access-Token` authenticates; `Authorization: Bearer` is not looked at.
    let token = headers
        .get("x-shopify-access-token")
        .and_then(|v| v.to_str().ok());
    let app = match state.tokens().check(token, state.clock.now()) {
        Ok(app) => app,
        Err(_) => return unauthorized(),
    };
    state.catch_up_trickle();
    let (failure, latency_ms, reset) = state.draw_fault();
    if latency_ms > 0 {
        tokio::time::sleep(std::time::Duration::from_millis(latency_ms)).await;
    }
    if let Some(status) = failure {
        let status = StatusCode::from_u16(status).unwrap_or(StatusCode::SERVICE_UNAVAILABLE);
        // An injected fault; the body mimics an edge error page's JSON form.
        return json_response(
            status,
            format!(
                r#"{{"errors":"{} (injected by shopify-sim)"}}"#,
                status.canonical_reason().unwrap_or("Server error")
            ),
        );
    }
    let is_graphql_body = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/graphql"));
    let request = if is_graphql_body {
        GraphqlRequest {
            query: Some(String::from_utf8_lossy(&body).into_owned()),
            ..GraphqlRequest::default()
        }
    } else {
        match serde_json::from_slice::<GraphqlRequest>(&body) {
            Ok(r) => r,
            // Shopify's answer to a body that is not a GraphQL request (not captured; chosen).
            Err(_) => {
                return json_response(
                    StatusCode::BAD_REQUEST,
                    r#"{"errors":{"query":"Required parameter missing or invalid"}}"#.to_owned(),
                );
            }
        }
    };
    let state_for_work = state.clone();
    // Validation and execution are CPU work: keep them off the async workers.
    let result =
        tokio::task::spawn_blocking(move || graphql::respond(&state_for_work, app, request)).await;
    let answer = match result {
        Ok(answer) => answer,
        Err(_) => {
            return json_response(
                StatusCode::INTERNAL_SERVER_ERROR,
                r#"{"errors":[{"message":"Internal error","extensions":{"code":"INTERNAL_SERVER_ERROR"}}]}"#
                    .to_owned(),
            );
        }
    };
    if reset {
        // The work is done; the answer never arrives whole: the body stream fails, so the server
        // drops the connection mid-response.
        let broken = futures_util::stream::once(async {
            Err::<Bytes, std::io::Error>(std::io::Error::new(
                std::io::ErrorKind::ConnectionReset,
                "connection reset injected by shopify-sim",
            ))
        });
        let mut response = Response::new(axum::body::Body::from_stream(broken));
        response.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json; charset=utf-8"),
        );
        return response;
    }
    let status = StatusCode::from_u16(answer.status).unwrap_or(StatusCode::OK);
    let mut response = json_response(
        status,
        serde_json::to_string(&answer.body).unwrap_or_default(),
    );
    response.headers_mut().insert(
        "x-shopify-api-version",
        HeaderValue::from_static(API_VERSION),
    );
    if let Some(seconds) = answer.retry_after_secs
        && let Ok(value) = HeaderValue::from_str(&format!("{seconds:.1}"))
    {
        response.headers_mut().insert(header::RETRY_AFTER, value);
    }
    response
}
