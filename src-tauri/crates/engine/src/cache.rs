//! Shared, async-friendly access to a store's SQLite cache.
//!
//! SQLite calls block, so every call runs on tokio's blocking pool. The single writer
//! ([`Database`]) sits behind a `std::sync::Mutex` that is taken *inside* the blocking
//! closure and released before the closure returns: no lock is ever held across an
//! `.await`. Reads use a fresh [`Reader`] per call, which in WAL mode never waits behind a
//! write, so the UI stays responsive during a long sync.

use shelfsync_store::{Database, Reader};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

#[derive(Clone)]
pub struct Cache {
    db: Arc<Mutex<Database>>,
    path: PathBuf,
}

impl std::fmt::Debug for Cache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Cache").field("path", &self.path).finish()
    }
}

#[derive(Debug, thiserror::Error)]
pub enum CacheError {
    #[error(transparent)]
    Store(#[from] shelfsync_store::Error),
    #[error("a database task stopped unexpectedly: {0}")]
    Task(String),
}

impl Cache {
    /// Opens (creating and migrating if needed) the cache file at `path`.
    pub async fn open(path: impl AsRef<Path>) -> Result<Self, CacheError> {
        let path = path.as_ref().to_path_buf();
        let p = path.clone();
        let db = tokio::task::spawn_blocking(move || Database::open(&p))
            .await
            .map_err(|e| CacheError::Task(e.to_string()))??;
        Ok(Self {
            db: Arc::new(Mutex::new(db)),
            path,
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Runs `f` with the writer, on the blocking pool.
    pub async fn write<T, F>(&self, f: F) -> Result<T, CacheError>
    where
        T: Send + 'static,
        F: FnOnce(&mut Database) -> shelfsync_store::Result<T> + Send + 'static,
    {
        let db = self.db.clone();
        tokio::task::spawn_blocking(move || {
            let mut guard = db.lock().unwrap_or_else(|p| p.into_inner());
            f(&mut guard)
        })
        .await
        .map_err(|e| CacheError::Task(e.to_string()))?
        .map_err(CacheError::Store)
    }

    /// Runs `f` with a read-only connection, on the blocking pool.
    pub async fn read<T, F>(&self, f: F) -> Result<T, CacheError>
    where
        T: Send + 'static,
        F: FnOnce(&Reader) -> shelfsync_store::Result<T> + Send + 'static,
    {
        let path = self.path.clone();
        tokio::task::spawn_blocking(move || {
            let reader = Reader::open(&path)?;
            f(&reader)
        })
        .await
        .map_err(|e| CacheError::Task(e.to_string()))?
        .map_err(CacheError::Store)
    }
}
