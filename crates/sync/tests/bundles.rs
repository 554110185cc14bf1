//! Bundles carried by hand, and hand-overs to another practice of the group: through the hub and by
//! file. Bundles arrive twice, late, cut short or with the wrong passphrase; nothing is lost,
//! doubled or half-applied.

mod common;

use common::*;
use lifeboat_core::{NewClient, NewPatient, Role, Species};
use lifeboat_sync::engine::{pair, sync_once, SyncOptions};
use lifeboat_sync::{bundle, handover};

fn quiet(_: lifeboat_sync::engine::Progress) {}

const PASSPHRASE: &str = "kingfisher by the river";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bundle_carried_by_hand_brings_what_the_network_could_not() {
    let relay = Relay::start().await;
    let (a, admin) = first_pc();
    let practice = practice_id(&a.store);
    let code = relay.code(practice, "Riverside Vets").await;
    let peer_a = pair(&a.store, Some(admin.clone()), "Relay", &relay.address(), &code, "A").await.unwrap();
    sync_once(&a.store, peer_a.id, &SyncOptions::default(), &quiet).await.unwrap();
    let b = pc();
    let code = relay.code(practice, "Riverside Vets").await;
    let peer_b = pair(&b.store, None, "Relay", &relay.address(), &code, "B").await.unwrap();
    sync_once(&b.store, peer_b.id, &SyncOptions::default(), &quiet).await.unwrap();
    let b_admin = b.store.login("admin", PASSWORD).unwrap();
    // A receptionist may not read a bundle in.
    let b_desk = b.store.login("desk", PASSWORD).unwrap();

    // The network is down; work goes on at A.
    let desk = a.store.login("desk", PASSWORD).unwrap();
    for name in ["Ashdown", "Brampton", "Quillfeather"] {
        let client = NewClient { last_name: name.into(), phone: "07700 900461".into(), ..Default::default() };
        a.store.register_client_with_patient(&desk, &client, Some(&NewPatient::new("Pepper", Species::Cat))).unwrap();
    }
    let marks = a.store.peer(peer_a.id).unwrap().marks;
    let dir = tempfile::TempDir::new().unwrap();
    let file = dir.path().join("riverside.lifeboat");
    let exported = bundle::export(&a.store, &admin, marks, &file, PASSPHRASE).await.unwrap();
    assert_eq!(
        exported.changes, 10,
        "only what the relay lacked (client, animal and ownership, three times, and the sign-in)"
    );

    // A receptionist may not export.
    let err = bundle::export(&a.store, &desk, vec![], &dir.path().join("x.lifeboat"), PASSPHRASE).await.unwrap_err();
    assert!(err.to_string().contains("may not set up sync"), "{err}");

    // Wrong passphrase, a cut file: refused, nothing applied.
    let before = b.store.dump().unwrap();
    let err = bundle::import(&b.store, Some(&b_admin), &file, "not the passphrase").await.unwrap_err();
    assert!(err.to_string().contains("passphrase is not the one"), "{err}");
    let bytes = std::fs::read(&file).unwrap();
    let cut = dir.path().join("cut.lifeboat");
    std::fs::write(&cut, &bytes[..bytes.len() - 10]).unwrap();
    let err = bundle::import(&b.store, Some(&b_admin), &cut, PASSPHRASE).await.unwrap_err();
    assert!(err.to_string().contains("cut short"), "{err}");
    assert_eq!(b.store.dump().unwrap(), before, "nothing of a refused bundle is applied");

    let err = bundle::import(&b.store, Some(&b_desk), &file, PASSPHRASE).await.unwrap_err();
    assert!(err.to_string().contains("may not set up sync"), "{err}");
    let imported = bundle::import(&b.store, Some(&b_admin), &file, PASSPHRASE).await.unwrap();
    assert_eq!((imported.applied.new, imported.applied.duplicates), (10, 0));
    assert_eq!(rows(&a.store), rows(&b.store));
    let again = bundle::import(&b.store, Some(&b_admin), &file, PASSPHRASE).await.unwrap();
    assert_eq!((again.applied.new, again.applied.duplicates), (0, 10), "a bundle imported twice changes nothing");
    assert_eq!(rows(&a.store), rows(&b.store));

    // The network returns: the changes that came by hand do not come twice.
    sync_once(&b.store, peer_b.id, &SyncOptions::verifying(), &quiet).await.unwrap();
    sync_once(&a.store, peer_a.id, &SyncOptions::verifying(), &quiet).await.unwrap();
    let report = sync_once(&b.store, peer_b.id, &SyncOptions::verifying(), &quiet).await.unwrap();
    assert!(report.verify_differing.is_empty());
    assert_eq!(a.store.dump().unwrap(), b.store.dump().unwrap());
}

/// An import cut off after its first chunk (the PC lost power): the chunks applied are whole, and
/// importing again completes it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_import_cut_off_halfway_is_completed_by_importing_again() {
    let (a, admin) = first_pc();
    let b = pc();
    let dir = tempfile::TempDir::new().unwrap();
    let file = dir.path().join("everything.lifeboat");
    bundle::export(&a.store, &admin, vec![], &file, PASSPHRASE).await.unwrap();
    let (_, changes) =
        lifeboat_protocol::bundle::read(&mut std::io::BufReader::new(std::fs::File::open(&file).unwrap()), PASSPHRASE)
            .unwrap();
    // What an import had committed when the power went: its first chunks, whole.
    let done = changes.len() / 2;
    b.store.apply_changes(&changes[..done]).unwrap();
    // The PC holds the practice's accounts now: its manager reads the bundle in again.
    let b_admin = b.store.login("admin", PASSWORD).unwrap();
    let imported = bundle::import(&b.store, Some(&b_admin), &file, PASSPHRASE).await.unwrap();
    assert_eq!(imported.applied.duplicates as usize, done);
    assert_eq!(imported.applied.new as usize, changes.len() - done);
    assert_eq!(rows(&a.store), rows(&b.store));
    b.store.login("admin", PASSWORD).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_patient_handed_over_arrives_read_only_at_the_other_practice() {
    let relay = Relay::start().await;
    let (a, a_admin) = first_pc();
    let (oh, oh_admin) = first_pc();
    let code = relay.code(practice_id(&a.store), "Riverside Vets").await;
    let peer_a =
        pair(&a.store, Some(a_admin.clone()), "Group hub", &relay.address(), &code, "Riverside").await.unwrap();
    let code = relay.code(practice_id(&oh.store), "Heronsgate Out of Hours").await;
    let peer_oh = pair(&oh.store, Some(oh_admin), "Group hub", &relay.address(), &code, "Heronsgate").await.unwrap();

    let vet = a.store.login("v.one", PASSWORD).unwrap();
    let desk = a.store.login("desk", PASSWORD).unwrap();
    let client = NewClient { last_name: "Quillfeather".into(), phone: "07700 900461".into(), ..Default::default() };
    let registered =
        a.store.register_client_with_patient(&desk, &client, Some(&NewPatient::new("Biscuit", Species::Dog))).unwrap();
    let dog = registered.patient.unwrap();

    let others = handover::practices(&a.store, peer_a.id).await.unwrap();
    assert_eq!(others.iter().map(|p| p.name.as_str()).collect::<Vec<_>>(), ["Heronsgate Out of Hours"]);
    let err = handover::send(&a.store, &desk, peer_a.id, dog.id, &others[0], "").await.unwrap_err();
    assert!(err.to_string().contains("may not send records to another practice"), "reception cannot: {err}");
    let sent = handover::send(&a.store, &vet, peer_a.id, dog.id, &others[0], "Vomiting since noon; recheck tonight")
        .await
        .unwrap();
    assert_eq!((sent.direction.as_str(), sent.patient_name.as_str()), ("sent", "Biscuit"));
    let journal = a.store.read(|c| lifeboat_core::store::journal::since(c, 0, 100_000)).unwrap();
    assert!(journal.iter().any(|e| e.change.entity == "handover" && e.change.entity_id == sent.id), "journaled");
    assert!(a.store.verify_audit().unwrap().is_intact());
    let audited: Vec<String> = a
        .store
        .read(|c| {
            let mut stmt = c.prepare("SELECT action FROM audit WHERE entity = 'handover'")?;
            let rows = stmt.query_map([], |r| r.get(0))?.collect::<rusqlite::Result<Vec<_>>>()?;
            Ok(rows)
        })
        .unwrap();
    assert_eq!(audited, [lifeboat_core::Action::HandOver.as_str()], "audited once, as a hand-over");

    sync_once(&oh.store, peer_oh.id, &SyncOptions::default(), &quiet).await.unwrap();
    let oh_vet = oh.store.login("v.one", PASSWORD).unwrap();
    let received = oh.store.handovers(&oh_vet).unwrap();
    assert_eq!(received.len(), 1);
    let h = &received[0];
    assert_eq!(
        (h.direction.as_str(), h.patient_name.as_str(), h.from_practice_name.as_str()),
        ("received", "Biscuit", "Riverside Vets")
    );
    assert_eq!(h.note, "Vomiting since noon; recheck tonight");
    assert_eq!(h.body["record"]["history"]["owners"][0]["last_name"], "Quillfeather");
    // Read-only: the record is not among the receiving practice's clients or animals.
    assert!(oh.store.patient(&oh_vet, dog.id).is_err());

    // The same by file, for a site with no network link.
    let dir = tempfile::TempDir::new().unwrap();
    let file = dir.path().join("biscuit.lifeboat");
    handover::export(&a.store, &vet, dog.id, "Heronsgate Out of Hours", "By hand", &file, PASSPHRASE).await.unwrap();
    let oh_admin = oh.store.login("admin", PASSWORD).unwrap();
    bundle::import(&oh.store, Some(&oh_admin), &file, PASSPHRASE).await.unwrap();
    let received = oh.store.handovers(&oh_vet).unwrap();
    assert_eq!(received.len(), 2);
    assert!(received.iter().all(|h| h.direction == "received" && h.patient_name == "Biscuit"));
    // A nurse at the receiving end sees them too; another practice's ordinary bundle is refused.
    let nurse_name = "n.oh";
    oh.store
        .add_staff(
            &oh.store.login("admin", PASSWORD).unwrap(),
            &lifeboat_core::example::staff(nurse_name, Role::Nurse, PASSWORD),
        )
        .unwrap();
    let everything = dir.path().join("riverside-all.lifeboat");
    bundle::export(&a.store, &a_admin, vec![], &everything, PASSPHRASE).await.unwrap();
    let err = bundle::import(&oh.store, Some(&oh_admin), &everything, PASSPHRASE).await.unwrap_err();
    assert!(err.to_string().contains("another practice's changes"), "{err}");
}

/// A PC's records, without its journal: what two PCs hold alike once a bundle is in, though each
/// has sign-ins of its own that have not travelled yet.
fn rows(store: &lifeboat_core::Store) -> String {
    store.dump().unwrap().lines().filter(|l| !l.starts_with("change ")).collect::<Vec<_>>().join("\n")
}

/// A bundle carries everything a PC holds, however large: seven lab results with 2 MB files (more
/// than a push or a page would carry at once) arrive whole on a new PC.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bundle_carries_lab_files_of_any_size() {
    let (a, admin) = first_pc();
    let (dog, files) = lab_results_with_files(&a.store);
    let dir = tempfile::TempDir::new().unwrap();
    let file = dir.path().join("everything.lifeboat");
    let exported = bundle::export(&a.store, &admin, vec![], &file, PASSPHRASE).await.unwrap();
    let b = pc();
    let imported = bundle::import(&b.store, None, &file, PASSPHRASE).await.unwrap();
    assert_eq!(u64::from(imported.applied.new), exported.changes);
    assert_eq!(a.store.dump().unwrap(), b.store.dump().unwrap(), "the new PC holds exactly the same");
    assert_eq!(lab_files_of(&b.store, dog), files);
}
