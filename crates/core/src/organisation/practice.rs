//! The practice and its premises. A database holds one practice; creating it also creates its first
//! premises and its first admin account, in one write. Each PC stands in one of the premises (a local
//! setting, never synced), which clinical records and labels name as the supplier.

use chrono::{DateTime, NaiveDateTime, Utc};
use rusqlite::{params, Connection, OptionalExtension, Row};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::error::{Error, Result};
use crate::organisation::staff::{self, NewStaff};
use crate::permission::{Action, Role};
use crate::session::Session;
use crate::store::actor::Actor;
use crate::store::database::Store;
use crate::store::row;
use crate::store::write::{ChangeKind, Entity, Fields, Write};
use crate::time;
use crate::validate;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Practice {
    pub id: Uuid,
    pub name: String,
    pub premises: Vec<Premises>,
    /// When the outage began, as a manager recorded it: the backlog is what was made or changed since.
    pub outage_began: Option<DateTime<Utc>>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Premises {
    pub id: Uuid,
    pub name: String,
    pub address_line1: String,
    pub address_line2: String,
    pub town: String,
    pub postcode: String,
    pub phone: String,
    pub rcvs_premises_number: String,
}

impl Premises {
    /// The address on one line: "12 Mill Lane, Exeter EX1 1AA".
    pub fn address(&self) -> String {
        let street = [self.address_line1.as_str(), self.address_line2.as_str()]
            .into_iter()
            .filter(|s| !s.is_empty())
            .collect::<Vec<_>>()
            .join(", ");
        format!("{street}, {} {}", self.town, self.postcode)
    }
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct NewPremises {
    pub name: String,
    pub address_line1: String,
    pub address_line2: String,
    pub town: String,
    pub postcode: String,
    pub phone: String,
    /// The RCVS Practice Standards / premises registration number, if the premises has one.
    pub rcvs_premises_number: String,
}

/// What the first-run wizard (or `lifeboat init`) collects.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct PracticeSetup {
    pub practice_name: String,
    pub premises: NewPremises,
    /// The first admin account; its role is always admin.
    pub admin: NewStaff,
}

/// Checked premises, ready to insert.
struct ValidPremises(NewPremises);

impl NewPremises {
    fn validated(&self) -> Result<ValidPremises> {
        let number = validate::optional("premises.rcvs_premises_number", &self.rcvs_premises_number, 20)?;
        if !number.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '/') {
            return Err(Error::invalid("premises.rcvs_premises_number", "may hold only letters, digits, '-' and '/'"));
        }
        Ok(ValidPremises(NewPremises {
            name: validate::required("premises.name", &self.name, 100)?,
            address_line1: validate::required("premises.address_line1", &self.address_line1, 100)?,
            address_line2: validate::optional("premises.address_line2", &self.address_line2, 100)?,
            town: validate::required("premises.town", &self.town, 60)?,
            postcode: validate::postcode("premises.postcode", &self.postcode)?,
            phone: validate::uk_phone("premises.phone", &self.phone)?,
            rcvs_premises_number: number,
        }))
    }
}

impl Write<'_> {
    /// Adds another premises to the practice.
    pub fn add_premises(&mut self, premises: &NewPremises) -> Result<Premises> {
        self.authorize(Action::EditPractice)?;
        let valid = premises.validated()?;
        let practice_id = self.practice_id()?;
        let id = insert_premises(self, practice_id, &valid)?;
        premises_by_id(self.tx(), id)
    }

    /// Records when the outage began (London time), or clears it; the backlog starts there.
    pub fn set_outage_began(&mut self, at: Option<NaiveDateTime>) -> Result<Option<DateTime<Utc>>> {
        self.authorize(Action::ManageOutage)?;
        let at = match at {
            Some(local) => {
                let utc = time::to_utc("outage_began", local)?;
                if utc > self.now() {
                    return Err(Error::invalid("outage_began", "is in the future"));
                }
                Some(utc)
            }
            None => None,
        };
        let practice_id = self.practice_id()?;
        let stored = at.map(time::stored);
        self.tx()
            .execute("UPDATE practice SET outage_began = ?2 WHERE id = ?1", params![practice_id.to_string(), stored])?;
        let fields = Fields::new().with("outage_began", &stored);
        self.record(Action::ManageOutage, Entity::Practice, practice_id, ChangeKind::Update, fields)?;
        Ok(at)
    }
}

impl Store {
    pub fn set_outage_began(&self, session: &Session, at: Option<NaiveDateTime>) -> Result<Option<DateTime<Utc>>> {
        self.write(session, |w| w.set_outage_began(at))
    }

    /// Creates the practice, its first premises and its first admin, as that admin, then runs `more`
    /// as that admin in the same write, and returns the admin's session. Refused if the database
    /// already holds a practice. `onboarding::create_practice` is the way in.
    pub(crate) fn create_practice_then(
        &self,
        setup: &PracticeSetup,
        more: impl FnOnce(&mut Write<'_>) -> Result<()>,
    ) -> Result<Session> {
        let practice_name = validate::required("practice_name", &setup.practice_name, 100)?;
        let premises = setup.premises.validated()?;
        // The first admin chooses their own password.
        let admin = NewStaff { role: Role::Admin, must_change_password: false, ..setup.admin.clone() };
        let admin = staff::validated(&admin)?;
        let password_hash = staff::hash_password(&setup.admin.password)?;
        let mut conn = self.lock_writer();
        let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        if practice_exists(&tx)? {
            return Err(Error::Conflict("this database already has a practice; log in instead".into()));
        }
        let admin_id = self.clock.new_id();
        let actor = Actor { id: admin_id, role: Role::Admin, must_change_password: false };
        self.commit_write(tx, actor, |w| {
            w.authorize(Action::EditPractice)?;
            w.authorize(Action::AddStaff)?;
            let practice_id = w.new_id();
            w.tx().execute(
                "INSERT INTO practice (id, name, created_at) VALUES (?1, ?2, ?3)",
                params![practice_id.to_string(), practice_name, time::stored(w.now())],
            )?;
            let fields = Fields::new().with("name", &practice_name);
            w.record(Action::EditPractice, Entity::Practice, practice_id, ChangeKind::Create, fields)?;
            insert_premises(w, practice_id, &premises)?;
            staff::insert(w, practice_id, admin_id, &admin, &password_hash)?;
            more(w)?;
            Ok(Session {
                staff_id: admin_id,
                username: admin.username().into(),
                display_name: admin.display_name().into(),
                role: Role::Admin,
                must_change_password: false,
            })
        })
    }

    pub fn add_premises(&self, session: &Session, premises: &NewPremises) -> Result<Premises> {
        self.write(session, |w| w.add_premises(premises))
    }

    /// Whether the first-run set-up has been done.
    pub fn has_practice(&self) -> Result<bool> {
        self.read(|r| practice_exists(r))
    }

    /// The practice and its premises; `None` before the first-run set-up.
    pub fn practice(&self) -> Result<Option<Practice>> {
        self.read(|r| practice(r))
    }

    /// Which premises this PC stands in: the one chosen on this PC, else the first.
    pub fn this_premises(&self) -> Result<Premises> {
        self.read(|r| this_premises(r))
    }

    /// Chooses the premises this PC stands in. A setting of this PC alone: it is not practice data,
    /// so it is neither journaled nor synced. Managers and admins only.
    pub fn set_this_premises(&self, session: &Session, premises_id: Uuid) -> Result<Premises> {
        self.refuse_in_drill("changing this PC's settings")?;
        let premises = self.read_as(session, Action::EditStaff, |r| premises_by_id(r, premises_id))?;
        let conn = self.lock_writer();
        conn.execute(
            "INSERT INTO local_setting (key, value) VALUES ('premises_id', ?1)
             ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            [premises_id.to_string()],
        )?;
        Ok(premises)
    }
}

fn insert_premises(w: &mut Write<'_>, practice_id: Uuid, p: &ValidPremises) -> Result<Uuid> {
    let p = &p.0;
    let id = w.new_id();
    w.tx().execute(
        "INSERT INTO premises (id, practice_id, name, address_line1, address_line2, town, postcode, phone, rcvs_premises_number, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
        params![
            id.to_string(),
            practice_id.to_string(),
            p.name,
            p.address_line1,
            p.address_line2,
            p.town,
            p.postcode,
            p.phone,
            p.rcvs_premises_number,
            time::stored(w.now())
        ],
    )?;
    let fields = Fields::new()
        .with("practice_id", practice_id)
        .with("name", &p.name)
        .with("address_line1", &p.address_line1)
        .with("address_line2", &p.address_line2)
        .with("town", &p.town)
        .with("postcode", &p.postcode)
        .with("phone", &p.phone)
        .with("rcvs_premises_number", &p.rcvs_premises_number);
    w.record(Action::EditPractice, Entity::Premises, id, ChangeKind::Create, fields)?;
    Ok(id)
}

fn practice_exists(conn: &Connection) -> Result<bool> {
    Ok(conn.query_row("SELECT EXISTS (SELECT 1 FROM practice)", [], |r| r.get(0))?)
}

const PREMISES_COLUMNS: &str = "id, name, address_line1, address_line2, town, postcode, phone, rcvs_premises_number";

pub(crate) fn practice(conn: &Connection) -> Result<Option<Practice>> {
    let found = conn
        .query_row("SELECT id, name, outage_began FROM practice", [], |r| {
            Ok((row::uuid(r, 0)?, r.get::<_, String>(1)?, row::opt_time(r, 2)?))
        })
        .optional()?;
    let Some((id, name, outage_began)) = found else { return Ok(None) };
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {PREMISES_COLUMNS} FROM premises WHERE practice_id = ?1 ORDER BY created_at, id"
    ))?;
    let premises = stmt.query_map([id.to_string()], premises_from_row)?.collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(Some(Practice { id, name, premises, outage_began }))
}

pub(crate) fn premises_by_id(conn: &Connection, id: Uuid) -> Result<Premises> {
    conn.query_row(
        &format!("SELECT {PREMISES_COLUMNS} FROM premises WHERE id = ?1"),
        [id.to_string()],
        premises_from_row,
    )
    .optional()?
    .ok_or_else(|| Error::NotFound(format!("premises {id}")))
}

/// The premises this PC stands in.
pub(crate) fn this_premises(conn: &Connection) -> Result<Premises> {
    let chosen: Option<String> =
        conn.query_row("SELECT value FROM local_setting WHERE key = 'premises_id'", [], |r| r.get(0)).optional()?;
    if let Some(id) = chosen.and_then(|id| Uuid::parse_str(&id).ok()) {
        if let Ok(p) = premises_by_id(conn, id) {
            return Ok(p);
        }
    }
    conn.query_row(
        &format!("SELECT {PREMISES_COLUMNS} FROM premises ORDER BY created_at, id LIMIT 1"),
        [],
        premises_from_row,
    )
    .optional()?
    .ok_or_else(|| Error::NotFound("the practice's premises (run the first-run set-up)".into()))
}

fn premises_from_row(r: &Row<'_>) -> rusqlite::Result<Premises> {
    Ok(Premises {
        id: row::uuid(r, 0)?,
        name: r.get(1)?,
        address_line1: r.get(2)?,
        address_line2: r.get(3)?,
        town: r.get(4)?,
        postcode: r.get(5)?,
        phone: r.get(6)?,
        rcvs_premises_number: r.get(7)?,
    })
}
