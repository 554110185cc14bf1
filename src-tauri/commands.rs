//! Tauri commands: each takes its inputs, calls one core function on a blocking thread (never the
//! window's main thread), and maps the error. Every command is `async`; a test in `lib.rs` checks
//! that, and that this list, `build.rs`, the capability file and the UI's api module agree.

use chrono::NaiveDate;
use lifeboat_core::reception::client::LikelyDuplicate;
use lifeboat_core::views::client_page::ClientRecord;
use lifeboat_core::views::patient_page::PatientRecord;
use lifeboat_core::views::reference::{self, ReferenceData};
use lifeboat_core::views::search::SearchHit;
use lifeboat_core::views::sync_status::SyncStatus;
use lifeboat_core::{
    Appointment, AppointmentMove, AppointmentStatus, DayBook, ErrorCode, NewAppointment, NewClient, NewPatient,
    NewStaff, Patient, Practice, PracticeSetup, Registered, Session, Staff, StaffUpdate, WorkingDay,
};
use serde::Serialize;
use tauri::State;
use uuid::Uuid;

use crate::error::{CommandError, CommandResult};
use crate::state::{blocking, AppState, DemoInfo};

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
pub async fn app_status(state: State<'_, AppState>) -> CommandResult<AppStatus> {
    let state = state.inner().clone();
    blocking(move || Ok(crate::status(&state))).await
}

#[tauri::command]
pub async fn setup_practice(state: State<'_, AppState>, setup: PracticeSetup) -> CommandResult<()> {
    let store = state.store()?;
    blocking(move || Ok(store.create_practice(&setup).map(|_| ())?)).await
}

#[tauri::command]
pub async fn login(state: State<'_, AppState>, username: String, password: String) -> CommandResult<Session> {
    let store = state.store()?;
    let session = blocking(move || Ok(store.login(&username, &password)?)).await?;
    state.set_session(Some(session.clone()));
    Ok(session)
}

#[tauri::command]
pub async fn logout(state: State<'_, AppState>) -> CommandResult<()> {
    state.set_session(None);
    Ok(())
}

#[tauri::command]
pub async fn sync_status(state: State<'_, AppState>) -> CommandResult<SyncStatus> {
    state.run(|store, _| Ok(store.sync_status()?)).await
}

#[tauri::command]
pub async fn practice(state: State<'_, AppState>) -> CommandResult<Option<Practice>> {
    state.run(|store, _| Ok(store.practice()?)).await
}

#[tauri::command]
pub async fn list_staff(state: State<'_, AppState>) -> CommandResult<Vec<Staff>> {
    state.run(|store, session| Ok(store.list_staff(session)?)).await
}

#[tauri::command]
pub async fn add_staff(state: State<'_, AppState>, staff: NewStaff) -> CommandResult<Staff> {
    state.run(move |store, session| Ok(store.add_staff(session, &staff)?)).await
}

#[tauri::command]
pub async fn update_staff(state: State<'_, AppState>, id: Uuid, update: StaffUpdate) -> CommandResult<Staff> {
    state.run(move |store, session| Ok(store.update_staff(session, id, &update)?)).await
}

#[tauri::command]
pub async fn reference_data() -> CommandResult<ReferenceData> {
    Ok(reference::reference_data())
}

#[tauri::command]
pub async fn search(state: State<'_, AppState>, query: String) -> CommandResult<Vec<SearchHit>> {
    state.run(move |store, session| Ok(store.search(session, &query, 20)?)).await
}

#[tauri::command]
pub async fn likely_duplicate_clients(
    state: State<'_, AppState>,
    probe: NewClient,
) -> CommandResult<Vec<LikelyDuplicate>> {
    state.run(move |store, session| Ok(store.likely_duplicate_clients(session, &probe)?)).await
}

/// A new client, with the animal they brought if `patient` is given: both are saved, or neither.
#[tauri::command]
pub async fn register_client(
    state: State<'_, AppState>,
    client: NewClient,
    patient: Option<NewPatient>,
) -> CommandResult<Registered> {
    state.run(move |store, session| Ok(store.register_client_with_patient(session, &client, patient.as_ref())?)).await
}

#[tauri::command]
pub async fn register_patient(state: State<'_, AppState>, owner: Uuid, patient: NewPatient) -> CommandResult<Patient> {
    state.run(move |store, session| Ok(store.register_patient(session, owner, &patient)?)).await
}

#[tauri::command]
pub async fn client_record(state: State<'_, AppState>, id: Uuid) -> CommandResult<ClientRecord> {
    state.run(move |store, session| Ok(store.client_record(session, id)?)).await
}

#[tauri::command]
pub async fn patient_record(state: State<'_, AppState>, id: Uuid) -> CommandResult<PatientRecord> {
    state.run(move |store, session| Ok(store.patient_record(session, id)?)).await
}

#[tauri::command]
pub async fn day_book(state: State<'_, AppState>, date: NaiveDate) -> CommandResult<DayBook> {
    state.run(move |store, session| Ok(store.day_book(session, date)?)).await
}

#[tauri::command]
pub async fn book_appointment(state: State<'_, AppState>, appointment: NewAppointment) -> CommandResult<Appointment> {
    state.run(move |store, session| Ok(store.book_appointment(session, &appointment)?)).await
}

#[tauri::command]
pub async fn move_appointment(state: State<'_, AppState>, id: Uuid, to: AppointmentMove) -> CommandResult<Appointment> {
    state.run(move |store, session| Ok(store.move_appointment(session, id, &to)?)).await
}

#[tauri::command]
pub async fn set_appointment_status(
    state: State<'_, AppState>,
    id: Uuid,
    status: AppointmentStatus,
) -> CommandResult<Appointment> {
    state.run(move |store, session| Ok(store.set_appointment_status(session, id, status)?)).await
}

/// Saves the day list PDF in the exports folder and returns where.
#[tauri::command]
pub async fn print_day_list(state: State<'_, AppState>, date: NaiveDate) -> CommandResult<String> {
    let export_dir = state.export_dir.clone();
    state
        .run(move |store, session| {
            let book = store.day_book(session, date)?;
            let practice = store
                .practice()?
                .ok_or_else(|| CommandError::new(ErrorCode::NotFound, "Set up the practice first."))?;
            let pdf = lifeboat_print::day_list(&practice, &book, store.clock().now());
            crate::save_export(&export_dir, &format!("day-list-{date}.pdf"), &pdf)
        })
        .await
}

#[tauri::command]
pub async fn record_death(state: State<'_, AppState>, patient: Uuid, on: NaiveDate) -> CommandResult<Patient> {
    state.run(move |store, session| Ok(store.record_death(session, patient, on)?)).await
}

/// A clinician's weekly hours as text ("mon-fri 08:30-18:00, sat 09:00-12:30").
#[tauri::command]
pub async fn working_week(state: State<'_, AppState>, clinician: Uuid) -> CommandResult<String> {
    state.run(move |store, session| Ok(WorkingDay::format_week(&store.working_hours(session, clinician)?))).await
}

#[tauri::command]
pub async fn set_working_week(state: State<'_, AppState>, clinician: Uuid, week: String) -> CommandResult<String> {
    state
        .run(move |store, session| {
            let week = WorkingDay::parse_week(&week)?;
            store.set_working_hours(session, clinician, &week)?;
            Ok(WorkingDay::format_week(&week))
        })
        .await
}
