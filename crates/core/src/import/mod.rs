//! Snapshot import: clients, patients and appointments from the CSV files a practice management
//! system (PMS) exports, read in as copies of PMS records (each keeps its PMS number, so a second
//! import of the same file changes nothing). `table` reads the file, `columns` says which column is
//! which, `values` reads dates, times, species, sex, appointment types and statuses; this module turns
//! rows into the reception operations `import_client`, `import_patient` and `import_appointment`, in
//! one write: all or nothing, or the good rows with a report (and a file) of the rejected ones, each
//! with its line, column and reason.

pub mod columns;
pub mod table;
pub mod values;

use std::collections::HashMap;

use chrono::{NaiveDate, NaiveDateTime, NaiveTime, Timelike};
use rusqlite::{Connection, OptionalExtension};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::clinical::consultation::{ConsultationDraft, PastConsultation};
use crate::clinical::formulary::NewProduct;
use crate::clinical::vitals::Vitals;
use crate::error::{Error, Result};
use crate::import::columns::{Columns, ImportKind, Mapping};
use crate::import::table::{Delimiter, Line, Table};
use crate::permission::Action;
use crate::reception::appointment::{AppointmentKind, AppointmentStatus, NewAppointment};
use crate::reception::client::NewClient;
use crate::reception::origin::Imported;
use crate::reception::patient::{NewPatient, Sex, Species};
use crate::session::Session;
use crate::store::database::Store;
use crate::store::row;
use crate::store::write::Write;
use crate::time;

/// A row refused, and why.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Rejected {
    /// The row's line in the file (the headings are line 1).
    pub line: u64,
    /// The heading of the column at fault; empty when the row as a whole is.
    pub column: String,
    pub reason: String,
}

/// What an import did (or, for all or nothing with rejected rows, would have done: nothing was
/// written).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct ImportReport {
    pub file: String,
    pub encoding: String,
    /// Data rows read (blank rows not counted).
    pub rows: u32,
    pub added: u32,
    pub updated: u32,
    pub unchanged: u32,
    /// Records changed in Lifeboat since they were imported: Lifeboat's version was kept.
    pub kept_local: u32,
    /// Rows repeating an earlier row of the file exactly.
    pub repeated: u32,
    pub rejected: Vec<Rejected>,
    /// Rows imported with a value kept differently (in the notes), each with the reason.
    pub warnings: Vec<Rejected>,
    /// Whether the good rows were written (false when all or nothing was asked and a row failed).
    pub applied: bool,
    /// Headings not read into any field.
    pub ignored_columns: Vec<String>,
}

/// How to import.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct ImportOptions {
    /// Write nothing if any row is rejected (otherwise the good rows are written).
    pub all_or_nothing: bool,
    pub mapping: Option<Mapping>,
}

/// The first rows of a file as an import will read them.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Preview {
    pub encoding: String,
    pub delimiter: Delimiter,
    pub rows: u32,
    pub columns: Vec<PreviewColumn>,
    /// The fields a column may be mapped to (for a mapping screen).
    pub fields: Vec<PreviewField>,
    pub sample: Vec<PreviewRow>,
    /// Set when the columns cannot be worked out (a required field has none): what to map.
    pub problem: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct PreviewColumn {
    pub heading: String,
    /// The field it fills, if any.
    pub field: Option<String>,
    pub label: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct PreviewField {
    pub name: String,
    pub label: String,
    /// A file must have a column for it.
    pub required: bool,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct PreviewRow {
    pub line: u64,
    /// (field label, value as it will be stored).
    pub values: Vec<(String, String)>,
    /// Why the row would be rejected, if it would be (before the checks against what is on file).
    pub problem: Option<Rejected>,
    /// What will be kept differently from how the file holds it.
    pub warnings: Vec<Rejected>,
}

/// How many rows a preview shows.
const SAMPLE_ROWS: usize = 10;

/// A row read into what the operations take; `sources` maps each operation field to the column it
/// came from, to name the column when the operation refuses the value.
enum Record {
    Client { pms_id: String, client: NewClient },
    Patient { pms_id: String, owner: String, patient: NewPatient, deceased_on: Option<NaiveDate> },
    Appointment(RawAppointment),
    Product { pms_id: String, product: NewProduct },
    History(RawHistory),
}

/// A clinical history entry as read, before its animal and clinician are found on file.
struct RawHistory {
    pms_id: String,
    patient: String,
    start: NaiveDateTime,
    clinician: String,
    notes: ConsultationDraft,
}

/// An appointment row as read, before its animal, client and clinician are found on file.
struct RawAppointment {
    pms_id: String,
    patient: String,
    client: String,
    start: NaiveDateTime,
    minutes: u32,
    clinician: String,
    room: String,
    kind: AppointmentKind,
    reason: String,
    notes: String,
    status: AppointmentStatus,
}

struct Read {
    record: Record,
    sources: HashMap<&'static str, usize>,
}

struct Row<'a> {
    columns: &'a Columns,
    line: &'a Line,
    headers: &'a [String],
    sources: HashMap<&'static str, usize>,
    /// What was read differently from how the file holds it (kept, and said so).
    warnings: Vec<Rejected>,
}

impl<'a> Row<'a> {
    /// The cell of `field`; line breaks inside a one-line field (an address typed over two lines in
    /// the PMS) become ", ".
    fn get(&self, field: &str) -> String {
        let cell = self.columns.index(field).and_then(|i| self.line.cells.get(i)).map(String::as_str).unwrap_or("");
        // Notes keep their lines (clinical notes too); a line break anywhere else is a separator.
        if matches!(field, "notes" | "alerts" | "subjective" | "objective" | "assessment" | "plan")
            || !cell.contains(['\r', '\n'])
        {
            return cell.to_string();
        }
        cell.split(['\r', '\n']).map(str::trim).filter(|p| !p.is_empty()).collect::<Vec<_>>().join(", ")
    }

    /// The value of `field`, noted as the source of operation field `into`.
    fn take(&mut self, field: &str, into: &'static str) -> String {
        if let Some(i) = self.columns.index(field) {
            self.sources.entry(into).or_insert(i);
        }
        self.get(field)
    }

    fn reject(&self, field: &str, reason: impl Into<String>) -> Rejected {
        let column = self.columns.index(field).map(|i| self.headers[i].clone()).unwrap_or_default();
        Rejected { line: self.line.line, column, reason: reason.into() }
    }
}

fn read_row(kind: ImportKind, row: &mut Row<'_>, today: NaiveDate) -> std::result::Result<Record, Rejected> {
    for (i, cell) in row.line.cells.iter().enumerate() {
        if cell.chars().count() > table::MAX_CELL_CHARS {
            let column = row.headers.get(i).cloned().unwrap_or_else(|| format!("column {}", i + 1));
            return Err(Rejected {
                line: row.line.line,
                column,
                reason: format!("is longer than {} characters", table::MAX_CELL_CHARS),
            });
        }
        if i >= row.headers.len() && !cell.is_empty() {
            return Err(Rejected {
                line: row.line.line,
                column: String::new(),
                reason: format!(
                    "has {} fields but the heading row has {}: a comma inside a value without quotes?",
                    row.line.cells.len(),
                    row.headers.len()
                ),
            });
        }
    }
    Ok(match kind {
        ImportKind::Clients => {
            let mut phones: Vec<(String, &'static str)> = Vec::new();
            for field in ["phone", "mobile", "work_phone"] {
                let value = row.get(field);
                if !value.is_empty() {
                    phones.push((value, field));
                }
            }
            let mut notes = row.take("notes", "notes");
            // A number or address the PMS held in a form Lifeboat cannot use ("07700 900123 (wife)",
            // an Irish number) is kept in the notes rather than losing the whole client.
            let mut kept: Vec<(Option<usize>, String)> = Vec::new();
            for (value, _) in phones.iter_mut() {
                // A number whose leading 0 a spreadsheet dropped ("7700900123").
                let digits = value.chars().all(|c| c.is_ascii_digit());
                if digits && value.len() == 10 && !value.starts_with('0') {
                    value.insert(0, '0');
                }
            }
            phones.retain(|(value, field)| {
                if crate::validate::uk_phone("phone", value).is_ok() {
                    return true;
                }
                kept.push((row.columns.index(field), value.clone()));
                false
            });
            let mut email = row.take("email", "email");
            if !email.is_empty() && crate::validate::email("email", &email).is_err() {
                kept.push((row.columns.index("email"), std::mem::take(&mut email)));
            }
            for (column, value) in kept {
                let heading = column.map(|i| row.headers[i].clone()).unwrap_or_default();
                row.warnings.push(Rejected {
                    line: row.line.line,
                    column: heading.clone(),
                    reason: format!("{value:?} is not a UK telephone number or an email address Lifeboat can use: kept in the notes"),
                });
                notes = [notes, format!("{heading}: {value}")]
                    .into_iter()
                    .filter(|s| !s.is_empty())
                    .collect::<Vec<_>>()
                    .join("\n");
            }
            for (value, field) in phones.iter().skip(2) {
                let label = if *field == "work_phone" { "Work telephone" } else { "Telephone" };
                notes = [notes, format!("{label}: {value}")]
                    .into_iter()
                    .filter(|s| !s.is_empty())
                    .collect::<Vec<_>>()
                    .join("\n");
            }
            for (i, into) in ["phone", "phone_alt"].into_iter().enumerate() {
                if let Some((_, field)) = phones.get(i) {
                    if let Some(c) = row.columns.index(field) {
                        row.sources.insert(into, c);
                    }
                }
            }
            let line2 = [row.take("address_line2", "address_line2"), row.get("address_line3")]
                .into_iter()
                .filter(|s| !s.is_empty())
                .collect::<Vec<_>>()
                .join(", ");
            let consent_email =
                values::yes_no(&row.get("consent_email")).map_err(|e| row.reject("consent_email", e))?;
            let consent_sms = values::yes_no(&row.get("consent_sms")).map_err(|e| row.reject("consent_sms", e))?;
            let client = NewClient {
                title: row.take("title", "title"),
                first_name: row.take("first_name", "first_name"),
                last_name: row.take("last_name", "last_name"),
                address_line1: row.take("address_line1", "address_line1"),
                address_line2: line2,
                town: row.take("town", "town"),
                postcode: row.take("postcode", "postcode"),
                phone: phones.first().map(|p| p.0.clone()).unwrap_or_default(),
                phone_alt: phones.get(1).map(|p| p.0.clone()).unwrap_or_default(),
                email,
                consent_email,
                consent_sms,
                notes,
            };
            Record::Client { pms_id: row.take("pms_id", "pms_id"), client }
        }
        ImportKind::Patients => {
            let (species, species_other) =
                values::species(&row.get("species")).map_err(|e| row.reject("species", e))?;
            if let Some(c) = row.columns.index("species") {
                row.sources.insert("species_other", c);
            }
            let (sex, neutered_by_sex) = values::sex(&row.get("sex")).map_err(|e| row.reject("sex", e))?;
            let neutered = match row.columns.index("neutered") {
                Some(_) if !row.get("neutered").is_empty() => {
                    values::yes_no(&row.get("neutered")).map_err(|e| row.reject("neutered", e))?
                }
                _ => neutered_by_sex.unwrap_or(false),
            };
            let date_of_birth =
                values::date(&row.get("date_of_birth"), today).map_err(|e| row.reject("date_of_birth", e))?;
            row.take("date_of_birth", "date_of_birth");
            let died = row.get("deceased_on");
            let died = died.as_str();
            let deceased_on = match values::date(died, today) {
                Ok(d) => d,
                // A flag without a date: the animal cannot be recorded as alive, nor dead on no day.
                Err(_) if values::yes_no(died) == Ok(true) => {
                    return Err(
                        row.reject("deceased_on", "says the animal died but gives no date: write the date of death")
                    )
                }
                Err(_) if values::yes_no(died) == Ok(false) => None,
                Err(e) => return Err(row.reject("deceased_on", e)),
            };
            row.take("deceased_on", "deceased_on");
            if deceased_on.is_none() && values::yes_no(&row.get("deceased_flag")) == Ok(true) {
                return Err(row.reject(
                    "deceased_flag",
                    "says the animal died but gives no date: add the date of death (or the day it was recorded)",
                ));
            }
            let alerts: Vec<String> = row
                .take("alerts", "alerts")
                .split([';', '|', '\n'])
                .map(|a| a.trim().to_string())
                .filter(|a| !a.is_empty())
                .collect();
            let patient = NewPatient {
                name: row.take("name", "name"),
                species,
                species_other,
                breed: row.take("breed", "breed"),
                sex,
                neutered,
                date_of_birth,
                estimated_age_years: None,
                colour: row.take("colour", "colour"),
                microchip: row.take("microchip", "microchip"),
                alerts,
                notes: row.take("notes", "notes"),
            };
            Record::Patient {
                pms_id: row.take("pms_id", "pms_id"),
                owner: row.take("owner_pms_id", "owner_pms_id"),
                patient,
                deceased_on,
            }
        }
        ImportKind::Appointments => Record::Appointment(read_appointment(row, today)?),
        ImportKind::Products => read_product(row)?,
        ImportKind::History => read_history(row, today)?,
    })
}

fn read_history(row: &mut Row<'_>, today: NaiveDate) -> std::result::Result<Record, Rejected> {
    let cell = row.get("date");
    let date =
        values::date(&cell, today).map_err(|e| row.reject("date", e))?.ok_or_else(|| row.reject("date", "is blank"))?;
    for into in ["started_at", "signed_at"] {
        if let Some(i) = row.columns.index("date") {
            row.sources.insert(into, i);
        }
    }
    // The time, if the file gives one (in the date cell or its own); midday when it does not.
    let in_cell = values::time_after_date(&cell).unwrap_or_default().to_string();
    let time_cell = row.get("time");
    let text = if !time_cell.trim().is_empty() { time_cell } else { in_cell };
    let time = if text.trim().is_empty() {
        NaiveTime::from_hms_opt(12, 0, 0).unwrap_or(NaiveTime::MIN)
    } else {
        values::time_of_day(&text).map_err(|e| row.reject("time", e))?
    };
    let number = |row: &Row<'_>, field: &str| -> std::result::Result<Option<f64>, Rejected> {
        let t = row.get(field);
        let t = t.trim().trim_end_matches("kg").trim_end_matches("°C").trim_end_matches('C').trim().replace(',', ".");
        if t.is_empty() {
            return Ok(None);
        }
        // ("NaN" and "inf" parse as numbers; no weight is either.)
        t.parse::<f64>()
            .ok()
            .filter(|n| n.is_finite())
            .map(Some)
            .ok_or_else(|| row.reject(field, format!("{:?} is not a number", row.get(field).trim())))
    };
    let weight_kg = number(row, "weight")?;
    let temperature_c = number(row, "temperature")?;
    if let Some(i) = row.columns.index("weight") {
        row.sources.insert("weight_kg", i);
    }
    let mut subjective = row.take("subjective", "subjective");
    let notes = row.take("notes", "subjective");
    if !notes.trim().is_empty() {
        subjective = if subjective.trim().is_empty() { notes } else { format!("{subjective}\n{notes}") };
    }
    // Lines as the consult room writes them.
    let lines = |t: String| t.replace("\r\n", "\n").replace('\r', "\n");
    let draft = ConsultationDraft {
        subjective: lines(subjective),
        objective: lines(row.take("objective", "objective")),
        assessment: lines(row.take("assessment", "assessment")),
        plan: lines(row.take("plan", "plan")),
        vitals: Vitals { weight_kg, temperature_c, ..Default::default() },
    };
    Ok(Record::History(RawHistory {
        pms_id: row.take("pms_id", "pms_id"),
        patient: row.take("patient_pms_id", "patient_id"),
        start: date.and_time(time),
        clinician: row.take("clinician", "clinician_id"),
        notes: draft,
    }))
}

fn read_product(row: &mut Row<'_>) -> std::result::Result<Record, Rejected> {
    let legal = row.take("legal_category", "legal_category");
    let legal_category = values::legal_category(&legal).map_err(|e| row.reject("legal_category", e))?;
    let schedule = row.take("cd_schedule", "cd_schedule");
    let cd_schedule = values::cd_schedule(&schedule).map_err(|e| row.reject("cd_schedule", e))?;
    let price = row.take("price", "price_pence");
    let price_pence =
        if price.trim().is_empty() { 0 } else { values::pence(&price).map_err(|e| row.reject("price", e))? };
    let vat = row.take("vat", "vat_rate_bp");
    let vat_rate_bp = values::vat_rate_bp(&vat).map_err(|e| row.reject("vat", e))?;
    let mut authorised_species = Vec::new();
    for word in row.take("authorised_species", "authorised_species").split([';', ',', '/', '|']) {
        if word.trim().is_empty() {
            continue;
        }
        match values::species(word) {
            Ok((s, other)) if other.is_empty() && s != Species::Other => authorised_species.push(s),
            _ => {
                return Err(row.reject(
                    "authorised_species",
                    format!("{:?} is not a species Lifeboat knows (dog, cat, rabbit, horse, cattle, ...)", word.trim()),
                ))
            }
        }
    }
    let mut days = |field: &'static str| -> std::result::Result<Option<u32>, Rejected> {
        let text = row.take(field, field);
        values::days(&text).map_err(|e| row.reject(field, e))
    };
    let (withdrawal_meat_days, withdrawal_milk_days, withdrawal_eggs_days) =
        (days("withdrawal_meat_days")?, days("withdrawal_milk_days")?, days("withdrawal_eggs_days")?);
    let pack = row.take("pack_size", "pack_size");
    let product = NewProduct {
        name: row.take("name", "name"),
        active_ingredient: row.take("active_ingredient", "active_ingredient"),
        strength: row.take("strength", "strength"),
        form: row.take("form", "form"),
        legal_category,
        cd_schedule,
        unit: row.take("unit", "unit"),
        pack_size: if pack.trim().is_empty() { "1".into() } else { pack },
        price_pence,
        vat_rate_bp,
        authorised_species,
        withdrawal_meat_days,
        withdrawal_milk_days,
        withdrawal_eggs_days,
        warnings: row.take("warnings", "warnings"),
    };
    Ok(Record::Product { pms_id: row.take("pms_id", "pms_id"), product })
}

/// A date cell that may hold the time too ("12/05/2026 09:30", "2026-05-12T09:30:00"), and the time
/// cell if the file has one.
fn date_and_time(
    row: &Row<'_>,
    date_field: &str,
    time_field: &str,
    today: NaiveDate,
) -> std::result::Result<NaiveDateTime, Rejected> {
    let cell = row.get(date_field);
    let date = values::date_near(&cell, today)
        .map_err(|e| row.reject(date_field, e))?
        .ok_or_else(|| row.reject(date_field, "is blank"))?;
    let in_cell = values::time_after_date(&cell).unwrap_or_default().to_string();
    let time_cell = row.get(time_field);
    let (text, field) = if !time_cell.trim().is_empty() { (time_cell, time_field) } else { (in_cell, date_field) };
    if text.is_empty() {
        return Err(row.reject(time_field, "is blank: give the time"));
    }
    let t = values::time_of_day(&text).map_err(|e| row.reject(field, e))?;
    // The diary works in minutes.
    let t = t.with_second(0).unwrap_or(t);
    Ok(date.and_time(t))
}

fn read_appointment(row: &mut Row<'_>, today: NaiveDate) -> std::result::Result<RawAppointment, Rejected> {
    let start = date_and_time(row, "date", "time", today)?;
    for (into, field) in [("start", "date"), ("clinician_id", "clinician"), ("patient_id", "patient_pms_id")] {
        if let Some(i) = row.columns.index(field) {
            row.sources.insert(into, i);
        }
    }
    if !row.get("time").trim().is_empty() {
        if let Some(i) = row.columns.index("time") {
            row.sources.insert("start", i);
        }
    }
    let minutes = if !row.get("minutes").trim().is_empty() {
        row.take("minutes", "minutes");
        values::minutes(&row.get("minutes")).map_err(|e| row.reject("minutes", e))?
    } else if !row.get("end_time").trim().is_empty() {
        let end_cell = row.get("end_time");
        // An end written as a time alone is on the day of the start.
        let end = match values::time_of_day(&end_cell) {
            Ok(t) => start.date().and_time(t),
            Err(_) => date_and_time(row, "end_time", "end_time_absent", today)?,
        };
        if let Some(i) = row.columns.index("end_time") {
            row.sources.insert("minutes", i);
        }
        // Elapsed time, so that a night the clocks change on counts the hour it gains or loses.
        let instant =
            |t: NaiveDateTime, field: &str| time::to_utc(field, t).map_err(|e| row.reject(field, e.to_string()));
        let length = (instant(end, "end_time")? - instant(start, "time")?).num_minutes();
        if length <= 0 {
            return Err(row.reject("end_time", "is not after the start"));
        }
        u32::try_from(length).map_err(|_| row.reject("end_time", "is too far after the start"))?
    } else {
        return Err(row.reject("minutes", "give the appointment's length or its end time"));
    };
    // The day book works in 5-minute rows: a 7-minute slot takes two of them.
    let minutes = minutes.div_ceil(5) * 5;
    let status = values::appointment_status(&row.get("status")).map_err(|e| row.reject("status", e))?;
    Ok(RawAppointment {
        pms_id: row.take("pms_id", "pms_id"),
        patient: row.get("patient_pms_id"),
        client: row.take("client_pms_id", "client_id"),
        start,
        minutes,
        clinician: row.get("clinician"),
        room: row.take("room", "room"),
        kind: values::appointment_kind(&row.get("kind")),
        reason: row.take("reason", "reason"),
        notes: {
            let notes = row.take("notes", "notes");
            let kind = row.get("kind");
            if values::appointment_kind(&kind) == AppointmentKind::Other && !kind.trim().is_empty() {
                [format!("Type in the PMS: {}", kind.trim()), notes]
                    .into_iter()
                    .filter(|s| !s.is_empty())
                    .collect::<Vec<_>>()
                    .join("\n")
            } else {
                notes
            }
        },
        status,
    })
}

/// The vets and nurses on file, to find an appointment's clinician by the name a PMS diary gives.
struct Clinicians(Vec<(Uuid, String, String)>);

impl Clinicians {
    fn load(conn: &Connection) -> Result<Clinicians> {
        let mut stmt =
            conn.prepare("SELECT id, username, display_name FROM staff WHERE role IN ('vet', 'nurse') AND active = 1")?;
        let rows = stmt
            .query_map([], |r| Ok((row::uuid(r, 0)?, r.get::<_, String>(1)?, r.get::<_, String>(2)?)))?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(Clinicians(rows))
    }

    /// Lower case, letters only, without a title: "Dr J. Herriot" and "j herriot" are alike.
    fn words(name: &str) -> Vec<String> {
        // "Herriot, James" is James Herriot.
        let name = match name.split_once(',') {
            Some((last, first)) if !first.trim().is_empty() => format!("{first} {last}"),
            _ => name.to_string(),
        };
        name.split(|c: char| !c.is_alphanumeric())
            .filter(|w| !w.is_empty())
            .map(str::to_lowercase)
            .filter(|w| {
                // Titles and qualifications are not part of the name.
                !matches!(
                    w.as_str(),
                    "dr" | "mr"
                        | "mrs"
                        | "ms"
                        | "miss"
                        | "prof"
                        | "nurse"
                        | "sister"
                        | "rvn"
                        | "vn"
                        | "mrcvs"
                        | "frcvs"
                        | "bvsc"
                        | "bvms"
                        | "bvetmed"
                        | "vetmb"
                        | "ma"
                        | "bsc"
                        | "dvm"
                        | "certavp"
                        | "dipavn"
                )
            })
            .collect()
    }

    /// By username or full name; else by initial and surname, or surname alone, when only one
    /// clinician fits.
    fn find(&self, text: &str) -> std::result::Result<Uuid, String> {
        let want = Self::words(text);
        if want.is_empty() {
            return Err("is blank: give the vet's or nurse's name".into());
        }
        if let Some((id, ..)) =
            self.0.iter().find(|(_, user, name)| user.eq_ignore_ascii_case(text.trim()) || Self::words(name) == want)
        {
            return Ok(*id);
        }
        let fits: Vec<Uuid> = self
            .0
            .iter()
            .filter(|(_, _, name)| {
                let have = Self::words(name);
                let (Some(last), Some(want_last)) = (have.last(), want.last()) else { return false };
                // A surname of several words ("de la Cruz", "O'Brien"), or initial and surname.
                have.ends_with(&want)
                    || (last == want_last
                        && match (want.len(), have.first()) {
                            (1, _) => true,
                            (_, Some(first)) => first.starts_with(want[0].as_str()),
                            _ => false,
                        })
            })
            .map(|(id, ..)| *id)
            .collect();
        match fits[..] {
            [one] => Ok(one),
            [] => Err(format!(
                "no vet or nurse called {:?} is on file: add them under Practice (or correct the name)",
                text.trim()
            )),
            _ => Err(format!("{:?} could be more than one clinician: write the full name", text.trim())),
        }
    }
}

/// A record as the import will store it, checked by the same rules (not those against the records
/// on file: an owner that must exist, a microchip already taken).
fn normalised(record: Record, today: NaiveDate) -> Result<Record> {
    Ok(match record {
        Record::Client { pms_id, client } => Record::Client { pms_id, client: client.import_checked()? },
        Record::Patient { pms_id, owner, patient, deceased_on } => {
            Record::Patient { pms_id, owner, patient: patient.import_checked(today)?, deceased_on }
        }
        Record::Appointment(a) => {
            time::to_utc("start", a.start)?;
            if time::is_ambiguous(a.start) {
                return Err(Error::invalid("start", "happens twice in the UK (the clocks go back then)"));
            }
            Record::Appointment(a)
        }
        product @ Record::Product { .. } => product,
        Record::History(h) => {
            time::to_utc("started_at", h.start)?;
            Record::History(h)
        }
    })
}

/// An operation's refusal of a row, naming the column the refused value came from.
fn rejection(e: Error, sources: &HashMap<&'static str, usize>, line: u64, headers: &[String]) -> Rejected {
    match e {
        Error::Invalid { field, reason } => {
            let column = sources.get(field.as_str()).map(|&i| headers[i].clone()).unwrap_or_default();
            Rejected { line, column, reason }
        }
        other => Rejected { line, column: String::new(), reason: other.to_string() },
    }
}

fn describe_sex(sex: Sex, neutered: bool) -> String {
    let word = match sex {
        Sex::Male => "Male",
        Sex::Female => "Female",
        Sex::Unknown => "Unknown",
    };
    if neutered {
        format!("{word}, neutered")
    } else {
        word.to_string()
    }
}

fn shown_date(d: Option<NaiveDate>) -> String {
    d.map(|d| d.format("%d/%m/%Y").to_string()).unwrap_or_default()
}

/// The values a preview shows for a record, labelled.
fn preview_values(record: &Record) -> Vec<(String, String)> {
    let pairs: Vec<(&str, String)> = match record {
        Record::Client { pms_id, client: c } => vec![
            ("Client number", pms_id.clone()),
            (
                "Name",
                [c.title.as_str(), c.first_name.as_str(), c.last_name.as_str()]
                    .iter()
                    .filter(|s| !s.is_empty())
                    .copied()
                    .collect::<Vec<_>>()
                    .join(" "),
            ),
            (
                "Address",
                [c.address_line1.as_str(), c.address_line2.as_str(), c.town.as_str(), c.postcode.as_str()]
                    .iter()
                    .filter(|s| !s.is_empty())
                    .copied()
                    .collect::<Vec<_>>()
                    .join(", "),
            ),
            ("Telephone", c.phone.clone()),
            ("Other telephone", c.phone_alt.clone()),
            ("Email", c.email.clone()),
        ],
        Record::Patient { pms_id, owner, patient: p, deceased_on } => vec![
            ("Animal number", pms_id.clone()),
            ("Owner's client number", owner.clone()),
            ("Name", p.name.clone()),
            (
                "Species",
                if p.species_other.is_empty() { p.species.label().to_string() } else { p.species_other.clone() },
            ),
            ("Breed", p.breed.clone()),
            ("Sex", describe_sex(p.sex, p.neutered)),
            ("Date of birth", shown_date(p.date_of_birth)),
            ("Microchip", p.microchip.clone()),
            ("Date of death", shown_date(*deceased_on)),
        ],
        Record::Appointment(a) => vec![
            ("Appointment number", a.pms_id.clone()),
            ("Animal number", a.patient.clone()),
            ("When", a.start.format("%d/%m/%Y %H:%M").to_string()),
            ("Minutes", a.minutes.to_string()),
            ("Clinician", a.clinician.clone()),
            ("Type", a.kind.label().to_string()),
            ("Reason", a.reason.clone()),
            ("Status", a.status.label().to_string()),
        ],
        Record::Product { pms_id, product: p } => vec![
            ("Product code", pms_id.clone()),
            ("Name", p.name.clone()),
            ("Strength and form", format!("{} {}", p.strength, p.form).trim().to_string()),
            (
                "Legal category",
                match p.cd_schedule {
                    Some(s) => format!("{}, CD Schedule {s}", p.legal_category.as_str()),
                    None => p.legal_category.as_str().to_string(),
                },
            ),
            ("Pack", format!("{} {}", p.pack_size, p.unit).trim().to_string()),
            (
                "Price of a pack",
                format!("£{}.{:02} + VAT {}%", p.price_pence / 100, p.price_pence % 100, p.vat_rate_bp as f64 / 100.0),
            ),
        ],
        Record::History(h) => vec![
            ("Record number", h.pms_id.clone()),
            ("Animal number", h.patient.clone()),
            ("When", h.start.format("%d/%m/%Y %H:%M").to_string()),
            ("Clinician", h.clinician.clone()),
            ("History", h.notes.subjective.chars().take(80).collect()),
            ("Assessment", h.notes.assessment.chars().take(80).collect()),
        ],
    };
    pairs.into_iter().map(|(k, v)| (k.to_string(), v)).collect()
}

impl Store {
    /// How the first rows of `bytes` (the file `file`) will be read as `kind`.
    pub fn preview_import(
        &self,
        session: &Session,
        kind: ImportKind,
        file: &str,
        bytes: &[u8],
        mapping: Option<&Mapping>,
    ) -> Result<Preview> {
        let today = self.read_as(session, Action::ImportRecords, |_| Ok(crate::time::local_date(self.clock.now())))?;
        let t = table::read(file, bytes)?;
        let base = Preview {
            encoding: t.encoding.to_string(),
            delimiter: t.delimiter,
            rows: t.rows.len() as u32,
            columns: t.headers.iter().map(|h| PreviewColumn { heading: h.clone(), field: None, label: None }).collect(),
            fields: columns::fields(kind)
                .iter()
                .map(|f| PreviewField { name: f.name.into(), label: f.label.into(), required: f.required })
                .collect(),
            sample: Vec::new(),
            problem: None,
        };
        let columns = match columns::recognise(kind, &t.headers, mapping) {
            Ok(c) => c,
            Err(e) => return Ok(Preview { problem: Some(e.to_string()), ..base }),
        };
        let mut preview = base;
        for (column, spec) in preview.columns.iter_mut().zip(&columns.fields) {
            column.field = spec.map(|s| s.name.to_string());
            column.label = spec.map(|s| s.label.to_string());
        }
        if let Some(problem) = columns::missing(kind, &t.headers, &columns) {
            preview.problem = Some(problem);
            return Ok(preview);
        }
        for line in t.rows.iter().take(SAMPLE_ROWS) {
            let mut row =
                Row { columns: &columns, line, headers: &t.headers, sources: HashMap::new(), warnings: Vec::new() };
            let checked = read_row(kind, &mut row, today).and_then(|record| {
                normalised(record, today).map_err(|e| rejection(e, &row.sources, line.line, &t.headers))
            });
            let warnings = std::mem::take(&mut row.warnings);
            preview.sample.push(match checked {
                Ok(record) => PreviewRow { line: line.line, values: preview_values(&record), problem: None, warnings },
                Err(rejected) => {
                    PreviewRow { line: line.line, values: Vec::new(), problem: Some(rejected), warnings: Vec::new() }
                }
            });
        }
        Ok(preview)
    }

    /// Imports `bytes` (the file `file`) as `kind`, in one transaction, calling `progress(done, total)`
    /// as rows go. With `all_or_nothing`, a rejected row means nothing is written (the report says
    /// what would have been done and why not); otherwise the good rows are written.
    pub fn import_file(
        &self,
        session: &Session,
        kind: ImportKind,
        file: &str,
        bytes: &[u8],
        options: &ImportOptions,
        mut progress: impl FnMut(u32, u32),
    ) -> Result<(ImportReport, Table)> {
        // Refused before anything is read, whatever the file holds.
        self.read_as(session, Action::ImportRecords, |_| Ok(()))?;
        let t = table::read(file, bytes)?;
        let columns = columns::recognise(kind, &t.headers, options.mapping.as_ref())?;
        if let Some(problem) = columns::missing(kind, &t.headers, &columns) {
            return Err(Error::invalid("columns", problem));
        }
        let mut report = ImportReport {
            file: file.to_string(),
            encoding: t.encoding.to_string(),
            rows: t.rows.len() as u32,
            ignored_columns: t
                .headers
                .iter()
                .zip(&columns.fields)
                .filter(|(_, f)| f.is_none())
                .map(|(h, _)| h.clone())
                .collect(),
            ..ImportReport::default()
        };
        let mut rolled_back: Option<ImportReport> = None;
        let outcome = self.write(session, |w| {
            w.may_record_nothing();
            import_rows(w, kind, &t, &columns, &mut report, &mut progress)?;
            if options.all_or_nothing && !report.rejected.is_empty() {
                rolled_back = Some(std::mem::take(&mut report));
                return Err(Error::invalid(file, "has rejected rows; nothing was imported"));
            }
            report.applied = true;
            Ok(std::mem::take(&mut report))
        });
        match (outcome, rolled_back) {
            (Ok(report), _) => Ok((report, t)),
            (Err(_), Some(report)) => Ok((report, t)),
            (Err(e), None) => Err(e),
        }
    }
}

fn import_rows(
    w: &mut Write<'_>,
    kind: ImportKind,
    t: &Table,
    columns: &Columns,
    report: &mut ImportReport,
    progress: &mut impl FnMut(u32, u32),
) -> Result<()> {
    let today = w.today();
    let total = t.rows.len() as u32;
    // Each PMS number's first row: a later row with the same number must be the same row.
    let mut seen: HashMap<String, &Line> = HashMap::new();
    let mut clinicians: Option<Clinicians> = None;
    for (done, line) in t.rows.iter().enumerate() {
        if done % 200 == 0 {
            progress(done as u32, total);
        }
        let mut row = Row { columns, line, headers: &t.headers, sources: HashMap::new(), warnings: Vec::new() };
        let read = match read_row(kind, &mut row, today) {
            Ok(record) => Read { record, sources: std::mem::take(&mut row.sources) },
            Err(rejected) => {
                report.rejected.push(rejected);
                continue;
            }
        };
        let pms_id = match &read.record {
            Record::Client { pms_id, .. } | Record::Patient { pms_id, .. } | Record::Product { pms_id, .. } => {
                pms_id.trim().to_string()
            }
            Record::Appointment(a) => a.pms_id.trim().to_string(),
            Record::History(h) => h.pms_id.trim().to_string(),
        };
        // What a row says, in the columns read (a trailing empty field or an ignored column aside).
        let said = |l: &Line, except: &str| -> Vec<String> {
            columns
                .fields
                .iter()
                .enumerate()
                .filter(|(_, f)| f.is_some_and(|f| f.name != except))
                .map(|(i, _)| l.cells.get(i).cloned().unwrap_or_default())
                .collect()
        };
        if let Some(first) = seen.get(&pms_id) {
            if said(first, "") == said(line, "") {
                report.repeated += 1;
                continue;
            }
            // An animal listed once per owner: each row adds its owner.
            let another_owner =
                kind == ImportKind::Patients && said(first, "owner_pms_id") == said(line, "owner_pms_id");
            if !another_owner {
                report.rejected.push(row.reject(
                    "pms_id",
                    format!(
                        "{pms_id} is also on line {} with other details, and line {} was read: correct whichever is wrong and import the file again",
                        first.line, first.line
                    ),
                ));
                continue;
            }
        } else if !pms_id.is_empty() {
            seen.insert(pms_id, line);
        }
        report.warnings.append(&mut row.warnings);
        let result = w.attempt(|w| match &read.record {
            Record::Client { pms_id, client } => w.import_client(pms_id, client),
            Record::Patient { pms_id, owner, patient, deceased_on } => {
                w.import_patient(pms_id, owner, patient, *deceased_on)
            }
            Record::Appointment(a) => {
                let clinicians = match &clinicians {
                    Some(c) => c,
                    None => clinicians.insert(Clinicians::load(w.tx())?),
                };
                let new = find_on_file(w.tx(), clinicians, a)?;
                w.import_appointment(&a.pms_id, &new, a.status)
            }
            Record::Product { pms_id, product } => w.import_product(pms_id, product),
            Record::History(h) => {
                let clinicians = match &clinicians {
                    Some(c) => c,
                    None => clinicians.insert(Clinicians::load(w.tx())?),
                };
                import_history(w, clinicians, h)
            }
        });
        match result {
            Ok(Imported::Added(_)) => report.added += 1,
            Ok(Imported::Updated(_)) => report.updated += 1,
            Ok(Imported::Unchanged(_)) => report.unchanged += 1,
            Ok(Imported::KeptLocal(_)) => report.kept_local += 1,
            Err(e @ (Error::Invalid { .. } | Error::Conflict(_) | Error::NotFound(_))) => {
                report.rejected.push(rejection(e, &read.sources, line.line, &t.headers))
            }
            Err(other) => return Err(other),
        }
    }
    progress(total, total);
    Ok(())
}

/// A history entry as a signed consultation of the animal found by its PMS number, by the clinician
/// found by name; found again by its record number (a signed record is never changed).
fn import_history(w: &mut Write<'_>, clinicians: &Clinicians, h: &RawHistory) -> Result<Imported> {
    let pms_id = crate::validate::required("pms_id", &h.pms_id, 40)?;
    let existing: Option<String> = w
        .tx()
        .query_row("SELECT id FROM consultation WHERE pms_id = ?1 LIMIT 1", [&pms_id], |r| r.get(0))
        .optional()?;
    if let Some(id) = existing {
        let id = Uuid::parse_str(&id).map_err(|_| Error::DamagedRecord(format!("consultation id {id:?}")))?;
        return Ok(Imported::Unchanged(id));
    }
    let clinician_id = clinicians.find(&h.clinician).map_err(|e| Error::invalid("clinician_id", e))?;
    let patient_id = crate::reception::origin::find_current(w.tx(), "patient", h.patient.trim())?.ok_or_else(|| {
        Error::invalid(
            "patient_id",
            format!("no animal has PMS number {:?}: import the animals' file first", h.patient.trim()),
        )
    })?;
    let started_at = time::to_utc("started_at", h.start)?;
    let c = w.record_past_consultation(&PastConsultation {
        appointment_id: None,
        patient_id,
        clinician_id,
        started_at,
        signed_at: started_at,
        notes: h.notes.clone(),
        pms_id: Some(pms_id),
    })?;
    Ok(Imported::Added(c.id))
}

/// The appointment with its animal, client and clinician found on file.
fn find_on_file(conn: &Connection, clinicians: &Clinicians, a: &RawAppointment) -> Result<NewAppointment> {
    let clinician_id = clinicians.find(&a.clinician).map_err(|e| Error::invalid("clinician_id", e))?;
    let patient = crate::reception::origin::find_current(conn, "patient", a.patient.trim())?.ok_or_else(|| {
        Error::invalid(
            "patient_id",
            format!("no animal has PMS number {:?}: import the animals' file first", a.patient.trim()),
        )
    })?;
    let client_id = if a.client.trim().is_empty() {
        // The animal's first owner.
        conn.prepare_cached(
            "SELECT client_id FROM ownership WHERE patient_id = ?1 ORDER BY created_at, client_id LIMIT 1",
        )?
        .query_row([patient.to_string()], |r| row::uuid(r, 0))?
    } else {
        crate::reception::origin::find_current(conn, "client", a.client.trim())?.ok_or_else(|| {
            Error::invalid(
                "client_id",
                format!("no client has PMS number {:?}: import the clients' file first", a.client.trim()),
            )
        })?
    };
    Ok(NewAppointment {
        clinician_id,
        room: a.room.clone(),
        start: a.start,
        minutes: a.minutes,
        kind: a.kind,
        reason: a.reason.clone(),
        patient_id: patient,
        client_id,
        notes: a.notes.clone(),
        confirm_outside_hours: true,
    })
}

/// The rejected rows as a CSV file to correct and import again: the file's own columns, then the
/// line it was on, the column at fault and the reason. UTF-8 with a byte-order mark, so that Excel
/// reads it right.
pub fn rejects_csv(t: &Table, report: &ImportReport) -> Result<Vec<u8>> {
    // Rows keep the number of fields they had (a row rejected for having too many keeps them all).
    let mut out = csv::WriterBuilder::new().flexible(true).from_writer(b"\xef\xbb\xbf".to_vec());
    let fail = |e: csv::Error| Error::Internal(format!("writing the rejects file: {e}"));
    let mut headings = t.headers.clone();
    headings.extend(["Line in the file".to_string(), "Column".to_string(), "Why it was rejected".to_string()]);
    out.write_record(&headings).map_err(fail)?;
    let by_line: HashMap<u64, &Line> = t.rows.iter().map(|l| (l.line, l)).collect();
    for r in &report.rejected {
        let mut cells: Vec<String> = by_line.get(&r.line).map(|l| l.cells.clone()).unwrap_or_default();
        if cells.len() < t.headers.len() {
            cells.resize(t.headers.len(), String::new());
        }
        cells.extend([r.line.to_string(), r.column.clone(), r.reason.clone()]);
        out.write_record(cells.iter().map(|c| table::spreadsheet_safe(c).into_owned())).map_err(fail)?;
    }
    out.into_inner().map_err(|e| Error::Internal(format!("writing the rejects file: {e}")))
}
