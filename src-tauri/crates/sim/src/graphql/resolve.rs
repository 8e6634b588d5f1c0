//! Resolvers: one `match` per GraphQL type over the fields the simulator serves.
//!
//! apollo-compiler's executor walks the validated selection set (fragments, aliases,
//! `@include`/`@skip`, null propagation) and calls [`ObjectValue::resolve_field`] here. A field
//! that is valid in the schema but not simulated answers with an `UNSUPPORTED_BY_SIMULATOR` error
//! naming `Type.field`, never a silent `null`, so a gap in the simulator is loud.

use apollo_compiler::resolvers::{FieldError, ObjectValue, ResolveInfo, ResolvedValue};
use apollo_compiler::response::JsonValue;

use super::connection::{CursorKey, PageArgs, encode_cursor, paginate};
use super::mutations::{Change, Group, Outcome, Outcomes, UserError};
use super::search::{self, FieldValue, Searchable};
use super::{FieldFailure, RequestScratch};
use crate::clock::format_rfc3339;
use crate::cost::field_key;
use crate::store::{
    InventoryItem, InventoryLevel, LineItem, Location, Order, Product, QUANTITY_NAMES, Store,
    Variant, money, quantity_index,
};

type Resolved<'a> = Result<ResolvedValue<'a>, FieldError>;

#[derive(Clone, Copy)]
pub struct Ctx<'s> {
    pub store: &'s Store,
    pub scratch: &'s RequestScratch,
    pub outcomes: &'s Outcomes,
    /// Simulated time of the request.
    pub now: crate::clock::UnixMillis,
    pub state: &'s crate::server::SimState,
}

/// The scope a root field needs (FACTS §2; `write_` implies `read_`).
fn required_scope(field: &str) -> Option<&'static str> {
    Some(match field {
        "products"
        | "product"
        | "productVariants"
        | "productVariant"
        | "productsCount"
        | "productVariantsCount" => "read_products",
        "inventoryItems" | "inventoryItem" | "inventoryLevel" => "read_inventory",
        "locations" | "location" | "locationsCount" => "read_locations",
        "orders" | "order" | "ordersCount" => "read_orders",
        "inventorySetQuantities" | "inventoryAdjustQuantities" | "inventoryActivate" => {
            "write_inventory"
        }
        "productVariantsBulkUpdate" => "write_products",
        _ => return None,
    })
}

/// Scope check for a root field: `Err` is Shopify's `ACCESS_DENIED` (the field becomes `null`).
pub fn check_scope(state: &crate::server::SimState, field: &str) -> Result<(), FieldFailure> {
    match required_scope(field) {
        Some(scope) if !state.has_scope(scope) => Err(FieldFailure::access_denied(field, scope)),
        _ => Ok(()),
    }
}

/// Orders processed more than 60 days ago are invisible to an app without `read_all_orders`
/// (FACTS §6 [C doc]); the simulated app does not have that scope.
const ORDER_WINDOW_MS: i64 = 60 * 86_400_000;

impl Ctx<'_> {
    fn order_visible(&self, order: &Order) -> bool {
        order.processed_at >= self.now - ORDER_WINDOW_MS
    }
}

pub fn gid(kind: &str, id: u64) -> String {
    format!("gid://shopify/{kind}/{id}")
}

pub fn level_gid(location_id: u64, item_id: u64) -> String {
    format!("gid://shopify/InventoryLevel/{location_id}?inventory_item_id={item_id}")
}

/// `gid://shopify/<Type>/<id>[?inventory_item_id=<n>]` → (type, id, inventory_item_id).
pub fn parse_gid(text: &str) -> Option<(&str, u64, Option<u64>)> {
    let rest = text.strip_prefix("gid://shopify/")?;
    let (kind, rest) = rest.split_once('/')?;
    let (id, query) = match rest.split_once('?') {
        Some((id, query)) => (id, Some(query)),
        None => (rest, None),
    };
    let item = query.and_then(|q| {
        q.split('&')
            .find_map(|kv| kv.strip_prefix("inventory_item_id="))
            .and_then(|v| v.parse().ok())
    });
    Some((kind, id.parse().ok()?, item))
}

fn unsupported(type_name: &str, info: &ResolveInfo<'_>) -> FieldError {
    FieldFailure::new(
        "UNSUPPORTED_BY_SIMULATOR",
        format!(
            "shopify-sim does not simulate the field `{type_name}.{}` (it is valid in Admin API 2026-07)",
            info.field_name()
        ),
    )
    .into()
}

fn leaf<'a>(v: impl Into<JsonValue>) -> Resolved<'a> {
    Ok(ResolvedValue::leaf(v))
}

fn time<'a>(t: i64) -> Resolved<'a> {
    leaf(format_rfc3339(t))
}

fn arg_str<'i>(info: &'i ResolveInfo<'_>, name: &str) -> Option<&'i str> {
    info.arguments().get(name).and_then(|v| v.as_str())
}

fn arg_i64(info: &ResolveInfo<'_>, name: &str) -> Option<i64> {
    info.arguments().get(name).and_then(|v| v.as_i64())
}

fn arg_bool(info: &ResolveInfo<'_>, name: &str) -> bool {
    info.arguments()
        .get(name)
        .and_then(|v| v.as_bool())
        .unwrap_or(false)
}

fn object<'a>(o: Obj<'a>) -> Resolved<'a> {
    Ok(ResolvedValue::object(o))
}

fn object_any<'a>(o: impl ObjectValue + 'a) -> Resolved<'a> {
    Ok(ResolvedValue::object(o))
}

fn object_list_of_one(item: Obj<'_>) -> Resolved<'_> {
    list(vec![item])
}

fn list<'a>(items: Vec<Obj<'a>>) -> Resolved<'a> {
    Ok(ResolvedValue::list(
        items.into_iter().map(ResolvedValue::object),
    ))
}

/// The root of an operation.
pub struct Root<'s> {
    pub ctx: Ctx<'s>,
    pub mutation: bool,
}

impl ObjectValue for Root<'_> {
    fn type_name(&self) -> &str {
        if self.mutation {
            "Mutation"
        } else {
            "QueryRoot"
        }
    }

    fn resolve_field<'a>(&'a self, info: &'a ResolveInfo<'a>) -> Resolved<'a> {
        let ctx = self.ctx;
        check_scope(ctx.state, info.field_name()).map_err(FieldError::from)?;
        if self.mutation {
            return match ctx.outcomes.get(info) {
                Some(outcome) => outcome.root(ctx),
                None => Err(unsupported("Mutation", info)),
            };
        }
        let store = ctx.store;
        match info.field_name() {
            "shop" => object(Obj::Shop(ctx)),
            "locations" => locations(ctx, info, store.locations.values().collect()),
            "location" => {
                let location = match arg_str(info, "id") {
                    Some(id) => lookup_location(store, id),
                    // No id: the shop's primary location.
                    None => store.locations.values().next(),
                };
                Ok(ResolvedValue::nullable_object(
                    location.map(|l| Obj::Location(ctx, l)),
                ))
            }
            "products" => products(ctx, info, store.products.values().collect()),
            "product" => Ok(ResolvedValue::nullable_object(node_by_id(
                ctx,
                arg_str(info, "id").unwrap_or_default(),
                "Product",
            ))),
            "productVariants" => variants(ctx, info, store.variants.values().collect(), "ID"),
            "productVariant" => Ok(ResolvedValue::nullable_object(node_by_id(
                ctx,
                arg_str(info, "id").unwrap_or_default(),
                "ProductVariant",
            ))),
            "inventoryItems" => inventory_items(ctx, info),
            "inventoryItem" => Ok(ResolvedValue::nullable_object(node_by_id(
                ctx,
                arg_str(info, "id").unwrap_or_default(),
                "InventoryItem",
            ))),
            "inventoryLevel" => Ok(ResolvedValue::nullable_object(node_by_id(
                ctx,
                arg_str(info, "id").unwrap_or_default(),
                "InventoryLevel",
            ))),
            "node" => {
                let id = arg_str(info, "id").unwrap_or_default();
                if let Some(bulk) = crate::bulk::node(ctx.state, id) {
                    return object_any(bulk);
                }
                Ok(ResolvedValue::nullable_object(node_by_id(ctx, id, "")))
            }
            "bulkOperation" | "bulkOperations" | "currentBulkOperation" => {
                crate::bulk::resolve_root(ctx.state, info)
            }
            "nodes" => {
                let ids: Vec<String> = info
                    .arguments()
                    .get("ids")
                    .and_then(|v| v.as_array())
                    .map(|a| {
                        a.iter()
                            .filter_map(|v| v.as_str().map(str::to_owned))
                            .collect()
                    })
                    .unwrap_or_default();
                let nodes: Vec<Option<Obj<'a>>> =
                    ids.iter().map(|id| node_by_id(ctx, id, "")).collect();
                Ok(ResolvedValue::list(
                    nodes.into_iter().map(ResolvedValue::nullable_object),
                ))
            }
            "productsCount" => {
                let matching = searched(ctx, info, store.products.values().collect(), |p| {
                    ProductSearch(store, p)
                });
                count(info, matching.len())
            }
            "productVariantsCount" => {
                // Shopify's count ignores `updated_at` (exact total plus an `invalid_field`
                // warning) while `productVariants` filters on it (FACTS §6).
                let matching = searched(ctx, info, store.variants.values().collect(), |v| {
                    CountedVariantSearch(v)
                });
                count(info, matching.len())
            }
            root if crate::webhooks::graphql::QUERY_ROOTS.contains(&root) => {
                crate::webhooks::graphql::query(&ctx.state.webhooks, ctx.scratch, info)
            }
            "orders" => orders(ctx, info),
            "order" => Ok(ResolvedValue::nullable_object(node_by_id(
                ctx,
                arg_str(info, "id").unwrap_or_default(),
                "Order",
            ))),
            "ordersCount" => {
                let visible = store
                    .orders
                    .values()
                    .filter(|o| ctx.order_visible(o))
                    .collect();
                let matching = searched(ctx, info, visible, OrderSearch);
                count(info, matching.len())
            }
            "locationsCount" => {
                let matching = searched(ctx, info, store.locations.values().collect(), |l| {
                    LocationSearch(l)
                });
                count(info, matching.len())
            }
            _ => Err(unsupported("QueryRoot", info)),
        }
    }
}

fn count<'a>(info: &ResolveInfo<'_>, n: usize) -> Resolved<'a> {
    let limit = arg_i64(info, "limit").unwrap_or(10_000).max(0) as usize;
    if n > limit {
        object(Obj::Count(limit as i64, "AT_LEAST"))
    } else {
        object(Obj::Count(n as i64, "EXACT"))
    }
}

fn lookup_location<'s>(store: &'s Store, id: &str) -> Option<&'s Location> {
    match parse_gid(id) {
        Some(("Location", n, _)) => store.locations.get(&n),
        _ => None,
    }
}

/// Resolves a global id; `expected` restricts the type ("" for any).
pub fn node_by_id<'s>(ctx: Ctx<'s>, id: &str, expected: &str) -> Option<Obj<'s>> {
    let (kind, n, item) = parse_gid(id)?;
    if !expected.is_empty() && kind != expected {
        return None;
    }
    let store = ctx.store;
    match kind {
        "Product" => store.products.get(&n).map(|p| Obj::Product(ctx, p)),
        "ProductVariant" => store.variants.get(&n).map(|v| Obj::Variant(ctx, v)),
        "InventoryItem" => store.inventory_items.get(&n).map(|i| Obj::Item(ctx, i)),
        "Location" => store.locations.get(&n).map(|l| Obj::Location(ctx, l)),
        "InventoryLevel" => {
            let item = store.inventory_items.get(&item?)?;
            let level = item.levels.get(&n)?;
            Some(Obj::Level(ctx, item, level))
        }
        "Order" => store
            .orders
            .get(&n)
            .filter(|o| ctx.order_visible(o))
            .map(|o| Obj::Order(ctx, o)),
        "LineItem" => store.orders.values().find_map(|o| {
            o.line_items
                .iter()
                .find(|l| l.id == n)
                .map(|l| Obj::LineItem(ctx, l))
        }),
        "Shop" if n == store.shop().id => Some(Obj::Shop(ctx)),
        _ => None,
    }
}

/// Applies the `query:` argument, reporting unknown fields in `extensions.search`.
fn searched<T: Copy, S: Searchable>(
    ctx: Ctx<'_>,
    info: &ResolveInfo<'_>,
    items: Vec<T>,
    wrap: impl Fn(T) -> S,
) -> Vec<T> {
    let Some(query) = arg_str(info, "query").filter(|q| !q.trim().is_empty()) else {
        return items;
    };
    let expr = search::parse(query);
    if let Some(first) = items.first() {
        let warnings = expr.warnings(&wrap(*first));
        if !warnings.is_empty() {
            let key = info.field_selections()[0].response_key().to_string();
            ctx.scratch.search.borrow_mut().push(serde_json::json!({
                "path": [key],
                "query": query,
                "parsed": expr.to_json(),
                "warnings": warnings.iter().map(|w| serde_json::json!({
                    "field": w.field, "message": w.message, "code": w.code
                })).collect::<Vec<_>>(),
            }));
        }
    }
    items
        .into_iter()
        .filter(|t| expr.matches(&wrap(*t)))
        .collect()
}

/// One sortable row of a connection: id (for cursors), the sort value shown in the cursor, and
/// the node.
struct Row<'s> {
    id: u64,
    sort: SortValue,
    node: Obj<'s>,
}

#[derive(Clone, PartialEq, PartialOrd)]
enum SortValue {
    Int(i64),
    Text(String),
}

impl SortValue {
    fn cursor_text(&self) -> String {
        match self {
            SortValue::Int(i) => i.to_string(),
            SortValue::Text(t) => t.clone(),
        }
    }
}

/// Sorts (stable, ties by id), reverses, paginates and wraps rows into a connection object.
fn connection<'s>(ctx: Ctx<'s>, info: &ResolveInfo<'_>, mut rows: Vec<Row<'s>>) -> Resolved<'s> {
    let order = |a: &Row<'_>, b: &Row<'_>| {
        a.sort
            .partial_cmp(&b.sort)
            .unwrap_or(std::cmp::Ordering::Equal)
            .then(a.id.cmp(&b.id))
    };
    // Rows usually arrive in id order already (ordered maps); sorting is then skipped.
    if !rows.is_sorted_by(|a, b| order(a, b) != std::cmp::Ordering::Greater) {
        rows.sort_by(order);
    }
    let args = PageArgs {
        first: arg_i64(info, "first"),
        last: arg_i64(info, "last"),
        after: arg_str(info, "after").map(str::to_owned),
        before: arg_str(info, "before").map(str::to_owned),
        reverse: arg_bool(info, "reverse"),
    };
    if args.reverse {
        rows.reverse();
    }
    let reverse = args.reverse;
    let locate = |key: &CursorKey, after: bool| -> usize {
        let cursor_sort = match rows.first().map(|r| &r.sort) {
            Some(SortValue::Int(_)) => SortValue::Int(key.value.parse().unwrap_or(i64::MIN)),
            _ => SortValue::Text(key.value.clone()),
        };
        let cursor = (cursor_sort, key.id);
        let row_key = |r: &Row<'_>| (r.sort.clone(), r.id);
        let cmp = |r: &Row<'_>| {
            row_key(r)
                .partial_cmp(&cursor)
                .unwrap_or(std::cmp::Ordering::Equal)
        };
        use std::cmp::Ordering::{Greater, Less};
        match (reverse, after) {
            (false, true) => rows.partition_point(|r| cmp(r) != Greater),
            (false, false) => rows.partition_point(|r| cmp(r) == Less),
            (true, true) => rows.partition_point(|r| cmp(r) != Less),
            (true, false) => rows.partition_point(|r| cmp(r) == Greater),
        }
    };
    let page = paginate(rows.len(), &args, &locate).map_err(FieldError::from)?;
    let items: Vec<(String, Obj<'s>)> = rows
        .drain(page.range.clone())
        .map(|r| (encode_cursor(r.id, &r.sort.cursor_text()), r.node))
        .collect();
    // Record the served page size for the actual cost (largest seen for this field).
    let key = field_key(info.field_selections()[0]);
    let mut observed = ctx.scratch.observed.borrow_mut();
    let seen = observed.entry(key).or_insert(0);
    *seen = (*seen).max(items.len());
    drop(observed);

    let type_name = info.field_definition().ty.inner_named_type().to_string();
    let edge_type = shopify_schema::schema()
        .get_object(&type_name)
        .and_then(|o| o.fields.get("edges"))
        .map(|f| f.ty.inner_named_type().to_string())
        .unwrap_or_default();
    object(Obj::Connection(Box::new(Conn {
        type_name,
        edge_type,
        items,
        has_next_page: page.has_next_page,
        has_previous_page: page.has_previous_page,
    })))
}

/// A connection the simulated store never has rows for (media, collections, metafields, …).
fn empty<'s>(ctx: Ctx<'s>, info: &ResolveInfo<'_>) -> Resolved<'s> {
    connection(ctx, info, Vec::new())
}

fn sort_key<'i>(info: &'i ResolveInfo<'_>, default: &'i str) -> &'i str {
    arg_str(info, "sortKey").unwrap_or(default)
}

fn locations<'s>(ctx: Ctx<'s>, info: &ResolveInfo<'_>, all: Vec<&'s Location>) -> Resolved<'s> {
    let include_inactive = arg_bool(info, "includeInactive");
    let all: Vec<&Location> = all
        .into_iter()
        .filter(|l| include_inactive || l.is_active)
        .collect();
    let matching = searched(ctx, info, all, LocationSearch);
    let key = sort_key(info, "NAME");
    let rows = matching
        .into_iter()
        .map(|l| Row {
            id: l.id,
            sort: match key {
                "NAME" => SortValue::Text(l.name.clone()),
                _ => SortValue::Int(l.id as i64),
            },
            node: Obj::Location(ctx, l),
        })
        .collect();
    connection(ctx, info, rows)
}

fn products<'s>(ctx: Ctx<'s>, info: &ResolveInfo<'_>, all: Vec<&'s Product>) -> Resolved<'s> {
    let store = ctx.store;
    let matching = searched(ctx, info, all, |p| ProductSearch(store, p));
    let key = sort_key(info, "ID");
    let rows = matching
        .into_iter()
        .map(|p| Row {
            id: p.id,
            sort: match key {
                "TITLE" => SortValue::Text(p.title.clone()),
                "UPDATED_AT" => SortValue::Int(p.updated_at),
                "CREATED_AT" | "PUBLISHED_AT" => SortValue::Int(p.created_at),
                "INVENTORY_TOTAL" => SortValue::Int(store.product_total_inventory(p)),
                "PRODUCT_TYPE" => SortValue::Text(p.product_type.clone()),
                "VENDOR" => SortValue::Text(p.vendor.clone()),
                // ID, and RELEVANCE (which without a text query is id order).
                _ => SortValue::Int(p.id as i64),
            },
            node: Obj::Product(ctx, p),
        })
        .collect();
    connection(ctx, info, rows)
}

fn variants<'s>(
    ctx: Ctx<'s>,
    info: &ResolveInfo<'_>,
    all: Vec<&'s Variant>,
    default_sort: &str,
) -> Resolved<'s> {
    let store = ctx.store;
    let matching = searched(ctx, info, all, VariantSearch);
    let key = sort_key(info, default_sort);
    let rows = matching
        .into_iter()
        .map(|v| {
            let product_title = || {
                store
                    .products
                    .get(&v.product_id)
                    .map(|p| p.title.clone())
                    .unwrap_or_default()
            };
            Row {
                id: v.id,
                sort: match key {
                    "SKU" => SortValue::Text(v.sku.clone()),
                    "TITLE" => SortValue::Text(v.title.clone()),
                    "NAME" | "FULL_TITLE" => {
                        SortValue::Text(format!("{} - {}", product_title(), v.title))
                    }
                    "POSITION" => SortValue::Int(i64::from(v.position)),
                    "INVENTORY_QUANTITY" | "INVENTORY_LEVELS_AVAILABLE" => {
                        SortValue::Int(store.variant_inventory_quantity(v))
                    }
                    "INVENTORY_POLICY" => SortValue::Text(v.inventory_policy.to_owned()),
                    _ => SortValue::Int(v.id as i64),
                },
                node: Obj::Variant(ctx, v),
            }
        })
        .collect();
    connection(ctx, info, rows)
}

fn inventory_items<'s>(ctx: Ctx<'s>, info: &ResolveInfo<'_>) -> Resolved<'s> {
    let all: Vec<&InventoryItem> = ctx.store.inventory_items.values().collect();
    let matching = searched(ctx, info, all, ItemSearch);
    let rows = matching
        .into_iter()
        .map(|i| Row {
            id: i.id,
            sort: SortValue::Int(i.id as i64),
            node: Obj::Item(ctx, i),
        })
        .collect();
    connection(ctx, info, rows)
}

/// Levels of one item (`InventoryItem.inventoryLevels`), keyed and ordered by location id.
fn levels<'s>(
    ctx: Ctx<'s>,
    info: &ResolveInfo<'_>,
    all: Vec<(&'s InventoryItem, &'s InventoryLevel)>,
) -> Resolved<'s> {
    let include_inactive = arg_bool(info, "includeInactive");
    let all: Vec<_> = all
        .into_iter()
        .filter(|(_, l)| include_inactive || l.is_active)
        .collect();
    let matching = searched(ctx, info, all, |(i, l)| LevelSearch(i, l));
    let rows = matching
        .into_iter()
        .map(|(item, level)| Row {
            id: level.location_id,
            sort: SortValue::Int(level.location_id as i64),
            node: Obj::Level(ctx, item, level),
        })
        .collect();
    connection(ctx, info, rows)
}

fn orders<'s>(ctx: Ctx<'s>, info: &ResolveInfo<'_>) -> Resolved<'s> {
    let all: Vec<&Order> = ctx
        .store
        .orders
        .values()
        .filter(|o| ctx.order_visible(o))
        .collect();
    let matching = searched(ctx, info, all, OrderSearch);
    let key = sort_key(info, "PROCESSED_AT");
    let rows = matching
        .into_iter()
        .map(|o| Row {
            id: o.id,
            sort: match key {
                "UPDATED_AT" => SortValue::Int(o.updated_at),
                "CREATED_AT" => SortValue::Int(o.created_at),
                "ORDER_NUMBER" => SortValue::Int(o.number as i64),
                "TOTAL_PRICE" | "CURRENT_TOTAL_PRICE" => SortValue::Int(o.total_cents()),
                "TOTAL_ITEMS_QUANTITY" => {
                    SortValue::Int(o.line_items.iter().map(|l| l.quantity).sum())
                }
                "FULFILLMENT_STATUS" => SortValue::Text(o.fulfillment_status().to_owned()),
                "ID" | "RELEVANCE" => SortValue::Int(o.id as i64),
                _ => SortValue::Int(o.processed_at),
            },
            node: Obj::Order(ctx, o),
        })
        .collect();
    connection(ctx, info, rows)
}

struct OrderSearch<'s>(&'s Order);

impl Searchable for OrderSearch<'_> {
    fn field(&self, name: &str) -> Option<FieldValue> {
        let o = self.0;
        Some(match name {
            "id" => FieldValue::Number(o.id as i64),
            "name" => FieldValue::Text(o.name()),
            "sku" => FieldValue::Texts(o.line_items.iter().map(|l| l.sku.clone()).collect()),
            "status" => FieldValue::Texts(vec![
                if o.closed_at.is_some() {
                    "closed"
                } else {
                    "open"
                }
                .to_owned(),
                if o.cancelled_at.is_some() {
                    "cancelled"
                } else {
                    "not_cancelled"
                }
                .to_owned(),
            ]),
            "fulfillment_status" => FieldValue::Text(o.fulfillment_status().to_lowercase()),
            "created_at" => FieldValue::Time(o.created_at),
            "updated_at" => FieldValue::Time(o.updated_at),
            "processed_at" => FieldValue::Time(o.processed_at),
            _ => return None,
        })
    }
    fn text(&self) -> String {
        self.0.name()
    }
}

struct ProductSearch<'s>(&'s Store, &'s Product);
struct CountedVariantSearch<'s>(&'s Variant);

impl Searchable for CountedVariantSearch<'_> {
    fn field(&self, name: &str) -> Option<FieldValue> {
        if name == "updated_at" {
            return None;
        }
        VariantSearch(self.0).field(name)
    }
    fn text(&self) -> String {
        VariantSearch(self.0).text()
    }
}
struct VariantSearch<'s>(&'s Variant);
struct ItemSearch<'s>(&'s InventoryItem);
struct LocationSearch<'s>(&'s Location);
struct LevelSearch<'s>(&'s InventoryItem, &'s InventoryLevel);

impl Searchable for ProductSearch<'_> {
    fn field(&self, name: &str) -> Option<FieldValue> {
        let p = self.1;
        Some(match name {
            "id" => FieldValue::Number(p.id as i64),
            "title" => FieldValue::Text(p.title.clone()),
            "handle" => FieldValue::Text(p.handle.clone()),
            "vendor" => FieldValue::Text(p.vendor.clone()),
            "product_type" => FieldValue::Text(p.product_type.clone()),
            "status" => FieldValue::Text(p.status.to_owned()),
            "tag" => FieldValue::Texts(p.tags.clone()),
            "sku" => FieldValue::Texts(
                p.variant_ids
                    .iter()
                    .filter_map(|id| self.0.variants.get(id))
                    .map(|v| v.sku.clone())
                    .collect(),
            ),
            "created_at" => FieldValue::Time(p.created_at),
            "updated_at" => FieldValue::Time(p.updated_at),
            _ => return None,
        })
    }
    fn text(&self) -> String {
        self.1.title.clone()
    }
}

impl Searchable for VariantSearch<'_> {
    fn field(&self, name: &str) -> Option<FieldValue> {
        let v = self.0;
        Some(match name {
            "id" => FieldValue::Number(v.id as i64),
            "product_id" => FieldValue::Number(v.product_id as i64),
            "sku" => FieldValue::Text(v.sku.clone()),
            "barcode" => FieldValue::Text(v.barcode.clone().unwrap_or_default()),
            "title" => FieldValue::Text(v.title.clone()),
            "inventory_policy" => FieldValue::Text(v.inventory_policy.to_lowercase()),
            "created_at" => FieldValue::Time(v.created_at),
            "updated_at" => FieldValue::Time(v.updated_at),
            _ => return None,
        })
    }
    fn text(&self) -> String {
        format!("{} {}", self.0.title, self.0.sku)
    }
}

impl Searchable for ItemSearch<'_> {
    fn field(&self, name: &str) -> Option<FieldValue> {
        let i = self.0;
        Some(match name {
            "id" => FieldValue::Number(i.id as i64),
            "sku" => FieldValue::Text(i.sku.clone()),
            "created_at" => FieldValue::Time(i.created_at),
            "updated_at" => FieldValue::Time(i.updated_at),
            _ => return None,
        })
    }
    fn text(&self) -> String {
        self.0.sku.clone()
    }
}

impl Searchable for LocationSearch<'_> {
    fn field(&self, name: &str) -> Option<FieldValue> {
        let l = self.0;
        Some(match name {
            "id" => FieldValue::Number(l.id as i64),
            "name" => FieldValue::Text(l.name.clone()),
            "active" => FieldValue::Bool(l.is_active),
            "created_at" => FieldValue::Time(l.created_at),
            "updated_at" => FieldValue::Time(l.updated_at),
            _ => return None,
        })
    }
    fn text(&self) -> String {
        self.0.name.clone()
    }
}

impl Searchable for LevelSearch<'_> {
    fn field(&self, name: &str) -> Option<FieldValue> {
        Some(match name {
            "inventory_item_id" => FieldValue::Number(self.0.id as i64),
            "location_id" => FieldValue::Number(self.1.location_id as i64),
            "created_at" => FieldValue::Time(self.1.created_at),
            "updated_at" => FieldValue::Time(self.1.updated_at),
            _ => return None,
        })
    }
    fn text(&self) -> String {
        self.0.sku.clone()
    }
}

/// A connection page, ready to resolve `edges`, `nodes` and `pageInfo`.
#[derive(Clone)]
pub struct Conn<'s> {
    type_name: String,
    edge_type: String,
    items: Vec<(String, Obj<'s>)>,
    has_next_page: bool,
    has_previous_page: bool,
}

/// Every object type the simulator serves.
#[derive(Clone)]
pub enum Obj<'s> {
    Shop(Ctx<'s>),
    ShopPlan(Ctx<'s>),
    Domain(Ctx<'s>),
    Location(Ctx<'s>, &'s Location),
    LocationAddress(&'s Location),
    Product(Ctx<'s>, &'s Product),
    Variant(Ctx<'s>, &'s Variant),
    Item(Ctx<'s>, &'s InventoryItem),
    Level(Ctx<'s>, &'s InventoryItem, &'s InventoryLevel),
    Quantity(&'s InventoryItem, &'s InventoryLevel, usize),
    Count(i64, &'static str),
    Money(i64, &'s str),
    Connection(Box<Conn<'s>>),
    Edge(String, Box<Obj<'s>>, &'s str),
    PageInfo {
        has_next_page: bool,
        has_previous_page: bool,
        start_cursor: Option<String>,
        end_cursor: Option<String>,
    },
    Outcome(Ctx<'s>, &'s Outcome),
    Group(Ctx<'s>, &'s Group),
    Order(Ctx<'s>, &'s Order),
    LineItem(Ctx<'s>, &'s LineItem),
    MoneyBag(i64, &'s str),
    SelectedOption(&'static str, &'s str),
    ResourceLimits,
    Seo,
    ProductOption(Ctx<'s>, &'s Product),
    Change(Ctx<'s>, &'s Change),
    UserError(&'s UserError, &'static str),
}

impl ObjectValue for Obj<'_> {
    fn type_name(&self) -> &str {
        match self {
            Obj::Shop(_) => "Shop",
            Obj::ShopPlan(_) => "ShopPlan",
            Obj::Domain(_) => "Domain",
            Obj::Location(..) => "Location",
            Obj::LocationAddress(_) => "LocationAddress",
            Obj::Product(..) => "Product",
            Obj::Variant(..) => "ProductVariant",
            Obj::Item(..) => "InventoryItem",
            Obj::Level(..) => "InventoryLevel",
            Obj::Quantity(..) => "InventoryQuantity",
            Obj::Count(..) => "Count",
            Obj::Money(..) => "MoneyV2",
            Obj::Connection(c) => &c.type_name,
            Obj::Edge(_, _, edge_type) => edge_type,
            Obj::PageInfo { .. } => "PageInfo",
            Obj::Outcome(_, outcome) => outcome.type_name(),
            Obj::Group(..) => "InventoryAdjustmentGroup",
            Obj::Order(..) => "Order",
            Obj::LineItem(..) => "LineItem",
            Obj::MoneyBag(..) => "MoneyBag",
            Obj::SelectedOption(..) => "SelectedOption",
            Obj::ResourceLimits => "ShopResourceLimits",
            Obj::Seo => "SEO",
            Obj::ProductOption(..) => "ProductOption",
            Obj::Change(..) => "InventoryChange",
            Obj::UserError(_, type_name) => type_name,
        }
    }

    fn resolve_field<'a>(&'a self, info: &'a ResolveInfo<'a>) -> Resolved<'a> {
        let field = info.field_name();
        match self {
            Obj::Shop(ctx) => shop_field(*ctx, info),
            Obj::ShopPlan(ctx) => match field {
                "displayName" | "publicDisplayName" => leaf(ctx.store.shop().plan_name.clone()),
                "partnerDevelopment" => leaf(false),
                "shopifyPlus" => leaf(ctx.store.shop().plan_name == "plus"),
                _ => Err(unsupported("ShopPlan", info)),
            },
            Obj::Domain(ctx) => {
                let domain = &ctx.store.shop().myshopify_domain;
                match field {
                    "id" => leaf(gid("Domain", ctx.store.shop().id)),
                    "host" => leaf(domain.clone()),
                    "url" => leaf(format!("https://{domain}")),
                    "sslEnabled" => leaf(true),
                    _ => Err(unsupported("Domain", info)),
                }
            }
            Obj::Location(ctx, l) => location_field(*ctx, l, info),
            Obj::LocationAddress(l) => match field {
                "address1" => leaf(l.address1.clone()),
                "address2" | "province" | "provinceCode" | "zip" | "phone" | "latitude"
                | "longitude" => leaf(JsonValue::Null),
                "city" => leaf(l.city.clone()),
                "country" => leaf("United States"),
                "countryCode" => leaf(l.country_code.clone()),
                "formatted" => Ok(ResolvedValue::list(
                    [
                        l.address1.clone(),
                        l.city.clone(),
                        "United States".to_owned(),
                    ]
                    .into_iter()
                    .map(ResolvedValue::leaf),
                )),
                _ => Err(unsupported("LocationAddress", info)),
            },
            Obj::Product(ctx, p) => product_field(*ctx, p, info),
            Obj::Variant(ctx, v) => variant_field(*ctx, v, info),
            Obj::Item(ctx, i) => item_field(*ctx, i, info),
            Obj::Level(ctx, i, l) => level_field(*ctx, i, l, info),
            Obj::Quantity(item, level, index) => match field {
                "id" => leaf(format!(
                    "gid://shopify/InventoryQuantity/{}?inventory_item_id={}&name={}",
                    level.location_id, item.id, QUANTITY_NAMES[*index]
                )),
                "name" => leaf(QUANTITY_NAMES[*index]),
                "quantity" => leaf(level.quantities[*index]),
                "updatedAt" => time(level.quantity_updated_at[*index]),
                _ => Err(unsupported("InventoryQuantity", info)),
            },
            Obj::Count(n, precision) => match field {
                "count" => leaf(*n),
                "precision" => leaf(*precision),
                _ => Err(unsupported("Count", info)),
            },
            Obj::Money(cents, currency) => match field {
                "amount" => leaf(money(*cents)),
                "currencyCode" => leaf(*currency),
                _ => Err(unsupported("MoneyV2", info)),
            },
            Obj::Connection(c) => match field {
                "edges" => Ok(ResolvedValue::list(c.items.iter().map(|(cursor, node)| {
                    ResolvedValue::object(Obj::Edge(
                        cursor.clone(),
                        Box::new(node.clone()),
                        &c.edge_type,
                    ))
                }))),
                "nodes" => Ok(ResolvedValue::list(
                    c.items
                        .iter()
                        .map(|(_, node)| ResolvedValue::object(node.clone())),
                )),
                "pageInfo" => object(Obj::PageInfo {
                    has_next_page: c.has_next_page,
                    has_previous_page: c.has_previous_page,
                    start_cursor: c.items.first().map(|(cursor, _)| cursor.clone()),
                    end_cursor: c.items.last().map(|(cursor, _)| cursor.clone()),
                }),
                _ => Err(unsupported(&c.type_name, info)),
            },
            Obj::Edge(cursor, node, edge_type) => match field {
                "cursor" => leaf(cursor.clone()),
                "node" => Ok(ResolvedValue::Object(Box::new((**node).clone()))),
                _ => Err(unsupported(edge_type, info)),
            },
            Obj::PageInfo {
                has_next_page,
                has_previous_page,
                start_cursor,
                end_cursor,
            } => match field {
                "hasNextPage" => leaf(*has_next_page),
                "hasPreviousPage" => leaf(*has_previous_page),
                "startCursor" => leaf(start_cursor.clone()),
                "endCursor" => leaf(end_cursor.clone()),
                _ => Err(unsupported("PageInfo", info)),
            },
            Obj::Outcome(ctx, outcome) => outcome.resolve(*ctx, info),
            Obj::Group(ctx, group) => group_field(*ctx, group, info),
            Obj::Order(ctx, order) => order_field(*ctx, order, info),
            Obj::LineItem(ctx, line) => line_item_field(*ctx, line, info),
            Obj::SelectedOption(name, value) => match field {
                "name" => leaf(*name),
                "value" => leaf(*value),
                _ => Err(unsupported("SelectedOption", info)),
            },
            // Values of a development store (`locationLimit` captured as 200).
            Obj::ResourceLimits => match field {
                "locationLimit" => leaf(200_i64),
                "maxProductOptions" => leaf(3_i64),
                "maxProductVariants" => leaf(2048_i64),
                "redirectLimitReached" => leaf(false),
                _ => Err(unsupported("ShopResourceLimits", info)),
            },
            Obj::ProductOption(ctx, p) => {
                let values: Vec<String> = p
                    .variant_ids
                    .iter()
                    .filter_map(|id| ctx.store.variants.get(id))
                    .map(|v| v.title.clone())
                    .collect();
                let name = match values.first().map(String::as_str) {
                    Some("Default Title") => "Title",
                    Some("Red" | "Blue") => "Color",
                    _ => "Size",
                };
                match field {
                    "id" => leaf(gid("ProductOption", p.id)),
                    "name" => leaf(name),
                    "position" => leaf(1_i64),
                    "values" => Ok(ResolvedValue::list(
                        values.into_iter().map(ResolvedValue::leaf),
                    )),
                    _ => Err(unsupported("ProductOption", info)),
                }
            }
            // No SEO overrides: Shopify answers null for both.
            Obj::Seo => match field {
                "title" | "description" => leaf(JsonValue::Null),
                _ => Err(unsupported("SEO", info)),
            },
            Obj::MoneyBag(cents, currency) => match field {
                "shopMoney" | "presentmentMoney" => object(Obj::Money(*cents, currency)),
                _ => Err(unsupported("MoneyBag", info)),
            },
            Obj::Change(ctx, change) => match field {
                "name" => leaf(change.name),
                "delta" => leaf(change.delta),
                // Shopify answers null here (captured).
                "quantityAfterChange" => leaf(JsonValue::Null),
                "ledgerDocumentUri" => leaf(change.ledger_document_uri.clone()),
                "item" => Ok(ResolvedValue::nullable_object(
                    ctx.store
                        .inventory_items
                        .get(&change.item_id)
                        .map(|i| Obj::Item(*ctx, i)),
                )),
                "location" => Ok(ResolvedValue::nullable_object(
                    ctx.store
                        .locations
                        .get(&change.location_id)
                        .map(|l| Obj::Location(*ctx, l)),
                )),
                _ => Err(unsupported("InventoryChange", info)),
            },
            Obj::UserError(error, type_name) => match field {
                "field" => match &error.field {
                    Some(path) => Ok(ResolvedValue::list(
                        path.iter().map(|p| ResolvedValue::leaf(p.clone())),
                    )),
                    None => leaf(JsonValue::Null),
                },
                "message" => leaf(error.message.clone()),
                "code" => leaf(error.code),
                _ => Err(unsupported(type_name, info)),
            },
        }
    }
}

fn order_field<'a>(ctx: Ctx<'a>, o: &'a Order, info: &'a ResolveInfo<'a>) -> Resolved<'a> {
    let currency = ctx.store.shop().currency_code.as_str();
    match info.field_name() {
        "id" => leaf(gid("Order", o.id)),
        "legacyResourceId" => leaf(o.id.to_string()),
        "name" => leaf(o.name()),
        "number" => leaf(o.number as i64),
        "createdAt" => time(o.created_at),
        "updatedAt" => time(o.updated_at),
        "processedAt" => time(o.processed_at),
        "cancelledAt" => leaf(o.cancelled_at.map(format_rfc3339)),
        "closedAt" => leaf(o.closed_at.map(format_rfc3339)),
        "closed" => leaf(o.closed_at.is_some()),
        "cancelReason" => leaf(o.cancelled_at.map(|_| "OTHER")),
        "displayFinancialStatus" => leaf("PAID"),
        "displayFulfillmentStatus" => leaf(o.fulfillment_status()),
        "fullyPaid" => leaf(true),
        "capturable" | "edited" => leaf(false),
        "email" | "phone" | "note" | "poNumber" | "cancellation" | "customer" => {
            leaf(JsonValue::Null)
        }
        "tags" | "paymentGatewayNames" => list(Vec::new()),
        "totalDiscountsSet" | "currentTotalDiscountsSet" | "totalTaxSet" | "currentTotalTaxSet" => {
            object(Obj::MoneyBag(0, currency))
        }
        "localizedFields" | "localizationExtensions" => empty(ctx, info),
        "customAttributes" | "fulfillments" | "discountCodes" | "transactions" => list(Vec::new()),
        "billingAddress" | "shippingAddress" | "displayAddress" => leaf(JsonValue::Null),
        "totalOutstandingSet"
        | "totalCapturableSet"
        | "totalRefundedSet"
        | "totalReceivedSet"
        | "netPaymentSet" => object(Obj::MoneyBag(0, currency)),
        "totalCapturable" => leaf("0.0"),
        "currencyCode" | "presentmentCurrencyCode" => leaf(currency),
        "test" => leaf(false),
        "totalPriceSet"
        | "currentTotalPriceSet"
        | "subtotalPriceSet"
        | "currentSubtotalPriceSet" => object(Obj::MoneyBag(o.total_cents(), currency)),
        "subtotalLineItemsQuantity" => leaf(o.line_items.iter().map(|l| l.quantity).sum::<i64>()),
        "currentSubtotalLineItemsQuantity" => leaf(
            o.line_items
                .iter()
                .map(|l| l.current_quantity())
                .sum::<i64>(),
        ),
        "physicalLocation" => match ctx.store.locations.get(&o.location_id) {
            Some(l) => object(Obj::Location(ctx, l)),
            None => leaf(JsonValue::Null),
        },
        "lineItems" => {
            let rows = o
                .line_items
                .iter()
                .map(|l| Row {
                    id: l.id,
                    sort: SortValue::Int(l.id as i64),
                    node: Obj::LineItem(ctx, l),
                })
                .collect();
            connection(ctx, info, rows)
        }
        _ => Err(unsupported("Order", info)),
    }
}

fn line_item_field<'a>(ctx: Ctx<'a>, l: &'a LineItem, info: &'a ResolveInfo<'a>) -> Resolved<'a> {
    let store = ctx.store;
    let currency = store.shop().currency_code.as_str();
    match info.field_name() {
        "id" => leaf(gid("LineItem", l.id)),
        "sku" => leaf(l.sku.clone()),
        "title" => leaf(l.title.clone()),
        "name" => leaf(format!("{} - {}", l.title, l.variant_title)),
        "variantTitle" => leaf(l.variant_title.clone()),
        "quantity" => leaf(l.quantity),
        // Cancelling removes the units not yet shipped; what was fulfilled stays on the order.
        "currentQuantity" | "refundableQuantity" => leaf(l.current_quantity()),
        "unfulfilledQuantity" | "fulfillableQuantity" => leaf(l.fulfillable_quantity),
        "requiresShipping" | "taxable" | "restockable" | "canRestock" => leaf(true),
        "isGiftCard" => leaf(false),
        "customAttributes" | "discountAllocations" | "taxLines" => list(Vec::new()),
        "vendor" => leaf(store.products.get(&l.product_id).map(|p| p.vendor.clone())),
        "originalUnitPriceSet" | "discountedUnitPriceSet" => {
            object(Obj::MoneyBag(l.price_cents, currency))
        }
        "originalTotalSet" | "discountedTotalSet" => {
            object(Obj::MoneyBag(l.price_cents * l.quantity, currency))
        }
        "variant" => Ok(ResolvedValue::nullable_object(
            store
                .variants
                .get(&l.variant_id)
                .map(|v| Obj::Variant(ctx, v)),
        )),
        "product" => Ok(ResolvedValue::nullable_object(
            store
                .products
                .get(&l.product_id)
                .map(|p| Obj::Product(ctx, p)),
        )),
        _ => Err(unsupported("LineItem", info)),
    }
}

fn group_field<'a>(ctx: Ctx<'a>, group: &'a Group, info: &'a ResolveInfo<'a>) -> Resolved<'a> {
    match info.field_name() {
        "id" => leaf(gid("InventoryAdjustmentGroup", group.id)),
        "createdAt" => time(group.created_at),
        "reason" => leaf(group.reason.clone()),
        "referenceDocumentUri" => leaf(group.reference_document_uri.clone()),
        "changes" => {
            let filter = |name: &str| -> Option<Vec<String>> {
                info.arguments()
                    .get(name)
                    .and_then(|v| v.as_array())
                    .map(|a| {
                        a.iter()
                            .filter_map(|v| v.as_str().map(str::to_owned))
                            .collect()
                    })
            };
            let items = filter("inventoryItemIds");
            let locations = filter("locationIds");
            let names = filter("quantityNames");
            let changes: Vec<Obj<'a>> = group
                .changes
                .iter()
                .filter(|c| {
                    items
                        .as_ref()
                        .is_none_or(|ids| ids.contains(&gid("InventoryItem", c.item_id)))
                        && locations
                            .as_ref()
                            .is_none_or(|ids| ids.contains(&gid("Location", c.location_id)))
                        && names.as_ref().is_none_or(|n| n.iter().any(|n| n == c.name))
                })
                .map(|c| Obj::Change(ctx, c))
                .collect();
            list(changes)
        }
        _ => Err(unsupported("InventoryAdjustmentGroup", info)),
    }
}

fn shop_field<'a>(ctx: Ctx<'a>, info: &'a ResolveInfo<'a>) -> Resolved<'a> {
    let shop = ctx.store.shop();
    match info.field_name() {
        "id" => leaf(gid("Shop", shop.id)),
        "name" => leaf(shop.name.clone()),
        "email" | "contactEmail" => leaf(shop.email.clone()),
        "myshopifyDomain" => leaf(shop.myshopify_domain.clone()),
        "url" => leaf(format!("https://{}", shop.myshopify_domain)),
        "currencyCode" => leaf(shop.currency_code.clone()),
        "ianaTimezone" => leaf(shop.iana_timezone.clone()),
        "timezoneAbbreviation" => leaf("EDT"),
        "timezoneOffset" => leaf("-0400"),
        "timezoneOffsetMinutes" => leaf(-240_i64),
        "createdAt" => time(shop.created_at),
        "updatedAt" => time(shop.created_at),
        "plan" => object(Obj::ShopPlan(ctx)),
        "primaryDomain" => object(Obj::Domain(ctx)),
        "resourceLimits" => object(Obj::ResourceLimits),
        "description" => leaf(JsonValue::Null),
        "locations" => locations(ctx, info, ctx.store.locations.values().collect()),
        "products" => products(ctx, info, ctx.store.products.values().collect()),
        "productVariants" => variants(ctx, info, ctx.store.variants.values().collect(), "ID"),
        "inventoryItems" => inventory_items(ctx, info),
        _ => Err(unsupported("Shop", info)),
    }
}

fn location_field<'a>(ctx: Ctx<'a>, l: &'a Location, info: &'a ResolveInfo<'a>) -> Resolved<'a> {
    let store = ctx.store;
    match info.field_name() {
        "id" => leaf(gid("Location", l.id)),
        "legacyResourceId" => leaf(l.id.to_string()),
        "name" => leaf(l.name.clone()),
        "isActive" => leaf(l.is_active),
        "isPrimary" => leaf(store.locations.keys().next() == Some(&l.id)),
        "activatable" => leaf(!l.is_active),
        "deactivatable" => leaf(l.is_active && store.locations.len() > 1),
        "deletable" => leaf(!l.is_active),
        "fulfillsOnlineOrders" | "shipsInventory" | "addressVerified" => leaf(true),
        "isFulfillmentService" | "hasUnfulfilledOrders" => leaf(false),
        "hasActiveInventory" => leaf(
            store
                .inventory_items
                .values()
                .any(|i| i.levels.get(&l.id).is_some_and(|lv| lv.is_active)),
        ),
        "deactivatedAt" | "fulfillmentService" | "metafield" | "localPickupSettingsV2" => {
            leaf(JsonValue::Null)
        }
        "suggestedAddresses" => list(Vec::new()),
        "metafields" | "metafieldDefinitions" => empty(ctx, info),
        "createdAt" => time(l.created_at),
        "updatedAt" => time(l.updated_at),
        "address" => object(Obj::LocationAddress(l)),
        "inventoryLevel" => {
            let item = arg_str(info, "inventoryItemId")
                .and_then(parse_gid)
                .filter(|(kind, _, _)| *kind == "InventoryItem")
                .and_then(|(_, id, _)| store.inventory_items.get(&id));
            Ok(ResolvedValue::nullable_object(item.and_then(|item| {
                item.levels
                    .get(&l.id)
                    .map(|level| Obj::Level(ctx, item, level))
            })))
        }
        "inventoryLevels" => {
            let all: Vec<_> = store
                .inventory_items
                .values()
                .filter_map(|item| item.levels.get(&l.id).map(|level| (item, level)))
                .collect();
            // Under a location the rows are keyed by item id.
            let include_inactive = arg_bool(info, "includeInactive");
            let all: Vec<_> = all
                .into_iter()
                .filter(|(_, lv)| include_inactive || lv.is_active)
                .collect();
            let matching = searched(ctx, info, all, |(i, lv)| LevelSearch(i, lv));
            let rows = matching
                .into_iter()
                .map(|(item, level)| Row {
                    id: item.id,
                    sort: SortValue::Int(item.id as i64),
                    node: Obj::Level(ctx, item, level),
                })
                .collect();
            connection(ctx, info, rows)
        }
        _ => Err(unsupported("Location", info)),
    }
}

fn product_field<'a>(ctx: Ctx<'a>, p: &'a Product, info: &'a ResolveInfo<'a>) -> Resolved<'a> {
    let store = ctx.store;
    match info.field_name() {
        "id" => leaf(gid("Product", p.id)),
        "legacyResourceId" => leaf(p.id.to_string()),
        "title" => leaf(p.title.clone()),
        "handle" => leaf(p.handle.clone()),
        "vendor" => leaf(p.vendor.clone()),
        "productType" => leaf(p.product_type.clone()),
        "status" => leaf(p.status),
        "tags" => Ok(ResolvedValue::list(
            p.tags.iter().map(|t| ResolvedValue::leaf(t.clone())),
        )),
        "createdAt" => time(p.created_at),
        "updatedAt" => time(p.updated_at),
        "publishedAt" => {
            if p.status == "ACTIVE" {
                time(p.created_at)
            } else {
                leaf(JsonValue::Null)
            }
        }
        "totalInventory" => leaf(store.product_total_inventory(p)),
        "totalVariants" => leaf(p.variant_ids.len() as i64),
        "tracksInventory" => leaf(p.variant_ids.iter().any(|id| {
            store
                .variants
                .get(id)
                .and_then(|v| store.inventory_items.get(&v.inventory_item_id))
                .is_some_and(|i| i.tracked)
        })),
        "hasOnlyDefaultVariant" => leaf(p.variant_ids.len() == 1),
        "hasOutOfStockVariants" => leaf(p.variant_ids.iter().any(|id| {
            store
                .variants
                .get(id)
                .is_some_and(|v| store.variant_inventory_quantity(v) <= 0)
        })),
        "isGiftCard" => leaf(false),
        "description" => leaf(""),
        "descriptionHtml" => leaf(""),
        "templateSuffix"
        | "giftCardTemplateSuffix"
        | "metafield"
        | "featuredMedia"
        | "onlineStoreUrl"
        | "onlineStorePreviewUrl"
        | "category" => leaf(JsonValue::Null),
        "seo" => object(Obj::Seo),
        "options" => object_list_of_one(Obj::ProductOption(ctx, p)),
        "media" | "metafields" | "collections" | "metafieldDefinitions" => empty(ctx, info),
        "mediaCount" => object(Obj::Count(0, "EXACT")),
        "variants" => {
            let all: Vec<&Variant> = p
                .variant_ids
                .iter()
                .filter_map(|id| store.variants.get(id))
                .collect();
            variants(ctx, info, all, "POSITION")
        }
        "variantsCount" => object(Obj::Count(p.variant_ids.len() as i64, "EXACT")),
        _ => Err(unsupported("Product", info)),
    }
}

fn variant_field<'a>(ctx: Ctx<'a>, v: &'a Variant, info: &'a ResolveInfo<'a>) -> Resolved<'a> {
    let store = ctx.store;
    match info.field_name() {
        "id" => leaf(gid("ProductVariant", v.id)),
        "legacyResourceId" => leaf(v.id.to_string()),
        "title" => leaf(v.title.clone()),
        "displayName" => {
            let product = store
                .products
                .get(&v.product_id)
                .map_or("", |p| p.title.as_str());
            leaf(format!("{product} - {}", v.title))
        }
        "sku" => leaf(v.sku.clone()),
        "barcode" => leaf(v.barcode.clone()),
        "price" => leaf(money(v.price_cents)),
        "compareAtPrice" => leaf(v.compare_at_price_cents.map(money)),
        "position" => leaf(i64::from(v.position)),
        "inventoryPolicy" => leaf(v.inventory_policy),
        "inventoryQuantity" => leaf(store.variant_inventory_quantity(v)),
        "availableForSale" => {
            leaf(v.inventory_policy == "CONTINUE" || store.variant_inventory_quantity(v) > 0)
        }
        "taxable" => leaf(true),
        "createdAt" => time(v.created_at),
        "updatedAt" => time(v.updated_at),
        "selectedOptions" => {
            let name = if v.title == "Default Title" {
                "Title"
            } else if matches!(v.title.as_str(), "Red" | "Blue") {
                "Color"
            } else {
                "Size"
            };
            list(vec![Obj::SelectedOption(name, &v.title)])
        }
        "media" | "metafields" | "metafieldDefinitions" => empty(ctx, info),
        "metafield" | "unitPrice" | "taxCode" => leaf(JsonValue::Null),
        "product" => match store.products.get(&v.product_id) {
            Some(p) => object(Obj::Product(ctx, p)),
            None => leaf(JsonValue::Null),
        },
        "inventoryItem" => match store.inventory_items.get(&v.inventory_item_id) {
            Some(i) => object(Obj::Item(ctx, i)),
            None => leaf(JsonValue::Null),
        },
        _ => Err(unsupported("ProductVariant", info)),
    }
}

fn item_field<'a>(ctx: Ctx<'a>, i: &'a InventoryItem, info: &'a ResolveInfo<'a>) -> Resolved<'a> {
    let store = ctx.store;
    match info.field_name() {
        "id" => leaf(gid("InventoryItem", i.id)),
        "legacyResourceId" => leaf(i.id.to_string()),
        "sku" => leaf(i.sku.clone()),
        "tracked" => leaf(i.tracked),
        "requiresShipping" => leaf(i.requires_shipping),
        "createdAt" => time(i.created_at),
        "updatedAt" => time(i.updated_at),
        "duplicateSkuCount" => leaf(
            store
                .inventory_items
                .values()
                .filter(|o| o.id != i.id && o.sku == i.sku)
                .count() as i64,
        ),
        "unitCost" => match i.unit_cost_cents {
            Some(c) => object(Obj::Money(c, &store.shop().currency_code)),
            None => leaf(JsonValue::Null),
        },
        "variant" => match store.variants.get(&i.variant_id) {
            Some(v) => object(Obj::Variant(ctx, v)),
            None => leaf(JsonValue::Null),
        },
        "locationsCount" => object(Obj::Count(i.levels.len() as i64, "EXACT")),
        "inventoryLevel" => {
            let level = arg_str(info, "locationId")
                .and_then(parse_gid)
                .filter(|(kind, _, _)| *kind == "Location")
                .and_then(|(_, id, _)| i.levels.get(&id));
            Ok(ResolvedValue::nullable_object(
                level.map(|level| Obj::Level(ctx, i, level)),
            ))
        }
        "inventoryLevels" => levels(ctx, info, i.levels.values().map(|l| (i, l)).collect()),
        _ => Err(unsupported("InventoryItem", info)),
    }
}

fn level_field<'a>(
    ctx: Ctx<'a>,
    item: &'a InventoryItem,
    level: &'a InventoryLevel,
    info: &'a ResolveInfo<'a>,
) -> Resolved<'a> {
    match info.field_name() {
        "id" => leaf(level_gid(level.location_id, item.id)),
        "isActive" => leaf(level.is_active),
        "canDeactivate" => leaf(item.levels.len() > 1),
        "deactivationAlert" => leaf(JsonValue::Null),
        "createdAt" => time(level.created_at),
        "updatedAt" => time(level.updated_at),
        "item" => object(Obj::Item(ctx, item)),
        "location" => match ctx.store.locations.get(&level.location_id) {
            Some(l) => object(Obj::Location(ctx, l)),
            None => leaf(JsonValue::Null),
        },
        "quantities" => {
            let names: Vec<String> = info
                .arguments()
                .get("names")
                .and_then(|v| v.as_array())
                .map(|a| {
                    a.iter()
                        .filter_map(|v| v.as_str().map(str::to_owned))
                        .collect()
                })
                .unwrap_or_default();
            let mut out = Vec::with_capacity(names.len());
            for name in &names {
                match quantity_index(name) {
                    Some(index) => out.push(Obj::Quantity(item, level, index)),
                    None => {
                        return Err(FieldFailure::bad_request(format!(
                            "The quantity name '{name}' is not valid. Valid values are: {}.",
                            QUANTITY_NAMES.join(", ")
                        ))
                        .into());
                    }
                }
            }
            list(out)
        }
        _ => Err(unsupported("InventoryLevel", info)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_level_and_plain_gids() {
        assert_eq!(
            parse_gid("gid://shopify/InventoryLevel/106318430514?inventory_item_id=53204673823026"),
            Some(("InventoryLevel", 106_318_430_514, Some(53_204_673_823_026)))
        );
        assert_eq!(
            parse_gid("gid://shopify/Product/12"),
            Some(("Product", 12, None))
        );
        assert_eq!(parse_gid("not-a-gid"), None);
        assert_eq!(parse_gid("gid://shopify/Product/abc"), None);
    }
}
