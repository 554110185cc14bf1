//! The hub's HTTP API fuzzed from its own OpenAPI description by an independent tool, Schemathesis
//! (installed by `scripts/setup --test` into `~/.cache/lifeboat/schemathesis`; missing, the test
//! fails). The real `lifeboat-hub` binary serves over TLS, once as a practice relay on SQLite and
//! once as the central hub on a real PostgreSQL, with an enrolled device's credential. Schemathesis
//! sends every operation well-formed and malformed bodies (the description's boundaries, then
//! random ones) and fails the test when the server errs (5xx), answers a status or body the
//! description does not list, refuses a request the description allows, or accepts one it forbids.
//! `schemathesis.toml` at the repository's root holds the settings (the device's rate); the test adds
//! the practice hand-overs go to (so that they are delivered, not refused as unknown). Seeded: `LIFEBOAT_API_FUZZ_SEED` replays another run, and
//! `LIFEBOAT_API_FUZZ_EXAMPLES` sets the examples per operation (30).

use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use lifeboat_hub::pg_cluster::PgCluster;

const HUB: &str = env!("CARGO_BIN_EXE_lifeboat-hub");

fn repository() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn venv() -> PathBuf {
    PathBuf::from(std::env::var("HOME").expect("HOME is set")).join(".cache/lifeboat/schemathesis/bin")
}

fn hub(store: &[String], args: &[&str]) -> Output {
    let output = Command::new(HUB).args(store).args(args).output().expect("lifeboat-hub runs");
    assert!(output.status.success(), "lifeboat-hub {args:?}: {}", String::from_utf8_lossy(&output.stderr));
    output
}

/// A running server, stopped when dropped.
struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Serves `store` on a free port; enrols a device; runs Schemathesis against it. Returns its report.
fn fuzz(store: Vec<String>, folder: &Path) -> String {
    let (practice, other) = ("01a22ebc-c63c-73e8-a69f-b5a1d730a4d3", "01a22ebc-c63c-73e8-a69f-b5a1d730a4d4");
    hub(&store, &["practice", "add", "--name", "Riverside Vets", "--id", practice]);
    // A second practice, for hand-overs to go to.
    hub(&store, &["practice", "add", "--name", "Heronsgate Referrals", "--id", other]);
    let tls = folder.join("tls").display().to_string();
    let printed = hub(&store, &["enrol-code", "--practice", practice, "--tls-dir", &tls]);
    let printed = String::from_utf8_lossy(&printed.stdout).to_string();
    let code = printed
        .lines()
        .find_map(|l| l.strip_prefix("one-time code: "))
        .unwrap_or_else(|| panic!("enrol-code printed a code: {printed}"))
        .trim()
        .to_string();

    let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let listen = format!("127.0.0.1:{port}");
    let log = std::fs::File::create(folder.join("hub.log")).unwrap();
    let _server = Server(
        Command::new(HUB)
            .args(&store)
            .args(["serve", "--listen", &listen, "--tls-dir", &tls])
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("lifeboat-hub serve starts"),
    );
    let started = Instant::now();
    while TcpStream::connect(&listen).is_err() {
        assert!(started.elapsed() < Duration::from_secs(60), "the hub listens on {listen} within a minute");
        std::thread::sleep(Duration::from_millis(100));
    }

    let python = venv().join("python");
    assert!(
        python.exists(),
        "Schemathesis is not installed ({} is missing): run scripts/setup --test",
        python.display()
    );
    // Enrolment gives the device's bearer token (the server's certificate is its own, self-signed).
    let enrol = format!(
        r#"import json, ssl, urllib.request
request = urllib.request.Request("https://{listen}/v1/enrol", method="POST", headers={{"content-type": "application/json"}},
    data=json.dumps({{"protocol": 1, "code": "{code}", "device_name": "Fuzzing PC", "node_id": "0193a0b0-0000-7000-8000-000000000001"}}).encode())
print(json.load(urllib.request.urlopen(request, context=ssl._create_unverified_context()))["token"])"#
    );
    let token = Command::new(&python).args(["-c", &enrol]).output().expect("python runs");
    assert!(token.status.success(), "enrolment: {}", String::from_utf8_lossy(&token.stderr));
    let token = String::from_utf8(token.stdout).unwrap().trim().to_string();
    assert_eq!(token.len(), 64, "a device token");

    let seed = std::env::var("LIFEBOAT_API_FUZZ_SEED").unwrap_or_else(|_| "20261202".into());
    let examples = std::env::var("LIFEBOAT_API_FUZZ_EXAMPLES").unwrap_or_else(|_| "30".into());
    let config = folder.join("schemathesis.toml");
    let shared = std::fs::read_to_string(repository().join("schemathesis.toml")).expect("schemathesis.toml");
    std::fs::write(
        &config,
        format!("{shared}\n[[operations]]\ninclude-path = \"/v1/handover\"\nparameters = {{ \"body.to_practice\" = \"{other}\" }}\n"),
    )
    .unwrap();
    let run = Command::new(venv().join("schemathesis"))
        .current_dir(folder)
        .env("NO_COLOR", "1")
        .arg("--config-file")
        .arg(&config)
        .args(["run", &format!("https://{listen}/v1/openapi.json"), "--tls-verify=false"])
        .args(["--header", &format!("Authorization: Bearer {token}")])
        .args(["--seed", &seed, "--max-examples", &examples, "--no-color"])
        .output()
        .expect("schemathesis runs");
    let report = String::from_utf8_lossy(&run.stdout).to_string() + &String::from_utf8_lossy(&run.stderr);
    let hub_log = std::fs::read_to_string(folder.join("hub.log")).unwrap_or_default();
    assert!(run.status.success(), "Schemathesis found faults (seed {seed}):\n{report}\nthe hub's log:\n{hub_log}");
    report
}

/// How many test cases the report says were generated, and how many passed.
fn cases(report: &str) -> (u64, u64) {
    let line = report.lines().find(|l| l.contains(" generated,")).unwrap_or_else(|| panic!("a summary: {report}"));
    let numbers: Vec<u64> = line.split_whitespace().filter_map(|w| w.trim_end_matches(',').parse().ok()).collect();
    (numbers[0], numbers[1])
}

fn check(report: &str, store: &str) {
    println!("{store}:\n{}", report.lines().skip_while(|l| !l.contains("SUMMARY")).collect::<Vec<_>>().join("\n"));
    let (generated, passed) = cases(report);
    // Eight operations, each with the description's boundaries and 30 random bodies and more.
    assert!(generated >= 400, "{store}: only {generated} test cases were generated");
    assert_eq!(passed, generated, "{store}: every test case passed");
    // No warning: none mostly rate limited, none kept from its work for want of a record.
    assert!(!report.contains("WARNINGS"), "{store}: Schemathesis warned:\n{report}");
    assert!(
        report.contains("Selected: 8/8") && report.contains("Tested: 8"),
        "{store}: all eight operations were tested"
    );
}

#[test]
fn the_relay_answers_the_fuzzer_as_its_openapi_description_says() {
    let folder = tempfile::TempDir::new().unwrap();
    let store = vec!["--sqlite".to_string(), folder.path().join("relay.db").display().to_string()];
    check(&fuzz(store, folder.path()), "the relay (SQLite)");
}

#[test]
fn the_hub_on_postgresql_answers_the_fuzzer_as_its_openapi_description_says() {
    let folder = tempfile::TempDir::new().unwrap();
    let cluster = PgCluster::start().expect("a PostgreSQL cluster for the test");
    let url = cluster.hub_database("hub_fuzz").unwrap();
    check(&fuzz(vec!["--database-url".to_string(), url], folder.path()), "the hub (PostgreSQL)");
}
