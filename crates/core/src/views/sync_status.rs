//! What the always-visible status banner shows: whether this PC works alone, how many changes wait
//! to be sent, and when it last synced.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::error::Result;
use crate::store::database::Store;
use crate::store::journal;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct SyncStatus {
    /// `true` while this PC works on its own database with no relay or hub; always so until sync exists.
    pub working_locally: bool,
    pub pending_changes: u64,
    /// `None` means never.
    pub last_sync: Option<DateTime<Utc>>,
}

impl Store {
    pub fn sync_status(&self) -> Result<SyncStatus> {
        let pending_changes = self.read(|conn| journal::pending_count(conn, self.node_id()))?;
        Ok(SyncStatus { working_locally: true, pending_changes, last_sync: None })
    }
}
