//! The one error type of the core, and `ErrorCode`: the one list of machine-readable codes that the
//! core, the shells (Tauri commands, the CLI's exit codes) and the UI (through ts-rs) share, so the
//! UI never parses message text.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

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

    /// Allowed, but unusual enough that a person must confirm it (booking outside working hours,
    /// a temperature a sick animal could have).
    #[error("{0}")]
    NeedsConfirmation(String),

    /// The acting person's role, or their account being inactive, does not allow this.
    #[error("{0}")]
    Forbidden(String),

    /// Deliberately the same for an unknown user, a wrong password and an inactive account.
    #[error("the username or password is not right, or the account is not active")]
    BadCredentials,

    /// Too many wrong passwords for a username on this PC: the next attempt must wait, or the account
    /// is locked here for a while. The message says until when.
    #[error("{0}")]
    TooManyAttempts(String),

    /// No one is logged in (or the session has ended).
    #[error("you have been logged out; log in again to carry on")]
    NotLoggedIn,

    #[error("the key in {key_file} does not belong to the database {database}; use the key file that was created with this database")]
    WrongKey { database: PathBuf, key_file: PathBuf },

    #[error("{path} is not a Lifeboat database: {reason}. The file has not been changed")]
    NotADatabase { path: PathBuf, reason: String },

    #[error("the database {path} is damaged: {detail}. The file has not been changed; restore it from a backup")]
    Corrupt { path: PathBuf, detail: String },

    /// A stored row that Lifeboat cannot read back (a bad id, an unknown role): the row was damaged
    /// or written behind Lifeboat's back. Never papered over with a default.
    #[error("a stored record is damaged: {0}")]
    DamagedRecord(String),

    #[error("the database was written by a newer Lifeboat (schema {found}, this version knows up to {supported}); install the newer version")]
    TooNew { found: u32, supported: u32 },

    #[error("{0}")]
    KeyFile(String),

    /// The database's key is not reachable on this PC (kept in another PC's credential store, or a
    /// store that would not answer): the practice's recovery key opens it.
    #[error("the key of the database {database} is not on this PC ({why}). Type its recovery key (printed when the practice was set up on the PC it comes from) to open it here")]
    KeyNeeded { database: PathBuf, why: String },

    /// The database's key is sealed with this PC's passphrase, and none was typed (or the store was
    /// opened without one): the passphrase, or the recovery key, opens it.
    #[error("the database {database} is protected by this PC's passphrase: type it to open the records")]
    PassphraseNeeded { database: PathBuf },

    /// Another Lifeboat has this data folder: a window already open on this PC, or a command that
    /// changes the key or restores a backup.
    #[error("another Lifeboat has the records in {folder} open (a Lifeboat window on this PC, or a command changing the key or restoring a backup): use that window, or close it and try again")]
    InUse { folder: PathBuf },

    /// A key file without its database: a creation that was interrupted, or a database moved or
    /// deleted. Nothing is guessed: restore a backup, put the database back, or start afresh.
    #[error("the key file {key_file} is there but the database {database} is not: creating it was interrupted, or it was moved or deleted. Restore a backup or put the database back; if this PC never held records, start afresh (the key file is kept aside, not deleted)")]
    Unfinished { database: PathBuf, key_file: PathBuf },

    /// The disk holding the database is full. The change that met it was not saved (its transaction
    /// rolled back whole); everything saved before it stands, and saving works again once space is
    /// freed. `folder` is the database's folder where the store knows it.
    #[error("the disk is full ({}): what was being saved was not saved, and nothing saved before it is lost. Free some space on that disk (empty the recycle bin, move old files off it), then try again", folder.as_ref().map(|f| format!("the disk that holds {}", f.display())).unwrap_or_else(|| "the disk that holds Lifeboat's records".into()))]
    DiskFull { folder: Option<PathBuf> },

    #[error("{action} failed on {path}: {source}")]
    Io {
        action: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    /// A change from another node that does not fit (a hash that does not match, a number used twice,
    /// a gap): refused, never half-applied.
    #[error("{0}")]
    SyncRefused(String),

    #[error("database error: {0}")]
    Storage(rusqlite::Error),

    /// A broken rule inside Lifeboat itself, never the user's doing.
    #[error("internal error: {0}")]
    Internal(String),
}

/// Every code an error can carry, in the core, the shells and the UI.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    Invalid,
    NotFound,
    Conflict,
    NeedsConfirmation,
    Forbidden,
    BadCredentials,
    TooManyAttempts,
    NotLoggedIn,
    /// The screen of this PC is locked (idle, or locked by its user): the person's password opens it.
    Locked,
    WrongKey,
    NotADatabase,
    Corrupt,
    DamagedRecord,
    TooNew,
    KeyFile,
    /// The database's key is not on this PC: the recovery key opens it.
    KeyNeeded,
    /// The database's key is sealed with this PC's passphrase: it is asked for at start.
    PassphraseNeeded,
    /// Another Lifeboat (a window, a command changing the key) has the data folder.
    InUse,
    /// A key file without its database (an interrupted creation, or a database moved away).
    Unfinished,
    /// The disk holding the database is full: nothing of the change was saved.
    DiskFull,
    Io,
    SyncRefused,
    Storage,
    Internal,
    /// The sync peer (the relay or the hub) could not be reached or refused this PC.
    Unreachable,
    /// The desktop app has no open database yet (a demo practice is still being generated).
    Preparing,
    /// Used by the UI alone: the back end did not answer at all.
    Ipc,
}

impl ErrorCode {
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::Invalid => "invalid",
            ErrorCode::NotFound => "not_found",
            ErrorCode::Conflict => "conflict",
            ErrorCode::NeedsConfirmation => "needs_confirmation",
            ErrorCode::Forbidden => "forbidden",
            ErrorCode::BadCredentials => "bad_credentials",
            ErrorCode::TooManyAttempts => "too_many_attempts",
            ErrorCode::NotLoggedIn => "not_logged_in",
            ErrorCode::Locked => "locked",
            ErrorCode::WrongKey => "wrong_key",
            ErrorCode::NotADatabase => "not_a_database",
            ErrorCode::Corrupt => "corrupt",
            ErrorCode::DamagedRecord => "damaged_record",
            ErrorCode::TooNew => "too_new",
            ErrorCode::KeyFile => "key_file",
            ErrorCode::KeyNeeded => "key_needed",
            ErrorCode::PassphraseNeeded => "passphrase_needed",
            ErrorCode::InUse => "in_use",
            ErrorCode::Unfinished => "unfinished",
            ErrorCode::DiskFull => "disk_full",
            ErrorCode::Io => "io",
            ErrorCode::SyncRefused => "sync_refused",
            ErrorCode::Unreachable => "unreachable",
            ErrorCode::Storage => "storage",
            ErrorCode::Internal => "internal",
            ErrorCode::Preparing => "preparing",
            ErrorCode::Ipc => "ipc",
        }
    }
}

impl std::fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Whether SQLite found the file damaged: a malformed structure, or pages that do not decrypt.
pub(crate) fn is_damage(e: &rusqlite::Error) -> bool {
    matches!(e.sqlite_error_code(), Some(rusqlite::ErrorCode::DatabaseCorrupt | rusqlite::ErrorCode::NotADatabase))
}

/// SQLite's words for a disk with no room: a write that found it full, or no room to make the WAL's
/// shared-memory index.
pub(crate) fn is_out_of_space(e: &rusqlite::Error) -> bool {
    const SQLITE_IOERR_SHMSIZE: std::ffi::c_int = 10 | (19 << 8);
    match e {
        rusqlite::Error::SqliteFailure(f, _) => {
            f.code == rusqlite::ErrorCode::DiskFull || f.extended_code == SQLITE_IOERR_SHMSIZE
        }
        _ => false,
    }
}

impl From<rusqlite::Error> for Error {
    fn from(e: rusqlite::Error) -> Self {
        // A value that a row mapper refused (see `store::row`) is a damaged record, not a storage
        // failure: say which column and why.
        match e {
            rusqlite::Error::FromSqlConversionFailure(column, _, inner) => {
                Error::DamagedRecord(format!("column {column}: {inner}"))
            }
            rusqlite::Error::InvalidColumnType(column, name, ty) => {
                Error::DamagedRecord(format!("column {column} ({name}) holds a {ty}"))
            }
            e if is_out_of_space(&e) => Error::DiskFull { folder: None },
            other => Error::Storage(other),
        }
    }
}

impl Error {
    pub fn invalid(field: impl Into<String>, reason: impl Into<String>) -> Self {
        Error::Invalid { field: field.into(), reason: reason.into() }
    }

    /// The same error naming the folder whose disk is full, where it is a full disk.
    pub fn on_disk_of(self, folder: &std::path::Path) -> Error {
        match self {
            Error::DiskFull { folder: None } => Error::DiskFull { folder: Some(folder.to_path_buf()) },
            other => other,
        }
    }

    /// The stable code for the UI and for scripts.
    pub fn code(&self) -> ErrorCode {
        match self {
            Error::Invalid { .. } => ErrorCode::Invalid,
            Error::NotFound(_) => ErrorCode::NotFound,
            Error::Conflict(_) => ErrorCode::Conflict,
            Error::NeedsConfirmation(_) => ErrorCode::NeedsConfirmation,
            Error::Forbidden(_) => ErrorCode::Forbidden,
            Error::BadCredentials => ErrorCode::BadCredentials,
            Error::TooManyAttempts(_) => ErrorCode::TooManyAttempts,
            Error::NotLoggedIn => ErrorCode::NotLoggedIn,
            Error::WrongKey { .. } => ErrorCode::WrongKey,
            Error::NotADatabase { .. } => ErrorCode::NotADatabase,
            Error::Corrupt { .. } => ErrorCode::Corrupt,
            Error::DamagedRecord(_) => ErrorCode::DamagedRecord,
            Error::TooNew { .. } => ErrorCode::TooNew,
            Error::KeyFile(_) => ErrorCode::KeyFile,
            Error::KeyNeeded { .. } => ErrorCode::KeyNeeded,
            Error::PassphraseNeeded { .. } => ErrorCode::PassphraseNeeded,
            Error::InUse { .. } => ErrorCode::InUse,
            Error::Unfinished { .. } => ErrorCode::Unfinished,
            Error::DiskFull { .. } => ErrorCode::DiskFull,
            Error::Io { .. } => ErrorCode::Io,
            Error::SyncRefused(_) => ErrorCode::SyncRefused,
            Error::Storage(_) => ErrorCode::Storage,
            Error::Internal(_) => ErrorCode::Internal,
        }
    }

    /// The same error with its field named as part of `part` ("patient.name"), for a write that
    /// takes several records' fields at once.
    pub fn within(self, part: &str) -> Error {
        match self {
            Error::Invalid { field, reason } => Error::Invalid { field: format!("{part}.{field}"), reason },
            other => other,
        }
    }

    /// The input field an `Invalid` error is about, for the UI to highlight.
    pub fn field(&self) -> Option<&str> {
        match self {
            Error::Invalid { field, .. } => Some(field),
            _ => None,
        }
    }

    /// The words to show a person: for an `Invalid` error the reason alone (the UI shows it beside
    /// the field it names), otherwise the whole message.
    pub fn user_message(&self) -> String {
        match self {
            Error::Invalid { reason, .. } => reason.clone(),
            other => other.to_string(),
        }
    }
}
