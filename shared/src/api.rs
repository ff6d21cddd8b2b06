//! What crosses the wire: the JSON API's bodies and the UI's server functions.

use serde::{Deserialize, Serialize};

use crate::event::Event;
use crate::fault::{Fault, FieldError};
use crate::import::ImportPlan;
use crate::notice::LineIssue;

/// The stable code of an error, on the wire in snake_case (`not_found`,
/// `conflict`, …). Each code has one HTTP status ([`ErrorCode::status`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    BadRequest,
    Unauthorized,
    Forbidden,
    NotFound,
    Conflict,
    /// Bad form fields (`fields` names each).
    Invalid,
    /// A notice with bad lines (`lines` names each).
    BadNotice,
    /// An asset import with bad lines or features.
    BadImport,
    TooLarge,
    RateLimited,
    /// The database could not store the write (a full disk).
    StorageFull,
    /// The write waited its limit for other writes and was not made.
    Busy,
    /// Anything else, including a code this build does not know.
    #[serde(other)]
    Internal,
}

impl ErrorCode {
    /// The HTTP status an error of this code is answered with.
    pub fn status(self) -> u16 {
        match self {
            Self::BadRequest => 400,
            Self::Unauthorized => 401,
            Self::Forbidden => 403,
            Self::NotFound => 404,
            Self::Conflict => 409,
            Self::TooLarge => 413,
            Self::Invalid | Self::BadNotice | Self::BadImport => 422,
            Self::RateLimited => 429,
            Self::Internal => 500,
            Self::StorageFull => 507,
            Self::Busy => 503,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::BadRequest => "bad_request",
            Self::Unauthorized => "unauthorized",
            Self::Forbidden => "forbidden",
            Self::NotFound => "not_found",
            Self::Conflict => "conflict",
            Self::Invalid => "invalid",
            Self::BadNotice => "bad_notice",
            Self::BadImport => "bad_import",
            Self::TooLarge => "too_large",
            Self::RateLimited => "rate_limited",
            Self::StorageFull => "storage_full",
            Self::Busy => "busy",
            Self::Internal => "internal",
        }
    }
}

impl std::fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The error body of every API answer: `{error, message, field?}` plus, where
/// they apply, every bad field or notice line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[error("{error}: {message}")]
pub struct ApiError {
    pub error: ErrorCode,
    pub message: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub fields: Vec<FieldError>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub lines: Vec<LineIssue>,
}

impl ApiError {
    pub fn new(error: ErrorCode, message: impl Into<String>) -> Self {
        Self {
            error,
            message: message.into(),
            field: None,
            fields: Vec::new(),
            lines: Vec::new(),
        }
    }

    pub fn not_found(what: impl Into<String>) -> Self {
        Self::new(ErrorCode::NotFound, what)
    }

    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::BadRequest, message)
    }

    pub fn unauthorized(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::Unauthorized, message)
    }

    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::Forbidden, message)
    }

    pub fn conflict(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::Conflict, message)
    }

    pub fn too_large(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::TooLarge, message)
    }

    /// The database could not store the write (a full disk): nothing of it was kept.
    pub fn storage_full() -> Self {
        Self::new(
            ErrorCode::StorageFull,
            "the server's storage is full; the write was not saved (reads still work)",
        )
    }

    /// The write waited its limit behind other writes: nothing was kept.
    pub fn busy() -> Self {
        Self::new(
            ErrorCode::Busy,
            "the server is busy with other writes; nothing was saved, try again",
        )
    }

    pub fn internal() -> Self {
        Self::new(
            ErrorCode::Internal,
            "internal error; the server log has the details",
        )
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
            ..Self::new(ErrorCode::Invalid, message)
        }
    }

    pub fn bad_notice(lines: Vec<LineIssue>) -> Self {
        let message = format!(
            "the notice has {} problem(s); nothing was imported",
            lines.len()
        );
        Self {
            lines,
            ..Self::new(ErrorCode::BadNotice, message)
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
            ..Self::new(ErrorCode::BadImport, message)
        }
    }

    /// The HTTP status this error is answered with.
    pub fn status(&self) -> u16 {
        self.error.status()
    }
}

#[cfg(test)]
mod error_tests {
    use super::*;

    #[test]
    fn codes_travel_as_snake_case_and_unknown_ones_read_as_internal() {
        let e = ApiError::storage_full();
        let v = serde_json::to_value(&e).expect("json");
        assert_eq!(v["error"], "storage_full");
        assert_eq!(e.status(), 507);
        let back: ApiError = serde_json::from_value(v).expect("back");
        assert_eq!(back, e);
        let odd: ApiError =
            serde_json::from_str(r#"{"error":"from_the_future","message":"m"}"#).expect("read");
        assert_eq!(odd.error, ErrorCode::Internal);
        assert_eq!(ApiError::too_large("x").to_string(), "too_large: x");
    }
}

/// A fault with its full history.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct FaultDetail {
    pub fault: Fault,
    pub events: Vec<Event>,
    /// Each estimated repair date the fault carried, oldest first.
    #[serde(default)]
    pub eta_history: Vec<crate::repair::EtaRevision>,
    /// Latest ETA minus the first, in days (`None` unless both have a date).
    #[serde(default)]
    pub slip_days: Option<i64>,
    /// The repair-time model's P10/P50/P90 beside the official date (open
    /// faults with a detection day).
    #[serde(default)]
    pub estimate: Option<crate::repair::FaultEstimate>,
}

/// What importing a notice would do (preview) or did (import).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct NoticeReport {
    pub plan: ImportPlan,
    pub warnings: Vec<LineIssue>,
    /// Events written: 0 for a preview or for a notice already imported.
    pub events_written: usize,
}

/// One page of the asset list: the matching assets (at most `limit`), how
/// many matched, and the whole registry's counts.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AssetList {
    pub assets: Vec<crate::assets::Asset>,
    pub matched: usize,
    pub counts: crate::assets::AssetCounts,
}

impl AssetList {
    /// The most rows a list page carries.
    pub const LIMIT: usize = 500;

    /// The list page of `all`: the assets matching `filter` (by kind, region,
    /// then name; at most [`Self::LIMIT`]), how many matched, and the counts
    /// of all of them.
    pub fn of<'a>(
        all: impl IntoIterator<Item = &'a crate::assets::Asset> + Clone,
        filter: &crate::assets::AssetFilter,
    ) -> Self {
        let mut matched: Vec<&crate::assets::Asset> = all
            .clone()
            .into_iter()
            .filter(|a| filter.matches(a))
            .collect();
        matched.sort_by(|a, b| {
            (a.draft.kind, &a.draft.region, &a.draft.name).cmp(&(
                b.draft.kind,
                &b.draft.region,
                &b.draft.name,
            ))
        });
        Self {
            matched: matched.len(),
            assets: matched.into_iter().take(Self::LIMIT).cloned().collect(),
            counts: crate::assets::count_assets(all),
        }
    }
}

/// An asset with its history.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AssetDetail {
    pub asset: crate::assets::Asset,
    pub events: Vec<Event>,
}
