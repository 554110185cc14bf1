//! Backups: taken through SQLite's backup API while the practice works, checked before they are
//! kept, encrypted, thinned by generation, copied to another folder, and put back by a restore that
//! shows what a backup holds first and keeps the database it replaces.

mod common;

use std::path::Path;

use common::*;
use lifeboat_core::store::backup::{self, BackupCounts};
use lifeboat_core::{example, ErrorCode, NewClient, Store, StoreConfig};

fn client(last_name: &str) -> NewClient {
    NewClient {
        first_name: "Ada".into(),
        last_name: last_name.into(),
        phone: "07700 900123".into(),
        ..Default::default()
    }
}

fn names(store: &Store) -> Vec<String> {
    store
        .read(|r| {
            let mut stmt = r.prepare("SELECT last_name FROM client ORDER BY last_name")?;
            let rows = stmt.query_map([], |row| row.get(0))?.collect::<rusqlite::Result<Vec<String>>>()?;
            Ok(rows)
        })
        .unwrap()
}

fn flip_bytes(path: &Path, at: u64) {
    use std::io::{Read, Seek, SeekFrom, Write};
    let mut file = std::fs::OpenOptions::new().read(true).write(true).open(path).unwrap();
    let mut bytes = [0u8; 8];
    file.seek(SeekFrom::Start(at)).unwrap();
    file.read_exact(&mut bytes).unwrap();
    for b in &mut bytes {
        *b ^= 0xA5;
    }
    file.seek(SeekFrom::Start(at)).unwrap();
    file.write_all(&bytes).unwrap();
}

#[test]
fn a_backup_holds_what_the_database_held_encrypted_and_checked() {
    let (dir, store, admin) = practice();
    let desk = login_as(&store, &admin, "desk", lifeboat_core::Role::Reception);
    store.register_client(&desk, &client("Quillfeather")).unwrap();
    let backups = dir.path().join("backups");

    let taken = store.back_up(&backups).unwrap();

    assert_eq!(
        taken.counts,
        BackupCounts {
            clients: count(&store, "client") as u64,
            animals: 0,
            appointments: 0,
            consultations: 0,
            prescriptions: 0,
            payments: 0,
            staff: count(&store, "staff") as u64,
            journal_entries: count(&store, "journal") as u64,
            audit_entries: count(&store, "audit") as u64,
        }
    );
    assert_eq!(taken.counts.clients, 1);
    assert_eq!(taken.practice.as_deref(), Some(example::practice_setup("a", "b").practice_name.as_str()));
    assert_eq!(taken.taken_at, store.clock().now().with_nanosecond(0).unwrap());
    assert_eq!(taken.name, "lifeboat-backup-2026-03-29T08-30-00Z.db");
    assert_eq!(taken.path, backups.join(&taken.name));
    // Listed, and read back the same by the restore flow's look at it.
    let listed = backup::list(&backups).unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].path, taken.path);
    assert_eq!(backup::inspect(&taken.path, store.config()).unwrap(), taken);
    // Encrypted: not a plain SQLite file, and no name in it.
    let bytes = std::fs::read(&taken.path).unwrap();
    assert!(!bytes.starts_with(b"SQLite format 3"));
    assert!(!bytes.windows(b"Quillfeather".len()).any(|w| w == b"Quillfeather"));
    // Nothing half-made is left beside it.
    let files: Vec<String> =
        std::fs::read_dir(&backups).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    assert_eq!(files, vec![taken.name.clone()]);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(std::fs::metadata(&taken.path).unwrap().permissions().mode() & 0o777, 0o600);
    }
}

use chrono::Timelike;

#[test]
fn a_backup_taken_while_reception_keeps_writing_is_one_consistent_moment() {
    let (dir, store, admin) = practice();
    let desk = login_as(&store, &admin, "desk", lifeboat_core::Role::Reception);
    let backups = dir.path().join("backups");
    let stop = std::sync::atomic::AtomicBool::new(false);
    let (clients0, journal0) = (count(&store, "client") as u64, count(&store, "journal") as u64);
    let taken = std::thread::scope(|s| {
        let writer = s.spawn(|| {
            let mut n = 0;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                store.register_client(&desk, &client(&format!("Writer{n:05}"))).unwrap();
                n += 1;
            }
            n
        });
        // Let the writer get going, then take several backups while it writes.
        while count(&store, "client") < 20 {
            std::thread::yield_now();
        }
        let taken: Vec<_> = (0..3).map(|_| store.back_up(&backups)).collect();
        stop.store(true, std::sync::atomic::Ordering::Relaxed);
        let taken: Vec<_> = taken.into_iter().map(|t| t.unwrap()).collect();
        let written = writer.join().unwrap();
        assert!(written > 0);
        taken
    });
    // Each backup's checks compared it with its snapshot; here the snapshot must also be whole:
    // every client with all its journal entries and each of those with its audit entry, never a
    // client without them or the other way round.
    let per_client = (count(&store, "journal") as u64 - journal0) / (count(&store, "client") as u64 - clients0);
    assert!(per_client >= 1);
    for b in &taken {
        assert_eq!(b.counts.journal_entries - journal0, (b.counts.clients - clients0) * per_client, "{b:?}");
        assert_eq!(b.counts.audit_entries, b.counts.journal_entries, "{b:?}");
    }
    assert!(taken[2].counts.clients >= taken[0].counts.clients);
    assert!(count(&store, "client") as u64 >= taken[2].counts.clients);
}

#[test]
fn restoring_puts_the_backup_back_and_keeps_the_replaced_database() {
    let (dir, store, admin) = practice();
    let desk = login_as(&store, &admin, "desk", lifeboat_core::Role::Reception);
    store.register_client(&desk, &client("Before")).unwrap();
    let backups = dir.path().join("backups");
    let taken = store.back_up(&backups).unwrap();
    store.register_client(&desk, &client("After")).unwrap();
    let node_before = store.node_id();
    drop(store);

    let config = StoreConfig::in_dir(dir.path());
    let restored = backup::restore(&config, &taken.path, clock()).unwrap();

    assert_eq!(restored.backup.counts, taken.counts);
    let replaced = restored.replaced.clone().expect("the replaced database is kept");
    assert!(replaced.starts_with(dir.path().join(backup::REPLACED_FOLDER)));
    let store = reopen(&dir).unwrap();
    assert_eq!(names(&store), vec!["Before".to_string()]);
    // A new node id, so numbers the replaced database gave after the backup are never given again.
    assert_ne!(store.node_id(), node_before);
    assert_eq!(store.node_id(), restored.node_id);
    // The mark of a backup is kept across restarts, and does not move by being noted.
    let mark = store.change_mark().unwrap();
    store.note_backup_mark(mark).unwrap();
    assert_eq!(store.last_backup_mark().unwrap(), Some(mark));
    assert_eq!(store.change_mark().unwrap(), mark);
    let note = store.last_restore().unwrap().expect("the restore is remembered");
    assert_eq!(note.backup, taken.name);
    assert_eq!(note.taken_at, taken.taken_at);
    assert_eq!(note.replaced.as_deref(), Some(replaced.display().to_string().as_str()));
    assert!(store.doctor().unwrap().is_healthy());
    // The practice carries on from the backup.
    let desk = store.login("desk", PASSWORD).unwrap();
    store.register_client(&desk, &client("Later")).unwrap();
    assert_eq!(names(&store), vec!["Before".to_string(), "Later".to_string()]);
    assert!(store.verify_audit().unwrap().is_intact());
    drop(store);
    // The replaced database is whole, with the key it always had: it opens and holds "After".
    std::fs::copy(dir.path().join(StoreConfig::KEY_FILE), replaced.join(StoreConfig::KEY_FILE)).unwrap();
    let old = Store::open(StoreConfig::in_dir(&replaced), clock()).unwrap();
    assert_eq!(names(&old), vec!["After".to_string(), "Before".to_string()]);
}

#[test]
fn a_damaged_backup_is_told_apart_and_never_restored() {
    let (dir, store, admin) = practice();
    let desk = login_as(&store, &admin, "desk", lifeboat_core::Role::Reception);
    for n in 0..200 {
        store.register_client(&desk, &client(&format!("Client{n:03}"))).unwrap();
    }
    let backups = dir.path().join("backups");
    let taken = store.back_up(&backups).unwrap();
    drop(store);
    let len = std::fs::metadata(&taken.path).unwrap().len();
    let database = dir.path().join(StoreConfig::DATABASE_FILE);
    let before = std::fs::read(&database).unwrap();

    // A flipped page in the middle.
    let damaged = backups.join("lifeboat-backup-2026-03-29T08-31-00Z.db");
    std::fs::copy(&taken.path, &damaged).unwrap();
    flip_bytes(&damaged, (len / 4096 / 2) * 4096 + 100);
    let err = backup::inspect(&damaged, &StoreConfig::in_dir(dir.path())).unwrap_err();
    assert_eq!(err.code(), ErrorCode::Corrupt, "{err}");
    assert!(err.to_string().contains(&damaged.display().to_string()), "{err}");
    let err = backup::restore(&StoreConfig::in_dir(dir.path()), &damaged, clock()).unwrap_err();
    assert_eq!(err.code(), ErrorCode::Corrupt, "{err}");

    // A truncated one.
    let cut = backups.join("lifeboat-backup-2026-03-29T08-32-00Z.db");
    std::fs::write(&cut, &std::fs::read(&taken.path).unwrap()[..(len / 2) as usize - 100]).unwrap();
    let err = backup::restore(&StoreConfig::in_dir(dir.path()), &cut, clock()).unwrap_err();
    assert_eq!(err.code(), ErrorCode::NotADatabase, "{err}");

    // Something that is not a backup at all.
    let other = backups.join("notes.db");
    std::fs::write(&other, b"hello").unwrap();
    let err = backup::restore(&StoreConfig::in_dir(dir.path()), &other, clock()).unwrap_err();
    assert_eq!(err.code(), ErrorCode::Invalid, "{err}");

    // The database was never touched, and nothing was moved aside.
    assert_eq!(std::fs::read(&database).unwrap(), before);
    assert!(!dir.path().join(backup::REPLACED_FOLDER).exists());
    let store = reopen(&dir).unwrap();
    assert_eq!(count(&store, "client"), 200);
}

#[test]
fn backups_thin_to_their_generations_and_copy_to_another_folder() {
    let (dir2, store2, clock) = store_and_clock();
    let admin = store2.create_practice(&example::practice_setup("admin", PASSWORD)).unwrap();
    let desk = login_as(&store2, &admin, "desk", lifeboat_core::Role::Reception);
    let backups = dir2.path().join("backups");
    let usb = dir2.path().join("usb");
    // A folder that is not there (a USB stick taken out) is named, and nothing is made in its place.
    let first = store2.back_up(&backups).unwrap();
    let err = store2.copy_backup(&first, &usb).unwrap_err();
    assert_eq!(err.code(), ErrorCode::NotFound, "{err}");
    assert!(err.to_string().contains("USB stick"), "{err}");
    assert!(!usb.exists());
    std::fs::create_dir(&usb).unwrap();
    // The app keeps the folder as this PC's setting.
    store2.set_local_setting(&admin, "backup_copy_folder", &usb.display().to_string()).unwrap();
    assert_eq!(store2.local_setting("backup_copy_folder").unwrap(), Some(usb.display().to_string()));
    // A backup an hour for three days.
    let mut last = None;
    for hour in 0..72 {
        store2.register_client(&desk, &client(&format!("Hour{hour:02}"))).unwrap();
        let taken = store2.back_up(&backups).unwrap();
        store2.copy_backup(&taken, &usb).unwrap();
        last = Some(taken);
        clock.advance(chrono::Duration::hours(1));
    }
    let listed = backup::list(&backups).unwrap();
    // The 24 newest and the newest of each of the two days before them.
    assert_eq!(listed.len(), backup::KEEP_NEWEST + 2);
    let last = last.unwrap();
    assert_eq!(listed[0].path, last.path);
    let copies = backup::list(&usb).unwrap();
    assert_eq!(copies.iter().map(|c| &c.name).collect::<Vec<_>>(), listed.iter().map(|c| &c.name).collect::<Vec<_>>());
    // The copy is the backup, byte for byte, and opens as it.
    assert_eq!(std::fs::read(&copies[0].path).unwrap(), std::fs::read(&last.path).unwrap());
    let seen = backup::inspect(&copies[0].path, store2.config()).unwrap();
    assert_eq!(seen.counts, last.counts);
    // Files that are not backups are left alone in either folder.
    std::fs::write(usb.join("holiday.jpg"), b"x").unwrap();
    store2.copy_backup(&last, &usb).unwrap();
    assert!(usb.join("holiday.jpg").exists());
}

#[test]
fn a_restore_stopped_between_moving_the_database_aside_and_putting_the_backup_in_place_finishes_at_the_next_open() {
    let (dir, store, admin) = practice();
    let desk = login_as(&store, &admin, "desk", lifeboat_core::Role::Reception);
    store.register_client(&desk, &client("Kept")).unwrap();
    let taken = store.back_up(&dir.path().join("backups")).unwrap();
    store.register_client(&desk, &client("Later")).unwrap();
    let config = store.config().clone();
    drop(store);
    // The restore as it would be just before its last rename: the finished copy beside the
    // database, the database moved aside.
    backup::restore(&config, &taken.path, clock()).unwrap();
    let db = dir.path().join(StoreConfig::DATABASE_FILE);
    std::fs::rename(&db, dir.path().join("lifeboat.db.restored")).unwrap();
    let store = reopen(&dir).unwrap();
    assert_eq!(names(&store), vec!["Kept".to_string()]);
    assert!(store.last_restore().unwrap().is_some());
    assert!(!dir.path().join("lifeboat.db.restored").exists());
}

/// Stopped one step earlier: the database moved aside but not its WAL and index. The old WAL is not
/// the restored copy's and must never be replayed onto it: it goes aside, kept, and the restored
/// records are what open.
#[test]
fn a_restore_stopped_before_the_old_wal_was_moved_never_replays_it_onto_the_backup() {
    let (dir, store, admin) = practice();
    let desk = login_as(&store, &admin, "desk", lifeboat_core::Role::Reception);
    store.register_client(&desk, &client("Kept")).unwrap();
    let taken = store.back_up(&dir.path().join("backups")).unwrap();
    store.register_client(&desk, &client("Later")).unwrap();
    // The WAL and index as they were while the app ran, holding "Later".
    let db = dir.path().join(StoreConfig::DATABASE_FILE);
    let side = |end: &str| dir.path().join(format!("{}{end}", StoreConfig::DATABASE_FILE));
    let old_wal = std::fs::read(side("-wal")).unwrap();
    let old_shm = std::fs::read(side("-shm")).unwrap();
    assert!(old_wal.len() > 32, "the WAL holds changes");
    let config = store.config().clone();
    drop(store);
    backup::restore(&config, &taken.path, clock()).unwrap();
    std::fs::rename(&db, dir.path().join("lifeboat.db.restored")).unwrap();
    std::fs::write(side("-wal"), &old_wal).unwrap();
    std::fs::write(side("-shm"), &old_shm).unwrap();

    let store = reopen(&dir).unwrap();
    assert_eq!(names(&store), vec!["Kept".to_string()], "the restored records, nothing replayed onto them");
    assert!(store.doctor().unwrap().is_healthy());
    let kept: Vec<std::path::PathBuf> = std::fs::read_dir(dir.path().join("replaced"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.to_string_lossy().ends_with("-left-over"))
        .collect();
    assert_eq!(kept.len(), 1, "the old WAL and index are kept aside");
    assert_eq!(std::fs::read(kept[0].join("lifeboat.db-wal")).unwrap(), old_wal);
}

#[test]
fn a_backup_of_a_database_that_fails_its_checks_names_the_database() {
    let (dir, store, _admin) = practice();
    drop(store);
    // An audit entry edited behind Lifeboat's back: the chain no longer holds.
    raw_connection(&dir).execute("UPDATE audit SET action = 'forged' WHERE seq = 1", []).unwrap();
    let store = reopen(&dir).unwrap();
    let err = store.back_up(&dir.path().join("backups")).unwrap_err();
    assert_eq!(err.code(), ErrorCode::Corrupt, "{err}");
    let database = dir.path().join(StoreConfig::DATABASE_FILE).display().to_string();
    assert!(
        err.to_string().starts_with(&format!("the database {database} is damaged: found while backing it up")),
        "{err}"
    );
    assert!(backup::list(&dir.path().join("backups")).unwrap().is_empty());
}

#[test]
fn a_staged_restore_happens_once_at_the_next_start() {
    let (dir, store, admin) = practice();
    let desk = login_as(&store, &admin, "desk", lifeboat_core::Role::Reception);
    store.register_client(&desk, &client("Kept")).unwrap();
    let taken = store.back_up(&dir.path().join("backups")).unwrap();
    store.register_client(&desk, &client("Lost")).unwrap();
    let config = store.config().clone();
    let shown = backup::stage_restore(&config, &taken.path).unwrap();
    assert_eq!(shown.counts, taken.counts);
    drop(store);

    let restored = backup::finish_staged_restore(&config, clock()).expect("a restore was asked for").unwrap();
    assert_eq!(restored.backup.counts.clients, 1);
    assert_eq!(names(&reopen(&dir).unwrap()), vec!["Kept".to_string()]);
    // Asked for once: the next start has nothing to do.
    assert!(backup::finish_staged_restore(&config, clock()).is_none());
    assert!(!dir.path().join(backup::RUNNING_RESTORE_FILE).exists());
}

/// A restore cut short (Lifeboat closed while it ran: here, its request left as it is while it
/// runs) is reported once at the next start, naming the backup; the records are as they were.
#[test]
fn a_staged_restore_cut_short_is_reported_at_the_next_start() {
    let (dir, store, admin) = practice();
    let desk = login_as(&store, &admin, "desk", lifeboat_core::Role::Reception);
    store.register_client(&desk, &client("Kept")).unwrap();
    let taken = store.back_up(&dir.path().join("backups")).unwrap();
    store.register_client(&desk, &client("Later")).unwrap();
    let config = store.config().clone();
    backup::stage_restore(&config, &taken.path).unwrap();
    drop(store);
    std::fs::rename(dir.path().join(backup::PENDING_RESTORE_FILE), dir.path().join(backup::RUNNING_RESTORE_FILE))
        .unwrap();

    let err = backup::finish_staged_restore(&config, clock()).expect("the restore cut short").unwrap_err();
    assert_eq!(err.code(), ErrorCode::Conflict);
    let name = taken.path.file_name().unwrap().to_string_lossy();
    assert_eq!(
        err.to_string(),
        format!("Lifeboat stopped while it was restoring the backup {name} (closed, or the PC shut down), so the restore may not have finished. If the records shown are not that backup's, ask for the restore again")
    );
    assert_eq!(names(&reopen(&dir).unwrap()), vec!["Kept".to_string(), "Later".to_string()]);
    // Reported once.
    assert!(backup::finish_staged_restore(&config, clock()).is_none());
}

#[test]
fn a_drill_is_not_backed_up() {
    use lifeboat_core::drill::{DrillPlan, DrillTask, PlannedTask};
    let (dir, store, admin) = practice();
    let plan = DrillPlan { tasks: vec![PlannedTask { task: DrillTask::Book, minutes: 10 }] };
    let drill = store.start_drill(&admin, &plan, &dir.path().join("drills")).unwrap();
    let copy = Store::open_drill(&drill, clock()).unwrap();
    let err = copy.back_up(&dir.path().join("backups")).unwrap_err();
    assert_eq!(err.code(), ErrorCode::Forbidden, "{err}");
    assert!(backup::list(&dir.path().join("backups")).unwrap().is_empty());
    // The real records go on being backed up during the drill.
    assert_eq!(store.back_up(&dir.path().join("backups")).unwrap().counts.clients, 0);
}

/// Two PCs copy their backups to one shared folder (a network share, one USB stick passed round):
/// each thins only its own copies, and a copy never takes the name of the other's.
#[test]
fn two_pcs_sharing_a_copy_folder_keep_each_other_s_copies() {
    let (dir_a, a, clock_a) = store_and_clock();
    let (dir_b, b, clock_b) = store_and_clock();
    let shared = tempfile::TempDir::new().unwrap();
    let taken = |store: &Store, dir: &Path, name: &str| {
        let admin = store.login("admin", PASSWORD).unwrap();
        store.register_client(&admin, &client(name)).unwrap();
        let backup = store.back_up(&dir.join("backups")).unwrap();
        store.copy_backup(&backup, shared.path()).unwrap()
    };
    for store in [&a, &b] {
        store.create_practice(&example::practice_setup("admin", PASSWORD)).unwrap();
    }
    // B's first backup is of the very second A's is (the same name): it takes another.
    let first_a = taken(&a, dir_a.path(), "Ashworth");
    let first_b = taken(&b, dir_b.path(), "Brennan");
    assert_ne!(first_a, first_b);
    assert!(first_a.exists() && first_b.exists());
    // Three days of hourly backups on A thin A's copies, never B's.
    for hour in 0..72 {
        clock_a.advance(chrono::Duration::hours(1));
        taken(&a, dir_a.path(), &format!("Hour{hour:02}"));
    }
    clock_b.advance(chrono::Duration::hours(72));
    let last_b = taken(&b, dir_b.path(), "Carver");
    let copies = backup::list(shared.path()).unwrap();
    let (theirs, ours): (Vec<_>, Vec<_>) =
        copies.iter().partition(|c| backup::inspect(&c.path, b.config()).is_ok_and(|s| s.counts.clients > 0));
    assert_eq!(theirs.iter().map(|c| c.path.clone()).collect::<Vec<_>>(), [last_b, first_b], "B's copies all stay");
    assert_eq!(ours.len(), backup::KEEP_NEWEST + 2, "A's are thinned to their generations");
    assert!(ours.iter().all(|c| backup::inspect(&c.path, a.config()).is_ok()));
}
