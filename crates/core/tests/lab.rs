//! Lab work as a practice does it: a vet requests bloods in a consultation, a nurse enters the
//! results (one value high) and the lab's PDF, the request leaves the awaited lists, and the history
//! shows the flagged value; overdue requests; who may do what; voids; the records travel to another
//! PC and into the backlog.

mod common;

use chrono::Duration;
use common::*;
use lifeboat_core::clinical::consultation::StartConsultation;
use lifeboat_core::clinical::lab::{
    LabFile, LabFlag, LabRequest, LabTest, LabTestInput, LabValue, LabValueInput, NewLabRequest, NewLabResult,
};
use lifeboat_core::clinical::void::Voidable;
use lifeboat_core::views::history::HistoryEntry;
use lifeboat_core::{ErrorCode, Role, Store, StoreConfig};
use uuid::Uuid;

fn test_named(store: &Store, session: &lifeboat_core::Session, name: &str) -> LabTest {
    store.lab_tests(session, false).unwrap().into_iter().find(|t| t.name == name).unwrap_or_else(|| panic!("{name}"))
}

fn v(name: &str, value: &str, unit: &str, low: &str, high: &str) -> LabValueInput {
    LabValueInput { name: name.into(), value: value.into(), unit: unit.into(), low: low.into(), high: high.into() }
}

/// A vet's request for in-house biochemistry in a consultation of the clinic's dog.
fn bloods(c: &Clinic) -> (Uuid, LabRequest) {
    let start = StartConsultation { appointment_id: Some(c.appointment.id), patient_id: None };
    let consultation = c.store().start_consultation(&c.vet, &start).unwrap();
    let test = test_named(c.store(), &c.vet, "Biochemistry profile (in house)");
    let request = c
        .store()
        .request_lab_work(
            &c.vet,
            &NewLabRequest {
                patient_id: c.r.dog.id,
                consultation_id: Some(consultation.id),
                test_id: test.id,
                sample_type: String::new(),
                lab: String::new(),
                sample_taken_by: Some(c.nurse.staff_id),
                sample_taken_at: Some(local("2026-03-29 09:20")),
                note: "Pre-anaesthetic".into(),
            },
        )
        .unwrap();
    (consultation.id, request)
}

fn results() -> Vec<LabValueInput> {
    vec![
        v("ALT", "250", "U/L", "10", "125"),
        v("Creatinine", "98", "µmol/L", "44", "159"),
        v("Glucose", "5.2", "mmol/L", "4.1", "7.9"),
        v("", "", "", "", ""),
    ]
}

#[test]
fn bloods_requested_by_the_vet_and_entered_by_the_nurse_reach_the_history_flagged() {
    let c = clinic();
    let (consultation, request) = bloods(&c);
    let test = test_named(c.store(), &c.vet, "Biochemistry profile (in house)");
    assert_eq!(
        (
            request.test_name.as_str(),
            request.sample_type.as_str(),
            request.lab.as_str(),
            request.in_house,
            request.sample_taken_by,
            request.sample_taken_by_name.as_str(),
            request.requested_by_name.as_str(),
            request.note.as_str(),
            request.consultation_id,
        ),
        (
            "Biochemistry profile (in house)",
            "Serum or heparin plasma",
            "In house",
            true,
            c.nurse.staff_id,
            "Test nurse",
            "James Herriot",
            "Pre-anaesthetic",
            Some(consultation)
        )
    );
    // Taken at 09:20 BST = 08:20 UTC; in house results are due two hours later.
    assert_eq!(lifeboat_core::time::stored(request.sample_taken_at), "2026-03-29T08:20:00.000Z");
    assert_eq!(lifeboat_core::time::stored(request.due_at), "2026-03-29T10:20:00.000Z");
    assert_eq!(test.turnaround_hours, 2);

    let mine = c.store().lab_awaited(&c.vet, true).unwrap();
    assert_eq!(mine.requests.iter().map(|a| (a.request.id, a.overdue)).collect::<Vec<_>>(), vec![(request.id, false)]);
    assert!(c.store().lab_awaited(&c.nurse, true).unwrap().requests.is_empty(), "the nurse requested nothing");
    assert_eq!(c.store().lab_awaited(&c.nurse, false).unwrap().requests.len(), 1, "the practice's list has it");

    let pdf = b"%PDF-1.4\n% a lab's report\n".to_vec();
    let result = c
        .store()
        .record_lab_result(
            &c.nurse,
            &NewLabResult {
                request_id: request.id,
                values: results(),
                comment: "Mild ALT rise; repeat in 4 weeks.".into(),
                file: Some(LabFile { name: "C:\\Scans\\Biscuit bloods.pdf".into(), bytes: pdf.clone() }),
            },
        )
        .unwrap();
    let high = LabValue {
        name: "ALT".into(),
        value: "250".into(),
        unit: "U/L".into(),
        low: Some(10.0),
        high: Some(125.0),
        flag: Some(LabFlag::High),
    };
    assert_eq!(
        result.values,
        vec![
            high.clone(),
            LabValue {
                name: "Creatinine".into(),
                value: "98".into(),
                unit: "µmol/L".into(),
                low: Some(44.0),
                high: Some(159.0),
                flag: None
            },
            LabValue {
                name: "Glucose".into(),
                value: "5.2".into(),
                unit: "mmol/L".into(),
                low: Some(4.1),
                high: Some(7.9),
                flag: None
            },
        ],
        "the blank row is left out"
    );
    assert_eq!(result.flagged, 1);
    assert_eq!(
        (result.file_name.as_deref(), result.file_type.as_deref(), result.file_bytes),
        (Some("Biscuit bloods.pdf"), Some("application/pdf"), Some(pdf.len() as u32))
    );
    assert_eq!(result.entered_by, c.nurse.staff_id);
    let file = c.store().lab_attachment(&c.vet, result.id).unwrap();
    assert_eq!(
        (file.name.as_str(), file.content_type.as_str(), file.bytes),
        ("Biscuit bloods.pdf", "application/pdf", pdf)
    );

    assert!(c.store().lab_awaited(&c.vet, true).unwrap().requests.is_empty(), "it left the vet's list");
    assert!(c.store().lab_awaited(&c.vet, false).unwrap().requests.is_empty(), "and the practice's");

    let history = c.store().patient_history(&c.vet, c.r.dog.id).unwrap();
    let labs: Vec<&LabRequest> = history
        .entries
        .iter()
        .filter_map(|e| match e {
            HistoryEntry::Lab { request, .. } => Some(request.as_ref()),
            _ => None,
        })
        .collect();
    assert_eq!(labs.len(), 1);
    assert_eq!(labs[0].results.len(), 1);
    assert_eq!(labs[0].results[0].values[0], high, "the high value is flagged in the history");
    assert_eq!(labs[0].results[0].comment, "Mild ALT rise; repeat in 4 weeks.");
    let view = c.store().consultation_view(&c.vet, consultation).unwrap();
    assert_eq!(view.lab_requests.iter().map(|q| q.id).collect::<Vec<_>>(), vec![request.id]);
    assert_eq!(view.lab_requests[0].results[0].id, result.id);

    assert!(c.store().verify_audit().unwrap().is_intact());
}

#[test]
fn a_request_past_its_turnaround_is_flagged_overdue() {
    let c = clinic();
    let test = test_named(c.store(), &c.vet, "Total T4");
    assert_eq!((test.in_house, test.turnaround_hours), (false, 48));
    let request = c
        .store()
        .request_lab_work(
            &c.vet,
            &NewLabRequest {
                patient_id: c.r.dog.id,
                consultation_id: None,
                test_id: test.id,
                sample_type: String::new(),
                lab: "Axiom Veterinary Laboratories".into(),
                sample_taken_by: None,
                sample_taken_at: None,
                note: String::new(),
            },
        )
        .unwrap();
    assert_eq!(request.lab, "Axiom Veterinary Laboratories", "the lab named on the request");
    assert_eq!(request.sample_taken_by, c.vet.staff_id, "taken by the person requesting unless said");
    c.r.clock_advance(Duration::hours(47));
    assert!(!c.store().lab_awaited(&c.vet, true).unwrap().requests[0].overdue);
    c.r.clock_advance(Duration::hours(2));
    let awaited = c.store().lab_awaited(&c.vet, true).unwrap();
    assert_eq!(
        awaited.requests.iter().map(|a| (a.request.id, a.overdue)).collect::<Vec<_>>(),
        vec![(request.id, true)]
    );
}

#[test]
fn bad_requests_and_results_are_refused_naming_what_is_wrong_and_nothing_is_written() {
    let c = clinic();
    let (_, request) = bloods(&c);
    let journal_before = count(c.store(), "journal");
    let test = test_named(c.store(), &c.vet, "Urinalysis");
    let base = NewLabRequest {
        patient_id: c.r.dog.id,
        consultation_id: None,
        test_id: test.id,
        sample_type: String::new(),
        lab: String::new(),
        sample_taken_by: None,
        sample_taken_at: None,
        note: String::new(),
    };
    let refused = |new: NewLabRequest, field: &str, says: &str| {
        let e = c.store().request_lab_work(&c.vet, &new).unwrap_err();
        assert_eq!(e.field(), Some(field), "{e}");
        assert!(e.to_string().contains(says), "{e}");
    };
    refused(NewLabRequest { test_id: Uuid::now_v7(), ..base.clone() }, "test_id", "choose a test");
    refused(
        NewLabRequest { sample_taken_at: Some(local("2026-03-30 09:00")), ..base.clone() },
        "sample_taken_at",
        "in the future",
    );
    refused(
        NewLabRequest { sample_taken_at: Some(local("2025-01-01 09:00")), ..base.clone() },
        "sample_taken_at",
        "more than 90 days ago",
    );
    refused(
        NewLabRequest {
            sample_taken_at: chrono::NaiveDate::from_ymd_opt(9999, 12, 31).and_then(|d| d.and_hms_opt(9, 0, 0)),
            ..base.clone()
        },
        "sample_taken_at",
        "the year must be",
    );
    refused(NewLabRequest { note: "x".repeat(501), ..base.clone() }, "note", "at most 500");
    refused(NewLabRequest { sample_taken_by: Some(Uuid::now_v7()), ..base.clone() }, "sample_taken_by", "choose");

    let result = |values: Vec<LabValueInput>, file: Option<LabFile>| NewLabResult {
        request_id: request.id,
        values,
        comment: String::new(),
        file,
    };
    for (new, field, says) in [
        (result(vec![], None), "values", "at least one value"),
        (result(vec![v("ALT", "high", "U/L", "10", "125")], None), "value 1.value", "is not a number"),
        (result(vec![v("ALT", "1", "U/L", "10", "125"), v("", "3", "", "", "")], None), "value 2.name", "required"),
        (result(vec![v("ALT", "1", "U/L", "125", "10")], None), "value 1.low", "above the high end"),
        (
            result(vec![v("ALT", "1", "U/L", "", "")], Some(LabFile { name: "x.exe".into(), bytes: b"MZ..".to_vec() })),
            "file",
            "PDF, PNG or JPEG",
        ),
        (
            result(
                vec![],
                Some(LabFile {
                    name: "big.pdf".into(),
                    bytes: [b"%PDF-".as_slice(), &vec![0u8; 2 * 1024 * 1024]].concat(),
                }),
            ),
            "file",
            "2 MB",
        ),
        (result(vec![v("ALT", "1", "U/L", "", ""); 81], None), "values", "at most 80"),
    ] {
        let e = c.store().record_lab_result(&c.nurse, &new).unwrap_err();
        assert_eq!(e.field(), Some(field), "{e}");
        assert!(e.to_string().contains(says), "{e}");
    }
    assert_eq!(count(c.store(), "journal"), journal_before, "nothing was written");
    assert_eq!(count(c.store(), "lab_result"), 0);
}

#[test]
fn only_the_clinical_team_requests_and_enters_results_and_reception_reads_none() {
    let c = clinic();
    let (_, request) = bloods(&c);
    let manager = login_as(c.store(), &c.r.admin, "m.manager", Role::Manager);
    let test = test_named(c.store(), &c.vet, "Urinalysis");
    let new = NewLabRequest {
        patient_id: c.r.dog.id,
        consultation_id: None,
        test_id: test.id,
        sample_type: String::new(),
        lab: String::new(),
        sample_taken_by: None,
        sample_taken_at: None,
        note: String::new(),
    };
    let entered = NewLabResult { request_id: request.id, values: results(), comment: String::new(), file: None };
    for who in [&c.r.desk, &manager] {
        assert_eq!(c.store().request_lab_work(who, &new).unwrap_err().code(), ErrorCode::Forbidden);
        assert_eq!(c.store().record_lab_result(who, &entered).unwrap_err().code(), ErrorCode::Forbidden);
    }
    assert_eq!(c.store().lab_awaited(&c.r.desk, false).unwrap_err().code(), ErrorCode::Forbidden);
    assert_eq!(c.store().lab_request(&c.r.desk, request.id).unwrap_err().code(), ErrorCode::Forbidden);
    c.store().request_lab_work(&c.nurse, &new).unwrap();

    // The list of tests: vets and managers change it; nurses and reception do not.
    let input = LabTestInput {
        id: None,
        name: "Bile acids".into(),
        sample_type: "Serum (pre and post feeding)".into(),
        lab: "Axiom".into(),
        in_house: false,
        turnaround_hours: 72,
        active: true,
    };
    for who in [&c.r.desk, &c.nurse] {
        assert_eq!(c.store().save_lab_test(who, &input).unwrap_err().code(), ErrorCode::Forbidden);
    }
    let added = c.store().save_lab_test(&manager, &input).unwrap();
    assert_eq!(
        (added.name.as_str(), added.sample_type.as_str(), added.lab.as_str(), added.turnaround_hours, added.active),
        ("Bile acids", "Serum (pre and post feeding)", "Axiom", 72, true)
    );
    let again = c.store().save_lab_test(&c.vet, &input).unwrap_err();
    assert_eq!(again.field(), Some("name"), "{again}");
    let off =
        c.store().save_lab_test(&c.vet, &LabTestInput { id: Some(added.id), active: false, ..input.clone() }).unwrap();
    assert!(!off.active);
    assert!(c.store().lab_tests(&c.vet, false).unwrap().iter().all(|t| t.id != added.id), "off the list");
    assert!(c.store().lab_tests(&c.vet, true).unwrap().iter().any(|t| t.id == added.id), "still known");
    let e = c.store().request_lab_work(&c.vet, &NewLabRequest { test_id: added.id, ..new }).unwrap_err();
    assert!(e.to_string().contains("no longer on the practice's list"), "{e}");
}

#[test]
fn a_result_entered_in_error_is_voided_and_the_request_is_awaited_again() {
    let c = clinic();
    let (_, request) = bloods(&c);
    let result = c
        .store()
        .record_lab_result(
            &c.nurse,
            &NewLabResult { request_id: request.id, values: results(), comment: String::new(), file: None },
        )
        .unwrap();
    let e = c.store().void_record(&c.vet, Voidable::LabRequest, request.id, "Sample lost").unwrap_err();
    assert!(e.to_string().contains("void the result first"), "{e}");
    c.store().void_record(&c.nurse, Voidable::LabResult, result.id, "Entered for the wrong animal").unwrap();
    let awaited = c.store().lab_awaited(&c.vet, true).unwrap();
    assert_eq!(awaited.requests.iter().map(|a| a.request.id).collect::<Vec<_>>(), vec![request.id]);
    let read = c.store().lab_request(&c.vet, request.id).unwrap();
    assert_eq!(read.results[0].void_reason.as_deref(), Some("Entered for the wrong animal"), "the result stays, void");
    c.store().void_record(&c.vet, Voidable::LabRequest, request.id, "Sample lost").unwrap();
    assert!(c.store().lab_awaited(&c.vet, true).unwrap().requests.is_empty(), "a void request is not awaited");
    let e = c
        .store()
        .record_lab_result(
            &c.nurse,
            &NewLabResult { request_id: request.id, values: results(), comment: String::new(), file: None },
        )
        .unwrap_err();
    assert_eq!(e.code(), ErrorCode::Conflict, "{e}");

    // The database itself refuses to change or delete them.
    let raw = raw_connection(&c.r.dir);
    for sql in [
        "UPDATE lab_result SET measurements = '[]'",
        "DELETE FROM lab_result",
        "UPDATE lab_request SET test_name = 'x'",
        "DELETE FROM lab_request",
    ] {
        let e = raw.execute_batch(sql).unwrap_err().to_string();
        assert!(e.contains("cannot be"), "{sql}: {e}");
    }
}

#[test]
fn lab_work_travels_to_another_pc_whole_and_counts_in_the_backlog() {
    let c = clinic();
    let manager = login_as(c.store(), &c.r.admin, "m.manager", Role::Manager);
    c.store().set_outage_began(&manager, Some(local("2026-03-29 09:00"))).unwrap();
    let (_, request) = bloods(&c);
    let pdf = b"%PDF-1.4\n% travels\n".to_vec();
    c.store()
        .record_lab_result(
            &c.nurse,
            &NewLabResult {
                request_id: request.id,
                values: results(),
                comment: "Repeat in 4 weeks".into(),
                file: Some(LabFile { name: "bloods.pdf".into(), bytes: pdf.clone() }),
            },
        )
        .unwrap();

    let dir = tempfile::TempDir::new().unwrap();
    let other = Store::open(StoreConfig::in_dir(dir.path()), clock()).unwrap();
    let changes = c.store().changes_missing_from(&other.marks().unwrap(), 100_000).unwrap();
    other.apply_changes(&changes).unwrap();
    let table = |s: &Store, t: &str| -> Vec<String> {
        s.dump().unwrap().lines().filter(|l| l.starts_with(&format!("{t} "))).map(String::from).collect()
    };
    for t in ["lab_test", "lab_request", "lab_result"] {
        assert!(!table(c.store(), t).is_empty(), "{t} is in the dump");
        assert_eq!(table(&other, t), table(c.store(), t), "{t} arrived whole");
    }
    let vet = other.login("v.herriot", PASSWORD).unwrap();
    let read = other.lab_request(&vet, request.id).unwrap();
    assert_eq!(read.results[0].values[0].flag, Some(LabFlag::High));
    let result_id = read.results[0].id;
    assert_eq!(other.lab_attachment(&vet, result_id).unwrap().bytes, pdf);

    let backlog = c.store().backlog(&manager).unwrap();
    let kinds: Vec<(&str, u32)> = backlog.totals.iter().map(|(k, made, _)| (k.as_str(), *made)).collect();
    assert!(kinds.contains(&("Lab requests", 1)), "{kinds:?}");
    assert!(kinds.contains(&("Lab results", 1)), "{kinds:?}");
    let ledger = c.store().ledger(&manager, &lifeboat_core::ledger::LedgerFilter::default()).unwrap();
    let lines: Vec<&str> =
        ledger.entries.iter().filter(|e| e.kind.starts_with("Lab")).map(|e| e.summary.as_str()).collect();
    assert_eq!(
        lines,
        vec![
            "29/03/2026 09:20 Lab request: Biochemistry profile (in house) (Serum or heparin plasma, In house)",
            "Lab result: Biochemistry profile (in house): ALT 250 U/L H; Creatinine 98 µmol/L; Glucose 5.2 mmol/L, with the lab's file bloods.pdf",
        ]
    );
}

#[test]
fn a_void_consultation_takes_no_requests_and_one_with_requests_is_not_voided_under_them() {
    let c = clinic();
    let (consultation, request) = bloods(&c);
    let e = c.store().void_record(&c.vet, Voidable::Consultation, consultation, "Wrong animal").unwrap_err();
    assert!(e.to_string().contains("has lab requests: void those first"), "{e}");
    c.store().void_record(&c.vet, Voidable::LabRequest, request.id, "Wrong animal").unwrap();
    c.store().void_record(&c.vet, Voidable::Consultation, consultation, "Wrong animal").unwrap();
    let test = test_named(c.store(), &c.vet, "Urinalysis");
    let new = NewLabRequest {
        patient_id: c.r.dog.id,
        consultation_id: Some(consultation),
        test_id: test.id,
        sample_type: String::new(),
        lab: String::new(),
        sample_taken_by: None,
        sample_taken_at: None,
        note: String::new(),
    };
    let e = c.store().request_lab_work(&c.vet, &new).unwrap_err();
    assert_eq!(e.field(), Some("consultation_id"), "{e}");
    // Only a vet or a nurse takes a sample.
    let e = c
        .store()
        .request_lab_work(
            &c.vet,
            &NewLabRequest { consultation_id: None, sample_taken_by: Some(c.r.desk.staff_id), ..new },
        )
        .unwrap_err();
    assert!(e.to_string().contains("is not a vet or a nurse"), "{e}");
}

#[test]
fn saving_a_test_unchanged_records_nothing_and_a_change_records_only_what_changed() {
    let c = clinic();
    let test = test_named(c.store(), &c.vet, "Total T4");
    let input = LabTestInput {
        id: Some(test.id),
        name: test.name.clone(),
        sample_type: test.sample_type.clone(),
        lab: test.lab.clone(),
        in_house: test.in_house,
        turnaround_hours: test.turnaround_hours,
        active: true,
    };
    let before = count(c.store(), "journal");
    assert_eq!(c.store().save_lab_test(&c.vet, &input).unwrap(), test);
    assert_eq!(count(c.store(), "journal"), before, "nothing changed, nothing recorded");
    let changed =
        c.store().save_lab_test(&c.vet, &LabTestInput { lab: "Axiom".into(), turnaround_hours: 72, ..input }).unwrap();
    assert_eq!((changed.lab.as_str(), changed.turnaround_hours), ("Axiom", 72));
    let payload: String = c
        .store()
        .read(|conn| {
            Ok(conn.query_row(
                "SELECT payload FROM journal WHERE entity = 'lab_test' AND kind = 'update' ORDER BY seq DESC LIMIT 1",
                [],
                |r| r.get(0),
            )?)
        })
        .unwrap();
    let payload: serde_json::Value = serde_json::from_str(&payload).unwrap();
    assert_eq!(payload, serde_json::json!({ "lab": "Axiom", "turnaround_hours": 72 }));
}

/// A result entered on a second PC may reach a third before the request made on the first: it waits,
/// and is in place once the request comes. A change to the list of tests travels too.
#[test]
fn a_result_that_arrives_before_its_request_waits_for_it() {
    let c = clinic();
    let pc = || {
        let dir = tempfile::TempDir::new().unwrap();
        let store = Store::open(StoreConfig::in_dir(dir.path()), clock()).unwrap();
        (dir, store)
    };
    let ((_b_dir, b), (_c_dir, third)) = (pc(), pc());
    let (_, request) = bloods(&c);
    let test = test_named(c.store(), &c.vet, "Total T4");
    c.store()
        .save_lab_test(
            &c.vet,
            &LabTestInput {
                id: Some(test.id),
                name: test.name.clone(),
                sample_type: test.sample_type.clone(),
                lab: "Axiom".into(),
                in_house: false,
                turnaround_hours: 72,
                active: true,
            },
        )
        .unwrap();
    b.apply_changes(&c.store().changes_missing_from(&b.marks().unwrap(), 100_000).unwrap()).unwrap();
    let nurse = b.login("n.nightingale", PASSWORD).unwrap();
    let result = b
        .record_lab_result(
            &nurse,
            &NewLabResult { request_id: request.id, values: results(), comment: String::new(), file: None },
        )
        .unwrap();

    // The third PC hears from the second first: only the second PC's own changes.
    let from_b: Vec<_> = b
        .changes_missing_from(&third.marks().unwrap(), 100_000)
        .unwrap()
        .into_iter()
        .filter(|ch| ch.node_id == b.node_id())
        .collect();
    assert!(from_b.iter().any(|ch| ch.entity == "lab_result"));
    third.apply_changes(&from_b).unwrap();
    assert_eq!(count(&third, "lab_result"), 0, "the result waits for its request");
    third.apply_changes(&c.store().changes_missing_from(&third.marks().unwrap(), 100_000).unwrap()).unwrap();
    let vet = third.login("v.herriot", PASSWORD).unwrap();
    let read = third.lab_request(&vet, request.id).unwrap();
    assert_eq!(
        read.results.iter().map(|r| r.id).collect::<Vec<_>>(),
        vec![result.id],
        "in place once the request came"
    );
    assert_eq!(read.results[0].values[0].flag, Some(LabFlag::High));
    let t4 = third.lab_tests(&vet, false).unwrap().into_iter().find(|t| t.id == test.id).unwrap();
    assert_eq!((t4.lab.as_str(), t4.turnaround_hours), ("Axiom", 72), "the change to the list arrived");
}

/// Entering the second result of a test starts from the first one's names, units and ranges (an
/// animal of the same species first), the values left to type.
#[test]
fn a_result_starts_from_the_last_result_of_the_same_test() {
    let c = clinic();
    let (_, first) = bloods(&c);
    assert!(c.store().lab_result_template(&c.nurse, first.id).unwrap().is_empty(), "nothing to start from yet");
    c.store()
        .record_lab_result(
            &c.nurse,
            &NewLabResult { request_id: first.id, values: results(), comment: String::new(), file: None },
        )
        .unwrap();
    let test = test_named(c.store(), &c.vet, "Biochemistry profile (in house)");
    let second = c
        .store()
        .request_lab_work(
            &c.vet,
            &NewLabRequest {
                patient_id: c.r.dog.id,
                consultation_id: None,
                test_id: test.id,
                sample_type: String::new(),
                lab: String::new(),
                sample_taken_by: None,
                sample_taken_at: None,
                note: String::new(),
            },
        )
        .unwrap();
    assert_eq!(
        c.store().lab_result_template(&c.nurse, second.id).unwrap(),
        vec![
            v("ALT", "", "U/L", "10", "125"),
            v("Creatinine", "", "µmol/L", "44", "159"),
            v("Glucose", "", "mmol/L", "4.1", "7.9"),
        ]
    );
    assert_eq!(c.store().lab_result_template(&c.r.desk, second.id).unwrap_err().code(), ErrorCode::Forbidden);
}
