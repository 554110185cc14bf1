//! The receipt for a payment (A4): the practice, the client, the day's charges with their VAT, the
//! VAT per rate, what was paid and how, and the balance left on the account.

use lifeboat_core::accounts::{money, CardState, PaymentKind, PaymentMethod, Receipt};

use crate::page::{save, wrap, Mark, Page};

const PAGE_W: f32 = 210.0;
const PAGE_H: f32 = 297.0;
const MARGIN: f32 = 18.0;

/// The receipt as a PDF.
pub fn receipt(r: &Receipt, mark: Mark) -> Vec<u8> {
    let mut page = Page::new(PAGE_W, PAGE_H);
    let mut y = PAGE_H - MARGIN - 4.0;
    let right = PAGE_W - MARGIN;
    page.text(MARGIN, y, 16.0, true, &r.practice.name);
    page.text(right - 45.0, y, 16.0, true, if r.payment.kind == PaymentKind::Deposit { "Deposit" } else { "Receipt" });
    y -= 6.0;
    page.text(MARGIN, y, 9.5, false, &r.premises.address());
    y -= 4.5;
    page.text(MARGIN, y, 9.5, false, &format!("Tel. {}", r.premises.phone));
    let taken = lifeboat_core::time::to_local(r.payment.taken_at);
    let number = r.payment.number.clone().unwrap_or_else(|| r.payment.id.simple().to_string()[20..].to_string());
    page.text(right - 45.0, y + 4.5, 9.5, false, &format!("No. {number}"));
    page.text(right - 45.0, y, 9.5, false, &taken.format("%d/%m/%Y %H:%M").to_string());
    y -= 12.0;
    let c = &r.client;
    let name = [c.title.as_str(), &c.first_name, &c.last_name]
        .iter()
        .filter(|t| !t.is_empty())
        .cloned()
        .collect::<Vec<_>>()
        .join(" ");
    page.text(MARGIN, y, 11.0, true, &name);
    for line in [c.address_line1.as_str(), &c.address_line2, &format!("{} {}", c.town, c.postcode)] {
        if !line.trim().is_empty() {
            y -= 4.8;
            page.text(MARGIN, y, 9.5, false, line.trim());
        }
    }
    y -= 12.0;

    let cols = [(MARGIN, "Charged today"), (right - 68.0, "Net"), (right - 46.0, "VAT"), (right - 22.0, "Total")];
    for (x, label) in cols {
        page.text(x, y, 9.0, true, label);
    }
    page.rule(MARGIN, right, y - 1.8);
    y -= 6.0;
    if r.charges.is_empty() {
        page.text(MARGIN, y, 9.5, false, "Nothing charged today.");
        y -= 6.0;
    }
    for ch in &r.charges {
        let lines = wrap(&ch.description, 9.5, false, 100.0);
        for (i, line) in lines.iter().enumerate() {
            page.text(MARGIN, y - i as f32 * 4.5, 9.5, false, line);
        }
        page.text(right - 68.0, y, 9.5, false, &money(ch.net_pence));
        page.text(
            right - 46.0,
            y,
            9.5,
            false,
            &format!("{} ({}%)", money(ch.vat_pence), ch.vat_rate_bp as f64 / 100.0),
        );
        page.text(right - 22.0, y, 9.5, false, &money(ch.net_pence + ch.vat_pence));
        y -= 4.5 * lines.len().max(1) as f32 + 1.5;
    }
    page.rule(MARGIN, right, y + 2.5);
    y -= 4.0;
    for (rate, net, vat) in &r.vat {
        page.text(MARGIN, y, 9.5, false, &format!("VAT at {}% on {}", *rate as f64 / 100.0, money(*net)));
        page.text(right - 46.0, y, 9.5, false, &money(*vat));
        y -= 5.0;
    }
    let total: i64 = r.charges.iter().map(|c| c.net_pence + c.vat_pence).sum();
    let vat: i64 = r.vat.iter().map(|v| v.2).sum();
    page.text(MARGIN, y, 10.0, true, "Total charged today, VAT included");
    page.text(right - 22.0, y, 10.0, true, &money(total));
    y -= 5.0;
    page.text(MARGIN, y, 9.5, false, "of which VAT");
    page.text(right - 22.0, y, 9.5, false, &money(vat));
    y -= 12.0;

    let p = &r.payment;
    let how = match p.card {
        CardState::ToRun => "Card, to run on the terminal later: not yet taken from the card".to_string(),
        CardState::Declined => "Card: DECLINED when run on the terminal".to_string(),
        CardState::Approved => {
            format!("Card, run on the terminal (ref. {})", p.run_reference.clone().unwrap_or_default())
        }
        CardState::NotToRun if p.method == PaymentMethod::PayLater => format!("Agreed: {}", p.note),
        CardState::NotToRun if p.reference.is_empty() => p.method.label().to_string(),
        CardState::NotToRun => format!("{} (ref. {})", p.method.label(), p.reference),
    };
    let paid = match (p.card, p.method, p.kind) {
        (CardState::ToRun, _, _) => "To be taken by card",
        (CardState::Declined, _, _) => "Not paid (card declined)",
        (_, PaymentMethod::PayLater, _) => "To pay later",
        (_, _, PaymentKind::Deposit) => "Deposit paid",
        _ => "Paid",
    };
    page.text(MARGIN, y, 12.0, true, &format!("{paid}: {}", money(p.amount_pence)));
    y -= 5.5;
    page.text(MARGIN, y, 10.0, false, &how);
    if let Some(reason) = &p.void_reason {
        y -= 5.5;
        page.text(MARGIN, y, 10.0, true, &format!("VOID: {reason}"));
    }
    y -= 9.0;
    let balance = if r.balance_pence > 0 {
        format!("Balance owed on the account: {}", money(r.balance_pence))
    } else if r.balance_pence < 0 {
        format!("In credit on the account: {}", money(-r.balance_pence))
    } else {
        "Nothing owed on the account.".to_string()
    };
    page.text(MARGIN, y, 11.0, true, &balance);
    if r.to_run_pence > 0 {
        y -= 5.5;
        page.text(
            MARGIN,
            y,
            10.0,
            false,
            &format!("Card payments still to run on the terminal: {}", money(r.to_run_pence)),
        );
    }
    y -= 12.0;
    for line in wrap(
        &format!(
            "Taken by {}. Recorded in Lifeboat while {}'s practice management system was unavailable. This is a receipt, not a VAT invoice: the invoice follows from the practice management system once it is back.",
            p.taken_by_name, r.practice.name
        ),
        8.5,
        false,
        PAGE_W - 2.0 * MARGIN,
    ) {
        page.text(MARGIN, y, 8.5, false, &line);
        y -= 4.0;
    }
    save(&format!("Receipt {}", taken.format("%d/%m/%Y")), vec![page.finish()], mark)
}
