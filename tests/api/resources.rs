//! Learning resources: staff writing them (scoped by organization, audited), the public lists and
//! search, Markdown made safe, recordings attached to ended webinars, an event's related
//! resources, and the emails that link them (the "recording available" notice and the follow-up).

use chrono::{Duration, Utc};
use diesel::prelude::*;
use reqwest::Method;
use roadshow::db::schema::{outbox, registrations};
use roadshow::db::{now, to_db_time};
use roadshow::domain::{Language, ResourceKind, ResourceStatus, Topic};
use roadshow::http::Page;
use roadshow::resources::wire::{
    AdminResourceDetailOut, AdminResourceOut, EventResourcesOut, RelatedResourcesOut, Relation, ResourceDetailOut,
    ResourceOut,
};
use serde_json::{json, Value};

use crate::fixtures;
use crate::helpers::{expect_problem, expect_status, expect_typed, Backend, TestApp};

/// The public base URL the servers of these tests put in their emails.
const PUBLIC_URL: &str = "https://roadshow.example";

/// A guide body from defaults overridden by `fields`.
fn guide(fields: Value) -> Value {
    let mut body = json!({
        "kind": "guide",
        "title": "Ten ideas for local ads",
        "summary": "Small budgets, real customers.",
        "body_markdown": "Start with **one** neighborhood.",
        "topics": ["advertising"],
    });
    for (k, v) in fields.as_object().unwrap() {
        body[k] = v.clone();
    }
    body
}

/// Creates a resource as `token` (the admin's when `None`); returns its staff answer.
async fn create(app: &TestApp, token: Option<&str>, body: Value) -> AdminResourceDetailOut {
    let token = token.unwrap_or(&app.admin_token);
    expect_typed(app.request(Method::POST, "/api/v1/admin/resources", Some(token), Some(&body)).await, 201).await
}

/// Creates a published resource of `org` as the admin; returns its id.
async fn published(app: &TestApp, org: &str, fields: Value) -> String {
    let mut body = guide(fields);
    body["organization_id"] = json!(org);
    body["status"] = json!("published");
    create(app, None, body).await.resource.resource.id
}

async fn call(app: &TestApp, method: Method, path: &str, token: &str, body: Option<Value>) -> reqwest::Response {
    app.request(method, path, Some(token), body.as_ref()).await
}

/// The ids of a public list (all pages of `limit`), and how many pages it took.
async fn public_ids(app: &TestApp, query: &str, limit: usize) -> (Vec<String>, usize) {
    let mut out = Vec::new();
    let mut cursor: Option<String> = None;
    let mut pages = 0;
    loop {
        let mut path = format!("/api/v1/resources?limit={limit}&{query}");
        if let Some(c) = &cursor {
            path.push_str(&format!("&cursor={c}"));
        }
        let page: Page<ResourceOut> = expect_typed(app.get(&path).await, 200).await;
        pages += 1;
        assert!(page.items.len() <= limit);
        out.extend(page.items.iter().map(|r| r.id.clone()));
        match page.next_cursor {
            Some(c) => cursor = Some(c),
            None => break,
        }
        assert!(pages < 50, "the list does not end");
    }
    (out, pages)
}

/// A webinar of `org` (the admin's when `None`) that ended an hour ago, and was published before.
async fn ended_webinar(app: &TestApp, org: Option<&str>, topics: Value) -> String {
    let mut fields = json!({"kind": "webinar", "topics": topics});
    if let Some(o) = org {
        fields["host_organization_ids"] = json!([o]);
        fields["state"] = json!("TX");
    }
    let id = app.draft_event(fields).await;
    expect_status(app.admin_post(&format!("/api/v1/admin/events/{id}/publish"), &json!({})).await, 200).await;
    end(app, &id);
    id
}

/// Moves an event into the past: it ended an hour ago.
fn end(app: &TestApp, event: &str) {
    let ends = now() - Duration::hours(1);
    fixtures::move_event(app, event, ends - Duration::hours(1), ends);
}

fn recording(event: Option<&str>) -> Value {
    guide(json!({
        "kind": "recording", "title": "Local ads, the recording", "body_markdown": "",
        "recording": {"url": "https://video.example.org/local-ads", "duration_minutes": 58, "event_id": event}
    }))
}

async fn staff_write_read_change_and_delete_resources_of_their_own_organization(app: TestApp) {
    let org = app.create_org("Texas Chamber", "regional_office", &["TX"]).await;
    let (_, organizer) = fixtures::staff(&app, "organizer", Some(&org)).await;
    let story = json!({
        "kind": "case_study", "title": "How Tacos Lupita filled its Tuesdays",
        "summary": "Local ads and a weekly post.\nTwo months.",
        "body_markdown": "## The problem\n\nTuesdays were *quiet*.",
        "topics": ["Advertising", "content", "advertising"], "states": ["tx"], "language": "es",
        "case_study": {"business_name": "Tacos Lupita", "state": "TX", "industry": "Restaurants",
                       "what_it_did": "A $5-a-day ad.", "results": "Tuesdays up 30%."}
    });
    let created = create(&app, Some(&organizer), story).await;
    let r = &created.resource.resource;
    assert_eq!(
        (r.kind, created.resource.status, r.language),
        (ResourceKind::CaseStudy, ResourceStatus::Draft, Language::Spanish)
    );
    assert_eq!(r.organization.id, org, "an organizer writes for its own organization");
    assert_eq!(r.organization.name, "Texas Chamber");
    assert_eq!(r.topics, [Topic::Advertising, Topic::Content]);
    assert_eq!(r.states, ["TX"]);
    assert_eq!(r.summary, "Local ads and a weekly post.\nTwo months.");
    assert!(r.published_at.is_none() && r.recording.is_none());
    let case = r.case_study.as_ref().unwrap();
    assert_eq!(
        (case.business_name.as_str(), case.state.as_deref(), case.results.as_str()),
        ("Tacos Lupita", Some("TX"), "Tuesdays up 30%.")
    );
    assert_eq!(created.body_html, "<h2>The problem</h2>\n<p>Tuesdays were <em>quiet</em>.</p>\n");
    let id = r.id.clone();
    let path = format!("/api/v1/admin/resources/{id}");

    // Read back, by the organizer and by an admin.
    let again: AdminResourceDetailOut = expect_typed(call(&app, Method::GET, &path, &organizer, None).await, 200).await;
    assert_eq!(again.body_markdown, "## The problem\n\nTuesdays were *quiet*.");
    expect_typed::<AdminResourceDetailOut>(app.admin_get(&path).await, 200).await;
    // A draft is nobody's business outside.
    expect_problem(app.get(&format!("/api/v1/resources/{id}")).await, 404, None).await;

    // Change and publish in one go.
    let r = call(
        &app,
        Method::PATCH,
        &path,
        &organizer,
        Some(json!({"title": "Tuesdays, full", "status": "published", "states": []})),
    )
    .await;
    let changed: AdminResourceDetailOut = expect_typed(r, 200).await;
    assert_eq!(changed.resource.status, ResourceStatus::Published);
    assert_eq!(changed.resource.resource.title, "Tuesdays, full");
    assert!(changed.resource.resource.states.is_empty(), "national now");
    assert!(changed.resource.resource.published_at.is_some());
    assert_eq!(changed.resource.resource.case_study.as_ref().unwrap().business_name, "Tacos Lupita", "untouched");
    let public: ResourceDetailOut = expect_typed(app.get(&format!("/api/v1/resources/{id}")).await, 200).await;
    assert_eq!(public.resource.title, "Tuesdays, full");
    assert!(public.body_html.contains("<em>quiet</em>"));
    let raw = expect_status(app.get(&format!("/api/v1/resources/{id}")).await, 200).await;
    assert!(raw.get("status").is_none() && raw.get("body_markdown").is_none(), "staff fields stay staff: {raw}");

    // Rules: the kind's own details only, a known state, a known field.
    let r = call(
        &app,
        Method::PATCH,
        &path,
        &organizer,
        Some(json!({"recording": {"url": "https://x.example/v", "duration_minutes": 3}})),
    )
    .await;
    expect_problem(r, 422, Some("recording")).await;
    let r = call(&app, Method::PATCH, &path, &organizer, Some(json!({"states": ["TX", "ZZ"]}))).await;
    expect_problem(r, 422, Some("states[1]")).await;
    let r = call(&app, Method::PATCH, &path, &organizer, Some(json!({"kind": "guide"}))).await;
    expect_problem(r, 422, Some("kind")).await;
    let unchanged: AdminResourceDetailOut = expect_typed(app.admin_get(&path).await, 200).await;
    assert_eq!(unchanged.resource.resource.states, Vec::<String>::new(), "a refused change writes nothing");

    // Back to draft: off the public lists.
    let r = call(&app, Method::PATCH, &path, &organizer, Some(json!({"status": "draft"}))).await;
    expect_typed::<AdminResourceDetailOut>(r, 200).await;
    expect_problem(app.get(&format!("/api/v1/resources/{id}")).await, 404, None).await;

    // An admin names the author organization, one that exists.
    let r = app.admin_post("/api/v1/admin/resources", &guide(json!({}))).await;
    expect_problem(r, 422, Some("organization_id")).await;
    let r = app
        .admin_post("/api/v1/admin/resources", &guide(json!({"organization_id": uuid::Uuid::new_v4().to_string()})))
        .await;
    expect_problem(r, 422, Some("organization_id")).await;

    // Delete: gone for everyone, and the trail says who did what, without the values.
    expect_status(call(&app, Method::DELETE, &path, &organizer, None).await, 204).await;
    expect_problem(app.admin_get(&path).await, 404, None).await;
    expect_problem(call(&app, Method::DELETE, &path, &organizer, None).await, 404, None).await;
    let audit =
        expect_status(app.admin_get(&format!("/api/v1/admin/audit?object_type=resource&object_id={id}")).await, 200)
            .await;
    let actions: Vec<&str> = audit["items"].as_array().unwrap().iter().map(|e| e["action"].as_str().unwrap()).collect();
    assert_eq!(actions, ["delete", "unpublish", "publish", "create"], "{audit}");
    let text = audit.to_string();
    assert!(!text.contains("Tacos Lupita") && !text.contains("Tuesdays"), "values stay out of the trail: {text}");
    assert!(audit["items"][2]["changes"]["fields"].as_array().unwrap().contains(&json!("title")), "{audit}");
}

async fn an_organizer_of_another_organization_gets_404_and_never_sees_drafts(app: TestApp) {
    let org_a = app.create_org("Texas Chamber", "regional_office", &["TX"]).await;
    let org_b = app.create_org("Oklahoma Chamber", "local_chamber", &["OK"]).await;
    let (_, a) = fixtures::staff(&app, "organizer", Some(&org_a)).await;
    let (_, b) = fixtures::staff(&app, "organizer", Some(&org_b)).await;
    let (_, expert) = fixtures::staff(&app, "expert", None).await;
    let draft = create(&app, Some(&a), guide(json!({"title": "Secret plan for Austin"}))).await.resource.resource.id;
    let public =
        create(&app, Some(&a), guide(json!({"title": "Open plan", "status": "published"}))).await.resource.resource.id;
    let mine = create(&app, Some(&b), guide(json!({"title": "Oklahoma plan"}))).await.resource.resource.id;

    for id in [&draft, &public] {
        let path = format!("/api/v1/admin/resources/{id}");
        expect_problem(call(&app, Method::GET, &path, &b, None).await, 404, None).await;
        expect_problem(call(&app, Method::PATCH, &path, &b, Some(json!({"title": "Mine now"}))).await, 404, None).await;
        expect_problem(call(&app, Method::DELETE, &path, &b, None).await, 404, None).await;
    }
    for query in ["", "?status=draft", "?q=secret", &format!("?organization_id={org_a}")] {
        let r = call(&app, Method::GET, &format!("/api/v1/admin/resources{query}"), &b, None).await;
        let page: Page<AdminResourceOut> = expect_typed(r, 200).await;
        let seen: Vec<&str> = page.items.iter().map(|r| r.resource.id.as_str()).collect();
        assert!(seen.iter().all(|id| *id == mine), "{query}: {seen:?}");
    }
    // Writing for another organization is refused, naming the field.
    let r =
        call(&app, Method::POST, "/api/v1/admin/resources", &b, Some(guide(json!({"organization_id": org_a})))).await;
    expect_problem(r, 422, Some("organization_id")).await;
    // The admin list filtered to A shows A's only; A's organizer sees its draft.
    let page: Page<AdminResourceOut> = expect_typed(
        app.admin_get(&format!("/api/v1/admin/resources?organization_id={org_a}&status=draft")).await,
        200,
    )
    .await;
    assert_eq!(page.items.iter().map(|r| r.resource.id.as_str()).collect::<Vec<_>>(), [draft.as_str()]);
    // Experts manage none.
    expect_problem(call(&app, Method::GET, "/api/v1/admin/resources", &expert, None).await, 403, None).await;
    expect_problem(
        call(&app, Method::POST, "/api/v1/admin/resources", &expert, Some(guide(json!({})))).await,
        403,
        None,
    )
    .await;

    // The public never sees a draft: not by id, not in a list, not by searching its words.
    expect_problem(app.get(&format!("/api/v1/resources/{draft}")).await, 404, None).await;
    for query in ["", "topic=advertising", "kind=guide", "language=en", "q=plan"] {
        let (seen, _) = public_ids(&app, query, 50).await;
        assert_eq!(seen, [public.as_str()], "{query}");
    }
    for query in ["q=secret", "q=austin", "status=draft"] {
        let r = app.get(&format!("/api/v1/resources?{query}")).await;
        if query.starts_with("status") {
            expect_problem(r, 400, Some("status")).await;
        } else {
            assert!(expect_typed::<Page<ResourceOut>>(r, 200).await.items.is_empty(), "{query}");
        }
    }

    // Attaching to events: only to an event the caller edits, only what it manages or is public.
    let event_a = app.draft_event(json!({"host_organization_ids": [org_a], "state": "TX"})).await;
    let path = format!("/api/v1/admin/events/{event_a}/resources");
    let r = call(&app, Method::PUT, &path, &b, Some(json!({"resource_ids": [mine]}))).await;
    expect_problem(r, 404, None).await;
    expect_problem(call(&app, Method::GET, &path, &b, None).await, 404, None).await;
    let r = call(&app, Method::PUT, &path, &a, Some(json!({"resource_ids": [draft, mine]}))).await;
    let body = expect_problem(r, 422, Some("resource_ids[1]")).await;
    assert!(!body.to_string().contains("Oklahoma"), "{body}");
    let r = call(&app, Method::PUT, &path, &a, Some(json!({"resource_ids": [draft, public, draft]}))).await;
    let attached: EventResourcesOut = expect_typed(r, 200).await;
    let got: Vec<&str> = attached.items.iter().map(|r| r.resource.id.as_str()).collect();
    assert_eq!(got, [draft.as_str(), public.as_str()], "in order, duplicates collapse, own drafts shown to staff");
    let r = call(&app, Method::PUT, &path, &a, Some(json!({"resource_ids": ["not-an-id"]}))).await;
    expect_problem(r, 422, Some("resource_ids[0]")).await;
    let r = call(&app, Method::PUT, &path, &a, Some(json!({"resource_ids": vec![public.clone(); 21]}))).await;
    expect_problem(r, 422, Some("resource_ids")).await;
}

async fn public_lists_filter_search_and_page(app: TestApp) {
    let org = app.create_org("Federation", "federation", &[]).await;
    let national = published(
        &app,
        &org,
        json!({"title": "Reels that sell", "topics": ["video"],
        "body_markdown": "Film your **bakery** in thirty seconds."}),
    )
    .await;
    let texas =
        published(&app, &org, json!({"title": "Texas ad grants", "states": ["TX"], "topics": ["advertising"]})).await;
    let california =
        published(&app, &org, json!({"title": "California privacy rules", "states": ["CA"], "topics": ["privacy"]}))
            .await;
    let spanish = published(
        &app,
        &org,
        json!({"title": "Anuncios locales", "language": "es", "summary": "Para tu negocio en México."}),
    )
    .await;
    let story = published(&app, &org, json!({"kind": "case_study", "title": "A bakery grows", "body_markdown": "",
        "case_study": {"business_name": "Panadería Rosa", "state": "NM", "what_it_did": "Reels.", "results": "Lines."}})).await;
    let mut draft = guide(json!({"title": "Draft about reels", "topics": ["video"]}));
    draft["organization_id"] = json!(org);
    create(&app, None, draft).await;

    // Newest first; every page in turn gives each once.
    let everything = [story.clone(), spanish.clone(), california.clone(), texas.clone(), national.clone()];
    let (all, pages) = public_ids(&app, "", 2).await;
    assert_eq!((all.as_slice(), pages), (everything.as_slice(), 3));
    let (all, pages) = public_ids(&app, "", 5).await;
    assert_eq!((all.len(), pages), (5, 1), "a full last page has no cursor");

    let one = |q: &'static str| {
        let app = &app;
        async move { public_ids(app, q, 50).await.0 }
    };
    assert_eq!(
        one("state=tx").await,
        [story.clone(), spanish.clone(), texas.clone(), national.clone()],
        "a state's list has the national ones"
    );
    assert_eq!(one("topic=Video").await, [national.as_str()]);
    assert_eq!(one("kind=case_study").await, [story.as_str()]);
    assert_eq!(one("language=es").await, [spanish.as_str()]);
    assert_eq!(one("q=BAKERY").await, [story.clone(), national.clone()], "title and body words, any case");
    assert_eq!(one("q=panad").await, [story.as_str()], "the business name, by its beginning");
    assert_eq!(one("q=negocio%20para").await, [spanish.as_str()], "summary words, all of them");
    assert!(one("q=reels%20privacy").await.is_empty(), "every word must match");
    assert!(one("q=%22%2A%3A").await.is_empty(), "search syntax never reaches the engine");
    assert_eq!(one("state=CA&topic=privacy&kind=guide&language=en&q=rules").await, [california.as_str()]);

    // The search index follows changes.
    let r =
        app.admin_patch(&format!("/api/v1/admin/resources/{california}"), &json!({"summary": "Consent banners"})).await;
    expect_status(r, 200).await;
    assert_eq!(one("q=banners").await, [california.as_str()]);

    // Bad filters: a 400 naming the parameter.
    for (query, field) in [
        ("topic=instagram", "topic"),
        ("state=Texas", "state"),
        ("kind=podcast", "kind"),
        ("language=fr", "language"),
        ("limit=0", "limit"),
        ("limit=201", "limit"),
        ("cursor=garbage", "cursor"),
        ("colour=red", "colour"),
        ("q=a%00b", "q"),
    ] {
        let status = if field == "q" { 422 } else { 400 };
        expect_problem(app.get(&format!("/api/v1/resources?{query}")).await, status, Some(field)).await;
    }
    let long = "x".repeat(201);
    expect_problem(app.get(&format!("/api/v1/resources?q={long}")).await, 400, Some("q")).await;
    expect_problem(app.get("/api/v1/resources/not-a-uuid").await, 400, Some("id")).await;
    expect_problem(app.get(&format!("/api/v1/resources/{}", uuid::Uuid::new_v4())).await, 404, None).await;
}

async fn the_search_is_answered_by_the_full_text_index(app: TestApp) {
    let org = app.create_org("Federation", "federation", &[]).await;
    published(&app, &org, json!({"title": "Export basics"})).await;
    let mut conn = app.db.get().unwrap();
    let plan = if app.backend == Backend::Postgres {
        // With a handful of rows a sequential scan is cheaper; forbid it to see what the index can
        // answer (SET LOCAL: the pooled connection is left as it was).
        conn.transaction(|c| {
            diesel::connection::SimpleConnection::batch_execute(c, "SET LOCAL enable_seqscan = off")?;
            roadshow::resources::queries::search_plan(c, "export")
                .map_err(|e| diesel::result::Error::QueryBuilderError(e.to_string().into()))
        })
        .unwrap()
    } else {
        roadshow::resources::queries::search_plan(&mut conn, "export").unwrap()
    };
    let plan = plan.join("\n");
    let index = if app.backend == Backend::Postgres { "resources_search_idx" } else { "resources_fts VIRTUAL TABLE" };
    assert!(plan.contains(index), "the plan does not use {index}:\n{plan}");
}

/// Every tag in `html`, as (name, attributes): a small reader written for this test, independent
/// of the renderer. Comments and declarations come back as `!`.
fn tags(html: &str) -> Vec<(String, Vec<(String, String)>)> {
    let mut out = Vec::new();
    let mut rest = html;
    while let Some(start) = rest.find('<') {
        rest = &rest[start + 1..];
        let end = rest.find('>').expect("every tag is closed");
        let inside = &rest[..end];
        rest = &rest[end + 1..];
        if inside.starts_with('!') || inside.starts_with('?') {
            out.push(("!".into(), Vec::new()));
            continue;
        }
        let inside = inside.trim_start_matches('/').trim_end_matches('/').trim();
        let (name, mut attrs_text) = inside.split_once(char::is_whitespace).unwrap_or((inside, ""));
        let mut attrs = Vec::new();
        while !attrs_text.trim().is_empty() {
            attrs_text = attrs_text.trim_start();
            let eq = attrs_text.find('=').unwrap_or(attrs_text.len());
            let key = attrs_text[..eq].trim().to_ascii_lowercase();
            let after = attrs_text.get(eq + 1..).unwrap_or("");
            let (value, remaining) = if let Some(v) = after.strip_prefix('"') {
                let close = v.find('"').expect("a quoted value ends");
                (&v[..close], &v[close + 1..])
            } else {
                let close = after.find(char::is_whitespace).unwrap_or(after.len());
                (&after[..close], &after[close..])
            };
            attrs.push((key, value.to_string()));
            attrs_text = remaining;
        }
        out.push((name.to_ascii_lowercase(), attrs));
    }
    out
}

/// What a browser would make of an attribute value: character references decoded (once),
/// ASCII whitespace and controls gone, lower case.
fn as_browser_reads(value: &str) -> String {
    let mut decoded = String::new();
    let mut rest = value;
    while let Some(amp) = rest.find('&') {
        decoded.push_str(&rest[..amp]);
        rest = &rest[amp..];
        let Some(semi) = rest.find(';').filter(|i| *i < 12) else {
            decoded.push('&');
            rest = &rest[1..];
            continue;
        };
        let name = &rest[1..semi];
        let c = match name {
            "amp" => Some('&'),
            "lt" => Some('<'),
            "gt" => Some('>'),
            "quot" => Some('"'),
            "colon" => Some(':'),
            "Tab" => Some('\t'),
            "NewLine" => Some('\n'),
            _ => name
                .strip_prefix("#x")
                .or_else(|| name.strip_prefix("#X"))
                .and_then(|h| u32::from_str_radix(h, 16).ok())
                .or_else(|| name.strip_prefix('#').and_then(|d| d.parse().ok()))
                .and_then(char::from_u32),
        };
        match c {
            Some(c) => {
                decoded.push(c);
                rest = &rest[semi + 1..];
            }
            None => {
                decoded.push('&');
                rest = &rest[1..];
            }
        }
    }
    decoded.push_str(rest);
    decoded.chars().filter(|c| !c.is_ascii_control() && *c != ' ').collect::<String>().to_ascii_lowercase()
}

/// Asserts that `html` holds nothing a browser would run: only the tags Markdown makes, only
/// harmless attributes, and links and images to web, mail or relative addresses only.
fn assert_nothing_runs(html: &str) {
    const TAGS: &[&str] = &[
        "p",
        "a",
        "img",
        "em",
        "strong",
        "del",
        "code",
        "pre",
        "ul",
        "ol",
        "li",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "blockquote",
        "hr",
        "br",
        "table",
        "thead",
        "tbody",
        "tr",
        "th",
        "td",
    ];
    for (name, attrs) in tags(html) {
        assert!(TAGS.contains(&name.as_str()), "a <{name}> tag came through:\n{html}");
        for (key, value) in attrs {
            assert!(
                ["href", "src", "alt", "title", "start", "style", "class"].contains(&key.as_str()),
                "attribute {key} on <{name}>:\n{html}"
            );
            if key == "style" {
                assert!(
                    (name == "th" || name == "td") && value.starts_with("text-align: "),
                    "style on <{name}>:\n{html}"
                );
            }
            if key == "class" {
                assert!(
                    name == "code" && value.starts_with("language-") && !value.contains(['"', '<']),
                    "class on <{name}>:\n{html}"
                );
            }
            if key == "href" || key == "src" {
                let url = as_browser_reads(&value);
                let scheme = url.split_once(':').map(|(s, _)| s).filter(|s| !s.contains(['/', '?', '#']));
                assert!(
                    scheme.is_none_or(|s| ["http", "https", "mailto"].contains(&s)),
                    "{key}={value:?} on <{name}>:\n{html}"
                );
            }
        }
    }
}

async fn markdown_bodies_come_out_without_anything_that_runs(app: TestApp) {
    let org = app.create_org("Federation", "federation", &[]).await;
    let attacks = [
        "<script>alert('block')</script>",
        "inline <script>alert('inline')</script> text",
        "<img src=x onerror=alert(1)>",
        "<a href=\"javascript:alert(1)\" onmouseover=\"alert(2)\">hover me</a>",
        "<div style=\"background:url(javascript:alert(1))\" onclick=\"alert(3)\">\nblock html\n</div>",
        "<iframe src=\"https://evil.example\"></iframe>",
        "<svg><script>alert(1)</script></svg>",
        "<!-- <script>alert(1)</script> -->",
        "[click me](javascript:alert(1))",
        "[upper](JaVaScRiPt:alert(1))",
        "[tabbed](java&#9;script:alert(1))",
        "[entity](&#106;avascript:alert(1))",
        "[named](javascript&colon;alert(1))",
        "[spaced](<java script:alert(1)>)",
        "[data](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
        "[vb](vbscript:msgbox(1))",
        "<javascript:alert(1)>",
        "<data:text/html,<script>alert(1)</script>>",
        "![pic](javascript:alert(1))",
        "![svg](data:image/svg+xml,<svg onload=alert(1)>)",
        "[ref link][evil]\n\n[evil]: javascript:alert(1)",
        "[titled](https://ok.example \"\\\" onmouseover=\\\"alert(1)\")",
        "`<script>alert(1)</script>` in code",
        "```html\n<script>alert(1)</script>\n```",
        "| a | b |\n|:--|--:|\n| <b onclick=x()>c</b> | [d](javascript:x) |",
        "[fine](https://example.org/a?b=1&c=2) and <hola@tacos.example> and [rel](/resources) and ![ok](https://img.example/a.png)",
    ];
    let body = attacks.join("\n\n");
    let mut input =
        guide(json!({"title": "<script>alert('title')</script>", "body_markdown": body, "status": "published"}));
    input["organization_id"] = json!(org);
    let created = create(&app, None, input).await;
    let id = created.resource.resource.id.clone();
    assert_nothing_runs(&created.body_html);
    let public: ResourceDetailOut = expect_typed(app.get(&format!("/api/v1/resources/{id}")).await, 200).await;
    assert_eq!(public.body_html, created.body_html);
    assert_nothing_runs(&public.body_html);
    let html = &public.body_html;
    // What is not markup stays readable; what is safe stays a link.
    for text in [
        "click me",
        "hover me",
        "inline ",
        " text",
        "upper",
        "ref link",
        "pic",
        "&lt;script&gt;alert(1)&lt;/script&gt;",
    ] {
        assert!(html.contains(text), "{text:?} is gone:\n{html}");
    }
    for link in [
        "<a href=\"https://example.org/a?b=1&amp;c=2\">fine</a>",
        "<a href=\"mailto:hola@tacos.example\">hola@tacos.example</a>",
        "<a href=\"/resources\">rel</a>",
        "<img src=\"https://img.example/a.png\" alt=\"ok\" />",
    ] {
        assert!(html.contains(link), "{link} is missing:\n{html}");
    }
    assert!(!html.to_ascii_lowercase().contains("<script"), "{html}");
    // The Markdown is kept as written, for staff to edit; the title is data (pages escape it).
    let staff: AdminResourceDetailOut =
        expect_typed(app.admin_get(&format!("/api/v1/admin/resources/{id}")).await, 200).await;
    assert_eq!(staff.body_markdown, body);
    assert_eq!(staff.resource.resource.title, "<script>alert('title')</script>");
    // And a change of the body is made safe the same way.
    let r = app
        .admin_patch(
            &format!("/api/v1/admin/resources/{id}"),
            &json!({"body_markdown": "[x](javascript:alert(1)) <b onclick=y()>z</b>"}),
        )
        .await;
    let changed: AdminResourceDetailOut = expect_typed(r, 200).await;
    assert_eq!(changed.body_html, "<p>x z</p>\n");
}

async fn recordings_attach_only_to_webinars_that_have_ended(app: TestApp) {
    let org = app.create_org("Texas Chamber", "regional_office", &["TX"]).await;
    let other = app.create_org("Oklahoma Chamber", "local_chamber", &["OK"]).await;
    let (_, organizer) = fixtures::staff(&app, "organizer", Some(&org)).await;
    let ended = ended_webinar(&app, Some(&org), json!(["advertising"])).await;
    let upcoming = app.published_webinar(10).await;
    let draft = app.draft_event(json!({"kind": "webinar"})).await;
    end(&app, &draft);
    let cancelled = app.published_webinar(10).await;
    expect_status(app.admin_post(&format!("/api/v1/admin/events/{cancelled}/cancel"), &json!({})).await, 200).await;
    end(&app, &cancelled);
    let venue = app.create_venue("TX").await;
    let stop = app.draft_event(json!({"kind": "roadshow_stop", "venue_id": venue, "join_url": null})).await;
    expect_status(app.admin_post(&format!("/api/v1/admin/events/{stop}/publish"), &json!({})).await, 200).await;
    end(&app, &stop);
    let elsewhere = ended_webinar(&app, Some(&other), json!([])).await;

    let post = |token: String, body: Value| {
        let app = &app;
        async move { app.request(Method::POST, "/api/v1/admin/resources", Some(&token), Some(&body)).await }
    };
    let admin = app.admin_token.clone();
    let with_org = |event: &str| {
        let mut b = recording(Some(event));
        b["organization_id"] = json!(org);
        b
    };
    for (event, why) in
        [(&upcoming, "has not ended"), (&draft, "never published"), (&cancelled, "cancelled"), (&stop, "not a webinar")]
    {
        let body = expect_problem(post(admin.clone(), with_org(event)).await, 422, Some("recording.event_id")).await;
        assert!(body.to_string().contains(why.split(' ').next().unwrap()), "{why}: {body}");
    }
    let unknown = uuid::Uuid::new_v4().to_string();
    expect_problem(post(admin.clone(), with_org(&unknown)).await, 422, Some("recording.event_id")).await;
    // An organizer attaches to its own organization's webinars only.
    let r = post(organizer.clone(), recording(Some(&elsewhere))).await;
    let body = expect_problem(r, 422, Some("recording.event_id")).await;
    assert!(body.to_string().contains("no such event"), "{body}");
    // A recording needs its details; other kinds have none.
    let mut no_details = recording(None);
    no_details.as_object_mut().unwrap().remove("recording");
    expect_problem(post(organizer.clone(), no_details).await, 422, Some("recording")).await;
    let mut guide_with = guide(json!({}));
    guide_with["recording"] = json!({"url": "https://video.example.org/x", "duration_minutes": 5});
    expect_problem(post(organizer.clone(), guide_with).await, 422, Some("recording")).await;
    let mut bad = recording(Some(&ended));
    bad["recording"]["duration_minutes"] = json!(0);
    bad["recording"]["url"] = json!("ftp://video.example.org/x");
    let body = expect_problem(post(organizer.clone(), bad).await, 422, Some("recording.url")).await;
    assert!(body.to_string().contains("recording.duration_minutes"), "{body}");

    // An ended webinar takes it; once published it is related to that webinar.
    let made: AdminResourceDetailOut = expect_typed(post(organizer.clone(), recording(Some(&ended))).await, 201).await;
    let rec = made.resource.resource.recording.clone().unwrap();
    assert_eq!((rec.event_id.as_deref(), rec.duration_minutes), (Some(ended.as_str()), 58));
    let id = made.resource.resource.id.clone();
    let related: RelatedResourcesOut =
        expect_typed(app.get(&format!("/api/v1/events/{ended}/resources")).await, 200).await;
    assert!(related.items.is_empty(), "a draft is not related to anything public");
    let path = format!("/api/v1/admin/resources/{id}");
    expect_status(call(&app, Method::PATCH, &path, &organizer, Some(json!({"status": "published"}))).await, 200).await;
    let related: RelatedResourcesOut =
        expect_typed(app.get(&format!("/api/v1/events/{ended}/resources")).await, 200).await;
    let got: Vec<(&str, Relation)> = related.items.iter().map(|r| (r.resource.id.as_str(), r.relation)).collect();
    assert_eq!(got, [(id.as_str(), Relation::Recording)]);
    // Moving it to a webinar still to come is refused, and changes nothing.
    let moved =
        json!({"recording": {"url": "https://video.example.org/x", "duration_minutes": 5, "event_id": upcoming}});
    expect_problem(app.admin_patch(&path, &moved).await, 422, Some("recording.event_id")).await;
    let still: AdminResourceDetailOut = expect_typed(app.admin_get(&path).await, 200).await;
    assert_eq!(still.resource.resource.recording.unwrap().event_id.as_deref(), Some(ended.as_str()));
}

async fn related_resources_are_the_attached_ones_else_those_sharing_topics(app: TestApp) {
    let org = app.create_org("Texas Chamber", "regional_office", &["TX"]).await;
    let (_, organizer) = fixtures::staff(&app, "organizer", Some(&org)).await;
    let event = app
        .draft_event(json!({"topics": ["advertising", "content"], "host_organization_ids": [org], "state": "TX"}))
        .await;
    expect_status(app.admin_post(&format!("/api/v1/admin/events/{event}/publish"), &json!({})).await, 200).await;
    let both = published(&app, &org, json!({"title": "Both", "topics": ["advertising", "content"]})).await;
    let texan = published(&app, &org, json!({"title": "Texan", "topics": ["content"], "states": ["TX"]})).await;
    let spanish = published(&app, &org, json!({"title": "Español", "topics": ["content"], "language": "es"})).await;
    let national = published(&app, &org, json!({"title": "National", "topics": ["advertising"]})).await;
    published(&app, &org, json!({"title": "Californian", "topics": ["content"], "states": ["CA"]})).await;
    let video = published(&app, &org, json!({"title": "Video only", "topics": ["video"]})).await;
    let mut draft = guide(json!({"title": "Draft", "topics": ["advertising", "content"]}));
    draft["organization_id"] = json!(org);
    let draft = create(&app, None, draft).await.resource.resource.id;

    let related = |query: &'static str| {
        let app = &app;
        let event = event.clone();
        async move {
            let out: RelatedResourcesOut =
                expect_typed(app.get(&format!("/api/v1/events/{event}/resources{query}")).await, 200).await;
            out.items.into_iter().map(|r| (r.resource.id, r.relation)).collect::<Vec<_>>()
        }
    };
    let by_topics = |ids: &[&String]| ids.iter().map(|id| ((*id).clone(), Relation::Topics)).collect::<Vec<_>>();
    // More topics shared first, then the event's state before national, then newest; never
    // another state's, a draft, or one sharing no topic.
    assert_eq!(related("").await, by_topics(&[&both, &texan, &national, &spanish]));
    assert_eq!(related("?language=es").await, by_topics(&[&spanish, &both, &texan, &national]));
    assert_eq!(related("?limit=2").await, by_topics(&[&both, &texan]));

    // Attached by staff: those, in their order, instead (drafts only once published).
    let path = format!("/api/v1/admin/events/{event}/resources");
    let r = call(&app, Method::PUT, &path, &organizer, Some(json!({"resource_ids": [video, draft, national]}))).await;
    expect_status(r, 200).await;
    assert_eq!(related("").await, [(video.clone(), Relation::Attached), (national.clone(), Relation::Attached)]);
    let staff: EventResourcesOut = expect_typed(call(&app, Method::GET, &path, &organizer, None).await, 200).await;
    assert_eq!(staff.items.len(), 3, "staff see the attached draft");
    expect_status(
        app.admin_patch(&format!("/api/v1/admin/resources/{draft}"), &json!({"status": "published"})).await,
        200,
    )
    .await;
    let ids: Vec<String> = related("").await.into_iter().map(|(id, _)| id).collect();
    assert_eq!(ids, [video.clone(), draft.clone(), national.clone()]);
    // A deleted resource leaves the list; detaching all goes back to topics.
    expect_status(
        app.request(Method::DELETE, &format!("/api/v1/admin/resources/{video}"), Some(&app.admin_token), None).await,
        204,
    )
    .await;
    let ids: Vec<String> = related("").await.into_iter().map(|(id, _)| id).collect();
    assert_eq!(ids, [draft.clone(), national.clone()]);
    expect_status(call(&app, Method::PUT, &path, &organizer, Some(json!({"resource_ids": []}))).await, 200).await;
    assert_eq!(related("").await[0].1, Relation::Topics);
    let audit =
        expect_status(app.admin_get(&format!("/api/v1/admin/audit?object_type=event&object_id={event}")).await, 200)
            .await;
    assert!(audit["items"][0]["changes"]["fields"] == json!(["resources"]), "{audit}");

    // Bad parameters, unknown and draft events.
    expect_problem(app.get(&format!("/api/v1/events/{event}/resources?limit=0")).await, 400, Some("limit")).await;
    expect_problem(app.get(&format!("/api/v1/events/{event}/resources?limit=21")).await, 400, Some("limit")).await;
    expect_problem(app.get(&format!("/api/v1/events/{event}/resources?language=fr")).await, 400, Some("language"))
        .await;
    let unpublished = app.draft_event(json!({"topics": ["advertising"]})).await;
    expect_problem(app.get(&format!("/api/v1/events/{unpublished}/resources")).await, 404, None).await;
    expect_problem(app.get(&format!("/api/v1/events/{}/resources", uuid::Uuid::new_v4())).await, 404, None).await;
}

/// Registers attendee `n` for `event` through the API; returns the registration's id.
async fn register(app: &TestApp, event: &str, n: usize, consent: bool) -> String {
    let body = json!({
        "business": {"name": format!("Shop {n}"), "email": format!("owner{n}@shop{n}.example"), "state": "TX"},
        "attendee": {"name": format!("Ana {n}"), "email": format!("attendee{n}@shop{n}.example")},
        "marketing_consent": consent
    });
    let r = app.post_json(&format!("/api/v1/events/{event}/registrations"), &body).await;
    expect_status(r, 201).await["id"].as_str().unwrap().to_string()
}

/// The outbox rows of `template`: (recipient, category, subject, text, html, headers), by recipient.
fn emails(app: &TestApp, template: &str) -> Vec<(String, String, String, String, String, String)> {
    let mut conn = app.db.get().unwrap();
    outbox::table
        .filter(outbox::template.eq(template))
        .order(outbox::recipient)
        .select((
            outbox::recipient,
            outbox::category,
            outbox::subject,
            outbox::body_text,
            outbox::body_html,
            outbox::headers,
        ))
        .load(&mut *conn)
        .unwrap()
}

async fn a_published_recording_tells_consenting_registrants_once(app: TestApp) {
    let org = app.create_org("Federation", "federation", &[]).await;
    let webinar =
        app.draft_event(json!({"kind": "webinar", "title": "Local ads live", "topics": ["advertising"]})).await;
    expect_status(app.admin_post(&format!("/api/v1/admin/events/{webinar}/publish"), &json!({})).await, 200).await;
    register(&app, &webinar, 1, true).await;
    register(&app, &webinar, 2, false).await;
    let cancelled = register(&app, &webinar, 3, true).await;
    register(&app, &webinar, 4, true).await;
    let attended = register(&app, &webinar, 5, true).await;
    {
        let mut conn = app.db.get().unwrap();
        // 3 cancels; 4 takes consent back; 5 was there (checked in).
        diesel::update(registrations::table.find(&cancelled))
            .set(registrations::status.eq("cancelled"))
            .execute(&mut *conn)
            .unwrap();
        roadshow::mail::outbox::set_marketing_consent(&mut conn, "attendee4@shop4.example", false, now()).unwrap();
        diesel::update(registrations::table.find(&attended))
            .set(registrations::status.eq("attended"))
            .execute(&mut *conn)
            .unwrap();
    }
    end(&app, &webinar);
    // Something else to learn from, attached to the webinar.
    let guide_id = published(&app, &org, json!({"title": "Ad <copy> that works"})).await;
    let path = format!("/api/v1/admin/events/{webinar}/resources");
    expect_status(
        app.request(Method::PUT, &path, Some(&app.admin_token), Some(&json!({"resource_ids": [guide_id]}))).await,
        200,
    )
    .await;

    // A draft tells nobody; a refused publication neither.
    let mut body = recording(Some(&webinar));
    body["organization_id"] = json!(org);
    let id = create(&app, None, body).await.resource.resource.id;
    assert!(emails(&app, "recording_available").is_empty());
    let res = format!("/api/v1/admin/resources/{id}");
    let r = app.admin_patch(&res, &json!({"status": "published", "states": ["ZZ"]})).await;
    expect_problem(r, 422, Some("states[0]")).await;
    assert!(emails(&app, "recording_available").is_empty(), "nothing of a refused change is written");

    expect_status(app.admin_patch(&res, &json!({"status": "published"})).await, 200).await;
    let sent = emails(&app, "recording_available");
    let to: Vec<&str> = sent.iter().map(|e| e.0.as_str()).collect();
    assert_eq!(to, ["attendee1@shop1.example", "attendee5@shop5.example"], "the consenting, confirmed or attended");
    let page = format!("{PUBLIC_URL}/resources/{id}");
    for (_, category, subject, text, html, headers) in &sent {
        assert_eq!(category, "marketing");
        assert_eq!(subject, "The recording is ready: Local ads live");
        assert!(text.contains(&format!("Local ads, the recording (58 minutes): {page}")), "{text}");
        assert!(text.contains(&format!("Ad <copy> that works: {PUBLIC_URL}/resources/{guide_id}")), "{text}");
        assert!(html.contains("Ad &lt;copy&gt; that works"), "{html}");
        let headers: Value = serde_json::from_str(headers).unwrap();
        let unsubscribe = headers["List-Unsubscribe"].as_str().unwrap();
        assert!(unsubscribe.starts_with(&format!("<{PUBLIC_URL}/unsubscribe/rsl_")), "{headers}");
        assert_eq!(headers["List-Unsubscribe-Post"], "List-Unsubscribe=One-Click");
        assert!(text.contains(unsubscribe.trim_matches(['<', '>'])), "{text}");
    }

    // Unpublished and published again, changed while published: nobody is told twice.
    expect_status(app.admin_patch(&res, &json!({"status": "draft"})).await, 200).await;
    expect_status(app.admin_patch(&res, &json!({"status": "published"})).await, 200).await;
    expect_status(app.admin_patch(&res, &json!({"title": "Local ads (recording)"})).await, 200).await;
    assert_eq!(emails(&app, "recording_available").len(), 2);
    // A second recording of the webinar is news of its own.
    let mut second = recording(Some(&webinar));
    second["organization_id"] = json!(org);
    second["status"] = json!("published");
    second["title"] = json!("Local ads, questions and answers");
    create(&app, None, second).await;
    assert_eq!(emails(&app, "recording_available").len(), 4);
}

async fn the_follow_up_links_the_events_related_resources(app: TestApp) {
    let org = app.create_org("Federation", "federation", &[]).await;
    let with = app.draft_event(json!({"kind": "webinar", "title": "With reading", "topics": ["video"]})).await;
    let without =
        app.draft_event(json!({"kind": "webinar", "title": "Nothing to read", "topics": ["analytics"]})).await;
    for e in [&with, &without] {
        expect_status(app.admin_post(&format!("/api/v1/admin/events/{e}/publish"), &json!({})).await, 200).await;
    }
    register(&app, &with, 1, true).await;
    register(&app, &without, 2, true).await;
    let reels = published(&app, &org, json!({"title": "Reels & <more>", "topics": ["video"]})).await;
    let attached = published(&app, &org, json!({"title": "Attached guide", "topics": ["privacy"]})).await;
    let ended = to_db_time(Utc::now() - Duration::hours(3));
    for e in [&with, &without] {
        fixtures::move_event(&app, e, ended - Duration::hours(1), ended);
    }
    let mut config = app.config.clone();
    config.public_url = PUBLIC_URL.into();
    let ctx = roadshow::mail::MailContext::from_config(&config);
    assert_eq!(roadshow::jobs::run_once(&app.db, &ctx, Utc::now()).await.unwrap().follow_ups, 2);
    let sent = emails(&app, "follow_up");
    let (text, html) = (&sent[0].3, &sent[0].4);
    assert!(text.contains(&format!("Keep learning:\n- Reels & <more>: {PUBLIC_URL}/resources/{reels}")), "{text}");
    assert!(html.contains("Reels &amp; &lt;more&gt;"), "{html}");
    assert!(html.contains(&format!("&#x2f;resources&#x2f;{reels}")), "{html}");
    assert!(!text.contains(&attached), "not related: {text}");
    assert!(!sent[1].3.contains("Keep learning"), "nothing related, no heading: {}", sent[1].3);

    // Attached by staff: the follow-up of another registrant links that instead.
    let path = format!("/api/v1/admin/events/{with}/resources");
    expect_status(
        app.request(Method::PUT, &path, Some(&app.admin_token), Some(&json!({"resource_ids": [attached]}))).await,
        200,
    )
    .await;
    let business = fixtures::business(&app, "Shop 3", "owner3@shop3.example");
    fixtures::registration(&app, &with, &business, "attended", "Ana 3", "attendee3@shop3.example");
    {
        let mut conn = app.db.get().unwrap();
        roadshow::mail::outbox::set_marketing_consent(&mut conn, "attendee3@shop3.example", true, now()).unwrap();
    }
    assert_eq!(roadshow::jobs::run_once(&app.db, &ctx, Utc::now()).await.unwrap().follow_ups, 1);
    let third = emails(&app, "follow_up").into_iter().find(|e| e.0 == "attendee3@shop3.example").unwrap();
    assert!(third.3.contains(&format!("- Attached guide: {PUBLIC_URL}/resources/{attached}")), "{}", third.3);
    assert!(!third.3.contains(&reels), "{}", third.3);
}

both_backends!(with |c| c.public_url = PUBLIC_URL.into();
    staff_write_read_change_and_delete_resources_of_their_own_organization,
    an_organizer_of_another_organization_gets_404_and_never_sees_drafts,
    public_lists_filter_search_and_page,
    the_search_is_answered_by_the_full_text_index,
    markdown_bodies_come_out_without_anything_that_runs,
    recordings_attach_only_to_webinars_that_have_ended,
    related_resources_are_the_attached_ones_else_those_sharing_topics,
    a_published_recording_tells_consenting_registrants_once,
    the_follow_up_links_the_events_related_resources,
);
