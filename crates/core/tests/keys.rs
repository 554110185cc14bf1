//! The database key: kept out of the data folder, the recovery key that opens the database and its
//! backups on another PC, and changing the key. Each "PC" here has a credential store of its own
//! (`Pc`, a map standing in for one PC's store; `secret_service.rs` runs the same path against
//! the real Secret Service).

mod common;

use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex};

use lifeboat_core::store::backup;
use lifeboat_core::{example, CredentialStore, ErrorCode, KeyAccess, NewClient, RecoveryKey, Role, Store, StoreConfig};
use tempfile::TempDir;

use common::{clock, PASSWORD};

/// One PC's credential store: what it holds, under which account; `silent` makes it stop
/// answering (locked, or a prompt nobody sees).
#[derive(Default)]
struct Pc(Mutex<HashMap<String, Vec<u8>>>, std::sync::atomic::AtomicBool);

impl Pc {
    fn answers(&self) -> Result<(), String> {
        match self.1.load(std::sync::atomic::Ordering::SeqCst) {
            true => Err("it did not answer".into()),
            false => Ok(()),
        }
    }
}

impl CredentialStore for Pc {
    fn name(&self) -> String {
        "this PC's credential store".into()
    }
    fn get(&self, account: &str) -> Result<Option<Vec<u8>>, String> {
        self.answers()?;
        Ok(self.0.lock().unwrap().get(account).cloned())
    }
    fn set(&self, account: &str, secret: &[u8]) -> Result<(), String> {
        self.answers()?;
        self.0.lock().unwrap().insert(account.into(), secret.to_vec());
        Ok(())
    }
}

fn on(pc: &Arc<Pc>, dir: &Path) -> StoreConfig {
    StoreConfig::in_dir(dir).with_keys(KeyAccess { credentials: Some(pc.clone()), ..KeyAccess::default() })
}

fn copy_folder(from: &Path, to: &Path) {
    for name in [StoreConfig::DATABASE_FILE, StoreConfig::KEY_FILE] {
        std::fs::copy(from.join(name), to.join(name)).unwrap();
    }
}

fn client(store: &Store, session: &lifeboat_core::Session, last_name: &str) -> uuid::Uuid {
    let new = NewClient {
        first_name: "Ada".into(),
        last_name: last_name.into(),
        phone: "07700 900123".into(),
        ..Default::default()
    };
    store.register_client(session, &new).unwrap().id
}

fn last_names(store: &Store) -> Vec<String> {
    store
        .read(|r| {
            let mut stmt = r.prepare("SELECT last_name FROM client ORDER BY last_name")?;
            let names = stmt.query_map([], |row| row.get(0))?.collect::<rusqlite::Result<Vec<String>>>()?;
            Ok(names)
        })
        .unwrap()
}

/// A practice on PC A, whose key is in A's credential store, with a recovery key and a client.
fn practice_on(pc: &Arc<Pc>, dir: &Path) -> (Store, lifeboat_core::Session, String) {
    let store = Store::open(on(pc, dir), clock()).unwrap();
    let admin = store.create_practice(&example::practice_setup("admin", PASSWORD)).unwrap();
    let recovery = store.make_recovery_key(&admin).unwrap();
    client(&store, &admin, "Ashworth");
    (store, admin, recovery)
}

fn key_file_text(dir: &Path) -> String {
    std::fs::read_to_string(dir.join(StoreConfig::KEY_FILE)).unwrap()
}

#[test]
fn the_key_is_kept_in_the_credential_store_and_the_key_file_holds_none() {
    let pc = Arc::new(Pc::default());
    let dir = TempDir::new().unwrap();
    let (store, admin, recovery) = practice_on(&pc, dir.path());
    let held = pc.0.lock().unwrap().clone();
    assert_eq!(held.len(), 1, "one entry, for this database");
    let (account, key) = held.into_iter().next().unwrap();
    assert_eq!(key.len(), 32);
    let text = key_file_text(dir.path());
    assert!(!text.contains(&hex::encode(&key)), "the key file holds no key: {text}");
    let value: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(value["keys"][0]["os"].as_str(), Some(account.as_str()), "it names the entry: {text}");
    assert!(value["keys"][0].get("plain").is_none(), "{text}");
    let protection = store.key_protection(&admin).unwrap();
    assert_eq!(
        protection,
        lifeboat_core::KeyProtection {
            credential_store: Some("this PC's credential store".into()),
            key_in_file: false,
            passphrase: false,
            recovery_key_made_on: Some("2026-03-29".into()),
            recovery_key_confirmed: true,
            earlier_keys: 0,
        }
    );
    // The recovery key is as printed: eight groups of four.
    assert_eq!(recovery.len(), 39);
    assert!(RecoveryKey::parse(&recovery).is_ok());
    drop(store);
    // Opened again on the same PC: no recovery key needed.
    let store = Store::open(on(&pc, dir.path()), clock()).unwrap();
    assert_eq!(last_names(&store), ["Ashworth"]);
}

#[test]
fn the_database_copied_to_another_pc_opens_with_the_recovery_key_and_only_with_it() {
    let (pc_a, pc_b) = (Arc::new(Pc::default()), Arc::new(Pc::default()));
    let (a, b) = (TempDir::new().unwrap(), TempDir::new().unwrap());
    let (store, _, recovery) = practice_on(&pc_a, a.path());
    drop(store);
    copy_folder(a.path(), b.path());
    let database = std::fs::read(b.path().join(StoreConfig::DATABASE_FILE)).unwrap();

    // Without the recovery key: refused, in words, and nothing touched.
    let err = Store::open(on(&pc_b, b.path()), clock()).err().unwrap();
    assert_eq!(err.code(), ErrorCode::KeyNeeded);
    let text = err.to_string();
    assert!(text.contains("is not on this PC") && text.contains("recovery key"), "{text}");
    // A wrong recovery key: refused, saying so.
    let wrong = RecoveryKey::parse(&"7".repeat(32)).unwrap();
    let err = Store::open(on(&pc_b, b.path()).with_recovery_key(wrong), clock()).err().unwrap();
    assert_eq!(err.code(), ErrorCode::Invalid);
    assert!(err.to_string().contains("does not open this database"), "{err}");
    assert_eq!(std::fs::read(b.path().join(StoreConfig::DATABASE_FILE)).unwrap(), database, "untouched");

    // The right one, typed in lower case with spaces: it opens, and PC B keeps the key from now on.
    let typed = recovery.to_lowercase().replace('-', " ");
    let store =
        Store::open(on(&pc_b, b.path()).with_recovery_key(RecoveryKey::parse(&typed).unwrap()), clock()).unwrap();
    assert_eq!(last_names(&store), ["Ashworth"]);
    assert!(store.verify_audit().unwrap().is_intact());
    drop(store);
    assert_eq!(pc_b.0.lock().unwrap().len(), 1, "PC B's store holds the key now");
    let store = Store::open(on(&pc_b, b.path()), clock()).unwrap();
    assert_eq!(last_names(&store), ["Ashworth"]);
    drop(store);
    // A PC with no credential store keeps it in the file, after the recovery key.
    let c = TempDir::new().unwrap();
    copy_folder(a.path(), c.path());
    let bare = StoreConfig::in_dir(c.path()).with_keys(KeyAccess::default());
    assert_eq!(Store::open(bare.clone(), clock()).err().unwrap().code(), ErrorCode::KeyNeeded);
    Store::open(bare.clone().with_recovery_key(RecoveryKey::parse(&recovery).unwrap()), clock()).unwrap();
    assert_eq!(last_names(&Store::open(bare, clock()).unwrap()), ["Ashworth"]);
}

#[test]
fn a_backup_opens_and_is_restored_on_another_pc_with_the_recovery_key() {
    let (pc_a, pc_b) = (Arc::new(Pc::default()), Arc::new(Pc::default()));
    let (a, stick, b) = (TempDir::new().unwrap(), TempDir::new().unwrap(), TempDir::new().unwrap());
    let (store, _, recovery) = practice_on(&pc_a, a.path());
    let taken = store.back_up(&store.config().backups_dir()).unwrap();
    let copied = store.copy_backup(&taken, stick.path()).unwrap();
    drop(store);
    // The stick holds the backup and its own key file, which holds no key in the clear.
    let own = std::fs::read_to_string(stick.path().join(format!("{}.key", taken.name))).unwrap();
    let key = pc_a.0.lock().unwrap().values().next().unwrap().clone();
    assert!(!own.contains(&hex::encode(&key)) && !own.contains("plain") && !own.contains("\"os\""), "{own}");

    // PC B has nothing but the stick: without the recovery key the backup does not open.
    let config = on(&pc_b, b.path());
    let err = backup::inspect(&copied, &config).err().unwrap();
    assert_eq!(err.code(), ErrorCode::KeyNeeded, "{err}");
    let config = config.with_recovery_key(RecoveryKey::parse(&recovery).unwrap());
    let summary = backup::inspect(&copied, &config).unwrap();
    assert_eq!(summary.counts.clients, 1);
    let restored = backup::restore(&config, &copied, clock()).unwrap();
    assert_eq!(restored.backup.counts.clients, 1);
    // It opens on PC B from now on without the recovery key.
    let store = Store::open(on(&pc_b, b.path()), clock()).unwrap();
    assert_eq!(last_names(&store), ["Ashworth"]);
    assert!(store.verify_audit().unwrap().is_intact());
}

#[test]
fn changing_the_key_re_encrypts_the_database_and_older_backups_still_open() {
    let pc = Arc::new(Pc::default());
    let (a, stick) = (TempDir::new().unwrap(), TempDir::new().unwrap());
    let (store, admin, first_recovery) = practice_on(&pc, a.path());
    let before = store.back_up(&store.config().backups_dir()).unwrap();
    let on_stick = store.copy_backup(&before, stick.path()).unwrap();
    let old_key = pc.0.lock().unwrap().values().next().unwrap().clone();
    let old_salt = std::fs::read(a.path().join(StoreConfig::DATABASE_FILE)).unwrap()[..16].to_vec();

    // Only an admin may change it.
    let manager = common::login_as(&store, &admin, "m.one", Role::Manager);
    assert_eq!(store.change_key(&manager).err().unwrap().code(), ErrorCode::Forbidden);
    assert_eq!(store.make_recovery_key(&manager).err().unwrap().code(), ErrorCode::Forbidden);

    let second_recovery = store.change_key(&admin).unwrap();
    assert_ne!(second_recovery, first_recovery);
    // Until the admin confirms the new recovery key is kept, the one before still opens a copy.
    {
        let b = TempDir::new().unwrap();
        copy_folder(a.path(), b.path());
        let other = Arc::new(Pc::default());
        let first = RecoveryKey::parse(&first_recovery).unwrap();
        assert!(Store::open(on(&other, b.path()).with_recovery_key(first), clock()).is_ok());
    }
    assert!(!store.key_protection(&admin).unwrap().recovery_key_confirmed);
    store.confirm_recovery_key(&admin).unwrap();
    assert!(store.key_protection(&admin).unwrap().recovery_key_confirmed);
    // Work goes on through the same store, under the new key.
    client(&store, &admin, "Brennan");
    assert_eq!(last_names(&store), ["Ashworth", "Brennan"]);
    let after = store.back_up(&store.config().backups_dir()).unwrap();
    let protection = store.key_protection(&admin).unwrap();
    assert_eq!(protection.earlier_keys, 1);
    drop(store);

    // The file is under a new salt and key: the old key no longer opens it.
    let db = a.path().join(StoreConfig::DATABASE_FILE);
    assert_ne!(std::fs::read(&db).unwrap()[..16].to_vec(), old_salt);
    let raw = rusqlite::Connection::open(&db).unwrap();
    raw.pragma_update(None, "key", format!("x'{}{}'", hex::encode(&old_key), hex::encode(&old_salt))).unwrap();
    assert!(raw.query_row("SELECT count(*) FROM sqlite_master", [], |r| r.get::<_, i64>(0)).is_err());
    drop(raw);
    let store = Store::open(on(&pc, a.path()), clock()).unwrap();
    assert_eq!(last_names(&store), ["Ashworth", "Brennan"]);
    assert!(store.verify_audit().unwrap().is_intact());
    drop(store);

    // On this PC both backups open; on another PC each opens with the recovery key of its time
    // (the stick's copy was made before the change), and the new one with the new key.
    let here = on(&pc, a.path());
    assert_eq!(backup::inspect(&before.path, &here).unwrap().counts.clients, 1);
    assert_eq!(backup::inspect(&after.path, &here).unwrap().counts.clients, 2);
    let elsewhere = TempDir::new().unwrap();
    let other = Arc::new(Pc::default());
    let with = |k: &str| on(&other, elsewhere.path()).with_recovery_key(RecoveryKey::parse(k).unwrap());
    assert_eq!(backup::inspect(&on_stick, &with(&first_recovery)).unwrap().counts.clients, 1);
    assert_eq!(backup::inspect(&after.path, &with(&second_recovery)).unwrap().counts.clients, 2);
    assert_eq!(backup::inspect(&after.path, &with(&first_recovery)).err().unwrap().code(), ErrorCode::Invalid);
    // The backups folder's older backup is sealed again with the new recovery key.
    assert_eq!(backup::inspect(&before.path, &with(&second_recovery)).unwrap().counts.clients, 1);

    // The database copied elsewhere opens with the new recovery key, not the old.
    let b = TempDir::new().unwrap();
    copy_folder(a.path(), b.path());
    let config = on(&other, b.path());
    let old = Store::open(config.clone().with_recovery_key(RecoveryKey::parse(&first_recovery).unwrap()), clock());
    assert_eq!(old.err().unwrap().code(), ErrorCode::Invalid);
    let store = Store::open(config.with_recovery_key(RecoveryKey::parse(&second_recovery).unwrap()), clock()).unwrap();
    assert_eq!(last_names(&store), ["Ashworth", "Brennan"]);
}

#[test]
fn restoring_a_backup_taken_under_an_earlier_key_brings_that_key_back_as_current() {
    let pc = Arc::new(Pc::default());
    let a = TempDir::new().unwrap();
    let (store, admin, _) = practice_on(&pc, a.path());
    let before = store.back_up(&store.config().backups_dir()).unwrap();
    store.change_key(&admin).unwrap();
    client(&store, &admin, "Brennan");
    drop(store);
    backup::restore(&on(&pc, a.path()), &before.path, clock()).unwrap();
    let store = Store::open(on(&pc, a.path()), clock()).unwrap();
    assert_eq!(last_names(&store), ["Ashworth"]);
    let admin = store.login("admin", PASSWORD).unwrap();
    // And its key can be changed again from there.
    store.change_key(&admin).unwrap();
    assert_eq!(last_names(&store), ["Ashworth"]);
}

#[test]
fn a_first_release_key_file_is_read_and_moved_into_the_credential_store() {
    let dir = TempDir::new().unwrap();
    // A database made where there was no credential store: its key in the file.
    let store = Store::open(StoreConfig::in_dir(dir.path()).with_keys(KeyAccess::default()), clock()).unwrap();
    store.create_practice(&example::practice_setup("admin", PASSWORD)).unwrap();
    drop(store);
    let value: serde_json::Value = serde_json::from_str(&key_file_text(dir.path())).unwrap();
    let (key, salt) = (
        value["keys"][0]["plain"].as_str().unwrap().to_string(),
        value["keys"][0]["salt"].as_str().unwrap().to_string(),
    );
    // Written as the first release wrote it.
    let v1 = serde_json::json!({ "format": "lifeboat-key-1", "key": key, "salt": salt });
    std::fs::write(dir.path().join(StoreConfig::KEY_FILE), serde_json::to_string_pretty(&v1).unwrap()).unwrap();
    // Opened where there is a credential store: read, and written in the new format; the key stays
    // in the file while no recovery key could open the database without it.
    let pc = Arc::new(Pc::default());
    let store = Store::open(on(&pc, dir.path()), clock()).unwrap();
    let admin = store.login("admin", PASSWORD).unwrap();
    let text = key_file_text(dir.path());
    assert!(text.contains("lifeboat-key-2") && text.contains(&key), "{text}");
    assert!(pc.0.lock().unwrap().is_empty());
    // A recovery key made: the key moves into the credential store, and out of the file.
    let recovery = store.make_recovery_key(&admin).unwrap();
    drop(store);
    let text = key_file_text(dir.path());
    assert!(!text.contains(&key), "{text}");
    assert_eq!(pc.0.lock().unwrap().values().next().map(hex::encode), Some(key));
    assert!(Store::open(on(&pc, dir.path()), clock()).is_ok());
    let copy = TempDir::new().unwrap();
    copy_folder(dir.path(), copy.path());
    let bare = StoreConfig::in_dir(copy.path()).with_keys(KeyAccess::default());
    assert!(Store::open(bare.with_recovery_key(RecoveryKey::parse(&recovery).unwrap()), clock()).is_ok());
}

#[test]
fn a_key_file_that_was_tampered_with_is_refused_in_words() {
    let pc = Arc::new(Pc::default());
    let dir = TempDir::new().unwrap();
    let (store, _, recovery) = practice_on(&pc, dir.path());
    drop(store);
    let path = dir.path().join(StoreConfig::KEY_FILE);
    let good = key_file_text(dir.path());
    let cases = [
        ("lifeboat-key-2", "lifeboat-key-9", "unknown format"),
        ("\"current\"", "\"retired\"", "names no current key"),
        ("argon2id-v19", "md5", "sealed in a way this version does not know"),
    ];
    for (from, to, said) in cases {
        std::fs::write(&path, good.replacen(from, to, 1)).unwrap();
        let config = StoreConfig::in_dir(dir.path()).with_keys(KeyAccess {
            recovery_key: Some(RecoveryKey::parse(&recovery).unwrap()),
            ..KeyAccess::default()
        });
        let err = Store::open(config, clock()).err().unwrap();
        assert!(err.to_string().contains(said), "{from} -> {to}: {err}");
    }
    std::fs::write(&path, &good).unwrap();
    assert!(Store::open(on(&pc, dir.path()), clock()).is_ok());
}

#[test]
fn a_new_recovery_key_is_refused_when_the_key_cannot_be_read_and_the_old_one_works_until_confirmed() {
    let pc = Arc::new(Pc::default());
    let dir = TempDir::new().unwrap();
    let (store, admin, first) = practice_on(&pc, dir.path());
    // The credential store stops answering: a new recovery key is refused, nothing changed.
    let before = key_file_text(dir.path());
    pc.1.store(true, std::sync::atomic::Ordering::SeqCst);
    let err = store.make_recovery_key(&admin).err().unwrap();
    assert_eq!(err.code(), ErrorCode::Conflict, "{err}");
    assert!(err.to_string().contains("could not be read to seal it with a new recovery key"), "{err}");
    assert_eq!(key_file_text(dir.path()), before);
    pc.1.store(false, std::sync::atomic::Ordering::SeqCst);

    // Answering again: a new key made; both open a copy until it is confirmed, then only it.
    let second = store.make_recovery_key(&admin).unwrap();
    let opens = |recovery: &str| {
        let copy = TempDir::new().unwrap();
        copy_folder(dir.path(), copy.path());
        let bare = StoreConfig::in_dir(copy.path()).with_keys(KeyAccess::default());
        Store::open(bare.with_recovery_key(RecoveryKey::parse(recovery).unwrap()), clock()).map(drop)
    };
    assert!(opens(&first).is_ok() && opens(&second).is_ok());
    store.confirm_recovery_key(&admin).unwrap();
    assert_eq!(opens(&first).err().unwrap().code(), ErrorCode::Invalid);
    assert!(opens(&second).is_ok());
}

#[test]
fn a_change_of_key_that_cannot_happen_is_undone_and_work_goes_on() {
    let pc = Arc::new(Pc::default());
    let dir = TempDir::new().unwrap();
    let (store, admin, recovery) = practice_on(&pc, dir.path());
    let before = key_file_text(dir.path());
    // Another program holds the database's write lock for longer than the change waits.
    let other = common::raw_connection_with(dir.path(), pc.0.lock().unwrap().values().next().unwrap());
    other.execute_batch("BEGIN IMMEDIATE").unwrap();
    let err = store.change_key(&admin).err().unwrap();
    assert_eq!(err.code(), ErrorCode::Conflict, "{err}");
    assert!(err.to_string().contains("nothing was changed"), "{err}");
    other.execute_batch("ROLLBACK").unwrap();
    drop(other);
    assert_eq!(key_file_text(dir.path()), before, "the key file is as it was");
    // The same store writes and reads on, and the database opens again, with the same recovery key.
    client(&store, &admin, "Brennan");
    assert_eq!(last_names(&store), ["Ashworth", "Brennan"]);
    drop(store);
    let store = Store::open(on(&pc, dir.path()), clock()).unwrap();
    assert_eq!(last_names(&store), ["Ashworth", "Brennan"]);
    assert!(store.verify_audit().unwrap().is_intact());
    let copy = TempDir::new().unwrap();
    copy_folder(dir.path(), copy.path());
    let bare = StoreConfig::in_dir(copy.path()).with_keys(KeyAccess::default());
    assert!(Store::open(bare.with_recovery_key(RecoveryKey::parse(&recovery).unwrap()), clock()).is_ok());
    // And then it can be changed.
    store.change_key(&admin).unwrap();
}

#[test]
fn a_backup_restored_with_the_older_recovery_key_still_opens_with_it_afterwards() {
    let (pc_a, pc_b) = (Arc::new(Pc::default()), Arc::new(Pc::default()));
    let (a, b) = (TempDir::new().unwrap(), TempDir::new().unwrap());
    let (store, admin, printed) = practice_on(&pc_a, a.path());
    // A newer recovery key made but never confirmed as kept: the printed one still works.
    let unconfirmed = store.make_recovery_key(&admin).unwrap();
    let taken = store.back_up(&store.config().backups_dir()).unwrap();
    drop(store);
    // The new PC restores the backup with the printed key (staged as the window does, then done).
    let config = on(&pc_b, b.path()).with_recovery_key(RecoveryKey::parse(&printed).unwrap());
    backup::stage_restore(&config, &taken.path).unwrap();
    backup::finish_staged_restore(&on(&pc_b, b.path()), clock()).unwrap().unwrap();
    assert_eq!(last_names(&Store::open(on(&pc_b, b.path()), clock()).unwrap()), ["Ashworth"]);
    // A copy of the new PC's records opens with either key, as the old PC's did.
    for key in [&printed, &unconfirmed] {
        let c = TempDir::new().unwrap();
        copy_folder(b.path(), c.path());
        let bare = StoreConfig::in_dir(c.path()).with_keys(KeyAccess::default());
        let opened = Store::open(bare.with_recovery_key(RecoveryKey::parse(key).unwrap()), clock());
        assert!(opened.is_ok(), "{:?}", opened.err());
    }
}

#[test]
fn a_staged_restore_that_fails_learns_no_key() {
    let (pc_a, pc_b) = (Arc::new(Pc::default()), Arc::new(Pc::default()));
    let (a, b) = (TempDir::new().unwrap(), TempDir::new().unwrap());
    let (store, _, recovery) = practice_on(&pc_a, a.path());
    let taken = store.back_up(&store.config().backups_dir()).unwrap();
    drop(store);
    drop(Store::open(on(&pc_b, b.path()), clock()).unwrap());
    let before = key_file_text(b.path());
    // A wrong key: refused, nothing learned, no restore asked for.
    let wrong = on(&pc_b, b.path()).with_recovery_key(RecoveryKey::parse(&"7".repeat(32)).unwrap());
    assert_eq!(backup::stage_restore(&wrong, &taken.path).err().unwrap().code(), ErrorCode::Invalid);
    assert_eq!(key_file_text(b.path()), before);
    assert!(!b.path().join(backup::PENDING_RESTORE_FILE).exists());
    let _ = recovery;
}

/// This PC without a credential store: no passphrase yet, the key is in the file.
fn no_store(dir: &Path) -> StoreConfig {
    StoreConfig::in_dir(dir).with_keys(KeyAccess::default())
}

fn with_passphrase(dir: &Path, passphrase: &str) -> StoreConfig {
    no_store(dir).with_passphrase(lifeboat_core::Passphrase::typed(passphrase).unwrap())
}

/// The key changes recorded in the journal, oldest first (what was done; never a key).
fn key_changes(store: &Store) -> Vec<String> {
    store
        .read(|r| {
            let mut stmt = r.prepare(
                "SELECT json_extract(j.payload, '$.event') FROM journal j
                 JOIN audit a ON a.op_id = j.op_id
                 WHERE j.entity = 'key_change' AND a.action = 'practice.edit' ORDER BY a.seq",
            )?;
            let events = stmt.query_map([], |row| row.get(0))?.collect::<rusqlite::Result<Vec<String>>>()?;
            Ok(events)
        })
        .unwrap()
}

#[test]
fn on_a_pc_without_a_credential_store_a_passphrase_takes_the_key_out_of_the_file() {
    let a = TempDir::new().unwrap();
    let store = Store::open(no_store(a.path()), clock()).unwrap();
    let admin = store.create_practice(&example::practice_setup("admin", PASSWORD)).unwrap();
    let recovery = store.make_recovery_key(&admin).unwrap();
    client(&store, &admin, "Ashworth");
    let value: serde_json::Value = serde_json::from_str(&key_file_text(a.path())).unwrap();
    let plain = value["keys"][0]["plain"].as_str().unwrap().to_string();
    assert!(store.key_protection(&admin).unwrap().key_in_file);

    // Only an admin, and only a passphrase long enough.
    let manager = common::login_as(&store, &admin, "m.one", Role::Manager);
    let refused = store.set_passphrase(&manager, "Otter kettle harbour 42").err().unwrap();
    assert_eq!(refused.code(), ErrorCode::Forbidden);
    let short = store.set_passphrase(&admin, "otter").err().unwrap();
    assert_eq!(short.field(), Some("passphrase"), "{short}");
    assert!(short.to_string().contains("is 5 characters; choose at least 12"), "{short}");
    assert!(key_file_text(a.path()).contains(&plain), "a refused passphrase changes nothing");

    let kept = store.set_passphrase(&admin, "Otter kettle harbour 42").unwrap();
    assert_eq!(
        kept,
        lifeboat_core::KeyProtection {
            credential_store: None,
            key_in_file: false,
            passphrase: true,
            recovery_key_made_on: Some("2026-03-29".into()),
            recovery_key_confirmed: true,
            earlier_keys: 0,
        }
    );
    assert!(!key_file_text(a.path()).contains(&plain), "the key left the file: {}", key_file_text(a.path()));
    drop(store);

    // At the next start the passphrase is asked for; a wrong one is refused in words.
    let needed = Store::open(no_store(a.path()), clock()).err().unwrap();
    assert_eq!(needed.code(), ErrorCode::PassphraseNeeded, "{needed}");
    assert!(needed.to_string().contains("protected by this PC's passphrase"), "{needed}");
    let wrong = Store::open(with_passphrase(a.path(), "otter kettle harbour 42"), clock()).err().unwrap();
    assert_eq!((wrong.code(), wrong.field()), (ErrorCode::Invalid, Some("passphrase")), "{wrong}");
    assert!(wrong.to_string().contains("it is not this PC's passphrase"), "{wrong}");
    let store = Store::open(with_passphrase(a.path(), "Otter kettle harbour 42"), clock()).unwrap();
    assert_eq!(last_names(&store), ["Ashworth"]);

    // A change of key seals the new key with the passphrase too; backups open on this PC.
    let admin = store.login("admin", PASSWORD).unwrap();
    let second_recovery = store.change_key(&admin).unwrap();
    store.confirm_recovery_key(&admin).unwrap();
    client(&store, &admin, "Brennan");
    let taken = store.back_up(&store.config().backups_dir()).unwrap();
    assert_eq!(backup::inspect(&taken.path, store.config()).unwrap().counts.clients, 2);
    let text = key_file_text(a.path());
    let value: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert!(value["keys"].as_array().unwrap().iter().all(|k| k.get("plain").is_none()), "{text}");
    // The backup's own key file holds only the recovery seal.
    let own = std::fs::read_to_string(format!("{}.key", taken.path.display())).unwrap();
    assert!(!own.contains("passphrase") && !own.contains("plain"), "{own}");

    // Chosen again, it replaces the one before.
    store.set_passphrase(&admin, "Heron lantern meadow 7").unwrap();
    assert_eq!(
        key_changes(&store),
        ["recovery_key_made", "passphrase_set", "key_changed", "recovery_key_confirmed", "passphrase_changed"]
    );
    assert!(store.verify_audit().unwrap().is_intact());
    drop(store);
    let old = Store::open(with_passphrase(a.path(), "Otter kettle harbour 42"), clock()).err().unwrap();
    assert_eq!(old.code(), ErrorCode::Invalid);
    let store = Store::open(with_passphrase(a.path(), "Heron lantern meadow 7"), clock()).unwrap();
    assert_eq!(last_names(&store), ["Ashworth", "Brennan"]);
    drop(store);

    // The recovery key still opens a copy on another PC, passphrase or none.
    let b = TempDir::new().unwrap();
    copy_folder(a.path(), b.path());
    let old = Store::open(no_store(b.path()).with_recovery_key(RecoveryKey::parse(&recovery).unwrap()), clock());
    assert_eq!(old.err().unwrap().code(), ErrorCode::Invalid, "the first recovery key was confirmed away");
    let config = no_store(b.path()).with_recovery_key(RecoveryKey::parse(&second_recovery).unwrap());
    assert_eq!(last_names(&Store::open(config, clock()).unwrap()), ["Ashworth", "Brennan"]);
}

#[test]
fn a_pc_that_keeps_the_key_in_its_credential_store_needs_no_passphrase() {
    let pc = Arc::new(Pc::default());
    let a = TempDir::new().unwrap();
    let (store, admin, _) = practice_on(&pc, a.path());
    let refused = store.set_passphrase(&admin, "Otter kettle harbour 42").err().unwrap();
    assert_eq!(refused.code(), ErrorCode::Conflict);
    assert!(refused.to_string().contains("already protects it"), "{refused}");
    assert!(!key_file_text(a.path()).contains("passphrase"));
    assert_eq!(key_changes(&store), ["recovery_key_made"]);
}

/// A practice on a PC without a credential store, locked with a passphrase; returns the admin.
fn passphrase_practice(dir: &Path) -> (Store, lifeboat_core::Session) {
    let store = Store::open(no_store(dir), clock()).unwrap();
    let admin = store.create_practice(&example::practice_setup("admin", PASSWORD)).unwrap();
    client(&store, &admin, "Ashworth");
    store.set_passphrase(&admin, "Otter kettle harbour 42").unwrap();
    (store, admin)
}

#[test]
fn a_restore_asked_for_on_a_passphrase_pc_waits_for_the_passphrase_even_mistyped() {
    let a = TempDir::new().unwrap();
    let (store, admin) = passphrase_practice(a.path());
    let taken = store.back_up(&store.config().backups_dir()).unwrap();
    client(&store, &admin, "Later");
    backup::stage_restore(store.config(), &taken.path).unwrap();
    drop(store);
    let started = |config: StoreConfig| backup::finish_staged_restore(&config, clock()).map(|r| r.map(|_| ()));
    // Not typed, then mistyped: asked for again, and the restore still waits.
    let needed = started(no_store(a.path())).unwrap().err().unwrap();
    assert_eq!(needed.code(), ErrorCode::PassphraseNeeded);
    let wrong = started(with_passphrase(a.path(), "otter kettle harbour 42")).unwrap().err().unwrap();
    assert_eq!(wrong.field(), Some("passphrase"), "{wrong}");
    // Typed: restored, once.
    started(with_passphrase(a.path(), "Otter kettle harbour 42")).unwrap().unwrap();
    assert!(started(with_passphrase(a.path(), "Otter kettle harbour 42")).is_none());
    let store = Store::open(with_passphrase(a.path(), "Otter kettle harbour 42"), clock()).unwrap();
    assert_eq!(last_names(&store), ["Ashworth"]);
    // The passphrase forgotten: the recovery key reaches the backup's key instead (a mistyped one
    // keeps the restore waiting).
    let admin = store.login("admin", PASSWORD).unwrap();
    let recovery = store.make_recovery_key(&admin).unwrap();
    let taken = store.back_up(&store.config().backups_dir()).unwrap();
    client(&store, &admin, "Later again");
    backup::stage_restore(store.config(), &taken.path).unwrap();
    drop(store);
    let wrong = no_store(a.path()).with_recovery_key(RecoveryKey::parse(&"7".repeat(32)).unwrap());
    assert_eq!(started(wrong).unwrap().err().unwrap().field(), Some("recovery key"));
    let right = no_store(a.path()).with_recovery_key(RecoveryKey::parse(&recovery).unwrap());
    started(right.clone()).unwrap().unwrap();
    assert_eq!(last_names(&Store::open(right, clock()).unwrap()), ["Ashworth"]);
}

#[test]
fn a_passphrase_that_was_typed_wrong_never_seals_a_key_and_a_copy_opened_with_the_recovery_key_can_take_one() {
    let a = TempDir::new().unwrap();
    let (store, admin) = passphrase_practice(a.path());
    let recovery = store.make_recovery_key(&admin).unwrap();
    drop(store);
    // A wrong passphrase beside the right recovery key: refused, nothing re-sealed.
    let before = key_file_text(a.path());
    let both = with_passphrase(a.path(), "x").with_recovery_key(RecoveryKey::parse(&recovery).unwrap());
    assert_eq!(Store::open(both, clock()).err().unwrap().field(), Some("passphrase"));
    assert_eq!(key_file_text(a.path()), before, "the key file is untouched");

    // The folder copied from a PC that kept the key in its credential store, opened here (no store)
    // with the recovery key: the key is in the file, and an admin can lock it with a passphrase.
    let pc = Arc::new(Pc::default());
    let b = TempDir::new().unwrap();
    let (store, admin, recovery) = practice_on(&pc, b.path());
    drop(store);
    let _ = admin;
    let c = TempDir::new().unwrap();
    copy_folder(b.path(), c.path());
    let config = no_store(c.path()).with_recovery_key(RecoveryKey::parse(&recovery).unwrap());
    let store = Store::open(config, clock()).unwrap();
    let admin = store.login("admin", PASSWORD).unwrap();
    let kept = store.key_protection(&admin).unwrap();
    assert_eq!((kept.credential_store.as_deref(), kept.key_in_file), (None, true), "{kept:?}");
    store.set_passphrase(&admin, "Heron lantern meadow 7").unwrap();
    drop(store);
    assert_eq!(Store::open(no_store(c.path()), clock()).err().unwrap().code(), ErrorCode::PassphraseNeeded);
    assert!(Store::open(with_passphrase(c.path(), "Heron lantern meadow 7"), clock()).is_ok());
}

#[test]
fn a_drill_on_a_passphrase_pc_opens_its_copy_with_the_passphrase() {
    let a = TempDir::new().unwrap();
    let (store, admin) = passphrase_practice(a.path());
    drop(store);
    let store = Store::open(with_passphrase(a.path(), "Otter kettle harbour 42"), clock()).unwrap();
    let admin = store.login("admin", PASSWORD).map(|_| admin).unwrap();
    let plan = lifeboat_core::drill::DrillPlan::standard();
    let drill = store.start_drill(&admin, &plan, &a.path().join("drills")).unwrap();
    let refused = Store::open_drill(&drill, clock()).err().unwrap();
    assert_eq!(refused.code(), ErrorCode::PassphraseNeeded);
    let copy = Store::open_drill_with(&drill, store.config().keys.clone(), clock()).unwrap();
    assert_eq!(copy.drill(), Some(drill.id));
}

#[test]
fn set_up_with_a_passphrase_leaves_the_key_that_sat_in_the_file_opening_nothing() {
    let a = TempDir::new().unwrap();
    let store = Store::open(no_store(a.path()), clock()).unwrap();
    let value: serde_json::Value = serde_json::from_str(&key_file_text(a.path())).unwrap();
    let (plain, salt) = (
        value["keys"][0]["plain"].as_str().unwrap().to_string(),
        value["keys"][0]["salt"].as_str().unwrap().to_string(),
    );
    let admin = store.create_practice(&example::practice_setup("admin", PASSWORD)).unwrap();
    let recovery = store.set_up_passphrase(&admin, "Otter kettle harbour 42").unwrap();
    let kept = store.key_protection(&admin).unwrap();
    assert_eq!(
        (kept.passphrase, kept.key_in_file, kept.recovery_key_confirmed, kept.earlier_keys),
        (true, false, true, 0),
        "{kept:?}"
    );
    drop(store);
    let text = key_file_text(a.path());
    assert!(!text.contains(&plain) && !text.contains(&salt), "the key before set-up is forgotten: {text}");
    // That key no longer decrypts the database.
    let raw = rusqlite::Connection::open(a.path().join(StoreConfig::DATABASE_FILE)).unwrap();
    raw.pragma_update(None, "key", format!("x'{plain}{salt}'")).unwrap();
    assert!(raw.query_row("SELECT count(*) FROM sqlite_master", [], |r| r.get::<_, i64>(0)).is_err());
    drop(raw);
    // The passphrase opens it here, the recovery key shown opens a copy elsewhere.
    assert!(Store::open(with_passphrase(a.path(), "Otter kettle harbour 42"), clock()).is_ok());
    let b = TempDir::new().unwrap();
    copy_folder(a.path(), b.path());
    let config = no_store(b.path()).with_recovery_key(RecoveryKey::parse(&recovery).unwrap());
    assert!(Store::open(config, clock()).is_ok());
}

/// Another PC's backup restored here, on a PC whose key is locked with its passphrase: its key is
/// learned only with the passphrase (and then sealed with it, never kept in the file).
#[test]
fn another_pc_s_backup_is_learned_on_a_passphrase_pc_only_with_the_passphrase() {
    let pc = Arc::new(Pc::default());
    let (other, here) = (TempDir::new().unwrap(), TempDir::new().unwrap());
    let (store, _, recovery) = practice_on(&pc, other.path());
    let taken = store.back_up(&store.config().backups_dir()).unwrap();
    drop(store);
    let (store, _) = passphrase_practice(here.path());
    drop(store);
    let with_recovery = |config: StoreConfig| config.with_recovery_key(RecoveryKey::parse(&recovery).unwrap());
    let before = key_file_text(here.path());
    let refused = backup::stage_restore(&with_recovery(no_store(here.path())), &taken.path).err().unwrap();
    assert_eq!(refused.code(), ErrorCode::PassphraseNeeded, "{refused}");
    assert_eq!(key_file_text(here.path()), before, "nothing learned, nothing staged");
    let wrong = with_recovery(with_passphrase(here.path(), "otter kettle harbour 42"));
    assert_eq!(backup::stage_restore(&wrong, &taken.path).err().unwrap().field(), Some("passphrase"));
    let right = with_recovery(with_passphrase(here.path(), "Otter kettle harbour 42"));
    backup::stage_restore(&right, &taken.path).unwrap();
    let value: serde_json::Value = serde_json::from_str(&key_file_text(here.path())).unwrap();
    let keys = value["keys"].as_array().unwrap();
    assert!(keys.len() >= 2, "the backup's key is learned: {value}");
    assert!(keys.iter().all(|k| k.get("plain").is_none() && k.get("passphrase").is_some()), "{value}");
    backup::finish_staged_restore(&right, clock()).unwrap().unwrap();
    let store = Store::open(with_passphrase(here.path(), "Otter kettle harbour 42"), clock()).unwrap();
    assert_eq!(last_names(&store), ["Ashworth"]);
}
