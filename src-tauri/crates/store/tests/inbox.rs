//! The webhook inbox: stored once, durably, and processed in order.

mod common;

use common::*;
use serde_json::json;
use shelfsync_store::{Durability, NewJob, Recorded, WebhookEvent};

fn event(id: &str) -> WebhookEvent {
    WebhookEvent {
        event_id: id.into(),
        webhook_id: Some("b54557e4-bdd9-4b37-8a5f-bf7d70bcd043".into()),
        topic: "inventory_levels/update".into(),
        shop_domain: "test-shop.myshopify.com".into(),
        triggered_at: Some(at("2026-03-01T08:59:58.123Z")),
        body: br#"{"inventory_item_id":500011,"location_id":1001,"available":6,"updated_at":"2026-03-01T03:59:58-05:00"}"#.to_vec(),
    }
}

#[test]
fn a_redelivered_event_is_stored_once() {
    let store = TestStore::new();
    let mut db = store.open();
    let first = db.record_webhook(&event("evt-1")).unwrap();
    let Recorded::New(id) = first else {
        panic!("{first:?}")
    };
    store.clock.advance_secs(5);
    assert_eq!(
        db.record_webhook(&event("evt-1")).unwrap(),
        Recorded::Duplicate(id)
    );

    let reader = db.reader().unwrap();
    let pending = reader.unprocessed_webhooks(10).unwrap();
    assert_eq!(pending.len(), 1);
    assert_eq!(
        pending[0].event,
        event("evt-1"),
        "raw body and headers as received"
    );
    assert_eq!(
        pending[0].received_at,
        ts("2026-03-01T09:00:00Z"),
        "the first delivery"
    );
}

#[test]
fn a_webhook_and_its_job_are_saved_together_and_processing_is_recorded() {
    let store = TestStore::new();
    let mut db = store.open();
    for n in 1..=3 {
        let tx = db.write_with(Durability::Full).unwrap();
        let Recorded::New(inbox_id) = tx.record_webhook(&event(&format!("evt-{n}"))).unwrap()
        else {
            panic!("new event expected")
        };
        tx.enqueue(&NewJob {
            kind: "webhook.process".into(),
            payload: json!({ "inbox_id": inbox_id }),
            dedupe_key: None,
            run_at: None,
        })
        .unwrap();
        tx.commit().unwrap();
        store.clock.advance_secs(1);
    }

    let job = db.claim_next_job().unwrap().unwrap();
    let inbox_id = job.payload["inbox_id"].as_i64().unwrap();
    let tx = db.write().unwrap();
    assert!(tx.mark_webhook_processed(inbox_id).unwrap());
    assert!(!tx.mark_webhook_processed(inbox_id).unwrap(), "only once");
    tx.commit().unwrap();
    db.mark_job_done(job.id).unwrap();

    let reader = db.reader().unwrap();
    let stored = reader.webhook(inbox_id).unwrap().unwrap();
    assert_eq!(stored.event.event_id, "evt-1");
    assert_eq!(stored.processed_at, Some(ts("2026-03-01T09:00:03Z")));
    let left: Vec<_> = reader
        .unprocessed_webhooks(10)
        .unwrap()
        .into_iter()
        .map(|w| w.event.event_id)
        .collect();
    assert_eq!(left, ["evt-2", "evt-3"], "in arrival order");

    store.clock.advance_secs(3600);
    assert_eq!(db.prune_processed_webhooks(store.clock.now()).unwrap(), 1);
    assert!(reader.webhook(inbox_id).unwrap().is_none());
    assert_eq!(
        reader.unprocessed_webhooks(10).unwrap().len(),
        2,
        "never pruned"
    );
}

#[test]
fn the_inbox_survives_a_restart() {
    let store = TestStore::new();
    {
        let mut db = store.open();
        db.record_webhook(&event("evt-9")).unwrap();
    }
    let db = store.open();
    let pending = db.reader().unwrap().unprocessed_webhooks(10).unwrap();
    assert_eq!(pending.len(), 1);
    assert_eq!(pending[0].event.event_id, "evt-9");
}
