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
use shared::fault::{Fault, FaultForm};
use shared::notice::MaintenanceLine;
use shared::reference::Cable;
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::services::ServeDir;
use tower_http::timeout::TimeoutLayer;

use crate::Registry;

/// Largest request body accepted (a notice is a few KB).
pub const BODY_LIMIT: usize = 1024 * 1024;

#[async_trait::async_trait]
impl Backend for Registry {
    async fn faults(&self, all: bool) -> Result<Vec<Fault>, ApiError> {
        Registry::faults(self, all).await
    }
    fn cables(&self) -> Vec<Cable> {
        Registry::cables(self).to_vec()
    }
    async fn fault(&self, id: i64) -> Result<FaultDetail, ApiError> {
        Registry::fault(self, id).await
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
    async fn maintenance(&self) -> Result<Vec<MaintenanceLine>, ApiError> {
        Ok(Registry::maintenance(self)
            .await?
            .into_iter()
            .map(|(_, m)| m)
            .collect())
    }
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

pub fn router(reg: Registry, site_root: &std::path::Path) -> Router {
    let options = LeptosOptions::builder()
        .output_name("cablewatch")
        .site_root(site_root.display().to_string())
        .site_pkg_dir("pkg")
        .build();
    let backend: SharedBackend = Arc::new(reg.clone());
    let routes = generate_route_list(app::App);
    let shell_opts = options.clone();
    let pages = Router::<LeptosOptions>::new()
        .leptos_routes_with_context(
            &options,
            routes,
            move || provide_context(backend.clone()),
            move || app::shell(shell_opts.clone()),
        )
        .nest_service("/pkg", ServeDir::new(site_root.join("pkg")))
        .fallback_service(ServeDir::new(site_root))
        .with_state(options);
    Router::new()
        .nest("/api/v1", crate::api::router(reg))
        .merge(pages)
        .layer(RequestBodyLimitLayer::new(BODY_LIMIT))
        .layer(TimeoutLayer::with_status_code(
            axum::http::StatusCode::REQUEST_TIMEOUT,
            Duration::from_secs(30),
        ))
}
