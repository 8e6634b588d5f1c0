//! Bulk query operations (FACTS §7): `bulkOperationRunQuery`, `bulkOperationCancel`,
//! `bulkOperation(id:)`, `bulkOperations`, the deprecated `currentBulkOperation`, `node(id:)`, and
//! the JSONL result file served from the simulator's own signed URL.
//!
//! Why a module of its own: a bulk query is a long-running job, not a request. It is validated
//! when it is started (≥ 1 connection, ≤ 5 connections, nesting depth ≤ 2, no `first:`/`last:`,
//! one top-level connection, a nested connection's parent node selects `id`), then a background
//! worker runs it page by page over the store (250 root nodes a page, the store read-locked only
//! for one page at a time so writes go on), appending lines to a file on disk. Nothing holds the
//! whole result in memory: a 50,000-variant store with three levels each is tens of MB of JSONL.
//!
//! Lifecycle: `CREATED` (the answer to the mutation) → `RUNNING` (the worker picked it up;
//! `objectCount` grows page by page) → `COMPLETED`, or `CANCELING` → `CANCELED` after
//! `bulkOperationCancel`, or `FAILED` (a resolver error, or an injected failure). Up to
//! [`MAX_RUNNING_QUERIES`] query operations run at once; the next gets `OPERATION_IN_PROGRESS`
//! listing every running id (captured message). The bulk job is exempt from the cost cap; the
//! mutation costs 10 like any mutation.
//!
//! JSONL: one object per line; nodes of nested connections get their own lines with
//! `"__parentId"` = the id of the nearest enclosing connection node; `/` is escaped as `\/` as in
//! real output. With `groupObjects: false` (the default) Shopify promises no order, and the
//! simulator uses that freedom on purpose: within each page it writes the nested lines *before*
//! their parents, so a client that joins by line order breaks here and not in production.
//!
//! The URL (`/_bulk/{id}.jsonl?expires=…&signature=…`) expires 7 simulated days after completion;
//! an expired or tampered URL answers 403 with a Google Cloud Storage XML body, as a signed GCS
//! URL does. When an operation finishes, [`on_finish`] records `bulk_operations/finish` in the
//! store's event log; that is where webhook delivery picks it up.
//!
//! Messages not found in a capture (more than 5 connections, nesting depth, `first:`, several
//! top-level fields, missing parent `id`) follow the wording of the captured bulk-mutation
//! message and Shopify's documentation; they are marked "not captured" below.

use std::collections::{BTreeMap, HashMap};
use std::fs::File;
use std::hash::{Hash, Hasher};
use std::io::{BufWriter, Write};
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError, Weak};
use std::time::Duration;

use apollo_compiler::ExecutableDocument;
use apollo_compiler::ast::Value;
use apollo_compiler::executable::{Field, Selection, SelectionSet};
use apollo_compiler::name;
use apollo_compiler::resolvers::{FieldError, ObjectValue, ResolveInfo, ResolvedValue};
use apollo_compiler::response::{JsonMap, JsonValue};
use apollo_compiler::validation::Valid;
use axum::body::{Body, Bytes};
use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};

use crate::clock::{UnixMillis, format_rfc3339};
use crate::graphql::FieldFailure;
use crate::server::SimState;

/// Query operations that may run at once per app and shop (2026-01+, captured: 5 accepted, the
/// 6th refused).
pub const MAX_RUNNING_QUERIES: usize = 5;
/// `url` and `partialDataUrl` expire 7 days after the operation completes.
pub const URL_TTL_MS: i64 = 7 * 86_400_000;
/// Root nodes the worker reads per step.
const PAGE: i32 = 250;
const MAX_CONNECTIONS: usize = 5;
const MAX_DEPTH: usize = 2;
const ID_BASE: u64 = 7_749_099_000_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Created,
    Running,
    Completed,
    Canceling,
    Canceled,
    Failed,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Created => "CREATED",
            Status::Running => "RUNNING",
            Status::Completed => "COMPLETED",
            Status::Canceling => "CANCELING",
            Status::Canceled => "CANCELED",
            Status::Failed => "FAILED",
        }
    }

    /// Holds one of the concurrency slots.
    pub fn in_progress(self) -> bool {
        matches!(self, Status::Created | Status::Running | Status::Canceling)
    }
}

/// One bulk operation as the API shows it.
#[derive(Debug, Clone)]
pub struct BulkOperation {
    pub id: u64,
    pub query: String,
    pub group_objects: bool,
    pub status: Status,
    pub error_code: Option<&'static str>,
    pub created_at: UnixMillis,
    pub completed_at: Option<UnixMillis>,
    pub started_at: Option<UnixMillis>,
    pub object_count: u64,
    pub root_object_count: u64,
    pub file_size: Option<u64>,
    /// When `url` stops working (set on completion).
    pub url_expires_at: Option<UnixMillis>,
}

impl BulkOperation {
    pub fn gid(&self) -> String {
        format!("gid://shopify/BulkOperation/{}", self.id)
    }
}

#[derive(Default)]
struct Inner {
    next_id: u64,
    ops: BTreeMap<u64, BulkOperation>,
    /// Objects per simulated second the worker may produce (`None`: as fast as it can).
    pace: Option<f64>,
    fail_next: Option<&'static str>,
    cut_next_download_after: Option<u64>,
}

/// Every bulk operation of the store, and the directory holding their result files.
pub struct BulkOperations {
    inner: Mutex<Inner>,
    wake: Condvar,
    dir: PathBuf,
    secret: u64,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

static DIRS: AtomicU64 = AtomicU64::new(0);

impl BulkOperations {
    pub fn new(seed: u64) -> Self {
        let dir = std::env::temp_dir().join(format!(
            "shopify-sim-bulk-{}-{}",
            std::process::id(),
            DIRS.fetch_add(1, Ordering::Relaxed)
        ));
        Self {
            inner: Mutex::new(Inner {
                next_id: ID_BASE + (seed % 1000) * 1000,
                ..Inner::default()
            }),
            wake: Condvar::new(),
            dir,
            secret: seed ^ 0xB01C,
        }
    }

    /// A copy of the operation with this numeric id.
    pub fn get(&self, id: u64) -> Option<BulkOperation> {
        lock(&self.inner).ops.get(&id).cloned()
    }

    /// Every operation, oldest first.
    pub fn all(&self) -> Vec<BulkOperation> {
        lock(&self.inner).ops.values().cloned().collect()
    }

    /// Paces the worker on the simulated clock: at most `objects_per_second` objects per
    /// simulated second since the operation started (`None` lifts the limit). With a manual clock
    /// that does not move, a paced operation stays `RUNNING`, which tests use to observe it.
    pub fn set_pace(&self, objects_per_second: Option<f64>) {
        lock(&self.inner).pace = objects_per_second;
        self.wake.notify_all();
    }

    /// Fault: the next operation that runs fails with this `errorCode` (e.g. `INTERNAL_SERVER_ERROR`).
    pub fn fail_next(&self, error_code: &'static str) {
        lock(&self.inner).fail_next = Some(error_code);
    }

    /// Fault: the next download is cut off after `bytes`, and its URL has expired by then (a
    /// long download interrupted past the URL's lifetime).
    pub fn expire_next_download_after(&self, bytes: u64) {
        lock(&self.inner).cut_next_download_after = Some(bytes);
    }

    fn file(&self, id: u64) -> PathBuf {
        self.dir.join(format!("bulk-{id}.jsonl"))
    }

    fn signature(&self, id: u64, expires_secs: i64) -> String {
        let mut h = std::collections::hash_map::DefaultHasher::new();
        (self.secret, id, expires_secs).hash(&mut h);
        format!("{:016x}", h.finish())
    }

    /// The signed download URL of a completed operation.
    pub fn url(&self, base_url: &str, op: &BulkOperation) -> Option<String> {
        if op.status != Status::Completed {
            return None;
        }
        let expires = op.url_expires_at? / 1000;
        Some(format!(
            "{base_url}/_bulk/{}.jsonl?expires={expires}&signature={}&response-content-type=application%2Fjsonl",
            op.id,
            self.signature(op.id, expires)
        ))
    }
}

impl Drop for BulkOperations {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// The hook for `bulk_operations/finish`: called once when an operation reaches `COMPLETED`,
/// `FAILED` or `CANCELED`. It records the topic in the store's event log (subject: the
/// operation's gid), which webhook delivery consumes.
pub fn on_finish(state: &SimState, op: &BulkOperation) {
    let now = state.clock.now();
    state
        .write_store()
        .record("bulk_operations/finish", now, op.gid());
}

// ---------------------------------------------------------------------------------------------
// Starting and cancelling

/// A `BulkOperationUserError`.
#[derive(Debug, Clone)]
pub struct BulkUserError {
    pub field: Option<Vec<String>>,
    pub message: String,
    pub code: Option<&'static str>,
}

/// The payload of `bulkOperationRunQuery` or `bulkOperationCancel`.
#[derive(Debug, Clone)]
pub struct Payload {
    pub type_name: &'static str,
    pub operation: Option<BulkOperation>,
    pub user_errors: Vec<BulkUserError>,
}

impl Payload {
    fn error(type_name: &'static str, e: BulkUserError) -> Self {
        Self {
            type_name,
            operation: None,
            user_errors: vec![e],
        }
    }

    fn error_type(&self) -> &'static str {
        if self.type_name == "BulkOperationCancelPayload" {
            "UserError"
        } else {
            "BulkOperationUserError"
        }
    }

    pub fn resolve<'a>(
        &'a self,
        state: &'a SimState,
        info: &'a ResolveInfo<'a>,
    ) -> Result<ResolvedValue<'a>, FieldError> {
        match info.field_name() {
            "bulkOperation" => Ok(ResolvedValue::nullable_object(
                self.operation.clone().map(|op| BulkObject::new(state, op)),
            )),
            "userErrors" => {
                Ok(ResolvedValue::list(self.user_errors.iter().map(|e| {
                    ResolvedValue::object(UserErrorObject(e, self.error_type()))
                })))
            }
            other => Err(FieldFailure::new(
                "UNSUPPORTED_BY_SIMULATOR",
                format!(
                    "shopify-sim does not simulate the field `{}.{other}`",
                    self.type_name
                ),
            )
            .into()),
        }
    }
}

fn invalid(message: impl Into<String>) -> BulkUserError {
    BulkUserError {
        field: Some(vec!["query".to_owned()]),
        message: message.into(),
        code: Some("INVALID"),
    }
}

/// Performs `bulkOperationRunQuery` or `bulkOperationCancel` with their arguments.
pub fn perform(state: &SimState, field: &str, args: &JsonMap, now: UnixMillis) -> Payload {
    if field == "bulkOperationCancel" {
        return cancel(state, args.get("id").and_then(|v| v.as_str()).unwrap_or(""));
    }
    const RUN: &str = "BulkOperationRunQueryPayload";
    let query = args.get("query").and_then(|v| v.as_str()).unwrap_or("");
    let group_objects = args
        .get("groupObjects")
        .and_then(|v| v.as_bool())
        .unwrap_or(false);
    if let Err(e) = check_query(query) {
        return Payload::error(RUN, e);
    }
    let bulk = &state.bulk;
    let mut inner = lock(&bulk.inner);
    let running: Vec<String> = inner
        .ops
        .values()
        .filter(|op| op.status.in_progress())
        .map(BulkOperation::gid)
        .collect();
    if running.len() >= MAX_RUNNING_QUERIES {
        return Payload::error(
            RUN,
            BulkUserError {
                field: None,
                message: format!(
                    "A bulk query operation for this app and shop is already in progress: {}.",
                    running.join(", ")
                ),
                code: Some("OPERATION_IN_PROGRESS"),
            },
        );
    }
    inner.next_id += 1;
    let op = BulkOperation {
        id: inner.next_id,
        query: query.to_owned(),
        group_objects,
        status: Status::Created,
        error_code: None,
        created_at: now,
        completed_at: None,
        started_at: None,
        object_count: 0,
        root_object_count: 0,
        file_size: None,
        url_expires_at: None,
    };
    inner.ops.insert(op.id, op.clone());
    drop(inner);
    bulk.wake.notify_all();
    Payload {
        type_name: RUN,
        operation: Some(op),
        user_errors: Vec::new(),
    }
}

fn cancel(state: &SimState, id: &str) -> Payload {
    const CANCEL: &str = "BulkOperationCancelPayload";
    let bulk = &state.bulk;
    let mut inner = lock(&bulk.inner);
    let Some(op) = parse_id(id).and_then(|n| inner.ops.get_mut(&n)) else {
        return Payload::error(
            CANCEL,
            BulkUserError {
                field: Some(vec!["id".to_owned()]),
                message: "Bulk operation does not exist".to_owned(),
                code: None,
            },
        );
    };
    if !op.status.in_progress() {
        let message = format!(
            "A bulk operation cannot be canceled when it is {}",
            op.status.as_str().to_lowercase()
        );
        let snapshot = op.clone();
        return Payload {
            type_name: CANCEL,
            operation: Some(snapshot),
            user_errors: vec![BulkUserError {
                field: None,
                message,
                code: None,
            }],
        };
    }
    op.status = Status::Canceling;
    let snapshot = op.clone();
    drop(inner);
    bulk.wake.notify_all();
    Payload {
        type_name: CANCEL,
        operation: Some(snapshot),
        user_errors: Vec::new(),
    }
}

fn parse_id(gid: &str) -> Option<u64> {
    gid.strip_prefix("gid://shopify/BulkOperation/")?
        .parse()
        .ok()
}

fn is_connection(field: &Field) -> bool {
    field
        .definition
        .ty
        .inner_named_type()
        .ends_with("Connection")
}

/// Every field of a selection set, inline fragments and fragment spreads flattened.
fn fields_of<'d>(doc: &'d ExecutableDocument, set: &'d SelectionSet, out: &mut Vec<&'d Field>) {
    for selection in &set.selections {
        match selection {
            Selection::Field(f) => out.push(f),
            Selection::InlineFragment(f) => fields_of(doc, &f.selection_set, out),
            Selection::FragmentSpread(s) => {
                if let Some(fragment) = doc.fragments.get(&s.fragment_name) {
                    fields_of(doc, &fragment.selection_set, out);
                }
            }
        }
    }
}

/// The node selection of a connection field: `edges { node { … } }` or `nodes { … }`.
fn node_sets<'d>(doc: &'d ExecutableDocument, connection: &'d Field) -> Vec<&'d SelectionSet> {
    let mut fields = Vec::new();
    fields_of(doc, &connection.selection_set, &mut fields);
    let mut sets = Vec::new();
    for f in fields {
        match f.name.as_str() {
            "nodes" => sets.push(&f.selection_set),
            "edges" => {
                let mut inner = Vec::new();
                fields_of(doc, &f.selection_set, &mut inner);
                sets.extend(
                    inner
                        .into_iter()
                        .filter(|n| n.name == "node")
                        .map(|n| &n.selection_set),
                );
            }
            _ => {}
        }
    }
    sets
}

#[derive(Default)]
struct Census {
    connections: usize,
    depth: usize,
    paginated: Vec<String>,
    parents_without_id: Vec<String>,
}

fn census(doc: &ExecutableDocument, set: &SelectionSet, depth: usize, c: &mut Census) {
    let mut fields = Vec::new();
    fields_of(doc, set, &mut fields);
    for f in fields {
        if is_connection(f) {
            c.connections += 1;
            c.depth = c.depth.max(depth + 1);
            if f.arguments
                .iter()
                .any(|a| a.name == "first" || a.name == "last")
            {
                c.paginated.push(f.name.to_string());
            }
            for node in node_sets(doc, f) {
                let mut children = Vec::new();
                fields_of(doc, node, &mut children);
                let has_id = children.iter().any(|f| f.name == "id" && f.alias.is_none());
                let mut nested = Census::default();
                census(doc, node, depth + 1, &mut nested);
                if nested.connections > 0 && !has_id {
                    c.parents_without_id.push(f.name.to_string());
                }
                c.connections += nested.connections;
                c.depth = c.depth.max(nested.depth);
                c.paginated.extend(nested.paginated);
                c.parents_without_id.extend(nested.parents_without_id);
            }
        } else if !f.selection_set.selections.is_empty() {
            census(doc, &f.selection_set, depth, c);
        }
    }
}

/// Validates the inner query as Shopify does when the operation is started.
fn check_query(query: &str) -> Result<Valid<ExecutableDocument>, BulkUserError> {
    if query.trim().is_empty() {
        // Captured.
        return Err(invalid(
            "Invalid bulk query: syntax error, unexpected end of file",
        ));
    }
    let doc = shopify_schema::validate(query).map_err(|problems| {
        let first = problems
            .first()
            .map(|p| p.message.clone())
            .unwrap_or_default();
        invalid(format!("Invalid bulk query: {first}"))
    })?;
    let Some(operation) = doc.operations.iter().next() else {
        return Err(invalid("Invalid bulk query: no operation"));
    };
    if doc.operations.iter().count() != 1
        || operation.operation_type != apollo_compiler::executable::OperationType::Query
    {
        // Not captured.
        return Err(invalid(
            "Bulk queries must contain exactly one query operation.",
        ));
    }
    let mut census_result = Census::default();
    census(&doc, &operation.selection_set, 0, &mut census_result);
    if census_result.connections == 0 {
        // Captured.
        return Err(invalid(
            "Bulk queries must contain at least one connection.",
        ));
    }
    if census_result.connections > MAX_CONNECTIONS {
        // Not captured (wording of the captured bulk-mutation message).
        return Err(invalid(format!(
            "Bulk queries cannot contain more than {MAX_CONNECTIONS} connections."
        )));
    }
    if census_result.depth > MAX_DEPTH {
        // Not captured.
        return Err(invalid(format!(
            "Bulk queries cannot contain connections with a nesting depth greater than {MAX_DEPTH}."
        )));
    }
    if let Some(field) = census_result.paginated.first() {
        // Not captured: Shopify's documentation says a bulk query has no pagination arguments.
        return Err(invalid(format!(
            "Bulk queries cannot use pagination arguments (first, last): {field}."
        )));
    }
    let mut top = Vec::new();
    fields_of(&doc, &operation.selection_set, &mut top);
    if top.len() != 1 || !is_connection(top[0]) {
        // Not captured.
        return Err(invalid(
            "Bulk queries must have exactly one top-level field, and it must be a connection.",
        ));
    }
    if !census_result.parents_without_id.is_empty() {
        // Not captured (Shopify's documented rule).
        return Err(invalid(format!(
            "The parent 'node' field for a nested connection must select the 'id' field without an alias and must be of type 'ID!'. Connection fields without 'id': {}.",
            census_result.parents_without_id.join(", ")
        )));
    }
    Ok(doc)
}

// ---------------------------------------------------------------------------------------------
// Running

/// Where, in a node's JSON, nested connections sit.
#[derive(Default)]
struct Shape {
    children: Vec<(String, Child)>,
}

enum Child {
    Connection(Shape),
    Object(Shape),
}

fn shape_of(doc: &ExecutableDocument, set: &SelectionSet) -> Shape {
    let mut fields = Vec::new();
    fields_of(doc, set, &mut fields);
    let mut shape = Shape::default();
    for f in fields {
        let key = f.response_key().to_string();
        if shape.children.iter().any(|(k, _)| *k == key) {
            continue;
        }
        if is_connection(f) {
            let mut node = Shape::default();
            for set in node_sets(doc, f) {
                node.children.extend(shape_of(doc, set).children);
            }
            shape.children.push((key, Child::Connection(node)));
        } else if !f.selection_set.selections.is_empty() {
            let inner = shape_of(doc, &f.selection_set);
            if !inner.children.is_empty() {
                shape.children.push((key, Child::Object(inner)));
            }
        }
    }
    shape
}

/// The nodes of a connection's JSON (`edges[].node` or `nodes[]`).
fn connection_nodes(value: JsonValue) -> Vec<JsonMap> {
    let JsonValue::Object(mut map) = value else {
        return Vec::new();
    };
    let mut out = Vec::new();
    if let Some(JsonValue::Array(edges)) = map.remove("edges") {
        for edge in edges {
            if let JsonValue::Object(mut edge) = edge
                && let Some(JsonValue::Object(node)) = edge.remove("node")
            {
                out.push(node);
            }
        }
    } else if let Some(JsonValue::Array(nodes)) = map.remove("nodes") {
        out.extend(nodes.into_iter().filter_map(|n| match n {
            JsonValue::Object(n) => Some(n),
            _ => None,
        }));
    }
    out
}

/// Takes the nested connections out of `map` (recursively through plain objects), returning
/// their nodes.
fn detach<'s>(map: &mut JsonMap, shape: &'s Shape, out: &mut Vec<(JsonMap, &'s Shape)>) {
    for (key, child) in &shape.children {
        match child {
            Child::Connection(node_shape) => {
                if let Some(value) = map.remove(key.as_str()) {
                    for node in connection_nodes(value) {
                        out.push((node, node_shape));
                    }
                }
            }
            Child::Object(inner) => {
                if let Some(JsonValue::Object(obj)) = map.get_mut(key.as_str()) {
                    detach(obj, inner, out);
                }
            }
        }
    }
}

struct Lines {
    root: u64,
    total: u64,
}

/// Writes one JSON object as a line, `/` escaped as `\/`.
fn write_line(out: &mut impl Write, map: &JsonMap) -> std::io::Result<()> {
    let bytes = serde_json::to_vec(map).map_err(std::io::Error::other)?;
    let mut start = 0;
    for (i, b) in bytes.iter().enumerate() {
        if *b == b'/' {
            out.write_all(&bytes[start..i])?;
            out.write_all(b"\\/")?;
            start = i + 1;
        }
    }
    out.write_all(&bytes[start..])?;
    out.write_all(b"\n")
}

fn flatten(
    mut node: JsonMap,
    shape: &Shape,
    parent: Option<&JsonValue>,
    grouped: bool,
    out: &mut impl Write,
    deferred: &mut Vec<u8>,
    lines: &mut Lines,
) -> std::io::Result<()> {
    let mut children = Vec::new();
    detach(&mut node, shape, &mut children);
    let id = node.get("id").cloned();
    let root = parent.is_none();
    if let Some(p) = parent {
        node.insert("__parentId", p.clone());
    }
    if grouped || !root {
        write_line(out, &node)?;
    } else {
        // Ungrouped: parents go after their page's nested lines.
        write_line(deferred, &node)?;
    }
    lines.total += 1;
    if root {
        lines.root += 1;
    }
    for (child, child_shape) in children {
        flatten(
            child,
            child_shape,
            id.as_ref(),
            grouped,
            out,
            deferred,
            lines,
        )?;
    }
    Ok(())
}

/// The worker's private state for a running operation.
struct Job {
    document: Valid<ExecutableDocument>,
    shape: Shape,
    root_key: String,
    cursor: Option<String>,
    out: BufWriter<File>,
    bytes: u64,
}

/// Starts the background worker. It holds only a weak reference: it stops when the simulator
/// is dropped.
pub fn spawn_worker(state: &Arc<SimState>) {
    let weak = Arc::downgrade(state);
    let spawned = std::thread::Builder::new()
        .name("shopify-sim-bulk".to_owned())
        .spawn(move || worker(weak));
    if let Err(e) = spawned {
        tracing::error!("shopify-sim: cannot start the bulk operation worker: {e}");
    }
}

fn worker(weak: Weak<SimState>) {
    let mut jobs: HashMap<u64, Job> = HashMap::new();
    loop {
        let Some(state) = weak.upgrade() else { return };
        let worked = step(&state, &mut jobs);
        if !worked {
            let inner = lock(&state.bulk.inner);
            let _ = state
                .bulk
                .wake
                .wait_timeout(inner, Duration::from_millis(10))
                .unwrap_or_else(PoisonError::into_inner);
        }
    }
}

enum Next {
    Start(u64),
    /// One page of at most this many root nodes.
    Page(u64, i32),
    Cancel(u64),
}

/// Does one unit of work (start, one page, or a cancel) for every operation that has some.
/// Returns whether anything happened.
fn step(state: &SimState, jobs: &mut HashMap<u64, Job>) -> bool {
    let now = state.clock.now();
    let todo: Vec<Next> = {
        let inner = lock(&state.bulk.inner);
        inner
            .ops
            .values()
            .filter_map(|op| match op.status {
                Status::Created => Some(Next::Start(op.id)),
                Status::Canceling => Some(Next::Cancel(op.id)),
                Status::Running => {
                    let allowed = match (inner.pace, op.started_at) {
                        (Some(rate), Some(started)) => {
                            (rate * (now - started).max(0) as f64 / 1000.0) as u64
                        }
                        _ => u64::MAX,
                    };
                    // A paced job reads small pages so progress shows at a fine grain.
                    let budget = allowed.saturating_sub(op.object_count);
                    (budget > 0).then(|| Next::Page(op.id, budget.min(PAGE as u64) as i32))
                }
                _ => None,
            })
            .collect()
    };
    let worked = !todo.is_empty();
    for next in todo {
        match next {
            Next::Start(id) => start_job(state, jobs, id, now),
            Next::Cancel(id) => {
                jobs.remove(&id);
                let _ = std::fs::remove_file(state.bulk.file(id));
                finish(state, id, |op| {
                    op.status = Status::Canceled;
                });
            }
            Next::Page(id, size) => run_page(state, jobs, id, size),
        }
    }
    worked
}

fn finish(state: &SimState, id: u64, change: impl FnOnce(&mut BulkOperation)) {
    let snapshot = {
        let mut inner = lock(&state.bulk.inner);
        let Some(op) = inner.ops.get_mut(&id) else {
            return;
        };
        change(op);
        op.clone()
    };
    on_finish(state, &snapshot);
}

fn fail(state: &SimState, jobs: &mut HashMap<u64, Job>, id: u64, code: &'static str) {
    jobs.remove(&id);
    let now = state.clock.now();
    finish(state, id, |op| {
        op.status = Status::Failed;
        op.error_code = Some(code);
        op.completed_at = Some(now);
    });
}

fn start_job(state: &SimState, jobs: &mut HashMap<u64, Job>, id: u64, now: UnixMillis) {
    let Some(op) = state.bulk.get(id) else { return };
    let prepared = (|| -> Result<Job, String> {
        let document = check_query(&op.query).map_err(|e| e.message)?;
        let operation = document
            .operations
            .iter()
            .next()
            .ok_or_else(|| "no operation".to_owned())?;
        let mut top = Vec::new();
        fields_of(&document, &operation.selection_set, &mut top);
        let root = top.first().ok_or_else(|| "no root field".to_owned())?;
        let root_key = root.response_key().to_string();
        let mut node = Shape::default();
        for set in node_sets(&document, root) {
            node.children.extend(shape_of(&document, set).children);
        }
        std::fs::create_dir_all(&state.bulk.dir).map_err(|e| e.to_string())?;
        let file = File::create(state.bulk.file(id)).map_err(|e| e.to_string())?;
        Ok(Job {
            document: document.clone(),
            shape: node,
            root_key,
            cursor: None,
            out: BufWriter::with_capacity(256 * 1024, file),
            bytes: 0,
        })
    })();
    match prepared {
        Ok(job) => {
            jobs.insert(id, job);
            let mut inner = lock(&state.bulk.inner);
            if let Some(op) = inner.ops.get_mut(&id) {
                op.status = Status::Running;
                op.started_at = Some(now);
            }
        }
        Err(e) => {
            tracing::warn!("shopify-sim: bulk operation {id} cannot run: {e}");
            fail(state, jobs, id, "INTERNAL_SERVER_ERROR");
        }
    }
}

/// The document of one page: the root connection gets `first: 250`, `after:` and a `pageInfo`
/// (under an alias no client uses), nested connections `first: 250`.
fn page_document(
    base: &Valid<ExecutableDocument>,
    root_key: &str,
    after: Option<&str>,
    size: i32,
) -> Option<Valid<ExecutableDocument>> {
    let schema = shopify_schema::schema();
    let mut doc = base.clone().into_inner();
    fn nested(set: &mut SelectionSet) {
        for selection in &mut set.selections {
            match selection {
                Selection::Field(f) => {
                    let f = f.make_mut();
                    if is_connection(f) && !f.arguments.iter().any(|a| a.name == "first") {
                        f.arguments.push((name!("first"), Value::from(PAGE)).into());
                    }
                    nested(&mut f.selection_set);
                }
                Selection::InlineFragment(f) => nested(&mut f.make_mut().selection_set),
                Selection::FragmentSpread(_) => {}
            }
        }
    }
    for fragment in doc.fragments.values_mut() {
        nested(&mut fragment.make_mut().selection_set);
    }
    let operation = doc.operations.get_mut(None).ok()?;
    for selection in &mut operation.selection_set.selections {
        let Selection::Field(f) = selection else {
            continue;
        };
        if f.response_key() != root_key {
            continue;
        }
        let f = f.make_mut();
        nested(&mut f.selection_set);
        f.arguments.push((name!("first"), Value::from(size)).into());
        if let Some(cursor) = after {
            f.arguments
                .push((name!("after"), Value::from(cursor.to_owned())).into());
        }
        let page_info = f
            .selection_set
            .new_field(schema, name!("pageInfo"))
            .ok()?
            .with_alias(name!("shopifySimPageInfo"));
        let has_next = page_info
            .selection_set
            .new_field(schema, name!("hasNextPage"))
            .ok()?;
        let end = page_info
            .selection_set
            .new_field(schema, name!("endCursor"))
            .ok()?;
        f.selection_set
            .push(page_info.with_selection(has_next).with_selection(end));
    }
    Some(Valid::assume_valid(doc))
}

fn run_page(state: &SimState, jobs: &mut HashMap<u64, Job>, id: u64, size: i32) {
    let injected = lock(&state.bulk.inner).fail_next.take();
    if let Some(code) = injected {
        let _ = std::fs::remove_file(state.bulk.file(id));
        fail(state, jobs, id, code);
        return;
    }
    let Some(job) = jobs.get_mut(&id) else {
        // The worker lost its state (cannot happen while the process lives); fail loudly.
        fail(state, jobs, id, "INTERNAL_SERVER_ERROR");
        return;
    };
    let Some(document) = page_document(&job.document, &job.root_key, job.cursor.as_deref(), size)
    else {
        fail(state, jobs, id, "INTERNAL_SERVER_ERROR");
        return;
    };
    let (data, errors) = {
        let store = state.read_store();
        crate::graphql::execute_read(state, &store, &document)
    };
    if !errors.is_empty() {
        tracing::warn!("shopify-sim: bulk operation {id} failed: {errors:?}");
        fail(state, jobs, id, "INTERNAL_SERVER_ERROR");
        return;
    }
    let JsonValue::Object(mut data) = data else {
        fail(state, jobs, id, "INTERNAL_SERVER_ERROR");
        return;
    };
    let mut connection = data
        .remove(job.root_key.as_str())
        .unwrap_or(JsonValue::Null);
    let page_info = match &mut connection {
        JsonValue::Object(map) => map.remove("shopifySimPageInfo"),
        _ => None,
    };
    let has_next = page_info
        .as_ref()
        .and_then(|p| p.get("hasNextPage"))
        .and_then(|v| v.as_bool())
        .unwrap_or(false);
    let end_cursor = page_info
        .as_ref()
        .and_then(|p| p.get("endCursor"))
        .and_then(|v| v.as_str())
        .map(str::to_owned);
    let grouped = state.bulk.get(id).is_some_and(|op| op.group_objects);
    let mut lines = Lines { root: 0, total: 0 };
    let mut deferred = Vec::new();
    let mut counting = CountingWriter {
        inner: &mut job.out,
        bytes: 0,
    };
    let mut written: std::io::Result<()> = Ok(());
    for node in connection_nodes(connection) {
        written = flatten(
            node,
            &job.shape,
            None,
            grouped,
            &mut counting,
            &mut deferred,
            &mut lines,
        );
        if written.is_err() {
            break;
        }
    }
    if written.is_ok() {
        written = counting.write_all(&deferred);
    }
    job.bytes += counting.bytes;
    job.cursor = end_cursor;
    let last = !has_next || job.cursor.is_none();
    if last && written.is_ok() {
        written = job.out.flush();
    }
    if let Err(e) = written {
        tracing::warn!("shopify-sim: bulk operation {id} cannot write its file: {e}");
        fail(state, jobs, id, "INTERNAL_SERVER_ERROR");
        return;
    }
    let bytes = job.bytes;
    {
        let mut inner = lock(&state.bulk.inner);
        if let Some(op) = inner.ops.get_mut(&id) {
            op.object_count += lines.total;
            op.root_object_count += lines.root;
        }
    }
    if last {
        jobs.remove(&id);
        let now = state.clock.now();
        finish(state, id, |op| {
            op.status = Status::Completed;
            op.completed_at = Some(now);
            op.file_size = Some(bytes);
            op.url_expires_at = Some(now + URL_TTL_MS);
        });
    }
}

struct CountingWriter<'w, W: Write> {
    inner: &'w mut W,
    bytes: u64,
}

impl<W: Write> Write for CountingWriter<'_, W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.bytes += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

// ---------------------------------------------------------------------------------------------
// Reading

/// `BulkOperation` as a GraphQL object (a snapshot).
pub struct BulkObject {
    op: BulkOperation,
    url: Option<String>,
}

impl BulkObject {
    pub fn new(state: &SimState, op: BulkOperation) -> Self {
        let url = state.bulk.url(&state.base_url, &op);
        Self { op, url }
    }
}

fn count_string(n: u64) -> JsonValue {
    // UnsignedInt64 is a JSON string.
    JsonValue::from(n.to_string())
}

impl ObjectValue for BulkObject {
    fn type_name(&self) -> &str {
        "BulkOperation"
    }

    fn resolve_field<'a>(
        &'a self,
        info: &'a ResolveInfo<'a>,
    ) -> Result<ResolvedValue<'a>, FieldError> {
        let op = &self.op;
        let v: JsonValue = match info.field_name() {
            "id" => op.gid().into(),
            "status" => op.status.as_str().into(),
            "type" => "QUERY".into(),
            "errorCode" => op.error_code.map_or(JsonValue::Null, JsonValue::from),
            "createdAt" => format_rfc3339(op.created_at).into(),
            "completedAt" => op
                .completed_at
                .map_or(JsonValue::Null, |t| format_rfc3339(t).into()),
            "objectCount" => count_string(op.object_count),
            "rootObjectCount" => count_string(op.root_object_count),
            "fileSize" => op.file_size.map_or(JsonValue::Null, count_string),
            "url" => self.url.clone().map_or(JsonValue::Null, JsonValue::from),
            "partialDataUrl" => JsonValue::Null,
            "query" => op.query.clone().into(),
            other => {
                return Err(FieldFailure::new(
                    "UNSUPPORTED_BY_SIMULATOR",
                    format!("shopify-sim does not simulate the field `BulkOperation.{other}`"),
                )
                .into());
            }
        };
        Ok(ResolvedValue::leaf(v))
    }
}

/// `userErrors` of run (`BulkOperationUserError`) or cancel (plain `UserError`).
struct UserErrorObject<'e>(&'e BulkUserError, &'static str);

impl ObjectValue for UserErrorObject<'_> {
    fn type_name(&self) -> &str {
        self.1
    }

    fn resolve_field<'a>(
        &'a self,
        info: &'a ResolveInfo<'a>,
    ) -> Result<ResolvedValue<'a>, FieldError> {
        let e = self.0;
        Ok(ResolvedValue::leaf(match info.field_name() {
            "field" => {
                return Ok(match &e.field {
                    Some(f) => {
                        ResolvedValue::list(f.iter().map(|s| ResolvedValue::leaf(s.as_str())))
                    }
                    None => ResolvedValue::null(),
                });
            }
            "message" => e.message.clone().into(),
            "code" => e.code.map_or(JsonValue::Null, JsonValue::from),
            _ => JsonValue::Null,
        }))
    }
}

/// `node(id:)` for a BulkOperation gid.
pub fn node(state: &SimState, id: &str) -> Option<BulkObject> {
    let op = state.bulk.get(parse_id(id)?)?;
    Some(BulkObject::new(state, op))
}

/// The query root fields `bulkOperation`, `currentBulkOperation` and `bulkOperations`.
pub fn resolve_root<'a>(
    state: &'a SimState,
    info: &'a ResolveInfo<'a>,
) -> Result<ResolvedValue<'a>, FieldError> {
    let args = info.arguments();
    match info.field_name() {
        "bulkOperation" => Ok(ResolvedValue::nullable_object(node(
            state,
            args.get("id").and_then(|v| v.as_str()).unwrap_or(""),
        ))),
        "currentBulkOperation" => {
            let kind = args.get("type").and_then(|v| v.as_str()).unwrap_or("QUERY");
            let latest = (kind == "QUERY")
                .then(|| state.bulk.all().into_iter().next_back())
                .flatten();
            Ok(ResolvedValue::nullable_object(
                latest.map(|op| BulkObject::new(state, op)),
            ))
        }
        _ => bulk_operations(state, info),
    }
}

fn bulk_operations<'a>(
    state: &'a SimState,
    info: &'a ResolveInfo<'a>,
) -> Result<ResolvedValue<'a>, FieldError> {
    use crate::graphql::connection::{PageArgs, encode_cursor, paginate};
    let args = info.arguments();
    let mut ops = state.bulk.all();
    if let Some(query) = args.get("query").and_then(|v| v.as_str()) {
        for term in query.split_whitespace() {
            let Some((key, value)) = term.split_once(':') else {
                continue;
            };
            let value = value.trim_matches(|c| c == '\'' || c == '"');
            match key {
                "status" => ops.retain(|op| op.status.as_str().eq_ignore_ascii_case(value)),
                "operation_type" if !value.eq_ignore_ascii_case("query") => ops.clear(),
                "created_at" => {
                    let (cmp, date) = split_comparison(value);
                    let Some(at) = crate::clock::parse_rfc3339(date)
                        .or_else(|| crate::clock::parse_rfc3339(&format!("{date}T00:00:00Z")))
                    else {
                        // Captured message.
                        return Err(FieldFailure::bad_request(
                            "Invalid timestamp for query filter `created_at`.",
                        )
                        .into());
                    };
                    ops.retain(|op| match cmp {
                        ">" => op.created_at > at,
                        ">=" => op.created_at >= at,
                        "<" => op.created_at < at,
                        "<=" => op.created_at <= at,
                        _ => op.created_at == at,
                    });
                }
                _ => {}
            }
        }
    }
    let by_completed = args.get("sortKey").and_then(|v| v.as_str()) == Some("COMPLETED_AT");
    ops.sort_by_key(|op| {
        (
            if by_completed {
                op.completed_at.unwrap_or(i64::MAX)
            } else {
                op.created_at
            },
            op.id,
        )
    });
    let reverse = args
        .get("reverse")
        .and_then(|v| v.as_bool())
        .unwrap_or(false);
    if reverse {
        ops.reverse();
    }
    let page_args = PageArgs {
        first: args.get("first").and_then(|v| v.as_i64()),
        last: args.get("last").and_then(|v| v.as_i64()),
        after: args
            .get("after")
            .and_then(|v| v.as_str())
            .map(str::to_owned),
        before: args
            .get("before")
            .and_then(|v| v.as_str())
            .map(str::to_owned),
        reverse,
    };
    let ids: Vec<u64> = ops.iter().map(|op| op.id).collect();
    let locate = |key: &crate::graphql::connection::CursorKey, after: bool| {
        ids.iter()
            .position(|id| *id == key.id)
            .map_or(ids.len(), |i| if after { i + 1 } else { i })
    };
    let page = paginate(ops.len(), &page_args, &locate).map_err(FieldError::from)?;
    let rows: Vec<(String, BulkObject)> = ops[page.range.clone()]
        .iter()
        .map(|op| {
            (
                encode_cursor(op.id, &op.id.to_string()),
                BulkObject::new(state, op.clone()),
            )
        })
        .collect();
    Ok(ResolvedValue::object(BulkConnection {
        rows,
        has_next: page.has_next_page,
        has_previous: page.has_previous_page,
    }))
}

fn split_comparison(value: &str) -> (&str, &str) {
    for cmp in [">=", "<=", ">", "<"] {
        if let Some(rest) = value.strip_prefix(cmp) {
            return (cmp, rest);
        }
    }
    ("=", value)
}

struct BulkConnection {
    rows: Vec<(String, BulkObject)>,
    has_next: bool,
    has_previous: bool,
}

struct Edge<'c>(&'c str, &'c BulkObject);

struct PageInfo<'c>(&'c BulkConnection);

impl ObjectValue for BulkConnection {
    fn type_name(&self) -> &str {
        "BulkOperationConnection"
    }

    fn resolve_field<'a>(
        &'a self,
        info: &'a ResolveInfo<'a>,
    ) -> Result<ResolvedValue<'a>, FieldError> {
        match info.field_name() {
            "edges" => Ok(ResolvedValue::list(
                self.rows
                    .iter()
                    .map(|(c, o)| ResolvedValue::object(Edge(c, o))),
            )),
            "nodes" => Ok(ResolvedValue::list(
                self.rows.iter().map(|(_, o)| ResolvedValue::object(Ref(o))),
            )),
            "pageInfo" => Ok(ResolvedValue::object(PageInfo(self))),
            other => Err(FieldFailure::new(
                "UNSUPPORTED_BY_SIMULATOR",
                format!("shopify-sim does not simulate `BulkOperationConnection.{other}`"),
            )
            .into()),
        }
    }
}

struct Ref<'o>(&'o BulkObject);

impl ObjectValue for Ref<'_> {
    fn type_name(&self) -> &str {
        "BulkOperation"
    }

    fn resolve_field<'a>(
        &'a self,
        info: &'a ResolveInfo<'a>,
    ) -> Result<ResolvedValue<'a>, FieldError> {
        self.0.resolve_field(info)
    }
}

impl ObjectValue for Edge<'_> {
    fn type_name(&self) -> &str {
        "BulkOperationEdge"
    }

    fn resolve_field<'a>(
        &'a self,
        info: &'a ResolveInfo<'a>,
    ) -> Result<ResolvedValue<'a>, FieldError> {
        match info.field_name() {
            "cursor" => Ok(ResolvedValue::leaf(self.0)),
            _ => Ok(ResolvedValue::object(Ref(self.1))),
        }
    }
}

impl ObjectValue for PageInfo<'_> {
    fn type_name(&self) -> &str {
        "PageInfo"
    }

    fn resolve_field<'a>(
        &'a self,
        info: &'a ResolveInfo<'a>,
    ) -> Result<ResolvedValue<'a>, FieldError> {
        let c = self.0;
        Ok(ResolvedValue::leaf(match info.field_name() {
            "hasNextPage" => JsonValue::from(c.has_next),
            "hasPreviousPage" => JsonValue::from(c.has_previous),
            "startCursor" => c
                .rows
                .first()
                .map_or(JsonValue::Null, |(c, _)| c.clone().into()),
            "endCursor" => c
                .rows
                .last()
                .map_or(JsonValue::Null, |(c, _)| c.clone().into()),
            _ => JsonValue::Null,
        }))
    }
}

// ---------------------------------------------------------------------------------------------
// Download

const GCS_EXPIRED: &str = "<?xml version='1.0' encoding='UTF-8'?><Error><Code>ExpiredToken</Code><Message>The provided token has expired.</Message><Details>Request signature expired at: {at}</Details></Error>";
const GCS_BAD_SIGNATURE: &str = "<?xml version='1.0' encoding='UTF-8'?><Error><Code>SignatureDoesNotMatch</Code><Message>Access denied.</Message><Details>The request signature we calculated does not match the signature you provided.</Details></Error>";
const GCS_NO_KEY: &str = "<?xml version='1.0' encoding='UTF-8'?><Error><Code>NoSuchKey</Code><Message>The specified key does not exist.</Message></Error>";

fn xml(status: StatusCode, body: String) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "application/xml; charset=UTF-8")],
        body,
    )
        .into_response()
}

/// `GET /_bulk/{id}.jsonl?expires=…&signature=…`: the result file, streamed from disk.
pub async fn download(
    State(state): State<Arc<SimState>>,
    Path(file): Path<String>,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    let Some(id) = file
        .strip_suffix(".jsonl")
        .and_then(|n| n.parse::<u64>().ok())
    else {
        return xml(StatusCode::NOT_FOUND, GCS_NO_KEY.to_owned());
    };
    let expires: i64 = query
        .get("expires")
        .and_then(|e| e.parse().ok())
        .unwrap_or(0);
    let signature = query.get("signature").map(String::as_str).unwrap_or("");
    if signature != state.bulk.signature(id, expires) {
        return xml(StatusCode::FORBIDDEN, GCS_BAD_SIGNATURE.to_owned());
    }
    let Some(op) = state
        .bulk
        .get(id)
        .filter(|op| op.status == Status::Completed)
    else {
        return xml(StatusCode::NOT_FOUND, GCS_NO_KEY.to_owned());
    };
    let now = state.clock.now();
    let expires_at = op.url_expires_at.unwrap_or(0).min(expires * 1000);
    if now >= expires_at {
        return xml(
            StatusCode::FORBIDDEN,
            GCS_EXPIRED.replace("{at}", &format_rfc3339(expires_at)),
        );
    }
    let file = match File::open(state.bulk.file(id)) {
        Ok(f) => f,
        Err(_) => return xml(StatusCode::NOT_FOUND, GCS_NO_KEY.to_owned()),
    };
    let cut_after = lock(&state.bulk.inner).cut_next_download_after.take();
    // A reader thread feeds a small bounded channel: the file is never in memory as a whole,
    // and a slow client slows the reader down.
    let (tx, rx) = tokio::sync::mpsc::channel::<std::io::Result<Bytes>>(4);
    let reader_state = state.clone();
    std::thread::spawn(move || {
        use std::io::Read;
        let mut file = file;
        let mut sent = 0u64;
        loop {
            let mut want = 64 * 1024u64;
            if let Some(limit) = cut_after {
                if sent >= limit {
                    // The URL expires while the download is under way; the connection drops.
                    if let Some(op) = lock(&reader_state.bulk.inner).ops.get_mut(&id) {
                        op.url_expires_at = Some(reader_state.clock.now());
                    }
                    let cut = std::io::Error::new(std::io::ErrorKind::ConnectionAborted, "cut");
                    let _ = tx.blocking_send(Err(cut));
                    return;
                }
                want = want.min(limit - sent);
            }
            let mut buf = vec![0u8; want as usize];
            match file.read(&mut buf) {
                Ok(0) => return,
                Ok(n) => {
                    buf.truncate(n);
                    sent += n as u64;
                    if tx.blocking_send(Ok(Bytes::from(buf))).is_err() {
                        return;
                    }
                }
                Err(e) => {
                    let _ = tx.blocking_send(Err(e));
                    return;
                }
            }
        }
    });
    let stream = futures_util::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|chunk| (chunk, rx))
    });
    let mut response = Response::new(Body::from_stream(stream));
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        header::HeaderValue::from_static("application/jsonl"),
    );
    if let Some(size) = op.file_size {
        headers.insert(header::CONTENT_LENGTH, header::HeaderValue::from(size));
    }
    response
}
