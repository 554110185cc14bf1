//! Finding clients and their patients as reception types: names (client and patient), phone numbers
//! and their endings (digits match however they were typed), postcodes (spaces and case ignored),
//! e-mail and microchip. Every word typed must start a word of the client's; the best answers come
//! first: a word matched exactly before a longer one (an exact surname, then an exact phone number,
//! then the rest), then alphabetically by the word matched and the client's name. Reads the index
//! that `store::search_index` keeps.

use std::collections::HashSet;

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
use crate::store::search_index::{fold, phone_digits, words, Kind};

/// Longer queries are cut: nobody types more, and the index need not read it.
const MAX_QUERY_CHARS: usize = 100;

/// Words after the eighth are not read.
const MAX_TERMS: usize = 8;

/// The most index rows one search reads for its first word before it stops with what it has (a
/// first word that starts many words, and a second that matches almost none of their clients).
const MAX_SCANNED: usize = 20_000;

/// With several words, how many clients whose surname or phone number is exactly one of the words
/// are read to put first.
const EXACT_CAP: usize = 200;

/// With several words, each word's clients are read at once when at most this many index rows start
/// with it, to choose the word that leads.
const LEAD_CAP: usize = 2_000;

/// How many clients are checked by lookups before the words looked up are read whole.
const LOOKUPS_BEFORE_SETS: usize = 64;

/// A word is read whole to check clients against when at most this many index rows start with it
/// (a sequential scan, far cheaper per row than a lookup per client).
const SET_CAP: usize = 50_000;

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
    // Control characters (a NUL, a tab pasted from a spreadsheet) and commas separate words, as
    // spaces do.
    let query: String = query.chars().take(MAX_QUERY_CHARS).map(|c| if c.is_control() { ' ' } else { c }).collect();
    let query = query.as_str();
    if number_like(query) {
        return vec![phone_digits(query)];
    }
    // What the word added last was, so that the next token joins only onto it: the raw text of a
    // phone number typed in groups ("smith 07700 900 461", "+44 (0)7700 900461": one number, read
    // whole), or an outward code that an inward code may follow ("EX4 1A": the postcode whole starts
    // so; joined once).
    enum Last {
        Number(String),
        Outward,
        Other,
    }
    let mut out: Vec<String> = Vec::new();
    let mut last = Last::Other;
    for raw in query.split(|c: char| c.is_whitespace() || c == ',').filter(|t| !t.is_empty()) {
        let number = number_like(raw);
        let t = if number { phone_digits(raw) } else { fold(raw) };
        match (&mut last, out.last_mut()) {
            (Last::Number(group), Some(word)) if number => {
                group.push(' ');
                group.push_str(raw);
                *word = phone_digits(group);
                continue;
            }
            (Last::Outward, Some(word)) if inward_start(&t) => {
                word.push_str(&t);
                last = Last::Other;
                continue;
            }
            _ => {}
        }
        if t.is_empty() || out.contains(&t) || out.len() >= MAX_TERMS {
            last = Last::Other;
            continue;
        }
        last = if number {
            Last::Number(raw.to_string())
        } else if outward_code(&t) {
            Last::Outward
        } else {
            Last::Other
        };
        out.push(t);
    }
    // A title ("Mrs Smith") is not asked of the client beside other words: many have none on file.
    if out.iter().any(|t| !TITLES.contains(&t.as_str())) {
        out.retain(|t| !TITLES.contains(&t.as_str()));
    }
    out
}

/// Titles reception may type before a name.
const TITLES: [&str; 7] = ["mr", "mrs", "ms", "miss", "mx", "dr", "prof"];

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

/// The clients that have a word starting with `term`, in index order (the ranking), each once; `None`
/// when more than `cap` index rows start with it. One sequential range scan of the index.
fn clients_starting(conn: &Connection, term: &str, cap: usize) -> Result<Option<Vec<i64>>> {
    let (from, to) = range(term);
    let mut stmt = conn.prepare_cached(
        "SELECT client FROM search_term WHERE term >= ?1 AND term < ?2 ORDER BY term, kind, sort, client LIMIT ?3",
    )?;
    let mut rows = stmt.query(params![from, to, cap as i64 + 1])?;
    let mut seen = HashSet::new();
    let mut out = Vec::new();
    let mut n = 0;
    while let Some(r) = rows.next()? {
        n += 1;
        if n > cap {
            return Ok(None);
        }
        let client: i64 = r.get(0)?;
        if seen.insert(client) {
            out.push(client);
        }
    }
    Ok(Some(out))
}

/// Whether a client has a word starting with each term but the one that leads: from the term's set
/// of clients where it has been read whole, else by a lookup in the index by client (a random read,
/// dearer than a row of a range scan). After `LOOKUPS_BEFORE_SETS` clients, a term still looked up
/// that fewer than one client in ten has passed is read whole (where at most `SET_CAP` rows start
/// with it): it is rare among these clients, so the lookups would go on, and a rare word is cheap to
/// read. A term most clients pass is left to lookups: enough clients are found soon.
struct Others<'a> {
    ranges: &'a [(String, String)],
    terms: &'a [String],
    sets: Vec<Option<HashSet<i64>>>,
    checked: usize,
    /// For each term, how many clients were looked up and how many passed.
    tried: Vec<(usize, usize)>,
}

impl Others<'_> {
    fn keep(
        &mut self,
        conn: &Connection,
        has: &mut rusqlite::CachedStatement<'_>,
        client: i64,
        lead: usize,
    ) -> Result<bool> {
        self.checked += 1;
        if self.checked == LOOKUPS_BEFORE_SETS {
            for (j, t) in self.terms.iter().enumerate() {
                let (tried, passed) = self.tried[j];
                if j != lead && self.sets[j].is_none() && tried > 0 && passed * 10 < tried {
                    self.sets[j] = clients_starting(conn, t, SET_CAP)?.map(|l| l.into_iter().collect());
                }
            }
        }
        for (j, (from, to)) in self.ranges.iter().enumerate() {
            if j == lead {
                continue;
            }
            let found = match &self.sets[j] {
                Some(set) => set.contains(&client),
                None => {
                    let found = has.exists(params![client, from, to])?;
                    self.tried[j].0 += 1;
                    self.tried[j].1 += found as usize;
                    found
                }
            };
            if !found {
                return Ok(false);
            }
        }
        Ok(true)
    }
}

/// The clients (their search rowids) that have a word starting with each term, best first, at most
/// `limit`. One word: one range scan over its words in index order, which is the ranking, stopped at
/// the limit (a client has at most a few dozen words, so MAX_SCANNED never cuts it short). Several: each word's clients are read by a range scan where at most `LEAD_CAP` index
/// rows start with it; the word with the fewest leads, in its order (the longest word, scanned, when
/// none is that rare), and a client is kept if every other word starts one of their words
/// (`Others`). Before them come the clients whose surname or phone number is exactly one of the
/// words (the first `EXACT_CAP` of each), whichever word led ("zoe smith": Zoe Smith before Zoe
/// Abbott whose dog is Smithy).
fn matching_clients(conn: &Connection, terms: &[String], limit: usize) -> Result<Vec<i64>> {
    let ranges: Vec<(String, String)> = terms.iter().map(|t| range(t)).collect();
    let mut has =
        conn.prepare_cached("SELECT 1 FROM search_term WHERE client = ?1 AND term >= ?2 AND term < ?3 LIMIT 1")?;
    let mut found = Vec::new();
    if terms.is_empty() {
        return Ok(found);
    }
    // One word needs no lists: it is scanned (below) with nothing else to check.
    let mut lists = Vec::with_capacity(terms.len());
    if terms.len() > 1 {
        for t in terms {
            lists.push(clients_starting(conn, t, LEAD_CAP)?);
        }
    } else {
        lists.push(None);
    }
    let mut others = Others {
        ranges: &ranges,
        terms,
        sets: lists.iter().map(|l| l.as_ref().map(|l| l.iter().copied().collect())).collect(),
        checked: 0,
        tried: vec![(0, 0); terms.len()],
    };
    let rarest = (0..terms.len()).filter(|i| lists[*i].is_some()).min_by_key(|i| lists[*i].as_ref().map(Vec::len));
    match rarest {
        Some(lead) => {
            for &client in lists[lead].as_deref().unwrap_or_default() {
                if others.keep(conn, &mut has, client, lead)? {
                    found.push(client);
                    if found.len() >= limit {
                        break;
                    }
                }
            }
        }
        None => {
            // One word, or every word starts more than LEAD_CAP index rows (one or two letters
            // each): the longest leads, scanned until enough are found or MAX_SCANNED rows are read.
            let lead = (0..terms.len()).max_by_key(|i| terms[*i].chars().count()).unwrap_or(0);
            let (from, to) = &ranges[lead];
            let mut scan = conn.prepare_cached(
                "SELECT client FROM search_term WHERE term >= ?1 AND term < ?2 ORDER BY term, kind, sort, client",
            )?;
            let mut rows = scan.query(params![from, to])?;
            let mut seen = HashSet::new();
            let mut scanned = 0;
            while let Some(r) = rows.next()? {
                let client: i64 = r.get(0)?;
                scanned += 1;
                if seen.insert(client) && others.keep(conn, &mut has, client, lead)? {
                    found.push(client);
                }
                if found.len() >= limit || scanned >= MAX_SCANNED {
                    break;
                }
            }
        }
    }
    if terms.len() == 1 {
        // The scan's own order puts an exact surname, then an exact phone number, first.
        return Ok(found);
    }
    // Exact surnames and phone numbers first, whichever word led: the first EXACT_CAP clients whose
    // surname or phone number is one of the words, kept if they have the other words too.
    let mut exact = conn.prepare_cached(
        "SELECT client FROM search_term WHERE term = ?1 AND kind <= ?2 ORDER BY kind, sort, client LIMIT ?3",
    )?;
    let mut first: Vec<i64> = Vec::new();
    for (i, t) in terms.iter().enumerate() {
        let clients = exact
            .query_map(params![t, Kind::Phone as u8, EXACT_CAP as i64], |r| r.get::<_, i64>(0))?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        for client in clients {
            if first.len() < limit && !first.contains(&client) && others.keep(conn, &mut has, client, i)? {
                first.push(client);
            }
        }
    }
    for client in found {
        if first.len() >= limit {
            break;
        }
        if !first.contains(&client) {
            first.push(client);
        }
    }
    Ok(first)
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
        assert_eq!(super::terms("smith 07700 900 461"), ["smith", "07700900461"]);
        assert_eq!(super::terms("Mrs Smith"), ["smith"]);
        assert_eq!(super::terms("Dr"), ["dr"]);
        assert_eq!(super::terms("smith +44 7700 900461"), ["smith", "07700900461"]);
        assert_eq!(super::terms("smith +44 (0)7700 900461"), ["smith", "07700900461"]);
        assert_eq!(super::terms("smith +44 (0) 7700 900461"), ["smith", "07700900461"]);
        assert_eq!(super::terms("07700 smith 07700 900461"), ["07700", "smith", "900461"]);
        assert_eq!(super::terms("ex4 1 2"), ["ex41", "2"]);
        assert_eq!(super::terms("Smith,Jo"), ["smith", "jo"]);
        assert_eq!(super::terms("+44 (0)7700 900456"), ["07700900456"]);
        assert_eq!(super::terms("Zoë O'Brien zoe"), ["zoe", "obrien"]);
        assert_eq!(super::terms("\"quill* OR"), ["quill", "or"]);
        assert_eq!(super::terms("a b c d e f g h i j"), ["a", "b", "c", "d", "e", "f", "g", "h"]);
    }
}
