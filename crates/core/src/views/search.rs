//! Finding clients and their patients as reception types: names (client and patient), phone numbers
//! (digits match however they were typed), postcodes (spaces and case ignored), email and microchip.
//! Reads the index that `reception::search_index` keeps.

use rusqlite::{params, Connection};
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
    let query: String = query.chars().take(MAX_QUERY_CHARS).collect();
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

/// Clients matching every term of `query`, best first, with their patients.
pub(crate) fn search(conn: &Connection, query: &str, limit: u32) -> Result<Vec<SearchHit>> {
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
    fn terms_normalise_numbers_and_case() {
        assert_eq!(super::terms(" Smith  07700-900 "), ["smith", "07700900"]);
        assert_eq!(super::terms("+44 7700 900123"), ["07700900123"]);
        assert_eq!(super::terms("(01632) 960 12"), ["0163296012"]);
        assert_eq!(super::terms("+447700900123"), ["07700900123"]);
        assert_eq!(super::terms("EX4 1ab"), ["ex4", "1ab"]);
        assert_eq!(super::terms("+44 (0)7700 900456"), ["07700900456"]);
    }
}
