//! GraphQL for webhook subscriptions: the mutations (`webhookSubscriptionCreate`/`Update`/
//! `Delete` and the deprecated `eventBridge…`/`pubSub…SubscriptionCreate`/`Update`) and the reads
//! (`webhookSubscription`, `webhookSubscriptions`, `webhookSubscriptionsCount`).
//!
//! Mutations run under the store's write lock like every other mutation (see
//! `graphql::mutations`) and leave a [`Payload`]; [`PayloadObject`] then answers the selection.
//! Checks and messages are those of [`super::validate`]; where the captures say nothing:
//! an unknown id answers `Webhook subscription does not exist` on `["id"]`, and a duplicate is
//! the same topic, address and format (captured: the same address with another format is
//! accepted).

use apollo_compiler::resolvers::{FieldError, ObjectValue, ResolveInfo, ResolvedValue};
use apollo_compiler::response::JsonValue;
use serde_json::Value;

use super::validate::{self, Address, FILTER_INVALID};
use super::{Subscription, Webhooks};
use crate::clock::{UnixMillis, format_rfc3339};
use crate::graphql::FieldFailure;
use crate::graphql::RequestScratch;
use crate::graphql::connection::{CursorKey, PageArgs, encode_cursor, paginate};
use crate::server::API_VERSION;

type Resolved<'a> = Result<ResolvedValue<'a>, FieldError>;

/// The placeholder Shopify returns as the deprecated `callbackUrl` of a cloud subscription
/// (captured, for EventBridge and Pub/Sub alike).
const CLOUD_CALLBACK_URL: &str = "https://eventbridge.arn";

/// Root mutation fields handled here.
pub const MUTATION_ROOTS: [&str; 7] = [
    "webhookSubscriptionCreate",
    "webhookSubscriptionUpdate",
    "webhookSubscriptionDelete",
    "eventBridgeWebhookSubscriptionCreate",
    "eventBridgeWebhookSubscriptionUpdate",
    "pubSubWebhookSubscriptionCreate",
    "pubSubWebhookSubscriptionUpdate",
];

#[derive(Debug, Clone)]
pub struct UserError {
    pub field: Vec<String>,
    pub message: String,
    /// Only the Pub/Sub payloads' error type has a code.
    pub code: Option<&'static str>,
}

fn user_error(field: &[&str], message: impl Into<String>) -> UserError {
    UserError {
        field: field.iter().map(|s| (*s).to_owned()).collect(),
        message: message.into(),
        code: None,
    }
}

/// What a webhook mutation answers.
#[derive(Debug, Clone)]
pub enum Payload {
    Subscription {
        type_name: &'static str,
        error_type: &'static str,
        subscription: Option<Box<Subscription>>,
        user_errors: Vec<UserError>,
    },
    Deleted {
        id: Option<String>,
        user_errors: Vec<UserError>,
    },
}

impl Payload {
    pub fn type_name(&self) -> &'static str {
        match self {
            Payload::Subscription { type_name, .. } => type_name,
            Payload::Deleted { .. } => "WebhookSubscriptionDeletePayload",
        }
    }
}

#[derive(Clone, Copy, PartialEq)]
enum Flavor {
    Unified,
    EventBridge,
    PubSub,
}

/// Performs one webhook root mutation. `args` are the coerced arguments; `after_sequence` is the
/// store's last event sequence (a new subscription receives only later events).
pub fn perform(
    webhooks: &Webhooks,
    root: &str,
    args: &Value,
    after_sequence: u64,
    now: UnixMillis,
) -> Option<Payload> {
    let (flavor, create, type_name, error_type) = match root {
        "webhookSubscriptionCreate" => (
            Flavor::Unified,
            true,
            "WebhookSubscriptionCreatePayload",
            "UserError",
        ),
        "webhookSubscriptionUpdate" => (
            Flavor::Unified,
            false,
            "WebhookSubscriptionUpdatePayload",
            "UserError",
        ),
        "eventBridgeWebhookSubscriptionCreate" => (
            Flavor::EventBridge,
            true,
            "EventBridgeWebhookSubscriptionCreatePayload",
            "UserError",
        ),
        "eventBridgeWebhookSubscriptionUpdate" => (
            Flavor::EventBridge,
            false,
            "EventBridgeWebhookSubscriptionUpdatePayload",
            "UserError",
        ),
        "pubSubWebhookSubscriptionCreate" => (
            Flavor::PubSub,
            true,
            "PubSubWebhookSubscriptionCreatePayload",
            "PubSubWebhookSubscriptionCreateUserError",
        ),
        "pubSubWebhookSubscriptionUpdate" => (
            Flavor::PubSub,
            false,
            "PubSubWebhookSubscriptionUpdatePayload",
            "PubSubWebhookSubscriptionUpdateUserError",
        ),
        "webhookSubscriptionDelete" => return Some(delete(webhooks, args, now)),
        _ => return None,
    };
    let input = &args["webhookSubscription"];
    let result = if create {
        let topic = args["topic"].as_str().unwrap_or_default();
        save(webhooks, flavor, None, topic, input, after_sequence, now)
    } else {
        match subscription_id(&args["id"])
            .filter(|id| webhooks.lock().subscriptions.contains_key(id))
        {
            Some(id) => save(webhooks, flavor, Some(id), "", input, after_sequence, now),
            None => Err(vec![user_error(
                &["id"],
                "Webhook subscription does not exist",
            )]),
        }
    };
    let (subscription, mut user_errors) = match result {
        Ok(sub) => (Some(Box::new(sub)), Vec::new()),
        Err(errors) => (None, errors),
    };
    if flavor == Flavor::PubSub {
        for e in &mut user_errors {
            e.code = Some("INVALID_PARAMETERS");
        }
    }
    Some(Payload::Subscription {
        type_name,
        error_type,
        subscription,
        user_errors,
    })
}

fn subscription_id(value: &Value) -> Option<u64> {
    match super::parse_gid(value.as_str()?)? {
        ("WebhookSubscription", id, _) => Some(id),
        _ => None,
    }
}

fn delete(webhooks: &Webhooks, args: &Value, now: UnixMillis) -> Payload {
    let mut inner = webhooks.lock();
    let removed = subscription_id(&args["id"]).and_then(|id| inner.subscriptions.remove(&id));
    match removed {
        Some(sub) => {
            super::delivery::forget_subscription(&mut inner, sub.id, now);
            Payload::Deleted {
                id: Some(gid(sub.id)),
                user_errors: Vec::new(),
            }
        }
        None => Payload::Deleted {
            id: None,
            user_errors: vec![user_error(&["id"], "Webhook subscription does not exist")],
        },
    }
}

pub fn gid(id: u64) -> String {
    format!("gid://shopify/WebhookSubscription/{id}")
}

/// `WebhookSubscriptionTopic` values Shopify delivers only as JSON (captured: `RETURNS_APPROVE`;
/// the other return topics are assumed to behave alike).
fn json_only(topic: &str) -> bool {
    topic.starts_with("RETURNS_")
}

fn strings(value: &Value) -> Option<Vec<String>> {
    value.as_array().map(|a| {
        a.iter()
            .filter_map(|v| v.as_str().map(str::to_owned))
            .collect()
    })
}

/// Creates (`existing: None`) or updates a subscription after every check.
fn save(
    webhooks: &Webhooks,
    flavor: Flavor,
    existing: Option<u64>,
    topic: &str,
    input: &Value,
    after_sequence: u64,
    now: UnixMillis,
) -> Result<Subscription, Vec<UserError>> {
    let api_client_id = webhooks.api_client_id;
    let mut inner = webhooks.lock();
    let current = existing.and_then(|id| inner.subscriptions.get(&id).cloned());
    let mut errors = Vec::new();

    // The address.
    let address_field: &str = match flavor {
        Flavor::Unified => "callbackUrl",
        Flavor::EventBridge => "arn",
        Flavor::PubSub => "pubSubProject",
    };
    let address = match flavor {
        Flavor::Unified | Flavor::EventBridge => {
            let raw = match flavor {
                Flavor::EventBridge => input["arn"].as_str(),
                _ => input["uri"]
                    .as_str()
                    .or_else(|| input["callbackUrl"].as_str()),
            };
            match (raw, &current) {
                (None, Some(sub)) => Some(sub.address.clone()),
                (raw, _) => match validate::address(raw.unwrap_or_default(), api_client_id) {
                    Ok(address) => Some(address),
                    Err(messages) => {
                        errors.extend(
                            messages
                                .into_iter()
                                .map(|m| user_error(&["webhookSubscription", address_field], m)),
                        );
                        None
                    }
                },
            }
        }
        Flavor::PubSub => {
            let project = input["pubSubProject"].as_str().unwrap_or_default();
            let topic_id = input["pubSubTopic"].as_str().unwrap_or_default();
            if !validate::gcp_project_ok(project) {
                errors.push(user_error(
                    &["webhookSubscription", "pubSubProject"],
                    "Google Cloud Pub/Sub project ID is not valid",
                ));
            }
            if !validate::gcp_topic_ok(topic_id) {
                errors.push(user_error(
                    &["webhookSubscription", "pubSubTopic"],
                    "Google Cloud Pub/Sub topic ID is not valid",
                ));
            }
            errors.is_empty().then(|| Address::PubSub {
                project: project.to_owned(),
                topic: topic_id.to_owned(),
            })
        }
    };
    let topic = current
        .as_ref()
        .map_or_else(|| topic.to_owned(), |s| s.topic.clone());

    // The format.
    let format = input["format"]
        .as_str()
        .map(str::to_owned)
        .or_else(|| current.as_ref().map(|s| s.format.clone()))
        .unwrap_or_else(|| "JSON".to_owned());
    if format == "XML" {
        match &address {
            Some(a) if a.is_cloud() => errors.push(user_error(
                &["webhookSubscription", "format"],
                "Format can only be used with format: 'json'",
            )),
            Some(_) if json_only(&topic) => errors.push(user_error(
                &["webhookSubscription", "format"],
                "Format 'xml' is invalid for this webhook topic. Allowed formats: json",
            )),
            _ => {}
        }
    }

    // The name: its characters, then uniqueness (case-insensitive, captured).
    let name = match &input["name"] {
        Value::String(n) => Some(n.clone()),
        _ => current.as_ref().and_then(|s| s.name.clone()),
    };
    if let Some(Value::String(n)) = input.get("name") {
        let problems = validate::name(n);
        if problems.is_empty() {
            let taken = inner.subscriptions.values().any(|s| {
                Some(s.id) != existing
                    && s.name.as_deref().is_some_and(|o| o.eq_ignore_ascii_case(n))
            });
            if taken {
                errors.push(user_error(
                    &["webhookSubscription", "name"],
                    "Name already exists, no duplicate allowed",
                ));
            }
        }
        errors.extend(
            problems
                .into_iter()
                .map(|m| user_error(&["webhookSubscription", "name"], m)),
        );
    }

    // The filter.
    let filter = match &input["filter"] {
        Value::String(f) => Some(f.clone()),
        _ => current.as_ref().and_then(|s| s.filter.clone()),
    };
    if let Some(Value::String(f)) = input.get("filter")
        && !validate::filter(f)
    {
        errors.push(user_error(&["webhookSubscription"], FILTER_INVALID));
    }

    // Same topic, address and format as another subscription.
    if let Some(address) = &address {
        let uri = address.uri();
        let taken = inner.subscriptions.values().any(|s| {
            Some(s.id) != existing
                && s.topic == topic
                && s.address.uri() == uri
                && s.format == format
        });
        if taken {
            errors.push(user_error(
                &["webhookSubscription", address_field],
                "Address for this topic has already been taken",
            ));
        }
    }

    let Some(address) = address.filter(|_| errors.is_empty()) else {
        return Err(errors);
    };
    let include_fields = strings(&input["includeFields"])
        .or_else(|| current.as_ref().map(|s| s.include_fields.clone()))
        .unwrap_or_default();
    let metafield_namespaces = strings(&input["metafieldNamespaces"])
        .map(|list| {
            list.into_iter()
                .map(|ns| resolve_namespace(&ns, api_client_id))
                .collect()
        })
        .or_else(|| current.as_ref().map(|s| s.metafield_namespaces.clone()))
        .unwrap_or_default();
    let id = match existing {
        Some(id) => id,
        None => {
            inner.next_id += 1 + inner.rng.below(5000);
            inner.next_id
        }
    };
    let subscription = Subscription {
        id,
        topic,
        address,
        format,
        include_fields,
        metafield_namespaces,
        filter,
        name,
        created_at: current.as_ref().map_or(now, |s| s.created_at),
        updated_at: now,
        consecutive_failures: current.as_ref().map_or(0, |s| s.consecutive_failures),
        after_sequence: current
            .as_ref()
            .map_or(after_sequence, |s| s.after_sequence),
    };
    inner.subscriptions.insert(id, subscription.clone());
    drop(inner);
    webhooks.wake.notify_one();
    Ok(subscription)
}

/// `$app:Settings` → `app--<api_client_id>--Settings` (captured); other namespaces unchanged.
fn resolve_namespace(ns: &str, api_client_id: u64) -> String {
    match ns.strip_prefix("$app") {
        Some("") => format!("app--{api_client_id}"),
        Some(rest) => match rest.strip_prefix(':') {
            Some(name) => format!("app--{api_client_id}--{name}"),
            None => ns.to_owned(),
        },
        None => ns.to_owned(),
    }
}

fn unsupported(type_name: &str, field: &str) -> FieldError {
    FieldFailure::new(
        "UNSUPPORTED_BY_SIMULATOR",
        format!("shopify-sim does not simulate the field `{type_name}.{field}`"),
    )
    .into()
}

fn strings_value<'a>(list: &[String]) -> ResolvedValue<'a> {
    ResolvedValue::list(
        list.iter()
            .map(|s| ResolvedValue::leaf(JsonValue::from(s.as_str())))
            .collect::<Vec<_>>(),
    )
}

fn opt_string<'a>(value: Option<&str>) -> ResolvedValue<'a> {
    value.map_or_else(ResolvedValue::null, |s| {
        ResolvedValue::leaf(JsonValue::from(s))
    })
}

/// The payload object of a webhook mutation.
pub struct PayloadObject<'p>(pub &'p Payload);

impl ObjectValue for PayloadObject<'_> {
    fn type_name(&self) -> &str {
        self.0.type_name()
    }

    fn resolve_field<'a>(&'a self, info: &'a ResolveInfo<'a>) -> Resolved<'a> {
        match (self.0, info.field_name()) {
            (Payload::Subscription { subscription, .. }, "webhookSubscription") => {
                Ok(ResolvedValue::nullable_object(
                    subscription.as_deref().cloned().map(SubscriptionObject),
                ))
            }
            (_, "userErrors") => {
                let (user_errors, error_type) = match self.0 {
                    Payload::Subscription {
                        user_errors,
                        error_type,
                        ..
                    } => (user_errors, *error_type),
                    Payload::Deleted { user_errors, .. } => (user_errors, "UserError"),
                };
                Ok(ResolvedValue::list(
                    user_errors
                        .iter()
                        .map(|e| ResolvedValue::object(UserErrorObject(e, error_type)))
                        .collect::<Vec<_>>(),
                ))
            }
            (Payload::Deleted { id, .. }, "deletedWebhookSubscriptionId") => {
                Ok(opt_string(id.as_deref()))
            }
            (_, other) => Err(unsupported(self.0.type_name(), other)),
        }
    }
}

struct UserErrorObject<'e>(&'e UserError, &'static str);

impl ObjectValue for UserErrorObject<'_> {
    fn type_name(&self) -> &str {
        self.1
    }

    fn resolve_field<'a>(&'a self, info: &'a ResolveInfo<'a>) -> Resolved<'a> {
        match info.field_name() {
            "field" => Ok(strings_value(&self.0.field)),
            "message" => Ok(ResolvedValue::leaf(JsonValue::from(
                self.0.message.as_str(),
            ))),
            "code" => Ok(opt_string(self.0.code)),
            other => Err(unsupported(self.1, other)),
        }
    }
}

/// A `WebhookSubscription`.
pub struct SubscriptionObject(pub Subscription);

impl ObjectValue for SubscriptionObject {
    fn type_name(&self) -> &str {
        "WebhookSubscription"
    }

    fn resolve_field<'a>(&'a self, info: &'a ResolveInfo<'a>) -> Resolved<'a> {
        let s = &self.0;
        let leaf = |v: JsonValue| Ok(ResolvedValue::leaf(v));
        match info.field_name() {
            "id" => leaf(gid(s.id).into()),
            "legacyResourceId" => leaf(s.id.to_string().into()),
            "topic" => leaf(s.topic.as_str().into()),
            "uri" => leaf(s.address.uri().into()),
            "callbackUrl" => leaf(match &s.address {
                Address::Https(uri) => uri.as_str().into(),
                _ => CLOUD_CALLBACK_URL.into(),
            }),
            "format" => leaf(s.format.as_str().into()),
            "includeFields" => Ok(strings_value(&s.include_fields)),
            "metafieldNamespaces" => Ok(strings_value(&s.metafield_namespaces)),
            "metafields" => Ok(ResolvedValue::list(Vec::<ResolvedValue<'a>>::new())),
            "filter" => Ok(opt_string(s.filter.as_deref())),
            "name" => Ok(opt_string(s.name.as_deref())),
            "createdAt" => leaf(format_rfc3339(s.created_at).into()),
            "updatedAt" => leaf(format_rfc3339(s.updated_at).into()),
            "endpoint" => Ok(ResolvedValue::object(EndpointObject(&s.address))),
            "apiVersion" => Ok(ResolvedValue::object(ApiVersionObject)),
            other => Err(unsupported("WebhookSubscription", other)),
        }
    }
}

struct EndpointObject<'s>(&'s Address);

impl ObjectValue for EndpointObject<'_> {
    fn type_name(&self) -> &str {
        match self.0 {
            Address::Https(_) => "WebhookHttpEndpoint",
            Address::EventBridge(_) => "WebhookEventBridgeEndpoint",
            Address::PubSub { .. } => "WebhookPubSubEndpoint",
        }
    }

    fn resolve_field<'a>(&'a self, info: &'a ResolveInfo<'a>) -> Resolved<'a> {
        let value = match (self.0, info.field_name()) {
            (Address::Https(uri), "callbackUrl") | (Address::EventBridge(uri), "arn") => uri,
            (Address::PubSub { project, .. }, "pubSubProject") => project,
            (Address::PubSub { topic, .. }, "pubSubTopic") => topic,
            (_, other) => return Err(unsupported(self.type_name(), other)),
        };
        Ok(ResolvedValue::leaf(JsonValue::from(value.as_str())))
    }
}

struct ApiVersionObject;

impl ObjectValue for ApiVersionObject {
    fn type_name(&self) -> &str {
        "ApiVersion"
    }

    fn resolve_field<'a>(&'a self, info: &'a ResolveInfo<'a>) -> Resolved<'a> {
        match info.field_name() {
            "handle" | "displayName" => Ok(ResolvedValue::leaf(JsonValue::from(API_VERSION))),
            "supported" => Ok(ResolvedValue::leaf(JsonValue::from(true))),
            other => Err(unsupported("ApiVersion", other)),
        }
    }
}

/// Root query fields handled here.
pub const QUERY_ROOTS: [&str; 3] = [
    "webhookSubscription",
    "webhookSubscriptions",
    "webhookSubscriptionsCount",
];

fn arg<'i>(info: &'i ResolveInfo<'_>, name: &str) -> Option<&'i JsonValue> {
    info.arguments().get(name).filter(|v| !v.is_null())
}

fn arg_str<'i>(info: &'i ResolveInfo<'_>, name: &str) -> Option<&'i str> {
    arg(info, name).and_then(JsonValue::as_str)
}

/// Answers a webhook root query field.
pub fn query<'a>(
    webhooks: &Webhooks,
    scratch: &RequestScratch,
    info: &'a ResolveInfo<'a>,
) -> Resolved<'a> {
    match info.field_name() {
        "webhookSubscription" => {
            let id = arg_str(info, "id").and_then(|id| subscription_id(&Value::from(id)));
            let found = id.and_then(|id| webhooks.lock().subscriptions.get(&id).cloned());
            Ok(ResolvedValue::nullable_object(
                found.map(SubscriptionObject),
            ))
        }
        "webhookSubscriptions" | "webhookSubscriptionsCount" => {
            if arg_str(info, "query").is_some_and(|q| !q.trim().is_empty()) {
                return Err(FieldFailure::new(
                    "UNSUPPORTED_BY_SIMULATOR",
                    format!(
                        "shopify-sim does not simulate the `query` argument of `QueryRoot.{}`",
                        info.field_name()
                    ),
                )
                .into());
            }
            let topics: Option<Vec<String>> = arg(info, "topics").and_then(|v| {
                v.as_array().map(|a| {
                    a.iter()
                        .filter_map(|t| t.as_str().map(str::to_owned))
                        .collect()
                })
            });
            let uri = arg_str(info, "uri").or_else(|| arg_str(info, "callbackUrl"));
            let format = arg_str(info, "format");
            let rows: Vec<Subscription> = webhooks
                .lock()
                .subscriptions
                .values()
                .filter(|s| topics.as_ref().is_none_or(|t| t.contains(&s.topic)))
                .filter(|s| uri.is_none_or(|u| s.address.uri() == u))
                .filter(|s| format.is_none_or(|f| s.format == f))
                .cloned()
                .collect();
            if info.field_name() == "webhookSubscriptionsCount" {
                let limit = arg(info, "limit")
                    .and_then(JsonValue::as_i64)
                    .unwrap_or(10_000)
                    .max(0) as usize;
                let (count, precision) = if rows.len() > limit {
                    (limit, "AT_LEAST")
                } else {
                    (rows.len(), "EXACT")
                };
                return Ok(ResolvedValue::object(CountObject(count as i64, precision)));
            }
            connection(scratch, info, rows)
        }
        other => Err(unsupported("QueryRoot", other)),
    }
}

/// Ids grow with creation time, so both sort keys (`CREATED_AT`, `ID`) are id order.
fn connection<'a>(
    scratch: &RequestScratch,
    info: &'a ResolveInfo<'a>,
    mut rows: Vec<Subscription>,
) -> Resolved<'a> {
    let reverse = arg(info, "reverse")
        .and_then(JsonValue::as_bool)
        .unwrap_or(false);
    if reverse {
        rows.reverse();
    }
    let args = PageArgs {
        first: arg(info, "first").and_then(JsonValue::as_i64),
        last: arg(info, "last").and_then(JsonValue::as_i64),
        after: arg_str(info, "after").map(str::to_owned),
        before: arg_str(info, "before").map(str::to_owned),
        reverse,
    };
    let locate = |key: &CursorKey, after: bool| -> usize {
        rows.partition_point(|s| {
            let ahead = if reverse {
                s.id > key.id
            } else {
                s.id < key.id
            };
            ahead || (after && s.id == key.id)
        })
    };
    let page = paginate(rows.len(), &args, &locate).map_err(FieldError::from)?;
    let page_rows: Vec<Subscription> = rows[page.range.clone()].to_vec();
    let key = crate::cost::field_key(info.field_selections()[0]);
    let mut observed = scratch.observed.borrow_mut();
    let seen = observed.entry(key).or_insert(0);
    *seen = (*seen).max(page_rows.len());
    drop(observed);
    Ok(ResolvedValue::object(ConnectionObject {
        rows: page_rows,
        has_next_page: page.has_next_page,
        has_previous_page: page.has_previous_page,
    }))
}

fn cursor(s: &Subscription) -> String {
    encode_cursor(s.id, &s.id.to_string())
}

struct ConnectionObject {
    rows: Vec<Subscription>,
    has_next_page: bool,
    has_previous_page: bool,
}

impl ObjectValue for ConnectionObject {
    fn type_name(&self) -> &str {
        "WebhookSubscriptionConnection"
    }

    fn resolve_field<'a>(&'a self, info: &'a ResolveInfo<'a>) -> Resolved<'a> {
        match info.field_name() {
            "nodes" => Ok(ResolvedValue::list(
                self.rows
                    .iter()
                    .map(|s| ResolvedValue::object(SubscriptionObject(s.clone())))
                    .collect::<Vec<_>>(),
            )),
            "edges" => Ok(ResolvedValue::list(
                self.rows
                    .iter()
                    .map(|s| ResolvedValue::object(EdgeObject(s.clone())))
                    .collect::<Vec<_>>(),
            )),
            "pageInfo" => Ok(ResolvedValue::object(PageInfoObject {
                has_next_page: self.has_next_page,
                has_previous_page: self.has_previous_page,
                start: self.rows.first().map(cursor),
                end: self.rows.last().map(cursor),
            })),
            other => Err(unsupported("WebhookSubscriptionConnection", other)),
        }
    }
}

struct EdgeObject(Subscription);

impl ObjectValue for EdgeObject {
    fn type_name(&self) -> &str {
        "WebhookSubscriptionEdge"
    }

    fn resolve_field<'a>(&'a self, info: &'a ResolveInfo<'a>) -> Resolved<'a> {
        match info.field_name() {
            "cursor" => Ok(ResolvedValue::leaf(JsonValue::from(cursor(&self.0)))),
            "node" => Ok(ResolvedValue::object(SubscriptionObject(self.0.clone()))),
            other => Err(unsupported("WebhookSubscriptionEdge", other)),
        }
    }
}

struct PageInfoObject {
    has_next_page: bool,
    has_previous_page: bool,
    start: Option<String>,
    end: Option<String>,
}

impl ObjectValue for PageInfoObject {
    fn type_name(&self) -> &str {
        "PageInfo"
    }

    fn resolve_field<'a>(&'a self, info: &'a ResolveInfo<'a>) -> Resolved<'a> {
        match info.field_name() {
            "hasNextPage" => Ok(ResolvedValue::leaf(JsonValue::from(self.has_next_page))),
            "hasPreviousPage" => Ok(ResolvedValue::leaf(JsonValue::from(self.has_previous_page))),
            "startCursor" => Ok(opt_string(self.start.as_deref())),
            "endCursor" => Ok(opt_string(self.end.as_deref())),
            other => Err(unsupported("PageInfo", other)),
        }
    }
}

struct CountObject(i64, &'static str);

impl ObjectValue for CountObject {
    fn type_name(&self) -> &str {
        "Count"
    }

    fn resolve_field<'a>(&'a self, info: &'a ResolveInfo<'a>) -> Resolved<'a> {
        match info.field_name() {
            "count" => Ok(ResolvedValue::leaf(JsonValue::from(self.0))),
            "precision" => Ok(ResolvedValue::leaf(JsonValue::from(self.1))),
            other => Err(unsupported("Count", other)),
        }
    }
}
