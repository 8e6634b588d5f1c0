//! The work queue's runner against real SQLite files: what a store owner would notice —
//! jobs run, failures back off and then wait for a person, a person's retry or discard
//! takes effect, the app never runs more jobs at once than allowed, closing the app lets
//! running work finish, and a crash never loses a job.
//!
//! Time is real and short (tens of milliseconds): the store stamps jobs with the system
//! clock and its SQLite calls run on the blocking pool, where tokio's paused clock would
//! auto-advance and fire timers early.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use shelfsync_engine::{
    Attention, Cache, EngineEvent, Events, JobContext, JobError, JobHandlers, JobRetryPolicy,
    Supervisor, SupervisorConfig,
};
use shelfsync_store::{Enqueued, Job, JobState, NewJob, Source, Timestamp};
use tokio::sync::broadcast;

const WAIT: Duration = Duration::from_secs(10);
const UNREACHABLE: &str = "Could not reach the store: connection refused";

async fn open(dir: &tempfile::TempDir) -> Cache {
    Cache::open(dir.path().join("shop.sqlite3")).await.unwrap()
}

fn new_job(kind: &str, payload: Value) -> NewJob {
    NewJob {
        kind: kind.into(),
        payload,
        dedupe_key: None,
        run_at: None,
    }
}

/// Short real waits; a long idle sleep, so anything prompt is due to a wake-up or the due
/// time, never to polling.
fn config(concurrency: usize) -> SupervisorConfig {
    SupervisorConfig {
        concurrency,
        retry: JobRetryPolicy {
            max_attempts: 3,
            base: Duration::from_millis(20),
            cap: Duration::from_millis(80),
        },
        shutdown_grace: Duration::from_secs(5),
        max_idle: Duration::from_secs(30),
        jitter_seed: Some(7),
        ..SupervisorConfig::default()
    }
}

async fn job(cache: &Cache, id: i64) -> Option<Job> {
    cache.read(move |r| r.job(id)).await.unwrap()
}

/// Waits until job `id` is in `state`.
async fn wait_for(cache: &Cache, id: i64, state: JobState) -> Job {
    let start = Instant::now();
    loop {
        let current = job(cache, id).await;
        if let Some(job) = &current
            && job.state == state
        {
            return job.clone();
        }
        assert!(
            start.elapsed() < WAIT,
            "job {id} never became {state}; it is {current:?}"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// Collects events until one matches `done`; returns all of them, the match last.
async fn events_until(
    rx: &mut broadcast::Receiver<EngineEvent>,
    done: impl Fn(&EngineEvent) -> bool,
) -> Vec<EngineEvent> {
    let mut seen = Vec::new();
    loop {
        let event = tokio::time::timeout(WAIT, rx.recv())
            .await
            .unwrap_or_else(|_| panic!("the expected event never came; saw {seen:#?}"))
            .unwrap();
        let stop = done(&event);
        seen.push(event);
        if stop {
            return seen;
        }
    }
}

/// The states job `id` went through, according to the events.
fn states_of(events: &[EngineEvent], id: i64) -> Vec<(JobState, u32)> {
    events
        .iter()
        .filter_map(|e| match e {
            EngineEvent::Job {
                id: i,
                state,
                attempts,
                ..
            } if *i == id => Some((*state, *attempts)),
            _ => None,
        })
        .collect()
}

fn is_job(event: &EngineEvent, id: i64, state: JobState) -> bool {
    matches!(event, EngineEvent::Job { id: i, state: s, .. } if *i == id && *s == state)
}

/// A handler that counts its calls and then does `then`.
fn counting<F>(
    calls: &Arc<AtomicUsize>,
    then: F,
) -> impl Fn(JobContext) -> std::future::Ready<Result<(), JobError>> + use<F>
where
    F: Fn(usize, &JobContext) -> Result<(), JobError> + Send + Sync + 'static,
{
    let calls = calls.clone();
    move |cx: JobContext| {
        let n = calls.fetch_add(1, Ordering::SeqCst) + 1;
        std::future::ready(then(n, &cx))
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_job_runs_once_with_its_payload_and_every_state_change_is_published() {
    let dir = tempfile::tempdir().unwrap();
    let cache = open(&dir).await;
    let events = Events::new();
    let mut rx = events.subscribe();
    let payloads = Arc::new(Mutex::new(Vec::new()));
    let seen = payloads.clone();
    let handlers = JobHandlers::new().with("sync.incremental", move |cx: JobContext| {
        seen.lock().unwrap().push(cx.job.payload.clone());
        async { Ok(()) }
    });
    let supervisor = Supervisor::start(cache.clone(), events.clone(), handlers, config(2));

    let payload = json!({ "since": "2026-11-24T00:00:00Z" });
    let id = supervisor
        .enqueue(new_job("sync.incremental", payload.clone()))
        .await
        .unwrap()
        .id();
    let seen = events_until(
        &mut rx,
        |e| matches!(e, EngineEvent::Queue { counts } if counts.done == 1),
    )
    .await;

    assert_eq!(
        states_of(&seen, id),
        [
            (JobState::Pending, 0),
            (JobState::Running, 1),
            (JobState::Done, 1)
        ]
    );
    let stored = job(&cache, id).await.unwrap();
    assert_eq!((stored.state, stored.attempts), (JobState::Done, 1));
    assert_eq!(stored.last_error, None);
    assert_eq!(*payloads.lock().unwrap(), [payload]);
    let counts = supervisor.counts().await.unwrap();
    assert_eq!((counts.pending, counts.running, counts.done), (0, 0, 1));

    supervisor.shutdown().await;
    assert!(supervisor.is_stopped());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn enqueueing_a_duplicate_returns_the_pending_job_and_runs_nothing_twice() {
    let dir = tempfile::tempdir().unwrap();
    let cache = open(&dir).await;
    let calls = Arc::new(AtomicUsize::new(0));
    let handlers = JobHandlers::new().with("sync.incremental", counting(&calls, |_, _| Ok(())));
    let supervisor = Supervisor::start(cache.clone(), Events::new(), handlers, config(2));

    let later = NewJob {
        dedupe_key: Some("sync.incremental".into()),
        run_at: Some(Timestamp::from_millisecond(Timestamp::now().as_millisecond() + 300).unwrap()),
        ..new_job("sync.incremental", json!({}))
    };
    let first = supervisor.enqueue(later.clone()).await.unwrap();
    let second = supervisor.enqueue(later).await.unwrap();
    assert!(matches!(first, Enqueued::New(_)), "{first:?}");
    assert_eq!(second, Enqueued::Duplicate(first.id()));

    wait_for(&cache, first.id(), JobState::Done).await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(calls.load(Ordering::SeqCst), 1);
    supervisor.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_retryable_failure_backs_off_on_the_jittered_schedule_then_succeeds() {
    let dir = tempfile::tempdir().unwrap();
    let cache = open(&dir).await;
    let events = Events::new();
    let mut rx = events.subscribe();
    let policy = JobRetryPolicy {
        max_attempts: 5,
        base: Duration::from_millis(100),
        cap: Duration::from_millis(400),
    };
    let seed = 11;
    let schedule = policy.schedule(seed);

    // (attempt, the job as claimed, when that attempt failed)
    let attempts: Arc<Mutex<Vec<(Job, Timestamp)>>> = Arc::default();
    let log = attempts.clone();
    let handlers = JobHandlers::new().with("webhook.process", move |cx: JobContext| {
        let mut log = log.lock().unwrap();
        log.push((cx.job.clone(), Timestamp::now()));
        let result = if log.len() < 3 {
            Err(JobError::retryable(UNREACHABLE))
        } else {
            Ok(())
        };
        async move { result }
    });
    let supervisor = Supervisor::start(
        cache.clone(),
        events.clone(),
        handlers,
        SupervisorConfig {
            retry: policy.clone(),
            jitter_seed: Some(seed),
            ..config(1)
        },
    );

    let id = supervisor
        .enqueue(new_job("webhook.process", json!({ "inbox_id": 4 })))
        .await
        .unwrap()
        .id();
    let done = wait_for(&cache, id, JobState::Done).await;
    assert_eq!(done.attempts, 3);

    let attempts = attempts.lock().unwrap().clone();
    assert_eq!(attempts.len(), 3);
    for n in 1..3 {
        let (_, failed_at) = &attempts[n - 1];
        let (claimed, _) = &attempts[n];
        assert_eq!(claimed.attempts as usize, n + 1);
        assert_eq!(claimed.last_error.as_deref(), Some(UNREACHABLE));
        // The next run was pushed forward by the seeded jitter, within the policy's bound…
        let pushed = claimed.next_run_at.as_millisecond() - failed_at.as_millisecond();
        let expected = schedule[n - 1].as_millis() as i64;
        let bound = policy.bound(n as u32).as_millis() as i64;
        assert!(expected <= bound);
        assert!(
            (expected - 1..=expected + 400).contains(&pushed),
            "after attempt {n}: pushed {pushed} ms, schedule says {expected} ms"
        );
        // …the job did not run before then, and ran promptly once due (no polling).
        let ran = claimed.updated_at.as_millisecond();
        let due = claimed.next_run_at.as_millisecond();
        assert!(ran >= due, "attempt {} ran {} ms early", n + 1, due - ran);
        assert!(
            ran - due < 1000,
            "attempt {} ran {} ms late",
            n + 1,
            ran - due
        );
    }

    let seen = events_until(&mut rx, |e| is_job(e, id, JobState::Done)).await;
    let retries: Vec<(u32, Option<String>)> = seen
        .iter()
        .filter_map(|e| match e {
            EngineEvent::Job {
                id: i,
                state: JobState::Pending,
                attempts,
                last_error,
                ..
            } if *i == id => Some((*attempts, last_error.clone())),
            _ => None,
        })
        .collect();
    assert_eq!(
        retries,
        [
            (0, None),
            (1, Some(UNREACHABLE.to_owned())),
            (2, Some(UNREACHABLE.to_owned()))
        ]
    );
    assert!(
        !seen
            .iter()
            .any(|e| matches!(e, EngineEvent::Attention { .. })),
        "a job that recovered needs nobody"
    );
    supervisor.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_its_retry_budget_a_job_fails_and_asks_for_a_person() {
    let dir = tempfile::tempdir().unwrap();
    let cache = open(&dir).await;
    let events = Events::new();
    let mut rx = events.subscribe();
    let calls = Arc::new(AtomicUsize::new(0));
    let handlers = JobHandlers::new().with(
        "sync.incremental",
        counting(&calls, |_, _| Err(JobError::retryable(UNREACHABLE))),
    );
    let supervisor = Supervisor::start(cache.clone(), events.clone(), handlers, config(2));

    let id = supervisor
        .enqueue(new_job("sync.incremental", json!({})))
        .await
        .unwrap()
        .id();
    let seen = events_until(&mut rx, |e| {
        matches!(e, EngineEvent::Attention { attention: Attention::JobFailed { job_id, .. } } if *job_id == id)
    })
    .await;

    let failed = job(&cache, id).await.unwrap();
    assert_eq!((failed.state, failed.attempts), (JobState::Failed, 3));
    let error = failed.last_error.unwrap();
    assert!(error.starts_with(UNREACHABLE), "{error}");
    assert!(error.contains("gave up after 3 attempts"), "{error}");
    let Some(EngineEvent::Attention {
        attention: Attention::JobFailed {
            what, error: told, ..
        },
    }) = seen.last()
    else {
        unreachable!()
    };
    assert_eq!(what, "sync.incremental");
    assert_eq!(told, &error);
    assert!(seen.iter().any(|e| is_job(e, id, JobState::Failed)));

    // It waits for a person: no further attempts.
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(calls.load(Ordering::SeqCst), 3);
    assert_eq!(supervisor.failed_jobs().await.unwrap().len(), 1);
    supervisor.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_permanent_failure_fails_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let cache = open(&dir).await;
    let calls = Arc::new(AtomicUsize::new(0));
    let handlers = JobHandlers::new().with(
        "inventory.set",
        counting(&calls, |_, cx| {
            cx.payload::<u32>()?;
            Ok(())
        }),
    );
    let supervisor = Supervisor::start(cache.clone(), Events::new(), handlers, config(2));
    let id = supervisor
        .enqueue(new_job("inventory.set", json!({ "not": "a number" })))
        .await
        .unwrap()
        .id();
    let failed = wait_for(&cache, id, JobState::Failed).await;
    assert_eq!(failed.attempts, 1);
    let error = failed.last_error.unwrap();
    assert!(error.contains("could not be read"), "{error}");
    assert!(!error.contains("gave up"), "{error}");
    assert_eq!(calls.load(Ordering::SeqCst), 1);
    supervisor.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_person_can_discard_retry_one_or_retry_all_failed_jobs() {
    let dir = tempfile::tempdir().unwrap();
    let cache = open(&dir).await;
    let events = Events::new();
    let mut rx = events.subscribe();
    let broken = Arc::new(AtomicBool::new(true));
    let is_broken = broken.clone();
    let calls = Arc::new(AtomicUsize::new(0));
    let handlers = JobHandlers::new().with(
        "inventory.set",
        counting(&calls, move |_, _| {
            if is_broken.load(Ordering::SeqCst) {
                Err(JobError::permanent(
                    "The store refused the change: location is inactive",
                ))
            } else {
                Ok(())
            }
        }),
    );
    let supervisor = Supervisor::start(cache.clone(), events.clone(), handlers, config(2));

    let mut ids = Vec::new();
    for sku in ["TEE-1", "TEE-2", "TEE-3", "TEE-4"] {
        let enqueued = supervisor
            .enqueue(new_job("inventory.set", json!({ "sku": sku })))
            .await
            .unwrap();
        ids.push(enqueued.id());
    }
    // Each failure asks for a person once.
    let asked = AtomicUsize::new(0);
    let seen = events_until(&mut rx, |e| {
        matches!(e, EngineEvent::Attention { .. }) && asked.fetch_add(1, Ordering::SeqCst) == 3
    })
    .await;
    for &id in &ids {
        assert!(seen.iter().any(|e| is_job(e, id, JobState::Failed)));
    }
    assert_eq!(supervisor.failed_jobs().await.unwrap().len(), 4);
    broken.store(false, Ordering::SeqCst);
    let calls_before = calls.load(Ordering::SeqCst);
    assert_eq!(calls_before, 4);
    assert!(rx.try_recv().is_err(), "nothing else happened");

    // Discard: gone from the queue, kept in the audit log, totals published.
    supervisor.discard_failed(ids[0]).await.unwrap();
    assert_eq!(job(&cache, ids[0]).await, None);
    let seen = events_until(&mut rx, |e| matches!(e, EngineEvent::Queue { .. })).await;
    assert!(
        matches!(seen.last(), Some(EngineEvent::Queue { counts }) if counts.failed == 3),
        "{seen:?}"
    );
    let id0 = ids[0].to_string();
    let audit = cache.read(move |r| r.audit_for("job", &id0)).await.unwrap();
    assert_eq!(audit.len(), 1);
    assert_eq!(audit[0].source, Source::User);
    assert_eq!(audit[0].after.as_deref(), Some("discarded"));
    assert!(
        audit[0]
            .before
            .as_deref()
            .unwrap()
            .contains("location is inactive"),
        "{audit:?}"
    );

    // Retry one: runs again with a fresh budget; the others keep waiting.
    supervisor.retry_failed(ids[1]).await.unwrap();
    let done = wait_for(&cache, ids[1], JobState::Done).await;
    assert_eq!(done.attempts, 1, "a person's retry starts a fresh budget");
    let seen = events_until(&mut rx, |e| is_job(e, ids[1], JobState::Done)).await;
    assert_eq!(
        states_of(&seen, ids[1]),
        [
            (JobState::Pending, 0),
            (JobState::Running, 1),
            (JobState::Done, 1)
        ]
    );
    for &id in &ids[2..] {
        assert_eq!(job(&cache, id).await.unwrap().state, JobState::Failed);
    }

    // Retry all: the rest run.
    assert_eq!(supervisor.retry_all_failed().await.unwrap(), 2);
    for &id in &ids[2..] {
        wait_for(&cache, id, JobState::Done).await;
    }
    assert_eq!(calls.load(Ordering::SeqCst), calls_before + 3);
    assert!(supervisor.failed_jobs().await.unwrap().is_empty());
    for &id in &ids[1..] {
        let key = id.to_string();
        let audit = cache.read(move |r| r.audit_for("job", &key)).await.unwrap();
        assert_eq!(audit.len(), 1, "job {id}: {audit:?}");
        assert_eq!(audit[0].source, Source::User);
        assert_eq!(
            (audit[0].before.as_deref(), audit[0].after.as_deref()),
            (Some("failed"), Some("pending"))
        );
    }

    // Only failed jobs can be retried or discarded.
    let err = supervisor.retry_failed(ids[1]).await.unwrap_err();
    assert!(err.to_string().contains(&ids[1].to_string()), "{err}");
    assert!(supervisor.discard_failed(ids[1]).await.is_err());
    assert_eq!(supervisor.retry_all_failed().await.unwrap(), 0);
    supervisor.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_more_jobs_run_at_once_than_allowed() {
    let dir = tempfile::tempdir().unwrap();
    let cache = open(&dir).await;
    let events = Events::new();
    let mut rx = events.subscribe();
    let now = Arc::new(AtomicUsize::new(0));
    let most = Arc::new(AtomicUsize::new(0));
    let (n, m) = (now.clone(), most.clone());
    let handlers = JobHandlers::new().with("sync.step", move |_cx: JobContext| {
        let (now, most) = (n.clone(), m.clone());
        async move {
            let running = now.fetch_add(1, Ordering::SeqCst) + 1;
            most.fetch_max(running, Ordering::SeqCst);
            tokio::time::sleep(Duration::from_millis(60)).await;
            now.fetch_sub(1, Ordering::SeqCst);
            Ok(())
        }
    });
    let supervisor = Supervisor::start(cache.clone(), events.clone(), handlers, config(2));

    let started = Instant::now();
    let mut ids = Vec::new();
    for step in 0..6 {
        let enqueued = supervisor
            .enqueue(new_job("sync.step", json!({ "step": step })))
            .await
            .unwrap();
        ids.push(enqueued.id());
    }
    let seen = events_until(
        &mut rx,
        |e| matches!(e, EngineEvent::Queue { counts } if counts.done == 6),
    )
    .await;
    let elapsed = started.elapsed();

    assert_eq!(most.load(Ordering::SeqCst), 2, "two at once, never more");
    assert!(
        elapsed >= Duration::from_millis(180),
        "six 60 ms jobs two at a time take at least 180 ms, took {elapsed:?}"
    );
    let most_running = seen
        .iter()
        .filter_map(|e| match e {
            EngineEvent::Queue { counts } => Some(counts.running),
            _ => None,
        })
        .max();
    assert_eq!(most_running, Some(2));
    for id in ids {
        assert_eq!(job(&cache, id).await.unwrap().state, JobState::Done);
    }
    supervisor.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_lets_the_running_job_finish_and_claims_nothing_more() {
    let dir = tempfile::tempdir().unwrap();
    let cache = open(&dir).await;
    let calls = Arc::new(AtomicUsize::new(0));
    let finished = Arc::new(AtomicUsize::new(0));
    let (c, f) = (calls.clone(), finished.clone());
    let handlers = JobHandlers::new().with("sync.step", move |_cx: JobContext| {
        c.fetch_add(1, Ordering::SeqCst);
        let finished = f.clone();
        async move {
            tokio::time::sleep(Duration::from_millis(300)).await;
            finished.fetch_add(1, Ordering::SeqCst);
            Ok(())
        }
    });
    let supervisor = Supervisor::start(cache.clone(), Events::new(), handlers, config(1));
    let mut ids = Vec::new();
    for step in 0..3 {
        let enqueued = supervisor
            .enqueue(new_job("sync.step", json!({ "step": step })))
            .await
            .unwrap();
        ids.push(enqueued.id());
    }
    wait_for(&cache, ids[0], JobState::Running).await;

    supervisor.shutdown().await;
    assert!(supervisor.is_stopped());
    assert_eq!(
        finished.load(Ordering::SeqCst),
        1,
        "shutdown returned only after the running job finished"
    );
    assert_eq!(job(&cache, ids[0]).await.unwrap().state, JobState::Done);
    for &id in &ids[1..] {
        let waiting = job(&cache, id).await.unwrap();
        assert_eq!((waiting.state, waiting.attempts), (JobState::Pending, 0));
    }

    // Enqueueing still records the job, but nothing runs it any more.
    let late = supervisor
        .enqueue(new_job("sync.step", json!({ "step": 3 })))
        .await
        .unwrap()
        .id();
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(calls.load(Ordering::SeqCst), 1);
    assert_eq!(job(&cache, late).await.unwrap().state, JobState::Pending);
    supervisor.shutdown().await; // a second call returns at once
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_job_still_running_after_the_grace_period_is_interrupted_and_requeued() {
    let dir = tempfile::tempdir().unwrap();
    let cache = open(&dir).await;
    let handlers = JobHandlers::new().with("sync.full", |_cx: JobContext| async {
        std::future::pending::<()>().await;
        Ok(())
    });
    let supervisor = Supervisor::start(
        cache.clone(),
        Events::new(),
        handlers,
        SupervisorConfig {
            shutdown_grace: Duration::from_millis(100),
            ..config(2)
        },
    );
    let id = supervisor
        .enqueue(new_job("sync.full", json!({})))
        .await
        .unwrap()
        .id();
    wait_for(&cache, id, JobState::Running).await;

    let started = Instant::now();
    supervisor.shutdown().await;
    let took = started.elapsed();
    assert!(
        (Duration::from_millis(100)..Duration::from_secs(5)).contains(&took),
        "{took:?}"
    );
    let requeued = job(&cache, id).await.unwrap();
    assert_eq!((requeued.state, requeued.attempts), (JobState::Pending, 1));
    assert!(
        requeued.last_error.unwrap().contains("Interrupted"),
        "a person can see why it did not finish"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_handler_that_watches_for_shutdown_stops_early() {
    let dir = tempfile::tempdir().unwrap();
    let cache = open(&dir).await;
    let handlers = JobHandlers::new().with("sync.full", |cx: JobContext| async move {
        cx.shutdown.cancelled().await;
        Err(JobError::retryable(
            "Stopped at a safe point; will continue",
        ))
    });
    let supervisor = Supervisor::start(
        cache.clone(),
        Events::new(),
        handlers,
        SupervisorConfig {
            shutdown_grace: Duration::from_secs(20),
            ..config(1)
        },
    );
    let id = supervisor
        .enqueue(new_job("sync.full", json!({})))
        .await
        .unwrap()
        .id();
    wait_for(&cache, id, JobState::Running).await;
    let started = Instant::now();
    supervisor.shutdown().await;
    assert!(started.elapsed() < Duration::from_secs(2));
    let stopped = job(&cache, id).await.unwrap();
    assert_eq!(stopped.state, JobState::Pending);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_panicking_handler_fails_only_its_attempt_and_the_pool_keeps_working() {
    let dir = tempfile::tempdir().unwrap();
    let cache = open(&dir).await;
    let events = Events::new();
    let mut rx = events.subscribe();
    let calls = Arc::new(AtomicUsize::new(0));
    let c = calls.clone();
    let handlers = JobHandlers::new()
        .with("webhook.process", move |_cx: JobContext| {
            let first = c.fetch_add(1, Ordering::SeqCst) == 0;
            async move {
                if first {
                    panic!("index out of bounds");
                }
                Ok(())
            }
        })
        .with("sync.incremental", |_cx: JobContext| async { Ok(()) });
    // One worker slot: if the panic took it down, nothing else would ever run.
    let supervisor = Supervisor::start(cache.clone(), events.clone(), handlers, config(1));

    let flaky = supervisor
        .enqueue(new_job("webhook.process", json!({})))
        .await
        .unwrap()
        .id();
    let steady = supervisor
        .enqueue(new_job("sync.incremental", json!({})))
        .await
        .unwrap()
        .id();
    let done = wait_for(&cache, flaky, JobState::Done).await;
    assert_eq!(
        done.attempts, 2,
        "the panic counted as one retryable attempt"
    );
    wait_for(&cache, steady, JobState::Done).await;

    let seen = events_until(&mut rx, |e| is_job(e, flaky, JobState::Done)).await;
    let after_panic = seen.iter().find_map(|e| match e {
        EngineEvent::Job {
            id,
            state: JobState::Pending,
            attempts: 1,
            last_error,
            ..
        } if *id == flaky => last_error.clone(),
        _ => None,
    });
    let after_panic = after_panic.expect("the panic was recorded as a failed attempt");
    assert!(after_panic.contains("internal error"), "{after_panic}");
    assert!(after_panic.contains("index out of bounds"), "{after_panic}");

    // The pool still takes new work.
    let later = supervisor
        .enqueue(new_job("sync.incremental", json!({})))
        .await
        .unwrap()
        .id();
    wait_for(&cache, later, JobState::Done).await;
    supervisor.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_job_of_an_unknown_kind_fails_at_once_with_a_clear_message() {
    let dir = tempfile::tempdir().unwrap();
    let cache = open(&dir).await;
    let events = Events::new();
    let mut rx = events.subscribe();
    let handlers = JobHandlers::new().with("sync.incremental", |_cx: JobContext| async { Ok(()) });
    let supervisor = Supervisor::start(cache.clone(), events.clone(), handlers, config(2));

    let id = supervisor
        .enqueue(new_job("report.weekly", json!({})))
        .await
        .unwrap()
        .id();
    let seen = events_until(&mut rx, |e| matches!(e, EngineEvent::Attention { .. })).await;
    let failed = job(&cache, id).await.unwrap();
    assert_eq!((failed.state, failed.attempts), (JobState::Failed, 1));
    let error = failed.last_error.unwrap();
    assert!(error.contains("\"report.weekly\""), "{error}");
    assert!(error.contains("Discard it"), "{error}");
    assert!(matches!(
        seen.last(),
        Some(EngineEvent::Attention { attention: Attention::JobFailed { job_id, what, .. } })
            if *job_id == id && what == "report.weekly"
    ));

    let known = supervisor
        .enqueue(new_job("sync.incremental", json!({})))
        .await
        .unwrap()
        .id();
    wait_for(&cache, known, JobState::Done).await;
    supervisor.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_workers_wake_at_once_for_new_work_and_on_time_for_scheduled_work() {
    let dir = tempfile::tempdir().unwrap();
    let cache = open(&dir).await;
    let ran_at: Arc<Mutex<Vec<(i64, Timestamp)>>> = Arc::default();
    let log = ran_at.clone();
    let handlers = JobHandlers::new().with("sync.incremental", move |cx: JobContext| {
        log.lock().unwrap().push((cx.job.id, Timestamp::now()));
        async { Ok(()) }
    });
    // config() never polls more often than every 30 s.
    let supervisor = Supervisor::start(cache.clone(), Events::new(), handlers, config(2));
    tokio::time::sleep(Duration::from_millis(100)).await; // let it go idle

    let enqueued_at = Timestamp::now();
    let scheduled_for = Timestamp::from_millisecond(enqueued_at.as_millisecond() + 400).unwrap();
    let scheduled = supervisor
        .enqueue(NewJob {
            run_at: Some(scheduled_for),
            ..new_job("sync.incremental", json!({}))
        })
        .await
        .unwrap()
        .id();
    let now = supervisor
        .enqueue(new_job("sync.incremental", json!({})))
        .await
        .unwrap()
        .id();
    wait_for(&cache, scheduled, JobState::Done).await;

    let ran_at = ran_at.lock().unwrap().clone();
    let when = |id: i64| {
        ran_at
            .iter()
            .find(|(i, _)| *i == id)
            .map(|(_, at)| at.as_millisecond())
            .unwrap()
    };
    let prompt = when(now) - enqueued_at.as_millisecond();
    assert!(prompt < 1000, "new work waited {prompt} ms");
    let late = when(scheduled) - scheduled_for.as_millisecond();
    assert!(
        (0..1000).contains(&late),
        "scheduled work ran {late} ms after its time"
    );
    supervisor.shutdown().await;
}

/// A crash while a job runs: the process dies (the runtime and everything in it are dropped,
/// no shutdown), the database is opened again, and the job runs exactly once more.
#[test]
fn a_job_running_when_the_process_died_runs_again_after_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("shop.sqlite3");
    let runtime = || {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap()
    };

    let first_runs = Arc::new(AtomicUsize::new(0));
    let id = {
        let rt = runtime();
        let (calls, started) = (first_runs.clone(), first_runs.clone());
        let (supervisor, cache, id) = rt.block_on(async {
            let cache = Cache::open(&path).await.unwrap();
            let handlers = JobHandlers::new().with("sync.full", move |_cx: JobContext| {
                calls.fetch_add(1, Ordering::SeqCst);
                std::future::pending()
            });
            let supervisor = Supervisor::start(cache.clone(), Events::new(), handlers, config(2));
            let id = supervisor
                .enqueue(new_job("sync.full", json!({ "store": "demo" })))
                .await
                .unwrap()
                .id();
            wait_for(&cache, id, JobState::Running).await;
            while started.load(Ordering::SeqCst) == 0 {
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
            (supervisor, cache, id)
        });
        drop(rt); // the crash
        drop(supervisor);
        drop(cache);
        id
    };
    assert_eq!(first_runs.load(Ordering::SeqCst), 1);

    let rt = runtime();
    let second_runs = Arc::new(AtomicUsize::new(0));
    let calls = second_runs.clone();
    rt.block_on(async {
        let cache = Cache::open(&path).await.unwrap();
        let requeued = job(&cache, id).await.unwrap();
        assert_eq!(
            (requeued.state, requeued.attempts),
            (JobState::Pending, 1),
            "the store put the abandoned job back"
        );
        let handlers = JobHandlers::new().with(
            "sync.full",
            counting(&calls, |_, cx| {
                assert_eq!(cx.job.payload, json!({ "store": "demo" }));
                Ok(())
            }),
        );
        let supervisor = Supervisor::start(cache.clone(), Events::new(), handlers, config(2));
        let done = wait_for(&cache, id, JobState::Done).await;
        assert_eq!(done.attempts, 2);
        tokio::time::sleep(Duration::from_millis(200)).await;
        supervisor.shutdown().await;
    });
    assert_eq!(second_runs.load(Ordering::SeqCst), 1, "exactly once more");
    assert_eq!(first_runs.load(Ordering::SeqCst), 1);
}

#[test]
fn the_retry_schedule_doubles_up_to_its_cap_with_seeded_jitter() {
    let policy = JobRetryPolicy {
        max_attempts: 8,
        base: Duration::from_millis(100),
        cap: Duration::from_secs(2),
    };
    assert_eq!(policy.bound(1), Duration::from_millis(100));
    assert_eq!(policy.bound(2), Duration::from_millis(200));
    assert_eq!(policy.bound(4), Duration::from_millis(800));
    assert_eq!(policy.bound(7), Duration::from_secs(2));
    assert_eq!(policy.bound(u32::MAX), Duration::from_secs(2));
    let schedule = policy.schedule(3);
    assert_eq!(schedule.len(), 7, "waits between eight attempts");
    for (i, wait) in schedule.iter().enumerate() {
        assert!(*wait <= policy.bound(i as u32 + 1), "wait {i}: {wait:?}");
    }
    assert_eq!(policy.schedule(3), schedule, "a seed fixes the schedule");
    assert_ne!(policy.schedule(4), schedule, "the jitter varies");
    assert!(policy.allows_another(7));
    assert!(!policy.allows_another(8));

    let defaults = JobRetryPolicy::default();
    let total: Duration = (1..defaults.max_attempts).map(|a| defaults.bound(a)).sum();
    assert!(
        total >= Duration::from_secs(5 * 60) && total <= Duration::from_secs(60 * 60),
        "the default budget rides out a short outage and gives up within the hour: {total:?}"
    );
}

#[test]
fn shopify_errors_keep_their_words_and_their_retryability() {
    let offline = shelfsync_shopify::ShopifyError::Network {
        shop: "demo.myshopify.com".into(),
        detail: "connection refused".into(),
    };
    let refused = shelfsync_shopify::ShopifyError::Unauthorized {
        shop: "demo.myshopify.com".into(),
        reason: "token revoked".into(),
    };
    let (offline_text, refused_text) = (offline.to_string(), refused.to_string());
    let offline = JobError::from(offline);
    let refused = JobError::from(refused);
    assert!(offline.is_retryable());
    assert_eq!(offline.message(), offline_text);
    assert!(!refused.is_retryable());
    assert_eq!(refused.to_string(), refused_text);
}
