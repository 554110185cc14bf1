//! The label and the written prescription, read back with `pdftotext` (poppler-utils), against the
//! legal lists: every required item is there, and nothing of another animal.

use std::process::Command;
use std::sync::Arc;

use chrono::{NaiveDate, TimeZone, Utc};
use lifeboat_core::clinical::prescription::{NewDispensing, NewPrescription};
use lifeboat_core::views::documents::PrescriptionDocument;
use lifeboat_core::{example, ManualClock, NewClient, NewPatient, Role, Species, Store, StoreConfig};
use lifeboat_print::Mark;

fn text_of(pdf: &[u8]) -> String {
    let dir = tempfile::TempDir::new().unwrap();
    let path = dir.path().join("doc.pdf");
    std::fs::write(&path, pdf).unwrap();
    let out = Command::new("pdftotext")
        .args(["-layout", path.to_str().unwrap(), "-"])
        .output()
        .expect("pdftotext (poppler-utils) runs");
    assert!(out.status.success());
    // pdftotext lays words out with runs of spaces; one space is enough to search in.
    String::from_utf8_lossy(&out.stdout).split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Keeps a copy to look at, in `test-output/documents/` at the repository root.
fn save(name: &str, pdf: &[u8]) {
    let dir = manifest_dir().join("../../test-output/documents");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join(name), pdf).unwrap();
}

struct Fixture {
    _dir: tempfile::TempDir,
    store: Store,
    vet: lifeboat_core::Session,
}

/// A practice whose client owns two dogs; the vet prescribes for one of them.
fn fixture() -> (Fixture, uuid::Uuid) {
    let dir = tempfile::TempDir::new().unwrap();
    let clock = Arc::new(ManualClock::new(Utc.with_ymd_and_hms(2026, 11, 30, 10, 15, 0).unwrap()));
    let store = Store::open(StoreConfig::in_dir(dir.path()), clock).unwrap();
    let admin = store.create_practice(&example::practice_setup("admin", "a long password")).unwrap();
    let mut vet = example::staff("j.herriot", Role::Vet, "a long password");
    vet.display_name = "James Herriot".into();
    store.add_staff(&admin, &vet).unwrap();
    let vet = store.login("j.herriot", "a long password").unwrap();
    let owner = NewClient {
        title: "Mrs".into(),
        first_name: "Agatha".into(),
        last_name: "Quillfeather".into(),
        address_line1: "3 Orchard Row".into(),
        town: "Exeter".into(),
        postcode: "EX4 1AB".into(),
        phone: "07700 900461".into(),
        ..Default::default()
    };
    let mut biscuit = NewPatient::new("Biscuit", Species::Dog);
    biscuit.breed = "Border Terrier".into();
    biscuit.microchip = "826098100004321".into();
    let saved = store.register_client_with_patient(&admin, &owner, Some(&biscuit)).unwrap();
    store.register_patient(&admin, saved.client.id, &NewPatient::new("Crumpet", Species::Dog)).unwrap();
    (Fixture { _dir: dir, store, vet }, saved.patient.unwrap().id)
}

fn document(f: &Fixture, new: &NewPrescription) -> PrescriptionDocument {
    let done = f.store.prescribe(&f.vet, new).unwrap();
    let dispensing = done.dispensing.map(|d| d.id);
    f.store.prescription_document(&f.vet, done.prescription.id, dispensing).unwrap()
}

fn meloxicam(f: &Fixture, patient: uuid::Uuid) -> NewPrescription {
    let product = f.store.find_products(&f.vet, "Metacam 1.5", 1).unwrap().remove(0);
    NewPrescription {
        patient_id: Some(patient),
        product_id: Some(product.id),
        quantity: "10".into(),
        dose: "0.8 ml".into(),
        route: "By mouth".into(),
        frequency: "Once daily".into(),
        duration: "7 days".into(),
        directions: "Give 0.8 ml by mouth once daily with food for 7 days".into(),
        warnings: "Give with food.".into(),
        dispense: Some(NewDispensing {
            quantity: String::new(),
            batch: "MX2291".into(),
            expiry: NaiveDate::from_ymd_opt(2027, 6, 30),
            collected_by: String::new(),
        }),
        ..Default::default()
    }
}

#[test]
fn the_label_carries_every_legal_item_for_one_animal() {
    let (f, biscuit) = fixture();
    let doc = document(&f, &meloxicam(&f, biscuit));
    let pdf = lifeboat_print::label(&doc, Mark::Real).unwrap();
    let text = text_of(&pdf);
    for (item, words) in [
        ("supplier's name", "Riverside Vets"),
        ("supplier's address", "12 Mill Lane, Exeter EX1 1AA"),
        ("supplier's telephone", "01392 000000"),
        ("prescriber", "James Herriot BVSc MRCVS"),
        ("owner", "Owner: Mrs Agatha Quillfeather, 3 Orchard Row, Exeter EX4 1AB"),
        ("animal", "For: Biscuit (Dog)"),
        ("date", "Date: 30/11/2026"),
        ("product and strength", "Metacam 1.5 mg/ml oral suspension for dogs"),
        ("quantity", "Quantity: 10 ml"),
        ("dosage and directions", "Give 0.8 ml by mouth once daily with food for 7 days"),
        ("expiry", "Expiry: 30/06/2027"),
        ("batch", "Batch: MX2291"),
        ("warnings", "Warnings: Give with food."),
        ("animal treatment only", "For animal treatment only."),
        ("children", "Keep out of the sight and reach of children."),
    ] {
        assert!(text.contains(words), "the label's {item} ({words:?}) is missing: {text}");
    }
    assert!(!text.contains("Crumpet"), "nothing of the owner's other dog: {text}");
    save("label.pdf", &pdf);
}

#[test]
fn the_written_prescription_carries_every_legal_item() {
    let (f, biscuit) = fixture();
    let doc = document(&f, &NewPrescription { dispense: None, repeats: 2, ..meloxicam(&f, biscuit) });
    let pdf = lifeboat_print::prescription(&doc, Mark::Real);
    save("prescription.pdf", &pdf);
    let text = text_of(&pdf);
    for (item, words) in [
        ("prescriber's name", "James Herriot"),
        ("qualifications", "BVSc MRCVS"),
        ("RCVS number", "7012345"),
        ("prescriber's address", "12 Mill Lane, Exeter EX1 1AA"),
        ("telephone", "01392 000000"),
        ("owner", "Mrs Agatha Quillfeather"),
        ("owner's address", "3 Orchard Row, Exeter EX4 1AB"),
        ("animal and species", "Biscuit - Dog, Border Terrier, microchip 826098100004321"),
        ("date", "Date 30/11/2026"),
        ("validity", "Valid until 29/05/2027"),
        ("product", "Metacam 1.5 mg/ml oral suspension for dogs"),
        ("amount", "Amount 10 ml"),
        ("dose", "0.8 ml"),
        ("administration", "Give 0.8 ml by mouth once daily with food for 7 days"),
        ("warnings", "Give with food."),
        ("withdrawal period", "Not applicable: not a food-producing animal"),
        ("repeats", "May be dispensed 2 more times"),
        ("authentication", "authenticated electronically by James Herriot (j.herriot)"),
        ("signature", "Signature:"),
        ("animal treatment", "For animal treatment only"),
    ] {
        assert!(text.contains(words), "the prescription's {item} ({words:?}) is missing: {text}");
    }
    assert!(!text.contains("Crumpet"), "nothing of another animal: {text}");
}

#[test]
fn a_controlled_drug_prescription_states_the_amount_in_words_and_figures_and_the_declaration() {
    let (f, biscuit) = fixture();
    let ketamine = f.store.find_products(&f.vet, "Ketamidor", 1).unwrap().remove(0);
    let new = NewPrescription {
        product_id: Some(ketamine.id),
        quantity: "10".into(),
        quantity_words: "ten".into(),
        dispense: None,
        ..meloxicam(&f, biscuit)
    };
    let pdf = lifeboat_print::prescription(&document(&f, &new), Mark::Real);
    save("prescription-cd.pdf", &pdf);
    let text = text_of(&pdf);
    for words in [
        "CONTROLLED DRUG - Schedule 2",
        "Amount 10 (ten) ml",
        "RCVS number 7012345",
        "Valid until 27/12/2026",
        "Not repeatable",
        "I prescribe this controlled drug for an animal under my care.",
    ] {
        assert!(text.contains(words), "{words:?} is missing: {text}");
    }
}

#[test]
fn a_long_label_shrinks_or_continues_but_never_loses_text() {
    let (f, biscuit) = fixture();
    let long = "Shake well. ".repeat(60);
    let doc = document(&f, &NewPrescription { directions: long.trim().into(), ..meloxicam(&f, biscuit) });
    let pdf = lifeboat_print::label(&doc, Mark::Real).unwrap();
    save("label-long.pdf", &pdf);
    let text = text_of(&pdf);
    assert_eq!(text.matches("Shake well.").count(), 60, "every word of the directions is printed");
    assert!(text.contains("label 1 of 2") || text.contains("Keep out of the sight and reach of children."));
    assert!(text.contains("Keep out of the sight and reach of children."));
}

/// The package's folder, as Cargo names it when it runs this (the compile-time one as a fallback): a
/// build shared between two checkouts (CI's clone and a working copy) must read the files of the
/// checkout it runs in.
fn manifest_dir() -> std::path::PathBuf {
    std::env::var_os("CARGO_MANIFEST_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| env!("CARGO_MANIFEST_DIR").into())
}

#[test]
fn the_worklist_lists_what_is_not_yet_in_the_pms_by_animal_with_a_tick_box_each_and_is_noted_as_an_export() {
    use lifeboat_core::ledger::{EnteredMark, LedgerFilter, Stage};
    let (f, biscuit) = fixture();
    document(&f, &meloxicam(&f, biscuit));
    let admin = f.store.login("admin", "a long password").unwrap();
    f.store.add_staff(&admin, &example::staff("m.manager", Role::Manager, "a long password")).unwrap();
    let manager = f.store.login("m.manager", "a long password").unwrap();
    let began = NaiveDate::from_ymd_opt(2026, 11, 30).unwrap().and_hms_opt(9, 0, 0).unwrap();
    f.store.set_outage_began(&manager, Some(began)).unwrap();
    // Forty more clients registered at the desk: the list runs to more than one page.
    for i in 0..40 {
        let new = NewClient {
            first_name: format!("Client{i:02}"),
            last_name: "Walk-in".into(),
            phone: format!("07700 9{i:05}"),
            ..Default::default()
        };
        f.store.register_client(&admin, &new).unwrap();
    }
    // Mrs Quillfeather is entered already: she is not on the list.
    let before = f.store.ledger(&manager, &LedgerFilter::default()).unwrap();
    let agatha = before.entries.iter().find(|e| e.summary == "Mrs Agatha Quillfeather, EX4 1AB").unwrap().id.clone();
    f.store.mark_entered(&manager, &[EnteredMark { record_id: agatha.clone(), pms_id: "4471".into() }]).unwrap();
    let waiting = before.total.total() - 1;

    let printed_at = Utc.with_ymd_and_hms(2026, 11, 30, 16, 0, 0).unwrap();
    let done =
        f.store.export_worklist(&manager, |list| Ok(lifeboat_print::worklist(list, printed_at, Mark::Real))).unwrap();
    save("worklist.pdf", &done.bytes);
    assert_eq!((done.rows, done.marked), (waiting, waiting));
    let text = text_of(&done.bytes);
    assert!(text.starts_with("Back-entry worklist"), "{text}");
    assert!(
        text.contains(&format!("{waiting} records made or changed since the outage began (30/11/2026 09:00)")),
        "{text}"
    );
    assert!(text.contains("Biscuit (Dog) - Mrs Agatha Quillfeather"), "{text}");
    assert!(text.contains("Crumpet (Dog) - Mrs Agatha Quillfeather"), "{text}");
    assert!(text.contains("Prescription: Metacam"), "{text}");
    assert!(text.contains("Client: Client00 Walk-in"), "{text}");
    // Animals first, by name; then clients with no animal on the list.
    let (biscuit_at, crumpet_at, walk_in_at) = (
        text.find("Biscuit (Dog)").unwrap(),
        text.find("Crumpet (Dog)").unwrap(),
        text.find("Client: Client00").unwrap(),
    );
    assert!(biscuit_at < crumpet_at && crumpet_at < walk_in_at, "{text}");
    assert!(!text.contains("Client: Mrs Agatha Quillfeather"), "an entered record is not listed: {text}");
    assert_eq!(text.matches("Lifeboat id ").count() as u32, waiting, "every waiting record once: {text}");
    let pages = text.matches("Printed 30/11/2026 16:00 from Lifeboat - page ").count();
    assert!(pages >= 2, "{pages} pages");
    assert!(text.contains(&format!("page {pages} of {pages}")), "{text}");

    // The ledger knows it as an export, and each record on it as exported in it.
    let after = f.store.ledger(&manager, &LedgerFilter::default()).unwrap();
    assert_eq!(after.exports[0].format, "worklist");
    assert_eq!(after.exports[0].rows, waiting);
    assert!(after
        .entries
        .iter()
        .filter(|e| e.id != agatha)
        .all(|e| e.stage == Stage::Exported && e.export_id.as_deref() == Some(done.export_id.to_string().as_str())));
}

/// The continuity pack for the next working day: the day list, a safety sheet for the animal booked
/// with its alerts, medicines, vaccination and weight, the active prescriptions, the controlled drugs
/// balances and the staff with their phones; nothing of an animal not booked.
#[test]
fn the_continuity_pack_names_tomorrows_animals_with_their_alerts_and_medicines() {
    use lifeboat_core::{AppointmentKind, NewAppointment, StaffUpdate, WorkingDay};
    let (f, biscuit) = fixture();
    let admin = f.store.login("admin", "a long password").unwrap();
    let days: Vec<_> =
        (1..=5).map(|weekday| WorkingDay { weekday, start_minute: 8 * 60 + 30, end_minute: 18 * 60 }).collect();
    f.store.set_working_hours(&admin, f.vet.staff_id, &days).unwrap();
    f.store
        .update_staff(&admin, f.vet.staff_id, &StaffUpdate { phone: Some("07700 900123".into()), ..Default::default() })
        .unwrap();
    let owner = f.store.patient_record(&f.vet, biscuit).unwrap().owners[0].id;
    f.store.add_number_block(&admin, lifeboat_core::organisation::numbers::NumberKind::Animal, 1, 99).unwrap();
    let mut pepper = NewPatient::new("Pepper", Species::Cat);
    pepper.alerts = vec!["Bites".into(), "Allergic to penicillin".into()];
    let pepper = f.store.register_patient(&admin, owner, &pepper).unwrap();
    document(&f, &meloxicam(&f, biscuit));
    // Dispensed in full above; this one is still to supply.
    f.store
        .prescribe(
            &f.vet,
            &NewPrescription {
                dispense: None,
                directions: "Repeat supply: give 0.8 ml once daily".into(),
                ..meloxicam(&f, biscuit)
            },
        )
        .unwrap();
    let vaccine = f.store.find_products(&f.vet, "Purevax", 1).unwrap().remove(0);
    f.store
        .prescribe(
            &f.vet,
            &NewPrescription {
                patient_id: Some(pepper.id),
                product_id: Some(vaccine.id),
                quantity: "1".into(),
                dose: "1 dose".into(),
                route: "Subcutaneous injection".into(),
                frequency: "Once".into(),
                duration: "1 day".into(),
                directions: "Primary vaccination, second dose".into(),
                ..Default::default()
            },
        )
        .unwrap();
    let tomorrow = NaiveDate::from_ymd_opt(2026, 12, 1).unwrap();
    f.store
        .book_appointment(
            &admin,
            &NewAppointment {
                clinician_id: f.vet.staff_id,
                room: "Consult 2".into(),
                start: tomorrow.and_hms_opt(9, 0, 0).unwrap(),
                minutes: 15,
                kind: AppointmentKind::Vaccination,
                reason: "Second vaccination".into(),
                patient_id: pepper.id,
                client_id: owner,
                notes: "Use the cat basket room".into(),
                confirm_outside_hours: false,
            },
        )
        .unwrap();
    let pack = f.store.continuity_pack(&f.vet, Some(tomorrow)).unwrap();
    let pdf = lifeboat_print::continuity_pack(&pack, pack.made_at, Mark::Real);
    save("continuity-pack.pdf", &pdf);
    let text = text_of(&pdf);
    for (item, words) in [
        ("title", "Continuity pack Riverside Vets For Tuesday 1 December 2026"),
        ("contents", "Day lists: 1 appointment on Tuesday 1 December 2026, one list per clinician"),
        ("contents", "Safety sheets: 1 animal booked in the 3 days from 01/12/2026"),
        ("day list", "Day list - James Herriot"),
        ("day list row", "09:00-09:15 Pepper (Cat) ! Bites, All... Mrs A. Quillfeather 07700 900461"),
        ("sheet", "Pepper (Cat) - Lifeboat no. A-1"),
        ("alerts", "ALERTS: Bites; Allergic to penicillin"),
        ("owner", "Owner: Mrs Agatha Quillfeather - 07700 900461"),
        (
            "booking",
            "Booked Tue 01/12 09:00 Consult 2 with James Herriot - Vaccination: Second vaccination - Notes: Use the cat basket room",
        ),
        ("current medicine", "Current medicines: none to supply from Lifeboat's prescriptions"),
        ("vaccination", "Vaccinations: 30/11/2026 Purevax RCP"),
        ("weight", "no weight recorded"),
        ("active prescriptions", "Active prescriptions"),
        (
            "a prescription",
            "30/11/2026 - Biscuit (Mrs Agatha Quillfeather) - Metacam 1.5 mg/ml oral suspension for dogs (POM-V) Repeat supply: give 0.8 ml once daily",
        ),
        ("page numbers", "Continuity pack for Tuesday 1 December 2026 - page 2 of 6"),
        ("contents", "Active prescriptions (valid, with supplies left): 1"),
        ("CD balances", "Controlled drugs balances"),
        ("CD line", "Balance 0 ml - Ketamidor 100 mg/ml solution for injection 100 mg/ml (no entries)"),
        ("staff", "James Herriot BVSc MRCVS (vet) - 07700 900123"),
        ("handling", "keep it locked away, and shred it when the next pack is printed"),
    ] {
        assert!(text.contains(words), "the pack's {item} ({words:?}) is missing: {text}");
    }
    let sheets = text.split("Safety sheets").nth(2).unwrap_or_default();
    assert!(
        !sheets.split("Active prescriptions").next().unwrap_or_default().contains("Crumpet"),
        "no sheet for an animal not booked"
    );
}

/// The receipt: the day's charges with their VAT, the VAT per rate, what was paid and how, and what is
/// left on the account.
#[test]
fn the_receipt_shows_the_days_charges_with_vat_and_the_payment() {
    use lifeboat_core::accounts::{NewPayment, PaymentKind, PaymentMethod};
    use lifeboat_core::clinical::charge::NewCharge;
    let (f, biscuit) = fixture();
    let admin = f.store.login("admin", "a long password").unwrap();
    let fee = f.store.fees(&f.vet).unwrap().into_iter().find(|x| x.name == "Consultation").unwrap();
    let charge = NewCharge {
        patient_id: biscuit,
        consultation_id: None,
        fee_id: fee.id,
        quantity: String::new(),
        note: String::new(),
    };
    f.store.add_charge(&f.vet, &charge).unwrap();
    let owner = f.store.patient_record(&f.vet, biscuit).unwrap().owners[0].id;
    let payment = f
        .store
        .take_payment(
            &admin,
            &NewPayment {
                client_id: owner,
                kind: PaymentKind::Payment,
                method: PaymentMethod::CardToRun,
                amount: "30".into(),
                reference: String::new(),
                note: String::new(),
            },
        )
        .unwrap();
    let pdf = lifeboat_print::receipt(&f.store.receipt(&admin, payment.id).unwrap(), Mark::Real);
    save("receipt.pdf", &pdf);
    let text = text_of(&pdf);
    for (item, words) in [
        ("heading", "Riverside Vets Receipt"),
        ("address", "12 Mill Lane, Exeter EX1 1AA"),
        ("date", "30/11/2026 10:15"),
        ("client", "Mrs Agatha Quillfeather 3 Orchard Row Exeter EX4 1AB"),
        ("charge", "Consultation £45.00 £9.00 (20%) £54.00"),
        ("VAT per rate", "VAT at 20% on £45.00 £9.00"),
        ("total", "Total charged today, VAT included £54.00"),
        ("paid", "To be taken by card: £30.00 Card, to run on the terminal later: not yet taken from the card"),
        ("not an invoice", "This is a receipt, not a VAT invoice"),
        ("balance", "Balance owed on the account: £54.00 Card payments still to run on the terminal: £30.00"),
    ] {
        assert!(text.contains(words), "the receipt's {item} ({words:?}) is missing: {text}");
    }
}

/// An animal registered on a PC with a block of animal numbers carries its number on the label.
#[test]
fn the_label_carries_the_animals_lifeboat_number() {
    let (f, biscuit) = fixture();
    let admin = f.store.login("admin", "a long password").unwrap();
    f.store.add_number_block(&admin, lifeboat_core::organisation::numbers::NumberKind::Animal, 52, 99).unwrap();
    let owner = f.store.patient_record(&f.vet, biscuit).unwrap().owners[0].id;
    let crumble = f.store.register_patient(&admin, owner, &NewPatient::new("Crumble", Species::Dog)).unwrap();
    let doc = document(&f, &meloxicam(&f, crumble.id));
    assert_eq!(doc.animal_number.as_deref(), Some("A-52"));
    let text = text_of(&lifeboat_print::label(&doc, Mark::Real).unwrap());
    assert!(text.contains("For: Crumble (Dog), Lifeboat no. A-52"), "{text}");
}

/// The pages of a PDF as pdftotext reads them, each with its whitespace run together.
fn pages_of(pdf: &[u8]) -> Vec<String> {
    let dir = tempfile::TempDir::new().unwrap();
    let path = dir.path().join("doc.pdf");
    std::fs::write(&path, pdf).unwrap();
    let out = Command::new("pdftotext").args([path.to_str().unwrap(), "-"]).output().expect("pdftotext runs");
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let mut pages: Vec<String> =
        text.split('\u{c}').map(|p| p.split_whitespace().collect::<Vec<_>>().join(" ")).collect();
    if pages.last().is_some_and(|p| p.is_empty()) {
        pages.pop();
    }
    pages
}

/// In a drill every page of every printout says so, top and bottom and across the middle, and still
/// carries everything it would carry for real; a real printout never says DRILL.
#[test]
fn a_drills_printouts_say_drill_on_every_page_and_real_ones_never_do() {
    let (f, biscuit) = fixture();
    let doc = document(&f, &meloxicam(&f, biscuit));
    let pack = f.store.continuity_pack(&f.vet, None).unwrap();
    let now = pack.made_at;
    let admin = f.store.login("admin", "a long password").unwrap();
    f.store
        .set_outage_began(&admin, Some(NaiveDate::from_ymd_opt(2026, 11, 30).unwrap().and_hms_opt(9, 0, 0).unwrap()))
        .unwrap();
    let mut worklists = (Vec::new(), Vec::new());
    f.store
        .export_worklist(&admin, |list| {
            worklists =
                (lifeboat_print::worklist(list, now, Mark::Real), lifeboat_print::worklist(list, now, Mark::Drill));
            Ok(Vec::new())
        })
        .unwrap();
    for (name, real, drill) in [
        ("label", lifeboat_print::label(&doc, Mark::Real).unwrap(), lifeboat_print::label(&doc, Mark::Drill).unwrap()),
        (
            "prescription",
            lifeboat_print::prescription(&doc, Mark::Real),
            lifeboat_print::prescription(&doc, Mark::Drill),
        ),
        ("worklist", worklists.0, worklists.1),
        (
            "continuity pack",
            lifeboat_print::continuity_pack(&pack, now, Mark::Real),
            lifeboat_print::continuity_pack(&pack, now, Mark::Drill),
        ),
    ] {
        let (real_pages, drill_pages) = (pages_of(&real), pages_of(&drill));
        assert_eq!(real_pages.len(), drill_pages.len(), "{name}: the mark adds no page");
        assert!(real_pages.iter().all(|p| !p.contains("DRILL")), "{name}: a real printout says DRILL");
        for (i, (real_page, drill_page)) in real_pages.iter().zip(&drill_pages).enumerate() {
            assert_eq!(
                drill_page.matches(lifeboat_print::DRILL_WORDS).count(),
                2,
                "{name} page {}: the drill's words top and bottom: {drill_page}",
                i + 1
            );
            let unmarked = drill_page.replace(lifeboat_print::DRILL_WORDS, "").replace("DRILL", "");
            for word in real_page.split(' ') {
                assert!(unmarked.contains(word), "{name} page {}: {word:?} is still printed", i + 1);
            }
        }
        save(&format!("drill-{}.pdf", name.replace(' ', "-")), &drill);
    }
}
