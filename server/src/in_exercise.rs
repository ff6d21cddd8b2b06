//! Which exercise a request is in, and what it may do there.
//!
//! A request names an exercise by the `Cablewatch-Exercise` header, the
//! `?exercise=` parameter (reads), or the cookie an officer's switch into
//! one sets (the web UI). [`context`] runs after the guard: it looks the
//! exercise up and puts it in the request's extensions as [`InExercise`],
//! which the handlers that know exercises read. It fails closed:
//! - a write that names an exercise not running is a 409, and one to a route
//!   that cannot write into an exercise ([`crate::policy::EXERCISE_WRITES`])
//!   is a 409 too, so nothing meant for an exercise lands in reality;
//! - a kiosk sees an exercise only if its link was made for that exercise
//!   (then it always does, with the banner); any other shows reality.

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use shared::api::ApiError;
use shared::auth::{Principal, PrincipalKind};
use shared::exercise::Phase;

use crate::error::Error;
use crate::Registry;

pub use shared::exercise::InExercise;

/// The exercise id a request names, and whether it came from the officer's
/// switch (the cookie) rather than the request itself.
fn named(req: &Request) -> Result<Option<(i64, bool)>, ApiError> {
    let bad = |s: &str| ApiError {
        field: Some("exercise".into()),
        ..ApiError::bad_request(format!("an exercise is named by its number, not {s:?}"))
    };
    let parse = |s: &str| s.trim().parse::<i64>().map_err(|_| bad(s));
    if let Some(v) = req.headers().get(shared::exercise::HEADER) {
        let s = v.to_str().map_err(|_| bad("?"))?;
        return Ok(Some((parse(s)?, false)));
    }
    if let Some(q) = req.uri().query() {
        let pairs: Vec<(String, String)> = serde_urlencoded::from_str(q).unwrap_or_default();
        if let Some((_, v)) = pairs.iter().find(|(k, _)| k == shared::exercise::PARAM) {
            return Ok(Some((parse(v)?, false)));
        }
    }
    for v in req.headers().get_all(axum::http::header::COOKIE) {
        let Ok(s) = v.to_str() else { continue };
        for c in s.split(';') {
            if let Some((k, v)) = c.trim().split_once('=') {
                if k == shared::exercise::COOKIE {
                    // A cookie that does not parse is ignored, not an error:
                    // the user cannot see it to fix it.
                    if let Ok(id) = v.trim().parse::<i64>() {
                        return Ok(Some((id, true)));
                    }
                }
            }
        }
    }
    Ok(None)
}

/// Middleware: see the module.
pub async fn context(State(reg): State<Registry>, mut req: Request, next: Next) -> Response {
    let kiosk = req
        .extensions()
        .get::<Principal>()
        .filter(|p| p.kind == PrincipalKind::Kiosk)
        .map(|p| p.id);
    let named = match named(&req) {
        Ok(n) => n,
        Err(e) => return Error(e).into_response(),
    };
    if let Some(k) = kiosk {
        return kiosk_context(&reg, k, named, req, next).await;
    }
    let Some((id, from_cookie)) = named else {
        return next.run(req).await;
    };
    let write = crate::lane::is_write(&req);
    let ex = match reg.exercise(id).await {
        Ok(ex) => ex,
        Err(e) if write && e.error == shared::api::ErrorCode::NotFound => {
            return Error(ApiError::conflict(format!(
                "there is no exercise #{id} to write in"
            )))
            .into_response()
        }
        // The switch names an exercise that is gone (another database): reality.
        Err(e) if from_cookie && e.error == shared::api::ErrorCode::NotFound => {
            return next.run(req).await
        }
        Err(e) => return Error(e).into_response(),
    };
    if write {
        if ex.phase(chrono::Utc::now()) != Phase::Running {
            return Error(
                crate::exercises::running_now(&ex).err().unwrap_or_else(|| {
                    ApiError::conflict(format!("exercise #{id} is not running"))
                }),
            )
            .into_response();
        }
        if !crate::policy::in_exercise_writes(req.method(), req.uri().path()) {
            return Error(ApiError::conflict(format!(
                "this cannot be done inside exercise #{id} ({}): only faults (by hand or from a notice), alert acknowledgements and asset states are written in an exercise; leave the exercise to do it for real",
                ex.name
            )))
            .into_response();
        }
    }
    req.extensions_mut().insert(InExercise(ex));
    next.run(req).await
}

/// A kiosk sees an exercise only if its link was made for that exercise:
/// then every screen it opens is in it (the banner says so), whatever the
/// request names; naming any other exercise is refused. A kiosk never writes.
async fn kiosk_context(
    reg: &Registry,
    kiosk: i64,
    named: Option<(i64, bool)>,
    mut req: Request,
    next: Next,
) -> Response {
    let bound = match reg.kiosk_exercise(kiosk).await {
        Ok(b) => b,
        Err(e) => return Error(e).into_response(),
    };
    match (bound, named) {
        (None, None) => next.run(req).await,
        // A cookie left in the browser: the screen shows reality.
        (None, Some((_, true))) => next.run(req).await,
        (None, Some(_)) => Error(ApiError::forbidden(
            "a kiosk screen shows reality, never an exercise (unless its link was made for one)",
        ))
        .into_response(),
        (Some(b), Some((n, false))) if n != b => Error(ApiError::forbidden(format!(
            "this kiosk screen was made for exercise #{b}"
        )))
        .into_response(),
        (Some(b), _) => match reg.exercise(b).await {
            Ok(ex) => {
                req.extensions_mut().insert(InExercise(ex));
                next.run(req).await
            }
            Err(e) => Error(e).into_response(),
        },
    }
}
