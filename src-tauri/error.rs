//! The one error every command returns, and the one place core errors are mapped into it. The UI
//! switches on `code` (the core's `ErrorCode`, shared through ts-rs), shows `message`, and highlights
//! `field` when there is one.

use lifeboat_core::ErrorCode;
use serde::Serialize;

#[derive(Debug, Clone, Serialize, ts_rs::TS)]
pub struct CommandError {
    pub code: ErrorCode,
    pub message: String,
    pub field: Option<String>,
}

impl CommandError {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        CommandError { code, message: message.into(), field: None }
    }
}

impl From<lifeboat_core::Error> for CommandError {
    fn from(e: lifeboat_core::Error) -> Self {
        let message = match &e {
            // Internal details stay out of the UI; the rest of the core's messages are written for people.
            lifeboat_core::Error::Storage(_) | lifeboat_core::Error::Internal(_) => {
                "Lifeboat could not save or read this. Nothing was half-saved; try again, and if it keeps happening run `lifeboat doctor`.".to_string()
            }
            other => sentence(&other.user_message()),
        };
        CommandError { code: e.code(), message, field: e.field().map(str::to_string) }
    }
}

/// The core writes messages to follow a colon; shown on their own they start with a capital.
fn sentence(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

pub type CommandResult<T> = Result<T, CommandError>;

/// A sync error in the same shape: what went wrong in plain words, and the field for a mistyped code.
pub fn from_sync(e: lifeboat_sync::error::SyncError) -> CommandError {
    use lifeboat_sync::error::SyncError as E;
    match e {
        E::Store(inner) => inner.into(),
        E::Invalid(m) => {
            let field = if m.contains("pairing code") || m.contains("enrolment code") {
                Some("code")
            } else if m.contains("address") {
                Some("address")
            } else if m.contains("passphrase") {
                Some("passphrase")
            } else {
                None
            };
            CommandError { code: ErrorCode::Invalid, message: sentence(&m), field: field.map(str::to_string) }
        }
        E::Unreachable(m) | E::Busy(m) | E::ServerFailed(m) => CommandError::new(ErrorCode::Unreachable, sentence(&m)),
        E::Certificate(m) | E::NotPaired(m) | E::Revoked(m) => CommandError::new(ErrorCode::Forbidden, sentence(&m)),
        E::Refused(m) | E::CursorUnknown(m) | E::Protocol(m) => CommandError::new(ErrorCode::SyncRefused, sentence(&m)),
        E::Internal(m) => CommandError::new(ErrorCode::Internal, sentence(&m)),
    }
}
