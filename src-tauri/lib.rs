//! The Lifeboat desktop shell: a Tauri 2 window over the core. It opens the store in the app's data
//! folder, keeps the logged-in session, and exposes thin commands (`commands.rs`) that the UI calls
//! through its one typed module, `ui/src/lib/api/`. It holds no domain logic.
//!
//! Environment, read here and nowhere else (but for the OneDrive folders Windows names, which
//! `exports.rs` checks printouts against): `LIFEBOAT_DATA_DIR` replaces the data folder (tests);
//! `LIFEBOAT_DEMO=S|M|L` (or the `--demo` argument, size L) opens a generated demo practice in its own
//! folder beside the real one; `LIFEBOAT_CREDENTIAL_STORE=none` keeps the database key in the key
//! file instead of the operating system's credential store.

mod backups;
mod commands;
mod error;
mod exports;
mod state;
mod sync;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use lifeboat_core::store::backup;
use lifeboat_core::store::folder_lock::FolderLock;
use lifeboat_core::{ErrorCode, Store, StoreConfig, SystemClock};
use lifeboat_synthetic::{Size, DEMO_PASSWORD};
use tauri::Manager;

pub use commands::{AppStatus, Phase};
pub use error::CommandError;
pub use state::{AppState, DemoInfo};

/// When this process began (as near as the shell can tell), and when its first screen was shown.
static STARTED: std::sync::OnceLock<std::time::Instant> = std::sync::OnceLock::new();
static FIRST_SCREEN: std::sync::OnceLock<u64> = std::sync::OnceLock::new();

/// Notes, once, how long the start took to the first screen, and says so on standard error (the
/// start-up benchmark reads it there).
pub fn note_first_screen(screen: &str) -> u64 {
    let ms = STARTED.get().map(|s| s.elapsed().as_millis() as u64).unwrap_or(0);
    if FIRST_SCREEN.set(ms).is_ok() {
        eprintln!("lifeboat: first screen shown ({screen}) {ms} ms after start");
    }
    FIRST_SCREEN.get().copied().unwrap_or(ms)
}

pub fn run() {
    let _ = STARTED.set(std::time::Instant::now());
    tauri::Builder::default()
        .plugin(tauri_plugin_dialog::init())
        .setup(|app| {
            // The database has a folder of its own: the web view keeps its caches and storage in the
            // app's data folder, and nothing but the database, its WAL and its key belongs beside it.
            let folders = match std::env::var_os("LIFEBOAT_DATA_DIR") {
                Some(dir) => Folders { database: PathBuf::from(&dir), demos: PathBuf::from(dir) },
                None => {
                    let app_dir = app.path().app_local_data_dir()?;
                    Folders { database: app_dir.join("database"), demos: app_dir }
                }
            };
            // The database key lives in this PC's credential store (Windows Credential Manager, the
            // macOS Keychain, the Secret Service), unless told not to use one.
            if std::env::var("LIFEBOAT_CREDENTIAL_STORE").as_deref() != Ok("none") {
                lifeboat_core::use_credential_store(Arc::new(lifeboat_core::OsCredentials::new(
                    lifeboat_core::store::keyfile::CREDENTIAL_SERVICE,
                )));
            }
            app.manage(open(&folders, demo_size()));
            Ok(())
        })
        .invoke_handler(tauri::generate_handler![
            commands::app_status,
            commands::setup_practice,
            commands::first_screen_shown,
            commands::key_protection,
            commands::make_recovery_key,
            commands::confirm_recovery_key,
            commands::change_key,
            commands::unlock_with_recovery_key,
            commands::unlock_with_passphrase,
            commands::set_passphrase,
            commands::login,
            commands::logout,
            commands::lock_screen,
            commands::unlock_screen,
            commands::idle_lock_minutes,
            commands::set_idle_lock_minutes,
            commands::change_own_password,
            commands::set_unlock_pin,
            commands::unlock_with_pin,
            commands::sync_status,
            commands::practice,
            commands::list_staff,
            commands::add_staff,
            commands::update_staff,
            commands::reset_staff_password,
            commands::reference_data,
            commands::search,
            commands::likely_duplicate_clients,
            commands::register_client,
            commands::register_patient,
            commands::client_record,
            commands::patient_record,
            commands::day_book,
            commands::book_appointment,
            commands::move_appointment,
            commands::set_appointment_status,
            commands::print_day_list,
            commands::record_death,
            commands::working_week,
            commands::set_working_week,
            commands::my_consults,
            commands::start_consultation,
            commands::consultation_view,
            commands::save_consultation_draft,
            commands::sign_consultation,
            commands::add_addendum,
            commands::void_record,
            commands::patient_history,
            commands::find_products,
            commands::check_prescription,
            commands::prescribe,
            commands::dispense,
            commands::print_label,
            commands::print_prescription,
            commands::add_charge,
            commands::number_blocks,
            commands::add_number_block,
            commands::client_account,
            commands::take_payment,
            commands::run_card_payment,
            commands::cash_up,
            commands::record_claim,
            commands::takings,
            commands::print_receipt,
            commands::continuity_status,
            commands::make_continuity_pack,
            commands::save_continuity_pack,
            commands::set_continuity_schedule,
            commands::lab_tests,
            commands::save_lab_test,
            commands::request_lab_work,
            commands::record_lab_result,
            commands::lab_awaited,
            commands::lab_result_template,
            commands::save_lab_attachment,
            commands::cd_register,
            commands::cd_entries,
            commands::record_cd_entry,
            commands::add_starter_lists,
            commands::sync_overview,
            commands::sync_now,
            commands::host_relay,
            commands::stop_hosting_relay,
            commands::pairing_code,
            commands::revoke_device,
            commands::pair_server,
            commands::join_practice,
            commands::set_server_enabled,
            commands::remove_server,
            commands::conflict_inbox,
            commands::resolve_conflict,
            commands::export_bundle,
            commands::import_bundle,
            commands::preview_import,
            commands::import_file,
            commands::export_csv,
            commands::set_outage_began,
            commands::backlog,
            commands::ledger,
            commands::export_worklist,
            commands::export_fhir,
            commands::duplicates,
            commands::decide_duplicates,
            commands::merge_records,
            commands::closing_status,
            commands::close_outage,
            commands::purge_copies,
            commands::mark_entered,
            commands::mark_verified,
            commands::mark_entered_from_file,
            commands::handover_destinations,
            commands::send_handover,
            commands::export_handover,
            commands::handovers,
            commands::update_client,
            commands::drills,
            commands::start_drill,
            commands::drill_progress,
            commands::end_drill,
            commands::exports_settings,
            commands::set_exports_settings,
            commands::backups_overview,
            commands::back_up_now,
            commands::set_backup_copy_folder,
            commands::inspect_backup,
            commands::restore_backup,
            commands::start_afresh,
        ])
        .build(tauri::generate_context!())
        .expect("the Lifeboat window could not start")
        .run(|app, event| {
            // A last backup as the app closes (skipped if nothing changed since the last one).
            if let tauri::RunEvent::Exit = event {
                if let Some(state) = app.try_state::<AppState>() {
                    if let (Ok(store), None) = (state.opened(), state.preparing()) {
                        let _ = state.backups.back_up(&store, false, false);
                    }
                }
            }
        });
}

/// Writes an exported file (a PDF) into the exports folder: `LIFEBOAT_EXPORT_DIR`, or Lifeboat in
/// the user's documents folder, or `exports` in the data folder. Returns the full path.
pub fn save_export(dir: &Path, name: &str, bytes: &[u8]) -> Result<String, CommandError> {
    let path = dir.join(name);
    std::fs::create_dir_all(dir).and_then(|_| exports::write_private(&path, bytes)).map_err(|e| {
        CommandError::new(
            ErrorCode::Io,
            format!("Could not save {} ({e}). Check the folder exists and is not full.", path.display()),
        )
    })?;
    Ok(path.display().to_string())
}

fn export_dir(data_dir: &Path) -> PathBuf {
    match std::env::var_os("LIFEBOAT_EXPORT_DIR") {
        Some(dir) => PathBuf::from(dir),
        None => dirs::document_dir().map(|d| d.join("Lifeboat")).unwrap_or_else(|| data_dir.join("exports")),
    }
}

fn demo_size() -> Option<Size> {
    if let Ok(size) = std::env::var("LIFEBOAT_DEMO") {
        return Size::parse(&size).or(Some(Size::L));
    }
    std::env::args().any(|a| a == "--demo").then_some(Size::L)
}

/// The folder of the data folder that drills' copies are made in.
pub const DRILLS_FOLDER: &str = "drills";

/// Where the practice's database lives, and where demo practices get folders of their own.
pub struct Folders {
    pub database: PathBuf,
    pub demos: PathBuf,
}

/// Opens the store (creating an empty one on first run). In demo mode an empty demo store is
/// filled with a generated practice on a background thread, reporting progress, since an L
/// practice takes minutes. A store that cannot be opened is kept as its error, for the UI to explain.
pub fn open(folders: &Folders, demo: Option<Size>) -> AppState {
    let data_dir = match demo {
        Some(size) => folders.demos.join(format!("demo-{size:?}")),
        None => folders.database.clone(),
    };
    let config = store_config(&data_dir);
    let backups = backups::BackupHost::new(config.backups_dir());
    let state = AppState {
        opened: Arc::new(Mutex::new(Err(CommandError::new(ErrorCode::Preparing, "The records are being opened.")))),
        sync: Arc::new(Mutex::new(None)),
        drill: Arc::new(Mutex::new(None)),
        session: Arc::new(Mutex::new(None)),
        locked: Arc::new(std::sync::atomic::AtomicBool::new(false)),
        pin: Arc::new(Mutex::new(None)),
        demo: Arc::new(Mutex::new(None)),
        preparing: Arc::new(Mutex::new(None)),
        export_dir: export_dir(&data_dir),
        exports_fixed: std::env::var_os("LIFEBOAT_EXPORT_DIR").is_some(),
        data_dir,
        backups,
        restore_failed: Arc::new(Mutex::new(None)),
        folder_lock: Arc::new(Mutex::new(None)),
        opening: Arc::new(Mutex::new(())),
        starting: Arc::new(AtomicBool::new(true)),
        typed_keys: Arc::new(Mutex::new(None)),
    };
    // Opening can take a while: the first start after an update makes the records ready for the new
    // version first (tens of seconds on a large practice). It is done off the window's thread, so the
    // window paints and answers meanwhile, and the start screen says what is happening.
    let background = state.clone();
    let one_at_a_time = background.opening.clone();
    let spawned = std::thread::Builder::new().name("lifeboat-open".into()).spawn(move || {
        // However the opening ends, even by a panic, the start screen stops saying it is under way.
        let _ended = OpeningEnded(background.clone());
        let _one = one_at_a_time.lock().unwrap_or_else(|e| e.into_inner());
        // One Lifeboat at a time on these records: a second window says so and opens nothing. The
        // wait covers a restart, whose new process starts before the old one has ended.
        let locked = FolderLock::acquire(&background.data_dir, std::time::Duration::from_secs(15))
            .map(|lock| *background.folder_lock.lock().unwrap_or_else(|e| e.into_inner()) = Some(lock));
        match locked.and_then(|()| open_records(&background, config)) {
            Ok(()) => {
                if let (Some(size), Ok(store)) = (demo, background.opened()) {
                    prepare_demo(store, size, background.demo.clone(), background.preparing.clone());
                }
            }
            Err(e) => *background.opened.lock().unwrap_or_else(|e| e.into_inner()) = Err(CommandError::from(e)),
        }
    });
    if let Err(e) = spawned {
        *state.opened.lock().unwrap_or_else(|e| e.into_inner()) = Err(CommandError::new(
            ErrorCode::Internal,
            format!("The records could not be opened: the system refused a thread to open them on ({e})."),
        ));
        state.starting.store(false, Ordering::SeqCst);
    }
    state
}

/// Marks the opening at start as ended when dropped; after a panic, with the records unopened and
/// the reason said (the start screen would otherwise say they are being opened for ever).
struct OpeningEnded(AppState);

impl Drop for OpeningEnded {
    fn drop(&mut self) {
        let mut opened = self.0.opened.lock().unwrap_or_else(|e| e.into_inner());
        let unopened = matches!(&*opened, Err(e) if e.code == ErrorCode::Preparing);
        if std::thread::panicking() && unopened {
            *opened = Err(CommandError::new(
                ErrorCode::Internal,
                "The records could not be opened: Lifeboat met an internal error while opening them. Close it and start it again; if this happens again, call IT support.",
            ));
        }
        drop(opened);
        self.0.starting.store(false, Ordering::SeqCst);
    }
}

/// How the records in `data_dir` are opened on this PC (its credential store, its fingerprint).
pub fn store_config(data_dir: &Path) -> StoreConfig {
    StoreConfig::in_dir(data_dir).with_fingerprint(fingerprint(data_dir))
}

/// Opens the records as `config` reaches their key, and starts what works on them in the
/// background: sync, the backup and continuity-pack schedules, a running drill's copy, the sweep of
/// old exports. A restore asked for before the restart is done first, before anything opens the
/// database (one that needs this PC's passphrase waits for it: the error says so, and nothing is
/// started). Run at start, and again once the passphrase is typed.
pub fn open_records(state: &AppState, config: StoreConfig) -> lifeboat_core::Result<()> {
    let restore_failed =
        |failed: Option<CommandError>| *state.restore_failed.lock().unwrap_or_else(|e| e.into_inner()) = failed;
    match backup::finish_staged_restore(&config, Arc::new(SystemClock)) {
        // Waiting for the passphrase, or a mistyped one: asked for again, the restore still waiting.
        Some(Err(e)) if backup::is_key_refusal(&e) => return Err(e),
        Some(Err(e)) => {
            eprintln!("lifeboat: the restore asked for could not be done ({})", e.code().as_str());
            restore_failed(Some(CommandError::from(e)));
        }
        Some(Ok(_)) => restore_failed(None),
        None => {}
    }
    let store = Arc::new(Store::open(config, Arc::new(SystemClock))?);
    *state.sync.lock().unwrap_or_else(|e| e.into_inner()) = Some(sync::SyncHost::start(store.clone(), &state.data_dir));
    start_pack_schedule(store.clone());
    backups::start_schedule(store.clone(), state.backups.clone(), state.preparing.clone());
    *state.drill.lock().unwrap_or_else(|e| e.into_inner()) = reopen_drill(&store, &state.data_dir);
    start_exports_sweep(store.clone(), state.export_dir.clone(), state.exports_fixed);
    *state.opened.lock().unwrap_or_else(|e| e.into_inner()) = Ok(store);
    Ok(())
}

/// Deletes what is left of drills' copies but the running one's, and opens the running drill's
/// copy, if a drill was running when the app last closed. A copy that cannot be opened is reported by
/// its code only (the drill can still be ended: its report then says what cannot be known).
fn reopen_drill(store: &Store, data_dir: &Path) -> Option<Arc<Store>> {
    let _ = store.remove_drill_copies(&data_dir.join(DRILLS_FOLDER));
    let drill = store.running_drill().ok().flatten()?;
    match Store::open_drill_with(&drill, store.config().keys.clone(), Arc::new(SystemClock)) {
        Ok(copy) => Some(Arc::new(copy)),
        Err(e) => {
            eprintln!("lifeboat: the running drill's copy could not be opened ({})", e.code().as_str());
            None
        }
    }
}

/// Deletes printed and exported files older than the practice keeps them, a minute after start and
/// then every hour (only files Lifeboat wrote; see `exports::sweep`).
fn start_exports_sweep(store: Arc<Store>, standard: PathBuf, fixed: bool) {
    std::thread::spawn(move || loop {
        std::thread::sleep(std::time::Duration::from_secs(60));
        let folder = exports::folder(&store, &standard, fixed);
        exports::sweep(&folder, exports::keep_days(&store), std::time::SystemTime::now());
        std::thread::sleep(std::time::Duration::from_secs(3600));
    });
}

/// Makes the evening continuity pack whenever it is due (checked a few seconds after start, then
/// every five minutes), whether anyone is signed in or not, and keeps it in the database. A failure
/// is noted (its code only: a message may name records) for the banner to show, and a panic ends
/// that attempt, not the schedule.
fn start_pack_schedule(store: Arc<Store>) {
    std::thread::spawn(move || {
        std::thread::sleep(std::time::Duration::from_secs(3));
        loop {
            let attempt = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                let now = store.clock().now();
                store.make_scheduled_continuity_pack(|pack| {
                    lifeboat_print::continuity_pack(pack, now, lifeboat_print::Mark::of(&store))
                })
            }));
            let noted = match attempt {
                Ok(Ok(Some(_))) => store.note_continuity_error(None),
                Ok(Ok(None)) => Ok(()),
                Ok(Err(e)) => store.note_continuity_error(Some(e.code().as_str())),
                Err(_) => store.note_continuity_error(Some("internal")),
            };
            if noted.is_err() {
                eprintln!("lifeboat: the continuity pack's schedule could not note how it went");
            }
            std::thread::sleep(std::time::Duration::from_secs(300));
        }
    });
}

/// Where this database is opened: the computer and the folder. A database copied to another PC (or
/// put back from a copy) is opened under another fingerprint and takes a new node id, so it never
/// numbers changes the way the original goes on doing.
fn fingerprint(dir: &Path) -> String {
    // Platform code: Windows names the computer in COMPUTERNAME; Linux keeps a machine id.
    let machine = std::env::var("COMPUTERNAME")
        .ok()
        .or_else(|| std::fs::read_to_string("/etc/machine-id").ok().map(|s| s.trim().to_string()))
        .unwrap_or_default();
    let folder = dir.canonicalize().unwrap_or_else(|_| dir.to_path_buf());
    format!("{machine}|{}", folder.display())
}

fn prepare_demo(
    store: Arc<Store>,
    size: Size,
    demo: Arc<Mutex<Option<DemoInfo>>>,
    preparing: Arc<Mutex<Option<String>>>,
) {
    let set =
        |slot: &Mutex<Option<String>>, value: Option<String>| *slot.lock().unwrap_or_else(|e| e.into_inner()) = value;
    let info = move |accounts: Vec<(String, String)>| DemoInfo {
        size: format!("{size:?}"),
        password: DEMO_PASSWORD.into(),
        accounts,
    };
    if store.has_practice().unwrap_or(false) {
        let accounts = store
            .login("admin", DEMO_PASSWORD)
            .and_then(|admin| store.list_staff(&admin))
            .map(|staff| staff.into_iter().map(|s| (s.username, s.role.to_string())).collect())
            .unwrap_or_default();
        *demo.lock().unwrap_or_else(|e| e.into_inner()) = Some(info(accounts));
        return;
    }
    set(&preparing, Some("starting".into()));
    std::thread::spawn(move || {
        let result =
            lifeboat_synthetic::populate_with_progress(&store, size, 1, &mut |step| set(&preparing, Some(step)));
        match result {
            Ok(generated) => {
                let accounts = generated.accounts.into_iter().map(|a| (a.username, a.role.to_string())).collect();
                *demo.lock().unwrap_or_else(|e| e.into_inner()) = Some(info(accounts));
                set(&preparing, None);
            }
            Err(e) => set(&preparing, Some(format!("failed: {} — delete the demo folder and start again", e.code()))),
        }
    });
}

/// The screen to show, computed from the state.
pub fn status(state: &AppState) -> AppStatus {
    let data_dir = state.data_dir.display().to_string();
    let blank = |phase, error| AppStatus {
        phase,
        practice_name: None,
        session: None,
        locked_by: None,
        pin_unlock: false,
        demo: None,
        error,
        data_dir: data_dir.clone(),
        progress: None,
        drill: None,
        restore_failed: state.restore_failed(),
        key_in_file: false,
    };
    if state.starting.load(Ordering::SeqCst) {
        return blank(Phase::Opening, None);
    }
    if let Some(step) = state.preparing() {
        return AppStatus { progress: Some(step), ..blank(Phase::Preparing, None) };
    }
    let store = match state.store() {
        Ok(store) => store,
        Err(error) => return blank(Phase::Unavailable, Some(error)),
    };
    match store.practice() {
        Ok(Some(practice)) => AppStatus {
            practice_name: Some(practice.name),
            // Whether a password must be chosen, as the database says now (a reset may have come
            // from another PC since the login).
            session: state.session().ok().map(|mut s| {
                s.must_change_password = store.must_change_password(s.staff_id).unwrap_or(s.must_change_password);
                s
            }),
            locked_by: state.is_locked().then(|| state.session_even_if_locked().ok()).flatten().map(|s| s.display_name),
            pin_unlock: state.is_locked() && state.pin_unlocks(),
            demo: state.demo(),
            drill: drill_banner(state),
            ..blank(Phase::Login, None)
        },
        Ok(None) => AppStatus { key_in_file: store.key_in_file().unwrap_or(false), ..blank(Phase::Setup, None) },
        Err(e) => blank(Phase::Unavailable, Some(e.into())),
    }
}

/// The drill running on this PC, for the banner every screen shows.
fn drill_banner(state: &AppState) -> Option<commands::DrillBanner> {
    let drill = state.real_store().ok()?.running_drill().ok().flatten()?;
    Some(commands::DrillBanner {
        id: drill.id,
        started_at: drill.started_at,
        started_by: drill.started_by,
        open: state.drill().is_some_and(|copy| copy.drill() == Some(drill.id)),
    })
}

/// The package's folder, as Cargo names it when it runs the tests (the compile-time one as a
/// fallback): a build shared between two checkouts (CI's clone and a working copy) must read the
/// files of the checkout it runs in.
#[cfg(test)]
fn manifest_dir() -> std::path::PathBuf {
    std::env::var_os("CARGO_MANIFEST_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| env!("CARGO_MANIFEST_DIR").into())
}

#[cfg(test)]
mod bindings {
    //! The TypeScript types in `ui/src/lib/api/types/` are generated from the Rust types. This test
    //! fails when they drift; `UPDATE_BINDINGS=1 cargo test -p lifeboat-desktop bindings` rewrites them.

    use std::collections::BTreeMap;
    use std::path::Path;

    use lifeboat_core::views;
    use ts_rs::{Config, TS};

    fn export_all(dir: &Path) {
        let cfg = Config::new().with_large_int("number").with_out_dir(dir);
        crate::AppStatus::export_all(&cfg).unwrap();
        crate::CommandError::export_all(&cfg).unwrap();
        lifeboat_core::PracticeSetup::export_all(&cfg).unwrap();
        lifeboat_core::Practice::export_all(&cfg).unwrap();
        lifeboat_core::Staff::export_all(&cfg).unwrap();
        lifeboat_core::StaffUpdate::export_all(&cfg).unwrap();
        lifeboat_core::Registered::export_all(&cfg).unwrap();
        views::sync_status::SyncStatus::export_all(&cfg).unwrap();
        views::reference::ReferenceData::export_all(&cfg).unwrap();
        views::search::SearchHit::export_all(&cfg).unwrap();
        lifeboat_core::reception::client::LikelyDuplicate::export_all(&cfg).unwrap();
        views::client_page::ClientRecord::export_all(&cfg).unwrap();
        views::patient_page::PatientRecord::export_all(&cfg).unwrap();
        lifeboat_core::DayBook::export_all(&cfg).unwrap();
        lifeboat_core::NewAppointment::export_all(&cfg).unwrap();
        lifeboat_core::AppointmentMove::export_all(&cfg).unwrap();
        lifeboat_core::NewClient::export_all(&cfg).unwrap();
        lifeboat_core::NewPatient::export_all(&cfg).unwrap();
        use lifeboat_core::clinical::{cd_register, charge, consultation, formulary, prescription, void};
        views::consult_room::MyConsults::export_all(&cfg).unwrap();
        views::consult_room::ConsultationView::export_all(&cfg).unwrap();
        views::history::PatientHistory::export_all(&cfg).unwrap();
        consultation::DraftSaved::export_all(&cfg).unwrap();
        consultation::ConsultationDraft::export_all(&cfg).unwrap();
        consultation::StartConsultation::export_all(&cfg).unwrap();
        consultation::NewAddendum::export_all(&cfg).unwrap();
        formulary::Product::export_all(&cfg).unwrap();
        prescription::NewPrescription::export_all(&cfg).unwrap();
        prescription::Problem::export_all(&cfg).unwrap();
        prescription::Prescribed::export_all(&cfg).unwrap();
        cd_register::CdRegister::export_all(&cfg).unwrap();
        cd_register::CdEntry::export_all(&cfg).unwrap();
        cd_register::NewCdEntry::export_all(&cfg).unwrap();
        charge::NewCharge::export_all(&cfg).unwrap();
        void::Voidable::export_all(&cfg).unwrap();
        lifeboat_core::organisation::numbers::NumberBlocks::export_all(&cfg).unwrap();
        lifeboat_core::accounts::ClientAccount::export_all(&cfg).unwrap();
        lifeboat_core::accounts::NewPayment::export_all(&cfg).unwrap();
        lifeboat_core::accounts::NewClaim::export_all(&cfg).unwrap();
        lifeboat_core::accounts::Takings::export_all(&cfg).unwrap();
        lifeboat_core::views::continuity::PackStatus::export_all(&cfg).unwrap();
        lifeboat_core::clinical::lab::LabAwaited::export_all(&cfg).unwrap();
        lifeboat_core::clinical::lab::LabTestInput::export_all(&cfg).unwrap();
        lifeboat_core::clinical::lab::NewLabRequest::export_all(&cfg).unwrap();
        lifeboat_core::clinical::lab::NewLabResult::export_all(&cfg).unwrap();
        lifeboat_core::onboarding::StarterLists::export_all(&cfg).unwrap();
        crate::commands::SyncOverview::export_all(&cfg).unwrap();
        crate::sync::PairingInfo::export_all(&cfg).unwrap();
        crate::commands::BundleWritten::export_all(&cfg).unwrap();
        crate::commands::BundleRead::export_all(&cfg).unwrap();
        crate::commands::Destination::export_all(&cfg).unwrap();
        lifeboat_core::replica::inbox::ConflictView::export_all(&cfg).unwrap();
        lifeboat_core::replica::resolve::Resolution::export_all(&cfg).unwrap();
        lifeboat_core::handover::Handover::export_all(&cfg).unwrap();
        lifeboat_core::drill::Drill::export_all(&cfg).unwrap();
        crate::exports::ExportsSettings::export_all(&cfg).unwrap();
        crate::commands::BackupsOverview::export_all(&cfg).unwrap();
        lifeboat_core::store::backup::BackupSummary::export_all(&cfg).unwrap();
        lifeboat_core::KeyProtection::export_all(&cfg).unwrap();
        lifeboat_core::drill::DrillPlan::export_all(&cfg).unwrap();
        lifeboat_core::drill::DrillReport::export_all(&cfg).unwrap();
        lifeboat_core::Client::export_all(&cfg).unwrap();
        lifeboat_core::Patient::export_all(&cfg).unwrap();
        lifeboat_core::import::Preview::export_all(&cfg).unwrap();
        lifeboat_core::import::ImportOptions::export_all(&cfg).unwrap();
        lifeboat_core::import::columns::ImportKind::export_all(&cfg).unwrap();
        crate::commands::ImportDone::export_all(&cfg).unwrap();
        crate::commands::ImportProgress::export_all(&cfg).unwrap();
        crate::commands::ExportWritten::export_all(&cfg).unwrap();
        lifeboat_core::views::backlog::Backlog::export_all(&cfg).unwrap();
        lifeboat_core::ledger::Ledger::export_all(&cfg).unwrap();
        lifeboat_core::ledger::LedgerFilter::export_all(&cfg).unwrap();
        lifeboat_core::ledger::EnteredMark::export_all(&cfg).unwrap();
        lifeboat_core::ledger::Marked::export_all(&cfg).unwrap();
        lifeboat_core::reception::duplicates::Duplicates::export_all(&cfg).unwrap();
        lifeboat_core::reception::duplicates::Decision::export_all(&cfg).unwrap();
        lifeboat_core::closing::ClosingStatus::export_all(&cfg).unwrap();
    }

    fn files(dir: &Path) -> BTreeMap<String, String> {
        std::fs::read_dir(dir)
            .map(|entries| {
                entries
                    .map(|e| e.unwrap().path())
                    .map(|p| {
                        (p.file_name().unwrap().to_string_lossy().into_owned(), std::fs::read_to_string(&p).unwrap())
                    })
                    .collect()
            })
            .unwrap_or_default()
    }

    #[test]
    fn typescript_types_match_the_rust_types() {
        let committed = super::manifest_dir().join("ui/src/lib/api/types");
        let fresh = tempfile::TempDir::new().unwrap();
        export_all(fresh.path());
        if std::env::var_os("UPDATE_BINDINGS").is_some() {
            let _ = std::fs::remove_dir_all(&committed);
            std::fs::create_dir_all(&committed).unwrap();
            export_all(&committed);
        }
        let (want, have) = (files(fresh.path()), files(&committed));
        assert!(!want.is_empty());
        for (name, text) in &want {
            assert_eq!(have.get(name), Some(text), "ui/src/lib/api/types/{name} is out of date: run UPDATE_BINDINGS=1 cargo test -p lifeboat-desktop bindings");
        }
        let stale: Vec<_> = have.keys().filter(|k| !want.contains_key(*k)).collect();
        assert!(stale.is_empty(), "stale generated files: {stale:?}");
    }
}

#[cfg(test)]
mod command_list {
    //! The command list is written in five places: the handlers in `commands.rs`, the
    //! `generate_handler!` list in `run`, `build.rs` (which makes each command a permission), the
    //! capability file (which grants them to the window), and the UI's api module. They must agree,
    //! and every command must be `async` (so its work never runs on the window's main thread).

    use std::collections::BTreeSet;

    fn read(path: &str) -> String {
        std::fs::read_to_string(super::manifest_dir().join(path)).unwrap()
    }

    /// Every `'name'` or `"name"` between `start` and the first `end` after it.
    fn quoted_between(text: &str, start: &str, end: &str, quote: char) -> BTreeSet<String> {
        let from = text.find(start).unwrap_or_else(|| panic!("{start:?} not found")) + start.len();
        let block = &text[from..from + text[from..].find(end).unwrap()];
        block.split(quote).skip(1).step_by(2).map(str::to_string).collect()
    }

    fn handlers() -> (BTreeSet<String>, Vec<String>) {
        let text = read("src-tauri/commands.rs");
        let mut names = BTreeSet::new();
        let mut not_async = Vec::new();
        let mut lines = text.lines();
        while let Some(line) = lines.next() {
            if line.trim() == "#[tauri::command]" {
                let signature = lines.next().unwrap_or_default().trim();
                let name = signature.split("fn ").nth(1).unwrap_or_default().split('(').next().unwrap_or_default();
                if !signature.starts_with("pub async fn ") {
                    not_async.push(name.to_string());
                }
                // The body is one `guarded(...)`, so that a panic in it answers the call.
                let mut opening = signature;
                while !opening.trim_end().ends_with('{') {
                    opening = lines.next().unwrap_or("{");
                }
                if !lines.next().unwrap_or_default().trim().starts_with("guarded(") {
                    not_async.push(format!("{name} (its body is not guarded)"));
                }
                names.insert(name.to_string());
            }
        }
        (names, not_async)
    }

    #[test]
    fn every_list_of_commands_agrees_and_every_command_is_async() {
        let (handlers, not_async) = handlers();
        assert!(
            not_async.is_empty(),
            "commands that would run on the main thread, or whose panics would leave the call unanswered: {not_async:?}"
        );
        assert!(handlers.len() > 20, "{handlers:?}");

        let lib = read("src-tauri/lib.rs");
        let from = lib.find("generate_handler![").unwrap();
        let registered: BTreeSet<String> = lib[from..from + lib[from..].find(']').unwrap()]
            .split("commands::")
            .skip(1)
            .map(|s| s.split(',').next().unwrap().trim().to_string())
            .collect();
        let manifest = quoted_between(&read("src-tauri/build.rs"), "const COMMANDS: &[&str] = &[", "];", '"');
        let granted: BTreeSet<String> = quoted_between(&read("capabilities/default.json"), "\"permissions\"", "]", '"')
            .into_iter()
            .filter_map(|p| p.strip_prefix("allow-").map(|c| c.replace('-', "_")))
            .collect();
        let api = read("ui/src/lib/api/index.ts");
        // `call<Type>('command', ...)`: the first argument is the command's name in quotes.
        let called: BTreeSet<String> = api
            .split("call<")
            .skip(1)
            .filter_map(|s| s.split_once(">(").and_then(|(_, args)| args.strip_prefix('\'')))
            .filter_map(|s| s.split('\'').next().map(str::to_string))
            .collect();

        for (place, list) in [
            ("generate_handler!", &registered),
            ("build.rs", &manifest),
            ("capabilities/default.json", &granted),
            ("ui/src/lib/api/index.ts", &called),
        ] {
            let missing: Vec<_> = handlers.difference(list).collect();
            let extra: Vec<_> = list.difference(&handlers).collect();
            assert!(missing.is_empty() && extra.is_empty(), "{place}: missing {missing:?}, not a command {extra:?}");
        }
    }
}

#[cfg(test)]
mod shell_security {
    //! The window's limits, pinned: a change that loosens the content security policy, grants the
    //! window more than Lifeboat's own commands (and the file chooser), lets remote pages call in, or
    //! adds a plugin that reaches the file system, the shell or the network fails here, and has to be
    //! made on purpose, here too.

    use serde_json::Value;

    fn json(path: &str) -> Value {
        serde_json::from_str(&std::fs::read_to_string(super::manifest_dir().join(path)).unwrap()).unwrap()
    }

    const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; font-src 'self'; connect-src ipc: http://ipc.localhost; object-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

    #[test]
    fn the_content_security_policy_is_the_strict_one() {
        let conf = json("tauri.conf.json");
        let security = &conf["app"]["security"];
        assert_eq!(security["csp"], CSP, "tauri.conf.json's CSP changed");
        for loosening in
            ["dangerousDisableAssetCspModification", "devCsp", "assetProtocol", "freezePrototype", "capabilities"]
        {
            assert!(security.get(loosening).is_none(), "app.security.{loosening} is set");
        }
        for directive in CSP.split(';') {
            for word in ["'unsafe-inline'", "'unsafe-eval'", "*", "https:", "http:"] {
                assert!(!directive.split_whitespace().any(|w| w == word), "{directive} allows {word}");
            }
        }
        assert!(conf["app"].get("withGlobalTauri").is_none_or(|v| v == false), "the Tauri API is global");
        assert!(conf["build"].get("devUrl").is_none(), "the window would load a page from a server");
        for window in conf["app"]["windows"].as_array().unwrap() {
            assert!(window.get("url").is_none(), "a window loads {:?}", window["url"]);
        }
        assert!(conf.get("plugins").is_none_or(|p| p.as_object().is_some_and(|o| o.is_empty())), "plugins configured");
    }

    #[test]
    fn the_window_may_call_lifeboats_commands_and_the_file_chooser_and_nothing_else() {
        let files: Vec<_> = std::fs::read_dir(super::manifest_dir().join("capabilities"))
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().to_string())
            .collect();
        assert_eq!(files, ["default.json"], "one capability file");
        let capability = json("capabilities/default.json");
        assert_eq!(capability["windows"], serde_json::json!(["main"]));
        assert!(capability.get("remote").is_none(), "remote pages may call commands");
        assert!(capability.get("platforms").is_none());
        for permission in capability["permissions"].as_array().unwrap() {
            let p = permission.as_str().expect("permissions are plain names, without scopes");
            assert!(p.starts_with("allow-") || p == "dialog:allow-open", "the window is granted {p}");
        }
        // Plugins: the file chooser alone; Tauri itself with no extra features (devtools, say).
        let cargo = std::fs::read_to_string(super::manifest_dir().join("Cargo.toml")).unwrap();
        let plugins: Vec<&str> = cargo
            .lines()
            .filter_map(|l| l.trim().split_once(" = ").map(|(name, _)| name))
            .filter(|name| name.starts_with("tauri-plugin-"))
            .collect();
        assert_eq!(plugins, ["tauri-plugin-dialog"], "Tauri plugins");
        let tauri = cargo.lines().find(|l| l.starts_with("tauri = ")).expect("the tauri dependency");
        assert!(tauri.contains("features = []"), "tauri's features changed: {tauri}");
        // Per-platform configuration that Tauri would merge over tauri.conf.json.
        for platform in ["linux", "windows", "macos", "ios", "android"] {
            let file = format!("tauri.{platform}.conf.json");
            assert!(!super::manifest_dir().join(&file).exists(), "{file} would change the configuration");
        }
    }
}

#[cfg(test)]
mod opening {
    //! The records are opened off the window's thread, so that the window paints and answers while
    //! an update's upgrade (or a restart's wait for the Lifeboat before it) takes its time.

    use std::sync::atomic::Ordering;
    use std::time::Duration;

    use lifeboat_core::store::folder_lock::FolderLock;

    use crate::{open, status, Folders, Phase};

    /// `open` returns at once while another Lifeboat still holds the folder (as at a restart); the
    /// status says the records are being opened until they are, then the screen they open on.
    #[test]
    fn the_records_open_off_the_windows_thread_and_the_status_says_so_meanwhile() {
        let dir = tempfile::TempDir::new().unwrap();
        let held = FolderLock::acquire(dir.path(), Duration::ZERO).unwrap();
        let state = open(&Folders { database: dir.path().into(), demos: dir.path().into() }, None);
        // Had `open` waited for the folder on this thread, it would have come back with the folder
        // in use (after 15 s), or not before the lock was let go.
        assert!(matches!(status(&state).phase, Phase::Opening), "{:?}", status(&state).phase);
        assert!(state.opened().is_err(), "nothing is open yet");
        drop(held);
        for _ in 0..2000 {
            if !state.starting.load(Ordering::SeqCst) {
                break;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        let after = status(&state);
        assert!(matches!(after.phase, Phase::Setup), "a new folder opens on the first-run set-up: {:?}", after.phase);
        assert!(after.error.is_none(), "{:?}", after.error);
        assert!(state.opened().is_ok());
    }

    /// An opening that panics ends with the records unopened and an error to show, not with a start
    /// screen that says they are being opened for ever.
    #[test]
    fn an_opening_that_panics_ends_in_an_error_not_a_spinner() {
        let dir = tempfile::TempDir::new().unwrap();
        let state = open(&Folders { database: dir.path().into(), demos: dir.path().into() }, None);
        while state.starting.load(Ordering::SeqCst) {
            std::thread::sleep(Duration::from_millis(10));
        }
        // As at start, before the records are open.
        *state.opened.lock().unwrap() =
            Err(crate::CommandError::new(lifeboat_core::ErrorCode::Preparing, "The records are being opened."));
        state.starting.store(true, Ordering::SeqCst);
        let opening = state.clone();
        let ended = std::thread::spawn(move || {
            let _ended = super::OpeningEnded(opening);
            panic!("an opening that goes wrong");
        })
        .join();
        assert!(ended.is_err(), "the thread panicked");
        assert!(!state.starting.load(Ordering::SeqCst));
        let after = status(&state);
        assert!(matches!(after.phase, Phase::Unavailable), "{:?}", after.phase);
        let error = after.error.unwrap();
        assert_eq!(error.code, lifeboat_core::ErrorCode::Internal);
        assert_eq!(
            error.message,
            "The records could not be opened: Lifeboat met an internal error while opening them. Close it and start it again; if this happens again, call IT support."
        );
    }
}
