//! How a command fails: an exit code a script can branch on and one line a person can act on.
//!
//! Every engine error is sorted into one of the documented exit codes here, in one place, so
//! the codes stay consistent across commands. The messages come from the engine (which already
//! names the store and the next step and never contains a secret); this module only adds the
//! `shelfsync` command to run next where the engine cannot know it.

use serde::Serialize;
use shelfsync_engine::{BulkError, CredentialError, EngineError, SyncError};
use shelfsync_shopify::ShopifyError;

/// The process exit codes, as documented in `--help` and the crate docs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Code {
    /// 1: Shelfsync's own files or database.
    Local,
    /// 2: the command line (or the secret given) cannot be used.
    Usage,
    /// 3: the store is unreachable, refused the credentials, or none is connected.
    Store,
    /// 4: the OS keychain is unavailable, locked, or lacks a secret.
    Keychain,
    /// 5: part of the work failed.
    Partial,
}

impl Code {
    pub fn exit_code(self) -> u8 {
        match self {
            Code::Local => 1,
            Code::Usage => 2,
            Code::Store => 3,
            Code::Keychain => 4,
            Code::Partial => 5,
        }
    }
}

/// A failed command: what to print (one line, on stderr) and how to exit.
#[derive(Debug, Clone)]
pub struct Failure {
    pub code: Code,
    pub message: String,
}

impl Failure {
    pub fn new(code: Code, message: impl Into<String>) -> Self {
        let message: String = message.into();
        // One line, whatever the source said.
        let message = message.split_whitespace().collect::<Vec<_>>().join(" ");
        Self { code, message }
    }

    pub fn usage(message: impl Into<String>) -> Self {
        Self::new(Code::Usage, message)
    }

    pub fn local(message: impl Into<String>) -> Self {
        Self::new(Code::Local, message)
    }

    /// An engine error, for the store at `store` when it is known (for the next-step hint).
    pub fn engine(err: EngineError, store: Option<&str>) -> Self {
        match err {
            EngineError::NotConnected => Self::not_connected(),
            EngineError::Credentials(err) => Self::credentials(err),
            EngineError::Shopify(err) => Self::shopify(err, store),
            EngineError::Sync(SyncError::Shopify(err)) => Self::shopify(err, store),
            EngineError::Sync(err @ (SyncError::Unexpected(_) | SyncError::Bulk(_))) => {
                Self::new(Code::Store, err.to_string())
            }
            EngineError::Bulk(err) => Self::bulk(err, store),
            other => Self::local(other.to_string()),
        }
    }

    /// A bulk update that could not be planned, applied, undone or recovered.
    pub fn bulk(err: BulkError, store: Option<&str>) -> Self {
        match err {
            BulkError::Unresolved(n) => Self::usage(format!(
                "The plan has {}: fix the file, or pass --skip-problems to apply the other \
                 rows. Nothing was written.",
                crate::output::count(n, "problem", "problems")
            )),
            BulkError::Interrupted { id, detail } => Self::new(
                Code::Store,
                format!(
                    "Bulk update {id} stopped because Shopify could not be reached ({detail}). \
                     What it wrote is journaled: run `shelfsync bulk recover` to roll it back, \
                     or `shelfsync bulk recover --finish` to send the rest."
                ),
            ),
            BulkError::WrongState { id, state, what } => Self::usage(format!(
                "Bulk update {id} is {}: {what}. See `shelfsync bulk list`.",
                bulk_state(state)
            )),
            BulkError::Unknown(id) => Self::usage(format!(
                "There is no bulk update {id}. See `shelfsync bulk list`."
            )),
            BulkError::NotSynced => Self::new(
                Code::Store,
                "The local cache is empty, so the file's SKUs cannot be matched yet. Run \
                 `shelfsync sync --full` first.",
            ),
            BulkError::Shopify(err) => Self::shopify(err, store),
            err @ BulkError::Unexpected(_) => Self::new(Code::Store, err.to_string()),
            // The file could not be read, or the cache or the journal could not.
            err @ (BulkError::Import(_) | BulkError::Cache(_) | BulkError::Journal { .. }) => {
                Self::local(err.to_string())
            }
        }
    }

    pub fn not_connected() -> Self {
        Self::new(
            Code::Store,
            "No store is connected yet. Run `shelfsync connect STORE` first \
             (or `shelfsync demo` to try Shelfsync on a simulated store).",
        )
    }

    pub fn credentials(err: CredentialError) -> Self {
        let text = err.to_string();
        let message = match &err {
            CredentialError::Missing { store, .. } => {
                format!("{text} Run `shelfsync connect {store}`.")
            }
            _ => text,
        };
        Self::new(Code::Keychain, message)
    }

    pub fn shopify(err: ShopifyError, store: Option<&str>) -> Self {
        let text = err.to_string();
        match (&err, store) {
            (ShopifyError::Unauthorized { .. }, Some(store)) => Self::new(
                Code::Store,
                format!("{text} Run `shelfsync connect {store}` to enter valid credentials."),
            ),
            // The engine's text promises to keep trying, which only the daemon does.
            (ShopifyError::Network { shop, detail }, _) => Self::new(
                Code::Store,
                format!(
                    "Could not reach {shop}: {detail}. Check the store's address and the \
                     network connection, then try again."
                ),
            ),
            (ShopifyError::InvalidAddress(_), _) => Self::usage(format!(
                "{text}: give a domain such as my-store.myshopify.com, or a base URL such as \
                 http://127.0.0.1:8080."
            )),
            _ => Self::new(Code::Store, text),
        }
    }

    /// A cache error outside the engine's front door (the CLI's direct reads and job edits).
    pub fn cache(err: impl std::fmt::Display) -> Self {
        Self::local(err.to_string())
    }
}

/// How a bulk update's state reads in a sentence: "rolled back".
pub fn bulk_state(state: shelfsync_store::BulkState) -> &'static str {
    use shelfsync_store::BulkState;
    match state {
        BulkState::Applying => "applying",
        BulkState::Applied => "applied",
        BulkState::RollingBack => "rolling back",
        BulkState::RolledBack => "rolled back",
        BulkState::Undoing => "undoing",
        BulkState::Undone => "undone",
    }
}

impl From<EngineError> for Failure {
    fn from(err: EngineError) -> Self {
        Self::engine(err, None)
    }
}

impl From<CredentialError> for Failure {
    fn from(err: CredentialError) -> Self {
        Self::credentials(err)
    }
}
