//! Sync figures (issue 7): push and pull of 10,000 and 100,000 changes over loopback HTTPS with the
//! real engine and relay, beside same-run baselines (a bare bulk insert of the same rows into an
//! encrypted SQLite file, and PouchDB replicating as many documents between two in-memory databases,
//! when Node is there); how long the app's own writes wait while a long pull applies; and the hub
//! ingesting 500 practices' backlogs into PostgreSQL beside a bare bulk insert of the same rows.

use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use lifeboat_core::{StaffUpdate, Store, StoreConfig, SystemClock};
use lifeboat_hub::api::Hub;
use lifeboat_hub::store::sqlite::SqliteStore;
use lifeboat_hub::tls::TlsIdentity;
use lifeboat_protocol::pairing::{fingerprint_prefix, PairingCode};
use lifeboat_protocol::Change;
use lifeboat_sync::engine::{pair, sync_once, SyncOptions};
use rusqlite::Connection;

fn secs(d: Duration) -> f64 {
    d.as_secs_f64()
}

/// A PouchDB baseline: replicate `n` documents between two in-memory databases in Node. `None` when
/// Node or the packages cannot be had (said so in the output).
fn pouchdb(n: usize) -> Option<f64> {
    let dir = manifest_dir().join("pouchdb");
    if !dir.join("node_modules").exists() {
        let ok = std::process::Command::new("npm")
            .args(["ci", "--no-audit", "--no-fund", "--silent"])
            .current_dir(&dir)
            .status()
            .map(|s| s.success())
            .unwrap_or(false);
        if !ok {
            println!("  (PouchDB baseline skipped: npm could not install it in {})", dir.display());
            return None;
        }
    }
    let out =
        std::process::Command::new("node").arg("replicate.mjs").arg(n.to_string()).current_dir(&dir).output().ok()?;
    let text = String::from_utf8_lossy(&out.stdout);
    let v: serde_json::Value = serde_json::from_str(text.trim()).ok()?;
    v["seconds"].as_f64()
}

/// A bare bulk insert of the same changes (op id and JSON body) into an encrypted file, one transaction.
fn bulk_insert(changes: &[Change], key: &str) -> Duration {
    let dir = tempfile::TempDir::new().unwrap();
    let conn = Connection::open(dir.path().join("bare.db")).unwrap();
    conn.pragma_update(None, "key", key).unwrap();
    crate::durable(&conn);
    conn.execute_batch("CREATE TABLE t (op_id TEXT PRIMARY KEY, body TEXT NOT NULL)").unwrap();
    let start = Instant::now();
    conn.execute_batch("BEGIN IMMEDIATE").unwrap();
    {
        let mut stmt = conn.prepare("INSERT INTO t VALUES (?1, ?2)").unwrap();
        for c in changes {
            stmt.execute((c.op_id.to_string(), serde_json::to_string(c).unwrap())).unwrap();
        }
    }
    conn.execute_batch("COMMIT").unwrap();
    start.elapsed()
}

async fn relay() -> (tempfile::TempDir, lifeboat_hub::server::Running) {
    let dir = tempfile::TempDir::new().unwrap();
    let store = SqliteStore::open(&dir.path().join("relay.db"), Some(&"ab".repeat(32))).unwrap();
    let tls = TlsIdentity::load_or_create(dir.path()).unwrap();
    let hub = Hub::new(lifeboat_hub::store::Store::Sqlite(store)).await.unwrap();
    let running = lifeboat_hub::server::start(hub, &tls, "127.0.0.1:0".parse().unwrap()).await.unwrap();
    (dir, running)
}

async fn code(running: &lifeboat_hub::server::Running, practice: uuid::Uuid) -> String {
    running.hub.store.add_practice(practice, "Bench practice").await.unwrap();
    let code = running.hub.store.new_enrol_code(practice, 1).await.unwrap();
    PairingCode {
        url: format!("https://{}", running.address),
        fingerprint_prefix: fingerprint_prefix(&running.fingerprint).unwrap(),
        enrol_code: code,
    }
    .code()
}

fn fresh() -> (tempfile::TempDir, Arc<Store>) {
    let dir = tempfile::TempDir::new().unwrap();
    let store = Arc::new(Store::open(StoreConfig::in_dir(dir.path()), Arc::new(SystemClock)).unwrap());
    (dir, store)
}

/// Push and pull of `n` changes taken from the L practice's journal (registrations, bookings, the
/// practice's set-up: what a real backlog holds).
async fn push_pull(l_practice: &Path, n: usize, pull: bool) {
    println!("\nSync of {n} changes over loopback HTTPS (real engine, relay on SQLite, TLS)");
    let source = Store::open(StoreConfig::in_dir(l_practice), Arc::new(SystemClock)).unwrap();
    let changes = source.changes_missing_from(&[], n as u32).unwrap();
    assert_eq!(changes.len(), n, "the L practice holds at least {n} changes");
    drop(source);

    // The first PC holds the changes (applied without the network; its figure too).
    let (a_dir, a) = fresh();
    let start = Instant::now();
    for chunk in changes.chunks(2000) {
        a.apply_changes(chunk).unwrap();
    }
    let applied_local = start.elapsed();
    let (_relay_dir, running) = relay().await;
    let practice = a.practice_summary().unwrap().unwrap().0;
    let admin = a.login("admin", lifeboat_synthetic::DEMO_PASSWORD).unwrap();
    let peer_a = pair(&a, Some(admin), "Relay", &running.address.to_string(), &code(&running, practice).await, "A")
        .await
        .unwrap();
    let start = Instant::now();
    let report =
        sync_once(&a, peer_a.id, &SyncOptions { pull: false, ..SyncOptions::default() }, &|_| {}).await.unwrap();
    let pushed = start.elapsed();
    // (And the sign-in of the admin who paired this PC.)
    assert_eq!(report.pushed, n as u64 + 1);
    if !pull {
        println!(
            "  push {n} changes to the relay                {:>7.2} s   {:>9.0} changes/s",
            secs(pushed),
            n as f64 / secs(pushed)
        );
        crate::report::seconds(&format!("push {n} changes to the relay"), secs(pushed));
        running.stop().await;
        return;
    }

    // A new PC pulls and applies everything, while a person keeps working on it.
    let (_b_dir, b) = fresh();
    let peer_b =
        pair(&b, None, "Relay", &running.address.to_string(), &code(&running, practice).await, "B").await.unwrap();
    let done = Arc::new(AtomicBool::new(false));
    let waits: Arc<Mutex<Vec<Duration>>> = Arc::default();
    let writer = {
        let (b, done, waits) = (b.clone(), done.clone(), waits.clone());
        std::thread::spawn(move || {
            // Writes start as soon as the practice's accounts have arrived.
            let admin = loop {
                if done.load(Ordering::SeqCst) {
                    return;
                }
                // (Not by trying to log in: wrong attempts would slow the username down.)
                let arrived = b
                    .read(|c| {
                        Ok(c.query_row("SELECT count(*) FROM staff WHERE username = 'admin'", [], |r| {
                            r.get::<_, i64>(0)
                        })?)
                    })
                    .unwrap_or(0);
                if arrived == 1 {
                    break b.login("admin", lifeboat_synthetic::DEMO_PASSWORD).unwrap();
                }
                std::thread::sleep(Duration::from_millis(20));
            };
            let me = admin.staff_id;
            let mut i = 0;
            while !done.load(Ordering::SeqCst) {
                let update = StaffUpdate { qualifications: Some(format!("Bench {i}")), ..Default::default() };
                let start = Instant::now();
                b.update_staff(&admin, me, &update).unwrap();
                waits.lock().unwrap().push(start.elapsed());
                i += 1;
                std::thread::sleep(Duration::from_millis(10));
            }
        })
    };
    let start = Instant::now();
    let report =
        sync_once(&b, peer_b.id, &SyncOptions { push: false, ..SyncOptions::default() }, &|_| {}).await.unwrap();
    let pulled = start.elapsed();
    done.store(true, Ordering::SeqCst);
    writer.join().unwrap();
    assert_eq!(report.pulled, n as u64 + 1);
    let mut waits = waits.lock().unwrap().clone();
    waits.sort();

    let key = crate::pragma_key(a_dir.path());
    let bulk = bulk_insert(&changes, &key);
    let pouch = pouchdb(n);
    let rate = |d: Duration| n as f64 / secs(d);
    println!(
        "  apply {n} changes, no network (one PC)       {:>7.2} s   {:>9.0} changes/s",
        secs(applied_local),
        rate(applied_local)
    );
    println!("  push {n} changes to the relay               {:>7.2} s   {:>9.0} changes/s", secs(pushed), rate(pushed));
    println!("  pull and apply {n} changes on a new PC      {:>7.2} s   {:>9.0} changes/s", secs(pulled), rate(pulled));
    println!("  baseline: bare bulk INSERT of the same rows  {:>7.2} s   {:>9.0} rows/s", secs(bulk), rate(bulk));
    crate::report::seconds(&format!("apply {n} changes, no network"), secs(applied_local));
    crate::report::seconds(&format!("push {n} changes to the relay"), secs(pushed));
    crate::report::seconds(&format!("pull and apply {n} changes"), secs(pulled));
    crate::report::seconds(&format!("baseline: bare bulk INSERT of {n} rows"), secs(bulk));
    println!(
        "  ratio push / bulk insert: {:.1}x   pull+apply / bulk insert: {:.1}x",
        secs(pushed) / secs(bulk),
        secs(pulled) / secs(bulk)
    );
    if let Some(p) = pouch {
        println!("  baseline: PouchDB replication (memory to memory) {:>6.2} s   {:>9.0} docs/s", p, n as f64 / p);
        crate::report::seconds(&format!("baseline: PouchDB replication of {n} docs"), p);
        println!(
            "  ratio PouchDB / push: {:.1}x faster here   PouchDB / pull+apply: {:.1}x faster here",
            p / secs(pushed),
            p / secs(pulled)
        );
    }
    if let (Some(first), Some(last)) = (waits.first(), waits.last()) {
        let p99 = waits[((waits.len() - 1) as f64 * 0.99).round() as usize];
        println!(
            "  the app's own writes during the pull: n = {}, fastest {:.1} ms, p99 {:.1} ms, longest {:.1} ms (target: never over 50 ms)",
            waits.len(),
            secs(*first) * 1e3,
            secs(p99) * 1e3,
            secs(*last) * 1e3
        );
    }
    running.stop().await;
}

/// 500 practices' backlogs pushed into the hub's PostgreSQL, eight at a time, beside a bare bulk
/// insert of the same rows into a plain table (no checks, no row-level security).
async fn hub_ingest() {
    use lifeboat_hub::store::{Device, Store as HubStore};
    const PRACTICES: usize = 500;
    const BACKLOG: i64 = 200;
    println!("\nHub ingest: {PRACTICES} practices' backlogs of {BACKLOG} changes into PostgreSQL, 8 at a time");
    let cluster = lifeboat_hub::pg_cluster::PgCluster::start().expect("PostgreSQL (scripts/setup --test installs it)");
    let url = cluster.hub_database("hub_bench").unwrap();
    let pg = lifeboat_hub::store::postgres::PgStore::connect(&url).await.unwrap();
    warm(pg.pool()).await;
    let hub = Arc::new(HubStore::Postgres(pg));
    let mut backlogs = Vec::new();
    for p in 0..PRACTICES {
        let practice = uuid::Uuid::now_v7();
        hub.add_practice(practice, &format!("Practice {p}")).await.unwrap();
        let node = uuid::Uuid::now_v7();
        let changes: Vec<Change> = (1..=BACKLOG)
            .map(|seq| {
                Change {
                    op_id: uuid::Uuid::now_v7(),
                    node_id: node,
                    node_seq: seq,
                    hlc: (chrono::Utc::now().timestamp_millis() << 16) + seq,
                    schema_version: 5,
                    actor_id: node,
                    entity: "client".into(),
                    entity_id: uuid::Uuid::now_v7(),
                    kind: "create".into(),
                    payload: serde_json::json!({ "last_name": "Quillfeather", "first_name": "Agatha", "phone": "07700 900461", "postcode": "EX4 1AB", "town": "Exeter" }),
                    base: serde_json::json!({}),
                    content_hash: String::new(),
                }
                .sealed()
            })
            .collect();
        backlogs.push((
            Device { id: uuid::Uuid::nil(), practice_id: practice, practice_name: String::new(), node_id: node },
            changes,
        ));
    }
    let total = PRACTICES as f64 * BACKLOG as f64;
    // Each push takes its changes as the server has them once a request is read: owned, copied here
    // before the clock starts.
    let mut pushes: Vec<Vec<(Device, Vec<Change>)>> = vec![Vec::new(); 8];
    for (i, (device, changes)) in backlogs.iter().enumerate() {
        pushes[i % 8].push((device.clone(), changes.clone()));
    }
    let backlogs = Arc::new(backlogs);
    // Each timed part starts after a checkpoint, so that none pays for the one before's writes.
    let pool = sqlx::PgPool::connect(&cluster.superuser_url("hub_bench")).await.unwrap();
    warm(&pool).await;
    sqlx::query("CHECKPOINT").execute(&pool).await.unwrap();
    let start = Instant::now();
    let mut tasks = Vec::new();
    for worker in pushes {
        let hub = hub.clone();
        tasks.push(tokio::spawn(async move {
            for (device, changes) in worker {
                hub.push(&device, changes, Vec::new()).await.unwrap();
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let ours = start.elapsed();

    // Baseline: the same rows into a plain table, by the same kind of statement, same concurrency.
    let columns = "practice_id uuid, seq bigint, op_id uuid, node_id uuid, node_seq bigint, hlc bigint, content_hash text, body text";
    // The baseline: a plain table. Beside it, for seeing where the time goes, the same rows into a
    // table with the hub's keys (its primary key and two unique keys), and with its reference to the
    // practice too; no checks, no lock, no row-level security.
    let bare = bulk_insert_pg(&pool, &backlogs, "bare", &format!("CREATE TABLE bare ({columns})")).await;
    let keys = "PRIMARY KEY (practice_id, seq), UNIQUE (practice_id, op_id), UNIQUE (practice_id, node_id, node_seq)";
    let keyed = bulk_insert_pg(&pool, &backlogs, "keyed", &format!("CREATE TABLE keyed ({columns}, {keys})")).await;
    let referenced = bulk_insert_pg(
        &pool,
        &backlogs,
        "referenced",
        &format!("CREATE TABLE referenced ({columns}, {keys}, FOREIGN KEY (practice_id) REFERENCES practice (id))"),
    )
    .await;
    println!(
        "  hub push (checks, sequence under lock, RLS)   {:>7.2} s   {:>9.0} changes/s",
        secs(ours),
        total / secs(ours)
    );
    crate::report::seconds("hub ingest", secs(ours));
    crate::report::seconds("baseline: hub ingest as bare bulk INSERT", secs(bare));
    println!(
        "  baseline: bare bulk INSERT of the same rows   {:>7.2} s   {:>9.0} rows/s",
        secs(bare),
        total / secs(bare)
    );
    println!(
        "  (the same into a table with the hub's keys    {:>7.2} s; with its reference to the practice too {:.2} s)",
        secs(keyed),
        secs(referenced)
    );
    println!(
        "  hub ingest at {:.0}% of the bare bulk insert (target: at least 50%); {:.0}% of the insert with the same keys",
        100.0 * secs(bare) / secs(ours),
        100.0 * secs(keyed) / secs(ours)
    );
}

/// Opens the eight connections the figures use before the clock starts (a pool opens them as they
/// are first wanted, and a new server process costs milliseconds), on both sides alike.
async fn warm(pool: &sqlx::PgPool) {
    let mut held = Vec::new();
    for _ in 0..8 {
        let mut conn = pool.acquire().await.unwrap();
        sqlx::query("SELECT 1").execute(&mut *conn).await.unwrap();
        held.push(conn);
    }
}

type Backlogs = Arc<Vec<(lifeboat_hub::store::Device, Vec<Change>)>>;

/// The backlogs inserted into a new table `name` made by `create`, by the same kind of statement as
/// the hub's and with the same concurrency (eight at a time), each backlog one statement.
async fn bulk_insert_pg(pool: &sqlx::PgPool, backlogs: &Backlogs, name: &str, create: &str) -> Duration {
    sqlx::query(sqlx::AssertSqlSafe(create.to_string())).execute(pool).await.unwrap();
    sqlx::query("CHECKPOINT").execute(pool).await.unwrap();
    let start = Instant::now();
    let mut tasks = Vec::new();
    for worker in 0..8 {
        let (pool, backlogs) = (pool.clone(), backlogs.clone());
        let insert = format!(
            "INSERT INTO {name} SELECT $1, s, o, n, ns, h, ch, b
             FROM UNNEST($2::bigint[], $3::uuid[], $4::uuid[], $5::bigint[], $6::bigint[], $7::text[], $8::text[]) AS t (s, o, n, ns, h, ch, b)"
        );
        tasks.push(tokio::spawn(async move {
            for (device, changes) in backlogs.iter().skip(worker).step_by(8) {
                sqlx::query(sqlx::AssertSqlSafe(insert.clone()))
                    .bind(device.practice_id)
                    .bind(changes.iter().map(|c| c.node_seq).collect::<Vec<_>>())
                    .bind(changes.iter().map(|c| c.op_id).collect::<Vec<_>>())
                    .bind(changes.iter().map(|c| c.node_id).collect::<Vec<_>>())
                    .bind(changes.iter().map(|c| c.node_seq).collect::<Vec<_>>())
                    .bind(changes.iter().map(|c| c.hlc).collect::<Vec<_>>())
                    .bind(changes.iter().map(|c| c.content_hash.clone()).collect::<Vec<_>>())
                    .bind(changes.iter().map(|c| serde_json::to_string(c).unwrap()).collect::<Vec<_>>())
                    .execute(&pool)
                    .await
                    .unwrap();
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    start.elapsed()
}

/// Applies `n` changes of the L practice to an empty database, nothing else (for profiling).
pub fn apply_only(l_practice: &Path, n: usize) {
    let source = Store::open(StoreConfig::in_dir(l_practice), Arc::new(SystemClock)).unwrap();
    let changes = source.changes_missing_from(&[], n as u32).unwrap();
    drop(source);
    let (_dir, a) = fresh();
    let start = Instant::now();
    // Transactions of about the size the sync engine chooses (each about 15 ms).
    let chunk = std::env::var("APPLY_CHUNK").ok().and_then(|c| c.parse().ok()).unwrap_or(250);
    for chunk in changes.chunks(chunk) {
        a.apply_changes(chunk).unwrap();
    }
    println!("apply {n} changes: {:.2} s", secs(start.elapsed()));
}

/// One push and pull of `n` changes alone (no hub ingest), or the push alone.
pub fn push_pull_only(l_practice: &Path, n: usize, pull: bool) {
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    runtime.block_on(push_pull(l_practice, n, pull));
}

/// The hub ingest alone.
pub fn ingest_only() {
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    runtime.block_on(hub_ingest());
}

pub fn run(l_practice: &Path) {
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    runtime.block_on(async {
        for n in [10_000, 100_000] {
            push_pull(l_practice, n, true).await;
        }
        hub_ingest().await;
    });
}

/// The package's folder, as Cargo names it when it runs this (the compile-time one as a fallback): a
/// build shared between two checkouts (CI's clone and a working copy) must read the files of the
/// checkout it runs in.
fn manifest_dir() -> std::path::PathBuf {
    std::env::var_os("CARGO_MANIFEST_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| env!("CARGO_MANIFEST_DIR").into())
}
