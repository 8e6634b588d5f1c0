//! Checking a delivery before anything is stored: required headers, signature, ids.
//!
//! The signature is `X-Shopify-Hmac-Sha256` = base64(HMAC-SHA256(raw body, key)), computed
//! over the bytes exactly as they arrived (re-serialising the JSON would change them). It is
//! compared with [`Mac::verify_slice`], which takes the same time whatever the first
//! differing byte, so a forger learns nothing from how fast the refusal comes.
//!
//! Required headers are the ones Shopify's own validator (`shopify.webhooks.validate`)
//! requires: HMAC, topic, shop domain, API version and webhook id. `X-Shopify-Event-Id` and
//! `X-Shopify-Triggered-At` are read when present (a delivery without an event id is
//! de-duplicated by its webhook id instead); a triggered-at that is not RFC 3339 is refused.
//! The headers are checked before the signature and the signature before anything else, so
//! an unsigned request learns nothing about what else would have been accepted.

use axum::http::HeaderMap;
use base64::Engine as _;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use shelfsync_shopify::Secret;
use shelfsync_store::{ShopifyTime, WebhookEvent};

/// Why a request was refused. The reason is logged and counted; the request is not stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// `401`: the signature does not match any key.
    Forged,
    /// `400`: what is wrong, in a few words (never a header's value).
    Malformed(&'static str),
    /// `413`: the body is larger than the bound.
    Oversized,
}

impl Refusal {
    pub fn status(self) -> u16 {
        match self {
            Refusal::Forged => 401,
            Refusal::Malformed(_) => 400,
            Refusal::Oversized => 413,
        }
    }

    pub fn reason(self) -> &'static str {
        match self {
            Refusal::Forged => "the signature does not match",
            Refusal::Malformed(why) => why,
            Refusal::Oversized => "the body is too large",
        }
    }
}

pub const HMAC: &str = "x-shopify-hmac-sha256";
pub const TOPIC: &str = "x-shopify-topic";
pub const SHOP_DOMAIN: &str = "x-shopify-shop-domain";
pub const API_VERSION: &str = "x-shopify-api-version";
pub const WEBHOOK_ID: &str = "x-shopify-webhook-id";
pub const EVENT_ID: &str = "x-shopify-event-id";
pub const TRIGGERED_AT: &str = "x-shopify-triggered-at";

fn header<'a>(headers: &'a HeaderMap, name: &str) -> Result<Option<&'a str>, Refusal> {
    match headers.get(name) {
        None => Ok(None),
        Some(value) => value
            .to_str()
            .map(|v| Some(v.trim()).filter(|v| !v.is_empty()))
            .map_err(|_| Refusal::Malformed("a Shopify header is not plain text")),
    }
}

fn required<'a>(
    headers: &'a HeaderMap,
    name: &str,
    missing: &'static str,
) -> Result<&'a str, Refusal> {
    header(headers, name)?.ok_or(Refusal::Malformed(missing))
}

/// Whether `signature` (base64, as in the header) is the HMAC-SHA256 of `body` under one of
/// `keys`, compared in constant time.
pub fn signature_matches(keys: &[Secret], body: &[u8], signature: &str) -> bool {
    let Ok(expected) = base64::engine::general_purpose::STANDARD.decode(signature) else {
        return false;
    };
    keys.iter().any(|key| {
        let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(key.expose().as_bytes()) else {
            return false;
        };
        mac.update(body);
        mac.verify_slice(&expected).is_ok()
    })
}

/// Checks one delivery and returns the event to store. `shop_domain`, when known, is the
/// connected store's `*.myshopify.com` domain: another shop's events are refused.
pub fn verify(
    keys: &[Secret],
    shop_domain: Option<&str>,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<WebhookEvent, Refusal> {
    let signature = required(headers, HMAC, "the X-Shopify-Hmac-Sha256 header is missing")?;
    let topic = required(headers, TOPIC, "the X-Shopify-Topic header is missing")?;
    let shop = required(
        headers,
        SHOP_DOMAIN,
        "the X-Shopify-Shop-Domain header is missing",
    )?;
    required(
        headers,
        API_VERSION,
        "the X-Shopify-API-Version header is missing",
    )?;
    let webhook_id = required(
        headers,
        WEBHOOK_ID,
        "the X-Shopify-Webhook-Id header is missing",
    )?;
    if body.is_empty() {
        return Err(Refusal::Malformed("the body is empty"));
    }
    if !signature_matches(keys, body, signature) {
        return Err(Refusal::Forged);
    }
    if shop_domain.is_some_and(|expected| !expected.eq_ignore_ascii_case(shop)) {
        return Err(Refusal::Malformed("the event is from another shop"));
    }
    let event_id = header(headers, EVENT_ID)?.unwrap_or(webhook_id);
    let triggered_at = header(headers, TRIGGERED_AT)?
        .map(ShopifyTime::parse)
        .transpose()
        .map_err(|_| Refusal::Malformed("X-Shopify-Triggered-At is not an RFC 3339 time"))?;
    Ok(WebhookEvent {
        event_id: event_id.to_owned(),
        webhook_id: Some(webhook_id.to_owned()),
        topic: topic.to_owned(),
        shop_domain: shop.to_owned(),
        triggered_at,
        body: body.to_vec(),
    })
}
