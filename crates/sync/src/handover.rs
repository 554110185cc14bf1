//! Sending one patient's record to another practice of the group: through the central hub (which
//! writes it into that practice's stream), or as a bundle file when there is no network. Either way
//! the sending practice journals and audits what it sent.

use std::path::Path;
use std::sync::Arc;

use lifeboat_core::handover::{Handover, HandoverOut};
use lifeboat_core::{Session, Store};
use lifeboat_protocol::{Change, PracticeInfo, HANDOVER_SCHEMA_VERSION};
use serde_json::json;
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::client::{Client, Pin};
use crate::engine::blocking;
use crate::error::{SyncError, SyncResult};

async fn hub_client(store: &Arc<Store>, peer: Uuid) -> SyncResult<Client> {
    let p = blocking(store, move |s| s.peer(peer)).await?;
    let token = blocking(store, move |s| s.peer_token(peer)).await?;
    Client::new(&p.url, Pin::Exact(p.cert_sha256), Some(token))
}

/// The node a hand-over by file travels under: its only change, number 1.
pub fn node_of(handover: Uuid) -> Uuid {
    let digest = Sha256::digest(format!("lifeboat-handover-node|{handover}").as_bytes());
    let mut bytes = [0u8; 16];
    bytes.copy_from_slice(&digest[..16]);
    Uuid::new_v8(bytes)
}

/// The other practices of the group, as the hub knows them.
pub async fn practices(store: &Arc<Store>, peer: Uuid) -> SyncResult<Vec<PracticeInfo>> {
    let own = blocking(store, move |s| s.peer(peer)).await?.practice_id;
    let all = hub_client(store, peer).await?.practices().await?;
    Ok(all.into_iter().filter(|p| p.id != own).collect())
}

/// Sends `patient`'s record to `to` through the hub `peer`, then records it as sent.
pub async fn send(
    store: &Arc<Store>,
    session: &Session,
    peer: Uuid,
    patient: Uuid,
    to: &PracticeInfo,
    note: &str,
) -> SyncResult<Handover> {
    let (s1, name, n1) = (session.clone(), to.name.clone(), note.to_string());
    let body = blocking(store, move |s| s.handover_body(&s1, patient, &name, &n1)).await?;
    let id = Uuid::now_v7();
    let sent = hub_client(store, peer)
        .await?
        .handover(&lifeboat_protocol::HandoverOut {
            id,
            to_practice: to.id,
            patient_id: patient,
            sent_by: session.staff_id,
            record: body.clone(),
            note: note.to_string(),
        })
        .await?;
    let out = HandoverOut {
        id,
        to_practice: sent.to_practice,
        to_practice_name: sent.to_practice_name,
        patient_id: patient,
        note: note.to_string(),
        body,
    };
    let session = session.clone();
    blocking(store, move |s| s.record_handover_sent(&session, &out)).await
}

/// Writes `patient`'s record to a bundle file for a practice with no network link, then records it
/// as sent. The receiving practice imports the file like any bundle.
pub async fn export(
    store: &Arc<Store>,
    session: &Session,
    patient: Uuid,
    to_practice_name: &str,
    note: &str,
    path: &Path,
    passphrase: &str,
) -> SyncResult<Handover> {
    let (s1, name, n1) = (session.clone(), to_practice_name.to_string(), note.to_string());
    let body = blocking(store, move |s| s.handover_body(&s1, patient, &name, &n1)).await?;
    let (practice, _) = blocking(store, |s| s.practice_summary())
        .await?
        .ok_or_else(|| SyncError::Invalid("this PC holds no practice".into()))?;
    let key = blocking(store, |s| s.node_signing_key()).await?;
    let id = Uuid::now_v7();
    // The hand-over travels as the only change of a node of its own, so that it fits into the
    // receiving practice's numbering (each node's changes from 1, without gaps) whatever it holds.
    let node = node_of(id);
    let at = lifeboat_core::time::stored(store.clock().now());
    let hlc = (store.clock().now().timestamp_millis().max(0) << 16) & i64::MAX;
    let change = Change {
        op_id: Uuid::now_v7(),
        node_id: node,
        node_seq: 1,
        hlc,
        schema_version: HANDOVER_SCHEMA_VERSION,
        actor_id: session.staff_id,
        entity: "handover".into(),
        entity_id: id,
        kind: "create".into(),
        payload: json!({
            "from_practice": practice.to_string(),
            "to_practice": Uuid::nil().to_string(),
            "patient_id": patient.to_string(),
            "direction": "received",
            "body": body,
            "note": note,
            "at": at,
        }),
        base: json!({}),
        content_hash: String::new(),
    }
    .sealed();
    let passphrase = passphrase.to_string();
    crate::bundle::write_file(path, move |out| {
        lifeboat_protocol::bundle::write(out, practice, node, &at, &[change], &key, &passphrase)
    })
    .await?;
    let out = HandoverOut {
        id,
        to_practice: Uuid::nil(),
        to_practice_name: to_practice_name.to_string(),
        patient_id: patient,
        note: note.to_string(),
        body,
    };
    let session = session.clone();
    blocking(store, move |s| s.record_handover_sent(&session, &out)).await
}
