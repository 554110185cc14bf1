//! End to end in the real desktop window: the release-shaped binary (UI embedded) under Xvfb, driven
//! through tauri-driver and WebKitWebDriver. Needs `Xvfb`, `tauri-driver` and `WebKitWebDriver`; it
//! fails, never skips, when one is missing (`scripts/test` installs them).
//!
//! Screenshots go to `test-output/e2e/`.

use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::{Client, ClientBuilder, Locator};

/// A child process killed when dropped, even when an assertion fails.
struct Reaped(Child);

impl Drop for Reaped {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn tool(name: &str) -> PathBuf {
    let cargo_bin = dirs_home().join(".cargo/bin").join(name);
    if cargo_bin.exists() {
        return cargo_bin;
    }
    let found = std::env::var_os("PATH")
        .and_then(|paths| std::env::split_paths(&paths).map(|p| p.join(name)).find(|p| p.exists()));
    found.unwrap_or_else(|| panic!("{name} is not installed; run scripts/test, which installs it"))
}

fn dirs_home() -> PathBuf {
    std::env::var_os("HOME").map(PathBuf::from).unwrap_or_default()
}

/// Starts Xvfb on a free display and returns it with the display name.
fn xvfb() -> (Reaped, String) {
    use std::io::BufRead;
    let mut child = Command::new(tool("Xvfb"))
        .args(["-displayfd", "1", "-screen", "0", "1280x800x24", "-nolisten", "tcp"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("Xvfb starts");
    let mut line = String::new();
    std::io::BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
    let display = format!(":{}", line.trim());
    assert!(line.trim().parse::<u32>().is_ok(), "Xvfb did not report a display: {line:?}");
    (Reaped(child), display)
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

fn wait_for_port(port: u16, what: &str) {
    let start = Instant::now();
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(start.elapsed() < Duration::from_secs(30), "{what} did not listen on port {port}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// The tests' windows run one test at a time (two windows at most, for the relay test): WebKit pages
/// on a 2-core machine with three windows open and the rest of the suite running were seen to hang.
static ONE_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

struct Desktop {
    client: Client,
    _driver: Reaped,
    _xvfb: Reaped,
    shots: PathBuf,
}

impl Desktop {
    /// Launches the app with its data in `data_dir`.
    async fn launch(data_dir: &Path, name: &str) -> Desktop {
        Self::launch_with(data_dir, &data_dir.join("exports"), name).await
    }

    async fn launch_with(data_dir: &Path, export_dir: &Path, name: &str) -> Desktop {
        let (xvfb, display) = xvfb();
        let (port, native_port) = (free_port(), free_port());
        tool("WebKitWebDriver");
        let driver = Command::new(tool("tauri-driver"))
            .args(["--port", &port.to_string(), "--native-port", &native_port.to_string()])
            .env("DISPLAY", &display)
            .env("LIFEBOAT_DATA_DIR", data_dir)
            .env("LIFEBOAT_EXPORT_DIR", export_dir)
            // The key in the key file, as on a PC without a credential store: the developer's own
            // keyring is never written to (the core's secret_service.rs tests the real one).
            .env("LIFEBOAT_CREDENTIAL_STORE", "none")
            .env_remove("LIFEBOAT_DEMO")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("tauri-driver starts");
        let driver = Reaped(driver);
        // tauri-driver listens before WebKitWebDriver does; wait for both.
        wait_for_port(port, "tauri-driver");
        wait_for_port(native_port, "WebKitWebDriver");
        let mut caps = serde_json::Map::new();
        // The benchmark below runs the release build (`LIFEBOAT_DESKTOP_BINARY`); the tests, this one.
        let application =
            std::env::var("LIFEBOAT_DESKTOP_BINARY").unwrap_or_else(|_| env!("CARGO_BIN_EXE_lifeboat-desktop").into());
        caps.insert("tauri:options".into(), serde_json::json!({ "application": application }));
        let connector = hyper_util::client::legacy::connect::HttpConnector::new();
        let client = ClientBuilder::new(connector)
            .capabilities(caps)
            .connect(&format!("http://127.0.0.1:{port}"))
            .await
            .expect("a WebDriver session with the app");
        let shots = manifest_dir().join("test-output/e2e").join(name);
        std::fs::create_dir_all(&shots).unwrap();
        Desktop { client, _driver: driver, _xvfb: xvfb, shots }
    }

    async fn find(&self, css: &str) -> fantoccini::elements::Element {
        match self.client.wait().at_most(Duration::from_secs(20)).for_element(Locator::Css(css)).await {
            Ok(element) => element,
            Err(e) => {
                // What the page showed instead, to tell a slow page from a wrong one.
                self.screenshot("failed-find").await;
                let page = self.client.source().await.unwrap_or_default();
                let text: String = page.chars().take(3000).collect();
                panic!("{css} did not appear: {e}; the page's source begins {text:?}");
            }
        }
    }

    async fn fill(&self, css: &str, text: &str) {
        let input = self.find(css).await;
        input.clear().await.unwrap();
        input.send_keys(text).await.unwrap();
    }

    /// The `value` of an input.
    async fn value(&self, css: &str) -> String {
        self.find(css).await.prop("value").await.ok().flatten().unwrap_or_default()
    }

    /// Makes sure the input `css` holds `text`, typing it again if a keystroke was lost while the
    /// page re-rendered (WebKitWebDriver under load).
    async fn ensure_value(&self, css: &str, text: &str) {
        for _ in 0..3 {
            if self.value(css).await == text {
                return;
            }
            self.fill(css, text).await;
        }
        assert_eq!(self.value(css).await, text, "{css} holds what was typed");
    }

    /// Clicks the element; if the page re-rendered it between finding and clicking (search results
    /// arriving, say), finds it again.
    async fn click(&self, css: &str) {
        let start = Instant::now();
        loop {
            match self.find(css).await.click().await {
                Ok(()) => return,
                Err(e) if e.is_stale_element_reference() && start.elapsed() < Duration::from_secs(20) => {
                    tokio::time::sleep(Duration::from_millis(100)).await
                }
                Err(e) => panic!("clicking {css}: {e}"),
            }
        }
    }

    async fn text(&self, css: &str) -> String {
        let start = Instant::now();
        loop {
            match self.find(css).await.text().await {
                Ok(text) => return text,
                Err(e) if e.is_stale_element_reference() && start.elapsed() < Duration::from_secs(20) => {
                    tokio::time::sleep(Duration::from_millis(100)).await
                }
                Err(e) => panic!("reading {css}: {e}"),
            }
        }
    }

    /// Waits until the element's text contains `want`.
    async fn wait_text(&self, css: &str, want: &str) -> String {
        let start = Instant::now();
        loop {
            let text = self.text(css).await;
            if text.contains(want) {
                return text;
            }
            if start.elapsed() > Duration::from_secs(20) {
                // What the page showed, to tell a slow page from a wrong one.
                self.screenshot("failed-wait").await;
                let page = self.text("body").await;
                panic!("{css} never said {want:?}; it says {text:?}; the page says {page:?}");
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    async fn screenshot(&self, name: &str) {
        // Let the web view paint the latest DOM before the capture.
        let next_frames = "const done = arguments[arguments.length - 1]; requestAnimationFrame(() => requestAnimationFrame(() => done()));";
        self.client.execute_async(next_frames, vec![]).await.expect("two animation frames");
        let png = self.client.screenshot().await.expect("a screenshot");
        std::fs::write(self.shots.join(format!("{name}.png")), png).unwrap();
    }

    /// Chooses `value` in a `<select>`.
    async fn choose(&self, select: &str, value: &str) {
        self.click(&format!("{select} option[value='{value}']")).await;
    }

    async fn type_keys(&self, css: &str, text: &str) {
        self.find(css).await.send_keys(text).await.unwrap();
    }

    /// The text of every element matching `css`, each read on its own.
    async fn texts(&self, css: &str) -> Vec<String> {
        let script = format!(
            "return Array.from(document.querySelectorAll({})).map((e) => e.textContent.trim());",
            serde_json::to_string(css).unwrap()
        );
        serde_json::from_value(self.client.execute(&script, vec![]).await.unwrap()).unwrap()
    }

    /// Waits until nothing on the page matches `css`.
    async fn wait_gone(&self, css: &str) {
        let start = Instant::now();
        let script = format!("return document.querySelector({}) === null;", serde_json::to_string(css).unwrap());
        while self.client.execute(&script, vec![]).await.unwrap() != serde_json::Value::Bool(true) {
            assert!(start.elapsed() < Duration::from_secs(20), "{css} is still on the page");
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    /// Scrolls the page until `css` is in view (for a screenshot of it).
    async fn scroll_to(&self, css: &str) {
        let script = format!("document.querySelector({}).scrollIntoView();", serde_json::to_string(css).unwrap());
        self.client.execute(&script, vec![]).await.unwrap();
    }

    async fn close(self) {
        let _ = self.client.close().await;
    }
}

/// The app's database, opened by the test once the app has closed, to read back what was saved.
fn open_store(dir: &Path) -> lifeboat_core::Store {
    lifeboat_core::Store::open(lifeboat_core::StoreConfig::in_dir(dir), std::sync::Arc::new(lifeboat_core::SystemClock))
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn first_run_wizard_then_login_shows_the_status_banner() {
    let _one_at_a_time = ONE_AT_A_TIME.lock().await;
    tokio::time::timeout(Duration::from_secs(300), async {
        let data = tempfile::TempDir::new().unwrap();
        let app = Desktop::launch(data.path(), "first-run").await;

        // Step 1: the practice. A wrong postcode is refused beside the field, then corrected.
        app.fill("#field-practice-name", "Kingfisher Vets").await;
        app.fill("#field-premises-address-line1", "4 Ferry Road").await;
        app.fill("#field-premises-town", "Norwich").await;
        app.fill("#field-premises-postcode", "NR1").await;
        app.fill("#field-premises-phone", "01632 960111").await;
        app.screenshot("1-practice").await;
        app.click("[data-testid=setup-practice] button[type=submit]").await;
        app.fill("#field-display-name", "Morwenna Pengelly").await;
        app.fill("#field-username", "m.pengelly").await;
        app.fill("#field-password", "harbour lights 7").await;
        app.fill("#field-confirm", "harbour lights 7").await;
        // This PC has no credential store (as the tests run it): set-up asks for its passphrase.
        app.fill("#field-passphrase", "Kingfisher tide lantern").await;
        app.fill("#field-passphrase-again", "Kingfisher tide lantern").await;
        app.screenshot("1b-admin-and-passphrase").await;
        app.click("[data-testid=setup-admin] button[type=submit]").await;
        let note = app.text("#field-premises-postcode-note").await;
        assert!(note.contains("not a UK postcode"), "the postcode error is shown beside it: {note}");
        app.screenshot("2-postcode-refused").await;
        app.fill("#field-premises-postcode", "nr1 1aa").await;
        app.click("[data-testid=setup-practice] button[type=submit]").await;
        app.click("[data-testid=setup-admin] button[type=submit]").await;

        // Step 3: the recovery key, shown once; going on needs the box ticked.
        let recovery = app.text("[data-testid=recovery-key]").await;
        assert!(is_recovery_key(&recovery), "eight groups of four: {recovery:?}");
        let done = app.find("[data-testid=recovery-key-done]").await;
        assert_eq!(done.attr("disabled").await.unwrap().as_deref(), Some("true"), "not before the key is kept");
        app.screenshot("2b-recovery-key").await;
        app.click("[data-testid=recovery-key-kept]").await;
        app.click("[data-testid=recovery-key-done]").await;

        // Login.
        app.wait_text("[data-testid=practice-name]", "Kingfisher Vets").await;
        app.fill("#field-login-username", "m.pengelly").await;
        app.fill("#field-login-password", "not the password").await;
        app.click("[data-testid=login-form] button[type=submit]").await;
        app.wait_text("[role=alert]", "password is not right").await;
        app.fill("#field-login-password", "harbour lights 7").await;
        app.screenshot("3-login").await;
        app.click("[data-testid=login-form] button[type=submit]").await;

        // Home, with the banner: practice, premises, admin, the starter formulary, price list and lab tests, and
        // the two sign-in attempts (the wrong password, then the right one), and the passphrase chosen,
        // the key changed at once and its recovery key confirmed (each journaled, no key in it) are
        // the changes waiting.
        let created = 2
            + 3
            + 3
            + lifeboat_core::clinical::formulary::starter_list().len()
            + lifeboat_core::clinical::charge::starter_fee_count()
            + lifeboat_core::clinical::lab::starter_lab_test_count();
        app.wait_text("[data-testid=current-user]", "Morwenna Pengelly").await;
        app.wait_text("[data-testid=banner-mode]", "Working alone").await;
        app.wait_text("[data-testid=banner-pending]", &format!("{created} changes waiting to sync")).await;
        app.wait_text("[data-testid=banner-last-sync]", "Last sync: never").await;
        app.find("[data-testid=daybook-grid]").await;
        app.click("[data-testid=nav-practice]").await;
        app.wait_text("[data-testid=staff-list]", "m.pengelly").await;
        app.screenshot("4-home").await;

        // Adding a vet is one more change; the banner follows.
        app.click(".staff .heading button").await;
        app.fill("#field-display-name", "Tobias Ashworth").await;
        app.fill("#field-username", "t.ashworth").await;
        app.find("#new-staff-role option[value=vet]").await.click().await.unwrap();
        app.fill("#field-qualifications", "BVetMed MRCVS").await;
        app.fill("#field-rcvs-number", "7123456").await;
        app.fill("#field-password", "first day 2026").await;
        app.click("[data-testid=add-staff-form] button[type=submit]").await;
        app.wait_text("[data-testid=staff-list]", "Tobias Ashworth").await;
        app.wait_text("[data-testid=banner-pending]", &format!("{} changes waiting to sync", created + 1)).await;
        app.screenshot("5-staff-added").await;

        // The admin sets the new vet's week; a badly written week is refused and says how to write it.
        let hours = "[data-testid=working-hours] input";
        app.fill(hours, "mon-fri 8:30").await;
        app.click("[data-testid=working-hours] button").await;
        app.wait_text("[data-testid=working-hours]", "write it like").await;
        app.fill(hours, "Mon-Fri 08:30-18:00, sat 09:00-12:30").await;
        app.click("[data-testid=working-hours] button").await;
        app.wait_text("[data-testid=working-hours]", "Saved").await;
        app.wait_text("[data-testid=banner-pending]", &format!("{} changes waiting to sync", created + 2)).await;
        app.screenshot("6-working-hours").await;

        // The admin steps away and locks the screen: it says whose it is and shows nothing of the
        // practice, and the back end refuses the practice's data until the password opens it.
        assert_eq!(app.value("[data-testid=idle-minutes]").await, "5", "five minutes unless a manager chose otherwise");
        app.click("[data-testid=lock-button]").await;
        app.wait_text("[data-testid=locked-by]", "Morwenna Pengelly").await;
        let shown = app.text("body").await;
        for private in ["Tobias Ashworth", "Day book", "changes waiting", "4 Ferry Road"] {
            assert!(!shown.contains(private), "the locked screen shows {private:?}: {shown}");
        }
        let refusal = app
            .client
            .execute_async(
                "const done = arguments[arguments.length - 1];
                 window.__TAURI_INTERNALS__.invoke('list_staff').then(() => done('answered'), (e) => done(e.code));",
                vec![],
            )
            .await
            .unwrap();
        assert_eq!(refusal, serde_json::json!("locked"));
        app.fill("#field-unlock-password", "not my password").await;
        app.click("[data-testid=unlock-form] button[type=submit]").await;
        app.wait_text("[role=alert]", "password is not right").await;
        app.screenshot("7-locked").await;
        app.fill("#field-unlock-password", "harbour lights 7").await;
        app.click("[data-testid=unlock-form] button[type=submit]").await;
        app.wait_text("[data-testid=current-user]", "Morwenna Pengelly").await;
        app.find("[data-testid=daybook-grid]").await;

        // She changes her password: a mistyped repeat is caught, then it is changed.
        app.click("[data-testid=nav-practice]").await;
        app.fill("#field-current-password", "harbour lights 7").await;
        app.fill("#field-new-password", "ferry crossing 9").await;
        app.fill("#field-repeat-password", "ferry crossing 8").await;
        app.click("[data-testid=change-password] button[type=submit]").await;
        app.wait_text("[data-testid=change-password] [role=alert]", "is not the same as the new password").await;
        app.fill("#field-repeat-password", "ferry crossing 9").await;
        app.click("[data-testid=change-password] button[type=submit]").await;
        app.wait_text("[data-testid=change-password]", "Your password is changed").await;
        app.screenshot("8-password-changed").await;
        // The Database key card says where the key is: locked with this PC's passphrase.
        app.scroll_to("[data-testid=key-card]").await;
        app.wait_text("[data-testid=key-where]", "locked with this PC's passphrase").await;
        app.screenshot("8b-database-key").await;

        // A PIN for the shift: the next lock opens with it; a wrong one says how many tries are left.
        app.fill("#field-new-pin", "2468").await;
        app.fill("#field-pin-password", "ferry crossing 9").await;
        app.click("[data-testid=unlock-pin] button[type=submit]").await;
        app.wait_text("[data-testid=unlock-pin]", "Your PIN is set").await;
        app.click("[data-testid=lock-button]").await;
        app.wait_text("[data-testid=locked-by]", "Morwenna Pengelly").await;
        app.fill("#field-unlock-pin", "1357").await;
        app.click("[data-testid=unlock-form] button[type=submit]").await;
        app.wait_text("[data-testid=unlock-form] [role=alert]", "Is not right (2 tries left)").await;
        app.screenshot("9-pin").await;
        app.fill("#field-unlock-pin", "2468").await;
        app.click("[data-testid=unlock-form] button[type=submit]").await;
        app.wait_text("[data-testid=current-user]", "Morwenna Pengelly").await;

        // The new vet logs in with the password he was given: he chooses his own before anything else.
        app.click("[data-testid=logout]").await;
        app.fill("#field-login-username", "t.ashworth").await;
        app.fill("#field-login-password", "first day 2026").await;
        app.click("[data-testid=login-form] button[type=submit]").await;
        app.wait_text("[data-testid=choose-password]", "Welcome to Kingfisher Vets, Tobias Ashworth").await;
        app.fill("#field-current-password", "first day 2026").await;
        app.fill("#field-new-password", "otter holt 12").await;
        app.fill("#field-repeat-password", "otter holt 12").await;
        app.ensure_value("#field-repeat-password", "otter holt 12").await;
        app.screenshot("10-choosing-a-password").await;
        app.click("[data-testid=change-password] button[type=submit]").await;
        app.wait_text("[data-testid=current-user]", "Tobias Ashworth").await;
        app.find("[data-testid=daybook-grid]").await;
        app.close().await;
        wait_until_closed(data.path()).await;

        // Started again, Lifeboat shows nothing of the practice until this PC's passphrase is typed.
        let app = Desktop::launch(data.path(), "first-run").await;
        app.find("[data-testid=passphrase-form]").await;
        let shown = app.text("body").await;
        assert!(!shown.contains("Kingfisher Vets"), "the locked records show nothing: {shown}");
        app.fill("#field-passphrase", "kingfisher tide lantern").await;
        app.click("[data-testid=passphrase-open]").await;
        app.wait_text("#field-passphrase-note", "It is not this PC's passphrase").await;
        app.screenshot("11-passphrase-wrong").await;
        app.fill("#field-passphrase", "Kingfisher tide lantern").await;
        app.click("[data-testid=passphrase-open]").await;
        app.wait_text("[data-testid=practice-name]", "Kingfisher Vets").await;
        app.fill("#field-login-username", "t.ashworth").await;
        app.fill("#field-login-password", "otter holt 12").await;
        app.click("[data-testid=login-form] button[type=submit]").await;
        app.wait_text("[data-testid=current-user]", "Tobias Ashworth").await;
        app.screenshot("12-opened-with-the-passphrase").await;
        // A second Lifeboat on the same records (started again from the menu by mistake) says the
        // records are open in the first, and opens nothing (after waiting out a restart's overlap).
        let second = Desktop::launch(data.path(), "first-run-second").await;
        second.wait_text("[data-testid=already-open]", "Lifeboat is already open on this PC").await;
        assert!(!second.text("body").await.contains("Kingfisher Vets"));
        second.screenshot("13-second-window").await;
        second.close().await;
        app.wait_text("[data-testid=current-user]", "Tobias Ashworth").await;
        app.close().await;
        wait_until_closed(data.path()).await;

        // What was typed is what was saved: read back from the store, whole values. The key file
        // holds no key, and the records open only with the passphrase typed.
        let key_file = std::fs::read_to_string(data.path().join(lifeboat_core::StoreConfig::KEY_FILE)).unwrap();
        assert!(!key_file.contains("\"plain\""), "the key left the file: {key_file}");
        let config = lifeboat_core::StoreConfig::in_dir(data.path());
        let clock = std::sync::Arc::new(lifeboat_core::SystemClock);
        let without = lifeboat_core::Store::open(config.clone(), clock.clone()).err().unwrap();
        assert_eq!(without.code(), lifeboat_core::ErrorCode::PassphraseNeeded);
        let typed = lifeboat_core::Passphrase::typed("Kingfisher tide lantern").unwrap();
        let store = lifeboat_core::Store::open(config.with_passphrase(typed), clock).unwrap();
        let practice = store.practice().unwrap().unwrap();
        assert_eq!(practice.name, "Kingfisher Vets");
        let p = &practice.premises[0];
        assert_eq!(
            (p.address_line1.as_str(), p.town.as_str(), p.postcode.as_str(), p.phone.as_str()),
            ("4 Ferry Road", "Norwich", "NR1 1AA", "01632 960111")
        );
        assert!(store.login("m.pengelly", "harbour lights 7").is_err(), "the old password no longer works");
        assert!(store.login("t.ashworth", "first day 2026").is_err(), "the password he was given no longer works");
        let tobias = store.login("t.ashworth", "otter holt 12").unwrap();
        assert_eq!((tobias.display_name.as_str(), tobias.must_change_password), ("Tobias Ashworth", false));
        let admin = store.login("m.pengelly", "ferry crossing 9").unwrap();
        let vet = store.list_staff(&admin).unwrap().into_iter().find(|s| s.username == "t.ashworth").unwrap();
        assert_eq!(
            (vet.display_name.as_str(), vet.qualifications.as_str(), vet.rcvs_number.as_deref()),
            ("Tobias Ashworth", "BVetMed MRCVS", Some("7123456"))
        );
        // The recovery key shown is the database's: a copy without this PC's key opens with it.
        drop(store);
        let copy = tempfile::TempDir::new().unwrap();
        copy_without_kept_key(data.path(), copy.path());
        let store = open_with_recovery_key(copy.path(), &recovery).unwrap();
        assert_eq!(store.practice().unwrap().unwrap().name, "Kingfisher Vets");
    })
    .await
    .expect("the end-to-end test finished within 5 minutes");
}

fn is_recovery_key(text: &str) -> bool {
    let groups: Vec<&str> = text.trim().split('-').collect();
    groups.len() == 8
        && groups.iter().all(|g| g.len() == 4 && g.bytes().all(|b| b.is_ascii_uppercase() || b.is_ascii_digit()))
}

/// The database and key file copied as another PC would have them: without the key kept on this PC.
fn copy_without_kept_key(from: &Path, to: &Path) {
    use lifeboat_core::StoreConfig;
    // The database closed (its WAL copied into it when the last connection closed); a WAL still
    // there is copied too, as a copy of the whole folder would have it.
    std::fs::copy(from.join(StoreConfig::DATABASE_FILE), to.join(StoreConfig::DATABASE_FILE)).unwrap();
    let wal = format!("{}-wal", StoreConfig::DATABASE_FILE);
    if from.join(&wal).exists() {
        std::fs::copy(from.join(&wal), to.join(&wal)).unwrap();
    }
    let mut value: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(from.join(StoreConfig::KEY_FILE)).unwrap()).unwrap();
    for key in value["keys"].as_array_mut().unwrap() {
        key.as_object_mut().unwrap().remove("plain");
        key.as_object_mut().unwrap().remove("os");
    }
    std::fs::write(to.join(StoreConfig::KEY_FILE), value.to_string()).unwrap();
}

fn open_with_recovery_key(dir: &Path, recovery: &str) -> lifeboat_core::Result<lifeboat_core::Store> {
    let config =
        lifeboat_core::StoreConfig::in_dir(dir).with_recovery_key(lifeboat_core::RecoveryKey::parse(recovery)?);
    lifeboat_core::Store::open(config, std::sync::Arc::new(lifeboat_core::SystemClock))
}

/// A practice's records brought to a new PC (its old one died): the app asks for the recovery key,
/// refuses a wrong one beside the field, opens with the right one and keeps the key from then on.
/// The admin then makes a new recovery key, shown once, and only it opens a copy.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn records_from_another_pc_open_with_the_recovery_key_typed_at_start() {
    let _one_at_a_time = ONE_AT_A_TIME.lock().await;
    tokio::time::timeout(Duration::from_secs(240), async {
        let old_pc = tempfile::TempDir::new().unwrap();
        let recovery = {
            let store = open_store(old_pc.path());
            let admin =
                store.create_practice(&lifeboat_core::example::practice_setup("admin", "admin password")).unwrap();
            store.make_recovery_key(&admin).unwrap()
        };
        let data = tempfile::TempDir::new().unwrap();
        copy_without_kept_key(old_pc.path(), data.path());

        let app = Desktop::launch(data.path(), "recovery").await;
        app.wait_text("main.unavailable", "is not on this PC").await;
        app.fill("#field-recovery-key", "7777-7777-7777-7777-7777-7777-7777-7777").await;
        app.click("[data-testid=recovery-open]").await;
        app.wait_text("#field-recovery-key-note", "It does not open this database").await;
        app.screenshot("1-wrong-recovery-key").await;
        // Typed as people do: lower case, spaces for dashes.
        app.fill("#field-recovery-key", &recovery.to_lowercase().replace('-', " ")).await;
        app.click("[data-testid=recovery-open]").await;

        // Lifeboat keeps the key on this PC and restarts; the new process is nobody's child here.
        let key_file = data.path().join(lifeboat_core::StoreConfig::KEY_FILE);
        let start = Instant::now();
        while !std::fs::read_to_string(&key_file).unwrap().contains("\"plain\"") || apps_on(data.path()).is_empty() {
            assert!(start.elapsed() < Duration::from_secs(60), "the key was never kept on this PC");
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        tokio::time::sleep(Duration::from_secs(3)).await;
        for pid in apps_on(data.path()) {
            let _ = Command::new("kill").arg(pid.to_string()).status();
        }
        wait_until_closed(data.path()).await;
        drop(app);

        // Opened again: straight to the login screen, no key asked for.
        let app = Desktop::launch(data.path(), "recovery").await;
        app.fill("#field-login-username", "admin").await;
        app.fill("#field-login-password", "admin password").await;
        app.click("[data-testid=login-form] button[type=submit]").await;
        app.click("[data-testid=nav-practice]").await;
        app.wait_text("[data-testid=key-where]", "no credential store").await;
        app.wait_text("[data-testid=key-recovery]", "This PC's recovery key was made on").await;
        app.scroll_to("[data-testid=key-card]").await;
        app.screenshot("2-key-card").await;
        app.click("[data-testid=key-new-recovery]").await;
        app.click("[data-testid=key-confirm]").await;
        let second = app.text("[data-testid=recovery-key]").await;
        assert!(is_recovery_key(&second) && second != recovery, "{second:?}");
        app.screenshot("3-new-recovery-key").await;
        app.click("[data-testid=recovery-key-kept]").await;
        app.click("[data-testid=recovery-key-done]").await;
        app.wait_gone("[data-testid=recovery-key]").await;
        app.close().await;
        wait_until_closed(data.path()).await;

        // Read back: the new recovery key opens a copy, the old one no longer does.
        let copy = tempfile::TempDir::new().unwrap();
        copy_without_kept_key(data.path(), copy.path());
        assert_eq!(
            open_with_recovery_key(copy.path(), &recovery).err().unwrap().code(),
            lifeboat_core::ErrorCode::Invalid
        );
        let store = open_with_recovery_key(copy.path(), &second).unwrap();
        assert_eq!(
            store.practice().unwrap().unwrap().name,
            lifeboat_core::example::practice_setup("a", "b").practice_name
        );
        assert!(store.login("admin", "admin password").is_ok());
    })
    .await
    .expect("the end-to-end test finished within 4 minutes");
}

/// A practice as the test needs it, made through the core before the app starts: a vet who works
/// every day from 07:00 to 21:00 (so the test passes whatever day it runs), a receptionist, and a
/// client with a dog that bites.
const HOSTILE_NAME: &str = "<img src=x onerror=\"document.title='pwned'\">";
const HOSTILE_PET: &str = "<b>Bold</b>";
const HOSTILE_ALERT: &str = "<script>document.title='pwned'</script>";

fn reception_practice(dir: &Path) {
    use lifeboat_core::{example, NewClient, NewPatient, Role, Species, Store, StoreConfig, SystemClock, WorkingDay};
    let store = Store::open(StoreConfig::in_dir(dir), std::sync::Arc::new(SystemClock)).unwrap();
    let admin = store.create_practice(&example::practice_setup("admin", "admin password")).unwrap();
    let mut vet = example::staff("j.herriot", Role::Vet, "vet password");
    vet.display_name = "James Herriot".into();
    let vet = store.add_staff(&admin, &vet).unwrap();
    let days: Vec<_> =
        (1..=7).map(|weekday| WorkingDay { weekday, start_minute: 7 * 60, end_minute: 21 * 60 }).collect();
    store.set_working_hours(&admin, vet.id, &days).unwrap();
    let mut desk = example::staff("r.desk", Role::Reception, "front desk 1");
    desk.display_name = "Rita Desk".into();
    store.add_staff(&admin, &desk).unwrap();
    let client = NewClient {
        title: "Mrs".into(),
        first_name: "Agatha".into(),
        last_name: "Quillfeather".into(),
        postcode: "EX4 1AB".into(),
        phone: "07700 900461".into(),
        ..Default::default()
    };
    let client = store.register_client(&admin, &client).unwrap();
    let mut dog = NewPatient::new("Biscuit", Species::Dog);
    dog.alerts = vec!["Bites".into()];
    store.register_patient(&admin, client.id, &dog).unwrap();
    // Someone typed markup into a name and an alert: it must be shown as the text it is.
    let odd = store
        .register_client(
            &admin,
            &NewClient { last_name: HOSTILE_NAME.into(), phone: "07700 900303".into(), ..Default::default() },
        )
        .unwrap();
    let mut pet = NewPatient::new(HOSTILE_PET, Species::Cat);
    pet.alerts = vec![HOSTILE_ALERT.into()];
    store.register_patient(&admin, odd.id, &pet).unwrap();
    for (last, phone, pet) in [("Ashdown", "07700 900101", "Pickle"), ("Brackenbury", "07700 900202", "Nutmeg")] {
        let c = store
            .register_client(&admin, &NewClient { last_name: last.into(), phone: phone.into(), ..Default::default() })
            .unwrap();
        store.register_patient(&admin, c.id, &NewPatient::new(pet, Species::Cat)).unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_receptionist_books_checks_in_registers_and_prints_the_day_list() {
    let _one_at_a_time = ONE_AT_A_TIME.lock().await;
    tokio::time::timeout(Duration::from_secs(300), async {
        let data = tempfile::TempDir::new().unwrap();
        let exports = tempfile::TempDir::new().unwrap();
        reception_practice(data.path());
        let app = Desktop::launch_with(data.path(), exports.path(), "reception").await;

        app.fill("#field-login-username", "r.desk").await;
        app.fill("#field-login-password", "front desk 1").await;
        app.click("[data-testid=login-form] button[type=submit]").await;
        app.find("[data-testid=daybook-grid]").await;

        // Markup typed into a name, an animal's name and an alert is shown as text, never run or drawn.
        app.type_keys("#search", "900 303").await;
        let hit = app.wait_text("[data-testid=search-hit]", HOSTILE_NAME).await;
        assert!(hit.contains(HOSTILE_PET), "{hit}");
        assert!(app
            .client
            .find_all(Locator::Css("[data-testid=search-hit] img, [data-testid=search-hit] b"))
            .await
            .unwrap()
            .is_empty());
        app.click("[data-testid=search-hit] [data-testid=search-pet]").await;
        app.wait_text("[data-testid=booking-client]", HOSTILE_NAME).await;
        app.wait_text("[role=dialog]", HOSTILE_ALERT).await;
        assert!(app
            .client
            .find_all(Locator::Css("[role=dialog] img, [role=dialog] b, [role=dialog] script"))
            .await
            .unwrap()
            .is_empty());
        assert_eq!(app.client.title().await.unwrap(), "Lifeboat", "no markup ran");
        app.screenshot("0-markup-as-text").await;
        app.click("[role=dialog] button.secondary").await;
        app.find("#search").await.clear().await.unwrap();

        // Find the client by part of her phone number, and book her dog from the result.
        app.type_keys("#search", "900 461").await;
        app.wait_text("[data-testid=search-hit]", "Quillfeather").await;
        app.screenshot("1-search").await;
        app.click("[data-testid=search-hit] [data-testid=search-pet]").await;
        app.wait_text("[data-testid=booking-client]", "Quillfeather").await;
        app.choose("#booking-time", "600").await;
        app.fill("#booking-reason", "Limping on left fore").await;
        app.screenshot("2-booking-dialog").await;
        app.click("[data-testid=book]").await;
        let grid = app.wait_text("[data-testid=daybook-grid]", "Biscuit").await;
        assert!(grid.contains("10:00"), "the booking shows at 10:00: {grid}");

        // The same vet at an overlapping time is refused, and the refusal names the clash.
        app.click("[data-testid=new-booking]").await;
        app.type_keys("#booking-search", "quill").await;
        app.click("[role=dialog] [data-testid=search-pet]").await;
        app.choose("#booking-time", "605").await;
        app.click("[data-testid=book]").await;
        let refusal = app.wait_text("[role=dialog] [role=alert]", "already booked").await;
        for words in ["James Herriot", "10:00 to 10:15", "Biscuit"] {
            assert!(refusal.contains(words), "the refusal names {words}: {refusal}");
        }
        app.screenshot("3-overlap-refused").await;
        app.click("[role=dialog] button.secondary").await;

        // Check the dog in.
        app.click("[data-testid=appointment]").await;
        app.click("[data-testid=status-arrived]").await;
        app.wait_text("[data-testid=appointment-status]", "Arrived").await;

        // Register a new client with a cat, and book it.
        app.click("[data-testid=new-booking]").await;
        app.click("[role=dialog] .find button.secondary").await;
        app.fill("#field-client-first-name", "Hettie").await;
        app.fill("#field-client-last-name", "Pennyworth").await;
        app.fill("#field-client-phone", "07700 900777").await;
        app.fill("#field-client-postcode", "ta1 1aa").await;
        app.fill("#field-pet-name", "Marmalade").await;
        app.choose("#pet-species", "cat").await;
        app.screenshot("4-register-client").await;
        app.click("[data-testid=register-client] button[type=submit]").await;
        app.wait_text("[data-testid=booking-client]", "Pennyworth").await;
        app.choose("#booking-time", "660").await;
        app.click("[data-testid=book]").await;
        app.wait_text("[data-testid=daybook-grid]", "Marmalade").await;
        app.screenshot("5-day-book").await;

        // Print the day list: the PDF exists and names both patients.
        app.click("[data-testid=print-day-list]").await;
        let path = app.wait_text("[data-testid=printed-path]", ".pdf").await;
        assert!(path.starts_with(exports.path().to_str().unwrap()), "{path}");
        let text =
            Command::new("pdftotext").args([path.as_str(), "-"]).output().expect("pdftotext (poppler-utils) runs");
        let text = String::from_utf8_lossy(&text.stdout);
        for words in ["Day list - James Herriot", "Biscuit", "Bites", "Marmalade", "Pennyworth", "Arrived"] {
            assert!(text.contains(words), "the day list says {words}: {text}");
        }
        std::fs::copy(&path, app.shots.join("day-list.pdf")).unwrap();
        app.close().await;
    })
    .await
    .expect("the reception end-to-end test finished within 5 minutes");
}

/// A practice for the consult room: a vet (who works every day, all day, so the test passes whatever
/// the time), a client with an address, and her dog booked with the vet at 10:00 today.
fn consult_practice(dir: &Path) {
    use lifeboat_core::{
        example, AppointmentKind, NewAppointment, NewClient, NewPatient, Role, Species, Store, StoreConfig,
        SystemClock, WorkingDay,
    };
    let store = Store::open(StoreConfig::in_dir(dir), std::sync::Arc::new(SystemClock)).unwrap();
    let admin = store.create_practice(&example::practice_setup("admin", "admin password")).unwrap();
    let mut vet = example::staff("j.herriot", Role::Vet, "vet password 1");
    vet.display_name = "James Herriot".into();
    let vet = store.add_staff(&admin, &vet).unwrap();
    let days: Vec<_> = (1..=7).map(|weekday| WorkingDay { weekday, start_minute: 0, end_minute: 24 * 60 }).collect();
    store.set_working_hours(&admin, vet.id, &days).unwrap();
    let client = NewClient {
        title: "Mrs".into(),
        first_name: "Agatha".into(),
        last_name: "Quillfeather".into(),
        address_line1: "3 Orchard Row".into(),
        town: "Exeter".into(),
        postcode: "EX4 1AB".into(),
        phone: "07700 900461".into(),
        ..Default::default()
    };
    let mut dog = NewPatient::new("Biscuit", Species::Dog);
    dog.breed = "Border Terrier".into();
    let saved = store.register_client_with_patient(&admin, &client, Some(&dog)).unwrap();
    let today = lifeboat_core::time::local_date(chrono::Utc::now());
    store
        .book_appointment(
            &admin,
            &NewAppointment {
                clinician_id: vet.id,
                room: "Consult 1".into(),
                start: today.and_hms_opt(10, 0, 0).unwrap(),
                minutes: 15,
                kind: AppointmentKind::Consultation,
                reason: "Limping".into(),
                patient_id: saved.patient.unwrap().id,
                client_id: saved.client.id,
                notes: String::new(),
                confirm_outside_hours: true,
            },
        )
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_vet_consults_prescribes_signs_prints_and_keeps_the_cd_register() {
    let _one_at_a_time = ONE_AT_A_TIME.lock().await;
    tokio::time::timeout(Duration::from_secs(300), async {
        let data = tempfile::TempDir::new().unwrap();
        let exports = tempfile::TempDir::new().unwrap();
        consult_practice(data.path());
        let app = Desktop::launch_with(data.path(), exports.path(), "consult-room").await;
        app.fill("#field-login-username", "j.herriot").await;
        app.fill("#field-login-password", "vet password 1").await;
        app.click("[data-testid=login-form] button[type=submit]").await;

        // My consults: today's appointment, started from the list.
        app.click("[data-testid=nav-consults]").await;
        app.wait_text("[data-testid=my-consults]", "Biscuit").await;
        app.screenshot("1-my-consults").await;
        app.click("[data-testid=open-consult]").await;
        app.wait_text("[data-testid=consult-patient]", "Biscuit").await;

        // SOAP notes and a weight; the draft saves as it is typed.
        let notes = [
            ("subjective", "Limping on the left fore for two days."),
            ("objective", "Pain on flexion of the left carpus. No swelling."),
            ("assessment", "Soft tissue injury, left carpus."),
            ("plan", "Meloxicam for seven days; rest; recheck in a week."),
        ];
        for (section, text) in notes {
            app.type_keys(&format!("#soap-{section}"), text).await;
        }
        app.type_keys("#vital-weight_kg", "12.4").await;
        app.type_keys("#vital-temperature_c", "38.6").await;
        app.wait_text("[data-testid=save-state]", "Saved").await;

        // Prescribe a non-steroidal anti-inflammatory, live-checked, and dispense it.
        app.click("[data-testid=prescribe]").await;
        app.type_keys("#rx-product", "meloxicam").await;
        app.click("[data-testid=product-option]").await;
        app.type_keys("#rx-quantity", "10").await;
        app.wait_text("[data-testid=rx-status]", "to put right").await;
        app.screenshot("2-prescribing-half-done").await;
        app.type_keys("#rx-dose", "0.8 ml").await;
        app.type_keys("#rx-route", "By mouth").await;
        app.type_keys("#rx-frequency", "Once daily").await;
        app.type_keys("#rx-duration", "7 days").await;
        app.click("button.fill").await;
        app.type_keys("#rx-batch", "MX2291").await;
        app.type_keys("#rx-expiry", "30/06/2027").await;
        app.click("#rx-batch").await;
        for (css, text) in [
            ("#rx-quantity", "10"),
            ("#rx-dose", "0.8 ml"),
            ("#rx-route", "By mouth"),
            ("#rx-frequency", "Once daily"),
            ("#rx-duration", "7 days"),
            ("#rx-batch", "MX2291"),
            ("#rx-expiry", "30/06/2027"),
        ] {
            app.ensure_value(css, text).await;
        }
        if app.value("#rx-directions").await.is_empty() {
            app.click("button.fill").await;
        }
        app.click("#rx-batch").await;
        app.wait_text("[data-testid=rx-status]", "Ready to prescribe").await;
        app.screenshot("3-prescription-ready").await;
        app.click("[data-testid=rx-submit]").await;
        app.wait_text("[data-testid=prescription]", "Metacam 1.5 mg/ml oral suspension for dogs").await;

        // Sign with the password.
        app.click("[data-testid=sign]").await;
        app.type_keys("#sign-password", "vet password 1").await;
        app.click("[data-testid=sign-confirm]").await;
        app.wait_text("[data-testid=consult-state]", "Signed").await;
        app.screenshot("4-signed").await;

        // Print the label: the PDF names the patient, the product and the directions.
        app.click("[data-testid=print-label]").await;
        let path = app.wait_text("[data-testid=printed-path]", ".pdf").await;
        assert!(path.starts_with(exports.path().to_str().unwrap()), "{path}");
        let label = Command::new("pdftotext").args([path.as_str(), "-"]).output().expect("pdftotext runs");
        let label = String::from_utf8_lossy(&label.stdout).split_whitespace().collect::<Vec<_>>().join(" ");
        for words in ["Biscuit (Dog)", "Metacam 1.5 mg/ml oral suspension for dogs", "Give 0.8 ml by mouth once daily for 7 days", "Keep out of the sight and reach of children"] {
            assert!(label.contains(words), "the label says {words:?}: {label}");
        }
        std::fs::copy(&path, app.shots.join("label.pdf")).unwrap();

        // An addendum, shown with the original.
        app.type_keys("#addendum-reason", "Weight recheck").await;
        app.type_keys("#addendum-text", "Reweighed on the practice scales: 12.9 kg.").await;
        app.click("[data-testid=addendum-form] button[type=submit]").await;
        app.wait_text("[data-testid=addendum]", "Reweighed on the practice scales: 12.9 kg.").await;

        // The signed note cannot be edited: no field to type in, and the back end refuses a change
        // sent straight through the IPC.
        assert!(app.client.find(Locator::Css("#soap-subjective")).await.is_err(), "no editable notes once signed");
        let refusal = app
            .client
            .execute_async(
                "const done = arguments[arguments.length - 1];
                 const id = arguments[0];
                 window.__TAURI_INTERNALS__.invoke('save_consultation_draft', { id, draft: { subjective: 'altered', objective: '', assessment: '', plan: '', vitals: { weight_kg: null, temperature_c: null, heart_rate: null, respiratory_rate: null, body_condition: null } } })
                   .then(() => done('saved'), (e) => done(e.code + ': ' + e.message));",
                vec![serde_json::Value::String(consultation_id(&app).await)],
            )
            .await
            .unwrap();
        assert!(refusal.as_str().unwrap_or_default().starts_with("conflict:"), "{refusal}");
        app.screenshot("5-addendum").await;

        // The CD register: a ketamine receipt, then a supply, and the balance.
        app.click("[data-testid=nav-cd]").await;
        app.client
            .wait()
            .for_element(Locator::XPath("//tr[@data-testid='cd-drug'][contains(., 'Ketamidor')]//button"))
            .await
            .unwrap()
            .click()
            .await
            .unwrap();
        app.wait_text("[data-testid=ledger-balance]", "0 ml").await;
        app.type_keys("#cd-quantity", "10").await;
        app.type_keys("#cd-supplier", "Centaur Services, Castle Cary BA7 7EP").await;
        app.type_keys("#cd-reference", "INV-88231").await;
        app.click("[data-testid=cd-record]").await;
        app.wait_text("[data-testid=ledger-balance]", "10 ml").await;
        app.choose("[data-testid=cd-kind]", "supply").await;
        app.type_keys("#cd-quantity", "2").await;
        app.type_keys("#cd-animal", "Biscuit").await;
        app.click("[data-testid=search-pet]").await;
        app.type_keys("#cd-recipient", "Mrs Agatha Quillfeather, 3 Orchard Row, Exeter EX4 1AB").await;
        app.type_keys("#cd-collected", "Mrs A. Quillfeather").await;
        app.click("[data-testid=cd-record]").await;
        app.wait_text("[data-testid=ledger-balance]", "8 ml").await;
        app.screenshot("6-cd-register").await;
        app.close().await;

        // Read back from the store: exactly what was typed.
        let store = open_store(data.path());
        let vet = store.login("j.herriot", "vet password 1").unwrap();
        let history = store.patient_history(&vet, store.search(&vet, "Biscuit", 1).unwrap()[0].patients[0].id).unwrap();
        let lifeboat_core::views::history::HistoryEntry::Consultation { consultation, addenda, prescriptions, .. } = &history.entries[0] else {
            panic!("the newest entry is the consultation: {:?}", history.entries)
        };
        for (section, text) in notes {
            let saved = match section {
                "subjective" => &consultation.subjective,
                "objective" => &consultation.objective,
                "assessment" => &consultation.assessment,
                _ => &consultation.plan,
            };
            assert_eq!(saved, text, "{section}");
        }
        assert_eq!((consultation.vitals.weight_kg, consultation.vitals.temperature_c), (Some(12.4), Some(38.6)));
        assert!(consultation.signed_at.is_some());
        assert_eq!(addenda[0].text, "Reweighed on the practice scales: 12.9 kg.");
        let rx = &prescriptions[0];
        assert_eq!((rx.dose.as_str(), rx.route.as_str(), rx.frequency.as_str(), rx.duration.as_str()), ("0.8 ml", "By mouth", "Once daily", "7 days"));
        assert_eq!(rx.directions, "Give 0.8 ml by mouth once daily for 7 days");
        assert_eq!((rx.dispensings[0].batch.as_str(), rx.dispensings[0].expiry.to_string().as_str()), ("MX2291", "2027-06-30"));
        let register = store.cd_register(&vet, None).unwrap();
        let ketamine = register.drugs.iter().find(|d| d.product.name.starts_with("Ketamidor")).unwrap();
        assert_eq!(ketamine.balance.figures(), "8");
        let entries = store.cd_entries(&vet, register.premises.id, ketamine.product.id).unwrap();
        assert_eq!(entries[1].recipient, "Mrs Agatha Quillfeather, 3 Orchard Row, Exeter EX4 1AB");
        assert_eq!(entries[1].collected_by, "Mrs A. Quillfeather");
        assert!(store.verify_audit().unwrap().is_intact());
    })
    .await
    .expect("the consult-room end-to-end test finished within 5 minutes");
}

/// Lab work in the real window: the vet requests bloods in the consultation, naming the nurse who
/// took them; the nurse, signed in after the vet signs out, finds the request on the practice's
/// awaited list and enters the results with one value high and the lab's PDF; the request leaves the
/// lists, and the animal's history shows the high value flagged. Read back from the store.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_vet_requests_bloods_and_the_nurse_enters_the_results_flagged_high() {
    let _one_at_a_time = ONE_AT_A_TIME.lock().await;
    tokio::time::timeout(Duration::from_secs(300), async {
        use lifeboat_core::clinical::lab::{LabFlag, LabValue};
        let data = tempfile::TempDir::new().unwrap();
        let exports = tempfile::TempDir::new().unwrap();
        consult_practice(data.path());
        let (nurse_id, test_id) = {
            let store = open_store(data.path());
            let admin = store.login("admin", "admin password").unwrap();
            let mut nurse = lifeboat_core::example::staff("n.nightingale", lifeboat_core::Role::Nurse, "nurse password 1");
            nurse.display_name = "Florence Nightingale".into();
            let nurse = store.add_staff(&admin, &nurse).unwrap();
            let test = store.lab_tests(&admin, false).unwrap().into_iter().find(|t| t.name == "Biochemistry profile (in house)").unwrap();
            (nurse.id, test.id)
        };
        let pdf = exports.path().join("Biscuit biochemistry.pdf");
        std::fs::write(&pdf, b"%PDF-1.4\n% the lab's report\n").unwrap();

        let app = Desktop::launch_with(data.path(), exports.path(), "lab-work").await;
        app.fill("#field-login-username", "j.herriot").await;
        app.fill("#field-login-password", "vet password 1").await;
        app.click("[data-testid=login-form] button[type=submit]").await;
        app.click("[data-testid=nav-consults]").await;
        app.wait_text("[data-testid=my-consults]", "Biscuit").await;
        app.click("[data-testid=open-consult]").await;
        app.wait_text("[data-testid=consult-patient]", "Biscuit").await;

        // The request: the test's sample type and lab filled in, the nurse named as taking it.
        app.choose("[data-testid=lab-test]", &test_id.to_string()).await;
        assert_eq!(app.value("[data-testid=lab-sample]").await, "Serum or heparin plasma");
        assert_eq!(app.value("[data-testid=lab-lab]").await, "In house");
        app.choose("[data-testid=lab-taken-by]", &nurse_id.to_string()).await;
        app.type_keys("[data-testid=lab-note]", "Pre-anaesthetic screen").await;
        app.ensure_value("[data-testid=lab-note]", "Pre-anaesthetic screen").await;
        app.click("[data-testid=lab-request-submit]").await;
        app.wait_text("[data-testid=lab-panel] [data-testid=lab-status]", "Awaited").await;
        app.screenshot("1-requested-in-the-consultation").await;
        app.click("[data-testid=nav-lab]").await;
        app.wait_text("[data-testid=lab-awaited-count]", "1 request").await;
        app.screenshot("2-vets-awaited-list").await;
        app.click("[data-testid=logout]").await;

        // The nurse enters the results.
        app.fill("#field-login-username", "n.nightingale").await;
        app.fill("#field-login-password", "nurse password 1").await;
        app.click("[data-testid=login-form] button[type=submit]").await;
        app.click("[data-testid=nav-lab]").await;
        app.wait_text("[data-testid=lab-awaited-count]", "1 request").await;
        app.click("[data-testid=lab-enter]").await;
        let rows = [
            ["ALT", "250", "U/L", "10", "125"],
            ["Creatinine", "98", "µmol/L", "44", "159"],
        ];
        for (i, row) in rows.iter().enumerate() {
            for (field, text) in ["Test", "Result", "Unit", "Low", "High"].iter().zip(row) {
                let css = format!("[data-testid=lab-result-form] input[aria-label='{field} {}']", i + 1);
                app.type_keys(&css, text).await;
                app.ensure_value(&css, text).await;
            }
        }
        app.type_keys("#lab-comment", "Mild ALT rise; repeat in four weeks.").await;
        app.ensure_value("#lab-comment", "Mild ALT rise; repeat in four weeks.").await;
        app.type_keys("[data-testid=lab-file]", pdf.to_str().unwrap()).await;
        app.ensure_value("[data-testid=lab-file]", pdf.to_str().unwrap()).await;
        app.screenshot("3-entering-results").await;
        app.click("[data-testid=lab-result-submit]").await;
        app.wait_text("[data-testid=lab-none-awaited]", "No results awaited").await;

        app.click("[data-testid=lab-scope-mine]").await;
        app.wait_text("[data-testid=lab-none-awaited]", "for your requests").await;
        app.click("[data-testid=logout]").await;

        // The vet sees the result in the animal's history, the high value flagged.
        app.fill("#field-login-username", "j.herriot").await;
        app.fill("#field-login-password", "vet password 1").await;
        app.click("[data-testid=login-form] button[type=submit]").await;
        app.click("[data-testid=nav-consults]").await;
        app.wait_text("[data-testid=my-consults]", "Biscuit").await;
        app.click("[data-testid=open-consult]").await;
        app.click("[data-testid=open-history]").await;
        app.wait_text("[data-testid=lab-flag]", "H").await;
        let cells = app
            .client
            .execute(
                "return Array.from(document.querySelectorAll('[data-testid=lab-value]')).map((r) => Array.from(r.cells).map((c) => c.textContent.trim()));",
                vec![],
            )
            .await
            .unwrap();
        assert_eq!(
            cells,
            serde_json::json!([["ALT", "250", "U/L", "10 – 125", "H ↑"], ["Creatinine", "98", "µmol/L", "44 – 159", ""]]),
            "the history shows each value as entered, only the high one flagged"
        );
        app.wait_text("[data-testid=lab-status]", "Result in").await;
        app.screenshot("4-history-flagged").await;
        app.click("[data-testid=lab-save-file]").await;
        app.wait_text("[data-testid=saved-path]", ".pdf").await;
        app.close().await;

        // Read back from the store: exactly what was typed.
        let store = open_store(data.path());
        let vet = store.login("j.herriot", "vet password 1").unwrap();
        let patient = store.search(&vet, "Biscuit", 1).unwrap()[0].patients[0].id;
        let history = store.patient_history(&vet, patient).unwrap();
        let request = history
            .entries
            .iter()
            .find_map(|e| match e {
                lifeboat_core::views::history::HistoryEntry::Lab { request, .. } => Some(request.as_ref().clone()),
                _ => None,
            })
            .expect("the history holds the lab request");
        assert_eq!(
            (request.test_name.as_str(), request.sample_type.as_str(), request.lab.as_str(), request.note.as_str()),
            ("Biochemistry profile (in house)", "Serum or heparin plasma", "In house", "Pre-anaesthetic screen")
        );
        assert_eq!((request.sample_taken_by, request.requested_by_name.as_str()), (nurse_id, "James Herriot"));
        assert!(request.consultation_id.is_some());
        let result = &request.results[0];
        assert_eq!(result.entered_by_name, "Florence Nightingale");
        assert_eq!(
            result.values,
            vec![
                LabValue { name: "ALT".into(), value: "250".into(), unit: "U/L".into(), low: Some(10.0), high: Some(125.0), flag: Some(LabFlag::High) },
                LabValue { name: "Creatinine".into(), value: "98".into(), unit: "µmol/L".into(), low: Some(44.0), high: Some(159.0), flag: None },
            ]
        );
        assert_eq!(result.comment, "Mild ALT rise; repeat in four weeks.");
        assert_eq!(result.file_name.as_deref(), Some("Biscuit biochemistry.pdf"));
        let saved = std::fs::read_dir(exports.path())
            .unwrap()
            .filter_map(|e| e.ok())
            .find(|e| e.file_name().to_string_lossy().starts_with("lab-"))
            .expect("the saved copy of the lab's file");
        assert_eq!(std::fs::read(saved.path()).unwrap(), std::fs::read(&pdf).unwrap(), "the copy is the lab's file");
        assert!(store.lab_awaited(&vet, false).unwrap().requests.is_empty());
        assert!(store.verify_audit().unwrap().is_intact());
    })
    .await
    .expect("the lab end-to-end test finished within 5 minutes");
}

/// The continuity pack in the real window: the app makes the evening pack by itself once it is due
/// (and the banner says how old it is); the manager makes one now and saves a copy to print, and its
/// PDF names tomorrow's animal (within the three working days its sheets cover) with its alerts.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_manager_makes_the_continuity_pack_and_it_names_tomorrows_animals_with_their_alerts() {
    let _one_at_a_time = ONE_AT_A_TIME.lock().await;
    tokio::time::timeout(Duration::from_secs(300), async {
        use lifeboat_core::{AppointmentKind, NewAppointment, NewPatient, Role, Species};
        let data = tempfile::TempDir::new().unwrap();
        let exports = tempfile::TempDir::new().unwrap();
        consult_practice(data.path());
        {
            let store = open_store(data.path());
            let admin = store.login("admin", "admin password").unwrap();
            let mut manager = lifeboat_core::example::staff("m.manager", Role::Manager, "manager password 1");
            manager.display_name = "Margaret Manager".into();
            store.add_staff(&admin, &manager).unwrap();
            let vet = store.list_staff(&admin).unwrap().into_iter().find(|s| s.username == "j.herriot").unwrap();
            let owner = store.search(&admin, "Quillfeather", 1).unwrap()[0].client_id;
            let mut cat = NewPatient::new("Marmalade", Species::Cat);
            cat.alerts = vec!["Fractious - use a towel".into(), "Allergic to amoxicillin".into()];
            let cat = store.register_patient(&admin, owner, &cat).unwrap();
            let tomorrow = lifeboat_core::time::local_date(chrono::Utc::now()) + chrono::Duration::days(1);
            store
                .book_appointment(
                    &admin,
                    &NewAppointment {
                        clinician_id: vet.id,
                        room: "Consult 2".into(),
                        start: tomorrow.and_hms_opt(9, 30, 0).unwrap(),
                        minutes: 15,
                        kind: AppointmentKind::Consultation,
                        reason: "Cystitis recheck".into(),
                        patient_id: cat.id,
                        client_id: owner,
                        notes: String::new(),
                        confirm_outside_hours: true,
                    },
                )
                .unwrap();
        }
        let app = Desktop::launch_with(data.path(), exports.path(), "continuity-pack").await;
        app.fill("#field-login-username", "m.manager").await;
        app.fill("#field-login-password", "manager password 1").await;
        app.click("[data-testid=login-form] button[type=submit]").await;
        // No pack since last evening: the app made one by itself, and the banner says so.
        app.wait_text("[data-testid=banner-pack]", "Paper pack: made").await;
        app.click("[data-testid=nav-practice]").await;
        app.wait_text("[data-testid=pack-last]", "by the evening schedule").await;
        app.click("[data-testid=pack-make]").await;
        app.wait_text("[data-testid=pack-last]", "by Margaret Manager").await;
        app.click("[data-testid=pack-save]").await;
        let path = app.wait_text("[data-testid=pack-path]", ".pdf").await;
        app.screenshot("1-pack-made").await;
        // The numbers this PC gives: a manager gives it a block of client numbers.
        app.client.execute("document.querySelector('[data-testid=numbers]').scrollIntoView()", vec![]).await.unwrap();
        app.type_keys("[data-testid=numbers-form] input[aria-label='First number']", "1001").await;
        app.type_keys("[data-testid=numbers-form] input[aria-label='Last number']", "1999").await;
        app.click("[data-testid=numbers-form] button[type=submit]").await;
        app.wait_text("[data-testid=numbers-next]", "client C-1001").await;
        app.screenshot("2-numbers").await;
        // Where the printouts go, and for how long: a week, then they are deleted.
        app.wait_text("[data-testid=exports-folder]", exports.path().to_str().unwrap()).await;
        app.choose("[data-testid=exports-keep-days]", "7").await;
        app.wait_text("[data-testid=exports-card]", "deleted 7 days after they were written").await;
        app.screenshot("3-exports").await;
        app.close().await;

        assert!(path.starts_with(exports.path().to_str().unwrap()), "{path}");
        let words = Command::new("pdftotext").args(["-layout", path.as_str(), "-"]).output().expect("pdftotext runs");
        let words = String::from_utf8_lossy(&words.stdout).split_whitespace().collect::<Vec<_>>().join(" ");
        for expected in [
            "Marmalade (Cat)",
            "ALERTS: Fractious - use a towel; Allergic to amoxicillin",
            "Owner: Mrs Agatha Quillfeather - 07700 900461",
            "with James Herriot - Consultation: Cystitis recheck",
            "Day list - James Herriot",
            "Margaret Manager (manager) - no phone recorded",
        ] {
            assert!(words.contains(expected), "the pack says {expected:?}: {words}");
        }
        std::fs::copy(&path, app_shots("continuity-pack").join("continuity-pack.pdf")).unwrap();

        let store = open_store(data.path());
        let manager = store.login("m.manager", "manager password 1").unwrap();
        let status = store.continuity_status(&manager).unwrap();
        let last = status.last.expect("the pack is kept");
        assert_eq!(last.made_by, "Margaret Manager");
        let next_day = store.continuity_pack(&manager, None).unwrap().date;
        assert_eq!(last.for_date, next_day, "the next working day (today before the evening, tomorrow after)");
        let (_, pdf) = store.kept_continuity_pack(&manager, Some(last.id)).unwrap();
        assert_eq!(pdf, std::fs::read(&path).unwrap(), "the copy saved is the pack kept");
        assert_eq!(store.local_setting("exports_keep_days").unwrap().as_deref(), Some("7"));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o600, "the saved pack is for this computer's user alone");
        }
    })
    .await
    .expect("the continuity pack end-to-end test finished within 5 minutes");
}

/// Where an end-to-end test's screenshots go.
fn app_shots(name: &str) -> PathBuf {
    manifest_dir().join("test-output/e2e").join(name)
}

/// Payments at the desk in the real window: the receptionist finds the client, takes a cash deposit
/// and a card payment to run once the terminal works, and prints the receipt; the card payment waits
/// under Takings. The receipt's PDF shows the VAT; the payments are read back from the store.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reception_takes_a_deposit_and_a_card_payment_to_run_later_and_prints_a_receipt() {
    let _one_at_a_time = ONE_AT_A_TIME.lock().await;
    tokio::time::timeout(Duration::from_secs(300), async {
        use lifeboat_core::accounts::{CardState, PaymentKind, PaymentMethod};
        use lifeboat_core::Role;
        let data = tempfile::TempDir::new().unwrap();
        let exports = tempfile::TempDir::new().unwrap();
        consult_practice(data.path());
        let client_id = {
            let store = open_store(data.path());
            let admin = store.login("admin", "admin password").unwrap();
            let mut desk = lifeboat_core::example::staff("r.desk", Role::Reception, "front desk 1");
            desk.display_name = "Rita Desk".into();
            store.add_staff(&admin, &desk).unwrap();
            let vet = store.login("j.herriot", "vet password 1").unwrap();
            let hit = store.search(&vet, "Quillfeather", 1).unwrap().remove(0);
            let fee = store.fees(&vet).unwrap().into_iter().find(|f| f.name == "Consultation").unwrap();
            let charge = lifeboat_core::clinical::charge::NewCharge {
                patient_id: hit.patients[0].id,
                consultation_id: None,
                fee_id: fee.id,
                quantity: String::new(),
                note: String::new(),
            };
            store.add_charge(&vet, &charge).unwrap();
            // This PC gives receipt numbers from 1.
            store.add_number_block(&admin, lifeboat_core::organisation::numbers::NumberKind::Receipt, 1, 999).unwrap();
            hit.client_id
        };
        let app = Desktop::launch_with(data.path(), exports.path(), "payments").await;
        app.fill("#field-login-username", "r.desk").await;
        app.fill("#field-login-password", "front desk 1").await;
        app.click("[data-testid=login-form] button[type=submit]").await;
        app.find("[data-testid=daybook-grid]").await;
        app.type_keys("#search", "Quillfeather").await;
        app.wait_text("[data-testid=search-hit]", "Quillfeather").await;
        app.click("[data-testid=search-hit] button.client").await;
        app.wait_text("[data-testid=account-balance]", "Owes £54.00").await;

        // A cash deposit of £20.
        app.click("[data-testid=take-payment]").await;
        app.click("[data-testid=payment-deposit]").await;
        app.fill("#pay-amount", "20").await;
        app.ensure_value("#pay-amount", "20").await;
        app.choose("[data-testid=payment-method]", "cash").await;
        app.click("[data-testid=payment-submit]").await;
        let deposit_receipt = app.wait_text("[data-testid=receipt-path]", ".pdf").await;
        app.wait_text("[data-testid=account-balance]", "Owes £34.00").await;

        // The rest on a card, to run once the terminal works: still owed until it is run.
        app.click("[data-testid=take-payment]").await;
        app.ensure_value("#pay-amount", "34.00").await;
        app.choose("[data-testid=payment-method]", "card_to_run").await;
        app.screenshot("1-taking-a-card-payment-to-run").await;
        app.click("[data-testid=payment-submit]").await;
        app.wait_text("[data-testid=payments]", "to run").await;
        let mut path = app.wait_text("[data-testid=receipt-path]", ".pdf").await;
        for _ in 0..50 {
            if path != deposit_receipt {
                break;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
            path = app.text("[data-testid=receipt-path]").await;
        }
        assert_ne!(path, deposit_receipt, "the second payment has a receipt of its own");
        app.screenshot("2-account").await;
        app.click("[data-testid=nav-takings]").await;
        app.wait_text("[data-testid=card-to-run]", "Mrs Agatha Quillfeather").await;
        app.wait_text("[data-testid=takings-sums]", "£20.00").await;
        // The cash-up: £18 in the till against £20 taken; the difference must be explained, and stays.
        app.fill("#counted", "18").await;
        app.ensure_value("#counted", "18").await;
        app.click("[data-testid=cash-up-form] button[type=submit]").await;
        app.wait_text("[role=alert]", "Say why the till is £2.00 short").await;
        app.type_keys("#cash-note", "£2 given twice in change").await;
        app.ensure_value("#cash-note", "£2 given twice in change").await;
        app.click("[data-testid=cash-up-form] button[type=submit]").await;
        app.wait_text("[data-testid=cash-up]", "£2.00 short").await;
        app.screenshot("3-takings").await;
        app.close().await;

        let words = Command::new("pdftotext").args(["-layout", path.as_str(), "-"]).output().expect("pdftotext runs");
        let words = String::from_utf8_lossy(&words.stdout).split_whitespace().collect::<Vec<_>>().join(" ");
        for expected in [
            "Receipt",
            "No. R-2",
            "Mrs Agatha Quillfeather",
            "Consultation £45.00 £9.00 (20%) £54.00",
            "VAT at 20% on £45.00 £9.00",
            "To be taken by card: £34.00",
            "Card, to run on the terminal later: not yet taken from the card",
            "Balance owed on the account: £34.00",
        ] {
            assert!(words.contains(expected), "the receipt says {expected:?}: {words}");
        }
        std::fs::copy(&path, app_shots("payments").join("receipt.pdf")).unwrap();

        let store = open_store(data.path());
        let desk = store.login("r.desk", "front desk 1").unwrap();
        let account = store.client_account(&desk, client_id).unwrap();
        let payments: Vec<(PaymentKind, PaymentMethod, i64, CardState, String)> = account
            .payments
            .iter()
            .map(|p| (p.kind, p.method, p.amount_pence, p.card, p.taken_by_name.clone()))
            .collect();
        assert_eq!(
            payments,
            vec![
                (PaymentKind::Payment, PaymentMethod::CardToRun, 3400, CardState::ToRun, "Rita Desk".to_string()),
                (PaymentKind::Deposit, PaymentMethod::Cash, 2000, CardState::NotToRun, "Rita Desk".to_string()),
            ]
        );
        assert_eq!((account.balance_pence, account.to_run_pence), (3400, 3400));
        let takings = store.takings(&desk, lifeboat_core::time::local_date(chrono::Utc::now())).unwrap();
        let counts: Vec<(i64, i64, i64, &str)> = takings
            .cash_ups
            .iter()
            .map(|u| (u.expected_pence, u.counted_pence, u.difference_pence, u.note.as_str()))
            .collect();
        assert_eq!(counts, vec![(2000, 1800, -200, "£2 given twice in change")]);
        assert!(store.verify_audit().unwrap().is_intact());
    })
    .await
    .expect("the payments end-to-end test finished within 5 minutes");
}

/// The id of the consultation on screen.
async fn consultation_id(app: &Desktop) -> String {
    app.find("[data-consultation-id]")
        .await
        .attr("data-consultation-id")
        .await
        .unwrap()
        .expect("the page names its consultation")
}

/// Two PCs of one practice, each its own desktop window and data folder, and the practice relay that
/// the first hosts: the second joins with the code the first shows; a booking made on one appears
/// on the other; the network goes (hosting stopped), and the same vet is booked at the same time on
/// both; when it comes back, the double booking is one conflict on both PCs, resolved on one.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_pcs_share_bookings_through_the_relay_and_settle_a_double_booking() {
    let _one_at_a_time = ONE_AT_A_TIME.lock().await;
    tokio::time::timeout(Duration::from_secs(420), async {
        let (a_dir, b_dir) = (tempfile::TempDir::new().unwrap(), tempfile::TempDir::new().unwrap());
        reception_practice(a_dir.path());
        {
            use lifeboat_core::{example, Role, Store, StoreConfig, SystemClock};
            let store = Store::open(StoreConfig::in_dir(a_dir.path()), std::sync::Arc::new(SystemClock)).unwrap();
            let admin = store.login("admin", "admin password").unwrap();
            let mut manager = example::staff("m.manager", Role::Manager, "manager password");
            manager.display_name = "Mina Manager".into();
            store.add_staff(&admin, &manager).unwrap();
        }
        let a = Desktop::launch(a_dir.path(), "sync-pc-a").await;
        a.fill("#field-login-username", "m.manager").await;
        a.fill("#field-login-password", "manager password").await;
        a.click("[data-testid=login-form] button[type=submit]").await;
        a.find("[data-testid=daybook-grid]").await;

        // The manager hosts the relay on this PC and asks for a code for the other PC.
        let port = free_port();
        a.click("[data-testid=nav-sync]").await;
        a.fill("#field-relay-port", &port.to_string()).await;
        a.click("[data-testid=host-relay]").await;
        a.wait_text("[data-testid=relay-address]", &format!(":{port}")).await;
        a.click("[data-testid=new-pairing-code]").await;
        let address = a.text("[data-testid=pairing-address]").await;
        let code = a.text("[data-testid=pairing-code]").await;
        assert_eq!(code.len(), 29, "six groups of four: {code}");
        a.wait_text("[data-testid=servers]", "In step").await;
        a.screenshot("1-hosting-and-code").await;

        // The second PC, new, joins the practice with that code, and its people log in there.
        let b = Desktop::launch(b_dir.path(), "sync-pc-b").await;
        b.click("[data-testid=join-instead]").await;
        b.fill("#field-join-address", &address).await;
        b.fill("#field-join-code", "not-the-code").await;
        b.click("[data-testid=join-practice] button[type=submit]").await;
        b.wait_text("[role=alert]", "24 letters and digits").await;
        b.fill("#field-join-code", &code.to_lowercase()).await;
        b.screenshot("1-join").await;
        b.click("[data-testid=join-practice] button[type=submit]").await;
        b.wait_text("[data-testid=practice-name]", "Riverside Vets").await;
        b.fill("#field-login-username", "r.desk").await;
        b.fill("#field-login-password", "front desk 1").await;
        b.click("[data-testid=login-form] button[type=submit]").await;
        b.find("[data-testid=daybook-grid]").await;
        b.wait_text("[data-testid=banner-mode]", "Connected").await;

        // A booking on the first PC appears on the second, by itself.
        a.click("[data-testid=nav-daybook]").await;
        a.type_keys("#search", "900 461").await;
        a.wait_text("[data-testid=search-hit]", "Biscuit").await;
        a.click("[data-testid=search-hit] [data-testid=search-pet]").await;
        a.choose("#booking-time", "600").await;
        a.fill("#booking-reason", "Limping on left fore").await;
        a.click("[data-testid=book]").await;
        a.wait_text("[data-testid=daybook-grid]", "Biscuit").await;
        let grid = b.wait_text("[data-testid=daybook-grid]", "Biscuit").await;
        assert!(grid.contains("10:00"), "{grid}");
        b.screenshot("2-booking-arrived").await;

        // The network goes: hosting stops. Each PC carries on alone and says so.
        a.click("[data-testid=nav-sync]").await;
        a.click("[data-testid=stop-hosting]").await;
        b.wait_text("[data-testid=banner-error]", "cannot be reached").await;
        b.wait_text("[data-testid=banner-mode]", "Working alone for now").await;
        b.screenshot("3-alone").await;

        // Apart, both book James Herriot at 11:00.
        a.click("[data-testid=nav-daybook]").await;
        for (app, search, pet) in [(&a, "900 101", "Pickle"), (&b, "900 202", "Nutmeg")] {
            app.fill("#search", search).await;
            app.wait_text("[data-testid=search-hit]", pet).await;
            app.click("[data-testid=search-hit] [data-testid=search-pet]").await;
            app.choose("#booking-time", "660").await;
            app.fill("#booking-reason", "Booster").await;
            app.click("[data-testid=book]").await;
            app.wait_text("[data-testid=daybook-grid]", pet).await;
        }

        // The network returns: both PCs get both bookings and the same conflict.
        a.click("[data-testid=nav-sync]").await;
        a.fill("#field-relay-port", &port.to_string()).await;
        a.click("[data-testid=host-relay]").await;
        a.wait_text("[data-testid=banner-conflicts]", "1 conflict to resolve").await;
        b.wait_text("[data-testid=banner-conflicts]", "1 conflict to resolve").await;
        b.wait_text("[data-testid=daybook-grid]", "Pickle").await;
        b.click("[data-testid=banner-conflicts]").await;
        let conflict = b.wait_text("[data-testid=conflict]", "Double booking").await;
        assert!(
            conflict.contains("Pickle") && conflict.contains("Nutmeg") && conflict.contains("James Herriot"),
            "{conflict}"
        );
        b.screenshot("4-conflict").await;

        // The receptionist rings Nutmeg's owner and cancels that booking, on the second PC.
        let cancel_nutmeg = if b.text("[data-testid=cancel-0]").await.contains("Nutmeg") {
            "[data-testid=cancel-0]"
        } else {
            "[data-testid=cancel-1]"
        };
        b.fill("[data-testid=conflict] input.note", "Rang Mr Brackenbury; moved to Thursday").await;
        b.click(cancel_nutmeg).await;
        b.wait_text("main", "Nothing to resolve").await;

        // The first PC hears of it: no conflict left; the resolution is there to read.
        a.click("[data-testid=nav-sync]").await;
        let start = Instant::now();
        while a.text("[data-testid=status-banner]").await.contains("to resolve") {
            assert!(start.elapsed() < Duration::from_secs(30), "the resolution did not reach the first PC");
            tokio::time::sleep(Duration::from_millis(300)).await;
        }
        a.click("[data-testid=nav-sync]").await;
        a.click("[data-testid=open-conflicts]").await;
        a.click("[data-testid=show-resolved]").await;
        a.wait_text("[data-testid=conflict-resolution]", "One booking cancelled").await;
        a.wait_text("[data-testid=conflict-resolution]", "Rang Mr Brackenbury").await;
        a.screenshot("5-resolved-elsewhere").await;
        a.close().await;
        b.close().await;

        // What each PC holds, read back from their databases: the same, whole.
        let (sa, sb) = (open_store(a_dir.path()), open_store(b_dir.path()));
        assert_eq!(sa.dump().unwrap(), sb.dump().unwrap(), "both PCs hold the same data");
        let admin = sa.login("admin", "admin password").unwrap();
        let conflicts = sa.conflicts(&admin, false).unwrap();
        assert_eq!(conflicts.len(), 1);
        assert_eq!(
            conflicts[0].resolution,
            Some(
                serde_json::json!({ "choice": "cancel_appointment", "note": "Rang Mr Brackenbury; moved to Thursday" })
            )
        );
        let day = sa.day_book(&admin, lifeboat_core::time::local_date(chrono::Utc::now())).unwrap();
        let by_pet: std::collections::BTreeMap<String, String> =
            day.appointments.iter().map(|x| (x.patient_name.clone(), x.status.as_str().to_string())).collect();
        assert_eq!(by_pet.get("Pickle").map(String::as_str), Some("booked"));
        assert_eq!(by_pet.get("Nutmeg").map(String::as_str), Some("cancelled"));
        assert_eq!(by_pet.get("Biscuit").map(String::as_str), Some("booked"));
    })
    .await
    .expect("the two-PC test finished within 7 minutes");
}

/// The package's folder, as Cargo names it when it runs this (the compile-time one as a fallback): a
/// build shared between two checkouts (CI's clone and a working copy) must read the files of the
/// checkout it runs in.
fn manifest_dir() -> std::path::PathBuf {
    std::env::var_os("CARGO_MANIFEST_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| env!("CARGO_MANIFEST_DIR").into())
}

/// The practice manager reads in the PMS's client export (Windows-1252, with bad rows) in the real
/// window: looks at how it will be read, imports the good rows, reads which rows were rejected and
/// why; then the data is read back from the database.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_manager_imports_a_pms_client_export_reads_the_rejected_rows_and_reconciles_the_backlog() {
    let _one_at_a_time = ONE_AT_A_TIME.lock().await;
    tokio::time::timeout(Duration::from_secs(300), async {
        let data = tempfile::TempDir::new().unwrap();
        // Three clients registered at the desk during the outage (today): the backlog. Ivy was
        // registered twice.
        let (ivy, tom, ivy_again) = {
            use lifeboat_core::{example, NewClient, Role, Store, StoreConfig, SystemClock};
            let store = Store::open(StoreConfig::in_dir(data.path()), std::sync::Arc::new(SystemClock)).unwrap();
            let admin = store.create_practice(&example::practice_setup("admin", "admin password")).unwrap();
            let mut manager = example::staff("m.manager", Role::Manager, "manager password");
            manager.display_name = "Mina Manager".into();
            store.add_staff(&admin, &manager).unwrap();
            store.add_staff(&admin, &example::staff("r.desk", Role::Reception, "desk password")).unwrap();
            let desk = store.login("r.desk", "desk password").unwrap();
            let client = |first: &str, last: &str, phone: &str| NewClient {
                first_name: first.into(),
                last_name: last.into(),
                phone: phone.into(),
                ..Default::default()
            };
            let ivy = store.register_client(&desk, &client("Ivy", "Ashdown", "07700 900501")).unwrap();
            let tom = store.register_client(&desk, &client("Tom", "Birch", "07700 900502")).unwrap();
            let ivy_again = store.register_client(&desk, &client("Ivy", "Ashdown", "07700 900501")).unwrap();
            (ivy.id, tom.id, ivy_again.id)
        };
        let fixture = manifest_dir().join("crates/core/tests/fixtures/import/clients-windows.csv");
        let app = Desktop::launch(data.path(), "import").await;
        app.fill("#field-login-username", "m.manager").await;
        app.fill("#field-login-password", "manager password").await;
        app.click("[data-testid=login-form] button[type=submit]").await;
        app.find("[data-testid=daybook-grid]").await;

        app.click("[data-testid=nav-import]").await;
        app.fill("#field-import-file", fixture.to_str().unwrap()).await;
        app.click("[data-testid=import-preview]").await;
        let sample = app.wait_text("[data-testid=import-sample]", "Quillfeather").await;
        assert!(sample.contains("Mrs Agatha Quillfeather") && sample.contains("Zoë Lefèvre"), "{sample}");
        assert!(sample.contains("Will be rejected — Post Code"), "{sample}");
        app.screenshot("1-preview").await;

        app.click("[data-testid=import-run]").await;
        app.wait_text("[data-testid=import-report]", "Imported: clients-windows.csv").await;
        assert_eq!(app.text("[data-testid=import-added]").await, "4");
        assert_eq!(app.text("[data-testid=import-rejected-count]").await, "3");
        let mut cells = Vec::new();
        for cell in app.client.find_all(Locator::Css("[data-testid=import-rejects] td")).await.unwrap() {
            cells.push(cell.text().await.unwrap());
        }
        assert_eq!(
            cells,
            [
                "8",
                "Post Code",
                "\"NOT A POSTCODE\" is not a UK postcode (for example SW1A 1AA)",
                "9",
                "Surname",
                "is required",
                "11",
                "Email Consent",
                "\"Maybe\" is not yes or no"
            ]
        );
        let rejects_path = app.text("[data-testid=import-rejects-path]").await;
        app.screenshot("2-report").await;

        // The outage is recorded as having begun this morning: copies of the PMS are not backlog,
        // the three clients registered since are.
        let today = lifeboat_core::time::local_date(chrono::Utc::now()).format("%d/%m/%Y").to_string();
        app.type_keys("#outage-day", &format!("{today}\n")).await;
        app.fill("#outage-time", "00:00").await;
        app.click("[data-testid=set-outage]").await;
        let shown = lifeboat_core::time::local_date(chrono::Utc::now()).format("%-d %b %Y, 00:00").to_string();
        app.wait_text("[data-testid=outage-began]", &shown).await;
        assert_eq!(app.wait_text("[data-testid=backlog-totals]", "clients").await, "3 clients");
        app.client.execute("document.querySelector('[data-testid=backlog]').scrollIntoView()", vec![]).await.unwrap();
        app.screenshot("3-backlog").await;

        // The clients written out again, for the PMS.
        app.click("[data-testid=export-run]").await;
        let written = app.wait_text("[data-testid=export] [role=status]", "Wrote 7 rows to").await;
        let (exported_path, marked) = written.trim_start_matches("Wrote 7 rows to ").split_once(".csv. ").unwrap();
        let exported_path = format!("{exported_path}.csv");
        assert_eq!(marked, "3 records of the backlog marked exported (see the ledger).");
        app.screenshot("4-exported").await;

        // The ledger: the three clients went out in the export; none is in the PMS yet.
        app.click("[data-testid=tab-ledger]").await;
        assert_eq!(app.wait_text("[data-testid=ledger-in-pms]", "0 of 3").await, "0 of 3");
        assert_eq!(app.text("[data-testid=ledger-count-exported]").await, "3");
        assert_eq!(app.text("[data-testid=ledger-count-entered]").await, "0");
        app.screenshot("5-ledger").await;
        // Ivy was typed into the PMS, which gave her number 88001: her row is marked entered.
        app.fill(&format!("[data-testid=ledger-row][data-id='{ivy}'] [data-testid=ledger-number]"), "88001").await;
        app.click("[data-testid=ledger-mark-entered]").await;
        app.wait_text("[data-testid=ledger-in-pms]", "1 of 3").await;
        assert_eq!(app.text("[data-testid=ledger-count-exported]").await, "2");
        assert_eq!(app.text("[data-testid=ledger-count-entered]").await, "1");
        let mut missing = Vec::new();
        for row in app.client.find_all(Locator::Css("[data-testid=ledger-row]")).await.unwrap() {
            missing.push(row.attr("data-id").await.unwrap().unwrap());
        }
        missing.sort();
        let mut expected = vec![tom.to_string(), ivy_again.to_string()];
        expected.sort();
        assert_eq!(missing, expected, "Tom and the second Ivy are still missing");
        app.screenshot("6-marked").await;

        // Duplicates: Ivy's two records, found by phone and name; the second merged into the first.
        app.click("[data-testid=tab-duplicates]").await;
        let pair = app.wait_text("[data-testid=duplicate-pair]", "same phone number 07700 900501").await;
        assert!(pair.contains("same name Ivy Ashdown"), "{pair}");
        app.screenshot("7-duplicates").await;
        app.click("[data-testid=duplicate-pair] [data-testid=merge-keep-first]").await;
        app.click("[data-testid=duplicate-pair] [data-testid=merge-confirm]").await;
        app.wait_text("main [role=status]", "Ivy Ashdown was merged into Ivy Ashdown.").await;

        // Closing the outage waits for every record to be verified in the PMS.
        app.click("[data-testid=tab-closing]").await;
        let waiting = app.wait_text("[data-testid=closing-waiting]", "not verified yet").await;
        // (The merged record left the backlog: Ivy's kept record stands for both.)
        assert_eq!(
            waiting,
            "2 of 2 records are not verified yet (0 captured, 1 exported, 1 entered). Finish the reconciliation ledger first."
        );
        app.screenshot("8-closing").await;

        // The imported client is found at the desk.
        app.click("[data-testid=nav-daybook]").await;
        app.type_keys("#search", "Lefèvre").await;
        app.wait_text("[data-testid=search-hit]", "Lefèvre").await;
        app.screenshot("9-found").await;
        app.close().await;

        let exported = std::fs::read_to_string(&exported_path).unwrap();
        assert_eq!(exported.lines().count(), 8, "{exported}");
        assert!(exported.lines().any(|l| l.contains(",10002,pms,Mr,Zoë,Lefèvre,12 Elm St,")), "{exported}");
        let rejected = std::fs::read_to_string(&rejects_path).unwrap();
        assert_eq!(rejected.lines().count(), 4, "{rejected}");
        let store = open_store(data.path());
        let manager = store.login("m.manager", "manager password").unwrap();
        let id: String =
            store.read(|c| Ok(c.query_row("SELECT id FROM client WHERE pms_id = '10002'", [], |r| r.get(0))?)).unwrap();
        let zoe = store.client(&manager, id.parse().unwrap()).unwrap();
        // The ledger as the store holds it: Ivy entered under the PMS's number, which she now carries.
        let ledger = store.ledger(&manager, &lifeboat_core::ledger::LedgerFilter::default()).unwrap();
        let stand = |id: uuid::Uuid| {
            let e = ledger.entries.iter().find(|e| e.id == id.to_string()).unwrap();
            (e.stage, e.pms_id.clone(), e.entered_by.clone())
        };
        use lifeboat_core::ledger::Stage;
        assert_eq!(stand(ivy), (Stage::Entered, Some("88001".to_string()), Some("Mina Manager".to_string())));
        assert_eq!(stand(tom), (Stage::Exported, None, None));
        assert_eq!(store.client(&manager, ivy).unwrap().pms_id.as_deref(), Some("88001"));
        // The merge: the second record leads to the first.
        assert_eq!(store.client(&manager, ivy_again).unwrap().merged_into, Some(ivy));
        assert_eq!(store.current_client_id(&manager, ivy_again).unwrap(), ivy);
        assert_eq!((zoe.title.as_str(), zoe.first_name.as_str(), zoe.last_name.as_str()), ("Mr", "Zoë", "Lefèvre"));
        assert_eq!(
            (zoe.address_line1.as_str(), zoe.address_line2.as_str(), zoe.town.as_str(), zoe.postcode.as_str()),
            ("12 Elm St", "Flat 2, rear entrance", "Norwich", "NR2 3BB")
        );
        assert_eq!(zoe.phone, "07700 900462");
        assert_eq!(zoe.origin, lifeboat_core::reception::origin::Origin::Pms);
    })
    .await
    .expect("the import test finished within 4 minutes");
}

/// A drill in the real window: the manager plans and starts one; every screen, the login screen too,
/// says DRILL; reception takes a card payment there and prints a receipt marked DRILL; sync is
/// refused; everyone follows the tasks; the manager ends it and reads the report. Read back from the
/// store: the real records hold nothing of the drill, the report is kept, and the copy is deleted.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_manager_runs_a_drill_that_stays_out_of_the_real_records_sync_and_exports() {
    let _one_at_a_time = ONE_AT_A_TIME.lock().await;
    tokio::time::timeout(Duration::from_secs(300), async {
        use lifeboat_core::drill::{DrillTask, Outcome};
        use lifeboat_core::Role;
        let data = tempfile::TempDir::new().unwrap();
        let exports = tempfile::TempDir::new().unwrap();
        consult_practice(data.path());
        let (real_journal, client_id) = {
            let store = open_store(data.path());
            let admin = store.login("admin", "admin password").unwrap();
            let mut desk = lifeboat_core::example::staff("r.desk", Role::Reception, "front desk 1");
            desk.display_name = "Rita Desk".into();
            store.add_staff(&admin, &desk).unwrap();
            let hit = store.search(&admin, "Quillfeather", 1).unwrap().remove(0);
            (store.changes_missing_from(&[], 100_000).unwrap().len(), hit.client_id)
        };
        let app = Desktop::launch_with(data.path(), exports.path(), "drill").await;
        app.fill("#field-login-username", "admin").await;
        app.fill("#field-login-password", "admin password").await;
        app.click("[data-testid=login-form] button[type=submit]").await;
        app.click("[data-testid=nav-practice]").await;
        app.click("[data-testid=open-drills]").await;
        // Every task, prescribing left out; two minutes to take a payment.
        app.click("[data-testid=drill-choose-prescribe]").await;
        app.ensure_value("[data-testid=drill-minutes-take_payment]", "2").await;
        app.screenshot("1-planning").await;
        app.click("[data-testid=drill-start]").await;
        app.wait_text("[data-testid=drill-banner]", "Practice on a copy of the records").await;
        app.wait_text("[data-testid=drill-running]", "started by Alex Admin").await;
        app.wait_text("[data-testid=drill-task-take_payment]", "Not yet").await;
        app.screenshot("2-started").await;
        // An export for the PMS is refused in the drill, in words, and writes no file.
        app.click("[data-testid=nav-import]").await;
        app.click("[data-testid=export-run]").await;
        app.wait_text(
            "[data-testid=export] [role=alert]",
            "This is a drill: exporting for the PMS is for real records only",
        )
        .await;
        app.screenshot("2b-export-refused").await;
        app.click("[data-testid=logout]").await;

        // The login screen says DRILL too; reception logs in to the drill as usual.
        app.wait_text("[data-testid=drill-banner]", "DRILL").await;
        app.screenshot("3-login-in-a-drill").await;
        app.fill("#field-login-username", "r.desk").await;
        app.fill("#field-login-password", "front desk 1").await;
        app.click("[data-testid=login-form] button[type=submit]").await;
        app.find("[data-testid=daybook-grid]").await;
        app.wait_text("[data-testid=drill-banner]", "DRILL").await;
        app.type_keys("#search", "Quillfeather").await;
        app.wait_text("[data-testid=search-hit]", "Quillfeather").await;
        app.click("[data-testid=search-hit] button.client").await;
        app.click("[data-testid=take-payment]").await;
        app.click("[data-testid=payment-deposit]").await;
        app.fill("#pay-amount", "30").await;
        app.ensure_value("#pay-amount", "30").await;
        app.choose("[data-testid=payment-method]", "card_to_run").await;
        app.click("[data-testid=payment-submit]").await;
        let receipt = app.wait_text("[data-testid=receipt-path]", ".pdf").await;
        app.screenshot("4-a-payment-in-the-drill").await;
        // Sync is for the real records.
        app.click("[data-testid=nav-sync]").await;
        app.wait_text("[role=alert]", "This PC is running a drill").await;
        app.click("[data-testid=drill-banner-open]").await;
        app.wait_text("[data-testid=drill-task-take_payment]", "Rita Desk").await;
        app.screenshot("5-following-the-tasks").await;
        let row = app.text("[data-testid=drill-task-take_payment]").await;
        assert!(row.contains("In time"), "{row}");
        app.click("[data-testid=logout]").await;

        // The manager ends it and reads the report; the app is back on the real records.
        app.fill("#field-login-username", "admin").await;
        app.fill("#field-login-password", "admin password").await;
        app.click("[data-testid=login-form] button[type=submit]").await;
        app.click("[data-testid=drill-banner-open]").await;
        app.wait_text("[data-testid=drill-task-take_payment]", "Rita Desk").await;
        app.click("[data-testid=drill-end]").await;
        app.click("[data-testid=drill-end-confirm]").await;
        app.wait_text("[data-testid=drill-report]", "ended at").await;
        app.wait_gone("[data-testid=drill-banner]").await;
        assert_eq!(
            app.texts("[data-testid=drill-report] [data-testid=drill-missed] li").await,
            vec![
                "Book an appointment: not done",
                "Record and sign a consultation: not done",
                "Hand over to the PMS: mark a record entered: not done",
                "A card payment of £30.00 to run later was not run",
            ]
        );
        app.screenshot("6-report").await;
        app.close().await;

        // The receipt is marked on its page and kept apart from real documents; no export was written.
        let written: Vec<String> = walk(exports.path());
        assert_eq!(written.len(), 1, "{written:?}");
        assert!(
            receipt.contains(&format!("{}Drill{}", std::path::MAIN_SEPARATOR, std::path::MAIN_SEPARATOR)),
            "{receipt}"
        );
        let words = Command::new("pdftotext").args([receipt.as_str(), "-"]).output().expect("pdftotext runs");
        let words = String::from_utf8_lossy(&words.stdout).split_whitespace().collect::<Vec<_>>().join(" ");
        assert_eq!(words.matches(lifeboat_print::DRILL_WORDS).count(), 2, "{words}");
        assert!(words.contains("Mrs Agatha Quillfeather"), "{words}");

        // Read back: the real records never saw the payment, sync has nothing of the drill to send,
        // the report is kept, and the copy is gone.
        let store = open_store(data.path());
        let admin = store.login("admin", "admin password").unwrap();
        assert_eq!(store.client_account(&admin, client_id).unwrap().payments.len(), 0);
        let changes = store.changes_missing_from(&[], 100_000).unwrap();
        assert!(changes.iter().all(|c| c.entity != "payment"), "no payment travels");
        // Only the manager's sign-ins to the real records were added.
        let added: Vec<&str> = changes[real_journal..].iter().map(|c| c.entity.as_str()).collect();
        assert!(added.iter().all(|e| *e == "sign_in"), "{added:?}");
        let drills = store.drills(&admin).unwrap();
        assert_eq!(drills.len(), 1);
        let report = drills[0].report.clone().expect("the report is kept");
        let tasks: Vec<(DrillTask, Outcome, Option<String>)> =
            report.tasks.iter().map(|t| (t.task, t.outcome, t.by.clone())).collect();
        assert_eq!(
            tasks,
            vec![
                (DrillTask::Book, Outcome::Missed, None),
                (DrillTask::Consult, Outcome::Missed, None),
                (DrillTask::TakePayment, Outcome::InTime, Some("Rita Desk".into())),
                (DrillTask::HandOver, Outcome::Missed, None),
            ]
        );
        assert_eq!(report.tasks[2].minutes, 2);
        assert!(!drills[0].folder.exists(), "the copy is deleted");
        assert!(store.verify_audit().unwrap().is_intact());
    })
    .await
    .expect("the drill end-to-end test finished within 5 minutes");
}

/// Every file under `dir`, as paths.
fn walk(dir: &Path) -> Vec<String> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.is_dir() {
            found.extend(walk(&path));
        } else {
            found.push(path.display().to_string());
        }
    }
    found
}

/// The processes started with `LIFEBOAT_DATA_DIR` set to `dir` (the app Lifeboat restarts into
/// after a restore, which is nobody's child here). Platform code: Linux's /proc, where e2e runs.
fn apps_on(dir: &Path) -> Vec<u32> {
    let want = format!("LIFEBOAT_DATA_DIR={}", dir.display()).into_bytes();
    let mut found = Vec::new();
    for entry in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
        let Some(pid) = entry.file_name().to_str().and_then(|n| n.parse::<u32>().ok()) else { continue };
        let Ok(environ) = std::fs::read(entry.path().join("environ")) else { continue };
        let is_app = std::fs::read_link(entry.path().join("exe"))
            .is_ok_and(|exe| exe.file_name().is_some_and(|n| n.to_string_lossy().starts_with("lifeboat-desktop")));
        if is_app && environ.split(|b| *b == 0).any(|var| var == want.as_slice()) {
            found.push(pid);
        }
    }
    found
}

/// Waits until no app runs on `dir` any more (it finishes its exit: the last backup, the checkpoint).
async fn wait_until_closed(dir: &Path) {
    let start = Instant::now();
    while !apps_on(dir).is_empty() {
        assert!(start.elapsed() < Duration::from_secs(30), "the app on {} did not stop", dir.display());
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_damaged_database_is_found_at_start_and_restored_from_a_backup_in_the_window() {
    let _one_at_a_time = ONE_AT_A_TIME.lock().await;
    tokio::time::timeout(Duration::from_secs(300), async {
        use lifeboat_core::store::backup;
        use lifeboat_core::StoreConfig;
        let data = tempfile::TempDir::new().unwrap();
        consult_practice(data.path());
        let node_before = open_store(data.path()).node_id();

        // The manager backs up from the window.
        let app = Desktop::launch(data.path(), "restore").await;
        app.fill("#field-login-username", "admin").await;
        app.fill("#field-login-password", "admin password").await;
        app.click("[data-testid=login-form] button[type=submit]").await;
        app.click("[data-testid=nav-practice]").await;
        app.wait_text("[data-testid=backups-card]", "No backup yet.").await;
        app.click("[data-testid=backups-now]").await;
        app.wait_text("[data-testid=backups-card]", "checked and kept").await;
        assert_eq!(app.texts("[data-testid=backup-row]").await.len(), 1);
        app.scroll_to("[data-testid=backups-card]").await;
        app.screenshot("1-backed-up").await;
        app.close().await;
        wait_until_closed(data.path()).await;
        let backups = backup::list(&StoreConfig::in_dir(data.path()).backups_dir()).unwrap();
        assert_eq!(backups.len(), 1, "{backups:?}");

        // The database is damaged while Lifeboat is closed: bytes of its first page flipped.
        let database = data.path().join(StoreConfig::DATABASE_FILE);
        let mut bytes = std::fs::read(&database).unwrap();
        for b in &mut bytes[100..116] {
            *b ^= 0x5a;
        }
        std::fs::write(&database, &bytes).unwrap();

        // At start it is found, named, and the restore is offered.
        let app = Desktop::launch(data.path(), "restore").await;
        app.wait_text("main.unavailable", "Lifeboat cannot open this PC's database").await;
        app.wait_text("main.unavailable", "is damaged").await;
        app.find("[data-testid=backup-row]").await;
        app.screenshot("2-damaged-at-start").await;
        app.click("[data-testid=backup-look]").await;
        app.wait_text("[data-testid=backup-practice]", "Riverside Vets").await;
        assert_eq!(
            app.text("[data-testid=backup-counts]").await.split_whitespace().collect::<Vec<_>>().join(" "),
            "1 client, 1 animal, 1 appointment, 0 consultations, 0 prescriptions, 0 payments, 2 staff accounts"
        );
        app.screenshot("3-look-inside").await;
        app.click("[data-testid=backup-restore]").await;
        app.wait_text("[data-testid=backup-summary]", "kept, not deleted").await;
        app.screenshot("4-confirm").await;
        app.click("[data-testid=backup-restore-confirm]").await;

        // Lifeboat restarts and restores before it opens anything; that new process is nobody's
        // child here, so the test waits for the restore on disk, then stops it.
        let pending = data.path().join(backup::PENDING_RESTORE_FILE);
        let replaced_root = data.path().join(backup::REPLACED_FOLDER);
        let start = Instant::now();
        while pending.exists() || !replaced_root.exists() || apps_on(data.path()).is_empty() {
            assert!(start.elapsed() < Duration::from_secs(60), "the restarted app never restored the backup");
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        // Until it shows its window, it is still finishing the restore.
        tokio::time::sleep(Duration::from_secs(5)).await;
        for pid in apps_on(data.path()) {
            let _ = Command::new("kill").arg(pid.to_string()).status();
        }
        wait_until_closed(data.path()).await;
        drop(app);

        // Opened again: the login screen, the records back, and the restore told to the manager.
        let app = Desktop::launch(data.path(), "restore").await;
        app.fill("#field-login-username", "admin").await;
        app.fill("#field-login-password", "admin password").await;
        app.click("[data-testid=login-form] button[type=submit]").await;
        app.type_keys("#search", "Quillfeather").await;
        app.wait_text("[data-testid=search-hit]", "Quillfeather").await;
        app.click("[data-testid=nav-practice]").await;
        app.wait_text("[data-testid=backups-card]", "This database was restored on").await;
        app.scroll_to("[data-testid=backups-card]").await;
        app.screenshot("5-restored").await;
        app.close().await;
        wait_until_closed(data.path()).await;

        // Read back: healthy, a new node id, the restore noted, and the damaged database kept as it was.
        let store = open_store(data.path());
        assert!(store.doctor().unwrap().is_healthy());
        assert_ne!(store.node_id(), node_before);
        let note = store.last_restore().unwrap().expect("the restore is noted");
        assert_eq!(note.backup, backups[0].name);
        let replaced = std::path::PathBuf::from(note.replaced.expect("the damaged database was kept"));
        assert!(replaced.starts_with(&replaced_root));
        assert!(
            std::fs::read(replaced.join(StoreConfig::DATABASE_FILE)).unwrap() == bytes,
            "the damaged file is kept as it was"
        );
        let admin = store.login("admin", "admin password").unwrap();
        let hits = store.search(&admin, "Quillfeather", 5).unwrap();
        assert_eq!(hits.len(), 1);
    })
    .await
    .expect("the restore end-to-end test finished within 5 minutes");
}

/// Who may call what, and what the back end does with hostile input, through the real IPC of the real
/// window: every command the window may call (the list in `src-tauri/build.rs`) is called with no one
/// signed in and as each role, and the answer compared with the permission table
/// (`lifeboat_core::permission::allows`) through the action each command needs (`ROLE_MATRIX` below).
/// Then, as an admin and as a vet (between them every action), every command is called again with
/// each of its arguments replaced by hostile values (very long text, control and bidirectional-override
/// characters, markup, impossible and far-off dates, extreme numbers): each answer must be an error
/// that names the problem, or a success, never a fault, a hang or a dead window.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_command_answers_each_role_as_the_permission_table_says_and_hostile_input_is_refused_in_words() {
    use lifeboat_core::permission::{allows, Role};
    let _one_at_a_time = ONE_AT_A_TIME.lock().await;
    tokio::time::timeout(Duration::from_secs(900), async {
        let data = tempfile::TempDir::new().unwrap();
        let (accounts, records) = every_role_practice(data.path());
        // A pipe, for the paths: opening one for reading would wait for a writer for ever.
        let pipe = data.path().join("a-pipe");
        assert!(Command::new("mkfifo").arg(&pipe).status().unwrap().success(), "mkfifo makes a pipe");
        let app = Desktop::launch(data.path(), "role-matrix").await;
        app.find("[data-testid=login-form]").await;

        // Every command in the manifest is in the matrix, and nothing else is.
        let build = std::fs::read_to_string(manifest_dir().join("src-tauri/build.rs")).unwrap();
        let listed = between(&build, "const COMMANDS: &[&str] = &[", "];");
        let mut manifest: Vec<&str> = listed.split(',').map(|c| c.trim().trim_matches('"')).filter(|c| !c.is_empty()).collect();
        manifest.sort();
        let table = role_matrix(&Records::nobody(&records.folder));
        let mut covered: Vec<&str> = table.iter().map(|e| e.0).chain(SESSION_COMMANDS.iter().copied()).collect();
        covered.sort();
        assert_eq!(covered, manifest, "the matrix names every command once (and the session commands apart)");

        let plan: Vec<serde_json::Value> =
            table.iter().map(|(command, args, _)| serde_json::json!({ "command": command, "args": args })).collect();
        // No one, each role, then the vet who must still choose a password.
        let who: Vec<serde_json::Value> = std::iter::once(serde_json::Value::Null)
            .chain(accounts.iter().map(|(role, user, password)| {
                serde_json::json!({ "role": role.as_str(), "username": user, "password": password })
            }))
            .chain(std::iter::once(serde_json::json!({ "role": "vet", "username": "vet.new", "password": "given password 1" })))
            .collect();
        let answers = app
            .client
            .execute_async(IPC_HARNESS_MATRIX, vec![serde_json::json!(plan), serde_json::json!(who)])
            .await
            .unwrap();

        let mut wrong = Vec::new();
        for (who, row) in answers.as_array().unwrap().iter().enumerate() {
            let must_choose = who == accounts.len() + 1;
            let role = match who {
                0 => None,
                _ if must_choose => Some(Role::Vet),
                _ => Some(accounts[who - 1].0),
            };
            let label = if must_choose { "a vet who must choose a password" } else { role.map(Role::as_str).unwrap_or("no one signed in") };
            for (i, (command, _, needs)) in table.iter().enumerate() {
                let code = row[i].as_str().unwrap();
                let expected = match (needs, role) {
                    (Needs::Nothing, _) => Expect::Allowed,
                    (Needs::NeverHere, _) => Expect::Code("forbidden"),
                    (_, None) => Expect::Code("not_logged_in"),
                    (Needs::SignedIn, Some(_)) => Expect::Allowed,
                    // Until they choose their own password, nothing but that.
                    (Needs::Action(action), Some(_)) if must_choose => {
                        if matches!(action, lifeboat_core::Action::ChangeOwnPassword | lifeboat_core::Action::SignIn) {
                            Expect::Allowed
                        } else {
                            Expect::Code("forbidden")
                        }
                    }
                    (Needs::Action(action), Some(role)) => {
                        if allows(role, *action) {
                            Expect::Allowed
                        } else {
                            Expect::Code("forbidden")
                        }
                    }
                };
                let fine = match expected {
                    Expect::Code(want) => code == want,
                    // Well-formed arguments: the IPC itself never refuses them.
                    Expect::Allowed => {
                        !matches!(code, "forbidden" | "not_logged_in") && !code.starts_with("ipc:") && is_an_answer(code)
                    }
                };
                if !fine {
                    wrong.push(format!("{command} as {label}: {code} (expected {expected:?})"));
                }
            }
        }
        assert!(wrong.is_empty(), "{} answers differ from the permission table:\n{}", wrong.len(), wrong.join("\n"));

        // Hostile arguments, as the admin and as the vet, with the ids of a real client, dog and vet
        // (so that what follows a record's lookup is reached), and paths that are a device, a folder
        // and a pipe besides the hostile text.
        let hostile_table = role_matrix(&records);
        let hostile_plan: Vec<serde_json::Value> = hostile_table
            .iter()
            .map(|(command, args, _)| serde_json::json!({ "command": command, "args": args }))
            .collect();
        let paths = serde_json::json!(["/dev/zero", "/", pipe.display().to_string()]);
        // Hundreds of calls in one script: a hang guard of minutes, not a measure of speed (on a
        // busy 2-core machine a script can take well over WebKitWebDriver's 30 s default).
        app.client
            .update_timeouts(fantoccini::wd::TimeoutConfiguration::new(Some(Duration::from_secs(300)), None, None))
            .await
            .unwrap();
        for (role, user, password) in accounts.iter().filter(|a| matches!(a.0, Role::Admin | Role::Vet)) {
            // A few commands to a script: one script for the whole run answered megabytes at once
            // after minutes, and WebKitWebDriver now and then could not parse it. A failure names
            // the part's commands.
            let parts: Vec<&[serde_json::Value]> = hostile_plan.chunks(4).collect();
            let mut answers = Vec::new();
            for (i, part) in parts.iter().enumerate() {
                let person = if i == 0 { serde_json::json!({ "username": user, "password": password }) } else { serde_json::Value::Null };
                let last = i + 1 == parts.len();
                let commands: Vec<&str> = part.iter().map(|s| s["command"].as_str().unwrap()).collect();
                let answered = app
                    .client
                    .execute_async(IPC_HARNESS_HOSTILE, vec![serde_json::json!(part), person, paths.clone(), serde_json::json!(last)])
                    .await
                    .unwrap_or_else(|e| panic!("the hostile run as {role}, commands {commands:?}: {e}"));
                match answered {
                    serde_json::Value::Array(some) => answers.extend(some),
                    other => panic!("the hostile run as {role}, commands {commands:?}: {other}"),
                }
            }
            // Signed in throughout: a lost session would make the rest of the run say nothing.
            let faults: Vec<String> = answers
                .iter()
                .filter(|a| {
                    let code = a["code"].as_str().unwrap();
                    !is_an_answer(code) || matches!(code, "not_logged_in" | "locked")
                })
                .map(|a| format!("{} {} = {}: {}", a["command"], a["path"], a["value"], a["code"]))
                .collect();
            // To read what hostile input was accepted (free text, mostly): LIFEBOAT_SHOW_ACCEPTED=1.
            if std::env::var_os("LIFEBOAT_SHOW_ACCEPTED").is_some() {
                for a in answers.iter().filter(|a| a["code"] == "ok") {
                    println!("accepted: {} {} = {}", a["command"], a["path"], a["value"]);
                }
            }
            let calls = answers.len();
            let mut codes = std::collections::BTreeMap::<String, usize>::new();
            for a in answers {
                let code = a["code"].as_str().unwrap();
                *codes.entry(if code.starts_with("ipc:") { "ipc (refused by the IPC)".into() } else { code.to_string() }).or_default() += 1;
            }
            println!("hostile input as {role}: {calls} calls, {} faults; answers: {codes:?}", faults.len());
            assert!(calls > 1000, "the hostile run made {calls} calls");
            assert!(faults.is_empty(), "hostile input as {role} met faults:\n{}", faults.join("\n"));
        }

        // Hostile values long enough to be a passphrase (markup, far-off dates, paths) were taken as
        // this PC's: the admin chooses one last, and the records open with it and only with it.
        let admin = accounts.iter().find(|a| a.0 == Role::Admin).unwrap();
        let chosen = app
            .client
            .execute_async(
                "const [person, passphrase] = arguments; const done = arguments[arguments.length - 1];
                 const ipc = window.__TAURI_INTERNALS__;
                 (async () => {
                   for (let tries = 0; ; tries++) {
                     try { await ipc.invoke('login', person); break; }
                     catch (e) { if (!(e && e.code === 'too_many_attempts') || tries > 30) throw e; await new Promise((r) => setTimeout(r, 2000)); }
                   }
                   const kept = await ipc.invoke('set_passphrase', { passphrase });
                   await ipc.invoke('logout');
                   return kept;
                 })().then(done, (e) => done('failed: ' + JSON.stringify(e)));",
                vec![
                    serde_json::json!({ "username": admin.1, "password": admin.2 }),
                    serde_json::json!("Heron lantern meadow 7"),
                ],
            )
            .await
            .unwrap();
        assert_eq!(chosen["passphrase"], serde_json::json!(true), "{chosen}");
        assert_eq!(chosen["key_in_file"], serde_json::json!(false), "{chosen}");

        // And the window still answers.
        let status = app
            .client
            .execute_async(
                "const done = arguments[arguments.length - 1];
                 window.__TAURI_INTERNALS__.invoke('app_status').then((s) => done(s.phase), (e) => done('error ' + JSON.stringify(e)));",
                vec![],
            )
            .await
            .unwrap();
        assert_eq!(status, serde_json::json!("login"), "the app answers after all of it");
        app.screenshot("1-after-every-command").await;
        app.close().await;
        let config = lifeboat_core::StoreConfig::in_dir(data.path());
        let clock = std::sync::Arc::new(lifeboat_core::SystemClock);
        let without = lifeboat_core::Store::open(config.clone(), clock.clone());
        assert_eq!(without.err().unwrap().code(), lifeboat_core::ErrorCode::PassphraseNeeded);
        let typed = lifeboat_core::Passphrase::typed("Heron lantern meadow 7").unwrap();
        let store = lifeboat_core::Store::open(config.with_passphrase(typed), clock).unwrap();
        assert!(store.doctor().unwrap().is_healthy(), "the database is healthy after all of it");
    })
    .await
    .expect("the role matrix finished within 15 minutes");
}

/// What a command needs of whoever calls it.
#[derive(Debug)]
enum Needs {
    /// Anyone at the PC, signed in or not.
    Nothing,
    /// Anyone signed in.
    SignedIn,
    /// Someone signed in whose role allows the action.
    Action(lifeboat_core::Action),
    /// Refused to everyone in this state (starting afresh, with a database that is there).
    NeverHere,
}

#[derive(Debug)]
enum Expect {
    Allowed,
    Code(&'static str),
}

/// Commands that change who is signed in or lock the screen, which the matrix uses rather than tests
/// (the first-run test and the sign-in tests cover them).
const SESSION_COMMANDS: [&str; 5] = ["login", "logout", "lock_screen", "unlock_screen", "unlock_with_pin"];

/// An answer, as opposed to a fault: a success, an error code a person can be shown, or the IPC's
/// refusal of a request it cannot read ("invalid args `date` for command `day_book`: ...", or text
/// that is not Unicode: "unexpected end of hex escape"). A panic is `internal`; a command that never
/// answers is a `timeout`.
fn is_an_answer(code: &str) -> bool {
    !matches!(code, "internal" | "timeout" | "storage" | "damaged_record")
}

/// The practice for the matrix: an account of each role (passwords known), one that must still
/// choose its own password, and a client with a dog; with the ids of the client, the dog and the vet.
fn every_role_practice(dir: &Path) -> (Vec<(lifeboat_core::Role, String, String)>, Records) {
    use lifeboat_core::{example, NewClient, NewPatient, Role, Species, Store, StoreConfig, SystemClock};
    let store = Store::open(StoreConfig::in_dir(dir), std::sync::Arc::new(SystemClock)).unwrap();
    let admin = store.create_practice(&example::practice_setup("admin", "admin password")).unwrap();
    let mut accounts = Vec::new();
    let mut vet = None;
    for role in [Role::Reception, Role::Nurse, Role::Vet, Role::Manager] {
        let (user, password) = (format!("{}.one", role.as_str()), format!("{} password 1", role.as_str()));
        let added = store.add_staff(&admin, &example::staff(&user, role, &password)).unwrap();
        if role == Role::Vet {
            vet = Some(added.id);
        }
        accounts.push((role, user, password));
    }
    accounts.push((Role::Admin, "admin".into(), "admin password".into()));
    let client = NewClient {
        first_name: "Agatha".into(),
        last_name: "Quillfeather".into(),
        phone: "07700 900461".into(),
        ..Default::default()
    };
    let saved =
        store.register_client_with_patient(&admin, &client, Some(&NewPatient::new("Biscuit", Species::Dog))).unwrap();
    // A vet given a password by a manager, who has not yet chosen their own: allowed nothing but that.
    let mut new_vet = example::staff("vet.new", Role::Vet, "given password 1");
    new_vet.must_change_password = true;
    store.add_staff(&admin, &new_vet).unwrap();
    let records = Records {
        client: saved.client.id.to_string(),
        patient: saved.patient.unwrap().id.to_string(),
        clinician: vet.unwrap().to_string(),
        folder: dir.join("elsewhere").display().to_string(),
    };
    (accounts, records)
}

/// Ids the matrix's arguments use, and a folder for paths (under the test's own, never created).
struct Records {
    client: String,
    patient: String,
    clinician: String,
    folder: String,
}

impl Records {
    /// Ids that match nothing: a refusal for permission is then told apart from a missing record.
    fn nobody(folder: &str) -> Records {
        let nobody = "018f0000-0000-7000-8000-00000000abcd".to_string();
        Records { client: nobody.clone(), patient: nobody.clone(), clinician: nobody, folder: folder.into() }
    }
}

fn between<'a>(text: &'a str, start: &str, end: &str) -> &'a str {
    let from = text.find(start).unwrap_or_else(|| panic!("{start:?} not found")) + start.len();
    &text[from..from + text[from..].find(end).unwrap()]
}

/// Every command but the session ones, with arguments of the right shape (ids that match nothing,
/// so that a refusal for permission is told apart from a missing record), and what it needs.
fn role_matrix(records: &Records) -> Vec<(&'static str, serde_json::Value, Needs)> {
    use lifeboat_core::clinical::consultation::{ConsultationDraft, NewAddendum};
    use lifeboat_core::clinical::lab::NewLabResult;
    use lifeboat_core::clinical::prescription::{NewDispensing, NewPrescription};
    use lifeboat_core::import::ImportOptions;
    use lifeboat_core::ledger::{EnteredMark, LedgerFilter};
    use lifeboat_core::Action::*;
    use lifeboat_core::{example, NewClient, NewPatient, Role, Species, StaffUpdate};
    use serde_json::json;
    use Needs::{Action, NeverHere, Nothing, SignedIn};
    let v = |x: &dyn erased::Ser| x.value();
    let nobody = "018f0000-0000-7000-8000-00000000abcd";
    let (client_id, patient_id, clinician) = (&records.client, &records.patient, &records.clinician);
    let path = |name: &str| format!("{}/{name}", records.folder);
    let today = "2026-12-01";
    let at = "2026-12-01T10:00:00";
    let client = json!(v(&NewClient {
        first_name: "Matrix".into(),
        last_name: "Caller".into(),
        phone: "07700 900999".into(),
        ..Default::default()
    }));
    let patient = v(&NewPatient::new("Pip", Species::Cat));
    let prescription = v(&NewPrescription::default());
    let appointment = json!({
        "clinician_id": clinician, "room": "Consult 1", "start": at, "minutes": 15, "kind": "consultation",
        "reason": "Check", "patient_id": patient_id, "client_id": client_id, "notes": "", "confirm_outside_hours": false
    });
    let channel = json!("$channel");
    vec![
        ("app_status", json!({}), Nothing),
        (
            "setup_practice",
            json!({ "setup": v(&example::practice_setup("second", "second password")), "passphrase": "Otter kettle harbour 42" }),
            Nothing,
        ),
        ("idle_lock_minutes", json!({}), SignedIn),
        ("set_idle_lock_minutes", json!({ "minutes": 5 }), Action(EditStaff)),
        (
            "change_own_password",
            json!({ "currentPassword": "not my password", "newPassword": "a new password 9" }),
            Action(ChangeOwnPassword),
        ),
        ("set_unlock_pin", json!({ "pin": "2468", "password": "not my password" }), SignedIn),
        ("sync_status", json!({}), SignedIn),
        ("practice", json!({}), SignedIn),
        ("list_staff", json!({}), Action(ViewStaff)),
        (
            "add_staff",
            json!({ "staff": v(&example::staff("matrix.added", Role::Reception, "a password 12")) }),
            Action(AddStaff),
        ),
        ("update_staff", json!({ "id": nobody, "update": v(&StaffUpdate::default()) }), Action(EditStaff)),
        ("reset_staff_password", json!({ "id": nobody, "password": "a password 12" }), Action(EditStaff)),
        ("reference_data", json!({}), Nothing),
        ("search", json!({ "query": "quill" }), Action(ViewRecords)),
        ("likely_duplicate_clients", json!({ "probe": client }), Action(ViewRecords)),
        ("register_client", json!({ "client": client, "patient": null }), Action(RegisterClient)),
        ("register_patient", json!({ "owner": client_id, "patient": patient }), Action(RegisterPatient)),
        ("client_record", json!({ "id": client_id }), Action(ViewRecords)),
        ("patient_record", json!({ "id": patient_id }), Action(ViewRecords)),
        ("update_client", json!({ "id": client_id, "details": client }), Action(EditClient)),
        ("day_book", json!({ "date": today }), Action(ViewRecords)),
        ("book_appointment", json!({ "appointment": appointment }), Action(BookAppointment)),
        (
            "move_appointment",
            json!({ "id": nobody, "to": { "clinician_id": nobody, "room": "Consult 1", "start": at, "minutes": 15, "confirm_outside_hours": false } }),
            Action(ChangeAppointment),
        ),
        ("set_appointment_status", json!({ "id": nobody, "status": "arrived" }), Action(ChangeAppointment)),
        ("print_day_list", json!({ "date": today }), Action(ViewRecords)),
        ("record_death", json!({ "patient": patient_id, "on": today }), Action(RecordDeath)),
        ("working_week", json!({ "clinician": clinician }), Action(ViewRecords)),
        ("set_working_week", json!({ "clinician": clinician, "week": "Mon-Fri 08:30-18:00" }), Action(SetWorkingHours)),
        ("my_consults", json!({ "date": today }), Action(ViewClinical)),
        (
            "start_consultation",
            json!({ "start": { "appointment_id": null, "patient_id": patient_id } }),
            Action(RecordConsultation),
        ),
        ("consultation_view", json!({ "id": nobody }), Action(ViewClinical)),
        (
            "save_consultation_draft",
            json!({ "id": nobody, "draft": v(&ConsultationDraft::default()) }),
            Action(RecordConsultation),
        ),
        (
            "sign_consultation",
            json!({ "id": nobody, "password": "not my password", "confirmUnusualVitals": false }),
            Action(RecordConsultation),
        ),
        (
            "add_addendum",
            json!({ "consultation": nobody, "addendum": v(&NewAddendum::default()) }),
            Action(RecordConsultation),
        ),
        (
            "void_record",
            json!({ "entity": "consultation", "id": nobody, "reason": "Wrong animal" }),
            Action(VoidClinical),
        ),
        ("patient_history", json!({ "patient": patient_id }), Action(ViewClinical)),
        ("find_products", json!({ "query": "meloxicam" }), Action(ViewClinical)),
        ("check_prescription", json!({ "prescription": prescription }), Action(Prescribe)),
        ("prescribe", json!({ "prescription": prescription }), Action(Prescribe)),
        ("dispense", json!({ "prescription": nobody, "dispensing": v(&NewDispensing::default()) }), Action(Dispense)),
        ("print_label", json!({ "prescription": nobody, "dispensing": nobody }), Action(ViewClinical)),
        ("print_prescription", json!({ "prescription": nobody }), Action(ViewClinical)),
        (
            "add_charge",
            json!({ "charge": { "patient_id": patient_id, "consultation_id": null, "fee_id": nobody, "quantity": "1", "note": "" } }),
            Action(CaptureCharge),
        ),
        ("cd_register", json!({ "premises": null }), Action(ViewClinical)),
        ("cd_entries", json!({ "premises": nobody, "product": nobody }), Action(ViewClinical)),
        (
            "record_cd_entry",
            json!({ "entry": {
            "product_id": nobody, "premises_id": null, "kind": "receipt", "occurred_at": null, "quantity": "10",
            "supplier": "Wholesaler", "reference": "INV-1", "recipient": "", "patient_id": null, "prescriber_id": null,
            "collected_by": "", "witness": "", "corrects_id": null, "correction_adds": false, "note": "" } }),
            Action(RecordControlledDrugs),
        ),
        ("lab_tests", json!({ "all": false }), Action(ViewClinical)),
        (
            "save_lab_test",
            json!({ "test": { "id": null, "name": "Matrix panel", "sample_type": "Blood", "lab": "In house", "in_house": true, "turnaround_hours": 2, "active": true } }),
            Action(ManageLabTests),
        ),
        (
            "request_lab_work",
            json!({ "request": { "patient_id": patient_id, "consultation_id": null, "test_id": nobody, "sample_type": "Blood", "lab": "In house", "sample_taken_by": null, "sample_taken_at": null, "note": "" } }),
            Action(RequestLabWork),
        ),
        (
            "record_lab_result",
            json!({ "result": v(&NewLabResult::default()), "filePath": null }),
            Action(RecordLabResults),
        ),
        ("lab_result_template", json!({ "request": nobody }), Action(ViewClinical)),
        ("lab_awaited", json!({ "mine": false }), Action(ViewClinical)),
        ("save_lab_attachment", json!({ "result": nobody }), Action(ViewClinical)),
        ("number_blocks", json!({}), Action(ViewRecords)),
        ("add_number_block", json!({ "kind": "client", "first": 900000, "last": 900999 }), Action(ManageNumbers)),
        ("client_account", json!({ "client": client_id }), Action(ViewRecords)),
        (
            "take_payment",
            json!({ "payment": { "client_id": client_id, "kind": "payment", "method": "cash", "amount": "10.00", "reference": "", "note": "" } }),
            Action(TakePayment),
        ),
        ("run_card_payment", json!({ "payment": nobody, "approved": true, "reference": "AUTH1" }), Action(TakePayment)),
        ("cash_up", json!({ "day": today, "counted": "0.00", "note": "" }), Action(CashUp)),
        (
            "record_claim",
            json!({ "claim": { "patient_id": patient_id, "insurer": "Petplan", "policy_number": "P1", "condition": "Lameness", "amount": "100.00", "note": "" } }),
            Action(RecordClaim),
        ),
        ("takings", json!({ "day": today }), Action(ViewRecords)),
        ("print_receipt", json!({ "payment": nobody }), Action(ViewRecords)),
        ("continuity_status", json!({}), Action(ViewRecords)),
        ("make_continuity_pack", json!({ "date": null }), Action(ViewClinical)),
        ("save_continuity_pack", json!({ "id": null }), Action(ViewClinical)),
        ("set_continuity_schedule", json!({ "time": "17:30" }), Action(EditStaff)),
        // Products, fees and lab tests at once: fees are the managers'.
        ("add_starter_lists", json!({}), Action(ManageFees)),
        ("sync_overview", json!({}), SignedIn),
        ("sync_now", json!({}), SignedIn),
        ("host_relay", json!({ "port": 1 }), Action(ManageSync)),
        ("stop_hosting_relay", json!({}), Action(ManageSync)),
        ("pairing_code", json!({}), Action(ManageSync)),
        ("revoke_device", json!({ "device": nobody }), Action(ManageSync)),
        (
            "pair_server",
            json!({ "address": "https://127.0.0.1:1", "code": "ABCD-EFGH", "name": "Relay" }),
            Action(ManageSync),
        ),
        // Joining is for a PC with no practice yet (refused here, whoever asks).
        ("join_practice", json!({ "address": "https://127.0.0.1:1", "code": "ABCD-EFGH" }), Nothing),
        ("set_server_enabled", json!({ "id": nobody, "enabled": false }), Action(ManageSync)),
        ("remove_server", json!({ "id": nobody }), Action(ManageSync)),
        ("conflict_inbox", json!({ "openOnly": true }), Action(ViewRecords)),
        (
            "resolve_conflict",
            json!({ "id": nobody, "resolution": { "choice": "keep_both" }, "note": "" }),
            Action(ResolveConflicts),
        ),
        ("export_bundle", json!({ "server": null, "passphrase": "short" }), Action(ManageSync)),
        ("import_bundle", json!({ "path": path("matrix.lbb"), "passphrase": "a long passphrase" }), Action(ManageSync)),
        // Where a record could go: the practices of the servers this PC syncs with, no records.
        ("handover_destinations", json!({}), Action(HandOver)),
        (
            "send_handover",
            json!({ "patient": nobody, "server": nobody, "practice": nobody, "practiceName": "Elsewhere", "note": "" }),
            Action(HandOver),
        ),
        (
            "export_handover",
            json!({ "patient": nobody, "toName": "Elsewhere", "note": "", "passphrase": "short" }),
            Action(HandOver),
        ),
        ("handovers", json!({}), Action(ViewClinical)),
        (
            "preview_import",
            json!({ "kind": "clients", "path": path("clients.csv"), "mapping": null }),
            Action(ImportRecords),
        ),
        (
            "import_file",
            json!({ "kind": "clients", "path": path("clients.csv"), "options": v(&ImportOptions::default()), "onProgress": channel }),
            Action(ImportRecords),
        ),
        ("export_csv", json!({ "kind": "clients", "since": null, "onProgress": channel }), Action(ExportRecords)),
        // No outage start: closing the outage is then always refused, whatever the hostile run sends.
        ("set_outage_began", json!({ "at": null }), Action(ManageOutage)),
        ("export_worklist", json!({ "onProgress": channel }), Action(ExportRecords)),
        ("export_fhir", json!({ "onProgress": channel }), Action(ExportRecords)),
        ("duplicates", json!({}), Action(MergeRecords)),
        (
            "decide_duplicates",
            json!({ "kind": "client", "first": nobody, "second": nobody, "decision": "different" }),
            Action(MergeRecords),
        ),
        ("merge_records", json!({ "kind": "client", "keep": nobody, "merge": nobody }), Action(MergeRecords)),
        ("closing_status", json!({}), Action(ManageOutage)),
        ("close_outage", json!({ "purgeAfterDays": 100000 }), Action(ManageOutage)),
        ("purge_copies", json!({}), Action(ManageOutage)),
        ("ledger", json!({ "filter": v(&LedgerFilter::default()) }), Action(ReconcileRecords)),
        ("mark_entered", json!({ "marks": [v(&EnteredMark::default())] }), Action(ReconcileRecords)),
        ("mark_verified", json!({ "ids": [nobody] }), Action(ReconcileRecords)),
        ("mark_entered_from_file", json!({ "path": path("marks.csv") }), Action(ReconcileRecords)),
        ("backlog", json!({}), Action(ExportRecords)),
        ("drills", json!({}), Action(RunDrill)),
        ("start_drill", json!({ "plan": { "tasks": [] } }), Action(RunDrill)),
        ("drill_progress", json!({}), SignedIn),
        ("end_drill", json!({}), Action(ViewRecords)),
        ("exports_settings", json!({}), SignedIn),
        ("set_exports_settings", json!({ "folder": null, "keepDays": 100000 }), Action(ManageSync)),
        ("backups_overview", json!({}), Action(ManageBackups)),
        ("back_up_now", json!({}), Action(ManageBackups)),
        ("set_backup_copy_folder", json!({ "folder": path("stick") }), Action(ManageBackups)),
        ("inspect_backup", json!({ "path": path("backup.db"), "recoveryKey": null }), Action(ManageBackups)),
        ("restore_backup", json!({ "path": path("backup.db"), "recoveryKey": null }), Action(ManageBackups)),
        ("start_afresh", json!({}), NeverHere),
        ("key_protection", json!({}), Action(ManageBackups)),
        ("first_screen_shown", json!({ "screen": "login" }), Nothing),
        ("make_recovery_key", json!({}), Action(EditPractice)),
        ("confirm_recovery_key", json!({}), Action(EditPractice)),
        ("change_key", json!({}), Action(EditPractice)),
        ("unlock_with_recovery_key", json!({ "recoveryKey": "7777-7777-7777-7777-7777-7777-7777-7777" }), NeverHere),
        ("unlock_with_passphrase", json!({ "passphrase": "Otter kettle harbour 42" }), NeverHere),
        // Too short to be taken: the plain run changes nothing (the hostile run may set one).
        ("set_passphrase", json!({ "passphrase": "too short" }), Action(EditPractice)),
    ]
}

/// Serialising the core's own input types for the arguments, so that their shape is the compiler's.
mod erased {
    pub trait Ser {
        fn value(&self) -> serde_json::Value;
    }
    impl<T: serde::Serialize> Ser for T {
        fn value(&self) -> serde_json::Value {
            serde_json::to_value(self).unwrap()
        }
    }
}

/// What both harnesses start with: `call(command, args)` answers a call's error code ("ok" for a
/// success, "ipc: ..." for an error that is not one of Lifeboat's, "timeout" after 20 seconds), with
/// "$channel" in the arguments made a real progress channel.
macro_rules! ipc_harness {
    ($body:literal) => {
        concat!(
            r#"
const ipc = window.__TAURI_INTERNALS__;
const channel = () => '__CHANNEL__:' + ipc.transformCallback(() => {});
const fill = (v) => v === '$channel' ? channel() : Array.isArray(v) ? v.map(fill)
  : (v && typeof v === 'object') ? Object.fromEntries(Object.entries(v).map(([k, x]) => [k, fill(x)])) : v;
const call = (command, args) => Promise.race([
  ipc.invoke(command, fill(args)).then(() => 'ok', (e) => (e && typeof e === 'object' && e.code) ? e.code : 'ipc: ' + String(e).slice(0, 300)),
  new Promise((r) => setTimeout(() => r('timeout'), 20000)),
]);
"#,
            $body
        )
    };
}

/// In the page: signs in as each of `arguments[1]` in turn (null: signed out) and calls every
/// command of `arguments[0]`, answering each call's code.
const IPC_HARNESS_MATRIX: &str = ipc_harness!(
    r#"
const [plan, who] = arguments;
const done = arguments[arguments.length - 1];
(async () => {
  const rows = [];
  for (const person of who) {
    await ipc.invoke('logout').catch(() => {});
    if (person) await ipc.invoke('login', { username: person.username, password: person.password });
    const row = [];
    for (const step of plan) row.push(await call(step.command, step.args));
    rows.push(row);
  }
  await ipc.invoke('logout').catch(() => {});
  return rows;
})().then(done, (e) => done('harness failed: ' + JSON.stringify(e)));
"#
);

/// In the page: calls every command of `arguments[0]` again and again, each time with one argument
/// (one leaf of its JSON) replaced by a hostile value; signs in as `arguments[1]` first unless it is
/// null (a later part of one run), and signs out at the end when `arguments[3]` is true.
const IPC_HARNESS_HOSTILE: &str = ipc_harness!(
    r#"
const [plan, person, paths, last] = arguments;
const done = arguments[arguments.length - 1];
const texts = ['', ' ', 'x'.repeat(100000), '\u202Eevil\u202C name', 'a\u0000b\u0007c\u001b[2J', '<img src=x onerror=alert(1)>',
  '%_*"\'\\', '+262142-12-31', '-000001-01-01', '9999-12-31T23:59:59', '2026-02-30', '1e309', 'NaN', '\uD800', '𝔘🙂'];
const numbers = [-1, 0, 4294967295, 4294967296, 9007199254740991, -9007199254740991, 1.5, 1e308];
const leaves = (v, path = []) => (v && typeof v === 'object' && v !== '$channel' && !(Array.isArray(v) && v.length === 0))
  ? Object.entries(v).flatMap(([k, x]) => leaves(x, [...path, k])) : [path];
const put = (v, path, x) => {
  if (path.length === 0) return x;
  const copy = Array.isArray(v) ? [...v] : { ...v };
  copy[path[0]] = put(v[path[0]], path.slice(1), x);
  return copy;
};
const at = (v, path) => path.reduce((o, k) => o[k], v);
(async () => {
  // Signs in on the first part of a run only (person is null after it).
  if (person) await ipc.invoke('logout').catch(() => {});
  // The matrix's wrong passwords (a few a role) may ask for a wait of some seconds first.
  for (let tries = 0; person; tries++) {
    try {
      await ipc.invoke('login', { username: person.username, password: person.password });
      break;
    } catch (e) {
      if (!(e && e.code === 'too_many_attempts') || tries > 30) throw e;
      await new Promise((r) => setTimeout(r, 2000));
    }
  }
  const answers = [];
  for (const step of plan) {
    for (const path of leaves(step.args)) {
      const original = at(step.args, path);
      if (original === '$channel') continue;
      const values = typeof original === 'number' ? [...numbers, 'text']
        : typeof original === 'boolean' ? [!original, 'yes', null]
        : Array.isArray(original) ? [[null], ['x'], new Array(50001).fill(''), {}, 'text']
        : [...texts, ...paths, 12, null, {}, []];
      for (const value of values) {
        const code = await call(step.command, put(step.args, path, value));
        // (Written as JSON, so that a lone surrogate travels back as text.)
        answers.push({ command: step.command, path: path.join('.'), value: JSON.stringify(value).slice(0, 40), code });
      }
    }
  }
  if (last) await ipc.invoke('logout').catch(() => {});
  return answers;
})().then(done, (e) => done('harness failed: ' + JSON.stringify(e)));
"#
);

/// Reception at a referral hospital: 25 clinicians' columns stay legible (names wrap, never cut),
/// the desk narrows them to its own team, and this PC remembers the choice across a restart.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reception_at_twenty_five_clinicians_chooses_its_columns_and_the_choice_is_remembered() {
    let _one_at_a_time = ONE_AT_A_TIME.lock().await;
    tokio::time::timeout(Duration::from_secs(240), async {
        use lifeboat_core::{AppointmentKind, NewAppointment, NewClient, NewPatient, Role, Species};
        let data = tempfile::TempDir::new().unwrap();
        {
            let store = open_store(data.path());
            lifeboat_synthetic::populate_staff(&store, lifeboat_synthetic::Size::XL, 1).unwrap();
            let desk = store.login("reception1", lifeboat_synthetic::DEMO_PASSWORD).unwrap();
            let manager = store.login("manager1", lifeboat_synthetic::DEMO_PASSWORD).unwrap();
            let clinicians: Vec<_> = store
                .list_staff(&manager)
                .unwrap()
                .into_iter()
                .filter(|s| matches!(s.role, Role::Vet | Role::Nurse))
                .collect();
            assert_eq!(clinicians.len(), 25);
            let today = lifeboat_core::time::local_date(store.clock().now());
            for (i, c) in clinicians.iter().enumerate() {
                let client = store
                    .register_client(
                        &desk,
                        &NewClient {
                            first_name: "Ada".into(),
                            last_name: format!("Fitzwilliam-Montgomery {i}"),
                            phone: format!("07700 900{:03}", i),
                            ..Default::default()
                        },
                    )
                    .unwrap();
                let pet =
                    store.register_patient(&desk, client.id, &NewPatient::new("Bartholomew", Species::Dog)).unwrap();
                let start = today.and_hms_opt(9 + (i % 6) as u32, 15 * (i % 4) as u32, 0).unwrap();
                let new = NewAppointment {
                    clinician_id: c.id,
                    room: "Consult 1".into(),
                    start,
                    minutes: 30,
                    kind: if c.role == Role::Vet {
                        AppointmentKind::Consultation
                    } else {
                        AppointmentKind::NurseClinic
                    },
                    reason: "Check".into(),
                    patient_id: pet.id,
                    client_id: client.id,
                    notes: String::new(),
                    confirm_outside_hours: true,
                };
                store.book_appointment(&desk, &new).unwrap();
            }
        }
        let columns = |app: &Desktop| {
            let app = app.client.clone();
            async move { app.find_all(fantoccini::Locator::Css("[data-testid=clinician-column]")).await.unwrap().len() }
        };
        let app = Desktop::launch(data.path(), "twenty-five").await;
        app.fill("#field-login-username", "reception1").await;
        app.fill("#field-login-password", lifeboat_synthetic::DEMO_PASSWORD).await;
        app.click("[data-testid=login-form] button[type=submit]").await;
        app.find("[data-testid=daybook-grid]").await;
        app.wait_text("[data-testid=clinician-filter]", "Clinicians: all 25").await;
        assert_eq!(columns(&app).await, 25);
        assert_eq!(app.texts("[data-testid=appointment]").await.len(), 25, "one booking each");
        app.screenshot("1-all-twenty-five").await;

        // The desk shows only the vets, then leaves one out.
        app.click("[data-testid=clinician-filter]").await;
        app.click("[data-testid=clinicians-vets]").await;
        app.wait_text("[data-testid=clinician-filter]", "Clinicians: 16 of 25").await;
        app.click("[data-testid=clinician-choice]").await;
        app.wait_text("[data-testid=clinician-filter]", "Clinicians: 15 of 25").await;
        app.screenshot("2-choosing").await;
        assert_eq!(columns(&app).await, 15);
        app.click("[data-testid=clinician-filter]").await;
        app.wait_gone("[data-testid=clinician-choices]").await;
        app.screenshot("3-fifteen-vets").await;
        app.close().await;
        wait_until_closed(data.path()).await;

        // The same PC remembers its choice.
        let app = Desktop::launch(data.path(), "twenty-five").await;
        app.fill("#field-login-username", "reception1").await;
        app.fill("#field-login-password", lifeboat_synthetic::DEMO_PASSWORD).await;
        app.click("[data-testid=login-form] button[type=submit]").await;
        app.wait_text("[data-testid=clinician-filter]", "Clinicians: 15 of 25").await;
        assert_eq!(columns(&app).await, 15);
        app.close().await;
    })
    .await
    .expect("the end-to-end test finished within 4 minutes");
}

/// A PC that died is replaced: on the new PC's set-up screen the manager restores the old PC's
/// backup (copied from the USB stick with its key file), opened with the old PC's recovery key.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_pc_is_filled_from_a_dead_pc_s_backup_with_its_recovery_key() {
    let _one_at_a_time = ONE_AT_A_TIME.lock().await;
    tokio::time::timeout(Duration::from_secs(300), async {
        use lifeboat_core::store::backup;
        let old_pc = tempfile::TempDir::new().unwrap();
        let (recovery, taken) = {
            let store = open_store(old_pc.path());
            let admin =
                store.create_practice(&lifeboat_core::example::practice_setup("admin", "admin password")).unwrap();
            let recovery = store.make_recovery_key(&admin).unwrap();
            let client = lifeboat_core::NewClient {
                first_name: "Agatha".into(),
                last_name: "Quillfeather".into(),
                phone: "07700 900461".into(),
                ..Default::default()
            };
            store.register_client(&admin, &client).unwrap();
            let taken = store.back_up(&store.config().backups_dir()).unwrap();
            (recovery, taken)
        };
        // The new PC: the backup and its key file copied from the stick into its backups folder.
        let data = tempfile::TempDir::new().unwrap();
        let folder = data.path().join(lifeboat_core::StoreConfig::BACKUPS_FOLDER);
        std::fs::create_dir_all(&folder).unwrap();
        std::fs::copy(&taken.path, folder.join(&taken.name)).unwrap();
        let key_file = format!("{}.key", taken.name);
        std::fs::copy(old_pc.path().join("backups").join(&key_file), folder.join(&key_file)).unwrap();

        let app = Desktop::launch(data.path(), "new-pc").await;
        app.click("[data-testid=restore-instead]").await;
        app.click("[data-testid=backup-look]").await;
        app.fill("#field-backup-recovery-key", "7777-7777-7777-7777-7777-7777-7777-7777").await;
        app.click("[data-testid=backup-recovery-look]").await;
        app.wait_text("#field-backup-recovery-key-note", "It does not open this database").await;
        app.fill("#field-backup-recovery-key", &recovery).await;
        app.click("[data-testid=backup-recovery-look]").await;
        app.wait_text("[data-testid=backup-practice]", "Riverside Vets").await;
        assert_eq!(
            app.text("[data-testid=backup-counts]").await.split_whitespace().collect::<Vec<_>>().join(" "),
            "1 client, 0 animals, 0 appointments, 0 consultations, 0 prescriptions, 0 payments, 1 staff account"
        );
        app.screenshot("1-look-inside-with-the-recovery-key").await;
        app.click("[data-testid=backup-restore]").await;
        app.click("[data-testid=backup-restore-confirm]").await;

        // Lifeboat restarts and restores first; that process is nobody's child here.
        let pending = data.path().join(backup::PENDING_RESTORE_FILE);
        let replaced = data.path().join(backup::REPLACED_FOLDER);
        let start = Instant::now();
        while pending.exists() || !replaced.exists() || apps_on(data.path()).is_empty() {
            assert!(start.elapsed() < Duration::from_secs(60), "the restarted app never restored the backup");
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        tokio::time::sleep(Duration::from_secs(5)).await;
        for pid in apps_on(data.path()) {
            let _ = Command::new("kill").arg(pid.to_string()).status();
        }
        wait_until_closed(data.path()).await;
        drop(app);

        // The new PC holds the old PC's records, and opens them without the recovery key.
        let app = Desktop::launch(data.path(), "new-pc").await;
        app.fill("#field-login-username", "admin").await;
        app.fill("#field-login-password", "admin password").await;
        app.click("[data-testid=login-form] button[type=submit]").await;
        app.type_keys("#search", "Quillfeather").await;
        app.wait_text("[data-testid=search-hit]", "Quillfeather").await;
        app.screenshot("2-restored").await;
        app.close().await;
        wait_until_closed(data.path()).await;
        let store = open_store(data.path());
        let desk = store.login("admin", "admin password").unwrap();
        let hits = store.search(&desk, "Quillfeather", 5).unwrap();
        assert_eq!(hits.iter().map(|h| h.client_name.as_str()).collect::<Vec<_>>(), ["A. Quillfeather"]);
        assert!(store.doctor().unwrap().is_healthy());
    })
    .await
    .expect("the end-to-end test finished within 5 minutes");
}

/// Memory of process `pid` and every process below it (the web view's), in KiB: the proportional
/// set size, or the resident set where the kernel gives no PSS. Platform code: Linux's /proc.
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
                text.lines().find(|l| l.starts_with(key)).and_then(|l| l.split_whitespace().nth(1)?.parse::<u64>().ok())
            })
        };
        total += field("smaps_rollup", "Pss:").or_else(|| field("status", "VmRSS:")).unwrap_or(0);
        for entry in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
            let Ok(child) = entry.file_name().to_string_lossy().parse::<u32>() else { continue };
            let parent = std::fs::read_to_string(format!("/proc/{child}/stat")).ok().and_then(|s| {
                s.rsplit_once(')').and_then(|(_, rest)| rest.split_whitespace().nth(1)?.parse::<u32>().ok())
            });
            if parent == Some(p) {
                pending.push(child);
            }
        }
    }
    total
}

/// The memory benchmark (not part of the test suite: `cargo test --test e2e -- --ignored
/// an_hour_at_reception --nocapture`). A receptionist's hour, compressed: the real window on a
/// generated practice (`LIFEBOAT_MEMORY_PRACTICE`, a folder holding `lifeboat.db` and
/// `lifeboat.key` such as the bench's cached L practice; an S practice made afresh without it),
/// searching for clients by the start of their surname, opening their animals to book (booked, or
/// given up when the time is taken), moving between days, opening appointments and the takings,
/// for `LIFEBOAT_MEMORY_MINUTES` (60) minutes. Prints the memory of the app and its web view (PSS)
/// each minute (and the app's own share, without the web view) beside the same-run baseline: the
/// memory once the day book first showed. Set
/// `LIFEBOAT_DESKTOP_BINARY=target/release/lifeboat-desktop` to measure the release build.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a benchmark of an hour: run it on its own (BENCHMARKS.md)"]
async fn an_hour_at_reception_memory_benchmark() {
    let _one_at_a_time = ONE_AT_A_TIME.lock().await;
    let minutes: u64 = std::env::var("LIFEBOAT_MEMORY_MINUTES").ok().and_then(|m| m.parse().ok()).unwrap_or(60);
    let data = tempfile::TempDir::new().unwrap();
    let size = match std::env::var_os("LIFEBOAT_MEMORY_PRACTICE") {
        Some(from) => {
            for name in [lifeboat_core::StoreConfig::DATABASE_FILE, lifeboat_core::StoreConfig::KEY_FILE] {
                std::fs::copy(Path::new(&from).join(name), data.path().join(name))
                    .expect("the practice folder's files");
            }
            Path::new(&from).display().to_string()
        }
        None => {
            lifeboat_synthetic::populate(&open_store(data.path()), lifeboat_synthetic::Size::S, 1).unwrap();
            "a new S practice".into()
        }
    };
    let surnames: Vec<String> = open_store(data.path())
        .read(|r| {
            let mut stmt =
                r.prepare("SELECT last_name FROM client WHERE length(last_name) >= 4 ORDER BY id LIMIT 500")?;
            let names = stmt.query_map([], |row| row.get::<_, String>(0))?.collect::<Result<Vec<_>, _>>()?;
            Ok(names)
        })
        .unwrap();
    assert!(!surnames.is_empty());
    let app = Desktop::launch(data.path(), "memory-hour").await;
    app.fill("#field-login-username", "reception1").await;
    app.fill("#field-login-password", lifeboat_synthetic::DEMO_PASSWORD).await;
    app.click("[data-testid=login-form] button[type=submit]").await;
    app.find("[data-testid=daybook-grid]").await;
    let pid = *apps_on(data.path()).first().expect("the app's process");
    let baseline = tree_memory_kib(pid);
    let mib = |kib: u64| kib as f64 / 1024.0;
    // The app's own share (the Rust side: SQLite's caches, the schedules) apart from the web view's.
    let own = || {
        std::fs::read_to_string(format!("/proc/{pid}/smaps_rollup"))
            .ok()
            .and_then(|t| t.lines().find(|l| l.starts_with("Pss:"))?.split_whitespace().nth(1)?.parse::<u64>().ok())
            .unwrap_or(0)
    };
    println!("memory over {minutes} minutes at reception on {size}");
    println!("{:>6} {:>8} {:>9} {:>9} {:>9} {:>8}", "minute", "rounds", "bookings", "MiB", "app MiB", "ratio");
    println!("{:>6} {:>8} {:>9} {:>9.1} {:>9.1} {:>8.2}", 0, 0, 0, mib(baseline), mib(own()), 1.0);

    let start = Instant::now();
    let (mut rounds, mut bookings, mut peak) = (0u64, 0u64, baseline);
    let mut next_sample = 1;
    let present = |css: &'static str| {
        let client = app.client.clone();
        async move { !client.find_all(Locator::Css(css)).await.map(|v| v.is_empty()).unwrap_or(true) }
    };
    while start.elapsed() < Duration::from_secs(minutes * 60) {
        let name = &surnames[rounds as usize % surnames.len()];
        let prefix: String = name.chars().take(3 + (rounds as usize % 3)).collect();
        let search = app.find("#search").await;
        search.clear().await.unwrap();
        search.send_keys(&prefix).await.unwrap();
        tokio::time::sleep(Duration::from_millis(600)).await;
        if rounds % 3 == 0 && present("[data-testid=search-hit] [data-testid=search-pet]").await {
            // Open the first animal to book it, at one of the times offered.
            if let Ok(pet) = app.client.find(Locator::Css("[data-testid=search-hit] [data-testid=search-pet]")).await {
                let _ = pet.click().await;
            }
            tokio::time::sleep(Duration::from_millis(400)).await;
            let times = app.client.find_all(Locator::Css("#booking-time option")).await.unwrap_or_default();
            if !times.is_empty() {
                let _ = times[rounds as usize % times.len()].click().await;
                if let Ok(reason) = app.client.find(Locator::Css("#booking-reason")).await {
                    let _ = reason.send_keys("Annual vaccination").await;
                }
                if let Ok(book) = app.client.find(Locator::Css("[data-testid=book]")).await {
                    let _ = book.click().await;
                }
                tokio::time::sleep(Duration::from_millis(700)).await;
            }
            if present("[role=dialog]").await {
                // The time was taken (or the dialog is still busy): given up.
                if let Ok(cancel) = app.client.find(Locator::Css("[role=dialog] button.secondary")).await {
                    let _ = cancel.click().await;
                }
            } else {
                bookings += 1;
            }
        } else if let Ok(search) = app.client.find(Locator::Css("#search")).await {
            let _ = search.clear().await;
        }
        match rounds % 10 {
            // Between days, and back.
            2 | 7 => {
                let label = if rounds % 20 < 10 { "Next day" } else { "Previous day" };
                if let Ok(b) = app.client.find(Locator::Css(&format!("button[aria-label='{label}']"))).await {
                    let _ = b.click().await;
                }
            }
            // An appointment opened, and closed.
            4 => {
                if let Ok(a) = app.client.find(Locator::Css("[data-testid=appointment]")).await {
                    let _ = a.click().await;
                    tokio::time::sleep(Duration::from_millis(300)).await;
                    if let Ok(close) = app.client.find(Locator::Css("button[aria-label=Close]")).await {
                        let _ = close.click().await;
                    }
                }
            }
            // The takings, then back to the day book.
            9 if present("[data-testid=nav-takings]").await => {
                if let Ok(nav) = app.client.find(Locator::Css("[data-testid=nav-takings]")).await {
                    let _ = nav.click().await;
                }
                tokio::time::sleep(Duration::from_millis(500)).await;
                if let Ok(nav) = app.client.find(Locator::Css("[data-testid=nav-daybook]")).await {
                    let _ = nav.click().await;
                }
            }
            _ => {}
        }
        rounds += 1;
        if start.elapsed() >= Duration::from_secs(next_sample * 60) {
            let now = tree_memory_kib(pid);
            peak = peak.max(now);
            println!(
                "{:>6} {:>8} {:>9} {:>9.1} {:>9.1} {:>8.2}",
                next_sample,
                rounds,
                bookings,
                mib(now),
                mib(own()),
                now as f64 / baseline as f64
            );
            next_sample += 1;
        }
    }
    let end = tree_memory_kib(pid);
    println!(
        "after {minutes} minutes: {:.1} MiB, {:.2}x the {:.1} MiB once the day book showed; peak {:.1} MiB; {rounds} rounds, {bookings} bookings",
        mib(end),
        end as f64 / baseline as f64,
        mib(baseline),
        mib(peak)
    );
    app.screenshot("after-the-hour").await;
    // Still the app, still answering.
    app.find("[data-testid=daybook-grid]").await;
    app.close().await;
}
