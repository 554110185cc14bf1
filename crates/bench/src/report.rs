//! What a run measured, kept as it is printed: for the JSON file written beside the printed table
//! (`--json`), and for the scaling table when several sizes ran.

use std::sync::Mutex;

use serde::Serialize;

#[derive(Clone, Serialize)]
pub struct Row {
    /// The practice size the figure was measured on (`-` where it does not depend on one).
    pub size: String,
    pub group: String,
    pub name: String,
    /// Latency figures: p50 and p99 in microseconds, with the number of samples.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub p50_us: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub p99_us: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub samples: Option<usize>,
    /// Other figures: a value and its unit (seconds for an import or a sync, a count, MB).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unit: Option<&'static str>,
}

#[derive(Clone, Serialize)]
pub struct Ratio {
    pub size: String,
    pub group: String,
    pub ours: String,
    pub baseline: String,
    pub p50: f64,
    pub p99: f64,
}

static CONTEXT: Mutex<(String, String)> = Mutex::new((String::new(), String::new()));
static ROWS: Mutex<Vec<Row>> = Mutex::new(Vec::new());
static RATIOS: Mutex<Vec<Ratio>> = Mutex::new(Vec::new());

/// The size and group the next figures belong to.
pub fn context(size: &str, group: &str) {
    *CONTEXT.lock().unwrap_or_else(|e| e.into_inner()) = (size.to_string(), group.to_string());
}

fn here() -> (String, String) {
    CONTEXT.lock().unwrap_or_else(|e| e.into_inner()).clone()
}

pub fn latency(name: &str, p50_us: f64, p99_us: f64, samples: usize) {
    let (size, group) = here();
    ROWS.lock().unwrap_or_else(|e| e.into_inner()).push(Row {
        size,
        group,
        name: name.to_string(),
        p50_us: Some(p50_us),
        p99_us: Some(p99_us),
        samples: Some(samples),
        value: None,
        unit: None,
    });
}

/// A whole-run figure in seconds (an import, a sync of n changes).
pub fn seconds(name: &str, seconds: f64) {
    value(name, seconds, "s");
}

/// Any other figure, with its unit.
pub fn value(name: &str, value: f64, unit: &'static str) {
    let (size, group) = here();
    ROWS.lock().unwrap_or_else(|e| e.into_inner()).push(Row {
        size,
        group,
        name: name.to_string(),
        p50_us: None,
        p99_us: None,
        samples: None,
        value: Some(value),
        unit: Some(unit),
    });
}

pub fn ratio(ours: &str, baseline: &str, p50: f64, p99: f64) {
    let (size, group) = here();
    RATIOS.lock().unwrap_or_else(|e| e.into_inner()).push(Ratio {
        size,
        group,
        ours: ours.to_string(),
        baseline: baseline.to_string(),
        p50,
        p99,
    });
}

/// Prints, for each latency figure measured on more than one size, its p50 and p99 on each, and
/// each ratio on each: how the cost grows with the practice.
pub fn print_scaling(sizes: &[String]) {
    let rows = ROWS.lock().unwrap_or_else(|e| e.into_inner()).clone();
    let ratios = RATIOS.lock().unwrap_or_else(|e| e.into_inner()).clone();
    println!("\nScaling (p50 / p99 in µs; ratios are p99 against the same-run baseline)");
    print!("  {:<46}", "figure");
    for size in sizes {
        print!(" {:>22}", size);
    }
    println!();
    let mut names: Vec<(String, String)> = Vec::new();
    for r in rows.iter().filter(|r| r.p50_us.is_some() && sizes.contains(&r.size)) {
        if !names.contains(&(r.group.clone(), r.name.clone())) {
            names.push((r.group.clone(), r.name.clone()));
        }
    }
    for (group, name) in &names {
        print!("  {:<46}", name);
        for size in sizes {
            match rows.iter().find(|r| &r.group == group && &r.name == name && &r.size == size) {
                Some(r) => print!(" {:>10.0} / {:>9.0}", r.p50_us.unwrap_or_default(), r.p99_us.unwrap_or_default()),
                None => print!(" {:>22}", "-"),
            }
        }
        println!();
    }
    let mut pairs: Vec<(String, String)> = Vec::new();
    for r in ratios.iter().filter(|r| sizes.contains(&r.size)) {
        if !pairs.contains(&(r.ours.clone(), r.baseline.clone())) {
            pairs.push((r.ours.clone(), r.baseline.clone()));
        }
    }
    let mut last: Option<&String> = None;
    for (ours, baseline) in &pairs {
        if last != Some(ours) {
            println!("  ratio of {ours}, p99, to");
            last = Some(ours);
        }
        print!("    {:<44}", baseline);
        for size in sizes {
            match ratios.iter().find(|r| &r.ours == ours && &r.baseline == baseline && &r.size == size) {
                Some(r) => print!(" {:>21.2}x", r.p99),
                None => print!(" {:>22}", "-"),
            }
        }
        println!();
    }
}

#[derive(Serialize)]
struct Machine {
    os: &'static str,
    arch: &'static str,
    cores: usize,
    cpu: String,
    memory_kib: Option<u64>,
}

#[derive(Serialize)]
struct File {
    tool: &'static str,
    finished_at: String,
    debug_build: bool,
    iterations: usize,
    sizes: Vec<String>,
    machine: Machine,
    figures: Vec<Row>,
    ratios: Vec<Ratio>,
}

/// A line of `/proc` (Linux only: platform code; elsewhere the figure is left out).
fn proc_line(file: &str, key: &str) -> Option<String> {
    let text = std::fs::read_to_string(file).ok()?;
    let line = text.lines().find(|l| l.starts_with(key))?;
    Some(line.split_once(':')?.1.trim().to_string())
}

/// Whether `path` can be written, without touching what it holds (the figures of an earlier run stay
/// until this run's replace them); a file made only to find out is removed again.
pub fn check_writable(path: &std::path::Path) -> std::io::Result<()> {
    let existed = path.exists();
    std::fs::OpenOptions::new().create(true).append(true).open(path)?;
    if !existed {
        std::fs::remove_file(path)?;
    }
    Ok(())
}

/// Writes everything measured to `path` as JSON.
pub fn write_json(path: &std::path::Path, iterations: usize, sizes: &[String]) -> std::io::Result<()> {
    let file = File {
        tool: "lifeboat-bench",
        finished_at: chrono::Utc::now().to_rfc3339(),
        debug_build: cfg!(debug_assertions),
        iterations,
        sizes: sizes.to_vec(),
        machine: Machine {
            os: std::env::consts::OS,
            arch: std::env::consts::ARCH,
            cores: std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1),
            cpu: proc_line("/proc/cpuinfo", "model name").unwrap_or_else(|| "unknown".into()),
            memory_kib: proc_line("/proc/meminfo", "MemTotal")
                .and_then(|v| v.trim_end_matches("kB").trim().parse().ok()),
        },
        figures: ROWS.lock().unwrap_or_else(|e| e.into_inner()).clone(),
        ratios: RATIOS.lock().unwrap_or_else(|e| e.into_inner()).clone(),
    };
    let text = serde_json::to_string_pretty(&file).map_err(std::io::Error::other)?;
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)?;
    }
    std::fs::write(path, text)
}

#[cfg(test)]
mod tests {
    #[test]
    fn checking_the_json_path_keeps_an_earlier_run_and_leaves_nothing_new() {
        let dir = std::env::temp_dir().join(format!("lifeboat-bench-check-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let earlier = dir.join("earlier.json");
        std::fs::write(&earlier, "{\"figures\": [1]}").unwrap();
        super::check_writable(&earlier).unwrap();
        assert_eq!(std::fs::read_to_string(&earlier).unwrap(), "{\"figures\": [1]}");
        let new = dir.join("new.json");
        super::check_writable(&new).unwrap();
        assert!(!new.exists(), "a file made only to check the path is removed");
        assert!(super::check_writable(&dir.join("no-such-folder").join("x.json")).is_err());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
