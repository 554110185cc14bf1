//! Finding clients and their patients as reception types: names (client and patient), phone numbers
//! and their endings (digits match however they were typed), postcodes (spaces and case ignored),
//! e-mail and microchip. Every word typed must start a word of the client's; the best answers come
//! first: a word matched exactly before a longer one (an exact surname, then an exact phone number,
//! then the rest), then alphabetically by the word matched and the client's name. Reads the index
//! that `store::search_index` keeps.

use rusqlite::{params, Connection, OptionalExtension};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::error::Result;
use crate::permission::Action;
use crate::reception::client::short_name;
use crate::reception::patient::Species;
use crate::session::Session;
use crate::store::database::Store;
use crate::store::row;
use crate::store::search_index::{fold, phone_digits, words};

/// Longer queries are cut: nobody types more, and the index need not read it.
const MAX_QUERY_CHARS: usize = 100;

/// Words after the eighth are not read.
const MAX_TERMS: usize = 8;

/// The most index rows one search reads for its first word before it stops with what it has (a
/// first word that starts many words, and a second that matches almost none of their clients).
const MAX_SCANNED: usize = 20_000;

/// How far the words a term starts are counted when choosing which of several terms leads.
const LEAD_COUNT_CAP: usize = 2_000;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct SearchHit {
    pub client_id: Uuid,
    pub client_name: String,
    pub address: String,
    pub phone: String,
    pub email: String,
    pub patients: Vec<PatientBrief>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct PatientBrief {
    pub id: Uuid,
    pub name: String,
    pub species: Species,
    pub breed: String,
    pub alerts: Vec<String>,
    pub deceased: bool,
    /// This patient's name or microchip matched the search.
    pub matched: bool,
}

fn number_like(text: &str) -> bool {
    text.chars().all(|c| c.is_ascii_digit() || " +-().".contains(c)) && text.chars().any(|c| c.is_ascii_digit())
}

/// Turns what was typed into search terms, folded as the index folds its words (lower case, no
/// accents, letters and digits only); a query that is all phone number becomes one run of digits
/// however it was spaced.
fn terms(query: &str) -> Vec<String> {
    // Control characters (a NUL, a tab pasted from a spreadsheet) separate words, as spaces do; a NUL
    // would otherwise end the full-text query early.
    let query: String = query.chars().take(MAX_QUERY_CHARS).map(|c| if c.is_control() { ' ' } else { c }).collect();
    let query = query.as_str();
    if number_like(query) {
        return vec![phone_digits(query)];
    }
    let mut out: Vec<String> = Vec::new();
    for t in query.split_whitespace().map(|t| if number_like(t) { phone_digits(t) } else { fold(t) }) {
        // A postcode typed with its space ("EX4 1A") is one word: the postcode whole starts so.
        if let Some(last) = out.last_mut() {
            if outward_code(last) && inward_start(&t) {
                last.push_str(&t);
                continue;
            }
        }
        if !t.is_empty() && !out.contains(&t) && out.len() < MAX_TERMS {
            out.push(t);
        }
    }
    out
}

/// A UK postcode's outward code, folded: one or two letters, a digit, and perhaps a letter or digit
/// ("ex4", "sw1a", "m1").
fn outward_code(t: &str) -> bool {
    let letters = t.chars().take_while(char::is_ascii_lowercase).count();
    let rest: Vec<char> = t.chars().skip(letters).collect();
    (1..=2).contains(&letters)
        && (1..=2).contains(&rest.len())
        && rest[0].is_ascii_digit()
        && rest.iter().all(char::is_ascii_alphanumeric)
}

/// The start of an inward code, folded: a digit, then at most two letters ("1", "1a", "1ab").
fn inward_start(t: &str) -> bool {
    let mut chars = t.chars();
    chars.next().is_some_and(|c| c.is_ascii_digit()) && t.len() <= 3 && chars.all(|c| c.is_ascii_lowercase())
}

/// A Lifeboat number as typed ("C-1001", "a52", "R 7"): its kind's letter and the number.
fn lifeboat_number(query: &str) -> Option<(char, i64)> {
    let q = query.trim();
    let mut chars = q.chars();
    let letter = chars.next()?.to_ascii_uppercase();
    if !matches!(letter, 'C' | 'A' | 'R') {
        return None;
    }
    let rest = chars.as_str().trim_start_matches(['-', ' ']);
    if rest.is_empty() || rest.len() > 9 || !rest.chars().all(|c| c.is_ascii_digit()) {
        return None;
    }
    Some((letter, rest.parse().ok()?))
}

/// The client a Lifeboat number names: a client's own, an animal's first owner, a receipt's payer (a
/// merged record found as the record it was merged into).
fn by_number(conn: &Connection, letter: char, number: i64) -> Result<Option<(Uuid, Option<Uuid>)>> {
    let sql = match letter {
        'C' => "SELECT coalesce(c.merged_into, c.id), NULL FROM client c WHERE c.number = ?1 LIMIT 1",
        'A' => "SELECT coalesce(c.merged_into, c.id), coalesce(p.merged_into, p.id) FROM patient p
                JOIN ownership o ON o.patient_id = coalesce(p.merged_into, p.id) JOIN client c ON c.id = o.client_id
                WHERE p.number = ?1 ORDER BY o.created_at LIMIT 1",
        _ => "SELECT coalesce(c.merged_into, c.id), NULL FROM payment y JOIN client c ON c.id = y.client_id WHERE y.number = ?1 LIMIT 1",
    };
    let found: Option<(String, Option<String>)> =
        conn.query_row(sql, [number], |r| Ok((r.get(0)?, r.get(1)?))).optional()?;
    Ok(found.and_then(|(c, p)| Some((Uuid::parse_str(&c).ok()?, p.and_then(|p| Uuid::parse_str(&p).ok())))))
}

/// Clients matching every term of `query`, best first, with their patients; a Lifeboat number
/// ("C-1001", "A-52", "R-7") finds the client it names first.
pub(crate) fn search(conn: &Connection, query: &str, limit: u32) -> Result<Vec<SearchHit>> {
    if let Some((letter, number)) = lifeboat_number(query) {
        if let Some((client, patient)) = by_number(conn, letter, number)? {
            let rowid: i64 =
                conn.query_row("SELECT search_rowid FROM client WHERE id = ?1", [client.to_string()], |r| r.get(0))?;
            if let Some(mut found) = brief(conn, rowid, &[])? {
                for p in &mut found.patients {
                    p.matched = Some(p.id) == patient;
                }
                return Ok(vec![found]);
            }
        }
    }
    let terms = terms(query);
    let found = matching_clients(conn, &terms, limit as usize)?;
    let mut hits = Vec::with_capacity(found.len());
    for rowid in found {
        hits.extend(brief(conn, rowid, &terms)?);
    }
    Ok(hits)
}

/// What the list shows of a client found (by search rowid) and their animals, in one statement:
/// living animals first, then by name.
fn brief(conn: &Connection, rowid: i64, terms: &[String]) -> Result<Option<SearchHit>> {
    let mut stmt = conn.prepare_cached(
        "SELECT c.id, c.title, c.first_name, c.last_name, c.address_line1, c.town, c.postcode, c.phone, c.phone_alt, c.email,
                p.id, p.name, p.species, p.breed, p.alerts, p.deceased_on IS NOT NULL, p.microchip
         FROM client c LEFT JOIN ownership o ON o.client_id = c.id
         LEFT JOIN patient p ON p.id = o.patient_id AND p.merged_into IS NULL
         WHERE c.search_rowid = ?1
         ORDER BY p.deceased_on IS NOT NULL, p.name COLLATE NOCASE, p.id",
    )?;
    let mut rows = stmt.query([rowid])?;
    let mut found: Option<SearchHit> = None;
    while let Some(r) = rows.next()? {
        let hit = match &mut found {
            Some(hit) => hit,
            None => {
                let text = |i: usize| r.get::<_, String>(i);
                let address =
                    [text(4)?, text(5)?, text(6)?].into_iter().filter(|s| !s.is_empty()).collect::<Vec<_>>().join(", ");
                let (phone, phone_alt) = (text(7)?, text(8)?);
                found.insert(SearchHit {
                    client_id: row::uuid(r, 0)?,
                    client_name: short_name(&text(1)?, &text(2)?, &text(3)?),
                    address,
                    phone: if phone.is_empty() { phone_alt } else { phone },
                    email: text(9)?,
                    patients: Vec::new(),
                })
            }
        };
        if r.get_ref(10)? == rusqlite::types::ValueRef::Null {
            continue;
        }
        let name: String = r.get(11)?;
        let microchip: Option<String> = r.get(16)?;
        let names = words(&name);
        let matched = terms.iter().any(|t| {
            names.iter().any(|w| w.starts_with(t.as_str()))
                || (t.len() >= 3 && microchip.as_deref().is_some_and(|m| m.starts_with(t.as_str())))
        });
        hit.patients.push(PatientBrief {
            id: row::uuid(r, 10)?,
            name,
            species: row::word(r, 12, Species::parse)?,
            breed: r.get(13)?,
            alerts: row::json(r, 14)?,
            deceased: r.get(15)?,
            matched,
        });
    }
    Ok(found)
}

/// The words that start with `term`: from the term itself up to (not including) the term followed
/// by the last character there is. Index words hold letters and digits only, all below it.
fn range(term: &str) -> (String, String) {
    (term.to_string(), format!("{term}{}", char::MAX))
}

/// How many index rows start with `term`, counted up to `cap`.
fn rows_starting(conn: &Connection, term: &str, cap: usize) -> Result<usize> {
    let (from, to) = range(term);
    let n: i64 = conn
        .prepare_cached("SELECT count(*) FROM (SELECT 1 FROM search_term WHERE term >= ?1 AND term < ?2 LIMIT ?3)")?
        .query_row(params![from, to, cap as i64], |r| r.get(0))?;
    Ok(n as usize)
}

/// The clients (their search rowids) that have a word starting with each term, best first, at most
/// `limit`. One term leads: one range scan over its words in index order, which is the ranking;
/// each client it finds is kept if every other term starts one of their words too. Of several
/// terms, the one that starts the fewest words leads (counted up to a bound; the longer on a tie),
/// so "GU1 4Y" reads the few inward codes "4Y…" rather than every client in GU1.
fn matching_clients(conn: &Connection, terms: &[String], limit: usize) -> Result<Vec<i64>> {
    let lead = if terms.len() > 1 {
        let mut counted = Vec::with_capacity(terms.len());
        for t in terms {
            counted.push((rows_starting(conn, t, LEAD_COUNT_CAP)?, std::cmp::Reverse(t.chars().count()), t));
        }
        counted.into_iter().min().map(|(_, _, t)| t)
    } else {
        terms.first()
    };
    let Some(lead) = lead else { return Ok(Vec::new()) };
    let others: Vec<(String, String)> = terms.iter().filter(|t| *t != lead).map(|t| range(t)).collect();
    let (from, to) = range(lead);
    let mut scan = conn.prepare_cached(
        "SELECT client FROM search_term WHERE term >= ?1 AND term < ?2 ORDER BY term, kind, sort, client",
    )?;
    let mut has =
        conn.prepare_cached("SELECT 1 FROM search_term WHERE client = ?1 AND term >= ?2 AND term < ?3 LIMIT 1")?;
    let mut rows = scan.query(params![from, to])?;
    let mut seen = std::collections::HashSet::new();
    let mut found = Vec::new();
    let mut scanned = 0;
    while let Some(r) = rows.next()? {
        let client: i64 = r.get(0)?;
        scanned += 1;
        if seen.insert(client) {
            let mut all = true;
            for (from, to) in &others {
                if !has.exists(params![client, from, to])? {
                    all = false;
                    break;
                }
            }
            if all {
                found.push(client);
                if found.len() >= limit {
                    break;
                }
            }
        }
        if scanned >= MAX_SCANNED {
            break;
        }
    }
    Ok(found)
}

impl Store {
    pub fn search(&self, session: &Session, query: &str, limit: u32) -> Result<Vec<SearchHit>> {
        self.read_as(session, Action::ViewRecords, |r| search(r, query, limit.clamp(1, 100)))
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn lifeboat_numbers_are_read_however_typed() {
        assert_eq!(super::lifeboat_number("C-1001"), Some(('C', 1001)));
        assert_eq!(super::lifeboat_number(" a52 "), Some(('A', 52)));
        assert_eq!(super::lifeboat_number("r 7"), Some(('R', 7)));
        for not in ["Carew", "C-", "C-12a", "X-1", "C-1234567890", "", "07700"] {
            assert_eq!(super::lifeboat_number(not), None, "{not:?}");
        }
    }

    #[test]
    fn terms_normalise_numbers_and_case() {
        assert_eq!(super::terms(" Smith  07700-900 "), ["smith", "07700900"]);
        assert_eq!(super::terms("+44 7700 900123"), ["07700900123"]);
        assert_eq!(super::terms("(01632) 960 12"), ["0163296012"]);
        assert_eq!(super::terms("+447700900123"), ["07700900123"]);
        assert_eq!(super::terms("EX4 1ab"), ["ex41ab"]);
        assert_eq!(super::terms("sw1a 2"), ["sw1a2"]);
        assert_eq!(super::terms("smith ex4 1"), ["smith", "ex41"]);
        assert_eq!(super::terms("ex4 smith"), ["ex4", "smith"]);
        assert_eq!(super::terms("m1 1ae"), ["m11ae"]);
        assert_eq!(super::terms("+44 (0)7700 900456"), ["07700900456"]);
        assert_eq!(super::terms("Zoë O'Brien zoe"), ["zoe", "obrien"]);
        assert_eq!(super::terms("\"quill* OR"), ["quill", "or"]);
        assert_eq!(super::terms("a b c d e f g h i j"), ["a", "b", "c", "d", "e", "f", "g", "h"]);
    }
}
