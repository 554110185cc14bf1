//! Read models: what each screen shows, assembled from the entity modules below. Nothing here
//! writes practice data (the continuity pack keeps its PDFs in a table of this PC's own), and no
//! entity module depends on a view, so there are no import circles.

pub mod backlog;
pub mod client_page;
pub mod consult_room;
pub mod continuity;
pub mod day_book;
pub mod documents;
pub mod history;
pub mod patient_page;
pub mod reference;
pub mod search;
pub mod sync_status;
