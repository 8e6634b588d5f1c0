//! The webhook inbox.
//!
//! A webhook is stored before Shopify gets its `200 OK`, and Shopify does not
//! send it again after that, so the inbox commit is the one write in this
//! crate made with `synchronous=FULL` (see [`Durability::Full`]).
//! Shopify may deliver an event more than once; the event id is unique, so a
//! redelivery is recognised and stored only once.

use jiff::Timestamp;
use rusqlite::{OptionalExtension, Row, params};

use crate::db::{Database, Durability, Reader, WriteTx};
use crate::error::Result;
use crate::model::{Recorded, ShopifyTime, StoredWebhook, WebhookEvent};
use crate::sql::timestamp;

impl WriteTx<'_> {
    /// Stores a webhook in this transaction, e.g. together with the job that
    /// will process it. Open the transaction with
    /// [`Database::write_with`]`(`[`Durability::Full`]`)`.
    pub fn record_webhook(&self, event: &WebhookEvent) -> Result<Recorded> {
        let inserted: Option<i64> = self
            .conn
            .prepare_cached(
                "INSERT INTO webhook_inbox (event_id, webhook_id, topic, shop_domain,
                                            triggered_at, triggered_at_ms, received_at_ms, body)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)
                 ON CONFLICT (event_id) DO NOTHING
                 RETURNING id",
            )?
            .query_row(
                params![
                    event.event_id,
                    event.webhook_id,
                    event.topic,
                    event.shop_domain,
                    event.triggered_at,
                    event.triggered_at.as_ref().map(ShopifyTime::millis),
                    self.now_ms(),
                    event.body
                ],
                |r| r.get(0),
            )
            .optional()?;
        if let Some(id) = inserted {
            return Ok(Recorded::New(id));
        }
        let id = self
            .conn
            .prepare_cached("SELECT id FROM webhook_inbox WHERE event_id = ?1")?
            .query_row([&event.event_id], |r| r.get(0))?;
        Ok(Recorded::Duplicate(id))
    }

    /// Marks an inbox entry as processed (in the transaction that applied it).
    pub fn mark_webhook_processed(&self, id: i64) -> Result<bool> {
        let changed = self.conn.execute(
            "UPDATE webhook_inbox SET processed_at_ms = ?2
             WHERE id = ?1 AND processed_at_ms IS NULL",
            params![id, self.now_ms()],
        )?;
        Ok(changed > 0)
    }
}

impl Database {
    /// Stores a webhook and commits it durably before returning, so the
    /// caller may acknowledge it to Shopify.
    pub fn record_webhook(&mut self, event: &WebhookEvent) -> Result<Recorded> {
        let tx = self.write_with(Durability::Full)?;
        let recorded = tx.record_webhook(event)?;
        tx.commit()?;
        Ok(recorded)
    }

    /// Removes processed webhooks received before `before`. Returns how many.
    pub fn prune_processed_webhooks(&mut self, before: Timestamp) -> Result<usize> {
        let tx = self.write()?;
        let removed = tx.conn.execute(
            "DELETE FROM webhook_inbox WHERE processed_at_ms IS NOT NULL AND received_at_ms < ?1",
            [before.as_millisecond()],
        )?;
        tx.commit()?;
        Ok(removed)
    }
}

fn webhook_from(r: &Row<'_>) -> rusqlite::Result<StoredWebhook> {
    Ok(StoredWebhook {
        id: r.get(0)?,
        event: WebhookEvent {
            event_id: r.get(1)?,
            webhook_id: r.get(2)?,
            topic: r.get(3)?,
            shop_domain: r.get(4)?,
            triggered_at: r.get(5)?,
            body: r.get(6)?,
        },
        received_at: timestamp(r.get(7)?)?,
        processed_at: r.get::<_, Option<i64>>(8)?.map(timestamp).transpose()?,
    })
}

impl Reader {
    /// Webhooks not processed yet, in the order they arrived.
    pub fn unprocessed_webhooks(&self, limit: u32) -> Result<Vec<StoredWebhook>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT id, event_id, webhook_id, topic, shop_domain, triggered_at, body,
                    received_at_ms, processed_at_ms
             FROM webhook_inbox WHERE processed_at_ms IS NULL
             ORDER BY received_at_ms, id LIMIT ?1",
        )?;
        let rows = stmt.query_map([limit], webhook_from)?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// One inbox entry.
    pub fn webhook(&self, id: i64) -> Result<Option<StoredWebhook>> {
        Ok(self
            .conn
            .prepare_cached(
                "SELECT id, event_id, webhook_id, topic, shop_domain, triggered_at, body,
                        received_at_ms, processed_at_ms
                 FROM webhook_inbox WHERE id = ?1",
            )?
            .query_row([id], webhook_from)
            .optional()?)
    }

    /// The inbox entry of store event `event_id` (`X-Shopify-Event-Id`), if it arrived.
    pub fn webhook_by_event(&self, event_id: &str) -> Result<Option<StoredWebhook>> {
        Ok(self
            .conn
            .prepare_cached(
                "SELECT id, event_id, webhook_id, topic, shop_domain, triggered_at, body,
                        received_at_ms, processed_at_ms
                 FROM webhook_inbox WHERE event_id = ?1",
            )?
            .query_row([event_id], webhook_from)
            .optional()?)
    }
}
