//! The write lane: a runtime of its own, on one thread, where every write
//! request and the live pump run.
//!
//! With thousands of open event streams, publishing one event wakes
//! thousands of stream tasks on the main runtime. A write that waited in
//! that queue at each of its steps (session, transaction, commit, the pump's
//! read of the log) would take as long as several fan-outs. On the lane, a
//! write's steps wait only for other writes, and the operating system
//! schedules the lane's thread beside the main runtime's. What needs the
//! capability to write data or acknowledge in [`crate::policy`] runs here;
//! reads, pages and the streams stay on the main runtime.

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use shared::api::ApiError;
use shared::auth::Capability;
use tokio::runtime::Handle;

use crate::error::Error;
use crate::policy::{self, Need};

/// Starts the lane: a current-thread runtime on its own named thread, alive
/// until the process ends.
pub fn start() -> std::io::Result<Handle> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .thread_name("cablewatch-writes")
        .build()?;
    let handle = rt.handle().clone();
    std::thread::Builder::new()
        .name("cablewatch-writes".into())
        .spawn(move || rt.block_on(std::future::pending::<()>()))?;
    Ok(handle)
}

/// Requests that only officers may make but that write nothing: notice
/// previews parse up to 1 MiB and answer a large plan, none of which is a
/// write's business to wait behind.
const PREVIEWS: [&str; 2] = ["/api/v1/notices/preview", "/api/fn/preview_notice"];

/// Whether a request writes to the event log: its rule needs the right to
/// write data or to acknowledge alerts, and it is not a preview. (Account
/// and access changes are rare and stay on the main runtime, with the reads
/// those capabilities allow.)
pub fn is_write(req: &Request) -> bool {
    writes(req.method(), req.uri().path())
}

/// [`is_write`] by method and path (also what the OpenAPI document says
/// of a route: a write can answer busy and storage full).
pub fn writes(method: &axum::http::Method, path: &str) -> bool {
    matches!(
        policy::need(method, path),
        Some(Need::Signed(
            Capability::WriteData | Capability::Acknowledge
        ))
    ) && !PREVIEWS.contains(&path)
}

/// Middleware: runs a write request (the whole stack below, handler and
/// commit included) on the lane. The body is read here first, on the
/// connection's own task, so the lane never waits for the main runtime.
pub async fn on_lane(State(lane): State<Option<Handle>>, req: Request, next: Next) -> Response {
    let Some(lane) = lane.filter(|_| is_write(&req)) else {
        return next.run(req).await;
    };
    let (parts, body) = req.into_parts();
    let bytes = match axum::body::to_bytes(body, crate::error::BODY_LIMIT).await {
        Ok(b) => b,
        Err(_) => return Error(crate::error::body_too_large()).into_response(),
    };
    let req = Request::from_parts(parts, axum::body::Body::from(bytes));
    let _depth = crate::metrics::OnLane::enter();
    lane.spawn(next.run(req)).await.unwrap_or_else(|e| {
        tracing::error!(error = %e, "a write on the write lane did not finish");
        Error(ApiError::internal()).into_response()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(method: &str, path: &str) -> Request {
        Request::builder()
            .method(method)
            .uri(path)
            .body(axum::body::Body::empty())
            .unwrap_or_default()
    }

    #[test]
    fn writes_go_to_the_lane_and_reads_do_not() {
        assert!(is_write(&req("POST", "/api/v1/faults")));
        assert!(is_write(&req("PATCH", "/api/v1/assets/7")));
        assert!(is_write(&req("POST", "/api/v1/alerts/3/ack")));
        assert!(!is_write(&req("GET", "/api/v1/faults")));
        assert!(!is_write(&req("GET", "/api/v1/events")));
        // Server functions are POSTs; the reading ones stay on the main runtime.
        assert!(!is_write(&req("POST", "/api/fn/faults")));
        // Signing in is public.
        assert!(!is_write(&req("POST", "/api/v1/session")));
        assert!(!is_write(&req("GET", "/map")));
        assert!(!is_write(&req("POST", "/api/fn/audit")));
        // Previews need an officer but write nothing.
        assert!(!is_write(&req("POST", "/api/v1/notices/preview")));
        assert!(!is_write(&req("POST", "/api/fn/preview_notice")));
        assert!(is_write(&req("POST", "/api/v1/notices")));
    }
}
