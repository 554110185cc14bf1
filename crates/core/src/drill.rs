//! Drills: a manager practises the outage plan on a copy of the practice's data. The copy is a
//! database of its own (`Store::copy_for_drill`), marked as a drill, with nothing in it that could
//! reach another PC; while it runs the desktop works on it, shows DRILL on every screen and prints
//! DRILL on every page. Staff work through timed tasks (book, consult, prescribe, take payment, hand
//! over); the report says when each was first done, by whom, how long it took against the minutes
//! the manager set, and what was missed. The report is kept in this PC's list of drills (never synced),
//! and the copy is deleted when the drill ends: it holds the practice's data.
//!
//! A drill's copy refuses sync, bundles, exports and hand-overs (`Store::refuse_in_drill`), so
//! nothing made in a drill leaves the PC or mixes with real records, whoever opens it.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use chrono::{DateTime, Utc};
use rusqlite::{params, OptionalExtension, Row};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use uuid::Uuid;

use crate::error::{Error, Result};
use crate::permission::Action;
use crate::session::Session;
use crate::store::clock::Clock;
use crate::store::database::{Read, Store, StoreConfig};
use crate::store::row;
use crate::time;

/// What a drill's copy is opened under, wherever it is opened, so that it keeps its own node id.
const FINGERPRINT: &str = "drill";
/// The longest a task may be given: a working day.
const MAX_MINUTES: u32 = 480;

/// A task staff practise in a drill.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub enum DrillTask {
    /// Book an appointment.
    Book,
    /// Record a consultation and sign it.
    Consult,
    /// Prescribe a medicine.
    Prescribe,
    /// Take a payment or a deposit (an agreement to pay later is not one).
    TakePayment,
    /// Hand the backlog over to the PMS: mark a record entered there.
    HandOver,
}

impl DrillTask {
    pub const ALL: [DrillTask; 5] =
        [DrillTask::Book, DrillTask::Consult, DrillTask::Prescribe, DrillTask::TakePayment, DrillTask::HandOver];

    pub fn label(self) -> &'static str {
        match self {
            DrillTask::Book => "Book an appointment",
            DrillTask::Consult => "Record and sign a consultation",
            DrillTask::Prescribe => "Prescribe a medicine",
            DrillTask::TakePayment => "Take a payment",
            DrillTask::HandOver => "Hand over to the PMS: mark a record entered",
        }
    }

    /// The minutes a practice that knows its plan should need.
    pub fn default_minutes(self) -> u32 {
        match self {
            DrillTask::Book => 5,
            DrillTask::Consult => 15,
            DrillTask::Prescribe => 10,
            DrillTask::TakePayment => 5,
            DrillTask::HandOver => 10,
        }
    }

    /// Whether a change in the drill's journal, made under `action`, does this task (if what it made
    /// still stands: see `stands`).
    fn done_by(self, entity: &str, kind: &str, action: &str, payload: &Value) -> bool {
        match self {
            // Booked at the desk, not brought in by an import.
            DrillTask::Book => {
                entity == "appointment" && kind == "create" && action == Action::BookAppointment.as_str()
            }
            DrillTask::Consult => entity == "consultation" && payload["signed_at"].is_string(),
            DrillTask::Prescribe => entity == "prescription" && kind == "create",
            DrillTask::TakePayment => {
                entity == "payment" && kind == "create" && payload["method"].as_str() != Some("pay_later")
            }
            DrillTask::HandOver => entity == "ledger_mark" && payload["stage"].as_str() == Some("entered"),
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct PlannedTask {
    pub task: DrillTask,
    /// The minutes from the start of the drill it should be done in.
    pub minutes: u32,
}

/// A drill's plan, as the manager sets it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct DrillPlan {
    pub tasks: Vec<PlannedTask>,
}

impl DrillPlan {
    /// Every task, with its usual minutes.
    pub fn standard() -> DrillPlan {
        DrillPlan {
            tasks: DrillTask::ALL.iter().map(|&task| PlannedTask { task, minutes: task.default_minutes() }).collect(),
        }
    }

    fn validate(&self) -> Result<()> {
        if self.tasks.is_empty() {
            return Err(Error::invalid("tasks", "choose at least one task for the drill"));
        }
        let mut seen = BTreeSet::new();
        for (i, t) in self.tasks.iter().enumerate() {
            if !seen.insert(t.task) {
                return Err(Error::invalid(format!("tasks.{i}"), format!("{} is in the plan twice", t.task.label())));
            }
            if t.minutes == 0 || t.minutes > MAX_MINUTES {
                return Err(Error::invalid(
                    format!("tasks.{i}.minutes"),
                    format!("give {} between 1 and {MAX_MINUTES} minutes", t.task.label()),
                ));
            }
        }
        Ok(())
    }
}

/// How a task stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub enum Outcome {
    /// Done within its minutes.
    InTime,
    /// Done, but after its minutes.
    Late,
    /// Not done yet, and its minutes are not up (the drill is running).
    Waiting,
    /// Not done, and its minutes are up (the drill is running).
    Overdue,
    /// Not done by the end of the drill.
    Missed,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct TaskResult {
    pub task: DrillTask,
    pub label: String,
    pub minutes: u32,
    /// When it was first done, how long after the start, and by whom.
    pub done_at: Option<DateTime<Utc>>,
    pub seconds: Option<i64>,
    pub by: Option<String>,
    pub outcome: Outcome,
}

/// How a drill went: made from its copy while it runs (for everyone to follow) and when it ends.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct DrillReport {
    pub drill_id: Uuid,
    pub started_at: DateTime<Utc>,
    pub started_by: String,
    /// When it was made: the end of the drill, or now.
    pub as_of: DateTime<Utc>,
    pub ended: bool,
    pub tasks: Vec<TaskResult>,
    /// What was missed, in words: tasks not done or late, and loose ends left in the records.
    pub missed: Vec<String>,
    /// Everyone who changed anything in the drill.
    pub people: Vec<String>,
    /// How many changes were made in the drill.
    pub changes: u32,
}

/// A drill in this PC's list.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Drill {
    pub id: Uuid,
    #[cfg_attr(feature = "ts", ts(skip))]
    #[serde(skip)]
    pub folder: PathBuf,
    pub started_at: DateTime<Utc>,
    pub started_by: String,
    pub plan: DrillPlan,
    pub ended_at: Option<DateTime<Utc>>,
    pub ended_by: Option<String>,
    pub report: Option<DrillReport>,
}

/// What the copy knows of its own drill (kept in its local settings).
#[derive(Serialize, Deserialize)]
struct Marked {
    id: Uuid,
    started_at: DateTime<Utc>,
    started_by: String,
    plan: DrillPlan,
}

const COLUMNS: &str = "d.id, d.folder, d.started_at, s.display_name, d.plan, d.ended_at, e.display_name, d.report";
const FROM: &str = "drill d JOIN staff s ON s.id = d.started_by LEFT JOIN staff e ON e.id = d.ended_by";

fn from_row(r: &Row<'_>) -> rusqlite::Result<Drill> {
    let report = match r.get::<_, Option<String>>(7)? {
        Some(_) => Some(row::json(r, 7)?),
        None => None,
    };
    Ok(Drill {
        id: row::uuid(r, 0)?,
        folder: PathBuf::from(r.get::<_, String>(1)?),
        started_at: row::time(r, 2)?,
        started_by: r.get(3)?,
        plan: row::json(r, 4)?,
        ended_at: row::opt_time(r, 5)?,
        ended_by: r.get(6)?,
        report,
    })
}

fn running(r: &Read<'_>) -> Result<Option<Drill>> {
    Ok(r.query_row(&format!("SELECT {COLUMNS} FROM {FROM} WHERE d.ended_at IS NULL"), [], from_row).optional()?)
}

impl Store {
    /// Starts a drill (managers): copies the practice's data into a folder of its own under
    /// `folder` and notes the drill in this PC's list. The caller opens the copy (`open_drill`) and
    /// works on it until the drill ends. One drill at a time on a PC; never inside a drill.
    pub fn start_drill(&self, session: &Session, plan: &DrillPlan, folder: &Path) -> Result<Drill> {
        self.refuse_in_drill("starting a drill")?;
        self.read_as(session, Action::RunDrill, |_| Ok(()))?;
        plan.validate()?;
        if self.read(running)?.is_some() {
            return Err(Error::Conflict(
                "a drill is already running on this PC: end it before starting another".into(),
            ));
        }
        let id = self.clock.new_id();
        let now = self.clock.now();
        let dir = folder.join(id.to_string());
        let marked = Marked { id, started_at: now, started_by: session.display_name.clone(), plan: plan.clone() };
        let marked_json = serde_json::to_string(&marked).map_err(|e| Error::Internal(e.to_string()))?;
        let plan_json = serde_json::to_string(plan).map_err(|e| Error::Internal(e.to_string()))?;
        // Listed first (so a sweep of the drills folder never takes its copy for a leftover; at most
        // one drill runs, by the table's unique index), then copied; a failed copy unlists it.
        let listed = self.lock_writer().execute(
            "INSERT INTO drill (id, folder, started_at, started_by, plan) VALUES (?1, ?2, ?3, ?4, ?5)",
            params![
                id.to_string(),
                dir.display().to_string(),
                time::stored(now),
                session.staff_id.to_string(),
                plan_json
            ],
        );
        match listed {
            // Another start got in first (the unique index of running drills).
            Err(e) if e.sqlite_error_code() == Some(rusqlite::ErrorCode::ConstraintViolation) => {
                return Err(Error::Conflict(
                    "a drill is already running on this PC: end it before starting another".into(),
                ))
            }
            other => other?,
        };
        let copied = self.copy_for_drill(&dir, FINGERPRINT, &[("drill", id.to_string()), ("drill_plan", marked_json)]);
        if let Err(e) = copied {
            self.lock_writer().execute("DELETE FROM drill WHERE id = ?1 AND ended_at IS NULL", [id.to_string()])?;
            return Err(e);
        }
        self.read(running)?.ok_or_else(|| Error::Internal("the drill just started is not listed".into()))
    }

    /// The drill running on this PC, if any (to reopen its copy when the app starts again).
    pub fn running_drill(&self) -> Result<Option<Drill>> {
        self.read(running)
    }

    /// This PC's drills, the running one and the last 20 ended, newest first (managers).
    pub fn drills(&self, session: &Session) -> Result<Vec<Drill>> {
        self.read_as(session, Action::RunDrill, |r| {
            let mut stmt = r.prepare(&format!(
                "SELECT {COLUMNS} FROM {FROM} ORDER BY d.ended_at IS NOT NULL, d.started_at DESC LIMIT 21"
            ))?;
            let drills = stmt.query_map([], from_row)?.collect::<rusqlite::Result<Vec<_>>>()?;
            Ok(drills)
        })
    }

    /// Opens a running drill's copy. A copy that is not there is an error, never a new empty database.
    pub fn open_drill(drill: &Drill, clock: Arc<dyn Clock>) -> Result<Store> {
        Self::open_drill_with(drill, crate::KeyAccess::this_pc(), clock)
    }

    /// [`Store::open_drill`], reaching the key as the real records do (`keys`: their store's, with
    /// this PC's passphrase if it was typed).
    pub fn open_drill_with(drill: &Drill, keys: crate::KeyAccess, clock: Arc<dyn Clock>) -> Result<Store> {
        let config = StoreConfig::in_dir(&drill.folder).with_fingerprint(FINGERPRINT).with_keys(keys);
        if !config.database.exists() || !config.key_file.exists() {
            return Err(Error::NotFound(format!("the drill's copy in {}", drill.folder.display())));
        }
        let store = Store::open(config, clock)?;
        if store.drill() != Some(drill.id) {
            return Err(Error::Conflict(format!("{} is not this drill's copy", drill.folder.display())));
        }
        Ok(store)
    }

    /// How the drill this copy is for stands now (anyone signed in to the drill).
    pub fn drill_progress(&self, session: &Session) -> Result<DrillReport> {
        self.read_as(session, Action::ViewRecords, |r| report(r, self.clock.now(), false))
    }

    /// Ends the running drill: makes its report from `copy` and keeps it in this PC's list. Anyone
    /// signed in may end it (a real emergency cannot wait for the manager who started it). The copy
    /// is deleted by `remove_drill_copies` once the caller has closed it. With no copy, or one that
    /// cannot be read, the drill still ends, its report saying that what was done in it is not known.
    pub fn end_drill(&self, session: &Session, copy: Option<&Store>) -> Result<Drill> {
        self.read_as(session, Action::ViewRecords, |_| Ok(()))?;
        let drill = self.read(running)?.ok_or_else(|| Error::Conflict("no drill is running on this PC".into()))?;
        let now = self.clock.now();
        let report = match copy {
            Some(copy) if copy.drill() == Some(drill.id) => {
                copy.read(|r| report(r, now, true)).unwrap_or_else(|_| unknown(&drill, now))
            }
            Some(_) => return Err(Error::Conflict("that is not the running drill's copy".into())),
            None => unknown(&drill, now),
        };
        let json = serde_json::to_string(&report).map_err(|e| Error::Internal(e.to_string()))?;
        self.lock_writer().execute(
            "UPDATE drill SET ended_at = ?2, ended_by = ?3, report = ?4 WHERE id = ?1 AND ended_at IS NULL",
            params![drill.id.to_string(), time::stored(now), session.staff_id.to_string(), json],
        )?;
        self.read(|r| {
            Ok(r.query_row(&format!("SELECT {COLUMNS} FROM {FROM} WHERE d.id = ?1"), [drill.id.to_string()], from_row)?)
        })
    }

    /// Deletes every drill copy in `folder` (the one drills are started in) but the running drill's:
    /// ended drills', and any left by a start that never finished (a copy holds the practice's data
    /// and its key). Only folders named as a drill names them (a UUID) are touched. Returns how many
    /// could not be deleted yet (still open, on Windows): they are tried again next time.
    pub fn remove_drill_copies(&self, folder: &Path) -> Result<u32> {
        let running = self.read(running)?.map(|d| d.id);
        let Ok(entries) = std::fs::read_dir(folder) else {
            return Ok(0);
        };
        let mut left = 0;
        for entry in entries.flatten() {
            let name = entry.file_name();
            let Some(id) = name.to_str().and_then(|n| Uuid::parse_str(n).ok()) else {
                continue;
            };
            if Some(id) == running || !entry.path().is_dir() {
                continue;
            }
            if std::fs::remove_dir_all(entry.path()).is_err() {
                left += 1;
            }
        }
        Ok(left)
    }
}

/// Forgets the drills ended on this PC, with their reports (the purge after the outage: they name
/// animals and staff).
pub(crate) fn forget_reports(conn: &rusqlite::Connection) -> Result<()> {
    conn.execute("DELETE FROM drill WHERE ended_at IS NOT NULL", [])?;
    Ok(())
}

/// The report of a drill whose copy could not be read: every task unknown, so missed.
fn unknown(drill: &Drill, now: DateTime<Utc>) -> DrillReport {
    let tasks: Vec<TaskResult> = drill
        .plan
        .tasks
        .iter()
        .map(|t| TaskResult {
            task: t.task,
            label: t.task.label().into(),
            minutes: t.minutes,
            done_at: None,
            seconds: None,
            by: None,
            outcome: Outcome::Missed,
        })
        .collect();
    DrillReport {
        drill_id: drill.id,
        started_at: drill.started_at,
        started_by: drill.started_by.clone(),
        as_of: now,
        ended: true,
        tasks,
        missed: vec!["The drill's copy could not be read, so what was done in it is not known".into()],
        people: Vec::new(),
        changes: 0,
    }
}

/// The drill's report, from its copy: each task's first doing after the start, and the loose ends.
fn report(r: &Read<'_>, now: DateTime<Utc>, ended: bool) -> Result<DrillReport> {
    let setting = |key: &str| -> Result<Option<String>> {
        Ok(r.query_row("SELECT value FROM local_setting WHERE key = ?1", [key], |row| row.get(0)).optional()?)
    };
    let marked: Marked = setting("drill_plan")?
        .and_then(|text| serde_json::from_str(&text).ok())
        .ok_or_else(|| Error::Conflict("this is not a drill's copy".into()))?;
    let from: i64 = setting("drill_from_seq")?.and_then(|s| s.parse().ok()).unwrap_or(i64::MAX);
    let mut stmt = r.prepare(
        "SELECT j.entity, j.entity_id, j.kind, j.payload, a.action, a.at, coalesce(s.display_name, '')
         FROM journal j JOIN audit a ON a.op_id = j.op_id LEFT JOIN staff s ON s.id = a.actor_id
         WHERE j.seq > ?1 ORDER BY j.seq",
    )?;
    let rows = stmt
        .query_map([from], |row| {
            Ok(Journaled {
                entity: row.get(0)?,
                entity_id: row.get(1)?,
                kind: row.get(2)?,
                payload: row.get(3)?,
                action: row.get(4)?,
                at: row::time(row, 5)?,
                by: row.get(6)?,
            })
        })?
        .collect::<rusqlite::Result<Vec<Journaled>>>()?;
    let mut people = BTreeSet::new();
    let mut changes = 0u32;
    let mut firsts: Vec<Option<(DateTime<Utc>, String)>> = vec![None; marked.plan.tasks.len()];
    for j in &rows {
        if j.entity == "sign_in" {
            continue;
        }
        changes += 1;
        if !j.by.is_empty() {
            people.insert(j.by.clone());
        }
        let payload: Value = serde_json::from_str(&j.payload).unwrap_or(Value::Null);
        for (i, planned) in marked.plan.tasks.iter().enumerate() {
            if firsts[i].is_none()
                && planned.task.done_by(&j.entity, &j.kind, &j.action, &payload)
                && stands(r, &j.entity, &j.entity_id)?
            {
                firsts[i] = Some((j.at, j.by.clone()));
            }
        }
    }
    let mut missed = Vec::new();
    let tasks: Vec<TaskResult> = marked
        .plan
        .tasks
        .iter()
        .zip(firsts)
        .map(|(planned, first)| {
            let allowed = i64::from(planned.minutes) * 60;
            let seconds = first.as_ref().map(|(at, _)| (*at - marked.started_at).num_seconds().max(0));
            let outcome = match seconds {
                Some(s) if s <= allowed => Outcome::InTime,
                Some(_) => Outcome::Late,
                None if ended => Outcome::Missed,
                None if (now - marked.started_at).num_seconds() > allowed => Outcome::Overdue,
                None => Outcome::Waiting,
            };
            match (outcome, seconds) {
                (Outcome::Missed, _) => missed.push(format!("{}: not done", planned.task.label())),
                (Outcome::Late, Some(s)) => missed.push(format!(
                    "{}: done after {}, against {} min",
                    planned.task.label(),
                    duration(s),
                    planned.minutes
                )),
                _ => {}
            }
            TaskResult {
                task: planned.task,
                label: planned.task.label().into(),
                minutes: planned.minutes,
                done_at: first.as_ref().map(|(at, _)| *at),
                seconds,
                by: first.map(|(_, by)| by),
                outcome,
            }
        })
        .collect();
    missed.extend(loose_ends(r, from)?);
    Ok(DrillReport {
        drill_id: marked.id,
        started_at: marked.started_at,
        started_by: marked.started_by,
        as_of: now,
        ended,
        tasks,
        missed,
        people: people.into_iter().collect(),
        changes,
    })
}

/// A change in the drill's journal, with its audit entry's action, time and person.
struct Journaled {
    entity: String,
    entity_id: String,
    kind: String,
    payload: String,
    action: String,
    at: DateTime<Utc>,
    by: String,
}

/// Whether the record a task made still stands at the end: not voided (a payment, a consultation,
/// a prescription), not cancelled (a booking), not declined (a card taken down to run later).
fn stands(r: &Read<'_>, entity: &str, id: &str) -> Result<bool> {
    let gone: bool = match entity {
        "appointment" => r
            .query_row("SELECT status = 'cancelled' FROM appointment WHERE id = ?1", [id], |row| row.get(0))
            .optional()?
            .unwrap_or(true),
        "consultation" | "prescription" => r.query_row(
            "SELECT EXISTS (SELECT 1 FROM clinical_void WHERE entity = ?1 AND entity_id = ?2)",
            [entity, id],
            |row| row.get(0),
        )?,
        // A card taken down to run later counts as taken unless its last run was declined.
        "payment" => r.query_row(
            "SELECT EXISTS (SELECT 1 FROM clinical_void WHERE entity = 'payment' AND entity_id = ?1)
                 OR coalesce((SELECT c.outcome = 'declined' FROM card_run c WHERE c.payment_id = ?1
                              ORDER BY c.run_at DESC, c.id DESC LIMIT 1), 0)",
            [id],
            |row| row.get(0),
        )?,
        _ => false,
    };
    Ok(!gone)
}

/// Records made in the drill and left unfinished: consultations not signed, card payments not run.
fn loose_ends(r: &Read<'_>, from: i64) -> Result<Vec<String>> {
    let made = |entity: &str| {
        format!("SELECT entity_id FROM journal WHERE seq > ?1 AND entity = '{entity}' AND kind = 'create'")
    };
    let mut out = Vec::new();
    let mut stmt = r.prepare(&format!(
        "SELECT p.name, s.display_name FROM consultation c JOIN patient p ON p.id = c.patient_id
         JOIN staff s ON s.id = c.clinician_id
         WHERE c.id IN ({}) AND c.signed_at IS NULL
           AND NOT EXISTS (SELECT 1 FROM clinical_void v WHERE v.entity = 'consultation' AND v.entity_id = c.id)
         ORDER BY c.started_at",
        made("consultation")
    ))?;
    for row in stmt.query_map([from], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))? {
        let (animal, vet) = row?;
        out.push(format!("{animal}'s consultation ({vet}) was left unsigned"));
    }
    // A card taken down to run later stands as taken when its last run was approved.
    let mut stmt = r.prepare(&format!(
        "SELECT p.amount_pence,
                (SELECT c.outcome FROM card_run c WHERE c.payment_id = p.id ORDER BY c.run_at DESC, c.id DESC LIMIT 1)
         FROM payment p
         WHERE p.id IN ({}) AND p.method = 'card_to_run'
           AND NOT EXISTS (SELECT 1 FROM clinical_void v WHERE v.entity = 'payment' AND v.entity_id = p.id)
         ORDER BY p.taken_at",
        made("payment")
    ))?;
    for row in stmt.query_map([from], |r| Ok((r.get::<_, i64>(0)?, r.get::<_, Option<String>>(1)?)))? {
        let (pence, last) = row?;
        let amount = format!("£{}.{:02}", pence / 100, pence % 100);
        match last.as_deref() {
            Some("approved") => {}
            Some(_) => out.push(format!("A card payment of {amount} was declined and not taken again")),
            None => out.push(format!("A card payment of {amount} to run later was not run")),
        }
    }
    Ok(out)
}

/// "2 min 05 s", "45 s".
fn duration(seconds: i64) -> String {
    match seconds {
        s if s < 60 => format!("{s} s"),
        s => format!("{} min {:02} s", s / 60, s % 60),
    }
}
