//! The live event stream (`GET /api/v1/events`) and the duty watch's alerts,
//! against real databases: replay after a reconnect, across a restart, role
//! filtering, a write on one server reaching another, acknowledgements.

mod common;

use std::time::Duration;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use common::{app, call, officer_token, registries, user_token};
use http_body_util::BodyExt;
use serde_json::json;
use server::Registry;
use shared::auth::Role;
use shared::fault::FaultForm;
use tower::ServiceExt;

fn form(km: u32, kind: &str) -> FaultForm {
    FaultForm {
        cable: "TDM3".into(),
        detected_on: "2026-02-10".into(),
        kind: kind.into(),
        place: "桃園草漯".into(),
        km: km.to_string(),
        alternate_routes: "微波".into(),
        eta: "2026-04".into(),
        status: "open".into(),
        restored_on: String::new(),
        notes: String::new(),
        capacity_lost_pct: String::new(),
    }
}

/// One message of the stream.
#[derive(Debug, Clone, PartialEq)]
struct Msg {
    event: String,
    id: Option<i64>,
    data: String,
}

/// An open stream and what is buffered of it.
struct Stream {
    body: Body,
    buf: String,
}

impl Stream {
    async fn open(app: &axum::Router, token: &str, last_event_id: Option<i64>) -> Self {
        let mut req = Request::get("/api/v1/events")
            .header("authorization", format!("Bearer {token}"))
            .header("accept", "text/event-stream");
        if let Some(id) = last_event_id {
            req = req.header("last-event-id", id.to_string());
        }
        let resp = app
            .clone()
            .oneshot(req.body(Body::empty()).expect("request"))
            .await
            .expect("response");
        assert_eq!(resp.status(), StatusCode::OK);
        assert_eq!(
            resp.headers()
                .get("content-type")
                .and_then(|v| v.to_str().ok()),
            Some("text/event-stream")
        );
        Self {
            body: resp.into_body(),
            buf: String::new(),
        }
    }

    /// The next message, waiting at most `secs`.
    async fn next(&mut self, secs: u64) -> Option<Msg> {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(secs);
        loop {
            if let Some(end) = self.buf.find("\n\n") {
                let raw: String = self.buf.drain(..end + 2).collect();
                let mut m = Msg {
                    event: "message".into(),
                    id: None,
                    data: String::new(),
                };
                for line in raw.lines() {
                    if let Some(v) = line.strip_prefix("event:") {
                        m.event = v.trim().into();
                    } else if let Some(v) = line.strip_prefix("id:") {
                        m.id = v.trim().parse().ok();
                    } else if let Some(v) = line.strip_prefix("data:") {
                        m.data.push_str(v.trim_start());
                    }
                }
                if raw
                    .lines()
                    .all(|l| l.starts_with(':') || l.starts_with("retry:"))
                {
                    continue;
                }
                return Some(m);
            }
            let frame = tokio::time::timeout_at(deadline, self.body.frame())
                .await
                .ok()??
                .ok()?;
            if let Ok(d) = frame.into_data() {
                self.buf.push_str(&String::from_utf8_lossy(&d));
            }
        }
    }

    /// Events up to the next `ready`, returning their ids.
    async fn until_ready(&mut self) -> Vec<Msg> {
        let mut out = Vec::new();
        loop {
            let m = self.next(10).await.expect("a message before ready");
            if m.event == "ready" {
                return out;
            }
            if m.event == "message" {
                out.push(m);
            }
        }
    }
}

fn ids(ms: &[Msg]) -> Vec<i64> {
    ms.iter().filter_map(|m| m.id).collect()
}

async fn started(reg: &Registry, url: &str) {
    let pg = url.starts_with("postgres").then(|| url.to_string());
    reg.live()
        .start(reg.log().clone(), pg)
        .await
        .expect("start live");
}

#[tokio::test]
async fn a_reconnecting_client_gets_exactly_the_missed_events_in_order_also_after_a_restart() {
    for (engine, reg, url) in registries("live_replay").await {
        started(&reg, &url).await;
        let app = app(&reg, &url).await;
        let watch = user_token(&reg, "watch", Role::Watch).await;
        let mut s = Stream::open(&app, &watch, None).await;
        assert!(
            s.until_ready().await.is_empty(),
            "{engine}: no backlog without Last-Event-ID"
        );
        reg.create_fault("test", &form(10, "cut"))
            .await
            .expect("fault");
        let first = s.next(5).await.expect("the live event");
        let seen = first.id.expect("an id");
        let ev: shared::event::LiveEvent = serde_json::from_str(&first.data).expect("event JSON");
        // Issue 11.3: a live event says what changed, not the change: no
        // actor, no before/after (a page fetches what it wants).
        let keys: Vec<String> =
            serde_json::from_str::<serde_json::Map<String, serde_json::Value>>(&first.data)
                .expect("an object")
                .keys()
                .cloned()
                .collect();
        assert_eq!(
            keys,
            ["at", "entity_id", "entity_type", "kind", "seq"],
            "{engine}"
        );
        assert_eq!(ev.kind, "fault.reported");
        assert_eq!(ev.seq, seen);
        drop(s);

        // Disconnected: three more changes.
        for km in [11, 12, 13] {
            reg.create_fault("test", &form(km, "partial_damage"))
                .await
                .expect("fault");
        }
        let missed: Vec<i64> = reg
            .events_after(seen, 100)
            .await
            .expect("log")
            .iter()
            .map(|e| e.seq)
            .collect();
        assert_eq!(missed.len(), 3, "{engine}");
        let mut s = Stream::open(&app, &watch, Some(seen)).await;
        assert_eq!(
            ids(&s.until_ready().await),
            missed,
            "{engine}: exactly the missed, in order"
        );
        reg.create_fault("test", &form(14, "partial_damage"))
            .await
            .expect("fault");
        let live = s.next(5).await.expect("live after replay");
        assert!(live.id > missed.last().copied(), "{engine}: then live ones");
        let last = live.id.expect("id");
        drop(s);

        // A restart: a new server process on the same database.
        let more = reg
            .create_fault("test", &form(15, "partial_damage"))
            .await
            .expect("fault");
        let reg2 = server::open(&url).await.expect("reopen");
        started(&reg2, &url).await;
        let app2 = common::app(&reg2, &url).await;
        let mut s = Stream::open(&app2, &watch, Some(last)).await;
        let got = s.until_ready().await;
        assert_eq!(got.len(), 1, "{engine}: the one missed across the restart");
        assert!(got[0]
            .data
            .contains(&format!("\"entity_id\":\"{}\"", more.id)));
        reg.live().shut_down();
        reg2.live().shut_down();
    }
}

#[tokio::test]
async fn briefing_screens_do_not_receive_access_events() {
    for (engine, reg, url) in registries("live_roles").await {
        started(&reg, &url).await;
        let app = app(&reg, &url).await;
        let briefing = user_token(&reg, "screen", Role::Briefing).await;
        let officer = officer_token(&reg).await;
        // From the start of the log: users and tokens were created above.
        let mut b = Stream::open(&app, &briefing, Some(0)).await;
        let mut o = Stream::open(&app, &officer, Some(0)).await;
        let b_events = b.until_ready().await;
        let o_events = o.until_ready().await;
        let kinds = |ms: &[Msg]| -> Vec<String> {
            ms.iter()
                .filter_map(|m| serde_json::from_str::<shared::event::LiveEvent>(&m.data).ok())
                .map(|e| e.entity_type)
                .collect()
        };
        assert!(
            kinds(&o_events).iter().any(|t| t == "user"),
            "{engine}: officers read the audit trail"
        );
        assert!(
            !kinds(&b_events).iter().any(|t| t == "user" || t == "token"),
            "{engine}"
        );
        assert!(
            kinds(&b_events).iter().any(|t| t == "reference"),
            "{engine}"
        );
        // No token, no stream.
        let (status, _) = call(&app, None, "GET", "/api/v1/events", None).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        // A bad Last-Event-ID is refused clearly.
        let req = Request::get("/api/v1/events")
            .header("authorization", format!("Bearer {officer}"))
            .header("last-event-id", "yesterday")
            .body(Body::empty())
            .expect("request");
        let resp = app.clone().oneshot(req).await.expect("response");
        assert_eq!(resp.status(), StatusCode::BAD_REQUEST, "{engine}");
        reg.live().shut_down();
    }
}

#[tokio::test]
async fn a_write_on_one_server_reaches_the_stream_of_another() {
    for (engine, a, url) in registries("live_two").await {
        // Two servers on one database, each with its own live hub.
        let b = server::open(&url).await.expect("second server");
        started(&a, &url).await;
        started(&b, &url).await;
        let app_b = app(&b, &url).await;
        let watch = user_token(&a, "watch", Role::Watch).await;
        let mut s = Stream::open(&app_b, &watch, None).await;
        s.until_ready().await;
        let t0 = std::time::Instant::now();
        let f = a
            .create_fault("test", &form(20, "cut"))
            .await
            .expect("fault on A");
        let m = s.next(3).await.expect("B's client hears A's write");
        assert!(
            m.data.contains(&format!("\"entity_id\":\"{}\"", f.id)),
            "{engine}"
        );
        let took = t0.elapsed();
        // PostgreSQL notifies at once; SQLite (another process's write)
        // is picked up by the one-second catch-up.
        assert!(took < Duration::from_millis(1500), "{engine}: {took:?}");
        a.live().shut_down();
        b.live().shut_down();
    }
}

#[tokio::test]
async fn alerts_are_raised_by_fault_changes_and_acknowledged_once() {
    for (engine, reg, url) in registries("alerts").await {
        started(&reg, &url).await;
        let app = app(&reg, &url).await;
        let officer = officer_token(&reg).await;
        let watch = user_token(&reg, "watch", Role::Watch).await;
        let briefing = user_token(&reg, "screen", Role::Briefing).await;
        let (st, f) = call(
            &app,
            Some(&officer),
            "POST",
            "/api/v1/faults",
            Some(serde_json::to_value(form(30, "cut")).expect("json")),
        )
        .await;
        assert_eq!(st, StatusCode::CREATED, "{engine}: {f}");
        let (st, alerts) = call(&app, Some(&briefing), "GET", "/api/v1/alerts", None).await;
        assert_eq!(st, StatusCode::OK);
        let kinds: Vec<&str> = alerts
            .as_array()
            .expect("a list")
            .iter()
            .filter_map(|a| a["kind"].as_str())
            .collect();
        assert_eq!(
            kinds,
            vec!["cable_cut", "new_fault"],
            "{engine}: newest first"
        );
        let id = alerts[0]["id"].as_i64().expect("id");
        // The briefing role reads but may not acknowledge.
        let uri = format!("/api/v1/alerts/{id}/ack");
        let (st, _) = call(&app, Some(&briefing), "POST", &uri, None).await;
        assert_eq!(st, StatusCode::FORBIDDEN, "{engine}");
        let (st, acked) = call(&app, Some(&watch), "POST", &uri, None).await;
        assert_eq!(st, StatusCode::OK, "{engine}: {acked}");
        assert_eq!(acked["acked_by"], json!("user:watch"));
        let (st, again) = call(&app, Some(&watch), "POST", &uri, None).await;
        assert_eq!(st, StatusCode::CONFLICT, "{engine}: {again}");
        assert!(again["message"]
            .as_str()
            .is_some_and(|m| m.contains("user:watch")));
        // The acknowledgement is in the log, with actor and time.
        let events = reg.events_after(0, 1000).await.expect("log");
        let ack = events
            .iter()
            .find(|e| e.kind == "alert.acknowledged")
            .expect("an ack event");
        assert_eq!(ack.actor, "user:watch");
        assert_eq!(ack.entity_id, id.to_string());
        // The board counts it no more; the other alert stays.
        let board = reg.board().await.expect("board");
        assert_eq!(board.alerts.len(), 1, "{engine}");
        assert!(board
            .islands
            .iter()
            .any(|i| i.region == "matsu" && i.down.contains(&"TDM3".to_string())));
        // Moving the ETA later raises an alert; earlier does not.
        let fid = f["id"].as_i64().expect("fault id");
        let mut later = form(30, "cut");
        later.eta = "2026-06".into();
        let (st, body) = call(
            &app,
            Some(&officer),
            "PATCH",
            &format!("/api/v1/faults/{fid}"),
            Some({
                let mut body = serde_json::to_value(later).expect("json");
                body["version"] = json!(1);
                body
            }),
        )
        .await;
        assert_eq!(st, StatusCode::OK, "{engine}: {body}");
        let open = reg.alerts(true, 10).await.expect("alerts");
        assert_eq!(open[0].kind, shared::watch::AlertKind::EtaLater, "{engine}");
        reg.live().shut_down();
    }
}

#[tokio::test]
async fn the_stream_ends_when_the_server_shuts_down() {
    for (engine, reg, url) in registries("live_shutdown").await {
        started(&reg, &url).await;
        let app = app(&reg, &url).await;
        let watch = user_token(&reg, "watch", Role::Watch).await;
        let mut s = Stream::open(&app, &watch, None).await;
        s.until_ready().await;
        reg.live().shut_down();
        assert!(s.next(5).await.is_none(), "{engine}: the stream ends");
    }
}
