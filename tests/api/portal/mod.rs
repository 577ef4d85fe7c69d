//! The web portal in a real browser: each test starts a headless Chromium of its own
//! (`browser::Browser`, through its own chromedriver), works the pages the way a person does
//! (fields by their label, buttons and links by their text) and checks every page it visits
//! with axe-core, failing on any serious or critical accessibility violation. Screenshots go
//! to `target/portal-screenshots/`. scripts/test installs Chromium, chromedriver and axe-core
//! when they are missing; nextest runs at most two of these tests at once
//! (`.config/nextest.toml`), as each holds a browser.
//!
//! The tests in this file prove the harness itself on a tiny page served here, not by the
//! broker; the portal's own pages are tested in the modules beside it.

mod activate;
mod browser;
mod delete;
mod http;
mod journey;
mod mine;
mod offline;
mod pools;
mod recovery;
mod sign_in;

use actix_web::{web, App, HttpResponse, HttpServer};

use browser::Browser;

/// Logs `email` in through the browser's login form, with the password the API helpers give
/// every account ("correct horse").
pub async fn log_in(b: &Browser, broker: &crate::helpers::TestBroker, email: &str) {
    b.goto(&format!("{}/login", broker.address)).await;
    b.fill("Email", email).await;
    b.fill("Password", "correct horse").await;
    b.click_button("Log in").await;
}

/// A portal client signed in as `email` with `password`, and its CSRF token.
pub async fn signed_in(
    broker: &crate::helpers::TestBroker,
    email: &str,
    password: &str,
) -> (http::PortalClient, String) {
    let mut http = http::PortalClient::new(&broker.address);
    let csrf = http.csrf_of("/login").await;
    let res = http
        .post(
            "/login",
            &[("csrf", &csrf), ("email", email), ("password", password)],
        )
        .await;
    assert_eq!(res.status(), 303, "{email} logs in");
    (http, csrf)
}

/// The last link to `/{kind}/{token}` the broker emailed to `to`, as a path (the links carry
/// `server.public_url`, not the test broker's address). Quoted-printable line breaks are
/// undone first.
pub fn emailed_link(broker: &crate::helpers::TestBroker, to: &str, kind: &str) -> String {
    let prefix = format!("/{kind}/");
    broker
        .outbox()
        .iter()
        .rev()
        .map(|raw| {
            raw.replace("=\r\n", "")
                .replace("=\n", "")
                .replace("=3D", "=")
        })
        .filter(|mail| mail.contains(to))
        .filter_map(|mail| {
            let at = mail.find(&prefix)?;
            let token: String = mail[at + prefix.len()..]
                .chars()
                .take_while(char::is_ascii_hexdigit)
                .collect();
            (token.len() == 64).then(|| format!("{prefix}{token}"))
        })
        .next()
        .unwrap_or_else(|| panic!("no {kind} link was emailed to {to}"))
}

/// A page with the markup axe-core wants of every page: a language, a title, a main landmark.
fn page(title: &str, body: &str) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .body(format!(
            "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{title}</title></head><body><main><h1>{title}</h1>{body}</main></body></html>"
        ))
}

/// Serves a labelled sign-in form (`/`), the page it posts to (`/signed-in`, which sets a
/// cookie), `/signed-out`, and a form with an unlabelled field (`/unlabelled`) on a free
/// loopback port; returns `http://127.0.0.1:PORT`.
fn serve_sample_pages() -> String {
    let server = HttpServer::new(|| {
        App::new()
            .route(
                "/",
                web::get().to(|| async {
                    page(
                        "Sign in",
                        "<form method=\"post\" action=\"/signed-in\">\
                         <label for=\"email\">Email</label>\
                         <input id=\"email\" name=\"email\" type=\"email\" autocomplete=\"email\">\
                         <label>Display name <input name=\"name\" type=\"text\"></label>\
                         <button type=\"submit\">Sign in</button></form>",
                    )
                }),
            )
            .route(
                "/signed-in",
                web::post().to(
                    |form: web::Form<std::collections::HashMap<String, String>>| async move {
                        let mut res = page(
                            "Welcome",
                            &format!(
                                "<p>Signed in as {} ({}).</p><a href=\"/signed-out\">Sign out</a>",
                                form.get("name").map_or("", String::as_str),
                                form.get("email").map_or("", String::as_str),
                            ),
                        );
                        res.add_cookie(
                            &actix_web::cookie::Cookie::build("portal_session", "s3cr3t")
                                .path("/")
                                .http_only(true)
                                .finish(),
                        )
                        .expect("a valid cookie");
                        res
                    },
                ),
            )
            .route(
                "/signed-out",
                web::get().to(|| async { page("Signed out", "<p>See you soon.</p>") }),
            )
            .route(
                "/unlabelled",
                web::get().to(|| async {
                    page(
                        "Unlabelled",
                        "<form><input type=\"text\" name=\"q\"><button>Search</button></form>",
                    )
                }),
            )
    })
    .workers(1)
    .disable_signals()
    .bind(("127.0.0.1", 0))
    .expect("a free port");
    let address = format!("http://{}", server.addrs()[0]);
    actix_rt::spawn(server.run());
    address
}

#[actix_rt::test]
async fn harness_drives_chromium_fills_fields_by_label_and_passes_axe_on_an_accessible_page() {
    let site = serve_sample_pages();
    let browser = Browser::start().await;

    browser.goto(&format!("{site}/")).await;
    browser.axe("sign-in form").await;
    browser.fill("Email", "ada@uni.edu").await;
    browser.fill("Display name", "Ada").await;
    browser.click_button("Sign in").await;

    assert_eq!(browser.current_url().await, format!("{site}/signed-in"));
    assert!(
        browser
            .text()
            .await
            .contains("Signed in as Ada (ada@uni.edu)."),
        "the form was posted with what was typed: {}",
        browser.text().await
    );
    let cookies = browser.cookies().await;
    assert!(
        cookies
            .iter()
            .any(|c| c.name() == "portal_session" && c.value() == "s3cr3t"),
        "the session cookie is set: {cookies:?}"
    );
    browser.axe("welcome page").await;

    browser.set_window_size(360, 740).await;
    let shot = browser.screenshot("harness-welcome-360px").await;
    let png = std::fs::read(&shot).expect("the screenshot is written");
    assert!(
        png.starts_with(b"\x89PNG\r\n\x1a\n"),
        "{} is a PNG",
        shot.display()
    );

    browser.click_link("Sign out").await;
    assert!(browser.text().await.contains("See you soon."));
}

/// The check can fail: axe-core finds the field without a label, and `axe` panics with it.
#[actix_rt::test]
#[should_panic(expected = "label (critical): Form elements must have labels")]
async fn harness_axe_check_fails_a_page_with_an_unlabelled_field() {
    let site = serve_sample_pages();
    let browser = Browser::start().await;

    browser.goto(&format!("{site}/unlabelled")).await;
    let violations = browser.axe_violations().await;
    assert!(
        violations.iter().any(|v| v.id == "label"
            && v.is_serious()
            && v.nodes.iter().any(|n| n.contains("name=\"q\""))),
        "axe reports the unlabelled field: {violations:?}"
    );
    browser.axe("unlabelled form").await;
}
