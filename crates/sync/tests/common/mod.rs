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
