//! What the desktop shell keeps between commands: the store (or why it could not be opened), the
//! logged-in person, and whether this is a demo. Every command's work runs on a blocking thread
//! (`run`), never on the window's main thread.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use lifeboat_core::{ErrorCode, Session, Store};
use serde::Serialize;

use crate::error::{CommandError, CommandResult};

#[derive(Clone)]
pub struct AppState {
    /// The store, or why it could not be opened. Set once more when a PC's passphrase is typed at
    /// start (`unlock_with_passphrase`); otherwise as opened at start.
    pub opened: Arc<Mutex<Result<Arc<Store>, CommandError>>>,
    pub session: Arc<Mutex<Option<Session>>>,
    /// The screen is locked (idle, or by its user): every command that needs the person refuses
    /// until their password opens it again.
    pub locked: Arc<AtomicBool>,
    /// The PIN that may re-open the locked screen of this session (memory only).
    pub pin: Arc<Mutex<Option<lifeboat_core::organisation::sign_in::UnlockPin>>>,
    pub demo: Arc<Mutex<Option<DemoInfo>>>,
    /// While a demo practice is being generated: how far it has got.
    pub preparing: Arc<Mutex<Option<String>>>,
    pub data_dir: PathBuf,
    /// Where printed documents (PDFs) and bundle files are saved unless the practice chose a folder.
    pub export_dir: PathBuf,
    /// `export_dir` is set by the environment (tests), and a chosen folder does not apply.
    pub exports_fixed: bool,
    /// Background sync and the relay this PC may host (none when the database could not be opened).
    /// It always works on the real records, never on a drill's copy.
    pub sync: Arc<Mutex<Option<Arc<crate::sync::SyncHost>>>>,
    /// The copy a running drill works on: while it is open, every command but the drill's own and
    /// sync's works on it instead of the real records.
    pub drill: Arc<Mutex<Option<Arc<Store>>>>,
    /// This PC's backups of the real records.
    pub backups: Arc<crate::backups::BackupHost>,
    /// Why a restore asked for before the last restart could not be done, if it could not.
    pub restore_failed: Arc<Mutex<Option<CommandError>>>,
    /// This process's hold on the data folder (one Lifeboat at a time on it), for as long as it runs.
    pub folder_lock: Arc<Mutex<Option<lifeboat_core::store::folder_lock::FolderLock>>>,
    /// One opening of the records at a time (at start, off the window's thread; a passphrase or a
    /// recovery key typed at start).
    pub opening: Arc<Mutex<()>>,
    /// The opening at start has not finished (the start screen says the records are being opened).
    pub starting: Arc<AtomicBool>,
    /// How the records' keys are reached once the passphrase typed at start proved right but the
    /// records could not be opened (damaged): the backups offered then open with it.
    pub typed_keys: Arc<Mutex<Option<lifeboat_core::KeyAccess>>>,
}

#[derive(Debug, Clone, Serialize, ts_rs::TS)]
pub struct DemoInfo {
    pub size: String,
    pub password: String,
    /// (username, role) of each demo account.
    pub accounts: Vec<(String, String)>,
}

impl AppState {
    /// The records commands work on: a running drill's copy, or the real ones.
    pub fn store(&self) -> CommandResult<Arc<Store>> {
        match self.drill() {
            Some(copy) => Ok(copy),
            None => self.real_store(),
        }
    }

    /// The real records, even during a drill (to start, end and list drills).
    pub fn real_store(&self) -> CommandResult<Arc<Store>> {
        if let Some(step) = self.preparing() {
            return Err(CommandError::new(
                ErrorCode::Preparing,
                format!("The demo practice is still being prepared ({step})."),
            ));
        }
        self.opened()
    }

    /// The real records as opened at start, or why they could not be.
    pub fn opened(&self) -> CommandResult<Arc<Store>> {
        self.opened.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Background sync and the relay, once the records are open.
    pub fn sync(&self) -> Option<Arc<crate::sync::SyncHost>> {
        self.sync.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    pub fn restore_failed(&self) -> Option<CommandError> {
        self.restore_failed.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// The running drill's copy, if a drill is running.
    pub fn drill(&self) -> Option<Arc<Store>> {
        self.drill.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    pub fn set_drill(&self, copy: Option<Arc<Store>>) {
        *self.drill.lock().unwrap_or_else(|e| e.into_inner()) = copy;
    }

    /// Where printed documents and files are saved: the folder the practice chose for this PC, else
    /// the standard one; a folder of their own during a drill.
    pub fn export_dir(&self) -> PathBuf {
        let folder = match self.real_store() {
            Ok(store) => crate::exports::folder(&store, &self.export_dir, self.exports_fixed),
            Err(_) => self.export_dir.clone(),
        };
        match self.drill() {
            Some(_) => folder.join("Drill"),
            None => folder,
        }
    }

    pub fn preparing(&self) -> Option<String> {
        self.preparing.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    pub fn demo(&self) -> Option<DemoInfo> {
        self.demo.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    pub fn session(&self) -> CommandResult<Session> {
        if self.is_locked() {
            return Err(CommandError::new(ErrorCode::Locked, "The screen is locked: type your password to carry on."));
        }
        self.session_even_if_locked()
    }

    /// The logged-in person, locked or not (to unlock, or to show whose screen it is).
    pub fn session_even_if_locked(&self) -> CommandResult<Session> {
        self.session
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
            .ok_or_else(|| lifeboat_core::Error::NotLoggedIn.into())
    }

    /// Logging in or out also opens the screen.
    /// A new session (or none) forgets the last one's PIN.
    pub fn set_session(&self, session: Option<Session>) {
        *self.session.lock().unwrap_or_else(|e| e.into_inner()) = session;
        *self.pin.lock().unwrap_or_else(|e| e.into_inner()) = None;
        self.locked.store(false, Ordering::SeqCst);
    }

    /// Whether a PIN may open this locked screen.
    pub fn pin_unlocks(&self) -> bool {
        let session = self.session_even_if_locked();
        let pin = self.pin.lock().unwrap_or_else(|e| e.into_inner());
        matches!((session, pin.as_ref()), (Ok(s), Some(p)) if p.is_for(&s))
    }

    pub fn is_locked(&self) -> bool {
        self.locked.load(Ordering::SeqCst)
    }

    /// Opens the screen for `again`, if the session is still that person's (nobody logged out or in
    /// while the password was being checked).
    pub fn unlock_for(&self, again: Session) -> CommandResult<()> {
        let mut session = self.session.lock().unwrap_or_else(|e| e.into_inner());
        if session.as_ref().map(|s| s.staff_id) != Some(again.staff_id) {
            return Err(lifeboat_core::Error::NotLoggedIn.into());
        }
        *session = Some(again);
        self.locked.store(false, Ordering::SeqCst);
        Ok(())
    }

    pub fn set_locked(&self, locked: bool) {
        self.locked.store(locked, Ordering::SeqCst);
    }

    /// Runs `f` with the store and the logged-in person on a blocking thread.
    pub async fn run<T, F>(&self, f: F) -> CommandResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&Store, &Session) -> CommandResult<T> + Send + 'static,
    {
        let store = self.store()?;
        let session = self.session()?;
        blocking(move || f(&store, &session)).await
    }
}

/// Runs `f` on a blocking thread. A panic in it becomes an error for this call, not a dead window.
/// Runs a command's own async code (every command's body is wrapped in it, which a test checks) so
/// that a panic there becomes an `internal` error for that call, reported as such on standard error
/// by the panic hook, instead of a call the window waits on for ever.
pub async fn guarded<T>(work: impl std::future::Future<Output = CommandResult<T>>) -> CommandResult<T> {
    use futures_util::FutureExt;
    match std::panic::AssertUnwindSafe(work).catch_unwind().await {
        Ok(result) => result,
        Err(_) => Err(fault()),
    }
}

fn fault() -> CommandError {
    CommandError::new(
        ErrorCode::Internal,
        "Lifeboat hit a fault doing this. Nothing was half-saved; try again, and if it keeps happening tell your IT support.",
    )
}

pub async fn blocking<T, F>(f: F) -> CommandResult<T>
where
    T: Send + 'static,
    F: FnOnce() -> CommandResult<T> + Send + 'static,
{
    match tauri::async_runtime::spawn_blocking(f).await {
        Ok(result) => result,
        Err(_) => Err(fault()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_panic_in_a_command_s_own_async_code_is_an_internal_error_for_that_call() {
        let runtime = tokio::runtime::Builder::new_current_thread().build().unwrap();
        let answered: CommandResult<u32> = runtime.block_on(guarded(async {
            let list: Vec<u32> = Vec::new();
            Ok(list[std::hint::black_box(3)])
        }));
        let error = answered.unwrap_err();
        assert_eq!(error.code, ErrorCode::Internal);
        assert!(error.message.starts_with("Lifeboat hit a fault doing this."), "{}", error.message);
        let fine: CommandResult<u32> = runtime.block_on(guarded(async { Ok(7) }));
        assert_eq!(fine.unwrap(), 7);
    }
}
