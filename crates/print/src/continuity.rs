//! The continuity pack: one A4 PDF to print every evening, so that a practice whose PCs fail too
//! still has paper for the next working day. A cover saying what it holds and how to keep it; the day
//! lists (one per clinician, as `day_list` prints them); a safety sheet per animal booked in the next
//! days; the prescriptions still active; the controlled drugs balances; the staff and how to reach
//! them. Every page says what it is, for which day, and when it was made.

use chrono::{DateTime, Utc};
use lifeboat_core::views::continuity::{ContinuityPack, SafetySheet, SHEET_DAYS};
use printpdf::PdfPage;

use crate::day_list::day_list_pages;
use crate::page::{save, wrap, Mark, Page};

const PAGE_W: f32 = 210.0;
const PAGE_H: f32 = 297.0;
const MARGIN: f32 = 15.0;

/// Text laid out top to bottom over as many pages as it takes, each with the pack's heading.
struct Flow {
    pages: Vec<Page>,
    y: f32,
    heading: String,
    section: String,
    /// What a block that runs onto the next page says there first ("Pepper (cont.)").
    carry: Option<String>,
}

impl Flow {
    fn new(heading: String) -> Flow {
        Flow { pages: Vec::new(), y: 0.0, heading, section: String::new(), carry: None }
    }

    fn page(&mut self) -> &mut Page {
        if self.pages.is_empty() {
            self.new_page();
        }
        self.pages.last_mut().expect("a page")
    }

    fn new_page(&mut self) {
        let mut page = Page::new(PAGE_W, PAGE_H);
        page.text(MARGIN, PAGE_H - MARGIN + 2.0, 8.0, false, &self.heading);
        page.rule(MARGIN, PAGE_W - MARGIN, PAGE_H - MARGIN);
        self.pages.push(page);
        self.y = PAGE_H - MARGIN - 8.0;
        if !self.section.is_empty() {
            let (section, y) = (self.section.clone(), self.y);
            self.page().text(MARGIN, y, 14.0, true, &section);
            self.y -= 9.0;
        }
        if let Some(carry) = self.carry.clone() {
            let y = self.y;
            self.page().text(MARGIN, y, 10.0, true, &carry);
            self.y -= 5.5;
        }
    }

    /// Starts a section on a new page.
    fn section(&mut self, title: &str) {
        self.section = title.to_string();
        self.new_page();
    }

    /// Makes sure `height` mm are left on the page, else goes on to the next.
    fn need(&mut self, height: f32) {
        if self.pages.is_empty() || self.y - height < MARGIN + 6.0 {
            self.new_page();
        }
    }

    fn line(&mut self, x: f32, size: f32, bold: bool, text: &str) {
        let step = size * 0.5;
        self.need(step);
        let y = self.y;
        self.page().text(x, y, size, bold, text);
        self.y -= step;
    }

    fn wrapped(&mut self, x: f32, size: f32, bold: bool, text: &str) {
        for line in wrap(text, size, bold, PAGE_W - MARGIN - x) {
            self.line(x, size, bold, &line);
        }
    }

    fn gap(&mut self, mm: f32) {
        self.y -= mm;
    }

    fn rule(&mut self) {
        self.need(3.0);
        let y = self.y + 2.0;
        self.page().rule(MARGIN, PAGE_W - MARGIN, y);
        self.y -= 2.0;
    }
}

fn sheet(flow: &mut Flow, s: &SafetySheet) {
    let p = &s.patient;
    // A sheet starts where most of it fits.
    flow.need(60.0);
    let mut title = format!("{} ({}", p.name, p.species_label());
    if !p.breed.is_empty() {
        title.push_str(&format!(", {}", p.breed));
    }
    title.push(')');
    if let Some(n) = &s.number {
        title.push_str(&format!(" - Lifeboat no. {n}"));
    }
    flow.line(MARGIN, 12.0, true, &title);
    flow.carry = Some(format!("{title} (continued)"));
    if let Some(died) = p.deceased_on {
        flow.line(MARGIN, 11.0, true, &format!("DIED {}: check this booking with the owner", died.format("%d/%m/%Y")));
    }
    let mut facts = vec![match p.sex {
        lifeboat_core::Sex::Unknown => "sex not known".to_string(),
        sex => sex.as_str().to_string(),
    }];
    if p.neutered {
        facts.push("neutered".into());
    }
    if let Some(dob) = p.date_of_birth {
        facts.push(format!("born {}{}", dob.format("%d/%m/%Y"), if p.dob_estimated { " (estimated)" } else { "" }));
    }
    if let Some(chip) = &p.microchip {
        facts.push(format!("microchip {chip}"));
    }
    if let Some(w) = &s.last_weight {
        facts.push(format!("last weight {} kg on {}", w.kg, w.date.format("%d/%m/%Y")));
    } else {
        facts.push("no weight recorded".into());
    }
    flow.wrapped(MARGIN, 9.0, false, &facts.join("  -  "));
    if p.alerts.is_empty() {
        flow.line(MARGIN, 9.5, false, "Alerts: none recorded");
    } else {
        flow.wrapped(MARGIN, 10.5, true, &format!("ALERTS: {}", p.alerts.join("; ")));
    }
    for o in &s.owners {
        let name = [o.title.as_str(), &o.first_name, &o.last_name]
            .iter()
            .filter(|t| !t.is_empty())
            .cloned()
            .collect::<Vec<_>>()
            .join(" ");
        let reach = [o.phone.as_str(), &o.phone_alt, &o.email]
            .iter()
            .filter(|t| !t.is_empty())
            .cloned()
            .collect::<Vec<_>>()
            .join(", ");
        flow.wrapped(MARGIN, 9.0, false, &format!("Owner: {name}  -  {reach}"));
    }
    for a in &s.bookings {
        let what =
            if a.reason.is_empty() { a.kind.label().to_string() } else { format!("{}: {}", a.kind.label(), a.reason) };
        flow.wrapped(
            MARGIN,
            9.0,
            false,
            &format!(
                "Booked {} {} with {} - {what}{}",
                a.start_local.format("%a %d/%m %H:%M"),
                a.room,
                a.clinician_name,
                if a.notes.is_empty() { String::new() } else { format!(" - Notes: {}", a.notes) }
            ),
        );
    }
    if s.medicines.is_empty() {
        flow.line(MARGIN, 9.0, false, "Current medicines: none to supply from Lifeboat's prescriptions");
    } else {
        flow.line(MARGIN, 9.0, true, "Current medicines (prescriptions with supplies left):");
        for m in &s.medicines {
            flow.wrapped(
                MARGIN + 4.0,
                9.0,
                false,
                &format!(
                    "{} {} - {} (prescribed {}, valid to {})",
                    m.product_name,
                    m.strength,
                    m.directions,
                    m.issued_on.format("%d/%m/%Y"),
                    m.valid_until.format("%d/%m/%Y")
                ),
            );
        }
    }
    if s.vaccinations.is_empty() {
        flow.line(MARGIN, 9.0, false, "Vaccinations: none recorded in Lifeboat");
    } else {
        let given: Vec<String> =
            s.vaccinations.iter().map(|v| format!("{} {}", v.on.format("%d/%m/%Y"), v.product)).collect();
        flow.wrapped(MARGIN, 9.0, false, &format!("Vaccinations: {}", given.join("; ")));
    }
    flow.carry = None;
    flow.gap(2.0);
    flow.rule();
    flow.gap(2.0);
}

fn plural(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// The pack as a PDF.
pub fn continuity_pack(pack: &ContinuityPack, printed_at: DateTime<Utc>, mark: Mark) -> Vec<u8> {
    let date = pack.date.format("%A %-d %B %Y").to_string();
    let made = lifeboat_core::time::to_local(pack.made_at).format("%d/%m/%Y %H:%M").to_string();
    let heading = format!("{} - continuity pack for {date} - made {made}", pack.practice.name);
    let mut flow = Flow::new(heading);

    // The cover.
    flow.line(MARGIN, 20.0, true, "Continuity pack");
    flow.line(MARGIN, 13.0, true, &pack.practice.name);
    flow.gap(2.0);
    flow.line(MARGIN, 11.0, false, &format!("For {date}"));
    flow.line(MARGIN, 9.5, false, &format!("Made {made} from Lifeboat"));
    flow.gap(4.0);
    let appointments = pack.day.appointments.iter().filter(|a| a.status.is_active()).count();
    let contents = [
        format!("Day lists: {} on {date}, one list per clinician", plural(appointments, "appointment", "appointments")),
        format!(
            "Safety sheets: {} booked in the {SHEET_DAYS} days from {}",
            plural(pack.sheets.len(), "animal", "animals"),
            pack.date.format("%d/%m/%Y")
        ),
        format!(
            "Active prescriptions (valid, with supplies left): {}{}",
            pack.prescriptions.len(),
            if pack.prescriptions_cut { " - more than the pack can list: the rest are in Lifeboat" } else { "" }
        ),
        format!("Controlled drugs balances: {} premises", pack.registers.len()),
        format!("Staff contacts: {}", pack.staff.len()),
    ];
    flow.line(MARGIN, 11.0, true, "In this pack");
    for c in contents {
        flow.line(MARGIN + 4.0, 10.0, false, &c);
    }
    flow.gap(4.0);
    for p in &pack.practice.premises {
        flow.wrapped(
            MARGIN,
            9.5,
            false,
            &format!("{}: {} {} {} - Tel. {}", p.name, p.address_line1, p.town, p.postcode, p.phone),
        );
    }
    flow.gap(4.0);
    flow.wrapped(
        MARGIN,
        9.5,
        false,
        "Medicines, vaccinations and weights are those recorded in Lifeboat; the practice management system holds the full history. Alerts are printed in full on the safety sheets.",
    );
    flow.gap(3.0);
    flow.wrapped(
        MARGIN,
        9.5,
        true,
        "Use this pack only if Lifeboat cannot be used. It holds clients' personal details and clinical records: keep it locked away, and shred it when the next pack is printed. Write down everything done on paper, to enter into Lifeboat when it is back.",
    );

    let cover_pages = flow.pages.len();
    flow.section("Safety sheets");
    if pack.sheets.is_empty() {
        flow.line(MARGIN, 10.0, false, "No animals are booked in these days.");
    }
    for s in &pack.sheets {
        sheet(&mut flow, s);
    }

    flow.section("Active prescriptions");
    flow.wrapped(
        MARGIN,
        9.0,
        false,
        "Prescriptions valid on the day of this pack with supplies left (not vaccines), by client, for animals alive.",
    );
    flow.gap(1.0);
    if pack.prescriptions.is_empty() {
        flow.line(MARGIN, 10.0, false, "None.");
    }
    for a in &pack.prescriptions {
        let p = &a.prescription;
        flow.need(12.0);
        flow.wrapped(
            MARGIN,
            9.5,
            true,
            &format!(
                "{} - {} ({}) - {} ({})",
                p.issued_on.format("%d/%m/%Y"),
                a.patient_name,
                a.client_name,
                p.product_name,
                p.legal_category.as_str()
            ),
        );
        flow.wrapped(
            MARGIN + 4.0,
            9.0,
            false,
            &format!(
                "{} - by {} - valid to {} - supplies left {}",
                p.directions,
                p.prescriber_name,
                p.valid_until.format("%d/%m/%Y"),
                p.supplies_left()
            ),
        );
    }

    flow.section("Controlled drugs balances");
    for r in &pack.registers {
        flow.line(MARGIN, 11.0, true, &r.premises.name);
        if r.drugs.is_empty() {
            flow.line(MARGIN + 4.0, 9.5, false, "No controlled drugs in the formulary.");
        }
        for d in &r.drugs {
            let last = d
                .last_entry_at
                .map(|t| format!("last entry {}", lifeboat_core::time::to_local(t).format("%d/%m/%Y %H:%M")))
                .unwrap_or_else(|| "no entries".into());
            flow.wrapped(
                MARGIN + 4.0,
                9.5,
                false,
                &format!(
                    "Balance {} {} - {} {} ({last})",
                    d.balance.figures(),
                    d.product.unit,
                    d.product.name,
                    d.product.strength
                ),
            );
        }
        flow.gap(3.0);
    }

    flow.section("Staff contacts");
    for s in &pack.staff {
        let phone = if s.phone.is_empty() { "no phone recorded".to_string() } else { s.phone.clone() };
        let quals = if s.qualifications.is_empty() { String::new() } else { format!(" {}", s.qualifications) };
        flow.wrapped(MARGIN, 10.0, false, &format!("{}{quals} ({}) - {phone}", s.name, s.role));
    }

    // The cover, then the day lists, then the rest; every page numbered as part of the pack.
    let mut flow_pages = flow.pages.into_iter();
    let mut all: Vec<Page> = flow_pages.by_ref().take(cover_pages).collect();
    all.extend(day_list_pages(&pack.practice, &pack.day, printed_at));
    all.extend(flow_pages);
    let total = all.len();
    let pages: Vec<PdfPage> = all
        .into_iter()
        .enumerate()
        .map(|(i, mut page)| {
            page.text(MARGIN, 5.0, 7.5, true, &format!("Continuity pack for {date} - page {} of {total}", i + 1));
            page.finish()
        })
        .collect();
    save(&format!("Continuity pack {}", pack.date.format("%d/%m/%Y")), pages, mark)
}
