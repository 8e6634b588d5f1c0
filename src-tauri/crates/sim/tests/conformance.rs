//! Conformance: replays every recorded Shopify exchange in `fixtures/captures/` that is in scope
//! against the simulator and compares the answers by shape: HTTP status, top-level keys, error
//! codes, userError codes and fields, the JSON type at each path, and the keys of
//! `extensions.cost`. Store-specific ids and values may differ: captured ids are mapped onto the
//! simulated store's ids, and `null` on either side matches anything.
//!
//! Scope rules (also in `fixtures/CONFORMANCE.md`): an exchange is replayed when it recorded its
//! document, the document is valid against 2026-07 and every root field is one the simulator
//! serves, or when Shopify answered with a static validation error (those depend on the document
//! only). Everything else is counted under its reason and printed.

mod common;

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use common::{Sim, small_config, start};
use serde_json::{Value, json};

const SERVED_QUERY_ROOTS: &[&str] = &[
    "shop",
    "locations",
    "location",
    "products",
    "product",
    "productVariants",
    "productVariant",
    "inventoryItems",
    "inventoryItem",
    "inventoryLevel",
    "nodes",
    "node",
    "orders",
    "order",
    "productsCount",
    "productVariantsCount",
    "ordersCount",
    "locationsCount",
    "webhookSubscription",
    "webhookSubscriptions",
    "webhookSubscriptionsCount",
];
const SERVED_MUTATION_ROOTS: &[&str] = &[
    "inventorySetQuantities",
    "inventoryAdjustQuantities",
    "productVariantsBulkUpdate",
    "inventoryActivate",
    "webhookSubscriptionCreate",
    "webhookSubscriptionUpdate",
    "webhookSubscriptionDelete",
    "eventBridgeWebhookSubscriptionCreate",
    "eventBridgeWebhookSubscriptionUpdate",
    "pubSubWebhookSubscriptionCreate",
    "pubSubWebhookSubscriptionUpdate",
];

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/captures")
}

fn json_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            if path.file_name().is_some_and(|n| n != "_documents") {
                json_files(&path, out);
            }
        } else if path.extension().is_some_and(|e| e == "json") {
            out.push(path);
        }
    }
}

struct Exchange {
    label: String,
    document: Option<String>,
    variables: Value,
    operation_name: Option<String>,
    status: u16,
    body: Value,
}

fn exchanges(value: &Value, label: &str, out: &mut Vec<Exchange>) {
    match value {
        Value::Object(map) => {
            if let Some(Value::Object(response)) = map.get("response") {
                let request = map.get("request").cloned().unwrap_or(Value::Null);
                let pick = |key: &str| map.get(key).or_else(|| request.get(key)).cloned();
                let document = pick("query")
                    .or_else(|| pick("document"))
                    .and_then(|d| d.as_str().map(str::to_owned))
                    .or_else(|| {
                        let path = pick("documentPath")?;
                        std::fs::read_to_string(fixtures().join("_documents").join(path.as_str()?))
                            .ok()
                    });
                let status = response
                    .get("status")
                    .or_else(|| map.get("status"))
                    .and_then(Value::as_u64)
                    .unwrap_or(200) as u16;
                let body = response
                    .get("payload")
                    .or_else(|| response.get("body"))
                    .cloned()
                    .unwrap_or_else(|| Value::Object(response.clone()));
                out.push(Exchange {
                    label: label.to_owned(),
                    document,
                    variables: pick("variables").unwrap_or(json!({})),
                    operation_name: pick("operationName")
                        .and_then(|v| v.as_str().map(str::to_owned)),
                    status,
                    body,
                });
            }
            for (key, v) in map {
                if key != "upstreamCalls" && key != "response" {
                    exchanges(v, &format!("{label}.{key}"), out);
                }
            }
        }
        Value::Array(items) => {
            for (i, v) in items.iter().enumerate() {
                exchanges(v, &format!("{label}[{i}]"), out);
            }
        }
        _ => {}
    }
}

/// JSON kept in document order (serde_json's map sorts keys), to replay a file's exchanges in
/// the order they were recorded: setup, then the cases, then cleanup.
enum Ordered {
    Object(Vec<(String, Ordered)>),
    Array(Vec<Ordered>),
    Leaf,
}

impl<'de> serde::Deserialize<'de> for Ordered {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = Ordered;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("JSON")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut m: A,
            ) -> Result<Ordered, A::Error> {
                let mut entries = Vec::new();
                while let Some((k, v)) = m.next_entry::<String, Ordered>()? {
                    entries.push((k, v));
                }
                Ok(Ordered::Object(entries))
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(
                self,
                mut s: A,
            ) -> Result<Ordered, A::Error> {
                let mut items = Vec::new();
                while let Some(v) = s.next_element::<Ordered>()? {
                    items.push(v);
                }
                Ok(Ordered::Array(items))
            }
            fn visit_bool<E>(self, _: bool) -> Result<Ordered, E> {
                Ok(Ordered::Leaf)
            }
            fn visit_i64<E>(self, _: i64) -> Result<Ordered, E> {
                Ok(Ordered::Leaf)
            }
            fn visit_u64<E>(self, _: u64) -> Result<Ordered, E> {
                Ok(Ordered::Leaf)
            }
            fn visit_f64<E>(self, _: f64) -> Result<Ordered, E> {
                Ok(Ordered::Leaf)
            }
            fn visit_str<E>(self, _: &str) -> Result<Ordered, E> {
                Ok(Ordered::Leaf)
            }
            fn visit_unit<E>(self) -> Result<Ordered, E> {
                Ok(Ordered::Leaf)
            }
        }
        d.deserialize_any(V)
    }
}

/// Labels (as [`exchanges`] builds them) in document order.
fn label_order(value: &Ordered, label: &str, out: &mut HashMap<String, usize>) {
    let n = out.len();
    out.entry(label.to_owned()).or_insert(n);
    match value {
        Ordered::Object(entries) => {
            for (key, v) in entries {
                label_order(v, &format!("{label}.{key}"), out);
            }
        }
        Ordered::Array(items) => {
            for (i, v) in items.iter().enumerate() {
                label_order(v, &format!("{label}[{i}]"), out);
            }
        }
        Ordered::Leaf => {}
    }
}

/// Some files group their cases apart from the lifecycle that created the subscription they
/// use: an exchange naming a `WebhookSubscription` that only a later exchange's answer shows is
/// replayed right after that exchange.
fn after_their_subscriptions(list: Vec<Exchange>) -> Vec<Exchange> {
    let subscription_ids = |v: &Value| -> Vec<String> {
        let text = v.to_string();
        text.match_indices("gid://shopify/WebhookSubscription/")
            .map(|(i, p)| {
                text[i..]
                    .chars()
                    .take(p.len() + 20)
                    .take_while(|c| *c != '"')
                    .collect()
            })
            .collect()
    };
    let answers: Vec<String> = list.iter().map(|e| e.body.to_string()).collect();
    let mut waiting: Vec<(usize, Exchange)> = Vec::new();
    let mut out = Vec::new();
    for (i, exchange) in list.into_iter().enumerate() {
        let wanted = subscription_ids(&exchange.variables);
        let creator = wanted.iter().find_map(|id| {
            let seen_before = answers[..i].iter().any(|a| a.contains(id.as_str()));
            (!seen_before)
                .then(|| {
                    answers[i + 1..]
                        .iter()
                        .position(|a| a.contains(id.as_str()))
                })
                .flatten()
                .map(|k| i + 1 + k)
        });
        match creator {
            Some(k) => waiting.push((k, exchange)),
            None => {
                out.push(exchange);
                let (now, later): (Vec<_>, Vec<_>) =
                    waiting.into_iter().partition(|(k, _)| *k == i);
                waiting = later;
                out.extend(now.into_iter().map(|(_, e)| e));
            }
        }
    }
    out.extend(waiting.into_iter().map(|(_, e)| e));
    out
}

fn codes(body: &Value) -> Vec<String> {
    let mut codes: Vec<String> = body["errors"]
        .as_array()
        .map(|errors| {
            errors
                .iter()
                .map(|e| e["extensions"]["code"].as_str().unwrap_or("").to_owned())
                .collect()
        })
        .unwrap_or_default();
    codes.sort();
    codes
}

/// Root fields of the operation that would run.
fn root_fields(document: &str, operation_name: Option<&str>) -> Option<(bool, Vec<String>)> {
    let doc = shopify_schema::validate(document).ok()?;
    let op = doc.operations.get(operation_name).ok()?;
    let mutation =
        op.operation_type == shopify_schema::apollo_compiler::executable::OperationType::Mutation;
    let mut names = Vec::new();
    collect_roots(&doc, &op.selection_set.selections, &mut names);
    Some((mutation, names))
}

fn collect_roots(
    doc: &shopify_schema::apollo_compiler::ExecutableDocument,
    selections: &[shopify_schema::apollo_compiler::executable::Selection],
    out: &mut Vec<String>,
) {
    use shopify_schema::apollo_compiler::executable::Selection;
    for s in selections {
        match s {
            Selection::Field(f) => {
                if f.name != "__typename" {
                    out.push(f.name.to_string());
                }
            }
            Selection::InlineFragment(i) => collect_roots(doc, &i.selection_set.selections, out),
            Selection::FragmentSpread(sp) => {
                if let Some(fragment) = doc.fragments.get(&sp.fragment_name) {
                    collect_roots(doc, &fragment.selection_set.selections, out);
                }
            }
        }
    }
}

/// Maps captured global ids of real records onto ids of the simulated store, consistently within
/// one file.
struct IdMap {
    /// Ids that appear in some recorded response of the file: real records. Other ids are real
    /// too unless they look made up (`InventoryItem/42`, `Location/515151515151`): those are
    /// deliberately unknown and stay as they are.
    real: std::collections::HashSet<u64>,
    pools: HashMap<String, Vec<u64>>,
    assigned: HashMap<(String, u64), u64>,
    next: HashMap<String, usize>,
}

impl IdMap {
    fn map(&mut self, kind: &str, id: u64) -> u64 {
        if let Some(mapped) = self.assigned.get(&(kind.to_owned(), id)) {
            return *mapped;
        }
        if !self.real.contains(&id) && made_up(id) {
            return id;
        }
        let Some(pool) = self.pools.get(kind).filter(|p| !p.is_empty()) else {
            return id;
        };
        let key = (kind.to_owned(), id);
        if let Some(mapped) = self.assigned.get(&key) {
            return *mapped;
        }
        let n = self.next.entry(kind.to_owned()).or_insert(0);
        let mapped = pool[*n % pool.len()];
        *n += 1;
        self.assigned.insert(key, mapped);
        mapped
    }

    fn rewrite(&mut self, text: &str) -> String {
        const PREFIX: &str = "gid://shopify/";
        let mut out = String::with_capacity(text.len());
        let mut rest = text;
        while let Some(i) = rest.find(PREFIX) {
            out.push_str(&rest[..i + PREFIX.len()]);
            rest = &rest[i + PREFIX.len()..];
            let kind: String = rest
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric())
                .collect();
            rest = &rest[kind.len()..];
            out.push_str(&kind);
            let Some(tail) = rest.strip_prefix('/') else {
                continue;
            };
            let digits: String = tail.chars().take_while(char::is_ascii_digit).collect();
            let Ok(id) = digits.parse::<u64>() else {
                continue;
            };
            rest = &tail[digits.len()..];
            let first_kind = if kind == "InventoryLevel" {
                "Location"
            } else {
                kind.as_str()
            };
            out.push_str(&format!("/{}", self.map(first_kind, id)));
            if kind == "InventoryLevel"
                && let Some(q) = rest.strip_prefix("?inventory_item_id=")
            {
                let digits: String = q.chars().take_while(char::is_ascii_digit).collect();
                if let Ok(item) = digits.parse::<u64>() {
                    out.push_str(&format!(
                        "?inventory_item_id={}",
                        self.map("InventoryItem", item)
                    ));
                    rest = &q[digits.len()..];
                }
            }
        }
        out.push_str(rest);
        out
    }
}

async fn pools(s: &Sim) -> HashMap<String, Vec<u64>> {
    // Orders exist only after activity: place two.
    for variant in 0..2 {
        let state: Value = s
            .http
            .get(format!("{}/_sim/state", s.sim.info.base_url))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let v = &state["variants"][variant * 3];
        let _ = s
            .http
            .post(format!("{}/_sim/orders", s.sim.info.base_url))
            .json(&json!({ "lines": [{ "variant_id": v["id"], "quantity": 1 }] }))
            .send()
            .await
            .unwrap();
    }
    let r = s
        .gql(
            "query { products(first: 20) { nodes { id } } productVariants(first: 20) { nodes { id } } inventoryItems(first: 20) { nodes { id } } locations(first: 5) { nodes { id } } orders(first: 5) { nodes { id lineItems(first: 5) { nodes { id } } } } shop { id } }",
            json!({}),
        )
        .await;
    let ids = |v: &Value| -> Vec<u64> {
        v.as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|n| n["id"].as_str()?.rsplit('/').next()?.parse().ok())
                    .collect()
            })
            .unwrap_or_default()
    };
    let data = &r.body["data"];
    let mut pools = HashMap::new();
    pools.insert("Product".to_owned(), ids(&data["products"]["nodes"]));
    pools.insert(
        "ProductVariant".to_owned(),
        ids(&data["productVariants"]["nodes"]),
    );
    pools.insert(
        "InventoryItem".to_owned(),
        ids(&data["inventoryItems"]["nodes"]),
    );
    pools.insert("Location".to_owned(), ids(&data["locations"]["nodes"]));
    pools.insert("Order".to_owned(), ids(&data["orders"]["nodes"]));
    let lines: Vec<u64> = data["orders"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|o| ids(&o["lineItems"]["nodes"]))
        .collect();
    pools.insert("LineItem".to_owned(), lines);
    pools.insert("Shop".to_owned(), ids(&json!([data["shop"]])));
    pools
}

/// Small numbers and repeated digit patterns are ids a test wrote by hand to be unknown.
fn made_up(id: u64) -> bool {
    let digits = id.to_string();
    let n = digits.len();
    id <= 1_000_000 || (1..n).any(|k| n.is_multiple_of(k) && digits == digits[..k].repeat(n / k))
}

/// Numeric parts of every global id inside recorded responses (`response` objects anywhere,
/// `upstreamCalls` included).
fn response_ids(value: &Value, inside_response: bool, out: &mut std::collections::HashSet<u64>) {
    match value {
        Value::Object(map) => {
            for (key, v) in map {
                response_ids(v, inside_response || key == "response", out);
            }
        }
        Value::Array(items) => items
            .iter()
            .for_each(|v| response_ids(v, inside_response, out)),
        Value::String(text) if inside_response => {
            let mut rest = text.as_str();
            while let Some(i) = rest.find("gid://shopify/") {
                rest = &rest[i + "gid://shopify/".len()..];
                for part in rest
                    .split(|c: char| !c.is_ascii_digit())
                    .filter(|p| !p.is_empty())
                    .take(2)
                {
                    if let Ok(n) = part.parse() {
                        out.insert(n);
                    }
                }
            }
        }
        _ => {}
    }
}

/// API version of each capture file, from the index table in the captures README.
fn versions() -> HashMap<String, String> {
    let readme = std::fs::read_to_string(fixtures().join("README.md")).unwrap();
    readme
        .lines()
        .filter_map(|line| {
            let mut cells = line.split('|').map(str::trim).skip(1);
            let file = cells.next()?.trim_matches('`');
            let version = cells.next()?;
            (file.ends_with(".json") && version.len() == 7)
                .then(|| (file.to_owned(), version.to_owned()))
        })
        .collect()
}

/// Rewrites each non-null `changeFromQuantity` to the simulated store's current value: the
/// recorded numbers describe the recorded store, not this one.
async fn current_change_from(s: &Sim, variables: &mut Value) {
    let Some(input) = variables.get_mut("input") else {
        return;
    };
    let name = input["name"].as_str().unwrap_or("available").to_owned();
    let rows_key = if input.get("quantities").is_some() {
        "quantities"
    } else {
        "changes"
    };
    let Some(rows) = input.get_mut(rows_key).and_then(Value::as_array_mut) else {
        return;
    };
    for row in rows {
        if !row.get("changeFromQuantity").is_some_and(Value::is_number) {
            continue;
        }
        let r = s
            .gql(
                "query Q($item: ID!, $loc: ID!, $names: [String!]!) { inventoryItem(id: $item) { inventoryLevel(locationId: $loc) { quantities(names: $names) { quantity } } } }",
                json!({ "item": row["inventoryItemId"], "loc": row["locationId"], "names": [name] }),
            )
            .await;
        if let Some(q) =
            r.body["data"]["inventoryItem"]["inventoryLevel"]["quantities"][0]["quantity"].as_i64()
        {
            row["changeFromQuantity"] = json!(q);
        }
    }
}

/// Records which simulated record a captured record created in this exchange became: where the
/// captured and the simulated answer both hold a global id of the same type at the same path
/// (`webhookSubscriptionCreate` → its `id`), later exchanges of the file use the simulated id.
fn learn_created_ids(expected: &Value, actual: &Value, ids: &mut IdMap) {
    match (expected, actual) {
        (Value::Object(e), Value::Object(a)) => {
            for (key, ev) in e {
                if let Some(av) = a.get(key) {
                    learn_created_ids(ev, av, ids);
                }
            }
        }
        (Value::Array(e), Value::Array(a)) => {
            for (ev, av) in e.iter().zip(a) {
                learn_created_ids(ev, av, ids);
            }
        }
        (Value::String(e), Value::String(a)) => {
            let parse = |s: &str| -> Option<(String, u64)> {
                let (kind, id) = s.strip_prefix("gid://shopify/")?.split_once('/')?;
                Some((kind.to_owned(), id.parse().ok()?))
            };
            if let (Some((ek, eid)), Some((ak, aid))) = (parse(e), parse(a))
                && ek == ak
                && ek == "WebhookSubscription"
            {
                ids.assigned.entry((ek, eid)).or_insert(aid);
            }
        }
        _ => {}
    }
}

/// Every `userErrors` list in a response, with field and message, in document order.
fn user_error_lists(v: &Value, out: &mut Vec<Value>) {
    match v {
        Value::Object(map) => {
            for (key, value) in map {
                if key == "userErrors" {
                    out.push(value.clone());
                } else {
                    user_error_lists(value, out);
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|i| user_error_lists(i, out)),
        _ => {}
    }
}

fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

fn user_errors(v: &Value) -> Vec<(Value, Value)> {
    v.as_array()
        .map(|a| {
            a.iter()
                .map(|e| (e["code"].clone(), e["field"].clone()))
                .collect()
        })
        .unwrap_or_default()
}

/// Compares `actual` with `expected` by shape; pushes a description of every difference.
fn compare(expected: &Value, actual: &Value, path: &str, diffs: &mut Vec<String>) {
    match (expected, actual) {
        (Value::Null, _) | (_, Value::Null) => {}
        (Value::Object(e), Value::Object(a)) => {
            for (key, ev) in e {
                let here = format!("{path}.{key}");
                match a.get(key) {
                    None => diffs.push(format!("{here}: missing")),
                    Some(av) if key == "userErrors" || key.ends_with("UserErrors") => {
                        if user_errors(ev) != user_errors(av) {
                            diffs.push(format!(
                                "{here}: userErrors {:?} != {:?}",
                                user_errors(ev),
                                user_errors(av)
                            ));
                        }
                    }
                    Some(av) => compare(ev, av, &here, diffs),
                }
            }
            for key in a.keys() {
                if !e.contains_key(key) {
                    diffs.push(format!("{path}.{key}: unexpected"));
                }
            }
        }
        (Value::Array(e), Value::Array(a)) => {
            if let (Some(ef), Some(af)) = (e.first(), a.first()) {
                compare(ef, af, &format!("{path}[0]"), diffs);
            }
        }
        (e, a) if type_name(e) != type_name(a) => {
            diffs.push(format!("{path}: {} != {}", type_name(e), type_name(a)))
        }
        _ => {}
    }
}

/// Sorts the value list in "Expected \"X\" to be one of: A, B, C" so order does not matter.
fn normalize(message: &str) -> String {
    match message.split_once("to be one of: ") {
        Some((head, tail)) => {
            let (list, rest) = tail.split_once(')').unwrap_or((tail, ""));
            let mut values: Vec<&str> = list.split(", ").collect();
            values.sort_unstable();
            format!("{head}to be one of: {}){rest}", values.join(", "))
        }
        None => message.to_owned(),
    }
}

fn top_keys(v: &Value) -> Vec<String> {
    v.as_object()
        .map(|m| m.keys().cloned().collect())
        .unwrap_or_default()
}

fn cost_keys(v: &Value) -> Option<Vec<String>> {
    let cost = v.get("extensions")?.get("cost")?;
    let mut keys = top_keys(cost);
    keys.extend(
        top_keys(&cost["throttleStatus"])
            .into_iter()
            .map(|k| format!("throttleStatus.{k}")),
    );
    keys.sort();
    Some(keys)
}

#[tokio::test]
async fn captured_exchanges_replay_with_the_same_shape() {
    let mut files = Vec::new();
    json_files(&fixtures(), &mut files);
    assert!(files.len() > 100, "fixtures missing: {}", files.len());

    let versions = versions();
    let mut out_of_scope: BTreeMap<String, usize> = BTreeMap::new();
    let mut replayed = 0;
    let mut failures = Vec::new();
    for file in &files {
        let name = file.strip_prefix(fixtures()).unwrap().display().to_string();
        let version = versions.get(&name).cloned().unwrap_or_default();
        let value: Value = serde_json::from_str(&std::fs::read_to_string(file).unwrap()).unwrap();
        let mut list = Vec::new();
        exchanges(&value, &name, &mut list);
        let ordered: Ordered =
            serde_json::from_str(&std::fs::read_to_string(file).unwrap()).unwrap();
        let mut order = HashMap::new();
        label_order(&ordered, &name, &mut order);
        // Cleanup steps ran last even where a file records them inside its setup.
        let cleanup = |label: &str| {
            label
                .split(['.', '['])
                .skip(1)
                .any(|segment| segment.to_ascii_lowercase().starts_with("cleanup"))
        };
        list.sort_by_key(|e| {
            (
                cleanup(&e.label),
                order.get(&e.label).copied().unwrap_or(usize::MAX),
            )
        });
        let list = after_their_subscriptions(list);
        let mut sim: Option<(Sim, IdMap)> = None;
        let mut deletes_seen = std::collections::HashSet::new();
        for exchange in list {
            let Some(document) = exchange.document.as_deref() else {
                *out_of_scope
                    .entry("no document recorded".into())
                    .or_default() += 1;
                continue;
            };
            if exchange.status != 200 {
                *out_of_scope.entry("non-200 capture".into()).or_default() += 1;
                continue;
            }
            let captured_codes = codes(&exchange.body);
            let static_error = exchange.body.get("data").is_none()
                && exchange.body.get("extensions").is_none()
                && !captured_codes.is_empty();
            let in_scope = match root_fields(document, exchange.operation_name.as_deref()) {
                _ if static_error => true,
                None => {
                    *out_of_scope
                        .entry(
                            "document invalid against 2026-07 (recorded on an older version)"
                                .into(),
                        )
                        .or_default() += 1;
                    false
                }
                Some((mutation, roots)) => {
                    let served = if mutation {
                        SERVED_MUTATION_ROOTS
                    } else {
                        SERVED_QUERY_ROOTS
                    };
                    match roots.iter().find(|r| !served.contains(&r.as_str())) {
                        Some(root) => {
                            *out_of_scope
                                .entry(format!("root field not simulated: {root}"))
                                .or_default() += 1;
                            false
                        }
                        // The 2026-04 inventory rules (`changeFromQuantity`, `@idempotent`) do not
                        // apply to a 2025-01 recording.
                        None if mutation && version == "2025-01" => {
                            *out_of_scope
                                .entry("2025-01 recording of an inventory mutation (rules changed in 2026-04)".into())
                                .or_default() += 1;
                            false
                        }
                        None if captured_codes.iter().any(|c| c == "ACCESS_DENIED") => {
                            *out_of_scope
                                .entry("access scopes not simulated".into())
                                .or_default() += 1;
                            false
                        }
                        None => true,
                    }
                }
            };
            if !in_scope {
                continue;
            }
            if sim.is_none() {
                let s = start(small_config()).await;
                let pools = pools(&s).await;
                let mut real = std::collections::HashSet::new();
                response_ids(&value, false, &mut real);
                sim = Some((
                    s,
                    IdMap {
                        real,
                        pools,
                        assigned: HashMap::new(),
                        next: HashMap::new(),
                    },
                ));
            }
            let Some((s, ids)) = sim.as_mut() else {
                continue;
            };
            // One capture keeps the same subscription delete twice (its lifecycle step and its
            // cleanup, one recorded answer): a second delete of one id cannot succeed twice.
            if document.contains("webhookSubscriptionDelete")
                && !deletes_seen.insert(format!("{}{}", exchange.variables, exchange.body))
            {
                *out_of_scope
                    .entry("the same delete recorded twice".into())
                    .or_default() += 1;
                continue;
            }
            let document = ids.rewrite(document);
            let mut variables_text = exchange.variables.to_string();
            // EventBridge ARNs name the recording app's API client id; use the simulated app's.
            if let Some(recorded) = value["requestingApiClientId"].as_str() {
                variables_text = variables_text.replace(
                    &format!("shopify.com/{recorded}/"),
                    &format!("shopify.com/{}/", s.sim.state.webhooks.api_client_id),
                );
            }
            let mut variables: Value = serde_json::from_str(&ids.rewrite(&variables_text)).unwrap();
            current_change_from(s, &mut variables).await;
            let mut body = json!({ "query": document, "variables": variables });
            if let Some(name) = &exchange.operation_name {
                body["operationName"] = json!(name);
            }
            let response = s
                .http
                .post(s.graphql_url())
                .header("X-Shopify-Access-Token", s.admin_token())
                .json(&body)
                .send()
                .await
                .unwrap();
            let status = response.status().as_u16();
            let actual: Value = response.json().await.unwrap_or(Value::Null);
            replayed += 1;

            // A valid field the simulator does not serve answers UNSUPPORTED_BY_SIMULATOR: that
            // exchange is out of scope, listed under the field, not a shape failure.
            let unsupported: Vec<String> = actual["errors"]
                .as_array()
                .map(|errors| {
                    errors
                        .iter()
                        .filter(|e| e["extensions"]["code"] == "UNSUPPORTED_BY_SIMULATOR")
                        .filter_map(|e| e["message"].as_str()?.split('`').nth(1).map(str::to_owned))
                        .collect()
                })
                .unwrap_or_default();
            if !unsupported.is_empty()
                && !captured_codes
                    .iter()
                    .any(|c| c == "UNSUPPORTED_BY_SIMULATOR")
            {
                replayed -= 1;
                let mut fields = unsupported;
                fields.sort();
                fields.dedup();
                *out_of_scope
                    .entry(format!("field not simulated: {}", fields.join(", ")))
                    .or_default() += 1;
                continue;
            }
            let mut diffs = Vec::new();
            if status != exchange.status {
                diffs.push(format!("status {} != {status}", exchange.status));
            }
            let (mut ek, mut ak) = (top_keys(&exchange.body), top_keys(&actual));
            // A few recordings kept `data` but dropped `extensions`: not compared then.
            if exchange.body.get("data").is_some() && exchange.body.get("extensions").is_none() {
                ak.retain(|k| k != "extensions");
            }
            ek.sort();
            ak.sort();
            if ek != ak {
                diffs.push(format!("top-level keys {ek:?} != {ak:?}"));
            }
            if captured_codes != codes(&actual) {
                diffs.push(format!(
                    "error codes {captured_codes:?} != {:?}",
                    codes(&actual)
                ));
            }
            if let (Some(e), Some(a)) = (cost_keys(&exchange.body), cost_keys(&actual))
                && e != a
            {
                diffs.push(format!("cost keys {e:?} != {a:?}"));
            }
            compare(&exchange.body["data"], &actual["data"], "data", &mut diffs);
            // Error messages must match too for 2026-04 recordings (the newest; 2025-01 ones
            // list enum values that changed since). Lists after "one of:" compare as sets.
            let messages = |b: &Value| -> Vec<String> {
                let mut m: Vec<String> = b["errors"]
                    .as_array()
                    .map(|a| {
                        a.iter()
                            .map(|e| normalize(e["message"].as_str().unwrap_or("")))
                            .collect()
                    })
                    .unwrap_or_default();
                m.sort();
                m
            };
            if (version == "2026-04" || std::env::var("SIM_COMPARE_MESSAGES").is_ok())
                && messages(&exchange.body) != messages(&actual)
            {
                diffs.push(format!(
                    "messages {:?} != {:?}",
                    messages(&exchange.body),
                    messages(&actual)
                ));
            }
            // Webhook subscription userErrors are compared with their messages.
            if name.starts_with("webhooks/") {
                let (mut e, mut a) = (Vec::new(), Vec::new());
                user_error_lists(&exchange.body, &mut e);
                user_error_lists(&actual, &mut a);
                // Messages name the app's API client id: the recording app's there, ours here.
                let e = match value["requestingApiClientId"].as_str() {
                    Some(recorded) => serde_json::to_string(&e).unwrap().replace(
                        &format!("'{recorded}'"),
                        &format!("'{}'", s.sim.state.webhooks.api_client_id),
                    ),
                    None => serde_json::to_string(&e).unwrap(),
                };
                let a = serde_json::to_string(&a).unwrap();
                if e != a {
                    diffs.push(format!("userErrors {e:?} != {a:?}"));
                }
            }
            learn_created_ids(&exchange.body, &actual, ids);
            // Keys the answer has and the recording lacks can only be fields its document
            // selects and the recorded one did not: the document changed after recording.
            if !diffs.is_empty() && diffs.iter().all(|d| d.ends_with(": unexpected")) {
                replayed -= 1;
                *out_of_scope
                    .entry("recorded with an older version of its document (fewer fields)".into())
                    .or_default() += 1;
                continue;
            }
            if !diffs.is_empty() {
                failures.push(format!(
                    "{}:\n    {}\n    got: {actual}",
                    exchange.label,
                    diffs.join("\n    ")
                ));
            }
        }
        if let Some((s, _)) = sim.take() {
            s.sim.stop().await;
        }
    }
    eprintln!("replayed {replayed} exchanges; out of scope:");
    for (reason, n) in &out_of_scope {
        eprintln!("  {n:4}  {reason}");
    }
    assert!(replayed >= 30, "too few exchanges in scope: {replayed}");
    assert!(
        failures.is_empty(),
        "{} of {replayed} replayed exchanges differ:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
