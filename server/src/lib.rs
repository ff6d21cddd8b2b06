//! The cablewatch server: database, registry (all SQL), JSON API, web app.
//!
//! - [`db`]: connect and migrate (SQLite default, PostgreSQL for several servers).
//! - [`registry`]: the fault registry and event log; the only module with SQL.
//! - [`api`]: the JSON API under `/api/v1`, thin handlers over the registry.
//! - [`web`]: the axum router: API, server-side rendered pages, site files.

pub mod api;
pub mod db;
pub mod registry;
pub mod web;

pub use registry::Registry;

/// Opens the database at `url` and the registry on it.
pub async fn open(url: &str) -> anyhow::Result<Registry> {
    let (pool, engine) = db::connect(url).await?;
    Registry::open(pool, engine)
        .await
        .map_err(|e| anyhow::anyhow!("cannot open the registry: {}", e.message))
}
