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
    Migration {
        version: 3,
        name: "orders",
        sql: include_str!("../migrations/0003_orders.sql"),
    },
    Migration {
        version: 4,
        name: "search",
        sql: include_str!("../migrations/0004_search.sql"),
    },
    Migration {
        version: 5,
        name: "bulk updates",
        sql: include_str!("../migrations/0005_bulk_updates.sql"),
    },
    Migration {
        version: 6,
        name: "bulk update counts",
        sql: include_str!("../migrations/0006_bulk_update_counts.sql"),
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

    use crate::{Database, Reader};

    fn dump_schema(conn: &Connection) -> Vec<(String, String)> {
        let mut stmt = conn
            .prepare("SELECT name, sql FROM sqlite_schema WHERE sql IS NOT NULL ORDER BY name")
            .unwrap();
        stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .unwrap()
            .collect::<rusqlite::Result<_>>()
            .unwrap()
    }

    fn table_names(conn: &Connection) -> Vec<String> {
        dump_schema(conn)
            .into_iter()
            .map(|(name, _)| name)
            .filter(|name| !name.starts_with("sqlite_"))
            .collect()
    }

    #[test]
    fn migration_1_on_an_empty_database_creates_the_catalogue() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("shop.sqlite3");
        let mut conn = Connection::open(&path).unwrap();
        assert_eq!(migrate(&mut conn, &path, &MIGRATIONS[..1]).unwrap(), 0);
        assert_eq!(user_version(&conn).unwrap(), 1);
        let names = table_names(&conn);
        for table in [
            "shop",
            "locations",
            "products",
            "variants",
            "inventory_levels",
            "orders",
            "order_line_items",
            "sync_watermarks",
        ] {
            assert!(
                names.iter().any(|n| n == table),
                "{table} missing: {names:?}"
            );
        }
        assert!(
            !names.iter().any(|n| n == "jobs"),
            "jobs come with schema 2"
        );
        let app_id: i64 = conn
            .pragma_query_value(None, "application_id", |r| r.get(0))
            .unwrap();
        assert_eq!(app_id, APPLICATION_ID);
    }

    #[test]
    fn migration_2_on_a_schema_1_database_with_data_keeps_the_data_and_audits_changes() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("shop.sqlite3");
        {
            let mut conn = Connection::open(&path).unwrap();
            conn.pragma_update(None, "journal_mode", "WAL").unwrap();
            migrate(&mut conn, &path, &MIGRATIONS[..1]).unwrap();
            conn.execute_batch(
                "INSERT INTO locations VALUES (1, 'Back room', 1, NULL, NULL, 0);
                 INSERT INTO products VALUES (10, 'Blue Mug', 'blue-mug', 'ACTIVE', NULL, NULL,
                     '2026-01-01T00:00:00Z', 1767225600000, 'import', 0);
                 INSERT INTO variants VALUES (100, 10, 'Small', 'MUG-S', '18.00', NULL, 1000,
                     '2026-01-01T00:00:00Z', 1767225600000, 'import', 0);
                 INSERT INTO inventory_levels VALUES (1000, 1, 5, 7, 2, 0, 0, 0, 0, 0,
                     '2026-01-01T00:00:00Z', 1767225600000, 'import', 0);
                 INSERT INTO sync_watermarks VALUES ('products', '2026-01-01T00:00:00Z',
                     1767225600000, 0);
                 INSERT INTO orders VALUES (5001, '#1001', '2026-01-02T00:00:00Z', 1767312000000,
                     '2026-01-02T00:00:00Z', 1767312000000, NULL, 'PAID', NULL, 'EUR', '36.00', 0);
                 INSERT INTO order_line_items VALUES (7001, 5001, 100, 'MUG-S', 'Blue Mug', 2,
                     '18.00');",
            )
            .unwrap();
        }

        let mut db = Database::open(&path).unwrap();
        let reader = db.reader().unwrap();
        assert_eq!(user_version(&reader.conn).unwrap(), SCHEMA_VERSION);
        let levels = reader.levels_for_variant(100).unwrap();
        assert_eq!(levels.len(), 1);
        assert_eq!(levels[0].level.quantities.available, Some(5));
        assert_eq!(levels[0].source, crate::Source::Import);
        assert_eq!(
            reader
                .watermark(crate::Resource::Products)
                .unwrap()
                .unwrap()
                .as_str(),
            "2026-01-01T00:00:00Z"
        );
        assert_eq!(
            reader.variant(100).unwrap().unwrap().price.as_str(),
            "18.00"
        );

        // An order cached under schema 1 keeps its lines under schema 3.
        let order = reader.order(5001).unwrap().unwrap();
        assert_eq!(order.line_items.len(), 1);
        assert_eq!(
            (
                order.line_items[0].quantity,
                order.line_items[0].current_quantity
            ),
            (2, 2)
        );

        // The audit triggers of schema 2 cover rows written under schema 1.
        let mut level = levels[0].level.clone();
        level.quantities.available = Some(4);
        level.updated_at = None;
        db.upsert_levels(&[level], crate::Source::Webhook).unwrap();
        let trail = reader.audit_for("inventory_level", "1000@1").unwrap();
        assert_eq!(trail.len(), 1);
        assert_eq!(
            (trail[0].before.as_deref(), trail[0].after.as_deref()),
            (Some("5"), Some("4"))
        );
        // And the queue of schema 2 works.
        db.enqueue(&crate::NewJob {
            kind: "sync.products".into(),
            payload: serde_json::json!({}),
            dedupe_key: None,
            run_at: None,
        })
        .unwrap();
        assert!(db.claim_next_job().unwrap().is_some());
    }

    #[test]
    fn reopening_a_current_database_changes_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("shop.sqlite3");
        let db = Database::open(&path).unwrap();
        let before = dump_schema(&db.conn);
        drop(db);
        for _ in 0..2 {
            let db = Database::open(&path).unwrap();
            assert_eq!(dump_schema(&db.conn), before);
            assert_eq!(user_version(&db.conn).unwrap(), SCHEMA_VERSION);
        }
        let mut conn = Connection::open(&path).unwrap();
        assert_eq!(
            migrate(&mut conn, &path, MIGRATIONS).unwrap(),
            SCHEMA_VERSION
        );
    }

    #[test]
    fn a_database_from_a_newer_shelfsync_is_refused_and_left_untouched() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("shop.sqlite3");
        drop(Database::open(&path).unwrap());
        let newer = SCHEMA_VERSION + 1;
        {
            let conn = Connection::open(&path).unwrap();
            conn.pragma_update(None, "user_version", newer).unwrap();
        }

        let err = Database::open(&path).unwrap_err();
        assert!(
            matches!(err, Error::NewerSchema { found, supported, .. }
                if found == newer && supported == SCHEMA_VERSION),
            "{err:?}"
        );
        let message = err.to_string();
        assert!(
            message.contains(&format!("written by a newer Shelfsync (schema {newer})")),
            "{message}"
        );
        assert!(
            message.contains(&format!("schema {SCHEMA_VERSION} at most")),
            "{message}"
        );
        assert!(message.contains("Update Shelfsync"), "{message}");

        let err = Reader::open(&path).unwrap_err();
        assert!(matches!(err, Error::NewerSchema { .. }), "{err:?}");

        let conn = Connection::open(&path).unwrap();
        assert_eq!(user_version(&conn).unwrap(), newer);
    }

    #[test]
    fn a_reader_on_a_database_not_yet_upgraded_says_how_to_upgrade_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("shop.sqlite3");
        let mut conn = Connection::open(&path).unwrap();
        migrate(&mut conn, &path, &MIGRATIONS[..1]).unwrap();
        let err = Reader::open(&path).unwrap_err();
        assert!(
            matches!(err, Error::OlderSchema { found: 1, .. }),
            "{err:?}"
        );
        assert!(err.to_string().contains("Start the Shelfsync app"), "{err}");
    }

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
