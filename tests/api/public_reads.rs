//! The public event reads are micro-cached (src/events/handlers.rs, `public_cache`): a change made
//! through the server must still show on the very next read.

use crate::helpers::{expect_status, TestApp};
use crate::registrations::registration;
use serde_json::{json, Value};

async fn seats_left(app: &TestApp, event: &str) -> (Value, Value) {
    let page = expect_status(app.get(&format!("/api/v1/events/{event}")).await, 200).await;
    let list = expect_status(app.get("/api/v1/events").await, 200).await;
    let listed = list["items"].as_array().unwrap().iter().find(|e| e["id"] == event).map(|e| e["seats_left"].clone());
    (page["seats_left"].clone(), listed.unwrap_or(Value::Null))
}

both_backends! {
    async fn cached_public_reads_show_registrations_and_cancellations_at_once(app) {
        let event = app.published_webinar(2).await;
        assert_eq!(seats_left(&app, &event).await, (json!(2), json!(2)));
        // Read twice: the second answer may come from the cache.
        assert_eq!(seats_left(&app, &event).await, (json!(2), json!(2)));

        let r = expect_status(app.post_json(&format!("/api/v1/events/{event}/registrations"), &registration(1)).await, 201).await;
        assert_eq!(seats_left(&app, &event).await, (json!(1), json!(1)));

        let (id, token) = (r["id"].as_str().unwrap(), r["manage_token"].as_str().unwrap());
        let gone = app.request(reqwest::Method::DELETE, &format!("/api/v1/registrations/{id}"), Some(token), None).await;
        expect_status(gone, 200).await;
        assert_eq!(seats_left(&app, &event).await, (json!(2), json!(2)));
    }

    async fn cached_public_reads_show_event_changes_at_once(app) {
        let event = app.published_webinar(2).await;
        let before = expect_status(app.get(&format!("/api/v1/events/{event}")).await, 200).await;
        assert_eq!(before["capacity"], 2);
        let patched = app.admin_patch(&format!("/api/v1/admin/events/{event}"), &json!({"capacity": 5})).await;
        expect_status(patched, 200).await;
        assert_eq!(seats_left(&app, &event).await, (json!(5), json!(5)));

        expect_status(app.admin_post(&format!("/api/v1/admin/events/{event}/cancel"), &json!({})).await, 200).await;
        let after = expect_status(app.get(&format!("/api/v1/events/{event}")).await, 200).await;
        assert_eq!(after["status"], "cancelled");
        let list = expect_status(app.get("/api/v1/events").await, 200).await;
        assert!(list["items"].as_array().unwrap().iter().all(|e| e["id"] != event.as_str()));
    }
}
