//! The database key in a real credential store: the Secret Service of a GNOME keyring, on a D-Bus
//! session of the test's own (the test runs itself again inside `dbus-run-session`, with a keyring
//! daemon unlocked in a home folder of its own, so nothing of the PC's own keyring is touched).
//! `scripts/setup --test` installs dbus-daemon and gnome-keyring; without them this test fails.

mod common;

use std::path::Path;
use std::process::Command;
use std::sync::Arc;

use lifeboat_core::{example, CredentialStore, ErrorCode, KeyAccess, OsCredentials, RecoveryKey, Store, StoreConfig};

use common::{clock, PASSWORD};

const INSIDE: &str = "LIFEBOAT_TEST_IN_KEYRING_SESSION";
const SERVICE: &str = "Lifeboat test";

fn in_keyring_session(test: &str) -> bool {
    if std::env::var_os(INSIDE).is_some() {
        return true;
    }
    let home = tempfile::TempDir::new().unwrap();
    let exe = std::env::current_exe().unwrap();
    let output = Command::new("dbus-run-session")
        .args([
            "--",
            "sh",
            "-c",
            // The daemon takes its unlock password on standard input and stays in the background.
            "printf %s keyring-test-password | gnome-keyring-daemon --unlock --components=secrets >/dev/null && exec \"$@\"",
            "sh",
        ])
        .arg(&exe)
        .args(["--exact", test, "--nocapture", "--test-threads=1"])
        .env("HOME", home.path())
        .env_remove("XDG_DATA_HOME")
        .env_remove("XDG_RUNTIME_DIR")
        .env_remove("DBUS_SESSION_BUS_ADDRESS")
        .env(INSIDE, "1")
        .output()
        .expect("dbus-run-session could not be started: run scripts/setup --test (it installs dbus-daemon and gnome-keyring)");
    let out = String::from_utf8_lossy(&output.stdout);
    let err = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "the test inside the keyring session failed:\n{out}\n{err}");
    assert!(out.contains("1 passed"), "the test did not run inside the session:\n{out}\n{err}");
    false
}

#[test]
fn the_key_is_kept_in_the_real_secret_service_and_the_recovery_key_opens_a_copy_elsewhere() {
    if !in_keyring_session("the_key_is_kept_in_the_real_secret_service_and_the_recovery_key_opens_a_copy_elsewhere") {
        return;
    }
    let secret_service: Arc<dyn CredentialStore> = Arc::new(OsCredentials::new(SERVICE));
    let access = KeyAccess { credentials: Some(secret_service.clone()), ..KeyAccess::default() };
    let dir = tempfile::TempDir::new().unwrap();
    let store = Store::open(StoreConfig::in_dir(dir.path()).with_keys(access.clone()), clock()).unwrap();
    let admin = store.create_practice(&example::practice_setup("admin", PASSWORD)).unwrap();
    let recovery = store.make_recovery_key(&admin).unwrap();
    let protection = store.key_protection(&admin).unwrap();
    assert!(!protection.key_in_file, "{protection:?}");
    drop(store);

    // The key is in the Secret Service, under the entry the key file names, and not in the file.
    let text = std::fs::read_to_string(dir.path().join(StoreConfig::KEY_FILE)).unwrap();
    let value: serde_json::Value = serde_json::from_str(&text).unwrap();
    let account = value["keys"][0]["os"].as_str().expect("the key file names an entry").to_string();
    let key = secret_service.get(&account).unwrap().expect("the Secret Service holds the key");
    assert_eq!(key.len(), 32);
    assert!(!text.contains(&hex::encode(&key)), "{text}");
    // Read back through the keyring crate directly, as any other program on the PC would.
    let direct = keyring::Entry::new(SERVICE, &account).unwrap().get_secret().unwrap();
    assert_eq!(direct, key);

    // Opened again: through the Secret Service alone.
    let store = Store::open(StoreConfig::in_dir(dir.path()).with_keys(access.clone()), clock()).unwrap();
    assert!(store.login("admin", PASSWORD).is_ok());
    drop(store);

    // The entry gone (another PC, or the keyring reset): the database says the key is needed, and
    // the recovery key opens it and puts the key back in the Secret Service.
    keyring::Entry::new(SERVICE, &account).unwrap().delete_credential().unwrap();
    let err = Store::open(StoreConfig::in_dir(dir.path()).with_keys(access.clone()), clock()).err().unwrap();
    assert_eq!(err.code(), ErrorCode::KeyNeeded, "{err}");
    let config = StoreConfig::in_dir(dir.path())
        .with_keys(access.clone())
        .with_recovery_key(RecoveryKey::parse(&recovery).unwrap());
    Store::open(config, clock()).unwrap();
    assert_eq!(secret_service.get(&account).unwrap(), Some(key));
    assert!(Store::open(StoreConfig::in_dir(Path::new(dir.path())).with_keys(access), clock()).is_ok());
}
