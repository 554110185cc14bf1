//! Snapshot import: clients and patients from the CSV files a practice management system (PMS)
//! exports, read in as copies of PMS records (each keeps its PMS number, so a second import of the
//! same file changes nothing). `table` reads the file, `columns` says which column is which,
//! `values` reads dates, species and sex codes; this module turns rows into the reception
//! operations `import_client` and `import_patient`, in one write: all or nothing, or the good rows
//! with a report (and a file) of the rejected ones, each with its line, column and reason.

pub mod columns;
pub mod table;
pub mod values;

use std::collections::HashMap;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::import::columns::{Columns, ImportKind, Mapping};
use crate::import::table::{Delimiter, Line, Table};
use crate::permission::Action;
use crate::reception::client::NewClient;
use crate::reception::origin::Imported;
use crate::reception::patient::{NewPatient, Sex};
use crate::session::Session;
use crate::store::database::Store;
use crate::store::write::Write;

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
}

/// How many rows a preview shows.
const SAMPLE_ROWS: usize = 10;

/// A row read into what the operations take; `sources` maps each operation field to the column it
/// came from, to name the column when the operation refuses the value.
enum Record {
    Client { pms_id: String, client: NewClient },
    Patient { pms_id: String, owner: String, patient: NewPatient, deceased_on: Option<NaiveDate> },
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
}

impl<'a> Row<'a> {
    /// The cell of `field`; line breaks inside a one-line field (an address typed over two lines in
    /// the PMS) become ", ".
    fn get(&self, field: &str) -> String {
        let cell = self.columns.index(field).and_then(|i| self.line.cells.get(i)).map(String::as_str).unwrap_or("");
        if matches!(field, "notes" | "alerts") || !cell.contains(['\r', '\n']) {
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
                email: row.take("email", "email"),
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
    })
}

/// A record as the import will store it, checked by the same rules (not those against the records
/// on file: an owner that must exist, a microchip already taken).
fn normalised(record: Record, today: NaiveDate) -> Result<Record> {
    Ok(match record {
        Record::Client { pms_id, client } => Record::Client { pms_id, client: client.import_checked()? },
        Record::Patient { pms_id, owner, patient, deceased_on } => {
            Record::Patient { pms_id, owner, patient: patient.import_checked(today)?, deceased_on }
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
        for line in t.rows.iter().take(SAMPLE_ROWS) {
            let mut row = Row { columns: &columns, line, headers: &t.headers, sources: HashMap::new() };
            let checked = read_row(kind, &mut row, today).and_then(|record| {
                normalised(record, today).map_err(|e| rejection(e, &row.sources, line.line, &t.headers))
            });
            preview.sample.push(match checked {
                Ok(record) => PreviewRow { line: line.line, values: preview_values(&record), problem: None },
                Err(rejected) => PreviewRow { line: line.line, values: Vec::new(), problem: Some(rejected) },
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
        let t = table::read(file, bytes)?;
        let columns = columns::recognise(kind, &t.headers, options.mapping.as_ref())?;
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
    for (done, line) in t.rows.iter().enumerate() {
        if done % 200 == 0 {
            progress(done as u32, total);
        }
        let mut row = Row { columns, line, headers: &t.headers, sources: HashMap::new() };
        let read = match read_row(kind, &mut row, today) {
            Ok(record) => Read { record, sources: std::mem::take(&mut row.sources) },
            Err(rejected) => {
                report.rejected.push(rejected);
                continue;
            }
        };
        let pms_id = match &read.record {
            Record::Client { pms_id, .. } | Record::Patient { pms_id, .. } => pms_id.trim().to_string(),
        };
        if let Some(first) = seen.get(&pms_id) {
            if first.cells == line.cells {
                report.repeated += 1;
            } else {
                report.rejected.push(row.reject(
                    "pms_id",
                    format!("{pms_id} is also on line {} with other details; which one is right?", first.line),
                ));
            }
            continue;
        }
        if !pms_id.is_empty() {
            seen.insert(pms_id, line);
        }
        let result = w.attempt(|w| match &read.record {
            Record::Client { pms_id, client } => w.import_client(pms_id, client),
            Record::Patient { pms_id, owner, patient, deceased_on } => {
                w.import_patient(pms_id, owner, patient, *deceased_on)
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

/// The rejected rows as a CSV file to correct and import again: the file's own columns, then the
/// line it was on, the column at fault and the reason. UTF-8 with a byte-order mark, so that Excel
/// reads it right.
pub fn rejects_csv(t: &Table, report: &ImportReport) -> Result<Vec<u8>> {
    let mut out = csv::Writer::from_writer(b"\xef\xbb\xbf".to_vec());
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
        out.write_record(&cells).map_err(fail)?;
    }
    out.into_inner().map_err(|e| Error::Internal(format!("writing the rejects file: {e}")))
}
