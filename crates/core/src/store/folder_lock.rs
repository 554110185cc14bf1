//! One Lifeboat at a time on a data folder: the desktop app holds an exclusive lock on
//! `lifeboat.lock` in its data folder for as long as it runs, and the command line takes the same
//! lock for what must not run beside it (changing the key, restoring a backup). The operating
//! system releases the lock when the process ends, however it ends, so a crash never leaves the
//! folder locked. The lock file itself holds nothing and is never deleted (deleting it would let
//! a second process lock a new file under the same name).

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::error::{Error, Result};

/// The lock on a data folder, held until dropped.
#[derive(Debug)]
pub struct FolderLock {
    _file: Option<std::fs::File>,
    path: PathBuf,
}

impl FolderLock {
    pub const FILE: &'static str = "lifeboat.lock";

    /// Takes the lock on `dir` (made if missing), waiting up to `patience` for another holder to
    /// let go (the app restarting into a new process). Held by another: `InUse`, naming the folder.
    /// A file system that has no locks (some network shares), or a folder where the lock file
    /// cannot be made (read-only media), cannot guard the folder: the lock is then taken in name
    /// only, and the rest works as before (the database itself says what it can and cannot do).
    pub fn acquire(dir: &Path, patience: Duration) -> Result<FolderLock> {
        let path = dir.join(Self::FILE);
        let opened = std::fs::create_dir_all(dir)
            .and_then(|()| std::fs::OpenOptions::new().read(true).write(true).create(true).truncate(false).open(&path))
            // A lock file this account may only read (made by another account) locks all the same.
            .or_else(|_| std::fs::File::open(&path));
        let Ok(file) = opened else { return Ok(FolderLock { _file: None, path }) };
        let deadline = Instant::now() + patience;
        loop {
            match file.try_lock() {
                Ok(()) => return Ok(FolderLock { _file: Some(file), path }),
                Err(std::fs::TryLockError::WouldBlock) if Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(100))
                }
                Err(std::fs::TryLockError::WouldBlock) => {
                    return Err(Error::InUse { folder: dir.to_path_buf() });
                }
                Err(std::fs::TryLockError::Error(_)) => return Ok(FolderLock { _file: Some(file), path }),
            }
        }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_folder_is_locked_by_one_holder_at_a_time_and_free_again_once_it_lets_go() {
        let dir = tempfile::TempDir::new().unwrap();
        let folder = dir.path().join("database");
        let held = FolderLock::acquire(&folder, Duration::ZERO).unwrap();
        assert!(held.path().exists());
        let second = FolderLock::acquire(&folder, Duration::from_millis(300)).unwrap_err();
        assert_eq!(second.code(), crate::ErrorCode::InUse);
        assert!(second.to_string().contains(&folder.display().to_string()), "{second}");
        // Let go while another waits: the waiter takes it.
        let waiter = {
            let folder = folder.clone();
            std::thread::spawn(move || FolderLock::acquire(&folder, Duration::from_secs(10)).map(|_| ()))
        };
        std::thread::sleep(Duration::from_millis(200));
        drop(held);
        waiter.join().unwrap().unwrap();
        // The lock file stays, empty.
        assert_eq!(std::fs::metadata(folder.join(FolderLock::FILE)).unwrap().len(), 0);
    }
}
