//! The day book: a London day's appointments and the clinicians to show as its columns.

use std::collections::HashSet;

use chrono::{Datelike, NaiveDate};
use rusqlite::Connection;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::error::Result;
use crate::permission::{Action, Role};
use crate::reception::appointment::{self, Appointment};
use crate::reception::hours::WorkingDay;
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
    // so no booking is left off the day); vets first. Each with their hours that weekday, and
    // whether they have hours set at all, in the same statement.
    let booked: HashSet<Uuid> = appointments.iter().map(|a| a.clinician_id).collect();
    let weekday = date.weekday().number_from_monday();
    let mut stmt = conn.prepare_cached(
        "SELECT s.id, s.display_name, s.role, (s.role IN ('vet', 'nurse') AND s.active = 1), h.start_minute, h.end_minute,
                EXISTS (SELECT 1 FROM working_hours w WHERE w.clinician_id = s.id)
         FROM staff s LEFT JOIN working_hours h ON h.clinician_id = s.id AND h.weekday = ?1
         ORDER BY CASE s.role WHEN 'vet' THEN 0 ELSE 1 END, s.display_name COLLATE NOCASE, s.id",
    )?;
    let mut rows = stmt.query([weekday])?;
    let mut clinicians = Vec::new();
    while let Some(r) = rows.next()? {
        let id = row::uuid(r, 0)?;
        if !r.get::<_, bool>(3)? && !booked.contains(&id) {
            continue;
        }
        let today = match (r.get::<_, Option<u32>>(4)?, r.get::<_, Option<u32>>(5)?) {
            (Some(start_minute), Some(end_minute)) => Some(WorkingDay { weekday, start_minute, end_minute }),
            _ => None,
        };
        let any_hours: bool = r.get(6)?;
        clinicians.push(DayClinician {
            id,
            name: r.get(1)?,
            role: row::word(r, 2, Role::parse)?,
            hours: today,
            day_off: any_hours && today.is_none(),
        });
    }
    Ok(DayBook { date, clinicians, appointments })
}

impl Store {
    /// The day's appointments and the clinicians to show as columns, for a London date.
    pub fn day_book(&self, session: &Session, date: NaiveDate) -> Result<DayBook> {
        self.read_as(session, Action::ViewRecords, |r| day_book(r, date))
    }
}
