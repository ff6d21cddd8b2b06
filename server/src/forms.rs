//! Plain HTML form posts: the fault forms work without JavaScript (and
//! before the wasm has loaded). A post is validated and stored by the same
//! registry methods as the API and the server functions. Saved: a redirect
//! to the fault's page. Refused: the page is rendered again with what was
//! typed and every error beside its field ([`app::FormEcho`]), with the
//! error's status (422 invalid, 409 conflict).

use axum::body::Body;
use axum::extract::{Path, Request, State};
use axum::http::{Method, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use leptos::prelude::*;
use serde::Deserialize;
use shared::api::ApiError;
use shared::fault::FaultForm;

use crate::auth::Caller;
use crate::Registry;

/// Renders the app's pages for a refused post (see [`crate::web::router`]).
#[derive(Clone)]
pub struct Pages {
    pub reg: Registry,
    pub options: LeptosOptions,
    pub backend: app::backend::SharedBackend,
}

impl Pages {
    /// The page at the post's own address, rendered whole (as without
    /// JavaScript), with `echo` in the render's context.
    async fn render(&self, parts: axum::http::request::Parts, echo: app::FormEcho) -> Response {
        let status = StatusCode::from_u16(echo.error.status()).unwrap_or(StatusCode::BAD_REQUEST);
        let (backend, options) = (self.backend.clone(), self.options.clone());
        let handler = leptos_axum::render_app_async_with_context(
            move || {
                provide_context(backend.clone());
                provide_context(echo.clone());
            },
            move || app::shell(options.clone()),
        );
        let mut parts = parts;
        parts.method = Method::GET;
        let mut resp = handler(Request::from_parts(parts, Body::empty())).await;
        *resp.status_mut() = status;
        resp
    }
}

/// A fault form as posted: its fields, and the version an edit was made on.
#[derive(Deserialize)]
struct FaultPost {
    #[serde(flatten)]
    form: FaultForm,
    #[serde(default)]
    version: String,
}

async fn read_form(req: Request) -> Result<(axum::http::request::Parts, FaultPost), Response> {
    let (parts, body) = req.into_parts();
    let bytes = axum::body::to_bytes(body, crate::web::BODY_LIMIT)
        .await
        .map_err(|_| crate::api::Error(crate::api::body_too_large()).into_response())?;
    let post = serde_urlencoded::from_bytes::<FaultPost>(&bytes).map_err(|e| {
        crate::api::Error(ApiError::bad_request(format!(
            "the form cannot be read: {e}"
        )))
        .into_response()
    })?;
    Ok((parts, post))
}

/// `POST /faults/new`: logs a fault from the plain form.
pub async fn new_fault(State(pages): State<Pages>, Caller(who): Caller, req: Request) -> Response {
    let (parts, post) = match read_form(req).await {
        Ok(p) => p,
        Err(r) => return r,
    };
    match pages.reg.create_fault(&who.actor(), &post.form).await {
        Ok(f) => Redirect::to(&format!("/faults/{}", f.id)).into_response(),
        Err(error) => {
            let echo = echo(None, None, &post.form, error);
            pages.render(parts, echo).await
        }
    }
}

/// `POST /faults/{id}`: saves an edit from the plain form, refused with a
/// conflict (text kept) when the fault changed since the form was opened.
pub async fn edit_fault(
    State(pages): State<Pages>,
    Caller(who): Caller,
    Path(id): Path<i64>,
    req: Request,
) -> Response {
    let (parts, post) = match read_form(req).await {
        Ok(p) => p,
        Err(r) => return r,
    };
    let Ok(version) = post.version.trim().parse::<i64>() else {
        let error = ApiError::bad_request("an edit needs the version it was made on");
        return pages
            .render(parts, echo(Some(id), None, &post.form, error))
            .await;
    };
    match pages
        .reg
        .update_fault(&who.actor(), id, version, &post.form)
        .await
    {
        Ok(f) => Redirect::to(&format!("/faults/{}", f.id)).into_response(),
        Err(error) => {
            let echo = echo(Some(id), Some(version), &post.form, error);
            pages.render(parts, echo).await
        }
    }
}

fn echo(id: Option<i64>, version: Option<i64>, form: &FaultForm, error: ApiError) -> app::FormEcho {
    app::FormEcho {
        form: "fault".into(),
        id,
        version,
        values: serde_json::to_value(form).unwrap_or_default(),
        error,
    }
}
