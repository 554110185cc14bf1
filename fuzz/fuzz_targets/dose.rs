//! Amounts on a prescription and prices on a charge: any text read as a quantity, a price in pence
//! and a VAT rate. A quantity that reads is written in figures and words that read back to it.
#![no_main]

use libfuzzer_sys::fuzz_target;
use lifeboat_core::clinical::quantity::Quantity;
use lifeboat_core::import::values;

fuzz_target!(|text: &str| {
    if let Ok(q) = Quantity::parse("quantity", text) {
        assert_eq!(Quantity::parse("quantity", &q.figures()).ok(), Some(q), "from {text:?}");
        assert!(q.matches_words(&q.words()), "{q:?} in words: {}", q.words());
    }
    let _ = values::pence(text);
    let _ = values::vat_rate_bp(text);
    let _ = values::cd_schedule(text);
});
