//! The engine's intake front door: start and stop the listener and the subscription keeper
//! for the connected store, and report their state.

use std::net::SocketAddr;
use std::sync::Arc;

use crate::credentials::{SecretKind, StoreKey};
use crate::engine::{AuthMethod, Engine, EngineError};

use super::{
    InboxWriter, IntakeConfig, IntakeError, IntakeEvents, IntakeStatus, Listener, ListenerConfig,
    SubscriptionKeeper,
};

/// Intake while it runs.
pub(crate) struct RunningIntake {
    listener: Listener,
    keeper: Option<SubscriptionKeeper>,
    public_url: Option<String>,
}

impl RunningIntake {
    async fn stop(self) {
        if let Some(keeper) = self.keeper {
            keeper.stop().await;
        }
        self.listener.stop().await;
    }
}

impl Engine {
    /// Starts webhook intake for the connected store: the loopback listener, and (with a
    /// public URL) the subscriptions kept alive for it. Replaces intake already running.
    /// Returns the listener's address (the port chosen when 0 was asked for).
    pub async fn start_intake(&self, config: IntakeConfig) -> Result<SocketAddr, IntakeError> {
        let session = self.session()?;
        if let Some(url) = &config.public_url
            && !url.starts_with("https://")
        {
            return Err(IntakeError::NotHttps { url: url.clone() });
        }
        let keys = if config.signing_secrets.is_empty() {
            match &session.profile.auth {
                AuthMethod::ClientCredentials { .. } => vec![
                    self.keychain()
                        .get(
                            &StoreKey::new(&session.profile.address),
                            SecretKind::ClientSecret,
                        )
                        .await
                        .map_err(EngineError::from)?,
                ],
                AuthMethod::AdminToken => return Err(IntakeError::NoSigningSecret),
            }
        } else {
            config.signing_secrets.clone()
        };
        self.stop_intake().await;
        let shop_domain = session
            .cache
            .read(|r| r.shop())
            .await
            .map_err(EngineError::from)?
            .map(|s| s.domain);
        let woken = session.clone();
        let inbox = InboxWriter::start(session.cache.clone(), Arc::new(move || woken.jobs.wake()));
        let listener = Listener::start(
            ListenerConfig {
                port: config.port,
                keys,
                shop_domain,
                max_body_bytes: config.max_body_bytes,
            },
            inbox,
            self.intake_stats().clone(),
        )
        .await?;
        let keeper = config.public_url.clone().map(|url| {
            let woken = session.clone();
            SubscriptionKeeper::start(
                session.client.clone(),
                session.cache.clone(),
                url,
                config.check_subscriptions_every,
                self.intake_events().clone(),
                self.known_subscriptions().clone(),
                Arc::new(move || woken.jobs.wake()),
            )
        });
        let addr = listener.local_addr();
        let previous = self.swap_intake(Some(RunningIntake {
            listener,
            keeper,
            public_url: config.public_url,
        }));
        if let Some(previous) = previous {
            previous.stop().await;
        }
        Ok(addr)
    }

    /// Stops the listener (requests in progress are committed and answered first) and the
    /// subscription keeper. Subscriptions stay registered at Shopify.
    pub async fn stop_intake(&self) {
        if let Some(running) = self.swap_intake(None) {
            running.stop().await;
        }
    }

    /// Intake events: per-path counters, subscriptions lost and restored.
    pub fn intake_events(&self) -> &IntakeEvents {
        self.intake_stats().events()
    }

    /// Intake's state: the listener, per-path counters, subscription health, the inbox.
    pub async fn intake_status(&self) -> Result<IntakeStatus, EngineError> {
        let (listening_on, public_url, subscriptions) = self.with_intake(|running| match running {
            Some(r) => (
                Some(r.listener.local_addr().to_string()),
                r.public_url.clone(),
                r.keeper.as_ref().map(|k| k.health()).unwrap_or_default(),
            ),
            None => (None, None, Vec::new()),
        });
        let inbox = match self.current_cache() {
            Some(cache) => Some(cache.read(|r| r.inbox_counts()).await?),
            None => None,
        };
        Ok(IntakeStatus {
            listening_on,
            public_url,
            paths: self.intake_stats().snapshot(),
            subscriptions,
            inbox,
        })
    }
}
