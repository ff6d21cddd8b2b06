//! cablewatch's domain: pure types and rules, no I/O. Builds for native and wasm32.
//!
//! - [`reference`]: cable systems, landing stations, schematic routes, name lookup.
//! - [`roc`]: ROC (民國) dates and estimated repair dates with their precision.
//! - [`fault`]: faults, their lifecycle, identity and form validation.
//! - [`notice`]: the ministry's notice, parsed and written in its own layout.
//! - [`import`]: what importing a notice would change (the plan both preview and import use).
//! - [`maintenance`]: planned maintenance (計畫性維修) and its form.
//! - [`map`]: cable states, fault positions by chainage, GeoJSON (RFC 7946) of cables, faults, stations.
//! - [`chainage`]: placing "N km from station Y" on a route.
//! - [`auth`]: roles, capabilities, the signed-in principal, username and password rules.
//! - [`api`]: bodies of the JSON API and the server functions, and the one error type.
//! - [`event`]: the event log's entry type.
//! - [`chart`]: what the charts show (outage Gantt, ETA drift, capacity against demand), drawn by the server.
//! - [`exercise`]: exercises: the script, the layer folded over reality, the report.
//! - [`history`]: the state at a past moment (`?as_of=`), a fold over the event log.
//! - [`assets`]: backup assets, their form, CSV/GeoJSON import and export, counts.
//! - [`inventory`]: the deterministic synthetic demo inventory and the public asset facts.
//! - [`watch`]: the duty watch: which changes raise alerts, islands affected, the board.
//! - [`repair`]: repair operations: a fault's ETA history and how far its date has slipped.
//! - [`resilience`]: the island capacity graph: maximum flow per island, what carries it, single points, what-ifs.
//! - [`wire`]: JSON in ASCII only, the encoding of the pages' hydration data.

pub mod api;
pub mod assets;
pub mod auth;
pub mod briefing;
pub mod chainage;
pub mod chart;
#[cfg(feature = "cluster")]
pub mod cluster;
pub mod event;
pub mod exercise;
pub mod fault;
pub mod feed;
pub mod history;
pub mod import;
pub mod inventory;
pub mod maintenance;
pub mod map;
pub mod notice;
pub mod notify;
pub mod reference;
pub mod repair;
pub mod resilience;
pub mod roc;
pub mod watch;
pub mod wire;
