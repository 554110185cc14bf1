//! The central hub on a real PostgreSQL (installed and started by the test command): tenant isolation
//! through the API whatever ids a device sends, paging at exact multiples of the page size, a hub
//! restored from an older backup refilled by the next sync, revoked and unknown devices, and the
//! OpenAPI description served.

mod common;

use common::*;
use lifeboat_protocol::{Change, HandoverOut, Pull};
use lifeboat_sync::engine::{pair, sync_once, SyncOptions};
use lifeboat_sync::error::SyncError;
use uuid::Uuid;

fn quiet(_: lifeboat_sync::engine::Progress) {}

async fn pull_everything(client: &lifeboat_sync::client::Client, limit: u32) -> Vec<Change> {
    let (mut after, mut after_op, mut all) = (0, None, Vec::new());
    loop {
        let page = client.pull(&Pull { after, after_op, limit }).await.unwrap();
        let Some(last) = page.changes.last() else { return all };
        after = last.seq;
        after_op = Some(last.change.op_id);
        assert!(page.changes.len() <= limit as usize);
        all.extend(page.changes.into_iter().map(|s| s.change));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_device_of_one_practice_cannot_read_or_write_anothers() {
    let hub = PgHub::start("hub_tenants").await;
    let (a, a_admin) = first_pc();
    let (b, b_admin) = first_pc();
    let (pa, pb) = (practice_id(&a.store), practice_id(&b.store));
    let code = hub.relay.code(pa, "Riverside Vets").await;
    let peer_a =
        pair(&a.store, Some(a_admin), "Group hub", &hub.relay.address(), &code, "Riverside reception").await.unwrap();
    let code = hub.relay.code(pb, "Heronsgate Vets").await;
    let peer_b =
        pair(&b.store, Some(b_admin), "Group hub", &hub.relay.address(), &code, "Heronsgate reception").await.unwrap();
    sync_once(&a.store, peer_a.id, &SyncOptions::verifying(), &quiet).await.unwrap();
    sync_once(&b.store, peer_b.id, &SyncOptions::verifying(), &quiet).await.unwrap();

    let client_a = client_for(&a.store, &peer_a);
    let client_b = client_for(&b.store, &peer_b);
    let b_before = pull_everything(&client_b, 500).await;
    let b_ops: std::collections::HashSet<Uuid> = b_before.iter().map(|c| c.op_id).collect();

    // Reading: A's device sees A's changes and marks only.
    let a_sees = pull_everything(&client_a, 500).await;
    assert!(a_sees.iter().all(|c| !b_ops.contains(&c.op_id)), "none of B's changes reach A");
    let hello = client_a.hello().await.unwrap();
    assert_eq!(hello.practice_id, pa);
    let b_node = b.store.node_id();
    assert!(hello.marks.iter().all(|m| m.node_id != b_node), "B's nodes are not even named to A");

    // Writing: A's device sends B's own changes, B's node ids and op ids and all. They land in A's
    // stream (as anything A's device sends does) and B's is untouched.
    let stolen: Vec<Change> = b_before.clone();
    client_a.push(stolen, Vec::new()).await.unwrap();
    let b_after = pull_everything(&client_b, 500).await;
    assert_eq!(b_after, b_before, "B's stream is exactly as it was");
    assert_eq!(client_b.hello().await.unwrap().last_seq, b_before.len() as i64);

    // Asking for B by sequence numbers beyond A's, or by a forged cursor, finds nothing of B's.
    // (A's stream now holds copies of B's changes because A's own device pushed them: that is A's data.)
    let far = client_a.pull(&Pull { after: 0, after_op: None, limit: 2000 }).await.unwrap();
    let a_ops: std::collections::HashSet<Uuid> = a_sees.iter().map(|c| c.op_id).collect();
    assert_eq!(far.changes.len(), a_sees.len() + b_before.len(), "A's own changes and what A pushed, nothing else");
    assert!(far.changes.iter().all(|s| a_ops.contains(&s.change.op_id) || b_ops.contains(&s.change.op_id)));
    let err =
        client_a.pull(&Pull { after: 1_000_000, after_op: Some(b_before[0].op_id), limit: 10 }).await.unwrap_err();
    assert!(matches!(err, SyncError::CursorUnknown(_)), "{err:?}");

    // The one designed crossing: a hand-over, which B receives as a record marked received.
    let sent = client_a
        .handover(&HandoverOut {
            id: Uuid::now_v7(),
            to_practice: pb,
            patient_id: Uuid::now_v7(),
            sent_by: Uuid::now_v7(),
            record: serde_json::json!({ "patient": { "name": "Pepper" } }),
            note: "Out of hours: please recheck tonight".into(),
        })
        .await
        .unwrap();
    assert_eq!(sent.to_practice_name, "Heronsgate Vets");
    let b_now = pull_everything(&client_b, 500).await;
    assert_eq!(b_now.len(), b_before.len() + 1);
    let received = b_now.last().unwrap();
    assert_eq!((received.entity.as_str(), received.payload["direction"].as_str()), ("handover", Some("received")));

    // A push for a practice the hub does not have is refused: it finds and locks its practice's row
    // before storing anything (the database no longer checks each change's practice row by row).
    let ghost = lifeboat_hub::store::Device {
        id: Uuid::nil(),
        practice_id: Uuid::now_v7(),
        practice_name: String::new(),
        node_id: Uuid::now_v7(),
    };
    let err = hub.relay.running.hub.store.push(&ghost, b_before[..1].to_vec(), Vec::new()).await.unwrap_err();
    assert_eq!(err.to_string(), format!("there is no practice {} on this server", ghost.practice_id));

    // A revoked device is refused everything; an unknown credential too.
    let devices = hub.relay.running.hub.store.devices(Some(pa)).await.unwrap();
    hub.relay.running.hub.store.revoke(devices[0].id).await.unwrap();
    let err = client_a.hello().await.unwrap_err();
    assert!(matches!(err, SyncError::Revoked(_)) && err.to_string().contains("revoked"), "{err:?}");
    let err = sync_once(&a.store, peer_a.id, &SyncOptions::default(), &quiet).await.unwrap_err();
    assert!(err.to_string().contains("revoked"), "{err}");
    let forged = lifeboat_sync::client::Client::new(
        &peer_a.url,
        lifeboat_sync::client::Pin::Exact(peer_a.cert_sha256.clone()),
        Some("f".repeat(64)),
    )
    .unwrap();
    assert!(matches!(forged.hello().await.unwrap_err(), SyncError::NotPaired(_)));

    // The API describes itself.
    let spec = client_b.openapi().await.unwrap();
    assert_eq!(spec["info"]["title"], "Lifeboat hub");
    for path in [
        "/v1/enrol",
        "/v1/hello",
        "/v1/push",
        "/v1/pull",
        "/v1/verify",
        "/v1/audit-head",
        "/v1/practices",
        "/v1/handover",
    ] {
        assert!(spec["paths"].get(path).is_some(), "{path} is described");
    }
}

/// Pages of exactly the page size, and a last page that is exactly full: nothing skipped or doubled.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn paging_at_exact_multiples_of_the_page_size_loses_nothing() {
    let hub = PgHub::start("hub_paging").await;
    let (a, admin) = first_pc();
    let practice = practice_id(&a.store);
    let code = hub.relay.code(practice, "Riverside Vets").await;
    let peer = pair(&a.store, Some(admin), "Group hub", &hub.relay.address(), &code, "Reception").await.unwrap();
    sync_once(&a.store, peer.id, &SyncOptions::default(), &quiet).await.unwrap();
    let total = client_for(&a.store, &peer).hello().await.unwrap().last_seq as u32;
    let client = client_for(&a.store, &peer);
    for limit in (1..=total).filter(|l| total.is_multiple_of(*l)) {
        let all = pull_everything(&client, limit).await;
        assert_eq!(all.len() as u32, total, "page size {limit}");
        let distinct: std::collections::HashSet<Uuid> = all.iter().map(|c| c.op_id).collect();
        assert_eq!(distinct.len() as u32, total, "page size {limit}: nothing twice");
    }
    // And the engine, paging a new PC in at an exact multiple.
    let b = pc();
    let code = hub.relay.code(practice, "Riverside Vets").await;
    let peer_b = pair(&b.store, None, "Group hub", &hub.relay.address(), &code, "Consult room").await.unwrap();
    let divisor = (2..total).rev().find(|d| total.is_multiple_of(*d) && total / d >= 2).unwrap_or(1);
    let options = SyncOptions { page: divisor, apply_chunk: 7, ..SyncOptions::verifying() };
    let report = sync_once(&b.store, peer_b.id, &options, &quiet).await.unwrap();
    assert_eq!(report.pulled, total as u64);
    assert!(report.verify_differing.is_empty());
    assert_eq!(a.store.dump().unwrap(), b.store.dump().unwrap());
}

/// The hub's database is restored from last night's backup, losing what came in since. The next
/// sync of each PC notices, pulls again from the start, and pushes what the hub lacks: the hub is
/// whole again, and a PC that pairs afterwards receives everything.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hub_restored_from_an_older_backup_is_refilled_by_the_next_sync() {
    let hub = PgHub::start("hub_restore").await;
    let (a, admin) = first_pc();
    let practice = practice_id(&a.store);
    let code = hub.relay.code(practice, "Riverside Vets").await;
    let peer_a =
        pair(&a.store, Some(admin.clone()), "Group hub", &hub.relay.address(), &code, "Reception").await.unwrap();
    sync_once(&a.store, peer_a.id, &SyncOptions::default(), &quiet).await.unwrap();
    let b = pc();
    let code = hub.relay.code(practice, "Riverside Vets").await;
    let peer_b = pair(&b.store, None, "Group hub", &hub.relay.address(), &code, "Consult room").await.unwrap();
    sync_once(&b.store, peer_b.id, &SyncOptions::default(), &quiet).await.unwrap();

    let backup = hub.relay.dir.path().join("nightly.dump");
    hub.cluster.dump("hub_restore", &backup).unwrap();

    // After the backup: both PCs make changes and sync them.
    for (pc, n) in [(&a, "n.after.a"), (&b, "n.after.b")] {
        let admin = pc.store.login("admin", PASSWORD).unwrap();
        pc.store.add_staff(&admin, &lifeboat_core::example::staff(n, lifeboat_core::Role::Nurse, PASSWORD)).unwrap();
    }
    sync_once(&a.store, peer_a.id, &SyncOptions::default(), &quiet).await.unwrap();
    sync_once(&b.store, peer_b.id, &SyncOptions::default(), &quiet).await.unwrap();
    sync_once(&a.store, peer_a.id, &SyncOptions::default(), &quiet).await.unwrap();
    let held = client_for(&a.store, &peer_a).hello().await.unwrap().last_seq;

    // The hub's disk dies; IT restores last night's backup.
    let PgHub { cluster, url, relay } = hub;
    let tls_dir = relay.dir;
    relay.running.stop().await;
    cluster.restore("hub_restore", &backup).unwrap();
    let store = lifeboat_hub::store::postgres::PgStore::connect(&url).await.unwrap();
    let relay = Relay::start_on(tls_dir, lifeboat_hub::store::Store::Postgres(store)).await;
    // The restored hub listens on a new port; a manager on each PC types its new address.
    let new_url = format!("https://{}", relay.address());
    a.store.set_peer_url(&admin, peer_a.id, &new_url).unwrap();
    let b_admin = b.store.login("admin", PASSWORD).unwrap();
    b.store.set_peer_url(&b_admin, peer_b.id, &new_url).unwrap();
    assert!(
        client_for(&a.store, &a.store.peer(peer_a.id).unwrap()).hello().await.unwrap().last_seq < held,
        "the backup is older"
    );

    // The first PC to sync pushes what the backup lacks (its own change and the other PC's, which
    // it holds, each with the sign-in before it); whether a PC must pull again from the start
    // depends on whether the refilled history matches the one it paged through (checked by the
    // change at its cursor).
    let report = sync_once(&a.store, peer_a.id, &SyncOptions::default(), &quiet).await.unwrap();
    assert_eq!(report.pushed, 4, "{report:?}");
    sync_once(&b.store, peer_b.id, &SyncOptions::verifying(), &quiet).await.unwrap();
    let report = sync_once(&a.store, peer_a.id, &SyncOptions::verifying(), &quiet).await.unwrap();
    assert!(report.verify_differing.is_empty());
    assert_eq!(a.store.dump().unwrap(), b.store.dump().unwrap());

    // A bundle carried to the hub by hand is stored once, however often it is imported.
    let admin = a.store.login("admin", PASSWORD).unwrap();
    a.store.add_staff(&admin, &lifeboat_core::example::staff("n.stick", lifeboat_core::Role::Nurse, PASSWORD)).unwrap();
    let file = relay.dir.path().join("stick.lifeboat");
    lifeboat_sync::bundle::export(&a.store, &admin, vec![], &file, "a passphrase for the stick").await.unwrap();
    // (The new account and the sign-in before it.)
    for expected_new in [2, 0] {
        let mut reader = std::io::BufReader::new(std::fs::File::open(&file).unwrap());
        let (p, stored, _) =
            lifeboat_hub::bundle::import(&relay.running.hub.store, practice, &mut reader, "a passphrase for the stick")
                .await
                .unwrap();
        assert_eq!((p.id, stored), (practice, expected_new));
    }

    let c = pc();
    let code = relay.code(practice, "Riverside Vets").await;
    let peer_c = pair(&c.store, None, "Group hub", &relay.address(), &code, "New PC").await.unwrap();
    sync_once(&c.store, peer_c.id, &SyncOptions::verifying(), &quiet).await.unwrap();
    assert_eq!(c.store.dump().unwrap(), a.store.dump().unwrap(), "the refilled hub holds everything");
    drop(cluster);
}

/// Lab results with their files page through the hub on PostgreSQL as through the relay: pages stop
/// at the byte budget, and everything arrives.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lab_results_with_large_files_page_through_the_hub() {
    let hub = PgHub::start("hub_lab_files").await;
    lab_files_travel_through(&hub.relay).await;
}
