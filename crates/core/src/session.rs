//! Who is acting. A `Session` comes only from `Store::login` (or from creating the practice) and is
//! passed to every core call that reads or changes practice data.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::permission::Role;

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Session {
    pub staff_id: Uuid,
    pub username: String,
    pub display_name: String,
    pub role: Role,
    /// Logged in with a password a manager gave them: they must choose their own before anything
    /// else (the core refuses the rest, whatever this says; the screens use it to ask at once).
    #[serde(default)]
    pub must_change_password: bool,
}
