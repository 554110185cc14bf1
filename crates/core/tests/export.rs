//! CSV exports for back-entry into the PMS: every field, read back in by the snapshot import on
//! another PC as the same records.

mod common;

use common::{login_as, practice};
use lifeboat_core::import::columns::ImportKind;
use lifeboat_core::import::ImportOptions;
use lifeboat_core::{Role, Session, Store};

const CLIENTS: &[u8] = include_bytes!("fixtures/import/clients-windows.csv");
const PATIENTS: &[u8] = include_bytes!("fixtures/import/patients-bom.csv");
const DIARY: &[u8] = include_bytes!("fixtures/import/appointments-diary.csv");

/// A practice with the fixtures' clinicians and a manager; the manager's session.
fn with_clinicians() -> (tempfile::TempDir, Store, Session) {
    let (dir, store, admin) = practice();
    for (user, name, role) in [("j.herriot", "James Herriot", Role::Vet), ("s.farnon", "Siegfried Farnon", Role::Nurse)]
    {
        let mut s = lifeboat_core::example::staff(user, role, common::PASSWORD);
        s.display_name = name.into();
        store.add_staff(&admin, &s).unwrap();
    }
    let manager = login_as(&store, &admin, "m.manager", Role::Manager);
    (dir, store, manager)
}

fn import(store: &Store, s: &Session, kind: ImportKind, bytes: &[u8]) -> lifeboat_core::import::ImportReport {
    store.import_file(s, kind, "f.csv", bytes, &ImportOptions::default(), |_, _| {}).unwrap().0
}

/// Every field a PMS holds, per record, keyed by PMS number.
fn snapshot(store: &Store) -> Vec<String> {
    store
        .read(|c| {
            let mut out = Vec::new();
            for sql in [
                "SELECT pms_id, origin, title, first_name, last_name, address_line1, address_line2, town, postcode, phone,
                        phone_alt, email, consent_email, consent_sms, notes FROM client ORDER BY pms_id",
                "SELECT p.pms_id, p.name, p.species, p.species_other, p.breed, p.sex, p.neutered, p.date_of_birth, p.colour,
                        p.microchip, p.alerts, p.notes, p.deceased_on,
                        (SELECT group_concat(c.pms_id) FROM ownership o JOIN client c ON c.id = o.client_id WHERE o.patient_id = p.id)
                 FROM patient p ORDER BY p.pms_id",
                "SELECT a.pms_id, p.pms_id, c.pms_id, a.starts_at, a.ends_at, s.display_name, a.room, a.kind, a.reason,
                        a.notes, a.status
                 FROM appointment a JOIN patient p ON p.id = a.patient_id JOIN client c ON c.id = a.client_id
                   JOIN staff s ON s.id = a.clinician_id ORDER BY a.pms_id",
            ] {
                let mut stmt = c.prepare(sql)?;
                let n = stmt.column_count();
                let mut rows = stmt.query([])?;
                while let Some(r) = rows.next()? {
                    let cells: Vec<String> = (0..n)
                        .map(|i| r.get::<_, rusqlite::types::Value>(i).map(|v| format!("{v:?}")))
                        .collect::<rusqlite::Result<_>>()?;
                    out.push(cells.join(" | "));
                }
            }
            Ok(out)
        })
        .unwrap()
}

#[test]
fn an_export_read_into_another_pcs_lifeboat_gives_the_same_records_field_for_field() {
    let (_a_dir, a, a_manager) = with_clinicians();
    import(&a, &a_manager, ImportKind::Clients, CLIENTS);
    import(&a, &a_manager, ImportKind::Patients, PATIENTS);
    import(&a, &a_manager, ImportKind::Appointments, DIARY);
    let held = snapshot(&a);
    assert_eq!(held.len(), 4 + 5 + 5, "{held:#?}");

    let (_b_dir, b, b_manager) = with_clinicians();
    for kind in [ImportKind::Clients, ImportKind::Patients, ImportKind::Appointments] {
        let exported = a.export_csv(&a_manager, kind, None).unwrap();
        assert!(exported.bytes.starts_with(b"\xef\xbb\xbf"), "a byte-order mark for Excel");
        let report = import(&b, &b_manager, kind, &exported.bytes);
        assert_eq!((report.added, report.rejected.clone()), (exported.rows, vec![]), "{kind:?}: {report:#?}");
    }
    assert_eq!(snapshot(&b), held);
}

#[test]
fn the_columns_are_as_documented_and_only_managers_export() {
    let (_dir, store, manager) = with_clinicians();
    import(&store, &manager, ImportKind::Clients, CLIENTS);
    let mut heard = Vec::new();
    let exported = store
        .export_csv_progress(&manager, ImportKind::Clients, None, &mut |done, total| heard.push((done, total)))
        .unwrap();
    assert_eq!((heard.first(), heard.last()), (Some(&(0, exported.rows)), Some(&(exported.rows, exported.rows))));
    let text = String::from_utf8(exported.bytes).unwrap();
    let mut lines = text.lines();
    assert_eq!(
        lines.next().unwrap(),
        "\u{feff}Lifeboat ID,Client No.,Origin,Title,Forename,Surname,Address 1,Address 2,Town,Post Code,Home Tel,Mobile Tel,E-mail,Email Consent,SMS Consent,Notes,Created,Last changed"
    );
    let agatha = lines.next().unwrap();
    let after_id = agatha.split_once(',').unwrap().1;
    assert_eq!(
        after_id,
        "10001,pms,Mrs,Agatha,Quillfeather,\"Rose Cottage, 4 Ferry Road\",,Norwich,NR1 1AA,01632 960111,07700 900461,agatha@example.co.uk,Y,N,,29/03/2026 09:30,29/03/2026 09:30"
    );
    assert_eq!(exported.rows, 4);
    let later = chrono::Utc::now() + chrono::Duration::days(365 * 10);
    assert_eq!(store.export_csv(&manager, ImportKind::Clients, Some(later)).unwrap().rows, 0, "nothing changed since");

    let (_dir, store, admin) = practice();
    let desk = login_as(&store, &admin, "r.desk", Role::Reception);
    let refused = store.export_csv(&desk, ImportKind::Clients, None).unwrap_err();
    assert_eq!(refused.code(), lifeboat_core::ErrorCode::Forbidden);
}

#[test]
fn the_backlog_counts_what_was_made_or_changed_here_since_the_outage_began_by_day_kind_and_clinician() {
    let (_dir, store, clock) = common::store_and_clock();
    let admin = store.create_practice(&lifeboat_core::example::practice_setup("admin", common::PASSWORD)).unwrap();
    let mut vet = lifeboat_core::example::staff("j.herriot", Role::Vet, common::PASSWORD);
    vet.display_name = "James Herriot".into();
    store.add_staff(&admin, &vet).unwrap();
    let manager = login_as(&store, &admin, "m.manager", Role::Manager);
    // Before the outage is recorded, there is no backlog.
    assert_eq!(store.backlog(&manager).unwrap().rows, vec![]);
    let desk = login_as(&store, &admin, "r.desk", Role::Reception);
    assert_eq!(
        store.set_outage_began(&desk, None).unwrap_err().code(),
        lifeboat_core::ErrorCode::Forbidden,
        "reception does not set it"
    );
    // The PMS snapshot comes in before the outage is recorded: copies of the PMS are not backlog.
    import(&store, &manager, ImportKind::Clients, CLIENTS);
    import(&store, &manager, ImportKind::Patients, PATIENTS);
    let began = common::local("2026-03-29 09:00");
    store.set_outage_began(&manager, Some(began)).unwrap();
    assert_eq!(
        store.set_outage_began(&manager, Some(common::local("2026-04-29 09:00"))).unwrap_err().to_string(),
        "outage_began: is in the future"
    );
    clock.advance(chrono::Duration::hours(1));
    // During the outage: a client registered at the desk, an imported one edited, a booking.
    let mut ivy =
        lifeboat_core::NewClient { last_name: "Ashdown".into(), phone: "07700 900501".into(), ..Default::default() };
    store.register_client(&desk, &ivy).unwrap();
    let id: String =
        store.read(|c| Ok(c.query_row("SELECT id FROM client WHERE pms_id = '10003'", [], |r| r.get(0))?)).unwrap();
    let sian = store.client(&desk, id.parse().unwrap()).unwrap();
    ivy = lifeboat_core::NewClient {
        title: sian.title.clone(),
        first_name: sian.first_name.clone(),
        last_name: sian.last_name.clone(),
        address_line1: sian.address_line1.clone(),
        town: sian.town.clone(),
        postcode: sian.postcode.clone(),
        phone: "07700 900777".into(),
        email: sian.email.clone(),
        ..Default::default()
    };
    store.update_client(&desk, sian.id, &ivy).unwrap();
    let backlog = store.backlog(&manager).unwrap();
    assert_eq!(backlog.outage_began, Some(lifeboat_core::time::to_utc("t", began).unwrap()));
    let day = chrono::NaiveDate::from_ymd_opt(2026, 3, 29).unwrap();
    assert_eq!(
        backlog.rows,
        vec![lifeboat_core::views::backlog::BacklogRow {
            day,
            kind: "Clients".into(),
            clinician: String::new(),
            created: 1,
            changed: 1
        }]
    );
    assert_eq!(backlog.totals, vec![("Clients".to_string(), 1, 1)]);
}
