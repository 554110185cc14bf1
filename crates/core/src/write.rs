//! The one way to change practice data (ARCHITECTURE.md, invariant 2). `Store::write` opens one
//! SQLite transaction in which it
//!
//! 1. checks the acting person's permission (role read from the database, account active),
//! 2. runs the change, which validates its input and writes its rows through a `Write`,
//!    recording each changed record as a `Mutation`,
//! 3. appends a journal entry per mutation (op id, node sequence, HLC stamp, changed fields, hash),
//! 4. appends an audit entry per mutation to the hash chain,
//!
//! and commits. If any step fails, the transaction is rolled back and nothing is written.

use chrono::{DateTime, Utc};
use rusqlite::{Transaction, TransactionBehavior};
use serde_json::{Map, Value};
use uuid::Uuid;

use crate::audit::{self, NewAuditEntry};
use crate::error::{Error, Result};
use crate::hlc;
use crate::journal::{self, NewEntry};
use crate::migrations::SCHEMA_VERSION;
use crate::permission::{self, Action, Role};
use crate::session::Session;
use crate::store::Store;

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
        }
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

/// One changed record: which, how, and only the fields that changed.
#[derive(Debug)]
pub struct Mutation {
    pub entity: Entity,
    pub entity_id: Uuid,
    pub kind: ChangeKind,
    pub fields: Map<String, Value>,
}

/// The acting person, as the database knows them at the time of the write.
#[derive(Clone, Copy, Debug)]
pub struct Actor {
    pub id: Uuid,
    pub role: Role,
}

/// What a change sees while it runs: the transaction, the actor, the time, and where to record
/// what it changed.
pub struct Write<'t> {
    tx: &'t Transaction<'t>,
    actor: Actor,
    now: DateTime<Utc>,
    store: &'t Store,
    mutations: Vec<Mutation>,
}

impl<'t> Write<'t> {
    pub fn tx(&self) -> &Transaction<'t> {
        self.tx
    }
    pub fn actor(&self) -> Actor {
        self.actor
    }
    pub fn now(&self) -> DateTime<Utc> {
        self.now
    }
    pub fn new_id(&self) -> Uuid {
        self.store.clock.new_id()
    }
    pub fn record(&mut self, mutation: Mutation) {
        self.mutations.push(mutation);
    }
}

#[cfg(test)]
thread_local! {
    /// Lets unit tests make a chosen step of the write path fail.
    pub(crate) static FAIL_AT: std::cell::Cell<Option<&'static str>> = const { std::cell::Cell::new(None) };
}

fn failpoint(_step: &'static str) -> Result<()> {
    #[cfg(test)]
    if FAIL_AT.with(|f| f.get()) == Some(_step) {
        return Err(Error::Internal(format!("failpoint {_step}")));
    }
    Ok(())
}

impl Store {
    /// Runs `change` as `session` through the write path. See the module documentation.
    pub fn write<T>(
        &self,
        session: &Session,
        action: Action,
        change: impl FnOnce(&mut Write<'_>) -> Result<T>,
    ) -> Result<T> {
        let mut conn = self.lock();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let actor = authorize(&tx, session, action)?;
        let out = self.commit_write(tx, actor, action, change)?;
        Ok(out)
    }

    /// The part of the write path after the permission check, shared with creating the practice
    /// (where the actor is the first admin, who does not exist until the same transaction).
    pub(crate) fn commit_write<T>(
        &self,
        tx: Transaction<'_>,
        actor: Actor,
        action: Action,
        change: impl FnOnce(&mut Write<'_>) -> Result<T>,
    ) -> Result<T> {
        let now = self.clock.now();
        let (out, mutations) = {
            let mut write = Write { tx: &tx, actor, now, store: self, mutations: Vec::new() };
            let out = change(&mut write)?;
            (out, write.mutations)
        };
        if mutations.is_empty() {
            return Err(Error::Internal(format!("{} recorded no change", action.as_str())));
        }
        failpoint("rows")?;
        let mut stamp = hlc::load(&tx)?;
        for mutation in &mutations {
            stamp = stamp.next(now.timestamp_millis().max(0) as u64);
            let op_id = self.clock.new_id();
            let payload = Value::Object(mutation.fields.clone());
            journal::append(
                &tx,
                &NewEntry {
                    op_id,
                    node_id: self.node_id(),
                    hlc: stamp,
                    schema_version: SCHEMA_VERSION,
                    actor_id: actor.id,
                    entity: mutation.entity.as_str(),
                    entity_id: mutation.entity_id,
                    kind: mutation.kind.as_str(),
                    payload: &payload,
                },
            )?;
            failpoint("journal")?;
            audit::append(
                &tx,
                &NewAuditEntry {
                    at: now,
                    actor_id: actor.id,
                    action: action.as_str(),
                    entity: mutation.entity.as_str(),
                    entity_id: mutation.entity_id,
                    op_id,
                },
            )?;
            failpoint("audit")?;
        }
        hlc::save(&tx, stamp)?;
        tx.commit()?;
        Ok(out)
    }

    /// Checks a read that needs a permission, such as the staff list or the journal.
    pub fn authorize_read(&self, session: &Session, action: Action) -> Result<Actor> {
        let conn = self.lock();
        authorize(&conn, session, action)
    }
}

/// Permission check against the database's current view of the person.
pub(crate) fn authorize(conn: &rusqlite::Connection, session: &Session, action: Action) -> Result<Actor> {
    let found: Option<(String, bool)> = conn
        .query_row("SELECT role, active FROM staff WHERE id = ?1", [session.staff_id.to_string()], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })
        .map(Some)
        .or_else(|e| if e == rusqlite::Error::QueryReturnedNoRows { Ok(None) } else { Err(e) })?;
    let Some((role, active)) = found else {
        return Err(Error::Forbidden("this account does not exist on this computer; log in again".into()));
    };
    if !active {
        return Err(Error::Forbidden("this account has been deactivated; ask a manager".into()));
    }
    let role =
        Role::parse(&role).ok_or_else(|| Error::Internal(format!("unknown role {role:?} in the staff table")))?;
    if !permission::allows(role, action) {
        return Err(Error::Forbidden(format!(
            "a {role} account may not {}; ask a manager or an admin",
            action.describe()
        )));
    }
    Ok(Actor { id: session.staff_id, role })
}

/// Adds `name: value` to a mutation's fields.
pub fn field(fields: &mut Map<String, Value>, name: &str, value: impl serde::Serialize) {
    fields.insert(name.to_string(), serde_json::to_value(value).unwrap_or(Value::Null));
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::FAIL_AT;
    use crate::{example, ManualClock, Role, Store, StoreConfig};

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

    /// A failure after the rows, after the journal entry, or after the audit entry leaves the
    /// database exactly as it was.
    #[test]
    fn a_failing_step_leaves_nothing_behind() {
        let dir = tempfile::TempDir::new().unwrap();
        let clock = Arc::new(ManualClock::new(chrono::DateTime::UNIX_EPOCH + chrono::Duration::days(20000)));
        let store = Store::open(StoreConfig::in_dir(dir.path()), clock).unwrap();
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
}
