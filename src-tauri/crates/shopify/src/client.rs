//! The request pipeline: auth → cost-aware throttle → retry with backoff.

use crate::auth::{TokenSource, auth_reason, snippet, without_url};
use crate::clock::Clock;
use crate::envelope::{Cost, Envelope, GraphqlError};
use crate::error::ShopifyError;
use crate::operations::{Mutation, Operation};
use crate::retry::RetryPolicy;
use crate::throttle::{BucketSnapshot, Throttle};
use crate::{API_VERSION, Credentials};
use serde::Serialize;
use serde_json::Value;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};
use tokio::sync::watch;
use tracing::Instrument;

/// Where and how to connect.
#[derive(Debug, Clone)]
pub struct ClientConfig {
    /// `https://{shop}.myshopify.com`, or any base URL such as the simulator's.
    pub base_url: url::Url,
    pub credentials: Credentials,
    pub retry: RetryPolicy,
    pub clock: Clock,
    /// Seeds the backoff jitter (tests fix it; the app uses entropy).
    pub jitter_seed: Option<u64>,
}

impl ClientConfig {
    /// A config for `store`: a `*.myshopify.com` domain (https is implied) or a full URL.
    pub fn new(store: &str, credentials: Credentials) -> Result<Self, ShopifyError> {
        let trimmed = store.trim().trim_end_matches('/');
        let with_scheme = if trimmed.contains("://") {
            trimmed.to_string()
        } else {
            format!("https://{trimmed}")
        };
        let base_url = url::Url::parse(&with_scheme)
            .ok()
            .filter(|u| matches!(u.scheme(), "http" | "https") && u.host().is_some())
            .ok_or_else(|| ShopifyError::InvalidAddress(store.to_string()))?;
        Ok(Self {
            base_url,
            credentials,
            retry: RetryPolicy::default(),
            clock: Clock::real(),
            jitter_seed: None,
        })
    }
}

/// A key that makes a write safe to retry: the same key for every attempt of one write.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub struct IdempotencyKey(String);

impl IdempotencyKey {
    pub fn new(key: impl Into<String>) -> Self {
        Self(key.into())
    }

    /// A fresh random key (128 bits, hex).
    pub fn random() -> Self {
        Self(format!(
            "{:016x}{:016x}",
            fastrand::u64(..),
            fastrand::u64(..)
        ))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Counters the dashboard and benchmarks read.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct PipelineStats {
    pub requests: u64,
    pub retries: u64,
    pub throttled: u64,
    pub reauthentications: u64,
    /// Points Shopify charged (`actualQueryCost`), summed over every answer.
    pub actual_cost: f64,
}

struct Inner {
    http: reqwest::Client,
    shop: String,
    endpoint: url::Url,
    token_url: url::Url,
    tokens: TokenSource,
    throttle: Throttle,
    retry: RetryPolicy,
    clock: Clock,
    rng: Mutex<fastrand::Rng>,
    stats: Mutex<PipelineStats>,
}

/// A client for one store. Cheap to clone; clones share the token, the bucket and counters.
#[derive(Clone)]
pub struct ShopifyClient {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for ShopifyClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ShopifyClient")
            .field("shop", &self.inner.shop)
            .finish_non_exhaustive()
    }
}

enum Attempt<T> {
    Done(T),
    /// Wait this long on the client's clock, then try again.
    Retry(Duration, ShopifyError),
    Throttled(Duration),
    Reauthenticate(crate::Secret, ShopifyError),
}

impl ShopifyClient {
    pub fn new(config: ClientConfig) -> Result<Self, ShopifyError> {
        let shop = config
            .base_url
            .host_str()
            .map(|h| match config.base_url.port() {
                Some(p) => format!("{h}:{p}"),
                None => h.to_string(),
            })
            .unwrap_or_default();
        let join = |path: &str| {
            config
                .base_url
                .join(path)
                .map_err(|_| ShopifyError::InvalidAddress(config.base_url.to_string()))
        };
        let endpoint = join(&format!("/admin/api/{API_VERSION}/graphql.json"))?;
        let token_url = join("/admin/oauth/access_token")?;
        let http = reqwest::Client::builder()
            .user_agent(concat!("Shelfsync/", env!("CARGO_PKG_VERSION")))
            .timeout(config.retry.request_timeout)
            .connect_timeout(Duration::from_secs(10))
            .build()
            .map_err(|e| ShopifyError::Network {
                shop: shop.clone(),
                detail: without_url(&e),
            })?;
        let rng = match config.jitter_seed {
            Some(seed) => fastrand::Rng::with_seed(seed),
            None => fastrand::Rng::new(),
        };
        Ok(Self {
            inner: Arc::new(Inner {
                http,
                tokens: TokenSource::new(config.credentials, config.clock.clone()),
                throttle: Throttle::new(config.clock.clone()),
                shop,
                endpoint,
                token_url,
                retry: config.retry,
                clock: config.clock,
                rng: Mutex::new(rng),
                stats: Mutex::new(PipelineStats::default()),
            }),
        })
    }

    /// Keeps access tokens in `cache` (e.g. the OS keychain) and starts from a saved one,
    /// so a restart does not need a new grant.
    pub fn with_token_cache(self, cache: std::sync::Arc<dyn crate::auth::TokenCache>) -> Self {
        self.inner.tokens.set_cache(cache);
        self
    }

    /// The store this client talks to (host and port).
    pub fn shop(&self) -> &str {
        &self.inner.shop
    }

    /// Live bucket state.
    pub fn bucket(&self) -> watch::Receiver<BucketSnapshot> {
        self.inner.throttle.subscribe()
    }

    pub fn stats(&self) -> PipelineStats {
        *self.inner.stats.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// When the current access token expires, if it does and one has been obtained.
    pub fn token_expiry(&self) -> Option<SystemTime> {
        self.inner.tokens.expiry()
    }

    /// Obtains a token now (validating the credentials), without sending a query.
    pub async fn authenticate(&self) -> Result<(), ShopifyError> {
        let i = &self.inner;
        i.tokens
            .token(&i.http, &i.token_url, &i.shop)
            .await
            .map(|_| ())
    }

    fn bump(&self, f: impl FnOnce(&mut PipelineStats)) {
        f(&mut self.inner.stats.lock().unwrap_or_else(|p| p.into_inner()));
    }

    /// Opens a bulk operation's result file (a signed URL: no access token is sent, and the
    /// whole-request timeout of API calls does not apply, only the connect timeout).
    pub async fn download(&self, url: &str) -> Result<crate::download::Download, ShopifyError> {
        let i = &self.inner;
        let host = url::Url::parse(url)
            .ok()
            .and_then(|u| u.host_str().map(str::to_owned))
            .unwrap_or_default();
        let response = i
            .http
            .get(url)
            .timeout(Duration::from_secs(24 * 3600))
            .send()
            .await
            .map_err(|e| ShopifyError::Network {
                shop: host.clone(),
                detail: without_url(&e),
            })?;
        let status = response.status().as_u16();
        if status != 200 {
            let text = response.text().await.unwrap_or_default();
            return Err(ShopifyError::Http {
                shop: host,
                status,
                snippet: snippet(&text),
            });
        }
        Ok(crate::download::Download::new(response, host))
    }

    /// Runs a read.
    pub async fn execute<O: Operation>(
        &self,
        variables: &O::Variables,
    ) -> Result<O::Data, ShopifyError> {
        let vars = serde_json::to_value(variables).map_err(|e| ShopifyError::Decode {
            operation: O::NAME,
            detail: format!("variables: {e}"),
        })?;
        self.run::<O>(vars, O::estimated_cost(variables)).await
    }

    /// Runs a write with an idempotency key that stays the same across every retry, so a
    /// retry after a lost answer can never apply the write twice.
    pub async fn mutate<O: Mutation>(
        &self,
        variables: &O::Variables,
        key: &IdempotencyKey,
    ) -> Result<O::Data, ShopifyError> {
        let mut vars = serde_json::to_value(variables).map_err(|e| ShopifyError::Decode {
            operation: O::NAME,
            detail: format!("variables: {e}"),
        })?;
        match &mut vars {
            Value::Object(map) => {
                map.insert("idempotencyKey".into(), Value::String(key.0.clone()));
            }
            _ => {
                return Err(ShopifyError::Decode {
                    operation: O::NAME,
                    detail: "mutation variables must be an object".into(),
                });
            }
        }
        self.run::<O>(vars, O::estimated_cost(variables)).await
    }

    async fn run<O: Operation>(
        &self,
        variables: Value,
        estimate: f64,
    ) -> Result<O::Data, ShopifyError> {
        let body = serde_json::json!({
            "query": O::DOCUMENT,
            "variables": variables,
            "operationName": O::NAME,
        });
        let retry = &self.inner.retry;
        let mut failures = 0u32;
        let mut throttles = 0u32;
        let mut reauthenticated = false;
        let mut attempt = 0u32;
        loop {
            attempt += 1;
            self.bump(|s| s.requests += 1);
            let span = tracing::info_span!(
                "shopify.request",
                operation = O::NAME,
                attempt,
                requested_cost = tracing::field::Empty,
                actual_cost = tracing::field::Empty,
                latency_ms = tracing::field::Empty,
            );
            let outcome = self.attempt::<O>(&body, estimate).instrument(span).await;
            match outcome {
                Attempt::Done(data) => return data,
                Attempt::Throttled(wait) => {
                    throttles += 1;
                    self.bump(|s| s.throttled += 1);
                    if throttles > retry.max_throttled {
                        return Err(ShopifyError::Throttled {
                            shop: self.inner.shop.clone(),
                            attempts: throttles,
                        });
                    }
                    tracing::warn!(
                        operation = O::NAME,
                        wait_ms = wait.as_millis() as u64,
                        "throttled by Shopify"
                    );
                    self.inner.clock.sleep(wait).await;
                }
                Attempt::Reauthenticate(rejected, err) => {
                    if reauthenticated || !self.inner.tokens.can_reauthenticate() {
                        return Err(err);
                    }
                    reauthenticated = true;
                    self.bump(|s| s.reauthentications += 1);
                    tracing::warn!(
                        operation = O::NAME,
                        "token rejected; authenticating again once"
                    );
                    self.inner.tokens.invalidate(&rejected);
                }
                Attempt::Retry(wait, err) => {
                    failures += 1;
                    if failures >= retry.max_attempts {
                        return Err(err);
                    }
                    self.bump(|s| s.retries += 1);
                    let jitter = {
                        let mut rng = self.inner.rng.lock().unwrap_or_else(|p| p.into_inner());
                        retry.delay(failures, &mut rng)
                    };
                    let wait = wait.max(jitter);
                    tracing::warn!(operation = O::NAME, error = %err, wait_ms = wait.as_millis() as u64, "retrying");
                    self.inner.clock.sleep(wait).await;
                }
            }
        }
    }

    async fn attempt<O: Operation>(
        &self,
        body: &Value,
        estimate: f64,
    ) -> Attempt<Result<O::Data, ShopifyError>> {
        let i = &self.inner;
        let token = match i.tokens.token(&i.http, &i.token_url, &i.shop).await {
            Ok(token) => token,
            Err(err) if err.is_transient() => return Attempt::Retry(Duration::ZERO, err),
            Err(err) => return Attempt::Done(Err(err)),
        };
        let permit = i.throttle.acquire(O::NAME, estimate).await;
        let started = tokio::time::Instant::now();
        let sent = i
            .http
            .post(i.endpoint.clone())
            .header("X-Shopify-Access-Token", token.expose())
            .json(body)
            .send()
            .await;
        let response = match sent {
            Ok(r) => r,
            Err(e) => {
                i.throttle.settle(O::NAME, permit, None, false);
                return Attempt::Retry(Duration::ZERO, self.network(&e));
            }
        };
        let status = response.status();
        let retry_after = response
            .headers()
            .get(reqwest::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<f64>().ok())
            .filter(|s| s.is_finite() && *s >= 0.0)
            .map(Duration::from_secs_f64);
        let text = match response.text().await {
            Ok(t) => t,
            Err(e) => {
                i.throttle.settle(O::NAME, permit, None, false);
                return Attempt::Retry(Duration::ZERO, self.network(&e));
            }
        };
        let span = tracing::Span::current();
        span.record("latency_ms", started.elapsed().as_millis() as u64);

        if status.as_u16() == 401 {
            i.throttle.settle(O::NAME, permit, None, false);
            let err = ShopifyError::Unauthorized {
                shop: i.shop.clone(),
                reason: auth_reason(&text, 401),
            };
            return Attempt::Reauthenticate(token, err);
        }
        if status.as_u16() == 429 || status.is_server_error() {
            i.throttle.settle(O::NAME, permit, None, false);
            let err = ShopifyError::Http {
                shop: i.shop.clone(),
                status: status.as_u16(),
                snippet: snippet(&text),
            };
            // Retry-After is in seconds (Shopify's REST answers send `2.0`).
            return Attempt::Retry(retry_after.unwrap_or(Duration::ZERO), err);
        }
        if !status.is_success() {
            i.throttle.settle(O::NAME, permit, None, false);
            return Attempt::Done(Err(ShopifyError::Http {
                shop: i.shop.clone(),
                status: status.as_u16(),
                snippet: snippet(&text),
            }));
        }
        let envelope: Envelope = match serde_json::from_str(&text) {
            Ok(e) => e,
            Err(e) => {
                i.throttle.settle(O::NAME, permit, None, false);
                return Attempt::Done(Err(ShopifyError::Decode {
                    operation: O::NAME,
                    detail: e.to_string(),
                }));
            }
        };
        let cost: Option<Cost> = envelope.extensions.as_ref().and_then(|e| e.cost);
        if let Some(c) = &cost {
            span.record("requested_cost", c.requested_query_cost);
            if let Some(actual) = c.actual_query_cost {
                span.record("actual_cost", actual);
                self.bump(|s| s.actual_cost += actual);
            }
        }
        let errors: Vec<GraphqlError> = envelope.errors.map(|e| e.into_list()).unwrap_or_default();
        let throttled = errors.iter().any(|e| e.code() == Some("THROTTLED"));
        i.throttle.settle(O::NAME, permit, cost.as_ref(), throttled);
        if throttled {
            let wait = cost
                .as_ref()
                .map(Throttle::throttled_wait)
                .unwrap_or(Duration::from_secs(1));
            return Attempt::Throttled(wait);
        }
        if let Some(e) = errors
            .iter()
            .find(|e| e.code() == Some("MAX_COST_EXCEEDED"))
        {
            let ext = e.extensions.as_ref();
            return Attempt::Done(Err(ShopifyError::MaxCostExceeded {
                cost: ext.and_then(|x| x.cost).unwrap_or(f64::NAN),
                max: ext.and_then(|x| x.max_cost).unwrap_or(1000.0),
            }));
        }
        if !errors.is_empty() {
            return Attempt::Done(Err(ShopifyError::Graphql {
                operation: O::NAME,
                errors,
            }));
        }
        let Some(data) = envelope.data else {
            return Attempt::Done(Err(ShopifyError::Decode {
                operation: O::NAME,
                detail: "the answer has neither data nor errors".into(),
            }));
        };
        Attempt::Done(
            serde_json::from_value(data).map_err(|e| ShopifyError::Decode {
                operation: O::NAME,
                detail: e.to_string(),
            }),
        )
    }

    fn network(&self, err: &reqwest::Error) -> ShopifyError {
        ShopifyError::Network {
            shop: self.inner.shop.clone(),
            detail: without_url(err),
        }
    }
}
