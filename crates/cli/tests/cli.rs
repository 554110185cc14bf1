//! The real `lifeboat` binary against a real database in a temporary folder.

use std::io::Write;
use std::process::{Command, Output, Stdio};

use tempfile::TempDir;

const ADMIN_PASSWORD: &str = "admin password 1";
const STAFF_PASSWORD: &str = "staff password 1";

fn lifeboat(dir: &TempDir, args: &[&str], stdin: &str) -> Output {
    lifeboat_with(dir, args, stdin, &[])
}

/// The binary with extra environment variables. The key goes to the key file, as on a PC without a
/// credential store (the real Secret Service is tested in the core's `secret_service.rs`), so the
/// developer's own keyring is never written to.
fn lifeboat_with(dir: &TempDir, args: &[&str], stdin: &str, env: &[(&str, &str)]) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_lifeboat"))
        .args(args)
        .env("LIFEBOAT_DATA_DIR", dir.path())
        .env("LIFEBOAT_CREDENTIAL_STORE", "none")
        .env_remove("LIFEBOAT_RECOVERY_KEY")
        .env_remove("LIFEBOAT_PASSPHRASE")
        .env_remove("LIFEBOAT_NEW_PASSPHRASE")
        .envs(env.iter().copied())
        .env_remove("LIFEBOAT_PASSWORD")
        .env_remove("LIFEBOAT_NEW_PASSWORD")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(stdin.as_bytes()).unwrap();
    child.wait_with_output().unwrap()
}

fn text(out: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr))
}

fn init(dir: &TempDir) {
    let out = lifeboat(
        dir,
        &[
            "init",
            "--practice",
            "Harbour Vets",
            "--address-line1",
            "1 Quay Street",
            "--town",
            "Bristol",
            "--postcode",
            "bs1 4dj",
            "--phone",
            "+44 117 496 0000",
            "--admin-username",
            "boss",
            "--admin-name",
            "Bea Boss",
        ],
        &format!("{ADMIN_PASSWORD}\n"),
    );
    assert!(out.status.success(), "{}", text(&out));
}

fn add_staff(dir: &TempDir, actor: &str, actor_password: &str, username: &str, role: &str) -> Output {
    let mut args =
        vec!["staff", "add", "--as", actor, "--username", username, "--name", "Wilhelmina Thistlewood", "--role", role];
    if role == "vet" {
        args.extend(["--rcvs-number", "7012345", "--qualifications", "BVSc MRCVS"]);
    }
    let added = lifeboat(dir, &args, &format!("{actor_password}\n{GIVEN_PASSWORD}\n"));
    if added.status.success() {
        // The password a manager gives is theirs to replace before anything else.
        let refused = lifeboat(dir, &["staff", "list", "--as", username], &format!("{GIVEN_PASSWORD}\n"));
        assert_eq!(refused.status.code(), Some(3), "{}", text(&refused));
        assert!(text(&refused).contains("choose your own password first"), "{}", text(&refused));
        let changed =
            lifeboat(dir, &["staff", "password", "--as", username], &format!("{GIVEN_PASSWORD}\n{STAFF_PASSWORD}\n"));
        assert!(changed.status.success(), "{}", text(&changed));
    }
    added
}

/// The password a manager gives a new account.
const GIVEN_PASSWORD: &str = "given by the boss";

#[test]
fn a_manager_sets_up_a_practice_and_its_staff() {
    let dir = TempDir::new().unwrap();
    init(&dir);
    let out = add_staff(&dir, "boss", ADMIN_PASSWORD, "w.thistlewood", "vet");
    assert!(out.status.success(), "{}", text(&out));
    let out = lifeboat(&dir, &["staff", "list", "--as", "boss"], &format!("{ADMIN_PASSWORD}\n"));
    let listing = text(&out);
    assert!(out.status.success(), "{listing}");
    assert!(
        listing.contains("w.thistlewood") && listing.contains("Wilhelmina Thistlewood") && listing.contains("7012345"),
        "{listing}"
    );

    // Set-up wrote the practice, premises, admin, starter formulary, price list and lab tests, and the
    // recovery key made (a key change, journaled); then one vet, and
    // the two sign-ins of the two commands above; then the vet's sign-ins (refused work with the
    // password given; choosing their own, whose current password is checked as a sign-in too) and the
    // change of password.
    let created = 2
        + 3
        + lifeboat_core::clinical::formulary::starter_list().len()
        + lifeboat_core::clinical::charge::starter_fee_count()
        + lifeboat_core::clinical::lab::starter_lab_test_count();
    let out = lifeboat(&dir, &["verify"], "");
    assert!(out.status.success() && text(&out).contains(&format!("intact: {} entries", created + 6)), "{}", text(&out));

    let set = [
        "hours",
        "set",
        "--as",
        "boss",
        "--clinician",
        "W.Thistlewood",
        "--week",
        "mon-fri 08:30-18:00, sat 09:00-12:30",
    ];
    let out = lifeboat(&dir, &set, &format!("{ADMIN_PASSWORD}\n"));
    assert!(out.status.success(), "{}", text(&out));
    let out = lifeboat(
        &dir,
        &["hours", "show", "--as", "boss", "--clinician", "w.thistlewood"],
        &format!("{ADMIN_PASSWORD}\n"),
    );
    assert!(text(&out).contains("w.thistlewood: mon-fri 08:30-18:00, sat 09:00-12:30"), "{}", text(&out));
    let bad = ["hours", "set", "--as", "boss", "--clinician", "w.thistlewood", "--week", "mon-fri 8:30"];
    let out = lifeboat(&dir, &bad, &format!("{ADMIN_PASSWORD}\n"));
    assert_eq!(out.status.code(), Some(4));
    assert!(text(&out).contains("week:"), "{}", text(&out));
    // The working hours, and the sign-ins of the three commands (the refused one too).
    let out = lifeboat(&dir, &["verify"], "");
    assert!(
        out.status.success() && text(&out).contains(&format!("intact: {} entries", created + 6 + 1 + 3)),
        "{}",
        text(&out)
    );

    let out = lifeboat(&dir, &["journal", "--as", "boss", "--since", "2"], &format!("{ADMIN_PASSWORD}\n"));
    let journal = text(&out);
    assert!(out.status.success(), "{journal}");
    assert_eq!(
        journal.lines().filter(|l| l.contains(" staff ")).count(),
        3,
        "the admin, the vet and the vet's own password: {journal}"
    );
    assert!(!journal.contains("practice "), "entry 1 is before --since: {journal}");

    let out = lifeboat(&dir, &["doctor"], "");
    let report = text(&out);
    assert!(out.status.success(), "{report}");
    let schema = format!("schema version {}", lifeboat_core::store::migrations::SCHEMA_VERSION);
    for expected in ["SQLCipher 4", schema.as_str(), "integrity check: ok", "audit chain: intact", "healthy"] {
        assert!(report.contains(expected), "{expected} missing from {report}");
    }
    assert!(!report.contains("Thistlewood"), "doctor prints no personal data");
}

#[test]
fn refusals_have_clear_messages_and_exit_codes() {
    let dir = TempDir::new().unwrap();
    init(&dir);
    assert!(add_staff(&dir, "boss", ADMIN_PASSWORD, "r.desk", "reception").status.success());

    let cases: [(&str, Output, i32, &str); 5] = [
        ("reception adds staff", add_staff(&dir, "r.desk", STAFF_PASSWORD, "sneaky", "admin"), 3, "may not add staff"),
        ("wrong password", add_staff(&dir, "boss", "not the password", "x.y", "nurse"), 3, "password is not right"),
        (
            "vet without RCVS number",
            lifeboat(
                &dir,
                &["staff", "add", "--as", "boss", "--username", "v.v", "--name", "V", "--role", "vet"],
                &format!("{ADMIN_PASSWORD}\n{STAFF_PASSWORD}\n"),
            ),
            4,
            "rcvs_number: is required",
        ),
        (
            "unknown role",
            lifeboat(
                &dir,
                &["staff", "add", "--as", "boss", "--username", "v.v", "--name", "V", "--role", "surgeon"],
                "",
            ),
            2,
            "reception, nurse, vet",
        ),
        (
            "second init",
            lifeboat(
                &dir,
                &[
                    "init",
                    "--practice",
                    "X",
                    "--address-line1",
                    "1",
                    "--town",
                    "T",
                    "--postcode",
                    "BS1 4DJ",
                    "--phone",
                    "0117 496 0000",
                    "--admin-username",
                    "x.x",
                    "--admin-name",
                    "X",
                ],
                "password12\n",
            ),
            4,
            "already holds a practice",
        ),
    ];
    for (name, out, code, message) in cases {
        assert_eq!(out.status.code(), Some(code), "{name}: {}", text(&out));
        assert!(text(&out).contains(message), "{name}: {}", text(&out));
    }
    let listing = text(&lifeboat(&dir, &["staff", "list", "--as", "boss"], &format!("{ADMIN_PASSWORD}\n")));
    assert!(!listing.contains("sneaky"), "nothing was added: {listing}");
}

/// The recovery key `init` printed, or `key change` / `key recovery` did.
fn recovery_key_in(out: &Output) -> String {
    let stdout = String::from_utf8_lossy(&out.stdout);
    let line = stdout.lines().skip_while(|l| !l.starts_with("Recovery key")).nth(2).unwrap_or_default();
    line.trim().to_string()
}

#[test]
fn the_recovery_key_printed_at_init_opens_a_copy_of_the_database_and_backups_elsewhere() {
    let dir = TempDir::new().unwrap();
    let out = lifeboat(
        &dir,
        &[
            "init",
            "--practice",
            "Harbour Vets",
            "--address-line1",
            "1 Quay Street",
            "--town",
            "Bristol",
            "--postcode",
            "BS1 4DJ",
            "--phone",
            "0117 496 0000",
            "--admin-username",
            "boss",
            "--admin-name",
            "Bea Boss",
        ],
        &format!("{ADMIN_PASSWORD}\n"),
    );
    assert!(out.status.success(), "{}", text(&out));
    let recovery = recovery_key_in(&out);
    assert_eq!(recovery.len(), 39, "{}", text(&out));
    let shown = lifeboat(&dir, &["key", "show", "--as", "boss"], &format!("{ADMIN_PASSWORD}\n"));
    assert!(shown.status.success(), "{}", text(&shown));
    assert!(
        text(&shown).contains("kept in the key file") && text(&shown).contains("The recovery key was made on"),
        "{}",
        text(&shown)
    );
    let backup = lifeboat(&dir, &["backup"], "");
    assert!(backup.status.success(), "{}", text(&backup));

    // Another PC: the folder copied, without the key kept on the first PC.
    let other = TempDir::new().unwrap();
    for name in ["lifeboat.db", "lifeboat.key"] {
        std::fs::copy(dir.path().join(name), other.path().join(name)).unwrap();
    }
    let path = other.path().join("lifeboat.key");
    let mut value: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    value["keys"][0].as_object_mut().unwrap().remove("plain");
    std::fs::write(&path, value.to_string()).unwrap();
    let refused = lifeboat(&other, &["verify"], "");
    assert_eq!(refused.status.code(), Some(6), "{}", text(&refused));
    assert!(
        text(&refused).contains("is not on this PC") && text(&refused).contains("LIFEBOAT_RECOVERY_KEY"),
        "{}",
        text(&refused)
    );
    let wrong = lifeboat_with(&other, &["verify"], "", &[("LIFEBOAT_RECOVERY_KEY", &"7".repeat(32))]);
    assert_eq!(wrong.status.code(), Some(4), "{}", text(&wrong));
    let opened = lifeboat_with(&other, &["verify"], "", &[("LIFEBOAT_RECOVERY_KEY", &recovery.to_lowercase())]);
    assert!(opened.status.success(), "{}", text(&opened));
    // From then on it opens there without it.
    assert!(lifeboat(&other, &["verify"], "").status.success());

    // A third PC with only the backups folder: the backup opens with the recovery key.
    let third = TempDir::new().unwrap();
    let backups = dir.path().join("backups");
    let listed = lifeboat(&third, &["backups", "--in", backups.to_str().unwrap()], "");
    let file = String::from_utf8_lossy(&listed.stdout).split_whitespace().last().unwrap().to_string();
    let restore = ["restore", "--yes", file.as_str()];
    let refused = lifeboat(&third, &restore, "");
    assert_eq!(refused.status.code(), Some(6), "{}", text(&refused));
    let restored = lifeboat_with(&third, &restore, "", &[("LIFEBOAT_RECOVERY_KEY", &recovery)]);
    assert!(restored.status.success(), "{}", text(&restored));
    assert!(lifeboat(&third, &["verify"], "").status.success());

    // The key changed: a new recovery key, and the old one no longer opens a copy.
    let changed = lifeboat(&dir, &["key", "change", "--as", "boss"], &format!("{ADMIN_PASSWORD}\n"));
    assert!(changed.status.success(), "{}", text(&changed));
    let second = recovery_key_in(&changed);
    assert!(second.len() == 39 && second != recovery, "{}", text(&changed));
    let confirmed = lifeboat(&dir, &["key", "confirm", "--as", "boss"], &format!("{ADMIN_PASSWORD}\n"));
    assert!(confirmed.status.success(), "{}", text(&confirmed));
    let fourth = TempDir::new().unwrap();
    for name in ["lifeboat.db", "lifeboat.key"] {
        std::fs::copy(dir.path().join(name), fourth.path().join(name)).unwrap();
    }
    let path = fourth.path().join("lifeboat.key");
    let mut value: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    for key in value["keys"].as_array_mut().unwrap() {
        key.as_object_mut().unwrap().remove("plain");
    }
    std::fs::write(&path, value.to_string()).unwrap();
    let old = lifeboat_with(&fourth, &["verify"], "", &[("LIFEBOAT_RECOVERY_KEY", &recovery)]);
    assert_eq!(old.status.code(), Some(4), "{}", text(&old));
    let new = lifeboat_with(&fourth, &["verify"], "", &[("LIFEBOAT_RECOVERY_KEY", &second)]);
    assert!(new.status.success(), "{}", text(&new));
}

#[test]
fn a_passphrase_locks_the_key_and_the_key_commands_wait_for_the_window_to_close() {
    let dir = TempDir::new().unwrap();
    init(&dir);
    let right = "Otter kettle harbour 42";
    let typed = |first: &str, second: &str| format!("{ADMIN_PASSWORD}\n{first}\n{second}\n");
    let differ = lifeboat(&dir, &["key", "passphrase", "--as", "boss"], &typed(right, "Otter kettle harbour 43"));
    assert_eq!(differ.status.code(), Some(4), "{}", text(&differ));
    assert!(text(&differ).contains("the two passphrases typed differ"), "{}", text(&differ));
    let short = lifeboat(&dir, &["key", "passphrase", "--as", "boss"], &typed("otter", "otter"));
    assert_eq!(short.status.code(), Some(4), "{}", text(&short));
    assert!(text(&short).contains("passphrase: is 5 characters; choose at least 12"), "{}", text(&short));
    let set = lifeboat(&dir, &["key", "passphrase", "--as", "boss"], &typed(right, right));
    assert!(set.status.success(), "{}", text(&set));
    let key_file = std::fs::read_to_string(dir.path().join("lifeboat.key")).unwrap();
    assert!(!key_file.contains("\"plain\""), "the key left the file: {key_file}");

    // Without it, every command says how to give it; a wrong one is refused.
    let refused = lifeboat(&dir, &["verify"], "");
    assert_eq!(refused.status.code(), Some(6), "{}", text(&refused));
    assert!(
        text(&refused).contains("protected by this PC's passphrase") && text(&refused).contains("LIFEBOAT_PASSPHRASE"),
        "{}",
        text(&refused)
    );
    let wrong = lifeboat_with(&dir, &["verify"], "", &[("LIFEBOAT_PASSPHRASE", "otter kettle harbour 42")]);
    assert_eq!(wrong.status.code(), Some(4), "{}", text(&wrong));
    assert!(text(&wrong).contains("it is not this PC's passphrase"), "{}", text(&wrong));
    let with = [("LIFEBOAT_PASSPHRASE", right)];
    let shown = lifeboat_with(&dir, &["key", "show", "--as", "boss"], &format!("{ADMIN_PASSWORD}\n"), &with);
    assert!(text(&shown).contains("sealed with this PC's passphrase"), "{}", text(&shown));

    // While the desktop app holds the data folder, changing the key and restoring are refused;
    // reading goes on. Once it lets go, the change is made.
    let held = lifeboat_core::store::folder_lock::FolderLock::acquire(dir.path(), std::time::Duration::ZERO).unwrap();
    let change = ["key", "change", "--as", "boss"];
    let busy = lifeboat_with(&dir, &change, &format!("{ADMIN_PASSWORD}\n"), &with);
    assert_eq!(busy.status.code(), Some(11), "{}", text(&busy));
    assert!(text(&busy).contains("another Lifeboat has the records in"), "{}", text(&busy));
    let restore = lifeboat_with(&dir, &["restore", "--yes", "no-such-backup.db"], "", &with);
    assert_eq!(restore.status.code(), Some(11), "{}", text(&restore));
    assert!(lifeboat_with(&dir, &["verify"], "", &with).status.success());
    drop(held);
    let changed = lifeboat_with(&dir, &change, &format!("{ADMIN_PASSWORD}\n"), &with);
    assert!(changed.status.success(), "{}", text(&changed));
    // The new key is sealed with the passphrase too, and the change is in the journal.
    assert!(lifeboat_with(&dir, &["verify"], "", &with).status.success());
    assert_eq!(lifeboat(&dir, &["verify"], "").status.code(), Some(6));
    let journal = lifeboat_with(&dir, &["journal", "--json", "--as", "boss"], &format!("{ADMIN_PASSWORD}\n"), &with);
    let events: Vec<String> = String::from_utf8_lossy(&journal.stdout)
        .lines()
        .filter(|l| l.contains("\"key_change\""))
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter_map(|v| v["change"]["payload"]["event"].as_str().map(str::to_string))
        .collect();
    assert_eq!(events, ["recovery_key_made", "passphrase_set", "key_changed"], "{}", text(&journal));
}

#[test]
fn init_with_a_bad_postcode_names_it_and_can_be_retried() {
    let dir = TempDir::new().unwrap();
    let args = |postcode: &'static str| {
        vec![
            "init",
            "--practice",
            "P",
            "--address-line1",
            "1 Road",
            "--town",
            "Leeds",
            "--postcode",
            postcode,
            "--phone",
            "0113 496 0000",
            "--admin-username",
            "boss",
            "--admin-name",
            "B",
        ]
    };
    let out = lifeboat(&dir, &args("LS1"), &format!("{ADMIN_PASSWORD}\n"));
    assert_eq!(out.status.code(), Some(4));
    assert!(text(&out).contains("premises.postcode") && text(&out).contains("not a UK postcode"), "{}", text(&out));
    let out = lifeboat(&dir, &args("LS1 4AP"), &format!("{ADMIN_PASSWORD}\n"));
    assert!(out.status.success(), "{}", text(&out));
}

#[test]
fn verify_reports_an_altered_audit_entry() {
    let dir = TempDir::new().unwrap();
    init(&dir);
    let key: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("lifeboat.key")).unwrap()).unwrap();
    let conn = rusqlite::Connection::open(dir.path().join("lifeboat.db")).unwrap();
    conn.pragma_update(
        None,
        "key",
        format!("x'{}{}'", key["keys"][0]["plain"].as_str().unwrap(), key["keys"][0]["salt"].as_str().unwrap()),
    )
    .unwrap();
    conn.execute("UPDATE audit SET action = 'staff.view' WHERE seq = 2", []).unwrap();
    drop(conn);
    let out = lifeboat(&dir, &["verify"], "");
    assert_eq!(out.status.code(), Some(5));
    assert!(text(&out).contains("broken at entry 2"), "{}", text(&out));
}

#[test]
fn doctor_rebuilds_a_search_index_out_of_step_and_calls_the_database_healthy() {
    let dir = TempDir::new().unwrap();
    init(&dir);
    let key: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("lifeboat.key")).unwrap()).unwrap();
    let conn = rusqlite::Connection::open(dir.path().join("lifeboat.db")).unwrap();
    conn.pragma_update(
        None,
        "key",
        format!("x'{}{}'", key["keys"][0]["plain"].as_str().unwrap(), key["keys"][0]["salt"].as_str().unwrap()),
    )
    .unwrap();
    // A row for no client at all, as a write path that forgot its client would leave.
    conn.execute("INSERT INTO search_term (term, kind, sort, client) VALUES ('ghost', 0, 'ghost', 999)", []).unwrap();
    drop(conn);
    let out = lifeboat(&dir, &["doctor"], "");
    let report = text(&out);
    assert!(out.status.success(), "{report}");
    assert!(report.contains("search index: 1 rows were out of step; rebuilt from the records"), "{report}");
    assert!(report.contains("The database is healthy."), "{report}");
    let out = lifeboat(&dir, &["doctor"], "");
    assert!(text(&out).contains("search index: matches the records"), "{}", text(&out));
}

#[test]
fn help_is_everywhere_and_commands_need_a_database() {
    let dir = TempDir::new().unwrap();
    for args in [
        &["--help"][..],
        &["init", "--help"],
        &["staff", "--help"],
        &["staff", "add", "--help"],
        &["staff", "list", "--help"],
        &["verify", "--help"],
        &["journal", "--help"],
        &["doctor", "--help"],
        &["demo", "--help"],
        &["pack", "--help"],
    ] {
        let out = lifeboat(&dir, args, "");
        assert!(out.status.success() && text(&out).contains("Usage"), "{args:?}: {}", text(&out));
    }
    let out = lifeboat(&dir, &["doctor"], "");
    assert_eq!(out.status.code(), Some(6));
    assert!(text(&out).contains("lifeboat init"), "{}", text(&out));
    assert!(!dir.path().join("lifeboat.db").exists(), "doctor does not create a database");
}

/// The fixture files of the core's import tests: PMS exports as Windows systems write them.
fn fixture(name: &str) -> std::path::PathBuf {
    let root = std::env::var_os("CARGO_MANIFEST_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| env!("CARGO_MANIFEST_DIR").into());
    root.join("../core/tests/fixtures/import").join(name)
}

#[test]
fn a_manager_imports_a_pms_export_reads_the_rejects_and_a_second_import_changes_nothing() {
    let dir = TempDir::new().unwrap();
    init(&dir);
    let out = add_staff(&dir, "boss", ADMIN_PASSWORD, "m.manager", "manager");
    assert!(out.status.success(), "{}", text(&out));
    let clients = fixture("clients-windows.csv");
    let clients = clients.to_str().unwrap();
    let rejects = dir.path().join("rejects.csv");
    let password = format!("{STAFF_PASSWORD}\n");

    let out = lifeboat(&dir, &["import", "clients", clients, "--as", "m.manager", "--preview"], &password);
    let preview = text(&out);
    assert!(out.status.success(), "{preview}");
    assert!(preview.contains("clients-windows.csv: 8 rows, windows-1252, Comma-separated"), "{preview}");
    assert!(preview.contains("  County                       -> (not imported)"), "{preview}");
    assert!(preview.contains("line 2: Client number: 10001; Name: Mrs Agatha Quillfeather;"), "{preview}");

    let args = ["import", "clients", clients, "--as", "m.manager", "--rejects", rejects.to_str().unwrap()];
    let out = lifeboat(&dir, &args, &password);
    let report = text(&out);
    assert_eq!(out.status.code(), Some(9), "{report}");
    assert!(
        report.contains("clients-windows.csv: 8 rows: 4 added, 0 updated, 0 already up to date, 0 kept as changed in Lifeboat, 1 repeated rows, 3 rejected."),
        "{report}"
    );
    assert!(report.contains("clients-windows.csv, line 9, column \"Surname\": is required"), "{report}");
    assert!(report.contains("3 rows rejected: the good rows were imported"), "{report}");
    let rejected = std::fs::read_to_string(&rejects).unwrap();
    assert_eq!(rejected.lines().count(), 4, "{rejected}");
    assert!(rejected.lines().nth(2).unwrap().starts_with("10005,,,,5 No Name,"), "{rejected}");

    let out = lifeboat(&dir, &args, &password);
    let report = text(&out);
    assert_eq!(out.status.code(), Some(9), "{report}");
    assert!(report.contains("0 added, 0 updated, 4 already up to date"), "{report}");

    // Reception may not import; the patients' file finds its owners by their PMS numbers.
    let out = add_staff(&dir, "boss", ADMIN_PASSWORD, "r.desk", "reception");
    assert!(out.status.success(), "{}", text(&out));
    let patients = fixture("patients-bom.csv");
    let out = lifeboat(&dir, &["import", "patients", patients.to_str().unwrap(), "--as", "r.desk"], &password);
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));
    let all = ["import", "patients", patients.to_str().unwrap(), "--as", "m.manager", "--all-or-nothing"];
    let out = lifeboat(&dir, &all, &password);
    let report = text(&out);
    assert_eq!(out.status.code(), Some(9), "{report}");
    assert!(report.contains("nothing was imported (all or nothing)"), "{report}");

    // The clients, written out for the PMS: what was imported, with the documented columns.
    let written = dir.path().join("clients-out.csv");
    let out = lifeboat(
        &dir,
        &["export", "clients", "--as", "m.manager", "--out", written.to_str().unwrap(), "--since", "01/01/2020"],
        &password,
    );
    assert!(out.status.success(), "{}", text(&out));
    assert!(text(&out).contains("Wrote 4 rows to"), "{}", text(&out));
    let csv = std::fs::read_to_string(&written).unwrap();
    assert!(csv.starts_with("\u{feff}Lifeboat ID,Client No.,Origin,Title,Forename,Surname,"), "{csv}");
    assert_eq!(csv.lines().count(), 5, "{csv}");
    let out = lifeboat(&dir, &["export", "clients", "--as", "r.desk", "--out", written.to_str().unwrap()], &password);
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));

    // The outage is recorded as having begun after the import: nothing is backlog yet.
    let now = lifeboat_core::time::to_local(chrono::Utc::now()).format("%d/%m/%Y %H:%M").to_string();
    let out = lifeboat(&dir, &["backlog", "--as", "m.manager", "--outage-began", &now], &password);
    assert!(out.status.success(), "{}", text(&out));
    assert!(text(&out).starts_with("Backlog since "), "{}", text(&out));
    assert_eq!(text(&out).lines().count(), 1, "{}", text(&out));
    let out = lifeboat(&dir, &["verify"], "");
    assert!(out.status.success(), "{}", text(&out));
}

#[test]
fn a_manager_exports_the_backlog_marks_it_entered_from_a_file_of_pms_numbers_and_verifies_it() {
    let dir = TempDir::new().unwrap();
    init(&dir);
    for (user, role) in [("m.manager", "manager"), ("r.desk", "reception")] {
        let out = add_staff(&dir, "boss", ADMIN_PASSWORD, user, role);
        assert!(out.status.success(), "{}", text(&out));
    }
    let password = format!("{STAFF_PASSWORD}\n");
    let out = lifeboat(&dir, &["ledger", "--as", "m.manager"], &password);
    assert!(text(&out).contains("No outage recorded"), "{}", text(&out));
    let began = lifeboat_core::time::to_local(chrono::Utc::now() - chrono::Duration::minutes(5))
        .format("%d/%m/%Y %H:%M")
        .to_string();
    let out = lifeboat(&dir, &["backlog", "--as", "m.manager", "--outage-began", &began], &password);
    assert!(out.status.success(), "{}", text(&out));
    // During the outage, the desk registers a client (through the core, as the app does).
    let client = {
        let store = lifeboat_core::Store::open(
            lifeboat_core::StoreConfig {
                database: dir.path().join("lifeboat.db"),
                key_file: dir.path().join("lifeboat.key"),
                fingerprint: String::new(),
                keys: lifeboat_core::KeyAccess::default(),
            },
            std::sync::Arc::new(lifeboat_core::SystemClock),
        )
        .unwrap();
        let desk = store.login("r.desk", STAFF_PASSWORD).unwrap();
        let new = lifeboat_core::NewClient {
            first_name: "Ivy".into(),
            last_name: "Ashdown".into(),
            phone: "07700 900501".into(),
            ..Default::default()
        };
        store.register_client(&desk, &new).unwrap().id.to_string()
    };

    let written = dir.path().join("backlog-clients.csv");
    let out =
        lifeboat(&dir, &["export", "clients", "--as", "m.manager", "--out", written.to_str().unwrap()], &password);
    assert!(out.status.success(), "{}", text(&out));
    assert!(text(&out).contains("; 1 records of the backlog marked exported in it."), "{}", text(&out));
    let out = lifeboat(&dir, &["ledger", "--as", "m.manager", "--missing"], &password);
    let shown = text(&out);
    assert!(out.status.success(), "{shown}");
    assert!(
        shown.contains("  All records                       0 captured      1 exported      0 entered      0 verified     0% in the PMS"),
        "{shown}"
    );
    assert!(
        shown.contains(&format!("Not yet entered in the PMS (1):\n  {client}  Clients        Ivy Ashdown\n")),
        "{shown}"
    );

    // The back-entry worklist, for the person typing into the PMS: Ivy is on it.
    let worklist = dir.path().join("worklist.pdf");
    let out =
        lifeboat(&dir, &["export", "worklist", "--as", "m.manager", "--out", worklist.to_str().unwrap()], &password);
    assert!(out.status.success(), "{}", text(&out));
    assert!(text(&out).contains("Wrote the back-entry worklist of 1 records to"), "{}", text(&out));
    assert!(text(&out).contains("; 0 marked exported in it."), "exported already in the CSV: {}", text(&out));
    assert!(std::fs::read(&worklist).unwrap().starts_with(b"%PDF-"));
    let args = ["export", "worklist", "--as", "m.manager", "--out", "w.pdf", "--since", "01/01/2026"];
    let out = lifeboat(&dir, &args, &password);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));

    // The backlog as FHIR, for a PMS that reads it: a Bundle with the client as a Person.
    let fhir = dir.path().join("backlog.json");
    let out = lifeboat(&dir, &["export", "fhir", "--as", "m.manager", "--out", fhir.to_str().unwrap()], &password);
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        text(&out).contains("Wrote a FHIR R4 transaction Bundle of 2 resources (1 Person, 1 Provenance) to"),
        "{}",
        text(&out)
    );
    let bundle: serde_json::Value = serde_json::from_slice(&std::fs::read(&fhir).unwrap()).unwrap();
    assert_eq!(bundle["entry"][0]["fullUrl"], format!("urn:uuid:{client}"));

    // The PMS's numbers come back in a file: one good row, one for a record Lifeboat does not have.
    let numbers = dir.path().join("numbers.csv");
    std::fs::write(
        &numbers,
        format!("Lifeboat ID,Client No.\r\n{client},88001\r\n01234567-89ab-7def-8123-456789abcdef,88002\r\n"),
    )
    .unwrap();
    let args = ["ledger", "--as", "m.manager", "--pms-numbers", numbers.to_str().unwrap()];
    let out = lifeboat(&dir, &args, &password);
    let shown = text(&out);
    assert_eq!(out.status.code(), Some(9), "{shown}");
    assert!(shown.contains("numbers.csv: 1 marked entered, 0 already entered, 1 rejected."), "{shown}");
    assert!(
        shown.contains(
            "  line 3 (Lifeboat ID): \"01234567-89ab-7def-8123-456789abcdef\" is not a record of the backlog"
        ),
        "{shown}"
    );
    assert!(shown.contains("0 captured      0 exported      1 entered      0 verified   100% in the PMS"), "{shown}");
    let out = lifeboat(&dir, &["ledger", "--as", "m.manager", "--verify-entered"], &password);
    let shown = text(&out);
    assert!(out.status.success(), "{shown}");
    assert!(shown.contains("1 marked verified, 0 verified already."), "{shown}");
    assert!(shown.contains("0 captured      0 exported      0 entered      1 verified   100% in the PMS"), "{shown}");
    // Reception does not reconcile.
    let out = lifeboat(&dir, &["ledger", "--as", "r.desk"], &password);
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));

    // Everything is verified: the outage is closed, and the copies purged at once (0 days).
    let final_export = dir.path().join("final.json");
    let args =
        ["close-outage", "--as", "m.manager", "--purge-after-days", "0", "--out", final_export.to_str().unwrap()];
    let out = lifeboat(&dir, &args, &password);
    let shown = text(&out);
    assert!(out.status.success(), "{shown}");
    assert!(shown.starts_with("Outage closed: 1 records verified in the PMS. Final export written to "), "{shown}");
    let bundle: serde_json::Value = serde_json::from_slice(&std::fs::read(&final_export).unwrap()).unwrap();
    assert_eq!(bundle["type"], "transaction");
    let out = lifeboat(&dir, &["purge", "--as", "m.manager"], &password);
    let shown = text(&out);
    assert!(out.status.success(), "{shown}");
    assert_eq!(
        shown.trim(),
        "Purged 1 clients, 0 animals and 0 appointments held as copies of what the PMS now holds; kept 0 clients and 0 animals named by records the law requires or changed since."
    );
    let out =
        lifeboat(&dir, &["close-outage", "--as", "m.manager", "--purge-after-days", "0", "--out", "x.json"], &password);
    assert_eq!(out.status.code(), Some(4), "closed already: {}", text(&out));
    let out = lifeboat(&dir, &["verify"], "");
    assert!(out.status.success(), "{}", text(&out));
}

/// `lifeboat pack`: the continuity pack written where asked and kept in the database; a vet makes it,
/// reception may not; a bad day is named.
#[test]
fn a_vet_makes_the_continuity_pack_from_the_command_line() {
    let dir = TempDir::new().unwrap();
    init(&dir);
    assert!(add_staff(&dir, "boss", ADMIN_PASSWORD, "w.vet", "vet").status.success());
    assert!(add_staff(&dir, "boss", ADMIN_PASSWORD, "r.desk", "reception").status.success());
    let out_file = dir.path().join("pack.pdf");
    let out = lifeboat(
        &dir,
        &["pack", "--as", "w.vet", "--date", "01/12/2026", "--out", out_file.to_str().unwrap()],
        &format!("{STAFF_PASSWORD}\n"),
    );
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(
        text(&out).trim(),
        format!(
            "Wrote the continuity pack for Tuesday 01/12/2026 to {}: 0 appointments, 0 safety sheets, 0 active prescriptions.",
            out_file.display()
        )
    );
    let pdf = std::fs::read(&out_file).unwrap();
    assert!(pdf.starts_with(b"%PDF-"));
    let words = Command::new("pdftotext").args([out_file.to_str().unwrap(), "-"]).output().expect("pdftotext runs");
    let words = String::from_utf8_lossy(&words.stdout).split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(words.contains("Continuity pack Harbour Vets For Tuesday 1 December 2026"), "{words}");
    assert!(words.contains("Wilhelmina Thistlewood BVSc MRCVS (vet) - no phone recorded"), "{words}");

    let out = lifeboat(&dir, &["pack", "--as", "r.desk"], &format!("{STAFF_PASSWORD}\n"));
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));
    let out = lifeboat(&dir, &["pack", "--as", "w.vet", "--date", "31/02/2026"], &format!("{STAFF_PASSWORD}\n"));
    assert_eq!(out.status.code(), Some(4), "{}", text(&out));
    assert!(text(&out).contains("--date"), "{}", text(&out));
}
