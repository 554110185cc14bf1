//! The practice and its premises. A database holds one practice; creating it also creates its first
//! premises and its first admin account, in one write.

use rusqlite::{params, Connection, Row};
use serde::{Deserialize, Serialize};
use serde_json::Map;
use uuid::Uuid;

use crate::error::{Error, Result};
use crate::permission::{Action, Role};
use crate::session::Session;
use crate::staff::{self, NewStaff};
use crate::store::Store;
use crate::validate;
use crate::write::{field, Actor, ChangeKind, Entity, Mutation, Write};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Practice {
    pub id: Uuid,
    pub name: String,
    pub premises: Vec<Premises>,
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

impl NewPremises {
    fn validated(&self) -> Result<NewPremises> {
        let number = validate::optional("premises.rcvs_premises_number", &self.rcvs_premises_number, 20)?;
        if !number.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '/') {
            return Err(Error::invalid("premises.rcvs_premises_number", "may hold only letters, digits, '-' and '/'"));
        }
        Ok(NewPremises {
            name: validate::required("premises.name", &self.name, 100)?,
            address_line1: validate::required("premises.address_line1", &self.address_line1, 100)?,
            address_line2: validate::optional("premises.address_line2", &self.address_line2, 100)?,
            town: validate::required("premises.town", &self.town, 60)?,
            postcode: validate::postcode("premises.postcode", &self.postcode)?,
            phone: validate::uk_phone("premises.phone", &self.phone)?,
            rcvs_premises_number: number,
        })
    }
}

impl Store {
    /// Creates the practice, its first premises and its first admin, as that admin, and returns the
    /// admin's session. Refused if the database already holds a practice.
    pub fn create_practice(&self, setup: &PracticeSetup) -> Result<Session> {
        let practice_name = validate::required("practice_name", &setup.practice_name, 100)?;
        let premises = setup.premises.validated()?;
        let admin = NewStaff { role: Role::Admin, ..setup.admin.clone() }.validated()?;
        let password_hash = staff::hash_password(&setup.admin.password)?;
        let mut conn = self.lock();
        let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        if practice_exists(&tx)? {
            return Err(Error::Conflict("this database already has a practice; log in instead".into()));
        }
        let admin_id = self.clock.new_id();
        let actor = Actor { id: admin_id, role: Role::Admin };
        self.commit_write(tx, actor, Action::EditPractice, |w| {
            let practice_id = w.new_id();
            let mut fields = Map::new();
            field(&mut fields, "name", &practice_name);
            w.tx().execute(
                "INSERT INTO practice (id, name, created_at) VALUES (?1, ?2, ?3)",
                params![practice_id.to_string(), practice_name, w.now().to_rfc3339()],
            )?;
            w.record(Mutation { entity: Entity::Practice, entity_id: practice_id, kind: ChangeKind::Create, fields });
            insert_premises(w, practice_id, &premises)?;
            staff::insert(w, practice_id, admin_id, &admin, &password_hash)?;
            Ok(Session {
                staff_id: admin_id,
                username: admin.username.clone(),
                display_name: admin.display_name.clone(),
                role: Role::Admin,
            })
        })
    }

    /// Adds another premises to the practice.
    pub fn add_premises(&self, session: &Session, premises: &NewPremises) -> Result<Premises> {
        let premises = premises.validated()?;
        self.write(session, Action::EditPractice, |w| {
            let practice_id = practice_id(w.tx())?;
            let id = insert_premises(w, practice_id, &premises)?;
            Ok(Premises {
                id,
                name: premises.name.clone(),
                address_line1: premises.address_line1.clone(),
                address_line2: premises.address_line2.clone(),
                town: premises.town.clone(),
                postcode: premises.postcode.clone(),
                phone: premises.phone.clone(),
                rcvs_premises_number: premises.rcvs_premises_number.clone(),
            })
        })
    }

    /// Whether the first-run set-up has been done.
    pub fn has_practice(&self) -> Result<bool> {
        self.read(practice_exists)
    }

    /// The practice and its premises; `None` before the first-run set-up.
    pub fn practice(&self) -> Result<Option<Practice>> {
        self.read(|conn| {
            let found = conn.query_row("SELECT id, name FROM practice", [], |r| {
                Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?))
            });
            let (id, name) = match found {
                Ok(row) => row,
                Err(rusqlite::Error::QueryReturnedNoRows) => return Ok(None),
                Err(e) => return Err(e.into()),
            };
            let mut stmt = conn.prepare(
                "SELECT id, name, address_line1, address_line2, town, postcode, phone, rcvs_premises_number
                 FROM premises WHERE practice_id = ?1 ORDER BY created_at, id",
            )?;
            let premises = stmt.query_map([&id], premises_from_row)?.collect::<rusqlite::Result<Vec<_>>>()?;
            Ok(Some(Practice { id: parse_id(&id)?, name, premises }))
        })
    }
}

fn insert_premises(w: &mut Write<'_>, practice_id: Uuid, p: &NewPremises) -> Result<Uuid> {
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
            w.now().to_rfc3339()
        ],
    )?;
    let mut fields = Map::new();
    field(&mut fields, "practice_id", practice_id);
    field(&mut fields, "name", &p.name);
    field(&mut fields, "address_line1", &p.address_line1);
    field(&mut fields, "address_line2", &p.address_line2);
    field(&mut fields, "town", &p.town);
    field(&mut fields, "postcode", &p.postcode);
    field(&mut fields, "phone", &p.phone);
    field(&mut fields, "rcvs_premises_number", &p.rcvs_premises_number);
    w.record(Mutation { entity: Entity::Premises, entity_id: id, kind: ChangeKind::Create, fields });
    Ok(id)
}

fn practice_exists(conn: &Connection) -> Result<bool> {
    Ok(conn.query_row("SELECT EXISTS (SELECT 1 FROM practice)", [], |r| r.get(0))?)
}

pub(crate) fn practice_id(conn: &Connection) -> Result<Uuid> {
    let id: String = conn
        .query_row("SELECT id FROM practice", [], |r| r.get(0))
        .map_err(|_| Error::NotFound("the practice (run the first-run set-up)".into()))?;
    parse_id(&id)
}

pub(crate) fn parse_id(text: &str) -> Result<Uuid> {
    Uuid::parse_str(text).map_err(|_| Error::Internal(format!("stored id {text:?} is not a UUID")))
}

fn premises_from_row(r: &Row<'_>) -> rusqlite::Result<Premises> {
    let id: String = r.get(0)?;
    Ok(Premises {
        id: Uuid::parse_str(&id).unwrap_or_default(),
        name: r.get(1)?,
        address_line1: r.get(2)?,
        address_line2: r.get(3)?,
        town: r.get(4)?,
        postcode: r.get(5)?,
        phone: r.get(6)?,
        rcvs_premises_number: r.get(7)?,
    })
}
