//! A deterministic generator of realistic UK veterinary practices, for demo mode, tests and
//! benchmarks. The same size and seed always give the same people, names, roles and premises (record
//! ids and password salts are random). Telephone numbers come from Ofcom's ranges reserved for
//! drama, so no real person is ever rung.
//!
//! Depends only on the core; everything is written through the core's write path, so the generated
//! practice has its journal and audit trail like a real one.

mod clinical;
mod reception;

use lifeboat_core::{example, NewPremises, NewStaff, PracticeSetup, Result, Role, Session, Store};
use rand::seq::IndexedRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// The password of every generated account. Demo data only.
pub const DEMO_PASSWORD: &str = "lifeboat-demo";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Size {
    /// A small single-vet-team practice.
    S,
    /// A typical mixed practice.
    M,
    /// A busy hospital with a branch: 8 vets.
    L,
    /// A referral hospital with two branches: 25 clinicians, 100,000 clients, three years of
    /// appointments (about 500,000).
    XL,
}

impl Size {
    pub fn parse(text: &str) -> Option<Size> {
        match text.trim().to_ascii_uppercase().as_str() {
            "S" => Some(Size::S),
            "M" => Some(Size::M),
            "L" => Some(Size::L),
            "XL" => Some(Size::XL),
            _ => None,
        }
    }

    /// (vets, nurses, reception, managers) besides the one admin.
    fn team(self) -> (usize, usize, usize, usize) {
        match self {
            Size::S => (2, 2, 2, 1),
            Size::M => (4, 4, 3, 1),
            Size::L => (8, 6, 5, 2),
            Size::XL => (16, 9, 10, 3),
        }
    }

    fn branches(self) -> usize {
        match self {
            Size::S | Size::M => 0,
            Size::L => 1,
            Size::XL => 2,
        }
    }
}

/// One generated login, for demo screens and tests.
#[derive(Clone, Debug)]
pub struct Account {
    pub username: String,
    pub display_name: String,
    pub role: Role,
}

pub struct Generated {
    pub admin: Session,
    pub accounts: Vec<Account>,
    pub clients: usize,
    pub patients: usize,
    pub appointments: usize,
    pub consultations: usize,
    pub prescriptions: usize,
    pub cd_entries: usize,
}

const FIRST_NAMES: &[&str] = &[
    "Olivia",
    "Amelia",
    "Isla",
    "Ava",
    "Mia",
    "Grace",
    "Freya",
    "Lily",
    "Sophie",
    "Emily",
    "Ella",
    "Poppy",
    "Harriet",
    "Chloe",
    "Oliver",
    "George",
    "Harry",
    "Jack",
    "Noah",
    "Charlie",
    "Thomas",
    "James",
    "William",
    "Oscar",
    "Alfie",
    "Rhys",
    "Callum",
    "Eilidh",
    "Siobhan",
    "Niamh",
    "Priya",
    "Arjun",
    "Aisha",
    "Yusuf",
    "Zara",
    "Kwame",
    "Tomasz",
    "Agnieszka",
];
const SURNAMES: &[&str] = &[
    "Smith",
    "Jones",
    "Taylor",
    "Brown",
    "Williams",
    "Wilson",
    "Johnson",
    "Davies",
    "Patel",
    "Robinson",
    "Wright",
    "Thompson",
    "Evans",
    "Walker",
    "White",
    "Roberts",
    "Green",
    "Hall",
    "Thomas",
    "Clarke",
    "Jackson",
    "Wood",
    "Harris",
    "Edwards",
    "Turner",
    "Martin",
    "Cooper",
    "Hill",
    "Ward",
    "Hughes",
    "Moore",
    "Clark",
    "King",
    "Harrison",
    "Lewis",
    "Baker",
    "Lee",
    "Allen",
    "Morris",
    "Khan",
    "Scott",
    "Watson",
    "Davis",
    "Parker",
    "James",
    "Bennett",
    "Young",
    "Phillips",
    "Richardson",
    "Mitchell",
    "MacDonald",
    "Campbell",
    "Kowalski",
    "Okafor",
    "O'Brien",
];
const VET_QUALIFICATIONS: &[&str] = &[
    "BVSc MRCVS",
    "BVetMed MRCVS",
    "BVM&S MRCVS",
    "BVMS MRCVS",
    "MA VetMB MRCVS",
    "BVSc CertAVP(SAM) MRCVS",
    "BVetMed MSc MRCVS",
];
const NURSE_QUALIFICATIONS: &[&str] = &["RVN", "RVN DipAVN(Surgical)", "RVN CertVNECC", "RVN"];
const PRACTICE_NAMES: &[&str] =
    &["Riverside", "Oakwood", "Meadowbank", "Castle View", "Harbour", "Willow Tree", "Abbey"];
/// (town, postcode district) pairs with real district formats.
const TOWNS: &[(&str, &str)] = &[
    ("Exeter", "EX4"),
    ("Taunton", "TA1"),
    ("Shrewsbury", "SY1"),
    ("Harrogate", "HG1"),
    ("Lincoln", "LN2"),
    ("Carlisle", "CA3"),
    ("Chelmsford", "CM1"),
    ("Guildford", "GU1"),
];
const STREETS: &[&str] =
    &["High Street", "Station Road", "Church Lane", "Mill Road", "London Road", "Victoria Street", "Park Avenue"];

struct Names {
    rng: ChaCha8Rng,
    used: Vec<String>,
}

impl Names {
    /// Any name; clients may share one, as people do.
    fn any_person(&mut self) -> (String, String) {
        let first = *FIRST_NAMES.choose(&mut self.rng).expect("names");
        let last = *SURNAMES.choose(&mut self.rng).expect("names");
        (first.to_string(), last.to_string())
    }

    /// A name no other generated member of staff has.
    fn person(&mut self) -> (String, String) {
        loop {
            let first = *FIRST_NAMES.choose(&mut self.rng).expect("names");
            let last = *SURNAMES.choose(&mut self.rng).expect("names");
            let full = format!("{first} {last}");
            if !self.used.contains(&full) {
                self.used.push(full);
                return (first.to_string(), last.to_string());
            }
        }
    }
}

fn premises(rng: &mut ChaCha8Rng, name: String) -> NewPremises {
    let (town, district) = *TOWNS.choose(rng).expect("towns");
    let letters = b"ABDEFGHJLNPQRSTUWXYZ";
    let inward = format!(
        "{}{}{}",
        rng.random_range(1..10),
        letters[rng.random_range(0..letters.len())] as char,
        letters[rng.random_range(0..letters.len())] as char
    );
    NewPremises {
        name,
        address_line1: format!("{} {}", rng.random_range(1..200), STREETS.choose(rng).expect("streets")),
        address_line2: String::new(),
        town: town.to_string(),
        postcode: format!("{district} {inward}"),
        phone: format!("01632 960{:03}", rng.random_range(0..1000)),
        rcvs_premises_number: format!("PSS{:05}", rng.random_range(10000..100000)),
    }
}

/// Fills an empty database with a practice of `size`. Every account has the password
/// [`DEMO_PASSWORD`]; the admin's username is `admin`. Appointments end a month after the store's
/// today, so today is a full day.
pub fn populate(store: &Store, size: Size, seed: u64) -> Result<Generated> {
    populate_with_progress(store, size, seed, &mut |_| {})
}

/// `populate`, telling `progress` how far it has got (an L practice takes a while).
pub fn populate_with_progress(
    store: &Store,
    size: Size,
    seed: u64,
    progress: &mut dyn FnMut(String),
) -> Result<Generated> {
    let (mut generated, mut rng, mut names) = staff_only(store, size, seed)?;
    progress(format!("{} staff accounts created", generated.accounts.len()));
    let admin = generated.admin.clone();
    let staff = store.list_staff(&admin)?;
    reception::working_hours(store, &admin, &staff)?;
    let today = lifeboat_core::time::local_date(store.clock().now());
    let owned = reception::clients_and_patients(store, &admin, &mut rng, &mut names, size, today, progress)?;
    generated.appointments = reception::appointments(store, &admin, &mut rng, &staff, &owned, size, today, progress)?;
    generated.clients = size.volume().clients;
    generated.patients = owned.len();
    let manager = store.login("manager1", DEMO_PASSWORD)?;
    let first = today - chrono::Duration::days(size.volume().days - reception::FUTURE_DAYS);
    let clinical = clinical::history(store, &manager, &mut rng, &staff, first, today, progress)?;
    generated.consultations = clinical.consultations;
    generated.prescriptions = clinical.prescriptions;
    generated.cd_entries = clinical.cd_entries;
    Ok(generated)
}

/// Only the practice, its premises and its staff: what a size's team looks like, quickly.
pub fn populate_staff(store: &Store, size: Size, seed: u64) -> Result<Generated> {
    Ok(staff_only(store, size, seed)?.0)
}

fn staff_only(store: &Store, size: Size, seed: u64) -> Result<(Generated, ChaCha8Rng, Names)> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let practice_name = format!("{} Veterinary Group", PRACTICE_NAMES.choose(&mut rng).expect("names"));
    let main = premises(&mut rng, format!("{practice_name} — Main Surgery"));
    let mut names = Names { rng: ChaCha8Rng::seed_from_u64(seed ^ 0x5eed), used: Vec::new() };
    let (first, last) = names.person();
    let admin_display = format!("{first} {last}");
    let admin = store.create_practice(&PracticeSetup {
        practice_name: practice_name.clone(),
        premises: main,
        admin: NewStaff {
            display_name: admin_display.clone(),
            qualifications: String::new(),
            ..example::staff("admin", Role::Admin, DEMO_PASSWORD)
        },
    })?;
    for branch in 0..size.branches() {
        let name = format!("{practice_name} — Branch {}", branch + 1);
        store.add_premises(&admin, &premises(&mut rng, name))?;
    }
    let mut accounts = vec![Account { username: "admin".into(), display_name: admin_display, role: Role::Admin }];
    let (vets, nurses, reception, managers) = size.team();
    let team = [(Role::Manager, managers), (Role::Vet, vets), (Role::Nurse, nurses), (Role::Reception, reception)];
    for (role, n) in team {
        for i in 1..=n {
            let (first, last) = names.person();
            let username = format!("{}{i}", role.as_str());
            let qualifications = match role {
                Role::Vet => VET_QUALIFICATIONS.choose(&mut rng).expect("quals").to_string(),
                Role::Nurse => NURSE_QUALIFICATIONS.choose(&mut rng).expect("quals").to_string(),
                _ => String::new(),
            };
            let staff = NewStaff {
                username: username.clone(),
                display_name: format!("{first} {last}"),
                role,
                qualifications,
                rcvs_number: (role == Role::Vet).then(|| format!("{:07}", rng.random_range(1_000_000..8_000_000))),
                password: DEMO_PASSWORD.into(),
                must_change_password: false,
            };
            store.add_staff(&admin, &staff)?;
            accounts.push(Account { username, display_name: staff.display_name, role });
        }
    }
    Ok((
        Generated {
            admin,
            accounts,
            clients: 0,
            patients: 0,
            appointments: 0,
            consultations: 0,
            prescriptions: 0,
            cd_entries: 0,
        },
        rng,
        names,
    ))
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use lifeboat_core::{ManualClock, StoreConfig};

    /// (username, name, role, qualifications) of each account, and each premises' name and postcode.
    type Outline = (Vec<(String, String, Role, String)>, Vec<String>);

    fn store(dir: &tempfile::TempDir) -> Store {
        // 09:00 on a Wednesday in London.
        let clock = chrono::DateTime::parse_from_rfc3339("2026-06-03T08:00:00Z").unwrap().with_timezone(&chrono::Utc);
        Store::open(StoreConfig::in_dir(dir.path()), Arc::new(ManualClock::new(clock))).unwrap()
    }

    fn outline(store: &Store, generated: &Generated) -> Outline {
        let staff = store
            .list_staff(&generated.admin)
            .unwrap()
            .into_iter()
            .map(|s| (s.username, s.display_name, s.role, s.qualifications))
            .collect();
        let premises = store
            .practice()
            .unwrap()
            .unwrap()
            .premises
            .into_iter()
            .map(|p| format!("{} {}", p.name, p.postcode))
            .collect();
        (staff, premises)
    }

    fn team(size: Size, seed: u64) -> Outline {
        let dir = tempfile::TempDir::new().unwrap();
        let store = store(&dir);
        let generated = populate_staff(&store, size, seed).unwrap();
        outline(&store, &generated)
    }

    #[test]
    fn the_same_seed_gives_the_same_practice() {
        assert_eq!(team(Size::S, 7), team(Size::S, 7));
        assert_ne!(team(Size::S, 7).0, team(Size::S, 8).0);
    }

    #[test]
    fn sizes_have_their_teams() {
        for (size, vets, staff, premises) in
            [(Size::S, 2, 8, 1), (Size::M, 4, 13, 1), (Size::L, 8, 22, 2), (Size::XL, 16, 39, 3)]
        {
            let (people, sites) = team(size, 1);
            assert_eq!(people.len(), staff, "{size:?}");
            assert_eq!(people.iter().filter(|p| p.2 == Role::Vet).count(), vets, "{size:?}");
            assert_eq!(sites.len(), premises, "{size:?}");
        }
    }

    /// A whole S practice through the write path: searchable, a full diary today, an intact audit.
    #[test]
    fn a_small_practice_is_complete_and_consistent() {
        let dir = tempfile::TempDir::new().unwrap();
        let store = store(&dir);
        let generated = populate(&store, Size::S, 3).unwrap();
        assert_eq!(generated.clients, 300);
        assert!(generated.patients >= 300, "{}", generated.patients);
        let reception = store.login("reception1", DEMO_PASSWORD).unwrap();
        let today = lifeboat_core::time::local_date(store.clock().now());
        let day = store.day_book(&reception, today).unwrap();
        assert!(day.appointments.len() >= 20, "a full day today: {}", day.appointments.len());
        let hit = &store.search(&reception, &day.appointments[0].client_phone, 5).unwrap();
        assert!(
            hit.iter().any(|h| h.client_id == day.appointments[0].client_id),
            "the generated clients are searchable"
        );
        // Clinical history: signed consultations for what was seen, prescriptions, and a register
        // whose balances never went below zero (the core refuses that).
        assert!(generated.consultations > 500, "{}", generated.consultations);
        assert!(generated.prescriptions > 10, "{}", generated.prescriptions);
        assert!(generated.cd_entries > 10, "{}", generated.cd_entries);
        let vet = store.login("vet1", DEMO_PASSWORD).unwrap();
        let seen = (1..8)
            .flat_map(|d| store.day_book(&reception, today - chrono::Duration::days(d)).unwrap().appointments)
            .find(|a| a.status == lifeboat_core::AppointmentStatus::Done)
            .expect("a past appointment was seen");
        let history = store.patient_history(&vet, seen.patient_id).unwrap();
        assert!(!history.entries.is_empty() && !history.weights.is_empty(), "the animal has a history");
        let register = store.cd_register(&vet, None).unwrap();
        assert!(register.drugs.iter().any(|d| d.entries > 0), "the register has entries");
        assert!(store.verify_audit().unwrap().is_intact());
        let journal: i64 = store.read(|c| Ok(c.query_row("SELECT count(*) FROM journal", [], |r| r.get(0))?)).unwrap();
        assert!(
            journal as usize > generated.patients * 2 + generated.appointments,
            "every record was journaled: {journal}"
        );
    }
}
