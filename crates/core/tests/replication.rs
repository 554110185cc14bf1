//! Merging changes between nodes (SYNC.md's invariants, at the level of the database): nodes that
//! hold the same changes hold the same data whatever order they arrived in; re-delivery changes
//! nothing; clinical rows are never rewritten; every node raises the same conflicts and finds every
//! double booking; a node with its clock a day wrong still converges and is reported. Also the
//! journal's own integrity: what `verify` catches when rows are removed, altered or cut off.

mod common;

use std::collections::BTreeSet;
use std::sync::Arc;

use chrono::{Duration, TimeZone, Utc};
use common::*;
use lifeboat_core::clinical::consultation::{ConsultationDraft, StartConsultation};
use lifeboat_core::replica::resolve::Resolution;
use lifeboat_core::store::journal;
use lifeboat_core::{
    example, AppointmentKind, AppointmentMove, AppointmentStatus, ManualClock, NewAppointment, NewClient, NewPatient,
    Role, Session, Species, Store, StoreConfig,
};
use proptest::prelude::*;
use tempfile::TempDir;
use uuid::Uuid;

/// One PC of the practice.
struct Node {
    _dir: TempDir,
    clock: Arc<ManualClock>,
    store: Store,
    desk: Option<Session>,
    vets: Vec<Session>,
}

fn start_time() -> chrono::DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 30, 7, 0, 0).unwrap()
}

fn empty_node() -> Node {
    let dir = TempDir::new().unwrap();
    let clock = Arc::new(ManualClock::new(start_time()));
    let store = Store::open(StoreConfig::in_dir(dir.path()), clock.clone()).unwrap();
    Node { _dir: dir, clock, store, desk: None, vets: Vec::new() }
}

/// Sends `to` everything `from` holds that `to` lacks, at most `limit` changes; returns how many.
fn deliver(from: &Node, to: &Node, limit: u32) -> usize {
    let changes = from.store.changes_missing_from(&to.store.marks().unwrap(), limit).unwrap();
    to.store.apply_changes(&changes).unwrap();
    changes.len()
}

/// Exchanges until nobody lacks anything.
fn exchange_all(nodes: &[Node]) {
    loop {
        let mut moved = 0;
        for a in nodes {
            for b in nodes {
                if !std::ptr::eq(a, b) {
                    moved += deliver(a, b, 10_000);
                }
            }
        }
        if moved == 0 {
            return;
        }
    }
}

fn log_in(node: &mut Node) {
    node.desk = Some(node.store.login("desk", PASSWORD).unwrap());
    node.vets = vec![node.store.login("v.one", PASSWORD).unwrap(), node.store.login("v.two", PASSWORD).unwrap()];
}

/// Three PCs of one practice: the first sets it up, the others receive it.
fn practice_of_three() -> Vec<Node> {
    let a = empty_node();
    let admin = a.store.create_practice(&example::practice_setup("admin", PASSWORD)).unwrap();
    for (name, role) in [("desk", Role::Reception), ("v.one", Role::Vet), ("v.two", Role::Vet)] {
        a.store.add_staff(&admin, &example::staff(name, role, PASSWORD)).unwrap();
    }
    let mut nodes = vec![a, empty_node(), empty_node()];
    exchange_all(&nodes);
    for n in &mut nodes {
        log_in(n);
    }
    // The sign-ins are changes too: every node starts holding the same.
    exchange_all(&nodes);
    nodes
}

const SURNAMES: [&str; 3] = ["Quillfeather", "Ashdown", "Brampton"];
const PHONES: [&str; 3] = ["07700 900461", "07700 900462", "01392 496000"];
const CHIPS: [&str; 2] = ["826098100004321", "826098100004322"];

#[derive(Clone, Debug)]
enum Step {
    Register { node: usize, surname: usize, phone: usize, chip: Option<usize> },
    Book { node: usize, vet: usize, slot: u32, patient: usize },
    Move { node: usize, appointment: usize, vet: usize, slot: u32 },
    Cancel { node: usize, appointment: usize },
    EditPhone { node: usize, client: usize, phone: usize },
    Consult { node: usize, appointment: usize, text: usize, sign: bool },
    Resolve { node: usize, conflict: usize, cancel_first: bool },
    Deliver { from: usize, to: usize, limit: u32, resend: bool },
    Tick { node: usize, seconds: u32 },
}

fn step() -> impl Strategy<Value = Step> {
    let node = 0..3usize;
    prop_oneof![
        2 => (node.clone(), 0..3usize, 0..3usize, proptest::option::of(0..2usize))
            .prop_map(|(node, surname, phone, chip)| Step::Register { node, surname, phone, chip }),
        3 => (node.clone(), 0..2usize, 0..6u32, 0..6usize).prop_map(|(node, vet, slot, patient)| Step::Book { node, vet, slot, patient }),
        1 => (node.clone(), 0..6usize, 0..2usize, 0..6u32)
            .prop_map(|(node, appointment, vet, slot)| Step::Move { node, appointment, vet, slot }),
        1 => (node.clone(), 0..6usize).prop_map(|(node, appointment)| Step::Cancel { node, appointment }),
        2 => (node.clone(), 0..5usize, 0..3usize).prop_map(|(node, client, phone)| Step::EditPhone { node, client, phone }),
        2 => (node.clone(), 0..6usize, 0..3usize, any::<bool>())
            .prop_map(|(node, appointment, text, sign)| Step::Consult { node, appointment, text, sign }),
        1 => (node.clone(), 0..4usize, any::<bool>()).prop_map(|(node, conflict, cancel_first)| Step::Resolve { node, conflict, cancel_first }),
        4 => (0..3usize, 0..3usize, 1..40u32, any::<bool>()).prop_map(|(from, to, limit, resend)| Step::Deliver { from, to, limit, resend }),
        1 => (node, 1..600u32).prop_map(|(node, seconds)| Step::Tick { node, seconds }),
    ]
}

fn ids(store: &Store, sql: &str) -> Vec<Uuid> {
    store
        .read(|c| {
            let mut stmt = c.prepare(sql)?;
            let rows = stmt.query_map([], |r| r.get::<_, String>(0))?.collect::<rusqlite::Result<Vec<_>>>()?;
            Ok(rows.iter().map(|s| Uuid::parse_str(s).unwrap()).collect())
        })
        .unwrap()
}

fn slot_start(slot: u32) -> chrono::NaiveDateTime {
    // Tuesday 31 March 2026, from 09:00 in 10-minute steps; bookings are 20 minutes, so neighbours overlap.
    local("2026-03-31 09:00") + Duration::minutes(10 * slot as i64)
}

/// Runs one step; a refusal by a rule of the domain is part of the game, anything else fails.
fn run(nodes: &mut [Node], step: &Step) {
    let ok = |r: lifeboat_core::Result<()>| match r {
        Ok(()) => {}
        Err(e)
            if matches!(
                e.code().as_str(),
                "invalid" | "conflict" | "not_found" | "needs_confirmation" | "forbidden"
            ) => {}
        Err(e) => panic!("{step:?}: {e}"),
    };
    match *step {
        Step::Register { node, surname, phone, chip } => {
            let n = &nodes[node];
            let client = NewClient {
                last_name: SURNAMES[surname].into(),
                first_name: "Sam".into(),
                phone: PHONES[phone].into(),
                ..Default::default()
            };
            let mut pet = NewPatient::new("Pepper", Species::Cat);
            pet.microchip = chip.map(|c| CHIPS[c].to_string()).unwrap_or_default();
            ok(n.store.register_client_with_patient(n.desk.as_ref().unwrap(), &client, Some(&pet)).map(|_| ()));
        }
        Step::Book { node, vet, slot, patient } => {
            let n = &nodes[node];
            let pets = ids(&n.store, "SELECT patient_id FROM ownership ORDER BY patient_id");
            let Some(&patient_id) = pets.get(patient % pets.len().max(1)) else { return };
            let client_id =
                ids(&n.store, &format!("SELECT client_id FROM ownership WHERE patient_id = '{patient_id}'"))[0];
            let booking = NewAppointment {
                clinician_id: n.vets[vet].staff_id,
                room: "Consult 1".into(),
                start: slot_start(slot),
                minutes: 20,
                kind: AppointmentKind::Consultation,
                reason: "Check-up".into(),
                patient_id,
                client_id,
                notes: String::new(),
                confirm_outside_hours: true,
            };
            ok(n.store.book_appointment(n.desk.as_ref().unwrap(), &booking).map(|_| ()));
        }
        Step::Move { node, appointment, vet, slot } => {
            let n = &nodes[node];
            let all = ids(&n.store, "SELECT id FROM appointment ORDER BY id");
            let Some(&id) = all.get(appointment) else { return };
            let to = AppointmentMove {
                clinician_id: n.vets[vet].staff_id,
                room: "Consult 1".into(),
                start: slot_start(slot),
                minutes: 20,
                confirm_outside_hours: true,
            };
            ok(n.store.move_appointment(n.desk.as_ref().unwrap(), id, &to).map(|_| ()));
        }
        Step::Cancel { node, appointment } => {
            let n = &nodes[node];
            let all = ids(&n.store, "SELECT id FROM appointment ORDER BY id");
            let Some(&id) = all.get(appointment) else { return };
            ok(n.store.set_appointment_status(n.desk.as_ref().unwrap(), id, AppointmentStatus::Cancelled).map(|_| ()));
        }
        Step::EditPhone { node, client, phone } => {
            let n = &nodes[node];
            let all = ids(&n.store, "SELECT id FROM client ORDER BY id");
            let Some(&id) = all.get(client) else { return };
            let desk = n.desk.as_ref().unwrap();
            let current = n.store.client(desk, id).unwrap();
            let details = NewClient {
                title: current.title,
                first_name: current.first_name,
                last_name: current.last_name,
                address_line1: current.address_line1,
                address_line2: current.address_line2,
                town: current.town,
                postcode: current.postcode,
                phone: PHONES[phone].into(),
                phone_alt: current.phone_alt,
                email: current.email,
                consent_email: current.consent_email,
                consent_sms: current.consent_sms,
                notes: current.notes,
            };
            ok(n.store.update_client(desk, id, &details).map(|_| ()));
        }
        Step::Consult { node, appointment, text, sign } => {
            let n = &nodes[node];
            let all = ids(&n.store, "SELECT id FROM appointment ORDER BY id");
            let Some(&id) = all.get(appointment) else { return };
            let clinician = ids(&n.store, &format!("SELECT clinician_id FROM appointment WHERE id = '{id}'"))[0];
            let vet = n.vets.iter().find(|v| v.staff_id == clinician).unwrap();
            let start = StartConsultation { appointment_id: Some(id), patient_id: None };
            let consult = match n.store.start_consultation(vet, &start) {
                Ok(c) => c,
                Err(e) => return ok(Err(e)),
            };
            let draft = ConsultationDraft {
                subjective: ["Coughing for a week.", "Off food since Sunday.", "Annual check."][text].into(),
                plan: "Recheck in a week.".into(),
                ..Default::default()
            };
            ok(n.store.save_consultation_draft(vet, consult.id, &draft).map(|_| ()));
            if sign {
                ok(n.store.sign_consultation(vet, consult.id, PASSWORD, true).map(|_| ()));
            }
        }
        Step::Resolve { node, conflict, cancel_first } => {
            let n = &nodes[node];
            let desk = n.desk.as_ref().unwrap();
            let open = n.store.conflicts(desk, true).unwrap();
            let Some(c) = open.get(conflict) else { return };
            let choice = match c.kind.as_str() {
                "double_booking" if cancel_first => Resolution::CancelAppointment { appointment_id: c.members[0] },
                "double_booking" => Resolution::KeepBoth,
                k if k.starts_with("duplicate") => Resolution::SameRecord,
                _ => Resolution::KeepCurrent,
            };
            ok(n.store.resolve_conflict(desk, c.id, &choice, "").map(|_| ()));
        }
        Step::Deliver { from, to, limit, resend } => {
            if from == to {
                return;
            }
            deliver(&nodes[from], &nodes[to], limit);
            if resend {
                // Changes `to` already holds, again, as after a lost acknowledgement: nothing changes.
                let marks = nodes[to].store.marks().unwrap();
                let held =
                    |c: &lifeboat_protocol::Change| marks.iter().any(|m| m.node_id == c.node_id && c.node_seq <= m.seq);
                let again: Vec<_> = nodes[from]
                    .store
                    .changes_missing_from(&[], 100_000)
                    .unwrap()
                    .into_iter()
                    .filter(held)
                    .take(limit as usize)
                    .collect();
                let before = nodes[to].store.dump().unwrap();
                let applied = nodes[to].store.apply_changes(&again).unwrap();
                assert_eq!((applied.new, applied.duplicates as usize), (0, again.len()));
                assert_eq!(nodes[to].store.dump().unwrap(), before, "re-delivery changed something");
            }
        }
        Step::Tick { node, seconds } => nodes[node].clock.advance(Duration::seconds(seconds as i64)),
    }
}

/// Every pair of active, overlapping appointments of one clinician, as a node's data has them.
fn double_bookings(store: &Store) -> BTreeSet<(Uuid, Uuid)> {
    let pairs = store
        .read(|c| {
            let mut stmt = c.prepare(
                "SELECT a.id, b.id FROM appointment a JOIN appointment b ON a.clinician_id = b.clinician_id AND a.id < b.id
                 AND b.starts_at < a.ends_at AND b.ends_at > a.starts_at
                 WHERE a.status NOT IN ('cancelled', 'no_show') AND b.status NOT IN ('cancelled', 'no_show')",
            )?;
            let rows = stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))?.collect::<rusqlite::Result<Vec<_>>>()?;
            Ok(rows)
        })
        .unwrap();
    pairs.into_iter().map(|(a, b)| (Uuid::parse_str(&a).unwrap(), Uuid::parse_str(&b).unwrap())).collect()
}

fn check_converged(nodes: &[Node]) {
    exchange_all(nodes);
    let dumps: Vec<String> = nodes.iter().map(|n| n.store.dump().unwrap()).collect();
    for (i, d) in dumps.iter().enumerate().skip(1) {
        if *d != dumps[0] {
            let a: Vec<&str> = dumps[0].lines().collect();
            let b: Vec<&str> = d.lines().collect();
            let only_a: Vec<_> = a.iter().filter(|l| !b.contains(l)).collect();
            let only_b: Vec<_> = b.iter().filter(|l| !a.contains(l)).collect();
            panic!("node {i} differs from node 0:\nonly on 0: {only_a:#?}\nonly on {i}: {only_b:#?}");
        }
    }
    // Every double booking the data holds is a conflict on every node, open or resolved.
    for n in nodes {
        let desk = n.desk.as_ref().unwrap();
        let raised: BTreeSet<BTreeSet<Uuid>> = n
            .store
            .conflicts(desk, false)
            .unwrap()
            .into_iter()
            .filter(|c| c.kind == "double_booking")
            .map(|c| c.members.into_iter().collect())
            .collect();
        for (a, b) in double_bookings(&n.store) {
            assert!(raised.contains(&BTreeSet::from([a, b])), "the double booking of {a} and {b} was not raised");
        }
        assert!(n.store.verify_audit().unwrap().is_intact(), "{:?}", n.store.verify_audit().unwrap());
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, max_shrink_iters: 64, ..ProptestConfig::default() })]

    /// Random changes on three nodes, delivered in random portions, order and repetition: once all
    /// have exchanged everything, their dumps are identical and every double booking is a conflict.
    #[test]
    fn three_nodes_converge_whatever_the_delivery(steps in proptest::collection::vec(step(), 20..80)) {
        let mut nodes = practice_of_three();
        for s in &steps {
            run(&mut nodes, s);
        }
        check_converged(&nodes);
        if std::env::var_os("SHOW_CASES").is_some() {
            let desk = nodes[0].desk.as_ref().unwrap();
            let conflicts = nodes[0].store.conflicts(desk, false).unwrap();
            eprintln!("appointments {} clients {} consultations {} conflicts {:?}", count(&nodes[0].store, "appointment"),
                count(&nodes[0].store, "client"), count(&nodes[0].store, "consultation"), conflicts.iter().map(|c| c.kind.as_str()).collect::<Vec<_>>());
        }
    }
}

/// The same clinician booked at the same time on two PCs that cannot see each other: both PCs, and a
/// third that hears of it later, raise the same conflict; resolving it on one resolves it everywhere.
#[test]
fn a_double_booking_made_apart_is_one_conflict_everywhere_and_resolved_once() {
    let mut nodes = practice_of_three();
    run(&mut nodes, &Step::Register { node: 0, surname: 0, phone: 0, chip: None });
    exchange_all(&nodes);
    run(&mut nodes, &Step::Book { node: 0, vet: 0, slot: 0, patient: 0 });
    run(&mut nodes, &Step::Book { node: 1, vet: 0, slot: 1, patient: 0 });
    assert_eq!(
        nodes[0].store.conflicts(nodes[0].desk.as_ref().unwrap(), true).unwrap().len(),
        0,
        "apart, nobody knows"
    );
    exchange_all(&nodes);
    let open: Vec<_> = nodes.iter().map(|n| n.store.conflicts(n.desk.as_ref().unwrap(), true).unwrap()).collect();
    assert_eq!(open[0].len(), 1);
    assert_eq!(open[0], open[1]);
    assert_eq!(open[0][0].id, open[2][0].id, "the same conflict id on every node");
    assert_eq!(open[0][0].kind, "double_booking");
    let second = open[1][0].members.iter().copied().find(|m| {
        nodes[1].store.appointment(nodes[1].desk.as_ref().unwrap(), *m).unwrap().starts_at
            == lifeboat_core::time::to_utc("start", slot_start(1)).unwrap()
    });
    let second = second.expect("the 09:10 booking is a member");
    nodes[1]
        .store
        .resolve_conflict(
            nodes[1].desk.as_ref().unwrap(),
            open[1][0].id,
            &Resolution::CancelAppointment { appointment_id: second },
            "rang the owner",
        )
        .unwrap();
    exchange_all(&nodes);
    for n in &nodes {
        let desk = n.desk.as_ref().unwrap();
        assert!(n.store.conflicts(desk, true).unwrap().is_empty());
        let all = n.store.conflicts(desk, false).unwrap();
        assert_eq!(all.len(), 1);
        assert_eq!(
            all[0].resolution,
            Some(serde_json::json!({ "choice": "cancel_appointment", "note": "rang the owner" }))
        );
        assert_eq!(n.store.appointment(desk, second).unwrap().status, AppointmentStatus::Cancelled);
    }
    check_converged(&nodes);
}

/// A phone number changed two ways at once: the later change wins on every node, the other value
/// stays in the journal, and a conflict asks a person.
#[test]
fn a_field_changed_two_ways_keeps_the_later_everywhere_and_asks_a_person() {
    let mut nodes = practice_of_three();
    run(&mut nodes, &Step::Register { node: 0, surname: 0, phone: 0, chip: None });
    exchange_all(&nodes);
    run(&mut nodes, &Step::EditPhone { node: 1, client: 0, phone: 1 });
    nodes[2].clock.advance(Duration::seconds(30));
    run(&mut nodes, &Step::EditPhone { node: 2, client: 0, phone: 2 });
    exchange_all(&nodes);
    for n in &nodes {
        let desk = n.desk.as_ref().unwrap();
        let client = n.store.client(desk, ids(&n.store, "SELECT id FROM client")[0]).unwrap();
        assert_eq!(client.phone, PHONES[2], "the later change wins");
        let open = n.store.conflicts(desk, true).unwrap();
        assert_eq!(open.len(), 1);
        assert_eq!(open[0].kind, "concurrent_edit");
        assert_eq!(open[0].detail, "phone changed to two different values on two computers at once");
        // The inbox shows both versions side by side, the one that stands marked.
        let inbox = n.store.conflict_inbox(desk, true).unwrap();
        let values: Vec<(&str, bool)> = inbox[0].sides.iter().map(|s| (s.fields[0].1.as_str(), s.current)).collect();
        assert_eq!(inbox[0].field.as_deref(), Some("phone"));
        assert!(values.contains(&(PHONES[1], false)) && values.contains(&(PHONES[2], true)), "{values:?}");
    }
    // A person at the first PC takes the other version; everyone gets it, and the conflict closes.
    let desk = nodes[0].desk.as_ref().unwrap();
    let id = nodes[0].store.conflicts(desk, true).unwrap()[0].id;
    nodes[0].store.resolve_conflict(desk, id, &Resolution::UseOther, "rang the client").unwrap();
    exchange_all(&nodes);
    for n in &nodes {
        let desk = n.desk.as_ref().unwrap();
        assert_eq!(n.store.client(desk, ids(&n.store, "SELECT id FROM client")[0]).unwrap().phone, PHONES[1]);
        assert!(n.store.conflicts(desk, true).unwrap().is_empty());
    }
    check_converged(&nodes);
}

/// Two ways of writing one phone number combined by a person into a third.
#[test]
fn a_person_can_combine_two_versions_into_one() {
    let mut nodes = practice_of_three();
    run(&mut nodes, &Step::Register { node: 0, surname: 0, phone: 0, chip: None });
    exchange_all(&nodes);
    run(&mut nodes, &Step::EditPhone { node: 1, client: 0, phone: 1 });
    run(&mut nodes, &Step::EditPhone { node: 2, client: 0, phone: 2 });
    exchange_all(&nodes);
    let desk = nodes[2].desk.as_ref().unwrap();
    let id = nodes[2].store.conflicts(desk, true).unwrap()[0].id;
    let err = nodes[2]
        .store
        .resolve_conflict(desk, id, &Resolution::SetValue { value: "not a phone".into() }, "")
        .unwrap_err();
    assert_eq!(err.field(), Some("phone"), "{err}");
    nodes[2].store.resolve_conflict(desk, id, &Resolution::SetValue { value: "07700 900999".into() }, "").unwrap();
    exchange_all(&nodes);
    for n in &nodes {
        let desk = n.desk.as_ref().unwrap();
        assert_eq!(n.store.client(desk, ids(&n.store, "SELECT id FROM client")[0]).unwrap().phone, "07700 900999");
    }
    check_converged(&nodes);
}

/// A node whose clock is a day fast: its changes are accepted, the others' clocks are not dragged a
/// day ahead, the anomaly is reported, and everyone converges; later changes elsewhere still win.
#[test]
fn a_node_with_its_clock_a_day_wrong_still_converges_and_is_reported() {
    let mut nodes = practice_of_three();
    run(&mut nodes, &Step::Register { node: 0, surname: 0, phone: 0, chip: None });
    exchange_all(&nodes);
    nodes[2].clock.advance(Duration::days(1));
    run(&mut nodes, &Step::EditPhone { node: 2, client: 0, phone: 2 });
    exchange_all(&nodes);
    let status = nodes[0].store.sync_status().unwrap();
    assert!(status.clock_warning.as_deref().unwrap_or_default().contains("ahead of this PC's clock"), "{status:?}");
    // A later change on a PC with the right time still wins, on every PC.
    nodes[0].clock.advance(Duration::minutes(1));
    run(&mut nodes, &Step::EditPhone { node: 0, client: 0, phone: 1 });
    exchange_all(&nodes);
    for n in &nodes {
        let desk = n.desk.as_ref().unwrap();
        assert_eq!(n.store.client(desk, ids(&n.store, "SELECT id FROM client")[0]).unwrap().phone, PHONES[1]);
        let stamp: i64 = n.store.read(|c| Ok(c.query_row("SELECT stamp FROM hlc_state", [], |r| r.get(0))?)).unwrap();
        let millis = (stamp as u64 >> 16) as i64;
        if !std::ptr::eq(n, &nodes[2]) {
            assert!(
                millis < (start_time() + Duration::hours(1)).timestamp_millis(),
                "the clock was not dragged a day ahead"
            );
        }
    }
    check_converged(&nodes);
}

/// A consultation signed on one PC while a draft change made on another had not reached it: the
/// signed text stands everywhere, the other text stays in the journal, and a conflict says so.
#[test]
fn a_draft_changed_elsewhere_while_it_was_signed_raises_a_conflict_and_the_signature_stands() {
    let mut nodes = practice_of_three();
    run(&mut nodes, &Step::Register { node: 0, surname: 0, phone: 0, chip: None });
    run(&mut nodes, &Step::Book { node: 0, vet: 0, slot: 0, patient: 0 });
    run(&mut nodes, &Step::Consult { node: 0, appointment: 0, text: 0, sign: false });
    exchange_all(&nodes);
    run(&mut nodes, &Step::Consult { node: 1, appointment: 0, text: 1, sign: false });
    run(&mut nodes, &Step::Consult { node: 0, appointment: 0, text: 2, sign: true });
    exchange_all(&nodes);
    for n in &nodes {
        let subjective: String =
            n.store.read(|c| Ok(c.query_row("SELECT subjective FROM consultation", [], |r| r.get(0))?)).unwrap();
        assert_eq!(subjective, "Annual check.");
        let open = n.store.conflicts(n.desk.as_ref().unwrap(), true).unwrap();
        assert_eq!(open.len(), 1, "{open:?}");
        assert_eq!(open[0].kind, "after_signing");
    }
    check_converged(&nodes);
}

/// Clinical rows are never changed by sync: a received change that would alter a signed
/// consultation's content, or re-create a prescription with other content, changes nothing.
#[test]
fn received_changes_never_rewrite_clinical_rows() {
    let mut nodes = practice_of_three();
    run(&mut nodes, &Step::Register { node: 0, surname: 0, phone: 0, chip: None });
    run(&mut nodes, &Step::Book { node: 0, vet: 0, slot: 0, patient: 0 });
    run(&mut nodes, &Step::Consult { node: 0, appointment: 0, text: 0, sign: true });
    exchange_all(&nodes);
    let before = nodes[1].store.dump().unwrap();
    // A forged create of the same consultation with other notes, as a well-formed change of a node.
    let consult = ids(&nodes[1].store, "SELECT id FROM consultation")[0];
    let original = nodes[0]
        .store
        .read(|c| journal::since(c, 0, 100_000))
        .unwrap()
        .into_iter()
        .find(|e| e.change.entity_id == consult && e.change.kind == "create")
        .unwrap()
        .change;
    let forger = Uuid::now_v7();
    let mut forged = original.clone();
    forged.op_id = Uuid::now_v7();
    forged.node_id = forger;
    forged.node_seq = 1;
    forged.payload["subjective"] = serde_json::json!("Nothing wrong.");
    let forged = forged.sealed();
    let applied = nodes[1].store.apply_changes(&[forged]).unwrap();
    assert_eq!(applied.new, 1);
    let after = nodes[1].store.dump().unwrap();
    let changed: Vec<_> = after.lines().filter(|l| !before.contains(l)).collect();
    assert!(changed.iter().all(|l| l.starts_with("change ")), "only the journal gained the change: {changed:#?}");
}

/// Re-delivering anything, any number of times, changes nothing; a change that arrives again with
/// other content, or a sequence number reused, is refused, never ignored; a gap is refused.
#[test]
fn redelivery_is_harmless_and_forgery_is_refused() {
    let nodes = practice_of_three();
    let all = nodes[0].store.changes_missing_from(&[], 100_000).unwrap();
    let before = nodes[1].store.dump().unwrap();
    for _ in 0..3 {
        let applied = nodes[1].store.apply_changes(&all).unwrap();
        assert_eq!((applied.new, applied.duplicates as usize), (0, all.len()));
    }
    assert_eq!(nodes[1].store.dump().unwrap(), before);

    let mut altered = all[5].clone();
    altered.payload["name"] = serde_json::json!("Someone Else");
    let altered = altered.sealed();
    let err = nodes[1].store.apply_changes(&[altered]).unwrap_err();
    assert!(err.to_string().contains("arrived again with other content"), "{err}");

    let mut reused = all[5].clone();
    reused.op_id = Uuid::now_v7();
    let err = nodes[1].store.apply_changes(&[reused.sealed()]).unwrap_err();
    assert!(err.to_string().contains("used sequence number"), "{err}");

    let mut unsealed = all[5].clone();
    unsealed.payload["name"] = serde_json::json!("Tampered");
    let err = nodes[1].store.apply_changes(&[unsealed]).unwrap_err();
    assert!(err.to_string().contains("does not match its content hash"), "{err}");

    let mut gap = all[5].clone();
    gap.op_id = Uuid::now_v7();
    gap.node_seq = all.iter().filter(|c| c.node_id == gap.node_id).count() as i64 + 2;
    let err = nodes[1].store.apply_changes(&[gap.sealed()]).unwrap_err();
    assert!(err.to_string().contains("out of order"), "{err}");
    assert_eq!(nodes[1].store.dump().unwrap(), before, "a refused batch leaves nothing behind");
}

/// A change whose record has not arrived yet waits (kept, not dropped) and is applied when it does.
#[test]
fn a_change_that_arrives_before_its_record_waits_for_it() {
    let mut nodes = practice_of_three();
    run(&mut nodes, &Step::Register { node: 0, surname: 0, phone: 0, chip: None });
    exchange_all(&nodes);
    // Node 1 books; node 2 receives the booking from node 1 only after node 1 itself received a
    // new client from node 0 that the booking is for, so node 2 gets node 1's changes first.
    run(&mut nodes, &Step::Register { node: 0, surname: 1, phone: 1, chip: None });
    deliver(&nodes[0], &nodes[1], 10_000);
    run(&mut nodes, &Step::Book { node: 1, vet: 0, slot: 0, patient: 1 });
    let theirs = nodes[1].store.changes_missing_from(&nodes[2].store.marks().unwrap(), 10_000).unwrap();
    let node1 = nodes[1].store.node_id();
    let booking: Vec<_> = theirs.iter().filter(|c| c.node_id == node1).cloned().collect();
    let applied = nodes[2].store.apply_changes(&booking).unwrap();
    assert_eq!(applied.quarantined, 1, "the booking waits for its patient");
    check_converged(&nodes);
    assert_eq!(count(&nodes[2].store, "quarantine"), 0, "nothing is left waiting");
    assert_eq!(count(&nodes[2].store, "appointment"), 1);
}

/// A database copied to another PC (or restored from a copy) takes a new node id, so the copy and
/// the original never number two different changes alike.
#[test]
fn a_copied_database_takes_a_new_node_id() {
    let dir = TempDir::new().unwrap();
    let config = StoreConfig::in_dir(dir.path()).with_fingerprint("PC-1 C:\\Lifeboat");
    let store = Store::open(config.clone(), clock()).unwrap();
    let admin = store.create_practice(&example::practice_setup("admin", PASSWORD)).unwrap();
    let first = store.node_id();
    drop(store);
    let again = Store::open(config, clock()).unwrap();
    assert_eq!(again.node_id(), first, "the same PC keeps its node id");
    drop(again);
    let copy = Store::open(StoreConfig::in_dir(dir.path()).with_fingerprint("PC-2 C:\\Lifeboat"), clock()).unwrap();
    assert_ne!(copy.node_id(), first, "the copy is a new node");
    copy.add_staff(&admin, &example::staff("n.one", Role::Nurse, PASSWORD)).unwrap();
    let last = copy.read(|c| journal::since(c, 0, 100_000)).unwrap().pop().unwrap();
    assert_eq!((last.change.node_id, last.change.node_seq), (copy.node_id(), 1), "numbered from 1 under its new id");
    assert_eq!(copy.own_nodes().unwrap(), vec![first, copy.node_id()]);
    assert!(copy.verify_audit().unwrap().is_intact());
}

mod tampering {
    use super::*;

    fn tampered(sql: &str) -> String {
        let (dir, store, admin) = practice();
        store.add_staff(&admin, &example::staff("n.one", Role::Nurse, PASSWORD)).unwrap();
        store.add_staff(&admin, &example::staff("n.two", Role::Nurse, PASSWORD)).unwrap();
        assert!(store.verify_audit().unwrap().is_intact());
        drop(store);
        raw_connection(&dir).execute_batch(sql).unwrap();
        let store = reopen(&dir).unwrap();
        let report = store.verify_audit().unwrap();
        report.first_broken.map(|b| b.reason).unwrap_or_else(|| "intact".into())
    }

    #[test]
    fn a_deleted_journal_row_is_found() {
        let reason = tampered("DELETE FROM journal WHERE seq = 3");
        assert!(reason.contains("was removed"), "{reason}");
    }

    #[test]
    fn an_edited_journal_row_is_found() {
        let reason = tampered(
            "UPDATE journal SET payload = replace(payload, 'Test nurse', 'Someone else') WHERE entity = 'staff'",
        );
        assert!(reason.contains("has been altered"), "{reason}");
    }

    #[test]
    fn an_edited_journal_row_with_its_hash_recomputed_is_found_by_the_audit_chain() {
        // Changing an entry's content and its content hash to match breaks the audit entry that covers it.
        // (The first character is always changed: a hash that already began with 'f' made this pass by chance.)
        let reason = tampered(
            "UPDATE journal SET content_hash = CASE WHEN content_hash LIKE 'f%' THEN 'e' ELSE 'f' END || substr(content_hash, 2)
             WHERE seq = 3",
        );
        assert!(reason.contains("altered"), "{reason}");
    }

    #[test]
    fn a_tail_cut_from_journal_and_audit_is_found() {
        let reason = tampered(
            "DELETE FROM audit WHERE seq = (SELECT max(seq) FROM audit);
             DELETE FROM journal WHERE seq = (SELECT max(seq) FROM journal);",
        );
        assert!(reason.contains("removed from the end"), "{reason}");
    }

    #[test]
    fn a_journal_row_moved_to_another_number_is_found() {
        let reason =
            tampered("UPDATE journal SET node_seq = node_seq + 100 WHERE seq = (SELECT max(seq) FROM journal)");
        assert!(reason.contains("altered") || reason.contains("gap"), "{reason}");
    }

    /// A tail cut from journal, audit and the node's counter alike leaves a consistent database; only
    /// the hub's receipt for the longer chain shows it.
    #[test]
    fn a_consistent_cut_is_found_against_the_hubs_receipt() {
        let (dir, store, admin) = practice();
        store.add_staff(&admin, &example::staff("n.one", Role::Nurse, PASSWORD)).unwrap();
        let (seq, hash) = store.audit_head().unwrap();
        store
            .store_receipt(&lifeboat_protocol::Receipt {
                node_id: store.node_id(),
                audit_seq: seq,
                head_hash: hash,
                signed_at: "2026-03-29T08:30:00.000Z".into(),
                server_key: "ab".repeat(32),
                signature: "cd".repeat(64),
            })
            .unwrap();
        drop(store);
        raw_connection(&dir)
            .execute_batch(
                "DELETE FROM audit WHERE seq = (SELECT max(seq) FROM audit);
                 DELETE FROM journal WHERE seq = (SELECT max(seq) FROM journal);
                 UPDATE node_counter SET last_seq = last_seq - 1;",
            )
            .unwrap();
        let store = reopen(&dir).unwrap();
        let reason = store.verify_audit().unwrap().first_broken.unwrap().reason;
        assert!(reason.contains("receipt"), "{reason}");
    }
}

/// A database from before sync (journal entries hashed the first release's way) is resealed once on
/// opening, keeps an intact audit chain, and its whole history travels and converges.
#[test]
fn an_upgraded_database_reseals_its_history_and_syncs() {
    let (dir, store, admin) = practice();
    store.add_staff(&admin, &example::staff("n.one", Role::Nurse, PASSWORD)).unwrap();
    let entries = store.read(|c| journal::since(c, 0, 100_000)).unwrap();
    drop(store);
    // As the first release wrote them: hash format 1, the serde_json hash, and no reseal yet.
    let conn = raw_connection(&dir);
    for e in &entries {
        conn.execute(
            "UPDATE journal SET hash_format = 1, content_hash = ?2 WHERE seq = ?1",
            rusqlite::params![e.seq, journal::legacy_hash(&e.change)],
        )
        .unwrap();
    }
    conn.execute("DELETE FROM local_setting WHERE key = 'journal_resealed'", []).unwrap();
    drop(conn);
    let store = reopen(&dir).unwrap();
    let resealed = store.read(|c| journal::since(c, 0, 100_000)).unwrap();
    assert!(resealed.iter().all(|e| e.hash_format == 2 && e.change.is_intact()));
    assert!(store.verify_audit().unwrap().is_intact(), "{:?}", store.verify_audit().unwrap());
    let other = empty_node();
    other.store.apply_changes(&store.changes_missing_from(&[], 100_000).unwrap()).unwrap();
    assert_eq!(other.store.dump().unwrap(), store.dump().unwrap());
}

/// A PMS export imported on one PC reaches the others as copies of the PMS records; the same file
/// imported on two PCs before they sync makes each record twice, raised as duplicate registrations
/// to be settled by a person (never refused by one PC and accepted by the other).
#[test]
fn imported_records_travel_as_pms_copies_and_a_file_imported_on_two_pcs_is_raised_as_duplicates() {
    use lifeboat_core::import::columns::ImportKind;
    use lifeboat_core::import::ImportOptions;
    let mut nodes = practice_of_three();
    let admin = nodes[0].store.login("admin", PASSWORD).unwrap();
    nodes[0].store.add_staff(&admin, &example::staff("boss", Role::Manager, PASSWORD)).unwrap();
    exchange_all(&nodes);
    for n in &mut nodes {
        log_in(n);
    }
    let file = "Client No,Surname,Forename,Mobile\n501,Ashdown,Ivy,07700 900501\n502,Brampton,Ned,07700 900502\n";
    for n in &nodes[..2] {
        let boss = n.store.login("boss", PASSWORD).unwrap();
        let (report, _) = n
            .store
            .import_file(&boss, ImportKind::Clients, "c.csv", file.as_bytes(), &ImportOptions::default(), |_, _| {})
            .unwrap();
        assert_eq!(report.added, 2);
    }
    exchange_all(&nodes);
    let third = &nodes[2];
    let desk = third.desk.as_ref().unwrap();
    let rows: Vec<(String, String)> = third
        .store
        .read(|c| {
            let mut stmt = c.prepare("SELECT origin, pms_id FROM client ORDER BY pms_id")?;
            let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?.collect::<rusqlite::Result<_>>()?;
            Ok(rows)
        })
        .unwrap();
    let pms = |id: &str| ("pms".to_string(), id.to_string());
    assert_eq!(rows, vec![pms("501"), pms("501"), pms("502"), pms("502")]);
    let open = third.store.conflicts(desk, true).unwrap();
    assert_eq!(open.iter().filter(|c| c.kind == "duplicate_client").count(), 2, "{open:#?}");
    check_converged(&nodes);
}

/// The double-booking check looks back only as far as the longest booking (ten hours), so a booking
/// of nearly ten hours made on one PC and a short one near its end made on another are still one
/// conflict everywhere; a received appointment longer than any booking may be is kept aside with the
/// reason, never applied (the check relies on it).
#[test]
fn a_long_booking_made_apart_is_still_a_double_booking_and_a_longer_one_is_kept_aside() {
    let mut nodes = practice_of_three();
    run(&mut nodes, &Step::Register { node: 0, surname: 0, phone: 0, chip: None });
    exchange_all(&nodes);
    let booking = |n: &Node, start: &str, minutes: u32| {
        let patient_id = ids(&n.store, "SELECT patient_id FROM ownership")[0];
        let client_id = ids(&n.store, "SELECT client_id FROM ownership")[0];
        NewAppointment {
            clinician_id: n.vets[0].staff_id,
            room: "Theatre".into(),
            start: local(start),
            minutes,
            kind: AppointmentKind::Consultation,
            reason: "Long procedure".into(),
            patient_id,
            client_id,
            notes: String::new(),
            confirm_outside_hours: true,
        }
    };
    let long = nodes[0]
        .store
        .book_appointment(nodes[0].desk.as_ref().unwrap(), &booking(&nodes[0], "2026-03-31 08:00", 590))
        .unwrap();
    let late = nodes[1]
        .store
        .book_appointment(nodes[1].desk.as_ref().unwrap(), &booking(&nodes[1], "2026-03-31 17:40", 15))
        .unwrap();
    exchange_all(&nodes);
    for n in &nodes {
        let open = n.store.conflicts(n.desk.as_ref().unwrap(), true).unwrap();
        assert_eq!(open.len(), 1, "{open:?}");
        assert_eq!(open[0].kind, "double_booking");
        assert_eq!(open[0].members.iter().copied().collect::<BTreeSet<_>>(), BTreeSet::from([long.id, late.id]));
    }
    check_converged(&nodes);

    // An appointment of eleven hours, as no Lifeboat books one, from a node of its own.
    let create = nodes[0]
        .store
        .changes_missing_from(&[], 100_000)
        .unwrap()
        .into_iter()
        .find(|c| c.entity == "appointment" && c.entity_id == long.id)
        .unwrap();
    let mut forged = create.clone();
    forged.op_id = Uuid::now_v7();
    forged.node_id = Uuid::now_v7();
    forged.node_seq = 1;
    forged.entity_id = Uuid::now_v7();
    forged.payload["starts_at"] = serde_json::json!("2026-04-01T07:00:00.000Z");
    forged.payload["ends_at"] = serde_json::json!("2026-04-01T18:00:00.000Z");
    let before = count(&nodes[2].store, "appointment");
    let applied = nodes[2].store.apply_changes(&[forged.sealed()]).unwrap();
    assert_eq!((applied.new, applied.quarantined), (1, 1));
    assert_eq!(count(&nodes[2].store, "appointment"), before, "not applied");
    let reason: String =
        nodes[2].store.read(|c| Ok(c.query_row("SELECT reason FROM quarantine", [], |r| r.get(0))?)).unwrap();
    assert_eq!(reason, "an appointment of 660 minutes is longer than a booking may be (600 minutes)");
}

/// The same person registered on two PCs while apart: found by surname (in any case) with the same
/// phone number, or with the same email address; the same phone under another surname (a household's
/// landline) is not a duplicate.
#[test]
fn a_person_registered_on_two_pcs_is_found_by_phone_or_by_email() {
    let nodes = practice_of_three();
    let register = |n: &Node, last: &str, phone: &str, email: &str| {
        let client = NewClient {
            last_name: last.into(),
            first_name: "Agatha".into(),
            phone: phone.into(),
            email: email.into(),
            ..Default::default()
        };
        n.store.register_client_with_patient(n.desk.as_ref().unwrap(), &client, None).unwrap().client.id
    };
    let by_email = [
        register(&nodes[0], "Quillfeather", "07700 900461", "agatha@example.co.uk"),
        register(&nodes[1], "QUILLFEATHER", "07700 900999", "agatha@example.co.uk"),
    ];
    let by_phone =
        [register(&nodes[0], "Ashdown", "01392 496000", ""), register(&nodes[1], "ashdown", "01392 496000", "")];
    register(&nodes[2], "Brampton", "01392 496000", "");
    exchange_all(&nodes);
    for n in &nodes {
        let found: BTreeSet<BTreeSet<Uuid>> = n
            .store
            .conflicts(n.desk.as_ref().unwrap(), true)
            .unwrap()
            .into_iter()
            .map(|c| {
                assert_eq!(c.kind, "duplicate_client");
                c.members.into_iter().collect()
            })
            .collect();
        assert_eq!(found, BTreeSet::from([BTreeSet::from(by_email), BTreeSet::from(by_phone)]));
    }
}

/// A booking of 09:00-17:00 moved on two PCs while apart, one to start at 07:00 and the other to end
/// at 19:00: each move is a whole new time (start and end together), so the PCs end with one of the
/// two versions, the same everywhere, never a twelve-hour booking made of both; the clash is a
/// conflict for a person.
#[test]
fn a_booking_moved_at_both_ends_on_two_pcs_keeps_one_whole_time() {
    let mut nodes = practice_of_three();
    run(&mut nodes, &Step::Register { node: 0, surname: 0, phone: 0, chip: None });
    exchange_all(&nodes);
    let n0 = &nodes[0];
    let patient_id = ids(&n0.store, "SELECT patient_id FROM ownership")[0];
    let client_id = ids(&n0.store, "SELECT client_id FROM ownership")[0];
    let booking = NewAppointment {
        clinician_id: n0.vets[0].staff_id,
        room: "Theatre".into(),
        start: local("2026-03-31 09:00"),
        minutes: 480,
        kind: AppointmentKind::Consultation,
        reason: "Long procedure".into(),
        patient_id,
        client_id,
        notes: String::new(),
        confirm_outside_hours: true,
    };
    let id = n0.store.book_appointment(n0.desk.as_ref().unwrap(), &booking).unwrap().id;
    exchange_all(&nodes);
    let to = |start: &str, minutes: u32, n: &Node| AppointmentMove {
        clinician_id: n.vets[0].staff_id,
        room: "Theatre".into(),
        start: local(start),
        minutes,
        confirm_outside_hours: true,
    };
    nodes[1]
        .store
        .move_appointment(nodes[1].desk.as_ref().unwrap(), id, &to("2026-03-31 07:00", 600, &nodes[1]))
        .unwrap();
    nodes[2].clock.advance(Duration::seconds(5));
    nodes[2]
        .store
        .move_appointment(nodes[2].desk.as_ref().unwrap(), id, &to("2026-03-31 09:00", 600, &nodes[2]))
        .unwrap();
    check_converged(&nodes);
    for n in &nodes {
        let desk = n.desk.as_ref().unwrap();
        let a = n.store.appointment(desk, id).unwrap();
        assert_eq!((a.ends_at - a.starts_at).num_minutes(), 600, "one move's whole time, not both ends");
        assert_eq!(
            a.starts_at,
            lifeboat_core::time::to_utc("start", local("2026-03-31 09:00")).unwrap(),
            "the later move"
        );
        assert_eq!(count(&n.store, "quarantine"), 0, "nothing kept aside");
        let open = n.store.conflicts(desk, true).unwrap();
        // Start and end were each changed two ways: a conflict for each.
        assert_eq!(open.iter().map(|c| c.kind.as_str()).collect::<Vec<_>>(), ["concurrent_edit", "concurrent_edit"]);
    }
}

/// A long pulled page gives way to a person's own write on the PC taking it in: its transaction ends
/// after the change in hand, the pull cursor names the last change it took (so a crash then asks
/// for the rest again), and the rest goes in the next transaction; nothing is lost or taken twice.
#[test]
fn a_pulled_page_gives_way_to_a_persons_write_and_the_rest_follows() {
    use lifeboat_protocol::wire::Sequenced;

    let a = empty_node();
    let admin = a.store.create_practice(&example::practice_setup("admin", PASSWORD)).unwrap();
    a.store.add_staff(&admin, &example::staff("desk", Role::Reception, PASSWORD)).unwrap();
    let desk = a.store.login("desk", PASSWORD).unwrap();
    let before = a.store.marks().unwrap();
    a.store
        .write(&desk, |w| {
            for i in 0..3000 {
                let phone = format!("07700 9{i:05}");
                w.register_client(&NewClient { last_name: format!("Client {i}"), phone, ..Default::default() })?;
            }
            Ok(())
        })
        .unwrap();
    let b = empty_node();
    let peer = joined_relay(&b.store);
    let page = |after: &[lifeboat_protocol::wire::Mark], first: i64| -> Vec<Sequenced> {
        a.store
            .changes_missing_from(after, 100_000)
            .unwrap()
            .into_iter()
            .zip(first..)
            .map(|(change, seq)| Sequenced { seq, change })
            .collect()
    };
    // The practice's set-up first, so that someone can log in on the new PC.
    let setup = page(&[], 1);
    let setup: Vec<Sequenced> = setup
        .into_iter()
        .take_while(|s| !before.iter().any(|m| m.node_id == s.change.node_id && s.change.node_seq > m.seq))
        .collect();
    b.store.apply_page(peer.id, &setup).unwrap();
    let admin_b = b.store.login("admin", PASSWORD).unwrap();
    let clients = page(&b.store.marks().unwrap(), setup.len() as i64 + 1);
    assert_eq!(clients.len(), 3000);

    let store = Arc::new(b.store);
    let raw = raw_connection(&b._dir);
    raw.busy_timeout(std::time::Duration::ZERO).unwrap();
    let writer = {
        let (store, admin) = (store.clone(), admin_b.clone());
        std::thread::spawn(move || {
            // Once the page's transaction holds the database (another connection cannot begin one),
            // the person saves a change.
            let since = std::time::Instant::now();
            // (Busy is the only answer that means held: any other error fails the test.)
            let free = || match raw.execute_batch("BEGIN IMMEDIATE; ROLLBACK") {
                Ok(()) => true,
                Err(e) if e.sqlite_error_code() == Some(rusqlite::ErrorCode::DatabaseBusy) => false,
                Err(e) => panic!("the probe could not ask the database: {e}"),
            };
            while free() {
                assert!(since.elapsed().as_secs() < 60, "the page's transaction never began");
                std::thread::sleep(std::time::Duration::from_millis(1));
            }
            let update = lifeboat_core::StaffUpdate { qualifications: Some("BVSc".into()), ..Default::default() };
            store.update_staff(&admin, admin.staff_id, &update).unwrap();
        })
    };
    let first = store.apply_page(peer.id, &clients).unwrap();
    writer.join().unwrap();
    assert!(first.taken >= 1 && first.taken < clients.len(), "gave way after {} of {}", first.taken, clients.len());
    assert_eq!((first.new as usize, first.quarantined), (first.taken, 0));
    let cursor = |store: &Store| store.peer(peer.id).unwrap().pull_cursor;
    assert_eq!(cursor(&store), clients[first.taken - 1].seq);
    let held = |store: &Store| -> i64 {
        store
            .read(|c| Ok(c.query_row("SELECT count(*) FROM client WHERE last_name LIKE 'Client %'", [], |r| r.get(0))?))
            .unwrap()
    };
    assert_eq!(held(&store), first.taken as i64);
    // The person's write went in, between the two transactions.
    let me = store.list_staff(&admin_b).unwrap().into_iter().find(|s| s.id == admin_b.staff_id).unwrap();
    assert_eq!(me.qualifications, "BVSc");
    let seq_of = |op: Uuid| -> i64 {
        store
            .read(|c| Ok(c.query_row("SELECT seq FROM journal WHERE op_id = ?1", [op.to_string()], |r| r.get(0))?))
            .unwrap()
    };
    let persons: i64 = store
        .read(|c| Ok(c.query_row("SELECT max(seq) FROM journal WHERE entity = 'staff'", [], |r| r.get(0))?))
        .unwrap();

    let mut rest = &clients[first.taken..];
    while !rest.is_empty() {
        let applied = store.apply_page(peer.id, rest).unwrap();
        assert_eq!((applied.new as usize, applied.duplicates), (applied.taken, 0));
        rest = &rest[applied.taken..];
    }
    assert_eq!(cursor(&store), clients.last().unwrap().seq);
    assert_eq!(held(&store), 3000);
    // The person's change went in between the two transactions.
    let (last_before, first_after) =
        (seq_of(clients[first.taken - 1].change.op_id), seq_of(clients[first.taken].change.op_id));
    assert!(last_before < persons && persons < first_after, "{last_before} < {persons} < {first_after}");
    // Every change of the first PC is here, each once (a change given twice would come back as a
    // duplicate, which the loop above refuses; a skipped one would leave a gap the next is refused for).
    let marks = store.marks().unwrap();
    for m in a.store.marks().unwrap() {
        assert_eq!(marks.iter().find(|n| n.node_id == m.node_id).map(|n| n.seq), Some(m.seq));
    }
    let journal: i64 = store.read(|c| Ok(c.query_row("SELECT count(*) FROM journal", [], |r| r.get(0))?)).unwrap();
    let sent: i64 = a.store.read(|c| Ok(c.query_row("SELECT count(*) FROM journal", [], |r| r.get(0))?)).unwrap();
    // (Besides them, this PC's own: the admin's sign-in and the change to their qualifications.)
    assert_eq!(journal, sent + 2);
}
