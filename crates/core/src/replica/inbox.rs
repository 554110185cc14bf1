//! The conflicts inbox: each conflict with its two versions side by side, field by field, who made
//! each and when, and the choices a person has.

use chrono::{DateTime, Utc};
use lifeboat_protocol::Change;
use rusqlite::{params, Connection, OptionalExtension};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use uuid::Uuid;

use crate::error::Result;
use crate::organisation::staff;
use crate::permission::Action;
use crate::reception::appointment;
use crate::reception::client;
use crate::reception::patient;
use crate::replica::conflicts::Conflict;
use crate::session::Session;
use crate::store::database::Store;
use crate::time;

/// One version in a conflict.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct ConflictSide {
    /// The record (a booking, a client, an animal) or the change this side is.
    pub id: Uuid,
    pub title: String,
    /// (label, value), in the same order on both sides.
    pub fields: Vec<(String, String)>,
    pub made_by: String,
    pub made_at: Option<DateTime<Utc>>,
    /// Whether this version is what the record holds now (for a field changed two ways).
    pub current: bool,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct ConflictView {
    pub conflict: Conflict,
    /// In words: "Double booking", ...
    pub title: String,
    pub sides: Vec<ConflictSide>,
    /// For a field changed two ways: the field.
    pub field: Option<String>,
}

fn who_and_when(conn: &Connection, entity: &str, id: Uuid) -> Result<(String, Option<DateTime<Utc>>)> {
    let found: Option<(String, i64)> = conn
        .query_row(
            "SELECT actor_id, hlc FROM journal WHERE entity = ?1 AND entity_id = ?2 AND kind = 'create' ORDER BY seq LIMIT 1",
            params![entity, id.to_string()],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?;
    Ok(match found {
        Some((actor, hlc)) => (name_of(conn, &actor), at_of(hlc)),
        None => (String::new(), None),
    })
}

fn name_of(conn: &Connection, actor: &str) -> String {
    Uuid::parse_str(actor)
        .ok()
        .and_then(|id| staff::get(conn, id).ok())
        .map(|s| s.display_name)
        .unwrap_or_else(|| "someone at another practice".into())
}

fn at_of(hlc: i64) -> Option<DateTime<Utc>> {
    DateTime::from_timestamp_millis((hlc.max(0) as u64 >> 16) as i64)
}

fn local(t: DateTime<Utc>) -> String {
    time::to_local(t).format("%a %-d %b %Y %H:%M").to_string()
}

pub(crate) fn change(conn: &Connection, op: Uuid) -> Result<Option<Change>> {
    let seq: Option<i64> =
        conn.query_row("SELECT seq FROM journal WHERE op_id = ?1", [op.to_string()], |r| r.get(0)).optional()?;
    match seq {
        Some(seq) => Ok(crate::store::journal::since(conn, seq - 1, 1)?.pop().map(|e| e.change)),
        None => Ok(None),
    }
}

fn text(v: Option<&Value>) -> String {
    match v {
        None | Some(Value::Null) => "(empty)".into(),
        Some(Value::String(s)) if s.is_empty() => "(empty)".into(),
        Some(Value::String(s)) => s.clone(),
        Some(other) => other.to_string(),
    }
}

/// Field names as a person reads them.
pub fn label(field: &str) -> String {
    match field {
        "phone" => "Phone".into(),
        "phone_alt" => "Other phone".into(),
        "email" => "Email".into(),
        "address_line1" => "Address".into(),
        "postcode" => "Postcode".into(),
        "starts_at" => "Starts".into(),
        "ends_at" => "Ends".into(),
        "clinician_id" => "Clinician".into(),
        "status" => "Status".into(),
        "subjective" => "Subjective".into(),
        "objective" => "Objective".into(),
        "assessment" => "Assessment".into(),
        "plan" => "Plan".into(),
        other => other.replace('_', " "),
    }
}

pub(crate) fn view(conn: &Connection, c: Conflict) -> Result<ConflictView> {
    let mut sides = Vec::new();
    let mut field = None;
    let title = match c.kind.as_str() {
        "double_booking" => {
            for id in &c.members {
                let Ok(a) = appointment::get(conn, *id) else { continue };
                let (made_by, made_at) = who_and_when(conn, "appointment", *id)?;
                sides.push(ConflictSide {
                    id: *id,
                    title: format!("Booked by {made_by}"),
                    fields: vec![
                        (
                            "When".into(),
                            format!("{} to {}", local(a.starts_at), time::to_local(a.ends_at).format("%H:%M")),
                        ),
                        ("Clinician".into(), a.clinician_name.clone()),
                        ("Animal".into(), a.patient_name.clone()),
                        ("Owner".into(), a.client_name.clone()),
                        ("Reason".into(), a.reason.clone()),
                        ("Room".into(), a.room.clone()),
                        ("Status".into(), a.status.label().to_string()),
                    ],
                    made_by,
                    made_at,
                    current: true,
                });
            }
            "Double booking"
        }
        "duplicate_client" => {
            for id in &c.members {
                let Ok(cl) = client::get(conn, *id) else { continue };
                let (made_by, made_at) = who_and_when(conn, "client", *id)?;
                sides.push(ConflictSide {
                    id: *id,
                    title: format!("Registered by {made_by}"),
                    fields: vec![
                        ("Name".into(), cl.full_name()),
                        ("Phone".into(), cl.phone.clone()),
                        ("Other phone".into(), cl.phone_alt.clone()),
                        ("Email".into(), cl.email.clone()),
                        ("Address".into(), cl.address()),
                    ],
                    made_by,
                    made_at,
                    current: true,
                });
            }
            "The same client registered twice"
        }
        "duplicate_patient" => {
            for id in &c.members {
                let Ok(p) = patient::get(conn, *id) else { continue };
                let (made_by, made_at) = who_and_when(conn, "patient", *id)?;
                let owners =
                    patient::owner_clients(conn, &p)?.iter().map(|o| o.full_name()).collect::<Vec<_>>().join(", ");
                sides.push(ConflictSide {
                    id: *id,
                    title: format!("Registered by {made_by}"),
                    fields: vec![
                        ("Name".into(), p.name.clone()),
                        ("Species".into(), p.species_label()),
                        ("Breed".into(), p.breed.clone()),
                        ("Microchip".into(), p.microchip.clone().unwrap_or_default()),
                        ("Owners".into(), owners),
                    ],
                    made_by,
                    made_at,
                    current: true,
                });
            }
            "The same animal registered twice"
        }
        "concurrent_edit" => {
            let name = c.detail.split(' ').next().unwrap_or_default().to_string();
            let changes: Vec<Change> = c.members.iter().filter_map(|m| change(conn, *m).ok().flatten()).collect();
            let current = changes
                .iter()
                .filter(|ch| ch.payload.get(&name).is_some())
                .max_by_key(|ch| (ch.hlc, ch.node_id))
                .map(|ch| ch.op_id);
            for ch in &changes {
                sides.push(ConflictSide {
                    id: ch.op_id,
                    title: format!("Changed by {}", name_of(conn, &ch.actor_id.to_string())),
                    fields: vec![(label(&name), text(ch.payload.get(&name)))],
                    made_by: name_of(conn, &ch.actor_id.to_string()),
                    made_at: at_of(ch.hlc),
                    current: Some(ch.op_id) == current,
                });
            }
            field = Some(name);
            "Changed two ways at once"
        }
        _ => {
            for m in &c.members {
                let Some(ch) = change(conn, *m)? else { continue };
                let signed = ch.payload.get("signed_at").is_some();
                let fields = ["subjective", "objective", "assessment", "plan"]
                    .iter()
                    .filter(|f| ch.payload.get(**f).is_some())
                    .map(|f| (label(f), text(ch.payload.get(*f))))
                    .collect();
                sides.push(ConflictSide {
                    id: ch.op_id,
                    title: if signed { "As signed".into() } else { "Changed on another computer".into() },
                    fields,
                    made_by: name_of(conn, &ch.actor_id.to_string()),
                    made_at: at_of(ch.hlc),
                    current: signed,
                });
            }
            "A consultation changed while it was being signed"
        }
    };
    Ok(ConflictView { conflict: c, title: title.into(), sides, field })
}

impl Store {
    /// The conflicts inbox (open ones, or all), each with its versions side by side.
    pub fn conflict_inbox(&self, session: &Session, open_only: bool) -> Result<Vec<ConflictView>> {
        let list = self.conflicts(session, open_only)?;
        self.read_as(session, Action::ViewRecords, |r| list.into_iter().map(|c| view(r, c)).collect())
    }
}
