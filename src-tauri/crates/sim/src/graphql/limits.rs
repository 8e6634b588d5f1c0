//! Input-size limit: every array argument, at any depth of any field's arguments, holds at most
//! 250 items ([C doc], FACTS §4). A larger one rejects the request before anything runs, with
//! `MAX_INPUT_SIZE_EXCEEDED` and no `data` (shape as modelled from captures by a third-party
//! emulator [I]).

use apollo_compiler::ExecutableDocument;
use apollo_compiler::executable::{Operation, Selection, SelectionSet};
use apollo_compiler::response::{JsonMap, JsonValue};

use super::mutations::to_json;

pub const MAX_INPUT_ITEMS: usize = 250;

/// One error per oversized array found in the operation's arguments.
pub fn oversized_inputs(
    document: &ExecutableDocument,
    operation: &Operation,
    variables: &JsonMap,
) -> Vec<JsonValue> {
    let mut errors = Vec::new();
    walk(
        document,
        &operation.selection_set,
        variables,
        &mut Vec::new(),
        &mut errors,
        0,
    );
    errors
}

fn walk(
    document: &ExecutableDocument,
    set: &SelectionSet,
    variables: &JsonMap,
    path: &mut Vec<String>,
    errors: &mut Vec<JsonValue>,
    depth: usize,
) {
    if depth > 64 {
        return;
    }
    for selection in &set.selections {
        match selection {
            Selection::Field(field) => {
                path.push(field.response_key().to_string());
                for argument in &field.arguments {
                    path.push(argument.name.to_string());
                    scan(&to_json(&argument.value, variables), path, errors);
                    path.pop();
                }
                walk(
                    document,
                    &field.selection_set,
                    variables,
                    path,
                    errors,
                    depth + 1,
                );
                path.pop();
            }
            Selection::InlineFragment(inline) => walk(
                document,
                &inline.selection_set,
                variables,
                path,
                errors,
                depth + 1,
            ),
            Selection::FragmentSpread(spread) => {
                if let Some(fragment) = document.fragments.get(&spread.fragment_name) {
                    walk(
                        document,
                        &fragment.selection_set,
                        variables,
                        path,
                        errors,
                        depth + 1,
                    );
                }
            }
        }
    }
}

fn scan(value: &JsonValue, path: &mut Vec<String>, errors: &mut Vec<JsonValue>) {
    match value {
        JsonValue::Array(items) => {
            if items.len() > MAX_INPUT_ITEMS {
                errors.push(too_many(path, items.len()));
            } else {
                for (i, item) in items.iter().enumerate() {
                    path.push(i.to_string());
                    scan(item, path, errors);
                    path.pop();
                }
            }
        }
        JsonValue::Object(map) => {
            for (key, v) in map {
                path.push(key.as_str().to_owned());
                scan(v, path, errors);
                path.pop();
            }
        }
        _ => {}
    }
}

fn too_many(path: &[String], size: usize) -> JsonValue {
    let mut error = JsonMap::new();
    error.insert(
        "message",
        format!(
            "The input array size of {size} is greater than the maximum allowed of {MAX_INPUT_ITEMS}."
        )
        .into(),
    );
    error.insert(
        "path",
        JsonValue::Array(path.iter().map(|p| JsonValue::from(p.as_str())).collect()),
    );
    let mut extensions = JsonMap::new();
    extensions.insert("code", "MAX_INPUT_SIZE_EXCEEDED".into());
    error.insert("extensions", JsonValue::Object(extensions));
    JsonValue::Object(error)
}
