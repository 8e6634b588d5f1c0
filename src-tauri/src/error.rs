//! The one error shape the UI sees: `{code, message}`.
//!
//! Engine errors are rich `thiserror` enums; at the command boundary each is mapped to a
//! small closed set of codes the UI can switch on (show the Connect page, offer a retry,
//! point at the keychain) and a message written for a store owner. The message is the
//! engine error's own text, which never contains a secret.

use serde::Serialize;
use shelfsync_engine::{CredentialError, EngineError, SyncError};
use shelfsync_shopify::ShopifyError;
use ts_rs::TS;

/// What kind of problem this is, so the UI can choose what to offer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    /// No store is connected yet: show Connect.
    NotConnected,
    /// The store refused the credentials: reconnect.
    Credentials,
    /// The OS keychain is missing or locked.
    Keychain,
    /// The store (or the network) could not be reached: retry later.
    StoreUnreachable,
    /// The request itself was wrong (a bad file, a bad value).
    InvalidInput,
    /// Something changed underneath the request (a stale write).
    Conflict,
    /// A bug or an unexpected failure.
    Internal,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
pub struct UiError {
    pub code: ErrorCode,
    pub message: String,
    /// The form field the problem is about (e.g. `port`), so the UI shows it where the
    /// person typed; absent for problems that are not about one field.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub field: Option<String>,
}

impl UiError {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
            field: None,
        }
    }
}

impl From<CredentialError> for UiError {
    fn from(err: CredentialError) -> Self {
        let code = match &err {
            CredentialError::Missing { .. } => ErrorCode::Credentials,
            CredentialError::Unavailable { .. }
            | CredentialError::Locked { .. }
            | CredentialError::Rejected { .. } => ErrorCode::Keychain,
        };
        UiError::new(code, err.to_string())
    }
}

fn shopify_code(err: &ShopifyError) -> ErrorCode {
    match err {
        ShopifyError::Unauthorized { .. } => ErrorCode::Credentials,
        ShopifyError::Network { .. } | ShopifyError::Throttled { .. } => {
            ErrorCode::StoreUnreachable
        }
        ShopifyError::Http { status, .. } if *status >= 500 || *status == 429 => {
            ErrorCode::StoreUnreachable
        }
        ShopifyError::InvalidAddress(_) => ErrorCode::InvalidInput,
        _ => ErrorCode::Internal,
    }
}

impl From<EngineError> for UiError {
    fn from(err: EngineError) -> Self {
        let code = match &err {
            EngineError::NotConnected => ErrorCode::NotConnected,
            EngineError::Credentials(c) => return UiError::from(clone_credential_error(c)),
            EngineError::Shopify(s) | EngineError::Sync(SyncError::Shopify(s)) => shopify_code(s),
            EngineError::Cache(_) | EngineError::Sync(_) | EngineError::Files { .. } => {
                ErrorCode::Internal
            }
        };
        UiError::new(code, err.to_string())
    }
}

fn clone_credential_error(err: &CredentialError) -> CredentialError {
    match err {
        CredentialError::Missing { store, kind } => CredentialError::Missing {
            store: store.clone(),
            kind,
        },
        CredentialError::Unavailable { store, detail } => CredentialError::Unavailable {
            store: store.clone(),
            detail: detail.clone(),
        },
        CredentialError::Locked { store, detail } => CredentialError::Locked {
            store: store.clone(),
            detail: detail.clone(),
        },
        CredentialError::Rejected {
            store,
            kind,
            detail,
        } => CredentialError::Rejected {
            store: store.clone(),
            kind,
            detail: detail.clone(),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use shelfsync_engine::StoreKey;

    #[test]
    fn keychain_errors_reach_the_ui_as_keychain_with_the_next_step() {
        let err = CredentialError::Locked {
            store: StoreKey::new("shop.myshopify.com"),
            detail: "prompt dismissed".into(),
        };
        let ui = UiError::from(err);
        assert_eq!(ui.code, ErrorCode::Keychain);
        assert!(ui.message.contains("Unlock"), "{}", ui.message);
        let json = serde_json::to_value(&ui).unwrap();
        assert_eq!(json["code"], "keychain");
        assert_eq!(
            json.as_object().unwrap().len(),
            2,
            "exactly {{code, message}}"
        );
    }

    #[test]
    fn a_refused_credential_asks_to_reconnect_and_an_outage_to_wait() {
        let refused = UiError::from(EngineError::Shopify(ShopifyError::Unauthorized {
            shop: "shop.myshopify.com".into(),
            reason: "Invalid API key or access token".into(),
        }));
        assert_eq!(refused.code, ErrorCode::Credentials);
        assert!(
            refused.message.contains("Re-connect"),
            "{}",
            refused.message
        );
        let down = UiError::from(EngineError::Shopify(ShopifyError::Network {
            shop: "shop.myshopify.com".into(),
            detail: "connection refused".into(),
        }));
        assert_eq!(down.code, ErrorCode::StoreUnreachable);
        assert_eq!(
            UiError::from(EngineError::NotConnected).code,
            ErrorCode::NotConnected
        );
    }
}
