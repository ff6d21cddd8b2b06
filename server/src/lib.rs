//! The cablewatch server: database, registry (all SQL), JSON API, web app.
//!
//! - [`db`]: connect and migrate (SQLite default, PostgreSQL for several servers).
//! - [`registry`]: the fault registry and event log (SQL).
//! - [`assets`]: the backup-asset registry (SQL), its cache and map index, the demo inventory.
//! - [`access`]: users, API tokens, kiosks, the audit query (SQL).
//! - [`auth`]: sessions, sign-in, bearer tokens, rate limits, CSRF, the guard.
//! - [`policy`]: every route and server function with the capability it needs.
//! - [`forms`]: plain HTML form posts (the fault forms without JavaScript).
//! - [`signin`]: sign-in and sign-out handlers, kiosk entry, password change.
//! - [`api`]: the JSON API under `/api/v1`, thin handlers over the registry.
//! - [`web`]: the axum router: API, server-side rendered pages, site files.
//! - [`lane`]: the write lane, a one-thread runtime for writes and the live pump.
//! - [`live`]: the live tail of the event log as server-sent events (one pump per server, LISTEN/NOTIFY).
//! - [`watch`]: the duty watch: alerts raised with fault events, acknowledgements, the board.

pub mod access;
pub mod api;
pub mod assets;
pub mod auth;
pub mod db;
pub mod forms;
pub mod lane;
pub mod live;
pub mod policy;
pub mod registry;
pub mod signin;
pub mod watch;
pub mod web;

pub use registry::Registry;

/// Opens the database at `url` and the registry on it.
pub async fn open(url: &str) -> anyhow::Result<Registry> {
    let (pool, engine) = db::connect(url).await?;
    Registry::open(pool, engine)
        .await
        .map_err(|e| anyhow::anyhow!("cannot open the registry: {}", e.message))
}
