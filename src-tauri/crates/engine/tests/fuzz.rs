//! Fuzzing of everything Shelfsync reads from outside: webhook deliveries (headers, body,
//! signature), bulk-update files, the relay's EventBridge envelopes and Shopify's GraphQL
//! answers. Each target starts from real inputs (the HMAC test vector signed by Shopify's own
//! library, FACTS' EventBridge envelope, spreadsheets' CSV dialects, recorded answers) and
//! mutates them — bytes flipped, inserted, removed, spliced — beside plain random bytes.
//!
//! The property is always the same: no panic, and a clear verdict (a refusal, a problem by row,
//! a `Malformed`, a decode error). Run briefly by the test command (256 cases a target); run
//! longer on demand with `SHELFSYNC_FUZZ_CASES=100000 cargo test -p shelfsync-engine --test
//! fuzz --release`. proptest keeps any failing input it finds in `tests/fuzz.proptest-regressions`,
//! which is committed so it is replayed first on every later run.

use axum::http::{HeaderMap, HeaderName, HeaderValue};
use base64::Engine as _;
use hmac::{Hmac, Mac};
use proptest::prelude::*;
use sha2::Sha256;
use shelfsync_engine::Secret;
use shelfsync_engine::import;
use shelfsync_engine::intake::Refusal;
use shelfsync_engine::intake::verify::verify;

const VECTOR_BODY: &[u8] = include_bytes!("fixtures/webhooks/hmac-test-vector.body.json");
const VECTOR_SECRET: &str = "shpss_test_app_secret";
const VECTOR_HMAC: &str = "qJixj0DBbx+2QizbixmHsPTGsPVfCUFQQ464uBtpADs=";

fn config() -> ProptestConfig {
    let cases = std::env::var("SHELFSYNC_FUZZ_CASES")
        .ok()
        .and_then(|c| c.parse().ok())
        .unwrap_or(256);
    ProptestConfig {
        cases,
        max_shrink_iters: 2_000,
        ..ProptestConfig::default()
    }
}

/// One edit of a byte string.
#[derive(Debug, Clone)]
enum Edit {
    Flip(usize, u8),
    Insert(usize, Vec<u8>),
    Remove(usize, usize),
    /// Copies a slice of the input elsewhere (repeats structure: quotes, delimiters, braces).
    Splice(usize, usize, usize),
}

fn edit() -> impl Strategy<Value = Edit> {
    prop_oneof![
        (any::<usize>(), 1u8..=255).prop_map(|(at, x)| Edit::Flip(at, x)),
        (
            any::<usize>(),
            prop::collection::vec(
                prop_oneof![
                    Just(b'"'),
                    Just(b','),
                    Just(b';'),
                    Just(b'\t'),
                    Just(b'\n'),
                    Just(b'\r'),
                    Just(b'{'),
                    Just(b'}'),
                    Just(b'-'),
                    Just(0xEF),
                    any::<u8>()
                ],
                1..6
            )
        )
            .prop_map(|(at, bytes)| Edit::Insert(at, bytes)),
        (any::<usize>(), 1usize..40).prop_map(|(at, n)| Edit::Remove(at, n)),
        (any::<usize>(), any::<usize>(), 1usize..60).prop_map(|(a, b, n)| Edit::Splice(a, b, n)),
    ]
}

fn apply(mut input: Vec<u8>, edits: &[Edit]) -> Vec<u8> {
    for e in edits {
        let len = input.len();
        match e {
            Edit::Flip(at, x) if len > 0 => input[at % len] ^= x,
            Edit::Insert(at, bytes) => {
                let at = at % (len + 1);
                input.splice(at..at, bytes.iter().copied());
            }
            Edit::Remove(at, n) if len > 0 => {
                let at = at % len;
                input.drain(at..(at + n).min(len));
            }
            Edit::Splice(from, to, n) if len > 0 => {
                let from = from % len;
                let piece = input[from..(from + n).min(len)].to_vec();
                let to = to % (len + 1);
                input.splice(to..to, piece);
            }
            _ => {}
        }
    }
    input
}

/// A real input, mutated a few times, or (one case in five) random bytes.
fn mutated(seeds: Vec<Vec<u8>>) -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        4 => (prop::sample::select(seeds), prop::collection::vec(edit(), 0..8))
            .prop_map(|(seed, edits)| apply(seed, &edits)),
        1 => prop::collection::vec(any::<u8>(), 0..600),
    ]
}

fn csv_seeds() -> Vec<Vec<u8>> {
    [
        "\u{feff}Handle,Title,Option1 Name,Option1 Value,SKU,HS Code,COO,Location,Bin name,\
Incoming (not editable),Unavailable (not editable),Committed (not editable),\
Available (not editable),On hand (current),On hand (new)\r\n\
mug,Mug,Size,Small,MUG-S,,,Warehouse,,0,0,1,9,10,12\r\n\
mug,Mug,Size,Large,MUG-L,,,\"Shop, Main\",,0,0,0,not stocked,not stocked,not stocked\r\n",
        "Handle,Title,Variant SKU,Variant Price,Variant Compare At Price,Variant Inventory Qty,Image Src\n\
mug,\"Mug, \"\"large\"\"\nwith lid\",MUG-S,$12.5,,4,a.png\n\
mug,,,,,,b.png\n\
mug,,MUG-L,14,0,,\n",
        "sku;location;quantity\r\nA-1;Warehouse;3\r\n\r\nA-2;\"Shop; Main\";-4\r\n;;\r\n",
        "sku\tprice\nA-1\t3.99\nA-2\t3,99\n",
        "URL handle,Title,SKU,Price,Compare-at price,Inventory quantity\nm,M,M-1,1.00,2.00,5\n",
    ]
    .iter()
    .map(|s| s.as_bytes().to_vec())
    .collect()
}

fn envelope_seeds() -> Vec<Vec<u8>> {
    let envelope = r#"{"version":"0","id":"5e2b","detail-type":"shopifyWebhook",
        "source":"aws.partner/shopify.com/347082227713/shelfsync","time":"2026-05-11T15:06:59Z",
        "region":"us-east-2","resources":[],
        "detail":{"payload":{"inventory_item_id":271878346596884015,"location_id":24826418,
            "available":10,"updated_at":"2021-12-31T19:00:00-05:00"},
          "metadata":{"Content-Type":"application/json","X-Shopify-Topic":"inventory_levels/update",
            "X-Shopify-Shop-Domain":"s.myshopify.com","X-Shopify-Hmac-SHA256":"x",
            "X-Shopify-Webhook-Id":"f267a21b-0000","X-Shopify-API-Version":"2026-07",
            "X-Shopify-Event-Id":"a2533945-0000","X-Shopify-Triggered-At":"2026-05-11T15:06:59.110521905Z"}}}"#;
    vec![envelope.as_bytes().to_vec()]
}

fn response_seeds() -> Vec<Vec<u8>> {
    [
        r#"{"data":{"inventorySetQuantities":{"inventoryAdjustmentGroup":{"id":"gid://shopify/InventoryAdjustmentGroup/1","changes":[{"name":"available","delta":3,"item":{"id":"gid://shopify/InventoryItem/2"},"location":{"id":"gid://shopify/Location/3"}}]},"userErrors":[]}},"extensions":{"cost":{"requestedQueryCost":13,"actualQueryCost":13.0,"throttleStatus":{"maximumAvailable":2000.0,"currentlyAvailable":1987,"restoreRate":100.0}}}}"#,
        r#"{"data":{"inventorySetQuantities":null},"errors":[{"message":"The @idempotent directive is required for this mutation but was not provided.","extensions":{"code":"BAD_REQUEST"},"path":["inventorySetQuantities"]}],"extensions":{"cost":{"requestedQueryCost":13,"actualQueryCost":10}}}"#,
        r#"{"errors":"[API] Invalid API key or access token (unrecognized login or wrong password)"}"#,
        r#"{"errors":[{"message":"Throttled","extensions":{"code":"THROTTLED","documentation":"https://shopify.dev/api/usage/rate-limits"}}],"extensions":{"cost":{"requestedQueryCost":752,"actualQueryCost":null,"throttleStatus":{"maximumAvailable":2000.0,"currentlyAvailable":12,"restoreRate":100.0}}}}"#,
        r#"{"data":{"nodes":[{"id":"gid://shopify/InventoryLevel/3?inventory_item_id=2","quantities":[{"name":"available","quantity":4},{"name":"on_hand","quantity":6}]},null,{}]}}"#,
    ]
    .iter()
    .map(|s| s.as_bytes().to_vec())
    .collect()
}

fn sign(body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(VECTOR_SECRET.as_bytes()).unwrap();
    mac.update(body);
    base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
}

fn vector_headers(hmac: &str) -> HeaderMap {
    let mut h = HeaderMap::new();
    for (k, v) in [
        ("x-shopify-hmac-sha256", hmac),
        ("x-shopify-topic", "inventory_levels/update"),
        ("x-shopify-shop-domain", "sim-shop.myshopify.com"),
        ("x-shopify-api-version", "2026-07"),
        (
            "x-shopify-webhook-id",
            "b54557e4-bdd9-4b37-8a5f-bf7d70bcd043",
        ),
    ] {
        h.insert(
            HeaderName::from_static(k),
            HeaderValue::from_str(v).unwrap(),
        );
    }
    h
}

#[test]
fn the_vector_verifies_as_shopify_signed_it() {
    let keys = [Secret::new(VECTOR_SECRET)];
    assert_eq!(sign(VECTOR_BODY), VECTOR_HMAC);
    assert!(verify(&keys, None, &vector_headers(VECTOR_HMAC), VECTOR_BODY).is_ok());
}

proptest! {
    #![proptest_config(config())]

    /// A body changed in any way is refused as forged under the original signature; signed
    /// again, it is accepted or refused as malformed, never a panic.
    #[test]
    fn webhook_verification_refuses_every_changed_body(body in mutated(vec![VECTOR_BODY.to_vec()])) {
        let keys = [Secret::new(VECTOR_SECRET)];
        let verdict = verify(&keys, None, &vector_headers(VECTOR_HMAC), &body);
        if body == VECTOR_BODY {
            prop_assert!(verdict.is_ok());
        } else if body.is_empty() {
            prop_assert!(matches!(verdict, Err(Refusal::Malformed(_))));
        } else {
            prop_assert!(matches!(verdict, Err(Refusal::Forged)), "{verdict:?}");
        }
        if !body.is_empty() {
            let resigned = verify(&keys, Some("sim-shop.myshopify.com"), &vector_headers(&sign(&body)), &body);
            prop_assert!(resigned.is_ok(), "{resigned:?}");
        }
    }

    /// Headers of any bytes (as an HTTP server would hand them over) never panic the check.
    #[test]
    fn webhook_headers_of_any_text_never_panic(
        values in prop::collection::vec(prop::collection::vec(32u8..127, 0..80), 5),
        body in mutated(vec![VECTOR_BODY.to_vec()]),
    ) {
        let names = [
            "x-shopify-hmac-sha256", "x-shopify-topic", "x-shopify-shop-domain",
            "x-shopify-api-version", "x-shopify-triggered-at",
        ];
        let mut headers = vector_headers(VECTOR_HMAC);
        for (name, value) in names.iter().zip(&values) {
            if let Ok(v) = HeaderValue::from_bytes(value) {
                headers.insert(HeaderName::from_static(name), v);
            }
        }
        let _ = verify(&[Secret::new(VECTOR_SECRET)], Some("sim-shop.myshopify.com"), &headers, &body);
    }

    /// Any file gets a report: every problem at a row a spreadsheet can show (the header is 1,
    /// nothing past the last line), every wanted change from a row without a problem in its
    /// cell, and no change asking for negative stock.
    #[test]
    fn csv_importer_reports_every_file(file in mutated(csv_seeds())) {
        let read = import::read(&file[..]).unwrap();
        // Lines end at \n, \r\n or a lone \r, as the CSV reader (and old spreadsheets) end
        // them.
        let lines = file
            .iter()
            .enumerate()
            .filter(|&(i, &b)| b == b'\n' || (b == b'\r' && file.get(i + 1) != Some(&b'\n')))
            .count() as u64
            + 1;
        for p in &read.check.problems {
            prop_assert!(p.row >= 1 && p.row <= lines, "{p:?} in {lines} lines");
            prop_assert!(!p.message.is_empty());
        }
        for w in &read.wanted {
            prop_assert!(w.row >= 2 && w.row <= lines, "{w:?}");
            prop_assert!(!w.sku.is_empty());
            if let import::WantedChange::Quantity { value, .. } = &w.change {
                prop_assert!(*value >= 0);
            }
        }
        prop_assert!(read.wanted.len() as u64 <= 2 * read.check.data_rows);
    }

    /// The relay's envelope decoder answers every message body with an event or a reason.
    #[test]
    fn eventbridge_envelopes_decode_or_are_refused(body in mutated(envelope_seeds())) {
        let text = String::from_utf8_lossy(&body);
        if let Ok(event) = shelfsync_engine::relay::decode(&text) {
            prop_assert!(!event.topic.is_empty());
        }
    }

    /// Shopify's answers decode into the envelope and the typed data, or fail to decode;
    /// nothing in them can panic the client's reading of errors and costs.
    #[test]
    fn graphql_answers_decode_or_fail_cleanly(body in mutated(response_seeds())) {
        use shelfsync_shopify::envelope::Envelope;
        use shelfsync_shopify::operations::{InventorySetData, LevelQuantitiesData};
        if let Ok(envelope) = serde_json::from_slice::<Envelope>(&body) {
            if let Some(errors) = envelope.errors {
                for e in errors.into_list() {
                    let _ = e.code();
                }
            }
            if let Some(data) = envelope.data {
                let _ = serde_json::from_value::<InventorySetData>(data.clone());
                let _ = serde_json::from_value::<LevelQuantitiesData>(data);
            }
        }
    }
}
