//! Practice time. Times are stored in UTC and shown in Europe/London; this module is the one place
//! that converts, so summer time is handled once.

use chrono::{DateTime, LocalResult, NaiveDate, NaiveDateTime, NaiveTime, TimeZone, Utc};
use chrono_tz::Europe::London;

use crate::error::{Error, Result};

/// A London wall-clock time as UTC. A time that does not exist (the hour skipped when the clocks go
/// forward) is refused; a time that happens twice (when they go back) means the first.
pub fn to_utc(field: &str, local: NaiveDateTime) -> Result<DateTime<Utc>> {
    match London.from_local_datetime(&local) {
        LocalResult::Single(t) => Ok(t.with_timezone(&Utc)),
        LocalResult::Ambiguous(first, _) => Ok(first.with_timezone(&Utc)),
        LocalResult::None => Err(Error::invalid(
            field,
            format!("{} does not exist in the UK: the clocks go forward then", local.format("%d/%m/%Y %H:%M")),
        )),
    }
}

pub fn to_local(utc: DateTime<Utc>) -> NaiveDateTime {
    utc.with_timezone(&London).naive_local()
}

/// The UTC instants where a London day starts and the next one starts (23, 24 or 25 hours apart).
pub fn day_bounds(date: NaiveDate) -> (DateTime<Utc>, DateTime<Utc>) {
    let start = |d: NaiveDate| {
        let midnight = d.and_time(NaiveTime::MIN);
        // Midnight always exists in London (the clocks change at 01:00 and 02:00).
        to_utc("date", midnight).expect("London midnight exists")
    };
    (start(date), start(date.succ_opt().expect("a date before the year 262143")))
}

/// The London date of an instant.
pub fn local_date(utc: DateTime<Utc>) -> NaiveDate {
    to_local(utc).date()
}

/// The storage form: UTC, whole seconds, `Z`, so that text order is time order.
pub fn stored(utc: DateTime<Utc>) -> String {
    utc.format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

pub fn parse_stored(text: &str) -> Result<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(text)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|_| Error::Internal(format!("stored time {text:?} is not RFC 3339")))
}

/// Minutes after local midnight, for laying out a day.
pub fn minute_of_day(local: NaiveDateTime) -> u32 {
    use chrono::Timelike;
    local.hour() * 60 + local.minute()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> NaiveDateTime {
        NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M").unwrap()
    }

    #[test]
    fn london_time_across_the_clock_changes() {
        let cases = [
            // local, expected UTC (None: refused)
            ("2026-03-27 09:00", Some("2026-03-27T09:00:00Z")), // GMT, the Friday before
            ("2026-03-30 09:00", Some("2026-03-30T08:00:00Z")), // BST, the Monday after
            ("2026-03-29 01:30", None),                         // skipped hour
            ("2026-10-25 01:30", Some("2026-10-25T00:30:00Z")), // happens twice: the first
            ("2026-10-26 09:00", Some("2026-10-26T09:00:00Z")), // GMT again
        ];
        for (local, want) in cases {
            let got = to_utc("start", at(local)).ok().map(stored);
            assert_eq!(got.as_deref(), want, "{local}");
            if let Some(utc) = want {
                assert_eq!(to_local(parse_stored(utc).unwrap()), at(local), "round trip {local}");
            }
        }
    }

    #[test]
    fn days_are_23_24_or_25_hours_long() {
        for (date, hours) in [("2026-03-29", 23), ("2026-06-01", 24), ("2026-10-25", 25)] {
            let (start, end) = day_bounds(NaiveDate::parse_from_str(date, "%Y-%m-%d").unwrap());
            assert_eq!((end - start).num_hours(), hours, "{date}");
        }
    }
}
