//! What the desktop shell keeps between commands: the store (or why it could not be opened), the
//! logged-in person, and whether this is a demo.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use lifeboat_core::{Session, Store};
use serde::Serialize;

use crate::error::{CommandError, CommandResult};

pub struct AppState {
    pub store: Result<Arc<Store>, CommandError>,
    pub session: Mutex<Option<Session>>,
    pub demo: Arc<Mutex<Option<DemoInfo>>>,
    /// While a demo practice is being generated: how far it has got.
    pub preparing: Arc<Mutex<Option<String>>>,
    pub data_dir: PathBuf,
    /// Where printed documents (PDFs) are saved.
    pub export_dir: PathBuf,
}

#[derive(Debug, Clone, Serialize, ts_rs::TS)]
pub struct DemoInfo {
    pub size: String,
    pub password: String,
    /// (username, role) of each demo account.
    pub accounts: Vec<(String, String)>,
}

impl AppState {
    pub fn store(&self) -> CommandResult<&Store> {
        if let Some(step) = self.preparing() {
            return Err(CommandError::new("preparing", format!("The demo practice is still being prepared ({step}).")));
        }
        self.store.as_deref().map_err(Clone::clone)
    }

    pub fn preparing(&self) -> Option<String> {
        self.preparing.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    pub fn demo(&self) -> Option<DemoInfo> {
        self.demo.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    pub fn session(&self) -> CommandResult<Session> {
        self.session.lock().unwrap_or_else(|e| e.into_inner()).clone().ok_or_else(CommandError::not_logged_in)
    }

    pub fn set_session(&self, session: Option<Session>) {
        *self.session.lock().unwrap_or_else(|e| e.into_inner()) = session;
    }
}
