//! Operations endpoints against real databases: `/api/v1/readyz` (database
//! answers, live stream caught up) and `/metrics` (who may scrape it, what
//! it counts, and that a scan of random paths cannot grow its label set).

mod common;

use std::net::SocketAddr;

use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{Request, StatusCode};
use common::{app, app_with, call, officer_token, registries, user_token};
use http_body_util::BodyExt;
use serde_json::json;
use shared::auth::Role;
use tower::ServiceExt;

fn fault(km: u32) -> serde_json::Value {
    json!({
        "cable": "TDM3", "detected_on": "2026-02-10", "kind": "cut",
        "place": "桃園草漯", "km": km.to_string(), "alternate_routes": "微波",
        "eta": "2026-04", "status": "open", "restored_on": "", "notes": ""
    })
}

/// A GET from `peer` (as `cablewatch serve` sees its TCP peer) with an
/// optional bearer token: status and body text.
async fn get_from(
    app: &axum::Router,
    peer: &str,
    token: Option<&str>,
    uri: &str,
) -> (StatusCode, String) {
    let mut req = Request::builder().method("GET").uri(uri);
    if let Some(t) = token {
        req = req.header("authorization", format!("Bearer {t}"));
    }
    let mut req = req.body(Body::empty()).expect("request");
    let addr: SocketAddr = peer.parse().expect("peer address");
    req.extensions_mut().insert(ConnectInfo(addr));
    let resp = app.clone().oneshot(req).await.expect("response");
    let status = resp.status();
    let bytes = resp.into_body().collect().await.expect("body").to_bytes();
    (status, String::from_utf8_lossy(&bytes).into_owned())
}

/// The value of the sample whose line starts with `series` (name and labels
/// as rendered), or 0 when there is none yet.
fn sample(text: &str, series: &str) -> f64 {
    text.lines()
        .find_map(|l| l.strip_prefix(series)?.trim().parse().ok())
        .unwrap_or(0.0)
}

#[tokio::test]
async fn readyz_waits_for_the_live_stream_and_healthz_stays_minimal() {
    for (engine, reg, url) in registries("readyz").await {
        let app = app(&reg, &url).await;
        let (s, body) = call(&app, None, "GET", "/api/v1/readyz", None).await;
        assert_eq!(s, StatusCode::SERVICE_UNAVAILABLE, "{engine}: {body}");
        assert_eq!(body["reason"], "live stream not started", "{engine}");
        // Health is about storage alone: fine before the stream starts.
        let (s, _) = call(&app, None, "GET", "/api/v1/healthz", None).await;
        assert_eq!(s, StatusCode::OK, "{engine}");

        let pg = url.starts_with("postgres").then(|| url.clone());
        reg.live()
            .start(reg.log().clone(), pg)
            .await
            .expect("start live");
        let officer = officer_token(&reg).await;
        let admin = user_token(&reg, "boss", Role::Admin).await;
        for km in 1..=5 {
            let (s, b) = call(
                &app,
                Some(&officer),
                "POST",
                "/api/v1/faults",
                Some(fault(km)),
            )
            .await;
            assert_eq!(s, StatusCode::CREATED, "{engine}: {b}");
            // Asked right after a commit, readiness waits for the pump
            // instead of flapping to 503.
            let (s, body) = call(&app, None, "GET", "/api/v1/readyz", None).await;
            assert_eq!(s, StatusCode::OK, "{engine}: {body}");
            assert_eq!(body["pump_lag"], 0, "{engine}");
            assert_eq!(reg.pump_lag().await.expect("lag"), Some(0), "{engine}");
        }
        let (s, _) = call(&app, None, "GET", "/api/v1/readyz", None).await;
        assert_eq!(s, StatusCode::OK, "{engine}");
        let (s, text) = get_from(&app, "192.0.2.1:1", Some(&admin), "/metrics").await;
        assert_eq!(s, StatusCode::OK, "{engine}");
        assert!(
            text.lines()
                .any(|l| l == "cablewatch_live_pump_lag_events 0"),
            "{engine}: {text}"
        );
        assert!(
            text.lines()
                .any(|l| l.starts_with("cablewatch_live_streams ")),
            "{engine}"
        );
        reg.live().shut_down();
    }
}

#[tokio::test]
async fn metrics_are_for_admins_and_configured_addresses_only() {
    for (engine, reg, url) in registries("metrics_access").await {
        let config = server::web::WebConfig {
            metrics_from: vec!["10.20.0.0/16".parse().expect("net")],
            ..Default::default()
        };
        let app = app_with(&reg, &url, config).await;
        let reader = user_token(&reg, "reader", Role::Officer).await;
        let admin = user_token(&reg, "boss", Role::Admin).await;
        let outside = "192.0.2.7:5000";
        let (s, _) = get_from(&app, outside, None, "/metrics").await;
        assert_eq!(s, StatusCode::UNAUTHORIZED, "{engine}: anonymous");
        let (s, _) = get_from(&app, outside, Some(&reader), "/metrics").await;
        assert_eq!(s, StatusCode::FORBIDDEN, "{engine}: an officer");
        let (s, text) = get_from(&app, outside, Some(&admin), "/metrics").await;
        assert_eq!(s, StatusCode::OK, "{engine}: an admin");
        assert!(
            text.contains("# TYPE cablewatch_http_requests_total counter"),
            "{text}"
        );
        // The scraper's network needs no account, and a near miss does not pass.
        let (s, _) = get_from(&app, "10.20.3.4:41000", None, "/metrics").await;
        assert_eq!(s, StatusCode::OK, "{engine}: from the configured network");
        let (s, _) = get_from(&app, "10.21.0.1:41000", None, "/metrics").await;
        assert_eq!(s, StatusCode::UNAUTHORIZED, "{engine}: outside it");
        // Without a peer address (no ConnectInfo) nothing is trusted.
        let (s, _) = call(&app, None, "GET", "/metrics", None).await;
        assert_eq!(s, StatusCode::UNAUTHORIZED, "{engine}: no address");
    }
}

#[tokio::test]
async fn metrics_count_requests_writes_sign_in_failures_and_refusals() {
    for (engine, reg, url) in registries("metrics_counts").await {
        let app = app(&reg, &url).await;
        let admin = user_token(&reg, "boss", Role::Admin).await;
        let officer = officer_token(&reg).await;
        let peer = "192.0.2.9:5000";
        let scrape = || async { get_from(&app, peer, Some(&admin), "/metrics").await.1 };
        let before = scrape().await;
        let list =
            r#"cablewatch_http_requests_total{method="GET",route="/api/v1/faults",status="200"}"#;
        let created =
            r#"cablewatch_http_requests_total{method="POST",route="/api/v1/faults",status="201"}"#;
        let one = r#"cablewatch_http_requests_total{method="GET",route="/api/v1/faults/{id}",status="200"}"#;
        let missing = r#"cablewatch_http_requests_total{method="GET",route="/api/v1/faults/{id}",status="404"}"#;

        let (s, f) = call(
            &app,
            Some(&officer),
            "POST",
            "/api/v1/faults",
            Some(fault(9)),
        )
        .await;
        assert_eq!(s, StatusCode::CREATED, "{engine}: {f}");
        let id = f["id"].as_i64().expect("id");
        for _ in 0..3 {
            let (s, _) = call(&app, Some(&officer), "GET", "/api/v1/faults", None).await;
            assert_eq!(s, StatusCode::OK);
        }
        let (s, _) = call(
            &app,
            Some(&officer),
            "GET",
            &format!("/api/v1/faults/{id}"),
            None,
        )
        .await;
        assert_eq!(s, StatusCode::OK);
        let (s, _) = call(&app, Some(&officer), "GET", "/api/v1/faults/999999", None).await;
        assert_eq!(s, StatusCode::NOT_FOUND);
        // A server-rendered page, by its route's template too.
        let (s, _, _) = common::get_text(&app, Some(&officer), &format!("/faults/{id}")).await;
        assert_eq!(s, StatusCode::OK);
        // Random paths: one label, not one per path.
        for i in 0..20 {
            let _ = call(&app, None, "GET", &format!("/api/v1/nothing-{i}"), None).await;
        }
        // A wrong password, by JSON.
        let (s, _) = call(
            &app,
            None,
            "POST",
            "/api/v1/session",
            Some(json!({"username": "boss", "password": "not the password at all"})),
        )
        .await;
        assert_eq!(s, StatusCode::UNAUTHORIZED);

        let after = scrape().await;
        // Tests in this file share the process's recorder: compare deltas.
        let delta = |series: &str| sample(&after, series) - sample(&before, series);
        assert!(delta(list) >= 3.0, "{engine}: list counted\n{after}");
        assert!(delta(created) >= 1.0, "{engine}: create counted");
        assert!(delta(one) >= 1.0, "{engine}: by template, not by id");
        assert!(delta(missing) >= 1.0, "{engine}: status in the label");
        let page =
            r#"cablewatch_http_requests_total{method="GET",route="/faults/{id}",status="200"}"#;
        assert!(
            delta(page) >= 1.0,
            "{engine}: a page by its template\n{after}"
        );
        assert!(
            !after.contains("nothing-"),
            "{engine}: no label made from a random path"
        );
        assert!(
            delta(r#"cablewatch_http_requests_total{method="GET",route="other",status="404"}"#)
                >= 20.0
        );
        assert!(
            delta("cablewatch_events_written_total") >= 1.0,
            "{engine}: events written"
        );
        assert!(
            delta("cablewatch_sign_in_failures_total") >= 1.0,
            "{engine}: sign-in failure"
        );
        assert!(
            after.contains(r#"cablewatch_http_request_duration_seconds_bucket{method="GET",route="/api/v1/faults",le="0.005"}"#),
            "{engine}: latency histogram with buckets"
        );
        assert!(
            after.contains(r#"cablewatch_db_pool_connections{state="idle"}"#),
            "{engine}"
        );
        assert!(after.contains("cablewatch_write_lane_depth"), "{engine}");
    }
}

#[tokio::test]
async fn rate_limited_sign_ins_are_counted() {
    let (engine, reg, url) = registries("metrics_limit")
        .await
        .into_iter()
        .next()
        .expect("sqlite");
    let app = app(&reg, &url).await;
    let admin = user_token(&reg, "boss", Role::Admin).await;
    let scrape = || async {
        get_from(&app, "192.0.2.10:1", Some(&admin), "/metrics")
            .await
            .1
    };
    let before = sample(&scrape().await, "cablewatch_rate_limited_total");
    let mut limited = 0;
    for _ in 0..30 {
        let (s, _) = call(
            &app,
            None,
            "POST",
            "/api/v1/session",
            Some(json!({"username": "victim", "password": "wrong wrong wrong"})),
        )
        .await;
        if s == StatusCode::TOO_MANY_REQUESTS {
            limited += 1;
        }
    }
    assert!(limited > 0, "{engine}: the limit was reached");
    let after = sample(&scrape().await, "cablewatch_rate_limited_total");
    assert!(
        after - before >= f64::from(limited),
        "{engine}: {before} → {after}, {limited} refused"
    );
}

/// A GET with headers: status and response headers (the body is dropped
/// unread, so an endless stream can be asked too).
async fn head_of(
    app: &axum::Router,
    uri: &str,
    headers: &[(&str, &str)],
) -> (StatusCode, axum::http::HeaderMap) {
    let mut req = Request::builder().method("GET").uri(uri);
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let resp = app
        .clone()
        .oneshot(req.body(Body::empty()).expect("request"))
        .await
        .expect("response");
    (resp.status(), resp.headers().clone())
}

#[tokio::test]
async fn pages_and_json_are_compressed_and_the_event_stream_is_not() {
    let (engine, reg, url) = registries("compression")
        .await
        .into_iter()
        .next()
        .expect("sqlite");
    reg.import_notice("test", common::NOTICE)
        .await
        .expect("import");
    let app = app(&reg, &url).await;
    let officer = officer_token(&reg).await;
    let auth = format!("Bearer {officer}");
    let (s, h) = head_of(
        &app,
        "/",
        &[("authorization", &auth), ("accept-encoding", "br, gzip")],
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{engine}");
    assert_eq!(h["content-encoding"], "br", "{engine}: the page in brotli");
    let (_, h) = head_of(
        &app,
        "/api/v1/faults",
        &[("authorization", &auth), ("accept-encoding", "gzip")],
    )
    .await;
    assert_eq!(h["content-encoding"], "gzip", "{engine}: JSON in gzip");
    // Without Accept-Encoding, nothing is compressed.
    let (_, h) = head_of(&app, "/api/v1/faults", &[("authorization", &auth)]).await;
    assert!(h.get("content-encoding").is_none(), "{engine}");
    // A stream compressed would hold events back in the encoder.
    let (s, h) = head_of(
        &app,
        "/api/v1/events",
        &[("authorization", &auth), ("accept-encoding", "br, gzip")],
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{engine}");
    assert!(h["content-type"]
        .to_str()
        .unwrap_or("")
        .starts_with("text/event-stream"));
    assert!(
        h.get("content-encoding").is_none(),
        "{engine}: the stream as it is"
    );
}

#[tokio::test]
async fn site_files_are_sent_from_their_precompressed_copies() {
    let (_, reg, url) = registries("precompressed")
        .await
        .into_iter()
        .next()
        .expect("sqlite");
    let site = std::env::temp_dir().join(format!("cw-site-{}", std::process::id()));
    std::fs::create_dir_all(site.join("pkg")).expect("site dir");
    std::fs::write(site.join("pkg/cablewatch.js"), "the raw script").expect("raw");
    std::fs::write(site.join("pkg/cablewatch.js.br"), "brotli bytes").expect("br");
    let sessions = server::auth::Sessions::open(&url).await.expect("sessions");
    let app = server::web::router(reg, sessions, &site, &Default::default());
    let get = |enc: Option<&'static str>| {
        let app = app.clone();
        async move {
            let mut req = Request::builder().uri("/pkg/cablewatch.js");
            if let Some(e) = enc {
                req = req.header("accept-encoding", e);
            }
            let resp = app
                .oneshot(req.body(Body::empty()).expect("request"))
                .await
                .expect("response");
            let enc = resp
                .headers()
                .get("content-encoding")
                .map(|v| v.to_str().unwrap_or("").to_string());
            let body = resp.into_body().collect().await.expect("body").to_bytes();
            (enc, String::from_utf8_lossy(&body).into_owned())
        }
    };
    assert_eq!(
        get(Some("br, gzip")).await,
        (Some("br".into()), "brotli bytes".into())
    );
    // No .gz copy: a gzip-only client gets the file compressed on the fly or raw, never the brotli copy.
    let (enc, body) = get(Some("gzip")).await;
    assert_ne!(enc.as_deref(), Some("br"));
    assert_ne!(body, "brotli bytes");
    assert_eq!(get(None).await, (None, "the raw script".into()));
    let _ = std::fs::remove_dir_all(&site);
}
