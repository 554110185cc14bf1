//! Staff accounts: who they are, their role, and how they log in. Passwords are hashed with
//! Argon2id (PHC string format, parameters stored with the hash).

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use chrono::{DateTime, Utc};
use rusqlite::{params, Connection, OptionalExtension, Row};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::error::{Error, Result};
use crate::permission::{Action, Role};
use crate::session::Session;
use crate::store::database::Store;
use crate::store::row;
use crate::store::write::{ChangeKind, Entity, Fields, Write};
use crate::time;
use crate::validate;

pub const MIN_PASSWORD_CHARS: usize = 8;
/// Longer passwords are refused, so that hashing cannot be made to take unbounded time.
pub const MAX_PASSWORD_CHARS: usize = 200;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Staff {
    pub id: Uuid,
    pub username: String,
    pub display_name: String,
    pub role: Role,
    pub qualifications: String,
    pub rcvs_number: Option<String>,
    /// A suitably qualified person (SQP): may prescribe POM-VPS and NFA-VPS medicines.
    pub sqp: bool,
    pub active: bool,
    pub created_at: DateTime<Utc>,
    /// How to reach them (for the continuity pack); empty when not given.
    pub phone: String,
    /// They log in with a password a manager gave them, and must choose their own first.
    pub must_change_password: bool,
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
    /// The password is one a manager gives them: they must choose their own at their first login
    /// (the desktop's staff form always says so; the practice's first admin chooses their own).
    #[serde(default)]
    pub must_change_password: bool,
}

/// A change to an account; only the fields that are `Some` change.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct StaffUpdate {
    pub display_name: Option<String>,
    pub role: Option<Role>,
    pub qualifications: Option<String>,
    pub rcvs_number: Option<String>,
    pub sqp: Option<bool>,
    pub active: Option<bool>,
    /// A UK number; empty to remove it.
    #[serde(default)]
    pub phone: Option<String>,
}

/// Proof that a person has just re-entered their password (only `Store::confirm_password` makes one).
pub struct Reauthenticated {
    staff_id: Uuid,
}

impl Reauthenticated {
    /// Only for `Store::confirm_password`, once the password was checked.
    pub(crate) fn checked(staff_id: Uuid) -> Reauthenticated {
        Reauthenticated { staff_id }
    }

    pub fn staff_id(&self) -> Uuid {
        self.staff_id
    }
}

/// A checked `NewStaff`, ready to insert; only `validated` makes one.
pub(crate) struct ValidStaff {
    username: String,
    display_name: String,
    role: Role,
    qualifications: String,
    rcvs_number: Option<String>,
    must_change_password: bool,
}

impl ValidStaff {
    pub fn username(&self) -> &str {
        &self.username
    }
    pub fn display_name(&self) -> &str {
        &self.display_name
    }
}

pub(crate) fn validated(new: &NewStaff) -> Result<ValidStaff> {
    let username = new.username.trim().to_lowercase();
    if !(3..=32).contains(&username.chars().count())
        || !username.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || ".-_".contains(c))
    {
        return Err(Error::invalid(
            "username",
            "must be 3 to 32 characters: letters, digits, '.', '-' or '_' (for example j.smith)",
        ));
    }
    check_password(&new.password)?;
    Ok(ValidStaff {
        username,
        display_name: validate::required("display_name", &new.display_name, 100)?,
        role: new.role,
        qualifications: validate::optional("qualifications", &new.qualifications, 100)?,
        rcvs_number: rcvs_number(new.role, new.rcvs_number.as_deref())?,
        must_change_password: new.must_change_password,
    })
}

pub(super) fn check_password(password: &str) -> Result<()> {
    let n = password.chars().count();
    if n < MIN_PASSWORD_CHARS {
        return Err(Error::invalid("password", format!("must be at least {MIN_PASSWORD_CHARS} characters")));
    }
    if n > MAX_PASSWORD_CHARS {
        return Err(Error::invalid("password", format!("must be at most {MAX_PASSWORD_CHARS} characters")));
    }
    Ok(())
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
    check_password(password)?;
    hash_secret(password)
}

/// An Argon2id hash of `secret` with a fresh salt (a password, once its rules are checked, or a PIN).
pub(super) fn hash_secret(password: &str) -> Result<String> {
    let mut salt = [0u8; 16];
    rand::TryRngCore::try_fill_bytes(&mut rand::rngs::OsRng, &mut salt)
        .map_err(|e| Error::Internal(format!("the operating system gave no random bytes: {e}")))?;
    let salt = SaltString::encode_b64(&salt).map_err(|e| Error::Internal(format!("password salt: {e}")))?;
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| Error::Internal(format!("password hashing failed: {e}")))
}

/// Whether `secret` is the one `hash` was made from.
pub(super) fn secret_matches(secret: &str, hash: &str) -> bool {
    PasswordHash::new(hash).is_ok_and(|parsed| Argon2::default().verify_password(secret.as_bytes(), &parsed).is_ok())
}

pub(super) fn password_matches(password: &str, hash: &str) -> bool {
    password.chars().count() <= MAX_PASSWORD_CHARS
        && PasswordHash::new(hash)
            .is_ok_and(|parsed| Argon2::default().verify_password(password.as_bytes(), &parsed).is_ok())
}

/// A valid Argon2id hash of a password nobody has, checked when the username is unknown so that a
/// wrong username takes as long as a wrong password.
pub(super) const DUMMY_HASH: &str =
    "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$HgKMw2zyDDhRZQyP4LWp6nQbl1aKpcqdGmRCdzEoP2w";

pub(crate) fn insert(
    w: &mut Write<'_>,
    practice_id: Uuid,
    id: Uuid,
    s: &ValidStaff,
    password_hash: &str,
) -> Result<()> {
    let taken: bool =
        w.tx().query_row("SELECT EXISTS (SELECT 1 FROM staff WHERE username = ?1)", [&s.username], |r| r.get(0))?;
    if taken {
        return Err(Error::Conflict(format!("the username {:?} is already taken; choose another", s.username)));
    }
    let now = time::stored(w.now());
    w.tx().execute(
        "INSERT INTO staff (id, practice_id, username, display_name, role, qualifications, rcvs_number, active, password_hash, must_change_password, created_at, updated_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, 1, ?8, ?9, ?10, ?10)",
        params![id.to_string(), practice_id.to_string(), s.username, s.display_name, s.role.as_str(), s.qualifications, s.rcvs_number, password_hash, s.must_change_password, now],
    )?;
    let fields = Fields::new()
        .with("practice_id", practice_id)
        .with("username", &s.username)
        .with("display_name", &s.display_name)
        .with("role", s.role)
        .with("qualifications", &s.qualifications)
        .with("rcvs_number", &s.rcvs_number)
        .with("sqp", false)
        .with("active", true)
        .with("password_hash", password_hash)
        .with("must_change_password", s.must_change_password);
    w.record(Action::AddStaff, Entity::Staff, id, ChangeKind::Create, fields)
}

pub(super) const COLUMNS: &str =
    "id, username, display_name, role, qualifications, rcvs_number, sqp, active, created_at, phone, must_change_password";
/// How many columns `COLUMNS` names (a query may select more after them).
pub(super) const COLUMN_COUNT: usize = 11;

pub(super) fn from_row(r: &Row<'_>) -> rusqlite::Result<Staff> {
    Ok(Staff {
        id: row::uuid(r, 0)?,
        username: r.get(1)?,
        display_name: r.get(2)?,
        role: row::word(r, 3, Role::parse)?,
        qualifications: r.get(4)?,
        rcvs_number: r.get(5)?,
        sqp: r.get(6)?,
        active: r.get(7)?,
        created_at: row::time(r, 8)?,
        phone: r.get(9)?,
        must_change_password: r.get(10)?,
    })
}

pub(crate) fn get(conn: &Connection, id: Uuid) -> Result<Staff> {
    conn.query_row(&format!("SELECT {COLUMNS} FROM staff WHERE id = ?1"), [id.to_string()], from_row)
        .optional()?
        .ok_or_else(|| Error::NotFound(format!("staff account {id}")))
}

pub(crate) fn list(conn: &Connection) -> Result<Vec<Staff>> {
    let mut stmt =
        conn.prepare_cached(&format!("SELECT {COLUMNS} FROM staff ORDER BY active DESC, display_name COLLATE NOCASE"))?;
    let rows = stmt.query_map([], from_row)?.collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(rows)
}

impl Write<'_> {
    /// Adds an account whose password was hashed before the write began (hashing is slow on purpose,
    /// and must not hold the write lock). Managers may add any role but admin.
    fn add_staff_hashed(&mut self, new: &ValidStaff, password_hash: &str) -> Result<Staff> {
        self.authorize(Action::AddStaff)?;
        if new.role == Role::Admin && self.actor().role != Role::Admin {
            return Err(Error::Forbidden("only an admin may create another admin account".into()));
        }
        let practice_id = self.practice_id()?;
        let id = self.new_id();
        insert(self, practice_id, id, new, password_hash)?;
        get(self.tx(), id)
    }

    /// Gives someone a new password (hashed before the write began) that they must replace with their
    /// own at their next login: for a forgotten password. Managers and admins; only an admin for an
    /// admin; never one's own (that is `change_own_password`, which needs the current one).
    pub(crate) fn reset_password_hashed(&mut self, id: Uuid, password_hash: &str) -> Result<Staff> {
        self.authorize(Action::EditStaff)?;
        let current = get(self.tx(), id)?;
        if current.role == Role::Admin && self.actor().role != Role::Admin {
            return Err(Error::Forbidden("only an admin may give an admin account a new password".into()));
        }
        if id == self.actor().id {
            return Err(Error::Forbidden(
                "change your own password under Your password, with the one you use now".into(),
            ));
        }
        self.tx().execute(
            "UPDATE staff SET password_hash = ?2, must_change_password = 1, updated_at = ?3 WHERE id = ?1",
            params![id.to_string(), password_hash, time::stored(self.now())],
        )?;
        let fields = Fields::new().with("password_hash", password_hash).with("must_change_password", true);
        self.record(Action::EditStaff, Entity::Staff, id, ChangeKind::Update, fields)?;
        get(self.tx(), id)
    }

    /// Changes an account's details, role or active flag. Records only what actually changed.
    pub fn update_staff(&mut self, id: Uuid, update: &StaffUpdate) -> Result<Staff> {
        self.authorize(Action::EditStaff)?;
        let current = get(self.tx(), id)?;
        let touches_admin = current.role == Role::Admin || update.role == Some(Role::Admin);
        if touches_admin && self.actor().role != Role::Admin {
            return Err(Error::Forbidden("only an admin may change an admin account".into()));
        }
        if id == self.actor().id && (update.active == Some(false) || update.role.is_some_and(|r| r != current.role)) {
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
        let sqp = update.sqp.unwrap_or(current.sqp);
        if sqp && !matches!(role, Role::Nurse | Role::Vet) {
            return Err(Error::invalid(
                "sqp",
                "only vets and nurses prescribe in Lifeboat; a suitably qualified person must be a nurse",
            ));
        }
        let active = update.active.unwrap_or(current.active);
        let phone = match update.phone.as_deref().map(str::trim) {
            Some("") => String::new(),
            Some(p) => validate::uk_phone("phone", p)?,
            None => current.phone.clone(),
        };

        let mut fields = Fields::new();
        if display_name != current.display_name {
            fields.put("display_name", &display_name);
        }
        if role != current.role {
            fields.put("role", role);
        }
        if qualifications != current.qualifications {
            fields.put("qualifications", &qualifications);
        }
        if rcvs != current.rcvs_number {
            fields.put("rcvs_number", &rcvs);
        }
        if sqp != current.sqp {
            fields.put("sqp", sqp);
        }
        if active != current.active {
            fields.put("active", active);
        }
        if phone != current.phone {
            fields.put("phone", &phone);
        }
        if fields.is_empty() {
            return Err(Error::invalid("update", "changes nothing"));
        }
        self.tx().execute(
            "UPDATE staff SET display_name = ?2, role = ?3, qualifications = ?4, rcvs_number = ?5, sqp = ?6, active = ?7, updated_at = ?8, phone = ?9 WHERE id = ?1",
            params![id.to_string(), display_name, role.as_str(), qualifications, rcvs, sqp, active, time::stored(self.now()), phone],
        )?;
        self.record(Action::EditStaff, Entity::Staff, id, ChangeKind::Update, fields)?;
        get(self.tx(), id)
    }
}

impl Store {
    /// Adds a staff account. Managers may add any role but admin; admins may add any role.
    pub fn add_staff(&self, session: &Session, new: &NewStaff) -> Result<Staff> {
        self.require(session, Action::AddStaff)?;
        let valid = validated(new)?;
        // Hashing is slow on purpose, so it happens before the write lock is taken.
        let password_hash = hash_password(&new.password)?;
        self.write(session, |w| w.add_staff_hashed(&valid, &password_hash))
    }

    pub fn update_staff(&self, session: &Session, id: Uuid, update: &StaffUpdate) -> Result<Staff> {
        self.write(session, |w| w.update_staff(id, update))
    }

    /// Every account, active ones first, then by name.
    pub fn list_staff(&self, session: &Session) -> Result<Vec<Staff>> {
        self.read_as(session, Action::ViewStaff, |r| list(r))
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_column_count_is_that_of_the_column_list() {
        assert_eq!(super::COLUMNS.split(',').count(), super::COLUMN_COUNT);
    }

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
