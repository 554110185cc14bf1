//! Clinicians' working hours: a simple weekly pattern per vet or nurse, written as people write it
//! (`mon-fri 08:30-18:00, sat 09:00-12:30`). Booking outside them asks for confirmation.

use rusqlite::{params, Connection, OptionalExtension};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::error::{Error, Result};
use crate::permission::{Action, Role};
use crate::session::Session;
use crate::store::database::Store;
use crate::store::write::{ChangeKind, Entity, Fields, Write};

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

/// "08:30" for 510.
pub(crate) fn hhmm(minute: u32) -> String {
    format!("{:02}:{:02}", minute / 60, minute % 60)
}

pub(crate) fn working_hours(conn: &Connection, clinician_id: Uuid) -> Result<Vec<WorkingDay>> {
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

impl Write<'_> {
    /// Replaces a clinician's weekly hours.
    pub fn set_working_hours(&mut self, clinician_id: Uuid, days: &[WorkingDay]) -> Result<()> {
        self.authorize(Action::SetWorkingHours)?;
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
        let role: Option<String> = self
            .tx()
            .query_row("SELECT role FROM staff WHERE id = ?1", [clinician_id.to_string()], |r| r.get(0))
            .optional()?;
        if !matches!(role.as_deref().and_then(Role::parse), Some(Role::Vet | Role::Nurse)) {
            return Err(Error::invalid("clinician_id", "working hours are for vets and nurses"));
        }
        self.tx().execute("DELETE FROM working_hours WHERE clinician_id = ?1", [clinician_id.to_string()])?;
        for d in days {
            self.tx().execute(
                "INSERT INTO working_hours (clinician_id, weekday, start_minute, end_minute) VALUES (?1, ?2, ?3, ?4)",
                params![clinician_id.to_string(), d.weekday, d.start_minute, d.end_minute],
            )?;
        }
        let fields = Fields::new().with("days", days);
        self.record(Action::SetWorkingHours, Entity::WorkingHours, clinician_id, ChangeKind::Update, fields)
    }
}

impl Store {
    pub fn set_working_hours(&self, session: &Session, clinician_id: Uuid, days: &[WorkingDay]) -> Result<()> {
        self.write(session, |w| w.set_working_hours(clinician_id, days))
    }

    pub fn working_hours(&self, session: &Session, clinician_id: Uuid) -> Result<Vec<WorkingDay>> {
        self.read_as(session, Action::ViewRecords, |r| working_hours(r, clinician_id))
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
}
