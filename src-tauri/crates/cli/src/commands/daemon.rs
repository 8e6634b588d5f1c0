//! `shelfsync daemon`: the engine without a window.
//!
//! It resumes the saved store, runs an incremental sync every `--interval` seconds, and
//! prints each `EngineEvent::Attention` on stdout as one line a person can act on (with
//! `--json`, one JSON object per line). Progress and failed passes go to stderr. Ctrl-C or
//! SIGTERM stops it between two steps; a sync cut short is safe, because the engine moves a
//! watermark only together with the data it covers.
//!
//! While the daemon runs it holds the store's database, so the hints it prints say to stop
//! it before `shelfsync connect` or `shelfsync jobs retry`.

use crate::cli::DaemonArgs;
use crate::commands::sync::describe;
use crate::context::Context;
use crate::failure::Failure;
use crate::output;
use serde_json::json;
use shelfsync_engine::{Attention, EngineEvent, SyncKind};
use std::time::Duration;
use tokio::sync::broadcast::Receiver;
use tokio::sync::broadcast::error::{RecvError, TryRecvError};
use tokio::sync::oneshot;

pub async fn run(ctx: &Context, args: DaemonArgs) -> Result<(), Failure> {
    let engine = ctx.engine();
    let profile = engine.resume().await?;
    let address = profile.address.clone();
    eprintln!(
        "Shelfsync daemon for {} ({}): an incremental sync every {} s. Ctrl-C to stop.",
        profile.name, profile.address, args.interval
    );

    let (stop_printer, stopped) = oneshot::channel();
    let printer = tokio::spawn(print_attention(
        engine.events().subscribe(),
        stopped,
        ctx.json,
        address.clone(),
    ));

    let shutdown = shutdown_signal();
    tokio::pin!(shutdown);
    let interval = Duration::from_secs(args.interval);
    loop {
        let result = tokio::select! {
            _ = &mut shutdown => break,
            result = engine.sync(SyncKind::Incremental) => result,
        };
        match result {
            Ok(report) => eprintln!("{}", describe(SyncKind::Incremental, &report)),
            Err(err) => eprintln!(
                "Sync failed: {} Trying again in {} s.",
                Failure::engine(err, Some(&address)).message,
                args.interval
            ),
        }
        tokio::select! {
            _ = &mut shutdown => break,
            _ = tokio::time::sleep(interval) => {}
        }
    }
    let _ = stop_printer.send(());
    let _ = printer.await;
    eprintln!("Shelfsync daemon stopped.");
    Ok(())
}

/// Prints attention events until told to stop, then prints what is still queued.
async fn print_attention(
    mut events: Receiver<EngineEvent>,
    mut stop: oneshot::Receiver<()>,
    json: bool,
    address: String,
) {
    let mut last = None;
    loop {
        tokio::select! {
            biased;
            event = events.recv() => match event {
                Ok(event) => show(&event, json, &address, &mut last),
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
            Ok(event) => show(&event, json, &address, &mut last),
            Err(TryRecvError::Lagged(_)) => {}
            Err(_) => return,
        }
    }
}

/// One attention event as a line; the same line twice in a row is printed once.
fn show(event: &EngineEvent, json: bool, address: &str, last: &mut Option<String>) {
    let EngineEvent::Attention { attention } = event else {
        return;
    };
    let text = attention_line(attention, address);
    if last.as_deref() == Some(text.as_str()) {
        return;
    }
    let printed = if json {
        output::json_line(&json!({ "attention": attention, "message": text }))
    } else {
        output::line(&text)
    };
    if let Err(failure) = printed {
        eprintln!("shelfsync: {}", failure.message);
    }
    *last = Some(text);
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
