//! The desktop's side of sync: background sync every few seconds with each server this PC is paired
//! with (`lifeboat_sync::engine::Engine`), and, when this PC hosts the practice relay, the relay server
//! itself (`lifeboat_hub`, on an encrypted SQLite file in the data folder, TLS with a self-signed
//! certificate that other PCs pin when they pair).

use std::net::{SocketAddr, UdpSocket};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use lifeboat_core::{ErrorCode, Session, Store};
use lifeboat_hub::api::Hub;
use lifeboat_hub::server::Running;
use lifeboat_hub::store::sqlite::SqliteStore;
use lifeboat_hub::tls::TlsIdentity;
use lifeboat_protocol::pairing::{fingerprint_prefix, PairingCode};
use lifeboat_sync::engine::Engine;
use serde::Serialize;

use crate::error::{CommandError, CommandResult};

/// How often background sync runs.
pub const INTERVAL: Duration = Duration::from_secs(5);
/// The relay's port when none was chosen.
pub const DEFAULT_PORT: u16 = 8443;

pub struct SyncHost {
    pub store: Arc<Store>,
    pub engine: Arc<Engine>,
    relay_dir: PathBuf,
    relay: tokio::sync::Mutex<Option<Running>>,
}

/// The relay this PC hosts, as the sync page shows it.
#[derive(Debug, Clone, Serialize, ts_rs::TS)]
pub struct HostedRelay {
    /// The address other PCs type: this PC's address on the network and the port.
    pub address: String,
    pub port: u16,
    pub devices: Vec<RelayDevice>,
}

#[derive(Debug, Clone, Serialize, ts_rs::TS)]
pub struct RelayDevice {
    pub id: String,
    pub name: String,
    pub last_seen: Option<String>,
    pub revoked: bool,
    /// This PC itself (it syncs with the relay it hosts like the others do).
    pub this_pc: bool,
}

/// A one-time code for another PC to pair with the relay this PC hosts.
#[derive(Debug, Clone, Serialize, ts_rs::TS)]
pub struct PairingInfo {
    pub address: String,
    pub code: String,
    pub valid_hours: u32,
}

fn failed(what: &str, e: impl std::fmt::Display) -> CommandError {
    CommandError::new(ErrorCode::Io, format!("{what}: {e}"))
}

/// This PC's address on the local network (the one its default route uses), for others to type.
fn lan_address() -> String {
    // Connecting a UDP socket sends nothing; it only picks the interface a packet would leave by.
    UdpSocket::bind("0.0.0.0:0")
        .and_then(|s| s.connect("192.0.2.1:9").map(|_| s))
        .and_then(|s| s.local_addr())
        .map(|a| a.ip().to_string())
        .unwrap_or_else(|_| "127.0.0.1".into())
}

impl SyncHost {
    /// Starts background sync, and the relay if this PC hosts it.
    pub fn start(store: Arc<Store>, data_dir: &std::path::Path) -> Arc<SyncHost> {
        let engine = Engine::new(store.clone());
        let host = Arc::new(SyncHost {
            store: store.clone(),
            engine: engine.clone(),
            relay_dir: data_dir.join("relay"),
            relay: tokio::sync::Mutex::new(None),
        });
        tauri::async_runtime::spawn(engine.run(INTERVAL));
        if store.local_setting("relay_hosting").ok().flatten().as_deref() == Some("on") {
            let h = host.clone();
            tauri::async_runtime::spawn(async move {
                if let Err(e) = h.start_relay(None).await {
                    eprintln!("lifeboat: the practice relay could not start: {}", e.message);
                }
            });
        }
        host
    }

    fn port(&self) -> u16 {
        self.store.local_setting("relay_port").ok().flatten().and_then(|p| p.parse().ok()).unwrap_or(DEFAULT_PORT)
    }

    /// Starts the relay server (if not running). With `session` (a manager turning hosting on), also
    /// pairs this PC with its own relay, so that its changes reach the others the same way theirs do.
    pub async fn start_relay(&self, session: Option<Session>) -> CommandResult<()> {
        let mut slot = self.relay.lock().await;
        if slot.is_some() {
            return Ok(());
        }
        let store = self.store.clone();
        let (practice, name) = store
            .practice_summary()?
            .ok_or_else(|| CommandError::new(ErrorCode::NotFound, "Set the practice up before hosting its relay."))?;
        let key = store.local_secret("relay_key")?;
        std::fs::create_dir_all(&self.relay_dir).map_err(|e| failed("Could not make the relay's folder", e))?;
        let relay_store = SqliteStore::open(&self.relay_dir.join("relay.db"), Some(&key))
            .map_err(|e| failed("The relay's database could not be opened", e))?;
        let tls = TlsIdentity::load_or_create(&self.relay_dir).map_err(|e| failed("The relay's certificate", e))?;
        let hub =
            Hub::new(lifeboat_hub::store::Store::Sqlite(relay_store)).await.map_err(|e| failed("The relay", e))?;
        hub.store.add_practice(practice, &name).await.map_err(|e| failed("The relay", e))?;
        let port = self.port();
        let running = lifeboat_hub::server::start(hub.clone(), &tls, SocketAddr::from(([0, 0, 0, 0], port)))
            .await
            .map_err(|e| {
                CommandError::new(
                    ErrorCode::Io,
                    format!("The relay could not listen on port {port}: {e}. Choose another port."),
                )
            })?;
        let server_id = hub.identity.server_id;
        let paired = store.peers()?.into_iter().any(|p| p.server_id == server_id);
        if !paired {
            if let Some(session) = session {
                let code = hub.store.new_enrol_code(practice, 1).await.map_err(|e| failed("The relay", e))?;
                let code = PairingCode {
                    url: format!("https://127.0.0.1:{port}"),
                    fingerprint_prefix: fingerprint_prefix(&running.fingerprint).unwrap_or_default(),
                    enrol_code: code,
                }
                .code();
                lifeboat_sync::engine::pair(
                    &store,
                    Some(session),
                    "Practice relay (this PC)",
                    &format!("127.0.0.1:{port}"),
                    &code,
                    "Relay host",
                )
                .await
                .map_err(crate::error::from_sync)?;
            }
        }
        *slot = Some(running);
        drop(slot);
        self.engine.sync_now();
        Ok(())
    }

    pub async fn stop_relay(&self) {
        if let Some(running) = self.relay.lock().await.take() {
            running.stop().await;
        }
    }

    pub async fn hosted(&self) -> Option<HostedRelay> {
        let slot = self.relay.lock().await;
        let running = slot.as_ref()?;
        let practice = self.store.practice_summary().ok().flatten()?.0;
        let devices = running.hub.store.devices(Some(practice)).await.unwrap_or_default();
        let own = self.store.own_nodes().unwrap_or_default();
        Some(HostedRelay {
            address: format!("{}:{}", lan_address(), running.address.port()),
            port: running.address.port(),
            devices: devices
                .into_iter()
                .map(|d| RelayDevice {
                    id: d.id.to_string(),
                    name: d.name,
                    last_seen: d.last_seen.map(lifeboat_core::time::stored),
                    revoked: d.revoked_at.is_some(),
                    this_pc: own.contains(&d.node_id),
                })
                .collect(),
        })
    }

    /// A one-time code for another PC (valid for 24 hours).
    pub async fn pairing_code(&self) -> CommandResult<PairingInfo> {
        let slot = self.relay.lock().await;
        let running = slot.as_ref().ok_or_else(|| {
            CommandError::new(ErrorCode::Conflict, "This PC does not host the practice relay: turn hosting on first.")
        })?;
        let practice = self.store.practice_summary()?.map(|p| p.0).unwrap_or_default();
        let code = running.hub.store.new_enrol_code(practice, 24).await.map_err(|e| failed("The relay", e))?;
        let address = format!("{}:{}", lan_address(), running.address.port());
        let pairing = PairingCode {
            url: format!("https://{address}"),
            fingerprint_prefix: fingerprint_prefix(&running.fingerprint).unwrap_or_default(),
            enrol_code: code,
        };
        Ok(PairingInfo { address, code: pairing.code(), valid_hours: 24 })
    }

    /// Revokes a device at the relay this PC hosts.
    pub async fn revoke(&self, device: uuid::Uuid) -> CommandResult<()> {
        let slot = self.relay.lock().await;
        let running =
            slot.as_ref().ok_or_else(|| CommandError::new(ErrorCode::Conflict, "This PC does not host the relay."))?;
        running.hub.store.revoke(device).await.map_err(|e| failed("The relay", e))
    }
}
