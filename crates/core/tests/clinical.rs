//! The consult room, as vets and nurses use it: consultations, signing and addenda, prescribing to the
//! letter of the law, dispensing, the controlled drugs register, charges and the patient history.

mod common;

use chrono::NaiveDate;
use common::*;
use lifeboat_core::clinical::cd_register::{CdEntryKind, NewCdEntry};
use lifeboat_core::clinical::consultation::{ConsultationDraft, NewAddendum, StartConsultation};
use lifeboat_core::clinical::prescription::{NewDispensing, NewPrescription};
use lifeboat_core::clinical::vitals::Vitals;
use lifeboat_core::clinical::void::Voidable;
use lifeboat_core::store::journal;
use lifeboat_core::views::consult_room::ConsultState;
use lifeboat_core::views::history::HistoryEntry;
use lifeboat_core::{AppointmentStatus, NewClient, NewPatient, Role, Species, StaffUpdate};

fn soap(weight: f64) -> ConsultationDraft {
    ConsultationDraft {
        subjective: "Limping on the left fore for two days.".into(),
        objective: "Pain on flexion of the left carpus. No swelling.".into(),
        assessment: "Soft tissue injury, left carpus.".into(),
        plan: "Meloxicam for 7 days; rest; recheck in a week.".into(),
        vitals: Vitals {
            weight_kg: Some(weight),
            temperature_c: Some(38.6),
            heart_rate: Some(96),
            respiratory_rate: Some(24),
            body_condition: Some(5),
        },
    }
}

fn start(c: &Clinic) -> lifeboat_core::clinical::consultation::Consultation {
    c.store()
        .start_consultation(&c.vet, &StartConsultation { appointment_id: Some(c.appointment.id), patient_id: None })
        .unwrap()
}

#[test]
fn a_consultation_is_drafted_signed_with_a_password_and_then_final() {
    let c = clinic();
    let consult = start(&c);
    assert_eq!(c.store().appointment(&c.r.desk, c.appointment.id).unwrap().status, AppointmentStatus::InConsult);
    let again = start(&c);
    assert_eq!(again.id, consult.id, "opening the appointment again opens the same consultation");

    // The draft saves as it is typed; saving the same text again writes nothing.
    let saved = c.store().save_consultation_draft(&c.vet, consult.id, &soap(12.4)).unwrap();
    assert_eq!(saved.consultation.subjective, "Limping on the left fore for two days.");
    assert_eq!(saved.consultation.vitals.weight_kg, Some(12.4));
    let journal_before = count(c.store(), "journal");
    c.store().save_consultation_draft(&c.vet, consult.id, &soap(12.4)).unwrap();
    assert_eq!(count(c.store(), "journal"), journal_before, "an unchanged draft writes nothing");
    let mut edited = soap(12.4);
    edited.plan = "Meloxicam for 7 days; strict rest.".into();
    c.store().save_consultation_draft(&c.vet, consult.id, &edited).unwrap();
    let last = c.store().read(|r| journal::since(r, 0, 10_000)).unwrap().pop().unwrap();
    assert_eq!(
        last.change.payload,
        serde_json::json!({ "plan": "Meloxicam for 7 days; strict rest." }),
        "only the changed field"
    );

    // The draft survives the app closing.
    let dir = &c.r.dir;
    let reopened = reopen(dir).unwrap();
    assert_eq!(reopened.consultation(&c.vet, consult.id).unwrap().plan, "Meloxicam for 7 days; strict rest.");
    drop(reopened);

    // Signing needs the clinician's own password, and only they sign.
    let err = c.store().sign_consultation(&c.vet, consult.id, "not my password", false).unwrap_err();
    assert_eq!(err.field(), Some("password"), "{err}");
    let err = c.store().sign_consultation(&c.nurse, consult.id, PASSWORD, false).unwrap_err();
    assert_eq!(err.code().as_str(), "forbidden", "{err}");
    let signed = c.store().sign_consultation(&c.vet, consult.id, PASSWORD, false).unwrap();
    assert!(signed.is_signed() && signed.signed_by == Some(c.vet.staff_id));
    assert_eq!(signed.signed_hash.as_ref().map(String::len), Some(64));
    assert_eq!(c.store().appointment(&c.r.desk, c.appointment.id).unwrap().status, AppointmentStatus::Done);

    // A signed note is never changed through the core...
    let err = c.store().save_consultation_draft(&c.vet, consult.id, &soap(13.0)).unwrap_err();
    assert_eq!(err.code().as_str(), "conflict", "{err}");
    assert!(err.to_string().contains("addendum"), "{err}");
    // ...nor directly in SQL: the database refuses.
    let raw = raw_connection(dir);
    for sql in [
        "UPDATE consultation SET plan = 'changed behind its back'",
        "UPDATE consultation SET signed_at = NULL, signed_by = NULL, signed_hash = NULL",
        "DELETE FROM consultation",
        "INSERT OR REPLACE INTO consultation SELECT * FROM consultation",
        "REPLACE INTO consultation SELECT * FROM consultation",
    ] {
        let err = raw.execute_batch(sql).unwrap_err();
        assert!(err.to_string().contains("consultation"), "{sql}: {err}");
    }
    assert_eq!(c.store().consultation(&c.vet, consult.id).unwrap(), signed, "the signed note is exactly as signed");

    // Corrections are addenda: dated, attributed, with a reason, shown with the original.
    let addendum = c
        .store()
        .add_addendum(
            &c.nurse,
            consult.id,
            &NewAddendum { reason: "Weight misread".into(), text: "Weight was 12.9 kg on recheck.".into() },
        )
        .unwrap();
    assert_eq!((addendum.author_id, addendum.reason.as_str()), (c.nurse.staff_id, "Weight misread"));
    let view = c.store().consultation_view(&c.vet, consult.id).unwrap();
    assert_eq!(view.state, ConsultState::Signed);
    assert_eq!(view.addenda, std::slice::from_ref(&addendum));
    assert_eq!(view.consultation.plan, "Meloxicam for 7 days; strict rest.");
    for sql in [
        "UPDATE addendum SET text = 'x'",
        "DELETE FROM addendum",
        "INSERT OR REPLACE INTO addendum SELECT * FROM addendum",
    ] {
        assert!(raw.execute_batch(sql).is_err(), "{sql} was allowed");
    }
    // The appointment behind a signed consultation stays as it was.
    let err = c.store().set_appointment_status(&c.r.desk, c.appointment.id, AppointmentStatus::InConsult).unwrap_err();
    assert!(err.to_string().contains("signed"), "{err}");
    let moved = lifeboat_core::AppointmentMove {
        clinician_id: c.r.vet.id,
        room: String::new(),
        start: local("2026-03-30 11:00"),
        minutes: 15,
        confirm_outside_hours: true,
    };
    assert_eq!(
        c.store().move_appointment(&c.r.desk, c.appointment.id, &moved).unwrap_err().code().as_str(),
        "conflict"
    );
    let err = c
        .store()
        .add_addendum(&c.vet, consult.id, &NewAddendum { reason: String::new(), text: "x".into() })
        .unwrap_err();
    assert_eq!(err.field(), Some("reason"));
    assert!(c.store().verify_audit().unwrap().is_intact());
}

#[test]
fn vitals_are_checked_against_the_species() {
    let c = clinic();
    let consult = start(&c);
    let err = c.store().save_consultation_draft(&c.vet, consult.id, &soap(380.0)).unwrap_err();
    assert_eq!(err.field(), Some("weight_kg"), "{err}");
    assert!(err.to_string().contains("dog"), "{err}");
    let mut fever = soap(12.4);
    fever.vitals.temperature_c = Some(40.9);
    let saved = c.store().save_consultation_draft(&c.vet, consult.id, &fever).unwrap();
    assert_eq!(saved.warnings.iter().map(|w| w.field.as_str()).collect::<Vec<_>>(), ["temperature_c"]);
    let err = c.store().sign_consultation(&c.vet, consult.id, PASSWORD, false).unwrap_err();
    assert_eq!(err.code().as_str(), "needs_confirmation", "{err}");
    assert!(err.to_string().contains("40.9"), "{err}");
    c.store().sign_consultation(&c.vet, consult.id, PASSWORD, true).unwrap();
}

#[test]
fn an_empty_or_voided_consultation_cannot_be_signed_and_a_void_keeps_the_record() {
    let c = clinic();
    let walk_in = c
        .store()
        .start_consultation(&c.nurse, &StartConsultation { appointment_id: None, patient_id: Some(c.r.dog.id) })
        .unwrap();
    assert_eq!(walk_in.appointment_id, None);
    let err = c.store().sign_consultation(&c.nurse, walk_in.id, PASSWORD, false).unwrap_err();
    assert_eq!(err.field(), Some("subjective"));
    let err = c.store().void_record(&c.r.desk, Voidable::Consultation, walk_in.id, "Started in error").unwrap_err();
    assert_eq!(err.code().as_str(), "forbidden");
    c.store().void_record(&c.nurse, Voidable::Consultation, walk_in.id, "Started in error").unwrap();
    let voided = c.store().consultation(&c.vet, walk_in.id).unwrap();
    assert_eq!(voided.void_reason.as_deref(), Some("Started in error"));
    assert_eq!(
        c.store().save_consultation_draft(&c.nurse, walk_in.id, &soap(12.0)).unwrap_err().code().as_str(),
        "conflict"
    );
    assert!(raw_connection(&c.r.dir).execute_batch("DELETE FROM clinical_void").is_err());
    assert!(raw_connection(&c.r.dir)
        .execute_batch("INSERT OR REPLACE INTO clinical_void SELECT * FROM clinical_void")
        .is_err());

    // A consultation with a live prescription cannot be voided until the prescription is.
    let with_rx = c
        .store()
        .start_consultation(&c.vet, &StartConsultation { appointment_id: None, patient_id: Some(c.r.dog.id) })
        .unwrap();
    let rx = c
        .store()
        .prescribe(&c.vet, &NewPrescription { dispense: None, ..meloxicam(&c, Some(with_rx.id)) })
        .unwrap()
        .prescription;
    let err = c.store().void_record(&c.vet, Voidable::Consultation, with_rx.id, "wrong dog").unwrap_err();
    assert!(err.to_string().contains("void those first"), "{err}");
    c.store().void_record(&c.vet, Voidable::Prescription, rx.id, "wrong dog").unwrap();
    c.store().void_record(&c.vet, Voidable::Consultation, with_rx.id, "wrong dog").unwrap();
}

fn meloxicam(c: &Clinic, consultation: Option<uuid::Uuid>) -> NewPrescription {
    let product = c.product("Metacam 1.5");
    NewPrescription {
        patient_id: Some(c.r.dog.id),
        consultation_id: consultation,
        product_id: Some(product.id),
        quantity: "10".into(),
        dose: "0.8 ml".into(),
        route: "By mouth".into(),
        frequency: "Once daily".into(),
        duration: "7 days".into(),
        directions: "Give 0.8 ml by mouth once daily with food for 7 days".into(),
        warnings: product.warnings,
        dispense: Some(NewDispensing {
            quantity: String::new(),
            batch: "MX2291".into(),
            expiry: NaiveDate::from_ymd_opt(2027, 6, 30),
            collected_by: String::new(),
        }),
        ..Default::default()
    }
}

fn ketamine(c: &Clinic) -> NewPrescription {
    let product = c.product("Ketamidor");
    NewPrescription {
        product_id: Some(product.id),
        quantity: "10".into(),
        quantity_words: "ten".into(),
        dose: "5 mg/kg".into(),
        route: "Intravenous injection".into(),
        frequency: "Once, for induction".into(),
        duration: "Single use".into(),
        directions: "For induction of anaesthesia by the attending vet".into(),
        dispense: Some(NewDispensing {
            quantity: "2".into(),
            batch: "KT0045".into(),
            expiry: NaiveDate::from_ymd_opt(2027, 1, 31),
            collected_by: "Mrs A. Quillfeather".into(),
        }),
        ..meloxicam(c, None)
    }
}

/// Each legal field of a prescription, made missing or inconsistent in turn, is refused with a
/// message naming it; nothing is written.
#[test]
fn each_missing_or_inconsistent_legal_field_is_refused_by_name() {
    let c = clinic();
    let vet = c.vet.clone();
    type Spoil = Box<dyn Fn(&mut NewPrescription)>;
    let mut cases: Vec<(&str, NewPrescription, Spoil)> = vec![
        ("patient_id", meloxicam(&c, None), Box::new(|p| p.patient_id = None)),
        ("product_id", meloxicam(&c, None), Box::new(|p| p.product_id = None)),
        ("quantity", meloxicam(&c, None), Box::new(|p| p.quantity = String::new())),
        ("quantity", meloxicam(&c, None), Box::new(|p| p.quantity = "ten".into())),
        ("dose", meloxicam(&c, None), Box::new(|p| p.dose = " ".into())),
        ("route", meloxicam(&c, None), Box::new(|p| p.route = String::new())),
        ("frequency", meloxicam(&c, None), Box::new(|p| p.frequency = String::new())),
        ("duration", meloxicam(&c, None), Box::new(|p| p.duration = String::new())),
        ("directions", meloxicam(&c, None), Box::new(|p| p.directions = String::new())),
        ("quantity_words", meloxicam(&c, None), Box::new(|p| p.quantity_words = "eleven".into())),
        ("cascade_statement", meloxicam(&c, None), Box::new(|p| p.cascade = true)),
        ("repeats", meloxicam(&c, None), Box::new(|p| p.repeats = 13)),
        ("dispense.batch", meloxicam(&c, None), Box::new(|p| p.dispense.as_mut().unwrap().batch = String::new())),
        ("dispense.expiry", meloxicam(&c, None), Box::new(|p| p.dispense.as_mut().unwrap().expiry = None)),
        (
            "dispense.expiry",
            meloxicam(&c, None),
            Box::new(|p| p.dispense.as_mut().unwrap().expiry = NaiveDate::from_ymd_opt(2026, 1, 31)),
        ),
        ("dispense.quantity", meloxicam(&c, None), Box::new(|p| p.dispense.as_mut().unwrap().quantity = "11".into())),
        ("quantity_words", ketamine(&c), Box::new(|p| p.quantity_words = String::new())),
        ("quantity_words", ketamine(&c), Box::new(|p| p.quantity_words = "one hundred".into())),
        ("repeats", ketamine(&c), Box::new(|p| p.repeats = 1)),
        (
            "dispense.collected_by",
            ketamine(&c),
            Box::new(|p| p.dispense.as_mut().unwrap().collected_by = String::new()),
        ),
        ("consultation_id", meloxicam(&c, None), Box::new(|p| p.consultation_id = Some(uuid::Uuid::now_v7()))),
    ];
    // A food-producing animal needs its withdrawal period; a product not authorised for the species
    // needs the cascade.
    let farmer = c
        .store()
        .register_client_with_patient(
            &c.r.desk,
            &NewClient {
                last_name: "Tregothnan".into(),
                address_line1: "Higher Farm".into(),
                postcode: "TR2 4AJ".into(),
                phone: "01632 960444".into(),
                ..Default::default()
            },
            Some(&NewPatient::new("Daisy", Species::Cattle)),
        )
        .unwrap();
    let cow = farmer.patient.unwrap().id;
    let mut for_cow = meloxicam(&c, None);
    for_cow.patient_id = Some(cow);
    for_cow.product_id = Some(c.product("Metacam 20").id);
    for_cow.withdrawal_period = "Meat 15 days, milk 5 days".into();
    cases.push(("withdrawal_period", for_cow.clone(), Box::new(|p| p.withdrawal_period = String::new())));
    let dog_drug = c.product("Metacam 1.5").id;
    cases.push(("cascade", for_cow.clone(), Box::new(move |p| p.product_id = Some(dog_drug))));
    // The owner's address is part of the prescription.
    let no_address = c
        .store()
        .register_client_with_patient(
            &c.r.desk,
            &NewClient { last_name: "Nomad".into(), phone: "07700 900333".into(), ..Default::default() },
            Some(&NewPatient::new("Scout", Species::Dog)),
        )
        .unwrap();
    let homeless = no_address.patient.unwrap().id;
    cases.push(("owner", meloxicam(&c, None), Box::new(move |p| p.patient_id = Some(homeless))));

    let before = (count(c.store(), "prescription"), count(c.store(), "dispensing"), count(c.store(), "journal"));
    for (field, mut new, spoil) in cases {
        // The unspoilt prescription has no problem with this field.
        let clean = c.store().check_prescription(&vet, &new).unwrap();
        assert!(!clean.iter().any(|p| p.field == field), "{field}: the good prescription already fails: {clean:?}");
        spoil(&mut new);
        let problems = c.store().check_prescription(&vet, &new).unwrap();
        assert!(problems.iter().any(|p| p.field == field), "{field}: check names it: {problems:?}");
        let err = c.store().prescribe(&vet, &new).unwrap_err();
        assert_eq!(err.field(), Some(field), "{field}: {err}");
    }
    assert_eq!(
        (count(c.store(), "prescription"), count(c.store(), "dispensing"), count(c.store(), "journal")),
        before,
        "nothing was written"
    );
    // The good ones are accepted.
    c.store().prescribe(&vet, &for_cow).unwrap();
    let mut cascade_ok = for_cow.clone();
    cascade_ok.product_id = Some(c.product("Metacam 1.5").id);
    cascade_ok.cascade = true;
    cascade_ok.cascade_statement = "Prescribed under the cascade".into();
    c.store().prescribe(&vet, &cascade_ok).unwrap();
}

#[test]
fn only_a_vet_prescribes_pom_v_and_controlled_drugs_and_an_sqp_nurse_prescribes_pom_vps() {
    let c = clinic();
    let err = c.store().prescribe(&c.nurse, &meloxicam(&c, None)).unwrap_err();
    assert_eq!(err.field(), Some("product_id"), "{err}");
    assert!(err.to_string().contains("POM-V"), "{err}");
    let err = c.store().prescribe(&c.r.desk, &meloxicam(&c, None)).unwrap_err();
    assert_eq!(err.code().as_str(), "forbidden", "reception never prescribes: {err}");

    // A POM-VPS wormer: not for an ordinary nurse, yes for an SQP.
    let wormer = c
        .store()
        .add_product(
            &c.vet,
            &lifeboat_core::clinical::formulary::NewProduct {
                name: "Panacur Small Animal 10% oral suspension".into(),
                active_ingredient: "fenbendazole".into(),
                strength: "100 mg/ml".into(),
                form: "oral suspension".into(),
                legal_category: lifeboat_core::clinical::formulary::LegalCategory::PomVps,
                cd_schedule: None,
                unit: "ml".into(),
                pack_size: "100".into(),
                price_pence: 2400,
                vat_rate_bp: 2000,
                authorised_species: vec![Species::Dog, Species::Cat],
                withdrawal_meat_days: None,
                withdrawal_milk_days: None,
                withdrawal_eggs_days: None,
                warnings: String::new(),
            },
        )
        .unwrap();
    let mut worming = meloxicam(&c, None);
    worming.product_id = Some(wormer.id);
    let err = c.store().prescribe(&c.nurse, &worming).unwrap_err();
    assert!(err.field() == Some("product_id") && err.to_string().contains("suitably qualified"), "{err}");
    c.store()
        .update_staff(&c.r.admin, c.nurse.staff_id, &StaffUpdate { sqp: Some(true), ..Default::default() })
        .unwrap();
    let done = c.store().prescribe(&c.nurse, &worming).unwrap();
    assert_eq!(done.prescription.prescriber_id, c.nurse.staff_id);
    let mut cascade = worming.clone();
    cascade.cascade = true;
    cascade.cascade_statement = "Prescribed under the cascade".into();
    assert_eq!(
        c.store().prescribe(&c.nurse, &cascade).unwrap_err().field(),
        Some("cascade"),
        "an SQP never uses the cascade"
    );
    let err = c.store().prescribe(&c.nurse, &ketamine(&c)).unwrap_err();
    assert_eq!(err.field(), Some("product_id"), "only a vet prescribes controlled drugs: {err}");
}

#[test]
fn prescribing_and_dispensing_record_the_supply_its_charge_and_its_validity() {
    let c = clinic();
    let consult = start(&c);
    let mut new = meloxicam(&c, Some(consult.id));
    new.repeats = 1;
    let done = c.store().prescribe(&c.vet, &new).unwrap();
    let p = &done.prescription;
    assert_eq!((p.quantity.figures(), p.unit.as_str(), p.legal_category.as_str()), ("10".into(), "ml", "POM-V"));
    assert_eq!(p.issued_on.to_string(), "2026-03-29");
    assert_eq!(p.valid_until.to_string(), "2026-09-28", "six months, the day written counting as the first");
    let d = done.dispensing.clone().unwrap();
    assert_eq!(
        (d.batch.as_str(), d.expiry.to_string().as_str(), d.quantity.figures()),
        ("MX2291", "2027-06-30", "10".into())
    );
    // The charge: 10 ml of a 100 ml pack at £38.00 is £3.80, plus 20% VAT.
    let view = c.store().consultation_view(&c.vet, consult.id).unwrap();
    let charge = view.charges.iter().find(|ch| ch.dispensing_id == Some(d.id)).unwrap();
    assert_eq!((charge.net_pence, charge.vat_pence, charge.total_pence()), (380, 76, 456));
    assert_eq!(view.prescriptions.len(), 1);

    // One repeat, then no more.
    let repeat = NewDispensing {
        quantity: "10".into(),
        batch: "MX2301".into(),
        expiry: NaiveDate::from_ymd_opt(2027, 8, 31),
        collected_by: String::new(),
    };
    c.store().dispense(&c.nurse, p.id, &repeat).unwrap();
    let err = c.store().dispense(&c.nurse, p.id, &repeat).unwrap_err();
    assert!(err.to_string().contains("as many times"), "{err}");
    // A dispensed prescription stands: it cannot be voided.
    assert_eq!(
        c.store().void_record(&c.vet, Voidable::Prescription, p.id, "wrong dog").unwrap_err().code().as_str(),
        "conflict"
    );
    let raw = raw_connection(&c.r.dir);
    for sql in [
        "UPDATE prescription SET quantity_milli = 1",
        "DELETE FROM prescription",
        "INSERT OR REPLACE INTO prescription SELECT * FROM prescription",
        "UPDATE dispensing SET batch = 'x'",
        "DELETE FROM dispensing",
        "INSERT OR REPLACE INTO dispensing SELECT * FROM dispensing",
        "UPDATE charge SET net_pence = 0",
        "DELETE FROM charge",
        "INSERT OR REPLACE INTO charge SELECT * FROM charge",
    ] {
        assert!(raw.execute_batch(sql).is_err(), "{sql} was allowed");
    }

    // Six months and a day later the prescription has expired.
    let undispensed =
        c.store().prescribe(&c.vet, &NewPrescription { dispense: None, ..meloxicam(&c, None) }).unwrap().prescription;
    c.r.clock_advance(chrono::Duration::days(185));
    let err = c.store().dispense(&c.nurse, undispensed.id, &repeat).unwrap_err();
    assert!(err.to_string().contains("expired"), "{err}");
}

#[test]
fn the_controlled_drugs_register_keeps_a_running_balance_that_never_goes_below_zero() {
    let c = clinic();
    let ket = c.product("Ketamidor");
    let premises = c.store().this_premises().unwrap();
    // No stock: a supply is refused, naming the drug.
    let mut new = ketamine(&c);
    new.patient_id = Some(c.r.dog.id);
    let err = c.store().prescribe(&c.vet, &new).unwrap_err();
    assert!(err.to_string().contains("below zero") && err.to_string().contains("Ketamidor"), "{err}");

    // A receipt needs its supplier.
    let mut receipt = NewCdEntry::new(ket.id, CdEntryKind::Receipt, "50");
    assert_eq!(c.store().record_cd_entry(&c.vet, &receipt).unwrap_err().field(), Some("supplier"));
    receipt.supplier = "Centaur Services, Castle Cary BA7 7EP".into();
    receipt.reference = "INV-88231".into();
    let received = c.store().record_cd_entry(&c.vet, &receipt).unwrap();
    assert_eq!(received.balance.figures(), "50");

    // Dispensing a Schedule 2 drug writes the supply to the register, with who collected it.
    let done = c.store().prescribe(&c.vet, &new).unwrap();
    assert_eq!(done.prescription.quantity_words, "ten");
    assert_eq!(
        done.prescription.valid_until.to_string(),
        "2026-04-25",
        "28 days for a controlled drug, counting the day written"
    );
    let entries = c.store().cd_entries(&c.vet, premises.id, ket.id).unwrap();
    let supply = entries.last().unwrap();
    assert_eq!(
        (supply.kind, supply.quantity.figures(), supply.balance.figures()),
        (CdEntryKind::Supply, "2".into(), "48".into())
    );
    assert_eq!(supply.collected_by, "Mrs A. Quillfeather");
    assert_eq!(supply.prescriber_id, Some(c.vet.staff_id));
    assert!(supply.recipient.contains("Quillfeather") && supply.recipient.contains("EX4 1AB"), "{}", supply.recipient);

    // An administration, a destruction (with a witness), a stock check that finds a difference, and a
    // correction.
    let mut given = NewCdEntry::new(ket.id, CdEntryKind::Administration, "1.5");
    given.patient_id = Some(c.r.dog.id);
    assert_eq!(
        c.store().record_cd_entry(&c.nurse, &given).unwrap_err().field(),
        Some("prescriber_id"),
        "a nurse names the vet responsible"
    );
    given.prescriber_id = Some(c.vet.staff_id);
    c.store().record_cd_entry(&c.nurse, &given).unwrap();
    let mut destroyed = NewCdEntry::new(ket.id, CdEntryKind::Destruction, "0.5");
    assert_eq!(c.store().record_cd_entry(&c.vet, &destroyed).unwrap_err().field(), Some("witness"));
    destroyed.witness = "R. Inspector".into();
    destroyed.note = "Broken vial".into();
    c.store().record_cd_entry(&c.vet, &destroyed).unwrap();
    let check = c.store().record_cd_entry(&c.vet, &NewCdEntry::new(ket.id, CdEntryKind::StockCheck, "45")).unwrap();
    assert_eq!(
        (check.expected.map(|q| q.figures()), check.balance.figures()),
        (Some("46".into()), "46".into()),
        "counted 45 against 46 expected"
    );
    let mut correction = NewCdEntry::new(ket.id, CdEntryKind::Correction, "1");
    correction.corrects_id = Some(received.id);
    assert_eq!(c.store().record_cd_entry(&c.vet, &correction).unwrap_err().field(), Some("note"));
    correction.note = "Delivery note says 49 ml, not 50".into();
    let corrected = c.store().record_cd_entry(&c.vet, &correction).unwrap();
    assert_eq!(corrected.balance.figures(), "45");
    let register = c.store().cd_register(&c.vet, None).unwrap();
    assert_eq!(register.drugs.iter().find(|d| d.product.id == ket.id).unwrap().balance.figures(), "45");

    // Too much is refused; so is an entry backdated to before the stock arrived.
    let mut too_much = NewCdEntry::new(ket.id, CdEntryKind::Administration, "45.5");
    too_much.patient_id = Some(c.r.dog.id);
    assert!(c.store().record_cd_entry(&c.vet, &too_much).unwrap_err().to_string().contains("below zero"));
    let mut backdated = NewCdEntry::new(ket.id, CdEntryKind::Administration, "1");
    backdated.patient_id = Some(c.r.dog.id);
    backdated.occurred_at = Some(local("2026-03-01 09:00"));
    let err = c.store().record_cd_entry(&c.vet, &backdated).unwrap_err();
    assert!(err.to_string().contains("01/03/2026"), "names when the balance would go below zero: {err}");
    // A future entry is refused; a non-controlled drug has no register.
    let mut future = receipt.clone();
    future.occurred_at = Some(local("2026-04-01 09:00"));
    assert_eq!(c.store().record_cd_entry(&c.vet, &future).unwrap_err().field(), Some("occurred_at"));
    let melox = NewCdEntry { product_id: c.product("Metacam 1.5").id, ..receipt.clone() };
    assert_eq!(c.store().record_cd_entry(&c.vet, &melox).unwrap_err().field(), Some("product_id"));
    // Reception may not write in the register, and entries are never altered.
    assert_eq!(c.store().record_cd_entry(&c.r.desk, &receipt).unwrap_err().code().as_str(), "forbidden");
    let raw = raw_connection(&c.r.dir);
    for sql in [
        "UPDATE cd_entry SET quantity_milli = 0",
        "DELETE FROM cd_entry",
        "INSERT OR REPLACE INTO cd_entry SELECT * FROM cd_entry",
    ] {
        assert!(raw.execute_batch(sql).is_err(), "{sql} was allowed");
    }
    // A manager counts stock and takes receipts, but supplies and administrations are the clinical
    // team's.
    let manager = login_as(c.store(), &c.r.admin, "m.anager", Role::Manager);
    let mut handed = NewCdEntry::new(ket.id, CdEntryKind::Supply, "1");
    handed.recipient = "Someone".into();
    handed.collected_by = "Someone".into();
    handed.prescriber_id = Some(c.vet.staff_id);
    assert_eq!(c.store().record_cd_entry(&manager, &handed).unwrap_err().code().as_str(), "forbidden");
    assert_eq!(c.store().cd_entries(&c.vet, premises.id, ket.id).unwrap().len(), 6);
}

#[test]
fn fees_are_charged_with_vat_and_a_wrong_charge_is_voided_not_deleted() {
    let c = clinic();
    let consult = start(&c);
    let fees = c.store().fees(&c.r.desk).unwrap();
    let consultation_fee = fees.iter().find(|f| f.name == "Consultation").unwrap();
    let charge = c
        .store()
        .add_charge(
            &c.r.desk,
            &lifeboat_core::clinical::charge::NewCharge {
                patient_id: c.r.dog.id,
                consultation_id: Some(consult.id),
                fee_id: consultation_fee.id,
                quantity: String::new(),
                note: String::new(),
            },
        )
        .unwrap();
    assert_eq!((charge.net_pence, charge.vat_pence, charge.client_id), (4500, 900, c.r.client.id));
    c.store().void_record(&c.r.desk, Voidable::Charge, charge.id, "Charged twice").unwrap();
    let view = c.store().consultation_view(&c.vet, consult.id).unwrap();
    assert_eq!(view.charges[0].void_reason.as_deref(), Some("Charged twice"));
}

#[test]
fn the_history_shows_everything_clinical_newest_first_with_the_weights() {
    let c = clinic();
    let first = start(&c);
    c.store().save_consultation_draft(&c.vet, first.id, &soap(12.4)).unwrap();
    c.store().prescribe(&c.vet, &meloxicam(&c, Some(first.id))).unwrap();
    c.store().sign_consultation(&c.vet, first.id, PASSWORD, false).unwrap();
    c.r.clock_advance(chrono::Duration::days(7));
    let second = c
        .store()
        .start_consultation(&c.vet, &StartConsultation { appointment_id: None, patient_id: Some(c.r.dog.id) })
        .unwrap();
    c.store().save_consultation_draft(&c.vet, second.id, &soap(12.9)).unwrap();
    c.r.clock_advance(chrono::Duration::days(1));
    let loose = c.store().prescribe(&c.vet, &NewPrescription { dispense: None, ..meloxicam(&c, None) }).unwrap();

    let history = c.store().patient_history(&c.vet, c.r.dog.id).unwrap();
    let kinds: Vec<_> = history
        .entries
        .iter()
        .map(|e| match e {
            HistoryEntry::Consultation { consultation, prescriptions, .. } => (consultation.id, prescriptions.len()),
            HistoryEntry::Prescription { prescription, .. } => (prescription.id, 0),
            HistoryEntry::Lab { request, .. } => (request.id, request.results.len()),
        })
        .collect();
    assert_eq!(kinds, [(loose.prescription.id, 0), (second.id, 0), (first.id, 1)]);
    let weights: Vec<_> = history.weights.iter().map(|w| (w.date.to_string(), w.kg)).collect();
    assert_eq!(weights, [("2026-03-29".to_string(), 12.4), ("2026-04-05".to_string(), 12.9)]);
    // Reception sees appointments, not clinical notes.
    assert_eq!(c.store().patient_history(&c.r.desk, c.r.dog.id).unwrap_err().code().as_str(), "forbidden");
    let role = lifeboat_core::Role::Manager;
    let manager = login_as(c.store(), &c.r.admin, "m.anager", role);
    assert_eq!(c.store().patient_history(&manager, c.r.dog.id).unwrap().entries.len(), 3);
    let _ = Role::Vet;
}

/// A hand-over's note is checked before the record is put together to leave the practice (the hub
/// or a file), not only when the sending is recorded afterwards.
#[test]
fn a_hand_over_with_a_note_that_would_be_refused_never_leaves() {
    let c = clinic();
    let too_long = "x".repeat(1001);
    let err = c.store().handover_body(&c.vet, c.r.dog.id, "Hilltop Vets", &too_long).unwrap_err();
    assert_eq!((err.code(), err.field()), (lifeboat_core::ErrorCode::Invalid, Some("note")), "{err}");
    assert!(c.store().handover_body(&c.vet, c.r.dog.id, "Hilltop Vets", "Recheck tonight").is_ok());
}
