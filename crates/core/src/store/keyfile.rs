//! The database key, and how it is kept.
//!
//! Each database is encrypted with a random 256-bit SQLCipher key and a 128-bit salt; the salt is
//! the first 16 bytes of the file, so the right key for a file (a database or one of its backups) is
//! found by its salt, and a key from another database is told apart from damage.
//!
//! The key file beside the database (`lifeboat.key`) lists the database's keys — the `current` one,
//! a `pending` one while the key is being changed, and `retired` ones that still open older
//! backups — and says for each where the key itself is kept:
//!
//! - `os`: in this PC's credential store (Windows Credential Manager, macOS Keychain, Secret
//!   Service on Linux), under an entry named by the salt. The key file then holds no key at all.
//! - `plain`: in the key file itself, readable only by its owner. Only where the PC has no
//!   credential store and no passphrase was chosen yet, and in databases made before keys were kept
//!   there.
//! - `passphrase`: sealed (as below) with this PC's passphrase, typed at every start. Where the PC
//!   has no credential store, a passphrase chosen at set-up (or later, on the *Database key* card)
//!   takes the key out of the file.
//! - `recovery`: sealed (XChaCha20-Poly1305, the key derived with Argon2id) with the practice's
//!   recovery key, which is shown once, to print and lock away. With it the database, and each
//!   backup (whose own key file, `<backup>.key`, holds only that), opens on any PC.
//!
//! Key files are created whole under a name of their own and linked into place, never replacing
//! one; they are changed (a recovery key made, the key changed, the key adopted into this PC's
//! credential store) by writing the whole new file beside the old and renaming it over.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
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

impl DatabaseKey {
    pub fn generate() -> Result<DatabaseKey> {
        let mut key = [0u8; KEY_BYTES];
        let mut salt = [0u8; SALT_BYTES];
        random(&mut key)?;
        random(&mut salt)?;
        Ok(DatabaseKey { key, salt })
    }

    /// The SQLCipher raw key with its salt, for `PRAGMA key`.
    pub fn pragma_value(&self) -> String {
        format!("x'{}{}'", hex::encode(self.key), hex::encode(self.salt))
    }
}

fn random(bytes: &mut [u8]) -> Result<()> {
    OsRng.try_fill_bytes(bytes).map_err(|e| Error::Internal(format!("the operating system gave no random bytes: {e}")))
}

// ---------------------------------------------------------------------------------------------
// This PC's credential store.

/// A place outside the data folder where this PC keeps secrets for its user: the operating
/// system's credential store. Errors are plain words for the user (never the secret).
pub trait CredentialStore: Send + Sync {
    /// What it is called on this system ("Windows Credential Manager", ...).
    fn name(&self) -> String;
    /// The secret stored under `account`, or `None` if there is none.
    fn get(&self, account: &str) -> std::result::Result<Option<Vec<u8>>, String>;
    fn set(&self, account: &str, secret: &[u8]) -> std::result::Result<(), String>;
}

static PC_CREDENTIALS: OnceLock<Arc<dyn CredentialStore>> = OnceLock::new();

/// Tells the core which credential store this PC has (the shells call it once at start, with
/// [`OsCredentials`]). Stores opened afterwards with [`StoreConfig::in_dir`] keep new keys there.
///
/// [`StoreConfig::in_dir`]: crate::StoreConfig::in_dir
pub fn use_credential_store(store: Arc<dyn CredentialStore>) {
    let _ = PC_CREDENTIALS.set(store);
}

/// How a store may reach its database's key: this PC's credential store, if it has one, a
/// recovery key typed by a person, if one was, and this PC's passphrase, if one was typed at start.
#[derive(Clone, Default)]
pub struct KeyAccess {
    pub credentials: Option<Arc<dyn CredentialStore>>,
    pub recovery_key: Option<RecoveryKey>,
    /// Shared by every clone, so that a passphrase chosen while the store is open
    /// ([`crate::Store::set_passphrase`]) seals the keys made after it (a change of key).
    pub passphrase: PassphraseSlot,
}

/// This PC's passphrase while a store is open (memory only), shared by the clones of a
/// [`KeyAccess`]. A passphrase as typed only opens keys sealed with it; keys are sealed with it only
/// once it is known to be this PC's: it opened a key, or an admin chose it.
#[derive(Clone, Default)]
pub struct PassphraseSlot(Arc<std::sync::Mutex<Option<(Passphrase, bool)>>>);

impl PassphraseSlot {
    /// A passphrase as typed, not yet known to be this PC's.
    pub fn holding(passphrase: Passphrase) -> PassphraseSlot {
        PassphraseSlot(Arc::new(std::sync::Mutex::new(Some((passphrase, false)))))
    }

    pub fn get(&self) -> Option<Passphrase> {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).as_ref().map(|(p, _)| p.clone())
    }

    /// The passphrase, if it is known to be this PC's (keys made now are sealed with it).
    fn confirmed(&self) -> Option<Passphrase> {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).as_ref().filter(|(_, known)| *known).map(|(p, _)| p.clone())
    }

    /// The passphrase opened a key: it is this PC's.
    fn confirm(&self) {
        if let Some((_, known)) = self.0.lock().unwrap_or_else(|e| e.into_inner()).as_mut() {
            *known = true;
        }
    }

    /// An admin chose `passphrase` for this PC.
    pub(crate) fn set(&self, passphrase: Passphrase) {
        *self.0.lock().unwrap_or_else(|e| e.into_inner()) = Some((passphrase, true));
    }
}

/// A passphrase that stands in for a credential store on a PC without one: typed at every start,
/// it unseals the database's key. Shown nowhere, printed never.
#[derive(Clone, PartialEq, Eq)]
pub struct Passphrase(String);

impl Passphrase {
    pub const MIN_CHARS: usize = 12;
    pub const MAX_CHARS: usize = 200;

    /// A new passphrase as chosen: long enough to stand against guessing (three or four random
    /// words, as the NCSC advises), with no control characters.
    pub fn choose(text: &str) -> Result<Passphrase> {
        let bad = |why: String| Error::invalid("passphrase", why);
        let chars = text.chars().count();
        if chars < Self::MIN_CHARS {
            return Err(bad(format!(
                "is {chars} characters; choose at least {} (three or four words you will remember, with spaces between them)",
                Self::MIN_CHARS
            )));
        }
        let typed = Self::typed(text)?;
        if text.trim() != text {
            return Err(bad("starts or ends with a space; type it without them".into()));
        }
        if text.chars().all(|c| text.starts_with(c)) {
            return Err(bad("is one character repeated; choose words".into()));
        }
        Ok(typed)
    }

    /// A passphrase as typed to open the database (checked only for size and control characters:
    /// the key file says whether it is right). Read in Unicode's composed form (NFC), so that an
    /// accented letter typed in the window and at a terminal is the same passphrase.
    pub fn typed(text: &str) -> Result<Passphrase> {
        use unicode_normalization::UnicodeNormalization;
        let bad = |why: &str| Error::invalid("passphrase", why);
        if text.is_empty() {
            return Err(bad("is empty; type this PC's passphrase"));
        }
        if text.chars().count() > Self::MAX_CHARS {
            return Err(bad("is far longer than a passphrase (200 characters at most)"));
        }
        if text.chars().any(char::is_control) {
            return Err(bad("holds a control character (a tab or a new line); type it on one line"));
        }
        Ok(Passphrase(text.nfc().collect()))
    }
}

impl std::fmt::Debug for Passphrase {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Passphrase(..)")
    }
}

impl std::fmt::Debug for KeyAccess {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyAccess")
            .field("credentials", &self.credentials.as_ref().map(|c| c.name()))
            .field("recovery_key", &self.recovery_key.as_ref().map(|_| "(given)"))
            .field("passphrase", &self.passphrase.get().map(|_| "(given)"))
            .finish()
    }
}

impl KeyAccess {
    /// This PC's credential store, as the shell registered it ([`use_credential_store`]).
    pub fn this_pc() -> KeyAccess {
        KeyAccess { credentials: PC_CREDENTIALS.get().cloned(), ..KeyAccess::default() }
    }
}

/// The operating system's credential store, through the `keyring` crate. Every call runs on a
/// thread of its own and is given up after [`OsCredentials::PATIENCE`], so a store that waits for
/// a prompt nobody sees never holds up the start.
#[cfg(feature = "os-keyring")]
pub struct OsCredentials {
    service: String,
}

#[cfg(feature = "os-keyring")]
impl OsCredentials {
    const PATIENCE: std::time::Duration = std::time::Duration::from_secs(10);

    /// The store, with Lifeboat's entries under `service` ("Lifeboat").
    pub fn new(service: &str) -> OsCredentials {
        OsCredentials { service: service.to_string() }
    }

    fn call<T: Send + 'static>(
        &self,
        account: &str,
        f: impl FnOnce(keyring::Entry) -> keyring::Result<T> + Send + 'static,
    ) -> std::result::Result<T, String> {
        let (service, account) = (self.service.clone(), account.to_string());
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let _ = tx.send(keyring::Entry::new(&service, &account).and_then(f));
        });
        match rx.recv_timeout(Self::PATIENCE) {
            Ok(result) => result.map_err(|e| e.to_string()),
            Err(_) => Err(format!("{} did not answer", self.name())),
        }
    }
}

#[cfg(feature = "os-keyring")]
impl CredentialStore for OsCredentials {
    fn name(&self) -> String {
        // Platform code: only names.
        if cfg!(windows) {
            "Windows Credential Manager".into()
        } else if cfg!(target_os = "macos") {
            "the macOS Keychain".into()
        } else {
            "the Secret Service (the desktop's keyring)".into()
        }
    }

    fn get(&self, account: &str) -> std::result::Result<Option<Vec<u8>>, String> {
        self.call(account, |entry| match entry.get_secret() {
            Ok(secret) => Ok(Some(secret)),
            Err(keyring::Error::NoEntry) => Ok(None),
            Err(e) => Err(e),
        })
    }

    fn set(&self, account: &str, secret: &[u8]) -> std::result::Result<(), String> {
        let secret = secret.to_vec();
        self.call(account, move |entry| entry.set_secret(&secret))
    }
}

// ---------------------------------------------------------------------------------------------
// Recovery keys.

/// A recovery key: 160 random bits, written as eight groups of four characters of Crockford's
/// base32 (no I, L, O or U, so nothing reads as another character). Typed back, case, spaces and
/// dashes do not matter, and O, I and L are read as 0, 1 and 1.
#[derive(Clone, PartialEq, Eq)]
pub struct RecoveryKey([u8; 20]);

const CROCKFORD: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";

impl RecoveryKey {
    pub(crate) fn generate() -> Result<RecoveryKey> {
        let mut bytes = [0u8; 20];
        random(&mut bytes)?;
        Ok(RecoveryKey(bytes))
    }

    /// Reads a recovery key as a person typed it.
    pub fn parse(text: &str) -> Result<RecoveryKey> {
        let bad = |reason: String| Error::invalid("recovery key", reason);
        if text.len() > 200 {
            return Err(bad("it is far longer than a recovery key (eight groups of four characters)".into()));
        }
        let mut bits: u64 = 0;
        let mut held = 0;
        let mut out = Vec::with_capacity(20);
        let mut count = 0;
        for c in text.chars() {
            if c.is_whitespace() || c == '-' {
                continue;
            }
            let c = match c.to_ascii_uppercase() {
                'O' => '0',
                'I' | 'L' => '1',
                c => c,
            };
            let Some(value) = CROCKFORD.iter().position(|&a| a as char == c) else {
                return Err(bad(format!(
                    "'{}' is not a character of a recovery key (letters and digits only)",
                    c.escape_default()
                )));
            };
            count += 1;
            bits = (bits << 5) | value as u64;
            held += 5;
            if held >= 8 {
                held -= 8;
                out.push((bits >> held) as u8);
            }
        }
        if count != 32 {
            return Err(bad(format!("it has {count} characters; a recovery key has 32, in eight groups of four")));
        }
        Ok(RecoveryKey(out.try_into().map_err(|_| bad("it is not a recovery key".into()))?))
    }

    /// The key as printed: `XXXX-XXXX-XXXX-XXXX-XXXX-XXXX-XXXX-XXXX`.
    pub fn display(&self) -> String {
        let mut chars = String::with_capacity(39);
        let mut bits: u64 = 0;
        let mut held = 0;
        let mut n = 0;
        for &byte in &self.0 {
            bits = (bits << 8) | byte as u64;
            held += 8;
            while held >= 5 {
                held -= 5;
                if n > 0 && n % 4 == 0 {
                    chars.push('-');
                }
                chars.push(CROCKFORD[((bits >> held) & 31) as usize] as char);
                n += 1;
            }
        }
        chars
    }
}

impl std::fmt::Debug for RecoveryKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("RecoveryKey(..)")
    }
}

/// A database key sealed with a recovery key.
#[derive(Clone, Serialize, Deserialize)]
struct Sealed {
    /// The day the recovery key was made (`YYYY-MM-DD`), to tell which printed sheet fits.
    made_on: String,
    kdf: String,
    memory_kib: u32,
    iterations: u32,
    kdf_salt: String,
    nonce: String,
    sealed: String,
}

const KDF: &str = "argon2id-v19";
const KDF_MEMORY_KIB: u32 = 19 * 1024;
const KDF_ITERATIONS: u32 = 2;

/// A passphrase has far fewer bits than a recovery key: each guess costs more.
const PASSPHRASE_MEMORY_KIB: u32 = 64 * 1024;
const PASSPHRASE_ITERATIONS: u32 = 3;

/// What a key is sealed with: the practice's recovery key, or this PC's passphrase.
#[derive(Clone, Copy)]
enum SealedWith<'a> {
    Recovery(&'a RecoveryKey),
    Passphrase(&'a Passphrase),
}

impl SealedWith<'_> {
    fn secret(&self) -> &[u8] {
        match self {
            SealedWith::Recovery(r) => &r.0,
            SealedWith::Passphrase(p) => p.0.as_bytes(),
        }
    }

    fn cost(&self) -> (u32, u32) {
        match self {
            SealedWith::Recovery(_) => (KDF_MEMORY_KIB, KDF_ITERATIONS),
            SealedWith::Passphrase(_) => (PASSPHRASE_MEMORY_KIB, PASSPHRASE_ITERATIONS),
        }
    }
}

fn derive(secret: &[u8], salt: &[u8], memory_kib: u32, iterations: u32) -> Result<[u8; 32]> {
    let params = argon2::Params::new(memory_kib, iterations, 1, Some(32))
        .map_err(|e| Error::Internal(format!("key derivation: {e}")))?;
    let argon = argon2::Argon2::new(argon2::Algorithm::Argon2id, argon2::Version::V0x13, params);
    let mut out = [0u8; 32];
    argon.hash_password_into(secret, salt, &mut out).map_err(|e| Error::Internal(format!("key derivation: {e}")))?;
    Ok(out)
}

impl Sealed {
    fn seal(key: &DatabaseKey, with: SealedWith<'_>, made_on: &str) -> Result<Sealed> {
        let mut kdf_salt = [0u8; 16];
        let mut nonce = [0u8; 24];
        random(&mut kdf_salt)?;
        random(&mut nonce)?;
        let (memory_kib, iterations) = with.cost();
        let kek = derive(with.secret(), &kdf_salt, memory_kib, iterations)?;
        let cipher = XChaCha20Poly1305::new((&kek).into());
        let sealed = cipher
            .encrypt(XNonce::from_slice(&nonce), Payload { msg: &key.key, aad: &key.salt })
            .map_err(|_| Error::Internal("sealing the database key failed".into()))?;
        Ok(Sealed {
            made_on: made_on.to_string(),
            kdf: KDF.into(),
            memory_kib,
            iterations,
            kdf_salt: hex::encode(kdf_salt),
            nonce: hex::encode(nonce),
            sealed: hex::encode(sealed),
        })
    }

    /// The key, if `with` is what it was sealed with; `Ok(None)` if it is not.
    fn open(&self, salt: &[u8; SALT_BYTES], with: SealedWith<'_>, file: &Path) -> Result<Option<[u8; KEY_BYTES]>> {
        let bad = |why: &str| Error::KeyFile(format!("the key file {} is not valid: {why}", file.display()));
        if self.kdf != KDF {
            return Err(bad("its recovery key is sealed in a way this version does not know"));
        }
        // Bounds, so that a tampered file cannot make the derivation take all memory or for ever.
        if !(8..=64 * 1024).contains(&self.memory_kib) || !(1..=4).contains(&self.iterations) {
            return Err(bad("its recovery key derivation settings are out of bounds"));
        }
        let kdf_salt = hex::decode(&self.kdf_salt).map_err(|_| bad("the recovery salt is not hexadecimal"))?;
        let nonce = hex::decode(&self.nonce).map_err(|_| bad("the recovery nonce is not hexadecimal"))?;
        let sealed = hex::decode(&self.sealed).map_err(|_| bad("the sealed key is not hexadecimal"))?;
        if nonce.len() != 24 || kdf_salt.len() < 8 {
            return Err(bad("the recovery nonce or salt has the wrong length"));
        }
        let kek = derive(with.secret(), &kdf_salt, self.memory_kib, self.iterations)?;
        let cipher = XChaCha20Poly1305::new((&kek).into());
        match cipher.decrypt(XNonce::from_slice(&nonce), Payload { msg: &sealed, aad: salt }) {
            Ok(key) => Ok(Some(key.try_into().map_err(|_| bad("the sealed key is not 256 bits"))?)),
            Err(_) => Ok(None),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The key file.

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum KeyState {
    Current,
    /// Made by a change of key that has not finished; the database may already be under it.
    Pending,
    /// A key the database had before; it still opens the backups taken under it.
    Retired,
}

#[derive(Clone, Serialize, Deserialize)]
struct Entry {
    salt: String,
    state: KeyState,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    plain: Option<String>,
    /// The account name of the entry in this PC's credential store.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    os: Option<String>,
    /// The key sealed with this PC's passphrase (a PC without a credential store).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    passphrase: Option<Sealed>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    recovery: Option<Sealed>,
    /// The key sealed with the recovery key before, kept until the person confirms they have kept
    /// the new one (so that a new key shown and lost never leaves none that works).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    previous: Option<Sealed>,
    /// The key sealed with the key before it, while a change of key has not shown its new
    /// recovery key (so the recovery key before still reaches it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    chained: Option<Chained>,
}

#[derive(Clone, Serialize, Deserialize)]
struct Chained {
    from_salt: String,
    nonce: String,
    sealed: String,
}

impl Chained {
    fn seal(key: &DatabaseKey, with: &DatabaseKey) -> Result<Chained> {
        let mut nonce = [0u8; 24];
        random(&mut nonce)?;
        let cipher = XChaCha20Poly1305::new((&with.key).into());
        let sealed = cipher
            .encrypt(XNonce::from_slice(&nonce), Payload { msg: &key.key, aad: &key.salt })
            .map_err(|_| Error::Internal("sealing the database key failed".into()))?;
        Ok(Chained { from_salt: hex::encode(with.salt), nonce: hex::encode(nonce), sealed: hex::encode(sealed) })
    }

    fn open(&self, with: &DatabaseKey, salt: &[u8; SALT_BYTES]) -> Option<[u8; KEY_BYTES]> {
        let nonce = hex::decode(&self.nonce).ok().filter(|n| n.len() == 24)?;
        let sealed = hex::decode(&self.sealed).ok()?;
        let cipher = XChaCha20Poly1305::new((&with.key).into());
        cipher.decrypt(XNonce::from_slice(&nonce), Payload { msg: &sealed, aad: salt }).ok()?.try_into().ok()
    }
}

#[derive(Serialize, Deserialize)]
struct KeyFileV2 {
    format: String,
    keys: Vec<Entry>,
}

/// The first release's key file: the key and salt in the clear.
#[derive(Deserialize)]
struct KeyFileV1 {
    format: String,
    key: String,
    salt: String,
}

const FORMAT_V1: &str = "lifeboat-key-1";
const MAX_KEY_FILE_BYTES: u64 = 64 * 1024;
const FORMAT: &str = "lifeboat-key-2";
/// The service name of Lifeboat's entries in the credential store.
pub const CREDENTIAL_SERVICE: &str = "Lifeboat";
/// A backup's own key file is its name with this added.
pub const BACKUP_KEY_SUFFIX: &str = ".key";

/// Where a database's key is kept, as the settings screen shows it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct KeyProtection {
    /// The credential store that holds the key, or `None` when the key is in the key file (this PC
    /// has no credential store).
    pub credential_store: Option<String>,
    /// Whether the key file holds the key itself.
    pub key_in_file: bool,
    /// Whether the key is sealed with this PC's passphrase, asked for at every start.
    pub passphrase: bool,
    /// The day the recovery key was made, or `None` if there is none yet.
    pub recovery_key_made_on: Option<String>,
    /// Whether the person confirmed they kept the newest recovery key (until then the one before
    /// still works).
    pub recovery_key_confirmed: bool,
    /// How many earlier keys are kept for older backups.
    pub earlier_keys: u32,
}

/// A database's key file, read.
pub(crate) struct KeyFile {
    path: PathBuf,
    entries: Vec<Entry>,
    /// Read from a first-release file (to be written again in the new format when it changes).
    legacy: bool,
}

fn account_for(salt: &[u8; SALT_BYTES]) -> String {
    format!("database key {}", hex::encode(salt))
}

impl KeyFile {
    pub fn read(path: &Path) -> Result<KeyFile> {
        use std::io::Read;
        let io = |source| Error::Io { action: "reading the key file", path: path.to_path_buf(), source };
        let bad = |why: &str| Error::KeyFile(format!("the key file {} is not valid: {why}", path.display()));
        // A key file is a few kilobytes; a larger one (or a pipe, a device) is not read whole.
        let mut text = String::new();
        std::fs::File::open(path)
            .map_err(io)?
            .take(MAX_KEY_FILE_BYTES + 1)
            .read_to_string(&mut text)
            .map_err(|_| bad("it is not a Lifeboat key file"))?;
        if text.len() as u64 > MAX_KEY_FILE_BYTES {
            return Err(bad("it is far larger than a key file"));
        }
        let value: serde_json::Value = serde_json::from_str(&text).map_err(|_| bad("it is not a Lifeboat key file"))?;
        let file = match value.get("format").and_then(|f| f.as_str()) {
            Some(FORMAT_V1) => {
                let v1: KeyFileV1 = serde_json::from_value(value).map_err(|_| bad("it is not a Lifeboat key file"))?;
                debug_assert_eq!(v1.format, FORMAT_V1);
                KeyFile {
                    path: path.to_path_buf(),
                    entries: vec![Entry {
                        salt: v1.salt,
                        state: KeyState::Current,
                        plain: Some(v1.key),
                        os: None,
                        passphrase: None,
                        recovery: None,
                        previous: None,
                        chained: None,
                    }],
                    legacy: true,
                }
            }
            Some(FORMAT) => {
                let v2: KeyFileV2 = serde_json::from_value(value).map_err(|_| bad("it is not a Lifeboat key file"))?;
                KeyFile { path: path.to_path_buf(), entries: v2.keys, legacy: false }
            }
            _ => return Err(bad("unknown format")),
        };
        for entry in &file.entries {
            let salt = hex::decode(&entry.salt).map_err(|_| bad("a salt is not hexadecimal"))?;
            if salt.len() != SALT_BYTES {
                return Err(bad("a salt is not 128 bits"));
            }
            if let Some(plain) = &entry.plain {
                let key = hex::decode(plain).map_err(|_| bad("the key is not hexadecimal"))?;
                if key.len() != KEY_BYTES {
                    return Err(bad("the key is not 256 bits"));
                }
            }
        }
        if !file.entries.iter().any(|e| e.state == KeyState::Current) {
            return Err(bad("it names no current key"));
        }
        Ok(file)
    }

    fn salt_of(entry: &Entry) -> [u8; SALT_BYTES] {
        // Checked when read.
        hex::decode(&entry.salt).ok().and_then(|s| s.try_into().ok()).unwrap_or([0; SALT_BYTES])
    }

    /// The salts of the keys a database file could be under, most likely first: the current key,
    /// then a pending one (a change of key stopped half-way).
    pub fn live_salts(&self) -> Vec<[u8; SALT_BYTES]> {
        let mut salts: Vec<_> =
            self.entries.iter().filter(|e| e.state == KeyState::Current).map(Self::salt_of).collect();
        salts.extend(self.entries.iter().filter(|e| e.state == KeyState::Pending).map(Self::salt_of));
        salts
    }

    pub fn knows(&self, salt: &[u8; SALT_BYTES]) -> bool {
        self.entries.iter().any(|e| Self::salt_of(e) == *salt)
    }

    /// The key with `salt`, from wherever it is kept that `access` reaches. Also says whether it
    /// came only through the recovery key (so that the caller may keep it on this PC).
    pub fn unlock(&self, salt: &[u8; SALT_BYTES], access: &KeyAccess, database: &Path) -> Result<(DatabaseKey, bool)> {
        self.unlock_at(salt, access, database, 0)
    }

    fn unlock_at(
        &self,
        salt: &[u8; SALT_BYTES],
        access: &KeyAccess,
        database: &Path,
        depth: usize,
    ) -> Result<(DatabaseKey, bool)> {
        let entry = self
            .entries
            .iter()
            .find(|e| Self::salt_of(e) == *salt)
            .ok_or_else(|| Error::WrongKey { database: database.to_path_buf(), key_file: self.path.clone() })?;
        let found = |key: [u8; KEY_BYTES]| DatabaseKey { key, salt: *salt };
        if let Some(plain) = &entry.plain {
            let key = hex::decode(plain).ok().and_then(|k| k.try_into().ok());
            if let Some(key) = key {
                return Ok((found(key), false));
            }
        }
        let mut why = Vec::new();
        if let Some(account) = &entry.os {
            match &access.credentials {
                Some(store) => match store.get(account) {
                    Ok(Some(secret)) => match <[u8; KEY_BYTES]>::try_from(secret.as_slice()) {
                        Ok(key) => return Ok((found(key), false)),
                        Err(_) => why.push(format!("the entry in {} is not a database key", store.name())),
                    },
                    Ok(None) => why.push(format!(
                        "{} on this PC does not hold it (was the database copied from another PC?)",
                        store.name()
                    )),
                    Err(e) => why.push(format!("{} could not be read: {e}", store.name())),
                },
                None => why.push("it is kept in a credential store this PC does not have".into()),
            }
        }
        let mut passphrase_needed = false;
        if let Some(sealed) = &entry.passphrase {
            match access.passphrase.get() {
                Some(passphrase) => match sealed.open(salt, SealedWith::Passphrase(&passphrase), &self.path)? {
                    Some(key) => {
                        access.passphrase.confirm();
                        return Ok((found(key), false));
                    }
                    // A wrong passphrase is said at once (never passed over for a recovery key, which
                    // would then keep keys under a passphrase nobody chose).
                    None => {
                        return Err(Error::invalid(
                            "passphrase",
                            "it is not this PC's passphrase: check the capital letters and the spaces between words, and type it again",
                        ))
                    }
                },
                None => passphrase_needed = true,
            }
        }
        let mut wrong_recovery = None;
        match (&entry.recovery, &access.recovery_key) {
            (Some(sealed), Some(recovery)) => {
                if let Some(key) = sealed.open(salt, SealedWith::Recovery(recovery), &self.path)? {
                    return Ok((found(key), true));
                }
                if let Some(previous) = &entry.previous {
                    if let Some(key) = previous.open(salt, SealedWith::Recovery(recovery), &self.path)? {
                        return Ok((found(key), true));
                    }
                }
                wrong_recovery = Some(sealed.made_on.clone());
            }
            (None, Some(_)) => why.push("no recovery key was ever made for it".into()),
            (Some(_), None) | (None, None) => {}
        }
        // A key made by a change of key that stopped before its new recovery key was shown: it is
        // sealed with the key before it too, until a recovery key is made for it.
        if let Some(chain) = &entry.chained {
            let previous = hex::decode(&chain.from_salt).ok().and_then(|s| <[u8; SALT_BYTES]>::try_from(s).ok());
            if let Some(previous) = previous.filter(|p| p != salt && depth < 8) {
                if let Ok((before, via)) = self.unlock_at(&previous, access, database, depth + 1) {
                    if let Some(key) = chain.open(&before, salt) {
                        return Ok((found(key), via));
                    }
                }
            }
        }
        if let Some(made_on) = wrong_recovery {
            let made_on = chrono::NaiveDate::parse_from_str(&made_on, "%Y-%m-%d")
                .map(|d| d.format("%-d %B %Y").to_string())
                .unwrap_or(made_on);
            return Err(Error::invalid(
                "recovery key",
                format!(
                    "it does not open this database: check each group against the printed sheet (this database's recovery key was made on {made_on})"
                ),
            ));
        }
        if passphrase_needed && access.recovery_key.is_none() {
            return Err(Error::PassphraseNeeded { database: database.to_path_buf() });
        }
        if why.is_empty() {
            why.push("it is kept only sealed with the recovery key".into());
        }
        Err(Error::KeyNeeded { database: database.to_path_buf(), why: why.join("; ") })
    }

    fn current(&self) -> Option<&Entry> {
        self.entries.iter().find(|e| e.state == KeyState::Current)
    }

    pub fn protection(&self, access: &KeyAccess) -> KeyProtection {
        let current = self.current();
        let in_os = current.and_then(|e| e.os.as_ref()).is_some();
        KeyProtection {
            credential_store: in_os
                .then(|| access.credentials.as_ref().map(|c| c.name()).unwrap_or_else(|| "a credential store".into())),
            key_in_file: current.is_some_and(|e| e.plain.is_some()),
            passphrase: current.is_some_and(|e| e.passphrase.is_some()),
            recovery_key_made_on: current.and_then(|e| e.recovery.as_ref()).map(|s| s.made_on.clone()),
            // Until confirmed, the recovery key before still opens what it opened.
            recovery_key_confirmed: !self.entries.iter().any(|e| e.previous.is_some() || e.chained.is_some()),
            earlier_keys: self.entries.iter().filter(|e| e.state == KeyState::Retired).count() as u32,
        }
    }

    /// Every key the recovery key in `access` opens, kept on this PC too (the database came from
    /// another PC: its older keys open its older backups here).
    pub fn adopt_all(&mut self, access: &KeyAccess) {
        let salts: Vec<[u8; SALT_BYTES]> = self.entries.iter().map(Self::salt_of).collect();
        for salt in salts {
            if let Ok((key, true)) = self.unlock(&salt, access, &self.path.clone()) {
                self.adopt(&key, access);
            }
        }
    }

    /// The person has kept the newest recovery key: the one before, and the chains that stood in
    /// for it, no longer open anything.
    pub fn confirm_recovery_key(&mut self) {
        for entry in &mut self.entries {
            entry.previous = None;
            entry.chained = None;
        }
    }

    /// An entry keeping `key` where `access` allows: in the credential store if there is one that
    /// takes it (read back to be sure), otherwise sealed with this PC's passphrase if one was
    /// given, otherwise in the file.
    fn keep(key: &DatabaseKey, state: KeyState, access: &KeyAccess) -> Entry {
        let account = account_for(&key.salt);
        let in_store = access.credentials.as_ref().is_some_and(|store| {
            store.set(&account, &key.key).is_ok() && matches!(store.get(&account), Ok(Some(k)) if k == key.key)
        });
        let passphrase = match access.passphrase.confirmed() {
            // A seal that fails (no random bytes) leaves the key in the file rather than nowhere.
            Some(p) if !in_store => Sealed::seal(key, SealedWith::Passphrase(&p), &today()).ok(),
            _ => None,
        };
        Entry {
            salt: hex::encode(key.salt),
            state,
            plain: (!in_store && passphrase.is_none()).then(|| hex::encode(key.key)),
            os: in_store.then_some(account),
            passphrase,
            recovery: None,
            previous: None,
            chained: None,
        }
    }

    /// A new key file for a new database's `key`.
    pub fn for_new(path: &Path, key: &DatabaseKey, access: &KeyAccess) -> KeyFile {
        KeyFile { path: path.to_path_buf(), entries: vec![Self::keep(key, KeyState::Current, access)], legacy: false }
    }

    /// Keeps `key` on this PC (it came through the recovery key, or sat in the file of a PC that
    /// now has a credential store): in its credential store, and then no longer in the file; or,
    /// with none, in the file. The recovery key it is sealed with stays.
    pub fn adopt(&mut self, key: &DatabaseKey, access: &KeyAccess) {
        let kept = Self::keep(key, KeyState::Current, access);
        if let Some(entry) = self.entries.iter_mut().find(|e| Self::salt_of(e) == key.salt) {
            if kept.os.is_some() {
                entry.os = kept.os;
                entry.plain = None;
                entry.passphrase = None;
            } else if kept.passphrase.is_some() {
                // An entry in another PC's credential store is of no use here.
                entry.os = None;
                entry.passphrase = kept.passphrase;
                entry.plain = None;
            } else {
                entry.os = None;
                // Through the recovery key on a PC whose passphrase was forgotten: the key is in the
                // file until a new passphrase is chosen (the Database key card says so).
                entry.plain = kept.plain;
                entry.passphrase = None;
            }
        }
    }

    /// Seals every key this PC keeps in the file (or under an earlier passphrase) with
    /// `passphrase`, and takes it out of the file. Keys kept in the credential store are left
    /// there; a key this PC cannot reach (it came only through a recovery key) keeps what it had.
    /// The current key must be reachable.
    pub fn seal_with_passphrase(&mut self, passphrase: &Passphrase, access: &KeyAccess) -> Result<()> {
        let made_on = today();
        let mut sealed = Vec::new();
        for entry in &self.entries {
            let salt = Self::salt_of(entry);
            if entry.plain.is_none() && (entry.os.is_some() || entry.passphrase.is_none()) {
                sealed.push(None);
                continue;
            }
            sealed.push(match self.unlock(&salt, access, &self.path) {
                Ok((key, _)) => Some(Sealed::seal(&key, SealedWith::Passphrase(passphrase), &made_on)?),
                Err(e) if entry.state != KeyState::Retired => {
                    return Err(Error::Conflict(format!(
                        "the database key could not be read to seal it with the passphrase ({}); nothing was changed",
                        e.user_message()
                    )))
                }
                Err(_) => None,
            });
        }
        for (entry, sealed) in self.entries.iter_mut().zip(sealed) {
            if let Some(sealed) = sealed {
                entry.passphrase = Some(sealed);
                entry.plain = None;
                entry.os = None;
            }
        }
        Ok(())
    }

    /// Whether the key with `salt` is sealed with a recovery key.
    pub fn sealed(&self, salt: &[u8; SALT_BYTES]) -> bool {
        self.entries.iter().any(|e| Self::salt_of(e) == *salt && e.recovery.is_some())
    }

    /// Whether the key with `salt` is kept in the file itself.
    pub fn in_file(&self, salt: &[u8; SALT_BYTES]) -> bool {
        self.entries.iter().any(|e| Self::salt_of(e) == *salt && e.plain.is_some())
    }

    /// Seals every key with a new recovery key. The current and a pending key must be reachable
    /// (refused otherwise: a recovery key that does not open the database is worse than none); an
    /// older key that is not (it came here only through a recovery key) keeps the seal it had.
    /// The seal before is kept as `previous` until [`KeyFile::confirm_recovery_key`].
    pub fn seal_all(&mut self, recovery: &RecoveryKey, made_on: &str, access: &KeyAccess) -> Result<()> {
        let access = KeyAccess { recovery_key: None, ..access.clone() };
        let mut sealed = Vec::new();
        for entry in &self.entries {
            let salt = Self::salt_of(entry);
            sealed.push(match self.unlock(&salt, &access, &self.path) {
                Ok((key, _)) => Some(Sealed::seal(&key, SealedWith::Recovery(recovery), made_on)?),
                Err(e) if entry.state != KeyState::Retired => {
                    return Err(Error::Conflict(format!(
                    "the database key could not be read to seal it with a new recovery key ({}); nothing was changed",
                    e.user_message()
                )))
                }
                Err(_) => None,
            });
        }
        for (entry, sealed) in self.entries.iter_mut().zip(sealed) {
            if let Some(sealed) = sealed {
                // The seal the person holds stays until they confirm the new one.
                if entry.previous.is_none() {
                    entry.previous = entry.recovery.take();
                }
                entry.recovery = Some(sealed);
            }
        }
        Ok(())
    }

    /// Adds `key` as the pending key, kept like the current one (`previous`), sealed with the
    /// new `recovery` key and, until that is shown, with `previous`.
    pub fn add_pending(
        &mut self,
        key: &DatabaseKey,
        previous: &DatabaseKey,
        access: &KeyAccess,
        recovery: (&RecoveryKey, &str),
    ) -> Result<()> {
        self.entries.retain(|e| e.state != KeyState::Pending);
        let mut entry = Self::keep(key, KeyState::Pending, access);
        entry.recovery = Some(Sealed::seal(key, SealedWith::Recovery(recovery.0), recovery.1)?);
        entry.chained = Some(Chained::seal(key, previous)?);
        self.entries.push(entry);
        Ok(())
    }

    /// Forgets a retired key with `salt` (the key a database had before set-up sealed it, which no
    /// backup is under).
    pub fn forget_retired(&mut self, salt: &[u8; SALT_BYTES]) {
        self.entries.retain(|e| !(e.state == KeyState::Retired && Self::salt_of(e) == *salt));
    }

    /// Drops the pending key with `salt` (a change of key that did not happen).
    pub fn drop_pending(&mut self, salt: &[u8; SALT_BYTES]) {
        self.entries.retain(|e| !(e.state == KeyState::Pending && Self::salt_of(e) == *salt));
    }

    /// Makes the key with `salt` the current one; the current one, if another, is retired; any
    /// other pending key is dropped (it never encrypted anything).
    pub fn make_current(&mut self, salt: &[u8; SALT_BYTES]) {
        self.entries.retain(|e| e.state != KeyState::Pending || Self::salt_of(e) == *salt);
        for entry in &mut self.entries {
            entry.state = if Self::salt_of(entry) == *salt { KeyState::Current } else { KeyState::Retired };
        }
    }

    pub fn current_salt(&self) -> Option<[u8; SALT_BYTES]> {
        self.current().map(Self::salt_of)
    }

    /// The key file of one backup, under `salt`: only the key sealed with the recovery key (a
    /// backup's key file never holds the key itself). `None` if there is no recovery key for it.
    pub fn for_backup(&self, salt: &[u8; SALT_BYTES]) -> Option<String> {
        let strip = |e: &Entry, state| Entry { state, plain: None, os: None, passphrase: None, ..e.clone() };
        let entry = self.entries.iter().find(|e| Self::salt_of(e) == *salt)?;
        entry.recovery.as_ref()?;
        let mut keys = vec![strip(entry, KeyState::Current)];
        // A key not yet confirmed reaches the recovery key before through the key before it.
        let mut link = entry.chained.clone();
        while let Some(chain) = link.take().filter(|_| keys.len() < 8) {
            if let Some(before) = self.entries.iter().find(|e| e.salt == chain.from_salt) {
                keys.push(strip(before, KeyState::Retired));
                link = before.chained.clone();
            }
        }
        serde_json::to_string_pretty(&KeyFileV2 { format: FORMAT.into(), keys }).ok()
    }

    fn body(&self) -> Result<String> {
        let file = KeyFileV2 { format: FORMAT.into(), keys: self.entries.clone() };
        serde_json::to_string_pretty(&file).map_err(|e| Error::Internal(e.to_string()))
    }

    pub fn is_legacy(&self) -> bool {
        self.legacy
    }

    /// Writes the file at its path, never replacing one: written whole under a name of its own,
    /// flushed, then linked to the path, which fails if the path exists (one step, so of two
    /// processes creating at once exactly one succeeds). `Ok(false)`: a key file was already there,
    /// and is left as it was.
    pub fn write_new(&self, unique: &str) -> Result<bool> {
        let path = &self.path;
        let io = |action, source| Error::Io { action, path: path.to_path_buf(), source };
        let body = self.body()?;
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

    /// Writes the changed file over the old one in one step: whole under a name of its own,
    /// flushed, then renamed over it. A crash leaves the old file or the new one, never half of one.
    pub fn replace(&self, unique: &str) -> Result<()> {
        write_replacing(&self.path, &self.body()?, unique)
    }
}

/// Makes the key file at `path` know `key`, the key of a backup being put back (from another PC):
/// kept as this PC keeps keys, retired until the restored database opens under it, and sealed with
/// the recovery key as the backup's own key file (`own`) has it. A new key file if there is none.
pub(crate) fn learn(path: &Path, key: &DatabaseKey, access: &KeyAccess, own: &Path, unique: &str) -> Result<()> {
    // Everything the backup's own key file has comes along, sealed as it is there: the recovery key
    // of its time, the one before it (not yet confirmed away) and the keys it is chained to, so that
    // whichever of them the person holds still opens the restored database.
    let theirs: Vec<Entry> = KeyFile::read(own).map(|f| f.entries).unwrap_or_default();
    let sealed_as = |entry: &mut Entry| {
        if let Some(t) = theirs.iter().find(|t| t.salt == entry.salt) {
            entry.recovery = t.recovery.clone();
            entry.previous = t.previous.clone();
            entry.chained = t.chained.clone();
        }
    };
    let others = |known: &dyn Fn(&str) -> bool| -> Vec<Entry> {
        theirs
            .iter()
            .filter(|t| KeyFile::salt_of(t) != key.salt && !known(&t.salt))
            .map(|t| Entry { state: KeyState::Retired, plain: None, os: None, passphrase: None, ..t.clone() })
            .collect()
    };
    if path.exists() {
        let mut file = KeyFile::read(path)?;
        if file.knows(&key.salt) {
            return Ok(());
        }
        // On a PC whose keys are sealed with its passphrase, a key learned without it would sit in
        // the file: the passphrase is asked for first.
        if file.current().is_some_and(|e| e.passphrase.is_some()) && access.passphrase.confirmed().is_none() {
            if access.passphrase.get().is_none() {
                return Err(Error::PassphraseNeeded {
                    database: path.with_file_name(crate::StoreConfig::DATABASE_FILE),
                });
            }
            // Typed but not yet tried: tried on the current key (a wrong one is refused).
            let current = file.current_salt().unwrap_or_default();
            file.unlock(&current, access, path)?;
        }
        let mut entry = KeyFile::keep(key, KeyState::Retired, access);
        sealed_as(&mut entry);
        let extra = others(&|salt| file.entries.iter().any(|e| e.salt == salt));
        file.entries.push(entry);
        file.entries.extend(extra);
        file.replace(unique)
    } else {
        let mut file = KeyFile::for_new(path, key, access);
        sealed_as(&mut file.entries[0]);
        let extra = others(&|_| false);
        file.entries.extend(extra);
        if !file.write_new(unique)? {
            return Err(Error::Conflict(format!("a key file appeared at {} while the restore ran", path.display())));
        }
        Ok(())
    }
}

/// Writes `body` to `path` whole, owner-only, replacing what is there in one rename.
pub(crate) fn write_replacing(path: &Path, body: &str, unique: &str) -> Result<()> {
    let io = |action, source| Error::Io { action, path: path.to_path_buf(), source };
    let tmp = temporary_path(path, unique);
    let written = owner_only_create(&tmp).and_then(|mut file| {
        file.write_all(body.as_bytes())?;
        file.sync_all()
    });
    if let Err(e) = written.and_then(|_| std::fs::rename(&tmp, path)) {
        let _ = std::fs::remove_file(&tmp);
        return Err(io("writing the key file", e));
    }
    if let Some(dir) = path.parent() {
        // Platform code: a folder is opened to be flushed only on Unix; Windows has no such call.
        #[cfg(unix)]
        if let Ok(dir) = std::fs::File::open(dir) {
            let _ = dir.sync_all();
        }
        let _ = dir;
    }
    Ok(())
}

/// The key of a backup that is not this database's own any more, read from the backup's own key
/// file (`<backup>.key`) with a recovery key.
pub(crate) fn backup_key_file(backup: &Path) -> PathBuf {
    let mut name = backup.file_name().unwrap_or_default().to_os_string();
    name.push(BACKUP_KEY_SUFFIX);
    backup.with_file_name(name)
}

/// Reads the first 16 bytes of a file: the salt of an encrypted database.
pub(crate) fn salt_of_file(path: &Path) -> Option<[u8; SALT_BYTES]> {
    use std::io::Read;
    let mut salt = [0u8; SALT_BYTES];
    let mut file = std::fs::File::open(path).ok()?;
    file.read_exact(&mut salt).ok()?;
    Some(salt)
}

/// The day a seal is made, as the key file notes it (this PC's local date is near enough).
fn today() -> String {
    chrono::Local::now().date_naive().to_string()
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_recovery_key_reads_back_as_typed_whatever_the_case_spaces_and_lookalikes() {
        for _ in 0..50 {
            let key = RecoveryKey::generate().unwrap();
            let shown = key.display();
            assert_eq!(shown.len(), 39, "{shown}");
            assert_eq!(shown.split('-').count(), 8);
            assert_eq!(RecoveryKey::parse(&shown).unwrap(), key);
            let typed = shown.to_lowercase().replace('-', " ").replace('0', "o").replace('1', "l");
            assert_eq!(RecoveryKey::parse(&typed).unwrap(), key, "{typed}");
        }
        let short = RecoveryKey::parse("ABCD-EFGH").unwrap_err().to_string();
        assert!(short.contains("it has 8 characters; a recovery key has 32"), "{short}");
        let odd = RecoveryKey::parse("ABCD-EFGH-UUUU-0000-0000-0000-0000-0000").unwrap_err().to_string();
        assert!(odd.contains("'U' is not a character of a recovery key"), "{odd}");
        assert!(RecoveryKey::parse(&"A".repeat(10_000)).is_err());
    }

    #[test]
    fn a_passphrase_is_chosen_long_and_on_one_line_and_typed_back_exactly() {
        let err = |text: &str| Passphrase::choose(text).unwrap_err().to_string();
        assert!(err("short one").contains("is 9 characters; choose at least 12"), "{}", err("short one"));
        assert!(err(" leading space words").contains("starts or ends with a space"));
        assert!(err("aaaaaaaaaaaaaaaa").contains("one character repeated"));
        assert!(err("two\nlines of words").contains("control character"));
        assert!(err(&"word ".repeat(100)).contains("200 characters at most"));
        let chosen = Passphrase::choose("Otter kettle harbour 42").unwrap();
        let key = DatabaseKey::generate().unwrap();
        let sealed = Sealed::seal(&key, SealedWith::Passphrase(&chosen), "2026-12-02").unwrap();
        assert_eq!((sealed.memory_kib, sealed.iterations), (PASSPHRASE_MEMORY_KIB, PASSPHRASE_ITERATIONS));
        let file = Path::new("lifeboat.key");
        let typed = Passphrase::typed("Otter kettle harbour 42").unwrap();
        assert_eq!(sealed.open(&key.salt, SealedWith::Passphrase(&typed), file).unwrap(), Some(key.key));
        let wrong = Passphrase::typed("otter kettle harbour 42").unwrap();
        assert_eq!(sealed.open(&key.salt, SealedWith::Passphrase(&wrong), file).unwrap(), None, "case matters");
        assert_eq!(format!("{chosen:?}"), "Passphrase(..)");
        // An accented letter typed composed (a window) or decomposed (some terminals) is one passphrase.
        let composed = Passphrase::choose("Café harbour lantern").unwrap();
        assert_eq!(Passphrase::typed("Cafe\u{301} harbour lantern").unwrap(), composed);
    }

    #[test]
    fn a_sealed_key_opens_only_with_its_recovery_key_and_only_for_its_database() {
        let key = DatabaseKey::generate().unwrap();
        let recovery = RecoveryKey::generate().unwrap();
        let sealed = Sealed::seal(&key, SealedWith::Recovery(&recovery), "2026-12-01").unwrap();
        let file = Path::new("lifeboat.key");
        let with = SealedWith::Recovery(&recovery);
        assert_eq!(sealed.open(&key.salt, with, file).unwrap(), Some(key.key));
        let other = RecoveryKey::generate().unwrap();
        assert_eq!(sealed.open(&key.salt, SealedWith::Recovery(&other), file).unwrap(), None);
        let mut salt = key.salt;
        salt[0] ^= 1;
        assert_eq!(sealed.open(&salt, with, file).unwrap(), None, "bound to its database's salt");
        let greedy = Sealed { memory_kib: u32::MAX, ..sealed.clone() };
        assert!(matches!(greedy.open(&key.salt, with, file), Err(Error::KeyFile(_))));
    }
}
