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

use crate::engine::{blocking, APPLY_CHUNK};
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
    let temp = path.with_extension("partial");
    let file = std::fs::File::create(&temp)
        .map_err(|e| SyncError::Invalid(format!("could not create {}: {e}", path.display())))?;
    let mut out = std::io::BufWriter::new(file);
    let manifest = bundle::write(&mut out, practice, store.node_id(), &created, &changes, &key, passphrase);
    drop(out);
    let manifest = match manifest {
        Ok(m) => m,
        Err(e) => {
            let _ = std::fs::remove_file(&temp);
            return Err(e.into());
        }
    };
    // The file appears whole or not at all.
    std::fs::rename(&temp, path).map_err(|e| SyncError::Invalid(format!("could not write {}: {e}", path.display())))?;
    let bytes = std::fs::metadata(path).map(|m| m.len()).unwrap_or(0);
    Ok(Exported { changes: changes.len() as u64, bytes, ranges: describe(&manifest) })
}

fn describe(m: &BundleManifest) -> Vec<String> {
    m.ranges.iter().map(|r| format!("{}: {}-{}", r.node_id, r.first, r.last)).collect()
}

/// Reads the bundle at `path` and applies its changes as a pull would (each chunk in one
/// transaction; changes already here are skipped). Checks everything before applying anything.
pub async fn import(store: &Arc<Store>, path: &Path, passphrase: &str) -> SyncResult<Imported> {
    let file =
        std::fs::File::open(path).map_err(|e| SyncError::Invalid(format!("could not open {}: {e}", path.display())))?;
    let passphrase = passphrase.to_string();
    let (manifest, changes) =
        tokio::task::spawn_blocking(move || bundle::read(&mut std::io::BufReader::new(file), &passphrase))
            .await
            .map_err(|e| SyncError::Internal(e.to_string()))??;
    let local = blocking(store, |s| s.practice_summary()).await?;
    // Another practice's bundle is welcome only as a hand-over: records received, read-only.
    let handover = !changes.is_empty()
        && changes
            .iter()
            .all(|c| c.entity == "handover" && c.payload.get("direction").and_then(|d| d.as_str()) == Some("received"));
    if let Some((id, name)) = local {
        if id != manifest.practice_id && !handover {
            return Err(SyncError::Invalid(format!("this bundle holds another practice's changes, not {name}'s")));
        }
    }
    let mut applied = Applied::default();
    for chunk in changes.chunks(APPLY_CHUNK) {
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
