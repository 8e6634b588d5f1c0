//! The webhook listener over real HTTP on loopback, against Shopify's own HMAC test vector:
//! a signed delivery is stored (with its processing job) before the `200`; a redelivery is a
//! no-op `200`; one byte changed, a wrong secret, a missing header or a 10 MB body are refused
//! with 401/400/413, counted, and leave nothing in the inbox.
//!
//! Deliveries signed by Shopify's own Node library (`createSHA256HMAC` from
//! `@shopify/shopify-api` 13.1.0, the project's pinned dev dependency, through
//! `tests/shopify-clients/sign-webhook.mjs`) are accepted: the test vector and Shopify's
//! documented `orders/create` example; the same forgeries of the example, signed by the
//! library, are refused. That test needs `node` and `npm ci` at the repository root: in CI
//! (`CI` set) their absence fails it; elsewhere it is skipped and says why.

use std::io::Write as _;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use serde_json::Value;
use shelfsync_engine::Cache;
use shelfsync_engine::intake::verify::signature_matches;
use shelfsync_engine::intake::{
    InboxWriter, IntakeEvents, IntakePath, IntakeStats, JOB_WEBHOOK, Listener, ListenerConfig,
};
use shelfsync_shopify::Secret;
use shelfsync_store::{JobState, Reader};

const VECTOR: &str = include_str!("fixtures/webhooks/hmac-test-vector.json");
const BODY: &[u8] = include_bytes!("fixtures/webhooks/hmac-test-vector.body.json");

fn vector() -> Value {
    serde_json::from_str(VECTOR).unwrap()
}

#[test]
fn the_shared_vector_verifies_and_nothing_else_does() {
    let v = vector();
    let secret = Secret::new(v["secret"].as_str().unwrap());
    let expected = v["expected_x_shopify_hmac_sha256"].as_str().unwrap();
    assert!(signature_matches(
        std::slice::from_ref(&secret),
        BODY,
        expected
    ));
    // One byte of the body changed ("available":10 -> 11).
    let text = std::str::from_utf8(BODY).unwrap();
    let changed = text.replace("\"available\":10", "\"available\":11");
    assert_ne!(changed.as_bytes(), BODY);
    assert!(!signature_matches(
        std::slice::from_ref(&secret),
        changed.as_bytes(),
        expected
    ));
    // The same JSON re-serialised with indentation.
    let pretty =
        serde_json::to_vec_pretty(&serde_json::from_slice::<Value>(BODY).unwrap()).unwrap();
    assert!(!signature_matches(
        std::slice::from_ref(&secret),
        &pretty,
        expected
    ));
    // A wrong secret; then the right one among several (a rotation).
    let wrong = Secret::new("shpss_not_the_app_secret");
    assert!(!signature_matches(
        std::slice::from_ref(&wrong),
        BODY,
        expected
    ));
    assert!(signature_matches(&[wrong, secret], BODY, expected));
    // Not base64 at all.
    assert!(!signature_matches(&[Secret::new("x")], BODY, "%%%"));
}

struct Harness {
    url: String,
    listener: Listener,
    stats: IntakeStats,
    commits: Arc<AtomicUsize>,
    _dir: tempfile::TempDir,
    db: std::path::PathBuf,
    http: reqwest::Client,
}

async fn harness(max_body_bytes: usize) -> Harness {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("store.db");
    let cache = Cache::open(&db).await.unwrap();
    let commits = Arc::new(AtomicUsize::new(0));
    let counted = commits.clone();
    let inbox = InboxWriter::start(
        cache,
        Arc::new(move || {
            counted.fetch_add(1, Ordering::SeqCst);
        }),
    );
    let stats = IntakeStats::new(IntakeEvents::new());
    let listener = Listener::start(
        ListenerConfig {
            port: 0,
            keys: vec![Secret::new(vector()["secret"].as_str().unwrap())],
            shop_domain: Some("sim-shop.myshopify.com".into()),
            max_body_bytes,
        },
        inbox,
        stats.clone(),
    )
    .await
    .unwrap();
    let addr = listener.local_addr();
    assert!(addr.ip().is_loopback(), "bound to {addr}");
    Harness {
        url: format!("http://{addr}/webhooks"),
        listener,
        stats,
        commits,
        _dir: dir,
        db,
        http: reqwest::Client::new(),
    }
}

impl Harness {
    async fn send(&self, headers: &[(&str, &str)], body: Vec<u8>) -> u16 {
        let mut request = self
            .http
            .post(&self.url)
            .header("Content-Type", "application/json");
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        match request.body(body).send().await {
            Ok(r) => r.status().as_u16(),
            Err(e) => panic!("request failed: {e}"),
        }
    }

    fn inbox_rows(&self) -> u64 {
        Reader::open(&self.db)
            .unwrap()
            .inbox_counts()
            .unwrap()
            .total
    }
}

/// The vector's headers plus an event id and a trigger time, as Shopify sends them today.
fn signed_headers(v: &Value) -> Vec<(String, String)> {
    let mut headers: Vec<(String, String)> = v["headers"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(k, v)| (k.clone(), v.as_str().unwrap().to_owned()))
        .collect();
    headers.push((
        "X-Shopify-Hmac-Sha256".into(),
        v["expected_x_shopify_hmac_sha256"].as_str().unwrap().into(),
    ));
    headers
}

fn refs(headers: &[(String, String)]) -> Vec<(&str, &str)> {
    headers
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect()
}

/// base64(HMAC-SHA256(body, secret)), as `X-Shopify-Hmac-Sha256` carries it.
fn sign(secret: &str, body: &[u8]) -> String {
    use base64::Engine as _;
    use hmac::{Hmac, Mac};
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(body);
    base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
}

/// `headers` with `name` replaced by `value`.
fn with(headers: &[(String, String)], name: &str, value: &str) -> Vec<(String, String)> {
    let mut changed: Vec<_> = headers
        .iter()
        .filter(|(k, _)| !k.eq_ignore_ascii_case(name))
        .cloned()
        .collect();
    changed.push((name.to_owned(), value.to_owned()));
    changed
}

/// A signer: (key, body) → the `X-Shopify-Hmac-Sha256` value.
type Signer<'a> = &'a (dyn Fn(&str, &[u8]) -> String + Sync);

/// Sends `body`, which `headers` deliver correctly signed, in each way a forger or a broken
/// sender would, and checks each is refused and nothing is stored: one byte of the body
/// changed (401); signed by `sign` with a key that is not the app's (401); each header
/// Shopify's validator requires missing (400); padded with whitespace to 10 MB and signed by
/// `sign` with the right key (413, from `Content-Length`, before the body is read). Adds 2
/// forged, 5 malformed and 1 oversized to the listener's counters.
async fn assert_refused_and_not_stored(
    h: &Harness,
    headers: &[(String, String)],
    body: &[u8],
    sign: Signer<'_>,
) {
    let rows = h.inbox_rows();
    let commits = h.commits.load(Ordering::SeqCst);
    let before = h.stats.snapshot().first().cloned();
    let counted = |f: fn(&shelfsync_engine::intake::PathStats) -> u64| before.as_ref().map_or(0, f);
    let (forged, malformed, oversized) = (
        counted(|s| s.refused_forged),
        counted(|s| s.refused_malformed),
        counted(|s| s.refused_oversized),
    );

    // One digit of the body changed: still JSON, no longer what was signed.
    let mut changed = body.to_vec();
    let at = changed
        .iter()
        .position(u8::is_ascii_digit)
        .expect("a digit in the body");
    changed[at] = if changed[at] == b'9' {
        b'0'
    } else {
        changed[at] + 1
    };
    assert_eq!(
        h.send(&refs(headers), changed).await,
        401,
        "one byte changed"
    );
    let wrong = sign("shpss_a_wrong_secret", body);
    assert_eq!(
        h.send(
            &refs(&with(headers, "X-Shopify-Hmac-Sha256", &wrong)),
            body.to_vec()
        )
        .await,
        401,
        "signed with another key"
    );
    for missing in [
        "X-Shopify-Webhook-Id",
        "X-Shopify-Topic",
        "X-Shopify-Hmac-Sha256",
        "X-Shopify-Shop-Domain",
        "X-Shopify-API-Version",
    ] {
        let without: Vec<_> = headers
            .iter()
            .filter(|(k, _)| !k.eq_ignore_ascii_case(missing))
            .cloned()
            .collect();
        assert_eq!(
            h.send(&refs(&without), body.to_vec()).await,
            400,
            "{missing}"
        );
    }
    // 10 MB, correctly signed: refused from its Content-Length, without reading it. The
    // listener may close the connection while the client is still sending, so the client sees
    // the 413 or a reset; either way the counter shows the refusal.
    let mut big = body.to_vec();
    big.resize(10 << 20, b' ');
    // The harness's listener checks with the vector's key.
    let key = vector()["secret"].as_str().unwrap().to_owned();
    let signed_big = with(headers, "X-Shopify-Hmac-Sha256", &sign(&key, &big));
    let mut request = reqwest::Client::new().post(&h.url);
    for (name, value) in refs(&signed_big) {
        request = request.header(name, value);
    }
    if let Ok(answer) = request.body(big).send().await {
        assert_eq!(answer.status(), 413, "10 MB");
    }

    let after = &h.stats.snapshot()[0];
    assert_eq!(
        (
            after.refused_forged - forged,
            after.refused_malformed - malformed,
            after.refused_oversized - oversized
        ),
        (2, 5, 1),
        "{after:?}"
    );
    assert_eq!(h.inbox_rows(), rows, "nothing refused is stored");
    assert_eq!(h.commits.load(Ordering::SeqCst), commits);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_signed_delivery_is_stored_once_and_forgeries_are_refused() {
    let h = harness(1 << 20).await;
    let v = vector();
    let mut headers = signed_headers(&v);
    headers.push((
        "X-Shopify-Triggered-At".into(),
        "2026-11-24T12:00:00.912552336Z".into(),
    ));
    headers.push((
        "X-Shopify-Event-Id".into(),
        "a2533945-1f0c-4bd4-9d3d-e1a7a0bd5a11".into(),
    ));

    // Refused before anything is stored.
    assert_refused_and_not_stored(&h, &headers, BODY, &|secret, body| sign(secret, body)).await;
    let mut bad_time = headers.clone();
    bad_time.retain(|(k, _)| k != "X-Shopify-Triggered-At");
    bad_time.push(("X-Shopify-Triggered-At".into(), "yesterday".into()));
    assert_eq!(
        h.send(&refs(&bad_time), BODY.to_vec()).await,
        400,
        "triggered-at"
    );
    let mut other_shop = headers.clone();
    other_shop.retain(|(k, _)| k != "X-Shopify-Shop-Domain");
    other_shop.push(("X-Shopify-Shop-Domain".into(), "other.myshopify.com".into()));
    assert_eq!(
        h.send(&refs(&other_shop), BODY.to_vec()).await,
        400,
        "another shop"
    );
    assert_eq!(h.send(&refs(&headers), Vec::new()).await, 400, "empty body");
    assert_eq!(h.inbox_rows(), 0, "nothing refused is stored");
    assert_eq!(h.commits.load(Ordering::SeqCst), 0);

    // The real thing: stored with its job, then a redelivery changes nothing.
    assert_eq!(h.send(&refs(&headers), BODY.to_vec()).await, 200);
    assert_eq!(h.inbox_rows(), 1, "committed before the 200");
    assert_eq!(
        h.send(&refs(&headers), BODY.to_vec()).await,
        200,
        "redelivery"
    );
    let mut retry_other_webhook_id = headers.clone();
    retry_other_webhook_id.retain(|(k, _)| k != "X-Shopify-Webhook-Id");
    retry_other_webhook_id.push((
        "X-Shopify-Webhook-Id".into(),
        "5e0e8b9c-0000-4000-8000-000000000001".into(),
    ));
    assert_eq!(
        h.send(&refs(&retry_other_webhook_id), BODY.to_vec()).await,
        200,
        "duplicate"
    );
    assert_eq!(h.inbox_rows(), 1);

    let reader = Reader::open(&h.db).unwrap();
    let stored = reader.unprocessed_webhooks(10).unwrap();
    assert_eq!(stored.len(), 1);
    let event = &stored[0].event;
    assert_eq!(event.body, BODY, "the raw body, byte for byte");
    assert_eq!(event.event_id, "a2533945-1f0c-4bd4-9d3d-e1a7a0bd5a11");
    assert_eq!(
        event.webhook_id.as_deref(),
        Some("b54557e4-bdd9-4b37-8a5f-bf7d70bcd043")
    );
    assert_eq!(event.topic, "inventory_levels/update");
    assert_eq!(
        event.triggered_at.as_ref().map(|t| t.as_str()),
        Some("2026-11-24T12:00:00.912552336Z"),
        "kept as Shopify sent it"
    );
    let jobs = reader.jobs_in_state(JobState::Pending, 10).unwrap();
    assert_eq!(jobs.len(), 1);
    assert_eq!(jobs[0].kind, JOB_WEBHOOK);
    assert_eq!(jobs[0].payload["inbox_id"], stored[0].id);

    // The vector as it is (no event id, no trigger time): stored under its webhook id.
    let plain = signed_headers(&v);
    let body2 = BODY.to_vec();
    // Same webhook id as the first delivery's fallback would be, but that one had an event
    // id; this one is keyed by its webhook id, a different key.
    assert_eq!(h.send(&refs(&plain), body2).await, 200);
    assert_eq!(h.inbox_rows(), 2);
    assert!(
        reader
            .unprocessed_webhooks(10)
            .unwrap()
            .iter()
            .any(|w| w.event.event_id == "b54557e4-bdd9-4b37-8a5f-bf7d70bcd043")
    );

    let stats = h.stats.snapshot();
    assert_eq!(stats.len(), 1);
    let s = &stats[0];
    assert_eq!(s.path, IntakePath::Listener);
    assert_eq!((s.accepted, s.duplicates), (2, 2));
    assert_eq!(s.refused_forged, 2);
    assert_eq!(s.refused_malformed, 5 + 1 + 1 + 1);
    assert_eq!(s.refused_oversized, 1);
    assert!(s.last_event_at.is_some());
    h.listener.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_chunked_body_past_the_bound_is_refused() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let h = harness(64 * 1024).await;
    let headers = signed_headers(&vector());
    // No Content-Length: a chunked body that passes the bound half-way, written by hand.
    let mut tcp = tokio::net::TcpStream::connect(h.listener.local_addr())
        .await
        .unwrap();
    let mut head = String::from("POST /webhooks HTTP/1.1\r\nHost: 127.0.0.1\r\n");
    for (name, value) in &headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str("Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n");
    tcp.write_all(head.as_bytes()).await.unwrap();
    let chunk = [b' '; 4096];
    for _ in 0..32 {
        let written = async {
            tcp.write_all(b"1000\r\n").await?;
            tcp.write_all(&chunk).await?;
            tcp.write_all(b"\r\n").await
        }
        .await;
        if written.is_err() {
            break; // The listener answered and closed: fine.
        }
    }
    let _ = tcp.write_all(b"0\r\n\r\n").await;
    let mut answer = Vec::new();
    let _ = tcp.read_to_end(&mut answer).await;
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");
    assert_eq!(h.inbox_rows(), 0);
    assert_eq!(h.stats.snapshot()[0].refused_oversized, 1);
}

/// The repository's root (this crate is `src-tauri/crates/engine`).
fn repo_root() -> PathBuf {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../..");
    root.canonicalize().unwrap_or(root)
}

fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| !v.is_empty() && v != "false" && v != "0")
}

/// Whether `node` and the project's npm packages are there. In CI their absence fails the
/// test; elsewhere the test is skipped and says why.
fn shopify_library_ready() -> bool {
    let library = repo_root().join("node_modules/@shopify/shopify-api/package.json");
    let missing = match Command::new("node").arg("--version").output() {
        Err(e) => Some(format!("`node` could not be run ({e})")),
        Ok(out) if !out.status.success() => Some("`node --version` failed".to_owned()),
        Ok(_) if !library.is_file() => Some(format!(
            "the project's npm packages are not installed ({} is missing)",
            library.display()
        )),
        Ok(_) => None,
    };
    match missing {
        None => true,
        Some(why) if in_ci() => panic!(
            "{why}. Shopify's Node library signs this test's webhooks: install Node.js 20+ and \
             run `npm ci` at the repository root first (.ci/test does)"
        ),
        Some(why) => {
            eprintln!(
                "skipped: {why}; install Node.js 20+ and run `npm ci` at the repository root \
                 to sign with Shopify's Node library"
            );
            false
        }
    }
}

/// `X-Shopify-Hmac-Sha256` for `body` under `secret`, computed by `createSHA256HMAC` from
/// `@shopify/shopify-api` (`tests/shopify-clients/sign-webhook.mjs`).
fn shopify_library_sign(secret: &str, body: &[u8]) -> String {
    let script = repo_root().join("tests/shopify-clients/sign-webhook.mjs");
    let mut child = Command::new("node")
        .arg(&script)
        .current_dir(repo_root())
        .env("SHOPIFY_WEBHOOK_SECRET", secret)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("run node {}: {e}", script.display()));
    child.stdin.take().unwrap().write_all(body).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "sign-webhook.mjs failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap().trim().to_owned()
}

/// Shopify's documented `orders/create` example (2026-07), as a compact JSON body.
fn order_example() -> Vec<u8> {
    let metadata: Value = serde_json::from_str(include_str!(
        "../../sim/tests/fixtures/webhook-examples/metadatas/2026-07/orders/create.json"
    ))
    .unwrap();
    assert_eq!(metadata["name"], "orders/create");
    serde_json::to_vec(&metadata["response"]).unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn deliveries_signed_by_shopifys_node_library_are_accepted() {
    if !shopify_library_ready() {
        return;
    }
    let h = harness(1 << 20).await;
    let v = vector();
    let secret = v["secret"].as_str().unwrap();

    // The shared vector: the library computes the vector's signature, and the listener
    // stores the delivery it signs.
    let signature = shopify_library_sign(secret, BODY);
    assert_eq!(
        signature,
        v["expected_x_shopify_hmac_sha256"].as_str().unwrap()
    );
    let headers = with(
        &with(
            &signed_headers(&v),
            "X-Shopify-Event-Id",
            "7d1f0c52-3b8e-4f0a-9c61-2e5d8a4b7f10",
        ),
        "X-Shopify-Hmac-Sha256",
        &signature,
    );
    assert_eq!(h.send(&refs(&headers), BODY.to_vec()).await, 200, "vector");
    assert_eq!(h.inbox_rows(), 1);

    // A real payload: Shopify's orders/create example, 10 KB, signed by the library.
    let body = order_example();
    let example = vec![
        ("X-Shopify-Topic".to_owned(), "orders/create".to_owned()),
        (
            "X-Shopify-Shop-Domain".to_owned(),
            "sim-shop.myshopify.com".to_owned(),
        ),
        ("X-Shopify-API-Version".to_owned(), "2026-07".to_owned()),
        (
            "X-Shopify-Webhook-Id".to_owned(),
            "c3a9e0f4-6d2b-4e8a-b1f7-5a0c9d3e2b64".to_owned(),
        ),
        (
            "X-Shopify-Event-Id".to_owned(),
            "e8b4d2a6-0f1c-4a9e-8d3b-7c6f5e4a3b21".to_owned(),
        ),
        (
            "X-Shopify-Triggered-At".to_owned(),
            "2026-07-15T10:00:00.000000000Z".to_owned(),
        ),
        (
            "X-Shopify-Hmac-Sha256".to_owned(),
            shopify_library_sign(secret, &body),
        ),
    ];
    assert_eq!(h.send(&refs(&example), body.clone()).await, 200, "example");
    assert_eq!(h.inbox_rows(), 2);
    let reader = Reader::open(&h.db).unwrap();
    let stored = reader.unprocessed_webhooks(10).unwrap();
    let order = stored
        .iter()
        .find(|w| w.event.event_id == "e8b4d2a6-0f1c-4a9e-8d3b-7c6f5e4a3b21")
        .expect("the example is stored under its event id");
    assert_eq!(order.event.topic, "orders/create");
    assert_eq!(order.event.body, body, "the raw body, byte for byte");

    // The same forgeries as for the vector, with the library's signatures.
    assert_refused_and_not_stored(&h, &example, &body, &shopify_library_sign).await;

    let s = &h.stats.snapshot()[0];
    assert_eq!((s.accepted, s.duplicates), (2, 0), "{s:?}");
    assert_eq!(
        (s.refused_forged, s.refused_malformed, s.refused_oversized),
        (2, 5, 1),
        "{s:?}"
    );
    h.listener.stop().await;
}
