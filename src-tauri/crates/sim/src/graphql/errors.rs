//! Shopify's error shapes for documents that fail before execution (FACTS §3 and the captures).
//!
//! Shopify runs graphql-ruby: its static validation errors carry a camelCase `extensions.code`
//! (`undefinedField`, `argumentNotAccepted`, …), a `path` that starts with `"query Name"` or
//! `"mutation Name"` and names the offending field or argument, and code-specific extension keys.
//! apollo-compiler finds the same problems; this module renames them.

use apollo_compiler::ast::{self, Definition, Selection};
use apollo_compiler::executable::VariableDefinition;
use apollo_compiler::response::{JsonMap, JsonValue};
use apollo_compiler::schema::{ExtendedType, Type};
use apollo_compiler::{Node, Schema};
use shopify_schema::ValidationError;

pub fn location_json(line: usize, column: usize) -> JsonValue {
    let mut map = JsonMap::new();
    map.insert("line", JsonValue::from(line as i64));
    map.insert("column", JsonValue::from(column as i64));
    JsonValue::Object(map)
}

fn error(
    message: String,
    position: Option<shopify_schema::Position>,
    path: Option<Vec<String>>,
    code: &str,
    extra: Vec<(&str, JsonValue)>,
) -> JsonValue {
    let mut map = JsonMap::new();
    map.insert("message", message.into());
    if let Some(p) = position {
        map.insert(
            "locations",
            JsonValue::Array(vec![location_json(p.line, p.column)]),
        );
    }
    if let Some(path) = path {
        map.insert(
            "path",
            JsonValue::Array(path.into_iter().map(JsonValue::from).collect()),
        );
    }
    let mut extensions = JsonMap::new();
    extensions.insert("code", code.into());
    for (k, v) in extra {
        extensions.insert(k, v);
    }
    map.insert("extensions", JsonValue::Object(extensions));
    JsonValue::Object(map)
}

pub fn parse_error_without_position(message: &str) -> JsonValue {
    error(message.to_owned(), None, None, "PARSE_ERROR", Vec::new())
}

/// FACTS §4 (field report + gist; no top-level `extensions`, HTTP 200 assumed per §11 #2).
pub fn max_cost_exceeded(cost: u32) -> JsonValue {
    error(
        format!(
            "Query cost is {cost}, which exceeds the single query max cost limit (1000).\n\nSee https://shopify.dev/docs/api/usage/rate-limits for more information on how the\ncost of a query is calculated.\n\nTo query larger amounts of data with fewer limits, bulk operations should be used instead.\nSee https://shopify.dev/docs/api/usage/bulk-operations/queries for usage details.\n"
        ),
        None,
        None,
        "MAX_COST_EXCEEDED",
        vec![
            ("cost", JsonValue::from(i64::from(cost))),
            ("maxCost", JsonValue::from(1000_i64)),
            (
                "documentation",
                "https://shopify.dev/api/usage/rate-limits".into(),
            ),
        ],
    )
}

/// FACTS §4 [C]: the `THROTTLED` error object.
pub fn throttled() -> JsonValue {
    error(
        "Throttled".to_owned(),
        None,
        None,
        "THROTTLED",
        vec![(
            "documentation",
            "https://shopify.dev/api/usage/rate-limits".into(),
        )],
    )
}

/// One reason a variable value is rejected: where inside the value, and why (graphql-ruby's
/// wording).
#[derive(Debug, Clone, PartialEq)]
pub struct Problem {
    pub path: Vec<String>,
    pub explanation: String,
}

/// Checks a variable value against its type the way graphql-ruby reports it: every problem with
/// its path inside the value. An empty result means the value is acceptable.
pub fn variable_problems(schema: &Schema, ty: &Type, value: Option<&JsonValue>) -> Vec<Problem> {
    let mut out = Vec::new();
    check_value(schema, ty, value, &mut Vec::new(), &mut out);
    out
}

fn check_value(
    schema: &Schema,
    ty: &Type,
    value: Option<&JsonValue>,
    path: &mut Vec<String>,
    out: &mut Vec<Problem>,
) {
    let problem = |path: &Vec<String>, explanation: String, out: &mut Vec<Problem>| {
        out.push(Problem {
            path: path.clone(),
            explanation,
        })
    };
    let value = match value {
        None | Some(JsonValue::Null) => {
            if ty.is_non_null() {
                problem(path, "Expected value to not be null".to_owned(), out);
            }
            return;
        }
        Some(v) => v,
    };
    match ty {
        Type::List(inner) | Type::NonNullList(inner) => match value {
            JsonValue::Array(items) => {
                for (i, item) in items.iter().enumerate() {
                    path.push(i.to_string());
                    check_value(schema, inner, Some(item), path, out);
                    path.pop();
                }
            }
            // A single value is coerced to a list of one.
            single => check_value(schema, inner, Some(single), path, out),
        },
        Type::Named(name) | Type::NonNullNamed(name) => match schema.types.get(name) {
            Some(ExtendedType::InputObject(input)) => {
                let Some(fields) = value.as_object() else {
                    let why = format!("Expected {} to be a key-value object.", compact(value));
                    problem(path, why, out);
                    return;
                };
                for key in fields.keys() {
                    if !input.fields.contains_key(key.as_str()) {
                        path.push(key.as_str().to_owned());
                        problem(path, format!("Field is not defined on {name}"), out);
                        path.pop();
                    }
                }
                for (field_name, field) in &input.fields {
                    let present = fields.get(field_name.as_str());
                    if present.is_none() && field.default_value.is_some() {
                        continue;
                    }
                    path.push(field_name.to_string());
                    check_value(schema, &field.ty, present, path, out);
                    path.pop();
                }
            }
            Some(ExtendedType::Enum(e))
                if !value.as_str().is_some_and(|v| e.values.contains_key(v)) =>
            {
                let allowed: Vec<&str> = e.values.keys().map(|k| k.as_str()).collect();
                let why = format!(
                    "Expected {} to be one of: {}",
                    compact(value),
                    allowed.join(", ")
                );
                problem(path, why, out);
            }
            Some(ExtendedType::Scalar(_)) => {
                let ok = match name.as_str() {
                    "Int" => value.as_i64().is_some_and(|v| i32::try_from(v).is_ok()),
                    "Float" => value.is_number(),
                    "String" => value.is_string(),
                    "Boolean" => value.is_boolean(),
                    "ID" => {
                        if value.is_string() || value.is_i64() {
                            let text = value
                                .as_str()
                                .map(str::to_owned)
                                .unwrap_or_else(|| value.to_string());
                            if !text.starts_with("gid://") {
                                problem(path, format!("Invalid global id '{text}'"), out);
                            }
                            true
                        } else {
                            false
                        }
                    }
                    // Shopify's custom scalars (Money, DateTime, URL, JSON, …) are not checked.
                    _ => true,
                };
                if !ok {
                    let why = format!("Could not coerce value {} to {name}", compact(value));
                    problem(path, why, out);
                }
            }
            _ => {}
        },
    }
}

fn compact(value: &JsonValue) -> String {
    serde_json::to_string(value).unwrap_or_default()
}

/// Shopify's `INVALID_VARIABLE` (captures `bulk-operation-status-catalog-cancel.json`,
/// `webhook-subscription-pub-sub-required-fields.json`): problems inside an input object are
/// named in the message, `for a.b (why), c (why)`.
pub fn invalid_variable(
    query: &str,
    definition: &Node<VariableDefinition>,
    value: JsonValue,
    problems: &[Problem],
) -> JsonValue {
    let position = definition
        .location()
        .and_then(|l| position_of(query, l.offset()));
    let named: Vec<String> = problems
        .iter()
        .filter(|p| !p.path.is_empty())
        .map(|p| format!("{} ({})", p.path.join("."), p.explanation))
        .collect();
    let suffix = if named.is_empty() {
        String::new()
    } else {
        format!(" for {}", named.join(", "))
    };
    let problems_json = problems
        .iter()
        .map(|p| {
            let mut map = JsonMap::new();
            map.insert(
                "path",
                JsonValue::Array(p.path.iter().map(|s| JsonValue::from(s.as_str())).collect()),
            );
            map.insert("explanation", p.explanation.clone().into());
            map.insert("message", p.explanation.clone().into());
            JsonValue::Object(map)
        })
        .collect();
    error(
        format!(
            "Variable ${} of type {} was provided invalid value{suffix}",
            definition.name, definition.ty
        ),
        position,
        None,
        "INVALID_VARIABLE",
        vec![
            ("value", value),
            ("problems", JsonValue::Array(problems_json)),
        ],
    )
}

/// 1-based line/column of a byte offset.
fn position_of(text: &str, offset: usize) -> Option<shopify_schema::Position> {
    let before = text.get(..offset)?;
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    Some(shopify_schema::Position { line, column })
}

/// Where in the document a problem sits, in graphql-ruby's terms.
#[derive(Debug, Default)]
struct Place {
    /// `["query Name", "field", …, "argument"]`.
    path: Vec<String>,
    operation_label: String,
    field: Option<String>,
    argument: Option<(String, String)>,
    /// The innermost argument or input-object field holding the offending literal:
    /// (`"Field"` or `"InputObject"`, owner name, argument name, its value text, its declared type).
    literal: Option<(&'static str, String, String, String, String)>,
}

fn locate(document: &ast::Document, text: &str, offset: usize) -> Place {
    let mut place = Place::default();
    let contains = |span: Option<apollo_compiler::parser::SourceSpan>| {
        span.is_some_and(|s| s.offset() <= offset && offset < s.end_offset().max(s.offset() + 1))
    };
    for definition in &document.definitions {
        match definition {
            Definition::OperationDefinition(op) if contains(op.location()) => {
                let kind = op.operation_type.name();
                place.operation_label = match &op.name {
                    Some(name) => format!("{kind} {name}"),
                    None => kind.to_owned(),
                };
                place.path.push(place.operation_label.clone());
                let root = shopify_schema::schema()
                    .root_operation(op.operation_type)
                    .map(|n| n.to_string())
                    .unwrap_or_default();
                descend(&op.selection_set, &root, offset, text, &mut place);
            }
            Definition::FragmentDefinition(f) if contains(f.location()) => {
                place.operation_label = format!("fragment {}", f.name);
                place.path.push(place.operation_label.clone());
                descend(
                    &f.selection_set,
                    &f.type_condition,
                    offset,
                    text,
                    &mut place,
                );
            }
            _ => {}
        }
    }
    place
}

fn descend(selections: &[Selection], parent: &str, offset: usize, text: &str, place: &mut Place) {
    let contains = |span: Option<apollo_compiler::parser::SourceSpan>| {
        span.is_some_and(|s| s.offset() <= offset && offset < s.end_offset().max(s.offset() + 1))
    };
    let schema = shopify_schema::schema();
    let source = |node: &Node<ast::Value>| {
        node.location()
            .and_then(|s| text.get(s.offset()..s.end_offset()))
            .unwrap_or_default()
            .to_owned()
    };
    for selection in selections {
        match selection {
            Selection::Field(field) if contains(field.location()) => {
                let key = field.alias.as_ref().unwrap_or(&field.name);
                place.path.push(key.to_string());
                place.field = Some(field.name.to_string());
                let definition = schema.type_field(parent, &field.name).ok();
                for argument in &field.arguments {
                    if contains(argument.location()) {
                        place.path.push(argument.name.to_string());
                        place.argument = Some((argument.name.to_string(), source(&argument.value)));
                        let declared = definition
                            .and_then(|d| d.argument_by_name(&argument.name))
                            .map(|a| (*a.ty).clone());
                        place.literal = Some((
                            "Field",
                            field.name.to_string(),
                            argument.name.to_string(),
                            source(&argument.value),
                            declared.as_ref().map(|t| t.to_string()).unwrap_or_default(),
                        ));
                        if let Some(ty) = declared {
                            innermost_literal(&argument.value, &ty, offset, text, place);
                        }
                        return;
                    }
                }
                let next = definition
                    .map(|d| d.ty.inner_named_type().to_string())
                    .unwrap_or_default();
                descend(&field.selection_set, &next, offset, text, place);
                return;
            }
            Selection::InlineFragment(inline) if contains(inline.location()) => {
                let next = inline
                    .type_condition
                    .as_ref()
                    .map_or(parent.to_owned(), |t| t.to_string());
                descend(&inline.selection_set, &next, offset, text, place);
                return;
            }
            _ => {}
        }
    }
}

/// Walks into an input-object literal to the field whose value holds `offset` (graphql-ruby names
/// that field, not the outer argument).
fn innermost_literal(
    value: &Node<ast::Value>,
    ty: &Type,
    offset: usize,
    text: &str,
    place: &mut Place,
) {
    let contains = |span: Option<apollo_compiler::parser::SourceSpan>| {
        span.is_some_and(|s| s.offset() <= offset && offset < s.end_offset().max(s.offset() + 1))
    };
    match &**value {
        ast::Value::List(items) => {
            if let Type::List(inner) | Type::NonNullList(inner) = ty {
                for item in items {
                    if contains(item.location()) {
                        innermost_literal(item, inner, offset, text, place);
                    }
                }
            }
        }
        ast::Value::Object(fields) => {
            let Some(ExtendedType::InputObject(input)) =
                shopify_schema::schema().types.get(ty.inner_named_type())
            else {
                return;
            };
            for (name, field_value) in fields {
                if !contains(field_value.location()) {
                    continue;
                }
                let Some(definition) = input.fields.get(name.as_str()) else {
                    return;
                };
                let value_text = field_value
                    .location()
                    .and_then(|s| text.get(s.offset()..s.end_offset()))
                    .unwrap_or_default()
                    .to_owned();
                place.literal = Some((
                    "InputObject",
                    input.name.to_string(),
                    name.to_string(),
                    value_text,
                    definition.ty.to_string(),
                ));
                innermost_literal(field_value, &definition.ty, offset, text, place);
                return;
            }
        }
        _ => {}
    }
}

/// Renames apollo-compiler's diagnostics into Shopify's error objects.
pub fn from_validation(text: &str, problems: &[ValidationError]) -> Vec<JsonValue> {
    // Shopify reports one parse error, not a cascade.
    if let Some(syntax) = problems.iter().find(|p| p.kind == "SyntaxError") {
        let (line, column) = syntax.position.map_or((1, 1), |p| (p.line, p.column));
        let detail = syntax
            .message
            .trim_start_matches("syntax error: ")
            .to_owned();
        let unexpected = if detail.contains("got EOF") || detail.contains("end of file") {
            "unexpected end of file".to_owned()
        } else {
            format!("unexpected {detail}")
        };
        return vec![error(
            format!("syntax error, {unexpected} at [{line}, {column}]"),
            syntax.position,
            None,
            "PARSE_ERROR",
            Vec::new(),
        )];
    }
    let document = match ast::Document::parse(text, "request.graphql") {
        Ok(d) => d,
        Err(with_errors) => with_errors.partial,
    };
    let mut errors: Vec<JsonValue> = problems
        .iter()
        .map(|p| {
            let place = p
                .offset
                .map(|o| locate(&document, text, o))
                .unwrap_or_default();
            shape(p, place)
        })
        .collect();
    errors.extend(unused_through_unknown_arguments(&document, text, problems));
    drop_echoes_of_bad_literals(errors)
}

/// graphql-ruby reports a bad literal once; apollo-compiler also reports the required argument or
/// input field it could not accept as "missing". Those echoes are dropped.
fn drop_echoes_of_bad_literals(errors: Vec<JsonValue>) -> Vec<JsonValue> {
    let path = |e: &JsonValue| -> Vec<String> {
        e.get("path")
            .and_then(|p| p.as_array())
            .map(|a| {
                a.iter()
                    .filter_map(|v| v.as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default()
    };
    let code = |e: &JsonValue| {
        e.get("extensions")
            .and_then(|x| x.get("code"))
            .and_then(|c| c.as_str())
            .unwrap_or_default()
            .to_owned()
    };
    let literal_paths: Vec<Vec<String>> = errors
        .iter()
        .filter(|e| code(e) == "argumentLiteralsIncompatible")
        .map(path)
        .collect();
    errors
        .into_iter()
        .filter(|e| {
            let c = code(e);
            let missing =
                c == "missingRequiredArguments" || c == "missingRequiredInputObjectAttribute";
            !(missing && literal_paths.iter().any(|lp| lp.starts_with(&path(e))))
        })
        .collect()
}

/// A variable whose only use is in an argument the field does not accept counts as unused for
/// graphql-ruby (captured: `argumentNotAccepted` plus `variableNotUsed`); apollo-compiler counts it
/// as used. Adds the missing `variableNotUsed` errors.
fn unused_through_unknown_arguments(
    document: &ast::Document,
    text: &str,
    problems: &[ValidationError],
) -> Vec<JsonValue> {
    let unknown_offsets: Vec<usize> = problems
        .iter()
        .filter(|p| p.kind == "UndefinedArgument")
        .filter_map(|p| p.offset)
        .collect();
    if unknown_offsets.is_empty() {
        return Vec::new();
    }
    let mut out = Vec::new();
    for definition in &document.definitions {
        let Definition::OperationDefinition(op) = definition else {
            continue;
        };
        let mut used = Vec::new();
        let mut in_unknown = Vec::new();
        collect_variable_uses(
            &op.selection_set,
            document,
            &unknown_offsets,
            &mut used,
            &mut in_unknown,
            0,
        );
        let label = match &op.name {
            Some(name) => format!("{} {name}", op.operation_type.name()),
            None => op.operation_type.name().to_owned(),
        };
        let op_name = op
            .name
            .as_ref()
            .map_or("anonymous".to_owned(), |n| n.to_string());
        for variable in &op.variables {
            let name = variable.name.to_string();
            if in_unknown.contains(&name) && !used.contains(&name) {
                let position = op.location().and_then(|l| position_of(text, l.offset()));
                out.push(error(
                    format!("Variable ${name} is declared by {op_name} but not used"),
                    position,
                    Some(vec![label.clone()]),
                    "variableNotUsed",
                    vec![("variableName", JsonValue::from(name))],
                ));
            }
        }
    }
    out
}

fn collect_variable_uses(
    selections: &[Selection],
    document: &ast::Document,
    unknown_offsets: &[usize],
    used: &mut Vec<String>,
    in_unknown: &mut Vec<String>,
    depth: usize,
) {
    if depth > 64 {
        return;
    }
    fn values(value: &ast::Value, out: &mut Vec<String>) {
        match value {
            ast::Value::Variable(name) => out.push(name.to_string()),
            ast::Value::List(items) => items.iter().for_each(|v| values(v, out)),
            ast::Value::Object(fields) => fields.iter().for_each(|(_, v)| values(v, out)),
            _ => {}
        }
    }
    let directive_uses = |directives: &ast::DirectiveList, used: &mut Vec<String>| {
        for d in directives.iter() {
            for a in &d.arguments {
                values(&a.value, used);
            }
        }
    };
    for selection in selections {
        match selection {
            Selection::Field(field) => {
                for argument in &field.arguments {
                    let unknown = argument
                        .location()
                        .is_some_and(|l| unknown_offsets.contains(&l.offset()));
                    if unknown {
                        values(&argument.value, in_unknown);
                    } else {
                        values(&argument.value, used);
                    }
                }
                directive_uses(&field.directives, used);
                collect_variable_uses(
                    &field.selection_set,
                    document,
                    unknown_offsets,
                    used,
                    in_unknown,
                    depth + 1,
                );
            }
            Selection::InlineFragment(inline) => {
                directive_uses(&inline.directives, used);
                collect_variable_uses(
                    &inline.selection_set,
                    document,
                    unknown_offsets,
                    used,
                    in_unknown,
                    depth + 1,
                );
            }
            Selection::FragmentSpread(spread) => {
                directive_uses(&spread.directives, used);
                for definition in &document.definitions {
                    if let Definition::FragmentDefinition(f) = definition
                        && f.name == spread.fragment_name
                    {
                        collect_variable_uses(
                            &f.selection_set,
                            document,
                            unknown_offsets,
                            used,
                            in_unknown,
                            depth + 1,
                        );
                    }
                }
            }
        }
    }
}

fn shape(p: &ValidationError, place: Place) -> JsonValue {
    let name = |i: usize| p.names.get(i).cloned().unwrap_or_default();
    let path = Some(place.path.clone());
    let s = |v: String| JsonValue::from(v);
    match p.kind {
        "UndefinedField" => error(
            format!("Field '{}' doesn't exist on type '{}'", name(1), name(0)),
            p.position,
            path,
            "undefinedField",
            vec![("typeName", s(name(0))), ("fieldName", s(name(1)))],
        ),
        "UndefinedArgument" => {
            let coordinate = name(1);
            let (type_name, owner) = match coordinate.split_once('.') {
                Some((_, field)) => ("Field", field.to_owned()),
                None => ("Directive", coordinate.trim_start_matches('@').to_owned()),
            };
            error(
                format!(
                    "{type_name} '{owner}' doesn't accept argument '{}'",
                    name(0)
                ),
                p.position,
                path,
                "argumentNotAccepted",
                vec![
                    ("name", s(owner)),
                    ("typeName", s(type_name.to_owned())),
                    ("argumentName", s(name(0))),
                ],
            )
        }
        "RequiredArgument" => {
            // `QueryRoot.bulkOperation(id:)` or `@idempotent(key:)`.
            let coordinate = name(0);
            let (owner, argument) = coordinate
                .split_once('(')
                .map(|(o, a)| (o.to_owned(), a.trim_end_matches(":)").to_owned()))
                .unwrap_or_default();
            let (class, owner) = match owner.split_once('.') {
                Some((_, field)) => ("Field", field.to_owned()),
                None => ("Directive", owner.trim_start_matches('@').to_owned()),
            };
            error(
                format!("{class} '{owner}' is missing required arguments: {argument}"),
                p.position,
                path,
                "missingRequiredArguments",
                vec![
                    ("className", s(class.to_owned())),
                    ("name", s(owner)),
                    ("arguments", s(argument)),
                ],
            )
        }
        "UnsupportedValueType"
        | "UndefinedEnumValue"
        | "IntCoercionError"
        | "FloatCoercionError" => {
            let (class, owner, argument, value, expected) =
                place.literal.clone().unwrap_or_default();
            error(
                format!(
                    "Argument '{argument}' on {class} '{owner}' has an invalid value ({value}). Expected type '{expected}'."
                ),
                p.position,
                path,
                "argumentLiteralsIncompatible",
                vec![
                    ("typeName", s(class.to_owned())),
                    ("argumentName", s(argument)),
                ],
            )
        }
        "UndefinedInputValue" => error(
            format!(
                "InputObject '{}' doesn't accept argument '{}'",
                name(1),
                name(0)
            ),
            p.position,
            path,
            "argumentNotAccepted",
            vec![
                ("name", s(name(1))),
                ("typeName", s("InputObject".to_owned())),
                ("argumentName", s(name(0))),
            ],
        ),
        "RequiredField" => {
            let coordinate = name(0);
            let (object, field) = coordinate.split_once('.').unwrap_or(("", &coordinate));
            error(
                format!("Argument '{field}' on InputObject '{object}' is required."),
                p.position,
                path,
                "missingRequiredInputObjectAttribute",
                vec![
                    ("argumentName", s(field.to_owned())),
                    ("inputObjectType", s(object.to_owned())),
                ],
            )
        }
        "UndefinedDirective" => error(
            format!("Directive @{} is not defined", name(0)),
            p.position,
            path,
            "undefinedDirective",
            vec![("directiveName", s(name(0)))],
        ),
        "UnsupportedLocation" => {
            // "{name} directive is not supported for {location} location"
            let directive = p
                .message
                .split_whitespace()
                .next()
                .unwrap_or_default()
                .trim_start_matches('@')
                .to_owned();
            let target = p
                .message
                .split(" for ")
                .nth(1)
                .and_then(|r| r.strip_suffix(" location"))
                .unwrap_or_default()
                .to_lowercase();
            error(
                format!("'@{directive}' can't be applied to {target}s (allowed: fields)"),
                p.position,
                path,
                "directiveCannotBeApplied",
                vec![("targetName", s(target)), ("name", s(directive))],
            )
        }
        "UnusedVariable" => error(
            format!(
                "Variable ${} is declared by {} but not used",
                name(0),
                operation_name(&place)
            ),
            p.position,
            Some(place.path.iter().take(1).cloned().collect()),
            "variableNotUsed",
            vec![("variableName", s(name(0)))],
        ),
        "UndefinedVariable" => error(
            format!(
                "Variable ${} is used by {} but not declared",
                name(0),
                operation_name(&place)
            ),
            p.position,
            path,
            "variableNotDefined",
            vec![("variableName", s(name(0)))],
        ),
        "UndefinedFragment" => error(
            format!("Fragment {} was used, but not defined", name(0)),
            p.position,
            path,
            "useAndDefineFragment",
            vec![("fragmentName", s(name(0)))],
        ),
        "UnusedFragment" => error(
            format!("Fragment {} was defined, but not used", name(0)),
            p.position,
            path,
            "useAndDefineFragment",
            vec![("fragmentName", s(name(0)))],
        ),
        "MissingSubselection" => {
            let field = place.field.clone().unwrap_or_default();
            error(
                format!(
                    "Field must have selections (field '{field}' has no selections. Did you mean '{field} {{ ... }}'?)"
                ),
                p.position,
                path,
                "selectionMismatch",
                vec![("nodeName", s(format!("field '{field}'")))],
            )
        }
        "SubselectionOnScalarType" | "SubselectionOnEnumType" => {
            let field = place.field.clone().unwrap_or_default();
            error(
                format!("Selections can't be made on scalars (field '{field}' has selections)"),
                p.position,
                path,
                "selectionMismatch",
                vec![("nodeName", s(format!("field '{field}'")))],
            )
        }
        "UndefinedDefinition" => error(
            format!("No such type {}, so it can't be used here", name(0)),
            p.position,
            path,
            "undefinedType",
            vec![("typeName", s(name(0)))],
        ),
        "DisallowedVariableUsage" => error(
            format!("Type mismatch on variable: {}", p.message),
            p.position,
            path,
            "variableMismatch",
            Vec::new(),
        ),
        "ConflictingFieldType" | "ConflictingFieldName" | "ConflictingFieldArgument" => error(
            format!("Field conflict: {}", p.message),
            p.position,
            path,
            "fieldConflict",
            Vec::new(),
        ),
        other => {
            // Anything else keeps apollo-compiler's precise message; the code is its rule name.
            let mut code = other.to_owned();
            if let Some(first) = code.get_mut(..1) {
                first.make_ascii_lowercase();
            }
            error(p.message.clone(), p.position, path, &code, Vec::new())
        }
    }
}

fn operation_name(place: &Place) -> String {
    place
        .operation_label
        .split_once(' ')
        .map_or_else(|| "anonymous".to_owned(), |(_, name)| name.to_owned())
}
