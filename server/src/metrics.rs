//! Operations metrics: `GET /metrics` in the Prometheus text format, the
//! request layer that counts every answer by route and status, and the
//! names of the counters other modules bump.
//!
//! The recorder is the `metrics` facade's global one (one per process,
//! installed on first use); the exporter renders it when scraped. Gauges
//! that describe the present (open streams, pump lag, pool use) are read at
//! scrape time, so they are never stale.

use std::sync::OnceLock;
use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::http::{header, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

use crate::Registry;

/// Requests answered, by `method`, `route` (the route's template) and `status`.
pub const REQUESTS: &str = "cablewatch_http_requests_total";
/// Time to the response head, by `method` and `route` (a stream's head comes
/// at once; its body is not timed).
pub const REQUEST_SECONDS: &str = "cablewatch_http_request_duration_seconds";
/// Events committed to the log: counted by storage (`log`), which this
/// edge module sits above.
pub use crate::log::EVENTS_WRITTEN;
/// Sign-ins refused for a wrong name or password (rate-limited ones apart).
pub const SIGN_IN_FAILURES: &str = "cablewatch_sign_in_failures_total";
/// Requests refused by a rate limit (429).
pub const RATE_LIMITED: &str = "cablewatch_rate_limited_total";
/// Write requests on the write lane, running or waiting for it.
pub const LANE_DEPTH: &str = "cablewatch_write_lane_depth";
/// Open event streams (`/api/v1/events`) on this server.
pub const STREAMS: &str = "cablewatch_live_streams";
/// Newest committed `seq` minus newest published `seq` (0: caught up).
pub const PUMP_LAG: &str = "cablewatch_live_pump_lag_events";
/// Database pool connections, by `state` (`idle`, `in_use`).
pub const POOL: &str = "cablewatch_db_pool_connections";

/// Latency buckets in seconds: pages render in milliseconds, a write waits
/// for the writer lock up to 20 s.
const BUCKETS: [f64; 14] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
];

/// The process's recorder, installed on first use (`None` if another
/// recorder was installed first: then nothing is exported).
fn handle() -> Option<&'static PrometheusHandle> {
    static HANDLE: OnceLock<Option<PrometheusHandle>> = OnceLock::new();
    HANDLE
        .get_or_init(|| {
            let builder = PrometheusBuilder::new()
                .set_buckets_for_metric(Matcher::Full(REQUEST_SECONDS.into()), &BUCKETS)
                .map_err(|e| tracing::error!(error = %e, "metrics buckets"))
                .ok()?;
            let handle = builder
                .install_recorder()
                .map_err(|e| tracing::error!(error = %e, "installing the metrics recorder"))
                .ok()?;
            describe();
            Some(handle)
        })
        .as_ref()
}

/// Installs the recorder (so counters bumped before the first scrape count).
pub fn install() {
    let _ = handle();
}

fn describe() {
    use metrics::{describe_counter, describe_gauge, describe_histogram, Unit};
    describe_counter!(
        REQUESTS,
        "HTTP requests answered, by method, route template and status"
    );
    describe_histogram!(
        REQUEST_SECONDS,
        Unit::Seconds,
        "time to the response head, by method and route template"
    );
    describe_counter!(EVENTS_WRITTEN, "events committed to the log");
    describe_counter!(
        SIGN_IN_FAILURES,
        "sign-ins refused for a wrong name or password"
    );
    describe_counter!(RATE_LIMITED, "requests refused by a rate limit (429)");
    describe_gauge!(
        LANE_DEPTH,
        "write requests on the write lane, running or waiting"
    );
    describe_gauge!(STREAMS, "open live event streams");
    describe_gauge!(
        PUMP_LAG,
        "newest committed event seq minus newest published (0: caught up)"
    );
    describe_gauge!(POOL, "database pool connections by state");
}

/// The route a request was routed to: set by [`mark_route`] on the
/// response, read by [`track`].
#[derive(Clone)]
struct Route(String);

/// Route layer: remembers the matched route's template on the response,
/// for [`track`] (outside the router, the template is not known).
pub async fn mark_route(req: Request, next: Next) -> Response {
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map(|m| m.as_str().to_string());
    let mut resp = next.run(req).await;
    if let Some(r) = route {
        resp.extensions_mut().insert(Route(r));
    }
    resp
}

/// Outermost layer: counts and times every answer by method, route template
/// and status. Paths no route matched are one label (`other`), site files
/// another, so a scan of random paths cannot grow the label set.
pub async fn track(req: Request, next: Next) -> Response {
    let start = Instant::now();
    let method = req.method().as_str().to_string();
    let files = req.uri().path().starts_with("/pkg/");
    let resp = next.run(req).await;
    let route = match resp.extensions().get::<Route>() {
        Some(Route(r)) => r.clone(),
        None if files => "/pkg/{file}".to_string(),
        None => "other".to_string(),
    };
    let status = resp.status().as_u16().to_string();
    metrics::counter!(REQUESTS, "method" => method.clone(), "route" => route.clone(), "status" => status)
        .increment(1);
    metrics::histogram!(REQUEST_SECONDS, "method" => method, "route" => route)
        .record(start.elapsed().as_secs_f64());
    resp
}

/// Counts a request on the write lane while it lives.
pub struct OnLane;

impl OnLane {
    pub fn enter() -> Self {
        metrics::gauge!(LANE_DEPTH).increment(1.0);
        OnLane
    }
}

impl Drop for OnLane {
    fn drop(&mut self) {
        metrics::gauge!(LANE_DEPTH).decrement(1.0);
    }
}

/// `GET /metrics`: every metric in the Prometheus text format (0.0.4).
pub async fn scrape(State(reg): State<Registry>) -> Response {
    let Some(handle) = handle() else {
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            "metrics are not recorded in this process\n",
        )
            .into_response();
    };
    metrics::gauge!(STREAMS).set(reg.live().streams() as f64);
    match reg.pump_lag().await {
        Ok(Some(lag)) => metrics::gauge!(PUMP_LAG).set(lag as f64),
        Ok(None) => {}
        Err(e) => tracing::warn!(error = %e.message, "metrics: reading the log's newest seq"),
    }
    let pool = reg.pool();
    let idle = pool.num_idle() as f64;
    metrics::gauge!(POOL, "state" => "idle").set(idle);
    metrics::gauge!(POOL, "state" => "in_use").set((f64::from(pool.size()) - idle).max(0.0));
    handle.run_upkeep();
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        handle.render(),
    )
        .into_response()
}
