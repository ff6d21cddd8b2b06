//! Plain HTML form posts: the fault, maintenance, asset, figure and repair forms work
//! without JavaScript (and before the wasm has loaded). A post is validated
//! and stored by the same registry methods as the API and the server
//! functions. Saved: a redirect (303) to the record's page. Refused: the page
//! is rendered again with what was typed and every error beside its field
//! ([`app::FormEcho`]), with the error's status (422 invalid, 409 conflict).

use axum::body::Body;
use axum::extract::{Path, Request, State};
use axum::http::{Method, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use leptos::prelude::*;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use shared::api::ApiError;
use shared::assets::AssetForm;
use shared::fault::FaultForm;
use shared::maintenance::MaintenanceForm;

use crate::auth::Caller;
use crate::in_exercise::InExercise;
use crate::Registry;

/// Renders the app's pages for a refused post (see [`crate::web::router`]).
#[derive(Clone)]
pub struct Pages {
    pub reg: Registry,
    pub options: LeptosOptions,
    pub backend: app::backend::SharedBackend,
    /// The runtime pages render on (the one the router was built on). A
    /// post's handler runs on the write lane; its refusal is a page render,
    /// a read, which goes back to the pages' runtime rather than holding
    /// the lane.
    pub renderer: Option<tokio::runtime::Handle>,
    /// Cookies set by a form post are `Secure` (HTTPS).
    pub secure_cookies: bool,
}

impl Pages {
    /// The page at `page` (the post's own address when `None`), rendered
    /// whole (as without JavaScript), with `echo` in the render's context:
    /// on the pages' runtime, a render stalled past its budget started
    /// again, as for a GET (see [`crate::render`]).
    async fn render_at(
        &self,
        parts: axum::http::request::Parts,
        page: Option<&str>,
        echo: app::FormEcho,
    ) -> Response {
        let this = self.clone();
        let page = page.map(str::to_string);
        let path = parts.uri.path().to_string();
        let job = async move {
            crate::render::within_budget(crate::render::PAGES, &path, || {
                this.render_once(parts.clone(), page.as_deref(), echo.clone())
            })
            .await
        };
        match &self.renderer {
            Some(rt) => rt.spawn(job).await.unwrap_or_else(|e| {
                tracing::error!(error = %e, "rendering a refused post's page");
                StatusCode::INTERNAL_SERVER_ERROR.into_response()
            }),
            None => job.await,
        }
    }

    async fn render_once(
        &self,
        parts: axum::http::request::Parts,
        page: Option<&str>,
        echo: app::FormEcho,
    ) -> Response {
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
        if let Some(uri) = page.and_then(|p| p.parse().ok()) {
            parts.uri = uri;
        }
        let mut resp = handler(Request::from_parts(parts, Body::empty())).await;
        *resp.status_mut() = status;
        resp
    }

    async fn render(&self, parts: axum::http::request::Parts, echo: app::FormEcho) -> Response {
        self.render_at(parts, None, echo).await
    }
}

/// The exercise a post was made in (see [`crate::in_exercise`]).
fn in_exercise(parts: &axum::http::request::Parts) -> Option<shared::exercise::Exercise> {
    parts.extensions.get::<InExercise>().map(|e| e.0.clone())
}

/// A form post's answer: saved (see the record's page) or refused (the
/// page again with the echo).
fn saved(to: String) -> Response {
    Redirect::to(&to).into_response()
}

/// A form as posted: its fields, and the version an edit was made on.
#[derive(Deserialize)]
struct Post<F> {
    #[serde(flatten)]
    form: F,
    #[serde(default)]
    version: String,
}

impl<F> Post<F> {
    fn version(&self) -> Result<i64, ApiError> {
        self.version
            .trim()
            .parse::<i64>()
            .map_err(|_| ApiError::bad_request("an edit needs the version it was made on"))
    }
}

async fn read_form<F: DeserializeOwned>(
    req: Request,
) -> Result<(axum::http::request::Parts, Post<F>), Response> {
    let (parts, body) = req.into_parts();
    let bytes = axum::body::to_bytes(body, crate::error::BODY_LIMIT)
        .await
        .map_err(|_| crate::error::Error(crate::error::body_too_large()).into_response())?;
    let post = serde_urlencoded::from_bytes::<Post<F>>(&bytes).map_err(|e| {
        crate::error::Error(ApiError::bad_request(format!(
            "the form cannot be read: {e}"
        )))
        .into_response()
    })?;
    Ok((parts, post))
}

/// `POST /faults/new`: logs a fault from the plain form.
pub async fn new_fault(State(pages): State<Pages>, Caller(who): Caller, req: Request) -> Response {
    let (parts, post) = match read_form::<FaultForm>(req).await {
        Ok(p) => p,
        Err(r) => return r,
    };
    let created = match in_exercise(&parts) {
        Some(ex) => {
            pages
                .reg
                .create_fault_in(&ex, &who.actor(), &post.form)
                .await
        }
        None => pages.reg.create_fault(&who.actor(), &post.form).await,
    };
    match created {
        Ok(f) => saved(format!("/faults/{}", f.id)),
        Err(error) => {
            let echo = echo("fault", None, None, &post.form, error);
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
    let (parts, post) = match read_form::<FaultForm>(req).await {
        Ok(p) => p,
        Err(r) => return r,
    };
    let version = match post.version() {
        Ok(v) => v,
        Err(error) => {
            return pages
                .render(parts, echo("fault", Some(id), None, &post.form, error))
                .await
        }
    };
    let updated = match in_exercise(&parts) {
        Some(ex) => {
            let actor = who.actor();
            pages
                .reg
                .update_fault_in(&ex, &actor, id, version, &post.form)
                .await
        }
        None => {
            pages
                .reg
                .update_fault(&who.actor(), id, version, &post.form)
                .await
        }
    };
    match updated {
        Ok(f) => saved(format!("/faults/{}", f.id)),
        Err(error) => {
            let echo = echo("fault", Some(id), Some(version), &post.form, error);
            pages.render(parts, echo).await
        }
    }
}

/// `POST /maintenance`: records planned maintenance from the plain form.
pub async fn new_maintenance(
    State(pages): State<Pages>,
    Caller(who): Caller,
    req: Request,
) -> Response {
    let (parts, post) = match read_form::<MaintenanceForm>(req).await {
        Ok(p) => p,
        Err(r) => return r,
    };
    match pages.reg.record_maintenance(&who.actor(), &post.form).await {
        Ok(_) => saved("/maintenance".into()),
        Err(error) => {
            let echo = echo("maintenance", None, None, &post.form, error);
            pages.render(parts, echo).await
        }
    }
}

/// The completion form of one maintenance row.
#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(default)]
struct CompletionForm {
    completed_on: String,
}

/// `POST /maintenance/{id}/complete`: marks work completed; refused (the
/// maintenance page again, with the error) when it changed meanwhile.
pub async fn complete_maintenance(
    State(pages): State<Pages>,
    Caller(who): Caller,
    Path(id): Path<i64>,
    req: Request,
) -> Response {
    let (parts, post) = match read_form::<CompletionForm>(req).await {
        Ok(p) => p,
        Err(r) => return r,
    };
    let result = match (
        post.version(),
        chrono::NaiveDate::parse_from_str(post.form.completed_on.trim(), "%Y-%m-%d").ok(),
    ) {
        (Err(e), _) => Err(e),
        (_, None) => Err(ApiError {
            field: Some("completed_on".into()),
            ..ApiError::bad_request("expected a date such as 2026-02-14")
        }),
        (Ok(version), Some(day)) => {
            pages
                .reg
                .complete_maintenance(&who.actor(), id, version, day)
                .await
        }
    };
    match result {
        Ok(_) => saved("/maintenance".into()),
        Err(error) => {
            let version = post.version().ok();
            let echo = echo("maintenance-complete", Some(id), version, &post.form, error);
            pages.render_at(parts, Some("/maintenance"), echo).await
        }
    }
}

/// `POST /assets/new`: adds an asset from the plain form.
pub async fn new_asset(State(pages): State<Pages>, Caller(who): Caller, req: Request) -> Response {
    let (parts, post) = match read_form::<AssetForm>(req).await {
        Ok(p) => p,
        Err(r) => return r,
    };
    match pages.reg.create_asset(&who.actor(), &post.form).await {
        Ok(a) => saved(format!("/assets/{}", a.id)),
        Err(error) => {
            let echo = echo("asset", None, None, &post.form, error);
            pages.render(parts, echo).await
        }
    }
}

/// `POST /assets/{id}`: saves an asset edit; a stale version is a conflict.
pub async fn edit_asset(
    State(pages): State<Pages>,
    Caller(who): Caller,
    Path(id): Path<i64>,
    req: Request,
) -> Response {
    let (parts, post) = match read_form::<AssetForm>(req).await {
        Ok(p) => p,
        Err(r) => return r,
    };
    let actor = who.actor();
    let result = match (post.version(), in_exercise(&parts)) {
        (Ok(version), Some(ex)) => {
            pages
                .reg
                .update_asset_in(&ex, &actor, id, version, &post.form)
                .await
        }
        (Ok(version), None) => {
            pages
                .reg
                .update_asset(&actor, id, version, &post.form)
                .await
        }
        (Err(e), _) => Err(e),
    };
    match result {
        Ok(a) => saved(format!("/assets/{}", a.id)),
        Err(error) => {
            let echo = echo("asset", Some(id), post.version().ok(), &post.form, error);
            pages.render(parts, echo).await
        }
    }
}

/// Where a versioned post on a board page goes: saved, to `to`; refused,
/// the `page` again with what was typed (`form`, `id`) and the error.
struct Answer<'a> {
    form: &'a str,
    id: Option<i64>,
    page: &'a str,
    to: String,
}

impl Pages {
    async fn answer<F: Serialize, T>(
        &self,
        parts: axum::http::request::Parts,
        post: &Post<F>,
        a: Answer<'_>,
        result: Result<T, ApiError>,
    ) -> Response {
        match result {
            Ok(_) => saved(a.to),
            Err(error) => {
                let echo = echo(a.form, a.id, post.version().ok(), &post.form, error);
                self.render_at(parts, Some(a.page), echo).await
            }
        }
    }
}

/// `POST /resilience/figures/{key}`: an officer replaces a figure (value,
/// basis, source); back to the figures table, or the page again with what
/// was typed and the error (422 invalid, 409 changed meanwhile).
pub async fn edit_figure(
    State(pages): State<Pages>,
    Caller(who): Caller,
    Path(key): Path<String>,
    req: Request,
) -> Response {
    let (parts, post) = match read_form::<shared::resilience::FigureForm>(req).await {
        Ok(p) => p,
        Err(r) => return r,
    };
    let result = match post.version() {
        Ok(version) => {
            pages
                .reg
                .set_figure(&who.actor(), &key, &post.form, version)
                .await
        }
        Err(e) => Err(e),
    };
    let form = format!("figure:{key}");
    let to = "/resilience#figures".to_string();
    let a = Answer {
        form: &form,
        id: None,
        page: "/resilience",
        to,
    };
    pages.answer(parts, &post, a, result).await
}

/// `POST /repairs/faults/{id}`: an officer sets a fault's repair stage;
/// back to the board, or the board again with what was typed and the error.
pub async fn edit_repair(
    State(pages): State<Pages>,
    Caller(who): Caller,
    Path(id): Path<i64>,
    req: Request,
) -> Response {
    let (parts, post) = match read_form::<shared::repair::RepairForm>(req).await {
        Ok(p) => p,
        Err(r) => return r,
    };
    let result = match post.version() {
        Ok(version) => {
            pages
                .reg
                .set_repair(&who.actor(), id, &post.form, version)
                .await
        }
        Err(e) => Err(e),
    };
    let to = format!("/repairs#fault-{id}");
    let a = Answer {
        form: "repair",
        id: Some(id),
        page: "/repairs",
        to,
    };
    pages.answer(parts, &post, a, result).await
}

/// A ship's state form.
#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(default)]
struct ShipForm {
    state: String,
}

/// `POST /repairs/ships/{id}`: an officer sets a repair ship's state.
pub async fn edit_ship(
    State(pages): State<Pages>,
    Caller(who): Caller,
    Path(id): Path<i64>,
    req: Request,
) -> Response {
    let (parts, post) = match read_form::<ShipForm>(req).await {
        Ok(p) => p,
        Err(r) => return r,
    };
    let result = match post.version() {
        Ok(version) => {
            pages
                .reg
                .set_ship_state(&who.actor(), id, &post.form.state, version)
                .await
        }
        Err(e) => Err(e),
    };
    let to = format!("/repairs#ship-{id}");
    let a = Answer {
        form: "ship",
        id: Some(id),
        page: "/repairs",
        to,
    };
    pages.answer(parts, &post, a, result).await
}

fn echo<F: Serialize>(
    form: &str,
    id: Option<i64>,
    version: Option<i64>,
    values: &F,
    error: ApiError,
) -> app::FormEcho {
    app::FormEcho {
        form: form.into(),
        id,
        version,
        values: serde_json::to_value(values).unwrap_or_default(),
        error,
    }
}

/// `POST /alerts/{id}/ack`: the duty watch acknowledges an alert from the
/// board's plain form; back to the board either way (an alert already
/// acknowledged, by someone else first, is no error to show).
pub async fn ack_alert(
    State(pages): State<Pages>,
    Caller(who): Caller,
    ex: Option<axum::Extension<InExercise>>,
    Path(id): Path<i64>,
) -> Response {
    let acked = match ex {
        Some(axum::Extension(InExercise(ex))) => {
            pages.reg.ack_alert_in(&ex, &who.actor(), id).await
        }
        None => pages.reg.ack_alert(&who.actor(), id).await,
    };
    match acked {
        Ok(_) => saved("/watch".into()),
        Err(e) if e.error == shared::api::ErrorCode::Conflict => saved("/watch".into()),
        Err(e) => crate::error::Error(e).into_response(),
    }
}

/// The plain form that schedules an exercise: the script, if any, is JSON
/// (`[{"at_minute": 10, "fault": {…}}]`, as the API takes it).
#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(default)]
struct ExercisePost {
    name: String,
    starts_at: String,
    ends_at: String,
    injects: String,
}

/// `POST /exercises`: an admin schedules an exercise from the plain form.
pub async fn new_exercise(
    State(pages): State<Pages>,
    Caller(who): Caller,
    req: Request,
) -> Response {
    let (parts, post) = match read_form::<ExercisePost>(req).await {
        Ok(p) => p,
        Err(r) => return r,
    };
    let post = post.form;
    let injects = if post.injects.trim().is_empty() {
        Ok(Vec::new())
    } else {
        serde_json::from_str::<Vec<shared::exercise::Inject>>(&post.injects).map_err(|e| {
            ApiError::invalid(vec![shared::fault::FieldError::new(
                "injects",
                "bad_json",
                format!("the script is a JSON list of injects: {e}"),
            )])
        })
    };
    let result = match injects {
        Ok(injects) => {
            let form = shared::exercise::ExerciseForm {
                name: post.name.clone(),
                starts_at: post.starts_at.clone(),
                ends_at: post.ends_at.clone(),
                injects,
            };
            pages.reg.create_exercise(&who.actor(), &form).await
        }
        Err(e) => Err(e),
    };
    match result {
        Ok(ex) => saved(format!("/exercises/{}", ex.id)),
        Err(error) => {
            pages
                .render(parts, echo("exercise", None, None, &post, error))
                .await
        }
    }
}

/// The cookie that puts this browser in exercise `id` (`None`: back to
/// reality). A session cookie: it lasts until the officer leaves, even past
/// the exercise's end, so nobody is moved to reality without a word (an
/// exercise that has ended takes no write; the banner says so).
fn exercise_cookie(id: Option<i64>, secure: bool) -> String {
    let secure = if secure { "; Secure" } else { "" };
    match id {
        Some(id) => format!(
            "{}={id}; Path=/; HttpOnly; SameSite=Strict{secure}",
            shared::exercise::COOKIE
        ),
        None => format!(
            "{}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0{secure}",
            shared::exercise::COOKIE
        ),
    }
}

fn switch(to: &str, cookie: String) -> Response {
    let mut resp = saved(to.to_string());
    if let Ok(v) = axum::http::HeaderValue::from_str(&cookie) {
        resp.headers_mut().append(axum::http::header::SET_COOKIE, v);
    }
    resp
}

/// `POST /exercises/{id}/join`: this browser switches into an exercise
/// (not a kiosk: a wall screen shows reality). Nothing is written.
pub async fn join_exercise(
    State(pages): State<Pages>,
    Caller(who): Caller,
    Path(id): Path<i64>,
) -> Response {
    if who.kind == shared::auth::PrincipalKind::Kiosk {
        return crate::error::Error(ApiError::forbidden(
            "a kiosk screen shows reality, never an exercise",
        ))
        .into_response();
    }
    match pages.reg.exercise(id).await {
        Ok(ex) if ex.phase(chrono::Utc::now()) == shared::exercise::Phase::Ended => {
            saved(format!("/exercises/{id}"))
        }
        Ok(_) => switch("/", exercise_cookie(Some(id), pages.secure_cookies)),
        Err(e) => crate::error::Error(e).into_response(),
    }
}

/// `POST /exercises/leave`: back to reality.
pub async fn leave_exercise(State(pages): State<Pages>) -> Response {
    switch("/exercises", exercise_cookie(None, pages.secure_cookies))
}

/// `POST /notifications`: subscribe oneself by e-mail from the plain form
/// (webhooks, whose secret is shown once, are made over the API); back to
/// the page, or the page again with what was typed and every error.
pub async fn new_subscription(
    State(pages): State<Pages>,
    Caller(who): Caller,
    axum::Extension(hosts): axum::Extension<crate::deliver::WebhookHosts>,
    req: Request,
) -> Response {
    let (parts, post) = match read_form::<shared::notify::SubscriptionForm>(req).await {
        Ok(p) => p,
        Err(r) => return r,
    };
    let mut form = post.form;
    form.channel = "email".into();
    let cables: Vec<String> = pages
        .reg
        .cables()
        .iter()
        .map(|c| c.abbrev.clone())
        .collect();
    let result = match form.validate(&hosts.0, &cables) {
        Ok(d) => pages
            .reg
            .create_subscription(&who.actor(), who.id, &d)
            .await
            .map(|_| ()),
        Err(fields) => Err(ApiError::invalid(fields)),
    };
    match result {
        Ok(()) => saved("/notifications".into()),
        Err(error) => {
            let typed = serde_json::json!({
                "target": form.target,
                "islands": form.islands.join(", "),
                "cables": form.cables.join(", "),
                "kinds": form.kinds.join(", "),
            });
            pages
                .render(parts, echo("subscription", None, None, &typed, error))
                .await
        }
    }
}

/// `POST /notifications/{id}/remove`: ends one of one's subscriptions.
pub async fn remove_subscription(
    State(pages): State<Pages>,
    Caller(who): Caller,
    Path(id): Path<i64>,
) -> Response {
    match pages
        .reg
        .remove_subscription(&who.actor(), who.id, id)
        .await
    {
        // Already gone (a second click): the page shows it gone.
        Ok(()) => saved("/notifications".into()),
        Err(e) if e.error == shared::api::ErrorCode::NotFound => saved("/notifications".into()),
        Err(e) => crate::error::Error(e).into_response(),
    }
}
