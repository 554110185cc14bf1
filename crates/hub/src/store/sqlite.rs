//! The practice relay's store: one SQLite file (encrypted with SQLCipher when given a key), needing no
//! set-up. One writer at a time (SQLite's own lock), so a practice's sequence numbers are assigned in
//! commit order.

use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex};

use chrono::{DateTime, SecondsFormat, Utc};
use lifeboat_protocol::{Change, DaySummary, Mark, PracticeInfo, PushReply, Receipt, Tip};
use rusqlite::{params, Connection, OptionalExtension, TransactionBehavior};
use uuid::Uuid;

use crate::error::{HubError, HubResult};
use crate::store::{plan_push, Device, DeviceInfo, Identity, RawPage};

const SCHEMA: &str = "
CREATE TABLE server (
    id           INTEGER PRIMARY KEY CHECK (id = 1),
    server_id    TEXT NOT NULL,
    epoch        TEXT NOT NULL,
    signing_key  TEXT NOT NULL,
    created_at   TEXT NOT NULL
) STRICT;
CREATE TABLE practice (
    id          TEXT PRIMARY KEY NOT NULL,
    name        TEXT NOT NULL,
    last_seq    INTEGER NOT NULL DEFAULT 0,
    created_at  TEXT NOT NULL
) STRICT;
CREATE TABLE device (
    id           TEXT PRIMARY KEY NOT NULL,
    practice_id  TEXT NOT NULL REFERENCES practice (id),
    name         TEXT NOT NULL,
    node_id      TEXT NOT NULL,
    token_hash   TEXT NOT NULL UNIQUE,
    enrolled_at  TEXT NOT NULL,
    revoked_at   TEXT,
    last_seen    TEXT,
    app_version  TEXT NOT NULL DEFAULT ''
) STRICT;
CREATE TABLE enrol_code (
    code_hash    TEXT PRIMARY KEY NOT NULL,
    practice_id  TEXT NOT NULL REFERENCES practice (id),
    expires_at   TEXT NOT NULL,
    used_at      TEXT
) STRICT;
-- A rowid table, its keys in indexes: a change's body is often larger than SQLite keeps inside the
-- B-tree cell of a WITHOUT ROWID table (a body over about 700 bytes here), where the row then spilled into
-- overflow pages and storing it took about twice as long (BENCHMARKS.md, schema 19).
CREATE TABLE change (
    practice_id   TEXT NOT NULL REFERENCES practice (id),
    seq           INTEGER NOT NULL,
    op_id         TEXT NOT NULL,
    node_id       TEXT NOT NULL,
    node_seq      INTEGER NOT NULL,
    hlc           INTEGER NOT NULL,
    content_hash  TEXT NOT NULL,
    body          TEXT NOT NULL,
    device_id     TEXT,
    received_at   TEXT NOT NULL
) STRICT;
CREATE UNIQUE INDEX change_seq ON change (practice_id, seq);
CREATE UNIQUE INDEX change_op ON change (practice_id, op_id);
CREATE UNIQUE INDEX change_node ON change (practice_id, node_id, node_seq);
CREATE TABLE node_mark (
    practice_id  TEXT NOT NULL,
    node_id      TEXT NOT NULL,
    last_seq     INTEGER NOT NULL,
    PRIMARY KEY (practice_id, node_id)
) STRICT, WITHOUT ROWID;
CREATE TABLE audit_receipt (
    practice_id  TEXT NOT NULL,
    device_id    TEXT NOT NULL,
    node_id      TEXT NOT NULL,
    audit_seq    INTEGER NOT NULL,
    head_hash    TEXT NOT NULL,
    signed_at    TEXT NOT NULL,
    server_key   TEXT NOT NULL,
    signature    TEXT NOT NULL,
    PRIMARY KEY (device_id, audit_seq, signed_at)
) STRICT;
PRAGMA user_version = 2;
";

/// Version 1 kept the changes in a `WITHOUT ROWID` table keyed by practice and sequence; version 2
/// keeps them in a rowid table with the same three keys as unique indexes (rows in sequence order).
const CHANGE_V2: &str = "
CREATE TABLE change_v2 (
    practice_id   TEXT NOT NULL REFERENCES practice (id),
    seq           INTEGER NOT NULL,
    op_id         TEXT NOT NULL,
    node_id       TEXT NOT NULL,
    node_seq      INTEGER NOT NULL,
    hlc           INTEGER NOT NULL,
    content_hash  TEXT NOT NULL,
    body          TEXT NOT NULL,
    device_id     TEXT,
    received_at   TEXT NOT NULL
) STRICT;
INSERT INTO change_v2 (practice_id, seq, op_id, node_id, node_seq, hlc, content_hash, body, device_id, received_at)
SELECT practice_id, seq, op_id, node_id, node_seq, hlc, content_hash, body, device_id, received_at
FROM change ORDER BY practice_id, seq;
DROP TABLE change;
ALTER TABLE change_v2 RENAME TO change;
CREATE UNIQUE INDEX change_seq ON change (practice_id, seq);
CREATE UNIQUE INDEX change_op ON change (practice_id, op_id);
CREATE UNIQUE INDEX change_node ON change (practice_id, node_id, node_seq);
PRAGMA user_version = 2;
";

/// The version of the relay's store this build writes.
const VERSION: i64 = 2;

pub struct SqliteStore {
    conn: Arc<Mutex<Connection>>,
}

fn now() -> String {
    Utc::now().to_rfc3339_opts(SecondsFormat::Millis, true)
}

fn uuid(text: &str) -> HubResult<Uuid> {
    Uuid::parse_str(text).map_err(|_| HubError::Store(format!("a stored id is damaged: {text:?}")))
}

fn time(text: Option<String>) -> Option<DateTime<Utc>> {
    text.and_then(|t| DateTime::parse_from_rfc3339(&t).ok()).map(|t| t.with_timezone(&Utc))
}

impl SqliteStore {
    /// Opens (or creates) the relay's store at `path`. `key` is an SQLCipher raw key (64 hex
    /// characters); `None` leaves the file unencrypted (for tests only).
    pub fn open(path: &Path, key: Option<&str>) -> HubResult<SqliteStore> {
        let mut conn = Connection::open(path)?;
        if let Some(key) = key {
            if key.len() != 64 || !key.bytes().all(|b| b.is_ascii_hexdigit()) {
                return Err(HubError::Store("the relay's key must be 64 hexadecimal characters".into()));
            }
            conn.pragma_update(None, "key", format!("x'{key}'"))?;
        }
        conn.execute_batch("PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 5000;")?;
        // A store at this version opens without writing (read-only media, a relay busy writing).
        // Otherwise the version is read again in the transaction that acts on it, which holds the
        // writer's lock from the start: two processes opening one store at once (the relay and a
        // command) take turns, and the second finds the work done.
        let found: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
        if found == VERSION {
            return Ok(SqliteStore { conn: Arc::new(Mutex::new(conn)) });
        }
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let version: i64 = tx.query_row("PRAGMA user_version", [], |r| r.get(0))?;
        if version == 0 {
            tx.execute_batch(SCHEMA)?;
            let key = crate::store::new_secret(32);
            tx.execute(
                "INSERT INTO server (id, server_id, epoch, signing_key, created_at) VALUES (1, ?1, ?2, ?3, ?4)",
                params![Uuid::now_v7().to_string(), Uuid::now_v7().to_string(), key, now()],
            )?;
        } else if version > VERSION {
            return Err(HubError::Store(format!("the relay's store is from a newer Lifeboat (version {version})")));
        } else if version == 1 {
            tx.execute_batch(CHANGE_V2)?;
        }
        tx.commit()?;
        Ok(SqliteStore { conn: Arc::new(Mutex::new(conn)) })
    }

    async fn run<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Connection) -> HubResult<T> + Send + 'static,
    ) -> HubResult<T> {
        let conn = self.conn.clone();
        tokio::task::spawn_blocking(move || {
            let mut guard = conn.lock().unwrap_or_else(|e| e.into_inner());
            f(&mut guard)
        })
        .await?
    }

    pub async fn identity(&self) -> HubResult<Identity> {
        self.run(|c| {
            let (server, epoch, key): (String, String, String) =
                c.query_row("SELECT server_id, epoch, signing_key FROM server", [], |r| {
                    Ok((r.get(0)?, r.get(1)?, r.get(2)?))
                })?;
            let mut signing_key = [0u8; 32];
            hex::decode_to_slice(&key, &mut signing_key)
                .map_err(|_| HubError::Store("the signing key is damaged".into()))?;
            Ok(Identity { server_id: uuid(&server)?, epoch: uuid(&epoch)?, signing_key })
        })
        .await
    }

    pub async fn new_epoch(&self) -> HubResult<Uuid> {
        self.run(|c| {
            let epoch = Uuid::now_v7();
            c.execute("UPDATE server SET epoch = ?1", [epoch.to_string()])?;
            Ok(epoch)
        })
        .await
    }

    pub async fn add_practice(&self, id: Uuid, name: &str) -> HubResult<PracticeInfo> {
        let name = name.to_string();
        self.run(move |c| {
            let added = c.execute(
                "INSERT INTO practice (id, name, created_at) VALUES (?1, ?2, ?3) ON CONFLICT (id) DO NOTHING",
                params![id.to_string(), name, now()],
            )?;
            if added == 0 {
                c.execute("UPDATE practice SET name = ?2 WHERE id = ?1", params![id.to_string(), name])?;
            }
            Ok(PracticeInfo { id, name })
        })
        .await
    }

    pub async fn practices(&self) -> HubResult<Vec<PracticeInfo>> {
        self.run(|c| {
            let mut stmt = c.prepare("SELECT id, name FROM practice ORDER BY name, id")?;
            let rows = stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))?;
            let mut out = Vec::new();
            for row in rows {
                let (id, name) = row?;
                out.push(PracticeInfo { id: uuid(&id)?, name });
            }
            Ok(out)
        })
        .await
    }

    pub async fn add_enrol_code(&self, practice: Uuid, code_hash: &str, expires: DateTime<Utc>) -> HubResult<()> {
        let code_hash = code_hash.to_string();
        self.run(move |c| {
            let exists: bool =
                c.query_row("SELECT EXISTS (SELECT 1 FROM practice WHERE id = ?1)", [practice.to_string()], |r| {
                    r.get(0)
                })?;
            if !exists {
                return Err(HubError::NotFound(format!("there is no practice {practice} on this server")));
            }
            c.execute(
                "INSERT INTO enrol_code (code_hash, practice_id, expires_at) VALUES (?1, ?2, ?3)",
                params![code_hash, practice.to_string(), expires.to_rfc3339_opts(SecondsFormat::Millis, true)],
            )?;
            Ok(())
        })
        .await
    }

    pub async fn enrol(&self, code_hash: &str, name: &str, node_id: Uuid, token_hash: &str) -> HubResult<Device> {
        let (code_hash, name, token_hash) = (code_hash.to_string(), name.to_string(), token_hash.to_string());
        self.run(move |c| {
            let tx = c.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let found: Option<(String, String, Option<String>)> = tx
                .query_row(
                    "SELECT practice_id, expires_at, used_at FROM enrol_code WHERE code_hash = ?1",
                    [&code_hash],
                    |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
                )
                .optional()?;
            let invalid = || HubError::Unauthorized("that enrolment code is not valid: ask for a new one".into());
            let Some((practice, expires, used)) = found else { return Err(invalid()) };
            if used.is_some() || time(Some(expires)).is_none_or(|e| e < Utc::now()) {
                return Err(invalid());
            }
            tx.execute("UPDATE enrol_code SET used_at = ?2 WHERE code_hash = ?1", params![code_hash, now()])?;
            let id = Uuid::now_v7();
            tx.execute(
                "INSERT INTO device (id, practice_id, name, node_id, token_hash, enrolled_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                params![id.to_string(), practice, name, node_id.to_string(), token_hash, now()],
            )?;
            let practice_name: String = tx.query_row("SELECT name FROM practice WHERE id = ?1", [&practice], |r| r.get(0))?;
            tx.commit()?;
            Ok(Device { id, practice_id: uuid(&practice)?, practice_name, node_id })
        })
        .await
    }

    pub async fn authenticate(&self, token_hash: &str, app_version: Option<&str>) -> HubResult<Device> {
        let token_hash = token_hash.to_string();
        let version = app_version.map(|v| v.chars().take(40).collect::<String>());
        self.run(move |c| {
            let found: Option<(String, String, String, String, Option<String>)> = c
                .query_row(
                    "SELECT d.id, d.practice_id, p.name, d.node_id, d.revoked_at FROM device d JOIN practice p ON p.id = d.practice_id
                     WHERE d.token_hash = ?1",
                    [&token_hash],
                    |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)),
                )
                .optional()?;
            let Some((id, practice, practice_name, node, revoked)) = found else {
                return Err(HubError::Unauthorized("this device's credential is not valid: pair it again".into()));
            };
            if revoked.is_some() {
                return Err(HubError::Forbidden("this device has been revoked: ask the practice manager".into()));
            }
            if let Some(v) = version {
                c.execute("UPDATE device SET last_seen = ?2, app_version = ?3 WHERE id = ?1", params![id, now(), v])?;
            }
            Ok(Device { id: uuid(&id)?, practice_id: uuid(&practice)?, practice_name, node_id: uuid(&node)? })
        })
        .await
    }

    pub async fn devices(&self, practice: Option<Uuid>) -> HubResult<Vec<DeviceInfo>> {
        self.run(move |c| {
            let mut stmt = c.prepare(
                "SELECT id, practice_id, name, node_id, enrolled_at, revoked_at, last_seen, app_version FROM device
                 WHERE ?1 IS NULL OR practice_id = ?1 ORDER BY enrolled_at",
            )?;
            let rows = stmt.query_map([practice.map(|p| p.to_string())], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, String>(3)?,
                    r.get::<_, String>(4)?,
                    r.get::<_, Option<String>>(5)?,
                    r.get::<_, Option<String>>(6)?,
                    r.get::<_, String>(7)?,
                ))
            })?;
            let mut out = Vec::new();
            for row in rows {
                let (id, practice, name, node, enrolled, revoked, seen, version) = row?;
                out.push(DeviceInfo {
                    id: uuid(&id)?,
                    practice_id: uuid(&practice)?,
                    name,
                    node_id: uuid(&node)?,
                    enrolled_at: time(Some(enrolled)).unwrap_or_default(),
                    revoked_at: time(revoked),
                    last_seen: time(seen),
                    app_version: version,
                });
            }
            Ok(out)
        })
        .await
    }

    pub async fn revoke(&self, device: Uuid) -> HubResult<()> {
        self.run(move |c| {
            let n = c.execute(
                "UPDATE device SET revoked_at = coalesce(revoked_at, ?2) WHERE id = ?1",
                params![device.to_string(), now()],
            )?;
            if n == 0 {
                return Err(HubError::NotFound(format!("there is no device {device}")));
            }
            Ok(())
        })
        .await
    }

    pub async fn marks(&self, practice: Uuid) -> HubResult<(Vec<Mark>, i64)> {
        self.run(move |c| marks(c, practice)).await
    }

    pub async fn push(&self, device: &Device, changes: Vec<Change>, tips: Vec<Tip>) -> HubResult<PushReply> {
        let (practice, device_id) = (device.practice_id, device.id);
        self.run(move |c| push(c, practice, device_id, &changes, &tips)).await
    }

    pub async fn pull(&self, practice: Uuid, after: i64, after_op: Option<Uuid>, limit: u32) -> HubResult<RawPage> {
        self.run(move |c| {
            let last_seq: i64 = c.query_row("SELECT last_seq FROM practice WHERE id = ?1", [practice.to_string()], |r| r.get(0))?;
            if after > last_seq {
                return Err(HubError::CursorUnknown(format!(
                    "this server holds {last_seq} changes, fewer than the {after} already pulled: it was restored from a backup; pull again from the start"
                )));
            }
            if let (Some(op), true) = (after_op, after > 0) {
                let at: Option<String> = c
                    .query_row("SELECT op_id FROM change WHERE practice_id = ?1 AND seq = ?2", params![practice.to_string(), after], |r| r.get(0))
                    .optional()?;
                if at.as_deref() != Some(op.to_string().as_str()) {
                    return Err(HubError::CursorUnknown(
                        "this server's history differs from the one already pulled (it was restored from a backup): pull again from the start".into(),
                    ));
                }
            }
            let mut stmt =
                c.prepare_cached("SELECT seq, body FROM change WHERE practice_id = ?1 AND seq > ?2 ORDER BY seq LIMIT ?3")?;
            let rows = stmt.query_map(params![practice.to_string(), after, limit], |r| Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?)))?;
            let mut changes: Vec<(i64, String)> = Vec::new();
            let mut used = 0usize;
            for row in rows {
                let (seq, body) = row?;
                used = used.saturating_add(body.len());
                if !changes.is_empty() && used > lifeboat_protocol::wire::PAGE_BYTES {
                    break;
                }
                changes.push((seq, body));
            }
            Ok(RawPage { changes, last_seq })
        })
        .await
    }

    pub async fn day_summaries(&self, practice: Uuid) -> HubResult<Vec<DaySummary>> {
        self.run(move |c| {
            let mut stmt = c.prepare("SELECT op_id, hlc FROM change WHERE practice_id = ?1")?;
            let rows = stmt.query_map([practice.to_string()], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)))?;
            let mut days: std::collections::BTreeMap<String, Vec<Uuid>> = Default::default();
            for row in rows {
                let (op, hlc) = row?;
                days.entry(lifeboat_protocol::change::day_of(hlc)).or_default().push(uuid(&op)?);
            }
            Ok(days.into_iter().map(|(d, mut ops)| DaySummary::of(&d, &mut ops)).collect())
        })
        .await
    }

    pub async fn store_receipt(&self, device: &Device, r: &Receipt) -> HubResult<()> {
        let (practice, device_id, r) = (device.practice_id, device.id, r.clone());
        self.run(move |c| {
            c.execute(
                "INSERT OR IGNORE INTO audit_receipt (practice_id, device_id, node_id, audit_seq, head_hash, signed_at, server_key, signature)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                params![
                    practice.to_string(),
                    device_id.to_string(),
                    r.node_id.to_string(),
                    r.audit_seq,
                    r.head_hash,
                    r.signed_at,
                    r.server_key,
                    r.signature
                ],
            )?;
            Ok(())
        })
        .await
    }

    pub async fn last_receipt(&self, device: &Device) -> HubResult<Option<Receipt>> {
        let (practice, device_id) = (device.practice_id, device.id);
        self.run(move |c| {
            let found = c
                .query_row(
                    "SELECT node_id, audit_seq, head_hash, signed_at, server_key, signature FROM audit_receipt
                     WHERE practice_id = ?1 AND device_id = ?2 ORDER BY audit_seq DESC, signed_at DESC LIMIT 1",
                    params![practice.to_string(), device_id.to_string()],
                    |r| {
                        Ok((
                            r.get::<_, String>(0)?,
                            r.get::<_, i64>(1)?,
                            r.get::<_, String>(2)?,
                            r.get::<_, String>(3)?,
                            r.get::<_, String>(4)?,
                            r.get::<_, String>(5)?,
                        ))
                    },
                )
                .optional()?;
            found
                .map(|(node, audit_seq, head_hash, signed_at, server_key, signature)| {
                    Ok(Receipt { node_id: uuid(&node)?, audit_seq, head_hash, signed_at, server_key, signature })
                })
                .transpose()
        })
        .await
    }

    pub async fn append_own(
        &self,
        practice: Uuid,
        node: Uuid,
        make: impl Fn(i64) -> Change + Send + Sync + 'static,
    ) -> HubResult<Change> {
        self.run(move |c| {
            let m: Option<i64> = c
                .query_row(
                    "SELECT last_seq FROM node_mark WHERE practice_id = ?1 AND node_id = ?2",
                    params![practice.to_string(), node.to_string()],
                    |r| r.get(0),
                )
                .optional()?;
            let change = make(m.unwrap_or(0) + 1);
            push(c, practice, Uuid::nil(), std::slice::from_ref(&change), &[])?;
            Ok(change)
        })
        .await
    }
}

fn marks(c: &Connection, practice: Uuid) -> HubResult<(Vec<Mark>, i64)> {
    let last: Option<i64> =
        c.query_row("SELECT last_seq FROM practice WHERE id = ?1", [practice.to_string()], |r| r.get(0)).optional()?;
    let last = last.ok_or_else(|| HubError::NotFound(format!("there is no practice {practice} on this server")))?;
    let mut stmt =
        c.prepare_cached("SELECT node_id, last_seq FROM node_mark WHERE practice_id = ?1 ORDER BY node_id")?;
    let rows = stmt.query_map([practice.to_string()], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)))?;
    let mut out = Vec::new();
    for row in rows {
        let (node, seq) = row?;
        out.push(Mark { node_id: uuid(&node)?, seq });
    }
    Ok((out, last))
}

fn push(c: &mut Connection, practice: Uuid, device_id: Uuid, changes: &[Change], tips: &[Tip]) -> HubResult<PushReply> {
    let tx = c.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let mut marks: HashMap<Uuid, i64> = HashMap::new();
    {
        let mut stmt = tx.prepare_cached("SELECT last_seq FROM node_mark WHERE practice_id = ?1 AND node_id = ?2")?;
        for ch in changes {
            if let std::collections::hash_map::Entry::Vacant(slot) = marks.entry(ch.node_id) {
                let m: Option<i64> =
                    stmt.query_row(params![practice.to_string(), ch.node_id.to_string()], |r| r.get(0)).optional()?;
                slot.insert(m.unwrap_or(0));
            }
        }
    }
    let mut existing = HashMap::new();
    {
        let mut stmt = tx.prepare_cached("SELECT content_hash FROM change WHERE practice_id = ?1 AND op_id = ?2")?;
        for ch in changes {
            if ch.node_seq <= marks.get(&ch.node_id).copied().unwrap_or(0) {
                if let Some(h) = stmt
                    .query_row(params![practice.to_string(), ch.op_id.to_string()], |r| r.get::<_, String>(0))
                    .optional()?
                {
                    existing.insert(ch.op_id, h);
                }
            }
        }
    }
    for tip in tips {
        if let std::collections::hash_map::Entry::Vacant(slot) = marks.entry(tip.node_id) {
            let m: Option<i64> = tx
                .prepare_cached("SELECT last_seq FROM node_mark WHERE practice_id = ?1 AND node_id = ?2")?
                .query_row(params![practice.to_string(), tip.node_id.to_string()], |r| r.get(0))
                .optional()?;
            slot.insert(m.unwrap_or(0));
        }
    }
    let mut held = HashMap::new();
    for tip in tips {
        let op: Option<String> = tx
            .prepare_cached("SELECT op_id FROM change WHERE practice_id = ?1 AND node_id = ?2 AND node_seq = ?3")?
            .query_row(params![practice.to_string(), tip.node_id.to_string(), tip.seq], |r| r.get(0))
            .optional()?;
        if let Some(op) = op {
            held.insert((tip.node_id, tip.seq), uuid(&op)?);
        }
    }
    let (new, duplicates) = plan_push(changes, &marks, &existing, tips, &held)?;
    let mut last: i64 =
        tx.query_row("SELECT last_seq FROM practice WHERE id = ?1", [practice.to_string()], |r| r.get(0))?;
    let received = now();
    {
        let mut insert = tx.prepare_cached(
            "INSERT INTO change (practice_id, seq, op_id, node_id, node_seq, hlc, content_hash, body, device_id, received_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
        )?;
        let mut mark = tx.prepare_cached(
            "INSERT INTO node_mark (practice_id, node_id, last_seq) VALUES (?1, ?2, ?3)
             ON CONFLICT (practice_id, node_id) DO UPDATE SET last_seq = excluded.last_seq",
        )?;
        let p = practice.to_string();
        let d = device_id.to_string();
        // Each node's mark moves once, to its last change here (changes of a node come in order).
        let mut marks_after: Vec<(Uuid, i64)> = Vec::new();
        for ch in &new {
            match marks_after.iter_mut().find(|(node, _)| *node == ch.node_id) {
                Some(slot) => slot.1 = ch.node_seq,
                None => marks_after.push((ch.node_id, ch.node_seq)),
            }
            last += 1;
            let body = serde_json::to_string(ch).map_err(|e| HubError::Store(e.to_string()))?;
            insert.execute(params![
                p,
                last,
                ch.op_id.to_string(),
                ch.node_id.to_string(),
                ch.node_seq,
                ch.hlc,
                ch.content_hash,
                body,
                d,
                received
            ])?;
        }
        for (node, seq) in marks_after {
            mark.execute(params![p, node.to_string(), seq])?;
        }
    }
    tx.execute("UPDATE practice SET last_seq = ?2 WHERE id = ?1", params![practice.to_string(), last])?;
    tx.commit()?;
    Ok(PushReply { stored: new.len() as u32, duplicates, last_seq: last })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn change(node: Uuid, seq: i64, notes: &str) -> Change {
        Change {
            op_id: Uuid::now_v7(),
            node_id: node,
            node_seq: seq,
            hlc: 116_312_891_392_000_000 + seq,
            schema_version: 18,
            actor_id: Uuid::now_v7(),
            entity: "consultation".into(),
            entity_id: Uuid::now_v7(),
            kind: "create".into(),
            payload: serde_json::json!({ "notes": notes }),
            base: serde_json::json!({}),
            content_hash: String::new(),
        }
        .sealed()
    }

    fn pulled(store: &SqliteStore, practice: Uuid) -> Vec<(i64, Change)> {
        let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
        let page = rt.block_on(store.pull(practice, 0, None, 1000)).unwrap();
        page.changes.iter().map(|(seq, body)| (*seq, serde_json::from_str(body).unwrap())).collect()
    }

    /// A store already at this version opens without taking the writer's lock: beside a relay
    /// that is writing (a command run while it serves), or on read-only media.
    #[test]
    fn a_current_store_opens_while_another_connection_writes() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("relay.db");
        drop(SqliteStore::open(&path, None).unwrap());
        let writer = Connection::open(&path).unwrap();
        writer.execute_batch("BEGIN IMMEDIATE; UPDATE server SET epoch = epoch;").unwrap();
        let store = SqliteStore::open(&path, None).expect("opened beside the writer");
        let version: i64 = store.conn.lock().unwrap().query_row("PRAGMA user_version", [], |r| r.get(0)).unwrap();
        assert_eq!(version, VERSION);
        writer.execute_batch("COMMIT").unwrap();
    }

    /// A relay store made by the first release (changes in a WITHOUT ROWID table) opens in this one
    /// with every change, its sequence and its keys kept.
    #[test]
    fn a_first_release_store_is_moved_to_the_rowid_table_whole() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("relay.db");
        let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
        let (practice, node) = (Uuid::now_v7(), Uuid::now_v7());
        let device = Device {
            id: Uuid::now_v7(),
            practice_id: practice,
            practice_name: "Kingfisher Vets".into(),
            node_id: node,
        };
        // Small changes and large ones (a long clinical note spills out of a WITHOUT ROWID cell).
        let sent: Vec<Change> =
            (1..=6).map(|i| change(node, i, &"Itchy ears. ".repeat(if i % 2 == 0 { 200 } else { 1 }))).collect();
        {
            let store = SqliteStore::open(&path, None).unwrap();
            rt.block_on(store.add_practice(practice, "Kingfisher Vets")).unwrap();
            rt.block_on(store.push(&device, sent[..4].to_vec(), Vec::new())).unwrap();
            // Back to the first release's layout.
            let c = store.conn.lock().unwrap();
            c.execute("UPDATE change SET device_id = NULL WHERE seq = 2", []).unwrap();
            c.execute_batch(
                "CREATE TABLE change_v1 (
                    practice_id TEXT NOT NULL REFERENCES practice (id), seq INTEGER NOT NULL, op_id TEXT NOT NULL,
                    node_id TEXT NOT NULL, node_seq INTEGER NOT NULL, hlc INTEGER NOT NULL, content_hash TEXT NOT NULL,
                    body TEXT NOT NULL, device_id TEXT, received_at TEXT NOT NULL,
                    PRIMARY KEY (practice_id, seq), UNIQUE (practice_id, op_id), UNIQUE (practice_id, node_id, node_seq)
                 ) STRICT, WITHOUT ROWID;
                 INSERT INTO change_v1 SELECT practice_id, seq, op_id, node_id, node_seq, hlc, content_hash, body, device_id, received_at FROM change;
                 DROP TABLE change;
                 ALTER TABLE change_v1 RENAME TO change;
                 PRAGMA user_version = 1;",
            )
            .unwrap();
        }
        let rows = |store: &SqliteStore| -> Vec<Vec<rusqlite::types::Value>> {
            let c = store.conn.lock().unwrap();
            let mut stmt = c.prepare("SELECT * FROM change ORDER BY practice_id, seq").unwrap();
            let width = stmt.column_count();
            let rows = stmt
                .query_map([], |r| (0..width).map(|i| r.get(i)).collect::<rusqlite::Result<Vec<_>>>())
                .unwrap()
                .collect::<rusqlite::Result<Vec<_>>>()
                .unwrap();
            rows
        };
        let before = rows(&SqliteStore { conn: Arc::new(Mutex::new(Connection::open(&path).unwrap())) });
        assert_eq!(before.len(), 4);
        let store = SqliteStore::open(&path, None).unwrap();
        assert_eq!(rows(&store), before, "every column of every row, device and time of receipt included");
        {
            let c = store.conn.lock().unwrap();
            let version: i64 = c.query_row("PRAGMA user_version", [], |r| r.get(0)).unwrap();
            assert_eq!(version, 2);
            let sql: String = c
                .query_row("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'change'", [], |r| r.get(0))
                .unwrap();
            assert!(!sql.contains("WITHOUT ROWID"), "{sql}");
            let mut indexes: Vec<String> = c
                .prepare("SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'change' ORDER BY name")
                .unwrap()
                .query_map([], |r| r.get(0))
                .unwrap()
                .collect::<rusqlite::Result<_>>()
                .unwrap();
            indexes.sort();
            assert_eq!(indexes, ["change_node", "change_op", "change_seq"]);
            let unique: Vec<(String, bool)> = c
                .prepare("SELECT name, \"unique\" FROM pragma_index_list('change') ORDER BY name")
                .unwrap()
                .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
                .unwrap()
                .collect::<rusqlite::Result<_>>()
                .unwrap();
            assert_eq!(unique, [("change_node".into(), true), ("change_op".into(), true), ("change_seq".into(), true)]);
        }
        let expected: Vec<(i64, Change)> = (1..=4).map(|i| (i, sent[i as usize - 1].clone())).collect();
        assert_eq!(pulled(&store, practice), expected);
        // The keys still hold: the same changes again are duplicates, the next ones follow on.
        let again = rt.block_on(store.push(&device, sent[2..].to_vec(), Vec::new())).unwrap();
        assert_eq!((again.stored, again.duplicates, again.last_seq), (2, 2, 6));
        let expected: Vec<(i64, Change)> = (1..=6).map(|i| (i, sent[i as usize - 1].clone())).collect();
        assert_eq!(pulled(&store, practice), expected);
        let twice = {
            let c = store.conn.lock().unwrap();
            c.execute(
                "INSERT INTO change (practice_id, seq, op_id, node_id, node_seq, hlc, content_hash, body, received_at)
                 SELECT practice_id, 7, op_id, node_id, 7, hlc, content_hash, body, received_at FROM change WHERE seq = 1",
                [],
            )
        };
        assert!(twice.is_err(), "an op id stored twice");
        // A sequence number twice, a node's number twice (each with an op id of its own).
        for (seq, node_seq) in [(1, 7), (7, 1)] {
            let c = store.conn.lock().unwrap();
            let again = c.execute(
                "INSERT INTO change (practice_id, seq, op_id, node_id, node_seq, hlc, content_hash, body, received_at)
                 SELECT practice_id, ?1, ?3, node_id, ?2, hlc, content_hash, body, received_at FROM change WHERE seq = 1",
                params![seq, node_seq, Uuid::now_v7().to_string()],
            );
            assert!(again.is_err(), "seq {seq}, node's number {node_seq}: stored twice");
        }
        let c = store.conn.lock().unwrap();
        let fresh = c.execute(
            "INSERT INTO change (practice_id, seq, op_id, node_id, node_seq, hlc, content_hash, body, received_at)
             SELECT practice_id, 7, ?1, node_id, 7, hlc, content_hash, body, received_at FROM change WHERE seq = 1",
            params![Uuid::now_v7().to_string()],
        );
        assert_eq!(fresh.unwrap(), 1, "the same insert with every key new goes in: the refusals were the keys'");
    }
}
