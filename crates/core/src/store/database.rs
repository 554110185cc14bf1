//! The `Store`: the one way into a Lifeboat database. It opens or creates the SQLCipher-encrypted
//! file, applies migrations, and owns two connections:
//!
//! - the **writer**, used only by the write path (`write.rs`), inside `BEGIN IMMEDIATE` transactions;
//! - the **reader**, opened read-only (`SQLITE_OPEN_READ_ONLY` and `PRAGMA query_only`), which is all
//!   that `Store::read` ever hands out. A read cannot write: the database itself refuses.
//!
//! With WAL, reads run beside a write in progress and see the last committed state.

use std::io::Read as _;
use std::ops::Deref;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use rusqlite::config::DbConfig;
use rusqlite::{params, Connection, ErrorCode as SqliteCode, OpenFlags, OptionalExtension, Transaction};
use uuid::Uuid;

use crate::error::{is_out_of_space, Error, Result};
use crate::permission::Action;
use crate::session::Session;
use crate::store::actor::Actor;
use crate::store::clock::Clock;
use crate::store::keyfile::{DatabaseKey, KeyAccess, KeyFile, SALT_BYTES};
use crate::store::migrations;

/// Where a store's files live. Shells choose the folder (Tauri's app data folder, the `dirs` crate,
/// or a test's temporary folder); the core never looks one up itself.
#[derive(Clone, Debug)]
pub struct StoreConfig {
    pub database: PathBuf,
    pub key_file: PathBuf,
    /// Where this database is opened (the machine and folder), given by the shell. When a database
    /// turns up under another fingerprint (copied or restored to another PC), it takes a new node id,
    /// so it never reuses the sequence numbers of the node it was copied from. Empty: not checked.
    pub fingerprint: String,
    /// How the database's key may be reached: this PC's credential store, a typed recovery key.
    pub keys: KeyAccess,
}

impl StoreConfig {
    pub const DATABASE_FILE: &'static str = "lifeboat.db";
    pub const KEY_FILE: &'static str = "lifeboat.key";
    /// The folder beside the database its backups are kept in (`store::backup`).
    pub const BACKUPS_FOLDER: &'static str = "backups";

    /// The standard layout: `lifeboat.db` and `lifeboat.key` in one folder, the key kept in this
    /// PC's credential store where the shell registered one ([`KeyAccess::this_pc`]).
    pub fn in_dir(dir: &Path) -> StoreConfig {
        StoreConfig {
            database: dir.join(Self::DATABASE_FILE),
            key_file: dir.join(Self::KEY_FILE),
            fingerprint: String::new(),
            keys: KeyAccess::this_pc(),
        }
    }

    /// The same, with this PC's passphrase as typed at start (a PC without a credential store).
    pub fn with_passphrase(mut self, passphrase: crate::store::keyfile::Passphrase) -> StoreConfig {
        self.keys.passphrase = crate::store::keyfile::PassphraseSlot::holding(passphrase);
        self
    }

    /// The same, reaching the key as `keys` says.
    pub fn with_keys(mut self, keys: KeyAccess) -> StoreConfig {
        self.keys = keys;
        self
    }

    /// The same, with a recovery key a person typed (the database copied from another PC).
    pub fn with_recovery_key(mut self, recovery: crate::store::keyfile::RecoveryKey) -> StoreConfig {
        self.keys.recovery_key = Some(recovery);
        self
    }

    /// Where a restore makes its copy of a backup, beside the database (`store::backup`).
    pub(crate) fn restoring(&self) -> PathBuf {
        with_suffix(&self.database, ".restoring")
    }

    /// The restored copy once it is whole and final, waiting to take the database's place.
    pub(crate) fn restored(&self) -> PathBuf {
        with_suffix(&self.database, ".restored")
    }

    /// Where this database's backups are kept: a `backups` folder beside it.
    pub fn backups_dir(&self) -> PathBuf {
        self.database.parent().map(Path::to_path_buf).unwrap_or_default().join(Self::BACKUPS_FOLDER)
    }

    pub fn with_fingerprint(mut self, fingerprint: impl Into<String>) -> StoreConfig {
        self.fingerprint = fingerprint.into();
        self
    }
}

pub struct Store {
    // Fields drop in order: the reader closes first, so that the writer is the last connection and
    // checkpoints the WAL into the database file when the store closes.
    reader: Mutex<Connection>,
    writer: Mutex<Connection>,
    pub(crate) clock: Arc<dyn Clock>,
    node_id: Mutex<Uuid>,
    /// The database's key, as unlocked at open (changed by [`Store::change_key`]).
    pub(crate) key: Mutex<DatabaseKey>,
    config: StoreConfig,
    /// The drill this database is the copy for, if it is one (`drill.rs`): it then refuses to sync,
    /// export or hand anything over, whoever opens it.
    drill: Option<Uuid>,
    /// How many threads wait for the writer connection now: a long pull's transaction ends early
    /// for them (`Store::apply_page`).
    writers_waiting: AtomicUsize,
}

/// A read: a snapshot of the database on the read-only connection. It dereferences to a
/// `Connection` for queries; anything that would change the database is refused by SQLite.
pub struct Read<'c> {
    tx: Transaction<'c>,
}

impl Deref for Read<'_> {
    type Target = Connection;
    fn deref(&self) -> &Connection {
        &self.tx
    }
}

const PLAIN_SQLITE_HEADER: &[u8] = b"SQLite format 3\0";
/// SQLCipher's page size; an encrypted database file is always a whole number of pages.
const PAGE_SIZE: u64 = 4096;

impl Store {
    /// Opens the database, or creates it (with a new random key) if neither it nor its key file
    /// exists. A failure to open never deletes, truncates or rewrites the file.
    pub fn open(config: StoreConfig, clock: Arc<dyn Clock>) -> Result<Store> {
        let db_exists = config.database.exists();
        let key_exists = config.key_file.exists();
        match (db_exists, key_exists) {
            (true, true) => Self::open_existing(config, clock),
            (false, false) => Self::create(config, clock),
            (true, false) => Err(Error::KeyFile(format!(
                "the database {} exists but its key file {} is missing; put the key file back (a new key would not open it)",
                config.database.display(),
                config.key_file.display()
            ))),
            // A restore stopped after it moved the database aside: its finished copy takes its place.
            (false, true) if config.restored().is_file() => {
                // The old database's WAL and index, if the stop came before they were moved, are not
                // the restored copy's: SQLite would replay that WAL onto it. They go aside, kept.
                let leftovers: Vec<PathBuf> = companions(&config.database).into_iter().filter(|p| p.exists()).collect();
                if !leftovers.is_empty() {
                    let folder = config
                        .database
                        .parent()
                        .unwrap_or(Path::new(""))
                        .join(REPLACED_FOLDER)
                        .join(format!("{}-left-over", clock.now().format(NAME_TIME)));
                    std::fs::create_dir_all(&folder).map_err(|source| Error::Io {
                        action: "making a folder for the replaced database's WAL",
                        path: folder.clone(),
                        source,
                    })?;
                    for file in leftovers {
                        let to = folder.join(file.file_name().unwrap_or_default());
                        std::fs::rename(&file, &to).map_err(|source| Error::Io {
                            action: "moving the replaced database's WAL aside",
                            path: file.clone(),
                            source,
                        })?;
                    }
                }
                std::fs::rename(config.restored(), &config.database).map_err(|source| Error::Io {
                    action: "putting the restored backup in place",
                    path: config.database.clone(),
                    source,
                })?;
                Self::open_existing(config, clock)
            }
            // Another process may be creating the database this moment (its key is written first).
            (false, true) => Self::await_creation(config, clock),
        }
    }

    /// How long a start waits for a database whose key file is there to appear (another process
    /// creating it) before calling the creation unfinished.
    const CREATION_WAIT: std::time::Duration = std::time::Duration::from_secs(5);

    /// Creates the database: the key file first (linked into place in one step, so of two processes
    /// creating at once one wins and the other waits for its database); then the database is built
    /// whole under a name of its own and renamed into place, so a database file at the standard name
    /// is never half-made. A creation cut off leaves the key file without a database, which the next
    /// start reports as unfinished ([`Store::start_afresh`]).
    fn create(config: StoreConfig, clock: Arc<dyn Clock>) -> Result<Store> {
        if let Some(dir) = config.database.parent() {
            std::fs::create_dir_all(dir).map_err(|source| Error::Io {
                action: "creating the data folder",
                path: dir.to_path_buf(),
                source,
            })?;
        }
        let key = DatabaseKey::generate()?;
        let unique = clock.new_id().simple().to_string();
        if !KeyFile::for_new(&config.key_file, &key, &config.keys).write_new(&unique)? {
            return Self::await_creation(config, clock);
        }
        let building = with_suffix(&config.database, &format!(".creating-{unique}"));
        let built = (|| -> Result<()> {
            let flags =
                OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_CREATE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
            let mut conn = Connection::open_with_flags(&building, flags)?;
            conn.pragma_update(None, "key", key.pragma_value())?;
            configure(&conn)?;
            migrations::migrate(&mut conn)?;
            // A new database has no entries of the first release to reseal, and no clients to index.
            conn.execute(
                "INSERT INTO local_setting (key, value) VALUES ('journal_resealed', '1'), ('search_index_built', ?1)",
                [crate::store::search_index::RULES],
            )?;
            conn.execute(
                "INSERT INTO node (id, created_at, fingerprint) VALUES (?1, ?2, ?3)",
                params![clock.new_id().to_string(), crate::time::stored(clock.now()), config.fingerprint],
            )?;
            // Closing checkpoints the WAL into the file and removes it: the file is then whole.
            conn.close().map_err(|(_, e)| Error::Storage(e))?;
            std::fs::rename(&building, &config.database).map_err(|source| Error::Io {
                action: "putting the new database in place",
                path: config.database.clone(),
                source,
            })
        })();
        if built.is_err() {
            remove_leftovers(&building);
        }
        built?;
        Self::open_existing(config, clock)
    }

    /// Waits a moment for a database whose key file is there (another process creating it), then
    /// opens it; reports the creation as unfinished if it never appears.
    fn await_creation(config: StoreConfig, clock: Arc<dyn Clock>) -> Result<Store> {
        let start = std::time::Instant::now();
        while start.elapsed() < Self::CREATION_WAIT {
            if config.database.exists() {
                return Self::open_existing(config, clock);
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        Err(Error::Unfinished { database: config.database.clone(), key_file: config.key_file.clone() })
    }

    /// Starts afresh in a folder whose database creation was interrupted (a key file and no
    /// database): the key file is moved aside as `lifeboat.key.unused-<time>` (kept: a database found
    /// later still needs it) and half-built databases are removed; nothing else in the folder is
    /// touched. The next open creates a new database. Refused if the database is there.
    pub fn start_afresh(config: &StoreConfig, clock: &dyn Clock) -> Result<PathBuf> {
        if config.database.exists() {
            return Err(Error::Conflict(format!(
                "the database {} is there: starting afresh is only for a folder whose database was never made",
                config.database.display()
            )));
        }
        let aside = with_suffix(&config.key_file, &format!(".unused-{}", clock.now().format("%Y-%m-%dT%H-%M-%SZ")));
        std::fs::rename(&config.key_file, &aside).map_err(|source| Error::Io {
            action: "moving the unused key file aside",
            path: config.key_file.clone(),
            source,
        })?;
        let prefix = format!("{}.creating-", config.database.file_name().unwrap_or_default().to_string_lossy());
        if let Some(dir) = config.database.parent() {
            for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
                let name = entry.file_name().to_string_lossy().into_owned();
                if name.starts_with(&prefix) && entry.path().is_file() {
                    let _ = std::fs::remove_file(entry.path());
                }
            }
        }
        Ok(aside)
    }

    fn open_existing(config: StoreConfig, clock: Arc<dyn Clock>) -> Result<Store> {
        let mut keys = KeyFile::read(&config.key_file)?;
        let salt = check_header(&config, &keys)?;
        let (key, via_recovery) = keys.unlock(&salt, &config.keys, &config.database)?;
        check_wal(&config.database)?;
        // Opened without CREATE, so a file that vanished in between is not recreated empty.
        let flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let mut conn = Connection::open_with_flags(&config.database, flags)?;
        // Until the database is known to be sound, closing this connection must not checkpoint the
        // WAL into the file: a damaged database is left exactly as it was found, WAL and all.
        conn.set_db_config(DbConfig::SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, true)?;
        conn.pragma_update(None, "key", key.pragma_value())?;
        // The first read decrypts page 1. The salt matched, so the key is the right one: a failure
        // here means the file is damaged, unless a change of key stopped before the WAL that holds
        // the new key's pages was copied into the file (its page 1 still has the old salt).
        let mut key = key;
        if let Err(e) = conn.query_row("SELECT count(*) FROM sqlite_master", [], |r| r.get::<_, i64>(0)) {
            let pending = keys
                .live_salts()
                .into_iter()
                .filter(|s| *s != salt)
                .find_map(|s| keys.unlock(&s, &config.keys, &config.database).ok())
                .filter(|(k, _)| {
                    conn.pragma_update(None, "key", k.pragma_value()).is_ok()
                        && conn.query_row("SELECT count(*) FROM sqlite_master", [], |r| r.get::<_, i64>(0)).is_ok()
                });
            match pending {
                Some((k, _)) => key = k,
                None => {
                    // A full disk (no room even for the WAL's index) is not damage: say so, and offer no restore.
                    let folder = config.database.parent().unwrap_or(Path::new(""));
                    return Err(if is_out_of_space(&e) {
                        Error::DiskFull { folder: Some(folder.to_path_buf()) }
                    } else {
                        Error::Corrupt { path: config.database.clone(), detail: describe(&e) }
                    });
                }
            }
        }
        // The key file catches up with the database: a key that came through the recovery key is
        // kept on this PC from now on; the key the database is under is the current one (a change
        // of key that stopped half-way, a backup taken under an earlier key put back).
        let unique = clock.new_id().simple().to_string();
        // A key in the file moves into this PC's credential store only once a recovery key can
        // reach it (otherwise losing the store would lose the records).
        let unprotected = keys.in_file(&key.salt) && keys.sealed(&key.salt) && config.keys.credentials.is_some();
        if keys.current_salt() != Some(key.salt) || via_recovery || unprotected || keys.is_legacy() {
            if via_recovery {
                keys.adopt_all(&config.keys);
            }
            if via_recovery || unprotected {
                keys.adopt(&key, &config.keys);
            }
            keys.make_current(&key.salt);
            // Best effort: on a folder that cannot be written (read-only media) the database still
            // opens; the key file catches up at the next open that can write it.
            let _ = keys.replace(&unique);
        }
        configure(&conn).map_err(|e| corrupt_if_damaged(e, &config.database))?;
        migrations::migrate(&mut conn).map_err(|e| corrupt_if_damaged(e, &config.database))?;
        {
            let tx = conn.transaction()?;
            crate::store::journal::reseal_legacy(&tx)?;
            tx.commit()?;
        }
        if !crate::store::search_index::is_built(&conn)? || crate::store::search_index::has_pending(&conn)? {
            // Written only when needed, under the write lock from the start: several openers at
            // once wait for each other rather than fail to upgrade a read to a write, and wait as
            // long as a build takes (seconds on a large practice), not the usual five seconds.
            conn.pragma_update(None, "busy_timeout", 300_000)?;
            let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
            crate::store::search_index::build_if_needed(&tx)?;
            tx.commit()?;
            conn.pragma_update(None, "busy_timeout", 5_000)?;
        }
        let (node_id, fingerprint): (String, String) = conn
            .query_row("SELECT id, fingerprint FROM node WHERE retired_at IS NULL", [], |r| Ok((r.get(0)?, r.get(1)?)))
            .map_err(|e| corrupt_if_damaged(Error::Storage(e), &config.database))?;
        let mut node_id = Uuid::parse_str(&node_id).map_err(|_| Error::Corrupt {
            path: config.database.clone(),
            detail: "the node id is not a UUID".into(),
        })?;
        if !config.fingerprint.is_empty() && fingerprint != config.fingerprint {
            if fingerprint.is_empty() {
                // The first open since fingerprints were kept: this is where it lives.
                conn.execute(
                    "UPDATE node SET fingerprint = ?2 WHERE id = ?1",
                    params![node_id.to_string(), config.fingerprint],
                )?;
            } else {
                node_id = new_node(&conn, clock.as_ref(), &config.fingerprint)?;
            }
        }
        let drill: Option<String> = conn
            .query_row("SELECT value FROM local_setting WHERE key = 'drill'", [], |r| r.get(0))
            .optional()
            .map_err(|e| corrupt_if_damaged(Error::Storage(e), &config.database))?;
        let drill = match drill {
            Some(id) => Some(Uuid::parse_str(&id).map_err(|_| Error::Corrupt {
                path: config.database.clone(),
                detail: "the drill it is marked for is not a UUID".into(),
            })?),
            None => None,
        };
        conn.set_db_config(DbConfig::SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, false)?;
        Self::assemble(conn, key, clock, node_id, config, drill)
    }

    /// The store over an opened writer: its read-only connection is opened beside it.
    fn assemble(
        writer: Connection,
        key: DatabaseKey,
        clock: Arc<dyn Clock>,
        node_id: Uuid,
        config: StoreConfig,
        drill: Option<Uuid>,
    ) -> Result<Store> {
        let reader = open_reader(&config, &key)?;
        Ok(Store {
            writer: Mutex::new(writer),
            reader: Mutex::new(reader),
            clock,
            node_id: Mutex::new(node_id),
            key: Mutex::new(key),
            config,
            drill,
            writers_waiting: AtomicUsize::new(0),
        })
    }

    /// The drill this database is the copy for, if it is a drill's copy.
    pub fn drill(&self) -> Option<Uuid> {
        self.drill
    }

    /// Refuses `what` (sync, an export, a hand-over) in a drill's copy: drill records never leave the
    /// PC they were made on, nor mix with real ones.
    pub fn refuse_in_drill(&self, what: &str) -> Result<()> {
        match self.drill {
            Some(_) => Err(Error::Forbidden(format!(
                "this is a drill: {what} is for real records only, and nothing made in a drill leaves this PC; end the drill to go back to the real records"
            ))),
            None => Ok(()),
        }
    }

    /// The node id this database's changes are made under now.
    pub fn node_id(&self) -> Uuid {
        *self.node_id.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Every node id this database has made changes under (the current one and any retired).
    pub fn own_nodes(&self) -> Result<Vec<Uuid>> {
        self.read(|r| {
            let mut stmt = r.prepare_cached("SELECT id FROM node ORDER BY created_at")?;
            let ids = stmt.query_map([], |r| crate::store::row::uuid(r, 0))?.collect::<rusqlite::Result<Vec<_>>>()?;
            Ok(ids)
        })
    }

    /// Retires the current node id and takes a new one: the database is a copy (restored, or opened
    /// on another PC) of a node whose later changes exist elsewhere, and must not reuse its numbers.
    pub fn take_new_node_id(&self) -> Result<Uuid> {
        let conn = self.lock_writer();
        let id = new_node(&conn, self.clock.as_ref(), &self.config.fingerprint)?;
        *self.node_id.lock().unwrap_or_else(|e| e.into_inner()) = id;
        Ok(id)
    }

    pub fn config(&self) -> &StoreConfig {
        &self.config
    }

    /// The folder that holds the database (and so the disk it fills).
    pub fn folder(&self) -> &Path {
        self.config.database.parent().unwrap_or(Path::new(""))
    }

    pub fn clock(&self) -> &dyn Clock {
        self.clock.as_ref()
    }

    /// Runs `f` against a read-only snapshot of the database.
    pub fn read<T>(&self, f: impl FnOnce(&Read<'_>) -> Result<T>) -> Result<T> {
        let mut conn = lock(&self.reader);
        let read = Read { tx: conn.transaction()? };
        f(&read)
    }

    /// Checks that `session` may do `action` (role read from the database, account active), then
    /// runs `f` against the same snapshot.
    /// Checks `action` alone (the role read from the database), for a caller that must refuse before
    /// it reads a file, reaches the network or checks a password: permission always comes first.
    pub fn require(&self, session: &Session, action: Action) -> Result<()> {
        self.read_as(session, action, |_| Ok(()))
    }

    pub fn read_as<T>(&self, session: &Session, action: Action, f: impl FnOnce(&Read<'_>) -> Result<T>) -> Result<T> {
        self.read(|r| {
            let actor = Actor::load(r, session)?;
            actor.authorize(action)?;
            f(r)
        })
    }

    /// Copies this database and its key into `dir` for a drill (`drill.rs`), with nothing in the copy
    /// that could reach another PC: no sync servers or their credentials, no signing or relay keys,
    /// no list of this PC's drills. The copy is marked with `marks` (local settings, among them
    /// `drill`) and with where its own changes begin in the journal (`drill_from_seq`), and takes a node id of its own under `fingerprint`. Nothing else is changed here; on
    /// failure the half-made folder is removed.
    pub(crate) fn copy_for_drill(&self, dir: &Path, fingerprint: &str, marks: &[(&str, String)]) -> Result<()> {
        let io = |action: &'static str, path: &Path| {
            let path = path.to_path_buf();
            move |source| Error::Io { action, path, source }
        };
        if dir.exists() {
            return Err(Error::Conflict(format!("the drill folder {} is already there", dir.display())));
        }
        std::fs::create_dir_all(dir).map_err(io("creating the drill's folder", dir))?;
        let copy = StoreConfig::in_dir(dir);
        let made = (|| -> Result<()> {
            self.copy_database_file(&copy.database)?;
            std::fs::copy(&self.config.key_file, &copy.key_file).map_err(io("copying the key file", dir))?;
            // The key the copy is under, found by its salt (a change of key may have run meanwhile).
            let keys = KeyFile::read(&copy.key_file)?;
            let salt = check_header(&copy, &keys)?;
            let (key, _) = keys.unlock(&salt, &self.config.keys, &copy.database)?;
            let flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
            let conn = Connection::open_with_flags(&copy.database, flags)?;
            conn.pragma_update(None, "key", key.pragma_value())?;
            configure(&conn)?;
            // What is deleted is overwritten, not left in free pages (the copy's key is beside it).
            conn.execute_batch("PRAGMA secure_delete = ON")?;
            conn.execute_batch(
                "BEGIN IMMEDIATE;
                 DELETE FROM sync_peer;
                 DELETE FROM audit_receipt;
                 DELETE FROM drill;
                 -- The packs printed from the real records (a drill makes its own, marked DRILL).
                 DELETE FROM continuity_pack;
                 DELETE FROM local_setting WHERE key IN ('node_signing_key', 'relay_key', 'relay_hosting', 'relay_port');
                 -- Where the drill's own changes begin in the journal.
                 INSERT INTO local_setting (key, value)
                 SELECT 'drill_from_seq', CAST(coalesce(max(seq), 0) AS TEXT) FROM journal WHERE true
                 ON CONFLICT (key) DO UPDATE SET value = excluded.value;
                 COMMIT;",
            )?;
            for (key, value) in marks {
                conn.execute(
                    "INSERT INTO local_setting (key, value) VALUES (?1, ?2) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                    params![key, value],
                )?;
            }
            new_node(&conn, self.clock.as_ref(), fingerprint)?;
            conn.execute_batch("VACUUM")?;
            Ok(())
        })();
        if made.is_err() {
            let _ = std::fs::remove_dir_all(dir);
        }
        made
    }

    /// Copies the database file to `to` while nothing can change it: the WAL is checkpointed into
    /// the file and emptied, then a write transaction is held (so no process, this one or another,
    /// can commit) while the WAL is seen to be still empty and the file is copied. Busy readers or
    /// writers elsewhere make it try again, a few times.
    fn copy_database_file(&self, to: &Path) -> Result<()> {
        let mut wal = self.config.database.clone().into_os_string();
        wal.push("-wal");
        let wal = PathBuf::from(wal);
        let mut conn = self.lock_writer();
        for attempt in 0..5 {
            if attempt > 0 {
                std::thread::sleep(std::time::Duration::from_millis(200));
            }
            let busy: i64 = conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |r| r.get(0))?;
            if busy != 0 {
                continue;
            }
            // Rolled back when dropped, whatever happens while it is held.
            let tx = match conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate) {
                Ok(tx) => tx,
                Err(e) if e.sqlite_error_code() == Some(SqliteCode::DatabaseBusy) => continue,
                Err(e) => return Err(e.into()),
            };
            let empty = std::fs::metadata(&wal).map(|m| m.len() == 0).unwrap_or(true);
            let copied = empty.then(|| std::fs::copy(&self.config.database, to));
            drop(tx);
            match copied {
                Some(Ok(_)) => return Ok(()),
                Some(Err(source)) => {
                    return Err(Error::Io { action: "copying the database", path: to.to_path_buf(), source })
                }
                None => continue,
            }
        }
        Err(Error::Conflict("the database is busy and could not be copied; try again in a moment".into()))
    }

    /// The writer connection, for the write path only.
    pub(crate) fn lock_writer(&self) -> MutexGuard<'_, Connection> {
        match self.writer.try_lock() {
            Ok(conn) => conn,
            Err(std::sync::TryLockError::Poisoned(e)) => e.into_inner(),
            Err(std::sync::TryLockError::WouldBlock) => {
                self.writers_waiting.fetch_add(1, Ordering::SeqCst);
                let conn = lock(&self.writer);
                self.writers_waiting.fetch_sub(1, Ordering::SeqCst);
                conn
            }
        }
    }

    /// Whether another thread waits for the writer connection (asked by the one holding it).
    pub(crate) fn writer_wanted(&self) -> bool {
        self.writers_waiting.load(Ordering::SeqCst) > 0
    }

    /// The key the database is under now.
    pub(crate) fn database_key(&self) -> DatabaseKey {
        self.key.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    pub(crate) fn lock_reader(&self) -> MutexGuard<'_, Connection> {
        lock(&self.reader)
    }
}

/// `path` with `suffix` added to its file name.
fn with_suffix(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.as_os_str().to_os_string();
    name.push(suffix);
    PathBuf::from(name)
}

/// A database file with its WAL, shared-memory and rollback-journal files.
pub(crate) fn companions(database: &Path) -> Vec<PathBuf> {
    ["", "-wal", "-shm", "-journal"].iter().map(|end| with_suffix(database, end)).collect()
}

/// Where a restore keeps the database it replaced (and a stopped restore the old WAL), inside the
/// data folder.
pub const REPLACED_FOLDER: &str = "replaced";
/// The UTC time in the names of backups and of folders in `replaced/`.
pub(crate) const NAME_TIME: &str = "%Y-%m-%dT%H-%M-%SZ";

/// Finds a write-ahead log that went missing while it still held saved changes. After a crash (or
/// while the app runs) the -wal file holds committed changes not yet copied into the database, and the
/// -shm index beside it records how far the log reaches (`mxFrame`) and how much of it was copied back
/// (`nBackfill`). SQLite, finding the index without its log, would quietly start from the older
/// database; here the loss is named instead, and nothing is opened or changed. A log deleted together
/// with its index leaves no trace here; sync finds that loss (the node's numbers go backwards).
fn check_wal(database: &Path) -> Result<()> {
    let wal = with_suffix(database, "-wal");
    // Only a log known to be missing counts (a folder that cannot be read is not proof of a loss).
    if !matches!(wal.try_exists(), Ok(false)) {
        return Ok(());
    }
    let Some(waiting) = wal_frames_not_checkpointed(&with_suffix(database, "-shm")) else { return Ok(()) };
    Err(Error::Corrupt {
        path: database.to_path_buf(),
        detail: format!(
            "its write-ahead log {} is missing, and it held saved changes not yet written into the database ({waiting} pages). The database and its -shm file are left as they are. If the -wal file was moved, put it back",
            wal.display()
        ),
    })
}

/// How many pages of a write-ahead log its shared-memory index says were not yet copied into the
/// database, if the index is whole and says any. The index header (SQLite's `WalIndexHdr`, twice, then
/// `WalCkptInfo`) is in the machine's own byte order.
fn wal_frames_not_checkpointed(shm: &Path) -> Option<u32> {
    use std::io::Read;
    let mut header = [0u8; 100];
    std::fs::File::open(shm).ok()?.read_exact(&mut header).ok()?;
    let word = |at: usize| u32::from_ne_bytes([header[at], header[at + 1], header[at + 2], header[at + 3]]);
    let initialised = header[12] != 0;
    let copies_agree = header[..48] == header[48..96];
    let (max_frame, backfilled) = (word(16), word(96));
    (initialised && copies_agree && max_frame > backfilled).then(|| max_frame - backfilled)
}

/// Removes a half-built database and its WAL, shared-memory and rollback-journal files.
fn remove_leftovers(database: &Path) {
    for file in companions(database) {
        let _ = std::fs::remove_file(file);
    }
}

/// Retires the current node (if any) and records a new one.
fn new_node(conn: &Connection, clock: &dyn Clock, fingerprint: &str) -> Result<Uuid> {
    let now = crate::time::stored(clock.now());
    let id = clock.new_id();
    conn.execute_batch("BEGIN IMMEDIATE")?;
    // Where each retired node's own numbering stopped here: changes of that node numbered later were
    // made elsewhere (by the PC this database was copied from) and arrive without audit entries here.
    let done = conn
        .execute(
            "INSERT INTO local_setting (key, value)
             SELECT 'retired_seq:' || n.id, coalesce((SELECT last_seq FROM node_counter c WHERE c.node_id = n.id), 0)
             FROM node n WHERE n.retired_at IS NULL
             ON CONFLICT (key) DO NOTHING",
            [],
        )
        .and_then(|_| conn.execute("UPDATE node SET retired_at = ?1 WHERE retired_at IS NULL", [&now]))
        .and_then(|_| {
            conn.execute(
                "INSERT INTO node (id, created_at, fingerprint) VALUES (?1, ?2, ?3)",
                params![id.to_string(), now, fingerprint],
            )
        });
    match done {
        Ok(_) => {
            conn.execute_batch("COMMIT")?;
            Ok(id)
        }
        Err(e) => {
            let _ = conn.execute_batch("ROLLBACK");
            Err(e.into())
        }
    }
}

/// Each connection's page cache, in KiB as `PRAGMA cache_size` takes it (negative): 64 MiB.
const CACHE_KIB: i64 = -65536;

fn lock(conn: &Mutex<Connection>) -> MutexGuard<'_, Connection> {
    // A panic while holding the lock cannot leave a transaction open (rusqlite rolls back on drop),
    // so the connection is still sound.
    conn.lock().unwrap_or_else(|e| e.into_inner())
}

fn configure(conn: &Connection) -> Result<()> {
    // WAL with synchronous=FULL: a commit that returned is on disk. Temporary tables and indices
    // stay in memory so that no unencrypted spill file is written beside the database.
    let mode: String = conn.query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))?;
    if !mode.eq_ignore_ascii_case("wal") {
        return Err(Error::Internal(format!("could not switch the journal to WAL (got {mode})")));
    }
    // A 64 MiB page cache keeps the hot index pages decrypted in memory (SQLite's default is 2 MiB).
    conn.execute_batch(
        "PRAGMA synchronous = FULL;
         PRAGMA foreign_keys = ON;
         PRAGMA temp_store = MEMORY;
         PRAGMA busy_timeout = 5000;",
    )?;
    conn.pragma_update(None, "cache_size", CACHE_KIB)?;
    // Applying a batch of received changes prepares a statement per kind of record and shape of
    // change; the default cache of 16 would re-prepare them over and over.
    conn.set_prepared_statement_cache_capacity(256);
    Ok(())
}

/// The writer's connection opened again under `key` (a change of key that did not happen).
pub(crate) fn open_writer(config: &StoreConfig, key: &DatabaseKey) -> Result<Connection> {
    let flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let conn = Connection::open_with_flags(&config.database, flags)?;
    conn.pragma_update(None, "key", key.pragma_value())?;
    conn.query_row("SELECT count(*) FROM sqlite_master", [], |r| r.get::<_, i64>(0))?;
    configure(&conn)?;
    Ok(conn)
}

/// The read-only connection: opened without write access, and told to refuse changes as well.
pub(crate) fn open_reader(config: &StoreConfig, key: &DatabaseKey) -> Result<Connection> {
    let flags = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let conn = Connection::open_with_flags(&config.database, flags)?;
    conn.pragma_update(None, "key", key.pragma_value())?;
    conn.execute_batch(
        "PRAGMA query_only = ON;
         PRAGMA temp_store = MEMORY;
         PRAGMA busy_timeout = 5000;",
    )?;
    conn.pragma_update(None, "cache_size", CACHE_KIB)?;
    Ok(conn)
}

/// Tells a plain SQLite file, a file that is no database at all, and a database made with another key
/// apart, before SQLCipher is asked to decrypt anything.
/// Returns the file's salt, which the key file knows.
pub(crate) fn check_header(config: &StoreConfig, keys: &KeyFile) -> Result<[u8; SALT_BYTES]> {
    let salt = check_format(&config.database)?;
    if !keys.knows(&salt) {
        return Err(Error::WrongKey { database: config.database.clone(), key_file: config.key_file.clone() });
    }
    Ok(salt)
}

/// Tells an empty, short, plain or ragged file from an encrypted database; returns its salt.
pub(crate) fn check_format(path: &Path) -> Result<[u8; SALT_BYTES]> {
    let path = &path.to_path_buf();
    let not_db = |reason: &str| Error::NotADatabase { path: path.clone(), reason: reason.into() };
    let io = |source| Error::Io { action: "reading the database", path: path.clone(), source };
    let len = std::fs::metadata(path).map_err(io)?.len();
    if len == 0 {
        return Err(not_db("the file is empty"));
    }
    let mut header = [0u8; 16];
    let mut file = std::fs::File::open(path).map_err(io)?;
    if len < header.len() as u64 {
        return Err(not_db("the file is too short"));
    }
    file.read_exact(&mut header).map_err(io)?;
    if header == PLAIN_SQLITE_HEADER {
        return Err(not_db("it is an unencrypted SQLite database"));
    }
    if len % PAGE_SIZE != 0 {
        return Err(not_db("its size is not a whole number of database pages"));
    }
    let mut salt = [0u8; SALT_BYTES];
    salt.copy_from_slice(&header[..SALT_BYTES]);
    Ok(salt)
}

fn corrupt_if_damaged(e: Error, path: &Path) -> Error {
    match &e {
        Error::Storage(inner) if is_damage(inner) => {
            Error::Corrupt { path: path.to_path_buf(), detail: describe(inner) }
        }
        _ => e,
    }
}

pub(crate) use crate::error::is_damage;

pub(crate) fn describe(e: &rusqlite::Error) -> String {
    match e.sqlite_error_code() {
        Some(SqliteCode::NotADatabase) => "its pages cannot be decrypted".into(),
        Some(SqliteCode::DatabaseCorrupt) => "its structure is malformed".into(),
        _ => e.to_string(),
    }
}
