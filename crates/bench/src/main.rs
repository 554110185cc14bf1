//! `lifeboat-bench`: Lifeboat's figures beside a baseline measured in the same run on the same
//! machine, so the ratio means something wherever it runs. Not a test: nothing here passes or fails.
//!
//! Run with `cargo run --release -p lifeboat-bench [-- GROUP...] [--size S,M,L,XL] [--iterations N]`
//! (groups: write, open, reception, consult, startup, import, sync; ingest, apply, pull and push
//! when named);
//! `--help`.
//! Every figure is also written to a JSON file (`--json PATH`, by default `lifeboat-bench.json`).
//!
//! The reception and consult figures are measured on a generated practice of each size asked for
//! (L by default: 30,000 clients, about 130,000 appointments; XL: 100,000 clients, about 500,000).
//! Making one takes minutes, so each is made once into `~/.cache/lifeboat/bench-<size>-schemaN` and
//! reused; `--practice DIR` uses a folder made by `lifeboat demo` instead. With more than one size a
//! scaling table follows.

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use lifeboat_core::store::migrations::SCHEMA_VERSION;
use lifeboat_core::{AppointmentKind, NewAppointment, Role, StaffUpdate, Store, StoreConfig, SystemClock};
use lifeboat_synthetic::{populate, Size};
use rusqlite::Connection;

mod import;
mod report;
mod startup;
mod sync;
mod upgrade;

struct Figures {
    name: String,
    samples: Vec<Duration>,
}

impl Figures {
    fn measure(name: &str, iterations: usize, mut f: impl FnMut(usize)) -> Figures {
        for i in 0..iterations / 10 {
            f(i); // warm-up
        }
        let samples = (0..iterations)
            .map(|i| {
                let start = Instant::now();
                f(i);
                start.elapsed()
            })
            .collect();
        Figures { name: name.into(), samples }
    }

    fn percentile(&self, p: f64) -> Duration {
        let mut sorted = self.samples.clone();
        sorted.sort();
        sorted[((sorted.len() - 1) as f64 * p).round() as usize]
    }

    fn print(&self) {
        println!(
            "  {:<46} p50 {:>9.1} µs   p99 {:>9.1} µs   (n = {})",
            self.name,
            micros(self.percentile(0.5)),
            micros(self.percentile(0.99)),
            self.samples.len()
        );
        report::latency(&self.name, micros(self.percentile(0.5)), micros(self.percentile(0.99)), self.samples.len());
    }
}

fn micros(d: Duration) -> f64 {
    d.as_secs_f64() * 1e6
}

fn ratio(ours: &Figures, baseline: &Figures) {
    let p50 = micros(ours.percentile(0.5)) / micros(baseline.percentile(0.5));
    let p99 = micros(ours.percentile(0.99)) / micros(baseline.percentile(0.99));
    println!("  ratio {} / {}: p50 {p50:.2}x   p99 {p99:.2}x", ours.name, baseline.name);
    report::ratio(&ours.name, &baseline.name, p50, p99);
}

/// The key of a Lifeboat database, read from its key file, as SQLCipher's `PRAGMA key` value.
fn pragma_key(dir: &Path) -> String {
    let text = std::fs::read_to_string(dir.join(StoreConfig::KEY_FILE)).expect("key file");
    let key: serde_json::Value = serde_json::from_str(&text).expect("key file JSON");
    format!("x'{}{}'", key["keys"][0]["plain"].as_str().unwrap(), key["keys"][0]["salt"].as_str().unwrap())
}

/// The same durability settings as the Store: WAL and synchronous=FULL.
fn durable(conn: &Connection) {
    conn.query_row("PRAGMA journal_mode = WAL", [], |_| Ok(())).unwrap();
    conn.execute_batch("PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON; PRAGMA temp_store = MEMORY;").unwrap();
}

fn write_path(iterations: usize) {
    println!("\nA single change through the write path (staff update: permission, row, journal, audit; one fsync'd transaction)");
    let dir = tempfile::TempDir::new().unwrap();
    let store = Store::open(StoreConfig::in_dir(dir.path()), Arc::new(SystemClock)).unwrap();
    let generated = populate(&store, Size::S, 1).unwrap();
    let vet = store.list_staff(&generated.admin).unwrap().into_iter().find(|s| s.role == Role::Vet).unwrap();
    let ours = Figures::measure("Store::write (update_staff)", iterations, |i| {
        let update = StaffUpdate { qualifications: Some(format!("BVSc MRCVS {i}")), ..Default::default() };
        store.update_staff(&generated.admin, vet.id, &update).unwrap();
    });

    // Baseline: a bare INSERT in its own transaction on an encrypted file with the same settings.
    let base_dir = tempfile::TempDir::new().unwrap();
    let conn = Connection::open(base_dir.path().join("bare.db")).unwrap();
    conn.pragma_update(None, "key", pragma_key(dir.path())).unwrap();
    durable(&conn);
    conn.execute_batch("CREATE TABLE t (id TEXT PRIMARY KEY, payload TEXT NOT NULL)").unwrap();
    let baseline = Figures::measure("bare encrypted INSERT transaction", iterations, |i| {
        conn.execute_batch("BEGIN IMMEDIATE").unwrap();
        conn.execute("INSERT INTO t VALUES (?1, ?2)", (uuid::Uuid::now_v7().to_string(), format!("BVSc MRCVS {i}")))
            .unwrap();
        conn.execute_batch("COMMIT").unwrap();
    });
    ours.print();
    baseline.print();
    ratio(&ours, &baseline);
}

fn open_database(iterations: usize) {
    println!("\nOpening the database (an M practice) and reading its schema");
    let dir = tempfile::TempDir::new().unwrap();
    {
        let store = Store::open(StoreConfig::in_dir(dir.path()), Arc::new(SystemClock)).unwrap();
        populate(&store, Size::M, 1).unwrap();
    }
    let key = pragma_key(dir.path());
    // A plain copy of the same database, made by SQLCipher's own export.
    let plain = dir.path().join("plain.db");
    {
        let conn = Connection::open(dir.path().join(StoreConfig::DATABASE_FILE)).unwrap();
        conn.pragma_update(None, "key", &key).unwrap();
        conn.execute("ATTACH DATABASE ?1 AS plaintext KEY ''", [plain.to_str().unwrap()]).unwrap();
        conn.query_row("SELECT sqlcipher_export('plaintext')", [], |_| Ok(())).unwrap();
        conn.execute_batch("DETACH DATABASE plaintext").unwrap();
    }
    let read_schema = |conn: &Connection| {
        let n: i64 = conn.query_row("SELECT count(*) FROM staff", [], |r| r.get(0)).unwrap();
        assert!(n > 0);
    };
    let store_open = Figures::measure("Store::open (checks, key, pragmas, migrations)", iterations, |_| {
        let store = Store::open(StoreConfig::in_dir(dir.path()), Arc::new(SystemClock)).unwrap();
        store
            .read(|c| {
                read_schema(c);
                Ok(())
            })
            .unwrap();
    });
    let encrypted = Figures::measure("open encrypted + first query", iterations, |_| {
        let conn = Connection::open(dir.path().join(StoreConfig::DATABASE_FILE)).unwrap();
        conn.pragma_update(None, "key", &key).unwrap();
        read_schema(&conn);
    });
    let plain_open = Figures::measure("open plain + first query", iterations, |_| {
        let conn = Connection::open(&plain).unwrap();
        read_schema(&conn);
    });
    store_open.print();
    encrypted.print();
    plain_open.print();
    ratio(&encrypted, &plain_open);
    ratio(&store_open, &plain_open);
}

/// The practice of `size` to measure on: given, cached, or generated now into the cache (made
/// under a name of its own and renamed when whole, so a run stopped half-way leaves no half-made
/// practice to be measured later).
fn practice(size: Size, given: Option<&String>) -> std::path::PathBuf {
    if let Some(dir) = given {
        return dir.into();
    }
    let cache = dirs::cache_dir().unwrap_or_else(std::env::temp_dir).join("lifeboat");
    let dir = cache.join(format!("bench-{size:?}-schema{SCHEMA_VERSION}"));
    if !dir.join(StoreConfig::DATABASE_FILE).exists() {
        let making = cache.join(format!("bench-{size:?}-schema{SCHEMA_VERSION}.making"));
        println!("\nGenerating the {size:?} practice into {} (once; minutes, XL many)...", dir.display());
        let _ = std::fs::remove_dir_all(&making);
        let started = Instant::now();
        {
            let store = Store::open(StoreConfig::in_dir(&making), Arc::new(SystemClock)).unwrap();
            lifeboat_synthetic::populate_with_progress(&store, size, 1, &mut |line| {
                println!("  {:>6.0} s  {line}", started.elapsed().as_secs_f64())
            })
            .unwrap();
        }
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::rename(&making, &dir).unwrap();
    }
    dir
}

/// The floors' range scan for a keystroke: the index rows of its first word (of two, the first: the
/// floors read one range), lower case, letters and digits only.
fn floor_scan(stmt: &mut rusqlite::Statement<'_>, keystroke: &str) -> Vec<i64> {
    let first = keystroke.split_whitespace().next().unwrap_or_default();
    let word: String = first.to_lowercase().chars().filter(|c| c.is_alphanumeric()).collect();
    let end = format!("{word}{}", char::MAX);
    stmt.query_map([word, end], |r| r.get(0)).unwrap().map(Result::unwrap).collect()
}

fn reception(dir: &Path, iterations: usize) {
    let store = Store::open(StoreConfig::in_dir(dir), Arc::new(SystemClock)).unwrap();
    let desk =
        store.login("reception1", lifeboat_synthetic::DEMO_PASSWORD).expect("an L practice made by lifeboat-synthetic");
    let conn = Connection::open(dir.join(StoreConfig::DATABASE_FILE)).unwrap();
    conn.pragma_update(None, "key", pragma_key(dir)).unwrap();
    durable(&conn);
    conn.execute_batch("PRAGMA cache_size = -65536").unwrap();
    let (clients, appointments): (i64, i64) = conn
        .query_row("SELECT (SELECT count(*) FROM client), (SELECT count(*) FROM appointment)", [], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })
        .unwrap();
    println!("\nReception on {} ({clients} clients, {appointments} appointments)", dir.display());
    report::value("clients", clients as f64, "count");
    report::value("appointments", appointments as f64, "count");

    // Search as you type: every prefix (2 characters and more) of what reception types (surnames,
    // phone fragments from the sixth digit on, postcodes, animals' names, e-mail addresses,
    // microchips, and two words: first name and surname, surname and postcode) from 40 clients
    // spread through the practice whatever its size.
    let samples: Vec<String> = {
        let mut stmt = conn
            .prepare(
                "SELECT c.last_name, replace(c.phone, ' ', ''), c.postcode, p.name, c.email, coalesce(p.microchip, ''),
                        c.first_name || ' ' || c.last_name, c.last_name || ' ' || c.postcode
                      FROM client c JOIN ownership o ON o.client_id = c.id JOIN patient p ON p.id = o.patient_id
                      WHERE c.rowid % ?1 = 0 LIMIT 40",
            )
            .unwrap();
        let rows = stmt
            .query_map([(clients / 40).max(1)], |r| {
                let phone: String = r.get(1)?;
                Ok([
                    r.get(0)?,
                    phone.get(5..).unwrap_or_default().to_string(),
                    r.get(2)?,
                    r.get(3)?,
                    r.get(4)?,
                    r.get(5)?,
                    r.get(6)?,
                    r.get(7)?,
                ])
            })
            .unwrap();
        rows.flat_map(|r: rusqlite::Result<[String; 8]>| r.unwrap()).filter(|s| !s.trim().is_empty()).collect()
    };
    let keystrokes: Vec<String> = samples
        .iter()
        .flat_map(|s| (2..=s.chars().count()).map(move |n| s.chars().take(n).collect::<String>()))
        .collect();
    println!("  {} keystrokes from {} things typed", keystrokes.len(), samples.len());
    let mut k = 0;
    let ours = Figures::measure("Store::search per keystroke (20 results)", iterations, |_| {
        store.search(&desk, &keystrokes[k % keystrokes.len()], 20).unwrap();
        k += 1;
    });
    // The slowest keystrokes, each timed once (the practice is generated: no one's details).
    let mut slowest: Vec<(Duration, &String)> = keystrokes
        .iter()
        .map(|q| {
            let started = Instant::now();
            store.search(&desk, q, 20).unwrap();
            (started.elapsed(), q)
        })
        .collect();
    slowest.sort_by_key(|s| std::cmp::Reverse(s.0));
    let shown: Vec<String> =
        slowest.iter().take(6).map(|(t, q)| format!("{q:?} {:.1} ms", t.as_secs_f64() * 1000.0)).collect();
    println!("  slowest keystrokes: {}", shown.join(", "));
    // The floor: the B-tree range scan alone, 20 rows of the words that start with what was typed.
    let mut k = 0;
    let mut stmt = conn.prepare("SELECT client FROM search_term WHERE term >= ?1 AND term < ?2 LIMIT 20").unwrap();
    let baseline = Figures::measure("bare B-tree prefix range scan (20 rows)", iterations, |_| {
        floor_scan(&mut stmt, &keystrokes[k % keystrokes.len()]);
        k += 1;
    });
    // The same answers read bare: the range scan, then each client's card and animals by key (what
    // the list shows), without ranking, de-duplication or the other words' checks.
    let mut k = 0;
    let mut card = conn
        .prepare(
            "SELECT c.id, c.title, c.first_name, c.last_name, c.address_line1, c.town, c.postcode, c.phone, c.phone_alt, c.email,
                p.id, p.name, p.species, p.breed, p.alerts, p.deceased_on, p.microchip
             FROM client c LEFT JOIN ownership o ON o.client_id = c.id LEFT JOIN patient p ON p.id = o.patient_id
             WHERE c.search_rowid = ?1",
        )
        .unwrap();
    let cards = Figures::measure("bare scan + the 20 clients' cards read by key", iterations, |_| {
        for id in floor_scan(&mut stmt, &keystrokes[k % keystrokes.len()]) {
            let n = card.query_map([id], |r| r.get::<_, String>(0)).unwrap().count();
            assert!(n > 0);
        }
        k += 1;
    });
    ours.print();
    baseline.print();
    cards.print();
    ratio(&ours, &baseline);
    ratio(&ours, &cards);

    // Opening the busiest day.
    let busiest: String = conn
        .query_row(
            "SELECT substr(starts_at, 1, 10) d FROM appointment GROUP BY d ORDER BY count(*) DESC LIMIT 1",
            [],
            |r| r.get(0),
        )
        .unwrap();
    let date: chrono::NaiveDate = busiest.parse().unwrap();
    let day = store.day_book(&desk, date).unwrap();
    println!("  busiest day {date}: {} appointments, {} clinicians", day.appointments.len(), day.clinicians.len());
    let ours = Figures::measure("Store::day_book (busiest day)", iterations / 5, |_| {
        store.day_book(&desk, date).unwrap();
    });
    let (start, end) = lifeboat_core::time::day_bounds("date", date).unwrap();
    let mut stmt =
        conn.prepare("SELECT * FROM appointment WHERE starts_at >= ?1 AND starts_at < ?2 ORDER BY starts_at").unwrap();
    let baseline = Figures::measure("bare SELECT of that day's rows", iterations / 5, |_| {
        let n = stmt
            .query_map([lifeboat_core::time::stored(start), lifeboat_core::time::stored(end)], |_| Ok(()))
            .unwrap()
            .count();
        assert!(n > 0);
    });
    // The same select, each row's values read out (as any reader of the rows does; the floor
    // above steps through the rows without reading a column).
    let read = Figures::measure("bare SELECT of that day's rows, values read", iterations / 5, |_| {
        let n = stmt
            .query_map([lifeboat_core::time::stored(start), lifeboat_core::time::stored(end)], |r| {
                let values: Vec<rusqlite::types::Value> =
                    (0..r.as_ref().column_count()).map(|i| r.get(i)).collect::<rusqlite::Result<_>>()?;
                Ok(values)
            })
            .unwrap()
            .count();
        assert!(n > 0);
    });
    ours.print();
    baseline.print();
    read.print();
    ratio(&ours, &baseline);
    ratio(&ours, &read);

    // The smallest change through the write path on the same database, to tell the cost of the
    // write path on a large journal and audit log from the cost of a booking's own checks.
    let manager = store.login("manager1", lifeboat_synthetic::DEMO_PASSWORD).unwrap();
    let nurse = store.list_staff(&manager).unwrap().into_iter().find(|s| s.role == Role::Nurse).unwrap();
    let small = Figures::measure("Store::write (update_staff), same file", iterations / 2, |i| {
        let update = StaffUpdate { qualifications: Some(format!("RVN {i}")), ..Default::default() };
        store.update_staff(&manager, nurse.id, &update).unwrap();
    });
    small.print();

    // Saving a booking: after everything booked so far.
    let vet = store.list_staff(&desk).unwrap().into_iter().find(|s| s.role == Role::Vet).unwrap();
    let (client_id, patient_id): (String, String) = conn
        .query_row("SELECT client_id, patient_id FROM ownership LIMIT 1", [], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap();
    // Bookings go after the vet's last appointment (earlier runs' included), so runs never clash.
    let last: Option<String> = conn
        .query_row("SELECT max(starts_at) FROM appointment WHERE clinician_id = ?1", [vet.id.to_string()], |r| r.get(0))
        .unwrap();
    let after_last = last
        .and_then(|t| chrono::NaiveDate::parse_from_str(t.get(..10).unwrap_or_default(), "%Y-%m-%d").ok())
        .map(|d| d + chrono::Duration::days(1));
    let first_day = after_last.unwrap_or_default().max(chrono::NaiveDate::from_ymd_opt(2031, 1, 1).unwrap());
    // A running count, not the iteration number: the warm-up books slots too.
    let mut n = 0usize;
    let ours = Figures::measure("Store::book_appointment", iterations, |_| {
        let i = n;
        n += 1;
        let start = (first_day + chrono::Duration::days((i / 100) as i64)).and_hms_opt(7, 0, 0).unwrap()
            + chrono::Duration::minutes(5 * (i % 100) as i64);
        let new = NewAppointment {
            clinician_id: vet.id,
            room: "Consult 1".into(),
            start,
            minutes: 5,
            kind: AppointmentKind::Recheck,
            reason: "Benchmark".into(),
            patient_id: patient_id.parse().unwrap(),
            client_id: client_id.parse().unwrap(),
            notes: String::new(),
            confirm_outside_hours: true,
        };
        store.book_appointment(&desk, &new).unwrap();
    });
    conn.execute_batch("CREATE TABLE IF NOT EXISTS bench_insert (id TEXT PRIMARY KEY, payload TEXT NOT NULL)").unwrap();
    let baseline = Figures::measure("bare INSERT transaction, same file", iterations, |i| {
        conn.execute_batch("BEGIN IMMEDIATE").unwrap();
        conn.execute(
            "INSERT INTO bench_insert VALUES (?1, ?2)",
            (uuid::Uuid::now_v7().to_string(), format!("booking {i}")),
        )
        .unwrap();
        conn.execute_batch("COMMIT").unwrap();
    });
    conn.execute_batch("DROP TABLE bench_insert").unwrap();
    ours.print();
    baseline.print();
    ratio(&ours, &baseline);
}

/// The consult room on the L practice: saving a draft and signing a consultation, each beside a bare
/// UPDATE transaction in the same file, and opening the history of an animal with 200 records beside
/// a bare select of its rows.
fn consult_room(dir: &Path, iterations: usize) {
    use lifeboat_core::clinical::consultation::{ConsultationDraft, PastConsultation, StartConsultation};
    use lifeboat_core::clinical::vitals::Vitals;

    let store = Store::open(StoreConfig::in_dir(dir), Arc::new(SystemClock)).unwrap();
    let vet = store.login("vet1", lifeboat_synthetic::DEMO_PASSWORD).unwrap();
    let manager = store.login("manager1", lifeboat_synthetic::DEMO_PASSWORD).unwrap();
    let conn = Connection::open(dir.join(StoreConfig::DATABASE_FILE)).unwrap();
    conn.pragma_update(None, "key", pragma_key(dir)).unwrap();
    durable(&conn);
    let dogs: Vec<uuid::Uuid> = {
        let mut stmt = conn.prepare("SELECT id FROM patient WHERE species = 'dog' ORDER BY id LIMIT 2").unwrap();
        stmt.query_map([], |r| r.get::<_, String>(0)).unwrap().map(|id| id.unwrap().parse().unwrap()).collect()
    };
    let (history_dog, draft_dog) = (dogs[0], dogs[1]);
    let consults: i64 = conn
        .query_row("SELECT count(*) FROM consultation WHERE patient_id = ?1", [history_dog.to_string()], |r| r.get(0))
        .unwrap();
    println!("\nThe consult room on {}", dir.display());

    // One animal with 200 clinical records (added once; the cached practice keeps them).
    if consults < 200 {
        let notes = ConsultationDraft {
            subjective: "Recheck of the left fore lameness; owner reports a good week.".into(),
            objective: "Weight-bearing, mild pain on flexion of the carpus.".into(),
            assessment: "Improving soft tissue injury.".into(),
            plan: "Continue rest; recheck in a fortnight.".into(),
            vitals: Vitals {
                weight_kg: Some(18.4),
                temperature_c: Some(38.5),
                heart_rate: Some(96),
                respiratory_rate: Some(20),
                body_condition: Some(5),
            },
        };
        let now = chrono::Utc::now();
        store
            .write(&manager, |w| {
                for i in consults..200 {
                    let started_at = now - chrono::Duration::days(3 * (200 - i)) - chrono::Duration::hours(2);
                    w.record_past_consultation(&PastConsultation {
                        appointment_id: None,
                        patient_id: history_dog,
                        clinician_id: vet.staff_id,
                        started_at,
                        signed_at: started_at + chrono::Duration::minutes(15),
                        notes: notes.clone(),
                        pms_id: None,
                    })?;
                }
                Ok(())
            })
            .unwrap();
    }
    let history = store.patient_history(&vet, history_dog).unwrap();
    println!("  the history animal has {} entries", history.entries.len());
    let ours = Figures::measure("Store::patient_history (200 records)", iterations / 5, |_| {
        store.patient_history(&vet, history_dog).unwrap();
    });
    let mut consultations =
        conn.prepare("SELECT * FROM consultation WHERE patient_id = ?1 ORDER BY started_at DESC").unwrap();
    let mut prescriptions =
        conn.prepare("SELECT * FROM prescription WHERE patient_id = ?1 ORDER BY issued_at DESC").unwrap();
    let baseline = Figures::measure("bare SELECT of its consultations and prescriptions", iterations / 5, |_| {
        let n = consultations.query_map([history_dog.to_string()], |_| Ok(())).unwrap().count()
            + prescriptions.query_map([history_dog.to_string()], |_| Ok(())).unwrap().count();
        assert!(n >= 200);
    });
    ours.print();
    baseline.print();
    ratio(&ours, &baseline);

    // Saving a draft as it is typed: each save changes the plan.
    let start = StartConsultation { appointment_id: None, patient_id: Some(draft_dog) };
    let draft_id = store.start_consultation(&vet, &start).unwrap().id;
    let mut typed = ConsultationDraft { subjective: "Vomiting since last night.".into(), ..Default::default() };
    let ours = Figures::measure("Store::save_consultation_draft", iterations, |i| {
        typed.plan = format!("Bland diet, small meals; recheck if it goes on ({i})");
        store.save_consultation_draft(&vet, draft_id, &typed).unwrap();
    });
    conn.execute_batch("CREATE TABLE IF NOT EXISTS bench_draft (id INTEGER PRIMARY KEY, plan TEXT NOT NULL); INSERT OR IGNORE INTO bench_draft VALUES (1, '')").unwrap();
    let baseline = Figures::measure("bare UPDATE transaction, same file", iterations, |i| {
        conn.execute_batch("BEGIN IMMEDIATE").unwrap();
        conn.execute("UPDATE bench_draft SET plan = ?1 WHERE id = 1", [format!("Bland diet ({i})")]).unwrap();
        conn.execute_batch("COMMIT").unwrap();
    });
    ours.print();
    baseline.print();
    ratio(&ours, &baseline);
    // Leave nothing open: the draft is voided.
    store.void_record(&vet, lifeboat_core::clinical::void::Voidable::Consultation, draft_id, "benchmark").unwrap();

    // Signing: the password check (Argon2id, slow on purpose) is measured on its own; the signing
    // write is measured beside a bare UPDATE transaction.
    let check = Figures::measure("Store::confirm_password (Argon2id)", 20, |_| {
        store.confirm_password(&vet, lifeboat_synthetic::DEMO_PASSWORD).unwrap();
    });
    let n = iterations / 5;
    let drafts: Vec<uuid::Uuid> = (0..n + n / 10)
        .map(|_| {
            let id = store.start_consultation(&vet, &start).unwrap().id;
            store.save_consultation_draft(&vet, id, &typed).unwrap();
            id
        })
        .collect();
    let confirmed = store.confirm_password(&vet, lifeboat_synthetic::DEMO_PASSWORD).unwrap();
    let mut next = drafts.iter();
    let ours = Figures::measure("signing a consultation (the write)", n, |_| {
        let id = *next.next().unwrap();
        store.write(&vet, |w| w.sign_consultation(id, &confirmed, true)).unwrap();
    });
    let baseline = Figures::measure("bare UPDATE transaction, same file", n, |i| {
        conn.execute_batch("BEGIN IMMEDIATE").unwrap();
        conn.execute("UPDATE bench_draft SET plan = ?1 WHERE id = 1", [format!("signed {i}")]).unwrap();
        conn.execute_batch("COMMIT").unwrap();
    });
    check.print();
    ours.print();
    baseline.print();
    ratio(&ours, &baseline);
    conn.execute_batch("DROP TABLE bench_draft").unwrap();
}

/// The groups that may be named.
const GROUPS: [&str; 12] = [
    "write",
    "open",
    "reception",
    "consult",
    "startup",
    "import",
    "sync",
    "ingest",
    "apply",
    "pull",
    "push",
    "upgrade",
];

const USAGE: &str = "Usage: lifeboat-bench [GROUP...] [--size SIZE[,SIZE...]] [--iterations N] [--json PATH]
                      [--practice DIR] [--changes N]

Prints Lifeboat's figures beside baselines measured in the same run on this machine, and writes
them to a JSON file.

  GROUP...         run only these groups: write, open, reception, consult, startup, import,
                   sync (by default all of these; startup needs the desktop app built with
                   --release beside this binary, and Xvfb); ingest (the hub's alone), apply (applying changes
                   without the network, for profiling), pull (sync's push and pull of --changes
                   changes alone, for trying a change to the pull), push (the push alone) and
                   upgrade (opening a copy of a practice made by an older Lifeboat: --practice,
                   or the cached L practice of the schema before) run only when named. `--only
                   a,b` is the same as naming them
  --size SIZES     the practice sizes to measure reception and consult on (S, M, L, XL; default
                   L); with more than one, a scaling table follows. import and sync use L (or
                   the first size given)
  --iterations N   samples per figure (default 1000)
  --json PATH      where to write the figures (default lifeboat-bench.json)
  --practice DIR   a practice made by `lifeboat demo --size L` (instead of a generated one)
  --changes N      with apply, pull and push: how many changes (default 30000)
  --help           this text";

/// The command line, checked: anything unknown is refused with the usage (exit 2), never run.
#[derive(Debug)]
struct Args {
    only: Option<Vec<String>>,
    sizes: Vec<Size>,
    iterations: usize,
    practice: Option<String>,
    changes: usize,
    json: std::path::PathBuf,
}

fn groups(list: &str) -> Result<Vec<String>, String> {
    let names: Vec<String> = list.split(',').map(|n| n.trim().to_string()).filter(|n| !n.is_empty()).collect();
    match names.iter().find(|n| !GROUPS.contains(&n.as_str())) {
        Some(unknown) => Err(format!("there is no benchmark group {unknown:?} (groups: {})", GROUPS.join(", "))),
        None => Ok(names),
    }
}

fn args_from(given: impl IntoIterator<Item = String>) -> Result<Args, String> {
    let mut args = Args {
        only: None,
        sizes: vec![Size::L],
        iterations: 1000,
        practice: None,
        changes: 30_000,
        json: "lifeboat-bench.json".into(),
    };
    let mut given = given.into_iter();
    while let Some(arg) = given.next() {
        let mut value = |name: &str| given.next().ok_or_else(|| format!("{name} needs a value"));
        match arg.as_str() {
            "--help" | "-h" => return Err(String::new()),
            "--only" => args.only.get_or_insert_with(Vec::new).extend(groups(&value("--only")?)?),
            "--size" => {
                let sizes = value("--size")?
                    .split(',')
                    .map(|s| {
                        Size::parse(s).ok_or_else(|| format!("there is no practice size {:?} (S, M, L, XL)", s.trim()))
                    })
                    .collect::<Result<Vec<_>, _>>()?;
                if sizes.is_empty() {
                    return Err("--size needs at least one size".into());
                }
                args.sizes = sizes;
            }
            "--iterations" => {
                args.iterations = value("--iterations")?
                    .parse()
                    .ok()
                    .filter(|n| *n >= 10)
                    .ok_or("--iterations takes a whole number, at least 10")?
            }
            "--practice" => args.practice = Some(value("--practice")?),
            "--json" => args.json = value("--json")?.into(),
            "--changes" => {
                args.changes = value("--changes")?
                    .parse()
                    .ok()
                    .filter(|n| *n >= 1)
                    .ok_or("--changes takes a whole number, at least 1")?
            }
            other if other.starts_with('-') => return Err(format!("unknown argument {other:?}")),
            name => args.only.get_or_insert_with(Vec::new).extend(groups(name)?),
        }
    }
    if args.only.as_ref().is_some_and(|o| o.is_empty()) {
        return Err("no benchmark group named".into());
    }
    args.sizes.dedup();
    if args.practice.is_some() && args.sizes.len() > 1 {
        return Err("--practice names one practice: give one --size with it".into());
    }
    Ok(args)
}

fn main() {
    let args = match args_from(std::env::args().skip(1)) {
        Ok(args) => args,
        Err(problem) => {
            if problem.is_empty() {
                println!("{USAGE}");
                return;
            }
            eprintln!("lifeboat-bench: {problem}\n\n{USAGE}");
            std::process::exit(2);
        }
    };
    let iterations = args.iterations;
    // The file is written at the end of a run that may take an hour: a path that cannot be written
    // is found out now.
    if let Err(e) = report::check_writable(&args.json) {
        eprintln!("lifeboat-bench: cannot write {}: {e}", args.json.display());
        std::process::exit(2);
    }
    if cfg!(debug_assertions) {
        println!("warning: a debug build; run with --release for figures that mean anything");
    }
    // Named groups only, or every group but the four that run only when named.
    let named = |name: &str| args.only.as_ref().is_some_and(|o| o.iter().any(|n| n == name));
    let runs = |name: &str| args.only.is_none() || named(name);
    println!("lifeboat-bench: {iterations} iterations per figure, baselines measured in the same run");
    let sizes: Vec<String> = args.sizes.iter().map(|s| format!("{s:?}")).collect();
    if runs("write") {
        report::context("S", "write");
        write_path(iterations);
    }
    if runs("open") {
        report::context("M", "open");
        open_database(iterations / 5);
    }
    if named("ingest") {
        report::context("-", "ingest");
        sync::ingest_only();
    }
    for size in &args.sizes {
        let label = format!("{size:?}");
        if runs("reception") {
            report::context(&label, "reception");
            reception(&practice(*size, args.practice.as_ref()), iterations);
        }
        if runs("consult") {
            report::context(&label, "consult");
            consult_room(&practice(*size, args.practice.as_ref()), iterations);
        }
        if runs("startup") {
            report::context(&label, "startup");
            startup::run(&practice(*size, args.practice.as_ref()), (iterations / 50).clamp(5, 20));
        }
    }
    let main_size = if args.sizes.contains(&Size::L) { Size::L } else { args.sizes[0] };
    if runs("import") {
        report::context(&format!("{main_size:?}"), "import");
        import::run(&practice(main_size, args.practice.as_ref()));
    }
    if runs("sync") {
        report::context(&format!("{main_size:?}"), "sync");
        sync::run(&practice(main_size, args.practice.as_ref()));
    }
    if named("apply") {
        report::context(&format!("{main_size:?}"), "apply");
        sync::apply_only(&practice(main_size, args.practice.as_ref()), args.changes);
    }
    if named("pull") {
        report::context(&format!("{main_size:?}"), "pull");
        sync::push_pull_only(&practice(main_size, args.practice.as_ref()), args.changes, true);
    }
    if named("push") {
        report::context(&format!("{main_size:?}"), "push");
        sync::push_pull_only(&practice(main_size, args.practice.as_ref()), args.changes, false);
    }
    if named("upgrade") {
        report::context(if args.practice.is_some() { "-" } else { "L" }, "upgrade");
        upgrade::run(&args.practice.as_ref().map(Into::into).unwrap_or_else(upgrade::default_practice));
    }
    if args.sizes.len() > 1 {
        report::print_scaling(&sizes);
    }
    match report::write_json(&args.json, iterations, &sizes) {
        Ok(()) => println!("\nFigures written to {}", args.json.display()),
        Err(e) => {
            eprintln!("lifeboat-bench: could not write {}: {e}", args.json.display());
            std::process::exit(1);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(line: &str) -> Result<Args, String> {
        args_from(line.split_whitespace().map(str::to_string))
    }

    #[test]
    fn the_command_line_names_groups_sizes_and_the_json_file_and_refuses_the_rest() {
        let args = parse("reception consult --size S,XL --json out/figures.json").unwrap();
        assert_eq!(args.only, Some(vec!["reception".to_string(), "consult".to_string()]));
        assert_eq!(args.sizes, vec![Size::S, Size::XL]);
        assert_eq!(args.json, std::path::PathBuf::from("out/figures.json"));
        let defaults = parse("").unwrap();
        assert_eq!((defaults.only, defaults.sizes, defaults.iterations), (None, vec![Size::L], 1000));
        assert_eq!(parse("--only write,open").unwrap().only, Some(vec!["write".to_string(), "open".to_string()]));
        assert_eq!(parse("--help").err(), Some(String::new()));
        assert!(parse("searches").unwrap_err().contains("there is no benchmark group \"searches\""));
        assert!(parse("--size XXL").unwrap_err().contains("there is no practice size \"XXL\""));
        assert!(parse("--iterations 5").unwrap_err().contains("at least 10"));
        assert!(parse("--frobnicate").unwrap_err().contains("unknown argument"));
        assert!(parse("--practice /tmp/p --size S,L").unwrap_err().contains("give one --size"));
    }
}
