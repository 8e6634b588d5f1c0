//! Every GraphQL document the client can send is valid against the real Admin 2026-07
//! schema, and every file under `graphql/` is one the client actually uses.

use shelfsync_shopify::operations::DOCUMENTS;
use std::path::Path;

#[test]
fn every_document_validates_against_the_2026_07_schema() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("graphql");
    let mut files = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "graphql") {
            files += 1;
            let text = std::fs::read_to_string(&path).unwrap();
            if let Err(errors) = shopify_schema::validate(&text) {
                panic!(
                    "{} is not valid against Admin 2026-07:\n{errors:#?}",
                    path.display()
                );
            }
            assert!(
                DOCUMENTS.iter().any(|(_, doc)| *doc == text),
                "{} is not registered in operations::DOCUMENTS",
                path.display()
            );
        }
    }
    assert_eq!(files, DOCUMENTS.len(), "a registered document has no file");
}

#[test]
fn each_operation_is_named_as_registered() {
    for (name, doc) in DOCUMENTS {
        let declared = doc
            .split_whitespace()
            .skip_while(|w| *w != "query" && *w != "mutation")
            .nth(1)
            .map(|w| w.split(['(', '{']).next().unwrap_or(w))
            .unwrap_or_default();
        assert_eq!(
            declared, *name,
            "document registered as {name} declares {declared}"
        );
    }
}
