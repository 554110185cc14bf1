#![allow(dead_code)]

use std::sync::Arc;

use chrono::{TimeZone, Utc};
use lifeboat_core::{example, ManualClock, Role, Session, Store, StoreConfig};
use tempfile::TempDir;

pub const PASSWORD: &str = "correct horse battery";

pub fn clock() -> Arc<ManualClock> {
    Arc::new(ManualClock::new(Utc.with_ymd_and_hms(2026, 3, 29, 8, 30, 0).unwrap()))
}

/// A new database in a temporary folder.
pub fn store() -> (TempDir, Store) {
    let (dir, store, _) = store_and_clock();
    (dir, store)
}

/// A new database in a temporary folder, and the clock it runs on.
pub fn store_and_clock() -> (TempDir, Store, Arc<ManualClock>) {
    let dir = TempDir::new().unwrap();
    let clock = clock();
    let store = Store::open(StoreConfig::in_dir(dir.path()), clock.clone()).unwrap();
    (dir, store, clock)
}

/// A new database with a practice; returns the admin's session.
pub fn practice() -> (TempDir, Store, Session) {
    let (dir, store) = store();
    let admin = store.create_practice(&example::practice_setup("admin", PASSWORD)).unwrap();
    (dir, store, admin)
}

/// Adds an account with `role` and logs it in.
pub fn login_as(store: &Store, admin: &Session, username: &str, role: Role) -> Session {
    store.add_staff(admin, &example::staff(username, role, PASSWORD)).unwrap();
    store.login(username, PASSWORD).unwrap()
}

pub fn reopen(dir: &TempDir) -> lifeboat_core::Result<Store> {
    Store::open(StoreConfig::in_dir(dir.path()), clock())
}

pub fn count(store: &Store, table: &str) -> i64 {
    store.read(|c| Ok(c.query_row(&format!("SELECT count(*) FROM {table}"), [], |r| r.get(0))?)).unwrap()
}

/// A connection opened behind Lifeboat's back with the key from the key file, as someone with access
/// to the PC could do, for tests that tamper with the data.
pub fn raw_connection(dir: &TempDir) -> rusqlite::Connection {
    let key: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join(StoreConfig::KEY_FILE)).unwrap()).unwrap();
    let conn = rusqlite::Connection::open(dir.path().join(StoreConfig::DATABASE_FILE)).unwrap();
    let pragma =
        format!("x'{}{}'", key["keys"][0]["plain"].as_str().unwrap(), key["keys"][0]["salt"].as_str().unwrap());
    conn.pragma_update(None, "key", pragma).unwrap();
    conn
}

/// A practice with a vet (hours Mon–Fri 08:30–18:00), a receptionist, and a client with a dog.
pub struct Reception {
    pub dir: TempDir,
    pub clock: Arc<ManualClock>,
    pub store: Store,
    pub admin: Session,
    pub desk: Session,
    pub vet: lifeboat_core::Staff,
    pub client: lifeboat_core::Client,
    pub dog: lifeboat_core::Patient,
}

pub fn reception() -> Reception {
    use lifeboat_core::{NewClient, NewPatient, Species, WorkingDay};
    let (dir, store, clock) = store_and_clock();
    let admin = store.create_practice(&example::practice_setup("admin", PASSWORD)).unwrap();
    let mut vet = example::staff("v.herriot", Role::Vet, PASSWORD);
    vet.display_name = "James Herriot".into();
    let vet = store.add_staff(&admin, &vet).unwrap();
    let days: Vec<_> =
        (1..=5).map(|weekday| WorkingDay { weekday, start_minute: 8 * 60 + 30, end_minute: 18 * 60 }).collect();
    store.set_working_hours(&admin, vet.id, &days).unwrap();
    let desk = login_as(&store, &admin, "desk", Role::Reception);
    let client = store
        .register_client(
            &desk,
            &NewClient {
                title: "Mrs".into(),
                first_name: "Agatha".into(),
                last_name: "Quillfeather".into(),
                address_line1: "3 Orchard Row".into(),
                town: "Exeter".into(),
                postcode: "ex4 1ab".into(),
                phone: "07700 900461".into(),
                email: "agatha@example.co.uk".into(),
                ..Default::default()
            },
        )
        .unwrap();
    let mut dog = NewPatient::new("Biscuit", Species::Dog);
    dog.breed = "Border Terrier".into();
    dog.microchip = "826098100004321".into();
    dog.alerts = vec!["Bites".into()];
    let dog = store.register_patient(&desk, client.id, &dog).unwrap();
    Reception { dir, clock, store, admin, desk, vet, client, dog }
}

pub fn local(s: &str) -> chrono::NaiveDateTime {
    chrono::NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M").unwrap()
}

impl Reception {
    pub fn clock_advance(&self, by: chrono::Duration) {
        self.clock.advance(by);
    }

    pub fn booking(&self, start: &str, minutes: u32) -> lifeboat_core::NewAppointment {
        lifeboat_core::NewAppointment {
            clinician_id: self.vet.id,
            room: "Consult 1".into(),
            start: local(start),
            minutes,
            kind: lifeboat_core::AppointmentKind::Consultation,
            reason: "Limping".into(),
            patient_id: self.dog.id,
            client_id: self.client.id,
            notes: String::new(),
            confirm_outside_hours: false,
        }
    }

    pub fn book(&self, start: &str, minutes: u32) -> lifeboat_core::Result<lifeboat_core::Appointment> {
        self.store.book_appointment(&self.desk, &self.booking(start, minutes))
    }
}

/// A practice ready for the consult room: a vet and a nurse (each logged in), a client with an
/// address and a dog booked with the vet at 10:00 today, and the starter formulary.
pub struct Clinic {
    pub r: Reception,
    pub vet: Session,
    pub nurse: Session,
    pub appointment: lifeboat_core::Appointment,
}

pub fn clinic() -> Clinic {
    let r = reception();
    let vet = r.store.login("v.herriot", PASSWORD).unwrap();
    let nurse = login_as(&r.store, &r.admin, "n.nightingale", Role::Nurse);
    r.store
        .update_staff(
            &r.admin,
            nurse.staff_id,
            &lifeboat_core::StaffUpdate { qualifications: Some("RVN".into()), ..Default::default() },
        )
        .unwrap();
    // The clock stands at 08:30 UTC on Sunday 29 March 2026 (09:30 BST); the vet works Mon–Fri, so
    // the booking is confirmed as outside hours.
    let mut booking = r.booking("2026-03-29 10:00", 15);
    booking.confirm_outside_hours = true;
    let appointment = r.store.book_appointment(&r.desk, &booking).unwrap();
    Clinic { r, vet, nurse, appointment }
}

impl Clinic {
    pub fn store(&self) -> &Store {
        &self.r.store
    }

    pub fn product(&self, name_part: &str) -> lifeboat_core::clinical::formulary::Product {
        let found = self.store().find_products(&self.vet, name_part, 5).unwrap();
        assert!(!found.is_empty(), "the formulary has {name_part}");
        found.into_iter().next().unwrap()
    }
}

/// A connection opened behind Lifeboat's back on the database in `dir` with `key` (its raw bytes)
/// and the salt in the file's first 16 bytes.
pub fn raw_connection_with(dir: &std::path::Path, key: &[u8]) -> rusqlite::Connection {
    let db = dir.join(StoreConfig::DATABASE_FILE);
    let salt = std::fs::read(&db).unwrap()[..16].to_vec();
    let conn = rusqlite::Connection::open(&db).unwrap();
    conn.pragma_update(None, "key", format!("x'{}{}'", hex::encode(key), hex::encode(salt))).unwrap();
    conn.execute_batch("PRAGMA busy_timeout = 0").unwrap();
    conn
}

/// A new PC (`store` holds no practice yet) joined to a relay, as pairing leaves it: the peer its
/// pulled pages are applied for (`Store::apply_page`). The relay itself is not there.
pub fn joined_relay(store: &Store) -> lifeboat_core::replica::peers::Peer {
    let enrolled = lifeboat_protocol::wire::Enrolled {
        device_id: uuid::Uuid::now_v7(),
        token: "t".repeat(43),
        practice_id: uuid::Uuid::now_v7(),
        practice_name: "Kingfisher Vets".into(),
        server_id: uuid::Uuid::now_v7(),
        server_key: "0".repeat(64),
    };
    let relay = lifeboat_core::replica::peers::NewPeer {
        name: "Relay".into(),
        url: "https://192.0.2.1:8443".into(),
        cert_sha256: "a".repeat(64),
        enrolled,
    };
    store.add_peer(None, &relay).unwrap()
}
