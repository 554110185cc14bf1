//! Upgrading a practice's database left by an older Lifeboat: the first open runs every pending
//! migration in one transaction, before the login screen. Measured on a copy of a practice at an
//! older schema (`--practice DIR`, by default the cached `bench-L-schema{N-1}` that the run before a
//! migration made), beside copying its file once: the floor of anything that rewrites the file.
//! Also: the upgraded file's size and free pages, and what compacting it (`VACUUM`) would cost.

use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use lifeboat_core::store::migrations::SCHEMA_VERSION;
use lifeboat_core::{Store, StoreConfig, SystemClock};
use rusqlite::Connection;

use crate::{pragma_key, report};

/// The practice of the schema before this one in the bench's cache.
pub fn default_practice() -> std::path::PathBuf {
    let cache = dirs::cache_dir().unwrap_or_else(std::env::temp_dir).join("lifeboat");
    cache.join(format!("bench-L-schema{}", SCHEMA_VERSION - 1))
}

fn open_raw(dir: &Path) -> Connection {
    let conn = Connection::open(dir.join(StoreConfig::DATABASE_FILE)).unwrap();
    conn.pragma_update(None, "key", pragma_key(dir)).unwrap();
    conn
}

fn mib(bytes: u64) -> f64 {
    bytes as f64 / (1024.0 * 1024.0)
}

/// This process's peak resident memory since the last reset, in KiB (Linux only: elsewhere None).
fn peak_kib() -> Option<u64> {
    #[cfg(target_os = "linux")]
    {
        let status = std::fs::read_to_string("/proc/self/status").ok()?;
        status.lines().find(|l| l.starts_with("VmHWM:"))?.split_whitespace().nth(1)?.parse().ok()
    }
    #[cfg(not(target_os = "linux"))]
    None
}

/// Starts the peak over from the memory in use now (Linux: `/proc/self/clear_refs`).
fn reset_peak() {
    #[cfg(target_os = "linux")]
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}

fn resident_kib() -> Option<u64> {
    #[cfg(target_os = "linux")]
    {
        let status = std::fs::read_to_string("/proc/self/status").ok()?;
        status.lines().find(|l| l.starts_with("VmRSS:"))?.split_whitespace().nth(1)?.parse().ok()
    }
    #[cfg(not(target_os = "linux"))]
    None
}

pub fn run(from: &Path) {
    if !from.join(StoreConfig::DATABASE_FILE).is_file() || !from.join(StoreConfig::KEY_FILE).is_file() {
        println!(
            "\nUpgrading: there is no practice in {} (its {} and {}). Name one made by an older Lifeboat with \
             --practice, or make this one with the build before the last migration (for example \
             `lifeboat-bench reception` at that commit, which caches its L practice there)",
            from.display(),
            StoreConfig::DATABASE_FILE,
            StoreConfig::KEY_FILE
        );
        return;
    }
    let found: u32 = open_raw(from).query_row("PRAGMA user_version", [], |r| r.get(0)).unwrap();
    println!("\nUpgrading {} (schema {found}) to schema {SCHEMA_VERSION}", from.display());
    if found >= SCHEMA_VERSION {
        println!("  already at schema {found}: nothing to upgrade (name a practice made by an older Lifeboat)");
        return;
    }
    let work = tempfile::TempDir::new().unwrap();
    let (db, copy) = (from.join(StoreConfig::DATABASE_FILE), work.path().join(StoreConfig::DATABASE_FILE));
    let started = Instant::now();
    std::fs::copy(&db, &copy).unwrap();
    let copied = started.elapsed().as_secs_f64();
    std::fs::copy(from.join(StoreConfig::KEY_FILE), work.path().join(StoreConfig::KEY_FILE)).unwrap();
    let before = std::fs::metadata(&copy).unwrap().len();

    let resident = resident_kib();
    reset_peak();
    let started = Instant::now();
    drop(Store::open(StoreConfig::in_dir(work.path()), Arc::new(SystemClock)).unwrap());
    let upgraded = started.elapsed().as_secs_f64();
    let peak = peak_kib();
    let started = Instant::now();
    drop(Store::open(StoreConfig::in_dir(work.path()), Arc::new(SystemClock)).unwrap());
    let reopened = started.elapsed().as_secs_f64();

    let conn = open_raw(work.path());
    // (SQLCipher answers `PRAGMA page_size` with its own setting, as text: the size from the count.)
    let pages: u64 = conn.query_row("PRAGMA page_count", [], |r| r.get(0)).unwrap();
    let free: u64 = conn.query_row("PRAGMA freelist_count", [], |r| r.get(0)).unwrap();
    let after = std::fs::metadata(&copy).unwrap().len();
    let page = after / pages.max(1);
    let started = Instant::now();
    conn.execute_batch("VACUUM").unwrap();
    let vacuumed = started.elapsed().as_secs_f64();
    drop(conn);
    let compact = std::fs::metadata(&copy).unwrap().len();

    println!("  the first open, upgrading                     {upgraded:>8.2} s");
    println!("  baseline: copying the file once               {copied:>8.2} s   ({:.0} MiB)", mib(before));
    println!("  ratio: {:.1}x", upgraded / copied);
    println!("  the next open, already upgraded               {reopened:>8.3} s");
    match (peak, resident) {
        (Some(peak), Some(resident)) => {
            println!(
                "  memory: peak {:.0} MiB during the upgrade ({:.0} MiB above the {:.0} MiB in use before it)",
                peak as f64 / 1024.0,
                peak.saturating_sub(resident) as f64 / 1024.0,
                resident as f64 / 1024.0
            );
            report::value(
                "peak memory above that before, upgrading",
                peak.saturating_sub(resident) as f64 / 1024.0,
                "MiB",
            );
        }
        _ => println!("  memory: not measured on this system"),
    }
    println!(
        "  file: {:.0} MiB before, {:.0} MiB after ({:.0} MiB of it free pages, reused by later writes)",
        mib(before),
        mib(after),
        mib(free * page)
    );
    println!("  compacting it (VACUUM) would take {vacuumed:.2} s and leave {:.0} MiB", mib(compact));
    report::seconds("the first open, upgrading", upgraded);
    report::seconds("baseline: copying the file once", copied);
    report::seconds("the next open, already upgraded", reopened);
    report::value("file before", mib(before), "MiB");
    report::value("file after", mib(after), "MiB");
    report::value("free pages after", mib(free * page), "MiB");
    report::seconds("VACUUM after the upgrade", vacuumed);
    report::value("file after VACUUM", mib(compact), "MiB");
}
