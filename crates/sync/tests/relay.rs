//! Two PCs and a practice relay on real TLS sockets: pairing, a booking made on one appearing on the
//! other, working alone while the relay is away, and a double booking made apart resolved once.

mod common;

use common::*;
use lifeboat_core::{AppointmentKind, NewAppointment, NewClient, NewPatient, Species};
use lifeboat_sync::engine::{pair, sync_once, SyncOptions};
use lifeboat_sync::error::SyncError;

fn quiet(_: lifeboat_sync::engine::Progress) {}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_booking_on_one_pc_appears_on_the_other() {
    let relay = Relay::start().await;
    let (a, admin) = first_pc();
    let practice = practice_id(&a.store);
    let code = relay.code(practice, "Riverside Vets").await;
    let peer_a =
        pair(&a.store, Some(admin.clone()), "Practice relay", &relay.address(), &code, "Reception PC").await.unwrap();
    sync_once(&a.store, peer_a.id, &SyncOptions::verifying(), &quiet).await.unwrap();

    // A new PC joins with a code of its own, before anyone can log in on it.
    let b = pc();
    let code = relay.code(practice, "Riverside Vets").await;
    let peer_b = pair(&b.store, None, "Practice relay", &relay.address(), &code, "Consult room PC").await.unwrap();
    let report = sync_once(&b.store, peer_b.id, &SyncOptions::verifying(), &quiet).await.unwrap();
    assert!(report.pulled > 0 && report.verify_differing.is_empty(), "{report:?}");
    assert_eq!(a.store.dump().unwrap(), b.store.dump().unwrap(), "the new PC holds exactly the practice");

    let desk = b.store.login("desk", PASSWORD).unwrap();
    let client = NewClient { last_name: "Quillfeather".into(), phone: "07700 900461".into(), ..Default::default() };
    let registered =
        b.store.register_client_with_patient(&desk, &client, Some(&NewPatient::new("Biscuit", Species::Dog))).unwrap();
    let vet = b.store.login("v.one", PASSWORD).unwrap();
    let booking = NewAppointment {
        clinician_id: vet.staff_id,
        room: "Consult 1".into(),
        start: chrono::NaiveDate::from_ymd_opt(2026, 3, 31).unwrap().and_hms_opt(9, 0, 0).unwrap(),
        minutes: 15,
        kind: AppointmentKind::Consultation,
        reason: "Limping".into(),
        patient_id: registered.patient.as_ref().unwrap().id,
        client_id: registered.client.id,
        notes: String::new(),
        confirm_outside_hours: true,
    };
    let booked = b.store.book_appointment(&desk, &booking).unwrap();
    sync_once(&b.store, peer_b.id, &SyncOptions::default(), &quiet).await.unwrap();
    sync_once(&a.store, peer_a.id, &SyncOptions::default(), &quiet).await.unwrap();
    let seen = a.store.appointment(&admin, booked.id).unwrap();
    assert_eq!(seen, booked, "the same booking, field for field, on the other PC");
    assert_eq!(a.store.dump().unwrap(), b.store.dump().unwrap());
    assert!(a.store.sync_status().unwrap().last_sync.is_some());
    assert_eq!(a.store.sync_status().unwrap().pending_changes, 0);

    // The relay goes away: each PC works alone and says so in plain words.
    relay.running.kill().await;
    let err = sync_once(&a.store, peer_a.id, &SyncOptions::default(), &quiet).await.unwrap_err();
    assert!(matches!(err, SyncError::Unreachable(_)), "{err:?}");
    assert!(err.to_string().contains("cannot be reached"), "{err}");
    let status = a.store.sync_status().unwrap();
    assert_eq!(status.last_error.as_deref(), Some(err.to_string().as_str()));
    a.store.set_appointment_status(&admin, booked.id, lifeboat_core::AppointmentStatus::Arrived).unwrap();
    assert_eq!(a.store.sync_status().unwrap().pending_changes, 1, "one change waits for the relay");
}
