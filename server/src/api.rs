//! The JSON API under `/api/v1`. Handlers only translate HTTP to registry
//! calls; errors are answered as `{error, message, field?}` with their status.

use axum::extract::{Path, Query, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use shared::api::{ApiError, AssetDetail, AssetList, FaultDetail, NoticeReport};
use shared::assets::{Asset, AssetFilter, AssetForm};
use shared::auth::{NewSecret, TokenInfo, UserInfo};
use shared::event::Event;
use shared::fault::{Fault, FaultForm};
use shared::maintenance::{Maintenance, MaintenanceForm};
use shared::notify::Subscription;
use shared::watch::Alert;
use utoipa::{IntoParams, ToSchema};

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
        .route("/briefing.svg", get(briefing_svg))
        .route("/briefing.png", get(briefing_png))
        .route("/briefing.pdf", get(briefing_pdf))
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

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
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
#[utoipa::path(
    get,
    path = "/api/v1/events",
    tag = "watch",
    params(EventsQuery, ("Last-Event-ID" = Option<i64>, Header, description = "Resume after this event (its `seq`); sent by EventSource on reconnect")),
    responses((status = 200, description = "Server-sent events: each event of the log with its `seq` as id, then `ready`, then live events and a `heartbeat` every 10 s; `signed_out` when the reader's access ends", body = String, content_type = "text/event-stream"), (status = 400, description = "A malformed query or body (`bad_request`)", body = ApiError))
)]
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

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct AlertsQuery {
    /// `open` (default) or `all`.
    status: Option<String>,
}

#[utoipa::path(
    get,
    path = "/api/v1/alerts",
    tag = "watch",
    params(AlertsQuery),
    responses((status = 200, description = "The alerts, newest first", body = Vec<Alert>), (status = 400, description = "A malformed query or body (`bad_request`)", body = ApiError))
)]
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

#[utoipa::path(
    post,
    path = "/api/v1/alerts/{id}/ack",
    tag = "watch",
    params(("id" = i64, Path, description = "The alert")),
    responses((status = 200, description = "The alert, acknowledged (acknowledging again changes nothing)", body = Alert), (status = 404, description = "No such alert (`not_found`)", body = ApiError))
)]
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

#[utoipa::path(
    get,
    path = "/api/v1/watch",
    tag = "watch",
    params(AsOfQuery),
    responses((status = 200, description = "The status board", body = shared::watch::Board), (status = 400, description = "A malformed query or body (`bad_request`)", body = ApiError))
)]
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
#[utoipa::path(
    get,
    path = "/api/v1/healthz",
    tag = "operations",
    responses((status = 200, description = "The server and its database answer", body = Health), (status = 503, description = "Degraded: the last write could not be stored (a full disk)", body = Health))
)]
async fn healthz(State(reg): State<Registry>) -> Result<Response> {
    reg.event_count().await?;
    if reg.storage_full() {
        return Ok((
            axum::http::StatusCode::SERVICE_UNAVAILABLE,
            Json(Health {
                status: "degraded",
                storage: "full",
                message: Some(
                    "the last write could not be stored: the disk is full; reads still work",
                ),
            }),
        )
            .into_response());
    }
    Ok(Json(Health {
        status: "ok",
        storage: "ok",
        message: None,
    })
    .into_response())
}

/// The answer of `/healthz`.
#[derive(Serialize, ToSchema)]
struct Health {
    /// `ok` or `degraded`.
    status: &'static str,
    /// `ok`, or `full` while writes cannot be stored.
    storage: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    message: Option<&'static str>,
}

/// The answer of `/readyz`.
#[derive(Serialize, ToSchema)]
struct Ready {
    /// `ready` or `not_ready`.
    status: &'static str,
    /// Why not: `database`, `live stream not started` or `live stream behind the log`.
    #[serde(skip_serializing_if = "Option::is_none")]
    reason: Option<&'static str>,
    /// Committed events the live stream has not yet published (null when unknown).
    pump_lag: Option<i64>,
}

/// How long `/readyz` waits for the live stream to publish what was
/// committed before it says "not ready": a busy server's pump is a few
/// milliseconds behind, which is not a reason to take it out of service.
const READY_WAIT: std::time::Duration = std::time::Duration::from_secs(1);

/// Ready to serve: the database answers and the live stream has published
/// every committed event (`pump_lag` 0). Otherwise 503 saying which.
#[utoipa::path(
    get,
    path = "/api/v1/readyz",
    tag = "operations",
    responses((status = 200, description = "Ready: the database answers and the live stream has published every committed event", body = Ready), (status = 503, description = "Not ready, with the reason", body = Ready))
)]
async fn readyz(State(reg): State<Registry>) -> Response {
    let deadline = tokio::time::Instant::now() + READY_WAIT;
    let not_ready = |why: &'static str, lag: Option<i64>| {
        let body = Ready {
            status: "not_ready",
            reason: Some(why),
            pump_lag: lag,
        };
        (StatusCode::SERVICE_UNAVAILABLE, Json(body)).into_response()
    };
    loop {
        match reg.pump_lag().await {
            Err(e) => {
                tracing::warn!(error = %e.message, "readyz: the database does not answer");
                return not_ready("database", None);
            }
            Ok(None) => return not_ready("live stream not started", None),
            Ok(Some(0)) => {
                let body = Ready {
                    status: "ready",
                    reason: None,
                    pump_lag: Some(0),
                };
                return Json(body).into_response();
            }
            Ok(Some(lag)) if tokio::time::Instant::now() >= deadline => {
                return not_ready("live stream behind the log", Some(lag))
            }
            Ok(Some(_)) => tokio::time::sleep(std::time::Duration::from_millis(20)).await,
        }
    }
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
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

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct AsOfQuery {
    as_of: Option<String>,
}

#[utoipa::path(
    get,
    path = "/api/v1/faults",
    tag = "faults",
    params(ListQuery),
    responses((status = 200, description = "The open faults (or all, or as they stood at `as_of`)", body = Vec<Fault>), (status = 400, description = "A malformed query or body (`bad_request`)", body = ApiError))
)]
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

#[utoipa::path(
    get,
    path = "/api/v1/faults/{id}",
    tag = "faults",
    params(("id" = i64, Path, description = "The fault"), AsOfQuery),
    responses((status = 200, description = "The fault with its history, ETA changes and repair", body = FaultDetail), (status = 400, description = "A malformed query or body (`bad_request`)", body = ApiError), (status = 404, description = "No such fault (`not_found`)", body = ApiError))
)]
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

#[utoipa::path(
    post,
    path = "/api/v1/faults",
    tag = "faults",
    request_body = FaultForm,
    responses((status = 201, description = "The fault, logged", body = Fault), (status = 400, description = "A malformed query or body (`bad_request`)", body = ApiError), (status = 409, description = "The same fault (cable, date and place) is already logged (`conflict`)", body = ApiError), (status = 422, description = "Bad fields, each named in `fields` (`invalid`)", body = ApiError))
)]
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

/// A fault edit: the form with the version it was made against.
#[derive(Deserialize, ToSchema)]
struct FaultPatch {
    version: i64,
    #[serde(flatten)]
    form: FaultForm,
}

#[utoipa::path(
    patch,
    path = "/api/v1/faults/{id}",
    tag = "faults",
    params(("id" = i64, Path, description = "The fault")),
    request_body = FaultPatch,
    responses((status = 200, description = "The fault as edited", body = Fault), (status = 400, description = "A malformed query or body (`bad_request`)", body = ApiError), (status = 404, description = "No such fault (`not_found`)", body = ApiError), (status = 409, description = "Edited against a stale `version` (`conflict`)", body = ApiError), (status = 422, description = "Bad fields, each named in `fields` (`invalid`)", body = ApiError))
)]
async fn update_fault(
    State(reg): State<Registry>,
    Caller(who): Caller,
    ex: Ex,
    Path(id): Path<i64>,
    body: JsonBody<FaultPatch>,
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

#[utoipa::path(
    get,
    path = "/api/v1/cables",
    tag = "reference",
    responses((status = 200, description = "Every cable with its landings, route and sources", body = Vec<shared::reference::Cable>))
)]
async fn cables(State(reg): State<Registry>) -> Json<Vec<shared::reference::Cable>> {
    Json(reg.cables().to_vec())
}

#[utoipa::path(
    get,
    path = "/api/v1/stations",
    tag = "reference",
    responses((status = 200, description = "Every landing station", body = Vec<shared::reference::Station>))
)]
async fn stations(State(reg): State<Registry>) -> Json<Vec<shared::reference::Station>> {
    Json(reg.stations().to_vec())
}

#[utoipa::path(
    post,
    path = "/api/v1/notices",
    tag = "notices",
    request_body(content = String, content_type = "text/plain", description = "The ministry's notice as published (tab-separated text)"),
    responses((status = 200, description = "The notice applied as one write: what was added, changed and closed", body = NoticeReport), (status = 422, description = "Bad lines, each named in `lines` (`bad_notice`); nothing was written", body = ApiError))
)]
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

#[utoipa::path(
    post,
    path = "/api/v1/notices/preview",
    tag = "notices",
    request_body(content = String, content_type = "text/plain", description = "The ministry's notice as published (tab-separated text)"),
    responses((status = 200, description = "What importing the notice would do; nothing is written", body = NoticeReport), (status = 422, description = "Bad lines, each named in `lines` (`bad_notice`)", body = ApiError))
)]
async fn preview_notice(State(reg): State<Registry>, ex: Ex, body: String) -> Result<Response> {
    if let Some(axum::Extension(InExercise(ex))) = ex {
        return Ok(Json(reg.preview_notice_in(&ex, &body).await?).into_response());
    }
    Ok(Json(reg.preview_notice(&body).await?).into_response())
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct ExportQuery {
    as_of: Option<String>,
    dated: Option<String>,
}

/// `GET /api/v1/notices/export`: the notice of what is open now, or (with
/// `?as_of=`, as every read view takes it) as it stood at a moment, dated
/// that day in Taipei; `?dated=` sets the date line alone.
#[utoipa::path(
    get,
    path = "/api/v1/notices/export",
    tag = "notices",
    params(ExportQuery),
    responses((status = 200, description = "The ministry's notice (海纜障礙資訊一覽表) as plain text", body = String, content_type = "text/plain"), (status = 400, description = "A malformed query or body (`bad_request`)", body = ApiError))
)]
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

#[utoipa::path(
    get,
    path = "/api/v1/maintenance",
    tag = "maintenance",
    responses((status = 200, description = "Planned and running maintenance", body = Vec<Maintenance>))
)]
async fn list_maintenance(State(reg): State<Registry>) -> Result<Response> {
    Ok(Json(reg.maintenance().await?).into_response())
}

#[utoipa::path(
    post,
    path = "/api/v1/maintenance",
    tag = "maintenance",
    request_body = MaintenanceForm,
    responses((status = 201, description = "The maintenance, recorded", body = Maintenance), (status = 400, description = "A malformed query or body (`bad_request`)", body = ApiError), (status = 422, description = "Bad fields, each named in `fields` (`invalid`)", body = ApiError))
)]
async fn record_maintenance(
    State(reg): State<Registry>,
    Caller(who): Caller,
    body: JsonBody<MaintenanceForm>,
) -> Result<Response> {
    let Json(form) = body.map_err(json_rejection)?;
    let m = reg.record_maintenance(&who.actor(), &form).await?;
    Ok((StatusCode::CREATED, Json(m)).into_response())
}

#[derive(Deserialize, ToSchema)]
struct CompleteBody {
    version: i64,
    completed_on: NaiveDate,
}

#[utoipa::path(
    post,
    path = "/api/v1/maintenance/{id}/complete",
    tag = "maintenance",
    params(("id" = i64, Path, description = "The maintenance")),
    request_body = CompleteBody,
    responses((status = 200, description = "The maintenance, completed", body = Maintenance), (status = 400, description = "A malformed query or body (`bad_request`)", body = ApiError), (status = 404, description = "No such maintenance (`not_found`)", body = ApiError), (status = 409, description = "Edited against a stale `version` (`conflict`)", body = ApiError), (status = 422, description = "Bad fields, each named in `fields` (`invalid`)", body = ApiError))
)]
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

#[utoipa::path(
    get,
    path = "/api/v1/me/tokens",
    tag = "account",
    responses((status = 200, description = "The caller's API tokens (never their secrets)", body = Vec<TokenInfo>))
)]
async fn my_tokens(State(reg): State<Registry>, Caller(who): Caller) -> Result<Response> {
    Ok(Json(reg.tokens_of(who.id).await?).into_response())
}

/// A new API token or kiosk screen.
#[derive(Deserialize, ToSchema)]
pub struct NewSecretBody {
    /// The token's label, or the kiosk's name.
    #[serde(alias = "name")]
    pub label: String,
    pub expires_days: Option<i64>,
    /// A kiosk made for this exercise (kiosks only).
    #[serde(default)]
    pub exercise: Option<i64>,
}

#[utoipa::path(
    post,
    path = "/api/v1/me/tokens",
    tag = "account",
    request_body = NewSecretBody,
    responses((status = 201, description = "The token, with its secret shown this once", body = NewSecret), (status = 400, description = "A malformed query or body (`bad_request`)", body = ApiError), (status = 422, description = "Bad fields, each named in `fields` (`invalid`)", body = ApiError))
)]
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

#[utoipa::path(
    delete,
    path = "/api/v1/me/tokens/{id}",
    tag = "account",
    params(("id" = i64, Path, description = "The token")),
    responses((status = 204, description = "Revoked: open streams signed in by it close"), (status = 404, description = "No such token (`not_found`)", body = ApiError))
)]
async fn revoke_token(
    State(reg): State<Registry>,
    Caller(who): Caller,
    Path(id): Path<i64>,
) -> Result<Response> {
    reg.revoke_token(&who.actor(), who.id, id).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

#[utoipa::path(
    get,
    path = "/api/v1/me/subscriptions",
    tag = "notifications",
    responses((status = 200, description = "The caller's subscriptions", body = Vec<Subscription>))
)]
async fn my_subscriptions(State(reg): State<Registry>, Caller(who): Caller) -> Result<Response> {
    Ok(Json(reg.subscriptions(Some(who.id)).await?).into_response())
}

/// A new subscription: 201 with it and, for a webhook, its signing secret
/// (shown this once).
#[utoipa::path(
    post,
    path = "/api/v1/me/subscriptions",
    tag = "notifications",
    request_body = shared::notify::SubscriptionForm,
    responses((status = 201, description = "The subscription and, for a webhook, its signing secret (shown this once)", body = NewSubscription), (status = 400, description = "A malformed query or body (`bad_request`)", body = ApiError), (status = 422, description = "Bad fields, each named in `fields` (`invalid`)", body = ApiError))
)]
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
        Json(NewSubscription {
            subscription: sub,
            secret,
        }),
    )
        .into_response())
}

/// A subscription just made.
#[derive(Serialize, ToSchema)]
struct NewSubscription {
    subscription: shared::notify::Subscription,
    /// A webhook's signing secret, shown this once (null for e-mail).
    secret: Option<String>,
}

#[utoipa::path(
    delete,
    path = "/api/v1/me/subscriptions/{id}",
    tag = "notifications",
    params(("id" = i64, Path, description = "The subscription")),
    responses((status = 204, description = "Removed"), (status = 404, description = "No such subscription (`not_found`)", body = ApiError))
)]
async fn remove_subscription(
    State(reg): State<Registry>,
    Caller(who): Caller,
    Path(id): Path<i64>,
) -> Result<Response> {
    reg.remove_subscription(&who.actor(), who.id, id).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct OutboxQuery {
    subscription: Option<i64>,
}

/// The caller's messages with their delivery logs, newest first.
#[utoipa::path(
    get,
    path = "/api/v1/me/notifications",
    tag = "notifications",
    params(OutboxQuery),
    responses((status = 200, description = "The caller's messages with their delivery logs, newest first", body = Vec<shared::notify::Message>))
)]
async fn my_notifications(
    State(reg): State<Registry>,
    Caller(who): Caller,
    Query(q): Query<OutboxQuery>,
) -> Result<Response> {
    Ok(Json(reg.outbox(Some(who.id), q.subscription, 100).await?).into_response())
}

/// Every message with its delivery log (admins).
#[utoipa::path(
    get,
    path = "/api/v1/outbox",
    tag = "notifications",
    params(OutboxQuery),
    responses((status = 200, description = "Every message with its delivery log, newest first", body = Vec<shared::notify::Message>))
)]
async fn outbox(State(reg): State<Registry>, Query(q): Query<OutboxQuery>) -> Result<Response> {
    Ok(Json(reg.outbox(None, q.subscription, 200).await?).into_response())
}

#[utoipa::path(
    get,
    path = "/api/v1/kiosks",
    tag = "access",
    responses((status = 200, description = "The kiosk screens", body = Vec<TokenInfo>))
)]
async fn kiosks(State(reg): State<Registry>) -> Result<Response> {
    Ok(Json(reg.kiosks().await?).into_response())
}

/// Kiosk screens expire after this many days unless told otherwise.
pub const KIOSK_DEFAULT_DAYS: i64 = 90;

#[utoipa::path(
    post,
    path = "/api/v1/kiosks",
    tag = "access",
    request_body = NewSecretBody,
    responses((status = 201, description = "The kiosk screen with its link secret, shown this once", body = NewSecret), (status = 400, description = "A malformed query or body (`bad_request`)", body = ApiError), (status = 404, description = "No such exercise (`not_found`)", body = ApiError), (status = 422, description = "Bad fields, each named in `fields` (`invalid`)", body = ApiError))
)]
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

#[utoipa::path(
    delete,
    path = "/api/v1/kiosks/{id}",
    tag = "access",
    params(("id" = i64, Path, description = "The kiosk screen")),
    responses((status = 204, description = "Revoked: its open streams close"), (status = 404, description = "No such kiosk (`not_found`)", body = ApiError))
)]
async fn revoke_kiosk(
    State(reg): State<Registry>,
    Caller(who): Caller,
    Path(id): Path<i64>,
) -> Result<Response> {
    reg.revoke_kiosk(&who.actor(), id).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

#[utoipa::path(
    get,
    path = "/api/v1/users",
    tag = "access",
    responses((status = 200, description = "Every user with their role", body = Vec<UserInfo>))
)]
async fn users(State(reg): State<Registry>) -> Result<Response> {
    Ok(Json(reg.users().await?).into_response())
}

#[utoipa::path(
    get,
    path = "/api/v1/audit",
    tag = "access",
    params(shared::auth::AuditFilter),
    responses((status = 200, description = "The audit trail: events of the log matching the filter, newest first", body = Vec<Event>), (status = 400, description = "A malformed query or body (`bad_request`)", body = ApiError))
)]
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

#[utoipa::path(
    get,
    path = "/api/v1/cables.geojson",
    tag = "reference",
    responses((status = 200, description = "The cables as an RFC 7946 FeatureCollection (schematic routes, with their state)", body = Object, content_type = "application/geo+json"))
)]
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

#[utoipa::path(
    get,
    path = "/api/v1/faults.geojson",
    tag = "faults",
    params(ListQuery),
    responses((status = 200, description = "The faults as an RFC 7946 FeatureCollection of points", body = Object, content_type = "application/geo+json"))
)]
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

#[utoipa::path(
    get,
    path = "/api/v1/stations.geojson",
    tag = "reference",
    responses((status = 200, description = "The landing stations as an RFC 7946 FeatureCollection", body = Object, content_type = "application/geo+json"))
)]
async fn stations_geojson(State(reg): State<Registry>) -> Result<Response> {
    Ok(geojson(shared::map::stations_geojson(reg.stations())))
}

#[utoipa::path(
    get,
    path = "/api/v1/assets",
    tag = "assets",
    params(AssetFilter, AsOfQuery),
    responses((status = 200, description = "The assets matching the filter, with counts", body = AssetList), (status = 400, description = "A malformed query or body (`bad_request`)", body = ApiError))
)]
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

#[utoipa::path(
    get,
    path = "/api/v1/assets/{id}",
    tag = "assets",
    params(("id" = i64, Path, description = "The asset"), AsOfQuery),
    responses((status = 200, description = "The asset with its history", body = AssetDetail), (status = 400, description = "A malformed query or body (`bad_request`)", body = ApiError), (status = 404, description = "No such asset (`not_found`)", body = ApiError))
)]
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

#[utoipa::path(
    post,
    path = "/api/v1/assets",
    tag = "assets",
    request_body = AssetForm,
    responses((status = 201, description = "The asset, registered", body = Asset), (status = 400, description = "A malformed query or body (`bad_request`)", body = ApiError), (status = 422, description = "Bad fields, each named in `fields` (`invalid`)", body = ApiError))
)]
async fn create_asset(
    State(reg): State<Registry>,
    Caller(who): Caller,
    body: JsonBody<AssetForm>,
) -> Result<Response> {
    let Json(form) = body.map_err(json_rejection)?;
    let a = reg.create_asset(&who.actor(), &form).await?;
    Ok((StatusCode::CREATED, Json(a)).into_response())
}

#[derive(Deserialize, ToSchema)]
struct AssetPatch {
    version: i64,
    #[serde(flatten)]
    form: AssetForm,
}

#[utoipa::path(
    patch,
    path = "/api/v1/assets/{id}",
    tag = "assets",
    params(("id" = i64, Path, description = "The asset")),
    request_body = AssetPatch,
    responses((status = 200, description = "The asset as edited", body = Asset), (status = 400, description = "A malformed query or body (`bad_request`)", body = ApiError), (status = 404, description = "No such asset (`not_found`)", body = ApiError), (status = 409, description = "Edited against a stale `version` (`conflict`)", body = ApiError), (status = 422, description = "Bad fields, each named in `fields` (`invalid`)", body = ApiError))
)]
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

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct ImportQuery {
    /// `csv` or `geojson`; judged from the body when absent.
    format: Option<String>,
    /// `true`: say what would change, write nothing.
    #[serde(default)]
    dry_run: bool,
}

#[utoipa::path(
    post,
    path = "/api/v1/assets/import",
    tag = "assets",
    params(ImportQuery),
    request_body(content = String, content_type = "text/plain", description = "Assets as CSV (the export's columns) or a GeoJSON FeatureCollection"),
    responses((status = 200, description = "What the import did (or, with `dry_run`, would do)", body = shared::assets::AssetImportReport), (status = 422, description = "Bad lines or features, each named (`bad_import`); nothing was written", body = ApiError))
)]
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

#[utoipa::path(
    get,
    path = "/api/v1/assets.geojson",
    tag = "assets",
    params(AssetFilter, AsOfQuery),
    responses((status = 200, description = "The assets as an RFC 7946 FeatureCollection", body = Object, content_type = "application/geo+json"), (status = 400, description = "A malformed query or body (`bad_request`)", body = ApiError))
)]
async fn assets_geojson(
    State(reg): State<Registry>,
    Query(f): Query<AssetFilter>,
    Query(q): Query<AsOfQuery>,
) -> Result<Response> {
    let assets = reg.assets_matching(&f, as_of(q.as_of.as_deref())?).await?;
    Ok(geojson(shared::assets::assets_geojson(&assets)))
}

#[utoipa::path(
    get,
    path = "/api/v1/assets.csv",
    tag = "assets",
    params(AssetFilter, AsOfQuery),
    responses((status = 200, description = "The assets as CSV, in the import's columns", body = String, content_type = "text/csv"), (status = 400, description = "A malformed query or body (`bad_request`)", body = ApiError))
)]
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

#[utoipa::path(
    get,
    path = "/api/v1/resilience",
    tag = "resilience",
    params(AsOfQuery),
    responses((status = 200, description = "Every island's capacity, demand and carriers", body = shared::resilience::Report), (status = 400, description = "A malformed query or body (`bad_request`)", body = ApiError))
)]
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

#[derive(Deserialize, ToSchema)]
struct WhatIfBody {
    cut: Vec<String>,
    /// Over the faults as they stood at a moment (`?as_of=`'s forms).
    #[serde(default)]
    as_of: Option<String>,
}

/// Computes every island's figures with `cut` carrying nothing; writes nothing.
#[utoipa::path(
    post,
    path = "/api/v1/resilience/what-if",
    tag = "resilience",
    request_body = WhatIfBody,
    responses((status = 200, description = "Every island's figures with the named cables carrying nothing; nothing is written", body = shared::resilience::Report), (status = 400, description = "A malformed query or body (`bad_request`)", body = ApiError), (status = 422, description = "Bad fields, each named in `fields` (`invalid`)", body = ApiError))
)]
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

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct ContingencyQuery {
    k: Option<String>,
    as_of: Option<String>,
}

/// `?k=1` (default) or `?k=2`: the contingencies that leave some island
/// worse off, worst first.
#[utoipa::path(
    get,
    path = "/api/v1/resilience/contingencies",
    tag = "resilience",
    params(ContingencyQuery),
    responses((status = 200, description = "The cuts of one (or two) more links that leave some island worse off, worst first", body = Vec<shared::resilience::contingency::Contingency>), (status = 400, description = "A malformed query or body (`bad_request`)", body = ApiError), (status = 422, description = "Bad fields, each named in `fields` (`invalid`)", body = ApiError))
)]
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

#[utoipa::path(
    get,
    path = "/api/v1/resilience/figures",
    tag = "resilience",
    responses((status = 200, description = "Every capacity and demand figure with its basis and source (estimates labelled)", body = Vec<shared::resilience::figures::Figure>))
)]
async fn figures(State(reg): State<Registry>) -> Result<Response> {
    Ok(Json(reg.figures().await?).into_response())
}

/// A figure edit: `value` a number, a numeric string, or null (no figure).
#[derive(Deserialize, ToSchema)]
struct FigureBody {
    value: Option<serde_json::Value>,
    #[serde(default)]
    basis: String,
    #[serde(default)]
    source: String,
    version: i64,
}

#[utoipa::path(
    patch,
    path = "/api/v1/resilience/figures/{key}",
    tag = "resilience",
    params(("key" = String, Path, description = "The figure")),
    request_body = FigureBody,
    responses((status = 200, description = "The figure as edited", body = shared::resilience::figures::Figure), (status = 400, description = "A malformed query or body (`bad_request`)", body = ApiError), (status = 404, description = "No such figure (`not_found`)", body = ApiError), (status = 409, description = "Edited against a stale `version` (`conflict`)", body = ApiError), (status = 422, description = "Bad fields, each named in `fields` (`invalid`)", body = ApiError))
)]
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

#[utoipa::path(
    get,
    path = "/api/v1/repairs",
    tag = "repairs",
    responses((status = 200, description = "Every open fault's repair with its estimate, and the repair ships", body = shared::repair::RepairsBoard))
)]
async fn repairs_board(State(reg): State<Registry>, ex: Ex) -> Result<Response> {
    if let Some(axum::Extension(InExercise(ex))) = ex {
        return Ok(Json(reg.repairs_board_in(&ex).await?).into_response());
    }
    Ok(Json(reg.repairs_board().await?).into_response())
}

#[derive(Deserialize, ToSchema)]
struct RepairBody {
    #[serde(flatten)]
    form: shared::repair::RepairForm,
    version: i64,
}

#[utoipa::path(
    patch,
    path = "/api/v1/faults/{id}/repair",
    tag = "repairs",
    params(("id" = i64, Path, description = "The fault")),
    request_body = RepairBody,
    responses((status = 200, description = "The repair as edited", body = shared::repair::Repair), (status = 400, description = "A malformed query or body (`bad_request`)", body = ApiError), (status = 404, description = "No such fault (`not_found`)", body = ApiError), (status = 409, description = "Edited against a stale `version` (`conflict`)", body = ApiError), (status = 422, description = "Bad fields, each named in `fields` (`invalid`)", body = ApiError))
)]
async fn set_repair(
    State(reg): State<Registry>,
    Caller(who): Caller,
    Path(id): Path<i64>,
    body: JsonBody<RepairBody>,
) -> Result<Response> {
    let Json(b) = body.map_err(json_rejection)?;
    Ok(Json(reg.set_repair(&who.actor(), id, &b.form, b.version).await?).into_response())
}

#[derive(Deserialize, ToSchema)]
struct ShipBody {
    state: String,
    version: i64,
}

#[utoipa::path(
    patch,
    path = "/api/v1/ships/{id}",
    tag = "repairs",
    params(("id" = i64, Path, description = "The repair ship")),
    request_body = ShipBody,
    responses((status = 200, description = "The ship's new state", body = ShipStateAnswer), (status = 400, description = "A malformed query or body (`bad_request`)", body = ApiError), (status = 404, description = "No such ship (`not_found`)", body = ApiError), (status = 409, description = "Edited against a stale `version` (`conflict`)", body = ApiError), (status = 422, description = "Bad fields, each named in `fields` (`invalid`)", body = ApiError))
)]
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
    Ok(Json(ShipStateAnswer { id, state }).into_response())
}

/// A repair ship's state after an edit.
#[derive(Serialize, ToSchema)]
struct ShipStateAnswer {
    id: i64,
    state: shared::repair::ShipState,
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
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
#[utoipa::path(
    get,
    path = "/api/v1/charts/{name}",
    tag = "briefing",
    params(("name" = String, Path, description = "outages, eta-drift or capacity, each .svg or .png"), ChartQuery),
    responses((status = 200, description = "The chart as SVG", body = String, content_type = "image/svg+xml"), (status = 400, description = "A malformed query or body (`bad_request`)", body = ApiError), (status = 404, description = "No such chart (`not_found`)", body = ApiError))
)]
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

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
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

#[utoipa::path(
    get,
    path = "/api/v1/briefing.svg",
    tag = "briefing",
    params(BriefingQuery),
    responses((status = 200, description = "The one-page briefing as SVG", body = String, content_type = "image/svg+xml"), (status = 400, description = "A malformed query or body (`bad_request`)", body = ApiError))
)]
async fn briefing_svg(reg: State<Registry>, q: Query<BriefingQuery>) -> Result<Response> {
    briefing_export(reg, q, Format::Svg).await
}

#[utoipa::path(
    get,
    path = "/api/v1/briefing.png",
    tag = "briefing",
    params(BriefingQuery),
    responses((status = 200, description = "The one-page briefing as PNG", body = Vec<u8>, content_type = "image/png"), (status = 400, description = "A malformed query or body (`bad_request`)", body = ApiError))
)]
async fn briefing_png(reg: State<Registry>, q: Query<BriefingQuery>) -> Result<Response> {
    briefing_export(reg, q, Format::Png).await
}

#[utoipa::path(
    get,
    path = "/api/v1/briefing.pdf",
    tag = "briefing",
    params(BriefingQuery),
    responses((status = 200, description = "The one-page briefing as PDF", body = Vec<u8>, content_type = "application/pdf"), (status = 400, description = "A malformed query or body (`bad_request`)", body = ApiError))
)]
async fn briefing_pdf(reg: State<Registry>, q: Query<BriefingQuery>) -> Result<Response> {
    briefing_export(reg, q, Format::Pdf).await
}

/// Every exercise with its phase, the newest start first.
#[utoipa::path(
    get,
    path = "/api/v1/exercises",
    tag = "exercises",
    responses((status = 200, description = "Every exercise with its phase, the newest start first", body = Vec<ExerciseView>))
)]
async fn list_exercises(State(reg): State<Registry>) -> Result<Response> {
    let now = chrono::Utc::now();
    let list: Vec<_> = reg
        .exercises()
        .await?
        .into_iter()
        .map(|e| ExerciseView::of(e, now))
        .collect();
    Ok(Json(list).into_response())
}

/// Schedules an exercise (admins): `{"name", "starts_at", "ends_at",
/// "injects"?}` → 201 `{"id", …}`.
#[utoipa::path(
    post,
    path = "/api/v1/exercises",
    tag = "exercises",
    request_body = shared::exercise::ExerciseForm,
    responses((status = 201, description = "The exercise, scheduled", body = ExerciseView), (status = 400, description = "A malformed query or body (`bad_request`)", body = ApiError), (status = 422, description = "Bad fields, each named in `fields` (`invalid`)", body = ApiError))
)]
async fn create_exercise(
    State(reg): State<Registry>,
    Caller(who): Caller,
    body: JsonBody<shared::exercise::ExerciseForm>,
) -> Result<Response> {
    let Json(form) = body.map_err(json_rejection)?;
    let ex = reg.create_exercise(&who.actor(), &form).await?;
    let view = ExerciseView::of(ex, chrono::Utc::now());
    Ok((StatusCode::CREATED, Json(view)).into_response())
}

/// An exercise with its phase now.
#[derive(Serialize, ToSchema)]
struct ExerciseView {
    id: i64,
    phase: shared::exercise::Phase,
    exercise: shared::exercise::Exercise,
}

impl ExerciseView {
    fn of(exercise: shared::exercise::Exercise, now: chrono::DateTime<chrono::Utc>) -> Self {
        Self {
            id: exercise.id,
            phase: exercise.phase(now),
            exercise,
        }
    }
}

#[utoipa::path(
    get,
    path = "/api/v1/exercises/{id}",
    tag = "exercises",
    params(("id" = i64, Path, description = "The exercise")),
    responses((status = 200, description = "The exercise with its phase", body = ExerciseView), (status = 404, description = "No such exercise (`not_found`)", body = ApiError))
)]
async fn get_exercise(State(reg): State<Registry>, Path(id): Path<i64>) -> Result<Response> {
    let ex = reg.exercise(id).await?;
    Ok(Json(ExerciseView::of(ex, chrono::Utc::now())).into_response())
}

/// The exercise's report: its timeline and response times.
#[utoipa::path(
    get,
    path = "/api/v1/exercises/{id}/report",
    tag = "exercises",
    params(("id" = i64, Path, description = "The exercise")),
    responses((status = 200, description = "The exercise's timeline and response times", body = shared::exercise::Report), (status = 404, description = "No such exercise (`not_found`)", body = ApiError))
)]
async fn exercise_report(State(reg): State<Registry>, Path(id): Path<i64>) -> Result<Response> {
    Ok(Json(reg.exercise_report(id).await?).into_response())
}

/// The report's timeline as CSV, marked as an exercise in its first line
/// and its file name.
#[utoipa::path(
    get,
    path = "/api/v1/exercises/{id}/report.csv",
    tag = "exercises",
    params(("id" = i64, Path, description = "The exercise")),
    responses((status = 200, description = "The timeline as CSV, marked as an exercise", body = String, content_type = "text/csv"), (status = 404, description = "No such exercise (`not_found`)", body = ApiError))
)]
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
