//! A bundle file carried by hand: any bytes read as a bundle (magic, manifest, signature, chunks).
//! The answer is the bundle or an error saying what is wrong with the file, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use lifeboat_protocol::bundle;

/// The passphrase the seed bundles were made with (see CONTRIBUTING.md, "Fuzzing").
const PASSPHRASE: &str = "fuzzing passphrase 1";

fuzz_target!(|data: &[u8]| {
    let _ = bundle::read_manifest(&mut &data[..]);
    if let Ok((_, changes)) = bundle::read(&mut &data[..], PASSPHRASE) {
        for change in &changes {
            assert!(change.is_intact(), "a bundle that reads gives only intact changes");
        }
    }
});
