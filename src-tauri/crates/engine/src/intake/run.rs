//! The engine's intake front door: start and stop the listener, the cloud relay's consumer
//! and the subscription keepers for the connected store, and report their state.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, SystemTime};

use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::credentials::{SecretKind, StoreKey};
use crate::engine::{AuthMethod, Engine, EngineError, Session, incremental_job};
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
    /// Notices the laptop waking up ([`watch_wake`]).
    wake: (CancellationToken, JoinHandle<()>),
    listener: Option<Listener>,
    relay: Option<RunningRelay>,
    /// One per address kept subscribed: the tunnel's URL, the EventBridge event source.
    keepers: Vec<SubscriptionKeeper>,
    pub(crate) public_url: Option<String>,
    /// The EventBridge event source kept subscribed, while the relay runs.
    pub(crate) event_source: Option<String>,
    /// The keys deliveries are signed with (the first one signs a test delivery).
    pub(crate) keys: Vec<shelfsync_shopify::Secret>,
}

impl RunningIntake {
    async fn stop(self) {
        self.wake.0.cancel();
        let _ = self.wake.1.await;
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

/// How often [`watch_wake`] compares the clocks.
const WAKE_CHECK: Duration = Duration::from_secs(15);
/// How far the wall clock must run ahead of the monotonic clock to count as a sleep.
const SLEPT_AT_LEAST: Duration = Duration::from_secs(30);

/// Queues a reconciliation pass and wakes the queue; a failure is logged (the scheduled pass
/// comes anyway).
async fn enqueue_reconciliation(session: &Session, reason: &str) {
    // A store never synced has nothing to reconcile: its first full sync reads everything,
    // and an incremental pass without a watermark would read the whole catalogue page by
    // page first, spending the rate limit the full sync needs.
    match session
        .cache
        .read(|r| r.watermark(shelfsync_store::Resource::Products))
        .await
    {
        Ok(Some(_)) => {}
        Ok(None) => {
            tracing::info!(reason, "no reconciliation before the first full sync");
            return;
        }
        Err(err) => {
            tracing::warn!(error = %err, reason, "could not queue a reconciliation");
            return;
        }
    }
    match session.jobs.enqueue(incremental_job(reason)).await {
        Ok(_) => session.jobs.wake(),
        Err(err) => tracing::warn!(error = %err, reason, "could not queue a reconciliation"),
    }
}

/// Queues a reconciliation after the machine slept. A laptop's monotonic clock stops while
/// it is suspended and its wall clock does not, so a sleep shows as the wall clock running
/// ahead between two checks; webhooks sent meanwhile may have failed, and the relay's queue
/// may hold events, so a pass reads what changed.
async fn watch_wake(session: Arc<Session>, stop: CancellationToken, every: Duration) {
    let mut wall = SystemTime::now();
    let mut mono = std::time::Instant::now();
    loop {
        tokio::select! {
            _ = stop.cancelled() => return,
            _ = tokio::time::sleep(every) => {}
        }
        let (now_wall, now_mono) = (SystemTime::now(), std::time::Instant::now());
        let wall_passed = now_wall.duration_since(wall).unwrap_or_default();
        let mono_passed = now_mono.duration_since(mono);
        (wall, mono) = (now_wall, now_mono);
        if wall_passed > mono_passed + SLEPT_AT_LEAST {
            tracing::info!(
                slept_secs = (wall_passed - mono_passed).as_secs(),
                "woke up"
            );
            enqueue_reconciliation(&session, "wake").await;
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
                        keys: keys.clone(),
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
        let (drained_tx, drained) = tokio::sync::oneshot::channel();
        let relay = relay.map(|relay| {
            let stop = CancellationToken::new();
            let task = {
                let relay = relay.clone();
                let stop = stop.clone();
                tokio::spawn(async move { relay.run_until_drained(stop, Some(drained_tx)).await })
            };
            RunningRelay { relay, stop, task }
        });
        let has_relay = relay.is_some();
        // With a relay, a subscription found lost before its backlog is read queues no
        // catch-up of its own: the start's reconciliation, queued once the backlog is read,
        // reads what it missed.
        let catch_up = Arc::new(AtomicBool::new(!has_relay));
        let addresses = config
            .public_url
            .iter()
            .chain(relay.as_ref().and(config.relay_event_source.as_ref()));
        let keepers = addresses
            .map(|uri| self.keep_subscribed(&session, uri.clone(), &config, catch_up.clone()))
            .collect();
        let addr = listener.as_ref().map(Listener::local_addr);
        // From now on webhooks bring changes, and an incremental pass is a reconciliation;
        // the first one reads what changed while intake was off.
        self.set_reconciling(true);
        let wake = CancellationToken::new();
        if relay.is_some() {
            // The relay's queue holds what happened while the engine was off: reconcile
            // after it is consumed, so the pass counts only what both paths missed.
            let session = session.clone();
            let stop = wake.clone();
            tokio::spawn(async move {
                tokio::select! {
                    _ = drained => {
                        catch_up.store(true, Ordering::SeqCst);
                        enqueue_reconciliation(&session, "start").await
                    }
                    () = stop.cancelled() => {}
                }
            });
        } else {
            enqueue_reconciliation(&session, "start").await;
        }
        let watcher = tokio::spawn(watch_wake(session.clone(), wake.clone(), WAKE_CHECK));
        let previous = self.swap_intake(Some(RunningIntake {
            wake: (wake, watcher),
            listener,
            relay,
            keepers,
            public_url: config.public_url,
            event_source: has_relay
                .then(|| config.relay_event_source.clone())
                .flatten(),
            keys,
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
        catch_up: Arc<AtomicBool>,
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
            catch_up,
        )
    }

    /// Stops the listener (requests in progress are committed and answered first), the
    /// relay's consumer and the subscription keepers. Subscriptions stay registered at
    /// Shopify, and the relay's queue keeps what arrives until intake starts again.
    pub async fn stop_intake(&self) {
        if let Some(running) = self.swap_intake(None) {
            running.stop().await;
        }
        self.set_reconciling(false);
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
