//! Opening and creating the encrypted database, and the distinct refusals for files it cannot open.

mod common;

use std::fs;

use common::*;
use lifeboat_core::{Error, Store, StoreConfig};

fn file_bytes(dir: &tempfile::TempDir) -> Vec<u8> {
    fs::read(dir.path().join(StoreConfig::DATABASE_FILE)).unwrap()
}

#[test]
fn a_new_database_is_encrypted_and_reopens_with_its_key() {
    let (dir, store, _) = practice();
    let node = store.node_id();
    drop(store);
    let bytes = file_bytes(&dir);
    assert_ne!(&bytes[..16], b"SQLite format 3\0", "the file must not be plain SQLite");
    let reopened = reopen(&dir).unwrap();
    assert_eq!(reopened.node_id(), node, "the node id is kept");
    assert!(reopened.has_practice().unwrap());
    assert!(reopened.login("admin", PASSWORD).is_ok());
}

#[test]
fn pragmas_give_durability_and_integrity() {
    let (_dir, store) = store();
    store
        .read(|c| {
            let mode: String = c.query_row("PRAGMA journal_mode", [], |r| r.get(0))?;
            let sync: i64 = c.query_row("PRAGMA synchronous", [], |r| r.get(0))?;
            let fk: i64 = c.query_row("PRAGMA foreign_keys", [], |r| r.get(0))?;
            assert_eq!((mode.as_str(), sync, fk), ("wal", 2, 1));
            Ok(())
        })
        .unwrap();
}

#[cfg(unix)]
#[test]
fn the_key_file_is_readable_by_its_owner_only() {
    use std::os::unix::fs::PermissionsExt;
    let (dir, _store) = store();
    let mode = fs::metadata(dir.path().join(StoreConfig::KEY_FILE)).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600);
}

/// Each damaged or foreign file gets its own error, and the file is left exactly as it was.
#[test]
fn files_that_cannot_be_opened_get_distinct_errors_and_stay_untouched() {
    type Damage = fn(&tempfile::TempDir);
    let cases: [(&str, Damage, &str); 7] = [
        (
            "key of another database",
            |dir| {
                let other = tempfile::TempDir::new().unwrap();
                drop(Store::open(StoreConfig::in_dir(other.path()), clock()).unwrap());
                fs::copy(other.path().join(StoreConfig::KEY_FILE), dir.path().join(StoreConfig::KEY_FILE)).unwrap();
            },
            "wrong_key",
        ),
        (
            "a text file",
            |dir| fs::write(dir.path().join(StoreConfig::DATABASE_FILE), "not a database at all\n").unwrap(),
            "not_a_database",
        ),
        ("an empty file", |dir| fs::write(dir.path().join(StoreConfig::DATABASE_FILE), "").unwrap(), "not_a_database"),
        (
            "a plain SQLite database",
            |dir| {
                let path = dir.path().join(StoreConfig::DATABASE_FILE);
                fs::remove_file(&path).unwrap();
                let c = rusqlite::Connection::open(&path).unwrap();
                c.execute_batch("CREATE TABLE t (x); INSERT INTO t VALUES (1);").unwrap();
            },
            "not_a_database",
        ),
        (
            "damaged first page",
            |dir| {
                let path = dir.path().join(StoreConfig::DATABASE_FILE);
                let mut bytes = fs::read(&path).unwrap();
                for b in &mut bytes[200..260] {
                    *b ^= 0x5a;
                }
                fs::write(&path, bytes).unwrap();
            },
            "corrupt",
        ),
        (
            "cut short (its second half lost)",
            |dir| {
                let path = dir.path().join(StoreConfig::DATABASE_FILE);
                let bytes = fs::read(&path).unwrap();
                let pages = bytes.len() / 4096;
                fs::write(&path, &bytes[..pages / 2 * 4096]).unwrap();
            },
            "corrupt",
        ),
        (
            "a database from a newer Lifeboat",
            |dir| {
                drop(reopen(dir).unwrap());
                raw_connection(dir).execute_batch("PRAGMA user_version = 999").unwrap();
            },
            "too_new",
        ),
    ];
    for (name, damage, code) in cases {
        let (dir, store, _) = practice();
        drop(store);
        damage(&dir);
        let before = file_bytes(&dir);
        let key_before = fs::read(dir.path().join(StoreConfig::KEY_FILE)).unwrap();
        let err = match reopen(&dir) {
            Ok(_) => panic!("{name}: opened"),
            Err(e) => e,
        };
        assert_eq!(err.code().as_str(), code, "{name}: {err}");
        assert!(err.to_string().len() > 20, "{name}: the message explains: {err}");
        assert_eq!(file_bytes(&dir), before, "{name}: the database file was changed");
        assert_eq!(
            fs::read(dir.path().join(StoreConfig::KEY_FILE)).unwrap(),
            key_before,
            "{name}: the key file was changed"
        );
    }
}

#[test]
fn a_missing_key_file_is_never_replaced_by_a_new_key() {
    let (dir, store) = store();
    drop(store);
    fs::remove_file(dir.path().join(StoreConfig::KEY_FILE)).unwrap();
    let before = file_bytes(&dir);
    let err = reopen(&dir).err().expect("must refuse");
    assert!(matches!(err, Error::KeyFile(_)), "{err}");
    assert!(!dir.path().join(StoreConfig::KEY_FILE).exists(), "no new key was made");
    assert_eq!(file_bytes(&dir), before);
}

#[test]
fn a_key_file_without_its_database_is_an_unfinished_creation_that_can_start_afresh() {
    let (dir, store) = store();
    drop(store);
    fs::remove_file(dir.path().join(StoreConfig::DATABASE_FILE)).unwrap();
    // What an interrupted creation leaves: a half-built database under its building name.
    let half = dir.path().join("lifeboat.db.creating-0192abc");
    fs::write(&half, b"half").unwrap();
    // Something else of the practice's in the folder, never touched.
    fs::create_dir_all(dir.path().join("backups")).unwrap();
    fs::write(dir.path().join("backups/lifeboat-backup-2026-03-29T08-30-00Z.db"), b"kept").unwrap();
    let key = fs::read(dir.path().join(StoreConfig::KEY_FILE)).unwrap();

    let err = reopen(&dir).err().expect("must refuse");
    assert!(matches!(err, Error::Unfinished { .. }), "{err}");
    assert_eq!(err.code(), lifeboat_core::ErrorCode::Unfinished);
    assert!(!dir.path().join(StoreConfig::DATABASE_FILE).exists(), "no database was guessed");
    assert_eq!(fs::read(dir.path().join(StoreConfig::KEY_FILE)).unwrap(), key, "the key is untouched");

    let aside = Store::start_afresh(&StoreConfig::in_dir(dir.path()), clock().as_ref()).unwrap();
    assert_eq!(aside, dir.path().join("lifeboat.key.unused-2026-03-29T08-30-00Z"));
    assert_eq!(fs::read(&aside).unwrap(), key, "the old key is kept aside");
    assert!(!half.exists(), "the half-built database is gone");
    assert_eq!(fs::read(dir.path().join("backups/lifeboat-backup-2026-03-29T08-30-00Z.db")).unwrap(), b"kept");
    let store = reopen(&dir).unwrap();
    assert!(store.doctor().unwrap().is_healthy());
    assert_ne!(fs::read(dir.path().join(StoreConfig::KEY_FILE)).unwrap(), key, "a new key for the new database");
    // Never over a database that is there.
    drop(store);
    let err = Store::start_afresh(&StoreConfig::in_dir(dir.path()), clock().as_ref()).unwrap_err();
    assert_eq!(err.code(), lifeboat_core::ErrorCode::Conflict, "{err}");
}

#[test]
fn processes_creating_one_database_at_once_all_open_the_same_one_with_its_key() {
    // Eight at once, ten times over: exactly one key and one database, and every opener reads it.
    for _ in 0..10 {
        let dir = tempfile::TempDir::new().unwrap();
        let barrier = std::sync::Barrier::new(8);
        let nodes: Vec<uuid::Uuid> = std::thread::scope(|s| {
            let handles: Vec<_> = (0..8)
                .map(|_| {
                    s.spawn(|| {
                        barrier.wait();
                        let store = Store::open(StoreConfig::in_dir(dir.path()), clock()).unwrap();
                        let node = store.node_id();
                        assert!(store.has_practice().is_ok());
                        node
                    })
                })
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        assert!(nodes.iter().all(|n| *n == nodes[0]), "{nodes:?}");
        // The WAL may stay beside the database (several connections closed in any order).
        let mut names: Vec<String> = fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n != "lifeboat.db-wal" && n != "lifeboat.db-shm")
            .collect();
        names.sort();
        assert_eq!(names, vec!["lifeboat.db".to_string(), "lifeboat.key".to_string()]);
        let store = reopen_dir(dir.path());
        assert!(store.doctor().unwrap().is_healthy());
    }
}

fn reopen_dir(dir: &std::path::Path) -> Store {
    Store::open(StoreConfig::in_dir(dir), clock()).unwrap()
}

/// Names and other text must not appear in plain text in the database, its WAL, or anything beside
/// it. The key file holds only the key.
#[test]
fn no_plain_text_of_practice_data_on_disk() {
    let (dir, store, admin) = practice();
    let mut s = lifeboat_core::example::staff("zebedee", lifeboat_core::Role::Vet, PASSWORD);
    s.display_name = "Zebedee Quillfeather".into();
    store.add_staff(&admin, &s).unwrap();
    assert!(dir.path().join("lifeboat.db-wal").exists(), "the change is still in the WAL");
    assert_no_plain_text(&dir, "while open");
    drop(store);
    drop(reopen(&dir).unwrap());
    assert_no_plain_text(&dir, "after closing");
}

fn assert_no_plain_text(dir: &tempfile::TempDir, phase: &str) {
    let mut files = 0;
    for entry in fs::read_dir(dir.path()).unwrap() {
        let path = entry.unwrap().path();
        let bytes = fs::read(&path).unwrap();
        files += 1;
        for needle in ["Quillfeather", "zebedee", "Riverside", "Mill Lane", "EX1 1AA"] {
            assert!(
                !bytes.windows(needle.len()).any(|w| w == needle.as_bytes()),
                "{phase}: {needle} in plain text in {}",
                path.display()
            );
        }
    }
    assert!(files >= 2, "{phase}: the database and its key file were read");
}
