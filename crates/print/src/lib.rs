//! Printable documents as PDF: the day list, the dispensing label, the written prescription, the
//! back-entry worklist, the continuity pack and the payment receipt.
//! Built with printpdf's standard fonts (Helvetica, measured with its published widths so text wraps
//! and fits), so nothing is embedded and any PDF viewer prints them.
//!
//! Depends on the core's types only; it reads nothing and writes nothing itself: the caller hands it
//! the data and saves the bytes.

mod continuity;
mod day_list;
mod label;
mod page;
mod prescription;
mod receipt;
mod worklist;

pub use continuity::continuity_pack;
pub use day_list::day_list;
pub use label::{label, LABEL_H, LABEL_W};
pub use page::{Mark, DRILL_WORDS};
pub use prescription::prescription;
pub use receipt::receipt;
pub use worklist::worklist;

/// Shortens text to `max` characters with an ellipsis of dots.
fn fit(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        text.to_string()
    } else {
        format!("{}...", text.chars().take(max - 3).collect::<String>())
    }
}
