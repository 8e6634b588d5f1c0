//! What can go wrong talking to Shopify, in words a store owner can act on.
//!
//! No variant carries a token or a secret: bodies of failed answers are kept only as a
//! short snippet, and auth failures keep Shopify's reason text, never what was sent.

use crate::envelope::GraphqlError;

#[derive(Debug, Clone, thiserror::Error)]
pub enum ShopifyError {
    #[error("{shop} refused Shelfsync's credentials ({reason}). Re-connect the store.")]
    Unauthorized { shop: String, reason: String },
    #[error(
        "Could not reach {shop}: {detail}. Shelfsync will keep trying; check the network if this persists."
    )]
    Network { shop: String, detail: String },
    #[error("{shop} answered HTTP {status}: {snippet}")]
    Http {
        shop: String,
        status: u16,
        snippet: String,
    },
    #[error(
        "{shop} kept throttling the request after {attempts} tries; it will run again when the store's API budget recovers."
    )]
    Throttled { shop: String, attempts: u32 },
    #[error(
        "The request would cost {cost} points, over Shopify's limit of {max} per query; it must be split or run as a bulk operation."
    )]
    MaxCostExceeded { cost: f64, max: f64 },
    #[error("Shopify rejected {operation}: {}", summarize(.errors))]
    Graphql {
        operation: &'static str,
        errors: Vec<GraphqlError>,
    },
    #[error("Shopify's answer to {operation} could not be read: {detail}")]
    Decode {
        operation: &'static str,
        detail: String,
    },
    #[error("Invalid store address {0:?}")]
    InvalidAddress(String),
}

fn summarize(errors: &[GraphqlError]) -> String {
    let parts: Vec<String> = errors
        .iter()
        .take(3)
        .map(|e| match e.code() {
            Some(code) => format!("{} ({code})", e.message),
            None => e.message.clone(),
        })
        .collect();
    let mut text = parts.join("; ");
    if errors.len() > 3 {
        text.push_str(&format!("; and {} more", errors.len() - 3));
    }
    text
}

impl ShopifyError {
    /// The top-level GraphQL error codes, if this is a GraphQL rejection.
    pub fn codes(&self) -> Vec<&str> {
        match self {
            ShopifyError::Graphql { errors, .. } => {
                errors.iter().filter_map(|e| e.code()).collect()
            }
            _ => Vec::new(),
        }
    }

    /// Whether trying again later (not immediately) could succeed.
    pub fn is_transient(&self) -> bool {
        matches!(
            self,
            ShopifyError::Network { .. } | ShopifyError::Throttled { .. }
        ) || matches!(self, ShopifyError::Http { status, .. } if *status >= 500 || *status == 429)
    }
}
