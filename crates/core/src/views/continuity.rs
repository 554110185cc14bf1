//! The continuity pack: paper that still works when the PCs fail too. Made every evening while
//! things are normal (and on demand), for the next working day: the day lists; a safety sheet for
//! each animal booked in the next days (alerts, current medicines, vaccinations, last weight, owners
//! and how to reach them); the prescriptions still active; the controlled drugs balances; how to
//! reach the staff. This module gathers it; `lifeboat-print` lays it out; the PDF is kept in this
//! PC's encrypted database (never synced: each PC keeps its own), the last few of them.

use std::collections::HashSet;

use chrono::{DateTime, Datelike, Duration, NaiveDate, NaiveTime, Utc};
use rusqlite::{params, Connection, OptionalExtension};
use serde::{Deserialize, Serialize};
use sha2::Digest;
use uuid::Uuid;

use crate::clinical::cd_register::{self, CdRegister};
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

/// How many working days from the pack's day the safety sheets cover (that day and the next two).
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
    /// Lifeboat's number for the animal ("A-52"), if it has one.
    pub number: Option<String>,
    pub owners: Vec<Client>,
    /// Its bookings in the days the sheets cover.
    pub bookings: Vec<Appointment>,
    /// Prescriptions still to be supplied on the pack's day (not void, valid, supplies left, not a
    /// vaccine), newest first.
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
    /// By client, then animal.
    pub prescriptions: Vec<ActivePrescription>,
    /// More prescriptions are active than the pack lists.
    pub prescriptions_cut: bool,
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
    /// Made for a day someone chose (not the next working day).
    pub chosen: bool,
}

/// Where the packs stand on this PC: the last one, and when the next is due.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct PackStatus {
    pub last: Option<PackInfo>,
    /// "HH:MM" London time the evening pack is made, or `None` when the schedule is off.
    pub schedule: Option<String>,
    /// Why the evening pack could not be made last time (an error code), if it could not.
    pub error: Option<String>,
}

/// Whether anyone works on `day` (an active clinician's hours) or anything is booked that day.
fn is_working_day(conn: &Connection, day: NaiveDate) -> Result<bool> {
    let works: bool = conn.query_row(
        "SELECT EXISTS (SELECT 1 FROM working_hours h JOIN staff s ON s.id = h.clinician_id WHERE s.active = 1 AND h.weekday = ?1)",
        [day.weekday().number_from_monday()],
        |r| r.get(0),
    )?;
    if works {
        return Ok(true);
    }
    let (start, end) = time::day_bounds("date", day)?;
    Ok(conn.query_row(
        "SELECT EXISTS (SELECT 1 FROM appointment WHERE starts_at >= ?1 AND starts_at < ?2 AND status NOT IN ('cancelled', 'no_show'))",
        params![time::stored(start), time::stored(end)],
        |r| r.get(0),
    )?)
}

/// The first day after `day` on which anyone works or anything is booked (within a fortnight); else
/// the day after.
pub(crate) fn next_working_day(conn: &Connection, day: NaiveDate) -> Result<NaiveDate> {
    for ahead in 1..=14 {
        let next = day + Duration::days(ahead);
        if is_working_day(conn, next)? {
            return Ok(next);
        }
    }
    Ok(day + Duration::days(1))
}

/// `date` and the working days after it, `SHEET_DAYS` in all: the days the safety sheets cover.
fn covered_days(conn: &Connection, date: NaiveDate) -> Result<Vec<NaiveDate>> {
    let mut days = vec![date];
    while days.len() < SHEET_DAYS as usize {
        let last = *days.last().unwrap_or(&date);
        days.push(next_working_day(conn, last)?);
    }
    Ok(days)
}

/// The products that are vaccines (by their name or active ingredient).
fn vaccines(conn: &Connection) -> Result<HashSet<Uuid>> {
    let ids: Vec<String> = conn
        .prepare_cached("SELECT id FROM product WHERE active_ingredient LIKE '%vaccin%' OR name LIKE '%vaccin%'")?
        .query_map([], |r| r.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    Ok(ids.iter().filter_map(|id| Uuid::parse_str(id).ok()).collect())
}

fn vaccinations(conn: &Connection, patient: Uuid) -> Result<Vec<Vaccination>> {
    let mut stmt = conn.prepare_cached(
        "SELECT r.issued_on, r.product_name FROM prescription r JOIN product d ON d.id = r.product_id
         WHERE r.patient_id IN (SELECT id FROM patient WHERE id = ?1 OR merged_into = ?1)
           AND (d.active_ingredient LIKE '%vaccin%' OR d.name LIKE '%vaccin%')
           AND NOT EXISTS (SELECT 1 FROM clinical_void v WHERE v.entity = 'prescription' AND v.entity_id = r.id)
         ORDER BY r.issued_on DESC LIMIT 20",
    )?;
    let rows = stmt
        .query_map([patient.to_string()], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    rows.into_iter().map(|(on, product)| Ok(Vaccination { on: time::parse_stored_date(&on)?, product })).collect()
}

/// The last weight recorded in a consultation that is not void (one query).
fn last_weight(conn: &Connection, patient: Uuid) -> Result<Option<WeightPoint>> {
    let row: Option<(String, i64)> = conn
        .query_row(
            "SELECT c.started_at, c.weight_g FROM consultation c
             WHERE c.patient_id IN (SELECT id FROM patient WHERE id = ?1 OR merged_into = ?1) AND c.weight_g IS NOT NULL
               AND NOT EXISTS (SELECT 1 FROM clinical_void v WHERE v.entity = 'consultation' AND v.entity_id = c.id)
             ORDER BY c.started_at DESC LIMIT 1",
            [patient.to_string()],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?;
    row.map(|(at, g)| Ok(WeightPoint { date: time::local_date(time::parse_stored(&at)?), kg: g as f64 / 1000.0 }))
        .transpose()
}

/// A prescription still to be supplied on `on`: not void, valid, with supplies left, not a vaccine.
fn is_active(p: &Prescription, on: NaiveDate, vaccines: &HashSet<Uuid>) -> bool {
    p.void_reason.is_none() && p.valid_until >= on && p.supplies_left() > 0 && !vaccines.contains(&p.product_id)
}

/// The most active prescriptions the pack lists.
const MOST_PRESCRIPTIONS: usize = 2000;

/// Gathers the pack for `date` as the database stands at `now`.
pub(crate) fn gather(conn: &Connection, date: NaiveDate, now: DateTime<Utc>) -> Result<ContinuityPack> {
    let practice = practice::practice(conn)?.ok_or_else(|| Error::NotFound("the practice (set it up first)".into()))?;
    let day = day_book::day_book(conn, date)?;
    let vaccines = vaccines(conn)?;
    // The animals booked on the days the sheets cover, in the order they first come in.
    let mut sheets: Vec<SafetySheet> = Vec::new();
    for covered in covered_days(conn, date)? {
        let (start, end) = time::day_bounds("date", covered)?;
        for a in appointment::of_day(conn, start, end)? {
            if !a.status.is_active() {
                continue;
            }
            if let Some(sheet) = sheets.iter_mut().find(|s| s.patient.id == a.patient_id) {
                sheet.bookings.push(a);
                continue;
            }
            let patient = patient::get(conn, a.patient_id)?;
            let medicines = prescription::of_patient(conn, patient.id, 200)?
                .into_iter()
                .filter(|p| is_active(p, date, &vaccines))
                .collect();
            sheets.push(SafetySheet {
                number: crate::organisation::numbers::of(
                    conn,
                    crate::organisation::numbers::NumberKind::Animal,
                    patient.id,
                )?,
                owners: patient::owner_clients(conn, &patient)?,
                vaccinations: vaccinations(conn, patient.id)?,
                last_weight: last_weight(conn, patient.id)?,
                medicines,
                bookings: vec![a],
                patient,
            });
        }
    }
    // Every prescription still to be supplied, for animals alive and not merged away, by client.
    let rows: Vec<(String, String, String)> = conn
        .prepare_cached(
            "SELECT r.id, p.name, trim(replace(c.title || ' ' || c.first_name || ' ' || c.last_name, '  ', ' '))
             FROM prescription r JOIN patient p ON p.id = r.patient_id JOIN client c ON c.id = r.client_id
             WHERE r.valid_until >= ?1 AND p.deceased_on IS NULL AND p.merged_into IS NULL
               AND NOT EXISTS (SELECT 1 FROM clinical_void v WHERE v.entity = 'prescription' AND v.entity_id = r.id)
             ORDER BY c.last_name COLLATE NOCASE, c.first_name COLLATE NOCASE, p.name COLLATE NOCASE, r.issued_at DESC",
        )?
        .query_map([time::stored_date(date)], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
        .collect::<rusqlite::Result<_>>()?;
    let mut prescriptions = Vec::new();
    let mut prescriptions_cut = false;
    for (id, patient_name, client_name) in rows {
        let id = Uuid::parse_str(&id).map_err(|_| Error::DamagedRecord(format!("prescription id {id:?}")))?;
        let prescription = prescription::get(conn, id)?;
        if !is_active(&prescription, date, &vaccines) {
            continue;
        }
        if prescriptions.len() == MOST_PRESCRIPTIONS {
            prescriptions_cut = true;
            break;
        }
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
        .query_map([], |r| {
            Ok(StaffContact { name: r.get(0)?, role: r.get(1)?, qualifications: r.get(2)?, phone: r.get(3)? })
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(ContinuityPack { practice, date, made_at: now, day, sheets, prescriptions, prescriptions_cut, registers, staff })
}

const INFO: &str = "id, for_date, made_at, made_by, bytes, sha256, chosen";

fn info_from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<PackInfo> {
    Ok(PackInfo {
        id: crate::store::row::uuid(r, 0)?,
        for_date: crate::store::row::date(r, 1)?,
        made_at: crate::store::row::time(r, 2)?,
        made_by: r.get(3)?,
        bytes: r.get(4)?,
        sha256: r.get(5)?,
        chosen: r.get(6)?,
    })
}

/// The last pack made for the next working day (by the schedule or on demand), not for a chosen day.
fn last_routine(conn: &Connection) -> Result<Option<PackInfo>> {
    Ok(conn
        .query_row(
            &format!("SELECT {INFO} FROM continuity_pack WHERE chosen = 0 ORDER BY made_at DESC, id DESC LIMIT 1"),
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

/// The instant of `at` on London `day`; in the hour the clocks skip, the hour after.
fn instant(day: NaiveDate, at: NaiveTime) -> Result<DateTime<Utc>> {
    time::to_utc("time", day.and_time(at)).or_else(|_| time::to_utc("time", day.and_time(at) + Duration::hours(1)))
}

/// The latest time the evening pack was due at or before `now`: today's, or yesterday's before today's
/// comes (the default time when the schedule is off).
fn latest_slot(conn: &Connection, now: DateTime<Utc>) -> Result<DateTime<Utc>> {
    let at = pack_time(&schedule(conn)?.unwrap_or_else(|| DEFAULT_PACK_TIME.into()))?;
    let today = time::local_date(now);
    let slot = instant(today, at)?;
    if slot <= now {
        Ok(slot)
    } else {
        instant(today - Duration::days(1), at)
    }
}

/// The day a pack made at `now` is for: the next working day after the last evening slot (a pack made
/// on Monday morning, after the PCs were off all weekend, is Monday's).
fn pack_day(conn: &Connection, now: DateTime<Utc>) -> Result<NaiveDate> {
    next_working_day(conn, time::local_date(latest_slot(conn, now)?))
}

/// Whether the evening pack is due at `now`: the schedule is on, and no pack for the next working day
/// was made since the latest slot (or the last one claims a time still to come: a clock put back).
pub(crate) fn due(conn: &Connection, now: DateTime<Utc>) -> Result<bool> {
    if schedule(conn)?.is_none() {
        return Ok(false);
    }
    let slot = latest_slot(conn, now)?;
    Ok(last_routine(conn)?.is_none_or(|p| p.made_at < slot || p.made_at > now))
}

fn last_error(conn: &Connection) -> Result<Option<String>> {
    Ok(conn
        .query_row("SELECT value FROM local_setting WHERE key = 'continuity_pack_error'", [], |r| r.get(0))
        .optional()?)
}

impl Store {
    /// The pack's contents for `date` (the next working day when none is given).
    pub fn continuity_pack(&self, session: &Session, date: Option<NaiveDate>) -> Result<ContinuityPack> {
        let now = self.clock.now();
        self.read_as(session, Action::ViewClinical, |r| {
            let date = match date {
                Some(d) => time::sane_date("date", d)?,
                None => pack_day(r, now)?,
            };
            gather(r, date, now)
        })
    }

    /// Makes the pack (for `date`, or the next working day), lays it out with `render`, and keeps it on
    /// this PC in the name of the person asking; returns what was kept and the PDF.
    pub fn make_continuity_pack(
        &self,
        session: &Session,
        date: Option<NaiveDate>,
        render: impl FnOnce(&ContinuityPack) -> Vec<u8>,
    ) -> Result<(PackInfo, Vec<u8>)> {
        let pack = self.continuity_pack(session, date)?;
        let pdf = render(&pack);
        let info = self.keep_continuity_pack(&pack, &session.display_name, date.is_some(), &pdf)?;
        Ok((info, pdf))
    }

    /// The evening pack, for the app's own schedule (no one is signed in to ask for it): made, laid
    /// out with `render` and kept when it is due; `None` when it is not. What it holds never leaves
    /// the core but as the PDF kept in the database.
    pub fn make_scheduled_continuity_pack(
        &self,
        render: impl FnOnce(&ContinuityPack) -> Vec<u8>,
    ) -> Result<Option<PackInfo>> {
        let now = self.clock.now();
        let pack = self.read(|r| {
            if practice::practice(r)?.is_none() || !due(r, now)? {
                return Ok(None);
            }
            Ok(Some(gather(r, pack_day(r, now)?, now)?))
        })?;
        let Some(pack) = pack else { return Ok(None) };
        let pdf = render(&pack);
        self.keep_continuity_pack(&pack, "the evening schedule", false, &pdf).map(Some)
    }

    /// Notes why the evening pack could not be made (its error code only), or that it was.
    pub fn note_continuity_error(&self, code: Option<&str>) -> Result<()> {
        let conn = self.lock_writer();
        match code {
            Some(code) => conn.execute(
                "INSERT INTO local_setting (key, value) VALUES ('continuity_pack_error', ?1)
                 ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                [code],
            )?,
            None => conn.execute("DELETE FROM local_setting WHERE key = 'continuity_pack_error'", [])?,
        };
        Ok(())
    }

    /// Keeps a pack's PDF in this PC's encrypted database (the last few), and says what was kept.
    pub(crate) fn keep_continuity_pack(
        &self,
        pack: &ContinuityPack,
        made_by: &str,
        chosen: bool,
        pdf: &[u8],
    ) -> Result<PackInfo> {
        let id = self.clock.new_id();
        let sha256 = hex::encode(sha2::Sha256::digest(pdf));
        let mut conn = self.lock_writer();
        let tx = conn.transaction()?;
        tx.execute(
            "INSERT INTO continuity_pack (id, for_date, made_at, made_by, chosen, bytes, sha256, pdf) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            params![
                id.to_string(),
                time::stored_date(pack.date),
                time::stored(pack.made_at),
                made_by,
                chosen,
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

    /// The last pack for the next working day kept on this PC, the schedule, and the last error of the
    /// schedule (anyone signed in: the banner shows the pack's age).
    pub fn continuity_status(&self, session: &Session) -> Result<PackStatus> {
        self.read_as(session, Action::ViewRecords, |r| {
            Ok(PackStatus { last: last_routine(r)?, schedule: schedule(r)?, error: last_error(r)? })
        })
    }

    /// A pack kept on this PC (its PDF, to print): `id`, or the last made.
    pub fn kept_continuity_pack(&self, session: &Session, id: Option<Uuid>) -> Result<(PackInfo, Vec<u8>)> {
        self.read_as(session, Action::ViewClinical, |r| {
            let (filter, arg) = match id {
                Some(id) => ("id = ?1", id.to_string()),
                None => ("?1 = ''", String::new()),
            };
            let found = r
                .query_row(
                    &format!(
                        "SELECT {INFO}, pdf FROM continuity_pack WHERE {filter} ORDER BY made_at DESC, id DESC LIMIT 1"
                    ),
                    [arg],
                    |x| Ok((info_from_row(x)?, x.get::<_, Vec<u8>>(7)?)),
                )
                .optional()?;
            found.ok_or_else(|| Error::NotFound("that continuity pack on this PC (make one first)".into()))
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
        self.refuse_in_drill("changing this PC's settings")?;
        self.lock_writer().execute(
            "INSERT INTO local_setting (key, value) VALUES ('continuity_pack_time', ?1)
             ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            [value],
        )?;
        self.continuity_status(session)
    }
}

/// Forgets every pack kept on this PC (the purge after the outage: they hold copies of PMS records).
pub(crate) fn forget_packs(conn: &Connection) -> Result<()> {
    conn.execute("DELETE FROM continuity_pack", [])?;
    Ok(())
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
