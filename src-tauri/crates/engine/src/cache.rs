//! Shared, async-friendly access to a store's SQLite cache.
//!
//! SQLite calls block, so every call runs on tokio's blocking pool. The single writer
//! ([`Database`]) sits behind a `std::sync::Mutex` that is taken *inside* the blocking
//! closure and released before the closure returns: no lock is ever held across an
//! `.await`. Reads use read-only [`Reader`] connections, which in WAL mode never wait behind a
//! write, so the UI stays responsive during a long sync. Opening one costs more than a small
//! query (the file is opened and the schema read), so a few are kept for reuse: a read takes
//! one from the pool or opens one, and puts it back afterwards. Each statement still sees the
//! last committed state: a reader idle in the pool holds no snapshot.

use shelfsync_store::{Database, Reader};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

/// Readers kept for reuse; more may be open at once, the rest are closed after use.
const POOLED_READERS: usize = 4;

#[derive(Clone)]
pub struct Cache {
    db: Arc<Mutex<Database>>,
    readers: Arc<Mutex<Vec<Reader>>>,
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
            readers: Arc::new(Mutex::new(Vec::new())),
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
        let readers = self.readers.clone();
        tokio::task::spawn_blocking(move || {
            let pooled = readers.lock().unwrap_or_else(|p| p.into_inner()).pop();
            let reader = match pooled {
                Some(reader) => reader,
                None => Reader::open(&path)?,
            };
            let result = f(&reader);
            let mut pool = readers.lock().unwrap_or_else(|p| p.into_inner());
            if pool.len() < POOLED_READERS {
                pool.push(reader);
            }
            result
        })
        .await
        .map_err(|e| CacheError::Task(e.to_string()))?
        .map_err(CacheError::Store)
    }
}
