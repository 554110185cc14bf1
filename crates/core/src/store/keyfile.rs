//! The database key, kept for now in a key file beside the database (a recovery-key scheme and the
//! operating system's credential store are still to come). The file holds the random 256-bit SQLCipher key and the
//! 128-bit salt of the database it belongs to, so that a key file from another database is told
//! apart from a damaged database.

use std::io::Write;
use std::path::{Path, PathBuf};

use rand::rngs::OsRng;
use rand::TryRngCore;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

pub(crate) const KEY_BYTES: usize = 32;
pub(crate) const SALT_BYTES: usize = 16;

#[derive(Clone)]
pub(crate) struct DatabaseKey {
    pub key: [u8; KEY_BYTES],
    pub salt: [u8; SALT_BYTES],
}

#[derive(Serialize, Deserialize)]
struct KeyFileV1 {
    format: String,
    key: String,
    salt: String,
}

const FORMAT: &str = "lifeboat-key-1";

impl DatabaseKey {
    pub fn generate() -> Result<DatabaseKey> {
        let mut key = [0u8; KEY_BYTES];
        let mut salt = [0u8; SALT_BYTES];
        OsRng
            .try_fill_bytes(&mut key)
            .and_then(|_| OsRng.try_fill_bytes(&mut salt))
            .map_err(|e| Error::Internal(format!("the operating system gave no random bytes: {e}")))?;
        Ok(DatabaseKey { key, salt })
    }

    /// The SQLCipher raw key with its salt, for `PRAGMA key`.
    pub fn pragma_value(&self) -> String {
        format!("x'{}{}'", hex::encode(self.key), hex::encode(self.salt))
    }

    pub fn read(path: &Path) -> Result<DatabaseKey> {
        let text = std::fs::read_to_string(path).map_err(|source| Error::Io {
            action: "reading the key file",
            path: path.to_path_buf(),
            source,
        })?;
        let bad = |why: &str| Error::KeyFile(format!("the key file {} is not valid: {why}", path.display()));
        let parsed: KeyFileV1 = serde_json::from_str(&text).map_err(|_| bad("it is not a Lifeboat key file"))?;
        if parsed.format != FORMAT {
            return Err(bad("unknown format"));
        }
        let key = hex::decode(&parsed.key).map_err(|_| bad("the key is not hexadecimal"))?;
        let salt = hex::decode(&parsed.salt).map_err(|_| bad("the salt is not hexadecimal"))?;
        Ok(DatabaseKey {
            key: key.try_into().map_err(|_| bad("the key is not 256 bits"))?,
            salt: salt.try_into().map_err(|_| bad("the salt is not 128 bits"))?,
        })
    }

    /// Writes the key file, readable only by its owner, never replacing one: it is written whole
    /// under a name of its own, flushed, then linked to `path`, which fails if `path` exists (one
    /// step, so of two processes creating at once exactly one succeeds). `Ok(false)`: a key file
    /// was already there, and is left as it was.
    pub fn write_new(&self, path: &Path, unique: &str) -> Result<bool> {
        let io = |action, source| Error::Io { action, path: path.to_path_buf(), source };
        let body = serde_json::to_string_pretty(&KeyFileV1 {
            format: FORMAT.into(),
            key: hex::encode(self.key),
            salt: hex::encode(self.salt),
        })
        .map_err(|e| Error::Internal(e.to_string()))?;
        let tmp = temporary_path(path, unique);
        let written = owner_only_create(&tmp).and_then(|mut file| {
            file.write_all(body.as_bytes())?;
            file.sync_all()
        });
        if let Err(e) = written {
            let _ = std::fs::remove_file(&tmp);
            return Err(io("writing the key file", e));
        }
        let linked = match std::fs::hard_link(&tmp, path) {
            Ok(()) => Ok(true),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(false),
            // A file system without hard links (FAT on a USB stick): create the name exclusively
            // and write it there (a crash mid-write leaves an unreadable key file and no database,
            // which is recognised as an interrupted creation).
            Err(_) => match create_new_owner_only(path) {
                Ok(mut file) => file
                    .write_all(body.as_bytes())
                    .and_then(|_| file.sync_all())
                    .map(|_| true)
                    .map_err(|e| io("writing the key file", e)),
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(false),
                Err(e) => Err(io("creating the key file", e)),
            },
        };
        let _ = std::fs::remove_file(&tmp);
        linked
    }
}

fn temporary_path(path: &Path, unique: &str) -> PathBuf {
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(format!(".{unique}.new"));
    path.with_file_name(name)
}

// Platform code: on Unix the key file is created with mode 0600. On Windows the file inherits the
// access list of the per-user application data folder it lives in, which only that user can read.
#[cfg(unix)]
pub(crate) fn owner_only_create(path: &Path) -> std::io::Result<std::fs::File> {
    use std::os::unix::fs::OpenOptionsExt;
    std::fs::OpenOptions::new().write(true).create(true).truncate(true).mode(0o600).open(path)
}

#[cfg(unix)]
fn create_new_owner_only(path: &Path) -> std::io::Result<std::fs::File> {
    use std::os::unix::fs::OpenOptionsExt;
    std::fs::OpenOptions::new().write(true).create_new(true).mode(0o600).open(path)
}

#[cfg(not(unix))]
fn create_new_owner_only(path: &Path) -> std::io::Result<std::fs::File> {
    std::fs::OpenOptions::new().write(true).create_new(true).open(path)
}

#[cfg(not(unix))]
pub(crate) fn owner_only_create(path: &Path) -> std::io::Result<std::fs::File> {
    std::fs::OpenOptions::new().write(true).create(true).truncate(true).open(path)
}
