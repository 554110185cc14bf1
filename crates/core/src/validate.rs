//! Checks and normalisation of input, each returning `Error::Invalid` that names the field and says
//! what is wrong in words a receptionist can act on.

use crate::error::{Error, Result};

/// What was typed, quoted for an error message, cut short if long.
pub fn shown(value: &str) -> String {
    let value = value.trim();
    if value.chars().count() > 40 {
        format!("{:?}…", value.chars().take(40).collect::<String>())
    } else {
        format!("{value:?}")
    }
}

/// Trimmed text that must not be empty and must fit in `max` characters.
pub fn required(field: &str, value: &str, max: usize) -> Result<String> {
    let value = value.trim();
    if value.is_empty() {
        return Err(Error::invalid(field, "is required"));
    }
    optional(field, value, max)
}

/// Trimmed text that may be empty but must fit in `max` characters and hold no control characters.
pub fn optional(field: &str, value: &str, max: usize) -> Result<String> {
    let value = value.trim();
    if value.chars().count() > max {
        return Err(Error::invalid(field, format!("must be at most {max} characters")));
    }
    if value.chars().any(|c| c.is_control()) {
        return Err(Error::invalid(field, "must not contain control characters"));
    }
    no_direction_overrides(field, value)?;
    Ok(value.to_string())
}

/// Refuses the invisible characters that make text display in another order than it is stored
/// ("exe.gnp" shown as "png.exe"): overrides, embeddings and isolates.
fn no_direction_overrides(field: &str, value: &str) -> Result<()> {
    if value.chars().any(|c| matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')) {
        return Err(Error::invalid(field, "must not contain text-direction control characters"));
    }
    Ok(())
}

/// Like `optional`, but line breaks and tabs are allowed (notes).
pub fn optional_multiline(field: &str, value: &str, max: usize) -> Result<String> {
    let value = value.trim();
    if value.chars().count() > max {
        return Err(Error::invalid(field, format!("must be at most {max} characters")));
    }
    if value.chars().any(|c| c.is_control() && !"\n\r\t".contains(c)) {
        return Err(Error::invalid(field, "must not contain control characters"));
    }
    no_direction_overrides(field, value)?;
    Ok(value.to_string())
}

/// An email address, trimmed and lower-cased. Only the shape is checked: something@domain.tld.
pub fn email(field: &str, value: &str) -> Result<String> {
    let value = value.trim().to_lowercase();
    let wrong =
        || Error::invalid(field, format!("{} is not an email address (for example name@example.co.uk)", shown(&value)));
    let (local, domain) = value.split_once('@').ok_or_else(wrong)?;
    let domain_ok =
        domain.contains('.') && !domain.starts_with('.') && !domain.ends_with('.') && !domain.contains("..");
    if local.is_empty() || !domain_ok || value.chars().any(|c| c.is_whitespace() || c.is_control()) || value.len() > 254
    {
        return Err(wrong());
    }
    Ok(value)
}

/// A microchip number: 15 digits (ISO 11784/11785), spaces ignored.
pub fn microchip(field: &str, value: &str) -> Result<String> {
    let digits: String = value.chars().filter(|c| !c.is_whitespace()).collect();
    if digits.len() != 15 || !digits.chars().all(|c| c.is_ascii_digit()) {
        return Err(Error::invalid(field, format!("{} is not a microchip number: it must be 15 digits", shown(value))));
    }
    Ok(digits)
}

/// A UK postcode, normalised to upper case with one space before the inward code ("SW1A 1AA").
pub fn postcode(field: &str, value: &str) -> Result<String> {
    let compact: String = value.chars().filter(|c| !c.is_whitespace()).collect::<String>().to_ascii_uppercase();
    let wrong = || Error::invalid(field, format!("{} is not a UK postcode (for example SW1A 1AA)", shown(value)));
    if !(5..=7).contains(&compact.len()) || !compact.is_ascii() {
        return Err(wrong());
    }
    let (outward, inward) = compact.split_at(compact.len() - 3);
    let inward_ok = {
        let b = inward.as_bytes();
        b[0].is_ascii_digit() && b[1].is_ascii_alphabetic() && b[2].is_ascii_alphabetic()
    };
    let outward_ok = {
        let b = outward.as_bytes();
        b[0].is_ascii_alphabetic()
            && b.iter().all(|c| c.is_ascii_alphanumeric())
            && b.iter().any(|c| c.is_ascii_digit())
            && (b.len() < 2 || b[1].is_ascii_alphanumeric())
    };
    if !inward_ok || !outward_ok {
        return Err(wrong());
    }
    Ok(format!("{outward} {inward}"))
}

/// A UK telephone number, given in any common form (spaces, dashes, brackets, +44), normalised to
/// national format with conventional spacing ("020 7946 0000", "01632 960123", "07700 900123").
pub fn uk_phone(field: &str, value: &str) -> Result<String> {
    if value.chars().count() > 40 {
        return Err(Error::invalid(field, "is too long for a telephone number"));
    }
    let wrong = |why: &str| Error::invalid(field, format!("{} {why}", shown(value)));
    if value.chars().any(|c| !(c.is_ascii_digit() || " -()+.".contains(c))) {
        return Err(wrong("is not a telephone number: use digits only"));
    }
    let mut digits: String = value.chars().filter(|c| c.is_ascii_digit()).collect();
    if value.trim_start().starts_with('+') {
        if !digits.starts_with("44") {
            return Err(wrong("is not a UK number (it must start 0 or +44)"));
        }
        // "+44 (0)7700 900456": the trunk 0 some people write after +44 is not part of the number.
        let national = &digits[2..];
        digits = format!("0{}", national.strip_prefix('0').unwrap_or(national));
    } else if digits.starts_with("44") && digits.len() == 12 {
        digits = format!("0{}", &digits[2..]);
    }
    if !digits.starts_with('0') {
        return Err(wrong("must start with 0 or +44"));
    }
    if !(10..=11).contains(&digits.len()) {
        return Err(wrong("must have 10 or 11 digits"));
    }
    Ok(space_phone(&digits))
}

fn space_phone(d: &str) -> String {
    if d.len() == 11 && (d.starts_with("02") || d.starts_with("03") || d.starts_with("08") || d.starts_with("09")) {
        format!("{} {} {}", &d[..3], &d[3..7], &d[7..])
    } else if d.len() == 11 && (d.starts_with("011") || (d.starts_with("01") && d.as_bytes()[3] == b'1')) {
        // Four-figure area codes: 0113-0118 (Leeds ... Reading) and 01x1 (0121 Birmingham ...).
        format!("{} {} {}", &d[..4], &d[4..7], &d[7..])
    } else if d.len() == 11 {
        format!("{} {}", &d[..5], &d[5..])
    } else {
        format!("{} {}", &d[..4], &d[4..])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check<F: Fn(&str, &str) -> Result<String>>(f: F, cases: &[(&str, Option<&str>)]) {
        for (input, expected) in cases {
            match (f("field", input), expected) {
                (Ok(got), Some(want)) => assert_eq!(&got, want, "input {input:?}"),
                (Err(e), None) => assert_eq!(e.field(), Some("field"), "input {input:?}"),
                (got, want) => panic!("input {input:?}: got {got:?}, wanted {want:?}"),
            }
        }
    }

    #[test]
    fn postcodes() {
        check(
            postcode,
            &[
                ("sw1a1aa", Some("SW1A 1AA")),
                (" M1 1AE ", Some("M1 1AE")),
                ("b33 8th", Some("B33 8TH")),
                ("CR2 6XH", Some("CR2 6XH")),
                ("DN55 1PT", Some("DN55 1PT")),
                ("EC1A 1BB", Some("EC1A 1BB")),
                ("12345", None),
                ("SW1A", None),
                ("SW1A 1A1", None),
                ("", None),
            ],
        );
    }

    #[test]
    fn text_that_would_display_in_another_order_is_refused() {
        assert_eq!(
            optional("last_name", "Bidi\u{202E}gnp.exe", 60).unwrap_err().to_string(),
            "last_name: must not contain text-direction control characters"
        );
        assert!(optional_multiline("notes", "a\u{2067}b", 60).is_err());
        assert_eq!(optional("last_name", "O'Brien-Lefèvre", 60).unwrap(), "O'Brien-Lefèvre");
    }

    #[test]
    fn emails_and_microchips() {
        check(
            email,
            &[
                (" Jo.Smith@Example.co.uk ", Some("jo.smith@example.co.uk")),
                ("jo@", None),
                ("jo.example.com", None),
                ("jo@example", None),
            ],
        );
        check(
            microchip,
            &[("826 0981 0000 1234", Some("826098100001234")), ("82609810000123", None), ("82609810000123X", None)],
        );
    }

    #[test]
    fn phones() {
        check(
            uk_phone,
            &[
                ("020 7946 0000", Some("020 7946 0000")),
                ("+44 20 7946 0000", Some("020 7946 0000")),
                ("+44 (0)7700 900456", Some("07700 900456")),
                ("+44 (0) 20 7946 0000", Some("020 7946 0000")),
                ("(01632) 960-123", Some("01632 960123")),
                ("07700900123", Some("07700 900123")),
                ("0169 772 4000", Some("01697 724000")),
                ("01174960001", Some("0117 496 0001")),
                ("0121 496 0000", Some("0121 496 0000")),
                ("+1 555 123 4567", None),
                ("12345", None),
                ("0800 12", None),
                ("call me", None),
            ],
        );
    }
}
