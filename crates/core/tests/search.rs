//! The search index: after random changes through every path that writes clients, animals and
//! ownerships (registering, editing, adding an owner, merging clients and animals, a PMS snapshot
//! read in again and again, and changes arriving from another PC; the purge is in closing.rs), it holds exactly what a rebuild would make, on both PCs; search then
//! finds each client by what reception types, exact surname and phone first.

mod common;

use common::*;
use lifeboat_core::{example, NewClient, NewPatient, Role, Species, Store, StoreConfig};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use tempfile::TempDir;
use uuid::Uuid;

const SURNAMES: [&str; 10] =
    ["Smith", "Smyth", "O'Brien", "Smith-Jones", "Ní Bhriain", "Lee", "Leeson", "Åström", "Ng", "Quillfeather"];
const FIRST: [&str; 6] = ["Zoë", "Jo", "Joanne", "Seán", "Li", "Agatha"];
const PETS: [&str; 6] = ["Biscuit", "Mr Whiskers", "Smudge", "Lee", "Bramble-Rose", "Ziggy"];
const POSTCODES: [&str; 4] = ["EX4 1AB", "TA1 1AA", "SW1A 2AA", "M1 1AE"];

fn random_client(rng: &mut StdRng) -> NewClient {
    NewClient {
        title: ["", "Mrs", "Dr"][rng.random_range(0..3)].into(),
        first_name: FIRST[rng.random_range(0..FIRST.len())].into(),
        last_name: SURNAMES[rng.random_range(0..SURNAMES.len())].into(),
        postcode: POSTCODES[rng.random_range(0..POSTCODES.len())].into(),
        phone: format!("07700 9{:05}", rng.random_range(0..100_000)),
        phone_alt: if rng.random_bool(0.3) {
            format!("01632 96{:04}", rng.random_range(0..10_000))
        } else {
            String::new()
        },
        email: if rng.random_bool(0.5) {
            format!("someone{}@example.co.uk", rng.random_range(0..1000))
        } else {
            String::new()
        },
        ..Default::default()
    }
}

fn random_pet(rng: &mut StdRng) -> NewPatient {
    let species = if rng.random_bool(0.5) { Species::Dog } else { Species::Cat };
    let mut p = NewPatient::new(PETS[rng.random_range(0..PETS.len())], species);
    if rng.random_bool(0.5) {
        p.microchip = format!("826098{:09}", rng.random_range(0..1_000_000_000u32));
    }
    p
}

struct Pc {
    _dir: TempDir,
    store: Store,
}

fn differences(store: &Store) -> u64 {
    store.doctor().unwrap().search_index_differences
}

fn deliver(from: &Store, to: &Store) {
    let changes = from.changes_missing_from(&to.marks().unwrap(), 100_000).unwrap();
    let applied = to.apply_changes(&changes).unwrap();
    assert_eq!(applied.quarantined, 0);
}

#[test]
fn the_index_is_what_a_rebuild_makes_after_random_changes_on_every_write_path() {
    for seed in 0..4u64 {
        let mut rng = StdRng::seed_from_u64(seed);
        let (dir, store, clock) = store_and_clock();
        let admin = store.create_practice(&example::practice_setup("admin", PASSWORD)).unwrap();
        let desk = login_as(&store, &admin, "desk", Role::Reception);
        let manager = login_as(&store, &admin, "boss", Role::Manager);
        let a = Pc { _dir: dir, store };
        let other_dir = TempDir::new().unwrap();
        let b =
            Pc { store: Store::open(StoreConfig::in_dir(other_dir.path()), clock.clone()).unwrap(), _dir: other_dir };
        deliver(&a.store, &b.store);
        let desk_b = b.store.login("desk", PASSWORD).unwrap();
        let mut clients: Vec<Uuid> = Vec::new();
        let mut pets: Vec<(Uuid, Species)> = Vec::new();
        for step in 0..150 {
            clock.advance(chrono::Duration::seconds(7));
            let pick = |rng: &mut StdRng, of: &[Uuid]| of[rng.random_range(0..of.len())];
            match rng.random_range(0..9) {
                0 | 1 => {
                    let c = a.store.register_client(&desk, &random_client(&mut rng)).unwrap();
                    clients.push(c.id);
                }
                2 if !clients.is_empty() => {
                    let id = pick(&mut rng, &clients);
                    // A client merged away refuses edits; that refusal must leave the index alone too.
                    let _ = a.store.update_client(&desk, id, &random_client(&mut rng));
                }
                3 if !clients.is_empty() => {
                    let owner = pick(&mut rng, &clients);
                    if let Ok(p) = a.store.register_patient(&desk, owner, &random_pet(&mut rng)) {
                        pets.push((p.id, p.species));
                    }
                }
                4 if !clients.is_empty() && !pets.is_empty() => {
                    let (pet, _) = pets[rng.random_range(0..pets.len())];
                    let _ = a.store.add_patient_owner(&desk, pet, pick(&mut rng, &clients));
                }
                5 if clients.len() > 2 => {
                    let (keep, merge) = (pick(&mut rng, &clients), pick(&mut rng, &clients));
                    let _ = a.store.merge_clients(&manager, keep, merge);
                }
                6 if pets.len() > 2 => {
                    let (keep, species) = pets[rng.random_range(0..pets.len())];
                    if let Some((merge, _)) = pets.iter().find(|(id, s)| *s == species && *id != keep) {
                        let _ = a.store.merge_patients(&manager, keep, *merge);
                    }
                }
                7 => {
                    // A PMS snapshot read in, again and again: clients and animals under PMS
                    // numbers, an animal listed under another owner with its name or chip changed.
                    let owner = format!("C{}", rng.random_range(0..6));
                    let (details, pet) = (random_client(&mut rng), random_pet(&mut rng));
                    let animal = format!("A{}", rng.random_range(0..6));
                    let _ = a.store.write(&manager, |w| {
                        w.import_client(&owner, &details)?;
                        w.import_patient(&animal, &owner, &pet, None)
                    });
                }
                _ => {
                    // Another PC registers and edits; the changes cross both ways.
                    let c = b.store.register_client(&desk_b, &random_client(&mut rng)).unwrap();
                    b.store.register_patient(&desk_b, c.id, &random_pet(&mut rng)).unwrap();
                    if let Some(id) = clients.last() {
                        deliver(&a.store, &b.store);
                        let _ = b.store.update_client(&desk_b, *id, &random_client(&mut rng));
                    }
                    clients.push(c.id);
                    deliver(&b.store, &a.store);
                    deliver(&a.store, &b.store);
                }
            }
            if step % 25 == 24 {
                assert_eq!(differences(&a.store), 0, "seed {seed}, step {step}, this PC");
                assert_eq!(differences(&b.store), 0, "seed {seed}, step {step}, the other PC");
            }
        }
        deliver(&a.store, &b.store);
        deliver(&b.store, &a.store);
        assert_eq!((differences(&a.store), differences(&b.store)), (0, 0), "seed {seed}");
        // Both PCs find the same clients, in the same order, for what reception types.
        for query in [
            "sm", "smith", "o'b", "zoe", "07700 9", "ex4", "1ab", "ex4 1a", "sw1a 2aa", "lee", "biscuit", "826098",
            "jo smith",
        ] {
            let on_a: Vec<Uuid> = a.store.search(&desk, query, 50).unwrap().iter().map(|h| h.client_id).collect();
            let on_b: Vec<Uuid> = b.store.search(&desk_b, query, 50).unwrap().iter().map(|h| h.client_id).collect();
            assert_eq!(on_a, on_b, "seed {seed}: {query:?}");
        }
    }
}

#[test]
fn an_index_spoiled_by_hand_is_found_by_the_doctor_and_rebuilt_at_the_next_open() {
    let (dir, store, _clock) = store_and_clock();
    let admin = store.create_practice(&example::practice_setup("admin", PASSWORD)).unwrap();
    let desk = login_as(&store, &admin, "desk", Role::Reception);
    let c = store
        .register_client(
            &desk,
            &NewClient { last_name: "Smith".into(), phone: "07700 900461".into(), ..Default::default() },
        )
        .unwrap();
    assert_eq!(differences(&store), 0);
    drop(store);
    let conn = raw_connection(&dir);
    conn.execute("DELETE FROM search_term WHERE term = 'smith'", []).unwrap();
    conn.execute("INSERT INTO search_term (term, kind, sort, client) VALUES ('ghost', 0, 'ghost', 999)", []).unwrap();
    drop(conn);
    let store = reopen(&dir).unwrap();
    let report = store.doctor().unwrap();
    assert_eq!(report.search_index_differences, 2);
    let desk = store.login("desk", PASSWORD).unwrap();
    assert!(store.search(&desk, "smith", 10).unwrap().is_empty(), "the spoiled index is what search reads");
    assert!(report.is_healthy(), "a derived index out of step is not damage to the records");
    store.rebuild_search_index().unwrap();
    assert_eq!(differences(&store), 0);
    assert_eq!(store.search(&desk, "smith", 10).unwrap().iter().map(|h| h.client_id).collect::<Vec<_>>(), [c.id]);
    // Spoiled again, and found again at the next open once the rules' version it was built with
    // is not this build's.
    let conn = raw_connection(&dir);
    conn.execute("DELETE FROM search_term", []).unwrap();
    drop(conn);
    drop(store);
    // The index is built afresh when the setting that says it was built is gone (as after the
    // migration that made it).
    let conn = raw_connection(&dir);
    conn.execute("UPDATE local_setting SET value = '1' WHERE key = 'search_index_built'", []).unwrap();
    drop(conn);
    let store = reopen(&dir).unwrap();
    assert_eq!(differences(&store), 0);
    let desk = store.login("desk", PASSWORD).unwrap();
    assert_eq!(store.search(&desk, "smith", 10).unwrap().iter().map(|h| h.client_id).collect::<Vec<_>>(), [c.id]);
}

#[test]
fn exact_surnames_and_phone_numbers_come_first_then_words_in_order() {
    let r = reception();
    let add = |first: &str, last: &str, phone: &str| {
        r.store
            .register_client(
                &r.desk,
                &NewClient {
                    first_name: first.into(),
                    last_name: last.into(),
                    phone: phone.into(),
                    ..Default::default()
                },
            )
            .unwrap()
    };
    let leeson = add("Ann", "Leeson", "01632 960001");
    let lee_b = add("Bob", "Lee", "01632 960002");
    let lee_a = add("Amy", "Lee", "01632 960003");
    let first_lee = add("Lee", "Adams", "01632 960004");
    let pet_owner = add("Cat", "Owner", "01632 960005");
    r.store.register_patient(&r.desk, pet_owner.id, &NewPatient::new("Leela", Species::Cat)).unwrap();
    let names =
        |q: &str| -> Vec<Uuid> { r.store.search(&r.desk, q, 10).unwrap().iter().map(|h| h.client_id).collect() };
    // Surname Lee exactly (by first name), then a first name Lee, then longer words in order.
    assert_eq!(names("lee"), [lee_a.id, lee_b.id, first_lee.id, pet_owner.id, leeson.id]);
    assert_eq!(names("LE"), [lee_a.id, lee_b.id, first_lee.id, pet_owner.id, leeson.id]);
    assert_eq!(names("lee bob"), [lee_b.id]);
    // A whole phone number first, then the numbers it starts or ends.
    assert_eq!(names("01632 960002")[0], lee_b.id);
    assert_eq!(names("960003"), [lee_a.id]);
    // Of several words, the one that starts the fewest clients leads (the first typed on a tie), and
    // an exact surname comes first whichever word leads: the Smiths called Zoe, then by the leading
    // word's order.
    let abbott = add("Zoe", "Abbott", "01632 960011");
    r.store.register_patient(&r.desk, abbott.id, &NewPatient::new("Smithy", Species::Dog)).unwrap();
    let smithers = add("Zoë", "Smithers", "01632 960012");
    let smith = add("Zoe", "Smith", "01632 960013");
    assert_eq!(names("zoe smith"), [smith.id, abbott.id, smithers.id]);
    assert_eq!(names("smith zoe"), [smith.id, smithers.id, abbott.id]);
    // With "smith" the commoner word, "zoe" leads (Zoe Abbott, Zoe Smith, Zoe Smithers by name), but
    // the exact surname still comes first.
    add("Amy", "Smithson", "01632 960015");
    add("Bob", "Smithson", "01632 960016");
    assert_eq!(names("zoe smith"), [smith.id, abbott.id, smithers.id]);
    // A title is not asked of the client; a number typed in groups after a name is one number.
    assert_eq!(names("Mrs Smith Zoe"), [smith.id, abbott.id, smithers.id]);
    assert_eq!(names("smith 01632 960 013"), [smith.id]);
    assert_eq!(names("smithers 960 013"), Vec::<Uuid>::new());
    // Letters with no accent to take off are typed as on an English keyboard.
    let soren = add("Søren", "Ørsted", "01632 960014");
    assert_eq!(names("soren orsted"), [soren.id]);
    // A merged client is found only as the one they were merged into.
    let manager = login_as(&r.store, &r.admin, "boss", Role::Manager);
    r.store.merge_clients(&manager, lee_a.id, lee_b.id).unwrap();
    assert_eq!(names("lee bob"), Vec::<Uuid>::new());
    assert_eq!(names("lee")[..2], [lee_a.id, first_lee.id]);
}

#[test]
fn clients_a_stopped_pull_left_waiting_are_indexed_at_the_next_open() {
    let (dir, store, _clock) = store_and_clock();
    let admin = store.create_practice(&example::practice_setup("admin", PASSWORD)).unwrap();
    let desk = login_as(&store, &admin, "desk", Role::Reception);
    let client = NewClient { last_name: "Quillfeather".into(), phone: "07700 900461".into(), ..Default::default() };
    let c =
        store.register_client_with_patient(&desk, &client, Some(&NewPatient::new("Biscuit", Species::Dog))).unwrap();
    drop(store);
    // As a pull leaves it when the PC stops between its pages and the index's catching up: the
    // client's words not written yet, the client noted as waiting.
    let conn = raw_connection(&dir);
    conn.execute("DELETE FROM search_term", []).unwrap();
    conn.execute("INSERT INTO search_pending (client_id) VALUES (?1)", [c.client.id.to_string()]).unwrap();
    // And one that names no client here: skipped, never a reason not to open.
    conn.execute("INSERT INTO search_pending (client_id) VALUES (?1)", [Uuid::now_v7().to_string()]).unwrap();
    drop(conn);
    let store = reopen(&dir).unwrap();
    assert_eq!(differences(&store), 0);
    let desk = store.login("desk", PASSWORD).unwrap();
    for query in ["quill", "biscuit", "0770090", "900461"] {
        let found: Vec<Uuid> = store.search(&desk, query, 10).unwrap().iter().map(|h| h.client_id).collect();
        assert_eq!(found, [c.client.id], "{query}");
    }
    drop(store);
    let waiting: i64 = raw_connection(&dir).query_row("SELECT count(*) FROM search_pending", [], |r| r.get(0)).unwrap();
    assert_eq!(waiting, 0);
}

/// What a new PC's pull holds in its index between a page and the index's catching up (the pull's
/// end): a client merged away, and the owner of an animal merged away, lose their words in the page's
/// own transaction; every other client the page touched waits for `index_pending`.
#[test]
fn a_pulled_page_takes_a_merged_clients_and_animals_words_out_at_once_and_leaves_the_rest_to_wait() {
    use lifeboat_protocol::wire::Sequenced;

    let (_dir, a, clock) = store_and_clock();
    let admin = a.create_practice(&example::practice_setup("admin", PASSWORD)).unwrap();
    let desk = login_as(&a, &admin, "desk", Role::Reception);
    let manager = login_as(&a, &admin, "boss", Role::Manager);
    let new_client =
        |last: &str, phone: &str| NewClient { last_name: last.into(), phone: phone.into(), ..Default::default() };
    let kept = a
        .register_client_with_patient(
            &desk,
            &new_client("Quillfeather", "07700 900461"),
            Some(&NewPatient::new("Biscuit", Species::Dog)),
        )
        .unwrap();
    let typo = a.register_client(&desk, &new_client("Quilfeather", "07700 900999")).unwrap();
    let bert = a
        .register_client_with_patient(
            &desk,
            &new_client("Ambrose", "07700 900123"),
            Some(&NewPatient::new("Biscit", Species::Dog)),
        )
        .unwrap();

    // The new PC joins and pulls what there is so far, then catches its index up.
    let other_dir = TempDir::new().unwrap();
    let b = Store::open(StoreConfig::in_dir(other_dir.path()), clock.clone()).unwrap();
    let peer = joined_relay(&b);
    let mut seq = 0i64;
    let mut pull = |to: &Store| {
        let page: Vec<Sequenced> = a
            .changes_missing_from(&to.marks().unwrap(), 100_000)
            .unwrap()
            .into_iter()
            .map(|change| {
                seq += 1;
                Sequenced { seq, change }
            })
            .collect();
        let applied = to.apply_page(peer.id, &page).unwrap();
        assert_eq!((applied.quarantined, applied.new as usize), (0, page.len()));
    };
    pull(&b);
    while b.index_pending(100).unwrap().0 > 0 {}
    assert_eq!(differences(&b), 0);
    let desk_b = b.login("desk", PASSWORD).unwrap();
    let found =
        |query: &str| -> Vec<Uuid> { b.search(&desk_b, query, 10).unwrap().iter().map(|h| h.client_id).collect() };
    assert_eq!(found("900999"), [typo.id]);
    assert_eq!(found("biscit"), [bert.client.id]);

    // On the first PC: the typo merged into the client it repeats, Bert's Biscit into Biscuit, and a
    // new client registered.
    a.merge_clients(&manager, kept.client.id, typo.id).unwrap();
    let biscit = bert.patient.as_ref().unwrap().id;
    a.merge_patients(&manager, kept.patient.as_ref().unwrap().id, biscit).unwrap();
    let new = a.register_client(&desk, &new_client("Ormerod", "07700 900777")).unwrap();
    pull(&b);

    // Between the page and the index's catching up: the merged-away words are gone already...
    assert_eq!(found("900999"), Vec::<Uuid>::new(), "the merged-away client's phone");
    assert_eq!(found("biscit"), Vec::<Uuid>::new(), "the merged-away animal's name");
    // ...and the others wait.
    assert_eq!(found("ormerod"), Vec::<Uuid>::new(), "not indexed before the pull's end");
    let waiting: std::collections::BTreeSet<Uuid> = b
        .read(|c| {
            let mut stmt = c.prepare("SELECT client_id FROM search_pending")?;
            let ids = stmt.query_map([], |r| r.get::<_, String>(0))?.collect::<rusqlite::Result<Vec<_>>>()?;
            Ok(ids.iter().map(|s| Uuid::parse_str(s).unwrap()).collect())
        })
        .unwrap();
    assert!(waiting.contains(&new.id) && waiting.contains(&kept.client.id), "{waiting:?}");
    assert!(!waiting.contains(&typo.id), "{waiting:?}");

    while b.index_pending(100).unwrap().0 > 0 {}
    assert_eq!(differences(&b), 0);
    assert_eq!(found("ormerod"), [new.id]);
    assert_eq!(found("900461"), [kept.client.id]);
    // The merge gave the kept client the typo's number as a second one.
    assert_eq!(found("900999"), [kept.client.id]);
    assert_eq!(found("biscit"), Vec::<Uuid>::new());
    let mut owners = found("biscuit");
    owners.sort();
    let mut both = vec![kept.client.id, bert.client.id];
    both.sort();
    assert_eq!(owners, both, "Bert owns Biscuit now");
    let waiting: i64 = b.read(|c| Ok(c.query_row("SELECT count(*) FROM search_pending", [], |r| r.get(0))?)).unwrap();
    assert_eq!(waiting, 0);
}
