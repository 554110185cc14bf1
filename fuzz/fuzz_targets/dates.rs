//! Dates and times as people and PMS exports write them: any text read as a date (either way of
//! reading a two-digit year), a time of day, a length in minutes or days, and a working week. A date
//! that reads can be turned into the day's bounds or refused for its year, without panicking.
#![no_main]

use chrono::NaiveDate;
use libfuzzer_sys::fuzz_target;
use lifeboat_core::import::values;
use lifeboat_core::time;
use lifeboat_core::WorkingDay;

fuzz_target!(|text: &str| {
    let today = NaiveDate::from_ymd_opt(2026, 2, 28).unwrap();
    for read in [values::date(text, today), values::date_near(text, today)] {
        if let Ok(Some(day)) = read {
            let _ = time::day_bounds("date", day);
        }
    }
    let _ = values::time_after_date(text);
    let _ = values::time_of_day(text);
    let _ = values::minutes(text);
    let _ = values::days(text);
    if let Ok(week) = WorkingDay::parse_week(text) {
        let written = WorkingDay::format_week(&week);
        assert_eq!(
            WorkingDay::parse_week(&written).ok(),
            Some(week),
            "a week reads back as it is written: {written:?}"
        );
    }
    if let Ok(stored) = time::parse_stored(text) {
        let _ = time::to_local(stored);
    }
});
