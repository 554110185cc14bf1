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
}

impl Actor {
    /// The person behind `session`, with their role as it is now: an unknown or deactivated
    /// account is refused, whatever the session says.
    pub(crate) fn load(conn: &Connection, session: &Session) -> Result<Actor> {
        let found: Option<(String, bool)> = conn
            .query_row("SELECT role, active FROM staff WHERE id = ?1", [session.staff_id.to_string()], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })
            .optional()?;
        let Some((role, active)) = found else {
            return Err(Error::Forbidden("this account does not exist on this computer; log in again".into()));
        };
        if !active {
            return Err(Error::Forbidden("this account has been deactivated; ask a manager".into()));
        }
        let role = Role::parse(&role).ok_or_else(|| Error::DamagedRecord(format!("unknown role {role:?} in staff")))?;
        Ok(Actor { id: session.staff_id, role })
    }

    /// Checks the permission table.
    pub fn authorize(&self, action: Action) -> Result<()> {
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
