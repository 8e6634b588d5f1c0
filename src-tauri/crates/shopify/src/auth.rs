//! Access tokens: a legacy admin token, or the client-credentials grant.
//!
//! Client-credentials tokens last about a day and come with no refresh token, so the grant is
//! simply run again — ahead of expiry (when less than a tenth of the lifetime is left), not
//! only after a 401. Refreshes are single-flight: the first caller that finds the token due
//! runs the grant while the others wait on a `watch` channel for its result; no lock is held
//! while the grant is in flight.

use crate::clock::Clock;
use crate::error::ShopifyError;
use crate::secret::Secret;
use serde::Deserialize;
use std::sync::Mutex;
use std::time::{Duration, SystemTime};
use tokio::sync::watch;

/// How Shelfsync proves who it is to a store.
#[derive(Clone, Debug)]
pub enum Credentials {
    /// A legacy admin-created app's `shpat_…` token; it does not expire.
    AdminToken(Secret),
    /// A Dev Dashboard app installed on the owner's own store.
    ClientCredentials {
        client_id: String,
        client_secret: Secret,
    },
}

#[derive(Clone, Debug)]
pub struct AccessToken {
    pub token: Secret,
    /// On the client's clock; `None` for tokens that never expire.
    pub expires_at: Option<Duration>,
    pub lifetime: Option<Duration>,
    /// Wall-clock expiry, for the status line.
    pub expires_wall: Option<SystemTime>,
}

impl AccessToken {
    fn due(&self, now: Duration) -> bool {
        match (self.expires_at, self.lifetime) {
            (Some(at), Some(lifetime)) => {
                let margin = (lifetime / 10).max(Duration::from_secs(1));
                now + margin >= at
            }
            _ => false,
        }
    }
}

type Outcome = Option<Result<AccessToken, ShopifyError>>;

/// A future a [`TokenCache`] returns.
pub type CacheFuture<'a, T> = std::pin::Pin<Box<dyn std::future::Future<Output = T> + Send + 'a>>;

/// Where a client keeps its current access token between runs (the OS keychain, in the
/// engine), so a restart does not need a new grant. Failures are the cache's business: a
/// token that cannot be saved or loaded only costs one more grant.
pub trait TokenCache: Send + Sync {
    /// The saved token and when it expires (wall clock), if any.
    fn load(&self) -> CacheFuture<'_, Option<(Secret, SystemTime)>>;
    fn save<'a>(&'a self, token: &'a Secret, expires: SystemTime) -> CacheFuture<'a, ()>;
}

enum State {
    Empty,
    Ready(AccessToken),
    Refreshing(watch::Receiver<Outcome>),
}

pub(crate) struct TokenSource {
    credentials: Credentials,
    state: Mutex<State>,
    clock: Clock,
    cache: Mutex<Option<std::sync::Arc<dyn TokenCache>>>,
}

#[derive(Deserialize)]
struct GrantResponse {
    access_token: String,
    #[serde(default)]
    expires_in: Option<u64>,
}

enum Step {
    Use(Secret),
    Wait(watch::Receiver<Outcome>),
    Lead(watch::Sender<Outcome>),
}

impl TokenSource {
    pub(crate) fn new(credentials: Credentials, clock: Clock) -> Self {
        let state = match &credentials {
            Credentials::AdminToken(token) => State::Ready(AccessToken {
                token: token.clone(),
                expires_at: None,
                lifetime: None,
                expires_wall: None,
            }),
            Credentials::ClientCredentials { .. } => State::Empty,
        };
        Self {
            credentials,
            state: Mutex::new(state),
            clock,
            cache: Mutex::new(None),
        }
    }

    pub(crate) fn set_cache(&self, cache: std::sync::Arc<dyn TokenCache>) {
        *self.cache.lock().unwrap_or_else(|p| p.into_inner()) = Some(cache);
    }

    fn cache(&self) -> Option<std::sync::Arc<dyn TokenCache>> {
        self.cache.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// A saved token that is still valid for a useful while, converted to this clock.
    async fn cached(&self) -> Option<AccessToken> {
        let (token, expires) = self.cache()?.load().await?;
        let left_real = expires.duration_since(SystemTime::now()).ok()?;
        let left = self.clock.from_real(left_real);
        // Unknown original lifetime: assume a day, Shopify's, so renewal still happens
        // ahead of expiry rather than at it.
        let lifetime = Duration::from_secs(86_399).max(left);
        let token = AccessToken {
            token,
            expires_at: Some(self.clock.now() + left),
            lifetime: Some(lifetime),
            expires_wall: Some(expires),
        };
        (!token.due(self.clock.now())).then_some(token)
    }

    pub(crate) fn can_reauthenticate(&self) -> bool {
        matches!(self.credentials, Credentials::ClientCredentials { .. })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// When the current token expires (wall clock), if it does.
    pub(crate) fn expiry(&self) -> Option<SystemTime> {
        match &*self.lock() {
            State::Ready(t) => t.expires_wall,
            _ => None,
        }
    }

    /// Forgets `rejected` (after a 401) so the next call runs the grant again.
    pub(crate) fn invalidate(&self, rejected: &Secret) {
        let mut state = self.lock();
        if let State::Ready(t) = &*state
            && &t.token == rejected
            && self.can_reauthenticate()
        {
            *state = State::Empty;
        }
    }

    /// A token that is valid now and not about to expire.
    pub(crate) async fn token(
        &self,
        http: &reqwest::Client,
        token_url: &url::Url,
        shop: &str,
    ) -> Result<Secret, ShopifyError> {
        loop {
            let step = {
                let mut state = self.lock();
                match &*state {
                    State::Ready(t) if !t.due(self.clock.now()) => Step::Use(t.token.clone()),
                    State::Refreshing(rx) => Step::Wait(rx.clone()),
                    _ => {
                        let (tx, rx) = watch::channel(None);
                        *state = State::Refreshing(rx);
                        Step::Lead(tx)
                    }
                }
            };
            match step {
                Step::Use(token) => return Ok(token),
                Step::Wait(mut rx) => {
                    let outcome = rx.wait_for(Option::is_some).await.map(|v| v.clone());
                    match outcome {
                        Ok(Some(Ok(token))) => return Ok(token.token),
                        Ok(Some(Err(err))) => return Err(err),
                        // The leader vanished (its task was cancelled): try again.
                        _ => continue,
                    }
                }
                Step::Lead(tx) => {
                    let result = match self.cached().await {
                        Some(token) => Ok(token),
                        None => {
                            let granted = self.grant(http, token_url, shop).await;
                            if let (Ok(t), Some(cache)) = (&granted, self.cache())
                                && let Some(expires) = t.expires_wall
                            {
                                cache.save(&t.token, expires).await;
                            }
                            granted
                        }
                    };
                    {
                        let mut state = self.lock();
                        *state = match &result {
                            Ok(token) => State::Ready(token.clone()),
                            Err(_) => State::Empty,
                        };
                    }
                    tx.send_replace(Some(result.clone()));
                    return result.map(|t| t.token);
                }
            }
        }
    }

    async fn grant(
        &self,
        http: &reqwest::Client,
        token_url: &url::Url,
        shop: &str,
    ) -> Result<AccessToken, ShopifyError> {
        let Credentials::ClientCredentials {
            client_id,
            client_secret,
        } = &self.credentials
        else {
            return Err(ShopifyError::Unauthorized {
                shop: shop.to_string(),
                reason: "the admin token was rejected".into(),
            });
        };
        let form = [
            ("grant_type", "client_credentials"),
            ("client_id", client_id.as_str()),
            ("client_secret", client_secret.expose()),
        ];
        tracing::info!(shop, "requesting an access token (client credentials)");
        let sent_at = self.clock.now();
        let response = http
            .post(token_url.clone())
            .form(&form)
            .send()
            .await
            .map_err(|e| ShopifyError::Network {
                shop: shop.to_string(),
                detail: without_url(&e),
            })?;
        let status = response.status();
        let body = response.text().await.map_err(|e| ShopifyError::Network {
            shop: shop.to_string(),
            detail: without_url(&e),
        })?;
        if status.is_client_error() {
            return Err(ShopifyError::Unauthorized {
                shop: shop.to_string(),
                reason: auth_reason(&body, status.as_u16()),
            });
        }
        if !status.is_success() {
            return Err(ShopifyError::Http {
                shop: shop.to_string(),
                status: status.as_u16(),
                snippet: snippet(&body),
            });
        }
        let grant: GrantResponse =
            serde_json::from_str(&body).map_err(|e| ShopifyError::Decode {
                operation: "access_token",
                detail: e.to_string(),
            })?;
        let lifetime = grant.expires_in.map(Duration::from_secs);
        Ok(AccessToken {
            token: Secret::new(grant.access_token),
            expires_at: lifetime.map(|l| sent_at + l),
            lifetime,
            expires_wall: lifetime.map(|l| SystemTime::now() + self.clock.to_real(l)),
        })
    }
}

/// Shopify's reason text from an auth failure body (`{"errors": "..."}` or
/// `{"error_description": "..."}`), without echoing anything that was sent.
pub(crate) fn auth_reason(body: &str, status: u16) -> String {
    let value: serde_json::Value = serde_json::from_str(body).unwrap_or_default();
    let text = value
        .get("errors")
        .and_then(|e| e.as_str().map(str::to_string))
        .or_else(|| {
            value
                .get("error_description")
                .and_then(|e| e.as_str())
                .map(str::to_string)
        })
        .or_else(|| {
            value
                .get("error")
                .and_then(|e| e.as_str())
                .map(str::to_string)
        });
    match text {
        Some(t) => t,
        None => format!("HTTP {status}"),
    }
}

pub(crate) fn snippet(body: &str) -> String {
    let mut s: String = body.chars().take(200).collect();
    if body.chars().count() > 200 {
        s.push('…');
    }
    s
}

/// reqwest errors print the URL; ours carry no secrets, but keep messages short anyway.
pub(crate) fn without_url(err: &reqwest::Error) -> String {
    let kind = if err.is_timeout() {
        "timed out"
    } else if err.is_connect() {
        "connection failed"
    } else if err.is_body() || err.is_decode() {
        "the connection broke while reading the answer"
    } else {
        "request failed"
    };
    let mut source = std::error::Error::source(err);
    let mut detail = String::new();
    while let Some(s) = source {
        detail = s.to_string();
        source = s.source();
    }
    if detail.is_empty() {
        kind.to_string()
    } else {
        format!("{kind}: {detail}")
    }
}
