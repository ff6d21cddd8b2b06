//! Exercises against real databases (SQLite, and PostgreSQL when
//! `CABLEWATCH_TEST_PG` is set): an exercise is a layer over reality, so
//! every real view reads the same bytes before and after a whole exercise,
//! and what was written in it is seen only by naming it.

mod common;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use chrono::{Duration, SecondsFormat, Utc};
use common::{app, call, officer_token, registries, user_token};
use http_body_util::BodyExt;
use serde_json::{json, Value};
use shared::auth::Role;
use tower::ServiceExt;

/// One request, optionally in an exercise (the header): status and body bytes.
async fn send(
    app: &axum::Router,
    token: &str,
    method: &str,
    uri: &str,
    exercise: Option<i64>,
    body: Option<Value>,
) -> (StatusCode, String) {
    let mut req = Request::builder()
        .method(method)
        .uri(uri)
        .header("authorization", format!("Bearer {token}"));
    if let Some(id) = exercise {
        req = req.header(shared::exercise::HEADER, id.to_string());
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
    (status, String::from_utf8_lossy(&bytes).into_owned())
}

/// Opens a kiosk link; the session cookie it sets.
async fn kiosk_cookie(app: &axum::Router, secret: &str) -> String {
    let req = Request::builder()
        .uri(format!("/kiosk?token={secret}"))
        .body(Body::empty())
        .expect("request");
    let resp = app.clone().oneshot(req).await.expect("response");
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    resp.headers()
        .get("set-cookie")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(str::to_string)
        .expect("kiosk cookie")
}

/// A GET with a session cookie: status and body.
async fn with_cookie(app: &axum::Router, cookie: &str, uri: &str) -> (StatusCode, String) {
    let req = Request::builder()
        .uri(uri)
        .header("cookie", cookie)
        .body(Body::empty())
        .expect("request");
    let resp = app.clone().oneshot(req).await.expect("response");
    let status = resp.status();
    let bytes = resp.into_body().collect().await.expect("body").to_bytes();
    (status, String::from_utf8_lossy(&bytes).into_owned())
}

fn json_of(s: &str) -> Value {
    serde_json::from_str(s).unwrap_or(Value::Null)
}

fn fault(cable: &str, day: &str, kind: &str, km: &str) -> Value {
    json!({
        "cable": cable, "detected_on": day, "kind": kind, "place": "桃園草漯",
        "km": km, "alternate_routes": "微波", "eta": "", "status": "open",
        "restored_on": "", "notes": "", "capacity_lost_pct": ""
    })
}

fn rfc(t: chrono::DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// The real views a reader, a briefing or a feed relies on.
const REAL_VIEWS: &[&str] = &[
    "/api/v1/faults",
    "/api/v1/faults?status=all",
    "/api/v1/notices/export",
    "/api/v1/watch",
    "/api/v1/alerts",
    "/api/v1/alerts?open=false",
    "/api/v1/resilience",
    "/api/v1/assets",
    "/api/v1/faults.geojson",
    "/feeds/alerts.atom",
    "/feeds/alerts.cap.xml",
    "/feeds/islands/matsu/alerts.atom",
];

async fn snapshot(app: &axum::Router, token: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for v in REAL_VIEWS {
        let (s, body) = send(app, token, "GET", v, None, None).await;
        assert_eq!(s, StatusCode::OK, "{v}: {body}");
        out.push((v.to_string(), body));
    }
    out
}

#[tokio::test]
async fn a_whole_exercise_leaves_every_real_view_byte_identical() {
    for (engine, reg, url) in registries("exercise_layer").await {
        let app = app(&reg, &url).await;
        let admin = user_token(&reg, "ex-admin", Role::Admin).await;
        let officer = officer_token(&reg).await;
        let watch = user_token(&reg, "ex-watch", Role::Watch).await;

        // Reality: one open cut, one asset.
        let today = shared::history::taipei_day(&Utc::now()).to_string();
        let (s, b) = send(
            &app,
            &officer,
            "POST",
            "/api/v1/faults",
            None,
            Some(fault("TDM3", &today, "cut", "12")),
        )
        .await;
        assert_eq!(s, StatusCode::CREATED, "{engine}: {b}");
        let real_fault = json_of(&b);
        let (s, b) = send(
            &app,
            &officer,
            "POST",
            "/api/v1/assets",
            None,
            Some(json!({
                "name": "Nangan LEO terminal", "kind": "sat_terminal", "status": "ready",
                "lon": "119.95", "lat": "26.16", "region": "Matsu", "orbit": "LEO",
                "operator": "OneWeb"
            })),
        )
        .await;
        assert_eq!(s, StatusCode::CREATED, "{engine}: {b}");
        let asset = json_of(&b);

        // Only an admin schedules one; bad fields are each named.
        let now = Utc::now();
        let form = json!({
            "name": "Matsu isolation drill",
            "starts_at": rfc(now - Duration::minutes(1)),
            "ends_at": rfc(now + Duration::hours(2)),
            "injects": [
                {"at_minute": 0, "fault": fault("TDM2", "", "cut", "30")},
                {"at_minute": 0, "updates": 0,
                 "fault": fault("TDM2", "", "cut", "30")},
            ]
        });
        let (s, _) = send(
            &app,
            &officer,
            "POST",
            "/api/v1/exercises",
            None,
            Some(form.clone()),
        )
        .await;
        assert_eq!(
            s,
            StatusCode::FORBIDDEN,
            "{engine}: an officer cannot schedule one"
        );
        let (s, b) = send(
            &app,
            &admin,
            "POST",
            "/api/v1/exercises",
            None,
            Some(json!({
                "name": "", "starts_at": "tomorrow", "ends_at": rfc(now + Duration::hours(1)),
                "injects": [{"at_minute": 5, "fault": fault("NO-SUCH-CABLE", "", "cut", "1")}]
            })),
        )
        .await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{engine}: {b}");
        for field in ["name", "starts_at", "injects[0].fault.cable"] {
            assert!(
                b.contains(&format!("\"{field}\"")),
                "{engine}: {field} named in {b}"
            );
        }
        let (s, b) = send(&app, &admin, "POST", "/api/v1/exercises", None, Some(form)).await;
        assert_eq!(s, StatusCode::CREATED, "{engine}: {b}");
        let ex = json_of(&b)["id"].as_i64().expect("an id");

        // Scheduling is in the audit trail; from here on reality is frozen.
        let before = snapshot(&app, &watch).await;

        // The script plays each inject once, however often the player runs.
        assert_eq!(reg.play_injects().await.expect("play"), 2, "{engine}");
        assert_eq!(reg.play_injects().await.expect("play again"), 0, "{engine}");

        // Officers write into the exercise.
        let (s, b) = send(
            &app,
            &officer,
            "POST",
            "/api/v1/faults",
            Some(ex),
            Some(fault("TDM3", &today, "partial_damage", "40")),
        )
        .await;
        assert_eq!(s, StatusCode::CREATED, "{engine}: {b}");
        let ex_fault = json_of(&b);
        assert!(
            ex_fault["id"].as_i64().unwrap_or(0) < 0,
            "{engine}: an exercise id: {b}"
        );
        // The real cut, changed inside the exercise (a shadow, not reality).
        let mut restored = fault("TDM3", &today, "cut", "12");
        restored["status"] = json!("restored");
        restored["restored_on"] = json!(today);
        restored["version"] = real_fault["version"].clone();
        let id = real_fault["id"].as_i64().unwrap_or(0);
        let (s, b) = send(
            &app,
            &officer,
            "PATCH",
            &format!("/api/v1/faults/{id}"),
            Some(ex),
            Some(restored.clone()),
        )
        .await;
        assert_eq!(s, StatusCode::OK, "{engine}: {b}");
        // A second officer on the stale version: a conflict, in the exercise too.
        let (s, b) = send(
            &app,
            &officer,
            "PATCH",
            &format!("/api/v1/faults/{id}"),
            Some(ex),
            Some(restored),
        )
        .await;
        assert_eq!(s, StatusCode::CONFLICT, "{engine}: {b}");
        // A backup recorded.
        let mut a = asset.clone();
        a["status"] = json!("deployed");
        for k in ["id", "source"] {
            if let Some(o) = a.as_object_mut() {
                o.remove(k);
            }
        }
        let aid = asset["id"].as_i64().unwrap_or(0);
        let mut patch = json!({
            "name": "Nangan LEO terminal", "kind": "sat_terminal", "status": "deployed",
            "lon": "119.95", "lat": "26.16", "region": "Matsu", "orbit": "LEO",
            "operator": "OneWeb"
        });
        patch["version"] = asset["version"].clone();
        let (s, b) = send(
            &app,
            &officer,
            "PATCH",
            &format!("/api/v1/assets/{aid}"),
            Some(ex),
            Some(patch),
        )
        .await;
        assert_eq!(s, StatusCode::OK, "{engine}: {b}");

        // The watch acknowledges the exercise's alerts; reality's stay open.
        let (s, b) = send(
            &app,
            &watch,
            "GET",
            &format!("/api/v1/alerts?exercise={ex}"),
            None,
            None,
        )
        .await;
        assert_eq!(s, StatusCode::OK, "{engine}: {b}");
        let alerts = json_of(&b);
        let mine: Vec<i64> = alerts
            .as_array()
            .map(|v| {
                v.iter()
                    .filter_map(|a| a["id"].as_i64())
                    .filter(|i| *i < 0)
                    .collect()
            })
            .unwrap_or_default();
        assert!(
            !mine.is_empty(),
            "{engine}: the injected cut raised an alert: {b}"
        );
        let real_alert = alerts
            .as_array()
            .and_then(|v| v.iter().filter_map(|a| a["id"].as_i64()).find(|i| *i > 0));
        for a in &mine {
            let (s, b) = send(
                &app,
                &watch,
                "POST",
                &format!("/api/v1/alerts/{a}/ack"),
                Some(ex),
                None,
            )
            .await;
            assert_eq!(s, StatusCode::OK, "{engine}: {b}");
        }
        let (s, _) = send(
            &app,
            &watch,
            "POST",
            &format!("/api/v1/alerts/{}/ack", mine[0]),
            Some(ex),
            None,
        )
        .await;
        assert_eq!(s, StatusCode::CONFLICT, "{engine}: acknowledged once");
        {
            let r = real_alert.expect("the real cut's alert is listed in the exercise too");
            let (s, b) = send(
                &app,
                &watch,
                "POST",
                &format!("/api/v1/alerts/{r}/ack"),
                Some(ex),
                None,
            )
            .await;
            assert_eq!(
                s,
                StatusCode::CONFLICT,
                "{engine}: a real alert is not acknowledged from an exercise: {b}"
            );
        }

        // The exercise's feed: its items marked Exercise beside reality's.
        let (s, b) = send(
            &app,
            &watch,
            "GET",
            &format!("/feeds/alerts.cap.xml?exercise={ex}"),
            None,
            None,
        )
        .await;
        assert_eq!(s, StatusCode::OK, "{engine}: {b}");
        assert!(b.contains(shared::feed::EXERCISE_MARK), "{engine}: {b}");
        let href = format!(
            "/feeds/alerts/cablewatch-exercise-{ex}-alert-{}.cap.xml?exercise={ex}",
            mine[0].unsigned_abs()
        );
        assert!(
            b.contains(&href.replace('&', "&amp;")),
            "{engine}: {href} in {b}"
        );
        let (s, b) = send(&app, &watch, "GET", &href, None, None).await;
        assert_eq!(s, StatusCode::OK, "{engine}: {b}");
        assert!(
            b.contains("<status>Exercise</status>") && b.contains("<note>"),
            "{engine}: {b}"
        );

        // Writes an exercise cannot take are refused, not made for real.
        let (s, b) = send(
            &app,
            &officer,
            "POST",
            "/api/v1/maintenance",
            Some(ex),
            Some(json!({"cable": "TDM2", "eta": "2026-12-31", "description": "drill"})),
        )
        .await;
        assert_eq!(s, StatusCode::CONFLICT, "{engine}: {b}");
        let (s, b) = send(
            &app,
            &officer,
            "POST",
            "/api/v1/faults",
            Some(ex + 1000),
            Some(fault("TDM2", &today, "cut", "3")),
        )
        .await;
        assert_eq!(
            s,
            StatusCode::CONFLICT,
            "{engine}: an exercise that does not exist: {b}"
        );
        let (s, b) = send(
            &app,
            &officer,
            "GET",
            "/api/v1/faults?exercise=x",
            None,
            None,
        )
        .await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{engine}: {b}");
        let (s, b) = send(
            &app,
            &officer,
            "GET",
            &format!("/api/v1/faults?exercise={ex}&as_of=2026-01-01"),
            None,
            None,
        )
        .await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{engine}: {b}");

        // Reality is untouched, byte for byte.
        let after = snapshot(&app, &watch).await;
        for ((view, b1), (_, b2)) in before.iter().zip(&after) {
            assert_eq!(b1, b2, "{engine}: {view} changed by the exercise");
        }

        // Naming the exercise shows reality with its layer over it.
        let (s, b) = send(
            &app,
            &watch,
            "GET",
            &format!("/api/v1/faults?exercise={ex}"),
            None,
            None,
        )
        .await;
        assert_eq!(s, StatusCode::OK, "{engine}: {b}");
        let seen = json_of(&b);
        let ids: Vec<i64> = seen
            .as_array()
            .map(|v| v.iter().filter_map(|f| f["id"].as_i64()).collect())
            .unwrap_or_default();
        assert!(
            ids.contains(&ex_fault["id"].as_i64().unwrap_or(0)),
            "{engine}: {b}"
        );
        assert!(
            !ids.contains(&id),
            "{engine}: the real cut is restored in the exercise: {b}"
        );
        assert_eq!(
            ids.iter().filter(|i| **i < 0).count(),
            2,
            "{engine}: the injected cut and the logged fault: {b}"
        );
        // Resilience inside the exercise: its injected TDM2 cut carries
        // nothing there; in reality TDM2 still carries its share.
        let tdm2 = |body: &str| {
            json_of(body)["links"]
                .as_array()
                .and_then(|l| l.iter().find(|l| l["id"] == "TDM2").cloned())
                .map(|l| l["available_mbps"].as_u64().unwrap_or(u64::MAX))
        };
        let (s, inside) = send(
            &app,
            &watch,
            "GET",
            &format!("/api/v1/resilience?exercise={ex}"),
            None,
            None,
        )
        .await;
        assert_eq!(s, StatusCode::OK, "{engine}: {inside}");
        let (_, real) = send(&app, &watch, "GET", "/api/v1/resilience", None, None).await;
        assert_eq!(tdm2(&inside), Some(0), "{engine}: {inside}");
        assert!(tdm2(&real).unwrap_or(0) > 0, "{engine}: {real}");
        let (s, b) = send(
            &app,
            &watch,
            "POST",
            &format!("/api/v1/resilience/what-if?exercise={ex}"),
            None,
            Some(json!({"cut": ["TDM3"]})),
        )
        .await;
        assert_eq!(s, StatusCode::OK, "{engine}: {b}");
        assert_eq!(
            tdm2(&b),
            Some(0),
            "{engine}: the what-if starts from the exercise: {b}"
        );
        let (s, _) = send(
            &app,
            &watch,
            "GET",
            &format!("/api/v1/resilience/contingencies?exercise={ex}"),
            None,
            None,
        )
        .await;
        assert_eq!(s, StatusCode::OK, "{engine}");
        let (s, _) = send(
            &app,
            &watch,
            "GET",
            &format!("/api/v1/resilience?exercise={ex}&as_of=2026-01-01T00:00"),
            None,
            None,
        )
        .await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{engine}: not both");

        // A kiosk link made for the exercise shows it, naming nothing, with
        // the banner; one for reality does not; naming another is refused.
        let bound = reg
            .create_exercise_kiosk("test", "Drill wall", 1, ex)
            .await
            .expect("a kiosk for the exercise");
        let plain = reg
            .create_kiosk("test", "Lobby wall", 1)
            .await
            .expect("a kiosk");
        let bound = kiosk_cookie(&app, &bound.secret).await;
        let plain = kiosk_cookie(&app, &plain.secret).await;
        let (s, b) = with_cookie(&app, &bound, "/api/v1/faults").await;
        assert_eq!(s, StatusCode::OK, "{engine}: {b}");
        assert!(
            b.contains(&format!("\"id\":{}", ex_fault["id"])),
            "{engine}: {b}"
        );
        let (_, b) = with_cookie(&app, &plain, "/api/v1/faults").await;
        assert!(
            !b.contains(&format!("\"id\":{}", ex_fault["id"])),
            "{engine}: {b}"
        );
        let (s, _) =
            with_cookie(&app, &bound, &format!("/api/v1/faults?exercise={}", ex + 1)).await;
        assert_eq!(s, StatusCode::FORBIDDEN, "{engine}");
        let (s, page) = with_cookie(&app, &bound, "/watch").await;
        assert_eq!(s, StatusCode::OK, "{engine}");
        assert!(
            page.contains(shared::feed::EXERCISE_MARK),
            "{engine}: the banner on the wall"
        );
        let (_, page) = with_cookie(&app, &plain, "/watch").await;
        assert!(
            !page.contains(shared::feed::EXERCISE_MARK),
            "{engine}: no banner on reality"
        );

        let (s, b) = send(
            &app,
            &watch,
            "GET",
            &format!("/api/v1/faults/{id}?exercise={ex}"),
            None,
            None,
        )
        .await;
        assert_eq!(s, StatusCode::OK, "{engine}");
        assert_eq!(json_of(&b)["fault"]["status"], "restored", "{engine}: {b}");
        let (_, b) = send(
            &app,
            &watch,
            "GET",
            &format!("/api/v1/faults/{id}"),
            None,
            None,
        )
        .await;
        assert_eq!(
            json_of(&b)["fault"]["status"],
            "open",
            "{engine}: reality: {b}"
        );

        // The report: injects, alerts and the responses to them.
        let (s, b) = send(
            &app,
            &watch,
            "GET",
            &format!("/api/v1/exercises/{ex}/report"),
            None,
            None,
        )
        .await;
        assert_eq!(s, StatusCode::OK, "{engine}: {b}");
        let r = json_of(&b);
        assert_eq!(r["injects_played"], 2, "{engine}: {b}");
        assert_eq!(
            r["acknowledged"].as_u64(),
            Some(mine.len() as u64),
            "{engine}: {b}"
        );
        assert_eq!(r["backups_recorded"], 1, "{engine}: {b}");
        assert!(r["median_ack_seconds"].as_i64().is_some(), "{engine}: {b}");
        let steps: Vec<&str> = r["lines"]
            .as_array()
            .map(|v| v.iter().filter_map(|l| l["step"].as_str()).collect())
            .unwrap_or_default();
        for step in ["inject", "alert", "acknowledged", "fault", "backup"] {
            assert!(
                steps.contains(&step),
                "{engine}: {step} in the timeline: {b}"
            );
        }
        let (s, csv) = send(
            &app,
            &watch,
            "GET",
            &format!("/api/v1/exercises/{ex}/report.csv"),
            None,
            None,
        )
        .await;
        assert_eq!(s, StatusCode::OK, "{engine}");
        assert!(
            csv.starts_with(&format!("# EXERCISE {ex}")),
            "{engine}: marked: {csv}"
        );
        assert!(csv.lines().count() >= steps.len() + 2, "{engine}: {csv}");
    }
}

#[tokio::test]
async fn an_exercise_not_running_takes_no_write_and_a_kiosk_never_sees_one() {
    for (engine, reg, url) in registries("exercise_closed").await {
        let app = app(&reg, &url).await;
        let admin = user_token(&reg, "exc-admin", Role::Admin).await;
        let officer = officer_token(&reg).await;
        let now = Utc::now();
        let (s, b) = call(
            &app,
            Some(&admin),
            "POST",
            "/api/v1/exercises",
            Some(json!({
                "name": "Tomorrow's drill",
                "starts_at": rfc(now + Duration::days(1)),
                "ends_at": rfc(now + Duration::days(1) + Duration::hours(3)),
            })),
        )
        .await;
        assert_eq!(s, StatusCode::CREATED, "{engine}: {b}");
        let ex = b["id"].as_i64().expect("id");
        assert_eq!(b["phase"], "scheduled", "{engine}");
        let today = shared::history::taipei_day(&now).to_string();
        let (s, b) = send(
            &app,
            &officer,
            "POST",
            "/api/v1/faults",
            Some(ex),
            Some(fault("TDM3", &today, "cut", "9")),
        )
        .await;
        assert_eq!(s, StatusCode::CONFLICT, "{engine}: {b}");
        assert!(b.contains("scheduled"), "{engine}: says why: {b}");
        let (_, b) = call(
            &app,
            Some(&officer),
            "GET",
            "/api/v1/faults?status=all",
            None,
        )
        .await;
        assert_eq!(b, json!([]), "{engine}: nothing written for real");
        // Reads of a scheduled exercise work (reality, nothing over it).
        let (s, _) = send(
            &app,
            &officer,
            "GET",
            &format!("/api/v1/watch?exercise={ex}"),
            None,
            None,
        )
        .await;
        assert_eq!(s, StatusCode::OK, "{engine}");
        assert_eq!(reg.play_injects().await.expect("play"), 0, "{engine}");

        // A kiosk link is made only for an exercise that exists.
        let e = reg
            .create_exercise_kiosk("test", "Nowhere", 1, ex + 1000)
            .await
            .expect_err("no such exercise");
        assert_eq!(e.status(), 422, "{engine}: {}", e.message);
        // A kiosk link shows reality: naming an exercise is refused.
        let kiosk = reg
            .create_kiosk("test", "Lobby screen", 30)
            .await
            .expect("kiosk");
        let req = Request::builder()
            .uri(format!("/kiosk?token={}", kiosk.secret))
            .body(Body::empty())
            .expect("request");
        let resp = app.clone().oneshot(req).await.expect("response");
        assert_eq!(resp.status(), StatusCode::SEE_OTHER, "{engine}");
        let cookie = resp
            .headers()
            .get("set-cookie")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(';').next())
            .map(str::to_string)
            .expect("kiosk cookie");
        let req = Request::builder()
            .uri(format!("/api/v1/faults?exercise={ex}"))
            .header("cookie", &cookie)
            .body(Body::empty())
            .expect("request");
        let resp = app.clone().oneshot(req).await.expect("response");
        assert_eq!(resp.status(), StatusCode::FORBIDDEN, "{engine}");
    }
}

/// A notice posted as text, in exercise `exercise` if given.
async fn send_notice(
    app: &axum::Router,
    token: &str,
    uri: &str,
    exercise: Option<i64>,
    text: &str,
) -> (StatusCode, String) {
    let mut req = Request::builder()
        .method("POST")
        .uri(uri)
        .header("authorization", format!("Bearer {token}"))
        .header("content-type", "text/plain; charset=utf-8");
    if let Some(id) = exercise {
        req = req.header(shared::exercise::HEADER, id.to_string());
    }
    let resp = app
        .clone()
        .oneshot(req.body(Body::from(text.to_string())).expect("request"))
        .await
        .expect("response");
    let status = resp.status();
    let bytes = resp.into_body().collect().await.expect("body").to_bytes();
    (status, String::from_utf8_lossy(&bytes).into_owned())
}

/// Issue 15: a notice imported inside an exercise lands in its layer only,
/// all of it or nothing: previewed and planned against the exercise's
/// faults, every real view byte-identical afterwards, a bad line refused by
/// number with nothing written, and a second import of the same notice a
/// no-op. Its planned maintenance is not played, and the report says which
/// lines.
#[tokio::test]
async fn a_notice_imported_into_an_exercise_lands_only_in_its_layer() {
    const NOTICE: &str = include_str!("../../shared/tests/fixtures/2026-02-14-fault-notice.txt");
    for (engine, reg, url) in registries("exercise_notice").await {
        let app = app(&reg, &url).await;
        let admin = user_token(&reg, "exn-admin", Role::Admin).await;
        let officer = officer_token(&reg).await;
        // Reality holds one fault the notice also lists (EAC1 at 206 km).
        let (s, b) = send(
            &app,
            &officer,
            "POST",
            "/api/v1/faults",
            None,
            Some(json!({
                "cable": "EAC1", "detected_on": "2025-08-22", "kind": "partial_damage",
                "place": "新北八里", "km": "206", "alternate_routes": "EAC1 海纜",
                "eta": "2026-03-31", "status": "open", "restored_on": "", "notes": "",
                "capacity_lost_pct": ""
            })),
        )
        .await;
        assert_eq!(s, StatusCode::CREATED, "{engine}: {b}");
        let real_id = json_of(&b)["id"].as_i64().unwrap_or(0);
        let now = Utc::now();
        let (s, b) = send(
            &app,
            &admin,
            "POST",
            "/api/v1/exercises",
            None,
            Some(json!({
                "name": "Notice drill",
                "starts_at": rfc(now - Duration::minutes(1)),
                "ends_at": rfc(now + Duration::hours(2)),
            })),
        )
        .await;
        assert_eq!(s, StatusCode::CREATED, "{engine}: {b}");
        let ex = json_of(&b)["id"].as_i64().unwrap_or(0);
        // (Scheduling is a real event, for the audit trail; nothing after it is.)
        let before = snapshot(&app, &officer).await;

        // A bad line: refused by number, nothing written anywhere.
        let bad = NOTICE.replacen("(TDM2)", "(NO-SUCH)", 1);
        let bad_line = bad
            .lines()
            .position(|l| l.contains("NO-SUCH"))
            .map(|i| i + 1)
            .unwrap_or(0);
        let (s, b) = send_notice(&app, &officer, "/api/v1/notices", Some(ex), &bad).await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{engine}: {b}");
        assert!(
            b.contains(&format!("\"line\":{bad_line}")),
            "{engine}: line {bad_line} named: {b}"
        );
        let (_, faults) = send(
            &app,
            &officer,
            "GET",
            &format!("/api/v1/faults?exercise={ex}"),
            None,
            None,
        )
        .await;
        assert_eq!(
            json_of(&faults).as_array().map(Vec::len),
            Some(1),
            "{engine}: nothing of it in the layer: {faults}"
        );

        // The preview plans against the exercise's faults and writes nothing.
        let (s, b) = send_notice(&app, &officer, "/api/v1/notices/preview", Some(ex), NOTICE).await;
        assert_eq!(s, StatusCode::OK, "{engine}: {b}");
        let preview = json_of(&b);
        let planned = preview["plan"]["changes"]
            .as_array()
            .map(Vec::len)
            .unwrap_or(0);
        assert!(planned >= 10, "{engine}: the notice's faults planned: {b}");
        assert_eq!(preview["events_written"], 0, "{engine}");
        assert!(
            preview["plan"]["changes"]
                .as_array()
                .is_some_and(|c| c.iter().any(|c| c["fault_id"] == real_id)),
            "{engine}: the real EAC1 fault is changed (its ETA), not logged again: {b}"
        );

        // The import: into the layer, every change an event.
        let (s, b) = send_notice(&app, &officer, "/api/v1/notices", Some(ex), NOTICE).await;
        assert_eq!(s, StatusCode::OK, "{engine}: {b}");
        let report = json_of(&b);
        assert_eq!(report["events_written"], planned + 1, "{engine}: {b}");
        assert!(
            report["warnings"]
                .as_array()
                .is_some_and(|w| w.iter().any(|w| w["message"]
                    .as_str()
                    .is_some_and(|m| m.contains("not played in an exercise")))),
            "{engine}: the maintenance left out is named: {b}"
        );
        let (_, faults) = send(
            &app,
            &officer,
            "GET",
            &format!("/api/v1/faults?exercise={ex}&status=all"),
            None,
            None,
        )
        .await;
        let faults = json_of(&faults);
        let list = faults.as_array().cloned().unwrap_or_default();
        assert!(list.len() >= planned, "{engine}: {faults}");
        assert!(
            list.iter()
                .filter(|f| f["id"] != real_id)
                .all(|f| f["id"].as_i64().unwrap_or(0) < 0),
            "{engine}: the exercise's own faults: {faults}"
        );
        let eac1 = list
            .iter()
            .find(|f| f["id"] == real_id)
            .cloned()
            .unwrap_or_default();
        assert_eq!(
            eac1["eta"]["date"], "2026-04-30",
            "{engine}: the notice's ETA, in the exercise: {eac1}"
        );
        let (_, real) = send(
            &app,
            &officer,
            "GET",
            &format!("/api/v1/faults/{real_id}"),
            None,
            None,
        )
        .await;
        assert_eq!(
            json_of(&real)["fault"]["eta"]["date"],
            "2026-03-31",
            "{engine}: reality's ETA stays: {real}"
        );

        // The repair board in the exercise has its faults; reality's has none.
        let (s, b) = send(
            &app,
            &officer,
            "GET",
            &format!("/api/v1/repairs?exercise={ex}"),
            None,
            None,
        )
        .await;
        assert_eq!(s, StatusCode::OK, "{engine}: {b}");
        let ids = |b: &str| -> Vec<i64> {
            json_of(b)["faults"]
                .as_array()
                .map(|v| v.iter().filter_map(|f| f["id"].as_i64()).collect())
                .unwrap_or_default()
        };
        assert!(
            ids(&b).iter().any(|id| *id < 0),
            "{engine}: the exercise's faults on its repair board: {b}"
        );
        let (_, b) = send(&app, &officer, "GET", "/api/v1/repairs", None, None).await;
        assert!(
            !ids(&b).is_empty() && ids(&b).iter().all(|id| *id > 0),
            "{engine}: reality's board: {b}"
        );

        // Again: nothing more to write.
        let (s, b) = send_notice(&app, &officer, "/api/v1/notices", Some(ex), NOTICE).await;
        assert_eq!(s, StatusCode::OK, "{engine}: {b}");
        assert_eq!(json_of(&b)["events_written"], 0, "{engine}: {b}");

        // Reality: every view byte-identical.
        let after = snapshot(&app, &officer).await;
        for ((v, b0), (_, b1)) in before.iter().zip(after.iter()) {
            assert_eq!(b0, b1, "{engine}: {v} unchanged by the exercise's notice");
        }
    }
}
