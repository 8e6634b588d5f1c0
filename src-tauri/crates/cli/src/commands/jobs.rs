//! `shelfsync jobs`: the durable work queue, and the decisions only a person makes about it.
//!
//! These commands touch only the local database, so they work without the keychain or the
//! network. The list goes through a read-only connection, which works while the app or
//! the daemon runs; retry and discard need the store's single writer, so they ask for the
//! other process to be stopped when it holds it. Each retry and discard is recorded in the
//! audit log by the store.
//!
//! With several ids, some of which cannot be retried or discarded, the others still are and
//! the exit code is 5 (partial failure).

use crate::cli::JobsAction;
use crate::context::Context;
use crate::failure::{Code, Failure};
use crate::output;
use serde::Serialize;
use shelfsync_engine::Cache;
use shelfsync_store::{Job, JobState, Reader};

/// How many jobs of each state `list` shows.
const LIST_LIMIT: u32 = 500;

pub async fn run(ctx: &Context, action: Option<JobsAction>) -> Result<(), Failure> {
    match action.unwrap_or(JobsAction::List) {
        JobsAction::List => list(ctx).await,
        JobsAction::Retry(args) if args.all => retry_all(ctx).await,
        JobsAction::Retry(args) => each(ctx, Decision::Retry, args.ids).await,
        JobsAction::Discard(args) => each(ctx, Decision::Discard, args.ids).await,
    }
}

async fn list(ctx: &Context) -> Result<(), Failure> {
    let (_, path) = ctx.local_store()?;
    let jobs = tokio::task::spawn_blocking(move || {
        if !path.exists() {
            // Nothing has been synced or queued for this store yet.
            return Ok(Vec::new());
        }
        let reader = Reader::open(&path)?;
        let mut jobs = Vec::new();
        for state in [JobState::Failed, JobState::Running, JobState::Pending] {
            jobs.extend(reader.jobs_in_state(state, LIST_LIMIT)?);
        }
        Ok::<_, shelfsync_store::Error>(jobs)
    })
    .await
    .map_err(Failure::cache)?
    .map_err(Failure::cache)?;
    if ctx.json {
        return output::json(&jobs);
    }
    if jobs.is_empty() {
        return output::line("No jobs are waiting, running or failed.");
    }
    let rows: Vec<Vec<String>> = jobs.iter().map(row).collect();
    output::line(&output::table(
        &["ID", "STATE", "KIND", "ATTEMPTS", "LAST ERROR"],
        &rows,
    ))?;
    let failed = jobs.iter().filter(|j| j.state == JobState::Failed).count();
    if failed > 0 {
        output::line(&format!(
            "\n{failed} failed: `shelfsync jobs retry ID` (or `--all`) runs again, \
             `shelfsync jobs discard ID` drops."
        ))?;
    }
    Ok(())
}

fn row(job: &Job) -> Vec<String> {
    vec![
        job.id.to_string(),
        job.state.to_string(),
        job.kind.clone(),
        job.attempts.to_string(),
        job.last_error.clone().unwrap_or_default(),
    ]
}

async fn writer(ctx: &Context) -> Result<Cache, Failure> {
    let (_, path) = ctx.local_store()?;
    Cache::open(path).await.map_err(Failure::cache)
}

async fn retry_all(ctx: &Context) -> Result<(), Failure> {
    let cache = writer(ctx).await?;
    let n = cache
        .write(|db| db.retry_all_failed_jobs())
        .await
        .map_err(Failure::cache)?;
    if ctx.json {
        output::json(&serde_json::json!({ "retried": n }))
    } else {
        output::line(&match n {
            0 => "No failed jobs to retry.".to_string(),
            1 => {
                "1 failed job will run again when the app or the daemon runs the queue.".to_string()
            }
            n => {
                format!("{n} failed jobs will run again when the app or the daemon runs the queue.")
            }
        })
    }
}

#[derive(Debug, Clone, Copy)]
enum Decision {
    Retry,
    Discard,
}

#[derive(Debug, Serialize)]
struct Refused {
    id: i64,
    error: String,
}

#[derive(Debug, Default, Serialize)]
struct Outcome {
    done: Vec<i64>,
    refused: Vec<Refused>,
}

async fn each(ctx: &Context, decision: Decision, ids: Vec<i64>) -> Result<(), Failure> {
    let cache = writer(ctx).await?;
    let mut outcome = Outcome::default();
    for id in ids {
        let result = cache
            .write(move |db| match decision {
                Decision::Retry => db.retry_failed_job(id),
                Decision::Discard => db.discard_failed_job(id),
            })
            .await;
        match result {
            Ok(()) => outcome.done.push(id),
            Err(e) => outcome.refused.push(Refused {
                id,
                error: e.to_string(),
            }),
        }
    }
    let verb = match decision {
        Decision::Retry => "retried",
        Decision::Discard => "discarded",
    };
    if outcome.done.is_empty() {
        // Nothing happened: the reasons are the whole answer.
        let reasons: Vec<&str> = outcome.refused.iter().map(|r| r.error.as_str()).collect();
        return Err(Failure::local(reasons.join(" ")));
    }
    if ctx.json {
        output::json(&serde_json::json!({ verb: outcome.done, "refused": outcome.refused }))?;
    } else {
        let ids: Vec<String> = outcome.done.iter().map(|id| id.to_string()).collect();
        let label = if ids.len() == 1 { "Job" } else { "Jobs" };
        output::line(&match decision {
            Decision::Retry => format!(
                "{} {} will run again when the app or the daemon runs the queue.",
                label,
                ids.join(", ")
            ),
            Decision::Discard => format!(
                "{} {} discarded; the audit log keeps what {} and why {} failed.",
                label,
                ids.join(", "),
                if ids.len() == 1 {
                    "it was"
                } else {
                    "they were"
                },
                if ids.len() == 1 { "it" } else { "they" }
            ),
        })?;
    }
    if outcome.refused.is_empty() {
        return Ok(());
    }
    let reasons: Vec<&str> = outcome.refused.iter().map(|r| r.error.as_str()).collect();
    Err(Failure::new(
        Code::Partial,
        format!(
            "{} of {} jobs could not be {verb}: {}",
            outcome.refused.len(),
            outcome.refused.len() + outcome.done.len(),
            reasons.join(" ")
        ),
    ))
}
