//! Mutations. They run before the payload is resolved: each supported root field is performed on
//! the store under the write lock and leaves an [`Outcome`]; the resolvers then read outcomes only.

use std::collections::HashMap;

use apollo_compiler::ExecutableDocument;
use apollo_compiler::executable::Operation;
use apollo_compiler::resolvers::{FieldError, ResolveInfo, ResolvedValue};
use apollo_compiler::response::JsonMap;
use apollo_compiler::validation::Valid;

use super::FieldFailure;
use super::resolve::Ctx;
use crate::clock::UnixMillis;
use crate::cost::field_key;
use crate::store::Store;

/// Results of the mutation fields of one request, keyed by field.
#[derive(Default)]
pub struct Outcomes {
    by_field: HashMap<usize, Outcome>,
}

impl Outcomes {
    pub fn get(&self, info: &ResolveInfo<'_>) -> Option<&Outcome> {
        self.by_field.get(&field_key(info.field_selections()[0]))
    }
}

pub enum Outcome {
    /// The root field fails with a top-level error and `data.<root>: null`.
    Failed(FieldFailure),
}

impl Outcome {
    pub fn type_name(&self) -> &str {
        match self {
            Outcome::Failed(_) => "Mutation",
        }
    }

    /// The value of the root mutation field.
    pub fn root<'a>(&'a self, _ctx: Ctx<'a>) -> Result<ResolvedValue<'a>, FieldError> {
        match self {
            Outcome::Failed(failure) => Err(failure.clone().into()),
        }
    }

    pub fn resolve<'a>(
        &'a self,
        _ctx: Ctx<'a>,
        _info: &'a ResolveInfo<'a>,
    ) -> Result<ResolvedValue<'a>, FieldError> {
        match self {
            Outcome::Failed(failure) => Err(failure.clone().into()),
        }
    }
}

/// A remembered `@idempotent` key.
#[derive(Debug, Clone)]
pub struct IdempotencyRecord {
    pub fingerprint: String,
    pub at: UnixMillis,
}

pub fn perform(
    _store: &mut Store,
    _keys: &mut HashMap<String, IdempotencyRecord>,
    _document: &Valid<ExecutableDocument>,
    _operation: &Operation,
    _variables: &JsonMap,
    _now: UnixMillis,
) -> Outcomes {
    Outcomes::default()
}
