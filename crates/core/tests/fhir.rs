//! The backlog as a FHIR R4 transaction Bundle, checked by an independent validator (fhir.resources,
//! the R4 models generated from HL7's definitions, run by `scripts/fhir-validator/validate.py` in
//! the venv `scripts/setup --test` makes), and read back resource by resource.

mod common;

use std::path::PathBuf;
use std::process::Command;

use chrono::NaiveDate;
use common::{clinic, login_as, Clinic, PASSWORD};
use lifeboat_core::clinical::consultation::{ConsultationDraft, NewAddendum, StartConsultation};
use lifeboat_core::clinical::prescription::{NewDispensing, NewPrescription};
use lifeboat_core::clinical::vitals::Vitals;
use lifeboat_core::ledger::{LedgerFilter, Stage};
use lifeboat_core::{Role, Session};
use serde_json::{json, Value};

fn manifest_dir() -> PathBuf {
    PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"))
}

/// Runs the independent validator on `bundle`; (whether it passed, what it printed). A missing
/// validator fails the test, saying how to install it: it is never skipped.
fn validate(bundle: &[u8]) -> (bool, String) {
    let python = std::env::var("LIFEBOAT_FHIR_VALIDATOR").map(PathBuf::from).unwrap_or_else(|_| {
        PathBuf::from(std::env::var("HOME").expect("HOME is set")).join(".cache/lifeboat/fhir-validator/bin/python")
    });
    assert!(python.exists(), "the FHIR validator is not installed at {}: run scripts/setup --test", python.display());
    let dir = tempfile::TempDir::new().unwrap();
    let file = dir.path().join("bundle.json");
    std::fs::write(&file, bundle).unwrap();
    let script = manifest_dir().join("../../scripts/fhir-validator/validate.py");
    let out = Command::new(&python).arg(&script).arg(&file).output().expect("the validator runs");
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    (out.status.success(), text.replace(file.to_str().unwrap(), "bundle.json"))
}

/// The consult-room practice during an outage: the dog's consultation signed with its vitals and an
/// addendum, a prescription dispensed, the booking done; a manager.
fn consulted() -> (Clinic, Session, uuid::Uuid) {
    let c = clinic();
    let manager = login_as(c.store(), &c.r.admin, "m.manager", Role::Manager);
    c.store().set_outage_began(&manager, Some(common::local("2026-03-29 09:00"))).unwrap();
    let start = StartConsultation { appointment_id: Some(c.appointment.id), patient_id: None };
    let consultation = c.store().start_consultation(&c.vet, &start).unwrap();
    let draft = ConsultationDraft {
        subjective: "Lame on the left fore for 2 days.".into(),
        objective: "Pain on flexing the carpus <left>.".into(),
        assessment: "Soft tissue injury & strain".into(),
        plan: "NSAID 7 days; re-check if not better.".into(),
        vitals: Vitals {
            weight_kg: Some(8.4),
            temperature_c: Some(38.6),
            heart_rate: Some(96),
            respiratory_rate: None,
            body_condition: None,
        },
    };
    c.store().save_consultation_draft(&c.vet, consultation.id, &draft).unwrap();
    c.store().sign_consultation(&c.vet, consultation.id, PASSWORD, false).unwrap();
    c.store()
        .add_addendum(
            &c.vet,
            consultation.id,
            &NewAddendum { reason: "Owner called".into(), text: "Much better today.".into() },
        )
        .unwrap();
    let product = c.product("Metacam 1.5");
    c.store()
        .prescribe(
            &c.vet,
            &NewPrescription {
                patient_id: Some(c.r.dog.id),
                consultation_id: Some(consultation.id),
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
            },
        )
        .unwrap();
    (c, manager, consultation.id)
}

fn resources<'a>(bundle: &'a Value, kind: &str) -> Vec<&'a Value> {
    bundle["entry"].as_array().unwrap().iter().filter(|e| e["resource"]["resourceType"] == kind).collect()
}

#[test]
fn the_backlog_as_a_fhir_bundle_passes_an_independent_r4_validator_and_says_what_lifeboat_holds() {
    let (c, manager, consultation) = consulted();
    let mut heard = Vec::new();
    let exported = c.store().export_fhir_progress(&manager, &mut |done, total| heard.push((done, total))).unwrap();
    // Progress as it goes, ending with every backlog record it carries (here 7 records: client, dog,
    // booking, consultation with its addendum, prescription, dispensing).
    assert_eq!(heard.last(), Some(&(7, 7)), "{heard:?}");
    let (valid, said) = validate(&exported.exported.bytes);
    assert!(valid, "{said}");
    assert_eq!(
        said.trim(),
        "bundle.json: valid FHIR R4 transaction Bundle (1 Appointment, 1 Encounter, 1 MedicationDispense, 1 MedicationRequest, \
         3 Observation, 1 Patient, 1 Person, 1 Provenance)"
    );
    let bundle: Value = serde_json::from_slice(&exported.exported.bytes).unwrap();
    assert_eq!(bundle["type"], "transaction");
    let dog = c.r.dog.id.to_string();

    let person = resources(&bundle, "Person")[0];
    assert_eq!(person["fullUrl"], format!("urn:uuid:{}", c.r.client.id));
    assert_eq!(
        person["request"],
        json!({ "method": "PUT", "url": format!("Person?identifier=https://lifeboat.vet/fhir/id|{}", c.r.client.id) })
    );
    assert_eq!(
        person["resource"]["name"],
        json!([{ "use": "official", "text": "Mrs Agatha Quillfeather", "family": "Quillfeather", "given": ["Agatha"], "prefix": ["Mrs"] }])
    );
    assert_eq!(person["resource"]["address"][0]["postalCode"], "EX4 1AB");
    assert_eq!(
        person["resource"]["link"],
        json!([{ "target": { "reference": format!("urn:uuid:{dog}"), "display": "Biscuit" } }])
    );

    let patient = &resources(&bundle, "Patient")[0]["resource"];
    assert_eq!(
        patient["extension"],
        json!([{
            "url": "http://hl7.org/fhir/StructureDefinition/patient-animal",
            "extension": [
                { "url": "species", "valueCodeableConcept": { "coding": [{ "system": "http://snomed.info/sct", "code": "448771007", "display": "Canis lupus subsp. familiaris" }], "text": "Dog" } },
                { "url": "breed", "valueCodeableConcept": { "text": "Border Terrier" } },
                { "url": "genderStatus", "valueCodeableConcept": { "coding": [{ "system": "http://hl7.org/fhir/animal-genderstatus", "code": "intact" }] } },
            ],
        }])
    );
    assert_eq!(patient["identifier"][1]["value"], "826098100004321", "the microchip");

    let appointment = &resources(&bundle, "Appointment")[0]["resource"];
    assert_eq!(
        (appointment["start"].as_str(), appointment["end"].as_str()),
        (Some("2026-03-29T09:00:00Z"), Some("2026-03-29T09:15:00Z"))
    );
    assert_eq!(appointment["participant"][0]["actor"]["reference"], format!("urn:uuid:{dog}"));
    assert_eq!(appointment["participant"][1]["actor"]["display"], "James Herriot");

    let encounter = &resources(&bundle, "Encounter")[0];
    assert_eq!(encounter["fullUrl"], format!("urn:uuid:{consultation}"));
    assert_eq!(encounter["resource"]["status"], "finished");
    assert_eq!(encounter["resource"]["appointment"][0]["reference"], format!("urn:uuid:{}", c.appointment.id));
    let div = encounter["resource"]["text"]["div"].as_str().unwrap();
    assert!(div.contains("<p><b>Objective</b>: Pain on flexing the carpus &lt;left&gt;.</p>"), "{div}");
    assert!(div.contains("<p><b>Assessment</b>: Soft tissue injury &amp; strain</p>"), "{div}");
    assert!(div.contains("(Owner called): Much better today.</p>"), "the addendum: {div}");

    let weights: Vec<(&str, f64, &str)> = resources(&bundle, "Observation")
        .iter()
        .map(|o| {
            let r = &o["resource"];
            (
                r["code"]["coding"][0]["code"].as_str().unwrap(),
                r["valueQuantity"]["value"].as_f64().unwrap(),
                r["valueQuantity"]["code"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(weights, vec![("29463-7", 8.4, "kg"), ("8310-5", 38.6, "Cel"), ("8867-4", 96.0, "/min")]);

    let request = resources(&bundle, "MedicationRequest")[0];
    assert_eq!(request["resource"]["encounter"]["reference"], format!("urn:uuid:{consultation}"));
    assert_eq!(request["resource"]["dispenseRequest"]["quantity"], json!({ "value": 10.0, "unit": "ml" }));
    let dispense = &resources(&bundle, "MedicationDispense")[0]["resource"];
    assert_eq!(dispense["authorizingPrescription"][0]["reference"], request["fullUrl"]);
    assert_eq!(dispense["note"][0]["text"], "Batch MX2291, expiry 2027-06-30.");

    let provenance = &resources(&bundle, "Provenance")[0]["resource"];
    assert_eq!(provenance["target"].as_array().unwrap().len(), 9, "every other resource");
    assert!(provenance["reason"][0]["text"].as_str().unwrap().starts_with("Captured offline in Lifeboat at "));

    // The ledger: the export noted, and each record it carries marked exported in it.
    let l = c.store().ledger(&manager, &LedgerFilter::default()).unwrap();
    assert_eq!((l.exports[0].format.as_str(), l.exports[0].rows), ("fhir", 10));
    let stages: Vec<(&str, Stage)> = l.entries.iter().map(|e| (e.kind.as_str(), e.stage)).collect();
    for (kind, stage) in &stages {
        let carried =
            ["Clients", "Animals", "Appointments", "Consultations", "Addenda", "Prescriptions", "Dispensings"];
        let expected = if carried.contains(kind) { Stage::Exported } else { Stage::Captured };
        assert_eq!(*stage, expected, "{kind}: {stages:?}");
    }
}

#[test]
fn the_validator_refuses_a_bundle_that_breaks_r4() {
    let (c, manager, _) = consulted();
    let exported = c.store().export_fhir(&manager).unwrap();
    let mut bundle: Value = serde_json::from_slice(&exported.exported.bytes).unwrap();
    // An Encounter without its class, and a reference to a record the Bundle does not hold.
    let entries = bundle["entry"].as_array_mut().unwrap();
    let encounter = entries.iter_mut().find(|e| e["resource"]["resourceType"] == "Encounter").unwrap();
    encounter["resource"].as_object_mut().unwrap().remove("class");
    encounter["resource"]["status"] = json!("bogus");
    let request = entries.iter_mut().find(|e| e["resource"]["resourceType"] == "MedicationRequest").unwrap();
    request["resource"]["subject"] = json!({ "reference": "urn:uuid:00000000-0000-0000-0000-000000000000" });
    let (valid, said) = validate(&serde_json::to_vec(&bundle).unwrap());
    assert!(!valid, "{said}");
    assert!(said.contains("entry -> 3 -> resource -> class\n  field required"), "{said}");
    assert!(said.contains("entry[3]: Encounter.status 'bogus' is not in the R4 value set"), "{said}");
    assert!(
        said.contains("resource.subject: urn:uuid:00000000-0000-0000-0000-000000000000 is not an entry of the Bundle"),
        "{said}"
    );
}

/// Lab work reaches the PMS as FHIR: the request as a ServiceRequest (completed once its result is
/// in), the result as a DiagnosticReport carrying the lab's file, each value an Observation with its
/// reference range, a high one interpreted as H, a value that is not a number as text.
#[test]
fn lab_requests_and_results_are_service_requests_reports_and_observations() {
    use lifeboat_core::clinical::lab::{LabFile, LabValueInput, NewLabRequest, NewLabResult};
    let (c, manager, consultation) = consulted();
    let test = c.store().lab_tests(&c.vet, false).unwrap().into_iter().find(|t| t.name == "Urinalysis").unwrap();
    let request = c
        .store()
        .request_lab_work(
            &c.vet,
            &NewLabRequest {
                patient_id: c.r.dog.id,
                consultation_id: Some(consultation),
                test_id: test.id,
                sample_type: "Urine (cystocentesis)".into(),
                lab: String::new(),
                sample_taken_by: Some(c.nurse.staff_id),
                sample_taken_at: None,
                note: "Straining".into(),
            },
        )
        .unwrap();
    let v = |name: &str, value: &str, unit: &str, low: &str, high: &str| LabValueInput {
        name: name.into(),
        value: value.into(),
        unit: unit.into(),
        low: low.into(),
        high: high.into(),
    };
    let result = c
        .store()
        .record_lab_result(
            &c.nurse,
            &NewLabResult {
                request_id: request.id,
                values: vec![
                    v("USG", "1.060", "", "1.015", "1.045"),
                    v("Protein", "Negative", "", "", ""),
                    v("Bilirubin", "<2", "µmol/L", "", "8"),
                ],
                comment: "Concentrated urine.".into(),
                file: Some(LabFile { name: "urine.pdf".into(), bytes: b"%PDF-1.4\nurine\n".to_vec() }),
            },
        )
        .unwrap();
    let exported = c.store().export_fhir(&manager).unwrap();
    let (valid, said) = validate(&exported.exported.bytes);
    assert!(valid, "{said}");
    assert_eq!(
        said.trim(),
        "bundle.json: valid FHIR R4 transaction Bundle (1 Appointment, 1 DiagnosticReport, 1 Encounter, \
         1 MedicationDispense, 1 MedicationRequest, 6 Observation, 1 Patient, 1 Person, 1 Provenance, 1 ServiceRequest)"
    );
    let bundle: Value = serde_json::from_slice(&exported.exported.bytes).unwrap();
    let service = resources(&bundle, "ServiceRequest")[0];
    assert_eq!(service["fullUrl"], format!("urn:uuid:{}", request.id));
    let s = &service["resource"];
    assert_eq!((s["status"].as_str(), s["intent"].as_str()), (Some("completed"), Some("order")));
    assert_eq!(s["code"], json!({ "text": "Urinalysis" }));
    assert_eq!(s["subject"]["reference"], format!("urn:uuid:{}", c.r.dog.id));
    assert_eq!(s["encounter"]["reference"], format!("urn:uuid:{consultation}"));
    assert_eq!(s["performer"], json!([{ "display": "In house" }]));
    assert_eq!(s["note"][0]["text"], "Sample: Urine (cystocentesis), taken by Test nurse at 29/03/2026 09:30.");
    assert_eq!(s["note"][1]["text"], "Straining");

    let report = resources(&bundle, "DiagnosticReport")[0];
    assert_eq!(report["fullUrl"], format!("urn:uuid:{}", result.id));
    let r = &report["resource"];
    assert_eq!(r["status"], "final");
    assert_eq!(r["basedOn"][0]["reference"], format!("urn:uuid:{}", request.id));
    assert_eq!(r["conclusion"], "Concentrated urine.");
    assert_eq!(
        r["presentedForm"],
        json!([{ "contentType": "application/pdf", "data": "JVBERi0xLjQKdXJpbmUK", "title": "urine.pdf" }])
    );
    let observations: Vec<&Value> = resources(&bundle, "Observation")
        .into_iter()
        .filter(|o| o["resource"]["category"][0]["coding"][0]["code"] == "laboratory")
        .collect();
    assert_eq!(observations.len(), 3);
    assert_eq!(r["effectiveDateTime"], s["occurrenceDateTime"], "the report is of the sample, when it was taken");
    assert_eq!(r["result"][0]["reference"], observations[0]["fullUrl"]);
    let usg = &observations[0]["resource"];
    assert_eq!(usg["code"], json!({ "text": "USG" }));
    assert_eq!(usg["valueQuantity"], json!({ "value": 1.06 }));
    assert_eq!(usg["referenceRange"], json!([{ "low": { "value": 1.015 }, "high": { "value": 1.045 } }]));
    assert_eq!(usg["interpretation"][0]["coding"][0]["code"], "H");
    let protein = &observations[1]["resource"];
    assert_eq!(protein["valueString"], "Negative");
    assert!(protein.get("interpretation").is_none() && protein.get("referenceRange").is_none());
    let bilirubin = &observations[2]["resource"];
    assert_eq!(bilirubin["valueQuantity"], json!({ "value": 2.0, "unit": "µmol/L", "comparator": "<" }));
    assert!(bilirubin.get("interpretation").is_none(), "under 2 is within a range up to 8");
}
