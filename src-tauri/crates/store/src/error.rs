//! Errors a store owner can act on.
//!
//! SQLite reports failures as result codes; the ones a person can do something
//! about (a full disk, a file another program holds, a damaged file, a
//! database from a newer Shelfsync) get their own variant and a message that
//! says what happened and what to do. Everything else keeps the SQLite error
//! as its source for logs.

use std::path::PathBuf;

use rusqlite::ErrorCode;

/// Result type of this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong reading or writing the local cache.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The database file was written by a newer Shelfsync.
    #[error(
        "This database was written by a newer Shelfsync (schema {found}); this version \
         understands schema {supported} at most. Update Shelfsync to open {path}."
    )]
    NewerSchema {
        /// The database file.
        path: PathBuf,
        /// The schema version found in the file.
        found: u32,
        /// The newest schema version this build knows.
        supported: u32,
    },

    /// The file exists but belongs to another application.
    #[error(
        "{path} is not a Shelfsync database (it belongs to another program). Choose another \
         location or move the file aside."
    )]
    ForeignDatabase {
        /// The database file.
        path: PathBuf,
    },

    /// A schema migration failed; the database stays at its previous version.
    #[error(
        "Shelfsync could not upgrade its data at {path} to schema {version} ({name}); the file \
         was left as it was. Please report this: {source}"
    )]
    Migration {
        /// The database file.
        path: PathBuf,
        /// The migration that failed.
        version: u32,
        /// Its short name.
        name: &'static str,
        /// What SQLite said.
        #[source]
        source: rusqlite::Error,
    },

    /// The disk (or the quota for the file) is full.
    #[error(
        "The disk is full: Shelfsync could not save its latest changes. Free some space; \
         nothing was lost, and the changes will be fetched again."
    )]
    DiskFull,

    /// Another connection held the database longer than the busy timeout.
    #[error(
        "Shelfsync's data for this store is in use by another Shelfsync window or process. \
         Close the other one, or wait a moment and try again."
    )]
    Busy,

    /// Another Shelfsync process already has this store open for writing.
    #[error(
        "Shelfsync is already running for this store (another window, or the CLI daemon), \
         using {path}. Close it first, then try again."
    )]
    AlreadyOpen {
        /// The database file.
        path: PathBuf,
    },

    /// A reader opened a file that no writer has upgraded to this version yet.
    #[error(
        "Shelfsync's data at {path} is at schema {found} and needs an upgrade to {supported}. \
         Start the Shelfsync app or daemon once to upgrade it."
    )]
    OlderSchema {
        /// The database file.
        path: PathBuf,
        /// The schema version found in the file.
        found: u32,
        /// The schema version this build reads.
        supported: u32,
    },

    /// The file or its folder cannot be opened or written.
    #[error(
        "Shelfsync could not open its data file {path}: {reason}. Check that the folder exists \
         and that your user may write to it."
    )]
    CannotOpen {
        /// The database file.
        path: PathBuf,
        /// What the operating system or SQLite said.
        reason: String,
    },

    /// The file is damaged or is not a database at all.
    #[error(
        "Shelfsync's data file is damaged or is not a database{at}. Move it aside; Shelfsync \
         rebuilds it from the store on the next sync.",
        at = path.as_ref().map(|p| format!(" ({})", p.display())).unwrap_or_default()
    )]
    Corrupt {
        /// The database file, when known.
        path: Option<PathBuf>,
    },

    /// A write refers to a product, variant or location that is not in the
    /// cache yet (e.g. a webhook for a variant created since the last sync).
    /// Nothing of the batch was saved; sync the catalogue, then retry.
    #[error(
        "Shelfsync received an update for a product, variant or location it has not synced \
         yet. Nothing was lost: the next sync fetches it and the update is applied then."
    )]
    NotYetSynced,

    /// A write would break another rule of the schema.
    #[error("Shelfsync refused to save inconsistent data ({0}). This is a bug; please report it.")]
    Constraint(String),

    /// A store domain from which no file name can be made.
    #[error("\"{0}\" is not a store domain such as my-store.myshopify.com.")]
    InvalidStoreDomain(String),

    /// A price that is not a decimal number.
    #[error("\"{0}\" is not an amount of money such as 12.50.")]
    InvalidMoney(String),

    /// A timestamp that is not RFC 3339.
    #[error("\"{0}\" is not a timestamp such as 2026-01-31T12:00:00Z.")]
    InvalidTimestamp(String),

    /// A value in the database that this build cannot read.
    #[error(
        "Shelfsync found an unexpected value in its data ({0}). This is a bug; please report it."
    )]
    UnexpectedValue(String),

    /// No job has this id (it may have been discarded).
    #[error("There is no job {id}; it may have been discarded already.")]
    NoSuchJob {
        /// The job id.
        id: i64,
    },

    /// The job is not in the state the operation needs.
    #[error("Job {id} is {actual}, so it cannot be {action}.")]
    JobState {
        /// The job id.
        id: i64,
        /// Its current state.
        actual: crate::JobState,
        /// What was attempted, e.g. "retried".
        action: &'static str,
    },

    /// A job payload that is not JSON.
    #[error("A job's data could not be read as JSON: {0}. This is a bug; please report it.")]
    Payload(#[from] serde_json::Error),

    /// Any other SQLite failure.
    #[error("Shelfsync's local database reported an unexpected error: {0}")]
    Sqlite(#[source] rusqlite::Error),
}

impl From<rusqlite::Error> for Error {
    fn from(err: rusqlite::Error) -> Self {
        match err.sqlite_error_code() {
            Some(ErrorCode::DiskFull) => Error::DiskFull,
            Some(ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked) => Error::Busy,
            Some(ErrorCode::DatabaseCorrupt | ErrorCode::NotADatabase) => {
                Error::Corrupt { path: None }
            }
            Some(ErrorCode::ConstraintViolation) => match &err {
                rusqlite::Error::SqliteFailure(e, _)
                    if e.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_FOREIGNKEY =>
                {
                    Error::NotYetSynced
                }
                _ => Error::Constraint(err.to_string()),
            },
            _ => Error::Sqlite(err),
        }
    }
}

impl Error {
    /// Like `From`, but names the file for errors about the file itself.
    pub(crate) fn at_path(err: rusqlite::Error, path: &std::path::Path) -> Self {
        match err.sqlite_error_code() {
            Some(
                ErrorCode::CannotOpen
                | ErrorCode::PermissionDenied
                | ErrorCode::ReadOnly
                | ErrorCode::NotFound,
            ) => Error::CannotOpen {
                path: path.to_path_buf(),
                reason: err.to_string(),
            },
            Some(ErrorCode::DatabaseCorrupt | ErrorCode::NotADatabase) => Error::Corrupt {
                path: Some(path.to_path_buf()),
            },
            _ => Error::from(err),
        }
    }
}
