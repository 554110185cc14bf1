//! A PMS export as the manager picks it: any bytes, as every kind of import, through the store's
//! preview (reading the whole file, recognising its columns, reading and checking its first rows). The
//! answer is a preview or an error about the file, never a panic or a fault.
#![no_main]

#[path = "common.rs"]
mod common;

use libfuzzer_sys::fuzz_target;
use lifeboat_core::import::columns::ImportKind;

fuzz_target!(|data: &[u8]| {
    let practice = &*common::PRACTICE;
    for kind in
        [ImportKind::Clients, ImportKind::Patients, ImportKind::Appointments, ImportKind::Products, ImportKind::History]
    {
        if let Err(e) = practice.store.preview_import(&practice.admin, kind, "export.csv", data, None) {
            assert!(common::is_expected(e.code()), "{kind:?}: {e}");
        }
    }
});
