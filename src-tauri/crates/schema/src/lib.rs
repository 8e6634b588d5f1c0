//! The Shopify Admin GraphQL API **2026-07** schema, kept in this crate as SDL, and a validator for
//! executable documents against it.
//!
//! Why a crate of its own: the simulator must reject exactly the documents Shopify rejects, and the
//! engine's tests must prove that every document the app sends is valid against the real schema.
//! Both use [`validate`], so they cannot drift apart. Validation is done by `apollo-compiler`
//! (a complete GraphQL implementation), never by hand-rolled checks.
//!
//! The schema (3.7 MB of SDL) is parsed and validated once, on first use, and shared for the life
//! of the process. See `schema/PROVENANCE.md` for where the file comes from.

use std::sync::LazyLock;

pub use apollo_compiler;
use apollo_compiler::diagnostic::ToCliReport;
use apollo_compiler::validation::Valid;
use apollo_compiler::{ExecutableDocument, Schema};

/// The API version the bundled schema describes.
pub const API_VERSION: &str = "2026-07";

/// The SDL text, exactly as copied (checksum in `schema/PROVENANCE.md`).
pub const SCHEMA_SDL: &str = include_str!("../schema/admin-2026-07.graphql");

/// Declarations graphql-js leaves out of printed SDL but the schema relies on.
const BUILTINS_SDL: &str = include_str!("builtins.graphql");

/// Name under which documents appear in diagnostics.
const DOCUMENT_PATH: &str = "request.graphql";

static SCHEMA: LazyLock<Result<Valid<Schema>, String>> = LazyLock::new(build_schema);

fn build_schema() -> Result<Valid<Schema>, String> {
    let schema = Schema::builder()
        .parse(BUILTINS_SDL, "builtins.graphql")
        .parse(SCHEMA_SDL, "admin-2026-07.graphql")
        .build()
        .map_err(|e| e.errors.to_string())?;
    schema.validate().map_err(|e| e.errors.to_string())
}

/// The parsed and validated 2026-07 schema.
///
/// # Panics
/// Only if the bundled SDL itself is invalid, which the crate's tests rule out: there is no way to
/// serve or check anything without the schema, so this is a build defect, not a run-time condition.
pub fn schema() -> &'static Valid<Schema> {
    match &*SCHEMA {
        Ok(schema) => schema,
        Err(errors) => panic!("the bundled Admin 2026-07 schema does not validate:\n{errors}"),
    }
}

static IMPLEMENTERS: LazyLock<
    apollo_compiler::collections::HashMap<
        apollo_compiler::Name,
        apollo_compiler::schema::Implementers,
    >,
> = LazyLock::new(|| schema().implementers_map());

/// Which object types implement each interface, computed once (execution needs it for fragments on
/// interfaces such as `Node`).
pub fn implementers_map() -> &'static apollo_compiler::collections::HashMap<
    apollo_compiler::Name,
    apollo_compiler::schema::Implementers,
> {
    &IMPLEMENTERS
}

/// A line/column position in the validated document, 1-based like GraphQL responses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Position {
    pub line: usize,
    pub column: usize,
}

/// One reason a document was rejected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidationError {
    /// What kind of rule was broken, as `apollo-compiler` names it (`"UndefinedField"`,
    /// `"RequiredArgument"`, `"SyntaxError"`, …). Stable enough to map onto Shopify's codes.
    pub kind: &'static str,
    /// A precise human message naming the offending type, field, argument or variable.
    pub message: String,
    /// Where the problem is, when known.
    pub position: Option<Position>,
    /// The byte offset of the problem in the document, when known (used to compute response paths).
    pub offset: Option<usize>,
    /// The names quoted in [`Self::message`] (between backticks), in order: for an undefined field
    /// `["UserError", "code"]`, for an unknown argument `["clientIdentifier", "Mutation.bulkOperationRunQuery"]`.
    pub names: Vec<String>,
}

impl std::fmt::Display for ValidationError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.position {
            Some(p) => write!(f, "{} (line {}, column {})", self.message, p.line, p.column),
            None => f.write_str(&self.message),
        }
    }
}

/// Parses and validates an executable document (query, mutation, fragments) against the 2026-07
/// schema. On failure every problem is returned, never just the first.
pub fn validate(document_text: &str) -> Result<Valid<ExecutableDocument>, Vec<ValidationError>> {
    ExecutableDocument::parse_and_validate(schema(), document_text, DOCUMENT_PATH).map_err(|e| {
        let spans: Vec<(&'static str, usize, usize)> = e
            .errors
            .iter()
            .filter_map(|d| {
                let l = d.error.location()?;
                Some((classify(d.error), l.offset(), l.end_offset()))
            })
            .collect();
        // apollo-compiler drops an undefined field from its parent's selection set and then also
        // reports the parent as having no subselection. That second error is an echo of the
        // first (Shopify reports only the undefined field), so it is left out.
        let echoes = |d: &apollo_compiler::diagnostic::Diagnostic<'_, _>| {
            let error: &apollo_compiler::validation::DiagnosticData = d.error;
            classify(error) == "MissingSubselection"
                && error.location().is_some_and(|l| {
                    spans.iter().any(|&(kind, start, _)| {
                        kind != "MissingSubselection"
                            && start > l.offset()
                            && start < l.end_offset()
                    })
                })
        };
        e.errors
            .iter()
            .filter(|d| !echoes(d))
            .map(|diagnostic| {
                let kind = classify(diagnostic.error);
                let message = diagnostic.error.to_string();
                let position = diagnostic.line_column_range().map(|r| Position {
                    line: r.start.line,
                    column: r.start.column,
                });
                let offset = diagnostic.error.location().map(|l| l.offset());
                let names = backticked(&message);
                ValidationError {
                    kind,
                    message,
                    position,
                    offset,
                    names,
                }
            })
            .collect()
    })
}

fn classify(error: &apollo_compiler::validation::DiagnosticData) -> &'static str {
    if let Some(name) = error.unstable_error_name() {
        return name;
    }
    // The remaining categories have no name of their own: syntax errors, parser limits and
    // schema-build problems (the latter cannot occur for an executable document).
    let text = error.to_string();
    if text.starts_with("syntax error") {
        "SyntaxError"
    } else {
        "Other"
    }
}

/// The substrings between pairs of backticks, with a leading `$` or `@` removed.
fn backticked(message: &str) -> Vec<String> {
    message
        .split('`')
        .skip(1)
        .step_by(2)
        .map(|s| s.trim_start_matches(['$', '@']).to_owned())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backticked_names_are_extracted_in_order() {
        assert_eq!(
            backticked("type `UserError` does not have a field `code`"),
            vec!["UserError".to_owned(), "code".to_owned()]
        );
        assert_eq!(backticked("unused variable: `$x`"), vec!["x".to_owned()]);
        assert!(backticked("no names").is_empty());
    }
}
