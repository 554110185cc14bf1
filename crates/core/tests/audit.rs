//! The audit chain detects entries altered, removed or reordered behind Lifeboat's back.

mod common;

use common::*;
use lifeboat_core::{example, Role};

/// A practice with its set-up entries and two staff added, closed, ready for tampering; returns the
/// number of audit entries.
fn audited() -> (tempfile::TempDir, i64) {
    let (dir, store, admin) = practice();
    for name in ["n.one", "n.two"] {
        store.add_staff(&admin, &example::staff(name, Role::Nurse, PASSWORD)).unwrap();
    }
    assert!(store.verify_audit().unwrap().is_intact());
    let n = count(&store, "audit");
    (dir, n)
}

#[test]
fn tampering_is_reported_at_the_first_broken_entry() {
    let cases = [
        ("edited action", "UPDATE audit SET action = 'staff.view' WHERE seq = 4", 4, "altered"),
        ("edited time", "UPDATE audit SET at = '2020-01-01T00:00:00+00:00' WHERE seq = 2", 2, "altered"),
        ("deleted entry", "DELETE FROM audit WHERE seq = 3", 3, "missing"),
        (
            "reordered entries",
            "UPDATE audit SET seq = -1 WHERE seq = 2; UPDATE audit SET seq = 2 WHERE seq = 3; UPDATE audit SET seq = 3 WHERE seq = -1;",
            2,
            "does not follow",
        ),
        ("cut-off tail", "DELETE FROM audit WHERE seq = (SELECT max(seq) FROM audit)", 0, "no audit entry"),
    ];
    for (name, sql, seq, reason) in cases {
        let (dir, n) = audited();
        let seq = if seq == 0 { n } else { seq };
        raw_connection(&dir).execute_batch(sql).unwrap();
        let report = reopen(&dir).unwrap().verify_audit().unwrap();
        let broken = report.first_broken.unwrap_or_else(|| panic!("{name}: not detected"));
        assert_eq!(broken.seq, seq, "{name}: {}", broken.reason);
        assert!(broken.reason.contains(reason), "{name}: {}", broken.reason);
    }
}

#[test]
fn doctor_reports_a_healthy_database_and_a_broken_chain() {
    let (dir, _) = audited();
    let report = reopen(&dir).unwrap().doctor().unwrap();
    assert!(report.is_healthy(), "{report:?}");
    assert!(report.sqlcipher_version.starts_with('4'), "{}", report.sqlcipher_version);
    raw_connection(&dir).execute_batch("UPDATE audit SET actor_id = 'someone' WHERE seq = 1").unwrap();
    let report = reopen(&dir).unwrap().doctor().unwrap();
    assert!(!report.is_healthy());
    assert_eq!(report.audit.first_broken.unwrap().seq, 1);
}
