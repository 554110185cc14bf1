//! The continuity pack's contents for the next working day, who may make it, when the evening pack is
//! due, and the packs kept on the PC.

mod common;

use chrono::{Duration, NaiveDate};
use common::*;
use lifeboat_core::clinical::consultation::{ConsultationDraft, StartConsultation};
use lifeboat_core::clinical::prescription::NewPrescription;
use lifeboat_core::clinical::vitals::Vitals;
use lifeboat_core::{ErrorCode, StaffUpdate};

fn monday() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 3, 30).unwrap()
}

/// The clinic's dog booked for Monday (the clock stands on Sunday 29 March 2026 at 18:30 BST; the vet
/// works Monday to Friday), weighed today, on a medicine and vaccinated.
fn booked_for_monday() -> Clinic {
    let c = clinic();
    let start = StartConsultation { appointment_id: Some(c.appointment.id), patient_id: None };
    let consultation = c.store().start_consultation(&c.vet, &start).unwrap();
    let draft = ConsultationDraft {
        vitals: Vitals { weight_kg: Some(12.4), ..Default::default() },
        subjective: "Limping".into(),
        ..Default::default()
    };
    c.store().save_consultation_draft(&c.vet, consultation.id, &draft).unwrap();
    for (product, directions) in
        [("Metacam 1.5", "Give 0.8 ml by mouth once daily for 7 days"), ("Nobivac DHPPi", "Annual booster")]
    {
        let product = c.product(product);
        c.store()
            .prescribe(
                &c.vet,
                &NewPrescription {
                    patient_id: Some(c.r.dog.id),
                    product_id: Some(product.id),
                    quantity: "1".into(),
                    dose: "1".into(),
                    route: "By mouth".into(),
                    frequency: "Once daily".into(),
                    duration: "7 days".into(),
                    directions: directions.into(),
                    ..Default::default()
                },
            )
            .unwrap();
    }
    c.r.book("2026-03-30 09:00", 15).unwrap();
    c.r.book("2026-03-30 11:00", 15).unwrap();
    // Sunday 18:30 BST: the evening slot has passed.
    c.r.clock_advance(Duration::hours(9));
    c
}

#[test]
fn the_pack_is_for_the_next_working_day_with_a_sheet_per_animal_booked() {
    let c = booked_for_monday();
    c.store()
        .update_staff(
            &c.r.admin,
            c.r.vet.id,
            &StaffUpdate { phone: Some("+44 (0)7700 900123".into()), ..Default::default() },
        )
        .unwrap();
    let pack = c.store().continuity_pack(&c.vet, None).unwrap();
    assert_eq!(
        pack.date,
        NaiveDate::from_ymd_opt(2026, 3, 30).unwrap(),
        "Monday: nobody works on Sunday evening's next day but Monday"
    );
    assert_eq!(pack.day.appointments.len(), 2);
    assert_eq!(pack.sheets.len(), 1, "one sheet for the dog booked twice");
    let sheet = &pack.sheets[0];
    assert_eq!(sheet.patient.id, c.r.dog.id);
    assert_eq!(sheet.patient.alerts, vec!["Bites".to_string()]);
    assert_eq!(sheet.bookings.len(), 2);
    assert_eq!(sheet.owners.iter().map(|o| o.id).collect::<Vec<_>>(), vec![c.r.client.id]);
    let medicines: Vec<&str> = sheet.medicines.iter().map(|m| m.directions.as_str()).collect();
    assert_eq!(medicines, vec!["Give 0.8 ml by mouth once daily for 7 days"], "the vaccine is under vaccinations");
    assert_eq!(sheet.vaccinations.len(), 1);
    assert!(sheet.vaccinations[0].product.starts_with("Nobivac DHPPi"), "{:?}", sheet.vaccinations);
    assert_eq!(sheet.vaccinations[0].on, NaiveDate::from_ymd_opt(2026, 3, 29).unwrap());
    let weight = sheet.last_weight.as_ref().unwrap();
    assert_eq!((weight.kg, weight.date), (12.4, NaiveDate::from_ymd_opt(2026, 3, 29).unwrap()));
    assert_eq!(pack.prescriptions.len(), 1);
    assert!(pack
        .prescriptions
        .iter()
        .all(|p| p.patient_name == "Biscuit" && p.client_name == "Mrs Agatha Quillfeather"));
    let vet = pack.staff.iter().find(|s| s.name == "James Herriot").unwrap();
    assert_eq!((vet.role.as_str(), vet.phone.as_str()), ("vet", "07700 900123"), "the phone as typed, put in UK form");
    assert_eq!(pack.registers.len(), 1);
    assert!(!pack.registers[0].drugs.is_empty(), "every controlled drug of the formulary, with its balance");

    // A given day; a day with nobody booked has no sheets.
    let later = c.store().continuity_pack(&c.vet, NaiveDate::from_ymd_opt(2026, 4, 6)).unwrap();
    assert!(later.sheets.is_empty() && later.day.appointments.is_empty());
    let e = c.store().continuity_pack(&c.vet, NaiveDate::from_ymd_opt(9999, 1, 1)).unwrap_err();
    assert_eq!(e.field(), Some("date"), "{e}");
    // Reception reads no clinical records, so it makes no pack; a bad phone is refused by name.
    assert_eq!(c.store().continuity_pack(&c.r.desk, None).unwrap_err().code(), ErrorCode::Forbidden);
    let e = c
        .store()
        .update_staff(&c.r.admin, c.r.vet.id, &StaffUpdate { phone: Some("call me".into()), ..Default::default() })
        .unwrap_err();
    assert_eq!(e.field(), Some("phone"), "{e}");
}

fn pdf(_: &lifeboat_core::views::continuity::ContinuityPack) -> Vec<u8> {
    b"%PDF-1.4 pack".to_vec()
}

#[test]
fn the_evening_pack_is_due_after_its_time_until_one_is_made_and_the_last_five_are_kept() {
    let c = booked_for_monday();
    // 18:30 on Sunday: no pack since the 18:00 slot; it is for Monday.
    let kept = c.store().make_scheduled_continuity_pack(pdf).unwrap().expect("due: there is no pack yet");
    assert_eq!(
        (kept.for_date, kept.made_by.as_str(), kept.bytes, kept.chosen),
        (monday(), "the evening schedule", 13, false)
    );
    assert!(c.store().make_scheduled_continuity_pack(pdf).unwrap().is_none(), "made since the last 18:00");
    let status = c.store().continuity_status(&c.r.desk).unwrap();
    assert_eq!((status.last.as_ref().map(|l| l.id), status.schedule.as_deref()), (Some(kept.id), Some("18:00")));
    // A pack for a chosen day does not stand in for the evening's.
    c.r.clock_advance(Duration::hours(24));
    let (chosen, _) = c.store().make_continuity_pack(&c.vet, NaiveDate::from_ymd_opt(2026, 4, 20), pdf).unwrap();
    assert!(chosen.chosen);
    assert_eq!(c.store().continuity_status(&c.r.desk).unwrap().last.map(|l| l.id), Some(kept.id));
    // 18:30 on Monday: due again, for Tuesday.
    let evening = c.store().make_scheduled_continuity_pack(pdf).unwrap().expect("due after Monday's 18:00");
    assert_eq!(evening.for_date, monday() + Duration::days(1));
    // Another time, set by a manager (not by a vet), and off.
    assert_eq!(c.store().set_continuity_schedule(&c.vet, Some("20:00")).unwrap_err().code(), ErrorCode::Forbidden);
    let e = c.store().set_continuity_schedule(&c.r.admin, Some("25:00")).unwrap_err();
    assert_eq!(e.field(), Some("time"), "{e}");
    c.store().set_continuity_schedule(&c.r.admin, Some("20:00")).unwrap();
    assert!(c.store().make_scheduled_continuity_pack(pdf).unwrap().is_none(), "one was made after Sunday's 20:00");
    c.r.clock_advance(Duration::hours(2));
    assert!(c.store().make_scheduled_continuity_pack(pdf).unwrap().is_some(), "Monday's 20:00 has passed");
    c.store().set_continuity_schedule(&c.r.admin, None).unwrap();
    c.r.clock_advance(Duration::days(2));
    assert!(c.store().make_scheduled_continuity_pack(pdf).unwrap().is_none(), "the schedule is off");
    assert_eq!(c.store().continuity_status(&c.r.desk).unwrap().schedule, None);

    for i in 0..6u8 {
        c.r.clock_advance(Duration::minutes(1));
        c.store().make_continuity_pack(&c.vet, None, |_| vec![b'%', b'P', b'D', b'F', i]).unwrap();
    }
    assert_eq!(count(c.store(), "continuity_pack"), 5, "the last five are kept");
    let (info, kept_pdf) = c.store().kept_continuity_pack(&c.vet, None).unwrap();
    assert_eq!((info.made_by.as_str(), kept_pdf), ("James Herriot", vec![b'%', b'P', b'D', b'F', 5]));
    assert_eq!(c.store().kept_continuity_pack(&c.r.desk, None).unwrap_err().code(), ErrorCode::Forbidden);
    assert!(c.store().verify_audit().unwrap().is_intact(), "keeping packs is not a change to practice data");
}

/// The PCs were off from Sunday afternoon: the pack the first one makes on Monday morning is
/// Monday's, not Tuesday's.
#[test]
fn after_the_pcs_were_off_overnight_the_morning_pack_is_for_that_day() {
    let c = booked_for_monday();
    // Monday 07:45 BST.
    c.r.clock_advance(Duration::hours(13) + Duration::minutes(15));
    let kept = c.store().make_scheduled_continuity_pack(pdf).unwrap().expect("due: Sunday's 18:00 was missed");
    assert_eq!(kept.for_date, monday());
    assert_eq!(c.store().continuity_pack(&c.vet, None).unwrap().date, monday(), "and on demand too");
    // Monday 18:05: Tuesday's.
    c.r.clock_advance(Duration::hours(10) + Duration::minutes(20));
    let kept = c.store().make_scheduled_continuity_pack(pdf).unwrap().expect("due after Monday's 18:00");
    assert_eq!(kept.for_date, monday() + Duration::days(1));
}

/// Only what is still to be supplied counts as active: not a prescription already dispensed in full,
/// not a vaccine, not one for an animal that has died.
#[test]
fn active_prescriptions_are_those_still_to_supply_for_animals_alive() {
    use lifeboat_core::clinical::prescription::NewDispensing;
    let c = booked_for_monday();
    let product = c.product("Metacam 1.5");
    c.store()
        .prescribe(
            &c.vet,
            &NewPrescription {
                patient_id: Some(c.r.dog.id),
                product_id: Some(product.id),
                quantity: "10".into(),
                dose: "0.8 ml".into(),
                route: "By mouth".into(),
                frequency: "Once daily".into(),
                duration: "7 days".into(),
                directions: "Supplied in full".into(),
                dispense: Some(NewDispensing {
                    quantity: String::new(),
                    batch: "MX1".into(),
                    expiry: NaiveDate::from_ymd_opt(2027, 6, 30),
                    collected_by: String::new(),
                }),
                ..Default::default()
            },
        )
        .unwrap();
    let pack = c.store().continuity_pack(&c.vet, None).unwrap();
    let listed: Vec<&str> = pack.prescriptions.iter().map(|p| p.prescription.directions.as_str()).collect();
    assert_eq!(listed, vec!["Give 0.8 ml by mouth once daily for 7 days"], "not the vaccine, not the one supplied");
    assert_eq!(pack.sheets[0].medicines.iter().map(|m| m.directions.as_str()).collect::<Vec<_>>(), listed);
    c.store().record_death(&c.vet, c.r.dog.id, NaiveDate::from_ymd_opt(2026, 3, 29).unwrap()).unwrap();
    let pack = c.store().continuity_pack(&c.vet, None).unwrap();
    assert!(pack.prescriptions.is_empty(), "none for an animal that has died");
    assert_eq!(pack.sheets[0].patient.deceased_on, NaiveDate::from_ymd_opt(2026, 3, 29), "its booking's sheet says so");
}
