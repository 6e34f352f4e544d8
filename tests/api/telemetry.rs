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
