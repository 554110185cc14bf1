//! Every migration upgrades a database left by the schema before it, keeping its data.

use lifeboat_core::migrations::{migrate_to, schema_version, SCHEMA_VERSION};

/// Rows an older Lifeboat would have written at each schema version, to be found again after the
/// upgrade. Index = schema version.
fn fixture(version: u32) -> &'static str {
    match version {
        0 => "",
        1 => "INSERT INTO practice VALUES ('p1', 'Old Practice', '2026-01-01T00:00:00Z');
              INSERT INTO staff (id, practice_id, username, display_name, role, password_hash, created_at, updated_at)
              VALUES ('s1', 'p1', 'old.admin', 'Old Admin', 'admin', 'x', '2026-01-01T00:00:00Z', '2026-01-01T00:00:00Z');",
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
        if from >= 1 {
            let name: String =
                conn.query_row("SELECT display_name FROM staff WHERE id = 's1'", [], |r| r.get(0)).unwrap();
            assert_eq!(name, "Old Admin", "from schema {from}");
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
