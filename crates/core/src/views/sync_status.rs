//! What the always-visible status banner and the sync page show: whether this PC works alone, how
//! many of its changes wait to reach each server, when it last synced, the last error in plain words,
//! open conflicts, and a clock warning.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::error::Result;
use crate::replica::conflicts;
use crate::store::database::Store;
use crate::store::journal;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct PeerStatus {
    pub id: Uuid,
    pub name: String,
    pub url: String,
    pub enabled: bool,
    /// Changes this PC holds that the server does not (as of the last exchange).
    pub waiting: u64,
    pub last_success: Option<DateTime<Utc>>,
    pub last_error: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct SyncStatus {
    /// `true` while this PC syncs with no server (it has none, or none enabled).
    pub working_locally: bool,
    /// Changes waiting to reach the server furthest behind (or, with no server, every change made on
    /// this PC).
    pub pending_changes: u64,
    /// The last successful exchange with any server; `None` means never.
    pub last_sync: Option<DateTime<Utc>>,
    /// The latest error of an enabled server, if its last attempt failed.
    pub last_error: Option<String>,
    pub peers: Vec<PeerStatus>,
    pub open_conflicts: u64,
    /// Set when a change arrived stamped far ahead of this PC's clock.
    pub clock_warning: Option<String>,
    /// Set when this PC's audit log no longer matches what a server signed for it.
    pub audit_warning: Option<String>,
    /// How many changes this PC holds, its own and received: when it grows, screens show new data.
    pub held_changes: u64,
}

impl Store {
    pub fn sync_status(&self) -> Result<SyncStatus> {
        let own = self.own_nodes()?;
        let peers = self.peers()?;
        let mut statuses = Vec::with_capacity(peers.len());
        for p in &peers {
            statuses.push(PeerStatus {
                id: p.id,
                name: p.name.clone(),
                url: p.url.clone(),
                enabled: p.enabled,
                waiting: self.count_missing_from(&p.marks)?,
                last_success: p.last_success,
                last_error: p.last_error.clone(),
            });
        }
        let enabled: Vec<&PeerStatus> = statuses.iter().filter(|p| p.enabled).collect();
        let pending_changes = match enabled.iter().map(|p| p.waiting).max() {
            Some(n) => n,
            None => self.read(|conn| journal::pending_count(conn, &own))?,
        };
        let (open_conflicts, clock_warning, audit_warning) = self.read(|conn| {
            let open = conflicts::list(conn, true)?.len() as u64;
            let setting = |key: &str| -> Option<String> {
                conn.query_row("SELECT value FROM local_setting WHERE key = ?1", [key], |r| r.get(0)).ok()
            };
            Ok((open, setting("clock_warning"), setting("audit_warning")))
        })?;
        Ok(SyncStatus {
            working_locally: enabled.is_empty(),
            pending_changes,
            last_sync: statuses.iter().filter_map(|p| p.last_success).max(),
            last_error: enabled.iter().find(|p| p.last_error.is_some()).and_then(|p| p.last_error.clone()),
            peers: statuses,
            open_conflicts,
            clock_warning,
            audit_warning,
            held_changes: self.marks()?.iter().map(|m| m.seq.max(0) as u64).sum(),
        })
    }
}
