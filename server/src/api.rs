//! The JSON API under `/api/v1`. Handlers only translate HTTP to registry
//! calls; errors are answered as `{error, message, field?}` with their status.

use axum::extract::{Path, Query, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use chrono::NaiveDate;
use serde::Deserialize;
use shared::api::ApiError;
use shared::assets::{AssetFilter, AssetForm};
use shared::fault::FaultForm;
use shared::maintenance::MaintenanceForm;

use crate::auth::{AuthState, Caller};
use crate::in_exercise::InExercise;
use crate::Registry;

/// The exercise a request is in, if any (see [`crate::in_exercise`]).
type Ex = Option<axum::Extension<InExercise>>;

/// An exercise view is of now: `as_of` and `exercise` do not go together.
fn not_both(ex: &Ex, at: &Option<chrono::DateTime<chrono::Utc>>) -> Result<()> {
    if ex.is_some() && at.is_some() {
        return Err(Error(ApiError {
            field: Some("as_of".into()),
            ..ApiError::bad_request("an exercise is seen as it stands: as_of cannot be used in one")
        }));
    }
    Ok(())
}

use crate::error::{Error, Result};

/// A JSON body, or why it could not be read (answered as 400 in our error shape).
type JsonBody<T> = std::result::Result<Json<T>, axum::extract::rejection::JsonRejection>;

fn json_rejection(e: axum::extract::rejection::JsonRejection) -> ApiError {
    crate::error::json_rejection(e, None)
}

pub fn router(st: AuthState) -> Router {
    Router::new()
        .route(
            "/session",
            axum::routing::post(crate::signin::api_sign_in).delete(crate::signin::api_sign_out),
        )
        .route(
            "/me/password",
            axum::routing::post(crate::signin::change_password),
        )
        .route("/me/tokens", get(my_tokens).post(create_token))
        .route("/me/tokens/{id}", axum::routing::delete(revoke_token))
        .route(
            "/me/subscriptions",
            get(my_subscriptions).post(create_subscription),
        )
        .route(
            "/me/subscriptions/{id}",
            axum::routing::delete(remove_subscription),
        )
        .route("/me/notifications", get(my_notifications))
        .route("/outbox", get(outbox))
        .route("/kiosks", get(kiosks).post(create_kiosk))
        .route("/kiosks/{id}", axum::routing::delete(revoke_kiosk))
        .route("/users", get(users))
        .route("/audit", get(audit))
        .route("/exercises", get(list_exercises).post(create_exercise))
        .route("/exercises/{id}", get(get_exercise))
        .route("/exercises/{id}/report", get(exercise_report))
        .route("/exercises/{id}/report.csv", get(exercise_report_csv))
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/faults", get(list_faults).post(create_fault))
        .route("/faults/{id}", get(get_fault).patch(update_fault))
        .route("/cables", get(cables))
        .route("/cables.geojson", get(cables_geojson))
        .route("/faults.geojson", get(faults_geojson))
        .route("/stations.geojson", get(stations_geojson))
        .route("/stations", get(stations))
        .route("/notices", axum::routing::post(import_notice))
        .route("/notices/preview", axum::routing::post(preview_notice))
        .route("/notices/export", get(export_notice))
        .route(
            "/maintenance",
            get(list_maintenance).post(record_maintenance),
        )
        .route(
            "/maintenance/{id}/complete",
            axum::routing::post(complete_maintenance),
        )
        .route("/assets", get(list_assets).post(create_asset))
        .route("/assets/{id}", get(get_asset).patch(update_asset))
        .route("/assets/import", axum::routing::post(import_assets))
        .route("/assets.geojson", get(assets_geojson))
        .route("/assets.csv", get(assets_csv))
        .route("/events", get(events))
        .route("/alerts", get(list_alerts))
        .route("/alerts/{id}/ack", axum::routing::post(ack_alert))
        .route("/watch", get(watch_board))
        .route("/charts/{name}", get(chart))
        .route(
            "/briefing.svg",
            get(|r: State<Registry>, q: Query<BriefingQuery>| briefing_export(r, q, Format::Svg)),
        )
        .route(
            "/briefing.png",
            get(|r: State<Registry>, q: Query<BriefingQuery>| briefing_export(r, q, Format::Png)),
        )
        .route(
            "/briefing.pdf",
            get(|r: State<Registry>, q: Query<BriefingQuery>| briefing_export(r, q, Format::Pdf)),
        )
        .route("/repairs", get(repairs_board))
        .route("/faults/{id}/repair", axum::routing::patch(set_repair))
        .route("/ships/{id}", axum::routing::patch(set_ship_state))
        .route("/resilience", get(resilience))
        .route("/resilience/what-if", axum::routing::post(what_if))
        .route("/resilience/contingencies", get(contingencies))
        .route("/resilience/figures", get(figures))
        .route(
            "/resilience/figures/{key}",
            axum::routing::patch(set_figure),
        )
        .fallback(|| async { Error(ApiError::not_found("no such API route")) })
        .with_state(st)
}

#[derive(Deserialize)]
struct EventsQuery {
    /// Where to resume when the client cannot send `Last-Event-ID` (a new
    /// `EventSource` after a hard failure).
    after: Option<i64>,
}

/// The live tail of the event log as server-sent events: each event with its
/// `seq` as id; after `Last-Event-ID` (or `?after=`) every later event in
/// order, then `ready`, then live events and a `heartbeat` every 10 s.
/// Events about users, tokens and kiosks only reach those who may read the
/// audit trail.
///
/// While the stream is open its reader is checked again every heartbeat and
/// after every event that may end someone's access: a revoked token or kiosk
/// link, a disabled user, a changed role or password, an ended session. Then
/// the stream sends `event: signed_out` and closes.
async fn events(
    State(st): State<AuthState>,
    Caller(who): Caller,
    Query(q): Query<EventsQuery>,
    session: Option<axum::Extension<tower_sessions::Session>>,
    headers: axum::http::HeaderMap,
) -> Result<Response> {
    let reg = st.reg.clone();
    let Some(cred) =
        crate::auth::StreamCredential::of(&st, &headers, session.as_ref().map(|s| &s.0), &who)
            .await
    else {
        return Err(ApiError::unauthorized("sign in, or send an API token").into());
    };
    use futures_util::StreamExt;
    let after = match headers.get("last-event-id") {
        Some(v) => Some(
            v.to_str()
                .ok()
                .and_then(|s| s.trim().parse::<i64>().ok())
                .filter(|s| *s >= 0)
                .ok_or_else(|| {
                    ApiError::bad_request("Last-Event-ID must be the seq of an event (a number)")
                })?,
        ),
        None => q.after.filter(|s| *s >= 0),
    };
    let audit = who.can(shared::auth::Capability::ReadAudit);
    // Each event's message is encoded once (`live::Item`) and shared by
    // every stream, so the body is written from those bytes directly.
    let signed_out = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let watcher = {
        let (st, flag) = (st.clone(), signed_out.clone());
        let mut revocations = reg.live().revocations();
        async move {
            loop {
                tokio::select! {
                    _ = tokio::time::sleep(crate::live::HEARTBEAT) => {}
                    changed = revocations.changed() => {
                        if changed.is_err() {
                            tokio::time::sleep(crate::live::HEARTBEAT).await;
                        }
                    }
                }
                if !st.still_signed_in(&cred).await {
                    flag.store(true, std::sync::atomic::Ordering::Release);
                    return;
                }
            }
        }
    };
    let farewell = futures_util::stream::once(async move {
        signed_out
            .load(std::sync::atomic::Ordering::Acquire)
            .then(crate::live::signed_out_frame)
    })
    .filter_map(std::future::ready);
    let stream = reg
        .live()
        .stream(reg.log().clone(), after, audit)
        .map(|out| out.frame())
        .take_until(watcher)
        .chain(farewell)
        .map(Ok::<_, std::convert::Infallible>);
    Ok((
        [
            (header::CONTENT_TYPE, "text/event-stream"),
            (header::CACHE_CONTROL, "no-cache"),
            (header::HeaderName::from_static("x-accel-buffering"), "no"),
        ],
        axum::body::Body::from_stream(stream),
    )
        .into_response())
}

#[derive(Deserialize)]
struct AlertsQuery {
    /// `open` (default) or `all`.
    status: Option<String>,
}

async fn list_alerts(
    State(reg): State<Registry>,
    ex: Ex,
    Query(q): Query<AlertsQuery>,
) -> Result<Response> {
    let open = match q.status.as_deref() {
        None | Some("open") => true,
        Some("all") => false,
        Some(other) => {
            return Err(Error(ApiError {
                field: Some("status".into()),
                ..ApiError::bad_request(format!("status must be open or all, not {other:?}"))
            }))
        }
    };
    let mut alerts = reg.alerts(open, 500).await?;
    if let Some(axum::Extension(InExercise(ex))) = ex {
        let mut mine = reg.layer(&ex).await?.alert_list(open);
        mine.append(&mut alerts);
        mine.sort_by_key(|a| (std::cmp::Reverse(a.raised_at), a.id));
        alerts = mine;
    }
    Ok(Json(alerts).into_response())
}

async fn ack_alert(
    State(reg): State<Registry>,
    Caller(who): Caller,
    ex: Ex,
    Path(id): Path<i64>,
) -> Result<Response> {
    if let Some(axum::Extension(InExercise(ex))) = ex {
        return Ok(Json(reg.ack_alert_in(&ex, &who.actor(), id).await?).into_response());
    }
    Ok(Json(reg.ack_alert(&who.actor(), id).await?).into_response())
}

async fn watch_board(
    State(reg): State<Registry>,
    ex: Ex,
    Query(q): Query<AsOfQuery>,
) -> Result<Response> {
    let at = as_of(q.as_of.as_deref())?;
    not_both(&ex, &at)?;
    if let Some(axum::Extension(InExercise(ex))) = ex {
        return Ok(Json(reg.board_in(&ex).await?).into_response());
    }
    Ok(Json(reg.board_as_of(at).await?).into_response())
}

/// `{"status": "ok"}`, or 503 with `"storage": "full"` while writes cannot be
/// stored (the last one failed for a full disk; reads still work).
async fn healthz(State(reg): State<Registry>) -> Result<Response> {
    reg.event_count().await?;
    if reg.storage_full() {
        return Ok((
            axum::http::StatusCode::SERVICE_UNAVAILABLE,
            Json(serde_json::json!({
                "status": "degraded",
                "storage": "full",
                "message": "the last write could not be stored: the disk is full; reads still work",
            })),
        )
            .into_response());
    }
    Ok(Json(serde_json::json!({"status": "ok", "storage": "ok"})).into_response())
}

/// How long `/readyz` waits for the live stream to publish what was
/// committed before it says "not ready": a busy server's pump is a few
/// milliseconds behind, which is not a reason to take it out of service.
const READY_WAIT: std::time::Duration = std::time::Duration::from_secs(1);

/// Ready to serve: the database answers and the live stream has published
/// every committed event (`pump_lag` 0). Otherwise 503 saying which.
async fn readyz(State(reg): State<Registry>) -> Response {
    let deadline = tokio::time::Instant::now() + READY_WAIT;
    let not_ready = |why: &str, lag: Option<i64>| {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(serde_json::json!({"status": "not_ready", "reason": why, "pump_lag": lag})),
        )
            .into_response()
    };
    loop {
        match reg.pump_lag().await {
            Err(e) => {
                tracing::warn!(error = %e.message, "readyz: the database does not answer");
                return not_ready("database", None);
            }
            Ok(None) => return not_ready("live stream not started", None),
            Ok(Some(0)) => {
                return Json(serde_json::json!({"status": "ready", "pump_lag": 0})).into_response()
            }
            Ok(Some(lag)) if tokio::time::Instant::now() >= deadline => {
                return not_ready("live stream behind the log", Some(lag))
            }
            Ok(Some(_)) => tokio::time::sleep(std::time::Duration::from_millis(20)).await,
        }
    }
}

#[derive(Deserialize)]
struct ListQuery {
    status: Option<String>,
    as_of: Option<String>,
}

/// `?as_of=` read as a moment (Taipei time unless it says otherwise).
fn as_of(q: Option<&str>) -> Result<Option<chrono::DateTime<chrono::Utc>>> {
    q.filter(|s| !s.trim().is_empty())
        .map(|s| {
            shared::history::parse_as_of(s).map_err(|m| {
                Error(ApiError {
                    field: Some("as_of".into()),
                    ..ApiError::bad_request(m)
                })
            })
        })
        .transpose()
}

#[derive(Deserialize)]
struct AsOfQuery {
    as_of: Option<String>,
}

async fn list_faults(
    State(reg): State<Registry>,
    ex: Ex,
    Query(q): Query<ListQuery>,
) -> Result<Response> {
    let all = match q.status.as_deref() {
        None | Some("open") => false,
        Some("all") => true,
        Some(other) => {
            return Err(Error(ApiError {
                field: Some("status".into()),
                ..ApiError::bad_request(format!("status must be open or all, not {other:?}"))
            }))
        }
    };
    let at = as_of(q.as_of.as_deref())?;
    not_both(&ex, &at)?;
    if let Some(axum::Extension(InExercise(ex))) = ex {
        return Ok(Json(reg.exercise_faults(&ex, all).await?).into_response());
    }
    Ok(Json(reg.faults_as_of(all, at).await?).into_response())
}

async fn get_fault(
    State(reg): State<Registry>,
    ex: Ex,
    Path(id): Path<i64>,
    Query(q): Query<AsOfQuery>,
) -> Result<Response> {
    let at = as_of(q.as_of.as_deref())?;
    not_both(&ex, &at)?;
    if let Some(axum::Extension(InExercise(ex))) = ex {
        return Ok(Json(reg.exercise_fault(&ex, id).await?).into_response());
    }
    let detail = match at {
        None => reg.fault(id).await?,
        Some(at) => reg.fault_as_of(id, at).await?,
    };
    Ok(Json(detail).into_response())
}

async fn create_fault(
    State(reg): State<Registry>,
    Caller(who): Caller,
    ex: Ex,
    body: JsonBody<FaultForm>,
) -> Result<Response> {
    let Json(form) = body.map_err(json_rejection)?;
    let f = match ex {
        Some(axum::Extension(InExercise(ex))) => {
            reg.create_fault_in(&ex, &who.actor(), &form).await?
        }
        None => reg.create_fault(&who.actor(), &form).await?,
    };
    Ok((StatusCode::CREATED, Json(f)).into_response())
}

#[derive(Deserialize)]
struct Patch {
    version: i64,
    #[serde(flatten)]
    form: FaultForm,
}

async fn update_fault(
    State(reg): State<Registry>,
    Caller(who): Caller,
    ex: Ex,
    Path(id): Path<i64>,
    body: JsonBody<Patch>,
) -> Result<Response> {
    let Json(p) = body.map_err(json_rejection)?;
    if let Some(axum::Extension(InExercise(ex))) = ex {
        let actor = who.actor();
        let f = reg.update_fault_in(&ex, &actor, id, p.version, &p.form);
        return Ok(Json(f.await?).into_response());
    }
    Ok(Json(
        reg.update_fault(&who.actor(), id, p.version, &p.form)
            .await?,
    )
    .into_response())
}

async fn cables(State(reg): State<Registry>) -> Json<Vec<shared::reference::Cable>> {
    Json(reg.cables().to_vec())
}

async fn stations(State(reg): State<Registry>) -> Json<Vec<shared::reference::Station>> {
    Json(reg.stations().to_vec())
}

async fn import_notice(
    State(reg): State<Registry>,
    Caller(who): Caller,
    ex: Ex,
    body: String,
) -> Result<Response> {
    if let Some(axum::Extension(InExercise(ex))) = ex {
        return Ok(Json(reg.import_notice_in(&ex, &who.actor(), &body).await?).into_response());
    }
    Ok(Json(reg.import_notice(&who.actor(), &body).await?).into_response())
}

async fn preview_notice(State(reg): State<Registry>, ex: Ex, body: String) -> Result<Response> {
    if let Some(axum::Extension(InExercise(ex))) = ex {
        return Ok(Json(reg.preview_notice_in(&ex, &body).await?).into_response());
    }
    Ok(Json(reg.preview_notice(&body).await?).into_response())
}

#[derive(Deserialize)]
struct ExportQuery {
    as_of: Option<String>,
    dated: Option<String>,
}

/// `GET /api/v1/notices/export`: the notice of what is open now, or (with
/// `?as_of=`, as every read view takes it) as it stood at a moment, dated
/// that day in Taipei; `?dated=` sets the date line alone.
async fn export_notice(
    State(reg): State<Registry>,
    Query(q): Query<ExportQuery>,
) -> Result<Response> {
    let at = as_of(q.as_of.as_deref())?;
    let dated = match q.dated.as_deref().filter(|s| !s.is_empty()) {
        None => shared::history::taipei_day(&at.unwrap_or_else(chrono::Utc::now)),
        Some(s) => NaiveDate::parse_from_str(s, "%Y-%m-%d").map_err(|_| ApiError {
            field: Some("dated".into()),
            ..ApiError::bad_request(format!("dated must be a date like 2026-02-14, not {s:?}"))
        })?,
    };
    let text = reg.export_notice(dated, at).await?;
    Ok(([(header::CONTENT_TYPE, "text/plain; charset=utf-8")], text).into_response())
}

async fn list_maintenance(State(reg): State<Registry>) -> Result<Response> {
    Ok(Json(reg.maintenance().await?).into_response())
}

async fn record_maintenance(
    State(reg): State<Registry>,
    Caller(who): Caller,
    body: JsonBody<MaintenanceForm>,
) -> Result<Response> {
    let Json(form) = body.map_err(json_rejection)?;
    let m = reg.record_maintenance(&who.actor(), &form).await?;
    Ok((StatusCode::CREATED, Json(m)).into_response())
}

#[derive(Deserialize)]
struct CompleteBody {
    version: i64,
    completed_on: NaiveDate,
}

async fn complete_maintenance(
    State(reg): State<Registry>,
    Caller(who): Caller,
    Path(id): Path<i64>,
    body: JsonBody<CompleteBody>,
) -> Result<Response> {
    let Json(b) = body.map_err(json_rejection)?;
    let m = reg
        .complete_maintenance(&who.actor(), id, b.version, b.completed_on)
        .await?;
    Ok(Json(m).into_response())
}

async fn my_tokens(State(reg): State<Registry>, Caller(who): Caller) -> Result<Response> {
    Ok(Json(reg.tokens_of(who.id).await?).into_response())
}

/// A new API token or kiosk screen.
#[derive(Deserialize)]
pub struct NewSecretBody {
    /// The token's label, or the kiosk's name.
    #[serde(alias = "name")]
    pub label: String,
    pub expires_days: Option<i64>,
    /// A kiosk made for this exercise (kiosks only).
    #[serde(default)]
    pub exercise: Option<i64>,
}

async fn create_token(
    State(reg): State<Registry>,
    Caller(who): Caller,
    body: JsonBody<NewSecretBody>,
) -> Result<Response> {
    let Json(b) = body.map_err(json_rejection)?;
    let t = reg
        .create_token(&who.actor(), &who.name, &b.label, b.expires_days)
        .await?;
    Ok((StatusCode::CREATED, Json(t)).into_response())
}

async fn revoke_token(
    State(reg): State<Registry>,
    Caller(who): Caller,
    Path(id): Path<i64>,
) -> Result<Response> {
    reg.revoke_token(&who.actor(), who.id, id).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

async fn my_subscriptions(State(reg): State<Registry>, Caller(who): Caller) -> Result<Response> {
    Ok(Json(reg.subscriptions(Some(who.id)).await?).into_response())
}

/// A new subscription: 201 with it and, for a webhook, its signing secret
/// (shown this once).
async fn create_subscription(
    State(reg): State<Registry>,
    Caller(who): Caller,
    axum::Extension(hosts): axum::Extension<crate::deliver::WebhookHosts>,
    body: JsonBody<shared::notify::SubscriptionForm>,
) -> Result<Response> {
    let Json(form) = body.map_err(json_rejection)?;
    let cables: Vec<String> = reg.cables().iter().map(|c| c.abbrev.clone()).collect();
    let d = form
        .validate(&hosts.0, &cables)
        .map_err(ApiError::invalid)?;
    let (sub, secret) = reg.create_subscription(&who.actor(), who.id, &d).await?;
    Ok((
        StatusCode::CREATED,
        Json(serde_json::json!({ "subscription": sub, "secret": secret })),
    )
        .into_response())
}

async fn remove_subscription(
    State(reg): State<Registry>,
    Caller(who): Caller,
    Path(id): Path<i64>,
) -> Result<Response> {
    reg.remove_subscription(&who.actor(), who.id, id).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

#[derive(Deserialize)]
struct OutboxQuery {
    subscription: Option<i64>,
}

/// The caller's messages with their delivery logs, newest first.
async fn my_notifications(
    State(reg): State<Registry>,
    Caller(who): Caller,
    Query(q): Query<OutboxQuery>,
) -> Result<Response> {
    Ok(Json(reg.outbox(Some(who.id), q.subscription, 100).await?).into_response())
}

/// Every message with its delivery log (admins).
async fn outbox(State(reg): State<Registry>, Query(q): Query<OutboxQuery>) -> Result<Response> {
    Ok(Json(reg.outbox(None, q.subscription, 200).await?).into_response())
}

async fn kiosks(State(reg): State<Registry>) -> Result<Response> {
    Ok(Json(reg.kiosks().await?).into_response())
}

/// Kiosk screens expire after this many days unless told otherwise.
pub const KIOSK_DEFAULT_DAYS: i64 = 90;

async fn create_kiosk(
    State(reg): State<Registry>,
    Caller(who): Caller,
    body: JsonBody<NewSecretBody>,
) -> Result<Response> {
    let Json(b) = body.map_err(json_rejection)?;
    let days = b.expires_days.unwrap_or(KIOSK_DEFAULT_DAYS);
    let k = match b.exercise {
        Some(ex) => {
            reg.create_exercise_kiosk(&who.actor(), &b.label, days, ex)
                .await?
        }
        None => reg.create_kiosk(&who.actor(), &b.label, days).await?,
    };
    Ok((StatusCode::CREATED, Json(k)).into_response())
}

async fn revoke_kiosk(
    State(reg): State<Registry>,
    Caller(who): Caller,
    Path(id): Path<i64>,
) -> Result<Response> {
    reg.revoke_kiosk(&who.actor(), id).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

async fn users(State(reg): State<Registry>) -> Result<Response> {
    Ok(Json(reg.users().await?).into_response())
}

async fn audit(
    State(reg): State<Registry>,
    Query(f): Query<shared::auth::AuditFilter>,
) -> Result<Response> {
    Ok(Json(reg.audit(&f).await?).into_response())
}

/// An RFC 7946 answer (`application/geo+json`).
fn geojson(fc: geojson::FeatureCollection) -> Response {
    ([(header::CONTENT_TYPE, "application/geo+json")], Json(fc)).into_response()
}

async fn cables_geojson(State(reg): State<Registry>) -> Result<Response> {
    let faults = reg.faults(false).await?;
    let maint: Vec<_> = reg
        .maintenance()
        .await?
        .into_iter()
        .map(|m| m.line)
        .collect();
    Ok(geojson(shared::map::cables_geojson(
        reg.cables(),
        &faults,
        &maint,
    )))
}

async fn faults_geojson(
    State(reg): State<Registry>,
    Query(q): Query<ListQuery>,
) -> Result<Response> {
    let all = matches!(q.status.as_deref(), Some("all"));
    let faults = reg.faults(all).await?;
    Ok(geojson(shared::map::faults_geojson(
        &faults,
        reg.cables(),
        reg.stations(),
    )))
}

async fn stations_geojson(State(reg): State<Registry>) -> Result<Response> {
    Ok(geojson(shared::map::stations_geojson(reg.stations())))
}

async fn list_assets(
    State(reg): State<Registry>,
    Query(f): Query<AssetFilter>,
    Query(q): Query<AsOfQuery>,
) -> Result<Response> {
    let list = match as_of(q.as_of.as_deref())? {
        None => reg.list_assets(&f).await?,
        Some(at) => reg.list_assets_as_of(&f, at).await?,
    };
    Ok(Json(list).into_response())
}

async fn get_asset(
    State(reg): State<Registry>,
    ex: Ex,
    Path(id): Path<i64>,
    Query(q): Query<AsOfQuery>,
) -> Result<Response> {
    let at = as_of(q.as_of.as_deref())?;
    not_both(&ex, &at)?;
    if let Some(axum::Extension(InExercise(ex))) = ex {
        return Ok(Json(reg.exercise_asset(&ex, id).await?).into_response());
    }
    let detail = match at {
        None => reg.asset(id).await?,
        Some(at) => reg.asset_as_of(id, at).await?,
    };
    Ok(Json(detail).into_response())
}

async fn create_asset(
    State(reg): State<Registry>,
    Caller(who): Caller,
    body: JsonBody<AssetForm>,
) -> Result<Response> {
    let Json(form) = body.map_err(json_rejection)?;
    let a = reg.create_asset(&who.actor(), &form).await?;
    Ok((StatusCode::CREATED, Json(a)).into_response())
}

#[derive(Deserialize)]
struct AssetPatch {
    version: i64,
    #[serde(flatten)]
    form: AssetForm,
}

async fn update_asset(
    State(reg): State<Registry>,
    Caller(who): Caller,
    ex: Ex,
    Path(id): Path<i64>,
    body: JsonBody<AssetPatch>,
) -> Result<Response> {
    let Json(p) = body.map_err(json_rejection)?;
    if let Some(axum::Extension(InExercise(ex))) = ex {
        let actor = who.actor();
        let a = reg.update_asset_in(&ex, &actor, id, p.version, &p.form);
        return Ok(Json(a.await?).into_response());
    }
    Ok(Json(
        reg.update_asset(&who.actor(), id, p.version, &p.form)
            .await?,
    )
    .into_response())
}

#[derive(Deserialize)]
struct ImportQuery {
    /// `csv` or `geojson`; judged from the body when absent.
    format: Option<String>,
    /// `true`: say what would change, write nothing.
    #[serde(default)]
    dry_run: bool,
}

async fn import_assets(
    State(reg): State<Registry>,
    Caller(who): Caller,
    Query(q): Query<ImportQuery>,
    body: String,
) -> Result<Response> {
    let format = crate::assets::ImportFormat::detect(q.format.as_deref(), &body);
    Ok(Json(
        reg.import_assets(&who.actor(), format, &body, !q.dry_run)
            .await?,
    )
    .into_response())
}

async fn assets_geojson(
    State(reg): State<Registry>,
    Query(f): Query<AssetFilter>,
    Query(q): Query<AsOfQuery>,
) -> Result<Response> {
    let assets = reg.assets_matching(&f, as_of(q.as_of.as_deref())?).await?;
    Ok(geojson(shared::assets::assets_geojson(&assets)))
}

async fn assets_csv(
    State(reg): State<Registry>,
    Query(f): Query<AssetFilter>,
    Query(q): Query<AsOfQuery>,
) -> Result<Response> {
    let assets = reg.assets_matching(&f, as_of(q.as_of.as_deref())?).await?;
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8"),
            (
                header::CONTENT_DISPOSITION,
                "attachment; filename=\"cablewatch-assets.csv\"",
            ),
        ],
        shared::assets::write_csv(assets.iter().map(|a| &a.draft)),
    )
        .into_response())
}

async fn resilience(
    State(reg): State<Registry>,
    ex: Ex,
    Query(q): Query<AsOfQuery>,
) -> Result<Response> {
    let at = as_of(q.as_of.as_deref())?;
    not_both(&ex, &at)?;
    let report = match (ex, at) {
        (Some(axum::Extension(InExercise(ex))), _) => reg.resilience_in(&ex).await?,
        (None, None) => reg.resilience().await?,
        (None, Some(at)) => reg.resilience_as_of(at).await?,
    };
    Ok(Json(report).into_response())
}

#[derive(Deserialize)]
struct WhatIfBody {
    cut: Vec<String>,
    /// Over the faults as they stood at a moment (`?as_of=`'s forms).
    #[serde(default)]
    as_of: Option<String>,
}

/// Computes every island's figures with `cut` carrying nothing; writes nothing.
async fn what_if(
    State(reg): State<Registry>,
    ex: Ex,
    body: JsonBody<WhatIfBody>,
) -> Result<Response> {
    let Json(b) = body.map_err(json_rejection)?;
    let at = as_of(b.as_of.as_deref())?;
    not_both(&ex, &at)?;
    let report = match ex {
        Some(axum::Extension(InExercise(ex))) => reg.what_if_in(&ex, &b.cut).await?,
        None => reg.what_if(&b.cut, at).await?,
    };
    Ok(Json(report).into_response())
}

#[derive(Deserialize)]
struct ContingencyQuery {
    k: Option<String>,
    as_of: Option<String>,
}

/// `?k=1` (default) or `?k=2`: the contingencies that leave some island
/// worse off, worst first.
async fn contingencies(
    State(reg): State<Registry>,
    ex: Ex,
    Query(q): Query<ContingencyQuery>,
) -> Result<Response> {
    let k = match q.k.as_deref().map(str::trim) {
        None | Some("") | Some("1") => 1,
        Some("2") => 2,
        Some(other) => {
            return Err(ApiError::invalid(vec![shared::fault::FieldError::new(
                "k",
                "bad_choice",
                format!("k is 1 or 2, not {other:?}"),
            )])
            .into())
        }
    };
    let at = as_of(q.as_of.as_deref())?;
    not_both(&ex, &at)?;
    let sweep = match ex {
        Some(axum::Extension(InExercise(ex))) => reg.contingencies_in(&ex, k).await?,
        None => reg.contingencies(k, at).await?,
    };
    Ok(Json(sweep.contingencies).into_response())
}

async fn figures(State(reg): State<Registry>) -> Result<Response> {
    Ok(Json(reg.figures().await?).into_response())
}

/// A figure edit: `value` a number, a numeric string, or null (no figure).
#[derive(Deserialize)]
struct FigureBody {
    value: Option<serde_json::Value>,
    #[serde(default)]
    basis: String,
    #[serde(default)]
    source: String,
    version: i64,
}

async fn set_figure(
    State(reg): State<Registry>,
    Caller(who): Caller,
    Path(key): Path<String>,
    body: JsonBody<FigureBody>,
) -> Result<Response> {
    let Json(b) = body.map_err(json_rejection)?;
    let form = shared::resilience::FigureForm {
        value: match b.value {
            None | Some(serde_json::Value::Null) => String::new(),
            Some(serde_json::Value::String(s)) => s,
            Some(other) => other.to_string(),
        },
        basis: b.basis,
        source: b.source,
    };
    Ok(Json(reg.set_figure(&who.actor(), &key, &form, b.version).await?).into_response())
}

async fn repairs_board(State(reg): State<Registry>, ex: Ex) -> Result<Response> {
    if let Some(axum::Extension(InExercise(ex))) = ex {
        return Ok(Json(reg.repairs_board_in(&ex).await?).into_response());
    }
    Ok(Json(reg.repairs_board().await?).into_response())
}

#[derive(Deserialize)]
struct RepairBody {
    #[serde(flatten)]
    form: shared::repair::RepairForm,
    version: i64,
}

async fn set_repair(
    State(reg): State<Registry>,
    Caller(who): Caller,
    Path(id): Path<i64>,
    body: JsonBody<RepairBody>,
) -> Result<Response> {
    let Json(b) = body.map_err(json_rejection)?;
    Ok(Json(reg.set_repair(&who.actor(), id, &b.form, b.version).await?).into_response())
}

#[derive(Deserialize)]
struct ShipBody {
    state: String,
    version: i64,
}

async fn set_ship_state(
    State(reg): State<Registry>,
    Caller(who): Caller,
    Path(id): Path<i64>,
    body: JsonBody<ShipBody>,
) -> Result<Response> {
    let Json(b) = body.map_err(json_rejection)?;
    let state = reg
        .set_ship_state(&who.actor(), id, &b.state, b.version)
        .await?;
    Ok(Json(serde_json::json!({ "id": id, "state": state })).into_response())
}

#[derive(Deserialize)]
struct ChartQuery {
    from: Option<String>,
    to: Option<String>,
    lang: Option<String>,
    fault: Option<i64>,
    cable: Option<String>,
    /// With no `from`: the period is the `days` (default 90) before `to`.
    days: Option<i64>,
}

/// The longest period an outage chart covers (ten years).
const MAX_CHART_DAYS: i64 = 3_660;

fn chart_day(field: &str, v: Option<&str>) -> Result<Option<NaiveDate>> {
    v.filter(|s| !s.trim().is_empty())
        .map(|s| {
            NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d").map_err(|_| {
                Error(ApiError {
                    field: Some(field.into()),
                    ..ApiError::bad_request(format!(
                        "{field} must be a date like 2026-02-14, not {s:?}"
                    ))
                })
            })
        })
        .transpose()
}

/// `GET /api/v1/charts/{outages|eta-drift|capacity}.{svg|png}`: a chart
/// drawn on the server (`crate::charts`), in zh-TW or (`?lang=en`) English;
/// PNG at twice the SVG's size, text in the bundled font.
/// `outages.svg?from=&to=&cable=&days=` (default: the 90 days to today),
/// `eta-drift.svg?fault=ID`, `capacity.svg`.
async fn chart(
    State(reg): State<Registry>,
    Path(name): Path<String>,
    Query(q): Query<ChartQuery>,
) -> Result<Response> {
    use crate::charts;
    let lang = charts::Lang::parse(q.lang.as_deref());
    let today = shared::history::taipei_day(&chrono::Utc::now());
    // Each chart as SVG or (rasterised with the bundled font) PNG.
    let (base, png) = match name.rsplit_once('.') {
        Some((b, "svg")) => (b, false),
        Some((b, "png")) => (b, true),
        _ => ("", false),
    };
    let drawn = match base {
        "outages" => {
            let to = chart_day("to", q.to.as_deref())?.unwrap_or(today);
            let days = q.days.unwrap_or(90).clamp(1, MAX_CHART_DAYS);
            let from =
                chart_day("from", q.from.as_deref())?.unwrap_or(to - chrono::Duration::days(days));
            let span = (to - from).num_days();
            if !(1..=MAX_CHART_DAYS).contains(&span) {
                return Err(Error(ApiError {
                    field: Some("from".into()),
                    ..ApiError::bad_request(format!(
                        "from must be before to, at most {MAX_CHART_DAYS} days apart"
                    ))
                }));
            }
            let mut faults = reg.faults(true).await?;
            if let Some(c) = q.cable.as_deref().filter(|c| !c.is_empty()) {
                faults.retain(|f| f.cable == c);
            }
            charts::gantt(&shared::chart::gantt(&faults, from, to), from, to, lang)
        }
        "eta-drift" => {
            let id = q.fault.ok_or_else(|| {
                Error(ApiError {
                    field: Some("fault".into()),
                    ..ApiError::bad_request("fault= (a fault id) is required")
                })
            })?;
            let d = reg.fault(id).await?;
            let steps = shared::chart::eta_drift(&d.eta_history);
            charts::eta_drift(&d.fault.cable, &steps, today, lang)
        }
        "capacity" => {
            let report = reg.resilience().await?;
            let islands: Vec<_> = shared::chart::capacity(&report)
                .into_iter()
                .map(|c| {
                    let label = match lang {
                        charts::Lang::En => c.region.name_en(),
                        charts::Lang::ZhTw => c.region.name_zh(),
                    };
                    (c, label.to_string())
                })
                .collect();
            charts::capacity(&islands, lang)
        }
        _ => {
            return Err(Error(ApiError::not_found(format!(
                "no chart {name:?}: outages, eta-drift or capacity, each .svg or .png"
            ))))
        }
    };
    let internal = |e: String| {
        tracing::error!(error = %e, chart = %name, "drawing a chart");
        Error(ApiError::internal())
    };
    let svg = drawn.map_err(internal)?;
    if !png {
        return Ok((
            [(header::CONTENT_TYPE, "image/svg+xml; charset=utf-8")],
            svg,
        )
            .into_response());
    }
    let bytes = tokio::task::spawn_blocking(move || crate::export::raster(&svg, 2.0))
        .await
        .map_err(|e| internal(e.to_string()))?
        .map_err(|e| internal(e.to_string()))?;
    Ok(([(header::CONTENT_TYPE, "image/png")], bytes).into_response())
}

#[derive(Deserialize)]
struct BriefingQuery {
    as_of: Option<String>,
    lang: Option<String>,
}

#[derive(Debug, Clone, Copy)]
enum Format {
    Svg,
    Png,
    Pdf,
}

/// `GET /api/v1/briefing.svg|.png|.pdf?as_of=&lang=`: the one-page
/// briefing (now, or as it stood at `as_of`), bilingual, in the bundled font.
async fn briefing_export(
    State(reg): State<Registry>,
    Query(q): Query<BriefingQuery>,
    format: Format,
) -> Result<Response> {
    let at = as_of(q.as_of.as_deref())?;
    let lang = crate::charts::Lang::parse(q.lang.as_deref());
    let b = reg.briefing(at).await?;
    let to = shared::history::taipei_day(&b.at);
    let from = to - chrono::Duration::days(90);
    let faults = reg.faults_as_of(true, at).await?;
    let internal = |e: String| {
        tracing::error!(error = %e, "drawing the briefing export");
        Error(ApiError::internal())
    };
    let gantt = crate::charts::gantt(&shared::chart::gantt(&faults, from, to), from, to, lang)
        .map_err(internal)?;
    let svg = crate::export::briefing_svg(&b, &gantt, lang, at.is_some());
    let stamp = shared::history::as_of_param(&b.at).replace([':', 'T'], "");
    // Drawing a page is CPU work: off the runtime's threads.
    let (bytes, mime, ext) = tokio::task::spawn_blocking(move || match format {
        Format::Svg => Ok((svg.into_bytes(), "image/svg+xml; charset=utf-8", "svg")),
        Format::Png => crate::export::png(&svg).map(|b| (b, "image/png", "png")),
        Format::Pdf => crate::export::pdf(&svg).map(|b| (b, "application/pdf", "pdf")),
    })
    .await
    .map_err(|e| internal(e.to_string()))?
    .map_err(|e| internal(e.to_string()))?;
    let disposition = format!("inline; filename=\"cablewatch-briefing-{stamp}.{ext}\"");
    Ok((
        [
            (header::CONTENT_TYPE, mime.to_string()),
            (header::CONTENT_DISPOSITION, disposition),
        ],
        bytes,
    )
        .into_response())
}

/// Every exercise with its phase, the newest start first.
async fn list_exercises(State(reg): State<Registry>) -> Result<Response> {
    let now = chrono::Utc::now();
    let list: Vec<_> = reg
        .exercises()
        .await?
        .into_iter()
        .map(|e| serde_json::json!({ "phase": e.phase(now), "exercise": e }))
        .collect();
    Ok(Json(list).into_response())
}

/// Schedules an exercise (admins): `{"name", "starts_at", "ends_at",
/// "injects"?}` → 201 `{"id", …}`.
async fn create_exercise(
    State(reg): State<Registry>,
    Caller(who): Caller,
    body: JsonBody<shared::exercise::ExerciseForm>,
) -> Result<Response> {
    let Json(form) = body.map_err(json_rejection)?;
    let ex = reg.create_exercise(&who.actor(), &form).await?;
    let phase = ex.phase(chrono::Utc::now());
    Ok((
        StatusCode::CREATED,
        Json(serde_json::json!({ "id": ex.id, "phase": phase, "exercise": ex })),
    )
        .into_response())
}

async fn get_exercise(State(reg): State<Registry>, Path(id): Path<i64>) -> Result<Response> {
    let ex = reg.exercise(id).await?;
    let phase = ex.phase(chrono::Utc::now());
    Ok(Json(serde_json::json!({ "id": ex.id, "phase": phase, "exercise": ex })).into_response())
}

/// The exercise's report: its timeline and response times.
async fn exercise_report(State(reg): State<Registry>, Path(id): Path<i64>) -> Result<Response> {
    Ok(Json(reg.exercise_report(id).await?).into_response())
}

/// The report's timeline as CSV, marked as an exercise in its first line
/// and its file name.
async fn exercise_report_csv(State(reg): State<Registry>, Path(id): Path<i64>) -> Result<Response> {
    let r = reg.exercise_report(id).await?;
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"exercise-{id}-report.csv\""),
            ),
        ],
        shared::exercise::report_csv(&r),
    )
        .into_response())
}
