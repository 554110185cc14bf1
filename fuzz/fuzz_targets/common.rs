//! A practice for the targets that go through the store: a real encrypted database in a temporary
//! folder, made once per fuzzing process, with a few clients to search for.
#![allow(dead_code)]

use std::sync::{Arc, LazyLock};

use lifeboat_core::{example, ErrorCode, NewClient, NewPatient, Session, Species, Store, StoreConfig, SystemClock};

pub struct Practice {
    _dir: tempfile::TempDir,
    pub store: Store,
    pub admin: Session,
}

pub static PRACTICE: LazyLock<Practice> = LazyLock::new(|| {
    let dir = tempfile::TempDir::new().expect("a temporary folder");
    let store = Store::open(StoreConfig::in_dir(dir.path()), Arc::new(SystemClock)).expect("a new database");
    let admin = store.create_practice(&example::practice_setup("admin", "fuzzing password")).expect("a practice");
    for (first, last, phone, pet, chip) in [
        ("Ann", "O'Brien", "07700 900123", "Biscuit", "977200000000001"),
        ("Zoë", "Quillfeather", "01632 960111", "Pip", "977200000000002"),
        ("Sam", "Smith-Jones", "020 7946 0000", "Rex \"the\" dog", "977200000000003"),
    ] {
        let client = NewClient {
            first_name: first.into(),
            last_name: last.into(),
            phone: phone.into(),
            postcode: "NR1 1AA".into(),
            email: format!("{}@example.org", first.to_lowercase()),
            ..Default::default()
        };
        let patient = NewPatient { microchip: chip.into(), ..NewPatient::new(pet, Species::Dog) };
        store.register_client_with_patient(&admin, &client, Some(&patient)).expect("a client");
    }
    Practice { _dir: dir, store, admin }
});

/// An error a person may be shown for bad input; anything else (a storage fault, an internal
/// error, a damaged record) is a bug that the fuzzer must report.
pub fn is_expected(code: ErrorCode) -> bool {
    matches!(code, ErrorCode::Invalid | ErrorCode::NotFound | ErrorCode::Conflict | ErrorCode::NeedsConfirmation)
}
