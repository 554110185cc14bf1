//! Crash safety, measured: a writer process registering clients as fast as it can is killed at a
//! random moment 20 to 250 ms after it starts (`Child::kill`: SIGKILL on Unix, TerminateProcess on
//! Windows), hundreds of times; each database takes 25 kills in turn. After every kill the database must open, every write the writer was told had
//! succeeded must be there, and the health check (SQLite's and SQLCipher's integrity checks, foreign
//! keys, the journal against the audit chain) must pass. The figures are printed for RELIABILITY.md;
//! `LIFEBOAT_CRASH_TRIALS` sets how many kills (200 by default).
//!
//! The writer is this test binary run again with `LIFEBOAT_CRASH_WRITER` set: the `writer` test
//! below does the writing then, and nothing otherwise.

mod common;

use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::PASSWORD;
use lifeboat_core::{example, NewClient, Role, Session, Store, StoreConfig, SystemClock};
use rand::Rng;
use uuid::Uuid;

const WRITER: &str = "LIFEBOAT_CRASH_WRITER";
const STAFF: &str = "LIFEBOAT_CRASH_STAFF";

/// The writer's part: registers clients one after another in the database folder named by
/// `LIFEBOAT_CRASH_WRITER`, printing each one's id once its write has returned, until it is killed.
#[test]
fn writer() {
    let Some(dir) = std::env::var_os(WRITER) else { return };
    let staff_id = Uuid::parse_str(&std::env::var(STAFF).unwrap()).unwrap();
    let store = Store::open(StoreConfig::in_dir(std::path::Path::new(&dir)), Arc::new(SystemClock)).unwrap();
    // A session is who acts; the store checks the account and its role on every write.
    let desk = Session {
        staff_id,
        username: "desk".into(),
        display_name: "Desk".into(),
        role: Role::Reception,
        must_change_password: false,
    };
    let mut out = std::io::stdout().lock();
    for i in 0u64.. {
        let new = NewClient {
            first_name: format!("Crash{i}"),
            last_name: "Writer".into(),
            phone: "07700 900000".into(),
            ..Default::default()
        };
        let client = store.register_client(&desk, &new).unwrap();
        // Only now has the write returned: the id is the promise to check.
        writeln!(out, "saved {}", client.id).unwrap();
        out.flush().unwrap();
    }
}

#[test]
fn no_write_that_returned_is_lost_when_the_writer_is_killed_at_random() {
    if std::env::var_os(WRITER).is_some() {
        return;
    }
    let trials: usize = std::env::var("LIFEBOAT_CRASH_TRIALS").ok().and_then(|n| n.parse().ok()).unwrap_or(200);
    let mut rng = rand::rng();
    let started = Instant::now();
    let (mut acknowledged, mut checked_trials, mut killed_mid_burst) = (0usize, 0usize, 0usize);
    // A database takes the kills of 25 trials in turn (its health check reads all of it each time).
    let mut databases = Vec::new();
    for trial in 0..trials {
        if trial % 25 == 0 {
            databases.push(fresh_database());
        }
        let (db, desk, admin, all) = databases.last_mut().unwrap();
        let (db, desk, admin) = (&*db, *desk, &*admin);
        let mut child = start_writer(db.path(), desk);
        let stdout = child.stdout.take().unwrap();
        let reader = std::thread::spawn(move || {
            BufReader::new(stdout)
                .lines()
                .map_while(Result::ok)
                .filter_map(|l| l.strip_prefix("saved ").and_then(|id| Uuid::parse_str(id).ok()))
                .collect::<Vec<Uuid>>()
        });
        // Somewhere between opening the database and a good burst of writes.
        std::thread::sleep(Duration::from_millis(rng.random_range(20..250)));
        child.kill().unwrap();
        let status = child.wait().unwrap();
        let saved = reader.join().unwrap();
        // It died of the kill, not of a failure of its own (which would not be a crash to survive).
        let mut stderr = String::new();
        std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut stderr).unwrap();
        assert!(killed(status), "trial {trial}: the writer was not killed but ended {status}: {stderr}");
        if !saved.is_empty() {
            killed_mid_burst += 1;
        }
        acknowledged += saved.len();

        // The database opens, holds every write that returned, and is healthy.
        let store = Store::open(StoreConfig::in_dir(db.path()), Arc::new(SystemClock))
            .unwrap_or_else(|e| panic!("trial {trial}: the database does not open after the kill: {e}"));
        let missing: Vec<&Uuid> = saved.iter().filter(|id| store.client(admin, **id).is_err()).collect();
        assert!(missing.is_empty(), "trial {trial}: {} saved clients are gone: {missing:?}", missing.len());
        let health = store.doctor().unwrap();
        assert!(health.is_healthy(), "trial {trial}: {health:?}");
        assert_eq!(health.search_index_differences, 0, "trial {trial}: the index was written with its records");
        checked_trials += 1;
        all.extend(saved);
    }
    // And at the end, every write of every trial is still there.
    for (db, _, admin, all) in &databases {
        let store = Store::open(StoreConfig::in_dir(db.path()), Arc::new(SystemClock)).unwrap();
        let lost = all.iter().filter(|id| store.client(admin, **id).is_err()).count();
        assert_eq!(lost, 0, "saved clients lost over the trials");
        assert_eq!(all.iter().collect::<std::collections::BTreeSet<_>>().len(), all.len(), "an id acknowledged twice");
    }
    assert!(killed_mid_burst * 2 > trials, "most kills land in a burst of writes ({killed_mid_burst} of {trials})");
    // With no loss in n trials, the chance of losing a write per kill is below 3/n at 95% confidence
    // (the rule of three).
    println!(
        "crash safety: {checked_trials} kills ({killed_mid_burst} during writes), {acknowledged} writes acknowledged, 0 lost, \
         every database healthy; loss per kill < {:.2}% (95%); {:.0} s",
        300.0 / trials as f64,
        started.elapsed().as_secs_f64()
    );
}

/// This test binary run again as the writer (the `writer` test) on the database in `dir`, as `desk`,
/// its output piped.
fn start_writer(dir: &std::path::Path, desk: Uuid) -> std::process::Child {
    Command::new(std::env::current_exe().unwrap())
        .args(["writer", "--exact", "--nocapture", "--test-threads=1"])
        .env(WRITER, dir)
        .env(STAFF, desk.to_string())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

/// A database with a practice and a receptionist: its folder, the receptionist's id, the admin's
/// session (to read back), and the ids saved in it so far.
fn fresh_database() -> (tempfile::TempDir, Uuid, Session, Vec<Uuid>) {
    let dir = tempfile::TempDir::new().unwrap();
    let store = Store::open(StoreConfig::in_dir(dir.path()), Arc::new(SystemClock)).unwrap();
    let admin = store.create_practice(&example::practice_setup("admin", PASSWORD)).unwrap();
    let desk = store.add_staff(&admin, &example::staff("desk", Role::Reception, PASSWORD)).unwrap();
    (dir, desk.id, admin, Vec::new())
}

/// Whether the process ended by being killed. Platform code: on Unix a kill is SIGKILL (signal 9); on
/// Windows `TerminateProcess` makes the exit code 1.
fn killed(status: std::process::ExitStatus) -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::process::ExitStatusExt;
        status.signal() == Some(9)
    }
    #[cfg(windows)]
    {
        status.code() == Some(1)
    }
    #[cfg(not(any(unix, windows)))]
    {
        !status.success()
    }
}

/// A write-ahead log deleted after a crash, while it still held saved changes: the start names the
/// missing log instead of quietly opening the older database, and leaves the database and its index
/// byte for byte as found; with the log put back, every saved change is there.
#[test]
fn a_wal_deleted_after_a_crash_is_named_at_start_and_nothing_is_touched() {
    if std::env::var_os(WRITER).is_some() {
        return;
    }
    let (db, desk, admin, _) = fresh_database();
    let mut child = start_writer(db.path(), desk);
    // Killed once 30 clients are saved.
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut saved = Vec::new();
    while saved.len() < 30 {
        let line = lines.next().expect("the writer saves clients").unwrap();
        saved.extend(line.strip_prefix("saved ").and_then(|id| Uuid::parse_str(id).ok()));
    }
    child.kill().unwrap();
    assert!(killed(child.wait().unwrap()));
    drop(lines);

    let config = StoreConfig::in_dir(db.path());
    let side = |end: &str| {
        let mut name = config.database.clone().into_os_string();
        name.push(end);
        std::path::PathBuf::from(name)
    };
    let (wal, shm) = (side("-wal"), side("-shm"));
    assert!(wal.exists() && shm.exists(), "a killed writer leaves its log and index");
    let before = (std::fs::read(&config.database).unwrap(), std::fs::read(&shm).unwrap());
    let aside = db.path().join("moved-away.wal");
    std::fs::rename(&wal, &aside).unwrap();

    let refused = Store::open(config.clone(), Arc::new(SystemClock)).err().expect("the start is refused");
    assert_eq!(refused.code(), lifeboat_core::ErrorCode::Corrupt, "{refused}");
    let message = refused.to_string();
    assert!(
        message.contains(&format!(
            "its write-ahead log {} is missing, and it held saved changes not yet written into the database (",
            wal.display()
        )),
        "the message names the missing log: {message}"
    );
    assert_eq!((std::fs::read(&config.database).unwrap(), std::fs::read(&shm).unwrap()), before, "nothing touched");
    assert!(!wal.exists(), "no empty log made in its place");

    // Put back, the log gives every saved client.
    std::fs::rename(&aside, &wal).unwrap();
    let store = Store::open(config, Arc::new(SystemClock)).unwrap();
    let missing = saved.iter().filter(|id| store.client(&admin, **id).is_err()).count();
    assert_eq!(missing, 0, "every client saved before the kill is there");
    assert!(store.doctor().unwrap().is_healthy());
}
