//! Every migration upgrades a database left by the schema before it, keeping its data. (That the
//! shipped migrations are the files that shipped is checked by their pinned hashes, in
//! `store::migrations`.)

use lifeboat_core::store::migrations::{migrate_to, schema_version, SCHEMA_VERSION};

/// Rows an older Lifeboat would have written at each schema version, in the forms it wrote them, to
/// be found again after the upgrade. Index = schema version.
fn fixture(version: u32) -> &'static str {
    match version {
        0 => "",
        1 => "INSERT INTO practice VALUES ('p1', 'Old Practice', '2026-01-01T00:00:00+00:00');
              INSERT INTO staff (id, practice_id, username, display_name, role, password_hash, created_at, updated_at)
              VALUES ('s1', 'p1', 'old.admin', 'Old Admin', 'admin', 'x', '2026-01-01T00:00:00.123456789+00:00', '2026-01-01T00:00:00+00:00');",
        2 => "INSERT INTO practice VALUES ('p1', 'Old Practice', '2026-01-01T00:00:00+00:00');
              INSERT INTO staff (id, practice_id, username, display_name, role, password_hash, created_at, updated_at)
              VALUES ('s1', 'p1', 'old.admin', 'Old Admin', 'vet', 'x', '2026-01-01T00:00:00.123456789+00:00', '2026-01-01T00:00:00+00:00');
              INSERT INTO client (id, first_name, last_name, phone, search_rowid, created_at, updated_at)
              VALUES ('c1', 'Ada', 'Old', '07700 900000', 1, '2026-02-01T10:00:00Z', '2026-02-01T10:00:00Z');
              INSERT INTO patient (id, name, species, sex, created_at, updated_at)
              VALUES ('a1', 'Rex', 'dog', 'male', '2026-02-01T10:00:00Z', '2026-02-01T10:00:00Z');
              INSERT INTO ownership VALUES ('c1', 'a1', '2026-02-01T10:00:00Z');
              INSERT INTO appointment (id, clinician_id, starts_at, ends_at, kind, patient_id, client_id, status, created_at, updated_at)
              VALUES ('ap1', 's1', '2026-02-02T09:00:00Z', '2026-02-02T09:15:00Z', 'consultation', 'a1', 'c1', 'booked', '2026-02-01T10:00:00Z', '2026-02-01T10:00:00Z');",
        3 => "INSERT INTO practice VALUES ('p1', 'Old Practice', '2026-01-01T00:00:00.000Z');
              INSERT INTO staff (id, practice_id, username, display_name, role, password_hash, created_at, updated_at)
              VALUES ('s1', 'p1', 'old.admin', 'Old Admin', 'vet', 'x', '2026-01-01T00:00:00.123Z', '2026-01-01T00:00:00.000Z');",
        4 => "INSERT INTO node (id, created_at) VALUES ('n1', '2026-01-01T00:00:00.000Z');
              INSERT INTO practice VALUES ('p1', 'Old Practice', '2026-01-01T00:00:00.000Z');
              INSERT INTO staff (id, practice_id, username, display_name, role, password_hash, created_at, updated_at)
              VALUES ('s1', 'p1', 'old.admin', 'Old Admin', 'vet', 'x', '2026-01-01T00:00:00.123Z', '2026-01-01T00:00:00.000Z');
              INSERT INTO client (id, first_name, last_name, phone, search_rowid, created_at, updated_at)
              VALUES ('c1', 'Ada', 'Old', '07700 900000', 1, '2026-02-01T10:00:00.000Z', '2026-02-01T10:00:00.000Z'),
                     ('c2', 'Bob', 'Old', '07700 900001', 2, '2026-02-01T10:00:00.000Z', '2026-02-01T10:00:00.000Z');
              INSERT INTO patient (id, name, species, sex, created_at, updated_at)
              VALUES ('a1', 'Rex', 'dog', 'male', '2026-02-01T10:00:00.000Z', '2026-02-01T10:00:00.000Z');
              INSERT INTO ownership VALUES ('c1', 'a1', '2026-02-01T10:00:00.000Z'), ('c2', 'a1', '2026-02-01T10:00:00.000Z');
              INSERT INTO journal (op_id, node_id, node_seq, hlc, schema_version, actor_id, entity, entity_id, kind, payload, content_hash)
              VALUES ('o1', 'n1', 1, 100, 4, 's1', 'client', 'c1', 'create', '{}', 'h1'),
                     ('o2', 'n1', 2, 200, 4, 's1', 'client', 'c2', 'create', '{}', 'h2');",
        5 => "INSERT INTO practice VALUES ('p1', 'Old Practice', '2026-01-01T00:00:00.000Z');
              INSERT INTO staff (id, practice_id, username, display_name, role, password_hash, created_at, updated_at)
              VALUES ('s1', 'p1', 'old.admin', 'Old Admin', 'vet', 'x', '2026-01-01T00:00:00.123Z', '2026-01-01T00:00:00.000Z');
              INSERT INTO client (id, first_name, last_name, phone, search_rowid, created_at, updated_at)
              VALUES ('c1', 'Ada', 'Old', '07700 900000', 1, '2026-02-01T10:00:00.000Z', '2026-02-01T10:00:00.000Z');
              INSERT INTO patient (id, name, species, sex, created_at, updated_at)
              VALUES ('a1', 'Rex', 'dog', 'male', '2026-02-01T10:00:00.000Z', '2026-02-01T10:00:00.000Z');
              INSERT INTO ownership VALUES ('o1', 'c1', 'a1', '2026-02-01T10:00:00.000Z');",
        6 => "INSERT INTO practice (id, name, created_at, outage_began) VALUES ('p1', 'Old Practice', '2026-01-01T00:00:00.000Z', '2026-02-01T08:00:00.000Z');
              INSERT INTO staff (id, practice_id, username, display_name, role, password_hash, created_at, updated_at)
              VALUES ('s1', 'p1', 'old.admin', 'Old Admin', 'vet', 'x', '2026-01-01T00:00:00.123Z', '2026-01-01T00:00:00.000Z');
              INSERT INTO client (id, first_name, last_name, phone, search_rowid, origin, pms_id, created_at, updated_at)
              VALUES ('c1', 'Ada', 'Old', '07700 900000', 1, 'pms', '10001', '2026-02-01T10:00:00.000Z', '2026-02-01T10:00:00.000Z');",
        7 => "INSERT INTO practice (id, name, created_at) VALUES ('p1', 'Old Practice', '2026-01-01T00:00:00.000Z');
              INSERT INTO staff (id, practice_id, username, display_name, role, password_hash, created_at, updated_at)
              VALUES ('s1', 'p1', 'old.admin', 'Old Admin', 'vet', 'x', '2026-01-01T00:00:00.123Z', '2026-01-01T00:00:00.000Z');
              INSERT INTO client (id, first_name, last_name, phone, search_rowid, created_at, updated_at)
              VALUES ('c1', 'Ada', 'Old', '07700 900000', 1, '2026-02-01T10:00:00.000Z', '2026-02-01T10:00:00.000Z');
              INSERT INTO ledger_mark (id, record_kind, record_id, stage, pms_id, seen_changes, marked_by, marked_at)
              VALUES ('m1', 'client', 'c1', 'entered', '10001', 1, 's1', '2026-02-02T10:00:00.000Z');",
        8 => "INSERT INTO practice (id, name, created_at) VALUES ('p1', 'Old Practice', '2026-01-01T00:00:00.000Z');
              INSERT INTO staff (id, practice_id, username, display_name, role, password_hash, created_at, updated_at)
              VALUES ('s1', 'p1', 'old.admin', 'Old Admin', 'vet', 'x', '2026-01-01T00:00:00.123Z', '2026-01-01T00:00:00.000Z');
              INSERT INTO client (id, first_name, last_name, phone, search_rowid, created_at, updated_at)
              VALUES ('c1', 'Ada', 'Old', '07700 900000', 1, '2026-02-01T10:00:00.000Z', '2026-02-01T10:00:00.000Z'),
                     ('c2', 'Ada', 'Old', '07700 900000', 2, '2026-02-01T10:00:00.000Z', '2026-02-01T10:00:00.000Z');
              UPDATE client SET merged_into = 'c1' WHERE id = 'c2';",
        9 => "INSERT INTO practice (id, name, created_at) VALUES ('p1', 'Old Practice', '2026-01-01T00:00:00.000Z');
              INSERT INTO staff (id, practice_id, username, display_name, role, password_hash, created_at, updated_at)
              VALUES ('s1', 'p1', 'old.admin', 'Old Admin', 'vet', 'x', '2026-01-01T00:00:00.123Z', '2026-01-01T00:00:00.000Z');
              INSERT INTO clinical_void (id, entity, entity_id, reason, voided_by, voided_at)
              VALUES ('v1', 'charge', 'h1', 'Wrong fee', 's1', '2026-02-01T10:00:00.000Z'),
                     ('v2', 'charge', 'h1', 'Voided on another PC too', 's1', '2026-02-01T10:01:00.000Z');",
        10 => "INSERT INTO practice (id, name, created_at) VALUES ('p1', 'Old Practice', '2026-01-01T00:00:00.000Z');
              INSERT INTO staff (id, practice_id, username, display_name, role, password_hash, created_at, updated_at)
              VALUES ('s1', 'p1', 'old.admin', 'Old Admin', 'vet', 'x', '2026-01-01T00:00:00.123Z', '2026-01-01T00:00:00.000Z');",
        11 => "INSERT INTO practice (id, name, created_at) VALUES ('p1', 'Old Practice', '2026-01-01T00:00:00.000Z');
              INSERT INTO staff (id, practice_id, username, display_name, role, password_hash, created_at, updated_at, phone)
              VALUES ('s1', 'p1', 'old.admin', 'Old Admin', 'vet', 'x', '2026-01-01T00:00:00.123Z', '2026-01-01T00:00:00.000Z', '');",
        12 => "INSERT INTO practice (id, name, created_at) VALUES ('p1', 'Old Practice', '2026-01-01T00:00:00.000Z');
              INSERT INTO staff (id, practice_id, username, display_name, role, password_hash, created_at, updated_at, phone)
              VALUES ('s1', 'p1', 'old.admin', 'Old Admin', 'vet', 'x', '2026-01-01T00:00:00.123Z', '2026-01-01T00:00:00.000Z', '');
              INSERT INTO client (id, first_name, last_name, phone, search_rowid, created_at, updated_at)
              VALUES ('c1', 'Ada', 'Old', '07700 900000', 1, '2026-02-01T10:00:00.000Z', '2026-02-01T10:00:00.000Z');",
        13 => "INSERT INTO practice (id, name, created_at) VALUES ('p1', 'Old Practice', '2026-01-01T00:00:00.000Z');
              INSERT INTO staff (id, practice_id, username, display_name, role, password_hash, created_at, updated_at, phone)
              VALUES ('s1', 'p1', 'old.admin', 'Old Admin', 'vet', 'x', '2026-01-01T00:00:00.123Z', '2026-01-01T00:00:00.000Z', '');
              INSERT INTO number_block (id, kind, node_id, first, last, set_by, set_at)
              VALUES ('b1', 'client', 'n1', 1000, 1999, 's1', '2026-02-01T10:00:00.000Z');",
        14 => "INSERT INTO practice (id, name, created_at) VALUES ('p1', 'Old Practice', '2026-01-01T00:00:00.000Z');
              INSERT INTO staff (id, practice_id, username, display_name, role, password_hash, created_at, updated_at, phone)
              VALUES ('s1', 'p1', 'old.admin', 'Old Admin', 'vet', 'x', '2026-01-01T00:00:00.123Z', '2026-01-01T00:00:00.000Z', '');
              INSERT INTO drill (id, folder, started_at, started_by, plan)
              VALUES ('d1', '/drills/d1', '2026-02-01T10:00:00.000Z', 's1', '{\"tasks\":[]}');",
        15 => "INSERT INTO practice (id, name, created_at) VALUES ('p1', 'Old Practice', '2026-01-01T00:00:00.000Z');
              INSERT INTO staff (id, practice_id, username, display_name, role, password_hash, created_at, updated_at, phone)
              VALUES ('s1', 'p1', 'old.admin', 'Old Admin', 'vet', 'x', '2026-01-01T00:00:00.123Z', '2026-01-01T00:00:00.000Z', '');
              INSERT INTO client (id, first_name, last_name, phone, search_rowid, created_at, updated_at)
              VALUES ('c1', 'Zoë', 'Åström', '07700 900000', 1, '2026-02-01T10:00:00.000Z', '2026-02-01T10:00:00.000Z');
              INSERT INTO client_search (rowid, names, contact) VALUES (1, 'Zoë Åström', '07700900000');",
        16 | 17 => "INSERT INTO practice (id, name, created_at) VALUES ('p1', 'Old Practice', '2026-01-01T00:00:00.000Z');
              INSERT INTO staff (id, practice_id, username, display_name, role, password_hash, created_at, updated_at, phone)
              VALUES ('s1', 'p1', 'old.admin', 'Old Admin', 'vet', 'x', '2026-01-01T00:00:00.123Z', '2026-01-01T00:00:00.000Z', '');
              INSERT INTO client (id, first_name, last_name, phone, search_rowid, created_at, updated_at)
              VALUES ('c1', 'Zoë', 'Åström', '07700 900000', 1, '2026-02-01T10:00:00.000Z', '2026-02-01T10:00:00.000Z');",
        18 => "INSERT INTO practice (id, name, created_at) VALUES ('p1', 'Old Practice', '2026-01-01T00:00:00.000Z');
              INSERT INTO staff (id, practice_id, username, display_name, role, password_hash, created_at, updated_at, phone)
              VALUES ('s1', 'p1', 'old.admin', 'Old Admin', 'vet', 'x', '2026-01-01T00:00:00.123Z', '2026-01-01T00:00:00.000Z', '');
              INSERT INTO field_clock (entity, entity_id, clocks) VALUES
                ('client', 'c1', '{\"first_name\":[116312891392000003,\"n1\"],\"last_name\":[116312891392000003,\"n1\"],\"phone\":[116312999999000001,\"n2\"],\"email\":[116312999999000001,\"n0\"],\"town\":[116312891392000003,\"n1\"]}'),
                ('staff', 's1', '{\"display_name\":[5,\"n1\"]}'),
                ('premises', 'r1', '{}');",
        _ => unreachable!("add a fixture for schema {version}"),
    }
}

#[test]
fn each_schema_upgrades_to_the_current_one_keeping_its_data() {
    for from in 0..SCHEMA_VERSION {
        let dir = tempfile::TempDir::new().unwrap();
        let mut conn = rusqlite::Connection::open(dir.path().join("old.db")).unwrap();
        migrate_to(&mut conn, from).unwrap();
        conn.execute_batch(fixture(from)).unwrap();
        migrate_to(&mut conn, SCHEMA_VERSION).unwrap();
        assert_eq!(schema_version(&conn).unwrap(), SCHEMA_VERSION);
        // The full-text index is gone; its B-tree successor is filled at the first open (tests/search.rs).
        let fts: i64 = conn
            .query_row("SELECT count(*) FROM sqlite_master WHERE name = 'client_search'", [], |r| r.get(0))
            .unwrap();
        let terms: i64 = conn.query_row("SELECT count(*) FROM search_term", [], |r| r.get(0)).unwrap();
        assert_eq!((fts, terms), (0, 0), "from schema {from}");
        if from >= 1 {
            let (name, created): (String, String) = conn
                .query_row("SELECT display_name, created_at FROM staff WHERE id = 's1'", [], |r| {
                    Ok((r.get(0)?, r.get(1)?))
                })
                .unwrap();
            assert_eq!(name, "Old Admin", "from schema {from}");
            assert_eq!(created, "2026-01-01T00:00:00.123Z", "from schema {from}: one timestamp format");
            let sqp: bool = conn.query_row("SELECT sqp FROM staff WHERE id = 's1'", [], |r| r.get(0)).unwrap();
            assert!(!sqp, "from schema {from}: nobody is an SQP until a manager says so");
            let must: bool =
                conn.query_row("SELECT must_change_password FROM staff WHERE id = 's1'", [], |r| r.get(0)).unwrap();
            assert!(!must, "from schema {from}: an account kept from before keeps its password");
        }
        if from == 2 {
            let times: (String, String, String) = conn
                .query_row("SELECT starts_at, ends_at, created_at FROM appointment WHERE id = 'ap1'", [], |r| {
                    Ok((r.get(0)?, r.get(1)?, r.get(2)?))
                })
                .unwrap();
            assert_eq!(
                times,
                (
                    "2026-02-02T09:00:00.000Z".into(),
                    "2026-02-02T09:15:00.000Z".into(),
                    "2026-02-01T10:00:00.000Z".into()
                )
            );
        }
        if from == 4 {
            let ids: Vec<String> = conn
                .prepare("SELECT id FROM ownership ORDER BY client_id")
                .unwrap()
                .query_map([], |r| r.get(0))
                .unwrap()
                .collect::<Result<_, _>>()
                .unwrap();
            assert_eq!(ids.len(), 2, "both owners are kept");
            assert_ne!(ids[0], ids[1], "each link has an id of its own");
            for id in &ids {
                let parsed = uuid::Uuid::parse_str(id).unwrap_or_else(|_| panic!("{id} is a UUID"));
                assert_eq!(parsed.get_version_num(), 4);
            }
            let counter: i64 =
                conn.query_row("SELECT last_seq FROM node_counter WHERE node_id = 'n1'", [], |r| r.get(0)).unwrap();
            assert_eq!(counter, 2, "the node's counter starts where its journal ends");
            let formats: i64 =
                conn.query_row("SELECT count(*) FROM journal WHERE hash_format = 1", [], |r| r.get(0)).unwrap();
            assert_eq!(formats, 2, "old entries keep the hash format they were made with");
        }
        if from == 18 {
            // Field clocks grouped by clock: groups in clock order (stamp, then node), fields by name.
            let clocks: Vec<(String, String, String)> = conn
                .prepare("SELECT entity, entity_id, clocks FROM field_clock ORDER BY entity, entity_id")
                .unwrap()
                .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
                .unwrap()
                .collect::<Result<_, _>>()
                .unwrap();
            assert_eq!(
                clocks,
                vec![
                    (
                        "client".into(),
                        "c1".into(),
                        r#"[[116312891392000003,"n1",["first_name","last_name","town"]],[116312999999000001,"n0",["email"]],[116312999999000001,"n2",["phone"]]]"#.into()
                    ),
                    ("premises".into(), "r1".into(), "[]".into()),
                    ("staff".into(), "s1".into(), r#"[[5,"n1",["display_name"]]]"#.into()),
                ]
            );
            let sql: String = conn
                .query_row("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'field_clock'", [], |r| {
                    r.get(0)
                })
                .unwrap();
            assert!(!sql.contains("WITHOUT ROWID"), "{sql}");
        }
        if from == 17 {
            let (clients, waiting): (i64, i64) = conn
                .query_row("SELECT (SELECT count(*) FROM client), (SELECT count(*) FROM search_pending)", [], |r| {
                    Ok((r.get(0)?, r.get(1)?))
                })
                .unwrap();
            assert_eq!((clients, waiting), (1, 0), "no client waits for the index after the upgrade");
        }
        if from == 5 {
            let origins: (String, String) = conn
                .query_row(
                    "SELECT c.origin, p.origin FROM client c, patient p WHERE c.id = 'c1' AND p.id = 'a1'",
                    [],
                    |r| Ok((r.get(0)?, r.get(1)?)),
                )
                .unwrap();
            assert_eq!(origins, ("offline".into(), "offline".into()), "records made before imports were made here");
        }
        if from == 6 {
            let kept: (String, String, i64) = conn
                .query_row(
                    "SELECT c.origin, c.pms_id, (SELECT count(*) FROM ledger_mark) FROM client c WHERE c.id = 'c1'",
                    [],
                    |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
                )
                .unwrap();
            assert_eq!(kept, ("pms".into(), "10001".into(), 0), "the ledger starts empty");
        }
        if from == 7 {
            let kept: (Option<String>, i64) = conn
                .query_row(
                    "SELECT c.merged_into, (SELECT count(*) FROM ledger_mark) FROM client c WHERE c.id = 'c1'",
                    [],
                    |r| Ok((r.get(0)?, r.get(1)?)),
                )
                .unwrap();
            assert_eq!(kept, (None, 1), "no client is merged yet; the ledger's marks stay");
        }
        if from == 8 {
            let kept: (Option<String>, Option<String>) = conn
                .query_row("SELECT merged_into, purged_at FROM client WHERE id = 'c2'", [], |r| {
                    Ok((r.get(0)?, r.get(1)?))
                })
                .unwrap();
            assert_eq!(kept, (Some("c1".into()), None), "a merge stays; nothing is purged by the upgrade");
        }
        if from == 9 {
            let voids: Vec<(String, String, String)> = conn
                .prepare("SELECT id, entity, reason FROM clinical_void ORDER BY id")
                .unwrap()
                .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
                .unwrap()
                .collect::<Result<_, _>>()
                .unwrap();
            assert_eq!(
                voids,
                vec![
                    ("v1".into(), "charge".into(), "Wrong fee".into()),
                    ("v2".into(), "charge".into(), "Voided on another PC too".into())
                ],
                "voids are kept when their table learns the lab's records"
            );
            let guarded = conn.execute_batch("DELETE FROM clinical_void").unwrap_err().to_string();
            assert!(guarded.contains("a void cannot be deleted"), "{guarded}");
        }
        if from == 12 {
            let number: Option<i64> =
                conn.query_row("SELECT number FROM client WHERE id = 'c1'", [], |r| r.get(0)).unwrap();
            assert_eq!(number, None, "a client made before numbers has none");
        }
        if from == 11 {
            // The void table learnt payments and claims: one can be voided on an upgraded database.
            conn.execute_batch(
                "INSERT INTO clinical_void (id, entity, entity_id, reason, voided_by, voided_at)
                 VALUES ('v9', 'payment', 'y1', 'Typed twice', 's1', '2026-02-01T10:00:00.000Z')",
            )
            .unwrap();
            let guarded = conn.execute_batch("UPDATE clinical_void SET reason = 'x'").unwrap_err().to_string();
            assert!(guarded.contains("a void cannot be changed"), "{guarded}");
        }
        if from >= 1 {
            let phone: String = conn.query_row("SELECT phone FROM staff WHERE id = 's1'", [], |r| r.get(0)).unwrap();
            assert_eq!(phone, "", "from schema {from}: no phone until one is given");
        }
        let fk_problems: i64 =
            conn.query_row("SELECT count(*) FROM pragma_foreign_key_check", [], |r| r.get(0)).unwrap();
        assert_eq!(fk_problems, 0);
    }
}

#[test]
fn a_failed_migration_leaves_the_old_schema_intact() {
    let dir = tempfile::TempDir::new().unwrap();
    let mut conn = rusqlite::Connection::open(dir.path().join("old.db")).unwrap();
    // A table the first migration is about to create makes it fail halfway.
    conn.execute_batch("CREATE TABLE journal (x)").unwrap();
    assert!(migrate_to(&mut conn, SCHEMA_VERSION).is_err());
    assert_eq!(schema_version(&conn).unwrap(), 0);
    let tables: i64 =
        conn.query_row("SELECT count(*) FROM sqlite_master WHERE type = 'table'", [], |r| r.get(0)).unwrap();
    assert_eq!(tables, 1, "nothing of the failed migration is left");
}

/// Field clocks as schema 18 wrote them: for each record, a JSON object of `[hlc, "node"]` per field.
/// Stamps of many lengths (a text order would put 10 before 9), nodes and field names that sort
/// differently by bytes and by case, quotes, letters beyond ASCII.
fn schema_18_clocks(count: usize) -> Vec<(String, String, String)> {
    let fields = ["Zeta", "address_line1", "alerts", "email", "first_name", "last_name", "phone", "town", "ä_note"];
    let nodes = ["n0", "n1", "N2", "nœud", "n\"q"];
    let stamps = [9i64, 10, 99, 100, 116312891392000003, 116312999999000001, i64::MAX];
    let mut seed = 0x2545_f491_4f6c_dd1du64;
    let mut next = move |n: usize| {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        (seed % n as u64) as usize
    };
    (0..count)
        .map(|i| {
            let mut clocks = serde_json::Map::new();
            for _ in 0..next(fields.len() + 1) {
                let clock = serde_json::json!([stamps[next(stamps.len())], nodes[next(nodes.len())]]);
                clocks.insert(fields[next(fields.len())].to_string(), clock);
            }
            let entity = ["client", "patient", "appointment"][i % 3];
            (entity.to_string(), format!("{i:04}"), serde_json::Value::Object(clocks).to_string())
        })
        .collect()
}

fn field_clocks(conn: &rusqlite::Connection) -> Vec<(String, String, String)> {
    conn.prepare("SELECT entity, entity_id, clocks FROM field_clock ORDER BY entity, entity_id")
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap()
}

/// Migration 19 converts field clocks row by row in Rust (its SQL would sort them all in memory):
/// the result is the text the shipped SQL makes of the same rows, and a row no Lifeboat wrote (not
/// JSON, not an object, a clock that is not `[hlc, "node"]`) is kept as it was instead of failing
/// the upgrade (the record is then reported as damaged when read: `store::clocks`' tests).
#[test]
fn migration_19_converts_field_clocks_as_its_sql_does_and_keeps_damaged_rows_as_they_were() {
    let rows = schema_18_clocks(600);
    let damaged = [
        ("client", "bad1", "not JSON"),
        ("client", "bad2", "[1,2]"),
        ("client", "bad3", r#"{"phone":["116312891392000003","n1"]}"#),
        ("patient", "bad4", r#"{"name":[116312891392000003]}"#),
        ("patient", "bad5", r#"{"name":[1.5,"n1"]}"#),
    ];
    let dirs = [tempfile::TempDir::new().unwrap(), tempfile::TempDir::new().unwrap()];
    let [mut by_sql, mut upgraded] =
        dirs.each_ref().map(|d| rusqlite::Connection::open(d.path().join("old.db")).unwrap());
    for conn in [&mut by_sql, &mut upgraded] {
        migrate_to(conn, 18).unwrap();
        let tx = conn.transaction().unwrap();
        for (entity, id, clocks) in &rows {
            tx.execute("INSERT INTO field_clock (entity, entity_id, clocks) VALUES (?1, ?2, ?3)", [entity, id, clocks])
                .unwrap();
        }
        tx.commit().unwrap();
    }
    for (entity, id, clocks) in damaged {
        upgraded
            .execute("INSERT INTO field_clock (entity, entity_id, clocks) VALUES (?1, ?2, ?3)", [entity, id, clocks])
            .unwrap();
    }
    // The shipped SQL by itself, on the same rows.
    by_sql.execute_batch(lifeboat_core::store::migrations::MIGRATIONS[18].sql).unwrap();
    migrate_to(&mut upgraded, 19).unwrap();

    let expected = field_clocks(&by_sql);
    assert_eq!(expected.len(), rows.len());
    assert!(expected.iter().any(|(_, _, c)| c.contains(r#"[9,"#) && c.contains(r#"[10,"#)), "both short stamps occur");
    let mut found = field_clocks(&upgraded);
    let kept: Vec<(String, String, String)> =
        found.iter().filter(|(_, id, _)| id.starts_with("bad")).cloned().collect();
    found.retain(|(_, id, _)| !id.starts_with("bad"));
    assert_eq!(found, expected);
    assert_eq!(kept, damaged.map(|(e, i, c)| (e.to_string(), i.to_string(), c.to_string())).to_vec());
    let staging: i64 = upgraded
        .query_row("SELECT count(*) FROM sqlite_master WHERE name = 'field_clock_regrouped'", [], |r| r.get(0))
        .unwrap();
    assert_eq!(staging, 0, "the conversion's own table is gone");
}

/// A damaged page met while an upgrade reads the old rows is reported as damage (which the app
/// answers by offering the backups), not as an internal error; and nothing of the upgrade stands.
#[test]
fn a_damaged_page_met_by_the_upgrade_is_reported_as_damage() {
    let dir = tempfile::TempDir::new().unwrap();
    let path = dir.path().join("old.db");
    {
        let mut conn = rusqlite::Connection::open(&path).unwrap();
        migrate_to(&mut conn, 18).unwrap();
        let tx = conn.transaction().unwrap();
        for (entity, id, clocks) in schema_18_clocks(3000) {
            tx.execute("INSERT INTO field_clock (entity, entity_id, clocks) VALUES (?1, ?2, ?3)", [entity, id, clocks])
                .unwrap();
        }
        tx.commit().unwrap();
    }
    // A page of the field clocks' table, in the file's last tenth (the table was written last).
    let mut bytes = std::fs::read(&path).unwrap();
    let pages = bytes.len() / 4096;
    let page = pages - pages / 10;
    bytes[page * 4096..(page + 1) * 4096].fill(0xff);
    std::fs::write(&path, bytes).unwrap();

    let mut conn = rusqlite::Connection::open(&path).unwrap();
    let err = migrate_to(&mut conn, SCHEMA_VERSION).unwrap_err();
    match &err {
        lifeboat_core::Error::Storage(e) => {
            assert_eq!(e.sqlite_error_code(), Some(rusqlite::ErrorCode::DatabaseCorrupt), "{err}")
        }
        other => panic!("not reported as damage: {other:?}"),
    }
    assert_eq!(schema_version(&conn).unwrap(), 18, "nothing of the upgrade stands");
}
