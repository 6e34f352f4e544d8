//! The OpenAPI document is generated from the code: these tests keep it honest.
//!
//! - The snapshot (`tests/snapshots/openapi.json`) puts every change of the contract in the diff
//!   of the change that made it. After a deliberate change, refresh it with
//!   `ROADSHOW_UPDATE_SNAPSHOT=1 cargo test --test api openapi::` and review the diff.
//! - The routes the server registers ([`roadshow::routes::table`]) and the operations the document
//!   names are the same set.
//! - Every operation has a summary, a success answer with a schema, documented errors, and the
//!   security scheme of its audience; every public request body has an example.

use std::collections::BTreeSet;

use serde_json::Value;

use crate::helpers::{expect_status, TestApp};

fn spec() -> Value {
    serde_json::from_str(roadshow::openapi::json()).expect("the document is JSON")
}

const SNAPSHOT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/snapshots/openapi.json");

#[test]
fn the_document_matches_its_reviewed_snapshot() {
    let current = roadshow::openapi::json();
    if std::env::var("ROADSHOW_UPDATE_SNAPSHOT").is_ok_and(|v| v == "1") {
        std::fs::create_dir_all(std::path::Path::new(SNAPSHOT).parent().unwrap()).unwrap();
        std::fs::write(SNAPSHOT, format!("{current}\n")).unwrap();
        return;
    }
    let reviewed = std::fs::read_to_string(SNAPSHOT).unwrap_or_default();
    if reviewed.trim_end() != current.trim_end() {
        let first_difference = reviewed
            .lines()
            .zip(current.lines())
            .enumerate()
            .find(|(_, (a, b))| a != b)
            .map(|(i, (a, b))| format!("line {}:\n  reviewed: {a}\n  current:  {b}", i + 1))
            .unwrap_or_else(|| "one is a prefix of the other".into());
        panic!(
            "the OpenAPI document changed; review the change and refresh the snapshot with \
             `ROADSHOW_UPDATE_SNAPSHOT=1 cargo test --test api openapi::`\nfirst difference at {first_difference}"
        );
    }
}

#[test]
fn the_document_names_exactly_the_registered_routes() {
    let registered: BTreeSet<String> =
        roadshow::routes::table().into_iter().map(|r| format!("{} {}", r.method, r.path)).collect();
    let doc = spec();
    let mut documented = BTreeSet::new();
    for (path, ops) in doc["paths"].as_object().expect("paths") {
        for method in ops.as_object().unwrap().keys() {
            documented.insert(format!("{} {path}", method.to_uppercase()));
        }
    }
    let undocumented: Vec<_> = registered.difference(&documented).collect();
    let unrouted: Vec<_> = documented.difference(&registered).collect();
    assert!(
        undocumented.is_empty() && unrouted.is_empty(),
        "registered but not in the document: {undocumented:#?}\nin the document but not registered: {unrouted:#?}"
    );
    assert!(registered.len() >= 50, "only {} routes registered", registered.len());
}

#[test]
fn every_operation_documents_its_answers_and_credentials() {
    let doc = spec();
    assert_eq!(doc["openapi"], "3.1.0");
    let schemes = doc["components"]["securitySchemes"].as_object().expect("security schemes");
    assert!(schemes.contains_key("staff_token") && schemes.contains_key("manage_token"), "{schemes:?}");
    let mut failures = Vec::new();
    for (path, ops) in doc["paths"].as_object().unwrap() {
        for (method, op) in ops.as_object().unwrap() {
            let name = format!("{} {path}", method.to_uppercase());
            if op["summary"].as_str().is_none_or(|s| s.is_empty()) {
                failures.push(format!("{name}: no summary"));
            }
            let responses = op["responses"].as_object().cloned().unwrap_or_default();
            let success: Vec<_> = responses.iter().filter(|(s, _)| s.starts_with('2') || s.starts_with('3')).collect();
            if success.is_empty() {
                failures.push(format!("{name}: no success answer"));
            }
            for (status, r) in &success {
                let bodiless =
                    matches!(status.as_str(), "204" | "303" | "308") || r.get("content").is_none() && *status == "202";
                if !bodiless && r["content"].as_object().is_none_or(|c| c.values().all(|m| m.get("schema").is_none())) {
                    failures.push(format!("{name}: answer {status} has no schema"));
                }
            }
            let errors: Vec<&String> = responses.keys().filter(|s| s.starts_with('4')).collect();
            let is_operations = ["/healthz", "/readyz", "/api/openapi.json"].contains(&path.as_str());
            if errors.is_empty() && !is_operations {
                failures.push(format!("{name}: no error answers"));
            }
            let wants = if path.starts_with("/api/v1/admin") {
                Some("staff_token")
            } else if path.starts_with("/api/v1/registrations/{id}") {
                Some("manage_token")
            } else {
                None
            };
            let has =
                |scheme: &str| op["security"].as_array().is_some_and(|s| s.iter().any(|req| req.get(scheme).is_some()));
            if let Some(scheme) = wants {
                if !has(scheme) {
                    failures.push(format!("{name}: does not name the {scheme} security scheme"));
                }
                if !responses.contains_key("401") {
                    failures.push(format!("{name}: no 401"));
                }
            }
            let public_write = wants.is_none() && !is_operations && op.get("requestBody").is_some();
            if public_write {
                let content = &op["requestBody"]["content"];
                let has_example = content
                    .as_object()
                    .is_some_and(|c| c.values().any(|m| m.get("example").is_some() || m.get("examples").is_some()));
                if !has_example {
                    failures.push(format!("{name}: the public request body has no example"));
                }
            }
            if responses.contains_key("429") && responses["429"]["headers"].get("Retry-After").is_none() {
                failures.push(format!("{name}: 429 without Retry-After"));
            }
        }
    }
    assert!(failures.is_empty(), "{} problems:\n{}", failures.len(), failures.join("\n"));
}

async fn the_document_and_its_interactive_docs_are_served(app: TestApp) {
    let served = expect_status(app.get("/api/openapi.json").await, 200).await;
    assert_eq!(served, spec());
    let no_redirects = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let r = no_redirects.get(app.url("/docs")).send().await.unwrap();
    assert_eq!(r.status().as_u16(), 308);
    assert_eq!(r.headers()["location"], "/docs/");
    let r = app.get("/docs/").await;
    assert_eq!(r.status().as_u16(), 200);
    let html = r.text().await.unwrap();
    assert!(html.contains("swagger-ui"), "{html}");
    let r = app.get("/docs/swagger-initializer.js").await;
    assert_eq!(r.status().as_u16(), 200);
    let js = r.text().await.unwrap();
    assert!(js.contains("/api/openapi.json"), "Swagger UI loads this service's document: {js}");
    // Nothing is loaded from elsewhere.
    let r = app.get("/docs/swagger-ui-bundle.js").await;
    assert_eq!(r.status().as_u16(), 200);
}

both_backends!(the_document_and_its_interactive_docs_are_served);
