//! Where the server keeps its practices, devices and changes: PostgreSQL for a group's central hub,
//! an embedded SQLite file for a practice relay. Both keep the same things and follow the same rules
//! (`plan_push`); every operation is about one practice, which comes from the device's credential.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use lifeboat_protocol::{Change, DaySummary, Mark, PracticeInfo, PullPage, PushReply, Receipt, Tip};
use serde::Serialize;
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::error::{HubError, HubResult};

#[cfg(feature = "postgres")]
pub mod postgres;
pub mod sqlite;

/// The server's own identity: its id, its epoch (new whenever its store is new), and the key that
/// signs audit receipts.
#[derive(Clone)]
pub struct Identity {
    pub server_id: Uuid,
    pub epoch: Uuid,
    pub signing_key: [u8; 32],
}

impl std::fmt::Debug for Identity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Identity")
            .field("server_id", &self.server_id)
            .field("epoch", &self.epoch)
            .finish_non_exhaustive()
    }
}

/// An enrolled device, as a request's credential names it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Device {
    pub id: Uuid,
    pub practice_id: Uuid,
    pub practice_name: String,
    pub node_id: Uuid,
}

/// A device as the operator's list shows it.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct DeviceInfo {
    pub id: Uuid,
    pub practice_id: Uuid,
    pub name: String,
    pub node_id: Uuid,
    pub enrolled_at: DateTime<Utc>,
    pub revoked_at: Option<DateTime<Utc>>,
    pub last_seen: Option<DateTime<Utc>>,
    pub app_version: String,
}

/// A page of changes as stored (each change's JSON as received), so that a pull sends bytes
/// without decoding and encoding them again.
pub struct RawPage {
    pub changes: Vec<(i64, String)>,
    pub last_seq: i64,
}

impl RawPage {
    /// The page as a `PullPage` in JSON.
    pub fn to_json(&self) -> String {
        let mut out = String::with_capacity(self.changes.iter().map(|(_, b)| b.len() + 32).sum::<usize>() + 64);
        out.push_str("{\"changes\":[");
        for (i, (seq, body)) in self.changes.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            out.push_str("{\"seq\":");
            out.push_str(&seq.to_string());
            out.push_str(",\"change\":");
            out.push_str(body);
            out.push('}');
        }
        out.push_str("],\"last_seq\":");
        out.push_str(&self.last_seq.to_string());
        out.push('}');
        out
    }

    /// The page decoded (for callers in this process).
    pub fn decode(&self) -> HubResult<PullPage> {
        serde_json::from_str(&self.to_json())
            .map_err(|e| HubError::Store(format!("a stored change does not decode: {e}")))
    }
}

/// SHA-256 (hex) of a secret, as stored: tokens and enrolment codes are never stored in clear.
pub fn secret_hash(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.trim().as_bytes()))
}

/// A fresh random secret of `bytes` bytes, in hex.
pub fn new_secret(bytes: usize) -> String {
    use rand::RngCore;
    let mut buf = vec![0u8; bytes];
    rand::rng().fill_bytes(&mut buf);
    hex::encode(buf)
}

/// A one-time enrolment code: 16 characters of Crockford base32 (80 bits).
pub fn new_enrol_code() -> String {
    use rand::Rng;
    let alphabet = lifeboat_protocol::pairing::ALPHABET;
    let mut rng = rand::rng();
    (0..16).map(|_| alphabet[rng.random_range(0..32)] as char).collect()
}

/// Checks a change as the server receives it: well formed and sealed.
pub fn check_change(c: &Change) -> HubResult<()> {
    let bad = |what: &str| Err(HubError::BadRequest(format!("change {}: {what}", c.op_id)));
    if c.node_seq < 1 {
        return bad("its node sequence number must be 1 or more");
    }
    if c.hlc < 0 {
        return bad("its clock is negative");
    }
    if c.entity.is_empty() || c.entity.len() > 40 || !c.entity.bytes().all(|b| b.is_ascii_lowercase() || b == b'_') {
        return bad("its kind of record is not a name");
    }
    if c.kind != "create" && c.kind != "update" {
        return bad("its kind must be create or update");
    }
    if !c.payload.is_object() || !c.base.is_object() {
        return bad("its payload and base must be objects");
    }
    if !c.is_intact() {
        return Err(HubError::Refused(format!("change {}: its content does not match its content hash", c.op_id)));
    }
    Ok(())
}

/// What a push does (its changes already checked by `check_change`), decided from what the server
/// holds: which changes are new (in order), how many
/// are already here; or why the push is refused (a change re-sent with other content, a sequence
/// number reused by another change, a gap).
pub fn plan_push<'a>(
    changes: &'a [Change],
    marks: &HashMap<Uuid, i64>,
    existing: &HashMap<Uuid, String>,
    tips: &[Tip],
    held_at_tips: &HashMap<(Uuid, i64), Uuid>,
) -> HubResult<(Vec<&'a Change>, u32)> {
    for tip in tips {
        if tip.seq >= 1
            && tip.seq <= marks.get(&tip.node_id).copied().unwrap_or(0)
            && held_at_tips.get(&(tip.node_id, tip.seq)) != Some(&tip.op_id)
        {
            return Err(HubError::Refused(format!(
                "the changes of node {} on this PC differ from the server's at number {}: this PC's database was put back from an older copy; ask IT before going on",
                tip.node_id, tip.seq
            )));
        }
    }
    let mut next: HashMap<Uuid, i64> = HashMap::new();
    let mut new = Vec::new();
    let mut duplicates = 0;
    let mut seen = std::collections::HashSet::new();
    for c in changes {
        if !seen.insert(c.op_id) {
            return Err(HubError::Refused(format!("change {} is in the push twice", c.op_id)));
        }
        if let Some(hash) = existing.get(&c.op_id) {
            if *hash != c.content_hash {
                return Err(HubError::Refused(format!("change {} arrived again with other content", c.op_id)));
            }
            duplicates += 1;
            continue;
        }
        let mark = *next.get(&c.node_id).unwrap_or(marks.get(&c.node_id).unwrap_or(&0));
        if c.node_seq <= mark {
            return Err(HubError::Refused(format!(
                "node {} used sequence number {} for two different changes",
                c.node_id, c.node_seq
            )));
        }
        if c.node_seq != mark + 1 {
            return Err(HubError::Refused(format!(
                "changes of node {} arrived out of order: expected number {}, got {}",
                c.node_id,
                mark + 1,
                c.node_seq
            )));
        }
        next.insert(c.node_id, c.node_seq);
        new.push(c);
    }
    Ok((new, duplicates))
}

/// The node id under which the server writes changes of its own into a practice's stream (hand-overs
/// received from another practice), the same on every restart.
pub fn server_node(server_id: Uuid, practice_id: Uuid) -> Uuid {
    let digest = Sha256::digest(format!("lifeboat-server-node|{server_id}|{practice_id}").as_bytes());
    let mut bytes = [0u8; 16];
    bytes.copy_from_slice(&digest[..16]);
    Uuid::new_v8(bytes)
}

/// The server's stores, one of which it runs on.
pub enum Store {
    Sqlite(sqlite::SqliteStore),
    #[cfg(feature = "postgres")]
    Postgres(postgres::PgStore),
}

macro_rules! each {
    ($self:ident, $s:ident => $e:expr) => {
        match $self {
            Store::Sqlite($s) => $e,
            #[cfg(feature = "postgres")]
            Store::Postgres($s) => $e,
        }
    };
}

impl Store {
    pub async fn identity(&self) -> HubResult<Identity> {
        each!(self, s => s.identity().await)
    }

    /// Adds a practice (the group's IT, or the relay's host PC).
    pub async fn add_practice(&self, id: Uuid, name: &str) -> HubResult<PracticeInfo> {
        let name = name.trim();
        if name.is_empty() || name.chars().count() > 100 {
            return Err(HubError::BadRequest("the practice name must be 1 to 100 characters".into()));
        }
        each!(self, s => s.add_practice(id, name).await)
    }

    pub async fn practices(&self) -> HubResult<Vec<PracticeInfo>> {
        each!(self, s => s.practices().await)
    }

    /// A one-time enrolment code for `practice`, valid for `hours`.
    pub async fn new_enrol_code(&self, practice: Uuid, hours: i64) -> HubResult<String> {
        let code = new_enrol_code();
        let expires = Utc::now() + chrono::Duration::hours(hours.clamp(1, 24 * 14));
        each!(self, s => s.add_enrol_code(practice, &secret_hash(&code), expires).await)?;
        Ok(code)
    }

    /// Enrols a device with a one-time code; returns the device and its new token.
    pub async fn enrol(&self, code: &str, name: &str, node_id: Uuid) -> HubResult<(Device, String)> {
        // (Counted before the spaces are trimmed, as the OpenAPI description says.)
        if name.chars().count() > 100 || name.trim().is_empty() {
            return Err(HubError::BadRequest("the device name must be 1 to 100 characters".into()));
        }
        let name = name.trim();
        if code.len() > 64 {
            return Err(HubError::Unauthorized("that enrolment code is not valid".into()));
        }
        let token = new_secret(32);
        let device = each!(self, s => s.enrol(&secret_hash(&lifeboat_protocol::pairing::normalise(code)), name, node_id, &secret_hash(&token)).await)?;
        Ok((device, token))
    }

    /// The device a token belongs to; refused if unknown or revoked.
    pub async fn authenticate(&self, token: &str, app_version: Option<&str>) -> HubResult<Device> {
        if token.len() > 128 {
            return Err(HubError::Unauthorized("this device's credential is not valid".into()));
        }
        each!(self, s => s.authenticate(&secret_hash(token), app_version).await)
    }

    pub async fn devices(&self, practice: Option<Uuid>) -> HubResult<Vec<DeviceInfo>> {
        each!(self, s => s.devices(practice).await)
    }

    pub async fn revoke(&self, device: Uuid) -> HubResult<()> {
        each!(self, s => s.revoke(device).await)
    }

    /// What the server holds for a practice, per node, and its last sequence number.
    pub async fn marks(&self, practice: Uuid) -> HubResult<(Vec<Mark>, i64)> {
        each!(self, s => s.marks(practice).await)
    }

    pub async fn push(&self, device: &Device, changes: Vec<Change>, tips: Vec<Tip>) -> HubResult<PushReply> {
        if tips.len() > lifeboat_protocol::MAX_TIPS {
            return Err(HubError::BadRequest(format!("a push names at most {} tips", lifeboat_protocol::MAX_TIPS)));
        }
        // Every change is checked (well formed, sealed) before the practice is locked.
        let changes = tokio::task::spawn_blocking(move || -> HubResult<Vec<Change>> {
            for c in &changes {
                check_change(c)?;
            }
            Ok(changes)
        })
        .await??;
        each!(self, s => s.push(device, changes, tips).await)
    }

    /// Up to `limit` changes after `after`, fewer where their bodies pass `PAGE_BYTES` (at least one);
    /// the bodies past that are never read.
    pub async fn pull(&self, practice: Uuid, after: i64, after_op: Option<Uuid>, limit: u32) -> HubResult<RawPage> {
        each!(self, s => s.pull(practice, after, after_op, limit).await)
    }

    pub async fn day_summaries(&self, practice: Uuid) -> HubResult<Vec<DaySummary>> {
        each!(self, s => s.day_summaries(practice).await)
    }

    pub async fn store_receipt(&self, device: &Device, receipt: &Receipt) -> HubResult<()> {
        each!(self, s => s.store_receipt(device, receipt).await)
    }

    pub async fn last_receipt(&self, device: &Device) -> HubResult<Option<Receipt>> {
        each!(self, s => s.last_receipt(device).await)
    }

    /// Writes a change of the server's own (a hand-over) into `practice`'s stream, numbered after the
    /// server's previous ones there. `make` builds the change for a node sequence number.
    pub async fn append_own(
        &self,
        practice: Uuid,
        node: Uuid,
        make: impl Fn(i64) -> Change + Send + Sync + 'static,
    ) -> HubResult<Change> {
        each!(self, s => s.append_own(practice, node, make).await)
    }

    /// Starts a new epoch: after the store was restored from a backup, every client pulls again
    /// from the beginning (and pushes from the restored marks, refilling what the backup missed).
    pub async fn new_epoch(&self) -> HubResult<Uuid> {
        each!(self, s => s.new_epoch().await)
    }
}
