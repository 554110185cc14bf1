//! Numbers people can read: blocks of client, animal and receipt numbers given to each PC, drawn in
//! order, never clashing between two PCs (an overlapping block is refused wherever the other is
//! known), and shown on the client, the animal, the receipt and the back-entry worklist.

mod common;

use common::*;
use lifeboat_core::accounts::{NewPayment, PaymentKind, PaymentMethod};
use lifeboat_core::organisation::numbers::NumberKind;
use lifeboat_core::{ErrorCode, NewClient, NewPatient, Role, Species, Store, StoreConfig};

fn client(store: &Store, session: &lifeboat_core::Session, name: &str) -> (lifeboat_core::Client, uuid::Uuid) {
    let new = NewClient { last_name: name.into(), phone: "07700 900461".into(), ..Default::default() };
    let r = store.register_client_with_patient(session, &new, Some(&NewPatient::new("Pepper", Species::Cat))).unwrap();
    (r.client, r.patient.unwrap().id)
}

#[test]
fn two_pcs_draw_from_their_own_blocks_and_never_clash() {
    let r = reception();
    let manager = login_as(&r.store, &r.admin, "m.manager", Role::Manager);
    // A third PC that synced before any block was given.
    let apart_dir = tempfile::TempDir::new().unwrap();
    let apart = Store::open(StoreConfig::in_dir(apart_dir.path()), clock()).unwrap();
    apart.apply_changes(&r.store.changes_missing_from(&apart.marks().unwrap(), 100_000).unwrap()).unwrap();
    r.store.add_number_block(&manager, NumberKind::Client, 1001, 1002).unwrap();
    r.store.add_number_block(&manager, NumberKind::Animal, 1, 10).unwrap();
    r.store.add_number_block(&manager, NumberKind::Receipt, 1, 100).unwrap();
    let e = r.store.add_number_block(&r.desk, NumberKind::Client, 5000, 5100).unwrap_err();
    assert_eq!(e.code(), ErrorCode::Forbidden, "reception does not give out numbers");
    for (first, last, field) in [(0, 10, "first"), (10, 9, "last"), (1, 2_000_000, "last"), (1002, 1010, "first")] {
        let e = r.store.add_number_block(&manager, NumberKind::Client, first, last).unwrap_err();
        assert_eq!(e.field(), Some(field), "{first}-{last}: {e}");
    }

    let (a1, pet1) = client(&r.store, &r.desk, "Ashdown");
    let (a2, _) = client(&r.store, &r.desk, "Brampton");
    let (a3, _) = client(&r.store, &r.desk, "Carew");
    let numbers = |s: &Store, id| s.client_record(&r.desk, id).unwrap().number;
    assert_eq!((numbers(&r.store, a1.id), numbers(&r.store, a2.id)), (Some("C-1001".into()), Some("C-1002".into())));
    assert_eq!(numbers(&r.store, a3.id), None, "the block is used up: no number rather than a clash");
    assert_eq!(r.store.patient_record(&r.desk, pet1).unwrap().number.as_deref(), Some("A-1"));
    let blocks = r.store.number_blocks(&r.desk).unwrap();
    assert_eq!(
        blocks.next.iter().map(|(k, n)| (*k, n.clone())).collect::<Vec<_>>(),
        vec![
            (NumberKind::Client, None),
            (NumberKind::Animal, Some("A-4".into())),
            (NumberKind::Receipt, Some("R-1".into())),
        ]
    );
    let paid = r
        .store
        .take_payment(
            &r.desk,
            &NewPayment {
                client_id: a1.id,
                kind: PaymentKind::Payment,
                method: PaymentMethod::Cash,
                amount: "10".into(),
                reference: String::new(),
                note: String::new(),
            },
        )
        .unwrap();
    assert_eq!(paid.number.as_deref(), Some("R-1"), "the receipt's number");

    // A second PC: it knows the first PC's blocks, so it cannot be given the same numbers.
    let dir = tempfile::TempDir::new().unwrap();
    let other = Store::open(StoreConfig::in_dir(dir.path()), clock()).unwrap();
    other.apply_changes(&r.store.changes_missing_from(&other.marks().unwrap(), 100_000).unwrap()).unwrap();
    let manager_b = other.login("m.manager", PASSWORD).unwrap();
    let e = other.add_number_block(&manager_b, NumberKind::Client, 1000, 1500).unwrap_err();
    assert!(e.to_string().contains("overlaps the block C-1001 to C-1002"), "{e}");
    other.add_number_block(&manager_b, NumberKind::Client, 2001, 2999).unwrap();
    let desk_b = other.login("desk", PASSWORD).unwrap();
    let (b1, _) = client(&other, &desk_b, "Dunmore");
    assert_eq!(other.client_record(&desk_b, b1.id).unwrap().number.as_deref(), Some("C-2001"));
    assert_eq!(other.number_blocks(&desk_b).unwrap().blocks.iter().filter(|b| b.mine).count(), 1, "its own block");

    // Both ways: every client keeps its number on both PCs, and no number is given twice.
    r.store.apply_changes(&other.changes_missing_from(&r.store.marks().unwrap(), 100_000).unwrap()).unwrap();
    other.apply_changes(&r.store.changes_missing_from(&other.marks().unwrap(), 100_000).unwrap()).unwrap();
    let rows = |s: &Store| -> Vec<(String, Option<i64>)> {
        s.read(|c| {
            let mut stmt = c.prepare("SELECT last_name, number FROM client ORDER BY last_name").unwrap();
            Ok(stmt.query_map([], |x| Ok((x.get(0)?, x.get(1)?))).unwrap().collect::<Result<Vec<_>, _>>().unwrap())
        })
        .unwrap()
    };
    assert_eq!(rows(&r.store), rows(&other));
    let given: Vec<i64> = rows(&r.store).into_iter().filter_map(|(_, n)| n).collect();
    let mut distinct = given.clone();
    distinct.sort_unstable();
    distinct.dedup();
    assert_eq!(given.len(), distinct.len(), "no number twice: {given:?}");
    assert_eq!(given.len(), 3);
    assert!(r.store.number_blocks(&r.desk).unwrap().blocks.iter().all(|b| !b.overlaps));
    // A block cannot be widened or removed behind Lifeboat's back.
    let raw = raw_connection(&r.dir);
    for sql in ["UPDATE number_block SET last = 999999", "DELETE FROM number_block"] {
        let e = raw.execute_batch(sql).unwrap_err().to_string();
        assert!(e.contains("cannot be"), "{sql}: {e}");
    }

    // The PC that had not synced is given an overlapping block: once it hears of the other, both
    // blocks show as overlapping.
    let manager_c = apart.login("m.manager", PASSWORD).unwrap();
    apart.add_number_block(&manager_c, NumberKind::Client, 1001, 1100).unwrap();
    apart.apply_changes(&r.store.changes_missing_from(&apart.marks().unwrap(), 100_000).unwrap()).unwrap();
    let clients: Vec<(bool, i64, bool)> = apart
        .number_blocks(&manager_c)
        .unwrap()
        .blocks
        .iter()
        .filter(|b| b.kind == NumberKind::Client)
        .map(|b| (b.mine, b.first, b.overlaps))
        .collect();
    assert_eq!(clients, vec![(true, 1001, true), (false, 1001, true), (false, 2001, false)]);
}

#[test]
fn the_worklist_names_lifeboat_numbers_beside_the_record() {
    let r = reception();
    let manager = login_as(&r.store, &r.admin, "m.manager", Role::Manager);
    r.store.set_outage_began(&manager, Some(local("2026-03-29 00:00"))).unwrap();
    r.store.add_number_block(&manager, NumberKind::Client, 501, 600).unwrap();
    let (c, _) = client(&r.store, &r.desk, "Ashdown");
    let ledger = r.store.ledger(&manager, &lifeboat_core::ledger::LedgerFilter::default()).unwrap();
    let line = ledger.entries.iter().find(|e| e.id == c.id.to_string()).map(|e| e.summary.clone()).unwrap();
    assert_eq!(line, "Ashdown (Lifeboat no. C-501)");
}

#[test]
fn a_lifeboat_number_finds_its_record() {
    let r = reception();
    let manager = login_as(&r.store, &r.admin, "m.manager", Role::Manager);
    r.store.add_number_block(&manager, NumberKind::Client, 1001, 1999).unwrap();
    r.store.add_number_block(&manager, NumberKind::Animal, 52, 99).unwrap();
    let (c, pet) = client(&r.store, &r.desk, "Ashdown");
    for query in ["C-1001", "c1001", "A-52"] {
        let hits = r.store.search(&r.desk, query, 10).unwrap();
        assert_eq!(hits.iter().map(|h| h.client_id).collect::<Vec<_>>(), vec![c.id], "{query}");
    }
    let hits = r.store.search(&r.desk, "A-52", 10).unwrap();
    assert_eq!(hits[0].patients.iter().filter(|p| p.matched).map(|p| p.id).collect::<Vec<_>>(), vec![pet]);
    assert!(r.store.search(&r.desk, "C-1500", 10).unwrap().is_empty(), "a number nobody has");
}
