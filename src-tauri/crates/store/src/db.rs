//! Opening a store's database, the writer, the readers and transactions.
//!
//! There is exactly one writer per store: [`Database`] takes an exclusive OS
//! lock on a `.lock` file next to the database, so a second app window or a
//! daemon for the same store is refused with a clear message instead of
//! racing on the work queue. Readers ([`Reader`]) take no lock: in WAL mode a
//! read-only connection sees the last committed state and never waits for a
//! write in progress, which keeps the UI responsive during a long import.
//!
//! Durability: the cache runs with `synchronous=NORMAL`, which in WAL mode
//! never corrupts the file but may lose the last commits on power loss;
//! everything in the cache can be fetched from Shopify again. Data that
//! cannot be fetched again (a webhook delivery that was already acknowledged)
//! is committed with [`WriteTx::commit_durable`], which runs that one commit
//! with `synchronous=FULL` and then returns to `NORMAL`.

use std::fs::{File, TryLockError};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use jiff::Timestamp;
use rusqlite::{Connection, OpenFlags};

use crate::error::{Error, Result};
use crate::migrate::{self, MIGRATIONS, SCHEMA_VERSION};

/// The source of "now" for everything the store records. Tests and the
/// engine's paused-time runs inject their own.
pub type Clock = Arc<dyn Fn() -> Timestamp + Send + Sync>;

/// How long a connection waits for a lock held by another connection before
/// reporting [`Error::Busy`].
pub const DEFAULT_BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// Options for [`Database::open_with`].
#[derive(Clone)]
pub struct OpenOptions {
    /// See [`DEFAULT_BUSY_TIMEOUT`].
    pub busy_timeout: Duration,
    /// Where "now" comes from.
    pub clock: Clock,
}

impl Default for OpenOptions {
    fn default() -> Self {
        OpenOptions {
            busy_timeout: DEFAULT_BUSY_TIMEOUT,
            clock: Arc::new(Timestamp::now),
        }
    }
}

impl std::fmt::Debug for OpenOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OpenOptions")
            .field("busy_timeout", &self.busy_timeout)
            .finish_non_exhaustive()
    }
}

/// A store's database, open for writing.
pub struct Database {
    pub(crate) conn: Connection,
    path: PathBuf,
    clock: Clock,
    busy_timeout: Duration,
    requeued: usize,
    // Held for the lifetime of the writer; the OS drops the lock if the process dies.
    _lock: File,
}

impl std::fmt::Debug for Database {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Database")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

fn lock_path(path: &Path) -> PathBuf {
    let mut name = path
        .file_name()
        .map(|n| n.to_os_string())
        .unwrap_or_default();
    name.push(".lock");
    path.with_file_name(name)
}

fn cannot_open(path: &Path, err: impl std::fmt::Display) -> Error {
    Error::CannotOpen {
        path: path.to_path_buf(),
        reason: err.to_string(),
    }
}

impl Database {
    /// Opens (creating it if needed) the database at `path` with default
    /// options, applies pending migrations, and puts back in the queue any
    /// job a previous process left running.
    pub fn open(path: impl AsRef<Path>) -> Result<Self> {
        Self::open_with(path, OpenOptions::default())
    }

    /// [`Database::open`] with options.
    pub fn open_with(path: impl AsRef<Path>, options: OpenOptions) -> Result<Self> {
        let path = path.as_ref().to_path_buf();
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent).map_err(|e| cannot_open(&path, e))?;
        }
        let lock = File::options()
            .create(true)
            .truncate(false)
            .write(true)
            .open(lock_path(&path))
            .map_err(|e| cannot_open(&path, e))?;
        match lock.try_lock() {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => return Err(Error::AlreadyOpen { path }),
            Err(TryLockError::Error(e)) => return Err(cannot_open(&path, e)),
        }

        let at = |e| Error::at_path(e, &path);
        let mut conn = Connection::open(&path).map_err(at)?;
        conn.busy_timeout(options.busy_timeout).map_err(at)?;
        let mode: String = conn
            .pragma_update_and_check(None, "journal_mode", "WAL", |row| row.get(0))
            .map_err(at)?;
        if !mode.eq_ignore_ascii_case("wal") {
            return Err(cannot_open(
                &path,
                format!("the file system does not support write-ahead logging (mode {mode})"),
            ));
        }
        conn.pragma_update(None, "foreign_keys", true).map_err(at)?;
        conn.pragma_update(None, "synchronous", "NORMAL")
            .map_err(at)?;

        let found = migrate::migrate(&mut conn, &path, MIGRATIONS)?;
        if found == 0 {
            tracing::info!(path = %path.display(), "created store database");
        }

        let mut db = Database {
            conn,
            path,
            clock: options.clock,
            busy_timeout: options.busy_timeout,
            requeued: 0,
            _lock: lock,
        };
        db.requeued = crate::queue::requeue_abandoned(&mut db)?;
        if db.requeued > 0 {
            tracing::warn!(
                jobs = db.requeued,
                "jobs left running by a previous process were put back in the queue"
            );
        }
        Ok(db)
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The schema version this build reads and writes.
    pub const fn schema_version() -> u32 {
        SCHEMA_VERSION
    }

    /// How many jobs a previous process had left `running` and were put back
    /// to `pending` when this database was opened.
    pub fn requeued_on_open(&self) -> usize {
        self.requeued
    }

    /// A separate read-only connection for queries (e.g. one per UI thread).
    pub fn reader(&self) -> Result<Reader> {
        Reader::open_with_timeout(&self.path, self.busy_timeout)
    }

    /// Starts a write transaction (`BEGIN IMMEDIATE`: it takes the write lock
    /// now, so it cannot fail half-way for lock reasons). Dropping it without
    /// committing rolls everything back.
    pub fn write(&mut self) -> Result<WriteTx<'_>> {
        let now = (self.clock)();
        self.conn.execute_batch("BEGIN IMMEDIATE")?;
        Ok(WriteTx {
            conn: &self.conn,
            now,
            finished: false,
        })
    }
}

/// A write transaction. All rows written through it share one "recorded at"
/// time and become visible together on commit.
pub struct WriteTx<'db> {
    pub(crate) conn: &'db Connection,
    pub(crate) now: Timestamp,
    finished: bool,
}

impl std::fmt::Debug for WriteTx<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WriteTx")
            .field("now", &self.now)
            .finish_non_exhaustive()
    }
}

impl WriteTx<'_> {
    /// The time recorded on rows written in this transaction.
    pub fn now(&self) -> Timestamp {
        self.now
    }

    pub(crate) fn now_ms(&self) -> i64 {
        self.now.as_millisecond()
    }

    /// Makes every write of this transaction durable against a crash of the
    /// process (and, within `synchronous=NORMAL`, of the machine).
    pub fn commit(mut self) -> Result<()> {
        self.conn.execute_batch("COMMIT")?;
        self.finished = true;
        Ok(())
    }

    /// Commits with `synchronous=FULL`: the write-ahead log is flushed to
    /// the disk before this returns, so the commit also survives a power
    /// cut. Slower; meant for data that cannot be fetched again, such as
    /// webhook deliveries Shopify has been told were received.
    pub fn commit_durable(mut self) -> Result<()> {
        let result = self
            .conn
            .execute_batch("PRAGMA synchronous = FULL; COMMIT;");
        let restored = self.conn.execute_batch("PRAGMA synchronous = NORMAL");
        result?;
        self.finished = true;
        restored?;
        Ok(())
    }

    /// Discards every write of this transaction.
    pub fn rollback(mut self) -> Result<()> {
        self.finished = true;
        self.conn.execute_batch("ROLLBACK")?;
        Ok(())
    }
}

impl Drop for WriteTx<'_> {
    fn drop(&mut self) {
        if !self.finished && !self.conn.is_autocommit() {
            // Nothing useful to do if this fails: SQLite rolls back on close.
            let _ = self.conn.execute_batch("ROLLBACK");
        }
    }
}

/// A read-only connection. Reads see the last committed state and never wait
/// for a write in progress.
pub struct Reader {
    pub(crate) conn: Connection,
}

impl std::fmt::Debug for Reader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Reader").finish_non_exhaustive()
    }
}

impl Reader {
    /// Opens an existing database read-only, e.g. for the CLI while the
    /// daemon owns the writer. Fails if the file does not exist yet or has
    /// not been upgraded to this build's schema.
    pub fn open(path: impl AsRef<Path>) -> Result<Self> {
        Self::open_with_timeout(path.as_ref(), DEFAULT_BUSY_TIMEOUT)
    }

    fn open_with_timeout(path: &Path, timeout: Duration) -> Result<Self> {
        let at = |e| Error::at_path(e, path);
        let conn = Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .map_err(at)?;
        conn.busy_timeout(timeout).map_err(at)?;
        let found = migrate::user_version(&conn).map_err(at)?;
        let supported = SCHEMA_VERSION;
        if found > supported {
            return Err(Error::NewerSchema {
                path: path.to_path_buf(),
                found,
                supported,
            });
        }
        if found < supported {
            return Err(Error::OlderSchema {
                path: path.to_path_buf(),
                found,
                supported,
            });
        }
        Ok(Reader { conn })
    }
}
