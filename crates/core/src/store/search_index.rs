//! The search index: every word reception may type to find a client, one row per word and client in
//! `search_term`, a B-tree ordered by the word. A keystroke of one word is one range scan over the
//! words that start with it, stopped at the answers shown, whatever the size of the practice (several
//! words cost more: `views::search`).
//!
//! The words of a client: their surname, first names and title; their animals' names; their phone
//! numbers as digits in national form, and every ending of four digits or more (a number read out
//! from its end); their postcode whole, and its outward and inward codes; their e-mail address, and
//! its domain; their animals' microchips. Every word is folded: lower case, accents removed, letters
//! and digits only ("O'Brien-Åsa" gives "o", "brien", "asa" and "obrienasa").
//!
//! Rows are derived data, never journaled: rewritten in the same transaction as the records they
//! index, by every path that changes a client, an animal or who owns it (the write path, a merge,
//! a purge, a sync) — except a pull's pages, which note the clients in `search_pending` for
//! `index_pending` once the pull has ended (a client purged or merged away loses its words at once
//! all the same). `differences` compares the table with what a rebuild would make.

use std::collections::BTreeSet;

use rusqlite::{params, Connection, OptionalExtension};
use unicode_normalization::char::is_combining_mark;
use unicode_normalization::UnicodeNormalization;
use uuid::Uuid;

use crate::error::{Error, Result};

/// What a word of a client is. An exact match on a word ranks by kind: surname first, then phone.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
#[repr(u8)]
pub(crate) enum Kind {
    Surname = 0,
    Phone = 1,
    Name = 2,
    Animal = 3,
    Postcode = 4,
    Email = 5,
    Microchip = 6,
    PhoneEnding = 7,
}

/// A word's rank among the clients with the same word: their name, folded, cut to this length, then
/// their id (so every PC lists namesakes in one order).
const SORT_CHARS: usize = 24;

/// The shortest ending of a phone number that is indexed.
const PHONE_ENDING_DIGITS: usize = 4;

/// A stored local setting: the version of the word rules the index was last built whole with.
const BUILT: &str = "search_index_built";

/// The version of the rules that make a client's words. Changing the rules means a new version: the
/// next open of each database rebuilds its index.
pub(crate) const RULES: &str = "2";

pub(crate) fn digits(text: &str) -> String {
    text.chars().filter(|c| c.is_ascii_digit()).collect()
}

/// A phone number as bare digits, +44 written as 0 ("+44 (0)7700 900456" too).
pub(crate) fn phone_digits(text: &str) -> String {
    let d = digits(text);
    match d.strip_prefix("44") {
        Some(national) if text.trim_start().starts_with('+') => {
            format!("0{}", national.strip_prefix('0').unwrap_or(national))
        }
        _ => d,
    }
}

/// Text as the index holds it: lower case, accents removed (and the letters that have no accent to
/// remove written as English keyboards type them: "ø" as "o", "ß" as "ss"), letters and digits only.
pub(crate) fn fold(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.nfd().filter(|c| !is_combining_mark(*c)).flat_map(char::to_lowercase) {
        match c {
            'ø' => out.push('o'),
            'ł' => out.push('l'),
            'đ' | 'ð' => out.push('d'),
            'æ' => out.push_str("ae"),
            'œ' => out.push_str("oe"),
            'ß' => out.push_str("ss"),
            'þ' => out.push_str("th"),
            'ı' => out.push('i'),
            c if c.is_alphanumeric() => out.push(c),
            _ => {}
        }
    }
    out
}

/// The folded words of a name, and the whole name run together when it has several.
pub(crate) fn words(text: &str) -> Vec<String> {
    let parts: Vec<String> = text
        .split(|c: char| !c.is_alphanumeric() && !is_combining_mark(c))
        .map(fold)
        .filter(|w| !w.is_empty())
        .collect();
    let mut out = parts.clone();
    if parts.len() > 1 {
        out.push(parts.concat());
    }
    out
}

/// The fields of a client the index reads, and their animals' names and microchips.
#[derive(Default)]
struct Indexed {
    id: Uuid,
    rowid: i64,
    title: String,
    first_name: String,
    last_name: String,
    phones: [String; 2],
    postcode: String,
    email: String,
    animals: Vec<(String, String)>,
}

impl Indexed {
    fn read(conn: &Connection, client_id: Uuid) -> Result<Option<Indexed>> {
        let row = conn
            .prepare_cached(
                "SELECT search_rowid, title, first_name, last_name, phone, phone_alt, postcode, email,
                        merged_into IS NOT NULL OR purged_at IS NOT NULL
                 FROM client WHERE id = ?1",
            )?
            .query_row([client_id.to_string()], |r| {
                Ok((
                    Indexed {
                        id: client_id,
                        rowid: r.get(0)?,
                        title: r.get(1)?,
                        first_name: r.get(2)?,
                        last_name: r.get(3)?,
                        phones: [r.get(4)?, r.get(5)?],
                        postcode: r.get(6)?,
                        email: r.get(7)?,
                        animals: Vec::new(),
                    },
                    r.get::<_, bool>(8)?,
                ))
            })
            .optional()?;
        let Some((mut client, merged)) = row else { return Err(Error::NotFound(format!("client {client_id}"))) };
        if merged {
            // A client merged into another is found as that other, and a purged copy is not found
            // at all: they have no words of their own.
            return Ok(Some(Indexed { id: client_id, rowid: client.rowid, ..Default::default() }));
        }
        let mut stmt = conn.prepare_cached(
            "SELECT p.name, coalesce(p.microchip, '') FROM patient p JOIN ownership o ON o.patient_id = p.id
             WHERE o.client_id = ?1 AND p.merged_into IS NULL AND p.purged_at IS NULL",
        )?;
        client.animals = stmt
            .query_map([client_id.to_string()], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(Some(client))
    }

    /// Every (word, kind) of the client.
    fn terms(&self) -> BTreeSet<(String, Kind)> {
        let mut out = BTreeSet::new();
        let mut add = |word: String, kind: Kind| {
            if !word.is_empty() {
                out.insert((word, kind));
            }
        };
        for w in words(&self.last_name) {
            add(w, Kind::Surname);
        }
        for w in words(&self.first_name).into_iter().chain(words(&self.title)) {
            add(w, Kind::Name);
        }
        for phone in &self.phones {
            let d = phone_digits(phone);
            for start in 1..d.len().saturating_sub(PHONE_ENDING_DIGITS - 1) {
                add(d[start..].to_string(), Kind::PhoneEnding);
            }
            add(d, Kind::Phone);
        }
        // A postcode whole, and its outward and inward codes ("EX4 1AB": "ex4", "1ab"; written
        // without its space, the inward code is the last three characters).
        let postcode: Vec<char> = fold(&self.postcode).chars().collect();
        if postcode.len() > 3 {
            let outward = match self.postcode.split_whitespace().collect::<Vec<_>>()[..] {
                [outward, _] => fold(outward).chars().count().min(postcode.len()),
                _ => postcode.len() - 3,
            };
            add(postcode[..outward].iter().collect(), Kind::Postcode);
            add(postcode[outward..].iter().collect(), Kind::Postcode);
        }
        add(postcode.iter().collect(), Kind::Postcode);
        if let Some((_, domain)) = self.email.rsplit_once('@') {
            add(fold(domain), Kind::Email);
        }
        add(fold(&self.email), Kind::Email);
        for (name, chip) in &self.animals {
            for w in words(name) {
                add(w, Kind::Animal);
            }
            add(digits(chip), Kind::Microchip);
        }
        out
    }

    fn sort_key(&self) -> String {
        // A space (below every letter and digit) between the names: Bob Smith before Amy Smith-Jones.
        let name = format!("{} {}", fold(&self.last_name), fold(&self.first_name));
        let name: String = name.chars().take(SORT_CHARS).collect();
        format!("{name} {}", self.id.simple())
    }
}

/// Rewrites the client's words from the client and the animals they own; a merged client loses
/// theirs.
pub(crate) fn reindex_client(conn: &Connection, client_id: Uuid) -> Result<()> {
    reindex_clients(conn, &[client_id])
}

/// Whether a client that is not in the database is an error (a writer that names one) or nothing
/// to do (a client left waiting in `search_pending`, which must never stop an open or a sync).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Missing {
    Refused,
    Skipped,
}

/// Rewrites the words of several clients at once: their old rows deleted, the new ones inserted in
/// the index's own order, so that neighbouring words share pages. Clears them from `search_pending`.
pub(crate) fn reindex_clients(conn: &Connection, client_ids: &[Uuid]) -> Result<()> {
    reindex(conn, client_ids, Missing::Refused)
}

fn reindex(conn: &Connection, client_ids: &[Uuid], missing: Missing) -> Result<()> {
    let mut rows: Vec<(String, u8, std::rc::Rc<str>, i64)> = Vec::new();
    let mut delete = conn.prepare_cached("DELETE FROM search_term WHERE client = ?1")?;
    let mut done = conn.prepare_cached("DELETE FROM search_pending WHERE client_id = ?1")?;
    for id in client_ids {
        done.execute([id.to_string()])?;
        let client = match Indexed::read(conn, *id) {
            Ok(Some(client)) => client,
            // A client left waiting that is not here: nothing to index, and nothing left waiting.
            Err(Error::NotFound(_)) if missing == Missing::Skipped => continue,
            Ok(None) => continue,
            Err(e) => return Err(e),
        };
        delete.execute([client.rowid])?;
        let sort: std::rc::Rc<str> = client.sort_key().into();
        rows.extend(client.terms().into_iter().map(|(term, kind)| (term, kind as u8, sort.clone(), client.rowid)));
    }
    rows.sort_unstable();
    rows.dedup();
    let mut insert =
        conn.prepare_cached("INSERT INTO search_term (term, kind, sort, client) VALUES (?1, ?2, ?3, ?4)")?;
    for (term, kind, sort, client) in rows {
        insert.execute(params![term, kind, &*sort, client])?;
    }
    Ok(())
}

/// Notes a client whose words are rewritten later (`index_pending`), not in this transaction.
pub(crate) fn defer(conn: &Connection, client_id: Uuid) -> Result<()> {
    conn.prepare_cached("INSERT INTO search_pending (client_id) VALUES (?1) ON CONFLICT DO NOTHING")?
        .execute([client_id.to_string()])?;
    Ok(())
}

/// Rewrites the words of up to `at_most` of the clients noted by `defer`; returns how many it took
/// (0 when none waits).
pub(crate) fn index_pending(conn: &Connection, at_most: usize) -> Result<usize> {
    let ids = conn
        .prepare_cached("SELECT client_id FROM search_pending LIMIT ?1")?
        .query_map([at_most as i64], |r| crate::store::row::uuid(r, 0))?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    reindex(conn, &ids, Missing::Skipped)?;
    Ok(ids.len())
}

/// Whether any client's words wait to be rewritten.
pub(crate) fn has_pending(conn: &Connection) -> Result<bool> {
    Ok(conn.prepare_cached("SELECT EXISTS (SELECT 1 FROM search_pending)")?.query_row([], |r| r.get(0))?)
}

fn live_clients(conn: &Connection) -> Result<Vec<Uuid>> {
    let mut stmt = conn.prepare("SELECT id FROM client WHERE merged_into IS NULL ORDER BY search_rowid")?;
    let ids = stmt.query_map([], |r| crate::store::row::uuid(r, 0))?.collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(ids)
}

/// Whether the index has been built whole in this database.
pub(crate) fn is_built(conn: &Connection) -> Result<bool> {
    let done: Option<String> =
        conn.query_row("SELECT value FROM local_setting WHERE key = ?1", [BUILT], |r| r.get(0)).optional()?;
    Ok(done.as_deref() == Some(RULES))
}

/// Rebuilds the whole index, whatever it holds. Runs inside the caller's transaction.
pub(crate) fn rebuild(conn: &Connection) -> Result<()> {
    conn.execute("DELETE FROM search_term", [])?;
    conn.execute("DELETE FROM search_pending", [])?;
    for ids in live_clients(conn)?.chunks(1000) {
        reindex_clients(conn, ids)?;
    }
    conn.execute(
        "INSERT INTO local_setting (key, value) VALUES (?1, ?2) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        [BUILT, RULES],
    )?;
    Ok(())
}

/// Builds the index whole, once per database (the first open after the migration that made the
/// table); later opens find it built, and rewrite only the clients a pull left waiting (it stopped
/// before it ended). Runs inside the caller's transaction.
pub(crate) fn build_if_needed(conn: &Connection) -> Result<bool> {
    if is_built(conn)? {
        while index_pending(conn, 1000)? > 0 {}
        return Ok(false);
    }
    rebuild(conn)?;
    Ok(true)
}

/// How many rows of the index differ from what a rebuild would make: rows missing, rows too many
/// (a merged client's, or a client's who is gone). Compared client by client, so that only one
/// client's rows are in memory at a time.
pub(crate) fn differences(conn: &Connection) -> Result<u64> {
    let mut rows_of = conn.prepare("SELECT term, kind, sort FROM search_term WHERE client = ?1")?;
    let mut n = 0;
    let mut clients = conn.prepare("SELECT id FROM client ORDER BY search_rowid")?;
    let ids = clients.query_map([], |r| crate::store::row::uuid(r, 0))?.collect::<rusqlite::Result<Vec<_>>>()?;
    for id in ids {
        let Some(c) = Indexed::read(conn, id)? else { continue };
        let sort = c.sort_key();
        let expected: BTreeSet<(String, u8, String)> =
            c.terms().into_iter().map(|(t, k)| (t, k as u8, sort.clone())).collect();
        let actual = rows_of
            .query_map([c.rowid], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
            .collect::<rusqlite::Result<BTreeSet<(String, u8, String)>>>()?;
        n += expected.symmetric_difference(&actual).count() as u64;
    }
    // Rows of no client at all.
    let strays: i64 = conn.query_row(
        "SELECT count(*) FROM search_term WHERE client NOT IN (SELECT search_rowid FROM client)",
        [],
        |r| r.get(0),
    )?;
    Ok(n + strays as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_are_folded_and_split() {
        assert_eq!(fold("Zoë O'Brien-Åsa"), "zoeobrienasa");
        assert_eq!(fold("Søren Łukasz Straße Æsir"), "sorenlukaszstrasseaesir");
        assert_eq!(words("O'Brien-Åsa"), ["o", "brien", "asa", "obrienasa"]);
        assert_eq!(words("  Smith "), ["smith"]);
        assert_eq!(words("- ' "), Vec::<String>::new());
        assert_eq!(phone_digits("+44 (0)7700 900456"), "07700900456");
    }

    #[test]
    fn a_client_s_words_cover_what_reception_types() {
        let c = Indexed {
            id: Uuid::nil(),
            rowid: 1,
            title: "Mrs".into(),
            first_name: "Agatha".into(),
            last_name: "Quillfeather".into(),
            phones: ["07700 900461".into(), String::new()],
            postcode: "EX4 1AB".into(),
            email: "Agatha@Example.com".into(),
            animals: vec![("Biscuit".into(), "826098100004321".into())],
        };
        let terms: Vec<(String, Kind)> = c.terms().into_iter().collect();
        let of = |k: Kind| terms.iter().filter(|t| t.1 == k).map(|t| t.0.as_str()).collect::<Vec<_>>();
        assert_eq!(of(Kind::Surname), ["quillfeather"]);
        assert_eq!(of(Kind::Name), ["agatha", "mrs"]);
        assert_eq!(of(Kind::Phone), ["07700900461"]);
        assert_eq!(
            of(Kind::PhoneEnding),
            ["00461", "00900461", "0461", "0900461", "700900461", "7700900461", "900461"]
        );
        assert_eq!(of(Kind::Postcode), ["1ab", "ex4", "ex41ab"]);
        assert_eq!(of(Kind::Email), ["agathaexamplecom", "examplecom"]);
        assert_eq!(of(Kind::Animal), ["biscuit"]);
        assert_eq!(of(Kind::Microchip), ["826098100004321"]);
        assert_eq!(c.sort_key(), format!("quillfeather agatha {}", "0".repeat(32)));
    }
}
