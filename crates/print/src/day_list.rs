//! The day list: for each clinician with appointments that day, a page (or more) listing them in
//! time order, with alerts, contact numbers and status, and the cancelled ones struck through at the
//! end.

use chrono::{DateTime, Utc};
use lifeboat_core::{Appointment, DayBook, Practice};

use crate::fit;
use crate::page::{save, Mark, Page};

const PAGE_W: f32 = 210.0;
const PAGE_H: f32 = 297.0;
const MARGIN: f32 = 15.0;
const ROW: f32 = 6.2;

/// The day list PDF; `printed_at` goes in the footer.
pub fn day_list(practice: &Practice, book: &DayBook, printed_at: DateTime<Utc>, mark: Mark) -> Vec<u8> {
    let pages = day_list_pages(practice, book, printed_at).into_iter().map(Page::finish).collect();
    save(&format!("Day list {}", book.date.format("%d/%m/%Y")), pages, mark)
}

/// The day list's pages, still open to add to (the continuity pack numbers them among its own).
pub(crate) fn day_list_pages(practice: &Practice, book: &DayBook, printed_at: DateTime<Utc>) -> Vec<Page> {
    let date = book.date.format("%A %-d %B %Y").to_string();
    let printed = lifeboat_core::time::to_local(printed_at).format("%d/%m/%Y %H:%M").to_string();
    let mut pages = Vec::new();
    for clinician in &book.clinicians {
        let mut mine: Vec<&Appointment> = book.appointments.iter().filter(|a| a.clinician_id == clinician.id).collect();
        if mine.is_empty() {
            continue;
        }
        // Active first in time order, then the cancelled and no-shows.
        mine.sort_by_key(|a| (!a.status.is_active(), a.starts_at));
        let rows_per_page = ((PAGE_H - 2.0 * MARGIN - 40.0) / ROW) as usize;
        let chunks: Vec<&[&Appointment]> = mine.chunks(rows_per_page).collect();
        for (i, chunk) in chunks.iter().enumerate() {
            let mut page = Page::new(PAGE_W, PAGE_H);
            page.text(MARGIN, PAGE_H - MARGIN - 4.0, 15.0, true, &format!("Day list - {}", clinician.name));
            page.text(MARGIN, PAGE_H - MARGIN - 11.0, 10.5, false, &date);
            page.text(PAGE_W - MARGIN - 70.0, PAGE_H - MARGIN - 4.0, 10.0, true, &practice.name);
            if let Some(p) = practice.premises.first() {
                page.text(PAGE_W - MARGIN - 70.0, PAGE_H - MARGIN - 9.0, 8.5, false, &format!("Tel. {}", p.phone));
            }
            let active = mine.iter().filter(|a| a.status.is_active()).count();
            page.text(MARGIN, PAGE_H - MARGIN - 17.0, 9.0, false, &format!("{active} appointments"));
            let mut y = PAGE_H - MARGIN - 27.0;
            let columns = [
                (MARGIN, "Time"),
                (MARGIN + 21.0, "Patient"),
                (MARGIN + 66.0, "Client"),
                (MARGIN + 104.0, "Phone"),
                (MARGIN + 128.0, "Type / reason"),
                (MARGIN + 163.0, "Status"),
            ];
            for (x, label) in columns {
                page.text(x, y, 8.5, true, label);
            }
            page.rule(MARGIN, PAGE_W - MARGIN, y - 1.8);
            y -= ROW;
            for a in chunk.iter() {
                let dim = !a.status.is_active();
                let time = format!("{}-{}", a.start_local.format("%H:%M"), a.end_local.format("%H:%M"));
                let alerts = if a.alerts.is_empty() { String::new() } else { format!(" ! {}", a.alerts.join(", ")) };
                let patient = format!("{} ({}){alerts}", a.patient_name, a.species.label());
                let client = a.client_name.clone();
                let what = if a.reason.is_empty() {
                    a.kind.label().to_string()
                } else {
                    format!("{}: {}", a.kind.label(), a.reason)
                };
                page.shade(dim);
                page.text(MARGIN, y, 8.5, false, &time);
                page.text(MARGIN + 21.0, y, 8.5, !a.alerts.is_empty(), &fit(&patient, 28));
                page.text(MARGIN + 66.0, y, 8.5, false, &fit(&client, 24));
                page.text(MARGIN + 104.0, y, 8.5, false, &a.client_phone);
                page.text(MARGIN + 128.0, y, 8.5, false, &fit(&what, 22));
                page.text(MARGIN + 163.0, y, 8.5, false, a.status.label());
                page.shade(false);
                page.rule(MARGIN, PAGE_W - MARGIN, y - 2.0);
                y -= ROW;
            }
            let footer = format!(
                "Printed {printed} from Lifeboat  -  {}  -  page {} of {}",
                clinician.name,
                i + 1,
                chunks.len()
            );
            page.text(MARGIN, MARGIN - 5.0, 7.5, false, &footer);
            pages.push(page);
        }
    }
    if pages.is_empty() {
        let mut page = Page::new(PAGE_W, PAGE_H);
        page.text(MARGIN, PAGE_H - MARGIN - 4.0, 15.0, true, "Day list");
        page.text(MARGIN, PAGE_H - MARGIN - 11.0, 10.5, false, &date);
        page.text(MARGIN, PAGE_H - MARGIN - 25.0, 10.0, false, "No appointments are booked for this day.");
        pages.push(page);
    }
    pages
}
