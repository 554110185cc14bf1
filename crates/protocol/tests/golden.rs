//! Golden files freeze the wire encoding: each message below, serialised, must equal its file in
//! `tests/golden`, and each file must read back to the same message. A difference is a change to the
//! protocol: make it a new protocol version, never an edit of a file here. (`UPDATE_GOLDEN=1` writes
//! the files, for a new message only.)

use lifeboat_protocol::*;
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::json;
use uuid::Uuid;

fn id(n: u128) -> Uuid {
    Uuid::from_u128(0x018f_0000_0000_7000_8000_0000_0000_0000 | n)
}

fn change() -> Change {
    Change {
        op_id: id(1),
        node_id: id(0xaa),
        node_seq: 7,
        hlc: 116_312_891_392_000_003,
        schema_version: 5,
        actor_id: id(0xbb),
        entity: "client".into(),
        entity_id: id(0xcc),
        kind: "update".into(),
        payload: json!({ "phone": "07700 900461", "last_name": "Quillfeather" }),
        base: json!({ "phone": [116_312_000_000_000_000_i64, id(0xdd).to_string()] }),
        content_hash: String::new(),
    }
    .sealed()
}

fn receipt() -> Receipt {
    Receipt {
        node_id: id(0xaa),
        audit_seq: 42,
        head_hash: "9f".repeat(32),
        signed_at: "2026-03-29T08:30:00.000Z".into(),
        server_key: "ab".repeat(32),
        signature: "cd".repeat(64),
    }
}

fn check<T: Serialize + DeserializeOwned + PartialEq + std::fmt::Debug>(name: &str, value: &T) {
    let path = manifest_dir().join("tests/golden").join(format!("{name}.json"));
    let text = serde_json::to_string_pretty(value).unwrap() + "\n";
    if std::env::var_os("UPDATE_GOLDEN").is_some() && !path.exists() {
        std::fs::write(&path, &text).unwrap();
    }
    let golden = std::fs::read_to_string(&path).unwrap_or_else(|_| panic!("{} is missing", path.display()));
    assert_eq!(text, golden.replace("\r\n", "\n"), "{name}: the encoding changed");
    let back: T = serde_json::from_str(&golden).unwrap();
    assert_eq!(&back, value, "{name}: the file does not read back");
}

#[test]
fn the_content_hash_of_the_golden_change_is_frozen() {
    assert_eq!(
        change().content_hash,
        std::fs::read_to_string(manifest_dir().join("tests/golden/change.hash")).unwrap().trim()
    );
}

#[test]
fn messages_match_their_golden_files() {
    check("change", &change());
    check(
        "enrol",
        &Enrol {
            protocol: PROTOCOL_VERSION,
            code: "K7QXM2PD9TRAF4HZ".into(),
            device_name: "Reception PC".into(),
            node_id: id(0xaa),
        },
    );
    check(
        "enrolled",
        &Enrolled {
            device_id: id(0xde),
            token: "f0".repeat(32),
            practice_id: id(0x01),
            practice_name: "Kingfisher Vets".into(),
            server_id: id(0x5e),
            server_key: "ab".repeat(32),
        },
    );
    check("hello", &Hello { protocol: PROTOCOL_VERSION, app_version: "0.1.0".into() });
    check(
        "hello_reply",
        &HelloReply {
            protocol: PROTOCOL_VERSION,
            server_id: id(0x5e),
            epoch: id(0xe0),
            practice_id: id(0x01),
            practice_name: "Kingfisher Vets".into(),
            device_id: id(0xde),
            marks: vec![Mark { node_id: id(0xaa), seq: 7 }],
            last_seq: 120,
            time: "2026-03-29T08:30:00.000Z".into(),
            receipt: Some(receipt()),
        },
    );
    check("push", &Push { changes: vec![change()], tips: vec![Tip { node_id: id(0xaa), seq: 6, op_id: id(0x66) }] });
    check("push_reply", &PushReply { stored: 1, duplicates: 0, last_seq: 121 });
    check("pull", &Pull { after: 120, after_op: Some(id(0x77)), limit: 500 });
    check("pull_page", &PullPage { changes: vec![Sequenced { seq: 121, change: change() }], last_seq: 121 });
    let mut ops = vec![id(2), id(1)];
    check("verify", &Verify { days: vec![DaySummary::of("2026-03-29", &mut ops)], before: "2026-03-30".into() });
    check("verify_reply", &VerifyReply { differing: vec!["2026-03-29".into()] });
    check("audit_head", &AuditHead { node_id: id(0xaa), audit_seq: 42, head_hash: "9f".repeat(32) });
    check("receipt", &receipt());
    check("practices", &vec![PracticeInfo { id: id(0x02), name: "Heronsgate Out of Hours".into() }]);
    check(
        "handover",
        &HandoverOut {
            id: id(0x4a),
            to_practice: id(0x02),
            patient_id: id(0x9a),
            sent_by: id(0xbb),
            record: json!({ "patient": { "name": "Pepper" } }),
            note: "Seen for vomiting; please recheck tonight".into(),
        },
    );
    check(
        "handover_sent",
        &HandoverSent { id: id(0x4a), to_practice: id(0x02), to_practice_name: "Heronsgate Out of Hours".into() },
    );
    check("error", &ErrorBody { code: "forbidden".into(), message: "this device has been revoked".into() });
    check(
        "bundle_manifest",
        &BundleManifest {
            format: 1,
            practice_id: id(0x01),
            source_node: id(0xaa),
            created_at: "2026-03-29T08:30:00.000Z".into(),
            ranges: vec![BundleRange { node_id: id(0xaa), first: 1, last: 7 }],
            chunks: vec![BundleChunk { changes: 7, bytes: 1024, sha256: "9f".repeat(32) }],
            signer_key: "ab".repeat(32),
        },
    );
    assert_eq!(
        receipt().signed_text(),
        format!(
            "lifeboat-receipt-1\nnode={}\naudit_seq=42\nhead={}\nsigned_at=2026-03-29T08:30:00.000Z\n",
            id(0xaa),
            "9f".repeat(32)
        )
    );
}

/// Unknown fields are refused, not ignored: a message from a newer protocol must not be half-read.
#[test]
fn unknown_fields_are_refused() {
    let mut value = serde_json::to_value(change()).unwrap();
    value["extra"] = json!(1);
    let err = serde_json::from_value::<Change>(value).unwrap_err();
    assert!(err.to_string().contains("unknown field `extra`"), "{err}");
}

/// The package's folder, as Cargo names it when it runs this (the compile-time one as a fallback): a
/// build shared between two checkouts (CI's clone and a working copy) must read the files of the
/// checkout it runs in.
fn manifest_dir() -> std::path::PathBuf {
    std::env::var_os("CARGO_MANIFEST_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| env!("CARGO_MANIFEST_DIR").into())
}

/// A whole bundle file, frozen: the file in `tests/golden` (signed, encrypted with the passphrase
/// below) must still read, to the golden change. It is also the fuzzer's seed for bundle import
/// (`fuzz/`), which reads it with the same passphrase. A bundle holds random salts and nonces, so the
/// file is compared by what it reads back to, not byte for byte.
#[test]
fn a_golden_bundle_file_still_reads() {
    const PASSPHRASE: &str = "fuzzing passphrase 1";
    let path = manifest_dir().join("tests/golden/bundle.lbb");
    if std::env::var_os("UPDATE_GOLDEN").is_some() && !path.exists() {
        let mut out = Vec::new();
        bundle::write(&mut out, id(0x01), id(0xaa), "2026-03-29T08:30:00.000Z", &[change()], &[7u8; 32], PASSPHRASE)
            .unwrap();
        std::fs::write(&path, out).unwrap();
    }
    let bytes = std::fs::read(&path).unwrap_or_else(|_| panic!("{} is missing", path.display()));
    let (manifest, changes) = bundle::read(&mut &bytes[..], PASSPHRASE).unwrap();
    assert_eq!((manifest.practice_id, manifest.source_node, changes), (id(0x01), id(0xaa), vec![change()]));
    assert!(bundle::read(&mut &bytes[..], "not the passphrase").is_err());
}
