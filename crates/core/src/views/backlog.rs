//! The backlog: what the practice made or changed in Lifeboat since the outage began, which must be
//! entered into the PMS when it returns, counted by day, kind of record and clinician. Copies of PMS
//! records read in by an import are not backlog, nor are an import's own updates of them (told apart
//! by the audit log of this PC; a change received from another PC counts as made here); changes
//! made to them here are, and so is an owner added to an animal.

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, Utc};
use rusqlite::Connection;
use serde::{Deserialize, Serialize};

use crate::error::Result;
use crate::organisation::practice;
use crate::permission::Action;
use crate::session::Session;
use crate::store::database::Store;
use crate::time;

/// One day's records of one kind by one clinician (empty for records no clinician made, such as a
/// client registered at the desk).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct BacklogRow {
    pub day: NaiveDate,
    pub kind: String,
    pub clinician: String,
    /// Made since the outage began.
    pub created: u32,
    /// Made before and changed since.
    pub changed: u32,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Backlog {
    /// When the outage began; `None` until a manager records it (then nothing is counted).
    pub outage_began: Option<DateTime<Utc>>,
    /// By day (oldest first), kind, clinician.
    pub rows: Vec<BacklogRow>,
    /// Per kind: (kind, made, changed).
    pub totals: Vec<(String, u32, u32)>,
}

/// Each kind of record: its name as shown, the SQL giving (time made, time last changed or NULL for
/// records never changed, clinician's name, whether it was made here rather than copied from the PMS)
/// of those made or changed since ?1.
const KINDS: &[(&str, &str)] = &[
    (
        "Clients",
        "SELECT created_at, updated_at, NULL, origin = 'offline' FROM client WHERE updated_at >= ?1
           AND (origin = 'offline' OR EXISTS (SELECT 1 FROM journal j WHERE j.entity = 'client' AND j.entity_id = client.id AND j.kind = 'update'
              AND NOT EXISTS (SELECT 1 FROM audit x WHERE x.op_id = j.op_id AND x.action = 'records.import')))",
    ),
    (
        "Animals",
        "SELECT created_at, updated_at, NULL, origin = 'offline' FROM patient WHERE updated_at >= ?1
           AND (origin = 'offline' OR EXISTS (SELECT 1 FROM journal j WHERE j.entity = 'patient' AND j.entity_id = patient.id AND j.kind = 'update'
              AND NOT EXISTS (SELECT 1 FROM audit x WHERE x.op_id = j.op_id AND x.action = 'records.import')) OR EXISTS (SELECT 1 FROM ownership o
             JOIN journal j ON j.entity = 'ownership' AND j.entity_id = o.id
             WHERE o.patient_id = patient.id AND NOT EXISTS (SELECT 1 FROM audit x WHERE x.op_id = j.op_id AND x.action = 'records.import')
               AND o.created_at >= ?1))",
    ),
    (
        "Appointments",
        "SELECT a.created_at, a.updated_at, s.display_name, a.origin = 'offline' FROM appointment a JOIN staff s ON s.id = a.clinician_id
          WHERE a.updated_at >= ?1 AND (a.origin = 'offline' OR EXISTS (SELECT 1 FROM journal j WHERE j.entity = 'appointment' AND j.entity_id = a.id AND j.kind = 'update'
              AND NOT EXISTS (SELECT 1 FROM audit x WHERE x.op_id = j.op_id AND x.action = 'records.import')))",
    ),
    (
        "Consultations",
        "SELECT c.created_at, c.updated_at, s.display_name, 1 FROM consultation c JOIN staff s ON s.id = c.clinician_id
          WHERE c.updated_at >= ?1",
    ),
    (
        "Addenda",
        "SELECT a.written_at, NULL, s.display_name, 1 FROM addendum a JOIN staff s ON s.id = a.author_id WHERE a.written_at >= ?1",
    ),
    (
        "Prescriptions",
        "SELECT p.issued_at, NULL, s.display_name, 1 FROM prescription p JOIN staff s ON s.id = p.prescriber_id
          WHERE p.issued_at >= ?1",
    ),
    (
        "Dispensings",
        "SELECT d.dispensed_at, NULL, s.display_name, 1 FROM dispensing d JOIN staff s ON s.id = d.dispensed_by
          WHERE d.dispensed_at >= ?1",
    ),
    (
        "Controlled drugs register",
        "SELECT e.recorded_at, NULL, s.display_name, 1 FROM cd_entry e JOIN staff s ON s.id = e.recorded_by
          WHERE e.recorded_at >= ?1",
    ),
    (
        "Charges",
        "SELECT c.charged_at, NULL, s.display_name, 1 FROM charge c JOIN staff s ON s.id = c.charged_by WHERE c.charged_at >= ?1",
    ),
    (
        "Voided records",
        "SELECT v.voided_at, NULL, s.display_name, 1 FROM clinical_void v JOIN staff s ON s.id = v.voided_by
          WHERE v.voided_at >= ?1",
    ),
];

pub(crate) fn backlog(conn: &Connection) -> Result<Backlog> {
    let outage_began = practice::practice(conn)?.and_then(|p| p.outage_began);
    let Some(since) = outage_began else { return Ok(Backlog { outage_began, rows: Vec::new(), totals: Vec::new() }) };
    let since_text = time::stored(since);
    // (day, kind index, clinician) -> (made, changed)
    let mut counts: BTreeMap<(NaiveDate, usize, String), (u32, u32)> = BTreeMap::new();
    let mut totals = vec![(0u32, 0u32); KINDS.len()];
    for (k, (_, sql)) in KINDS.iter().enumerate() {
        let mut stmt = conn.prepare(sql)?;
        let mut rows = stmt.query([&since_text])?;
        while let Some(r) = rows.next()? {
            let made = time::parse_stored(&r.get::<_, String>(0)?)?;
            let changed: Option<String> = r.get(1)?;
            let clinician: Option<String> = r.get(2)?;
            let made_here: bool = r.get(3)?;
            let (when, is_new) = if made >= since && made_here {
                (made, true)
            } else {
                (time::parse_stored(changed.as_deref().unwrap_or_default())?, false)
            };
            let entry = counts.entry((time::local_date(when), k, clinician.unwrap_or_default())).or_default();
            if is_new {
                entry.0 += 1;
                totals[k].0 += 1;
            } else {
                entry.1 += 1;
                totals[k].1 += 1;
            }
        }
    }
    let rows = counts
        .into_iter()
        .map(|((day, k, clinician), (created, changed))| BacklogRow {
            day,
            kind: KINDS[k].0.to_string(),
            clinician,
            created,
            changed,
        })
        .collect();
    let totals = KINDS
        .iter()
        .zip(totals)
        .filter(|(_, t)| t.0 + t.1 > 0)
        .map(|((name, _), t)| (name.to_string(), t.0, t.1))
        .collect();
    Ok(Backlog { outage_began, rows, totals })
}

impl Store {
    /// The backlog since the outage began (managers).
    pub fn backlog(&self, session: &Session) -> Result<Backlog> {
        self.read_as(session, Action::ExportRecords, |r| backlog(r))
    }
}
