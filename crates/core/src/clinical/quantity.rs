//! Amounts of medicine: decimal quantities held exactly as thousandths of the product's unit (no
//! floating point), and the same amounts in words, as a prescription for a Schedule 2 or 3
//! controlled drug must state them ("10 (ten) ml").

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// A quantity in thousandths of a unit: 1.5 ml is `Quantity(1500)`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Quantity(pub i64);

/// The largest quantity Lifeboat takes: a million units (a pack of a million tablets does not exist).
const MAX_MILLI: i64 = 1_000_000_000;

impl Quantity {
    pub fn milli(self) -> i64 {
        self.0
    }

    /// Reads "28", "1.5" or "0.25" (at most three decimal places), naming `field` when it cannot.
    pub fn parse(field: &str, text: &str) -> Result<Quantity> {
        let text = text.trim();
        let wrong =
            || Error::invalid(field, "must be an amount such as 28, 1.5 or 0.25 (at most three decimal places)");
        if text.is_empty() {
            return Err(Error::invalid(field, "is required"));
        }
        let (whole, fraction) = text.split_once('.').unwrap_or((text, ""));
        if whole.is_empty() && fraction.is_empty()
            || !whole.chars().all(|c| c.is_ascii_digit())
            || !fraction.chars().all(|c| c.is_ascii_digit())
            || fraction.len() > 3
            || whole.len() > 7
        {
            return Err(wrong());
        }
        let whole: i64 = if whole.is_empty() { 0 } else { whole.parse().map_err(|_| wrong())? };
        let fraction: i64 = format!("{fraction:0<3}").parse().map_err(|_| wrong())?;
        let milli = whole * 1000 + fraction;
        if milli == 0 {
            return Err(Error::invalid(field, "must be more than nothing"));
        }
        if milli > MAX_MILLI {
            return Err(Error::invalid(field, "is far more than any pack; check the amount"));
        }
        Ok(Quantity(milli))
    }

    /// "28", "1.5", "0.25".
    pub fn figures(self) -> String {
        let (whole, fraction) = (self.0 / 1000, self.0 % 1000);
        if fraction == 0 {
            whole.to_string()
        } else {
            format!("{whole}.{}", format!("{fraction:03}").trim_end_matches('0'))
        }
    }

    /// "twenty-eight", "one point five", "nought point two five".
    pub fn words(self) -> String {
        let (whole, fraction) = (self.0 / 1000, self.0 % 1000);
        let mut text = if whole == 0 && fraction != 0 { "nought".to_string() } else { integer_words(whole) };
        if fraction != 0 {
            text.push_str(" point");
            for d in format!("{fraction:03}").trim_end_matches('0').chars() {
                text.push(' ');
                text.push_str(UNITS[d.to_digit(10).unwrap_or(0) as usize]);
            }
        }
        text
    }

    /// Whether `text` says this quantity in words, however it is spaced, hyphenated or capitalised,
    /// with or without "and" ("one hundred and twenty" or "one hundred twenty"), and with "zero",
    /// "nought" or "oh" for 0.
    pub fn matches_words(self, text: &str) -> bool {
        parse_words(text) == Some(self)
    }
}

impl std::fmt::Display for Quantity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.figures())
    }
}

const UNITS: [&str; 20] = [
    "zero",
    "one",
    "two",
    "three",
    "four",
    "five",
    "six",
    "seven",
    "eight",
    "nine",
    "ten",
    "eleven",
    "twelve",
    "thirteen",
    "fourteen",
    "fifteen",
    "sixteen",
    "seventeen",
    "eighteen",
    "nineteen",
];
const TENS: [&str; 10] = ["", "", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"];

fn below_thousand(n: i64) -> String {
    let (hundreds, rest) = (n / 100, n % 100);
    let rest_words = match rest {
        0 => String::new(),
        1..=19 => UNITS[rest as usize].to_string(),
        _ if rest % 10 == 0 => TENS[(rest / 10) as usize].to_string(),
        _ => format!("{}-{}", TENS[(rest / 10) as usize], UNITS[(rest % 10) as usize]),
    };
    match (hundreds, rest) {
        (0, _) => rest_words,
        (h, 0) => format!("{} hundred", UNITS[h as usize]),
        (h, _) => format!("{} hundred and {rest_words}", UNITS[h as usize]),
    }
}

fn integer_words(n: i64) -> String {
    if n == 0 {
        return "zero".into();
    }
    let (millions, thousands, rest) = (n / 1_000_000, (n / 1000) % 1000, n % 1000);
    let mut parts = Vec::new();
    if millions > 0 {
        parts.push(format!("{} million", below_thousand(millions)));
    }
    if thousands > 0 {
        parts.push(format!("{} thousand", below_thousand(thousands)));
    }
    if rest > 0 {
        // "one thousand and five", as British English says it.
        let and = if !parts.is_empty() && rest < 100 { "and " } else { "" };
        parts.push(format!("{and}{}", below_thousand(rest)));
    }
    parts.join(" ")
}

/// The words of an amount in one canonical spelling, for comparing: lower case, hyphens and commas as
/// spaces, "and" dropped, "zero", "oh" and "nil" as "nought".
fn normalised(text: &str) -> String {
    text.to_lowercase()
        .replace(['-', ','], " ")
        .split_whitespace()
        .filter(|w| *w != "and")
        .map(|w| match w {
            "zero" | "oh" | "nil" => "nought",
            w => w,
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// Reads an amount written in words: it must be exactly how the amount is said (however spaced,
/// hyphenated or capitalised, with or without "and"), so "five five" is not ten.
fn parse_words(text: &str) -> Option<Quantity> {
    if text.chars().count() > 200 {
        return None;
    }
    let said = normalised(text);
    // Candidates: the whole number the words start with, tried against its own spelling.
    let whole_words: Vec<&str> = said.split(" point ").next().unwrap_or("").split(' ').collect();
    let mut value: i64 = 0;
    let mut group: i64 = 0;
    for w in &whole_words {
        if let Some(n) = digit_word(w) {
            group = group.checked_add(n)?;
        } else if let Some(i) = TENS.iter().position(|t| !t.is_empty() && t == w) {
            group = group.checked_add(i as i64 * 10)?;
        } else if *w == "hundred" {
            group = group.max(1).checked_mul(100)?;
        } else if *w == "thousand" {
            value = value.checked_add(group.max(1).checked_mul(1000)?)?;
            group = 0;
        } else if *w == "million" {
            value = value.checked_add(group.max(1).checked_mul(1_000_000)?)?;
            group = 0;
        } else {
            return None;
        }
    }
    let whole = value.checked_add(group)?;
    let fraction: String = match said.split_once(" point ") {
        Some((_, digits)) => {
            let mut out = String::new();
            for w in digits.split(' ') {
                out.push(char::from_digit(digit_word(w).filter(|d| *d < 10)? as u32, 10)?);
            }
            out
        }
        None => String::new(),
    };
    if fraction.len() > 3 || whole > MAX_MILLI / 1000 {
        return None;
    }
    let milli = whole * 1000 + format!("{fraction:0<3}").parse::<i64>().ok()?;
    let q = Quantity(milli);
    // The canonical spelling of what was read must be what was said.
    (normalised(&q.words()) == said).then_some(q)
}

fn digit_word(w: &str) -> Option<i64> {
    match w {
        "nought" | "oh" | "zero" | "nil" => Some(0),
        _ => UNITS.iter().position(|u| *u == w).map(|i| i as i64),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amounts_read_and_print_exactly() {
        let cases = [
            ("28", Some(28_000), "28", "twenty-eight"),
            ("1.5", Some(1_500), "1.5", "one point five"),
            ("0.25", Some(250), "0.25", "nought point two five"),
            (".5", Some(500), "0.5", "nought point five"),
            ("120", Some(120_000), "120", "one hundred and twenty"),
            ("1005", Some(1_005_000), "1005", "one thousand and five"),
            ("2300", Some(2_300_000), "2300", "two thousand three hundred"),
            ("10.125", Some(10_125), "10.125", "ten point one two five"),
            ("0", None, "", ""),
            ("1.2345", None, "", ""),
            ("-3", None, "", ""),
            ("1e3", None, "", ""),
            ("", None, "", ""),
            ("99999999", None, "", ""),
        ];
        for (text, milli, figures, words) in cases {
            match (Quantity::parse("quantity", text), milli) {
                (Ok(q), Some(m)) => {
                    assert_eq!(q.milli(), m, "{text}");
                    assert_eq!(q.figures(), figures, "{text}");
                    assert_eq!(q.words(), words, "{text}");
                    assert!(q.matches_words(&q.words()), "{text} reads back its own words");
                }
                (Err(e), None) => assert_eq!(e.field(), Some("quantity"), "{text}"),
                (got, want) => panic!("{text}: {got:?} / {want:?}"),
            }
        }
    }

    #[test]
    fn words_are_read_however_people_write_them() {
        let q = |s| Quantity::parse("q", s).unwrap();
        let cases = [
            (q("10"), "Ten", true),
            (q("10"), "ten ", true),
            (q("28"), "twenty eight", true),
            (q("28"), "Twenty-Eight", true),
            (q("120"), "one hundred twenty", true),
            (q("1.5"), "one point five", true),
            (q("0.5"), "zero point five", true),
            (q("10"), "eleven", false),
            (q("10"), "10", false),
            (q("10"), "ten millilitres", false),
            (q("1.5"), "one and a half", false),
            (q("10"), "", false),
            (q("10"), "five five", false),
            (q("10"), "nine one", false),
            (q("100"), "one hundred", true),
            (q("100"), "hundred hundred hundred hundred hundred hundred hundred hundred hundred hundred", false),
            (q("1005"), "one thousand and five", true),
            (q("1005"), "one thousand five", true),
        ];
        for (quantity, words, matches) in cases {
            assert_eq!(quantity.matches_words(words), matches, "{quantity} / {words:?}");
        }
    }
}
