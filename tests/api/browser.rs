//! The public pages in a real browser: headless Chromium driven through WebDriver
//! (chromedriver), from this test binary with a small WebDriver client of its own.
//!
//! - a business finds a stop in Texas, registers through the form, sees the confirmation page,
//!   follows the manage link from the email file and cancels;
//! - a form error is shown beside its field, with what was typed kept, in English and Spanish;
//! - axe-core (npm, `tests/browser`) runs in each main page and reports no serious or critical
//!   violation; the keyboard reaches the form's fields in order;
//! - screenshots of the main pages at phone and desktop widths go to `target/screenshots/`
//!   (not committed), for review.
//!
//! They need `/usr/bin/chromium`, `/usr/bin/chromedriver` (Debian's `chromium` and
//! `chromium-driver`) and `tests/browser/node_modules/axe-core` (`npm ci --prefix tests/browser`);
//! `.ci/run` installs all three. Without them the tests fail under `CI=true` and, elsewhere, say
//! loudly that they did not run. The pages read the same queries on both engines, so these run on
//! SQLite; the API tests cover PostgreSQL.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use serde_json::{json, Value};

use crate::helpers::{expect_status, Backend, TestApp};

const CHROMIUM: &str = "/usr/bin/chromium";
const CHROMEDRIVER: &str = "/usr/bin/chromedriver";

fn axe_path() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/browser/node_modules/axe-core/axe.min.js")
}

/// Whether the browser tests can run here; under CI they must.
fn browser_ready() -> bool {
    let missing: Vec<String> = [PathBuf::from(CHROMIUM), PathBuf::from(CHROMEDRIVER), axe_path()]
        .into_iter()
        .filter(|p| !p.exists())
        .map(|p| p.display().to_string())
        .collect();
    if missing.is_empty() {
        return true;
    }
    let msg = format!(
        "browser tests need {} (apt-get install chromium chromium-driver; npm ci --prefix tests/browser)",
        missing.join(", ")
    );
    if std::env::var("CI").is_ok_and(|v| v == "true") {
        panic!("{msg}");
    }
    eprintln!("\n*** SKIPPED (not run): {msg} ***\n");
    false
}

/// A chromedriver process and one browser session.
struct Browser {
    driver: Child,
    base: String,
    session: String,
    http: reqwest::Client,
    _profile: tempfile::TempDir,
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

impl Browser {
    async fn start() -> Browser {
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let driver = Command::new(CHROMEDRIVER)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver starts");
        let base = format!("http://127.0.0.1:{port}");
        let http = reqwest::Client::new();
        for _ in 0..100 {
            if http.get(format!("{base}/status")).send().await.is_ok() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let profile = tempfile::tempdir().unwrap();
        let caps = json!({"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": CHROMIUM,
                "args": [
                    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                    "--disable-quic", "--no-first-run", "--disable-background-networking",
                    "--disable-component-update", "--disable-sync", "--lang=en-US",
                    format!("--user-data-dir={}", profile.path().display()),
                ]
            }
        }}});
        let mut browser = Browser { driver, base, session: String::new(), http, _profile: profile };
        let v = browser.call(reqwest::Method::POST, "/session", Some(caps)).await;
        browser.session = v["sessionId"].as_str().expect("a session id").to_string();
        // Finding an element waits up to 10 s for it (a page still loading after a form post on a
        // busy machine).
        browser.session(reqwest::Method::POST, "/timeouts", Some(json!({"implicit": 10000}))).await;
        browser
    }

    async fn call(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
        self.try_call(method, path, body).await.unwrap_or_else(|e| panic!("{e}"))
    }

    /// A driver command's value, or what went wrong (the driver unreachable or answering an error).
    async fn try_call(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Result<Value, String> {
        let url = format!("{}{}", self.base, path);
        let mut req = self.http.request(method, &url);
        if let Some(b) = body {
            req = req.json(&b);
        }
        let resp = req.send().await.map_err(|e| format!("webdriver {path}: {e}"))?;
        let status = resp.status();
        let v: Value = resp.json().await.map_err(|e| format!("webdriver {path}: {status}, {e}"))?;
        if !status.is_success() {
            return Err(format!("webdriver {path}: {status} {v}"));
        }
        Ok(v["value"].clone())
    }

    async fn session(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
        self.call(method, &format!("/session/{}{}", self.session, path), body).await
    }

    async fn goto(&self, url: &str) {
        self.session(reqwest::Method::POST, "/url", Some(json!({ "url": url }))).await;
    }

    async fn url(&self) -> String {
        self.session(reqwest::Method::GET, "/url", None).await.as_str().unwrap().to_string()
    }

    async fn size(&self, width: u32, height: u32) {
        self.session(reqwest::Method::POST, "/window/rect", Some(json!({"width": width, "height": height}))).await;
    }

    async fn find(&self, css: &str) -> String {
        let v =
            self.session(reqwest::Method::POST, "/element", Some(json!({"using": "css selector", "value": css}))).await;
        v.as_object().and_then(|o| o.values().next()).and_then(Value::as_str).unwrap().to_string()
    }

    async fn count(&self, css: &str) -> usize {
        let v = self
            .session(reqwest::Method::POST, "/elements", Some(json!({"using": "css selector", "value": css})))
            .await;
        v.as_array().unwrap().len()
    }

    async fn type_into(&self, css: &str, text: &str) {
        let el = self.find(css).await;
        self.session(reqwest::Method::POST, &format!("/element/{el}/clear"), Some(json!({}))).await;
        self.session(reqwest::Method::POST, &format!("/element/{el}/value"), Some(json!({ "text": text }))).await;
    }

    async fn click(&self, css: &str) {
        let el = self.find(css).await;
        self.session(reqwest::Method::POST, &format!("/element/{el}/click"), Some(json!({}))).await;
    }

    /// Clicks what loads a new page (a link, a form's submit button) and waits, up to 10 s, until
    /// that page has loaded. The old document is marked first: reading the page right after a
    /// click could otherwise catch the old page, or one of its elements as it goes stale (seen in
    /// CI on a busy machine).
    async fn click_to_load(&self, css: &str) {
        self.script("window.__roadshowOldPage = true", json!([])).await;
        self.click(css).await;
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        loop {
            // While the page changes, a script may fail (the document unloads under it): try again.
            let script = json!({
                "script": "return !window.__roadshowOldPage && document.readyState === 'complete'",
                "args": []
            });
            let path = format!("/session/{}/execute/sync", self.session);
            let loaded = self.try_call(reqwest::Method::POST, &path, Some(script)).await.ok();
            if loaded == Some(Value::Bool(true)) {
                return;
            }
            assert!(std::time::Instant::now() < deadline, "{css}: no new page within 10 s");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    async fn text(&self, css: &str) -> String {
        let el = self.find(css).await;
        self.session(reqwest::Method::GET, &format!("/element/{el}/text"), None).await.as_str().unwrap().to_string()
    }

    async fn value(&self, css: &str) -> String {
        self.script("return document.querySelector(arguments[0]).value", json!([css]))
            .await
            .as_str()
            .unwrap()
            .to_string()
    }

    /// Chooses the `<option>` with this value (as a person picks it: click the option).
    async fn choose(&self, select: &str, value: &str) {
        self.click(&format!("{select} option[value=\"{value}\"]")).await;
    }

    async fn script(&self, script: &str, args: Value) -> Value {
        self.session(reqwest::Method::POST, "/execute/sync", Some(json!({ "script": script, "args": args }))).await
    }

    async fn press_tab(&self) {
        let actions = json!({"actions": [{"type": "key", "id": "keyboard", "actions": [
            {"type": "keyDown", "value": "\u{E004}"}, {"type": "keyUp", "value": "\u{E004}"}
        ]}]});
        self.session(reqwest::Method::POST, "/actions", Some(actions)).await;
    }

    /// The id of the focused element.
    async fn focused_id(&self) -> String {
        self.script("return document.activeElement ? document.activeElement.id : ''", json!([]))
            .await
            .as_str()
            .unwrap_or("")
            .to_string()
    }

    async fn screenshot(&self, name: &str) {
        let v = self.session(reqwest::Method::GET, "/screenshot", None).await;
        use base64::Engine;
        let png = base64::engine::general_purpose::STANDARD.decode(v.as_str().unwrap()).unwrap();
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/screenshots");
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join(format!("{name}.png")), png).unwrap();
    }

    /// Runs axe-core in the page; the serious and critical violations, as `rule: targets`.
    async fn accessibility_violations(&self) -> Vec<String> {
        let axe = std::fs::read_to_string(axe_path()).unwrap();
        self.script(&axe, json!([])).await;
        let run = json!({"script": "const done = arguments[arguments.length - 1];
            axe.run(document, {resultTypes: ['violations']}).then(r => done(r.violations.map(v =>
              ({id: v.id, impact: v.impact, nodes: v.nodes.map(n => n.target.join(' '))})))).catch(e => done({error: String(e)}));",
            "args": []});
        let v = self.session(reqwest::Method::POST, "/execute/async", Some(run)).await;
        assert!(v.get("error").is_none(), "axe failed: {v}");
        v.as_array()
            .unwrap()
            .iter()
            .filter(|x| matches!(x["impact"].as_str(), Some("serious" | "critical")))
            .map(|x| format!("{} ({}): {}", x["id"], x["impact"], x["nodes"]))
            .collect()
    }
}

/// A published roadshow stop in Austin, TX, with this many seats.
async fn texas_stop(app: &TestApp, capacity: i64) -> String {
    let venue = app.create_venue("TX").await;
    let id = app
        .draft_event(json!({
            "kind": "roadshow_stop", "title": "Grow with Social: Austin", "venue_id": venue, "capacity": capacity,
            "time_zone": "America/Chicago", "topics": ["advertising", "content"], "join_url": null,
            "description": "Hands-on help with your business page.\n\nBring your phone.",
        }))
        .await;
    expect_status(app.admin_post(&format!("/api/v1/admin/events/{id}/publish"), &json!({})).await, 200).await;
    id
}

/// The newest `.eml` file's decoded text body.
fn last_email_text(app: &TestApp) -> String {
    let mut files: Vec<_> = std::fs::read_dir(&app.config.mail_dir).unwrap().map(|e| e.unwrap().path()).collect();
    files.sort_by_key(|p| std::fs::metadata(p).unwrap().modified().unwrap());
    let raw = std::fs::read(files.last().expect("an email was written")).unwrap();
    let msg = mail_parser::MessageParser::default().parse(&raw).unwrap();
    msg.body_text(0).unwrap().to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_business_finds_a_texas_stop_registers_and_cancels_in_a_browser() {
    if !browser_ready() {
        return;
    }
    let app = TestApp::spawn(Backend::Sqlite, |_| {}).await;
    let event = texas_stop(&app, 40).await;
    let b = Browser::start().await;
    b.size(1280, 900).await;

    // The home page: pick Texas, search.
    b.goto(&app.url("/")).await;
    b.choose("#f-state", "TX").await;
    b.click_to_load(".filters button[type=submit]").await;
    assert!(b.url().await.contains("state=TX"), "{}", b.url().await);
    assert_eq!(b.text(&format!("#ev-{event}")).await, "Grow with Social: Austin");
    b.click_to_load(&format!("#ev-{event} a")).await;

    // The event page and its form.
    assert_eq!(b.text("h1").await, "Grow with Social: Austin");
    assert!(b.text(".facts").await.contains("40 seats left"));
    b.type_into("#f-attendee_name", "Lupita Reyes").await;
    b.type_into("#f-attendee_email", "lupita@tacos.example").await;
    b.type_into("#f-business_name", "Tacos Lupita").await;
    b.type_into("#f-business_email", "hola@tacos.example").await;
    b.choose("#f-business_state", "TX").await;
    b.click_to_load("form.register button[type=submit]").await;

    // The answer: registered, with the manage link.
    assert_eq!(b.text("h1").await, "You are registered");
    assert!(b.text("main").await.contains("lupita@tacos.example"));
    let shown_link = b.script("return document.querySelector('a.button').getAttribute('href')", json!([])).await;
    assert!(shown_link.as_str().unwrap().contains("/manage/"), "{shown_link}");

    // The email, delivered to a file; its manage link opens the page (on this test server).
    let mailer = roadshow::mail::worker::Mailer::from_config(&app.config).unwrap();
    roadshow::mail::worker::deliver_due(&app.db, &mailer, chrono::Utc::now()).await.unwrap();
    let body = last_email_text(&app);
    let link = body
        .split_whitespace()
        .find(|w| w.contains("/manage/") && w.contains("token="))
        .unwrap_or_else(|| panic!("no manage link in: {body}"));
    let path = &link[link.find("/manage/").unwrap()..];
    b.goto(&app.url(path)).await;
    assert!(b.text("main").await.contains("Grow with Social: Austin"));
    b.click_to_load("form button[type=submit]").await;
    assert!(b.text("main").await.to_lowercase().contains("cancelled"), "{}", b.text("main").await);

    // The seat is free again.
    let seats = expect_status(app.get(&format!("/api/v1/events/{event}")).await, 200).await;
    assert_eq!(seats["seats_left"], 40);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_form_error_is_shown_beside_its_field_and_what_was_typed_is_kept() {
    if !browser_ready() {
        return;
    }
    let app = TestApp::spawn(Backend::Sqlite, |_| {}).await;
    let event = texas_stop(&app, 40).await;
    let b = Browser::start().await;
    b.size(390, 844).await;
    for (lang, message) in [
        ("en", "Enter the business's email address, like name@example.com."),
        ("es", "Escriba el correo electrónico del negocio, como nombre@ejemplo.com."),
    ] {
        b.goto(&app.url(&format!("/events/{event}?lang={lang}"))).await;
        b.type_into("#f-attendee_name", "Ana Gómez").await;
        b.type_into("#f-attendee_email", "ana@example.com").await;
        b.type_into("#f-business_name", "Panadería Ana").await;
        b.type_into("#f-business_email", "not an address").await;
        b.choose("#f-business_state", "TX").await;
        b.click_to_load("form.register button[type=submit]").await;
        // Beside the field, tied to it for screen readers, and nothing else is marked.
        assert_eq!(b.text("#e-business_email").await, message);
        let described = b
            .script("return document.querySelector('#f-business_email').getAttribute('aria-describedby')", json!([]))
            .await;
        assert!(described.as_str().unwrap().contains("e-business_email"), "{described}");
        assert_eq!(b.count("[aria-invalid=true]").await, 1);
        assert_eq!(b.value("#f-business_name").await, "Panadería Ana");
        assert_eq!(b.value("#f-business_email").await, "not an address");
        assert_eq!(b.value("#f-attendee_name").await, "Ana Gómez");
        b.screenshot(&format!("form-error-{lang}-phone")).await;
    }
    // Nothing was registered.
    let seats = expect_status(app.get(&format!("/api/v1/events/{event}")).await, 200).await;
    assert_eq!(seats["seats_left"], 40);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_main_page_passes_an_accessibility_scan_and_is_photographed_at_two_widths() {
    if !browser_ready() {
        return;
    }
    let app = TestApp::spawn(Backend::Sqlite, |_| {}).await;
    let event = texas_stop(&app, 40).await;
    let webinar = app.published_webinar(100).await;
    app.create_org("Austin Chamber of Commerce", "local_chamber", &["TX"]).await;
    let b = Browser::start().await;
    let pages = [
        ("home", "/".to_string()),
        ("events-tx", "/events?state=TX".to_string()),
        ("event", format!("/events/{event}")),
        ("webinar-es", format!("/events/{webinar}?lang=es")),
        ("state-tx", "/states/TX".to_string()),
        ("state-tx-es", "/states/TX?lang=es".to_string()),
        ("embed-tx", "/embed/states/TX".to_string()),
        ("resources", "/resources".to_string()),
        ("resources-es", "/resources?lang=es&kind=guide".to_string()),
        ("not-found", "/events/00000000-0000-4000-8000-000000000000".to_string()),
    ];
    let mut problems = Vec::new();
    for (width, height, tag) in [(390, 844, "phone"), (1280, 900, "desktop")] {
        b.size(width, height).await;
        for (name, path) in &pages {
            b.goto(&app.url(path)).await;
            b.screenshot(&format!("{name}-{tag}")).await;
            // No sideways scrolling on a phone.
            let overflow =
                b.script("return document.documentElement.scrollWidth > window.innerWidth + 1", json!([])).await;
            if overflow == json!(true) {
                problems.push(format!("{path} at {width}px scrolls sideways"));
            }
            if tag == "desktop" {
                for v in b.accessibility_violations().await {
                    problems.push(format!("{path}: {v}"));
                }
            }
        }
    }
    // After a refused form too (errors shown).
    b.goto(&app.url(&format!("/events/{event}"))).await;
    b.click_to_load("form.register button[type=submit]").await;
    for v in b.accessibility_violations().await {
        problems.push(format!("form with errors: {v}"));
    }
    b.screenshot("event-form-errors-desktop").await;
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_keyboard_reaches_the_skip_link_then_the_form_in_order() {
    if !browser_ready() {
        return;
    }
    let app = TestApp::spawn(Backend::Sqlite, |_| {}).await;
    let event = texas_stop(&app, 40).await;
    let b = Browser::start().await;
    b.size(1280, 900).await;
    b.goto(&app.url(&format!("/events/{event}"))).await;
    // The first Tab lands on the skip link.
    b.press_tab().await;
    let first = b.script("return document.activeElement.getAttribute('href')", json!([])).await;
    assert_eq!(first, json!("#main"));
    // Tabbing on reaches the form's fields in reading order.
    let mut seen = Vec::new();
    for _ in 0..40 {
        b.press_tab().await;
        let id = b.focused_id().await;
        if id.starts_with("f-") && !seen.contains(&id) {
            seen.push(id);
        }
    }
    let want = [
        "f-attendee_name",
        "f-attendee_email",
        "f-business_name",
        "f-business_email",
        "f-business_state",
        "f-business_industry",
        "f-business_employees",
        "f-business_website",
        "f-acc_wheelchair_access",
        "f-acc_sign_language_interpreter",
        "f-acc_live_captions",
        "f-acc_another_language",
        "f-acc_other",
        "f-accommodation_note",
        "f-marketing_consent",
    ];
    assert_eq!(seen, want);
}
