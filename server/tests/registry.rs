//! The registry and the JSON API against real databases: every test runs on
//! SQLite, and on PostgreSQL when `CABLEWATCH_TEST_PG` is set (`cargo xtask
//! test` always sets it). Each test gets its own fresh database.

mod common;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use common::{app, call, officer_token, registries, NOTICE};
use http_body_util::BodyExt;
use shared::fault::FaultForm;
use tower::ServiceExt;

fn form() -> FaultForm {
    FaultForm {
        cable: "TDM3".into(),
        detected_on: "2026-02-10".into(),
        kind: "cut".into(),
        place: "桃園草漯".into(),
        km: "40".into(),
        alternate_routes: "微波".into(),
        eta: "2026-04".into(),
        status: "open".into(),
        restored_on: String::new(),
        notes: "reported by the operator".into(),
        capacity_lost_pct: String::new(),
    }
}

#[tokio::test]
async fn importing_the_notice_twice_writes_events_once() {
    for (engine, reg, _) in registries("import_twice").await {
        let first = reg.import_notice("test", NOTICE).await.expect("import");
        assert_eq!(first.plan.changes.len(), 14, "{engine}");
        let open = reg.faults(false).await.expect("faults");
        assert_eq!(open.len(), 11, "{engine}: 11 open faults");
        let cuts = open
            .iter()
            .filter(|f| f.kind == shared::fault::FaultKind::Cut)
            .count();
        assert_eq!(cuts, 6, "{engine}");
        let all = reg.faults(true).await.expect("faults");
        assert_eq!(
            all.len(),
            14,
            "{engine}: plus 3 restored from the footnotes"
        );
        let events = reg.event_count().await.expect("count");
        let second = reg
            .import_notice("test", NOTICE)
            .await
            .expect("import again");
        assert_eq!(second.events_written, 0, "{engine}");
        assert_eq!(
            reg.event_count().await.expect("count"),
            events,
            "{engine}: no new events"
        );
    }
}

#[tokio::test]
async fn a_bad_notice_changes_nothing_and_names_every_line() {
    for (engine, reg, _) in registries("bad_notice").await {
        let before = reg.event_count().await.expect("count");
        let bad = NOTICE
            .replace("臺馬二號海纜 (TDM2)", "臺馬九號海纜 (TDM9)")
            .replace("115/5/3", "115/5/32");
        let err = reg.import_notice("test", &bad).await.expect_err("refused");
        assert_eq!(err.status(), 422, "{engine}");
        let lines: Vec<usize> = err.lines.iter().map(|l| l.line).collect();
        assert_eq!(lines, vec![12, 22], "{engine}: {:?}", err.lines);
        assert!(
            reg.faults(true).await.expect("faults").is_empty(),
            "{engine}"
        );
        assert_eq!(reg.event_count().await.expect("count"), before, "{engine}");
    }
}

#[tokio::test]
async fn export_then_import_into_an_empty_database_gives_the_same_faults() {
    let regs = registries("roundtrip").await;
    let fresh = registries("roundtrip_b").await;
    for ((engine, reg, _), (_, empty, _)) in regs.into_iter().zip(fresh) {
        reg.import_notice("test", NOTICE).await.expect("import");
        let day = chrono::NaiveDate::from_ymd_opt(2026, 2, 14).expect("date");
        let text = reg.export_notice(day, None).await.expect("export");
        empty.import_notice("test", &text).await.expect("re-import");
        let strip = |fs: Vec<shared::fault::Fault>| {
            let mut v: Vec<_> = fs
                .into_iter()
                .map(|f| {
                    (
                        f.key(),
                        f.kind,
                        f.eta,
                        f.alternate_routes,
                        f.status,
                        f.restored_on,
                    )
                })
                .collect();
            v.sort_by(|a, b| a.0.cmp(&b.0));
            v
        };
        assert_eq!(
            strip(reg.faults(true).await.expect("a")),
            strip(empty.faults(true).await.expect("b")),
            "{engine}"
        );
    }
}

#[tokio::test]
async fn a_stale_edit_is_refused_and_nothing_is_lost() {
    for (engine, reg, _) in registries("stale_edit").await {
        let f = reg
            .create_fault("officer-a", &form())
            .await
            .expect("create");
        assert_eq!(f.version, 1);
        let mut a = form();
        a.eta = "2026-05-10".into();
        let saved = reg
            .update_fault("officer-a", f.id, 1, &a)
            .await
            .expect("first edit");
        assert_eq!(saved.version, 2);
        let mut b = form();
        b.notes = "officer b's note".into();
        let err = reg
            .update_fault("officer-b", f.id, 1, &b)
            .await
            .expect_err("stale");
        assert_eq!(err.status(), 409, "{engine}");
        let now = reg.fault(f.id).await.expect("fault");
        assert_eq!(
            now.fault.eta.to_iso(),
            "2026-05-10",
            "{engine}: first edit kept"
        );
        assert_eq!(now.fault.notes, "reported by the operator", "{engine}");
        let kinds: Vec<&str> = now.events.iter().map(|e| e.kind.as_str()).collect();
        assert_eq!(kinds, ["fault.reported", "fault.updated"], "{engine}");
        assert_eq!(now.events[1].actor, "officer-a");
        assert!(now.events[1].before.is_some() && now.events[1].after.is_some());
    }
}

#[tokio::test]
async fn the_event_log_is_append_only() {
    for (engine, reg, _) in registries("append_only").await {
        reg.create_fault("t", &form()).await.expect("create");
        let upd = sqlx::query("UPDATE events SET actor = 'x'")
            .execute(reg.pool())
            .await;
        assert!(upd.is_err(), "{engine}: update refused");
        let del = sqlx::query("DELETE FROM events").execute(reg.pool()).await;
        assert!(del.is_err(), "{engine}: delete refused");
    }
}

#[tokio::test]
async fn json_api_statuses() {
    for (engine, reg, url) in registries("api").await {
        let app = app(&reg, &url).await;
        let tok = officer_token(&reg).await;
        let (s, _) = call(&app, Some(&tok), "GET", "/api/v1/healthz", None).await;
        assert_eq!(s, StatusCode::OK, "{engine}");
        let (s, cables) = call(&app, Some(&tok), "GET", "/api/v1/cables", None).await;
        assert_eq!(s, StatusCode::OK);
        assert_eq!(cables.as_array().map(Vec::len), Some(22));
        let body = serde_json::to_value(form()).expect("json");
        let (s, created) = call(
            &app,
            Some(&tok),
            "POST",
            "/api/v1/faults",
            Some(body.clone()),
        )
        .await;
        assert_eq!(s, StatusCode::CREATED, "{engine}: {created}");
        let id = created["id"].as_i64().expect("id");
        for key in [
            "id",
            "cable",
            "detected_on",
            "kind",
            "chainage",
            "alternate_routes",
            "eta",
            "status",
            "version",
        ] {
            assert!(created.get(key).is_some(), "{key} in {created}");
        }
        assert_eq!(created["chainage"]["station"], "caota");
        let (s, e) = call(
            &app,
            Some(&tok),
            "POST",
            "/api/v1/faults",
            Some(body.clone()),
        )
        .await;
        assert_eq!(s, StatusCode::CONFLICT, "{engine}: duplicate {e}");
        let mut bad = body.clone();
        bad["km"] = "far".into();
        let (s, e) = call(&app, Some(&tok), "POST", "/api/v1/faults", Some(bad)).await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(e["error"], "invalid");
        assert_eq!(e["field"], "km");
        let mut patch = body.clone();
        patch["version"] = 1.into();
        patch["status"] = "repairing".into();
        let uri = format!("/api/v1/faults/{id}");
        let (s, p) = call(&app, Some(&tok), "PATCH", &uri, Some(patch.clone())).await;
        assert_eq!(s, StatusCode::OK, "{p}");
        assert_eq!(p["version"], 2);
        let (s, e) = call(&app, Some(&tok), "PATCH", &uri, Some(patch)).await;
        assert_eq!(s, StatusCode::CONFLICT, "{e}");
        assert_eq!(e["error"], "conflict");
        let (s, d) = call(&app, Some(&tok), "GET", &uri, None).await;
        assert_eq!(s, StatusCode::OK);
        assert_eq!(d["events"].as_array().map(Vec::len), Some(2));
        let (s, _) = call(&app, Some(&tok), "GET", "/api/v1/faults/99999", None).await;
        assert_eq!(s, StatusCode::NOT_FOUND);
        let (s, _) = call(&app, Some(&tok), "GET", "/api/v1/faults?status=bogus", None).await;
        assert_eq!(s, StatusCode::BAD_REQUEST);
        let (s, _) = call(
            &app,
            Some(&tok),
            "GET",
            "/api/v1/notices/export?as_of=2026-13-01",
            None,
        )
        .await;
        assert_eq!(s, StatusCode::BAD_REQUEST);
        let huge = "x".repeat(server::web::BODY_LIMIT + 10);
        let resp = app
            .clone()
            .oneshot(
                Request::builder()
                    .method("POST")
                    .uri("/api/v1/notices")
                    .header("authorization", format!("Bearer {tok}"))
                    .body(Body::from(huge))
                    .expect("req"),
            )
            .await
            .expect("resp");
        assert_eq!(resp.status(), StatusCode::PAYLOAD_TOO_LARGE);
        let (s, e) = call(&app, Some(&tok), "GET", "/api/v1/faults?status=all", None).await;
        assert_eq!(s, StatusCode::OK, "{e}");
        for layer in ["cables", "faults", "stations"] {
            let uri = format!("/api/v1/{layer}.geojson");
            let (s, fc) = call(&app, Some(&tok), "GET", &uri, None).await;
            assert_eq!(s, StatusCode::OK, "{engine}: {uri}");
            assert_eq!(fc["type"], "FeatureCollection", "{uri}");
            let (s, _) = call(&app, None, "GET", &uri, None).await;
            assert_eq!(s, StatusCode::UNAUTHORIZED, "{uri} needs a reader");
        }
        let (_, fc) = call(&app, Some(&tok), "GET", "/api/v1/faults.geojson", None).await;
        let f = &fc["features"][0];
        assert_eq!(f["geometry"]["type"], "Point", "{f}");
        assert_eq!(f["properties"]["geometry_quality"], "approximate");
        let (_, fc) = call(&app, Some(&tok), "GET", "/api/v1/cables.geojson", None).await;
        let tdm3 = fc["features"]
            .as_array()
            .and_then(|a| a.iter().find(|f| f["id"] == "TDM3"))
            .cloned()
            .unwrap_or_default();
        assert_eq!(
            tdm3["properties"]["state"], "cut",
            "a repairing cut is still a cut"
        );
    }
}

#[tokio::test]
async fn the_fault_list_is_rendered_on_the_server() {
    for (engine, reg, url) in registries("ssr").await {
        reg.import_notice("test", NOTICE).await.expect("import");
        let tok = officer_token(&reg).await;
        let app = app(&reg, &url).await;
        let resp = app
            .oneshot(
                Request::builder()
                    .uri("/")
                    .header("authorization", format!("Bearer {tok}"))
                    .body(Body::empty())
                    .expect("req"),
            )
            .await
            .expect("resp");
        assert_eq!(resp.status(), StatusCode::OK);
        let html = String::from_utf8(
            resp.into_body()
                .collect()
                .await
                .expect("body")
                .to_bytes()
                .to_vec(),
        )
        .expect("utf8");
        for cable in [
            "EAC1", "TDM2", "TSE-1", "PLCN", "FNAL", "RNAL", "EAC2", "Apricot",
        ] {
            assert!(
                html.contains(&format!("data-cable=\"{cable}\"")),
                "{engine}: {cable}"
            );
        }
        assert!(html.contains("data-hydrated=\"false\""));
    }
}

#[tokio::test]
async fn planned_maintenance_is_recorded_completed_and_closed_by_a_footnote() {
    for (engine, reg, url) in registries("maintenance").await {
        let app = app(&reg, &url).await;
        let tok = officer_token(&reg).await;
        let body = serde_json::json!({
            "cable": "TPE",
            "eta": "2026-02",
            "description": "更換中繼器",
            "alternate_routes": "APG、NCP",
        });
        let (s, m) = call(
            &app,
            Some(&tok),
            "POST",
            "/api/v1/maintenance",
            Some(body.clone()),
        )
        .await;
        assert_eq!(s, StatusCode::CREATED, "{engine}: {m}");
        assert_eq!(m["cable"], "TPE");
        assert_eq!(m["alternate_routes"].as_array().map(Vec::len), Some(2));
        let (s, e) = call(
            &app,
            Some(&tok),
            "POST",
            "/api/v1/maintenance",
            Some(serde_json::json!({"cable": "XYZ9", "eta": "soon", "description": ""})),
        )
        .await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{engine}: {e}");
        assert_eq!(e["fields"].as_array().map(Vec::len), Some(3), "{e}");

        // Exported in the notice's maintenance table while planned.
        let export = reg
            .export_notice(
                chrono::NaiveDate::from_ymd_opt(2026, 2, 10).expect("date"),
                None,
            )
            .await
            .expect("export");
        assert!(export.contains("更換中繼器"), "{engine}: {export}");

        // The real notice's footnote "TPE 計畫性維修已於 2 月 12 日完成" completes it.
        let rep = reg.import_notice("test", NOTICE).await.expect("import");
        assert!(rep.events_written > 0);
        assert!(
            reg.maintenance().await.expect("list").is_empty(),
            "{engine}"
        );
        let completed: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM maintenance WHERE status = 'completed' AND completed_on = '2026-02-12'",
        )
        .fetch_one(reg.pool())
        .await
        .expect("count");
        assert_eq!(completed, 1, "{engine}");

        // A second entry, completed through the API; a stale version is refused.
        let (_, m2) = call(&app, Some(&tok), "POST", "/api/v1/maintenance", Some(body)).await;
        let uri = format!("/api/v1/maintenance/{}/complete", m2["id"]);
        let done = serde_json::json!({"version": 1, "completed_on": "2026-03-01"});
        let (s, c) = call(&app, Some(&tok), "POST", &uri, Some(done.clone())).await;
        assert_eq!(s, StatusCode::OK, "{engine}: {c}");
        assert_eq!(c["status"], "completed");
        let (s, e) = call(&app, Some(&tok), "POST", &uri, Some(done)).await;
        assert_eq!(s, StatusCode::CONFLICT, "{engine}: {e}");
        let before = reg.event_count().await.expect("events");
        reg.import_notice("test", NOTICE).await.expect("again");
        assert_eq!(reg.event_count().await.expect("events"), before, "{engine}");
    }
}

#[tokio::test]
async fn the_map_is_complete_without_javascript() {
    for (engine, reg, url) in registries("ssr_map").await {
        reg.import_notice("test", NOTICE).await.expect("import");
        let tok = officer_token(&reg).await;
        let app = app(&reg, &url).await;
        let resp = app
            .clone()
            .oneshot(
                Request::builder()
                    .uri("/map")
                    .header("authorization", format!("Bearer {tok}"))
                    .body(Body::empty())
                    .expect("req"),
            )
            .await
            .expect("resp");
        assert_eq!(resp.status(), StatusCode::OK, "{engine}");
        let bytes = resp.into_body().collect().await.expect("body").to_bytes();
        let html = String::from_utf8_lossy(&bytes);
        assert_eq!(
            html.matches("class=\"pin ").count(),
            11,
            "{engine}: 11 pins"
        );
        assert_eq!(
            html.matches("class=\"cable ").count(),
            22,
            "{engine}: 22 cables"
        );
        assert!(html.contains("id=\"land\""), "{engine}: the basemap");
        // The land is referenced, not inlined: it travels once per view, cached.
        assert!(
            html.contains("href=\"/map/land/taiwan.svg#land\""),
            "{engine}: the land by reference"
        );
        assert!(html.len() < 200_000, "{engine}: page {} bytes", html.len());
        let resp = app
            .clone()
            .clone()
            .oneshot(
                Request::builder()
                    .uri("/map/land/taiwan.svg")
                    .body(Body::empty())
                    .expect("req"),
            )
            .await
            .expect("resp");
        assert_eq!(
            resp.status(),
            StatusCode::OK,
            "{engine}: land, no sign-in needed"
        );
        assert_eq!(resp.headers()["content-type"], "image/svg+xml");
        assert!(resp.headers()["cache-control"]
            .to_str()
            .unwrap_or("")
            .contains("max-age"));
        let bytes = resp.into_body().collect().await.expect("body").to_bytes();
        let svg = String::from_utf8_lossy(&bytes);
        assert!(svg.contains("<path id=\"land\""), "{engine}");
        assert!(svg.matches('Z').count() > 10, "{engine}: outlines");
        // Only a view's id names a file: anything else is 404 and echoes nothing.
        let long = format!("/map/land/{}.svg", "a".repeat(5000));
        for bad in [
            "/map/land/nowhere.svg",
            "/map/land/taiwan",
            "/map/land/taiwan.svg.br",
            "/map/land/..%2F..%2Fcw.db",
            "/map/land/%3Cscript%3E.svg",
            long.as_str(),
        ] {
            let (s, body, _) = common::get_text(&app, None, bad).await;
            assert_eq!(
                s,
                StatusCode::NOT_FOUND,
                "{engine}: {}",
                &bad[..bad.len().min(40)]
            );
            assert!(
                !body.contains("script") && body.len() < 100,
                "{engine}: {body}"
            );
        }
        // Island badges from the resilience engine; Matsu's traffic on TDM3.
        assert!(
            html.contains("data-region=\"matsu\" data-status=\"degraded\""),
            "{engine}: Matsu's badge"
        );
        let at = html.find("data-cable=\"TDM3\"").unwrap_or(0);
        let start = html[..at].rfind("<path").unwrap_or(0);
        let end = at + html[at..].find('>').unwrap_or(0);
        let tdm3 = &html[start..end];
        assert!(
            tdm3.contains("carrying"),
            "{engine}: TDM3 carries Matsu's traffic: {tdm3}"
        );
        assert!(html.contains("OpenStreetMap"), "{engine}: attribution");
        let elements = ["<path", "<circle", "<polygon", "<line", "<text", "<rect"]
            .iter()
            .map(|t| html.matches(t).count())
            .sum::<usize>();
        assert!(elements <= 1500, "{engine}: {elements} SVG elements");
        assert!(
            !html.contains("http://") || !html.contains("src=\"http"),
            "no outside host"
        );
    }
}

/// sqlx 0.8's Any driver sends a NULL `f64` to PostgreSQL typed as float4,
/// so a cached statement first run with NULL refused a value afterwards
/// ("incorrect binary data format"): optional floats now travel as text.
/// Writes that alternate empty and filled optional numbers all succeed.
#[tokio::test]
async fn optional_numbers_alternate_between_empty_and_filled() {
    for (engine, reg, _) in registries("opt_f64").await {
        for i in 0..12u32 {
            let mut f = form();
            f.km = (100 + i).to_string();
            f.capacity_lost_pct = if i % 2 == 0 {
                String::new()
            } else {
                "40".into()
            };
            f.kind = "partial_damage".into();
            let saved = reg.create_fault("test", &f).await;
            assert!(saved.is_ok(), "{engine}: fault {i}: {saved:?}");
            let mut a = shared::assets::AssetForm {
                name: format!("alternating {i}"),
                kind: "sat_terminal".into(),
                lon: "121.5".into(),
                lat: "25.0".into(),
                region: "Taipei".into(),
                ..Default::default()
            };
            if i % 2 == 1 {
                a.kind = "microwave".into();
                a.end_lon = "121.6".into();
                a.end_lat = "25.1".into();
                a.capacity_mbps = "1000".into();
            }
            let saved = reg.create_asset("test", &a).await;
            assert!(saved.is_ok(), "{engine}: asset {i}: {saved:?}");
        }
        let faults = reg.faults(false).await.expect("faults");
        assert_eq!(
            faults
                .iter()
                .filter(|f| f.capacity_lost_pct == Some(40.0))
                .count(),
            6,
            "{engine}"
        );
    }
}

/// Issue 14 (as of): `GET /api/v1/faults?as_of=` and `GET /api/v1/watch?as_of=`
/// answer the state at that moment, rebuilt from the event log: nothing
/// before the first write, each later edit only from its moment on, and at
/// "now" exactly what the tables hold. A bad moment is a 400 naming `as_of`.
#[tokio::test]
async fn the_state_as_of_a_moment_is_rebuilt_from_the_log() {
    for (engine, reg, url) in registries("as_of").await {
        let app = app(&reg, &url).await;
        let tok = officer_token(&reg).await;
        let moment = || chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Micros, true);
        let t0 = moment();
        let a = reg.create_fault("officer-a", &form()).await.expect("a");
        let t1 = moment();
        let mut edit = form();
        edit.km = "55".into();
        reg.update_fault("officer-a", a.id, 1, &edit)
            .await
            .expect("edit");
        let mut other = form();
        other.detected_on = "2026-02-11".into();
        let b = reg.create_fault("officer-b", &other).await.expect("b");
        let t2 = moment();
        // A repair stage on a, then a's own next edit: two records of one
        // fault, each read from its own last event.
        let stage = shared::repair::RepairForm {
            stage: "ship_requested".into(),
            stage_on: "2026-02-12".into(),
            ship_id: String::new(),
        };
        reg.set_repair("officer-a", a.id, &stage, 0)
            .await
            .expect("repair");
        let mut restore = edit.clone();
        restore.status = "restored".into();
        restore.restored_on = "2026-02-20".into();
        reg.update_fault("officer-a", a.id, 2, &restore)
            .await
            .expect("restore");
        let t3 = moment();
        let written = reg.event_count().await.expect("count");
        let get = |q: String| {
            let app = app.clone();
            let tok = tok.clone();
            async move { call(&app, Some(&tok), "GET", &q, None).await }
        };
        let (st, v) = get(format!("/api/v1/faults?status=all&as_of={t0}")).await;
        assert_eq!(st, StatusCode::OK, "{engine}: {v}");
        assert_eq!(
            v,
            serde_json::json!([]),
            "{engine}: nothing before the first write"
        );
        let (_, v) = get(format!("/api/v1/faults?as_of={t1}")).await;
        let ids: Vec<(i64, i64)> = v
            .as_array()
            .expect("list")
            .iter()
            .map(|f| {
                (
                    f["id"].as_i64().unwrap_or(-1),
                    f["version"].as_i64().unwrap_or(-1),
                )
            })
            .collect();
        assert_eq!(ids, [(a.id, 1)], "{engine}: at t1 only a, as first written");
        let (_, v) = get(format!("/api/v1/faults?as_of={t2}")).await;
        assert_eq!(v.as_array().map(Vec::len), Some(2), "{engine}: {v}");
        assert_eq!(v[0]["chainage"]["km"], 55.0, "{engine}: the edit by t2");
        let (_, v) = get(format!("/api/v1/faults?as_of={t3}")).await;
        let open: Vec<i64> = v
            .as_array()
            .expect("list")
            .iter()
            .filter_map(|f| f["id"].as_i64())
            .collect();
        assert_eq!(open, [b.id], "{engine}: a was restored by t3");
        let at3 = shared::history::parse_as_of(&t3).expect("t3");
        let state = reg.state_at(at3).await.expect("state");
        assert_eq!(
            state.faults.get(&a.id).map(|f| f.version),
            Some(3),
            "{engine}: a's last edit"
        );
        assert_eq!(
            state.repairs.get(&a.id).map(|r| r.stage),
            Some(shared::repair::Stage::ShipRequested),
            "{engine}: a's repair stage, set before that edit"
        );
        let at2 = shared::history::parse_as_of(&t2).expect("t2");
        let state = reg.state_at(at2).await.expect("state");
        assert!(state.repairs.is_empty(), "{engine}: no repair by t2");
        // At "now" the fold gives exactly what the table holds.
        let (_, folded) = get(format!("/api/v1/faults?status=all&as_of={t3}")).await;
        let (_, table) = get("/api/v1/faults?status=all".into()).await;
        assert_eq!(folded, table, "{engine}");
        // The watch board then: a's fault counted at t1, no events after t1.
        let (st, board) = get(format!("/api/v1/watch?as_of={t1}")).await;
        assert_eq!(st, StatusCode::OK, "{engine}: {board}");
        let active: u64 = board["faults"]
            .as_array()
            .expect("counts")
            .iter()
            .filter_map(|c| c[1].as_u64())
            .sum();
        assert_eq!(active, 1, "{engine}: {board}");
        let newest = board["events"][0]["seq"].as_i64().unwrap_or(0);
        assert_eq!(board["seq"].as_i64(), Some(newest), "{engine}");
        let (_, now) = get("/api/v1/watch".into()).await;
        assert!(now["seq"].as_i64() > Some(newest), "{engine}");
        // The fault page then: a's first version and its one event; before
        // it was logged, not found.
        let (st, d) = get(format!("/api/v1/faults/{}?as_of={t1}", a.id)).await;
        assert_eq!(st, StatusCode::OK, "{engine}: {d}");
        assert_eq!(d["fault"]["version"], 1, "{engine}");
        assert_eq!(d["events"].as_array().map(Vec::len), Some(1), "{engine}");
        assert!(d["estimate"].is_null(), "{engine}: no model in the past");
        let (st, _) = get(format!("/api/v1/faults/{}?as_of={t0}", a.id)).await;
        assert_eq!(st, StatusCode::NOT_FOUND, "{engine}");
        // The notice then: empty before the first write, TDM3 at t2, and
        // at t3 the same text as now.
        let text = |q: String| {
            let (app, tok) = (app.clone(), tok.clone());
            async move {
                let (st, _, body) = get_bytes(&app, &tok, &q).await;
                (st, String::from_utf8_lossy(&body).into_owned())
            }
        };
        let (st, empty) = text(format!("/api/v1/notices/export?as_of={t0}")).await;
        assert_eq!(st, StatusCode::OK, "{engine}: {empty}");
        assert!(!empty.contains("TDM3"), "{engine}: {empty}");
        let (_, then) = text(format!("/api/v1/notices/export?as_of={t2}")).await;
        assert!(then.contains("TDM3"), "{engine}: {then}");
        let (_, last) = text(format!(
            "/api/v1/notices/export?as_of={t3}&dated=2026-02-20"
        ))
        .await;
        let (_, now) = text("/api/v1/notices/export?dated=2026-02-20".into()).await;
        assert_eq!(last, now, "{engine}");
        let (st, e) = get("/api/v1/notices/export?dated=20-02-2026".into()).await;
        assert_eq!(
            (st, e["field"].as_str()),
            (StatusCode::BAD_REQUEST, Some("dated")),
            "{engine}"
        );
        // The islands then, and the sweeps; a bad moment is a 400 there too.
        let (st, r) = get(format!("/api/v1/resilience?as_of={t0}")).await;
        assert_eq!(st, StatusCode::OK, "{engine}: {r}");
        assert!(
            r["islands"].as_array().is_some_and(|v| !v.is_empty()),
            "{engine}"
        );
        let (st, _) = get(format!("/api/v1/resilience/contingencies?k=1&as_of={t2}")).await;
        assert_eq!(st, StatusCode::OK, "{engine}");
        let (st, e) = get("/api/v1/resilience?as_of=soon".into()).await;
        assert_eq!(
            (st, e["field"].as_str()),
            (StatusCode::BAD_REQUEST, Some("as_of")),
            "{engine}"
        );
        // A Taipei local time is read as Taipei.
        let (st, _) = get("/api/v1/faults?as_of=2026-02-14T09:00".into()).await;
        assert_eq!(st, StatusCode::OK, "{engine}");
        for bad in ["yesterday", "2026-13-01T09:00"] {
            let (st, e) = get(format!("/api/v1/faults?as_of={bad}")).await;
            assert_eq!(st, StatusCode::BAD_REQUEST, "{engine}: {bad}");
            assert_eq!(e["field"], "as_of", "{engine}: {e}");
            let (st, _) = get(format!("/api/v1/watch?as_of={bad}")).await;
            assert_eq!(st, StatusCode::BAD_REQUEST, "{engine}: {bad}");
        }
        assert_eq!(
            reg.event_count().await.expect("count"),
            written,
            "{engine}: reading the past writes nothing"
        );
    }
}

/// Issue 14 (charts): the three charts answer SVG drawn on the server, in
/// zh-TW or English, for readers only; bad parameters are a 400 naming the
/// field, an unknown chart or fault a 404, and drawing writes nothing.
#[tokio::test]
async fn charts_are_svg_for_readers_and_refuse_bad_parameters() {
    for (engine, reg, url) in registries("charts").await {
        let app = app(&reg, &url).await;
        let tok = officer_token(&reg).await;
        let f = reg.create_fault("officer-a", &form()).await.expect("fault");
        let mut edit = form();
        edit.eta = "2026-06-30".into();
        reg.update_fault("officer-a", f.id, 1, &edit)
            .await
            .expect("edit");
        let events = reg.event_count().await.expect("count");
        let svg = |uri: String| {
            let (app, tok) = (app.clone(), tok.clone());
            async move {
                let (st, ct, body) = get_bytes(&app, &tok, &uri).await;
                (st, ct, String::from_utf8_lossy(&body).into_owned())
            }
        };
        let (st, ct, body) =
            svg("/api/v1/charts/outages.svg?from=2026-01-01&to=2026-03-31".into()).await;
        assert_eq!(st, StatusCode::OK, "{engine}: {body}");
        assert!(ct.starts_with("image/svg+xml"), "{engine}: {ct}");
        assert!(
            body.starts_with("<svg") && body.contains("TDM3"),
            "{engine}: the cable's row"
        );
        assert!(
            body.contains("海纜障礙時間軸"),
            "{engine}: zh-TW by default"
        );
        let (_, _, body) = svg(format!(
            "/api/v1/charts/eta-drift.svg?fault={}&lang=en",
            f.id
        ))
        .await;
        assert!(
            body.contains("TDM3") && body.contains("estimated repair date"),
            "{engine}"
        );
        // Two revisions (2026-04, then 2026-06-30): two points on the step line.
        assert_eq!(body.matches("<circle").count(), 2, "{engine}: {body}");
        let (st, ct, body) = svg("/api/v1/charts/capacity.png".into()).await;
        assert_eq!((st, ct.as_str()), (StatusCode::OK, "image/png"), "{engine}");
        assert!(body.len() > 1000, "{engine}: a PNG");
        let (st, _, body) = svg("/api/v1/charts/capacity.svg?lang=en".into()).await;
        assert_eq!(st, StatusCode::OK, "{engine}: {body}");
        assert!(
            body.contains("Matsu") && !body.contains("Taiwan (main island)"),
            "{engine}"
        );
        for (uri, want, field) in [
            (
                "/api/v1/charts/outages.svg?from=2026-13-01".to_string(),
                StatusCode::BAD_REQUEST,
                "from",
            ),
            (
                "/api/v1/charts/outages.svg?from=2026-03-01&to=2026-02-01".into(),
                StatusCode::BAD_REQUEST,
                "from",
            ),
            (
                "/api/v1/charts/eta-drift.svg".into(),
                StatusCode::BAD_REQUEST,
                "fault",
            ),
            (
                "/api/v1/charts/eta-drift.svg?fault=999999".into(),
                StatusCode::NOT_FOUND,
                "",
            ),
            ("/api/v1/charts/pie.svg".into(), StatusCode::NOT_FOUND, ""),
            (
                "/api/v1/charts/outages.gif".into(),
                StatusCode::NOT_FOUND,
                "",
            ),
        ] {
            let (st, e) = call(&app, Some(&tok), "GET", &uri, None).await;
            assert_eq!(st, want, "{engine}: {uri}: {e}");
            if !field.is_empty() {
                assert_eq!(e["field"], field, "{engine}: {uri}");
            }
        }
        let (st, _) = call(&app, None, "GET", "/api/v1/charts/capacity.svg", None).await;
        assert_eq!(st, StatusCode::UNAUTHORIZED, "{engine}");
        assert_eq!(
            reg.event_count().await.expect("count"),
            events,
            "{engine}: a chart writes nothing"
        );
    }
}

/// Issue 14 (export): the one-page briefing as PDF (text extractable, every
/// font embedded), PNG (at least 1,600 px wide) and SVG, bilingual, now or
/// as of a past moment; a bad moment is a 400 and nothing is written.
#[tokio::test]
async fn the_briefing_exports_as_pdf_png_and_svg() {
    for (engine, reg, url) in registries("export").await {
        let app = app(&reg, &url).await;
        let tok = officer_token(&reg).await;
        let before = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Micros, true);
        reg.create_fault("officer-a", &form()).await.expect("fault");
        let events = reg.event_count().await.expect("count");
        let get = |uri: String| {
            let (app, tok) = (app.clone(), tok.clone());
            async move { get_bytes(&app, &tok, &uri).await }
        };
        let (st, ct, pdf) = get("/api/v1/briefing.pdf".into()).await;
        assert_eq!(
            st,
            StatusCode::OK,
            "{engine}: {}",
            String::from_utf8_lossy(&pdf)
        );
        assert_eq!(ct, "application/pdf", "{engine}");
        assert!(pdf.starts_with(b"%PDF"), "{engine}");
        let file =
            std::env::temp_dir().join(format!("cw-brief-{}-{engine}.pdf", std::process::id()));
        std::fs::write(&file, &pdf).expect("write");
        let text = std::process::Command::new("pdftotext")
            .arg(&file)
            .arg("-")
            .output()
            .expect("pdftotext (poppler-utils; cargo xtask setup installs it)");
        let text = String::from_utf8_lossy(&text.stdout);
        assert!(text.contains("海纜"), "{engine}: {text}");
        assert!(text.contains("TDM3"), "{engine}: the fault's cable: {text}");
        assert!(
            text.contains("Subsea cable briefing"),
            "{engine}: English beside"
        );
        let fonts = std::process::Command::new("pdffonts")
            .arg(&file)
            .output()
            .expect("pdffonts");
        let fonts = String::from_utf8_lossy(&fonts.stdout);
        let rows: Vec<&str> = fonts
            .lines()
            .skip(2)
            .filter(|l| !l.trim().is_empty())
            .collect();
        assert!(!rows.is_empty(), "{engine}: {fonts}");
        for row in &rows {
            // Columns: name, type, encoding, emb, sub, uni, object ID.
            let cols: Vec<&str> = row.split_whitespace().collect();
            let n = cols.len();
            assert!(
                n >= 7 && cols[n - 5] == "yes" && cols[n - 4] == "yes",
                "{engine}: not embedded and subset: {row}"
            );
        }
        let _ = std::fs::remove_file(&file);
        let (st, ct, png) = get("/api/v1/briefing.png?lang=en".into()).await;
        assert_eq!((st, ct.as_str()), (StatusCode::OK, "image/png"), "{engine}");
        assert_eq!(&png[1..4], b"PNG", "{engine}");
        let width = u32::from_be_bytes([png[16], png[17], png[18], png[19]]);
        assert!(width >= 1600, "{engine}: {width} px");
        let (st, _, svg) = get(format!("/api/v1/briefing.svg?as_of={before}")).await;
        assert_eq!(st, StatusCode::OK, "{engine}");
        let svg = String::from_utf8_lossy(&svg);
        assert!(
            svg.contains("歷史檢視") && svg.contains("historical view"),
            "{engine}: the banner"
        );
        assert!(!svg.contains("TDM3"), "{engine}: the fault came after");
        let (st, _, _) = get("/api/v1/briefing.pdf?as_of=yesterday".into()).await;
        assert_eq!(st, StatusCode::BAD_REQUEST, "{engine}");
        let long = format!("/api/v1/briefing.png?as_of={}", "2".repeat(20_000));
        let (st, _, _) = get(long).await;
        assert_eq!(
            st,
            StatusCode::BAD_REQUEST,
            "{engine}: a 20,000-character moment"
        );
        assert_eq!(
            reg.event_count().await.expect("count"),
            events,
            "{engine}: exports write nothing"
        );
    }
}

/// A GET with a bearer token: (status, content type, body bytes).
async fn get_bytes(app: &axum::Router, tok: &str, uri: &str) -> (StatusCode, String, Vec<u8>) {
    let req = Request::builder()
        .uri(uri)
        .header("authorization", format!("Bearer {tok}"))
        .body(Body::empty())
        .expect("request");
    let resp = app.clone().oneshot(req).await.expect("response");
    let status = resp.status();
    let ct = resp
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    let body = resp.into_body().collect().await.expect("body").to_bytes();
    (status, ct, body.to_vec())
}

/// The fault list is cached under the newest fault event; two servers on
/// one database (a second registry here) each see the other's writes at
/// once, and a read after a write on the same server sees it too.
#[tokio::test]
async fn the_cached_fault_list_follows_writes_from_any_server() {
    for (engine, a, url) in registries("fault_cache").await {
        let b = server::open(&url).await.expect("a second server");
        assert!(a.faults(true).await.expect("list").is_empty(), "{engine}");
        assert!(b.faults(true).await.expect("list").is_empty(), "{engine}");
        let f = a.create_fault("user:a", &form()).await.expect("create");
        // Written on A: B, with its own (empty) list cached, sees it.
        let seen = b.faults(true).await.expect("list");
        assert_eq!(seen.len(), 1, "{engine}");
        assert_eq!(seen[0].version, f.version, "{engine}");
        let edited = b
            .update_fault(
                "user:b",
                f.id,
                f.version,
                &FaultForm {
                    status: "restored".into(),
                    restored_on: "2026-03-01".into(),
                    ..form()
                },
            )
            .await
            .expect("update");
        // Edited on B: A's cached list is stale and read again.
        let on_a = a.faults(true).await.expect("list");
        assert_eq!(on_a[0].version, edited.version, "{engine}");
        assert!(
            a.faults(false).await.expect("open").is_empty(),
            "{engine}: restored is not open"
        );
        // And a notice imported on A reaches B's list.
        a.import_notice("user:a", NOTICE).await.expect("import");
        assert_eq!(
            b.faults(true).await.expect("list"),
            a.faults(true).await.expect("list"),
            "{engine}"
        );
    }
}
