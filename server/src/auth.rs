//! Who is asking, and may they: sessions (tower-sessions on the same
//! database), sign-in (axum-login, argon2id), bearer tokens, kiosks, sign-in
//! rate limits (governor), CSRF and the access policy of [`crate::policy`].
//!
//! Layers, outermost first: security headers → session → auth manager →
//! [`resolve_principal`] → [`csrf`] → [`guard`] → the route.

use std::net::SocketAddr;
use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{ConnectInfo, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use axum::Json;
use axum_login::{AuthSession, AuthUser, AuthnBackend, UserId};
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use serde::Deserialize;
use shared::api::ApiError;
use shared::auth::{Capability, Principal, PrincipalKind, ABSOLUTE_SESSION_HOURS};
use tower_sessions::session_store::{self, ExpiredDeletion};
use tower_sessions::{session::Id, session::Record, SessionStore};
use tower_sessions_sqlx_store::{PostgresStore, SqliteStore};

use crate::access::{kind, verify_password};
use crate::policy::{self, Need};
use crate::Registry;

// ---------------------------------------------------------------- sessions

/// The session store, on the same database as the registry.
#[derive(Debug, Clone)]
pub enum Sessions {
    Sqlite(SqliteStore),
    Postgres(PostgresStore),
}

impl Sessions {
    /// Opens the session table beside the registry (created if missing).
    pub async fn open(url: &str) -> anyhow::Result<Self> {
        if url.starts_with("postgres") {
            // Bounded like the registry's pool: a server never holds more
            // than a few session connections, and a request waits at most
            // 10 s for one (sqlx's default, 30 s, outlasts the request timeout).
            let pool = sqlx::postgres::PgPoolOptions::new()
                .max_connections(4)
                .acquire_timeout(Duration::from_secs(10))
                .connect(url)
                .await?;
            let store = PostgresStore::new(pool);
            store.migrate().await?;
            Ok(Self::Postgres(store))
        } else {
            use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqliteSynchronous};
            use std::str::FromStr;
            let opts = SqliteConnectOptions::from_str(url)?
                .create_if_missing(true)
                .journal_mode(SqliteJournalMode::Wal)
                .synchronous(SqliteSynchronous::Full)
                .busy_timeout(Duration::from_secs(10));
            let pool = sqlx::sqlite::SqlitePoolOptions::new()
                .max_connections(4)
                .acquire_timeout(Duration::from_secs(10))
                .connect_with(opts)
                .await?;
            let store = SqliteStore::new(pool);
            store.migrate().await?;
            Ok(Self::Sqlite(store))
        }
    }
}

#[async_trait::async_trait]
impl SessionStore for Sessions {
    async fn create(&self, r: &mut Record) -> session_store::Result<()> {
        match self {
            Self::Sqlite(s) => s.create(r).await,
            Self::Postgres(s) => s.create(r).await,
        }
    }
    async fn save(&self, r: &Record) -> session_store::Result<()> {
        match self {
            Self::Sqlite(s) => s.save(r).await,
            Self::Postgres(s) => s.save(r).await,
        }
    }
    async fn load(&self, id: &Id) -> session_store::Result<Option<Record>> {
        match self {
            Self::Sqlite(s) => s.load(id).await,
            Self::Postgres(s) => s.load(id).await,
        }
    }
    async fn delete(&self, id: &Id) -> session_store::Result<()> {
        match self {
            Self::Sqlite(s) => s.delete(id).await,
            Self::Postgres(s) => s.delete(id).await,
        }
    }
}

#[async_trait::async_trait]
impl ExpiredDeletion for Sessions {
    async fn delete_expired(&self) -> session_store::Result<()> {
        match self {
            Self::Sqlite(s) => s.delete_expired().await,
            Self::Postgres(s) => s.delete_expired().await,
        }
    }
}

/// The session cookie's name.
pub const SESSION_COOKIE: &str = "cablewatch_session";
/// Session key holding the sign-in time (Unix seconds).
const SIGNED_IN_AT: &str = "signed_in_at";
/// Session key holding when the session's idle expiry was last pushed on (Unix seconds).
const TOUCHED_AT: &str = "touched_at";
/// A session's idle expiry is pushed on at most this often: a request that
/// only reads writes nothing to the database in between.
pub const TOUCH_EVERY_SECS: i64 = 60;

// ------------------------------------------------------------- axum-login

/// A signed-in user or kiosk, as the session knows it.
#[derive(Clone)]
pub struct SessionUser {
    pub principal: Principal,
    /// The password hash (users) or token hash (kiosks): when it changes,
    /// every session made with the old one ends.
    auth_hash: Vec<u8>,
}

impl std::fmt::Debug for SessionUser {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SessionUser")
            .field("principal", &self.principal)
            .finish_non_exhaustive()
    }
}

impl AuthUser for SessionUser {
    type Id = String;
    fn id(&self) -> String {
        match self.principal.kind {
            PrincipalKind::Kiosk => format!("k:{}", self.principal.id),
            _ => format!("u:{}", self.principal.id),
        }
    }
    fn session_auth_hash(&self) -> &[u8] {
        &self.auth_hash
    }
}

/// What a sign-in presents.
#[derive(Clone)]
pub enum Credentials {
    Password { username: String, password: String },
    Kiosk { token: String },
}

#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct BackendError(String);

impl BackendError {
    /// No password-hashing turn came free in time (answered 429, not 500).
    fn is_busy(&self) -> bool {
        self.0 == crate::access::busy().message
    }
}

/// How a failed `authenticate` is answered.
fn sign_in_failure(e: axum_login::Error<Backend>) -> SignInError {
    match e {
        axum_login::Error::Backend(b) if b.is_busy() => {
            SignInError::RateLimited(crate::access::HASH_WAIT.as_secs())
        }
        _ => SignInError::Internal,
    }
}

#[derive(Clone)]
pub struct Backend {
    reg: Registry,
}

impl Backend {
    pub fn new(reg: Registry) -> Self {
        Self { reg }
    }

    async fn user(&self, id: i64) -> Result<Option<SessionUser>, BackendError> {
        let u = self
            .reg
            .user_by_id(id)
            .await
            .map_err(|e| BackendError(e.message))?;
        Ok(u.filter(|u| !u.disabled).map(|u| SessionUser {
            principal: Principal {
                id: u.id,
                name: u.name,
                role: u.role,
                kind: PrincipalKind::Session,
            },
            auth_hash: u.password_hash.into_bytes(),
        }))
    }

    async fn kiosk(&self, id: i64) -> Result<Option<SessionUser>, BackendError> {
        let k = self
            .reg
            .live_kiosk(id)
            .await
            .map_err(|e| BackendError(e.message))?;
        Ok(k.map(|(name, hash, _)| SessionUser {
            principal: Principal {
                id,
                name,
                role: shared::auth::Role::Briefing,
                kind: PrincipalKind::Kiosk,
            },
            auth_hash: hash.into_bytes(),
        }))
    }
}

impl AuthnBackend for Backend {
    type User = SessionUser;
    type Credentials = Credentials;
    type Error = BackendError;

    async fn authenticate(&self, creds: Credentials) -> Result<Option<SessionUser>, BackendError> {
        match creds {
            Credentials::Password { username, password } => {
                let u = self
                    .reg
                    .user_by_name(&username)
                    .await
                    .map_err(|e| BackendError(e.message))?;
                let hash = u.as_ref().map(|u| u.password_hash.clone());
                let ok = verify_password(hash, &password)
                    .await
                    .map_err(|e| BackendError(e.message))?;
                match u {
                    Some(u) if ok && !u.disabled => self.user(u.id).await,
                    _ => Ok(None),
                }
            }
            Credentials::Kiosk { token } => {
                let p = self
                    .reg
                    .principal_for_secret(&token)
                    .await
                    .map_err(|e| BackendError(e.message))?;
                match p {
                    Some(p) if p.kind == PrincipalKind::Kiosk => self.kiosk(p.id).await,
                    _ => Ok(None),
                }
            }
        }
    }

    async fn get_user(&self, id: &UserId<Self>) -> Result<Option<SessionUser>, BackendError> {
        let parse = |s: &str| s.parse::<i64>().ok();
        match id.split_once(':') {
            Some(("u", n)) => match parse(n) {
                Some(n) => self.user(n).await,
                None => Ok(None),
            },
            Some(("k", n)) => match parse(n) {
                Some(n) => self.kiosk(n).await,
                None => Ok(None),
            },
            _ => Ok(None),
        }
    }
}

pub type Auth = AuthSession<Backend>;

// ------------------------------------------------------------ rate limits

/// Sign-in attempts: per client address and per account, 5 quick tries then
/// one every 12 s. Nothing is ever locked for longer than the window.
pub struct SignInLimiter {
    by_client: DefaultKeyedRateLimiter<String>,
    by_account: DefaultKeyedRateLimiter<String>,
}

/// Quick sign-in tries allowed before the limit applies.
pub const SIGN_IN_BURST: u32 = 5;
/// One further try per this many seconds.
pub const SIGN_IN_PERIOD_SECS: u64 = 12;

impl Default for SignInLimiter {
    fn default() -> Self {
        let burst = NonZeroU32::new(SIGN_IN_BURST).unwrap_or(NonZeroU32::MIN);
        let quota = Quota::with_period(Duration::from_secs(SIGN_IN_PERIOD_SECS))
            .map(|q| q.allow_burst(burst))
            .unwrap_or_else(|| Quota::per_minute(burst));
        Self {
            by_client: RateLimiter::keyed(quota),
            by_account: RateLimiter::keyed(quota),
        }
    }
}

impl SignInLimiter {
    /// `Err(seconds to wait)` when either the client or the account is over its
    /// limit. The account is charged only when the client was let through, so
    /// an address that floods one account's name cannot lock its owner out.
    pub fn check(&self, client: &str, account: &str) -> Result<(), u64> {
        let now = DefaultClock::default().now();
        let wait = |r: Result<(), governor::NotUntil<_>>| {
            r.map_err(|nu| nu.wait_time_from(now).as_secs().max(1))
        };
        wait(self.by_client.check_key(&client.to_string()))
            .and_then(|()| wait(self.by_account.check_key(&account.to_lowercase())))
            .inspect_err(|_| metrics::counter!(crate::metrics::RATE_LIMITED).increment(1))
    }

    /// Forgets keys whose limits have fully recovered (called periodically).
    pub fn shrink(&self) {
        self.by_client.retain_recent();
        self.by_account.retain_recent();
    }
}

/// State of the auth middlewares and handlers.
#[derive(Clone)]
pub struct AuthState {
    pub reg: Registry,
    pub limiter: Arc<SignInLimiter>,
    /// The session store, to check an open stream's session again.
    pub sessions: Sessions,
    /// Recent answers of [`AuthState::still_signed_in`], shared by the
    /// streams of one credential (a thousand screens on one kiosk link ask
    /// the database once per heartbeat, not a thousand times).
    pub checks: Arc<std::sync::Mutex<std::collections::HashMap<String, Check>>>,
}

/// One remembered answer: valid while no revoking event was published since
/// (`generation`) and for less than a heartbeat.
#[derive(Clone, Copy)]
pub struct Check {
    generation: u64,
    at: std::time::Instant,
    signed_in: bool,
}

/// Remembered answers kept at most (then forgotten all at once).
const CHECKS_KEPT: usize = 10_000;

/// How the reader of an open event stream signed in, so the stream can check
/// again while it is open (see [`AuthState::still_signed_in`]).
#[derive(Clone)]
pub enum StreamCredential {
    /// A bearer API token or kiosk secret.
    Token {
        secret: String,
        role: shared::auth::Role,
    },
    /// A browser session (a user's or a kiosk screen's).
    Session {
        id: Id,
        user_id: String,
        role: shared::auth::Role,
        auth_hash: Vec<u8>,
        absolute: bool,
    },
}

impl StreamCredential {
    /// The credential of a request that `resolve_principal` let through.
    pub async fn of(
        st: &AuthState,
        headers: &HeaderMap,
        session: Option<&tower_sessions::Session>,
        who: &Principal,
    ) -> Option<Self> {
        if let Some(secret) = bearer(headers) {
            return Some(Self::Token {
                secret: secret.to_string(),
                role: who.role,
            });
        }
        let id = session?.id()?;
        let user_id = match who.kind {
            PrincipalKind::Kiosk => format!("k:{}", who.id),
            _ => format!("u:{}", who.id),
        };
        let user = Backend::new(st.reg.clone())
            .get_user(&user_id)
            .await
            .ok()
            .flatten()?;
        Some(Self::Session {
            id,
            user_id,
            role: who.role,
            auth_hash: user.auth_hash.clone(),
            absolute: who.role.has_absolute_timeout() && who.kind == PrincipalKind::Session,
        })
    }
}

impl AuthState {
    /// Whether the reader of an open stream is still signed in as when it
    /// opened: the token or kiosk link neither revoked nor expired, the user
    /// not disabled, with the same role and password, the session not ended
    /// (signed out, idle past its expiry, or past the 12 h limit). A
    /// database error counts as no: the client reconnects and signs in again.
    pub async fn still_signed_in(&self, c: &StreamCredential) -> bool {
        let generation = *self.reg.live().revocations().borrow();
        let key = match c {
            StreamCredential::Token { secret, role } => {
                format!("t:{}:{role:?}", crate::access::secret_hash(secret))
            }
            StreamCredential::Session { id, .. } => format!("s:{id}"),
        };
        let fresh =
            |k: &Check| k.generation == generation && k.at.elapsed() < crate::live::HEARTBEAT / 2;
        if let Some(k) = self.checks.lock().ok().and_then(|m| m.get(&key).copied()) {
            if fresh(&k) {
                return k.signed_in;
            }
        }
        let signed_in = self.check_signed_in(c).await;
        if let Ok(mut m) = self.checks.lock() {
            if m.len() >= CHECKS_KEPT {
                m.clear();
            }
            m.insert(
                key,
                Check {
                    generation,
                    at: std::time::Instant::now(),
                    signed_in,
                },
            );
        }
        signed_in
    }

    async fn check_signed_in(&self, c: &StreamCredential) -> bool {
        match c {
            StreamCredential::Token { secret, role } => matches!(
                self.reg.principal_for_secret(secret).await,
                Ok(Some(p)) if p.role == *role
            ),
            StreamCredential::Session {
                id,
                user_id,
                role,
                auth_hash,
                absolute,
            } => {
                let Ok(Some(record)) = self.sessions.load(id).await else {
                    return false;
                };
                if *absolute {
                    let at = record.data.get(SIGNED_IN_AT).and_then(|v| v.as_i64());
                    let limit = ABSOLUTE_SESSION_HOURS * 3600;
                    if at.is_none_or(|t| chrono::Utc::now().timestamp() - t > limit) {
                        return false;
                    }
                }
                matches!(
                    Backend::new(self.reg.clone()).get_user(user_id).await,
                    Ok(Some(u)) if u.auth_hash == *auth_hash && u.principal.role == *role
                )
            }
        }
    }
}

// -------------------------------------------------------------- sign-in

/// Why a sign-in failed.
pub enum SignInError {
    /// Wrong name or password, or a disabled user (never said which).
    Refused,
    /// Too many tries: wait this many seconds.
    RateLimited(u64),
    Internal,
}

impl IntoResponse for SignInError {
    fn into_response(self) -> Response {
        match self {
            Self::Refused => (
                StatusCode::UNAUTHORIZED,
                Json(ApiError::new(
                    shared::api::ErrorCode::Unauthorized,
                    "wrong username or password",
                )),
            )
                .into_response(),
            Self::RateLimited(secs) => {
                let mut r = (
                    StatusCode::TOO_MANY_REQUESTS,
                    Json(ApiError::new(
                        shared::api::ErrorCode::RateLimited,
                        format!("too many sign-in attempts; try again in {secs} s"),
                    )),
                )
                    .into_response();
                if let Ok(v) = HeaderValue::from_str(&secs.to_string()) {
                    r.headers_mut().insert(header::RETRY_AFTER, v);
                }
                r
            }
            Self::Internal => crate::error::Error(ApiError::internal()).into_response(),
        }
    }
}

/// The client address: the TCP peer (behind a reverse proxy, every client
/// shares the proxy's address and limit; see README "Security").
pub struct ClientAddr(pub String);

impl<S: Send + Sync> axum::extract::FromRequestParts<S> for ClientAddr {
    type Rejection = std::convert::Infallible;
    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        _state: &S,
    ) -> Result<Self, Self::Rejection> {
        Ok(ClientAddr(
            parts
                .extensions
                .get::<ConnectInfo<SocketAddr>>()
                .map(|c| c.0.ip().to_string())
                .unwrap_or_else(|| "unknown".to_string()),
        ))
    }
}

/// Checks the limits, the password, and signs the session in (new session id).
pub async fn sign_in(
    st: &AuthState,
    auth: &mut Auth,
    client: &str,
    username: &str,
    password: &str,
) -> Result<Principal, SignInError> {
    let r = check_password(st, auth, client, username, password).await;
    if let Err(SignInError::Refused) = r {
        metrics::counter!(crate::metrics::SIGN_IN_FAILURES).increment(1);
    }
    r
}

async fn check_password(
    st: &AuthState,
    auth: &mut Auth,
    client: &str,
    username: &str,
    password: &str,
) -> Result<Principal, SignInError> {
    let username = username.trim();
    if username.is_empty() || username.len() > shared::auth::MAX_USERNAME {
        return Err(SignInError::Refused);
    }
    if password.len() > shared::auth::MAX_PASSWORD {
        return Err(SignInError::Refused);
    }
    st.limiter
        .check(client, username)
        .map_err(SignInError::RateLimited)?;
    let user = auth
        .authenticate(Credentials::Password {
            username: username.to_string(),
            password: password.to_string(),
        })
        .await
        .map_err(sign_in_failure)?;
    let Some(user) = user else {
        // The typed name is kept only when it names an account: a password
        // typed into the username box must not stay in the log.
        let known = matches!(st.reg.user_by_name(username).await, Ok(Some(_)));
        st.reg
            .log_auth(
                "anonymous",
                kind::SIGN_IN_FAILED,
                if known { username } else { "unknown" },
                serde_json::json!({"client": client}),
            )
            .await;
        return Err(SignInError::Refused);
    };
    establish(auth, &user).await?;
    st.reg
        .log_auth(
            &user.principal.actor(),
            kind::SIGNED_IN,
            username,
            serde_json::json!({"client": client}),
        )
        .await;
    Ok(user.principal)
}

/// Logs `user` into a new session (a new id, whatever the browser's session
/// held before: a revoked kiosk, a disabled user, someone else) and stamps
/// the sign-in time.
async fn establish(auth: &mut Auth, user: &SessionUser) -> Result<(), SignInError> {
    establish_at(auth, user, chrono::Utc::now().timestamp()).await
}

async fn establish_at(
    auth: &mut Auth,
    user: &SessionUser,
    signed_in_at: i64,
) -> Result<(), SignInError> {
    if auth.session.id().is_some() {
        // The browser had a session: end it and take a new id.
        auth.logout().await.map_err(|_| SignInError::Internal)?;
        auth.session
            .cycle_id()
            .await
            .map_err(|_| SignInError::Internal)?;
    }
    auth.login(user).await.map_err(|_| SignInError::Internal)?;
    let now = chrono::Utc::now().timestamp();
    auth.session
        .insert(SIGNED_IN_AT, signed_in_at)
        .await
        .map_err(|_| SignInError::Internal)?;
    auth.session
        .insert(TOUCHED_AT, now)
        .await
        .map_err(|_| SignInError::Internal)
}

/// Signs a kiosk screen in from its token; its session lasts until the token expires.
pub async fn sign_in_kiosk(auth: &mut Auth, token: &str) -> Result<Principal, SignInError> {
    let user = auth
        .authenticate(Credentials::Kiosk {
            token: token.to_string(),
        })
        .await
        .map_err(|_| SignInError::Internal)?
        .ok_or(SignInError::Refused)?;
    establish(auth, &user).await?;
    let kiosk = auth
        .backend
        .reg
        .live_kiosk(user.principal.id)
        .await
        .map_err(|_| SignInError::Internal)?;
    if let Some((_, _, expires)) = kiosk {
        if let Ok(t) = chrono::DateTime::parse_from_rfc3339(&expires) {
            if let Ok(at) = time::OffsetDateTime::from_unix_timestamp(t.timestamp()) {
                auth.session
                    .set_expiry(Some(tower_sessions::Expiry::AtDateTime(at)));
            }
        }
    }
    Ok(user.principal)
}

/// Signs the session in again after the user changed their password (the
/// old session hash no longer matches, so every other session has ended).
pub async fn refresh_after_password_change(
    auth: &mut Auth,
    user_id: i64,
) -> Result<(), SignInError> {
    let user = auth
        .backend
        .user(user_id)
        .await
        .map_err(|_| SignInError::Internal)?
        .ok_or(SignInError::Refused)?;
    // A new session id, but the same 12 h limit: changing a password does not extend it.
    let signed_in_at: Option<i64> = auth.session.get(SIGNED_IN_AT).await.ok().flatten();
    let at = signed_in_at.unwrap_or_else(|| chrono::Utc::now().timestamp());
    establish_at(auth, &user, at).await
}

// ------------------------------------------------------------ middlewares

fn bearer(headers: &HeaderMap) -> Option<&str> {
    headers
        .get(header::AUTHORIZATION)?
        .to_str()
        .ok()?
        .strip_prefix("Bearer ")
        .map(str::trim)
}

fn unauthorized(msg: &str) -> Response {
    (
        StatusCode::UNAUTHORIZED,
        [(header::WWW_AUTHENTICATE, "Bearer")],
        Json(ApiError::new(shared::api::ErrorCode::Unauthorized, msg)),
    )
        .into_response()
}

fn forbidden(msg: &str) -> Response {
    (
        StatusCode::FORBIDDEN,
        Json(ApiError::new(shared::api::ErrorCode::Forbidden, msg)),
    )
        .into_response()
}

/// Puts the request's [`Principal`] (if any) into its extensions: from a
/// bearer token, else from the session (ending sessions past their absolute limit).
pub async fn resolve_principal(
    State(st): State<AuthState>,
    mut auth: Auth,
    mut req: Request,
    next: Next,
) -> Response {
    if let Some(secret) = bearer(req.headers()) {
        match st.reg.principal_for_secret(secret).await {
            Ok(Some(p)) => {
                req.extensions_mut().insert(p);
            }
            Ok(None) => return unauthorized("unknown, expired or revoked token"),
            Err(e) => return crate::error::Error(e).into_response(),
        }
        return next.run(req).await;
    }
    if let Some(user) = auth.user.clone() {
        let p = user.principal;
        let expired = if p.role.has_absolute_timeout() && p.kind == PrincipalKind::Session {
            let at: Option<i64> = auth.session.get(SIGNED_IN_AT).await.ok().flatten();
            let limit = ABSOLUTE_SESSION_HOURS * 3600;
            at.is_none_or(|t| chrono::Utc::now().timestamp() - t > limit)
        } else {
            false
        };
        if expired {
            let _ = auth.logout().await;
        } else {
            if p.kind == PrincipalKind::Session {
                touch(&auth.session).await;
            }
            req.extensions_mut().insert(p);
        }
    }
    next.run(req).await
}

/// Pushes a user session's idle expiry on, at most once a minute: only then
/// is the session saved. A kiosk session is never touched: it lives until its
/// link expires or is revoked (its expiry is the link's, set at entry).
async fn touch(session: &tower_sessions::Session) {
    let now = chrono::Utc::now().timestamp();
    let last: Option<i64> = session.get(TOUCHED_AT).await.ok().flatten();
    if last.is_none_or(|t| now - t >= TOUCH_EVERY_SECS) {
        let _ = session.insert(TOUCHED_AT, now).await;
    }
}

/// Refuses a state-changing request made with the session cookie unless it
/// comes from this origin (`Sec-Fetch-Site`, else `Origin` against `Host`).
/// Bearer-token requests carry no ambient credentials and pass.
pub async fn csrf(req: Request, next: Next) -> Response {
    let safe = matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS);
    if safe || bearer(req.headers()).is_some() {
        return next.run(req).await;
    }
    match same_origin(req.headers()) {
        Some(true) => next.run(req).await,
        Some(false) => forbidden("cross-site request refused"),
        None => {
            let has_cookie = req
                .headers()
                .get(header::COOKIE)
                .and_then(|c| c.to_str().ok())
                .is_some_and(|c| c.contains(SESSION_COOKIE));
            if has_cookie {
                forbidden("a request with the session cookie must say where it comes from (Origin)")
            } else {
                next.run(req).await
            }
        }
    }
}

/// `Some(true)` same origin, `Some(false)` cross-site, `None` the browser did not say.
fn same_origin(h: &HeaderMap) -> Option<bool> {
    if let Some(site) = h.get("sec-fetch-site").and_then(|v| v.to_str().ok()) {
        return Some(matches!(site, "same-origin" | "none"));
    }
    let origin = h.get(header::ORIGIN)?.to_str().ok()?;
    let host = h.get(header::HOST).and_then(|v| v.to_str().ok())?;
    let origin_host = origin
        .split_once("://")
        .map(|(_, rest)| rest)
        .unwrap_or(origin);
    Some(origin != "null" && origin_host.eq_ignore_ascii_case(host))
}

/// What the guard is told at start: whether the feeds are public, and who
/// may scrape `/metrics` without signing in.
#[derive(Clone, Default)]
pub struct GuardConfig {
    pub public_feeds: bool,
    pub metrics_from: Arc<Vec<ipnet::IpNet>>,
}

/// Enforces [`policy::RULES`]: 401 without a principal (pages redirect to
/// sign-in), 403 without the capability, 404 for an API path not in the policy.
pub async fn guard(State(config): State<GuardConfig>, req: Request, next: Next) -> Response {
    let path = req.uri().path().to_string();
    let principal = req.extensions().get::<Principal>();
    let need = match policy::need(req.method(), &path) {
        Some(Need::Feed) if config.public_feeds => Some(Need::Public),
        Some(Need::Feed) => Some(Need::Signed(shared::auth::Capability::Read)),
        Some(Need::Metrics) => {
            let peer = req
                .extensions()
                .get::<ConnectInfo<SocketAddr>>()
                .map(|c| c.0.ip());
            match peer {
                Some(ip) if config.metrics_from.iter().any(|n| n.contains(&ip)) => {
                    Some(Need::Public)
                }
                _ => Some(Need::Signed(shared::auth::Capability::ManageAccess)),
            }
        }
        n => n,
    };
    match need {
        None => {
            if path.starts_with("/api/") {
                (
                    StatusCode::NOT_FOUND,
                    Json(ApiError::not_found("no such API route")),
                )
                    .into_response()
            } else {
                (StatusCode::METHOD_NOT_ALLOWED, "method not allowed").into_response()
            }
        }
        Some(Need::Public | Need::Feed | Need::Metrics) => next.run(req).await,
        Some(Need::Signed(cap)) => match principal {
            None if policy::is_page(req.method(), &path) => {
                let target = req
                    .uri()
                    .path_and_query()
                    .map(|p| p.as_str().to_string())
                    .unwrap_or_else(|| "/".into());
                Redirect::to(&format!("/signin?next={}", encode_query(&target))).into_response()
            }
            None => unauthorized("sign in, or send an API token"),
            Some(p) if p.can(cap) => next.run(req).await,
            Some(p) => forbidden(&format!("the {} role may not do this ({cap:?})", p.role)),
        },
    }
}

fn encode_query(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' | b'/' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// A safe place to go after signing in: one of the site's own pages (see
/// [`shared::auth::local_target`]).
pub use shared::auth::local_target;

/// Security headers on every response. Pages carry their own CSP with the
/// render's nonce (set by the app shell); everything else gets a strict one.
///
/// Every answer that is not a site file (`/pkg/…`, `style.css`, …) carries
/// `Cache-Control: no-store`: pages and API answers hold what only a signed-in
/// reader may see, and no shared or browser cache may keep them. With
/// `--secure-cookies` (the site is reached over HTTPS) answers carry HSTS.
pub async fn security_headers(State(secure): State<bool>, req: Request, next: Next) -> Response {
    let path = req.uri().path();
    let site_file = !path.starts_with("/api/")
        && (path.starts_with("/pkg/")
            || path
                .rsplit('/')
                .next()
                .is_some_and(|last| last.contains('.')));
    let mut resp = next.run(req).await;
    let h = resp.headers_mut();
    if !site_file {
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    if secure {
        h.insert(
            header::STRICT_TRANSPORT_SECURITY,
            HeaderValue::from_static("max-age=31536000; includeSubDomains"),
        );
    }
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    if !h.contains_key(header::CONTENT_SECURITY_POLICY) {
        h.insert(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(
                "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; style-src 'self'; \
                 img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; \
                 base-uri 'self'; form-action 'self'; object-src 'none'",
            ),
        );
    }
    resp
}

/// Credentials of `POST /api/v1/session` and the sign-in form.
#[derive(Deserialize, utoipa::ToSchema)]
pub struct SignInBody {
    pub username: String,
    pub password: String,
    #[serde(default)]
    pub next: Option<String>,
}

/// The principal of a request that passed [`guard`] with a signed-in need.
pub fn require(p: Option<&Principal>, cap: Capability) -> Result<Principal, ApiError> {
    match p {
        Some(p) if p.can(cap) => Ok(p.clone()),
        Some(p) => Err(ApiError::new(
            shared::api::ErrorCode::Forbidden,
            format!("the {} role may not do this", p.role),
        )),
        None => Err(ApiError::new(
            shared::api::ErrorCode::Unauthorized,
            "sign in first",
        )),
    }
}

impl axum::extract::FromRef<AuthState> for Registry {
    fn from_ref(st: &AuthState) -> Registry {
        st.reg.clone()
    }
}

/// The caller of a route that [`guard`] let through with a signed-in need.
pub struct Caller(pub Principal);

impl<S: Send + Sync> axum::extract::FromRequestParts<S> for Caller {
    type Rejection = Response;
    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        _state: &S,
    ) -> Result<Self, Self::Rejection> {
        parts
            .extensions
            .get::<Principal>()
            .cloned()
            .map(Caller)
            .ok_or_else(|| unauthorized("sign in, or send an API token"))
    }
}
