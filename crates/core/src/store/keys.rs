//! What a person does with the database's key: make the practice's recovery key (shown once, to
//! print and lock away), change the key, protect it with a passphrase on a PC without a credential
//! store, and see where it is kept. How keys are kept is `keyfile.rs`. Each is journaled and
//! audited as a `key_change` (what was done, never a key), once it is done.

use crate::error::{Error, Result};
use crate::permission::Action;
use crate::session::Session;
use crate::store::database::Store;
use crate::store::keyfile::{DatabaseKey, KeyFile, KeyProtection, Passphrase, RecoveryKey};
use crate::store::write::{failpoint, ChangeKind, Entity, Fields};

impl Store {
    /// Where the key is kept, and whether there is a recovery key (managers and admins; shown with
    /// the backups).
    pub fn key_protection(&self, session: &Session) -> Result<KeyProtection> {
        self.require(session, Action::ManageBackups)?;
        Ok(KeyFile::read(&self.config().key_file)?.protection(&self.config().keys))
    }

    /// Whether the key is kept in the key file itself (this PC has no credential store, and no
    /// passphrase was chosen). Asks for no session: it says nothing of the records, and set-up
    /// asks for a passphrase when it is.
    pub fn key_in_file(&self) -> Result<bool> {
        Ok(KeyFile::read(&self.config().key_file)?.in_file(&self.database_key().salt))
    }

    /// Makes a new recovery key and seals every key of the database with it (admins only). It is
    /// returned once, as printed, and kept nowhere. The recovery key before goes on opening what it
    /// opened until the person confirms they have kept the new one ([`Store::confirm_recovery_key`]);
    /// from then on it no longer opens the database or the backups in this PC's backups folder
    /// (whose own key files are written again), though copies of backups elsewhere keep the
    /// recovery key of their time. With a recovery key made, a key still kept in the key file
    /// moves into this PC's credential store, if it has one.
    pub fn make_recovery_key(&self, session: &Session) -> Result<String> {
        self.require(session, Action::EditPractice)?;
        self.refuse_in_drill("a recovery key")?;
        let recovery = RecoveryKey::generate()?;
        // The writer's lock keeps a change of key from running beside it.
        let _writer = self.lock_writer();
        let mut file = KeyFile::read(&self.config().key_file)?;
        file.seal_all(&recovery, &crate::time::local_date(self.clock.now()).to_string(), &self.config().keys)?;
        let key = self.database_key();
        if file.in_file(&key.salt) && self.config().keys.credentials.is_some() {
            file.adopt(&key, &self.config().keys);
        }
        file.replace(&self.clock.new_id().simple().to_string())?;
        // Best effort: the change is in force whether or not the backups' own key files could be
        // written again (they keep the recovery key they had).
        let _ = self.write_backup_key_files(&file, &self.config().backups_dir());
        drop(_writer);
        self.record_key_change(session, "recovery_key_made");
        Ok(recovery.display())
    }

    /// The person has kept the newest recovery key (admins): the one before stops opening the
    /// database and the backups beside it.
    pub fn confirm_recovery_key(&self, session: &Session) -> Result<()> {
        self.require(session, Action::EditPractice)?;
        let _writer = self.lock_writer();
        let mut file = KeyFile::read(&self.config().key_file)?;
        file.confirm_recovery_key();
        file.replace(&self.clock.new_id().simple().to_string())?;
        // Best effort: the change is in force whether or not the backups' own key files could be
        // written again (they keep the recovery key they had).
        let _ = self.write_backup_key_files(&file, &self.config().backups_dir());
        drop(_writer);
        self.record_key_change(session, "recovery_key_confirmed");
        Ok(())
    }

    /// Protects the key with a passphrase on a PC that has no credential store (admins): the key
    /// leaves the key file, sealed with the passphrase, and Lifeboat asks for it at every start on
    /// this PC. Chosen again, it replaces the one before. Refused where the key is in this PC's
    /// credential store (a passphrase would add nothing there).
    pub fn set_passphrase(&self, session: &Session, passphrase: &str) -> Result<KeyProtection> {
        self.require(session, Action::EditPractice)?;
        let passphrase = Passphrase::choose(passphrase)?;
        self.refuse_in_drill("a passphrase")?;
        let access = &self.config().keys;
        let writer = self.lock_writer();
        let mut file = KeyFile::read(&self.config().key_file)?;
        let protection = file.protection(access);
        if let Some(store) = protection.credential_store {
            return Err(Error::Conflict(format!(
                "this PC keeps the key in {store}, which already protects it; a passphrase is for PCs without a credential store"
            )));
        }
        let event = if protection.passphrase { "passphrase_changed" } else { "passphrase_set" };
        file.seal_with_passphrase(&passphrase, access)?;
        file.replace(&self.clock.new_id().simple().to_string())?;
        // Keys made from now on (a change of key) are sealed with it too.
        access.passphrase.set(passphrase);
        drop(writer);
        self.record_key_change(session, event);
        Ok(file.protection(access))
    }

    /// At set-up on a PC without a credential store (admins): seals the key with the passphrase
    /// chosen, then changes the key at once, so that the key that sat in the key file until now (and
    /// in any copy of that file left on the disk) opens nothing, and forgets it (unless a backup is
    /// under it: one the schedule took of the empty database). Returns the recovery key, shown once.
    /// If the passphrase cannot be set, nothing is sealed and the error says why; if the key cannot
    /// be changed, it stays sealed and a recovery key is made for it.
    pub fn set_up_passphrase(&self, session: &Session, passphrase: &str) -> Result<String> {
        let before = self.database_key().salt;
        self.set_passphrase(session, passphrase)?;
        let recovery = match self.change_key(session) {
            Ok(recovery) => recovery,
            Err(_) => return self.make_recovery_key(session),
        };
        // The recovery key before it was none: nothing to keep it for.
        let _ = self.confirm_recovery_key(session);
        let _writer = self.lock_writer();
        let backups = crate::store::backup::list(&self.config().backups_dir()).unwrap_or_default();
        if !backups.iter().any(|b| crate::store::keyfile::salt_of_file(&b.path) == Some(before)) {
            let mut file = KeyFile::read(&self.config().key_file)?;
            file.forget_retired(&before);
            file.replace(&self.clock.new_id().simple().to_string())?;
        }
        Ok(recovery)
    }

    /// Journals and audits a change to how the key is kept (what was done and when; no key), once
    /// it is done. The change stands whether or not its record can be written (a full disk): saying
    /// it failed would hide a new passphrase or recovery key that is in force.
    fn record_key_change(&self, session: &Session, event: &str) {
        let _ = self.write(session, |w| {
            w.authorize(Action::EditPractice)?;
            let fields = Fields::new().with("event", event).with("at", crate::time::stored(w.now()));
            let id: uuid::Uuid = w.new_id();
            w.record(Action::EditPractice, Entity::KeyChange, id, ChangeKind::Create, fields)
        });
    }

    /// Changes the database's key (admins only): a new random key, and with it a new recovery key,
    /// returned once. The old key is kept, retired, so that the backups taken under it still open on
    /// this PC; elsewhere they open with the recovery key of their time. Until the new recovery key
    /// is confirmed, the new key is also sealed with the old one, so the recovery key before opens
    /// everything. The steps are ordered so that a stop at any point leaves a database that opens:
    /// the new key is written to the key file (pending) before the database is changed to it, the
    /// change is checked on a connection of its own, and the key is made current after. A change
    /// that did not happen (another program holding the database, a full disk) is undone: the
    /// writer is opened again under the old key and the pending key dropped.
    pub fn change_key(&self, session: &Session) -> Result<String> {
        self.require(session, Action::EditPractice)?;
        self.refuse_in_drill("changing the key")?;
        let recovery = RecoveryKey::generate()?;
        let made_on = crate::time::local_date(self.clock.now()).to_string();
        let new = DatabaseKey::generate()?;
        let old = self.database_key();
        let unique = || self.clock.new_id().simple().to_string();
        let mut writer = self.lock_writer();
        let mut file = KeyFile::read(&self.config().key_file)?;
        file.add_pending(&new, &old, &self.config().keys, (&recovery, &made_on))?;
        file.replace(&unique())?;
        failpoint("key_pending")?;
        // Readers see pages of the key they were opened with: the reader waits, and is opened again
        // under the new key.
        let mut reader = self.lock_reader();
        // SQLCipher answers a rekey with success even when it could not be done (busy, a full
        // disk): whether it happened is read back on a connection of its own.
        let _ = writer.pragma_update(None, "rekey", new.pragma_value());
        failpoint("key_rekeyed")?;
        let opens = |key: &DatabaseKey| {
            crate::store::database::open_reader(self.config(), key)
                .is_ok_and(|c| c.query_row("SELECT count(*) FROM sqlite_master", [], |r| r.get::<_, i64>(0)).is_ok())
        };
        if !opens(&new) {
            // Not changed: the writer back under the old key, the pending key dropped.
            *writer = crate::store::database::open_writer(self.config(), &old)?;
            file.drop_pending(&new.salt);
            file.replace(&unique())?;
            return Err(Error::Conflict(
                "the database key could not be changed (another program has the database open, or the disk is full); nothing was changed. Close other Lifeboat windows and the command line, free some space, and try again".into(),
            ));
        }
        *self.key.lock().unwrap_or_else(|e| e.into_inner()) = new.clone();
        *reader = crate::store::database::open_reader(self.config(), &new)?;
        drop(reader);
        // The new pages into the file, so that its header carries the new salt (a busy checkpoint
        // is finished by a later one; an open finds the pending key either way).
        for _ in 0..10 {
            let busy: i64 = writer.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |r| r.get(0))?;
            if busy == 0 {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        failpoint("key_changed")?;
        file.make_current(&new.salt);
        file.seal_all(&recovery, &made_on, &self.config().keys)?;
        file.replace(&unique())?;
        drop(writer);
        // Best effort: the change is in force whether or not the backups' own key files could be
        // written again (they keep the recovery key they had).
        let _ = self.write_backup_key_files(&file, &self.config().backups_dir());
        self.record_key_change(session, "key_changed");
        Ok(recovery.display())
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use crate::store::clock::ManualClock;
    use crate::store::database::{Store, StoreConfig};
    use crate::store::write::FAIL_AT;
    use crate::{example, RecoveryKey};

    fn clock() -> Arc<ManualClock> {
        Arc::new(ManualClock::new(chrono::DateTime::from_timestamp(1_780_000_000, 0).unwrap()))
    }

    /// A change of key stopped at each step leaves a database that opens, with every record, under
    /// the key it is really under; the recovery key it returned (if it returned one) or the one
    /// before opens a copy of it elsewhere.
    #[test]
    fn a_change_of_key_stopped_at_any_step_leaves_a_database_that_opens() {
        for step in ["key_pending", "key_rekeyed", "key_changed"] {
            let dir = tempfile::TempDir::new().unwrap();
            let store = Store::open(StoreConfig::in_dir(dir.path()), clock()).unwrap();
            let admin = store.create_practice(&example::practice_setup("admin", "correct horse battery")).unwrap();
            let first = store.make_recovery_key(&admin).unwrap();
            store.add_staff(&admin, &example::staff("v.one", crate::Role::Vet, "a long password")).unwrap();
            FAIL_AT.with(|f| f.set(Some(step)));
            let stopped = store.change_key(&admin);
            FAIL_AT.with(|f| f.set(None));
            assert!(stopped.is_err(), "{step}: the failpoint fired");
            drop(store);
            let store = Store::open(StoreConfig::in_dir(dir.path()), clock()).unwrap();
            assert!(store.login("v.one", "a long password").is_ok(), "{step}: the records are there");
            assert!(store.verify_audit().unwrap().is_intact(), "{step}");
            // The key file now names the key the database is under as current.
            let file = crate::store::keyfile::KeyFile::read(&dir.path().join(StoreConfig::KEY_FILE)).unwrap();
            let salt = crate::store::keyfile::salt_of_file(&dir.path().join(StoreConfig::DATABASE_FILE)).unwrap();
            assert_eq!(file.current_salt(), Some(salt), "{step}");
            // A copy opens on a PC without the key with the recovery key made before the change
            // (the change never returned a new one).
            let copy = tempfile::TempDir::new().unwrap();
            drop(store);
            for name in [StoreConfig::DATABASE_FILE, StoreConfig::KEY_FILE] {
                std::fs::copy(dir.path().join(name), copy.path().join(name)).unwrap();
            }
            strip_kept_keys(&copy.path().join(StoreConfig::KEY_FILE));
            let config = StoreConfig::in_dir(copy.path()).with_recovery_key(RecoveryKey::parse(&first).unwrap());
            let reopened = Store::open(config, clock());
            assert!(reopened.is_ok(), "{step}: {:?}", reopened.err());
            drop(reopened);
            // A backup taken after the stop opens elsewhere with the recovery key from before.
            let store = Store::open(StoreConfig::in_dir(dir.path()), clock()).unwrap();
            let taken = store.back_up(&store.config().backups_dir()).unwrap();
            let elsewhere = tempfile::TempDir::new().unwrap();
            let config = StoreConfig::in_dir(elsewhere.path())
                .with_keys(crate::KeyAccess::default())
                .with_recovery_key(RecoveryKey::parse(&first).unwrap());
            let summary = crate::store::backup::inspect(&taken.path, &config);
            assert!(summary.is_ok(), "{step}: {:?}", summary.err());
            // And the change can be made again, whole.
            let admin = store.login("admin", "correct horse battery").unwrap();
            store.change_key(&admin).unwrap();
        }
    }

    /// The key file as another PC would have it: the keys kept on this PC removed.
    fn strip_kept_keys(path: &std::path::Path) {
        let mut value: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
        for key in value["keys"].as_array_mut().unwrap() {
            key.as_object_mut().unwrap().remove("plain");
            key.as_object_mut().unwrap().remove("os");
        }
        std::fs::write(path, serde_json::to_string(&value).unwrap()).unwrap();
    }
}
