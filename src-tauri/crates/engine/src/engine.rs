//! The engine's front door: connect a store, sync it, report its status.
//!
//! One [`Engine`] serves one store at a time. What identifies the store (its address, how it
//! authenticates, the client id) is kept in `profile.json` in the data directory; every
//! secret goes to the OS keychain and nowhere else. Connecting validates the credentials
//! against the store *before* anything is saved, so a typo never leaves a half-connected
//! store behind.

use crate::cache::{Cache, CacheError};
use crate::credentials::{CredentialError, Keychain, SecretKind, StoreKey};
use crate::events::{Attention, EngineEvent, Events, SyncKind};
use crate::intake::run::RunningIntake;
use crate::intake::{IntakeStats, JOB_WEBHOOK, Processor};
use crate::jobs::{JobContext, JobError, JobHandler, JobHandlers, Supervisor, SupervisorConfig};
use crate::sync::{SyncError, SyncReport, Syncer};
use serde::{Deserialize, Serialize};
use shelfsync_shopify::operations::{NoVariables, ShopInfo};
use shelfsync_shopify::{
    BucketSnapshot, ClientConfig, Clock, Credentials, Secret, ShopifyClient, ShopifyError,
};
use shelfsync_store::{
    AuditEntry, CacheCounts, Enqueued, Job, JobCounts, NewJob, Order, OrderStatus,
    ReconciliationRun, VariantPage, VariantRow, Watermark,
};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::SystemTime;

#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error("No store is connected yet. Connect one first.")]
    NotConnected,
    #[error(transparent)]
    Credentials(#[from] CredentialError),
    #[error(transparent)]
    Shopify(#[from] ShopifyError),
    #[error(transparent)]
    Cache(#[from] CacheError),
    #[error(transparent)]
    Sync(#[from] SyncError),
    #[error(transparent)]
    Bulk(#[from] crate::bulk_update::BulkError),
    #[error("Shelfsync could not {action} {path}: {detail}")]
    Files {
        action: &'static str,
        path: PathBuf,
        detail: String,
    },
}

/// How a store authenticates, without the secret.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum AuthMethod {
    ClientCredentials { client_id: String },
    AdminToken,
}

/// What `profile.json` holds: enough to reconnect, and no secret.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoreProfile {
    /// A `*.myshopify.com` domain or a base URL (the simulator's).
    pub address: String,
    pub auth: AuthMethod,
    /// The shop's name, for display.
    pub name: String,
}

/// Credentials as a person enters them.
#[derive(Debug, Clone)]
pub enum ConnectWith {
    ClientCredentials {
        client_id: String,
        client_secret: Secret,
    },
    AdminToken(Secret),
}

/// Where the engine keeps its files and how it tells time.
#[derive(Debug, Clone)]
pub struct EngineConfig {
    pub data_dir: PathBuf,
    pub keychain: Keychain,
    pub clock: Clock,
}

/// What reconciliation has found lately.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ReconciliationSummary {
    pub last: Option<ReconciliationRun>,
    /// Changes the cache had not received through webhooks, over the last 24 hours.
    pub repaired_last_day: u64,
}

/// What `status` reports.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Status {
    pub store: Option<StoreProfile>,
    pub token_expires_at: Option<SystemTime>,
    pub bucket: Option<BucketSnapshot>,
    pub cache: Option<CacheCounts>,
    pub queue: Option<JobCounts>,
    pub watermarks: Vec<Watermark>,
    /// Webhook intake: per-path counters, subscriptions, the inbox.
    pub intake: Option<crate::intake::IntakeStatus>,
    /// Reconciliation passes and what they repaired.
    pub reconciliation: Option<ReconciliationSummary>,
}

pub(crate) struct Session {
    pub(crate) profile: StoreProfile,
    pub(crate) client: ShopifyClient,
    pub(crate) cache: Cache,
    syncer: Syncer,
    pub(crate) jobs: Supervisor,
    /// Set by the `app/uninstalled` webhook: no more syncs for this session.
    uninstalled: Arc<AtomicBool>,
}

/// Job kinds the engine runs through its durable queue.
pub const JOB_SYNC_FULL: &str = "sync.full";
pub const JOB_SYNC_INCREMENTAL: &str = "sync.incremental";

/// Runs one sync pass; a refused credential also raises the "reconnect" attention event,
/// whichever front end or job asked for the pass.
async fn run_sync(
    syncer: &Syncer,
    events: &Events,
    kind: SyncKind,
    reason: &str,
) -> Result<SyncReport, SyncError> {
    let result = syncer.run_because(kind, reason).await;
    if let Err(SyncError::Shopify(err @ ShopifyError::Unauthorized { .. })) = &result {
        events.publish(EngineEvent::Attention {
            attention: Attention::Reconnect {
                reason: err.to_string(),
            },
        });
    }
    result
}

/// A sync job's payload: why it was queued (see [`Syncer::run_because`]).
#[derive(Debug, Default, Deserialize)]
struct SyncPayload {
    reason: Option<String>,
}

/// The job that runs an incremental pass (a reconciliation while intake runs) for `reason`;
/// at most one waits at a time.
pub(crate) fn incremental_job(reason: &str) -> NewJob {
    NewJob {
        kind: JOB_SYNC_INCREMENTAL.to_string(),
        payload: serde_json::json!({ "reason": reason }),
        dedupe_key: Some(JOB_SYNC_INCREMENTAL.to_string()),
        run_at: None,
    }
}

/// Sync passes of one store run one at a time: two concurrent passes would read the same
/// pages twice and spend the API budget twice. The semaphore orders passes; it guards no
/// data, so holding its permit across `.await` is its purpose.
fn sync_handler(
    syncer: Syncer,
    events: Events,
    kind: SyncKind,
    one_at_a_time: Arc<tokio::sync::Semaphore>,
    uninstalled: Arc<AtomicBool>,
) -> impl JobHandler {
    move |cx: JobContext| {
        let syncer = syncer.clone();
        let events = events.clone();
        let gate = one_at_a_time.clone();
        let uninstalled = uninstalled.clone();
        // Jobs queued by older versions carry `{}`: a scheduled pass.
        let reason = cx
            .payload::<SyncPayload>()
            .ok()
            .and_then(|p| p.reason)
            .unwrap_or_else(|| "scheduled".to_owned());
        async move {
            if uninstalled.load(Ordering::SeqCst) {
                return Err(JobError::permanent(
                    "The Shelfsync app was uninstalled from the store; connect it again to sync.",
                ));
            }
            let _turn = gate
                .acquire()
                .await
                .map_err(|_| JobError::retryable("the engine is shutting down"))?;
            match run_sync(&syncer, &events, kind, &reason).await {
                Ok(_) => Ok(()),
                Err(SyncError::Shopify(err @ ShopifyError::Unauthorized { .. })) => {
                    Err(JobError::permanent(err.to_string()))
                }
                Err(SyncError::Shopify(err)) => Err(err.into()),
                Err(SyncError::Cache(err)) => Err(err.into()),
                Err(err @ (SyncError::Unexpected(_) | SyncError::Bulk(_))) => {
                    Err(JobError::retryable(err.to_string()))
                }
            }
        }
    }
}

/// The engine. Shared by reference (`Arc<Engine>`): every method takes `&self`. The current
/// session sits behind a `std::sync::RwLock` that is only held to clone or swap an `Arc`,
/// never across an `.await`.
pub struct Engine {
    config: EngineConfig,
    jobs_config: SupervisorConfig,
    events: Events,
    session: RwLock<Option<Arc<Session>>>,
    intake_stats: IntakeStats,
    known_subscriptions: crate::intake::KnownSubscriptions,
    /// Only taken to swap the value, never across an `.await`.
    intake: Mutex<Option<RunningIntake>>,
    low_stock: crate::orders::LowStockRule,
    /// Set while intake runs; shared with every session's syncer.
    reconciling: Arc<AtomicBool>,
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine")
            .field("data_dir", &self.config.data_dir)
            .field(
                "connected",
                &self.current().map(|s| s.profile.address.clone()),
            )
            .finish()
    }
}

const PROFILE_FILE: &str = "profile.json";
/// The webhook subscriptions intake has seen, so a removal is noticed across restarts.
const KNOWN_SUBSCRIPTIONS_FILE: &str = "webhook-subscriptions.json";

impl Engine {
    /// An engine over `config.data_dir`; no network and no keychain access yet (it reads the
    /// small list of webhook subscriptions it has seen, if there is one).
    pub fn new(config: EngineConfig) -> Self {
        let known_subscriptions = crate::intake::KnownSubscriptions::persistent(
            config.data_dir.join(KNOWN_SUBSCRIPTIONS_FILE),
        );
        Self {
            config,
            jobs_config: SupervisorConfig::default(),
            events: Events::new(),
            session: RwLock::new(None),
            intake_stats: IntakeStats::default(),
            known_subscriptions,
            intake: Mutex::new(None),
            low_stock: crate::orders::LowStockRule::default(),
            reconciling: Arc::new(AtomicBool::new(false)),
        }
    }

    /// The low-stock line: change it with [`crate::orders::LowStockRule::set_global`].
    pub fn low_stock(&self) -> &crate::orders::LowStockRule {
        &self.low_stock
    }

    pub(crate) fn set_reconciling(&self, on: bool) {
        self.reconciling.store(on, Ordering::SeqCst);
    }

    /// Replaces the work queue's settings (concurrency, retry schedule) for sessions opened
    /// from now on; tests use short schedules.
    pub fn with_job_config(mut self, config: SupervisorConfig) -> Self {
        self.jobs_config = config;
        self
    }

    fn current(&self) -> Option<Arc<Session>> {
        self.session
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    fn replace_session(&self, session: Option<Arc<Session>>) {
        *self.session.write().unwrap_or_else(|p| p.into_inner()) = session;
    }

    pub fn events(&self) -> &Events {
        &self.events
    }

    pub(crate) fn intake_stats(&self) -> &IntakeStats {
        &self.intake_stats
    }

    pub(crate) fn known_subscriptions(&self) -> &crate::intake::KnownSubscriptions {
        &self.known_subscriptions
    }

    /// The keychain this engine keeps its stores' secrets in.
    pub fn keychain(&self) -> &Keychain {
        &self.config.keychain
    }

    pub(crate) fn swap_intake(&self, next: Option<RunningIntake>) -> Option<RunningIntake> {
        std::mem::replace(
            &mut *self.intake.lock().unwrap_or_else(|p| p.into_inner()),
            next,
        )
    }

    pub(crate) fn with_intake<T>(&self, f: impl FnOnce(Option<&RunningIntake>) -> T) -> T {
        f(self
            .intake
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .as_ref())
    }

    pub(crate) fn current_cache(&self) -> Option<Cache> {
        self.current().map(|s| s.cache.clone())
    }

    pub fn data_dir(&self) -> &Path {
        &self.config.data_dir
    }

    /// The saved profile, if a store was connected before.
    pub fn saved_profile(&self) -> Result<Option<StoreProfile>, EngineError> {
        let path = self.config.data_dir.join(PROFILE_FILE);
        match std::fs::read_to_string(&path) {
            Ok(text) => serde_json::from_str(&text)
                .map(Some)
                .map_err(|e| EngineError::Files {
                    action: "read",
                    path,
                    detail: e.to_string(),
                }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(EngineError::Files {
                action: "read",
                path,
                detail: e.to_string(),
            }),
        }
    }

    fn save_profile(&self, profile: &StoreProfile) -> Result<(), EngineError> {
        let dir = &self.config.data_dir;
        let fail = |action, e: &dyn std::fmt::Display| EngineError::Files {
            action,
            path: dir.join(PROFILE_FILE),
            detail: e.to_string(),
        };
        std::fs::create_dir_all(dir).map_err(|e| fail("create", &e))?;
        let text = serde_json::to_string_pretty(profile).map_err(|e| fail("write", &e))?;
        // Write then rename, so a crash never leaves half a profile.
        let tmp = dir.join(format!("{PROFILE_FILE}.tmp"));
        std::fs::write(&tmp, text).map_err(|e| fail("write", &e))?;
        std::fs::rename(&tmp, dir.join(PROFILE_FILE)).map_err(|e| fail("write", &e))
    }

    /// Checks the credentials against the store, then saves them (secrets to the keychain)
    /// and opens the store's cache.
    pub async fn connect(
        &self,
        address: &str,
        with: ConnectWith,
    ) -> Result<StoreProfile, EngineError> {
        let key = StoreKey::new(address);
        let (credentials, auth) = match &with {
            ConnectWith::ClientCredentials {
                client_id,
                client_secret,
            } => (
                Credentials::ClientCredentials {
                    client_id: client_id.trim().to_string(),
                    client_secret: client_secret.clone(),
                },
                AuthMethod::ClientCredentials {
                    client_id: client_id.trim().to_string(),
                },
            ),
            ConnectWith::AdminToken(token) => (
                Credentials::AdminToken(token.clone()),
                AuthMethod::AdminToken,
            ),
        };
        let client = self.new_client(address, credentials)?;
        let shop = client.execute::<ShopInfo>(&NoVariables {}).await?.shop;

        let keychain = &self.config.keychain;
        match &with {
            ConnectWith::ClientCredentials { client_secret, .. } => {
                keychain
                    .set(&key, SecretKind::ClientSecret, client_secret)
                    .await?;
                keychain.delete(&key, SecretKind::AdminToken).await?;
            }
            ConnectWith::AdminToken(token) => {
                keychain.set(&key, SecretKind::AdminToken, token).await?;
                keychain.delete(&key, SecretKind::ClientSecret).await?;
            }
        }
        let profile = StoreProfile {
            address: key.as_str().to_string(),
            auth,
            name: shop.name,
        };
        self.save_profile(&profile)?;
        self.open_session(profile.clone(), client).await?;
        Ok(profile)
    }

    /// Reconnects the saved store with the secrets from the keychain (no network yet).
    pub async fn resume(&self) -> Result<StoreProfile, EngineError> {
        let profile = self.saved_profile()?.ok_or(EngineError::NotConnected)?;
        let key = StoreKey::new(&profile.address);
        let keychain = &self.config.keychain;
        let credentials = match &profile.auth {
            AuthMethod::ClientCredentials { client_id } => Credentials::ClientCredentials {
                client_id: client_id.clone(),
                client_secret: keychain.get(&key, SecretKind::ClientSecret).await?,
            },
            AuthMethod::AdminToken => {
                Credentials::AdminToken(keychain.get(&key, SecretKind::AdminToken).await?)
            }
        };
        let client = self.new_client(&profile.address, credentials)?;
        self.open_session(profile.clone(), client).await?;
        Ok(profile)
    }

    /// Forgets the store: its secrets leave the keychain; the cache file stays.
    pub async fn disconnect(&self) -> Result<(), EngineError> {
        if let Some(profile) = self.saved_profile()? {
            self.config
                .keychain
                .forget_store(&StoreKey::new(&profile.address))
                .await?;
            let path = self.config.data_dir.join(PROFILE_FILE);
            std::fs::remove_file(&path).map_err(|e| EngineError::Files {
                action: "remove",
                path,
                detail: e.to_string(),
            })?;
        }
        self.stop_intake().await;
        if let Some(old) = self.current() {
            old.jobs.shutdown().await;
        }
        self.replace_session(None);
        Ok(())
    }

    fn new_client(
        &self,
        address: &str,
        credentials: Credentials,
    ) -> Result<ShopifyClient, EngineError> {
        let expiring = matches!(credentials, Credentials::ClientCredentials { .. });
        let mut config = ClientConfig::new(address, credentials)?;
        config.clock = self.config.clock.clone();
        let client = ShopifyClient::new(config)?;
        // Tokens from the client-credentials grant are kept in the keychain too, so a
        // restart reuses the current one instead of asking for another.
        Ok(if expiring {
            client.with_token_cache(Arc::new(crate::credentials::KeychainTokenCache::new(
                self.config.keychain.clone(),
                StoreKey::new(address),
            )))
        } else {
            client
        })
    }

    async fn open_session(
        &self,
        profile: StoreProfile,
        client: ShopifyClient,
    ) -> Result<(), EngineError> {
        let file = shelfsync_store::store_file_name(&profile.address).map_err(CacheError::from)?;
        let cache = Cache::open(self.config.data_dir.join(file)).await?;
        let mut syncer = Syncer::new(client.clone(), cache.clone(), self.events.clone());
        syncer.low_stock = self.low_stock.clone();
        syncer.reconciling = self.reconciling.clone();
        self.forward_bucket(&client);
        let gate = Arc::new(tokio::sync::Semaphore::new(1));
        let uninstalled = Arc::new(AtomicBool::new(false));
        let flag = uninstalled.clone();
        let processor = Processor::new(
            syncer.clone(),
            Arc::new(move || flag.store(true, Ordering::SeqCst)),
        );
        let handlers = JobHandlers::new()
            .with(
                JOB_SYNC_FULL,
                sync_handler(
                    syncer.clone(),
                    self.events.clone(),
                    SyncKind::Full,
                    gate.clone(),
                    uninstalled.clone(),
                ),
            )
            .with(
                JOB_SYNC_INCREMENTAL,
                sync_handler(
                    syncer.clone(),
                    self.events.clone(),
                    SyncKind::Incremental,
                    gate,
                    uninstalled.clone(),
                ),
            )
            .with(JOB_WEBHOOK, processor)
            .with(
                crate::orders::JOB_STOCK_REFRESH,
                crate::orders::StockRefresh::new(syncer.clone()),
            );
        let jobs = Supervisor::start(
            cache.clone(),
            self.events.clone(),
            handlers,
            self.jobs_config.clone(),
        );
        // Intake belongs to the session it was started for.
        self.stop_intake().await;
        let previous = self.current();
        self.replace_session(Some(Arc::new(Session {
            profile,
            client,
            cache,
            syncer,
            jobs,
            uninstalled,
        })));
        if let Some(old) = previous {
            old.jobs.shutdown().await;
        }
        Ok(())
    }

    /// Publishes every bucket change as an event, for as long as the client lives.
    fn forward_bucket(&self, client: &ShopifyClient) {
        let mut rx = client.bucket();
        let events = self.events.clone();
        tokio::spawn(async move {
            while rx.changed().await.is_ok() {
                let bucket = *rx.borrow_and_update();
                events.publish(EngineEvent::Bucket { bucket });
            }
        });
    }

    pub(crate) fn session(&self) -> Result<Arc<Session>, EngineError> {
        self.current().ok_or(EngineError::NotConnected)
    }

    /// The session, unless the app was uninstalled from the store (then syncing has stopped
    /// until the store is connected again, and it counts as not connected).
    fn syncing_session(&self) -> Result<Arc<Session>, EngineError> {
        let session = self.session()?;
        if session.uninstalled.load(Ordering::SeqCst) {
            return Err(EngineError::NotConnected);
        }
        Ok(session)
    }

    /// The connected store's cache.
    pub fn cache(&self) -> Result<Cache, EngineError> {
        Ok(self.session()?.cache.clone())
    }

    /// The connected store's client (for operations outside the engine's own flows).
    pub fn client(&self) -> Result<ShopifyClient, EngineError> {
        Ok(self.session()?.client.clone())
    }

    pub fn profile(&self) -> Option<StoreProfile> {
        self.current().map(|s| s.profile.clone())
    }

    /// Bulk updates of the connected store.
    pub fn bulk_updates(&self) -> Result<crate::bulk_update::BulkUpdates, EngineError> {
        let session = self.session()?;
        Ok(
            crate::bulk_update::BulkUpdates::new(session.client.clone(), session.cache.clone())
                .with_syncer(session.syncer.clone()),
        )
    }

    /// Plans a bulk update from the file at `path` against the live store. Writes nothing.
    pub async fn plan_bulk_update(
        &self,
        path: &Path,
        options: crate::bulk_update::PlanOptions,
    ) -> Result<crate::bulk_update::Plan, EngineError> {
        Ok(self.bulk_updates()?.plan(path, options).await?)
    }

    /// Applies a plan; progress and the end are published as events.
    pub async fn apply_bulk_update(
        &self,
        plan: &crate::bulk_update::Plan,
        options: crate::bulk_update::ApplyOptions,
    ) -> Result<crate::bulk_update::Outcome, EngineError> {
        let bulk = self.bulk_updates()?;
        let mut progress = self.bulk_progress();
        let outcome = bulk.apply(plan, options, &mut progress).await?;
        self.bulk_finished(&plan.file_name, &outcome);
        Ok(outcome)
    }

    /// Undoes a finished bulk update; progress and the end are published as events.
    pub async fn undo_bulk_update(
        &self,
        id: i64,
    ) -> Result<crate::bulk_update::Outcome, EngineError> {
        let bulk = self.bulk_updates()?;
        let mut progress = self.bulk_progress();
        let outcome = bulk.undo(id, &mut progress).await?;
        let name = self.bulk_file_name(&bulk, id).await;
        self.bulk_finished(&name, &outcome);
        Ok(outcome)
    }

    /// Finishes or rolls back a bulk update a crash interrupted.
    pub async fn recover_bulk_update(
        &self,
        id: i64,
        choice: crate::bulk_update::Recovery,
    ) -> Result<crate::bulk_update::Outcome, EngineError> {
        let bulk = self.bulk_updates()?;
        let mut progress = self.bulk_progress();
        let outcome = bulk.recover(id, choice, &mut progress).await?;
        let name = self.bulk_file_name(&bulk, id).await;
        self.bulk_finished(&name, &outcome);
        Ok(outcome)
    }

    fn bulk_progress(&self) -> impl FnMut(&crate::bulk_update::Progress) + Send + Sync + use<> {
        let events = self.events.clone();
        move |p: &crate::bulk_update::Progress| {
            events.publish(EngineEvent::BulkProgress {
                progress: p.clone(),
            })
        }
    }

    fn bulk_finished(&self, file_name: &str, outcome: &crate::bulk_update::Outcome) {
        self.events.publish(EngineEvent::BulkFinished {
            file_name: file_name.to_owned(),
            outcome: outcome.clone(),
        });
    }

    async fn bulk_file_name(&self, bulk: &crate::bulk_update::BulkUpdates, id: i64) -> String {
        // One column of one row: the journal's plans can be megabytes each.
        bulk.cache
            .read(move |r| r.bulk_update_file_name(id))
            .await
            .ok()
            .flatten()
            .unwrap_or_default()
    }

    /// Runs a sync now. A refused credential raises a "reconnect" attention event.
    pub async fn sync(&self, kind: SyncKind) -> Result<SyncReport, EngineError> {
        let session = self.syncing_session()?;
        Ok(run_sync(&session.syncer, &self.events, kind, "manual").await?)
    }

    /// Variants whose SKU or title starts with `query`.
    pub async fn search_inventory(
        &self,
        query: &str,
        limit: u32,
        offset: u32,
    ) -> Result<Vec<VariantRow>, EngineError> {
        let q = query.to_string();
        Ok(self
            .session()?
            .cache
            .read(move |r| r.search_variants(&q, limit, offset))
            .await?)
    }

    /// A page of [`Engine::search_inventory`] and how many variants match `query` in all,
    /// read together, for a list that shows its full length before its rows are loaded.
    pub async fn search_inventory_page(
        &self,
        query: &str,
        limit: u32,
        offset: u32,
    ) -> Result<VariantPage, EngineError> {
        let q = query.to_string();
        Ok(self
            .session()?
            .cache
            .read(move |r| r.search_page(&q, limit, offset))
            .await?)
    }

    /// Queues an incremental sync every `every` until `stop` is cancelled. The queue retries
    /// failed passes and parks them for a person when they keep failing.
    pub async fn poll(
        self: Arc<Self>,
        every: std::time::Duration,
        stop: tokio_util::sync::CancellationToken,
    ) {
        let mut tick = tokio::time::interval(every);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = stop.cancelled() => return,
                _ = tick.tick() => {}
            }
            if self
                .current()
                .is_none_or(|s| s.uninstalled.load(Ordering::SeqCst))
            {
                continue;
            }
            if let Err(err) = self.request_sync(SyncKind::Incremental).await {
                tracing::warn!(error = %err, "could not queue an incremental sync");
            }
        }
    }

    /// Queues a sync as a durable job (at most one pending of each kind); the queue's
    /// workers run it, retry it with backoff, and park it in the failed list for a person
    /// if it keeps failing.
    pub async fn request_sync(&self, kind: SyncKind) -> Result<Enqueued, EngineError> {
        let job_kind = match kind {
            SyncKind::Full => JOB_SYNC_FULL,
            SyncKind::Incremental => JOB_SYNC_INCREMENTAL,
        };
        Ok(self
            .syncing_session()?
            .jobs
            .enqueue(NewJob {
                kind: job_kind.to_string(),
                payload: serde_json::json!({}),
                dedupe_key: Some(job_kind.to_string()),
                run_at: None,
            })
            .await?)
    }

    /// Queues an incremental pass for `reason` (a reconciliation while intake runs).
    pub async fn request_reconciliation(&self, reason: &str) -> Result<Enqueued, EngineError> {
        Ok(self
            .syncing_session()?
            .jobs
            .enqueue(incremental_job(reason))
            .await?)
    }

    /// The newest orders first, with their lines, optionally only those in `status`.
    pub async fn recent_orders(
        &self,
        status: Option<OrderStatus>,
        limit: u32,
    ) -> Result<Vec<Order>, EngineError> {
        Ok(self
            .session()?
            .cache
            .read(move |r| r.recent_orders(status, limit))
            .await?)
    }

    /// Sets (or, with `None`, removes) a SKU's own low-stock threshold.
    pub async fn set_sku_threshold(
        &self,
        sku: &str,
        threshold: Option<u32>,
    ) -> Result<(), EngineError> {
        let sku = sku.trim().to_owned();
        Ok(self
            .session()?
            .cache
            .write(move |db| {
                let tx = db.write()?;
                tx.set_low_stock_threshold(&sku, threshold)?;
                tx.commit()
            })
            .await?)
    }

    /// Every SKU's own low-stock threshold.
    pub async fn sku_thresholds(&self) -> Result<Vec<(String, u32)>, EngineError> {
        Ok(self
            .session()?
            .cache
            .read(|r| r.low_stock_thresholds())
            .await?)
    }

    /// The last reconciliation pass and the changes repaired over the last day.
    pub async fn reconciliation(&self) -> Result<ReconciliationSummary, EngineError> {
        let day_ago = shelfsync_store::Timestamp::now().as_millisecond() - 86_400_000;
        let (last, repaired_last_day) = self
            .session()?
            .cache
            .read(move |r| Ok((r.last_reconciliation()?, r.repairs_since(day_ago)?)))
            .await?;
        Ok(ReconciliationSummary {
            last,
            repaired_last_day,
        })
    }

    /// The latest changes to the cache, newest first, with where each came from.
    pub async fn recent_activity(&self, limit: u32) -> Result<Vec<AuditEntry>, EngineError> {
        Ok(self
            .session()?
            .cache
            .read(move |r| r.recent_audit(limit))
            .await?)
    }

    /// Jobs that failed after their retries and wait for a person.
    pub async fn failed_jobs(&self) -> Result<Vec<Job>, EngineError> {
        Ok(self.session()?.jobs.failed_jobs().await?)
    }

    pub async fn retry_job(&self, id: i64) -> Result<(), EngineError> {
        Ok(self.session()?.jobs.retry_failed(id).await?)
    }

    pub async fn retry_all_jobs(&self) -> Result<usize, EngineError> {
        Ok(self.session()?.jobs.retry_all_failed().await?)
    }

    pub async fn discard_job(&self, id: i64) -> Result<(), EngineError> {
        Ok(self.session()?.jobs.discard_failed(id).await?)
    }

    /// Stops the queue's workers after their current jobs (bounded wait).
    pub async fn shutdown(&self) {
        self.stop_intake().await;
        if let Some(session) = self.current() {
            session.jobs.shutdown().await;
        }
    }

    pub async fn status(&self) -> Result<Status, EngineError> {
        let Some(session) = self.current() else {
            return Ok(Status {
                store: self.saved_profile()?,
                token_expires_at: None,
                bucket: None,
                cache: None,
                queue: None,
                watermarks: Vec::new(),
                intake: None,
                reconciliation: None,
            });
        };
        let (counts, queue, watermarks) = session
            .cache
            .read(|r| Ok((r.counts()?, r.job_counts()?, r.watermarks()?)))
            .await?;
        let bucket = session.client.bucket().borrow().to_owned();
        Ok(Status {
            store: Some(session.profile.clone()),
            token_expires_at: session.client.token_expiry(),
            bucket: (bucket.maximum > 0.0).then_some(bucket),
            cache: Some(counts),
            queue: Some(queue),
            watermarks,
            intake: Some(self.intake_status().await?),
            reconciliation: Some(self.reconciliation().await?),
        })
    }
}
