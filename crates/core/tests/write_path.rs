//! The write path: permission, validation, rows, journal and audit in one transaction.

mod common;

use common::*;
use lifeboat_core::store::journal;
use lifeboat_core::{example, Error, Role, StaffUpdate};

fn journal_and_audit(store: &lifeboat_core::Store) -> (i64, i64) {
    (count(store, "journal"), count(store, "audit"))
}

#[test]
fn creating_the_practice_journals_and_audits_each_record() {
    let (_dir, store, admin) = practice();
    let entries = store.read(|c| journal::since(c, 0, 1000)).unwrap();
    let kinds: Vec<_> = entries.iter().map(|e| (e.change.entity.as_str(), e.change.kind.as_str())).collect();
    assert_eq!(kinds[..3], [("practice", "create"), ("premises", "create"), ("staff", "create")]);
    let products = lifeboat_core::clinical::formulary::starter_list().len();
    assert_eq!(kinds[3..3 + products], vec![("product", "create"); products][..], "the starter formulary");
    let fees = lifeboat_core::clinical::charge::starter_fee_count();
    assert_eq!(kinds[3 + products..3 + products + fees], vec![("fee", "create"); fees][..], "the starter price list");
    let tests = lifeboat_core::clinical::lab::starter_lab_test_count();
    assert_eq!(kinds[3 + products + fees..], vec![("lab_test", "create"); tests][..], "and the starter lab tests");
    assert!(entries.iter().all(|e| e.change.actor_id == admin.staff_id && e.change.node_id == store.node_id()));
    let seqs: Vec<i64> = entries.iter().map(|e| e.change.node_seq).collect();
    assert_eq!(seqs, (1..=entries.len() as i64).collect::<Vec<_>>(), "dense node sequence");
    assert!(entries.windows(2).all(|w| w[0].change.hlc < w[1].change.hlc), "stamps increase");
    assert!(entries.iter().all(|e| e.change.content_hash.len() == 64));
    assert_eq!(count(&store, "audit"), entries.len() as i64);
    assert!(store.verify_audit().unwrap().is_intact());
}

#[test]
fn the_practice_can_be_created_only_once() {
    let (_dir, store, _) = practice();
    let err = store.create_practice(&example::practice_setup("other", PASSWORD)).unwrap_err();
    assert_eq!(err.code().as_str(), "conflict");
    assert_eq!(count(&store, "practice"), 1);
}

#[test]
fn an_update_journals_only_the_changed_fields() {
    let (_dir, store, admin) = practice();
    let vet = store.add_staff(&admin, &example::staff("v.one", Role::Vet, PASSWORD)).unwrap();
    let update = StaffUpdate {
        qualifications: Some("BVM&S MRCVS".into()),
        display_name: Some(vet.display_name.clone()),
        ..Default::default()
    };
    store.update_staff(&admin, vet.id, &update).unwrap();
    let last = store.read(|c| journal::since(c, 0, 100)).unwrap().pop().unwrap();
    assert_eq!(
        (last.change.entity.as_str(), last.change.kind.as_str(), last.change.entity_id),
        ("staff", "update", vet.id)
    );
    assert_eq!(last.change.payload, serde_json::json!({ "qualifications": "BVM&S MRCVS" }));
}

/// Each role tries each staff change; only the table's roles succeed, and a refusal writes nothing.
#[test]
fn permissions_are_enforced_in_the_core() {
    let cases = [
        (Role::Reception, false, false),
        (Role::Nurse, false, false),
        (Role::Vet, false, false),
        (Role::Manager, true, false),
        (Role::Admin, true, true),
    ];
    for (role, may_add_staff, may_add_admin) in cases {
        let (_dir, store, admin) = practice();
        let actor = login_as(&store, &admin, "actor", role);
        let before = journal_and_audit(&store);
        let added = store.add_staff(&actor, &example::staff("newbie", Role::Nurse, PASSWORD));
        assert_eq!(added.is_ok(), may_add_staff, "{role} adding a nurse: {added:?}");
        if !may_add_staff {
            assert_eq!(added.unwrap_err().code().as_str(), "forbidden");
            assert_eq!(journal_and_audit(&store), before, "{role}: a refusal writes nothing");
            assert_eq!(count(&store, "staff"), 2);
        }
        let admin_added = store.add_staff(&actor, &example::staff("boss", Role::Admin, PASSWORD));
        assert_eq!(admin_added.is_ok(), may_add_admin, "{role} adding an admin");
        let premises = store.add_premises(&actor, &example::premises());
        assert_eq!(premises.is_ok(), role == Role::Admin, "{role} adding premises");
    }
}

#[test]
fn a_deactivated_account_loses_its_rights_at_once() {
    let (_dir, store, admin) = practice();
    let manager = login_as(&store, &admin, "m.gr", Role::Manager);
    store.update_staff(&admin, manager.staff_id, &StaffUpdate { active: Some(false), ..Default::default() }).unwrap();
    let err = store.add_staff(&manager, &example::staff("newbie", Role::Nurse, PASSWORD)).unwrap_err();
    assert_eq!(err.code().as_str(), "forbidden", "{err}");
    assert!(matches!(store.login("m.gr", PASSWORD), Err(Error::BadCredentials)));
}

#[test]
fn bad_input_names_the_field_and_writes_nothing() {
    let (_dir, store, admin) = practice();
    let before = journal_and_audit(&store);
    type Spoil = fn(&mut lifeboat_core::NewStaff);
    let cases: [(&str, Spoil); 5] = [
        ("username", |s| s.username = "a b".into()),
        ("display_name", |s| s.display_name = "   ".into()),
        ("password", |s| s.password = "short".into()),
        ("rcvs_number", |s| s.rcvs_number = None),
        ("rcvs_number", |s| s.rcvs_number = Some("RCVS12".into())),
    ];
    for (field, spoil) in cases {
        let mut s = example::staff("vet.x", Role::Vet, PASSWORD);
        spoil(&mut s);
        let err = store.add_staff(&admin, &s).unwrap_err();
        assert_eq!(err.field(), Some(field), "{err}");
    }
    let err = store.add_staff(&admin, &example::staff("admin", Role::Nurse, PASSWORD)).unwrap_err();
    assert_eq!(err.code().as_str(), "conflict", "a taken username: {err}");
    assert_eq!(journal_and_audit(&store), before);
}

#[test]
fn login_refuses_wrong_passwords_and_unknown_users_alike() {
    let (_dir, store, admin) = practice();
    assert_eq!(store.login(" ADMIN ", PASSWORD).unwrap(), admin, "usernames ignore case and spaces");
    for (user, password) in [("admin", "wrong password"), ("nobody", PASSWORD)] {
        let err = store.login(user, password).unwrap_err();
        assert_eq!(err.code().as_str(), "bad_credentials");
    }
}

#[test]
fn passwords_are_stored_as_argon2id_hashes() {
    let (_dir, store, _) = practice();
    let hash: String = store.read(|c| Ok(c.query_row("SELECT password_hash FROM staff", [], |r| r.get(0))?)).unwrap();
    assert!(hash.starts_with("$argon2id$"), "{hash}");
    assert!(!hash.contains(PASSWORD));
}

#[test]
fn the_journal_sequence_survives_a_restart() {
    let (dir, store, admin) = practice();
    store.add_staff(&admin, &example::staff("n.one", Role::Nurse, PASSWORD)).unwrap();
    let last_before = store.read(|c| journal::since(c, 0, 100)).unwrap().pop().unwrap();
    drop(store);
    let store = reopen(&dir).unwrap();
    store.add_staff(&admin, &example::staff("n.two", Role::Nurse, PASSWORD)).unwrap();
    let last = store.read(|c| journal::since(c, last_before.seq, 100)).unwrap();
    assert_eq!(last.len(), 1);
    assert_eq!(last[0].change.node_seq, last_before.change.node_seq + 1);
    assert!(last[0].change.hlc > last_before.change.hlc, "the clock never goes back, even with the same wall time");
}
