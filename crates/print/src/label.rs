//! The dispensing label, for a 101 × 54 mm label (Dymo 99014 and its equivalents, common on practice
//! label printers). It carries everything the Veterinary Medicines Regulations ask of a label: the
//! supplier's name, address and telephone; the prescriber; the owner; the animal; the date; the
//! product and strength; the quantity; the dosage and directions; the expiry; warnings; the
//! withdrawal period where there is one; "For animal treatment only" and "Keep out of the sight and
//! reach of children". Text shrinks to fit; if it still does not fit, it goes on to a second label,
//! so nothing legal is ever cut off.

use lifeboat_core::views::documents::PrescriptionDocument;
use lifeboat_core::{Error, Result};

use crate::page::{save, wrap, Mark, Page};

pub const LABEL_W: f32 = 101.0;
pub const LABEL_H: f32 = 54.0;
const MARGIN: f32 = 2.5;
const BASE: f32 = 7.5;
const PT_TO_MM: f32 = 25.4 / 72.0;

/// One paragraph of the label: its text, weight and size relative to the base.
struct Block {
    text: String,
    bold: bool,
    scale: f32,
}

fn block(text: impl Into<String>, bold: bool, scale: f32) -> Block {
    Block { text: text.into(), bold, scale }
}

/// The lines of every block at a given size: (text, bold, size in pt).
fn lay_out(blocks: &[Block], factor: f32) -> Vec<(String, bool, f32)> {
    let width = LABEL_W - 2.0 * MARGIN;
    blocks
        .iter()
        .flat_map(|b| {
            let size = BASE * b.scale * factor;
            wrap(&b.text, size, b.bold, width).into_iter().map(move |line| (line, b.bold, size))
        })
        .collect()
}

fn height(lines: &[(String, bool, f32)]) -> f32 {
    lines.iter().map(|(_, _, size)| size * 1.18 * PT_TO_MM).sum()
}

/// The label PDF for the document's dispensing.
pub fn label(doc: &PrescriptionDocument, mark: Mark) -> Result<Vec<u8>> {
    let (d, supplier) = doc
        .dispensing
        .as_ref()
        .ok_or_else(|| Error::invalid("dispensing_id", "a label is for a supply: dispense the prescription first"))?;
    let p = &doc.prescription;
    let who = &p.issued_as;
    let mut product = p.product_name.clone();
    if !product.contains(&p.strength) {
        product = format!("{product} {}", p.strength);
    }
    let cd = match p.cd_schedule {
        Some(s @ 2..=5) => format!(" \u{b7} CD Schedule {s}"),
        _ => String::new(),
    };
    let prescriber = [who.prescriber_name.as_str(), who.prescriber_qualifications.as_str()]
        .into_iter()
        .filter(|s| !s.is_empty())
        .collect::<Vec<_>>()
        .join(" ");
    let mut blocks = vec![
        block(product, true, 1.15),
        block(
            format!(
                "Quantity: {} {} \u{b7} {}{cd} \u{b7} Date: {}",
                d.quantity.figures(),
                p.unit,
                p.legal_category.as_str(),
                lifeboat_core::time::to_local(d.dispensed_at).format("%d/%m/%Y")
            ),
            false,
            1.0,
        ),
        block(p.directions.clone(), true, 1.1),
    ];
    if !p.warnings.is_empty() {
        blocks.push(block(format!("Warnings: {}", p.warnings), false, 0.95));
    }
    if !p.withdrawal_period.is_empty() {
        blocks.push(block(format!("Withdrawal period: {}", p.withdrawal_period), true, 0.95));
    }
    blocks.extend([
        block(
            match &doc.animal_number {
                Some(n) => format!("For: {} ({}), Lifeboat no. {n}", who.animal_name, who.animal_species),
                None => format!("For: {} ({})", who.animal_name, who.animal_species),
            },
            false,
            1.0,
        ),
        block(format!("Owner: {}, {}", who.owner_name, who.owner_address), false, 1.0),
        block(format!("Prescribed by: {prescriber}"), false, 1.0),
        block(format!("Batch: {} \u{b7} Expiry: {}", d.batch, d.expiry.format("%d/%m/%Y")), false, 1.0),
        block("For animal treatment only. Keep out of the sight and reach of children.", true, 0.95),
        block(format!("{}, {}. Tel. {}", supplier.practice_name, supplier.address, supplier.phone), false, 0.85),
    ]);

    // A drill's label keeps its edges clear for the drill's words.
    let reserve = if mark == Mark::Drill { 2.6 } else { 0.0 };
    let (top, bottom) = (LABEL_H - MARGIN - reserve, MARGIN + reserve);
    let room = top - bottom;
    let mut factor = 1.3;
    let mut lines = lay_out(&blocks, factor);
    while height(&lines) > room && factor > 0.66 {
        factor -= 0.04;
        lines = lay_out(&blocks, factor);
    }
    // Whatever still does not fit continues on further labels.
    let mut chunks: Vec<&[(String, bool, f32)]> = Vec::new();
    let mut rest = lines.as_slice();
    while !rest.is_empty() {
        let (mut used, mut y) = (0, top);
        for (_, _, size) in rest {
            let step = size * 1.18 * PT_TO_MM;
            if y - step < bottom - 0.01 && used > 0 {
                break;
            }
            y -= step;
            used += 1;
        }
        chunks.push(&rest[..used]);
        rest = &rest[used..];
    }
    let mut pages = Vec::new();
    for (i, chunk) in chunks.iter().enumerate() {
        let mut page = Page::new(LABEL_W, LABEL_H);
        let mut y = top;
        for (text, bold, size) in chunk.iter() {
            y -= size * 1.18 * PT_TO_MM;
            page.text(MARGIN, y + size * 0.25 * PT_TO_MM, *size, *bold, text);
        }
        if chunks.len() > 1 {
            page.text(
                LABEL_W - MARGIN - 14.0,
                MARGIN - 1.2,
                5.0,
                false,
                &format!("label {} of {}", i + 1, chunks.len()),
            );
        }
        pages.push(page.finish());
    }
    Ok(save(&format!("Label {} {}", who.animal_name, p.product_name), pages, mark))
}
