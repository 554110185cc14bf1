//! Values as PMS exports write them: dates in UK or ISO order, species and sex in the words and codes
//! UK systems use, yes and no in their many spellings. Each reader names what it could not read.

use chrono::{Datelike, NaiveDate};

use crate::reception::patient::{Sex, Species};

/// A date as `dd/mm/yyyy` (also with `-` or `.`, one-digit day or month, a two-digit year, or a
/// time of day after it), `yyyy-mm-dd`, or `5 Mar 2019` / `05-Mar-2019`. A two-digit year is the
/// latest year not after `today` (these are dates of birth and death). Blank is none.
pub fn date(text: &str, today: NaiveDate) -> Result<Option<NaiveDate>, String> {
    let text = text.trim();
    if text.is_empty() {
        return Ok(None);
    }
    // A time after the date ("12/05/2019 00:00:00", "2019-05-12T00:00:00") is dropped.
    let day_part = text.split(['T', ' ']).next().unwrap_or(text);
    let named_month = text.chars().any(|c| c.is_ascii_alphabetic()) && !text.contains('T');
    let wrong = || format!("{text:?} is not a date (write it as dd/mm/yyyy)");
    if named_month {
        for format in ["%d %b %Y", "%d-%b-%Y", "%d %B %Y", "%d-%b-%y", "%d %b %y"] {
            if let Ok(d) = NaiveDate::parse_from_str(text, format) {
                return Ok(Some(d));
            }
        }
        return Err(wrong());
    }
    let parts: Vec<&str> = day_part.split(['/', '-', '.']).collect();
    let [a, b, c] = parts[..] else { return Err(wrong()) };
    let number = |s: &str| -> Result<u32, String> {
        if s.is_empty() || s.len() > 4 || !s.bytes().all(|b| b.is_ascii_digit()) {
            return Err(wrong());
        }
        s.parse().map_err(|_| wrong())
    };
    let (year, month, day, year_digits) = if a.len() == 4 {
        (number(a)?, number(b)?, number(c)?, 4)
    } else {
        (number(c)?, number(b)?, number(a)?, c.len())
    };
    let year = match year_digits {
        4 => year as i32,
        2 => {
            let century = today.year() / 100 * 100;
            let candidate = century + year as i32;
            if candidate > today.year() {
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

/// Yes or no: Y, Yes, True, 1, X; N, No, False, 0 or blank.
pub fn yes_no(text: &str) -> Result<bool, String> {
    match text.trim().to_lowercase().as_str() {
        "y" | "yes" | "true" | "1" | "x" => Ok(true),
        "" | "n" | "no" | "false" | "0" => Ok(false),
        _ => Err(format!("{:?} is not yes or no", text.trim())),
    }
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
            ("  ", None),
        ] {
            assert_eq!(date(text, today), Ok(want), "{text}");
        }
        assert_eq!(date("30/02/2019", today), Err("\"30/02/2019\" is not a date that exists (day 30, month 2)".into()));
        assert_eq!(date("12/2019", today), Err("\"12/2019\" is not a date (write it as dd/mm/yyyy)".into()));
        assert_eq!(
            date("+262142-12-31", today),
            Err("\"+262142-12-31\" is not a date (write it as dd/mm/yyyy)".into())
        );
        assert_eq!(date("99999/1/1", today), Err("\"99999/1/1\" is not a date (write it as dd/mm/yyyy)".into()));
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
}
