//! Two PCs and a practice relay on real TLS sockets: pairing, a booking made on one appearing on the
//! other, working alone while the relay is away, and a double booking made apart resolved once.

mod common;

use common::*;
use lifeboat_core::{AppointmentKind, NewAppointment, NewClient, NewPatient, Species};
use lifeboat_sync::engine::{pair, sync_once, SyncOptions};
use lifeboat_sync::error::SyncError;

fn quiet(_: lifeboat_sync::engine::Progress) {}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_booking_on_one_pc_appears_on_the_other() {
    let relay = Relay::start().await;
    let (a, admin) = first_pc();
    let practice = practice_id(&a.store);
    let code = relay.code(practice, "Riverside Vets").await;
    let peer_a =
        pair(&a.store, Some(admin.clone()), "Practice relay", &relay.address(), &code, "Reception PC").await.unwrap();
    sync_once(&a.store, peer_a.id, &SyncOptions::verifying(), &quiet).await.unwrap();

    // Clients registered on the first PC before the second joins.
    let names = ["Ashcombe", "Brightwell", "Carrow", "Dunmore", "Eastleigh", "Fairbairn", "Garrowby"];
    let desk_a = a.store.login("desk", PASSWORD).unwrap();
    let mut registered = Vec::new();
    for (i, name) in names.iter().enumerate() {
        let client = NewClient { last_name: name.to_string(), phone: format!("07700 90046{i}"), ..Default::default() };
        let made = a.store.register_client_with_patient(&desk_a, &client, Some(&NewPatient::new("Pip", Species::Cat)));
        registered.push(made.unwrap().client.id);
    }
    sync_once(&a.store, peer_a.id, &SyncOptions::default(), &quiet).await.unwrap();

    // A new PC joins with a code of its own, before anyone can log in on it; its pull comes in
    // pages of three changes (the search index takes the clients in once the pull has ended).
    let b = pc();
    let code = relay.code(practice, "Riverside Vets").await;
    let peer_b = pair(&b.store, None, "Practice relay", &relay.address(), &code, "Consult room PC").await.unwrap();
    let report =
        sync_once(&b.store, peer_b.id, &SyncOptions { page: 3, ..SyncOptions::verifying() }, &quiet).await.unwrap();
    assert!(report.pulled > 0 && report.verify_differing.is_empty(), "{report:?}");
    assert_eq!(a.store.dump().unwrap(), b.store.dump().unwrap(), "the new PC holds exactly the practice");
    assert_eq!(b.store.doctor().unwrap().search_index_differences, 0, "the index is what a rebuild makes");
    let reader = b.store.login("desk", PASSWORD).unwrap();
    for (name, id) in names.iter().zip(&registered) {
        let found: Vec<_> = b.store.search(&reader, &name[..4], 10).unwrap().iter().map(|h| h.client_id).collect();
        assert_eq!(found, [*id], "{name}");
    }

    let desk = b.store.login("desk", PASSWORD).unwrap();
    let client = NewClient { last_name: "Quillfeather".into(), phone: "07700 900461".into(), ..Default::default() };
    let registered =
        b.store.register_client_with_patient(&desk, &client, Some(&NewPatient::new("Biscuit", Species::Dog))).unwrap();
    let vet = b.store.login("v.one", PASSWORD).unwrap();
    let booking = NewAppointment {
        clinician_id: vet.staff_id,
        room: "Consult 1".into(),
        start: chrono::NaiveDate::from_ymd_opt(2026, 3, 31).unwrap().and_hms_opt(9, 0, 0).unwrap(),
        minutes: 15,
        kind: AppointmentKind::Consultation,
        reason: "Limping".into(),
        patient_id: registered.patient.as_ref().unwrap().id,
        client_id: registered.client.id,
        notes: String::new(),
        confirm_outside_hours: true,
    };
    let booked = b.store.book_appointment(&desk, &booking).unwrap();
    sync_once(&b.store, peer_b.id, &SyncOptions::default(), &quiet).await.unwrap();
    sync_once(&a.store, peer_a.id, &SyncOptions::default(), &quiet).await.unwrap();
    let seen = a.store.appointment(&admin, booked.id).unwrap();
    assert_eq!(seen, booked, "the same booking, field for field, on the other PC");
    assert_eq!(a.store.dump().unwrap(), b.store.dump().unwrap());
    assert!(a.store.sync_status().unwrap().last_sync.is_some());
    assert_eq!(a.store.sync_status().unwrap().pending_changes, 0);

    // The relay goes away: each PC works alone and says so in plain words.
    relay.running.kill().await;
    let err = sync_once(&a.store, peer_a.id, &SyncOptions::default(), &quiet).await.unwrap_err();
    assert!(matches!(err, SyncError::Unreachable(_)), "{err:?}");
    assert!(err.to_string().contains("cannot be reached"), "{err}");
    let status = a.store.sync_status().unwrap();
    assert_eq!(status.last_error.as_deref(), Some(err.to_string().as_str()));
    a.store.set_appointment_status(&admin, booked.id, lifeboat_core::AppointmentStatus::Arrived).unwrap();
    assert_eq!(a.store.sync_status().unwrap().pending_changes, 1, "one change waits for the relay");
}

fn copy_dir(from: &std::path::Path, to: &std::path::Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let path = entry.unwrap().path();
        if path.is_file() {
            std::fs::copy(&path, to.join(path.file_name().unwrap())).unwrap();
        }
    }
}

fn reopen(dir: &std::path::Path, fingerprint: &str) -> std::sync::Arc<lifeboat_core::Store> {
    let clock = std::sync::Arc::new(lifeboat_core::ManualClock::new(chrono::Utc::now()));
    let config = lifeboat_core::StoreConfig::in_dir(dir).with_fingerprint(fingerprint);
    std::sync::Arc::new(lifeboat_core::Store::open(config, clock).unwrap())
}

/// A PC's database put back from last night's backup, on the same PC: at its first sync it finds
/// the relay holds more of its changes than it does, takes a new node id before numbering anything,
/// receives the changes the backup missed, and everyone converges.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pc_put_back_from_its_own_backup_takes_a_new_node_and_gets_back_what_it_lost() {
    let relay = Relay::start().await;
    let dir = tempfile::TempDir::new().unwrap();
    let a = reopen(dir.path(), "PC-A|C:\\Lifeboat");
    let admin = a.create_practice(&lifeboat_core::example::practice_setup("admin", PASSWORD)).unwrap();
    let code = relay.code(practice_id(&a), "Riverside Vets").await;
    let peer = pair(&a, Some(admin.clone()), "Relay", &relay.address(), &code, "A").await.unwrap();
    sync_once(&a, peer.id, &SyncOptions::default(), &quiet).await.unwrap();
    let backup = tempfile::TempDir::new().unwrap();
    copy_dir(dir.path(), backup.path());
    for name in ["n.one", "n.two", "n.three"] {
        a.add_staff(&admin, &lifeboat_core::example::staff(name, lifeboat_core::Role::Nurse, PASSWORD)).unwrap();
    }
    sync_once(&a, peer.id, &SyncOptions::default(), &quiet).await.unwrap();
    let first_node = a.node_id();
    drop(a);

    // The disk fails; last night's backup goes back in place.
    for entry in std::fs::read_dir(dir.path()).unwrap() {
        std::fs::remove_file(entry.unwrap().path()).unwrap();
    }
    copy_dir(backup.path(), dir.path());
    let a = reopen(dir.path(), "PC-A|C:\\Lifeboat");
    assert_eq!(a.node_id(), first_node, "the same PC and folder: nothing tells it yet");
    let report = sync_once(&a, peer.id, &SyncOptions::verifying(), &quiet).await.unwrap();
    assert!(report.restored, "{report:?}");
    assert_ne!(a.node_id(), first_node, "a new node id before anything more is numbered");
    let admin = a.login("admin", PASSWORD).unwrap();
    assert!(a.list_staff(&admin).unwrap().iter().any(|s| s.username == "n.three"), "what the backup missed is back");
    a.add_staff(&admin, &lifeboat_core::example::staff("n.four", lifeboat_core::Role::Nurse, PASSWORD)).unwrap();
    sync_once(&a, peer.id, &SyncOptions::default(), &quiet).await.unwrap();
    assert!(a.verify_audit().unwrap().is_intact(), "{:?}", a.verify_audit().unwrap());

    let b = pc();
    let code = relay.code(practice_id(&a), "Riverside Vets").await;
    let peer_b = pair(&b.store, None, "Relay", &relay.address(), &code, "B").await.unwrap();
    sync_once(&b.store, peer_b.id, &SyncOptions::verifying(), &quiet).await.unwrap();
    assert_eq!(b.store.dump().unwrap(), a.dump().unwrap());
}

/// A database copied to a second PC keeps working beside the original: the copy takes a new node
/// id; the original's later changes reach the copy, and neither's audit check takes them for
/// tampering.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_database_copied_to_another_pc_syncs_beside_the_original() {
    let relay = Relay::start().await;
    let dir = tempfile::TempDir::new().unwrap();
    let a = reopen(dir.path(), "PC-A|C:\\Lifeboat");
    let admin = a.create_practice(&lifeboat_core::example::practice_setup("admin", PASSWORD)).unwrap();
    let code = relay.code(practice_id(&a), "Riverside Vets").await;
    let peer = pair(&a, Some(admin.clone()), "Relay", &relay.address(), &code, "A").await.unwrap();
    sync_once(&a, peer.id, &SyncOptions::default(), &quiet).await.unwrap();
    let copy_dir_path = tempfile::TempDir::new().unwrap();
    copy_dir(dir.path(), copy_dir_path.path());
    let c = reopen(copy_dir_path.path(), "PC-C|C:\\Lifeboat");
    assert_ne!(c.node_id(), a.node_id());
    a.add_staff(&admin, &lifeboat_core::example::staff("n.a", lifeboat_core::Role::Nurse, PASSWORD)).unwrap();
    c.add_staff(&admin, &lifeboat_core::example::staff("n.c", lifeboat_core::Role::Nurse, PASSWORD)).unwrap();
    for _ in 0..2 {
        sync_once(&a, peer.id, &SyncOptions::default(), &quiet).await.unwrap();
        sync_once(&c, peer.id, &SyncOptions::default(), &quiet).await.unwrap();
    }
    assert_eq!(a.dump().unwrap(), c.dump().unwrap());
    assert!(a.verify_audit().unwrap().is_intact());
    assert!(c.verify_audit().unwrap().is_intact(), "{:?}", c.verify_audit().unwrap());
}

/// Lab results with their files (here seven of 2 MB, more than one request may carry) go to the relay
/// and on to another PC in pushes and pages that fit the server's limit, and arrive whole.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lab_results_with_large_files_travel_in_pages_that_fit_the_servers_limit() {
    let relay = Relay::start().await;
    lab_files_travel_through(&relay).await;
}

/// A person saves a change on a PC while a long pull is being applied there, through the sync
/// engine and the relay: the save goes in between the pull's transactions, the pull then brings in
/// the rest, each change once, and both PCs end with the same records.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_persons_save_goes_in_while_a_long_pull_applies_and_the_pull_then_finishes() {
    let relay = Relay::start().await;
    let (a, admin) = first_pc();
    let practice = practice_id(&a.store);
    let code = relay.code(practice, "Riverside Vets").await;
    let peer_a =
        pair(&a.store, Some(admin.clone()), "Practice relay", &relay.address(), &code, "Reception").await.unwrap();
    sync_once(&a.store, peer_a.id, &SyncOptions::default(), &quiet).await.unwrap();
    let b = pc();
    let code = relay.code(practice, "Riverside Vets").await;
    let peer_b = pair(&b.store, None, "Practice relay", &relay.address(), &code, "Consult room").await.unwrap();
    sync_once(&b.store, peer_b.id, &SyncOptions::default(), &quiet).await.unwrap();
    let admin_b = b.store.login("admin", PASSWORD).unwrap();

    // The first PC registers 3,000 clients (a day's backlog of a busy practice) and sends them.
    const CLIENTS: i64 = 3000;
    let desk = a.store.login("desk", PASSWORD).unwrap();
    a.store
        .write(&desk, |w| {
            for i in 0..CLIENTS {
                let phone = format!("07700 9{i:05}");
                w.register_client(&NewClient { last_name: format!("Client {i}"), phone, ..Default::default() })?;
            }
            Ok(())
        })
        .unwrap();
    sync_once(&a.store, peer_a.id, &SyncOptions::default(), &quiet).await.unwrap();

    // The second PC pulls them in pages of 1,000, each applied in one transaction. Once the first
    // page is in, the person waits until the next page's transaction holds the database (another
    // connection cannot begin one), and saves a change: the transaction gives way part-way through
    // its page, and the engine applies the rest of the page after the save.
    let held = |store: &lifeboat_core::Store| -> i64 {
        store
            .read(|c| Ok(c.query_row("SELECT count(*) FROM client WHERE last_name LIKE 'Client %'", [], |r| r.get(0))?))
            .unwrap()
    };
    let first_page_in = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let pull_ended = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let person = {
        let (store, admin_b) = (b.store.clone(), admin_b.clone());
        let (first_page_in, pull_ended) = (first_page_in.clone(), pull_ended.clone());
        let raw = raw_connection(&b.dir);
        std::thread::spawn(move || {
            // (Busy is the only answer that means held: any other error fails the test.)
            let free = || match raw.execute_batch("BEGIN IMMEDIATE; ROLLBACK") {
                Ok(()) => true,
                Err(e) if e.sqlite_error_code() == Some(rusqlite::ErrorCode::DatabaseBusy) => false,
                Err(e) => panic!("the probe could not ask the database: {e}"),
            };
            while !first_page_in.load(std::sync::atomic::Ordering::SeqCst) || free() {
                assert!(!pull_ended.load(std::sync::atomic::Ordering::SeqCst), "the pull ended first");
                std::thread::sleep(std::time::Duration::from_millis(1));
            }
            let update = lifeboat_core::StaffUpdate { qualifications: Some("BVSc".into()), ..Default::default() };
            store.update_staff(&admin_b, admin_b.staff_id, &update).unwrap();
        })
    };
    let progress = {
        let first_page_in = first_page_in.clone();
        // (The engine says "receiving" after each page it applied; "connecting" and "sending" come first.)
        move |p: lifeboat_sync::engine::Progress| {
            if p.phase == "receiving" {
                first_page_in.store(true, std::sync::atomic::Ordering::SeqCst)
            }
        }
    };
    let options = SyncOptions { page: 1000, apply_chunk: 1000, ..SyncOptions::default() };
    let report = sync_once(&b.store, peer_b.id, &options, &progress).await.unwrap();
    pull_ended.store(true, std::sync::atomic::Ordering::SeqCst);
    person.join().unwrap();
    // (Beside the clients: the desk's sign-in on the first PC, and this PC's own admin sign-in, sent
    // by this sync's push and received back as a duplicate.)
    assert_eq!(
        (report.pulled, report.applied.new, report.applied.duplicates, report.applied.quarantined),
        (CLIENTS as u64 + 2, CLIENTS as u32 + 1, 1, 0)
    );
    assert_eq!(held(&b.store), CLIENTS);

    // The person's change lies between pulled changes in the second PC's journal.
    let (before, after): (i64, i64) = b
        .store
        .read(|c| {
            Ok(c.query_row(
                "SELECT (SELECT count(*) FROM journal j JOIN journal s ON s.seq = (SELECT max(seq) FROM journal WHERE entity = 'staff' AND kind = 'update')
                         WHERE j.entity = 'client' AND j.seq < s.seq),
                        (SELECT count(*) FROM journal j JOIN journal s ON s.seq = (SELECT max(seq) FROM journal WHERE entity = 'staff' AND kind = 'update')
                         WHERE j.entity = 'client' AND j.seq > s.seq)",
                [],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )?)
        })
        .unwrap();
    // The pages hold the desk's sign-in and 999 clients, then 1,000 clients, then the rest: a save
    // between 999 and 1,999 clients went in inside the second page, whose transaction gave way.
    assert!(
        before > 999 && before < 1999 && before + after == CLIENTS,
        "{before} clients before the save, {after} after"
    );
    let me = b.store.list_staff(&admin_b).unwrap().into_iter().find(|s| s.id == admin_b.staff_id).unwrap();
    assert_eq!(me.qualifications, "BVSc");
    assert!(b.store.verify_audit().unwrap().is_intact());

    // The save travels back, and both PCs hold the same records.
    sync_once(&b.store, peer_b.id, &SyncOptions::default(), &quiet).await.unwrap();
    sync_once(&a.store, peer_a.id, &SyncOptions::default(), &quiet).await.unwrap();
    assert_eq!(a.store.dump().unwrap(), b.store.dump().unwrap());
    assert_eq!(b.store.doctor().unwrap().search_index_differences, 0);
}
