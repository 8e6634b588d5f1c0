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
//! is written in a transaction opened with
//! [`Database::write_with`]`(`[`Durability::Full`]`)`: SQLite only lets the
//! level change outside a transaction, so that transaction switches to
//! `synchronous=FULL` before `BEGIN` and back to `NORMAL` once it ends.

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

/// How hard a commit works to survive a power cut.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Durability {
    /// `synchronous=NORMAL`: survives a crash of the process; the last
    /// commits may be lost if the machine loses power. Right for the cache.
    #[default]
    Normal,
    /// `synchronous=FULL`: the commit is on the disk before it returns.
    /// Slower; for data that cannot be fetched from Shopify again.
    Full,
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
        self.write_with(Durability::Normal)
    }

    /// [`Database::write`] with a choice of [`Durability`].
    pub fn write_with(&mut self, durability: Durability) -> Result<WriteTx<'_>> {
        self.begin(durability == Durability::Full, false)
    }

    /// A write transaction for a bulk load of the catalogue (a full sync's batches).
    ///
    /// The same transaction as [`Database::write`], except that SQLite does not re-evaluate
    /// the tables' `CHECK` constraints: the `source IN (…)` check is compiled to a small
    /// temporary table that SQLite rebuilds for every row written, which costs a bulk load
    /// close to half its time, and the values it guards come from [`crate::Source`], which
    /// cannot hold anything else. Foreign keys, `NOT NULL` and `STRICT` types are still
    /// enforced. Use it only with the catalogue upserts and inserts of [`WriteTx`].
    pub fn write_bulk(&mut self) -> Result<WriteTx<'_>> {
        self.begin(false, true)
    }

    fn begin(&mut self, durable: bool, unchecked: bool) -> Result<WriteTx<'_>> {
        let now = (self.clock)();
        if durable {
            self.conn.execute_batch("PRAGMA synchronous = FULL")?;
        }
        if unchecked {
            self.conn
                .execute_batch("PRAGMA ignore_check_constraints = ON")?;
        }
        let mut tx = WriteTx {
            conn: &self.conn,
            now,
            durable,
            unchecked,
            finished: true,
        };
        // On failure, dropping `tx` puts the connection's settings back.
        tx.conn.execute_batch("BEGIN IMMEDIATE")?;
        tx.finished = false;
        Ok(tx)
    }
}

/// A write transaction. All rows written through it share one "recorded at"
/// time and become visible together on commit.
pub struct WriteTx<'db> {
    pub(crate) conn: &'db Connection,
    pub(crate) now: Timestamp,
    durable: bool,
    /// `CHECK` constraints are off until the transaction ends ([`Database::write_bulk`]).
    unchecked: bool,
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

    /// Makes every write of this transaction visible to readers and durable
    /// against a crash of the process (see [`Durability`] for power cuts).
    pub fn commit(mut self) -> Result<()> {
        self.finished = true;
        let result = self.conn.execute_batch("COMMIT");
        if result.is_err() && !self.conn.is_autocommit() {
            let _ = self.conn.execute_batch("ROLLBACK");
        }
        self.restore_sync_level();
        Ok(result?)
    }

    /// Discards every write of this transaction.
    pub fn rollback(mut self) -> Result<()> {
        self.finished = true;
        let result = self.conn.execute_batch("ROLLBACK");
        self.restore_sync_level();
        Ok(result?)
    }

    fn restore_sync_level(&mut self) {
        if std::mem::take(&mut self.durable) {
            // Cannot fail outside a transaction; if it somehow did, the
            // connection would merely stay at the safer FULL level.
            let _ = self.conn.execute_batch("PRAGMA synchronous = NORMAL");
        }
        if std::mem::take(&mut self.unchecked) {
            // Setting a flag cannot fail; it also expires statements compiled
            // without the checks, so none is reused with them off.
            let _ = self
                .conn
                .execute_batch("PRAGMA ignore_check_constraints = OFF");
        }
    }
}

impl Drop for WriteTx<'_> {
    fn drop(&mut self) {
        if !self.finished && !self.conn.is_autocommit() {
            // Nothing useful to do if this fails: SQLite rolls back on close.
            let _ = self.conn.execute_batch("ROLLBACK");
        }
        self.restore_sync_level();
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Level, Location, Product, Quantities, ShopifyTime, Source, Variant};

    fn at(text: &str) -> ShopifyTime {
        ShopifyTime::parse(text).unwrap()
    }

    fn catalogue(db: &mut Database, variants: i64) -> Vec<Variant> {
        let variants: Vec<Variant> = (1..=variants)
            .map(|i| Variant {
                id: i,
                product_id: 1,
                title: format!("Size {i}"),
                sku: Some(format!("TEE-{i:06}")),
                price: crate::Money::new("25.00").unwrap(),
                compare_at_price: None,
                inventory_item_id: 10_000 + i,
                updated_at: at("2026-02-01T00:00:00Z"),
            })
            .collect();
        let tx = db.write().unwrap();
        tx.upsert_locations(&[Location {
            id: 1,
            name: "Shop".into(),
            is_active: true,
            updated_at: None,
        }])
        .unwrap();
        tx.upsert_products(
            &[Product {
                id: 1,
                title: "Tee".into(),
                handle: "tee".into(),
                status: "ACTIVE".into(),
                vendor: None,
                product_type: None,
                updated_at: at("2026-02-01T00:00:00Z"),
            }],
            Source::Import,
        )
        .unwrap();
        tx.upsert_variants(&variants, Source::Import).unwrap();
        tx.commit().unwrap();
        variants
    }

    fn pragma(conn: &Connection, name: &str) -> i64 {
        conn.pragma_query_value(None, name, |r| r.get(0)).unwrap()
    }

    #[test]
    fn the_writer_runs_with_foreign_keys_normal_sync_and_a_busy_timeout() {
        let dir = tempfile::tempdir().unwrap();
        let db = Database::open(dir.path().join("a/b/shop.sqlite3")).unwrap();
        assert_eq!(pragma(&db.conn, "foreign_keys"), 1);
        assert_eq!(pragma(&db.conn, "synchronous"), 1, "NORMAL");
        assert_eq!(pragma(&db.conn, "busy_timeout"), 5000);
        let reader = db.reader().unwrap();
        assert_eq!(pragma(&reader.conn, "busy_timeout"), 5000);
        assert!(
            reader.conn.execute("DELETE FROM jobs", []).is_err(),
            "readers cannot write"
        );
    }

    #[test]
    fn a_durable_transaction_uses_full_sync_and_then_returns_to_normal() {
        let dir = tempfile::tempdir().unwrap();
        let mut db = Database::open(dir.path().join("shop.sqlite3")).unwrap();

        let tx = db.write_with(Durability::Full).unwrap();
        assert_eq!(pragma(tx.conn, "synchronous"), 2, "FULL");
        tx.conn
            .execute("INSERT INTO shop VALUES (1, 'a', 'A', 'EUR', NULL, 0)", [])
            .unwrap();
        tx.commit().unwrap();
        assert_eq!(pragma(&db.conn, "synchronous"), 1, "back to NORMAL");

        drop(db.write_with(Durability::Full).unwrap());
        assert_eq!(pragma(&db.conn, "synchronous"), 1, "also after a rollback");
        db.write_with(Durability::Full).unwrap().rollback().unwrap();
        assert_eq!(pragma(&db.conn, "synchronous"), 1);
        assert_eq!(db.reader().unwrap().shop().unwrap().unwrap().name, "A");
    }

    #[test]
    fn a_bulk_transaction_inserts_a_new_catalogue_and_checks_come_back_after_it() {
        let dir = tempfile::tempdir().unwrap();
        let mut db = Database::open(dir.path().join("shop.sqlite3")).unwrap();
        let variants = catalogue(&mut db, 3);
        let product = Product {
            id: 2,
            title: "Cap".into(),
            handle: "cap".into(),
            status: "ACTIVE".into(),
            vendor: None,
            product_type: None,
            updated_at: at("2026-02-01T00:00:00Z"),
        };
        let new = Variant {
            id: 9,
            product_id: 2,
            inventory_item_id: 10_009,
            ..variants[0].clone()
        };
        // Variant 1 is cached already: its cached row stays as it is.
        let again = Variant {
            title: "Changed".into(),
            ..variants[0].clone()
        };
        let level = Level {
            inventory_item_id: 10_009,
            location_id: 1,
            quantities: Quantities {
                available: Some(4),
                ..Quantities::default()
            },
            updated_at: None,
        };
        let tx = db.write_bulk().unwrap();
        let inserted = tx
            .insert_new_catalogue(&[product], &[new, again], &[level], Source::Poll)
            .unwrap();
        tx.commit().unwrap();
        assert_eq!(inserted, 3, "product, new variant, level");
        let reader = db.reader().unwrap();
        assert_eq!(reader.variant(1).unwrap().unwrap().title, "Size 1");
        assert_eq!(reader.levels_for_variant(9).unwrap().len(), 1);
        assert!(reader.recent_audit(10).unwrap().is_empty());

        // After the bulk transaction, CHECK constraints hold again.
        let tx = db.write().unwrap();
        let refused = tx
            .conn
            .execute("UPDATE variants SET source = 'somewhere' WHERE id = 1", []);
        assert!(refused.is_err(), "{refused:?}");
    }

    #[test]
    fn a_full_disk_is_reported_plainly_and_the_saved_data_survives() {
        let dir = tempfile::tempdir().unwrap();
        let mut db = Database::open(dir.path().join("shop.sqlite3")).unwrap();
        let variants = catalogue(&mut db, 50);
        let levels = |available: i64| -> Vec<Level> {
            variants
                .iter()
                .map(|v| Level {
                    inventory_item_id: v.inventory_item_id,
                    location_id: 1,
                    quantities: Quantities {
                        available: Some(available),
                        ..Quantities::default()
                    },
                    updated_at: None,
                })
                .collect()
        };
        db.upsert_levels(&levels(3), Source::Import).unwrap();

        // Let the file grow by no more than a few pages.
        let pages = pragma(&db.conn, "page_count");
        db.conn
            .pragma_update(None, "max_page_count", pages + 2)
            .unwrap();
        let big: Vec<Variant> = (1000..6000)
            .map(|i| Variant {
                id: i,
                sku: Some(format!("BIG-{i:06}-{}", "x".repeat(40))),
                inventory_item_id: 100_000 + i,
                ..variants[0].clone()
            })
            .collect();
        let err = db.upsert_variants(&big, Source::Import).unwrap_err();
        assert!(matches!(err, Error::DiskFull), "{err:?}");
        let message = err.to_string();
        assert!(message.starts_with("The disk is full"), "{message}");
        assert!(
            message.contains("Free some space; nothing was lost"),
            "{message}"
        );

        // Nothing of the failed batch, everything from before.
        let reader = db.reader().unwrap();
        let counts = reader.counts().unwrap();
        assert_eq!((counts.variants, counts.levels), (50, 50));
        let level = &reader.levels_for_variant(7).unwrap()[0];
        assert_eq!(level.level.quantities.available, Some(3));

        // Once space is freed, the same writer carries on.
        db.conn
            .pragma_update(None, "max_page_count", 1_073_741_823)
            .unwrap();
        assert_eq!(db.upsert_variants(&big, Source::Import).unwrap(), 5000);
        assert_eq!(reader.counts().unwrap().variants, 5050);
    }

    #[test]
    fn a_damaged_file_is_named_and_not_overwritten() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("shop.sqlite3");
        let garbage =
            b"this is not an SQLite database, it is a shopping list: milk, eggs".repeat(100);
        std::fs::write(&path, &garbage).unwrap();
        let err = Database::open(&path).unwrap_err();
        assert!(
            matches!(&err, Error::Corrupt { path: Some(p) } if p == &path),
            "{err:?}"
        );
        assert!(err.to_string().contains("Move it aside"), "{err}");
        assert_eq!(std::fs::read(&path).unwrap(), garbage);
    }

    #[test]
    fn a_folder_in_place_of_the_file_cannot_be_opened_and_says_where() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("shop.sqlite3");
        std::fs::create_dir(&path).unwrap();
        let err = Database::open(&path).unwrap_err();
        assert!(
            matches!(&err, Error::CannotOpen { path: p, .. } if p == &path),
            "{err:?}"
        );
        assert!(err.to_string().contains("shop.sqlite3"), "{err}");
    }
}
