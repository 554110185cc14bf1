//! Appointments: booking, moving, the status flow, clinicians' working hours, and the day book.
//!
//! Times come in as London wall-clock times and are stored in UTC (see `time.rs`). On one database a
//! clinician never has two active appointments that overlap; the refusal names the clash. Overlaps
//! that arrive by sync are the sync engine's business.

use chrono::{DateTime, Datelike, Duration, NaiveDate, NaiveDateTime, Utc};
use rusqlite::{params, Connection, OptionalExtension, Row};
use serde::{Deserialize, Serialize};
use serde_json::Map;
use uuid::Uuid;

use crate::client::short_name;
use crate::error::{Error, Result};
use crate::patient::Species;
use crate::permission::{Action, Role};
use crate::practice::parse_id;
use crate::session::Session;
use crate::store::Store;
use crate::time;
use crate::validate;
use crate::write::{field, ChangeKind, Entity, Mutation, Write};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum AppointmentKind {
    Consultation,
    Vaccination,
    Recheck,
    NurseClinic,
    Operation,
    Dental,
    Euthanasia,
    Other,
}

impl AppointmentKind {
    pub const ALL: [AppointmentKind; 8] = [
        AppointmentKind::Consultation,
        AppointmentKind::Vaccination,
        AppointmentKind::Recheck,
        AppointmentKind::NurseClinic,
        AppointmentKind::Operation,
        AppointmentKind::Dental,
        AppointmentKind::Euthanasia,
        AppointmentKind::Other,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            AppointmentKind::Consultation => "consultation",
            AppointmentKind::Vaccination => "vaccination",
            AppointmentKind::Recheck => "recheck",
            AppointmentKind::NurseClinic => "nurse_clinic",
            AppointmentKind::Operation => "operation",
            AppointmentKind::Dental => "dental",
            AppointmentKind::Euthanasia => "euthanasia",
            AppointmentKind::Other => "other",
        }
    }

    pub fn parse(text: &str) -> Option<AppointmentKind> {
        AppointmentKind::ALL.into_iter().find(|k| k.as_str() == text)
    }

    pub fn label(self) -> &'static str {
        match self {
            AppointmentKind::Consultation => "Consultation",
            AppointmentKind::Vaccination => "Vaccination",
            AppointmentKind::Recheck => "Re-check",
            AppointmentKind::NurseClinic => "Nurse clinic",
            AppointmentKind::Operation => "Operation",
            AppointmentKind::Dental => "Dental",
            AppointmentKind::Euthanasia => "Euthanasia",
            AppointmentKind::Other => "Other",
        }
    }

    /// The usual length, in minutes, offered when booking.
    pub fn default_minutes(self) -> u32 {
        match self {
            AppointmentKind::Consultation | AppointmentKind::Vaccination | AppointmentKind::Other => 15,
            AppointmentKind::Recheck => 10,
            AppointmentKind::NurseClinic => 20,
            AppointmentKind::Euthanasia => 30,
            AppointmentKind::Dental => 45,
            AppointmentKind::Operation => 60,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum AppointmentStatus {
    Booked,
    Arrived,
    InConsult,
    Done,
    NoShow,
    Cancelled,
}

impl AppointmentStatus {
    pub const ALL: [AppointmentStatus; 6] = [
        AppointmentStatus::Booked,
        AppointmentStatus::Arrived,
        AppointmentStatus::InConsult,
        AppointmentStatus::Done,
        AppointmentStatus::NoShow,
        AppointmentStatus::Cancelled,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            AppointmentStatus::Booked => "booked",
            AppointmentStatus::Arrived => "arrived",
            AppointmentStatus::InConsult => "in_consult",
            AppointmentStatus::Done => "done",
            AppointmentStatus::NoShow => "no_show",
            AppointmentStatus::Cancelled => "cancelled",
        }
    }

    pub fn parse(text: &str) -> Option<AppointmentStatus> {
        AppointmentStatus::ALL.into_iter().find(|s| s.as_str() == text)
    }

    pub fn label(self) -> &'static str {
        match self {
            AppointmentStatus::Booked => "Booked",
            AppointmentStatus::Arrived => "Arrived",
            AppointmentStatus::InConsult => "In consult",
            AppointmentStatus::Done => "Done",
            AppointmentStatus::NoShow => "No-show",
            AppointmentStatus::Cancelled => "Cancelled",
        }
    }

    /// Cancelled and no-show appointments no longer hold their time.
    pub fn is_active(self) -> bool {
        !matches!(self, AppointmentStatus::Cancelled | AppointmentStatus::NoShow)
    }

    /// The status flow, with one step back from each state for mistakes.
    pub fn can_become(self, to: AppointmentStatus) -> bool {
        use AppointmentStatus::*;
        matches!(
            (self, to),
            (Booked, Arrived | NoShow | Cancelled)
                | (Arrived, InConsult | Booked | Cancelled)
                | (InConsult, Done | Arrived)
                | (Done, InConsult)
                | (NoShow, Booked)
        )
    }
}

/// An appointment as reception sees it, with the names it needs beside the ids.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Appointment {
    pub id: Uuid,
    pub clinician_id: Uuid,
    pub clinician_name: String,
    pub room: String,
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
    /// London wall-clock start, "YYYY-MM-DDTHH:MM:SS".
    pub start_local: NaiveDateTime,
    pub end_local: NaiveDateTime,
    pub kind: AppointmentKind,
    pub reason: String,
    pub status: AppointmentStatus,
    pub patient_id: Uuid,
    pub patient_name: String,
    pub species: Species,
    pub alerts: Vec<String>,
    pub client_id: Uuid,
    pub client_name: String,
    pub client_phone: String,
    pub notes: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct NewAppointment {
    pub clinician_id: Uuid,
    pub room: String,
    /// London wall-clock time.
    pub start: NaiveDateTime,
    pub minutes: u32,
    pub kind: AppointmentKind,
    pub reason: String,
    pub patient_id: Uuid,
    pub client_id: Uuid,
    pub notes: String,
    /// The person has seen that the time is outside the clinician's hours and wants it anyway.
    pub confirm_outside_hours: bool,
}

/// Where and when an appointment moves to.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct AppointmentMove {
    pub clinician_id: Uuid,
    pub room: String,
    pub start: NaiveDateTime,
    pub minutes: u32,
    pub confirm_outside_hours: bool,
}

/// One weekday of a clinician's working hours, in minutes after local midnight.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct WorkingDay {
    /// 1 = Monday .. 7 = Sunday.
    pub weekday: u32,
    pub start_minute: u32,
    pub end_minute: u32,
}

const DAY_NAMES: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];

impl WorkingDay {
    /// Reads a week written as people write it: `mon-fri 08:30-18:00, sat 09:00-12:30`. Days are
    /// three-letter names or ranges of them; `none` (or nothing) means no set hours.
    pub fn parse_week(text: &str) -> Result<Vec<WorkingDay>> {
        let wrong = |why: String| {
            Error::invalid("week", format!("{why}; write it like \"mon-fri 08:30-18:00, sat 09:00-12:30\""))
        };
        let text = text.trim().to_lowercase();
        if text.is_empty() || text == "none" {
            return Ok(Vec::new());
        }
        let day = |name: &str| {
            DAY_NAMES
                .iter()
                .position(|d| name.starts_with(d))
                .map(|i| i as u32 + 1)
                .ok_or_else(|| wrong(format!("{name:?} is not a day")))
        };
        let minute = |t: &str| -> Result<u32> {
            let (h, m) = t.split_once(':').ok_or_else(|| wrong(format!("{t:?} is not a time")))?;
            match (h.parse::<u32>(), m.parse::<u32>()) {
                (Ok(h), Ok(m)) if h <= 24 && m < 60 && h * 60 + m <= 1440 => Ok(h * 60 + m),
                _ => Err(wrong(format!("{t:?} is not a time"))),
            }
        };
        let mut week = Vec::new();
        for part in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let (days, times) = part.split_once(' ').ok_or_else(|| wrong(format!("{part:?} needs days and times")))?;
            let (from, to) =
                times.trim().split_once('-').ok_or_else(|| wrong(format!("{times:?} needs a start and an end")))?;
            let (first, last) = match days.split_once('-') {
                Some((a, b)) => (day(a)?, day(b)?),
                None => (day(days)?, day(days)?),
            };
            if last < first {
                return Err(wrong(format!("{days:?} runs backwards")));
            }
            for weekday in first..=last {
                week.push(WorkingDay { weekday, start_minute: minute(from.trim())?, end_minute: minute(to.trim())? });
            }
        }
        Ok(week)
    }

    /// The same week back in that form, days with equal hours grouped.
    pub fn format_week(days: &[WorkingDay]) -> String {
        let mut parts: Vec<String> = Vec::new();
        let mut i = 0;
        while i < days.len() {
            let mut j = i;
            while j + 1 < days.len()
                && days[j + 1].weekday == days[j].weekday + 1
                && (days[j + 1].start_minute, days[j + 1].end_minute) == (days[i].start_minute, days[i].end_minute)
            {
                j += 1;
            }
            let name = |d: &WorkingDay| DAY_NAMES[(d.weekday - 1) as usize];
            let span =
                if i == j { name(&days[i]).to_string() } else { format!("{}-{}", name(&days[i]), name(&days[j])) };
            parts.push(format!("{span} {}-{}", hhmm(days[i].start_minute), hhmm(days[i].end_minute)));
            i = j + 1;
        }
        if parts.is_empty() {
            "none".into()
        } else {
            parts.join(", ")
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct DayClinician {
    pub id: Uuid,
    pub name: String,
    pub role: Role,
    /// Hours on this day; `None` when the clinician has no hours set at all (no restriction) or is off.
    pub hours: Option<WorkingDay>,
    /// Set hours exist but not for this weekday.
    pub day_off: bool,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct DayBook {
    pub date: NaiveDate,
    pub clinicians: Vec<DayClinician>,
    /// Every appointment of the day, cancelled ones included, by start time.
    pub appointments: Vec<Appointment>,
}

const VIEW: &str = "SELECT a.id, a.clinician_id, s.display_name, a.room, a.starts_at, a.ends_at, a.kind, a.reason, a.status,
        a.patient_id, p.name, p.species, p.alerts, a.client_id, c.title, c.first_name, c.last_name,
        CASE WHEN c.phone <> '' THEN c.phone ELSE c.phone_alt END, a.notes
    FROM appointment a JOIN staff s ON s.id = a.clinician_id JOIN patient p ON p.id = a.patient_id JOIN client c ON c.id = a.client_id";

fn from_row(r: &Row<'_>) -> rusqlite::Result<Result<Appointment>> {
    let text = |i: usize| r.get::<_, String>(i);
    let build = || -> Result<Appointment> {
        let starts_at = time::parse_stored(&text(4)?)?;
        let ends_at = time::parse_stored(&text(5)?)?;
        Ok(Appointment {
            id: parse_id(&text(0)?)?,
            clinician_id: parse_id(&text(1)?)?,
            clinician_name: text(2)?,
            room: text(3)?,
            starts_at,
            ends_at,
            start_local: time::to_local(starts_at),
            end_local: time::to_local(ends_at),
            kind: AppointmentKind::parse(&text(6)?).unwrap_or(AppointmentKind::Other),
            reason: text(7)?,
            status: AppointmentStatus::parse(&text(8)?).ok_or_else(|| Error::Internal("unknown status".into()))?,
            patient_id: parse_id(&text(9)?)?,
            patient_name: text(10)?,
            species: Species::parse(&text(11)?).unwrap_or(Species::Other),
            alerts: serde_json::from_str(&text(12)?).unwrap_or_default(),
            client_id: parse_id(&text(13)?)?,
            client_name: short_name(&text(14)?, &text(15)?, &text(16)?),
            client_phone: text(17)?,
            notes: text(18)?,
        })
    };
    Ok(build())
}

fn query(conn: &Connection, sql: &str, params: impl rusqlite::Params) -> Result<Vec<Appointment>> {
    let mut stmt = conn.prepare_cached(sql)?;
    let rows = stmt.query_map(params, from_row)?;
    rows.map(|r| r.map_err(Error::from).and_then(|r| r)).collect()
}

pub fn get(conn: &Connection, id: Uuid) -> Result<Appointment> {
    query(conn, &format!("{VIEW} WHERE a.id = ?1"), [id.to_string()])?
        .pop()
        .ok_or_else(|| Error::NotFound(format!("appointment {id}")))
}

/// Checked times, clinician and patient for a booking or a move.
struct Slot {
    clinician_id: Uuid,
    room: String,
    starts_at: DateTime<Utc>,
    ends_at: DateTime<Utc>,
}

fn check_slot(
    conn: &Connection,
    clinician_id: Uuid,
    room: &str,
    start: NaiveDateTime,
    minutes: u32,
    confirm_outside_hours: bool,
    moving: Option<Uuid>,
) -> Result<Slot> {
    if !(5..=MAX_MINUTES).contains(&minutes) || minutes % 5 != 0 {
        return Err(Error::invalid("minutes", "must be a whole number of 5-minute slots, from 5 minutes to 10 hours"));
    }
    let room = validate::optional("room", room, 40)?;
    let clinician: Option<(String, String, bool)> = conn
        .query_row("SELECT display_name, role, active FROM staff WHERE id = ?1", [clinician_id.to_string()], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?))
        })
        .optional()?;
    let Some((clinician_name, role, active)) = clinician else {
        return Err(Error::invalid("clinician_id", "choose a clinician"));
    };
    if !matches!(Role::parse(&role), Some(Role::Vet | Role::Nurse)) {
        return Err(Error::invalid("clinician_id", format!("{clinician_name} is not a vet or a nurse")));
    }
    if !active {
        return Err(Error::invalid("clinician_id", format!("{clinician_name}'s account is deactivated")));
    }
    let starts_at = time::to_utc("start", start)?;
    let ends_at = starts_at + Duration::minutes(minutes.into());
    let end_local = time::to_local(ends_at);
    if end_local.date() != start.date() {
        return Err(Error::invalid("minutes", "the appointment must end on the day it starts"));
    }

    // No two active appointments of one clinician overlap.
    let earliest = starts_at - Duration::minutes(MAX_MINUTES.into());
    let clash = query(
        conn,
        &overlap_sql(),
        params![
            clinician_id.to_string(),
            time::stored(starts_at),
            time::stored(ends_at),
            moving.map(|m| m.to_string()).unwrap_or_default(),
            time::stored(earliest)
        ],
    )?
    .pop();
    if let Some(c) = clash {
        return Err(Error::Conflict(format!(
            "{} is already booked from {} to {} with {} ({}, {}) for {}; choose another time or clinician",
            clinician_name,
            c.start_local.format("%H:%M"),
            c.end_local.format("%H:%M"),
            c.patient_name,
            c.species.label().to_lowercase(),
            c.client_name,
            c.kind.label().to_lowercase()
        )));
    }

    if !confirm_outside_hours {
        let hours = working_hours(conn, clinician_id)?;
        if !hours.is_empty() {
            let weekday = start.weekday().number_from_monday();
            let (from, to) = (time::minute_of_day(start), time::minute_of_day(start) + minutes);
            let today = hours.iter().find(|h| h.weekday == weekday);
            let inside = today.is_some_and(|h| from >= h.start_minute && to <= h.end_minute);
            if !inside {
                let when = match today {
                    Some(h) => format!(
                        "{}'s hours on {} are {}–{}",
                        clinician_name,
                        start.format("%A"),
                        hhmm(h.start_minute),
                        hhmm(h.end_minute)
                    ),
                    None => format!("{} does not work on {}s", clinician_name, start.format("%A")),
                };
                return Err(Error::NeedsConfirmation(format!(
                    "{} to {} on {} is outside working hours: {when}. Book it anyway?",
                    start.format("%H:%M"),
                    end_local.format("%H:%M"),
                    start.format("%d/%m/%Y")
                )));
            }
        }
    }
    Ok(Slot { clinician_id, room, starts_at, ends_at })
}

/// The longest appointment: ten hours.
const MAX_MINUTES: u32 = 600;

/// The first active appointment of clinician ?1 that overlaps ?2..?3, other than ?4. No appointment
/// is longer than MAX_MINUTES, so only those starting after ?5 (= ?2 - MAX_MINUTES) can overlap: the
/// lower bound keeps this a short range of the `(clinician_id, starts_at, ends_at, status)` index
/// instead of a walk through the clinician's whole history.
fn overlap_sql() -> String {
    format!(
        "{VIEW} WHERE a.clinician_id = ?1 AND a.starts_at > ?5 AND a.starts_at < ?3 AND a.ends_at > ?2
         AND a.status NOT IN ('cancelled', 'no_show') AND a.id <> ?4 ORDER BY a.starts_at LIMIT 1"
    )
}

fn hhmm(minute: u32) -> String {
    format!("{:02}:{:02}", minute / 60, minute % 60)
}

/// Books an appointment inside a write. `Store::book_appointment` is the usual way in; the
/// generator calls this to book many in one transaction.
pub fn insert(w: &mut Write<'_>, new: &NewAppointment) -> Result<Uuid> {
    insert_with_status(w, new, AppointmentStatus::Booked)
}

/// Records an appointment that already has a status (history from a snapshot or the generator).
/// The journal entry carries that status, so every node sees the same record.
pub fn insert_with_status(w: &mut Write<'_>, new: &NewAppointment, status: AppointmentStatus) -> Result<Uuid> {
    let reason = validate::optional("reason", &new.reason, 200)?;
    let notes = validate::optional_multiline("notes", &new.notes, 2000)?;
    let patient: Option<(String, Option<String>)> = w
        .tx()
        .query_row("SELECT name, deceased_on FROM patient WHERE id = ?1", [new.patient_id.to_string()], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })
        .optional()?;
    let Some((patient_name, deceased)) = patient else {
        return Err(Error::invalid("patient_id", "choose a patient"));
    };
    if deceased.is_some() {
        return Err(Error::invalid("patient_id", format!("{patient_name} is recorded as deceased")));
    }
    let owned: bool = w.tx().query_row(
        "SELECT EXISTS (SELECT 1 FROM ownership WHERE client_id = ?1 AND patient_id = ?2)",
        [new.client_id.to_string(), new.patient_id.to_string()],
        |r| r.get(0),
    )?;
    if !owned {
        return Err(Error::invalid("client_id", format!("this client is not recorded as {patient_name}'s owner")));
    }
    let slot =
        check_slot(w.tx(), new.clinician_id, &new.room, new.start, new.minutes, new.confirm_outside_hours, None)?;
    let id = w.new_id();
    let now = time::stored(w.now());
    w.tx().execute(
        "INSERT INTO appointment (id, clinician_id, room, starts_at, ends_at, kind, reason, patient_id, client_id, notes, status, created_at, updated_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?12)",
        params![
            id.to_string(),
            slot.clinician_id.to_string(),
            slot.room,
            time::stored(slot.starts_at),
            time::stored(slot.ends_at),
            new.kind.as_str(),
            reason,
            new.patient_id.to_string(),
            new.client_id.to_string(),
            notes,
            status.as_str(),
            now
        ],
    )?;
    let mut fields = Map::new();
    field(&mut fields, "clinician_id", slot.clinician_id);
    field(&mut fields, "room", &slot.room);
    field(&mut fields, "starts_at", time::stored(slot.starts_at));
    field(&mut fields, "ends_at", time::stored(slot.ends_at));
    field(&mut fields, "kind", new.kind);
    field(&mut fields, "reason", &reason);
    field(&mut fields, "patient_id", new.patient_id);
    field(&mut fields, "client_id", new.client_id);
    field(&mut fields, "notes", &notes);
    field(&mut fields, "status", status);
    w.record(Mutation { entity: Entity::Appointment, entity_id: id, kind: ChangeKind::Create, fields });
    Ok(id)
}

pub fn working_hours(conn: &Connection, clinician_id: Uuid) -> Result<Vec<WorkingDay>> {
    let mut stmt = conn.prepare_cached(
        "SELECT weekday, start_minute, end_minute FROM working_hours WHERE clinician_id = ?1 ORDER BY weekday",
    )?;
    let rows = stmt
        .query_map([clinician_id.to_string()], |r| {
            Ok(WorkingDay { weekday: r.get(0)?, start_minute: r.get(1)?, end_minute: r.get(2)? })
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(rows)
}

/// Replaces a clinician's weekly hours inside a write.
pub fn replace_working_hours(w: &mut Write<'_>, clinician_id: Uuid, days: &[WorkingDay]) -> Result<()> {
    let mut seen = [false; 8];
    for d in days {
        if !(1..=7).contains(&d.weekday) {
            return Err(Error::invalid("weekday", "must be 1 (Monday) to 7 (Sunday)"));
        }
        if seen[d.weekday as usize] {
            return Err(Error::invalid("weekday", "each day at most once"));
        }
        seen[d.weekday as usize] = true;
        if d.end_minute <= d.start_minute || d.end_minute > 1440 {
            return Err(Error::invalid("end_minute", "must be after the start and no later than midnight"));
        }
    }
    let role: Option<String> = w
        .tx()
        .query_row("SELECT role FROM staff WHERE id = ?1", [clinician_id.to_string()], |r| r.get(0))
        .optional()?;
    if !matches!(role.as_deref().and_then(Role::parse), Some(Role::Vet | Role::Nurse)) {
        return Err(Error::invalid("clinician_id", "working hours are for vets and nurses"));
    }
    w.tx().execute("DELETE FROM working_hours WHERE clinician_id = ?1", [clinician_id.to_string()])?;
    for d in days {
        w.tx().execute(
            "INSERT INTO working_hours (clinician_id, weekday, start_minute, end_minute) VALUES (?1, ?2, ?3, ?4)",
            params![clinician_id.to_string(), d.weekday, d.start_minute, d.end_minute],
        )?;
    }
    let mut fields = Map::new();
    field(&mut fields, "days", days);
    w.record(Mutation { entity: Entity::WorkingHours, entity_id: clinician_id, kind: ChangeKind::Update, fields });
    Ok(())
}

fn day_book(conn: &Connection, date: NaiveDate) -> Result<DayBook> {
    let (start, end) = time::day_bounds(date);
    let appointments = query(
        conn,
        &format!("{VIEW} WHERE a.starts_at >= ?1 AND a.starts_at < ?2 ORDER BY a.starts_at, s.display_name"),
        [time::stored(start), time::stored(end)],
    )?;
    // Active clinicians, and anyone else who has an appointment that day; vets first.
    let mut stmt = conn.prepare_cached(
        "SELECT id, display_name, role FROM staff
         WHERE role IN ('vet', 'nurse') AND (active = 1 OR id IN (SELECT clinician_id FROM appointment WHERE starts_at >= ?1 AND starts_at < ?2))
         ORDER BY CASE role WHEN 'vet' THEN 0 ELSE 1 END, display_name COLLATE NOCASE",
    )?;
    let people = stmt
        .query_map([time::stored(start), time::stored(end)], |r| {
            Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?, r.get::<_, String>(2)?))
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    let weekday = date.weekday().number_from_monday();
    let mut clinicians = Vec::new();
    for (id, name, role) in people {
        let id = parse_id(&id)?;
        let hours = working_hours(conn, id)?;
        let today = hours.iter().copied().find(|h| h.weekday == weekday);
        clinicians.push(DayClinician {
            id,
            name,
            role: Role::parse(&role).unwrap_or(Role::Vet),
            hours: today,
            day_off: !hours.is_empty() && today.is_none(),
        });
    }
    Ok(DayBook { date, clinicians, appointments })
}

impl Store {
    pub fn book_appointment(&self, session: &Session, new: &NewAppointment) -> Result<Appointment> {
        self.write(session, Action::BookAppointment, |w| {
            let id = insert(w, new)?;
            get(w.tx(), id)
        })
    }

    /// Moves a booked or arrived appointment to another time, length, clinician or room.
    pub fn move_appointment(&self, session: &Session, id: Uuid, to: &AppointmentMove) -> Result<Appointment> {
        self.write(session, Action::ChangeAppointment, |w| {
            let current = get(w.tx(), id)?;
            if !matches!(current.status, AppointmentStatus::Booked | AppointmentStatus::Arrived) {
                return Err(Error::Conflict(format!("a {} appointment cannot be moved", current.status.label().to_lowercase())));
            }
            let slot = check_slot(w.tx(), to.clinician_id, &to.room, to.start, to.minutes, to.confirm_outside_hours, Some(id))?;
            let mut fields = Map::new();
            if slot.clinician_id != current.clinician_id {
                field(&mut fields, "clinician_id", slot.clinician_id);
            }
            if slot.room != current.room {
                field(&mut fields, "room", &slot.room);
            }
            if slot.starts_at != current.starts_at {
                field(&mut fields, "starts_at", time::stored(slot.starts_at));
            }
            if slot.ends_at != current.ends_at {
                field(&mut fields, "ends_at", time::stored(slot.ends_at));
            }
            if fields.is_empty() {
                return Err(Error::invalid("start", "the appointment is already there"));
            }
            w.tx().execute(
                "UPDATE appointment SET clinician_id = ?2, room = ?3, starts_at = ?4, ends_at = ?5, updated_at = ?6 WHERE id = ?1",
                params![id.to_string(), slot.clinician_id.to_string(), slot.room, time::stored(slot.starts_at), time::stored(slot.ends_at), time::stored(w.now())],
            )?;
            w.record(Mutation { entity: Entity::Appointment, entity_id: id, kind: ChangeKind::Update, fields });
            get(w.tx(), id)
        })
    }

    /// Moves an appointment along its status flow (check in, start, finish, no-show, cancel, undo).
    pub fn set_appointment_status(&self, session: &Session, id: Uuid, to: AppointmentStatus) -> Result<Appointment> {
        self.write(session, Action::ChangeAppointment, |w| {
            let current = get(w.tx(), id)?;
            if !current.status.can_become(to) {
                return Err(Error::Conflict(format!(
                    "a {} appointment cannot become {}",
                    current.status.label().to_lowercase(),
                    to.label().to_lowercase()
                )));
            }
            if to.is_active() && !current.status.is_active() {
                // Undoing a no-show puts the appointment back in the diary: its time must still be free.
                check_slot(
                    w.tx(),
                    current.clinician_id,
                    &current.room,
                    current.start_local,
                    ((current.ends_at - current.starts_at).num_minutes()) as u32,
                    true,
                    Some(id),
                )?;
            }
            w.tx().execute(
                "UPDATE appointment SET status = ?2, updated_at = ?3 WHERE id = ?1",
                params![id.to_string(), to.as_str(), time::stored(w.now())],
            )?;
            let mut fields = Map::new();
            field(&mut fields, "status", to);
            w.record(Mutation { entity: Entity::Appointment, entity_id: id, kind: ChangeKind::Update, fields });
            get(w.tx(), id)
        })
    }

    pub fn set_working_hours(&self, session: &Session, clinician_id: Uuid, days: &[WorkingDay]) -> Result<()> {
        self.write(session, Action::SetWorkingHours, |w| replace_working_hours(w, clinician_id, days))
    }

    pub fn working_hours(&self, session: &Session, clinician_id: Uuid) -> Result<Vec<WorkingDay>> {
        self.authorize_read(session, Action::ViewRecords)?;
        self.read(|c| working_hours(c, clinician_id))
    }

    pub fn appointment(&self, session: &Session, id: Uuid) -> Result<Appointment> {
        self.authorize_read(session, Action::ViewRecords)?;
        self.read(|c| get(c, id))
    }

    /// The day's appointments and the clinicians to show as columns, for a London date.
    pub fn day_book(&self, session: &Session, date: NaiveDate) -> Result<DayBook> {
        self.authorize_read(session, Action::ViewRecords)?;
        self.read(|c| day_book(c, date))
    }

    /// A patient's appointments, newest first.
    pub fn appointments_of_patient(&self, session: &Session, patient: Uuid) -> Result<Vec<Appointment>> {
        self.authorize_read(session, Action::ViewRecords)?;
        self.read(|c| {
            query(
                c,
                &format!("{VIEW} WHERE a.patient_id = ?1 ORDER BY a.starts_at DESC LIMIT 500"),
                [patient.to_string()],
            )
        })
    }

    /// A client's appointments (for all their patients), newest first.
    pub fn appointments_of_client(&self, session: &Session, client: Uuid) -> Result<Vec<Appointment>> {
        self.authorize_read(session, Action::ViewRecords)?;
        self.read(|c| {
            query(
                c,
                &format!("{VIEW} WHERE a.client_id = ?1 ORDER BY a.starts_at DESC LIMIT 500"),
                [client.to_string()],
            )
        })
    }
}

/// The fixed lists the booking and registration forms offer, with their labels and defaults, so
/// the UI does not keep its own copy.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct ReferenceData {
    pub kinds: Vec<KindInfo>,
    pub statuses: Vec<StatusInfo>,
    pub species: Vec<SpeciesInfo>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct KindInfo {
    pub kind: AppointmentKind,
    pub label: String,
    pub default_minutes: u32,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct StatusInfo {
    pub status: AppointmentStatus,
    pub label: String,
    /// The statuses it can move to next.
    pub next: Vec<AppointmentStatus>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct SpeciesInfo {
    pub species: Species,
    pub label: String,
}

pub fn reference_data() -> ReferenceData {
    ReferenceData {
        kinds: AppointmentKind::ALL
            .into_iter()
            .map(|kind| KindInfo { kind, label: kind.label().into(), default_minutes: kind.default_minutes() })
            .collect(),
        statuses: AppointmentStatus::ALL
            .into_iter()
            .map(|status| StatusInfo {
                status,
                label: status.label().into(),
                next: AppointmentStatus::ALL.into_iter().filter(|to| status.can_become(*to)).collect(),
            })
            .collect(),
        species: Species::ALL
            .into_iter()
            .map(|species| SpeciesInfo { species, label: species.label().into() })
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::WorkingDay;

    #[test]
    fn weeks_read_and_write_as_people_write_them() {
        let cases = [
            ("mon-fri 08:30-18:00, sat 09:00-12:30", Some("mon-fri 08:30-18:00, sat 09:00-12:30")),
            ("Mon 9:00-13:00,Wed 09:00-13:00", Some("mon 09:00-13:00, wed 09:00-13:00")),
            ("none", Some("none")),
            ("", Some("none")),
            ("mon-fri 8:30", None),
            ("fri-mon 08:00-12:00", None),
            ("funday 08:00-12:00", None),
            ("mon 25:00-26:00", None),
        ];
        for (text, want) in cases {
            match (WorkingDay::parse_week(text), want) {
                (Ok(week), Some(want)) => assert_eq!(WorkingDay::format_week(&week), want, "{text}"),
                (Err(e), None) => assert_eq!(e.field(), Some("week"), "{text}"),
                (got, want) => panic!("{text}: {got:?} / {want:?}"),
            }
        }
    }

    /// The overlap check runs on every booking; on a practice with years of appointments it must
    /// seek a short range of the clinician's index (both bounds on starts_at), not walk every
    /// appointment the clinician ever had. This checks the query the booking path really runs.
    #[test]
    fn the_overlap_check_uses_a_short_range_of_the_clinician_index() {
        let mut conn = rusqlite::Connection::open_in_memory().unwrap();
        crate::migrations::migrate_to(&mut conn, crate::migrations::SCHEMA_VERSION).unwrap();
        let mut stmt = conn.prepare(&format!("EXPLAIN QUERY PLAN {}", super::overlap_sql())).unwrap();
        let plan: Vec<String> =
            stmt.query_map(["c", "s", "e", "i", "f"], |r| r.get(3)).unwrap().map(Result::unwrap).collect();
        let wanted = "appointment_clinician_time (clinician_id=? AND starts_at>? AND starts_at<?)";
        assert!(plan.iter().any(|p| p.contains(wanted)), "{plan:#?}");
    }
}
