//! The loopback listener behind the owner's tunnel.
//!
//! It binds to 127.0.0.1 only: the tunnel client runs on the same machine, and nothing else
//! should be able to reach it. Any path is accepted (tunnels forward the path of the public
//! URL as it is), `POST` only. Each request is answered with:
//!
//! - `200` once the event is durably in the inbox, or was already there (a redelivery);
//! - `400` when a required header is missing or unreadable, or the body is empty;
//! - `401` when the signature does not match;
//! - `413` when the body is larger than [`ListenerConfig::max_body_bytes`] (refused from
//!   `Content-Length` before reading, or as soon as a chunked body passes the bound);
//! - `503` when the inbox could not be written (the disk is full, say): Shopify retries.
//!
//! Refusals are counted per reason and logged with the reason only (never a header value or
//! the key), and nothing of a refused request is stored.

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::extract::{DefaultBodyLimit, Request, State};
use axum::http::{Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use shelfsync_shopify::Secret;
use shelfsync_store::Recorded;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use super::inbox::InboxWriter;
use super::verify::{self, Refusal};
use super::{IntakeError, IntakePath, IntakeStats, Outcome};

/// How the listener runs.
#[derive(Debug, Clone)]
pub struct ListenerConfig {
    /// Port on 127.0.0.1; 0 picks a free one.
    pub port: u16,
    /// Keys that may have signed a delivery (any one verifies).
    pub keys: Vec<Secret>,
    /// The connected store's `*.myshopify.com` domain, when known: events of another shop
    /// are refused.
    pub shop_domain: Option<String>,
    pub max_body_bytes: usize,
}

struct Shared {
    keys: Vec<Secret>,
    shop_domain: Option<String>,
    max_body_bytes: usize,
    inbox: InboxWriter,
    stats: IntakeStats,
}

/// A running listener. [`Listener::stop`] closes the port and waits for the server task.
pub struct Listener {
    addr: SocketAddr,
    stop: CancellationToken,
    task: Option<JoinHandle<()>>,
}

impl std::fmt::Debug for Listener {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Listener")
            .field("addr", &self.addr)
            .finish_non_exhaustive()
    }
}

impl Drop for Listener {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

impl Listener {
    /// Binds 127.0.0.1:`port` and starts serving on the current runtime.
    pub async fn start(
        config: ListenerConfig,
        inbox: InboxWriter,
        stats: IntakeStats,
    ) -> Result<Self, IntakeError> {
        let socket = tokio::net::TcpListener::bind((Ipv4Addr::LOCALHOST, config.port))
            .await
            .map_err(|e| IntakeError::Bind {
                port: config.port,
                detail: e.to_string(),
            })?;
        let addr = socket.local_addr().map_err(|e| IntakeError::Bind {
            port: config.port,
            detail: e.to_string(),
        })?;
        let shared = Arc::new(Shared {
            keys: config.keys,
            shop_domain: config.shop_domain,
            max_body_bytes: config.max_body_bytes,
            inbox,
            stats,
        });
        let app = Router::new()
            .fallback(receive)
            .layer(DefaultBodyLimit::disable())
            .with_state(shared);
        let stop = CancellationToken::new();
        let stopped = stop.clone();
        let task = tokio::spawn(async move {
            let served = axum::serve(socket, app)
                .with_graceful_shutdown(async move { stopped.cancelled().await })
                .await;
            if let Err(err) = served {
                tracing::error!(error = %err, "the webhook listener stopped");
            }
        });
        tracing::info!(%addr, "webhook listener started");
        Ok(Self {
            addr,
            stop,
            task: Some(task),
        })
    }

    /// The bound address (the port chosen when 0 was asked for).
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// Stops accepting requests; requests in progress finish (their events are committed
    /// and answered) before this returns.
    pub async fn stop(mut self) {
        self.stop.cancel();
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

fn refuse(shared: &Shared, refusal: Refusal) -> Response {
    shared
        .stats
        .record(IntakePath::Listener, Outcome::Refused(refusal));
    tracing::warn!(
        status = refusal.status(),
        reason = refusal.reason(),
        "webhook refused"
    );
    let status = StatusCode::from_u16(refusal.status()).unwrap_or(StatusCode::BAD_REQUEST);
    if refusal == Refusal::Oversized {
        // The rest of the body is not read: this connection cannot carry another request.
        return (status, [(header::CONNECTION, "close")], refusal.reason()).into_response();
    }
    (status, refusal.reason()).into_response()
}

async fn receive(State(shared): State<Arc<Shared>>, request: Request<Body>) -> Response {
    if request.method() != Method::POST {
        return (StatusCode::METHOD_NOT_ALLOWED, "webhooks are POSTed").into_response();
    }
    let (parts, body) = request.into_parts();
    let declared = parts
        .headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|len| len > shared.max_body_bytes as u64) {
        return refuse(&shared, Refusal::Oversized);
    }
    let body = match axum::body::to_bytes(body, shared.max_body_bytes).await {
        Ok(body) => body,
        // Past the bound, or the client went away mid-body: either way nothing to store.
        Err(_) => return refuse(&shared, Refusal::Oversized),
    };
    let event = match verify::verify(
        &shared.keys,
        shared.shop_domain.as_deref(),
        &parts.headers,
        &body,
    ) {
        Ok(event) => event,
        Err(refusal) => return refuse(&shared, refusal),
    };
    match shared.inbox.commit(event).await {
        Ok(Recorded::New(_)) => {
            shared.stats.record(IntakePath::Listener, Outcome::Accepted);
            StatusCode::OK.into_response()
        }
        Ok(Recorded::Duplicate(_)) => {
            shared
                .stats
                .record(IntakePath::Listener, Outcome::Duplicate);
            StatusCode::OK.into_response()
        }
        Err(err) => {
            shared
                .stats
                .record(IntakePath::Listener, Outcome::StoreFailed);
            tracing::error!(error = %err, "a webhook could not be stored; Shopify will retry");
            (StatusCode::SERVICE_UNAVAILABLE, "not stored; retry later").into_response()
        }
    }
}
