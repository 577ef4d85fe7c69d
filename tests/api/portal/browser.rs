//! A headless Chromium for the portal's tests, driven through a `chromedriver` of its own.
//!
//! [`Browser::start`] spawns `chromedriver` on a free loopback port (in a process group of its
//! own, so that the Chromium it launches goes with it), waits until its `/status` answers, and
//! opens a WebDriver session with fantoccini on a fresh temporary profile. The helpers find
//! things the way a person does: inputs by their label, buttons and links by their text. Every
//! helper panics with what it looked for, so that a failed step reads as the test's failure.
//!
//! The `Browser` owns its chromedriver, its Chromium and its profile directory; dropping it
//! ends the session (Chromium quits), then kills what is left of the process group.

use std::io::{Read, Write};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::cookies::Cookie;
use fantoccini::elements::Element;
use fantoccini::{Client, Locator};
use hyper_util::client::legacy::connect::HttpConnector;
use serde_json::{json, Value};

/// How long chromedriver may take to answer `/status` and Chromium to open a session.
const START_LIMIT: Duration = Duration::from_secs(20);

/// How long a helper waits for the element it looks for (a page may still be loading).
const FIND_LIMIT: Duration = Duration::from_secs(5);

/// How long `Drop` waits for chromedriver to end the session.
const CLOSE_LIMIT: Duration = Duration::from_secs(10);

/// The workspace root (the root crate's manifest directory).
fn workspace() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// `axe.min.js`: `SEATBROKER_AXE_JS` (scripts/test sets it), or where scripts/test installs it.
fn axe_js_path() -> PathBuf {
    std::env::var_os("SEATBROKER_AXE_JS")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace().join("target/browser/node_modules/axe-core/axe.min.js"))
}

/// The first `program` on `PATH`.
fn on_path(program: &str) -> Option<PathBuf> {
    std::env::split_paths(&std::env::var_os("PATH")?)
        .map(|dir| dir.join(program))
        .find(|path| path.is_file())
}

/// `s` as an XPath string literal (XPath 1.0 has no escapes: `concat()` when `s` holds both
/// kinds of quote).
fn xpath_literal(s: &str) -> String {
    if !s.contains('\'') {
        format!("'{s}'")
    } else if !s.contains('"') {
        format!("\"{s}\"")
    } else {
        let parts: Vec<String> = s.split('\'').map(|p| format!("'{p}'")).collect();
        format!("concat({})", parts.join(", \"'\", "))
    }
}

/// One rule axe-core found broken on a page.
#[derive(Debug, Clone)]
pub struct AxeViolation {
    /// The rule, e.g. `label`, `color-contrast`.
    pub id: String,
    /// `minor`, `moderate`, `serious` or `critical`.
    pub impact: String,
    /// What the rule asks for, in a sentence.
    pub help: String,
    /// The offending nodes: CSS selector and the start of their HTML.
    pub nodes: Vec<String>,
}

impl AxeViolation {
    /// Whether the violation fails a page: `serious` or `critical`.
    pub fn is_serious(&self) -> bool {
        matches!(self.impact.as_str(), "serious" | "critical")
    }
}

/// A headless Chromium with its own chromedriver and profile; see the module documentation.
pub struct Browser {
    client: Client,
    session_id: String,
    driver: Child,
    driver_port: u16,
    /// Chromium's `--user-data-dir` and chromedriver's log; removed after both are gone.
    _profile: tempfile::TempDir,
}

impl Browser {
    /// Starts chromedriver and a headless Chromium session (window 1280×900).
    ///
    /// Panics when `chromium` or `chromedriver` is not on `PATH` (scripts/test installs
    /// Debian's `chromium` and `chromium-driver`) or when they do not start within 20 s.
    pub async fn start() -> Browser {
        let chromium = on_path("chromium")
            .expect("no chromium on PATH (scripts/test installs Debian's chromium)");
        let driver_binary = on_path("chromedriver")
            .expect("no chromedriver on PATH (scripts/test installs Debian's chromium-driver)");
        let profile = tempfile::tempdir().expect("a temporary profile directory");
        let log_path = profile.path().join("chromedriver.log");

        // The free port is found by binding and letting go; should another process take it
        // in between, chromedriver exits and is started again on another port.
        let mut attempts = 0;
        let (driver, driver_port) = loop {
            attempts += 1;
            let port = std::net::TcpListener::bind("127.0.0.1:0")
                .and_then(|l| l.local_addr())
                .expect("a free port")
                .port();
            let log = std::fs::File::create(&log_path).expect("chromedriver's log file");
            let mut driver = Command::new(&driver_binary)
                .arg(format!("--port={port}"))
                .stdin(Stdio::null())
                .stdout(log.try_clone().expect("log file handle"))
                .stderr(log)
                .process_group(0)
                .spawn()
                .expect("chromedriver starts");
            match wait_for_status(&mut driver, port).await {
                Ok(()) => break (driver, port),
                Err(why) => {
                    kill_group(&mut driver);
                    let log = std::fs::read_to_string(&log_path).unwrap_or_default();
                    assert!(attempts < 3, "chromedriver {why}:\n{log}");
                }
            }
        };

        let user_data_dir = profile.path().join("chromium");
        let capabilities = json!({
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": chromium,
                "args": [
                    "--headless=new",
                    // Chromium's sandbox refuses to run as root (the test machines do).
                    "--no-sandbox",
                    "--disable-gpu",
                    // /dev/shm is small in containers; Chromium crashes when it fills.
                    "--disable-dev-shm-usage",
                    "--window-size=1280,900",
                    format!("--user-data-dir={}", user_data_dir.display()),
                ],
            },
        });
        let Value::Object(capabilities) = capabilities else {
            unreachable!("capabilities are a JSON object")
        };
        let address = format!("http://127.0.0.1:{driver_port}");
        let connect =
            Client::with_capabilities_and_connector(&address, &capabilities, HttpConnector::new());
        let client = match tokio::time::timeout(START_LIMIT, connect).await {
            Ok(Ok(client)) => client,
            outcome => {
                let mut driver = driver;
                kill_group(&mut driver);
                let log = std::fs::read_to_string(&log_path).unwrap_or_default();
                match outcome {
                    Ok(Err(e)) => panic!("no Chromium session: {e}\n{log}"),
                    _ => panic!("no Chromium session within {START_LIMIT:?}\n{log}"),
                }
            }
        };
        let mut browser = Browser {
            client,
            session_id: String::new(),
            driver,
            driver_port,
            _profile: profile,
        };
        // This type ends the session itself in `Drop` (a blocking request: the runtime that
        // fantoccini's session task needs may be gone by then).
        browser.client.persist().await.expect("session persisted");
        browser.session_id = browser
            .client
            .session_id()
            .await
            .expect("session id")
            .expect("a session");
        browser
    }

    /// Opens `url` and waits until it has loaded.
    pub async fn goto(&self, url: &str) {
        self.client
            .goto(url)
            .await
            .unwrap_or_else(|e| panic!("opening {url}: {e}"));
    }

    /// The first element `xpath` finds within a few seconds; `what` names it in the panic.
    async fn find(&self, xpath: &str, what: &str) -> Element {
        match self
            .client
            .wait()
            .at_most(FIND_LIMIT)
            .for_element(Locator::XPath(xpath))
            .await
        {
            Ok(element) => element,
            Err(e) => panic!(
                "no {what} on {} within {FIND_LIMIT:?} ({e}); the page says:\n{}",
                self.current_url().await,
                self.text().await
            ),
        }
    }

    /// The field whose label is `label` (whitespace-normalised, exact): a `<label for>` naming
    /// its id, a `<label>` around it, or its `aria-label`.
    async fn field(&self, label: &str) -> Element {
        let l = xpath_literal(label);
        let field = "*[self::input or self::textarea or self::select]";
        let xpath = format!(
            "//{field}[@id=//label[normalize-space()={l}]/@for] \
             | //label[normalize-space()={l}]//{field} \
             | //{field}[normalize-space(@aria-label)={l}]"
        );
        self.find(&xpath, &format!("field labelled {label:?}"))
            .await
    }

    /// Types `value` into the field whose label is `label` (whitespace-normalised, exact):
    /// a `<label for>` naming its id, a `<label>` around it, or its `aria-label`. Whatever the
    /// field held is cleared first.
    pub async fn fill(&self, label: &str, value: &str) {
        let input = self.field(label).await;
        input
            .clear()
            .await
            .unwrap_or_else(|e| panic!("clearing the field {label:?}: {e}"));
        input
            .send_keys(value)
            .await
            .unwrap_or_else(|e| panic!("typing into the field {label:?}: {e}"));
    }

    /// Clicks the button whose visible text is `name` (a `<button>`, or an
    /// `<input type="submit|button">` by its value) and waits for the navigation it starts.
    pub async fn click_button(&self, name: &str) {
        let n = xpath_literal(name);
        let xpath = format!(
            "//button[normalize-space()={n}] \
             | //input[(@type='submit' or @type='button') and normalize-space(@value)={n}]"
        );
        let button = self.find(&xpath, &format!("button {name:?}")).await;
        let page = self.page_root().await;
        button
            .click()
            .await
            .unwrap_or_else(|e| panic!("clicking the button {name:?}: {e}"));
        self.wait_for_navigation(page, &format!("button {name:?}"))
            .await;
    }

    /// The page's root element, which goes stale once another page is loaded.
    async fn page_root(&self) -> Element {
        self.client
            .find(Locator::Css("html"))
            .await
            .unwrap_or_else(|e| panic!("no html element: {e}"))
    }

    /// Waits (polling, within `FIND_LIMIT`) until `old_root`'s page has been replaced and the
    /// new one has loaded; panics when `what` started no navigation.
    async fn wait_for_navigation(&self, old_root: Element, what: &str) {
        let started = std::time::Instant::now();
        while old_root.tag_name().await.is_ok() {
            if started.elapsed() > FIND_LIMIT {
                panic!(
                    "{what} loaded no new page within {FIND_LIMIT:?}; the page says:\n{}",
                    self.text().await
                );
            }
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
        while self
            .client
            .execute("return document.readyState", vec![])
            .await
            .ok()
            .and_then(|v| v.as_str().map(|s| s == "complete"))
            != Some(true)
        {
            if started.elapsed() > FIND_LIMIT {
                panic!("the page after {what} did not finish loading within {FIND_LIMIT:?}");
            }
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
    }

    /// Clicks the link whose visible text is `text` (whitespace-normalised, exact) and waits
    /// for the page it opens.
    pub async fn click_link(&self, text: &str) {
        let xpath = format!("//a[normalize-space()={}]", xpath_literal(text));
        let link = self.find(&xpath, &format!("link {text:?}")).await;
        let page = self.page_root().await;
        link.click()
            .await
            .unwrap_or_else(|e| panic!("clicking the link {text:?}: {e}"));
        self.wait_for_navigation(page, &format!("link {text:?}"))
            .await;
    }

    /// The value of the field whose label is `label` (as `fill` finds it): what a person
    /// would select and copy from a read-only field.
    pub async fn value(&self, label: &str) -> String {
        let input = self.field(label).await;
        input
            .prop("value")
            .await
            .unwrap_or_else(|e| panic!("the value of {label:?}: {e}"))
            .unwrap_or_default()
    }

    /// The page's visible text (the body's, as rendered).
    pub async fn text(&self) -> String {
        let body = self
            .client
            .find(Locator::Css("body"))
            .await
            .unwrap_or_else(|e| panic!("no body: {e}"));
        body.text()
            .await
            .unwrap_or_else(|e| panic!("the body's text: {e}"))
    }

    /// The address of the page shown.
    pub async fn current_url(&self) -> String {
        self.client
            .current_url()
            .await
            .unwrap_or_else(|e| panic!("the current URL: {e}"))
            .to_string()
    }

    /// Resizes the window, e.g. to 360 px wide for a phone.
    pub async fn set_window_size(&self, width: u32, height: u32) {
        self.client
            .set_window_size(width, height)
            .await
            .unwrap_or_else(|e| panic!("resizing the window to {width}×{height}: {e}"));
    }

    /// Saves what the window shows to `target/portal-screenshots/{name}.png`; returns the path.
    pub async fn screenshot(&self, name: &str) -> PathBuf {
        let png = self
            .client
            .screenshot()
            .await
            .unwrap_or_else(|e| panic!("screenshot {name}: {e}"));
        let dir = workspace().join("target/portal-screenshots");
        std::fs::create_dir_all(&dir).expect("the screenshot directory");
        let path = dir.join(format!("{name}.png"));
        std::fs::write(&path, png).unwrap_or_else(|e| panic!("writing {}: {e}", path.display()));
        path
    }

    /// The cookies the browser holds for the page shown (`HttpOnly` ones included).
    pub async fn cookies(&self) -> Vec<Cookie<'static>> {
        self.client
            .get_all_cookies()
            .await
            .unwrap_or_else(|e| panic!("the cookies: {e}"))
    }

    /// Every rule axe-core finds broken on the page shown, whatever its impact. axe-core is
    /// injected into the page first, unless it is there already.
    pub async fn axe_violations(&self) -> Vec<AxeViolation> {
        let present = self
            .client
            .execute("return typeof window.axe === 'object';", vec![])
            .await
            .unwrap_or_else(|e| panic!("looking for axe on the page: {e}"));
        if present != Value::Bool(true) {
            let path = axe_js_path();
            let source = std::fs::read_to_string(&path).unwrap_or_else(|e| {
                panic!(
                    "axe-core at {} ({e}): run scripts/test once, which installs the \
                     axe-core it pins into target/browser",
                    path.display()
                )
            });
            self.client
                .execute(&source, vec![])
                .await
                .unwrap_or_else(|e| panic!("injecting axe-core: {e}"));
        }
        let report = self
            .client
            .execute_async(
                r#"
                const done = arguments[arguments.length - 1];
                const selector = t => Array.isArray(t) ? t.join(" >>> ") : t;
                axe.run(document, { resultTypes: ["violations"] })
                    .then(results => done({ violations: results.violations.map(v => ({
                        id: v.id,
                        impact: v.impact || "",
                        help: v.help,
                        nodes: v.nodes.map(n =>
                            n.target.map(selector).join(" ") + "  " + n.html.slice(0, 120)),
                    })) }))
                    .catch(e => done({ error: String(e) }));
                "#,
                vec![],
            )
            .await
            .unwrap_or_else(|e| panic!("running axe: {e}"));
        if let Some(error) = report.get("error") {
            panic!("axe.run failed: {error}");
        }
        let strings = |v: &Value| -> Vec<String> {
            v.as_array()
                .into_iter()
                .flatten()
                .filter_map(|s| s.as_str().map(str::to_owned))
                .collect()
        };
        let text = |v: &Value| v.as_str().unwrap_or_default().to_owned();
        report["violations"]
            .as_array()
            .expect("axe's violations")
            .iter()
            .map(|v| AxeViolation {
                id: text(&v["id"]),
                impact: text(&v["impact"]),
                help: text(&v["help"]),
                nodes: strings(&v["nodes"]),
            })
            .collect()
    }

    /// Asserts that axe-core finds no `serious` or `critical` violation on the page shown;
    /// `page` names it in the panic, which lists each rule, its impact, help and nodes.
    pub async fn axe(&self, page: &str) {
        let serious: Vec<AxeViolation> = self
            .axe_violations()
            .await
            .into_iter()
            .filter(AxeViolation::is_serious)
            .collect();
        if !serious.is_empty() {
            let mut report = String::new();
            for v in &serious {
                report.push_str(&format!("\n  {} ({}): {}", v.id, v.impact, v.help));
                for node in &v.nodes {
                    report.push_str(&format!("\n      {node}"));
                }
            }
            panic!(
                "axe: {} serious or critical violation(s) on {page} ({}):{report}",
                serious.len(),
                self.current_url().await
            );
        }
    }
}

/// Polls chromedriver's `/status` until it says it is ready; an error if it exits first or
/// is not ready within [`START_LIMIT`].
async fn wait_for_status(driver: &mut Child, port: u16) -> Result<(), String> {
    let http = reqwest::Client::new();
    let started = Instant::now();
    loop {
        if let Ok(Some(status)) = driver.try_wait() {
            return Err(format!("exited ({status})"));
        }
        let answer = http
            .get(format!("http://127.0.0.1:{port}/status"))
            .timeout(Duration::from_secs(2))
            .send()
            .await;
        if let Ok(res) = answer {
            let body: Value = res.json().await.unwrap_or_default();
            if body["value"]["ready"] == Value::Bool(true) {
                return Ok(());
            }
        }
        if started.elapsed() > START_LIMIT {
            return Err(format!("not ready within {START_LIMIT:?}"));
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Kills `child`'s process group (chromedriver and the Chromium it started) and reaps it.
fn kill_group(child: &mut Child) {
    if let Ok(pgid) = i32::try_from(child.id()) {
        // SAFETY: kill(2) with a negative pid signals that process group; nothing is shared.
        unsafe { libc::kill(-pgid, libc::SIGKILL) };
    }
    let _ = child.kill();
    let _ = child.wait();
}

/// Sends chromedriver `DELETE /session/{id}` and reads its answer, which comes once Chromium
/// has quit. chromedriver keeps the connection open even after `Connection: close`, so the
/// answer ends at its `Content-Length`, not at the end of the stream.
fn end_session(port: u16, session_id: &str) -> std::io::Result<()> {
    let mut stream = std::net::TcpStream::connect(("127.0.0.1", port))?;
    stream.set_read_timeout(Some(CLOSE_LIMIT))?;
    stream.set_write_timeout(Some(CLOSE_LIMIT))?;
    write!(
        stream,
        "DELETE /session/{session_id} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\
         Content-Length: 0\r\n\r\n"
    )?;
    let mut answer = Vec::new();
    let mut chunk = [0; 4096];
    loop {
        let n = stream.read(&mut chunk)?;
        if n == 0 {
            return Ok(());
        }
        answer.extend_from_slice(&chunk[..n]);
        let text = String::from_utf8_lossy(&answer);
        if let Some(head) = text.find("\r\n\r\n") {
            let length = text[..head]
                .lines()
                .filter_map(|line| line.split_once(':'))
                .find(|(name, _)| name.trim().eq_ignore_ascii_case("content-length"))
                .and_then(|(_, value)| value.trim().parse::<usize>().ok())
                .unwrap_or(0);
            if answer.len() >= head + 4 + length {
                return Ok(());
            }
        }
    }
}

impl Drop for Browser {
    /// Ends the WebDriver session (Chromium quits and lets go of its profile) with a plain
    /// blocking request, best-effort, then kills chromedriver's process group; the profile
    /// directory goes with the fields, after Chromium.
    fn drop(&mut self) {
        let _ = end_session(self.driver_port, &self.session_id);
        kill_group(&mut self.driver);
    }
}
