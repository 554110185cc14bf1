//! The reconciliation ledger: each record of the backlog (what was made or changed during the outage,
//! `views::backlog`) moves from **captured** to **exported** (in which export) to **entered** in the
//! PMS (its PMS number, who, when) to **verified** (checked in the PMS). Each step is a mark that is
//! never changed or deleted (`ledger_mark`), synced like any other record. A record's stage is the
//! highest stage among its marks that still describe it: a mark notes how many changes of the record
//! the journal held when it was made, and a record changed again since is back to captured, because
//! what the PMS holds is no longer what Lifeboat holds.
//!
//! Entering a client, animal or appointment gives it the PMS number (so a later PMS snapshot finds it
//! instead of adding it twice); two records cannot be entered under one number. Marks come singly, in
//! bulk, or from a CSV of Lifeboat id → PMS number as the PMS or a person writes it.

use std::collections::{BTreeMap, HashMap, HashSet};

use chrono::{DateTime, NaiveDate, Utc};
use rusqlite::{params, Connection, OptionalExtension};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::error::{Error, Result};
use crate::import::table::{self, Table};
use crate::import::Rejected;
use crate::organisation::practice;
use crate::permission::Action;
use crate::session::Session;
use crate::store::database::Store;
use crate::store::write::{ChangeKind, Entity, Fields, Write};
use crate::time;
use crate::views::backlog::{self, BacklogRecord, KINDS};

/// What an export wrote.
#[derive(Clone, Debug, PartialEq)]
pub struct Exported {
    /// The file's bytes.
    pub bytes: Vec<u8>,
    pub rows: u32,
    /// The export as the reconciliation ledger knows it.
    pub export_id: Uuid,
    /// Records of the backlog it carried that were marked exported in it (those still captured).
    pub marked: u32,
}

/// Where a record stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum Stage {
    Captured,
    Exported,
    Entered,
    Verified,
}

impl Stage {
    pub const ALL: [Stage; 4] = [Stage::Captured, Stage::Exported, Stage::Entered, Stage::Verified];

    pub fn as_str(self) -> &'static str {
        match self {
            Stage::Captured => "captured",
            Stage::Exported => "exported",
            Stage::Entered => "entered",
            Stage::Verified => "verified",
        }
    }

    pub fn parse(text: &str) -> Option<Stage> {
        Stage::ALL.into_iter().find(|s| s.as_str().eq_ignore_ascii_case(text.trim()))
    }
}

/// How many records stand at each stage.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct StageCounts {
    pub captured: u32,
    pub exported: u32,
    pub entered: u32,
    pub verified: u32,
}

impl StageCounts {
    fn add(&mut self, stage: Stage) {
        match stage {
            Stage::Captured => self.captured += 1,
            Stage::Exported => self.exported += 1,
            Stage::Entered => self.entered += 1,
            Stage::Verified => self.verified += 1,
        }
    }

    pub fn total(&self) -> u32 {
        self.captured + self.exported + self.entered + self.verified
    }
}

/// Progress of one kind of record, or of one day.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Progress {
    /// The kind's name, or the day as dd/mm/yyyy.
    pub label: String,
    pub counts: StageCounts,
}

/// One record of the backlog and where it stands.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct LedgerEntry {
    pub id: String,
    /// As shown ("Clients").
    pub kind: String,
    /// The day it counts in the backlog (London).
    pub day: NaiveDate,
    pub clinician: String,
    pub patient_id: Option<String>,
    pub patient_name: Option<String>,
    pub client_name: Option<String>,
    pub summary: String,
    pub stage: Stage,
    /// When the export it first went out in was made.
    pub exported_at: Option<DateTime<Utc>>,
    pub export_id: Option<String>,
    pub pms_id: Option<String>,
    pub entered_by: Option<String>,
    pub entered_at: Option<DateTime<Utc>>,
    pub verified_by: Option<String>,
    pub verified_at: Option<DateTime<Utc>>,
    /// Marked once, then changed in Lifeboat: back to captured.
    pub changed_since_marked: bool,
    /// Made during the outage (to be added to the PMS), rather than a PMS record changed during it
    /// (to be updated there).
    pub is_new: bool,
    /// The PMS number the record holds (a client, animal or appointment).
    pub record_pms_id: Option<String>,
}

/// An export written for the PMS.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct ExportBatch {
    pub id: String,
    pub format: String,
    pub kind: String,
    pub rows: u32,
    pub sha256: String,
    pub made_by: String,
    pub made_at: DateTime<Utc>,
}

/// Which records to list.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct LedgerFilter {
    /// A kind as shown ("Clients"); all when none.
    pub kind: Option<String>,
    /// All when none.
    pub stage: Option<Stage>,
    /// Only records not yet entered in the PMS (captured or exported).
    pub missing: bool,
    /// At most this many (500 when none).
    pub limit: Option<u32>,
}

/// The ledger.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Ledger {
    /// When the outage began; `None` until a manager records it (then the ledger is empty).
    pub outage_began: Option<DateTime<Utc>>,
    pub total: StageCounts,
    pub by_kind: Vec<Progress>,
    /// Oldest day first.
    pub by_day: Vec<Progress>,
    /// The records the filter chose (up to its limit), oldest first.
    pub entries: Vec<LedgerEntry>,
    /// How many records the filter chose (more than `entries` when cut at the limit).
    pub matching: u32,
    /// Newest first.
    pub exports: Vec<ExportBatch>,
}

/// A mark as read back.
struct Mark {
    stage: Stage,
    export_id: Option<String>,
    pms_id: Option<String>,
    seen_changes: i64,
    by: String,
    at: DateTime<Utc>,
    export_made_at: Option<DateTime<Utc>>,
}

/// Kinds whose table holds the PMS number: entering one of them needs the number, and gives it.
fn pms_table(kind_key: &str) -> Option<&'static str> {
    match kind_key {
        "client" => Some("client"),
        "patient" => Some("patient"),
        "appointment" => Some("appointment"),
        _ => None,
    }
}

/// One record of a kind that has a PMS number, as said in a sentence.
fn noun(kind_key: &str) -> &'static str {
    match kind_key {
        "client" => "client",
        "patient" => "animal",
        _ => "appointment",
    }
}

/// The journal changes that count for the ledger: not the purge after the outage (it blanks a copy
/// the PMS holds), nor a PMS number given to a record as it is entered (on this PC or another: the
/// same file of numbers read on two PCs must not send its records back to captured).
/// (By which fields a change names: a purged PC's journal keeps those, with null values.)
const COUNTED: &str = "json_type(j.payload, '$.purged_at') IS NULL
    AND NOT (json_type(j.payload, '$.pms_id') IS NOT NULL AND (SELECT count(*) FROM json_each(j.payload)) = 1)";

/// How many changes of a record the journal holds (those that count, above).
fn changes(conn: &Connection, kind_key: &str, id: &str) -> Result<i64> {
    Ok(conn
        .prepare_cached(&format!(
            "SELECT count(*) FROM journal j WHERE j.entity = ?1 AND j.entity_id = ?2 AND {COUNTED}"
        ))?
        .query_row(params![kind_key, id], |r| r.get(0))?)
}

fn marks(conn: &Connection) -> Result<HashMap<String, Vec<Mark>>> {
    let mut stmt = conn.prepare_cached(
        "SELECT m.record_id, m.stage, m.export_id, m.pms_id, m.seen_changes, s.display_name, m.marked_at, b.made_at
         FROM ledger_mark m JOIN staff s ON s.id = m.marked_by LEFT JOIN export_batch b ON b.id = m.export_id
         ORDER BY m.marked_at, m.id",
    )?;
    let mut rows = stmt.query([])?;
    let mut out: HashMap<String, Vec<Mark>> = HashMap::new();
    while let Some(r) = rows.next()? {
        let stage: String = r.get(1)?;
        let stage = Stage::parse(&stage).ok_or_else(|| Error::DamagedRecord(format!("ledger stage {stage:?}")))?;
        let made: Option<String> = r.get(7)?;
        out.entry(r.get(0)?).or_default().push(Mark {
            stage,
            export_id: r.get(2)?,
            pms_id: r.get(3)?,
            seen_changes: r.get(4)?,
            by: r.get(5)?,
            at: time::parse_stored(&r.get::<_, String>(6)?)?,
            export_made_at: made.as_deref().map(time::parse_stored).transpose()?,
        });
    }
    Ok(out)
}

/// How many counted changes each marked record has, in one query.
fn change_counts(conn: &Connection) -> Result<HashMap<String, i64>> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT m.record_id, count(j.seq) FROM (SELECT DISTINCT record_kind, record_id FROM ledger_mark) m
           LEFT JOIN journal j ON j.entity = m.record_kind AND j.entity_id = m.record_id AND {COUNTED}
         GROUP BY m.record_id"
    ))?;
    let rows =
        stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?.collect::<rusqlite::Result<HashMap<String, i64>>>()?;
    Ok(rows)
}

/// Where one record stands, from its marks (`counts`: `change_counts`).
fn entry(
    conn: &Connection,
    r: &BacklogRecord,
    marks: Option<&Vec<Mark>>,
    counts: &HashMap<String, i64>,
) -> Result<LedgerEntry> {
    let kind = &KINDS[r.kind];
    let mut e = LedgerEntry {
        id: r.id.clone(),
        kind: kind.label.to_string(),
        day: time::local_date(r.when),
        clinician: r.clinician.clone(),
        patient_id: r.patient_id.clone(),
        patient_name: r.patient_name.clone(),
        client_name: r.client_name.clone(),
        summary: r.summary.clone(),
        stage: Stage::Captured,
        exported_at: None,
        export_id: None,
        pms_id: None,
        entered_by: None,
        entered_at: None,
        verified_by: None,
        verified_at: None,
        changed_since_marked: false,
        is_new: r.is_new,
        record_pms_id: r.pms_id.clone(),
    };
    let Some(marks) = marks else { return Ok(e) };
    let now = match counts.get(&r.id) {
        Some(n) => *n,
        None => changes(conn, kind.key, &r.id)?,
    };
    // Marks are in the order they were made: the first export counts, and the latest entry and
    // check among those that still describe the record.
    if let Some(m) = marks.iter().find(|m| m.stage == Stage::Exported) {
        e.export_id = m.export_id.clone();
        e.exported_at = m.export_made_at;
    }
    // A record entered again (a corrected number) must be verified again.
    let mut exported = false;
    for m in marks.iter().filter(|m| m.seen_changes >= now) {
        match m.stage {
            Stage::Exported => exported = true,
            Stage::Entered => {
                e.pms_id = m.pms_id.clone();
                e.entered_by = Some(m.by.clone());
                e.entered_at = Some(m.at);
                (e.verified_by, e.verified_at) = (None, None);
            }
            Stage::Verified if e.entered_at.is_some() => {
                e.verified_by = Some(m.by.clone());
                e.verified_at = Some(m.at);
            }
            _ => {}
        }
    }
    e.stage = if e.verified_at.is_some() {
        Stage::Verified
    } else if e.entered_at.is_some() {
        Stage::Entered
    } else if exported {
        Stage::Exported
    } else {
        Stage::Captured
    };
    e.changed_since_marked = e.stage == Stage::Captured;
    Ok(e)
}

/// Every record of the backlog and where it stands (none until the outage's start is recorded).
pub(crate) fn entries(conn: &Connection) -> Result<Vec<LedgerEntry>> {
    let Some(since) = practice::practice(conn)?.and_then(|p| p.outage_began) else { return Ok(Vec::new()) };
    let marks = marks(conn)?;
    let counts = change_counts(conn)?;
    backlog::records(conn, since)?.iter().map(|r| entry(conn, r, marks.get(&r.id), &counts)).collect()
}

fn exports(conn: &Connection) -> Result<Vec<ExportBatch>> {
    let mut stmt = conn.prepare_cached(
        "SELECT b.id, b.format, b.kind, b.rows, b.sha256, s.display_name, b.made_at
         FROM export_batch b JOIN staff s ON s.id = b.made_by ORDER BY b.made_at DESC, b.id LIMIT 50",
    )?;
    let mut rows = stmt.query([])?;
    let mut out = Vec::new();
    while let Some(r) = rows.next()? {
        out.push(ExportBatch {
            id: r.get(0)?,
            format: r.get(1)?,
            kind: r.get(2)?,
            rows: r.get(3)?,
            sha256: r.get(4)?,
            made_by: r.get(5)?,
            made_at: time::parse_stored(&r.get::<_, String>(6)?)?,
        });
    }
    Ok(out)
}

pub(crate) fn ledger(conn: &Connection, filter: &LedgerFilter) -> Result<Ledger> {
    let outage_began = practice::practice(conn)?.and_then(|p| p.outage_began);
    let all = entries(conn)?;
    let mut total = StageCounts::default();
    let mut by_kind: BTreeMap<usize, StageCounts> = BTreeMap::new();
    let mut by_day: BTreeMap<NaiveDate, StageCounts> = BTreeMap::new();
    for e in &all {
        total.add(e.stage);
        let k = KINDS.iter().position(|k| k.label == e.kind).unwrap_or(0);
        by_kind.entry(k).or_default().add(e.stage);
        by_day.entry(e.day).or_default().add(e.stage);
    }
    let limit = filter.limit.unwrap_or(500).min(50_000) as usize;
    let chosen: Vec<LedgerEntry> = all
        .into_iter()
        .filter(|e| filter.kind.as_deref().is_none_or(|k| k.eq_ignore_ascii_case(&e.kind)))
        .filter(|e| filter.stage.is_none_or(|s| s == e.stage))
        .filter(|e| !filter.missing || e.stage < Stage::Entered)
        .collect();
    let matching = chosen.len() as u32;
    Ok(Ledger {
        outage_began,
        total,
        by_kind: by_kind
            .into_iter()
            .map(|(k, counts)| Progress { label: KINDS[k].label.to_string(), counts })
            .collect(),
        by_day: by_day
            .into_iter()
            .map(|(day, counts)| Progress { label: day.format("%d/%m/%Y").to_string(), counts })
            .collect(),
        entries: chosen.into_iter().take(limit).collect(),
        matching,
        exports: exports(conn)?,
    })
}

/// A record entered in the PMS, and the number the PMS gave it (if it shows one).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct EnteredMark {
    pub record_id: String,
    pub pms_id: String,
}

/// What a marking did.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Marked {
    pub marked: u32,
    /// Already at that stage with the same PMS number: nothing to do.
    pub unchanged: u32,
    /// Rows of a PMS number file that were refused (with line, column and reason); the others were marked.
    pub rejected: Vec<Rejected>,
}

/// The backlog as the write sees it: each record by id, with its kind.
struct Backlog {
    records: HashMap<String, BacklogRecord>,
    marks: HashMap<String, Vec<Mark>>,
    counts: HashMap<String, i64>,
}

impl Backlog {
    fn load(w: &Write<'_>) -> Result<Backlog> {
        let since = practice::practice(w.tx())?.and_then(|p| p.outage_began).ok_or_else(|| {
            Error::invalid("outage_began", "is not recorded: record when the outage began before reconciling")
        })?;
        let records = backlog::records(w.tx(), since)?.into_iter().map(|r| (r.id.clone(), r)).collect();
        Ok(Backlog { records, marks: marks(w.tx())?, counts: change_counts(w.tx())? })
    }

    fn get(&self, id: &str) -> Result<&BacklogRecord> {
        let id = id.trim();
        if id.chars().count() > 64 {
            return Err(Error::invalid("record_id", "is not a Lifeboat id (too long)"));
        }
        self.records
            .get(id)
            .ok_or_else(|| Error::invalid("record_id", format!("{id:?} is not a record of the backlog")))
    }

    fn stand(&self, w: &Write<'_>, r: &BacklogRecord) -> Result<LedgerEntry> {
        entry(w.tx(), r, self.marks.get(&r.id), &self.counts)
    }
}

/// A PMS number as given: trimmed, printable, at most 40 characters.
fn pms_number(text: &str) -> Result<String> {
    crate::validate::optional("pms_id", text, 40)
}

/// A mark to write.
struct NewMark<'a> {
    kind_key: &'a str,
    record_id: &'a str,
    stage: Stage,
    export_id: Option<Uuid>,
    pms_id: Option<&'a str>,
    seen_changes: i64,
}

impl Write<'_> {
    fn add_mark(&mut self, action: Action, m: NewMark<'_>) -> Result<()> {
        let NewMark { kind_key, record_id, stage, export_id, pms_id, seen_changes } = m;
        let id = self.new_id();
        let at = time::stored(self.now());
        let by = self.actor().id;
        self.tx()
            .prepare_cached(
                "INSERT INTO ledger_mark (id, record_kind, record_id, stage, export_id, pms_id, seen_changes, marked_by, marked_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
            )?
            .execute(params![
                id.to_string(),
                kind_key,
                record_id,
                stage.as_str(),
                export_id.map(|e| e.to_string()),
                pms_id,
                seen_changes,
                by.to_string(),
                at
            ])?;
        let fields = Fields::new()
            .with("record_kind", kind_key)
            .with("record_id", record_id)
            .with("stage", stage.as_str())
            .with("export_id", export_id)
            .with("pms_id", pms_id)
            .with("seen_changes", seen_changes)
            .with("marked_by", by)
            .with("marked_at", &at);
        self.record(action, Entity::LedgerMark, id, ChangeKind::Create, fields)
    }

    /// Notes an export written for the PMS, and marks the backlog records it carries (by their
    /// Lifeboat ids) that were still captured as exported in it. Inside a write that authorized
    /// exporting.
    pub(crate) fn record_export(
        &mut self,
        format: &str,
        kind: &str,
        since: Option<DateTime<Utc>>,
        rows: u32,
        bytes: &[u8],
        record_ids: &[String],
    ) -> Result<(Uuid, u32)> {
        let id = self.new_id();
        let at = time::stored(self.now());
        let sha = hex::encode(Sha256::digest(bytes));
        let since = since.map(time::stored);
        let by = self.actor().id;
        self.tx().execute(
            "INSERT INTO export_batch (id, format, kind, since, rows, sha256, made_by, made_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            params![id.to_string(), format, kind, since, rows, sha, by.to_string(), at],
        )?;
        let fields = Fields::new()
            .with("format", format)
            .with("kind", kind)
            .with("since", &since)
            .with("rows", rows)
            .with("sha256", &sha)
            .with("made_by", by)
            .with("made_at", &at);
        self.record(Action::ExportRecords, Entity::ExportBatch, id, ChangeKind::Create, fields)?;
        let has_outage = practice::practice(self.tx())?.and_then(|p| p.outage_began).is_some();
        if !has_outage {
            return Ok((id, 0));
        }
        let backlog = Backlog::load(self)?;
        let mut marked = 0;
        for record_id in record_ids {
            let Some(r) = backlog.records.get(record_id) else { continue };
            if backlog.stand(self, r)?.stage != Stage::Captured {
                continue;
            }
            let key = KINDS[r.kind].key;
            let seen = changes(self.tx(), key, &r.id)?;
            self.add_mark(
                Action::ExportRecords,
                NewMark {
                    kind_key: key,
                    record_id: &r.id,
                    stage: Stage::Exported,
                    export_id: Some(id),
                    pms_id: None,
                    seen_changes: seen,
                },
            )?;
            marked += 1;
        }
        Ok((id, marked))
    }

    /// Marks records as entered in the PMS. A client, animal or appointment needs the PMS number,
    /// and takes it; for the other kinds it is noted when given. The first bad mark refuses them all,
    /// naming it.
    pub fn mark_entered(&mut self, marks: &[EnteredMark]) -> Result<Marked> {
        self.authorize(Action::ReconcileRecords)?;
        let mut backlog = Backlog::load(self)?;
        let mut done = Marked::default();
        for (i, m) in marks.iter().enumerate() {
            let at = |e: Error| e.within(&format!("mark {}", i + 1));
            match self.enter_one(&mut backlog, m).map_err(at)? {
                true => done.marked += 1,
                false => done.unchanged += 1,
            }
        }
        if done.marked == 0 {
            self.may_record_nothing();
        }
        Ok(done)
    }

    /// Enters one record; false when it was entered already under the same number.
    fn enter_one(&mut self, backlog: &mut Backlog, m: &EnteredMark) -> Result<bool> {
        let r = backlog.get(&m.record_id)?.clone();
        let key = KINDS[r.kind].key;
        let pms = pms_number(&m.pms_id)?;
        let table = pms_table(key);
        if table.is_some() && pms.is_empty() {
            return Err(Error::invalid("pms_id", format!("is needed for {}", KINDS[r.kind].label.to_lowercase())));
        }
        let now = backlog.stand(self, &r)?;
        let given = (!pms.is_empty()).then_some(pms.as_str());
        if now.stage >= Stage::Entered && now.pms_id.as_deref() == given {
            return Ok(false);
        }
        let seen = changes(self.tx(), key, &r.id)?;
        if let Some(table) = table {
            let held: Option<String> =
                self.tx().query_row(&format!("SELECT pms_id FROM {table} WHERE id = ?1"), [&r.id], |row| row.get(0))?;
            // The number may be replaced only where the ledger gave it (a mistyped entry corrected,
            // even after the record changed again).
            let ours = held.is_some()
                && backlog
                    .marks
                    .get(&r.id)
                    .is_some_and(|marks| marks.iter().any(|m| m.stage == Stage::Entered && m.pms_id == held));
            if let Some(held) = held.as_deref().filter(|h| *h != pms && !ours) {
                return Err(Error::invalid("pms_id", format!("{pms:?} given, but this record is PMS number {held:?}")));
            }
            // A record merged into another is not a second record.
            let live = if table == "appointment" { "" } else { " AND merged_into IS NULL" };
            let other: Option<String> = self
                .tx()
                .query_row(
                    &format!("SELECT id FROM {table} WHERE pms_id = ?1 AND id <> ?2{live} LIMIT 1"),
                    [&pms, &r.id],
                    |row| row.get(0),
                )
                .optional()?;
            if let Some(other) = other {
                return Err(Error::invalid(
                    "pms_id",
                    format!("{pms:?} is already the PMS number of another {} ({other})", noun(key)),
                ));
            }
            if held.as_deref() != Some(pms.as_str()) {
                self.tx().execute(
                    &format!("UPDATE {table} SET pms_id = ?2, updated_at = ?3 WHERE id = ?1"),
                    params![r.id, pms, time::stored(self.now())],
                )?;
                let entity = match key {
                    "client" => Entity::Client,
                    "patient" => Entity::Patient,
                    _ => Entity::Appointment,
                };
                let id = Uuid::parse_str(&r.id).map_err(|_| Error::DamagedRecord(format!("record id {:?}", r.id)))?;
                self.record(
                    Action::ReconcileRecords,
                    entity,
                    id,
                    ChangeKind::Update,
                    Fields::new().with("pms_id", &pms),
                )?;
            }
        }
        self.add_mark(
            Action::ReconcileRecords,
            NewMark {
                kind_key: key,
                record_id: &r.id,
                stage: Stage::Entered,
                export_id: None,
                pms_id: given,
                seen_changes: seen,
            },
        )?;
        // Later marks in the same call see this one.
        backlog.marks.entry(r.id.clone()).or_default().push(Mark {
            stage: Stage::Entered,
            export_id: None,
            pms_id: given.map(str::to_string),
            seen_changes: seen,
            by: String::new(),
            at: self.now(),
            export_made_at: None,
        });
        Ok(true)
    }

    /// Marks records entered in the PMS as verified there. A record not entered yet is refused.
    pub fn mark_verified(&mut self, record_ids: &[String]) -> Result<Marked> {
        self.authorize(Action::ReconcileRecords)?;
        let backlog = Backlog::load(self)?;
        let mut done = Marked::default();
        for (i, id) in record_ids.iter().enumerate() {
            let at = |e: Error| e.within(&format!("record {}", i + 1));
            let r = backlog.get(id).map_err(at)?.clone();
            let now = backlog.stand(self, &r)?;
            match now.stage {
                Stage::Verified => done.unchanged += 1,
                Stage::Entered => {
                    let key = KINDS[r.kind].key;
                    let seen = changes(self.tx(), key, &r.id)?;
                    self.add_mark(
                        Action::ReconcileRecords,
                        NewMark {
                            kind_key: key,
                            record_id: &r.id,
                            stage: Stage::Verified,
                            export_id: None,
                            pms_id: now.pms_id.as_deref(),
                            seen_changes: seen,
                        },
                    )?;
                    done.marked += 1;
                }
                _ => {
                    return Err(at(Error::invalid("record_id", format!("{} is not entered in the PMS yet", r.summary))))
                }
            }
        }
        if done.marked == 0 {
            self.may_record_nothing();
        }
        Ok(done)
    }

    /// Marks records entered from a file of Lifeboat ids and PMS numbers (CSV as a spreadsheet or
    /// the PMS writes it: a "Lifeboat ID" column and a PMS number column). Rows that cannot be
    /// marked are reported with their line and left out; the others are marked.
    pub fn mark_entered_from_file(&mut self, table: &Table) -> Result<Marked> {
        self.authorize(Action::ReconcileRecords)?;
        let (id_col, pms_col) = id_map_columns(table)?;
        let mut backlog = Backlog::load(self)?;
        let mut done = Marked::default();
        for line in &table.rows {
            let cell = |c: usize| line.cells.get(c).map(String::as_str).unwrap_or("");
            if line.cells.iter().all(|c| c.trim().is_empty()) {
                continue;
            }
            let mark = EnteredMark { record_id: cell(id_col).trim().to_string(), pms_id: cell(pms_col).to_string() };
            match self.attempt(|w| w.enter_one(&mut backlog, &mark)) {
                Ok(true) => done.marked += 1,
                Ok(false) => done.unchanged += 1,
                Err(Error::Invalid { field, reason }) => done.rejected.push(Rejected {
                    line: line.line,
                    column: if field == "pms_id" {
                        table.headers[pms_col].clone()
                    } else {
                        table.headers[id_col].clone()
                    },
                    reason,
                }),
                Err(e) => return Err(e),
            }
        }
        if done.marked == 0 {
            self.may_record_nothing();
        }
        Ok(done)
    }
}

/// The two columns of a PMS number file: the Lifeboat id and the PMS number.
fn id_map_columns(table: &Table) -> Result<(usize, usize)> {
    let norm = |h: &str| h.to_lowercase().chars().filter(char::is_ascii_alphanumeric).collect::<String>();
    let find = |names: &[&str]| table.headers.iter().position(|h| names.contains(&norm(h).as_str()));
    let id = find(&["lifeboatid", "lifeboat"])
        .ok_or_else(|| Error::invalid("file", "has no \"Lifeboat ID\" column (the id from Lifeboat's export)"))?;
    // A PMS number column: "PMS ID" first, else the one column of a kind's number (a file with both a
    // client's and an animal's number and no PMS ID is refused as unclear).
    let pms = ["pmsid", "pmsno", "pmsnumber", "pmsref"]
        .iter()
        .find_map(|name| find(&[name]))
        .or_else(|| {
            let kinds: Vec<usize> = table
                .headers
                .iter()
                .enumerate()
                .filter(|(_, h)| {
                    [
                        "clientno",
                        "clientnumber",
                        "animalno",
                        "animalnumber",
                        "patientno",
                        "patientnumber",
                        "apptid",
                        "appointmentid",
                        "appointmentno",
                    ]
                    .contains(&norm(h).as_str())
                })
                .map(|(i, _)| i)
                .collect();
            (kinds.len() == 1).then(|| kinds[0])
        })
        .ok_or_else(|| {
            Error::invalid(
                "file",
                "has no PMS number column (\"PMS ID\", or one of \"Client No.\", \"Animal No.\" or \"Appt ID\")",
            )
        })?;
    Ok((id, pms))
}

/// The back-entry worklist: the records not yet entered in the PMS, grouped by animal (a client's own
/// record under the client), for a person to tick off as they type them in.
#[derive(Clone, Debug, PartialEq)]
pub struct Worklist {
    pub practice: String,
    pub outage_began: DateTime<Utc>,
    pub groups: Vec<WorklistGroup>,
    pub records: u32,
}

#[derive(Clone, Debug, PartialEq)]
pub struct WorklistGroup {
    /// "Biscuit (Dog) - Mrs Agatha Quillfeather", "Client: Ivy Ashdown", or "Other records".
    pub title: String,
    /// Oldest first.
    pub entries: Vec<LedgerEntry>,
}

fn worklist(conn: &Connection, missing: Vec<LedgerEntry>, practice: String, since: DateTime<Utc>) -> Result<Worklist> {
    // Groups in the order their first record happened; records by day within a group.
    let mut order: Vec<String> = Vec::new();
    let mut groups: HashMap<String, WorklistGroup> = HashMap::new();
    let records = missing.len() as u32;
    let animals: HashSet<String> = missing.iter().filter_map(|e| e.patient_id.clone()).collect();
    let mut owned = conn.prepare_cached("SELECT patient_id FROM ownership WHERE client_id = ?1 ORDER BY created_at")?;
    for e in missing {
        let (key, title) = match (&e.patient_id, e.kind.as_str()) {
            (Some(id), _) => (format!("p{id}"), None),
            (None, "Clients") => {
                // An owner's own record goes with their first animal on the list, if one is.
                let theirs: Vec<String> = owned.query_map([&e.id], |r| r.get(0))?.collect::<rusqlite::Result<_>>()?;
                match theirs.into_iter().find(|p| animals.contains(p)) {
                    Some(p) => (format!("p{p}"), None),
                    None => (format!("c{}", e.id), Some(format!("Client: {}", e.summary))),
                }
            }
            _ => ("other".to_string(), Some("Other records".to_string())),
        };
        let group = groups.entry(key.clone()).or_insert_with(|| {
            order.push(key.clone());
            WorklistGroup { title: title.unwrap_or_default(), entries: Vec::new() }
        });
        group.entries.push(e);
    }
    let mut out = Vec::new();
    for key in order {
        let Some(mut g) = groups.remove(&key) else { continue };
        if let Some(id) = key.strip_prefix('p') {
            let (name, species, owner): (String, String, Option<String>) = conn.query_row(
                "SELECT p.name, CASE p.species WHEN 'other' THEN p.species_other ELSE p.species END,
                        (SELECT trim(replace(c.title || ' ' || c.first_name || ' ' || c.last_name, '  ', ' '))
                         FROM ownership o JOIN client c ON c.id = o.client_id WHERE o.patient_id = p.id ORDER BY o.created_at LIMIT 1)
                 FROM patient p WHERE p.id = ?1",
                [id],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )?;
            let species =
                species.chars().next().map(|c| c.to_uppercase().collect::<String>() + &species[c.len_utf8()..]);
            g.title = match owner {
                Some(owner) => format!("{name} ({}) - {owner}", species.unwrap_or_default()),
                None => format!("{name} ({})", species.unwrap_or_default()),
            };
        }
        // The owner's record first, then by day.
        g.entries.sort_by_key(|e| (e.kind != "Clients", e.day));
        out.push((
            if key.starts_with('p') {
                0
            } else if key.starts_with('c') {
                1
            } else {
                2
            },
            g,
        ));
    }
    // Animals by name, then clients with no animal on the list, then the rest.
    out.sort_by_key(|(rank, g)| (*rank, g.title.to_lowercase()));
    let out = out.into_iter().map(|(_, g)| g).collect();
    Ok(Worklist { practice, outage_began: since, groups: out, records })
}

impl Store {
    /// Writes the back-entry worklist with `render` (the PDF is drawn outside the core) and notes it
    /// in the ledger as an export, marking the records it lists that were still captured as exported
    /// in it, in one write.
    pub fn export_worklist(
        &self,
        session: &Session,
        render: impl FnOnce(&Worklist) -> Result<Vec<u8>>,
    ) -> Result<Exported> {
        self.export_worklist_progress(session, &mut |_, _| {}, render)
    }

    /// `export_worklist`, telling `progress` when the records are gathered (0 of n) and when the
    /// worklist is written (n of n).
    pub fn export_worklist_progress(
        &self,
        session: &Session,
        progress: &mut dyn FnMut(u32, u32),
        render: impl FnOnce(&Worklist) -> Result<Vec<u8>>,
    ) -> Result<Exported> {
        self.write(session, |w| {
            w.authorize(Action::ExportRecords)?;
            let practice = practice::practice(w.tx())?.ok_or_else(|| Error::NotFound("the practice".into()))?;
            let since = practice.outage_began.ok_or_else(|| {
                Error::invalid("outage_began", "is not recorded: record when the outage began to list the backlog")
            })?;
            let missing: Vec<LedgerEntry> = entries(w.tx())?.into_iter().filter(|e| e.stage < Stage::Entered).collect();
            let ids: Vec<String> = missing.iter().map(|e| e.id.clone()).collect();
            let list = worklist(w.tx(), missing, practice.name, since)?;
            progress(0, list.records);
            let bytes = render(&list)?;
            let (export_id, marked) =
                w.record_export("worklist", "backlog", Some(since), list.records, &bytes, &ids)?;
            progress(list.records, list.records);
            Ok(Exported { bytes, rows: list.records, export_id, marked })
        })
    }

    /// The ledger (managers), with the records `filter` chooses.
    pub fn ledger(&self, session: &Session, filter: &LedgerFilter) -> Result<Ledger> {
        self.read_as(session, Action::ReconcileRecords, |r| ledger(r, filter))
    }

    pub fn mark_entered(&self, session: &Session, marks: &[EnteredMark]) -> Result<Marked> {
        if marks.len() > 50_000 {
            return Err(Error::invalid("marks", "more than 50,000 at once"));
        }
        self.write(session, |w| w.mark_entered(marks))
    }

    pub fn mark_verified(&self, session: &Session, record_ids: &[String]) -> Result<Marked> {
        if record_ids.len() > 50_000 {
            return Err(Error::invalid("record_ids", "more than 50,000 at once"));
        }
        self.write(session, |w| w.mark_verified(record_ids))
    }

    /// Marks records entered from a CSV of Lifeboat ids and PMS numbers (`file` names it in errors).
    pub fn mark_entered_from_file(&self, session: &Session, file: &str, bytes: &[u8]) -> Result<Marked> {
        let table = table::read(file, bytes)?;
        self.write(session, |w| w.mark_entered_from_file(&table))
    }
}
