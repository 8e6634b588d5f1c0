//! Webhooks over real HTTP: subscriptions with Shopify's validation, a local receiver reached
//! through the simulated tunnel, signed deliveries with every header, topics per store event,
//! retries and removal on the simulated clock, and the delivery faults.

mod common;

use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicU16, Ordering};
use std::time::Duration;

use axum::body::Bytes;
use axum::http::{HeaderMap, StatusCode};
use base64::Engine;
use common::{Sim, small_config, start};
use hmac::{Hmac, Mac};
use serde_json::{Value, json};
use sha2::Sha256;
use tokio::sync::mpsc;

const CREATE: &str = r#"mutation Create($topic: WebhookSubscriptionTopic!, $sub: WebhookSubscriptionInput!) {
  webhookSubscriptionCreate(topic: $topic, webhookSubscription: $sub) {
    webhookSubscription { id topic uri format filter name includeFields createdAt
      endpoint { __typename ... on WebhookHttpEndpoint { callbackUrl } ... on WebhookEventBridgeEndpoint { arn } } }
    userErrors { field message }
  }
}"#;

/// One request the receiver got.
#[derive(Debug, Clone)]
struct Received {
    path: String,
    headers: HeaderMap,
    body: Bytes,
}

impl Received {
    fn header(&self, name: &str) -> String {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned()
    }

    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap()
    }
}

/// A local HTTP receiver on 127.0.0.1 answering `status` (changeable while it runs).
struct Receiver {
    url: String,
    status: Arc<AtomicU16>,
    rx: mpsc::UnboundedReceiver<Received>,
}

async fn receiver() -> Receiver {
    let (tx, rx) = mpsc::unbounded_channel();
    let status = Arc::new(AtomicU16::new(200));
    let answer = status.clone();
    let app = axum::Router::new().fallback(
        move |uri: axum::http::Uri, headers: HeaderMap, body: Bytes| {
            let tx = tx.clone();
            let answer = answer.clone();
            async move {
                let _ = tx.send(Received {
                    path: uri.to_string(),
                    headers,
                    body,
                });
                StatusCode::from_u16(answer.load(Ordering::SeqCst)).unwrap()
            }
        },
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    Receiver { url, status, rx }
}

impl Receiver {
    /// The next delivery, waiting at most ten real seconds (it normally takes milliseconds).
    async fn next(&mut self) -> Received {
        tokio::time::timeout(Duration::from_secs(10), self.rx.recv())
            .await
            .expect("a delivery arrives")
            .expect("receiver open")
    }

    /// Everything that arrives within `ms` real milliseconds.
    async fn drain(&mut self, ms: u64) -> Vec<Received> {
        let mut out = Vec::new();
        while let Ok(Some(r)) =
            tokio::time::timeout(Duration::from_millis(ms), self.rx.recv()).await
        {
            out.push(r);
        }
        out
    }
}

async fn post(s: &Sim, path: &str, body: Value) -> Value {
    let r = s
        .http
        .post(format!("{}{path}", s.sim.info.base_url))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success(), "{path}: {}", r.status());
    r.json().await.unwrap_or(Value::Null)
}

async fn get(s: &Sim, path: &str) -> Value {
    s.http
        .get(format!("{}{path}", s.sim.info.base_url))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

async fn tunnel(s: &Sim, target: &str) -> String {
    let t = post(s, "/_sim/tunnels", json!({ "target": target })).await;
    t["public_url"].as_str().unwrap().to_owned()
}

async fn subscribe(s: &Sim, topic: &str, sub: Value) -> Value {
    let r = s.gql(CREATE, json!({ "topic": topic, "sub": sub })).await;
    r.body["data"]["webhookSubscriptionCreate"].clone()
}

async fn subscribe_ok(s: &Sim, topic: &str, uri: &str) -> String {
    let payload = subscribe(s, topic, json!({ "uri": uri })).await;
    assert_eq!(payload["userErrors"], json!([]), "{payload}");
    payload["webhookSubscription"]["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

async fn state(s: &Sim) -> Value {
    get(s, "/_sim/state").await
}

/// The first variant's inventory item and the location of its `n`-th level.
fn level(st: &Value, n: usize) -> (u64, u64) {
    let v = &st["variants"][0];
    let item = v["inventory_item_id"].as_u64().unwrap();
    let location = v["levels"].as_object().unwrap().keys().nth(n).unwrap();
    (item, location.parse().unwrap())
}

/// A merchant's stock edit on the first variant's first level; returns (item, location).
async fn edit_stock(s: &Sim, delta: i64) -> (u64, u64) {
    let st = state(s).await;
    let (item, location) = level(&st, 0);
    post(
        s,
        "/_sim/inventory",
        json!({ "inventory_item_id": item, "location_id": location, "name": "available", "delta": delta }),
    )
    .await;
    (item, location)
}

async fn deliveries(s: &Sim) -> Vec<Value> {
    get(s, "/_sim/webhooks/deliveries").await["deliveries"]
        .as_array()
        .unwrap()
        .clone()
}

/// Polls the delivery log until `done` holds (ten real seconds at most).
async fn wait_log(s: &Sim, done: impl Fn(&[Value]) -> bool) -> Vec<Value> {
    for _ in 0..2000 {
        let log = deliveries(s).await;
        if done(&log) {
            return log;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    panic!("delivery log never got there: {:#?}", deliveries(s).await);
}

/// Waits until `n` deliveries in all have ended (delivered or dropped), then collects what
/// arrived.
async fn settle(s: &Sim, rx: &mut Receiver, n: usize) -> Vec<Received> {
    wait_log(s, |l| {
        l.iter()
            .filter(|a| a["outcome"] == "delivered" || a["outcome"] == "dropped")
            .count()
            >= n
    })
    .await;
    rx.drain(30).await
}

fn hmac_b64(secret: &str, body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(body);
    base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
}

fn is_uuid(s: &str) -> bool {
    let parts: Vec<&str> = s.split('-').collect();
    parts.iter().map(|p| p.len()).collect::<Vec<_>>() == [8, 4, 4, 4, 12]
        && s.chars().all(|c| c == '-' || c.is_ascii_hexdigit())
}

#[test]
fn signer_matches_the_shared_hmac_vector() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/webhooks");
    let vector: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("hmac-test-vector.json")).unwrap())
            .unwrap();
    let body = std::fs::read(dir.join(vector["body_file"].as_str().unwrap())).unwrap();
    let secret = vector["secret"].as_str().unwrap();
    let expected = vector["expected_x_shopify_hmac_sha256"].as_str().unwrap();
    assert_eq!(
        shopify_sim::webhooks::delivery::sign(secret, &body),
        expected
    );
    let mut changed = body.clone();
    let at = changed.iter().position(|b| *b == b'1').unwrap();
    changed[at] = b'2';
    assert_ne!(
        shopify_sim::webhooks::delivery::sign(secret, &changed),
        expected
    );
}

#[tokio::test]
async fn a_receiver_behind_a_tunnel_gets_signed_deliveries_with_every_header() {
    let s = start(small_config()).await;
    let mut rx = receiver().await;
    let public = tunnel(&s, &rx.url).await;
    assert!(public.starts_with("https://") && public.ends_with(".tunnel.shelfsync.test"));
    let created = subscribe(
        &s,
        "INVENTORY_LEVELS_UPDATE",
        json!({ "uri": format!("{public}/hooks/shopify?src=sim"), "name": "stock-hook" }),
    )
    .await;
    assert_eq!(created["userErrors"], json!([]));
    assert_eq!(
        created["webhookSubscription"]["endpoint"]["__typename"],
        "WebhookHttpEndpoint"
    );

    let (item, location) = edit_stock(&s, -2).await;
    let got = rx.next().await;
    assert_eq!(got.path, "/hooks/shopify?src=sim");
    let info = &s.sim.info;
    assert_eq!(got.header("x-shopify-topic"), "inventory_levels/update");
    assert_eq!(
        got.header("x-shopify-hmac-sha256"),
        hmac_b64(&info.client_secret, &got.body)
    );
    assert_ne!(
        got.header("x-shopify-hmac-sha256"),
        hmac_b64("another secret", &got.body)
    );
    assert_eq!(got.header("x-shopify-shop-domain"), info.shop_domain);
    assert_eq!(got.header("x-shopify-api-version"), "2026-07");
    assert!(is_uuid(&got.header("x-shopify-webhook-id")));
    assert!(is_uuid(&got.header("x-shopify-event-id")));
    assert_eq!(got.header("x-shopify-name"), "stock-hook");
    assert_eq!(got.header("user-agent"), "Shopify-Captain-Hook");
    assert_eq!(got.header("content-type"), "application/json");
    // 2026-07-15T00:00:00Z, the manual clock's start, with nanoseconds.
    assert_eq!(
        got.header("x-shopify-triggered-at"),
        "2026-07-15T00:00:00.000000000Z"
    );

    // The body: only `available`, exact 64-bit ids, the shop's local offset.
    let body = got.json();
    let keys: Vec<&str> = body
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        keys.iter().copied().collect::<HashSet<_>>(),
        HashSet::from([
            "inventory_item_id",
            "location_id",
            "available",
            "updated_at",
            "admin_graphql_api_id"
        ])
    );
    assert_eq!(body["inventory_item_id"].as_u64(), Some(item));
    assert_eq!(body["location_id"].as_u64(), Some(location));
    assert_eq!(
        body["admin_graphql_api_id"],
        format!("gid://shopify/InventoryLevel/{location}?inventory_item_id={item}")
    );
    assert_eq!(body["updated_at"], "2026-07-14T20:00:00-04:00");
    let st = state(&s).await;
    assert_eq!(
        body["available"],
        st["variants"][0]["levels"][location.to_string()]["available"]
    );

    let log = deliveries(&s).await;
    assert_eq!(log.len(), 1);
    assert_eq!(log[0]["outcome"], "delivered");
    assert_eq!(log[0]["status"], 200);
    s.sim.stop().await;
}

#[tokio::test]
async fn store_events_fire_the_topics_shopify_fires() {
    let s = start(small_config()).await;
    let mut rx = receiver().await;
    let public = tunnel(&s, &rx.url).await;
    for topic in [
        "INVENTORY_LEVELS_UPDATE",
        "ORDERS_CREATE",
        "ORDERS_PAID",
        "ORDERS_UPDATED",
        "ORDERS_CANCELLED",
        "ORDERS_FULFILLED",
        "PRODUCTS_UPDATE",
    ] {
        subscribe_ok(&s, topic, &format!("{public}/{topic}")).await;
    }
    let st = state(&s).await;
    let variant = st["variants"][0].clone();
    let order = post(
        &s,
        "/_sim/orders",
        json!({ "lines": [{ "variant_id": variant["id"], "quantity": 1 }] }),
    )
    .await;
    let topics = |got: &[Received]| -> Vec<String> {
        let mut t: Vec<String> = got.iter().map(|r| r.header("x-shopify-topic")).collect();
        t.sort();
        t
    };
    let placed = settle(&s, &mut rx, 3).await;
    // Selling stock moves inventory levels; it never fires products/update.
    assert_eq!(
        topics(&placed),
        ["inventory_levels/update", "orders/create", "orders/paid"]
    );
    let created = placed
        .iter()
        .find(|r| r.header("x-shopify-topic") == "orders/create")
        .unwrap();
    let body = created.json();
    let order_id = body["id"].as_u64().unwrap();
    assert_eq!(created.header("x-shopify-order-id"), order_id.to_string());
    assert_eq!(
        body["admin_graphql_api_id"],
        format!("gid://shopify/Order/{order_id}")
    );
    assert_eq!(body["line_items"][0]["variant_id"], variant["id"]);
    assert_eq!(body["line_items"][0]["quantity"], 1);
    assert_eq!(body["financial_status"], "paid");
    assert!(body["created_at"].as_str().unwrap().ends_with("-04:00"));
    assert_eq!(order["id"].as_u64(), Some(order_id));

    post(&s, &format!("/_sim/orders/{order_id}/fulfill"), json!({})).await;
    let fulfilled = settle(&s, &mut rx, 6).await;
    assert_eq!(
        topics(&fulfilled),
        [
            "inventory_levels/update",
            "orders/fulfilled",
            "orders/updated"
        ]
    );

    let second = post(
        &s,
        "/_sim/orders",
        json!({ "lines": [{ "variant_id": variant["id"], "quantity": 1 }] }),
    )
    .await;
    settle(&s, &mut rx, 9).await;
    let second_id = second["id"].as_u64().unwrap();
    post(&s, &format!("/_sim/orders/{second_id}/cancel"), json!({})).await;
    let cancelled = settle(&s, &mut rx, 12).await;
    assert_eq!(
        topics(&cancelled),
        [
            "inventory_levels/update",
            "orders/cancelled",
            "orders/updated"
        ]
    );
    let body = cancelled
        .iter()
        .find(|r| r.header("x-shopify-topic") == "orders/cancelled")
        .unwrap()
        .json();
    assert!(body["cancelled_at"].is_string());
    assert_eq!(
        (
            &body["line_items"][0]["quantity"],
            &body["line_items"][0]["current_quantity"]
        ),
        (&json!(1), &json!(0)),
        "a cancelled order's unshipped units are removed"
    );

    post(
        &s,
        "/_sim/prices",
        json!({ "variant_id": variant["id"], "price": "12.34", "compare_at_price": null }),
    )
    .await;
    let priced = settle(&s, &mut rx, 13).await;
    assert_eq!(topics(&priced), ["products/update"]);
    let body = priced[0].json();
    let v = body["variants"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["id"] == variant["id"])
        .unwrap();
    assert_eq!(v["price"], "12.34");
    assert_eq!(
        priced[0].header("x-shopify-product-id"),
        body["id"].as_u64().unwrap().to_string()
    );
    s.sim.stop().await;
}

#[tokio::test]
async fn addresses_are_validated_as_shopify_does() {
    let s = start(small_config()).await;
    let api_client_id = get(&s, "/_sim/webhooks").await["api_client_id"]
        .as_u64()
        .unwrap();
    let callback = json!(["webhookSubscription", "callbackUrl"]);
    let cases: Vec<(String, Vec<&str>)> = vec![
        ("   ".into(), vec!["Address can't be blank"]),
        (
            "http://example.com/hooks".into(),
            vec!["Address protocol http:// is not supported"],
        ),
        ("https://".into(), vec!["Address is invalid"]),
        (
            "https://localhost:3000/hooks".into(),
            vec!["Address cannot be a Shopify or an internal domain"],
        ),
        (
            "https://127.0.0.1/hooks".into(),
            vec!["Address cannot be a Shopify or an internal domain"],
        ),
        (
            "https://192.168.1.20/hooks".into(),
            vec!["Address cannot be a Shopify or an internal domain"],
        ),
        (
            "https://169.254.169.254/latest".into(),
            vec!["Address cannot be a Shopify or an internal domain"],
        ),
        (
            "https://my-shop.myshopify.com/hooks".into(),
            vec!["Address cannot be a Shopify or an internal domain"],
        ),
        (
            format!("https://example.com/{}", "a".repeat(65_600)),
            vec!["Address is too big (maximum is 64 KB)"],
        ),
        (
            "arn:aws:events:us-east-1::event-source/aws.partner/shopify.com/1/shelfsync".into(),
            vec![
                "Address is invalid",
                &*Box::leak(
                    format!("Address is an AWS ARN and includes api_client_id '1' instead of '{api_client_id}'")
                        .into_boxed_str(),
                ),
            ],
        ),
        (
            "arn:aws:events:bogus".into(),
            vec!["Address is invalid", "Address is not a valid AWS ARN"],
        ),
    ];
    for (uri, messages) in cases {
        let p = subscribe(&s, "ORDERS_CREATE", json!({ "uri": uri })).await;
        assert_eq!(p["webhookSubscription"], Value::Null, "{uri:.60}");
        let expected: Vec<Value> = messages
            .iter()
            .map(|m| json!({ "field": callback, "message": m }))
            .collect();
        assert_eq!(p["userErrors"], json!(expected), "{uri:.60}");
    }
    // Nothing was created by the refused calls.
    let list = s
        .gql(
            "{ webhookSubscriptions(first: 10) { nodes { id } } }",
            json!({}),
        )
        .await;
    assert_eq!(
        list.body["data"]["webhookSubscriptions"]["nodes"],
        json!([])
    );

    // Accepted: a public https address (trimmed), an EventBridge ARN with the app's own id.
    let ok = subscribe(
        &s,
        "ORDERS_CREATE",
        json!({ "uri": "  https://hooks.example.com/orders  ", "name": "OrderHook", "filter": "" }),
    )
    .await;
    assert_eq!(ok["userErrors"], json!([]));
    assert_eq!(
        ok["webhookSubscription"]["uri"],
        "https://hooks.example.com/orders"
    );
    assert_eq!(ok["webhookSubscription"]["filter"], "");
    let arn = format!(
        "arn:aws:events:us-east-1::event-source/aws.partner/shopify.com/{api_client_id}/shelfsync"
    );
    let eb = subscribe(&s, "ORDERS_CREATE", json!({ "uri": arn })).await;
    assert_eq!(eb["userErrors"], json!([]));
    assert_eq!(
        eb["webhookSubscription"]["endpoint"],
        json!({ "__typename": "WebhookEventBridgeEndpoint", "arn": arn })
    );
    let xml = subscribe(&s, "ORDERS_UPDATED", json!({ "uri": arn, "format": "XML" })).await;
    assert_eq!(
        xml["userErrors"],
        json!([{ "field": ["webhookSubscription", "format"], "message": "Format can only be used with format: 'json'" }])
    );

    // Duplicates, names and filters.
    let dup = subscribe(
        &s,
        "ORDERS_CREATE",
        json!({ "uri": "https://hooks.example.com/orders" }),
    )
    .await;
    assert_eq!(
        dup["userErrors"],
        json!([{ "field": callback, "message": "Address for this topic has already been taken" }])
    );
    let other_topic = subscribe(
        &s,
        "ORDERS_UPDATED",
        json!({ "uri": "https://hooks.example.com/orders" }),
    )
    .await;
    assert_eq!(other_topic["userErrors"], json!([]));
    let name_taken = subscribe(
        &s,
        "ORDERS_CANCELLED",
        json!({ "uri": "https://hooks.example.com/c", "name": "orderhook" }),
    )
    .await;
    assert_eq!(
        name_taken["userErrors"],
        json!([{ "field": ["webhookSubscription", "name"], "message": "Name already exists, no duplicate allowed" }])
    );
    let bad_name = subscribe(
        &s,
        "ORDERS_CANCELLED",
        json!({ "uri": "https://hooks.example.com/c", "name": "has spaces" }),
    )
    .await;
    assert_eq!(
        bad_name["userErrors"],
        json!([{ "field": ["webhookSubscription", "name"], "message": "Name name field can only contain alphanumeric characters, underscores, and hyphens" }])
    );
    let bad_filter = subscribe(
        &s,
        "ORDERS_CANCELLED",
        json!({ "uri": "https://hooks.example.com/c", "filter": "location_id:1 bareword" }),
    )
    .await;
    assert_eq!(
        bad_filter["userErrors"],
        json!([{ "field": ["webhookSubscription"], "message": "The specified filter is invalid, please ensure you specify the field(s) you wish to filter on." }])
    );

    // Read, update, delete.
    let id = ok["webhookSubscription"]["id"].as_str().unwrap().to_owned();
    let by_uri = s
        .gql(
            "query L($uri: String!) { webhookSubscriptions(first: 5, uri: $uri, topics: [ORDERS_CREATE]) { nodes { id topic uri name } pageInfo { hasNextPage } } webhookSubscriptionsCount { count precision } }",
            json!({ "uri": "https://hooks.example.com/orders" }),
        )
        .await;
    assert_eq!(
        by_uri.body["data"]["webhookSubscriptions"]["nodes"],
        json!([{ "id": id, "topic": "ORDERS_CREATE", "uri": "https://hooks.example.com/orders", "name": "OrderHook" }])
    );
    assert_eq!(
        by_uri.body["data"]["webhookSubscriptionsCount"],
        json!({ "count": 3, "precision": "EXACT" })
    );
    let update = s
        .gql(
            "mutation U($id: ID!, $sub: WebhookSubscriptionInput!) { webhookSubscriptionUpdate(id: $id, webhookSubscription: $sub) { webhookSubscription { id uri name } userErrors { field message } } }",
            json!({ "id": id, "sub": { "uri": "http://hooks.example.com/x" } }),
        )
        .await;
    assert_eq!(
        update.body["data"]["webhookSubscriptionUpdate"]["userErrors"],
        json!([{ "field": callback, "message": "Address protocol http:// is not supported" }])
    );
    let delete_doc = "mutation D($id: ID!) { webhookSubscriptionDelete(id: $id) { deletedWebhookSubscriptionId userErrors { field message } } }";
    let deleted = s.gql(delete_doc, json!({ "id": id })).await;
    assert_eq!(
        deleted.body["data"]["webhookSubscriptionDelete"],
        json!({ "deletedWebhookSubscriptionId": id, "userErrors": [] })
    );
    let again = s.gql(delete_doc, json!({ "id": id })).await;
    assert_eq!(
        again.body["data"]["webhookSubscriptionDelete"],
        json!({ "deletedWebhookSubscriptionId": null, "userErrors": [{ "field": ["id"], "message": "Webhook subscription does not exist" }] })
    );
    let one = s
        .gql(
            "query One($id: ID!) { webhookSubscription(id: $id) { id } }",
            json!({ "id": id }),
        )
        .await;
    assert_eq!(one.body["data"]["webhookSubscription"], Value::Null);
    s.sim.stop().await;
}

#[tokio::test]
async fn failed_deliveries_retry_on_the_doubling_schedule_with_the_same_webhook_id() {
    let s = start(small_config()).await;
    let mut rx = receiver().await;
    rx.status.store(500, Ordering::SeqCst);
    let public = tunnel(&s, &rx.url).await;
    subscribe_ok(&s, "INVENTORY_LEVELS_UPDATE", &format!("{public}/h")).await;
    edit_stock(&s, -1).await;
    let first = rx.next().await;
    let webhook_id = first.header("x-shopify-webhook-id");
    let start_ms = s.clock_ms();

    // Retry n comes 2^(n-1) simulated minutes after the failure before it; not a second earlier.
    for (retry, minutes) in [(1u32, 1i64), (2, 2), (3, 4)] {
        let log = wait_log(&s, |l| l.len() == retry as usize).await;
        let last = log.last().unwrap();
        assert_eq!(last["outcome"], "failed");
        assert_eq!(last["status"], 500);
        s.clock
            .advance(Duration::from_secs(minutes as u64 * 60 - 1));
        assert!(rx.drain(60).await.is_empty(), "retry {retry} came early");
        s.clock.advance(Duration::from_secs(1));
        let again = rx.next().await;
        assert_eq!(again.header("x-shopify-webhook-id"), webhook_id);
        assert_eq!(
            again.header("x-shopify-event-id"),
            first.header("x-shopify-event-id")
        );
        assert_eq!(again.body, first.body, "retries carry the original payload");
    }
    assert_eq!(s.clock_ms() - start_ms, (1 + 2 + 4) * 60_000);

    // The receiver recovers: the next retry (8 minutes later) is delivered and the failure
    // count is reset.
    rx.status.store(200, Ordering::SeqCst);
    wait_log(&s, |l| l.len() == 4).await;
    s.clock.advance(Duration::from_secs(8 * 60));
    rx.next().await;
    let log = wait_log(&s, |l| l.len() == 5).await;
    assert_eq!(log[4]["outcome"], "delivered");
    assert_eq!(log[4]["attempt"], 5);
    let overview = get(&s, "/_sim/webhooks").await;
    assert_eq!(overview["subscriptions"][0]["consecutive_failures"], 0);
    s.sim.stop().await;
}

#[tokio::test]
async fn a_receiver_that_does_not_answer_within_5_simulated_seconds_fails() {
    let s = start(small_config()).await;
    let (release_tx, release_rx) = tokio::sync::watch::channel(false);
    let app = axum::Router::new().fallback(move || {
        let mut release = release_rx.clone();
        async move {
            let _ = release.wait_for(|r| *r).await;
            StatusCode::OK
        }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let target = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    let public = tunnel(&s, &target).await;
    subscribe_ok(&s, "INVENTORY_LEVELS_UPDATE", &format!("{public}/slow")).await;
    edit_stock(&s, -1).await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    s.clock.advance(Duration::from_millis(4_900));
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert!(deliveries(&s).await.is_empty(), "still waiting at 4.9 s");
    s.clock.advance(Duration::from_millis(100));
    let log = wait_log(&s, |l| !l.is_empty()).await;
    assert_eq!(log[0]["outcome"], "failed");
    assert!(
        log[0]["error"].as_str().unwrap().contains("timed out"),
        "{}",
        log[0]
    );
    assert_eq!(log[0]["next_attempt_at"], "2026-07-15T00:01:05Z");
    release_tx.send(true).unwrap();
    s.sim.stop().await;
}

#[tokio::test]
async fn a_subscription_is_removed_after_8_consecutive_failures_and_deliveries_stop() {
    let s = start(small_config()).await;
    // Not a tunnel: unreachable, like a laptop that is off.
    let id = subscribe_ok(
        &s,
        "INVENTORY_LEVELS_UPDATE",
        "https://shelfsync-laptop.example.com/h",
    )
    .await;
    edit_stock(&s, -1).await;
    let mut waits = Vec::new();
    for attempt in 1..=8usize {
        let log = wait_log(&s, |l| l.len() == attempt).await;
        let last = log.last().unwrap().clone();
        assert_eq!(last["outcome"], "failed");
        assert!(
            last["error"]
                .as_str()
                .unwrap()
                .contains("connection refused")
        );
        if attempt < 8 {
            assert_eq!(last["subscription_removed"], false);
            let overview = get(&s, "/_sim/webhooks").await;
            assert_eq!(
                overview["subscriptions"][0]["consecutive_failures"],
                attempt as u64
            );
            let wait = 60u64 << (attempt - 1);
            waits.push(wait);
            s.clock.advance(Duration::from_secs(wait));
        } else {
            assert_eq!(last["subscription_removed"], true);
        }
    }
    assert_eq!(waits, [60, 120, 240, 480, 960, 1920, 3840]);
    let read = s
        .gql(
            "query One($id: ID!) { webhookSubscription(id: $id) { id } webhookSubscriptions(first: 5) { nodes { id } } }",
            json!({ "id": id }),
        )
        .await;
    assert_eq!(read.body["data"]["webhookSubscription"], Value::Null);
    assert_eq!(
        read.body["data"]["webhookSubscriptions"]["nodes"],
        json!([])
    );

    // Later events reach nobody, and the old delivery is not retried.
    edit_stock(&s, -1).await;
    s.clock.advance(Duration::from_secs(4 * 3600));
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(deliveries(&s).await.len(), 8);
    s.sim.stop().await;
}

#[tokio::test]
async fn a_fast_clock_runs_four_hours_of_retries_in_real_seconds() {
    // 10 simulated hours per real second, as `--time-scale 36000` would run.
    let config = small_config();
    let clock = shopify_sim::SimClock::scaled(config.start_time, 36_000.0);
    let sim = shopify_sim::start_with_clock(config, clock.clone())
        .await
        .unwrap();
    let s = Sim {
        sim,
        clock,
        http: reqwest::Client::new(),
    };
    let id = subscribe_ok(&s, "ORDERS_CREATE", "https://laptop-asleep.example.com/h").await;
    let st = state(&s).await;
    let started = std::time::Instant::now();
    post(
        &s,
        "/_sim/orders",
        json!({ "lines": [{ "variant_id": st["variants"][0]["id"], "quantity": 1 }] }),
    )
    .await;
    let log = wait_log(&s, |l| l.iter().any(|a| a["subscription_removed"] == true)).await;
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(log.len(), 8);
    // Each retry came no earlier than its wait after the failure before it.
    for (n, pair) in log.windows(2).enumerate() {
        let wait = 60_000_i64 << n;
        let gap = pair[1]["at_ms"].as_i64().unwrap() - pair[0]["at_ms"].as_i64().unwrap();
        assert!(gap >= wait, "retry {} after {gap} ms, wanted {wait}", n + 1);
    }
    let read = s
        .gql(
            "query One($id: ID!) { webhookSubscription(id: $id) { id } }",
            json!({ "id": id }),
        )
        .await;
    assert_eq!(read.body["data"]["webhookSubscription"], Value::Null);
    s.sim.stop().await;
}

#[tokio::test]
async fn duplicates_keep_their_event_id_and_every_subscription_shares_it() {
    let s = start(small_config()).await;
    let mut rx = receiver().await;
    let public = tunnel(&s, &rx.url).await;
    subscribe_ok(&s, "INVENTORY_LEVELS_UPDATE", &format!("{public}/a")).await;
    subscribe_ok(&s, "INVENTORY_LEVELS_UPDATE", &format!("{public}/b")).await;
    post(&s, "/_sim/faults", json!({ "webhook_duplicate_rate": 1.0 })).await;
    edit_stock(&s, -1).await;
    let got = settle(&s, &mut rx, 4).await;
    assert_eq!(got.len(), 4, "two subscriptions, each delivery duplicated");
    let event_ids: HashSet<String> = got.iter().map(|r| r.header("x-shopify-event-id")).collect();
    assert_eq!(event_ids.len(), 1);
    let webhook_ids: HashSet<String> = got
        .iter()
        .map(|r| r.header("x-shopify-webhook-id"))
        .collect();
    assert_eq!(webhook_ids.len(), 4);
    for r in &got {
        assert_eq!(
            r.header("x-shopify-hmac-sha256"),
            hmac_b64(&s.sim.info.client_secret, &r.body)
        );
    }
    let log = deliveries(&s).await;
    assert_eq!(log.iter().filter(|l| l["duplicate"] == true).count(), 2);

    // A second event has its own Event-Id.
    edit_stock(&s, -1).await;
    let next = settle(&s, &mut rx, 8).await;
    assert_eq!(next.len(), 4);
    assert!(!event_ids.contains(&next[0].header("x-shopify-event-id")));
    s.sim.stop().await;
}

/// Runs `n` stock edits under the given faults and returns (dropped event sequences, arrival
/// order of the delivered events' `available` values, held-back count).
async fn faulty_run(faults: Value, n: usize) -> (Vec<u64>, Vec<i64>, usize) {
    let s = start(small_config()).await;
    let mut rx = receiver().await;
    let public = tunnel(&s, &rx.url).await;
    subscribe_ok(&s, "INVENTORY_LEVELS_UPDATE", &format!("{public}/f")).await;
    post(&s, "/_sim/faults", faults).await;
    let (item, location) = level(&state(&s).await, 0);
    for _ in 0..n {
        post(
            &s,
            "/_sim/inventory",
            json!({ "inventory_item_id": item, "location_id": location, "name": "available", "delta": -1 }),
        )
        .await;
        // One simulated second between edits keeps "held back" meaningful.
        s.clock.advance(Duration::from_secs(1));
    }
    s.clock.advance(Duration::from_secs(60));
    let arrived = settle(&s, &mut rx, n).await;
    let log = deliveries(&s).await;
    let held = log
        .iter()
        .filter(|l| l["outcome"] == "delivered")
        .filter(|l| l["at_ms"].as_i64().unwrap() - l["event_at_ms"].as_i64().unwrap() >= 30_000)
        .count();
    let dropped: Vec<u64> = log
        .iter()
        .filter(|l| l["outcome"] == "dropped")
        .map(|l| l["event_sequence"].as_u64().unwrap())
        .collect();
    let order = arrived
        .iter()
        .map(|r| r.json()["available"].as_i64().unwrap())
        .collect();
    s.sim.stop().await;
    (dropped, order, held)
}

#[tokio::test]
async fn drops_and_reordering_happen_at_the_configured_rates_reproducibly() {
    let n = 200;
    let (dropped, order, _) = faulty_run(json!({ "webhook_drop_rate": 0.25 }), n).await;
    assert!(
        (30..=70).contains(&dropped.len()),
        "about a quarter dropped: {}",
        dropped.len()
    );
    assert_eq!(order.len() + dropped.len(), n, "every other event arrives");
    // Same seed, same faults: the same events are dropped.
    let (again, _, _) = faulty_run(json!({ "webhook_drop_rate": 0.25 }), n).await;
    assert_eq!(dropped, again);

    let (none, order, held) = faulty_run(
        json!({ "webhook_reorder_rate": 0.3, "webhook_reorder_seconds": 30 }),
        n,
    )
    .await;
    assert!(none.is_empty());
    assert_eq!(order.len(), n, "reordered deliveries still arrive");
    // Held-back deliveries are overtaken by later ones: `available` only goes down, so
    // any rise in arrival order is an inversion.
    let inversions = order.windows(2).filter(|w| w[1] > w[0]).count();
    assert!(
        inversions > 10,
        "deliveries arrive out of order: {inversions}"
    );
    assert!(
        (30..=100).contains(&held),
        "about 30% held back 30 s: {held}"
    );
}

#[tokio::test]
async fn delay_holds_every_delivery_for_the_configured_simulated_time() {
    let s = start(small_config()).await;
    let mut rx = receiver().await;
    let public = tunnel(&s, &rx.url).await;
    subscribe_ok(&s, "INVENTORY_LEVELS_UPDATE", &format!("{public}/d")).await;
    post(&s, "/_sim/faults", json!({ "webhook_delay_seconds": 90 })).await;
    edit_stock(&s, -1).await;
    s.clock.advance(Duration::from_secs(89));
    assert!(rx.drain(80).await.is_empty());
    s.clock.advance(Duration::from_secs(1));
    let got = rx.next().await;
    // Triggered-At is when the event happened, not when it was sent.
    assert_eq!(
        got.header("x-shopify-triggered-at"),
        "2026-07-15T00:00:00.000000000Z"
    );
    s.sim.stop().await;
}

#[tokio::test]
async fn filters_and_include_fields_shape_what_is_delivered() {
    let s = start(small_config()).await;
    let mut rx = receiver().await;
    let public = tunnel(&s, &rx.url).await;
    let st = state(&s).await;
    let (item, location) = level(&st, 0);
    let p = subscribe(
        &s,
        "INVENTORY_LEVELS_UPDATE",
        json!({ "uri": format!("{public}/only-here"), "filter": format!("location_id:{location}"), "includeFields": ["inventory_item_id", "available"] }),
    )
    .await;
    assert_eq!(p["userErrors"], json!([]));
    edit_stock(&s, -1).await;
    let got = rx.next().await;
    let body: BTreeMap<String, Value> = serde_json::from_slice(&got.body).unwrap();
    assert_eq!(
        body.keys().map(String::as_str).collect::<Vec<_>>(),
        ["available", "inventory_item_id"]
    );
    // A stock edit at another location does not match the filter.
    let (_, other) = level(&st, 1);
    post(
        &s,
        "/_sim/inventory",
        json!({ "inventory_item_id": item, "location_id": other, "name": "available", "delta": -1 }),
    )
    .await;
    assert!(rx.drain(100).await.is_empty());
    s.sim.stop().await;
}

#[tokio::test]
async fn tunnels_can_be_listed_and_closed_and_a_closed_tunnel_refuses() {
    let s = start(small_config()).await;
    let mut rx = receiver().await;
    let public = tunnel(&s, &rx.url).await;
    let listed = get(&s, "/_sim/tunnels").await;
    assert_eq!(listed["tunnels"][0]["public_url"], public);
    assert_eq!(listed["tunnels"][0]["target"], rx.url);
    subscribe_ok(&s, "INVENTORY_LEVELS_UPDATE", &format!("{public}/t")).await;
    let closed = s
        .http
        .delete(format!(
            "{}/_sim/tunnels/{}",
            s.sim.info.base_url,
            public.trim_start_matches("https://")
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(closed.status(), 204);
    edit_stock(&s, -1).await;
    let log = wait_log(&s, |l| !l.is_empty()).await;
    assert_eq!(log[0]["outcome"], "failed");
    assert!(
        log[0]["error"]
            .as_str()
            .unwrap()
            .contains("connection refused")
    );
    assert!(rx.drain(50).await.is_empty());
    let bad = s
        .http
        .post(format!("{}/_sim/tunnels", s.sim.info.base_url))
        .json(&json!({ "target": "http://example.com:80" }))
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), 400);
    s.sim.stop().await;
}

trait ClockMs {
    fn clock_ms(&self) -> i64;
}

impl ClockMs for Sim {
    fn clock_ms(&self) -> i64 {
        self.clock.now()
    }
}

#[tokio::test]
async fn a_finished_bulk_operation_fires_bulk_operations_finish() {
    let s = start(small_config()).await;
    let mut rx = receiver().await;
    let public = tunnel(&s, &rx.url).await;
    subscribe_ok(&s, "BULK_OPERATIONS_FINISH", &format!("{public}/bulk")).await;
    let run = s
        .gql(
            "mutation Run($query: String!) { bulkOperationRunQuery(query: $query) { bulkOperation { id } userErrors { field message } } }",
            json!({ "query": "{ productVariants { edges { node { id sku } } } }" }),
        )
        .await;
    let id = run.body["data"]["bulkOperationRunQuery"]["bulkOperation"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let got = tokio::time::timeout(Duration::from_secs(20), rx.rx.recv())
        .await
        .expect("the finish webhook arrives")
        .unwrap();
    assert_eq!(got.header("x-shopify-topic"), "bulk_operations/finish");
    let body = got.json();
    assert_eq!(body["admin_graphql_api_id"], id);
    assert_eq!(body["status"], "completed");
    assert_eq!(body["type"], "query");
    assert_eq!(body["error_code"], Value::Null);
    assert!(body["completed_at"].as_str().unwrap().ends_with("-04:00"));
    s.sim.stop().await;
}

#[tokio::test]
async fn retries_keep_the_address_the_event_fired_with_and_the_schedule_is_configurable() {
    let s = start(small_config()).await;
    let mut old = receiver().await;
    let mut new = receiver().await;
    old.status.store(503, Ordering::SeqCst);
    let old_url = tunnel(&s, &old.url).await;
    let new_url = tunnel(&s, &new.url).await;
    post(
        &s,
        "/_sim/webhooks/settings",
        json!({ "first_retry_seconds": 10, "retries": 2 }),
    )
    .await;
    let id = subscribe_ok(&s, "INVENTORY_LEVELS_UPDATE", &format!("{old_url}/h")).await;
    edit_stock(&s, -1).await;
    let first = old.next().await;
    wait_log(&s, |l| l.len() == 1).await;
    // The owner moves the subscription to a new address mid-cycle.
    let moved = s
        .gql(
            "mutation U($id: ID!, $sub: WebhookSubscriptionInput!) { webhookSubscriptionUpdate(id: $id, webhookSubscription: $sub) { webhookSubscription { uri } userErrors { message } } }",
            json!({ "id": id, "sub": { "uri": format!("{new_url}/h") } }),
        )
        .await;
    assert_eq!(
        moved.body["data"]["webhookSubscriptionUpdate"]["userErrors"],
        json!([])
    );
    // Retry 1 after 10 s and retry 2 after 20 s go to the old address; then it gives up.
    s.clock.advance(Duration::from_secs(10));
    let retry = old.next().await;
    assert_eq!(
        retry.header("x-shopify-webhook-id"),
        first.header("x-shopify-webhook-id")
    );
    wait_log(&s, |l| l.len() == 2).await;
    s.clock.advance(Duration::from_secs(20));
    old.next().await;
    let log = wait_log(&s, |l| l.len() == 3).await;
    assert_eq!(
        log[2]["next_attempt_at"],
        Value::Null,
        "no retry after the last"
    );
    s.clock.advance(Duration::from_secs(3600));
    assert!(old.drain(50).await.is_empty());
    assert!(new.drain(10).await.is_empty());
    // A new event goes to the new address.
    edit_stock(&s, -1).await;
    assert_eq!(new.next().await.path, "/h");
    s.sim.stop().await;
}

#[tokio::test]
async fn eventbridge_subscriptions_without_a_target_are_kept_but_not_delivered() {
    let s = start(small_config()).await;
    let api_client_id = get(&s, "/_sim/webhooks").await["api_client_id"]
        .as_u64()
        .unwrap();
    subscribe_ok(
        &s,
        "INVENTORY_LEVELS_UPDATE",
        &format!("arn:aws:events:us-east-1::event-source/aws.partner/shopify.com/{api_client_id}/shelfsync"),
    )
    .await;
    edit_stock(&s, -1).await;
    let log = wait_log(&s, |l| !l.is_empty()).await;
    assert_eq!(log[0]["outcome"], "not_simulated");
    assert!(
        log[0]["error"]
            .as_str()
            .unwrap()
            .contains("POST /_sim/eventbridge")
    );
    // Not a failure: the subscription stays and nothing is retried.
    s.clock.advance(Duration::from_secs(3600));
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert_eq!(deliveries(&s).await.len(), 1);
    let overview = get(&s, "/_sim/webhooks").await;
    assert_eq!(overview["subscriptions"][0]["consecutive_failures"], 0);
    s.sim.stop().await;
}

#[tokio::test]
async fn an_eventbridge_target_is_set_shown_without_its_secret_and_cleared() {
    let s = start(small_config()).await;
    assert_eq!(get(&s, "/_sim/eventbridge").await["target"], Value::Null);
    let target = json!({
        "endpoint_url": "http://127.0.0.1:9",
        "region": "us-east-1",
        "event_bus_name": "shop",
        "access_key_id": "AKIDEXAMPLE",
        "secret_access_key": "do-not-show-this",
    });
    let shown = post(&s, "/_sim/eventbridge", target).await;
    assert_eq!(shown["target"]["event_bus_name"], "shop");
    let again = get(&s, "/_sim/eventbridge").await;
    assert_eq!(again["target"]["access_key_id"], "AKIDEXAMPLE");
    assert!(!again.to_string().contains("do-not-show-this"));
    // With a target that does not answer, a delivery is a failure and is retried.
    let api_client_id = get(&s, "/_sim/webhooks").await["api_client_id"]
        .as_u64()
        .unwrap();
    subscribe_ok(
        &s,
        "INVENTORY_LEVELS_UPDATE",
        &format!("arn:aws:events:us-east-1::event-source/aws.partner/shopify.com/{api_client_id}/shelfsync"),
    )
    .await;
    edit_stock(&s, -1).await;
    let log = wait_log(&s, |l| !l.is_empty()).await;
    assert_eq!(log[0]["outcome"], "failed", "{log:#?}");
    assert!(log[0]["next_attempt_at"].is_string());
    let r = s
        .http
        .delete(format!("{}/_sim/eventbridge", s.sim.info.base_url))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
    assert_eq!(get(&s, "/_sim/eventbridge").await["target"], Value::Null);
    s.sim.stop().await;
}

#[tokio::test]
async fn a_triggered_sample_is_delivered_once_signed_without_a_subscription() {
    let s = start(small_config()).await;
    let mut rx = receiver().await;
    let public = tunnel(&s, &rx.url).await;
    let fired = post(
        &s,
        "/_sim/webhooks/trigger",
        json!({ "topic": "shop/update", "address": format!("{public}/webhooks") }),
    )
    .await;
    let got = rx.next().await;
    assert_eq!(got.path, "/webhooks");
    assert_eq!(got.header("x-shopify-topic"), "shop/update");
    assert_eq!(got.header("x-shopify-event-id"), fired["event_id"]);
    assert_eq!(got.header("x-shopify-webhook-id"), fired["webhook_id"]);
    assert_eq!(
        got.header("x-shopify-hmac-sha256"),
        hmac_b64(&s.sim.info.client_secret, &got.body)
    );
    assert_eq!(
        got.json()["myshopify_domain"],
        got.header("x-shopify-shop-domain")
    );
    // No subscription was created, and a failed trigger is not retried.
    assert_eq!(get(&s, "/_sim/webhooks").await["subscriptions"], json!([]));
    rx.status.store(500, Ordering::SeqCst);
    post(
        &s,
        "/_sim/webhooks/trigger",
        json!({ "address": format!("{public}/webhooks") }),
    )
    .await;
    rx.next().await;
    post(&s, "/_sim/clock/advance", json!({ "seconds": 3600 })).await;
    assert!(rx.drain(200).await.is_empty(), "retried");
    let bad = s
        .http
        .post(format!("{}/_sim/webhooks/trigger", s.sim.info.base_url))
        .json(&json!({ "address": "http://127.0.0.1:1/plain-http" }))
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), 400);
    s.sim.stop().await;
}
