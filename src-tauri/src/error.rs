//! The one error shape the UI sees: `{code, message}`.
//!
//! Engine errors are rich `thiserror` enums; at the command boundary each is mapped to a
//! small closed set of codes the UI can switch on (show the Connect page, offer a retry,
//! point at the keychain) and a message written for a store owner. The message is the
//! engine error's own text, which never contains a secret.

use serde::Serialize;
use shelfsync_engine::{BulkError, CredentialError, EngineError, SyncError};
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
            EngineError::Bulk(b) => return bulk_error(b),
            EngineError::Cache(_) | EngineError::Sync(_) | EngineError::Files { .. } => {
                ErrorCode::Internal
            }
        };
        UiError::new(code, err.to_string())
    }
}

impl From<BulkError> for UiError {
    fn from(err: BulkError) -> Self {
        bulk_error(&err)
    }
}

/// A bulk update's error for the UI. A problem with the file or with the update's state is
/// the owner's to fix (invalid input); Shopify out of reach is worth a retry; the rest is ours.
/// Where the engine's text speaks of the command line, the app's says what to do here.
fn bulk_error(err: &BulkError) -> UiError {
    let code = match err {
        BulkError::Import(_)
        | BulkError::NotSynced
        | BulkError::Unresolved(_)
        | BulkError::Unknown(_)
        | BulkError::WrongState { .. } => ErrorCode::InvalidInput,
        BulkError::Interrupted { .. } => ErrorCode::StoreUnreachable,
        BulkError::Shopify(s) => shopify_code(s),
        BulkError::Cache(_) | BulkError::Unexpected(_) | BulkError::Journal { .. } => {
            ErrorCode::Internal
        }
    };
    let message = match err {
        BulkError::Import(e) => {
            format!("Shelfsync {e}. Check the path, and that the file is there and readable.")
        }
        BulkError::NotSynced => "Shelfsync has no copy of the store yet. Wait for the first sync \
                                 to finish, then choose the file again."
            .into(),
        BulkError::Unresolved(n) => format!(
            "The file has {n} {} Shelfsync cannot apply. Fix the file and choose it again, or \
             choose to skip the rows with problems.",
            if *n == 1 { "row" } else { "rows" }
        ),
        BulkError::Unknown(id) => format!(
            "Shelfsync has no bulk update {id}. Reopen the Bulk update page to see the current ones."
        ),
        BulkError::WrongState { state, what, .. } => format!(
            "This bulk update is {} now: {what}. Reopen the Bulk update page to see where it \
             stands.",
            crate::bulk::state_words(*state)
        ),
        BulkError::Interrupted { detail, .. } => format!(
            "The bulk update stopped because Shopify could not be reached ({detail}). Nothing is \
             lost: it is saved, and the Bulk update page offers to roll it back or finish it once \
             the store answers again."
        ),
        other => other.to_string(),
    };
    UiError::new(code, message)
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

    #[test]
    fn bulk_update_errors_say_whose_move_it_is() {
        let refused = UiError::from(EngineError::Bulk(BulkError::Unresolved(3)));
        assert_eq!(refused.code, ErrorCode::InvalidInput);
        assert!(
            refused.message.contains("skip the rows"),
            "{}",
            refused.message
        );
        let done = UiError::from(BulkError::WrongState {
            id: 4,
            state: shelfsync_store::BulkState::Undone,
            what: "only an applied update can be undone",
        });
        assert_eq!(done.code, ErrorCode::InvalidInput);
        assert!(done.message.contains("is undone now"), "{}", done.message);
        let cut = UiError::from(BulkError::Interrupted {
            id: 4,
            detail: "connection reset".into(),
        });
        assert_eq!(cut.code, ErrorCode::StoreUnreachable);
        assert!(
            cut.message.contains("roll it back or finish it")
                && !cut.message.contains("shelfsync bulk"),
            "the app's own next step, not the command line's: {}",
            cut.message
        );
        let offline = UiError::from(BulkError::Shopify(ShopifyError::Network {
            shop: "shop.myshopify.com".into(),
            detail: "connection refused".into(),
        }));
        assert_eq!(offline.code, ErrorCode::StoreUnreachable);
        let unreadable = UiError::from(BulkError::Import(
            shelfsync_engine::import::ImportError::Read {
                path: "/tmp/stock.csv".into(),
                source: std::io::Error::from(std::io::ErrorKind::NotFound),
            },
        ));
        assert_eq!(unreadable.code, ErrorCode::InvalidInput);
        assert!(
            unreadable
                .message
                .starts_with("Shelfsync could not read /tmp/stock.csv"),
            "{}",
            unreadable.message
        );
        assert_eq!(
            UiError::from(BulkError::Unexpected("bad answer".into())).code,
            ErrorCode::Internal
        );
    }
}
