//! Tauri commands: each takes its inputs, calls one core function on a blocking thread (never the
//! window's main thread), and maps the error. Every command is `async`; a test in `lib.rs` checks
//! that, and that this list, `build.rs`, the capability file and the UI's api module agree.

use chrono::NaiveDate;
use lifeboat_core::accounts::{CashUp, Claim, ClientAccount, NewClaim, NewPayment, Payment, Takings};
use lifeboat_core::clinical::cd_register::{CdEntry, CdRegister, NewCdEntry};
use lifeboat_core::clinical::charge::{Charge, NewCharge};
use lifeboat_core::clinical::consultation::{
    Addendum, Consultation, ConsultationDraft, DraftSaved, NewAddendum, StartConsultation,
};
use lifeboat_core::clinical::formulary::Product;
use lifeboat_core::clinical::lab::{
    LabAwaited, LabFile, LabRequest, LabResult, LabTest, LabTestInput, LabValueInput, NewLabRequest, NewLabResult,
};
use lifeboat_core::clinical::prescription::{Dispensing, NewDispensing, NewPrescription, Prescribed, Problem};
use lifeboat_core::clinical::void::Voidable;
use lifeboat_core::drill::{Drill, DrillPlan, DrillReport};
use lifeboat_core::handover::Handover;
use lifeboat_core::import::columns::{ImportKind, Mapping};
use lifeboat_core::import::{ImportOptions, ImportReport, Preview};
use lifeboat_core::onboarding::StarterLists;
use lifeboat_core::organisation::numbers::{NumberBlock, NumberBlocks, NumberKind};
use lifeboat_core::organisation::sign_in::{PinOutcome, UnlockPin};
use lifeboat_core::reception::client::LikelyDuplicate;
use lifeboat_core::replica::conflicts::Conflict;
use lifeboat_core::replica::inbox::ConflictView;
use lifeboat_core::replica::peers::Peer;
use lifeboat_core::replica::resolve::Resolution;
use lifeboat_core::store::backup::{self, BackupFile, BackupSummary, RestoreNote};
use lifeboat_core::views::client_page::ClientRecord;
use lifeboat_core::views::consult_room::{ConsultationView, MyConsults};
use lifeboat_core::views::continuity::{PackInfo, PackStatus};
use lifeboat_core::views::history::PatientHistory;
use lifeboat_core::views::patient_page::PatientRecord;
use lifeboat_core::views::reference::{self, ReferenceData};
use lifeboat_core::views::search::SearchHit;
use lifeboat_core::views::sync_status::SyncStatus;
use lifeboat_core::{
    Appointment, AppointmentMove, AppointmentStatus, DayBook, ErrorCode, NewAppointment, NewClient, NewPatient,
    NewStaff, Patient, Practice, PracticeSetup, Registered, Session, Staff, StaffUpdate, Store, WorkingDay,
};
use lifeboat_print::Mark;
use serde::Serialize;
use std::sync::Arc;
use tauri::State;
use uuid::Uuid;

use crate::error::{CommandError, CommandResult};
use crate::state::{blocking, guarded, AppState, DemoInfo};
use crate::sync::SyncHost;

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
    /// The records are still being opened at start (after an update, first made ready for this
    /// version: up to a minute or more on a large practice).
    Opening,
}

#[derive(Debug, Clone, Serialize, ts_rs::TS)]
pub struct AppStatus {
    pub phase: Phase,
    pub practice_name: Option<String>,
    pub session: Option<Session>,
    /// Whose session it is while the screen is locked (their display name); `session` is then empty.
    pub locked_by: Option<String>,
    /// While locked: whether the person's PIN may open the screen.
    pub pin_unlock: bool,
    pub demo: Option<DemoInfo>,
    pub error: Option<crate::error::CommandError>,
    pub data_dir: String,
    pub progress: Option<String>,
    /// The drill running on this PC, if one is.
    pub drill: Option<DrillBanner>,
    /// Why the restore asked for before the last restart could not be done (the database was left
    /// as it was), if it could not.
    pub restore_failed: Option<crate::error::CommandError>,
    /// At set-up: the database key sits in the key file, as this PC has no credential store, so
    /// set-up asks for a passphrase to seal it with.
    pub key_in_file: bool,
}

/// What every screen says while a drill runs.
#[derive(Debug, Clone, Serialize, ts_rs::TS)]
pub struct DrillBanner {
    pub id: Uuid,
    pub started_at: chrono::DateTime<chrono::Utc>,
    pub started_by: String,
    /// Whether the app is working on the drill's copy (false: the copy could not be opened, and a
    /// manager should end the drill).
    pub open: bool,
}

#[tauri::command]
pub async fn app_status(state: State<'_, AppState>) -> CommandResult<AppStatus> {
    guarded(async {
        let state = state.inner().clone();
        blocking(move || {
            // A start that opens the records at once goes straight to its screen: the answer waits
            // a moment for the opening before it says the records are still being opened.
            let until = std::time::Instant::now() + std::time::Duration::from_millis(1500);
            while state.starting.load(std::sync::atomic::Ordering::SeqCst) && std::time::Instant::now() < until {
                std::thread::sleep(std::time::Duration::from_millis(10));
            }
            Ok(crate::status(&state))
        })
        .await
    })
    .await
}

/// Creates the practice, and makes its recovery key, returned this once for the page to show.
#[tauri::command]
pub async fn setup_practice(
    state: State<'_, AppState>,
    setup: PracticeSetup,
    passphrase: Option<String>,
) -> CommandResult<String> {
    guarded(async {
        let store = state.store()?;
        blocking(move || {
            // On a PC without a credential store the key is sealed with a passphrase: chosen here,
            // checked before anything is made.
            let passphrase = passphrase.filter(|p| !p.is_empty());
            match &passphrase {
                Some(p) => drop(lifeboat_core::Passphrase::choose(p)?),
                None if store.key_in_file()? => {
                    return Err(lifeboat_core::Error::invalid(
                        "passphrase",
                        "is needed: this PC has no credential store to keep the database key in, so choose a passphrase to seal it with",
                    )
                    .into())
                }
                None => {}
            }
            let admin = store.create_practice(&setup)?;
            let recovery = match passphrase {
                Some(p) => store.set_up_passphrase(&admin, &p).or_else(|e| {
                    // The practice is made: its recovery key still, and the Database key card says
                    // the key is in the file until a passphrase is chosen there.
                    eprintln!("lifeboat: the passphrase chosen at set-up could not be set ({})", e.code().as_str());
                    store.make_recovery_key(&admin)
                }),
                None => store.make_recovery_key(&admin),
            };
            let recovery = recovery.map_err(|e| {
                CommandError::new(
                    e.code(),
                    format!(
                        "The practice is set up, but its recovery key could not be made ({}). Sign in and make one under Practice → Database key.",
                        e.user_message()
                    ),
                )
            })?;
            Ok(recovery)
        })
        .await
    })
    .await
}

/// The window's first screen is on show: noted once, with which screen it is and how long the start
/// took (milliseconds since the shell began to run), on standard error and in the answer. No data;
/// anyone at the PC.
#[tauri::command]
pub async fn first_screen_shown(screen: String) -> CommandResult<u64> {
    guarded(async {
        const SCREENS: [&str; 5] = ["setup", "login", "home", "unavailable", "preparing"];
        let Some(screen) = SCREENS.iter().find(|s| **s == screen) else {
            return Err(
                lifeboat_core::Error::invalid("screen", format!("must be one of {}", SCREENS.join(", "))).into()
            );
        };
        Ok(crate::note_first_screen(screen))
    })
    .await
}

/// Where the database key is kept, and when the recovery key was made (managers and admins).
#[tauri::command]
pub async fn key_protection(state: State<'_, AppState>) -> CommandResult<lifeboat_core::KeyProtection> {
    guarded(async { state.run(move |store, session| Ok(store.key_protection(session)?)).await }).await
}

/// Makes a new recovery key (admins), returned this once.
#[tauri::command]
pub async fn make_recovery_key(state: State<'_, AppState>) -> CommandResult<String> {
    guarded(async { state.run(move |store, session| Ok(store.make_recovery_key(session)?)).await }).await
}

/// The admin has kept the newest recovery key: the one before stops working.
#[tauri::command]
pub async fn confirm_recovery_key(state: State<'_, AppState>) -> CommandResult<()> {
    guarded(async { state.run(move |store, session| Ok(store.confirm_recovery_key(session)?)).await }).await
}

/// Changes the database key (admins); the new recovery key is returned this once.
#[tauri::command]
pub async fn change_key(state: State<'_, AppState>) -> CommandResult<String> {
    guarded(async { state.run(move |store, session| Ok(store.change_key(session)?)).await }).await
}

/// Opens a database whose key is not on this PC with the practice's recovery key: the key is then
/// kept on this PC, and the app restarts to open it. Only while the database waits for its key;
/// anyone at the PC may type it, as the recovery key is the authority here.
#[tauri::command]
pub async fn unlock_with_recovery_key(
    app: tauri::AppHandle,
    state: State<'_, AppState>,
    recovery_key: String,
) -> CommandResult<()> {
    guarded(async {
        let recovery = lifeboat_core::RecoveryKey::parse(&recovery_key)?;
        let config = lifeboat_core::StoreConfig::in_dir(&state.data_dir).with_recovery_key(recovery);
        let state = state.inner().clone();
        let opened = blocking(move || {
            // One opening at a time (a passphrase typed meanwhile waits, then finds the state changed).
            let _one = state.opening.lock().unwrap_or_else(|e| e.into_inner());
            let waiting_for = match state.opened() {
                Err(e) if e.code == ErrorCode::KeyNeeded || e.code == ErrorCode::PassphraseNeeded => e.code,
                _ => {
                    return Err(CommandError::new(
                        ErrorCode::Forbidden,
                        "The recovery key is only asked for when this PC does not have the database's key.",
                    ))
                }
            };
            // A restore that waited for the forgotten passphrase runs now, the recovery key reaching
            // the backup's key instead (a key refused keeps it waiting).
            if waiting_for == ErrorCode::PassphraseNeeded {
                match backup::finish_staged_restore(&config, Arc::new(lifeboat_core::SystemClock)) {
                    Some(Err(e)) if backup::is_key_refusal(&e) => return Err(e.into()),
                    Some(Err(e)) => {
                        eprintln!("lifeboat: the restore asked for could not be done ({})", e.code().as_str())
                    }
                    _ => {}
                }
            }
            let keys = config.keys.clone();
            let opened = match Store::open(config.clone(), Arc::new(lifeboat_core::SystemClock)) {
                Ok(_) => true,
                Err(e)
                    if e.field() == Some("recovery key")
                        || matches!(e.code(), ErrorCode::KeyNeeded | ErrorCode::PassphraseNeeded) =>
                {
                    return Err(e.into());
                }
                // The recovery key opened the key, but the records cannot be opened (damaged): the
                // start screen says why and offers the backups, which open with it.
                Err(e) => {
                    *state.typed_keys.lock().unwrap_or_else(|e| e.into_inner()) = Some(keys);
                    *state.opened.lock().unwrap_or_else(|e| e.into_inner()) = Err(CommandError::from(e));
                    false
                }
            };
            Ok(opened)
        })
        .await?;
        if opened {
            app.restart();
        }
        Ok(())
    })
    .await
}

/// Opens the records with this PC's passphrase, typed at start (a PC without a credential store
/// whose key is sealed with one). Only in that state; anyone at the PC may type it, as nothing can
/// be seen before it. A wrong one is refused beside the field, and may be typed again.
#[tauri::command]
pub async fn unlock_with_passphrase(state: State<'_, AppState>, passphrase: String) -> CommandResult<()> {
    guarded(async {
        let refused = || {
            CommandError::new(
                ErrorCode::Forbidden,
                "The passphrase is only asked for at start, before the records are open.",
            )
        };
        if !matches!(state.opened(), Err(e) if e.code == ErrorCode::PassphraseNeeded) {
            return Err(refused());
        }
        let typed = lifeboat_core::Passphrase::typed(&passphrase)?;
        let config = crate::store_config(&state.data_dir).with_passphrase(typed);
        let state = state.inner().clone();
        blocking(move || {
            // One opening at a time: a second call (a double click) waits, then finds the records open.
            let _one = state.opening.lock().unwrap_or_else(|e| e.into_inner());
            if !matches!(state.opened(), Err(e) if e.code == ErrorCode::PassphraseNeeded) {
                return Err(refused());
            }
            let keys = config.keys.clone();
            match crate::open_records(&state, config) {
                Ok(()) => Ok(()),
                Err(e) if e.code() == ErrorCode::PassphraseNeeded || e.field() == Some("passphrase") => Err(e.into()),
                // The passphrase was right but the records cannot be opened (damaged, from a newer
                // Lifeboat): the start screen says why and offers the backups, which open with it.
                Err(e) => {
                    *state.typed_keys.lock().unwrap_or_else(|e| e.into_inner()) = Some(keys);
                    *state.opened.lock().unwrap_or_else(|e| e.into_inner()) = Err(CommandError::from(e));
                    Ok(())
                }
            }
        })
        .await
    })
    .await
}

/// Protects the key with a passphrase on a PC without a credential store (admins; at set-up, and
/// from the *Database key* card): asked for at every start from then on.
#[tauri::command]
pub async fn set_passphrase(
    state: State<'_, AppState>,
    passphrase: String,
) -> CommandResult<lifeboat_core::KeyProtection> {
    guarded(async { state.run(move |store, session| Ok(store.set_passphrase(session, &passphrase)?)).await }).await
}

#[tauri::command]
pub async fn login(state: State<'_, AppState>, username: String, password: String) -> CommandResult<Session> {
    guarded(async {
        let store = state.store()?;
        let session = blocking(move || Ok(store.login(&username, &password)?)).await?;
        state.set_session(Some(session.clone()));
        Ok(session)
    })
    .await
}

#[tauri::command]
pub async fn logout(state: State<'_, AppState>) -> CommandResult<()> {
    guarded(async {
        state.set_session(None);
        Ok(())
    })
    .await
}

/// Locks the screen (the person walked away, or the PC sat untouched): nothing that needs the
/// person works until their password opens it.
#[tauri::command]
pub async fn lock_screen(state: State<'_, AppState>) -> CommandResult<()> {
    guarded(async {
        state.session_even_if_locked()?;
        state.set_locked(true);
        Ok(())
    })
    .await
}

/// Opens a locked screen with the password of the person whose session it is (counted as a
/// sign-in: wrong passwords slow down and lock alike).
#[tauri::command]
pub async fn unlock_screen(state: State<'_, AppState>, password: String) -> CommandResult<Session> {
    guarded(async {
        let store = state.store()?;
        let session = state.session_even_if_locked()?;
        let again = blocking(move || Ok(store.unlock(&session, &password)?)).await?;
        state.unlock_for(again.clone())?;
        Ok(again)
    })
    .await
}

/// Minutes this PC may sit untouched before its screen locks.
#[tauri::command]
pub async fn idle_lock_minutes(state: State<'_, AppState>) -> CommandResult<u32> {
    guarded(async { state.run(|store, _| Ok(store.idle_lock_minutes()?)).await }).await
}

/// Sets a PIN (4 to 8 digits) that may re-open this session's locked screen on this PC for a shift:
/// the person's password first (so that nobody who finds the screen open can set one).
#[tauri::command]
pub async fn set_unlock_pin(state: State<'_, AppState>, pin: String, password: String) -> CommandResult<()> {
    guarded(async {
        let store = state.store()?;
        let session = state.session()?;
        let made = blocking(move || {
            let pin = UnlockPin::new(&session, &pin, chrono::Utc::now())?;
            store.unlock(&session, &password).map_err(|e| match e {
                lifeboat_core::Error::BadCredentials => {
                    lifeboat_core::Error::invalid("password", "is not your password")
                }
                other => other,
            })?;
            Ok(pin)
        })
        .await?;
        // Still this person's session, and open.
        let current = state.session()?;
        if !made.is_for(&current) {
            return Err(lifeboat_core::Error::NotLoggedIn.into());
        }
        *state.pin.lock().unwrap_or_else(|e| e.into_inner()) = Some(made);
        Ok(())
    })
    .await
}

/// Opens the locked screen with the session's PIN. Wrong too often, or after the shift, the PIN is
/// forgotten and only the password opens it. Each attempt is recorded like a sign-in.
#[tauri::command]
pub async fn unlock_with_pin(state: State<'_, AppState>, pin: String) -> CommandResult<Session> {
    guarded(async {
        let store = state.store()?;
        let session = state.session_even_if_locked()?;
        if !state.is_locked() {
            return Ok(session);
        }
        let (held, who) = (state.pin.clone(), session.clone());
        let outcome = blocking(move || {
            let mut slot = held.lock().unwrap_or_else(|e| e.into_inner());
            let (outcome, recorded) = match slot.as_mut().filter(|p| p.is_for(&who)) {
                Some(p) => {
                    let outcome = p.open(&pin, chrono::Utc::now());
                    let recorded = match outcome {
                        PinOutcome::Opened => "unlocked_with_pin",
                        PinOutcome::Wrong(_) => "wrong_pin",
                        PinOutcome::Forgotten(_) => "pin_forgotten",
                    };
                    (outcome, recorded)
                }
                None => (PinOutcome::Forgotten("no PIN is set for this session: type your password".into()), "no_pin"),
            };
            if matches!(outcome, PinOutcome::Forgotten(_)) {
                *slot = None;
            }
            drop(slot);
            store.record_pin_attempt(&who, recorded)?;
            Ok(outcome)
        })
        .await?;
        match outcome {
            PinOutcome::Opened => {
                // A reset that arrived since the login asks for a password of their own now.
                let mut session = session;
                let store = state.store()?;
                let id = session.staff_id;
                session.must_change_password = blocking(move || Ok(store.must_change_password(id)?)).await?;
                state.unlock_for(session.clone())?;
                Ok(session)
            }
            PinOutcome::Wrong(left) => Err(lifeboat_core::Error::invalid(
                "pin",
                format!("is not right ({left} {} left)", if left == 1 { "try" } else { "tries" }),
            )
            .into()),
            PinOutcome::Forgotten(why) => Err(CommandError::new(ErrorCode::TooManyAttempts, why)),
        }
    })
    .await
}

/// The logged-in person changes their own password.
#[tauri::command]
pub async fn change_own_password(
    state: State<'_, AppState>,
    current_password: String,
    new_password: String,
) -> CommandResult<()> {
    guarded(async {
        state
            .run(move |store, session| Ok(store.change_own_password(session, &current_password, &new_password)?))
            .await?;
        // A PIN set with the old password is forgotten; a password a manager gave is no longer in use.
        *state.pin.lock().unwrap_or_else(|e| e.into_inner()) = None;
        if let Some(session) = state.session.lock().unwrap_or_else(|e| e.into_inner()).as_mut() {
            session.must_change_password = false;
        }
        Ok(())
    })
    .await
}

#[tauri::command]
pub async fn set_idle_lock_minutes(state: State<'_, AppState>, minutes: u32) -> CommandResult<u32> {
    guarded(async { state.run(move |store, session| Ok(store.set_idle_lock_minutes(session, minutes)?)).await }).await
}

#[tauri::command]
pub async fn sync_status(state: State<'_, AppState>) -> CommandResult<SyncStatus> {
    guarded(async { state.run(|store, _| Ok(store.sync_status()?)).await }).await
}

#[tauri::command]
pub async fn practice(state: State<'_, AppState>) -> CommandResult<Option<Practice>> {
    guarded(async { state.run(|store, _| Ok(store.practice()?)).await }).await
}

#[tauri::command]
pub async fn list_staff(state: State<'_, AppState>) -> CommandResult<Vec<Staff>> {
    guarded(async { state.run(|store, session| Ok(store.list_staff(session)?)).await }).await
}

#[tauri::command]
pub async fn add_staff(state: State<'_, AppState>, staff: NewStaff) -> CommandResult<Staff> {
    guarded(async {
        // A password given from the window is always theirs to replace, whatever the page sends.
        let staff = NewStaff { must_change_password: true, ..staff };
        state.run(move |store, session| Ok(store.add_staff(session, &staff)?)).await
    })
    .await
}

#[tauri::command]
pub async fn update_staff(state: State<'_, AppState>, id: Uuid, update: StaffUpdate) -> CommandResult<Staff> {
    guarded(async { state.run(move |store, session| Ok(store.update_staff(session, id, &update)?)).await }).await
}

/// Gives someone a new password (they forgot theirs) that they must replace at their next login.
#[tauri::command]
pub async fn reset_staff_password(state: State<'_, AppState>, id: Uuid, password: String) -> CommandResult<Staff> {
    guarded(async { state.run(move |store, session| Ok(store.reset_password(session, id, &password)?)).await }).await
}

#[tauri::command]
pub async fn reference_data() -> CommandResult<ReferenceData> {
    guarded(async { Ok(reference::reference_data()) }).await
}

#[tauri::command]
pub async fn search(state: State<'_, AppState>, query: String) -> CommandResult<Vec<SearchHit>> {
    guarded(async { state.run(move |store, session| Ok(store.search(session, &query, 20)?)).await }).await
}

#[tauri::command]
pub async fn likely_duplicate_clients(
    state: State<'_, AppState>,
    probe: NewClient,
) -> CommandResult<Vec<LikelyDuplicate>> {
    guarded(async { state.run(move |store, session| Ok(store.likely_duplicate_clients(session, &probe)?)).await }).await
}

/// A new client, with the animal they brought if `patient` is given: both are saved, or neither.
#[tauri::command]
pub async fn register_client(
    state: State<'_, AppState>,
    client: NewClient,
    patient: Option<NewPatient>,
) -> CommandResult<Registered> {
    guarded(async {
        state
            .run(move |store, session| Ok(store.register_client_with_patient(session, &client, patient.as_ref())?))
            .await
    })
    .await
}

#[tauri::command]
pub async fn register_patient(state: State<'_, AppState>, owner: Uuid, patient: NewPatient) -> CommandResult<Patient> {
    guarded(async { state.run(move |store, session| Ok(store.register_patient(session, owner, &patient)?)).await })
        .await
}

#[tauri::command]
pub async fn client_record(state: State<'_, AppState>, id: Uuid) -> CommandResult<ClientRecord> {
    guarded(async { state.run(move |store, session| Ok(store.client_record(session, id)?)).await }).await
}

#[tauri::command]
pub async fn patient_record(state: State<'_, AppState>, id: Uuid) -> CommandResult<PatientRecord> {
    guarded(async { state.run(move |store, session| Ok(store.patient_record(session, id)?)).await }).await
}

#[tauri::command]
pub async fn day_book(state: State<'_, AppState>, date: NaiveDate) -> CommandResult<DayBook> {
    guarded(async { state.run(move |store, session| Ok(store.day_book(session, date)?)).await }).await
}

#[tauri::command]
pub async fn book_appointment(state: State<'_, AppState>, appointment: NewAppointment) -> CommandResult<Appointment> {
    guarded(async { state.run(move |store, session| Ok(store.book_appointment(session, &appointment)?)).await }).await
}

#[tauri::command]
pub async fn move_appointment(state: State<'_, AppState>, id: Uuid, to: AppointmentMove) -> CommandResult<Appointment> {
    guarded(async { state.run(move |store, session| Ok(store.move_appointment(session, id, &to)?)).await }).await
}

#[tauri::command]
pub async fn set_appointment_status(
    state: State<'_, AppState>,
    id: Uuid,
    status: AppointmentStatus,
) -> CommandResult<Appointment> {
    guarded(async { state.run(move |store, session| Ok(store.set_appointment_status(session, id, status)?)).await })
        .await
}

/// Saves the day list PDF in the exports folder and returns where.
#[tauri::command]
pub async fn print_day_list(state: State<'_, AppState>, date: NaiveDate) -> CommandResult<String> {
    guarded(async {
        let export_dir = state.export_dir();
        state
            .run(move |store, session| {
                let book = store.day_book(session, date)?;
                let practice = store
                    .practice()?
                    .ok_or_else(|| CommandError::new(ErrorCode::NotFound, "Set up the practice first."))?;
                let pdf = lifeboat_print::day_list(&practice, &book, store.clock().now(), Mark::of(store));
                crate::save_export(&export_dir, &format!("day-list-{date}.pdf"), &pdf)
            })
            .await
    })
    .await
}

#[tauri::command]
pub async fn record_death(state: State<'_, AppState>, patient: Uuid, on: NaiveDate) -> CommandResult<Patient> {
    guarded(async { state.run(move |store, session| Ok(store.record_death(session, patient, on)?)).await }).await
}

/// A clinician's weekly hours as text ("mon-fri 08:30-18:00, sat 09:00-12:30").
#[tauri::command]
pub async fn working_week(state: State<'_, AppState>, clinician: Uuid) -> CommandResult<String> {
    guarded(async {
        state.run(move |store, session| Ok(WorkingDay::format_week(&store.working_hours(session, clinician)?))).await
    })
    .await
}

#[tauri::command]
pub async fn set_working_week(state: State<'_, AppState>, clinician: Uuid, week: String) -> CommandResult<String> {
    guarded(async {
        state
            .run(move |store, session| {
                let week = WorkingDay::parse_week(&week)?;
                store.set_working_hours(session, clinician, &week)?;
                Ok(WorkingDay::format_week(&week))
            })
            .await
    })
    .await
}

// The consult room.

#[tauri::command]
pub async fn my_consults(state: State<'_, AppState>, date: NaiveDate) -> CommandResult<MyConsults> {
    guarded(async { state.run(move |store, session| Ok(store.my_consults(session, date)?)).await }).await
}

#[tauri::command]
pub async fn start_consultation(state: State<'_, AppState>, start: StartConsultation) -> CommandResult<Consultation> {
    guarded(async { state.run(move |store, session| Ok(store.start_consultation(session, &start)?)).await }).await
}

#[tauri::command]
pub async fn consultation_view(state: State<'_, AppState>, id: Uuid) -> CommandResult<ConsultationView> {
    guarded(async { state.run(move |store, session| Ok(store.consultation_view(session, id)?)).await }).await
}

#[tauri::command]
pub async fn save_consultation_draft(
    state: State<'_, AppState>,
    id: Uuid,
    draft: ConsultationDraft,
) -> CommandResult<DraftSaved> {
    guarded(async { state.run(move |store, session| Ok(store.save_consultation_draft(session, id, &draft)?)).await })
        .await
}

#[tauri::command]
pub async fn sign_consultation(
    state: State<'_, AppState>,
    id: Uuid,
    password: String,
    confirm_unusual_vitals: bool,
) -> CommandResult<Consultation> {
    guarded(async {
        state
            .run(move |store, session| Ok(store.sign_consultation(session, id, &password, confirm_unusual_vitals)?))
            .await
    })
    .await
}

#[tauri::command]
pub async fn add_addendum(
    state: State<'_, AppState>,
    consultation: Uuid,
    addendum: NewAddendum,
) -> CommandResult<Addendum> {
    guarded(async { state.run(move |store, session| Ok(store.add_addendum(session, consultation, &addendum)?)).await })
        .await
}

#[tauri::command]
pub async fn void_record(state: State<'_, AppState>, entity: Voidable, id: Uuid, reason: String) -> CommandResult<()> {
    guarded(async { state.run(move |store, session| Ok(store.void_record(session, entity, id, &reason)?)).await }).await
}

#[tauri::command]
pub async fn patient_history(state: State<'_, AppState>, patient: Uuid) -> CommandResult<PatientHistory> {
    guarded(async { state.run(move |store, session| Ok(store.patient_history(session, patient)?)).await }).await
}

#[tauri::command]
pub async fn find_products(state: State<'_, AppState>, query: String) -> CommandResult<Vec<Product>> {
    guarded(async { state.run(move |store, session| Ok(store.find_products(session, &query, 30)?)).await }).await
}

/// Every problem with a prescription as it stands, for the form's live checks.
#[tauri::command]
pub async fn check_prescription(
    state: State<'_, AppState>,
    prescription: NewPrescription,
) -> CommandResult<Vec<Problem>> {
    guarded(async { state.run(move |store, session| Ok(store.check_prescription(session, &prescription)?)).await })
        .await
}

#[tauri::command]
pub async fn prescribe(state: State<'_, AppState>, prescription: NewPrescription) -> CommandResult<Prescribed> {
    guarded(async { state.run(move |store, session| Ok(store.prescribe(session, &prescription)?)).await }).await
}

#[tauri::command]
pub async fn dispense(
    state: State<'_, AppState>,
    prescription: Uuid,
    dispensing: NewDispensing,
) -> CommandResult<Dispensing> {
    guarded(async { state.run(move |store, session| Ok(store.dispense(session, prescription, &dispensing)?)).await })
        .await
}

/// Saves the dispensing label PDF in the exports folder and returns where.
#[tauri::command]
pub async fn print_label(state: State<'_, AppState>, prescription: Uuid, dispensing: Uuid) -> CommandResult<String> {
    guarded(async {
        let export_dir = state.export_dir();
        state
            .run(move |store, session| {
                let doc = store.prescription_document(session, prescription, Some(dispensing))?;
                let pdf = lifeboat_print::label(&doc, Mark::of(store))?;
                crate::save_export(&export_dir, &format!("label-{}.pdf", short(dispensing)), &pdf)
            })
            .await
    })
    .await
}

/// Saves the written prescription PDF in the exports folder and returns where.
#[tauri::command]
pub async fn print_prescription(state: State<'_, AppState>, prescription: Uuid) -> CommandResult<String> {
    guarded(async {
        let export_dir = state.export_dir();
        state
            .run(move |store, session| {
                let doc = store.prescription_document(session, prescription, None)?;
                let pdf = lifeboat_print::prescription(&doc, Mark::of(store));
                crate::save_export(&export_dir, &format!("prescription-{}.pdf", short(prescription)), &pdf)
            })
            .await
    })
    .await
}

/// The last twelve hex digits of a record id: enough to tell files apart, and no personal data.
fn short(id: Uuid) -> String {
    id.simple().to_string()[20..].to_string()
}

#[tauri::command]
pub async fn add_charge(state: State<'_, AppState>, charge: NewCharge) -> CommandResult<Charge> {
    guarded(async { state.run(move |store, session| Ok(store.add_charge(session, &charge)?)).await }).await
}

// Lab work.

#[tauri::command]
pub async fn lab_tests(state: State<'_, AppState>, all: bool) -> CommandResult<Vec<LabTest>> {
    guarded(async { state.run(move |store, session| Ok(store.lab_tests(session, all)?)).await }).await
}

#[tauri::command]
pub async fn save_lab_test(state: State<'_, AppState>, test: LabTestInput) -> CommandResult<LabTest> {
    guarded(async { state.run(move |store, session| Ok(store.save_lab_test(session, &test)?)).await }).await
}

#[tauri::command]
pub async fn request_lab_work(state: State<'_, AppState>, request: NewLabRequest) -> CommandResult<LabRequest> {
    guarded(async { state.run(move |store, session| Ok(store.request_lab_work(session, &request)?)).await }).await
}

/// Enters a result; `file_path`, if given, is the lab's PDF or image, read here (at most 2 MB).
#[tauri::command]
pub async fn record_lab_result(
    state: State<'_, AppState>,
    result: NewLabResult,
    file_path: Option<String>,
) -> CommandResult<LabResult> {
    guarded(async {
        state
            .run(move |store, session| {
                store.require(session, lifeboat_core::Action::RecordLabResults)?;
                let mut result = result;
                if let Some(path) = file_path.as_deref().map(str::trim).filter(|p| !p.is_empty()) {
                    result.file = Some(read_lab_file(std::path::Path::new(path))?);
                }
                Ok(store.record_lab_result(session, &result)?)
            })
            .await
    })
    .await
}

/// Reads the lab's file a person chose: an ordinary file (not a device or a pipe, which could be
/// read for ever), and never more than the largest a result may carry.
fn read_lab_file(path: &std::path::Path) -> CommandResult<LabFile> {
    use std::io::Read;
    let most = lifeboat_core::clinical::lab::MOST_FILE_BYTES;
    let unreadable = |e: std::io::Error| {
        CommandError::from(lifeboat_core::Error::invalid(
            "file",
            format!("could not be read ({e}): choose the file again"),
        ))
    };
    // Asked before opening: opening a pipe would wait for a writer for ever.
    if !std::fs::metadata(path).map_err(unreadable)?.is_file() {
        return Err(lifeboat_core::Error::invalid("file", "is not a file: choose the lab's PDF or image").into());
    }
    let file = std::fs::File::open(path).map_err(unreadable)?;
    let mut bytes = Vec::new();
    file.take(most as u64 + 1).read_to_end(&mut bytes).map_err(unreadable)?;
    if bytes.len() > most {
        return Err(lifeboat_core::Error::invalid(
            "file",
            "is larger than 2 MB, the largest a result may carry: scan it at a lower resolution",
        )
        .into());
    }
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    Ok(LabFile { name, bytes })
}

/// The rows to start entering a result with: the last result of the same test's names, units and ranges.
#[tauri::command]
pub async fn lab_result_template(state: State<'_, AppState>, request: Uuid) -> CommandResult<Vec<LabValueInput>> {
    guarded(async { state.run(move |store, session| Ok(store.lab_result_template(session, request)?)).await }).await
}

#[tauri::command]
pub async fn lab_awaited(state: State<'_, AppState>, mine: bool) -> CommandResult<LabAwaited> {
    guarded(async { state.run(move |store, session| Ok(store.lab_awaited(session, mine)?)).await }).await
}

/// Saves a result's file from the lab in the exports folder and returns where.
#[tauri::command]
pub async fn save_lab_attachment(state: State<'_, AppState>, result: Uuid) -> CommandResult<String> {
    guarded(async {
        let export_dir = state.export_dir();
        state
            .run(move |store, session| {
                let file = store.lab_attachment(session, result)?;
                crate::save_export(&export_dir, &format!("lab-{}-{}", short(result), file.name), &file.bytes)
            })
            .await
    })
    .await
}

// Numbers people can read.

#[tauri::command]
pub async fn number_blocks(state: State<'_, AppState>) -> CommandResult<NumberBlocks> {
    guarded(async { state.run(|store, session| Ok(store.number_blocks(session)?)).await }).await
}

#[tauri::command]
pub async fn add_number_block(
    state: State<'_, AppState>,
    kind: NumberKind,
    first: i64,
    last: i64,
) -> CommandResult<NumberBlock> {
    guarded(async { state.run(move |store, session| Ok(store.add_number_block(session, kind, first, last)?)).await })
        .await
}

// Payments, takings and claims.

#[tauri::command]
pub async fn client_account(state: State<'_, AppState>, client: Uuid) -> CommandResult<ClientAccount> {
    guarded(async { state.run(move |store, session| Ok(store.client_account(session, client)?)).await }).await
}

#[tauri::command]
pub async fn take_payment(state: State<'_, AppState>, payment: NewPayment) -> CommandResult<Payment> {
    guarded(async { state.run(move |store, session| Ok(store.take_payment(session, &payment)?)).await }).await
}

#[tauri::command]
pub async fn run_card_payment(
    state: State<'_, AppState>,
    payment: Uuid,
    approved: bool,
    reference: String,
) -> CommandResult<Payment> {
    guarded(async {
        state.run(move |store, session| Ok(store.run_card_payment(session, payment, approved, &reference)?)).await
    })
    .await
}

#[tauri::command]
pub async fn cash_up(
    state: State<'_, AppState>,
    day: NaiveDate,
    counted: String,
    note: String,
) -> CommandResult<CashUp> {
    guarded(async { state.run(move |store, session| Ok(store.cash_up(session, day, &counted, &note)?)).await }).await
}

#[tauri::command]
pub async fn record_claim(state: State<'_, AppState>, claim: NewClaim) -> CommandResult<Claim> {
    guarded(async { state.run(move |store, session| Ok(store.record_claim(session, &claim)?)).await }).await
}

#[tauri::command]
pub async fn takings(state: State<'_, AppState>, day: NaiveDate) -> CommandResult<Takings> {
    guarded(async { state.run(move |store, session| Ok(store.takings(session, day)?)).await }).await
}

/// Saves the receipt for a payment in the exports folder and returns where.
#[tauri::command]
pub async fn print_receipt(state: State<'_, AppState>, payment: Uuid) -> CommandResult<String> {
    guarded(async {
        let export_dir = state.export_dir();
        state
            .run(move |store, session| {
                let receipt = store.receipt(session, payment)?;
                let pdf = lifeboat_print::receipt(&receipt, Mark::of(store));
                crate::save_export(&export_dir, &format!("receipt-{}.pdf", short(payment)), &pdf)
            })
            .await
    })
    .await
}

// The continuity pack.

#[tauri::command]
pub async fn continuity_status(state: State<'_, AppState>) -> CommandResult<PackStatus> {
    guarded(async { state.run(|store, session| Ok(store.continuity_status(session)?)).await }).await
}

/// Makes the continuity pack now (for `date`, or the next working day) and keeps it on this PC.
#[tauri::command]
pub async fn make_continuity_pack(state: State<'_, AppState>, date: Option<NaiveDate>) -> CommandResult<PackInfo> {
    guarded(async {
        state
            .run(move |store, session| {
                let now = store.clock().now();
                let (info, _) = store.make_continuity_pack(session, date, |pack| {
                    lifeboat_print::continuity_pack(pack, now, Mark::of(store))
                })?;
                Ok(info)
            })
            .await
    })
    .await
}

/// Saves a continuity pack kept on this PC (`id`, or the last made) in the exports folder, to print,
/// and says where. The copies saved before are removed: only the newest paper copy stays on disk.
#[tauri::command]
pub async fn save_continuity_pack(state: State<'_, AppState>, id: Option<Uuid>) -> CommandResult<String> {
    guarded(async {
        let export_dir = state.export_dir();
        state
            .run(move |store, session| {
                let (info, pdf) = store.kept_continuity_pack(session, id)?;
                let name = format!("continuity-pack-{}.pdf", info.for_date);
                if let Ok(entries) = std::fs::read_dir(&export_dir) {
                    for entry in entries.flatten() {
                        let old = entry.file_name().to_string_lossy().into_owned();
                        if old.starts_with("continuity-pack-") && old.ends_with(".pdf") && old != name {
                            let _ = std::fs::remove_file(entry.path());
                        }
                    }
                }
                crate::save_export(&export_dir, &name, &pdf)
            })
            .await
    })
    .await
}

/// Sets when the evening pack is made on this PC ("HH:MM"), or turns it off (no time).
#[tauri::command]
pub async fn set_continuity_schedule(state: State<'_, AppState>, time: Option<String>) -> CommandResult<PackStatus> {
    guarded(async {
        state.run(move |store, session| Ok(store.set_continuity_schedule(session, time.as_deref())?)).await
    })
    .await
}

#[tauri::command]
pub async fn cd_register(state: State<'_, AppState>, premises: Option<Uuid>) -> CommandResult<CdRegister> {
    guarded(async { state.run(move |store, session| Ok(store.cd_register(session, premises)?)).await }).await
}

#[tauri::command]
pub async fn cd_entries(state: State<'_, AppState>, premises: Uuid, product: Uuid) -> CommandResult<Vec<CdEntry>> {
    guarded(async { state.run(move |store, session| Ok(store.cd_entries(session, premises, product)?)).await }).await
}

/// Adds the starter formulary and price list, or what of them the practice lacks.
#[tauri::command]
pub async fn add_starter_lists(state: State<'_, AppState>) -> CommandResult<StarterLists> {
    guarded(async { state.run(|store, session| Ok(store.add_starter_lists(session)?)).await }).await
}

#[tauri::command]
pub async fn record_cd_entry(state: State<'_, AppState>, entry: NewCdEntry) -> CommandResult<CdEntry> {
    guarded(async { state.run(move |store, session| Ok(store.record_cd_entry(session, &entry)?)).await }).await
}

// Sync: status, servers, the relay this PC may host, conflicts, bundles and hand-overs.

/// Everything the sync page and the banner show.
#[derive(Debug, Clone, Serialize, ts_rs::TS)]
pub struct SyncOverview {
    pub status: SyncStatus,
    pub syncing: bool,
    /// `connecting`, `sending`, `receiving` or `checking`, with how far (for a progress bar).
    pub phase: Option<String>,
    pub done: u64,
    pub total: u64,
    /// The relay this PC hosts, if it does.
    pub hosting: Option<crate::sync::HostedRelay>,
    /// The practice's id, which the group's IT uses for its hub.
    pub practice_id: Option<String>,
    pub peers: Vec<Peer>,
}

fn sync_host(state: &AppState) -> CommandResult<Arc<SyncHost>> {
    if state.drill().is_some() {
        return Err(CommandError::new(
            ErrorCode::Forbidden,
            "This PC is running a drill: sync, bundles and hand-overs are for the real records, and nothing made in a drill leaves this PC. End the drill to use them.",
        ));
    }
    state.sync().ok_or_else(|| {
        CommandError::new(ErrorCode::Preparing, "Sync is not available: the database could not be opened.")
    })
}

#[tauri::command]
pub async fn sync_overview(state: State<'_, AppState>) -> CommandResult<SyncOverview> {
    guarded(async {
        let host = sync_host(&state)?;
        let status = state.run(|store, _| Ok(store.sync_status()?)).await?;
        let peers = state.run(|store, _| Ok(store.peers()?)).await?;
        let practice_id = state.run(|store, _| Ok(store.practice_summary()?.map(|p| p.0.to_string()))).await?;
        let engine = host.engine.state();
        let progress = engine.progress.clone().unwrap_or_default();
        Ok(SyncOverview {
            status,
            syncing: engine.running,
            phase: engine.progress.map(|p| p.phase),
            done: progress.done,
            total: progress.total,
            hosting: host.hosted().await,
            practice_id,
            peers,
        })
    })
    .await
}

#[tauri::command]
pub async fn sync_now(state: State<'_, AppState>) -> CommandResult<()> {
    guarded(async {
        state.session()?;
        sync_host(&state)?.engine.sync_now();
        Ok(())
    })
    .await
}

#[tauri::command]
pub async fn host_relay(state: State<'_, AppState>, port: u16) -> CommandResult<()> {
    guarded(async {
        let host = sync_host(&state)?;
        let session = state.session()?;
        state.run(|store, session| Ok(store.require(session, lifeboat_core::Action::ManageSync)?)).await?;
        if port < 1024 {
            return Err(lifeboat_core::Error::invalid("port", "must be 1024 to 65535").into());
        }
        let s = session.clone();
        state
            .run(move |store, _| {
                store.set_local_setting(&s, "relay_port", &port.to_string())?;
                Ok(store.set_local_setting(&s, "relay_hosting", "on")?)
            })
            .await?;
        host.stop_relay().await;
        host.start_relay(Some(session)).await
    })
    .await
}

#[tauri::command]
pub async fn stop_hosting_relay(state: State<'_, AppState>) -> CommandResult<()> {
    guarded(async {
        let host = sync_host(&state)?;
        state.run(|store, session| Ok(store.set_local_setting(session, "relay_hosting", "off")?)).await?;
        host.stop_relay().await;
        Ok(())
    })
    .await
}

#[tauri::command]
pub async fn pairing_code(state: State<'_, AppState>) -> CommandResult<crate::sync::PairingInfo> {
    guarded(async {
        state.run(|store, session| Ok(store.authorize_sync(session)?)).await?;
        sync_host(&state)?.pairing_code().await
    })
    .await
}

#[tauri::command]
pub async fn revoke_device(state: State<'_, AppState>, device: Uuid) -> CommandResult<()> {
    guarded(async {
        state.run(|store, session| Ok(store.authorize_sync(session)?)).await?;
        sync_host(&state)?.revoke(device).await
    })
    .await
}

#[tauri::command]
pub async fn pair_server(
    state: State<'_, AppState>,
    address: String,
    code: String,
    name: String,
) -> CommandResult<Peer> {
    guarded(async {
        let host = sync_host(&state)?;
        let session = state.session()?;
        // Who may, before the pairing code is spent on the server.
        state.run(|store, session| Ok(store.authorize_sync(session)?)).await?;
        let device = device_name();
        let peer = lifeboat_sync::engine::pair(&host.store, Some(session), &name, &address, &code, &device)
            .await
            .map_err(crate::error::from_sync)?;
        host.engine.sync_now();
        Ok(peer)
    })
    .await
}

/// A new PC joins a practice: pairs with its relay (before anyone can log in here) and fetches it.
#[tauri::command]
pub async fn join_practice(state: State<'_, AppState>, address: String, code: String) -> CommandResult<()> {
    guarded(async {
        let host = sync_host(&state)?;
        let store = state.store()?;
        if blocking(move || Ok(store.has_practice()?)).await? {
            return Err(CommandError::new(ErrorCode::Conflict, "This PC already holds a practice."));
        }
        let peer = lifeboat_sync::engine::pair(&host.store, None, "Practice relay", &address, &code, &device_name())
            .await
            .map_err(crate::error::from_sync)?;
        let options = lifeboat_sync::engine::SyncOptions::default();
        host.engine.sync_one(peer.id, &options).await.map_err(crate::error::from_sync)?;
        Ok(())
    })
    .await
}

fn device_name() -> String {
    // Platform code: the computer's name as Windows (COMPUTERNAME) or Linux (HOSTNAME) gives it.
    std::env::var("COMPUTERNAME").or_else(|_| std::env::var("HOSTNAME")).unwrap_or_else(|_| "Practice PC".into())
}

#[tauri::command]
pub async fn set_server_enabled(state: State<'_, AppState>, id: Uuid, enabled: bool) -> CommandResult<Peer> {
    guarded(async { state.run(move |store, session| Ok(store.set_peer_enabled(session, id, enabled)?)).await }).await
}

#[tauri::command]
pub async fn remove_server(state: State<'_, AppState>, id: Uuid) -> CommandResult<()> {
    guarded(async { state.run(move |store, session| Ok(store.remove_peer(session, id)?)).await }).await
}

#[tauri::command]
pub async fn conflict_inbox(state: State<'_, AppState>, open_only: bool) -> CommandResult<Vec<ConflictView>> {
    guarded(async { state.run(move |store, session| Ok(store.conflict_inbox(session, open_only)?)).await }).await
}

#[tauri::command]
pub async fn resolve_conflict(
    state: State<'_, AppState>,
    id: Uuid,
    resolution: Resolution,
    note: String,
) -> CommandResult<Conflict> {
    guarded(async {
        let conflict =
            state.run(move |store, session| Ok(store.resolve_conflict(session, id, &resolution, &note)?)).await?;
        if let Ok(host) = sync_host(&state) {
            host.engine.sync_now();
        }
        Ok(conflict)
    })
    .await
}

/// What a bundle export wrote.
#[derive(Debug, Clone, Serialize, ts_rs::TS)]
pub struct BundleWritten {
    pub path: String,
    pub changes: u64,
}

#[tauri::command]
pub async fn export_bundle(
    state: State<'_, AppState>,
    server: Option<Uuid>,
    passphrase: String,
) -> CommandResult<BundleWritten> {
    guarded(async {
        let host = sync_host(&state)?;
        let session = state.session()?;
        let marks = match server {
            Some(id) => state.run(move |store, _| Ok(store.peer(id)?.marks)).await?,
            None => Vec::new(),
        };
        let name = format!("lifeboat-{}.lifeboat", chrono::Utc::now().format("%Y-%m-%d-%H%M"));
        let dir = state.export_dir();
        std::fs::create_dir_all(&dir)
            .map_err(|e| CommandError::new(ErrorCode::Io, format!("Could not make {}: {e}", dir.display())))?;
        let path = dir.join(name);
        let done = lifeboat_sync::bundle::export(&host.store, &session, marks, &path, &passphrase)
            .await
            .map_err(crate::error::from_sync)?;
        Ok(BundleWritten { path: path.display().to_string(), changes: done.changes })
    })
    .await
}

/// What a bundle import did.
#[derive(Debug, Clone, Serialize, ts_rs::TS)]
pub struct BundleRead {
    pub changes: u64,
    pub new: u32,
    pub already_here: u32,
    pub kept_aside: u32,
    pub conflicts: u32,
    pub made_at: String,
}

#[tauri::command]
pub async fn import_bundle(state: State<'_, AppState>, path: String, passphrase: String) -> CommandResult<BundleRead> {
    guarded(async {
        let host = sync_host(&state)?;
        let session = state.session()?;
        let path = std::path::PathBuf::from(path.trim());
        if path.as_os_str().is_empty() {
            return Err(lifeboat_core::Error::invalid("path", "choose the bundle file").into());
        }
        let done = lifeboat_sync::bundle::import(&host.store, Some(&session), &path, &passphrase)
            .await
            .map_err(crate::error::from_sync)?;
        Ok(BundleRead {
            changes: done.changes,
            new: done.applied.new,
            already_here: done.applied.duplicates,
            kept_aside: done.applied.quarantined,
            conflicts: done.applied.conflicts,
            made_at: done.made_at,
        })
    })
    .await
}

/// Where a patient's record can be sent: the other practices of the group, through each hub.
#[derive(Debug, Clone, Serialize, ts_rs::TS)]
pub struct Destination {
    pub server: String,
    pub practice_id: String,
    pub name: String,
}

#[tauri::command]
pub async fn handover_destinations(state: State<'_, AppState>) -> CommandResult<Vec<Destination>> {
    guarded(async {
        let host = sync_host(&state)?;
        // Only those who may send a record ask the servers where it could go.
        let peers = state
            .run(|store, session| {
                store.require(session, lifeboat_core::Action::HandOver)?;
                Ok(store.peers()?)
            })
            .await?;
        let mut out = Vec::new();
        for p in peers.into_iter().filter(|p| p.enabled) {
            // A server that cannot be reached now offers no destination; the others still do.
            if let Ok(practices) = lifeboat_sync::handover::practices(&host.store, p.id).await {
                out.extend(practices.into_iter().map(|d| Destination {
                    server: p.id.to_string(),
                    practice_id: d.id.to_string(),
                    name: d.name,
                }));
            }
        }
        Ok(out)
    })
    .await
}

#[tauri::command]
pub async fn send_handover(
    state: State<'_, AppState>,
    patient: Uuid,
    server: Uuid,
    practice: Uuid,
    practice_name: String,
    note: String,
) -> CommandResult<Handover> {
    guarded(async {
        let host = sync_host(&state)?;
        let session = state.session()?;
        let to = lifeboat_protocol::PracticeInfo { id: practice, name: practice_name };
        lifeboat_sync::handover::send(&host.store, &session, server, patient, &to, &note)
            .await
            .map_err(crate::error::from_sync)
    })
    .await
}

#[tauri::command]
pub async fn export_handover(
    state: State<'_, AppState>,
    patient: Uuid,
    to_name: String,
    note: String,
    passphrase: String,
) -> CommandResult<String> {
    guarded(async {
        let host = sync_host(&state)?;
        let session = state.session()?;
        let dir = state.export_dir();
        std::fs::create_dir_all(&dir)
            .map_err(|e| CommandError::new(ErrorCode::Io, format!("Could not make {}: {e}", dir.display())))?;
        let path = dir.join(format!("handover-{}.lifeboat", chrono::Utc::now().format("%Y-%m-%d-%H%M%S")));
        lifeboat_sync::handover::export(&host.store, &session, patient, &to_name, &note, &path, &passphrase)
            .await
            .map_err(crate::error::from_sync)?;
        Ok(path.display().to_string())
    })
    .await
}

#[tauri::command]
pub async fn handovers(state: State<'_, AppState>) -> CommandResult<Vec<Handover>> {
    guarded(async { state.run(|store, session| Ok(store.handovers(session)?)).await }).await
}

#[tauri::command]
pub async fn update_client(
    state: State<'_, AppState>,
    id: Uuid,
    details: NewClient,
) -> CommandResult<lifeboat_core::Client> {
    guarded(async { state.run(move |store, session| Ok(store.update_client(session, id, &details)?)).await }).await
}

// Snapshot import: clients and patients from the PMS's CSV exports (managers).

/// Reads the file a person chose, refusing a blank path or a file too large to be an export.
fn read_import_file(path: &str) -> CommandResult<(String, Vec<u8>)> {
    let path = std::path::PathBuf::from(path.trim());
    if path.as_os_str().is_empty() {
        return Err(lifeboat_core::Error::invalid("path", "choose the file to import").into());
    }
    let meta = std::fs::metadata(&path)
        .map_err(|e| CommandError::new(ErrorCode::Io, format!("Could not read {}: {e}", path.display())))?;
    // A folder, a device or a pipe is no export (and reading /dev/zero would never end).
    if !meta.is_file() {
        return Err(lifeboat_core::Error::invalid("path", "is not a file: choose the PMS export").into());
    }
    if meta.len() > lifeboat_core::import::table::MAX_BYTES as u64 {
        return Err(lifeboat_core::Error::invalid("path", "is too large to be a PMS export").into());
    }
    let bytes = std::fs::read(&path)
        .map_err(|e| CommandError::new(ErrorCode::Io, format!("Could not read {}: {e}", path.display())))?;
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    Ok((name, bytes))
}

#[tauri::command]
pub async fn preview_import(
    state: State<'_, AppState>,
    kind: ImportKind,
    path: String,
    mapping: Option<Mapping>,
) -> CommandResult<Preview> {
    guarded(async {
        state
            .run(move |store, session| {
                store.require(session, lifeboat_core::Action::ImportRecords)?;
                let (name, bytes) = read_import_file(&path)?;
                Ok(store.preview_import(session, kind, &name, &bytes, mapping.as_ref())?)
            })
            .await
    })
    .await
}

/// What an import did, and where its rejected rows were written (to correct and import again).
#[derive(Debug, Clone, Serialize, ts_rs::TS)]
pub struct ImportDone {
    pub report: ImportReport,
    pub rejects_path: Option<String>,
}

/// How far an import has got, sent while it runs.
#[derive(Debug, Clone, Serialize, ts_rs::TS)]
pub struct ImportProgress {
    pub done: u32,
    pub total: u32,
}

#[tauri::command]
pub async fn import_file(
    state: State<'_, AppState>,
    kind: ImportKind,
    path: String,
    options: ImportOptions,
    on_progress: tauri::ipc::Channel<ImportProgress>,
) -> CommandResult<ImportDone> {
    guarded(async {
        let export_dir = state.export_dir();
        state
            .run(move |store, session| {
                store.require(session, lifeboat_core::Action::ImportRecords)?;
                let (name, bytes) = read_import_file(&path)?;
                let (report, table) = store.import_file(session, kind, &name, &bytes, &options, |done, total| {
                    // A page that stopped listening does not stop the import.
                    let _ = on_progress.send(ImportProgress { done, total });
                })?;
                let rejects_path = if report.rejected.is_empty() {
                    None
                } else {
                    let csv = lifeboat_core::import::rejects_csv(&table, &report)?;
                    let stem = name.trim_end_matches(".csv").trim_end_matches(".CSV");
                    let file = export_dir
                        .join(format!("{stem}-rejected-{}.csv", chrono::Utc::now().format("%Y-%m-%d-%H%M%S")));
                    std::fs::create_dir_all(&export_dir)
                        .and_then(|()| crate::exports::write_private(&file, &csv))
                        .map_err(|e| {
                            CommandError::new(ErrorCode::Io, format!("Could not write {}: {e}", file.display()))
                        })?;
                    Some(file.display().to_string())
                };
                Ok(ImportDone { report, rejects_path })
            })
            .await
    })
    .await
}

/// What an export wrote.
#[derive(Debug, Clone, Serialize, ts_rs::TS)]
pub struct ExportWritten {
    pub path: String,
    pub rows: u32,
    /// Records of the backlog marked exported in it (the reconciliation ledger).
    pub marked: u32,
}

#[tauri::command]
pub async fn export_csv(
    state: State<'_, AppState>,
    kind: ImportKind,
    since: Option<NaiveDate>,
    on_progress: tauri::ipc::Channel<ImportProgress>,
) -> CommandResult<ExportWritten> {
    guarded(async {
        let export_dir = state.export_dir();
        state
            .run(move |store, session| {
                let since = match since {
                    Some(day) => Some(lifeboat_core::time::to_utc("since", day.and_time(chrono::NaiveTime::MIN))?),
                    None => None,
                };
                // A page that stopped listening does not stop the export.
                let exported = store.export_csv_progress(session, kind, since, &mut |done, total| {
                    let _ = on_progress.send(ImportProgress { done, total });
                })?;
                let what = match kind {
                    ImportKind::Clients => "clients",
                    ImportKind::Patients => "animals",
                    ImportKind::Appointments => "appointments",
                    ImportKind::Products => "products",
                    ImportKind::History => "history",
                };
                let file =
                    export_dir.join(format!("lifeboat-{what}-{}.csv", chrono::Utc::now().format("%Y-%m-%d-%H%M%S")));
                std::fs::create_dir_all(&export_dir)
                    .and_then(|()| crate::exports::write_private(&file, &exported.bytes))
                    .map_err(|e| {
                        CommandError::new(ErrorCode::Io, format!("Could not write {}: {e}", file.display()))
                    })?;
                Ok(ExportWritten { path: file.display().to_string(), rows: exported.rows, marked: exported.marked })
            })
            .await
    })
    .await
}

#[tauri::command]
pub async fn set_outage_began(
    state: State<'_, AppState>,
    at: Option<chrono::NaiveDateTime>,
) -> CommandResult<Option<chrono::DateTime<chrono::Utc>>> {
    guarded(async { state.run(move |store, session| Ok(store.set_outage_began(session, at)?)).await }).await
}

/// Writes the back-entry worklist (PDF) into the exports folder, noted in the ledger as an export.
#[tauri::command]
pub async fn export_worklist(
    state: State<'_, AppState>,
    on_progress: tauri::ipc::Channel<ImportProgress>,
) -> CommandResult<ExportWritten> {
    guarded(async {
        let export_dir = state.export_dir();
        state
            .run(move |store, session| {
                let now = store.clock().now();
                let mut progress = |done, total| {
                    let _ = on_progress.send(ImportProgress { done, total });
                };
                let exported = store.export_worklist_progress(session, &mut progress, |list| {
                    Ok(lifeboat_print::worklist(list, now, Mark::of(store)))
                })?;
                let name = format!("lifeboat-worklist-{}.pdf", now.format("%Y-%m-%d-%H%M%S"));
                let path = crate::save_export(&export_dir, &name, &exported.bytes)?;
                Ok(ExportWritten { path, rows: exported.rows, marked: exported.marked })
            })
            .await
    })
    .await
}

/// Writes the backlog as a FHIR R4 transaction Bundle into the exports folder, noted in the ledger.
#[tauri::command]
pub async fn export_fhir(
    state: State<'_, AppState>,
    on_progress: tauri::ipc::Channel<ImportProgress>,
) -> CommandResult<ExportWritten> {
    guarded(async {
        let export_dir = state.export_dir();
        state
            .run(move |store, session| {
                let done = store.export_fhir_progress(session, &mut |done, total| {
                    let _ = on_progress.send(ImportProgress { done, total });
                })?;
                let name = format!("lifeboat-backlog-fhir-{}.json", store.clock().now().format("%Y-%m-%d-%H%M%S"));
                let path = crate::save_export(&export_dir, &name, &done.exported.bytes)?;
                Ok(ExportWritten { path, rows: done.exported.rows, marked: done.exported.marked })
            })
            .await
    })
    .await
}

#[tauri::command]
pub async fn duplicates(state: State<'_, AppState>) -> CommandResult<lifeboat_core::reception::duplicates::Duplicates> {
    guarded(async { state.run(|store, session| Ok(store.duplicates(session, 300)?)).await }).await
}

#[tauri::command]
pub async fn decide_duplicates(
    state: State<'_, AppState>,
    kind: String,
    first: Uuid,
    second: Uuid,
    decision: lifeboat_core::reception::duplicates::Decision,
) -> CommandResult<()> {
    guarded(async {
        state.run(move |store, session| Ok(store.decide_duplicates(session, &kind, first, second, decision)?)).await
    })
    .await
}

/// Merges `merge` into `keep`: clients when `kind` is "client", animals when "patient".
#[tauri::command]
pub async fn merge_records(state: State<'_, AppState>, kind: String, keep: Uuid, merge: Uuid) -> CommandResult<()> {
    guarded(async {
        state
            .run(move |store, session| {
                match kind.as_str() {
                    "client" => store.merge_clients(session, keep, merge).map(|_| ())?,
                    "patient" => store.merge_patients(session, keep, merge).map(|_| ())?,
                    other => {
                        return Err(CommandError::new(
                            ErrorCode::Invalid,
                            format!("kind: {other:?} is not client or patient"),
                        ))
                    }
                }
                Ok(())
            })
            .await
    })
    .await
}

#[tauri::command]
pub async fn closing_status(state: State<'_, AppState>) -> CommandResult<lifeboat_core::closing::ClosingStatus> {
    guarded(async { state.run(|store, session| Ok(store.closing_status(session)?)).await }).await
}

/// Closes the outage; the signed final export goes into the exports folder. Returns its path.
#[tauri::command]
pub async fn close_outage(state: State<'_, AppState>, purge_after_days: u32) -> CommandResult<String> {
    guarded(async {
        let export_dir = state.export_dir();
        state
            .run(move |store, session| {
                // The folder is made first: the signed export exists only once.
                std::fs::create_dir_all(&export_dir).map_err(|e| {
                    CommandError::new(ErrorCode::Io, format!("Could not make {}: {e}", export_dir.display()))
                })?;
                let closed = store.close_outage(session, purge_after_days)?;
                let name = format!("lifeboat-final-export-{}.json", closed.closure.closed_at.format("%Y-%m-%d-%H%M%S"));
                crate::save_export(&export_dir, &name, &closed.final_export)
            })
            .await
    })
    .await
}

#[tauri::command]
pub async fn purge_copies(state: State<'_, AppState>) -> CommandResult<lifeboat_core::closing::PurgeCounts> {
    guarded(async { state.run(|store, session| Ok(store.purge_copies(session)?)).await }).await
}

#[tauri::command]
pub async fn ledger(
    state: State<'_, AppState>,
    filter: lifeboat_core::ledger::LedgerFilter,
) -> CommandResult<lifeboat_core::ledger::Ledger> {
    guarded(async { state.run(move |store, session| Ok(store.ledger(session, &filter)?)).await }).await
}

#[tauri::command]
pub async fn mark_entered(
    state: State<'_, AppState>,
    marks: Vec<lifeboat_core::ledger::EnteredMark>,
) -> CommandResult<lifeboat_core::ledger::Marked> {
    guarded(async { state.run(move |store, session| Ok(store.mark_entered(session, &marks)?)).await }).await
}

#[tauri::command]
pub async fn mark_verified(
    state: State<'_, AppState>,
    ids: Vec<String>,
) -> CommandResult<lifeboat_core::ledger::Marked> {
    guarded(async { state.run(move |store, session| Ok(store.mark_verified(session, &ids)?)).await }).await
}

/// Marks records entered from a CSV of Lifeboat ids and PMS numbers chosen by the manager.
#[tauri::command]
pub async fn mark_entered_from_file(
    state: State<'_, AppState>,
    path: String,
) -> CommandResult<lifeboat_core::ledger::Marked> {
    guarded(async {
        state
            .run(move |store, session| {
                store.require(session, lifeboat_core::Action::ReconcileRecords)?;
                let (name, bytes) = read_import_file(&path)?;
                Ok(store.mark_entered_from_file(session, &name, &bytes)?)
            })
            .await
    })
    .await
}

#[tauri::command]
pub async fn backlog(state: State<'_, AppState>) -> CommandResult<lifeboat_core::views::backlog::Backlog> {
    guarded(async { state.run(|store, session| Ok(store.backlog(session)?)).await }).await
}

/// This PC's drills (managers): the running one and the last ones ended, with their reports.
#[tauri::command]
pub async fn drills(state: State<'_, AppState>) -> CommandResult<Vec<Drill>> {
    guarded(async {
        let real = state.real_store()?;
        let session = state.session()?;
        blocking(move || Ok(real.drills(&session)?)).await
    })
    .await
}

/// Starts a drill (managers): the practice's records are copied, and from now on every screen works
/// on the copy, marked DRILL, until the drill ends.
#[tauri::command]
pub async fn start_drill(state: State<'_, AppState>, plan: DrillPlan) -> CommandResult<Drill> {
    guarded(async {
        let real = state.real_store()?;
        let session = state.session()?;
        let folder = state.data_dir.join(crate::DRILLS_FOLDER);
        let slot = state.drill.clone();
        blocking(move || {
            let drill = real.start_drill(&session, &plan, &folder)?;
            let copy =
                Store::open_drill_with(&drill, real.config().keys.clone(), Arc::new(lifeboat_core::SystemClock))?;
            *slot.lock().unwrap_or_else(|e| e.into_inner()) = Some(Arc::new(copy));
            Ok(drill)
        })
        .await
    })
    .await
}

/// How the running drill stands (anyone signed in to it).
#[tauri::command]
pub async fn drill_progress(state: State<'_, AppState>) -> CommandResult<DrillReport> {
    guarded(async {
        let session = state.session()?;
        let copy =
            state.drill().ok_or_else(|| CommandError::new(ErrorCode::Conflict, "No drill is running on this PC."))?;
        blocking(move || Ok(copy.drill_progress(&session)?)).await
    })
    .await
}

/// Ends the running drill (anyone signed in): its report is kept, the app goes back to the real
/// records, and the copy is deleted.
#[tauri::command]
pub async fn end_drill(state: State<'_, AppState>) -> CommandResult<Drill> {
    guarded(async {
        let real = state.real_store()?;
        let session = state.session()?;
        let slot = state.drill.clone();
        let folder = state.data_dir.join(crate::DRILLS_FOLDER);
        blocking(move || {
            let copy = slot.lock().unwrap_or_else(|e| e.into_inner()).clone();
            let ended = real.end_drill(&session, copy.as_deref())?;
            *slot.lock().unwrap_or_else(|e| e.into_inner()) = None;
            drop(copy);
            // A command still finishing on the copy may hold it open a moment; what is left is
            // deleted the next time the app starts.
            let _ = real.remove_drill_copies(&folder);
            Ok(ended)
        })
        .await
    })
    .await
}

/// Where this PC saves printed and exported files, whether that folder looks synced to a cloud
/// drive, and how long the files stay.
#[tauri::command]
pub async fn exports_settings(state: State<'_, AppState>) -> CommandResult<crate::exports::ExportsSettings> {
    guarded(async {
        let state = state.inner().clone();
        state.session()?;
        blocking(move || {
            let store = state.real_store()?;
            let folder = crate::exports::folder(&store, &state.export_dir, state.exports_fixed);
            Ok(crate::exports::ExportsSettings {
                cloud: crate::exports::cloud_service(&folder).map(str::to_string),
                chosen: !state.exports_fixed && crate::exports::chosen_folder(&store).is_some(),
                keep_days: crate::exports::keep_days(&store),
                folder: folder.display().to_string(),
            })
        })
        .await
    })
    .await
}

/// Chooses this PC's exports folder (`None`: the standard one) and how many days files stay (0:
/// until someone deletes them). Managers and admins.
#[tauri::command]
pub async fn set_exports_settings(
    state: State<'_, AppState>,
    folder: Option<String>,
    keep_days: u32,
) -> CommandResult<crate::exports::ExportsSettings> {
    guarded(async {
        // Who may, first; and never from a drill (a setting of the real PC).
        let session = state.session()?;
        if state.drill().is_some() {
            return Err(CommandError::new(
                ErrorCode::Forbidden,
                "This PC is running a drill: change where files go once the drill has ended.",
            ));
        }
        let real = state.real_store()?;
        blocking(move || {
            real.authorize_sync(&session)?;
            if keep_days > crate::exports::MOST_KEEP_DAYS {
                return Err(lifeboat_core::Error::invalid(
                    "keep_days",
                    format!("must be from 0 to {} days", crate::exports::MOST_KEEP_DAYS),
                )
                .into());
            }
            let folder = match folder.as_deref().map(str::trim).filter(|f| !f.is_empty()) {
                Some(f) => {
                    let path = std::path::PathBuf::from(f);
                    if f.chars().count() > 500 || f.chars().any(char::is_control) || !path.is_absolute() {
                        return Err(
                            lifeboat_core::Error::invalid("folder", "choose a folder with the folder chooser").into()
                        );
                    }
                    // Lifeboat's files go in a folder of their own inside it, made now to be sure it can be.
                    let inside = crate::exports::inside(&path);
                    std::fs::create_dir_all(&inside).map_err(|e| {
                        lifeboat_core::Error::invalid("folder", format!("cannot be used ({e}); choose another"))
                    })?;
                    f.to_string()
                }
                // A setting is never empty: "-" is the standard folder.
                None => "-".to_string(),
            };
            real.set_local_setting(&session, "exports_folder", &folder)?;
            real.set_local_setting(&session, "exports_keep_days", &keep_days.to_string())?;
            Ok(())
        })
        .await?;
        exports_settings(state).await
    })
    .await
}

/// This PC's backups, for the backups card and the restore flow.
#[derive(Debug, Clone, Serialize, ts_rs::TS)]
pub struct BackupsOverview {
    /// The backups folder beside the database.
    pub folder: String,
    pub backups: Vec<BackupFile>,
    /// The folder each backup is copied to (a USB stick), if one was chosen.
    pub copy_folder: Option<String>,
    /// The cloud service the copy folder seems to be synced to, if any.
    pub copy_cloud: Option<String>,
    /// The copies found there (none while the folder is not there, such as a USB stick taken out).
    pub copies: Vec<BackupFile>,
    /// What went wrong at the last backup, and at its copy.
    pub last_error: Option<String>,
    pub copy_error: Option<String>,
    /// The last restore of this database, if it was put back from a backup.
    pub restored: Option<RestoreNote>,
    /// Whether the database could be opened (if not, only the list and the restore are offered).
    pub database_open: bool,
}

/// Who may see and restore backups: managers and admins; anyone at this PC while its database is
/// damaged or missing (no one can sign in, and the restore keeps the replaced database). Not when
/// it was written by a newer Lifeboat (install that instead), nor for other failures to open.
async fn may_manage_backups(state: &AppState) -> CommandResult<Option<Arc<Store>>> {
    if state.drill().is_some() {
        return Err(CommandError::new(
            ErrorCode::Forbidden,
            "This PC is running a drill: backups are of the real records; end the drill first.",
        ));
    }
    let damaged = |code| {
        matches!(code, ErrorCode::Corrupt | ErrorCode::NotADatabase | ErrorCode::Unfinished | ErrorCode::DamagedRecord)
    };
    match state.real_store() {
        Ok(store) => {
            // Opened, but damaged where the first screen reads (the app then shows it unavailable).
            let probe = store.clone();
            let (unreadable, empty) = blocking(move || {
                Ok(match probe.practice() {
                    Ok(_) => (None, probe.holds_nothing().unwrap_or(false)),
                    Err(e) => (Some(e.code()), false),
                })
            })
            .await?;
            if unreadable.is_some_and(damaged) {
                return Ok(None);
            }
            // A new PC that holds nothing (no practice, no journal, no sync server) has nothing to
            // guard: it may be filled from a backup before anyone signs in.
            if empty {
                return Ok(Some(store));
            }
            let session = state.session()?;
            let checked = store.clone();
            blocking(move || Ok(checked.authorize_backups(&session)?)).await?;
            Ok(Some(store))
        }
        Err(e) if damaged(e.code) => Ok(None),
        Err(e) => Err(CommandError::new(
            ErrorCode::Forbidden,
            format!(
                "Backups cannot be restored here while the database cannot be opened for this reason: {}",
                e.message
            ),
        )),
    }
}

fn overview(state: &AppState, store: Option<&Store>) -> CommandResult<BackupsOverview> {
    let copy_folder = store.and_then(crate::backups::copy_folder);
    let (last_error, copy_error) = state.backups.errors(store);
    Ok(BackupsOverview {
        folder: state.backups.dir.display().to_string(),
        backups: backup::list(&state.backups.dir)?,
        copy_cloud: copy_folder.as_deref().and_then(crate::exports::cloud_service).map(str::to_string),
        copies: copy_folder.as_deref().map(backup::list).transpose().ok().flatten().unwrap_or_default(),
        copy_folder: copy_folder.map(|f| f.display().to_string()),
        last_error,
        copy_error,
        restored: store.map(|s| s.last_restore()).transpose()?.flatten(),
        database_open: store.is_some(),
    })
}

#[tauri::command]
pub async fn backups_overview(state: State<'_, AppState>) -> CommandResult<BackupsOverview> {
    guarded(async {
        let store = may_manage_backups(&state).await?;
        let state = state.inner().clone();
        blocking(move || overview(&state, store.as_deref())).await
    })
    .await
}

/// Backs up now (and copies to the chosen folder), whether or not anything changed.
#[tauri::command]
pub async fn back_up_now(state: State<'_, AppState>) -> CommandResult<BackupsOverview> {
    guarded(async {
        let store = may_manage_backups(&state).await?.ok_or_else(|| {
            CommandError::new(
                ErrorCode::Corrupt,
                "The database is damaged, so it cannot be backed up: restore a backup instead.",
            )
        })?;
        let state = state.inner().clone();
        blocking(move || {
            state.backups.back_up(&store, true, true)?;
            overview(&state, Some(&store))
        })
        .await
    })
    .await
}

/// Chooses the folder each backup is copied to (`None`: no copies).
#[tauri::command]
pub async fn set_backup_copy_folder(
    state: State<'_, AppState>,
    folder: Option<String>,
) -> CommandResult<BackupsOverview> {
    guarded(async {
        let store = may_manage_backups(&state)
            .await?
            .ok_or_else(|| CommandError::new(ErrorCode::Corrupt, "The database cannot be opened; restore it first."))?;
        let session = state.session()?;
        let state = state.inner().clone();
        blocking(move || {
            let value = match folder.as_deref().map(str::trim).filter(|f| !f.is_empty()) {
                Some(f) => {
                    let path = chosen_path("folder", f)?;
                    std::fs::create_dir_all(&path).map_err(|e| {
                        lifeboat_core::Error::invalid("folder", format!("cannot be used ({e}); choose another"))
                    })?;
                    f.to_string()
                }
                None => "-".to_string(),
            };
            store.set_local_setting(&session, crate::backups::COPY_FOLDER_SETTING, &value)?;
            overview(&state, Some(&store))
        })
        .await
    })
    .await
}

/// A path the person chose with the file or folder chooser: absolute, of sane length, no control
/// characters.
fn chosen_path(field: &str, text: &str) -> CommandResult<std::path::PathBuf> {
    let path = std::path::PathBuf::from(text);
    if text.chars().count() > 1000 || text.chars().any(char::is_control) || !path.is_absolute() {
        return Err(lifeboat_core::Error::invalid(field, "choose it with the chooser (a full path is needed)").into());
    }
    Ok(path)
}

/// The store's folder, reached as the open store reaches it (this PC's passphrase, if it was
/// typed), with a recovery key if one was typed (a backup of another PC's database).
fn backup_config(state: &AppState, recovery_key: Option<String>) -> CommandResult<lifeboat_core::StoreConfig> {
    let config = match state.opened() {
        Ok(store) => store.config().clone(),
        Err(_) => {
            let config = lifeboat_core::StoreConfig::in_dir(&state.data_dir);
            match state.typed_keys.lock().unwrap_or_else(|e| e.into_inner()).clone() {
                Some(keys) => config.with_keys(keys),
                None => config,
            }
        }
    };
    Ok(match recovery_key.filter(|k| !k.trim().is_empty()) {
        Some(text) => config.with_recovery_key(lifeboat_core::RecoveryKey::parse(&text)?),
        None => config,
    })
}

/// What a backup holds, read from the backup itself after checking it whole. Changes nothing. A
/// backup of another PC's database opens with its recovery key.
#[tauri::command]
pub async fn inspect_backup(
    state: State<'_, AppState>,
    path: String,
    recovery_key: Option<String>,
) -> CommandResult<BackupSummary> {
    guarded(async {
        may_manage_backups(&state).await?;
        let config = backup_config(&state, recovery_key)?;
        blocking(move || Ok(backup::inspect(&chosen_path("backup", &path)?, &config)?)).await
    })
    .await
}

/// Restores a backup: checks it, asks the next start to put it in place, and restarts the app (so
/// that nothing has the database open while it is replaced). The replaced database is kept.
#[tauri::command]
pub async fn restore_backup(
    app: tauri::AppHandle,
    state: State<'_, AppState>,
    path: String,
    recovery_key: Option<String>,
) -> CommandResult<()> {
    guarded(async {
        may_manage_backups(&state).await?;
        let config = backup_config(&state, recovery_key)?;
        blocking(move || Ok(backup::stage_restore(&config, &chosen_path("backup", &path)?).map(|_| ())?)).await?;
        app.restart();
    })
    .await
}

/// Starts afresh when this PC's database creation was interrupted (a key file and no database):
/// the key file is moved aside, kept, and the app restarts to create a new, empty database. Only in
/// that state; anyone at the PC may, as no one can sign in to a database that is not there.
#[tauri::command]
pub async fn start_afresh(app: tauri::AppHandle, state: State<'_, AppState>) -> CommandResult<()> {
    guarded(async {
        match state.opened() {
            Err(e) if e.code == ErrorCode::Unfinished => {}
            _ => {
                return Err(CommandError::new(
                    ErrorCode::Forbidden,
                    "Starting afresh is only for a PC whose database was never finished.",
                ))
            }
        }
        let config = lifeboat_core::StoreConfig::in_dir(&state.data_dir);
        blocking(move || Ok(Store::start_afresh(&config, &lifeboat_core::SystemClock).map(|_| ())?)).await?;
        app.restart();
    })
    .await
}
