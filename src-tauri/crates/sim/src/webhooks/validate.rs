//! Subscription input checks with Shopify's exact userError messages (FACTS §8, captures under
//! `tests/fixtures/captures/webhooks/`): the address (`uri`), the format, the name and the filter.
//!
//! Address errors carry the field `["webhookSubscription", "callbackUrl"]` even when `uri` was
//! sent (captured); the deprecated dedicated roots name their own input field instead (`arn`,
//! `pubSubProject`, `pubSubTopic`), which the caller supplies.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// Largest address Shopify stores: a MySQL `TEXT` column, 65535 bytes (captured at the limit).
pub const MAX_ADDRESS_BYTES: usize = 65_535;

/// Where a valid address delivers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Address {
    Https(String),
    EventBridge(String),
    PubSub { project: String, topic: String },
}

impl Address {
    pub fn uri(&self) -> String {
        match self {
            Address::Https(uri) | Address::EventBridge(uri) => uri.clone(),
            Address::PubSub { project, topic } => format!("pubsub://{project}:{topic}"),
        }
    }

    pub fn is_cloud(&self) -> bool {
        !matches!(self, Address::Https(_))
    }
}

/// Checks an address as `webhookSubscriptionCreate`/`Update` do. `Err` holds every message, in
/// Shopify's order. Leading and trailing whitespace is trimmed first (captured: a padded https
/// address is stored trimmed; whitespace only is blank).
pub fn address(raw: &str, api_client_id: u64) -> Result<Address, Vec<String>> {
    let uri = raw.trim();
    if uri.is_empty() {
        return Err(vec!["Address can't be blank".into()]);
    }
    if uri.len() > MAX_ADDRESS_BYTES {
        return Err(vec!["Address is too big (maximum is 64 KB)".into()]);
    }
    if let Some(rest) = uri.strip_prefix("arn:aws:events:") {
        return eventbridge(uri, rest, api_client_id);
    }
    let Some((scheme, rest)) = uri.split_once("://") else {
        return Err(vec!["Address is invalid".into()]);
    };
    match scheme.to_ascii_lowercase().as_str() {
        "https" => https(uri, rest),
        "pubsub" => pubsub(rest),
        "kafka" => Err(vec![
            "Address protocol kafka:// is not supported".into(),
            "Address is not a valid kafka topic".into(),
        ]),
        other => Err(vec![format!(
            "Address protocol {other}:// is not supported"
        )]),
    }
}

fn https(uri: &str, rest: &str) -> Result<Address, Vec<String>> {
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    let host_port = authority.rsplit('@').next().unwrap_or_default();
    let host = if let Some(v6) = host_port.strip_prefix('[') {
        v6.split(']').next().unwrap_or_default()
    } else {
        host_port.split(':').next().unwrap_or_default()
    };
    let valid_chars = host
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b':' | b'_'));
    if host.is_empty() || !valid_chars || uri.contains(char::is_whitespace) {
        return Err(vec!["Address is invalid".into()]);
    }
    if internal_host(host) {
        return Err(vec![
            "Address cannot be a Shopify or an internal domain".into(),
        ]);
    }
    Ok(Address::Https(uri.to_owned()))
}

/// Loopback, private, link-local and unspecified addresses, `localhost`, and Shopify's own
/// domains (FACTS §11 #12).
pub fn internal_host(host: &str) -> bool {
    let host = host.trim_end_matches('.').to_ascii_lowercase();
    if let Ok(ip) = host.parse::<IpAddr>() {
        return match ip {
            IpAddr::V4(v4) => internal_v4(v4),
            IpAddr::V6(v6) => internal_v6(v6),
        };
    }
    host == "localhost"
        || host.ends_with(".localhost")
        || host == "shopify.com"
        || host.ends_with(".shopify.com")
        || host == "myshopify.com"
        || host.ends_with(".myshopify.com")
}

fn internal_v4(ip: Ipv4Addr) -> bool {
    ip.is_loopback() || ip.is_private() || ip.is_link_local() || ip.is_unspecified()
}

fn internal_v6(ip: Ipv6Addr) -> bool {
    if let Some(v4) = ip.to_ipv4_mapped() {
        return internal_v4(v4);
    }
    let first = ip.segments()[0];
    ip.is_loopback()
        || ip.is_unspecified()
        || (first & 0xfe00) == 0xfc00 // unique local fc00::/7
        || (first & 0xffc0) == 0xfe80 // link-local fe80::/10
}

/// `arn:aws:events:<region>::event-source/aws.partner/shopify.com/<api_client_id>/<name>`.
fn eventbridge(uri: &str, rest: &str, api_client_id: u64) -> Result<Address, Vec<String>> {
    let malformed = || {
        Err(vec![
            "Address is invalid".into(),
            "Address is not a valid AWS ARN".into(),
        ])
    };
    let Some((region, resource)) = rest.split_once("::") else {
        return malformed();
    };
    let region_ok = !region.is_empty()
        && region
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
    let Some(tail) = resource.strip_prefix("event-source/aws.partner/shopify.com/") else {
        return malformed();
    };
    let Some((app, name)) = tail.split_once('/') else {
        return malformed();
    };
    if !region_ok || app.is_empty() || !app.bytes().all(|b| b.is_ascii_digit()) || name.is_empty() {
        return malformed();
    }
    if app != api_client_id.to_string() {
        return Err(vec![
            "Address is invalid".into(),
            format!(
                "Address is an AWS ARN and includes api_client_id '{app}' instead of '{api_client_id}'"
            ),
        ]);
    }
    Ok(Address::EventBridge(uri.to_owned()))
}

fn pubsub(rest: &str) -> Result<Address, Vec<String>> {
    let Some((project, topic)) = rest.split_once(':') else {
        return Err(vec![
            "Address protocol pubsub:// is not supported".into(),
            "Address is not a valid GCP pub/sub format. Format should be pubsub://project:topic"
                .into(),
        ]);
    };
    if !gcp_project_ok(project) {
        return Err(vec![
            "Address is invalid".into(),
            "Address is not a valid GCP project id.".into(),
        ]);
    }
    if !gcp_topic_ok(topic) {
        return Err(vec![
            "Address is invalid".into(),
            "Address is not a valid GCP topic id.".into(),
        ]);
    }
    Ok(Address::PubSub {
        project: project.to_owned(),
        topic: topic.to_owned(),
    })
}

/// Google's project-id rule: 6 to 30 lowercase letters, digits or hyphens, starting with a
/// letter, not ending with a hyphen.
pub fn gcp_project_ok(project: &str) -> bool {
    (6..=30).contains(&project.len())
        && project.starts_with(|c: char| c.is_ascii_lowercase())
        && !project.ends_with('-')
        && project
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

/// Google's topic-id rule: 3 to 255 characters from `[A-Za-z0-9-_.~+%]`, starting with a letter,
/// never starting with `goog`.
pub fn gcp_topic_ok(topic: &str) -> bool {
    (3..=255).contains(&topic.len())
        && topic.starts_with(|c: char| c.is_ascii_alphabetic())
        && !topic.to_ascii_lowercase().starts_with("goog")
        && topic
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.~+%".contains(&b))
}

/// `name`: at least one character from `[A-Za-z0-9_-]` (captured messages).
pub fn name(name: &str) -> Vec<String> {
    let mut errors = Vec::new();
    if name.is_empty() {
        errors.push("Name is too short (minimum is 1 character)".to_owned());
    }
    if name.is_empty()
        || !name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
    {
        errors.push(
            "Name name field can only contain alphanumeric characters, underscores, and hyphens"
                .to_owned(),
        );
    }
    errors
}

pub const FILTER_INVALID: &str = "The specified filter is invalid, please ensure you specify the field(s) you wish to filter on.";

/// A filter is Shopify search syntax in which every term names its field (`field:value`); a bare
/// word anywhere rejects the whole filter (captured). An empty filter is allowed and stored as
/// `""` (captured).
pub fn filter(text: &str) -> bool {
    terms(text).iter().all(|t| match t {
        Term::Connective(_) => true,
        Term::Field { field, .. } => !field.is_empty(),
        Term::Bare(_) => false,
    })
}

#[derive(Debug, Clone, PartialEq)]
pub enum Term {
    /// `AND`, `OR`.
    Connective(String),
    Field {
        negated: bool,
        field: String,
        value: String,
    },
    Bare(String),
}

pub fn terms(text: &str) -> Vec<Term> {
    let mut out = Vec::new();
    let mut current = String::new();
    let mut quoted = false;
    let mut words = Vec::new();
    for c in text.chars() {
        match c {
            '"' => {
                quoted = !quoted;
                current.push(c);
            }
            c if c.is_whitespace() && !quoted => {
                if !current.is_empty() {
                    words.push(std::mem::take(&mut current));
                }
            }
            '(' | ')' if !quoted => {
                if !current.is_empty() {
                    words.push(std::mem::take(&mut current));
                }
            }
            c => current.push(c),
        }
    }
    if !current.is_empty() {
        words.push(current);
    }
    let mut negate_next = false;
    for word in words {
        if word == "AND" || word == "OR" {
            out.push(Term::Connective(word));
            continue;
        }
        if word == "NOT" {
            negate_next = true;
            continue;
        }
        let (negated, body) = match word.strip_prefix('-') {
            Some(rest) => (true, rest.to_owned()),
            None => (negate_next, word.clone()),
        };
        negate_next = false;
        match body.split_once(':') {
            Some((field, value))
                if !field.is_empty()
                    && field
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'.') =>
            {
                out.push(Term::Field {
                    negated,
                    field: field.to_owned(),
                    value: value.trim_matches('"').to_owned(),
                })
            }
            _ => out.push(Term::Bare(word)),
        }
    }
    out
}

/// Whether a delivery payload passes a subscription's filter: terms joined by `AND` (also
/// implicit) bind tighter than `OR`; `field:value` compares the payload's top-level value as
/// text, `field:>n`, `>=`, `<`, `<=` compare numbers; `*` in a value matches anything.
pub fn filter_matches(text: &str, payload: &serde_json::Value) -> bool {
    let terms = terms(text);
    if terms.is_empty() {
        return true;
    }
    let mut any_group = false;
    let mut group_ok = true;
    for term in terms {
        match term {
            Term::Connective(c) if c == "OR" => {
                any_group |= group_ok;
                group_ok = true;
            }
            Term::Connective(_) | Term::Bare(_) => {}
            Term::Field {
                negated,
                field,
                value,
            } => {
                let matched = field_matches(payload.get(&field), &value);
                group_ok &= matched != negated;
            }
        }
    }
    any_group || group_ok
}

fn field_matches(actual: Option<&serde_json::Value>, wanted: &str) -> bool {
    let Some(actual) = actual else {
        return false;
    };
    let text = match actual {
        serde_json::Value::String(s) => s.clone(),
        serde_json::Value::Null => "null".to_owned(),
        other => other.to_string(),
    };
    for (op, cmp) in [
        (
            ">=",
            std::cmp::Ordering::is_ge as fn(std::cmp::Ordering) -> bool,
        ),
        ("<=", std::cmp::Ordering::is_le),
        (">", std::cmp::Ordering::is_gt),
        ("<", std::cmp::Ordering::is_lt),
    ] {
        if let Some(n) = wanted.strip_prefix(op) {
            return match (text.parse::<f64>(), n.parse::<f64>()) {
                (Ok(a), Ok(b)) => a.partial_cmp(&b).is_some_and(cmp),
                _ => false,
            };
        }
    }
    wanted == "*" || text.eq_ignore_ascii_case(wanted)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_like_the_captures() {
        let id = 347_082_227_713;
        assert_eq!(
            address("  https://example.com/h  ", id),
            Ok(Address::Https("https://example.com/h".into()))
        );
        assert_eq!(
            address("   ", id),
            Err(vec!["Address can't be blank".into()])
        );
        assert_eq!(
            address("https://", id),
            Err(vec!["Address is invalid".into()])
        );
        assert_eq!(
            address("http://example.com", id),
            Err(vec!["Address protocol http:// is not supported".into()])
        );
        for host in [
            "localhost",
            "127.0.0.1",
            "10.1.2.3",
            "192.168.0.5",
            "172.20.0.1",
            "169.254.1.1",
            "[::1]",
            "[fe80::1]",
            "shop.myshopify.com",
            "shopify.com",
        ] {
            assert_eq!(
                address(&format!("https://{host}/hook"), id),
                Err(vec![
                    "Address cannot be a Shopify or an internal domain".into()
                ]),
                "{host}"
            );
        }
        assert!(
            address(
                "arn:aws:events:us-east-1::event-source/aws.partner/shopify.com/347082227713/src",
                id
            )
            .is_ok()
        );
        assert_eq!(
            address(
                "arn:aws:events:us-east-1::event-source/aws.partner/shopify.com/1/src",
                id
            )
            .unwrap_err()[1],
            "Address is an AWS ARN and includes api_client_id '1' instead of '347082227713'"
        );
        assert_eq!(
            address(
                "arn:aws:events:us-east-1::event-source/aws.partner/shopify.com/347082227713",
                id
            )
            .unwrap_err()[1],
            "Address is not a valid AWS ARN"
        );
        assert_eq!(
            address("pubsub://valid-project:goog-x", id).unwrap_err()[1],
            "Address is not a valid GCP topic id."
        );
        assert_eq!(
            address(&format!("https://example.com/{}", "a".repeat(65_535)), id),
            Err(vec!["Address is too big (maximum is 64 KB)".into()])
        );
    }

    #[test]
    fn filters_need_fields_and_match_payloads() {
        assert!(filter("customer_id:1"));
        assert!(filter(""));
        assert!(!filter("customer_id:1 bareword"));
        let payload = serde_json::json!({"location_id": 5, "available": 3});
        assert!(filter_matches("location_id:5", &payload));
        assert!(!filter_matches("location_id:6", &payload));
        assert!(filter_matches("location_id:6 OR available:<4", &payload));
        assert!(!filter_matches("location_id:5 AND available:>3", &payload));
        assert!(filter_matches("-location_id:6", &payload));
    }
}
