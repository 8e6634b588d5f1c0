//! The schema crate's contract: the bundled schema is the recorded file, valid documents pass, and
//! broken documents are rejected with errors precise enough to act on.

use shopify_schema::validate;
use std::path::{Path, PathBuf};

fn examples(kind: &str) -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/examples")
        .join(kind);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|entry| entry.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "graphql"))
        .collect();
    files.sort();
    files
}

#[test]
fn schema_file_matches_recorded_checksum() {
    // sha256 recorded in schema/PROVENANCE.md.
    let sdl = shopify_schema::SCHEMA_SDL.as_bytes();
    let provenance = include_str!("../schema/PROVENANCE.md");
    let digest = sha256_hex(sdl);
    assert!(
        provenance.contains(&digest),
        "schema file changed: sha256 {digest} is not the one recorded in PROVENANCE.md"
    );
}

#[test]
fn schema_knows_the_2026_07_surface() {
    let schema = shopify_schema::schema();
    let query = schema.get_object("QueryRoot").expect("QueryRoot");
    assert!(query.fields.contains_key("inventoryItems"));
    let input = schema
        .get_input_object("InventoryQuantityInput")
        .expect("InventoryQuantityInput");
    assert!(input.fields.contains_key("changeFromQuantity"));
    assert!(!input.fields.contains_key("compareQuantity"));
    assert!(schema.directive_definitions.contains_key("idempotent"));
}

#[test]
fn shared_valid_examples_pass() {
    // As in the shared validator, a fragment-only file supplies fragments to the files that spread
    // them; it is checked through those files (the "unused fragment" rule does not apply to it).
    let files = examples("valid");
    assert_eq!(files.len(), 4, "expected the four copied examples");
    let texts: Vec<(PathBuf, String)> = files
        .into_iter()
        .map(|f| {
            let t = std::fs::read_to_string(&f).unwrap();
            (f, t)
        })
        .collect();
    let is_fragment_only = |t: &str| {
        t.lines()
            .filter(|l| !l.starts_with([' ', '}', '#']) && !l.trim().is_empty())
            .all(|l| l.starts_with("fragment "))
    };
    let fragment_files: Vec<&String> = texts
        .iter()
        .filter(|(_, t)| is_fragment_only(t))
        .map(|(_, t)| t)
        .collect();
    assert_eq!(fragment_files.len(), 1);
    let mut checked = 0;
    for (file, text) in texts.iter().filter(|(_, t)| !is_fragment_only(t)) {
        let mut document = text.clone();
        if text.contains("...") {
            for fragments in &fragment_files {
                document.push_str(fragments);
            }
        }
        if let Err(errors) = validate(&document) {
            panic!("{} rejected: {errors:#?}", file.display());
        }
        checked += 1;
    }
    assert_eq!(checked, 3);
}

#[test]
fn removed_compare_quantity_inputs_are_rejected() {
    let text = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/examples/invalid/old_compare.graphql"),
    )
    .unwrap();
    let errors = validate(&text).unwrap_err();
    let undefined: Vec<_> = errors
        .iter()
        .filter(|e| e.kind == "UndefinedInputValue")
        .map(|e| e.names[0].as_str())
        .collect();
    assert!(undefined.contains(&"ignoreCompareQuantity"), "{errors:#?}");
    assert!(undefined.contains(&"compareQuantity"), "{errors:#?}");
}

#[test]
fn truncated_document_is_a_syntax_error_with_position() {
    let text = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/examples/invalid/syntax.graphql"),
    )
    .unwrap();
    let errors = validate(&text).unwrap_err();
    assert!(
        errors.iter().any(|e| e.kind == "SyntaxError"),
        "{errors:#?}"
    );
    assert!(errors.iter().all(|e| e.position.is_some()));
}

#[test]
fn missing_idempotent_is_a_run_time_rule_not_a_validation_error() {
    // The 2026-07 schema declares @idempotent as optional; Shopify enforces it while executing.
    let text = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/examples/invalid/no_idempotent.graphql"),
    )
    .unwrap();
    assert!(validate(&text).is_ok());
}

#[test]
fn misspelt_field_is_rejected_precisely() {
    let errors = validate("query Q {\n  shop {\n    nmae\n  }\n}\n").unwrap_err();
    assert_eq!(errors.len(), 1, "{errors:#?}");
    let error = &errors[0];
    assert_eq!(error.kind, "UndefinedField");
    assert_eq!(error.names, vec!["Shop".to_owned(), "nmae".to_owned()]);
    assert_eq!(
        error.position,
        Some(shopify_schema::Position { line: 3, column: 5 })
    );
    assert!(error.message.contains("nmae"), "{}", error.message);
}

#[test]
fn wrong_argument_and_missing_argument_are_named() {
    let errors =
        validate("{ product { id } productVariants(frist: 2) { nodes { id } } }").unwrap_err();
    let kinds: Vec<_> = errors.iter().map(|e| e.kind).collect();
    assert!(kinds.contains(&"RequiredArgument"), "{errors:#?}");
    assert!(kinds.contains(&"UndefinedArgument"), "{errors:#?}");
    let unknown = errors
        .iter()
        .find(|e| e.kind == "UndefinedArgument")
        .unwrap();
    assert_eq!(unknown.names[0], "frist");
}

fn sha256_hex(data: &[u8]) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(data)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}
