//! Who is acting: the person behind a session, with the role the database gives them now.

use rusqlite::{Connection, OptionalExtension};
use uuid::Uuid;

use crate::error::{Error, Result};
use crate::permission::{self, Action, Role};
use crate::session::Session;

/// The acting person, as the database knows them at the time of the read or write.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Actor {
    pub id: Uuid,
    pub role: Role,
    /// Logged in with a password a manager gave them: only choosing their own is allowed.
    pub must_change_password: bool,
}

impl Actor {
    /// The person behind `session`, with their role as it is now: an unknown or deactivated
    /// account is refused, whatever the session says.
    pub(crate) fn load(conn: &Connection, session: &Session) -> Result<Actor> {
        let found: Option<(String, bool, bool)> = conn
            .prepare_cached("SELECT role, active, must_change_password FROM staff WHERE id = ?1")?
            .query_row([session.staff_id.to_string()], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
            .optional()?;
        let Some((role, active, must_change_password)) = found else {
            return Err(Error::Forbidden("this account does not exist on this computer; log in again".into()));
        };
        if !active {
            return Err(Error::Forbidden("this account has been deactivated; ask a manager".into()));
        }
        let role = Role::parse(&role).ok_or_else(|| Error::DamagedRecord(format!("unknown role {role:?} in staff")))?;
        Ok(Actor { id: session.staff_id, role, must_change_password })
    }

    /// Checks the permission table. Someone still using a password a manager gave them may only
    /// sign in and choose their own.
    pub fn authorize(&self, action: Action) -> Result<()> {
        if self.must_change_password && !matches!(action, Action::SignIn | Action::ChangeOwnPassword) {
            return Err(Error::Forbidden(
                "you are using the password a manager gave you: choose your own password first".into(),
            ));
        }
        if permission::allows(self.role, action) {
            Ok(())
        } else {
            Err(Error::Forbidden(format!(
                "a {} account may not {}; ask a manager or an admin",
                self.role,
                action.describe()
            )))
        }
    }
}
