//! Registering, logging in and out, the lockout message (A3), the language switch, CSRF,
//! the security headers and the session cookie, and the portal's 404 page.

use super::browser::Browser;
use super::http::PortalClient;
use crate::helpers::spawn_broker;

#[actix_rt::test]
async fn a1_register_lands_signed_in_then_log_out_and_in_again() {
    let broker = spawn_broker().await;
    let b = Browser::start().await;

    b.goto(&format!("{}/", broker.address)).await;
    b.axe("welcome").await;
    b.screenshot("welcome").await;
    b.click_link("Create account").await;
    assert!(b.current_url().await.ends_with("/register"));
    b.axe("register").await;
    b.screenshot("register").await;

    b.fill("Email", "ada@uni.edu").await;
    b.fill("Password", "correct horse").await;
    b.fill("Name", "Ada Lovelace").await;
    b.click_button("Create account").await;

    assert_eq!(b.current_url().await, format!("{}/", broker.address));
    let home = b.text().await;
    assert!(home.contains("My licenses and pools"), "{home}");
    assert!(home.contains("You have no licenses yet"), "{home}");
    assert!(home.contains("Ada Lovelace"), "the name is shown: {home}");
    b.axe("home, no licenses").await;
    b.screenshot("home-empty").await;

    b.click_button("Log out").await;
    assert!(b.current_url().await.ends_with("/login"));
    b.axe("login").await;
    b.screenshot("login").await;

    b.fill("Email", "ADA@uni.edu").await;
    b.fill("Password", "correct horse").await;
    b.click_button("Log in").await;
    assert_eq!(b.current_url().await, format!("{}/", broker.address));
    assert!(b.text().await.contains("Ada Lovelace"));

    // The account is the API's account too.
    broker.login("ada@uni.edu", "correct horse").await;
}

#[actix_rt::test]
async fn a1_a_taken_email_and_a_short_password_are_refused_on_the_form_with_what_was_typed() {
    let broker = spawn_broker().await;
    broker
        .create_account("taken@uni.edu", "correct horse")
        .await;
    let b = Browser::start().await;

    b.goto(&format!("{}/register", broker.address)).await;
    b.fill("Email", "taken@uni.edu").await;
    b.fill("Password", "correct horse").await;
    b.fill("Name", "Bo").await;
    b.click_button("Create account").await;
    let text = b.text().await;
    assert!(
        text.contains("An account with this email exists already"),
        "{text}"
    );
    b.axe("register, email taken").await;
    b.screenshot("register-email-taken").await;

    let mut http = PortalClient::new(&broker.address);
    let csrf = http.csrf_of("/register").await;
    let res = http
        .post(
            "/register",
            &[
                ("csrf", &csrf),
                ("email", "new@uni.edu"),
                ("password", "short"),
                ("name", "New"),
            ],
        )
        .await;
    assert_eq!(res.status(), 422);
    let page = res.text().await.expect("a page");
    assert!(page.contains("at least 8 characters"), "{page}");
    assert!(
        page.contains("value=\"new@uni.edu\""),
        "what was typed is kept"
    );
    // The browser's own check (minlength) stops a short password before it is sent; the
    // broker refuses it all the same.
    let res = broker
        .post(
            "/v1/auth/login",
            &serde_json::json!({"email": "new@uni.edu", "password": "short"}),
        )
        .await;
    assert_eq!(
        res.status(),
        401,
        "no account was created with a short password"
    );
}

#[actix_rt::test]
async fn a3_the_login_page_says_how_long_to_wait_after_ten_failures() {
    let broker = spawn_broker().await;
    broker.create_account("lock@uni.edu", "correct horse").await;
    let mut http = PortalClient::new(&broker.address);
    let csrf = http.csrf_of("/login").await;
    for attempt in 1..=10 {
        let res = http
            .post(
                "/login",
                &[
                    ("csrf", &csrf),
                    ("email", "lock@uni.edu"),
                    ("password", "wrong one"),
                ],
            )
            .await;
        assert_eq!(res.status(), 401, "attempt {attempt}");
        let page = res.text().await.expect("a page");
        assert!(
            page.contains("The email or the password is wrong."),
            "{page}"
        );
    }
    let res = http
        .post(
            "/login",
            &[
                ("csrf", &csrf),
                ("email", "lock@uni.edu"),
                ("password", "correct horse"),
            ],
        )
        .await;
    assert_eq!(res.status(), 429, "locked even with the right password");
    let retry_after: u64 = res.headers()["retry-after"]
        .to_str()
        .ok()
        .and_then(|v| v.parse().ok())
        .expect("Retry-After in seconds");
    assert!((840..=900).contains(&retry_after), "{retry_after}");
    let page = res.text().await.expect("a page");
    assert!(page.contains("Please wait 15 minutes"), "{page}");

    // The same in the browser, from the same address, for the screenshot and axe.
    let b = Browser::start().await;
    b.goto(&format!("{}/login", broker.address)).await;
    b.fill("Email", "lock@uni.edu").await;
    b.fill("Password", "correct horse").await;
    b.click_button("Log in").await;
    assert!(b.text().await.contains("Please wait 15 minutes"));
    b.axe("login, locked out").await;
    b.screenshot("login-locked").await;
}

#[actix_rt::test]
async fn the_language_switch_speaks_german_on_every_page_and_remembers_it() {
    let broker = spawn_broker().await;
    let b = Browser::start().await;
    b.goto(&format!("{}/login", broker.address)).await;
    b.click_link("Deutsch").await;
    assert!(
        b.current_url().await.ends_with("/login"),
        "back where it was"
    );
    let text = b.text().await;
    assert!(text.contains("Anmelden"), "{text}");
    assert!(text.contains("Passwort"), "{text}");
    b.axe("login, German").await;
    b.screenshot("login-de").await;

    b.click_link("Konto anlegen").await;
    let text = b.text().await;
    assert!(
        text.contains("Konto anlegen") && text.contains("Mindestens 8 Zeichen"),
        "{text}"
    );
    b.fill("E-Mail", "de@uni.edu").await;
    b.fill("Passwort", "richtiges pferd").await;
    b.fill("Name", "Dora").await;
    b.click_button("Konto anlegen").await;
    let text = b.text().await;
    assert!(text.contains("Meine Lizenzen und Pools"), "{text}");

    b.click_link("Español").await;
    assert!(b.text().await.contains("Mis licencias y grupos"));
    b.axe("home, Spanish").await;
}

#[actix_rt::test]
async fn the_browser_language_is_used_until_one_is_chosen() {
    let broker = spawn_broker().await;
    let mut http = PortalClient::new(&broker.address);
    let res = http
        .client_get_with_language("/login", "es-ES,es;q=0.9,en;q=0.5")
        .await;
    let page = res.text().await.expect("a page");
    assert!(page.contains("lang=\"es\""), "{page}");
    assert!(page.contains("Iniciar sesión"));
}

#[actix_rt::test]
async fn a_form_posted_without_or_with_a_wrong_csrf_token_is_refused() {
    let broker = spawn_broker().await;
    broker.create_account("csrf@uni.edu", "correct horse").await;
    let mut http = PortalClient::new(&broker.address);
    let good = http.csrf_of("/login").await;
    let login = |csrf: &'static str| {
        [
            ("csrf", csrf),
            ("email", "csrf@uni.edu"),
            ("password", "correct horse"),
        ]
    };
    let res = http.post("/login", &login("")[1..]).await;
    assert_eq!(res.status(), 403, "no token");
    let page = res.text().await.expect("a page");
    assert!(page.contains("This form has expired or did not come from this site"));
    assert!(page.contains("Back to the start page"), "a way back");
    let res = http
        .post(
            "/login",
            &login("0000000000000000000000000000000000000000000000000000000000000000"),
        )
        .await;
    assert_eq!(res.status(), 403, "a wrong token");
    // A forged post from another site carries the browser's cookie but not the token.
    assert!(
        http.cookie("sb_session").is_none(),
        "no session was started"
    );
    let ok: Vec<(&str, &str)> = vec![
        ("csrf", good.as_str()),
        ("email", "csrf@uni.edu"),
        ("password", "correct horse"),
    ];
    let res = http.post("/login", &ok).await;
    assert_eq!(res.status(), 303, "the right token signs in");
    assert!(http.cookie("sb_session").is_some());
    let csrf_after = http.csrf_of("/").await;
    http.forget("sb_csrf");
    let res = http.post("/logout", &[("csrf", &csrf_after)]).await;
    assert_eq!(res.status(), 403, "a token without its cookie is refused");
}

#[actix_rt::test]
async fn pages_carry_the_security_headers_and_the_session_cookie_is_httponly_and_lax() {
    let broker = spawn_broker().await;
    let mut http = PortalClient::new(&broker.address);
    for path in ["/", "/login", "/register"] {
        let res = http.get(path).await;
        assert_eq!(res.status(), 200, "{path}");
        let h = res.headers();
        let csp = h["content-security-policy"].to_str().expect("ascii");
        assert!(csp.contains("default-src 'none'"), "{path}: {csp}");
        assert!(csp.contains("frame-ancestors 'none'"), "{path}: {csp}");
        assert!(
            !csp.contains("unsafe-inline"),
            "{path}: no inline script or style"
        );
        assert_eq!(h["x-frame-options"], "DENY", "{path}");
        assert_eq!(h["x-content-type-options"], "nosniff", "{path}");
        assert_eq!(h["referrer-policy"], "same-origin", "{path}");
    }
    broker
        .create_account("cookie@uni.edu", "correct horse")
        .await;
    let csrf = http.csrf_of("/login").await;
    let res = http
        .post(
            "/login",
            &[
                ("csrf", &csrf),
                ("email", "cookie@uni.edu"),
                ("password", "correct horse"),
            ],
        )
        .await;
    assert_eq!(res.status(), 303);
    let session = res
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|c| c.starts_with("sb_session="))
        .expect("a session cookie")
        .to_owned();
    assert!(session.contains("HttpOnly"), "{session}");
    assert!(session.contains("SameSite=Lax"), "{session}");
    assert!(
        !session.contains("Secure"),
        "plain http: not Secure ({session})"
    );
}

#[actix_rt::test]
async fn a_session_cookie_is_secure_when_the_portal_is_served_over_https() {
    let broker = crate::helpers::spawn_broker_with(&[(
        "SEATBROKER__SERVER__PUBLIC_URL",
        "https://licenses.uni.edu",
    )])
    .await;
    let mut http = PortalClient::new(&broker.address);
    let res = http.get("/login").await;
    let csrf_cookie = res
        .headers()
        .get("set-cookie")
        .and_then(|v| v.to_str().ok())
        .expect("a CSRF cookie")
        .to_owned();
    assert!(csrf_cookie.contains("Secure"), "{csrf_cookie}");
}

#[actix_rt::test]
async fn unknown_pages_show_the_portal_404_with_a_way_back_and_the_api_keeps_its_json() {
    let broker = spawn_broker().await;
    let b = Browser::start().await;
    b.goto(&format!("{}/no-such-page", broker.address)).await;
    let text = b.text().await;
    assert!(text.contains("There is no such page."), "{text}");
    b.axe("404").await;
    b.screenshot("not-found").await;
    b.click_link("Back to the start page").await;
    assert_eq!(b.current_url().await, format!("{}/", broker.address));

    let res = broker.get("/v1/no-such-route").await;
    assert_eq!(res.status(), 404);
    let body: serde_json::Value = res.json().await.expect("json");
    assert_eq!(body["error"]["code"], "not_found");
}

#[actix_rt::test]
async fn after_logging_in_the_portal_goes_back_only_to_its_own_pages() {
    let broker = spawn_broker().await;
    broker.create_account("back@uni.edu", "correct horse").await;
    let mut http = PortalClient::new(&broker.address);
    let csrf = http.csrf_of("/login").await;
    let res = http
        .post(
            "/login",
            &[
                ("csrf", &csrf),
                ("email", "back@uni.edu"),
                ("password", "correct horse"),
                ("next", "//evil.example"),
            ],
        )
        .await;
    assert_eq!(res.status(), 303);
    assert_eq!(res.headers()["location"], "/", "never to another site");
}
