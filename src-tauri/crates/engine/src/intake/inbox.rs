//! Committing events to the durable inbox, many per transaction.
//!
//! Every event must be on disk (`synchronous=FULL`) before its `200`, and one `fsync` per
//! event would cap intake at the disk's sync rate. [`InboxWriter`] is one task that owns the
//! commits: requests hand it their event and wait; while a transaction is being synced, the
//! events that arrive queue up and all go into the next one. Each waiting request gets its
//! answer only after the transaction holding its event has committed, so group commit never
//! answers early. Each new event's processing job is enqueued in the same transaction, so an
//! event in the inbox always has a job that will apply it.

use std::sync::Arc;

use serde_json::json;
use shelfsync_store::{Durability, NewJob, Recorded, WebhookEvent};
use tokio::sync::{mpsc, oneshot};

use crate::cache::Cache;
use crate::intake::process::JOB_WEBHOOK;

/// Events per transaction at most: bounds the time a request waits behind others.
const MAX_BATCH: usize = 512;

struct Pending {
    event: WebhookEvent,
    reply: oneshot::Sender<Result<Recorded, String>>,
}

/// Called after each commit that stored new events, to wake the queue's workers.
pub type OnCommit = Arc<dyn Fn() + Send + Sync>;

/// The inbox's committer. Cloning shares it; it stops when the last clone is dropped.
#[derive(Clone)]
pub struct InboxWriter {
    tx: mpsc::Sender<Pending>,
}

impl std::fmt::Debug for InboxWriter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("InboxWriter").finish_non_exhaustive()
    }
}

impl InboxWriter {
    /// Starts the committer task on the current runtime.
    pub fn start(cache: Cache, on_commit: OnCommit) -> Self {
        let (tx, rx) = mpsc::channel(4 * MAX_BATCH);
        tokio::spawn(run(cache, rx, on_commit));
        Self { tx }
    }

    /// Stores `event` durably (with its processing job, if it is new) and returns once it is
    /// on disk. An error means it was not stored: answer so that Shopify delivers it again.
    pub async fn commit(&self, event: WebhookEvent) -> Result<Recorded, String> {
        let (reply, answer) = oneshot::channel();
        self.tx
            .send(Pending { event, reply })
            .await
            .map_err(|_| "the inbox is closed".to_owned())?;
        answer
            .await
            .map_err(|_| "the inbox stopped before the event was stored".to_owned())?
    }
}

async fn run(cache: Cache, mut rx: mpsc::Receiver<Pending>, on_commit: OnCommit) {
    while let Some(first) = rx.recv().await {
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH {
            match rx.try_recv() {
                Ok(next) => batch.push(next),
                Err(_) => break,
            }
        }
        let (events, replies): (Vec<WebhookEvent>, Vec<_>) =
            batch.into_iter().map(|p| (p.event, p.reply)).unzip();
        let result = cache
            .write(move |db| {
                let tx = db.write_with(Durability::Full)?;
                let mut recorded = Vec::with_capacity(events.len());
                for event in &events {
                    let r = tx.record_webhook(event)?;
                    if let Recorded::New(id) = r {
                        tx.enqueue(&NewJob {
                            kind: JOB_WEBHOOK.to_owned(),
                            payload: json!({ "inbox_id": id }),
                            dedupe_key: None,
                            run_at: None,
                        })?;
                    }
                    recorded.push(r);
                }
                tx.commit()?;
                Ok(recorded)
            })
            .await;
        match result {
            Ok(recorded) => {
                let any_new = recorded.iter().any(|r| matches!(r, Recorded::New(_)));
                for (reply, r) in replies.into_iter().zip(recorded) {
                    let _ = reply.send(Ok(r));
                }
                if any_new {
                    on_commit();
                }
            }
            Err(err) => {
                tracing::error!(error = %err, "webhook events could not be stored");
                let message = err.to_string();
                for reply in replies {
                    let _ = reply.send(Err(message.clone()));
                }
            }
        }
    }
}
