//! Clients, patients and appointments for a generated practice.

use chrono::{Datelike, Duration, NaiveDate, NaiveTime, Weekday};
use lifeboat_core::{
    AppointmentKind, AppointmentStatus, NewAppointment, NewClient, NewPatient, Result, Role, Session, Sex, Species,
    Staff, Store, WorkingDay,
};
use rand::seq::IndexedRandom;
use rand::Rng;
use rand_chacha::ChaCha8Rng;
use uuid::Uuid;

use crate::{Names, Size, STREETS, TOWNS};

/// How much of each kind of data a size has.
pub(crate) struct Volume {
    pub clients: usize,
    /// Days of appointments, ending `FUTURE_DAYS` after today.
    pub days: i64,
    /// How full a clinician's day is, beside a typical practice's (a referral hospital is busier).
    pub busy: f64,
}

pub(crate) const FUTURE_DAYS: i64 = 30;

impl Size {
    pub(crate) fn volume(self) -> Volume {
        match self {
            Size::S => Volume { clients: 300, days: 60, busy: 1.0 },
            Size::M => Volume { clients: 5_000, days: 365, busy: 1.0 },
            Size::L => Volume { clients: 30_000, days: 730, busy: 1.0 },
            Size::XL => Volume { clients: 100_000, days: 1095, busy: 1.43 },
        }
    }
}

const TITLES: &[&str] = &["Mr", "Mrs", "Ms", "Miss", "Dr", "Mx", ""];
const DOG_NAMES: &[&str] = &[
    "Bella", "Luna", "Max", "Poppy", "Teddy", "Milo", "Daisy", "Alfie", "Bonnie", "Charlie", "Rosie", "Buster",
    "Biscuit", "Willow", "Archie", "Hugo", "Ruby", "Maisie", "Otis", "Winston", "Nala", "Murphy", "Bramble", "Pip",
    "Tilly", "Monty", "Ziggy", "Skye",
];
const CAT_NAMES: &[&str] = &[
    "Tigger",
    "Smudge",
    "Misty",
    "Oscar",
    "Cleo",
    "Felix",
    "Shadow",
    "Pickle",
    "Mittens",
    "Jasper",
    "Sooty",
    "Ginger",
    "Luna",
    "Simba",
    "Bagheera",
    "Marmalade",
    "Pudding",
    "Noodle",
    "Salem",
    "Olive",
    "Mochi",
    "Pepper",
];
const SMALL_NAMES: &[&str] =
    &["Thumper", "Clover", "Peanut", "Hazel", "Nibbles", "Coco", "Fudge", "Squeak", "Pebble", "Kiwi"];
const DOG_BREEDS: &[&str] = &[
    "Labrador Retriever",
    "Cocker Spaniel",
    "French Bulldog",
    "Border Collie",
    "Staffordshire Bull Terrier",
    "Cockapoo",
    "Jack Russell Terrier",
    "Dachshund",
    "Golden Retriever",
    "Springer Spaniel",
    "Border Terrier",
    "Crossbreed",
    "Whippet",
];
const CAT_BREEDS: &[&str] =
    &["Domestic Shorthair", "Domestic Longhair", "British Shorthair", "Siamese", "Ragdoll", "Bengal", "Maine Coon"];
const COLOURS: &[&str] =
    &["Black", "Black and white", "Tabby", "Ginger", "Tortoiseshell", "Brown", "Golden", "Tricolour", "Grey", "Cream"];
const REASONS: &[(AppointmentKind, &[&str])] = &[
    (
        AppointmentKind::Consultation,
        &["Limping", "Vomiting", "Itchy skin", "Ear infection", "Off food", "Lump check", "Eye discharge", "Diarrhoea"],
    ),
    (AppointmentKind::Vaccination, &["Annual booster", "First vaccination", "Second vaccination", "Kennel cough"]),
    (AppointmentKind::Recheck, &["Post-op check", "Wound check", "Medication review", "Skin re-check"]),
    (AppointmentKind::NurseClinic, &["Nail clip", "Weight clinic", "Suture removal", "Dental check", "Microchipping"]),
    (AppointmentKind::Operation, &["Spay", "Castration", "Lump removal", "Dental extraction"]),
    (AppointmentKind::Dental, &["Scale and polish"]),
    (AppointmentKind::Euthanasia, &[""]),
];

/// Landline and mobile ranges Ofcom reserves for drama: no real person has these numbers.
fn drama_numbers() -> Vec<String> {
    let prefixes = [
        "07700 900",
        "01632 960",
        "0113 496 0",
        "0114 496 0",
        "0115 496 0",
        "0116 496 0",
        "0117 496 0",
        "0118 496 0",
        "0121 496 0",
        "0131 496 0",
        "0141 496 0",
        "0151 496 0",
        "0161 496 0",
        "020 7946 0",
        "0191 498 0",
    ];
    prefixes.iter().flat_map(|p| (0..1000).map(move |n| format!("{p}{n:03}"))).collect()
}

/// Registers clients and their patients in batches; returns (client, patient ids) pairs.
pub(crate) fn clients_and_patients(
    store: &Store,
    admin: &Session,
    rng: &mut ChaCha8Rng,
    names: &mut Names,
    size: Size,
    today: NaiveDate,
    progress: &mut dyn FnMut(String),
) -> Result<Vec<(Uuid, Uuid)>> {
    let volume = size.volume();
    let numbers = drama_numbers();
    let mut owned = Vec::new();
    let mut chip = 0u64;
    const BATCH: usize = 500;
    for start in (0..volume.clients).step_by(BATCH) {
        let end = (start + BATCH).min(volume.clients);
        let batch: Vec<(NewClient, Vec<NewPatient>)> = (start..end)
            .map(|i| {
                let (first, last) = names.any_person();
                let (town, district) = *TOWNS.choose(rng).expect("towns");
                let letters = b"ABDEFGHJLNPQRSTUWXYZ";
                let email = if rng.random_bool(0.7) {
                    let domain = ["example.com", "example.co.uk", "example.org"].choose(rng).expect("domains");
                    format!(
                        "{}.{}{}@{domain}",
                        first.to_lowercase(),
                        last.to_lowercase().replace(['\'', ' '], ""),
                        i % 97
                    )
                } else {
                    String::new()
                };
                let client = NewClient {
                    title: TITLES.choose(rng).expect("titles").to_string(),
                    first_name: first,
                    last_name: last,
                    address_line1: format!("{} {}", rng.random_range(1..220), STREETS.choose(rng).expect("streets")),
                    address_line2: String::new(),
                    town: town.into(),
                    postcode: format!(
                        "{district} {}{}{}",
                        rng.random_range(1..10),
                        letters[rng.random_range(0..letters.len())] as char,
                        letters[rng.random_range(0..letters.len())] as char
                    ),
                    phone: numbers[(i * 7919) % numbers.len()].clone(),
                    phone_alt: String::new(),
                    consent_email: !email.is_empty() && rng.random_bool(0.6),
                    email,
                    consent_sms: rng.random_bool(0.7),
                    notes: String::new(),
                };
                let pets = (0..pets_for(rng)).map(|_| pet(rng, today, &mut chip)).collect();
                (client, pets)
            })
            .collect();
        store.write(admin, |w| {
            for (c, pets) in &batch {
                let client_id = w.register_client(c)?.id;
                for p in pets {
                    let patient_id = w.register_patient(client_id, p)?.id;
                    owned.push((client_id, patient_id));
                }
            }
            Ok(())
        })?;
        progress(format!("{end} of {} clients registered", volume.clients));
    }
    Ok(owned)
}

fn pets_for(rng: &mut ChaCha8Rng) -> usize {
    match rng.random_range(0..100) {
        0..65 => 1,
        65..90 => 2,
        _ => 3,
    }
}

fn pet(rng: &mut ChaCha8Rng, today: NaiveDate, chip: &mut u64) -> NewPatient {
    let roll = rng.random_range(0..100);
    let species = match roll {
        0..50 => Species::Dog,
        50..88 => Species::Cat,
        88..94 => Species::Rabbit,
        94..97 => Species::GuineaPig,
        97..98 => Species::Ferret,
        _ => Species::Hamster,
    };
    let name = match species {
        Species::Dog => DOG_NAMES.choose(rng),
        Species::Cat => CAT_NAMES.choose(rng),
        _ => SMALL_NAMES.choose(rng),
    }
    .expect("names");
    let mut p = NewPatient::new(name, species);
    p.breed = match species {
        Species::Dog => DOG_BREEDS.choose(rng).expect("breeds").to_string(),
        Species::Cat => CAT_BREEDS.choose(rng).expect("breeds").to_string(),
        _ => String::new(),
    };
    p.sex = if rng.random_bool(0.5) { Sex::Male } else { Sex::Female };
    p.neutered = rng.random_bool(0.7);
    p.colour = COLOURS.choose(rng).expect("colours").to_string();
    if rng.random_bool(0.85) {
        p.date_of_birth = Some(today - Duration::days(rng.random_range(60..5500)));
    } else {
        p.estimated_age_years = Some(rng.random_range(1..14));
    }
    if matches!(species, Species::Dog | Species::Cat) && rng.random_bool(0.75) {
        *chip += 1;
        p.microchip = format!("977200{:09}", *chip);
    }
    match rng.random_range(0..100) {
        0..5 => p.alerts = vec!["Bites".into()],
        5..8 => p.alerts = vec!["Nervous — muzzle".into()],
        8..10 => p.alerts = vec!["Penicillin allergy".into()],
        _ => {}
    }
    p
}

/// Working hours: vets Monday to Friday 08:30–18:00 and every other vet Saturday mornings; nurses
/// Monday to Friday 08:30–17:30.
pub(crate) fn working_hours(store: &Store, admin: &Session, staff: &[Staff]) -> Result<()> {
    let mut vets = 0;
    for s in staff {
        let (end, saturday) = match s.role {
            Role::Vet => {
                vets += 1;
                (18 * 60, vets % 2 == 1)
            }
            Role::Nurse => (17 * 60 + 30, false),
            _ => continue,
        };
        let mut days: Vec<WorkingDay> =
            (1..=5).map(|weekday| WorkingDay { weekday, start_minute: 8 * 60 + 30, end_minute: end }).collect();
        if saturday {
            days.push(WorkingDay { weekday: 6, start_minute: 9 * 60, end_minute: 12 * 60 + 30 });
        }
        store.set_working_hours(admin, s.id, &days)?;
    }
    Ok(())
}

/// Fills each clinician's working days with appointments, one transaction per day.
#[allow(clippy::too_many_arguments)]
pub(crate) fn appointments(
    store: &Store,
    admin: &Session,
    rng: &mut ChaCha8Rng,
    staff: &[Staff],
    owned: &[(Uuid, Uuid)],
    size: Size,
    today: NaiveDate,
    progress: &mut dyn FnMut(String),
) -> Result<usize> {
    let volume = size.volume();
    let first = today - Duration::days(volume.days - FUTURE_DAYS);
    let clinicians: Vec<&Staff> = staff.iter().filter(|s| matches!(s.role, Role::Vet | Role::Nurse)).collect();
    let mut booked = 0;
    for offset in 0..volume.days {
        let date = first + Duration::days(offset);
        let days_ahead = (date - today).num_days();
        // Bookings thin out the further ahead they are.
        let fill = if days_ahead <= 0 { 1.0 } else { (1.0 - days_ahead as f64 / (FUTURE_DAYS + 5) as f64).max(0.05) };
        let mut day = Vec::new();
        let mut vet_number = 0;
        for c in &clinicians {
            let (start, end, density) = match (c.role, date.weekday()) {
                (_, Weekday::Sun) => continue,
                (Role::Vet, Weekday::Sat) => {
                    vet_number += 1;
                    if vet_number % 2 == 0 {
                        continue;
                    }
                    (9 * 60, 12 * 60 + 30, 0.6)
                }
                (Role::Vet, _) => (8 * 60 + 30, 18 * 60, 0.55),
                (_, Weekday::Sat) => continue,
                (_, _) => (8 * 60 + 30, 17 * 60 + 30, 0.45),
            };
            let mut minute = start;
            while minute < end {
                let kind = pick_kind(rng, c.role, minute);
                let minutes = kind.default_minutes();
                if minute + minutes > end {
                    break;
                }
                if rng.random_bool((density * volume.busy * fill).min(1.0)) {
                    let (client_id, patient_id) = owned[rng.random_range(0..owned.len())];
                    let reasons = REASONS.iter().find(|(k, _)| *k == kind).map(|(_, r)| *r).unwrap_or(&[""]);
                    day.push((
                        NewAppointment {
                            clinician_id: c.id,
                            room: room(c.role, kind, vet_number),
                            start: date.and_time(NaiveTime::from_hms_opt(minute / 60, minute % 60, 0).expect("time")),
                            minutes,
                            kind,
                            reason: reasons.choose(rng).expect("reasons").to_string(),
                            patient_id,
                            client_id,
                            notes: String::new(),
                            confirm_outside_hours: true,
                        },
                        status_for(rng, days_ahead, minute),
                    ));
                    minute += minutes;
                } else {
                    minute += 15;
                }
            }
        }
        booked += day.len();
        if !day.is_empty() {
            store.write(admin, |w| {
                for (new, status) in &day {
                    w.record_past_appointment(new, *status)?;
                }
                Ok(())
            })?;
        }
        if offset % 30 == 29 || offset == volume.days - 1 {
            progress(format!("{} of {} days of appointments booked", offset + 1, volume.days));
        }
    }
    Ok(booked)
}

fn pick_kind(rng: &mut ChaCha8Rng, role: Role, minute: u32) -> AppointmentKind {
    if role == Role::Nurse {
        return if rng.random_bool(0.8) { AppointmentKind::NurseClinic } else { AppointmentKind::Vaccination };
    }
    let morning = minute < 12 * 60;
    match rng.random_range(0..100) {
        0..6 if morning => AppointmentKind::Operation,
        6..9 if morning => AppointmentKind::Dental,
        0..55 => AppointmentKind::Consultation,
        55..78 => AppointmentKind::Vaccination,
        78..97 => AppointmentKind::Recheck,
        _ => AppointmentKind::Euthanasia,
    }
}

fn room(role: Role, kind: AppointmentKind, vet_number: usize) -> String {
    match (role, kind) {
        (_, AppointmentKind::Operation | AppointmentKind::Dental) => "Theatre".into(),
        (Role::Nurse, _) => "Nurse room".into(),
        _ => format!("Consult {}", vet_number % 4 + 1),
    }
}

/// Past appointments are mostly done; today's follow the clock; future ones are booked.
fn status_for(rng: &mut ChaCha8Rng, days_ahead: i64, minute: u32) -> AppointmentStatus {
    let roll = rng.random_range(0..100);
    match days_ahead {
        d if d < 0 => match roll {
            0..4 => AppointmentStatus::NoShow,
            4..10 => AppointmentStatus::Cancelled,
            _ => AppointmentStatus::Done,
        },
        0 if minute < 10 * 60 => match roll {
            0..5 => AppointmentStatus::Cancelled,
            _ => AppointmentStatus::Done,
        },
        0 if minute < 11 * 60 => AppointmentStatus::Arrived,
        _ => match roll {
            0..4 => AppointmentStatus::Cancelled,
            _ => AppointmentStatus::Booked,
        },
    }
}
