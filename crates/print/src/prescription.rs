//! The written prescription (A4), with what the Veterinary Medicines Regulations 2013 (Schedule 3,
//! paragraph 6) and, for Schedule 2 and 3 controlled drugs, the Misuse of Drugs Regulations ask of it:
//! the prescriber's name, address, telephone, qualifications and RCVS number; the owner's name and
//! address; the animal and its species; where it is kept, if not with its owner; the date and how long
//! it is valid; the product, its strength and form, and the amount (in words and figures for Schedules
//! 2 and 3); dosage and administration; warnings; the withdrawal period; the cascade statement; repeats;
//! the declaration that the animal is under the prescriber's care; and the prescriber's
//! authentication. It names one animal and nothing of any other.

use lifeboat_core::views::documents::PrescriptionDocument;

use crate::page::{save, width, wrap, Mark, Page};

const W: f32 = 210.0;
const H: f32 = 297.0;
const M: f32 = 18.0;

/// Writes label/value rows down a page, wrapping values and starting a new page when full.
struct Writer {
    pages: Vec<Page>,
    page: Page,
    y: f32,
}

impl Writer {
    fn new() -> Writer {
        Writer { pages: Vec::new(), page: Page::new(W, H), y: H - M }
    }

    fn room(&mut self, needed: f32) {
        if self.y - needed < M + 12.0 {
            let full = std::mem::replace(&mut self.page, Page::new(W, H));
            self.pages.push(full);
            self.y = H - M;
        }
    }

    fn heading(&mut self, text: &str) {
        self.room(10.0);
        self.y -= 7.0;
        self.page.text(M, self.y, 11.0, true, text);
        self.page.rule(M, W - M, self.y - 1.5);
        self.y -= 3.5;
    }

    /// A label in the left column and its value, wrapped, in the right.
    fn row(&mut self, label: &str, value: &str, bold: bool) {
        let lines = wrap(value, 10.0, bold, W - 2.0 * M - 42.0);
        self.room(lines.len() as f32 * 4.8);
        self.page.text(M, self.y - 4.0, 9.0, false, label);
        for line in lines {
            self.y -= 4.8;
            self.page.text(M + 42.0, self.y + 0.8, 10.0, bold, &line);
        }
        self.y -= 0.9;
    }

    fn paragraph(&mut self, text: &str, size: f32, bold: bool) {
        for line in wrap(text, size, bold, W - 2.0 * M) {
            self.room(size * 0.5);
            self.y -= size * 0.47;
            self.page.text(M, self.y, size, bold, &line);
        }
    }

    fn finish(mut self, footer: &str) -> Vec<printpdf::PdfPage> {
        self.pages.push(self.page);
        let n = self.pages.len();
        self.pages
            .into_iter()
            .enumerate()
            .map(|(i, mut page)| {
                page.rule(M, W - M, M + 6.0);
                page.text(M, M + 2.0, 8.0, false, &format!("{footer}  -  page {} of {n}", i + 1));
                page.finish()
            })
            .collect()
    }
}

/// The written prescription PDF.
pub fn prescription(doc: &PrescriptionDocument, mark: Mark) -> Vec<u8> {
    let p = &doc.prescription;
    let who = &p.issued_as;
    let cd23 = matches!(p.cd_schedule, Some(2 | 3));
    let date = |d: chrono::NaiveDate| d.format("%d/%m/%Y").to_string();
    let mut w = Writer::new();

    w.y -= 2.0;
    w.page.text(M, w.y - 6.0, 18.0, true, "Veterinary prescription");
    if let Some(s @ 2..=5) = p.cd_schedule {
        let mark = format!("CONTROLLED DRUG - Schedule {s}");
        w.page.text(W - M - width(&mark, 11.0, true), w.y - 6.0, 11.0, true, &mark);
    }
    w.y -= 10.0;
    w.paragraph(&format!("{}  -  {}", who.practice_name, who.premises_name), 10.0, false);

    w.heading("Prescriber");
    w.row("Name", &who.prescriber_name, true);
    w.row("Qualifications", &who.prescriber_qualifications, false);
    if let Some(rcvs) = &who.prescriber_rcvs_number {
        w.row("RCVS number", rcvs, cd23);
    }
    w.row("Address", &who.premises_address, false);
    w.row("Telephone", &who.premises_phone, false);

    w.heading("Owner and animal");
    w.row("Owner", &who.owner_name, true);
    w.row("Owner's address", &who.owner_address, false);
    let mut identity = format!("{} - {}", who.animal_name, who.animal_species);
    if !who.animal_breed.is_empty() {
        identity.push_str(&format!(", {}", who.animal_breed));
    }
    if let Some(chip) = &who.animal_microchip {
        identity.push_str(&format!(", microchip {chip}"));
    }
    w.row("Animal", &identity, true);
    if !p.animal_premises.is_empty() {
        w.row("Kept at", &p.animal_premises, false);
    }

    w.heading("Medicine");
    w.row("Date", &date(p.issued_on), false);
    w.row("Valid until", &date(p.valid_until), false);
    let mut product = p.product_name.clone();
    for detail in [&p.strength, &p.form] {
        if !product.to_lowercase().contains(&detail.to_lowercase()) {
            product.push_str(&format!(", {detail}"));
        }
    }
    w.row("Product", &product, true);
    w.row("Legal category", p.legal_category.as_str(), false);
    let amount = if p.quantity_words.is_empty() {
        format!("{} {}", p.quantity.figures(), p.unit)
    } else {
        format!("{} ({}) {}", p.quantity.figures(), p.quantity_words, p.unit)
    };
    w.row("Amount", &amount, true);
    w.row("Dose", &p.dose, false);
    w.row("Route", &p.route, false);
    w.row("Frequency", &p.frequency, false);
    w.row("Duration", &p.duration, false);
    w.row("Directions", &p.directions, true);
    w.row("Warnings", if p.warnings.is_empty() { "None" } else { &p.warnings }, false);
    let withdrawal = if !p.withdrawal_period.is_empty() {
        p.withdrawal_period.clone()
    } else if who.food_producing {
        "See the product's summary of product characteristics".into()
    } else {
        "Not applicable: not a food-producing animal".into()
    };
    w.row("Withdrawal period", &withdrawal, !p.withdrawal_period.is_empty());
    if p.cascade {
        w.row("Cascade", &p.cascade_statement, true);
    }
    let repeats = match p.repeats {
        0 => "Not repeatable".to_string(),
        1 => "May be dispensed once more".to_string(),
        n => format!("May be dispensed {n} more times"),
    };
    w.row("Repeats", &repeats, false);

    w.heading("Authentication");
    if cd23 {
        w.paragraph("I prescribe this controlled drug for an animal under my care.", 10.0, true);
    }
    w.paragraph(
        &format!(
            "Issued and authenticated electronically by {} ({}) on {} in Lifeboat, record {}.",
            who.prescriber_name,
            who.prescriber_username,
            lifeboat_core::time::to_local(p.issued_at).format("%d/%m/%Y at %H:%M"),
            p.id
        ),
        9.0,
        false,
    );
    if let Some(reason) = &p.void_reason {
        w.paragraph(&format!("VOID: {reason}. This prescription must not be dispensed."), 11.0, true);
    }
    w.y -= 8.0;
    w.room(14.0);
    w.page.text(M, w.y, 10.0, false, "Signature:");
    w.page.rule(M + 20.0, M + 100.0, w.y - 0.5);
    w.page.text(M + 110.0, w.y, 10.0, false, &format!("Date: {}", date(p.issued_on)));

    let footer = format!("For animal treatment only  -  {} for {}", p.product_name, who.animal_name);
    let pages = w.finish(&footer);
    save(&format!("Prescription {} {}", who.animal_name, p.product_name), pages, mark)
}
