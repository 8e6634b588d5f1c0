//! Where the command's logs go: stderr, and a daily rolling file.
//!
//! `shelfsync daemon` runs all day on machines nobody watches, so what it did (every
//! Shopify request with its operation, attempt and cost, every job and retry) has to be
//! readable afterwards, as the desktop app's log is. Each run appends to
//! `shelfsync-cli.<date>.log` in the app's log folder (on Linux
//! `$XDG_DATA_HOME/app.shelfsync.desktop/logs`, which is where the app writes its own
//! `shelfsync.log.<date>`; on macOS `~/Library/Logs/app.shelfsync.desktop`). A file is
//! started each day and the last [`KEEP_FILES`] are kept.
//!
//! stderr stays quiet (one-shot commands print errors only, so a failure stays one line; the
//! long-running ones add warnings), while the file gets `info`: finished request and job
//! spans with their fields. `SHELFSYNC_LOG` (an `EnvFilter` directive) sets both.
//!
//! Nothing logged carries a secret: secrets are `Secret` values whose `Debug` and `Display`
//! are redacted, and the access token travels only in a request header, which is never
//! logged.

use crate::cli::{Cli, Command};
use std::io::IsTerminal;
use std::path::PathBuf;
use tracing_appender::non_blocking::WorkerGuard;
use tracing_appender::rolling::{RollingFileAppender, Rotation};
use tracing_subscriber::fmt::format::FmtSpan;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Layer, fmt};

/// The variable that sets the log level (stderr and file).
pub const LEVEL_ENV: &str = "SHELFSYNC_LOG";

/// The log files start with this, then the date; the app's own start with `shelfsync.log`.
pub const FILE_PREFIX: &str = "shelfsync-cli";

/// How many daily files are kept; older ones are removed when a new day starts.
pub const KEEP_FILES: usize = 14;

/// The desktop app's identifier (`tauri.conf.json`), which names its log folder.
const APP_DIR: &str = "app.shelfsync.desktop";

/// Keeps the file writer flushing; dropping it writes out what is still buffered.
#[must_use = "dropping the guard stops writing the log file"]
pub struct LogGuard {
    _file: Option<WorkerGuard>,
}

/// The folder for the log files: `--log-dir` (`SHELFSYNC_LOG_DIR`); else `logs` inside
/// `--data-dir`, so a second profile keeps its logs apart too; else the app's log folder.
pub fn log_dir(cli: &Cli) -> Option<PathBuf> {
    if let Some(dir) = &cli.log_dir {
        return Some(dir.clone());
    }
    if let Some(dir) = &cli.data_dir {
        return Some(dir.join("logs"));
    }
    os_log_dir()
}

/// Where Tauri's `app_log_dir` puts the desktop app's logs.
fn os_log_dir() -> Option<PathBuf> {
    if cfg!(target_os = "macos") {
        dirs::home_dir().map(|home| home.join("Library/Logs").join(APP_DIR))
    } else {
        dirs::data_local_dir().map(|dir| dir.join(APP_DIR).join("logs"))
    }
}

/// Starts logging to stderr and, when the folder can be created, to the rolling file.
pub fn init(cli: &Cli) -> LogGuard {
    let quiet = match cli.command {
        Command::Daemon(_) | Command::Demo(_) => "warn",
        _ => "error",
    };
    let filter = |default: &str| {
        EnvFilter::try_from_env(LEVEL_ENV).unwrap_or_else(|_| EnvFilter::new(default))
    };
    let stderr = fmt::layer()
        .with_ansi(std::io::stderr().is_terminal())
        .with_writer(std::io::stderr)
        .with_filter(filter(quiet));

    let mut problem = None;
    let (file, guard) = match log_dir(cli).map(|dir| open_file(&dir).map_err(|e| (dir, e))) {
        Some(Ok(appender)) => {
            let (writer, guard) = tracing_appender::non_blocking(appender);
            let layer = fmt::layer()
                .with_ansi(false)
                .with_writer(writer)
                // A request's cost and latency are recorded on its span as it runs: the
                // line written when the span closes carries them all.
                .with_span_events(FmtSpan::CLOSE)
                .with_filter(filter("info"));
            (Some(layer), Some(guard))
        }
        Some(Err((dir, err))) => {
            problem = Some(format!(
                "could not write log files in {}: {err}",
                dir.display()
            ));
            (None, None)
        }
        None => (None, None),
    };
    let _ = tracing_subscriber::registry()
        .with(stderr)
        .with(file)
        .try_init();
    if let Some(problem) = problem {
        tracing::warn!("{problem}");
    }
    LogGuard { _file: guard }
}

fn open_file(dir: &std::path::Path) -> Result<RollingFileAppender, String> {
    std::fs::create_dir_all(dir).map_err(|e| e.to_string())?;
    RollingFileAppender::builder()
        .rotation(Rotation::DAILY)
        .filename_prefix(FILE_PREFIX)
        .filename_suffix("log")
        .max_log_files(KEEP_FILES)
        .build(dir)
        .map_err(|e| e.to_string())
}
