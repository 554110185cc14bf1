//! Bundles from and into a PC's database: export the changes a peer lacks (or everything) to a signed,
//! encrypted file; import one through the same idempotent path as a pull, so a bundle may arrive
//! twice, late, or after the same changes came over the network.

use std::path::Path;
use std::sync::Arc;

use lifeboat_core::replica::apply::Applied;
use lifeboat_core::{Session, Store};
use lifeboat_protocol::bundle::{self, BundleError};
use lifeboat_protocol::{BundleManifest, Mark};
use serde::{Deserialize, Serialize};

use crate::engine::blocking;

/// Changes applied per transaction when importing (the app's own writes wait for each).
const IMPORT_CHUNK: usize = 200;
use crate::error::{SyncError, SyncResult};

impl From<BundleError> for SyncError {
    fn from(e: BundleError) -> Self {
        match e {
            BundleError::Io(e) => SyncError::Invalid(format!("the bundle file could not be read or written: {e}")),
            other => SyncError::Invalid(other.to_string()),
        }
    }
}

/// What an export wrote.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Exported {
    pub changes: u64,
    pub bytes: u64,
    /// Per node: which of its changes the file holds (`node: first-last`).
    pub ranges: Vec<String>,
}

/// What an import did.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Imported {
    pub changes: u64,
    pub applied: Applied,
    pub made_by: String,
    pub made_at: String,
}

/// Writes to `path` the changes a server holding `server_marks` lacks (all of them with no marks).
/// Only a manager (the permission to manage sync) may export; the passphrase must be told to whoever
/// imports it, not written on the stick.
pub async fn export(
    store: &Arc<Store>,
    session: &Session,
    server_marks: Vec<Mark>,
    path: &Path,
    passphrase: &str,
) -> SyncResult<Exported> {
    let session = session.clone();
    let (practice, key, changes) = blocking(store, move |s| {
        s.authorize_sync(&session)?;
        let practice = s
            .practice_summary()?
            .ok_or_else(|| lifeboat_core::Error::NotFound("the practice (there is nothing to export)".into()))?
            .0;
        Ok((practice, s.node_signing_key()?, s.changes_missing_from(&server_marks, u32::MAX)?))
    })
    .await?;
    if changes.is_empty() {
        return Err(SyncError::Invalid("there is nothing the other side lacks: no bundle is needed".into()));
    }
    let created = lifeboat_core::time::stored(store.clock().now());
    let node = store.node_id();
    let count = changes.len() as u64;
    let passphrase = passphrase.to_string();
    let manifest =
        write_file(path, move |out| bundle::write(out, practice, node, &created, &changes, &key, &passphrase)).await?;
    let bytes = std::fs::metadata(path).map(|m| m.len()).unwrap_or(0);
    Ok(Exported { changes: count, bytes, ranges: describe(&manifest) })
}

/// Writes a file whole or not at all (written beside it, flushed to disk, then renamed), off the async
/// threads (the passphrase's key derivation and the compression take a while).
pub(crate) async fn write_file<T: Send + 'static>(
    path: &Path,
    write: impl FnOnce(&mut std::io::BufWriter<std::fs::File>) -> Result<T, BundleError> + Send + 'static,
) -> SyncResult<T> {
    let path = path.to_path_buf();
    tokio::task::spawn_blocking(move || {
        let temp = path.with_extension("partial");
        let failed = |e: std::io::Error| SyncError::Invalid(format!("could not write {}: {e}", path.display()));
        let file = std::fs::File::create(&temp).map_err(failed)?;
        let mut out = std::io::BufWriter::new(file);
        let written = write(&mut out).map_err(SyncError::from).and_then(|t| {
            let file = out.into_inner().map_err(|e| failed(e.into_error()))?;
            file.sync_all().map_err(failed)?;
            Ok(t)
        });
        match written {
            Ok(t) => {
                std::fs::rename(&temp, &path).map_err(failed)?;
                Ok(t)
            }
            Err(e) => {
                let _ = std::fs::remove_file(&temp);
                Err(e)
            }
        }
    })
    .await
    .map_err(|e| SyncError::Internal(e.to_string()))?
}

fn describe(m: &BundleManifest) -> Vec<String> {
    m.ranges.iter().map(|r| format!("{}: {}-{}", r.node_id, r.first, r.last)).collect()
}

/// Reads the bundle at `path` and applies its changes as a pull would (each chunk in one
/// transaction; changes already here are skipped). Checks everything before applying anything. Only
/// a manager or admin imports (the file came by hand, not over a paired link); `session` is `None`
/// only on a PC that holds no practice yet, which a bundle of everything can start.
pub async fn import(
    store: &Arc<Store>,
    session: Option<&Session>,
    path: &Path,
    passphrase: &str,
) -> SyncResult<Imported> {
    let s1 = session.cloned();
    blocking(store, move |s| match &s1 {
        Some(session) => s.authorize_sync(session),
        None if s.practice_summary()?.is_some() => {
            Err(lifeboat_core::Error::Forbidden("log in as a manager to read a bundle".into()))
        }
        None => Ok(()),
    })
    .await?;
    // A folder, a device or a pipe is no bundle (opening a pipe would wait for ever).
    let meta =
        std::fs::metadata(path).map_err(|e| SyncError::Invalid(format!("could not open {}: {e}", path.display())))?;
    if !meta.is_file() {
        return Err(SyncError::Invalid(format!("{} is not a file: choose the bundle", path.display())));
    }
    let file =
        std::fs::File::open(path).map_err(|e| SyncError::Invalid(format!("could not open {}: {e}", path.display())))?;
    let passphrase = passphrase.to_string();
    let (manifest, changes) =
        tokio::task::spawn_blocking(move || bundle::read(&mut std::io::BufReader::new(file), &passphrase))
            .await
            .map_err(|e| SyncError::Internal(e.to_string()))??;
    let local = blocking(store, |s| s.practice_summary()).await?;
    // Another practice's bundle is welcome only as a hand-over: records received, read-only.
    // (Each such change comes as the only change of a node of its own, derived from the hand-over, so
    // it cannot take a number in anyone's sequence.)
    let handover = !changes.is_empty()
        && changes.iter().all(|c| {
            c.entity == "handover"
                && c.kind == "create"
                && c.node_seq == 1
                && c.node_id == crate::handover::node_of(c.entity_id)
                && c.payload.get("direction").and_then(|d| d.as_str()) == Some("received")
        });
    if let Some((id, name)) = local {
        if id != manifest.practice_id && !handover {
            return Err(SyncError::Invalid(format!("this bundle holds another practice's changes, not {name}'s")));
        }
    }
    let mut applied = Applied::default();
    for chunk in changes.chunks(IMPORT_CHUNK) {
        let chunk = chunk.to_vec();
        let more = blocking(store, move |s| s.apply_changes(&chunk)).await.map_err(|e| match e {
            SyncError::Store(lifeboat_core::Error::SyncRefused(m)) if m.contains("out of order") => SyncError::Invalid(format!(
                "this bundle starts after changes this PC has not received yet: import the earlier bundle first, or sync ({m})"
            )),
            other => other,
        })?;
        applied.new += more.new;
        applied.duplicates += more.duplicates;
        applied.quarantined += more.quarantined;
        applied.conflicts += more.conflicts;
        applied.clock_warning = more.clock_warning.or(applied.clock_warning);
    }
    Ok(Imported {
        changes: changes.len() as u64,
        applied,
        made_by: manifest.source_node.to_string(),
        made_at: manifest.created_at,
    })
}
