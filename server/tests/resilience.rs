//! Island resilience against real databases: the figures after the
//! February 2026 notice and the demo data, what-ifs that write nothing, the
//! contingency sweep, island alerts raised in the write's transaction, and
//! officers' figure edits with their history and conflicts.

mod common;

use axum::http::StatusCode;
use common::{app, call, officer_token, registries, user_token, NOTICE};
use serde_json::{json, Value};
use shared::assets::AssetForm;
use shared::auth::Role;
use shared::fault::FaultForm;

fn island<'a>(report: &'a Value, region: &str) -> &'a Value {
    report["islands"]
        .as_array()
        .and_then(|a| a.iter().find(|i| i["region"] == region))
        .unwrap_or_else(|| panic!("{region} in {report}"))
}

fn num(v: &Value) -> f64 {
    v.as_f64().unwrap_or(f64::NAN)
}

/// The id of the reference record named `name` among the report's links.
fn link_id(report: &Value, label: &str) -> String {
    report["links"]
        .as_array()
        .and_then(|a| a.iter().find(|l| l["label"] == label))
        .and_then(|l| l["id"].as_str())
        .unwrap_or_else(|| panic!("{label} among the links"))
        .to_string()
}

fn cut_tdm3() -> FaultForm {
    FaultForm {
        cable: "TDM3".into(),
        detected_on: "2026-02-20".into(),
        kind: "cut".into(),
        place: "桃園草漯".into(),
        km: "40".into(),
        alternate_routes: "微波".into(),
        eta: "2026-04".into(),
        status: "open".into(),
        restored_on: String::new(),
        notes: String::new(),
        capacity_lost_pct: String::new(),
    }
}

#[tokio::test]
async fn the_api_says_who_is_short_and_a_what_if_writes_nothing() {
    for (engine, reg, url) in registries("res_api").await {
        let app = app(&reg, &url).await;
        reg.seed_demo_assets().await.expect("demo assets");
        reg.import_notice("test", NOTICE).await.expect("notice");
        let briefing = user_token(&reg, "briefing", Role::Briefing).await;
        let (st, r) = call(&app, Some(&briefing), "GET", "/api/v1/resilience", None).await;
        assert_eq!(st, StatusCode::OK, "{engine}: {r}");
        let regions: Vec<&str> = r["islands"]
            .as_array()
            .map(|a| a.iter().filter_map(|i| i["region"].as_str()).collect())
            .unwrap_or_default();
        assert_eq!(
            regions,
            [
                "taiwan",
                "matsu",
                "kinmen",
                "penghu",
                "xiaoliuqiu",
                "green_island",
                "lanyu",
                "taiping"
            ]
        );
        // TDM2 is cut, TDM3 in service: Matsu is degraded, on one cable.
        let matsu = island(&r, "matsu");
        assert_eq!(matsu["status"], "degraded", "{engine}: {matsu}");
        assert!((num(&matsu["cable_gbps"]) - 655.0).abs() < 1e-6, "{matsu}");
        assert!((num(&matsu["demand_gbps"]) - 9.5).abs() < 1e-9);
        assert!(
            r["ignored_synthetic"].as_u64().unwrap_or(0) > 800,
            "{}",
            r["ignored_synthetic"]
        );
        assert_eq!(island(&r, "lanyu")["status"], "no_figures");

        // What if TDM3 were cut too: on microwave and the nine dishes.
        let events = reg.event_count().await.expect("count");
        let (st, w) = call(
            &app,
            Some(&briefing),
            "POST",
            "/api/v1/resilience/what-if",
            Some(json!({ "cut": ["臺馬三號海纜"] })),
        )
        .await;
        assert_eq!(st, StatusCode::OK, "{engine}: {w}");
        let m = island(&w, "matsu");
        assert_eq!(m["status"], "on_backup", "{engine}: {m}");
        assert_eq!(num(&m["cable_gbps"]), 0.0);
        assert!(
            (num(&m["capacity_gbps"]) - (12.6 + 8.0 * 0.2 + 0.025)).abs() < 1e-6,
            "{m}"
        );
        assert_eq!(
            w["cut"],
            json!(["TDM3"]),
            "the name resolves to the abbreviation"
        );
        // And the microwave link with it: short.
        let mw = link_id(&w, "Matsu–Taiwan microwave");
        let (st, w2) = call(
            &app,
            Some(&briefing),
            "POST",
            "/api/v1/resilience/what-if",
            Some(json!({ "cut": ["TDM3", mw] })),
        )
        .await;
        assert_eq!(st, StatusCode::OK, "{w2}");
        assert_eq!(island(&w2, "matsu")["status"], "short");
        // Unknown names are refused, every one named.
        let (st, bad) = call(
            &app,
            Some(&briefing),
            "POST",
            "/api/v1/resilience/what-if",
            Some(json!({ "cut": ["TDM9", "asset:999999"] })),
        )
        .await;
        assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{bad}");
        let msg = bad["message"].as_str().unwrap_or_default();
        assert!(
            msg.contains("TDM9") && msg.contains("asset:999999"),
            "{msg}"
        );
        assert_eq!(bad["field"], "cut");
        // Nothing was written by any of it.
        assert_eq!(reg.event_count().await.expect("count"), events, "{engine}");

        // N-1: losing TDM3 puts Matsu on backup; N-2 ranks worst first.
        let (st, n1) = call(
            &app,
            Some(&briefing),
            "GET",
            "/api/v1/resilience/contingencies?k=1",
            None,
        )
        .await;
        assert_eq!(st, StatusCode::OK, "{n1}");
        let tdm3 = n1
            .as_array()
            .and_then(|a| a.iter().find(|c| c["cut"] == json!(["TDM3"])))
            .unwrap_or_else(|| panic!("TDM3 in {n1}"));
        assert!(tdm3["islands"].as_array().is_some_and(|a| a
            .iter()
            .any(|i| i["region"] == "matsu" && i["status"] == "on_backup")));
        let (st, n2) = call(
            &app,
            Some(&briefing),
            "GET",
            "/api/v1/resilience/contingencies?k=2",
            None,
        )
        .await;
        assert_eq!(st, StatusCode::OK);
        let first = &n2[0];
        assert!(
            first["islands"].as_array().is_some_and(|a| a
                .iter()
                .any(|i| i["status"] == "isolated" || i["status"] == "short")),
            "the worst pair leaves an island short or isolated: {first}"
        );
        for k in ["3", "x"] {
            let (st, _) = call(
                &app,
                Some(&briefing),
                "GET",
                &format!("/api/v1/resilience/contingencies?k={k}"),
                None,
            )
            .await;
            assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "k={k}");
        }
        assert_eq!(reg.event_count().await.expect("count"), events, "{engine}");
        // The watch board's islands come from the engine.
        let board = reg.board().await.expect("board");
        let m = board
            .islands
            .iter()
            .find(|i| i.region == "matsu")
            .expect("matsu on the board");
        assert_eq!(m.status, shared::resilience::Status::Degraded);
        assert!(m.down.contains(&"TDM2".to_string()));
        assert!(
            !board.islands.iter().any(|i| i.region == "taiping"),
            "Taiping Island is on satellite by design"
        );
    }
}

#[tokio::test]
async fn island_alerts_are_raised_in_the_write_and_figures_keep_their_history() {
    let _ = tracing_subscriber::fmt().with_test_writer().try_init();
    for (engine, reg, url) in registries("res_alerts").await {
        let app = app(&reg, &url).await;
        let officer = officer_token(&reg).await;
        let watch = user_token(&reg, "watch", Role::Watch).await;
        reg.seed_assets(
            "system:reference",
            &shared::inventory::reference_assets(),
            shared::assets::SOURCE_REFERENCE,
        )
        .await
        .expect("reference assets");
        reg.import_notice("test", NOTICE).await.expect("notice");
        let island_alerts = || async {
            reg.alerts(false, 100)
                .await
                .expect("alerts")
                .into_iter()
                .filter(|a| a.region.is_some())
                .collect::<Vec<_>>()
        };
        assert!(
            island_alerts().await.is_empty(),
            "{engine}: degraded raises nothing"
        );
        // TDM3 cut too: Matsu goes on backup, alerted in the same write.
        let (st, f) = call(
            &app,
            Some(&officer),
            "POST",
            "/api/v1/faults",
            Some(serde_json::to_value(cut_tdm3()).expect("json")),
        )
        .await;
        assert_eq!(st, StatusCode::CREATED, "{f}");
        let alerts = island_alerts().await;
        assert_eq!(alerts.len(), 1, "{engine}: {alerts:?}");
        let a = &alerts[0];
        assert_eq!(a.kind, shared::watch::AlertKind::IslandOnBackup);
        assert_eq!(a.region.as_deref(), Some("matsu"));
        assert_eq!(a.fault_id, None);
        let fault_event = reg
            .events_after(0, 1000)
            .await
            .expect("log")
            .into_iter()
            .rfind(|e| e.kind == "fault.reported")
            .expect("the fault's event");
        assert_eq!(a.seq, fault_event.seq, "raised in the fault's transaction");
        assert!(a.summary.contains("Matsu"), "{}", a.summary);
        // The microwave link goes offline: short.
        let snap = reg.asset_snapshot().await.expect("assets");
        let mw = snap
            .assets
            .iter()
            .find(|x| x.draft.name == "Matsu–Taiwan microwave")
            .expect("the microwave link");
        let mut form = AssetForm::from_draft(&mw.draft);
        form.status = "offline".into();
        reg.update_asset("user:officer", mw.id, mw.version, &form)
            .await
            .expect("offline");
        let alerts = island_alerts().await;
        assert_eq!(
            alerts[0].kind,
            shared::watch::AlertKind::IslandShort,
            "{engine}: {alerts:?}"
        );
        // The watch acknowledges it like any alert.
        let (st, acked) = call(
            &app,
            Some(&watch),
            "POST",
            &format!("/api/v1/alerts/{}/ack", alerts[0].id),
            None,
        )
        .await;
        assert_eq!(st, StatusCode::OK, "{acked}");
        // TDM3 restored: back on a cable.
        let id = f["id"].as_i64().expect("id");
        let mut restored = cut_tdm3();
        restored.status = "restored".into();
        restored.restored_on = "2026-03-01".into();
        reg.update_fault("user:officer", id, 1, &restored)
            .await
            .expect("restored");
        let alerts = island_alerts().await;
        assert_eq!(
            alerts[0].kind,
            shared::watch::AlertKind::IslandRecovered,
            "{engine}: {alerts:?}"
        );
        assert_eq!(alerts.len(), 3);
        // A partial fault the officer judges to take all of TDM3's capacity:
        // on backup again. A share that is no percentage is refused.
        let mut partial = cut_tdm3();
        partial.kind = "partial_damage".into();
        partial.km = "55".into();
        partial.capacity_lost_pct = "150".into();
        let (st, bad) = call(
            &app,
            Some(&officer),
            "POST",
            "/api/v1/faults",
            Some(serde_json::to_value(&partial).expect("json")),
        )
        .await;
        assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{bad}");
        assert_eq!(bad["field"], "capacity_lost_pct");
        partial.capacity_lost_pct = "100".into();
        let (st, p) = call(
            &app,
            Some(&officer),
            "POST",
            "/api/v1/faults",
            Some(serde_json::to_value(&partial).expect("json")),
        )
        .await;
        assert_eq!(st, StatusCode::CREATED, "{p}");
        assert_eq!(p["capacity_lost_pct"], 100.0);
        let alerts = island_alerts().await;
        assert_eq!(
            alerts[0].kind,
            shared::watch::AlertKind::IslandShort,
            "{engine}: microwave still offline: {alerts:?}"
        );
        let (_, r) = call(&app, Some(&watch), "GET", "/api/v1/resilience", None).await;
        assert_eq!(num(&island(&r, "matsu")["cable_gbps"]), 0.0);

        // Figures: an officer changes Matsu's demand; the watch may not.
        let body = json!({ "value": 12000, "basis": "public", "source": "county report 2026", "version": 0 });
        let (st, _) = call(
            &app,
            Some(&watch),
            "PATCH",
            "/api/v1/resilience/figures/demand:matsu",
            Some(body.clone()),
        )
        .await;
        assert_eq!(st, StatusCode::FORBIDDEN);
        let (st, fig) = call(
            &app,
            Some(&officer),
            "PATCH",
            "/api/v1/resilience/figures/demand:matsu",
            Some(body.clone()),
        )
        .await;
        assert_eq!(st, StatusCode::OK, "{engine}: {fig}");
        assert_eq!(fig["version"], 1);
        assert_eq!(fig["set_by"], "user:officer");
        // The same edit on the old version: a conflict naming who changed it.
        let (st, c) = call(
            &app,
            Some(&officer),
            "PATCH",
            "/api/v1/resilience/figures/demand:matsu",
            Some(body),
        )
        .await;
        assert_eq!(st, StatusCode::CONFLICT, "{c}");
        assert!(c["message"]
            .as_str()
            .is_some_and(|m| m.contains("user:officer")));
        let (st, bad) = call(
            &app,
            Some(&officer),
            "PATCH",
            "/api/v1/resilience/figures/lost:partial_damage",
            Some(json!({ "value": "150", "basis": "guess", "source": "", "version": 0 })),
        )
        .await;
        assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY);
        let fields: Vec<&str> = bad["fields"]
            .as_array()
            .map(|a| a.iter().filter_map(|f| f["field"].as_str()).collect())
            .unwrap_or_default();
        assert_eq!(fields, ["value", "basis", "source"]);
        let (st, _) = call(
            &app,
            Some(&officer),
            "PATCH",
            "/api/v1/resilience/figures/demand:atlantis",
            Some(json!({ "value": 1, "basis": "estimate", "source": "x", "version": 0 })),
        )
        .await;
        assert_eq!(st, StatusCode::NOT_FOUND);
        let (_, r) = call(&app, Some(&watch), "GET", "/api/v1/resilience", None).await;
        assert!((num(&island(&r, "matsu")["demand_gbps"]) - 12.0).abs() < 1e-9);
        assert_eq!(island(&r, "matsu")["demand_basis"], "public");
        let ev = reg
            .events_after(0, 1000)
            .await
            .expect("log")
            .into_iter()
            .find(|e| e.kind == "figure.updated")
            .expect("the edit is in the log");
        assert_eq!(ev.entity_id, "demand:matsu");
        assert_eq!(ev.actor, "user:officer");
        let (_, figs) = call(
            &app,
            Some(&watch),
            "GET",
            "/api/v1/resilience/figures",
            None,
        )
        .await;
        let tdm2 = figs
            .as_array()
            .and_then(|a| a.iter().find(|f| f["key"] == "cable:TDM2"))
            .expect("TDM2's capacity");
        assert_eq!(tdm2["basis"], "estimate");
        assert!(tdm2["source"].as_str().is_some_and(|s| s.contains("1,310")));
    }
}
