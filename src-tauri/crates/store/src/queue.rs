//! The durable work queue.
//!
//! Jobs live in the `jobs` table so that work survives restarts. A worker
//! claims the next due job atomically ([`Database::claim_next_job`]: one
//! `UPDATE ... RETURNING` inside a write transaction, so two workers can never
//! claim the same job), then reports the outcome: done, retry later, or
//! failed. A failed job waits for a person, who can retry it, retry all of
//! them, or discard it; each of those is written to the audit log with
//! source `user`.
//!
//! A job that was `running` when its process died is put back to `pending`
//! when the database is next opened. Only one process can hold the writer
//! (see [`Database::open`]), so a `running` job at that point really was
//! abandoned. Jobs therefore run at least once and must be safe to repeat.

use jiff::Timestamp;
use rusqlite::{OptionalExtension, Row, params};

use crate::catalogue::count;
use crate::db::{Database, Reader, WriteTx};
use crate::error::{Error, Result};
use crate::model::{Enqueued, Job, JobCounts, JobState, NewJob, Source};
use crate::sql::{json, timestamp};

const JOB_COLUMNS: &str = "id, kind, payload, state, attempts, next_run_at_ms, last_error, \
                           dedupe_key, created_at_ms, updated_at_ms";

fn job_from(r: &Row<'_>) -> rusqlite::Result<Job> {
    let payload: String = r.get(2)?;
    Ok(Job {
        id: r.get(0)?,
        kind: r.get(1)?,
        payload: json(&payload)?,
        state: r.get(3)?,
        attempts: r.get(4)?,
        next_run_at: timestamp(r.get(5)?)?,
        last_error: r.get(6)?,
        dedupe_key: r.get(7)?,
        created_at: timestamp(r.get(8)?)?,
        updated_at: timestamp(r.get(9)?)?,
    })
}

/// SQL condition on a pending job `p`: no job with its dedupe key is running.
const NO_RUNNING_TWIN: &str = "(p.dedupe_key IS NULL OR NOT EXISTS (
    SELECT 1 FROM jobs AS r WHERE r.state = 'running' AND r.dedupe_key = p.dedupe_key))";

/// Puts jobs left `running` by a dead process back to `pending`. A job whose
/// dedupe key already has a pending twin is dropped instead: the twin does
/// the same work. So is each but the oldest of running jobs sharing a key
/// (one started while its twin still ran), since only one may wait.
pub(crate) fn requeue_abandoned(db: &mut Database) -> Result<usize> {
    let tx = db.write()?;
    tx.conn.execute(
        "DELETE FROM jobs AS j WHERE j.state = 'running' AND j.dedupe_key IS NOT NULL
           AND EXISTS (SELECT 1 FROM jobs AS t WHERE t.dedupe_key = j.dedupe_key
                       AND (t.state = 'pending' OR (t.state = 'running' AND t.id < j.id)))",
        [],
    )?;
    let requeued = tx.conn.execute(
        "UPDATE jobs SET state = 'pending', updated_at_ms = ?1 WHERE state = 'running'",
        [tx.now_ms()],
    )?;
    tx.commit()?;
    Ok(requeued)
}

impl WriteTx<'_> {
    /// Adds a job in this transaction (e.g. together with the webhook it
    /// processes). With a dedupe key that a pending job already has, returns
    /// that job instead.
    pub fn enqueue(&self, job: &NewJob) -> Result<Enqueued> {
        if let Some(key) = &job.dedupe_key {
            let existing: Option<i64> = self
                .conn
                .prepare_cached("SELECT id FROM jobs WHERE state = 'pending' AND dedupe_key = ?1")?
                .query_row([key], |r| r.get(0))
                .optional()?;
            if let Some(id) = existing {
                return Ok(Enqueued::Duplicate(id));
            }
        }
        let run_at = job.run_at.unwrap_or(self.now).as_millisecond();
        let payload = serde_json::to_string(&job.payload)?;
        let id = self
            .conn
            .prepare_cached(
                "INSERT INTO jobs (kind, payload, state, attempts, next_run_at_ms, dedupe_key,
                                   created_at_ms, updated_at_ms)
                 VALUES (?1, ?2, 'pending', 0, ?3, ?4, ?5, ?5) RETURNING id",
            )?
            .query_row(
                params![job.kind, payload, run_at, job.dedupe_key, self.now_ms()],
                |r| r.get(0),
            )?;
        Ok(Enqueued::New(id))
    }

    fn job_state(&self, id: i64) -> Result<JobState> {
        self.conn
            .prepare_cached("SELECT state FROM jobs WHERE id = ?1")?
            .query_row([id], |r| r.get(0))
            .optional()?
            .ok_or(Error::NoSuchJob { id })
    }

    fn expect_state(&self, id: i64, expected: JobState, action: &'static str) -> Result<()> {
        let actual = self.job_state(id)?;
        if actual != expected {
            return Err(Error::JobState { id, actual, action });
        }
        Ok(())
    }

    /// The pending job with job `id`'s dedupe key, if there is one (at most one waits).
    fn pending_twin(&self, id: i64) -> Result<Option<i64>> {
        Ok(self
            .conn
            .prepare_cached(
                "SELECT t.id FROM jobs AS j JOIN jobs AS t
                   ON t.dedupe_key = j.dedupe_key AND t.state = 'pending'
                 WHERE j.id = ?1",
            )?
            .query_row([id], |r| r.get(0))
            .optional()?)
    }

    /// failed -> pending, now, with a fresh retry budget. A failed job whose
    /// dedupe key already has a pending twin is removed instead.
    fn retry_one(&self, id: i64) -> Result<()> {
        let after = match self.pending_twin(id)? {
            Some(twin) => {
                self.conn.execute("DELETE FROM jobs WHERE id = ?1", [id])?;
                format!("merged into pending job {twin}")
            }
            None => {
                self.conn.execute(
                    "UPDATE jobs SET state = 'pending', attempts = 0, next_run_at_ms = ?2,
                                     updated_at_ms = ?2
                     WHERE id = ?1",
                    params![id, self.now_ms()],
                )?;
                "pending".to_owned()
            }
        };
        self.audit(
            Source::User,
            "job",
            &id.to_string(),
            "state",
            Some("failed"),
            Some(&after),
        )
    }
}

impl Database {
    /// Adds a job in its own transaction. See [`WriteTx::enqueue`].
    pub fn enqueue(&mut self, job: &NewJob) -> Result<Enqueued> {
        let tx = self.write()?;
        let enqueued = tx.enqueue(job)?;
        tx.commit()?;
        Ok(enqueued)
    }

    /// Claims the pending job that is due first (`next_run_at` at or before
    /// now; ties by age), marks it `running` and counts the attempt. Returns
    /// `None` when nothing is due. A job whose twin (same dedupe key) is
    /// running waits until the twin ends: twins do the same work, and running
    /// them side by side would only hold workers that other jobs need.
    pub fn claim_next_job(&mut self) -> Result<Option<Job>> {
        let tx = self.write()?;
        let sql = format!(
            "UPDATE jobs SET state = 'running', attempts = attempts + 1, updated_at_ms = ?1
             WHERE id = (SELECT id FROM jobs AS p WHERE state = 'pending' AND next_run_at_ms <= ?1
                           AND {NO_RUNNING_TWIN}
                         ORDER BY next_run_at_ms, id LIMIT 1)
             RETURNING {JOB_COLUMNS}"
        );
        let job = tx
            .conn
            .prepare_cached(&sql)?
            .query_row([tx.now_ms()], job_from)
            .optional()?;
        tx.commit()?;
        Ok(job)
    }

    /// When the next pending job is due, so a worker knows how long to sleep.
    /// Jobs waiting for a running twin are not counted: the end of the twin
    /// is what makes them due.
    pub fn next_due_at(&self) -> Result<Option<Timestamp>> {
        let ms: Option<i64> = self.conn.query_row(
            &format!(
                "SELECT min(next_run_at_ms) FROM jobs AS p WHERE state = 'pending'
                   AND {NO_RUNNING_TWIN}"
            ),
            [],
            |r| r.get(0),
        )?;
        Ok(ms.map(timestamp).transpose()?)
    }

    /// A running job finished.
    pub fn mark_job_done(&mut self, id: i64) -> Result<()> {
        let tx = self.write()?;
        tx.expect_state(id, JobState::Running, "marked done")?;
        tx.conn.execute(
            "UPDATE jobs SET state = 'done', updated_at_ms = ?2 WHERE id = ?1",
            params![id, tx.now_ms()],
        )?;
        tx.commit()
    }

    /// A running job failed in a way that may pass: it goes back to pending
    /// and runs again at `next_run_at`. `error` is shown to people, so it
    /// should say what went wrong in plain words. If a twin (same dedupe key)
    /// was queued while it ran, only one may wait: the twin is dropped (it
    /// would do the same work), and this job keeps its attempts and its
    /// backoff, so a job that keeps failing still reaches the failed list
    /// however often its work is asked for again.
    pub fn reschedule_job(&mut self, id: i64, error: &str, next_run_at: Timestamp) -> Result<()> {
        let tx = self.write()?;
        tx.expect_state(id, JobState::Running, "rescheduled")?;
        if let Some(twin) = tx.pending_twin(id)? {
            tx.conn.execute("DELETE FROM jobs WHERE id = ?1", [twin])?;
        }
        tx.conn.execute(
            "UPDATE jobs SET state = 'pending', last_error = ?2, next_run_at_ms = ?3,
                             updated_at_ms = ?4
             WHERE id = ?1",
            params![id, error, next_run_at.as_millisecond(), tx.now_ms()],
        )?;
        tx.commit()
    }

    /// A running job failed for good (or ran out of retries): it waits for
    /// a person to retry or discard it.
    pub fn mark_job_failed(&mut self, id: i64, error: &str) -> Result<()> {
        let tx = self.write()?;
        tx.expect_state(id, JobState::Running, "marked failed")?;
        tx.conn.execute(
            "UPDATE jobs SET state = 'failed', last_error = ?2, updated_at_ms = ?3 WHERE id = ?1",
            params![id, error, tx.now_ms()],
        )?;
        tx.commit()
    }

    /// A person asked to run a failed job again, now, with a fresh retry
    /// budget. Recorded in the audit log.
    pub fn retry_failed_job(&mut self, id: i64) -> Result<()> {
        let tx = self.write()?;
        tx.expect_state(id, JobState::Failed, "retried")?;
        tx.retry_one(id)?;
        tx.commit()
    }

    /// A person asked to retry every failed job. Returns how many.
    pub fn retry_all_failed_jobs(&mut self) -> Result<usize> {
        let tx = self.write()?;
        let ids: Vec<i64> = {
            let mut stmt = tx
                .conn
                .prepare_cached("SELECT id FROM jobs WHERE state = 'failed' ORDER BY id")?;
            stmt.query_map([], |r| r.get(0))?
                .collect::<rusqlite::Result<_>>()?
        };
        for &id in &ids {
            tx.retry_one(id)?;
        }
        tx.commit()?;
        Ok(ids.len())
    }

    /// A person decided a failed job should not run: it is removed from the
    /// queue, and the audit log keeps what it was and why it failed.
    pub fn discard_failed_job(&mut self, id: i64) -> Result<()> {
        let tx = self.write()?;
        tx.expect_state(id, JobState::Failed, "discarded")?;
        let (kind, error): (String, Option<String>) = tx.conn.query_row(
            "SELECT kind, last_error FROM jobs WHERE id = ?1",
            [id],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )?;
        tx.conn.execute("DELETE FROM jobs WHERE id = ?1", [id])?;
        let before = match error {
            Some(error) => format!("failed ({kind}): {error}"),
            None => format!("failed ({kind})"),
        };
        tx.audit(
            Source::User,
            "job",
            &id.to_string(),
            "state",
            Some(&before),
            Some("discarded"),
        )?;
        tx.commit()
    }

    /// Removes finished jobs last updated before `before`. Returns how many.
    pub fn prune_done_jobs(&mut self, before: Timestamp) -> Result<usize> {
        let tx = self.write()?;
        let removed = tx.conn.execute(
            "DELETE FROM jobs WHERE state = 'done' AND updated_at_ms < ?1",
            [before.as_millisecond()],
        )?;
        tx.commit()?;
        Ok(removed)
    }
}

impl Reader {
    /// One job.
    pub fn job(&self, id: i64) -> Result<Option<Job>> {
        let sql = format!("SELECT {JOB_COLUMNS} FROM jobs WHERE id = ?1");
        Ok(self
            .conn
            .prepare_cached(&sql)?
            .query_row([id], job_from)
            .optional()?)
    }

    /// Jobs in `state`, oldest first.
    pub fn jobs_in_state(&self, state: JobState, limit: u32) -> Result<Vec<Job>> {
        let sql = format!("SELECT {JOB_COLUMNS} FROM jobs WHERE state = ?1 ORDER BY id LIMIT ?2");
        let mut stmt = self.conn.prepare_cached(&sql)?;
        let rows = stmt.query_map(params![state, limit], job_from)?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// Failed jobs waiting for a person, oldest first.
    pub fn failed_jobs(&self) -> Result<Vec<Job>> {
        self.jobs_in_state(JobState::Failed, u32::MAX)
    }

    /// Number of jobs in each state.
    pub fn job_counts(&self) -> Result<JobCounts> {
        let mut counts = JobCounts::default();
        let mut stmt = self
            .conn
            .prepare_cached("SELECT state, count(*) FROM jobs GROUP BY state")?;
        let rows = stmt.query_map([], |r| Ok((r.get::<_, JobState>(0)?, count(r, 1)?)))?;
        for row in rows {
            let (state, n) = row?;
            match state {
                JobState::Pending => counts.pending = n,
                JobState::Running => counts.running = n,
                JobState::Done => counts.done = n,
                JobState::Failed => counts.failed = n,
            }
        }
        Ok(counts)
    }
}
