//! Values as PMS exports write them: dates in UK or ISO order, species and sex in the words and codes
//! UK systems use, yes and no in their many spellings. Each reader names what it could not read.

use chrono::{Datelike, NaiveDate, NaiveTime};

use crate::reception::appointment::{AppointmentKind, AppointmentStatus};
use crate::reception::patient::{Sex, Species};

/// A date as `dd/mm/yyyy` (also with `-` or `.`, one-digit day or month, a two-digit year, or a
/// time of day after it), `yyyy-mm-dd`, or with the month in words (`5 Mar 2019`, `05-MAR-19`,
/// `12 October 2019`, `5 Sept 2019`). A two-digit year is the latest year not after `today` (dates of
/// birth and death; a diary's days, which may be ahead, use `date_near`). Blank is none.
pub fn date(text: &str, today: NaiveDate) -> Result<Option<NaiveDate>, String> {
    date_with(text, today, false)
}

/// `date` for a day that may be ahead (an appointment): a two-digit year is the one nearest `today`.
pub fn date_near(text: &str, today: NaiveDate) -> Result<Option<NaiveDate>, String> {
    date_with(text, today, true)
}

fn date_with(text: &str, today: NaiveDate, near: bool) -> Result<Option<NaiveDate>, String> {
    let text = text.trim();
    if text.is_empty() {
        return Ok(None);
    }
    let wrong = || format!("{text:?} is not a date (write it as dd/mm/yyyy)");
    // A time after the date ("12/05/2019 00:00:00 AM", "2019-05-12T00:00:00") is dropped: it starts
    // at the first word holding a colon, or at the T of an ISO date and time.
    let mut day_part = text;
    if text.len() > 10 && text.as_bytes()[10] == b'T' && text.as_bytes()[4] == b'-' {
        day_part = &text[..10];
    } else if let Some(colon) = text.find(':') {
        day_part = text[..colon].rsplit_once(' ').map(|(d, _)| d).unwrap_or("").trim();
    }
    let parts: Vec<&str> = day_part.split(['/', '-', '.', ' ']).filter(|p| !p.is_empty()).collect();
    let [a, b, c] = parts[..] else { return Err(wrong()) };
    let number = |s: &str| -> Result<u32, String> {
        if s.is_empty() || s.len() > 4 || !s.bytes().all(|b| b.is_ascii_digit()) {
            return Err(wrong());
        }
        s.parse().map_err(|_| wrong())
    };
    let (year, month, day, year_digits) = if a.len() == 4 {
        (number(a)?, number(b)?, number(c)?, 4)
    } else if b.chars().all(|ch| ch.is_ascii_alphabetic()) {
        (number(c)?, month_named(b).ok_or_else(wrong)?, number(a)?, c.len())
    } else {
        (number(c)?, number(b)?, number(a)?, c.len())
    };
    let year = match year_digits {
        4 => year as i32,
        2 => {
            let century = today.year() / 100 * 100;
            let candidate = century + year as i32;
            if near {
                // Within fifty years either way of today.
                match candidate - today.year() {
                    d if d > 49 => candidate - 100,
                    d if d < -50 => candidate + 100,
                    _ => candidate,
                }
            } else if candidate > today.year() {
                candidate - 100
            } else {
                candidate
            }
        }
        _ => return Err(wrong()),
    };
    NaiveDate::from_ymd_opt(year, month, day)
        .map(Some)
        .ok_or_else(|| format!("{text:?} is not a date that exists (day {day}, month {month})"))
}

/// The time of day written after a date in one cell ("12/05/2026 09:30", "5 Mar 2026 2:15 PM",
/// "2026-05-12T09:30:00"), if any.
pub fn time_after_date(text: &str) -> Option<&str> {
    let text = text.trim();
    if text.len() > 10 && text.as_bytes()[10] == b'T' && text.as_bytes()[4] == b'-' {
        return Some(text[11..].trim());
    }
    let colon = text.find(':')?;
    let start = text[..colon].rfind(' ').map(|i| i + 1).unwrap_or(0);
    Some(text[start..].trim())
}

/// A month written in English, whole or shortened ("Mar", "SEPT", "October").
fn month_named(word: &str) -> Option<u32> {
    let word = word.to_lowercase();
    const MONTHS: [&str; 12] = [
        "january",
        "february",
        "march",
        "april",
        "may",
        "june",
        "july",
        "august",
        "september",
        "october",
        "november",
        "december",
    ];
    if word.len() < 3 {
        return None;
    }
    MONTHS.iter().position(|m| m.starts_with(&word)).map(|i| i as u32 + 1)
}

/// A species as a PMS writes it: "Canine", "Dog", "K9", "Feline", "Lapine", ... Anything else not
/// blank is `Other`, keeping the word.
pub fn species(text: &str) -> Result<(Species, String), String> {
    let word = text.trim();
    let key: String = word.to_lowercase().chars().filter(|c| c.is_alphanumeric()).collect();
    let species = match key.as_str() {
        "" => return Err("is blank: give the species (Canine, Feline, ...)".into()),
        "dog" | "canine" | "k9" | "canis" | "caninedog" => Species::Dog,
        "cat" | "feline" | "felis" | "felinecat" => Species::Cat,
        "rabbit" | "lapine" | "bunny" => Species::Rabbit,
        "guineapig" | "cavy" | "caviid" => Species::GuineaPig,
        "ferret" | "mustelid" => Species::Ferret,
        "hamster" => Species::Hamster,
        "rat" => Species::Rat,
        "bird" | "avian" | "parrot" | "budgie" | "budgerigar" | "cockatiel" => Species::Bird,
        "reptile" | "lizard" | "snake" | "tortoise" | "chelonian" | "gecko" | "bearddragon" | "beardeddragon" => {
            Species::Reptile
        }
        "horse" | "equine" | "pony" | "donkey" => Species::Horse,
        "cattle" | "bovine" | "cow" | "bull" | "calf" => Species::Cattle,
        "sheep" | "ovine" | "ewe" | "lamb" | "ram" => Species::Sheep,
        "goat" | "caprine" => Species::Goat,
        "pig" | "porcine" | "swine" => Species::Pig,
        "poultry" | "chicken" | "hen" | "duck" | "goose" | "turkey" => Species::Poultry,
        _ => return Ok((Species::Other, word.chars().take(40).collect())),
    };
    Ok((species, String::new()))
}

/// A sex as a PMS writes it, with neutering when the code says so: M, F, MN, FN, ME, FE, MC, FS,
/// "Male neutered", "Female (spayed)", ... Blank is unknown.
pub fn sex(text: &str) -> Result<(Sex, Option<bool>), String> {
    let key: String = text.to_lowercase().chars().filter(|c| c.is_alphanumeric()).collect();
    Ok(match key.as_str() {
        "" | "u" | "unknown" | "unk" | "notknown" => (Sex::Unknown, None),
        "m" | "male" => (Sex::Male, None),
        "f" | "female" => (Sex::Female, None),
        "mn" | "mc" | "malen" | "maleneutered" | "malecastrated" | "castratedmale" | "neuteredmale" | "gelding" => {
            (Sex::Male, Some(true))
        }
        "fn" | "fs" | "femalen" | "femaleneutered" | "femalespayed" | "spayedfemale" | "neuteredfemale" => {
            (Sex::Female, Some(true))
        }
        "me" | "maleentire" | "entiremale" => (Sex::Male, Some(false)),
        "fe" | "femaleentire" | "entirefemale" => (Sex::Female, Some(false)),
        _ => return Err(format!("{:?} is not a sex this import knows (M, F, MN, FN, ME, FE or blank)", text.trim())),
    })
}

/// A time of day: 09:30, 9:30, 0930, 9.30, 09:30:00, 9:30 am, 2:15 PM.
pub fn time_of_day(text: &str) -> Result<NaiveTime, String> {
    let t = text.trim().to_lowercase();
    let wrong = || format!("{:?} is not a time of day (write it as 09:30)", text.trim());
    let (t, pm) = match (t.strip_suffix("pm"), t.strip_suffix("am")) {
        (Some(rest), _) => (rest.trim().to_string(), Some(true)),
        (None, Some(rest)) => (rest.trim().to_string(), Some(false)),
        (None, None) => (t, None),
    };
    let digits: Vec<&str> = t.split([':', '.']).collect();
    let (h, m, s) = match digits[..] {
        [hm] if hm.len() == 4 && hm.bytes().all(|b| b.is_ascii_digit()) => (&hm[..2], &hm[2..], "0"),
        [h] if pm.is_some() => (h, "0", "0"),
        [h, m] => (h, m, "0"),
        [h, m, s] => (h, m, s),
        _ => return Err(wrong()),
    };
    let number = |x: &str| -> Result<u32, String> {
        if x.is_empty() || x.len() > 2 || !x.bytes().all(|b| b.is_ascii_digit()) {
            return Err(wrong());
        }
        x.parse().map_err(|_| wrong())
    };
    let (mut hour, minute, second) = (number(h)?, number(m)?, number(s)?);
    match pm {
        Some(_) if !(1..=12).contains(&hour) => return Err(wrong()),
        Some(true) if hour != 12 => hour += 12,
        Some(false) if hour == 12 => hour = 0,
        _ => {}
    }
    NaiveTime::from_hms_opt(hour, minute, second).ok_or_else(wrong)
}

/// A length in minutes: 15, "15 mins", "1 hr", or h:mm (0:15, 01:30).
pub fn minutes(text: &str) -> Result<u32, String> {
    let t = text.trim().to_lowercase();
    let wrong = || format!("{:?} is not a length in minutes", text.trim());
    if let Some((h, m)) = t.split_once(':') {
        let (h, m): (u32, u32) = (h.trim().parse().map_err(|_| wrong())?, m.trim().parse().map_err(|_| wrong())?);
        return if h <= 24 && m < 60 { Ok(h * 60 + m) } else { Err(wrong()) };
    }
    let number: String = t.chars().take_while(|c| c.is_ascii_digit()).collect();
    let unit = t[number.len()..].trim();
    let n: u32 = number.parse().map_err(|_| wrong())?;
    match unit {
        "" | "m" | "min" | "mins" | "minute" | "minutes" => Ok(n),
        "h" | "hr" | "hrs" | "hour" | "hours" if n <= 24 => Ok(n * 60),
        _ => Err(wrong()),
    }
}

/// An appointment type as PMS diaries name them; blank is a consultation, anything unknown other.
pub fn appointment_kind(text: &str) -> AppointmentKind {
    let key: String = text.to_lowercase().chars().filter(|c| c.is_alphanumeric()).collect();
    let has = |words: &[&str]| words.iter().any(|w| key.contains(w));
    if key.is_empty() {
        AppointmentKind::Consultation
    } else if has(&["nurse"]) {
        AppointmentKind::NurseClinic
    } else if has(&["vacc", "booster", "vaccine", "jab"]) {
        AppointmentKind::Vaccination
    } else if has(&["euthan", "pts"]) {
        AppointmentKind::Euthanasia
    } else if has(&["dental", "dentist", "scaleandpolish", "teeth"]) {
        AppointmentKind::Dental
    } else if has(&["healthcheck", "secondopinion", "consult", "exam", "standard", "appointment"]) {
        AppointmentKind::Consultation
    } else if has(&["recheck", "revisit", "followup", "postop", "check"]) {
        AppointmentKind::Recheck
    } else if key == "op"
        || has(&["operation", "surgery", "surgical", "procedure", "admit", "spay", "castrat", "neuter"])
    {
        AppointmentKind::Operation
    } else {
        AppointmentKind::Other
    }
}

/// An appointment's status as PMS diaries write it; blank is booked.
pub fn appointment_status(text: &str) -> Result<AppointmentStatus, String> {
    let key: String = text.to_lowercase().chars().filter(|c| c.is_alphanumeric()).collect();
    Ok(match key.as_str() {
        "" | "booked" | "confirmed" | "pending" | "open" | "reserved" | "scheduled" => AppointmentStatus::Booked,
        "arrived" | "checkedin" | "waiting" | "inwaitingroom" => AppointmentStatus::Arrived,
        "inconsult" | "withvet" | "inprogress" | "seeing" => AppointmentStatus::InConsult,
        "done" | "completed" | "complete" | "seen" | "attended" | "finished" | "closed" | "checkedout" => {
            AppointmentStatus::Done
        }
        "dna" | "noshow" | "didnotattend" | "failedtoattend" | "fta" | "missed" => AppointmentStatus::NoShow,
        "cancelled" | "canceled" | "cancel" | "deleted" => AppointmentStatus::Cancelled,
        _ => {
            return Err(format!(
                "{:?} is not a status this import knows (booked, arrived, done, DNA or cancelled)",
                text.trim()
            ))
        }
    })
}

/// Yes or no: Y, Yes, True, 1, X; N, No, False, 0 or blank.
pub fn yes_no(text: &str) -> Result<bool, String> {
    match text.trim().to_lowercase().as_str() {
        "y" | "yes" | "true" | "1" | "x" => Ok(true),
        "" | "n" | "no" | "false" | "0" => Ok(false),
        _ => Err(format!("{:?} is not yes or no", text.trim())),
    }
}

/// A price in pounds ("£12.50", "12.5", "1,250.00", "GBP 3") as pence.
pub fn pence(text: &str) -> Result<i64, String> {
    let t: String = text.trim().trim_start_matches("GBP").trim().trim_start_matches('£').replace(',', "");
    let wrong = || format!("{:?} is not a price in pounds (for example 12.50)", text.trim());
    let (pounds, pennies) = t.split_once('.').unwrap_or((&t, ""));
    if pounds.is_empty() && pennies.is_empty() || pennies.len() > 2 {
        return Err(wrong());
    }
    let pounds: i64 = if pounds.is_empty() { 0 } else { pounds.parse().map_err(|_| wrong())? };
    let pennies: i64 = if pennies.is_empty() { 0 } else { format!("{pennies:0<2}").parse().map_err(|_| wrong())? };
    if !(0..=1_000_000).contains(&pounds) || pennies < 0 {
        return Err(wrong());
    }
    Ok(pounds * 100 + pennies)
}

/// A VAT rate ("20%", "20", "0.2", or the codes S, Z, R, E) in basis points.
pub fn vat_rate_bp(text: &str) -> Result<i64, String> {
    let t = text.trim().trim_end_matches('%').trim().to_lowercase();
    match t.as_str() {
        "" | "s" | "std" | "standard" => return Ok(2000),
        "z" | "zero" | "e" | "exempt" => return Ok(0),
        "r" | "reduced" => return Ok(500),
        _ => {}
    }
    let wrong = || format!("{:?} is not a VAT rate (20%, 5%, 0%, or S, R, Z)", text.trim());
    let n: f64 = t.parse().map_err(|_| wrong())?;
    let percent = if n > 0.0 && n < 1.0 { n * 100.0 } else { n };
    if !(0.0..=100.0).contains(&percent) {
        return Err(wrong());
    }
    Ok((percent * 100.0).round() as i64)
}

/// A controlled-drug schedule ("2", "Schedule 2", "CD2", "CD Sch 3", blank or "No" for none).
pub fn cd_schedule(text: &str) -> Result<Option<u8>, String> {
    let t = text.trim().to_lowercase();
    if t.is_empty() || matches!(t.as_str(), "no" | "n" | "none" | "-" | "0" | "false") {
        return Ok(None);
    }
    let digits: String = t.chars().filter(|c| c.is_ascii_digit()).collect();
    let rest: String = t.chars().filter(|c| c.is_alphabetic()).collect();
    let words_ok = ["", "schedule", "sch", "cd", "cdsch", "cdschedule", "s"].contains(&rest.as_str());
    match (digits.parse::<u8>(), words_ok) {
        (Ok(n @ 1..=5), true) => Ok(Some(n)),
        _ => Err(format!("{:?} is not a controlled-drug schedule (2, 3, 4 or 5, or blank)", text.trim())),
    }
}

/// A legal category as UK product lists write it ("POM-V", "POMV", "POM VPS", "NFA-VPS", "AVM-GSL", "GSL").
pub fn legal_category(text: &str) -> Result<crate::clinical::formulary::LegalCategory, String> {
    use crate::clinical::formulary::LegalCategory;
    let key: String = text.to_lowercase().chars().filter(|c| c.is_alphanumeric()).collect();
    Ok(match key.as_str() {
        "pomv" => LegalCategory::PomV,
        "pomvps" => LegalCategory::PomVps,
        "nfavps" => LegalCategory::NfaVps,
        "avmgsl" | "gsl" => LegalCategory::AvmGsl,
        _ => return Err(format!("{:?} is not a legal category (POM-V, POM-VPS, NFA-VPS or AVM-GSL)", text.trim())),
    })
}

/// A whole number of days, or blank.
pub fn days(text: &str) -> Result<Option<u32>, String> {
    let t = text.trim().trim_end_matches("days").trim_end_matches("day").trim_end_matches('d').trim();
    if t.is_empty() {
        return Ok(None);
    }
    t.parse::<u32>().map(Some).map_err(|_| format!("{:?} is not a number of days", text.trim()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(y: i32, m: u32, day: u32) -> Option<NaiveDate> {
        NaiveDate::from_ymd_opt(y, m, day)
    }

    #[test]
    fn dates_in_the_ways_uk_exports_write_them() {
        let today = NaiveDate::from_ymd_opt(2026, 12, 1).unwrap();
        for (text, want) in [
            ("12/05/2019", d(2019, 5, 12)),
            ("1/2/2019", d(2019, 2, 1)),
            ("12-05-2019", d(2019, 5, 12)),
            ("12.05.2019", d(2019, 5, 12)),
            ("2019-05-12", d(2019, 5, 12)),
            ("12/05/2019 00:00:00", d(2019, 5, 12)),
            ("2019-05-12T00:00:00", d(2019, 5, 12)),
            ("12/05/98", d(1998, 5, 12)),
            ("12/05/26", d(2026, 5, 12)),
            ("12/05/27", d(1927, 5, 12)),
            ("5 Mar 2019", d(2019, 3, 5)),
            ("05-Mar-2019", d(2019, 3, 5)),
            ("29/02/2024", d(2024, 2, 29)),
            ("12-May-19", d(2019, 5, 12)),
            ("05-OCT-2019", d(2019, 10, 5)),
            ("12 OCT 2019", d(2019, 10, 12)),
            ("5 SEPT 2019", d(2019, 9, 5)),
            ("12 October 2019", d(2019, 10, 12)),
            ("12/05/2019 00:00:00 AM", d(2019, 5, 12)),
            ("12/05/2019 9:30", d(2019, 5, 12)),
            ("  ", None),
        ] {
            assert_eq!(date(text, today), Ok(want), "{text}");
        }
        assert_eq!(date_near("05/01/27", today), Ok(d(2027, 1, 5)), "a booking next year");
        assert_eq!(date_near("05/01/98", today), Ok(d(1998, 1, 5)));
        assert_eq!(date("30/02/2019", today), Err("\"30/02/2019\" is not a date that exists (day 30, month 2)".into()));
        assert_eq!(date("12/2019", today), Err("\"12/2019\" is not a date (write it as dd/mm/yyyy)".into()));
        assert_eq!(
            date("+262142-12-31", today),
            Err("\"+262142-12-31\" is not a date (write it as dd/mm/yyyy)".into())
        );
        assert_eq!(date("99999/1/1", today), Err("\"99999/1/1\" is not a date (write it as dd/mm/yyyy)".into()));
    }

    #[test]
    fn times_lengths_types_and_statuses_of_a_diary() {
        assert_eq!(time_after_date("12/05/2026 09:30"), Some("09:30"));
        assert_eq!(time_after_date("5 Mar 2026 2:15 PM"), Some("2:15 PM"));
        assert_eq!(time_after_date("2026-05-12T09:30:00"), Some("09:30:00"));
        assert_eq!(time_after_date("12/05/2026"), None);
        let t = |h, m| NaiveTime::from_hms_opt(h, m, 0).unwrap();
        for (text, want) in [
            ("09:30", t(9, 30)),
            ("9:30", t(9, 30)),
            ("0930", t(9, 30)),
            ("9.30", t(9, 30)),
            ("09:30:00", t(9, 30)),
            ("9:30 am", t(9, 30)),
            ("2:15 PM", t(14, 15)),
            ("12pm", t(12, 0)),
            ("12:10 am", t(0, 10)),
        ] {
            assert_eq!(time_of_day(text), Ok(want), "{text}");
        }
        assert_eq!(time_of_day("25:00"), Err("\"25:00\" is not a time of day (write it as 09:30)".into()));
        assert!(time_of_day("13:00 pm").is_err());
        assert!(time_of_day("noon").is_err());
        for (text, want) in [("15", 15), ("15 mins", 15), ("1 hr", 60), ("0:15", 15), ("01:30", 90)] {
            assert_eq!(minutes(text), Ok(want), "{text}");
        }
        assert!(minutes("a while").is_err());
        assert_eq!(appointment_kind("Booster"), AppointmentKind::Vaccination);
        assert_eq!(appointment_kind("Post-op check"), AppointmentKind::Recheck);
        assert_eq!(appointment_kind("Nurse clinic"), AppointmentKind::NurseClinic);
        assert_eq!(appointment_kind("Bitch spay"), AppointmentKind::Operation);
        assert_eq!(appointment_kind(""), AppointmentKind::Consultation);
        assert_eq!(appointment_kind("Grooming"), AppointmentKind::Other);
        assert_eq!(appointment_kind("Ophthalmology"), AppointmentKind::Other);
        assert_eq!(appointment_kind("Annual health check"), AppointmentKind::Consultation);
        assert_eq!(appointment_kind("Op"), AppointmentKind::Operation);
        assert_eq!(appointment_kind("Nurse consult"), AppointmentKind::NurseClinic);
        assert_eq!(appointment_kind("Vaccination appointment"), AppointmentKind::Vaccination);
        assert_eq!(appointment_status("DNA"), Ok(AppointmentStatus::NoShow));
        assert_eq!(appointment_status("Checked In"), Ok(AppointmentStatus::Arrived));
        assert!(appointment_status("perhaps").is_err());
    }

    #[test]
    fn species_and_sex_codes() {
        assert_eq!(species("Canine"), Ok((Species::Dog, String::new())));
        assert_eq!(species(" FELINE "), Ok((Species::Cat, String::new())));
        assert_eq!(species("Guinea Pig"), Ok((Species::GuineaPig, String::new())));
        assert_eq!(species("Axolotl"), Ok((Species::Other, "Axolotl".into())));
        assert!(species("").is_err());
        assert_eq!(sex("MN"), Ok((Sex::Male, Some(true))));
        assert_eq!(sex("Female (Spayed)"), Ok((Sex::Female, Some(true))));
        assert_eq!(sex("fe"), Ok((Sex::Female, Some(false))));
        assert_eq!(sex(""), Ok((Sex::Unknown, None)));
        assert_eq!(sex("Q"), Err("\"Q\" is not a sex this import knows (M, F, MN, FN, ME, FE or blank)".into()));
        assert_eq!(yes_no("Y"), Ok(true));
        assert_eq!(yes_no(""), Ok(false));
        assert!(yes_no("maybe").is_err());
    }

    #[test]
    fn product_list_values() {
        assert_eq!(pence("£12.50"), Ok(1250));
        assert_eq!(pence("1,234.5"), Ok(123450));
        assert_eq!(pence("GBP 3"), Ok(300));
        assert!(pence("12.505").is_err() && pence("").is_err() && pence("-1").is_err() && pence("twelve").is_err());
        assert_eq!(
            (vat_rate_bp("20%"), vat_rate_bp("0.2"), vat_rate_bp("S"), vat_rate_bp("Z"), vat_rate_bp("R")),
            (Ok(2000), Ok(2000), Ok(2000), Ok(0), Ok(500))
        );
        assert!(vat_rate_bp("120").is_err() && vat_rate_bp("lots").is_err());
        assert_eq!(
            (cd_schedule("Schedule 2"), cd_schedule("CD4"), cd_schedule(""), cd_schedule("No")),
            (Ok(Some(2)), Ok(Some(4)), Ok(None), Ok(None))
        );
        assert!(cd_schedule("7").is_err() && cd_schedule("Class A").is_err());
        assert_eq!(days("49 days"), Ok(Some(49)));
        assert!(days("soon").is_err());
    }
}
