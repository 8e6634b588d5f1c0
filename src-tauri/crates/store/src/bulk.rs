//! The journal of bulk updates: the plan an owner confirmed, each request sent for it and
//! the outcome, kept so that a crash at any moment leaves enough to finish the update or undo
//! it, and so that a finished update can be undone later.
//!
//! The write-ahead rule lives in the engine: a step is recorded `sending` (in a FULL-durability
//! transaction) before its request leaves, and `done` or `rejected` after the answer. This
//! module keeps the rows and their states; the plan, the steps' rows and the outcome are the
//! engine's JSON.

use jiff::Timestamp;
use rusqlite::{OptionalExtension, params};

use crate::db::{Reader, WriteTx};
use crate::error::{Error, Result};
use crate::sql::timestamp;

/// How a bulk update treats a row someone changed since the plan.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum BulkMode {
    /// Any conflict stops the update and reverses what it applied.
    AllOrNothing,
    /// Conflicting rows are left out and listed; the rest is applied.
    SkipConflicts,
}

/// Where a bulk update is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum BulkState {
    Applying,
    Applied,
    RollingBack,
    RolledBack,
    Undoing,
    Undone,
}

impl BulkState {
    /// Whether the update stopped between two of its states (a crash or kill).
    pub fn is_unfinished(self) -> bool {
        matches!(self, Self::Applying | Self::RollingBack | Self::Undoing)
    }
}

/// Why a step was sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum StepPurpose {
    /// Writes part of the plan.
    Apply,
    /// Reverses what an apply step did.
    Reverse,
}

/// What became of a step's request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum StepState {
    /// Recorded before sending; no answer recorded yet.
    Sending,
    /// Shopify applied it.
    Done,
    /// Shopify refused it and changed nothing.
    Rejected,
}

/// How many changes a bulk update's plan holds, kept beside it for lists.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct BulkCounts {
    pub quantity_changes: u64,
    pub price_changes: u64,
}

/// A journaled bulk update.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BulkUpdate {
    pub entry: BulkEntry,
    /// The engine's plan, as JSON.
    pub plan: String,
}

/// A journaled bulk update as lists show it: everything but its plan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BulkEntry {
    pub id: i64,
    pub file_name: String,
    pub mode: BulkMode,
    pub state: BulkState,
    pub counts: BulkCounts,
    /// The engine's outcome, as JSON, once there is one.
    pub outcome: Option<String>,
    pub created_at: Timestamp,
    pub finished_at: Option<Timestamp>,
}

/// One request of a bulk update.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BulkStep {
    pub seq: i64,
    pub purpose: StepPurpose,
    pub idempotency_key: String,
    /// The engine's rows of the request, as JSON.
    pub request: String,
    pub state: StepState,
    /// The engine's record of the answer, as JSON.
    pub response: Option<String>,
    pub recorded_at: Timestamp,
}

fn text<T: serde::Serialize>(value: T) -> String {
    // Unit enum variants always serialize to a JSON string.
    serde_json::to_value(value)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default()
}

fn parse<T: serde::de::DeserializeOwned>(column: usize, value: String) -> rusqlite::Result<T> {
    serde_json::from_value(serde_json::Value::String(value)).map_err(|e| {
        rusqlite::Error::FromSqlConversionFailure(column, rusqlite::types::Type::Text, Box::new(e))
    })
}

const ENTRY_COLUMNS: &str = "id, file_name, mode, state, quantity_changes, price_changes, \
                             outcome, created_at_ms, finished_at_ms";

fn entry_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<BulkEntry> {
    let count = |i: usize| -> rusqlite::Result<u64> {
        let n: i64 = row.get(i)?;
        Ok(u64::try_from(n).unwrap_or(0))
    };
    Ok(BulkEntry {
        id: row.get(0)?,
        file_name: row.get(1)?,
        mode: parse(2, row.get(2)?)?,
        state: parse(3, row.get(3)?)?,
        counts: BulkCounts {
            quantity_changes: count(4)?,
            price_changes: count(5)?,
        },
        outcome: row.get(6)?,
        created_at: timestamp(row.get(7)?)?,
        finished_at: row.get::<_, Option<i64>>(8)?.map(timestamp).transpose()?,
    })
}

impl WriteTx<'_> {
    /// Records a bulk update about to be applied, with its plan's counts; returns its id.
    pub fn begin_bulk_update(
        &self,
        file_name: &str,
        mode: BulkMode,
        plan: &str,
        counts: BulkCounts,
    ) -> Result<i64> {
        let count = |n: u64| i64::try_from(n).unwrap_or(i64::MAX);
        self.conn.execute(
            "INSERT INTO bulk_updates (file_name, mode, state, plan, quantity_changes,
                                       price_changes, created_at_ms)
             VALUES (?1, ?2, 'applying', ?3, ?4, ?5, ?6)",
            params![
                file_name,
                text(mode),
                plan,
                count(counts.quantity_changes),
                count(counts.price_changes),
                self.now_ms()
            ],
        )?;
        Ok(self.conn.last_insert_rowid())
    }

    /// Moves a bulk update to `state`, with its outcome so far; a final state records when
    /// it finished.
    pub fn set_bulk_state(&self, id: i64, state: BulkState, outcome: Option<&str>) -> Result<()> {
        let finished = (!state.is_unfinished()).then(|| self.now_ms());
        let n = self.conn.execute(
            "UPDATE bulk_updates SET state = ?2, outcome = COALESCE(?3, outcome),
                 finished_at_ms = ?4
             WHERE id = ?1",
            params![id, text(state), outcome, finished],
        )?;
        if n == 0 {
            return Err(Error::Constraint(format!("no bulk update {id}")));
        }
        Ok(())
    }

    /// Records a step about to be sent; returns its sequence number.
    pub fn add_bulk_step(
        &self,
        id: i64,
        purpose: StepPurpose,
        idempotency_key: &str,
        request: &str,
    ) -> Result<i64> {
        let seq: i64 = self.conn.query_row(
            "SELECT COALESCE(MAX(seq), 0) + 1 FROM bulk_update_steps WHERE bulk_update_id = ?1",
            [id],
            |r| r.get(0),
        )?;
        self.conn.execute(
            "INSERT INTO bulk_update_steps
                 (bulk_update_id, seq, purpose, idempotency_key, request, state, recorded_at_ms)
             VALUES (?1, ?2, ?3, ?4, ?5, 'sending', ?6)",
            params![
                id,
                seq,
                text(purpose),
                idempotency_key,
                request,
                self.now_ms()
            ],
        )?;
        Ok(seq)
    }

    /// Records the answer to a step.
    pub fn finish_bulk_step(
        &self,
        id: i64,
        seq: i64,
        state: StepState,
        response: &str,
    ) -> Result<()> {
        self.conn.execute(
            "UPDATE bulk_update_steps SET state = ?3, response = ?4, recorded_at_ms = ?5
             WHERE bulk_update_id = ?1 AND seq = ?2",
            params![id, seq, text(state), response, self.now_ms()],
        )?;
        Ok(())
    }
}

/// A variant as a bulk update's plan needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SkuVariant {
    pub variant_id: i64,
    pub product_id: i64,
    pub sku: String,
    pub product_title: String,
    pub variant_title: String,
    pub price: String,
    pub compare_at_price: Option<String>,
    pub inventory_item_id: i64,
}

/// A cached level's `available` and `on_hand`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LevelQuantities {
    pub inventory_item_id: i64,
    pub location_id: i64,
    pub available: Option<i64>,
    pub on_hand: Option<i64>,
}

impl Reader {
    /// Every variant that has a SKU, for matching a file's rows (one read, not one per row).
    pub fn variants_with_sku(&self) -> Result<Vec<SkuVariant>> {
        let mut stmt = self.conn.prepare(
            "SELECT v.id, v.product_id, v.sku, p.title, v.title, v.price, v.compare_at_price,
                    v.inventory_item_id
             FROM variants v JOIN products p ON p.id = v.product_id
             WHERE v.sku IS NOT NULL AND v.sku <> ''",
        )?;
        let rows = stmt.query_map([], |r| {
            Ok(SkuVariant {
                variant_id: r.get(0)?,
                product_id: r.get(1)?,
                sku: r.get(2)?,
                product_title: r.get(3)?,
                variant_title: r.get(4)?,
                price: r.get(5)?,
                compare_at_price: r.get(6)?,
                inventory_item_id: r.get(7)?,
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// Every cached level's `available` and `on_hand`.
    pub fn level_quantities(&self) -> Result<Vec<LevelQuantities>> {
        let mut stmt = self.conn.prepare(
            "SELECT inventory_item_id, location_id, available, on_hand FROM inventory_levels",
        )?;
        let rows = stmt.query_map([], |r| {
            Ok(LevelQuantities {
                inventory_item_id: r.get(0)?,
                location_id: r.get(1)?,
                available: r.get(2)?,
                on_hand: r.get(3)?,
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// One bulk update, with its plan.
    pub fn bulk_update(&self, id: i64) -> Result<Option<BulkUpdate>> {
        Ok(self
            .conn
            .query_row(
                &format!("SELECT {ENTRY_COLUMNS}, plan FROM bulk_updates WHERE id = ?1"),
                [id],
                |row| {
                    Ok(BulkUpdate {
                        entry: entry_row(row)?,
                        plan: row.get(9)?,
                    })
                },
            )
            .optional()?)
    }

    /// One bulk update as lists show it, without reading its plan.
    pub fn bulk_entry(&self, id: i64) -> Result<Option<BulkEntry>> {
        Ok(self
            .conn
            .query_row(
                &format!("SELECT {ENTRY_COLUMNS} FROM bulk_updates WHERE id = ?1"),
                [id],
                entry_row,
            )
            .optional()?)
    }

    /// The file a bulk update came from, without reading its plan.
    pub fn bulk_update_file_name(&self, id: i64) -> Result<Option<String>> {
        Ok(self
            .conn
            .query_row(
                "SELECT file_name FROM bulk_updates WHERE id = ?1",
                [id],
                |r| r.get(0),
            )
            .optional()?)
    }

    /// The latest bulk updates, newest first, without their plans.
    pub fn bulk_updates(&self, limit: u32) -> Result<Vec<BulkEntry>> {
        let mut stmt = self.conn.prepare(&format!(
            "SELECT {ENTRY_COLUMNS} FROM bulk_updates ORDER BY id DESC LIMIT ?1"
        ))?;
        let rows = stmt.query_map([limit], entry_row)?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// The ids of bulk updates a crash or kill interrupted, oldest first.
    pub fn unfinished_bulk_updates(&self) -> Result<Vec<i64>> {
        let mut stmt = self.conn.prepare(
            "SELECT id FROM bulk_updates
             WHERE state IN ('applying', 'rolling-back', 'undoing') ORDER BY id",
        )?;
        let rows = stmt.query_map([], |r| r.get(0))?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// A bulk update's steps, in the order they were sent.
    pub fn bulk_steps(&self, id: i64) -> Result<Vec<BulkStep>> {
        let mut stmt = self.conn.prepare(
            "SELECT seq, purpose, idempotency_key, request, state, response, recorded_at_ms
             FROM bulk_update_steps WHERE bulk_update_id = ?1 ORDER BY seq",
        )?;
        let rows = stmt.query_map([id], |row| {
            Ok(BulkStep {
                seq: row.get(0)?,
                purpose: parse(1, row.get(1)?)?,
                idempotency_key: row.get(2)?,
                request: row.get(3)?,
                state: parse(4, row.get(4)?)?,
                response: row.get(5)?,
                recorded_at: timestamp(row.get(6)?)?,
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Database, Durability};

    #[test]
    fn a_journal_survives_reopening_with_its_steps_and_states() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.db");
        let id = {
            let mut db = Database::open(&path).unwrap();
            let tx = db.write_with(Durability::Full).unwrap();
            let id = tx
                .begin_bulk_update(
                    "stock.csv",
                    BulkMode::AllOrNothing,
                    "{\"rows\":[]}",
                    BulkCounts {
                        quantity_changes: 3,
                        price_changes: 1,
                    },
                )
                .unwrap();
            let seq = tx
                .add_bulk_step(id, StepPurpose::Apply, "k-1", "[1,2]")
                .unwrap();
            assert_eq!(seq, 1);
            tx.finish_bulk_step(id, seq, StepState::Done, "{}").unwrap();
            let seq = tx
                .add_bulk_step(id, StepPurpose::Apply, "k-2", "[3]")
                .unwrap();
            assert_eq!(seq, 2);
            tx.commit().unwrap();
            id
        };
        let reader = Reader::open(&path).unwrap();
        assert_eq!(reader.unfinished_bulk_updates().unwrap(), [id]);
        let update = reader.bulk_update(id).unwrap().unwrap();
        assert_eq!(update.plan, "{\"rows\":[]}");
        let update = update.entry;
        assert_eq!(update.state, BulkState::Applying);
        assert_eq!(
            (update.counts.quantity_changes, update.counts.price_changes),
            (3, 1)
        );
        assert_eq!(reader.bulk_entry(id).unwrap().as_ref(), Some(&update));
        assert_eq!(
            reader.bulk_updates(10).unwrap(),
            std::slice::from_ref(&update)
        );
        assert_eq!(
            reader.bulk_update_file_name(id).unwrap().as_deref(),
            Some("stock.csv")
        );
        assert_eq!(reader.bulk_update_file_name(id + 1).unwrap(), None);
        assert_eq!(update.mode, BulkMode::AllOrNothing);
        assert_eq!(update.finished_at, None);
        let steps = reader.bulk_steps(id).unwrap();
        assert_eq!(
            steps
                .iter()
                .map(|s| (s.seq, s.idempotency_key.as_str(), s.state))
                .collect::<Vec<_>>(),
            [(1, "k-1", StepState::Done), (2, "k-2", StepState::Sending)]
        );

        let mut db = Database::open(&path).unwrap();
        let tx = db.write().unwrap();
        tx.set_bulk_state(id, BulkState::RolledBack, Some("{\"left\":[]}"))
            .unwrap();
        tx.commit().unwrap();
        let update = reader.bulk_entry(id).unwrap().unwrap();
        assert_eq!(update.state, BulkState::RolledBack);
        assert!(update.finished_at.is_some());
        assert_eq!(update.outcome.as_deref(), Some("{\"left\":[]}"));
        assert!(reader.unfinished_bulk_updates().unwrap().is_empty());
    }

    #[test]
    fn updates_journaled_before_their_counts_had_columns_get_them_from_their_plans() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.db");
        {
            // A file as schema 5 left it, with two journaled updates.
            let mut conn = rusqlite::Connection::open(&path).unwrap();
            crate::migrate::migrate(&mut conn, &path, &crate::migrate::MIGRATIONS[..5]).unwrap();
            conn.execute_batch(
                "INSERT INTO bulk_updates (file_name, mode, state, plan, created_at_ms)
                 VALUES ('a.csv', 'all-or-nothing', 'applied',
                         '{\"summary\":{\"quantity_changes\":250,\"price_changes\":4}}', 1),
                        ('b.csv', 'skip-conflicts', 'rolled-back', 'not json', 2);",
            )
            .unwrap();
        }
        let db = Database::open(&path).unwrap();
        let reader = db.reader().unwrap();
        let counts: Vec<(String, u64, u64)> = reader
            .bulk_updates(10)
            .unwrap()
            .into_iter()
            .map(|e| {
                (
                    e.file_name,
                    e.counts.quantity_changes,
                    e.counts.price_changes,
                )
            })
            .collect();
        assert_eq!(counts, [("b.csv".into(), 0, 0), ("a.csv".into(), 250, 4)]);
    }
}
