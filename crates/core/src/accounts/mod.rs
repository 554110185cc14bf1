//! Taking payment while card systems and invoicing are down: payments and deposits against the
//! charges already captured, card payments taken down to run on the terminal later, each client's
//! balance, the receipt, the end-of-day cash-up per premises (the difference recorded, never edited
//! away) and the insurance claims to make later. Payments, card runs, cash-ups and claims are written
//! once and never changed: a wrong payment or claim is voided with a reason; a recount is another
//! cash-up.

use chrono::{DateTime, NaiveDate, Utc};
use rusqlite::{params, Connection, Row};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::clinical::charge::{self, Charge};
use crate::error::{Error, Result};
use crate::organisation::numbers::{self, NumberKind};
use crate::organisation::practice::{self, Practice, Premises};
use crate::permission::Action;
use crate::reception::client::{self, Client};
use crate::reception::patient;
use crate::session::Session;
use crate::store::database::Store;
use crate::store::row;
use crate::store::write::{ChangeKind, Entity, Fields, Write};
use crate::time;
use crate::validate;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum PaymentKind {
    /// Against what has been charged.
    Payment,
    /// Paid ahead (an operation, a stay): reduces the balance like a payment.
    Deposit,
}

impl PaymentKind {
    pub fn as_str(self) -> &'static str {
        match self {
            PaymentKind::Payment => "payment",
            PaymentKind::Deposit => "deposit",
        }
    }
    fn parse(text: &str) -> Option<PaymentKind> {
        [PaymentKind::Payment, PaymentKind::Deposit].into_iter().find(|k| k.as_str() == text)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum PaymentMethod {
    Cash,
    /// On a standalone terminal that works: its reference recorded.
    Card,
    /// Taken down while no terminal works, to run on one later (no card details are kept).
    CardToRun,
    Cheque,
    BankTransfer,
    /// Not money: what the client agreed to pay later (by when, in the note).
    PayLater,
}

impl PaymentMethod {
    pub fn as_str(self) -> &'static str {
        match self {
            PaymentMethod::Cash => "cash",
            PaymentMethod::Card => "card",
            PaymentMethod::CardToRun => "card_to_run",
            PaymentMethod::Cheque => "cheque",
            PaymentMethod::BankTransfer => "bank_transfer",
            PaymentMethod::PayLater => "pay_later",
        }
    }
    pub fn label(self) -> &'static str {
        match self {
            PaymentMethod::Cash => "Cash",
            PaymentMethod::Card => "Card",
            PaymentMethod::CardToRun => "Card, to run later",
            PaymentMethod::Cheque => "Cheque",
            PaymentMethod::BankTransfer => "Bank transfer",
            PaymentMethod::PayLater => "To pay later",
        }
    }
    fn parse(text: &str) -> Option<PaymentMethod> {
        [
            PaymentMethod::Cash,
            PaymentMethod::Card,
            PaymentMethod::CardToRun,
            PaymentMethod::Cheque,
            PaymentMethod::BankTransfer,
            PaymentMethod::PayLater,
        ]
        .into_iter()
        .find(|m| m.as_str() == text)
    }
}

/// A payment as typed at the desk.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct NewPayment {
    pub client_id: Uuid,
    pub kind: PaymentKind,
    pub method: PaymentMethod,
    /// Pounds as typed: "45", "45.50", "£1,200.00".
    pub amount: String,
    /// The terminal's reference (a card payment) or the cheque's number.
    pub reference: String,
    pub note: String,
}

/// Where a card payment to run stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum CardState {
    /// Not a card payment to run.
    NotToRun,
    ToRun,
    Approved,
    Declined,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Payment {
    pub id: Uuid,
    pub client_id: Uuid,
    pub client_name: String,
    pub client_phone: String,
    pub premises_id: Uuid,
    pub kind: PaymentKind,
    pub method: PaymentMethod,
    pub amount_pence: i64,
    pub reference: String,
    pub note: String,
    pub taken_by_name: String,
    pub taken_at: DateTime<Utc>,
    pub card: CardState,
    /// The terminal's reference when a card payment to run was run.
    pub run_reference: Option<String>,
    pub void_reason: Option<String>,
    /// Its receipt number ("R-120"), from this PC's block, if it had one.
    pub number: Option<String>,
}

impl Payment {
    /// Money the practice has: not void, not an agreement to pay later, and not a card payment still to
    /// run or declined.
    pub fn is_received(&self) -> bool {
        self.void_reason.is_none()
            && self.method != PaymentMethod::PayLater
            && matches!(self.card, CardState::NotToRun | CardState::Approved)
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct NewClaim {
    pub patient_id: Uuid,
    pub insurer: String,
    pub policy_number: String,
    /// What is claimed for ("cruciate ligament repair").
    pub condition: String,
    pub amount: String,
    pub note: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Claim {
    pub id: Uuid,
    pub client_id: Uuid,
    pub client_name: String,
    pub patient_id: Uuid,
    pub patient_name: String,
    pub insurer: String,
    pub policy_number: String,
    pub condition: String,
    pub amount_pence: i64,
    pub note: String,
    pub made_by_name: String,
    pub made_at: DateTime<Utc>,
    pub void_reason: Option<String>,
}

/// A client's account: what was charged, what was paid, and what is owed.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct ClientAccount {
    pub client: Client,
    /// Newest first.
    pub charges: Vec<Charge>,
    /// Newest first.
    pub payments: Vec<Payment>,
    pub claims: Vec<Claim>,
    /// Charges not void, VAT included.
    pub charged_pence: i64,
    /// Payments and deposits received (card payments once run and approved).
    pub received_pence: i64,
    /// Card payments taken down and not yet run.
    pub to_run_pence: i64,
    /// What the client owes (negative: in credit, a deposit ahead of charges).
    pub balance_pence: i64,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct CashUp {
    pub id: Uuid,
    pub premises_id: Uuid,
    pub day: NaiveDate,
    pub expected_pence: i64,
    pub counted_pence: i64,
    pub difference_pence: i64,
    pub note: String,
    pub counted_by_name: String,
    pub counted_at: DateTime<Utc>,
}

/// One day's takings at a premises, and its cash-ups (the last one stands; none is edited away).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Takings {
    pub premises: Premises,
    pub day: NaiveDate,
    /// Every payment taken there that day, oldest first.
    pub payments: Vec<Payment>,
    /// Cash received (the cash expected in the till, the float apart).
    pub cash_pence: i64,
    pub card_pence: i64,
    pub to_run_pence: i64,
    pub other_pence: i64,
    /// Oldest first.
    pub cash_ups: Vec<CashUp>,
    /// Card payments to run, from any day, at any premises: oldest first.
    pub cards_to_run: Vec<Payment>,
    /// Card payments declined when run, to chase: oldest first.
    pub cards_declined: Vec<Payment>,
    /// Clients who owe money, most owed first (the first 200).
    pub owing: Vec<Owing>,
    /// Claims not void, newest first.
    pub claims: Vec<Claim>,
}

/// A client who owes money.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Owing {
    pub client_id: Uuid,
    pub client_name: String,
    pub phone: String,
    pub balance_pence: i64,
    /// The last agreement to pay later, if there is one.
    pub pay_later_note: Option<String>,
}

/// Clients (with what was merged into them) who owe money, most owed first.
fn owing(conn: &Connection) -> Result<Vec<Owing>> {
    let mut stmt = conn.prepare_cached(&format!(
        "WITH owner AS (SELECT id, coalesce(merged_into, id) AS account FROM client),
         charged AS (
           SELECT o.account, sum(h.net_pence + h.vat_pence) AS pence FROM charge h JOIN owner o ON o.id = h.client_id
           WHERE NOT EXISTS (SELECT 1 FROM clinical_void v WHERE v.entity = 'charge' AND v.entity_id = h.id) GROUP BY o.account),
         received AS (
           SELECT o.account, sum(y.amount_pence) AS pence FROM payment y JOIN owner o ON o.id = y.client_id
           WHERE y.method <> 'pay_later'
             AND NOT EXISTS (SELECT 1 FROM clinical_void v WHERE v.entity = 'payment' AND v.entity_id = y.id)
             AND (y.method <> 'card_to_run' OR (SELECT r.outcome FROM card_run r WHERE r.payment_id = y.id ORDER BY r.run_at DESC, r.id DESC LIMIT 1) = 'approved')
           GROUP BY o.account)
         SELECT c.id, {CLIENT_NAME}, c.phone, ch.pence - coalesce(rc.pence, 0) AS owed,
                (SELECT y.note FROM payment y JOIN owner o ON o.id = y.client_id WHERE o.account = c.id AND y.method = 'pay_later'
                   AND NOT EXISTS (SELECT 1 FROM clinical_void v WHERE v.entity = 'payment' AND v.entity_id = y.id)
                 ORDER BY y.taken_at DESC LIMIT 1)
         FROM charged ch JOIN client c ON c.id = ch.account LEFT JOIN received rc ON rc.account = ch.account
         WHERE ch.pence - coalesce(rc.pence, 0) > 0 ORDER BY owed DESC LIMIT 200"
    ))?;
    let rows = stmt
        .query_map([], |r| {
            Ok(Owing {
                client_id: row::uuid(r, 0)?,
                client_name: r.get(1)?,
                phone: r.get(2)?,
                balance_pence: r.get(3)?,
                pay_later_note: r.get(4)?,
            })
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(rows)
}

/// What a receipt prints.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Receipt {
    pub practice: Practice,
    pub premises: Premises,
    pub client: Client,
    pub payment: Payment,
    /// The client's charges on the day of the payment (not void).
    pub charges: Vec<Charge>,
    /// (VAT rate in basis points, net, VAT) per rate, of those charges.
    pub vat: Vec<(i64, i64, i64)>,
    pub balance_pence: i64,
    /// Of the client's payments, those on cards still to run.
    pub to_run_pence: i64,
}

/// Pounds as people write them, in pence: "45", "45.5", "£1,200.00"; more than £100,000 is refused,
/// and so is nothing.
pub fn pence(field: &str, text: &str) -> Result<i64> {
    let amount = pence_or_nothing(field, text)?;
    if amount == 0 {
        return Err(Error::invalid(field, "must be more than nothing"));
    }
    Ok(amount)
}

/// `pence`, where nothing ("0", "£0.00") is an answer too (a till with no cash in it).
pub fn pence_or_nothing(field: &str, text: &str) -> Result<i64> {
    let wrong = || Error::invalid(field, format!("{} is not an amount of money such as 45.50", validate::shown(text)));
    let raw = text.trim().trim_start_matches('£').trim();
    // Commas only between thousands: "12,50" is refused rather than read as £1,250.
    if raw.contains(',') {
        let whole = raw.split('.').next().unwrap_or_default();
        let groups: Vec<&str> = whole.split(',').collect();
        if !((1..=3).contains(&groups[0].len()) && groups[1..].iter().all(|g| g.len() == 3)) {
            return Err(Error::invalid(
                field,
                format!("{} is not an amount of money: use a point for pence (12.50)", validate::shown(text)),
            ));
        }
    }
    let t = raw.replace(',', "");
    let (pounds, pennies) = match t.split_once('.') {
        Some((p, d)) if d.len() <= 2 && !d.is_empty() && d.chars().all(|c| c.is_ascii_digit()) => {
            (p, if d.len() == 1 { format!("{d}0") } else { d.to_string() })
        }
        Some(_) => return Err(wrong()),
        None => (t.as_str(), "00".to_string()),
    };
    if pounds.is_empty() && pennies == "00" || !pounds.chars().all(|c| c.is_ascii_digit()) || pounds.len() > 7 {
        return Err(wrong());
    }
    let pounds: i64 = if pounds.is_empty() { 0 } else { pounds.parse().map_err(|_| wrong())? };
    let amount = pounds * 100 + pennies.parse::<i64>().map_err(|_| wrong())?;
    if amount > 10_000_000 {
        return Err(Error::invalid(field, "must be at most £100,000"));
    }
    Ok(amount)
}

const CLIENT_NAME: &str = "trim(replace(c.title || ' ' || c.first_name || ' ' || c.last_name, '  ', ' '))";

fn payment_sql(filter: &str) -> String {
    format!(
        "SELECT y.id, y.client_id, {CLIENT_NAME}, c.phone, y.premises_id, y.kind, y.method, y.amount_pence, y.reference, y.note,
                s.display_name, y.taken_at,
                (SELECT r.outcome FROM card_run r WHERE r.payment_id = y.id ORDER BY r.run_at DESC, r.id DESC LIMIT 1),
                (SELECT r.reference FROM card_run r WHERE r.payment_id = y.id ORDER BY r.run_at DESC, r.id DESC LIMIT 1),
                (SELECT v.reason FROM clinical_void v WHERE v.entity = 'payment' AND v.entity_id = y.id ORDER BY v.voided_at, v.id LIMIT 1),
                y.number
         FROM payment y JOIN client c ON c.id = y.client_id JOIN staff s ON s.id = y.taken_by WHERE {filter}"
    )
}

fn payment_from_row(r: &Row<'_>) -> rusqlite::Result<Payment> {
    let method = row::word(r, 6, PaymentMethod::parse)?;
    let outcome: Option<String> = r.get(12)?;
    let card = match (method, outcome.as_deref()) {
        (PaymentMethod::CardToRun, None) => CardState::ToRun,
        (PaymentMethod::CardToRun, Some("approved")) => CardState::Approved,
        (PaymentMethod::CardToRun, Some(_)) => CardState::Declined,
        _ => CardState::NotToRun,
    };
    Ok(Payment {
        id: row::uuid(r, 0)?,
        client_id: row::uuid(r, 1)?,
        client_name: r.get(2)?,
        client_phone: r.get(3)?,
        premises_id: row::uuid(r, 4)?,
        kind: row::word(r, 5, PaymentKind::parse)?,
        method,
        amount_pence: r.get(7)?,
        reference: r.get(8)?,
        note: r.get(9)?,
        taken_by_name: r.get(10)?,
        taken_at: row::time(r, 11)?,
        card,
        run_reference: r.get(13)?,
        void_reason: r.get(14)?,
        number: r.get::<_, Option<i64>>(15)?.map(|n| NumberKind::Receipt.label(n)),
    })
}

fn payments(conn: &Connection, filter: &str, args: impl rusqlite::Params) -> Result<Vec<Payment>> {
    let mut stmt = conn.prepare_cached(&payment_sql(filter))?;
    let rows = stmt.query_map(args, payment_from_row)?.collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(rows)
}

fn payment(conn: &Connection, id: Uuid) -> Result<Payment> {
    payments(conn, "y.id = ?1", [id.to_string()])?.pop().ok_or_else(|| Error::NotFound(format!("payment {id}")))
}

fn claims(conn: &Connection, filter: &str, args: impl rusqlite::Params) -> Result<Vec<Claim>> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT k.id, k.client_id, {CLIENT_NAME}, k.patient_id, p.name, k.insurer, k.policy_number, k.condition,
                k.amount_pence, k.note, s.display_name, k.made_at,
                (SELECT v.reason FROM clinical_void v WHERE v.entity = 'insurance_claim' AND v.entity_id = k.id LIMIT 1)
         FROM insurance_claim k JOIN client c ON c.id = k.client_id JOIN patient p ON p.id = k.patient_id
           JOIN staff s ON s.id = k.made_by WHERE {filter} ORDER BY k.made_at DESC, k.id DESC LIMIT 500"
    ))?;
    let rows = stmt
        .query_map(args, |r| {
            Ok(Claim {
                id: row::uuid(r, 0)?,
                client_id: row::uuid(r, 1)?,
                client_name: r.get(2)?,
                patient_id: row::uuid(r, 3)?,
                patient_name: r.get(4)?,
                insurer: r.get(5)?,
                policy_number: r.get(6)?,
                condition: r.get(7)?,
                amount_pence: r.get(8)?,
                note: r.get(9)?,
                made_by_name: r.get(10)?,
                made_at: row::time(r, 11)?,
                void_reason: r.get(12)?,
            })
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(rows)
}

pub(crate) fn account(conn: &Connection, client_id: Uuid) -> Result<ClientAccount> {
    let client = client::get(conn, client_id)?;
    // The client and any record merged into it (a duplicate) are one account.
    let charges = charge::of_client(conn, client_id)?;
    let payments = payments(
        conn,
        "y.client_id IN (SELECT id FROM client WHERE id = ?1 OR merged_into = ?1) ORDER BY y.taken_at DESC, y.id DESC",
        [client_id.to_string()],
    )?;
    // Summed over every charge (the list shown is the last thousand).
    let charged_pence: i64 = conn.query_row(
        "SELECT coalesce(sum(h.net_pence + h.vat_pence), 0) FROM charge h
         WHERE h.client_id IN (SELECT id FROM client WHERE id = ?1 OR merged_into = ?1)
           AND NOT EXISTS (SELECT 1 FROM clinical_void v WHERE v.entity = 'charge' AND v.entity_id = h.id)",
        [client_id.to_string()],
        |r| r.get(0),
    )?;
    let received_pence = payments.iter().filter(|p| p.is_received()).map(|p| p.amount_pence).sum();
    let to_run_pence =
        payments.iter().filter(|p| p.void_reason.is_none() && p.card == CardState::ToRun).map(|p| p.amount_pence).sum();
    Ok(ClientAccount {
        claims: claims(conn, "k.client_id = ?1", [client_id.to_string()])?,
        balance_pence: charged_pence - received_pence,
        client,
        charges,
        payments,
        charged_pence,
        received_pence,
        to_run_pence,
    })
}

fn cash_ups(conn: &Connection, premises: Uuid, day: NaiveDate) -> Result<Vec<CashUp>> {
    let mut stmt = conn.prepare_cached(
        "SELECT u.id, u.premises_id, u.day, u.expected_pence, u.counted_pence, u.difference_pence, u.note, s.display_name, u.counted_at
         FROM cash_up u JOIN staff s ON s.id = u.counted_by WHERE u.premises_id = ?1 AND u.day = ?2 ORDER BY u.counted_at, u.id",
    )?;
    let rows = stmt
        .query_map(params![premises.to_string(), time::stored_date(day)], |r| {
            Ok(CashUp {
                id: row::uuid(r, 0)?,
                premises_id: row::uuid(r, 1)?,
                day: row::date(r, 2)?,
                expected_pence: r.get(3)?,
                counted_pence: r.get(4)?,
                difference_pence: r.get(5)?,
                note: r.get(6)?,
                counted_by_name: r.get(7)?,
                counted_at: row::time(r, 8)?,
            })
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(rows)
}

pub(crate) fn takings(conn: &Connection, premises: &Premises, day: NaiveDate) -> Result<Takings> {
    let (start, end) = time::day_bounds("day", day)?;
    let today = payments(
        conn,
        "y.premises_id = ?1 AND y.taken_at >= ?2 AND y.taken_at < ?3 ORDER BY y.taken_at, y.id",
        params![premises.id.to_string(), time::stored(start), time::stored(end)],
    )?;
    let sum = |pick: &dyn Fn(&Payment) -> bool| -> i64 {
        today.iter().filter(|p| p.void_reason.is_none() && pick(p)).map(|p| p.amount_pence).sum()
    };
    let cash_pence = sum(&|p| p.method == PaymentMethod::Cash);
    // Card takings of the day: cards on the terminal, and cards taken down earlier run that day.
    let run_today: i64 = conn.query_row(
        "SELECT coalesce(sum(y.amount_pence), 0) FROM card_run r JOIN payment y ON y.id = r.payment_id
         WHERE y.premises_id = ?1 AND r.outcome = 'approved' AND r.run_at >= ?2 AND r.run_at < ?3
           AND r.id = (SELECT x.id FROM card_run x WHERE x.payment_id = y.id ORDER BY x.run_at DESC, x.id DESC LIMIT 1)
           AND NOT EXISTS (SELECT 1 FROM clinical_void v WHERE v.entity = 'payment' AND v.entity_id = y.id)",
        params![premises.id.to_string(), time::stored(start), time::stored(end)],
        |r| r.get(0),
    )?;
    let card_pence = sum(&|p| p.method == PaymentMethod::Card) + run_today;
    let to_run_pence = sum(&|p| p.card == CardState::ToRun);
    let other_pence = sum(&|p| matches!(p.method, PaymentMethod::Cheque | PaymentMethod::BankTransfer));
    let cards_declined = payments(
        conn,
        "y.method = 'card_to_run'
           AND (SELECT r.outcome FROM card_run r WHERE r.payment_id = y.id ORDER BY r.run_at DESC, r.id DESC LIMIT 1) = 'declined'
           AND NOT EXISTS (SELECT 1 FROM clinical_void v WHERE v.entity = 'payment' AND v.entity_id = y.id)
         ORDER BY y.taken_at, y.id LIMIT 1000",
        [],
    )?;
    let cards_to_run = payments(
        conn,
        "y.method = 'card_to_run' AND NOT EXISTS (SELECT 1 FROM card_run r WHERE r.payment_id = y.id)
           AND NOT EXISTS (SELECT 1 FROM clinical_void v WHERE v.entity = 'payment' AND v.entity_id = y.id)
         ORDER BY y.taken_at, y.id LIMIT 1000",
        [],
    )?;
    Ok(Takings {
        cash_ups: cash_ups(conn, premises.id, day)?,
        claims: claims(
            conn,
            "NOT EXISTS (SELECT 1 FROM clinical_void v WHERE v.entity = 'insurance_claim' AND v.entity_id = k.id)",
            [],
        )?,
        owing: owing(conn)?,
        cards_declined,
        premises: premises.clone(),
        day,
        payments: today,
        cash_pence,
        card_pence,
        to_run_pence,
        other_pence,
        cards_to_run,
    })
}

/// The VAT of `charges` per rate: (rate, net, VAT), lowest rate first.
fn vat_lines(charges: &[Charge]) -> Vec<(i64, i64, i64)> {
    let mut lines: Vec<(i64, i64, i64)> = Vec::new();
    for c in charges {
        match lines.iter_mut().find(|l| l.0 == c.vat_rate_bp) {
            Some(l) => {
                l.1 += c.net_pence;
                l.2 += c.vat_pence;
            }
            None => lines.push((c.vat_rate_bp, c.net_pence, c.vat_pence)),
        }
    }
    lines.sort_by_key(|l| l.0);
    lines
}

pub(crate) fn receipt(conn: &Connection, payment_id: Uuid) -> Result<Receipt> {
    let payment = payment(conn, payment_id)?;
    let practice = practice::practice(conn)?.ok_or_else(|| Error::NotFound("the practice".into()))?;
    let premises = practice::premises_by_id(conn, payment.premises_id)?;
    let account = account(conn, payment.client_id)?;
    let day = time::local_date(payment.taken_at);
    let charges: Vec<Charge> = account
        .charges
        .iter()
        .filter(|c| c.void_reason.is_none() && time::local_date(c.charged_at) == day)
        .cloned()
        .collect();
    Ok(Receipt {
        vat: vat_lines(&charges),
        balance_pence: account.balance_pence,
        to_run_pence: account.to_run_pence,
        client: account.client,
        practice,
        premises,
        payment,
        charges,
    })
}

impl Write<'_> {
    /// Takes a payment or a deposit from a client, at this PC's premises.
    pub fn take_payment(&mut self, new: &NewPayment) -> Result<Payment> {
        self.authorize(Action::TakePayment)?;
        let client =
            client::get(self.tx(), new.client_id).map_err(|_| Error::invalid("client_id", "choose a client"))?;
        if client.merged_into.is_some() {
            return Err(Error::invalid("client_id", "was merged into another record: take payment on that one"));
        }
        let amount = pence("amount", &new.amount)?;
        let reference = validate::optional("reference", &new.reference, 40)?;
        if new.method == PaymentMethod::Card && reference.is_empty() {
            return Err(Error::invalid("reference", "give the terminal's reference from the card slip"));
        }
        let note = validate::optional("note", &new.note, 200)?;
        if new.method == PaymentMethod::PayLater && note.is_empty() {
            return Err(Error::invalid("note", "say when the client will pay, and who agreed it"));
        }
        if new.method == PaymentMethod::PayLater && new.kind == PaymentKind::Deposit {
            return Err(Error::invalid(
                "kind",
                "a deposit is money paid ahead: take it, or agree the whole amount to pay later",
            ));
        }
        let premises = practice::this_premises(self.tx())?;
        let id = self.new_id();
        let (by, at) = (self.actor().id, time::stored(self.now()));
        let number = numbers::next(self.tx(), NumberKind::Receipt, self.node_id())?;
        self.tx().execute(
            "INSERT INTO payment (id, client_id, premises_id, kind, method, amount_pence, reference, note, taken_by, taken_at, number)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
            params![
                id.to_string(),
                client.id.to_string(),
                premises.id.to_string(),
                new.kind.as_str(),
                new.method.as_str(),
                amount,
                reference,
                note,
                by.to_string(),
                at,
                number
            ],
        )?;
        let mut fields = Fields::new()
            .with("client_id", client.id)
            .with("premises_id", premises.id)
            .with("kind", new.kind.as_str())
            .with("method", new.method.as_str())
            .with("amount_pence", amount)
            .with("reference", &reference)
            .with("note", &note)
            .with("taken_by", by)
            .with("taken_at", &at);
        if let Some(n) = number {
            fields.put("number", n);
        }
        self.record(Action::TakePayment, Entity::Payment, id, ChangeKind::Create, fields)?;
        payment(self.tx(), id)
    }

    /// Records a card payment taken down earlier as run on the terminal: approved (with the
    /// terminal's reference) or declined (the client owes it again).
    pub fn run_card_payment(&mut self, payment_id: Uuid, approved: bool, reference: &str) -> Result<Payment> {
        self.authorize(Action::TakePayment)?;
        let p = payment(self.tx(), payment_id)?;
        // A card declined may be run again (the client tries another card, or the bank allows it).
        if !matches!(p.card, CardState::ToRun | CardState::Declined) {
            return Err(Error::Conflict(match p.card {
                CardState::NotToRun => "this payment was not taken down to run later".into(),
                _ => "this card payment has been run and approved already".into(),
            }));
        }
        if let Some(reason) = &p.void_reason {
            return Err(Error::Conflict(format!("this payment was voided ({reason})")));
        }
        let reference = validate::optional("reference", reference, 40)?;
        if approved && reference.is_empty() {
            return Err(Error::invalid("reference", "give the terminal's reference from the card slip"));
        }
        let id = self.new_id();
        let (by, at) = (self.actor().id, time::stored(self.now()));
        let outcome = if approved { "approved" } else { "declined" };
        self.tx().execute(
            "INSERT INTO card_run (id, payment_id, outcome, reference, run_by, run_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![id.to_string(), p.id.to_string(), outcome, reference, by.to_string(), at],
        )?;
        let fields = Fields::new()
            .with("payment_id", p.id)
            .with("outcome", outcome)
            .with("reference", &reference)
            .with("run_by", by)
            .with("run_at", &at);
        self.record(Action::TakePayment, Entity::CardRun, id, ChangeKind::Create, fields)?;
        payment(self.tx(), p.id)
    }

    /// Records the cash counted at the end of `day` at this PC's premises against the cash taken in
    /// Lifeboat, with the difference.
    pub fn cash_up(&mut self, day: NaiveDate, counted: &str, note: &str) -> Result<CashUp> {
        self.authorize(Action::CashUp)?;
        time::sane_date("day", day)?;
        if day > self.today() {
            return Err(Error::invalid("day", "is still to come: cash up a day once it has ended"));
        }
        let counted = pence_or_nothing("counted", counted)?;
        let note = validate::optional("note", note, 300)?;
        let premises = practice::this_premises(self.tx())?;
        let expected = takings(self.tx(), &premises, day)?.cash_pence;
        let difference = counted - expected;
        if difference != 0 && note.is_empty() {
            return Err(Error::invalid(
                "note",
                format!(
                    "say why the till is {} {}",
                    money(difference.abs()),
                    if difference < 0 { "short" } else { "over" }
                ),
            ));
        }
        let id = self.new_id();
        let (by, at) = (self.actor().id, time::stored(self.now()));
        self.tx().execute(
            "INSERT INTO cash_up (id, premises_id, day, expected_pence, counted_pence, difference_pence, note, counted_by, counted_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
            params![
                id.to_string(),
                premises.id.to_string(),
                time::stored_date(day),
                expected,
                counted,
                difference,
                note,
                by.to_string(),
                at
            ],
        )?;
        let fields = Fields::new()
            .with("premises_id", premises.id)
            .with("day", time::stored_date(day))
            .with("expected_pence", expected)
            .with("counted_pence", counted)
            .with("difference_pence", difference)
            .with("note", &note)
            .with("counted_by", by)
            .with("counted_at", &at);
        self.record(Action::CashUp, Entity::CashUp, id, ChangeKind::Create, fields)?;
        cash_ups(self.tx(), premises.id, day)?
            .into_iter()
            .find(|c| c.id == id)
            .ok_or_else(|| Error::Internal("the cash-up just written was not found".into()))
    }

    /// Notes an insurance claim to make for an animal, against its (first) owner.
    pub fn record_claim(&mut self, new: &NewClaim) -> Result<Claim> {
        self.authorize(Action::RecordClaim)?;
        let patient = patient::get(self.tx(), new.patient_id)?;
        let client_id = *patient
            .owner_ids
            .first()
            .ok_or_else(|| Error::invalid("patient_id", format!("{} has no owner to claim for", patient.name)))?;
        let insurer = validate::required("insurer", &new.insurer, 80)?;
        let policy = validate::required("policy_number", &new.policy_number, 40)?;
        let condition = validate::required("condition", &new.condition, 200)?;
        let amount = pence("amount", &new.amount)?;
        let note = validate::optional_multiline("note", &new.note, 1000)?;
        let id = self.new_id();
        let (by, at) = (self.actor().id, time::stored(self.now()));
        self.tx().execute(
            "INSERT INTO insurance_claim (id, client_id, patient_id, insurer, policy_number, condition, amount_pence, note, made_by, made_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
            params![
                id.to_string(),
                client_id.to_string(),
                patient.id.to_string(),
                insurer,
                policy,
                condition,
                amount,
                note,
                by.to_string(),
                at
            ],
        )?;
        let fields = Fields::new()
            .with("client_id", client_id)
            .with("patient_id", patient.id)
            .with("insurer", &insurer)
            .with("policy_number", &policy)
            .with("condition", &condition)
            .with("amount_pence", amount)
            .with("note", &note)
            .with("made_by", by)
            .with("made_at", &at);
        self.record(Action::RecordClaim, Entity::InsuranceClaim, id, ChangeKind::Create, fields)?;
        claims(self.tx(), "k.id = ?1", [id.to_string()])?
            .pop()
            .ok_or_else(|| Error::Internal("the claim just written was not found".into()))
    }
}

/// "£1,234.50".
pub fn money(pence: i64) -> String {
    let sign = if pence < 0 { "-" } else { "" };
    let p = pence.abs();
    let pounds = (p / 100).to_string();
    let mut grouped = String::new();
    for (i, c) in pounds.chars().enumerate() {
        if i > 0 && (pounds.len() - i).is_multiple_of(3) {
            grouped.push(',');
        }
        grouped.push(c);
    }
    format!("{sign}£{grouped}.{:02}", p % 100)
}

impl Store {
    pub fn take_payment(&self, session: &Session, new: &NewPayment) -> Result<Payment> {
        self.write(session, |w| w.take_payment(new))
    }

    pub fn run_card_payment(
        &self,
        session: &Session,
        payment: Uuid,
        approved: bool,
        reference: &str,
    ) -> Result<Payment> {
        self.write(session, |w| w.run_card_payment(payment, approved, reference))
    }

    pub fn cash_up(&self, session: &Session, day: NaiveDate, counted: &str, note: &str) -> Result<CashUp> {
        self.write(session, |w| w.cash_up(day, counted, note))
    }

    pub fn record_claim(&self, session: &Session, new: &NewClaim) -> Result<Claim> {
        self.write(session, |w| w.record_claim(new))
    }

    pub fn client_account(&self, session: &Session, client: Uuid) -> Result<ClientAccount> {
        self.read_as(session, Action::ViewRecords, |r| account(r, client))
    }

    /// A day's takings at this PC's premises, the card payments still to run and the claims.
    pub fn takings(&self, session: &Session, day: NaiveDate) -> Result<Takings> {
        self.read_as(session, Action::ViewRecords, |r| {
            time::sane_date("day", day)?;
            takings(r, &practice::this_premises(r)?, day)
        })
    }

    pub fn receipt(&self, session: &Session, payment: Uuid) -> Result<Receipt> {
        self.read_as(session, Action::ViewRecords, |r| receipt(r, payment))
    }
}

#[cfg(test)]
mod tests {
    use super::{money, pence};

    #[test]
    fn amounts_are_read_as_people_write_them() {
        for (text, want) in
            [("45", 4500), ("45.5", 4550), ("45.50", 4550), ("£1,200.00", 120000), (" £ 0.99 ", 99), (".5", 50)]
        {
            assert_eq!(pence("amount", text).unwrap(), want, "{text:?}");
        }
        for bad in ["", "0", "-5", "45.505", "4 5", "abc", "1e3", "£100,000.01", "9999999", "45.", "NaN"] {
            let e = pence("amount", bad).unwrap_err();
            assert_eq!(e.field(), Some("amount"), "{bad:?}: {e}");
        }
        assert_eq!(money(123450), "£1,234.50");
        assert_eq!(money(-5), "-£0.05");
        assert_eq!(money(100000000), "£1,000,000.00");
    }
}
