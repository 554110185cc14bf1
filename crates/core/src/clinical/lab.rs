//! Lab work: the practice's list of tests, requests made from a consultation or for an animal, and
//! results entered as values (with units and reference ranges, flagged high or low) or as a file from
//! the lab. A request is awaited until a result that is not void arrives, and overdue once the test's
//! turnaround has passed since the sample was taken. Requests and results are clinical records: never
//! changed, only voided (`void.rs`).

use std::collections::HashMap;

use base64::Engine;
use chrono::{DateTime, Duration, NaiveDateTime, Utc};
use rusqlite::{params, Connection, OptionalExtension, Row};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::error::{Error, Result};
use crate::organisation::staff;
use crate::permission::Action;
use crate::reception::patient;
use crate::session::Session;
use crate::store::database::Store;
use crate::store::row;
use crate::store::write::{ChangeKind, Entity, Fields, Write};
use crate::time;
use crate::validate;

/// A test the practice offers.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct LabTest {
    pub id: Uuid,
    pub name: String,
    pub sample_type: String,
    /// "In house", or the external laboratory's name.
    pub lab: String,
    pub in_house: bool,
    pub turnaround_hours: u32,
    pub active: bool,
}

/// A test to add to the list (no `id`) or a change to one.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct LabTestInput {
    pub id: Option<Uuid>,
    pub name: String,
    pub sample_type: String,
    pub lab: String,
    pub in_house: bool,
    pub turnaround_hours: u32,
    pub active: bool,
}

/// Tests requested for an animal.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct NewLabRequest {
    pub patient_id: Uuid,
    pub consultation_id: Option<Uuid>,
    pub test_id: Uuid,
    /// Empty: the test's own sample type.
    pub sample_type: String,
    /// Empty: the test's own lab.
    pub lab: String,
    /// Who took the sample; `None`: the person requesting.
    pub sample_taken_by: Option<Uuid>,
    /// When (London time); `None`: now.
    pub sample_taken_at: Option<NaiveDateTime>,
    pub note: String,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum LabFlag {
    High,
    Low,
}

/// One value of a result, as stored and shown.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct LabValue {
    pub name: String,
    /// As the lab gave it ("7.2", "Negative", "<0.1").
    pub value: String,
    pub unit: String,
    pub low: Option<f64>,
    pub high: Option<f64>,
    pub flag: Option<LabFlag>,
}

/// One value as typed: the reference range as text (empty where the lab gives none).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct LabValueInput {
    pub name: String,
    pub value: String,
    pub unit: String,
    pub low: String,
    pub high: String,
}

/// A file from the lab, read by the shell.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct LabFile {
    pub name: String,
    pub bytes: Vec<u8>,
}

/// A result for a request: values, a comment, a file, or any of them.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct NewLabResult {
    pub request_id: Uuid,
    pub values: Vec<LabValueInput>,
    pub comment: String,
    #[cfg_attr(feature = "ts", ts(skip))]
    #[serde(skip)]
    pub file: Option<LabFile>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct LabResult {
    pub id: Uuid,
    pub request_id: Uuid,
    pub values: Vec<LabValue>,
    /// How many values are flagged high or low.
    pub flagged: u32,
    pub comment: String,
    pub file_name: Option<String>,
    pub file_type: Option<String>,
    /// Size of the file, in bytes.
    pub file_bytes: Option<u32>,
    pub entered_by: Uuid,
    pub entered_by_name: String,
    pub entered_at: DateTime<Utc>,
    pub void_reason: Option<String>,
}

/// A request, with its results (oldest first).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct LabRequest {
    pub id: Uuid,
    pub patient_id: Uuid,
    pub patient_name: String,
    pub consultation_id: Option<Uuid>,
    pub test_id: Uuid,
    pub test_name: String,
    pub lab: String,
    pub in_house: bool,
    pub sample_type: String,
    pub sample_taken_by: Uuid,
    pub sample_taken_by_name: String,
    pub sample_taken_at: DateTime<Utc>,
    pub due_at: DateTime<Utc>,
    pub note: String,
    pub requested_by: Uuid,
    pub requested_by_name: String,
    pub requested_at: DateTime<Utc>,
    pub void_reason: Option<String>,
    pub results: Vec<LabResult>,
}

impl LabRequest {
    /// Still waiting for a result: not void, and no result that is not void.
    pub fn is_awaited(&self) -> bool {
        self.void_reason.is_none() && !self.results.iter().any(|r| r.void_reason.is_none())
    }

    pub fn is_overdue(&self, now: DateTime<Utc>) -> bool {
        self.is_awaited() && self.due_at < now
    }
}

/// Requests still waiting for a result, soonest due first.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct LabAwaited {
    /// When the list was read (overdue means due before this).
    pub now: DateTime<Utc>,
    pub requests: Vec<AwaitedRequest>,
    /// More are awaited than the list shows (those due last are left out).
    pub more: bool,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct AwaitedRequest {
    pub request: LabRequest,
    pub overdue: bool,
}

/// Most values in one result; longest file.
const MOST_VALUES: usize = 80;
pub const MOST_FILE_BYTES: usize = 2 * 1024 * 1024;
/// How long before now a sample may be said to have been taken.
const OLDEST_SAMPLE_DAYS: i64 = 90;

const TEST_COLUMNS: &str = "id, name, sample_type, lab, in_house, turnaround_hours, active";

fn test_from_row(r: &Row<'_>) -> rusqlite::Result<LabTest> {
    Ok(LabTest {
        id: row::uuid(r, 0)?,
        name: r.get(1)?,
        sample_type: r.get(2)?,
        lab: r.get(3)?,
        in_house: r.get(4)?,
        turnaround_hours: r.get(5)?,
        active: r.get(6)?,
    })
}

/// The practice's tests, in-house first, then by name; with `all`, the ones taken off the list too.
pub(crate) fn tests(conn: &Connection, all: bool) -> Result<Vec<LabTest>> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {TEST_COLUMNS} FROM lab_test WHERE active = 1 OR ?1 ORDER BY active DESC, in_house DESC, name COLLATE NOCASE"
    ))?;
    let rows = stmt.query_map([all], test_from_row)?.collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(rows)
}

fn test(conn: &Connection, id: Uuid) -> Result<LabTest> {
    conn.query_row(&format!("SELECT {TEST_COLUMNS} FROM lab_test WHERE id = ?1"), [id.to_string()], test_from_row)
        .optional()?
        .ok_or_else(|| Error::invalid("test_id", "choose a test from the practice's list"))
}

const REQUEST_COLUMNS: &str = "q.id, q.patient_id, p.name, q.consultation_id, q.test_id, q.test_name, q.lab, q.in_house,
    q.sample_type, q.sample_taken_by, t.display_name, q.sample_taken_at, q.due_at, q.note, q.requested_by, r.display_name,
    q.requested_at, (SELECT reason FROM clinical_void v WHERE v.entity = 'lab_request' AND v.entity_id = q.id ORDER BY v.voided_at, v.id LIMIT 1)";
const REQUEST_FROM: &str =
    "lab_request q JOIN patient p ON p.id = q.patient_id JOIN staff t ON t.id = q.sample_taken_by
    JOIN staff r ON r.id = q.requested_by";

fn request_from_row(r: &Row<'_>) -> rusqlite::Result<LabRequest> {
    Ok(LabRequest {
        id: row::uuid(r, 0)?,
        patient_id: row::uuid(r, 1)?,
        patient_name: r.get(2)?,
        consultation_id: row::opt_uuid(r, 3)?,
        test_id: row::uuid(r, 4)?,
        test_name: r.get(5)?,
        lab: r.get(6)?,
        in_house: r.get(7)?,
        sample_type: r.get(8)?,
        sample_taken_by: row::uuid(r, 9)?,
        sample_taken_by_name: r.get(10)?,
        sample_taken_at: row::time(r, 11)?,
        due_at: row::time(r, 12)?,
        note: r.get(13)?,
        requested_by: row::uuid(r, 14)?,
        requested_by_name: r.get(15)?,
        requested_at: row::time(r, 16)?,
        void_reason: r.get(17)?,
        results: Vec::new(),
    })
}

const RESULT_COLUMNS: &str = "x.id, x.request_id, x.measurements, x.flagged, x.comment, x.file_name, x.file_type,
    x.file_bytes, x.entered_by, s.display_name, x.entered_at,
    (SELECT reason FROM clinical_void v WHERE v.entity = 'lab_result' AND v.entity_id = x.id ORDER BY v.voided_at, v.id LIMIT 1)";

fn result_from_row(r: &Row<'_>) -> rusqlite::Result<LabResult> {
    let bytes: Option<i64> = r.get(7)?;
    Ok(LabResult {
        id: row::uuid(r, 0)?,
        request_id: row::uuid(r, 1)?,
        values: row::json(r, 2)?,
        flagged: r.get(3)?,
        comment: r.get(4)?,
        file_name: r.get(5)?,
        file_type: r.get(6)?,
        file_bytes: bytes.map(|n| n as u32),
        entered_by: row::uuid(r, 8)?,
        entered_by_name: r.get(9)?,
        entered_at: row::time(r, 10)?,
        void_reason: r.get(11)?,
    })
}

/// Newest first.
const NEWEST: &str = "q.requested_at DESC, q.id DESC";

/// The first `limit` requests chosen by `filter` (SQL over `q`, with `?1`) in `order`, each with its
/// results: two queries, however many there are.
fn requests_where(conn: &Connection, filter: &str, arg: &str, order: &str, limit: u32) -> Result<Vec<LabRequest>> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {REQUEST_COLUMNS} FROM {REQUEST_FROM} WHERE {filter} ORDER BY {order} LIMIT {limit}"
    ))?;
    let mut requests = stmt.query_map([arg], request_from_row)?.collect::<rusqlite::Result<Vec<_>>>()?;
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {RESULT_COLUMNS} FROM lab_result x JOIN staff s ON s.id = x.entered_by
         WHERE x.request_id IN (SELECT q.id FROM lab_request q WHERE {filter} ORDER BY {order} LIMIT {limit})
         ORDER BY x.entered_at, x.id"
    ))?;
    let mut results: HashMap<Uuid, Vec<LabResult>> = HashMap::new();
    for x in stmt.query_map([arg], result_from_row)? {
        let x = x?;
        results.entry(x.request_id).or_default().push(x);
    }
    for q in &mut requests {
        q.results = results.remove(&q.id).unwrap_or_default();
    }
    Ok(requests)
}

pub(crate) fn request(conn: &Connection, id: Uuid) -> Result<LabRequest> {
    requests_where(conn, "q.id = ?1", &id.to_string(), NEWEST, 1)?
        .pop()
        .ok_or_else(|| Error::NotFound(format!("lab request {id}")))
}

/// An animal's requests (and those of animals merged into it), newest first.
pub(crate) fn of_patient(conn: &Connection, patient: Uuid, limit: u32) -> Result<Vec<LabRequest>> {
    requests_where(
        conn,
        "q.patient_id IN (SELECT id FROM patient WHERE id = ?1 OR merged_into = ?1)",
        &patient.to_string(),
        NEWEST,
        limit,
    )
}

pub(crate) fn of_consultation(conn: &Connection, consultation: Uuid) -> Result<Vec<LabRequest>> {
    requests_where(conn, "q.consultation_id = ?1", &consultation.to_string(), "q.requested_at, q.id", 200)
}

/// The most requests the awaited list shows (the longest overdue first).
const MOST_AWAITED: u32 = 1000;

/// Requests with no result yet (not void), soonest due first; only `requested_by`'s if given.
pub(crate) fn awaited(conn: &Connection, requested_by: Option<Uuid>, now: DateTime<Utc>) -> Result<LabAwaited> {
    let waiting = "NOT EXISTS (SELECT 1 FROM clinical_void v WHERE v.entity = 'lab_request' AND v.entity_id = q.id)
        AND NOT EXISTS (SELECT 1 FROM lab_result x WHERE x.request_id = q.id
            AND NOT EXISTS (SELECT 1 FROM clinical_void v WHERE v.entity = 'lab_result' AND v.entity_id = x.id))";
    let (filter, arg) = match requested_by {
        Some(by) => (format!("q.requested_by = ?1 AND {waiting}"), by.to_string()),
        None => (format!("?1 = '' AND {waiting}"), String::new()),
    };
    let mut requests = requests_where(conn, &filter, &arg, "q.due_at, q.id", MOST_AWAITED + 1)?;
    let more = requests.len() > MOST_AWAITED as usize;
    requests.truncate(MOST_AWAITED as usize);
    let requests =
        requests.into_iter().map(|request| AwaitedRequest { overdue: request.is_overdue(now), request }).collect();
    Ok(LabAwaited { now, requests, more })
}

/// A number as a lab writes it: digits with an optional sign and decimal point ("7.2", "-0.5"), and
/// commas only between thousands ("1,200"): "3,2" is refused rather than read as 32.
fn number(field: &str, text: &str) -> Result<Option<f64>> {
    let text = text.trim();
    if text.contains(',') {
        let whole = text.trim_start_matches('-').split('.').next().unwrap_or_default();
        let groups: Vec<&str> = whole.split(',').collect();
        let grouped = (1..=3).contains(&groups[0].len()) && groups[1..].iter().all(|g| g.len() == 3);
        if !grouped {
            return Err(Error::invalid(
                field,
                format!("{} is not a number: use a point for decimals (3.2)", validate::shown(text)),
            ));
        }
    }
    let text = text.replace(',', "");
    if text.is_empty() {
        return Ok(None);
    }
    let shaped = text.chars().enumerate().all(|(i, c)| c.is_ascii_digit() || c == '.' || (i == 0 && c == '-'))
        && text.chars().filter(|c| *c == '.').count() <= 1
        && text.chars().any(|c| c.is_ascii_digit());
    match text.parse::<f64>() {
        Ok(n) if shaped && n.is_finite() && n.abs() < 1e12 => Ok(Some(n)),
        _ => Err(Error::invalid(field, format!("{} is not a number", validate::shown(&text)))),
    }
}

/// Checks one typed value and flags it against its range.
fn value(typed: &LabValueInput) -> Result<LabValue> {
    let name = validate::required("name", &typed.name, 60)?;
    let value = validate::required("value", &typed.value, 40)?;
    let unit = validate::optional("unit", &typed.unit, 20)?;
    let low = number("low", &typed.low)?;
    let high = number("high", &typed.high)?;
    if let (Some(l), Some(h)) = (low, high) {
        if l > h {
            return Err(Error::invalid("low", "the low end of the range is above the high end"));
        }
    }
    let flag = if low.is_some() || high.is_some() {
        // A value with a range must be a number to be compared with it. A bound ("<0.1", ">500")
        // says only which side the value lies: "<5" may be normal under a high of 3, and is low only
        // where 5 is at or below the low end.
        let (bound, bare) = match value.chars().next() {
            Some(c @ ('<' | '>' | '≤' | '≥')) => (Some(c), value[c.len_utf8()..].trim()),
            _ => (None, value.as_str()),
        };
        let n = number("value", bare)?.ok_or_else(|| Error::invalid("value", "is required"))?;
        let below = |l: f64| match bound {
            None => n < l,
            Some('<') => n <= l,
            Some('≤') => n < l,
            _ => false,
        };
        let above = |h: f64| match bound {
            None => n > h,
            Some('>') => n >= h,
            Some('≥') => n > h,
            _ => false,
        };
        match (low, high) {
            (_, Some(h)) if above(h) => Some(LabFlag::High),
            (Some(l), _) if below(l) => Some(LabFlag::Low),
            _ => None,
        }
    } else {
        None
    };
    Ok(LabValue { name, value, unit, low, high, flag })
}

/// The file's type, from its first bytes (never from its name). A PDF's header may follow up to a
/// kilobyte of other bytes.
fn file_type(bytes: &[u8]) -> Option<&'static str> {
    let head = &bytes[..bytes.len().min(1024)];
    if head.windows(5).any(|w| w == b"%PDF-") {
        Some("application/pdf")
    } else if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
        Some("image/png")
    } else if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
        Some("image/jpeg")
    } else {
        None
    }
}

/// The longest file name kept (a longer one keeps its start and its extension).
const LONGEST_FILE_NAME: usize = 120;

/// A file name as kept: its last path part, without characters that are trouble in a file name (or
/// that change the order text is shown in), no dots at either end, shortened if long.
fn file_name(name: &str) -> Result<String> {
    let last = name.rsplit(['/', '\\']).next().unwrap_or_default();
    let cleaned: String = last
        .chars()
        .map(|c| {
            let trouble = c.is_control()
                || "<>:\"|?*".contains(c)
                || matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}');
            if trouble {
                '_'
            } else {
                c
            }
        })
        .collect();
    let cleaned = cleaned.trim().trim_matches('.').trim().to_string();
    if cleaned.is_empty() {
        return Err(Error::invalid("file", "has no name"));
    }
    if cleaned.chars().count() <= LONGEST_FILE_NAME {
        return Ok(cleaned);
    }
    let (stem, ext) = match cleaned.rsplit_once('.') {
        Some((stem, ext)) if ext.chars().count() <= 5 => (stem.to_string(), format!(".{ext}")),
        _ => (cleaned.clone(), String::new()),
    };
    let keep = LONGEST_FILE_NAME - ext.chars().count();
    Ok(format!("{}{ext}", stem.chars().take(keep).collect::<String>()))
}

/// The name to save a file under: as kept, with the extension its content has.
fn saved_name(name: &str, content_type: &str) -> String {
    let name = file_name(name).unwrap_or_else(|_| "lab-file".into());
    let ext = match content_type {
        "application/pdf" => ".pdf",
        "image/png" => ".png",
        _ => ".jpg",
    };
    let lower = name.to_lowercase();
    let has = lower.ends_with(ext) || (ext == ".jpg" && lower.ends_with(".jpeg"));
    if has {
        name
    } else {
        format!("{name}{ext}")
    }
}

impl Write<'_> {
    /// Adds a test to the practice's list, or changes one (taking it off the list with `active`).
    pub fn save_lab_test(&mut self, input: &LabTestInput) -> Result<LabTest> {
        self.authorize(Action::ManageLabTests)?;
        let name = validate::required("name", &input.name, 80)?;
        let sample_type = validate::required("sample_type", &input.sample_type, 60)?;
        let lab = if input.in_house { "In house".to_string() } else { validate::required("lab", &input.lab, 80)? };
        if !(1..=2160).contains(&input.turnaround_hours) {
            return Err(Error::invalid("turnaround_hours", "must be between 1 hour and 90 days (2160 hours)"));
        }
        let taken: Option<String> = self
            .tx()
            .query_row(
                "SELECT id FROM lab_test WHERE name = ?1 COLLATE NOCASE AND active = 1 AND id <> ?2",
                params![name, input.id.map(|i| i.to_string()).unwrap_or_default()],
                |r| r.get(0),
            )
            .optional()?;
        if taken.is_some() && input.active {
            return Err(Error::invalid(
                "name",
                format!("the list already has a test called {}", validate::shown(&name)),
            ));
        }
        let now = time::stored(self.now());
        let id = match input.id {
            None => {
                let fields = Fields::new()
                    .with("name", &name)
                    .with("sample_type", &sample_type)
                    .with("lab", &lab)
                    .with("in_house", input.in_house)
                    .with("turnaround_hours", input.turnaround_hours)
                    .with("active", input.active);
                let id = self.new_id();
                self.tx().execute(
                    "INSERT INTO lab_test (id, name, sample_type, lab, in_house, turnaround_hours, active, created_at, updated_at)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?8)",
                    params![id.to_string(), name, sample_type, lab, input.in_house, input.turnaround_hours, input.active, now],
                )?;
                self.record(Action::ManageLabTests, Entity::LabTest, id, ChangeKind::Create, fields)?;
                id
            }
            Some(id) => {
                let was =
                    test(self.tx(), id).map_err(|_| Error::invalid("id", "is not a test on the practice's list"))?;
                // Only what changed is recorded: a field changed on another PC meanwhile keeps its value.
                let mut fields = Fields::new();
                if was.name != name {
                    fields.put("name", &name);
                }
                if was.sample_type != sample_type {
                    fields.put("sample_type", &sample_type);
                }
                if was.lab != lab {
                    fields.put("lab", &lab);
                }
                if was.in_house != input.in_house {
                    fields.put("in_house", input.in_house);
                }
                if was.turnaround_hours != input.turnaround_hours {
                    fields.put("turnaround_hours", input.turnaround_hours);
                }
                if was.active != input.active {
                    fields.put("active", input.active);
                }
                if fields.is_empty() {
                    self.may_record_nothing();
                    return Ok(was);
                }
                self.tx().execute(
                    "UPDATE lab_test SET name = ?2, sample_type = ?3, lab = ?4, in_house = ?5, turnaround_hours = ?6, active = ?7, updated_at = ?8 WHERE id = ?1",
                    params![id.to_string(), name, sample_type, lab, input.in_house, input.turnaround_hours, input.active, now],
                )?;
                self.record(Action::ManageLabTests, Entity::LabTest, id, ChangeKind::Update, fields)?;
                id
            }
        };
        test(self.tx(), id)
    }

    /// Adds the starter list's tests that are not on the list yet; returns how many.
    pub fn add_starter_lab_tests(&mut self) -> Result<usize> {
        self.authorize(Action::ManageLabTests)?;
        let mut added = 0;
        for (name, sample_type, in_house, hours) in STARTER_TESTS {
            let present: bool = self.tx().query_row(
                "SELECT EXISTS (SELECT 1 FROM lab_test WHERE name = ?1 COLLATE NOCASE)",
                [name],
                |r| r.get(0),
            )?;
            if present {
                continue;
            }
            let lab = if in_house { "In house" } else { "External laboratory" };
            self.save_lab_test(&LabTestInput {
                id: None,
                name: name.into(),
                sample_type: sample_type.into(),
                lab: lab.into(),
                in_house,
                turnaround_hours: hours,
                active: true,
            })?;
            added += 1;
        }
        Ok(added)
    }

    /// Requests a test for an animal, from one of its consultations or on its own.
    pub fn request_lab_work(&mut self, new: &NewLabRequest) -> Result<LabRequest> {
        self.authorize(Action::RequestLabWork)?;
        let test = test(self.tx(), new.test_id)?;
        if !test.active {
            return Err(Error::invalid("test_id", format!("{} is no longer on the practice's list", test.name)));
        }
        let patient = patient::get(self.tx(), new.patient_id)?;
        if let Some(consultation) = new.consultation_id {
            let of: Option<String> = self
                .tx()
                .query_row("SELECT patient_id FROM consultation WHERE id = ?1", [consultation.to_string()], |r| {
                    r.get(0)
                })
                .optional()?;
            if of.as_deref() != Some(patient.id.to_string().as_str()) {
                return Err(Error::invalid("consultation_id", format!("is not a consultation of {}", patient.name)));
            }
            let void: bool = self.tx().query_row(
                "SELECT EXISTS (SELECT 1 FROM clinical_void WHERE entity = 'consultation' AND entity_id = ?1)",
                [consultation.to_string()],
                |r| r.get(0),
            )?;
            if void {
                return Err(Error::invalid(
                    "consultation_id",
                    "is void: request the test from the animal's current consultation",
                ));
            }
        }
        let sample_type = match validate::optional("sample_type", &new.sample_type, 60)? {
            s if s.is_empty() => test.sample_type.clone(),
            s => s,
        };
        let lab = match validate::optional("lab", &new.lab, 80)? {
            l if l.is_empty() => test.lab.clone(),
            l => l,
        };
        let note = validate::optional_multiline("note", &new.note, 500)?;
        let taken_by = new.sample_taken_by.unwrap_or(self.actor().id);
        let taker = staff::get(self.tx(), taken_by)
            .map_err(|_| Error::invalid("sample_taken_by", "choose a member of staff"))?;
        if !taker.active {
            return Err(Error::invalid("sample_taken_by", format!("{}'s account is deactivated", taker.display_name)));
        }
        if !matches!(taker.role, crate::permission::Role::Vet | crate::permission::Role::Nurse) {
            return Err(Error::invalid("sample_taken_by", format!("{} is not a vet or a nurse", taker.display_name)));
        }
        let taken_at = match new.sample_taken_at {
            None => self.now(),
            Some(local) => {
                let at = time::to_utc("sample_taken_at", local)?;
                if at > self.now() + Duration::minutes(5) {
                    return Err(Error::invalid(
                        "sample_taken_at",
                        "is in the future: record a sample once it is taken",
                    ));
                }
                if at < self.now() - Duration::days(OLDEST_SAMPLE_DAYS) {
                    return Err(Error::invalid(
                        "sample_taken_at",
                        format!("is more than {OLDEST_SAMPLE_DAYS} days ago: check the date"),
                    ));
                }
                at
            }
        };
        let due = taken_at + Duration::hours(i64::from(test.turnaround_hours));
        let id = self.new_id();
        let (taken_at, due, now) = (time::stored(taken_at), time::stored(due), time::stored(self.now()));
        let by = self.actor().id;
        self.tx().execute(
            "INSERT INTO lab_request (id, patient_id, consultation_id, test_id, test_name, lab, in_house, sample_type,
                sample_taken_by, sample_taken_at, due_at, note, requested_by, requested_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)",
            params![
                id.to_string(),
                patient.id.to_string(),
                new.consultation_id.map(|c| c.to_string()),
                test.id.to_string(),
                test.name,
                lab,
                test.in_house,
                sample_type,
                taken_by.to_string(),
                taken_at,
                due,
                note,
                by.to_string(),
                now
            ],
        )?;
        let fields = Fields::new()
            .with("patient_id", patient.id)
            .with("consultation_id", new.consultation_id)
            .with("test_id", test.id)
            .with("test_name", &test.name)
            .with("lab", &lab)
            .with("in_house", test.in_house)
            .with("sample_type", &sample_type)
            .with("sample_taken_by", taken_by)
            .with("sample_taken_at", &taken_at)
            .with("due_at", &due)
            .with("note", &note)
            .with("requested_by", by)
            .with("requested_at", &now);
        self.record(Action::RequestLabWork, Entity::LabRequest, id, ChangeKind::Create, fields)?;
        request(self.tx(), id)
    }

    /// Enters a result for a request: values flagged against their ranges, a comment, a file.
    pub fn record_lab_result(&mut self, new: &NewLabResult) -> Result<LabResult> {
        self.authorize(Action::RecordLabResults)?;
        let request = request(self.tx(), new.request_id)?;
        if let Some(reason) = &request.void_reason {
            return Err(Error::Conflict(format!("this request was voided ({reason}): request the test again")));
        }
        if new.values.len() > MOST_VALUES {
            return Err(Error::invalid("values", format!("a result holds at most {MOST_VALUES} values")));
        }
        let mut values = Vec::with_capacity(new.values.len());
        for (i, typed) in new.values.iter().enumerate() {
            let blank =
                [&typed.name, &typed.value, &typed.unit, &typed.low, &typed.high].iter().all(|t| t.trim().is_empty());
            if blank {
                continue;
            }
            values.push(value(typed).map_err(|e| e.within(&format!("value {}", i + 1)))?);
        }
        let comment = validate::optional_multiline("comment", &new.comment, 4000)?;
        let file = match &new.file {
            None => None,
            Some(f) => {
                if f.bytes.len() > MOST_FILE_BYTES {
                    return Err(Error::invalid(
                        "file",
                        format!(
                            "is {:.1} MB; the largest a result may carry is 2 MB (scan it at a lower resolution)",
                            f.bytes.len() as f64 / 1e6
                        ),
                    ));
                }
                let kind =
                    file_type(&f.bytes).ok_or_else(|| Error::invalid("file", "must be a PDF, PNG or JPEG file"))?;
                Some((
                    file_name(&f.name)?,
                    kind,
                    base64::engine::general_purpose::STANDARD.encode(&f.bytes),
                    f.bytes.len(),
                ))
            }
        };
        if values.is_empty() && comment.is_empty() && file.is_none() {
            return Err(Error::invalid("values", "enter at least one value, a comment or the lab's file"));
        }
        let flagged = values.iter().filter(|v| v.flag.is_some()).count() as u32;
        let measurements = serde_json::to_string(&values)
            .map_err(|e| Error::Internal(format!("writing the values of a result: {e}")))?;
        let id = self.new_id();
        let now = time::stored(self.now());
        let by = self.actor().id;
        let (file_name, file_type, file_data, file_bytes) = match &file {
            Some((n, t, d, b)) => (Some(n.as_str()), Some(*t), Some(d.as_str()), Some(*b as i64)),
            None => (None, None, None, None),
        };
        self.tx().execute(
            "INSERT INTO lab_result (id, request_id, measurements, flagged, comment, file_name, file_type, file_data, file_bytes, entered_by, entered_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
            params![id.to_string(), request.id.to_string(), measurements, flagged, comment, file_name, file_type, file_data, file_bytes, by.to_string(), now],
        )?;
        let fields = Fields::new()
            .with("request_id", request.id)
            .with("measurements", &measurements)
            .with("flagged", flagged)
            .with("comment", &comment)
            .with("file_name", file_name)
            .with("file_type", file_type)
            .with("file_data", file_data)
            .with("file_bytes", file_bytes)
            .with("entered_by", by)
            .with("entered_at", &now);
        self.record(Action::RecordLabResults, Entity::LabResult, id, ChangeKind::Create, fields)?;
        let mut entered = crate::clinical::lab::request(self.tx(), request.id)?.results;
        entered
            .pop()
            .filter(|r| r.id == id)
            .ok_or_else(|| Error::Internal("the result just entered was not found".into()))
    }
}

/// A typical small-animal practice's tests, for the practice to change: (name, sample, in house,
/// turnaround in hours).
const STARTER_TESTS: [(&str, &str, bool, u32); 12] = [
    ("Haematology (in house)", "EDTA blood", true, 2),
    ("Biochemistry profile (in house)", "Serum or heparin plasma", true, 2),
    ("Electrolytes", "Heparin plasma", true, 2),
    ("Urinalysis", "Urine", true, 2),
    ("Blood smear", "EDTA blood", true, 4),
    ("Total T4", "Serum", false, 48),
    ("Fructosamine", "Serum", false, 48),
    ("Comprehensive profile (external)", "EDTA blood and serum", false, 48),
    ("Faecal parasitology", "Faeces", false, 72),
    ("Culture and sensitivity", "Swab", false, 96),
    ("Cytology", "Fine-needle aspirate slides", false, 96),
    ("Histopathology", "Tissue in formalin", false, 168),
];

/// How many tests the starter list has.
pub fn starter_lab_test_count() -> usize {
    STARTER_TESTS.len()
}

/// A result's file, as it came from the lab.
#[derive(Clone, Debug, PartialEq)]
pub struct LabAttachment {
    /// Safe to save under (whatever arrived by sync), with the extension its content has.
    pub name: String,
    pub content_type: String,
    pub bytes: Vec<u8>,
}

/// The rows to start a result for `request` with: the names, units and reference ranges of the last
/// result of the same test (for an animal of the same species if there is one), values left to type.
fn template(conn: &Connection, request: Uuid) -> Result<Vec<LabValueInput>> {
    let q = self::request(conn, request)?;
    let species: String =
        conn.query_row("SELECT species FROM patient WHERE id = ?1", [q.patient_id.to_string()], |r| r.get(0))?;
    let last: Option<String> = conn
        .query_row(
            "SELECT x.measurements FROM lab_result x JOIN lab_request q ON q.id = x.request_id JOIN patient p ON p.id = q.patient_id
             WHERE q.test_id = ?1 AND x.measurements <> '[]'
               AND NOT EXISTS (SELECT 1 FROM clinical_void v WHERE v.entity = 'lab_result' AND v.entity_id = x.id)
             ORDER BY p.species = ?2 DESC, x.entered_at DESC LIMIT 1",
            params![q.test_id.to_string(), species],
            |r| r.get(0),
        )
        .optional()?;
    let Some(last) = last else { return Ok(Vec::new()) };
    let values: Vec<LabValue> = serde_json::from_str(&last)
        .map_err(|_| Error::DamagedRecord(format!("the values of a result of {} are not readable", q.test_name)))?;
    let bound = |n: Option<f64>| n.map(|n| n.to_string()).unwrap_or_default();
    Ok(values
        .into_iter()
        .map(|v| LabValueInput {
            name: v.name,
            value: String::new(),
            unit: v.unit,
            low: bound(v.low),
            high: bound(v.high),
        })
        .collect())
}

fn attachment(conn: &Connection, result: Uuid) -> Result<LabAttachment> {
    let row: Option<(Option<String>, Option<String>, Option<String>)> = conn
        .query_row("SELECT file_name, file_type, file_data FROM lab_result WHERE id = ?1", [result.to_string()], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?))
        })
        .optional()?;
    let (name, kind, data) = row.ok_or_else(|| Error::NotFound(format!("lab result {result}")))?;
    let (Some(name), Some(kind), Some(data)) = (name, kind, data) else {
        return Err(Error::NotFound("a file for this result (it has none)".into()));
    };
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(data.as_bytes())
        .map_err(|_| Error::DamagedRecord(format!("the file of lab result {result} is not base64")))?;
    Ok(LabAttachment { name: saved_name(&name, &kind), content_type: kind, bytes })
}

impl Store {
    /// The practice's tests (with `all`, those taken off the list too).
    pub fn lab_tests(&self, session: &Session, all: bool) -> Result<Vec<LabTest>> {
        self.read_as(session, Action::ViewClinical, |r| tests(r, all))
    }

    pub fn save_lab_test(&self, session: &Session, input: &LabTestInput) -> Result<LabTest> {
        self.write(session, |w| w.save_lab_test(input))
    }

    pub fn request_lab_work(&self, session: &Session, new: &NewLabRequest) -> Result<LabRequest> {
        self.write(session, |w| w.request_lab_work(new))
    }

    pub fn record_lab_result(&self, session: &Session, new: &NewLabResult) -> Result<LabResult> {
        self.write(session, |w| w.record_lab_result(new))
    }

    pub fn lab_request(&self, session: &Session, id: Uuid) -> Result<LabRequest> {
        self.read_as(session, Action::ViewClinical, |r| request(r, id))
    }

    /// Requests still waiting for a result: the signed-in person's (`mine`), or the practice's.
    pub fn lab_awaited(&self, session: &Session, mine: bool) -> Result<LabAwaited> {
        let now = self.clock.now();
        self.read_as(session, Action::ViewClinical, |r| awaited(r, mine.then_some(session.staff_id), now))
    }

    pub fn lab_attachment(&self, session: &Session, result: Uuid) -> Result<LabAttachment> {
        self.read_as(session, Action::ViewClinical, |r| attachment(r, result))
    }

    /// The rows to start entering a result with (see `template`): empty for a test never resulted.
    pub fn lab_result_template(&self, session: &Session, request: Uuid) -> Result<Vec<LabValueInput>> {
        self.read_as(session, Action::ViewClinical, |r| template(r, request))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn typed(value: &str, low: &str, high: &str) -> LabValueInput {
        LabValueInput {
            name: "ALT".into(),
            value: value.into(),
            unit: "U/L".into(),
            low: low.into(),
            high: high.into(),
        }
    }

    #[test]
    fn values_are_flagged_against_their_range() {
        let flag = |v: &str, l: &str, h: &str| value(&typed(v, l, h)).unwrap().flag;
        assert_eq!(flag("250", "10", "125"), Some(LabFlag::High));
        assert_eq!(flag("5", "10", "125"), Some(LabFlag::Low));
        assert_eq!(flag("10", "10", "125"), None, "the ends of the range are normal");
        assert_eq!(flag("125", "10", "125"), None);
        assert_eq!(flag("1,250", "", "125"), Some(LabFlag::High), "thousands separators");
        assert_eq!(flag("<0.1", "0.5", ""), Some(LabFlag::Low), "a bound as the lab writes it");
        assert_eq!(flag("<0.1", "0.1", ""), Some(LabFlag::Low), "below 0.1 is below a low end of 0.1");
        assert_eq!(flag("≤0.1", "0.1", ""), None, "at most 0.1 may be 0.1");
        assert_eq!(flag("<5", "1", "3"), None, "under 5 may well be normal under a high of 3");
        assert_eq!(flag(">500", "1000", ""), None, "over 500 is not known to be low");
        assert_eq!(flag(">500", "", "500"), Some(LabFlag::High));
        assert_eq!(flag("Negative", "", ""), None, "a value with no range is not compared");
    }

    #[test]
    fn bad_values_are_refused_naming_what_is_wrong() {
        for (v, l, h, field, says) in [
            ("high", "10", "125", "value", "is not a number"),
            ("50", "ten", "125", "low", "is not a number"),
            ("50", "125", "10", "low", "above the high end"),
            ("NaN", "1", "2", "value", "is not a number"),
            ("inf", "1", "2", "value", "is not a number"),
            ("1e400", "1", "2", "value", "is not a number"),
            ("50", "--1", "2", "low", "is not a number"),
            ("3,2", "3.5", "5.8", "value", "use a point for decimals"),
            ("50", "1,20", "2", "low", "use a point for decimals"),
            ("", "1", "2", "value", "is required"),
        ] {
            let e = value(&typed(v, l, h)).unwrap_err();
            assert_eq!(e.field(), Some(field), "{v:?} {l:?} {h:?}: {e}");
            assert!(e.to_string().contains(says), "{v:?} {l:?} {h:?}: {e}");
        }
    }

    #[test]
    fn files_are_known_by_their_first_bytes_and_named_by_their_last_path_part() {
        assert_eq!(file_type(b"%PDF-1.7 ..."), Some("application/pdf"));
        assert_eq!(file_type(b"\x89PNG\r\n\x1a\n...."), Some("image/png"));
        assert_eq!(file_type(&[0xFF, 0xD8, 0xFF, 0xE0]), Some("image/jpeg"));
        assert_eq!(file_type(b"MZ\x90\x00 an executable"), None);
        assert_eq!(file_type(b""), None);
        assert_eq!(file_name("C:\\Users\\reception\\Downloads\\Bella bloods.pdf").unwrap(), "Bella bloods.pdf");
        assert_eq!(file_name("/home/vet/lab:1?.pdf").unwrap(), "lab_1_.pdf");
        assert!(file_name("/tmp/").is_err());
        assert!(file_name("..").is_err(), "no name but dots");
        assert_eq!(file_name("report\u{202E}fdp.exe").unwrap(), "report_fdp.exe", "no text-direction tricks");
        let long = format!("{}.pdf", "a".repeat(200));
        assert_eq!(file_name(&long).unwrap(), format!("{}.pdf", "a".repeat(116)), "shortened, keeping its extension");
        assert_eq!(saved_name("x\\..\\..\\Startup\\evil.exe", "application/pdf"), "evil.exe.pdf");
        assert_eq!(saved_name("scan.JPEG", "image/jpeg"), "scan.JPEG");
        let mut late = vec![b' '; 600];
        late.extend_from_slice(b"%PDF-1.7");
        assert_eq!(file_type(&late), Some("application/pdf"), "a PDF's header may come after other bytes");
    }
}
