//! The runner of the durable work queue.
//!
//! Work that must survive a restart (sync steps, writes to Shopify, webhook processing) is a
//! row in the store's `jobs` table. This module runs those rows: a [`Supervisor`] claims due
//! jobs, hands each to the [`JobHandler`] registered for its kind, and records the outcome.
//!
//! Why it is shaped this way:
//!
//! - **Bounded concurrency.** At most [`SupervisorConfig::concurrency`] handlers run at once, so
//!   a backlog after a night offline cannot open hundreds of connections to Shopify or starve
//!   the laptop. One dispatcher task owns the claim loop and a [`JoinSet`] of handler tasks;
//!   it claims a job only while a slot is free.
//! - **Retries are data.** A retryable failure goes back to `pending` with a wait drawn from
//!   [`JobRetryPolicy`] (exponential backoff, full jitter, capped; the jitter comes from a
//!   seedable generator so tests know the schedule). After `max_attempts` the job becomes
//!   `failed` and waits for a person, and an [`Attention::JobFailed`] event says so. A person
//!   can retry one, retry all, or discard ([`Supervisor::retry_failed`],
//!   [`Supervisor::retry_all_failed`], [`Supervisor::discard_failed`]); the store records each
//!   decision in its audit log.
//! - **Prompt, cheap waiting.** With nothing due, the dispatcher sleeps until the next job's
//!   run time (`next_due_at`), or until [`Supervisor::enqueue`] / [`Supervisor::wake`] notify
//!   it, whichever comes first. It never polls in a tight loop.
//! - **Supervised tasks.** Each handler runs in its own task. A handler that panics fails
//!   only that attempt (as a retryable failure); the pool keeps running.
//! - **Orderly shutdown.** [`Supervisor::shutdown`] stops claiming, gives running handlers
//!   [`SupervisorConfig::shutdown_grace`] to finish (they can watch
//!   [`JobContext::shutdown`] to stop early at a safe point), interrupts the rest and puts
//!   them back to `pending`, and returns once every task has stopped.
//! - **No lock across an `.await`.** Store calls go through [`Cache`], whose writer lock is
//!   taken and released inside a blocking closure; the supervisor's own state is either owned
//!   by the dispatcher task or lock-free (`Notify`, `CancellationToken`).
//!
//! **Handlers must be idempotent.** A job runs *at least* once: if the process dies while a
//! job runs, the store puts it back to `pending` when the database is next opened, and the
//! job runs again from the start. A handler must therefore be safe to repeat — e.g. derive
//! Shopify idempotency keys from the job id (stable across retries and restarts), and
//! advance sync watermarks only in the same transaction as the data they cover.
//!
//! Every state change is published on [`Events`]: an [`EngineEvent::Job`] for the job, then
//! an [`EngineEvent::Queue`] with the new totals (then, for a job that now waits for a
//! person, an [`Attention::JobFailed`]). Events are sent while the writer is held, so they
//! arrive in the order the changes were made. A job removed from the queue (discarded,
//! or merged into a pending twin on retry) has no state left, so only the totals are
//! published for it.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use shelfsync_store::{Clock, Database, Enqueued, Job, JobCounts, JobState, NewJob, Timestamp};
use tokio::sync::Notify;
use tokio::task::{JoinError, JoinSet};
use tokio_util::sync::CancellationToken;
use tracing::Instrument;

use crate::cache::{Cache, CacheError};
use crate::events::{Attention, EngineEvent, Events};

/// Why a job did not finish, in words a person understands.
///
/// The message is stored as the job's `last_error` and shown in the app and the CLI, so it
/// must say what went wrong and never contain a secret. Whether it is retryable decides
/// between "try again later" and "wait for a person".
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobError {
    retryable: bool,
    message: String,
}

impl JobError {
    /// A failure that may pass by itself (network, throttling, a busy database): the job
    /// runs again after a backoff, until its retry budget is spent.
    pub fn retryable(message: impl Into<String>) -> Self {
        Self {
            retryable: true,
            message: message.into(),
        }
    }

    /// A failure that trying again will not fix (bad input, a refused credential): the job
    /// becomes `failed` at once and waits for a person.
    pub fn permanent(message: impl Into<String>) -> Self {
        Self {
            retryable: false,
            message: message.into(),
        }
    }

    pub fn is_retryable(&self) -> bool {
        self.retryable
    }

    pub fn message(&self) -> &str {
        &self.message
    }
}

impl std::fmt::Display for JobError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for JobError {}

/// Shopify errors already speak to the store owner and never carry a secret; transient ones
/// (network, throttling, 5xx, 429) are retryable.
impl From<shelfsync_shopify::ShopifyError> for JobError {
    fn from(err: shelfsync_shopify::ShopifyError) -> Self {
        let retryable = err.is_transient();
        Self {
            retryable,
            message: err.to_string(),
        }
    }
}

/// A problem with the local database (busy, disk full) may pass; the retry budget bounds it.
impl From<CacheError> for JobError {
    fn from(err: CacheError) -> Self {
        Self::retryable(err.to_string())
    }
}

/// What a handler gets for one attempt of a job.
#[derive(Debug, Clone)]
pub struct JobContext {
    /// The job as claimed: state `running`, `attempts` already counting this attempt.
    pub job: Job,
    /// Cancelled when the supervisor starts shutting down. A long handler may watch it to
    /// stop at a safe point; one that does not is interrupted after the grace period.
    pub shutdown: CancellationToken,
}

impl JobContext {
    /// The payload as `T`. A payload that does not fit is a permanent failure: running the
    /// same job again would read the same payload.
    pub fn payload<T: serde::de::DeserializeOwned>(&self) -> Result<T, JobError> {
        serde_json::from_value(self.job.payload.clone()).map_err(|e| {
            JobError::permanent(format!(
                "The details of this {} job could not be read ({e}); it was probably written by \
                 another version of Shelfsync. Discard it.",
                self.job.kind
            ))
        })
    }
}

/// The future a handler returns.
pub type JobFuture = Pin<Box<dyn Future<Output = Result<(), JobError>> + Send + 'static>>;

/// Runs one kind of job. Must be idempotent: see the module documentation.
///
/// Any `Fn(JobContext) -> impl Future<Output = Result<(), JobError>>` closure is a handler.
pub trait JobHandler: Send + Sync + 'static {
    /// Runs one attempt.
    fn run(&self, cx: JobContext) -> JobFuture;

    /// How the job is named to a person, e.g. in "needs attention". Defaults to its kind.
    fn describe(&self, job: &Job) -> String {
        job.kind.clone()
    }
}

impl<F, Fut> JobHandler for F
where
    F: Fn(JobContext) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<(), JobError>> + Send + 'static,
{
    fn run(&self, cx: JobContext) -> JobFuture {
        Box::pin(self(cx))
    }
}

/// The handlers a supervisor knows, by job kind (e.g. `sync.incremental`).
#[derive(Clone, Default)]
pub struct JobHandlers {
    by_kind: HashMap<String, Arc<dyn JobHandler>>,
}

impl std::fmt::Debug for JobHandlers {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut kinds: Vec<&String> = self.by_kind.keys().collect();
        kinds.sort();
        f.debug_struct("JobHandlers")
            .field("kinds", &kinds)
            .finish()
    }
}

impl JobHandlers {
    pub fn new() -> Self {
        Self::default()
    }

    /// Registers `handler` for `kind`, replacing an earlier one.
    pub fn register(&mut self, kind: impl Into<String>, handler: impl JobHandler) -> &mut Self {
        self.by_kind.insert(kind.into(), Arc::new(handler));
        self
    }

    /// [`JobHandlers::register`], by value, for building in one expression.
    pub fn with(mut self, kind: impl Into<String>, handler: impl JobHandler) -> Self {
        self.register(kind, handler);
        self
    }

    pub fn kinds(&self) -> impl Iterator<Item = &str> {
        self.by_kind.keys().map(String::as_str)
    }

    fn get(&self, kind: &str) -> Option<Arc<dyn JobHandler>> {
        self.by_kind.get(kind).cloned()
    }
}

/// How often, and how patiently, a job is retried after a retryable failure.
///
/// The wait after attempt `n` is uniformly random between zero and
/// `min(cap, base * 2^(n-1))` ("full jitter"), so jobs that failed together do not all come
/// back at once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobRetryPolicy {
    /// Attempts in all, the first included. After this many, the job becomes `failed`.
    pub max_attempts: u32,
    /// The bound of the wait after the first attempt; doubles per attempt.
    pub base: Duration,
    /// No single wait exceeds this.
    pub cap: Duration,
}

impl Default for JobRetryPolicy {
    /// Ten attempts over at most about half an hour (a quarter of an hour on average): long
    /// enough to ride out a Wi-Fi drop or a short Shopify incident, short enough that a real
    /// problem reaches a person while they are still at the laptop.
    fn default() -> Self {
        Self {
            max_attempts: 10,
            base: Duration::from_secs(5),
            cap: Duration::from_secs(10 * 60),
        }
    }
}

impl JobRetryPolicy {
    /// The upper bound of the wait after attempt `attempt` (1-based) failed.
    pub fn bound(&self, attempt: u32) -> Duration {
        let exp = attempt.saturating_sub(1).min(30);
        self.base.saturating_mul(1u32 << exp).min(self.cap)
    }

    /// A full-jitter wait after attempt `attempt` failed.
    pub fn delay(&self, attempt: u32, rng: &mut fastrand::Rng) -> Duration {
        self.bound(attempt).mul_f64(rng.f64())
    }

    /// Whether a job that just failed its attempt number `attempts` may run again.
    pub fn allows_another(&self, attempts: u32) -> bool {
        attempts < self.max_attempts
    }

    /// The waits a job that fails every attempt goes through, for a jitter seed: what a
    /// supervisor started with `jitter_seed: Some(seed)` uses for its first such job.
    pub fn schedule(&self, seed: u64) -> Vec<Duration> {
        let mut rng = fastrand::Rng::with_seed(seed);
        (1..self.max_attempts)
            .map(|attempt| self.delay(attempt, &mut rng))
            .collect()
    }
}

/// How a [`Supervisor`] runs.
#[derive(Clone)]
pub struct SupervisorConfig {
    /// Handlers running at once, at least one.
    pub concurrency: usize,
    /// Backoff and budget for retryable failures.
    pub retry: JobRetryPolicy,
    /// How long [`Supervisor::shutdown`] lets running handlers finish before interrupting
    /// them.
    pub shutdown_grace: Duration,
    /// The longest the dispatcher sleeps without looking at the queue, even with nothing
    /// due: a safety net for jobs written by another path that forgot [`Supervisor::wake`],
    /// and for wall-clock jumps (a laptop waking from sleep).
    pub max_idle: Duration,
    /// Seeds the backoff jitter; `None` draws a seed from entropy.
    pub jitter_seed: Option<u64>,
    /// "Now" for computing the next run time. Must be the clock the store was opened with
    /// (the store's default is the system clock, as is this one's).
    pub clock: Clock,
}

impl Default for SupervisorConfig {
    fn default() -> Self {
        Self {
            concurrency: 4,
            retry: JobRetryPolicy::default(),
            shutdown_grace: Duration::from_secs(10),
            max_idle: Duration::from_secs(60),
            jitter_seed: None,
            clock: Arc::new(Timestamp::now),
        }
    }
}

impl std::fmt::Debug for SupervisorConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SupervisorConfig")
            .field("concurrency", &self.concurrency)
            .field("retry", &self.retry)
            .field("shutdown_grace", &self.shutdown_grace)
            .field("max_idle", &self.max_idle)
            .field("jitter_seed", &self.jitter_seed)
            .finish_non_exhaustive()
    }
}

/// Runs the work queue: bounded concurrency, retries with backoff, orderly shutdown.
///
/// Start it with [`Supervisor::start`] inside a tokio runtime; share it behind an `Arc` if
/// several front ends need it. Dropping it without [`Supervisor::shutdown`] also stops
/// claiming (the shutdown then finishes in the background).
pub struct Supervisor {
    cache: Cache,
    events: Events,
    wake: Arc<Notify>,
    shutdown: CancellationToken,
    stopped: CancellationToken,
}

impl std::fmt::Debug for Supervisor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Supervisor")
            .field("cache", &self.cache)
            .field("shutting_down", &self.shutdown.is_cancelled())
            .field("stopped", &self.stopped.is_cancelled())
            .finish()
    }
}

impl Drop for Supervisor {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}

impl Supervisor {
    /// Starts the dispatcher on the current tokio runtime. Jobs already due (including any
    /// that a crashed process left running, which the store put back on open) start at once.
    pub fn start(
        cache: Cache,
        events: Events,
        handlers: JobHandlers,
        config: SupervisorConfig,
    ) -> Self {
        let wake = Arc::new(Notify::new());
        let shutdown = CancellationToken::new();
        let stopped = CancellationToken::new();
        let rng = match config.jitter_seed {
            Some(seed) => fastrand::Rng::with_seed(seed),
            None => fastrand::Rng::new(),
        };
        let dispatcher = Dispatcher {
            cache: cache.clone(),
            events: events.clone(),
            handlers,
            concurrency: config.concurrency.max(1),
            retry: config.retry,
            shutdown_grace: config.shutdown_grace,
            max_idle: config.max_idle,
            clock: config.clock,
            rng,
            wake: wake.clone(),
            shutdown: shutdown.clone(),
            running: JoinSet::new(),
            in_flight: HashMap::new(),
        };
        // Fires when the dispatcher ends, however it ends.
        let stopped_guard = stopped.clone().drop_guard();
        tokio::spawn(async move {
            let _stopped = stopped_guard;
            dispatcher.run().await;
        });
        Self {
            cache,
            events,
            wake,
            shutdown,
            stopped,
        }
    }

    /// Adds a job and wakes the workers. With a dedupe key that a pending job already has,
    /// returns that job and changes nothing.
    pub async fn enqueue(&self, job: NewJob) -> Result<Enqueued, CacheError> {
        let events = self.events.clone();
        let enqueued = self
            .cache
            .write(move |db| {
                let enqueued = db.enqueue(&job)?;
                if let Enqueued::New(id) = enqueued {
                    publish_change(db, &events, &[id], None);
                }
                Ok(enqueued)
            })
            .await?;
        self.wake();
        Ok(enqueued)
    }

    /// Tells the workers to look at the queue now: for jobs enqueued by another path, e.g.
    /// in the same transaction as the webhook they process.
    pub fn wake(&self) {
        self.wake.notify_one();
    }

    /// Runs a failed job again now, with a fresh retry budget. Recorded in the audit log.
    pub async fn retry_failed(&self, id: i64) -> Result<(), CacheError> {
        let events = self.events.clone();
        self.cache
            .write(move |db| {
                db.retry_failed_job(id)?;
                publish_change(db, &events, &[id], None);
                Ok(())
            })
            .await?;
        self.wake();
        Ok(())
    }

    /// Runs every failed job again now, each with a fresh retry budget. Returns how many.
    pub async fn retry_all_failed(&self) -> Result<usize, CacheError> {
        let events = self.events.clone();
        let retried = self
            .cache
            .write(move |db| {
                // The writer is ours for the whole closure, so the list cannot change between
                // reading it and retrying it.
                let ids: Vec<i64> = db.reader()?.failed_jobs()?.iter().map(|j| j.id).collect();
                let retried = db.retry_all_failed_jobs()?;
                publish_change(db, &events, &ids, None);
                Ok(retried)
            })
            .await?;
        if retried > 0 {
            self.wake();
        }
        Ok(retried)
    }

    /// Removes a failed job from the queue; the audit log keeps what it was and why it
    /// failed.
    pub async fn discard_failed(&self, id: i64) -> Result<(), CacheError> {
        let events = self.events.clone();
        self.cache
            .write(move |db| {
                db.discard_failed_job(id)?;
                publish_change(db, &events, &[], None);
                Ok(())
            })
            .await
    }

    /// Failed jobs waiting for a person, oldest first.
    pub async fn failed_jobs(&self) -> Result<Vec<Job>, CacheError> {
        self.cache.read(|r| r.failed_jobs()).await
    }

    /// Number of jobs in each state.
    pub async fn counts(&self) -> Result<JobCounts, CacheError> {
        self.cache.read(|r| r.job_counts()).await
    }

    /// Whether the dispatcher and every handler task have stopped.
    pub fn is_stopped(&self) -> bool {
        self.stopped.is_cancelled()
    }

    /// Stops claiming jobs, lets running handlers finish within the grace period, puts back
    /// to `pending` any it had to interrupt, and returns once every task has stopped. Safe to
    /// call more than once, and from several places.
    pub async fn shutdown(&self) {
        self.shutdown.cancel();
        self.stopped.cancelled().await;
    }
}

/// Publishes the new state of jobs `ids`, the queue totals, and — when `attention` names
/// what the jobs were — an [`Attention::JobFailed`] for each that is now failed.
///
/// Called inside the write closure, while the writer is held, so events leave in the order
/// of the changes: a front end never sees a job `running` before it saw it `pending`. Best
/// effort: the change is already committed, so a failed read costs only the event (the next
/// change publishes fresh totals).
fn publish_change(db: &Database, events: &Events, ids: &[i64], attention: Option<&str>) {
    let published = (|| -> shelfsync_store::Result<()> {
        let reader = db.reader()?;
        let mut failed = Vec::new();
        for &id in ids {
            if let Some(job) = reader.job(id)? {
                publish_job(events, &job);
                if job.state == JobState::Failed {
                    failed.push(job);
                }
            }
        }
        publish_counts(events, reader.job_counts()?);
        if let Some(what) = attention {
            for job in failed {
                events.publish(EngineEvent::Attention {
                    attention: Attention::JobFailed {
                        job_id: job.id,
                        what: what.to_owned(),
                        error: job.last_error.unwrap_or_default(),
                    },
                });
            }
        }
        Ok(())
    })();
    if let Err(err) = published {
        tracing::warn!(error = %err, "could not read the queue to publish a change");
    }
}

fn publish_job(events: &Events, job: &Job) {
    events.publish(EngineEvent::Job {
        id: job.id,
        kind: job.kind.clone(),
        state: job.state,
        attempts: job.attempts,
        last_error: job.last_error.clone(),
    });
}

fn publish_counts(events: &Events, counts: JobCounts) {
    events.publish(EngineEvent::Queue { counts });
}

/// How one attempt ended.
enum Outcome {
    Done,
    Failed(JobError),
    /// The handler panicked; the message is the panic's.
    Panicked(String),
    /// Interrupted at shutdown, after the grace period.
    Interrupted,
}

/// What to write for an outcome.
enum Record {
    Done,
    Reschedule { error: String, delay: Duration },
    Fail { error: String },
}

/// A pause after a store error in the claim loop, so a full disk does not spin a core.
const STORE_ERROR_PAUSE: Duration = Duration::from_secs(1);
/// Recording an outcome is retried this many times before the job is left `running` (it then
/// runs again after the next restart).
const RECORD_ATTEMPTS: u32 = 3;

/// Owns the claim loop and the handler tasks. Lives inside one task, so none of its state
/// needs a lock.
struct Dispatcher {
    cache: Cache,
    events: Events,
    handlers: JobHandlers,
    concurrency: usize,
    retry: JobRetryPolicy,
    shutdown_grace: Duration,
    max_idle: Duration,
    clock: Clock,
    rng: fastrand::Rng,
    wake: Arc<Notify>,
    shutdown: CancellationToken,
    running: JoinSet<Outcome>,
    in_flight: HashMap<tokio::task::Id, Job>,
}

enum Claimed {
    Job(Job),
    Nothing { next_due: Option<Timestamp> },
}

impl Dispatcher {
    async fn run(mut self) {
        tracing::debug!(concurrency = self.concurrency, "work queue started");
        while !self.shutdown.is_cancelled() {
            if self.running.len() >= self.concurrency {
                tokio::select! {
                    _ = self.shutdown.cancelled() => break,
                    Some(joined) = self.running.join_next_with_id() => self.finished(joined).await,
                }
                continue;
            }
            match self.claim().await {
                Ok(Claimed::Job(job)) => self.begin(job).await,
                Ok(Claimed::Nothing { next_due }) => {
                    let wait = self.until(next_due);
                    tokio::select! {
                        _ = self.shutdown.cancelled() => break,
                        _ = self.wake.notified() => {}
                        _ = tokio::time::sleep(wait) => {}
                        Some(joined) = self.running.join_next_with_id() => self.finished(joined).await,
                    }
                }
                Err(err) => {
                    tracing::error!(error = %err, "could not read the work queue");
                    tokio::select! {
                        _ = self.shutdown.cancelled() => break,
                        _ = tokio::time::sleep(STORE_ERROR_PAUSE) => {}
                        Some(joined) = self.running.join_next_with_id() => self.finished(joined).await,
                    }
                }
            }
        }
        self.drain().await;
        tracing::debug!("work queue stopped");
    }

    /// Lets running handlers finish within the grace period, then interrupts the rest.
    async fn drain(&mut self) {
        if !self.running.is_empty() {
            tracing::info!(
                running = self.running.len(),
                "waiting for running jobs to finish"
            );
        }
        let deadline = tokio::time::Instant::now() + self.shutdown_grace;
        loop {
            match tokio::time::timeout_at(deadline, self.running.join_next_with_id()).await {
                Ok(Some(joined)) => self.finished(joined).await,
                Ok(None) => return,
                Err(_elapsed) => break,
            }
        }
        tracing::warn!(
            running = self.running.len(),
            "interrupting jobs that did not finish in time; they will run again"
        );
        self.running.abort_all();
        while let Some(joined) = self.running.join_next_with_id().await {
            self.finished(joined).await;
        }
    }

    /// How long to sleep when nothing is due.
    fn until(&self, next_due: Option<Timestamp>) -> Duration {
        match next_due {
            Some(due) => {
                let ms = due
                    .as_millisecond()
                    .saturating_sub((self.clock)().as_millisecond());
                // The store stores milliseconds; one more avoids waking a hair early.
                let wait = Duration::from_millis(u64::try_from(ms).unwrap_or(0)) + ONE_MS;
                wait.min(self.max_idle)
            }
            None => self.max_idle,
        }
    }

    async fn claim(&self) -> Result<Claimed, CacheError> {
        let events = self.events.clone();
        self.cache
            .write(move |db| {
                Ok(match db.claim_next_job()? {
                    Some(job) => {
                        publish_change(db, &events, &[job.id], None);
                        Claimed::Job(job)
                    }
                    None => Claimed::Nothing {
                        next_due: db.next_due_at()?,
                    },
                })
            })
            .await
    }

    async fn begin(&mut self, job: Job) {
        let Some(handler) = self.handlers.get(&job.kind) else {
            let error = format!(
                "Shelfsync does not know how to run a \"{}\" job; it may have been queued by a \
                 newer version. Discard it, or update Shelfsync and retry it.",
                job.kind
            );
            tracing::error!(id = job.id, kind = %job.kind, "no handler for this kind of job");
            self.record(&job, Record::Fail { error }).await;
            return;
        };
        let span =
            tracing::info_span!("job", id = job.id, kind = %job.kind, attempt = job.attempts);
        let cx = JobContext {
            job: job.clone(),
            shutdown: self.shutdown.clone(),
        };
        // `run` is called inside the task, so a panic even before its first `.await` stays
        // in that task.
        let task = self.running.spawn(
            async move {
                match handler.run(cx).await {
                    Ok(()) => Outcome::Done,
                    Err(err) => Outcome::Failed(err),
                }
            }
            .instrument(span),
        );
        self.in_flight.insert(task.id(), job);
    }

    async fn finished(&mut self, joined: Result<(tokio::task::Id, Outcome), JoinError>) {
        let (task, outcome) = match joined {
            Ok((task, outcome)) => (task, outcome),
            Err(err) if err.is_panic() => {
                let task = err.id();
                (task, Outcome::Panicked(panic_message(err)))
            }
            Err(err) => (err.id(), Outcome::Interrupted),
        };
        let Some(job) = self.in_flight.remove(&task) else {
            tracing::error!("a job task ended that the work queue did not start");
            return;
        };
        let record = match outcome {
            Outcome::Done => Record::Done,
            Outcome::Failed(err) if err.is_retryable() => self.after_retryable(&job, err.message),
            Outcome::Failed(err) => Record::Fail { error: err.message },
            Outcome::Panicked(detail) => self.after_retryable(
                &job,
                format!("Shelfsync hit an internal error while running this job ({detail})."),
            ),
            Outcome::Interrupted => Record::Reschedule {
                error: "Interrupted because Shelfsync was closing; it will run again.".to_owned(),
                delay: Duration::ZERO,
            },
        };
        self.record(&job, record).await;
    }

    fn after_retryable(&mut self, job: &Job, error: String) -> Record {
        if self.retry.allows_another(job.attempts) {
            let delay = self.retry.delay(job.attempts, &mut self.rng);
            Record::Reschedule { error, delay }
        } else {
            let attempts = job.attempts;
            Record::Fail {
                error: format!("{error} (gave up after {attempts} attempts)"),
            }
        }
    }

    /// Writes the outcome and publishes it. A store error is retried briefly; if it
    /// persists, the job stays `running` and runs again after the next restart.
    async fn record(&self, job: &Job, record: Record) {
        match &record {
            Record::Done => tracing::info!(id = job.id, kind = %job.kind, "job done"),
            Record::Reschedule { error, delay } => tracing::warn!(
                id = job.id, kind = %job.kind, attempt = job.attempts, ?delay, %error,
                "job will run again"
            ),
            Record::Fail { error } => {
                tracing::error!(id = job.id, kind = %job.kind, %error, "job failed")
            }
        }
        let what = match self.handlers.get(&job.kind) {
            Some(handler) => handler.describe(job),
            None => job.kind.clone(),
        };
        let shared = Arc::new((record, what));
        let mut attempt = 0;
        loop {
            attempt += 1;
            let (id, shared, clock) = (job.id, shared.clone(), self.clock.clone());
            let events = self.events.clone();
            let written = self
                .cache
                .write(move |db| {
                    let (record, what) = &*shared;
                    match record {
                        Record::Done => db.mark_job_done(id)?,
                        Record::Reschedule { error, delay } => {
                            let at = later((clock)(), *delay);
                            db.reschedule_job(id, error, at)?;
                        }
                        Record::Fail { error } => db.mark_job_failed(id, error)?,
                    }
                    publish_change(db, &events, &[id], Some(what));
                    Ok(())
                })
                .await;
            match written {
                Ok(()) => return,
                Err(err) if attempt < RECORD_ATTEMPTS => {
                    tracing::warn!(id = job.id, error = %err, "could not record a job's outcome; trying again");
                    tokio::time::sleep(Duration::from_millis(200) * attempt).await;
                }
                Err(err) => {
                    tracing::error!(
                        id = job.id, error = %err,
                        "could not record a job's outcome; it will run again after a restart"
                    );
                    return;
                }
            }
        }
    }
}

const ONE_MS: Duration = Duration::from_millis(1);

/// `now + delay`, at the store's millisecond precision.
fn later(now: Timestamp, delay: Duration) -> Timestamp {
    let delay_ms = i64::try_from(delay.as_millis()).unwrap_or(i64::MAX);
    let ms = now.as_millisecond().saturating_add(delay_ms);
    Timestamp::from_millisecond(ms).unwrap_or(Timestamp::MAX)
}

fn panic_message(err: JoinError) -> String {
    let payload = err.into_panic();
    if let Some(text) = payload.downcast_ref::<&str>() {
        (*text).to_owned()
    } else if let Some(text) = payload.downcast_ref::<String>() {
        text.clone()
    } else {
        "a panic with no message".to_owned()
    }
}
