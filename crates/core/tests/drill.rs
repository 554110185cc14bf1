//! Drills: a manager starts one on a copy of the practice's data; staff book, consult, take payment
//! and hand over there against the clock; the report shows each task's time and who did it, and what
//! was missed. Nothing made in the drill reaches the real records, sync, bundles or exports, whoever
//! opens the copy, and the copy is deleted when the drill ends.

mod common;

use chrono::Duration;
use common::*;
use lifeboat_core::accounts::{NewPayment, PaymentKind, PaymentMethod};
use lifeboat_core::clinical::consultation::{ConsultationDraft, StartConsultation};
use lifeboat_core::clinical::vitals::Vitals;
use lifeboat_core::drill::{DrillPlan, DrillTask, Outcome, PlannedTask, TaskResult};
use lifeboat_core::import::columns::ImportKind;
use lifeboat_core::ledger::EnteredMark;
use lifeboat_core::replica::peers::NewPeer;
use lifeboat_core::{Clock, ErrorCode, Role, Store};

fn note() -> ConsultationDraft {
    ConsultationDraft {
        subjective: "Drill: limping.".into(),
        objective: "Drill: sore left fore.".into(),
        assessment: "Drill: sprain.".into(),
        plan: "Drill: rest.".into(),
        vitals: Vitals { weight_kg: Some(12.0), ..Default::default() },
    }
}

fn hub() -> NewPeer {
    NewPeer {
        name: "Hub".into(),
        url: "https://hub.example:8443".into(),
        cert_sha256: "a".repeat(64),
        enrolled: lifeboat_protocol::wire::Enrolled {
            device_id: uuid::Uuid::nil(),
            token: "t".repeat(40),
            practice_id: uuid::Uuid::nil(),
            practice_name: "Riverside Vets".into(),
            server_id: uuid::Uuid::nil(),
            server_key: "b".repeat(64),
        },
    }
}

/// A setting of the database's own (`local_setting`), read behind the store's back.
fn setting(store: &Store, key: &str) -> Option<String> {
    use rusqlite::OptionalExtension;
    store
        .read(|r| {
            Ok(r.query_row("SELECT value FROM local_setting WHERE key = ?1", [key], |row| row.get(0)).optional()?)
        })
        .unwrap()
}

fn refused_as_drill(result: lifeboat_core::Result<impl std::fmt::Debug>, what: &str) {
    let err = result.expect_err(what);
    assert_eq!(err.code(), ErrorCode::Forbidden, "{what}: {err}");
    assert!(err.to_string().starts_with("this is a drill: "), "{what}: {err}");
}

#[test]
fn a_drill_runs_on_a_copy_and_its_report_shows_each_tasks_time_and_what_was_missed() {
    let c = clinic();
    let manager = login_as(c.store(), &c.r.admin, "m.manager", Role::Manager);
    c.store().set_outage_began(&manager, Some(local("2026-03-29 09:00"))).unwrap();
    // This PC syncs with a hub, hosts the relay, signs bundles and keeps a continuity pack.
    c.store().add_peer(Some(&manager), &hub()).unwrap();
    c.store().local_secret("node_signing_key").unwrap();
    c.store().local_secret("relay_key").unwrap();
    c.store().set_local_setting(&manager, "relay_hosting", "on").unwrap();
    // A pack large enough to fill pages of its own: deleted from the copy, they must not stay free.
    c.store().make_continuity_pack(&c.vet, None, |_| [b"%PDF real pack ".as_slice(); 4000].concat()).unwrap();
    let drills = tempfile::TempDir::new().unwrap();
    let real_before = c.store().dump_hash().unwrap();
    let journal_before = count(c.store(), "journal");
    let audit_before = count(c.store(), "audit");

    // Only a manager or admin starts one, with a plan that makes sense.
    let standard = DrillPlan::standard();
    for someone in [&c.r.desk, &c.vet, &c.nurse] {
        let err = c.store().start_drill(someone, &standard, drills.path()).unwrap_err();
        assert_eq!(err.code(), ErrorCode::Forbidden, "{}", someone.username);
    }
    let bad = |tasks: Vec<PlannedTask>| {
        c.store().start_drill(&manager, &DrillPlan { tasks }, drills.path()).unwrap_err().to_string()
    };
    let book = |minutes| PlannedTask { task: DrillTask::Book, minutes };
    assert_eq!(bad(vec![]), "tasks: choose at least one task for the drill");
    assert_eq!(bad(vec![book(5), book(6)]), "tasks.1: Book an appointment is in the plan twice");
    assert_eq!(bad(vec![book(0)]), "tasks.0.minutes: give Book an appointment between 1 and 480 minutes");
    assert_eq!(bad(vec![book(481)]), "tasks.0.minutes: give Book an appointment between 1 and 480 minutes");
    assert_eq!(std::fs::read_dir(drills.path()).unwrap().count(), 0, "a refused drill leaves no copy");

    let drill = c.store().start_drill(&manager, &standard, drills.path()).unwrap();
    let started = c.r.clock.now();
    assert_eq!(
        (drill.started_at, drill.started_by.as_str(), &drill.plan, drill.ended_at, drill.report.is_none()),
        (started, "Test manager", &standard, None, true)
    );
    assert_eq!(c.store().running_drill().unwrap().map(|d| d.id), Some(drill.id));
    let again = c.store().start_drill(&manager, &standard, drills.path()).unwrap_err();
    assert_eq!(again.to_string(), "a drill is already running on this PC: end it before starting another");

    // The copy: the practice's records, marked as a drill, under a node of its own.
    let copy = Store::open_drill(&drill, c.r.clock.clone()).unwrap();
    assert_eq!((copy.drill(), c.store().drill()), (Some(drill.id), None));
    assert_ne!(copy.node_id(), c.store().node_id());
    assert_eq!(copy.dump_hash().unwrap(), real_before, "the copy starts as the practice's records");
    refused_as_drill(copy.start_drill(&manager, &standard, drills.path()), "a drill inside a drill");
    // None of this PC's ways out: no sync server or its token, no keys, no relay, no real pack.
    assert!(copy.peers().unwrap().is_empty(), "the copy keeps no sync server or credential");
    for key in ["node_signing_key", "relay_key", "relay_hosting"] {
        assert_eq!(setting(&copy, key), None, "{key} in the copy");
        assert!(setting(c.store(), key).is_some(), "{key} stays in the real records");
    }
    assert_eq!(count(&copy, "continuity_pack"), 0, "the real pack is not printed from a drill");
    let free: i64 = copy.read(|r| Ok(r.query_row("PRAGMA freelist_count", [], |row| row.get(0))?)).unwrap();
    assert_eq!(free, 0, "what was deleted from the copy is not left in free pages");
    assert_eq!(c.store().peers().unwrap().len(), 1);
    let desk = copy.login("desk", PASSWORD).unwrap();
    let vet = copy.login("v.herriot", PASSWORD).unwrap();

    // Two minutes in, reception books; three minutes in, a card payment is taken down to run later.
    c.r.clock_advance(Duration::minutes(2));
    let mut booking = c.r.booking("2026-03-30 11:00", 15);
    booking.reason = "Drill booking".into();
    copy.book_appointment(&desk, &booking).unwrap();
    c.r.clock_advance(Duration::minutes(1));
    let payment = NewPayment {
        client_id: c.r.client.id,
        kind: PaymentKind::Deposit,
        method: PaymentMethod::CardToRun,
        amount: "34.00".into(),
        reference: String::new(),
        note: String::new(),
    };
    copy.take_payment(&desk, &payment).unwrap();

    // Twelve minutes in, everyone can see how it stands.
    c.r.clock_advance(Duration::minutes(9));
    let live = copy.drill_progress(&desk).unwrap();
    let outcomes: Vec<(DrillTask, Outcome, Option<i64>)> =
        live.tasks.iter().map(|t| (t.task, t.outcome, t.seconds)).collect();
    assert_eq!(
        outcomes,
        vec![
            (DrillTask::Book, Outcome::InTime, Some(120)),
            (DrillTask::Consult, Outcome::Waiting, None),
            (DrillTask::Prescribe, Outcome::Overdue, None),
            (DrillTask::TakePayment, Outcome::InTime, Some(180)),
            (DrillTask::HandOver, Outcome::Overdue, None),
        ]
    );
    assert!(!live.ended);

    // The vet signs 20 minutes in (five late); the manager marks the client entered in the PMS 25
    // minutes in; a consultation is started and left unsigned; nobody prescribes.
    c.r.clock_advance(Duration::minutes(8));
    let consult = copy
        .start_consultation(&vet, &StartConsultation { appointment_id: Some(c.appointment.id), patient_id: None })
        .unwrap();
    copy.save_consultation_draft(&vet, consult.id, &note()).unwrap();
    copy.sign_consultation(&vet, consult.id, PASSWORD, true).unwrap();
    copy.start_consultation(&vet, &StartConsultation { appointment_id: None, patient_id: Some(c.r.dog.id) }).unwrap();
    c.r.clock_advance(Duration::minutes(5));
    let mark = EnteredMark { record_id: c.r.client.id.to_string(), pms_id: "C-5001".into() };
    copy.mark_entered(&manager, &[mark]).unwrap();

    // Nothing made in the drill leaves the copy: no push, no bundle, no pull, no export, no hand-over,
    // no sync server.
    refused_as_drill(copy.changes_to_push(&[], 1000), "a push");
    refused_as_drill(copy.changes_missing_from(&[], 1000), "a bundle");
    let real_changes = c.store().changes_missing_from(&[], 1000).unwrap();
    refused_as_drill(copy.apply_changes(&real_changes[..1]), "a pull");
    refused_as_drill(copy.export_csv(&manager, ImportKind::Clients, None), "a CSV export");
    refused_as_drill(copy.export_fhir(&manager), "a FHIR export");
    refused_as_drill(copy.handover_body(&vet, c.r.dog.id, "Hilltop Vets", ""), "a hand-over");
    refused_as_drill(copy.add_peer(Some(&manager), &hub()), "a sync server");
    refused_as_drill(copy.close_outage(&manager, 30), "closing the outage (its final export)");
    refused_as_drill(copy.purge_copies(&manager), "the purge");
    refused_as_drill(copy.set_idle_lock_minutes(&manager, 10), "a setting of this PC, lost with the copy");
    refused_as_drill(copy.set_continuity_schedule(&manager, Some("19:00")), "the evening pack's time");

    // A sweep of the drills folder while the drill runs leaves its copy alone.
    assert_eq!(c.store().remove_drill_copies(drills.path()).unwrap(), 0);
    assert!(drill.folder.exists() && copy.drill_progress(&desk).is_ok());

    // And the real records never saw any of it.
    assert_eq!(c.store().dump_hash().unwrap(), real_before);
    assert_eq!((count(c.store(), "journal"), count(c.store(), "audit")), (journal_before, audit_before));
    let drill_node = copy.node_id();
    assert!(c.store().changes_missing_from(&[], 100_000).unwrap().iter().all(|ch| ch.node_id != drill_node));

    // The manager ends it 30 minutes in.
    c.r.clock_advance(Duration::minutes(5));
    let ended_at = c.r.clock.now();
    let ended = c.store().end_drill(&manager, Some(&copy)).unwrap();
    assert_eq!((ended.ended_at, ended.ended_by.as_deref()), (Some(ended_at), Some("Test manager")));
    let report = ended.report.clone().unwrap();
    let result = |task: DrillTask, minutes, seconds: Option<i64>, by: Option<&str>, outcome| TaskResult {
        task,
        label: task.label().into(),
        minutes,
        done_at: seconds.map(|s| started + Duration::seconds(s)),
        seconds,
        by: by.map(Into::into),
        outcome,
    };
    assert_eq!(
        report.tasks,
        vec![
            result(DrillTask::Book, 5, Some(120), Some("Test reception"), Outcome::InTime),
            result(DrillTask::Consult, 15, Some(1200), Some("James Herriot"), Outcome::Late),
            result(DrillTask::Prescribe, 10, None, None, Outcome::Missed),
            result(DrillTask::TakePayment, 5, Some(180), Some("Test reception"), Outcome::InTime),
            result(DrillTask::HandOver, 10, Some(1500), Some("Test manager"), Outcome::Late),
        ]
    );
    assert_eq!(
        report.missed,
        vec![
            "Record and sign a consultation: done after 20 min 00 s, against 15 min",
            "Prescribe a medicine: not done",
            "Hand over to the PMS: mark a record entered: done after 25 min 00 s, against 10 min",
            "Biscuit's consultation (James Herriot) was left unsigned",
            "A card payment of £34.00 to run later was not run",
        ]
    );
    assert_eq!(report.people, vec!["James Herriot", "Test manager", "Test reception"]);
    assert_eq!((report.started_at, report.as_of, report.ended, report.drill_id), (started, ended_at, true, drill.id));
    assert!(report.changes >= 6, "{}", report.changes);

    // The copy is deleted once closed; the report stays in this PC's list; a new drill may start.
    let folder = ended.folder.clone();
    assert!(folder.exists());
    drop(copy);
    // A copy left by a start that never finished is swept too; other folders are left alone.
    let stray = drills.path().join(uuid::Uuid::now_v7().to_string());
    std::fs::create_dir_all(&stray).unwrap();
    std::fs::create_dir_all(drills.path().join("keep me")).unwrap();
    assert_eq!(c.store().remove_drill_copies(drills.path()).unwrap(), 0);
    assert!(!folder.exists(), "the copy holds the practice's data and is deleted");
    assert!(!stray.exists() && drills.path().join("keep me").exists());
    assert_eq!(c.store().running_drill().unwrap(), None);
    let listed = c.store().drills(&manager).unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].report.as_ref(), Some(&report));
    assert_eq!(c.store().drills(&c.r.desk).unwrap_err().code(), ErrorCode::Forbidden);
    assert_eq!(c.store().dump_hash().unwrap(), real_before, "the drill's list is this PC's own, never synced");
    assert_eq!(
        Store::open_drill(&ended, c.r.clock.clone()).err().map(|e| e.code()),
        Some(ErrorCode::NotFound),
        "an ended drill's copy is gone, and is never recreated empty"
    );
    let next = c.store().start_drill(&manager, &standard, drills.path()).unwrap();
    assert_ne!(next.id, drill.id);
}

#[test]
fn a_drills_copy_refuses_to_sync_whoever_opens_it_and_survives_the_app_restarting() {
    let c = clinic();
    let manager = login_as(c.store(), &c.r.admin, "m.manager", Role::Manager);
    let drills = tempfile::TempDir::new().unwrap();
    let drill = c.store().start_drill(&manager, &DrillPlan::standard(), drills.path()).unwrap();
    {
        let copy = Store::open_drill(&drill, c.r.clock.clone()).unwrap();
        let desk = copy.login("desk", PASSWORD).unwrap();
        c.r.clock_advance(Duration::minutes(1));
        copy.book_appointment(&desk, &c.r.booking("2026-03-30 11:00", 15)).unwrap();
    }
    // Opened as an ordinary database (by the command line, say), it is still a drill.
    let folder = drill.folder.clone();
    let plain = Store::open(lifeboat_core::StoreConfig::in_dir(&folder), c.r.clock.clone()).unwrap();
    assert_eq!(plain.drill(), Some(drill.id));
    refused_as_drill(plain.changes_to_push(&[], 10), "a push from the copy opened as a plain database");
    drop(plain);
    // The app starting again finds the running drill and its copy, with the booking made in it.
    let running = c.store().running_drill().unwrap().expect("still running");
    let copy = Store::open_drill(&running, c.r.clock.clone()).unwrap();
    let manager_there = copy.login("m.manager", PASSWORD).unwrap();
    let progress = copy.drill_progress(&manager_there).unwrap();
    assert_eq!((progress.tasks[0].task, progress.tasks[0].seconds), (DrillTask::Book, Some(60)));
    // A copy of another drill is not this one's.
    let mut other = running.clone();
    other.id = uuid::Uuid::nil();
    assert_eq!(Store::open_drill(&other, c.r.clock.clone()).err().map(|e| e.code()), Some(ErrorCode::Conflict));
    drop(copy);

    // A copy deleted by hand: the drill still ends, saying what it cannot know.
    std::fs::remove_dir_all(&running.folder).unwrap();
    assert_eq!(Store::open_drill(&running, c.r.clock.clone()).err().map(|e| e.code()), Some(ErrorCode::NotFound));
    let ended = c.store().end_drill(&manager, None).unwrap();
    let report = ended.report.unwrap();
    assert_eq!(report.missed, vec!["The drill's copy could not be read, so what was done in it is not known"]);
    assert!(report.tasks.iter().all(|t| t.outcome == Outcome::Missed && t.seconds.is_none()));
    assert_eq!(c.store().running_drill().unwrap(), None);
}

/// The report counts what stands at the end: a payment voided, a card declined or a booking
/// cancelled does not do a task; a card declined is a loose end of its own. Anyone may end a drill.
#[test]
fn the_report_counts_only_what_stands_and_anyone_may_end_the_drill() {
    use lifeboat_core::clinical::void::Voidable;
    let c = clinic();
    let manager = login_as(c.store(), &c.r.admin, "m.manager", Role::Manager);
    let drills = tempfile::TempDir::new().unwrap();
    let plan = DrillPlan {
        tasks: vec![
            PlannedTask { task: DrillTask::Book, minutes: 5 },
            PlannedTask { task: DrillTask::TakePayment, minutes: 5 },
        ],
    };
    let drill = c.store().start_drill(&manager, &plan, drills.path()).unwrap();
    let copy = Store::open_drill(&drill, c.r.clock.clone()).unwrap();
    let desk = copy.login("desk", PASSWORD).unwrap();
    c.r.clock_advance(Duration::minutes(1));
    let booked = copy.book_appointment(&desk, &c.r.booking("2026-03-30 11:00", 15)).unwrap();
    copy.set_appointment_status(&desk, booked.id, lifeboat_core::AppointmentStatus::Cancelled).unwrap();
    let cash = NewPayment {
        client_id: c.r.client.id,
        kind: PaymentKind::Payment,
        method: PaymentMethod::Cash,
        amount: "12.00".into(),
        reference: String::new(),
        note: String::new(),
    };
    let taken = copy.take_payment(&desk, &cash).unwrap();
    copy.void_record(&desk, Voidable::Payment, taken.id, "Wrong client").unwrap();
    let declined = NewPayment { method: PaymentMethod::CardToRun, amount: "7.50".into(), ..cash.clone() };
    let declined = copy.take_payment(&desk, &declined).unwrap();
    c.r.clock_advance(Duration::minutes(1));
    copy.run_card_payment(&desk, declined.id, false, "").unwrap();
    let card = NewPayment { method: PaymentMethod::CardToRun, amount: "20.00".into(), ..cash.clone() };
    let card = copy.take_payment(&desk, &card).unwrap();
    c.r.clock_advance(Duration::minutes(1));
    copy.run_card_payment(&desk, card.id, true, "AUTH 1").unwrap();

    // Reception ends it: the drill is over, or real work must start.
    let ended = c.store().end_drill(&c.r.desk, Some(&copy)).unwrap();
    assert_eq!(ended.ended_by.as_deref(), Some("Test reception"));
    let report = ended.report.unwrap();
    let outcomes: Vec<(DrillTask, Outcome, Option<i64>)> =
        report.tasks.iter().map(|t| (t.task, t.outcome, t.seconds)).collect();
    assert_eq!(
        outcomes,
        vec![(DrillTask::Book, Outcome::Missed, None), (DrillTask::TakePayment, Outcome::InTime, Some(120))],
        "the cancelled booking, the voided cash and the declined card do not count; the card taken at 2 min does"
    );
    assert_eq!(
        report.missed,
        vec!["Book an appointment: not done", "A card payment of £7.50 was declined and not taken again"]
    );
}
