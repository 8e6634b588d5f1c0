//! The durable work queue: claiming, outcomes, people's decisions, restarts.

mod common;

use common::*;
use serde_json::json;
use shelfsync_store::{Database, Enqueued, Error, JobState, NewJob, Source};

fn job(kind: &str, key: Option<&str>) -> NewJob {
    NewJob {
        kind: kind.into(),
        payload: json!({ "resource": "products", "since": "2026-02-01T00:00:00Z" }),
        dedupe_key: key.map(Into::into),
        run_at: None,
    }
}

#[test]
fn jobs_run_in_due_order_and_future_jobs_wait() {
    let store = TestStore::new();
    let mut db = store.open();
    let later = db
        .enqueue(&NewJob {
            run_at: Some(ts("2026-03-01T09:10:00Z")),
            ..job("sync.orders", None)
        })
        .unwrap()
        .id();
    let first = db.enqueue(&job("sync.products", None)).unwrap().id();
    let second = db.enqueue(&job("webhook.process", None)).unwrap().id();

    let claimed = db.claim_next_job().unwrap().unwrap();
    assert_eq!(claimed.id, first);
    assert_eq!(claimed.state, JobState::Running);
    assert_eq!(claimed.attempts, 1);
    assert_eq!(claimed.payload["resource"], "products");
    assert_eq!(db.claim_next_job().unwrap().unwrap().id, second);
    assert!(
        db.claim_next_job().unwrap().is_none(),
        "the third is not due yet"
    );
    assert_eq!(db.next_due_at().unwrap(), Some(ts("2026-03-01T09:10:00Z")));

    store.clock.advance_secs(600);
    assert_eq!(db.claim_next_job().unwrap().unwrap().id, later);
}

#[test]
fn a_pending_job_with_the_same_dedupe_key_is_not_queued_twice() {
    let store = TestStore::new();
    let mut db = store.open();
    let first = db
        .enqueue(&job("sync.products", Some("sync:products")))
        .unwrap();
    assert!(matches!(first, Enqueued::New(_)));
    let again = db
        .enqueue(&job("sync.products", Some("sync:products")))
        .unwrap();
    assert_eq!(again, Enqueued::Duplicate(first.id()));

    // Once it runs, a new request must be queued: the running job may have
    // read the store before the change that triggered the new request.
    db.claim_next_job().unwrap().unwrap();
    let after_start = db
        .enqueue(&job("sync.products", Some("sync:products")))
        .unwrap();
    assert!(matches!(after_start, Enqueued::New(id) if id != first.id()));
}

#[test]
fn outcomes_done_retry_later_and_failed_are_recorded() {
    let store = TestStore::new();
    let mut db = store.open();
    let a = db.enqueue(&job("a", None)).unwrap().id();
    let b = db.enqueue(&job("b", None)).unwrap().id();
    let c = db.enqueue(&job("c", None)).unwrap().id();
    for _ in 0..3 {
        db.claim_next_job().unwrap().unwrap();
    }
    db.mark_job_done(a).unwrap();
    db.reschedule_job(
        b,
        "Shopify did not answer in time; trying again shortly.",
        ts("2026-03-01T09:05:00Z"),
    )
    .unwrap();
    db.mark_job_failed(c, "Shopify refused the change: SKU is already taken.")
        .unwrap();

    let reader = db.reader().unwrap();
    let counts = reader.job_counts().unwrap();
    assert_eq!(
        (counts.pending, counts.running, counts.done, counts.failed),
        (1, 0, 1, 1)
    );
    let b_job = reader.job(b).unwrap().unwrap();
    assert_eq!(b_job.state, JobState::Pending);
    assert_eq!(b_job.next_run_at, ts("2026-03-01T09:05:00Z"));
    assert_eq!(
        b_job.last_error.as_deref(),
        Some("Shopify did not answer in time; trying again shortly.")
    );
    let failed = reader.failed_jobs().unwrap();
    assert_eq!(failed.len(), 1);
    assert_eq!(
        failed[0].last_error.as_deref(),
        Some("Shopify refused the change: SKU is already taken.")
    );

    // The retried job counts its second attempt.
    store.clock.advance_secs(300);
    let again = db.claim_next_job().unwrap().unwrap();
    assert_eq!((again.id, again.attempts), (b, 2));

    // Outcomes only apply to running jobs.
    let err = db.mark_job_done(a).unwrap_err();
    assert!(
        matches!(err, Error::JobState { id, actual: JobState::Done, .. } if id == a),
        "{err:?}"
    );
    assert!(matches!(
        db.mark_job_done(12345).unwrap_err(),
        Error::NoSuchJob { id: 12345 }
    ));
}

#[test]
fn a_person_retries_one_retries_all_or_discards_and_each_is_audited() {
    let store = TestStore::new();
    let mut db = store.open();
    let ids: Vec<i64> = (0..4)
        .map(|i| db.enqueue(&job(&format!("write.{i}"), None)).unwrap().id())
        .collect();
    for &id in &ids {
        db.claim_next_job().unwrap().unwrap();
        db.mark_job_failed(id, "Shopify says the location was deleted.")
            .unwrap();
    }
    store.clock.advance_secs(3600);

    db.retry_failed_job(ids[0]).unwrap();
    let retried = db.reader().unwrap().job(ids[0]).unwrap().unwrap();
    assert_eq!(retried.state, JobState::Pending);
    assert_eq!(retried.attempts, 0, "a fresh retry budget");
    assert_eq!(retried.next_run_at, ts("2026-03-01T10:00:00Z"), "runs now");

    db.discard_failed_job(ids[1]).unwrap();
    assert!(db.reader().unwrap().job(ids[1]).unwrap().is_none());

    assert_eq!(db.retry_all_failed_jobs().unwrap(), 2);
    let reader = db.reader().unwrap();
    assert!(reader.failed_jobs().unwrap().is_empty());
    assert_eq!(reader.job_counts().unwrap().pending, 3);

    let audit = reader.recent_audit(10).unwrap();
    let mut entries: Vec<_> = audit
        .iter()
        .map(|e| {
            assert_eq!(e.entity, "job");
            assert_eq!(e.source, Source::User);
            assert_eq!(e.at, ts("2026-03-01T10:00:00Z"));
            (e.entity_id.clone(), e.after.clone().unwrap())
        })
        .collect();
    entries.sort();
    let mut expected = vec![
        (ids[0].to_string(), "pending".to_owned()),
        (ids[1].to_string(), "discarded".to_owned()),
        (ids[2].to_string(), "pending".to_owned()),
        (ids[3].to_string(), "pending".to_owned()),
    ];
    expected.sort();
    assert_eq!(entries, expected);
    let discarded = reader.audit_for("job", &ids[1].to_string()).unwrap();
    assert_eq!(
        discarded[0].before.as_deref(),
        Some("failed (write.1): Shopify says the location was deleted.")
    );

    // Only failed jobs wait for a person.
    let err = db.retry_failed_job(ids[0]).unwrap_err();
    assert!(
        matches!(
            err,
            Error::JobState {
                actual: JobState::Pending,
                ..
            }
        ),
        "{err:?}"
    );
    assert!(err.to_string().contains("cannot be retried"), "{err}");
}

#[test]
fn a_job_left_running_by_a_dead_process_runs_again_after_restart() {
    let store = TestStore::new();
    let mut db = store.open();
    let interrupted = db.enqueue(&job("sync.full", None)).unwrap().id();
    let finished = db.enqueue(&job("sync.products", None)).unwrap().id();
    let twin_running = db
        .enqueue(&job("sync.levels", Some("levels")))
        .unwrap()
        .id();
    let waiting = db
        .enqueue(&NewJob {
            run_at: Some(ts("2026-03-01T10:00:00Z")),
            ..job("sync.orders", None)
        })
        .unwrap()
        .id();
    for expected in [interrupted, finished, twin_running] {
        assert_eq!(db.claim_next_job().unwrap().unwrap().id, expected);
    }
    db.mark_job_done(finished).unwrap();
    let twin_pending = db
        .enqueue(&job("sync.levels", Some("levels")))
        .unwrap()
        .id();
    assert_ne!(twin_pending, twin_running);

    // The process dies with two jobs running: all of their state is in the file.
    drop(db);

    let db = store.open();
    assert_eq!(db.requeued_on_open(), 1);
    let reader = db.reader().unwrap();
    let job = reader.job(interrupted).unwrap().unwrap();
    assert_eq!(job.state, JobState::Pending);
    assert_eq!(job.attempts, 1, "the interrupted attempt still counts");
    assert!(
        reader.job(twin_running).unwrap().is_none(),
        "its pending twin does the same work"
    );
    assert_eq!(
        reader.job(twin_pending).unwrap().unwrap().state,
        JobState::Pending
    );
    assert_eq!(
        reader.job(waiting).unwrap().unwrap().state,
        JobState::Pending
    );
    assert_eq!(reader.job(finished).unwrap().unwrap().state, JobState::Done);
    assert_eq!(reader.job_counts().unwrap().running, 0);
}

#[test]
fn a_second_writer_for_the_same_store_is_refused_with_a_clear_message() {
    let store = TestStore::new();
    let db = store.open();
    let err = Database::open(&store.path).unwrap_err();
    assert!(matches!(err, Error::AlreadyOpen { .. }), "{err:?}");
    assert!(
        err.to_string().contains("already running for this store"),
        "{err}"
    );
    drop(db);
    Database::open(&store.path).unwrap();
}

#[test]
fn a_job_enqueued_in_a_rolled_back_transaction_never_existed() {
    let store = TestStore::new();
    let mut db = store.open();
    let tx = db.write().unwrap();
    tx.enqueue(&job("webhook.process", None)).unwrap();
    tx.rollback().unwrap();
    assert!(db.claim_next_job().unwrap().is_none());
}

#[test]
fn a_write_blocked_by_another_connection_reports_busy_and_keeps_the_data() {
    let store = TestStore::new();
    let mut db = Database::open_with(
        &store.path,
        shelfsync_store::OpenOptions {
            busy_timeout: std::time::Duration::from_millis(50),
            ..store.clock.options()
        },
    )
    .unwrap();
    let kept = db.enqueue(&job("kept", None)).unwrap().id();

    // Some other program (a backup tool, a database browser) holds the write lock.
    let other = rusqlite::Connection::open(&store.path).unwrap();
    other.execute_batch("BEGIN IMMEDIATE").unwrap();
    let err = db.enqueue(&job("blocked", None)).unwrap_err();
    assert!(matches!(err, Error::Busy), "{err:?}");
    assert!(err.to_string().contains("try again"), "{err}");
    other.execute_batch("ROLLBACK").unwrap();

    assert!(db.enqueue(&job("after", None)).is_ok());
    let reader = db.reader().unwrap();
    assert!(reader.job(kept).unwrap().is_some());
    assert_eq!(reader.job_counts().unwrap().pending, 2);
}

#[test]
fn the_writer_and_readers_can_move_to_worker_threads() {
    fn send<T: Send>() {}
    send::<Database>();
    send::<shelfsync_store::Reader>();
}

#[test]
fn a_process_killed_with_two_twins_running_opens_again_with_one_of_them_waiting() {
    // Before twins waited for each other, a sync queued while its twin ran could start
    // beside it; then the process died with both `running`. Only one may wait, or the store
    // cannot open at all (a file left so by an earlier version).
    let store = TestStore::new();
    let mut db = store.open();
    let first = db
        .enqueue(&job("sync.incremental", Some("sync")))
        .unwrap()
        .id();
    assert_eq!(db.claim_next_job().unwrap().unwrap().id, first);
    let second = db
        .enqueue(&job("sync.incremental", Some("sync")))
        .unwrap()
        .id();
    drop(db);
    rusqlite::Connection::open(&store.path)
        .unwrap()
        .execute(
            "UPDATE jobs SET state = 'running', attempts = 1 WHERE id = ?1",
            [second],
        )
        .unwrap();

    let db = store.open();
    assert_eq!(db.requeued_on_open(), 1);
    let reader = db.reader().unwrap();
    assert_eq!(reader.job(first).unwrap().unwrap().state, JobState::Pending);
    assert!(
        reader.job(second).unwrap().is_none(),
        "the older twin does the same work"
    );
    let counts = reader.job_counts().unwrap();
    assert_eq!((counts.pending, counts.running), (1, 0));
}

#[test]
fn a_failed_attempt_whose_twin_is_already_waiting_keeps_its_attempts_and_backoff() {
    // The job fails while a twin was queued behind it: only one may wait per key. The failing
    // job stays, with its attempts and its backoff, and the twin (the same work) goes: were
    // the twin kept instead, a sync queued every few seconds would start each failure afresh
    // and never reach the failed list.
    let store = TestStore::new();
    let mut db = store.open();
    let running = db
        .enqueue(&job("sync.incremental", Some("sync")))
        .unwrap()
        .id();
    assert_eq!(db.claim_next_job().unwrap().unwrap().id, running);
    let twin = db
        .enqueue(&job("sync.incremental", Some("sync")))
        .unwrap()
        .id();
    let retry_at = ts("2026-03-01T10:00:05Z");
    db.reschedule_job(running, "The store answered 503", retry_at)
        .unwrap();
    let reader = db.reader().unwrap();
    assert!(reader.job(twin).unwrap().is_none());
    let waiting = reader.job(running).unwrap().unwrap();
    assert_eq!(waiting.state, JobState::Pending);
    assert_eq!(waiting.next_run_at, retry_at);
    assert_eq!(waiting.attempts, 1);
    assert_eq!(
        waiting.last_error.as_deref(),
        Some("The store answered 503")
    );
    let counts = reader.job_counts().unwrap();
    assert_eq!((counts.pending, counts.running), (1, 0));
    // Not due before its backoff, though the twin would have been.
    assert!(db.claim_next_job().unwrap().is_none());
}

#[test]
fn a_twin_waits_while_its_twin_runs_and_other_jobs_go_first() {
    // Syncs are queued every few seconds with one dedupe key. If each could start while the
    // one before still ran, they would fill every worker, waiting on each other, and the
    // webhooks behind them would wait too.
    let store = TestStore::new();
    let mut db = store.open();
    let sync = db
        .enqueue(&job("sync.incremental", Some("sync")))
        .unwrap()
        .id();
    assert_eq!(db.claim_next_job().unwrap().unwrap().id, sync);
    let next_sync = db
        .enqueue(&job("sync.incremental", Some("sync")))
        .unwrap()
        .id();
    let webhook = db.enqueue(&job("webhook.process", None)).unwrap().id();
    assert_eq!(db.claim_next_job().unwrap().unwrap().id, webhook);
    assert!(db.claim_next_job().unwrap().is_none(), "the twin waits");
    assert_eq!(
        db.next_due_at().unwrap(),
        None,
        "nothing is due until the twin ends"
    );
    db.mark_job_done(sync).unwrap();
    assert!(db.next_due_at().unwrap().is_some());
    assert_eq!(db.claim_next_job().unwrap().unwrap().id, next_sync);
}
