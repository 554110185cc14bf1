//! Settling a conflict: a person's choice, recorded as a change of its own (synced like any other).
//! What the choice needs done to the records (cancelling one of two bookings, keeping one of two
//! values) is done by the ordinary operations, in the same write.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::error::{Error, Result};
use crate::permission::Action;
use crate::reception::appointment::{self, AppointmentMove, AppointmentStatus};
use crate::reception::client::{self, NewClient};
use crate::replica::conflicts::{self, Conflict};
use crate::replica::inbox;
use crate::session::Session;
use crate::store::database::Store;
use crate::store::write::{ChangeKind, Entity, Fields, Write};
use crate::time;
use crate::validate;

/// What a person chose for a conflict.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(tag = "choice", rename_all = "snake_case")]
pub enum Resolution {
    /// Both stand as they are (two bookings that may overlap; two different clients).
    KeepBoth,
    /// Cancel this one of two double bookings.
    CancelAppointment { appointment_id: Uuid },
    /// Two records of the same client or animal: noted, to be merged by a manager.
    SameRecord,
    /// Keep the current value of a field changed two ways, or the signed text of a consultation.
    KeepCurrent,
    /// Take the other version of a field changed two ways.
    UseOther,
    /// Set a client's field changed two ways to this value (the two combined).
    SetValue { value: String },
}

impl Resolution {
    fn choice(&self) -> &'static str {
        match self {
            Resolution::KeepBoth => "keep_both",
            Resolution::CancelAppointment { .. } => "cancel_appointment",
            Resolution::SameRecord => "same_record",
            Resolution::KeepCurrent => "keep_current",
            Resolution::UseOther => "use_other",
            Resolution::SetValue { .. } => "set_value",
        }
    }
}

impl Write<'_> {
    pub fn resolve_conflict(&mut self, id: Uuid, resolution: &Resolution, note: &str) -> Result<Conflict> {
        self.authorize(Action::ResolveConflicts)?;
        let note = validate::optional_multiline("note", note, 500)?;
        let conflict = conflicts::get(self.tx(), id)?;
        if conflict.resolved_at.is_some() {
            return Err(Error::Conflict("this conflict has already been resolved".into()));
        }
        match resolution {
            Resolution::CancelAppointment { appointment_id } => {
                if conflict.kind != "double_booking" || !conflict.members.contains(appointment_id) {
                    return Err(Error::invalid("appointment_id", "is not one of this conflict's bookings"));
                }
                self.set_appointment_status(*appointment_id, AppointmentStatus::Cancelled)?;
            }
            Resolution::UseOther => {
                if conflict.kind != "concurrent_edit" {
                    return Err(Error::invalid("choice", "only a field changed two ways has another version to take"));
                }
                let view = inbox::view(self.tx(), conflict.clone())?;
                let field = view.field.clone().unwrap_or_default();
                let other = view.sides.iter().find(|s| !s.current).map(|s| s.id);
                let change = match other {
                    Some(op) => inbox::change(self.tx(), op)?,
                    None => None,
                };
                let change =
                    change.ok_or_else(|| Error::invalid("choice", "the other version is not on this computer"))?;
                // Only while the record still holds one of the two versions: a later change since
                // stands (take it up with whoever made it).
                let current = current_value(self.tx(), &conflict.entity, change.entity_id, &field)?;
                let values: Vec<String> =
                    view.sides.iter().filter_map(|s| s.fields.first().map(|f| f.1.clone())).collect();
                if !values.contains(&current) {
                    return Err(Error::Conflict(format!(
                        "the {} was changed again since, to {current}; keep what it holds now",
                        inbox::label(&field).to_lowercase()
                    )));
                }
                self.set_field(&conflict.entity, change.entity_id, &field, &change.payload)?;
            }
            Resolution::SetValue { value } => {
                if conflict.kind != "concurrent_edit" || conflict.entity != "client" {
                    return Err(Error::invalid(
                        "choice",
                        "only a client's detail changed two ways takes a combined value",
                    ));
                }
                let view = inbox::view(self.tx(), conflict.clone())?;
                let field = view.field.clone().unwrap_or_default();
                let first = view.sides.first().map(|s| s.id).unwrap_or_default();
                let record = inbox::change(self.tx(), first)?.map(|c| c.entity_id).unwrap_or_default();
                let value = validate::required("value", value, 200)?;
                self.set_field("client", record, &field, &serde_json::json!({ field.clone(): value }))?;
            }
            Resolution::SameRecord if !conflict.kind.starts_with("duplicate") => {
                return Err(Error::invalid("choice", "only a duplicate registration is the same record"));
            }
            _ => {}
        }
        let resolved_at = time::stored(self.now());
        let members: Vec<String> = conflict.members.iter().map(|m| m.to_string()).collect();
        let fields = Fields::new()
            .with("kind", &conflict.kind)
            .with("entity", &conflict.entity)
            .with("members", &members)
            .with("detail", &conflict.detail)
            .with("choice", resolution.choice())
            .with("note", &note)
            .with("resolved_at", &resolved_at);
        let map = fields.clone_map();
        conflicts::mark_resolved(self.tx(), id, &map, &resolved_at)?;
        self.record(Action::ResolveConflicts, Entity::Resolution, id, ChangeKind::Create, fields)?;
        Ok(Conflict {
            resolved_at: Some(resolved_at),
            resolved_by: Some(self.actor().id),
            resolution: Some(serde_json::json!({ "choice": resolution.choice(), "note": note })),
            ..conflict
        })
    }

    /// Sets `field` of a record to its value in `values`, through the ordinary operation for it.
    fn set_field(&mut self, entity: &str, id: Uuid, field: &str, values: &serde_json::Value) -> Result<()> {
        let text = |f: &str| values.get(f).and_then(serde_json::Value::as_str).map(str::to_string);
        match entity {
            "client" => {
                let current = client::get(self.tx(), id)?;
                let mut details = NewClient {
                    title: current.title,
                    first_name: current.first_name,
                    last_name: current.last_name,
                    address_line1: current.address_line1,
                    address_line2: current.address_line2,
                    town: current.town,
                    postcode: current.postcode,
                    phone: current.phone,
                    phone_alt: current.phone_alt,
                    email: current.email,
                    consent_email: current.consent_email,
                    consent_sms: current.consent_sms,
                    notes: current.notes,
                };
                let value = text(field).unwrap_or_default();
                match field {
                    "phone" => details.phone = value,
                    "phone_alt" => details.phone_alt = value,
                    "email" => details.email = value,
                    "address_line1" => details.address_line1 = value,
                    "postcode" => details.postcode = value,
                    other => return Err(Error::invalid("choice", format!("{other} is not a client's detail"))),
                }
                match self.update_client(id, &details) {
                    Err(Error::Invalid { field, .. }) if field == "details" => Ok(()),
                    other => other.map(|_| ()),
                }
            }
            "appointment" if field == "status" => {
                let to = text("status")
                    .and_then(|s| AppointmentStatus::parse(&s))
                    .ok_or_else(|| Error::invalid("choice", "the other status is not known"))?;
                match self.set_appointment_status(id, to) {
                    Err(Error::Conflict(_)) if appointment::get(self.tx(), id)?.status == to => Ok(()),
                    other => other.map(|_| ()),
                }
            }
            "appointment" => {
                let current = appointment::get(self.tx(), id)?;
                let parse = |f: &str| text(f).and_then(|t| time::parse_stored(&t).ok());
                let starts = parse("starts_at").unwrap_or(current.starts_at);
                let ends = parse("ends_at").unwrap_or(current.ends_at);
                let clinician =
                    text("clinician_id").and_then(|t| Uuid::parse_str(&t).ok()).unwrap_or(current.clinician_id);
                let to = AppointmentMove {
                    clinician_id: clinician,
                    room: text("room").unwrap_or(current.room),
                    start: time::to_local(starts),
                    minutes: (ends - starts).num_minutes().clamp(1, 24 * 60) as u32,
                    confirm_outside_hours: true,
                };
                self.move_appointment(id, &to).map(|_| ())
            }
            other => Err(Error::invalid("choice", format!("a {other} changed two ways is kept as it is"))),
        }
    }
}

/// A record's field as the inbox writes it.
fn current_value(conn: &rusqlite::Connection, entity: &str, id: Uuid, field: &str) -> Result<String> {
    let table = match entity {
        "client" => "client",
        "appointment" => "appointment",
        other => return Err(Error::invalid("choice", format!("a {other} changed two ways is kept as it is"))),
    };
    let columns =
        ["phone", "phone_alt", "email", "address_line1", "postcode", "starts_at", "ends_at", "clinician_id", "status"];
    if !columns.contains(&field) {
        return Err(Error::invalid("choice", format!("{field} is not a field the inbox settles")));
    }
    let value: Option<String> =
        conn.query_row(&format!("SELECT {field} FROM {table} WHERE id = ?1"), [id.to_string()], |r| r.get(0))?;
    Ok(match value {
        None => "(empty)".into(),
        Some(v) if v.is_empty() => "(empty)".into(),
        Some(v) => v,
    })
}

impl Store {
    pub fn resolve_conflict(
        &self,
        session: &Session,
        id: Uuid,
        resolution: &Resolution,
        note: &str,
    ) -> Result<Conflict> {
        self.write(session, |w| w.resolve_conflict(id, resolution, note))
    }
}
