//! Duplicates: pairs found with their reasons; linked, dismissed or merged by a manager; a merge is
//! journaled, keeps every clinical record, keeps both ids resolvable, and syncs.

mod common;

use common::{clinic, login_as, Clinic};
use lifeboat_core::clinical::consultation::StartConsultation;
use lifeboat_core::reception::duplicates::{Decision, DuplicatePair};
use lifeboat_core::{ErrorCode, NewClient, NewPatient, Role, Session, Species};
use uuid::Uuid;

struct Found {
    c: Clinic,
    manager: Session,
    /// "Agatha Quilfeather": Agatha registered again at the desk, with a typo and her email.
    typo: Uuid,
    /// Bert, who shares Agatha's phone and surname and postcode (her husband).
    bert: Uuid,
    /// A second record of Biscuit, under Bert.
    biscuit2: Uuid,
}

fn found() -> Found {
    let c = clinic();
    let manager = login_as(c.store(), &c.r.admin, "m.manager", Role::Manager);
    let desk = &c.r.desk;
    let client = |first: &str, last: &str, phone: &str, email: &str| NewClient {
        first_name: first.into(),
        last_name: last.into(),
        address_line1: "3 Orchard Row".into(),
        town: "Exeter".into(),
        postcode: "EX4 1AB".into(),
        phone: phone.into(),
        email: email.into(),
        ..Default::default()
    };
    let typo = c
        .store()
        .register_client(desk, &client("Agatha", "Quilfeather", "07700 900999", "aggie@example.co.uk"))
        .unwrap();
    let bert = c.store().register_client(desk, &client("Bert", "Quillfeather", "07700 900461", "")).unwrap();
    let mut dog = NewPatient::new("biscuit", Species::Dog);
    dog.colour = "Wheaten".into();
    let biscuit2 = c.store().register_patient(desk, bert.id, &dog).unwrap();
    Found { c, manager, typo: typo.id, bert: bert.id, biscuit2: biscuit2.id }
}

fn described(p: &DuplicatePair) -> (String, String, String, Vec<String>) {
    (p.kind.clone(), p.first.name.clone(), p.second.name.clone(), p.reasons.clone())
}

#[test]
fn pairs_are_found_with_their_reasons_strongest_first_and_only_managers_see_them() {
    let f = found();
    let d = f.c.store().duplicates(&f.manager, 100).unwrap();
    let mut shown: Vec<_> = d.pairs.iter().map(described).collect();
    // The order of the two records of a pair is by id: compare as sets of names.
    for s in &mut shown {
        if s.1 > s.2 {
            std::mem::swap(&mut s.1, &mut s.2);
        }
    }
    assert_eq!(
        shown,
        vec![
            (
                "client".to_string(),
                "Bert Quillfeather".to_string(),
                "Mrs Agatha Quillfeather".to_string(),
                vec![
                    "same phone number 07700 900461".to_string(),
                    "same surname and postcode (Quillfeather, EX4 1AB)".to_string()
                ]
            ),
            (
                "patient".to_string(),
                "Biscuit".to_string(),
                "biscuit".to_string(),
                vec!["same name Biscuit, same species and owner".to_string()]
            ),
            (
                "client".to_string(),
                "Agatha Quilfeather".to_string(),
                "Mrs Agatha Quillfeather".to_string(),
                vec!["similar names at EX4 1AB: Agatha Quillfeather and Agatha Quilfeather".to_string()]
            ),
        ]
    );
    assert_eq!((d.found, d.decided), (3, 0));
    let pair = &d.pairs[2];
    assert!(pair.first.made_here && pair.second.made_here);
    assert!(pair.first.detail.contains("3 Orchard Row, EX4 1AB"), "{:?}", pair.first);
    for s in [&f.c.r.desk, &f.c.vet] {
        assert_eq!(f.c.store().duplicates(s, 100).unwrap_err().code(), ErrorCode::Forbidden);
        assert_eq!(f.c.store().merge_clients(s, f.c.r.client.id, f.typo).unwrap_err().code(), ErrorCode::Forbidden);
    }
}

#[test]
fn a_pair_decided_the_same_or_different_is_not_suggested_again() {
    let f = found();
    let agatha = f.c.r.client.id;
    f.c.store().decide_duplicates(&f.manager, "client", f.bert, agatha, Decision::Different).unwrap();
    f.c.store().decide_duplicates(&f.manager, "patient", f.c.r.dog.id, f.biscuit2, Decision::Same).unwrap();
    let d = f.c.store().duplicates(&f.manager, 100).unwrap();
    assert_eq!((d.found, d.decided), (1, 2));
    // A decision is never changed or deleted behind the manager's back.
    let raw = common::raw_connection(&f.c.r.dir);
    let refused = raw.execute("UPDATE duplicate_decision SET decision = 'merged'", []).unwrap_err();
    assert!(refused.to_string().contains("cannot be changed"), "{refused}");
    let refused = raw.execute("DELETE FROM duplicate_decision", []).unwrap_err();
    assert!(refused.to_string().contains("cannot be deleted"), "{refused}");
    assert_eq!(d.pairs[0].reasons, vec!["similar names at EX4 1AB: Agatha Quillfeather and Agatha Quilfeather"]);
    let refused = f.c.store().decide_duplicates(&f.manager, "client", agatha, agatha, Decision::Same).unwrap_err();
    assert_eq!(refused.to_string(), "second: is the same record as the first");
}

#[test]
fn merging_a_client_keeps_both_ids_resolvable_moves_animals_and_bookings_and_fills_what_was_empty() {
    let f = found();
    let store = f.c.store();
    let agatha = f.c.r.client.id;
    // The typo record has its own animal and a booking to come.
    let cat = store.register_patient(&f.c.r.desk, f.typo, &NewPatient::new("Marmalade", Species::Cat)).unwrap();
    let mut booking = f.c.r.booking("2026-03-30 11:00", 15);
    (booking.patient_id, booking.client_id) = (cat.id, f.typo);
    let booked = store.book_appointment(&f.c.r.desk, &booking).unwrap();

    let kept = store.merge_clients(&f.manager, agatha, f.typo).unwrap();
    assert_eq!(
        (kept.first_name.as_str(), kept.last_name.as_str()),
        ("Agatha", "Quillfeather"),
        "the kept record's name stays"
    );
    assert_eq!(kept.phone, "07700 900461");
    assert_eq!(kept.phone_alt, "07700 900999", "the other's number, where hers was empty");
    assert_eq!(kept.email, "agatha@example.co.uk", "her own email stays");
    let merged = store.client(&f.manager, f.typo).unwrap();
    assert_eq!(merged.merged_into, Some(agatha));
    assert_eq!(store.current_client_id(&f.manager, f.typo).unwrap(), agatha, "the old id leads to the kept record");
    let page = store.client_record(&f.manager, agatha).unwrap();
    let animals: Vec<&str> = page.patients.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(animals, vec!["Biscuit", "Marmalade"]);
    let moved = store.appointment(&f.manager, booked.id).unwrap();
    assert_eq!(moved.client_id, agatha, "the booking to come is hers now");
    // Search finds the kept record only.
    let hits = store.search(&f.c.r.desk, "Quilfeather", 10).unwrap();
    assert!(hits.iter().all(|h| h.client_id != f.typo), "{hits:?}");
    // Merged is a decision: the pair is not suggested again; merging again is refused.
    let d = store.duplicates(&f.manager, 100).unwrap();
    assert!(d.pairs.iter().all(|p| p.first.id != f.typo && p.second.id != f.typo));
    let again = store.merge_clients(&f.manager, agatha, f.typo).unwrap_err();
    assert_eq!(again.code(), ErrorCode::Conflict);
    // Every step journaled and audited under the merge permission; the chain holds.
    let audited: i64 = store
        .read(|c| Ok(c.query_row("SELECT count(*) FROM audit WHERE action = 'records.merge'", [], |r| r.get(0))?))
        .unwrap();
    // Agatha updated, Marmalade's new owner, the booking moved, the typo marked merged, the decision.
    assert_eq!(audited, 5);
    assert!(store.verify_audit().unwrap().is_intact());
}

#[test]
fn merging_an_animal_keeps_its_clinical_records_in_the_kept_animals_history() {
    let f = found();
    let store = f.c.store();
    let biscuit = f.c.r.dog.id;
    // The second record has a consultation of its own.
    let start = StartConsultation { appointment_id: None, patient_id: Some(f.biscuit2) };
    let consultation = store.start_consultation(&f.c.vet, &start).unwrap();
    let refused = store.merge_patients(&f.manager, biscuit, biscuit).unwrap_err();
    assert_eq!(refused.to_string(), "merge: is the animal to keep: choose the other record");
    let cat = store.register_patient(&f.c.r.desk, f.bert, &NewPatient::new("Biscuit", Species::Cat)).unwrap();
    let refused = store.merge_patients(&f.manager, biscuit, cat.id).unwrap_err();
    assert_eq!(refused.to_string(), "merge: Biscuit is a Dog and Biscuit a Cat: only records of one animal are merged");

    let kept = store.merge_patients(&f.manager, biscuit, f.biscuit2).unwrap();
    assert_eq!(kept.colour, "Wheaten", "filled from the other record");
    assert_eq!(kept.microchip.as_deref(), Some("826098100004321"), "its own microchip stays");
    assert_eq!(kept.owner_ids, vec![f.c.r.client.id, f.bert], "Bert is an owner now");
    let history = store.patient_history(&f.c.vet, biscuit).unwrap();
    assert!(
        history.entries.iter().any(|e| matches!(e, lifeboat_core::views::history::HistoryEntry::Consultation { consultation: c, .. } if c.id == consultation.id)),
        "the merged record's consultation is in the kept animal's history"
    );
    let consultation_now = store.consultation(&f.c.vet, consultation.id).unwrap();
    assert_eq!(consultation_now.patient_id, f.biscuit2, "the clinical record itself is not changed");
    assert_eq!(store.current_patient_id(&f.manager, f.biscuit2).unwrap(), biscuit);
    let berts: Vec<String> =
        store.client_record(&f.manager, f.bert).unwrap().patients.into_iter().map(|p| p.name).collect();
    assert_eq!(
        berts,
        vec!["Biscuit", "Biscuit"],
        "his dog (the kept record) and his cat; the merged record is not listed"
    );
}

#[test]
fn a_merge_travels_to_the_other_pcs_and_both_read_the_same() {
    let f = found();
    f.c.store().merge_clients(&f.manager, f.c.r.client.id, f.typo).unwrap();
    f.c.store().decide_duplicates(&f.manager, "client", f.bert, f.c.r.client.id, Decision::Same).unwrap();
    let (_dir, other) = common::store();
    let changes = f.c.store().changes_missing_from(&other.marks().unwrap(), 100_000).unwrap();
    let applied = other.apply_changes(&changes).unwrap();
    assert_eq!((applied.quarantined, applied.conflicts), (0, 0));
    assert_eq!(f.c.store().dump().unwrap(), other.dump().unwrap());
    let manager = other.login("m.manager", common::PASSWORD).unwrap();
    assert_eq!(other.current_client_id(&manager, f.typo).unwrap(), f.c.r.client.id);
    assert_eq!(other.duplicates(&manager, 100).unwrap(), f.c.store().duplicates(&f.manager, 100).unwrap());
}

#[test]
fn a_merge_of_a_merge_keeps_every_record_reachable_and_a_dead_animal_is_not_merged_into_a_living_one() {
    let f = found();
    let store = f.c.store();
    let biscuit = f.c.r.dog.id;
    let third = store.register_patient(&f.c.r.desk, f.bert, &NewPatient::new("Biscuit", Species::Dog)).unwrap();
    let start = StartConsultation { appointment_id: None, patient_id: Some(f.biscuit2) };
    let consultation = store.start_consultation(&f.c.vet, &start).unwrap();
    store.merge_patients(&f.manager, third.id, f.biscuit2).unwrap();
    store.merge_patients(&f.manager, biscuit, third.id).unwrap();
    assert_eq!(store.patient(&f.manager, f.biscuit2).unwrap().merged_into, Some(biscuit), "re-pointed, not chained");
    let history = store.patient_history(&f.c.vet, biscuit).unwrap();
    assert!(history.entries.iter().any(|e| matches!(e, lifeboat_core::views::history::HistoryEntry::Consultation { consultation: c, .. } if c.id == consultation.id)));

    let old = store.register_patient(&f.c.r.desk, f.c.r.client.id, &NewPatient::new("Rex", Species::Dog)).unwrap();
    store.record_death(&f.c.vet, old.id, chrono::NaiveDate::from_ymd_opt(2026, 3, 1).unwrap()).unwrap();
    let puppy = store.register_patient(&f.c.r.desk, f.c.r.client.id, &NewPatient::new("Rex", Species::Dog)).unwrap();
    let refused = store.merge_patients(&f.manager, puppy.id, old.id).unwrap_err();
    assert_eq!(
        refused.to_string(),
        "merge: Rex is recorded as deceased and Rex is not: two animals, or a death to record first; they are not merged"
    );
}
