//! The HTTP client for a relay or hub: TLS pinned to the server's certificate (its whole SHA-256
//! fingerprint once paired; the first 40 bits of it, from the pairing code, while pairing), the
//! device's bearer token, and errors in plain words.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use lifeboat_protocol::pairing::fingerprint_prefix;
use lifeboat_protocol::*;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, SignatureScheme};
use serde::de::DeserializeOwned;
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::error::{SyncError, SyncResult};

/// What the server's certificate must be.
#[derive(Clone, Debug)]
pub enum Pin {
    /// The whole SHA-256 fingerprint (hex), once paired.
    Exact(String),
    /// The first 40 bits (8 base32 characters), from a pairing code.
    Prefix(String),
}

#[derive(Debug)]
struct PinnedVerifier {
    pin: Pin,
    provider: Arc<CryptoProvider>,
    /// The fingerprint of the certificate last presented.
    seen: Arc<Mutex<Option<String>>>,
}

impl ServerCertVerifier for PinnedVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let fingerprint = hex::encode(Sha256::digest(end_entity.as_ref()));
        *self.seen.lock().unwrap_or_else(|e| e.into_inner()) = Some(fingerprint.clone());
        let matches = match &self.pin {
            Pin::Exact(expected) => fingerprint.eq_ignore_ascii_case(expected),
            Pin::Prefix(prefix) => fingerprint_prefix(&fingerprint).as_deref() == Some(prefix.as_str()),
        };
        if matches {
            Ok(ServerCertVerified::assertion())
        } else {
            Err(rustls::Error::General("certificate-pin-mismatch".into()))
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.provider.signature_verification_algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.provider.signature_verification_algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider.signature_verification_algorithms.supported_schemes()
    }
}

/// Faults to inject between this client and its server, for tests of what sync does when the network
/// misbehaves (seeded, so a failing run can be repeated): requests lost before they arrive, answers
/// lost after the server acted, requests delivered twice, pushes split and sent out of order, and a
/// partition that cuts the client off. Never set outside tests.
pub struct Faults {
    rng: Mutex<rand_chacha::ChaCha8Rng>,
    pub lose_request: f64,
    pub lose_answer: f64,
    pub duplicate: f64,
    pub reorder: f64,
    pub partitioned: std::sync::atomic::AtomicBool,
}

impl Faults {
    pub fn new(seed: u64, lose_request: f64, lose_answer: f64, duplicate: f64, reorder: f64) -> Arc<Faults> {
        use rand::SeedableRng;
        Arc::new(Faults {
            rng: Mutex::new(rand_chacha::ChaCha8Rng::seed_from_u64(seed)),
            lose_request,
            lose_answer,
            duplicate,
            reorder,
            partitioned: std::sync::atomic::AtomicBool::new(false),
        })
    }

    /// Whether a fault of probability `p` happens now.
    pub fn roll(&self, p: f64) -> bool {
        use rand::Rng;
        p > 0.0 && self.rng.lock().unwrap_or_else(|e| e.into_inner()).random_bool(p.min(1.0))
    }

    pub fn partition(&self, cut: bool) {
        self.partitioned.store(cut, std::sync::atomic::Ordering::SeqCst);
    }

    fn cut(&self) -> bool {
        self.partitioned.load(std::sync::atomic::Ordering::SeqCst)
    }
}

/// A connection to one server.
pub struct Client {
    http: reqwest::Client,
    url: String,
    token: Option<String>,
    seen: Arc<Mutex<Option<String>>>,
    faults: Option<Arc<Faults>>,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client").field("url", &self.url).finish_non_exhaustive()
    }
}

impl Client {
    /// A client for the server at `url` (`https://host:port`), whose certificate must match `pin`.
    pub fn new(url: &str, pin: Pin, token: Option<String>) -> SyncResult<Client> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let seen = Arc::new(Mutex::new(None));
        let verifier = PinnedVerifier { pin, provider: provider.clone(), seen: seen.clone() };
        let tls = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| SyncError::Internal(format!("TLS set-up: {e}")))?
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(verifier))
            .with_no_client_auth();
        let http = reqwest::Client::builder()
            .tls_backend_preconfigured(tls)
            .connect_timeout(Duration::from_secs(5))
            .timeout(Duration::from_secs(120))
            .pool_idle_timeout(Duration::from_secs(30))
            .build()
            .map_err(|e| SyncError::Internal(format!("HTTP client set-up: {e}")))?;
        Ok(Client { http, url: url.trim_end_matches('/').to_string(), token, seen, faults: None })
    }

    /// Injects `faults` (tests only).
    pub fn with_faults(mut self, faults: Option<Arc<Faults>>) -> Client {
        self.faults = faults;
        self
    }

    pub fn faults(&self) -> Option<&Faults> {
        self.faults.as_deref()
    }

    /// The fingerprint of the certificate the server presented (after a request).
    pub fn seen_fingerprint(&self) -> Option<String> {
        self.seen.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    pub fn url(&self) -> &str {
        &self.url
    }

    async fn send<B: Serialize, T: DeserializeOwned>(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<&B>,
    ) -> SyncResult<T> {
        let Some(faults) = &self.faults else { return self.send_once(method, path, body).await };
        let lost = || {
            SyncError::Unreachable(format!("the server at {} cannot be reached (a fault injected by a test)", self.url))
        };
        if faults.cut() || faults.roll(faults.lose_request) {
            return Err(lost());
        }
        if faults.roll(faults.duplicate) {
            let _ = self.send_once::<B, T>(method.clone(), path, body).await;
        }
        let answer = self.send_once(method, path, body).await;
        if answer.is_ok() && faults.roll(faults.lose_answer) {
            return Err(lost());
        }
        answer
    }

    async fn send_once<B: Serialize, T: DeserializeOwned>(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<&B>,
    ) -> SyncResult<T> {
        let mut request = self
            .http
            .request(method, format!("{}{path}", self.url))
            .header("x-lifeboat-version", env!("CARGO_PKG_VERSION"));
        if let Some(token) = &self.token {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            let bytes = serde_json::to_vec(body).map_err(|e| SyncError::Internal(e.to_string()))?;
            request = request.header("content-type", "application/json").body(bytes);
        }
        let response = request.send().await.map_err(|e| self.transport_error(e))?;
        let status = response.status();
        let bytes = response.bytes().await.map_err(|e| self.transport_error(e))?;
        if status.is_success() {
            return serde_json::from_slice(&bytes)
                .map_err(|e| SyncError::Protocol(format!("the server's answer to {path} could not be read: {e}")));
        }
        let body: Option<ErrorBody> = serde_json::from_slice(&bytes).ok();
        let (code, message) = match body {
            Some(b) => (b.code, b.message),
            None => ("internal".to_string(), format!("the server answered {status}")),
        };
        Err(match code.as_str() {
            "unauthorized" => SyncError::NotPaired(message),
            "forbidden" => SyncError::Revoked(message),
            "refused" => SyncError::Refused(message),
            "cursor_unknown" => SyncError::CursorUnknown(message),
            "rate_limited" => SyncError::Busy(message),
            "unsupported_version" => SyncError::Protocol(message),
            _ if status.is_server_error() => SyncError::ServerFailed(message),
            _ => SyncError::Protocol(message),
        })
    }

    fn transport_error(&self, e: reqwest::Error) -> SyncError {
        let text = format!("{e:?}");
        if text.contains("certificate-pin-mismatch") {
            return SyncError::Certificate(format!(
                "the server at {} is not the one this PC paired with (its certificate differs): if it was reinstalled, pair again; otherwise someone may be impersonating it",
                self.url
            ));
        }
        if e.is_timeout() {
            return SyncError::Unreachable(format!("the server at {} did not answer in time", self.url));
        }
        SyncError::Unreachable(format!(
            "the server at {} cannot be reached (is it switched on and on the network?)",
            self.url
        ))
    }

    pub async fn enrol(&self, e: &Enrol) -> SyncResult<Enrolled> {
        self.send(reqwest::Method::POST, "/v1/enrol", Some(e)).await
    }

    pub async fn hello(&self) -> SyncResult<HelloReply> {
        let hello = Hello { protocol: PROTOCOL_VERSION, app_version: env!("CARGO_PKG_VERSION").into() };
        self.send(reqwest::Method::POST, "/v1/hello", Some(&hello)).await
    }

    pub async fn push(&self, changes: Vec<Change>, tips: Vec<Tip>) -> SyncResult<PushReply> {
        self.send(reqwest::Method::POST, "/v1/push", Some(&Push { changes, tips })).await
    }

    pub async fn pull(&self, pull: &Pull) -> SyncResult<PullPage> {
        self.send(reqwest::Method::POST, "/v1/pull", Some(pull)).await
    }

    pub async fn verify(&self, days: Vec<DaySummary>, before: String) -> SyncResult<VerifyReply> {
        self.send(reqwest::Method::POST, "/v1/verify", Some(&Verify { days, before })).await
    }

    pub async fn audit_head(&self, head: &AuditHead) -> SyncResult<Receipt> {
        self.send(reqwest::Method::POST, "/v1/audit-head", Some(head)).await
    }

    pub async fn practices(&self) -> SyncResult<Vec<PracticeInfo>> {
        self.send::<(), _>(reqwest::Method::GET, "/v1/practices", None).await
    }

    /// The server's OpenAPI description.
    pub async fn openapi(&self) -> SyncResult<serde_json::Value> {
        self.send::<(), _>(reqwest::Method::GET, "/v1/openapi.json", None).await
    }

    pub async fn handover(&self, h: &HandoverOut) -> SyncResult<HandoverSent> {
        self.send(reqwest::Method::POST, "/v1/handover", Some(h)).await
    }
}
