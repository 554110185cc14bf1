//! Signing in: wrong passwords slow the next attempt, then lock the username on this PC for a while;
//! the counts survive closing the app; a username that is no account is treated alike; sign-ins,
//! wrong passwords and locks are in the journal and the audit log.

mod common;

use chrono::Duration;
use common::*;
use lifeboat_core::organisation::sign_in::{FIRST_WAIT_SECONDS, LOCK_MINUTES};
use lifeboat_core::{example, Clock, Error, Role, Store, StoreConfig};

fn outcomes(store: &Store) -> Vec<String> {
    store
        .read(|c| {
            let mut stmt = c.prepare(
                "SELECT json_extract(payload, '$.outcome') FROM journal WHERE entity = 'sign_in'
                 AND json_extract(payload, '$.staff_id') = (SELECT id FROM staff WHERE username = 'desk') ORDER BY seq",
            )?;
            let rows = stmt.query_map([], |r| r.get(0))?.collect::<rusqlite::Result<Vec<String>>>()?;
            Ok(rows)
        })
        .unwrap()
}

fn refused(result: lifeboat_core::Result<lifeboat_core::Session>) -> String {
    match result {
        Err(Error::TooManyAttempts(reason)) => reason,
        other => panic!("expected a refusal for too many attempts, got {other:?}"),
    }
}

fn wrong(result: lifeboat_core::Result<lifeboat_core::Session>) {
    assert!(matches!(result, Err(Error::BadCredentials)), "{result:?}");
}

#[test]
fn wrong_passwords_slow_down_then_lock_and_the_counts_survive_a_restart() {
    let (dir, store, clock) = store_and_clock();
    let admin = store.create_practice(&example::practice_setup("admin", PASSWORD)).unwrap();
    store.add_staff(&admin, &example::staff("desk", Role::Reception, PASSWORD)).unwrap();

    // Three wrong passwords cost nothing.
    for _ in 0..3 {
        wrong(store.login("desk", "not the password"));
    }
    // The next attempt must wait five seconds, even with the right password (it is not even checked).
    assert_eq!(refused(store.login("desk", PASSWORD)), "too many wrong passwords: wait 5 seconds before trying again");
    clock.advance(Duration::seconds(FIRST_WAIT_SECONDS));
    wrong(store.login("DESK ", "still not it"));
    clock.advance(Duration::seconds(9));
    assert_eq!(refused(store.login("desk", PASSWORD)), "too many wrong passwords: wait 1 second before trying again");

    // Closing the app forgets nothing.
    drop(store);
    let store = Store::open(StoreConfig::in_dir(dir.path()), clock.clone()).unwrap();
    assert_eq!(refused(store.login("desk", PASSWORD)), "too many wrong passwords: wait 1 second before trying again");

    // Waiting each time, four more wrong passwords lock the username for a quarter of an hour.
    let mut wait = 10;
    for _ in 0..4 {
        clock.advance(Duration::seconds(wait));
        wait *= 2;
        match store.login("desk", "guess") {
            Err(Error::BadCredentials) => {}
            other => panic!("{other:?}"),
        }
    }
    let locked_at = clock.now();
    let until = lifeboat_core::time::to_local(locked_at + Duration::minutes(LOCK_MINUTES)).format("%H:%M").to_string();
    let expected = format!(
        "too many wrong passwords: this username is locked on this computer until {until}; try again then, or sign in on another computer"
    );
    clock.advance(Duration::minutes(LOCK_MINUTES - 1));
    assert_eq!(refused(store.login("desk", PASSWORD)), expected);
    drop(store);
    let store = Store::open(StoreConfig::in_dir(dir.path()), clock.clone()).unwrap();
    assert_eq!(refused(store.login("desk", PASSWORD)), expected, "the lock survives a restart");
    // Another username is not held up.
    assert_eq!(store.login("admin", PASSWORD).unwrap().username, "admin");

    clock.advance(Duration::minutes(1));
    let session = store.login("desk", PASSWORD).unwrap();
    assert_eq!(session.username, "desk");
    // Signing in clears the count: three wrong passwords are free again.
    for _ in 0..3 {
        wrong(store.login("desk", "typo"));
    }
    clock.advance(Duration::seconds(FIRST_WAIT_SECONDS));
    assert_eq!(store.login("desk", PASSWORD).unwrap().username, "desk");

    // Every sign-in, wrong password and the lock are recorded (attempts refused unchecked are not),
    // each with its audit entry, and the chain holds.
    let mut expected = vec!["wrong_password"; 7];
    expected.push("locked");
    expected.push("signed_in");
    expected.extend(["wrong_password"; 3]);
    expected.push("signed_in");
    assert_eq!(outcomes(&store), expected);
    let audited: i64 = store
        .read(|c| {
            Ok(c.query_row(
                "SELECT count(*) FROM audit WHERE action = 'staff.sign_in' AND entity = 'sign_in'",
                [],
                |r| r.get(0),
            )?)
        })
        .unwrap();
    assert_eq!(audited, 13 + 1, "desk's thirteen and admin's one");
    assert!(store.verify_audit().unwrap().is_intact());
}

#[test]
fn a_username_that_is_no_account_is_slowed_alike_and_recorded_nowhere() {
    let (_dir, store, clock) = store_and_clock();
    store.create_practice(&example::practice_setup("admin", PASSWORD)).unwrap();
    let journal_before = count(&store, "journal");
    for _ in 0..3 {
        wrong(store.login("nobody", PASSWORD));
    }
    assert_eq!(
        refused(store.login("nobody", PASSWORD)),
        "too many wrong passwords: wait 5 seconds before trying again"
    );
    clock.advance(Duration::seconds(5));
    wrong(store.login("nobody", PASSWORD));
    assert_eq!(count(&store, "journal"), journal_before, "nothing recorded for a name that is no account");
    assert_eq!(store.login("admin", PASSWORD).unwrap().username, "admin");
}

#[test]
fn a_deactivated_account_is_refused_like_a_wrong_password_and_counted() {
    let (_dir, store, _clock) = store_and_clock();
    let admin = store.create_practice(&example::practice_setup("admin", PASSWORD)).unwrap();
    let desk = store.add_staff(&admin, &example::staff("desk", Role::Reception, PASSWORD)).unwrap();
    let off = lifeboat_core::StaffUpdate { active: Some(false), ..Default::default() };
    store.update_staff(&admin, desk.id, &off).unwrap();
    for _ in 0..3 {
        wrong(store.login("desk", PASSWORD));
    }
    refused(store.login("desk", PASSWORD));
}

#[test]
fn the_idle_lock_time_is_a_setting_of_this_pc_for_those_who_manage_staff() {
    let (_dir, store, _clock) = store_and_clock();
    let admin = store.create_practice(&example::practice_setup("admin", PASSWORD)).unwrap();
    store.add_staff(&admin, &example::staff("desk", Role::Reception, PASSWORD)).unwrap();
    let desk = store.login("desk", PASSWORD).unwrap();
    assert_eq!(store.idle_lock_minutes().unwrap(), 5, "five minutes unless chosen otherwise");
    let err = store.set_idle_lock_minutes(&desk, 30).unwrap_err();
    assert_eq!(err.code().as_str(), "forbidden");
    for bad in [0, 61, u32::MAX] {
        let err = store.set_idle_lock_minutes(&admin, bad).unwrap_err();
        assert_eq!(err.to_string(), "minutes: must be from 1 to 60 minutes");
    }
    assert_eq!(store.set_idle_lock_minutes(&admin, 15).unwrap(), 15);
    assert_eq!(store.idle_lock_minutes().unwrap(), 15);
}

#[test]
fn a_locked_screen_opens_only_with_the_password_of_whoever_was_using_it() {
    let (_dir, store, _clock) = store_and_clock();
    let admin = store.create_practice(&example::practice_setup("admin", PASSWORD)).unwrap();
    store.add_staff(&admin, &example::staff("desk", Role::Reception, "desk's own password")).unwrap();
    let desk = store.login("desk", "desk's own password").unwrap();
    // Another person's password does not open desk's screen, nor does a wrong one; each counts.
    wrong(store.unlock(&desk, PASSWORD));
    wrong(store.unlock(&desk, "guess"));
    assert_eq!(store.unlock(&desk, "desk's own password").unwrap(), desk);
    assert_eq!(outcomes(&store), ["signed_in", "wrong_password", "wrong_password", "signed_in"]);
}

#[test]
fn people_change_their_own_password_and_it_reaches_the_other_pcs() {
    let (_dir, store, _clock) = store_and_clock();
    let admin = store.create_practice(&example::practice_setup("admin", PASSWORD)).unwrap();
    // A manager set desk's first password.
    store.add_staff(&admin, &example::staff("desk", Role::Reception, "temporary 123")).unwrap();
    let desk = store.login("desk", "temporary 123").unwrap();
    let refused = |current: &str, new: &str| store.change_own_password(&desk, current, new).unwrap_err().to_string();
    assert_eq!(refused("temporary 123", "short"), "new_password: must be at least 8 characters");
    assert_eq!(refused("temporary 123", "temporary 123"), "new_password: is your current password; choose another");
    assert_eq!(refused("not it at all", "my own secret"), "current_password: is not your password");
    store.change_own_password(&desk, "temporary 123", "my own secret").unwrap();
    wrong(store.login("desk", "temporary 123"));
    assert_eq!(store.login("desk", "my own secret").unwrap().staff_id, desk.staff_id);

    // The change is journaled and audited (its hash hidden wherever it is shown), and another PC of
    // the practice takes it.
    let change = store
        .changes_missing_from(&[], 10_000)
        .unwrap()
        .into_iter()
        .rfind(|c| c.entity == "staff" && c.kind == "update")
        .unwrap();
    assert_eq!(
        change.redacted().payload,
        serde_json::json!({ "password_hash": "(hidden)", "must_change_password": false })
    );
    assert!(store.verify_audit().unwrap().is_intact());
    let (_other_dir, other) = common::store();
    other.apply_changes(&store.changes_missing_from(&[], 10_000).unwrap()).unwrap();
    wrong(other.login("desk", "temporary 123"));
    assert_eq!(other.login("desk", "my own secret").unwrap().staff_id, desk.staff_id);
}

/// A password a manager gives (a new account, or a reset when someone forgot theirs) must be
/// replaced by the person's own before they can do anything else; who may give one; the flag travels
/// to the other PCs with the account.
#[test]
fn a_password_a_manager_gives_must_be_replaced_before_anything_else() {
    let (_dir, store, admin) = practice();
    let manager = login_as(&store, &admin, "m.manager", Role::Manager);
    let desk = login_as(&store, &admin, "desk", Role::Reception);
    let mut new = example::staff("r.new", Role::Reception, "given password 1");
    new.must_change_password = true;
    let added = store.add_staff(&manager, &new).unwrap();
    assert!(added.must_change_password);

    let given = store.login("r.new", "given password 1").unwrap();
    assert!(given.must_change_password, "the screens ask at once");
    let client = lifeboat_core::NewClient {
        first_name: "Ada".into(),
        last_name: "Lovelace".into(),
        phone: "07700 900123".into(),
        ..Default::default()
    };
    let first = "you are using the password a manager gave you: choose your own password first";
    assert_eq!(store.register_client(&given, &client).unwrap_err().to_string(), first);
    assert_eq!(store.list_staff(&given).unwrap_err().to_string(), first);
    let same = store.change_own_password(&given, "given password 1", "given password 1").unwrap_err();
    assert_eq!(same.to_string(), "new_password: is your current password; choose another");
    store.change_own_password(&given, "given password 1", "my own words 2").unwrap();
    let own = store.login("r.new", "my own words 2").unwrap();
    assert!(!own.must_change_password);
    store.register_client(&own, &client).unwrap();
    assert!(!store.list_staff(&manager).unwrap().iter().find(|s| s.username == "r.new").unwrap().must_change_password);

    // Forgotten: a manager gives a new one, to be replaced again; the old one no longer works.
    let reset = store.reset_password(&manager, own.staff_id, "another given 3").unwrap();
    assert!(reset.must_change_password);
    assert_eq!(
        store.register_client(&own, &client).unwrap_err().to_string(),
        first,
        "a session opened before the reset is held to it: the database decides, not the session"
    );
    assert!(store.must_change_password(own.staff_id).unwrap());
    wrong(store.login("r.new", "my own words 2"));
    assert!(store.login("r.new", "another given 3").unwrap().must_change_password);

    // Who may: not reception; not a manager for an admin; nobody for themselves; a real password.
    let refusal = |r: lifeboat_core::Result<lifeboat_core::Staff>| r.unwrap_err().to_string();
    assert_eq!(
        refusal(store.reset_password(&desk, own.staff_id, "another given 4")),
        "a reception account may not change staff accounts; ask a manager or an admin"
    );
    assert_eq!(
        refusal(store.reset_password(&manager, admin.staff_id, "another given 4")),
        "only an admin may give an admin account a new password"
    );
    assert_eq!(
        refusal(store.reset_password(&manager, manager.staff_id, "another given 4")),
        "change your own password under Your password, with the one you use now"
    );
    assert_eq!(
        refusal(store.reset_password(&manager, own.staff_id, "short")),
        "password: must be at least 8 characters"
    );

    // Another PC of the practice takes the account with its flag; the audit chain holds.
    let (_other_dir, other) = common::store();
    other.apply_changes(&store.changes_missing_from(&[], 10_000).unwrap()).unwrap();
    assert!(other.login("r.new", "another given 3").unwrap().must_change_password);
    assert!(store.verify_audit().unwrap().is_intact());
}

/// A password typed again to sign a record counts with sign-in: an open session is no way to guess
/// it without limit, and a lock reached there holds at sign-in too.
#[test]
fn wrong_passwords_typed_to_sign_count_with_sign_in() {
    let (_dir, store, clock) = store_and_clock();
    let admin = store.create_practice(&example::practice_setup("admin", PASSWORD)).unwrap();
    store.add_staff(&admin, &example::staff("desk", Role::Vet, PASSWORD)).unwrap();
    let vet = store.login("desk", PASSWORD).unwrap();
    for _ in 0..3 {
        let err = store.confirm_password(&vet, "not the password").err().unwrap();
        assert_eq!(err.code(), lifeboat_core::ErrorCode::Invalid, "{err}");
    }
    let err = store.confirm_password(&vet, PASSWORD).err().expect("the right password waits too");
    assert!(
        matches!(&err, Error::TooManyAttempts(reason) if reason == "too many wrong passwords: wait 5 seconds before trying again"),
        "{err:?}"
    );
    assert_eq!(refused(store.login("desk", PASSWORD)), "too many wrong passwords: wait 5 seconds before trying again");
    clock.advance(Duration::seconds(FIRST_WAIT_SECONDS));
    assert!(store.confirm_password(&vet, PASSWORD).is_ok(), "after the wait the right password is taken");
    // And it cleared the count: three more wrong ones cost nothing again.
    for _ in 0..3 {
        assert!(store.confirm_password(&vet, "not the password").is_err());
    }
    assert!(store.login("desk", "not it").is_err());
    // Each wrong one is in the journal (and so the audit log), marked as typed while signing.
    let while_signing: i64 = store
        .read(|c| {
            Ok(c.query_row(
                "SELECT count(*) FROM journal WHERE entity = 'sign_in' AND json_extract(payload, '$.while') = 'signing'
                 AND json_extract(payload, '$.outcome') = 'wrong_password'",
                [],
                |r| r.get(0),
            )?)
        })
        .unwrap();
    assert_eq!(while_signing, 6);
    assert!(store.doctor().unwrap().is_healthy());
}
