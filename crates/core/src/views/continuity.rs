//! The continuity pack: paper that still works when the PCs fail too. Made every evening while
//! things are normal (and on demand), for the next working day: the day lists; a safety sheet for
//! each animal booked in the next days (alerts, current medicines, vaccinations, last weight, owners
//! and how to reach them); the prescriptions still active; the controlled drugs balances; how to
//! reach the staff. This module gathers it; `lifeboat-print` lays it out; the PDF is kept in this
//! PC's encrypted database (never synced: each PC keeps its own), the last few of them.

use chrono::{DateTime, Datelike, Duration, NaiveDate, NaiveTime, Utc};
use rusqlite::{params, Connection, OptionalExtension};
use serde::{Deserialize, Serialize};
use sha2::Digest;
use uuid::Uuid;

use crate::clinical::cd_register::{self, CdRegister};
use crate::clinical::consultation;
use crate::clinical::prescription::{self, Prescription};
use crate::error::{Error, Result};
use crate::organisation::practice::{self, Practice};
use crate::permission::Action;
use crate::reception::appointment::{self, Appointment};
use crate::reception::client::Client;
use crate::reception::patient::{self, Patient};
use crate::session::Session;
use crate::store::database::Store;
use crate::time;
use crate::views::day_book::{self, DayBook};
use crate::views::history::WeightPoint;

/// How many days from the pack's day the safety sheets cover (that day and the next two).
pub const SHEET_DAYS: i64 = 3;
/// How many packs this PC keeps.
const KEPT_PACKS: i64 = 5;
/// When the evening pack is made unless the practice says otherwise (London time).
pub const DEFAULT_PACK_TIME: &str = "18:00";

/// A vaccine given (a prescription of a vaccine in the formulary).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Vaccination {
    pub on: NaiveDate,
    pub product: String,
}

/// What a person at the desk or in the consulting room needs about an animal when the PCs are down.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct SafetySheet {
    pub patient: Patient,
    pub owners: Vec<Client>,
    /// Its bookings in the days the sheets cover.
    pub bookings: Vec<Appointment>,
    /// Prescriptions not void and still valid on the pack's day, newest first.
    pub medicines: Vec<Prescription>,
    /// Newest first.
    pub vaccinations: Vec<Vaccination>,
    pub last_weight: Option<WeightPoint>,
}

/// A prescription still active, with whom it is for.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct ActivePrescription {
    pub prescription: Prescription,
    pub patient_name: String,
    pub client_name: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct StaffContact {
    pub name: String,
    pub role: String,
    pub qualifications: String,
    pub phone: String,
}

/// Everything the pack prints.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ContinuityPack {
    pub practice: Practice,
    /// The working day it is for.
    pub date: NaiveDate,
    pub made_at: DateTime<Utc>,
    pub day: DayBook,
    pub sheets: Vec<SafetySheet>,
    pub prescriptions: Vec<ActivePrescription>,
    /// Per premises.
    pub registers: Vec<CdRegister>,
    pub staff: Vec<StaffContact>,
}

/// The pack kept on this PC, without its PDF.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct PackInfo {
    pub id: Uuid,
    pub for_date: NaiveDate,
    pub made_at: DateTime<Utc>,
    /// Who asked for it, or "the evening schedule".
    pub made_by: String,
    pub bytes: u32,
    pub sha256: String,
}

/// Where the packs stand on this PC: the last one, and when the next is due.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct PackStatus {
    pub last: Option<PackInfo>,
    /// "HH:MM" London time the evening pack is made, or `None` when the schedule is off.
    pub schedule: Option<String>,
}

/// The first day after `today` on which anyone works or anything is booked (within a fortnight);
/// else tomorrow.
pub(crate) fn next_working_day(conn: &Connection, today: NaiveDate) -> Result<NaiveDate> {
    let weekdays: Vec<u32> = conn
        .prepare_cached("SELECT DISTINCT weekday FROM working_hours")?
        .query_map([], |r| r.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    for ahead in 1..=14 {
        let day = today + Duration::days(ahead);
        if weekdays.contains(&day.weekday().number_from_monday()) {
            return Ok(day);
        }
        let (start, end) = time::day_bounds("date", day)?;
        let booked: bool = conn.query_row(
            "SELECT EXISTS (SELECT 1 FROM appointment WHERE starts_at >= ?1 AND starts_at < ?2 AND status NOT IN ('cancelled', 'no_show'))",
            params![time::stored(start), time::stored(end)],
            |r| r.get(0),
        )?;
        if booked {
            return Ok(day);
        }
    }
    Ok(today + Duration::days(1))
}

fn vaccinations(conn: &Connection, patient: Uuid) -> Result<Vec<Vaccination>> {
    let mut stmt = conn.prepare_cached(
        "SELECT r.issued_on, r.product_name FROM prescription r JOIN product d ON d.id = r.product_id
         WHERE r.patient_id = ?1 AND (d.active_ingredient LIKE '%vaccine%' OR d.name LIKE '%vaccine%')
           AND NOT EXISTS (SELECT 1 FROM clinical_void v WHERE v.entity = 'prescription' AND v.entity_id = r.id)
         ORDER BY r.issued_on DESC LIMIT 20",
    )?;
    let rows = stmt
        .query_map([patient.to_string()], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    rows.into_iter().map(|(on, product)| Ok(Vaccination { on: time::parse_stored_date(&on)?, product })).collect()
}

fn last_weight(conn: &Connection, patient: Uuid) -> Result<Option<WeightPoint>> {
    Ok(consultation::of_patient(conn, patient, 50)?
        .into_iter()
        .filter(|c| c.void_reason.is_none())
        .find_map(|c| c.vitals.weight_kg.map(|kg| WeightPoint { date: time::local_date(c.started_at), kg })))
}

fn is_current(p: &Prescription, on: NaiveDate) -> bool {
    p.void_reason.is_none() && p.valid_until >= on
}

/// Gathers the pack for `date` as the database stands at `now`.
pub(crate) fn gather(conn: &Connection, date: NaiveDate, now: DateTime<Utc>) -> Result<ContinuityPack> {
    let practice = practice::practice(conn)?.ok_or_else(|| Error::NotFound("the practice (set it up first)".into()))?;
    let day = day_book::day_book(conn, date)?;
    // The animals booked from the pack's day for SHEET_DAYS days, in the order they first come in.
    let (start, _) = time::day_bounds("date", date)?;
    let (_, end) = time::day_bounds("date", date + Duration::days(SHEET_DAYS - 1))?;
    let mut sheets: Vec<SafetySheet> = Vec::new();
    for a in appointment::of_day(conn, start, end)? {
        if !a.status.is_active() {
            continue;
        }
        if let Some(sheet) = sheets.iter_mut().find(|s| s.patient.id == a.patient_id) {
            sheet.bookings.push(a);
            continue;
        }
        let patient = patient::get(conn, a.patient_id)?;
        let medicines =
            prescription::of_patient(conn, patient.id, 200)?.into_iter().filter(|p| is_current(p, date)).collect();
        sheets.push(SafetySheet {
            owners: patient::owner_clients(conn, &patient)?,
            vaccinations: vaccinations(conn, patient.id)?,
            last_weight: last_weight(conn, patient.id)?,
            medicines,
            bookings: vec![a],
            patient,
        });
    }
    // Every prescription still valid that day and not void, newest first.
    let ids: Vec<String> = conn
        .prepare_cached(
            "SELECT r.id FROM prescription r WHERE r.valid_until >= ?1
               AND NOT EXISTS (SELECT 1 FROM clinical_void v WHERE v.entity = 'prescription' AND v.entity_id = r.id)
             ORDER BY r.issued_at DESC LIMIT 2000",
        )?
        .query_map([time::stored_date(date)], |r| r.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    let mut prescriptions = Vec::with_capacity(ids.len());
    for id in ids {
        let id = Uuid::parse_str(&id).map_err(|_| Error::DamagedRecord(format!("prescription id {id:?}")))?;
        let prescription = prescription::get(conn, id)?;
        let (patient_name, client_name): (String, String) = conn.query_row(
            "SELECT p.name, trim(replace(c.title || ' ' || c.first_name || ' ' || c.last_name, '  ', ' '))
             FROM patient p, client c WHERE p.id = ?1 AND c.id = ?2",
            params![prescription.patient_id.to_string(), prescription.client_id.to_string()],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )?;
        prescriptions.push(ActivePrescription { prescription, patient_name, client_name });
    }
    let mut registers = Vec::new();
    for premises in &practice.premises {
        registers.push(CdRegister { drugs: cd_register::balances(conn, premises.id)?, premises: premises.clone() });
    }
    let staff = conn
        .prepare_cached(
            "SELECT display_name, role, qualifications, phone FROM staff WHERE active = 1
             ORDER BY CASE role WHEN 'vet' THEN 0 WHEN 'nurse' THEN 1 WHEN 'manager' THEN 2 WHEN 'reception' THEN 3 ELSE 4 END,
                      display_name COLLATE NOCASE",
        )?
        .query_map([], |r| Ok(StaffContact { name: r.get(0)?, role: r.get(1)?, qualifications: r.get(2)?, phone: r.get(3)? }))?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(ContinuityPack { practice, date, made_at: now, day, sheets, prescriptions, registers, staff })
}

const INFO: &str = "id, for_date, made_at, made_by, bytes, sha256";

fn info_from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<PackInfo> {
    Ok(PackInfo {
        id: crate::store::row::uuid(r, 0)?,
        for_date: crate::store::row::date(r, 1)?,
        made_at: crate::store::row::time(r, 2)?,
        made_by: r.get(3)?,
        bytes: r.get(4)?,
        sha256: r.get(5)?,
    })
}

fn last(conn: &Connection) -> Result<Option<PackInfo>> {
    Ok(conn
        .query_row(
            &format!("SELECT {INFO} FROM continuity_pack ORDER BY made_at DESC, id DESC LIMIT 1"),
            [],
            info_from_row,
        )
        .optional()?)
}

fn schedule(conn: &Connection) -> Result<Option<String>> {
    let value: Option<String> = conn
        .query_row("SELECT value FROM local_setting WHERE key = 'continuity_pack_time'", [], |r| r.get(0))
        .optional()?;
    Ok(match value.as_deref() {
        None => Some(DEFAULT_PACK_TIME.to_string()),
        Some("off") => None,
        Some(t) => Some(t.to_string()),
    })
}

/// "HH:MM" (00:00 to 23:59) read as a time of day.
fn pack_time(text: &str) -> Result<NaiveTime> {
    let t = text.trim();
    let shaped = t.len() == 5 && t.as_bytes()[2] == b':';
    shaped.then(|| NaiveTime::parse_from_str(t, "%H:%M").ok()).flatten().ok_or_else(|| {
        Error::invalid("time", format!("{} is not a time of day such as 18:00", crate::validate::shown(t)))
    })
}

/// Whether the evening pack is due at `now`: the schedule is on, and the last pack was made before the
/// latest scheduled time that has passed (today's, or yesterday's before today's comes).
pub(crate) fn due(conn: &Connection, now: DateTime<Utc>) -> Result<bool> {
    let Some(at) = schedule(conn)? else { return Ok(false) };
    let at = pack_time(&at)?;
    let today = time::local_date(now);
    let mut latest = time::to_utc("time", today.and_time(at))?;
    if latest > now {
        latest = time::to_utc("time", (today - Duration::days(1)).and_time(at))?;
    }
    Ok(last(conn)?.is_none_or(|p| p.made_at < latest))
}

impl Store {
    /// The pack's contents for `date` (the next working day when none is given).
    pub fn continuity_pack(&self, session: &Session, date: Option<NaiveDate>) -> Result<ContinuityPack> {
        let now = self.clock.now();
        self.read_as(session, Action::ViewClinical, |r| {
            let date = match date {
                Some(d) => time::sane_date("date", d)?,
                None => next_working_day(r, time::local_date(now))?,
            };
            gather(r, date, now)
        })
    }

    /// The evening pack's contents, for the app's own schedule (no one is signed in to ask for it):
    /// `None` unless it is due.
    pub fn scheduled_continuity_pack(&self) -> Result<Option<ContinuityPack>> {
        let now = self.clock.now();
        self.read(|r| {
            if practice::practice(r)?.is_none() || !due(r, now)? {
                return Ok(None);
            }
            let date = next_working_day(r, time::local_date(now))?;
            Ok(Some(gather(r, date, now)?))
        })
    }

    /// Keeps a pack's PDF in this PC's encrypted database (the last few), and says what was kept.
    pub fn keep_continuity_pack(&self, pack: &ContinuityPack, made_by: &str, pdf: &[u8]) -> Result<PackInfo> {
        let id = self.clock.new_id();
        let sha256 = hex::encode(sha2::Sha256::digest(pdf));
        let mut conn = self.lock_writer();
        let tx = conn.transaction()?;
        tx.execute(
            "INSERT INTO continuity_pack (id, for_date, made_at, made_by, bytes, sha256, pdf) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            params![
                id.to_string(),
                time::stored_date(pack.date),
                time::stored(pack.made_at),
                made_by,
                pdf.len() as i64,
                sha256,
                pdf
            ],
        )?;
        tx.execute(
            "DELETE FROM continuity_pack WHERE id NOT IN (SELECT id FROM continuity_pack ORDER BY made_at DESC, id DESC LIMIT ?1)",
            [KEPT_PACKS],
        )?;
        let info = tx.query_row(
            &format!("SELECT {INFO} FROM continuity_pack WHERE id = ?1"),
            [id.to_string()],
            info_from_row,
        )?;
        tx.commit()?;
        Ok(info)
    }

    /// The last pack kept on this PC and the schedule (anyone signed in: the banner shows its age).
    pub fn continuity_status(&self, session: &Session) -> Result<PackStatus> {
        self.read_as(session, Action::ViewRecords, |r| Ok(PackStatus { last: last(r)?, schedule: schedule(r)? }))
    }

    /// The last pack's PDF, to print.
    pub fn last_continuity_pack(&self, session: &Session) -> Result<(PackInfo, Vec<u8>)> {
        self.read_as(session, Action::ViewClinical, |r| {
            let info =
                last(r)?.ok_or_else(|| Error::NotFound("a continuity pack on this PC (make one first)".into()))?;
            let pdf: Vec<u8> =
                r.query_row("SELECT pdf FROM continuity_pack WHERE id = ?1", [info.id.to_string()], |x| x.get(0))?;
            Ok((info, pdf))
        })
    }

    /// Sets when the evening pack is made on this PC ("HH:MM"), or turns it off (`None`); those who
    /// manage staff.
    pub fn set_continuity_schedule(&self, session: &Session, at: Option<&str>) -> Result<PackStatus> {
        let value = match at {
            Some(t) => pack_time(t)?.format("%H:%M").to_string(),
            None => "off".to_string(),
        };
        self.read_as(session, Action::EditStaff, |_| Ok(()))?;
        self.lock_writer().execute(
            "INSERT INTO local_setting (key, value) VALUES ('continuity_pack_time', ?1)
             ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            [value],
        )?;
        self.continuity_status(session)
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn times_of_day_are_read_strictly() {
        assert_eq!(super::pack_time("18:00").unwrap().to_string(), "18:00:00");
        assert_eq!(super::pack_time(" 07:30 ").unwrap().to_string(), "07:30:00");
        for bad in ["24:00", "6pm", "18.00", "", "18:0", "99:99", "+18:00"] {
            let e = super::pack_time(bad).unwrap_err();
            assert_eq!(e.field(), Some("time"), "{bad:?}: {e}");
        }
    }
}
