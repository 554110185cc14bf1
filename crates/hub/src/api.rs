//! The HTTP API (see `lifeboat_protocol::wire` for the messages): each handler checks the device's
//! credential, its rate, and its input, then calls the store. The practice a request is about comes
//! from the credential, never from the body. `GET /v1/openapi.json` describes it all.

use std::net::{IpAddr, SocketAddr};
use std::num::NonZeroU32;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{ConnectInfo, FromRequest, FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use chrono::{SecondsFormat, Utc};
use ed25519_dalek::{Signer, SigningKey};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use lifeboat_protocol::*;
use serde::de::DeserializeOwned;
use serde_json::json;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};
use uuid::Uuid;

use crate::error::{HubError, HubResult};
use crate::store::{server_node, Device, Identity, Store};

/// What every handler shares.
pub struct Hub {
    pub store: Store,
    pub identity: Identity,
    signing: SigningKey,
    by_device: DefaultKeyedRateLimiter<Uuid>,
    by_address: DefaultKeyedRateLimiter<IpAddr>,
    enrolments: DefaultKeyedRateLimiter<IpAddr>,
}

/// The largest record one hand-over carries (a long history is a few hundred kilobytes).
pub const MAX_HANDOVER_BYTES: usize = 4_000_000;

/// Requests a device may make: a steady 20 a second, bursts of 200 (a long sync pushes and pulls in
/// pages of 2,000 changes).
pub const DEVICE_PER_SECOND: u32 = 20;
pub const DEVICE_BURST: u32 = 200;

impl Hub {
    pub async fn new(store: Store) -> HubResult<Arc<Hub>> {
        let identity = store.identity().await?;
        let signing = SigningKey::from_bytes(&identity.signing_key);
        let n = |v: u32| NonZeroU32::new(v).unwrap_or(NonZeroU32::MIN);
        Ok(Arc::new(Hub {
            store,
            identity,
            signing,
            by_device: RateLimiter::keyed(Quota::per_second(n(DEVICE_PER_SECOND)).allow_burst(n(DEVICE_BURST))),
            by_address: RateLimiter::keyed(Quota::per_second(n(100)).allow_burst(n(1000))),
            enrolments: RateLimiter::keyed(Quota::per_minute(n(10)).allow_burst(n(10))),
        }))
    }

    /// The public key (hex) that verifies this server's receipts.
    pub fn public_key(&self) -> String {
        hex::encode(self.signing.verifying_key().to_bytes())
    }

    /// The router, for `axum_server` (with `ConnectInfo<SocketAddr>`).
    pub fn router(self: &Arc<Hub>) -> Router {
        Router::new()
            .route("/v1/enrol", post(enrol))
            .route("/v1/hello", post(hello))
            .route("/v1/push", post(push))
            .route("/v1/pull", post(pull))
            .route("/v1/verify", post(verify))
            .route("/v1/audit-head", post(audit_head))
            .route("/v1/practices", get(practices))
            .route("/v1/handover", post(handover))
            .route("/v1/openapi.json", get(openapi))
            .fallback(|| async { HubError::NotFound("there is no such request on this server".into()) })
            .layer(axum::extract::DefaultBodyLimit::max(MAX_BODY_BYTES))
            .layer(axum::middleware::map_response(close_after_error))
            .with_state(self.clone())
    }
}

/// An answer given before the request's body is read (a refused credential, a rate limit, a wrong
/// method) leaves the body unread, and the connection is then closed after the answer without a word:
/// a client that sends its next request on it fails. Every error answer says `Connection: close`.
async fn close_after_error(mut response: Response) -> Response {
    if response.status().is_client_error() || response.status().is_server_error() {
        response.headers_mut().insert(header::CONNECTION, header::HeaderValue::from_static("close"));
    }
    response
}

fn now_text() -> String {
    Utc::now().to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// A JSON body, refused with a `bad_request` that names the field and position when it does not fit.
pub struct Body<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for Body<T> {
    type Rejection = HubError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let bytes = Bytes::from_request(req, state).await.map_err(|e| {
            if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
                HubError::TooLarge(format!(
                    "the request is larger than {MAX_BODY_BYTES} bytes: send fewer changes at once"
                ))
            } else {
                HubError::BadRequest(format!("the request body could not be read: {e}"))
            }
        })?;
        serde_json::from_slice(&bytes)
            .map(Body)
            .map_err(|e| HubError::BadRequest(format!("the request is not valid: {e}")))
    }
}

fn address(parts: &Parts) -> IpAddr {
    parts
        .extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip())
        .unwrap_or(IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED))
}

/// The device a request comes from, by its bearer token; within its rate.
pub struct Authed(pub Device);

impl FromRequestParts<Arc<Hub>> for Authed {
    type Rejection = HubError;

    async fn from_request_parts(parts: &mut Parts, hub: &Arc<Hub>) -> Result<Self, Self::Rejection> {
        if hub.by_address.check_key(&address(parts)).is_err() {
            return Err(HubError::RateLimited("too many requests from this address: wait a moment".into()));
        }
        let token = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.get(..7).filter(|s| s.eq_ignore_ascii_case("bearer ")).map(|_| &v[7..]))
            .ok_or_else(|| {
                HubError::Unauthorized("this request needs the device's credential (Authorization: Bearer)".into())
            })?;
        let version = parts.headers.get("x-lifeboat-version").and_then(|v| v.to_str().ok());
        let device = hub.store.authenticate(token.trim(), version).await?;
        if hub.by_device.check_key(&device.id).is_err() {
            return Err(HubError::RateLimited("this device is sending too many requests: wait a moment".into()));
        }
        Ok(Authed(device))
    }
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Lifeboat hub",
        version = "1",
        description = "The sync API of Lifeboat's central hub and practice relay. Every request but enrolment carries the device's credential; the practice comes from that credential."
    ),
    paths(enrol, hello, push, pull, verify, audit_head, practices, handover),
    components(schemas(
        Change, Enrol, Enrolled, Hello, HelloReply, Mark, Push, PushReply, Pull, PullPage, Sequenced, Verify, VerifyReply,
        DaySummary, AuditHead, Receipt, PracticeInfo, HandoverOut, HandoverSent, ErrorBody, Tip
    )),
    modifiers(&BearerToken)
)]
pub struct ApiDoc;

struct BearerToken;

impl Modify for BearerToken {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "device_token",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

/// The OpenAPI description, as served.
pub fn openapi_json() -> String {
    ApiDoc::openapi().to_pretty_json().unwrap_or_else(|_| "{}".into())
}

async fn openapi() -> Response {
    ([(header::CONTENT_TYPE, "application/json")], openapi_json()).into_response()
}

/// `YYYY-MM-DD` exactly (RFC 3339's full-date, what the description's `format: date` means), and a
/// real date: chrono alone also reads `2024-1-01` or `+2024-01-01`.
fn is_date(text: &str) -> bool {
    let b = text.as_bytes();
    b.len() == 10
        && b.iter().enumerate().all(|(i, c)| if i == 4 || i == 7 { *c == b'-' } else { c.is_ascii_digit() })
        && chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d").is_ok()
}

fn check_protocol(version: u32) -> HubResult<()> {
    if version != PROTOCOL_VERSION {
        return Err(HubError::UnsupportedVersion(format!(
            "this server speaks protocol {PROTOCOL_VERSION}, the device {version}: update Lifeboat on the older one"
        )));
    }
    Ok(())
}

/// Enrols a device with a one-time code from the practice manager or the group's IT.
#[utoipa::path(post, path = "/v1/enrol", request_body = Enrol, responses(
    (status = 200, description = "The device's credential, given once", body = Enrolled),
    (status = 400, description = "The request is not valid", body = ErrorBody),
    (status = 401, description = "The code is unknown, used or expired", body = ErrorBody),
    (status = 413, description = "The request is larger than 16 MiB (too_large)", body = ErrorBody),
    (status = 429, description = "Too many attempts from this address", body = ErrorBody),
    (status = 500, description = "The server's store failed (internal)", body = ErrorBody),
))]
async fn enrol(
    State(hub): State<Arc<Hub>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Body(e): Body<Enrol>,
) -> HubResult<Json<Enrolled>> {
    if hub.enrolments.check_key(&peer.ip()).is_err() {
        return Err(HubError::RateLimited("too many enrolment attempts from this address: wait a minute".into()));
    }
    check_protocol(e.protocol)?;
    let (device, token) = hub.store.enrol(&e.code, &e.device_name, e.node_id).await?;
    Ok(Json(Enrolled {
        device_id: device.id,
        token,
        practice_id: device.practice_id,
        practice_name: device.practice_name,
        server_id: hub.identity.server_id,
        server_key: hub.public_key(),
    }))
}

/// What the server holds for the device's practice, per node; where to push from.
#[utoipa::path(post, path = "/v1/hello", request_body = Hello, security(("device_token" = [])), responses(
    (status = 200, description = "The server's marks, epoch and time", body = HelloReply),
    (status = 400, description = "The request is not valid", body = ErrorBody),
    (status = 401, description = "No valid credential", body = ErrorBody),
    (status = 403, description = "The device is revoked", body = ErrorBody),
    (status = 413, description = "The request is larger than 16 MiB (too_large)", body = ErrorBody),
    (status = 429, description = "Too many requests", body = ErrorBody),
    (status = 500, description = "The server's store failed (internal)", body = ErrorBody),
))]
async fn hello(
    State(hub): State<Arc<Hub>>,
    Authed(device): Authed,
    Body(h): Body<Hello>,
) -> HubResult<Json<HelloReply>> {
    check_protocol(h.protocol)?;
    if h.app_version.chars().count() > 40 {
        return Err(HubError::BadRequest("app_version is longer than 40 characters".into()));
    }
    let (marks, last_seq) = hub.store.marks(device.practice_id).await?;
    let identity = hub.store.identity().await?;
    Ok(Json(HelloReply {
        protocol: PROTOCOL_VERSION,
        server_id: identity.server_id,
        epoch: identity.epoch,
        practice_id: device.practice_id,
        practice_name: device.practice_name.clone(),
        device_id: device.id,
        marks,
        last_seq,
        time: now_text(),
        receipt: hub.store.last_receipt(&device).await?,
    }))
}

/// Stores changes, each once; refuses a change re-sent with other content, a reused sequence
/// number, or a gap.
#[utoipa::path(post, path = "/v1/push", request_body = Push, security(("device_token" = [])), responses(
    (status = 200, description = "How many were new", body = PushReply),
    (status = 400, description = "The request is not valid", body = ErrorBody),
    (status = 401, description = "No valid credential", body = ErrorBody),
    (status = 403, description = "The device is revoked", body = ErrorBody),
    (status = 409, description = "Refused: the changes contradict what the server holds, a change does not match its content hash, or one is in the push twice", body = ErrorBody),
    (status = 413, description = "The request is larger than 16 MiB (too_large)", body = ErrorBody),
    (status = 429, description = "Too many requests", body = ErrorBody),
    (status = 500, description = "The server's store failed (internal)", body = ErrorBody),
))]
async fn push(State(hub): State<Arc<Hub>>, Authed(device): Authed, Body(p): Body<Push>) -> HubResult<Json<PushReply>> {
    if p.changes.len() > MAX_BATCH as usize {
        return Err(HubError::BadRequest(format!(
            "a push holds at most {MAX_BATCH} changes, this one {}",
            p.changes.len()
        )));
    }
    Ok(Json(hub.store.push(&device, p.changes, p.tips).await?))
}

/// The next page of the practice's changes after the client's cursor.
#[utoipa::path(post, path = "/v1/pull", request_body = Pull, security(("device_token" = [])), responses(
    (status = 200, description = "A page of changes; an empty one ends the pull", body = PullPage),
    (status = 400, description = "The request is not valid", body = ErrorBody),
    (status = 401, description = "No valid credential", body = ErrorBody),
    (status = 403, description = "The device is revoked", body = ErrorBody),
    (status = 409, description = "The cursor does not fit this server's history (cursor_unknown)", body = ErrorBody),
    (status = 413, description = "The request is larger than 16 MiB (too_large)", body = ErrorBody),
    (status = 429, description = "Too many requests", body = ErrorBody),
    (status = 500, description = "The server's store failed (internal)", body = ErrorBody),
))]
async fn pull(State(hub): State<Arc<Hub>>, Authed(device): Authed, Body(p): Body<Pull>) -> HubResult<Response> {
    if p.after < 0 {
        return Err(HubError::BadRequest("after must be 0 or more".into()));
    }
    let limit = p.limit.clamp(1, MAX_BATCH);
    let page = hub.store.pull(device.practice_id, p.after, p.after_op, limit).await?;
    Ok(([(header::CONTENT_TYPE, "application/json")], page.to_json()).into_response())
}

/// Compares the day-by-day summaries of what the device and the server hold.
#[utoipa::path(post, path = "/v1/verify", request_body = Verify, security(("device_token" = [])), responses(
    (status = 200, description = "The days on which the two differ", body = VerifyReply),
    (status = 400, description = "The request is not valid", body = ErrorBody),
    (status = 401, description = "No valid credential", body = ErrorBody),
    (status = 403, description = "The device is revoked", body = ErrorBody),
    (status = 413, description = "The request is larger than 16 MiB (too_large)", body = ErrorBody),
    (status = 429, description = "Too many requests", body = ErrorBody),
    (status = 500, description = "The server's store failed (internal)", body = ErrorBody),
))]
async fn verify(
    State(hub): State<Arc<Hub>>,
    Authed(device): Authed,
    Body(v): Body<Verify>,
) -> HubResult<Json<VerifyReply>> {
    if v.days.len() > 100_000 {
        return Err(HubError::BadRequest("at most 100000 days at once".into()));
    }
    let ours = hub.store.day_summaries(device.practice_id).await?;
    let theirs: std::collections::BTreeMap<&str, &DaySummary> = v.days.iter().map(|d| (d.day.as_str(), d)).collect();
    // Today's changes may still be on their way in either direction: only earlier days are compared
    // (the client's today, which it names).
    if !is_date(&v.before) {
        return Err(HubError::BadRequest("before must be a date, YYYY-MM-DD".into()));
    }
    let today = v.before.clone();
    let mine: std::collections::BTreeMap<&str, &DaySummary> =
        ours.iter().filter(|d| d.day < today).map(|d| (d.day.as_str(), d)).collect();
    let mut differing: Vec<String> = Vec::new();
    for day in theirs.keys().chain(mine.keys()).filter(|d| **d < today.as_str()) {
        if theirs.get(day).map(|d| (d.count, &d.hash)) != mine.get(day).map(|d| (d.count, &d.hash)) {
            differing.push((*day).to_string());
        }
    }
    differing.sort();
    differing.dedup();
    Ok(Json(VerifyReply { differing }))
}

/// Signs the head of the device's audit chain: a later cut or rewrite no longer matches it.
#[utoipa::path(post, path = "/v1/audit-head", request_body = AuditHead, security(("device_token" = [])), responses(
    (status = 200, description = "The signed receipt", body = Receipt),
    (status = 400, description = "The request is not valid", body = ErrorBody),
    (status = 401, description = "No valid credential", body = ErrorBody),
    (status = 403, description = "The device is revoked", body = ErrorBody),
    (status = 409, description = "The chain ends before the head last signed: it was cut short (refused)", body = ErrorBody),
    (status = 413, description = "The request is larger than 16 MiB (too_large)", body = ErrorBody),
    (status = 429, description = "Too many requests", body = ErrorBody),
    (status = 500, description = "The server's store failed (internal)", body = ErrorBody),
))]
async fn audit_head(
    State(hub): State<Arc<Hub>>,
    Authed(device): Authed,
    Body(h): Body<AuditHead>,
) -> HubResult<Json<Receipt>> {
    if h.audit_seq < 0 || h.head_hash.len() != 64 || !h.head_hash.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(HubError::BadRequest("audit_seq must be 0 or more and head_hash a SHA-256 in hex".into()));
    }
    if let Some(last) = hub.store.last_receipt(&device).await? {
        if h.audit_seq < last.audit_seq {
            return Err(HubError::Refused(format!(
                "this device's audit chain was signed at entry {} and now ends at {}: it has been cut short",
                last.audit_seq, h.audit_seq
            )));
        }
    }
    let mut receipt = Receipt {
        node_id: h.node_id,
        audit_seq: h.audit_seq,
        head_hash: h.head_hash.to_ascii_lowercase(),
        signed_at: now_text(),
        server_key: hub.public_key(),
        signature: String::new(),
    };
    receipt.signature = hex::encode(hub.signing.sign(receipt.signed_text().as_bytes()).to_bytes());
    hub.store.store_receipt(&device, &receipt).await?;
    Ok(Json(receipt))
}

/// The practices of the group (for addressing a hand-over).
#[utoipa::path(get, path = "/v1/practices", security(("device_token" = [])), responses(
    (status = 200, description = "The group's practices", body = Vec<PracticeInfo>),
    (status = 401, description = "No valid credential", body = ErrorBody),
    (status = 403, description = "The device is revoked", body = ErrorBody),
    (status = 429, description = "Too many requests", body = ErrorBody),
    (status = 500, description = "The server's store failed (internal)", body = ErrorBody),
))]
async fn practices(State(hub): State<Arc<Hub>>, Authed(_device): Authed) -> HubResult<Json<Vec<PracticeInfo>>> {
    Ok(Json(hub.store.practices().await?))
}

/// Sends one patient's record to another practice of the group: it reaches that practice's devices
/// as a received hand-over, read-only.
#[utoipa::path(post, path = "/v1/handover", request_body = HandoverOut, security(("device_token" = [])), responses(
    (status = 200, description = "Delivered to the other practice's stream", body = HandoverSent),
    (status = 400, description = "The request is not valid", body = ErrorBody),
    (status = 401, description = "No valid credential", body = ErrorBody),
    (status = 403, description = "The device is revoked", body = ErrorBody),
    (status = 404, description = "No such practice in the group", body = ErrorBody),
    (status = 409, description = "Refused: the practice is the sender's own, or the other practice's stream stayed busy", body = ErrorBody),
    (status = 413, description = "The request is larger than 16 MiB (too_large)", body = ErrorBody),
    (status = 429, description = "Too many requests", body = ErrorBody),
    (status = 500, description = "The server's store failed (internal)", body = ErrorBody),
))]
async fn handover(
    State(hub): State<Arc<Hub>>,
    Authed(device): Authed,
    Body(h): Body<HandoverOut>,
) -> HubResult<Json<HandoverSent>> {
    if h.to_practice == device.practice_id {
        return Err(HubError::Refused("a hand-over goes to another practice of the group".into()));
    }
    if h.note.chars().count() > 1000 || !h.record.is_object() {
        return Err(HubError::BadRequest("the note is at most 1000 characters and the record an object".into()));
    }
    if serde_json::to_vec(&h.record).map(|b| b.len()).unwrap_or(usize::MAX) > MAX_HANDOVER_BYTES {
        return Err(HubError::BadRequest(format!(
            "a hand-over's record is at most {} MB",
            MAX_HANDOVER_BYTES / 1_000_000
        )));
    }
    let target = hub
        .store
        .practices()
        .await?
        .into_iter()
        .find(|p| p.id == h.to_practice)
        .ok_or_else(|| HubError::NotFound(format!("there is no practice {} in this group", h.to_practice)))?;
    let node = server_node(hub.identity.server_id, target.id);
    let at = now_text();
    let hlc = (Utc::now().timestamp_millis().max(0) << 16) & i64::MAX;
    // The record as the sender built it, with the two practices named as the hub knows them.
    let mut body = h.record.clone();
    body["from_practice_name"] = json!(device.practice_name);
    body["to_practice_name"] = json!(target.name);
    let payload = json!({
        "from_practice": device.practice_id.to_string(),
        "to_practice": target.id.to_string(),
        "patient_id": h.patient_id.to_string(),
        "direction": "received",
        "body": body,
        "note": h.note,
        "at": at,
    });
    let (id, sent_by) = (h.id, h.sent_by);
    hub.store
        .append_own(target.id, node, move |node_seq| {
            Change {
                op_id: Uuid::now_v7(),
                node_id: node,
                node_seq,
                hlc,
                schema_version: HANDOVER_SCHEMA_VERSION,
                actor_id: sent_by,
                entity: "handover".into(),
                entity_id: id,
                kind: "create".into(),
                payload: payload.clone(),
                base: json!({}),
                content_hash: String::new(),
            }
            .sealed()
        })
        .await?;
    Ok(Json(HandoverSent { id: h.id, to_practice: target.id, to_practice_name: target.name }))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The description states the protocol version and the most changes in a push as numbers written
    /// in attributes: they must be this build's.
    #[test]
    fn the_description_names_the_protocol_this_build_speaks() {
        let doc: serde_json::Value = serde_json::from_str(&openapi_json()).unwrap();
        for message in ["Enrol", "Hello"] {
            let protocol = &doc["components"]["schemas"][message]["properties"]["protocol"];
            assert_eq!(protocol["minimum"], json!(PROTOCOL_VERSION), "{message}");
            assert_eq!(protocol["maximum"], json!(PROTOCOL_VERSION), "{message}");
        }
        assert_eq!(doc["components"]["schemas"]["Push"]["properties"]["changes"]["maxItems"], json!(MAX_BATCH));
        assert_eq!(doc["components"]["schemas"]["Push"]["properties"]["tips"]["maxItems"], json!(MAX_TIPS));
    }

    /// A device name is refused when it is all spaces as Rust's `trim` has them; the description's
    /// pattern (one character outside a class) must list exactly those characters.
    #[test]
    fn the_device_name_pattern_lists_the_spaces_the_hub_trims() {
        let doc: serde_json::Value = serde_json::from_str(&openapi_json()).unwrap();
        let pattern = doc["components"]["schemas"]["Enrol"]["properties"]["device_name"]["pattern"].as_str().unwrap();
        let class = pattern.strip_prefix("[^").and_then(|p| p.strip_suffix(']')).expect("a negated class");
        // The class's characters: `\t`, `\r`, `\uXXXX` or themselves, and ranges `a-b`.
        let mut chars = Vec::new();
        let mut rest = class;
        while !rest.is_empty() {
            let (c, after) = match rest.strip_prefix('\\') {
                Some(e) if e.starts_with('t') => ('\t', &e[1..]),
                Some(e) if e.starts_with('r') => ('\r', &e[1..]),
                Some(e) => (char::from_u32(u32::from_str_radix(&e[1..5], 16).unwrap()).unwrap(), &e[5..]),
                None => (rest.chars().next().unwrap(), &rest[rest.chars().next().unwrap().len_utf8()..]),
            };
            chars.push(c);
            rest = after;
        }
        let mut listed = std::collections::BTreeSet::new();
        let mut i = 0;
        while i < chars.len() {
            if chars.get(i + 1) == Some(&'-') && i + 2 < chars.len() {
                listed.extend(chars[i]..=chars[i + 2]);
                i += 3;
            } else {
                listed.insert(chars[i]);
                i += 1;
            }
        }
        let spaces: std::collections::BTreeSet<char> =
            (0..=0x10FFFF).filter_map(char::from_u32).filter(|c| c.is_whitespace()).collect();
        assert_eq!(listed, spaces);
    }

    #[test]
    fn a_date_is_written_yyyy_mm_dd_and_is_real() {
        for good in ["2026-12-02", "2024-02-29", "0001-01-01", "9999-12-31"] {
            assert!(is_date(good), "{good}");
        }
        for bad in [
            "",
            "2026-12-2",
            " 2024-1-01",
            "2024-01- 1",
            "+2024-1-01",
            "2023-02-29",
            "2026/12/02",
            "20261202xx",
            "٢٠٢٦-١٢-٠٢",
        ] {
            assert!(!is_date(bad), "{bad}");
        }
    }
}
