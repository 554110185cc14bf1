//! Hand-over inside the group: one patient's record (owners, animal, clinical history with its
//! prescriptions) sent to another practice of the group, an out-of-hours site or a referral hospital.
//! The sending practice journals and audits what it sent, when, by whom and to whom; the receiving
//! practice gets the record as a hand-over marked received, read-only (its own records are untouched:
//! the animal is registered there only if a person does so).

use chrono::{DateTime, Utc};
use rusqlite::{params, Connection, OptionalExtension, Row};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use uuid::Uuid;

use crate::error::{Error, Result};
use crate::permission::Action;
use crate::session::Session;
use crate::store::database::Store;
use crate::store::row;
use crate::store::write::{ChangeKind, Entity, Fields, Write};
use crate::time;
use crate::validate;
use crate::views::history;

/// A hand-over, as the list shows it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Handover {
    pub id: Uuid,
    /// `sent` or `received`.
    pub direction: String,
    pub from_practice: Uuid,
    pub from_practice_name: String,
    pub to_practice: Uuid,
    pub to_practice_name: String,
    pub patient_id: Uuid,
    pub patient_name: String,
    pub species: String,
    pub note: String,
    pub at: DateTime<Utc>,
    /// The record as sent: `{ from_practice_name, to_practice_name, sent_by_name, record: { history } }`.
    #[cfg_attr(feature = "ts", ts(type = "Record<string, unknown>"))]
    pub body: Value,
}

const COLUMNS: &str = "id, direction, from_practice, to_practice, patient_id, note, at, body";

fn from_row(r: &Row<'_>) -> rusqlite::Result<Handover> {
    let body: Value = row::json(r, 7)?;
    let text = |path: &[&str]| {
        let mut v = &body;
        for p in path {
            v = &v[*p];
        }
        v.as_str().unwrap_or_default().to_string()
    };
    Ok(Handover {
        id: row::uuid(r, 0)?,
        direction: r.get(1)?,
        from_practice: row::uuid(r, 2)?,
        from_practice_name: text(&["from_practice_name"]),
        to_practice: row::uuid(r, 3)?,
        to_practice_name: text(&["to_practice_name"]),
        patient_id: row::uuid(r, 4)?,
        patient_name: text(&["record", "history", "patient", "name"]),
        species: text(&["record", "history", "patient", "species"]),
        note: r.get(5)?,
        at: row::time(r, 6)?,
        body,
    })
}

pub(crate) fn list(conn: &Connection) -> Result<Vec<Handover>> {
    let mut stmt = conn.prepare_cached(&format!("SELECT {COLUMNS} FROM handover ORDER BY at DESC, id LIMIT 500"))?;
    let rows = stmt.query_map([], from_row)?.collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(rows)
}

/// What a hand-over says besides the record itself.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct HandoverOut {
    pub id: Uuid,
    pub to_practice: Uuid,
    pub to_practice_name: String,
    pub patient_id: Uuid,
    pub note: String,
    /// The body built by `Store::handover_body`.
    pub body: Value,
}

/// The longest note a hand-over carries.
const NOTE_MAX: usize = 1000;

impl Write<'_> {
    /// Records a hand-over this practice sent (after the hub took it, or when it was written to a file).
    pub fn record_handover_sent(&mut self, h: &HandoverOut) -> Result<Handover> {
        self.authorize(Action::HandOver)?;
        let note = validate::optional_multiline("note", &h.note, NOTE_MAX)?;
        let from: String = self
            .tx()
            .query_row("SELECT id FROM practice", [], |r| r.get(0))
            .optional()?
            .ok_or_else(|| Error::NotFound("the practice".into()))?;
        let at = time::stored(self.now());
        let body = lifeboat_protocol::canonical::json(&h.body);
        self.tx().execute(
            "INSERT INTO handover (id, from_practice, to_practice, patient_id, direction, body, note, at)
             VALUES (?1, ?2, ?3, ?4, 'sent', ?5, ?6, ?7)",
            params![h.id.to_string(), from, h.to_practice.to_string(), h.patient_id.to_string(), body, note, at],
        )?;
        let fields = Fields::new()
            .with("from_practice", &from)
            .with("to_practice", h.to_practice)
            .with("patient_id", h.patient_id)
            .with("direction", "sent")
            .with("body", &h.body)
            .with("note", &note)
            .with("at", &at);
        self.record(Action::HandOver, Entity::Handover, h.id, ChangeKind::Create, fields)?;
        get(self.tx(), h.id)
    }
}

pub(crate) fn get(conn: &Connection, id: Uuid) -> Result<Handover> {
    conn.query_row(&format!("SELECT {COLUMNS} FROM handover WHERE id = ?1"), [id.to_string()], from_row)
        .optional()?
        .ok_or_else(|| Error::NotFound(format!("hand-over {id}")))
}

impl Store {
    /// The record to send for one patient: its owners, the animal, and its clinical history with
    /// every prescription (active ones show their remaining repeats and validity).
    /// `note` is checked here too, as it will be when the sending is recorded: a note that would be
    /// refused then must stop the record before it leaves, not after.
    pub fn handover_body(&self, session: &Session, patient: Uuid, to_practice_name: &str, note: &str) -> Result<Value> {
        self.refuse_in_drill("handing a record over to another practice")?;
        self.read_as(session, Action::HandOver, |_| Ok(()))?;
        let to = validate::required("to_practice_name", to_practice_name, 100)?;
        validate::optional_multiline("note", note, NOTE_MAX)?;
        self.read_as(session, Action::ViewClinical, |r| {
            let history = history::history(r, patient)?;
            let from: String = r.query_row("SELECT name FROM practice", [], |row| row.get(0))?;
            Ok(json!({
                "from_practice_name": from,
                "to_practice_name": to,
                "sent_by_name": session.display_name,
                "record": { "history": history },
            }))
        })
    }

    pub fn record_handover_sent(&self, session: &Session, h: &HandoverOut) -> Result<Handover> {
        self.refuse_in_drill("handing a record over to another practice")?;
        self.write(session, |w| w.record_handover_sent(h))
    }

    /// Hand-overs sent and received, newest first.
    pub fn handovers(&self, session: &Session) -> Result<Vec<Handover>> {
        self.read_as(session, Action::ViewClinical, |r| list(r))
    }

    pub fn handover(&self, session: &Session, id: Uuid) -> Result<Handover> {
        self.read_as(session, Action::ViewClinical, |r| get(r, id))
    }
}
