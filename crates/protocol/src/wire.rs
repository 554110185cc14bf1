//! The messages of the sync protocol, version 1 (SYNC.md, "Protocol"). Every request but enrolment
//! carries the device's credential (`Authorization: Bearer <token>`); the practice a request is about
//! comes from that credential, never from the request body.
//!
//! | Request                    | Body          | Reply            |
//! |----------------------------|---------------|------------------|
//! | `POST /v1/enrol`           | `Enrol`       | `Enrolled`       |
//! | `POST /v1/hello`           | `Hello`       | `HelloReply`     |
//! | `POST /v1/push`            | `Push`        | `PushReply`      |
//! | `POST /v1/pull`            | `Pull`        | `PullPage`       |
//! | `POST /v1/verify`          | `Verify`      | `VerifyReply`    |
//! | `POST /v1/audit-head`      | `AuditHead`   | `Receipt`        |
//! | `GET /v1/practices`        |               | `Vec<PracticeInfo>` |
//! | `POST /v1/handover`        | `HandoverOut` | `HandoverSent`   |
//!
//! Errors come back with a 4xx or 5xx status and an `ErrorBody`.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use uuid::Uuid;

use crate::change::Change;

/// The protocol version this build speaks.
pub const PROTOCOL_VERSION: u32 = 1;

/// The schema version the hub stamps on the changes it writes itself (received hand-overs): the
/// first schema that has hand-overs.
pub const HANDOVER_SCHEMA_VERSION: u32 = 5;

/// The most changes in one push or one page of a pull.
pub const MAX_BATCH: u32 = 2000;

/// The most tips in one push.
pub const MAX_TIPS: usize = 10_000;

/// The largest request body a server accepts, in bytes.
pub const MAX_BODY_BYTES: usize = 16 * 1024 * 1024;

/// A push, or a page of a pull, stops adding changes once their bodies reach about this many bytes
/// (always carrying at least one): a few lab results with their files fill a page long before
/// `MAX_BATCH` small changes do, and the request must stay under `MAX_BODY_BYTES`.
pub const PAGE_BYTES: usize = 8 * 1024 * 1024;

#[cfg(feature = "openapi")]
use utoipa::ToSchema;

/// Joining a server with a one-time code from its operator.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Enrol {
    /// The protocol version the device speaks (this server: `PROTOCOL_VERSION`).
    #[serde(deserialize_with = "crate::whole::u32")]
    #[cfg_attr(feature = "openapi", schema(minimum = 1, maximum = 1))]
    pub protocol: u32,
    /// The one-time enrolment code.
    pub code: String,
    /// What the device is called in the server's list of devices ("Reception PC"): 1 to 100
    /// characters, not all spaces (the pattern lists Unicode's White_Space, what the hub trims).
    #[cfg_attr(
        feature = "openapi",
        schema(
            min_length = 1,
            max_length = 100,
            pattern = r"[^\t-\r \u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]"
        )
    )]
    pub device_name: String,
    /// The node id of the database on the device.
    #[serde(deserialize_with = "crate::id::uuid")]
    pub node_id: Uuid,
}

/// The device's credential, given once.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Enrolled {
    pub device_id: Uuid,
    /// The device's bearer token. Shown once; the server keeps only its hash.
    pub token: String,
    pub practice_id: Uuid,
    pub practice_name: String,
    pub server_id: Uuid,
    /// The server's public key (Ed25519, hex) that signs audit receipts.
    pub server_key: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Hello {
    /// The protocol version the device speaks (this server: `PROTOCOL_VERSION`).
    #[serde(deserialize_with = "crate::whole::u32")]
    #[cfg_attr(feature = "openapi", schema(minimum = 1, maximum = 1))]
    pub protocol: u32,
    /// The version of the app, for the server's list of devices (at most 40 characters).
    #[cfg_attr(feature = "openapi", schema(max_length = 40))]
    pub app_version: String,
}

/// The highest node sequence number a server holds for one node.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Mark {
    pub node_id: Uuid,
    pub seq: i64,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[serde(deny_unknown_fields)]
pub struct HelloReply {
    pub protocol: u32,
    pub server_id: Uuid,
    /// Changes whenever the server's store is new (reset, or replaced): a client's pull cursor from
    /// another epoch means nothing here.
    pub epoch: Uuid,
    pub practice_id: Uuid,
    pub practice_name: String,
    pub device_id: Uuid,
    /// What the server holds, per node: the client pushes everything after these.
    pub marks: Vec<Mark>,
    /// The practice's last sequence number on the server.
    pub last_seq: i64,
    /// The server's clock (`YYYY-MM-DDTHH:MM:SS.mmmZ`).
    pub time: String,
    /// The last receipt the server signed for this device's audit chain.
    pub receipt: Option<Receipt>,
}

/// Changes for the server, in node-sequence order per node. `tips` names, for each node whose changes
/// do not start at 1, the change just before the first one sent: the server refuses the push when it
/// holds another change there (the sender's history of that node differs from its own: a database
/// put back from an older copy), instead of continuing one history with another's changes.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Push {
    /// At most `MAX_BATCH` (2,000).
    #[cfg_attr(feature = "openapi", schema(max_items = 2000))]
    pub changes: Vec<Change>,
    /// At most `MAX_TIPS` (10,000).
    #[cfg_attr(feature = "openapi", schema(max_items = 10000))]
    pub tips: Vec<Tip>,
}

/// A node's change at one sequence number.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Tip {
    #[serde(deserialize_with = "crate::id::uuid")]
    pub node_id: Uuid,
    #[serde(deserialize_with = "crate::whole::i64")]
    pub seq: i64,
    #[serde(deserialize_with = "crate::id::uuid")]
    pub op_id: Uuid,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[serde(deny_unknown_fields)]
pub struct PushReply {
    /// Changes new to the server.
    pub stored: u32,
    /// Changes it already held (identical).
    pub duplicates: u32,
    pub last_seq: i64,
}

/// The next page of the practice's changes after `after`. `after_op` is the change the client last
/// received (at `after`): when the server holds another change there, its history is not the one
/// the client paged through (it was restored from a backup), and it answers `cursor_unknown`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Pull {
    /// The practice sequence number pulled up to (0 at the start).
    #[serde(deserialize_with = "crate::whole::i64")]
    #[cfg_attr(feature = "openapi", schema(minimum = 0))]
    pub after: i64,
    #[serde(default, deserialize_with = "crate::id::option_uuid")]
    pub after_op: Option<Uuid>,
    /// The most changes wanted in the page; the server sends 1 to `MAX_BATCH` (2,000) whatever is asked.
    #[serde(deserialize_with = "crate::whole::u32")]
    #[cfg_attr(feature = "openapi", schema(value_type = u64, minimum = 0, maximum = 4294967295_u64))]
    pub limit: u32,
}

/// A change with the practice sequence number the server gave it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Sequenced {
    pub seq: i64,
    pub change: Change,
}

/// A page of changes, in sequence order. An empty page ends the pull.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[serde(deny_unknown_fields)]
pub struct PullPage {
    pub changes: Vec<Sequenced>,
    pub last_seq: i64,
}

/// How many changes a node holds whose clock falls on one UTC day, and a hash of their op ids.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[serde(deny_unknown_fields)]
pub struct DaySummary {
    /// `YYYY-MM-DD`.
    pub day: String,
    #[serde(deserialize_with = "crate::whole::count")]
    pub count: u64,
    /// SHA-256 (hex) of the day's op ids, sorted, one per line.
    pub hash: String,
}

impl DaySummary {
    /// The summary of one day's op ids (in any order).
    pub fn of(day: &str, op_ids: &mut [Uuid]) -> DaySummary {
        use sha2::{Digest, Sha256};
        op_ids.sort();
        let mut hasher = Sha256::new();
        for id in op_ids.iter() {
            hasher.update(id.to_string().as_bytes());
            hasher.update(b"\n");
        }
        DaySummary { day: day.to_string(), count: op_ids.len() as u64, hash: hex::encode(hasher.finalize()) }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Verify {
    /// At most 100,000 days.
    #[cfg_attr(feature = "openapi", schema(max_items = 100000))]
    pub days: Vec<DaySummary>,
    /// Only days before this one (`YYYY-MM-DD`, the client's today) are compared: later changes may
    /// still be on their way.
    #[cfg_attr(feature = "openapi", schema(format = Date))]
    pub before: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[serde(deny_unknown_fields)]
pub struct VerifyReply {
    /// Days on which the server holds other changes than the client (either side may lack some).
    pub differing: Vec<String>,
}

/// The head of a node's audit chain, for the server to sign.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[serde(deny_unknown_fields)]
pub struct AuditHead {
    #[serde(deserialize_with = "crate::id::uuid")]
    pub node_id: Uuid,
    #[serde(deserialize_with = "crate::whole::i64")]
    #[cfg_attr(feature = "openapi", schema(minimum = 0))]
    pub audit_seq: i64,
    /// SHA-256, in hex.
    #[cfg_attr(feature = "openapi", schema(pattern = "^[0-9a-fA-F]{64}$"))]
    pub head_hash: String,
}

/// The server's signed statement that a node's audit chain had this head at this time: an audit log
/// later cut short or rewritten no longer matches it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Receipt {
    pub node_id: Uuid,
    pub audit_seq: i64,
    pub head_hash: String,
    pub signed_at: String,
    /// The server's public key (Ed25519, hex).
    pub server_key: String,
    /// Ed25519 signature (hex) of `signed_text()`.
    pub signature: String,
}

impl Receipt {
    /// The exact bytes the signature covers.
    pub fn signed_text(&self) -> String {
        format!(
            "lifeboat-receipt-1\nnode={}\naudit_seq={}\nhead={}\nsigned_at={}\n",
            self.node_id, self.audit_seq, self.head_hash, self.signed_at
        )
    }
}

/// A practice of the group, as a hand-over's destination.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[serde(deny_unknown_fields)]
pub struct PracticeInfo {
    pub id: Uuid,
    pub name: String,
}

/// One patient's record sent to another practice of the group.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[serde(deny_unknown_fields)]
pub struct HandoverOut {
    /// The hand-over's id (the sending practice's journal records it under this id).
    #[serde(deserialize_with = "crate::id::uuid")]
    pub id: Uuid,
    #[serde(deserialize_with = "crate::id::uuid")]
    pub to_practice: Uuid,
    #[serde(deserialize_with = "crate::id::uuid")]
    pub patient_id: Uuid,
    /// Who sent it.
    #[serde(deserialize_with = "crate::id::uuid")]
    pub sent_by: Uuid,
    /// The record: owner, animal, clinical history, active prescriptions.
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub record: Value,
    /// At most 1,000 characters.
    #[cfg_attr(feature = "openapi", schema(max_length = 1000))]
    pub note: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[serde(deny_unknown_fields)]
pub struct HandoverSent {
    pub id: Uuid,
    pub to_practice: Uuid,
    pub to_practice_name: String,
}

/// What went wrong with a request.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[serde(deny_unknown_fields)]
pub struct ErrorBody {
    /// `bad_request`, `too_large`, `unauthorized`, `forbidden`, `not_found`, `refused`,
    /// `cursor_unknown`, `rate_limited`, `unsupported_version` or `internal`.
    pub code: String,
    pub message: String,
}

/// A bundle file's manifest: which changes it holds and how to check them. The file is the
/// manifest, then the chunks, each compressed and encrypted (see `lifeboat-sync`'s `bundle`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BundleManifest {
    pub format: u32,
    pub practice_id: Uuid,
    /// The node that made the bundle.
    pub source_node: Uuid,
    pub created_at: String,
    /// The changes it holds, per node: sequence numbers `first..=last`.
    pub ranges: Vec<BundleRange>,
    pub chunks: Vec<BundleChunk>,
    /// The public key (Ed25519, hex) of the node that signed it.
    pub signer_key: String,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BundleRange {
    pub node_id: Uuid,
    pub first: i64,
    pub last: i64,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BundleChunk {
    pub changes: u32,
    /// Length in bytes of the encrypted chunk in the file.
    pub bytes: u64,
    /// SHA-256 (hex) of the chunk's nonce and compressed content (the encryption's tag binds the
    /// ciphertext to them).
    pub sha256: String,
}
