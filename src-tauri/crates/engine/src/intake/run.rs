//! The engine's intake front door: start and stop the listener, the cloud relay's consumer
//! and the subscription keepers for the connected store, and report their state.

use std::net::SocketAddr;
use std::sync::Arc;

use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::credentials::{SecretKind, StoreKey};
use crate::engine::{AuthMethod, Engine, EngineError, Session};
use crate::relay::{Relay, RelayCredentials};

use super::{
    InboxWriter, IntakeConfig, IntakeError, IntakeEvents, IntakeStatus, Listener, ListenerConfig,
    RelayStatus, SubscriptionKeeper,
};

/// The relay's consumer task.
struct RunningRelay {
    relay: Relay,
    stop: CancellationToken,
    task: JoinHandle<()>,
}

/// Intake while it runs.
pub(crate) struct RunningIntake {
    listener: Option<Listener>,
    relay: Option<RunningRelay>,
    /// One per address kept subscribed: the tunnel's URL, the EventBridge event source.
    keepers: Vec<SubscriptionKeeper>,
    public_url: Option<String>,
}

impl RunningIntake {
    async fn stop(self) {
        for keeper in self.keepers {
            keeper.stop().await;
        }
        if let Some(relay) = self.relay {
            // Cuts a long poll short. A message being handled is committed and deleted, or
            // left in the queue; one SQS handed to the cut poll comes back after the queue's
            // visibility timeout. Nothing is lost either way.
            relay.stop.cancel();
            let _ = relay.task.await;
        }
        if let Some(listener) = self.listener {
            listener.stop().await;
        }
    }
}

impl Engine {
    /// Starts webhook intake for the connected store: the loopback listener (unless
    /// `config.listen` is off), the cloud relay's consumer (with `config.relay`), and the
    /// subscriptions kept alive for the tunnel's URL and the EventBridge event source when
    /// they are given. Both paths commit through one inbox writer. Replaces intake already
    /// running. Returns the listener's address (the port chosen when 0 was asked for).
    pub async fn start_intake(
        &self,
        config: IntakeConfig,
    ) -> Result<Option<SocketAddr>, IntakeError> {
        let session = self.session()?;
        if !config.listen && config.relay.is_none() {
            return Err(IntakeError::NothingToRun);
        }
        if let Some(url) = &config.public_url {
            if !config.listen {
                return Err(IntakeError::TunnelWithoutListener);
            }
            if !url.starts_with("https://") {
                return Err(IntakeError::NotHttps { url: url.clone() });
            }
        }
        if let Some(arn) = &config.relay_event_source
            && !arn.starts_with("arn:aws:events:")
        {
            return Err(IntakeError::NotAnEventSource { arn: arn.clone() });
        }
        let keys = if !config.listen || !config.signing_secrets.is_empty() {
            config.signing_secrets.clone()
        } else {
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
        };
        let relay_credentials = match &config.relay {
            Some(_) => Some(
                RelayCredentials::load(self.keychain(), &StoreKey::new(&session.profile.address))
                    .await
                    .map_err(|e| IntakeError::NoRelayCredentials {
                        detail: e.to_string(),
                    })?,
            ),
            None => None,
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
        // Built before anything starts, so a failure leaves nothing running.
        let relay = match (config.relay.clone(), relay_credentials) {
            (Some(settings), Some(credentials)) => Some(Relay::new(
                settings,
                &credentials,
                inbox.clone(),
                self.intake_stats().clone(),
                self.events().clone(),
            )?),
            _ => None,
        };
        let listener = if config.listen {
            Some(
                Listener::start(
                    ListenerConfig {
                        port: config.port,
                        keys,
                        shop_domain,
                        max_body_bytes: config.max_body_bytes,
                    },
                    inbox,
                    self.intake_stats().clone(),
                )
                .await?,
            )
        } else {
            None
        };
        let relay = relay.map(|relay| {
            let stop = CancellationToken::new();
            let task = {
                let relay = relay.clone();
                let stop = stop.clone();
                tokio::spawn(async move { relay.run(stop).await })
            };
            RunningRelay { relay, stop, task }
        });
        let addresses = config
            .public_url
            .iter()
            .chain(relay.as_ref().and(config.relay_event_source.as_ref()));
        let keepers = addresses
            .map(|uri| self.keep_subscribed(&session, uri.clone(), &config))
            .collect();
        let addr = listener.as_ref().map(Listener::local_addr);
        let previous = self.swap_intake(Some(RunningIntake {
            listener,
            relay,
            keepers,
            public_url: config.public_url,
        }));
        if let Some(previous) = previous {
            previous.stop().await;
        }
        Ok(addr)
    }

    fn keep_subscribed(
        &self,
        session: &Arc<Session>,
        uri: String,
        config: &IntakeConfig,
    ) -> SubscriptionKeeper {
        let woken = session.clone();
        SubscriptionKeeper::start(
            session.client.clone(),
            session.cache.clone(),
            uri,
            config.check_subscriptions_every,
            self.intake_events().clone(),
            self.known_subscriptions().clone(),
            Arc::new(move || woken.jobs.wake()),
        )
    }

    /// Stops the listener (requests in progress are committed and answered first), the
    /// relay's consumer and the subscription keepers. Subscriptions stay registered at
    /// Shopify, and the relay's queue keeps what arrives until intake starts again.
    pub async fn stop_intake(&self) {
        if let Some(running) = self.swap_intake(None) {
            running.stop().await;
        }
    }

    /// Intake events: per-path counters, subscriptions lost and restored.
    pub fn intake_events(&self) -> &IntakeEvents {
        self.intake_stats().events()
    }

    /// Intake's state: the listener, the relay, per-path counters, subscription health, the
    /// inbox.
    pub async fn intake_status(&self) -> Result<IntakeStatus, EngineError> {
        let (listening_on, public_url, relay, subscriptions) =
            self.with_intake(|running| match running {
                Some(r) => (
                    r.listener.as_ref().map(|l| l.local_addr().to_string()),
                    r.public_url.clone(),
                    r.relay.as_ref().map(|r| RelayStatus {
                        queue_url: r.relay.settings().queue_url.clone(),
                        region: r.relay.settings().region.clone(),
                        health: r.relay.health(),
                    }),
                    r.keepers.iter().flat_map(|k| k.health()).collect(),
                ),
                None => (None, None, None, Vec::new()),
            });
        let inbox = match self.current_cache() {
            Some(cache) => Some(cache.read(|r| r.inbox_counts()).await?),
            None => None,
        };
        Ok(IntakeStatus {
            listening_on,
            public_url,
            relay,
            paths: self.intake_stats().snapshot(),
            subscriptions,
            inbox,
        })
    }
}
