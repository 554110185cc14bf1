//! A full disk, for real: the database lives on a small filesystem of its own (a tmpfs), filled up
//! by a ballast file, while a receptionist registers clients. The write that meets the full disk gets
//! an error naming it (and the folder); every write that returned before it is there; after the ballast
//! is removed, saving works again; the database is healthy throughout.
//!
//! Platform code, Linux only: the test runs itself again inside a user and mount namespace of its own
//! (`unshare --user --map-root-user --mount`, from util-linux), where it may mount the tmpfs without
//! being root and without touching the machine's mounts. A machine without user namespaces fails the
//! test with the reason; it is never skipped.
#![cfg(target_os = "linux")]

mod common;

use std::io::Write;
use std::path::Path;
use std::process::Command;
use std::sync::Arc;

use common::PASSWORD;
use lifeboat_core::{example, ErrorCode, NewClient, Role, Session, Store, StoreConfig, SystemClock};
use uuid::Uuid;

const INSIDE: &str = "LIFEBOAT_DISK_FULL_INSIDE";

#[test]
fn a_full_disk_is_named_loses_nothing_saved_and_saving_works_again_once_space_is_freed() {
    if std::env::var_os(INSIDE).is_some() {
        return;
    }
    let output = Command::new("unshare")
        .args(["--user", "--map-root-user", "--mount", "--"])
        .arg(std::env::current_exe().unwrap())
        .args(["inside_a_small_disk", "--exact", "--nocapture", "--test-threads=1"])
        .env(INSIDE, "1")
        .output()
        .expect("unshare (util-linux) runs: it gives the test a filesystem of its own");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "the run on a small disk failed:\n{stdout}\n{stderr}");
    assert!(stdout.contains("disk full: "), "the run on a small disk reported nothing:\n{stdout}\n{stderr}");
    // (libtest writes the test's name on the same line as what it prints.)
    for line in stdout.lines().filter_map(|l| l.find("disk full: ").map(|at| &l[at..])) {
        println!("{line}");
    }
}

/// The part that runs inside the namespace.
#[test]
fn inside_a_small_disk() {
    if std::env::var_os(INSIDE).is_none() {
        return;
    }
    // Mounted on a folder inside a temporary one, and unmounted at the end, so nothing is left.
    let scratch = tempfile::TempDir::new().unwrap();
    let mount = Mounted(scratch.path().join("disk"));
    std::fs::create_dir(&mount.0).unwrap();
    let status = Command::new("mount")
        .args(["-t", "tmpfs", "-o", "size=6m", "lifeboat-disk-full"])
        .arg(&mount.0)
        .status()
        .unwrap();
    assert!(status.success(), "mounting a 6 MB tmpfs failed");
    let folder = mount.0.join("Lifeboat");
    std::fs::create_dir(&folder).unwrap();
    let config = StoreConfig::in_dir(&folder);
    let store = Store::open(config.clone(), Arc::new(SystemClock)).unwrap();
    let admin = store.create_practice(&example::practice_setup("admin", PASSWORD)).unwrap();
    let desk = store.add_staff(&admin, &example::staff("desk", Role::Reception, PASSWORD)).unwrap();
    let desk = Session {
        staff_id: desk.id,
        username: "desk".into(),
        display_name: "Desk".into(),
        role: Role::Reception,
        must_change_password: false,
    };

    // The ballast takes all but 1 MiB of the disk: room for some clients, not many.
    let ballast = mount.0.join("ballast");
    fill_all_but(&ballast, 1024 * 1024);

    let mut saved: Vec<Uuid> = Vec::new();
    let refusal = loop {
        assert!(saved.len() < 100_000, "the disk never filled");
        match store.register_client(&desk, &client(saved.len())) {
            Ok(c) => saved.push(c.id),
            Err(e) => break e,
        }
    };
    assert_eq!(refusal.code(), ErrorCode::DiskFull, "the write that met the full disk: {refusal}");
    assert!(saved.len() >= 3, "some clients were saved before the disk filled ({})", saved.len());
    let message = refusal.to_string();
    assert_eq!(
        message,
        format!(
            "the disk is full (the disk that holds {}): what was being saved was not saved, and nothing saved before it is lost. \
             Free some space on that disk (empty the recycle bin, move old files off it), then try again",
            folder.display()
        )
    );
    // Still full: refused again, the same way, and nothing half-made.
    let again = store.register_client(&desk, &client(saved.len())).unwrap_err();
    assert_eq!(again.code(), ErrorCode::DiskFull);
    let missing = saved.iter().filter(|id| store.client(&admin, **id).is_err()).count();
    assert_eq!(missing, 0, "every client saved before the disk filled is there");
    // A backup on the full disk is refused the same way, naming the backups folder, and leaves nothing.
    let backups = folder.join("backups");
    let refused = store.back_up(&backups).unwrap_err();
    assert_eq!(refused.code(), ErrorCode::DiskFull, "{refused}");
    assert!(refused.to_string().contains(&format!("the disk that holds {}", backups.display())), "{refused}");
    assert_eq!(std::fs::read_dir(&backups).map(|d| d.count()).unwrap_or(0), 0, "no half-made backup is left");

    // Closed and opened again while the disk is still full: the start says the disk is full, never
    // that the database is damaged (which would offer a restore).
    drop(store);
    match Store::open(config.clone(), Arc::new(SystemClock)) {
        Ok(_) => println!("disk full: the database opened again on the full disk"),
        Err(e) => {
            assert_eq!(e.code(), ErrorCode::DiskFull, "a start on a full disk: {e}");
            println!("disk full: a start on the full disk was refused as a full disk");
        }
    }
    let store = Store::open(config.clone(), Arc::new(SystemClock)).or_else(|_| {
        // Room for the WAL's index, as a person freeing a little space would make.
        std::fs::remove_file(&ballast).unwrap();
        fill_all_but(&ballast, 256 * 1024);
        Store::open(config.clone(), Arc::new(SystemClock))
    });
    let store = store.expect("the database opens once there is a little room");

    // Space freed: saving works again, in the same running store.
    std::fs::remove_file(&ballast).unwrap();
    let after = store.register_client(&desk, &client(saved.len())).expect("saving works once space is freed");
    saved.push(after.id);
    let health = store.doctor().unwrap();
    assert!(health.is_healthy(), "{health:?}");
    drop(store);

    // And after a restart: everything, healthy, and no client twice.
    let store = Store::open(config, Arc::new(SystemClock)).unwrap();
    let missing = saved.iter().filter(|id| store.client(&admin, **id).is_err()).count();
    assert_eq!(missing, 0, "every saved client is there after a restart");
    assert!(store.doctor().unwrap().is_healthy());
    let clients = common::count(&store, "client");
    assert_eq!(clients, saved.len() as i64, "exactly the saved clients, none half-made");
    println!("disk full: {} clients saved before the disk filled; the refused writes left nothing; saving resumed once space was freed", saved.len() - 1);
}

/// A tmpfs mounted at this folder, unmounted when dropped.
struct Mounted(std::path::PathBuf);

impl Drop for Mounted {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.0).status();
    }
}

fn client(i: usize) -> NewClient {
    NewClient {
        first_name: format!("Full{i}"),
        last_name: "Disk".into(),
        phone: "07700 900000".into(),
        notes: "x".repeat(400),
        ..Default::default()
    }
}

/// Writes `path` until the disk has no more than `spare` bytes left.
fn fill_all_but(path: &Path, spare: u64) {
    let mut file = std::fs::File::create(path).unwrap();
    let chunk = vec![0x55u8; 64 * 1024];
    loop {
        let free = free_bytes(path.parent().unwrap());
        if free <= spare {
            break;
        }
        let n = (free - spare).min(chunk.len() as u64) as usize;
        if file.write_all(&chunk[..n]).is_err() {
            break;
        }
        file.flush().unwrap();
    }
    file.sync_all().unwrap();
}

/// The free space of the filesystem holding `dir`, from `df` (util-linux's sibling, coreutils).
fn free_bytes(dir: &Path) -> u64 {
    let out = Command::new("df").args(["--output=avail", "-B1"]).arg(dir).output().unwrap();
    String::from_utf8_lossy(&out.stdout).lines().nth(1).unwrap().trim().parse().unwrap()
}
