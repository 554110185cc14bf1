//! Finding clients and their patients as reception types: names (client and patient), phone numbers
//! (digits match however they were typed), postcodes (spaces and case ignored), email and microchip.
//! Reads the index that `reception::search_index` keeps.

use rusqlite::{params, Connection, OptionalExtension};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::error::Result;
use crate::permission::Action;
use crate::reception::client::{self, short_name};
use crate::reception::patient::{self, Species};
use crate::reception::search_index::digits;
use crate::session::Session;
use crate::store::database::Store;
use crate::store::row;

/// Longer queries are cut: nobody types more, and the index need not read it.
const MAX_QUERY_CHARS: usize = 100;

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

/// A phone number as bare digits, +44 written as 0 ("+44 (0)7700 900456" too).
fn phone_digits(text: &str) -> String {
    let d = digits(text);
    match d.strip_prefix("44") {
        Some(national) if text.trim_start().starts_with('+') => {
            format!("0{}", national.strip_prefix('0').unwrap_or(national))
        }
        _ => d,
    }
}

/// Turns what was typed into search terms: lower case; a query that is all phone number becomes
/// one run of digits however it was spaced; a number among words loses its punctuation.
fn terms(query: &str) -> Vec<String> {
    // Control characters (a NUL, a tab pasted from a spreadsheet) separate words, as spaces do; a NUL
    // would otherwise end the full-text query early.
    let query: String = query.chars().take(MAX_QUERY_CHARS).map(|c| if c.is_control() { ' ' } else { c }).collect();
    let query = query.as_str();
    if number_like(query) {
        return vec![phone_digits(query)];
    }
    query
        .split_whitespace()
        .map(|t| if number_like(t) { phone_digits(t) } else { t.to_lowercase() })
        .filter(|t| !t.is_empty())
        .collect()
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
            let mut found = hit(conn, client, &[])?;
            for p in &mut found.patients {
                p.matched = Some(p.id) == patient;
            }
            return Ok(vec![found]);
        }
    }
    let terms = terms(query);
    let long: Vec<&String> = terms.iter().filter(|t| t.chars().count() >= 3).collect();
    let ids: Vec<Uuid> = if !long.is_empty() {
        // Each term is an FTS5 string (quotes doubled), so nothing typed is read as syntax.
        let expr = long.iter().map(|t| format!("\"{}\"", t.replace('"', "\"\""))).collect::<Vec<_>>().join(" AND ");
        let mut stmt = conn.prepare_cached(
            "SELECT c.id FROM client_search s JOIN client c ON c.search_rowid = s.rowid
             WHERE client_search MATCH ?1 AND c.merged_into IS NULL ORDER BY s.rank LIMIT ?2",
        )?;
        let rows = stmt.query_map(params![expr, limit], |r| row::uuid(r, 0))?.collect::<rusqlite::Result<Vec<_>>>()?;
        rows
    } else if let Some(short) = terms.first() {
        // One or two letters: a surname that starts so ("Ng", "Li"). LIKE's wildcards are escaped,
        // so "%" or "_" match only themselves.
        let pattern = format!("{}%", short.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_"));
        let mut stmt = conn.prepare_cached(
            "SELECT id FROM client WHERE last_name LIKE ?1 ESCAPE '\\' AND merged_into IS NULL ORDER BY last_name COLLATE NOCASE, first_name LIMIT ?2",
        )?;
        let rows =
            stmt.query_map(params![pattern, limit], |r| row::uuid(r, 0))?.collect::<rusqlite::Result<Vec<_>>>()?;
        rows
    } else {
        Vec::new()
    };
    ids.iter().map(|id| hit(conn, *id, &terms)).collect()
}

fn hit(conn: &Connection, client_id: Uuid, terms: &[String]) -> Result<SearchHit> {
    let c = client::get(conn, client_id)?;
    let patients = patient::of_client(conn, client_id)?
        .into_iter()
        .map(|p| PatientBrief {
            matched: terms.iter().any(|t| {
                p.name.to_lowercase().contains(t.as_str())
                    || (t.len() >= 3 && p.microchip.as_deref().is_some_and(|m| m.contains(t.as_str())))
            }),
            id: p.id,
            name: p.name,
            species: p.species,
            breed: p.breed,
            alerts: p.alerts,
            deceased: p.deceased_on.is_some(),
        })
        .collect();
    let address = [c.address_line1.as_str(), c.town.as_str(), c.postcode.as_str()]
        .into_iter()
        .filter(|s| !s.is_empty())
        .collect::<Vec<_>>()
        .join(", ");
    Ok(SearchHit {
        client_id,
        client_name: short_name(&c.title, &c.first_name, &c.last_name),
        address,
        phone: if c.phone.is_empty() { c.phone_alt } else { c.phone },
        email: c.email,
        patients,
    })
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
        assert_eq!(super::terms("EX4 1ab"), ["ex4", "1ab"]);
        assert_eq!(super::terms("+44 (0)7700 900456"), ["07700900456"]);
    }
}
