//! `shelfsync status`: the connected store, its token, API budget, cache, queue and syncs.
//!
//! Status checks that the store's secret can be read from the keychain: a status that says
//! "connected" while the keychain cannot give Shelfsync the credentials would hide exactly
//! the problem a person needs to see, so a keychain failure is exit code 4. The rest comes
//! from the cache through a read-only connection. Status does not open an engine session,
//! because a session starts the work queue, and asking for the status must never start
//! queued work; for the same reason it works while the app or the daemon holds the store.
//! Nothing goes over the network, so the token expiry and the API budget are only known to
//! a process that talked to the store (the demo shows them).
//!
//! Failed jobs waiting for a person make the exit code 5, so a script can alert on it.

use crate::context::Context;
use crate::failure::{Code, Failure};
use crate::output;
use serde::Serialize;
use shelfsync_engine::{AuthMethod, SecretKind, Status, StoreKey, StoreProfile};
use shelfsync_shopify::BucketSnapshot;
use shelfsync_store::{CacheCounts, JobCounts, Reader, Watermark};

pub async fn run(ctx: &Context) -> Result<(), Failure> {
    let Some(profile) = ctx.engine().saved_profile()? else {
        let view = StatusView::not_connected();
        return if ctx.json {
            output::json(&view)
        } else {
            output::line(&render(&view))
        };
    };
    let kind = match profile.auth {
        AuthMethod::AdminToken => SecretKind::AdminToken,
        AuthMethod::ClientCredentials { .. } => SecretKind::ClientSecret,
    };
    // Read and dropped at once: only its presence matters here.
    ctx.keychain()
        .get(&StoreKey::new(&profile.address), kind)
        .await?;
    let view = from_cache(ctx, profile).await?;
    ctx.warn_unfinished_bulk_updates().await;
    if ctx.json {
        output::json(&view)?;
    } else {
        output::line(&render(&view))?;
    }
    failed_jobs_need_a_person(&view)
}

/// Exit code 5 when failed jobs wait.
pub fn failed_jobs_need_a_person(view: &StatusView) -> Result<(), Failure> {
    match view.queue.map(|q| q.failed).unwrap_or(0) {
        0 => Ok(()),
        n => Err(Failure::new(
            Code::Partial,
            format!(
                "{n} failed job{} wait{} for a person: see `shelfsync jobs list`, then retry or \
                 discard {}.",
                plural(n),
                if n == 1 { "s" } else { "" },
                if n == 1 { "it" } else { "them" }
            ),
        )),
    }
}

async fn from_cache(ctx: &Context, profile: StoreProfile) -> Result<StatusView, Failure> {
    let (_, path) = ctx.local_store()?;
    let counts = tokio::task::spawn_blocking(move || {
        if !path.exists() {
            return Ok(None);
        }
        let reader = Reader::open(&path)?;
        Ok::<_, shelfsync_store::Error>(Some((
            reader.counts()?,
            reader.job_counts()?,
            reader.watermarks()?,
        )))
    })
    .await
    .map_err(Failure::cache)?
    .map_err(Failure::cache)?;
    let (cache, queue, watermarks) = match counts {
        Some((cache, queue, watermarks)) => (Some(cache), Some(queue), watermarks),
        None => (None, None, Vec::new()),
    };
    Ok(StatusView {
        connected: true,
        store: Some(profile),
        token_expires_at: None,
        bucket: None,
        cache,
        queue,
        watermarks,
    })
}

/// What `status --json` prints.
#[derive(Debug, Clone, Serialize)]
pub struct StatusView {
    /// A store is saved and its credentials could be read.
    pub connected: bool,
    pub store: Option<StoreProfile>,
    /// RFC 3339; `null` for an admin token, or before this process fetched a token.
    pub token_expires_at: Option<String>,
    /// `null` before this process made a request.
    pub bucket: Option<BucketView>,
    pub cache: Option<CacheCounts>,
    pub queue: Option<JobCounts>,
    pub watermarks: Vec<Watermark>,
}

/// The store's API budget.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct BucketView {
    pub maximum: f64,
    pub available: f64,
    pub restore_rate: f64,
    pub throttled: u64,
    pub answered: u64,
}

impl From<BucketSnapshot> for BucketView {
    fn from(b: BucketSnapshot) -> Self {
        Self {
            maximum: b.maximum,
            available: b.available,
            restore_rate: b.restore_rate,
            throttled: b.throttled,
            answered: b.answered,
        }
    }
}

impl StatusView {
    pub fn new(status: &Status) -> Self {
        Self {
            connected: status.store.is_some() && status.cache.is_some(),
            store: status.store.clone(),
            token_expires_at: status.token_expires_at.and_then(output::rfc3339),
            bucket: status.bucket.map(BucketView::from),
            cache: status.cache,
            queue: status.queue,
            watermarks: status.watermarks.clone(),
        }
    }

    fn not_connected() -> Self {
        Self {
            connected: false,
            store: None,
            token_expires_at: None,
            bucket: None,
            cache: None,
            queue: None,
            watermarks: Vec::new(),
        }
    }
}

fn plural(n: u64) -> &'static str {
    if n == 1 { "" } else { "s" }
}

/// The text form, one labelled line per topic.
pub fn render(view: &StatusView) -> String {
    let Some(store) = &view.store else {
        return "No store is connected. Run `shelfsync connect STORE` to connect one, or \
                `shelfsync demo` to try a simulated store."
            .to_string();
    };
    let mut lines = vec![format!("Store        {} ({})", store.name, store.address)];
    lines.push(match &store.auth {
        AuthMethod::AdminToken => {
            "Credentials  admin token in the OS keychain (it does not expire)".to_string()
        }
        AuthMethod::ClientCredentials { client_id } => {
            let token = match &view.token_expires_at {
                Some(at) => format!("current token expires {at}"),
                None => "tokens are renewed before they expire (about every 24 h)".to_string(),
            };
            format!("Credentials  client id {client_id}, secret in the OS keychain; {token}")
        }
    });
    lines.push(match &view.bucket {
        Some(b) => format!(
            "API budget   {} of {} points, restoring {}/s ({} of {} requests throttled)",
            output::thousands(b.available.max(0.0).round() as u64),
            output::thousands(b.maximum.max(0.0).round() as u64),
            output::thousands(b.restore_rate.max(0.0).round() as u64),
            output::thousands(b.throttled),
            output::thousands(b.answered),
        ),
        None => "API budget   not measured yet (no request to the store in this run)".to_string(),
    });
    if let Some(c) = &view.cache {
        lines.push(format!(
            "Cache        {} variants of {} products, {} stock levels at {} locations, {} orders",
            output::thousands(c.variants),
            output::thousands(c.products),
            output::thousands(c.levels),
            output::thousands(c.locations),
            output::thousands(c.orders),
        ));
    }
    if let Some(q) = &view.queue {
        lines.push(format!(
            "Queue        {} pending, {} running, {} failed ({} done)",
            q.pending, q.running, q.failed, q.done
        ));
    }
    if view.watermarks.is_empty() {
        lines.push(
            "Last syncs   none yet: run `shelfsync sync --full` to fill the cache".to_string(),
        );
    } else {
        for (i, w) in view.watermarks.iter().enumerate() {
            let label = if i == 0 { "Last syncs" } else { "" };
            lines.push(format!(
                "{label:<12} {}: synced at {}, covers changes up to {}",
                w.resource.as_str(),
                w.advanced_at,
                w.updated_at.as_str()
            ));
        }
    }
    lines.join("\n")
}
