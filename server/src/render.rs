//! A guard around server-rendered pages: a render that has not finished in
//! its budget is started again.
//!
//! Rarely (about 1 page in 1,000 under concurrent load, in CI), a page's
//! render in Leptos 0.8 never finishes: its `<Suspense>` boundaries wait for
//! a wake-up that was lost, with no error and no CPU used, until the request
//! timeout answers 408. The race is in the framework (leptos issues 4673,
//! 4851; still present in 0.8.23). A page answers a GET and writes nothing,
//! so it can be rendered again: a stalled attempt is dropped (its reactive
//! owner cleaned up) and a fresh one started, logged as a warning. The last
//! attempt runs under the request timeout alone.

use std::time::Duration;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{header, HeaderValue, Method};
use axum::middleware::Next;
use axum::response::Response;

/// How long one attempt may take, and how many attempts are timed.
#[derive(Debug, Clone, Copy)]
pub struct Budget {
    pub per_attempt: Duration,
    pub timed_attempts: u32,
}

/// Two attempts of 8 s each, then one more under the 30 s request timeout.
pub const PAGES: Budget = Budget {
    per_attempt: Duration::from_secs(8),
    timed_attempts: 2,
};

/// The cookie leptos_i18n reads the language from (zh-TW unless it says `en`).
const LOCALE_COOKIE: &str = "i18n_pref_locale";

/// `?lang=en` or `?lang=zh-TW` on a page: rendered in that language, and
/// remembered (the language cookie is set, as the switch does), so a kiosk
/// link can name its screen's language. Anything else is ignored.
pub async fn lang_from_query(mut req: Request, next: Next) -> Response {
    let lang = req.uri().query().and_then(|q| {
        q.split('&')
            .filter_map(|kv| kv.split_once('='))
            .find(|(k, _)| *k == "lang")
            .and_then(|(_, v)| match v {
                "en" => Some("en"),
                "zh-TW" | "zh-tw" | "zh_TW" => Some("zh-TW"),
                _ => None,
            })
    });
    let Some(lang) = lang.filter(|_| req.method() == Method::GET) else {
        return next.run(req).await;
    };
    // The request's cookies, with the language replaced.
    let mut cookies: Vec<String> = req
        .headers()
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .map(str::trim)
        .filter(|c| !c.is_empty() && !c.starts_with(&format!("{LOCALE_COOKIE}=")))
        .map(str::to_string)
        .collect();
    cookies.push(format!("{LOCALE_COOKIE}={lang}"));
    req.headers_mut().remove(header::COOKIE);
    if let Ok(v) = HeaderValue::from_str(&cookies.join("; ")) {
        req.headers_mut().insert(header::COOKIE, v);
    }
    let mut resp = next.run(req).await;
    if let Ok(v) = HeaderValue::from_str(&format!(
        "{LOCALE_COOKIE}={lang}; Path=/; SameSite=Strict; Max-Age=31536000"
    )) {
        resp.headers_mut().append(header::SET_COOKIE, v);
    }
    resp
}

/// A request with the same head as `p` and no body (a page's GET has none).
fn again(p: &axum::http::request::Parts) -> Request {
    let mut r = Request::new(Body::empty());
    *r.method_mut() = p.method.clone();
    *r.uri_mut() = p.uri.clone();
    *r.version_mut() = p.version;
    *r.headers_mut() = p.headers.clone();
    *r.extensions_mut() = p.extensions.clone();
    r
}

/// Middleware for the page routes (GET and HEAD; anything else passes).
pub async fn rerender_stalled(State(b): State<Budget>, req: Request, next: Next) -> Response {
    if req.method() != Method::GET && req.method() != Method::HEAD {
        return next.run(req).await;
    }
    let (parts, _) = req.into_parts();
    let path = parts.uri.path().to_string();
    within_budget(b, &path, || next.clone().run(again(&parts))).await
}

/// Runs `render()` until an attempt finishes within the budget: each of the
/// timed attempts is dropped when it stalls, the last one runs under the
/// request timeout alone. For renders only (they write nothing).
pub async fn within_budget<F, Fut>(b: Budget, path: &str, mut render: F) -> Response
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Response>,
{
    for attempt in 1..=b.timed_attempts {
        match tokio::time::timeout(b.per_attempt, render()).await {
            Ok(resp) => return resp,
            Err(_) => tracing::warn!(path, attempt, "a page render stalled; rendering it again"),
        }
    }
    render().await
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicU32, Ordering};
    use std::sync::Arc;

    use axum::routing::get;
    use axum::Router;
    use tower::ServiceExt;

    use super::*;

    /// A handler that never answers its first `stalls` calls.
    fn app(stalls: u32) -> (Router, Arc<AtomicU32>) {
        let calls = Arc::new(AtomicU32::new(0));
        let c = calls.clone();
        let handler = move || {
            let c = c.clone();
            async move {
                if c.fetch_add(1, Ordering::SeqCst) < stalls {
                    std::future::pending::<()>().await;
                }
                "page"
            }
        };
        let budget = Budget {
            per_attempt: Duration::from_millis(50),
            timed_attempts: 2,
        };
        let router = Router::new()
            .route("/p", get(handler.clone()).post(handler))
            .route_layer(axum::middleware::from_fn_with_state(
                budget,
                rerender_stalled,
            ));
        (router, calls)
    }

    async fn call(r: &Router, method: Method) -> Option<String> {
        let req = Request::builder()
            .method(method)
            .uri("/p")
            .body(Body::empty())
            .ok()?;
        let resp = tokio::time::timeout(Duration::from_secs(2), r.clone().oneshot(req))
            .await
            .ok()?
            .ok()?;
        let bytes = axum::body::to_bytes(resp.into_body(), 1024).await.ok()?;
        Some(String::from_utf8_lossy(&bytes).into_owned())
    }

    #[tokio::test]
    async fn a_stalled_render_is_started_again_and_answers() {
        let (r, calls) = app(2);
        assert_eq!(call(&r, Method::GET).await.as_deref(), Some("page"));
        assert_eq!(
            calls.load(Ordering::SeqCst),
            3,
            "two stalled, the third answered"
        );
        // A page that answers at once is rendered once.
        let (r, calls) = app(0);
        assert_eq!(call(&r, Method::GET).await.as_deref(), Some("page"));
        assert_eq!(calls.load(Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn a_post_is_never_repeated() {
        let (r, calls) = app(1);
        assert_eq!(call(&r, Method::POST).await, None, "still waiting");
        assert_eq!(calls.load(Ordering::SeqCst), 1);
    }
}
