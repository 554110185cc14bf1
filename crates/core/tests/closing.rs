//! Closing the outage and the purge: refused until every record is verified; a final export signed
//! and noted; the purge only when due, blanking the copies of PMS records on every PC and in each PC's
//! journal, keeping what the law requires; journaled, audited and reported.

mod common;

use common::{clinic, login_as, Clinic, PASSWORD};
use lifeboat_core::clinical::consultation::StartConsultation;
use lifeboat_core::closing::{verify_final_export, PurgeCounts};
use lifeboat_core::ledger::{EnteredMark, LedgerFilter, Stage};
use lifeboat_core::{ErrorCode, NewClient, NewPatient, Role, Session, Species, Store};

/// The consult-room practice during an outage, with Biscuit's consultation started, and a second
/// client (Ivy, with her cat) who never came in.
fn outage() -> (Clinic, Session, uuid::Uuid) {
    let c = clinic();
    let manager = login_as(c.store(), &c.r.admin, "m.manager", Role::Manager);
    c.store().set_outage_began(&manager, Some(common::local("2026-03-29 09:00"))).unwrap();
    let start = StartConsultation { appointment_id: Some(c.appointment.id), patient_id: None };
    c.store().start_consultation(&c.vet, &start).unwrap();
    let ivy = NewClient {
        first_name: "Ivy".into(),
        last_name: "Ashdown".into(),
        phone: "07700 900501".into(),
        ..Default::default()
    };
    let ivy = c.store().register_client(&c.r.desk, &ivy).unwrap();
    c.store().register_patient(&c.r.desk, ivy.id, &NewPatient::new("Smudge", Species::Cat)).unwrap();
    (c, manager, ivy.id)
}

/// Every record of the backlog entered (with a number where needed) and verified.
fn reconcile(store: &Store, manager: &Session) {
    let l = store.ledger(manager, &LedgerFilter { limit: Some(5000), ..Default::default() }).unwrap();
    let marks: Vec<EnteredMark> = l
        .entries
        .iter()
        .enumerate()
        .map(|(i, e)| EnteredMark { record_id: e.id.clone(), pms_id: format!("P{i}") })
        .collect();
    store.mark_entered(manager, &marks).unwrap();
    let ids: Vec<String> = l.entries.iter().map(|e| e.id.clone()).collect();
    store.mark_verified(manager, &ids).unwrap();
}

fn client_row(store: &Store, id: &str) -> Vec<String> {
    store
        .read(|c| {
            Ok(c.query_row(
                "SELECT title, first_name, last_name, address_line1, town, postcode, phone, email, notes, purged_at IS NOT NULL FROM client WHERE id = ?1",
                [id],
                |r| (0..10).map(|i| r.get::<_, rusqlite::types::Value>(i).map(|v| format!("{v:?}"))).collect::<rusqlite::Result<Vec<_>>>(),
            )?)
        })
        .unwrap()
}

fn journal_mentions(store: &Store, text: &str) -> i64 {
    store
        .read(|c| {
            Ok(c.query_row(
                "SELECT count(*) FROM journal WHERE payload LIKE '%' || ?1 || '%' OR base LIKE '%' || ?1 || '%'",
                [text],
                |r| r.get(0),
            )?)
        })
        .unwrap()
}

#[test]
fn the_outage_closes_only_when_every_record_is_verified_with_a_signed_final_export() {
    let (c, manager, _) = outage();
    let refused = c.store().close_outage(&manager, 30).unwrap_err();
    assert_eq!(
        refused.to_string(),
        "outage: 6 records are not verified in the PMS yet (6 captured, 0 exported, 0 entered): finish the ledger first"
    );
    assert_eq!(c.store().close_outage(&c.r.desk, 30).unwrap_err().code(), ErrorCode::Forbidden);
    reconcile(c.store(), &manager);
    let refused = c.store().close_outage(&manager, 400).unwrap_err();
    assert_eq!(refused.to_string(), "purge_after_days: is more than 366 days");

    let closed = c.store().close_outage(&manager, 30).unwrap();
    assert_eq!(closed.closure.records, 6);
    assert_eq!(closed.closure.closed_by, "Test manager");
    assert_eq!((closed.closure.purge_after - closed.closure.closed_at).num_days(), 30);
    verify_final_export(&closed.closure, &closed.final_export).unwrap();
    let mut forged = closed.final_export.clone();
    forged[10] ^= 1;
    let refused = verify_final_export(&closed.closure, &forged).unwrap_err();
    assert!(refused.to_string().starts_with("file: its SHA-256 is "), "{refused}");
    let bundle: serde_json::Value = serde_json::from_slice(&closed.final_export).unwrap();
    assert_eq!(bundle["type"], "transaction");
    let again = c.store().close_outage(&manager, 30).unwrap_err();
    assert_eq!(again.code(), ErrorCode::Conflict);
    let status = c.store().closing_status(&manager).unwrap();
    assert_eq!(status.closure, Some(closed.closure));
    assert_eq!(status.ledger.verified, 6);
}

#[test]
fn the_purge_waits_for_its_day_then_blanks_the_copies_everywhere_and_keeps_what_the_law_requires() {
    let (c, manager, ivy) = outage();
    reconcile(c.store(), &manager);
    // Another PC of the practice holds everything so far.
    let (_dir, other) = common::store();
    let sync = |from: &Store, to: &Store| {
        let changes = from.changes_missing_from(&to.marks().unwrap(), 100_000).unwrap();
        let applied = to.apply_changes(&changes).unwrap();
        assert_eq!((applied.quarantined, applied.conflicts), (0, 0));
    };
    sync(c.store(), &other);
    assert!(journal_mentions(&other, "Ashdown") > 0);

    c.store().close_outage(&manager, 30).unwrap();
    // A client registered after the closing is not a copy of the PMS: kept.
    let later = NewClient {
        first_name: "Lou".into(),
        last_name: "Later".into(),
        phone: "07700 900777".into(),
        ..Default::default()
    };
    let later = c.store().register_client(&c.r.desk, &later).unwrap();
    // A drill ended on each PC: its report names animals and staff, and goes with the purge.
    let drills = tempfile::TempDir::new().unwrap();
    let drill_on = |store: &lifeboat_core::Store, manager: &lifeboat_core::Session| {
        let plan = lifeboat_core::drill::DrillPlan::standard();
        let drill = store.start_drill(manager, &plan, drills.path()).unwrap();
        let copy = lifeboat_core::Store::open_drill(&drill, c.r.clock.clone()).unwrap();
        store.end_drill(manager, Some(&copy)).unwrap();
        let count = |s: &lifeboat_core::Store| {
            s.read(|r| Ok(r.query_row("SELECT count(*) FROM drill", [], |row| row.get::<_, i64>(0))?)).unwrap()
        };
        assert_eq!(count(store), 1);
        count
    };
    let drills_here = drill_on(c.store(), &manager);
    let _ = drill_on(&other, &manager);
    let refused = c.store().purge_copies(&manager).unwrap_err();
    assert!(refused.to_string().starts_with("purge: is due on 28/04/2026 "), "{refused}");
    c.r.clock.advance(chrono::Duration::days(31));
    let plan = c.store().closing_status(&manager).unwrap().would_purge.unwrap();
    let done = c.store().purge_copies(&manager).unwrap();
    assert_eq!(plan, done);
    assert_eq!(drills_here(c.store()), 0, "the drill's report is forgotten with the purge");
    // Ivy and Smudge never came in: purged. Agatha and Biscuit are named by a consultation: kept. The
    // booking became the consultation: kept.
    assert_eq!(done, PurgeCounts { clients: 1, patients: 1, appointments: 0, kept_clients: 2, kept_patients: 1 });
    assert_eq!(c.store().client(&manager, later.id).unwrap().last_name, "Later");
    let here = c.store().ledger(&manager, &LedgerFilter::default()).unwrap();
    assert_eq!(
        (here.total.verified, here.total.captured),
        (6, 1),
        "purged records stay verified (not changed again); Lou, registered after closing, is new work"
    );
    let blank = vec![
        "Text(\"\")",
        "Text(\"\")",
        "Text(\"(purged)\")",
        "Text(\"\")",
        "Text(\"\")",
        "Text(\"\")",
        "Text(\"\")",
        "Text(\"\")",
        "Text(\"\")",
        "Integer(1)",
    ];
    assert_eq!(client_row(c.store(), &ivy.to_string()), blank);
    assert_eq!(journal_mentions(c.store(), "Ashdown"), 0, "no copy left in this PC's journal");
    assert_eq!(journal_mentions(c.store(), "07700 900501"), 0);
    assert_eq!(journal_mentions(c.store(), "Smudge"), 0);
    assert!(journal_mentions(c.store(), "Quillfeather") > 0, "the kept client's history stays");
    let agatha = c.store().client(&manager, c.r.client.id).unwrap();
    assert_eq!(agatha.last_name, "Quillfeather");
    assert!(c.store().search(&c.r.desk, "Ashdown", 10).unwrap().is_empty(), "search finds nothing of her");
    // Journaled, audited, and the journal and audit still check out (a redacted entry is by design).
    assert!(c.store().verify_audit().unwrap().is_intact());
    assert!(c.store().doctor().unwrap().is_healthy(), "{:?}", c.store().doctor().unwrap());
    assert_eq!(c.store().doctor().unwrap().search_index_differences, 0, "the purge rewrote the index");
    assert!(c.store().search(&c.r.desk, "purged", 10).unwrap().is_empty(), "a purged copy has no words");
    let status = c.store().closing_status(&manager).unwrap();
    assert_eq!(status.runs.len(), 1);
    assert_eq!(status.runs[0].2, done);
    assert_eq!(status.would_purge, Some(PurgeCounts { kept_clients: 2, kept_patients: 1, ..Default::default() }));
    // Marking another change "purged" by hand does not hide an edit from the checks.
    {
        let raw = common::raw_connection(&c.r.dir);
        raw.execute(
            "UPDATE journal SET payload = '{\"last_name\":\"Forged\"}', redacted_at = '2026-05-01T00:00:00.000Z'
             WHERE entity = 'client' AND entity_id = ?1 AND kind = 'create'",
            [c.r.client.id.to_string()],
        )
        .unwrap();
    }
    let report = c.store().doctor().unwrap();
    assert!(!report.is_healthy());
    assert!(
        format!("{report:?}").contains("it is marked purged, but holds values or its record was never purged"),
        "{report:?}"
    );
    // The closure and the purge record are never changed or deleted, whoever runs the SQL.
    {
        let raw = common::raw_connection(&c.r.dir);
        let refused =
            raw.execute("UPDATE outage_closure SET purge_after = '2020-01-01T00:00:00.000Z'", []).unwrap_err();
        assert!(refused.to_string().contains("a closed outage cannot be changed"), "{refused}");
        let refused = raw.execute("DELETE FROM purge_run", []).unwrap_err();
        assert!(refused.to_string().contains("a purge record cannot be deleted"), "{refused}");
    }
    // Nothing left to purge: a second run purges nothing.
    assert_eq!(c.store().purge_copies(&manager).unwrap().clients, 0);

    // The other PC receives the purge and blanks its own copies, journal included.
    sync(c.store(), &other);
    assert_eq!(client_row(&other, &ivy.to_string()), blank);
    assert_eq!(drills_here(&other), 0, "the other PC forgets its drill reports on receiving the purge");
    assert_eq!(journal_mentions(&other, "Ashdown"), 0);
    assert_eq!(c.store().dump().unwrap(), other.dump().unwrap());
    let there = other.login("m.manager", PASSWORD).unwrap();
    let l = other.ledger(&there, &LedgerFilter::default()).unwrap();
    assert_eq!((l.total.verified, l.total.captured), (6, 1), "the purge does not send records back to captured");
    assert!(l.entries.iter().all(|e| e.stage == Stage::Verified || e.id == later.id.to_string()));
}
