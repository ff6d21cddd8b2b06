//! Access control as an attacker would test it: the role matrix over every
//! rule of the policy and every registered server function, CSRF, sign-in
//! rate limits, sessions ending on a password change, kiosks, headers.
//! Every test runs on SQLite, and on PostgreSQL when configured.

mod common;

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU32, Ordering};

use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{header, Request, StatusCode};
use common::{app, call, registries, user_token, PASSWORD};
use http_body_util::BodyExt;
use server::policy::{Need, RULES};
use shared::auth::{Capability, Principal, PrincipalKind, Role};
use tower::ServiceExt;

const ORIGIN: &str = "http://cablewatch.test";
const HOST: &str = "cablewatch.test";

/// A distinct client address per call, so tests choose when limits apply.
fn next_addr() -> SocketAddr {
    static N: AtomicU32 = AtomicU32::new(1);
    let n = N.fetch_add(1, Ordering::Relaxed);
    SocketAddr::from(([10, (n >> 16) as u8, (n >> 8) as u8, n as u8], 40000))
}

struct Resp {
    status: StatusCode,
    headers: axum::http::HeaderMap,
    body: String,
}

/// A browser-like request: cookie, Origin and Host of this site, a client address.
async fn send(
    app: &axum::Router,
    method: &str,
    uri: &str,
    cookie: Option<&str>,
    origin: Option<&str>,
    addr: SocketAddr,
    json: Option<serde_json::Value>,
) -> Resp {
    let mut req = Request::builder()
        .method(method)
        .uri(uri)
        .header(header::HOST, HOST);
    if let Some(c) = cookie {
        req = req.header(header::COOKIE, c);
    }
    if let Some(o) = origin {
        req = req.header(header::ORIGIN, o);
    }
    let body = match json {
        Some(v) => {
            req = req.header(header::CONTENT_TYPE, "application/json");
            Body::from(v.to_string())
        }
        None => Body::empty(),
    };
    let mut req = req.body(body).expect("request");
    req.extensions_mut().insert(ConnectInfo(addr));
    let resp = app.clone().oneshot(req).await.expect("response");
    let status = resp.status();
    let headers = resp.headers().clone();
    let bytes = resp.into_body().collect().await.expect("body").to_bytes();
    Resp {
        status,
        headers,
        body: String::from_utf8_lossy(&bytes).into_owned(),
    }
}

/// Signs in through the JSON API and returns the session cookie.
async fn sign_in(app: &axum::Router, name: &str, password: &str) -> Result<String, Resp> {
    let r = send(
        app,
        "POST",
        "/api/v1/session",
        None,
        Some(ORIGIN),
        next_addr(),
        Some(serde_json::json!({"username": name, "password": password})),
    )
    .await;
    if r.status != StatusCode::OK {
        return Err(r);
    }
    let cookie = r
        .headers
        .get(header::SET_COOKIE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(str::to_string);
    cookie.ok_or(r)
}

fn concrete(path: &str) -> String {
    path.split('/')
        .map(|s| if s.starts_with('{') { "1" } else { s })
        .collect::<Vec<_>>()
        .join("/")
}

#[tokio::test]
async fn every_route_and_server_function_enforces_its_role() {
    // A server function registered but missing from the policy fails the test.
    let fns: Vec<(String, String)> = leptos::server_fn::axum::server_fn_paths()
        .map(|(p, m)| (p.to_string(), m.to_string()))
        .collect();
    assert!(fns.len() >= 16, "server functions registered: {fns:?}");
    for (path, method) in &fns {
        assert!(
            RULES.iter().any(|r| r.path == path && r.method == method),
            "server function {method} {path} has no rule in server::policy::RULES"
        );
    }
    // What each mutating route needs, written out: changing the policy of a
    // write means changing this list too.
    use Capability::*;
    let spec: &[(&str, &str, Option<Capability>)] = &[
        ("POST", "/api/v1/session", None),
        ("DELETE", "/api/v1/session", Some(Read)),
        ("POST", "/api/v1/faults", Some(WriteData)),
        ("PATCH", "/api/v1/faults/{id}", Some(WriteData)),
        ("POST", "/api/v1/notices", Some(WriteData)),
        ("POST", "/api/v1/notices/preview", Some(WriteData)),
        ("POST", "/api/v1/maintenance", Some(WriteData)),
        ("POST", "/api/v1/maintenance/{id}/complete", Some(WriteData)),
        ("POST", "/api/v1/assets", Some(WriteData)),
        ("PATCH", "/api/v1/assets/{id}", Some(WriteData)),
        ("POST", "/api/v1/assets/import", Some(WriteData)),
        ("POST", "/api/v1/alerts/{id}/ack", Some(Acknowledge)),
        ("PATCH", "/api/v1/faults/{id}/repair", Some(WriteData)),
        ("PATCH", "/api/v1/ships/{id}", Some(WriteData)),
        ("POST", "/api/v1/resilience/what-if", Some(Read)),
        ("PATCH", "/api/v1/resilience/figures/{key}", Some(WriteData)),
        ("POST", "/api/v1/me/password", Some(Account)),
        ("POST", "/api/v1/me/tokens", Some(Account)),
        ("DELETE", "/api/v1/me/tokens/{id}", Some(Account)),
        ("POST", "/api/v1/me/subscriptions", Some(Subscribe)),
        ("DELETE", "/api/v1/me/subscriptions/{id}", Some(Subscribe)),
        ("POST", "/api/v1/kiosks", Some(ManageAccess)),
        ("POST", "/api/v1/exercises", Some(RunExercises)),
        ("DELETE", "/api/v1/kiosks/{id}", Some(ManageAccess)),
        ("POST", "/api/fn/whoami", None),
        ("POST", "/api/fn/faults", Some(Read)),
        ("POST", "/api/fn/cables", Some(Read)),
        ("POST", "/api/fn/fault", Some(Read)),
        ("POST", "/api/fn/save_fault", Some(WriteData)),
        ("POST", "/api/fn/preview_notice", Some(WriteData)),
        ("POST", "/api/fn/import_notice", Some(WriteData)),
        ("POST", "/api/fn/maintenance", Some(Read)),
        ("POST", "/api/fn/record_maintenance", Some(WriteData)),
        ("POST", "/api/fn/complete_maintenance", Some(WriteData)),
        ("POST", "/api/fn/audit", Some(ReadAudit)),
        ("POST", "/api/fn/map_data", Some(Read)),
        ("POST", "/api/fn/asset_markers", Some(Read)),
        ("POST", "/api/fn/assets", Some(Read)),
        ("POST", "/api/fn/asset", Some(Read)),
        ("POST", "/api/fn/save_asset", Some(WriteData)),
        ("POST", "/api/fn/import_assets", Some(WriteData)),
        ("POST", "/api/fn/watch_board", Some(Read)),
        ("POST", "/api/fn/live_seq", Some(Read)),
        ("POST", "/api/fn/ack_alert", Some(Acknowledge)),
        ("POST", "/api/fn/exercise_context", Some(Read)),
        ("POST", "/api/fn/exercises", Some(Read)),
        ("POST", "/api/fn/create_exercise", Some(RunExercises)),
        ("POST", "/api/fn/exercise_report", Some(Read)),
        ("POST", "/api/fn/resilience", Some(Read)),
        ("POST", "/api/fn/repairs", Some(Read)),
        ("POST", "/api/fn/briefing", Some(Read)),
        ("POST", "/api/fn/my_tokens", Some(Account)),
        ("POST", "/api/fn/create_token", Some(Account)),
        ("POST", "/api/fn/revoke_token", Some(Account)),
        ("POST", "/api/fn/notifications", Some(Subscribe)),
        ("POST", "/api/fn/kiosks", Some(ManageAccess)),
        ("POST", "/api/fn/create_kiosk", Some(ManageAccess)),
        ("POST", "/api/fn/revoke_kiosk", Some(ManageAccess)),
        ("POST", "/signin", None),
        ("POST", "/signout", Some(Read)),
        ("POST", "/faults/new", Some(WriteData)),
        ("POST", "/faults/{id}", Some(WriteData)),
        ("POST", "/maintenance", Some(WriteData)),
        ("POST", "/maintenance/{id}/complete", Some(WriteData)),
        ("POST", "/assets/new", Some(WriteData)),
        ("POST", "/assets/{id}", Some(WriteData)),
        ("POST", "/alerts/{id}/ack", Some(Acknowledge)),
        ("POST", "/exercises", Some(RunExercises)),
        ("POST", "/exercises/{id}/join", Some(Read)),
        ("POST", "/exercises/leave", Some(Read)),
        ("POST", "/notifications", Some(Subscribe)),
        ("POST", "/notifications/{id}/remove", Some(Subscribe)),
        ("POST", "/resilience/figures/{key}", Some(WriteData)),
        ("POST", "/repairs/faults/{id}", Some(WriteData)),
        ("POST", "/repairs/ships/{id}", Some(WriteData)),
    ];
    let mutating: Vec<_> = RULES.iter().filter(|r| r.method != "GET").collect();
    assert_eq!(
        mutating.len(),
        spec.len(),
        "every mutating rule is in the spec"
    );
    for (m, p, cap) in spec {
        let rule = mutating
            .iter()
            .find(|r| r.method == *m && r.path == *p)
            .unwrap_or_else(|| panic!("{m} {p} has a rule"));
        let want = cap.map_or(Need::Public, Need::Signed);
        assert_eq!(rule.need, want, "{m} {p}");
    }
    for (engine, reg, url) in registries("matrix").await {
        let app = app(&reg, &url).await;
        let mut who: Vec<(&str, Option<String>, Option<Principal>)> =
            vec![("anonymous", None, None)];
        for role in Role::ALL {
            let name = format!("m-{role}");
            reg.add_user("test", &name, role, PASSWORD)
                .await
                .expect("user");
            who.push((role.as_str(), None, None));
            let p = Principal {
                id: 0,
                name,
                role,
                kind: PrincipalKind::Session,
            };
            if let Some(last) = who.last_mut() {
                last.2 = Some(p);
            }
        }
        let mut checked = 0;
        for rule in RULES {
            // The API's reads too (charts, exports, …): pages send an
            // anonymous reader to sign in (checked below), and the event
            // stream never ends (its own tests check its access).
            let read = rule.method == "GET";
            // Readiness answers 503 until the live stream runs (ops.rs).
            if read
                && (!rule.path.starts_with("/api/")
                    || rule.path == "/api/v1/events"
                    || rule.path == "/api/v1/readyz")
            {
                continue;
            }
            for (label, cookie, principal) in who.iter_mut() {
                // Sign in (again, after a rule that signs out).
                if let Some(p) = principal.as_ref() {
                    if cookie.is_none() {
                        *cookie = Some(
                            sign_in(&app, &p.name, PASSWORD)
                                .await
                                .map_err(|r| r.body)
                                .expect("sign in"),
                        );
                    }
                }
                let r = send(
                    &app,
                    rule.method,
                    &concrete(rule.path),
                    cookie.as_deref(),
                    Some(ORIGIN),
                    next_addr(),
                    Some(serde_json::json!({})),
                )
                .await;
                let allowed = match (rule.need, principal.as_ref()) {
                    (Need::Public, _) => true,
                    // The test app runs without `--public-feeds`.
                    (Need::Feed, p) => p.is_some(),
                    (Need::Signed(_), None) => false,
                    (Need::Signed(cap), Some(p)) => p.can(cap),
                    // The test requests come from no address (see ops.rs).
                    (Need::Metrics, p) => p.is_some_and(|p| p.can(ManageAccess)),
                };
                let ctx = format!(
                    "{engine}: {} {} as {label}: {} {}",
                    rule.method, rule.path, r.status, r.body
                );
                if allowed {
                    assert!(
                        r.status != StatusCode::UNAUTHORIZED && r.status != StatusCode::FORBIDDEN,
                        "allowed, {ctx}"
                    );
                    // An empty body is refused or ignored, never left to time
                    // out (a stalled request answers 408 after 30 s) or fail.
                    assert!(
                        r.status != StatusCode::REQUEST_TIMEOUT && !r.status.is_server_error(),
                        "answered in time and without a server error, {ctx}"
                    );
                } else if principal.is_none() {
                    assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{ctx}");
                } else {
                    assert_eq!(r.status, StatusCode::FORBIDDEN, "{ctx}");
                }
                if rule.path == "/api/v1/session" && rule.method == "DELETE"
                    || rule.path == "/signout"
                {
                    *cookie = None;
                }
                checked += 1;
            }
        }
        assert!(checked >= 5 * 30, "{engine}: {checked} checks");
        // Unknown API routes fail closed, even for an admin.
        let admin = sign_in(&app, "m-admin", PASSWORD)
            .await
            .map_err(|r| r.body)
            .expect("admin");
        let r = send(
            &app,
            "POST",
            "/api/v1/not-a-route",
            Some(&admin),
            Some(ORIGIN),
            next_addr(),
            None,
        )
        .await;
        assert_eq!(r.status, StatusCode::NOT_FOUND, "{engine}");
        // Pages need a principal: anonymous readers are sent to sign in.
        let r = send(&app, "GET", "/faults/1", None, None, next_addr(), None).await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{engine}");
        let to = r
            .headers
            .get(header::LOCATION)
            .and_then(|v| v.to_str().ok());
        assert_eq!(to, Some("/signin?next=/faults/1"));
        // Reads need a principal too: nothing is public but the health check.
        let (s, _) = call(&app, None, "GET", "/api/v1/faults", None).await;
        assert_eq!(s, StatusCode::UNAUTHORIZED, "{engine}");
        let (s, _) = call(&app, None, "GET", "/api/v1/healthz", None).await;
        assert_eq!(s, StatusCode::OK, "{engine}");
    }
}

#[tokio::test]
async fn a_cross_site_post_is_refused_even_with_a_valid_session() {
    for (engine, reg, url) in registries("csrf").await {
        let app = app(&reg, &url).await;
        reg.add_user("test", "csrf-officer", Role::Officer, PASSWORD)
            .await
            .expect("user");
        let cookie = sign_in(&app, "csrf-officer", PASSWORD)
            .await
            .map_err(|r| r.body)
            .expect("sign in");
        let form = serde_json::json!({
            "cable": "TDM3", "detected_on": "2026-02-10", "kind": "cut", "place": "桃園草漯",
            "km": "40", "alternate_routes": "微波", "eta": "", "status": "open",
            "restored_on": "", "notes": ""
        });
        for origin in [Some("https://evil.example"), Some("null"), None] {
            let r = send(
                &app,
                "POST",
                "/api/v1/faults",
                Some(&cookie),
                origin,
                next_addr(),
                Some(form.clone()),
            )
            .await;
            assert_eq!(
                r.status,
                StatusCode::FORBIDDEN,
                "{engine}: origin {origin:?}: {}",
                r.body
            );
        }
        let mut req = Request::builder()
            .method("POST")
            .uri("/api/fn/save_fault")
            .header(header::HOST, HOST)
            .header(header::COOKIE, &cookie)
            .header("sec-fetch-site", "cross-site")
            .header(header::ORIGIN, ORIGIN)
            .body(Body::empty())
            .expect("req");
        req.extensions_mut().insert(ConnectInfo(next_addr()));
        let resp = app.clone().oneshot(req).await.expect("resp");
        assert_eq!(
            resp.status(),
            StatusCode::FORBIDDEN,
            "{engine}: Sec-Fetch-Site wins"
        );
        assert!(
            reg.faults(true).await.expect("faults").is_empty(),
            "{engine}: nothing written"
        );
        let r = send(
            &app,
            "POST",
            "/api/v1/faults",
            Some(&cookie),
            Some(ORIGIN),
            next_addr(),
            Some(form),
        )
        .await;
        assert_eq!(
            r.status,
            StatusCode::CREATED,
            "{engine}: same origin: {}",
            r.body
        );
        let f = reg.faults(true).await.expect("faults");
        let d = reg.fault(f[0].id).await.expect("detail");
        assert_eq!(
            d.events[0].actor, "user:csrf-officer",
            "{engine}: attributed"
        );
    }
}

#[tokio::test]
async fn thirty_wrong_passwords_are_rate_limited_then_the_right_one_works() {
    for (engine, reg, url) in registries("ratelimit").await {
        let app = app(&reg, &url).await;
        reg.add_user("test", "target", Role::Officer, PASSWORD)
            .await
            .expect("user");
        let attacker = next_addr();
        let mut statuses = Vec::new();
        let mut retry_after = 0;
        for _ in 0..30 {
            let r = send(
                &app,
                "POST",
                "/api/v1/session",
                None,
                Some(ORIGIN),
                attacker,
                Some(serde_json::json!({"username": "target", "password": "wrong password guess"})),
            )
            .await;
            if r.status == StatusCode::TOO_MANY_REQUESTS {
                retry_after = r
                    .headers
                    .get(header::RETRY_AFTER)
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| v.parse::<u64>().ok())
                    .expect("Retry-After");
            }
            statuses.push(r.status.as_u16());
        }
        assert_eq!(&statuses[..5], &[401; 5], "{engine}: {statuses:?}");
        assert!(
            statuses[5..].iter().all(|s| *s == 429),
            "{engine}: {statuses:?}"
        );
        assert!((1..=12).contains(&retry_after), "{engine}: {retry_after}");
        // The account is limited from another address too, but never for long.
        let r = sign_in(&app, "target", PASSWORD).await;
        assert_eq!(
            r.err().map(|r| r.status),
            Some(StatusCode::TOO_MANY_REQUESTS)
        );
        tokio::time::sleep(std::time::Duration::from_secs(retry_after + 1)).await;
        assert!(
            sign_in(&app, "target", PASSWORD).await.is_ok(),
            "{engine}: works after the window"
        );
        // Failed sign-ins are in the audit trail, without the password.
        let events = reg
            .audit(&shared::auth::AuditFilter {
                entity_type: Some("user".into()),
                ..Default::default()
            })
            .await
            .expect("audit");
        let failed = events
            .iter()
            .filter(|e| e.kind == "auth.sign_in_failed")
            .count();
        assert_eq!(failed, 5, "{engine}");
        let all = serde_json::to_string(&events).expect("json");
        assert!(!all.contains("wrong password guess") && !all.contains(PASSWORD));
    }
}

#[tokio::test]
async fn changing_a_password_ends_the_other_sessions() {
    for (engine, reg, url) in registries("passwd").await {
        let app = app(&reg, &url).await;
        reg.add_user("test", "duty", Role::Watch, PASSWORD)
            .await
            .expect("user");
        let a = sign_in(&app, "duty", PASSWORD)
            .await
            .map_err(|r| r.body)
            .expect("a");
        let b = sign_in(&app, "duty", PASSWORD)
            .await
            .map_err(|r| r.body)
            .expect("b");
        assert_ne!(a, b, "a new session id at each sign-in");
        let me = |c: String| {
            let app = app.clone();
            async move {
                send(
                    &app,
                    "GET",
                    "/api/v1/faults",
                    Some(&c),
                    None,
                    next_addr(),
                    None,
                )
                .await
                .status
            }
        };
        assert_eq!(me(b.clone()).await, StatusCode::OK);
        let new = "another long enough password";
        let r = send(
            &app,
            "POST",
            "/api/v1/me/password",
            Some(&a),
            Some(ORIGIN),
            next_addr(),
            Some(serde_json::json!({"current_password": PASSWORD, "new_password": new})),
        )
        .await;
        assert_eq!(r.status, StatusCode::NO_CONTENT, "{engine}: {}", r.body);
        let a2 = r
            .headers
            .get(header::SET_COOKIE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(';').next())
            .map(str::to_string)
            .unwrap_or(a);
        assert_eq!(me(a2).await, StatusCode::OK, "{engine}: this session stays");
        assert_eq!(
            me(b).await,
            StatusCode::UNAUTHORIZED,
            "{engine}: the other ends"
        );
        assert!(sign_in(&app, "duty", PASSWORD).await.is_err());
        assert!(sign_in(&app, "duty", new).await.is_ok());
        // A disabled user's token stops at once.
        let tok = user_token(&reg, "leaver", Role::Officer).await;
        let (s, _) = call(&app, Some(&tok), "GET", "/api/v1/faults", None).await;
        assert_eq!(s, StatusCode::OK);
        reg.disable_user("test", "leaver").await.expect("disable");
        let (s, _) = call(&app, Some(&tok), "GET", "/api/v1/faults", None).await;
        assert_eq!(s, StatusCode::UNAUTHORIZED, "{engine}");
    }
}

#[tokio::test]
async fn a_kiosk_screen_reads_and_cannot_write() {
    for (engine, reg, url) in registries("kiosk").await {
        let app = app(&reg, &url).await;
        let k = reg
            .create_kiosk("test", "lobby wall", 30)
            .await
            .expect("kiosk");
        let r = send(
            &app,
            "GET",
            &format!("/kiosk?token={}", k.secret),
            None,
            None,
            next_addr(),
            None,
        )
        .await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{engine}: {}", r.body);
        let cookie = r
            .headers
            .get(header::SET_COOKIE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(';').next())
            .map(str::to_string)
            .expect("cookie");
        let r = send(
            &app,
            "GET",
            "/api/v1/faults",
            Some(&cookie),
            None,
            next_addr(),
            None,
        )
        .await;
        assert_eq!(r.status, StatusCode::OK, "{engine}");
        let r = send(
            &app,
            "POST",
            "/api/v1/notices",
            Some(&cookie),
            Some(ORIGIN),
            next_addr(),
            None,
        )
        .await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{engine}");
        let (s, _) = call(
            &app,
            Some(&k.secret),
            "POST",
            "/api/v1/maintenance",
            Some(serde_json::json!({})),
        )
        .await;
        assert_eq!(s, StatusCode::FORBIDDEN, "{engine}: kiosk token as bearer");
        reg.revoke_kiosk("test", k.id).await.expect("revoke");
        let r = send(
            &app,
            "GET",
            "/api/v1/faults",
            Some(&cookie),
            None,
            next_addr(),
            None,
        )
        .await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{engine}: revoked");
        let r = send(
            &app,
            "GET",
            "/kiosk?token=cwk_forged",
            None,
            None,
            next_addr(),
            None,
        )
        .await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    }
}

#[tokio::test]
async fn responses_carry_the_security_headers_and_cookies_are_strict() {
    for (engine, reg, url) in registries("headers").await {
        let app = app(&reg, &url).await;
        reg.add_user("test", "hdr", Role::Briefing, PASSWORD)
            .await
            .expect("user");
        let r = send(
            &app,
            "POST",
            "/api/v1/session",
            None,
            Some(ORIGIN),
            next_addr(),
            Some(serde_json::json!({"username": "hdr", "password": PASSWORD})),
        )
        .await;
        let set = r
            .headers
            .get(header::SET_COOKIE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        assert!(
            set.contains("HttpOnly") && set.contains("SameSite=Strict"),
            "{engine}: {set}"
        );
        let cookie = set.split(';').next().unwrap_or("").to_string();
        let page = send(&app, "GET", "/", Some(&cookie), None, next_addr(), None).await;
        assert_eq!(page.status, StatusCode::OK, "{engine}");
        let csp = page
            .headers
            .get(header::CONTENT_SECURITY_POLICY)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        assert!(
            csp.contains("default-src 'self'") && csp.contains("frame-ancestors 'none'"),
            "{csp}"
        );
        let nonce = csp
            .split("'nonce-")
            .nth(1)
            .and_then(|s| s.split('\'').next())
            .expect("the page's CSP has a nonce");
        assert!(
            page.body.contains(&format!("nonce=\"{nonce}\"")),
            "{engine}: scripts carry the nonce"
        );
        for h in [header::X_CONTENT_TYPE_OPTIONS, header::REFERRER_POLICY] {
            assert!(page.headers.contains_key(&h), "{engine}: {h}");
        }
        let (s, _) = call(&app, None, "GET", "/api/v1/healthz", None).await;
        assert_eq!(s, StatusCode::OK);
    }
}
