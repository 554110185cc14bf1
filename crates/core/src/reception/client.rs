//! Clients (animal owners): who they are and how to reach them.

use chrono::{DateTime, Utc};
use rusqlite::{params, Connection, OptionalExtension, Row};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::error::{Error, Result};
use crate::permission::Action;
use crate::reception::origin::{self, Imported, Origin};
use crate::session::Session;
use crate::store::database::Store;
use crate::store::row;
use crate::store::search_index;
use crate::store::write::{ChangeKind, Entity, Fields, Write};
use crate::time;
use crate::validate;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Client {
    pub id: Uuid,
    pub title: String,
    pub first_name: String,
    pub last_name: String,
    pub address_line1: String,
    pub address_line2: String,
    pub town: String,
    pub postcode: String,
    pub phone: String,
    pub phone_alt: String,
    pub email: String,
    pub consent_email: bool,
    pub consent_sms: bool,
    pub notes: String,
    /// Made here, or read in from the PMS (with its number there).
    pub origin: Origin,
    pub pms_id: Option<String>,
    pub created_at: DateTime<Utc>,
    /// Merged into this client (a duplicate): shown with it, and found as it.
    pub merged_into: Option<Uuid>,
}

impl Client {
    /// "Mrs J. Smith" style, for lists and the day book.
    pub fn short_name(&self) -> String {
        short_name(&self.title, &self.first_name, &self.last_name)
    }

    /// "Mrs Agatha Quillfeather", as on a prescription.
    pub fn full_name(&self) -> String {
        [self.title.as_str(), self.first_name.as_str(), self.last_name.as_str()]
            .into_iter()
            .filter(|s| !s.is_empty())
            .collect::<Vec<_>>()
            .join(" ")
    }

    /// The postal address on one line; empty when none is recorded.
    pub fn address(&self) -> String {
        let street = [self.address_line1.as_str(), self.address_line2.as_str(), self.town.as_str()]
            .into_iter()
            .filter(|s| !s.is_empty())
            .collect::<Vec<_>>()
            .join(", ");
        match (street.is_empty(), self.postcode.is_empty()) {
            (true, _) => self.postcode.clone(),
            (false, true) => street,
            (false, false) => format!("{street} {}", self.postcode),
        }
    }

    /// A street address and a postcode: what a prescription and a controlled-drug supply need.
    pub fn has_postal_address(&self) -> bool {
        !self.address_line1.is_empty() && !self.postcode.is_empty()
    }
}

pub(crate) fn short_name(title: &str, first: &str, last: &str) -> String {
    let mut name = String::with_capacity(title.len() + last.len() + 8);
    if !title.is_empty() {
        name.push_str(title);
        name.push(' ');
    }
    if let Some(initial) = first.chars().next() {
        name.push(initial);
        name.push_str(". ");
    }
    name.push_str(last);
    name
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct NewClient {
    pub title: String,
    pub first_name: String,
    pub last_name: String,
    pub address_line1: String,
    pub address_line2: String,
    pub town: String,
    pub postcode: String,
    pub phone: String,
    pub phone_alt: String,
    pub email: String,
    pub consent_email: bool,
    pub consent_sms: bool,
    pub notes: String,
}

/// A checked `NewClient`; only `NewClient::validated` makes one.
pub(crate) struct ValidClient(NewClient);

impl NewClient {
    /// Checks and normalises every field; errors name the field.
    pub(crate) fn validated(&self) -> Result<ValidClient> {
        self.checked(true)
    }

    /// The details as an import will store them (postcode and phone numbers in their usual form),
    /// or why they would be refused.
    pub(crate) fn import_checked(&self) -> Result<NewClient> {
        Ok(self.checked(false)?.0)
    }

    /// `validated`, where a registration at the desk must give a way to reach the client
    /// (`need_contact`); a copy of a PMS record is taken as the PMS holds it.
    fn checked(&self, need_contact: bool) -> Result<ValidClient> {
        let optional_with = |name: &str, value: &str, f: fn(&str, &str) -> Result<String>| {
            if value.trim().is_empty() {
                Ok(String::new())
            } else {
                f(name, value)
            }
        };
        let client = NewClient {
            title: validate::optional("title", &self.title, 20)?,
            first_name: validate::optional("first_name", &self.first_name, 60)?,
            last_name: validate::required("last_name", &self.last_name, 60)?,
            address_line1: validate::optional("address_line1", &self.address_line1, 100)?,
            address_line2: validate::optional("address_line2", &self.address_line2, 100)?,
            town: validate::optional("town", &self.town, 60)?,
            postcode: optional_with("postcode", &self.postcode, validate::postcode)?,
            phone: optional_with("phone", &self.phone, validate::uk_phone)?,
            phone_alt: optional_with("phone_alt", &self.phone_alt, validate::uk_phone)?,
            email: optional_with("email", &self.email, validate::email)?,
            consent_email: self.consent_email,
            consent_sms: self.consent_sms,
            notes: validate::optional_multiline("notes", &self.notes, 2000)?,
        };
        if need_contact && client.phone.is_empty() && client.phone_alt.is_empty() && client.email.is_empty() {
            return Err(Error::invalid(
                "phone",
                "give a telephone number or an email address, so the practice can reach them",
            ));
        }
        if client.consent_email && client.email.is_empty() {
            return Err(Error::invalid("email", "is needed for consent to email"));
        }
        Ok(ValidClient(client))
    }
}

const COLUMNS: &str = "id, title, first_name, last_name, address_line1, address_line2, town, postcode, phone, phone_alt, email, consent_email, consent_sms, notes, origin, pms_id, created_at";
/// What is read back: the columns written, and the record it was merged into.
const READ: &str = "merged_into";

fn from_row(r: &Row<'_>) -> rusqlite::Result<Client> {
    Ok(Client {
        id: row::uuid(r, 0)?,
        title: r.get(1)?,
        first_name: r.get(2)?,
        last_name: r.get(3)?,
        address_line1: r.get(4)?,
        address_line2: r.get(5)?,
        town: r.get(6)?,
        postcode: r.get(7)?,
        phone: r.get(8)?,
        phone_alt: r.get(9)?,
        email: r.get(10)?,
        consent_email: r.get(11)?,
        consent_sms: r.get(12)?,
        notes: r.get(13)?,
        origin: row::word(r, 14, Origin::parse)?,
        pms_id: r.get(15)?,
        created_at: row::time(r, 16)?,
        merged_into: row::opt_uuid(r, 17)?,
    })
}

pub(crate) fn get(conn: &Connection, id: Uuid) -> Result<Client> {
    conn.prepare_cached(&format!("SELECT {COLUMNS}, {READ} FROM client WHERE id = ?1"))?
        .query_row([id.to_string()], from_row)
        .optional()?
        .ok_or_else(|| Error::NotFound(format!("client {id}")))
}

/// Inserts a validated client and indexes it; `pms_id` is set for a copy of a PMS record.
fn insert(w: &mut Write<'_>, action: Action, c: &ValidClient, pms_id: Option<&str>) -> Result<Uuid> {
    let c = &c.0;
    let id = w.new_id();
    let now = time::stored(w.now());
    let origin = if pms_id.is_some() { Origin::Pms } else { Origin::Offline };
    w.tx().prepare_cached(
        &format!(
            "INSERT INTO client ({COLUMNS}, updated_at, search_rowid) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?17,
             (SELECT coalesce(max(search_rowid), 0) + 1 FROM client))"
        ),
    )?
    .execute(
        params![
            id.to_string(),
            c.title,
            c.first_name,
            c.last_name,
            c.address_line1,
            c.address_line2,
            c.town,
            c.postcode,
            c.phone,
            c.phone_alt,
            c.email,
            c.consent_email,
            c.consent_sms,
            c.notes,
            origin.as_str(),
            pms_id,
            now
        ],
    )?;
    // A client registered here takes the next number of this PC's block (a copy of a PMS record has
    // the PMS's number).
    let number = match pms_id {
        None => {
            crate::organisation::numbers::next(w.tx(), crate::organisation::numbers::NumberKind::Client, w.node_id())?
        }
        Some(_) => None,
    };
    if let Some(n) = number {
        w.tx().execute("UPDATE client SET number = ?2 WHERE id = ?1", params![id.to_string(), n])?;
    }
    let mut fields = Fields::new();
    if let Some(n) = number {
        fields.put("number", n);
    }
    for (name, value) in [
        ("title", &c.title),
        ("first_name", &c.first_name),
        ("last_name", &c.last_name),
        ("address_line1", &c.address_line1),
        ("address_line2", &c.address_line2),
        ("town", &c.town),
        ("postcode", &c.postcode),
        ("phone", &c.phone),
        ("phone_alt", &c.phone_alt),
        ("email", &c.email),
        ("notes", &c.notes),
    ] {
        fields.put(name, value);
    }
    fields.put("consent_email", c.consent_email);
    fields.put("consent_sms", c.consent_sms);
    if let Some(pms_id) = pms_id {
        fields.put("origin", origin.as_str());
        fields.put("pms_id", pms_id);
    }
    w.record(action, Entity::Client, id, ChangeKind::Create, fields)?;
    search_index::reindex_client(w.tx(), id)?;
    Ok(id)
}

/// A client already on file who may be the same person as the one being registered.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct LikelyDuplicate {
    pub client_id: Uuid,
    pub name: String,
    pub postcode: String,
    pub phone: String,
    /// What matched, in words: "same phone number", "same surname and postcode", ...
    pub reason: String,
}

/// Clients who share a phone number or email with `probe`, or its surname and postcode. Fields of
/// the probe that are not (yet) valid are ignored, so this can run while a person types.
pub(crate) fn likely_duplicates(conn: &Connection, probe: &NewClient) -> Result<Vec<LikelyDuplicate>> {
    let norm = |f: fn(&str, &str) -> Result<String>, v: &str| f("probe", v).ok();
    let phones: Vec<String> =
        [&probe.phone, &probe.phone_alt].iter().filter_map(|p| norm(validate::uk_phone, p)).collect();
    let email = norm(validate::email, &probe.email);
    let postcode = norm(validate::postcode, &probe.postcode);
    let last_name = probe.last_name.trim();
    let mut stmt = conn.prepare_cached(
        "SELECT id, title, first_name, last_name, postcode, phone, phone_alt, email FROM client
         WHERE phone IN (?1, ?2) OR phone_alt IN (?1, ?2) OR email = ?3
            OR (postcode = ?4 AND last_name = ?5 COLLATE NOCASE)
         LIMIT 10",
    )?;
    let p1 = phones.first().cloned().unwrap_or_else(|| "-".into());
    let p2 = phones.get(1).cloned().unwrap_or_else(|| p1.clone());
    let rows = stmt.query_map(
        params![
            p1,
            p2,
            email.clone().unwrap_or_else(|| "-".into()),
            postcode.clone().unwrap_or_else(|| "-".into()),
            last_name
        ],
        |r| {
            Ok((
                row::uuid(r, 0)?,
                short_name(&r.get::<_, String>(1)?, &r.get::<_, String>(2)?, &r.get::<_, String>(3)?),
                r.get::<_, String>(3)?,
                r.get::<_, String>(4)?,
                r.get::<_, String>(5)?,
                r.get::<_, String>(6)?,
                r.get::<_, String>(7)?,
            ))
        },
    )?;
    let mut found = Vec::new();
    for row in rows {
        let (client_id, name, last, pc, phone, phone_alt, mail) = row?;
        let reason = if phones.iter().any(|p| *p == phone || *p == phone_alt) {
            "same phone number"
        } else if email.as_deref() == Some(mail.as_str()) {
            "same email address"
        } else if last.eq_ignore_ascii_case(last_name) && postcode.as_deref() == Some(pc.as_str()) {
            "same surname and postcode"
        } else {
            continue;
        };
        found.push(LikelyDuplicate { client_id, name, postcode: pc, phone, reason: reason.into() });
    }
    Ok(found)
}

impl Write<'_> {
    pub fn register_client(&mut self, new: &NewClient) -> Result<Client> {
        self.authorize(Action::RegisterClient)?;
        let valid = new.validated()?;
        let id = insert(self, Action::RegisterClient, &valid, None)?;
        get(self.tx(), id)
    }

    /// Changes a client's details to `details` (the whole form, as the edit screen holds it); only
    /// the fields that differ are written and journaled.
    pub fn update_client(&mut self, id: Uuid, details: &NewClient) -> Result<Client> {
        self.authorize(Action::EditClient)?;
        let new = details.validated()?;
        if !update(self, Action::EditClient, id, &new)? {
            return Err(Error::invalid("details", "change nothing"));
        }
        get(self.tx(), id)
    }

    /// Reads in a client as the PMS holds it, under PMS number `pms_id`: added if no record has that
    /// number, brought up to date if one has and was not changed in Lifeboat since.
    pub fn import_client(&mut self, pms_id: &str, details: &NewClient) -> Result<Imported> {
        self.authorize(Action::ImportRecords)?;
        let pms_id = validate::required("pms_id", pms_id, 40)?;
        let new = details.checked(false)?;
        Ok(match origin::find(self.tx(), "client", &pms_id)? {
            None => Imported::Added(insert(self, Action::ImportRecords, &new, Some(&pms_id))?),
            Some(id) if origin::changed_since_made(self.tx(), "client", id)? => {
                if differs(&get(self.tx(), id)?, &new.0) {
                    Imported::KeptLocal(id)
                } else {
                    Imported::Unchanged(id)
                }
            }
            Some(id) => match update(self, Action::ImportRecords, id, &new)? {
                true => Imported::Updated(id),
                false => Imported::Unchanged(id),
            },
        })
    }
}

/// The editable fields of a client and their new values, as (name, old, new).
fn editable<'a>(current: &'a Client, new: &'a NewClient) -> [(&'static str, &'a String, &'a String); 11] {
    [
        ("title", &current.title, &new.title),
        ("first_name", &current.first_name, &new.first_name),
        ("last_name", &current.last_name, &new.last_name),
        ("address_line1", &current.address_line1, &new.address_line1),
        ("address_line2", &current.address_line2, &new.address_line2),
        ("town", &current.town, &new.town),
        ("postcode", &current.postcode, &new.postcode),
        ("phone", &current.phone, &new.phone),
        ("phone_alt", &current.phone_alt, &new.phone_alt),
        ("email", &current.email, &new.email),
        ("notes", &current.notes, &new.notes),
    ]
}

fn differs(current: &Client, new: &NewClient) -> bool {
    editable(current, new).iter().any(|(_, old, value)| old != value)
        || current.consent_email != new.consent_email
        || current.consent_sms != new.consent_sms
}

/// Writes the fields of `new` that differ from the stored client, journaled under `action`, and
/// reindexes it; false when nothing differed (and nothing was written).
pub(crate) fn update(w: &mut Write<'_>, action: Action, id: Uuid, new: &ValidClient) -> Result<bool> {
    let current = get(w.tx(), id)?;
    let new = &new.0;
    let mut fields = Fields::new();
    for (name, old, value) in editable(&current, new) {
        if old != value {
            fields.put(name, value);
        }
    }
    for (name, old, value) in [
        ("consent_email", current.consent_email, new.consent_email),
        ("consent_sms", current.consent_sms, new.consent_sms),
    ] {
        if old != value {
            fields.put(name, value);
        }
    }
    if fields.is_empty() {
        return Ok(false);
    }
    w.tx().execute(
        "UPDATE client SET title = ?2, first_name = ?3, last_name = ?4, address_line1 = ?5, address_line2 = ?6, town = ?7,
         postcode = ?8, phone = ?9, phone_alt = ?10, email = ?11, consent_email = ?12, consent_sms = ?13, notes = ?14,
         updated_at = ?15 WHERE id = ?1",
        params![
            id.to_string(),
            new.title,
            new.first_name,
            new.last_name,
            new.address_line1,
            new.address_line2,
            new.town,
            new.postcode,
            new.phone,
            new.phone_alt,
            new.email,
            new.consent_email,
            new.consent_sms,
            new.notes,
            time::stored(w.now())
        ],
    )?;
    w.record(action, Entity::Client, id, ChangeKind::Update, fields)?;
    search_index::reindex_client(w.tx(), id)?;
    Ok(true)
}

impl Store {
    pub fn register_client(&self, session: &Session, new: &NewClient) -> Result<Client> {
        self.write(session, |w| w.register_client(new))
    }

    pub fn update_client(&self, session: &Session, id: Uuid, details: &NewClient) -> Result<Client> {
        self.write(session, |w| w.update_client(id, details))
    }

    pub fn client(&self, session: &Session, id: Uuid) -> Result<Client> {
        self.read_as(session, Action::ViewRecords, |r| get(r, id))
    }

    pub fn likely_duplicate_clients(&self, session: &Session, probe: &NewClient) -> Result<Vec<LikelyDuplicate>> {
        self.read_as(session, Action::ViewRecords, |r| likely_duplicates(r, probe))
    }
}
