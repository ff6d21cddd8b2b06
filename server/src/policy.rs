//! The access policy: every route and server function with what it needs.
//! [`crate::auth::guard`] enforces it before any handler runs, and it fails
//! closed: an API path or server function missing here answers 404, so a new
//! route cannot be reachable without a rule. The role-matrix test walks this
//! table and the list of registered server functions.

use axum::http::Method;
use shared::auth::Capability::{self, *};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Need {
    /// Anyone: sign-in, the kiosk entry, health check, site files.
    Public,
    /// A principal with this capability.
    Signed(Capability),
    /// The public alert feeds: anyone when the server runs with
    /// `--public-feeds`, else signed-in readers (`Signed(Read)`).
    Feed,
    /// The metrics: admins (who may manage access), or anyone from an
    /// address the server was told to trust (`--metrics-from`).
    Metrics,
}

use Need::{Feed, Metrics, Public, Signed};

#[derive(Debug, Clone, Copy)]
pub struct Rule {
    pub method: &'static str,
    /// Path template: `{name}` matches one segment.
    pub path: &'static str,
    pub need: Need,
}

const fn r(method: &'static str, path: &'static str, need: Need) -> Rule {
    Rule { method, path, need }
}

/// Every route of the JSON API, the server functions and the form posts.
pub const RULES: &[Rule] = &[
    // JSON API
    r("GET", "/api/v1/healthz", Public),
    r("GET", "/api/v1/readyz", Public),
    r("GET", "/api/v1/openapi.json", Signed(Read)),
    r("POST", "/api/v1/session", Public),
    r("DELETE", "/api/v1/session", Signed(Read)),
    r("GET", "/api/v1/faults", Signed(Read)),
    r("POST", "/api/v1/faults", Signed(WriteData)),
    r("GET", "/api/v1/faults/{id}", Signed(Read)),
    r("PATCH", "/api/v1/faults/{id}", Signed(WriteData)),
    r("GET", "/api/v1/cables", Signed(Read)),
    r("GET", "/api/v1/stations", Signed(Read)),
    r("GET", "/api/v1/cables.geojson", Signed(Read)),
    r("GET", "/api/v1/faults.geojson", Signed(Read)),
    r("GET", "/api/v1/stations.geojson", Signed(Read)),
    r("POST", "/api/v1/notices", Signed(WriteData)),
    r("POST", "/api/v1/notices/preview", Signed(WriteData)),
    r("GET", "/api/v1/notices/export", Signed(Read)),
    r("GET", "/api/v1/maintenance", Signed(Read)),
    r("POST", "/api/v1/maintenance", Signed(WriteData)),
    r(
        "POST",
        "/api/v1/maintenance/{id}/complete",
        Signed(WriteData),
    ),
    r("GET", "/api/v1/assets", Signed(Read)),
    r("POST", "/api/v1/assets", Signed(WriteData)),
    r("GET", "/api/v1/assets/{id}", Signed(Read)),
    r("PATCH", "/api/v1/assets/{id}", Signed(WriteData)),
    r("POST", "/api/v1/assets/import", Signed(WriteData)),
    r("GET", "/api/v1/assets.geojson", Signed(Read)),
    r("GET", "/api/v1/assets.csv", Signed(Read)),
    r("GET", "/api/v1/events", Signed(Read)),
    r("GET", "/api/v1/alerts", Signed(Read)),
    r("POST", "/api/v1/alerts/{id}/ack", Signed(Acknowledge)),
    r("GET", "/api/v1/watch", Signed(Read)),
    r("GET", "/api/v1/charts/{name}", Signed(Read)),
    r("GET", "/api/v1/briefing.svg", Signed(Read)),
    r("GET", "/api/v1/briefing.png", Signed(Read)),
    r("GET", "/api/v1/briefing.pdf", Signed(Read)),
    r("GET", "/api/v1/repairs", Signed(Read)),
    r("PATCH", "/api/v1/faults/{id}/repair", Signed(WriteData)),
    r("PATCH", "/api/v1/ships/{id}", Signed(WriteData)),
    r("GET", "/api/v1/resilience", Signed(Read)),
    // A what-if is computed, never stored: any reader may ask.
    r("POST", "/api/v1/resilience/what-if", Signed(Read)),
    r("GET", "/api/v1/resilience/contingencies", Signed(Read)),
    r("GET", "/api/v1/resilience/figures", Signed(Read)),
    r(
        "PATCH",
        "/api/v1/resilience/figures/{key}",
        Signed(WriteData),
    ),
    r("POST", "/api/v1/me/password", Signed(Account)),
    r("GET", "/api/v1/me/tokens", Signed(Account)),
    r("POST", "/api/v1/me/tokens", Signed(Account)),
    r("DELETE", "/api/v1/me/tokens/{id}", Signed(Account)),
    r("GET", "/api/v1/me/subscriptions", Signed(Subscribe)),
    r("POST", "/api/v1/me/subscriptions", Signed(Subscribe)),
    r("DELETE", "/api/v1/me/subscriptions/{id}", Signed(Subscribe)),
    r("GET", "/api/v1/me/notifications", Signed(Subscribe)),
    r("GET", "/api/v1/outbox", Signed(ManageAccess)),
    r("GET", "/api/v1/kiosks", Signed(ManageAccess)),
    r("POST", "/api/v1/kiosks", Signed(ManageAccess)),
    r("DELETE", "/api/v1/kiosks/{id}", Signed(ManageAccess)),
    r("GET", "/api/v1/users", Signed(ManageAccess)),
    r("GET", "/api/v1/audit", Signed(ReadAudit)),
    r("GET", "/api/v1/exercises", Signed(Read)),
    r("POST", "/api/v1/exercises", Signed(RunExercises)),
    r("GET", "/api/v1/exercises/{id}", Signed(Read)),
    r("GET", "/api/v1/exercises/{id}/report", Signed(Read)),
    r("GET", "/api/v1/exercises/{id}/report.csv", Signed(Read)),
    // The public alert feeds (see `feeds`)
    r("GET", "/feeds/alerts.atom", Feed),
    r("GET", "/feeds/alerts.cap.xml", Feed),
    r("GET", "/feeds/alerts/{file}", Feed),
    r("GET", "/feeds/islands/{region}/alerts.atom", Feed),
    r("GET", "/feeds/islands/{region}/alerts.cap.xml", Feed),
    // The basemap's land outlines per map view (OpenStreetMap, public data).
    r("GET", "/map/land/{file}", Public),
    // Operations (see `metrics`)
    r("GET", "/metrics", Metrics),
    // Server functions of the web UI
    r("POST", "/api/fn/whoami", Public),
    r("POST", "/api/fn/faults", Signed(Read)),
    r("POST", "/api/fn/fault", Signed(Read)),
    r("POST", "/api/fn/cables", Signed(Read)),
    r("POST", "/api/fn/save_fault", Signed(WriteData)),
    r("POST", "/api/fn/preview_notice", Signed(WriteData)),
    r("POST", "/api/fn/import_notice", Signed(WriteData)),
    r("POST", "/api/fn/maintenance", Signed(Read)),
    r("POST", "/api/fn/record_maintenance", Signed(WriteData)),
    r("POST", "/api/fn/complete_maintenance", Signed(WriteData)),
    r("POST", "/api/fn/audit", Signed(ReadAudit)),
    r("POST", "/api/fn/map_data", Signed(Read)),
    r("POST", "/api/fn/asset_markers", Signed(Read)),
    r("POST", "/api/fn/assets", Signed(Read)),
    r("POST", "/api/fn/asset", Signed(Read)),
    r("POST", "/api/fn/save_asset", Signed(WriteData)),
    r("POST", "/api/fn/import_assets", Signed(WriteData)),
    r("POST", "/api/fn/watch_board", Signed(Read)),
    r("POST", "/api/fn/live_seq", Signed(Read)),
    r("POST", "/api/fn/ack_alert", Signed(Acknowledge)),
    r("POST", "/api/fn/exercise_context", Signed(Read)),
    r("POST", "/api/fn/exercises", Signed(Read)),
    r("POST", "/api/fn/create_exercise", Signed(RunExercises)),
    r("POST", "/api/fn/exercise_report", Signed(Read)),
    r("POST", "/api/fn/resilience", Signed(Read)),
    r("POST", "/api/fn/repairs", Signed(Read)),
    r("POST", "/api/fn/briefing", Signed(Read)),
    r("POST", "/api/fn/my_tokens", Signed(Account)),
    r("POST", "/api/fn/create_token", Signed(Account)),
    r("POST", "/api/fn/revoke_token", Signed(Account)),
    r("POST", "/api/fn/notifications", Signed(Subscribe)),
    r("POST", "/api/fn/kiosks", Signed(ManageAccess)),
    r("POST", "/api/fn/create_kiosk", Signed(ManageAccess)),
    r("POST", "/api/fn/revoke_kiosk", Signed(ManageAccess)),
    // Form posts and entry points
    r("GET", "/signin", Public),
    r("POST", "/signin", Public),
    r("POST", "/signout", Signed(Read)),
    r("GET", "/kiosk", Public),
    r("POST", "/faults/new", Signed(WriteData)),
    r("POST", "/faults/{id}", Signed(WriteData)),
    r("POST", "/maintenance", Signed(WriteData)),
    r("POST", "/maintenance/{id}/complete", Signed(WriteData)),
    r("POST", "/assets/new", Signed(WriteData)),
    r("POST", "/assets/{id}", Signed(WriteData)),
    r("POST", "/alerts/{id}/ack", Signed(Acknowledge)),
    r("POST", "/exercises", Signed(RunExercises)),
    // Switching into an exercise or out of it sets a cookie, nothing more.
    r("POST", "/exercises/{id}/join", Signed(Read)),
    r("POST", "/exercises/leave", Signed(Read)),
    r("POST", "/notifications", Signed(Subscribe)),
    r("POST", "/notifications/{id}/remove", Signed(Subscribe)),
    r("POST", "/resilience/figures/{key}", Signed(WriteData)),
    r("POST", "/repairs/faults/{id}", Signed(WriteData)),
    r("POST", "/repairs/ships/{id}", Signed(WriteData)),
    // Pages that only some roles use
    r("GET", "/faults/new", Signed(WriteData)),
    r("GET", "/import", Signed(WriteData)),
    r("GET", "/assets/new", Signed(WriteData)),
    r("GET", "/assets/import", Signed(WriteData)),
    r("GET", "/audit", Signed(ReadAudit)),
    r("GET", "/account", Signed(Account)),
    r("GET", "/notifications", Signed(Subscribe)),
    r("GET", "/admin/kiosks", Signed(ManageAccess)),
];

/// The writes that can be made inside an exercise (into its layer): faults
/// (by hand or by a notice's import), alert acknowledgements and asset
/// states. Every other write that names an
/// exercise is refused (`in_exercise::context`), so nothing meant for an
/// exercise lands in reality.
pub const EXERCISE_WRITES: &[(&str, &str)] = &[
    ("POST", "/api/v1/faults"),
    ("PATCH", "/api/v1/faults/{id}"),
    ("POST", "/api/v1/notices"),
    ("POST", "/api/fn/import_notice"),
    ("POST", "/api/v1/alerts/{id}/ack"),
    ("PATCH", "/api/v1/assets/{id}"),
    ("POST", "/api/fn/save_fault"),
    ("POST", "/api/fn/ack_alert"),
    ("POST", "/api/fn/save_asset"),
    ("POST", "/faults/new"),
    ("POST", "/faults/{id}"),
    ("POST", "/alerts/{id}/ack"),
    ("POST", "/assets/{id}"),
];

/// Whether a write can be made inside an exercise (see [`EXERCISE_WRITES`]).
pub fn in_exercise_writes(method: &Method, path: &str) -> bool {
    EXERCISE_WRITES
        .iter()
        .any(|(m, t)| *m == method.as_str() && matches(t, path))
}

fn matches(template: &str, path: &str) -> bool {
    let mut t = template.split('/');
    let mut p = path.split('/');
    loop {
        match (t.next(), p.next()) {
            (None, None) => return true,
            (Some(ts), Some(ps)) if ts.starts_with('{') && ts.ends_with('}') => {
                if ps.is_empty() {
                    return false;
                }
            }
            (Some(ts), Some(ps)) if ts == ps => {}
            _ => return false,
        }
    }
}

/// Whether a request is for a page (a GET outside the API, the feeds, the
/// metrics and site files): an anonymous one is sent to sign in, not
/// answered 401.
pub fn is_page(method: &Method, path: &str) -> bool {
    (method == Method::GET || method == Method::HEAD)
        && !path.starts_with("/api/")
        && !path.starts_with("/feeds/")
        && path != "/metrics"
}

/// What a request needs; `None` when no rule allows it.
pub fn need(method: &Method, path: &str) -> Option<Need> {
    let m = if method == Method::HEAD {
        "GET"
    } else {
        method.as_str()
    };
    if let Some(rule) = RULES
        .iter()
        .find(|r| r.method == m && matches(r.path, path))
    {
        return Some(rule.need);
    }
    if m == "GET" && (path.starts_with("/pkg/") || path == "/favicon.ico" || path == "/robots.txt")
    {
        return Some(Public);
    }
    if is_page(method, path) {
        return Some(Signed(Read));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn templates_match_one_segment() {
        assert!(matches("/api/v1/faults/{id}", "/api/v1/faults/12"));
        assert!(!matches("/api/v1/faults/{id}", "/api/v1/faults/"));
        assert!(!matches("/api/v1/faults/{id}", "/api/v1/faults/1/x"));
        assert!(matches(
            "/api/v1/maintenance/{id}/complete",
            "/api/v1/maintenance/3/complete"
        ));
    }

    #[test]
    fn unknown_api_paths_fail_closed_and_pages_need_a_reader() {
        assert_eq!(need(&Method::POST, "/api/v1/nothing"), None);
        assert_eq!(need(&Method::POST, "/api/fn/not_registered"), None);
        assert_eq!(need(&Method::DELETE, "/api/v1/faults/1"), None);
        assert_eq!(need(&Method::GET, "/faults/3"), Some(Signed(Read)));
        assert_eq!(need(&Method::GET, "/pkg/cablewatch.js"), Some(Public));
        // A fault page's plain form post needs the right to write.
        assert_eq!(need(&Method::POST, "/faults/3"), Some(Signed(WriteData)));
        assert_eq!(need(&Method::POST, "/faults/3/x"), None);
        assert_eq!(need(&Method::POST, "/map"), None);
        assert_eq!(need(&Method::GET, "/import"), Some(Signed(WriteData)));
    }
}
