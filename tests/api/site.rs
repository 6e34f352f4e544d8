//! The public site over HTTP (the browser tests drive it in Chromium): what a stranger can make
//! its forms do, framing, languages, escaping, and the answers to bad input.

use serde_json::json;

use crate::helpers::{expect_status, TestApp};

/// The value of a hidden input in a page.
fn hidden(html: &str, name: &str) -> String {
    let marker = format!("name=\"{name}\" value=\"");
    let start = html.find(&marker).unwrap_or_else(|| panic!("no {name} in the page")) + marker.len();
    html[start..start + html[start..].find('"').unwrap()].to_string()
}

/// A published stop in Texas.
async fn stop(app: &TestApp, title: &str) -> String {
    let venue = app.create_venue("TX").await;
    let id = app
        .draft_event(
            json!({"kind": "roadshow_stop", "title": title, "venue_id": venue, "capacity": 10, "join_url": null}),
        )
        .await;
    expect_status(app.admin_post(&format!("/api/v1/admin/events/{id}/publish"), &json!({})).await, 200).await;
    id
}

async fn page(app: &TestApp, path: &str) -> (u16, String) {
    let r = app.client.get(app.url(path)).send().await.unwrap();
    (r.status().as_u16(), r.text().await.unwrap())
}

/// The form's fields, filled in, with the page's token and key.
fn filled(html: &str, email: &str, lang: &str) -> Vec<(String, String)> {
    [
        ("attendee_name", "Rosa Diaz"),
        ("attendee_email", email),
        ("business_name", "Taco Garage"),
        ("business_email", "owner@tacogarage.example"),
        ("business_state", "TX"),
        ("lang", lang),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .chain([("csrf".to_string(), hidden(html, "csrf")), ("idem".to_string(), hidden(html, "idem"))])
    .collect()
}

async fn post_form(app: &TestApp, event: &str, form: &[(String, String)], headers: &[(&str, &str)]) -> (u16, String) {
    let mut req = app.client.post(app.url(&format!("/events/{event}/register"))).form(form);
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let r = req.send().await.unwrap();
    (r.status().as_u16(), r.text().await.unwrap())
}

async fn seats_left(app: &TestApp, event: &str) -> i64 {
    expect_status(app.get(&format!("/api/v1/events/{event}")).await, 200).await["seats_left"].as_i64().unwrap()
}

crate::both_backends!(
    a_cross_site_post_is_refused_and_registers_nobody,
    a_missing_forged_or_borrowed_token_brings_the_form_back_and_registers_nobody,
    sending_the_form_twice_registers_once_and_a_spanish_form_is_kept_in_spanish,
    a_refused_field_comes_back_beside_its_field_and_nothing_is_written,
    pages_speak_the_language_the_browser_asks_for_unless_the_switch_says_otherwise,
    only_the_listed_origins_may_frame_the_blocks_and_no_one_frames_the_pages,
    what_staff_typed_is_escaped_and_drafts_stay_hidden,
    an_event_given_in_spanish_shows_its_spanish_title_and_description_to_spanish_readers,
    the_form_carries_an_accommodation_request_to_the_hosts_and_refuses_an_unexplained_one,
    bad_filters_and_unknown_places_get_pages_that_say_so,
);

crate::both_backends!(with |c| c.rate_limit_per_minute = 2; the_form_is_rate_limited_like_the_api);

async fn a_cross_site_post_is_refused_and_registers_nobody(app: TestApp) {
    let event = stop(&app, "Austin").await;
    let (_, html) = page(&app, &format!("/events/{event}")).await;
    let form = filled(&html, "rosa@tacogarage.example", "en");
    // Another site's page posting the form (the browser says where it came from).
    let (status, body) = post_form(&app, &event, &form, &[("Origin", "https://evil.example")]).await;
    assert_eq!(status, 403, "{body}");
    assert!(body.contains("Not sent from this site"));
    let (status, _) = post_form(&app, &event, &form, &[("Sec-Fetch-Site", "cross-site")]).await;
    assert_eq!(status, 403);
    assert_eq!(seats_left(&app, &event).await, 10);
    // The same form from this origin goes through.
    let (status, body) =
        post_form(&app, &event, &form, &[("Origin", &app.address), ("Sec-Fetch-Site", "same-origin")]).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(seats_left(&app, &event).await, 9);
}

async fn a_missing_forged_or_borrowed_token_brings_the_form_back_and_registers_nobody(app: TestApp) {
    let event = stop(&app, "Austin").await;
    let other = stop(&app, "Dallas").await;
    let (_, html) = page(&app, &format!("/events/{event}")).await;
    let (_, other_html) = page(&app, &format!("/events/{other}")).await;
    let good = filled(&html, "rosa@tacogarage.example", "en");
    let with_token = |token: &str| {
        let mut f: Vec<(String, String)> = good.iter().filter(|(k, _)| k != "csrf").cloned().collect();
        if !token.is_empty() {
            f.push(("csrf".into(), token.into()));
        }
        f
    };
    let now = chrono::Utc::now().timestamp();
    let real = hidden(&html, "csrf");
    let (_, mac) = real.split_once('.').unwrap();
    for token in [
        String::new(),
        "garbage".into(),
        format!("{now}.00000000000000000000000000000000"),
        // The real signature with another instant, and one from another event's page.
        format!("{}.{mac}", now + 1),
        hidden(&other_html, "csrf"),
        // Made more than 12 hours ago.
        format!("{}.{mac}", now - 13 * 3600),
    ] {
        let (status, body) = post_form(&app, &event, &with_token(&token), &[]).await;
        assert_eq!(status, 400, "token {token:?}: {body}");
        assert!(body.contains("send it again"), "{body}");
        // What was typed is kept, with a fresh token.
        assert!(body.contains("value=\"Taco Garage\""));
        assert_ne!(hidden(&body, "csrf"), token);
    }
    assert_eq!(seats_left(&app, &event).await, 10);
    let (status, _) = post_form(&app, &event, &good, &[]).await;
    assert_eq!(status, 200);
}

async fn sending_the_form_twice_registers_once_and_a_spanish_form_is_kept_in_spanish(app: TestApp) {
    let event = stop(&app, "Austin").await;
    let (_, html) = page(&app, &format!("/events/{event}?lang=es")).await;
    let form = filled(&html, "rosa@tacogarage.example", "es");
    let (first, a) = post_form(&app, &event, &form, &[]).await;
    let (second, b) = post_form(&app, &event, &form, &[]).await;
    assert_eq!((first, second), (200, 200), "{b}");
    assert!(a.contains("Está inscrito"), "{a}");
    assert_eq!(seats_left(&app, &event).await, 9, "a double submit registers once");
    // The same registration both times; it keeps its language.
    let link = |html: &str| {
        let html = html.replace("&#x2f;", "/").replace("&amp;", "&");
        let start = html.find("/manage/").unwrap();
        html[start..start + html[start..].find('"').unwrap()].to_string()
    };
    assert_eq!(link(&a).split('?').next(), link(&b).split('?').next());
    let manage = link(&a);
    let (id, rest) = manage.trim_start_matches("/manage/").split_once('?').unwrap();
    let token = rest.split('&').find_map(|p| p.strip_prefix("token=")).unwrap();
    let r = app.client.get(app.url(&format!("/api/v1/registrations/{id}"))).bearer_auth(token).send().await.unwrap();
    let held = expect_status(r, 200).await;
    assert_eq!(held["language"], "es");
    // A second registration of the same attendee (a new form) is told, in Spanish.
    let (_, html) = page(&app, &format!("/events/{event}?lang=es")).await;
    let (status, body) = post_form(&app, &event, &filled(&html, "rosa@tacogarage.example", "es"), &[]).await;
    assert_eq!(status, 409);
    assert!(body.contains("Ya está inscrito"), "{body}");
}

async fn a_refused_field_comes_back_beside_its_field_and_nothing_is_written(app: TestApp) {
    let event = stop(&app, "Austin").await;
    let (_, html) = page(&app, &format!("/events/{event}")).await;
    let mut form = filled(&html, "not-an-email", "en");
    form.push(("business_website".into(), "javascript:alert(1)".into()));
    form.push(("business_employees".into(), "a million".into()));
    let (status, body) = post_form(&app, &event, &form, &[]).await;
    assert_eq!(status, 422);
    for field in ["attendee_email", "business_website", "business_employees"] {
        assert!(body.contains(&format!("id=\"e-{field}\"")), "{field}: {body}");
        assert!(body.contains(&format!("aria-describedby=\"e-{field}")), "{field}");
    }
    assert!(!body.contains("id=\"e-business_name\""));
    assert!(body.contains("value=\"not-an-email\""));
    assert_eq!(seats_left(&app, &event).await, 10);
}

async fn pages_speak_the_language_the_browser_asks_for_unless_the_switch_says_otherwise(app: TestApp) {
    let event = stop(&app, "Austin").await;
    let get = |path: String, accept: &'static str| {
        let req = app.client.get(app.url(&path)).header("Accept-Language", accept);
        async move { req.send().await.unwrap().text().await.unwrap() }
    };
    let es = get(format!("/events/{event}"), "es-MX,es;q=0.9,en;q=0.5").await;
    assert!(es.contains("<html lang=\"es\">") && es.contains("Inscribirme"));
    let en = get(format!("/events/{event}?lang=en"), "es-MX").await;
    assert!(en.contains("<html lang=\"en\">") && en.contains(">Register</button>"));
    // The switch keeps the filters.
    let list = get("/events?state=TX&topic=community".into(), "en").await;
    assert!(list.contains("href=\"&#x2f;events?state=TX&amp;topic=community&amp;lang=es\""), "{list}");
    let fr = get("/".into(), "fr-FR").await;
    assert!(fr.contains("<html lang=\"en\">"));
}

async fn only_the_listed_origins_may_frame_the_blocks_and_no_one_frames_the_pages(app: TestApp) {
    let event = stop(&app, "Austin").await;
    for path in ["/".to_string(), format!("/events/{event}"), "/states/TX".into()] {
        let r = app.client.get(app.url(&path)).send().await.unwrap();
        let csp = r.headers()["content-security-policy"].to_str().unwrap().to_string();
        assert!(csp.contains("frame-ancestors 'none'") && csp.contains("default-src 'none'"), "{path}: {csp}");
        assert_eq!(r.headers()["x-frame-options"], "DENY");
    }
    // No origin listed: nobody may frame even the block.
    let r = app.client.get(app.url("/embed/states/TX")).send().await.unwrap();
    assert!(r.headers()["content-security-policy"].to_str().unwrap().contains("frame-ancestors 'none'"));
    // A server with a list: the block names it, the pages still refuse.
    let mut config = app.config.clone();
    config.embed_origins = vec!["https://txchamber.example".into()];
    config.bind = "127.0.0.1:0".parse().unwrap();
    let sibling = roadshow::app::Application::build(config).await.unwrap();
    let base = format!("http://127.0.0.1:{}", sibling.port());
    tokio::spawn(sibling.run_until_stopped());
    for path in ["/embed/states/TX".to_string(), format!("/embed/events/{event}")] {
        let r = app.client.get(format!("{base}{path}")).send().await.unwrap();
        assert_eq!(r.status(), 200);
        let csp = r.headers()["content-security-policy"].to_str().unwrap().to_string();
        assert!(csp.ends_with("frame-ancestors https://txchamber.example"), "{csp}");
        assert!(r.headers().get("x-frame-options").is_none());
        let html = r.text().await.unwrap();
        assert!(html.contains("target=\"_blank\" rel=\"noopener\""), "links leave the frame");
    }
    let r = app.client.get(format!("{base}/events/{event}")).send().await.unwrap();
    assert!(r.headers()["content-security-policy"].to_str().unwrap().contains("frame-ancestors 'none'"));
}

async fn what_staff_typed_is_escaped_and_drafts_stay_hidden(app: TestApp) {
    let event = stop(&app, "<script>alert('x')</script> \"Austin\"").await;
    for path in
        [format!("/events/{event}"), "/events?state=TX".into(), "/states/TX".into(), format!("/embed/events/{event}")]
    {
        let (status, html) = page(&app, &path).await;
        assert_eq!(status, 200, "{path}");
        assert!(!html.contains("<script>"), "{path}");
        assert!(html.contains("&lt;script&gt;"), "{path}");
    }
    let draft = app.draft_event(json!({"title": "Secret plans"})).await;
    for path in [format!("/events/{draft}"), format!("/embed/events/{draft}")] {
        let (status, html) = page(&app, &path).await;
        assert_eq!(status, 404, "{path}");
        assert!(!html.contains("Secret plans"));
    }
    let (_, list) = page(&app, "/events").await;
    assert!(!list.contains("Secret plans"));
    // A form posted to a draft registers nobody.
    let (_, html) = page(&app, &format!("/events/{event}")).await;
    let (status, _) = post_form(&app, &draft, &filled(&html, "rosa@tacogarage.example", "en"), &[]).await;
    assert_eq!(status, 404);
}

async fn bad_filters_and_unknown_places_get_pages_that_say_so(app: TestApp) {
    for (path, field) in [
        ("/events?topic=astrology", "topic"),
        ("/events?state=Texas", "state"),
        ("/events?kind=party", "kind"),
        ("/events?from=yesterday", "from"),
        ("/?to=2027-02-30", "to"),
        ("/events?cursor=nope", "cursor"),
    ] {
        let (status, html) = page(&app, path).await;
        assert_eq!(status, 400, "{path}");
        assert!(html.contains(&format!("id=\"e-{field}\"")), "{path}: {html}");
        assert!(html.contains("<html lang=\"en\">"));
    }
    assert_eq!(page(&app, "/states/ZZ").await.0, 404);
    assert_eq!(page(&app, "/events/not-a-uuid").await.0, 404);
    assert_eq!(page(&app, "/embed/states/XX").await.0, 404);
    // Unknown parameters (newsletter tracking) are ignored.
    assert_eq!(page(&app, "/events?state=TX&utm_source=newsletter&fbclid=abc").await.0, 200);
    // A body that is not the form.
    let r = app
        .client
        .post(app.url("/events/00000000-0000-4000-8000-000000000000/register"))
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
}

async fn the_form_is_rate_limited_like_the_api(app: TestApp) {
    let event = stop(&app, "Austin").await;
    let (_, html) = page(&app, &format!("/events/{event}")).await;
    let mut statuses = Vec::new();
    for n in 0..4 {
        let form = filled(&html, &format!("a{n}@tacogarage.example"), "en");
        let form: Vec<(String, String)> = form.into_iter().filter(|(k, _)| k != "idem").collect();
        statuses.push(post_form(&app, &event, &form, &[]).await.0);
    }
    assert_eq!(statuses, [200, 200, 429, 429]);
}

async fn an_event_given_in_spanish_shows_its_spanish_title_and_description_to_spanish_readers(app: TestApp) {
    let venue = app.create_venue("TX").await;
    let id = app
        .draft_event(json!({
            "kind": "roadshow_stop", "venue_id": venue, "join_url": null,
            "title": "Grow with Social: Austin", "description": "Hands-on help.",
            "title_es": "Crezca con las redes: Austin", "description_es": "Ayuda práctica.",
        }))
        .await;
    expect_status(app.admin_post(&format!("/api/v1/admin/events/{id}/publish"), &json!({})).await, 200).await;
    let api = expect_status(app.get(&format!("/api/v1/events/{id}")).await, 200).await;
    assert_eq!(
        (api["title_es"].as_str(), api["description_es"].as_str()),
        (Some("Crezca con las redes: Austin"), Some("Ayuda práctica."))
    );
    let (_, es) = page(&app, &format!("/events/{id}?lang=es")).await;
    assert!(es.contains("<h1>Crezca con las redes: Austin</h1>") && es.contains("Ayuda práctica."), "{es}");
    let (_, en) = page(&app, &format!("/events/{id}?lang=en")).await;
    assert!(en.contains("<h1>Grow with Social: Austin</h1>") && !en.contains("Ayuda"));
    let (_, list) = page(&app, "/events?state=TX&lang=es").await;
    assert!(list.contains("Crezca con las redes: Austin"));
    // Too long is refused naming the field; null removes it, and the English shows again.
    let long = "x".repeat(201);
    let r = app.admin_patch(&format!("/api/v1/admin/events/{id}"), &json!({"title_es": long})).await;
    crate::helpers::expect_problem(r, 422, Some("title_es")).await;
    let r = app
        .admin_patch(&format!("/api/v1/admin/events/{id}"), &json!({"title_es": null, "description_es": null}))
        .await;
    let patched = expect_status(r, 200).await;
    assert!(patched["title_es"].is_null() && patched["description_es"].is_null(), "{patched}");
    let (_, es) = page(&app, &format!("/events/{id}?lang=es")).await;
    assert!(es.contains("<h1>Grow with Social: Austin</h1>"), "{es}");
}

async fn the_form_carries_an_accommodation_request_to_the_hosts_and_refuses_an_unexplained_one(app: TestApp) {
    let event = stop(&app, "Austin").await;
    let (_, html) = page(&app, &format!("/events/{event}")).await;
    // "Something else" without a word of what: the form comes back, nothing is written.
    let mut form = filled(&html, "rosa@tacogarage.example", "en");
    form.push(("acc_other".into(), "yes".into()));
    let (status, body) = post_form(&app, &event, &form, &[]).await;
    assert_eq!(status, 422, "{body}");
    assert!(body.contains("id=\"e-accommodation_note\""), "{body}");
    assert!(body.contains("id=\"f-acc_other\" name=\"acc_other\" type=\"checkbox\" value=\"yes\" checked"));
    assert_eq!(seats_left(&app, &event).await, 10);
    // With the note, it goes through, and the host's registrant list shows it.
    let (_, html) = page(&app, &format!("/events/{event}")).await;
    let mut form = filled(&html, "rosa@tacogarage.example", "en");
    form.push(("acc_wheelchair_access".into(), "yes".into()));
    form.push(("acc_other".into(), "yes".into()));
    form.push(("accommodation_note".into(), "A table at wheelchair height".into()));
    let (status, body) = post_form(&app, &event, &form, &[]).await;
    assert_eq!(status, 200, "{body}");
    let list = expect_status(app.admin_get(&format!("/api/v1/admin/events/{event}/registrations")).await, 200).await;
    let shown = &list["items"][0]["accommodation"];
    assert_eq!(shown["categories"], json!(["wheelchair_access", "other"]), "{list}");
    assert_eq!(shown["note"], "A table at wheelchair height");
}
