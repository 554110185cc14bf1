//! Telephone numbers in any form people write them, and the other contact details checked with them.
//! A number that reads is written in a form that reads back to itself.
#![no_main]

use libfuzzer_sys::fuzz_target;
use lifeboat_core::validate;

fuzz_target!(|text: &str| {
    if let Ok(phone) = validate::uk_phone("phone", text) {
        assert_eq!(validate::uk_phone("phone", &phone).ok().as_deref(), Some(phone.as_str()), "from {text:?}");
    }
    if let Ok(postcode) = validate::postcode("postcode", text) {
        assert_eq!(validate::postcode("postcode", &postcode).ok().as_deref(), Some(postcode.as_str()), "from {text:?}");
    }
    let _ = validate::email("email", text);
    let _ = validate::microchip("microchip", text);
    let _ = validate::required("name", text, 80);
    let _ = validate::optional_multiline("notes", text, 4000);
});
