//! Applying changes received from other nodes (SYNC.md): the second way changes reach the tables,
//! beside the write path. The permission check happened on the node that made the change (its
//! actor and role travel with it); here each change is checked (content hash, no duplicate with other
//! content, no reused or skipped sequence number), written to the journal, and merged into the rows,
//! all in one transaction per batch:
//!
//! - mutable records merge field by field: the value with the later clock (HLC, then node id) wins,
//!   whatever order changes arrive in; two changes to a field that matters, made without seeing each
//!   other (the same base), raise a conflict, and the losing value stays in the journal;
//! - clinical records and other append-only records are inserted if absent and never changed; a
//!   signature carries the content it signed, which every node ends with;
//! - a change that cannot be applied yet (its record has not arrived) or at all (a rule refuses it) is
//!   quarantined with the reason, never dropped, and retried after every batch;
//! - after the batch, double bookings and duplicate registrations are looked for, deterministically.
//!
//! Received changes get no audit entries here: each is already in the audit chain of the node that
//! made it, and its content hash is checked on arrival and by `verify`.

use std::collections::HashMap;

use lifeboat_protocol::{canonical, Change};
use rusqlite::types::Value as Sql;
use rusqlite::{params, params_from_iter, Connection, OptionalExtension};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use uuid::Uuid;

use crate::error::{Error, Result};
use crate::reception::appointment::MAX_MINUTES;
use crate::replica::conflicts;
use crate::store::clocks::{self, FieldClock};
use crate::store::database::Store;
use crate::store::hlc::{self, Stamp};
use crate::store::journal::{self, Received};
use crate::store::migrations::SCHEMA_VERSION;
use crate::store::search_index;
use crate::store::write::Entity;
use crate::time;

/// How far ahead of this PC's clock a received stamp may pull its hybrid clock (SYNC.md): a peer
/// whose clock is wrong by more is accepted, but reported.
pub const CLOCK_BOUND_MILLIS: u64 = 5 * 60 * 1000;

/// When the search index takes in the clients a batch touched.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Index {
    /// In the batch's own transaction.
    Now,
    /// Later, by `Store::index_pending` (a pull of many pages: see `search_pending`).
    Later,
}

/// Whether a batch's transaction takes all its changes, or gives way to the app's own writes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Turn {
    /// All of them, however long it takes.
    Whole,
    /// It ends after the change in hand when another thread waits to write (at least one taken).
    GivesWay,
}

/// What a batch of received changes did.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Applied {
    pub new: u32,
    pub duplicates: u32,
    /// Changes kept aside (with the reason) because they cannot be applied (yet).
    pub quarantined: u32,
    /// Conflicts raised by this batch.
    pub conflicts: u32,
    /// Set when a change came stamped further ahead of this PC's clock than the bound.
    pub clock_warning: Option<String>,
    /// How long the batch held the database for writing, not counting the wait for it: what the
    /// sync engine sizes its transactions by (the app's own writes wait that long at most).
    #[serde(skip)]
    pub held: std::time::Duration,
    /// How many of the changes given were taken (the others are for the next transaction): all of
    /// them, unless the batch yields to the app's own writes (`Store::apply_page`).
    #[serde(skip)]
    pub taken: usize,
}

/// The table of each kind of record, and the columns only this database keeps (never synced).
fn table(entity: Entity) -> Option<&'static str> {
    Some(match entity {
        Entity::Practice => "practice",
        Entity::Premises => "premises",
        Entity::Staff => "staff",
        Entity::Client => "client",
        Entity::Patient => "patient",
        Entity::Ownership => "ownership",
        Entity::Appointment => "appointment",
        Entity::Consultation => "consultation",
        Entity::Addendum => "addendum",
        Entity::Void => "clinical_void",
        Entity::Product => "product",
        Entity::Prescription => "prescription",
        Entity::Dispensing => "dispensing",
        Entity::CdEntry => "cd_entry",
        Entity::Charge => "charge",
        Entity::Fee => "fee",
        Entity::Handover => "handover",
        Entity::ExportBatch => "export_batch",
        Entity::LedgerMark => "ledger_mark",
        Entity::DuplicateDecision => "duplicate_decision",
        Entity::OutageClosure => "outage_closure",
        Entity::PurgeRun => "purge_run",
        Entity::LabTest => "lab_test",
        Entity::LabRequest => "lab_request",
        Entity::LabResult => "lab_result",
        Entity::Payment => "payment",
        Entity::CardRun => "card_run",
        Entity::CashUp => "cash_up",
        Entity::InsuranceClaim => "insurance_claim",
        Entity::NumberBlock => "number_block",
        Entity::WorkingHours | Entity::Resolution | Entity::SignIn | Entity::KeyChange => return None,
    })
}

/// Fields whose concurrent change is a conflict for a person, not just a merge.
fn matters(entity: Entity, field: &str) -> bool {
    match entity {
        Entity::Appointment => matches!(field, "starts_at" | "ends_at" | "clinician_id" | "status"),
        Entity::Client => matches!(field, "phone" | "phone_alt" | "email" | "address_line1" | "postcode"),
        Entity::Patient => matches!(field, "microchip" | "alerts" | "deceased_on"),
        _ => false,
    }
}

/// A JSON value as an SQLite value.
fn sql(v: &Value) -> Sql {
    match v {
        Value::Null => Sql::Null,
        Value::Bool(b) => Sql::Integer(*b as i64),
        Value::Number(n) => match n.as_i64() {
            Some(i) => Sql::Integer(i),
            None => Sql::Real(n.as_f64().unwrap_or(0.0)),
        },
        Value::String(s) => Sql::Text(s.clone()),
        other => Sql::Text(canonical::json(other)),
    }
}

/// The columns of a table (cached per batch).
struct Columns(HashMap<&'static str, std::rc::Rc<std::collections::HashSet<String>>>);

impl Columns {
    fn of(&mut self, conn: &Connection, table: &'static str) -> Result<std::rc::Rc<std::collections::HashSet<String>>> {
        if !self.0.contains_key(table) {
            let mut stmt = conn.prepare(&format!("SELECT name FROM pragma_table_info('{table}')"))?;
            let names = stmt.query_map([], |r| r.get::<_, String>(0))?.collect::<rusqlite::Result<_>>()?;
            self.0.insert(table, std::rc::Rc::new(names));
        }
        Ok(self.0[table].clone())
    }
}

/// Why a change was kept aside.
enum Outcome {
    Done,
    /// Retried after the batch: its record (or something it refers to) has not arrived yet.
    Waiting(String),
    /// Refused by a rule of the domain; kept with the reason.
    Refused(String),
}

struct Batch<'c> {
    conn: &'c Connection,
    columns: Columns,
    now: String,
    conflicts: u32,
    /// The username a staff account being created takes here, when another account holds its own.
    renamed: Option<String>,
    /// Records whose rows changed in this batch through a change that had waited (their journal
    /// entries are older than the batch): the conflict checks look at them too.
    late: Vec<(String, Uuid)>,
    /// Each node's numbering, kept in memory while the batch runs.
    counters: journal::Counters,
    /// Clients whose search index entry must be rewritten once the batch's rows are in.
    reindex: std::collections::BTreeSet<Uuid>,
    /// Those of them whose words must go in this transaction even when the index catches up later
    /// (`Index::Later`): a client purged or merged away, or an owner of an animal that was. A
    /// purge's words must not outlive the journal copies it blanks.
    urgent: std::collections::BTreeSet<Uuid>,
}

impl Store {
    /// Applies changes received from another node (see the module documentation), in one
    /// transaction: all of the batch, or nothing of it. Changes of one node must come in its order.
    pub fn apply_changes(&self, changes: &[Change]) -> Result<Applied> {
        self.apply_changes_then(changes, Index::Now, Turn::Whole, |_, _| Ok(()))
    }

    /// `apply_changes`, then `also` in the same transaction (moving a pull cursor, say), told how
    /// many of the changes were taken. With `Turn::GivesWay`, the transaction ends early, after the
    /// change in hand, when another thread waits to write (the person's own writes come first):
    /// at least one change is taken, and the caller gives the rest again.
    pub(crate) fn apply_changes_then(
        &self,
        changes: &[Change],
        index: Index,
        turn: Turn,
        also: impl FnOnce(&Connection, usize) -> Result<()>,
    ) -> Result<Applied> {
        self.refuse_in_drill("taking in changes from other PCs or the hub")?;
        let mut conn = self.lock_writer();
        let started = std::time::Instant::now();
        // Received changes need not wait for the disk at each commit: WAL keeps the database whole
        // whatever happens, and changes lost to a power cut are fetched again, because the pull
        // cursor moves in the same transaction. The app's own writes stay fully durable.
        conn.pragma_update(None, "synchronous", "NORMAL")?;
        let result = self.apply_in(&mut conn, changes, index, turn, also);
        conn.pragma_update(None, "synchronous", "FULL")?;
        result.map(|applied| Applied { held: started.elapsed(), ..applied })
    }

    fn apply_in(
        &self,
        conn: &mut Connection,
        changes: &[Change],
        index: Index,
        turn: Turn,
        also: impl FnOnce(&Connection, usize) -> Result<()>,
    ) -> Result<Applied> {
        let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        let now = self.clock.now();
        let mut batch = Batch {
            conn: &tx,
            columns: Columns(HashMap::new()),
            now: time::stored(now),
            conflicts: 0,
            renamed: None,
            late: Vec::new(),
            counters: journal::Counters::default(),
            reindex: Default::default(),
            urgent: Default::default(),
        };
        let mut applied = Applied::default();
        let mut latest = 0i64;
        // The newest stamp received from each node, to tell whose clock is wrong and when it is right.
        let mut newest: HashMap<Uuid, i64> = HashMap::new();
        for change in changes {
            if turn == Turn::GivesWay && applied.taken > 0 && self.writer_wanted() {
                break;
            }
            applied.taken += 1;
            match journal::receive(&tx, &mut batch.counters, change, &batch.now)? {
                Received::Duplicate => {
                    applied.duplicates += 1;
                    continue;
                }
                Received::New => applied.new += 1,
            }
            latest = latest.max(change.hlc);
            let n = newest.entry(change.node_id).or_insert(0);
            *n = (*n).max(change.hlc);
            match batch.apply(change)? {
                Outcome::Done => {}
                Outcome::Waiting(reason) | Outcome::Refused(reason) => {
                    quarantine(&tx, change.op_id, &reason, &batch.now)?;
                    applied.quarantined += 1;
                }
            }
        }
        // Changes that waited for a record may now find it.
        applied.quarantined -= batch.retry_waiting()?.min(applied.quarantined);
        batch.counters.save(&tx)?;
        let touched = std::mem::take(&mut batch.reindex);
        let urgent = std::mem::take(&mut batch.urgent);
        match index {
            Index::Now => search_index::reindex_clients(&tx, &touched.into_iter().collect::<Vec<_>>())?,
            Index::Later => {
                search_index::reindex_clients(&tx, &urgent.iter().copied().collect::<Vec<_>>())?;
                for client in touched.difference(&urgent) {
                    search_index::defer(&tx, *client)?;
                }
            }
        }
        applied.conflicts = batch.conflicts + conflicts::refresh(&tx, &batch.now, &batch.late)?;
        // The hybrid clock moves past what was received, but never more than the bound past this PC's
        // own clock.
        let wall = now.timestamp_millis().max(0) as u64;
        let mut stamp = hlc::load(&tx)?;
        let received = Stamp::from_raw(latest);
        let bound = Stamp::new(wall + CLOCK_BOUND_MILLIS, 0);
        let culprit: Option<String> = tx
            .prepare_cached("SELECT value FROM local_setting WHERE key = 'clock_warning_node'")?
            .query_row([], |r| r.get(0))
            .optional()?;
        if received > bound {
            applied.clock_warning = Some(format!(
                "a change arrived stamped {} minutes ahead of this PC's clock: one of the practice's clocks is wrong",
                (received.millis() - wall) / 60_000
            ));
            let node = newest.iter().max_by_key(|(_, h)| **h).map(|(n, _)| n.to_string()).unwrap_or_default();
            for (key, value) in
                [("clock_warning", applied.clock_warning.clone().unwrap_or_default()), ("clock_warning_node", node)]
            {
                tx.prepare_cached(
                    "INSERT INTO local_setting (key, value) VALUES (?1, ?2) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                )?
                .execute(params![key, value])?;
            }
        } else if let Some(node) = culprit.and_then(|n| Uuid::parse_str(&n).ok()) {
            // The PC whose clock was wrong now stamps within the bound: its clock has been put right.
            if newest.contains_key(&node) {
                tx.execute("DELETE FROM local_setting WHERE key IN ('clock_warning', 'clock_warning_node')", [])?;
            }
        }
        stamp = stamp.max(received.min(bound));
        hlc::save(&tx, stamp)?;
        also(&tx, applied.taken)?;
        tx.commit()?;
        Ok(applied)
    }
}

fn quarantine(conn: &Connection, op: Uuid, reason: &str, at: &str) -> Result<()> {
    conn.execute(
        "INSERT INTO quarantine (op_id, reason, at) VALUES (?1, ?2, ?3) ON CONFLICT (op_id) DO UPDATE SET reason = excluded.reason",
        params![op.to_string(), reason, at],
    )?;
    Ok(())
}

impl Batch<'_> {
    fn apply(&mut self, c: &Change) -> Result<Outcome> {
        if c.schema_version > SCHEMA_VERSION {
            return Ok(Outcome::Refused(format!(
                "made by a newer Lifeboat (schema {}); install the newer version to apply it",
                c.schema_version
            )));
        }
        let Some(entity) = Entity::parse(&c.entity) else {
            return Ok(Outcome::Refused(format!("unknown kind of record {:?}", c.entity)));
        };
        let Some(fields) = c.payload.as_object() else {
            return Ok(Outcome::Refused("the change has no fields".into()));
        };
        // The apply itself runs in a savepoint, so a refused change leaves no half-written rows.
        self.conn.prepare_cached("SAVEPOINT change")?.execute([])?;
        let outcome = match self.apply_entity(entity, c, fields) {
            Ok(outcome) => outcome,
            Err(Error::Storage(e)) => Outcome::Refused(format!("the database refused it: {e}")),
            Err(e) => return Err(e),
        };
        let outcome = match outcome {
            Outcome::Done if entity == Entity::Appointment => Self::bookable_times(c),
            other => other,
        };
        match outcome {
            Outcome::Done => self.conn.prepare_cached("RELEASE change")?.execute([])?,
            _ => {
                self.conn.prepare_cached("ROLLBACK TO change")?.execute([])?;
                self.conn.prepare_cached("RELEASE change")?.execute([])?
            }
        };
        Ok(outcome)
    }

    fn apply_entity(&mut self, entity: Entity, c: &Change, fields: &Map<String, Value>) -> Result<Outcome> {
        match entity {
            Entity::WorkingHours => self.working_hours(c, fields),
            // A sign-in on another PC: its journal entry is the whole record.
            Entity::SignIn | Entity::KeyChange => Ok(Outcome::Done),
            Entity::Resolution => conflicts::apply_resolution(self.conn, c, fields, &self.now).map(|_| Outcome::Done),
            Entity::Consultation if c.kind == "update" => self.consultation(c, fields),
            e if c.kind == "create" => self.create(e, c, fields),
            e if e.is_mutable() => self.update(e, c, fields),
            e => Ok(Outcome::Refused(format!("a {} is never changed once made", e.as_str()))),
        }
    }

    fn create(&mut self, entity: Entity, c: &Change, fields: &Map<String, Value>) -> Result<Outcome> {
        let table = table(entity).ok_or_else(|| Error::Internal(format!("no table for {}", entity.as_str())))?;
        let mut id = c.entity_id;
        if entity == Entity::Ownership {
            // An owner is linked to an animal once, whoever linked them first and under whatever id:
            // the link is the pair. (The first release named a link by its animal, so two owners of
            // one animal came under one id; the second then gets an id derived from the pair.)
            let text = |k: &str| fields.get(k).and_then(Value::as_str).unwrap_or_default().to_string();
            let (client, patient) = (text("client_id"), text("patient_id"));
            let linked: bool = self
                .conn
                .prepare_cached("SELECT EXISTS (SELECT 1 FROM ownership WHERE client_id = ?1 AND patient_id = ?2)")?
                .query_row(params![client, patient], |r| r.get(0))?;
            if linked {
                return Ok(Outcome::Done);
            }
            let taken: bool = self
                .conn
                .prepare_cached("SELECT EXISTS (SELECT 1 FROM ownership WHERE id = ?1)")?
                .query_row([id.to_string()], |r| r.get(0))?;
            if taken {
                id = derived_id("ownership", &[&client, &patient]);
            }
        } else {
            let exists: bool = self
                .conn
                .prepare_cached(&format!("SELECT EXISTS (SELECT 1 FROM {table} WHERE id = ?1)"))?
                .query_row([id.to_string()], |r| r.get(0))?;
            if exists {
                return Ok(Outcome::Done);
            }
        }
        if entity == Entity::Staff {
            self.make_room_for_username(c, fields)?;
        }
        let columns = self.columns.of(self.conn, table)?;
        let stamped = time::stored(
            chrono::DateTime::from_timestamp_millis(Stamp::from_raw(c.hlc).millis() as i64).unwrap_or_default(),
        );
        let mut names = vec!["id".to_string()];
        let mut values = vec![Sql::Text(id.to_string())];
        let renamed = self.renamed.take();
        for (name, value) in fields {
            if !columns.contains(name) {
                return Ok(Outcome::Refused(format!("{table} has no field {name} in this version")));
            }
            names.push(name.clone());
            match (&renamed, name.as_str()) {
                (Some(username), "username") => values.push(Sql::Text(username.clone())),
                _ => values.push(sql(value)),
            }
        }
        for local in ["created_at", "updated_at"] {
            if columns.contains(local) && !fields.contains_key(local) {
                names.push(local.into());
                values.push(Sql::Text(stamped.clone()));
            }
        }
        if entity == Entity::Client {
            names.push("search_rowid".into());
            let next: i64 = self
                .conn
                .prepare_cached("SELECT coalesce(max(search_rowid), 0) + 1 FROM client")?
                .query_row([], |r| r.get(0))?;
            values.push(Sql::Integer(next));
        }
        let marks = vec!["?"; names.len()].join(", ");
        let inserted = self
            .conn
            .prepare_cached(&format!("INSERT INTO {table} ({}) VALUES ({marks})", names.join(", ")))
            .and_then(|mut stmt| stmt.execute(params_from_iter(values)));
        if let Err(e) = inserted {
            return Ok(match e.sqlite_error_code() {
                Some(rusqlite::ErrorCode::ConstraintViolation) if e.to_string().contains("FOREIGN KEY") => {
                    Outcome::Waiting(format!("waits for a record it refers to: {e}"))
                }
                _ => Outcome::Refused(format!("the database refused it: {e}")),
            });
        }
        if entity.is_mutable() {
            // A new record: no clocks yet (an update of it waits for it), so every field takes the
            // create's clock.
            let clock = FieldClock { hlc: c.hlc, node: c.node_id.to_string() }.to_json();
            // (`created_at` is set once and never merged: it has no clock, as on the node that made it.)
            let clocks: Map<String, Value> =
                fields.keys().filter(|name| *name != "created_at").map(|name| (name.clone(), clock.clone())).collect();
            clocks::save(self.conn, entity.as_str(), id, &clocks)?;
        }
        self.after_change(entity, c.entity_id, fields)?;
        Ok(Outcome::Done)
    }

    /// Two accounts made with one username on two computers while apart: the account created first
    /// (by clock, then node) keeps the username on every node, and the other is known here by the
    /// username with the first characters of its id added (`j.smith~01a2b3`), shown in the staff list,
    /// until a manager renames it. Usernames must stay unique for logging in.
    fn make_room_for_username(&mut self, c: &Change, fields: &Map<String, Value>) -> Result<()> {
        let Some(username) = fields.get("username").and_then(Value::as_str) else { return Ok(()) };
        let holder: Option<String> = self
            .conn
            .prepare_cached("SELECT id FROM staff WHERE username = ?1")?
            .query_row([username], |r| r.get(0))
            .optional()?;
        let Some(holder) = holder else { return Ok(()) };
        let holder_id = Uuid::parse_str(&holder).map_err(|_| Error::DamagedRecord(format!("staff id {holder:?}")))?;
        let holder_clock: Option<(i64, String)> = self
            .conn
            .prepare_cached("SELECT hlc, node_id FROM journal WHERE entity = 'staff' AND entity_id = ?1 AND kind = 'create' LIMIT 1")?
            .query_row([&holder], |r| Ok((r.get(0)?, r.get(1)?)))
            .optional()?;
        let incoming = (c.hlc, c.node_id.to_string());
        let suffixed = |id: Uuid| format!("{username}~{}", &id.simple().to_string()[..6]);
        if holder_clock.is_some_and(|h| h > incoming) {
            // The incoming account is the older: the one here steps aside.
            self.conn.execute("UPDATE staff SET username = ?2 WHERE id = ?1", params![holder, suffixed(holder_id)])?;
        } else {
            // The incoming account steps aside: its row takes the suffixed username.
            self.renamed = Some(suffixed(c.entity_id));
        }
        Ok(())
    }

    /// Merges an update field by field.
    fn update(&mut self, entity: Entity, c: &Change, fields: &Map<String, Value>) -> Result<Outcome> {
        let table = table(entity).ok_or_else(|| Error::Internal(format!("no table for {}", entity.as_str())))?;
        let exists: bool = self
            .conn
            .prepare_cached(&format!("SELECT EXISTS (SELECT 1 FROM {table} WHERE id = ?1)"))?
            .query_row([c.entity_id.to_string()], |r| r.get(0))?;
        if !exists {
            return Ok(Outcome::Waiting(format!("waits for the {} it changes", entity.as_str())));
        }
        let columns = self.columns.of(self.conn, table)?;
        let clock = FieldClock { hlc: c.hlc, node: c.node_id.to_string() };
        let mut clocks = clocks::load(self.conn, entity.as_str(), c.entity_id)?;
        let mut winners = Vec::new();
        for (name, value) in fields {
            if !columns.contains(name) {
                return Ok(Outcome::Refused(format!("{table} has no field {name} in this version")));
            }
            let current = clocks.get(name).and_then(FieldClock::from_json);
            if current.as_ref().is_none_or(|old| *old < clock) {
                winners.push((name.clone(), value.clone()));
                clocks.insert(name.clone(), clock.to_json());
            }
            if matters(entity, name) {
                self.concurrent(entity, c, name)?;
            }
        }
        if !winners.is_empty() {
            let set = winners
                .iter()
                .enumerate()
                .map(|(i, (n, _))| format!("{n} = ?{}", i + 2))
                .collect::<Vec<_>>()
                .join(", ");
            let mut values = vec![Sql::Text(c.entity_id.to_string())];
            values.extend(winners.iter().map(|(_, v)| sql(v)));
            let updated = self
                .conn
                .prepare_cached(&format!("UPDATE {table} SET {set} WHERE id = ?1"))
                .and_then(|mut stmt| stmt.execute(params_from_iter(values)));
            if let Err(e) = updated {
                return Ok(Outcome::Refused(format!("the database refused it: {e}")));
            }
            clocks::save(self.conn, entity.as_str(), c.entity_id, &clocks)?;
            let changed: Map<String, Value> = winners.into_iter().collect();
            if changed.contains_key("purged_at") {
                // The purge after the outage: this PC's journal keeps no older copy of the details.
                journal::redact(self.conn, entity.as_str(), &c.entity_id.to_string(), Some(c.op_id), c.hlc, &self.now)?;
            }
            self.after_change(entity, c.entity_id, &changed)?;
        }
        Ok(Outcome::Done)
    }

    /// Another change from another node that replaced the same version of `field` with another value:
    /// both were made without seeing each other.
    fn concurrent(&mut self, entity: Entity, c: &Change, field: &str) -> Result<()> {
        let base = c.base.get(field).cloned().unwrap_or(Value::Null);
        let mine = c.payload.get(field).cloned().unwrap_or(Value::Null);
        for other in journal::of_entity(self.conn, entity.as_str(), c.entity_id)? {
            if other.op_id == c.op_id || other.node_id == c.node_id || other.kind != "update" {
                continue;
            }
            let (Some(theirs), Some(their_base)) =
                (other.payload.get(field), other.base.get(field).or(Some(&Value::Null)))
            else {
                continue;
            };
            if *their_base == base && *theirs != mine {
                let detail = format!("{field} changed to two different values on two computers at once");
                self.raise("concurrent_edit", entity.as_str(), [c.op_id, other.op_id], &detail)?;
            }
        }
        Ok(())
    }

    /// A consultation's draft or signature. A signature carries the whole content it signed and sets
    /// it whatever the clocks say (a draft change is never applied to a signed record). A draft change
    /// made on another computer that the signer had not seen, with other content, raises a conflict on
    /// every node alike: the notes it carried stay in the journal and are shown beside the signed ones.
    /// The same consultation signed on two computers (only its own clinician can sign it, so both in
    /// one person's hands) keeps the earlier signature (by clock, then node) on every node, and raises
    /// a conflict.
    fn consultation(&mut self, c: &Change, fields: &Map<String, Value>) -> Result<Outcome> {
        let row: Option<Option<String>> = self
            .conn
            .query_row("SELECT signed_hash FROM consultation WHERE id = ?1", [c.entity_id.to_string()], |r| r.get(0))
            .optional()?;
        let Some(signed_hash) = row else {
            return Ok(Outcome::Waiting("waits for the consultation it changes".into()));
        };
        let history = journal::of_entity(self.conn, "consultation", c.entity_id)?;
        let is_signature = |e: &Change| e.kind == "update" && e.payload.get("signed_at").is_some();
        if is_signature(c) {
            let standing = history
                .iter()
                .find(|e| {
                    e.op_id != c.op_id
                        && is_signature(e)
                        && e.payload.get("signed_hash").and_then(Value::as_str) == signed_hash.as_deref()
                })
                .cloned();
            let replacing = match &standing {
                Some(standing) => {
                    self.raise("after_signing", "consultation", [standing.op_id, c.op_id], "signed on two computers")?;
                    // The earlier signature stands on every node.
                    if (c.hlc, c.node_id) > (standing.hlc, standing.node_id) {
                        return Ok(Outcome::Done);
                    }
                    true
                }
                None => false,
            };
            if replacing {
                self.conn
                    .prepare_cached("INSERT INTO signature_replacement (consultation_id) VALUES (?1)")?
                    .execute([c.entity_id.to_string()])?;
            }
            let set =
                fields.keys().enumerate().map(|(i, n)| format!("{n} = ?{}", i + 2)).collect::<Vec<_>>().join(", ");
            let mut values = vec![Sql::Text(c.entity_id.to_string())];
            values.extend(fields.values().map(sql));
            self.conn.execute(&format!("UPDATE consultation SET {set} WHERE id = ?1"), params_from_iter(values))?;
            if replacing {
                self.conn
                    .prepare_cached("DELETE FROM signature_replacement WHERE consultation_id = ?1")?
                    .execute([c.entity_id.to_string()])?;
            }
            let clock = FieldClock { hlc: c.hlc, node: c.node_id.to_string() };
            let mut clocks = clocks::load(self.conn, "consultation", c.entity_id)?;
            for name in fields.keys() {
                clocks.insert(name.clone(), clock.to_json());
            }
            clocks::save(self.conn, "consultation", c.entity_id, &clocks)?;
            for draft in history.iter().filter(|e| e.kind == "update" && !is_signature(e)) {
                if unseen_by(c, draft) {
                    self.raise(
                        "after_signing",
                        "consultation",
                        [c.op_id, draft.op_id],
                        "changed on another computer while it was being signed",
                    )?;
                }
            }
            return Ok(Outcome::Done);
        }
        if signed_hash.is_some() {
            let standing = history.iter().find(|e| {
                is_signature(e) && e.payload.get("signed_hash").and_then(Value::as_str) == signed_hash.as_deref()
            });
            if let Some(signature) = standing {
                if unseen_by(signature, c) {
                    self.raise(
                        "after_signing",
                        "consultation",
                        [signature.op_id, c.op_id],
                        "changed on another computer while it was being signed",
                    )?;
                }
            }
            return Ok(Outcome::Done);
        }
        self.update(Entity::Consultation, c, fields)
    }

    /// A received appointment's times, as the change itself gives them (so that every node decides
    /// alike, whatever it held before): in the stored form, the end after the start, and no longer
    /// than booking allows (the double-booking check relies on it; no Lifeboat makes a longer one,
    /// and a move sends start and end together). A change of one end alone (an older release's) is
    /// left to the merge.
    fn bookable_times(c: &Change) -> Outcome {
        let text = |k: &str| c.payload.get(k).and_then(Value::as_str);
        let (Some(start), Some(end)) = (text("starts_at"), text("ends_at")) else {
            return Outcome::Done;
        };
        let (Ok(start), Ok(end)) = (time::parse_stored(start), time::parse_stored(end)) else {
            return Outcome::Refused("the appointment's start or end is not a time in the stored form".into());
        };
        let length = end - start;
        if length <= chrono::Duration::zero() {
            Outcome::Refused("the appointment ends before it starts".into())
        } else if length > chrono::Duration::minutes(MAX_MINUTES.into()) {
            Outcome::Refused(format!(
                "an appointment of {} minutes is longer than a booking may be ({MAX_MINUTES} minutes)",
                length.num_minutes()
            ))
        } else {
            Outcome::Done
        }
    }

    fn raise(&mut self, kind: &str, entity: &str, members: [Uuid; 2], detail: &str) -> Result<()> {
        if conflicts::raise(self.conn, kind, entity, &members, detail, &self.now)? {
            self.conflicts += 1;
        }
        Ok(())
    }

    /// A clinician's week, replaced as a whole (one field, `days`).
    fn working_hours(&mut self, c: &Change, fields: &Map<String, Value>) -> Result<Outcome> {
        let clock = FieldClock { hlc: c.hlc, node: c.node_id.to_string() };
        let mut clocks = clocks::load(self.conn, "working_hours", c.entity_id)?;
        if clocks.get("days").and_then(FieldClock::from_json).is_some_and(|old| old > clock) {
            return Ok(Outcome::Done);
        }
        let Some(days) = fields.get("days").and_then(Value::as_array) else {
            return Ok(Outcome::Refused("working hours without days".into()));
        };
        self.conn.execute("DELETE FROM working_hours WHERE clinician_id = ?1", [c.entity_id.to_string()])?;
        for d in days {
            let n = |k: &str| d.get(k).and_then(Value::as_i64).unwrap_or(-1);
            self.conn.execute(
                "INSERT INTO working_hours (clinician_id, weekday, start_minute, end_minute) VALUES (?1, ?2, ?3, ?4)",
                params![c.entity_id.to_string(), n("weekday"), n("start_minute"), n("end_minute")],
            )?;
        }
        clocks.insert("days".into(), clock.to_json());
        clocks::save(self.conn, "working_hours", c.entity_id, &clocks)?;
        Ok(Outcome::Done)
    }

    /// Keeps derived data in step: notes the clients whose search index entry is rewritten at the end
    /// of the batch (once each, however many of their records changed).
    fn after_change(&mut self, entity: Entity, id: Uuid, fields: &Map<String, Value>) -> Result<()> {
        let gone = fields.contains_key("purged_at") || fields.contains_key("merged_into");
        match entity {
            Entity::Client => {
                self.reindex.insert(id);
                if gone {
                    self.urgent.insert(id);
                }
            }
            Entity::Patient
                if gone
                    || fields.contains_key("name")
                    || fields.contains_key("microchip")
                    || fields.contains_key("deceased_on") =>
            {
                let mut stmt = self.conn.prepare_cached("SELECT client_id FROM ownership WHERE patient_id = ?1")?;
                let owners = stmt
                    .query_map([id.to_string()], |r| crate::store::row::uuid(r, 0))?
                    .collect::<rusqlite::Result<Vec<_>>>()?;
                if gone {
                    self.urgent.extend(owners.iter().copied());
                }
                self.reindex.extend(owners);
            }
            // A purge made on another PC: this PC's continuity packs and drill reports hold copies of
            // what it blanked. (The tables are `views::continuity`'s and `drill`'s, a layer above.)
            Entity::PurgeRun => {
                self.conn.execute("DELETE FROM continuity_pack", [])?;
                self.conn.execute("DELETE FROM drill WHERE ended_at IS NOT NULL", [])?;
            }
            Entity::Ownership => {
                if let Some(client) =
                    fields.get("client_id").and_then(Value::as_str).and_then(|s| Uuid::parse_str(s).ok())
                {
                    self.reindex.insert(client);
                }
            }
            _ => {}
        }
        Ok(())
    }

    /// Tries the changes kept aside again (those waiting for a record, and those refused, which a newer
    /// version or a later change may now accept); returns how many now applied.
    fn retry_waiting(&mut self) -> Result<u32> {
        let mut done = 0;
        loop {
            let mut stmt = self.conn.prepare(
                "SELECT j.op_id FROM quarantine q JOIN journal j ON j.op_id = q.op_id ORDER BY j.hlc, j.node_id",
            )?;
            let waiting =
                stmt.query_map([], |r| crate::store::row::uuid(r, 0))?.collect::<rusqlite::Result<Vec<_>>>()?;
            drop(stmt);
            let mut progress = false;
            for op in waiting {
                let change = change_by_id(self.conn, op)?;
                if let Outcome::Done = self.apply(&change)? {
                    self.conn.execute("DELETE FROM quarantine WHERE op_id = ?1", [op.to_string()])?;
                    self.late.push((change.entity.clone(), change.entity_id));
                    done += 1;
                    progress = true;
                }
            }
            if !progress {
                return Ok(done);
            }
        }
    }
}

fn change_by_id(conn: &Connection, op: Uuid) -> Result<Change> {
    let seq: i64 = conn.query_row("SELECT seq FROM journal WHERE op_id = ?1", [op.to_string()], |r| r.get(0))?;
    journal::since(conn, seq - 1, 1)?.pop().map(|e| e.change).ok_or_else(|| Error::NotFound(format!("change {op}")))
}

/// Whether `draft` (a change to a consultation's draft) was made on another computer without the
/// signer of `signature` having seen it, and carried content the signature does not: for some field,
/// the signature's base (the clock of the value it replaced) is older than the draft's.
fn unseen_by(signature: &Change, draft: &Change) -> bool {
    if draft.node_id == signature.node_id {
        return false;
    }
    let clock = FieldClock { hlc: draft.hlc, node: draft.node_id.to_string() };
    draft.payload.as_object().into_iter().flatten().any(|(field, value)| {
        let seen = signature.base.get(field).and_then(FieldClock::from_json).is_some_and(|base| base >= clock);
        !seen && signature.payload.get(field).is_some_and(|signed| signed != value)
    })
}

/// An id derived from what a record is about, the same on every node.
fn derived_id(kind: &str, parts: &[&str]) -> Uuid {
    use sha2::{Digest, Sha256};
    let digest = Sha256::digest(format!("lifeboat-{kind}|{}", parts.join("|")).as_bytes());
    let mut bytes = [0u8; 16];
    bytes.copy_from_slice(&digest[..16]);
    Uuid::new_v8(bytes)
}
