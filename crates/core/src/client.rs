//! Clients (animal owners): who they are and how to reach them.

use chrono::{DateTime, Utc};
use rusqlite::{params, Connection, OptionalExtension, Row};
use serde::{Deserialize, Serialize};
use serde_json::Map;
use uuid::Uuid;

use crate::error::{Error, Result};
use crate::permission::Action;
use crate::practice::parse_id;
use crate::search;
use crate::session::Session;
use crate::store::Store;
use crate::time;
use crate::validate;
use crate::write::{field, ChangeKind, Entity, Mutation, Write};

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
    pub created_at: DateTime<Utc>,
}

impl Client {
    /// "Mrs J. Smith" style, for lists and the day book.
    pub fn short_name(&self) -> String {
        short_name(&self.title, &self.first_name, &self.last_name)
    }
}

pub(crate) fn short_name(title: &str, first: &str, last: &str) -> String {
    let initial = first.chars().next().map(|c| format!("{c}. ")).unwrap_or_default();
    let title = if title.is_empty() { String::new() } else { format!("{title} ") };
    format!("{title}{initial}{last}")
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

impl NewClient {
    /// Checks and normalises every field; errors name the field.
    pub fn validated(&self) -> Result<NewClient> {
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
        if client.phone.is_empty() && client.phone_alt.is_empty() && client.email.is_empty() {
            return Err(Error::invalid(
                "phone",
                "give a telephone number or an email address, so the practice can reach them",
            ));
        }
        if client.consent_email && client.email.is_empty() {
            return Err(Error::invalid("email", "is needed for consent to email"));
        }
        Ok(client)
    }
}

const COLUMNS: &str = "id, title, first_name, last_name, address_line1, address_line2, town, postcode, phone, phone_alt, email, consent_email, consent_sms, notes, created_at";

pub(crate) fn from_row(r: &Row<'_>) -> rusqlite::Result<Client> {
    let id: String = r.get(0)?;
    let created: String = r.get(14)?;
    Ok(Client {
        id: Uuid::parse_str(&id).unwrap_or_default(),
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
        created_at: time::parse_stored(&created).unwrap_or_default(),
    })
}

pub fn get(conn: &Connection, id: Uuid) -> Result<Client> {
    conn.query_row(&format!("SELECT {COLUMNS} FROM client WHERE id = ?1"), [id.to_string()], from_row)
        .optional()?
        .ok_or_else(|| Error::NotFound(format!("client {id}")))
}

/// Inserts an already validated client and indexes it. For callers inside a write (the generator
/// batches many in one); `Store::register_client` is the usual way in.
pub fn insert(w: &mut Write<'_>, c: &NewClient) -> Result<Uuid> {
    let id = w.new_id();
    let now = time::stored(w.now());
    w.tx().execute(
        &format!(
            "INSERT INTO client ({COLUMNS}, updated_at, search_rowid) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?15,
             (SELECT coalesce(max(search_rowid), 0) + 1 FROM client))"
        ),
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
            now
        ],
    )?;
    let mut fields = Map::new();
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
        field(&mut fields, name, value);
    }
    field(&mut fields, "consent_email", c.consent_email);
    field(&mut fields, "consent_sms", c.consent_sms);
    w.record(Mutation { entity: Entity::Client, entity_id: id, kind: ChangeKind::Create, fields });
    search::reindex_client(w.tx(), id)?;
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
pub fn likely_duplicates(conn: &Connection, probe: &NewClient) -> Result<Vec<LikelyDuplicate>> {
    let norm = |f: fn(&str, &str) -> Result<String>, v: &str| f("probe", v).ok();
    let phones: Vec<String> =
        [&probe.phone, &probe.phone_alt].iter().filter_map(|p| norm(validate::uk_phone, p)).collect();
    let email = norm(validate::email, &probe.email);
    let postcode = norm(validate::postcode, &probe.postcode);
    let last_name = probe.last_name.trim();
    let mut stmt = conn.prepare(
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
                r.get::<_, String>(0)?,
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
        let (id, name, last, pc, phone, phone_alt, mail) = row?;
        let reason = if phones.iter().any(|p| *p == phone || *p == phone_alt) {
            "same phone number"
        } else if email.as_deref() == Some(mail.as_str()) {
            "same email address"
        } else if last.eq_ignore_ascii_case(last_name) && postcode.as_deref() == Some(pc.as_str()) {
            "same surname and postcode"
        } else {
            continue;
        };
        found.push(LikelyDuplicate { client_id: parse_id(&id)?, name, postcode: pc, phone, reason: reason.into() });
    }
    Ok(found)
}

/// Everything the client page shows.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct ClientRecord {
    pub client: Client,
    pub patients: Vec<crate::patient::Patient>,
    /// Newest first.
    pub appointments: Vec<crate::appointment::Appointment>,
}

impl Store {
    pub fn client_record(&self, session: &Session, id: Uuid) -> Result<ClientRecord> {
        let appointments = self.appointments_of_client(session, id)?;
        self.read(|c| {
            Ok(ClientRecord { client: get(c, id)?, patients: crate::patient::of_client(c, id)?, appointments })
        })
    }

    pub fn register_client(&self, session: &Session, new: &NewClient) -> Result<Client> {
        let new = new.validated()?;
        self.write(session, Action::RegisterClient, |w| {
            let id = insert(w, &new)?;
            get(w.tx(), id)
        })
    }

    pub fn client(&self, session: &Session, id: Uuid) -> Result<Client> {
        self.authorize_read(session, Action::ViewRecords)?;
        self.read(|c| get(c, id))
    }

    pub fn likely_duplicate_clients(&self, session: &Session, probe: &NewClient) -> Result<Vec<LikelyDuplicate>> {
        self.authorize_read(session, Action::ViewRecords)?;
        self.read(|c| likely_duplicates(c, probe))
    }
}
