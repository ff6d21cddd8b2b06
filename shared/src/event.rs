//! The event log's entry: every change is one, with who, when, and before/after.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// Event kinds, as stored. New kinds are added here, never renamed.
pub mod kind {
    pub const FAULT_REPORTED: &str = "fault.reported";
    pub const FAULT_UPDATED: &str = "fault.updated";
    pub const FAULT_RESTORED: &str = "fault.restored";
    pub const NOTICE_IMPORTED: &str = "notice.imported";
    pub const MAINTENANCE_RECORDED: &str = "maintenance.recorded";
    pub const MAINTENANCE_UPDATED: &str = "maintenance.updated";
    pub const REFERENCE_LOADED: &str = "reference.loaded";
    pub const ASSET_CREATED: &str = "asset.created";
    pub const ASSET_UPDATED: &str = "asset.updated";
    pub const ASSETS_IMPORTED: &str = "assets.imported";
    pub const ALERT_ACKNOWLEDGED: &str = "alert.acknowledged";
    pub const FIGURE_UPDATED: &str = "figure.updated";
    pub const REPAIR_UPDATED: &str = "repair.updated";
    pub const SHIP_UPDATED: &str = "ship.updated";
    /// The system found a repair with no stage change for 14 days.
    pub const REPAIR_STALLED: &str = "repair.stalled";
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Event {
    /// Position in the log: strictly increasing, never reused.
    pub seq: i64,
    pub at: DateTime<Utc>,
    /// `officer:NAME`, `notice:2026-02-14`, `system`.
    pub actor: String,
    pub kind: String,
    pub entity_type: String,
    pub entity_id: String,
    pub before: Option<serde_json::Value>,
    pub after: Option<serde_json::Value>,
}

/// What the live stream sends of an event: which thing changed, how, and
/// where in the log. No actor and no before/after: a page that wants the
/// details fetches them, with its reader's rights, so a stream's memory and
/// bandwidth do not grow with the size of what changed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LiveEvent {
    pub seq: i64,
    pub at: DateTime<Utc>,
    pub kind: String,
    pub entity_type: String,
    pub entity_id: String,
}

impl From<&Event> for LiveEvent {
    fn from(e: &Event) -> Self {
        Self {
            seq: e.seq,
            at: e.at,
            kind: e.kind.clone(),
            entity_type: e.entity_type.clone(),
            entity_id: e.entity_id.clone(),
        }
    }
}
