//! The one error shape the UI sees: `{code, message}`.
//!
//! Engine errors are rich `thiserror` enums; at the command boundary each is mapped to a
//! small closed set of codes the UI can switch on (show the Connect page, offer a retry,
//! point at the keychain) and a message written for a store owner. The message is the
//! engine error's own text, which never contains a secret.

use serde::Serialize;
use shelfsync_engine::CredentialError;
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
}

impl UiError {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
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
}
