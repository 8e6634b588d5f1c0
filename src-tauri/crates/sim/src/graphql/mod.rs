//! `POST /admin/api/2026-07/graphql.json`: parse, validate, price, throttle, execute.
//!
//! The order of the steps is Shopify's (FACTS §3, §4): a document that does not parse or validate
//! is answered without `data` and without a cost block; bad variables likewise, and array
//! arguments over 250 items (`MAX_INPUT_SIZE_EXCEEDED`); a query whose requested cost is above
//! 1000 gets `MAX_COST_EXCEEDED` (no `extensions`); one the bucket cannot
//! cover gets `THROTTLED` (cost block, `actualQueryCost: null`, no `data`); everything else runs,
//! is charged its actual cost and carries `extensions.cost`.

pub mod connection;
mod errors;
mod limits;
mod mutations;
mod resolve;
pub mod search;

use std::cell::RefCell;

use apollo_compiler::executable::{Operation, OperationType};
use apollo_compiler::request::coerce_variable_values;
use apollo_compiler::resolvers::{Execution, FieldError};
use apollo_compiler::response::{GraphQLError, JsonMap, JsonValue, ResponseDataPathSegment};
use apollo_compiler::validation::Valid;
use serde::Deserialize;

use crate::auth::App;
use crate::cost::{Basis, CostWalk, Observed};
use crate::server::SimState;

pub use mutations::IdempotencyRecord;

/// The JSON body of a GraphQL request.
#[derive(Debug, Default, Deserialize)]
pub struct GraphqlRequest {
    pub query: Option<String>,
    #[serde(default)]
    pub variables: Option<JsonValue>,
    #[serde(default, rename = "operationName")]
    pub operation_name: Option<String>,
}

/// A field-level failure with Shopify's `extensions.code`.
#[derive(Debug, Clone)]
pub struct FieldFailure {
    pub code: &'static str,
    pub message: String,
}

/// Separates the code from the message inside an apollo-compiler `FieldError` (which carries only
/// a message); never appears in any response.
const CODE_MARK: char = '\u{1f}';

impl FieldFailure {
    pub fn new(code: &'static str, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
        }
    }

    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new("BAD_REQUEST", message)
    }

    /// Shopify's missing-scope error (captured message shape).
    pub fn access_denied(field: &str, scope: &str) -> Self {
        Self::new(
            "ACCESS_DENIED",
            format!("Access denied for {field} field. Required access: `{scope}` access scope."),
        )
    }
}

impl From<FieldFailure> for FieldError {
    fn from(f: FieldFailure) -> Self {
        FieldError {
            message: format!("{}{CODE_MARK}{}", f.code, f.message),
        }
    }
}

/// State shared by the resolvers of one request.
#[derive(Default)]
pub struct RequestScratch {
    /// Page sizes actually served, for the actual cost.
    pub observed: RefCell<Observed>,
    /// `extensions.search` entries (search warnings).
    pub search: RefCell<Vec<serde_json::Value>>,
}

/// What the endpoint answers: Shopify always uses HTTP 200 for GraphQL outcomes; the only other
/// status comes from the `throttle_status` fault (429/503 with `Retry-After` in seconds, to test
/// clients against edge protections).
pub struct Answer {
    pub status: u16,
    pub retry_after_secs: Option<f64>,
    pub body: JsonValue,
}

/// Handles one GraphQL request for an authenticated `app`.
pub fn respond(state: &SimState, app: App, request: GraphqlRequest) -> Answer {
    let mut throttled_instead = None;
    let body = respond_body(state, app, request, &mut throttled_instead);
    match throttled_instead {
        Some((status, retry_after)) => Answer {
            status,
            retry_after_secs: Some(retry_after),
            body: serde_json::json!({ "errors": "Throttled" }).into(),
        },
        None => Answer {
            status: 200,
            retry_after_secs: None,
            body,
        },
    }
}

fn respond_body(
    state: &SimState,
    app: App,
    request: GraphqlRequest,
    throttled_instead: &mut Option<(u16, f64)>,
) -> JsonValue {
    let schema = shopify_schema::schema();
    let Some(query) = request.query.filter(|q| !q.trim().is_empty()) else {
        return errors_only(vec![errors::parse_error_without_position(
            "No query string was present",
        )]);
    };
    let document = match shopify_schema::validate(&query) {
        Ok(document) => document,
        Err(problems) => return errors_only(errors::from_validation(&query, &problems)),
    };
    let operation = match document.operations.get(request.operation_name.as_deref()) {
        Ok(operation) => operation,
        Err(_) => {
            let message = match &request.operation_name {
                Some(name) => format!("No operation named \"{name}\""),
                None => "An operation name is required".to_owned(),
            };
            return errors_only(vec![message_only(message)]);
        }
    };
    let raw_variables = match request.variables {
        None | Some(JsonValue::Null) => JsonMap::new(),
        Some(JsonValue::Object(map)) => map,
        Some(_) => {
            return errors_only(vec![message_only("Variables must be an object".to_owned())]);
        }
    };
    let variables = match coerce_variables(&query, operation, &raw_variables) {
        Ok(v) => v,
        Err(errors) => return errors_only(errors),
    };
    let oversized = limits::oversized_inputs(&document, operation, &variables);
    if !oversized.is_empty() {
        return errors_only(oversized);
    }

    let requested = CostWalk {
        model: state.cost_model.as_ref(),
        schema,
        document: &document,
        variables: &variables,
        basis: Basis::Requested,
    }
    .operation(operation);
    if requested > 1000 {
        return errors_only(vec![errors::max_cost_exceeded(requested)]);
    }

    let now = state.clock.now();
    if !state.take_from_bucket(app, f64::from(requested), now) {
        let status = state.bucket_status(app, now);
        if let Some(code) = state.faults().throttle_status {
            let wait = (f64::from(requested) - status.currently_available) / status.restore_rate;
            *throttled_instead = Some((code, (wait * 10.0).ceil() / 10.0));
        }
        let mut body = JsonMap::new();
        body.insert("errors", JsonValue::Array(vec![errors::throttled()]));
        body.insert(
            "extensions",
            cost_extension(requested, None, status, Vec::new()),
        );
        return JsonValue::Object(body);
    }

    let scratch = RequestScratch::default();
    let (data, field_errors) = if operation.operation_type == OperationType::Mutation {
        let mut store = state.write_store();
        let mut idempotency = state.idempotency();
        let outcomes = mutations::perform(
            state,
            &mut store,
            &mut idempotency,
            &document,
            operation,
            &variables,
            state.clock.now(),
        );
        drop(idempotency);
        let store = &*store;
        execute(
            &document, operation, &variables, store, &scratch, &outcomes, state,
        )
    } else {
        let store = state.read_store();
        execute(
            &document,
            operation,
            &variables,
            &store,
            &scratch,
            &mutations::Outcomes::default(),
            state,
        )
    };

    let observed = scratch.observed.borrow();
    let actual = CostWalk {
        model: state.cost_model.as_ref(),
        schema,
        document: &document,
        variables: &variables,
        basis: Basis::Actual(&observed),
    }
    .actual_operation(operation, &data)
    .min(requested);
    let now = state.clock.now();
    state.refund_to_bucket(app, f64::from(requested - actual), now);
    let status = state.bucket_status(app, now);

    let mut body = JsonMap::new();
    if !field_errors.is_empty() {
        body.insert("errors", JsonValue::Array(field_errors));
    }
    body.insert("data", data);
    body.insert(
        "extensions",
        cost_extension(requested, Some(actual), status, scratch.search.take()),
    );
    JsonValue::Object(body)
}

fn execute(
    document: &Valid<apollo_compiler::ExecutableDocument>,
    operation: &Operation,
    variables: &Valid<JsonMap>,
    store: &crate::store::Store,
    scratch: &RequestScratch,
    outcomes: &mutations::Outcomes,
    state: &SimState,
) -> (JsonValue, Vec<JsonValue>) {
    let now = state.clock.now();
    let ctx = resolve::Ctx {
        store,
        scratch,
        outcomes,
        now,
        state,
    };
    let root = resolve::Root {
        ctx,
        mutation: operation.operation_type == OperationType::Mutation,
    };
    // Shopify answers introspection (`__schema`, `__type`); so does the simulator.
    let result = Execution::new(shopify_schema::schema(), document)
        .enable_schema_introspection(true)
        .implementers_map(shopify_schema::implementers_map())
        .operation(operation)
        .coerced_variable_values(variables)
        .execute_sync(&root);
    match result {
        Ok(response) => {
            let data = response.data.map_or(JsonValue::Null, JsonValue::Object);
            let errors = response.errors.iter().map(field_error).collect();
            (data, errors)
        }
        Err(request_error) => (
            JsonValue::Null,
            vec![message_with_code(
                request_error.message().to_string(),
                "INTERNAL_SERVER_ERROR",
            )],
        ),
    }
}

/// Runs a validated query with no variables against `store` outside any request, uncharged
/// (the pages of a bulk operation, which is exempt from the cost cap).
pub(crate) fn execute_read(
    state: &SimState,
    store: &crate::store::Store,
    document: &Valid<apollo_compiler::ExecutableDocument>,
) -> (JsonValue, Vec<JsonValue>) {
    let Ok(operation) = document.operations.get(None) else {
        return (
            JsonValue::Null,
            vec![message_only("no single operation".to_owned())],
        );
    };
    let variables = Valid::assume_valid(JsonMap::new());
    let scratch = RequestScratch::default();
    let outcomes = mutations::Outcomes::default();
    execute(
        document, operation, &variables, store, &scratch, &outcomes, state,
    )
}

/// Coerces each variable on its own so every bad one is reported, in Shopify's shape.
fn coerce_variables(
    query: &str,
    operation: &Operation,
    raw: &JsonMap,
) -> Result<Valid<JsonMap>, Vec<JsonValue>> {
    let schema = shopify_schema::schema();
    let mut problems = Vec::new();
    for definition in &operation.variables {
        let provided = raw.get(definition.name.as_str());
        // A declared default stands in for an omitted value.
        if provided.is_none() && definition.default_value.is_some() {
            continue;
        }
        let found = errors::variable_problems(schema, &definition.ty, provided);
        if !found.is_empty() {
            problems.push(errors::invalid_variable(
                query,
                definition,
                provided.cloned().unwrap_or(JsonValue::Null),
                &found,
            ));
        }
    }
    if !problems.is_empty() {
        return Err(problems);
    }
    coerce_variable_values(schema, operation, raw).map_err(|e| {
        vec![message_with_code(
            e.message().to_string(),
            "INVALID_VARIABLE",
        )]
    })
}

fn field_error(error: &GraphQLError) -> JsonValue {
    let (code, message) = match error.message.split_once(CODE_MARK) {
        // apollo-compiler prefixes resolver messages ("resolver error: "); the code is the last
        // word before the mark.
        Some((prefix, message)) => (
            prefix.rsplit(' ').next().unwrap_or(prefix).to_owned(),
            message.to_owned(),
        ),
        None => ("INTERNAL_SERVER_ERROR".to_owned(), error.message.clone()),
    };
    let mut map = JsonMap::new();
    map.insert("message", message.clone().into());
    map.insert(
        "locations",
        JsonValue::Array(
            error
                .locations
                .iter()
                .map(|l| errors::location_json(l.line, l.column))
                .collect(),
        ),
    );
    let mut extensions = JsonMap::new();
    if code == "ACCESS_DENIED" {
        extensions.insert("code", code.into());
        extensions.insert(
            "documentation",
            "https://shopify.dev/api/usage/access-scopes".into(),
        );
        if let Some((_, required)) = message.split_once("Required access: ") {
            extensions.insert("requiredAccess", required.into());
        }
    } else {
        extensions.insert("code", code.into());
    }
    map.insert("extensions", JsonValue::Object(extensions));
    map.insert(
        "path",
        JsonValue::Array(
            error
                .path
                .iter()
                .map(|segment| match segment {
                    ResponseDataPathSegment::Field(name) => JsonValue::from(name.as_str()),
                    ResponseDataPathSegment::ListIndex(i) => JsonValue::from(*i as i64),
                })
                .collect(),
        ),
    );
    JsonValue::Object(map)
}

fn cost_extension(
    requested: u32,
    actual: Option<u32>,
    status: crate::bucket::ThrottleStatus,
    search: Vec<serde_json::Value>,
) -> JsonValue {
    let mut throttle = JsonMap::new();
    throttle.insert(
        "maximumAvailable",
        JsonValue::from(status.maximum_available),
    );
    // Real responses send the current level as an integer and the other two as floats.
    throttle.insert(
        "currentlyAvailable",
        JsonValue::from(status.currently_available.floor() as i64),
    );
    throttle.insert("restoreRate", JsonValue::from(status.restore_rate));
    let mut cost = JsonMap::new();
    cost.insert("requestedQueryCost", JsonValue::from(i64::from(requested)));
    cost.insert(
        "actualQueryCost",
        actual.map_or(JsonValue::Null, |a| JsonValue::from(i64::from(a))),
    );
    cost.insert("throttleStatus", JsonValue::Object(throttle));
    let mut extensions = JsonMap::new();
    extensions.insert("cost", JsonValue::Object(cost));
    if !search.is_empty() {
        extensions.insert(
            "search",
            JsonValue::Array(search.into_iter().map(JsonValue::from).collect()),
        );
    }
    JsonValue::Object(extensions)
}

fn errors_only(errors: Vec<JsonValue>) -> JsonValue {
    let mut body = JsonMap::new();
    body.insert("errors", JsonValue::Array(errors));
    JsonValue::Object(body)
}

fn message_only(message: String) -> JsonValue {
    let mut map = JsonMap::new();
    map.insert("message", message.into());
    JsonValue::Object(map)
}

fn message_with_code(message: String, code: &str) -> JsonValue {
    let mut map = JsonMap::new();
    map.insert("message", message.into());
    let mut extensions = JsonMap::new();
    extensions.insert("code", code.into());
    map.insert("extensions", JsonValue::Object(extensions));
    JsonValue::Object(map)
}
