//! What crosses the wire: the JSON API's bodies and the UI's server functions.

use serde::{Deserialize, Serialize};

use crate::event::Event;
use crate::fault::{Fault, FieldError};
use crate::import::ImportPlan;
use crate::notice::LineIssue;

/// The error body of every API answer: `{error, message, field?}` plus, where
/// they apply, every bad field or notice line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[error("{error}: {message}")]
pub struct ApiError {
    /// Stable code: `not_found`, `conflict`, `invalid`, `bad_notice`, `bad_request`, `internal`.
    pub error: String,
    pub message: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub fields: Vec<FieldError>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub lines: Vec<LineIssue>,
}

impl ApiError {
    pub fn new(error: &str, message: impl Into<String>) -> Self {
        Self {
            error: error.to_string(),
            message: message.into(),
            field: None,
            fields: Vec::new(),
            lines: Vec::new(),
        }
    }

    pub fn not_found(what: impl Into<String>) -> Self {
        Self::new("not_found", what)
    }

    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new("bad_request", message)
    }

    pub fn unauthorized(message: impl Into<String>) -> Self {
        Self::new("unauthorized", message)
    }

    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::new("forbidden", message)
    }

    pub fn conflict(message: impl Into<String>) -> Self {
        Self::new("conflict", message)
    }

    /// The database could not store the write (a full disk): nothing of it was kept.
    pub fn storage_full() -> Self {
        Self::new(
            "storage_full",
            "the server's storage is full; the write was not saved (reads still work)",
        )
    }

    pub fn internal() -> Self {
        Self::new("internal", "internal error; the server log has the details")
    }

    pub fn invalid(fields: Vec<FieldError>) -> Self {
        let message = fields
            .iter()
            .map(|f| format!("{}: {}", f.field, f.message))
            .collect::<Vec<_>>()
            .join("; ");
        Self {
            field: fields.first().map(|f| f.field.clone()),
            fields,
            ..Self::new("invalid", message)
        }
    }

    pub fn bad_notice(lines: Vec<LineIssue>) -> Self {
        let message = format!(
            "the notice has {} problem(s); nothing was imported",
            lines.len()
        );
        Self {
            lines,
            ..Self::new("bad_notice", message)
        }
    }

    /// A CSV or GeoJSON asset import with errors: every bad line or feature.
    pub fn bad_import(lines: Vec<LineIssue>) -> Self {
        let message = format!(
            "the file has {} problem(s); nothing was imported",
            lines.len()
        );
        Self {
            lines,
            ..Self::new("bad_import", message)
        }
    }

    /// The HTTP status this error is answered with.
    pub fn status(&self) -> u16 {
        match self.error.as_str() {
            "unauthorized" => 401,
            "forbidden" => 403,
            "not_found" => 404,
            "conflict" => 409,
            "invalid" | "bad_notice" | "bad_import" => 422,
            "too_large" => 413,
            "bad_request" => 400,
            "rate_limited" => 429,
            "storage_full" => 507,
            _ => 500,
        }
    }
}

/// A fault with its full history.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FaultDetail {
    pub fault: Fault,
    pub events: Vec<Event>,
}

/// What importing a notice would do (preview) or did (import).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct NoticeReport {
    pub plan: ImportPlan,
    pub warnings: Vec<LineIssue>,
    /// Events written: 0 for a preview or for a notice already imported.
    pub events_written: usize,
}

/// One page of the asset list: the matching assets (at most `limit`), how
/// many matched, and the whole registry's counts.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct AssetList {
    pub assets: Vec<crate::assets::Asset>,
    pub matched: usize,
    pub counts: crate::assets::AssetCounts,
}

/// An asset with its history.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AssetDetail {
    pub asset: crate::assets::Asset,
    pub events: Vec<Event>,
}
