//! The owner's page of a pool, `/pools/{id}`: invitation (I1, I4), join restriction (I4),
//! members with block, unblock and remove (I3, S10), the forced release of a seat (W3), the
//! settings (S4, S11, W2) and the usage charts (W4), each checked against the JSON API; and
//! that nobody but the owner opens the page or posts its forms (I5, CSRF).

use reqwest::Method;
use serde_json::{json, Value};

use super::browser::Browser;
use super::http::PortalClient;
use super::log_in;
use crate::helpers::{error, spawn_broker, TestBroker};

const MANAGE: &str = "Manage this pool: invitations, members, seats and settings";

/// A portal client signed in as `email` (password "correct horse"), with its CSRF token.
async fn portal_client(broker: &TestBroker, email: &str) -> (PortalClient, String) {
    super::signed_in(broker, email, "correct horse").await
}

/// The `value` of the input with `id` in a page's HTML.
fn input_value(page: &str, id: &str) -> String {
    let at = page
        .find(&format!("id=\"{id}\""))
        .unwrap_or_else(|| panic!("no input {id} on the page:\n{page}"));
    let rest = &page[at..];
    let rest = &rest[rest.find("value=\"").expect("a value") + "value=\"".len()..];
    rest[..rest.find('"').expect("a closing quote")].to_owned()
}

/// GET `path` as `token` and its JSON.
async fn api(broker: &TestBroker, token: &str, path: &str) -> Value {
    let res = broker.call(Method::GET, path, token, None).await;
    assert_eq!(res.status(), 200, "GET {path}");
    res.json().await.expect("json")
}

/// The pool's invite as the API answers it.
async fn api_invite(broker: &TestBroker, token: &str, pool: &str) -> (String, String) {
    let invite = api(broker, token, &format!("/v1/pools/{pool}/invite")).await;
    (
        invite["code"].as_str().expect("code").to_owned(),
        invite["url"].as_str().expect("url").to_owned(),
    )
}

/// POST /v1/seats/{seat}/heartbeat as `token`: the status and the error's reason.
async fn heartbeat(broker: &TestBroker, token: &str, seat: &str) -> (u16, Option<String>) {
    let path = format!("/v1/seats/{seat}/heartbeat");
    let res = broker.call(Method::POST, &path, token, None).await;
    if res.status().is_success() {
        return (res.status().as_u16(), None);
    }
    let (status, err) = error(res).await;
    (status, err["reason"].as_str().map(str::to_owned))
}

/// Takes a seat for `token` on `device`; answers its id.
async fn seat_of(broker: &TestBroker, token: &str, device: &str) -> String {
    seat_and_print(broker, token, device).await.0
}

/// Takes a seat for `token` on `device`; answers its id and the device's fingerprint (what
/// pages show of a device: the broker keeps no device names).
async fn seat_and_print(broker: &TestBroker, token: &str, device: &str) -> (String, String) {
    let res = broker.take_seat(token, device).await;
    assert_eq!(res.status(), 201, "a seat for {device}");
    let seat: Value = res.json().await.expect("json");
    let text = |field: &str| seat[field].as_str().expect(field).to_owned();
    (text("seat_id"), text("device_fingerprint"))
}

#[actix_rt::test]
async fn i1_i3_s10_w3_the_owner_rotates_the_invite_blocks_unblocks_removes_and_releases() {
    let broker = spawn_broker().await;
    let (owner, pool) = broker.owner_with_license("prof@uni.edu", 5).await;
    let b = Browser::start().await;
    log_in(&b, &broker, "prof@uni.edu").await;
    b.click_link(MANAGE).await;
    let page_url = format!("{}/pools/{pool}", broker.address);
    assert_eq!(b.current_url().await, page_url);
    let text = b.text().await;
    assert!(
        text.contains("Educational") && text.contains("Never"),
        "{text}"
    );
    assert!(text.contains("No one has joined yet"), "{text}");
    assert!(
        text.contains("Copy"),
        "portal.js shows the Copy button under the CSP: {text}"
    );
    b.axe("pool admin").await;
    b.screenshot("pool-admin").await;

    // The invite code and URL shown are the API's (I1).
    let (old_code, api_url) = api_invite(&broker, &owner, &pool).await;
    let (mut http, _) = portal_client(&broker, "prof@uni.edu").await;
    let html = http
        .get(&format!("/pools/{pool}"))
        .await
        .text()
        .await
        .expect("a page");
    assert_eq!(input_value(&html, "invite-code"), old_code);
    assert_eq!(input_value(&html, "invite-url"), api_url);
    assert!(api_url.ends_with(&format!("/join/{old_code}")), "{api_url}");

    // Rotating: the new code is shown, the old one stops at once (I4).
    b.click_button("Rotate code").await;
    let (new_code, new_url) = api_invite(&broker, &owner, &pool).await;
    assert_ne!(new_code, old_code);
    let text = b.text().await;
    assert!(
        text.contains(&format!("The new code is {new_code}")),
        "{text}"
    );
    let html = http
        .get(&format!("/pools/{pool}"))
        .await
        .text()
        .await
        .expect("a page");
    assert_eq!(input_value(&html, "invite-url"), new_url);
    broker.create_account("late@uni.edu", "correct horse").await;
    let late = broker.login("late@uni.edu", "correct horse").await;
    let (status, err) = error(
        broker
            .call(
                Method::POST,
                "/v1/activations",
                &late,
                Some(json!({ "code": old_code })),
            )
            .await,
    )
    .await;
    assert_eq!((status, err["code"].as_str()), (404, Some("unknown_code")));
    b.axe("pool admin, rotated").await;

    // A member who joined and took a seat is listed with it (I3).
    let (_, stu) = broker.join_with_code("stu@uni.edu", &new_code).await;
    let (seat, print) = seat_and_print(&broker, &stu, "stu-laptop").await;
    b.goto(&page_url).await;
    let text = b.text().await;
    assert!(text.contains("stu@uni.edu Test Active 1"), "{text}");
    assert!(text.contains(&print), "the seat is listed: {text}");
    b.axe("pool admin, a member").await;
    b.goto(&format!("{page_url}#members")).await;
    b.screenshot("pool-admin-members").await;

    // Blocking revokes the member's seat at once and refuses new ones (S10).
    b.click_button("Block").await;
    let text = b.text().await;
    assert!(text.contains("stu@uni.edu Test Blocked 0"), "{text}");
    assert!(text.contains("Unblock") && !text.contains(&print), "{text}");
    assert_eq!(
        heartbeat(&broker, &stu, &seat).await,
        (410, Some("member_blocked".to_owned()))
    );
    let (status, err) = error(broker.take_seat(&stu, "stu-laptop").await).await;
    assert_eq!(
        (status, err["code"].as_str()),
        (403, Some("member_blocked"))
    );
    b.axe("pool admin, blocked").await;

    b.click_button("Unblock").await;
    assert!(b.text().await.contains("stu@uni.edu Test Active 0"));
    let seat = seat_of(&broker, &stu, "stu-laptop").await;

    // The owner releases the seat; its holder hears `revoked` (W3).
    b.goto(&page_url).await;
    b.set_window_size(360, 740).await;
    b.axe("pool admin, 360 px").await;
    b.screenshot("pool-admin-360px").await;
    b.goto(&format!("{page_url}#members")).await;
    b.screenshot("pool-admin-members-360px").await;
    b.goto(&format!("{page_url}#settings")).await;
    b.screenshot("pool-admin-settings-360px").await;
    b.goto(&format!("{page_url}#usage")).await;
    b.screenshot("pool-admin-usage-360px").await;
    b.set_window_size(1280, 900).await;
    b.click_button("Release").await;
    let text = b.text().await;
    assert!(text.contains("The seat was released"), "{text}");
    assert!(!text.contains(&print), "{text}");
    assert_eq!(
        heartbeat(&broker, &stu, &seat).await,
        (410, Some("revoked".to_owned()))
    );

    // Removing takes the member off the list (I3).
    b.click_button("Remove").await;
    let text = b.text().await;
    assert!(!text.contains("stu@uni.edu"), "{text}");
    assert!(
        text.contains("The member was removed from the pool."),
        "{text}"
    );
    let members = api(&broker, &owner, &format!("/v1/pools/{pool}/members")).await;
    assert_eq!(members, json!([]));
}

#[actix_rt::test]
async fn s4_s11_w2_settings_saved_are_the_apis_and_out_of_range_values_change_nothing() {
    let broker = spawn_broker().await;
    let (owner, pool) = broker.owner_with_license("admin@uni.edu", 3).await;
    let b = Browser::start().await;
    log_in(&b, &broker, "admin@uni.edu").await;
    b.goto(&format!("{}/pools/{pool}", broker.address)).await;

    b.fill("Heartbeat timeout (seconds)", "600").await;
    b.fill("Offline limit (days)", "7").await;
    b.fill("Idle reclaim (seconds)", "900").await;
    b.click_button("Save settings").await;
    assert!(b.text().await.contains("The settings were saved."));
    let details = api(&broker, &owner, &format!("/v1/pools/{pool}")).await;
    assert_eq!(details["timeout_s"], 600);
    assert_eq!(
        details["settings"],
        json!({"timeout_s": 600, "offline_max_days": 7, "idle_reclaim_s": 900, "join_email_domain": null})
    );

    b.fill("Heartbeat timeout (seconds)", "9999999").await;
    b.fill("Idle reclaim (seconds)", "").await;
    b.click_button("Save settings").await;
    let text = b.text().await;
    assert!(
        text.contains("The heartbeat timeout must be 1 to 2592000 seconds."),
        "{text}"
    );
    b.axe("pool admin, settings refused").await;
    b.screenshot("pool-admin-settings-refused").await;
    let details = api(&broker, &owner, &format!("/v1/pools/{pool}")).await;
    assert_eq!(details["settings"]["timeout_s"], 600, "nothing changed");
    assert_eq!(
        details["settings"]["idle_reclaim_s"], 900,
        "nothing changed"
    );

    // The typed values are kept; what is not a number is out of bounds too.
    let (mut http, csrf) = portal_client(&broker, "admin@uni.edu").await;
    let res = http
        .post(
            &format!("/pools/{pool}/settings"),
            &[
                ("csrf", &csrf),
                ("timeout_s", "600"),
                ("offline_max_days", "lots"),
                ("idle_reclaim_s", ""),
            ],
        )
        .await;
    assert_eq!(res.status(), 422);
    let html = res.text().await.expect("a page");
    assert!(
        html.contains("The offline limit must be 0 to 365 days."),
        "{html}"
    );
    assert_eq!(input_value(&html, "offline_max_days"), "lots");
    assert_eq!(input_value(&html, "idle_reclaim_s"), "");

    // Empty idle reclaim turns it off.
    let res = http
        .post(
            &format!("/pools/{pool}/settings"),
            &[
                ("csrf", &csrf),
                ("timeout_s", "600"),
                ("offline_max_days", "7"),
                ("idle_reclaim_s", " "),
            ],
        )
        .await;
    assert_eq!(res.status(), 303);
    let details = api(&broker, &owner, &format!("/v1/pools/{pool}")).await;
    assert_eq!(details["settings"]["idle_reclaim_s"], Value::Null);
}

#[actix_rt::test]
async fn i4_a_domain_restriction_refuses_joins_from_elsewhere_and_a_bad_domain_is_kept_with_the_message(
) {
    let broker = spawn_broker().await;
    let (owner, pool) = broker.owner_with_license("dean@uni.edu", 3).await;
    let code = broker.invite_code(&owner, &pool).await;
    let b = Browser::start().await;
    log_in(&b, &broker, "dean@uni.edu").await;
    b.goto(&format!("{}/pools/{pool}", broker.address)).await;

    b.fill("Email domain", "not a domain").await;
    b.click_button("Save restriction").await;
    let text = b.text().await;
    assert!(
        text.contains("The email domain must be a domain such as uni.edu, or empty for anyone."),
        "{text}"
    );
    b.axe("pool admin, domain refused").await;
    let details = api(&broker, &owner, &format!("/v1/pools/{pool}")).await;
    assert_eq!(details["settings"]["join_email_domain"], Value::Null);

    b.fill("Email domain", " @Uni.EDU ").await;
    b.click_button("Save restriction").await;
    let text = b.text().await;
    assert!(
        text.contains("Now only people with an email address at uni.edu"),
        "{text}"
    );
    let details = api(&broker, &owner, &format!("/v1/pools/{pool}")).await;
    assert_eq!(details["settings"]["join_email_domain"], "uni.edu");

    broker
        .create_account("eve@gmail.com", "correct horse")
        .await;
    let eve = broker.login("eve@gmail.com", "correct horse").await;
    let (status, err) = error(
        broker
            .call(
                Method::POST,
                "/v1/activations",
                &eve,
                Some(json!({ "code": code })),
            )
            .await,
    )
    .await;
    assert_eq!(
        (status, err["code"].as_str()),
        (403, Some("join_restricted"))
    );
    broker.join_with_code("stu@cs.uni.edu", &code).await;

    // The typed value is kept with the refusal.
    let (mut http, csrf) = portal_client(&broker, "dean@uni.edu").await;
    let res = http
        .post(
            &format!("/pools/{pool}/join-domain"),
            &[("csrf", &csrf), ("domain", "uni..edu")],
        )
        .await;
    assert_eq!(res.status(), 422);
    let html = res.text().await.expect("a page");
    assert_eq!(input_value(&html, "join-domain"), "uni..edu");

    // Empty lets anyone join again.
    let res = http
        .post(
            &format!("/pools/{pool}/join-domain"),
            &[("csrf", &csrf), ("domain", "")],
        )
        .await;
    assert_eq!(res.status(), 303);
    let res = broker
        .call(
            Method::POST,
            "/v1/activations",
            &eve,
            Some(json!({ "code": code })),
        )
        .await;
    assert_eq!(res.status(), 201);
}

#[actix_rt::test]
async fn w4_the_usage_charts_and_tables_show_todays_peak_capacity_and_refusals() {
    let broker = spawn_broker().await;
    let (owner, pool) = broker.owner_with_license("lab@uni.edu", 1).await;
    let code = broker.invite_code(&owner, &pool).await;
    let (_, ann) = broker.join_with_code("ann@uni.edu", &code).await;
    let (_, bob) = broker.join_with_code("bob@uni.edu", &code).await;
    seat_of(&broker, &ann, "ann-pc").await;
    let refused = broker.take_seat(&bob, "bob-pc").await;
    assert!(refused.status().is_client_error(), "the pool is full");
    let days = api(
        &broker,
        &owner,
        &format!("/v1/pools/{pool}/usage?bucket=day"),
    )
    .await;
    let today = days.as_array().and_then(|d| d.last()).expect("a day")["start"]
        .as_str()
        .expect("a start")[..10]
        .to_owned();

    let b = Browser::start().await;
    log_in(&b, &broker, "lab@uni.edu").await;
    b.goto(&format!("{}/pools/{pool}#usage", broker.address))
        .await;
    let text = b.text().await;
    for period in ["Last 7 days, per day", "Last 30 days, per day"] {
        let table = &text[text
            .find(period)
            .unwrap_or_else(|| panic!("{period}: {text}"))..];
        assert!(
            table.contains(&format!("{today} 1 1 1")),
            "{period}: today's peak 1 of capacity 1, 1 refusal: {table}"
        );
    }
    b.axe("pool admin, usage").await;
    b.screenshot("pool-admin-usage").await;

    let (mut http, _) = portal_client(&broker, "lab@uni.edu").await;
    let html = http
        .get(&format!("/pools/{pool}"))
        .await
        .text()
        .await
        .expect("a page");
    assert_eq!(html.matches("<svg").count(), 2, "two charts");
    assert!(
        html.contains(
            "Last 7 days: most seats in use at once: 1; capacity now: 1; requests refused: 1."
        ),
        "the chart's text alternative: {html}"
    );
    assert!(!html.contains("style="), "no inline style under the CSP");
    assert_eq!(
        html.matches("class=\"refusal\"").count(),
        2,
        "the refusal is marked on both"
    );

    // In German, on a phone.
    b.goto(&format!(
        "{}/language?lang=de&next=%2Fpools%2F{pool}",
        broker.address
    ))
    .await;
    b.set_window_size(360, 740).await;
    let text = b.text().await;
    assert!(text.contains(&format!("Pool {pool} verwalten")), "{text}");
    assert!(text.contains("Letzte 7 Tage, pro Tag"), "{text}");
    b.axe("pool admin, German, 360 px").await;
    b.screenshot("pool-admin-de-360px").await;
    b.goto(&format!("{}/pools/{pool}#members", broker.address))
        .await;
    b.screenshot("pool-admin-de-members-360px").await;
}

#[actix_rt::test]
async fn i5_only_the_owner_opens_the_page_and_every_form_needs_its_csrf_token() {
    let broker = spawn_broker().await;
    let (owner, pool) = broker.owner_with_license("own@uni.edu", 2).await;
    let code = broker.invite_code(&owner, &pool).await;
    let (member_id, _) = broker.join_with_code("mem@uni.edu", &code).await;
    broker.owner_with_license("other@uni.edu", 2).await;
    let page = format!("/pools/{pool}");

    // A visitor is sent to log in and comes back.
    let mut visitor = PortalClient::new(&broker.address);
    let res = visitor.get(&page).await;
    assert_eq!(res.status(), 303);
    let to = res.headers()[reqwest::header::LOCATION]
        .to_str()
        .unwrap()
        .to_owned();
    assert_eq!(to, format!("/login?next=%2Fpools%2F{pool}"));

    // A member hears 403, another owner 403 or 404, on the page and on every form.
    for who in ["mem@uni.edu", "other@uni.edu"] {
        let (mut http, csrf) = portal_client(&broker, who).await;
        let res = http.get(&page).await;
        assert_eq!(res.status(), 403, "{who} opens {page}");
        let html = res.text().await.expect("a page");
        assert!(html.contains("You may not open this page."), "{html}");
        assert!(
            !html.contains(&code) && !html.contains("mem@uni.edu"),
            "{html}"
        );
        for (action, field, value) in [
            ("invite/rotate", "x", ""),
            ("members/block", "account", member_id.as_str()),
            ("members/remove", "account", member_id.as_str()),
            ("settings", "timeout_s", "5"),
        ] {
            let res = http
                .post(
                    &format!("{page}/{action}"),
                    &[("csrf", &csrf), (field, value)],
                )
                .await;
            assert!(
                [403, 404].contains(&res.status().as_u16()),
                "{who} posts {action}: {}",
                res.status()
            );
        }
    }
    assert_eq!(
        api_invite(&broker, &owner, &pool).await.0,
        code,
        "nothing rotated"
    );
    let members = api(&broker, &owner, &format!("/v1/pools/{pool}/members")).await;
    assert_eq!(members[0]["status"], "active", "nothing blocked");

    // The owner's forms need the CSRF token; bad ids are 404 pages, not errors.
    let (mut http, csrf) = portal_client(&broker, "own@uni.edu").await;
    let res = http
        .post(
            &format!("{page}/members/block"),
            &[("account", member_id.as_str())],
        )
        .await;
    assert_eq!(res.status(), 403, "no CSRF token");
    let res = http
        .post(
            &format!("{page}/invite/rotate"),
            &[("csrf", "0".repeat(64).as_str())],
        )
        .await;
    assert_eq!(res.status(), 403, "a wrong CSRF token");
    assert_eq!(
        api_invite(&broker, &owner, &pool).await.0,
        code,
        "nothing rotated"
    );
    for (action, field, value) in [
        ("members/block", "account", "not-an-id"),
        ("members/block", "account", "A-FFF-FFF"),
        ("members/remove", "account", ""),
        ("seats/release", "seat", "S-nonsense"),
        ("seats/release", "seat", "S-000001-1"),
    ] {
        let res = http
            .post(
                &format!("{page}/{action}"),
                &[("csrf", &csrf), (field, value)],
            )
            .await;
        assert_eq!(res.status(), 404, "{action} {value}");
        let html = res.text().await.expect("a page");
        assert!(html.contains("There is no such page."), "{html}");
    }
    // A seat of the pool that went meanwhile is no error: the page says it was free.
    let gone = format!("S-{}-FFFFFF", pool[2..].replace('-', ""));
    let res = http
        .post(
            &format!("{page}/seats/release"),
            &[("csrf", &csrf), ("seat", &gone)],
        )
        .await;
    assert_eq!(res.status(), 303, "{gone}");
    let to = res.headers()[reqwest::header::LOCATION]
        .to_str()
        .unwrap()
        .to_owned();
    assert_eq!(to, format!("{page}?done=seat-gone#seats"));
    let html = http.get(&to).await.text().await.expect("a page");
    assert!(html.contains("This seat had been freed already."), "{html}");
    assert_eq!(http.get("/pools/not-a-pool").await.status(), 404);
    assert_eq!(http.get("/pools/P-FFF-FFE").await.status(), 404);

    // The page and its script carry the portal's headers.
    let res = http.get(&page).await;
    assert_eq!(res.status(), 200);
    let csp = res.headers()[reqwest::header::CONTENT_SECURITY_POLICY]
        .to_str()
        .unwrap();
    assert!(csp.contains("script-src 'self'"), "{csp}");
    let html = res.text().await.expect("a page");
    assert!(html.contains("<script src=\"/assets/portal.js\" defer></script>"));
    assert!(!html.contains("<script>"), "no inline script");
    let js = http.get("/assets/portal.js").await;
    assert_eq!(js.status(), 200);
    assert_eq!(
        js.headers()[reqwest::header::CONTENT_TYPE],
        "text/javascript; charset=utf-8"
    );
}

#[actix_rt::test]
async fn l4_a_personal_pool_has_no_invitation_and_no_members() {
    let broker = spawn_broker().await;
    broker.create_account("solo@uni.edu", "correct horse").await;
    let token = broker.login("solo@uni.edu", "correct horse").await;
    let key = broker.issue_license("student", 1).await;
    let res = broker
        .call(
            Method::POST,
            "/v1/activations",
            &token,
            Some(json!({ "code": key })),
        )
        .await;
    assert_eq!(res.status(), 201);
    let body: Value = res.json().await.expect("json");
    let pool = body["pool"]["id"].as_str().expect("a pool").to_owned();
    let (_, print) = seat_and_print(&broker, &token, "solo-laptop").await;

    let (mut http, csrf) = portal_client(&broker, "solo@uni.edu").await;
    let res = http.get(&format!("/pools/{pool}")).await;
    assert_eq!(res.status(), 200);
    let html = res.text().await.expect("a page");
    assert!(
        html.contains("Student licenses are personal and cannot be shared"),
        "{html}"
    );
    assert!(
        !html.contains("invite-url") && !html.contains("Email domain"),
        "{html}"
    );
    assert!(html.contains(&print), "the owner's seat is listed");
    let res = http
        .post(&format!("/pools/{pool}/invite/rotate"), &[("csrf", &csrf)])
        .await;
    assert_eq!(res.status(), 403, "no invite code to rotate");
}
