//! What a peer sends: any bytes decoded as each of the sync protocol's messages. A change that
//! decodes is intact or not the same way after it is sent on (encoded and decoded again, as a relay
//! does), and the canonical encoding of any JSON value reads back as the same value and encodes to the
//! same text again.
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
        let sent_on: Change =
            serde_json::from_slice(&serde_json::to_vec(&change).unwrap()).expect("a change reads back");
        assert_eq!(sent_on.computed_hash(), change.computed_hash(), "a change sent on keeps its content hash");
        assert_eq!(sent_on.is_intact(), change.is_intact());
        let _ = change.day();
        let _ = change.redacted();
    }
    if let Some(value) = decodes::<serde_json::Value>(data) {
        let text = canonical::json(&value);
        let again: serde_json::Value = serde_json::from_str(&text).expect("the canonical encoding is JSON");
        assert_eq!(canonical::json(&again), text, "the canonical encoding is stable");
    }
});
