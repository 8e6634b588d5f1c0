//! `shelfsync daemon`: the engine without a window.
//!
//! It resumes the saved store, which starts the engine's work queue, and queues an
//! incremental sync every `--interval` seconds, as the desktop app does: the queue runs it,
//! retries it with backoff when the network or the store fails, and parks it for a person
//! when it keeps failing. Every `EngineEvent::Attention` is printed on stdout as one line a
//! person can act on (with `--json`, one JSON object per line); finished syncs and retries go
//! to stderr. Once the store refuses the credentials, no more syncs are queued: only a
//! reconnect can help, and that line says how.
//!
//! Ctrl-C or SIGTERM stops it in order: no new work is queued, running jobs get the queue's
//! grace period to finish, and whatever is cut short goes back to the queue (jobs are safe to
//! run again, and a watermark only moves with the data it covers).
//!
//! With `--webhook-port` it also receives the store's webhooks on 127.0.0.1 (behind the
//! owner's tunnel, whose public address `--webhook-url` gives): each one is committed to the
//! inbox before it is acknowledged and applied through the same queue. A subscription that
//! Shopify removed and the daemon re-created is reported on stdout.
//!
//! With `--relay-queue-url` it also reads the cloud relay's SQS queue (Shopify → EventBridge
//! → SQS), which holds the store's events while the computer is off; both paths commit into
//! the same inbox, so an event arriving both ways is applied once. The queue's AWS key lives
//! in the keychain; `--relay-keys-stdin` stores it (never on the command line, where other
//! users could read it). An unreachable relay is reported on stdout, and again when it
//! answers.
//!
//! New orders, stock at or below its low-stock line and reconciliation passes that repaired
//! what webhooks missed are printed on stdout too, one line each: what the desktop app shows
//! as notifications.
//!
//! While the daemon runs it holds the store's database, so the hints it prints say to stop
//! it before `shelfsync connect` or `shelfsync jobs retry`.

use crate::cli::DaemonArgs;
use crate::context::Context;
use crate::failure::Failure;
use crate::output;
use serde_json::json;
use shelfsync_engine::{
    Attention, EngineEvent, IntakeConfig, IntakeError, IntakeEvent, LowStockNotice, OrderNotice,
    ReconciliationNotice, RelayCredentials, RelaySettings, RelayState, Secret, StoreKey, SyncKind,
};
use shelfsync_store::JobState;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;
use tokio::sync::broadcast::Receiver;
use tokio::sync::broadcast::error::{RecvError, TryRecvError};
use tokio::sync::oneshot;

pub async fn run(ctx: &Context, args: DaemonArgs) -> Result<(), Failure> {
    if let Some(url) = &args.webhook_url
        && !url.starts_with("https://")
    {
        return Err(Failure::usage(format!(
            "--webhook-url {url:?} is not an https:// address; Shopify only delivers to https. \
             Give your tunnel's public address."
        )));
    }
    let relay = args
        .relay_queue_url
        .as_deref()
        .map(|url| relay_settings(url, &args))
        .transpose()?;
    let relay_keys = if args.relay_keys_stdin {
        Some(
            tokio::task::spawn_blocking(read_relay_keys)
                .await
                .map_err(|e| Failure::local(e.to_string()))??,
        )
    } else {
        None
    };
    let signing_secrets = if args.webhook_secret_stdin {
        vec![
            tokio::task::spawn_blocking(read_signing_secret)
                .await
                .map_err(|e| Failure::local(e.to_string()))??,
        ]
    } else {
        Vec::new()
    };
    ctx.warn_unfinished_bulk_updates().await;
    let engine = ctx.daemon_engine();
    // Subscribed before the session starts, so not even the first job's events are missed.
    let events = engine.events().subscribe();
    let intake_events = engine.intake_events().subscribe();
    let profile = engine.resume().await?;
    let address = profile.address.clone();
    eprintln!(
        "Shelfsync daemon for {} ({}): an incremental sync every {} s. Ctrl-C to stop.",
        profile.name, profile.address, args.interval
    );
    if let Some(keys) = &relay_keys {
        keys.save(&ctx.keychain(), &StoreKey::new(&address))
            .await
            .map_err(|e| Failure::local(format!("could not store the relay's AWS key: {e}")))?;
        eprintln!("The relay's AWS key is stored in the keychain.");
    }
    if args.webhook_port.is_some() || relay.is_some() {
        let queue = relay.as_ref().map(|r| r.queue_url.clone());
        let addr = engine
            .start_intake(IntakeConfig {
                port: args.webhook_port.unwrap_or(0),
                listen: args.webhook_port.is_some(),
                public_url: args.webhook_url.clone(),
                signing_secrets,
                relay,
                relay_event_source: args.relay_event_source.clone(),
                ..IntakeConfig::default()
            })
            .await
            .map_err(|e| intake_failure(e, &address))?;
        match (addr, &args.webhook_url) {
            (Some(addr), Some(url)) => {
                eprintln!("Receiving webhooks on http://{addr} (public address {url}).")
            }
            (Some(addr), None) => eprintln!(
                "Receiving webhooks on http://{addr}; subscriptions are left as they are (no \
                 --webhook-url)."
            ),
            (None, _) => {}
        }
        if let Some(queue) = queue {
            eprintln!("Reading the cloud relay queue {queue}.");
        }
        tokio::spawn(watch_intake(intake_events, ctx.json));
    }

    let reconnect_needed = Arc::new(AtomicBool::new(false));
    let (stop_watching, stopped) = oneshot::channel();
    let watcher = tokio::spawn(watch(
        events,
        stopped,
        Watch {
            json: ctx.json,
            address: address.clone(),
            reconnect_needed: reconnect_needed.clone(),
            last: None,
        },
    ));

    let shutdown = shutdown_signal();
    tokio::pin!(shutdown);
    let interval = Duration::from_secs(args.interval);
    loop {
        if !reconnect_needed.load(Ordering::Relaxed)
            && let Err(err) = engine.request_sync(SyncKind::Incremental).await
        {
            eprintln!(
                "Could not queue a sync: {}",
                Failure::engine(err, Some(&address)).message
            );
        }
        tokio::select! {
            _ = &mut shutdown => break,
            _ = tokio::time::sleep(interval) => {}
        }
    }
    eprintln!("Stopping: running jobs get a moment to finish.");
    engine.shutdown().await;
    let _ = stop_watching.send(());
    let _ = watcher.await;
    eprintln!("Shelfsync daemon stopped.");
    Ok(())
}

/// The signing key from stdin, one line.
fn read_signing_secret() -> Result<Secret, Failure> {
    let mut line = String::new();
    std::io::stdin().read_line(&mut line).map_err(|e| {
        Failure::usage(format!("could not read the signing secret from stdin: {e}"))
    })?;
    let secret = line.trim();
    if secret.is_empty() {
        return Err(Failure::usage(
            "--webhook-secret-stdin: no secret on stdin. Pipe the app's API secret key.",
        ));
    }
    Ok(Secret::new(secret))
}

/// The relay's queue settings from the flags; the region defaults to the queue URL's.
fn relay_settings(queue_url: &str, args: &DaemonArgs) -> Result<RelaySettings, Failure> {
    let region = match &args.relay_region {
        Some(region) => region.clone(),
        None => region_of(queue_url).ok_or_else(|| {
            Failure::usage(format!(
                "--relay-queue-url {queue_url:?} does not name its region \
                 (https://sqs.REGION.amazonaws.com/…); give --relay-region."
            ))
        })?,
    };
    Ok(RelaySettings {
        endpoint_url: args.relay_endpoint.clone(),
        ..RelaySettings::new(queue_url, region)
    })
}

/// `us-east-2` from `https://sqs.us-east-2.amazonaws.com/123456789012/shop-events`.
fn region_of(queue_url: &str) -> Option<String> {
    let host = queue_url.strip_prefix("https://")?.split('/').next()?;
    let region = host.strip_prefix("sqs.")?.strip_suffix(".amazonaws.com")?;
    (!region.is_empty() && !region.contains('.')).then(|| region.to_owned())
}

/// The relay's AWS key from stdin: the access key id, then the secret access key.
fn read_relay_keys() -> Result<RelayCredentials, Failure> {
    let mut lines = std::io::stdin().lines();
    let mut next = |what: &str| -> Result<String, Failure> {
        let line = lines
            .next()
            .transpose()
            .map_err(|e| Failure::usage(format!("could not read the {what} from stdin: {e}")))?
            .unwrap_or_default();
        let line = line.trim().to_owned();
        if line.is_empty() {
            return Err(Failure::usage(format!(
                "--relay-keys-stdin: no {what} on stdin. Pipe the access key id and the secret \
                 access key, one per line."
            )));
        }
        Ok(line)
    };
    let access_key_id = next("access key id")?;
    let secret = next("secret access key")?;
    Ok(RelayCredentials {
        access_key_id,
        secret_access_key: Secret::new(secret),
    })
}

fn intake_failure(err: IntakeError, address: &str) -> Failure {
    match err {
        IntakeError::Engine(err) => Failure::engine(err, Some(address)),
        IntakeError::NoSigningSecret => Failure::usage(format!(
            "{} Pipe it with --webhook-secret-stdin.",
            IntakeError::NoSigningSecret
        )),
        other => Failure::usage(other.to_string()),
    }
}

/// Prints what a person should hear about webhook intake: subscriptions lost and restored.
async fn watch_intake(mut events: Receiver<IntakeEvent>, json: bool) {
    loop {
        let event = match events.recv().await {
            Ok(event) => event,
            Err(RecvError::Lagged(_)) => continue,
            Err(RecvError::Closed) => return,
        };
        let text = match &event {
            IntakeEvent::SubscriptionLost { topic, uri } => format!(
                "Webhooks: Shopify removed the {topic} subscription for {uri} (deliveries \
                 failed); creating it again."
            ),
            IntakeEvent::SubscriptionRestored { topic, .. } => {
                format!("Webhooks: the {topic} subscription is back; a sync reads what was missed.")
            }
            _ => continue,
        };
        let printed = if json {
            output::json_line(&json!({ "intake": event, "message": text }))
        } else {
            output::line(&text)
        };
        if let Err(failure) = printed {
            eprintln!("shelfsync: {}", failure.message);
        }
    }
}

/// What the event watcher needs.
struct Watch {
    json: bool,
    address: String,
    reconnect_needed: Arc<AtomicBool>,
    /// The last line printed on stdout, so the same one is not printed twice in a row.
    last: Option<String>,
}

/// Shows events until told to stop, then shows what is still queued.
async fn watch(mut events: Receiver<EngineEvent>, mut stop: oneshot::Receiver<()>, mut w: Watch) {
    loop {
        tokio::select! {
            biased;
            event = events.recv() => match event {
                Ok(event) => show(&event, &mut w),
                Err(RecvError::Lagged(n)) => {
                    eprintln!("({n} engine events were missed while the output was busy)");
                }
                Err(RecvError::Closed) => return,
            },
            _ = &mut stop => break,
        }
    }
    loop {
        match events.try_recv() {
            Ok(event) => show(&event, &mut w),
            Err(TryRecvError::Lagged(_)) => {}
            Err(_) => return,
        }
    }
}

fn show(event: &EngineEvent, w: &mut Watch) {
    match event {
        EngineEvent::Attention { attention } => {
            if matches!(attention, Attention::Reconnect { .. })
                && !w.reconnect_needed.swap(true, Ordering::Relaxed)
            {
                eprintln!("Syncs are paused until the store is connected again.");
            }
            let text = attention_line(attention, &w.address);
            tell(w, "attention", attention, text);
        }
        EngineEvent::SyncFinished {
            sync,
            rows,
            elapsed_ms,
        } => eprintln!(
            "{} sync: {} rows read in {:.1} s.",
            match sync {
                SyncKind::Full => "Full",
                SyncKind::Incremental => "Incremental",
            },
            output::thousands(*rows),
            *elapsed_ms as f64 / 1000.0
        ),
        EngineEvent::Relay { relay } => {
            let text = match relay {
                RelayState::Unreachable {
                    error, retry_in_ms, ..
                } => format!(
                    "Cloud relay unreachable: {error} Trying again in {} s; the queue keeps \
                     the store's events meanwhile.",
                    retry_in_ms.div_ceil(1000)
                ),
                RelayState::Reachable => {
                    "Cloud relay reachable again: reading the events it held.".to_owned()
                }
            };
            tell(w, "relay", relay, text);
        }
        EngineEvent::NewOrder { order } => {
            let text = order_line(order);
            tell(w, "order", order, text);
        }
        EngineEvent::LowStock { stock } => {
            let text = low_stock_line(stock);
            tell(w, "low_stock", stock, text);
        }
        EngineEvent::Reconciled { reconciliation } if reconciliation.repaired > 0 => {
            let text = reconciled_line(reconciliation);
            tell(w, "reconciliation", reconciliation, text);
        }
        EngineEvent::Reconciled { reconciliation } => eprintln!(
            "Reconciliation ({}): {} changes checked, webhooks missed none.",
            reconciliation.reason,
            output::thousands(reconciliation.checked)
        ),
        EngineEvent::Job {
            kind,
            state: JobState::Pending,
            attempts,
            last_error: Some(error),
            ..
        } if *attempts > 0 => {
            eprintln!("{kind} failed (attempt {attempts}): {error} It will be tried again.")
        }
        _ => {}
    }
}

/// Prints one line a person should read on stdout (with `--json`, the event under `key` and
/// the line as `message`), unless it repeats the line just printed.
fn tell<T: serde::Serialize>(w: &mut Watch, key: &str, value: &T, text: String) {
    if w.last.as_deref() == Some(text.as_str()) {
        return;
    }
    let printed = if w.json {
        output::json_line(&json!({ key: value, "message": text }))
    } else {
        output::line(&text)
    };
    if let Err(failure) = printed {
        eprintln!("shelfsync: {}", failure.message);
    }
    w.last = Some(text);
}

/// `New order #1001: 2 units, 36.00 EUR (Blue Mug - Small and more).`
pub fn order_line(order: &OrderNotice) -> String {
    let units = match order.units {
        1 => "1 unit".to_owned(),
        n => format!("{n} units"),
    };
    let what = match &order.first_line {
        Some(first) if order.units > 1 => format!(" ({first} and more)"),
        Some(first) => format!(" ({first})"),
        None => String::new(),
    };
    format!(
        "New order {}: {units}, {} {}{what}.",
        order.name, order.total_price, order.currency_code
    )
}

/// `Low stock: Blue Mug - Small (MUG-S) has 2 left, at or below its line of 5.`
pub fn low_stock_line(stock: &LowStockNotice) -> String {
    let sku = stock
        .sku
        .as_deref()
        .filter(|s| !s.is_empty())
        .map(|s| format!(" ({s})"))
        .unwrap_or_default();
    format!(
        "Low stock: {}{sku} has {} left, at or below its line of {}.",
        stock.title, stock.available, stock.threshold
    )
}

/// What a reconciliation pass repaired that webhooks had missed.
pub fn reconciled_line(r: &ReconciliationNotice) -> String {
    format!(
        "Reconciliation ({}): webhooks missed {} of {} changes; the cache has them now ({} in \
         the last day).",
        r.reason,
        output::thousands(r.repaired),
        output::thousands(r.checked),
        output::thousands(r.repaired_last_day)
    )
}

/// What needs a person, and what to do about it.
pub fn attention_line(attention: &Attention, address: &str) -> String {
    match attention {
        Attention::JobFailed {
            job_id,
            what,
            error,
        } => format!(
            "Needs you: job {job_id} ({what}) failed: {error} Stop the daemon, then run \
             `shelfsync jobs retry {job_id}` or `shelfsync jobs discard {job_id}`."
        ),
        Attention::Reconnect { reason } => format!(
            "Needs you: {reason} Stop the daemon, run `shelfsync connect {address}`, then start \
             the daemon again."
        ),
    }
}

/// Resolves on Ctrl-C, or on SIGTERM where there is one.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        if tokio::signal::ctrl_c().await.is_err() {
            // No handler could be installed: only the other signal (or a kill) stops us.
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = ctrl_c => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => ctrl_c.await,
        }
    }
    #[cfg(not(unix))]
    ctrl_c.await;
}
