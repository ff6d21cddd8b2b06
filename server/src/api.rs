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
use shared::fault::FaultForm;

use crate::Registry;

/// The actor recorded for API writes until API sign-in exists.
const API_ACTOR: &str = "api";

pub struct Error(pub ApiError);

impl From<ApiError> for Error {
    fn from(e: ApiError) -> Self {
        Self(e)
    }
}

impl IntoResponse for Error {
    fn into_response(self) -> Response {
        let status =
            StatusCode::from_u16(self.0.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        (status, Json(self.0)).into_response()
    }
}

type Result<T> = std::result::Result<T, Error>;

pub fn router(reg: Registry) -> Router {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/faults", get(list_faults).post(create_fault))
        .route("/faults/{id}", get(get_fault).patch(update_fault))
        .route("/cables", get(cables))
        .route("/stations", get(stations))
        .route("/notices", axum::routing::post(import_notice))
        .route("/notices/preview", axum::routing::post(preview_notice))
        .route("/notices/export", get(export_notice))
        .fallback(|| async { Error(ApiError::not_found("no such API route")) })
        .with_state(reg)
}

async fn healthz(State(reg): State<Registry>) -> Result<Json<serde_json::Value>> {
    let events = reg.event_count().await?;
    Ok(Json(serde_json::json!({"status": "ok", "events": events})))
}

#[derive(Deserialize)]
struct ListQuery {
    status: Option<String>,
}

async fn list_faults(State(reg): State<Registry>, Query(q): Query<ListQuery>) -> Result<Response> {
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
    Ok(Json(reg.faults(all).await?).into_response())
}

async fn get_fault(State(reg): State<Registry>, Path(id): Path<i64>) -> Result<Response> {
    Ok(Json(reg.fault(id).await?).into_response())
}

async fn create_fault(
    State(reg): State<Registry>,
    body: std::result::Result<Json<FaultForm>, axum::extract::rejection::JsonRejection>,
) -> Result<Response> {
    let Json(form) = body.map_err(|e| ApiError::bad_request(e.body_text()))?;
    let f = reg.create_fault(API_ACTOR, &form).await?;
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
    Path(id): Path<i64>,
    body: std::result::Result<Json<Patch>, axum::extract::rejection::JsonRejection>,
) -> Result<Response> {
    let Json(p) = body.map_err(|e| ApiError::bad_request(e.body_text()))?;
    Ok(Json(reg.update_fault(API_ACTOR, id, p.version, &p.form).await?).into_response())
}

async fn cables(State(reg): State<Registry>) -> Json<Vec<shared::reference::Cable>> {
    Json(reg.cables().to_vec())
}

async fn stations(State(reg): State<Registry>) -> Json<Vec<shared::reference::Station>> {
    Json(reg.stations().to_vec())
}

async fn import_notice(State(reg): State<Registry>, body: String) -> Result<Response> {
    Ok(Json(reg.import_notice(API_ACTOR, &body).await?).into_response())
}

async fn preview_notice(State(reg): State<Registry>, body: String) -> Result<Response> {
    Ok(Json(reg.preview_notice(&body).await?).into_response())
}

#[derive(Deserialize)]
struct ExportQuery {
    as_of: Option<String>,
}

async fn export_notice(
    State(reg): State<Registry>,
    Query(q): Query<ExportQuery>,
) -> Result<Response> {
    let as_of = match q.as_of.as_deref() {
        None | Some("") => chrono::Utc::now().date_naive(),
        Some(s) => NaiveDate::parse_from_str(s, "%Y-%m-%d").map_err(|_| ApiError {
            field: Some("as_of".into()),
            ..ApiError::bad_request(format!("as_of must be a date like 2026-02-14, not {s:?}"))
        })?,
    };
    let text = reg.export_notice(as_of).await?;
    Ok(([(header::CONTENT_TYPE, "text/plain; charset=utf-8")], text).into_response())
}
