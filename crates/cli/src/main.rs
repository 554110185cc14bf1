//! `lifeboat`: the command line for practice managers and group IT. Each subcommand parses its
//! input, calls one core function and prints the result; logic lives in the core.
//!
//! Passwords are never taken as arguments (they would land in shell history): they come from the
//! environment (`LIFEBOAT_PASSWORD` for the acting person, `LIFEBOAT_NEW_PASSWORD` for a new account),
//! from a prompt on a terminal, or from standard input, one per line, in that order.

use std::io::{BufRead, IsTerminal};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use clap::{Args, Parser, Subcommand};
use lifeboat_core::store::keyfile::CREDENTIAL_SERVICE;
use lifeboat_core::store::{backup, journal};
use lifeboat_core::{
    Action, ErrorCode, NewPremises, NewStaff, Passphrase, PracticeSetup, RecoveryKey, Role, Session, Store,
    StoreConfig, SystemClock, WorkingDay,
};

#[derive(Parser)]
#[command(
    name = "lifeboat",
    version,
    about = "Lifeboat: keep a veterinary practice running while its central systems are down"
)]
struct Cli {
    /// Folder holding lifeboat.db and lifeboat.key [default: the desktop app's local data folder]
    #[arg(long, global = true, env = "LIFEBOAT_DATA_DIR", value_name = "DIR")]
    data_dir: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Create the practice, its first premises and its first admin account in a new database
    Init(InitArgs),
    /// Manage staff accounts
    #[command(subcommand)]
    Staff(StaffCommand),
    /// Check the audit log's hash chain and report the first broken entry
    Verify,
    /// List journal entries (the changes waiting for sync) after a sequence number
    Journal(JournalArgs),
    /// Show or set a vet's or nurse's weekly working hours
    #[command(subcommand)]
    Hours(HoursCommand),
    /// Run integrity checks and print versions; rebuilds the search index if it is out of step
    Doctor,
    /// Fill a new database with a generated demo practice (sizes S, M, L, XL)
    Demo(DemoArgs),
    /// Pair this PC with the practice relay or the group's hub, with the code its host shows
    Pair(PairArgs),
    /// Sync now with every server this PC is paired with
    Sync(SyncArgs),
    /// Carry changes by hand when there is no network: signed, encrypted files
    #[command(subcommand)]
    Bundle(BundleCommand),
    /// Read in clients, animals or appointments from a CSV file exported by the practice management
    /// system; importing the same file again changes nothing. Exit code 9 when rows were rejected
    Import(ImportArgs),
    /// Write clients, animals or appointments to a CSV file (for entering them into the PMS); the
    /// columns are those `import` reads
    Export(ExportArgs),
    /// What was made or changed since the outage began, by day, kind and clinician; with
    /// --outage-began, first record when it began
    Backlog(BacklogArgs),
    /// Make the continuity pack (a PDF to print: day lists, safety sheets, active prescriptions,
    /// controlled drugs balances, staff phones) for a day, by default the next working day; it is
    /// kept in the database too
    Pack(PackArgs),
    /// The reconciliation ledger: each record of the backlog captured, exported, entered in the PMS,
    /// verified; mark records entered (from a CSV of Lifeboat ids and PMS numbers) or verified.
    /// Exit code 9 when rows of the file were rejected
    Ledger(LedgerArgs),
    /// Close the outage once every record is verified in the PMS: writes the signed final export and
    /// sets when the copies of PMS records are purged
    CloseOutage(CloseArgs),
    /// Purge the copies of PMS records once the day set when the outage was closed has come; records
    /// the law requires stay
    Purge(PurgeArgs),
    /// Back the database up now (the desktop app also does so every hour and when it closes): a
    /// checked, encrypted copy in the backups folder beside the database, older ones thinned
    Backup(BackupArgs),
    /// List the backups in the backups folder (or another, such as a USB stick), newest first
    Backups(BackupsArgs),
    /// Put a backup in place of the database, after showing what it holds; the database it
    /// replaces is kept in the `replaced` folder beside it. Refused while the desktop app has the
    /// data folder open (exit code 11)
    Restore(RestoreArgs),
    /// The database key: where it is kept, a new recovery key, or a new key (admins). A database
    /// or backup from another PC opens with the recovery key in LIFEBOAT_RECOVERY_KEY
    #[command(subcommand)]
    Key(KeyCommand),
}

#[derive(Subcommand)]
enum KeyCommand {
    /// Where the database key is kept, and when the recovery key was made (managers and admins)
    Show(Acting),
    /// Make a new recovery key and print it once (admins); the one before keeps working until
    /// `key confirm`
    Recovery(Acting),
    /// Confirm the newest recovery key is kept (admins): the one before stops opening the
    /// database and the backups beside it
    Confirm(Acting),
    /// Change the database key, re-encrypting the database, and print the new recovery key once
    /// (admins); backups taken before still open, here and with the recovery key of their time.
    /// Refused while the desktop app has the data folder open (exit code 11)
    Change(Acting),
    /// Protect the key with a passphrase on a PC without a credential store (admins): the key
    /// leaves the key file, and the passphrase is asked for at every start (LIFEBOAT_PASSPHRASE
    /// for the command line). Run again to change it. The new one is read from
    /// LIFEBOAT_NEW_PASSPHRASE or typed twice
    Passphrase(Acting),
}

#[derive(Args)]
struct BackupArgs {
    /// Also copy the backup to this folder (a USB stick); it is read back before it is kept
    #[arg(long, value_name = "DIR")]
    copy_to: Option<PathBuf>,
}

#[derive(Args)]
struct BackupsArgs {
    /// The folder to list [default: the backups folder beside the database]
    #[arg(long = "in", value_name = "DIR")]
    folder: Option<PathBuf>,
}

#[derive(Args)]
struct RestoreArgs {
    /// The backup file (lifeboat-backup-<time>.db)
    backup: PathBuf,
    /// Restore without asking (the summary is still printed)
    #[arg(long)]
    yes: bool,
}

#[derive(Args)]
struct CloseArgs {
    #[command(flatten)]
    acting: Acting,
    /// Days after closing when the copies of PMS records are purged (0 to 366)
    #[arg(long, value_name = "DAYS")]
    purge_after_days: u32,
    /// Where to write the final export (FHIR R4 JSON), signed with this PC's key
    #[arg(long)]
    out: PathBuf,
}

#[derive(Args)]
struct PurgeArgs {
    #[command(flatten)]
    acting: Acting,
}

#[derive(Args)]
struct LedgerArgs {
    #[command(flatten)]
    acting: Acting,
    /// List the records not yet entered in the PMS
    #[arg(long)]
    missing: bool,
    /// Mark records entered from a CSV file with a "Lifeboat ID" column and a PMS number column
    /// ("PMS ID", "Client No.", "Animal No." or "Appt ID")
    #[arg(long, value_name = "FILE")]
    pms_numbers: Option<PathBuf>,
    /// Mark a record entered in the PMS as verified there (by its Lifeboat id; repeat for more)
    #[arg(long, value_name = "ID")]
    verify: Vec<String>,
    /// Mark every record entered in the PMS as verified there
    #[arg(long)]
    verify_entered: bool,
}

#[derive(Args)]
struct BacklogArgs {
    #[command(flatten)]
    acting: Acting,
    /// When the outage began, UK time: "dd/mm/yyyy HH:MM"
    #[arg(long, value_name = "WHEN")]
    outage_began: Option<String>,
}

#[derive(Args)]
struct ExportArgs {
    /// What to write: a CSV file of clients, animals or appointments; the back-entry worklist (PDF)
    /// of every backlog record not yet entered in the PMS; or the backlog as a FHIR R4 transaction
    /// Bundle (JSON)
    #[arg(value_parser = ["clients", "patients", "appointments", "products", "worklist", "fhir"])]
    kind: String,
    #[command(flatten)]
    acting: Acting,
    /// The file to write
    #[arg(long)]
    out: PathBuf,
    /// Only records made or changed since this day (dd/mm/yyyy), such as the day the outage began
    #[arg(long, value_name = "DD/MM/YYYY")]
    since: Option<String>,
}

#[derive(Args)]
struct PackArgs {
    #[command(flatten)]
    acting: Acting,
    /// The day it is for (dd/mm/yyyy) [default: the next working day]
    #[arg(long, value_name = "DD/MM/YYYY")]
    date: Option<String>,
    /// Where to write the PDF [default: continuity-pack-YYYY-MM-DD.pdf in the current folder]
    #[arg(long)]
    out: Option<PathBuf>,
}

#[derive(Args)]
struct ImportArgs {
    /// What the file holds (import clients, then their animals, then appointments and clinical
    /// history; products any time)
    #[arg(value_parser = ["clients", "patients", "appointments", "products", "history"])]
    kind: String,
    /// The CSV file (UTF-8, UTF-16 or Windows-1252; comma, semicolon or tab separated)
    file: PathBuf,
    #[command(flatten)]
    acting: Acting,
    /// A JSON file saying which column holds which field: {"columns": {"Ref": "pms_id", ...}}
    #[arg(long)]
    mapping: Option<PathBuf>,
    /// Import nothing if any row is rejected (otherwise the good rows are imported)
    #[arg(long)]
    all_or_nothing: bool,
    /// Write the rejected rows, with the reason for each, to this CSV file
    #[arg(long)]
    rejects: Option<PathBuf>,
    /// Show how the columns and first rows will be read, and import nothing
    #[arg(long)]
    preview: bool,
}

#[derive(Args)]
struct PairArgs {
    /// Your username (a manager or admin); leave out on a PC that holds no practice yet (joining one)
    #[arg(long = "as", value_name = "USERNAME")]
    user: Option<String>,
    /// The server's address, as its host shows it, e.g. 192.168.1.20:8443
    #[arg(long)]
    address: String,
    /// The 24-character pairing code
    #[arg(long)]
    code: String,
    /// What to call the server here
    #[arg(long, default_value = "Practice relay")]
    name: String,
    /// What the server should call this PC
    #[arg(long, default_value = "PC")]
    device_name: String,
}

#[derive(Args)]
struct SyncArgs {
    /// Also compare day-by-day summaries with each server (and repair any difference)
    #[arg(long)]
    verify: bool,
}

#[derive(Subcommand)]
enum BundleCommand {
    /// Write the changes a server lacks (or all) to a file; the passphrase is read from
    /// LIFEBOAT_BUNDLE_PASSPHRASE, a prompt, or standard input
    Export(BundleExportArgs),
    /// Apply a bundle's changes (any number of times: what is here already is skipped)
    Import(BundleImportArgs),
}

#[derive(Args)]
struct BundleExportArgs {
    #[command(flatten)]
    acting: Acting,
    /// The file to write
    #[arg(long)]
    out: PathBuf,
    /// Only what this paired server (by name) lacked at the last sync; everything without it
    #[arg(long)]
    for_server: Option<String>,
}

#[derive(Args)]
struct BundleImportArgs {
    /// Your username (a manager or admin); leave out only on a PC that holds no practice yet
    #[arg(long = "as", value_name = "USERNAME")]
    user: Option<String>,
    /// The bundle file
    file: PathBuf,
}

#[derive(Args)]
struct Acting {
    /// Your username; your password is read from LIFEBOAT_PASSWORD, a prompt, or standard input
    #[arg(long = "as", value_name = "USERNAME")]
    user: String,
}

#[derive(Args)]
struct InitArgs {
    /// The practice's name
    #[arg(long)]
    practice: String,
    /// Name of the first premises [default: the practice's name]
    #[arg(long)]
    premises_name: Option<String>,
    #[arg(long)]
    address_line1: String,
    #[arg(long, default_value = "")]
    address_line2: String,
    #[arg(long)]
    town: String,
    #[arg(long)]
    postcode: String,
    /// The premises' telephone number
    #[arg(long)]
    phone: String,
    /// RCVS premises registration number
    #[arg(long, default_value = "")]
    rcvs_premises: String,
    /// Username of the first admin; the password is read from LIFEBOAT_NEW_PASSWORD, a prompt, or standard input
    #[arg(long)]
    admin_username: String,
    /// Full name of the first admin
    #[arg(long)]
    admin_name: String,
}

#[derive(Subcommand)]
enum StaffCommand {
    /// Add a staff account (managers and admins)
    Add(StaffAddArgs),
    /// List staff accounts
    List(Acting),
    /// Change your own password (the new one is read from LIFEBOAT_NEW_PASSWORD, a prompt, or the
    /// next line of standard input). A password someone else gave you must be changed before anything else.
    Password(Acting),
}

#[derive(Args)]
struct StaffAddArgs {
    #[command(flatten)]
    acting: Acting,
    /// Login name for the new account, e.g. j.smith
    #[arg(long)]
    username: String,
    /// Full name as it appears on prescriptions and the day book
    #[arg(long)]
    name: String,
    /// reception, nurse, vet, manager or admin
    #[arg(long, value_parser = parse_role)]
    role: Role,
    /// Post-nominals, e.g. "BVSc MRCVS"
    #[arg(long, default_value = "")]
    qualifications: String,
    /// RCVS registration number (required for vets)
    #[arg(long)]
    rcvs_number: Option<String>,
}

#[derive(Subcommand)]
enum HoursCommand {
    /// Show a clinician's weekly hours
    Show(HoursShowArgs),
    /// Replace a clinician's weekly hours (managers and admins)
    Set(HoursSetArgs),
}

#[derive(Args)]
struct HoursShowArgs {
    #[command(flatten)]
    acting: Acting,
    /// The clinician's username
    #[arg(long)]
    clinician: String,
}

#[derive(Args)]
struct HoursSetArgs {
    #[command(flatten)]
    acting: Acting,
    /// The clinician's username
    #[arg(long)]
    clinician: String,
    /// The week, e.g. "mon-fri 08:30-18:00, sat 09:00-12:30"; "none" for no set hours
    #[arg(long)]
    week: String,
}

#[derive(Args)]
struct JournalArgs {
    #[command(flatten)]
    acting: Acting,
    /// Show entries after this local sequence number
    #[arg(long, default_value_t = 0)]
    since: i64,
    #[arg(long, default_value_t = 100)]
    limit: u32,
    /// One JSON object per line instead of a table
    #[arg(long)]
    json: bool,
}

#[derive(Args)]
struct DemoArgs {
    /// S, M, L or XL (XL: 100,000 clients, three years; many minutes to make)
    #[arg(long, default_value = "M", value_parser = parse_size)]
    size: lifeboat_synthetic::Size,
    #[arg(long, default_value_t = 1)]
    seed: u64,
}

fn parse_role(text: &str) -> Result<Role, String> {
    Role::parse(text).ok_or_else(|| "must be one of reception, nurse, vet, manager, admin".into())
}

fn parse_size(text: &str) -> Result<lifeboat_synthetic::Size, String> {
    lifeboat_synthetic::Size::parse(text).ok_or_else(|| "must be S, M, L or XL".into())
}

/// An error to print, with the exit code it gives.
struct Failure {
    message: String,
    code: u8,
}

impl From<lifeboat_core::Error> for Failure {
    fn from(e: lifeboat_core::Error) -> Self {
        // Every code is listed, so a new one cannot slip through without an exit code.
        let code = match e.code() {
            ErrorCode::Invalid | ErrorCode::Conflict | ErrorCode::NotFound | ErrorCode::NeedsConfirmation => 4,
            ErrorCode::Forbidden
            | ErrorCode::BadCredentials
            | ErrorCode::TooManyAttempts
            | ErrorCode::NotLoggedIn
            | ErrorCode::Locked => 3,
            ErrorCode::Corrupt | ErrorCode::DamagedRecord => 5,
            ErrorCode::WrongKey
            | ErrorCode::NotADatabase
            | ErrorCode::TooNew
            | ErrorCode::KeyFile
            | ErrorCode::KeyNeeded
            | ErrorCode::PassphraseNeeded
            | ErrorCode::Unfinished => 6,
            ErrorCode::InUse => 11,
            ErrorCode::SyncRefused => 7,
            ErrorCode::Unreachable => 8,
            ErrorCode::DiskFull => 10,
            ErrorCode::Io | ErrorCode::Storage | ErrorCode::Internal | ErrorCode::Preparing | ErrorCode::Ipc => 1,
        };
        let mut message = e.to_string();
        if e.code() == ErrorCode::KeyNeeded {
            message.push_str(" (set LIFEBOAT_RECOVERY_KEY to it and run the command again)");
        }
        if e.code() == ErrorCode::PassphraseNeeded {
            message
                .push_str(" (set LIFEBOAT_PASSPHRASE to it; commands that open the records ask for it on a terminal)");
        }
        Failure { message, code }
    }
}

fn runtime() -> Result<tokio::runtime::Runtime, Failure> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| fail(format!("could not start: {e}"), 1))
}

fn sync_failure(e: lifeboat_sync::error::SyncError) -> Failure {
    use lifeboat_sync::error::SyncError as E;
    match e {
        E::Store(inner) => Failure::from(inner),
        other => {
            let code = match &other {
                E::Unreachable(_) | E::Busy(_) | E::ServerFailed(_) => 8,
                E::Certificate(_) | E::NotPaired(_) | E::Revoked(_) => 3,
                E::Refused(_) | E::CursorUnknown(_) | E::Protocol(_) => 7,
                E::Invalid(_) => 4,
                E::Store(_) | E::Internal(_) => 1,
            };
            Failure { message: other.to_string(), code }
        }
    }
}

/// Prints a recovery key the one time it is shown, with what to do with it.
fn print_recovery_key(key: &str) {
    println!("\nRecovery key (shown this once; print or write it down and lock it away):\n\n    {key}\n");
    println!("With it the database and its backups open on another PC (LIFEBOAT_RECOVERY_KEY).");
    println!("Once it is kept, run `lifeboat key confirm --as USER`: until then the recovery key before it works too.");
}

fn fail(message: impl Into<String>, code: u8) -> Failure {
    Failure { message: message.into(), code }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(f) => {
            eprintln!("lifeboat: {}", f.message);
            ExitCode::from(f.code)
        }
    }
}

fn run(cli: Cli) -> Result<(), Failure> {
    let dir = match cli.data_dir {
        Some(dir) => dir,
        // The desktop app's database folder: Tauri's app_local_data_dir is the local data folder
        // joined with the `identifier` in tauri.conf.json; the database is in its `database` folder.
        None => dirs::data_local_dir()
            .ok_or_else(|| fail("no data folder on this system; pass --data-dir", 2))?
            .join("uk.lifeboat.desktop")
            .join("database"),
    };
    // The database key lives in this PC's credential store, unless told not to use one.
    if std::env::var("LIFEBOAT_CREDENTIAL_STORE").as_deref() != Ok("none") {
        lifeboat_core::use_credential_store(Arc::new(lifeboat_core::OsCredentials::new(CREDENTIAL_SERVICE)));
    }
    let mut config = StoreConfig::in_dir(&dir);
    // A recovery key, for a database or backup brought from another PC (never on the command line,
    // where it would stay in the shell's history).
    if let Ok(text) = std::env::var("LIFEBOAT_RECOVERY_KEY") {
        config = config.with_recovery_key(RecoveryKey::parse(&text)?);
    }
    // This PC's passphrase, where the key is sealed with one (a PC without a credential store).
    if let Ok(text) = std::env::var("LIFEBOAT_PASSPHRASE") {
        config = config.with_passphrase(Passphrase::typed(&text)?);
    }
    let mut secrets = Secrets::default();
    match cli.command {
        Command::Init(a) => {
            let password = secrets.read("LIFEBOAT_NEW_PASSWORD", "Password for the new admin account")?;
            let store = open_new(config)?;
            let setup = PracticeSetup {
                premises: NewPremises {
                    name: a.premises_name.unwrap_or_else(|| a.practice.clone()),
                    address_line1: a.address_line1,
                    address_line2: a.address_line2,
                    town: a.town,
                    postcode: a.postcode,
                    phone: a.phone,
                    rcvs_premises_number: a.rcvs_premises,
                },
                practice_name: a.practice,
                admin: NewStaff {
                    username: a.admin_username,
                    display_name: a.admin_name,
                    role: Role::Admin,
                    qualifications: String::new(),
                    rcvs_number: None,
                    password,
                    must_change_password: false,
                },
            };
            let admin = store.create_practice(&setup)?;
            println!("Created the practice in {} with admin account {:?}.", dir.display(), admin.username);
            print_recovery_key(&store.make_recovery_key(&admin)?);
        }
        Command::Staff(StaffCommand::Add(a)) => {
            let store = open_existing(config)?;
            let session = login(&store, &a.acting, &mut secrets)?;
            let password = secrets.read("LIFEBOAT_NEW_PASSWORD", &format!("Password for {}", a.username))?;
            let new = NewStaff {
                username: a.username,
                display_name: a.name,
                role: a.role,
                qualifications: a.qualifications,
                rcvs_number: a.rcvs_number,
                password,
                // A password given by someone else: theirs to replace at their first login.
                must_change_password: true,
            };
            let staff = store.add_staff(&session, &new)?;
            println!(
                "Added {} ({}) as {}. They choose their own password at their first login (lifeboat staff password).",
                staff.username, staff.role, staff.id
            );
        }
        Command::Staff(StaffCommand::Password(acting)) => {
            let store = open_existing(config)?;
            let current = secrets.read("LIFEBOAT_PASSWORD", &format!("Password for {}", acting.user))?;
            let session = store.login(&acting.user, &current)?;
            let new = secrets.read("LIFEBOAT_NEW_PASSWORD", "New password")?;
            store.change_own_password(&session, &current, &new)?;
            println!("Changed the password of {}.", session.username);
        }
        Command::Staff(StaffCommand::List(acting)) => {
            let store = open_existing(config)?;
            let session = login(&store, &acting, &mut secrets)?;
            println!("{:<20} {:<10} {:<7} {:<9} {:<24} NAME", "USERNAME", "ROLE", "ACTIVE", "RCVS", "QUALIFICATIONS");
            for s in store.list_staff(&session)? {
                let active = if s.active { "yes" } else { "no" };
                let rcvs = s.rcvs_number.as_deref().unwrap_or("-");
                println!(
                    "{:<20} {:<10} {:<7} {:<9} {:<24} {}",
                    s.username, s.role, active, rcvs, s.qualifications, s.display_name
                );
            }
        }
        Command::Hours(HoursCommand::Show(a)) => {
            let store = open_existing(config)?;
            let session = login(&store, &a.acting, &mut secrets)?;
            let clinician = find_staff(&store, &session, &a.clinician)?;
            let week = store.working_hours(&session, clinician.id)?;
            println!("{}: {}", clinician.username, WorkingDay::format_week(&week));
        }
        Command::Hours(HoursCommand::Set(a)) => {
            let store = open_existing(config)?;
            let session = login(&store, &a.acting, &mut secrets)?;
            let week = WorkingDay::parse_week(&a.week)?;
            let clinician = find_staff(&store, &session, &a.clinician)?;
            store.set_working_hours(&session, clinician.id, &week)?;
            println!("{}: {}", clinician.username, WorkingDay::format_week(&week));
        }
        Command::Verify => {
            let store = open_existing(config)?;
            let report = store.verify_audit()?;
            match report.first_broken {
                None => println!("The audit chain is intact: {} entries checked.", report.entries),
                Some(b) => return Err(fail(format!("the audit chain is broken at entry {}: {}", b.seq, b.reason), 5)),
            }
        }
        Command::Journal(a) => {
            let store = open_existing(config)?;
            let session = login(&store, &a.acting, &mut secrets)?;
            let entries = store.read_as(&session, Action::ViewJournal, |r| journal::since(r, a.since, a.limit))?;
            if !a.json {
                println!(
                    "{:>6} {:>6}  {:<17} {:<9} {:<7} {:<36}  FIELDS",
                    "SEQ", "NODE#", "HLC", "ENTITY", "KIND", "ENTITY ID"
                );
            }
            for e in &entries {
                // Credentials (staff password hashes) travel in the journal but are never printed.
                let c = e.change.redacted();
                if a.json {
                    let shown = journal::JournalEntry { change: c, ..e.clone() };
                    println!("{}", serde_json::to_string(&shown).map_err(|e| fail(e.to_string(), 1))?);
                } else {
                    let fields: Vec<&str> =
                        c.payload.as_object().map(|m| m.keys().map(String::as_str).collect()).unwrap_or_default();
                    println!(
                        "{:>6} {:>6}  {:<17} {:<9} {:<7} {}  {}",
                        e.seq,
                        c.node_seq,
                        e.hlc_text(),
                        c.entity,
                        c.kind,
                        c.entity_id,
                        fields.join(",")
                    );
                }
            }
            if entries.is_empty() && !a.json {
                println!("No journal entries after {}.", a.since);
            }
        }
        Command::Pair(a) => {
            // A PC joining a practice has no database yet: it is made here, empty, and filled by the
            // first sync.
            let store = Arc::new(Store::open(config, Arc::new(SystemClock))?);
            let session = match &a.user {
                Some(user) => Some(login(&store, &Acting { user: user.clone() }, &mut secrets)?),
                None => None,
            };
            let peer = runtime()?
                .block_on(lifeboat_sync::engine::pair(&store, session, &a.name, &a.address, &a.code, &a.device_name))
                .map_err(sync_failure)?;
            println!("Paired with {} at {} ({}).", peer.practice_name, peer.url, peer.name);
        }
        Command::Sync(a) => {
            let store = Arc::new(open_existing(config)?);
            let peers = store.peers()?;
            if !peers.iter().any(|p| p.enabled) {
                return Err(fail("this PC is paired with no server: use `lifeboat pair` first", 4));
            }
            let options = lifeboat_sync::engine::SyncOptions { verify: a.verify, ..Default::default() };
            let rt = runtime()?;
            let mut failed = None;
            for peer in peers.into_iter().filter(|p| p.enabled) {
                let progress = |p: lifeboat_sync::engine::Progress| {
                    if p.total > 0 {
                        eprint!("\r{} {}/{}   ", p.phase, p.done, p.total);
                    }
                };
                match rt.block_on(lifeboat_sync::engine::sync_once(&store, peer.id, &options, &progress)) {
                    Ok(r) => {
                        eprintln!();
                        println!(
                            "{}: sent {}, received {} ({} new, {} kept aside, {} new conflicts){}",
                            peer.name,
                            r.pushed,
                            r.pulled,
                            r.applied.new,
                            r.applied.quarantined,
                            r.applied.conflicts,
                            if a.verify {
                                if r.verify_differing.is_empty() {
                                    "; verified"
                                } else {
                                    "; verify found differences"
                                }
                            } else {
                                ""
                            }
                        );
                        for w in [r.clock_warning, r.audit_warning, r.applied.clock_warning].into_iter().flatten() {
                            println!("  warning: {w}");
                        }
                    }
                    Err(e) => {
                        eprintln!();
                        println!("{}: {e}", peer.name);
                        failed = Some(sync_failure(e));
                    }
                }
            }
            if let Some(f) = failed {
                return Err(f);
            }
        }
        Command::Bundle(BundleCommand::Export(a)) => {
            let store = Arc::new(open_existing(config)?);
            let session = login(&store, &a.acting, &mut secrets)?;
            let marks = match &a.for_server {
                None => Vec::new(),
                Some(name) => {
                    store
                        .peers()?
                        .into_iter()
                        .find(|p| p.name.eq_ignore_ascii_case(name))
                        .ok_or_else(|| fail(format!("this PC is paired with no server called {name:?}"), 4))?
                        .marks
                }
            };
            let passphrase = secrets
                .read("LIFEBOAT_BUNDLE_PASSPHRASE", "Passphrase for the bundle (tell it to whoever imports it)")?;
            let done = runtime()?
                .block_on(lifeboat_sync::bundle::export(&store, &session, marks, &a.out, &passphrase))
                .map_err(sync_failure)?;
            println!("Wrote {} changes ({} bytes) to {}.", done.changes, done.bytes, a.out.display());
        }
        Command::Bundle(BundleCommand::Import(a)) => {
            // A PC that holds no practice yet may start from a bundle of everything.
            let store = Arc::new(Store::open(config, Arc::new(SystemClock))?);
            let session = match &a.user {
                Some(user) => Some(login(&store, &Acting { user: user.clone() }, &mut secrets)?),
                None => None,
            };
            let passphrase = secrets.read("LIFEBOAT_BUNDLE_PASSPHRASE", "The bundle's passphrase")?;
            let done = runtime()?
                .block_on(lifeboat_sync::bundle::import(&store, session.as_ref(), &a.file, &passphrase))
                .map_err(sync_failure)?;
            println!(
                "Read {} changes made on {}: {} new, {} already here, {} kept aside, {} new conflicts.",
                done.changes,
                done.made_at,
                done.applied.new,
                done.applied.duplicates,
                done.applied.quarantined,
                done.applied.conflicts
            );
        }
        Command::Import(a) => {
            let store = open_existing(config)?;
            let session = login(&store, &a.acting, &mut secrets)?;
            import(&store, &session, &a)?;
        }
        Command::Export(a) => {
            let store = open_existing(config)?;
            let session = login(&store, &a.acting, &mut secrets)?;
            if a.kind == "fhir" {
                if a.since.is_some() {
                    return Err(fail("--since: the FHIR bundle holds the whole backlog, since the outage began", 2));
                }
                let done = store.export_fhir(&session)?;
                std::fs::write(&a.out, &done.exported.bytes)
                    .map_err(|e| fail(format!("cannot write {}: {e}", a.out.display()), 4))?;
                let counts: Vec<String> = done.resources.iter().map(|(k, n)| format!("{n} {k}")).collect();
                println!(
                    "Wrote a FHIR R4 transaction Bundle of {} resources ({}) to {}; {} records marked exported in it.",
                    done.exported.rows,
                    counts.join(", "),
                    a.out.display(),
                    done.exported.marked
                );
                return Ok(());
            }
            if a.kind == "worklist" {
                if a.since.is_some() {
                    return Err(fail("--since: the worklist lists the whole backlog not yet entered in the PMS", 2));
                }
                let now = chrono::Utc::now();
                let exported = store.export_worklist(&session, |list| {
                    Ok(lifeboat_print::worklist(list, now, lifeboat_print::Mark::of(&store)))
                })?;
                std::fs::write(&a.out, &exported.bytes)
                    .map_err(|e| fail(format!("cannot write {}: {e}", a.out.display()), 4))?;
                println!(
                    "Wrote the back-entry worklist of {} records to {}; {} marked exported in it.",
                    exported.rows,
                    a.out.display(),
                    exported.marked
                );
                return Ok(());
            }
            let kind = lifeboat_core::import::columns::ImportKind::parse(&a.kind)
                .ok_or_else(|| fail("the kind must be clients, patients, appointments, products or history", 2))?;
            let since = match &a.since {
                Some(text) => {
                    let today = lifeboat_core::time::local_date(chrono::Utc::now());
                    let day = lifeboat_core::import::values::date(text, today)
                        .map_err(|e| fail(format!("--since: {e}"), 4))?
                        .ok_or_else(|| fail("--since: give a day as dd/mm/yyyy", 4))?;
                    Some(lifeboat_core::time::to_utc("since", day.and_time(chrono::NaiveTime::MIN))?)
                }
                None => None,
            };
            let exported = store.export_csv(&session, kind, since)?;
            std::fs::write(&a.out, &exported.bytes)
                .map_err(|e| fail(format!("cannot write {}: {e}", a.out.display()), 4))?;
            println!(
                "Wrote {} rows to {}; {} records of the backlog marked exported in it.",
                exported.rows,
                a.out.display(),
                exported.marked
            );
        }
        Command::Pack(a) => {
            let store = open_existing(config)?;
            let session = login(&store, &a.acting, &mut secrets)?;
            let date = match &a.date {
                Some(text) => {
                    let today = lifeboat_core::time::local_date(chrono::Utc::now());
                    let day = lifeboat_core::import::values::date_near(text, today)
                        .map_err(|e| fail(format!("--date: {e}"), 4))?
                        .ok_or_else(|| fail("--date: give a day as dd/mm/yyyy", 4))?;
                    Some(day)
                }
                None => None,
            };
            let now = chrono::Utc::now();
            let mut said = String::new();
            let (info, pdf) = store.make_continuity_pack(&session, date, |pack| {
                said = format!(
                    "{} appointments, {} safety sheets, {} active prescriptions",
                    pack.day.appointments.iter().filter(|x| x.status.is_active()).count(),
                    pack.sheets.len(),
                    pack.prescriptions.len()
                );
                lifeboat_print::continuity_pack(pack, now, lifeboat_print::Mark::of(&store))
            })?;
            let out = a.out.clone().unwrap_or_else(|| PathBuf::from(format!("continuity-pack-{}.pdf", info.for_date)));
            std::fs::write(&out, &pdf).map_err(|e| fail(format!("cannot write {}: {e}", out.display()), 4))?;
            println!(
                "Wrote the continuity pack for {} to {}: {said}.",
                info.for_date.format("%A %d/%m/%Y"),
                out.display()
            );
        }
        Command::Backlog(a) => {
            let store = open_existing(config)?;
            let session = login(&store, &a.acting, &mut secrets)?;
            if let Some(text) = &a.outage_began {
                let at = chrono::NaiveDateTime::parse_from_str(text.trim(), "%d/%m/%Y %H:%M").map_err(|_| {
                    fail(format!("--outage-began: {text:?} is not a day and time such as \"01/12/2026 08:00\""), 4)
                })?;
                store.set_outage_began(&session, Some(at))?;
            }
            let b = store.backlog(&session)?;
            let Some(began) = b.outage_began else {
                println!("No outage recorded: give --outage-began \"dd/mm/yyyy HH:MM\".");
                return Ok(());
            };
            println!("Backlog since {}:", lifeboat_core::time::to_local(began).format("%d/%m/%Y %H:%M"));
            for (kind, made, changed) in &b.totals {
                println!("  {kind}: {made} made, {changed} changed");
            }
            for r in &b.rows {
                let who = if r.clinician.is_empty() { String::new() } else { format!(", {}", r.clinician) };
                println!("  {} {}{who}: {} made, {} changed", r.day.format("%d/%m/%Y"), r.kind, r.created, r.changed);
            }
        }
        Command::CloseOutage(a) => {
            let store = open_existing(config)?;
            let session = login(&store, &a.acting, &mut secrets)?;
            // The file is made first: the signed export exists only once, and must not be lost.
            let mut file =
                std::fs::File::create(&a.out).map_err(|e| fail(format!("cannot write {}: {e}", a.out.display()), 4))?;
            let closed = store.close_outage(&session, a.purge_after_days)?;
            std::io::Write::write_all(&mut file, &closed.final_export)
                .and_then(|()| file.sync_all())
                .map_err(|e| fail(format!("cannot write {}: {e}", a.out.display()), 4))?;
            let c = &closed.closure;
            println!(
                "Outage closed: {} records verified in the PMS. Final export written to {} (SHA-256 {}, signed by key {}).",
                c.records,
                a.out.display(),
                c.export_sha256,
                c.signer_key
            );
            println!(
                "Copies of PMS records will be purged from {} (lifeboat purge).",
                lifeboat_core::time::to_local(c.purge_after).format("%d/%m/%Y %H:%M")
            );
        }
        Command::Purge(a) => {
            let store = open_existing(config)?;
            let session = login(&store, &a.acting, &mut secrets)?;
            let p = store.purge_copies(&session)?;
            println!(
                "Purged {} clients, {} animals and {} appointments held as copies of what the PMS now holds; kept {} clients and {} animals named by records the law requires or changed since.",
                p.clients, p.patients, p.appointments, p.kept_clients, p.kept_patients
            );
        }
        Command::Ledger(a) => {
            let store = open_existing(config)?;
            let session = login(&store, &a.acting, &mut secrets)?;
            ledger(&store, &session, &a)?;
        }
        Command::Key(KeyCommand::Show(acting)) => {
            let store = open_existing(config)?;
            let session = login(&store, &acting, &mut secrets)?;
            let kept = store.key_protection(&session)?;
            match (&kept.credential_store, kept.key_in_file) {
                (None, false) if kept.passphrase => println!(
                    "The database key is sealed with this PC's passphrase, asked for at every start; the key file holds no key."
                ),
                (_, true) => println!(
                    "The database key is kept in the key file {}: keep the data folder private.{}",
                    store.config().key_file.display(),
                    if kept.recovery_key_made_on.is_some() {
                        " This PC has no credential store Lifeboat could use."
                    } else {
                        " It moves into this PC's credential store, if it has one, once a recovery key is made."
                    }
                ),
                (Some(name), false) => println!("The database key is kept in {name}; the key file holds none."),
                (None, false) => println!("The database key is kept in a credential store this PC does not have."),
            }
            match &kept.recovery_key_made_on {
                Some(day) => println!("The recovery key was made on {day}."),
                None => println!("There is no recovery key: make one with `lifeboat key recovery`."),
            }
            if !kept.recovery_key_confirmed {
                println!("The newest recovery key is not confirmed as kept (`lifeboat key confirm`): the one before still works.");
            }
            if kept.earlier_keys > 0 {
                println!("{} earlier key(s) kept for the backups taken under them.", kept.earlier_keys);
            }
        }
        Command::Key(KeyCommand::Recovery(acting)) => {
            let _alone = lock_folder(&dir)?;
            let store = open_existing(config)?;
            let session = login(&store, &acting, &mut secrets)?;
            print_recovery_key(&store.make_recovery_key(&session)?);
        }
        Command::Key(KeyCommand::Confirm(acting)) => {
            let _alone = lock_folder(&dir)?;
            let store = open_existing(config)?;
            let session = login(&store, &acting, &mut secrets)?;
            store.confirm_recovery_key(&session)?;
            println!("Confirmed: the recovery key made before the newest no longer opens this database.");
        }
        Command::Key(KeyCommand::Passphrase(acting)) => {
            let _alone = lock_folder(&dir)?;
            let store = open_existing(config)?;
            let session = login(&store, &acting, &mut secrets)?;
            let chosen = secrets.read("LIFEBOAT_NEW_PASSPHRASE", "New passphrase for this PC")?;
            if std::env::var_os("LIFEBOAT_NEW_PASSPHRASE").is_none() {
                let again = secrets.read("LIFEBOAT_NEW_PASSPHRASE", "Type it again")?;
                if again != chosen {
                    return Err(fail("the two passphrases typed differ; nothing was changed", 4));
                }
            }
            store.set_passphrase(&session, &chosen)?;
            println!("The database key is now sealed with this passphrase and no longer in the key file.");
            println!("Lifeboat asks for it at every start on this PC; keep it with the recovery key.");
        }
        Command::Key(KeyCommand::Change(acting)) => {
            let _alone = lock_folder(&dir)?;
            let store = open_existing(config)?;
            let session = login(&store, &acting, &mut secrets)?;
            let recovery = store.change_key(&session)?;
            println!("The database is now under a new key.");
            print_recovery_key(&recovery);
        }
        Command::Backup(a) => {
            let store = open_existing(config)?;
            let taken = store.back_up(&store.config().backups_dir())?;
            print_backup(&taken);
            println!("Saved as {}", taken.path.display());
            if let Some(folder) = a.copy_to {
                let copy = store.copy_backup(&taken, &folder)?;
                println!("Copied to {}", copy.display());
            }
        }
        Command::Backups(a) => {
            let folder = a.folder.unwrap_or_else(|| config.backups_dir());
            let found = backup::list(&folder)?;
            if found.is_empty() {
                println!("No backups in {}", folder.display());
            }
            for b in found {
                println!("{}  {:>10}  {}", local_time(b.taken_at), human_bytes(b.bytes), b.path.display());
            }
        }
        Command::Restore(a) => {
            let _alone = lock_folder(&dir)?;
            let summary = backup::inspect(&a.backup, &config)?;
            print_backup(&summary);
            if !a.yes {
                if !std::io::stdin().is_terminal() {
                    return Err(fail("pass --yes to restore without a terminal to confirm on", 2));
                }
                eprint!("Type RESTORE to put this backup in place of {}: ", config.database.display());
                let mut answer = String::new();
                std::io::stdin().read_line(&mut answer).map_err(|e| fail(e.to_string(), 1))?;
                if answer.trim() != "RESTORE" {
                    return Err(fail("not restored; nothing was changed", 4));
                }
            }
            let restored = backup::restore(&config, &a.backup, Arc::new(SystemClock))?;
            println!("Restored the backup taken {}.", local_time(restored.backup.taken_at));
            match restored.replaced {
                Some(folder) => println!("The database it replaced is kept in {}", folder.display()),
                None => println!("There was no database to replace."),
            }
        }
        Command::Doctor => {
            let store = open_existing(config)?;
            let r = store.doctor()?;
            println!("lifeboat {}", r.lifeboat_version);
            println!("SQLite {} with SQLCipher {}", r.sqlite_version, r.sqlcipher_version);
            println!("schema version {} (this build supports up to {})", r.schema_version, r.supported_schema_version);
            println!("integrity check: {}", r.integrity.join("; "));
            println!(
                "encryption check: {}",
                if r.cipher_problems.is_empty() { "ok".to_string() } else { r.cipher_problems.join("; ") }
            );
            println!("foreign key problems: {}", r.foreign_key_violations);
            let sound = r.integrity == ["ok"] && r.cipher_problems.is_empty();
            if r.search_index_differences == 0 {
                println!("search index: matches the records");
            } else if !sound {
                // Nothing is written to a damaged database: it is restored, index and all.
                println!(
                    "search index: {} rows out of step (not rebuilt: the database is damaged)",
                    r.search_index_differences
                );
            } else {
                // Derived data: made again from the records rather than restored.
                match store.rebuild_search_index() {
                    Ok(()) => println!(
                        "search index: {} rows were out of step; rebuilt from the records",
                        r.search_index_differences
                    ),
                    Err(e) => println!(
                        "search index: {} rows out of step; rebuilding it failed ({e}): run `lifeboat doctor` again with Lifeboat closed",
                        r.search_index_differences
                    ),
                }
            }
            match &r.audit.first_broken {
                None => println!("audit chain: intact ({} entries)", r.audit.entries),
                Some(b) => println!("audit chain: BROKEN at entry {}: {}", b.seq, b.reason),
            }
            if !r.is_healthy() {
                return Err(fail("the database has problems (see above); restore it from a backup", 5));
            }
            println!("The database is healthy.");
        }
        Command::Demo(a) => {
            let store = open_new(config)?;
            let generated =
                lifeboat_synthetic::populate_with_progress(&store, a.size, a.seed, &mut |step| eprintln!("  {step}"))?;
            println!(
                "Created a {:?} demo practice in {}: {} clients, {} patients, {} appointments, {} accounts.",
                a.size,
                dir.display(),
                generated.clients,
                generated.patients,
                generated.appointments,
                generated.accounts.len()
            );
            println!("Every account's password is {:?}:", lifeboat_synthetic::DEMO_PASSWORD);
            for account in generated.accounts {
                println!("  {:<12} {}", account.username, account.role);
            }
        }
    }
    Ok(())
}

fn ledger(store: &Store, session: &Session, a: &LedgerArgs) -> Result<(), Failure> {
    use lifeboat_core::ledger::{LedgerFilter, Stage};
    let mut rejected = 0;
    if let Some(path) = &a.pms_numbers {
        let bytes = std::fs::read(path).map_err(|e| fail(format!("cannot read {}: {e}", path.display()), 4))?;
        let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        let done = store.mark_entered_from_file(session, &name, &bytes)?;
        println!(
            "{name}: {} marked entered, {} already entered, {} rejected.",
            done.marked,
            done.unchanged,
            done.rejected.len()
        );
        for r in &done.rejected {
            println!("  line {} ({}): {}", r.line, r.column, r.reason);
        }
        rejected = done.rejected.len();
    }
    let mut verify = a.verify.clone();
    if a.verify_entered {
        let entered = store.ledger(
            session,
            &LedgerFilter { stage: Some(Stage::Entered), limit: Some(50_000), ..Default::default() },
        )?;
        verify.extend(entered.entries.into_iter().map(|e| e.id));
    }
    if !verify.is_empty() {
        let done = store.mark_verified(session, &verify)?;
        println!("{} marked verified, {} verified already.", done.marked, done.unchanged);
    }
    let l = store.ledger(session, &LedgerFilter { missing: a.missing, limit: Some(50_000), ..Default::default() })?;
    let Some(began) = l.outage_began else {
        println!("No outage recorded: record when it began with lifeboat backlog --outage-began \"dd/mm/yyyy HH:MM\".");
        return Ok(());
    };
    let line = |label: &str, c: &lifeboat_core::ledger::StageCounts| {
        let done = if c.total() == 0 { 100 } else { (c.entered + c.verified) * 100 / c.total() };
        println!(
            "  {label:<28} {:>6} captured {:>6} exported {:>6} entered {:>6} verified   {done:>3}% in the PMS",
            c.captured, c.exported, c.entered, c.verified
        );
    };
    println!("Reconciliation since {}:", lifeboat_core::time::to_local(began).format("%d/%m/%Y %H:%M"));
    line("All records", &l.total);
    for p in &l.by_kind {
        line(&p.label, &p.counts);
    }
    println!("By day:");
    for p in &l.by_day {
        line(&p.label, &p.counts);
    }
    if a.missing {
        println!("Not yet entered in the PMS ({}):", l.matching);
        for e in &l.entries {
            let again = if e.changed_since_marked { " (changed since it was marked)" } else { "" };
            println!("  {}  {:<14} {}{again}", e.id, e.kind, e.summary);
        }
    }
    if rejected > 0 {
        return Err(fail(
            format!("{rejected} rows rejected: the good rows were marked; correct the others and give the file again"),
            ROWS_REJECTED,
        ));
    }
    Ok(())
}

/// Exit code when an import rejected rows (whether or not the good rows were written).
const ROWS_REJECTED: u8 = 9;

fn import(store: &Store, session: &Session, a: &ImportArgs) -> Result<(), Failure> {
    use lifeboat_core::import::{self, columns::ImportKind, ImportOptions};
    let kind = ImportKind::parse(&a.kind)
        .ok_or_else(|| fail("the kind must be clients, patients, appointments, products or history", 2))?;
    let read =
        |path: &PathBuf| std::fs::read(path).map_err(|e| fail(format!("cannot read {}: {e}", path.display()), 4));
    let bytes = read(&a.file)?;
    let name = a.file.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let mapping = match &a.mapping {
        Some(path) => Some(
            serde_json::from_slice(&read(path)?)
                .map_err(|e| fail(format!("{} is not a mapping file: {e}", path.display()), 4))?,
        ),
        None => None,
    };
    if a.preview {
        let p = store.preview_import(session, kind, &name, &bytes, mapping.as_ref())?;
        println!("{name}: {} rows, {}, {:?}-separated", p.rows, p.encoding, p.delimiter);
        for c in &p.columns {
            println!("  {:<28} -> {}", c.heading, c.label.as_deref().unwrap_or("(not imported)"));
        }
        if let Some(problem) = &p.problem {
            return Err(fail(problem.clone(), 4));
        }
        for row in &p.sample {
            match &row.problem {
                Some(r) => println!("line {}: rejected ({}): {}", row.line, r.column, r.reason),
                None => println!(
                    "line {}: {}",
                    row.line,
                    row.values.iter().map(|(k, v)| format!("{k}: {v}")).collect::<Vec<_>>().join("; ")
                ),
            }
            for w in &row.warnings {
                println!("line {}: note ({}): {}", row.line, w.column, w.reason);
            }
        }
        return Ok(());
    }
    let options = ImportOptions { all_or_nothing: a.all_or_nothing, mapping };
    let interactive = std::io::stderr().is_terminal();
    let (report, table) = store.import_file(session, kind, &name, &bytes, &options, |done, total| {
        if interactive {
            eprint!("\r{done} of {total} rows read");
            if done == total {
                eprint!("; writing the journal and audit entries…");
            }
        }
    })?;
    if interactive {
        eprintln!();
    }
    let (added, updated) =
        if report.applied { ("added", "updated") } else { ("would have been added", "would have been updated") };
    println!(
        "{}: {} rows: {} {added}, {} {updated}, {} already up to date, {} kept as changed in Lifeboat, {} repeated rows, {} rejected.",
        report.file,
        report.rows,
        report.added,
        report.updated,
        report.unchanged,
        report.kept_local,
        report.repeated,
        report.rejected.len()
    );
    for w in &report.warnings {
        println!("{name}, line {}, column {:?}: {}", w.line, w.column, w.reason);
    }
    if !report.ignored_columns.is_empty() {
        println!("Columns not imported: {}.", report.ignored_columns.join(", "));
    }
    for r in &report.rejected {
        let column = if r.column.is_empty() { String::new() } else { format!(", column {:?}", r.column) };
        println!("{name}, line {}{column}: {}", r.line, r.reason);
    }
    if let Some(path) = &a.rejects {
        let csv = import::rejects_csv(&table, &report)?;
        std::fs::write(path, csv).map_err(|e| fail(format!("cannot write {}: {e}", path.display()), 1))?;
        println!("The rejected rows are in {}.", path.display());
    }
    if report.rejected.is_empty() {
        return Ok(());
    }
    let what = if report.applied {
        "the good rows were imported; correct the rejected ones and import the file again"
    } else {
        "nothing was imported (all or nothing)"
    };
    Err(fail(format!("{} rows rejected: {what}", report.rejected.len()), ROWS_REJECTED))
}

fn local_time(at: chrono::DateTime<chrono::Utc>) -> String {
    lifeboat_core::time::to_local(at).format("%a %-d %b %Y %H:%M").to_string()
}

fn human_bytes(bytes: u64) -> String {
    match bytes {
        b if b >= 1 << 20 => format!("{:.1} MB", b as f64 / f64::from(1 << 20)),
        b => format!("{} kB", b.div_ceil(1024)),
    }
}

fn print_backup(b: &backup::BackupSummary) {
    let c = &b.counts;
    println!("Backup taken {} ({})", local_time(b.taken_at), human_bytes(b.bytes));
    println!("  practice: {}", b.practice.as_deref().unwrap_or("(not set up)"));
    if let Some(at) = b.last_change {
        println!("  last change: {}", local_time(at));
    }
    println!(
        "  {} clients, {} animals, {} appointments, {} consultations, {} prescriptions, {} payments, {} staff",
        c.clients, c.animals, c.appointments, c.consultations, c.prescriptions, c.payments, c.staff
    );
    println!("  checked: page checksums, integrity and the audit chain ({} entries)", c.audit_entries);
}

fn open_existing(config: StoreConfig) -> Result<Store, Failure> {
    if !config.database.exists() {
        return Err(fail(
            format!(
                "there is no database at {}; create one with `lifeboat init` or pass --data-dir",
                config.database.display()
            ),
            6,
        ));
    }
    match Store::open(config.clone(), Arc::new(SystemClock)) {
        // Asked for once, on a terminal, where the key is sealed with this PC's passphrase.
        Err(e) if e.code() == ErrorCode::PassphraseNeeded && std::io::stdin().is_terminal() => {
            let typed = rpassword::prompt_password("This PC's Lifeboat passphrase: ")
                .map_err(|e| fail(format!("could not read the passphrase: {e}"), 1))?;
            Ok(Store::open(config.with_passphrase(Passphrase::typed(&typed)?), Arc::new(SystemClock))?)
        }
        opened => Ok(opened?),
    }
}

/// Takes the data folder for a command that must not run beside the desktop app or another such
/// command (changing the key, restoring): refused with exit code 11 while one has it.
fn lock_folder(dir: &std::path::Path) -> Result<lifeboat_core::store::folder_lock::FolderLock, Failure> {
    Ok(lifeboat_core::store::folder_lock::FolderLock::acquire(dir, std::time::Duration::from_secs(2))?)
}

/// Opens or creates a database for `init` and `demo`. A database that exists but holds no practice
/// yet (an earlier attempt refused its input) is used again; one with a practice is refused by the core.
fn open_new(config: StoreConfig) -> Result<Store, Failure> {
    let store = Store::open(config, Arc::new(SystemClock))?;
    if store.has_practice()? {
        return Err(fail(
            format!("{} already holds a practice; nothing was changed", store.config().database.display()),
            4,
        ));
    }
    Ok(store)
}

fn find_staff(store: &Store, session: &Session, username: &str) -> Result<lifeboat_core::Staff, Failure> {
    let username = username.trim().to_lowercase();
    store
        .list_staff(session)?
        .into_iter()
        .find(|s| s.username == username)
        .ok_or_else(|| fail(format!("there is no staff account {username:?}; see `lifeboat staff list`"), 4))
}

fn login(store: &Store, acting: &Acting, secrets: &mut Secrets) -> Result<Session, Failure> {
    let password = secrets.read("LIFEBOAT_PASSWORD", &format!("Password for {}", acting.user))?;
    Ok(store.login(&acting.user, &password)?)
}

/// Reads passwords from the environment, a terminal prompt, or standard input lines.
#[derive(Default)]
struct Secrets {
    stdin_lines: Option<std::io::Lines<std::io::StdinLock<'static>>>,
}

impl Secrets {
    fn read(&mut self, env: &str, prompt: &str) -> Result<String, Failure> {
        if let Ok(value) = std::env::var(env) {
            return Ok(value);
        }
        if std::io::stdin().is_terminal() {
            return rpassword::prompt_password(format!("{prompt}: "))
                .map_err(|e| fail(format!("could not read the password: {e}"), 1));
        }
        let lines = self.stdin_lines.get_or_insert_with(|| std::io::stdin().lock().lines());
        match lines.next() {
            Some(Ok(line)) => Ok(line.trim_end_matches('\r').to_string()),
            _ => Err(fail(format!("{prompt}: none given; set {env} or pass it on standard input"), 2)),
        }
    }
}
