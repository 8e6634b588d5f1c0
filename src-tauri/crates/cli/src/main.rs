//! `shelfsync`: the Shelfsync engine on the command line.
//!
//! The desktop app is a window onto the engine; this binary is the other front end, for
//! scripts, servers without a desktop, and anyone who prefers a terminal. It adds no
//! behaviour of its own beyond presenting the engine: the same credentials rules (secrets
//! only in the OS keychain, read from stdin or a hidden prompt and never from an argument),
//! the same cache, the same sync.
//!
//! Commands: `connect`, `sync [--full]`, `status`, `jobs [list|retry ID…|retry --all|discard
//! ID…]`, `inventory [QUERY] [--limit N]`, `disconnect`, `demo [--once]`, `daemon
//! [--interval SECS]`, `import FILE [--check | --apply [--yes]]`, `bulk [list|undo ID|recover
//! [ID] [--finish]]`. Every command takes `--json`, which prints one JSON value on stdout and
//! nothing else (`daemon` and `demo` print one object per line while they run); logs go to
//! stderr and to a daily rolling file in the app's log folder (`SHELFSYNC_LOG` takes an
//! `EnvFilter` directive; see `logs`). Questions ("Apply 28 changes? [y/N]") are asked on
//! stderr and only when stdin is a terminal; elsewhere `--yes` answers them.
//!
//! # Exit codes
//!
//! Scripts branch on these, so they are part of the interface:
//!
//! | code | meaning |
//! | --- | --- |
//! | 0 | success |
//! | 1 | a local problem: Shelfsync's data files or database |
//! | 2 | usage error: unknown command or flag, missing argument, no secret given, a question to confirm with no terminal to ask on and no `--yes`; or `import` found problems in the file (and `--skip-problems` was not given) |
//! | 3 | store error: unreachable, credentials refused (the message says to reconnect), no store connected, or the connection dropped during a bulk update (`shelfsync bulk recover` settles it) |
//! | 4 | keychain error: no keychain service, keychain locked, or a secret missing; the message names the store and the next step |
//! | 5 | partial failure: part of the work failed (some jobs could not be retried), failed jobs wait for a person (`status`), or a bulk update was rolled back, left rows out, or could not reverse some of its changes |
//!
//! A failure prints one line on stderr and never a secret.
//!
//! # Environment
//!
//! - `SHELFSYNC_DATA_DIR` (or `--data-dir`): where the profile and cache live.
//! - `SHELFSYNC_KEYCHAIN_NAMESPACE`: a separate keychain namespace, so tests and second
//!   profiles never touch the real store's secrets.
//! - `SHELFSYNC_LOG_DIR` (or `--log-dir`): where the log files go.
//! - `SHELFSYNC_LOG`: the log level, as an `EnvFilter` directive.

mod cli;
mod commands;
mod context;
mod failure;
mod logs;
mod output;

use clap::Parser;
use cli::{Cli, Command};
use context::Context;
use failure::Failure;
use std::process::ExitCode;
use std::time::Duration;

fn main() -> ExitCode {
    // clap exits with 2 on a usage error and 0 for --help and --version.
    let cli = Cli::parse();
    // Held to the end of `main`, so the file gets everything before the process exits.
    let _logs = logs::init(&cli);
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => {
            tracing::info!(code = failure.code.exit_code(), "{}", failure.message);
            eprintln!("shelfsync: {}", failure.message);
            ExitCode::from(failure.code.exit_code())
        }
    }
}

fn run(cli: Cli) -> Result<(), Failure> {
    let ctx = Context::from_cli(&cli)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| Failure::local(format!("could not start the async runtime: {e}")))?;
    let result = runtime.block_on(async move {
        match cli.command {
            Command::Connect(args) => commands::connect::run(&ctx, args).await,
            Command::Sync(args) => commands::sync::run(&ctx, args.full).await,
            Command::Status => commands::status::run(&ctx).await,
            Command::Jobs(args) => commands::jobs::run(&ctx, args.action).await,
            Command::Inventory(args) => commands::inventory::run(&ctx, args).await,
            Command::Disconnect => commands::connect::disconnect(&ctx).await,
            Command::Demo(args) => commands::demo::run(&ctx, args).await,
            Command::Daemon(args) => commands::daemon::run(&ctx, args).await,
            Command::Import(args) => commands::import::run(&ctx, &args).await,
            Command::Bulk(args) => commands::bulk::run(&ctx, args.action).await,
        }
    });
    // A keychain or database call still on the blocking pool gets a moment to finish.
    runtime.shutdown_timeout(Duration::from_secs(2));
    result
}
