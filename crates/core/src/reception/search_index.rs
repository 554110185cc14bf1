//! The search index: one row per client in the FTS5 table `client_search` (trigram tokenizer), holding
//! the client's names and their patients' names, phone digits, postcodes (with and without the space),
//! email and the patients' microchips. Rows are rewritten in the same transaction as the records they
//! index; reading the index is `views::search`.

use rusqlite::{params, Connection, OptionalExtension};
use uuid::Uuid;

use crate::error::{Error, Result};

pub(crate) fn digits(text: &str) -> String {
    text.chars().filter(|c| c.is_ascii_digit()).collect()
}

/// Rewrites the client's search row from the client and the patients they own.
pub(crate) fn reindex_client(conn: &Connection, client_id: Uuid) -> Result<()> {
    let row = conn
        .prepare_cached(
            "SELECT search_rowid, title, first_name, last_name, phone, phone_alt, postcode, email FROM client WHERE id = ?1",
        )?
        .query_row([client_id.to_string()], |r| {
            Ok((r.get::<_, i64>(0)?, (1..8).map(|i| r.get::<_, String>(i)).collect::<rusqlite::Result<Vec<_>>>()?))
        })
        .optional()?;
    let Some((rowid, f)) = row else { return Err(Error::NotFound(format!("client {client_id}"))) };
    let mut stmt = conn.prepare_cached(
        "SELECT p.name, coalesce(p.microchip, '') FROM patient p JOIN ownership o ON o.patient_id = p.id
         WHERE o.client_id = ?1 AND p.merged_into IS NULL",
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
    conn.prepare_cached("DELETE FROM client_search WHERE rowid = ?1")?.execute([rowid])?;
    conn.prepare_cached("INSERT INTO client_search (rowid, names, contact) VALUES (?1, ?2, ?3)")?
        .execute(params![rowid, names, contact])?;
    Ok(())
}
