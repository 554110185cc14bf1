//! The back-entry worklist: every record made or changed during the outage that is not yet entered
//! in the PMS, grouped by animal (a client's own record under the client), each with a tick box, what
//! it is, who made it, its Lifeboat id and a space for the number the PMS gives it. A4 portrait.

use chrono::{DateTime, Utc};
use lifeboat_core::ledger::Worklist;

use crate::page::{save, wrap, Mark, Page};

const PAGE_W: f32 = 210.0;
const PAGE_H: f32 = 297.0;
const MARGIN: f32 = 14.0;
const LINE: f32 = 4.2;
const SIZE: f32 = 8.5;
/// Where each column starts.
const TICK: f32 = MARGIN;
const DAY: f32 = MARGIN + 7.0;
const KIND: f32 = MARGIN + 24.0;
const WHAT: f32 = MARGIN + 54.0;
const WHAT_W: f32 = 76.0;
const WHO: f32 = MARGIN + 134.0;
const PMS: f32 = MARGIN + 160.0;

/// The worklist PDF; `printed_at` goes in the footer.
pub fn worklist(list: &Worklist, printed_at: DateTime<Utc>, mark: Mark) -> Vec<u8> {
    let began = lifeboat_core::time::to_local(list.outage_began).format("%d/%m/%Y %H:%M").to_string();
    let printed = lifeboat_core::time::to_local(printed_at).format("%d/%m/%Y %H:%M").to_string();
    let mut pages: Vec<Page> = Vec::new();
    let new_page = |pages: &mut Vec<Page>| -> f32 {
        let mut page = Page::new(PAGE_W, PAGE_H);
        page.text(MARGIN, PAGE_H - MARGIN - 4.0, 14.0, true, "Back-entry worklist");
        page.text(PAGE_W - MARGIN - 70.0, PAGE_H - MARGIN - 4.0, 10.0, true, &list.practice);
        page.text(
            MARGIN,
            PAGE_H - MARGIN - 10.5,
            9.0,
            false,
            &format!(
                "{} records made or changed since the outage began ({began}) and not yet entered in the PMS. Tick each as you enter it.",
                list.records
            ),
        );
        let top = PAGE_H - MARGIN - 19.0;
        for (x, label) in [(DAY, "Day"), (KIND, "Kind"), (WHAT, "Record"), (WHO, "By"), (PMS, "PMS no.")] {
            page.text(x, top, 8.0, true, label);
        }
        page.rule(MARGIN, PAGE_W - MARGIN, top - 1.8);
        pages.push(page);
        top - 7.0
    };
    let mut y = new_page(&mut pages);
    if list.groups.is_empty() {
        pages[0].text(MARGIN, y, 10.0, false, "Nothing is waiting: every record of the backlog is entered in the PMS.");
    }
    for group in &list.groups {
        // A group starts on a new page when its title and first record would not fit.
        if y < MARGIN + 22.0 {
            y = new_page(&mut pages);
        }
        let page = pages.last_mut().expect("a page");
        page.text(MARGIN, y, 10.0, true, &group.title);
        y -= LINE + 1.6;
        for e in &group.entries {
            let what = wrap(&e.summary, SIZE, true, WHAT_W);
            let height = (what.len().max(1) as f32 + 1.0) * LINE + 1.5;
            if y - height < MARGIN + 4.0 {
                y = new_page(&mut pages);
                let page = pages.last_mut().expect("a page");
                page.text(MARGIN, y, 10.0, true, &format!("{} (continued)", group.title));
                y -= LINE + 1.6;
            }
            let page = pages.last_mut().expect("a page");
            page.tick_box(TICK, y - 0.6, 3.6);
            page.text(DAY, y, SIZE, false, &e.day.format("%d/%m/%Y").to_string());
            page.text(KIND, y, SIZE, false, &e.kind);
            // New in the PMS, or an update of the PMS record with this number.
            let what_to_do = match (&e.record_pms_id, e.is_new) {
                (Some(n), false) => format!("update no. {n}"),
                (_, false) => "update".to_string(),
                (_, true) => "new".to_string(),
            };
            page.shade(true);
            page.text(KIND, y - LINE, 7.0, false, &crate::fit(&what_to_do, 18));
            page.shade(false);
            for (i, line) in what.iter().enumerate() {
                page.text(WHAT, y - i as f32 * LINE, SIZE, i == 0, line);
            }
            page.text(WHO, y, SIZE, false, &crate::fit(&e.clinician, 14));
            page.rule(PMS, PAGE_W - MARGIN, y - 0.8);
            let note = if e.changed_since_marked { "  (changed since it was marked)" } else { "" };
            page.shade(true);
            page.text(WHAT, y - what.len() as f32 * LINE, 6.5, false, &format!("Lifeboat id {}{note}", e.id));
            page.shade(false);
            y -= height;
            page.rule(MARGIN, PAGE_W - MARGIN, y + LINE - 1.2);
        }
        y -= 2.0;
    }
    let count = pages.len();
    let pages = pages
        .into_iter()
        .enumerate()
        .map(|(i, mut page)| {
            let footer = format!("Printed {printed} from Lifeboat  -  page {} of {count}", i + 1);
            page.text(MARGIN, MARGIN - 6.0, 7.5, false, &footer);
            page.finish()
        })
        .collect();
    save("Back-entry worklist", pages, mark)
}
