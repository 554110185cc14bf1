//! Duplicates: pairs of clients or animals that are probably one, found by what they share (a phone
//! number, an email address, a surname at one postcode, a microchip, a name much like the other's),
//! each with its reasons; and what a manager decides about a pair: the same (both records kept, as
//! they are; the pair is not suggested again), different (not suggested again), or merged.
//!
//! A merge keeps one record and marks the other merged into it (`merged_into`): the kept record takes
//! the other's details where its own are empty, its owners (or animals) and its bookings still to
//! come; the merged record is no longer found by search or listed, but stays, so its id and PMS
//! number still lead to the kept one. Clinical records are never moved or changed: those of a merged
//! animal are shown in the kept animal's history. Every step is an ordinary journaled, audited change
//! in one write.

use std::collections::{BTreeMap, HashMap};

use rusqlite::{params, Connection};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::error::{Error, Result};
use crate::permission::Action;
use crate::reception::client::{self, Client, NewClient};
use crate::reception::origin;
use crate::reception::patient::{self, Patient};
use crate::session::Session;
use crate::store::database::Store;
use crate::store::write::{ChangeKind, Entity, Fields, Write};
use crate::time;

/// One of a pair, as the manager sees it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct DuplicateSide {
    pub id: Uuid,
    pub name: String,
    /// Address and phone for a client; species, breed, microchip and owner for an animal.
    pub detail: String,
    pub pms_id: Option<String>,
    /// Made here during the outage rather than copied from the PMS.
    pub made_here: bool,
}

/// Two records that are probably one.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct DuplicatePair {
    /// "client" or "patient".
    pub kind: String,
    pub first: DuplicateSide,
    pub second: DuplicateSide,
    /// What they share, in words.
    pub reasons: Vec<String>,
}

/// What a person decided about a pair.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum Decision {
    /// One client or animal, but both records kept as they are (not suggested again).
    Same,
    /// Not one: not suggested again.
    Different,
    Merged,
}

impl Decision {
    pub fn as_str(self) -> &'static str {
        match self {
            Decision::Same => "same",
            Decision::Different => "different",
            Decision::Merged => "merged",
        }
    }
}

/// The pairs found, strongest first.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Duplicates {
    pub pairs: Vec<DuplicatePair>,
    /// Found in all (more than `pairs` when cut at the limit).
    pub found: u32,
    /// Pairs already decided on (not listed again).
    pub decided: u32,
}

/// How much each reason weighs when the pairs are ordered.
fn weight(reason: &str) -> u32 {
    if reason.starts_with("same microchip") || reason.starts_with("same email") {
        5
    } else if reason.starts_with("same phone") || reason.starts_with("same name") {
        3
    } else {
        2
    }
}

type Found = BTreeMap<(String, String), Vec<String>>;

fn add(found: &mut Found, a: String, b: String, reason: String) {
    if a == b {
        return;
    }
    let key = if a < b { (a, b) } else { (b, a) };
    let reasons = found.entry(key).or_default();
    if !reasons.contains(&reason) {
        reasons.push(reason);
    }
}

/// Each pair of ids the SQL gives (with the text its third column gives, put into `reason`).
fn pairs_from(conn: &Connection, found: &mut Found, sql: &str, reason: impl Fn(&str) -> String) -> Result<()> {
    let mut stmt = conn.prepare(sql)?;
    let mut rows = stmt.query([])?;
    while let Some(r) = rows.next()? {
        let shared: String = r.get(2)?;
        add(found, r.get(0)?, r.get(1)?, reason(&shared));
    }
    Ok(())
}

/// Names that differ by a slip of the keyboard ("Quillfeather" and "Quilfeather").
fn similar(a: &str, b: &str) -> bool {
    let (a, b) = (a.trim().to_lowercase(), b.trim().to_lowercase());
    !a.is_empty() && !b.is_empty() && a != b && strsim::jaro_winkler(&a, &b) >= 0.92
}

fn client_pairs(conn: &Connection) -> Result<Found> {
    let mut found = Found::new();
    const LIVE: &str =
        "a.merged_into IS NULL AND b.merged_into IS NULL AND a.purged_at IS NULL AND b.purged_at IS NULL";
    pairs_from(
        conn,
        &mut found,
        &format!(
            "SELECT a.id, b.id, a.phone FROM client a JOIN client b ON b.phone = a.phone AND b.id > a.id WHERE a.phone <> '' AND {LIVE}
             UNION SELECT a.id, b.id, a.phone FROM client a JOIN client b ON b.phone_alt = a.phone AND b.id <> a.id WHERE a.phone <> '' AND {LIVE}
             UNION SELECT a.id, b.id, a.phone_alt FROM client a JOIN client b ON b.phone_alt = a.phone_alt AND b.id > a.id WHERE a.phone_alt <> '' AND {LIVE}"
        ),
        |p| format!("same phone number {p}"),
    )?;
    pairs_from(
        conn,
        &mut found,
        &format!(
            "SELECT a.id, b.id, a.email FROM client a JOIN client b ON b.email = a.email COLLATE NOCASE AND b.id > a.id
             WHERE a.email <> '' AND {LIVE}"
        ),
        |e| format!("same email address {e}"),
    )?;
    pairs_from(
        conn,
        &mut found,
        &format!(
            "SELECT a.id, b.id, a.last_name || ', ' || a.postcode FROM client a JOIN client b
               ON b.postcode = a.postcode AND b.last_name = a.last_name COLLATE NOCASE AND b.id > a.id
             WHERE a.postcode <> '' AND a.last_name <> '' AND {LIVE}"
        ),
        |s| format!("same surname and postcode ({s})"),
    )?;
    // Names: the same full name anywhere, or a name much like another's at the same postcode.
    let mut stmt = conn.prepare(
        "SELECT id, first_name, last_name, postcode FROM client WHERE merged_into IS NULL AND purged_at IS NULL",
    )?;
    let rows: Vec<(String, String, String, String)> =
        stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))?.collect::<rusqlite::Result<_>>()?;
    let mut by_name: HashMap<String, Vec<usize>> = HashMap::new();
    let mut by_postcode: HashMap<&str, Vec<usize>> = HashMap::new();
    for (i, (_, first, last, postcode)) in rows.iter().enumerate() {
        if !first.trim().is_empty() && !last.trim().is_empty() {
            by_name.entry(format!("{} {}", first.trim(), last.trim()).to_lowercase()).or_default().push(i);
        }
        if !postcode.is_empty() {
            by_postcode.entry(postcode).or_default().push(i);
        }
    }
    for group in by_name.values().filter(|g| g.len() > 1 && g.len() <= 20) {
        for (x, &i) in group.iter().enumerate() {
            for &j in &group[x + 1..] {
                add(&mut found, rows[i].0.clone(), rows[j].0.clone(), format!("same name {} {}", rows[i].1, rows[i].2));
            }
        }
    }
    for group in by_postcode.values().filter(|g| g.len() > 1 && g.len() <= 200) {
        for (x, &i) in group.iter().enumerate() {
            for &j in &group[x + 1..] {
                let (a, b) = (&rows[i], &rows[j]);
                let first_alike = a.1.trim().to_lowercase() == b.1.trim().to_lowercase() || similar(&a.1, &b.1);
                if similar(&a.2, &b.2) && first_alike {
                    add(
                        &mut found,
                        a.0.clone(),
                        b.0.clone(),
                        format!("similar names at {}: {} {} and {} {}", a.3, a.1, a.2, b.1, b.2),
                    );
                }
            }
        }
    }
    Ok(found)
}

fn patient_pairs(conn: &Connection) -> Result<Found> {
    let mut found = Found::new();
    const LIVE: &str =
        "a.merged_into IS NULL AND b.merged_into IS NULL AND a.purged_at IS NULL AND b.purged_at IS NULL";
    pairs_from(
        conn,
        &mut found,
        &format!(
            "SELECT a.id, b.id, a.microchip FROM patient a JOIN patient b ON b.microchip = a.microchip AND b.id > a.id
             WHERE a.microchip IS NOT NULL AND {LIVE}"
        ),
        |m| format!("same microchip {m}"),
    )?;
    // Animals of one owner (or of owners with one phone number) with one species and names alike.
    let mut stmt = conn.prepare(&format!(
        "SELECT DISTINCT a.id, b.id, a.name, b.name FROM ownership oa
           JOIN client ca ON ca.id = oa.client_id
           JOIN client cb ON cb.id = ca.id OR (ca.phone <> '' AND cb.phone = ca.phone)
           JOIN ownership ob ON ob.client_id = cb.id
           JOIN patient a ON a.id = oa.patient_id JOIN patient b ON b.id = ob.patient_id
         WHERE b.id > a.id AND b.species = a.species AND (b.species <> 'other' OR b.species_other = a.species_other) AND {LIVE}"
    ))?;
    let mut rows = stmt.query([])?;
    while let Some(r) = rows.next()? {
        let (a, b, an, bn): (String, String, String, String) = (r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?);
        if an.trim().eq_ignore_ascii_case(bn.trim()) {
            add(&mut found, a, b, format!("same name {an}, same species and owner"));
        } else if similar(&an, &bn) {
            add(&mut found, a, b, format!("similar names {an} and {bn}, same species and owner"));
        }
    }
    Ok(found)
}

fn client_side(c: &Client) -> DuplicateSide {
    let name = [c.title.as_str(), c.first_name.as_str(), c.last_name.as_str()]
        .iter()
        .filter(|s| !s.is_empty())
        .cloned()
        .collect::<Vec<_>>()
        .join(" ");
    let detail = [c.address_line1.as_str(), c.postcode.as_str(), c.phone.as_str(), c.email.as_str()]
        .iter()
        .filter(|s| !s.is_empty())
        .cloned()
        .collect::<Vec<_>>()
        .join(", ");
    DuplicateSide {
        id: c.id,
        name,
        detail,
        pms_id: c.pms_id.clone(),
        made_here: c.origin == crate::reception::origin::Origin::Offline,
    }
}

fn patient_side(conn: &Connection, p: &Patient) -> Result<DuplicateSide> {
    let owner = match p.owner_ids.first() {
        Some(id) => {
            let c = client::get(conn, *id)?;
            format!("owner {} {}", c.first_name, c.last_name).trim().to_string()
        }
        None => String::new(),
    };
    let species = if p.species == patient::Species::Other { p.species_other.clone() } else { p.species.label().into() };
    let detail = [species, p.breed.clone(), p.microchip.clone().unwrap_or_default(), owner]
        .into_iter()
        .filter(|s| !s.is_empty())
        .collect::<Vec<_>>()
        .join(", ");
    Ok(DuplicateSide {
        id: p.id,
        name: p.name.clone(),
        detail,
        pms_id: p.pms_id.clone(),
        made_here: p.origin == crate::reception::origin::Origin::Offline,
    })
}

/// The latest decision on each pair of `kind`.
fn decisions(conn: &Connection, kind: &str) -> Result<HashMap<(String, String), String>> {
    let mut stmt = conn.prepare_cached(
        "SELECT first_id, second_id, decision FROM duplicate_decision WHERE kind = ?1 ORDER BY decided_at, id",
    )?;
    let mut rows = stmt.query([kind])?;
    let mut out = HashMap::new();
    while let Some(r) = rows.next()? {
        out.insert((r.get(0)?, r.get(1)?), r.get(2)?);
    }
    Ok(out)
}

pub(crate) fn duplicates(conn: &Connection, limit: usize) -> Result<Duplicates> {
    let mut scored = Vec::new();
    let mut decided = 0;
    for (kind, found) in [("client", client_pairs(conn)?), ("patient", patient_pairs(conn)?)] {
        let settled = decisions(conn, kind)?;
        for (pair, reasons) in found {
            if settled.contains_key(&pair) {
                decided += 1;
                continue;
            }
            let score: u32 = reasons.iter().map(|r| weight(r)).sum();
            scored.push((score, kind, pair, reasons));
        }
    }
    scored.sort_by(|a, b| b.0.cmp(&a.0).then_with(|| a.2.cmp(&b.2)));
    let found = scored.len() as u32;
    let mut pairs = Vec::new();
    for (_, kind, (a, b), reasons) in scored.into_iter().take(limit) {
        let id = |s: &str| Uuid::parse_str(s).map_err(|_| Error::DamagedRecord(format!("{kind} id {s:?}")));
        let (first, second) = if kind == "client" {
            (client_side(&client::get(conn, id(&a)?)?), client_side(&client::get(conn, id(&b)?)?))
        } else {
            (patient_side(conn, &patient::get(conn, id(&a)?)?)?, patient_side(conn, &patient::get(conn, id(&b)?)?)?)
        };
        pairs.push(DuplicatePair { kind: kind.to_string(), first, second, reasons });
    }
    Ok(Duplicates { pairs, found, decided })
}

/// An empty text takes the other's.
fn fill(mine: &str, theirs: &str) -> String {
    if mine.trim().is_empty() {
        theirs.to_string()
    } else {
        mine.to_string()
    }
}

fn merged_note(mine: &str, theirs: &str, what: &str) -> String {
    if theirs.trim().is_empty() || mine.contains(theirs.trim()) {
        mine.to_string()
    } else if mine.trim().is_empty() {
        format!("From the merged {what}: {}", theirs.trim())
    } else {
        format!("{}\nFrom the merged {what}: {}", mine.trim_end(), theirs.trim())
    }
}

impl Write<'_> {
    fn decide_pair(&mut self, kind: &str, a: Uuid, b: Uuid, decision: Decision) -> Result<()> {
        let (first, second) = if a.to_string() < b.to_string() { (a, b) } else { (b, a) };
        let id = self.new_id();
        let at = time::stored(self.now());
        let by = self.actor().id;
        self.tx().execute(
            "INSERT INTO duplicate_decision (id, kind, first_id, second_id, decision, decided_by, decided_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            params![id.to_string(), kind, first.to_string(), second.to_string(), decision.as_str(), by.to_string(), at],
        )?;
        let fields = Fields::new()
            .with("kind", kind)
            .with("first_id", first)
            .with("second_id", second)
            .with("decision", decision.as_str())
            .with("decided_by", by)
            .with("decided_at", &at);
        self.record(Action::MergeRecords, Entity::DuplicateDecision, id, ChangeKind::Create, fields)
    }

    /// Records that two clients (`kind` "client") or animals ("patient") are the same (both kept,
    /// linked) or different (not suggested again).
    pub fn decide_duplicates(&mut self, kind: &str, a: Uuid, b: Uuid, decision: Decision) -> Result<()> {
        self.authorize(Action::MergeRecords)?;
        if a == b {
            return Err(Error::invalid("second", "is the same record as the first"));
        }
        match kind {
            "client" => {
                client::get(self.tx(), a)?;
                client::get(self.tx(), b)?;
            }
            "patient" => {
                patient::get(self.tx(), a)?;
                patient::get(self.tx(), b)?;
            }
            other => return Err(Error::invalid("kind", format!("{other:?} is not client or patient"))),
        }
        if decision == Decision::Merged {
            return Err(Error::invalid("decision", "a merge is made by merging"));
        }
        self.decide_pair(kind, a, b, decision)
    }

    /// Moves the bookings still to come of `from` (a client or animal, `column`) to `to`.
    fn move_bookings(&mut self, column: &str, from: Uuid, to: Uuid) -> Result<u32> {
        let now = time::stored(self.now());
        let ids: Vec<String> = self
            .tx()
            .prepare(&format!(
                "SELECT id FROM appointment WHERE {column} = ?1 AND starts_at >= ?2 AND status IN ('booked', 'arrived')"
            ))?
            .query_map(params![from.to_string(), now], |r| r.get(0))?
            .collect::<rusqlite::Result<_>>()?;
        for id in &ids {
            self.tx().execute(
                &format!("UPDATE appointment SET {column} = ?2, updated_at = ?3 WHERE id = ?1"),
                params![id, to.to_string(), now],
            )?;
            let uuid = Uuid::parse_str(id).map_err(|_| Error::DamagedRecord(format!("appointment id {id:?}")))?;
            self.record(
                Action::MergeRecords,
                Entity::Appointment,
                uuid,
                ChangeKind::Update,
                Fields::new().with(column, to),
            )?;
        }
        Ok(ids.len() as u32)
    }

    fn mark_merged(&mut self, entity: Entity, table: &str, merged: Uuid, into: Uuid) -> Result<()> {
        // Records merged into the one merged now point at the kept one: one step, never a chain.
        let earlier: Vec<String> = self
            .tx()
            .prepare(&format!("SELECT id FROM {table} WHERE merged_into = ?1"))?
            .query_map([merged.to_string()], |r| r.get(0))?
            .collect::<rusqlite::Result<_>>()?;
        for id in earlier {
            self.tx().execute(
                &format!("UPDATE {table} SET merged_into = ?2 WHERE id = ?1"),
                params![id, into.to_string()],
            )?;
            let uuid = Uuid::parse_str(&id).map_err(|_| Error::DamagedRecord(format!("{table} id {id:?}")))?;
            self.record(
                Action::MergeRecords,
                entity,
                uuid,
                ChangeKind::Update,
                Fields::new().with("merged_into", into),
            )?;
        }
        self.tx().execute(
            &format!("UPDATE {table} SET merged_into = ?2, updated_at = ?3 WHERE id = ?1"),
            params![merged.to_string(), into.to_string(), time::stored(self.now())],
        )?;
        self.record(Action::MergeRecords, entity, merged, ChangeKind::Update, Fields::new().with("merged_into", into))
    }

    /// Merges client `merge` into client `keep`. See the module documentation.
    pub fn merge_clients(&mut self, keep: Uuid, merge: Uuid) -> Result<Client> {
        self.authorize(Action::MergeRecords)?;
        if keep == merge {
            return Err(Error::invalid("merge", "is the client to keep: choose the other record"));
        }
        let (k, m) = (client::get(self.tx(), keep)?, client::get(self.tx(), merge)?);
        for c in [&k, &m] {
            if let Some(into) = c.merged_into {
                return Err(Error::Conflict(format!(
                    "{} {} was merged into another record ({into}) already",
                    c.first_name, c.last_name
                )));
            }
        }
        // The kept client takes the other's details where its own are empty (an address as a whole).
        let no_address = k.address_line1.is_empty() && k.town.is_empty() && k.postcode.is_empty();
        let (a1, a2, town, postcode) = if no_address {
            (m.address_line1.clone(), m.address_line2.clone(), m.town.clone(), m.postcode.clone())
        } else {
            (k.address_line1.clone(), k.address_line2.clone(), k.town.clone(), k.postcode.clone())
        };
        let mut phone_alt = fill(&k.phone_alt, &m.phone_alt);
        if phone_alt.is_empty() && !m.phone.is_empty() && m.phone != k.phone {
            phone_alt = m.phone.clone();
        }
        let new = NewClient {
            title: fill(&k.title, &m.title),
            first_name: fill(&k.first_name, &m.first_name),
            last_name: k.last_name.clone(),
            address_line1: a1,
            address_line2: a2,
            town,
            postcode,
            phone: fill(&k.phone, &m.phone),
            phone_alt,
            email: fill(&k.email, &m.email),
            consent_email: k.consent_email,
            consent_sms: k.consent_sms,
            notes: merged_note(&k.notes, &m.notes, "client"),
        };
        let valid = new.validated()?;
        client::update(self, Action::MergeRecords, keep, &valid)?;
        for p in patient::of_client(self.tx(), merge)? {
            if !p.owner_ids.contains(&keep) {
                patient::add_owner(self, Action::MergeRecords, keep, p.id)?;
            }
        }
        self.move_bookings("client_id", merge, keep)?;
        self.mark_merged(Entity::Client, "client", merge, keep)?;
        self.decide_pair("client", keep, merge, Decision::Merged)?;
        crate::store::search_index::reindex_client(self.tx(), merge)?;
        client::get(self.tx(), keep)
    }

    /// Merges animal `merge` into animal `keep` (of one species). See the module documentation.
    pub fn merge_patients(&mut self, keep: Uuid, merge: Uuid) -> Result<Patient> {
        self.authorize(Action::MergeRecords)?;
        if keep == merge {
            return Err(Error::invalid("merge", "is the animal to keep: choose the other record"));
        }
        let (k, m) = (patient::get(self.tx(), keep)?, patient::get(self.tx(), merge)?);
        for p in [&k, &m] {
            if let Some(into) = p.merged_into {
                return Err(Error::Conflict(format!("{} was merged into another record ({into}) already", p.name)));
            }
        }
        if k.deceased_on.is_some() != m.deceased_on.is_some() {
            let (dead, alive) = if k.deceased_on.is_some() { (&k, &m) } else { (&m, &k) };
            return Err(Error::invalid(
                "merge",
                format!(
                    "{} is recorded as deceased and {} is not: two animals, or a death to record first; they are not merged",
                    dead.name, alive.name
                ),
            ));
        }
        if k.species != m.species || k.species_other != m.species_other {
            return Err(Error::invalid(
                "merge",
                format!(
                    "{} is a {} and {} a {}: only records of one animal are merged",
                    k.name,
                    k.species.label(),
                    m.name,
                    m.species.label()
                ),
            ));
        }
        let mut fields = Fields::new();
        let mut sets: Vec<(&str, rusqlite::types::Value)> = Vec::new();
        use rusqlite::types::Value as Sql;
        let text = |s: &str| Sql::Text(s.to_string());
        if k.breed.is_empty() && !m.breed.is_empty() {
            fields.put("breed", &m.breed);
            sets.push(("breed", text(&m.breed)));
        }
        if k.colour.is_empty() && !m.colour.is_empty() {
            fields.put("colour", &m.colour);
            sets.push(("colour", text(&m.colour)));
        }
        if k.date_of_birth.is_none() {
            if let Some(born) = m.date_of_birth {
                let born = born.format("%Y-%m-%d").to_string();
                fields.put("date_of_birth", &born);
                fields.put("dob_estimated", m.dob_estimated);
                sets.push(("date_of_birth", text(&born)));
                sets.push(("dob_estimated", Sql::Integer(m.dob_estimated as i64)));
            }
        }
        if k.sex == patient::Sex::Unknown && m.sex != patient::Sex::Unknown {
            fields.put("sex", m.sex.as_str());
            sets.push(("sex", text(m.sex.as_str())));
        }
        if m.neutered && !k.neutered {
            fields.put("neutered", true);
            sets.push(("neutered", Sql::Integer(1)));
        }
        let mut alerts = k.alerts.clone();
        for a in &m.alerts {
            if !alerts.iter().any(|x| x.eq_ignore_ascii_case(a)) {
                alerts.push(a.clone());
            }
        }
        if alerts != k.alerts {
            let json = serde_json::to_string(&alerts).map_err(|e| Error::Internal(format!("alerts: {e}")))?;
            fields.put("alerts", &json);
            sets.push(("alerts", Sql::Text(json)));
        }
        let notes = merged_note(&k.notes, &m.notes, "animal");
        if notes != k.notes {
            fields.put("notes", &notes);
            sets.push(("notes", Sql::Text(notes)));
        }
        // One animal, one microchip holder: the number moves to the kept record.
        if k.microchip.is_none() {
            if let Some(chip) = &m.microchip {
                self.tx().execute(
                    "UPDATE patient SET microchip = NULL, updated_at = ?2 WHERE id = ?1",
                    params![merge.to_string(), time::stored(self.now())],
                )?;
                self.record(
                    Action::MergeRecords,
                    Entity::Patient,
                    merge,
                    ChangeKind::Update,
                    Fields::new().with("microchip", None::<String>),
                )?;
                fields.put("microchip", chip);
                sets.push(("microchip", text(chip)));
            }
        }
        if !sets.is_empty() {
            let assignments: Vec<String> =
                sets.iter().enumerate().map(|(i, (c, _))| format!("{c} = ?{}", i + 3)).collect();
            let mut values: Vec<Sql> = vec![Sql::Text(keep.to_string()), Sql::Text(time::stored(self.now()))];
            values.extend(sets.into_iter().map(|(_, v)| v));
            self.tx().execute(
                &format!("UPDATE patient SET {}, updated_at = ?2 WHERE id = ?1", assignments.join(", ")),
                rusqlite::params_from_iter(values),
            )?;
            self.record(Action::MergeRecords, Entity::Patient, keep, ChangeKind::Update, fields)?;
        }
        for owner in &m.owner_ids {
            if !k.owner_ids.contains(owner) {
                patient::add_owner(self, Action::MergeRecords, *owner, keep)?;
            }
        }
        self.move_bookings("patient_id", merge, keep)?;
        self.mark_merged(Entity::Patient, "patient", merge, keep)?;
        self.decide_pair("patient", keep, merge, Decision::Merged)?;
        for owner in k.owner_ids.iter().chain(&m.owner_ids) {
            crate::store::search_index::reindex_client(self.tx(), *owner)?;
        }
        patient::get(self.tx(), keep)
    }
}

impl Store {
    /// Pairs of clients and animals that are probably one (managers), at most `limit`.
    pub fn duplicates(&self, session: &Session, limit: u32) -> Result<Duplicates> {
        self.read_as(session, Action::MergeRecords, |r| duplicates(r, limit.clamp(1, 2000) as usize))
    }

    pub fn decide_duplicates(&self, session: &Session, kind: &str, a: Uuid, b: Uuid, decision: Decision) -> Result<()> {
        self.write(session, |w| w.decide_duplicates(kind, a, b, decision))
    }

    pub fn merge_clients(&self, session: &Session, keep: Uuid, merge: Uuid) -> Result<Client> {
        self.write(session, |w| w.merge_clients(keep, merge))
    }

    pub fn merge_patients(&self, session: &Session, keep: Uuid, merge: Uuid) -> Result<Patient> {
        self.write(session, |w| w.merge_patients(keep, merge))
    }

    /// The client a (possibly merged) client id stands for now.
    pub fn current_client_id(&self, session: &Session, id: Uuid) -> Result<Uuid> {
        self.read_as(session, Action::ViewRecords, |r| origin::current(r, "client", id))
    }

    /// The animal a (possibly merged) animal id stands for now.
    pub fn current_patient_id(&self, session: &Session, id: Uuid) -> Result<Uuid> {
        self.read_as(session, Action::ViewRecords, |r| origin::current(r, "patient", id))
    }
}
