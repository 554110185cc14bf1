//! The day book: a London day's appointments and the clinicians to show as its columns.

use chrono::{Datelike, NaiveDate};
use rusqlite::Connection;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::error::Result;
use crate::permission::{Action, Role};
use crate::reception::appointment::{self, Appointment};
use crate::reception::hours::{self, WorkingDay};
use crate::session::Session;
use crate::store::database::Store;
use crate::store::row;
use crate::time;

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

pub(crate) fn day_book(conn: &Connection, date: NaiveDate) -> Result<DayBook> {
    let (start, end) = time::day_bounds("date", date)?;
    let appointments = appointment::of_day(conn, start, end)?;
    // Active clinicians, and anyone else who has an appointment that day (whatever their role is now,
    // so no booking is left off the day); vets first.
    let mut stmt = conn.prepare_cached(
        "SELECT id, display_name, role FROM staff
         WHERE (role IN ('vet', 'nurse') AND active = 1) OR id IN (SELECT clinician_id FROM appointment WHERE starts_at >= ?1 AND starts_at < ?2)
         ORDER BY CASE role WHEN 'vet' THEN 0 ELSE 1 END, display_name COLLATE NOCASE",
    )?;
    let people = stmt
        .query_map([time::stored(start), time::stored(end)], |r| {
            Ok((row::uuid(r, 0)?, r.get::<_, String>(1)?, row::word(r, 2, Role::parse)?))
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    let weekday = date.weekday().number_from_monday();
    let mut clinicians = Vec::new();
    for (id, name, role) in people {
        let hours = hours::working_hours(conn, id)?;
        let today = hours.iter().copied().find(|h| h.weekday == weekday);
        clinicians.push(DayClinician { id, name, role, hours: today, day_off: !hours.is_empty() && today.is_none() });
    }
    Ok(DayBook { date, clinicians, appointments })
}

impl Store {
    /// The day's appointments and the clinicians to show as columns, for a London date.
    pub fn day_book(&self, session: &Session, date: NaiveDate) -> Result<DayBook> {
        self.read_as(session, Action::ViewRecords, |r| day_book(r, date))
    }
}
