//! The one way to change practice data (ARCHITECTURE.md, invariant 2). `Store::write` opens one
//! `BEGIN IMMEDIATE` transaction on the writer connection, reads the acting person's role from the
//! database (refusing an unknown or deactivated account), and hands the change a `Write`. The
//! change is made of **operations** (`Write::register_client`, `Write::sign_consultation`, ...),
//! each defined beside its entity, and each
//!
//! 1. checks the actor's permission for its own `Action` (`Write::authorize`),
//! 2. validates its input,
//! 3. writes its rows through the crate-private `Write::tx`,
//! 4. records what it changed (`Write::record`), which is refused unless that action was
//!    authorized in this write.
//!
//! Then the write path appends a journal entry and an audit entry per recorded change and commits.
//! If any step fails, the transaction is rolled back and nothing is written. Nothing outside the
//! core can reach the transaction or a row helper: the operations are the only doors.

use chrono::{DateTime, NaiveDate, Utc};
use rusqlite::{Connection, OptionalExtension, Transaction, TransactionBehavior};
use serde_json::{Map, Value};
use uuid::Uuid;

use crate::error::{Error, Result};
use crate::permission::Action;
use crate::session::Session;
use crate::store::actor::Actor;
use crate::store::audit::{self, NewAuditEntry};
use crate::store::clocks;
use crate::store::database::Store;
use crate::store::hlc::{self, Stamp};
use crate::store::journal::{self, NewEntry};
use crate::store::migrations::SCHEMA_VERSION;

/// The kinds of record the journal knows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Entity {
    Practice,
    Premises,
    Staff,
    Client,
    Patient,
    Ownership,
    Appointment,
    WorkingHours,
    Consultation,
    Addendum,
    Void,
    Product,
    Prescription,
    Dispensing,
    CdEntry,
    Charge,
    Fee,
    /// A record sent to, or received from, another practice of the group.
    Handover,
    /// A person's resolution of a sync conflict.
    Resolution,
    /// An export written for the PMS (reconciliation ledger).
    ExportBatch,
    /// One step of one record through the reconciliation ledger.
    LedgerMark,
    /// A person's decision on two records that may be duplicates.
    DuplicateDecision,
    /// The outage closed, with its signed final export.
    OutageClosure,
    /// A purge of the copies of PMS records.
    PurgeRun,
    /// A sign-in on a PC, or a wrong password for an account (the journal and audit log are the record).
    SignIn,
    /// A test on the practice's lab list.
    LabTest,
    LabRequest,
    LabResult,
    Payment,
    /// A card payment taken down earlier, run on the terminal.
    CardRun,
    CashUp,
    InsuranceClaim,
    /// A block of client, animal or receipt numbers given to a PC.
    NumberBlock,
    /// A change to how the database's key is kept on a PC: a recovery key made or confirmed, the
    /// key changed, a passphrase chosen (the journal and audit log are the record; no key in it).
    KeyChange,
}

impl Entity {
    pub fn as_str(self) -> &'static str {
        match self {
            Entity::Practice => "practice",
            Entity::Premises => "premises",
            Entity::Staff => "staff",
            Entity::Client => "client",
            Entity::Patient => "patient",
            Entity::Ownership => "ownership",
            Entity::Appointment => "appointment",
            Entity::WorkingHours => "working_hours",
            Entity::Consultation => "consultation",
            Entity::Addendum => "addendum",
            Entity::Void => "void",
            Entity::Product => "product",
            Entity::Prescription => "prescription",
            Entity::Dispensing => "dispensing",
            Entity::CdEntry => "cd_entry",
            Entity::Charge => "charge",
            Entity::Fee => "fee",
            Entity::Handover => "handover",
            Entity::Resolution => "resolution",
            Entity::ExportBatch => "export_batch",
            Entity::LedgerMark => "ledger_mark",
            Entity::DuplicateDecision => "duplicate_decision",
            Entity::OutageClosure => "outage_closure",
            Entity::PurgeRun => "purge_run",
            Entity::SignIn => "sign_in",
            Entity::LabTest => "lab_test",
            Entity::LabRequest => "lab_request",
            Entity::LabResult => "lab_result",
            Entity::Payment => "payment",
            Entity::CardRun => "card_run",
            Entity::CashUp => "cash_up",
            Entity::InsuranceClaim => "insurance_claim",
            Entity::NumberBlock => "number_block",
            Entity::KeyChange => "key_change",
        }
    }

    pub const ALL: [Entity; 34] = [
        Entity::Practice,
        Entity::Premises,
        Entity::Staff,
        Entity::Client,
        Entity::Patient,
        Entity::Ownership,
        Entity::Appointment,
        Entity::WorkingHours,
        Entity::Consultation,
        Entity::Addendum,
        Entity::Void,
        Entity::Product,
        Entity::Prescription,
        Entity::Dispensing,
        Entity::CdEntry,
        Entity::Charge,
        Entity::Fee,
        Entity::Handover,
        Entity::Resolution,
        Entity::ExportBatch,
        Entity::LedgerMark,
        Entity::DuplicateDecision,
        Entity::OutageClosure,
        Entity::PurgeRun,
        Entity::SignIn,
        Entity::LabTest,
        Entity::LabRequest,
        Entity::LabResult,
        Entity::Payment,
        Entity::CardRun,
        Entity::CashUp,
        Entity::InsuranceClaim,
        Entity::NumberBlock,
        Entity::KeyChange,
    ];

    pub fn parse(text: &str) -> Option<Entity> {
        Entity::ALL.into_iter().find(|e| e.as_str() == text)
    }

    /// Records whose table has a `created_at` column (set by the operation that makes them).
    pub fn has_created_at(self) -> bool {
        matches!(
            self,
            Entity::Practice
                | Entity::Premises
                | Entity::Staff
                | Entity::Client
                | Entity::Patient
                | Entity::Ownership
                | Entity::Appointment
                | Entity::Product
                | Entity::Fee
                | Entity::Consultation
                | Entity::LabTest
        )
    }

    /// Records whose fields change after they are made, merged field by field (last writer wins);
    /// the others are only ever created, and merge as a set.
    pub fn is_mutable(self) -> bool {
        matches!(
            self,
            Entity::Practice
                | Entity::Premises
                | Entity::Staff
                | Entity::Client
                | Entity::Patient
                | Entity::Appointment
                | Entity::WorkingHours
                | Entity::Consultation
                | Entity::Product
                | Entity::Fee
                | Entity::LabTest
        )
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ChangeKind {
    Create,
    Update,
}

impl ChangeKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ChangeKind::Create => "create",
            ChangeKind::Update => "update",
        }
    }
}

/// The changed fields of one record, as the journal carries them.
#[derive(Debug, Default)]
pub(crate) struct Fields(Map<String, Value>);

impl Fields {
    pub fn new() -> Fields {
        Fields::default()
    }

    /// Adds `name: value`. Values are plain data (text, numbers, ids, dates), which always serialise.
    pub fn put(&mut self, name: &str, value: impl serde::Serialize) {
        let value = serde_json::to_value(value).unwrap_or(Value::Null);
        self.0.insert(name.to_string(), value);
    }

    pub fn with(mut self, name: &str, value: impl serde::Serialize) -> Fields {
        self.put(name, value);
        self
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The fields as a JSON object.
    pub fn clone_map(&self) -> Map<String, Value> {
        self.0.clone()
    }
}

/// One changed record, under the action that changed it.
#[derive(Debug)]
struct Mutation {
    action: Action,
    entity: Entity,
    entity_id: Uuid,
    kind: ChangeKind,
    fields: Fields,
}

/// What a change sees while it runs: the transaction (crate-private), the actor, the time, and
/// where to record what it changed.
pub struct Write<'t> {
    tx: &'t Transaction<'t>,
    actor: Actor,
    now: DateTime<Utc>,
    store: &'t Store,
    mutations: Vec<Mutation>,
    authorized: Vec<Action>,
    /// Set by an operation that may find nothing to change (an import of records already here).
    may_record_nothing: bool,
}

impl<'t> Write<'t> {
    pub fn actor(&self) -> Actor {
        self.actor
    }

    pub fn now(&self) -> DateTime<Utc> {
        self.now
    }

    /// Today in London.
    pub fn today(&self) -> NaiveDate {
        crate::time::local_date(self.now)
    }

    pub(crate) fn tx(&self) -> &Connection {
        self.tx
    }

    pub(crate) fn new_id(&self) -> Uuid {
        self.store.clock.new_id()
    }

    /// This PC's node id (whose blocks of numbers it draws from).
    pub(crate) fn node_id(&self) -> Uuid {
        self.store.node_id()
    }

    /// Checks the actor may do `action`, and remembers that it was checked.
    pub(crate) fn authorize(&mut self, action: Action) -> Result<()> {
        self.actor.authorize(action)?;
        if !self.authorized.contains(&action) {
            self.authorized.push(action);
        }
        Ok(())
    }

    /// Records a changed record. Refused (as a bug) unless `action` was authorized in this write.
    pub(crate) fn record(
        &mut self,
        action: Action,
        entity: Entity,
        entity_id: Uuid,
        kind: ChangeKind,
        fields: Fields,
    ) -> Result<()> {
        if !self.authorized.contains(&action) {
            return Err(Error::Internal(format!(
                "{} was recorded without checking permission for {}",
                entity.as_str(),
                action.as_str()
            )));
        }
        if !entity_action(entity, action) {
            return Err(Error::Internal(format!("{} is not changed by {}", entity.as_str(), action.as_str())));
        }
        self.mutations.push(Mutation { action, entity, entity_id, kind, fields });
        Ok(())
    }

    /// Runs `step` so that, if it fails, everything it wrote and recorded is undone and the rest of
    /// the write carries on (an import keeping its good rows). A savepoint inside the write's
    /// transaction.
    pub(crate) fn attempt<T>(&mut self, step: impl FnOnce(&mut Write<'t>) -> Result<T>) -> Result<T> {
        self.tx.execute_batch("SAVEPOINT attempt")?;
        let (mutations, authorized) = (self.mutations.len(), self.authorized.len());
        match step(self) {
            Ok(out) => {
                self.tx.execute_batch("RELEASE attempt")?;
                Ok(out)
            }
            Err(e) => {
                self.tx.execute_batch("ROLLBACK TO attempt; RELEASE attempt")?;
                self.mutations.truncate(mutations);
                self.authorized.truncate(authorized);
                Err(e)
            }
        }
    }

    /// Lets this write end without a change (everything it was given was here already).
    pub(crate) fn may_record_nothing(&mut self) {
        self.may_record_nothing = true;
    }

    /// The practice this database holds.
    pub(crate) fn practice_id(&self) -> Result<Uuid> {
        let id: Option<String> = self.tx.query_row("SELECT id FROM practice", [], |r| r.get(0)).optional()?;
        let id = id.ok_or_else(|| Error::NotFound("the practice (run the first-run set-up)".into()))?;
        Uuid::parse_str(&id).map_err(|_| Error::DamagedRecord(format!("the practice id {id:?} is not an id")))
    }
}

/// Which actions change which kind of record: each record is checked against its own action (history
/// from a PMS snapshot or a generated practice comes in under `ImportRecords`, whatever it is).
fn entity_action(entity: Entity, action: Action) -> bool {
    use Action::*;
    if action == ImportRecords {
        return true;
    }
    match entity {
        Entity::Practice => matches!(action, EditPractice | ManageOutage),
        Entity::Premises => action == EditPractice,
        Entity::Staff => matches!(action, AddStaff | EditStaff | ChangeOwnPassword),
        // A record entered in the PMS takes the number the PMS gave it (reconciling).
        // Merging duplicates changes the kept record, moves owners and bookings to come, and marks
        // the other merged.
        // The purge after the outage blanks clients, animals and appointments.
        Entity::Client => {
            matches!(action, RegisterClient | EditClient | ReconcileRecords | MergeRecords | ManageOutage)
        }
        Entity::Patient => {
            matches!(
                action,
                RegisterPatient | EditPatient | RecordDeath | ReconcileRecords | MergeRecords | ManageOutage
            )
        }
        Entity::Ownership => matches!(action, RegisterPatient | EditPatient | MergeRecords),
        Entity::Appointment => {
            matches!(action, BookAppointment | ChangeAppointment | ReconcileRecords | MergeRecords | ManageOutage)
        }
        Entity::WorkingHours => action == SetWorkingHours,
        Entity::Consultation | Entity::Addendum => action == RecordConsultation,
        // Clinical records are voided by the clinical team; a charge by whoever may capture one.
        Entity::Void => matches!(action, VoidClinical | CaptureCharge | TakePayment | RecordClaim),
        Entity::Product => action == ManageFormulary,
        Entity::Prescription => action == Prescribe,
        Entity::Dispensing => action == Dispense,
        Entity::CdEntry => action == RecordControlledDrugs,
        Entity::Charge => action == CaptureCharge,
        Entity::Fee => action == ManageFees,
        Entity::Handover => action == HandOver,
        Entity::Resolution => action == ResolveConflicts,
        Entity::ExportBatch => action == ExportRecords,
        Entity::LedgerMark => matches!(action, ExportRecords | ReconcileRecords),
        Entity::DuplicateDecision => action == MergeRecords,
        Entity::OutageClosure | Entity::PurgeRun => action == ManageOutage,
        Entity::SignIn => action == SignIn,
        Entity::LabTest => action == ManageLabTests,
        Entity::LabRequest => action == RequestLabWork,
        Entity::LabResult => action == RecordLabResults,
        Entity::Payment | Entity::CardRun => action == TakePayment,
        Entity::CashUp => action == CashUp,
        Entity::InsuranceClaim => action == RecordClaim,
        Entity::NumberBlock => action == ManageNumbers,
        Entity::KeyChange => action == EditPractice,
    }
}

#[cfg(test)]
thread_local! {
    /// Lets unit tests make a chosen step of the write path fail.
    pub(crate) static FAIL_AT: std::cell::Cell<Option<&'static str>> = const { std::cell::Cell::new(None) };
}

pub(crate) fn failpoint(_step: &'static str) -> Result<()> {
    #[cfg(test)]
    if FAIL_AT.with(|f| f.get()) == Some(_step) {
        return Err(Error::Internal(format!("failpoint {_step}")));
    }
    Ok(())
}

impl Store {
    /// Runs `change` as `session` through the write path. See the module documentation.
    /// A full disk is named as such, with the database's folder: the transaction rolled back whole.
    pub fn write<T>(&self, session: &Session, change: impl FnOnce(&mut Write<'_>) -> Result<T>) -> Result<T> {
        let mut conn = self.lock_writer();
        let written =
            conn.transaction_with_behavior(TransactionBehavior::Immediate).map_err(Error::from).and_then(|tx| {
                let actor = Actor::load(&tx, session)?;
                self.commit_write(tx, actor, change)
            });
        written.map_err(|e| e.on_disk_of(self.folder()))
    }

    /// The part of the write path after the actor is known, shared with creating the practice
    /// (where the actor is the first admin, who does not exist until the same transaction).
    pub(crate) fn commit_write<T>(
        &self,
        tx: Transaction<'_>,
        actor: Actor,
        change: impl FnOnce(&mut Write<'_>) -> Result<T>,
    ) -> Result<T> {
        let now = self.clock.now();
        let (out, mutations, may_record_nothing) = {
            let mut write = Write {
                tx: &tx,
                actor,
                now,
                store: self,
                mutations: Vec::new(),
                authorized: Vec::new(),
                may_record_nothing: false,
            };
            let out = change(&mut write)?;
            (out, write.mutations, write.may_record_nothing)
        };
        if mutations.is_empty() {
            if may_record_nothing {
                // Rolled back: whatever was written without a record of it does not stand.
                drop(tx);
                return Ok(out);
            }
            return Err(Error::Internal("a write recorded no change".into()));
        }
        failpoint("rows")?;
        let mut stamp = hlc::load(&tx)?;
        let node = self.node_id();
        for mutation in &mutations {
            stamp = stamp.next(now.timestamp_millis().max(0) as u64);
            let op_id = self.clock.new_id();
            let mut fields = mutation.fields.0.clone();
            // A created record's time of creation travels with it, so every node shows the same.
            if mutation.kind == ChangeKind::Create
                && mutation.entity.has_created_at()
                && !fields.contains_key("created_at")
            {
                fields.insert("created_at".into(), Value::String(crate::time::stored(now)));
            }
            let payload = Value::Object(fields);
            // A mutable record's fields take this change's clock; the change records what it replaced.
            // A field last set by a change stamped ahead of this PC's clock (a peer with a clock set
            // wrong, accepted within the bound's warning) gets a stamp just after it, so that this
            // change wins on every node as it does here; the hybrid clock itself does not follow.
            let mut change_stamp = stamp;
            let base = if mutation.entity.is_mutable() {
                let (hlc, base) = clocks::stamp(
                    &tx,
                    mutation.entity.as_str(),
                    mutation.entity_id,
                    &mutation.fields.0,
                    &node.to_string(),
                    change_stamp.raw(),
                )?;
                change_stamp = Stamp::from_raw(hlc);
                base
            } else {
                Value::Object(Map::new())
            };
            let change = journal::append(
                &tx,
                &NewEntry {
                    op_id,
                    node_id: node,
                    hlc: change_stamp,
                    schema_version: SCHEMA_VERSION,
                    actor_id: actor.id,
                    entity: mutation.entity.as_str(),
                    entity_id: mutation.entity_id,
                    kind: mutation.kind.as_str(),
                    payload: &payload,
                    base: &base,
                },
            )?;
            failpoint("journal")?;
            audit::append(
                &tx,
                &NewAuditEntry {
                    at: now,
                    actor_id: actor.id,
                    action: mutation.action.as_str(),
                    entity: mutation.entity.as_str(),
                    entity_id: mutation.entity_id,
                    op_id,
                    content_hash: &change.content_hash,
                },
            )?;
            failpoint("audit")?;
        }
        hlc::save(&tx, stamp)?;
        tx.commit()?;
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::{Entity, Fields, FAIL_AT};
    use crate::permission::{Action, Role};
    use crate::store::clock::ManualClock;
    use crate::store::database::{Store, StoreConfig};
    use crate::{example, ChangeKind};

    fn counts(store: &Store) -> (i64, i64, i64, i64) {
        store
            .read(|c| {
                let n = |t: &str| c.query_row(&format!("SELECT count(*) FROM {t}"), [], |r| r.get::<_, i64>(0));
                Ok((
                    n("staff")?,
                    n("journal")?,
                    n("audit")?,
                    c.query_row("SELECT stamp FROM hlc_state", [], |r| r.get(0))?,
                ))
            })
            .unwrap()
    }

    fn store(dir: &tempfile::TempDir) -> Store {
        let clock = Arc::new(ManualClock::new(chrono::DateTime::UNIX_EPOCH + chrono::Duration::days(20000)));
        Store::open(StoreConfig::in_dir(dir.path()), clock).unwrap()
    }

    /// A failure after the rows, after the journal entry, or after the audit entry leaves the
    /// database exactly as it was.
    #[test]
    fn a_failing_step_leaves_nothing_behind() {
        let dir = tempfile::TempDir::new().unwrap();
        let store = store(&dir);
        let admin = store.create_practice(&example::practice_setup("admin", "a long password")).unwrap();
        let before = counts(&store);
        for step in ["rows", "journal", "audit"] {
            FAIL_AT.with(|f| f.set(Some(step)));
            let result = store.add_staff(&admin, &example::staff("n.one", Role::Nurse, "a long password"));
            FAIL_AT.with(|f| f.set(None));
            assert!(result.is_err(), "{step}: the failpoint fired");
            assert_eq!(counts(&store), before, "{step}: something was left behind");
        }
        store.add_staff(&admin, &example::staff("n.one", Role::Nurse, "a long password")).unwrap();
        assert_eq!(counts(&store).0, before.0 + 1, "the same change succeeds once nothing fails");
        assert!(store.verify_audit().unwrap().is_intact());
    }

    /// An operation cannot record a change under an action it did not check.
    #[test]
    fn a_change_recorded_without_its_permission_check_is_refused() {
        let dir = tempfile::TempDir::new().unwrap();
        let store = store(&dir);
        let admin = store.create_practice(&example::practice_setup("admin", "a long password")).unwrap();
        let before = counts(&store);
        let err = store
            .write(&admin, |w| {
                w.authorize(Action::ViewRecords)?;
                let id = w.new_id();
                w.record(Action::EditPractice, Entity::Practice, id, ChangeKind::Update, Fields::new().with("x", 1))
            })
            .unwrap_err();
        assert!(err.to_string().contains("without checking permission"), "{err}");
        assert_eq!(counts(&store), before);
    }

    #[test]
    fn a_record_is_changed_only_under_its_own_action() {
        let dir = tempfile::TempDir::new().unwrap();
        let store = store(&dir);
        let admin = store.create_practice(&example::practice_setup("admin", "a long password")).unwrap();
        let err = store
            .write(&admin, |w| {
                w.authorize(Action::EditPractice)?;
                let id = w.new_id();
                w.record(Action::EditPractice, Entity::Staff, id, ChangeKind::Update, Fields::new().with("x", 1))
            })
            .unwrap_err();
        assert!(err.to_string().contains("staff is not changed by practice.edit"), "{err}");
        assert!(super::entity_action(Entity::Charge, Action::ImportRecords), "imported history of any kind");
    }

    #[test]
    fn the_read_connection_cannot_write() {
        let dir = tempfile::TempDir::new().unwrap();
        let store = store(&dir);
        store.create_practice(&example::practice_setup("admin", "a long password")).unwrap();
        let before = counts(&store);
        for sql in
            ["DELETE FROM audit", "UPDATE staff SET role = 'admin'", "CREATE TABLE x (y)", "PRAGMA user_version = 99"]
        {
            let result = store.read(|c| Ok(c.execute_batch(sql)?));
            assert!(result.is_err(), "{sql} was allowed through a read");
        }
        assert_eq!(counts(&store), before, "nothing was changed");
        assert!(store.verify_audit().unwrap().is_intact());
    }
}
