//! The cablewatch server: database, registry (all SQL), JSON API, web app.
//!
//! Storage, one way down (no module imports one above it):
//! - [`db`]: connect and migrate (SQLite default, PostgreSQL for several servers).
//! - [`store`]: errors, stored times and dates, event rows, storage health.
//! - [`log`]: the write transaction (the only way to append an event), appending, reading the log.
//! - [`live`]: the live tail of the event log as server-sent events (one pump per server, LISTEN/NOTIFY).
//! - [`watch`]: alerts, raised in a fault write's transaction, acknowledged as events.
//! - [`exercises`]: exercises scheduled, and each one's layer of events (`exercise_events`, never the log).
//! - [`assets`]: the backup-asset store (SQL), its snapshot cache and map index, the demo inventory.
//! - [`repairs`]: each fault's repair stage and booked ship, each repair ship's state (events, conflict-checked).
//! - [`access`]: users, API tokens, kiosks, the audit query (SQL).
//! - [`registry`]: the façade over the stores; faults, notices and planned maintenance (SQL), the watch board.
//!
//! The edge:
//! - [`error`]: the one error type answered over HTTP, and the body limit.
//! - [`auth`]: sessions, sign-in, bearer tokens, rate limits, CSRF, the guard.
//! - [`policy`]: every route and server function with the capability it needs.
//! - [`in_exercise`]: which exercise a request is in (header, `?exercise=`, the officer's switch), checked after the guard.
//! - [`forms`]: plain HTML form posts (the fault forms without JavaScript).
//! - [`signin`]: sign-in and sign-out handlers, kiosk entry, password change.
//! - [`api`]: the JSON API under `/api/v1`, thin handlers over the registry.
//! - [`charts`]: charts drawn with plotters' SVG backend (outage Gantt, ETA drift, capacity against demand).
//! - [`export`]: the one-page briefing as SVG, PNG (resvg) and PDF (svg2pdf), in the bundled font.
//! - [`web`]: the axum router: API, server-side rendered pages, site files.
//! - [`lane`]: the write lane, a one-thread runtime for writes and the live pump.
//! - [`metrics`]: `/metrics` (Prometheus text), the request counting layer, the counters' names.

pub mod access;
pub mod api;
pub mod assets;
pub mod auth;
pub mod charts;
pub mod db;
pub mod deliver;
pub mod error;
pub mod exercises;
pub mod export;
pub mod feeds;
pub mod forms;
pub mod in_exercise;
pub mod lane;
pub mod live;
pub mod log;
pub mod metrics;
pub mod notify;
pub mod openapi;
pub mod policy;
pub mod registry;
pub mod render;
pub mod repairs;
pub mod resilience;
pub mod rows;
pub mod signin;
pub mod store;
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
