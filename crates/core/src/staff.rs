//! Staff accounts: who they are, their role, and how they log in. Passwords are hashed with
//! Argon2id (PHC string format, parameters stored with the hash).

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use chrono::{DateTime, Utc};
use rusqlite::{params, Row};
use serde::{Deserialize, Serialize};
use serde_json::Map;
use uuid::Uuid;

use crate::error::{Error, Result};
use crate::permission::{Action, Role};
use crate::practice::practice_id;
use crate::session::Session;
use crate::store::Store;
use crate::validate;
use crate::write::{field, ChangeKind, Entity, Mutation, Write};

pub const MIN_PASSWORD_CHARS: usize = 8;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Staff {
    pub id: Uuid,
    pub username: String,
    pub display_name: String,
    pub role: Role,
    pub qualifications: String,
    pub rcvs_number: Option<String>,
    pub active: bool,
    pub created_at: DateTime<Utc>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct NewStaff {
    pub username: String,
    pub display_name: String,
    pub role: Role,
    /// Post-nominals as they go on a prescription, e.g. "BVSc MRCVS".
    pub qualifications: String,
    /// Required for vets: their RCVS registration number.
    pub rcvs_number: Option<String>,
    pub password: String,
}

/// A change to an account; only the fields that are `Some` change.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct StaffUpdate {
    pub display_name: Option<String>,
    pub role: Option<Role>,
    pub qualifications: Option<String>,
    pub rcvs_number: Option<String>,
    pub active: Option<bool>,
}

impl NewStaff {
    pub(crate) fn validated(&self) -> Result<NewStaff> {
        let username = self.username.trim().to_lowercase();
        if !(3..=32).contains(&username.chars().count())
            || !username.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || ".-_".contains(c))
        {
            return Err(Error::invalid(
                "username",
                "must be 3 to 32 characters: letters, digits, '.', '-' or '_' (for example j.smith)",
            ));
        }
        if self.password.chars().count() < MIN_PASSWORD_CHARS {
            return Err(Error::invalid("password", format!("must be at least {MIN_PASSWORD_CHARS} characters")));
        }
        Ok(NewStaff {
            username,
            display_name: validate::required("display_name", &self.display_name, 100)?,
            role: self.role,
            qualifications: validate::optional("qualifications", &self.qualifications, 100)?,
            rcvs_number: rcvs_number(self.role, self.rcvs_number.as_deref())?,
            password: self.password.clone(),
        })
    }
}

fn rcvs_number(role: Role, number: Option<&str>) -> Result<Option<String>> {
    let number = number.map(str::trim).filter(|n| !n.is_empty());
    match number {
        None if role == Role::Vet => Err(Error::invalid("rcvs_number", "is required for a vet")),
        None => Ok(None),
        Some(n) if (4..=8).contains(&n.len()) && n.chars().all(|c| c.is_ascii_digit()) => Ok(Some(n.to_string())),
        Some(_) => Err(Error::invalid("rcvs_number", "must be the RCVS registration number: 4 to 8 digits")),
    }
}

pub(crate) fn hash_password(password: &str) -> Result<String> {
    if password.chars().count() < MIN_PASSWORD_CHARS {
        return Err(Error::invalid("password", format!("must be at least {MIN_PASSWORD_CHARS} characters")));
    }
    let mut salt = [0u8; 16];
    rand::TryRngCore::try_fill_bytes(&mut rand::rngs::OsRng, &mut salt)
        .map_err(|e| Error::Internal(format!("the operating system gave no random bytes: {e}")))?;
    let salt = SaltString::encode_b64(&salt).map_err(|e| Error::Internal(format!("password salt: {e}")))?;
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| Error::Internal(format!("password hashing failed: {e}")))
}

fn password_matches(password: &str, hash: &str) -> bool {
    PasswordHash::new(hash).is_ok_and(|parsed| Argon2::default().verify_password(password.as_bytes(), &parsed).is_ok())
}

/// A valid Argon2id hash of a password nobody has, checked when the username is unknown so that a
/// wrong username takes as long as a wrong password.
const DUMMY_HASH: &str =
    "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$HgKMw2zyDDhRZQyP4LWp6nQbl1aKpcqdGmRCdzEoP2w";

pub(crate) fn insert(w: &mut Write<'_>, practice_id: Uuid, id: Uuid, s: &NewStaff, password_hash: &str) -> Result<()> {
    let taken: bool =
        w.tx().query_row("SELECT EXISTS (SELECT 1 FROM staff WHERE username = ?1)", [&s.username], |r| r.get(0))?;
    if taken {
        return Err(Error::Conflict(format!("the username {:?} is already taken; choose another", s.username)));
    }
    let now = w.now().to_rfc3339();
    w.tx().execute(
        "INSERT INTO staff (id, practice_id, username, display_name, role, qualifications, rcvs_number, active, password_hash, created_at, updated_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, 1, ?8, ?9, ?9)",
        params![id.to_string(), practice_id.to_string(), s.username, s.display_name, s.role.as_str(), s.qualifications, s.rcvs_number, password_hash, now],
    )?;
    let mut fields = Map::new();
    field(&mut fields, "practice_id", practice_id);
    field(&mut fields, "username", &s.username);
    field(&mut fields, "display_name", &s.display_name);
    field(&mut fields, "role", s.role);
    field(&mut fields, "qualifications", &s.qualifications);
    field(&mut fields, "rcvs_number", &s.rcvs_number);
    field(&mut fields, "active", true);
    field(&mut fields, "password_hash", password_hash);
    w.record(Mutation { entity: Entity::Staff, entity_id: id, kind: ChangeKind::Create, fields });
    Ok(())
}

const COLUMNS: &str = "id, username, display_name, role, qualifications, rcvs_number, active, created_at";

fn from_row(r: &Row<'_>) -> rusqlite::Result<Staff> {
    let id: String = r.get(0)?;
    let role: String = r.get(3)?;
    let created: String = r.get(7)?;
    Ok(Staff {
        id: Uuid::parse_str(&id).unwrap_or_default(),
        username: r.get(1)?,
        display_name: r.get(2)?,
        role: Role::parse(&role).unwrap_or(Role::Reception),
        qualifications: r.get(4)?,
        rcvs_number: r.get(5)?,
        active: r.get(6)?,
        created_at: DateTime::parse_from_rfc3339(&created).map(|d| d.with_timezone(&Utc)).unwrap_or_default(),
    })
}

impl Store {
    /// Adds a staff account. Managers may add any role but admin; admins may add any role.
    pub fn add_staff(&self, session: &Session, new: &NewStaff) -> Result<Staff> {
        let new = new.validated()?;
        // Hashing is slow on purpose, so it happens before the write lock is taken.
        let password_hash = hash_password(&new.password)?;
        self.write(session, Action::AddStaff, |w| {
            if new.role == Role::Admin && w.actor().role != Role::Admin {
                return Err(Error::Forbidden("only an admin may create another admin account".into()));
            }
            let practice_id = practice_id(w.tx())?;
            let id = w.new_id();
            insert(w, practice_id, id, &new, &password_hash)?;
            get(w.tx(), id)
        })
    }

    /// Changes an account's details, role or active flag. Records only what actually changed.
    pub fn update_staff(&self, session: &Session, id: Uuid, update: &StaffUpdate) -> Result<Staff> {
        self.write(session, Action::EditStaff, |w| {
            let current = get(w.tx(), id)?;
            let touches_admin = current.role == Role::Admin || update.role == Some(Role::Admin);
            if touches_admin && w.actor().role != Role::Admin {
                return Err(Error::Forbidden("only an admin may change an admin account".into()));
            }
            if id == w.actor().id && (update.active == Some(false) || update.role.is_some_and(|r| r != current.role)) {
                return Err(Error::Forbidden("you cannot deactivate your own account or change your own role".into()));
            }
            let role = update.role.unwrap_or(current.role);
            let display_name = match &update.display_name {
                Some(n) => validate::required("display_name", n, 100)?,
                None => current.display_name.clone(),
            };
            let qualifications = match &update.qualifications {
                Some(q) => validate::optional("qualifications", q, 100)?,
                None => current.qualifications.clone(),
            };
            let rcvs = rcvs_number(role, update.rcvs_number.as_deref().or(current.rcvs_number.as_deref()))?;
            let active = update.active.unwrap_or(current.active);

            let mut fields = Map::new();
            if display_name != current.display_name {
                field(&mut fields, "display_name", &display_name);
            }
            if role != current.role {
                field(&mut fields, "role", role);
            }
            if qualifications != current.qualifications {
                field(&mut fields, "qualifications", &qualifications);
            }
            if rcvs != current.rcvs_number {
                field(&mut fields, "rcvs_number", &rcvs);
            }
            if active != current.active {
                field(&mut fields, "active", active);
            }
            if fields.is_empty() {
                return Err(Error::invalid("update", "changes nothing"));
            }
            w.tx().execute(
                "UPDATE staff SET display_name = ?2, role = ?3, qualifications = ?4, rcvs_number = ?5, active = ?6, updated_at = ?7 WHERE id = ?1",
                params![id.to_string(), display_name, role.as_str(), qualifications, rcvs, active, w.now().to_rfc3339()],
            )?;
            w.record(Mutation { entity: Entity::Staff, entity_id: id, kind: ChangeKind::Update, fields });
            get(w.tx(), id)
        })
    }

    /// Every account, active ones first, then by name.
    pub fn list_staff(&self, session: &Session) -> Result<Vec<Staff>> {
        self.authorize_read(session, Action::ViewStaff)?;
        self.read(|conn| {
            let mut stmt = conn
                .prepare(&format!("SELECT {COLUMNS} FROM staff ORDER BY active DESC, display_name COLLATE NOCASE"))?;
            let rows = stmt.query_map([], from_row)?.collect::<rusqlite::Result<Vec<_>>>()?;
            Ok(rows)
        })
    }

    /// Checks a username and password and returns the person's session.
    pub fn login(&self, username: &str, password: &str) -> Result<Session> {
        let username = username.trim().to_lowercase();
        let found = self.read(|conn| {
            let row = conn.query_row(
                &format!("SELECT {COLUMNS}, password_hash FROM staff WHERE username = ?1"),
                [&username],
                |r| Ok((from_row(r)?, r.get::<_, String>(8)?)),
            );
            match row {
                Ok(found) => Ok(Some(found)),
                Err(rusqlite::Error::QueryReturnedNoRows) => Ok(None),
                Err(e) => Err(e.into()),
            }
        })?;
        // Hash checks run outside the database lock.
        match found {
            Some((staff, hash)) if password_matches(password, &hash) && staff.active => Ok(Session {
                staff_id: staff.id,
                username: staff.username,
                display_name: staff.display_name,
                role: staff.role,
            }),
            Some(_) => Err(Error::BadCredentials),
            None => {
                let _ = password_matches(password, DUMMY_HASH);
                Err(Error::BadCredentials)
            }
        }
    }
}

fn get(conn: &rusqlite::Connection, id: Uuid) -> Result<Staff> {
    conn.query_row(&format!("SELECT {COLUMNS} FROM staff WHERE id = ?1"), [id.to_string()], from_row).map_err(|e| {
        match e {
            rusqlite::Error::QueryReturnedNoRows => Error::NotFound(format!("staff account {id}")),
            e => e.into(),
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An unknown username must cost a full Argon2id verification, like a wrong password; that
    /// only holds while the stand-in hash parses as one.
    #[test]
    fn the_stand_in_hash_is_a_real_argon2id_hash() {
        let parsed = PasswordHash::new(DUMMY_HASH).expect("DUMMY_HASH parses");
        assert_eq!(parsed.algorithm.as_str(), "argon2id");
        assert!(parsed.hash.is_some());
        let params = argon2::Params::try_from(&parsed).expect("Argon2 accepts its parameters");
        let default = argon2::Params::default();
        assert_eq!(
            (params.m_cost(), params.t_cost()),
            (default.m_cost(), default.t_cost()),
            "same cost as real hashes"
        );
        assert!(!password_matches("any password", DUMMY_HASH));
    }
}
