//! The backlog as a FHIR R4 (4.0.1) transaction Bundle, for a PMS that reads FHIR: owners as
//! `Person` (linked to their animals), animals as `Patient` with the patient-animal extension,
//! `Appointment`, consultations as `Encounter` (the notes and addenda as its narrative) with an
//! `Observation` per vital sign, `MedicationRequest` and `MedicationDispense`, lab requests as
//! `ServiceRequest` and their results as `DiagnosticReport` with an `Observation` per value (the lab's
//! file as its `presentedForm`), and one `Provenance`
//! saying that every record in it was captured offline in Lifeboat.
//!
//! Every resource carries its Lifeboat id as an identifier, and its request is conditional on it
//! (`PUT Patient?identifier=…` for records that change, `POST` with `ifNoneExist` for those that do
//! not), so a PMS that reads the same Bundle twice makes nothing twice. A record the Bundle refers to
//! but does not carry (an animal that came from the PMS and was not changed) is referred to by its
//! identifiers.

use std::collections::{BTreeMap, HashSet};

use chrono::{DateTime, SecondsFormat, Utc};
use rusqlite::Connection;
use serde_json::{json, Map, Value};

use crate::error::{Error, Result};
use crate::ledger::Exported;
use crate::organisation::practice;
use crate::permission::Action;
use crate::session::Session;
use crate::store::database::Store;
use crate::time;
use crate::views::backlog::{self, KINDS};

/// The identifier system of Lifeboat ids.
pub const ID_SYSTEM: &str = "https://lifeboat.vet/fhir/id";
/// The identifier system of the PMS's numbers of each kind of record (with `/client` etc.).
pub const PMS_SYSTEM: &str = "https://lifeboat.vet/fhir/pms-number";
const MICROCHIP_SYSTEM: &str = "https://lifeboat.vet/fhir/microchip";
const PATIENT_ANIMAL: &str = "http://hl7.org/fhir/StructureDefinition/patient-animal";

fn instant(stored: &str) -> Result<String> {
    Ok(time::parse_stored(stored)?.to_rfc3339_opts(SecondsFormat::Secs, true))
}

/// Drops empty strings, empty lists and empty objects (FHIR allows no empty values), recursively.
fn tidy(v: Value) -> Option<Value> {
    match v {
        Value::String(s) if s.trim().is_empty() => None,
        Value::Null => None,
        Value::Array(items) => {
            let items: Vec<Value> = items.into_iter().filter_map(tidy).collect();
            (!items.is_empty()).then_some(Value::Array(items))
        }
        Value::Object(map) => {
            let map: Map<String, Value> = map.into_iter().filter_map(|(k, v)| tidy(v).map(|v| (k, v))).collect();
            (!map.is_empty()).then_some(Value::Object(map))
        }
        other => Some(other),
    }
}

/// The ids of the records in the Bundle, to refer to them by `urn:uuid:`.
struct Carried(HashSet<String>);

impl Carried {
    /// A reference to `id` (a record of `kind`, with `pms` its PMS number if it has one).
    fn to(&self, kind: &str, id: &str, pms: Option<&str>, display: &str) -> Value {
        if self.0.contains(id) {
            return json!({ "reference": format!("urn:uuid:{id}"), "display": display });
        }
        // Not in the Bundle: the PMS knows it by its number, if it has one, else by Lifeboat's id.
        let identifier = match pms {
            Some(n) if !n.is_empty() => json!({ "system": format!("{PMS_SYSTEM}/{kind}"), "value": n }),
            _ => json!({ "system": ID_SYSTEM, "value": id }),
        };
        json!({ "identifier": identifier, "display": display })
    }
}

fn identifiers(kind: &str, id: &str, pms: Option<String>) -> Value {
    let mut out = vec![json!({ "use": "secondary", "system": ID_SYSTEM, "value": id })];
    if let Some(n) = pms.filter(|n| !n.is_empty()) {
        out.insert(0, json!({ "use": "official", "system": format!("{PMS_SYSTEM}/{kind}"), "value": n }));
    }
    Value::Array(out)
}

/// An entry that creates the record or, where it exists, replaces it: found by its PMS number when
/// it has one (a copy of a PMS record changed here, or a record entered in the PMS since), else by
/// its Lifeboat id.
fn put(resource_type: &str, id: &str, pms: Option<(&str, &str)>, resource: Value) -> Value {
    let condition = match pms {
        Some((kind, number)) if !number.is_empty() => format!("{PMS_SYSTEM}/{kind}|{number}"),
        _ => format!("{ID_SYSTEM}|{id}"),
    };
    json!({
        "fullUrl": format!("urn:uuid:{id}"),
        "resource": resource,
        "request": { "method": "PUT", "url": format!("{resource_type}?identifier={condition}") },
    })
}

/// An entry that creates the record unless one with its Lifeboat id exists.
fn post(resource_type: &str, id: &str, resource: Value) -> Value {
    json!({
        "fullUrl": format!("urn:uuid:{id}"),
        "resource": resource,
        "request": { "method": "POST", "url": resource_type, "ifNoneExist": format!("identifier={ID_SYSTEM}|{id}") },
    })
}

/// Text made safe for the narrative's XHTML.
fn xhtml(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('\n', "<br/>")
}

/// A UUID derived from a record's id and a part of it (an observation of a consultation).
fn part_id(id: &str, part: &str) -> String {
    use sha2::Digest;
    let hash = sha2::Sha256::digest(format!("{ID_SYSTEM}/{id}/{part}").as_bytes());
    let mut bytes = [0u8; 16];
    bytes.copy_from_slice(&hash[..16]);
    uuid::Uuid::new_v8(bytes).to_string()
}

/// What was written.
pub(crate) struct Built {
    pub bundle: Value,
    /// The backlog records it carries.
    pub record_ids: Vec<String>,
    pub resources: BTreeMap<String, u32>,
}

pub(crate) fn build(
    conn: &Connection,
    since: DateTime<Utc>,
    practice_name: &str,
    now: DateTime<Utc>,
    progress: &mut dyn FnMut(u32, u32),
) -> Result<Built> {
    let records = backlog::records(conn, since)?;
    let mut by_kind: BTreeMap<&str, Vec<String>> = BTreeMap::new();
    // A record purged after the outage closed is a blank copy: never sent.
    let mut purged = conn.prepare_cached(
        "SELECT EXISTS (SELECT 1 FROM client WHERE id = ?1 AND purged_at IS NOT NULL)
             OR EXISTS (SELECT 1 FROM patient WHERE id = ?1 AND purged_at IS NOT NULL)
             OR EXISTS (SELECT 1 FROM appointment WHERE id = ?1 AND purged_at IS NOT NULL)",
    )?;
    for r in &records {
        if matches!(KINDS[r.kind].key, "client" | "patient" | "appointment")
            && purged.query_row([&r.id], |x| x.get(0))?
        {
            continue;
        }
        by_kind.entry(KINDS[r.kind].key).or_default().push(r.id.clone());
    }
    let ids = |k: &str| by_kind.get(k).cloned().unwrap_or_default();
    let total: u32 = by_kind.values().map(|v| v.len() as u32).sum();
    // Every 200 records, how far it has got.
    let mut tick = |done: usize| {
        if done.is_multiple_of(200) {
            progress(done as u32, total);
        }
    };
    let carried = Carried(
        ["client", "patient", "appointment", "consultation", "prescription", "dispensing", "lab_request"]
            .iter()
            .flat_map(|k| ids(k))
            .collect(),
    );
    let mut entries = Vec::new();
    let mut record_ids = Vec::new();

    for id in ids("client") {
        let row = conn.query_row(
            "SELECT pms_id, title, first_name, last_name, address_line1, address_line2, town, postcode, phone, phone_alt, email
             FROM client WHERE id = ?1",
            [&id],
            |r| Ok((0..11).map(|i| r.get::<_, Option<String>>(i)).collect::<rusqlite::Result<Vec<_>>>()),
        )??;
        let t = |i: usize| row[i].clone().unwrap_or_default();
        let mut animals = Vec::new();
        let mut stmt = conn.prepare_cached(
            "SELECT p.id, p.pms_id, p.name FROM ownership o JOIN patient p ON p.id = o.patient_id
             WHERE o.client_id = ?1 AND p.merged_into IS NULL ORDER BY o.created_at",
        )?;
        let mut q = stmt.query([&id])?;
        while let Some(a) = q.next()? {
            let (aid, pms, name): (String, Option<String>, String) = (a.get(0)?, a.get(1)?, a.get(2)?);
            animals.push(json!({ "target": carried.to("patient", &aid, pms.as_deref(), &name) }));
        }
        let full = [t(1), t(2), t(3)].iter().filter(|s| !s.is_empty()).cloned().collect::<Vec<_>>().join(" ");
        let person = json!({
            "resourceType": "Person",
            "identifier": identifiers("client", &id, row[0].clone()),
            "name": [{ "use": "official", "text": full, "family": t(3), "given": [t(2)], "prefix": [t(1)] }],
            "telecom": [
                { "system": "phone", "value": t(8), "use": "home" },
                { "system": "phone", "value": t(9) },
                { "system": "email", "value": t(10) },
            ],
            "address": [{ "use": "home", "line": [t(4), t(5)], "city": t(6), "postalCode": t(7), "country": "GB" }],
            "active": true,
            "link": animals,
        });
        entries.push(put("Person", &id, row[0].as_deref().map(|n| ("client", n)), person));
        record_ids.push(id);
        tick(record_ids.len());
    }

    for id in ids("patient") {
        let row = conn.query_row(
            "SELECT pms_id, name, species, species_other, breed, sex, CAST(neutered AS TEXT), date_of_birth, microchip, deceased_on
             FROM patient WHERE id = ?1",
            [&id],
            |r| (0..10).map(|i| r.get::<_, Option<String>>(i)).collect::<rusqlite::Result<Vec<_>>>(),
        )?;
        let t = |i: usize| row[i].clone().unwrap_or_default();
        let (pms, name, species, species_other, breed, sex) = (row[0].clone(), t(1), t(2), t(3), t(4), t(5));
        let (neutered, born, chip, died) = (t(6) == "1", row[7].clone(), row[8].clone(), row[9].clone());
        let species_text = match crate::reception::patient::Species::parse(&species) {
            Some(crate::reception::patient::Species::Other) => species_other,
            Some(s) => s.label().to_string(),
            None => return Err(Error::DamagedRecord(format!("patient species {species:?}"))),
        };
        // SNOMED CT organisms for the two species most practices see.
        let coding = match species.as_str() {
            "dog" => {
                json!([{ "system": "http://snomed.info/sct", "code": "448771007", "display": "Canis lupus subsp. familiaris" }])
            }
            "cat" => json!([{ "system": "http://snomed.info/sct", "code": "448169003", "display": "Felis catus" }]),
            _ => json!([]),
        };
        let mut ids_out = identifiers("patient", &id, pms);
        if let (Some(chip), Value::Array(list)) = (chip, &mut ids_out) {
            list.push(json!({ "use": "secondary", "type": { "text": "Microchip (ISO 11784/11785)" }, "system": MICROCHIP_SYSTEM, "value": chip }));
        }
        let mut patient = json!({
            "resourceType": "Patient",
            "identifier": ids_out,
            "active": died.is_none(),
            "name": [{ "use": "usual", "text": name }],
            "gender": match sex.as_str() { "male" => "male", "female" => "female", _ => "unknown" },
            "birthDate": born,
            "extension": [{
                "url": PATIENT_ANIMAL,
                "extension": [
                    { "url": "species", "valueCodeableConcept": { "coding": coding, "text": species_text } },
                    { "url": "breed", "valueCodeableConcept": { "text": breed } },
                    { "url": "genderStatus", "valueCodeableConcept": { "coding": [{
                        "system": "http://hl7.org/fhir/animal-genderstatus",
                        "code": if neutered { "neutered" } else { "intact" },
                    }] } },
                ],
            }],
        });
        if let Some(day) = died {
            patient["deceasedDateTime"] = json!(day);
        }
        entries.push(put("Patient", &id, row[0].as_deref().map(|n| ("patient", n)), patient));
        record_ids.push(id);
        tick(record_ids.len());
    }

    for id in ids("appointment") {
        let row = conn.query_row(
            "SELECT a.starts_at, a.ends_at, a.kind, a.reason, a.notes, a.status, a.pms_id, p.id, p.pms_id, p.name, s.display_name, a.room
             FROM appointment a JOIN patient p ON p.id = a.patient_id JOIN staff s ON s.id = a.clinician_id WHERE a.id = ?1",
            [&id],
            |r| (0..12).map(|i| r.get::<_, Option<String>>(i)).collect::<rusqlite::Result<Vec<_>>>(),
        )?;
        let t = |i: usize| row[i].clone().unwrap_or_default();
        let (starts, ends) = (time::parse_stored(&t(0))?, time::parse_stored(&t(1))?);
        let kind = crate::reception::appointment::AppointmentKind::parse(&t(2))
            .ok_or_else(|| Error::DamagedRecord(format!("appointment kind {:?}", t(2))))?;
        let status = match t(5).as_str() {
            "booked" => "booked",
            "arrived" | "in_consult" => "arrived",
            "done" => "fulfilled",
            "no_show" => "noshow",
            "cancelled" => "cancelled",
            other => return Err(Error::DamagedRecord(format!("appointment status {other:?}"))),
        };
        let room = if t(11).is_empty() { String::new() } else { format!("Room: {}", t(11)) };
        let comment = [t(4), room].iter().filter(|s| !s.is_empty()).cloned().collect::<Vec<_>>().join("\n");
        let appointment = json!({
            "resourceType": "Appointment",
            "identifier": identifiers("appointment", &id, row[6].clone()),
            "status": status,
            "appointmentType": { "text": kind.label() },
            "description": t(3),
            "start": starts.to_rfc3339_opts(SecondsFormat::Secs, true),
            "end": ends.to_rfc3339_opts(SecondsFormat::Secs, true),
            "minutesDuration": (ends - starts).num_minutes(),
            "comment": comment,
            "participant": [
                { "actor": carried.to("patient", &t(7), row[8].as_deref(), &t(9)), "status": "accepted" },
                { "actor": { "display": t(10) }, "status": "accepted" },
            ],
        });
        entries.push(put("Appointment", &id, row[6].as_deref().map(|n| ("appointment", n)), appointment));
        record_ids.push(id);
        tick(record_ids.len());
    }

    let addenda: HashSet<String> = ids("addendum").into_iter().collect();
    for id in ids("consultation") {
        let row = conn.query_row(
            "SELECT k.patient_id, p.pms_id, p.name, s.display_name, k.started_at, k.signed_at, k.subjective, k.objective,
                    k.assessment, k.plan, k.appointment_id, a.pms_id, (SELECT reason FROM clinical_void v WHERE v.entity = 'consultation' AND v.entity_id = k.id)
             FROM consultation k JOIN patient p ON p.id = k.patient_id JOIN staff s ON s.id = k.clinician_id
               LEFT JOIN appointment a ON a.id = k.appointment_id WHERE k.id = ?1",
            [&id],
            |r| (0..13).map(|i| r.get::<_, Option<String>>(i)).collect::<rusqlite::Result<Vec<_>>>(),
        )?;
        let t = |i: usize| row[i].clone().unwrap_or_default();
        let vitals: (Option<i64>, Option<i64>, Option<i64>, Option<i64>) = conn.query_row(
            "SELECT weight_g, temperature_dc, heart_rate, respiratory_rate FROM consultation WHERE id = ?1",
            [&id],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
        )?;
        let signed = row[5].is_some();
        let voided = row[12].is_some();
        let subject = carried.to("patient", &t(0), row[1].as_deref(), &t(2));
        let mut html =
            format!("<div xmlns=\"http://www.w3.org/1999/xhtml\"><p><b>Consultation</b> by {}", xhtml(&t(3)));
        html.push_str(if signed { " (signed)</p>" } else { " (draft, not signed)</p>" });
        for (label, i) in [("Subjective", 6), ("Objective", 7), ("Assessment", 8), ("Plan", 9)] {
            if !t(i).trim().is_empty() {
                html.push_str(&format!("<p><b>{label}</b>: {}</p>", xhtml(&t(i))));
            }
        }
        let mut stmt = conn.prepare_cached(
            "SELECT a.id, a.written_at, s.display_name, a.reason, a.text FROM addendum a JOIN staff s ON s.id = a.author_id
             WHERE a.consultation_id = ?1 ORDER BY a.written_at",
        )?;
        let mut q = stmt.query([&id])?;
        while let Some(a) = q.next()? {
            let (aid, at, by, reason, text): (String, String, String, String, String) =
                (a.get(0)?, a.get(1)?, a.get(2)?, a.get(3)?, a.get(4)?);
            let at = time::to_local(time::parse_stored(&at)?).format("%d/%m/%Y %H:%M");
            html.push_str(&format!(
                "<p><b>Addendum</b> {at}, {} ({}): {}</p>",
                xhtml(&by),
                xhtml(&reason),
                xhtml(&text)
            ));
            if addenda.contains(&aid) {
                record_ids.push(aid);
            }
        }
        if let Some(reason) = &row[12] {
            html.push_str(&format!("<p><b>Void</b>: {}</p>", xhtml(reason)));
        }
        html.push_str("</div>");
        let mut encounter = json!({
            "resourceType": "Encounter",
            "identifier": identifiers("consultation", &id, None),
            "status": if voided { "entered-in-error" } else if signed { "finished" } else { "in-progress" },
            "class": { "system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "AMB", "display": "ambulatory" },
            "subject": subject.clone(),
            "participant": [{ "individual": { "display": t(3) } }],
            "period": { "start": instant(&t(4))?, "end": row[5].as_deref().map(instant).transpose()? },
            "text": { "status": "generated", "div": html },
        });
        if let Some(appointment) = &row[10] {
            encounter["appointment"] =
                json!([carried.to("appointment", appointment, row[11].as_deref(), "Appointment")]);
        }
        entries.push(put("Encounter", &id, None, encounter));
        let status = if voided {
            "entered-in-error"
        } else if signed {
            "final"
        } else {
            "preliminary"
        };
        let measured = [
            ("weight", vitals.0.map(|g| g as f64 / 1000.0), "29463-7", "Body weight", "kg", "kg"),
            ("temperature", vitals.1.map(|d| d as f64 / 10.0), "8310-5", "Body temperature", "Cel", "°C"),
            ("heart-rate", vitals.2.map(|n| n as f64), "8867-4", "Heart rate", "/min", "beats/minute"),
            ("respiratory-rate", vitals.3.map(|n| n as f64), "9279-1", "Respiratory rate", "/min", "breaths/minute"),
        ];
        for (part, value, loinc, display, code, unit) in measured {
            let Some(value) = value else { continue };
            let oid = part_id(&id, part);
            let observation = json!({
                "resourceType": "Observation",
                "identifier": [{ "system": ID_SYSTEM, "value": format!("{id}/{part}") }],
                "status": status,
                "category": [{ "coding": [{ "system": "http://terminology.hl7.org/CodeSystem/observation-category", "code": "vital-signs", "display": "Vital Signs" }] }],
                "code": { "coding": [{ "system": "http://loinc.org", "code": loinc, "display": display }], "text": display },
                "subject": subject.clone(),
                "encounter": { "reference": format!("urn:uuid:{id}") },
                "effectiveDateTime": instant(&t(4))?,
                "valueQuantity": { "value": value, "unit": unit, "system": "http://unitsofmeasure.org", "code": code },
            });
            // Replaced when read again: a draft's vitals corrected and signed reach the PMS.
            entries.push(json!({
                "fullUrl": format!("urn:uuid:{oid}"),
                "resource": observation,
                "request": { "method": "PUT", "url": format!("Observation?identifier={ID_SYSTEM}|{id}/{part}") },
            }));
        }
        record_ids.push(id);
        tick(record_ids.len());
    }

    for id in ids("prescription") {
        let row = conn.query_row(
            "SELECT r.patient_id, p.pms_id, p.name, s.display_name, r.issued_at, r.product_name, r.strength, r.form, r.unit,
                    r.quantity_milli, r.dose, r.route, r.frequency, r.duration, r.directions, r.warnings, r.cascade_statement,
                    r.consultation_id, r.legal_category, (SELECT reason FROM clinical_void v WHERE v.entity = 'prescription' AND v.entity_id = r.id), r.valid_until
             FROM prescription r JOIN patient p ON p.id = r.patient_id JOIN staff s ON s.id = r.prescriber_id WHERE r.id = ?1",
            [&id],
            |r| {
                (0..21)
                    .map(|i| match i {
                        9 => r.get::<_, i64>(i).map(|q| Some(q.to_string())),
                        _ => r.get::<_, Option<String>>(i),
                    })
                    .collect::<rusqlite::Result<Vec<_>>>()
            },
        )?;
        let t = |i: usize| row[i].clone().unwrap_or_default();
        let quantity = t(9).parse::<f64>().unwrap_or_default() / 1000.0;
        let medicine = format!("{} {} {}", t(5), t(6), t(7));
        let mut request = json!({
            "resourceType": "MedicationRequest",
            "identifier": identifiers("prescription", &id, None),
            "status": if row[19].is_some() { "entered-in-error" } else { "active" },
            "intent": "order",
            "category": [{ "text": t(18) }],
            "medicationCodeableConcept": { "text": medicine },
            "subject": carried.to("patient", &t(0), row[1].as_deref(), &t(2)),
            "authoredOn": instant(&t(4))?,
            "requester": { "display": t(3) },
            "dosageInstruction": [{
                "text": t(14),
                "route": { "text": t(11) },
                "patientInstruction": t(15),
            }],
            "dispenseRequest": {
                "quantity": { "value": quantity, "unit": t(8) },
                "validityPeriod": { "end": t(20) },
            },
            "note": [{ "text": format!("Dose {}, {}, for {}. {}", t(10), t(12), t(13), t(16)).trim().to_string() }],
        });
        if let Some(consultation) = &row[17] {
            if carried.0.contains(consultation) {
                request["encounter"] = json!({ "reference": format!("urn:uuid:{consultation}") });
            }
        }
        // Replaced when read again: a void reaches the PMS as entered-in-error.
        entries.push(put("MedicationRequest", &id, None, request));
        record_ids.push(id);
        tick(record_ids.len());
    }

    for id in ids("dispensing") {
        let row = conn.query_row(
            "SELECT r.id, r.patient_id, p.pms_id, p.name, s.display_name, d.dispensed_at, r.product_name, r.strength, r.form, r.unit,
                    d.quantity_milli, d.batch, d.expiry, d.collected_by
             FROM dispensing d JOIN prescription r ON r.id = d.prescription_id JOIN patient p ON p.id = r.patient_id
               JOIN staff s ON s.id = d.dispensed_by WHERE d.id = ?1",
            [&id],
            |r| {
                (0..14)
                    .map(|i| match i {
                        10 => r.get::<_, i64>(i).map(|q| Some(q.to_string())),
                        _ => r.get::<_, Option<String>>(i),
                    })
                    .collect::<rusqlite::Result<Vec<_>>>()
            },
        )?;
        let t = |i: usize| row[i].clone().unwrap_or_default();
        let quantity = t(10).parse::<f64>().unwrap_or_default() / 1000.0;
        let collected = if t(13).is_empty() { String::new() } else { format!(" Collected by {}.", t(13)) };
        let dispense = json!({
            "resourceType": "MedicationDispense",
            "identifier": identifiers("dispensing", &id, None),
            "status": "completed",
            "medicationCodeableConcept": { "text": format!("{} {} {}", t(6), t(7), t(8)) },
            "subject": carried.to("patient", &t(1), row[2].as_deref(), &t(3)),
            "performer": [{ "actor": { "display": t(4) } }],
            "authorizingPrescription": [carried.to("prescription", &t(0), None, "Prescription")],
            "quantity": { "value": quantity, "unit": t(9) },
            "whenHandedOver": instant(&t(5))?,
            "note": [{ "text": format!("Batch {}, expiry {}.{collected}", t(11), t(12)) }],
        });
        entries.push(post("MedicationDispense", &id, dispense));
        record_ids.push(id);
        tick(record_ids.len());
    }

    for id in ids("lab_request") {
        let row = conn.query_row(
            "SELECT q.patient_id, p.pms_id, p.name, q.consultation_id, q.test_name, q.lab, q.sample_type, t.display_name,
                    q.sample_taken_at, q.note, r.display_name, q.requested_at,
                    (SELECT reason FROM clinical_void v WHERE v.entity = 'lab_request' AND v.entity_id = q.id LIMIT 1),
                    EXISTS (SELECT 1 FROM lab_result x WHERE x.request_id = q.id
                        AND NOT EXISTS (SELECT 1 FROM clinical_void v WHERE v.entity = 'lab_result' AND v.entity_id = x.id))
             FROM lab_request q JOIN patient p ON p.id = q.patient_id JOIN staff t ON t.id = q.sample_taken_by
               JOIN staff r ON r.id = q.requested_by WHERE q.id = ?1",
            [&id],
            |r| {
                (0..14)
                    .map(|i| match i {
                        13 => r.get::<_, bool>(i).map(|b| Some(b.to_string())),
                        _ => r.get::<_, Option<String>>(i),
                    })
                    .collect::<rusqlite::Result<Vec<_>>>()
            },
        )?;
        let t = |i: usize| row[i].clone().unwrap_or_default();
        let status = if row[12].is_some() {
            "entered-in-error"
        } else if t(13) == "true" {
            "completed"
        } else {
            "active"
        };
        let taken = time::to_local(time::parse_stored(&t(8))?).format("%d/%m/%Y %H:%M");
        let mut request = json!({
            "resourceType": "ServiceRequest",
            "identifier": identifiers("lab_request", &id, None),
            "status": status,
            "intent": "order",
            "category": [{ "coding": [{ "system": "http://snomed.info/sct", "code": "108252007", "display": "Laboratory procedure" }] }],
            "code": { "text": t(4) },
            "subject": carried.to("patient", &t(0), row[1].as_deref(), &t(2)),
            "occurrenceDateTime": instant(&t(8))?,
            "authoredOn": instant(&t(11))?,
            "requester": { "display": t(10) },
            "performer": [{ "display": t(5) }],
            "note": [
                { "text": format!("Sample: {}, taken by {} at {taken}.", t(6), t(7)) },
                { "text": t(9) },
                { "text": row[12].as_deref().map(|r| format!("Void: {r}")).unwrap_or_default() },
            ],
        });
        if let Some(consultation) = &row[3] {
            if carried.0.contains(consultation) {
                request["encounter"] = json!({ "reference": format!("urn:uuid:{consultation}") });
            }
        }
        // Replaced when read again: a result that arrives later completes it.
        entries.push(put("ServiceRequest", &id, None, request));
        record_ids.push(id);
        tick(record_ids.len());
    }

    for id in ids("lab_result") {
        let row = conn.query_row(
            "SELECT q.id, q.patient_id, p.pms_id, p.name, q.test_name, q.lab, q.sample_taken_at, x.entered_at, x.comment,
                    x.measurements, x.file_name, x.file_type, x.file_data,
                    (SELECT reason FROM clinical_void v WHERE v.entity = 'lab_result' AND v.entity_id = x.id LIMIT 1)
             FROM lab_result x JOIN lab_request q ON q.id = x.request_id JOIN patient p ON p.id = q.patient_id
               JOIN staff s ON s.id = x.entered_by WHERE x.id = ?1",
            [&id],
            |r| (0..14).map(|i| r.get::<_, Option<String>>(i)).collect::<rusqlite::Result<Vec<_>>>(),
        )?;
        let t = |i: usize| row[i].clone().unwrap_or_default();
        let voided = row[13].is_some();
        let status = if voided { "entered-in-error" } else { "final" };
        let subject = carried.to("patient", &t(1), row[2].as_deref(), &t(3));
        let based_on = carried.to("lab_request", &t(0), None, &t(4));
        let laboratory = json!([{ "coding": [{ "system": "http://terminology.hl7.org/CodeSystem/observation-category", "code": "laboratory", "display": "Laboratory" }] }]);
        let values: Vec<crate::clinical::lab::LabValue> = serde_json::from_str(&t(9))
            .map_err(|_| Error::DamagedRecord(format!("the values of lab result {id} are not readable")))?;
        let mut results = Vec::new();
        for (i, v) in values.iter().enumerate() {
            let part = format!("value-{}", i + 1);
            let oid = part_id(&id, &part);
            // "<0.1" is a quantity with a comparator; "Negative" is text.
            let (comparator, bare) = match v.value.chars().next() {
                Some(c @ ('<' | '>')) => (Some(c.to_string()), v.value[1..].trim()),
                Some('≤') => (Some("<=".to_string()), v.value['≤'.len_utf8()..].trim()),
                Some('≥') => (Some(">=".to_string()), v.value['≥'.len_utf8()..].trim()),
                _ => (None, v.value.trim()),
            };
            let number = bare.replace(',', "").parse::<f64>().ok().filter(|n| n.is_finite());
            let bound = |n: Option<f64>| n.map(|n| json!({ "value": n, "unit": v.unit }));
            let mut observation = json!({
                "resourceType": "Observation",
                "identifier": [{ "system": ID_SYSTEM, "value": format!("{id}/{part}") }],
                "basedOn": [based_on.clone()],
                "status": status,
                "category": laboratory.clone(),
                "code": { "text": v.name },
                "subject": subject.clone(),
                "effectiveDateTime": instant(&t(6))?,
                "issued": instant(&t(7))?,
                "referenceRange": [{ "low": bound(v.low), "high": bound(v.high) }],
            });
            match number {
                Some(n) => {
                    observation["valueQuantity"] = json!({ "value": n, "unit": v.unit, "comparator": comparator })
                }
                None => observation["valueString"] = json!(format!("{} {}", v.value, v.unit).trim()),
            }
            if let Some(flag) = v.flag {
                let (code, display) = match flag {
                    crate::clinical::lab::LabFlag::High => ("H", "High"),
                    crate::clinical::lab::LabFlag::Low => ("L", "Low"),
                };
                observation["interpretation"] = json!([{ "coding": [{ "system": "http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation", "code": code, "display": display }] }]);
            }
            results.push(json!({ "reference": format!("urn:uuid:{oid}") }));
            entries.push(json!({
                "fullUrl": format!("urn:uuid:{oid}"),
                "resource": observation,
                "request": { "method": "PUT", "url": format!("Observation?identifier={ID_SYSTEM}|{id}/{part}") },
            }));
        }
        let void = row[13].as_deref().map(|r| format!("Void: {r}")).unwrap_or_default();
        let conclusion = [t(8), void].into_iter().filter(|s| !s.is_empty()).collect::<Vec<_>>().join("\n");
        let mut report = json!({
            "resourceType": "DiagnosticReport",
            "identifier": identifiers("lab_result", &id, None),
            "basedOn": [based_on],
            "status": status,
            "category": laboratory,
            "code": { "text": t(4) },
            "subject": subject,
            "effectiveDateTime": instant(&t(6))?,
            "issued": instant(&t(7))?,
            "performer": [{ "display": t(5) }],
            "result": results,
            "conclusion": conclusion,
        });
        if let (Some(name), Some(kind), Some(data)) = (&row[10], &row[11], &row[12]) {
            report["presentedForm"] = json!([{ "contentType": kind, "data": data, "title": name }]);
        }
        // Replaced when read again: a void reaches the PMS as entered-in-error.
        entries.push(put("DiagnosticReport", &id, None, report));
        record_ids.push(id);
        tick(record_ids.len());
    }

    let mut entries: Vec<Value> = entries.into_iter().filter_map(tidy).collect();
    let mut resources: BTreeMap<String, u32> = BTreeMap::new();
    for e in &entries {
        let t = e["resource"]["resourceType"].as_str().unwrap_or_default().to_string();
        *resources.entry(t).or_default() += 1;
    }
    if !entries.is_empty() {
        let targets: Vec<Value> = entries.iter().map(|e| json!({ "reference": e["fullUrl"].clone() })).collect();
        let provenance_id = part_id(&format!("export-{}", now.timestamp_millis()), "provenance");
        let provenance = json!({
            "resourceType": "Provenance",
            "target": targets,
            "recorded": now.to_rfc3339_opts(SecondsFormat::Secs, true),
            "activity": { "coding": [{ "system": "http://terminology.hl7.org/CodeSystem/v3-DataOperation", "code": "CREATE", "display": "create" }] },
            "reason": [{ "text": format!(
                "Captured offline in Lifeboat at {practice_name} while the practice management system was unavailable (outage began {})",
                since.to_rfc3339_opts(SecondsFormat::Secs, true)
            ) }],
            "agent": [{
                "type": { "coding": [{ "system": "http://terminology.hl7.org/CodeSystem/provenance-participant-type", "code": "assembler", "display": "Assembler" }] },
                "who": { "display": format!("Lifeboat at {practice_name}") },
            }],
        });
        entries.push(json!({
            "fullUrl": format!("urn:uuid:{provenance_id}"),
            "resource": provenance,
            "request": { "method": "POST", "url": "Provenance" },
        }));
        *resources.entry("Provenance".into()).or_default() += 1;
    }
    let bundle = json!({
        "resourceType": "Bundle",
        "type": "transaction",
        "timestamp": now.to_rfc3339_opts(SecondsFormat::Secs, true),
        "entry": entries,
    });
    Ok(Built { bundle, record_ids, resources })
}

/// What a FHIR export wrote, with how many resources of each type.
#[derive(Clone, Debug, PartialEq)]
pub struct FhirExported {
    pub exported: Exported,
    pub resources: BTreeMap<String, u32>,
}

impl Store {
    /// The backlog (everything made or changed since the outage began) as a FHIR R4 transaction
    /// Bundle (JSON), noted in the ledger as an export with the records it carries marked exported.
    pub fn export_fhir(&self, session: &Session) -> Result<FhirExported> {
        self.export_fhir_progress(session, &mut |_, _| {})
    }

    /// `export_fhir`, telling `progress` how many backlog records of how many are written.
    pub fn export_fhir_progress(&self, session: &Session, progress: &mut dyn FnMut(u32, u32)) -> Result<FhirExported> {
        self.refuse_in_drill("exporting for the PMS")?;
        self.write(session, |w| {
            w.authorize(Action::ExportRecords)?;
            let practice = practice::practice(w.tx())?.ok_or_else(|| Error::NotFound("the practice".into()))?;
            let since = practice.outage_began.ok_or_else(|| {
                Error::invalid("outage_began", "is not recorded: record when the outage began to export the backlog")
            })?;
            let built = build(w.tx(), since, &practice.name, w.now(), progress)?;
            let bytes = serde_json::to_vec_pretty(&built.bundle)
                .map_err(|e| Error::Internal(format!("writing the FHIR bundle: {e}")))?;
            let rows = built.resources.values().sum();
            let (export_id, marked) =
                w.record_export("fhir", "backlog", Some(since), rows, &bytes, &built.record_ids)?;
            progress(built.record_ids.len() as u32, built.record_ids.len() as u32);
            Ok(FhirExported { exported: Exported { bytes, rows, export_id, marked }, resources: built.resources })
        })
    }
}
