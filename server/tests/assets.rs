//! The asset registry and its API against real databases (SQLite, and
//! PostgreSQL when `CABLEWATCH_TEST_PG` is set, as `cargo xtask test` does).

mod common;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use common::{app, call, officer_token, registries, user_token};
use http_body_util::BodyExt;
use serde_json::json;
use shared::assets::AssetForm;
use shared::auth::Role;
use tower::ServiceExt;

fn form(name: &str) -> AssetForm {
    AssetForm {
        name: name.into(),
        kind: "sat_terminal".into(),
        status: "ready".into(),
        lon: "119.95".into(),
        lat: "26.16".into(),
        region: "Matsu".into(),
        orbit: "LEO".into(),
        operator: "OneWeb".into(),
        ..Default::default()
    }
}

async fn post_text(
    app: &axum::Router,
    token: &str,
    uri: &str,
    body: &str,
) -> (StatusCode, serde_json::Value) {
    let req = Request::builder()
        .method("POST")
        .uri(uri)
        .header("authorization", format!("Bearer {token}"))
        .header("content-type", "text/plain")
        .body(Body::from(body.to_string()))
        .expect("request");
    let resp = app.clone().oneshot(req).await.expect("response");
    let status = resp.status();
    let bytes = resp.into_body().collect().await.expect("body").to_bytes();
    (
        status,
        serde_json::from_slice(&bytes).unwrap_or(serde_json::Value::Null),
    )
}

async fn get_text(app: &axum::Router, token: &str, uri: &str) -> (StatusCode, String, String) {
    let req = Request::builder()
        .uri(uri)
        .header("authorization", format!("Bearer {token}"))
        .body(Body::empty())
        .expect("request");
    let resp = app.clone().oneshot(req).await.expect("response");
    let status = resp.status();
    let ctype = resp
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    let bytes = resp.into_body().collect().await.expect("body").to_bytes();
    (status, ctype, String::from_utf8_lossy(&bytes).into_owned())
}

#[tokio::test]
async fn create_edit_conflict_and_history() {
    for (engine, reg, url) in registries("assets_crud").await {
        let app = app(&reg, &url).await;
        let tok = officer_token(&reg).await;
        let (st, created) = call(
            &app,
            Some(&tok),
            "POST",
            "/api/v1/assets",
            Some(json!(form("Nangan LEO 1"))),
        )
        .await;
        assert_eq!(st, StatusCode::CREATED, "{engine}: {created}");
        let id = created["id"].as_i64().expect("id");
        assert_eq!(created["source"], "user:officer");

        // Bad input: every field named, nothing written.
        let before = reg.event_count().await.expect("count");
        let bad = json!({"name": "", "kind": "boat", "lon": "500", "lat": "x", "region": ""});
        let (st, err) = call(&app, Some(&tok), "POST", "/api/v1/assets", Some(bad)).await;
        assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{engine}");
        let fields: Vec<&str> = err["fields"]
            .as_array()
            .expect("fields")
            .iter()
            .filter_map(|f| f["field"].as_str())
            .collect();
        for want in ["name", "kind", "lon", "lat", "region"] {
            assert!(fields.contains(&want), "{engine}: {want} in {fields:?}");
        }
        assert_eq!(reg.event_count().await.expect("count"), before, "{engine}");

        // The same name twice is a conflict.
        let (st, _) = call(
            &app,
            Some(&tok),
            "POST",
            "/api/v1/assets",
            Some(json!(form("Nangan LEO 1"))),
        )
        .await;
        assert_eq!(st, StatusCode::CONFLICT, "{engine}");

        // Edit at version 1, then a stale edit at version 1 again is refused.
        let mut patch = serde_json::to_value(AssetForm {
            status: "offline".into(),
            ..form("Nangan LEO 1")
        })
        .expect("json");
        patch["version"] = json!(1);
        let (st, edited) = call(
            &app,
            Some(&tok),
            "PATCH",
            &format!("/api/v1/assets/{id}"),
            Some(patch.clone()),
        )
        .await;
        assert_eq!(st, StatusCode::OK, "{engine}: {edited}");
        assert_eq!(edited["version"], 2);
        assert_eq!(edited["status"], "offline");
        let (st, _) = call(
            &app,
            Some(&tok),
            "PATCH",
            &format!("/api/v1/assets/{id}"),
            Some(patch),
        )
        .await;
        assert_eq!(
            st,
            StatusCode::CONFLICT,
            "{engine}: a stale edit is refused"
        );

        let (st, detail) = call(
            &app,
            Some(&tok),
            "GET",
            &format!("/api/v1/assets/{id}"),
            None,
        )
        .await;
        assert_eq!(st, StatusCode::OK);
        let kinds: Vec<&str> = detail["events"]
            .as_array()
            .expect("events")
            .iter()
            .filter_map(|e| e["kind"].as_str())
            .collect();
        assert_eq!(kinds, ["asset.created", "asset.updated"], "{engine}");
        assert_eq!(detail["events"][1]["before"]["status"], "ready");
        assert_eq!(detail["events"][1]["actor"], "user:officer");

        // A watch member reads but may not write.
        let watch = user_token(&reg, "watcher", Role::Watch).await;
        let (st, _) = call(
            &app,
            Some(&watch),
            "POST",
            "/api/v1/assets",
            Some(json!(form("other"))),
        )
        .await;
        assert_eq!(st, StatusCode::FORBIDDEN, "{engine}");
        let (st, list) = call(
            &app,
            Some(&watch),
            "GET",
            "/api/v1/assets?status=offline",
            None,
        )
        .await;
        assert_eq!(st, StatusCode::OK);
        assert_eq!(list["matched"], 1, "{engine}");
        assert_eq!(
            list["counts"]["by_kind_status"]["sat_terminal"]["offline"],
            1
        );
        assert_eq!(
            reg.integrity_check().await.expect("check"),
            "ok",
            "{engine}"
        );
    }
}

#[tokio::test]
async fn csv_import_is_all_or_nothing_and_round_trips() {
    for (engine, reg, url) in registries("assets_csv").await {
        let app = app(&reg, &url).await;
        let tok = officer_token(&reg).await;
        let good = "name,kind,status,lon,lat,end_lon,end_lat,region,capacity_mbps\n\
                    Matsu MW,microwave,ready,119.95,26.16,121.44,25.17,Matsu,12600\n\
                    Penghu hub,hub_5g,ready,119.58,23.57,,,Penghu,\n";
        let bad =
            format!("{good}Broken,ppdr,ready,999,23,,,Penghu,\n,ppdr,ready,120,23,,,Penghu,\n");
        let events = reg.event_count().await.expect("count");
        let (st, err) = post_text(&app, &tok, "/api/v1/assets/import?format=csv", &bad).await;
        assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{engine}: {err}");
        let lines: Vec<i64> = err["lines"]
            .as_array()
            .expect("lines")
            .iter()
            .filter_map(|l| l["line"].as_i64())
            .collect();
        assert_eq!(lines, [4, 5], "{engine}: both bad lines named");
        assert_eq!(
            reg.event_count().await.expect("count"),
            events,
            "{engine}: nothing written"
        );
        assert_eq!(
            reg.list_assets(&Default::default())
                .await
                .expect("list")
                .counts
                .total,
            0
        );

        // A dry run reports and writes nothing.
        let (st, r) = post_text(&app, &tok, "/api/v1/assets/import?dry_run=true", good).await;
        assert_eq!(
            (st, r["created"].as_i64(), r["written"].as_bool()),
            (StatusCode::OK, Some(2), Some(false)),
            "{engine}"
        );
        assert_eq!(reg.event_count().await.expect("count"), events);

        let (st, r) = post_text(&app, &tok, "/api/v1/assets/import", good).await;
        assert_eq!(
            (st, r["created"].as_i64()),
            (StatusCode::OK, Some(2)),
            "{engine}: {r}"
        );

        // Export, then import the export: nothing changes.
        let (st, ctype, csv) = get_text(&app, &tok, "/api/v1/assets.csv").await;
        assert_eq!(st, StatusCode::OK);
        assert!(ctype.starts_with("text/csv"), "{ctype}");
        assert!(
            csv.contains("Matsu MW,microwave,ready,119.95,26.16,121.44,25.17,Matsu,12600"),
            "{csv}"
        );
        let events = reg.event_count().await.expect("count");
        let (_, r) = post_text(&app, &tok, "/api/v1/assets/import", &csv).await;
        assert_eq!(
            (r["created"].as_i64(), r["unchanged"].as_i64()),
            (Some(0), Some(2)),
            "{engine}: {r}"
        );
        assert_eq!(
            reg.event_count().await.expect("count"),
            events,
            "{engine}: re-import writes nothing"
        );

        // A changed row updates that asset (one asset.updated event).
        let changed = csv.replace("Penghu hub,hub_5g,ready", "Penghu hub,hub_5g,degraded");
        let (_, r) = post_text(&app, &tok, "/api/v1/assets/import", &changed).await;
        assert_eq!(r["updated"].as_i64(), Some(1), "{engine}: {r}");

        // GeoJSON export: RFC 7946 with the microwave link as a line.
        let (st, ctype, gj) = get_text(&app, &tok, "/api/v1/assets.geojson?kind=microwave").await;
        assert_eq!(st, StatusCode::OK);
        assert_eq!(ctype, "application/geo+json");
        let v: serde_json::Value = serde_json::from_str(&gj).expect("json");
        assert_eq!(v["features"].as_array().map(Vec::len), Some(1));
        assert_eq!(v["features"][0]["geometry"]["type"], "LineString");
        assert_eq!(v["features"][0]["properties"]["capacity_mbps"], "12600");

        // And GeoJSON import of the export changes nothing.
        let (st, r) = post_text(&app, &tok, "/api/v1/assets/import", &gj).await;
        assert_eq!(
            (st, r["unchanged"].as_i64()),
            (StatusCode::OK, Some(1)),
            "{engine}: {r}"
        );
        assert_eq!(reg.integrity_check().await.expect("check"), "ok");
    }
}

#[tokio::test]
async fn demo_inventory_seeds_once_and_the_map_layer_clusters_it() {
    let _ = tracing_subscriber::fmt().with_test_writer().try_init();
    for (engine, reg, _) in registries("assets_demo").await {
        let added = reg.seed_demo_assets().await.expect("seed");
        assert!(added > 2000, "{engine}: {added}");
        assert_eq!(
            reg.seed_demo_assets().await.expect("again"),
            0,
            "{engine}: once"
        );
        let list = reg.list_assets(&Default::default()).await.expect("list");
        assert_eq!(list.counts.by_kind["hub_5g"], 1123);
        assert_eq!(list.counts.by_kind["ppdr"], 24);
        assert_eq!(
            list.counts.total - list.counts.synthetic,
            16,
            "{engine}: the public facts are not synthetic"
        );
        let taiping = shared::assets::AssetFilter {
            region: "Taiping Island".into(),
            ..Default::default()
        };
        let t = reg.list_assets(&taiping).await.expect("list");
        assert_eq!(t.assets[0].draft.capacity_mbps, Some(25.0));
        assert_eq!(t.assets[0].source, "reference");

        let all = shared::assets::AssetKind::ALL;
        for v in shared::map::VIEWS {
            let markers = reg.asset_markers(&v, 0, &all).await.expect("markers");
            let shown: u32 = markers.iter().map(|m| m.count).sum();
            assert!(!markers.is_empty(), "{engine}: {} has assets", v.id);
            // Clusters never lose an asset: the Taiwan view shows every one in its box.
            if v.id == "taiwan" {
                let inside = list_in(&reg, &v).await;
                assert_eq!(shown as usize, inside, "{engine}");
                assert!(
                    markers.len() < 600,
                    "{engine}: clustered to {}",
                    markers.len()
                );
            }
        }
        // Only the kinds asked for.
        let ships = reg
            .asset_markers(
                &shared::map::VIEWS[0],
                0,
                &[shared::assets::AssetKind::RepairShip],
            )
            .await
            .expect("ships");
        assert!(ships
            .iter()
            .all(|m| m.kind == shared::assets::AssetKind::RepairShip));
    }
}

async fn list_in(reg: &server::Registry, v: &shared::map::View) -> usize {
    reg.assets_matching(&Default::default(), None)
        .await
        .expect("all")
        .iter()
        .filter(|a| {
            (v.west..=v.east).contains(&a.draft.lon) && (v.south..=v.north).contains(&a.draft.lat)
        })
        .count()
}

/// Issue 11.21: the asset snapshot (and its cluster index) is kept while
/// other things happen: a sign-in, a failed sign-in or a fault edit does not
/// throw it away; an asset change does.
#[tokio::test]
async fn the_asset_cache_survives_events_that_are_not_about_assets() {
    for (engine, reg, _url) in registries("asset_cache").await {
        reg.create_asset("test", &form("kept"))
            .await
            .expect("asset");
        let before = reg.asset_snapshot().await.expect("snapshot");
        let _ = before.index();
        reg.log_auth("anonymous", "auth.sign_in_failed", "unknown", json!({}))
            .await;
        reg.create_fault(
            "test",
            &shared::fault::FaultForm {
                cable: "TDM3".into(),
                detected_on: "2026-02-10".into(),
                kind: "partial_damage".into(),
                status: "open".into(),
                place: "桃園草漯".into(),
                km: "12".into(),
                ..Default::default()
            },
        )
        .await
        .expect("fault");
        let after = reg.asset_snapshot().await.expect("snapshot");
        assert!(
            std::sync::Arc::ptr_eq(&before, &after),
            "{engine}: the cache was thrown away by events about other things"
        );
        reg.create_asset("test", &form("new")).await.expect("asset");
        let changed = reg.asset_snapshot().await.expect("snapshot");
        assert!(!std::sync::Arc::ptr_eq(&before, &changed), "{engine}");
        assert_eq!(changed.assets.len(), before.assets.len() + 1, "{engine}");
    }
}

/// Issue 14 (as of): the asset list and an asset's page as they stood at a
/// moment, rebuilt from the event log: not there before it was created, its
/// first version until the edit. A repair ship's state and its own record
/// are two records of one entity, each read from its last event.
#[tokio::test]
async fn the_asset_registry_as_of_a_moment() {
    for (engine, reg, url) in registries("assets_as_of").await {
        let app = app(&reg, &url).await;
        let tok = officer_token(&reg).await;
        let moment = || chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Micros, true);
        let t0 = moment();
        let a = reg
            .create_asset("officer", &form("Nangan LEO 1"))
            .await
            .expect("create");
        let ship = reg
            .create_asset(
                "officer",
                &AssetForm {
                    kind: "repair_ship".into(),
                    orbit: String::new(),
                    home_port: "Keelung".into(),
                    zone: "north".into(),
                    ..form("Nangan cable ship")
                },
            )
            .await
            .expect("ship");
        let t1 = moment();
        reg.set_ship_state("officer", ship.id, "sheltering", 0)
            .await
            .expect("ship state");
        let edit = AssetForm {
            status: "offline".into(),
            ..form("Nangan LEO 1")
        };
        reg.update_asset("officer", a.id, 1, &edit)
            .await
            .expect("edit");
        let ship_edit = AssetForm {
            kind: "repair_ship".into(),
            orbit: String::new(),
            home_port: "Keelung".into(),
            zone: "north".into(),
            status: "degraded".into(),
            ..form("Nangan cable ship")
        };
        reg.update_asset("officer", ship.id, 1, &ship_edit)
            .await
            .expect("ship edit");
        let t2 = moment();
        let written = reg.event_count().await.expect("count");
        let get = |q: String| {
            let (app, tok) = (app.clone(), tok.clone());
            async move { call(&app, Some(&tok), "GET", &q, None).await }
        };
        let (st, v) = get(format!("/api/v1/assets?q=Nangan&as_of={t0}")).await;
        assert_eq!(st, StatusCode::OK, "{engine}: {v}");
        assert_eq!(v["matched"], 0, "{engine}: nothing before it was created");
        let (_, v) = get(format!(
            "/api/v1/assets?q=Nangan&kind=sat_terminal&as_of={t1}"
        ))
        .await;
        assert_eq!(v["matched"], 1, "{engine}: {v}");
        assert_eq!(
            v["assets"][0]["status"], "ready",
            "{engine}: as first created"
        );
        let (_, v) = get(format!(
            "/api/v1/assets?q=Nangan&kind=sat_terminal&as_of={t2}"
        ))
        .await;
        assert_eq!(
            v["assets"][0]["status"], "offline",
            "{engine}: the edit by t2"
        );
        let (st, d) = get(format!("/api/v1/assets/{}?as_of={t1}", a.id)).await;
        assert_eq!(st, StatusCode::OK, "{engine}: {d}");
        assert_eq!(d["asset"]["version"], 1, "{engine}");
        assert_eq!(d["events"].as_array().map(Vec::len), Some(1), "{engine}");
        let (st, _) = get(format!("/api/v1/assets/{}?as_of={t0}", a.id)).await;
        assert_eq!(st, StatusCode::NOT_FOUND, "{engine}");
        let (st, e) = get("/api/v1/assets?as_of=later".into()).await;
        assert_eq!(
            (st, e["field"].as_str()),
            (StatusCode::BAD_REQUEST, Some("as_of")),
            "{engine}"
        );
        // The exports then: the CSV and GeoJSON of what was there.
        let (st, _, csv) = get_text(
            &app,
            &tok,
            &format!("/api/v1/assets.csv?q=Nangan&as_of={t0}"),
        )
        .await;
        assert_eq!(st, StatusCode::OK, "{engine}: {csv}");
        assert!(!csv.contains("Nangan"), "{engine}: {csv}");
        let (_, _, csv) = get_text(
            &app,
            &tok,
            &format!("/api/v1/assets.csv?q=Nangan&as_of={t1}"),
        )
        .await;
        assert!(
            csv.contains("Nangan LEO 1") && csv.contains("ready"),
            "{engine}: {csv}"
        );
        let (_, _, gj) = get_text(
            &app,
            &tok,
            &format!("/api/v1/assets.geojson?q=Nangan&as_of={t1}"),
        )
        .await;
        assert!(gj.contains("Nangan cable ship"), "{engine}: {gj}");
        // The ship: its own last edit and its state set before that edit.
        let at2 = shared::history::parse_as_of(&t2).expect("t2");
        let state = reg.state_at(at2).await.expect("state");
        assert_eq!(
            state.assets.get(&ship.id).map(|s| s.version),
            Some(2),
            "{engine}"
        );
        assert_eq!(
            state.ships.get(&ship.id).map(|s| s.0),
            Some(shared::repair::ShipState::Sheltering),
            "{engine}"
        );
        // At "now" the fold gives what the registry holds.
        let (_, folded) = get(format!("/api/v1/assets?q=Nangan&as_of={t2}")).await;
        let (_, table) = get("/api/v1/assets?q=Nangan".into()).await;
        assert_eq!(folded["assets"], table["assets"], "{engine}");
        assert_eq!(
            reg.event_count().await.expect("count"),
            written,
            "{engine}: reads write nothing"
        );
    }
}
