//! What every command shares: the data folder, the keychain namespace and the output mode.
//!
//! The data folder defaults to the desktop app's own (`app.shelfsync.desktop` under the OS
//! data directory, which is what Tauri's `app_data_dir` gives the app), so the app and the
//! CLI see the same store. The keychain namespace is the engine's default, which already
//! keeps debug builds away from a release build's secrets. `--data-dir` or
//! `SHELFSYNC_DATA_DIR` overrides the folder.
//!
//! `SHELFSYNC_KEYCHAIN_NAMESPACE` replaces the keychain namespace. It exists so tests (and
//! anyone who wants a second, separate profile) can keep their secrets apart from a real
//! store's; it is read nowhere else.

use crate::cli::Cli;
use crate::failure::{Code, Failure};
use shelfsync_engine::{Engine, EngineConfig, Keychain, StoreProfile, SupervisorConfig};
use shelfsync_shopify::Clock;
use shelfsync_store::{BulkState, Reader};
use std::path::PathBuf;
use std::time::Duration;

/// How long a one-shot command lets queued work it did not ask for finish on exit.
const ONE_SHOT_GRACE: Duration = Duration::from_secs(2);

/// The desktop app's identifier (`tauri.conf.json`): its data folder under the OS data
/// directory.
const APP_DIR: &str = "app.shelfsync.desktop";

pub const NAMESPACE_ENV: &str = "SHELFSYNC_KEYCHAIN_NAMESPACE";

#[derive(Debug, Clone)]
pub struct Context {
    pub json: bool,
    pub data_dir: PathBuf,
    pub namespace: String,
}

impl Context {
    pub fn from_cli(cli: &Cli) -> Result<Self, Failure> {
        let data_dir = match &cli.data_dir {
            Some(dir) => dir.clone(),
            None => default_data_dir()?,
        };
        let namespace = std::env::var(NAMESPACE_ENV)
            .ok()
            .map(|ns| ns.trim().to_string())
            .filter(|ns| !ns.is_empty())
            .unwrap_or_else(|| Keychain::platform().namespace().to_string());
        Ok(Self {
            json: cli.json,
            data_dir,
            namespace,
        })
    }

    pub fn keychain(&self) -> Keychain {
        Keychain::platform_with_namespace(self.namespace.clone())
    }

    /// An engine over the data folder for a command that does one thing and exits; nothing
    /// is opened yet.
    ///
    /// Opening a session starts the engine's work queue, which may pick up jobs left by the
    /// app or the daemon. On exit such a job gets only a moment to finish before it is put
    /// back in the queue (jobs are safe to run again), so a quick command stays quick.
    pub fn engine(&self) -> Engine {
        self.daemon_engine().with_job_config(SupervisorConfig {
            shutdown_grace: ONE_SHOT_GRACE,
            ..SupervisorConfig::default()
        })
    }

    /// An engine for a long-running command, with the work queue's usual settings.
    pub fn daemon_engine(&self) -> Engine {
        Engine::new(EngineConfig {
            data_dir: self.data_dir.clone(),
            keychain: self.keychain(),
            clock: Clock::real(),
        })
    }

    /// The saved store and the path of its cache, without touching the keychain or the
    /// network: for commands that only read or edit local data.
    pub fn local_store(&self) -> Result<(StoreProfile, PathBuf), Failure> {
        let profile = self
            .engine()
            .saved_profile()?
            .ok_or_else(Failure::not_connected)?;
        // The engine names the file the same way when it opens a session.
        let file = shelfsync_store::store_file_name(&profile.address)
            .map_err(|e| Failure::new(Code::Local, e.to_string()))?;
        let path = self.data_dir.join(file);
        Ok((profile, path))
    }

    /// Warns on stderr about each bulk update of the saved store that a crash, a kill or a
    /// lost connection left unfinished, with the command that settles it. Reads the journal
    /// through a read-only connection and stays silent when there is nothing to read.
    pub async fn warn_unfinished_bulk_updates(&self) {
        let Ok((_, path)) = self.local_store() else {
            return;
        };
        let unfinished = tokio::task::spawn_blocking(move || {
            if !path.exists() {
                return Vec::new();
            }
            let Ok(reader) = Reader::open(&path) else {
                return Vec::new();
            };
            let ids = reader.unfinished_bulk_updates().unwrap_or_default();
            ids.into_iter()
                .filter_map(|id| reader.bulk_entry(id).ok().flatten())
                .collect::<Vec<_>>()
        })
        .await
        .unwrap_or_default();
        for update in unfinished {
            let name = &update.file_name;
            let id = update.id;
            eprintln!(
                "shelfsync: warning: {}",
                match update.state {
                    BulkState::RollingBack | BulkState::Undoing => format!(
                        "bulk update {id} ({name}) was interrupted while {}; run `shelfsync \
                         bulk recover` to carry it to its end",
                        crate::failure::bulk_state(update.state)
                    ),
                    _ => format!(
                        "bulk update {id} ({name}) was interrupted; run `shelfsync bulk \
                         recover` to roll it back or `shelfsync bulk recover --finish` to \
                         send the rest"
                    ),
                }
            );
        }
    }
}

fn default_data_dir() -> Result<PathBuf, Failure> {
    let base = dirs::data_dir().ok_or_else(|| {
        Failure::usage(
            "Shelfsync could not find this computer's data folder. Pass --data-dir DIR or set \
             SHELFSYNC_DATA_DIR.",
        )
    })?;
    Ok(base.join(APP_DIR))
}
