//! A bundle file carried by hand: any bytes read as a bundle (magic, manifest, signature, chunks).
//! The answer is the bundle or an error saying what is wrong with the file, never a panic. The
//! signature and encryption keep mutated bytes from reaching what is inside, so the target also takes
//! the bytes as a list of changes (JSON), seals them into a real bundle and reads it back: every change
//! that went in comes out, byte for byte the same.
#![no_main]

use libfuzzer_sys::fuzz_target;
use lifeboat_protocol::{bundle, Change};

/// The passphrase the seed bundles were made with (see CONTRIBUTING.md, "Fuzzing").
const PASSPHRASE: &str = "fuzzing passphrase 1";

fuzz_target!(|data: &[u8]| {
    let _ = bundle::read_manifest(&mut &data[..]);
    let _ = bundle::read(&mut &data[..], PASSPHRASE);
    if let Ok(changes) = serde_json::from_slice::<Vec<Change>>(data) {
        let changes: Vec<Change> = changes.into_iter().map(Change::sealed).collect();
        let (practice, node) = (uuid::Uuid::from_u128(1), uuid::Uuid::from_u128(2));
        let mut file = Vec::new();
        if bundle::write(&mut file, practice, node, "2026-03-29T08:30:00.000Z", &changes, &[7u8; 32], PASSPHRASE)
            .is_ok()
        {
            let (manifest, read) = bundle::read(&mut &file[..], PASSPHRASE).expect("a bundle just written reads");
            assert_eq!((manifest.practice_id, read), (practice, changes), "what went in comes out");
        }
    }
});
