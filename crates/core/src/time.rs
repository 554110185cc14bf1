//! Practice time, and the one form in which the database stores it. Times are stored in UTC and shown
//! in Europe/London; this module is the one place that converts (so summer time is handled once), the
//! one place that writes a stored timestamp (`stored`) and the one place that reads one back
//! (`parse_stored`, which refuses anything else).

use chrono::{DateTime, Datelike, LocalResult, NaiveDate, NaiveDateTime, NaiveTime, TimeZone, Utc};
use chrono_tz::Europe::London;

use crate::error::{Error, Result};

/// The storage form: UTC with milliseconds and `Z`, fixed width, so that text order is time order.
const STORED: &str = "%Y-%m-%dT%H:%M:%S%.3fZ";
/// Stored dates (a date of birth, a day of death): ISO 8601.
const STORED_DATE: &str = "%Y-%m-%d";

/// The years Lifeboat accepts anywhere: a date outside them is a typing mistake (or hostile input),
/// and refusing it keeps every later calculation (day bounds, durations) far from chrono's limits.
pub const FIRST_YEAR: i32 = 1900;
pub const LAST_YEAR: i32 = 2199;

/// A London wall-clock time as UTC. A time that does not exist (the hour skipped when the clocks go
/// forward) is refused; a time that happens twice (when they go back) means the first.
pub fn to_utc(field: &str, local: NaiveDateTime) -> Result<DateTime<Utc>> {
    sane_date(field, local.date())?;
    match London.from_local_datetime(&local) {
        LocalResult::Single(t) => Ok(t.with_timezone(&Utc)),
        LocalResult::Ambiguous(first, _) => Ok(first.with_timezone(&Utc)),
        LocalResult::None => Err(Error::invalid(
            field,
            format!("{} does not exist in the UK: the clocks go forward then", local.format("%d/%m/%Y %H:%M")),
        )),
    }
}

/// Whether a London wall-clock time happens twice (the hour repeated when the clocks go back).
pub fn is_ambiguous(local: NaiveDateTime) -> bool {
    matches!(London.from_local_datetime(&local), LocalResult::Ambiguous(..))
}

pub fn to_local(utc: DateTime<Utc>) -> NaiveDateTime {
    utc.with_timezone(&London).naive_local()
}

/// Refuses dates outside [`FIRST_YEAR`]..=[`LAST_YEAR`], naming the field.
pub fn sane_date(field: &str, date: NaiveDate) -> Result<NaiveDate> {
    if (FIRST_YEAR..=LAST_YEAR).contains(&date.year()) {
        Ok(date)
    } else {
        Err(Error::invalid(field, format!("the year must be between {FIRST_YEAR} and {LAST_YEAR}")))
    }
}

/// The UTC instants where a London day starts and the next one starts (23, 24 or 25 hours apart).
pub fn day_bounds(field: &str, date: NaiveDate) -> Result<(DateTime<Utc>, DateTime<Utc>)> {
    sane_date(field, date)?;
    // Midnight always exists in London (the clocks change at 01:00 and 02:00), and the next day
    // exists because the year is sane.
    let next = date.succ_opt().ok_or_else(|| Error::invalid(field, "has no next day"))?;
    Ok((to_utc(field, date.and_time(NaiveTime::MIN))?, to_utc(field, next.and_time(NaiveTime::MIN))?))
}

/// The London date of an instant.
pub fn local_date(utc: DateTime<Utc>) -> NaiveDate {
    to_local(utc).date()
}

/// The stored form of an instant.
pub fn stored(utc: DateTime<Utc>) -> String {
    // RFC 3339 with milliseconds and "Z" is the stored form for the years Lifeboat accepts, without
    // reading a format string each time (a day book reads and writes thousands).
    if (0..=9999).contains(&utc.year()) {
        utc.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
    } else {
        utc.format(STORED).to_string()
    }
}

/// Reads a stored instant back; anything not in the stored form is a damaged record.
pub fn parse_stored(text: &str) -> Result<DateTime<Utc>> {
    // chrono's %.3f also accepts no fraction at all; the stored form always has exactly three digits.
    let b = text.as_bytes();
    let shaped = b.len() == 24
        && b[4] == b'-'
        && b[7] == b'-'
        && b[10] == b'T'
        && b[13] == b':'
        && b[16] == b':'
        && b[19] == b'.'
        && b[23] == b'Z'
        && [0, 1, 2, 3, 5, 6, 8, 9, 11, 12, 14, 15, 17, 18, 20, 21, 22].iter().all(|&i| b[i].is_ascii_digit());
    shaped
        .then(|| DateTime::parse_from_rfc3339(text).ok().map(|t| t.naive_utc()))
        .flatten()
        .ok_or(())
        .map(|t| t.and_utc())
        .map_err(|_| Error::DamagedRecord(format!("stored time {text:?} is not in the form 2026-01-31T09:30:00.000Z")))
}

pub fn stored_date(date: NaiveDate) -> String {
    date.format(STORED_DATE).to_string()
}

pub fn parse_stored_date(text: &str) -> Result<NaiveDate> {
    NaiveDate::parse_from_str(text, STORED_DATE)
        .map_err(|_| Error::DamagedRecord(format!("stored date {text:?} is not in the form 2026-01-31")))
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
    fn the_stored_form_is_written_and_read_exactly() {
        let mut t = Utc.with_ymd_and_hms(1900, 1, 1, 0, 0, 0).unwrap();
        for step in 0..5000i64 {
            let text = stored(t);
            assert_eq!(text, t.format(STORED).to_string());
            assert_eq!(parse_stored(&text).unwrap(), t);
            t += chrono::Duration::milliseconds(step * 9_876_543_211 % 99_999_999_989 + 1);
        }
        for bad in [
            "2026-01-31T09:30:00Z",
            "2026-01-31 09:30:00.000Z",
            "2026-01-31T09:30:00.000+00:00",
            "2026-01-31T09:30:00.00aZ",
            "2026-02-30T09:30:00.000Z",
            "2026-01-31T24:30:00.000Z",
            "+026-01-31T09:30:00.000Z",
            "2026-01-31T09:30:00.000z",
            "２026-01-31T09:30:00.000",
        ] {
            assert!(parse_stored(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn london_time_across_the_clock_changes() {
        let cases = [
            // local, expected UTC (None: refused)
            ("2026-03-27 09:00", Some("2026-03-27T09:00:00.000Z")), // GMT, the Friday before
            ("2026-03-30 09:00", Some("2026-03-30T08:00:00.000Z")), // BST, the Monday after
            ("2026-03-29 01:30", None),                             // skipped hour
            ("2026-10-25 01:30", Some("2026-10-25T00:30:00.000Z")), // happens twice: the first
            ("2026-10-26 09:00", Some("2026-10-26T09:00:00.000Z")), // GMT again
            ("9999-01-01 09:00", None),                             // not a sane year
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
            let (start, end) = day_bounds("date", NaiveDate::parse_from_str(date, "%Y-%m-%d").unwrap()).unwrap();
            assert_eq!((end - start).num_hours(), hours, "{date}");
        }
    }

    #[test]
    fn extreme_dates_are_refused_not_panicked_on() {
        for date in [NaiveDate::MAX, NaiveDate::MIN, NaiveDate::from_ymd_opt(262142, 12, 31).unwrap()] {
            let err = day_bounds("date", date).unwrap_err();
            assert_eq!(err.field(), Some("date"));
        }
    }

    #[test]
    fn only_the_stored_form_is_read_back() {
        let t = Utc.with_ymd_and_hms(2026, 5, 1, 7, 5, 9).unwrap() + chrono::Duration::milliseconds(42);
        assert_eq!(stored(t), "2026-05-01T07:05:09.042Z");
        assert_eq!(parse_stored(&stored(t)).unwrap(), t);
        for other in ["2026-05-01T07:05:09Z", "2026-05-01T07:05:09.042+00:00", "yesterday", ""] {
            assert_eq!(parse_stored(other).unwrap_err().code(), crate::error::ErrorCode::DamagedRecord, "{other}");
        }
    }
}
