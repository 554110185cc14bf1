//! Running the server: TLS on a socket, until told to stop.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum_server::tls_rustls::RustlsConfig;
use axum_server::Handle;

use crate::api::Hub;
use crate::error::{HubError, HubResult};
use crate::tls::TlsIdentity;

/// A running server.
pub struct Running {
    pub address: SocketAddr,
    pub fingerprint: String,
    pub hub: Arc<Hub>,
    handle: Handle,
    task: tokio::task::JoinHandle<()>,
}

impl Running {
    /// Stops taking requests, lets those in flight finish (up to five seconds), and waits.
    pub async fn stop(self) {
        self.handle.graceful_shutdown(Some(Duration::from_secs(5)));
        let _ = self.task.await;
    }

    /// Stops at once, dropping connections (a crash, for tests).
    pub async fn kill(self) {
        self.handle.shutdown();
        let _ = self.task.await;
    }
}

/// Serves `hub` over TLS on `address` (port 0: any free port).
pub async fn start(hub: Arc<Hub>, tls: &TlsIdentity, address: SocketAddr) -> HubResult<Running> {
    let config = RustlsConfig::from_config(tls.server_config()?);
    let handle = Handle::new();
    let app = hub.router().into_make_service_with_connect_info::<SocketAddr>();
    let server = axum_server::bind_rustls(address, config).handle(handle.clone());
    let task = tokio::spawn(async move {
        if let Err(e) = server.serve(app).await {
            eprintln!("lifeboat-hub: the server stopped: {e}");
        }
    });
    let bound = handle
        .listening()
        .await
        .ok_or_else(|| HubError::Store(format!("could not listen on {address}: is another program using it?")))?;
    Ok(Running { address: bound, fingerprint: tls.fingerprint()?, hub, handle, task })
}
