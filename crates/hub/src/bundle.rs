//! A bundle file carried to the hub by hand (a practice whose network to the hub is down): its
//! changes are stored as if its PC had pushed them, once each.

use std::io::Read;

use lifeboat_protocol::{PracticeInfo, MAX_BATCH};
use uuid::Uuid;

use crate::error::{HubError, HubResult};
use crate::store::{Device, Store};

/// Reads and checks the whole bundle, then stores its changes in `practice` (which the bundle must
/// name too); returns the practice, how many changes were new and how many were already here.
pub async fn import(
    store: &Store,
    practice: Uuid,
    input: &mut impl Read,
    passphrase: &str,
) -> HubResult<(PracticeInfo, u32, u32)> {
    let (manifest, changes) =
        lifeboat_protocol::bundle::read(input, passphrase).map_err(|e| HubError::BadRequest(e.to_string()))?;
    // The operator names the practice; the file must agree (it says which practice made it).
    if manifest.practice_id != practice {
        return Err(HubError::BadRequest(format!(
            "the bundle was made by practice {}, not {practice}",
            manifest.practice_id
        )));
    }
    let practice = store.practices().await?.into_iter().find(|p| p.id == manifest.practice_id).ok_or_else(|| {
        HubError::NotFound(format!("the bundle is for practice {}, which this hub does not have", manifest.practice_id))
    })?;
    let device = Device {
        id: Uuid::nil(),
        practice_id: practice.id,
        practice_name: practice.name.clone(),
        node_id: manifest.source_node,
    };
    let (mut stored, mut duplicates) = (0, 0);
    for batch in changes.chunks(MAX_BATCH as usize) {
        let reply = store.push(&device, batch.to_vec(), Vec::new()).await?;
        stored += reply.stored;
        duplicates += reply.duplicates;
    }
    Ok((practice, stored, duplicates))
}
