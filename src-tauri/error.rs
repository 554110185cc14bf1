//! The one error every command returns, and the one place core errors are mapped into it. The UI
//! switches on `code` and shows `message`; `field` names the input to highlight.

use serde::Serialize;

#[derive(Debug, Clone, Serialize, ts_rs::TS)]
pub struct CommandError {
    pub code: String,
    pub message: String,
    pub field: Option<String>,
}

impl CommandError {
    pub fn new(code: &str, message: impl Into<String>) -> Self {
        CommandError { code: code.into(), message: message.into(), field: None }
    }

    pub fn not_logged_in() -> Self {
        CommandError::new("not_logged_in", "You have been logged out. Log in again to carry on.")
    }
}

impl From<lifeboat_core::Error> for CommandError {
    fn from(e: lifeboat_core::Error) -> Self {
        let message = match &e {
            // Internal details stay out of the UI; the rest of the core's messages are written for people.
            lifeboat_core::Error::Storage(_) | lifeboat_core::Error::Internal(_) => {
                "Lifeboat could not save or read this. Nothing was half-saved; try again, and if it keeps happening run `lifeboat doctor`.".to_string()
            }
            other => other.to_string(),
        };
        CommandError { code: e.code().into(), message, field: e.field().map(str::to_string) }
    }
}

pub type CommandResult<T> = Result<T, CommandError>;
