//! Shopify's GraphQL response envelope: `{data, errors, extensions}`, each key optional.
//!
//! Two quirks matter: a 401 (and some other failures) carry `errors` as a *string*, not an
//! array; and `extensions.cost` mixes integers and floats (`2000` and `2000.0`), so every
//! number is read as `f64`.

use serde::Deserialize;
use serde_json::Value;

#[derive(Debug, Deserialize)]
pub struct Envelope {
    #[serde(default)]
    pub data: Option<Value>,
    #[serde(default)]
    pub errors: Option<Errors>,
    #[serde(default)]
    pub extensions: Option<Extensions>,
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub enum Errors {
    Text(String),
    List(Vec<GraphqlError>),
}

impl Errors {
    pub fn into_list(self) -> Vec<GraphqlError> {
        match self {
            Errors::Text(message) => vec![GraphqlError {
                message,
                extensions: None,
                path: None,
            }],
            Errors::List(list) => list,
        }
    }
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
pub struct GraphqlError {
    pub message: String,
    #[serde(default)]
    pub extensions: Option<ErrorExtensions>,
    #[serde(default)]
    pub path: Option<Vec<Value>>,
}

impl GraphqlError {
    pub fn code(&self) -> Option<&str> {
        self.extensions.as_ref()?.code.as_deref()
    }
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
pub struct ErrorExtensions {
    #[serde(default)]
    pub code: Option<String>,
    #[serde(default)]
    pub cost: Option<f64>,
    #[serde(default, rename = "maxCost")]
    pub max_cost: Option<f64>,
}

#[derive(Debug, Deserialize)]
pub struct Extensions {
    #[serde(default)]
    pub cost: Option<Cost>,
}

#[derive(Debug, Clone, Copy, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Cost {
    pub requested_query_cost: f64,
    #[serde(default)]
    pub actual_query_cost: Option<f64>,
    pub throttle_status: ThrottleStatus,
}

#[derive(Debug, Clone, Copy, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct ThrottleStatus {
    pub maximum_available: f64,
    pub currently_available: f64,
    pub restore_rate: f64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_a_throttled_answer_with_mixed_number_types() {
        let body = r#"{"errors":[{"message":"Throttled","extensions":{"code":"THROTTLED","documentation":"https://shopify.dev/api/usage/rate-limits"}}],
          "extensions":{"cost":{"requestedQueryCost":862,"actualQueryCost":null,
          "throttleStatus":{"maximumAvailable":4000.0,"currentlyAvailable":572,"restoreRate":200.0}}}}"#;
        let env: Envelope = serde_json::from_str(body).unwrap();
        let errors = env.errors.unwrap().into_list();
        assert_eq!(errors[0].code(), Some("THROTTLED"));
        let cost = env.extensions.unwrap().cost.unwrap();
        assert_eq!(cost.actual_query_cost, None);
        assert_eq!(cost.throttle_status.currently_available, 572.0);
        assert!(env.data.is_none());
    }

    #[test]
    fn reads_errors_given_as_a_plain_string() {
        let body = r#"{"errors":"[API] Invalid API key or access token (unrecognized login or wrong password)"}"#;
        let env: Envelope = serde_json::from_str(body).unwrap();
        let errors = env.errors.unwrap().into_list();
        assert!(errors[0].message.contains("Invalid API key"));
        assert_eq!(errors[0].code(), None);
    }
}
