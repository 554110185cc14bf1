//! The one error type of the core. Variants are what a caller acts on; `code()` is the stable,
//! machine-readable name that shells hand to the UI so it never parses message text.

use std::path::PathBuf;

pub type Result<T, E = Error> = std::result::Result<T, E>;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Input that breaks a rule. `field` names the input, `reason` says what is wrong with it.
    #[error("{field}: {reason}")]
    Invalid { field: String, reason: String },

    #[error("{0} was not found")]
    NotFound(String),

    /// The change clashes with data already there (a taken username, a practice that exists).
    #[error("{0}")]
    Conflict(String),

    /// Allowed, but unusual enough that a person must confirm it (booking outside working hours).
    #[error("{0}")]
    NeedsConfirmation(String),

    /// The acting person's role, or their account being inactive, does not allow this.
    #[error("{0}")]
    Forbidden(String),

    /// Deliberately the same for an unknown user, a wrong password and an inactive account.
    #[error("the username or password is not right, or the account is not active")]
    BadCredentials,

    #[error("the key in {key_file} does not belong to the database {database}; use the key file that was created with this database")]
    WrongKey { database: PathBuf, key_file: PathBuf },

    #[error("{path} is not a Lifeboat database: {reason}. The file has not been changed")]
    NotADatabase { path: PathBuf, reason: String },

    #[error("the database {path} is damaged: {detail}. The file has not been changed; restore it from a backup")]
    Corrupt { path: PathBuf, detail: String },

    #[error("the database was written by a newer Lifeboat (schema {found}, this version knows up to {supported}); install the newer version")]
    TooNew { found: u32, supported: u32 },

    #[error("{0}")]
    KeyFile(String),

    #[error("{action} failed on {path}: {source}")]
    Io {
        action: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    #[error("database error: {0}")]
    Storage(#[from] rusqlite::Error),

    /// A broken rule inside Lifeboat itself, never the user's doing.
    #[error("internal error: {0}")]
    Internal(String),
}

impl Error {
    pub fn invalid(field: impl Into<String>, reason: impl Into<String>) -> Self {
        Error::Invalid { field: field.into(), reason: reason.into() }
    }

    /// A stable code for the UI and for scripts.
    pub fn code(&self) -> &'static str {
        match self {
            Error::Invalid { .. } => "invalid",
            Error::NotFound(_) => "not_found",
            Error::Conflict(_) => "conflict",
            Error::NeedsConfirmation(_) => "needs_confirmation",
            Error::Forbidden(_) => "forbidden",
            Error::BadCredentials => "bad_credentials",
            Error::WrongKey { .. } => "wrong_key",
            Error::NotADatabase { .. } => "not_a_database",
            Error::Corrupt { .. } => "corrupt",
            Error::TooNew { .. } => "too_new",
            Error::KeyFile(_) => "key_file",
            Error::Io { .. } => "io",
            Error::Storage(_) => "storage",
            Error::Internal(_) => "internal",
        }
    }

    /// The input field an `Invalid` error is about, for the UI to highlight.
    pub fn field(&self) -> Option<&str> {
        match self {
            Error::Invalid { field, .. } => Some(field),
            _ => None,
        }
    }
}
