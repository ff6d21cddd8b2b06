//! The bottom of the server's storage: what every store needs to talk to the
//! database. Errors mapped once (a full disk is `storage_full`), times and
//! dates as stored, event rows decoded, and whether storage is healthy.
//!
//! Storage is layered one way: `db` and `store` → `log` (the write
//! transaction, appending and reading the event log) → `live`, `watch`
//! (alerts) → the domain stores (`assets`, `access`; faults, notices and
//! maintenance in `registry`) → the `Registry` façade. No module imports one
//! above it.

use chrono::{NaiveDate, SecondsFormat, Utc};
use shared::api::ApiError;
use shared::event::Event;
use sqlx::any::AnyRow;
use sqlx::Row;

/// Errors of the store: domain errors pass through to the caller; database
/// errors are logged here and reported as `internal`.
pub(crate) fn db_err(e: sqlx::Error) -> ApiError {
    if is_lock_timeout(&e) {
        tracing::warn!(error = %e, "a write waited its limit for the writer lock");
        return ApiError::busy();
    }
    tracing::error!(error = %e, "database error");
    if is_storage_full(&e) {
        ApiError::storage_full()
    } else {
        ApiError::internal()
    }
}

/// PostgreSQL's `lock_not_available` (55P03: `lock_timeout` ran out) or
/// SQLite's `SQLITE_BUSY` and its extended codes (`busy_timeout` ran out:
/// another process held the database's write lock).
fn is_lock_timeout(e: &sqlx::Error) -> bool {
    let sqlx::Error::Database(d) = e else {
        return false;
    };
    match d.code().as_deref() {
        Some("55P03") => true,
        // SQLite's codes have at most 4 digits; PostgreSQL's always 5 characters.
        Some(c) if c.len() < 5 => c.parse::<i32>().is_ok_and(|n| n & 0xff == 5),
        Some(_) => false,
        None => false,
    }
}

/// SQLite's `SQLITE_FULL` (13) or PostgreSQL's `disk_full` (53100).
fn is_storage_full(e: &sqlx::Error) -> bool {
    match e {
        sqlx::Error::Database(d) => matches!(d.code().as_deref(), Some("13" | "53100")),
        sqlx::Error::Io(io) => io.raw_os_error() == Some(28),
        _ => false,
    }
}

pub(crate) fn json_err(e: serde_json::Error) -> ApiError {
    tracing::error!(error = %e, "stored JSON does not parse");
    ApiError::internal()
}

pub(crate) fn now() -> String {
    stored_time(&Utc::now())
}

/// A moment as the database stores it (RFC 3339 UTC with microseconds:
/// text that sorts in time order, so `at <= $1` compares moments).
pub(crate) fn stored_time(at: &chrono::DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Micros, true)
}

/// An optional float as the statement binds it: text, cast back in the SQL
/// (`CAST($n AS DOUBLE PRECISION)`). sqlx 0.8's Any driver sends a NULL
/// `f64` to PostgreSQL typed as `float4` (sqlx-core `any/arguments.rs` maps
/// `Null(Double)` to `Option<f32>`), so a cached statement first run with
/// NULL then refuses a value ("incorrect binary data format"). Text has one
/// type whether it is NULL or not.
pub(crate) fn opt_f64(v: Option<f64>) -> Option<String> {
    v.map(|x| x.to_string())
}

pub(crate) fn date_str(d: Option<NaiveDate>) -> Option<String> {
    d.map(|d| d.format("%Y-%m-%d").to_string())
}

pub(crate) fn parse_date(s: Option<String>) -> Result<Option<NaiveDate>, ApiError> {
    s.map(|s| {
        NaiveDate::parse_from_str(&s, "%Y-%m-%d").map_err(|e| {
            tracing::error!(error = %e, value = %s, "stored date does not parse");
            ApiError::internal()
        })
    })
    .transpose()
}

/// A stored RFC 3339 time.
pub(crate) fn parse_time(s: &str) -> Result<chrono::DateTime<Utc>, ApiError> {
    chrono::DateTime::parse_from_rfc3339(s)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| {
            tracing::error!(error = %e, "stored time does not parse");
            ApiError::internal()
        })
}

/// An event row's `at` (stored as RFC 3339 text).
pub(crate) fn event_time(r: &AnyRow) -> Result<chrono::DateTime<Utc>, ApiError> {
    let at: String = r.try_get("at").map_err(db_err)?;
    chrono::DateTime::parse_from_rfc3339(&at)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| {
            tracing::error!(error = %e, "stored event time does not parse");
            ApiError::internal()
        })
}

pub(crate) fn event_from_row(r: &AnyRow) -> Result<Event, ApiError> {
    let parse_json = |c: &str| -> Result<Option<serde_json::Value>, ApiError> {
        r.try_get::<Option<String>, _>(c)
            .map_err(db_err)?
            .map(|s| serde_json::from_str(&s).map_err(json_err))
            .transpose()
    };
    Ok(Event {
        seq: r.try_get("seq").map_err(db_err)?,
        at: event_time(r)?,
        actor: r.try_get("actor").map_err(db_err)?,
        kind: r.try_get("kind").map_err(db_err)?,
        entity_type: r.try_get("entity_type").map_err(db_err)?,
        entity_id: r.try_get("entity_id").map_err(db_err)?,
        before: parse_json("before_json")?,
        after: parse_json("after_json")?,
    })
}

/// Whether the last write could be stored: a full disk (or another
/// storage failure) is reported by `/api/v1/healthz` until a write succeeds.
#[derive(Default)]
pub(crate) struct StorageHealth {
    full: std::sync::atomic::AtomicBool,
}

impl StorageHealth {
    pub(crate) fn write_ok(&self) {
        self.full.store(false, std::sync::atomic::Ordering::Release);
    }
    pub(crate) fn write_failed(&self, e: &ApiError) {
        if e.error == shared::api::ErrorCode::StorageFull {
            self.full.store(true, std::sync::atomic::Ordering::Release);
        }
    }
    pub(crate) fn full(&self) -> bool {
        self.full.load(std::sync::atomic::Ordering::Acquire)
    }
}
