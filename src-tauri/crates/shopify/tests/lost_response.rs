//! A write whose answer is lost on the way back is retried with the same idempotency key,
//! and the store applies it exactly once.
//!
//! A small TCP proxy between the client and the simulator forwards the first inventory
//! write to the store, lets the store apply it, and then drops the connection instead of
//! passing the answer back: what a laptop sees when Wi-Fi drops mid-request.

use shelfsync_shopify::operations::{
    AdjustQuantity, InventoryAdjust, InventoryAdjustInput, InventoryAdjustVariables,
};
use shelfsync_shopify::{
    ClientConfig, Credentials, IdempotencyKey, RetryPolicy, Secret, ShopifyClient,
};
use shopify_sim::SimConfig;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// Reads one HTTP/1.1 message (head and Content-Length body) from `stream`.
async fn read_message(stream: &mut TcpStream, pending: &mut Vec<u8>) -> Option<Vec<u8>> {
    loop {
        if let Some(end) = pending.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&pending[..end]).to_ascii_lowercase();
            let length: usize = head
                .lines()
                .find_map(|l| l.strip_prefix("content-length:"))
                .and_then(|v| v.trim().parse().ok())
                .unwrap_or(0);
            let total = end + 4 + length;
            if pending.len() >= total {
                let rest = pending.split_off(total);
                return Some(std::mem::replace(pending, rest));
            }
        }
        let mut buf = [0u8; 16 * 1024];
        let n = stream.read(&mut buf).await.ok()?;
        if n == 0 {
            return None;
        }
        pending.extend_from_slice(&buf[..n]);
    }
}

async fn proxy(listener: TcpListener, upstream: String, writes_to_drop: Arc<AtomicUsize>) {
    loop {
        let Ok((mut client, _)) = listener.accept().await else {
            return;
        };
        let upstream = upstream.clone();
        let drops = writes_to_drop.clone();
        tokio::spawn(async move {
            let Ok(mut server) = TcpStream::connect(&upstream).await else {
                return;
            };
            let (mut from_client, mut from_server) = (Vec::new(), Vec::new());
            while let Some(request) = read_message(&mut client, &mut from_client).await {
                let is_write = request
                    .windows(25)
                    .any(|w| w == b"inventoryAdjustQuantities");
                if server.write_all(&request).await.is_err() {
                    return;
                }
                let Some(response) = read_message(&mut server, &mut from_server).await else {
                    return;
                };
                if is_write
                    && drops
                        .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
                        .is_ok()
                {
                    // The store has applied the write; its answer never arrives.
                    return;
                }
                if client.write_all(&response).await.is_err() {
                    return;
                }
            }
        });
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_write_whose_answer_is_lost_is_applied_exactly_once() {
    let sim = shopify_sim::start(SimConfig {
        products: 5,
        ..SimConfig::default()
    })
    .await
    .unwrap();
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let proxy_url = format!("http://{}", listener.local_addr().unwrap());
    let drops = Arc::new(AtomicUsize::new(1));
    tokio::spawn(proxy(listener, sim.addr.to_string(), drops.clone()));

    let (item, location, before) = {
        let store = sim.state.read_store();
        let item = store.inventory_items.values().next().unwrap();
        let (location, level) = item.levels.iter().next().unwrap();
        (item.id, *location, level.quantities[0])
    };
    let token = Secret::new(sim.info.admin_token.clone().unwrap());
    let mut config = ClientConfig::new(&proxy_url, Credentials::AdminToken(token)).unwrap();
    config.retry = RetryPolicy {
        base: Duration::from_millis(20),
        cap: Duration::from_millis(100),
        ..RetryPolicy::default()
    };
    let client = ShopifyClient::new(config).unwrap();
    let vars = InventoryAdjustVariables {
        input: InventoryAdjustInput {
            name: "available".into(),
            reason: "correction".into(),
            reference_document_uri: Some("shelfsync://test/lost-answer".into()),
            changes: vec![AdjustQuantity {
                inventory_item_id: format!("gid://shopify/InventoryItem/{item}"),
                location_id: format!("gid://shopify/Location/{location}"),
                delta: 5,
                change_from_quantity: None,
            }],
        },
    };
    let key = IdempotencyKey::new("test-lost-answer-0001");
    let payload = client
        .mutate::<InventoryAdjust>(&vars, &key)
        .await
        .unwrap()
        .inventory_adjust_quantities
        .unwrap();
    assert!(payload.user_errors.is_empty(), "{:?}", payload.user_errors);
    assert_eq!(
        drops.load(Ordering::SeqCst),
        0,
        "the answer was dropped once"
    );
    assert_eq!(client.stats().retries, 1, "{:?}", client.stats());

    let after = sim.state.read_store().inventory_items[&item].levels[&location].quantities[0];
    assert_eq!(
        after,
        before + 5,
        "applied exactly once (a double write would give +10)"
    );
    sim.stop().await;
}
