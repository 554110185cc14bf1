//! What can stop a sync, in words a receptionist can act on.

#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    /// The server cannot be reached (network, switched off): this PC carries on alone.
    #[error("{0}")]
    Unreachable(String),
    /// The server's certificate is not the pinned one.
    #[error("{0}")]
    Certificate(String),
    /// The server does not know this PC's credential.
    #[error("{0}")]
    NotPaired(String),
    /// This PC has been revoked at the server.
    #[error("{0}")]
    Revoked(String),
    /// The server refused changes that contradict what it holds.
    #[error("{0}")]
    Refused(String),
    /// The pull cursor does not fit the server's history.
    #[error("{0}")]
    CursorUnknown(String),
    /// The server asks this PC to slow down.
    #[error("{0}")]
    Busy(String),
    #[error("the server failed: {0}")]
    ServerFailed(String),
    /// A message that does not fit the protocol (another version, a damaged answer).
    #[error("{0}")]
    Protocol(String),
    /// Bad input from a person (a code mistyped, a file that is not a bundle), naming what is wrong.
    #[error("{0}")]
    Invalid(String),
    /// The local database refused.
    #[error(transparent)]
    Store(#[from] lifeboat_core::Error),
    #[error("{0}")]
    Internal(String),
}

impl SyncError {
    /// Whether trying again later may work (as opposed to a person having to act).
    pub fn is_transient(&self) -> bool {
        matches!(self, SyncError::Unreachable(_) | SyncError::Busy(_) | SyncError::ServerFailed(_))
    }
}

pub type SyncResult<T> = std::result::Result<T, SyncError>;
