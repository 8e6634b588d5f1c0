//! Delivery to Amazon EventBridge, as Shopify's partner event source does it.
//!
//! A subscription whose uri is `arn:aws:events:<region>::event-source/aws.partner/shopify.com/
//! <app_id>/<source name>` is delivered with one signed `PutEvents` call per delivery to the
//! configured [`EventBridgeTarget`] (in production Amazon's endpoint; in tests a local
//! EventBridge such as moto's), so a rule on the owner's event bus can forward it to an SQS
//! queue that keeps it while the laptop sleeps. The entry is what FACTS §8 shows Shopify sends:
//!
//! - `Source` `aws.partner/shopify.com/<api_client_id>/<source name from the ARN>`,
//! - `DetailType` `shopifyWebhook`,
//! - `Detail` `{"payload": <the HTTPS body as an object>, "metadata": {<the delivery headers>}}`,
//!   with `X-Shopify-Hmac-SHA256` spelled as in Shopify's fixtures and no transport headers.
//!
//! The target's bus name is configurable because a real partner bus is named after the event
//! source (`aws.partner/shopify.com/…`), which moto refuses for rules; tests use a plain name.
//!
//! Requests are signed with SigV4 by `aws-sigv4`, Amazon's own signer, on the real clock (AWS
//! refuses requests whose time is off by more than five minutes, whatever the simulated time).
//! A transport error, a non-2xx answer or an entry EventBridge reports as failed is a failed
//! attempt, retried and counted like an HTTPS one.

use std::time::SystemTime;

use aws_credential_types::Credentials;
use aws_sigv4::http_request::{SignableBody, SignableRequest, SigningSettings, sign};
use aws_sigv4::sign::v4;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use super::delivery::{Job, Sent, headers};

/// Where EventBridge deliveries go. The secret access key is never shown by `/_sim` routes.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EventBridgeTarget {
    /// `https://events.<region>.amazonaws.com`, or a local EventBridge
    /// (`http://127.0.0.1:<port>`).
    pub endpoint_url: String,
    /// The region requests are signed for.
    pub region: String,
    /// The event bus that receives the events.
    pub event_bus_name: String,
    pub access_key_id: String,
    pub secret_access_key: String,
}

impl std::fmt::Debug for EventBridgeTarget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EventBridgeTarget")
            .field("endpoint_url", &self.endpoint_url)
            .field("region", &self.region)
            .field("event_bus_name", &self.event_bus_name)
            .field("access_key_id", &self.access_key_id)
            .finish_non_exhaustive()
    }
}

impl EventBridgeTarget {
    /// What `/_sim/eventbridge` shows: everything but the secret.
    pub fn public_view(&self) -> Value {
        json!({
            "endpoint_url": self.endpoint_url,
            "region": self.region,
            "event_bus_name": self.event_bus_name,
            "access_key_id": self.access_key_id,
        })
    }
}

/// `arn:aws:events:us-east-1::event-source/aws.partner/shopify.com/1234/shelfsync` →
/// `aws.partner/shopify.com/1234/shelfsync`.
pub fn event_source(arn: &str) -> Option<&str> {
    arn.split_once("::event-source/").map(|(_, source)| source)
}

/// The `detail` object of one delivery.
pub fn detail(job: &Job, secret: &str) -> Value {
    let payload: Value =
        serde_json::from_slice(&job.body).unwrap_or_else(|_| Value::Object(Map::new()));
    let metadata: Map<String, Value> = headers(job, secret)
        .into_iter()
        .filter(|(name, _)| name != "User-Agent" && name != "Accept-Encoding")
        .map(|(name, value)| {
            let name = if name == "X-Shopify-Hmac-Sha256" {
                "X-Shopify-Hmac-SHA256".to_owned()
            } else {
                name
            };
            (name, Value::String(value))
        })
        .collect();
    json!({ "payload": payload, "metadata": metadata })
}

/// The `PutEvents` request body (JSON 1.1 protocol) for one delivery.
pub fn put_events_body(arn: &str, job: &Job, secret: &str, target: &EventBridgeTarget) -> Value {
    json!({
        "Entries": [{
            "Source": event_source(arn).unwrap_or(arn),
            "DetailType": "shopifyWebhook",
            "Detail": detail(job, secret).to_string(),
            "EventBusName": target.event_bus_name,
            "Resources": [],
            "Time": job.triggered_at as f64 / 1000.0,
        }]
    })
}

/// Sends one delivery with a signed `PutEvents`.
pub async fn send(
    client: &reqwest::Client,
    target: &EventBridgeTarget,
    arn: &str,
    job: &Job,
    secret: &str,
) -> Sent {
    let body = put_events_body(arn, job, secret, target).to_string();
    let url = format!("{}/", target.endpoint_url.trim_end_matches('/'));
    let unsigned = [
        ("content-type", "application/x-amz-json-1.1"),
        ("x-amz-target", "AWSEvents.PutEvents"),
    ];
    let signed = match signature_headers(target, &url, &unsigned, body.as_bytes()) {
        Ok(headers) => headers,
        Err(error) => {
            return Sent::Failed {
                status: None,
                error: format!("could not sign the PutEvents request: {error}"),
            };
        }
    };
    let mut request = client.post(&url).body(body);
    for (name, value) in unsigned {
        request = request.header(name, value);
    }
    for (name, value) in signed {
        request = request.header(name, value);
    }
    let response = match request.send().await {
        Ok(response) => response,
        Err(e) => {
            return Sent::Failed {
                status: None,
                error: format!("PutEvents failed: {e}"),
            };
        }
    };
    let status = response.status().as_u16();
    let text = response.text().await.unwrap_or_default();
    if !(200..300).contains(&status) {
        // Errors come as JSON on this protocol, but signature errors as XML: keep the text.
        let short: String = text.chars().take(300).collect();
        return Sent::Failed {
            status: Some(status),
            error: format!("PutEvents answered HTTP {status}: {short}"),
        };
    }
    let answer: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
    match answer["FailedEntryCount"].as_u64() {
        Some(0) | None => Sent::Delivered(status),
        Some(_) => Sent::Failed {
            status: Some(status),
            error: format!(
                "EventBridge refused the entry: {} {}",
                answer["Entries"][0]["ErrorCode"]
                    .as_str()
                    .unwrap_or("unknown"),
                answer["Entries"][0]["ErrorMessage"].as_str().unwrap_or("")
            ),
        },
    }
}

/// The SigV4 headers (`authorization`, `x-amz-date`, …) for a POST of `body` to `url`.
fn signature_headers(
    target: &EventBridgeTarget,
    url: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> Result<Vec<(String, String)>, String> {
    let identity = Credentials::new(
        target.access_key_id.clone(),
        target.secret_access_key.clone(),
        None,
        None,
        "shopify-sim",
    )
    .into();
    let params = v4::SigningParams::builder()
        .identity(&identity)
        .region(&target.region)
        .name("events")
        .time(SystemTime::now())
        .settings(SigningSettings::default())
        .build()
        .map_err(|e| e.to_string())?
        .into();
    let signable = SignableRequest::new(
        "POST",
        url,
        headers.iter().copied(),
        SignableBody::Bytes(body),
    )
    .map_err(|e| e.to_string())?;
    let (instructions, _signature) = sign(signable, &params)
        .map_err(|e| e.to_string())?
        .into_parts();
    Ok(instructions
        .headers()
        .map(|(name, value)| (name.to_owned(), value.to_owned()))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_source_is_the_arn_after_event_source() {
        assert_eq!(
            event_source(
                "arn:aws:events:us-east-1::event-source/aws.partner/shopify.com/347082227713/shelfsync"
            ),
            Some("aws.partner/shopify.com/347082227713/shelfsync")
        );
        assert_eq!(event_source("https://example.com"), None);
    }

    #[test]
    fn debug_output_hides_the_secret_key() {
        let target = EventBridgeTarget {
            endpoint_url: "http://127.0.0.1:1".into(),
            region: "us-east-1".into(),
            event_bus_name: "shop".into(),
            access_key_id: "AKIDEXAMPLE".into(),
            secret_access_key: "wJalrXUtnFEMI-very-secret".into(),
        };
        assert!(!format!("{target:?}").contains("very-secret"));
        assert!(!target.public_view().to_string().contains("very-secret"));
    }
}
