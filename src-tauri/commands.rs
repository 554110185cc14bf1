//! Tauri commands: each takes its inputs, calls one core function, and maps the error.

use chrono::NaiveDate;
use lifeboat_core::appointment::{self, ReferenceData};
use lifeboat_core::client::{ClientRecord, LikelyDuplicate};
use lifeboat_core::patient::PatientRecord;
use lifeboat_core::search::SearchHit;
use lifeboat_core::sync_status::SyncStatus;
use lifeboat_core::{
    Appointment, AppointmentMove, AppointmentStatus, Client, DayBook, NewAppointment, NewClient, NewPatient, NewStaff,
    Patient, Practice, PracticeSetup, Session, Staff, StaffUpdate, WorkingDay,
};
use serde::Serialize;
use tauri::State;
use uuid::Uuid;

use crate::error::{CommandError, CommandResult};
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
    /// A demo practice is being generated; `progress` says how far.
    Preparing,
}

#[derive(Debug, Clone, Serialize, ts_rs::TS)]
pub struct AppStatus {
    pub phase: Phase,
    pub practice_name: Option<String>,
    pub session: Option<Session>,
    pub demo: Option<DemoInfo>,
    pub error: Option<crate::error::CommandError>,
    pub data_dir: String,
    pub progress: Option<String>,
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

#[tauri::command]
pub fn reference_data() -> ReferenceData {
    appointment::reference_data()
}

#[tauri::command]
pub fn search(state: State<'_, AppState>, query: String) -> CommandResult<Vec<SearchHit>> {
    Ok(state.store()?.search(&state.session()?, &query, 20)?)
}

#[tauri::command]
pub fn likely_duplicate_clients(state: State<'_, AppState>, probe: NewClient) -> CommandResult<Vec<LikelyDuplicate>> {
    Ok(state.store()?.likely_duplicate_clients(&state.session()?, &probe)?)
}

#[tauri::command]
pub fn register_client(state: State<'_, AppState>, client: NewClient) -> CommandResult<Client> {
    Ok(state.store()?.register_client(&state.session()?, &client)?)
}

#[tauri::command]
pub fn register_patient(state: State<'_, AppState>, owner: Uuid, patient: NewPatient) -> CommandResult<Patient> {
    Ok(state.store()?.register_patient(&state.session()?, owner, &patient)?)
}

#[tauri::command]
pub fn client_record(state: State<'_, AppState>, id: Uuid) -> CommandResult<ClientRecord> {
    Ok(state.store()?.client_record(&state.session()?, id)?)
}

#[tauri::command]
pub fn patient_record(state: State<'_, AppState>, id: Uuid) -> CommandResult<PatientRecord> {
    Ok(state.store()?.patient_record(&state.session()?, id)?)
}

#[tauri::command]
pub fn day_book(state: State<'_, AppState>, date: NaiveDate) -> CommandResult<DayBook> {
    Ok(state.store()?.day_book(&state.session()?, date)?)
}

#[tauri::command]
pub fn book_appointment(state: State<'_, AppState>, appointment: NewAppointment) -> CommandResult<Appointment> {
    Ok(state.store()?.book_appointment(&state.session()?, &appointment)?)
}

#[tauri::command]
pub fn move_appointment(state: State<'_, AppState>, id: Uuid, to: AppointmentMove) -> CommandResult<Appointment> {
    Ok(state.store()?.move_appointment(&state.session()?, id, &to)?)
}

#[tauri::command]
pub fn set_appointment_status(
    state: State<'_, AppState>,
    id: Uuid,
    status: AppointmentStatus,
) -> CommandResult<Appointment> {
    Ok(state.store()?.set_appointment_status(&state.session()?, id, status)?)
}

/// Saves the day list PDF in the exports folder and returns where.
#[tauri::command]
pub fn print_day_list(state: State<'_, AppState>, date: NaiveDate) -> CommandResult<String> {
    let store = state.store()?;
    let book = store.day_book(&state.session()?, date)?;
    let practice = store.practice()?.ok_or_else(|| CommandError::new("not_found", "Set up the practice first."))?;
    let pdf = lifeboat_print::day_list(&practice, &book, store.clock().now());
    crate::save_export(&state, &format!("day-list-{date}.pdf"), &pdf)
}

#[tauri::command]
pub fn record_death(state: State<'_, AppState>, patient: Uuid, on: NaiveDate) -> CommandResult<Patient> {
    Ok(state.store()?.record_death(&state.session()?, patient, on)?)
}

/// A clinician's weekly hours as text ("mon-fri 08:30-18:00, sat 09:00-12:30").
#[tauri::command]
pub fn working_week(state: State<'_, AppState>, clinician: Uuid) -> CommandResult<String> {
    let week = state.store()?.working_hours(&state.session()?, clinician)?;
    Ok(WorkingDay::format_week(&week))
}

#[tauri::command]
pub fn set_working_week(state: State<'_, AppState>, clinician: Uuid, week: String) -> CommandResult<String> {
    let week = WorkingDay::parse_week(&week)?;
    state.store()?.set_working_hours(&state.session()?, clinician, &week)?;
    Ok(WorkingDay::format_week(&week))
}
