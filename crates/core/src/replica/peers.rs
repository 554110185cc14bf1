//! Where this PC syncs to: the practice relay, the central hub. Local settings of this PC (never
//! synced, never in the journal); the device token is a secret that is never shown.

use chrono::{DateTime, Utc};
use lifeboat_protocol::{Enrolled, Mark};
use rusqlite::{params, Connection, OptionalExtension, Row};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::error::{Error, Result};
use crate::permission::Action;
use crate::session::Session;
use crate::store::database::Store;
use crate::store::row;
use crate::time;
use crate::validate;

/// A server this PC syncs with, as the sync page shows it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Peer {
    pub id: Uuid,
    pub name: String,
    /// `https://host:port`.
    pub url: String,
    pub cert_sha256: String,
    pub device_id: Uuid,
    pub server_id: Uuid,
    pub server_key: String,
    pub practice_id: Uuid,
    pub practice_name: String,
    pub epoch: String,
    pub pull_cursor: i64,
    pub pull_op: Option<Uuid>,
    #[cfg_attr(feature = "ts", ts(skip))]
    pub marks: Vec<Mark>,
    pub last_attempt: Option<DateTime<Utc>>,
    pub last_success: Option<DateTime<Utc>>,
    pub last_error: Option<String>,
    pub enabled: bool,
    pub created_at: DateTime<Utc>,
}

/// What pairing with a server gave: its address and certificate, and this device's credential.
#[derive(Clone, Debug)]
pub struct NewPeer {
    pub name: String,
    pub url: String,
    pub cert_sha256: String,
    pub enrolled: Enrolled,
}

/// The secrets a PC keeps for itself.
const LOCAL_SECRETS: &[&str] = &["node_signing_key", "relay_key"];
/// The settings a PC keeps for itself.
const LOCAL_SETTINGS: &[&str] =
    &["relay_hosting", "relay_port", "exports_folder", "exports_keep_days", "backup_copy_folder"];

const COLUMNS: &str = "id, name, url, cert_sha256, device_id, server_id, server_key, practice_id, practice_name, epoch,
    pull_cursor, pull_op, marks, last_attempt, last_success, last_error, enabled, created_at";

fn from_row(r: &Row<'_>) -> rusqlite::Result<Peer> {
    Ok(Peer {
        id: row::uuid(r, 0)?,
        name: r.get(1)?,
        url: r.get(2)?,
        cert_sha256: r.get(3)?,
        device_id: row::uuid(r, 4)?,
        server_id: row::uuid(r, 5)?,
        server_key: r.get(6)?,
        practice_id: row::uuid(r, 7)?,
        practice_name: r.get(8)?,
        epoch: r.get(9)?,
        pull_cursor: r.get(10)?,
        pull_op: row::opt_uuid(r, 11)?,
        marks: row::json(r, 12)?,
        last_attempt: row::opt_time(r, 13)?,
        last_success: row::opt_time(r, 14)?,
        last_error: r.get(15)?,
        enabled: r.get(16)?,
        created_at: row::time(r, 17)?,
    })
}

pub(crate) fn list(conn: &Connection) -> Result<Vec<Peer>> {
    let mut stmt = conn.prepare_cached(&format!("SELECT {COLUMNS} FROM sync_peer ORDER BY created_at, id"))?;
    let rows = stmt.query_map([], from_row)?.collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(rows)
}

pub(crate) fn get(conn: &Connection, id: Uuid) -> Result<Peer> {
    conn.query_row(&format!("SELECT {COLUMNS} FROM sync_peer WHERE id = ?1"), [id.to_string()], from_row)
        .optional()?
        .ok_or_else(|| Error::NotFound(format!("sync peer {id}")))
}

/// Checks an address: `https://` and a host, at most 200 characters.
pub fn valid_url(field: &str, url: &str) -> Result<String> {
    let url = validate::required(field, url, 200)?;
    let rest = url
        .strip_prefix("https://")
        .ok_or_else(|| Error::invalid(field, "must start with https:// (sync is always encrypted)"))?;
    if rest.is_empty() || rest.contains(char::is_whitespace) {
        return Err(Error::invalid(field, "must name a computer, as in https://192.168.1.20:8443"));
    }
    Ok(url.trim_end_matches('/').to_string())
}

impl Store {
    /// The servers this PC syncs with.
    pub fn peers(&self) -> Result<Vec<Peer>> {
        self.read(|r| list(r))
    }

    pub fn peer(&self, id: Uuid) -> Result<Peer> {
        self.read(|r| get(r, id))
    }

    /// The practice this database holds (id and name), if any yet.
    pub fn practice_summary(&self) -> Result<Option<(Uuid, String)>> {
        self.read(|r| {
            Ok(r.query_row("SELECT id, name FROM practice", [], |row| {
                Ok((row::uuid(row, 0)?, row.get::<_, String>(1)?))
            })
            .optional()?)
        })
    }

    /// Checks that `session` may manage sync (pair, export bundles, send hand-overs by file).
    pub fn authorize_sync(&self, session: &Session) -> Result<()> {
        self.read_as(session, Action::ManageSync, |_| Ok(()))
    }

    /// This database's Ed25519 signing key for bundles (made on first use; a secret kept in the
    /// encrypted database, never shown or synced).
    pub fn node_signing_key(&self) -> Result<[u8; 32]> {
        let text = self.local_secret("node_signing_key")?;
        let mut key = [0u8; 32];
        hex::decode_to_slice(&text, &mut key)
            .map_err(|_| Error::DamagedRecord("the node's signing key is damaged".into()))?;
        Ok(key)
    }

    /// A 32-byte secret of this PC (hex), made on first use and kept in the encrypted database, never
    /// shown or synced: the bundle signing key, the hosted relay's database key.
    pub fn local_secret(&self, name: &str) -> Result<String> {
        if !LOCAL_SECRETS.contains(&name) {
            return Err(Error::Internal(format!("{name} is not a local secret")));
        }
        let conn = self.lock_writer();
        let existing: Option<String> =
            conn.query_row("SELECT value FROM local_setting WHERE key = ?1", [name], |r| r.get(0)).optional()?;
        if let Some(t) = existing {
            return Ok(t);
        }
        use rand::RngCore;
        let mut bytes = [0u8; 32];
        rand::rng().fill_bytes(&mut bytes);
        let t = hex::encode(bytes);
        conn.execute("INSERT INTO local_setting (key, value) VALUES (?1, ?2)", params![name, t])?;
        Ok(t)
    }

    /// A setting of this PC's own (never synced): whether it hosts the practice relay, and on which port.
    pub fn local_setting(&self, key: &str) -> Result<Option<String>> {
        if !LOCAL_SETTINGS.contains(&key) {
            return Err(Error::Internal(format!("{key} is not a local setting")));
        }
        self.read(|r| {
            Ok(r.query_row("SELECT value FROM local_setting WHERE key = ?1", [key], |row| row.get(0)).optional()?)
        })
    }

    /// Changes a setting of this PC's own; only a manager or admin.
    pub fn set_local_setting(&self, session: &Session, key: &str, value: &str) -> Result<()> {
        self.refuse_in_drill("changing this PC's settings")?;
        self.read_as(session, Action::ManageSync, |_| Ok(()))?;
        if !LOCAL_SETTINGS.contains(&key) {
            return Err(Error::invalid("key", format!("{key} is not a setting of this PC")));
        }
        // A folder's path may be long.
        let value = validate::required("value", value, 1000)?;
        self.lock_writer().execute(
            "INSERT INTO local_setting (key, value) VALUES (?1, ?2) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            params![key, value],
        )?;
        Ok(())
    }

    /// The device token for a peer (for the sync engine only; never shown).
    pub fn peer_token(&self, id: Uuid) -> Result<String> {
        self.read(|r| {
            r.query_row("SELECT token FROM sync_peer WHERE id = ?1", [id.to_string()], |r| r.get(0))
                .optional()?
                .ok_or_else(|| Error::NotFound(format!("sync peer {id}")))
        })
    }

    /// Records a server this PC has enrolled with. `session` is `None` only when a new PC joins a
    /// practice (nobody can log in before the first sync brings the staff accounts).
    pub fn add_peer(&self, session: Option<&Session>, new: &NewPeer) -> Result<Peer> {
        self.refuse_in_drill("joining a sync server")?;
        if let Some(session) = session {
            self.read_as(session, Action::ManageSync, |_| Ok(()))?;
        } else if self
            .read(|r| Ok(r.query_row("SELECT EXISTS (SELECT 1 FROM practice)", [], |r| r.get::<_, bool>(0))?))?
        {
            return Err(Error::Forbidden("log in as a manager to add a sync server".into()));
        }
        let name = validate::required("name", &new.name, 100)?;
        let url = valid_url("url", &new.url)?;
        if new.cert_sha256.len() != 64 || !new.cert_sha256.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(Error::invalid("cert_sha256", "is not a SHA-256 fingerprint"));
        }
        let id = self.clock.new_id();
        let now = time::stored(self.clock.now());
        let e = &new.enrolled;
        {
            let conn = self.lock_writer();
            conn.execute(
                "INSERT INTO sync_peer (id, name, url, cert_sha256, device_id, token, server_id, server_key, practice_id, practice_name, created_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
                params![
                    id.to_string(),
                    name,
                    url,
                    new.cert_sha256.to_ascii_lowercase(),
                    e.device_id.to_string(),
                    e.token,
                    e.server_id.to_string(),
                    e.server_key,
                    e.practice_id.to_string(),
                    e.practice_name,
                    now
                ],
            )?;
        }
        self.peer(id)
    }

    /// Stops syncing with a server, or starts again.
    pub fn set_peer_enabled(&self, session: &Session, id: Uuid, enabled: bool) -> Result<Peer> {
        self.read_as(session, Action::ManageSync, |_| Ok(()))?;
        let changed = self
            .lock_writer()
            .execute("UPDATE sync_peer SET enabled = ?2 WHERE id = ?1", params![id.to_string(), enabled])?;
        if changed == 0 {
            return Err(Error::NotFound(format!("sync peer {id}")));
        }
        self.peer(id)
    }

    /// A server's new address (it moved); its certificate must stay the one pinned.
    pub fn set_peer_url(&self, session: &Session, id: Uuid, url: &str) -> Result<Peer> {
        self.read_as(session, Action::ManageSync, |_| Ok(()))?;
        let url = valid_url("url", url)?;
        let changed =
            self.lock_writer().execute("UPDATE sync_peer SET url = ?2 WHERE id = ?1", params![id.to_string(), url])?;
        if changed == 0 {
            return Err(Error::NotFound(format!("sync peer {id}")));
        }
        self.peer(id)
    }

    /// Forgets a server (its changes stay; this PC no longer sends or fetches).
    pub fn remove_peer(&self, session: &Session, id: Uuid) -> Result<()> {
        self.read_as(session, Action::ManageSync, |_| Ok(()))?;
        let changed = self.lock_writer().execute("DELETE FROM sync_peer WHERE id = ?1", [id.to_string()])?;
        if changed == 0 {
            return Err(Error::NotFound(format!("sync peer {id}")));
        }
        Ok(())
    }

    /// Notes the outcome of a sync attempt: `error` in plain words, or success.
    pub fn note_sync_attempt(&self, id: Uuid, error: Option<&str>) -> Result<()> {
        let now = time::stored(self.clock.now());
        let conn = self.lock_writer();
        match error {
            None => conn.execute(
                "UPDATE sync_peer SET last_attempt = ?2, last_success = ?2, last_error = NULL WHERE id = ?1",
                params![id.to_string(), now],
            )?,
            Some(e) => conn.execute(
                "UPDATE sync_peer SET last_attempt = ?2, last_error = ?3 WHERE id = ?1",
                params![id.to_string(), now, e.chars().take(500).collect::<String>()],
            )?,
        };
        Ok(())
    }

    /// Keeps (or, with `None`, clears) the warning that this PC's audit log no longer matches what a
    /// server signed; the banner shows it until a later receipt matches.
    pub fn note_audit_warning(&self, warning: Option<&str>) -> Result<()> {
        let conn = self.lock_writer();
        match warning {
            Some(w) => conn.execute(
                "INSERT INTO local_setting (key, value) VALUES ('audit_warning', ?1) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                [w],
            )?,
            None => conn.execute("DELETE FROM local_setting WHERE key = 'audit_warning'", [])?,
        };
        Ok(())
    }

    /// Remembers what the server holds per node (from its hello or push reply).
    pub fn set_peer_marks(&self, id: Uuid, marks: &[Mark]) -> Result<()> {
        self.lock_writer().execute(
            "UPDATE sync_peer SET marks = ?2 WHERE id = ?1",
            params![id.to_string(), serde_json::to_string(marks).unwrap_or_else(|_| "[]".into())],
        )?;
        Ok(())
    }

    /// Starts the pull from the beginning under a new epoch (the server's store is new or restored).
    pub fn reset_pull_cursor(&self, id: Uuid, epoch: &str) -> Result<()> {
        self.lock_writer().execute(
            "UPDATE sync_peer SET epoch = ?2, pull_cursor = 0, pull_op = NULL WHERE id = ?1",
            params![id.to_string(), epoch],
        )?;
        Ok(())
    }
}
