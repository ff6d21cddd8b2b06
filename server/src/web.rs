//! The axum application: JSON API, server functions, server-rendered pages
//! and the site files (wasm, JS, CSS) built by `cargo xtask build`.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use app::backend::{Backend, SharedBackend};
use axum::Router;
use leptos::prelude::*;
use leptos_axum::{generate_route_list, LeptosRoutes};
use shared::api::{ApiError, FaultDetail, NoticeReport};
use shared::auth::{AuditFilter, NewSecret, TokenInfo};
use shared::event::Event;
use shared::exercise::{Exercise, ExerciseForm};
use shared::fault::{Fault, FaultForm};
use shared::maintenance::{Maintenance, MaintenanceForm};
use shared::reference::Cable;
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::services::ServeDir;
use tower_http::timeout::TimeoutLayer;

use crate::Registry;
use shared::api::{AssetDetail, AssetList};
use shared::assets::{Asset, AssetFilter, AssetForm, AssetImportReport, AssetKind};
use shared::map::{AssetMarker, View};

pub use crate::error::BODY_LIMIT;

#[async_trait::async_trait]
impl Backend for Registry {
    async fn faults(&self, all: bool) -> Result<Vec<Fault>, ApiError> {
        Registry::faults(self, all).await
    }
    async fn briefing(
        &self,
        as_of: Option<chrono::DateTime<chrono::Utc>>,
    ) -> Result<shared::briefing::Briefing, ApiError> {
        Registry::briefing(self, as_of).await
    }
    async fn faults_as_of(
        &self,
        all: bool,
        at: chrono::DateTime<chrono::Utc>,
    ) -> Result<Vec<Fault>, ApiError> {
        Registry::faults_as_of(self, all, Some(at)).await
    }
    fn cables(&self) -> Vec<Cable> {
        Registry::cables(self).to_vec()
    }
    fn stations(&self) -> Vec<shared::reference::Station> {
        Registry::stations(self).to_vec()
    }
    async fn fault(&self, id: i64) -> Result<FaultDetail, ApiError> {
        Registry::fault(self, id).await
    }
    async fn faults_and_maintenance(
        &self,
        all: bool,
        at: Option<chrono::DateTime<chrono::Utc>>,
    ) -> Result<(Vec<Fault>, Vec<shared::notice::MaintenanceLine>), ApiError> {
        Registry::faults_and_maintenance(self, all, at).await
    }
    async fn fault_as_of(
        &self,
        id: i64,
        at: chrono::DateTime<chrono::Utc>,
    ) -> Result<FaultDetail, ApiError> {
        Registry::fault_as_of(self, id, at).await
    }
    async fn create_fault(&self, actor: &str, form: &FaultForm) -> Result<Fault, ApiError> {
        Registry::create_fault(self, actor, form).await
    }
    async fn update_fault(
        &self,
        actor: &str,
        id: i64,
        version: i64,
        form: &FaultForm,
    ) -> Result<Fault, ApiError> {
        Registry::update_fault(self, actor, id, version, form).await
    }
    async fn preview_notice(&self, text: &str) -> Result<NoticeReport, ApiError> {
        Registry::preview_notice(self, text).await
    }
    async fn import_notice(&self, actor: &str, text: &str) -> Result<NoticeReport, ApiError> {
        Registry::import_notice(self, actor, text).await
    }
    async fn maintenance(&self) -> Result<Vec<Maintenance>, ApiError> {
        Registry::maintenance(self).await
    }
    async fn record_maintenance(
        &self,
        actor: &str,
        form: &MaintenanceForm,
    ) -> Result<Maintenance, ApiError> {
        Registry::record_maintenance(self, actor, form).await
    }
    async fn complete_maintenance(
        &self,
        actor: &str,
        id: i64,
        version: i64,
        completed_on: chrono::NaiveDate,
    ) -> Result<Maintenance, ApiError> {
        Registry::complete_maintenance(self, actor, id, version, completed_on).await
    }
    async fn audit(&self, filter: &AuditFilter) -> Result<Vec<Event>, ApiError> {
        Registry::audit(self, filter).await
    }
    async fn tokens_of(&self, user_id: i64) -> Result<Vec<TokenInfo>, ApiError> {
        Registry::tokens_of(self, user_id).await
    }
    async fn subscriptions(
        &self,
        user_id: i64,
    ) -> Result<Vec<shared::notify::Subscription>, ApiError> {
        Registry::subscriptions(self, Some(user_id)).await
    }
    async fn notifications(
        &self,
        user_id: i64,
        limit: i64,
    ) -> Result<Vec<shared::notify::Message>, ApiError> {
        Registry::outbox(self, Some(user_id), None, limit).await
    }
    async fn create_token(
        &self,
        actor: &str,
        user: &str,
        label: &str,
        expires_days: Option<i64>,
    ) -> Result<NewSecret, ApiError> {
        Registry::create_token(self, actor, user, label, expires_days).await
    }
    async fn revoke_token(&self, actor: &str, user_id: i64, id: i64) -> Result<(), ApiError> {
        Registry::revoke_token(self, actor, user_id, id).await
    }
    async fn kiosks(&self) -> Result<Vec<TokenInfo>, ApiError> {
        Registry::kiosks(self).await
    }
    async fn create_kiosk(
        &self,
        actor: &str,
        name: &str,
        expires_days: i64,
        exercise: Option<i64>,
    ) -> Result<NewSecret, ApiError> {
        match exercise {
            Some(ex) => Registry::create_exercise_kiosk(self, actor, name, expires_days, ex).await,
            None => Registry::create_kiosk(self, actor, name, expires_days).await,
        }
    }
    async fn revoke_kiosk(&self, actor: &str, id: i64) -> Result<(), ApiError> {
        Registry::revoke_kiosk(self, actor, id).await
    }
    async fn list_assets(
        &self,
        filter: &AssetFilter,
        at: Option<chrono::DateTime<chrono::Utc>>,
    ) -> Result<AssetList, ApiError> {
        match at {
            None => Registry::list_assets(self, filter).await,
            Some(at) => Registry::list_assets_as_of(self, filter, at).await,
        }
    }
    async fn asset(
        &self,
        id: i64,
        at: Option<chrono::DateTime<chrono::Utc>>,
    ) -> Result<AssetDetail, ApiError> {
        match at {
            None => Registry::asset(self, id).await,
            Some(at) => Registry::asset_as_of(self, id, at).await,
        }
    }
    async fn create_asset(&self, actor: &str, form: &AssetForm) -> Result<Asset, ApiError> {
        Registry::create_asset(self, actor, form).await
    }
    async fn update_asset(
        &self,
        actor: &str,
        id: i64,
        version: i64,
        form: &AssetForm,
    ) -> Result<Asset, ApiError> {
        Registry::update_asset(self, actor, id, version, form).await
    }
    async fn import_assets(
        &self,
        actor: &str,
        format: Option<&str>,
        text: &str,
        write: bool,
    ) -> Result<AssetImportReport, ApiError> {
        let format = crate::assets::ImportFormat::detect(format, text);
        Registry::import_assets(self, actor, format, text, write).await
    }
    async fn asset_markers(
        &self,
        view: &View,
        zoom: u8,
        kinds: &[AssetKind],
    ) -> Result<Vec<AssetMarker>, ApiError> {
        Registry::asset_markers(self, view, zoom, kinds).await
    }
    fn live_head(&self) -> i64 {
        self.live().head()
    }
    async fn board(&self) -> Result<shared::watch::Board, ApiError> {
        Registry::board(self).await
    }
    async fn board_as_of(
        &self,
        at: chrono::DateTime<chrono::Utc>,
    ) -> Result<shared::watch::Board, ApiError> {
        Registry::board_as_of(self, Some(at)).await
    }
    async fn ack_alert(&self, actor: &str, id: i64) -> Result<shared::watch::Alert, ApiError> {
        Registry::ack_alert(self, actor, id).await
    }
    async fn resilience(
        &self,
        cut: &[String],
        at: Option<chrono::DateTime<chrono::Utc>>,
    ) -> Result<shared::resilience::Report, ApiError> {
        match (cut.is_empty(), at) {
            (true, None) => Registry::resilience(self).await,
            (true, Some(at)) => Registry::resilience_as_of(self, at).await,
            (false, at) => Registry::what_if(self, cut, at).await,
        }
    }
    async fn contingencies(
        &self,
        k: usize,
        at: Option<chrono::DateTime<chrono::Utc>>,
    ) -> Result<shared::resilience::contingency::Sweep, ApiError> {
        Registry::contingencies(self, k, at).await
    }
    async fn resilience_in(
        &self,
        ex: &shared::exercise::Exercise,
        cut: &[String],
    ) -> Result<shared::resilience::Report, ApiError> {
        if cut.is_empty() {
            Registry::resilience_in(self, ex).await
        } else {
            Registry::what_if_in(self, ex, cut).await
        }
    }
    async fn contingencies_in(
        &self,
        ex: &shared::exercise::Exercise,
        k: usize,
    ) -> Result<shared::resilience::contingency::Sweep, ApiError> {
        Registry::contingencies_in(self, ex, k).await
    }
    async fn figures(&self) -> Result<Vec<shared::resilience::Figure>, ApiError> {
        Registry::figures(self).await
    }
    async fn repairs_board(&self) -> Result<shared::repair::RepairsBoard, ApiError> {
        Registry::repairs_board(self).await
    }
    async fn exercises(&self) -> Result<Vec<Exercise>, ApiError> {
        Registry::exercises(self).await
    }
    async fn create_exercise(
        &self,
        actor: &str,
        form: &ExerciseForm,
    ) -> Result<Exercise, ApiError> {
        Registry::create_exercise(self, actor, form).await
    }
    async fn exercise_report(&self, id: i64) -> Result<shared::exercise::Report, ApiError> {
        Registry::exercise_report(self, id).await
    }
    async fn exercise_faults(&self, ex: &Exercise, all: bool) -> Result<Vec<Fault>, ApiError> {
        Registry::exercise_faults(self, ex, all).await
    }
    async fn exercise_fault(&self, ex: &Exercise, id: i64) -> Result<FaultDetail, ApiError> {
        Registry::exercise_fault(self, ex, id).await
    }
    async fn exercise_asset(&self, ex: &Exercise, id: i64) -> Result<AssetDetail, ApiError> {
        Registry::exercise_asset(self, ex, id).await
    }
    async fn create_fault_in(
        &self,
        ex: &Exercise,
        actor: &str,
        form: &FaultForm,
    ) -> Result<Fault, ApiError> {
        Registry::create_fault_in(self, ex, actor, form).await
    }
    async fn update_fault_in(
        &self,
        ex: &Exercise,
        actor: &str,
        id: i64,
        version: i64,
        form: &FaultForm,
    ) -> Result<Fault, ApiError> {
        Registry::update_fault_in(self, ex, actor, id, version, form).await
    }
    async fn repairs_board_in(
        &self,
        ex: &Exercise,
    ) -> Result<shared::repair::RepairsBoard, ApiError> {
        Registry::repairs_board_in(self, ex).await
    }
    async fn briefing_in(&self, ex: &Exercise) -> Result<shared::briefing::Briefing, ApiError> {
        Registry::briefing_in(self, ex).await
    }
    async fn preview_notice_in(&self, ex: &Exercise, text: &str) -> Result<NoticeReport, ApiError> {
        Registry::preview_notice_in(self, ex, text).await
    }
    async fn import_notice_in(
        &self,
        ex: &Exercise,
        actor: &str,
        text: &str,
    ) -> Result<NoticeReport, ApiError> {
        Registry::import_notice_in(self, ex, actor, text).await
    }
    async fn ack_alert_in(
        &self,
        ex: &Exercise,
        actor: &str,
        id: i64,
    ) -> Result<shared::watch::Alert, ApiError> {
        Registry::ack_alert_in(self, ex, actor, id).await
    }
    async fn update_asset_in(
        &self,
        ex: &Exercise,
        actor: &str,
        id: i64,
        version: i64,
        form: &AssetForm,
    ) -> Result<Asset, ApiError> {
        Registry::update_asset_in(self, ex, actor, id, version, form).await
    }
    async fn board_in(&self, ex: &Exercise) -> Result<shared::watch::Board, ApiError> {
        Registry::board_in(self, ex).await
    }
}

/// `GET /map/land/{view}.svg`: a map view's land outlines (see
/// [`View::land_svg`]), cacheable: they change only with the basemap.
async fn land(axum::extract::Path(file): axum::extract::Path<String>) -> axum::response::Response {
    use axum::http::{header, StatusCode};
    use axum::response::IntoResponse;
    let Some(view) = file
        .strip_suffix(".svg")
        .and_then(|id| shared::map::VIEWS.iter().find(|v| v.id == id))
    else {
        return (StatusCode::NOT_FOUND, "no such map view").into_response();
    };
    (
        [
            (header::CONTENT_TYPE, "image/svg+xml"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        view.land_svg(),
    )
        .into_response()
}

/// Where the site files are: `--site-root`, else `site/` beside the binary's
/// target directory (`target/site` for `target/{debug,release}/cablewatch`).
pub fn default_site_root() -> PathBuf {
    std::env::current_exe()
        .ok()
        .and_then(|exe| {
            exe.parent()
                .and_then(|d| d.parent())
                .map(|t| t.join("site"))
        })
        .filter(|p| p.join("pkg").is_dir())
        .unwrap_or_else(|| PathBuf::from("target/site"))
}

/// How the web app is served.
#[derive(Debug, Clone, Default)]
pub struct WebConfig {
    /// Mark the session cookie `Secure` (set when clients reach the server over HTTPS).
    pub secure_cookies: bool,
    /// Where write requests run (see [`crate::lane`]); `None`: with everything else.
    pub write_lane: Option<tokio::runtime::Handle>,
    /// The alert feeds are readable without sign-in (`--public-feeds`).
    pub public_feeds: bool,
    /// Hosts webhooks may go to (`--webhook-hosts`).
    pub webhook_hosts: Vec<String>,
    /// Addresses or networks that may scrape `/metrics` without signing in
    /// (`--metrics-from`); admins may always.
    pub metrics_from: Vec<ipnet::IpNet>,
}

/// The whole application: API, server functions, pages, site files, behind
/// the security layers of [`crate::auth`].
pub fn router(
    reg: Registry,
    sessions: crate::auth::Sessions,
    site_root: &std::path::Path,
    config: &WebConfig,
) -> Router {
    use axum::middleware::{from_fn, from_fn_with_state};
    use axum::routing::{get, post};
    use tower_sessions::{cookie::SameSite, Expiry, SessionManagerLayer};

    crate::metrics::install();

    let options = LeptosOptions::builder()
        .output_name("cablewatch")
        .site_root(site_root.display().to_string())
        .site_pkg_dir("pkg")
        .build();
    let backend: SharedBackend = Arc::new(reg.clone());
    let form_pages = crate::forms::Pages {
        reg: reg.clone(),
        options: options.clone(),
        backend: backend.clone(),
        renderer: tokio::runtime::Handle::try_current().ok(),
        secure_cookies: config.secure_cookies,
    };
    let routes = generate_route_list(app::App);
    let shell_opts = options.clone();
    let pages = Router::<LeptosOptions>::new()
        .leptos_routes_with_context(
            &options,
            routes,
            move || provide_context(backend.clone()),
            move || app::shell(shell_opts.clone()),
        )
        // A stalled render is started again (see `render`).
        .route_layer(from_fn_with_state(
            crate::render::PAGES,
            crate::render::rerender_stalled,
        ))
        .route_layer(from_fn(crate::error::server_fn_bad_input_is_400))
        .route_layer(from_fn(crate::render::lang_from_query))
        .fallback_service(ServeDir::new(site_root))
        .with_state(options);
    let st = crate::auth::AuthState {
        reg: reg.clone(),
        limiter: Arc::new(crate::auth::SignInLimiter::default()),
        sessions: sessions.clone(),
        checks: Default::default(),
    };
    let limiter = st.limiter.clone();
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(60));
        loop {
            tick.tick().await;
            limiter.shrink();
        }
    });
    let forms = Router::new()
        .route("/signin", post(crate::signin::form_sign_in))
        .route("/signout", post(crate::signin::form_sign_out))
        .route("/kiosk", get(crate::signin::kiosk_entry))
        .with_state(st.clone());
    // Plain form posts on the pages' own addresses (the same paths answer GET with the page).
    let page_forms = Router::new()
        .route("/faults/new", post(crate::forms::new_fault))
        .route("/faults/{id}", post(crate::forms::edit_fault))
        .route("/maintenance", post(crate::forms::new_maintenance))
        .route(
            "/maintenance/{id}/complete",
            post(crate::forms::complete_maintenance),
        )
        .route("/assets/new", post(crate::forms::new_asset))
        .route("/assets/{id}", post(crate::forms::edit_asset))
        .route("/alerts/{id}/ack", post(crate::forms::ack_alert))
        .route("/exercises", post(crate::forms::new_exercise))
        .route("/exercises/{id}/join", post(crate::forms::join_exercise))
        .route("/exercises/leave", post(crate::forms::leave_exercise))
        .route("/notifications", post(crate::forms::new_subscription))
        .route(
            "/notifications/{id}/remove",
            post(crate::forms::remove_subscription),
        )
        .route("/resilience/figures/{key}", post(crate::forms::edit_figure))
        .route("/repairs/faults/{id}", post(crate::forms::edit_repair))
        .route("/repairs/ships/{id}", post(crate::forms::edit_ship))
        .with_state(form_pages);
    let session_layer = SessionManagerLayer::new(sessions)
        .with_name(crate::auth::SESSION_COOKIE)
        .with_http_only(true)
        .with_same_site(SameSite::Strict)
        .with_secure(config.secure_cookies)
        // Saved only when changed: a read writes nothing (see `auth::touch`).
        .with_always_save(false)
        .with_expiry(Expiry::OnInactivity(time::Duration::minutes(
            shared::auth::IDLE_SESSION_MINUTES,
        )));
    let auth_layer = axum_login::AuthManagerLayerBuilder::new(
        crate::auth::Backend::new(reg.clone()),
        session_layer,
    )
    .build();
    // Layers, outermost first: request metrics → compression → timeout → body limits → JSON 413 → security
    // headers → session → auth manager → principal → CSRF → guard → exercise
    // context → write lane → route. An anonymous or cross-site write is refused before its
    // body is read, and reading it happens inside the timeout. The site's
    // files (`/pkg/…`: the wasm, its script, the stylesheet, the icon) are
    // public and outside the session layers: a signed-in browser's request
    // for them costs no session read.
    let signed = Router::new()
        .nest(
            "/api/v1",
            crate::api::router(st.clone()).route("/openapi.json", get(crate::openapi::serve)),
        )
        .merge(crate::feeds::router().with_state(reg.clone()))
        .merge(forms)
        .merge(page_forms)
        .merge(pages)
        .route("/map/land/{file}", get(land))
        .route(
            "/metrics",
            get(crate::metrics::scrape).with_state(reg.clone()),
        )
        // Every route's template, for the request metrics (see `metrics`).
        .route_layer(from_fn(crate::metrics::mark_route))
        .layer(from_fn_with_state(
            config.write_lane.clone(),
            crate::lane::on_lane,
        ))
        .layer(from_fn_with_state(reg.clone(), crate::in_exercise::context))
        .layer(from_fn_with_state(
            crate::auth::GuardConfig {
                public_feeds: config.public_feeds,
                metrics_from: Arc::new(config.metrics_from.clone()),
            },
            crate::auth::guard,
        ))
        .layer(from_fn(crate::auth::csrf))
        .layer(from_fn_with_state(st, crate::auth::resolve_principal))
        .layer(axum::Extension(crate::deliver::WebhookHosts(Arc::new(
            config.webhook_hosts.clone(),
        ))))
        .layer(auth_layer);
    Router::new()
        // A release build leaves `.br` and `.gz` copies beside the site's
        // files (`cargo xtask build --release`); they are sent as they are.
        .nest_service(
            "/pkg",
            ServeDir::new(site_root.join("pkg"))
                .precompressed_br()
                .precompressed_gzip(),
        )
        .merge(signed)
        .layer(from_fn_with_state(
            config.secure_cookies,
            crate::auth::security_headers,
        ))
        .layer(from_fn(crate::error::too_large_as_json))
        // One limit for every extractor (`String` bodies too), the documented one.
        .layer(axum::extract::DefaultBodyLimit::max(BODY_LIMIT))
        .layer(RequestBodyLimitLayer::new(BODY_LIMIT))
        .layer(TimeoutLayer::with_status_code(
            axum::http::StatusCode::REQUEST_TIMEOUT,
            Duration::from_secs(30),
        ))
        // Pages, JSON and SVG compressed on the fly at a fast level (never
        // the event stream, images or what is already compressed).
        .layer(
            tower_http::compression::CompressionLayer::new()
                .quality(tower_http::CompressionLevel::Precise(4)),
        )
        .layer(from_fn(crate::metrics::track))
}
