//! Automatic backups of the real records: every hour while the app runs (skipped while nothing has
//! changed) and when it closes, into the `backups` folder beside the database, each then copied to
//! the folder the practice chose (a USB stick) if it chose one. The work is the core's
//! (`store::backup`); this keeps the schedule and what the last attempt said.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use lifeboat_core::store::backup::BackupSummary;
use lifeboat_core::Store;

/// The local setting naming the folder copies go to.
pub const COPY_FOLDER_SETTING: &str = "backup_copy_folder";

#[derive(Default)]
struct Last {
    /// The change mark of the last backup: nothing has changed while it stands.
    mark: Option<(u64, u64)>,
    error: Option<String>,
    copy_error: Option<String>,
}

pub struct BackupHost {
    pub dir: PathBuf,
    last: Mutex<Last>,
    /// One backup at a time (the hour, the close and "Back up now" may meet).
    running: Mutex<()>,
}

impl BackupHost {
    pub fn new(dir: PathBuf) -> Arc<BackupHost> {
        Arc::new(BackupHost { dir, last: Mutex::new(Last::default()), running: Mutex::new(()) })
    }

    /// Backs up `store` unless nothing has changed since the last backup (`forced`: always), then
    /// copies the backup to the chosen folder (`copy`; not as the app closes, which must not wait
    /// on a slow stick). What went wrong is kept for the backups card, and logged by its code only.
    pub fn back_up(&self, store: &Store, forced: bool, copy: bool) -> lifeboat_core::Result<Option<BackupSummary>> {
        let _one = self.running.lock().unwrap_or_else(|e| e.into_inner());
        let mark = store.change_mark()?;
        // The mark of the last backup, remembered in the database across restarts.
        let last_mark = self.last().mark.or_else(|| store.last_backup_mark().ok().flatten());
        if !forced && last_mark == Some(mark) {
            // Nothing new to back up; a copy folder plugged in since still gets the newest backup.
            if copy {
                self.copy_newest_if_missing(store);
            }
            return Ok(None);
        }
        let taken = match store.back_up(&self.dir) {
            Ok(taken) => taken,
            Err(e) => {
                eprintln!("lifeboat: a backup failed ({})", e.code().as_str());
                let error = e.to_string();
                // Kept for the next start too (best effort: a full disk may refuse it as well).
                let _ = store.note_backup_error(Some(&error));
                self.update(|l| l.error = Some(error));
                return Err(e);
            }
        };
        self.update(|l| {
            l.mark = Some(mark);
            l.error = None;
        });
        if store.note_backup_mark(mark).and_then(|()| store.note_backup_error(None)).is_err() {
            eprintln!("lifeboat: the last backup's mark could not be noted");
        }
        if let Some(folder) = copy.then(|| copy_folder(store)).flatten() {
            self.copy(store, &taken, &folder);
        }
        Ok(Some(taken))
    }

    fn copy(&self, store: &Store, backup: &BackupSummary, folder: &std::path::Path) {
        let copied = store.copy_backup(backup, folder);
        if let Err(e) = &copied {
            eprintln!("lifeboat: copying a backup failed ({})", e.code().as_str());
        }
        self.update(|l| l.copy_error = copied.err().map(|e| e.to_string()));
    }

    /// Copies the newest backup to the chosen folder if it is not there yet (a stick plugged in
    /// after the last backup). Checked whole before it is copied.
    fn copy_newest_if_missing(&self, store: &Store) {
        let Some(folder) = copy_folder(store) else { return };
        let Some(newest) = lifeboat_core::store::backup::list(&self.dir).ok().and_then(|l| l.into_iter().next()) else {
            return;
        };
        if !folder.is_dir() || folder.join(&newest.name).exists() {
            return;
        }
        match lifeboat_core::store::backup::inspect(&newest.path, store.config()) {
            Ok(summary) => self.copy(store, &summary, &folder),
            Err(e) => eprintln!("lifeboat: the newest backup could not be checked for copying ({})", e.code().as_str()),
        }
    }

    /// What the last attempt said went wrong: the backup's (this run's, or as noted before the
    /// last restart, such as a backup as the app closed), and the copy's.
    pub fn errors(&self, store: Option<&Store>) -> (Option<String>, Option<String>) {
        let last = self.last();
        let error = last.error.clone().or_else(|| {
            if last.mark.is_some() {
                return None;
            }
            store.and_then(|s| s.last_backup_error().ok().flatten())
        });
        (error, last.copy_error.clone())
    }

    fn last(&self) -> std::sync::MutexGuard<'_, Last> {
        self.last.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn update(&self, f: impl FnOnce(&mut Last)) {
        f(&mut self.last());
    }
}

/// The folder the practice chose for copies on this PC, if it chose one.
pub fn copy_folder(store: &Store) -> Option<PathBuf> {
    store.local_setting(COPY_FOLDER_SETTING).ok().flatten().filter(|s| !s.is_empty() && s != "-").map(PathBuf::from)
}

/// Backs up two minutes after start and then every hour (not while a demo practice is still being
/// generated). A panic ends that attempt, not the schedule.
pub fn start_schedule(store: Arc<Store>, host: Arc<BackupHost>, preparing: Arc<Mutex<Option<String>>>) {
    std::thread::spawn(move || {
        std::thread::sleep(Duration::from_secs(120));
        loop {
            let generating = preparing.lock().unwrap_or_else(|e| e.into_inner()).is_some();
            let attempt = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                (!generating).then(|| host.back_up(&store, false, true))
            }));
            if attempt.is_err() {
                eprintln!("lifeboat: a backup stopped on an internal error");
            }
            std::thread::sleep(Duration::from_secs(3600));
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A backup that failed (as the app closed, say) is still reported after a restart, until a
    /// backup succeeds.
    #[test]
    fn a_failed_backup_is_reported_after_a_restart_until_one_succeeds() {
        let dir = tempfile::TempDir::new().unwrap();
        let config = lifeboat_core::StoreConfig::in_dir(dir.path()).with_keys(lifeboat_core::KeyAccess::default());
        let store = Store::open(config.clone(), Arc::new(lifeboat_core::SystemClock)).unwrap();
        store.create_practice(&lifeboat_core::example::practice_setup("admin", "a long password")).unwrap();
        // A file where the backups folder should be: the backup cannot be made.
        let blocked = dir.path().join("not-a-folder");
        std::fs::write(&blocked, b"x").unwrap();
        let host = BackupHost::new(blocked);
        assert!(host.back_up(&store, true, false).is_err());
        let (error, _) = host.errors(Some(&store));
        let error = error.expect("the failure is reported");
        drop((host, store));

        // The next start: a new host, the store opened again.
        let store = Store::open(config, Arc::new(lifeboat_core::SystemClock)).unwrap();
        let host = BackupHost::new(dir.path().join("backups"));
        assert_eq!(host.errors(Some(&store)).0.as_deref(), Some(error.as_str()));
        host.back_up(&store, true, false).unwrap();
        assert_eq!(host.errors(Some(&store)).0, None, "a backup that succeeded clears it");
        drop(host);
        let host = BackupHost::new(dir.path().join("backups"));
        assert_eq!(host.errors(Some(&store)).0, None, "and it stays cleared after a restart");
    }
}
