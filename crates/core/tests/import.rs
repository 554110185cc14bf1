//! Snapshot import from PMS exports: messy CSV files as Windows PMS systems write them, read in as a
//! manager would, then checked against what the store holds.

mod common;

use common::{count, login_as, practice};
use lifeboat_core::import::columns::{ImportKind, Mapping};
use lifeboat_core::import::{rejects_csv, ImportOptions, ImportReport, Rejected};
use lifeboat_core::reception::origin::Origin;
use lifeboat_core::{NewClient, Role, Session, Sex, Species, Store};

const CLIENTS: &[u8] = include_bytes!("fixtures/import/clients-windows.csv");
const PATIENTS: &[u8] = include_bytes!("fixtures/import/patients-bom.csv");

fn import(store: &Store, s: &Session, kind: ImportKind, file: &str, bytes: &[u8], all: bool) -> ImportReport {
    let options = ImportOptions { all_or_nothing: all, mapping: None };
    store.import_file(s, kind, file, bytes, &options, |_, _| {}).unwrap().0
}

fn rejected(line: u64, column: &str, reason: &str) -> Rejected {
    Rejected { line, column: column.into(), reason: reason.into() }
}

fn client_by_pms(store: &Store, s: &Session, pms: &str) -> lifeboat_core::Client {
    let id: String =
        store.read(|c| Ok(c.query_row("SELECT id FROM client WHERE pms_id = ?1", [pms], |r| r.get(0))?)).unwrap();
    store.client(s, id.parse().unwrap()).unwrap()
}

fn patient_by_pms(store: &Store, s: &Session, pms: &str) -> lifeboat_core::Patient {
    let id: String =
        store.read(|c| Ok(c.query_row("SELECT id FROM patient WHERE pms_id = ?1", [pms], |r| r.get(0))?)).unwrap();
    store.patient(s, id.parse().unwrap()).unwrap()
}

#[test]
fn a_windows_client_export_imports_with_every_bad_row_reported_by_line_column_and_reason() {
    let (_dir, store, admin) = practice();
    let manager = login_as(&store, &admin, "m.manager", Role::Manager);
    let report = import(&store, &manager, ImportKind::Clients, "clients-windows.csv", CLIENTS, false);
    assert_eq!(
        report,
        ImportReport {
            file: "clients-windows.csv".into(),
            encoding: "windows-1252".into(),
            rows: 8,
            added: 4,
            updated: 0,
            unchanged: 0,
            kept_local: 0,
            repeated: 1,
            rejected: vec![
                rejected(8, "Post Code", "\"NOT A POSTCODE\" is not a UK postcode (for example SW1A 1AA)"),
                rejected(9, "Surname", "is required"),
                rejected(11, "Email Consent", "\"Maybe\" is not yes or no"),
            ],
            warnings: vec![],
            applied: true,
            ignored_columns: vec!["County".into()],
        }
    );
    // Read back whole: Windows-1252 letters, a quoted address with a comma, two lines made one, phones
    // normalised, the PMS number and origin kept.
    let agatha = client_by_pms(&store, &manager, "10001");
    assert_eq!(
        (agatha.title.as_str(), agatha.first_name.as_str(), agatha.last_name.as_str()),
        ("Mrs", "Agatha", "Quillfeather")
    );
    assert_eq!(agatha.address_line1, "Rose Cottage, 4 Ferry Road");
    assert_eq!(agatha.postcode, "NR1 1AA");
    assert_eq!((agatha.phone.as_str(), agatha.phone_alt.as_str()), ("01632 960111", "07700 900461"));
    assert_eq!(agatha.email, "agatha@example.co.uk");
    assert!(agatha.consent_email);
    assert_eq!((agatha.origin, agatha.pms_id.as_deref()), (Origin::Pms, Some("10001")));
    let zoe = client_by_pms(&store, &manager, "10002");
    assert_eq!((zoe.first_name.as_str(), zoe.last_name.as_str()), ("Zoë", "Lefèvre"));
    assert_eq!(zoe.address_line2, "Flat 2, rear entrance");
    assert_eq!((zoe.phone.as_str(), zoe.phone_alt.as_str()), ("07700 900462", ""));
    let sian = client_by_pms(&store, &manager, "10003");
    assert_eq!(
        (sian.first_name.as_str(), sian.last_name.as_str(), sian.phone.as_str()),
        ("Siân", "O'Brien", "01632 960113")
    );
    // An old PMS record with no way to reach the client is kept as the PMS holds it.
    let old = client_by_pms(&store, &manager, "10006");
    assert_eq!((old.last_name.as_str(), old.phone.as_str(), old.email.as_str()), ("Record", "", ""));
    assert_eq!(count(&store, "client"), 4);

    // One search finds an imported client, as at the desk.
    let hits = store.search(&manager, "Quillfeather", 10).unwrap();
    assert_eq!(hits.len(), 1);

    // The rejects file holds the rows as they were, to correct and import again.
    let (_, table) = store
        .import_file(
            &manager,
            ImportKind::Clients,
            "clients-windows.csv",
            CLIENTS,
            &ImportOptions::default(),
            |_, _| {},
        )
        .unwrap();
    let rejects = String::from_utf8(rejects_csv(&table, &report).unwrap()).unwrap();
    let lines: Vec<&str> = rejects.lines().collect();
    assert_eq!(
        lines[0],
        "\u{feff}Client No.,Title,Forename,Surname,Address 1,Address 2,Town,County,Post Code,Home Tel,Mobile Tel,E-mail,Email Consent,Line in the file,Column,Why it was rejected"
    );
    assert_eq!(
        lines[1],
        "10004,Ms,Pat,Nobody,3 Bad Row,,Norwich,Norfolk,NOT A POSTCODE,01632 960114,,,,8,Post Code,\"\"\"NOT A POSTCODE\"\" is not a UK postcode (for example SW1A 1AA)\""
    );
    assert_eq!(lines.len(), 4);
}

#[test]
fn importing_the_same_files_again_changes_nothing_and_animals_find_their_owners_by_pms_number() {
    let (_dir, store, admin) = practice();
    let manager = login_as(&store, &admin, "m.manager", Role::Manager);
    import(&store, &manager, ImportKind::Clients, "clients.csv", CLIENTS, false);
    let report = import(&store, &manager, ImportKind::Patients, "patients-bom.csv", PATIENTS, false);
    assert_eq!(report.encoding, "UTF-8");
    assert_eq!((report.rows, report.added, report.applied), (9, 5, true));
    assert_eq!(
        report.rejected,
        vec![
            rejected(6, "Client ID", "no client has PMS number \"99999\": import the clients' file first"),
            rejected(7, "Sex", "\"X\" is not a sex this import knows (M, F, MN, FN, ME, FE or blank)"),
            rejected(8, "DOB", "is in the future"),
            rejected(10, "Microchip No", "900461000000001 is already recorded for Biscuit"),
        ]
    );
    assert_eq!(report.ignored_columns, Vec::<String>::new());

    let biscuit = patient_by_pms(&store, &manager, "A1");
    let agatha = client_by_pms(&store, &manager, "10001");
    assert_eq!(biscuit.owner_ids, vec![agatha.id]);
    assert_eq!(
        (biscuit.species, biscuit.breed.as_str(), biscuit.sex, biscuit.neutered),
        (Species::Dog, "Border Terrier", Sex::Male, true)
    );
    assert_eq!(biscuit.date_of_birth, chrono::NaiveDate::from_ymd_opt(2019, 5, 12));
    assert_eq!(biscuit.microchip.as_deref(), Some("900461000000001"));
    assert_eq!(biscuit.alerts, vec!["Bites".to_string()]);
    assert_eq!((biscuit.origin, biscuit.pms_id.as_deref()), (Origin::Pms, Some("A1")));
    let pickle = patient_by_pms(&store, &manager, "A2");
    assert_eq!((pickle.species, pickle.sex, pickle.neutered), (Species::Cat, Sex::Female, false));
    let nutmeg = patient_by_pms(&store, &manager, "A3");
    assert_eq!(nutmeg.date_of_birth, chrono::NaiveDate::from_ymd_opt(2020, 1, 1));
    let tom = patient_by_pms(&store, &manager, "A4");
    assert_eq!(tom.deceased_on, chrono::NaiveDate::from_ymd_opt(2024, 8, 15));
    let gerald = patient_by_pms(&store, &manager, "A8");
    assert_eq!((gerald.species, gerald.species_other.as_str()), (Species::Other, "Axolotl"));

    let journal = count(&store, "journal");
    let audit = count(&store, "audit");
    let again = import(&store, &manager, ImportKind::Clients, "clients.csv", CLIENTS, false);
    assert_eq!((again.added, again.updated, again.unchanged, again.repeated, again.rejected.len()), (0, 0, 4, 1, 3));
    let again = import(&store, &manager, ImportKind::Patients, "patients.csv", PATIENTS, false);
    assert_eq!((again.added, again.updated, again.unchanged, again.rejected.len()), (0, 0, 5, 4));
    assert_eq!((count(&store, "client"), count(&store, "patient"), count(&store, "ownership")), (4, 5, 5));
    assert_eq!((count(&store, "journal"), count(&store, "audit")), (journal, audit), "a second import writes nothing");
    assert_eq!(store.verify_audit().unwrap().first_broken, None);
}

#[test]
fn a_newer_export_updates_records_but_never_what_the_practice_changed_during_the_outage() {
    let (_dir, store, admin) = practice();
    let manager = login_as(&store, &admin, "m.manager", Role::Manager);
    import(&store, &manager, ImportKind::Clients, "clients.csv", CLIENTS, false);
    // During the outage, reception takes Agatha's new mobile number.
    let agatha = client_by_pms(&store, &manager, "10001");
    let mut details = NewClient {
        title: agatha.title.clone(),
        first_name: agatha.first_name.clone(),
        last_name: agatha.last_name.clone(),
        address_line1: agatha.address_line1.clone(),
        address_line2: agatha.address_line2.clone(),
        town: agatha.town.clone(),
        postcode: agatha.postcode.clone(),
        phone: agatha.phone.clone(),
        phone_alt: "07700 900999".into(),
        email: agatha.email.clone(),
        consent_email: agatha.consent_email,
        consent_sms: agatha.consent_sms,
        notes: agatha.notes.clone(),
    };
    store.update_client(&manager, agatha.id, &details).unwrap();
    // A later export from the PMS (taken before the outage's changes were entered) changes Siân's
    // email and still has Agatha's old mobile.
    let at = CLIENTS.windows(4).position(|w| w == b"sian").unwrap();
    let newer = [&CLIENTS[..at], b"sian.obrien", &CLIENTS[at + 4..]].concat();
    let report = import(&store, &manager, ImportKind::Clients, "clients-2.csv", &newer, false);
    assert_eq!((report.added, report.updated, report.unchanged, report.kept_local), (0, 1, 2, 1));
    assert_eq!(client_by_pms(&store, &manager, "10003").email, "sian.obrien@example.org");
    assert_eq!(client_by_pms(&store, &manager, "10001").phone_alt, "07700 900999", "the outage's change stands");
    details.phone_alt = String::new();
    assert_eq!(store.verify_audit().unwrap().first_broken, None);
}

#[test]
fn all_or_nothing_writes_nothing_when_a_row_is_rejected_and_only_managers_import() {
    let (_dir, store, admin) = practice();
    let manager = login_as(&store, &admin, "m.manager", Role::Manager);
    let journal = count(&store, "journal");
    let report = import(&store, &manager, ImportKind::Clients, "clients.csv", CLIENTS, true);
    assert!(!report.applied);
    assert_eq!((report.added, report.rejected.len()), (4, 3), "what would have been done");
    assert_eq!((count(&store, "client"), count(&store, "journal")), (0, journal));

    let desk = login_as(&store, &admin, "r.desk", Role::Reception);
    let refused =
        store.import_file(&desk, ImportKind::Clients, "clients.csv", CLIENTS, &ImportOptions::default(), |_, _| {});
    assert_eq!(refused.unwrap_err().code(), lifeboat_core::ErrorCode::Forbidden);
    assert_eq!(count(&store, "client"), 0);
}

#[test]
fn a_file_whose_columns_are_not_recognised_is_read_with_a_mapping_and_previewed_first() {
    let (_dir, store, admin) = practice();
    let manager = login_as(&store, &admin, "m.manager", Role::Manager);
    let file = "Ref\tFamily\tGiven\tTel\n  C-1\tSmith\tJo\t01632 960001\n";
    let preview = store.preview_import(&manager, ImportKind::Clients, "odd.tsv", file.as_bytes(), None).unwrap();
    assert_eq!(
        preview.problem.as_deref(),
        Some("no column holds Client number, Surname: choose its column (the file's columns are \"Ref\", \"Family\", \"Given\", \"Tel\")")
    );
    let refused = store.import_file(
        &manager,
        ImportKind::Clients,
        "odd.tsv",
        file.as_bytes(),
        &ImportOptions::default(),
        |_, _| {},
    );
    assert_eq!(refused.unwrap_err().code(), lifeboat_core::ErrorCode::Invalid);

    let mapping: Mapping =
        serde_json::from_str(r#"{"columns": {"Ref": "pms_id", "Family": "last_name", "Given": "first_name"}}"#)
            .unwrap();
    let preview =
        store.preview_import(&manager, ImportKind::Clients, "odd.tsv", file.as_bytes(), Some(&mapping)).unwrap();
    assert_eq!(preview.problem, None);
    assert_eq!(
        preview.columns.iter().map(|c| c.field.clone().unwrap_or_default()).collect::<Vec<_>>(),
        vec!["pms_id", "last_name", "first_name", "phone"]
    );
    assert_eq!(
        preview.sample[0].values[..4],
        [
            ("Client number".to_string(), "C-1".to_string()),
            ("Name".to_string(), "Jo Smith".to_string()),
            ("Address".to_string(), String::new()),
            ("Telephone".to_string(), "01632 960001".to_string()),
        ]
    );
    let options = ImportOptions { all_or_nothing: true, mapping: Some(mapping) };
    let mut seen = Vec::new();
    let (report, _) = store
        .import_file(&manager, ImportKind::Clients, "odd.tsv", file.as_bytes(), &options, |d, t| seen.push((d, t)))
        .unwrap();
    assert_eq!((report.added, report.applied), (1, true));
    assert_eq!(seen, vec![(0, 1), (1, 1)]);
    let jo = client_by_pms(&store, &manager, "C-1");
    assert_eq!((jo.first_name.as_str(), jo.last_name.as_str(), jo.phone.as_str()), ("Jo", "Smith", "01632 960001"));
}

#[test]
fn a_pms_diary_imports_with_clinicians_found_by_name_and_uk_times_that_do_not_exist_or_repeat_reported() {
    let (_dir, store, admin) = practice();
    let manager = login_as(&store, &admin, "m.manager", Role::Manager);
    let mut vet = lifeboat_core::example::staff("j.herriot", Role::Vet, common::PASSWORD);
    vet.display_name = "James Herriot".into();
    let herriot = store.add_staff(&admin, &vet).unwrap();
    let mut nurse = lifeboat_core::example::staff("s.farnon", Role::Nurse, common::PASSWORD);
    nurse.display_name = "Siegfried Farnon".into();
    let farnon = store.add_staff(&admin, &nurse).unwrap();
    import(&store, &manager, ImportKind::Clients, "clients.csv", CLIENTS, false);
    import(&store, &manager, ImportKind::Patients, "patients.csv", PATIENTS, false);

    let diary = include_bytes!("fixtures/import/appointments-diary.csv");
    let report = import(&store, &manager, ImportKind::Appointments, "diary.csv", diary, false);
    assert_eq!((report.rows, report.added, report.applied), (10, 5, true));
    assert_eq!(
        report.rejected,
        vec![
            rejected(5, "Time", "29/03/2026 01:30 does not exist in the UK: the clocks go forward then"),
            rejected(
                6,
                "Time",
                "25/10/2026 01:30 happens twice in the UK (the clocks go back then): say which in the PMS and export again"
            ),
            rejected(
                7,
                "Vet",
                "no vet or nurse called \"Dr Nobody\" is on file: add them under Practice (or correct the name)"
            ),
            rejected(8, "Animal ID", "Old Tom is recorded as deceased"),
            rejected(10, "Animal ID", "no animal has PMS number \"A99\": import the animals' file first"),
        ]
    );
    let by_pms = |pms: &str| -> lifeboat_core::Appointment {
        let id: String = store
            .read(|c| Ok(c.query_row("SELECT id FROM appointment WHERE pms_id = ?1", [pms], |r| r.get(0))?))
            .unwrap();
        store.appointment(&manager, id.parse().unwrap()).unwrap()
    };
    let b1 = by_pms("B1");
    assert_eq!(
        (b1.clinician_id, b1.patient_name.as_str(), b1.reason.as_str()),
        (herriot.id, "Biscuit", "Limping on left fore")
    );
    assert_eq!((b1.start_local, b1.end_local), (common::local("2026-03-30 09:00"), common::local("2026-03-30 09:15")));
    assert_eq!(
        (b1.kind, b1.status),
        (lifeboat_core::AppointmentKind::Consultation, lifeboat_core::AppointmentStatus::Booked)
    );
    // No client number: the animal's owner. Overlapping B1 in the PMS's book: kept, and raised.
    let b2 = by_pms("B2");
    assert_eq!(
        (b2.clinician_id, b2.client_name.as_str(), b2.kind),
        (herriot.id, "Mrs A. Quillfeather", lifeboat_core::AppointmentKind::Vaccination)
    );
    let b3 = by_pms("B3");
    assert_eq!((b3.clinician_id, b3.client_name.as_str()), (farnon.id, "Mr Z. Lefèvre"));
    assert_eq!((b3.start_local, b3.end_local), (common::local("2026-03-31 14:15"), common::local("2026-03-31 14:45")));
    assert_eq!((b3.kind, b3.reason.as_str()), (lifeboat_core::AppointmentKind::NurseClinic, "Nails, and weight check"));
    // The history of an animal that has since died is kept.
    assert_eq!(by_pms("B8").status, lifeboat_core::AppointmentStatus::Done);
    // A 7-minute slot takes two 5-minute rows; DNA is a no-show.
    let b10 = by_pms("B10");
    assert_eq!(
        (b10.end_local, b10.status),
        (common::local("2026-03-30 16:10"), lifeboat_core::AppointmentStatus::NoShow)
    );

    let open = store.conflicts(&manager, true).unwrap();
    assert_eq!(open.len(), 1, "{open:#?}");
    assert_eq!(open[0].kind, "double_booking");
    assert_eq!(open[0].members.iter().copied().collect::<std::collections::BTreeSet<_>>(), [b1.id, b2.id].into());

    let journal = count(&store, "journal");
    let again = import(&store, &manager, ImportKind::Appointments, "diary.csv", diary, false);
    assert_eq!((again.added, again.updated, again.unchanged, again.rejected.len()), (0, 0, 5, 5));
    assert_eq!(count(&store, "journal"), journal);
    assert_eq!(store.verify_audit().unwrap().first_broken, None);
}

#[test]
fn messy_rows_keep_what_they_can_and_the_rejects_file_holds_every_field_safely() {
    let (_dir, store, admin) = practice();
    let manager = login_as(&store, &admin, "m.manager", Role::Manager);
    // An unquoted comma (one field too many), a number with a note in it, a number a spreadsheet
    // stripped of its 0, and a cell a spreadsheet would run as a formula.
    let file = "Client No,Surname,Telephone,Mobile\r\n\
                9301,Smith, J,0117 496 0000,07700 900111\r\n\
                9302,Jones,07700 900123 (wife),7700900124\r\n\
                9303,=cmd|' /C calc'!A0,,\r\n";
    let (report, table) = store
        .import_file(&manager, ImportKind::Clients, "messy.csv", file.as_bytes(), &ImportOptions::default(), |_, _| {})
        .unwrap();
    assert_eq!((report.added, report.rejected.len()), (2, 1));
    assert_eq!(
        report.rejected[0],
        rejected(2, "", "has 5 fields but the heading row has 4: a comma inside a value without quotes?")
    );
    assert_eq!(
        report.warnings,
        vec![rejected(
            3,
            "Telephone",
            "\"07700 900123 (wife)\" is not a UK telephone number or an email address Lifeboat can use: kept in the notes"
        )]
    );
    let jones = client_by_pms(&store, &manager, "9302");
    assert_eq!((jones.phone.as_str(), jones.notes.as_str()), ("07700 900124", "Telephone: 07700 900123 (wife)"));
    assert_eq!(client_by_pms(&store, &manager, "9303").last_name, "=cmd|' /C calc'!A0");
    let rejects = String::from_utf8(rejects_csv(&table, &report).unwrap()).unwrap();
    assert_eq!(
        rejects.lines().nth(1).unwrap(),
        "9301,Smith,J,0117 496 0000,07700 900111,2,,has 5 fields but the heading row has 4: a comma inside a value without quotes?"
    );

    // A formula-like cell in a rejected row is written so that a spreadsheet shows it as text, and
    // read back as it was.
    let bad = "Client No,Surname,Postcode\n9401,=HYPERLINK(\"x\"),NOPE\n";
    let (report, table) = store
        .import_file(&manager, ImportKind::Clients, "bad.csv", bad.as_bytes(), &ImportOptions::default(), |_, _| {})
        .unwrap();
    let rejects = rejects_csv(&table, &report).unwrap();
    let text = String::from_utf8(rejects.clone()).unwrap();
    assert!(text.lines().nth(1).unwrap().starts_with("9401,\"'=HYPERLINK(\"\"x\"\")\",NOPE,2,Postcode,"), "{text}");
    let again = lifeboat_core::import::table::read("again.csv", &rejects).unwrap();
    assert_eq!(again.rows[0].cells[..3], ["9401".to_string(), "=HYPERLINK(\"x\")".to_string(), "NOPE".to_string()]);
}

#[test]
fn an_animal_listed_once_per_owner_gets_both_and_reception_is_refused_before_the_file_is_read() {
    let (_dir, store, admin) = practice();
    let manager = login_as(&store, &admin, "m.manager", Role::Manager);
    import(&store, &manager, ImportKind::Clients, "clients.csv", CLIENTS, false);
    let file = "Animal No,Client No,Animal Name,Species\nP1,10001,Rex,Dog\nP1,10002,Rex,Dog\n";
    let report = import(&store, &manager, ImportKind::Patients, "joint.csv", file.as_bytes(), false);
    assert_eq!((report.added, report.updated, report.rejected.len()), (1, 1, 0), "{report:#?}");
    let rex = patient_by_pms(&store, &manager, "P1");
    let owners = [client_by_pms(&store, &manager, "10001").id, client_by_pms(&store, &manager, "10002").id];
    assert_eq!(rex.owner_ids, owners);
    let again = import(&store, &manager, ImportKind::Patients, "joint.csv", file.as_bytes(), false);
    assert_eq!((again.added, again.updated, again.unchanged), (0, 0, 2), "{again:#?}");

    let desk = login_as(&store, &admin, "r.desk", Role::Reception);
    for bytes in [&b"Client No,Surname\n"[..], b"garbage \x00\x01"] {
        let refused =
            store.import_file(&desk, ImportKind::Clients, "x.csv", bytes, &ImportOptions::default(), |_, _| {});
        assert_eq!(refused.unwrap_err().code(), lifeboat_core::ErrorCode::Forbidden);
    }
}

#[test]
fn a_changed_diary_moves_bookings_and_odd_rows_are_read_or_refused_as_a_person_would() {
    let (_dir, store, admin) = practice();
    let manager = login_as(&store, &admin, "m.manager", Role::Manager);
    for (user, name) in
        [("j.herriot", "James Herriot"), ("m.cruz", "Maria de la Cruz"), ("s.obrien", "Siobhan O'Brien")]
    {
        let mut vet = lifeboat_core::example::staff(user, Role::Vet, common::PASSWORD);
        vet.display_name = name.into();
        store.add_staff(&admin, &vet).unwrap();
    }
    import(&store, &manager, ImportKind::Clients, "clients.csv", CLIENTS, false);
    import(&store, &manager, ImportKind::Patients, "patients.csv", PATIENTS, false);
    let diary = "Appt ID,Animal ID,Date,Time,End,Vet,Type,Status\n\
                 D1,A1,05/01/27,09:00:45,09:15,\"Herriot, James\",Consultation,Booked\n\
                 D2,A2,29/03/2026,00:30,03:00,Dr de la Cruz,Ophthalmology,Done\n\
                 D3,A1,06/01/2027,10:00,10:15,O'Brien MRCVS,,Booked\n\
                 D4,A4,06/01/2027,11:00,11:15,James Herriot,,Arrived\n";
    let report = import(&store, &manager, ImportKind::Appointments, "d.csv", diary.as_bytes(), false);
    assert_eq!(report.rejected, vec![rejected(5, "Animal ID", "Old Tom is recorded as deceased")], "{report:#?}");
    assert_eq!(report.added, 3);
    let by_pms = |pms: &str| -> lifeboat_core::Appointment {
        let id: String = store
            .read(|c| Ok(c.query_row("SELECT id FROM appointment WHERE pms_id = ?1", [pms], |r| r.get(0))?))
            .unwrap();
        store.appointment(&manager, id.parse().unwrap()).unwrap()
    };
    // A two-digit year in a diary is the nearest one (next year, not 1927); seconds are dropped.
    assert_eq!(by_pms("D1").start_local, common::local("2027-01-05 09:00"));
    // 00:30 to 03:00 on the night the clocks go forward is 90 minutes.
    let d2 = by_pms("D2");
    assert_eq!((d2.ends_at - d2.starts_at).num_minutes(), 90);
    assert_eq!((d2.kind, d2.notes.as_str()), (lifeboat_core::AppointmentKind::Other, "Type in the PMS: Ophthalmology"));
    assert_eq!(by_pms("D3").clinician_name, "Siobhan O'Brien");

    // The PMS moved D1 to another animal and another vet: a re-import follows it.
    let moved =
        diary.replace("D1,A1,05/01/27,09:00:45,09:15,\"Herriot, James\"", "D1,A2,05/01/27,09:30,09:45,M. de la Cruz");
    let again = import(&store, &manager, ImportKind::Appointments, "d2.csv", moved.as_bytes(), false);
    assert_eq!((again.updated, again.unchanged), (1, 2), "{again:#?}");
    let d1 = by_pms("D1");
    assert_eq!((d1.patient_name.as_str(), d1.clinician_name.as_str()), ("Pickle", "Maria de la Cruz"));
    assert_eq!(d1.start_local, common::local("2027-01-05 09:30"));
}

/// Each product's stored fields, by PMS code.
fn products(store: &Store) -> Vec<String> {
    store
        .read(|c| {
            let mut stmt = c.prepare(
                "SELECT pms_id, name, active_ingredient, strength, form, legal_category, cd_schedule, unit, pack_size_milli,
                        price_pence, vat_rate_bp, authorised_species, withdrawal_meat_days, warnings
                 FROM product WHERE pms_id IS NOT NULL ORDER BY pms_id",
            )?;
            let n = stmt.column_count();
            let mut rows = stmt.query([])?;
            let mut out = Vec::new();
            while let Some(r) = rows.next()? {
                let cells: Vec<String> = (0..n)
                    .map(|i| r.get::<_, rusqlite::types::Value>(i).map(|v| format!("{v:?}")))
                    .collect::<rusqlite::Result<_>>()?;
                out.push(cells.join(" | "));
            }
            Ok(out)
        })
        .unwrap()
}

#[test]
fn a_pms_product_list_imports_into_the_formulary_with_codes_prices_and_legal_categories() {
    let (_dir, store, admin) = practice();
    let manager = login_as(&store, &admin, "m.manager", Role::Manager);
    let file = include_bytes!("fixtures/import/products-semicolon.csv");
    let report = import(&store, &manager, ImportKind::Products, "products.csv", file, false);
    assert_eq!((report.rows, report.added, report.updated, report.unchanged), (7, 3, 1, 0), "{report:?}");
    assert_eq!(
        report.rejected,
        vec![
            rejected(5, "Category", "\"POM-X\" is not a legal category (POM-V, POM-VPS, NFA-VPS or AVM-GSL)"),
            rejected(7, "Sell Price", "\"twelve\" is not a price in pounds (for example 12.50)"),
            rejected(8, "Species", "\"Dragon\" is not a species Lifeboat knows (dog, cat, rabbit, horse, cattle, ...)"),
        ]
    );
    assert_eq!(
        products(&store),
        vec![
            // The starter list's Metacam, found by name and strength: it takes the PMS code and price.
            "Text(\"P100\") | Text(\"Metacam 1.5 mg/ml oral suspension for dogs\") | Text(\"Meloxicam\") | Text(\"1.5 mg/ml\") | Text(\"Oral suspension\") | Text(\"POM-V\") | Null | Text(\"ml\") | Integer(100000) | Integer(1250) | Integer(2000) | Text(\"[\\\"dog\\\"]\") | Null | Text(\"Give with food.\")",
            "Text(\"P101\") | Text(\"Vetergesic\") | Text(\"Buprenorphine\") | Text(\"0.3 mg/ml\") | Text(\"Solution for injection\") | Text(\"POM-V\") | Integer(3) | Text(\"ml\") | Integer(10000) | Integer(1800) | Integer(2000) | Text(\"[\\\"dog\\\",\\\"cat\\\"]\") | Null | Text(\"\")",
            "Text(\"P102\") | Text(\"Frontline Spot On\") | Text(\"Fipronil\") | Text(\"67 mg\") | Text(\"Spot-on solution\") | Text(\"AVM-GSL\") | Null | Text(\"pipette\") | Integer(3000) | Integer(999) | Integer(2000) | Text(\"[\\\"dog\\\"]\") | Null | Text(\"\")",
            "Text(\"P104\") | Text(\"Ivomec\") | Text(\"Ivermectin\") | Text(\"10 mg/ml\") | Text(\"Solution for injection\") | Text(\"POM-VPS\") | Null | Text(\"ml\") | Integer(50000) | Integer(123456) | Integer(0) | Text(\"[\\\"cattle\\\",\\\"sheep\\\"]\") | Integer(49) | Text(\"\")",
        ]
    );
    // The same file again changes nothing; the vet finds the imported product.
    let again = import(&store, &manager, ImportKind::Products, "products.csv", file, false);
    assert_eq!((again.added, again.updated, again.unchanged, again.rejected.len()), (0, 0, 4, 3));
    // Written out, the list reads back in as the same products.
    let exported = store.export_csv(&manager, ImportKind::Products, None).unwrap();
    let text = String::from_utf8(exported.bytes.clone()).unwrap();
    assert!(text.starts_with("\u{feff}Lifeboat ID,Product Code,Product Name,"), "{text}");
    let (_dir2, other, admin2) = practice();
    let other_manager = login_as(&other, &admin2, "m.manager", Role::Manager);
    let mut mapping = Mapping::default();
    mapping.columns.insert("Lifeboat ID".into(), String::new());
    let options = ImportOptions { all_or_nothing: false, mapping: Some(mapping) };
    let (back, _) =
        other.import_file(&other_manager, ImportKind::Products, "p.csv", &exported.bytes, &options, |_, _| {}).unwrap();
    // The starter list's other products have no PMS code yet (as records made here), which the
    // import needs; the four from the PMS read back as they are.
    assert_eq!((back.added, back.updated), (3, 1), "{back:?}");
    assert!(back.rejected.iter().all(|r| r.column == "Product Code" && r.reason == "is required"), "{back:?}");
    let ours: Vec<String> = products(&store);
    assert_eq!(products(&other), ours);
}

#[test]
fn recent_clinical_history_imports_as_signed_consultations_that_are_not_backlog() {
    let (_dir, store, admin) = practice();
    let manager = login_as(&store, &admin, "m.manager", Role::Manager);
    let mut vet = lifeboat_core::example::staff("j.herriot", Role::Vet, common::PASSWORD);
    vet.display_name = "James Herriot".into();
    store.add_staff(&admin, &vet).unwrap();
    let mut nurse = lifeboat_core::example::staff("s.farnon", Role::Nurse, common::PASSWORD);
    nurse.display_name = "Siegfried Farnon".into();
    store.add_staff(&admin, &nurse).unwrap();
    import(&store, &manager, ImportKind::Clients, "clients.csv", CLIENTS, false);
    import(&store, &manager, ImportKind::Patients, "patients.csv", PATIENTS, false);
    store.set_outage_began(&manager, Some(common::local("2026-03-29 08:00"))).unwrap();

    let file = include_bytes!("fixtures/import/history.csv");
    let report = import(&store, &manager, ImportKind::History, "history.csv", file, false);
    assert_eq!((report.rows, report.added), (7, 2), "{report:?}");
    let lines: Vec<(u64, &str)> = report.rejected.iter().map(|r| (r.line, r.column.as_str())).collect();
    assert_eq!(
        lines,
        vec![(5, "Animal No."), (6, "Vet"), (7, "Date"), (8, "Weight"), (9, "Weight")],
        "{:?}",
        report.rejected
    );
    assert_eq!(report.rejected[4].reason, "\"NaN\" is not a number");
    assert_eq!(report.rejected[0].reason, "no animal has PMS number \"A9\": import the animals' file first");
    assert_eq!(report.rejected[2].reason, "must be after the start and not in the future");

    let biscuit = patient_by_pms(&store, &manager, "A1");
    let history = store.patient_history(&manager, biscuit.id).unwrap();
    let consultations: Vec<_> = history
        .entries
        .iter()
        .filter_map(|e| match e {
            lifeboat_core::views::history::HistoryEntry::Consultation { consultation, .. } => Some(consultation),
            _ => None,
        })
        .collect();
    assert_eq!(consultations.len(), 1);
    let c = consultations[0];
    assert_eq!(
        (c.subjective.as_str(), c.objective.as_str(), c.assessment.as_str(), c.plan.as_str()),
        ("Limping left fore, 2 days", "Pain on carpal flexion", "Soft tissue injury", "Rest 7 days\nNSAID")
    );
    assert_eq!(c.vitals.weight_kg, Some(8.4));
    assert_eq!(c.started_at.to_rfc3339(), "2026-02-14T10:15:00+00:00");
    assert!(c.is_signed(), "a record from the PMS is final");
    // A copy of the PMS's history is not backlog; the same file again adds nothing.
    let backlog = store.backlog(&manager).unwrap();
    assert!(backlog.totals.iter().all(|(kind, _, _)| kind != "Consultations"), "{:?}", backlog.totals);
    let again = import(&store, &manager, ImportKind::History, "history.csv", file, false);
    assert_eq!((again.added, again.unchanged), (0, 2));
}
