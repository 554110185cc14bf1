//! Reception: clients, patients, search, booking and the day book, through the real Store.

mod common;

use common::*;
use lifeboat_core::store::journal;
use lifeboat_core::{AppointmentMove, AppointmentStatus as S, NewClient, NewPatient, Species};

#[test]
fn registering_a_client_normalises_and_checks_each_field() {
    let r = reception();
    assert_eq!((r.client.postcode.as_str(), r.client.phone.as_str()), ("EX4 1AB", "07700 900461"));
    type Spoil = fn(&mut NewClient);
    let cases: [(Spoil, &str, &str); 5] = [
        (|c| c.last_name = " ".into(), "last_name", "is required"),
        (|c| c.postcode = "EX4".into(), "postcode", "not a UK postcode"),
        (|c| c.phone = "01632 96".into(), "phone", "10 or 11 digits"),
        (|c| c.email = "agatha.example.com".into(), "email", "not an email address"),
        (
            |c| {
                c.phone.clear();
                c.email.clear();
            },
            "phone",
            "telephone number or an email",
        ),
    ];
    for (spoil, field, words) in cases {
        let mut c = NewClient {
            last_name: "Smith".into(),
            phone: "01632 960000".into(),
            email: "s@example.com".into(),
            ..Default::default()
        };
        spoil(&mut c);
        let err = r.store.register_client(&r.desk, &c).unwrap_err();
        assert_eq!(err.field(), Some(field), "{err}");
        assert!(err.to_string().contains(words), "{err}");
    }
}

#[test]
fn patients_are_checked_and_may_have_several_owners() {
    let r = reception();
    assert_eq!(r.dog.alerts, ["Bites"]);
    let mut same_chip = NewPatient::new("Other", Species::Cat);
    same_chip.microchip = "826 0981 0000 4321".into();
    let err = r.store.register_patient(&r.desk, r.client.id, &same_chip).unwrap_err();
    assert!(err.code().as_str() == "conflict" && err.to_string().contains("Biscuit"), "{err}");

    let mut odd = NewPatient::new("Spike", Species::Other);
    assert_eq!(r.store.register_patient(&r.desk, r.client.id, &odd).unwrap_err().field(), Some("species_other"));
    odd.species_other = "Hedgehog".into();
    odd.estimated_age_years = Some(3);
    let spike = r.store.register_patient(&r.desk, r.client.id, &odd).unwrap();
    assert!(spike.dob_estimated && spike.date_of_birth.is_some());

    let partner = r
        .store
        .register_client(
            &r.desk,
            &NewClient { last_name: "Pennyworth".into(), phone: "07700 900999".into(), ..Default::default() },
        )
        .unwrap();
    let biscuit = r.store.add_patient_owner(&r.desk, r.dog.id, partner.id).unwrap();
    let mut owners = biscuit.owner_ids.clone();
    owners.sort();
    let mut expected = vec![r.client.id, partner.id];
    expected.sort();
    assert_eq!(owners, expected);
    let found = r.store.search(&r.desk, "pennyworth biscuit", 10).unwrap();
    assert_eq!(found.len(), 1, "the second owner finds the dog");
}

#[test]
fn search_finds_clients_however_reception_types() {
    let r = reception();
    for i in 0..30 {
        let c = NewClient {
            last_name: format!("Filler{i}"),
            first_name: "Sam".into(),
            phone: format!("01632 960{i:03}"),
            postcode: "TA1 1AA".into(),
            ..Default::default()
        };
        let c = r.store.register_client(&r.desk, &c).unwrap();
        r.store.register_patient(&r.desk, c.id, &NewPatient::new(&format!("Pet{i}"), Species::Cat)).unwrap();
    }
    let cases = [
        "Quillfeather",
        "quill",
        "agatha quill",
        "biscuit",
        "900461",
        "0770 0900 461",
        "+44 7700 900461",
        "ex41ab",
        "EX4 1AB",
        "agatha@example",
        "826098100004321",
        "Qu",
    ];
    for query in cases {
        let hits = r.store.search(&r.desk, query, 10).unwrap();
        assert_eq!(
            hits.first().map(|h| h.client_id),
            Some(r.client.id),
            "{query:?} gave {:?}",
            hits.iter().map(|h| &h.client_name).collect::<Vec<_>>()
        );
    }
    let hits = r.store.search(&r.desk, "biscuit", 10).unwrap();
    assert!(hits[0].patients.iter().any(|p| p.name == "Biscuit" && p.matched && p.alerts == ["Bites"]));
    assert!(r.store.search(&r.desk, "zzzzz", 10).unwrap().is_empty());
    assert_eq!(r.store.search(&r.desk, "filler1", 50).unwrap().len(), 11, "Filler1 and Filler10..19");
    assert!(r.store.search(&r.desk, "\"quill* OR", 10).is_ok(), "search syntax typed by accident is just text");
    // Found by fuzzing (when the index was full-text): a NUL ended the query early. Control
    // characters (pasted from elsewhere) are spaces to search.
    let pasted = r.store.search(&r.desk, "agatha\0quill", 10).unwrap();
    assert_eq!(pasted.first().map(|h| h.client_id), Some(r.client.id));
    assert!(r.store.search(&r.desk, "77\u{1}2\0\0\0\0\0\0\0\u{c}", 10).is_ok());
}

#[test]
fn likely_duplicates_are_found_while_typing() {
    let r = reception();
    let cases = [
        (NewClient { phone: "+44 7700 900461".into(), ..Default::default() }, "same phone number"),
        (NewClient { email: "AGATHA@example.co.uk".into(), ..Default::default() }, "same email address"),
        (
            NewClient { last_name: "quillfeather".into(), postcode: "EX41AB".into(), ..Default::default() },
            "same surname and postcode",
        ),
    ];
    for (probe, reason) in cases {
        let found = r.store.likely_duplicate_clients(&r.desk, &probe).unwrap();
        assert_eq!(found.len(), 1, "{reason}");
        assert_eq!((found[0].client_id, found[0].reason.as_str()), (r.client.id, reason));
    }
    let stranger = NewClient { last_name: "Quillfeather".into(), postcode: "TA1 1AA".into(), ..Default::default() };
    assert!(r.store.likely_duplicate_clients(&r.desk, &stranger).unwrap().is_empty());
}

#[test]
fn a_booking_after_the_clocks_change_shows_at_the_time_booked() {
    let r = reception();
    let a = r.book("2026-03-30 09:00", 15).unwrap();
    assert_eq!(a.starts_at.to_rfc3339(), "2026-03-30T08:00:00+00:00", "stored in UTC");
    assert_eq!(a.start_local, local("2026-03-30 09:00"));
    assert_eq!(
        (a.clinician_name.as_str(), a.patient_name.as_str(), a.client_name.as_str()),
        ("James Herriot", "Biscuit", "Mrs A. Quillfeather")
    );
    let day = r.store.day_book(&r.desk, a.start_local.date()).unwrap();
    assert_eq!(day.appointments.len(), 1);
    assert_eq!(day.appointments[0].start_local.format("%H:%M").to_string(), "09:00");
    assert_eq!(day.clinicians.iter().map(|c| c.name.as_str()).collect::<Vec<_>>(), ["James Herriot"]);
}

#[test]
fn a_clinician_is_never_double_booked() {
    let r = reception();
    let first = r.book("2026-06-01 10:00", 20).unwrap();
    let err = r.book("2026-06-01 10:15", 15).unwrap_err();
    assert_eq!(err.code().as_str(), "conflict");
    let message = err.to_string();
    for words in ["James Herriot", "10:00 to 10:20", "Biscuit", "Quillfeather", "consultation"] {
        assert!(message.contains(words), "the refusal names the clash ({words}): {message}");
    }
    r.book("2026-06-01 10:20", 10).expect("back to back is fine");
    r.book("2026-06-01 09:45", 15).expect("ending as the other starts is fine");
    r.store.set_appointment_status(&r.desk, first.id, S::Cancelled).unwrap();
    r.book("2026-06-01 10:00", 20).expect("a cancelled appointment frees its time");
    let moved = r.store.move_appointment(
        &r.desk,
        first.id,
        &AppointmentMove {
            clinician_id: r.vet.id,
            room: String::new(),
            start: local("2026-06-01 11:00"),
            minutes: 15,
            confirm_outside_hours: false,
        },
    );
    assert_eq!(moved.unwrap_err().code().as_str(), "conflict", "a cancelled appointment is not moved");
}

#[test]
fn moving_checks_the_new_time_like_a_booking() {
    let r = reception();
    let a = r.book("2026-06-02 09:00", 15).unwrap();
    let b = r.book("2026-06-02 09:30", 15).unwrap();
    let to = |start: &str, confirm| AppointmentMove {
        clinician_id: r.vet.id,
        room: "Consult 2".into(),
        start: local(start),
        minutes: 15,
        confirm_outside_hours: confirm,
    };
    assert_eq!(
        r.store.move_appointment(&r.desk, a.id, &to("2026-06-02 09:20", false)).unwrap_err().code().as_str(),
        "conflict"
    );
    let moved = r
        .store
        .move_appointment(&r.desk, b.id, &to("2026-06-02 09:20", false))
        .expect("overlapping its own old time is fine");
    assert_eq!((moved.start_local, moved.room.as_str()), (local("2026-06-02 09:20"), "Consult 2"));
    let last = r.store.read(|c| journal::since(c, 0, 1000)).unwrap().pop().unwrap();
    assert_eq!(last.change.payload.as_object().unwrap().keys().collect::<Vec<_>>(), ["ends_at", "room", "starts_at"]);
}

#[test]
fn booking_outside_working_hours_needs_confirmation() {
    let r = reception();
    let cases = [
        ("2026-06-01 08:00", "08:30–18:00"),
        ("2026-06-01 17:50", "08:30–18:00"),
        ("2026-06-06 10:00", "does not work on Saturdays"),
    ];
    for (start, words) in cases {
        let err = r.book(start, 15).unwrap_err();
        assert_eq!(err.code().as_str(), "needs_confirmation", "{start}");
        assert!(err.to_string().contains(words), "{err}");
        let mut confirmed = r.booking(start, 15);
        confirmed.confirm_outside_hours = true;
        r.store.book_appointment(&r.desk, &confirmed).expect("booked once confirmed");
    }
}

#[test]
fn bookings_are_refused_with_the_field_named() {
    let r = reception();
    let other = r
        .store
        .register_client(
            &r.desk,
            &NewClient { last_name: "Other".into(), phone: "01632 960555".into(), ..Default::default() },
        )
        .unwrap();
    let nurse_desk = r.desk.clone();
    type Spoil = fn(&mut lifeboat_core::NewAppointment, &Reception);
    let cases: [(Spoil, &str); 4] = [
        (|a, _| a.minutes = 7, "minutes"),
        (|a, r| a.clinician_id = r.desk.staff_id, "clinician_id"),
        (|a, _| a.start = local("2026-03-29 01:30"), "start"),
        (|a, _| a.patient_id = uuid_of_nothing(), "patient_id"),
    ];
    for (spoil, field) in cases {
        let mut a = r.booking("2026-06-03 11:00", 15);
        spoil(&mut a, &r);
        let err = r.store.book_appointment(&nurse_desk, &a).unwrap_err();
        assert_eq!(err.field(), Some(field), "{err}");
    }
    let mut a = r.booking("2026-06-03 11:00", 15);
    a.client_id = other.id;
    assert_eq!(r.store.book_appointment(&r.desk, &a).unwrap_err().field(), Some("client_id"), "not the owner");
    r.store.record_death(&r.admin, r.dog.id, chrono::NaiveDate::from_ymd_opt(2026, 3, 1).unwrap()).unwrap();
    let err = r.book("2026-06-03 11:00", 15).unwrap_err();
    assert!(err.to_string().contains("deceased"), "{err}");
}

fn uuid_of_nothing() -> uuid::Uuid {
    uuid::Uuid::from_u128(42)
}

#[test]
fn the_status_flow_allows_only_its_steps() {
    let r = reception();
    let a = r.book("2026-06-04 09:00", 15).unwrap();
    let path = [
        (S::Arrived, true),
        (S::Done, false),
        (S::InConsult, true),
        (S::Done, true),
        (S::Cancelled, false),
        (S::InConsult, true),
    ];
    for (to, allowed) in path {
        let result = r.store.set_appointment_status(&r.desk, a.id, to);
        assert_eq!(result.is_ok(), allowed, "to {to:?}: {result:?}");
    }
    let b = r.book("2026-06-04 10:00", 15).unwrap();
    r.store.set_appointment_status(&r.desk, b.id, S::NoShow).unwrap();
    r.book("2026-06-04 10:00", 15).unwrap();
    let err = r.store.set_appointment_status(&r.desk, b.id, S::Booked).unwrap_err();
    assert_eq!(err.code().as_str(), "conflict", "undoing a no-show whose time was rebooked: {err}");
}

#[test]
fn every_reception_change_is_journaled_and_audited() {
    let r = reception();
    let before = count(&r.store, "journal");
    let a = r.book("2026-06-05 09:00", 15).unwrap();
    r.store.set_appointment_status(&r.desk, a.id, S::Arrived).unwrap();
    let entries = r.store.read(|c| journal::since(c, 0, 1000)).unwrap();
    let last: Vec<_> = entries[before as usize..]
        .iter()
        .map(|e| (e.change.entity.as_str(), e.change.kind.as_str(), e.change.actor_id))
        .collect();
    assert_eq!(last, [("appointment", "create", r.desk.staff_id), ("appointment", "update", r.desk.staff_id)]);
    let kinds: Vec<_> = entries.iter().map(|e| e.change.entity.as_str()).collect();
    for kind in ["client", "patient", "ownership", "working_hours"] {
        assert!(kinds.contains(&kind), "{kind} journaled");
    }
    assert!(r.store.verify_audit().unwrap().is_intact());
    let _ = &r.dir;
}

#[test]
fn only_managers_set_working_hours_but_everyone_books() {
    let r = reception();
    let err = r.store.set_working_hours(&r.desk, r.vet.id, &[]).unwrap_err();
    assert_eq!(err.code().as_str(), "forbidden");
    for role in [lifeboat_core::Role::Nurse, lifeboat_core::Role::Vet] {
        let s = login_as(&r.store, &r.admin, &format!("x.{role}"), role);
        let hits = r.store.search(&s, "biscuit", 5).unwrap();
        assert_eq!(hits.len(), 1, "{role} searches");
    }
}

#[test]
fn a_client_and_their_animal_are_saved_together_or_not_at_all() {
    let r = reception();
    let before = (count(&r.store, "client"), count(&r.store, "patient"), count(&r.store, "journal"));
    let client = NewClient { last_name: "Pennyworth".into(), phone: "07700 900777".into(), ..Default::default() };
    let mut cat = NewPatient::new("Marmalade", Species::Cat);
    cat.microchip = "12345".into();
    let err = r.store.register_client_with_patient(&r.desk, &client, Some(&cat)).unwrap_err();
    assert_eq!(err.field(), Some("patient.microchip"), "{err}");
    let mut bad_client = client.clone();
    bad_client.postcode = "nowhere".into();
    let err = r.store.register_client_with_patient(&r.desk, &bad_client, Some(&cat)).unwrap_err();
    assert_eq!(err.field(), Some("client.postcode"), "{err}");
    assert_eq!(
        (count(&r.store, "client"), count(&r.store, "patient"), count(&r.store, "journal")),
        before,
        "a refused animal leaves no client behind"
    );
    cat.microchip = "826 0981 0000 7777".into();
    let saved = r.store.register_client_with_patient(&r.desk, &client, Some(&cat)).unwrap();
    let patient = saved.patient.expect("the animal was registered");
    assert_eq!(patient.owner_ids, [saved.client.id]);
    assert_eq!(r.store.search(&r.desk, "marmalade", 5).unwrap()[0].client_id, saved.client.id);
}

/// A row altered behind Lifeboat's back is reported as damaged, never read as a default.
#[test]
fn a_damaged_row_is_reported_not_papered_over() {
    let r = reception();
    let cases = [
        ("UPDATE patient SET species = 'dragon'", "species"),
        ("UPDATE patient SET created_at = 'last Tuesday'", "created_at"),
        ("UPDATE ownership SET client_id = 'not-an-id'", "client_id"),
        ("UPDATE patient SET alerts = 'Bites'", "alerts"),
    ];
    for (sql, column) in cases {
        let r = reception();
        raw_connection(&r.dir).execute_batch(&format!("PRAGMA foreign_keys = OFF; {sql}")).unwrap();
        let err = r.store.patient(&r.desk, r.dog.id).unwrap_err();
        assert_eq!(err.code().as_str(), "damaged_record", "{sql}: {err}");
        assert!(err.to_string().contains(column), "{sql}: names the column: {err}");
    }
    raw_connection(&r.dir).execute_batch("UPDATE staff SET role = 'vet' WHERE username = 'desk'").unwrap();
    raw_connection(&r.dir)
        .execute_batch("PRAGMA ignore_check_constraints = 1; UPDATE staff SET role = 'surgeon' WHERE username = 'desk'")
        .unwrap();
    let err = r.store.list_staff(&r.admin).unwrap_err();
    assert_eq!(err.code().as_str(), "damaged_record", "{err}");
}

#[test]
fn an_appointment_may_end_at_midnight_but_not_after() {
    let r = common::reception();
    let mut late = r.booking("2026-03-30 23:30", 30);
    late.confirm_outside_hours = true;
    let booked = r.store.book_appointment(&r.desk, &late).unwrap();
    assert_eq!(booked.end_local.format("%d/%m/%Y %H:%M").to_string(), "31/03/2026 00:00");
    let mut later = r.booking("2026-03-30 23:00", 75);
    later.confirm_outside_hours = true;
    let refused = r.store.book_appointment(&r.desk, &later).unwrap_err();
    assert_eq!(refused.to_string(), "minutes: the appointment must end on the day it starts");
}
