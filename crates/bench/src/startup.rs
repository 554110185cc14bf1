//! Start-up: from launching the real desktop binary (under Xvfb, as the end-to-end tests run it) to
//! its first screen on show — the login screen, on an existing practice's database — beside the same
//! binary starting on an empty folder (the set-up screen, with a new database made). The app says
//! when its first screen is on show (`first_screen_shown`, on standard error); the time is taken
//! here, from the launch; a start that shows another screen first (the key asked for, say) is not
//! counted. The memory of the app and its web view processes (proportional set size) is read then
//! too. Starts are warm (the binary and database in the page cache after the first). Linux only
//! (Xvfb and /proc): platform code.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::{report, Figures};

/// The desktop binary beside this one (both built with `--release`).
fn desktop_binary() -> Option<PathBuf> {
    let here = std::env::current_exe().ok()?;
    let binary = here.with_file_name(format!("lifeboat-desktop{}", std::env::consts::EXE_SUFFIX));
    binary.exists().then_some(binary)
}

struct Reaped(Child);

impl Drop for Reaped {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn xvfb() -> Option<(Reaped, String)> {
    for n in 90..140 {
        if Path::new(&format!("/tmp/.X11-unix/X{n}")).exists() {
            continue;
        }
        let child = Command::new("Xvfb")
            .args([
                format!(":{n}"),
                "-screen".into(),
                "0".into(),
                "1280x800x24".into(),
                "-nolisten".into(),
                "tcp".into(),
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .ok()?;
        let child = Reaped(child);
        let start = Instant::now();
        while start.elapsed() < Duration::from_secs(10) {
            if Path::new(&format!("/tmp/.X11-unix/X{n}")).exists() {
                return Some((child, format!(":{n}")));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
    None
}

/// Memory of `pid` and every process below it (the web view's), in KiB: the proportional set size
/// (shared library pages divided among the processes that share them), or the resident set where
/// the kernel gives no PSS.
fn tree_memory_kib(pid: u32) -> u64 {
    let mut total = 0;
    let mut pending = vec![pid];
    let mut seen = Vec::new();
    while let Some(p) = pending.pop() {
        if seen.contains(&p) {
            continue;
        }
        seen.push(p);
        let field = |file: &str, key: &str| {
            std::fs::read_to_string(format!("/proc/{p}/{file}")).ok().and_then(|text| {
                text.lines()
                    .find(|l| l.starts_with(key))
                    .and_then(|l| l.split_whitespace().nth(1))
                    .and_then(|v| v.parse::<u64>().ok())
            })
        };
        total += field("smaps_rollup", "Pss:").or_else(|| field("status", "VmRSS:")).unwrap_or(0);
        for entry in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
            let Ok(child) = entry.file_name().to_string_lossy().parse::<u32>() else { continue };
            let parent = std::fs::read_to_string(format!("/proc/{child}/stat"))
                .ok()
                .and_then(|s| s.rsplit_once(')').map(|(_, rest)| rest.to_string()))
                .and_then(|rest| rest.split_whitespace().nth(1).and_then(|p| p.parse::<u32>().ok()));
            if parent == Some(p) {
                pending.push(child);
            }
        }
    }
    total
}

/// One start: the time from launch to the first screen, and the memory then. `None` if the screen
/// shown first is not `screen`, or none came within a minute.
fn start_once(binary: &Path, display: &str, data: &Path, screen: &str) -> Option<(Duration, u64)> {
    let launched = Instant::now();
    let mut child = Command::new(binary)
        .env("DISPLAY", display)
        .env("LIFEBOAT_DATA_DIR", data)
        .env("LIFEBOAT_EXPORT_DIR", data.join("exports"))
        .env("LIFEBOAT_CREDENTIAL_STORE", "none")
        .env_remove("LIFEBOAT_DEMO")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .ok()?;
    let stderr = child.stderr.take()?;
    let pid = child.id();
    let child = Reaped(child);
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if line.contains("first screen shown") {
                let _ = tx.send((launched.elapsed(), line));
            }
        }
    });
    let (shown, line) = rx.recv_timeout(Duration::from_secs(60)).ok()?;
    if !line.contains(&format!("({screen})")) {
        println!("  a start showed another screen than {screen}: {line}");
        return None;
    }
    let memory = tree_memory_kib(pid);
    drop(child);
    Some((shown, memory))
}

fn copy_practice(from: &Path, to: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(to)?;
    for name in [lifeboat_core::StoreConfig::DATABASE_FILE, lifeboat_core::StoreConfig::KEY_FILE] {
        std::fs::copy(from.join(name), to.join(name))?;
    }
    Ok(())
}

pub fn run(practice: &Path, runs: usize) {
    println!("\nStart-up: launch to the first screen, the real desktop binary under Xvfb ({runs} starts each, warm)");
    let Some(binary) = desktop_binary() else {
        println!("  not measured: no lifeboat-desktop beside this binary (cargo build --release -p lifeboat-desktop)");
        return;
    };
    if let Ok(built) = std::fs::metadata(&binary).and_then(|m| m.modified()) {
        let age = built.elapsed().unwrap_or_default().as_secs() / 60;
        println!("  {} (built {age} minutes ago)", binary.display());
    }
    let Some((_xvfb, display)) = xvfb() else {
        println!("  not measured: Xvfb could not be started (scripts/setup --test installs it)");
        return;
    };
    // A copy, so that the cached practice is never changed by the starts (in the cache's folder:
    // a large practice may not fit in the temporary folder's file system).
    let existing = tempfile::TempDir::new_in(practice.parent().unwrap_or(Path::new("."))).unwrap();
    if let Err(e) = copy_practice(practice, existing.path()) {
        println!("  not measured: the practice could not be copied to start on ({e})");
        return;
    }
    // The first start on the copy takes a node id of its own (a copied folder); not measured.
    let _ = start_once(&binary, &display, existing.path(), "login");
    let (mut ours, mut baseline, mut memory) = (Vec::new(), Vec::new(), Vec::new());
    let mut failed = 0;
    // Interleaved, so that a moment when the machine is busier weighs on both alike.
    for _ in 0..runs {
        match start_once(&binary, &display, existing.path(), "login") {
            Some((shown, kib)) => {
                ours.push(shown);
                memory.push(kib);
            }
            None => failed += 1,
        }
        let empty = tempfile::TempDir::new().unwrap();
        match start_once(&binary, &display, empty.path(), "setup") {
            Some((shown, _)) => baseline.push(shown),
            None => failed += 1,
        }
    }
    if ours.is_empty() || baseline.is_empty() {
        println!("  not measured: the app never showed the expected first screen ({failed} starts failed)");
        return;
    }
    let ours = Figures { name: "start on this practice to the login screen".into(), samples: ours };
    let baseline =
        Figures { name: "start on an empty folder to the set-up screen (new database)".into(), samples: baseline };
    ours.print();
    baseline.print();
    crate::ratio(&ours, &baseline);
    report::value("starts that failed", failed as f64, "count");
    if failed > 0 {
        println!("  {failed} start(s) failed (no screen within a minute, or another screen): left out of the figures");
    }
    memory.sort();
    if let Some(median) = memory.get(memory.len() / 2) {
        println!(
            "  memory at the login screen (app and web view processes, proportional set size): median {:.0} MB",
            *median as f64 / 1024.0
        );
        report::value("memory at the login screen (PSS)", *median as f64 / 1024.0, "MB");
    }
}
