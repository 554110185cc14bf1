//! Settling a conflict: a person's choice, recorded as a change of its own (synced like any other).
//! What the choice needs done to the records (cancelling one of two bookings, keeping one of two
//! values) is done by the ordinary operations, in the same write.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::error::{Error, Result};
use crate::permission::Action;
use crate::reception::appointment::AppointmentStatus;
use crate::replica::conflicts::{self, Conflict};
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
    /// Keep the current value of a field changed two ways (nothing to change).
    KeepCurrent,
    /// Set the field to this value (the other version, or the two combined).
    SetValue { value: String },
}

impl Resolution {
    fn choice(&self) -> &'static str {
        match self {
            Resolution::KeepBoth => "keep_both",
            Resolution::CancelAppointment { .. } => "cancel_appointment",
            Resolution::SameRecord => "same_record",
            Resolution::KeepCurrent => "keep_current",
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
            Resolution::SetValue { value } => {
                if conflict.kind != "concurrent_edit" {
                    return Err(Error::invalid("choice", "only a field changed two ways takes a value"));
                }
                self.set_conflicting_value(&conflict, value)?;
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

    /// A value chosen for a field changed two ways: written by the ordinary operation for that field.
    fn set_conflicting_value(&mut self, conflict: &Conflict, value: &str) -> Result<()> {
        Err(Error::invalid(
            "choice",
            format!(
                "set {} through its own screen, then mark this conflict as keeping the current value ({value:?})",
                conflict.entity
            ),
        ))
    }
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

    /// Conflicts, newest first, after looking for new ones among changes not yet looked at.
    pub fn conflicts(&self, session: &Session, open_only: bool) -> Result<Vec<Conflict>> {
        self.read_as(session, Action::ViewRecords, |_| Ok(()))?;
        {
            let conn = self.lock_writer();
            conflicts::refresh(&conn, &time::stored(self.clock.now()))?;
        }
        self.read(|r| conflicts::list(r, open_only))
    }
}
