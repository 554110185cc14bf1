//! Appointments: booking, moving and the status flow. Times come in as London wall-clock times and
//! are stored in UTC (see `time.rs`). On one database a clinician never has two active appointments
//! that overlap; the refusal names the clash. Overlaps that arrive by sync are the sync engine's
//! business.

use chrono::{DateTime, Datelike, Duration, NaiveDateTime, Utc};
use rusqlite::{params, Connection, OptionalExtension, Row};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::error::{Error, Result};
use crate::permission::{Action, Role};
use crate::reception::client::short_name;
use crate::reception::hours::{self, hhmm};
use crate::reception::origin::{self, Imported, Origin};
use crate::reception::patient::Species;
use crate::session::Session;
use crate::store::database::Store;
use crate::store::row;
use crate::store::write::{ChangeKind, Entity, Fields, Write};
use crate::time;
use crate::validate;

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

const VIEW: &str = "SELECT a.id, a.clinician_id, s.display_name, a.room, a.starts_at, a.ends_at, a.kind, a.reason, a.status,
        a.patient_id, p.name, p.species, p.alerts, a.client_id, c.title, c.first_name, c.last_name,
        CASE WHEN c.phone <> '' THEN c.phone ELSE c.phone_alt END, a.notes
    FROM appointment a JOIN staff s ON s.id = a.clinician_id
    JOIN patient p INDEXED BY patient_card ON p.id = a.patient_id JOIN client c INDEXED BY client_card ON c.id = a.client_id";

fn from_row(r: &Row<'_>) -> rusqlite::Result<Appointment> {
    let starts_at = row::time(r, 4)?;
    let ends_at = row::time(r, 5)?;
    Ok(Appointment {
        id: row::uuid(r, 0)?,
        clinician_id: row::uuid(r, 1)?,
        clinician_name: r.get(2)?,
        room: r.get(3)?,
        starts_at,
        ends_at,
        start_local: time::to_local(starts_at),
        end_local: time::to_local(ends_at),
        kind: row::word(r, 6, AppointmentKind::parse)?,
        reason: r.get(7)?,
        status: row::word(r, 8, AppointmentStatus::parse)?,
        patient_id: row::uuid(r, 9)?,
        patient_name: r.get(10)?,
        species: row::word(r, 11, Species::parse)?,
        alerts: row::json(r, 12)?,
        client_id: row::uuid(r, 13)?,
        client_name: short_name(row::text(r, 14)?, row::text(r, 15)?, row::text(r, 16)?),
        client_phone: r.get(17)?,
        notes: r.get(18)?,
    })
}

pub(crate) fn query(conn: &Connection, sql: &str, params: impl rusqlite::Params) -> Result<Vec<Appointment>> {
    let mut stmt = conn.prepare_cached(sql)?;
    let rows = stmt.query_map(params, from_row)?;
    Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
}

pub(crate) fn get(conn: &Connection, id: Uuid) -> Result<Appointment> {
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

/// What a slot is checked for, beyond being a real one of an active vet or nurse.
#[derive(Clone, Copy)]
struct Checks {
    /// Refuse an overlap with another active appointment of the clinician.
    refuse_overlap: bool,
    /// Ask before a time outside the clinician's working hours.
    ask_outside_hours: bool,
}

fn check_slot(
    conn: &Connection,
    clinician_id: Uuid,
    room: &str,
    start: NaiveDateTime,
    minutes: u32,
    moving: Option<Uuid>,
    checks: Checks,
) -> Result<Slot> {
    let Checks { refuse_overlap, ask_outside_hours } = checks;
    if !(5..=MAX_MINUTES).contains(&minutes) || !minutes.is_multiple_of(5) {
        return Err(Error::invalid("minutes", "must be a whole number of 5-minute slots, from 5 minutes to 10 hours"));
    }
    let room = validate::optional("room", room, 40)?;
    let clinician: Option<(String, String, bool)> = conn
        .prepare_cached("SELECT display_name, role, active FROM staff WHERE id = ?1")?
        .query_row([clinician_id.to_string()], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
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
    // Ending at midnight is ending on the day it starts.
    let at_midnight =
        end_local.time() == chrono::NaiveTime::MIN && end_local.date() == start.date() + Duration::days(1);
    if end_local.date() != start.date() && !at_midnight {
        return Err(Error::invalid("minutes", "the appointment must end on the day it starts"));
    }

    // No two active appointments of one clinician overlap (a copy of the PMS's book may: those are
    // raised as double bookings for a person instead).
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
    .pop()
    .filter(|_| refuse_overlap);
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

    if ask_outside_hours {
        let hours = hours::working_hours(conn, clinician_id)?;
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
pub(crate) const MAX_MINUTES: u32 = 600;

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

/// The appointment's animal exists, is owned by its client, and (for an appointment still to come
/// or under way) is alive on its day: the history of an animal that has since died stays, but nobody
/// books, checks in or sees it again.
fn check_patient(conn: &Connection, new: &NewAppointment, status: AppointmentStatus) -> Result<()> {
    let patient: Option<(String, Option<String>)> = conn
        .prepare_cached("SELECT name, deceased_on FROM patient WHERE id = ?1")?
        .query_row([new.patient_id.to_string()], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()?;
    let Some((patient_name, deceased)) = patient else {
        return Err(Error::invalid("patient_id", "choose a patient"));
    };
    if let Some(died) = deceased {
        let died = time::parse_stored_date(&died)?;
        let to_come =
            matches!(status, AppointmentStatus::Booked | AppointmentStatus::Arrived | AppointmentStatus::InConsult);
        if to_come || new.start.date() > died {
            return Err(Error::invalid("patient_id", format!("{patient_name} is recorded as deceased")));
        }
    }
    let owned: bool = conn
        .prepare_cached("SELECT EXISTS (SELECT 1 FROM ownership WHERE client_id = ?1 AND patient_id = ?2)")?
        .query_row([new.client_id.to_string(), new.patient_id.to_string()], |r| r.get(0))?;
    if !owned {
        return Err(Error::invalid("client_id", format!("this client is not recorded as {patient_name}'s owner")));
    }
    Ok(())
}

/// Inserts a checked booking with `status`, recorded under `action`.
fn insert(
    w: &mut Write<'_>,
    action: Action,
    new: &NewAppointment,
    status: AppointmentStatus,
    pms_id: Option<&str>,
) -> Result<Uuid> {
    let reason = validate::optional("reason", &new.reason, 200)?;
    let notes = validate::optional_multiline("notes", &new.notes, 2000)?;
    check_patient(w.tx(), new, status)?;
    let active = !matches!(status, AppointmentStatus::Cancelled | AppointmentStatus::NoShow);
    let slot = check_slot(
        w.tx(),
        new.clinician_id,
        &new.room,
        new.start,
        new.minutes,
        None,
        Checks {
            refuse_overlap: active && pms_id.is_none(),
            ask_outside_hours: !new.confirm_outside_hours && pms_id.is_none(),
        },
    )?;
    let id = w.new_id();
    let now = time::stored(w.now());
    let origin = if pms_id.is_some() { Origin::Pms } else { Origin::Offline };
    w.tx().prepare_cached(
        "INSERT INTO appointment (id, clinician_id, room, starts_at, ends_at, kind, reason, patient_id, client_id, notes, status, origin, pms_id, created_at, updated_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?13, ?14, ?12, ?12)",
    )?.execute(
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
            now,
            origin.as_str(),
            pms_id
        ],
    )?;
    let mut fields = Fields::new()
        .with("clinician_id", slot.clinician_id)
        .with("room", &slot.room)
        .with("starts_at", time::stored(slot.starts_at))
        .with("ends_at", time::stored(slot.ends_at))
        .with("kind", new.kind)
        .with("reason", &reason)
        .with("patient_id", new.patient_id)
        .with("client_id", new.client_id)
        .with("notes", &notes)
        .with("status", status);
    if let Some(pms_id) = pms_id {
        fields.put("origin", origin.as_str());
        fields.put("pms_id", pms_id);
    }
    w.record(action, Entity::Appointment, id, ChangeKind::Create, fields)?;
    Ok(id)
}

/// Whether the appointment's consultation has been signed: then the appointment is part of a legal
/// record, and its time, clinician and status stay as they were.
fn has_signed_consultation(conn: &Connection, id: Uuid) -> Result<bool> {
    Ok(conn.query_row(
        "SELECT EXISTS (SELECT 1 FROM consultation WHERE appointment_id = ?1 AND signed_at IS NOT NULL)",
        [id.to_string()],
        |r| r.get(0),
    )?)
}

/// Changes an appointment's status inside a write that has authorized `action`.
pub(crate) fn change_status(w: &mut Write<'_>, action: Action, id: Uuid, to: AppointmentStatus) -> Result<Appointment> {
    let current = get(w.tx(), id)?;
    if current.status == to {
        return Ok(current);
    }
    if to != AppointmentStatus::Done && has_signed_consultation(w.tx(), id)? {
        return Err(Error::Conflict(
            "this appointment's consultation has been signed, so the appointment stays as it was".into(),
        ));
    }
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
            Some(id),
            Checks { refuse_overlap: true, ask_outside_hours: false },
        )?;
    }
    w.tx().execute(
        "UPDATE appointment SET status = ?2, updated_at = ?3 WHERE id = ?1",
        params![id.to_string(), to.as_str(), time::stored(w.now())],
    )?;
    w.record(action, Entity::Appointment, id, ChangeKind::Update, Fields::new().with("status", to))?;
    get(w.tx(), id)
}

/// A patient's appointments, newest first.
pub(crate) fn of_patient(conn: &Connection, patient: Uuid) -> Result<Vec<Appointment>> {
    // With those of any animal merged into it.
    query(
        conn,
        &format!("{VIEW} WHERE a.patient_id IN (SELECT id FROM patient WHERE id = ?1 OR merged_into = ?1) ORDER BY a.starts_at DESC LIMIT 500"),
        [patient.to_string()],
    )
}

/// A client's appointments (for all their patients), newest first.
pub(crate) fn of_client(conn: &Connection, client: Uuid) -> Result<Vec<Appointment>> {
    query(
        conn,
        &format!("{VIEW} WHERE a.client_id IN (SELECT id FROM client WHERE id = ?1 OR merged_into = ?1) ORDER BY a.starts_at DESC LIMIT 500"),
        [client.to_string()],
    )
}

/// The day's appointments, cancelled ones included, by start time.
/// `VIEW` without the clinician's name (`of_day` looks the staff's names up once, not once a row):
/// the same columns in the same places, for `from_row`.
const DAY_VIEW: &str = "SELECT a.id, a.clinician_id, '', a.room, a.starts_at, a.ends_at, a.kind, a.reason, a.status,
        a.patient_id, p.name, p.species, p.alerts, a.client_id, c.title, c.first_name, c.last_name,
        CASE WHEN c.phone <> '' THEN c.phone ELSE c.phone_alt END, a.notes
    FROM appointment a
    JOIN patient p INDEXED BY patient_card ON p.id = a.patient_id JOIN client c INDEXED BY client_card ON c.id = a.client_id
    WHERE a.starts_at >= ?1 AND a.starts_at < ?2 ORDER BY a.starts_at";

pub(crate) fn of_day(conn: &Connection, start: DateTime<Utc>, end: DateTime<Utc>) -> Result<Vec<Appointment>> {
    // In the time index's order; the clinician's name breaks ties here rather than in a sort of
    // whole rows by SQLite.
    let mut day = query(conn, DAY_VIEW, [time::stored(start), time::stored(end)])?;
    let names: std::collections::HashMap<Uuid, String> = conn
        .prepare_cached("SELECT id, display_name FROM staff")?
        .query_map([], |r| Ok((row::uuid(r, 0)?, r.get(1)?)))?
        .collect::<rusqlite::Result<_>>()?;
    for a in &mut day {
        // (A booking's clinician is a staff member: the table's reference says so.)
        a.clinician_name = names.get(&a.clinician_id).cloned().unwrap_or_default();
    }
    day.sort_by(|a, b| a.starts_at.cmp(&b.starts_at).then_with(|| a.clinician_name.cmp(&b.clinician_name)));
    Ok(day)
}

impl Write<'_> {
    pub fn book_appointment(&mut self, new: &NewAppointment) -> Result<Appointment> {
        self.authorize(Action::BookAppointment)?;
        let id = insert(self, Action::BookAppointment, new, AppointmentStatus::Booked, None)?;
        get(self.tx(), id)
    }

    /// Records an appointment that already has a status: history from a PMS snapshot or a generated
    /// demo practice. The journal entry carries that status, so every node sees the same record.
    pub fn record_past_appointment(&mut self, new: &NewAppointment, status: AppointmentStatus) -> Result<Appointment> {
        self.authorize(Action::ImportRecords)?;
        let id = insert(self, Action::ImportRecords, new, status, None)?;
        get(self.tx(), id)
    }

    /// Reads in an appointment as the PMS's book holds it, under PMS number `pms_id`: added if no
    /// record has that number (an overlap with another booking of the clinician is kept, and raised as
    /// a double booking for a person to settle; working hours are not asked about), brought up to date
    /// if one has and was not changed in Lifeboat since.
    pub fn import_appointment(
        &mut self,
        pms_id: &str,
        new: &NewAppointment,
        status: AppointmentStatus,
    ) -> Result<Imported> {
        self.authorize(Action::ImportRecords)?;
        let pms_id = validate::required("pms_id", pms_id, 40)?;
        if time::is_ambiguous(new.start) {
            return Err(Error::invalid(
                "start",
                format!(
                    "{} happens twice in the UK (the clocks go back then): say which in the PMS and export again",
                    new.start.format("%d/%m/%Y %H:%M")
                ),
            ));
        }
        let existing: Option<Uuid> = self
            .tx()
            .prepare_cached("SELECT id FROM appointment WHERE pms_id = ?1 ORDER BY created_at, id LIMIT 1")?
            .query_row([&pms_id], |r| row::uuid(r, 0))
            .optional()?;
        let Some(id) = existing else {
            return Ok(Imported::Added(insert(self, Action::ImportRecords, new, status, Some(&pms_id))?));
        };
        let current = get(self.tx(), id)?;
        let reason = validate::optional("reason", &new.reason, 200)?;
        let notes = validate::optional_multiline("notes", &new.notes, 2000)?;
        // The same checks as a new row: an active vet or nurse, a real slot, a valid room.
        let slot = check_slot(
            self.tx(),
            new.clinician_id,
            &new.room,
            new.start,
            new.minutes,
            Some(id),
            Checks { refuse_overlap: false, ask_outside_hours: false },
        )?;
        check_patient(self.tx(), new, status)?;
        let mut fields = Fields::new();
        if current.clinician_id != slot.clinician_id {
            fields.put("clinician_id", slot.clinician_id);
        }
        if current.starts_at != slot.starts_at || current.ends_at != slot.ends_at {
            fields.put("starts_at", time::stored(slot.starts_at));
            fields.put("ends_at", time::stored(slot.ends_at));
        }
        if current.patient_id != new.patient_id {
            fields.put("patient_id", new.patient_id);
        }
        if current.client_id != new.client_id {
            fields.put("client_id", new.client_id);
        }
        for (name, old, value) in [
            ("room", &current.room, &slot.room),
            ("reason", &current.reason, &reason),
            ("notes", &current.notes, &notes),
        ] {
            if old != value {
                fields.put(name, value);
            }
        }
        if current.kind != new.kind {
            fields.put("kind", new.kind);
        }
        if current.status != status {
            fields.put("status", status);
        }
        if fields.is_empty() {
            return Ok(Imported::Unchanged(id));
        }
        if origin::changed_since_made(self.tx(), "appointment", id)? {
            return Ok(Imported::KeptLocal(id));
        }
        let map = fields.clone_map();
        let sets: Vec<String> = map.keys().enumerate().map(|(i, k)| format!("{k} = ?{}", i + 3)).collect();
        let mut values: Vec<rusqlite::types::Value> = vec![id.to_string().into(), time::stored(self.now()).into()];
        values.extend(map.values().map(|v| match v {
            serde_json::Value::String(text) => rusqlite::types::Value::Text(text.clone()),
            other => rusqlite::types::Value::Text(other.to_string()),
        }));
        self.tx().execute(
            &format!("UPDATE appointment SET {}, updated_at = ?2 WHERE id = ?1", sets.join(", ")),
            rusqlite::params_from_iter(values),
        )?;
        self.record(Action::ImportRecords, Entity::Appointment, id, ChangeKind::Update, fields)?;
        Ok(Imported::Updated(id))
    }

    /// Moves a booked or arrived appointment to another time, length, clinician or room.
    pub fn move_appointment(&mut self, id: Uuid, to: &AppointmentMove) -> Result<Appointment> {
        self.authorize(Action::ChangeAppointment)?;
        let current = get(self.tx(), id)?;
        if has_signed_consultation(self.tx(), id)? {
            return Err(Error::Conflict(
                "this appointment's consultation has been signed, so it cannot be moved".into(),
            ));
        }
        if !matches!(current.status, AppointmentStatus::Booked | AppointmentStatus::Arrived) {
            return Err(Error::Conflict(format!(
                "a {} appointment cannot be moved",
                current.status.label().to_lowercase()
            )));
        }
        let slot = check_slot(
            self.tx(),
            to.clinician_id,
            &to.room,
            to.start,
            to.minutes,
            Some(id),
            Checks { refuse_overlap: true, ask_outside_hours: !to.confirm_outside_hours },
        )?;
        let mut fields = Fields::new();
        if slot.clinician_id != current.clinician_id {
            fields.put("clinician_id", slot.clinician_id);
        }
        if slot.room != current.room {
            fields.put("room", &slot.room);
        }
        // A new time travels as start and end together, so that two PCs moving one end each while
        // apart never merge into a booking longer than either made (the double-booking check relies
        // on no booking being longer than MAX_MINUTES).
        if slot.starts_at != current.starts_at || slot.ends_at != current.ends_at {
            fields.put("starts_at", time::stored(slot.starts_at));
            fields.put("ends_at", time::stored(slot.ends_at));
        }
        if fields.is_empty() {
            return Err(Error::invalid("start", "the appointment is already there"));
        }
        self.tx().execute(
            "UPDATE appointment SET clinician_id = ?2, room = ?3, starts_at = ?4, ends_at = ?5, updated_at = ?6 WHERE id = ?1",
            params![
                id.to_string(),
                slot.clinician_id.to_string(),
                slot.room,
                time::stored(slot.starts_at),
                time::stored(slot.ends_at),
                time::stored(self.now())
            ],
        )?;
        self.record(Action::ChangeAppointment, Entity::Appointment, id, ChangeKind::Update, fields)?;
        get(self.tx(), id)
    }

    /// Moves an appointment along its status flow (check in, start, finish, no-show, cancel, undo).
    pub fn set_appointment_status(&mut self, id: Uuid, to: AppointmentStatus) -> Result<Appointment> {
        self.authorize(Action::ChangeAppointment)?;
        let current = get(self.tx(), id)?;
        if current.status == to {
            return Err(Error::Conflict(format!("the appointment is already {}", to.label().to_lowercase())));
        }
        change_status(self, Action::ChangeAppointment, id, to)
    }
}

impl Store {
    pub fn book_appointment(&self, session: &Session, new: &NewAppointment) -> Result<Appointment> {
        self.write(session, |w| w.book_appointment(new))
    }

    pub fn move_appointment(&self, session: &Session, id: Uuid, to: &AppointmentMove) -> Result<Appointment> {
        self.write(session, |w| w.move_appointment(id, to))
    }

    pub fn set_appointment_status(&self, session: &Session, id: Uuid, to: AppointmentStatus) -> Result<Appointment> {
        self.write(session, |w| w.set_appointment_status(id, to))
    }

    pub fn appointment(&self, session: &Session, id: Uuid) -> Result<Appointment> {
        self.read_as(session, Action::ViewRecords, |r| get(r, id))
    }

    pub fn appointments_of_patient(&self, session: &Session, patient: Uuid) -> Result<Vec<Appointment>> {
        self.read_as(session, Action::ViewRecords, |r| of_patient(r, patient))
    }

    pub fn appointments_of_client(&self, session: &Session, client: Uuid) -> Result<Vec<Appointment>> {
        self.read_as(session, Action::ViewRecords, |r| of_client(r, client))
    }
}

#[cfg(test)]
mod tests {
    /// The overlap check runs on every booking; on a practice with years of appointments it must
    /// seek a short range of the clinician's index (both bounds on starts_at), not walk every
    /// appointment the clinician ever had. This checks the query the booking path really runs.
    #[test]
    fn the_overlap_check_uses_a_short_range_of_the_clinician_index() {
        let mut conn = rusqlite::Connection::open_in_memory().unwrap();
        crate::store::migrations::migrate_to(&mut conn, crate::store::migrations::SCHEMA_VERSION).unwrap();
        let mut stmt = conn.prepare(&format!("EXPLAIN QUERY PLAN {}", super::overlap_sql())).unwrap();
        let plan: Vec<String> =
            stmt.query_map(["c", "s", "e", "i", "f"], |r| r.get(3)).unwrap().map(Result::unwrap).collect();
        let wanted = "appointment_clinician_time (clinician_id=? AND starts_at>? AND starts_at<?)";
        assert!(plan.iter().any(|p| p.contains(wanted)), "{plan:#?}");
    }
}
