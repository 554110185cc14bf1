//! Taking payment during the outage: a deposit and payments against the charges, a card payment taken
//! down and run later (approved, or declined and owed again), the receipt's VAT, the cash-up with its
//! difference kept, insurance claims, voids, who may do what, and all of it travelling to another PC
//! and into the backlog.

mod common;

use common::*;
use lifeboat_core::accounts::{CardState, NewClaim, NewPayment, PaymentKind, PaymentMethod};
use lifeboat_core::clinical::charge::NewCharge;
use lifeboat_core::clinical::void::Voidable;
use lifeboat_core::{ErrorCode, Role, Store, StoreConfig};

fn consultation_fee(c: &Clinic) {
    let fee = c.store().fees(&c.vet).unwrap().into_iter().find(|f| f.name == "Consultation").unwrap();
    let new = NewCharge {
        patient_id: c.r.dog.id,
        consultation_id: None,
        fee_id: fee.id,
        quantity: String::new(),
        note: String::new(),
    };
    c.store().add_charge(&c.vet, &new).unwrap();
}

fn pay(
    c: &Clinic,
    kind: PaymentKind,
    method: PaymentMethod,
    amount: &str,
    reference: &str,
) -> lifeboat_core::Result<lifeboat_core::accounts::Payment> {
    c.store().take_payment(
        &c.r.desk,
        &NewPayment {
            client_id: c.r.client.id,
            kind,
            method,
            amount: amount.into(),
            reference: reference.into(),
            note: String::new(),
        },
    )
}

#[test]
fn a_deposit_and_a_card_payment_run_later_settle_the_account_and_the_receipt_shows_the_vat() {
    let c = clinic();
    consultation_fee(&c);
    let deposit = pay(&c, PaymentKind::Deposit, PaymentMethod::Cash, "£20", "").unwrap();
    let card = pay(&c, PaymentKind::Payment, PaymentMethod::CardToRun, "34.00", "").unwrap();
    assert_eq!(
        (card.card, card.amount_pence, card.client_name.as_str()),
        (CardState::ToRun, 3400, "Mrs Agatha Quillfeather")
    );
    let account = c.store().client_account(&c.r.desk, c.r.client.id).unwrap();
    assert_eq!(
        (account.charged_pence, account.received_pence, account.to_run_pence, account.balance_pence),
        (5400, 2000, 3400, 3400),
        "a card still to run is not money received"
    );
    let takings = c.store().takings(&c.r.desk, local("2026-03-29 00:00").date()).unwrap();
    assert_eq!((takings.cash_pence, takings.to_run_pence, takings.card_pence), (2000, 3400, 0));
    assert_eq!(takings.cards_to_run.iter().map(|p| p.id).collect::<Vec<_>>(), vec![card.id]);

    let receipt = c.store().receipt(&c.r.desk, deposit.id).unwrap();
    assert_eq!(receipt.vat, vec![(2000, 4500, 900)], "20% VAT on the £45 consultation");
    assert_eq!(receipt.charges.len(), 1);
    assert_eq!(receipt.balance_pence, 3400);

    let e = c.store().run_card_payment(&c.r.desk, card.id, true, "").unwrap_err();
    assert_eq!(e.field(), Some("reference"), "{e}");
    let run = c.store().run_card_payment(&c.r.desk, card.id, true, "AUTH 884213").unwrap();
    assert_eq!((run.card, run.run_reference.as_deref()), (CardState::Approved, Some("AUTH 884213")));
    assert_eq!(c.store().client_account(&c.r.desk, c.r.client.id).unwrap().balance_pence, 0);
    assert!(c.store().takings(&c.r.desk, local("2026-03-29 00:00").date()).unwrap().cards_to_run.is_empty());
    let again = c.store().run_card_payment(&c.r.desk, card.id, true, "AUTH 1").unwrap_err();
    assert_eq!(again.code(), ErrorCode::Conflict);
    let raw = raw_connection(&c.r.dir);
    for sql in ["UPDATE card_run SET outcome = 'declined'", "DELETE FROM card_run"] {
        let e = raw.execute_batch(sql).unwrap_err().to_string();
        assert!(e.contains("cannot be"), "{sql}: {e}");
    }

    // A card declined when run: owed again.
    let declined = pay(&c, PaymentKind::Deposit, PaymentMethod::CardToRun, "100", "").unwrap();
    c.store().run_card_payment(&c.r.desk, declined.id, false, "").unwrap();
    let account = c.store().client_account(&c.r.desk, c.r.client.id).unwrap();
    assert_eq!((account.balance_pence, account.to_run_pence), (0, 0), "a declined card pays nothing");
    assert_eq!(account.payments[0].card, CardState::Declined);
    let day = local("2026-03-29 00:00").date();
    let takings = c.store().takings(&c.r.desk, day).unwrap();
    assert_eq!(takings.cards_declined.iter().map(|p| p.id).collect::<Vec<_>>(), vec![declined.id], "to chase");
    assert_eq!((takings.card_pence, takings.to_run_pence), (3400, 0), "the approved card counts on the day it was run");
    // Run again with another card: approved now.
    let again = c.store().run_card_payment(&c.r.desk, declined.id, true, "AUTH 2").unwrap();
    assert_eq!(again.card, CardState::Approved);
    assert_eq!(
        c.store().client_account(&c.r.desk, c.r.client.id).unwrap().balance_pence,
        -10000,
        "in credit by the deposit"
    );

    // Pay later: agreed, not money; the client is listed as owing with the agreement.
    consultation_fee(&c);
    consultation_fee(&c);
    c.store()
        .take_payment(
            &c.r.desk,
            &NewPayment {
                client_id: c.r.client.id,
                kind: PaymentKind::Payment,
                method: PaymentMethod::PayLater,
                amount: "8".into(),
                reference: String::new(),
                note: "By Friday, agreed with Mrs Q".into(),
            },
        )
        .unwrap();
    let owing = c.store().takings(&c.r.desk, day).unwrap().owing;
    assert_eq!(owing.len(), 1);
    assert_eq!(
        (owing[0].client_id, owing[0].balance_pence, owing[0].pay_later_note.as_deref()),
        (c.r.client.id, 800, Some("By Friday, agreed with Mrs Q"))
    );
    assert!(c.store().verify_audit().unwrap().is_intact());
}

#[test]
fn bad_payments_are_refused_naming_what_is_wrong() {
    let c = clinic();
    let before = count(c.store(), "journal");
    for (amount, method, reference, field) in [
        ("abc", PaymentMethod::Cash, "", "amount"),
        ("-5", PaymentMethod::Cash, "", "amount"),
        ("0", PaymentMethod::Cash, "", "amount"),
        ("45.505", PaymentMethod::Cash, "", "amount"),
        ("100000.01", PaymentMethod::Cash, "", "amount"),
        ("45", PaymentMethod::Card, "", "reference"),
        ("45", PaymentMethod::Card, &"x".repeat(41), "reference"),
        ("12,50", PaymentMethod::Cash, "", "amount"),
        ("1,5", PaymentMethod::Cash, "", "amount"),
        ("45", PaymentMethod::PayLater, "", "note"),
    ] {
        let e = pay(&c, PaymentKind::Payment, method, amount, reference).unwrap_err();
        assert_eq!(e.field(), Some(field), "{amount:?} {method:?}: {e}");
    }
    assert_eq!(count(c.store(), "journal"), before, "nothing was written");
}

#[test]
fn the_cash_up_keeps_every_count_and_its_difference() {
    let c = clinic();
    pay(&c, PaymentKind::Payment, PaymentMethod::Cash, "54", "").unwrap();
    pay(&c, PaymentKind::Payment, PaymentMethod::Card, "20", "T-1").unwrap();
    let day = local("2026-03-29 00:00").date();
    let e = c.store().cash_up(&c.r.desk, day, "52.00", "").unwrap_err();
    assert_eq!(e.field(), Some("note"), "{e}");
    assert!(e.to_string().contains("£2.00 short"), "{e}");
    let first = c.store().cash_up(&c.r.desk, day, "52.00", "£2 given as change twice").unwrap();
    assert_eq!((first.expected_pence, first.counted_pence, first.difference_pence), (5400, 5200, -200));
    let second = c.store().cash_up(&c.r.desk, day, "54", "").unwrap();
    assert_eq!(second.difference_pence, 0);
    let takings = c.store().takings(&c.r.desk, day).unwrap();
    assert_eq!(
        takings.cash_ups.iter().map(|u| u.difference_pence).collect::<Vec<_>>(),
        vec![-200, 0],
        "both counts stay"
    );
    assert_eq!(
        c.store().cash_up(&c.vet, day, "54", "").unwrap_err().code(),
        ErrorCode::Forbidden,
        "vets do not cash up"
    );
    let tomorrow = day.succ_opt().unwrap();
    assert_eq!(c.store().cash_up(&c.r.desk, tomorrow, "0", "").unwrap_err().field(), Some("day"));
    let raw = raw_connection(&c.r.dir);
    for sql in ["UPDATE cash_up SET counted_pence = 5400", "DELETE FROM cash_up", "UPDATE payment SET amount_pence = 1"]
    {
        let e = raw.execute_batch(sql).unwrap_err().to_string();
        assert!(e.contains("cannot be"), "{sql}: {e}");
    }
}

#[test]
fn claims_and_voids_and_who_may_void_them() {
    let c = clinic();
    let claim = c
        .store()
        .record_claim(
            &c.r.desk,
            &NewClaim {
                patient_id: c.r.dog.id,
                insurer: "Petplan".into(),
                policy_number: "PP-4471923".into(),
                condition: "Lameness, left fore".into(),
                amount: "54.00".into(),
                note: String::new(),
            },
        )
        .unwrap();
    assert_eq!((claim.client_id, claim.amount_pence, claim.patient_name.as_str()), (c.r.client.id, 5400, "Biscuit"));
    let e = c
        .store()
        .record_claim(
            &c.r.desk,
            &NewClaim {
                patient_id: c.r.dog.id,
                insurer: String::new(),
                policy_number: "1".into(),
                condition: "x".into(),
                amount: "1".into(),
                note: String::new(),
            },
        )
        .unwrap_err();
    assert_eq!(e.field(), Some("insurer"), "{e}");
    let counted = pay(&c, PaymentKind::Payment, PaymentMethod::Cash, "10", "").unwrap();
    c.store().cash_up(&c.r.desk, local("2026-03-29 00:00").date(), "10", "").unwrap();
    let e = c.store().void_record(&c.r.desk, Voidable::Payment, counted.id, "Typed twice").unwrap_err();
    assert!(e.to_string().contains("counted in a cash-up"), "{e}");
    let payment = pay(&c, PaymentKind::Payment, PaymentMethod::Cheque, "54", "100234").unwrap();
    let other_desk = login_as(c.store(), &c.r.admin, "desk2", Role::Reception);
    let e = c.store().void_record(&other_desk, Voidable::Payment, payment.id, "Typed twice").unwrap_err();
    assert_eq!(e.code(), ErrorCode::Forbidden, "{e}");
    let manager = login_as(c.store(), &c.r.admin, "m.manager", Role::Manager);
    c.store().void_record(&manager, Voidable::Payment, payment.id, "Typed twice").unwrap();
    let account = c.store().client_account(&c.r.desk, c.r.client.id).unwrap();
    assert_eq!((account.received_pence, account.payments[0].void_reason.as_deref()), (1000, Some("Typed twice")));
    c.store().void_record(&manager, Voidable::Payment, counted.id, "Counted, then found typed twice").unwrap();
    c.store().void_record(&c.r.desk, Voidable::InsuranceClaim, claim.id, "Wrong policy").unwrap();
    let raw = raw_connection(&c.r.dir);
    for sql in
        ["UPDATE insurance_claim SET amount_pence = 1", "DELETE FROM insurance_claim", "DELETE FROM clinical_void"]
    {
        let e = raw.execute_batch(sql).unwrap_err().to_string();
        assert!(e.contains("cannot be"), "{sql}: {e}");
    }
    assert!(c.store().takings(&c.r.desk, local("2026-03-29 00:00").date()).unwrap().claims.is_empty());
}

#[test]
fn payments_travel_to_another_pc_and_count_in_the_backlog() {
    let c = clinic();
    let manager = login_as(c.store(), &c.r.admin, "m.manager", Role::Manager);
    c.store().set_outage_began(&manager, Some(local("2026-03-29 09:00"))).unwrap();
    consultation_fee(&c);
    let card = pay(&c, PaymentKind::Payment, PaymentMethod::CardToRun, "54", "").unwrap();
    c.store().run_card_payment(&c.r.desk, card.id, true, "AUTH 1").unwrap();
    c.store().cash_up(&c.r.desk, local("2026-03-29 00:00").date(), "0", "").unwrap();
    let dir = tempfile::TempDir::new().unwrap();
    let other = Store::open(StoreConfig::in_dir(dir.path()), clock()).unwrap();
    other.apply_changes(&c.store().changes_missing_from(&other.marks().unwrap(), 100_000).unwrap()).unwrap();
    let table = |s: &Store, t: &str| -> Vec<String> {
        s.dump().unwrap().lines().filter(|l| l.starts_with(&format!("{t} "))).map(String::from).collect()
    };
    for t in ["payment", "card_run", "cash_up"] {
        assert!(!table(c.store(), t).is_empty(), "{t}");
        assert_eq!(table(&other, t), table(c.store(), t), "{t} arrived whole");
    }
    let desk = other.login("desk", PASSWORD).unwrap();
    assert_eq!(other.client_account(&desk, c.r.client.id).unwrap().balance_pence, 0);
    let kinds: Vec<String> =
        c.store().backlog(&manager).unwrap().totals.iter().map(|t| format!("{} {}", t.0, t.1)).collect();
    for kind in ["Payments 1", "Card payments run 1", "Cash-ups 1"] {
        assert!(kinds.contains(&kind.to_string()), "{kind}: {kinds:?}");
    }
}
