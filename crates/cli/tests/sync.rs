//! The real `lifeboat` binary syncing through a relay: pairing, sync, and a sync killed (SIGKILL) in
//! the middle of a long pull, again and again, then finished: nothing lost, nothing doubled, no page
//! half-applied. Bundles carried between two PCs by the command line.

use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::sync::Arc;
use std::time::Duration;

use lifeboat_core::{Store, StoreConfig, SystemClock};
use lifeboat_hub::api::Hub;
use lifeboat_hub::store::sqlite::SqliteStore;
use lifeboat_hub::tls::TlsIdentity;
use lifeboat_protocol::pairing::{fingerprint_prefix, PairingCode};
use tempfile::TempDir;

const DEMO_PASSWORD: &str = "lifeboat-demo";

fn lifeboat(dir: &Path, args: &[&str]) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_lifeboat"));
    c.args(args)
        .env("LIFEBOAT_DATA_DIR", dir)
        .env("LIFEBOAT_PASSWORD", DEMO_PASSWORD)
        .env("LIFEBOAT_BUNDLE_PASSPHRASE", "a passphrase for the stick")
        .env("LIFEBOAT_NEW_PASSWORD", "a new staff password")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    c
}

fn run(dir: &Path, args: &[&str]) -> Output {
    let out = lifeboat(dir, args).output().unwrap();
    assert!(
        out.status.success(),
        "lifeboat {args:?}: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

fn open(dir: &Path) -> Store {
    Store::open(StoreConfig::in_dir(dir), Arc::new(SystemClock)).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sync_killed_again_and_again_mid_pull_loses_and_doubles_nothing() {
    let relay_dir = TempDir::new().unwrap();
    let store = SqliteStore::open(&relay_dir.path().join("relay.db"), Some(&"cd".repeat(32))).unwrap();
    let tls = TlsIdentity::load_or_create(relay_dir.path()).unwrap();
    let hub = Hub::new(lifeboat_hub::store::Store::Sqlite(store)).await.unwrap();
    let running = lifeboat_hub::server::start(hub, &tls, "127.0.0.1:0".parse().unwrap()).await.unwrap();
    let address = running.address.to_string();
    let code = |practice| {
        let hub = running.hub.clone();
        let fingerprint = running.fingerprint.clone();
        let url = format!("https://{address}");
        async move {
            hub.store.add_practice(practice, "Demo practice").await.unwrap();
            let code = hub.store.new_enrol_code(practice, 1).await.unwrap();
            PairingCode { url, fingerprint_prefix: fingerprint_prefix(&fingerprint).unwrap(), enrol_code: code }.code()
        }
    };

    let (a, b) = (TempDir::new().unwrap(), TempDir::new().unwrap());
    run(a.path(), &["demo", "--size", "S"]);
    let practice = open(a.path()).practice_summary().unwrap().unwrap().0;
    run(
        a.path(),
        &["pair", "--as", "admin", "--address", &address, "--code", &code(practice).await, "--name", "Relay"],
    );
    let out = run(a.path(), &["sync"]);
    assert!(String::from_utf8_lossy(&out.stdout).contains("Relay: sent"), "{}", String::from_utf8_lossy(&out.stdout));

    // A new PC joins and starts its first, long pull; the power goes, again and again.
    run(
        b.path(),
        &["pair", "--address", &address, "--code", &code(practice).await, "--name", "Relay", "--device-name", "New PC"],
    );
    let total = open(a.path()).marks().unwrap().iter().map(|m| m.seq).sum::<i64>();
    let mut cut_midway = 0;
    for wait in [150, 250, 400, 600, 900] {
        let mut child = lifeboat(b.path(), &["sync"]).spawn().unwrap();
        tokio::time::sleep(Duration::from_millis(wait)).await;
        let _ = child.kill();
        child.wait().unwrap();
        let held = open(b.path()).marks().unwrap().iter().map(|m| m.seq).sum::<i64>();
        if held > 0 && held < total {
            cut_midway += 1;
        }
        // Whatever was applied is whole: the journal is sound and every page came with its cursor.
        assert!(open(b.path()).verify_audit().unwrap().is_intact());
    }
    assert!(cut_midway > 0, "at least one sync was killed in the middle of the pull of {total} changes");
    run(b.path(), &["sync", "--verify"]);
    let (sa, sb) = (open(a.path()), open(b.path()));
    assert_eq!(sa.dump().unwrap(), sb.dump().unwrap(), "the new PC holds exactly the practice");
    assert!(sb.verify_audit().unwrap().is_intact());
    drop((sa, sb));

    // A bundle by hand between the two, by the command line.
    let file = a.path().join("stick.lifeboat");
    run(a.path(), &["staff", "add", "--as", "admin", "--username", "n.new", "--name", "Nia New", "--role", "nurse"]);
    let out = lifeboat(
        a.path(),
        &["bundle", "export", "--as", "admin", "--out", file.to_str().unwrap(), "--for-server", "Relay"],
    )
    .output()
    .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(
        // The new account, and the two sign-ins of the two commands.
        String::from_utf8_lossy(&out.stdout).starts_with("Wrote 3 changes"),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let out = run(b.path(), &["bundle", "import", "--as", "admin", file.to_str().unwrap()]);
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("3 new, 0 already here"),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let out = run(b.path(), &["bundle", "import", "--as", "admin", file.to_str().unwrap()]);
    assert!(String::from_utf8_lossy(&out.stdout).contains("0 new, 3 already here"));
    let wrong = lifeboat(b.path(), &["bundle", "import", "--as", "admin", file.to_str().unwrap()])
        .env("LIFEBOAT_BUNDLE_PASSPHRASE", "the wrong one entirely")
        .output()
        .unwrap();
    assert_eq!(wrong.status.code(), Some(4));
    assert!(String::from_utf8_lossy(&wrong.stderr).contains("passphrase is not the one"));
    running.stop().await;
}
