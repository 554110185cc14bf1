//! The database key, kept for now in a key file beside the database (the key-management issue will
//! replace this with a recovery-key scheme). The file holds the random 256-bit SQLCipher key and the
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

    /// Writes the key file, refusing to replace an existing one, readable only by its owner.
    pub fn write_new(&self, path: &Path) -> Result<()> {
        let io = |action, source| Error::Io { action, path: path.to_path_buf(), source };
        let body = serde_json::to_string_pretty(&KeyFileV1 {
            format: FORMAT.into(),
            key: hex::encode(self.key),
            salt: hex::encode(self.salt),
        })
        .map_err(|e| Error::Internal(e.to_string()))?;
        let tmp = temporary_path(path);
        let mut file = owner_only_create(&tmp).map_err(|e| io("creating the key file", e))?;
        file.write_all(body.as_bytes()).and_then(|_| file.sync_all()).map_err(|e| io("writing the key file", e))?;
        drop(file);
        if path.exists() {
            let _ = std::fs::remove_file(&tmp);
            return Err(Error::KeyFile(format!("the key file {} already exists; it was not replaced", path.display())));
        }
        std::fs::rename(&tmp, path).map_err(|e| io("saving the key file", e))?;
        Ok(())
    }
}

fn temporary_path(path: &Path) -> PathBuf {
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(".new");
    path.with_file_name(name)
}

// Platform code: on Unix the key file is created with mode 0600. On Windows the file inherits the
// access list of the per-user application data folder it lives in, which only that user can read.
#[cfg(unix)]
pub(crate) fn owner_only_create(path: &Path) -> std::io::Result<std::fs::File> {
    use std::os::unix::fs::OpenOptionsExt;
    std::fs::OpenOptions::new().write(true).create(true).truncate(true).mode(0o600).open(path)
}

#[cfg(not(unix))]
pub(crate) fn owner_only_create(path: &Path) -> std::io::Result<std::fs::File> {
    std::fs::OpenOptions::new().write(true).create(true).truncate(true).open(path)
}
