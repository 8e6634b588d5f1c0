//! "Send test webhook": one signed event through each configured intake path, and where it
//! arrived.
//!
//! Owners set up a tunnel or an EventBridge relay once and then need to know it works before
//! an order depends on it. Shopify's own way is `shopify app webhook trigger`: the platform
//! delivers a sample `shop/update` payload, signed with the app's secret, to an address,
//! whether or not a subscription points there, and never retries it. Shelfsync does the same
//! per path and then watches its inbox for that event's `X-Shopify-Event-Id`:
//!
//! - a store Shelfsync reaches over plain `http://` on loopback is the simulator, which
//!   offers that trigger (`POST /_sim/webhooks/trigger`) for both the tunnel's URL and the
//!   EventBridge event source;
//! - a real store has no such endpoint for an app, so for the tunnel Shelfsync signs the
//!   sample itself with the app's secret and posts it to the tunnel's public URL: the same
//!   bytes travel the same way (tunnel → listener → signature check → inbox) as Shopify's
//!   would. The EventBridge path cannot be entered from the laptop (only Shopify's partner
//!   event source can put events on the bus), so the report says how to test it instead.
//!
//! The sample is a `shop/update` event, which the engine stores and otherwise ignores, so a
//! test never changes the cache.

use std::time::{Duration, Instant};

use base64::Engine as _;
use hmac::{Hmac, Mac};
use serde::Serialize;
use serde_json::json;
use sha2::Sha256;

use super::{IntakeError, IntakePath};
use crate::engine::{Engine, EngineError};
use crate::sync::SyncError;

/// The topic of a test delivery.
pub const TEST_TOPIC: &str = "shop/update";

/// What happened to the test event of one path.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TestDelivery {
    pub path: IntakePath,
    /// The tunnel's URL or the EventBridge event source.
    pub address: String,
    /// Whether a test event was sent at all.
    pub sent: bool,
    /// Whether it reached the inbox in time.
    pub arrived: bool,
    /// From sending to its commit in the inbox.
    pub after_ms: Option<u64>,
    /// What went wrong or what to do, in plain words.
    pub detail: Option<String>,
}

/// One test delivery per configured path.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TestWebhookReport {
    pub deliveries: Vec<TestDelivery>,
}

/// Where a test goes: each running path with a public address.
struct Plan {
    simulator: Option<String>,
    shop_domain: String,
    shop: serde_json::Value,
    key: Option<shelfsync_shopify::Secret>,
    targets: Vec<(IntakePath, String)>,
}

fn sign(key: &str, body: &[u8]) -> String {
    // HMAC takes keys of any length; this cannot fail.
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(key.as_bytes()) else {
        return String::new();
    };
    mac.update(body);
    base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
}

/// An id for a self-signed test event, unique enough to find it in the inbox.
fn test_event_id() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default();
    format!("shelfsync-test-{nanos:x}")
}

impl Engine {
    /// Sends a signed test event through each running intake path and waits (at most
    /// `wait`) for each to reach the inbox. Intake must be running with a tunnel URL or the
    /// relay.
    pub async fn send_test_webhook(
        &self,
        wait: Duration,
    ) -> Result<TestWebhookReport, IntakeError> {
        let session = self.session()?;
        let plan = self.with_intake(|running| {
            running.map(|r| {
                let mut targets = Vec::new();
                if let Some(url) = &r.public_url {
                    targets.push((IntakePath::Listener, url.clone()));
                }
                if let Some(arn) = &r.event_source {
                    targets.push((IntakePath::Relay, arn.clone()));
                }
                (targets, r.keys.first().cloned())
            })
        });
        let Some((targets, key)) = plan else {
            return Err(IntakeError::NotRunning);
        };
        if targets.is_empty() {
            return Err(IntakeError::NoTestAddress);
        }
        let shop = session
            .cache
            .read(|r| r.shop())
            .await
            .map_err(EngineError::from)?;
        let address = session.profile.address.clone();
        let plan = Plan {
            simulator: address.starts_with("http://").then_some(address),
            shop_domain: shop.as_ref().map(|s| s.domain.clone()).unwrap_or_default(),
            shop: match &shop {
                Some(s) => json!({
                    "id": s.id,
                    "name": s.name,
                    "domain": s.domain,
                    "myshopify_domain": s.domain,
                    "currency": s.currency_code,
                }),
                None => json!({}),
            },
            key,
            targets,
        };
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .build()
            .map_err(|e| EngineError::from(SyncError::Unexpected(e.to_string())))?;
        // Send every test first, then watch the inbox for all of them at once.
        let started = Instant::now();
        let mut deliveries = Vec::new();
        let mut waiting = Vec::new();
        for (path, address) in &plan.targets {
            let (delivery, event_id) = send(&http, &plan, *path, address).await;
            if let Some(event_id) = event_id {
                waiting.push((deliveries.len(), event_id));
            }
            deliveries.push(delivery);
        }
        let cache = session.cache.clone();
        let deadline = started + wait;
        while !waiting.is_empty() {
            let mut still = Vec::new();
            for (index, event_id) in waiting {
                let id = event_id.clone();
                match cache.read(move |r| r.webhook_by_event(&id)).await {
                    Ok(Some(_)) => {
                        deliveries[index].arrived = true;
                        deliveries[index].after_ms = Some(started.elapsed().as_millis() as u64);
                    }
                    _ => still.push((index, event_id)),
                }
            }
            waiting = still;
            if waiting.is_empty() || Instant::now() >= deadline {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        for (index, _) in waiting {
            let d = &mut deliveries[index];
            d.detail = Some(match d.path {
                IntakePath::Listener => format!(
                    "Nothing arrived within {} s. Check that the tunnel is running and forwards \
                     {} to this computer's listener port.",
                    wait.as_secs(),
                    d.address
                ),
                IntakePath::Relay => format!(
                    "Nothing arrived within {} s. Check the EventBridge rule that forwards the \
                     partner event source to the SQS queue, and the queue's address.",
                    wait.as_secs()
                ),
            });
        }
        Ok(TestWebhookReport { deliveries })
    }
}

/// Sends the test event of one path; returns what to report and the event id to wait for.
async fn send(
    http: &reqwest::Client,
    plan: &Plan,
    path: IntakePath,
    address: &str,
) -> (TestDelivery, Option<String>) {
    let mut delivery = TestDelivery {
        path,
        address: address.to_owned(),
        sent: false,
        arrived: false,
        after_ms: None,
        detail: None,
    };
    let sent = match (&plan.simulator, path) {
        (Some(base), _) => trigger_in_simulator(http, base, address).await,
        (None, IntakePath::Listener) => self_signed(http, plan, address).await,
        (None, IntakePath::Relay) => Err(format!(
            "Only Shopify can put events on the EventBridge bus, so Shelfsync cannot send a \
             test through it. Run `shopify app webhook trigger --topic {TEST_TOPIC} --address \
             {address}` or change a stock level in Shopify: the event shows in the Webhook \
             intake panel when it arrives."
        )),
    };
    match sent {
        Ok(event_id) => {
            delivery.sent = true;
            (delivery, Some(event_id))
        }
        Err(detail) => {
            delivery.detail = Some(detail);
            (delivery, None)
        }
    }
}

/// Asks the simulator to deliver its sample to `address`; returns the event id.
async fn trigger_in_simulator(
    http: &reqwest::Client,
    base: &str,
    address: &str,
) -> Result<String, String> {
    let answer = http
        .post(format!(
            "{}/_sim/webhooks/trigger",
            base.trim_end_matches('/')
        ))
        .json(&json!({ "topic": TEST_TOPIC, "address": address }))
        .send()
        .await
        .map_err(|e| format!("The store could not be asked to send a test event: {e}"))?;
    if !answer.status().is_success() {
        return Err(format!(
            "The store refused to send a test event (HTTP {}).",
            answer.status().as_u16()
        ));
    }
    let body: serde_json::Value = answer
        .json()
        .await
        .map_err(|e| format!("The store's answer could not be read: {e}"))?;
    body["event_id"]
        .as_str()
        .map(str::to_owned)
        .ok_or_else(|| "The store's answer named no event.".to_owned())
}

/// Signs the sample with the app's secret and posts it to the tunnel's public URL, as
/// Shopify would.
async fn self_signed(http: &reqwest::Client, plan: &Plan, url: &str) -> Result<String, String> {
    let Some(key) = &plan.key else {
        return Err(
            "Shelfsync has no signing secret for this store, so it cannot sign a test \
                    event. Add the app's API secret key in the webhook settings."
                .to_owned(),
        );
    };
    let body = serde_json::to_vec(&plan.shop).unwrap_or_default();
    let event_id = test_event_id();
    let answer = http
        .post(url)
        .header("Content-Type", "application/json")
        .header("X-Shopify-Topic", TEST_TOPIC)
        .header("X-Shopify-Hmac-Sha256", sign(key.expose(), &body))
        .header("X-Shopify-Shop-Domain", &plan.shop_domain)
        .header("X-Shopify-API-Version", shelfsync_shopify::API_VERSION)
        .header("X-Shopify-Webhook-Id", &event_id)
        .header("X-Shopify-Event-Id", &event_id)
        .header(
            "X-Shopify-Triggered-At",
            shelfsync_store::Timestamp::now().to_string(),
        )
        .body(body)
        .send()
        .await
        .map_err(|e| {
            format!("The tunnel's address could not be reached ({e}). Is the tunnel running?")
        })?;
    match answer.status().as_u16() {
        200..=299 => Ok(event_id),
        401 => Err(
            "The listener refused the test event's signature: the signing secret in \
                    Shelfsync is not the one the tunnel's listener checks with."
                .to_owned(),
        ),
        status => Err(format!(
            "The tunnel answered HTTP {status}: it may forward to another port than the \
             listener's."
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use shelfsync_shopify::Secret;
    use std::sync::{Arc, Mutex};

    /// A receiver on loopback that keeps what it got and answers `status`.
    async fn receiver(status: u16) -> (String, Arc<Mutex<Vec<(axum::http::HeaderMap, Vec<u8>)>>>) {
        let got = Arc::new(Mutex::new(Vec::new()));
        let keep = got.clone();
        let app = axum::Router::new().fallback(
            move |headers: axum::http::HeaderMap, body: axum::body::Bytes| {
                let keep = keep.clone();
                async move {
                    keep.lock().unwrap().push((headers, body.to_vec()));
                    axum::http::StatusCode::from_u16(status).unwrap()
                }
            },
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/webhooks", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        (url, got)
    }

    fn plan(key: Option<&str>) -> Plan {
        Plan {
            simulator: None,
            shop_domain: "hilltop.myshopify.com".into(),
            shop: json!({ "id": 42, "myshopify_domain": "hilltop.myshopify.com" }),
            key: key.map(|k| Secret::new(k.to_owned())),
            targets: Vec::new(),
        }
    }

    #[tokio::test]
    async fn a_self_signed_test_carries_what_the_listener_checks() {
        let (url, got) = receiver(200).await;
        let http = reqwest::Client::new();
        let event_id = self_signed(&http, &plan(Some("shpss_secret")), &url)
            .await
            .unwrap();
        let got = got.lock().unwrap();
        let (headers, body) = &got[0];
        let header = |name: &str| headers[name].to_str().unwrap().to_owned();
        assert_eq!(header("x-shopify-topic"), TEST_TOPIC);
        assert_eq!(header("x-shopify-event-id"), event_id);
        assert_eq!(header("x-shopify-shop-domain"), "hilltop.myshopify.com");
        let keys = [Secret::new("shpss_secret".to_owned())];
        assert!(super::super::verify::signature_matches(
            &keys,
            body,
            &header("x-shopify-hmac-sha256")
        ));
    }

    #[tokio::test]
    async fn a_refused_or_unsigned_test_says_what_to_fix() {
        let (url, _) = receiver(401).await;
        let http = reqwest::Client::new();
        let refused = self_signed(&http, &plan(Some("wrong")), &url)
            .await
            .unwrap_err();
        assert!(refused.contains("signing secret"), "{refused}");
        let unsigned = self_signed(&http, &plan(None), &url).await.unwrap_err();
        assert!(unsigned.contains("API secret key"), "{unsigned}");
        let (url, _) = receiver(404).await;
        let elsewhere = self_signed(&http, &plan(Some("k")), &url)
            .await
            .unwrap_err();
        assert!(elsewhere.contains("HTTP 404"), "{elsewhere}");
    }
}
