#![allow(dead_code)]

use std::sync::Arc;

use chrono::{TimeZone, Utc};
use lifeboat_core::{example, ManualClock, Role, Session, Store, StoreConfig};
use lifeboat_hub::api::Hub;
use lifeboat_hub::server::{self, Running};
use lifeboat_hub::store::sqlite::SqliteStore;
use lifeboat_hub::store::Store as HubStore;
use lifeboat_hub::tls::TlsIdentity;
use lifeboat_protocol::pairing::{fingerprint_prefix, PairingCode};
use tempfile::TempDir;
use uuid::Uuid;

pub const PASSWORD: &str = "correct horse battery";

/// A practice relay on a real TLS socket, on an SQLite file in a temporary folder.
pub struct Relay {
    pub dir: TempDir,
    pub running: Running,
}

impl Relay {
    pub async fn start() -> Relay {
        let dir = TempDir::new().unwrap();
        let store = SqliteStore::open(&dir.path().join("relay.db"), Some(&"ab".repeat(32))).unwrap();
        Relay::start_on(dir, HubStore::Sqlite(store)).await
    }

    pub async fn start_on(dir: TempDir, store: HubStore) -> Relay {
        let tls = TlsIdentity::load_or_create(dir.path()).unwrap();
        let hub = Hub::new(store).await.unwrap();
        let running = server::start(hub, &tls, "127.0.0.1:0".parse().unwrap()).await.unwrap();
        Relay { dir, running }
    }

    pub fn address(&self) -> String {
        self.running.address.to_string()
    }

    /// A pairing code for `practice` (added to the server if new).
    pub async fn code(&self, practice: Uuid, name: &str) -> String {
        let hub = &self.running.hub;
        hub.store.add_practice(practice, name).await.unwrap();
        let code = hub.store.new_enrol_code(practice, 1).await.unwrap();
        PairingCode {
            url: format!("https://{}", self.address()),
            fingerprint_prefix: fingerprint_prefix(&self.running.fingerprint).unwrap(),
            enrol_code: code,
        }
        .code()
    }
}

/// One PC: its database and clock.
pub struct Pc {
    pub dir: TempDir,
    pub clock: Arc<ManualClock>,
    pub store: Arc<Store>,
}

pub fn pc() -> Pc {
    let dir = TempDir::new().unwrap();
    let clock = Arc::new(ManualClock::new(Utc.with_ymd_and_hms(2026, 3, 30, 7, 0, 0).unwrap()));
    let store = Arc::new(Store::open(StoreConfig::in_dir(dir.path()), clock.clone()).unwrap());
    Pc { dir, clock, store }
}

/// A PC on which the practice was set up, with a receptionist and a vet; returns the admin's session.
pub fn first_pc() -> (Pc, Session) {
    let pc = pc();
    let admin = pc.store.create_practice(&example::practice_setup("admin", PASSWORD)).unwrap();
    pc.store.add_staff(&admin, &example::staff("desk", Role::Reception, PASSWORD)).unwrap();
    pc.store.add_staff(&admin, &example::staff("v.one", Role::Vet, PASSWORD)).unwrap();
    (pc, admin)
}

/// A connection of its own to a PC's database file, beside the store's (for seeing it held).
pub fn raw_connection(dir: &TempDir) -> rusqlite::Connection {
    let key: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join(StoreConfig::KEY_FILE)).unwrap()).unwrap();
    let conn = rusqlite::Connection::open(dir.path().join(StoreConfig::DATABASE_FILE)).unwrap();
    let pragma =
        format!("x'{}{}'", key["keys"][0]["plain"].as_str().unwrap(), key["keys"][0]["salt"].as_str().unwrap());
    conn.pragma_update(None, "key", pragma).unwrap();
    conn.busy_timeout(std::time::Duration::ZERO).unwrap();
    conn
}

pub fn practice_id(store: &Store) -> Uuid {
    store.practice_summary().unwrap().unwrap().0
}

/// A central hub on a real PostgreSQL cluster (installed by scripts/setup --test; its absence fails
/// the test), on a real TLS socket.
pub struct PgHub {
    pub cluster: lifeboat_hub::pg_cluster::PgCluster,
    pub url: String,
    pub relay: Relay,
}

impl PgHub {
    pub async fn start(name: &str) -> PgHub {
        let cluster = lifeboat_hub::pg_cluster::PgCluster::start().expect("a PostgreSQL cluster for the hub");
        let url = cluster.hub_database(name).unwrap();
        let store = lifeboat_hub::store::postgres::PgStore::connect(&url).await.unwrap();
        let relay = Relay::start_on(TempDir::new().unwrap(), HubStore::Postgres(store)).await;
        PgHub { cluster, url, relay }
    }
}

/// A client of `server` with the credential of `store`'s peer `peer`.
pub fn client_for(store: &Store, peer: &lifeboat_core::replica::peers::Peer) -> lifeboat_sync::client::Client {
    let token = store.peer_token(peer.id).unwrap();
    lifeboat_sync::client::Client::new(
        &peer.url,
        lifeboat_sync::client::Pin::Exact(peer.cert_sha256.clone()),
        Some(token),
    )
    .unwrap()
}

/// Seven lab requests for one dog, each with a result carrying a 2 MB file (one per byte value), made
/// by the vet on `store`; returns the dog's id and the files.
pub fn lab_results_with_files(store: &Store) -> (Uuid, Vec<Vec<u8>>) {
    use lifeboat_core::clinical::lab::{LabFile, NewLabRequest, NewLabResult, MOST_FILE_BYTES};
    use lifeboat_core::{NewClient, NewPatient, Species};
    let desk = store.login("desk", PASSWORD).unwrap();
    let client = NewClient { last_name: "Quillfeather".into(), phone: "07700 900461".into(), ..Default::default() };
    let registered =
        store.register_client_with_patient(&desk, &client, Some(&NewPatient::new("Biscuit", Species::Dog))).unwrap();
    let dog = registered.patient.unwrap().id;
    let vet = store.login("v.one", PASSWORD).unwrap();
    let test = store.lab_tests(&vet, false).unwrap().into_iter().find(|t| t.name == "Histopathology").unwrap();
    let mut files = Vec::new();
    for i in 0..7u8 {
        let new = NewLabRequest {
            patient_id: dog,
            consultation_id: None,
            test_id: test.id,
            sample_type: String::new(),
            lab: String::new(),
            sample_taken_by: None,
            sample_taken_at: None,
            note: String::new(),
        };
        let request = store.request_lab_work(&vet, &new).unwrap();
        let mut bytes = b"%PDF-1.4\n".to_vec();
        bytes.resize(MOST_FILE_BYTES, b'0' + i);
        let file = Some(LabFile { name: format!("report-{i}.pdf"), bytes: bytes.clone() });
        let result = NewLabResult { request_id: request.id, values: Vec::new(), comment: format!("Report {i}"), file };
        store.record_lab_result(&vet, &result).unwrap();
        files.push(bytes);
    }
    (dog, files)
}

/// The files of the lab results of `patient` as held by `store`, sorted.
pub fn lab_files_of(store: &Store, patient: Uuid) -> Vec<Vec<u8>> {
    let vet = store.login("v.one", PASSWORD).unwrap();
    let mut files: Vec<Vec<u8>> = store
        .patient_history(&vet, patient)
        .unwrap()
        .entries
        .iter()
        .filter_map(|e| match e {
            lifeboat_core::views::history::HistoryEntry::Lab { request, .. } => Some(request.results[0].id),
            _ => None,
        })
        .map(|result| store.lab_attachment(&vet, result).unwrap().bytes)
        .collect();
    files.sort();
    files
}

/// Lab results with 2 MB files made on one PC go through `relay` to a new PC in pushes and pages
/// that fit the server's limit, and arrive whole.
pub async fn lab_files_travel_through(relay: &Relay) {
    use lifeboat_sync::engine::{pair, sync_once, SyncOptions};
    let quiet = |_: lifeboat_sync::engine::Progress| {};
    let (a, admin) = first_pc();
    let practice = practice_id(&a.store);
    let code = relay.code(practice, "Riverside Vets").await;
    let peer_a =
        pair(&a.store, Some(admin.clone()), "Practice relay", &relay.address(), &code, "Lab PC").await.unwrap();
    let (dog, files) = lab_results_with_files(&a.store);
    let report = sync_once(&a.store, peer_a.id, &SyncOptions::default(), &quiet).await.unwrap();
    assert_eq!(a.store.sync_status().unwrap().pending_changes, 0, "everything was pushed: {report:?}");
    // The first page holds a few of the files, not all the changes the page size allows.
    let first = client_for(&a.store, &a.store.peer(peer_a.id).unwrap())
        .pull(&lifeboat_protocol::Pull { after: 0, after_op: None, limit: 2000 })
        .await
        .unwrap();
    let total = first.last_seq as usize;
    assert!(first.changes.len() < total, "{} of {total} changes in the first page", first.changes.len());

    let b = pc();
    let code = relay.code(practice, "Riverside Vets").await;
    let peer_b = pair(&b.store, None, "Practice relay", &relay.address(), &code, "Consult room PC").await.unwrap();
    sync_once(&b.store, peer_b.id, &SyncOptions::verifying(), &quiet).await.unwrap();
    assert_eq!(a.store.dump().unwrap(), b.store.dump().unwrap(), "the other PC holds exactly the same");
    assert_eq!(lab_files_of(&b.store, dog), files, "each file arrived byte for byte");
}
