//! Snapshot import and export on the L practice: its 30,000 clients written out as CSV by the
//! export, then read into a new practice by the import (every row validated, journaled and audited,
//! in one transaction), beside a bare bulk insert of the same rows into an encrypted file with the
//! same indexes, and beside the `sqlite3` shell's `.import` of the same file plus the same indexes
//! (an unencrypted file: the shell has no SQLCipher). Then the exports of a four-week backlog to CSV,
//! FHIR and the PDF worklist, beside a bare read of the same tables' rows written as CSV.

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use lifeboat_core::import::columns::{ImportKind, Mapping};
use lifeboat_core::import::ImportOptions;
use lifeboat_core::{example, Store, StoreConfig, SystemClock};
use rusqlite::Connection;

use crate::{durable, pragma_key};

/// The client columns the bare baselines store (as the `client` table has them) and their indexes.
const TABLE: &str = "CREATE TABLE client (id TEXT PRIMARY KEY NOT NULL, pms_id TEXT, title TEXT, first_name TEXT,
    last_name TEXT, address_line1 TEXT, address_line2 TEXT, town TEXT, postcode TEXT, phone TEXT, phone_alt TEXT,
    email TEXT, consent_email TEXT, consent_sms TEXT, notes TEXT);";
const INDEXES: &str = "CREATE INDEX client_last_name ON client (last_name COLLATE NOCASE);
    CREATE INDEX client_phone ON client (phone); CREATE INDEX client_phone_alt ON client (phone_alt);
    CREATE INDEX client_email ON client (email); CREATE INDEX client_postcode ON client (postcode);
    CREATE INDEX client_pms_id ON client (pms_id);";

fn seconds(d: Duration) -> f64 {
    d.as_secs_f64()
}

pub fn run(practice: &Path) {
    // A copy of the L practice: exports write to the ledger, and the outage is recorded below.
    let copy = tempfile::TempDir::new().unwrap();
    for entry in std::fs::read_dir(practice).unwrap() {
        let path = entry.unwrap().path();
        if path.is_file() {
            std::fs::copy(&path, copy.path().join(path.file_name().unwrap())).unwrap();
        }
    }
    backdate(copy.path());
    let source = Store::open(StoreConfig::in_dir(copy.path()), Arc::new(SystemClock)).unwrap();
    let manager = source.login("manager1", lifeboat_synthetic::DEMO_PASSWORD).unwrap();
    let started = Instant::now();
    let exported = source.export_csv(&manager, ImportKind::Clients, None).unwrap();
    let export_all = started.elapsed();
    let rows = exported.rows;
    println!("\nSnapshot import of the L practice's clients ({rows} rows, {} KB of CSV)", exported.bytes.len() / 1024);

    // Lifeboat: a new practice reads the file in, its Lifeboat ids standing in for PMS numbers.
    let dir = tempfile::TempDir::new().unwrap();
    let store = Store::open(StoreConfig::in_dir(dir.path()), Arc::new(SystemClock)).unwrap();
    let admin = store.create_practice(&example::practice_setup("admin", "admin password 1")).unwrap();
    let mut mapping = Mapping::default();
    mapping.columns.insert("Lifeboat ID".into(), "pms_id".into());
    mapping.columns.insert("Client No.".into(), String::new());
    let options = ImportOptions { all_or_nothing: true, mapping: Some(mapping) };
    let started = Instant::now();
    let (report, _) =
        store.import_file(&admin, ImportKind::Clients, "clients.csv", &exported.bytes, &options, |_, _| {}).unwrap();
    let ours = started.elapsed();
    assert_eq!((report.added, report.rejected.len()), (rows, 0), "every row imported");
    let started = Instant::now();
    let (again, _) =
        store.import_file(&admin, ImportKind::Clients, "clients.csv", &exported.bytes, &options, |_, _| {}).unwrap();
    let second = started.elapsed();
    assert_eq!(again.unchanged, rows);

    // Baseline: the same rows parsed from the same file and inserted in one transaction into an
    // encrypted file with the same indexes.
    let base_dir = tempfile::TempDir::new().unwrap();
    let started = Instant::now();
    {
        let conn = Connection::open(base_dir.path().join("bare.db")).unwrap();
        conn.pragma_update(None, "key", pragma_key(dir.path())).unwrap();
        durable(&conn);
        conn.execute_batch(TABLE).unwrap();
        conn.execute_batch(INDEXES).unwrap();
        conn.execute_batch("BEGIN").unwrap();
        let mut insert = conn
            .prepare("INSERT INTO client VALUES (?1, ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)")
            .unwrap();
        let mut reader = csv::Reader::from_reader(&exported.bytes[3..]);
        for record in reader.records() {
            let r = record.unwrap();
            // Lifeboat ID, then Title .. Notes (the export's columns 3 to 15).
            let cells: Vec<&str> = std::iter::once(&r[0]).chain((3..16).map(|i| &r[i])).collect();
            insert.execute(rusqlite::params_from_iter(cells)).unwrap();
        }
        drop(insert);
        conn.execute_batch("COMMIT").unwrap();
    }
    let bare = started.elapsed();

    // Baseline: the sqlite3 shell's .import of the same file, then the same indexes.
    let shell = (|| -> Option<Duration> {
        let csv_file = base_dir.path().join("clients.csv");
        std::fs::write(&csv_file, &exported.bytes[3..]).ok()?;
        let table = "CREATE TABLE client (id TEXT PRIMARY KEY NOT NULL, pms_id TEXT, origin TEXT, title TEXT, \
            first_name TEXT, last_name TEXT, address_line1 TEXT, address_line2 TEXT, town TEXT, postcode TEXT, \
            phone TEXT, phone_alt TEXT, email TEXT, consent_email TEXT, consent_sms TEXT, notes TEXT, created TEXT, \
            changed TEXT);";
        let script = format!("{table}\n.import --csv --skip 1 {} client\n{INDEXES}\n", csv_file.display());
        let started = Instant::now();
        let out = std::process::Command::new("sqlite3")
            .arg(base_dir.path().join("shell.db"))
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::null())
            .spawn()
            .and_then(|mut child| {
                use std::io::Write;
                child.stdin.take().unwrap().write_all(script.as_bytes())?;
                child.wait()
            })
            .ok()?;
        out.success().then(|| started.elapsed())
    })();

    println!(
        "  {:<58} {:>7.2} s   {:>8.0} rows/s",
        "Lifeboat import (validated, journaled, audited)",
        seconds(ours),
        rows as f64 / seconds(ours)
    );
    println!(
        "  {:<58} {:>7.2} s   {:>8.0} rows/s",
        "the same file imported again (nothing to change)",
        seconds(second),
        rows as f64 / seconds(second)
    );
    println!(
        "  {:<58} {:>7.2} s   {:>8.0} rows/s",
        "bare bulk INSERT, encrypted, same indexes",
        seconds(bare),
        rows as f64 / seconds(bare)
    );
    match shell {
        Some(t) => {
            println!(
                "  {:<58} {:>7.2} s   {:>8.0} rows/s",
                "sqlite3 shell .import + same indexes (unencrypted)",
                seconds(t),
                rows as f64 / seconds(t)
            );
            println!("  ratio Lifeboat import / sqlite3 .import: {:.1}x", seconds(ours) / seconds(t));
        }
        None => println!("  sqlite3 shell .import: not measured (no `sqlite3` command; apt-get install sqlite3)"),
    }
    println!("  ratio Lifeboat import / bare bulk INSERT: {:.1}x", seconds(ours) / seconds(bare));
    crate::report::seconds(&format!("Lifeboat import of {rows} clients"), seconds(ours));
    crate::report::seconds(&format!("the same {rows} imported again"), seconds(second));
    crate::report::seconds(&format!("baseline: bare bulk INSERT of {rows} rows"), seconds(bare));
    if let Some(t) = shell {
        crate::report::seconds(&format!("baseline: sqlite3 .import of {rows} rows"), seconds(t));
    }

    // Exports: everything, and a four-week backlog (the outage recorded as four weeks ago).
    let since = chrono::Utc::now() - chrono::Duration::weeks(4);
    let began = lifeboat_core::time::to_local(since);
    source.set_outage_began(&manager, Some(began)).unwrap();
    // Baseline: the backlog's rows of each table read bare and written as CSV, in one read.
    let started = Instant::now();
    let bare_rows = bare_backlog_csv(copy.path(), &lifeboat_core::time::stored(since));
    let bare = started.elapsed();
    println!("\nExports of the L practice (four-week backlog: outage recorded {})", began.format("%d/%m/%Y %H:%M"));
    println!("  {:<58} {:>7.2} s   ({rows} rows)", "CSV, all clients", seconds(export_all));
    println!(
        "  {:<58} {:>7.2} s   ({bare_rows} rows)",
        "baseline: the backlog's rows, bare SELECT to CSV",
        seconds(bare)
    );
    let report = |what: &str, took: Duration, rows: u32| {
        println!(
            "  {:<58} {:>7.2} s   ({rows} rows)   {:>5.1}x baseline",
            what,
            seconds(took),
            seconds(took) / seconds(bare)
        );
    };
    for kind in [ImportKind::Clients, ImportKind::Patients, ImportKind::Appointments] {
        let started = Instant::now();
        let e = source.export_csv(&manager, kind, Some(since)).unwrap();
        report(&format!("CSV, {kind:?} made or changed in the backlog"), started.elapsed(), e.rows);
    }
    let started = Instant::now();
    let fhir = source.export_fhir(&manager).unwrap();
    report(
        &format!("FHIR R4 Bundle of the backlog ({} MB)", fhir.exported.bytes.len() / 1_000_000),
        started.elapsed(),
        fhir.exported.rows,
    );
    let started = Instant::now();
    let now = chrono::Utc::now();
    let pdf = source
        .export_worklist(&manager, |list| Ok(lifeboat_print::worklist(list, now, lifeboat_print::Mark::Real)))
        .unwrap();
    report(&format!("back-entry worklist PDF ({} MB)", pdf.bytes.len() / 1_000_000), started.elapsed(), pdf.rows);
}

/// The generator stamps every client, animal, appointment and consultation with the time it ran, so
/// on its own the whole practice would be "made in the last four weeks". This copy is given the
/// times a practice's records would have: clients and animals registered over two years, bookings
/// made a week before they fall, consultations written when they happened. (A throwaway copy: the
/// trigger keeping signed consultations final is dropped to restamp them.)
fn backdate(dir: &Path) {
    let conn = Connection::open(dir.join("lifeboat.db")).unwrap();
    conn.pragma_update(None, "key", pragma_key(dir)).unwrap();
    conn.execute_batch(
        "BEGIN;
         UPDATE client SET created_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now', '-' || (abs(random()) % 730) || ' days'),
                           updated_at = created_at;
         UPDATE client SET updated_at = created_at;
         UPDATE patient SET created_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now', '-' || (abs(random()) % 730) || ' days');
         UPDATE patient SET updated_at = created_at;
         UPDATE ownership SET created_at = (SELECT created_at FROM patient WHERE id = patient_id);
         UPDATE appointment SET created_at = min(strftime('%Y-%m-%dT%H:%M:%fZ', starts_at, '-7 days'),
                                                 strftime('%Y-%m-%dT%H:%M:%fZ', 'now'));
         UPDATE appointment SET updated_at = created_at;
         DROP TRIGGER consultation_signed_is_final;
         UPDATE consultation SET created_at = started_at, updated_at = coalesce(signed_at, started_at);
         COMMIT;",
    )
    .unwrap();
}

/// The rows of the backlog's main tables changed since `since`, read with plain SELECTs from the
/// encrypted file and written as CSV: what any export must at least do. Returns the row count.
fn bare_backlog_csv(dir: &Path, since: &str) -> u32 {
    let conn = Connection::open(dir.join("lifeboat.db")).unwrap();
    conn.pragma_update(None, "key", pragma_key(dir)).unwrap();
    // Rows of several tables in one file: of several lengths.
    let mut out = csv::WriterBuilder::new().flexible(true).from_writer(Vec::new());
    let mut rows = 0;
    for sql in [
        "SELECT * FROM client WHERE updated_at >= ?1",
        "SELECT * FROM patient WHERE updated_at >= ?1",
        "SELECT * FROM appointment WHERE updated_at >= ?1",
        "SELECT * FROM consultation WHERE updated_at >= ?1",
        "SELECT * FROM prescription WHERE issued_at >= ?1",
        "SELECT * FROM dispensing WHERE dispensed_at >= ?1",
        "SELECT * FROM charge WHERE charged_at >= ?1",
    ] {
        let mut stmt = conn.prepare(sql).unwrap();
        let n = stmt.column_count();
        let mut q = stmt.query([since]).unwrap();
        while let Some(r) = q.next().unwrap() {
            let cells: Vec<String> = (0..n)
                .map(|i| match r.get_ref(i).unwrap() {
                    rusqlite::types::ValueRef::Null => String::new(),
                    rusqlite::types::ValueRef::Integer(v) => v.to_string(),
                    rusqlite::types::ValueRef::Real(v) => v.to_string(),
                    rusqlite::types::ValueRef::Text(t) | rusqlite::types::ValueRef::Blob(t) => {
                        String::from_utf8_lossy(t).into_owned()
                    }
                })
                .collect();
            out.write_record(&cells).unwrap();
            rows += 1;
        }
    }
    std::hint::black_box(out.into_inner().unwrap());
    rows
}
