//! No secret ever reaches the database files.
//!
//! The store's types have no field that could hold a credential. This test
//! checks the outcome on disk: with realistic credentials alive in the
//! process, it writes every kind of row and then searches the database, its
//! write-ahead log and its other files byte by byte.

mod common;

use std::path::Path;

use common::*;
use serde_json::json;
use shelfsync_store::{Durability, NewJob, Source, WebhookEvent};

const SECRETS: &[&str] = &[
    "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",
    "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",
    "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",
    "9e4d6a1f-client-secret-7c2b-4f8e-a3d1",
];

/// Stands in for the engine's authentication: it receives the credentials
/// and builds a request header from them, so they are live in memory while
/// the store writes.
fn authenticate(token: &str, client_secret: &str) -> Vec<String> {
    vec![
        format!("X-Shopify-Access-Token: {token}"),
        format!("client_secret={client_secret}"),
    ]
}

fn occurrences(haystack: &[u8], needle: &[u8]) -> usize {
    haystack
        .windows(needle.len())
        .filter(|window| *window == needle)
        .count()
}

fn database_files(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.is_file())
        .map(|path| {
            (
                path.file_name().unwrap().to_string_lossy().into_owned(),
                std::fs::read(&path).unwrap(),
            )
        })
        .collect();
    files.sort();
    files
}

#[test]
fn no_secret_reaches_the_database_or_its_log() {
    let headers = authenticate(SECRETS[0], SECRETS[3]);
    let exchanged = [SECRETS[1].to_owned(), SECRETS[2].to_owned()];

    let store = TestStore::new();
    let mut db = store.open();
    let variants = seed(&mut db);
    let mut sold = level(&variants[0], 1001, 8);
    sold.updated_at = Some(at("2026-02-09T10:00:00Z"));
    db.upsert_levels(&[sold], Source::Webhook).unwrap();
    let tx = db.write_with(Durability::Full).unwrap();
    tx.record_webhook(&WebhookEvent {
        event_id: "7c1f3b2e-evt".into(),
        webhook_id: Some("a1b2c3d4-hook".into()),
        topic: "orders/create".into(),
        shop_domain: "test-shop.myshopify.com".into(),
        triggered_at: Some(at("2026-02-09T10:00:00Z")),
        body: br##"{"id":820982911946154508,"name":"#1001","total_price":"42.00"}"##.to_vec(),
    })
    .unwrap();
    tx.enqueue(&NewJob {
        kind: "write.set_quantity".into(),
        payload: json!({ "inventory_item_id": 500011, "location_id": 1001, "quantity": 8 }),
        dedupe_key: Some("set:500011@1001".into()),
        run_at: None,
    })
    .unwrap();
    tx.commit().unwrap();
    let job = db.claim_next_job().unwrap().unwrap();
    db.mark_job_failed(
        job.id,
        "Shopify refused the request: access denied for this store.",
    )
    .unwrap();
    db.retry_all_failed_jobs().unwrap();

    // While the writer is open the newest pages are in the -wal file.
    let open_files = database_files(store.dir.path());
    let names: Vec<_> = open_files.iter().map(|(name, _)| name.as_str()).collect();
    assert!(
        names.iter().any(|n| n.ends_with(".sqlite3-wal")),
        "{names:?}"
    );
    drop(db);
    // After close, everything is checkpointed into the main file.
    let closed_files = database_files(store.dir.path());

    for (name, bytes) in open_files.iter().chain(&closed_files) {
        for secret in SECRETS {
            assert_eq!(
                occurrences(bytes, secret.as_bytes()),
                0,
                "{secret} found in {name}"
            );
        }
    }
    // The search itself works: data that was written is found.
    let everything: Vec<u8> = open_files
        .iter()
        .chain(&closed_files)
        .flat_map(|(_, bytes)| bytes.clone())
        .collect();
    assert!(occurrences(&everything, b"MUG-BLUE-S") > 0);
    assert!(occurrences(&everything, b"access denied for this store") > 0);

    // Keep the credentials alive until the scan is done.
    assert!(headers[0].contains(SECRETS[0]));
    assert_eq!(exchanged.len(), 2);
}
