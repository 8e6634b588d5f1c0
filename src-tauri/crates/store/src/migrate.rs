//! Embedded schema migrations.
//!
//! The schema version lives in SQLite's `PRAGMA user_version` (0 for a new,
//! empty file). Each migration runs in its own `BEGIN IMMEDIATE` transaction
//! together with the version bump, so a failure leaves the file exactly at
//! the previous version, and two processes opening the same new file cannot
//! both apply a migration: the second one re-reads the version after taking
//! the write lock. A file whose version is newer than the newest migration is
//! refused rather than guessed at. `rusqlite_migration` does the same over
//! `user_version` but does not support rusqlite 0.43, hence this small runner.

use std::path::Path;

use rusqlite::{Connection, TransactionBehavior};

use crate::error::{Error, Result};

/// One step of the schema.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Migration {
    /// The version the database has after this step (1, 2, ...).
    pub version: u32,
    /// Short name, for error messages.
    pub name: &'static str,
    /// The SQL, run as one batch.
    pub sql: &'static str,
}

/// Every migration, in order. Never edit a released one: add a new one.
pub(crate) const MIGRATIONS: &[Migration] = &[
    Migration {
        version: 1,
        name: "catalogue",
        sql: include_str!("../migrations/0001_catalogue.sql"),
    },
    Migration {
        version: 2,
        name: "operations",
        sql: include_str!("../migrations/0002_operations.sql"),
    },
];

/// The schema version this build writes.
pub const SCHEMA_VERSION: u32 = MIGRATIONS[MIGRATIONS.len() - 1].version;

/// `PRAGMA application_id` of a Shelfsync database ('SSNC').
pub(crate) const APPLICATION_ID: i64 = 0x5353_4E43;

pub(crate) fn user_version(conn: &Connection) -> rusqlite::Result<u32> {
    conn.pragma_query_value(None, "user_version", |row| row.get(0))
}

fn refuse_newer(path: &Path, found: u32, supported: u32) -> Result<()> {
    if found > supported {
        return Err(Error::NewerSchema {
            path: path.to_path_buf(),
            found,
            supported,
        });
    }
    Ok(())
}

/// Refuses files that belong to another program: a non-zero application id
/// that is not ours, or tables in a file with no schema version.
fn refuse_foreign(conn: &Connection, path: &Path, version: u32) -> Result<()> {
    let app_id: i64 = conn.pragma_query_value(None, "application_id", |row| row.get(0))?;
    let tables: i64 = conn.query_row(
        "SELECT count(*) FROM sqlite_schema WHERE type = 'table'",
        [],
        |row| row.get(0),
    )?;
    let foreign = (app_id != 0 && app_id != APPLICATION_ID) || (version == 0 && tables > 0);
    if foreign {
        return Err(Error::ForeignDatabase {
            path: path.to_path_buf(),
        });
    }
    Ok(())
}

/// Brings the database up to the last of `migrations`. Returns the version
/// found before migrating.
pub(crate) fn migrate(conn: &mut Connection, path: &Path, migrations: &[Migration]) -> Result<u32> {
    let supported = migrations.last().map_or(0, |m| m.version);
    let found = user_version(conn).map_err(|e| Error::at_path(e, path))?;
    refuse_newer(path, found, supported)?;
    refuse_foreign(conn, path, found)?;

    for migration in migrations {
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        // Another process may have migrated while this one waited for the lock.
        let current = user_version(&tx)?;
        refuse_newer(path, current, supported)?;
        if current >= migration.version {
            continue;
        }
        let wrap = |source| Error::Migration {
            path: path.to_path_buf(),
            version: migration.version,
            name: migration.name,
            source,
        };
        tx.execute_batch(migration.sql).map_err(wrap)?;
        tx.pragma_update(None, "user_version", migration.version)
            .map_err(wrap)?;
        tx.commit().map_err(wrap)?;
        tracing::info!(
            version = migration.version,
            name = migration.name,
            "applied schema migration"
        );
    }
    Ok(found)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_are_consecutive_from_one() {
        for (index, migration) in MIGRATIONS.iter().enumerate() {
            assert_eq!(migration.version as usize, index + 1, "{}", migration.name);
        }
    }

    #[test]
    fn a_failing_migration_leaves_the_previous_version_and_data() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("shop.sqlite3");
        let mut conn = Connection::open(&path).unwrap();
        migrate(&mut conn, &path, &MIGRATIONS[..1]).unwrap();
        conn.execute(
            "INSERT INTO locations (id, name, is_active, recorded_at_ms) VALUES (1, 'Shop', 1, 0)",
            [],
        )
        .unwrap();

        let broken = [
            MIGRATIONS[0],
            Migration {
                version: 2,
                name: "broken",
                sql: "CREATE TABLE half_done (id INTEGER); INSERT INTO no_such_table VALUES (1);",
            },
        ];
        let err = migrate(&mut conn, &path, &broken).unwrap_err();
        assert!(
            matches!(
                err,
                Error::Migration {
                    version: 2,
                    name: "broken",
                    ..
                }
            ),
            "{err:?}"
        );
        assert!(err.to_string().contains("left as it was"), "{err}");

        assert_eq!(user_version(&conn).unwrap(), 1);
        let half_done: i64 = conn
            .query_row(
                "SELECT count(*) FROM sqlite_schema WHERE name = 'half_done'",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(half_done, 0, "the failed migration was rolled back");
        let name: String = conn
            .query_row("SELECT name FROM locations WHERE id = 1", [], |r| r.get(0))
            .unwrap();
        assert_eq!(name, "Shop");
    }

    #[test]
    fn a_file_of_another_program_is_refused_and_left_alone() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("other.sqlite3");
        let mut conn = Connection::open(&path).unwrap();
        conn.execute_batch("CREATE TABLE notes (body TEXT); INSERT INTO notes VALUES ('keep');")
            .unwrap();
        let err = migrate(&mut conn, &path, MIGRATIONS).unwrap_err();
        assert!(matches!(err, Error::ForeignDatabase { .. }), "{err:?}");
        assert_eq!(user_version(&conn).unwrap(), 0);
        let body: String = conn
            .query_row("SELECT body FROM notes", [], |r| r.get(0))
            .unwrap();
        assert_eq!(body, "keep");
    }
}
