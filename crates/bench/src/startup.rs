//! Start-up: from launching the real desktop binary (under Xvfb, as the end-to-end tests run it) to
//! its first screen on show — the login screen, on an existing practice's database — beside the same
//! binary starting on an empty folder (the set-up screen, with a new database made). The app says
//! when its first screen is on show (`first_screen_shown`, on standard error); the time is taken
//! here, from the launch. The resident memory of the app and its web view processes is read then
//! too. Linux only (Xvfb and /proc): platform code.

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

/// Resident memory of `pid` and every process below it (the web view's), in KiB.
fn tree_rss_kib(pid: u32) -> u64 {
    let mut total = 0;
    let mut pending = vec![pid];
    let mut seen = Vec::new();
    while let Some(p) = pending.pop() {
        if seen.contains(&p) {
            continue;
        }
        seen.push(p);
        if let Ok(status) = std::fs::read_to_string(format!("/proc/{p}/status")) {
            total += status
                .lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse::<u64>().ok())
                .unwrap_or(0);
        }
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

/// One start: the time from launch to the first screen, and the memory then.
fn start_once(binary: &Path, display: &str, data: &Path) -> Option<(Duration, u64)> {
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
                let _ = tx.send(launched.elapsed());
            }
        }
    });
    let shown = rx.recv_timeout(Duration::from_secs(60)).ok()?;
    let rss = tree_rss_kib(pid);
    drop(child);
    Some((shown, rss))
}

fn copy_practice(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for name in [lifeboat_core::StoreConfig::DATABASE_FILE, lifeboat_core::StoreConfig::KEY_FILE] {
        std::fs::copy(from.join(name), to.join(name)).unwrap();
    }
}

pub fn run(practice: &Path, runs: usize) {
    println!("\nStart-up: launch to the first screen, the real desktop binary under Xvfb ({runs} starts each)");
    let Some(binary) = desktop_binary() else {
        println!("  not measured: no lifeboat-desktop beside this binary (cargo build --release -p lifeboat-desktop)");
        return;
    };
    let Some((_xvfb, display)) = xvfb() else {
        println!("  not measured: Xvfb could not be started (scripts/setup --test installs it)");
        return;
    };
    let existing = tempfile::TempDir::new().unwrap();
    copy_practice(practice, existing.path());
    // The first start on the copy takes a node id of its own (a copied folder); not measured.
    let _ = start_once(&binary, &display, existing.path());
    let mut memory = Vec::new();
    let mut failed = 0;
    let mut starts = |data: &dyn Fn() -> (Option<tempfile::TempDir>, PathBuf), memory: &mut Vec<u64>| {
        let mut samples = Vec::new();
        for _ in 0..runs {
            let (_keep, folder) = data();
            match start_once(&binary, &display, &folder) {
                Some((shown, rss)) => {
                    samples.push(shown);
                    memory.push(rss);
                }
                None => failed += 1,
            }
        }
        samples
    };
    let existing_path = existing.path().to_path_buf();
    let ours = Figures {
        name: "start on this practice to the login screen".into(),
        samples: starts(&|| (None, existing_path.clone()), &mut memory),
    };
    let mut ignored = Vec::new();
    let baseline = Figures {
        name: "start on an empty folder to the set-up screen".into(),
        samples: starts(
            &|| {
                let empty = tempfile::TempDir::new().unwrap();
                let path = empty.path().to_path_buf();
                (Some(empty), path)
            },
            &mut ignored,
        ),
    };
    if ours.samples.is_empty() || baseline.samples.is_empty() {
        println!("  not measured: the app never showed its first screen ({failed} starts tried)");
        return;
    }
    ours.print();
    baseline.print();
    crate::ratio(&ours, &baseline);
    if failed > 0 {
        println!("  {failed} start(s) never showed a screen within a minute (their time is the minute's wait)");
    }
    memory.sort();
    if let Some(median) = memory.get(memory.len() / 2) {
        println!(
            "  resident memory at the login screen (app and web view processes): median {:.0} MB",
            *median as f64 / 1024.0
        );
        report::seconds("resident memory at the login screen, MB", *median as f64 / 1024.0);
    }
}
