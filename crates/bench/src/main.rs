//! `lifeboat-bench`: Lifeboat's figures beside a baseline measured in the same run on the same
//! machine, so the ratio means something wherever it runs. Not a test: nothing here passes or fails.
//!
//! Run with `cargo run --release -p lifeboat-bench [-- --iterations N]`.

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use lifeboat_core::{Role, StaffUpdate, Store, StoreConfig, SystemClock};
use lifeboat_synthetic::{populate, Size};
use rusqlite::Connection;

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
    }
}

fn micros(d: Duration) -> f64 {
    d.as_secs_f64() * 1e6
}

fn ratio(ours: &Figures, baseline: &Figures) {
    println!(
        "  ratio {} / {}: p50 {:.2}x   p99 {:.2}x",
        ours.name,
        baseline.name,
        micros(ours.percentile(0.5)) / micros(baseline.percentile(0.5)),
        micros(ours.percentile(0.99)) / micros(baseline.percentile(0.99))
    );
}

/// The key of a Lifeboat database, read from its key file, as SQLCipher's `PRAGMA key` value.
fn pragma_key(dir: &Path) -> String {
    let text = std::fs::read_to_string(dir.join(StoreConfig::KEY_FILE)).expect("key file");
    let key: serde_json::Value = serde_json::from_str(&text).expect("key file JSON");
    format!("x'{}{}'", key["key"].as_str().unwrap(), key["salt"].as_str().unwrap())
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

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let iterations = args
        .iter()
        .position(|a| a == "--iterations")
        .and_then(|i| args.get(i + 1))
        .and_then(|n| n.parse().ok())
        .unwrap_or(1000);
    if cfg!(debug_assertions) {
        println!("warning: a debug build; run with --release for figures that mean anything");
    }
    println!("lifeboat-bench: {iterations} iterations per figure, baselines measured in the same run");
    write_path(iterations);
    open_database(iterations / 5);
}
