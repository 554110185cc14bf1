//! Backups of the database, and putting one back.
//!
//! A backup is taken with SQLite's backup API from a read snapshot (so writes go on beside it) into a
//! temporary file in the backups folder, encrypted with the database's own key. It is then opened
//! and checked — SQLite's integrity check, every page's HMAC, the row counts of the snapshot it was
//! taken from, the audit chain against the journal — and only then renamed to its final name. A
//! backup that fails a check is deleted and reported; a backup that is listed has passed them.
//!
//! Generations: the newest [`KEEP_NEWEST`] backups are kept, and of older ones the newest of each day
//! for [`KEEP_DAYS`] days. The same rule thins a copy folder (a USB stick).
//!
//! Restoring never deletes: the database it replaces (with its WAL) is moved into `replaced/<when>/`
//! in the data folder, and the restored database takes a new node id at once, since the changes the
//! replaced database made after the backup may already be on other PCs under its old numbers.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use chrono::{DateTime, NaiveDateTime, Utc};
use rusqlite::{Connection, OpenFlags};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::error::{Error, Result};
use crate::store::audit::{self, AuditReport};
use crate::store::clock::Clock;
use crate::store::database::{check_format, companions, describe, is_damage, Store, StoreConfig, NAME_TIME};
use crate::store::keyfile::{self, DatabaseKey, KeyFile};
use crate::store::migrations::{self, SCHEMA_VERSION};

/// Backups are named `lifeboat-backup-<UTC time>.db`, a name no practice file has.
pub const BACKUP_PREFIX: &str = "lifeboat-backup-";
pub const BACKUP_SUFFIX: &str = ".db";
/// How many of the newest backups are always kept.
pub const KEEP_NEWEST: usize = 24;
/// For how many days the newest backup of each day is kept.
pub const KEEP_DAYS: i64 = 14;
pub use crate::store::database::REPLACED_FOLDER;
/// The file that asks the next start to put a backup back (the desktop app restarts to restore, so
/// that nothing has the database open while it is replaced).
pub const PENDING_RESTORE_FILE: &str = "restore-pending.json";
/// The request of a restore while it runs (see [`finish_staged_restore`]).
pub const RUNNING_RESTORE_FILE: &str = "restore-running.json";

/// The counts a backup is checked against, and what the restore flow shows. Counts only: no names.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct BackupCounts {
    pub clients: u64,
    pub animals: u64,
    pub appointments: u64,
    pub consultations: u64,
    pub prescriptions: u64,
    pub payments: u64,
    pub staff: u64,
    pub journal_entries: u64,
    pub audit_entries: u64,
}

/// What a backup holds, read from the backup itself.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct BackupSummary {
    /// The file's name in its folder.
    pub name: String,
    #[cfg_attr(feature = "ts", ts(type = "string"))]
    pub path: PathBuf,
    pub taken_at: DateTime<Utc>,
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub bytes: u64,
    pub schema_version: u32,
    /// The practice's name, if it had been set up.
    pub practice: Option<String>,
    /// The time of the last change it holds.
    pub last_change: Option<DateTime<Utc>>,
    pub counts: BackupCounts,
}

/// A backup in a folder, as listed (from its name and size; [`inspect`] opens it).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct BackupFile {
    pub name: String,
    #[cfg_attr(feature = "ts", ts(type = "string"))]
    pub path: PathBuf,
    pub taken_at: DateTime<Utc>,
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub bytes: u64,
}

/// What a restore did.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Restored {
    pub backup: BackupSummary,
    /// Where the database it replaced was kept, if there was one.
    #[cfg_attr(feature = "ts", ts(type = "string | null"))]
    pub replaced: Option<PathBuf>,
    /// The node id the restored database now makes its changes under.
    pub node_id: Uuid,
}

/// What the restored database remembers of its restore, for managers to see.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct RestoreNote {
    /// The backup's file name.
    pub backup: String,
    pub taken_at: DateTime<Utc>,
    pub restored_at: DateTime<Utc>,
    /// Where the replaced database was kept, if there was one.
    pub replaced: Option<String>,
}

#[derive(Serialize, Deserialize)]
struct PendingRestore {
    backup: PathBuf,
}

fn io(action: &'static str, path: &Path) -> impl FnOnce(std::io::Error) -> Error {
    let path = path.to_path_buf();
    move |source| Error::Io { action, path, source }
}

impl Store {
    /// Checks that `session` may see and manage this PC's backups (managers and admins).
    pub fn authorize_backups(&self, session: &crate::session::Session) -> Result<()> {
        self.read_as(session, crate::permission::Action::ManageBackups, |_| Ok(()))
    }

    /// Takes a backup into `dir` (created if need be), checks it, and thins the folder's older
    /// generations. Refused in a drill's copy: a drill's records are not backed up with the real ones.
    pub fn back_up(&self, dir: &Path) -> Result<BackupSummary> {
        self.refuse_in_drill("a backup")?;
        std::fs::create_dir_all(dir).map_err(io("creating the backups folder", dir))?;
        let now = self.clock.now();
        let tmp = dir.join(format!(".{BACKUP_PREFIX}{}.partial", self.clock.new_id().simple()));
        let taken = (|| -> Result<BackupSummary> {
            let key = self.database_key();
            let expected = self.copy_snapshot(&key, &tmp)?;
            let summary = check_backup(&tmp, &key, now)?;
            if summary.counts != expected {
                return Err(Error::Internal(format!(
                    "the backup does not hold what the database held when it was taken ({:?} against {expected:?})",
                    summary.counts
                )));
            }
            let path = free_name(dir, now);
            std::fs::rename(&tmp, &path).map_err(io("saving the backup", &path))?;
            // Its own key file: its key sealed with the recovery key, to open it on another PC.
            self.write_backup_key_file(&path)?;
            sync_folder(dir);
            let name = path.file_name().unwrap_or_default().to_string_lossy().into_owned();
            Ok(BackupSummary { name, path, ..summary })
        })();
        if taken.is_err() {
            let _ = std::fs::remove_file(&tmp);
        }
        let taken = taken.map_err(|e| match e {
            // The copy is faithful, so what fails its check is the database itself.
            Error::Corrupt { detail, .. } => Error::Corrupt {
                path: self.config().database.clone(),
                detail: format!("found while backing it up, {detail}"),
            },
            // A full disk here is the backups folder's (the database was only read).
            other => other.on_disk_of(dir),
        })?;
        // While a restore waits for the restart, the backup it names is never thinned away.
        if !pending_file(self.config()).exists() {
            thin(dir, now);
        }
        sweep_partials(dir);
        Ok(taken)
    }

    /// Whether this database holds nothing at all: no practice, no change in its journal, no sync
    /// server paired (a new PC). Such a PC may be filled from a backup before anyone signs in.
    pub fn holds_nothing(&self) -> Result<bool> {
        self.read(|r| {
            Ok(r.query_row(
                "SELECT NOT EXISTS (SELECT 1 FROM practice) AND NOT EXISTS (SELECT 1 FROM journal)
                        AND NOT EXISTS (SELECT 1 FROM sync_peer)",
                [],
                |row| row.get::<_, bool>(0),
            )?)
        })
    }

    /// The last restore of this database, if it was put back from a backup.
    pub fn last_restore(&self) -> Result<Option<RestoreNote>> {
        Ok(self.backup_note("last_restore")?.and_then(|t| serde_json::from_str(&t).ok()))
    }

    fn note_restore(&self, note: &RestoreNote) -> Result<()> {
        let text = serde_json::to_string(note).map_err(|e| Error::Internal(e.to_string()))?;
        self.note_for_backups("last_restore", &text)
    }

    /// The change mark noted at the last backup this PC took, if any (see [`Store::change_mark`]).
    pub fn last_backup_mark(&self) -> Result<Option<(u64, u64)>> {
        Ok(self.backup_note("last_backup_mark")?.and_then(|t| {
            let (a, b) = t.split_once(':')?;
            Some((a.parse().ok()?, b.parse().ok()?))
        }))
    }

    /// Notes the change mark of the backup just taken (a setting of this PC, never synced).
    pub fn note_backup_mark(&self, mark: (u64, u64)) -> Result<()> {
        self.note_for_backups("last_backup_mark", &format!("{}:{}", mark.0, mark.1))
    }

    /// Whether the backup at `path` is this database's (under one of the keys its key file lists,
    /// found by the salt at the start of the file).
    fn is_own_backup(&self, path: &Path) -> bool {
        let known = KeyFile::read(&self.config().key_file).ok();
        keyfile::salt_of_file(path).is_some_and(|salt| known.is_some_and(|k| k.knows(&salt)))
    }

    /// Why this PC's last backup failed, if it did (kept across restarts: a backup as the app closes
    /// is seen failed only at the next start).
    pub fn last_backup_error(&self) -> Result<Option<String>> {
        Ok(self.backup_note("last_backup_error")?.filter(|e| !e.is_empty()))
    }

    /// Notes why the last backup failed (`None`: it succeeded).
    pub fn note_backup_error(&self, error: Option<&str>) -> Result<()> {
        self.note_for_backups("last_backup_error", error.unwrap_or(""))
    }

    /// What backups and restores note of themselves in this PC's own settings (never synced, and no
    /// practice data: no journal or audit entry).
    fn backup_note(&self, key: &str) -> Result<Option<String>> {
        use rusqlite::OptionalExtension;
        self.read(|r| {
            Ok(r.query_row("SELECT value FROM local_setting WHERE key = ?1", [key], |row| row.get(0)).optional()?)
        })
    }

    fn note_for_backups(&self, key: &str, value: &str) -> Result<()> {
        self.lock_writer().execute(
            "INSERT INTO local_setting (key, value) VALUES (?1, ?2) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            [key, value],
        )?;
        Ok(())
    }

    /// A mark that moves whenever the database changes (a change made here or received): a
    /// scheduled backup is skipped while it stands still.
    pub fn change_mark(&self) -> Result<(u64, u64)> {
        self.read(|r| {
            Ok(r.query_row(
                "SELECT (SELECT count(*) FROM journal), (SELECT coalesce(max(seq), 0) FROM audit)",
                [],
                |row| Ok((row.get::<_, i64>(0)? as u64, row.get::<_, i64>(1)? as u64)),
            )?)
        })
    }

    /// Copies a read snapshot into `to` with the backup API, and returns the snapshot's counts.
    fn copy_snapshot(&self, key: &DatabaseKey, to: &Path) -> Result<BackupCounts> {
        let flags = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let source = Connection::open_with_flags(&self.config().database, flags)?;
        source.pragma_update(None, "key", key.pragma_value())?;
        source.execute_batch("PRAGMA busy_timeout = 5000; PRAGMA temp_store = MEMORY; BEGIN")?;
        // The counts and the copy come from the same snapshot: the read transaction is held across both.
        let counts = counts(&source)?;
        let mut target = create_owner_only(to, key)?;
        {
            use rusqlite::backup::StepResult;
            let backup = rusqlite::backup::Backup::new(&source, &mut target)?;
            // All pages in one step, inside the snapshot the source holds (busy: the target only).
            let mut tries = 0;
            loop {
                match backup.step(-1)? {
                    StepResult::Done => break,
                    StepResult::More | StepResult::Busy | StepResult::Locked if tries < 50 => {
                        tries += 1;
                        std::thread::sleep(std::time::Duration::from_millis(100));
                    }
                    _ => {
                        return Err(Error::Conflict(
                            "the database is busy and could not be backed up; it will be tried again".into(),
                        ))
                    }
                }
            }
        }
        source.execute_batch("COMMIT")?;
        // The copy is one file: WAL is for the live database, and the copy's header says WAL too.
        let mode: String = target.query_row("PRAGMA journal_mode = DELETE", [], |r| r.get(0))?;
        if !mode.eq_ignore_ascii_case("delete") {
            return Err(Error::Internal(format!("the backup's journal could not be set to one file (got {mode})")));
        }
        target.close().map_err(|(_, e)| Error::Storage(e))?;
        let file = std::fs::OpenOptions::new().write(true).open(to).map_err(io("opening the backup", to))?;
        file.sync_all().map_err(io("writing the backup to disk", to))?;
        Ok(counts)
    }

    /// Copies a backup into `folder` (a USB stick, a network share): to a temporary name, flushed to
    /// the device, checked by reading it back, then renamed. The folder is thinned like the backups
    /// folder, of this database's backups only: several PCs may share one folder, and a copy never
    /// takes the name of another PC's backup, nor thins it away. The copy is as encrypted as the
    /// backup.
    pub fn copy_backup(&self, backup: &BackupSummary, folder: &Path) -> Result<PathBuf> {
        if !folder.is_dir() {
            return Err(Error::NotFound(format!(
                "the folder for copies of backups, {}, (a USB stick not plugged in?)",
                folder.display()
            )));
        }
        // Another PC's backup of the same second keeps its name; this copy takes the next.
        let own = |path: &Path| self.is_own_backup(path);
        let target = match folder.join(&backup.name) {
            taken if taken.exists() && !own(&taken) => free_name(folder, backup.taken_at),
            target => target,
        };
        let tmp = folder.join(format!(".{}.partial", backup.name));
        let copied = (|| -> Result<()> {
            std::fs::copy(&backup.path, &tmp).map_err(io("copying the backup", folder))?;
            let file = std::fs::OpenOptions::new().write(true).open(&tmp).map_err(io("copying the backup", folder))?;
            file.sync_all().map_err(io("writing the copy of the backup to disk", folder))?;
            let key = backup_key(&backup.path, self.config())?;
            let copy = check_backup(&tmp, &key, backup.taken_at)?;
            if copy.counts != backup.counts {
                return Err(Error::Io {
                    action: "checking the copy of the backup",
                    path: folder.to_path_buf(),
                    source: std::io::Error::other("the copy read back does not match the backup"),
                });
            }
            // Its key file goes with it, before it (the key sealed with the recovery key: nothing
            // in the clear), so that a copy never stands without it.
            let own = keyfile::backup_key_file(&backup.path);
            if own.exists() {
                let body = std::fs::read_to_string(&own).map_err(io("reading the backup's key file", &own))?;
                keyfile::write_replacing(
                    &keyfile::backup_key_file(&target),
                    &body,
                    &self.clock.new_id().simple().to_string(),
                )?;
            }
            std::fs::rename(&tmp, &target).map_err(io("saving the copy of the backup", folder))?;
            sync_folder(folder);
            Ok(())
        })();
        if copied.is_err() {
            let _ = std::fs::remove_file(&tmp);
        }
        copied?;
        thin_only(folder, self.clock.now(), &own);
        Ok(target)
    }
}

impl Store {
    /// Writes, beside each backup in `dir` whose key this database knows, the backup's own key
    /// file: its key sealed with the recovery key, so that it opens on another PC. A key file that
    /// cannot be written is an error (the caller said the recovery key opens these backups).
    pub(crate) fn write_backup_key_files(&self, file: &KeyFile, dir: &Path) -> Result<()> {
        for found in list(dir)? {
            let Some(salt) = keyfile::salt_of_file(&found.path) else { continue };
            if let Some(body) = file.for_backup(&salt) {
                keyfile::write_replacing(
                    &keyfile::backup_key_file(&found.path),
                    &body,
                    &self.clock.new_id().simple().to_string(),
                )?;
            }
        }
        Ok(())
    }

    /// Writes the key file of one backup just taken or copied (see [`Store::write_backup_key_files`]).
    pub(crate) fn write_backup_key_file(&self, backup: &Path) -> Result<()> {
        let file = KeyFile::read(&self.config().key_file)?;
        let Some(salt) = keyfile::salt_of_file(backup) else { return Ok(()) };
        match file.for_backup(&salt) {
            Some(body) => keyfile::write_replacing(
                &keyfile::backup_key_file(backup),
                &body,
                &self.clock.new_id().simple().to_string(),
            ),
            None => Ok(()),
        }
    }
}

/// The key of a backup file: from the database's key file if it knows the backup's salt (this PC,
/// or a PC the database was opened on), otherwise from the backup's own key file with the
/// recovery key in `config`.
pub(crate) fn backup_key(backup: &Path, config: &crate::StoreConfig) -> Result<DatabaseKey> {
    let salt = keyfile::salt_of_file(backup)
        .ok_or_else(|| Error::NotADatabase { path: backup.to_path_buf(), reason: "the file is too short".into() })?;
    if config.key_file.exists() {
        let file = KeyFile::read(&config.key_file)?;
        if file.knows(&salt) {
            return Ok(file.unlock(&salt, &config.keys, backup)?.0);
        }
    }
    let own = keyfile::backup_key_file(backup);
    if own.exists() {
        let file = KeyFile::read(&own)?;
        if file.knows(&salt) {
            return Ok(file.unlock(&salt, &config.keys, backup)?.0);
        }
    }
    Err(Error::WrongKey { database: backup.to_path_buf(), key_file: config.key_file.clone() })
}

/// The backups in `dir`, newest first. Only files named as backups are listed; a missing folder
/// holds none.
pub fn list(dir: &Path) -> Result<Vec<BackupFile>> {
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(io("reading the backups folder", dir)(e)),
    };
    let mut found = Vec::new();
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let Some(taken_at) = time_of(&name) else { continue };
        let Ok(meta) = entry.metadata() else { continue };
        if meta.is_file() {
            found.push(BackupFile { name, path: entry.path(), taken_at, bytes: meta.len() });
        }
    }
    found.sort_by(|a, b| b.taken_at.cmp(&a.taken_at).then_with(|| b.name.cmp(&a.name)));
    Ok(found)
}

/// Opens a backup read-only and says what it holds, after checking it whole (integrity, every
/// page's HMAC, the audit chain). Changes nothing. Its key comes from the key file in `config`, or,
/// for a backup of a database this PC does not know, from the backup's own key file with the
/// recovery key in `config`.
pub fn inspect(backup: &Path, config: &StoreConfig) -> Result<BackupSummary> {
    let taken_at = backup.file_name().and_then(|n| time_of(&n.to_string_lossy())).ok_or_else(|| Error::Invalid {
        field: "backup".into(),
        reason: format!("{} is not named as a Lifeboat backup (lifeboat-backup-<time>.db)", backup.display()),
    })?;
    check_format(backup)?;
    let key = backup_key(backup, config)?;
    check_backup(backup, &key, taken_at)
}

/// Puts `backup` in place of the database in `config`, which nothing may have open. The backup is
/// checked whole first; the database it replaces is moved, with its WAL, into `replaced/<when>/`
/// beside it and never deleted. The restored database takes a new node id.
pub fn restore(config: &StoreConfig, backup: &Path, clock: std::sync::Arc<dyn Clock>) -> Result<Restored> {
    let summary = inspect(backup, config)?;
    let key = backup_key(backup, config)?;
    if summary.schema_version > SCHEMA_VERSION {
        return Err(Error::TooNew { found: summary.schema_version, supported: SCHEMA_VERSION });
    }
    let data_dir = config.database.parent().map(Path::to_path_buf).unwrap_or_default();
    // The copy is made under `.restoring`, and renamed `.restored` once it is whole and final.
    let restoring = config.restoring();
    let restored = config.restored();
    let now = clock.now();
    let present: Vec<PathBuf> = companions(&config.database).into_iter().filter(|p| p.exists()).collect();
    let replaced = (!present.is_empty()).then(|| {
        let mut folder = data_dir.join(REPLACED_FOLDER).join(now.format(NAME_TIME).to_string());
        let mut n = 1;
        while folder.exists() {
            n += 1;
            folder = data_dir.join(REPLACED_FOLDER).join(format!("{}-{n}", now.format(NAME_TIME)));
        }
        folder
    });

    // First the copy is made whole and final beside the database, while the database is untouched:
    // copied owner-only, checked again (the copy, not only its source), opened, given a new node id
    // and told of its restore.
    for leftover in companions(&restoring).into_iter().chain(companions(&restored)) {
        let _ = std::fs::remove_file(leftover);
    }
    let finished = (|| -> Result<Uuid> {
        let mut from = std::fs::File::open(backup).map_err(io("reading the backup", backup))?;
        let mut to = crate::store::keyfile::owner_only_create(&restoring)
            .map_err(io("copying the backup into the data folder", &data_dir))?;
        std::io::copy(&mut from, &mut to).map_err(io("copying the backup into the data folder", &data_dir))?;
        to.sync_all().map_err(io("writing the restored database to disk", &restoring))?;
        drop(to);
        let copy = check_backup(&restoring, &key, summary.taken_at)?;
        if copy.counts != summary.counts {
            return Err(Error::Corrupt { path: restoring.clone(), detail: "the copy differs from the backup".into() });
        }
        // The key file learns the backup's key first, if it came with the backup (another PC's).
        keyfile::learn(
            &config.key_file,
            &key,
            &config.keys,
            &keyfile::backup_key_file(backup),
            &clock.new_id().simple().to_string(),
        )?;
        let staging = StoreConfig { database: restoring.clone(), ..config.clone() };
        let store = Store::open(staging, clock.clone())?;
        let node_id = store.take_new_node_id()?;
        store.note_restore(&RestoreNote {
            backup: summary.name.clone(),
            taken_at: summary.taken_at,
            restored_at: now,
            replaced: replaced.as_ref().map(|p| p.display().to_string()),
        })?;
        drop(store);
        std::fs::rename(&restoring, &restored).map_err(io("finishing the restored copy", &restoring))?;
        Ok(node_id)
    })();
    let node_id = match finished {
        Ok(id) => id,
        Err(e) => {
            for leftover in companions(&restoring).into_iter().chain(companions(&restored)) {
                let _ = std::fs::remove_file(leftover);
            }
            return Err(e);
        }
    };

    // Then the swap: the database and its companions aside, the finished copy into place. A move
    // that fails puts back what was moved. A crash between the two leaves the finished copy, which
    // the next open puts in place (`Store::open`).
    if let Some(folder) = &replaced {
        std::fs::create_dir_all(folder).map_err(io("making a folder for the replaced database", folder))?;
    }
    let mut moved = Vec::new();
    let put_back = |moved: &[(PathBuf, PathBuf)]| {
        for (from, to) in moved.iter().rev() {
            let _ = std::fs::rename(to, from);
        }
    };
    for file in &present {
        let to = replaced.as_ref().map(|f| f.join(file.file_name().unwrap_or_default())).unwrap_or_default();
        if let Err(e) = std::fs::rename(file, &to) {
            put_back(&moved);
            return Err(io("moving the replaced database aside", file)(e));
        }
        moved.push((file.clone(), to));
    }
    if let Err(e) = std::fs::rename(&restored, &config.database) {
        put_back(&moved);
        return Err(io("putting the backup in place", &config.database)(e));
    }
    sync_folder(&data_dir);
    Ok(Restored { backup: BackupSummary { path: backup.to_path_buf(), ..summary }, replaced, node_id })
}

/// Asks the next start to restore `backup` (checked now, and again then). For a shell that restarts
/// to restore, so that nothing has the database open while it is replaced.
pub fn stage_restore(config: &StoreConfig, backup: &Path) -> Result<BackupSummary> {
    let summary = inspect(backup, config)?;
    if summary.schema_version > SCHEMA_VERSION {
        return Err(Error::TooNew { found: summary.schema_version, supported: SCHEMA_VERSION });
    }
    let marker = pending_file(config);
    let body = serde_json::to_vec(&PendingRestore { backup: backup.to_path_buf() })
        .map_err(|e| Error::Internal(e.to_string()))?;
    std::fs::write(&marker, body).map_err(io("asking for the restore", &marker))?;
    // A backup of another PC's database, opened with its recovery key: the key file learns its key
    // now (kept as this PC keeps keys), so that the restore at the next start needs no recovery key.
    // The request is written first and taken back if this fails, so nothing is learned for a
    // restore that was never asked for.
    if config.keys.recovery_key.is_some() {
        let learned = backup_key(backup, config).and_then(|key| {
            let unique = uuid::Uuid::now_v7().simple().to_string();
            keyfile::learn(&config.key_file, &key, &config.keys, &keyfile::backup_key_file(backup), &unique)
        });
        if let Err(e) = learned {
            let _ = std::fs::remove_file(&marker);
            return Err(e);
        }
    }
    Ok(summary)
}

/// Carries out a restore asked for by [`stage_restore`], if there is one. The request is removed
/// whatever the outcome, so a restore that fails is reported once and never retried at every start;
/// except that a restore whose key is not reached (this PC's passphrase not given or mistyped, a
/// recovery key mistyped: [`is_key_refusal`]) is left asked for, to be finished once it is typed.
/// While it runs the request is kept under another name, so that a restore cut short (Lifeboat
/// closed while the copy was upgraded, say) is reported at the next start instead of forgotten.
pub fn finish_staged_restore(config: &StoreConfig, clock: std::sync::Arc<dyn Clock>) -> Option<Result<Restored>> {
    let marker = pending_file(config);
    let running = running_file(config);
    let Ok(body) = std::fs::read(&marker) else {
        // A restore under way when Lifeboat last stopped. The copy is made beside the database and
        // put in its place last, so the records are those of before it, unless it stopped in the
        // last moment, after they were replaced.
        let body = std::fs::read(&running).ok()?;
        let _ = std::fs::remove_file(&running);
        let which = serde_json::from_slice::<PendingRestore>(&body)
            .ok()
            .and_then(|p| p.backup.file_name().map(|n| n.to_string_lossy().into_owned()))
            .unwrap_or_else(|| "asked for".into());
        return Some(Err(Error::Conflict(format!(
            "Lifeboat stopped while it was restoring the backup {which} (closed, or the PC shut down), so the restore may not have finished. If the records shown are not that backup's, ask for the restore again"
        ))));
    };
    // A backup whose key is sealed with this PC's passphrase waits, asked for, until it is typed.
    if let Ok(pending) = serde_json::from_slice::<PendingRestore>(&body) {
        if let Err(e) = backup_key(&pending.backup, config) {
            // Not typed yet, or mistyped: asked for again, the restore still waiting.
            if is_key_refusal(&e) {
                return Some(Err(e));
            }
        }
    }
    let _ = std::fs::remove_file(&running);
    if let Err(e) = std::fs::rename(&marker, &running) {
        // Never restore again at every start: if the request cannot be moved, it is not carried out.
        let _ = std::fs::remove_file(&marker);
        return Some(Err(io("removing the request to restore (it was not carried out)", &marker)(e)));
    }
    let pending: PendingRestore = match serde_json::from_slice(&body) {
        Ok(p) => p,
        Err(_) => {
            let _ = std::fs::remove_file(&running);
            return Some(Err(Error::Internal("the request to restore a backup could not be read".into())));
        }
    };
    let restored = restore(config, &pending.backup, clock);
    let _ = std::fs::remove_file(&running);
    Some(restored)
}

/// Whether `e` says the key was not reached (this PC's passphrase not typed or mistyped, a recovery
/// key needed or mistyped): a restore asked for then waits to be asked again.
pub fn is_key_refusal(e: &Error) -> bool {
    matches!(e.code(), crate::ErrorCode::PassphraseNeeded | crate::ErrorCode::KeyNeeded)
        || matches!(e.field(), Some("passphrase" | "recovery key"))
}

fn pending_file(config: &StoreConfig) -> PathBuf {
    config.database.parent().map(Path::to_path_buf).unwrap_or_default().join(PENDING_RESTORE_FILE)
}

/// The request of a restore under way.
fn running_file(config: &StoreConfig) -> PathBuf {
    config.database.parent().map(Path::to_path_buf).unwrap_or_default().join(RUNNING_RESTORE_FILE)
}

/// Which backups in a folder to delete: all but the newest [`KEEP_NEWEST`] and, of the others, the
/// newest of each day within [`KEEP_DAYS`] days of `now`.
pub fn to_thin(backups: &[BackupFile], now: DateTime<Utc>) -> Vec<PathBuf> {
    let mut newest_first: Vec<&BackupFile> = backups.iter().collect();
    newest_first.sort_by(|a, b| b.taken_at.cmp(&a.taken_at).then_with(|| b.name.cmp(&a.name)));
    let mut days_kept = BTreeSet::new();
    let mut doomed = Vec::new();
    for (i, backup) in newest_first.into_iter().enumerate() {
        if i < KEEP_NEWEST {
            days_kept.insert(backup.taken_at.date_naive());
            continue;
        }
        let recent = now.signed_duration_since(backup.taken_at) <= chrono::Duration::days(KEEP_DAYS);
        if recent && days_kept.insert(backup.taken_at.date_naive()) {
            continue;
        }
        doomed.push(backup.path.clone());
    }
    doomed
}

/// Deletes what [`to_thin`] names, best effort: a backup that cannot be deleted now (held open by a
/// virus scanner, read-only) is left for next time and never stops the others or the backup.
fn thin(dir: &Path, now: DateTime<Utc>) {
    thin_only(dir, now, &|_| true);
}

/// [`thin`], of the backups `keep` says are this database's.
fn thin_only(dir: &Path, now: DateTime<Utc>, own: &dyn Fn(&Path) -> bool) {
    let backups: Vec<BackupFile> = list(dir).unwrap_or_default().into_iter().filter(|b| own(&b.path)).collect();
    for path in to_thin(&backups, now) {
        if std::fs::remove_file(&path).is_ok() {
            let _ = std::fs::remove_file(keyfile::backup_key_file(&path));
        }
    }
}

/// Removes half-made backups left by a process that was stopped while taking one (over an hour old,
/// so never one being made now).
fn sweep_partials(dir: &Path) {
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let old = entry
            .metadata()
            .and_then(|m| m.modified())
            .ok()
            .and_then(|t| t.elapsed().ok())
            .is_some_and(|age| age > std::time::Duration::from_secs(3600));
        if name.starts_with(&format!(".{BACKUP_PREFIX}")) && name.contains(".partial") && old {
            let _ = std::fs::remove_file(entry.path());
        }
    }
}

/// The time in a backup's name, if the name is a backup's.
fn time_of(name: &str) -> Option<DateTime<Utc>> {
    let stem = name.strip_prefix(BACKUP_PREFIX)?.strip_suffix(BACKUP_SUFFIX)?;
    // A second backup within the same second is named `<time>-2`.
    let time = stem.get(..20)?;
    let rest = &stem[20..];
    if !(rest.is_empty()
        || rest.strip_prefix('-').is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit())))
    {
        return None;
    }
    NaiveDateTime::parse_from_str(time, NAME_TIME).ok().map(|t| t.and_utc())
}

fn free_name(dir: &Path, at: DateTime<Utc>) -> PathBuf {
    let stamp = at.format(NAME_TIME);
    let mut path = dir.join(format!("{BACKUP_PREFIX}{stamp}{BACKUP_SUFFIX}"));
    let mut n = 1;
    while path.exists() {
        n += 1;
        path = dir.join(format!("{BACKUP_PREFIX}{stamp}-{n}{BACKUP_SUFFIX}"));
    }
    path
}

/// Opens a (possibly half-made or damaged) backup read-only and checks it whole.
fn check_backup(path: &Path, key: &DatabaseKey, taken_at: DateTime<Utc>) -> Result<BackupSummary> {
    let damaged = |detail: String| Error::Corrupt { path: path.to_path_buf(), detail };
    let flags = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let conn = Connection::open_with_flags(path, flags)?;
    conn.pragma_update(None, "key", key.pragma_value())?;
    conn.execute_batch("PRAGMA query_only = ON; PRAGMA temp_store = MEMORY;")?;
    // The header was checked against the key (salt) before this is called, so a file that cannot
    // be read here is a damaged one, whatever SQLite calls the failure.
    let storage = |e: rusqlite::Error| damaged(if is_damage(&e) { describe(&e) } else { e.to_string() });
    let cipher: Vec<String> = column(&conn, "PRAGMA cipher_integrity_check").map_err(storage)?;
    if !cipher.is_empty() {
        return Err(damaged(format!("{} page(s) fail their checksum", cipher.len())));
    }
    let integrity: Vec<String> = column(&conn, "PRAGMA integrity_check").map_err(storage)?;
    if integrity != ["ok"] {
        return Err(damaged(format!("SQLite's integrity check found: {}", integrity.join("; "))));
    }
    let schema_version = migrations::schema_version(&conn).map_err(|e| match e {
        Error::Storage(inner) => storage(inner),
        other => other,
    })?;
    let own: Vec<Uuid> = column(&conn, "SELECT id FROM node ORDER BY created_at")
        .map_err(storage)?
        .iter()
        .filter_map(|id| Uuid::parse_str(id).ok())
        .collect();
    let report: AuditReport = audit::verify(&conn, &own, None)?;
    if let Some(broken) = &report.first_broken {
        return Err(damaged(format!("its audit chain breaks at entry {}: {}", broken.seq, broken.reason)));
    }
    let practice: Option<String> = conn.query_row("SELECT name FROM practice LIMIT 1", [], |r| r.get(0)).ok();
    let last_change: Option<String> = conn.query_row("SELECT max(at) FROM audit", [], |r| r.get(0)).map_err(storage)?;
    let bytes = std::fs::metadata(path).map_err(io("reading the backup", path))?.len();
    Ok(BackupSummary {
        name: path.file_name().unwrap_or_default().to_string_lossy().into_owned(),
        path: path.to_path_buf(),
        taken_at,
        bytes,
        schema_version,
        practice,
        last_change: last_change.and_then(|t| crate::time::parse_stored(&t).ok()),
        counts: counts(&conn).map_err(|e| match e {
            Error::Storage(inner) => storage(inner),
            other => other,
        })?,
    })
}

fn column(conn: &Connection, sql: &str) -> rusqlite::Result<Vec<String>> {
    let mut stmt = conn.prepare(sql)?;
    let rows = stmt.query_map([], |r| r.get::<_, String>(0))?.collect();
    rows
}

fn counts(conn: &Connection) -> Result<BackupCounts> {
    let count = |table: &str| -> Result<u64> {
        Ok(conn.query_row(&format!("SELECT count(*) FROM {table}"), [], |r| r.get::<_, i64>(0))? as u64)
    };
    Ok(BackupCounts {
        clients: count("client")?,
        animals: count("patient")?,
        appointments: count("appointment")?,
        consultations: count("consultation")?,
        prescriptions: count("prescription")?,
        payments: count("payment")?,
        staff: count("staff")?,
        journal_entries: count("journal")?,
        audit_entries: count("audit")?,
    })
}

/// Creates the backup's file readable only by its owner, then opens it as an encrypted database.
fn create_owner_only(path: &Path, key: &DatabaseKey) -> Result<Connection> {
    crate::store::keyfile::owner_only_create(path).map_err(io("creating the backup", path))?;
    let flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let conn = Connection::open_with_flags(path, flags)?;
    conn.pragma_update(None, "key", key.pragma_value())?;
    Ok(conn)
}

/// Makes a rename in `dir` survive a power cut (Unix: the folder is flushed; Windows has no such
/// call and flushes the folder's entries itself).
fn sync_folder(dir: &Path) {
    #[cfg(unix)]
    if let Ok(d) = std::fs::File::open(dir) {
        let _ = d.sync_all();
    }
    #[cfg(not(unix))]
    let _ = dir;
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(at: &str) -> BackupFile {
        let taken_at = DateTime::parse_from_rfc3339(at).unwrap().with_timezone(&Utc);
        let name = format!("{BACKUP_PREFIX}{}{BACKUP_SUFFIX}", taken_at.format(NAME_TIME));
        BackupFile { path: PathBuf::from(&name), name, taken_at, bytes: 1 }
    }

    #[test]
    fn names_are_read_back_and_other_files_are_not_backups() {
        let f = file("2026-12-01T13:45:07Z");
        assert_eq!(f.name, "lifeboat-backup-2026-12-01T13-45-07Z.db");
        assert_eq!(time_of(&f.name), Some(f.taken_at));
        assert_eq!(time_of("lifeboat-backup-2026-12-01T13-45-07Z-2.db"), Some(f.taken_at));
        for other in [
            "lifeboat.db",
            "lifeboat-backup-2026-12-01T13-45-07Z.db.partial",
            "lifeboat-backup-2026-12-01T13-45-07Z-.db",
            "lifeboat-backup-2026-12-01T13-45-07Z-x.db",
            "lifeboat-backup-2026-13-01T13-45-07Z.db",
            "lifeboat-backup-.db",
            "lifeboat-backup-é.db",
        ] {
            assert_eq!(time_of(other), None, "{other}");
        }
    }

    #[test]
    fn thinning_keeps_the_newest_and_one_a_day_for_a_fortnight() {
        let now = DateTime::parse_from_rfc3339("2026-12-20T12:00:00Z").unwrap().with_timezone(&Utc);
        // Hourly for 30 days, newest last.
        let all: Vec<BackupFile> = (0..30 * 24)
            .map(|h| {
                let at = now - chrono::Duration::hours(h);
                file(&at.to_rfc3339())
            })
            .collect();
        let doomed: BTreeSet<PathBuf> = to_thin(&all, now).into_iter().collect();
        let kept: Vec<&BackupFile> = all.iter().filter(|b| !doomed.contains(&b.path)).collect();
        // The 24 newest (a day's worth, across 2 dates), then one for each older date within 14 days.
        assert!(all[..KEEP_NEWEST].iter().all(|b| !doomed.contains(&b.path)));
        let older: Vec<String> = kept[KEEP_NEWEST..].iter().map(|b| b.taken_at.to_rfc3339()).collect();
        // The 24 newest already cover today and yesterday; each older day keeps its 23:00 backup, back
        // to the 6th (13 days and 13 hours old), and none older.
        let expected: Vec<String> = (2..=14)
            .map(|d| {
                let day = (now - chrono::Duration::days(d)).date_naive();
                day.and_hms_opt(23, 0, 0).unwrap().and_utc().to_rfc3339()
            })
            .collect();
        assert_eq!(older, expected);
        assert_eq!(kept.len(), KEEP_NEWEST + 13);
    }
}
