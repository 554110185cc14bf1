//! Clinical history for a generated practice: a signed consultation for each past appointment that
//! was seen (SOAP notes that read like a vet's, vitals that fit the animal), prescriptions dispensed
//! from about a quarter of the vets' consultations, and the controlled drugs register of the
//! premises: ketamine and methadone given for operations, received when stock runs low, counted
//! once a month. Everything goes through the core's operations (history as `ImportRecords`), one
//! transaction per day.

use chrono::{Duration, NaiveDate};
use lifeboat_core::clinical::cd_register::{CdEntryKind, NewCdEntry};
use lifeboat_core::clinical::consultation::{ConsultationDraft, PastConsultation};
use lifeboat_core::clinical::prescription::{NewDispensing, NewPrescription};
use lifeboat_core::clinical::vitals::Vitals;
use lifeboat_core::{Appointment, AppointmentKind, AppointmentStatus, Result, Role, Session, Species, Staff, Store};
use rand::seq::IndexedRandom;
use rand::Rng;
use rand_chacha::ChaCha8Rng;
use uuid::Uuid;

/// What a reason for a consultation usually leads to: the finding, the assessment, the plan, and
/// (for dogs and cats) what is prescribed, by a word in the product's name.
struct Case {
    finding: &'static str,
    assessment: &'static str,
    plan: &'static str,
    dog: Option<&'static str>,
    cat: Option<&'static str>,
}

fn case(reason: &str) -> Case {
    let c = |finding, assessment, plan, dog, cat| Case { finding, assessment, plan, dog, cat };
    match reason {
        "Limping" => c(
            "Lame on the left fore, pain on flexion of the carpus; no swelling",
            "Soft tissue injury",
            "Rest for two weeks, anti-inflammatory; recheck if not improving",
            Some("Metacam 1.5"),
            Some("Metacam 0.5"),
        ),
        "Vomiting" => c(
            "Mildly dehydrated, abdomen soft and non-painful",
            "Acute gastritis, likely dietary",
            "Bland diet for three days, small frequent meals; return if vomiting persists",
            None,
            None,
        ),
        "Itchy skin" => c(
            "Erythema and excoriation over the ventral abdomen, no parasites seen",
            "Atopic dermatitis suspected",
            "Anti-pruritic; flea control up to date; recheck in four weeks",
            Some("Apoquel"),
            Some("Prednicare"),
        ),
        "Ear infection" => c(
            "Left ear canal erythematous with brown discharge",
            "Otitis externa",
            "Clean and treat topically twice daily for ten days",
            Some("Surolan"),
            Some("Surolan"),
        ),
        "Off food" => c(
            "Quiet but responsive, mild pyrexia",
            "Inappetence, cause not yet clear",
            "Supportive care; bloods if not eating in 48 hours",
            None,
            None,
        ),
        "Lump check" => c(
            "Soft, mobile subcutaneous mass on the flank, about 2 cm",
            "Probable lipoma",
            "Fine needle aspirate taken; monitor size",
            None,
            None,
        ),
        "Eye discharge" => c(
            "Mucoid discharge from the right eye, fluorescein negative",
            "Conjunctivitis",
            "Bathe the eye; recheck in a week",
            None,
            None,
        ),
        "Diarrhoea" => c(
            "Bright, well hydrated, abdomen comfortable",
            "Acute colitis",
            "Bland diet; probiotic paste; return if blood or lethargy",
            None,
            None,
        ),
        _ => c("Clinical examination unremarkable", "Well", "No treatment needed today", None, None),
    }
}

/// A plausible adult weight for the species, fixed per animal (from its id) so that its weights
/// over the years form a line, not a scatter.
fn base_weight(species: Species, patient: Uuid) -> f64 {
    let f = (patient.as_u128() % 1000) as f64 / 1000.0;
    match species {
        Species::Dog => 6.0 + f * 32.0,
        Species::Cat => 3.2 + f * 2.8,
        Species::Rabbit => 1.4 + f * 2.2,
        Species::GuineaPig => 0.8 + f * 0.4,
        Species::Ferret => 0.7 + f * 1.1,
        Species::Hamster => 0.09 + f * 0.08,
        _ => 1.0 + f * 4.0,
    }
}

fn vitals(rng: &mut ChaCha8Rng, species: Species, patient: Uuid) -> Vitals {
    let weight = base_weight(species, patient) * rng.random_range(0.95..1.05);
    let round = |v: f64, places: i32| (v * 10f64.powi(places)).round() / 10f64.powi(places);
    let (temp, heart, resp) = match species {
        Species::Dog => (rng.random_range(37.8..39.1), rng.random_range(70..130), rng.random_range(14..32)),
        Species::Cat => (rng.random_range(38.0..39.2), rng.random_range(150..210), rng.random_range(22..36)),
        Species::Rabbit => (rng.random_range(38.6..39.8), rng.random_range(160..280), rng.random_range(32..56)),
        _ => return Vitals { weight_kg: Some(round(weight, 3)), ..Default::default() },
    };
    Vitals {
        weight_kg: Some(round(weight, if weight < 10.0 { 2 } else { 1 })),
        temperature_c: Some(round(temp, 1)),
        heart_rate: Some(heart),
        respiratory_rate: Some(resp),
        body_condition: Some(rng.random_range(4..=6)),
    }
}

fn notes(rng: &mut ChaCha8Rng, a: &Appointment) -> ConsultationDraft {
    let reason = if a.reason.is_empty() { a.kind.label().to_string() } else { a.reason.clone() };
    let (s, o, assessment, p) = match a.kind {
        AppointmentKind::Vaccination => (
            format!("Here for {}. No problems reported at home.", reason.to_lowercase()),
            "Bright, alert and responsive. Heart and lungs normal on auscultation, mucous membranes pink.".to_string(),
            "Healthy; fit to vaccinate.".to_string(),
            "Vaccinated subcutaneously, right scruff, as per schedule. Next due in 12 months.".to_string(),
        ),
        AppointmentKind::Recheck => (
            format!("{reason}: owner reports steady improvement."),
            "Comfortable on examination; the problem is resolving.".to_string(),
            "Improving as expected.".to_string(),
            "Finish the course; come back if anything changes.".to_string(),
        ),
        AppointmentKind::NurseClinic => (
            format!("Nurse clinic: {}.", reason.to_lowercase()),
            "Calm and cooperative; no concerns on general check.".to_string(),
            "Routine care done.".to_string(),
            "Owner advised; next clinic as needed.".to_string(),
        ),
        AppointmentKind::Operation | AppointmentKind::Dental => (
            format!("Admitted for {}. Starved from midnight; no concerns overnight.", reason.to_lowercase()),
            "Pre-anaesthetic examination normal. Premedicated with methadone, induced with ketamine and maintained on isoflurane.".to_string(),
            format!("{reason} done without complication; ASA 1."),
            "Recovered well. Discharged this afternoon with pain relief and a buster collar; post-op check in three days.".to_string(),
        ),
        _ => {
            let c = case(&reason);
            let days = rng.random_range(1..6);
            (
                format!("{reason} for {days} day{}. Eating and drinking normally otherwise.", if days == 1 { "" } else { "s" }),
                format!("{}.", c.finding),
                format!("{}.", c.assessment),
                format!("{}.", c.plan),
            )
        }
    };
    ConsultationDraft { subjective: s, objective: o, assessment, plan: p, vitals: Vitals::default() }
}

/// How many records the history added.
pub(crate) struct ClinicalCounts {
    pub consultations: usize,
    pub prescriptions: usize,
    pub cd_entries: usize,
}

/// Adds a signed consultation for every past appointment that was seen, with prescriptions and CD
/// register entries, day by day up to yesterday. `manager` records it (history is imported).
pub(crate) fn history(
    store: &Store,
    manager: &Session,
    rng: &mut ChaCha8Rng,
    staff: &[Staff],
    first: NaiveDate,
    today: NaiveDate,
    progress: &mut dyn FnMut(String),
) -> Result<ClinicalCounts> {
    let products = |name: &str| store.find_products(manager, name, 1).ok().and_then(|mut p| p.pop());
    let ketamine = products("Ketamidor").map(|p| p.id);
    let methadone = products("Comfortan").map(|p| p.id);
    let product_ids: Vec<(&str, Uuid)> = ["Metacam 1.5", "Metacam 0.5", "Apoquel", "Prednicare", "Surolan", "Synulox"]
        .into_iter()
        .filter_map(|n| products(n).map(|p| (n, p.id)))
        .collect();
    let product = |n: &str| product_ids.iter().find(|(name, _)| *name == n).map(|(_, id)| *id);
    let vet_ids: Vec<Uuid> = staff.iter().filter(|s| s.role == Role::Vet).map(|s| s.id).collect();
    // Controlled drugs given in theatre are recorded by the vet who gave them.
    let mut vets: Vec<(Uuid, Session)> = Vec::new();
    for s in staff.iter().filter(|s| s.role == Role::Vet) {
        vets.push((s.id, store.login(&s.username, crate::DEMO_PASSWORD)?));
    }
    let mut counts = ClinicalCounts { consultations: 0, prescriptions: 0, cd_entries: 0 };
    let mut stock = [0i64, 0i64]; // ml of ketamine and methadone, in thousandths
    let days = (today - first).num_days();
    for offset in 0..days {
        let date = first + Duration::days(offset);
        let book = store.day_book(manager, date)?;
        let seen: Vec<&Appointment> = book
            .appointments
            .iter()
            .filter(|a| a.status == AppointmentStatus::Done && a.kind != AppointmentKind::Euthanasia)
            .collect();
        if seen.is_empty() {
            continue;
        }
        let morning = lifeboat_core::time::to_utc("date", date.and_hms_opt(8, 0, 0).expect("time"))?;
        let mut given: Vec<(Uuid, NewCdEntry)> = Vec::new();
        store.write(manager, |w| {
            // Stock arrives on the first morning it is low; once a month it is counted.
            for (i, drug) in [ketamine, methadone].into_iter().enumerate() {
                let Some(drug) = drug else { continue };
                if stock[i] < 30_000 {
                    let mut receipt = NewCdEntry::new(drug, CdEntryKind::Receipt, "100");
                    receipt.occurred_at = Some(lifeboat_core::time::to_local(morning));
                    receipt.supplier = "Centaur Services Ltd, Castle Cary, Somerset BA7 7EP".into();
                    receipt.reference = format!("INV-{}", rng.random_range(100_000..999_999));
                    w.record_cd_entry(&receipt)?;
                    stock[i] += 100_000;
                    counts.cd_entries += 1;
                }
                if date.format("%d").to_string() == "01" {
                    let mut check =
                        NewCdEntry::new(drug, CdEntryKind::StockCheck, &format!("{}", stock[i] as f64 / 1000.0));
                    check.occurred_at = Some(lifeboat_core::time::to_local(morning + Duration::minutes(5)));
                    w.record_cd_entry(&check)?;
                    counts.cd_entries += 1;
                }
            }
            for a in &seen {
                let mut draft = notes(rng, a);
                draft.vitals = vitals(rng, a.species, a.patient_id);
                let consultation = w.record_past_consultation(&PastConsultation {
                    appointment_id: Some(a.id),
                    patient_id: a.patient_id,
                    clinician_id: a.clinician_id,
                    started_at: a.starts_at,
                    signed_at: a.ends_at,
                    notes: draft,
                    pms_id: None,
                })?;
                counts.consultations += 1;
                let is_vet = vet_ids.contains(&a.clinician_id);
                // Operations use the controlled drugs, given by the vet.
                if is_vet && matches!(a.kind, AppointmentKind::Operation | AppointmentKind::Dental) {
                    for (i, (drug, ml)) in
                        [(ketamine, rng.random_range(3..15) * 100), (methadone, rng.random_range(2..6) * 100)]
                            .into_iter()
                            .enumerate()
                    {
                        let Some(drug) = drug else { continue };
                        let mut entry =
                            NewCdEntry::new(drug, CdEntryKind::Administration, &format!("{}", ml as f64 / 1000.0));
                        entry.occurred_at = Some(a.start_local + Duration::minutes(10));
                        entry.patient_id = Some(a.patient_id);
                        entry.prescriber_id = Some(a.clinician_id);
                        given.push((a.clinician_id, entry));
                        stock[i] -= ml;
                        counts.cd_entries += 1;
                    }
                }
                // About a quarter of a vet's consultations end in a prescription.
                if is_vet && a.kind == AppointmentKind::Consultation && rng.random_bool(0.25) {
                    let c = case(&a.reason);
                    let name = match a.species {
                        Species::Dog => c.dog,
                        Species::Cat => c.cat,
                        _ => None,
                    };
                    if let Some(product_id) = name.and_then(product) {
                        let (dose, quantity) = match name {
                            Some("Surolan") => ("5 drops in the affected ear", "15"),
                            Some("Metacam 1.5") | Some("Metacam 0.5") => {
                                ("as marked on the syringe for its weight", "10")
                            }
                            _ => ("one tablet", "14"),
                        };
                        let directions = format!("Give {dose} once daily for 7 days");
                        let expiry = (a.starts_at + Duration::days(rng.random_range(200..700))).date_naive();
                        let new = NewPrescription {
                            patient_id: Some(a.patient_id),
                            consultation_id: Some(consultation.id),
                            product_id: Some(product_id),
                            quantity: quantity.into(),
                            dose: dose.into(),
                            route: if name == Some("Surolan") { "Into the ear".into() } else { "By mouth".into() },
                            frequency: "Once daily".into(),
                            duration: "7 days".into(),
                            directions,
                            dispense: Some(NewDispensing {
                                quantity: String::new(),
                                batch: format!(
                                    "{}{}",
                                    ["MX", "AP", "PR", "SU", "SY"].choose(rng).expect("batches"),
                                    rng.random_range(1000..9999)
                                ),
                                expiry: Some(expiry),
                                collected_by: String::new(),
                            }),
                            ..Default::default()
                        };
                        w.record_past_prescription(&new, a.clinician_id, a.ends_at)?;
                        counts.prescriptions += 1;
                    }
                }
            }
            Ok(())
        })?;
        for (vet, session) in &vets {
            let theirs: Vec<&NewCdEntry> = given.iter().filter(|(v, _)| v == vet).map(|(_, e)| e).collect();
            if !theirs.is_empty() {
                store.write(session, |w| theirs.iter().try_for_each(|e| w.record_cd_entry(e).map(|_| ())))?;
            }
        }
        if offset % 30 == 29 || offset == days - 1 {
            progress(format!("{} of {} days of clinical history written", offset + 1, days));
        }
    }
    Ok(counts)
}
