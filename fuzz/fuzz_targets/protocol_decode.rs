//! What a peer sends: any bytes decoded as each of the sync protocol's messages. A change that
//! decodes hashes without panicking, and the canonical encoding of any JSON value reads back as the
//! same value and encodes to the same text again.
#![no_main]

use libfuzzer_sys::fuzz_target;
use lifeboat_protocol::change::Change;
use lifeboat_protocol::{canonical, wire};

fn decodes<T: serde::de::DeserializeOwned>(data: &[u8]) -> Option<T> {
    serde_json::from_slice(data).ok()
}

fuzz_target!(|data: &[u8]| {
    let _ = decodes::<wire::Enrol>(data);
    let _ = decodes::<wire::Hello>(data);
    let _ = decodes::<wire::HelloReply>(data);
    let _ = decodes::<wire::PushReply>(data);
    let _ = decodes::<wire::Pull>(data);
    let _ = decodes::<wire::Verify>(data);
    let _ = decodes::<wire::VerifyReply>(data);
    let _ = decodes::<wire::Receipt>(data).map(|r| r.signed_text());
    let _ = decodes::<wire::HandoverOut>(data);
    let _ = decodes::<wire::BundleManifest>(data);
    if let Some(push) = decodes::<wire::Push>(data) {
        for change in &push.changes {
            let _ = change.is_intact();
        }
    }
    if let Some(page) = decodes::<wire::PullPage>(data) {
        for sequenced in &page.changes {
            let _ = sequenced.change.is_intact();
        }
    }
    if let Some(change) = decodes::<Change>(data) {
        let _ = change.computed_hash();
        let _ = change.day();
        let _ = change.redacted();
    }
    if let Some(value) = decodes::<serde_json::Value>(data) {
        let text = canonical::json(&value);
        let again: serde_json::Value = serde_json::from_str(&text).expect("the canonical encoding is JSON");
        assert_eq!(canonical::json(&again), text, "the canonical encoding is stable");
    }
});
