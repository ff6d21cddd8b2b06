//! Regression tests for defects found in review (issue 11): the write path
//! under concurrent load, the live stream's order on PostgreSQL, a failed
//! commit, sessions and redirects. Every test runs on SQLite, and on
//! PostgreSQL when configured.

mod common;

use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU32, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{header, Request, StatusCode};
use common::{app, call, registries, user_token, PASSWORD};
use futures_util::StreamExt;
use http_body_util::BodyExt;
use serde_json::json;
use shared::auth::Role;
use tower::ServiceExt;

const ORIGIN: &str = "http://cablewatch.test";
const HOST: &str = "cablewatch.test";

/// A distinct loopback client address per call (127.0.x.y), so the per-address
/// sign-in limit never refuses.
fn next_addr() -> SocketAddr {
    static N: AtomicU32 = AtomicU32::new(1);
    let n = N.fetch_add(1, Ordering::Relaxed);
    SocketAddr::from(([127, (n >> 16) as u8, (n >> 8) as u8, n as u8], 40000))
}

struct Resp {
    status: StatusCode,
    headers: axum::http::HeaderMap,
    body: String,
}

async fn send(
    app: &axum::Router,
    method: &str,
    uri: &str,
    cookie: Option<&str>,
    token: Option<&str>,
    json: Option<serde_json::Value>,
) -> Resp {
    let mut req = Request::builder()
        .method(method)
        .uri(uri)
        .header(header::HOST, HOST)
        .header(header::ORIGIN, ORIGIN);
    if let Some(c) = cookie {
        req = req.header(header::COOKIE, c);
    }
    if let Some(t) = token {
        req = req.header(header::AUTHORIZATION, format!("Bearer {t}"));
    }
    let body = match json {
        Some(v) => {
            req = req.header(header::CONTENT_TYPE, "application/json");
            Body::from(v.to_string())
        }
        None => Body::empty(),
    };
    let mut req = req.body(body).expect("request");
    req.extensions_mut().insert(ConnectInfo(next_addr()));
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

fn set_cookie(r: &Resp) -> Option<String> {
    r.headers
        .get(header::SET_COOKIE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(str::to_string)
}

async fn sign_in(app: &axum::Router, cookie: Option<&str>, name: &str, password: &str) -> Resp {
    send(
        app,
        "POST",
        "/api/v1/session",
        cookie,
        None,
        Some(json!({"username": name, "password": password})),
    )
    .await
}

fn asset(name: &str) -> serde_json::Value {
    json!({"name": name, "kind": "sat_terminal", "lon": "119.95", "lat": "26.16",
           "region": "Matsu", "orbit": "LEO"})
}

fn fault(km: u32) -> serde_json::Value {
    json!({"cable": "TDM3", "detected_on": "2026-02-10", "kind": "partial_damage", "place": "桃園草漯",
           "km": km.to_string(), "alternate_routes": "微波", "eta": "2026-04", "status": "open",
           "restored_on": "", "notes": ""})
}

/// Issue 11.1: with one stream open, 4 officers posting faults and 200
/// sign-ins (right and wrong passwords, from distinct addresses) running at
/// once, every event committed after the first one the stream saw reaches
/// it, in order. Sign-in events used to commit outside the writer lock, so
/// on PostgreSQL a later `seq` could be published before an earlier one
/// committed, and the earlier one was never sent.
#[tokio::test]
async fn every_event_reaches_the_stream_in_order_while_sign_ins_and_writes_race() {
    for (engine, reg, url) in registries("gap").await {
        let pg = url.starts_with("postgres").then(|| url.clone());
        reg.live()
            .start(reg.log().clone(), pg)
            .await
            .expect("start live");
        let app = app(&reg, &url).await;
        let watcher = user_token(&reg, "watcher", Role::Admin).await;
        let mut officers = Vec::new();
        for i in 0..4 {
            officers.push(user_token(&reg, &format!("officer{i}"), Role::Officer).await);
        }
        for i in 0..8 {
            for k in (0..25).step_by(5) {
                reg.add_user("test", &format!("racer{i}-{k}"), Role::Watch, PASSWORD)
                    .await
                    .expect("user");
            }
        }
        let req = Request::get("/api/v1/events")
            .header("authorization", format!("Bearer {watcher}"))
            .body(Body::empty())
            .expect("request");
        let resp = app.clone().oneshot(req).await.expect("stream");
        assert_eq!(resp.status(), StatusCode::OK);
        let mut body = resp.into_body();
        // The stream is read from the start, in a task of its own: it says
        // when it is ready, then keeps every id it is sent.
        let seen = Arc::new(std::sync::Mutex::new(Vec::<i64>::new()));
        let (ready_tx, ready_rx) = tokio::sync::oneshot::channel::<()>();
        let reader = {
            let seen = seen.clone();
            tokio::spawn(async move {
                let mut ready = Some(ready_tx);
                let mut buf = String::new();
                while let Some(Ok(frame)) = body.frame().await {
                    if let Ok(d) = frame.into_data() {
                        buf.push_str(&String::from_utf8_lossy(&d));
                    }
                    while let Some(end) = buf.find("\n\n") {
                        let msg: String = buf.drain(..end + 2).collect();
                        if msg.lines().any(|l| l.trim() == "event: ready") {
                            if let Some(r) = ready.take() {
                                let _ = r.send(());
                            }
                        }
                        if msg.lines().any(|l| l.starts_with("event:")) {
                            continue;
                        }
                        if let Some(id) = msg.lines().find_map(|l| l.strip_prefix("id:")) {
                            if let Ok(id) = id.trim().parse() {
                                seen.lock().expect("ids").push(id);
                            }
                        }
                    }
                }
            })
        };
        tokio::time::timeout(Duration::from_secs(10), ready_rx)
            .await
            .expect("ready in time")
            .expect("ready");

        let mut tasks = Vec::new();
        for (i, tok) in officers.iter().enumerate() {
            let (app, tok) = (app.clone(), tok.clone());
            tasks.push(tokio::spawn(async move {
                for k in 0..25u32 {
                    let r = send(
                        &app,
                        "POST",
                        "/api/v1/faults",
                        None,
                        Some(&tok),
                        Some(fault(1000 + i as u32 * 100 + k)),
                    )
                    .await;
                    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
                }
            }));
        }
        for i in 0..8 {
            let app = app.clone();
            tasks.push(tokio::spawn(async move {
                for k in 0..25 {
                    // Every fifth try signs a real account in (each once, so
                    // no per-account limit applies); the others are wrong
                    // names, each logged as a failed sign-in.
                    let (name, pw, want) = if k % 5 == 0 {
                        (format!("racer{i}-{k}"), PASSWORD, StatusCode::OK)
                    } else {
                        (format!("ghost{i}-{k}"), "wrong", StatusCode::UNAUTHORIZED)
                    };
                    let r = sign_in(&app, None, &name, pw).await;
                    assert_eq!(r.status, want, "{name}: {}", r.body);
                }
            }));
        }
        for t in tasks {
            t.await.expect("writer");
        }
        let last = reg.last_seq().await.expect("last seq");

        // Wait until the stream has sent `last`.
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let head = seen.lock().expect("ids").last().copied();
            if head.is_some_and(|h| h >= last) {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "{engine}: the stream stopped at {head:?} of {last}"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        reader.abort();
        let seen = seen.lock().expect("ids").clone();
        let first = *seen.first().expect("the stream saw events");
        let all: Vec<i64> = reg
            .events_after(first - 1, 100_000)
            .await
            .expect("events")
            .into_iter()
            .map(|e| e.seq)
            .filter(|s| *s <= last)
            .collect();
        assert!(
            all.len() >= 200,
            "{engine}: only {} events raced",
            all.len()
        );
        let sign_ins = reg
            .events_after(first - 1, 100_000)
            .await
            .expect("events")
            .into_iter()
            .filter(|e| e.kind.starts_with("auth.sign"))
            .count();
        assert!(sign_ins >= 200, "{engine}: {sign_ins} sign-in events");
        assert_eq!(
            seen, all,
            "{engine}: the stream skipped or reordered events"
        );
        reg.live().shut_down();
    }
}

/// Issue 11.15: 8 officers writing and 50 signed-in readers for 30 s: not
/// one answer is a server error. Every read used to save its session (a
/// write), and write transactions began deferred and failed to upgrade:
/// thousands of "database is locked" 500s on SQLite.
///
/// It saturates both cores for 30 s per engine on purpose, so it runs alone
/// (`cargo xtask test` runs it after the others, with `--ignored`): sharing
/// the process, it starved the other tests' page renders past their 30 s
/// request timeout (408s on CI).
#[tokio::test]
#[ignore = "a 30 s saturating load: cargo xtask test runs it alone"]
async fn writers_and_signed_in_readers_together_get_no_server_error() {
    for (engine, reg, url) in registries("load").await {
        let app = app(&reg, &url).await;
        let mut officers = Vec::new();
        for i in 0..8 {
            officers.push(user_token(&reg, &format!("w{i}"), Role::Officer).await);
        }
        reg.add_user("test", "reader", Role::Watch, PASSWORD)
            .await
            .expect("reader");
        let mut cookies = Vec::new();
        for _ in 0..50 {
            let r = sign_in(&app, None, "reader", PASSWORD).await;
            if r.status == StatusCode::TOO_MANY_REQUESTS {
                // The per-account limit: 5 quick sign-ins, then one every 12 s.
                break;
            }
            assert_eq!(r.status, StatusCode::OK, "{engine}: {}", r.body);
            cookies.push(set_cookie(&r).expect("cookie"));
        }
        // More readers than the account limit lets sign in quickly: each
        // further reader gets an account of its own.
        let mut n = 0;
        while cookies.len() < 50 {
            let name = format!("reader{n}");
            n += 1;
            reg.add_user("test", &name, Role::Watch, PASSWORD)
                .await
                .expect("reader");
            let r = sign_in(&app, None, &name, PASSWORD).await;
            assert_eq!(r.status, StatusCode::OK, "{engine}: {}", r.body);
            cookies.push(set_cookie(&r).expect("cookie"));
        }
        let until = Instant::now() + Duration::from_secs(30);
        let errors = Arc::new(AtomicUsize::new(0));
        let done = Arc::new(AtomicUsize::new(0));
        let writes = Arc::new(AtomicUsize::new(0));
        let mut tasks = Vec::new();
        for (i, tok) in officers.into_iter().enumerate() {
            let (app, errors, done, writes) =
                (app.clone(), errors.clone(), done.clone(), writes.clone());
            tasks.push(tokio::spawn(async move {
                let mut k = 0;
                while Instant::now() < until {
                    let r = send(
                        &app,
                        "POST",
                        "/api/v1/assets",
                        None,
                        Some(&tok),
                        Some(asset(&format!("load {i} {k}"))),
                    )
                    .await;
                    k += 1;
                    done.fetch_add(1, Ordering::Relaxed);
                    if r.status.is_server_error() {
                        errors.fetch_add(1, Ordering::Relaxed);
                        eprintln!("write: {} {}", r.status, r.body);
                    } else {
                        assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
                        writes.fetch_add(1, Ordering::Relaxed);
                    }
                }
            }));
        }
        for (i, cookie) in cookies.into_iter().enumerate() {
            let (app, errors, done) = (app.clone(), errors.clone(), done.clone());
            tasks.push(tokio::spawn(async move {
                let paths = [
                    "/api/v1/faults",
                    "/api/v1/watch",
                    "/api/v1/alerts",
                    "/api/v1/assets?limit=5",
                ];
                let mut k = i;
                while Instant::now() < until {
                    let r = send(
                        &app,
                        "GET",
                        paths[k % paths.len()],
                        Some(&cookie),
                        None,
                        None,
                    )
                    .await;
                    k += 1;
                    done.fetch_add(1, Ordering::Relaxed);
                    if r.status.is_server_error() {
                        errors.fetch_add(1, Ordering::Relaxed);
                        eprintln!("read: {} {}", r.status, r.body);
                    } else {
                        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
                    }
                }
            }));
        }
        for t in tasks {
            t.await.expect("client");
        }
        let (errors, done, writes) = (
            errors.load(Ordering::Relaxed),
            done.load(Ordering::Relaxed),
            writes.load(Ordering::Relaxed),
        );
        eprintln!("{engine}: {done} requests, {writes} writes, {errors} server errors");
        assert_eq!(
            errors, 0,
            "{engine}: {errors} of {done} requests answered 5xx"
        );
        assert!(writes > 50, "{engine}: only {writes} writes in 30 s");
    }
}

/// Issue 11.15: a signed-in read writes nothing: the session is saved (and
/// its cookie sent) at sign-in, then not again on the reads that follow
/// within a minute.
#[tokio::test]
async fn a_signed_in_read_does_not_save_the_session() {
    for (engine, reg, url) in registries("readonly").await {
        let app = app(&reg, &url).await;
        reg.add_user("test", "reader", Role::Watch, PASSWORD)
            .await
            .expect("reader");
        let r = sign_in(&app, None, "reader", PASSWORD).await;
        let cookie = set_cookie(&r).expect("cookie");
        count_session_writes(&reg, &url).await;
        let events = reg.event_count().await.expect("events");
        for path in ["/api/v1/faults", "/", "/map", "/api/v1/watch"] {
            let r = send(&app, "GET", path, Some(&cookie), None, None).await;
            assert_eq!(
                r.status,
                StatusCode::OK,
                "{engine} {path}: {}",
                &r.body[..r.body.len().min(500)]
            );
            assert!(
                r.headers.get(header::SET_COOKIE).is_none(),
                "{engine} {path}: a read sent a new session cookie"
            );
            assert_eq!(
                r.headers
                    .get(header::CACHE_CONTROL)
                    .and_then(|v| v.to_str().ok()),
                Some("no-store"),
                "{engine} {path}"
            );
        }
        let writes: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM session_writes")
            .fetch_one(reg.pool())
            .await
            .expect("count");
        assert_eq!(
            writes, 0,
            "{engine}: reads saved the session {writes} times"
        );
        assert_eq!(reg.event_count().await.expect("events"), events, "{engine}");
    }
}

/// Issue 11.9: signing in always starts a new session id, whatever the
/// browser's session held before (here: a user since disabled).
#[tokio::test]
async fn signing_in_always_changes_the_session_id() {
    for (engine, reg, url) in registries("fixation").await {
        let app = app(&reg, &url).await;
        for n in ["first", "second"] {
            reg.add_user("test", n, Role::Watch, PASSWORD)
                .await
                .expect("user");
        }
        let r = sign_in(&app, None, "first", PASSWORD).await;
        let old = set_cookie(&r).expect("cookie");
        reg.disable_user("test", "first").await.expect("disable");
        let r = sign_in(&app, Some(&old), "second", PASSWORD).await;
        assert_eq!(r.status, StatusCode::OK, "{engine}");
        let new = set_cookie(&r).expect("a new cookie");
        assert_ne!(old, new, "{engine}: the session id was kept");
        // The old id no longer names a session.
        let r = send(&app, "GET", "/api/v1/faults", Some(&old), None, None).await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{engine}");
        let r = send(&app, "GET", "/api/v1/faults", Some(&new), None, None).await;
        assert_eq!(r.status, StatusCode::OK, "{engine}");
    }
}

/// Issue 11.8: after a sign-in only the site's own pages are targets; a tab,
/// CR/LF or backslash in `next` never leaves the site nor breaks the answer.
#[tokio::test]
async fn sign_in_and_kiosk_redirects_stay_on_the_site() {
    for (engine, reg, url) in registries("redirect").await {
        let app = app(&reg, &url).await;
        reg.add_user("test", "reader", Role::Watch, PASSWORD)
            .await
            .expect("reader");
        for next in [
            "/%09/evil.example",
            "/%0d%0aSet-Cookie:%20x=1",
            "//evil.example",
            "/%5C%5Cevil.example",
            "https://evil.example",
        ] {
            let body = format!(
                "username=reader&password={}&next={next}",
                PASSWORD.replace(' ', "+")
            );
            let mut req = Request::post("/signin")
                .header(header::HOST, HOST)
                .header(header::ORIGIN, ORIGIN)
                .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                .body(Body::from(body))
                .expect("request");
            req.extensions_mut().insert(ConnectInfo(next_addr()));
            let resp = app.clone().oneshot(req).await.expect("response");
            assert_eq!(resp.status(), StatusCode::SEE_OTHER, "{engine} {next}");
            assert_eq!(
                resp.headers()
                    .get(header::LOCATION)
                    .and_then(|v| v.to_str().ok()),
                Some("/"),
                "{engine} {next}"
            );
            let mut req = Request::get(format!("/kiosk?token=cwk_nothing&next={next}"))
                .header(header::HOST, HOST)
                .body(Body::empty())
                .expect("request");
            req.extensions_mut().insert(ConnectInfo(next_addr()));
            let resp = app.clone().oneshot(req).await.expect("response");
            assert_eq!(resp.status(), StatusCode::UNAUTHORIZED, "{engine} {next}");
        }
        let kiosk = reg
            .create_kiosk("test", "wall", 1)
            .await
            .expect("kiosk")
            .secret;
        for (next, want) in [
            ("/%09/evil.example", "/"),
            ("/watch", "/watch"),
            ("/map%0d%0a", "/"),
        ] {
            let mut req = Request::get(format!("/kiosk?token={kiosk}&next={next}"))
                .header(header::HOST, HOST)
                .body(Body::empty())
                .expect("request");
            req.extensions_mut().insert(ConnectInfo(next_addr()));
            let resp = app.clone().oneshot(req).await.expect("response");
            assert!(
                resp.status().is_redirection(),
                "{engine} {next}: {}",
                resp.status()
            );
            assert_eq!(
                resp.headers()
                    .get(header::LOCATION)
                    .and_then(|v| v.to_str().ok()),
                Some(want),
                "{engine} {next}"
            );
        }
    }
}

/// Issue 11.16: a write whose COMMIT fails is never acknowledged, later
/// writes on the same pool are really stored (they used to land in a
/// transaction SQLite had left open, and vanish), and reads keep working.
/// The failed commit is a deferred constraint that only COMMIT checks.
#[tokio::test]
async fn a_failed_commit_is_not_acknowledged_and_later_writes_survive() {
    for (engine, reg, url) in registries("commit").await {
        let app = app(&reg, &url).await;
        let tok = user_token(&reg, "officer", Role::Officer).await;
        poison_commits(&reg, &url).await;
        let mut stored = BTreeSet::new();
        for k in 0..30 {
            let name = if k % 3 == 0 {
                format!("fail-at-commit {k}")
            } else {
                format!("kept {k}")
            };
            let r = send(
                &app,
                "POST",
                "/api/v1/assets",
                None,
                Some(&tok),
                Some(asset(&name)),
            )
            .await;
            if name.starts_with("fail") {
                assert!(
                    r.status.is_server_error(),
                    "{engine}: {name} answered {}",
                    r.status
                );
                let e: serde_json::Value = serde_json::from_str(&r.body).expect("JSON error");
                assert!(e["error"].is_string(), "{engine}: {}", r.body);
            } else {
                assert_eq!(r.status, StatusCode::CREATED, "{engine}: {}", r.body);
                stored.insert(name);
            }
            let (st, _) = call(&app, Some(&tok), "GET", "/api/v1/faults", None).await;
            assert_eq!(st, StatusCode::OK, "{engine}: reads keep working");
        }
        // A new pool (as after a restart) sees every acknowledged write and no other.
        let fresh = server::open(&url).await.expect("reopen");
        let names: BTreeSet<String> = sqlx::query_scalar("SELECT name FROM assets")
            .fetch_all(fresh.pool())
            .await
            .expect("names")
            .into_iter()
            .collect();
        assert_eq!(names, stored, "{engine}");
    }
}

/// Counts every write to the session table in `session_writes`.
async fn count_session_writes(reg: &server::Registry, url: &str) {
    let stmts: &[&str] = if url.starts_with("postgres") {
        &[
            "CREATE TABLE session_writes (at TIMESTAMPTZ DEFAULT now())",
            "CREATE FUNCTION count_session_write() RETURNS trigger AS $$ BEGIN \
             INSERT INTO session_writes DEFAULT VALUES; RETURN NEW; END $$ LANGUAGE plpgsql",
            "CREATE TRIGGER count_session_write AFTER INSERT OR UPDATE ON tower_sessions.session \
             FOR EACH ROW EXECUTE FUNCTION count_session_write()",
        ]
    } else {
        &[
            "CREATE TABLE session_writes (at TEXT DEFAULT CURRENT_TIMESTAMP)",
            "CREATE TRIGGER count_session_insert AFTER INSERT ON tower_sessions \
             BEGIN INSERT INTO session_writes (at) VALUES (CURRENT_TIMESTAMP); END",
            "CREATE TRIGGER count_session_update AFTER UPDATE ON tower_sessions \
             BEGIN INSERT INTO session_writes (at) VALUES (CURRENT_TIMESTAMP); END",
        ]
    };
    for s in stmts {
        sqlx::query(s)
            .execute(reg.pool())
            .await
            .expect("session write counter");
    }
}

/// Makes COMMIT fail for a transaction that inserted an asset named
/// `fail-at-commit …`: a deferred foreign key (SQLite) or a deferred
/// constraint trigger (PostgreSQL), both checked only at COMMIT.
async fn poison_commits(reg: &server::Registry, url: &str) {
    let stmts: &[&str] = if url.starts_with("postgres") {
        &[
            "CREATE FUNCTION refuse_at_commit() RETURNS trigger AS $$ BEGIN \
             IF NEW.name LIKE 'fail-at-commit%' THEN RAISE EXCEPTION 'refused at commit'; END IF; \
             RETURN NEW; END $$ LANGUAGE plpgsql",
            "CREATE CONSTRAINT TRIGGER refuse_at_commit AFTER INSERT ON assets \
             DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION refuse_at_commit()",
        ]
    } else {
        &[
            "CREATE TABLE nowhere (id INTEGER PRIMARY KEY)",
            "CREATE TABLE poison (ref INTEGER REFERENCES nowhere (id) DEFERRABLE INITIALLY DEFERRED)",
            "CREATE TRIGGER refuse_at_commit AFTER INSERT ON assets \
             WHEN NEW.name LIKE 'fail-at-commit%' BEGIN INSERT INTO poison (ref) VALUES (42); END",
        ]
    };
    for s in stmts {
        sqlx::query(s).execute(reg.pool()).await.expect("poison");
    }
}

/// Issue 11.4: an anonymous write is refused before its body is read: a
/// client trickling an 8 MiB body gets 401 at once, not after the upload.
#[tokio::test]
async fn an_anonymous_slow_upload_is_refused_before_its_body_is_read() {
    for (engine, reg, url) in registries("slow_body").await {
        let app = app(&reg, &url).await;
        // One chunk, then a body that never ends (a client that stalls).
        let chunk = axum::body::Bytes::from(vec![b'x'; 64 * 1024]);
        let stream = futures_util::stream::once(async move { Ok::<_, std::io::Error>(chunk) })
            .chain(futures_util::stream::pending());
        let mut req = Request::post("/api/v1/assets/import?format=csv")
            .header(header::HOST, HOST)
            .header(header::CONTENT_TYPE, "text/csv")
            .header(header::CONTENT_LENGTH, (8 * 1024 * 1024).to_string())
            .body(Body::from_stream(stream))
            .expect("request");
        req.extensions_mut().insert(ConnectInfo(next_addr()));
        let resp = tokio::time::timeout(Duration::from_secs(5), app.clone().oneshot(req))
            .await
            .unwrap_or_else(|_| panic!("{engine}: the server waited for the body"))
            .expect("response");
        assert_eq!(resp.status(), StatusCode::UNAUTHORIZED, "{engine}");
    }
}

/// Issue 11.5 and 11.6: one body limit with the JSON error shape, and a
/// notice larger than any real one refused with a clear message.
#[tokio::test]
async fn oversized_bodies_and_notices_get_a_json_error() {
    for (engine, reg, url) in registries("limits").await {
        let app = app(&reg, &url).await;
        let tok = user_token(&reg, "officer", Role::Officer).await;
        for (size, want) in [
            (3 * 1024 * 1024, "at most 1024 KiB"),
            (9 * 1024 * 1024, "limit of 8 MiB"),
        ] {
            let mut req = Request::post("/api/v1/notices/preview")
                .header(header::AUTHORIZATION, format!("Bearer {tok}"))
                .header(header::CONTENT_TYPE, "text/plain")
                .body(Body::from("日期：115年2月14日\n".repeat(size / 24)))
                .expect("request");
            req.extensions_mut().insert(ConnectInfo(next_addr()));
            let resp = app.clone().oneshot(req).await.expect("response");
            assert_eq!(
                resp.status(),
                StatusCode::PAYLOAD_TOO_LARGE,
                "{engine} {size}"
            );
            let bytes = resp.into_body().collect().await.expect("body").to_bytes();
            let e: serde_json::Value = serde_json::from_slice(&bytes).unwrap_or_else(|_| {
                panic!(
                    "{engine} {size}: not JSON: {}",
                    String::from_utf8_lossy(&bytes)
                )
            });
            assert_eq!(e["error"], "too_large", "{engine} {size}");
            assert!(
                e["message"].as_str().is_some_and(|m| m.contains(want)),
                "{engine} {size}: {e}"
            );
        }
        let lines = "日期：115年2月14日\n".repeat(2_500);
        let (st, e) = call_text(&app, &tok, "/api/v1/notices/preview", &lines).await;
        assert_eq!(st, StatusCode::PAYLOAD_TOO_LARGE, "{engine}");
        assert!(
            e["message"]
                .as_str()
                .is_some_and(|m| m.contains("2000 lines")),
            "{engine}: {e}"
        );
    }
}

async fn call_text(
    app: &axum::Router,
    tok: &str,
    uri: &str,
    body: &str,
) -> (StatusCode, serde_json::Value) {
    let req = Request::post(uri)
        .header(header::AUTHORIZATION, format!("Bearer {tok}"))
        .header(header::CONTENT_TYPE, "text/plain")
        .body(Body::from(body.to_string()))
        .expect("request");
    let resp = app.clone().oneshot(req).await.expect("response");
    let st = resp.status();
    let bytes = resp.into_body().collect().await.expect("body").to_bytes();
    (
        st,
        serde_json::from_slice(&bytes).unwrap_or(serde_json::Value::Null),
    )
}

async fn page(app: &axum::Router, path: &str, cookie: &str) -> Resp {
    send(app, "GET", path, Some(cookie), None, None).await
}

async fn post_form(app: &axum::Router, path: &str, cookie: &str, body: &str) -> Resp {
    let mut req = Request::post(path)
        .header(header::HOST, HOST)
        .header(header::ORIGIN, ORIGIN)
        .header(header::COOKIE, cookie)
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Body::from(body.to_string()))
        .expect("request");
    req.extensions_mut().insert(ConnectInfo(next_addr()));
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

fn enc(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

fn fault_form_body(f: &shared::fault::FaultForm, version: i64) -> String {
    form_body(f, Some(version))
}

/// A form's fields (and the version it was made on) as a browser posts them.
fn form_body<F: serde::Serialize>(f: &F, version: Option<i64>) -> String {
    let v = serde_json::to_value(f).expect("form");
    let mut parts: Vec<String> = version
        .map(|v| format!("version={v}"))
        .into_iter()
        .collect();
    if let Some(m) = v.as_object() {
        for (k, v) in m {
            parts.push(format!("{k}={}", enc(v.as_str().unwrap_or_default())));
        }
    }
    parts.join("&")
}

/// Issue 11.18 and 11.19: the fault page, as the server renders it (what a
/// browser without JavaScript shows): an officer gets the edit form with
/// every field's value; briefing and watch get no form and no Save button.
/// The plain form post saves, and a refused one comes back with what was
/// typed and the error beside its field.
#[tokio::test]
async fn the_fault_page_without_javascript_by_role() {
    for (engine, reg, url) in registries("nojs_fault").await {
        let app = app(&reg, &url).await;
        reg.import_notice("test", common::NOTICE)
            .await
            .expect("notice");
        let f = reg
            .faults(false)
            .await
            .expect("faults")
            .into_iter()
            .find(|f| f.cable == "TDM2")
            .expect("a TDM2 fault");
        let mut cookies = std::collections::BTreeMap::new();
        for (name, role) in [
            ("officer", Role::Officer),
            ("watch", Role::Watch),
            ("briefing", Role::Briefing),
        ] {
            reg.add_user("test", name, role, PASSWORD)
                .await
                .expect("user");
            let r = sign_in(&app, None, name, PASSWORD).await;
            cookies.insert(name, set_cookie(&r).expect("cookie"));
        }
        let path = format!("/faults/{}", f.id);
        for reader in ["watch", "briefing"] {
            let r = page(&app, &path, &cookies[reader]).await;
            assert_eq!(r.status, StatusCode::OK, "{engine} {reader}");
            assert!(
                r.body.contains(&f.description),
                "{engine} {reader}: the fault is shown"
            );
            assert!(
                !r.body.contains("fault-form"),
                "{engine} {reader}: an edit form is shown"
            );
            assert!(
                !r.body.contains("save-fault"),
                "{engine} {reader}: a Save button is shown"
            );
            let r = page(&app, "/maintenance", &cookies[reader]).await;
            assert!(
                !r.body.contains("maintenance-form"),
                "{engine} {reader}: maintenance form"
            );
            assert!(
                !r.body.contains("class=\"complete\""),
                "{engine} {reader}: complete buttons"
            );
        }
        let r = page(&app, &path, &cookies["officer"]).await;
        assert_eq!(r.status, StatusCode::OK, "{engine}");
        assert!(
            r.body.contains("save-fault"),
            "{engine}: the officer's form"
        );
        let km = f.chainage.km_text();
        assert!(
            r.body.contains(&format!("name=\"km\" value=\"{km}\"")),
            "{engine}: the km field has its value in the HTML"
        );
        assert!(
            r.body
                .contains(&format!("name=\"version\" value=\"{}\"", f.version)),
            "{engine}"
        );

        // A refused post: typed text kept (escaped), the error beside the field.
        let mut form = shared::fault::FaultForm::from_fault(&f);
        form.km = "far <b>away</b>".into();
        form.notes = "</textarea><script>alert(1)</script> typed notes".into();
        let r = post_form(
            &app,
            &path,
            &cookies["officer"],
            &fault_form_body(&form, f.version),
        )
        .await;
        assert_eq!(
            r.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{engine}: {}",
            &r.body[..r.body.len().min(300)]
        );
        assert!(
            r.body.contains("value=\"far &lt;b&gt;away&lt;/b&gt;\""),
            "{engine}: typed km kept"
        );
        assert!(
            r.body
                .contains("&lt;/textarea&gt;&lt;script&gt;alert(1)&lt;/script&gt; typed notes"),
            "{engine}: typed notes kept"
        );
        if let Some(i) = r.body.find("<script>alert(1)") {
            eprintln!("CONTEXT: {}", &r.body[i.saturating_sub(300)..i + 40]);
        }
        assert!(
            !r.body.contains("<script>alert(1)"),
            "{engine}: typed text is escaped"
        );
        let km_error = r
            .body
            .split("data-field=\"km\" class=\"field-error\">")
            .nth(1)
            .and_then(|rest| rest.split("</span>").next())
            .unwrap_or_default()
            .to_string();
        assert!(
            !km_error.trim_start_matches("<!>").is_empty(),
            "{engine}: the km error is shown beside the field ({km_error:?})"
        );
        assert_eq!(
            reg.fault(f.id).await.expect("fault").fault.version,
            f.version,
            "{engine}: nothing saved"
        );

        // A good post saves and goes to the fault's page.
        form.km = "12.5".into();
        form.notes = "saved without JavaScript".into();
        let r = post_form(
            &app,
            &path,
            &cookies["officer"],
            &fault_form_body(&form, f.version),
        )
        .await;
        assert_eq!(
            r.status,
            StatusCode::SEE_OTHER,
            "{engine}: {}",
            &r.body[..r.body.len().min(300)]
        );
        assert_eq!(
            r.headers
                .get(header::LOCATION)
                .and_then(|v| v.to_str().ok()),
            Some(path.as_str())
        );
        let saved = reg.fault(f.id).await.expect("fault").fault;
        assert_eq!(saved.notes, "saved without JavaScript", "{engine}");

        // The same post again is stale: a conflict, the text kept.
        form.notes = "a second officer's text".into();
        let r = post_form(
            &app,
            &path,
            &cookies["officer"],
            &fault_form_body(&form, f.version),
        )
        .await;
        assert_eq!(r.status, StatusCode::CONFLICT, "{engine}");
        assert!(
            r.body.contains("a second officer&#x27;s text")
                || r.body.contains("a second officer's text"),
            "{engine}: text kept on a conflict"
        );
        assert_eq!(
            reg.fault(f.id).await.expect("fault").fault.notes,
            "saved without JavaScript",
            "{engine}: not overwritten"
        );

        // Readers cannot post the form.
        let r = post_form(
            &app,
            &path,
            &cookies["briefing"],
            &fault_form_body(&form, saved.version),
        )
        .await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{engine}");
    }
}

/// The fault list writes its rows as markup (not as views): what officers
/// typed, and the place a notice names, are escaped there, in text and in
/// the tooltip alike, on both engines; restored rows are marked for the
/// table's style to hide.
#[tokio::test]
async fn the_fault_list_rows_escape_what_was_typed() {
    for (engine, reg, url) in registries("list_escape").await {
        let app = app(&reg, &url).await;
        reg.import_notice("test", common::NOTICE)
            .await
            .expect("notice");
        let form = shared::fault::FaultForm {
            cable: "TDM3".into(),
            detected_on: "2026-02-10".into(),
            kind: "cut".into(),
            place: "<b>島</b>\"'&".into(),
            km: "12".into(),
            alternate_routes: "<script>alert(1)</script> & \"微波\"".into(),
            eta: "2026-03".into(),
            status: "open".into(),
            ..Default::default()
        };
        let f = reg.create_fault("test", &form).await.expect("fault");
        reg.add_user("test", "watch", Role::Watch, PASSWORD)
            .await
            .expect("user");
        let cookie = set_cookie(&sign_in(&app, None, "watch", PASSWORD).await).expect("cookie");
        let r = page(&app, "/", &cookie).await;
        assert_eq!(r.status, StatusCode::OK, "{engine}");
        let row = r
            .body
            .split(&format!("href=\"/faults/{}\"", f.id))
            .nth(1)
            .and_then(|rest| rest.split("</tr>").next())
            .unwrap_or_default()
            .to_string();
        assert!(
            row.contains("&lt;script&gt;alert(1)&lt;/script&gt; &amp; \"微波\""),
            "{engine}: the alternate route as text: {row}"
        );
        assert!(
            row.contains("&lt;b&gt;島&lt;/b&gt;"),
            "{engine}: the place as text: {row}"
        );
        assert!(
            row.contains("class=\"unresolved\""),
            "{engine}: an unknown place is flagged: {row}"
        );
        assert!(!r.body.contains("<script>alert(1)"), "{engine}: escaped");
        assert!(!r.body.contains("<b>島"), "{engine}: escaped");
        // The notice's restored faults are in the page, marked restored.
        assert!(
            r.body
                .contains("<tr class=\"fault restored\" data-status=\"restored\">"),
            "{engine}: restored rows"
        );
    }
}

/// Opens `/api/v1/events` with a bearer secret or a session cookie and reads
/// it in a task of its own. Answers once the stream is ready; the task ends
/// when the stream does, with whether `event: signed_out` came last.
async fn open_stream(
    app: &axum::Router,
    token: Option<&str>,
    cookie: Option<&str>,
) -> tokio::task::JoinHandle<bool> {
    let mut req = Request::get("/api/v1/events").header(header::HOST, HOST);
    if let Some(t) = token {
        req = req.header(header::AUTHORIZATION, format!("Bearer {t}"));
    }
    if let Some(c) = cookie {
        req = req.header(header::COOKIE, c);
    }
    let mut req = req.body(Body::empty()).expect("request");
    req.extensions_mut().insert(ConnectInfo(next_addr()));
    let resp = app.clone().oneshot(req).await.expect("stream");
    assert_eq!(resp.status(), StatusCode::OK);
    let mut body = resp.into_body();
    let (ready_tx, ready_rx) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(async move {
        let mut ready = Some(ready_tx);
        let mut buf = String::new();
        let mut last_event = String::new();
        while let Some(Ok(frame)) = body.frame().await {
            if let Ok(d) = frame.into_data() {
                buf.push_str(&String::from_utf8_lossy(&d));
            }
            while let Some(end) = buf.find("\n\n") {
                let msg: String = buf.drain(..end + 2).collect();
                if msg.lines().any(|l| l.trim() == "event: ready") {
                    if let Some(r) = ready.take() {
                        let _ = r.send(());
                    }
                }
                last_event = msg
                    .lines()
                    .find_map(|l| l.strip_prefix("event:"))
                    .unwrap_or("message")
                    .trim()
                    .to_string();
            }
        }
        last_event == "signed_out"
    });
    tokio::time::timeout(Duration::from_secs(10), ready_rx)
        .await
        .expect("ready in time")
        .expect("ready");
    task
}

/// Issue 11.2: an open stream ends, with `event: signed_out`, within 10 s of
/// its reader losing access: a revoked API token, a revoked kiosk link (as a
/// bearer secret and as a kiosk screen's session), a disabled user's browser
/// session. A stream whose reader keeps access stays open.
#[tokio::test]
async fn revoking_access_ends_open_streams() {
    for (engine, reg, url) in registries("revoke").await {
        let pg = url.starts_with("postgres").then(|| url.clone());
        reg.live()
            .start(reg.log().clone(), pg)
            .await
            .expect("start live");
        let app = app(&reg, &url).await;
        reg.add_user("test", "officer", Role::Officer, PASSWORD)
            .await
            .expect("officer");
        let officer = reg
            .create_token("test", "officer", "laptop", None)
            .await
            .expect("token");
        let kept = user_token(&reg, "keeper", Role::Watch).await;
        let wall = reg.create_kiosk("test", "wall", 1).await.expect("kiosk");
        let screen = reg.create_kiosk("test", "screen", 1).await.expect("kiosk");
        reg.add_user("test", "watcher", Role::Watch, PASSWORD)
            .await
            .expect("watcher");
        let r = sign_in(&app, None, "watcher", PASSWORD).await;
        assert_eq!(r.status, StatusCode::OK, "{engine}: {}", r.body);
        let watcher = set_cookie(&r).expect("session cookie");
        let mut req = Request::get(format!("/kiosk?token={}", screen.secret))
            .header(header::HOST, HOST)
            .body(Body::empty())
            .expect("request");
        req.extensions_mut().insert(ConnectInfo(next_addr()));
        let resp = app.clone().oneshot(req).await.expect("kiosk sign-in");
        assert!(resp.status().is_redirection(), "{engine}");
        let screen_cookie = resp
            .headers()
            .get(header::SET_COOKIE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(';').next())
            .map(str::to_string)
            .expect("kiosk cookie");

        let keeper = open_stream(&app, Some(&kept), None).await;
        let cases: Vec<(&str, tokio::task::JoinHandle<bool>)> = vec![
            (
                "token",
                open_stream(&app, Some(&officer.secret), None).await,
            ),
            (
                "kiosk link",
                open_stream(&app, Some(&wall.secret), None).await,
            ),
            (
                "kiosk screen",
                open_stream(&app, None, Some(&screen_cookie)).await,
            ),
            (
                "disabled user",
                open_stream(&app, None, Some(&watcher)).await,
            ),
        ];
        let officer_id = reg
            .user_by_name("officer")
            .await
            .expect("user")
            .expect("officer")
            .id;
        let t0 = Instant::now();
        reg.revoke_token("test", officer_id, officer.id)
            .await
            .expect("revoke token");
        reg.revoke_kiosk("test", wall.id)
            .await
            .expect("revoke kiosk");
        reg.revoke_kiosk("test", screen.id)
            .await
            .expect("revoke kiosk");
        reg.disable_user("test", "watcher").await.expect("disable");
        for (what, task) in cases {
            let farewell = tokio::time::timeout(Duration::from_secs(10), task)
                .await
                .unwrap_or_else(|_| panic!("{engine}: the {what} stream stayed open"))
                .expect("reader");
            assert!(
                farewell,
                "{engine}: the {what} stream ended without signed_out"
            );
        }
        assert!(t0.elapsed() < Duration::from_secs(10), "{engine}");
        assert!(
            !keeper.is_finished(),
            "{engine}: a stream with access was closed"
        );
        keeper.abort();
        reg.live().shut_down();
    }
}

/// Issue 11.11: password changes are rate limited like sign-in (a stolen
/// session cannot guess the current password), and a change moves the
/// session to a new id: the old cookie no longer signs anyone in.
#[tokio::test]
async fn password_changes_are_rate_limited_and_cycle_the_session() {
    for (engine, reg, url) in registries("passwd_limit").await {
        let app = app(&reg, &url).await;
        for name in ["guessed", "changer"] {
            reg.add_user("test", name, Role::Watch, PASSWORD)
                .await
                .expect("user");
        }
        let r = sign_in(&app, None, "guessed", PASSWORD).await;
        let cookie = set_cookie(&r).expect("cookie");
        let change = |cookie: String, current: &'static str| {
            let app = app.clone();
            async move {
                send(
                    &app,
                    "POST",
                    "/api/v1/me/password",
                    Some(&cookie),
                    None,
                    Some(json!({"current_password": current,
                                "new_password": "a brand new long password"})),
                )
                .await
            }
        };
        let mut refused_at = None;
        for attempt in 1..=server::auth::SIGN_IN_BURST + 1 {
            let r = change(cookie.clone(), "a wrong guess of it").await;
            if r.status == StatusCode::TOO_MANY_REQUESTS {
                assert!(r.headers.get(header::RETRY_AFTER).is_some(), "{engine}");
                refused_at = Some(attempt);
                break;
            }
            assert_eq!(r.status, StatusCode::FORBIDDEN, "{engine}: {}", r.body);
        }
        assert!(refused_at.is_some(), "{engine}: guesses were never limited");
        let r = change(cookie.clone(), PASSWORD).await;
        assert_eq!(
            r.status,
            StatusCode::TOO_MANY_REQUESTS,
            "{engine}: the limit holds"
        );

        let r = sign_in(&app, None, "changer", PASSWORD).await;
        let old = set_cookie(&r).expect("cookie");
        let r = change(old.clone(), PASSWORD).await;
        assert_eq!(r.status, StatusCode::NO_CONTENT, "{engine}: {}", r.body);
        let new = set_cookie(&r).expect("a new session cookie");
        assert_ne!(new, old, "{engine}: the session id changed");
        let r = send(&app, "GET", "/api/v1/faults", Some(&old), None, None).await;
        assert_eq!(
            r.status,
            StatusCode::UNAUTHORIZED,
            "{engine}: the old id is dead"
        );
        let r = send(&app, "GET", "/api/v1/faults", Some(&new), None, None).await;
        assert_eq!(r.status, StatusCode::OK, "{engine}");
    }
}

/// Issue 11.10: a kiosk screen's session lives until its link expires: the
/// stored expiry is the link's (not the 30 min idle timeout), and reading
/// pages, the API and the stream never rewrites it.
#[tokio::test]
async fn a_kiosk_session_lives_until_its_link_expires() {
    for (engine, reg, url) in registries("kiosk_life").await {
        let app = app(&reg, &url).await;
        let link = reg.create_kiosk("test", "lobby", 7).await.expect("kiosk");
        let mut req = Request::get(format!("/kiosk?token={}&next=/watch", link.secret))
            .header(header::HOST, HOST)
            .body(Body::empty())
            .expect("request");
        req.extensions_mut().insert(ConnectInfo(next_addr()));
        let resp = app.clone().oneshot(req).await.expect("kiosk entry");
        assert!(resp.status().is_redirection(), "{engine}");
        let set = resp
            .headers()
            .get(header::SET_COOKIE)
            .and_then(|v| v.to_str().ok())
            .expect("cookie")
            .to_string();
        let cookie = set.split(';').next().expect("cookie").to_string();
        let link_expiry = chrono::DateTime::parse_from_rfc3339(
            link.expires_at.as_deref().expect("kiosks expire"),
        )
        .expect("expiry")
        .timestamp();
        let stored = || async {
            let sql = if url.starts_with("postgres") {
                "SELECT CAST(CAST(EXTRACT(EPOCH FROM expiry_date) AS BIGINT) AS TEXT) FROM tower_sessions.session"
            } else {
                "SELECT CAST(expiry_date AS TEXT) FROM tower_sessions"
            };
            let all: Vec<String> = sqlx::query_scalar(sql)
                .fetch_all(reg.pool())
                .await
                .expect("sessions");
            assert_eq!(all.len(), 1, "{engine}: one session");
            // SQLite keeps RFC 3339 text, PostgreSQL a timestamptz read as epoch seconds.
            all[0].parse::<i64>().unwrap_or_else(|_| {
                chrono::DateTime::parse_from_rfc3339(&all[0])
                    .expect("stored expiry")
                    .timestamp()
            })
        };
        let at_entry = stored().await;
        assert!(
            (at_entry - link_expiry).abs() <= 1,
            "{engine}: stored expiry {at_entry} is not the link's {link_expiry}"
        );
        count_session_writes(&reg, &url).await;
        for path in ["/watch", "/api/v1/watch", "/", "/map", "/api/v1/faults"] {
            let r = send(&app, "GET", path, Some(&cookie), None, None).await;
            assert_eq!(
                r.status,
                StatusCode::OK,
                "{engine} {path}: {}",
                &r.body[..r.body.len().min(500)]
            );
            assert!(
                r.headers.get(header::SET_COOKIE).is_none(),
                "{engine} {path}"
            );
        }
        let stream = open_stream(&app, None, Some(&cookie)).await;
        stream.abort();
        assert_eq!(stored().await, at_entry, "{engine}: the expiry moved");
        let writes: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM session_writes")
            .fetch_one(reg.pool())
            .await
            .expect("count");
        assert_eq!(writes, 0, "{engine}: the kiosk session was rewritten");
        assert!(
            set.to_ascii_lowercase().contains("max-age=60479")
                || set.to_ascii_lowercase().contains("expires="),
            "{engine}: the cookie outlives the browser session: {set}"
        );
    }
}

/// Issue 11.12: every token and kiosk link expires: 90 days unless asked,
/// at most a year, and the expiry is shown with the token.
#[tokio::test]
async fn every_token_expires_by_default_and_within_a_year() {
    for (engine, reg, url) in registries("token_expiry").await {
        let app = app(&reg, &url).await;
        reg.add_user("test", "keys", Role::Officer, PASSWORD)
            .await
            .expect("user");
        let r = sign_in(&app, None, "keys", PASSWORD).await;
        let cookie = set_cookie(&r).expect("cookie");
        // Tokens are made by a signed-in person, not by another token.
        let mine = |body: Option<serde_json::Value>| {
            let (app, cookie) = (app.clone(), cookie.clone());
            async move {
                let method = if body.is_some() { "POST" } else { "GET" };
                let r = send(&app, method, "/api/v1/me/tokens", Some(&cookie), None, body).await;
                (
                    r.status,
                    serde_json::from_str::<serde_json::Value>(&r.body).unwrap_or_default(),
                )
            }
        };
        let manager = user_token(&reg, "manager", Role::Admin).await;
        let days_from_now = |at: &serde_json::Value| {
            let at = chrono::DateTime::parse_from_rfc3339(at.as_str().expect("an expiry"))
                .expect("RFC 3339");
            (at.with_timezone(&chrono::Utc) - chrono::Utc::now()).num_hours() as f64 / 24.0
        };
        let (s, t) = mine(Some(json!({"label": "no expiry asked"}))).await;
        assert_eq!(s, StatusCode::CREATED, "{engine}: {t}");
        let d = days_from_now(&t["expires_at"]);
        assert!((89.9..=90.0).contains(&d), "{engine}: {d}");
        let (s, t) = mine(Some(json!({"label": "a year", "expires_days": 365}))).await;
        assert_eq!(s, StatusCode::CREATED, "{engine}: {t}");
        assert!(
            (364.9..=365.0).contains(&days_from_now(&t["expires_at"])),
            "{engine}"
        );
        for days in [0, 366, 100_000] {
            let (s, e) = mine(Some(json!({"label": "forever", "expires_days": days}))).await;
            assert_eq!(s, StatusCode::BAD_REQUEST, "{engine} {days}: {e}");
            assert_eq!(e["field"], "expires_days", "{engine}");
        }
        let (s, k) = call(
            &app,
            Some(&manager),
            "POST",
            "/api/v1/kiosks",
            Some(json!({"name": "wall", "expires_days": 400})),
        )
        .await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{engine}: {k}");
        let (s, list) = mine(None).await;
        assert_eq!(s, StatusCode::OK, "{engine}");
        let list = list.as_array().expect("tokens").clone();
        assert!(!list.is_empty());
        assert!(
            list.iter().all(|t| t["expires_at"].is_string()),
            "{engine}: a token without expiry: {list:?}"
        );
    }
}

/// Issue 11.13: an address over its limit does not use up another
/// account's: an address that spent its tries on one name and keeps trying
/// another leaves the second account's owner able to sign in from
/// elsewhere. A failed sign-in names the account only if it exists.
#[tokio::test]
async fn a_flooding_address_does_not_lock_the_account_out() {
    for (engine, reg, url) in registries("limiter").await {
        let app = app(&reg, &url).await;
        for name in ["decoy", "owner"] {
            reg.add_user("test", name, Role::Officer, PASSWORD)
                .await
                .expect("user");
        }
        let flood = next_addr();
        let mut statuses = Vec::new();
        for name in std::iter::repeat_n("decoy", 5).chain(std::iter::repeat_n("owner", 30)) {
            let mut req = Request::post("/api/v1/session")
                .header(header::HOST, HOST)
                .header(header::ORIGIN, ORIGIN)
                .header(header::CONTENT_TYPE, "application/json")
                .body(Body::from(
                    json!({"username": name, "password": "a wrong guess"}).to_string(),
                ))
                .expect("request");
            req.extensions_mut().insert(ConnectInfo(flood));
            let resp = app.clone().oneshot(req).await.expect("response");
            statuses.push(resp.status().as_u16());
        }
        assert_eq!(&statuses[..5], &[401; 5], "{engine}: {statuses:?}");
        assert!(
            statuses[5..].iter().all(|s| *s == 429),
            "{engine}: {statuses:?}"
        );
        // The refused tries at "owner" were never charged to "owner".
        let r = sign_in(&app, None, "owner", PASSWORD).await;
        assert_eq!(r.status, StatusCode::OK, "{engine}: {}", r.body);
        // A password typed into the username box is not kept.
        let r = sign_in(&app, None, "my secret passphrase", "x").await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{engine}");
        let all = serde_json::to_string(
            &reg.audit(&shared::auth::AuditFilter::default())
                .await
                .expect("audit"),
        )
        .expect("json");
        assert!(!all.contains("my secret passphrase"), "{engine}");
        assert!(
            all.contains("\"unknown\""),
            "{engine}: an unknown name is logged as unknown"
        );
    }
}

/// Issue 11.14: no authenticated answer may be cached (`no-store` on pages
/// and the API, not on site files), and with `--secure-cookies` every answer
/// carries HSTS; without it, none does.
#[tokio::test]
async fn answers_are_not_cached_and_hsts_follows_secure_cookies() {
    for (engine, reg, url) in registries("headers").await {
        let tok = user_token(&reg, "reader", Role::Watch).await;
        for secure in [false, true] {
            let lane = server::lane::start().expect("lane");
            let sessions = server::auth::Sessions::open(&url).await.expect("sessions");
            let app = server::web::router(
                reg.clone(),
                sessions,
                std::path::Path::new("target/site"),
                &server::web::WebConfig {
                    write_lane: Some(lane),
                    secure_cookies: secure,
                    ..Default::default()
                },
            );
            for (path, cached) in [
                ("/api/v1/faults", false),
                ("/", false),
                ("/signin", false),
                ("/api/v1/healthz", false),
                ("/pkg/favicon.svg", true),
            ] {
                let r = send(&app, "GET", path, None, Some(&tok), None).await;
                let cc = r
                    .headers
                    .get(header::CACHE_CONTROL)
                    .and_then(|v| v.to_str().ok());
                if cached {
                    assert_ne!(cc, Some("no-store"), "{engine} {path}");
                } else {
                    assert_eq!(cc, Some("no-store"), "{engine} {path}: {}", r.status);
                }
                let hsts = r
                    .headers
                    .get(header::STRICT_TRANSPORT_SECURITY)
                    .and_then(|v| v.to_str().ok());
                if secure {
                    assert_eq!(
                        hsts,
                        Some("max-age=31536000; includeSubDomains"),
                        "{engine} {path}"
                    );
                } else {
                    assert_eq!(hsts, None, "{engine} {path}");
                }
            }
        }
    }
}

/// Issue 11.7: one length rule on every path: a 4,001-character alternate
/// route or note is refused by the fault API (field named), by an asset
/// import (line named) and by a notice import (line named), and nothing of
/// any of them is stored.
#[tokio::test]
async fn field_length_limits_hold_on_every_path() {
    const NOTICE: &str = include_str!("../../shared/tests/fixtures/2026-02-14-fault-notice.txt");
    for (engine, reg, url) in registries("lengths").await {
        let app = app(&reg, &url).await;
        let officer = user_token(&reg, "officer", Role::Officer).await;
        let long = "x".repeat(shared::fault::MAX_TEXT + 1);
        let events = reg.event_count().await.expect("events");

        let mut f = fault(7);
        f["alternate_routes"] = json!(long);
        let r = send(
            &app,
            "POST",
            "/api/v1/faults",
            None,
            Some(&officer),
            Some(f),
        )
        .await;
        assert_eq!(
            r.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{engine}: {}",
            r.body
        );
        assert!(r.body.contains("alternate_routes"), "{engine}: {}", r.body);

        let csv = format!(
            "name,kind,lon,lat,region,notes\nok,sat_terminal,119.95,26.16,Matsu,\n\
             too long,sat_terminal,119.95,26.16,Matsu,{long}\n"
        );
        let (s, v) = call_text(&app, &officer, "/api/v1/assets/import?format=csv", &csv).await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{engine}: {v}");
        assert!(
            v["lines"]
                .as_array()
                .is_some_and(|ls| ls.iter().any(|l| l["line"] == 3)),
            "{engine}: {v}"
        );

        let notice = NOTICE.replacen("EAC1 海纜\t115/4/30", &format!("{long}\t115/4/30"), 1);
        let (s, v) = call_text(&app, &officer, "/api/v1/notices", &notice).await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{engine}: {v}");
        assert!(
            v["lines"]
                .as_array()
                .is_some_and(|ls| ls.iter().any(|l| l["line"] == 10)),
            "{engine}: {v}"
        );
        assert_eq!(
            reg.event_count().await.expect("events"),
            events,
            "{engine}: something was stored"
        );
        // The plain forms (no JavaScript): the same rule, named beside the field.
        reg.add_user("test", "form-officer", Role::Officer, PASSWORD)
            .await
            .expect("user");
        let cookie =
            set_cookie(&sign_in(&app, None, "form-officer", PASSWORD).await).expect("cookie");
        let events = reg.event_count().await.expect("events");
        let mut form: shared::fault::FaultForm = serde_json::from_value(fault(8)).expect("form");
        form.alternate_routes = long.clone();
        let r = post_form(&app, "/faults/new", &cookie, &form_body(&form, None)).await;
        assert_eq!(
            r.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{engine}: fault form"
        );
        assert!(
            !field_error(&r.body, "alternate_routes").is_empty(),
            "{engine}: fault form error beside the field"
        );
        let m = shared::maintenance::MaintenanceForm {
            cable: "TDM2".into(),
            eta: "2026-04".into(),
            description: long.clone(),
            alternate_routes: String::new(),
        };
        let r = post_form(&app, "/maintenance", &cookie, &form_body(&m, None)).await;
        assert_eq!(
            r.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{engine}: maintenance form"
        );
        assert!(
            !field_error(&r.body, "description").is_empty(),
            "{engine}: maintenance error beside the field"
        );
        let a = shared::assets::AssetForm {
            name: "ok".into(),
            kind: "sat_terminal".into(),
            status: "ready".into(),
            lon: "119.95".into(),
            lat: "26.16".into(),
            region: "Matsu".into(),
            notes: long.clone(),
            ..Default::default()
        };
        let r = post_form(&app, "/assets/new", &cookie, &form_body(&a, None)).await;
        assert_eq!(
            r.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{engine}: asset form"
        );
        assert!(
            !field_error(&r.body, "notes").is_empty(),
            "{engine}: asset error beside the field"
        );
        assert_eq!(
            reg.event_count().await.expect("events"),
            events,
            "{engine}: something was stored"
        );
    }
}

/// The text of the field error beside `field` in a rendered page.
fn field_error(body: &str, field: &str) -> String {
    body.split(&format!("data-field=\"{field}\" class=\"field-error\">"))
        .nth(1)
        .and_then(|rest| rest.split("</span>").next())
        .unwrap_or_default()
        .trim_start_matches("<!>")
        .to_string()
}

/// Issue 11.19: the maintenance and asset forms work without JavaScript as
/// the fault forms do: plain posts, the same validation and roles, a refused
/// post re-rendered with what was typed (escaped) and the error beside its
/// field, a stale edit refused with a conflict, nothing half-written.
#[tokio::test]
async fn maintenance_and_asset_forms_work_without_javascript() {
    use shared::assets::AssetForm;
    use shared::maintenance::MaintenanceForm;
    for (engine, reg, url) in registries("nojs_forms").await {
        let app = app(&reg, &url).await;
        let mut cookies = std::collections::BTreeMap::new();
        for (name, role) in [("officer", Role::Officer), ("briefing", Role::Briefing)] {
            reg.add_user("test", name, role, PASSWORD)
                .await
                .expect("user");
            let r = sign_in(&app, None, name, PASSWORD).await;
            cookies.insert(name, set_cookie(&r).expect("cookie"));
        }
        let officer = cookies["officer"].as_str();

        // Maintenance: a refused post keeps the text and names the field.
        let mut m = MaintenanceForm {
            cable: String::new(),
            eta: "2026-04".into(),
            description: "</textarea><script>alert(1)</script> splice check".into(),
            alternate_routes: "EAC1".into(),
        };
        let r = post_form(&app, "/maintenance", officer, &form_body(&m, None)).await;
        assert_eq!(
            r.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{engine}: {}",
            &r.body[..r.body.len().min(300)]
        );
        assert!(
            r.body
                .contains("&lt;/textarea&gt;&lt;script&gt;alert(1)&lt;/script&gt; splice check"),
            "{engine}: typed description kept"
        );
        assert!(!r.body.contains("<script>alert(1)"), "{engine}: escaped");
        assert!(
            !field_error(&r.body, "cable").is_empty(),
            "{engine}: cable error beside the field"
        );
        assert!(
            reg.maintenance().await.expect("list").is_empty(),
            "{engine}: nothing recorded"
        );
        m.cable = "TDM2".into();
        m.description = "splice check".into();
        let r = post_form(&app, "/maintenance", officer, &form_body(&m, None)).await;
        assert_eq!(
            r.status,
            StatusCode::SEE_OTHER,
            "{engine}: {}",
            &r.body[..r.body.len().min(300)]
        );
        let work = reg.maintenance().await.expect("list");
        assert_eq!(work.len(), 1, "{engine}");
        let id = work[0].id;
        let r = page(&app, "/maintenance", officer).await;
        assert!(
            r.body
                .contains(&format!("action=\"/maintenance/{id}/complete\"")),
            "{engine}: a completion form per row"
        );
        // Completion: a missing date is refused on the maintenance page.
        let complete = format!("/maintenance/{id}/complete");
        let r = post_form(&app, &complete, officer, "version=1&completed_on=").await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{engine}");
        assert!(
            r.body.contains("maintenance-list"),
            "{engine}: the page again"
        );
        assert!(
            r.body.contains("2026-02-14"),
            "{engine}: the error says what is expected"
        );
        let r = post_form(
            &app,
            &complete,
            cookies["briefing"].as_str(),
            "version=1&completed_on=2026-03-01",
        )
        .await;
        assert_eq!(
            r.status,
            StatusCode::FORBIDDEN,
            "{engine}: a reader cannot complete"
        );
        let r = post_form(
            &app,
            &complete,
            officer,
            "version=1&completed_on=2026-03-01",
        )
        .await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{engine}");
        assert!(
            reg.maintenance().await.expect("list").is_empty(),
            "{engine}: completed"
        );
        let r = post_form(
            &app,
            &complete,
            officer,
            "version=1&completed_on=2026-03-02",
        )
        .await;
        assert_eq!(
            r.status,
            StatusCode::CONFLICT,
            "{engine}: a second completion is stale"
        );

        // Assets: the same shape.
        let mut a = AssetForm {
            name: "Dongyin <b>LEO</b> dish".into(),
            kind: "sat_terminal".into(),
            status: "ready".into(),
            lat: "26.37".into(),
            lon: "east".into(),
            region: "Matsu".into(),
            ..Default::default()
        };
        let r = post_form(&app, "/assets/new", officer, &form_body(&a, None)).await;
        assert_eq!(
            r.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{engine}: {}",
            &r.body[..r.body.len().min(300)]
        );
        assert!(
            r.body
                .contains("value=\"Dongyin &lt;b&gt;LEO&lt;/b&gt; dish\""),
            "{engine}: typed name kept"
        );
        assert!(
            !field_error(&r.body, "lon").is_empty(),
            "{engine}: lon error beside the field"
        );
        let r = post_form(
            &app,
            "/assets/new",
            cookies["briefing"].as_str(),
            &form_body(&a, None),
        )
        .await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{engine}");
        a.lon = "120.49".into();
        let r = post_form(&app, "/assets/new", officer, &form_body(&a, None)).await;
        assert_eq!(
            r.status,
            StatusCode::SEE_OTHER,
            "{engine}: {}",
            &r.body[..r.body.len().min(300)]
        );
        let at = r
            .headers
            .get(header::LOCATION)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string();
        let asset_id: i64 = at
            .trim_start_matches("/assets/")
            .parse()
            .expect("asset id in the redirect");
        let r = page(&app, &at, officer).await;
        assert!(
            r.body.contains("name=\"lon\" value=\"120.49\""),
            "{engine}: the edit form has its values"
        );
        a.notes = "moved to the harbour".into();
        let r = post_form(&app, &at, officer, &form_body(&a, Some(1))).await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{engine}");
        a.notes = "a second officer's note".into();
        let r = post_form(&app, &at, officer, &form_body(&a, Some(1))).await;
        assert_eq!(r.status, StatusCode::CONFLICT, "{engine}: stale edit");
        assert!(
            r.body.contains("a second officer"),
            "{engine}: text kept on a conflict"
        );
        let saved = reg.asset(asset_id).await.expect("asset").asset;
        assert_eq!(
            saved.draft.notes, "moved to the harbour",
            "{engine}: not overwritten"
        );

        // Malformed or incomplete posts: the fields refused (422, the page again),
        // a version that is no number (400), an unknown record (404); nothing written.
        let events = reg.event_count().await.expect("events");
        for (path, body, want) in [
            (
                "/assets/new",
                "name=%zz&kind=ppdr",
                StatusCode::UNPROCESSABLE_ENTITY,
            ),
            (
                at.as_str(),
                "name=x&version=not-a-number",
                StatusCode::BAD_REQUEST,
            ),
            (
                "/maintenance/999999/complete",
                "version=1&completed_on=2026-03-01",
                StatusCode::NOT_FOUND,
            ),
            ("/alerts/999999/ack", "", StatusCode::NOT_FOUND),
        ] {
            let r = post_form(&app, path, officer, body).await;
            assert_eq!(
                r.status,
                want,
                "{engine} {path}: {}",
                &r.body[..r.body.len().min(300)]
            );
        }
        assert_eq!(
            reg.event_count().await.expect("events"),
            events,
            "{engine}: nothing written"
        );
    }
}

/// Issue 12: the resilience page is complete without JavaScript: one card
/// per island with its status, the what-if as a plain GET form (its answer
/// writes nothing), and, for officers only, the figures as plain forms whose
/// refused post comes back with what was typed (escaped) and the error.
#[tokio::test]
async fn the_resilience_page_reads_without_javascript_and_figures_post_as_forms() {
    for (engine, reg, url) in registries("nojs_resilience").await {
        let app = app(&reg, &url).await;
        reg.seed_assets(
            "system:reference",
            &shared::inventory::reference_assets(),
            shared::assets::SOURCE_REFERENCE,
        )
        .await
        .expect("reference assets");
        reg.import_notice("test", common::NOTICE)
            .await
            .expect("notice");
        let mut cookies = std::collections::BTreeMap::new();
        for (name, role) in [("officer", Role::Officer), ("briefing", Role::Briefing)] {
            reg.add_user("test", name, role, PASSWORD)
                .await
                .expect("user");
            let r = sign_in(&app, None, name, PASSWORD).await;
            cookies.insert(name, set_cookie(&r).expect("cookie"));
        }
        let events = reg.event_count().await.expect("count");
        let r = page(&app, "/resilience", &cookies["briefing"]).await;
        assert_eq!(r.status, StatusCode::OK, "{engine}");
        assert!(
            r.body.contains("id=\"island-matsu\"") && r.body.contains("data-status=\"degraded\""),
            "{engine}: Matsu's card, degraded"
        );
        assert!(
            r.body
                .contains("data-region=\"lanyu\" data-status=\"no_figures\""),
            "{engine}: Lanyu says it has no figures"
        );
        assert!(
            r.body.contains("id=\"what-if-form\""),
            "{engine}: the what-if form"
        );
        assert!(
            r.body.contains("id=\"n1\"") && r.body.contains("id=\"n2\""),
            "{engine}: contingency tables"
        );
        assert!(
            !r.body.contains("class=\"figure-form\""),
            "{engine}: no figure forms for briefing"
        );
        // The what-if, by plain GET: Matsu on backup, with the banner.
        let r = page(&app, "/resilience?cut=TDM3", &cookies["briefing"]).await;
        assert_eq!(r.status, StatusCode::OK);
        assert!(
            r.body.contains("id=\"what-if-banner\""),
            "{engine}: the banner"
        );
        let matsu = r
            .body
            .split("id=\"island-matsu\"")
            .nth(1)
            .unwrap_or_default();
        assert!(
            matsu.contains("data-status=\"on_backup\""),
            "{engine}: on backup under the what-if"
        );
        let r = page(
            &app,
            "/resilience?cut=%3Cscript%3ETDM9",
            &cookies["briefing"],
        )
        .await;
        assert!(
            r.body.contains("id=\"what-if-error\""),
            "{engine}: unknown link named"
        );
        assert!(!r.body.contains("<script>TDM9"), "{engine}: escaped");
        assert_eq!(
            reg.event_count().await.expect("count"),
            events,
            "{engine}: reads write nothing"
        );

        // Officers edit figures by plain post.
        let officer = cookies["officer"].as_str();
        let r = page(&app, "/resilience", officer).await;
        assert!(
            r.body.contains("class=\"figure-form\""),
            "{engine}: figure forms for officers"
        );
        let bad = "version=0&value=lots&basis=estimate&source=%3Cscript%3Ealert(1)%3C%2Fscript%3E";
        let r = post_form(&app, "/resilience/figures/demand%3Amatsu", officer, bad).await;
        assert_eq!(
            r.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{engine}: {}",
            &r.body[..r.body.len().min(300)]
        );
        assert!(
            r.body.contains("id=\"figure-error\""),
            "{engine}: the error shows"
        );
        assert!(
            r.body.contains("value=\"lots\""),
            "{engine}: the typed value is kept"
        );
        assert!(
            r.body.contains("&lt;script&gt;alert(1)&lt;/script&gt;"),
            "{engine}: typed source kept, escaped"
        );
        assert!(!r.body.contains("<script>alert(1)"), "{engine}: escaped");
        assert_eq!(
            reg.event_count().await.expect("count"),
            events,
            "{engine}: nothing stored"
        );
        let good = "version=0&value=11000&basis=public&source=county+report";
        let r = post_form(&app, "/resilience/figures/demand%3Amatsu", officer, good).await;
        assert_eq!(
            r.status,
            StatusCode::SEE_OTHER,
            "{engine}: {}",
            &r.body[..r.body.len().min(300)]
        );
        let figs = reg.figures().await.expect("figures");
        let m = figs
            .iter()
            .find(|f| f.key == "demand:matsu")
            .expect("matsu");
        assert_eq!((m.value, m.version), (Some(11_000.0), 1));
        // The same post again is on a stale version: a conflict.
        let r = post_form(&app, "/resilience/figures/demand%3Amatsu", officer, good).await;
        assert_eq!(r.status, StatusCode::CONFLICT, "{engine}");
        let r = post_form(
            &app,
            "/resilience/figures/demand%3Amatsu",
            &cookies["briefing"],
            good,
        )
        .await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{engine}");
    }
}

/// Issue 13: the repair board is complete without JavaScript; officers set
/// a fault's stage and a ship's state by plain post (a refused post comes
/// back with what was typed and the error), briefing screens only read.
#[tokio::test]
async fn the_repair_board_reads_without_javascript_and_stages_post_as_forms() {
    for (engine, reg, url) in registries("nojs_repairs").await {
        let app = app(&reg, &url).await;
        reg.seed_assets(
            "system:reference",
            &shared::inventory::reference_assets(),
            shared::assets::SOURCE_REFERENCE,
        )
        .await
        .expect("reference assets");
        reg.import_notice("test", common::NOTICE)
            .await
            .expect("notice");
        let mut cookies = std::collections::BTreeMap::new();
        for (name, role) in [("officer", Role::Officer), ("briefing", Role::Briefing)] {
            reg.add_user("test", name, role, PASSWORD)
                .await
                .expect("user");
            let r = sign_in(&app, None, name, PASSWORD).await;
            cookies.insert(name, set_cookie(&r).expect("cookie"));
        }
        let board = reg.repairs_board().await.expect("board");
        let ship = board.ships.first().expect("a repair ship").id;
        let fault = board.faults.first().expect("an open fault").id;
        let events = reg.event_count().await.expect("count");
        let r = page(&app, "/repairs", &cookies["briefing"]).await;
        assert_eq!(r.status, StatusCode::OK, "{engine}");
        assert!(
            r.body.contains(&format!("id=\"ship-{ship}\"")),
            "{engine}: the ship"
        );
        assert!(
            r.body.contains(&format!("id=\"fault-{fault}\"")),
            "{engine}: the fault"
        );
        assert!(
            !r.body.contains("class=\"repair-form\""),
            "{engine}: no forms for briefing"
        );
        assert_eq!(
            reg.event_count().await.expect("count"),
            events,
            "{engine}: a read writes nothing"
        );
        let officer = cookies["officer"].as_str();
        let r = page(&app, "/repairs", officer).await;
        assert!(
            r.body.contains("class=\"repair-form\"") && r.body.contains("class=\"ship-form\""),
            "{engine}: forms for officers"
        );
        // A booked stage without a ship is refused, the typed date kept.
        let bad = "version=0&stage=ship_booked&stage_on=2026-01-05&ship_id=";
        let r = post_form(&app, &format!("/repairs/faults/{fault}"), officer, bad).await;
        assert_eq!(
            r.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{engine}: {}",
            &r.body[..r.body.len().min(300)]
        );
        assert!(r.body.contains("id=\"repair-error\""), "{engine}");
        assert!(
            r.body.contains("value=\"2026-01-05\""),
            "{engine}: the typed date is kept"
        );
        assert_eq!(
            reg.event_count().await.expect("count"),
            events,
            "{engine}: nothing stored"
        );
        let good = format!("version=0&stage=ship_booked&stage_on=2026-01-05&ship_id={ship}");
        let r = post_form(&app, &format!("/repairs/faults/{fault}"), officer, &good).await;
        assert_eq!(
            r.status,
            StatusCode::SEE_OTHER,
            "{engine}: {}",
            &r.body[..r.body.len().min(300)]
        );
        let r = post_form(&app, &format!("/repairs/faults/{fault}"), officer, &good).await;
        assert_eq!(r.status, StatusCode::CONFLICT, "{engine}: stale version");
        let r = post_form(
            &app,
            &format!("/repairs/ships/{ship}"),
            officer,
            "version=0&state=sheltering",
        )
        .await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{engine}");
        let r = post_form(
            &app,
            &format!("/repairs/ships/{ship}"),
            &cookies["briefing"],
            "version=1&state=standby",
        )
        .await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{engine}");
        let board = reg.repairs_board().await.expect("board");
        let s = board.ships.iter().find(|s| s.id == ship).expect("ship");
        assert_eq!(
            (s.state, s.queue.clone()),
            (shared::repair::ShipState::Sheltering, vec![fault])
        );
    }
}

/// Many pages rendered at once on a multi-threaded runtime all complete.
/// Found by hammering a running server: about 1 page in 170 closed its
/// connection (here: a 408 after 30 s) because the page title was read after
/// the body had rendered, from a locale signal the request's reactive owner
/// had already disposed; the title is now read while the page renders.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn pages_rendered_concurrently_all_complete() {
    let (engine, reg, url) = registries("concurrent_pages")
        .await
        .into_iter()
        .next()
        .expect("SQLite");
    let app = app(&reg, &url).await;
    reg.add_user("test", "reader", Role::Watch, PASSWORD)
        .await
        .expect("reader");
    let cookie = set_cookie(&sign_in(&app, None, "reader", PASSWORD).await).expect("cookie");
    let paths = ["/", "/watch", "/repairs", "/resilience", "/maintenance"];
    let failures: Vec<String> = futures_util::stream::iter(0..1000)
        .map(|i| {
            let (app, cookie) = (app.clone(), cookie.clone());
            let path = paths[i % paths.len()];
            async move {
                let r = tokio::spawn(async move {
                    send(&app, "GET", path, Some(&cookie), None, None).await
                })
                .await;
                match r {
                    Ok(r) if r.status == StatusCode::OK && r.body.contains("</body>") => None,
                    Ok(r) => Some(format!("{path}: {}", r.status)),
                    Err(e) => Some(format!("{path}: {e}")),
                }
            }
        })
        .buffer_unordered(32)
        .filter_map(|f| async move { f })
        .collect()
        .await;
    assert!(
        failures.is_empty(),
        "{engine}: {} of 1000 pages failed: {:?}",
        failures.len(),
        &failures[..failures.len().min(10)]
    );
}

/// Bad input on the resilience and repair routes (JSON and plain forms):
/// malformed bodies, bodies over the limit and fields of 100,000
/// characters get a clear 4xx, never a server error, and write nothing.
#[tokio::test]
async fn the_resilience_and_repair_routes_refuse_bad_input_and_write_nothing() {
    for (engine, reg, url) in registries("bad_input_repairs").await {
        let app = app(&reg, &url).await;
        reg.seed_assets(
            "system:reference",
            &shared::inventory::reference_assets(),
            shared::assets::SOURCE_REFERENCE,
        )
        .await
        .expect("reference assets");
        reg.import_notice("test", common::NOTICE)
            .await
            .expect("notice");
        let tok = user_token(&reg, "officer", Role::Officer).await;
        reg.add_user("test", "formofficer", Role::Officer, PASSWORD)
            .await
            .expect("user");
        let cookie =
            set_cookie(&sign_in(&app, None, "formofficer", PASSWORD).await).expect("cookie");
        let board = reg.repairs_board().await.expect("board");
        let ship = board.ships.first().expect("a repair ship").id;
        let fault = board.faults.first().expect("an open fault").id;
        let events = reg.event_count().await.expect("count");
        let long = "x".repeat(100_000);
        let json_routes = [
            (
                "PATCH",
                format!("/api/v1/faults/{fault}/repair"),
                json!({ "stage": long, "stage_on": long, "ship_id": long, "version": 0 }),
            ),
            (
                "PATCH",
                format!("/api/v1/ships/{ship}"),
                json!({ "state": long, "version": 0 }),
            ),
            (
                "PATCH",
                "/api/v1/resilience/figures/demand:matsu".to_string(),
                json!({ "value": long, "basis": long, "source": long, "version": 0 }),
            ),
            (
                "POST",
                "/api/v1/resilience/what-if".to_string(),
                json!({ "cut": vec![long.clone(); 20] }),
            ),
        ];
        let raw = |method: &str, path: &str, body: Vec<u8>| {
            let mut req = Request::builder()
                .method(method)
                .uri(path)
                .header(header::HOST, HOST)
                .header(header::AUTHORIZATION, format!("Bearer {tok}"))
                .header(header::CONTENT_TYPE, "application/json")
                .body(Body::from(body))
                .expect("request");
            req.extensions_mut().insert(ConnectInfo(next_addr()));
            let app = app.clone();
            async move {
                let resp = app.oneshot(req).await.expect("response");
                let status = resp.status();
                let bytes = resp.into_body().collect().await.expect("body").to_bytes();
                (
                    status,
                    serde_json::from_slice::<serde_json::Value>(&bytes).unwrap_or_default(),
                )
            }
        };
        for (method, path, long_body) in &json_routes {
            let (st, e) = raw(method, path, b"{\"stage\": ".to_vec()).await;
            assert!(
                st.is_client_error(),
                "{engine} {method} {path} malformed: {st}"
            );
            assert!(
                e["message"].is_string(),
                "{engine} {path}: a JSON error: {e}"
            );
            let (st, e) = raw(method, path, vec![b' '; 9 * 1024 * 1024]).await;
            assert_eq!(st, StatusCode::PAYLOAD_TOO_LARGE, "{engine} {path}");
            assert_eq!(e["error"], "too_large", "{engine} {path}: {e}");
            let (st, e) = raw(method, path, long_body.to_string().into_bytes()).await;
            assert!(
                st == StatusCode::UNPROCESSABLE_ENTITY || st == StatusCode::BAD_REQUEST,
                "{engine} {method} {path} long fields: {st} {e}"
            );
            assert!(e["message"].is_string(), "{engine} {path}: {e}");
        }
        for path in [
            format!("/repairs/faults/{fault}"),
            format!("/repairs/ships/{ship}"),
            "/resilience/figures/demand:matsu".to_string(),
        ] {
            let r = post_form(&app, &path, &cookie, "stage=%ZZ&version=").await;
            assert!(
                r.status.is_client_error(),
                "{engine} {path} malformed: {}",
                r.status
            );
            let big = format!("stage={}&state={}&value={}&version=0", long, long, long);
            let r = post_form(&app, &path, &cookie, &big).await;
            assert!(
                r.status == StatusCode::UNPROCESSABLE_ENTITY || r.status == StatusCode::BAD_REQUEST,
                "{engine} {path} long fields: {}",
                r.status
            );
            let r = post_form(&app, &path, &cookie, &"a=b&".repeat(3 * 1024 * 1024)).await;
            assert_eq!(r.status, StatusCode::PAYLOAD_TOO_LARGE, "{engine} {path}");
        }
        assert_eq!(
            reg.event_count().await.expect("count"),
            events,
            "{engine}: nothing written"
        );
    }
}

/// A write never waits forever for a writer that does not finish: another
/// process holding SQLite's write lock, or another server's transaction
/// holding PostgreSQL's writer lock, makes a write answer `busy` (503,
/// nothing saved) within its limit, and once the lock is free writes go
/// through. On PostgreSQL a transaction left idle is ended by the server.
#[tokio::test]
async fn a_write_behind_a_stuck_writer_answers_busy_and_saves_nothing() {
    for (engine, reg, url) in registries("stuck").await {
        let app = app(&reg, &url).await;
        let tok = user_token(&reg, "officer", Role::Officer).await;
        let stuck = sqlx::AnyPool::connect(&url).await.expect("a second client");
        let mut holder = stuck.acquire().await.expect("connection");
        use sqlx::Executor;
        if engine == "postgres" {
            holder.execute("BEGIN").await.expect("begin");
            // The key every cablewatch writer takes (server::log::WRITER_LOCK).
            holder
                .execute("SELECT pg_advisory_xact_lock(109269914248567)")
                .await
                .expect("lock");
            let t: String = sqlx::query_scalar("SHOW idle_in_transaction_session_timeout")
                .fetch_one(reg.pool())
                .await
                .expect("setting");
            assert_eq!(t, "1min", "{engine}: a lost transaction is ended");
        } else {
            holder.execute("BEGIN IMMEDIATE").await.expect("begin");
        }
        let started = Instant::now();
        let r = send(
            &app,
            "POST",
            "/api/v1/assets",
            None,
            Some(&tok),
            Some(asset("behind a stuck writer")),
        )
        .await;
        let waited = started.elapsed();
        assert_eq!(
            r.status,
            StatusCode::SERVICE_UNAVAILABLE,
            "{engine}: {}",
            r.body
        );
        let e: serde_json::Value = serde_json::from_str(&r.body).expect("JSON error");
        assert_eq!(e["error"], "busy", "{engine}");
        assert!(waited < Duration::from_secs(29), "{engine}: {waited:?}");
        holder.execute("ROLLBACK").await.expect("release");
        drop(holder);
        let r = send(
            &app,
            "POST",
            "/api/v1/assets",
            None,
            Some(&tok),
            Some(asset("after the lock is free")),
        )
        .await;
        assert_eq!(r.status, StatusCode::CREATED, "{engine}: {}", r.body);
        let names: Vec<String> = sqlx::query_scalar(
            "SELECT name FROM assets WHERE name LIKE '%writer%' OR name LIKE 'after%'",
        )
        .fetch_all(reg.pool())
        .await
        .expect("names");
        assert_eq!(
            names,
            vec!["after the lock is free".to_string()],
            "{engine}"
        );
    }
}

/// `?lang=` on a page renders it in that language (a kiosk link can name its
/// screen's language) and sets the language cookie, keeping the session's.
#[tokio::test]
async fn a_page_follows_lang_in_its_address() {
    for (engine, reg, url) in registries("lang").await {
        let app = app(&reg, &url).await;
        reg.add_user("test", "reader", Role::Briefing, PASSWORD)
            .await
            .expect("user");
        let r = sign_in(&app, None, "reader", PASSWORD).await;
        let cookie = set_cookie(&r).expect("cookie");
        let r = page(&app, "/briefing?lang=en", &cookie).await;
        assert_eq!(r.status, StatusCode::OK, "{engine}");
        assert!(
            r.body.contains("<html lang=\"en\""),
            "{engine}: English page"
        );
        assert!(r.body.contains("Subsea cables: briefing"), "{engine}");
        let set: Vec<&str> = r
            .headers
            .get_all(header::SET_COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .collect();
        assert!(
            set.iter().any(|c| c.starts_with("i18n_pref_locale=en;")),
            "{engine}: {set:?}"
        );
        let r = page(
            &app,
            "/briefing?lang=zh-TW",
            &format!("{cookie}; i18n_pref_locale=en"),
        )
        .await;
        assert!(r.body.contains("海纜"), "{engine}: back to zh-TW");
        assert!(!r.body.contains("Subsea cables: briefing"), "{engine}");
        // Anything else is ignored: the page as the cookie says.
        let r = page(&app, "/briefing?lang=%3Cscript%3E", &cookie).await;
        assert_eq!(r.status, StatusCode::OK, "{engine}");
        assert!(
            r.headers
                .get(header::SET_COOKIE)
                .is_none_or(|v| !v.to_str().unwrap_or("").contains("i18n")),
            "{engine}"
        );
    }
}
