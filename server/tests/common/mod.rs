//! Helpers shared by the integration tests: fresh databases on every engine,
//! the app on them, users of each role with API tokens, and one-shot calls.
#![allow(dead_code)]

use axum::body::Body;
use axum::http::{Request, StatusCode};
use http_body_util::BodyExt;
use server::Registry;
use shared::auth::Role;
use tower::ServiceExt;

pub const NOTICE: &str = include_str!("../../../shared/tests/fixtures/2026-02-14-fault-notice.txt");

/// Fresh registries to run a test on: SQLite in a temp file, and PostgreSQL
/// in a new database when configured.
pub async fn registries(name: &str) -> Vec<(String, Registry, String)> {
    let mut out = Vec::new();
    let dir = std::env::temp_dir().join(format!("cablewatch-test-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let url = format!("sqlite://{}/cw.db", dir.display());
    out.push((
        "sqlite".to_string(),
        server::open(&url).await.expect("open sqlite"),
        url,
    ));
    if let Ok(pg) = std::env::var("CABLEWATCH_TEST_PG") {
        let admin = sqlx::PgPool::connect(&pg)
            .await
            .expect("connect to postgres");
        let db = format!("cw_{}_{}", std::process::id(), name);
        sqlx::query(&format!("DROP DATABASE IF EXISTS {db}"))
            .execute(&admin)
            .await
            .expect("drop");
        sqlx::query(&format!("CREATE DATABASE {db}"))
            .execute(&admin)
            .await
            .expect("create");
        let base = pg
            .rsplit_once('/')
            .map(|(b, _)| b)
            .expect("url has a database");
        let url = format!("{base}/{db}");
        let reg = server::open(&url).await.expect("open postgres");
        out.push(("postgres".to_string(), reg, url));
    }
    out
}

/// The whole app on `reg`, with its session store on the same database, and
/// writes on a write lane as `cablewatch serve` runs them (one lane for the
/// test process).
pub async fn app(reg: &Registry, url: &str) -> axum::Router {
    app_with(reg, url, server::web::WebConfig::default()).await
}

/// [`app`] with its configuration (the write lane is set here).
pub async fn app_with(reg: &Registry, url: &str, config: server::web::WebConfig) -> axum::Router {
    static LANE: std::sync::OnceLock<tokio::runtime::Handle> = std::sync::OnceLock::new();
    let lane = LANE
        .get_or_init(|| server::lane::start().expect("start the write lane"))
        .clone();
    let sessions = server::auth::Sessions::open(url).await.expect("sessions");
    server::web::router(
        reg.clone(),
        sessions,
        std::path::Path::new("target/site"),
        &server::web::WebConfig {
            write_lane: Some(lane),
            ..config
        },
    )
}

/// A GET with an optional bearer token: status, content type and body text.
pub async fn get_text(
    app: &axum::Router,
    token: Option<&str>,
    uri: &str,
) -> (StatusCode, String, String) {
    let mut req = Request::builder().method("GET").uri(uri);
    if let Some(t) = token {
        req = req.header("authorization", format!("Bearer {t}"));
    }
    let resp = app
        .clone()
        .oneshot(req.body(Body::empty()).expect("request"))
        .await
        .expect("response");
    let status = resp.status();
    let ctype = resp
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    let bytes = resp.into_body().collect().await.expect("body").to_bytes();
    (status, ctype, String::from_utf8_lossy(&bytes).into_owned())
}

pub const PASSWORD: &str = "a long enough test password";

/// Adds a user with `role` (password [`PASSWORD`]) and returns an API token of theirs.
pub async fn user_token(reg: &Registry, name: &str, role: Role) -> String {
    reg.add_user("test", name, role, PASSWORD)
        .await
        .expect("add user");
    reg.create_token("test", name, "test", None)
        .await
        .expect("token")
        .secret
}

pub async fn officer_token(reg: &Registry) -> String {
    user_token(reg, "officer", Role::Officer).await
}

/// One request with an optional bearer token: (status, JSON body or Null).
pub async fn call(
    app: &axum::Router,
    token: Option<&str>,
    method: &str,
    uri: &str,
    body: Option<serde_json::Value>,
) -> (StatusCode, serde_json::Value) {
    let mut req = Request::builder().method(method).uri(uri);
    if let Some(t) = token {
        req = req.header("authorization", format!("Bearer {t}"));
    }
    let body = match body {
        Some(v) => {
            req = req.header("content-type", "application/json");
            Body::from(v.to_string())
        }
        None => Body::empty(),
    };
    let resp = app
        .clone()
        .oneshot(req.body(body).expect("request"))
        .await
        .expect("response");
    let status = resp.status();
    let bytes = resp.into_body().collect().await.expect("body").to_bytes();
    let json = serde_json::from_slice(&bytes).unwrap_or(serde_json::Value::Null);
    (status, json)
}
