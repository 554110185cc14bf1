//! Tauri commands: each takes its inputs, calls one core function, and maps the error.

use lifeboat_core::sync_status::SyncStatus;
use lifeboat_core::{NewStaff, Practice, PracticeSetup, Session, Staff, StaffUpdate};
use serde::Serialize;
use tauri::State;
use uuid::Uuid;

use crate::error::CommandResult;
use crate::state::{AppState, DemoInfo};

/// Which screen the app opens on.
#[derive(Debug, Clone, Serialize, ts_rs::TS)]
#[serde(rename_all = "snake_case")]
pub enum Phase {
    /// No practice yet: the first-run wizard.
    Setup,
    Login,
    /// The database could not be opened; `error` says why and what to do.
    Unavailable,
}

#[derive(Debug, Clone, Serialize, ts_rs::TS)]
pub struct AppStatus {
    pub phase: Phase,
    pub practice_name: Option<String>,
    pub session: Option<Session>,
    pub demo: Option<DemoInfo>,
    pub error: Option<crate::error::CommandError>,
    pub data_dir: String,
}

#[tauri::command]
pub fn app_status(state: State<'_, AppState>) -> AppStatus {
    crate::status(&state)
}

#[tauri::command]
pub fn setup_practice(state: State<'_, AppState>, setup: PracticeSetup) -> CommandResult<()> {
    state.store()?.create_practice(&setup)?;
    Ok(())
}

#[tauri::command]
pub fn login(state: State<'_, AppState>, username: String, password: String) -> CommandResult<Session> {
    let session = state.store()?.login(&username, &password)?;
    state.set_session(Some(session.clone()));
    Ok(session)
}

#[tauri::command]
pub fn logout(state: State<'_, AppState>) {
    state.set_session(None);
}

#[tauri::command]
pub fn sync_status(state: State<'_, AppState>) -> CommandResult<SyncStatus> {
    state.session()?;
    Ok(state.store()?.sync_status()?)
}

#[tauri::command]
pub fn practice(state: State<'_, AppState>) -> CommandResult<Option<Practice>> {
    state.session()?;
    Ok(state.store()?.practice()?)
}

#[tauri::command]
pub fn list_staff(state: State<'_, AppState>) -> CommandResult<Vec<Staff>> {
    Ok(state.store()?.list_staff(&state.session()?)?)
}

#[tauri::command]
pub fn add_staff(state: State<'_, AppState>, staff: NewStaff) -> CommandResult<Staff> {
    Ok(state.store()?.add_staff(&state.session()?, &staff)?)
}

#[tauri::command]
pub fn update_staff(state: State<'_, AppState>, id: Uuid, update: StaffUpdate) -> CommandResult<Staff> {
    Ok(state.store()?.update_staff(&state.session()?, id, &update)?)
}
