//! Finding clients and their patients as reception types: names (client and patient), phone numbers
//! (digits match however they were typed), postcodes (spaces and case ignored), email and microchip.
//!
//! One row per client in the FTS5 table `client_search` with the trigram tokenizer, so any three or
//! more characters match anywhere in a name or number. Rows are rewritten in the same transaction as
//! the records they index.

use rusqlite::{params, Connection, OptionalExtension};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::client::short_name;
use crate::error::{Error, Result};
use crate::patient::{self, Species};
use crate::permission::Action;
use crate::practice::parse_id;
use crate::session::Session;
use crate::store::Store;

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

fn digits(text: &str) -> String {
    text.chars().filter(|c| c.is_ascii_digit()).collect()
}

/// Rewrites the client's search row from the client and the patients they own.
pub(crate) fn reindex_client(conn: &Connection, client_id: Uuid) -> Result<()> {
    let row = conn
        .query_row(
            "SELECT search_rowid, title, first_name, last_name, phone, phone_alt, postcode, email FROM client WHERE id = ?1",
            [client_id.to_string()],
            |r| Ok((r.get::<_, i64>(0)?, (1..8).map(|i| r.get::<_, String>(i)).collect::<rusqlite::Result<Vec<_>>>()?)),
        )
        .optional()?;
    let Some((rowid, f)) = row else { return Err(Error::NotFound(format!("client {client_id}"))) };
    let mut stmt = conn.prepare_cached(
        "SELECT p.name, coalesce(p.microchip, '') FROM patient p JOIN ownership o ON o.patient_id = p.id WHERE o.client_id = ?1",
    )?;
    let pets = stmt
        .query_map([client_id.to_string()], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    let names =
        format!("{} {} {} {}", f[0], f[1], f[2], pets.iter().map(|p| p.0.as_str()).collect::<Vec<_>>().join(" "));
    let contact = format!(
        "{} {} {} {} {} {}",
        digits(&f[3]),
        digits(&f[4]),
        f[5],
        f[5].replace(' ', ""),
        f[6],
        pets.iter().map(|p| p.1.as_str()).collect::<Vec<_>>().join(" ")
    );
    conn.execute("DELETE FROM client_search WHERE rowid = ?1", [rowid])?;
    conn.execute(
        "INSERT INTO client_search (rowid, names, contact) VALUES (?1, ?2, ?3)",
        params![rowid, names, contact],
    )?;
    Ok(())
}

fn number_like(text: &str) -> bool {
    text.chars().all(|c| c.is_ascii_digit() || " +-().".contains(c)) && text.chars().any(|c| c.is_ascii_digit())
}

/// A phone number as bare digits, +44 written as 0.
fn phone_digits(text: &str) -> String {
    let d = digits(text);
    if text.trim_start().starts_with("+44") {
        format!("0{}", &d[2..])
    } else {
        d
    }
}

/// Turns what was typed into search terms: lower case; a query that is all phone number becomes
/// one run of digits however it was spaced; a number among words loses its punctuation.
fn terms(query: &str) -> Vec<String> {
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
pub fn search(conn: &Connection, query: &str, limit: u32) -> Result<Vec<SearchHit>> {
    let terms = terms(query);
    let long: Vec<&String> = terms.iter().filter(|t| t.chars().count() >= 3).collect();
    let ids: Vec<String> = if !long.is_empty() {
        // Each term is an FTS5 string (quotes doubled), so nothing typed is read as syntax.
        let expr = long.iter().map(|t| format!("\"{}\"", t.replace('"', "\"\""))).collect::<Vec<_>>().join(" AND ");
        let mut stmt = conn.prepare_cached(
            "SELECT c.id FROM client_search s JOIN client c ON c.search_rowid = s.rowid
             WHERE client_search MATCH ?1 ORDER BY s.rank LIMIT ?2",
        )?;
        let rows = stmt.query_map(params![expr, limit], |r| r.get(0))?.collect::<rusqlite::Result<Vec<_>>>()?;
        rows
    } else if let Some(short) = terms.first() {
        // One or two letters: a surname that starts so ("Ng", "Li").
        let mut stmt = conn.prepare_cached(
            "SELECT id FROM client WHERE last_name LIKE ?1 || '%' COLLATE NOCASE ORDER BY last_name COLLATE NOCASE, first_name LIMIT ?2",
        )?;
        let rows = stmt.query_map(params![short, limit], |r| r.get(0))?.collect::<rusqlite::Result<Vec<_>>>()?;
        rows
    } else {
        Vec::new()
    };
    ids.iter().map(|id| hit(conn, parse_id(id)?, &terms)).collect()
}

fn hit(conn: &Connection, client_id: Uuid, terms: &[String]) -> Result<SearchHit> {
    let c = crate::client::get(conn, client_id)?;
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
        self.authorize_read(session, Action::ViewRecords)?;
        self.read(|c| search(c, query, limit.clamp(1, 100)))
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
    }
}
