//! Repair operations against real databases (issue 13): a fault's estimated
//! repair dates as a history, from edits and notices, and its slip.

mod common;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use common::{app, call, officer_token, registries, user_token, NOTICE};
use http_body_util::BodyExt;
use serde_json::json;
use shared::auth::Role;
use tower::ServiceExt;

#[tokio::test]
async fn a_fault_shows_each_estimated_repair_date_and_the_slip() {
    for (engine, reg, url) in registries("eta_history").await {
        let app = app(&reg, &url).await;
        let officer = officer_token(&reg).await;
        let briefing = user_token(&reg, "briefing", Role::Briefing).await;
        reg.import_notice("test", NOTICE).await.expect("notice");
        // TDM2's first fault: ETA 115/2/27 in the notice.
        let faults = reg.faults(false).await.expect("faults");
        let tdm2 = faults.iter().find(|f| f.cable == "TDM2").expect("TDM2");
        let path = format!("/api/v1/faults/{}", tdm2.id);
        let (st, d) = call(&app, Some(&briefing), "GET", &path, None).await;
        assert_eq!(st, StatusCode::OK, "{engine}: {d}");
        assert_eq!(
            d["eta_history"].as_array().map(Vec::len),
            Some(1),
            "{engine}: {d}"
        );
        assert_eq!(d["eta_history"][0]["eta"]["date"], "2026-02-27");
        assert_eq!(d["slip_days"], 0);
        // The officer moves it to April (month precision), then edits only
        // the notes (no new revision), then to 2026-05-03.
        let mut form = shared::fault::FaultForm::from_fault(tdm2);
        let mut version = tdm2.version;
        for (eta, notes) in [
            ("2026-04", ""),
            ("2026-04", "ship booked"),
            ("2026-05-03", "ship booked"),
        ] {
            form.eta = eta.into();
            form.notes = notes.into();
            let mut body = serde_json::to_value(&form).expect("json");
            body["version"] = json!(version);
            let (st, f) = call(&app, Some(&officer), "PATCH", &path, Some(body)).await;
            assert_eq!(st, StatusCode::OK, "{engine}: {f}");
            version = f["version"].as_i64().expect("version");
        }
        let (_, d) = call(&app, Some(&briefing), "GET", &path, None).await;
        let h = d["eta_history"].as_array().cloned().unwrap_or_default();
        let dates: Vec<&str> = h.iter().filter_map(|r| r["eta"]["date"].as_str()).collect();
        assert_eq!(
            dates,
            ["2026-02-27", "2026-04-01", "2026-05-03"],
            "{engine}: {d}"
        );
        assert_eq!(h[1]["eta"]["precision"], "month");
        assert_eq!(h[2]["source"], "user:officer");
        assert_eq!(d["slip_days"], 65, "{engine}: 2026-02-27 → 2026-05-03");
        // The model beside it: seven public cases, no ship booked.
        let e = &d["estimate"];
        assert_eq!(e["cases"], 7, "{engine}: {e}");
        let (p10, p50, p90) = (
            e["p10_days"].as_f64().unwrap_or(0.0),
            e["p50_days"].as_f64().unwrap_or(0.0),
            e["p90_days"].as_f64().unwrap_or(0.0),
        );
        assert!(0.0 < p10 && p10 < p50 && p50 < p90, "{engine}: {e}");
        assert!(e["reasons"]
            .as_array()
            .is_some_and(|r| r.iter().any(|x| x == "no ship booked")));
        // The fault page shows the timeline without JavaScript.
        let resp = app
            .clone()
            .oneshot(
                Request::get(format!("/faults/{}", tdm2.id))
                    .header("authorization", format!("Bearer {briefing}"))
                    .body(Body::empty())
                    .expect("request"),
            )
            .await
            .expect("response");
        assert_eq!(resp.status(), StatusCode::OK);
        let html =
            String::from_utf8_lossy(&resp.into_body().collect().await.expect("body").to_bytes())
                .into_owned();
        assert!(
            html.contains("id=\"eta-history\""),
            "{engine}: the timeline"
        );
        assert_eq!(
            html.matches("data-eta=").count(),
            3,
            "{engine}: three dates"
        );
        assert!(html.contains("data-slip=\"65\""), "{engine}: the slip");
        assert!(
            html.contains("id=\"repair-estimate\""),
            "{engine}: the model's estimate"
        );
        // Importing the notice again sets the notice's date back: the
        // history keeps every step, the importer named.
        reg.import_notice("system:notice", NOTICE)
            .await
            .expect("again");
        let (_, again) = call(&app, Some(&briefing), "GET", &path, None).await;
        let h = again["eta_history"].as_array().cloned().unwrap_or_default();
        assert_eq!(h.len(), 4, "{engine}: {again}");
        assert_eq!(h[3]["source"], "system:notice");
        assert_eq!(h[3]["eta"]["date"], "2026-02-27");
        assert_eq!(again["slip_days"], 0, "{engine}");
    }
}

#[tokio::test]
async fn officers_book_ships_and_the_board_queues_them() {
    for (engine, reg, url) in registries("repair_board").await {
        let app = app(&reg, &url).await;
        let officer = officer_token(&reg).await;
        let briefing = user_token(&reg, "briefing", Role::Briefing).await;
        reg.seed_assets(
            "system:reference",
            &shared::inventory::reference_assets(),
            shared::assets::SOURCE_REFERENCE,
        )
        .await
        .expect("reference assets");
        reg.import_notice("test", NOTICE).await.expect("notice");
        let snap = reg.asset_snapshot().await.expect("assets");
        let ship = snap
            .assets
            .iter()
            .find(|a| a.draft.name == "Cable Retriever")
            .expect("Cable Retriever")
            .id;
        let tdm2: Vec<i64> = reg
            .faults(false)
            .await
            .expect("faults")
            .iter()
            .filter(|f| f.cable == "TDM2")
            .map(|f| f.id)
            .collect();
        assert!(tdm2.len() >= 2, "{engine}: TDM2 has several faults");
        let today = shared::history::taipei_day(&chrono::Utc::now());
        let day = |ago: u64| (today - chrono::Days::new(ago)).to_string();
        let book = |on: String, version: i64| json!({ "stage": "ship_booked", "stage_on": on, "ship_id": ship.to_string(), "version": version });
        // Briefing may not; a stage with no ship, or an unknown one, is refused.
        let path = |id: i64| format!("/api/v1/faults/{id}/repair");
        let (st, _) = call(
            &app,
            Some(&briefing),
            "PATCH",
            &path(tdm2[0]),
            Some(book(day(10), 0)),
        )
        .await;
        assert_eq!(st, StatusCode::FORBIDDEN);
        let (st, bad) = call(&app, Some(&officer), "PATCH", &path(tdm2[0]),
            Some(json!({ "stage": "ship_booked", "stage_on": day(10), "ship_id": "999999", "version": 0 }))).await;
        assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{bad}");
        assert_eq!(bad["field"], "ship_id");
        // Book the second fault first, then the first: queue in booking order.
        let (st, r) = call(
            &app,
            Some(&officer),
            "PATCH",
            &path(tdm2[1]),
            Some(book(day(12), 0)),
        )
        .await;
        assert_eq!(st, StatusCode::OK, "{engine}: {r}");
        let (st, _) = call(
            &app,
            Some(&officer),
            "PATCH",
            &path(tdm2[0]),
            Some(book(day(10), 0)),
        )
        .await;
        assert_eq!(st, StatusCode::OK);
        // The same change on the old version: a conflict.
        let (st, _) = call(
            &app,
            Some(&officer),
            "PATCH",
            &path(tdm2[0]),
            Some(book(day(9), 0)),
        )
        .await;
        assert_eq!(st, StatusCode::CONFLICT);
        let (st, b) = call(&app, Some(&briefing), "GET", "/api/v1/repairs", None).await;
        assert_eq!(st, StatusCode::OK, "{engine}: {b}");
        let s = b["ships"]
            .as_array()
            .and_then(|a| a.iter().find(|s| s["id"] == ship))
            .expect("the ship on the board");
        assert_eq!(s["queue"], json!([tdm2[1], tdm2[0]]), "{engine}");
        // Its next start: today, plus a day to mobilise and the passage from
        // Subic Bay to the Matsu strait (about 1,100 km at 12 knots: 2 days).
        let next = s["next_start"].as_str().expect("a next start");
        let expected = (today + chrono::Days::new(4)).to_string();
        assert!(
            next > today.to_string().as_str() && next <= expected.as_str(),
            "{engine}: {next}"
        );
        assert_eq!(s["state"], "standby");
        let row = |id: i64| {
            b["faults"]
                .as_array()
                .and_then(|a| a.iter().find(|f| f["id"] == id))
                .cloned()
                .expect("fault row")
        };
        let (first, second) = (row(tdm2[1]), row(tdm2[0]));
        assert_eq!(first["stage"], "ship_booked");
        assert_eq!(second["days_in_stage"], 10);
        let p50 = |r: &serde_json::Value| r["p50_days"].as_f64().unwrap_or(0.0);
        assert!(
            p50(&second) > p50(&first),
            "{engine}: the second waits for the first: {first} {second}"
        );
        assert!(second["reasons"].as_array().is_some_and(|r| r
            .iter()
            .any(|x| x.as_str().is_some_and(|x| x.contains("ahead")))));
        // Importing the notice again keeps the stages.
        reg.import_notice("system:notice", NOTICE)
            .await
            .expect("again");
        let (_, b2) = call(&app, Some(&briefing), "GET", "/api/v1/repairs", None).await;
        assert_eq!(
            b2["ships"], b["ships"],
            "{engine}: a notice import never erases a booking"
        );
        // The ship shelters: its state is an event, conflict-checked.
        let (st, s) = call(
            &app,
            Some(&officer),
            "PATCH",
            &format!("/api/v1/ships/{ship}"),
            Some(json!({ "state": "sheltering", "version": 0 })),
        )
        .await;
        assert_eq!(st, StatusCode::OK, "{s}");
        let (st, _) = call(
            &app,
            Some(&officer),
            "PATCH",
            &format!("/api/v1/ships/{ship}"),
            Some(json!({ "state": "on_site", "version": 0 })),
        )
        .await;
        assert_eq!(st, StatusCode::CONFLICT);
        let (st, _) = call(
            &app,
            Some(&officer),
            "PATCH",
            &format!("/api/v1/ships/{ship}"),
            Some(json!({ "state": "sailing", "version": 1 })),
        )
        .await;
        assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY);
        let events = reg.events_after(0, 10_000).await.expect("log");
        assert!(events
            .iter()
            .any(|e| e.kind == "repair.updated" && e.entity_id == tdm2[0].to_string()));
        assert!(events
            .iter()
            .any(|e| e.kind == "ship.updated" && e.entity_id == ship.to_string()));
    }
}

/// A repair with no stage change for 14 days raises one alert, however
/// often the check runs (and from however many servers at once); a stage
/// change starts the count again.
#[tokio::test]
async fn a_repair_without_a_stage_change_for_14_days_raises_one_alert() {
    for (engine, reg, url) in registries("repair_stalled").await {
        let app = app(&reg, &url).await;
        let officer = officer_token(&reg).await;
        let watch = user_token(&reg, "watch", Role::Watch).await;
        reg.import_notice("test", NOTICE).await.expect("notice");
        // The notice's faults were detected in 2025-2026 and no repair stage
        // was ever recorded: every one with a detection day has stalled.
        let open: Vec<shared::fault::Fault> = reg.faults(false).await.expect("faults");
        let dated = open.iter().filter(|f| f.detected_on.is_some()).count();
        assert!(dated >= 10, "{engine}: {dated}");
        let stalled_alerts = |alerts: &serde_json::Value| {
            alerts
                .as_array()
                .map(|a| {
                    a.iter()
                        .filter(|x| x["kind"] == "repair_stalled")
                        .cloned()
                        .collect::<Vec<_>>()
                })
                .unwrap_or_default()
        };
        // Two servers checking at once raise each alert once.
        let (a, b) = tokio::join!(reg.check_stalled_repairs(), reg.check_stalled_repairs());
        assert_eq!(
            a.expect("check") + b.expect("check"),
            dated,
            "{engine}: one alert per stalled repair"
        );
        assert_eq!(
            reg.check_stalled_repairs().await.expect("again"),
            0,
            "{engine}"
        );
        let (st, alerts) = call(&app, Some(&watch), "GET", "/api/v1/alerts?status=all", None).await;
        assert_eq!(st, StatusCode::OK, "{engine}: {alerts}");
        let stalled = stalled_alerts(&alerts);
        assert_eq!(stalled.len(), dated, "{engine}: {alerts}");
        let first = open[0].id;
        assert!(
            stalled.iter().any(|a| a["fault_id"] == first
                && a["summary"]
                    .as_str()
                    .is_some_and(|s| s.contains("no stage change"))),
            "{engine}: {stalled:?}"
        );
        // A stage change today: not stalled any more, nothing raised.
        let today = shared::history::taipei_day(&chrono::Utc::now());
        let path = format!("/api/v1/faults/{first}/repair");
        let (st, r) = call(
            &app,
            Some(&officer),
            "PATCH",
            &path,
            Some(json!({ "stage": "ship_requested", "stage_on": today.to_string(), "version": 0 })),
        )
        .await;
        assert_eq!(st, StatusCode::OK, "{engine}: {r}");
        let (_, board) = call(&app, Some(&watch), "GET", "/api/v1/repairs", None).await;
        let row = board["faults"]
            .as_array()
            .and_then(|f| f.iter().find(|f| f["id"] == first))
            .cloned()
            .expect("on the board");
        assert_eq!(row["stalled"], false, "{engine}: {row}");
        assert_eq!(reg.check_stalled_repairs().await.expect("check"), 0);
        // Recorded as begun 20 days ago: stalled again, a new alert.
        let (st, r) = call(
            &app,
            Some(&officer),
            "PATCH",
            &path,
            Some(json!({ "stage": "ship_requested", "stage_on": (today - chrono::Days::new(20)).to_string(), "version": 1 })),
        )
        .await;
        assert_eq!(st, StatusCode::OK, "{engine}: {r}");
        assert_eq!(
            reg.check_stalled_repairs().await.expect("check"),
            1,
            "{engine}"
        );
        assert_eq!(
            reg.check_stalled_repairs().await.expect("check"),
            0,
            "{engine}"
        );
        // Every alert has its event in the log, from the system.
        let (_, alerts) = call(&app, Some(&watch), "GET", "/api/v1/alerts?status=all", None).await;
        assert_eq!(stalled_alerts(&alerts).len(), dated + 1, "{engine}");
    }
}

/// The repair board is built once per state of the log (and day) and
/// cached: a write on any server, to a repair, a ship or a fault, is in the
/// next board every server builds.
#[tokio::test]
async fn the_cached_repair_board_follows_writes_from_any_server() {
    for (engine, a, url) in registries("board_cache").await {
        let b = server::open(&url).await.expect("a second server");
        a.seed_assets(
            "system:reference",
            &shared::inventory::reference_assets(),
            shared::assets::SOURCE_REFERENCE,
        )
        .await
        .expect("reference assets");
        a.import_notice("test", NOTICE).await.expect("notice");
        // Both servers build (and cache) the board.
        let before = a.repairs_board().await.expect("board");
        assert_eq!(b.repairs_board().await.expect("board"), before, "{engine}");
        let ship = before
            .ships
            .iter()
            .find(|s| s.name == "Cable Retriever")
            .expect("Cable Retriever")
            .id;
        let fault = before.faults[0].id;
        assert_eq!(
            before.faults[0].stage,
            shared::repair::Stage::Reported,
            "{engine}"
        );
        // A ship booked on A: B's next board has it.
        let today = shared::history::taipei_day(&chrono::Utc::now());
        let form = shared::repair::RepairForm {
            stage: "ship_booked".into(),
            stage_on: today.to_string(),
            ship_id: ship.to_string(),
        };
        a.set_repair("user:a", fault, &form, 0).await.expect("book");
        let on_b = b.repairs_board().await.expect("board");
        let row = on_b
            .faults
            .iter()
            .find(|f| f.id == fault)
            .expect("the fault");
        assert_eq!(row.stage, shared::repair::Stage::ShipBooked, "{engine}");
        assert_eq!(row.ship_id, Some(ship), "{engine}");
        // The ship's state set on B: A's next board has it.
        b.set_ship_state("user:b", ship, "sheltering", 0)
            .await
            .expect("ship state");
        let on_a = a.repairs_board().await.expect("board");
        let s = on_a.ships.iter().find(|s| s.id == ship).expect("the ship");
        assert_eq!(s.state, shared::repair::ShipState::Sheltering, "{engine}");
        // A fault logged on B is on A's board.
        let f = b
            .create_fault(
                "user:b",
                &shared::fault::FaultForm {
                    cable: "TDM3".into(),
                    detected_on: today.to_string(),
                    kind: "cut".into(),
                    place: "桃園草漯".into(),
                    km: "3".into(),
                    status: "open".into(),
                    ..Default::default()
                },
            )
            .await
            .expect("fault");
        let on_a = a.repairs_board().await.expect("board");
        assert!(on_a.faults.iter().any(|r| r.id == f.id), "{engine}");
        assert_eq!(on_a, b.repairs_board().await.expect("board"), "{engine}");
    }
}
