//! Webhooks through real HTTP both ways: endpoints registered through the API, deliveries sent by
//! the worker to receiving servers in this test process. Signatures verify (also across a secret
//! rotation), a 500 is retried, messages about one object arrive in order, a disabled endpoint
//! receives nothing, another organization hears nothing of an event it does not host, and URLs into
//! private networks are refused.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use reqwest::Method;
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::helpers::{expect_problem, expect_status, TestApp};

/// One request a receiver got.
#[derive(Debug, Clone)]
struct Got {
    headers: HashMap<String, String>,
    body: String,
}

/// A receiving HTTP server on 127.0.0.1: records every request and answers the next status of
/// `answers` (200 once they run out).
#[derive(Clone)]
struct Receiver {
    url: String,
    got: Arc<Mutex<Vec<Got>>>,
    answers: Arc<Mutex<Vec<u16>>>,
}

impl Receiver {
    async fn start(answers: &[u16]) -> Receiver {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://127.0.0.1:{}/hook", listener.local_addr().unwrap().port());
        let r = Receiver { url, got: Arc::default(), answers: Arc::new(Mutex::new(answers.to_vec())) };
        let me = r.clone();
        tokio::spawn(async move {
            while let Ok((mut socket, _)) = listener.accept().await {
                let me = me.clone();
                tokio::spawn(async move {
                    let mut buf = Vec::new();
                    loop {
                        // Headers.
                        let end = loop {
                            if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                                break i;
                            }
                            let mut chunk = [0u8; 4096];
                            match socket.read(&mut chunk).await {
                                Ok(0) | Err(_) => return,
                                Ok(n) => buf.extend_from_slice(&chunk[..n]),
                            }
                        };
                        let head = String::from_utf8_lossy(&buf[..end]).to_string();
                        let headers: HashMap<String, String> = head
                            .lines()
                            .skip(1)
                            .filter_map(|l| l.split_once(':'))
                            .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
                            .collect();
                        let len: usize = headers.get("content-length").and_then(|v| v.parse().ok()).unwrap_or(0);
                        while buf.len() < end + 4 + len {
                            let mut chunk = [0u8; 4096];
                            match socket.read(&mut chunk).await {
                                Ok(0) | Err(_) => return,
                                Ok(n) => buf.extend_from_slice(&chunk[..n]),
                            }
                        }
                        let body = String::from_utf8_lossy(&buf[end + 4..end + 4 + len]).to_string();
                        buf.drain(..end + 4 + len);
                        me.got.lock().unwrap().push(Got { headers, body });
                        let status = {
                            let mut a = me.answers.lock().unwrap();
                            if a.is_empty() {
                                200
                            } else {
                                a.remove(0)
                            }
                        };
                        let reply = format!("HTTP/1.1 {status} X\r\ncontent-length: 0\r\n\r\n");
                        if socket.write_all(reply.as_bytes()).await.is_err() {
                            return;
                        }
                    }
                });
            }
        });
        r
    }

    fn got(&self) -> Vec<Got> {
        self.got.lock().unwrap().clone()
    }
}

/// Checks a message's Standard Webhooks signature against `secret`: one of the signatures in the
/// header is the HMAC of `id.timestamp.body`.
fn verifies(g: &Got, secret: &str) -> bool {
    use base64::Engine;
    use hmac::Mac;
    let b64 = base64::engine::general_purpose::STANDARD;
    let key = b64.decode(secret.trim_start_matches("whsec_")).unwrap();
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(&key).unwrap();
    mac.update(format!("{}.{}.{}", g.headers["webhook-id"], g.headers["webhook-timestamp"], g.body).as_bytes());
    let expected = format!("v1,{}", b64.encode(mac.finalize().into_bytes()));
    g.headers["webhook-signature"].split(' ').any(|s| s == expected)
}

/// One worker step at `now + minutes` (past any backoff).
async fn step(app: &TestApp, minutes: i64) -> roadshow::webhooks::worker::Stats {
    let db = app.db.clone();
    let now = chrono::Utc::now() + chrono::Duration::minutes(minutes);
    tokio::task::spawn_blocking(move || roadshow::webhooks::worker::deliver_due_blocking(&db, true, now))
        .await
        .unwrap()
        .unwrap()
}

fn body(g: &Got) -> Value {
    serde_json::from_str(&g.body).unwrap()
}

async fn deliveries_are_signed_retried_ordered_and_scoped(app: TestApp) {
    let org_a = app.create_org("Texas Chamber", "local_chamber", &["TX"]).await;
    let org_b = app.create_org("Nevada Chamber", "local_chamber", &["NV"]).await;
    let (_, token_a) = crate::fixtures::staff(&app, "organizer", Some(&org_a)).await;
    let (_, token_b) = crate::fixtures::staff(&app, "organizer", Some(&org_b)).await;
    let event = app
        .draft_event(json!({"kind": "webinar", "capacity": 10, "state": "TX", "host_organization_ids": [org_a]}))
        .await;
    expect_status(app.admin_post(&format!("/api/v1/admin/events/{event}/publish"), &json!({})).await, 200).await;
    let (ra, rb, rc) = (Receiver::start(&[500]).await, Receiver::start(&[]).await, Receiver::start(&[]).await);
    let endpoint = |token: &str, url: &str, active: bool| {
        let (app, token, url) = (&app, token.to_string(), url.to_string());
        async move {
            let body = json!({"url": url, "active": active,
                              "event_types": ["registration.created", "registration.cancelled", "event.changed"]});
            expect_status(app.request(Method::POST, "/api/v1/admin/webhooks", Some(&token), Some(&body)).await, 201)
                .await
        }
    };
    let a = endpoint(&token_a, &ra.url, true).await;
    let secret = a["secret"].as_str().unwrap().to_string();
    assert!(secret.starts_with("whsec_"));
    assert_eq!(a["organization_id"], org_a.as_str());
    endpoint(&token_b, &rb.url, true).await;
    endpoint(&token_a, &rc.url, false).await;
    // The secret is shown once.
    let id = a["id"].as_str().unwrap();
    let again = expect_status(
        app.request(Method::GET, &format!("/api/v1/admin/webhooks/{id}"), Some(&token_a), None).await,
        200,
    )
    .await;
    assert!(again.get("secret").is_none(), "{again}");
    // B cannot see A's endpoint.
    let r = app.request(Method::GET, &format!("/api/v1/admin/webhooks/{id}"), Some(&token_b), None).await;
    expect_problem(r, 404, None).await;

    // A registration, then its cancellation: two messages about one object.
    let reg = expect_status(
        app.post_json(&format!("/api/v1/events/{event}/registrations"), &crate::registrations::registration(1)).await,
        201,
    )
    .await;
    let (reg_id, manage) = (reg["id"].as_str().unwrap(), reg["manage_token"].as_str().unwrap());
    expect_status(
        app.request(Method::DELETE, &format!("/api/v1/registrations/{reg_id}"), Some(manage), None).await,
        200,
    )
    .await;
    // First step: the creation meets a 500; the cancellation waits behind it.
    let s = step(&app, 0).await;
    assert_eq!((s.delivered, s.retried), (0, 1), "{s:?}");
    assert_eq!(ra.got().len(), 1);
    // Past the backoff: the creation goes through, then the cancellation, in that order.
    step(&app, 2).await;
    step(&app, 2).await;
    let got = ra.got();
    let types: Vec<String> = got.iter().map(|g| body(g)["type"].as_str().unwrap().to_string()).collect();
    assert_eq!(types, ["registration.created", "registration.created", "registration.cancelled"]);
    assert!(got.iter().all(|g| verifies(g, &secret)), "signatures verify with the endpoint's secret");
    assert!(!verifies(&got[0], "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"), "and not with another");
    assert_eq!(got[0].headers["webhook-id"], got[1].headers["webhook-id"], "a retry is the same message");
    assert_eq!(body(&got[2])["data"]["registration_id"], reg_id);
    assert!(!got[2].body.contains("shop1.example"), "no addresses in payloads: {}", got[2].body);
    // Scoping and disabling.
    assert!(rb.got().is_empty(), "B hosts nothing of this event");
    assert!(rc.got().is_empty(), "a disabled endpoint receives nothing");

    // The delivery log, and a redelivery.
    let log = expect_status(
        app.request(Method::GET, &format!("/api/v1/admin/webhooks/{id}/deliveries"), Some(&token_a), None).await,
        200,
    )
    .await;
    let items = log["items"].as_array().unwrap();
    assert_eq!(items.len(), 2);
    let created = items.iter().find(|d| d["event_type"] == "registration.created").unwrap();
    assert_eq!((created["status"].as_str(), created["attempts"].as_i64()), (Some("delivered"), Some(2)));
    assert_eq!(created["last_status_code"], 200);
    let delivery = created["id"].as_str().unwrap();
    let r = app
        .request(Method::POST, &format!("/api/v1/admin/webhook-deliveries/{delivery}/redeliver"), Some(&token_b), None)
        .await;
    expect_problem(r, 404, None).await;
    let r = app
        .request(Method::POST, &format!("/api/v1/admin/webhook-deliveries/{delivery}/redeliver"), Some(&token_a), None)
        .await;
    assert_eq!(expect_status(r, 200).await["status"], "pending");
    step(&app, 0).await;
    assert_eq!(ra.got().len(), 4);

    // A rotation: for a while, both secrets sign.
    let rotated = expect_status(
        app.request(Method::POST, &format!("/api/v1/admin/webhooks/{id}/rotate-secret"), Some(&token_a), None).await,
        200,
    )
    .await;
    let new_secret = rotated["secret"].as_str().unwrap().to_string();
    assert_ne!(new_secret, secret);
    let r = app.admin_patch(&format!("/api/v1/admin/events/{event}"), &json!({"title": "Grow with video"})).await;
    expect_status(r, 200).await;
    step(&app, 0).await;
    let last = ra.got().last().unwrap().clone();
    assert_eq!(body(&last)["type"], "event.changed");
    assert!(verifies(&last, &new_secret) && verifies(&last, &secret), "{:?}", last.headers);
    assert!(rb.got().is_empty());
}

async fn endpoints_refuse_private_networks_plain_http_and_strangers(app: TestApp) {
    let org = app.create_org("Texas Chamber", "local_chamber", &["TX"]).await;
    let (_, organizer) = crate::fixtures::staff(&app, "organizer", Some(&org)).await;
    let (_, expert) = crate::fixtures::staff(&app, "expert", None).await;
    let post = |token: String, url: &'static str| {
        let app = &app;
        async move {
            let body = json!({"url": url, "event_types": ["registration.created"]});
            app.request(Method::POST, "/api/v1/admin/webhooks", Some(&token), Some(&body)).await
        }
    };
    for url in [
        "http://127.0.0.1:9/hook",
        "https://10.0.0.8/hook",
        "https://169.254.169.254/latest/meta-data/",
        "https://[::1]/hook",
        "http://hooks.partner.example/hook",
        "https://user:secret@hooks.partner.example/",
        "file:///etc/passwd",
    ] {
        expect_problem(post(organizer.clone(), url).await, 422, Some("url")).await;
    }
    let r = post(expert.clone(), "https://93.184.216.34/hook").await;
    expect_problem(r, 403, None).await;
    // A public address is accepted; admins must name the organization.
    let ok = expect_status(post(organizer.clone(), "https://93.184.216.34/hook").await, 201).await;
    assert_eq!(ok["organization_id"], org.as_str());
    let r = app
        .admin_post(
            "/api/v1/admin/webhooks",
            &json!({"url": "https://93.184.216.34/h", "event_types": ["event.changed"]}),
        )
        .await;
    expect_problem(r, 422, Some("organization_id")).await;
    let r =
        app.admin_post("/api/v1/admin/webhooks", &json!({"url": "https://93.184.216.34/h", "event_types": []})).await;
    expect_problem(r, 422, Some("event_types")).await;
    let r = app
        .admin_post("/api/v1/admin/webhooks", &json!({"url": "https://93.184.216.34/h", "event_types": ["nope"]}))
        .await;
    assert!(r.status().is_client_error());
}

both_backends!(with |c| c.webhook_allow_private = true; deliveries_are_signed_retried_ordered_and_scoped);
both_backends!(endpoints_refuse_private_networks_plain_http_and_strangers);
