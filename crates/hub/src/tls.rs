//! The server's TLS certificate. A relay or hub with no certificate of its own gets a self-signed one,
//! kept beside its store; devices pin its SHA-256 fingerprint when they pair (the pairing code carries
//! the first characters of it), so no certificate authority is needed on a practice's network.

use std::path::Path;
use std::sync::Arc;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::ServerConfig;
use sha2::{Digest, Sha256};

use crate::error::{HubError, HubResult};

/// Installs the process's TLS crypto (ring) once; later calls do nothing.
pub fn install_crypto() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

#[derive(Clone)]
pub struct TlsIdentity {
    pub cert_pem: String,
    pub key_pem: String,
}

impl std::fmt::Debug for TlsIdentity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TlsIdentity").field("fingerprint", &self.fingerprint().ok()).finish_non_exhaustive()
    }
}

impl TlsIdentity {
    /// A new self-signed certificate naming `names` (host names or addresses).
    pub fn self_signed(names: &[String]) -> HubResult<TlsIdentity> {
        let mut names: Vec<String> = names.to_vec();
        names.push("lifeboat-relay".into());
        let certified = rcgen::generate_simple_self_signed(names)
            .map_err(|e| HubError::Store(format!("could not make a certificate: {e}")))?;
        Ok(TlsIdentity { cert_pem: certified.cert.pem(), key_pem: certified.key_pair.serialize_pem() })
    }

    /// The certificate in `dir` (`tls-cert.pem`, `tls-key.pem`), made and saved if there is none.
    pub fn load_or_create(dir: &Path) -> HubResult<TlsIdentity> {
        let (cert, key) = (dir.join("tls-cert.pem"), dir.join("tls-key.pem"));
        if cert.exists() && key.exists() {
            return TlsIdentity::load(&cert, &key);
        }
        let made = TlsIdentity::self_signed(&[])?;
        let io =
            |e: std::io::Error| HubError::Store(format!("could not save the certificate in {}: {e}", dir.display()));
        std::fs::create_dir_all(dir).map_err(io)?;
        std::fs::write(&cert, &made.cert_pem).map_err(io)?;
        write_private(&key, &made.key_pem).map_err(io)?;
        Ok(made)
    }

    pub fn load(cert: &Path, key: &Path) -> HubResult<TlsIdentity> {
        let read = |p: &Path| {
            std::fs::read_to_string(p).map_err(|e| HubError::Store(format!("could not read {}: {e}", p.display())))
        };
        let identity = TlsIdentity { cert_pem: read(cert)?, key_pem: read(key)? };
        identity.fingerprint()?;
        Ok(identity)
    }

    fn cert_der(&self) -> HubResult<CertificateDer<'static>> {
        CertificateDer::from_pem_slice(self.cert_pem.as_bytes())
            .map_err(|e| HubError::Store(format!("the certificate is not a PEM certificate: {e}")))
    }

    /// SHA-256 (hex) of the certificate, as devices pin it.
    pub fn fingerprint(&self) -> HubResult<String> {
        Ok(hex::encode(Sha256::digest(self.cert_der()?.as_ref())))
    }

    pub fn server_config(&self) -> HubResult<Arc<ServerConfig>> {
        install_crypto();
        let key = PrivateKeyDer::from_pem_slice(self.key_pem.as_bytes())
            .map_err(|e| HubError::Store(format!("the private key is not a PEM key: {e}")))?;
        let config = ServerConfig::builder()
            .with_no_client_auth()
            .with_single_cert(vec![self.cert_der()?], key)
            .map_err(|e| HubError::Store(format!("the certificate and key do not make a TLS configuration: {e}")))?;
        Ok(Arc::new(config))
    }
}

// Platform code: on Unix the key file is readable by its owner only; on Windows the file inherits the
// data folder's permissions (the user's profile).
#[cfg(unix)]
fn write_private(path: &Path, text: &str) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut f = std::fs::OpenOptions::new().write(true).create(true).truncate(true).mode(0o600).open(path)?;
    f.write_all(text.as_bytes())
}

#[cfg(not(unix))]
fn write_private(path: &Path, text: &str) -> std::io::Result<()> {
    std::fs::write(path, text)
}
