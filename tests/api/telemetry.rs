//! Logging: what database work logs during a request carries that request's id.

use serde_json::{json, Value};

use crate::helpers::serve_and_capture;
use crate::helpers::TestApp;

async fn a_line_logged_by_database_work_carries_the_request_id(app: TestApp) {
    let event = app.published_webinar(10).await;
    // With a cap of one email an hour, the cancellation email is over the cap: `outbox::enqueue`
    // logs "email suppressed" from inside the DELETE's write transaction (on a blocking thread).
    let request_id = "cancel-under-cap-7f3a";
    let (text, _) = serve_and_capture(&app, &[("ROADSHOW_MAIL_HOURLY_CAP", "1")], |base, _admin| async move {
        let client = reqwest::Client::new();
        let body = json!({
            "business": {"name": "Shop", "email": "owner@shop.example", "state": "TX"},
            "attendee": {"name": "Sam", "email": "sam@shop.example"},
        });
        let r = client.post(format!("{base}/api/v1/events/{event}/registrations")).json(&body).send().await.unwrap();
        assert_eq!(r.status(), 201);
        let reg: Value = r.json().await.unwrap();
        let (id, token) = (reg["id"].as_str().unwrap(), reg["manage_token"].as_str().unwrap());
        let r = client
            .delete(format!("{base}/api/v1/registrations/{id}"))
            .bearer_auth(token)
            .header("x-request-id", request_id)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        assert_eq!(r.headers()["x-request-id"], request_id);
        Vec::new()
    })
    .await;
    let suppressed: Vec<&str> = text.lines().filter(|l| l.contains("email suppressed")).collect();
    assert_eq!(suppressed.len(), 1, "one email went over the cap:\n{text}");
    assert!(
        suppressed[0].contains(&format!("request.id={request_id}")),
        "the line logged inside the transaction names its request: {}",
        suppressed[0]
    );
}

both_backends!(a_line_logged_by_database_work_carries_the_request_id);

/// `GET /metrics`: the text format, route patterns not paths, nothing personal; counts move.
async fn metrics_count_requests_by_route_pattern_and_outcomes_without_personal_data(app: TestApp) {
    let event = app.published_webinar(1).await;
    let scrape = || async {
        let r = app.get("/metrics").await;
        assert_eq!(r.status(), 200);
        assert!(r.headers()["content-type"].to_str().unwrap().starts_with("application/openmetrics-text"));
        r.text().await.unwrap()
    };
    let value = |text: &str, prefix: &str| -> f64 {
        text.lines().find(|l| l.starts_with(prefix)).and_then(|l| l.rsplit(' ').next()?.parse().ok()).unwrap_or(0.0)
    };
    let before = scrape().await;
    let first = crate::registrations::registration(901);
    let second = crate::registrations::registration(902);
    for body in [&first, &second] {
        let r = app.post_json(&format!("/api/v1/events/{event}/registrations"), body).await;
        assert_eq!(r.status(), 201);
    }
    let r = app.get(&format!("/api/v1/events/{event}?utm=secret-campaign")).await;
    assert_eq!(r.status(), 200);
    let after = scrape().await;
    for outcome in ["confirmed", "waitlisted"] {
        let line = format!("roadshow_registrations_total{{outcome=\"{outcome}\"}}");
        // The registry is the process's: tests running beside this one count too.
        assert!(value(&after, &line) - value(&before, &line) >= 1.0, "{outcome}:\n{after}");
    }
    let route =
        "roadshow_http_requests_total{route=\"/api/v1/events/{id}/registrations\",method=\"POST\",status=\"201\"}";
    assert!(value(&after, route) - value(&before, route) >= 2.0, "{after}");
    assert!(after.contains("roadshow_http_request_duration_seconds_bucket{"), "latency histograms");
    assert!(after.contains("roadshow_outbox_emails{status=\"pending\"}"), "outbox depth by status");
    assert!(after.contains("roadshow_outbox_oldest_due_seconds "), "{after}");
    assert!(after.contains("roadshow_db_pool_max "), "{after}");
    assert!(after.contains("roadshow_db_pool_wait_seconds_bucket"), "{after}");
    // Labels carry patterns and fixed words: no id, address, name or query string.
    for secret in [event.as_str(), "owner901@shop901.example", "Attendee 901", "secret-campaign"] {
        assert!(!after.contains(secret), "{secret} leaked into the metrics");
    }
}

async fn metrics_need_the_token_when_one_is_set(app: TestApp) {
    let r = app.get("/metrics").await;
    assert_eq!(r.status(), 401);
    assert_eq!(r.headers()["content-type"], "application/problem+json");
    let r = app.request(reqwest::Method::GET, "/metrics", Some("wrong-token-wrong-token"), None).await;
    assert_eq!(r.status(), 401);
    let r = app.request(reqwest::Method::GET, "/metrics", Some("scrape-token-0123456789"), None).await;
    assert_eq!(r.status(), 200);
    assert!(r.text().await.unwrap().ends_with("# EOF\n"));
}

both_backends!(metrics_count_requests_by_route_pattern_and_outcomes_without_personal_data);
both_backends!(with |c| c.metrics_token = Some("scrape-token-0123456789".into()); metrics_need_the_token_when_one_is_set);
