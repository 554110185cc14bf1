//! The reconciliation ledger: each record of the backlog moves captured → exported → entered in the
//! PMS → verified, singly, in bulk or from a file of PMS numbers; a record changed again is back to
//! captured; marks are journaled, audited, never changed or deleted, and travel to the other PCs.

mod common;

use common::{clinic, login_as, Clinic, PASSWORD};
use lifeboat_core::import::columns::ImportKind;
use lifeboat_core::ledger::{EnteredMark, LedgerEntry, LedgerFilter, Progress, Stage, StageCounts};
use lifeboat_core::{ErrorCode, Role, Session, Store};
use sha2::Digest;

/// The consult-room practice, with the outage recorded as having begun at 09:00 (before the client,
/// dog and booking were made), a manager, and a consultation started for the dog.
fn outage() -> (Clinic, Session) {
    let c = clinic();
    let manager = login_as(c.store(), &c.r.admin, "m.manager", Role::Manager);
    c.store().set_outage_began(&manager, Some(common::local("2026-03-29 09:00"))).unwrap();
    (c, manager)
}

fn ledger(store: &Store, s: &Session) -> lifeboat_core::ledger::Ledger {
    store.ledger(s, &LedgerFilter::default()).unwrap()
}

fn entry<'a>(l: &'a lifeboat_core::ledger::Ledger, kind: &str) -> &'a LedgerEntry {
    l.entries.iter().find(|e| e.kind == kind).unwrap_or_else(|| panic!("the ledger holds {kind}: {:?}", l.entries))
}

fn counts(captured: u32, exported: u32, entered: u32, verified: u32) -> StageCounts {
    StageCounts { captured, exported, entered, verified }
}

fn enter(id: &str, pms: &str) -> EnteredMark {
    EnteredMark { record_id: id.into(), pms_id: pms.into() }
}

fn pms_id_of(store: &Store, table: &str, id: &str) -> Option<String> {
    store.read(|c| Ok(c.query_row(&format!("SELECT pms_id FROM {table} WHERE id = ?1"), [id], |r| r.get(0))?)).unwrap()
}

#[test]
fn each_record_moves_from_captured_to_verified_and_back_to_captured_when_changed_again() {
    let (c, manager) = outage();
    let consultation = c
        .store()
        .start_consultation(
            &c.vet,
            &lifeboat_core::clinical::consultation::StartConsultation {
                appointment_id: Some(c.appointment.id),
                patient_id: None,
            },
        )
        .unwrap();

    // Captured: the client, the dog, the booking and the consultation, all made during the outage.
    let l = ledger(c.store(), &manager);
    assert_eq!(l.total, counts(4, 0, 0, 0));
    assert_eq!(
        l.by_kind,
        ["Clients", "Animals", "Appointments", "Consultations"]
            .map(|k| Progress { label: k.into(), counts: counts(1, 0, 0, 0) })
            .to_vec()
    );
    assert_eq!(l.by_day, vec![Progress { label: "29/03/2026".into(), counts: counts(4, 0, 0, 0) }]);
    let client = entry(&l, "Clients").clone();
    assert_eq!(client.id, c.r.client.id.to_string());
    assert_eq!(client.summary, "Mrs Agatha Quillfeather, EX4 1AB");
    assert_eq!(client.stage, Stage::Captured);
    assert!(!client.changed_since_marked);
    let booking = entry(&l, "Appointments").clone();
    assert_eq!(booking.summary, "29/03/2026 10:00 Appointment (consultation, in consult): Limping");
    assert_eq!((booking.patient_name.as_deref(), booking.clinician.as_str()), (Some("Biscuit"), "James Herriot"));

    // Exported: the clients' CSV carries the client, noted in the ledger with the file's SHA-256.
    let exported = c.store().export_csv(&manager, ImportKind::Clients, None).unwrap();
    assert_eq!((exported.rows, exported.marked), (1, 1));
    let l = ledger(c.store(), &manager);
    assert_eq!(l.total, counts(3, 1, 0, 0));
    let client = entry(&l, "Clients");
    assert_eq!(client.stage, Stage::Exported);
    assert_eq!(client.export_id, Some(exported.export_id.to_string()));
    assert_eq!(l.exports.len(), 1);
    assert_eq!(l.exports[0].id, exported.export_id.to_string());
    assert_eq!((l.exports[0].format.as_str(), l.exports[0].kind.as_str(), l.exports[0].rows), ("csv", "clients", 1));
    assert_eq!(l.exports[0].sha256, hex::encode(sha2::Sha256::digest(&exported.bytes)));
    // A second export marks nothing again: the record went out first in the first one.
    let again = c.store().export_csv(&manager, ImportKind::Clients, None).unwrap();
    assert_eq!(again.marked, 0);
    assert_eq!(entry(&ledger(c.store(), &manager), "Clients").export_id, Some(exported.export_id.to_string()));

    // Entered: a client needs its PMS number, and takes it.
    let refused = c.store().mark_entered(&manager, &[enter(&client.id, "  ")]).unwrap_err();
    assert_eq!(refused.to_string(), "mark 1.pms_id: is needed for clients");
    let done = c.store().mark_entered(&manager, &[enter(&client.id, " C-5001 ")]).unwrap();
    assert_eq!((done.marked, done.unchanged), (1, 0));
    assert_eq!(pms_id_of(c.store(), "client", &client.id).as_deref(), Some("C-5001"));
    let l = ledger(c.store(), &manager);
    let client = entry(&l, "Clients").clone();
    assert_eq!(client.stage, Stage::Entered, "giving the PMS number does not make the record changed");
    assert_eq!((client.pms_id.as_deref(), client.entered_by.as_deref()), (Some("C-5001"), Some("Test manager")));
    assert_eq!(client.export_id, Some(exported.export_id.to_string()), "which export it went out in stays known");
    // The same mark again changes nothing; a mistyped number is corrected.
    let same = c.store().mark_entered(&manager, &[enter(&client.id, "C-5001")]).unwrap();
    assert_eq!((same.marked, same.unchanged), (0, 1));
    c.store().mark_entered(&manager, &[enter(&client.id, "C-5002")]).unwrap();
    assert_eq!(pms_id_of(c.store(), "client", &client.id).as_deref(), Some("C-5002"));
    assert_eq!(entry(&ledger(c.store(), &manager), "Clients").pms_id.as_deref(), Some("C-5002"));

    // Two records cannot be entered under one PMS number; the bad mark refuses the whole call.
    let other = c
        .store()
        .register_client(
            &c.r.desk,
            &lifeboat_core::NewClient {
                last_name: "Ashdown".into(),
                phone: "07700 900501".into(),
                ..Default::default()
            },
        )
        .unwrap();
    let consultation_id = consultation.id.to_string();
    let refused = c
        .store()
        .mark_entered(&manager, &[enter(&consultation_id, ""), enter(&other.id.to_string(), "C-5002")])
        .unwrap_err();
    assert_eq!(
        refused.to_string(),
        format!("mark 2.pms_id: \"C-5002\" is already the PMS number of another client ({})", client.id)
    );
    assert_eq!(entry(&ledger(c.store(), &manager), "Consultations").stage, Stage::Captured, "nothing was marked");
    let unknown = c.store().mark_entered(&manager, &[enter("not-an-id", "1")]).unwrap_err();
    assert_eq!(unknown.to_string(), "mark 1.record_id: \"not-an-id\" is not a record of the backlog");

    // Verified: only what was entered; a consultation is entered without a number.
    let refused = c.store().mark_verified(&manager, std::slice::from_ref(&consultation_id)).unwrap_err();
    assert_eq!(
        refused.to_string(),
        "record 1.record_id: 29/03/2026 09:30 Consultation (draft, not signed) is not entered in the PMS yet"
    );
    c.store().mark_entered(&manager, &[enter(&consultation_id, "")]).unwrap();
    let verified = c.store().mark_verified(&manager, &[client.id.clone(), consultation_id.clone()]).unwrap();
    assert_eq!(verified.marked, 2);
    let l = ledger(c.store(), &manager);
    assert_eq!(l.total, counts(3, 0, 0, 2), "the other client, the dog and the booking are captured");
    let client = entry(&l, "Clients").clone();
    assert_eq!((client.stage, client.verified_by.as_deref()), (Stage::Verified, Some("Test manager")));
    let missing = c.store().ledger(&manager, &LedgerFilter { missing: true, ..Default::default() }).unwrap();
    assert_eq!(missing.matching, 3);
    assert!(missing.entries.iter().all(|e| e.stage == Stage::Captured));

    // Changed again in Lifeboat: back to captured, and missing from the PMS.
    let mut changed = lifeboat_core::NewClient {
        title: "Mrs".into(),
        first_name: "Agatha".into(),
        last_name: "Quillfeather".into(),
        address_line1: "3 Orchard Row".into(),
        town: "Exeter".into(),
        postcode: "EX4 1AB".into(),
        phone: "07700 900461".into(),
        email: "agatha@example.co.uk".into(),
        ..Default::default()
    };
    changed.phone_alt = "01392 000111".into();
    c.store().update_client(&c.r.desk, c.r.client.id, &changed).unwrap();
    let l = ledger(c.store(), &manager);
    let client = entry(&l, "Clients");
    assert_eq!((client.stage, client.changed_since_marked), (Stage::Captured, true));
    assert_eq!(l.total, counts(4, 0, 0, 1));
    // The number the PMS gave it stays on the record.
    assert_eq!(pms_id_of(c.store(), "client", &client.id).as_deref(), Some("C-5002"));

    // Each mark is a journaled, audited change under its own permission; the chain holds.
    let (marks, audited): (i64, i64) = c
        .store()
        .read(|conn| {
            Ok((
                conn.query_row("SELECT count(*) FROM journal WHERE entity = 'ledger_mark'", [], |r| r.get(0))?,
                conn.query_row(
                    "SELECT count(*) FROM audit WHERE entity = 'ledger_mark' AND action = 'records.reconcile'",
                    [],
                    |r| r.get(0),
                )?,
            ))
        })
        .unwrap();
    // Exported (1); entered C-5001, C-5002, the consultation (3); verified (2).
    assert_eq!((marks, audited), (6, 5));
    assert!(c.store().verify_audit().unwrap().is_intact());
}

#[test]
fn only_managers_reconcile_and_marks_are_never_changed_or_deleted() {
    let (c, manager) = outage();
    let id = c.r.client.id.to_string();
    for s in [&c.r.desk, &c.vet] {
        assert_eq!(c.store().ledger(s, &LedgerFilter::default()).unwrap_err().code(), ErrorCode::Forbidden);
        assert_eq!(c.store().mark_entered(s, &[enter(&id, "1")]).unwrap_err().code(), ErrorCode::Forbidden);
        assert_eq!(c.store().mark_verified(s, std::slice::from_ref(&id)).unwrap_err().code(), ErrorCode::Forbidden);
    }
    c.store().mark_entered(&manager, &[enter(&id, "C-1")]).unwrap();
    let raw = common::raw_connection(&c.r.dir);
    let refused = raw.execute("UPDATE ledger_mark SET pms_id = 'C-2'", []).unwrap_err();
    assert!(refused.to_string().contains("a ledger mark cannot be changed"), "{refused}");
    let refused = raw.execute("DELETE FROM ledger_mark", []).unwrap_err();
    assert!(refused.to_string().contains("a ledger mark cannot be deleted"), "{refused}");
    c.store().export_csv(&manager, ImportKind::Clients, None).unwrap();
    let refused = raw.execute("DELETE FROM export_batch", []).unwrap_err();
    assert!(refused.to_string().contains("an export record cannot be deleted"), "{refused}");
}

#[test]
fn a_file_of_pms_numbers_marks_its_good_rows_and_reports_each_bad_one_by_line_and_column() {
    let (c, manager) = outage();
    let other = c
        .store()
        .register_client(
            &c.r.desk,
            &lifeboat_core::NewClient {
                last_name: "Ashdown".into(),
                phone: "07700 900501".into(),
                ..Default::default()
            },
        )
        .unwrap();
    let (client, dog, booking, other) = (c.r.client.id, c.r.dog.id, c.appointment.id, other.id);
    // As a spreadsheet saves it: byte-order mark, semicolons, CRLF, a blank row, quoted cells.
    let file = format!(
        "\u{feff}Lifeboat ID;PMS No.;Name\r\n{client};C-7001;\"Quillfeather, Agatha\"\r\n{dog};A-7001;Biscuit\r\n;;\r\n\
         {booking};;Limping\r\nnot-an-id;X-1;?\r\n{other};C-7001;Ashdown\r\n"
    );
    let done = c.store().mark_entered_from_file(&manager, "numbers.csv", file.as_bytes()).unwrap();
    assert_eq!((done.marked, done.unchanged), (2, 0));
    let lines: Vec<(u64, &str, &str)> =
        done.rejected.iter().map(|r| (r.line, r.column.as_str(), r.reason.as_str())).collect();
    let other_reason = format!("\"C-7001\" is already the PMS number of another client ({client})");
    assert_eq!(
        lines,
        vec![
            (5, "PMS No.", "is needed for appointments"),
            (6, "Lifeboat ID", "\"not-an-id\" is not a record of the backlog"),
            (7, "PMS No.", other_reason.as_str()),
        ]
    );
    assert_eq!(pms_id_of(c.store(), "client", &client.to_string()).as_deref(), Some("C-7001"));
    assert_eq!(pms_id_of(c.store(), "patient", &dog.to_string()).as_deref(), Some("A-7001"));
    assert_eq!(pms_id_of(c.store(), "client", &other.to_string()), None, "a refused row wrote nothing");
    // The same file again marks nothing twice.
    let again = c.store().mark_entered_from_file(&manager, "numbers.csv", file.as_bytes()).unwrap();
    assert_eq!((again.marked, again.unchanged, again.rejected.len()), (0, 2, 3));
    // A file without the columns is refused as a whole, saying what it lacks.
    let refused = c.store().mark_entered_from_file(&manager, "x.csv", b"Id,Number\r\n1,2\r\n").unwrap_err();
    assert_eq!(refused.to_string(), "file: has no \"Lifeboat ID\" column (the id from Lifeboat's export)");
}

#[test]
fn marks_travel_to_the_other_pcs_of_the_practice_and_the_ledger_reads_the_same_there() {
    let (c, manager) = outage();
    let exported = c.store().export_csv(&manager, ImportKind::Clients, None).unwrap();
    c.store().mark_entered(&manager, &[enter(&c.r.client.id.to_string(), "C-9")]).unwrap();
    c.store().mark_verified(&manager, &[c.r.client.id.to_string()]).unwrap();
    let (_dir, other) = common::store();
    let changes = c.store().changes_missing_from(&other.marks().unwrap(), 100_000).unwrap();
    let applied = other.apply_changes(&changes).unwrap();
    assert_eq!((applied.quarantined, applied.conflicts), (0, 0));
    assert_eq!(c.store().dump().unwrap(), other.dump().unwrap());
    let there = other.login("m.manager", PASSWORD).unwrap();
    let (here, there) = (ledger(c.store(), &manager), ledger(&other, &there));
    assert_eq!(there.total, here.total);
    assert_eq!(there.by_kind, here.by_kind);
    let (a, b) = (entry(&here, "Clients"), entry(&there, "Clients"));
    assert_eq!(b.stage, Stage::Verified);
    assert_eq!((b.pms_id.as_deref(), b.export_id.clone()), (Some("C-9"), Some(exported.export_id.to_string())));
    assert_eq!((b.entered_at, b.verified_at), (a.entered_at, a.verified_at));
    assert_eq!(pms_id_of(&other, "client", &c.r.client.id.to_string()).as_deref(), Some("C-9"));
}

#[test]
fn review_cases_merged_records_corrections_after_a_change_and_one_file_read_on_two_pcs() {
    let (c, manager) = outage();
    let agatha = c.r.client.id.to_string();
    // A second record of Agatha, merged into the first: the backlog holds the kept record only, and
    // the merged record's number does not block the kept one.
    let again = c
        .store()
        .register_client(
            &c.r.desk,
            &lifeboat_core::NewClient {
                last_name: "Quillfeather".into(),
                phone: "07700 900461".into(),
                ..Default::default()
            },
        )
        .unwrap();
    c.store().mark_entered(&manager, &[enter(&again.id.to_string(), "C-1")]).unwrap();
    c.store().merge_clients(&manager, c.r.client.id, again.id).unwrap();
    let l = ledger(c.store(), &manager);
    assert_eq!(
        l.entries.iter().filter(|e| e.kind == "Clients").map(|e| e.id.clone()).collect::<Vec<_>>(),
        vec![agatha.clone()]
    );
    c.store().mark_entered(&manager, &[enter(&agatha, "C-1")]).unwrap();
    assert_eq!(pms_id_of(c.store(), "client", &agatha).as_deref(), Some("C-1"));
    let client = entry(&ledger(c.store(), &manager), "Clients").clone();
    assert!(client.is_new, "made during the outage");
    assert_eq!(client.record_pms_id.as_deref(), Some("C-1"));

    // Changed at the desk after it was entered, then its mistyped number corrected.
    let mut changed = lifeboat_core::NewClient {
        title: "Mrs".into(),
        first_name: "Agatha".into(),
        last_name: "Quillfeather".into(),
        address_line1: "3 Orchard Row".into(),
        town: "Exeter".into(),
        postcode: "EX4 1AB".into(),
        phone: "07700 900461".into(),
        email: "agatha@example.co.uk".into(),
        ..Default::default()
    };
    changed.phone_alt = c.store().client(&manager, c.r.client.id).unwrap().phone_alt;
    changed.notes = "Prefers mornings".into();
    c.store().update_client(&c.r.desk, c.r.client.id, &changed).unwrap();
    assert_eq!(entry(&ledger(c.store(), &manager), "Clients").stage, Stage::Captured);
    c.store().mark_entered(&manager, &[enter(&agatha, "C-2")]).unwrap();
    assert_eq!(pms_id_of(c.store(), "client", &agatha).as_deref(), Some("C-2"));
    // A number with text-direction controls is refused like any other field.
    let refused = c.store().mark_entered(&manager, &[enter(&agatha, "C-1\u{202E}0015")]).unwrap_err();
    assert_eq!(refused.field(), Some("mark 1.pms_id"));
    let long = "x".repeat(100_000);
    assert_eq!(
        c.store().mark_entered(&manager, &[enter(&long, "1")]).unwrap_err().to_string(),
        "mark 1.record_id: is not a Lifeboat id (too long)"
    );

    // The same file of numbers read on two PCs: after they sync, the records are still entered.
    let (_dir, other) = common::store();
    let sync = |from: &lifeboat_core::Store, to: &lifeboat_core::Store| {
        let changes = from.changes_missing_from(&to.marks().unwrap(), 100_000).unwrap();
        to.apply_changes(&changes).unwrap();
    };
    sync(c.store(), &other);
    let there = other.login("m.manager", PASSWORD).unwrap();
    let dog = c.r.dog.id;
    let file = format!("Lifeboat ID,PMS ID\r\n{dog},A-9\r\n");
    c.store().mark_entered_from_file(&manager, "n.csv", file.as_bytes()).unwrap();
    other.mark_entered_from_file(&there, "n.csv", file.as_bytes()).unwrap();
    sync(c.store(), &other);
    sync(&other, c.store());
    for (store, s) in [(c.store(), &manager), (&other, &there)] {
        let animal = entry(&ledger(store, s), "Animals").clone();
        assert_eq!((animal.stage, animal.pms_id.as_deref()), (Stage::Entered, Some("A-9")));
    }
    // A file with a client's and an animal's number and no PMS ID column is refused as unclear.
    let refused = c
        .store()
        .mark_entered_from_file(
            &manager,
            "x.csv",
            format!("Lifeboat ID,Client No.,Animal No.\r\n{dog},1,2\r\n").as_bytes(),
        )
        .unwrap_err();
    assert!(refused.to_string().starts_with("file: has no PMS number column"), "{refused}");
}
