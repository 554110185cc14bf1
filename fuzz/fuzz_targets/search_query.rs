//! What a receptionist types into search: any text searched for in a practice with clients. The
//! answer is a list (perhaps empty) or an error about the query, never a panic, a storage fault or a
//! query the database refuses to parse.
#![no_main]

#[path = "common.rs"]
mod common;

use libfuzzer_sys::fuzz_target;

fuzz_target!(|text: &str| {
    let practice = &*common::PRACTICE;
    match practice.store.search(&practice.admin, text, 20) {
        Ok(_) => {}
        Err(e) => assert!(common::is_expected(e.code()), "{text:?}: {e}"),
    }
});
