//! Signing in and out: the JSON session API, the sign-in form's post (which
//! works without JavaScript), the kiosk entry link and password changes.

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::{Form, Json};
use serde::Deserialize;
use shared::api::ApiError;

use crate::access::kind;
use crate::auth::{
    self, local_target, Auth, AuthState, Caller, ClientAddr, SignInBody, SignInError,
};

/// `POST /api/v1/session`: JSON credentials → session cookie.
#[utoipa::path(
    post,
    path = "/api/v1/session",
    tag = "account",
    request_body = SignInBody,
    responses(
        (status = 200, description = "Signed in: the session cookie is set; the body says who", body = shared::auth::Principal),
        (status = 400, description = "Not JSON credentials (`bad_request`)", body = ApiError),
        (status = 401, description = "Wrong username or password, or a disabled user (never said which)", body = ApiError),
        (status = 429, description = "Too many attempts from this address or for this account; `Retry-After` says when (`rate_limited`)", body = ApiError),
    )
)]
pub async fn api_sign_in(
    State(st): State<AuthState>,
    mut auth: Auth,
    ClientAddr(client): ClientAddr,
    body: Result<Json<SignInBody>, axum::extract::rejection::JsonRejection>,
) -> Response {
    let b = match body {
        Ok(Json(b)) => b,
        Err(e) => {
            return crate::error::Error(crate::error::json_rejection(
                e,
                Some("expected JSON {\"username\": ..., \"password\": ...}"),
            ))
            .into_response()
        }
    };
    match auth::sign_in(&st, &mut auth, &client, &b.username, &b.password).await {
        Ok(p) => Json(p).into_response(),
        Err(e) => e.into_response(),
    }
}

/// `DELETE /api/v1/session`: signs the session out.
#[utoipa::path(
    delete,
    path = "/api/v1/session",
    tag = "account",
    responses((status = 204, description = "Signed out; streams opened by the session close"))
)]
pub async fn api_sign_out(State(st): State<AuthState>, mut auth: Auth) -> Response {
    sign_out(&st, &mut auth).await;
    StatusCode::NO_CONTENT.into_response()
}

async fn sign_out(st: &AuthState, auth: &mut Auth) {
    if let Ok(Some(u)) = auth.logout().await {
        st.reg
            .log_auth(
                &u.principal.actor(),
                kind::SIGNED_OUT,
                &u.principal.name,
                serde_json::json!({}),
            )
            .await;
    }
}

/// `POST /signin` from the sign-in page's form: back to the page asked for,
/// or to the sign-in page with the reason (the typed username is kept).
pub async fn form_sign_in(
    State(st): State<AuthState>,
    mut auth: Auth,
    ClientAddr(client): ClientAddr,
    Form(b): Form<SignInBody>,
) -> Response {
    let next = local_target(b.next.as_deref());
    match auth::sign_in(&st, &mut auth, &client, &b.username, &b.password).await {
        Ok(_) => Redirect::to(&next).into_response(),
        Err(e) => {
            let reason = match e {
                SignInError::Refused => "refused".to_string(),
                SignInError::RateLimited(s) => format!("rate_limited&retry={s}"),
                SignInError::Internal => "internal".to_string(),
            };
            let q = serde_urlencoded_pair("user", &b.username)
                + "&"
                + &serde_urlencoded_pair("next", &next);
            Redirect::to(&format!("/signin?error={reason}&{q}")).into_response()
        }
    }
}

fn serde_urlencoded_pair(k: &str, v: &str) -> String {
    let enc: String = v
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect();
    format!("{k}={enc}")
}

/// `POST /signout`.
pub async fn form_sign_out(State(st): State<AuthState>, mut auth: Auth) -> Response {
    sign_out(&st, &mut auth).await;
    Redirect::to("/signin").into_response()
}

#[derive(Deserialize)]
pub struct KioskQuery {
    token: String,
    /// The page the screen shows (`/map`, …); a local path only.
    next: Option<String>,
}

/// `GET /kiosk?token=cwk_…[&next=/map]`: opens a briefing screen. The token leaves the
/// address bar at once (redirect), and the session lasts until it expires.
pub async fn kiosk_entry(mut auth: Auth, Query(q): Query<KioskQuery>) -> Response {
    match auth::sign_in_kiosk(&mut auth, &q.token).await {
        Ok(_) => Redirect::to(&local_target(q.next.as_deref())).into_response(),
        Err(_) => (
            StatusCode::UNAUTHORIZED,
            "this kiosk link is unknown, expired or revoked",
        )
            .into_response(),
    }
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct PasswordBody {
    current_password: String,
    new_password: String,
}

/// `POST /api/v1/me/password`: needs the current password; rate limited
/// like sign-in (per address and per account). Ends the user's other
/// sessions and keeps this one signed in under a new session id, with the
/// same 12 h limit as before.
#[utoipa::path(
    post,
    path = "/api/v1/me/password",
    tag = "account",
    request_body = PasswordBody,
    responses(
        (status = 204, description = "Changed: the user's other sessions end"),
        (status = 400, description = "Not JSON, or a new password that is not allowed, with why (`bad_request`)", body = ApiError),
        (status = 403, description = "The current password is wrong (`forbidden`)", body = ApiError),
        (status = 429, description = "Too many attempts; `Retry-After` says when (`rate_limited`)", body = ApiError),
    )
)]
pub async fn change_password(
    State(st): State<AuthState>,
    Caller(who): Caller,
    ClientAddr(client): ClientAddr,
    mut auth: Auth,
    body: Result<Json<PasswordBody>, axum::extract::rejection::JsonRejection>,
) -> Response {
    let b = match body {
        Ok(Json(b)) => b,
        Err(e) => {
            return crate::error::Error(crate::error::json_rejection(
                e,
                Some("expected JSON {\"current_password\": ..., \"new_password\": ...}"),
            ))
            .into_response()
        }
    };
    if let Err(secs) = st.limiter.check(&client, &who.name) {
        return SignInError::RateLimited(secs).into_response();
    }
    if b.current_password.len() > shared::auth::MAX_PASSWORD {
        return crate::error::Error(ApiError {
            field: Some("current_password".into()),
            ..ApiError::forbidden("the current password is wrong")
        })
        .into_response();
    }
    let current = st.reg.user_by_id(who.id).await.ok().flatten();
    let ok =
        match crate::access::verify_password(current.map(|u| u.password_hash), &b.current_password)
            .await
        {
            Ok(ok) => ok,
            Err(e) => return crate::error::Error(e).into_response(),
        };
    if !ok {
        return crate::error::Error(ApiError {
            field: Some("current_password".into()),
            ..ApiError::forbidden("the current password is wrong")
        })
        .into_response();
    }
    if let Err(e) = st
        .reg
        .set_password(&who.actor(), &who.name, &b.new_password)
        .await
    {
        return crate::error::Error(e).into_response();
    }
    match auth::refresh_after_password_change(&mut auth, who.id).await {
        Ok(()) => StatusCode::NO_CONTENT.into_response(),
        Err(e) => e.into_response(),
    }
}
