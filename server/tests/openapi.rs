//! The OpenAPI document (`server::openapi`): it names every route of the
//! access policy with the access the guard enforces, every reference in it
//! resolves, the checked-in `docs/openapi.json` is what the code generates,
//! and the server serves that document to readers only.

mod common;

use std::collections::BTreeSet;

use axum::http::StatusCode;
use common::{app, get_text, registries, user_token};
use serde_json::Value;
use server::policy::{self, Need};
use shared::auth::Role;

fn doc() -> Value {
    serde_json::from_str(&server::openapi::json()).expect("the document is JSON")
}

const METHODS: [&str; 5] = ["get", "post", "put", "patch", "delete"];

/// Every (METHOD, path) the document has an operation for.
fn operations(doc: &Value) -> BTreeSet<(String, String)> {
    let mut out = BTreeSet::new();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for m in METHODS {
            if item.get(m).is_some() {
                out.insert((m.to_uppercase(), path.clone()));
            }
        }
    }
    out
}

#[test]
fn every_api_route_of_the_policy_is_documented_and_nothing_else() {
    let doc = doc();
    assert_eq!(doc["openapi"], "3.1.0");
    let documented = operations(&doc);
    let ruled: BTreeSet<(String, String)> = policy::RULES
        .iter()
        .filter(|r| r.path.starts_with("/api/v1/"))
        .map(|r| (r.method.to_string(), r.path.to_string()))
        .collect();
    let missing: Vec<_> = ruled.difference(&documented).collect();
    assert!(
        missing.is_empty(),
        "routes not in the document: {missing:?}"
    );
    let extra: Vec<_> = documented.difference(&ruled).collect();
    assert!(
        extra.is_empty(),
        "documented routes with no rule: {extra:?}"
    );
}

#[test]
fn each_operation_says_the_access_the_guard_enforces() {
    let doc = doc();
    for rule in policy::RULES
        .iter()
        .filter(|r| r.path.starts_with("/api/v1/"))
    {
        let op = &doc["paths"][rule.path][rule.method.to_lowercase()];
        let what = format!("{} {}", rule.method, rule.path);
        let responses = op["responses"].as_object().expect("responses");
        let has = |s: &str| responses.contains_key(s);
        assert!(
            responses.keys().any(|k| k.starts_with('2')),
            "{what}: no success answer"
        );
        assert!(has("500"), "{what}: no 500");
        let security = op.get("security").and_then(Value::as_array);
        match rule.need {
            Need::Public => assert!(security.is_none(), "{what}: public, but asks to sign in"),
            Need::Signed(cap) => {
                let schemes: Vec<&str> = security
                    .expect("signed routes name their schemes")
                    .iter()
                    .flat_map(|s| s.as_object().into_iter().flat_map(|o| o.keys()))
                    .map(String::as_str)
                    .collect();
                let expected: &[&str] = if server::openapi::tokens_may(rule.need) {
                    &["session", "bearer"]
                } else {
                    &["session"]
                };
                assert_eq!(schemes, expected, "{what}");
                assert!(has("401"), "{what}: signed, no 401");
                let someone_lacks = Role::ALL.iter().any(|r| !r.can(cap))
                    || !server::openapi::tokens_may(rule.need);
                if someone_lacks {
                    assert!(has("403"), "{what}: some roles are refused, no 403");
                }
                let who = op["description"].as_str().unwrap_or_default();
                for role in Role::ALL.iter().filter(|r| r.can(cap)) {
                    assert!(
                        who.contains(role.as_str()),
                        "{what}: {who:?} omits {role:?}"
                    );
                }
            }
            other => panic!("{what}: an API route with need {other:?}"),
        }
        if !matches!(rule.need, Need::Public) {
            let names: Vec<&str> = op["parameters"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|p| p["name"].as_str())
                .collect();
            assert!(
                names.contains(&shared::exercise::HEADER),
                "{what}: the exercise header is not documented"
            );
            if rule.method != "GET" {
                assert!(
                    has("409"),
                    "{what}: a write can be refused for its exercise"
                );
            }
        }
        if op.get("requestBody").is_some() {
            assert!(has("413"), "{what}: takes a body, no 413");
        }
        let method: axum::http::Method = rule.method.parse().expect("method");
        if server::lane::writes(&method, rule.path) {
            assert!(
                has("503") && has("507"),
                "{what}: a write without busy/storage full"
            );
        }
    }
}

/// Every `$ref` in `v`.
fn refs<'a>(v: &'a Value, out: &mut Vec<&'a str>) {
    match v {
        Value::Object(o) => {
            for (k, x) in o {
                match (k.as_str(), x) {
                    ("$ref", Value::String(r)) => out.push(r),
                    _ => refs(x, out),
                }
            }
        }
        Value::Array(a) => a.iter().for_each(|x| refs(x, out)),
        _ => {}
    }
}

#[test]
fn every_reference_resolves_and_the_error_shape_is_shared() {
    let doc = doc();
    let mut all = Vec::new();
    refs(&doc, &mut all);
    assert!(all.len() > 100, "only {} references", all.len());
    for r in all {
        let pointer = r.strip_prefix('#').expect("local reference");
        assert!(doc.pointer(pointer).is_some(), "{r} does not resolve");
    }
    let error = &doc["components"]["schemas"]["ApiError"];
    let required: Vec<&str> = error["required"]
        .as_array()
        .expect("required")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert_eq!(required, ["error", "message"]);
    let codes = &doc["components"]["schemas"]["ErrorCode"]["enum"];
    for code in [
        "not_found",
        "conflict",
        "invalid",
        "bad_notice",
        "storage_full",
        "busy",
    ] {
        assert!(
            codes
                .as_array()
                .is_some_and(|c| c.iter().any(|x| x == code)),
            "error code {code} not in {codes}"
        );
    }
    for scheme in ["session", "bearer"] {
        assert!(doc["components"]["securitySchemes"][scheme].is_object());
    }
}

#[test]
fn the_checked_in_document_is_the_generated_one() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/openapi.json");
    let checked_in = std::fs::read_to_string(path).unwrap_or_default();
    assert!(
        checked_in == server::openapi::json(),
        "docs/openapi.json differs from what the code generates: run `cargo xtask openapi` \
         and commit it"
    );
}

#[tokio::test]
async fn readers_get_the_document_and_strangers_do_not() {
    for (engine, reg, url) in registries("openapi").await {
        let app = app(&reg, &url).await;
        let (s, _, _) = get_text(&app, None, "/api/v1/openapi.json").await;
        assert_eq!(s, StatusCode::UNAUTHORIZED, "{engine}");
        let kiosk_like = user_token(&reg, "screen", Role::Briefing).await;
        let (s, ctype, body) = get_text(&app, Some(&kiosk_like), "/api/v1/openapi.json").await;
        assert_eq!(s, StatusCode::OK, "{engine}");
        assert_eq!(ctype, "application/json", "{engine}");
        assert_eq!(body, server::openapi::json(), "{engine}");
        // The route takes nothing: a long or hostile query changes nothing
        // and is not echoed; another method or a longer path is not a route.
        for query in [
            format!("?x={}", "9".repeat(20_000)),
            "?x=%3Cscript%3Ealert(1)%3C/script%3E&exercise=abc".to_string(),
        ] {
            let uri = format!("/api/v1/openapi.json{query}");
            let (s, _, got) = get_text(&app, Some(&kiosk_like), &uri).await;
            if s == StatusCode::OK {
                assert_eq!(got, server::openapi::json(), "{engine}: {}", &uri[..40]);
            } else {
                assert_eq!(s, StatusCode::BAD_REQUEST, "{engine}: {}", &uri[..40]);
                assert!(!got.contains("<script>"), "{engine}: echoed");
            }
        }
        let (s, _) = common::call(
            &app,
            Some(&kiosk_like),
            "POST",
            "/api/v1/openapi.json",
            Some(serde_json::json!({})),
        )
        .await;
        assert!(
            s == StatusCode::NOT_FOUND || s == StatusCode::METHOD_NOT_ALLOWED,
            "{engine}: POST {s}"
        );
        let (s, _, _) = get_text(&app, Some(&kiosk_like), "/api/v1/openapi.json/x").await;
        assert_eq!(s, StatusCode::NOT_FOUND, "{engine}");
    }
}

/// The schema the document gives `METHOD path`'s `status` answer, as a
/// validator (JSON Schema 2020-12, the dialect of OpenAPI 3.1) that can
/// follow the document's `#/components/...` references.
fn answer_schema(doc: &Value, method: &str, path: &str, status: u16) -> jsonschema::Validator {
    let mut answer = &doc["paths"][path][method.to_lowercase()]["responses"][status.to_string()];
    if let Some(r) = answer.get("$ref").and_then(Value::as_str) {
        answer = doc
            .pointer(r.trim_start_matches('#'))
            .expect("the response reference resolves");
    }
    let schema = &answer["content"]["application/json"]["schema"];
    assert!(
        schema.is_object(),
        "{method} {path} {status}: the document gives no JSON schema"
    );
    let root = serde_json::json!({
        "components": doc["components"],
        "allOf": [schema],
    });
    jsonschema::draft202012::new(&root).expect("the schema compiles")
}

/// Real answers, on both engines, are what the document says they are:
/// each body validates against the schema of its route and status.
#[tokio::test]
async fn answers_match_their_documented_schemas() {
    use common::call;
    let doc = doc();
    for (engine, reg, url) in registries("openapi_answers").await {
        let app = app(&reg, &url).await;
        reg.import_notice("test", common::NOTICE)
            .await
            .expect("the notice imports");
        reg.seed_demo_assets().await.expect("demo assets");
        let officer = common::officer_token(&reg).await;
        let admin = user_token(&reg, "boss", Role::Admin).await;
        let check = |method: &'static str, path: &'static str, status: u16, body: Value| {
            let v = answer_schema(&doc, method, path, status);
            let errors: Vec<String> = v
                .iter_errors(&body)
                .take(5)
                .map(|e| format!("{} at {}", e, e.instance_path()))
                .collect();
            assert!(
                errors.is_empty(),
                "{engine}: {method} {path} {status} does not match the document: {errors:?}\n{body}"
            );
        };
        // (template, concrete URI, token) of reads answered 200.
        let (_, faults) = call(
            &app,
            Some(&officer),
            "GET",
            "/api/v1/faults?status=all",
            None,
        )
        .await;
        let fault_id = faults[0]["id"].as_i64().expect("a fault");
        let (_, assets) = call(&app, Some(&officer), "GET", "/api/v1/assets", None).await;
        let asset_id = assets["assets"][0]["id"].as_i64().expect("an asset");
        let reads: Vec<(&'static str, String, &str)> = vec![
            (
                "/api/v1/faults",
                "/api/v1/faults?status=all".into(),
                &officer,
            ),
            (
                "/api/v1/faults/{id}",
                format!("/api/v1/faults/{fault_id}"),
                &officer,
            ),
            ("/api/v1/cables", "/api/v1/cables".into(), &officer),
            ("/api/v1/stations", "/api/v1/stations".into(), &officer),
            (
                "/api/v1/maintenance",
                "/api/v1/maintenance".into(),
                &officer,
            ),
            ("/api/v1/assets", "/api/v1/assets".into(), &officer),
            (
                "/api/v1/assets/{id}",
                format!("/api/v1/assets/{asset_id}"),
                &officer,
            ),
            (
                "/api/v1/alerts",
                "/api/v1/alerts?status=all".into(),
                &officer,
            ),
            ("/api/v1/watch", "/api/v1/watch".into(), &officer),
            ("/api/v1/repairs", "/api/v1/repairs".into(), &officer),
            ("/api/v1/resilience", "/api/v1/resilience".into(), &officer),
            (
                "/api/v1/resilience/contingencies",
                "/api/v1/resilience/contingencies".into(),
                &officer,
            ),
            (
                "/api/v1/resilience/figures",
                "/api/v1/resilience/figures".into(),
                &officer,
            ),
            ("/api/v1/exercises", "/api/v1/exercises".into(), &officer),
            (
                "/api/v1/me/subscriptions",
                "/api/v1/me/subscriptions".into(),
                &officer,
            ),
            (
                "/api/v1/me/notifications",
                "/api/v1/me/notifications".into(),
                &officer,
            ),
            ("/api/v1/users", "/api/v1/users".into(), &admin),
            ("/api/v1/kiosks", "/api/v1/kiosks".into(), &admin),
            ("/api/v1/outbox", "/api/v1/outbox".into(), &admin),
            ("/api/v1/audit", "/api/v1/audit".into(), &admin),
            ("/api/v1/healthz", "/api/v1/healthz".into(), &officer),
        ];
        for (template, uri, token) in reads {
            let (s, body) = call(&app, Some(token), "GET", &uri, None).await;
            assert_eq!(s, StatusCode::OK, "{engine}: GET {uri}: {body}");
            check("GET", template, 200, body);
        }
        // Writes and their refusals.
        let (s, created) = call(
            &app,
            Some(&officer),
            "POST",
            "/api/v1/faults",
            Some(serde_json::json!({
                "cable": "TDM3", "detected_on": "2026-02-10", "kind": "cut",
                "place": "桃園草漯", "km": "42", "alternate_routes": "微波",
                "eta": "2026-04", "status": "open", "restored_on": "", "notes": "<script>x</script>"
            })),
        )
        .await;
        assert_eq!(s, StatusCode::CREATED, "{engine}: {created}");
        check("POST", "/api/v1/faults", 201, created.clone());
        let (s, bad) = call(
            &app,
            Some(&officer),
            "POST",
            "/api/v1/faults",
            Some(serde_json::json!({"cable": ""})),
        )
        .await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{engine}: {bad}");
        check("POST", "/api/v1/faults", 422, bad);
        let mut stale = created.clone();
        stale["version"] = serde_json::json!(0);
        let id = created["id"].as_i64().expect("id");
        let (s, conflict) = call(
            &app,
            Some(&officer),
            "PATCH",
            &format!("/api/v1/faults/{id}"),
            Some(serde_json::json!({
                "version": 0, "cable": "TDM3", "detected_on": "2026-02-10", "kind": "cut",
                "place": "桃園草漯", "km": "43", "alternate_routes": "", "eta": "",
                "status": "open", "restored_on": "", "notes": ""
            })),
        )
        .await;
        assert_eq!(s, StatusCode::CONFLICT, "{engine}: {conflict}");
        check("PATCH", "/api/v1/faults/{id}", 409, conflict);
        let (s, missing) = call(&app, Some(&officer), "GET", "/api/v1/faults/999999", None).await;
        assert_eq!(s, StatusCode::NOT_FOUND, "{engine}");
        check("GET", "/api/v1/faults/{id}", 404, missing);
        let (s, anon) = call(&app, None, "GET", "/api/v1/faults", None).await;
        assert_eq!(s, StatusCode::UNAUTHORIZED, "{engine}");
        check("GET", "/api/v1/faults", 401, anon);
        let (s, refused) = call(&app, Some(&officer), "GET", "/api/v1/users", None).await;
        assert_eq!(s, StatusCode::FORBIDDEN, "{engine}");
        check("GET", "/api/v1/users", 403, refused);
        let (s, kiosk) = call(
            &app,
            Some(&admin),
            "POST",
            "/api/v1/kiosks",
            Some(serde_json::json!({"label": "lobby"})),
        )
        .await;
        assert_eq!(s, StatusCode::CREATED, "{engine}: {kiosk}");
        check("POST", "/api/v1/kiosks", 201, kiosk);
        let (s, own) = call(&app, Some(&officer), "GET", "/api/v1/me/tokens", None).await;
        assert_eq!(
            s,
            StatusCode::FORBIDDEN,
            "{engine}: tokens do not manage tokens"
        );
        check("GET", "/api/v1/me/tokens", 403, own);
        let (s, ex) = call(
            &app,
            Some(&admin),
            "POST",
            "/api/v1/exercises",
            Some(serde_json::json!({
                "name": "drill", "starts_at": "2030-01-01T00:00:00Z",
                "ends_at": "2030-01-01T04:00:00Z", "injects": []
            })),
        )
        .await;
        assert_eq!(s, StatusCode::CREATED, "{engine}: {ex}");
        check("POST", "/api/v1/exercises", 201, ex.clone());
        let ex_id = ex["id"].as_i64().expect("exercise id");
        let (s, one) = call(
            &app,
            Some(&officer),
            "GET",
            &format!("/api/v1/exercises/{ex_id}"),
            None,
        )
        .await;
        assert_eq!(s, StatusCode::OK, "{engine}");
        check("GET", "/api/v1/exercises/{id}", 200, one);
        let (s, report) = call(
            &app,
            Some(&officer),
            "GET",
            &format!("/api/v1/exercises/{ex_id}/report"),
            None,
        )
        .await;
        assert_eq!(s, StatusCode::OK, "{engine}");
        check("GET", "/api/v1/exercises/{id}/report", 200, report);
        let (s, what_if) = call(
            &app,
            Some(&officer),
            "POST",
            "/api/v1/resilience/what-if",
            Some(serde_json::json!({"cut": ["TDM3"]})),
        )
        .await;
        assert_eq!(s, StatusCode::OK, "{engine}: {what_if}");
        check("POST", "/api/v1/resilience/what-if", 200, what_if);
        let (s, ready) = call(&app, None, "GET", "/api/v1/readyz", None).await;
        assert_eq!(
            s,
            StatusCode::SERVICE_UNAVAILABLE,
            "{engine}: the stream is not started here"
        );
        check("GET", "/api/v1/readyz", 503, ready);
    }
}
