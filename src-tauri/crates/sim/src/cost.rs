//! Query cost: the requested cost computed before execution and the actual cost after it.
//!
//! The cost *model* ([`CostModel`]) is the pluggable piece; the walk over the selection set is
//! shared. What is confirmed and what is inferred (FACTS §4, and the captures):
//!
//! - [C doc] scalars and enums cost 0, objects 1, a mutation field 10.
//! - [C capture] a connection whose nodes select only scalars costs, by `first`:
//!   1→3, 3→4, 5→5, 10→6, 20→7, 50→9, 100→11, 250→13. Between those points the default model
//!   interpolates in log(first) and rounds up; no `first`/`last` at all costs 2 (captured on
//!   `bulkOperations` without a window).
//! - [C capture, fitted] nodes that select objects add `(f(first) − 2) × child` where `child` is the
//!   per-node cost of the selection: `product{variants(first:5){nodes{inventoryItem{id}}}}` → 9,
//!   `product{variants(first:10){nodes{id}}}` → 7, `orders(first:250){lineItems(first:250){id}}`
//!   → 156 and `products(first:250){variants(first:250) options}` → 167 all fit this rule.
//! - [C capture] the actual cost uses the number of nodes actually returned in place of `first`
//!   (`locations(first:10)` returning 2 nodes: requested 6, actual 4), and objects that come back
//!   `null` cost nothing (an inventory mutation answering only `userErrors`: requested 13,
//!   actual 10). See [`CostWalk::actual_operation`].
//! - [C capture] `productsCount` and the other `Count` fields cost 10.
//! - [I capture] mutation payloads: the payload's own direct objects are free, deeper objects cost
//!   1 (`inventorySetQuantities{inventoryAdjustmentGroup{changes{item location}}}` → 13,
//!   `locationAdd{location{id}}` → 10).
//! - \[I\] `nodes(ids:)` costs one object per requested id (not captured).
//! - Interfaces and unions: every fragment's fields are summed, an upper bound of "the most
//!   expensive possible selection" [C doc].

use std::collections::HashMap;

use apollo_compiler::ast::Value;
use apollo_compiler::executable::{Field, Operation, OperationType, Selection, SelectionSet};
use apollo_compiler::response::{JsonMap, JsonValue};
use apollo_compiler::schema::ExtendedType;
use apollo_compiler::validation::Valid;
use apollo_compiler::{ExecutableDocument, Schema};

/// Prices fields. Implement this to try another cost rule; [`Calibrated2026`] is the default.
pub trait CostModel: Send + Sync {
    /// A connection returning (or asking for) `page` nodes whose selection costs `child` per node.
    fn connection(&self, page: usize, child: f64) -> f64;
    fn object(&self) -> f64 {
        1.0
    }
    fn mutation(&self) -> f64 {
        10.0
    }
    /// `Count`-typed fields such as `productsCount`.
    fn count(&self) -> f64 {
        10.0
    }
}

/// The default model, calibrated on the 2026-04 captures (see the module docs).
#[derive(Debug, Default, Clone, Copy)]
pub struct Calibrated2026;

const TABLE: [(f64, f64); 8] = [
    (1.0, 3.0),
    (3.0, 4.0),
    (5.0, 5.0),
    (10.0, 6.0),
    (20.0, 7.0),
    (50.0, 9.0),
    (100.0, 11.0),
    (250.0, 13.0),
];

impl Calibrated2026 {
    /// Cost of a page of `n` scalar-only nodes.
    pub fn base(n: usize) -> f64 {
        if n == 0 {
            return 2.0;
        }
        let x = (n as f64).ln();
        for pair in TABLE.windows(2) {
            let ((n0, c0), (n1, c1)) = (pair[0], pair[1]);
            if (n as f64) <= n1 {
                let t = (x - n0.ln()) / (n1.ln() - n0.ln());
                return (c0 + t.max(0.0) * (c1 - c0)).ceil();
            }
        }
        // Beyond 250 (only reachable by a bulk query): keep the last slope.
        let (n0, c0) = TABLE[6];
        let (n1, c1) = TABLE[7];
        (c1 + (x - n1.ln()) / (n1.ln() - n0.ln()) * (c1 - c0)).ceil()
    }
}

impl CostModel for Calibrated2026 {
    fn connection(&self, page: usize, child: f64) -> f64 {
        let base = Self::base(page);
        base + (base - 2.0) * child
    }
}

/// Actual page sizes seen while executing, keyed by the address of the connection's `Field` in
/// the validated document (stable for the life of the document).
pub type Observed = HashMap<usize, usize>;

pub fn field_key(field: &Field) -> usize {
    std::ptr::from_ref(field) as usize
}

/// What to price: the request as sent, or the execution as it happened.
pub enum Basis<'a> {
    Requested,
    Actual(&'a Observed),
}

pub struct CostWalk<'a> {
    pub model: &'a dyn CostModel,
    pub schema: &'a Valid<Schema>,
    pub document: &'a Valid<ExecutableDocument>,
    pub variables: &'a JsonMap,
    pub basis: Basis<'a>,
}

impl CostWalk<'_> {
    pub fn operation(&self, operation: &Operation) -> u32 {
        let total = if operation.operation_type == OperationType::Mutation {
            let mut total = 0.0;
            for field in self.fields(&operation.selection_set) {
                // Payload objects themselves are free; what they select is priced normally.
                let payload: f64 = self
                    .fields(&field.selection_set)
                    .map(|f| self.selection(&f.selection_set))
                    .sum();
                total += self.model.mutation() + payload;
            }
            total
        } else {
            self.selection(&operation.selection_set)
        };
        total.ceil().max(0.0) as u32
    }

    /// The actual cost: the same rules applied to what the response holds. Connections count the
    /// nodes returned, objects that came back `null` cost nothing, and a list of objects costs as
    /// one object with its most expensive element (`nodes(ids:)`: one per non-null entry). A
    /// mutation field always costs its base 10 (captured: a `userErrors`-only inventory call is
    /// requested at 13 and charged 10).
    pub fn actual_operation(&self, operation: &Operation, data: &JsonValue) -> u32 {
        let total = if operation.operation_type == OperationType::Mutation {
            self.fields(&operation.selection_set)
                .map(|field| {
                    let payload = data.get(field.response_key().as_str());
                    let children: f64 = match payload {
                        Some(JsonValue::Object(map)) => self
                            .fields(&field.selection_set)
                            .map(|g| {
                                map.get(g.response_key().as_str())
                                    .map_or(0.0, |v| self.actual_selection(&g.selection_set, v))
                            })
                            .sum(),
                        _ => 0.0,
                    };
                    self.model.mutation() + children
                })
                .sum()
        } else {
            self.actual_selection(&operation.selection_set, data)
        };
        total.ceil().max(0.0) as u32
    }

    /// Cost of the fields of `set` as found in `value` (an object, or a list of them).
    fn actual_selection(&self, set: &SelectionSet, value: &JsonValue) -> f64 {
        match value {
            JsonValue::Array(items) => items
                .iter()
                .map(|item| self.actual_selection(set, item))
                .fold(0.0, f64::max),
            JsonValue::Object(map) => self
                .fields(set)
                .map(|f| self.actual_field(f, map.get(f.response_key().as_str())))
                .sum(),
            _ => 0.0,
        }
    }

    fn actual_field(&self, field: &Field, value: Option<&JsonValue>) -> f64 {
        let Some(value) = value.filter(|v| !v.is_null()) else {
            return 0.0;
        };
        let type_name = field.definition.ty.inner_named_type();
        match self.schema.types.get(type_name) {
            Some(ExtendedType::Object(object)) if is_connection(object) => {
                let mut returned: Option<usize> = None;
                let mut child: f64 = 0.0;
                for f in self.fields(&field.selection_set) {
                    let Some(JsonValue::Array(items)) = value.get(f.response_key().as_str()) else {
                        continue;
                    };
                    match f.name.as_str() {
                        "nodes" => {
                            returned = Some(returned.unwrap_or(0).max(items.len()));
                            child = child.max(
                                self.actual_selection(
                                    &f.selection_set,
                                    value
                                        .get(f.response_key().as_str())
                                        .unwrap_or(&JsonValue::Null),
                                ),
                            );
                        }
                        "edges" => {
                            returned = Some(returned.unwrap_or(0).max(items.len()));
                            for g in self.fields(&f.selection_set) {
                                if g.name == "node" {
                                    for edge in items {
                                        if let Some(node) = edge.get(g.response_key().as_str()) {
                                            child = child
                                                .max(self.actual_selection(&g.selection_set, node));
                                        }
                                    }
                                }
                            }
                        }
                        _ => {}
                    }
                }
                let page = returned.unwrap_or_else(|| match &self.basis {
                    Basis::Actual(observed) => {
                        observed.get(&field_key(field)).copied().unwrap_or(0)
                    }
                    Basis::Requested => 0,
                });
                self.model.connection(page, child)
            }
            Some(ExtendedType::Object(_)) if type_name == "Count" => self.model.count(),
            Some(ExtendedType::Object(_) | ExtendedType::Interface(_) | ExtendedType::Union(_)) => {
                match value {
                    JsonValue::Array(items) => {
                        let present = items.iter().filter(|i| !i.is_null()).count();
                        if present == 0 {
                            return 0.0;
                        }
                        let per = self.model.object()
                            + self.actual_selection(&field.selection_set, value);
                        if field.name == "nodes" {
                            per * present as f64
                        } else {
                            per
                        }
                    }
                    _ => self.model.object() + self.actual_selection(&field.selection_set, value),
                }
            }
            _ => 0.0,
        }
    }

    /// The included fields of a selection set, fragments flattened.
    fn fields<'s>(&'s self, set: &'s SelectionSet) -> Box<dyn Iterator<Item = &'s Field> + 's> {
        Box::new(set.selections.iter().flat_map(
            move |selection| -> Box<dyn Iterator<Item = &'s Field> + 's> {
                match selection {
                    Selection::Field(f) if self.included(&f.directives) => {
                        Box::new(std::iter::once(&**f))
                    }
                    Selection::InlineFragment(i) if self.included(&i.directives) => {
                        self.fields(&i.selection_set)
                    }
                    Selection::FragmentSpread(s) if self.included(&s.directives) => {
                        match self.document.fragments.get(&s.fragment_name) {
                            Some(fragment) => self.fields(&fragment.selection_set),
                            None => Box::new(std::iter::empty()),
                        }
                    }
                    _ => Box::new(std::iter::empty()),
                }
            },
        ))
    }

    fn selection(&self, set: &SelectionSet) -> f64 {
        self.fields(set).map(|f| self.field(f)).sum()
    }

    fn field(&self, field: &Field) -> f64 {
        let type_name = field.definition.ty.inner_named_type();
        match self.schema.types.get(type_name) {
            Some(ExtendedType::Object(object)) if is_connection(object) => {
                let requested = self
                    .int_argument(field, "first")
                    .or_else(|| self.int_argument(field, "last"))
                    .unwrap_or(0)
                    .max(0) as usize;
                let page = match &self.basis {
                    Basis::Requested => requested,
                    Basis::Actual(observed) => {
                        observed.get(&field_key(field)).copied().unwrap_or(0)
                    }
                };
                let child = self.connection_child(field);
                self.model.connection(page, child)
            }
            Some(ExtendedType::Object(_)) if type_name == "Count" => self.model.count(),
            Some(ExtendedType::Object(_) | ExtendedType::Interface(_) | ExtendedType::Union(_)) => {
                let per = self.model.object() + self.selection(&field.selection_set);
                if field.name == "nodes" && field.definition.ty.is_list() {
                    let ids = self.list_len_argument(field, "ids").unwrap_or(1).max(1);
                    per * ids as f64
                } else {
                    per
                }
            }
            _ => 0.0,
        }
    }

    /// Per-node cost of a connection: what `nodes { … }` or `edges { node { … } }` selects.
    fn connection_child(&self, connection: &Field) -> f64 {
        let mut child: f64 = 0.0;
        for f in self.fields(&connection.selection_set) {
            match f.name.as_str() {
                "nodes" => child = child.max(self.selection(&f.selection_set)),
                "edges" => {
                    for g in self.fields(&f.selection_set) {
                        if g.name == "node" {
                            child = child.max(self.selection(&g.selection_set));
                        }
                    }
                }
                _ => {}
            }
        }
        child
    }

    fn included(&self, directives: &apollo_compiler::executable::DirectiveList) -> bool {
        let flag = |name: &str| {
            directives
                .get(name)
                .and_then(|d| d.specified_argument_by_name("if"))
                .and_then(|v| self.bool_value(v))
        };
        !(flag("skip") == Some(true) || flag("include") == Some(false))
    }

    fn bool_value(&self, value: &Value) -> Option<bool> {
        match value {
            Value::Boolean(b) => Some(*b),
            Value::Variable(name) => self.variables.get(name.as_str()).and_then(|v| v.as_bool()),
            _ => None,
        }
    }

    fn int_argument(&self, field: &Field, name: &str) -> Option<i64> {
        match &**field.specified_argument_by_name(name)? {
            Value::Int(i) => i.try_to_i32().ok().map(i64::from),
            Value::Variable(v) => self.variables.get(v.as_str()).and_then(|v| v.as_i64()),
            _ => None,
        }
    }

    fn list_len_argument(&self, field: &Field, name: &str) -> Option<usize> {
        match &**field.specified_argument_by_name(name)? {
            Value::List(items) => Some(items.len()),
            Value::Variable(v) => self
                .variables
                .get(v.as_str())
                .map(|v| v.as_array().map_or(1, Vec::len)),
            _ => Some(1),
        }
    }
}

/// A Relay connection type: an object with `pageInfo` and `edges`.
pub fn is_connection(object: &apollo_compiler::schema::ObjectType) -> bool {
    object.fields.contains_key("pageInfo") && object.fields.contains_key("edges")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base_table_is_reproduced_exactly() {
        for (n, cost) in TABLE {
            assert_eq!(Calibrated2026::base(n as usize), cost, "first: {n}");
        }
        assert_eq!(Calibrated2026::base(0), 2.0);
        assert_eq!(Calibrated2026::base(2), 4.0);
    }

    #[test]
    fn nested_examples_fit() {
        let m = Calibrated2026;
        // orders(first:250){ lineItems(first:250){ id } }
        assert_eq!(m.connection(250, m.connection(250, 0.0)), 156.0);
        // products(first:250){ variants(first:250){…} options{…} }
        assert_eq!(m.connection(250, m.connection(250, 0.0) + 1.0), 167.0);
        // product{ variants(first:250){ nodes{ inventoryItem{ id tracked } } } }
        assert_eq!(1.0 + m.connection(250, 1.0), 25.0);
    }
}
