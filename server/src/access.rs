//! Access control's storage: users, personal API tokens, kiosk screens and
//! the audit query. Every change is an event in the same log as the faults,
//! written in the same transaction (through [`Log::write`]).
//!
//! Secrets are never stored or logged in clear: passwords are hashed with
//! argon2id (OWASP minimum: 19 MiB, 2 passes, 1 lane) on a blocking thread;
//! tokens are 256 random bits, shown once, stored as SHA-256.

use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use base64::Engine as _;
use chrono::{DateTime, Duration, Utc};
use sha2::{Digest, Sha256};
use sqlx::Row;

use shared::api::ApiError;
use shared::auth::{
    check_new_password, check_username, AuditFilter, NewSecret, Principal, PrincipalKind, Role,
    TokenInfo, UserInfo, SECRET_DEFAULT_DAYS, SECRET_MAX_DAYS,
};
use shared::event::Event;

use crate::log::{append_event, Log, WriteTx};
use crate::store::{db_err, event_from_row, now};

/// Event kinds of access control, as stored.
pub mod kind {
    pub const USER_ADDED: &str = "user.added";
    pub const USER_DISABLED: &str = "user.disabled";
    pub const USER_ROLE_CHANGED: &str = "user.role_changed";
    pub const USER_PASSWORD_CHANGED: &str = "user.password_changed";
    pub const SIGNED_IN: &str = "auth.signed_in";
    pub const SIGN_IN_FAILED: &str = "auth.sign_in_failed";
    pub const SIGNED_OUT: &str = "auth.signed_out";
    pub const TOKEN_CREATED: &str = "token.created";
    pub const TOKEN_REVOKED: &str = "token.revoked";
    pub const KIOSK_CREATED: &str = "kiosk.created";
    pub const KIOSK_REVOKED: &str = "kiosk.revoked";
}

/// A user as stored (the password hash never leaves the server).
#[derive(Debug, Clone)]
pub struct User {
    pub id: i64,
    pub name: String,
    pub role: Role,
    pub password_hash: String,
    pub disabled: bool,
}

fn argon2() -> Argon2<'static> {
    // OWASP password storage cheat sheet minimum for argon2id.
    let params = Params::new(19 * 1024, 2, 1, None).unwrap_or_default();
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

/// At most this many argon2 computations (sign-ins, password changes, new
/// users) run at once, server-wide: each takes ~19 MiB and a core for tens
/// of milliseconds, so a burst of them cannot exhaust memory or starve the
/// blocking pool. Others wait their turn, up to [`HASH_WAIT`].
pub const HASH_PERMITS: usize = 4;
/// How long a password check waits for a turn before it is answered 429.
pub const HASH_WAIT: std::time::Duration = std::time::Duration::from_secs(5);
static HASHING: tokio::sync::Semaphore = tokio::sync::Semaphore::const_new(HASH_PERMITS);

/// Runs one argon2 computation on a blocking thread once a turn is free.
async fn hashing<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> Result<T, ApiError> {
    gated(&HASHING, HASH_WAIT, f).await
}

/// Runs `f` on a blocking thread holding one of `gate`'s permits, waiting
/// at most `wait` for it.
async fn gated<T: Send + 'static>(
    gate: &tokio::sync::Semaphore,
    wait: std::time::Duration,
    f: impl FnOnce() -> T + Send + 'static,
) -> Result<T, ApiError> {
    let _turn = tokio::time::timeout(wait, gate.acquire())
        .await
        .map_err(|_| busy())?
        .map_err(|_| ApiError::internal())?;
    tokio::task::spawn_blocking(f).await.map_err(|e| {
        tracing::error!(error = %e, "password hashing task failed");
        ApiError::internal()
    })
}

/// The answer when every hashing turn stayed taken for [`HASH_WAIT`].
pub fn busy() -> ApiError {
    ApiError::new(
        shared::api::ErrorCode::RateLimited,
        "the server is busy checking passwords; try again in a few seconds",
    )
}

/// Hashes a password with argon2id, off the async runtime.
pub async fn hash_password(password: &str) -> Result<String, ApiError> {
    let password = password.to_string();
    hashing(move || {
        let salt = SaltString::generate(&mut OsRng);
        argon2()
            .hash_password(password.as_bytes(), &salt)
            .map(|h| h.to_string())
    })
    .await?
    .map_err(|e| {
        tracing::error!(error = %e, "password hashing failed");
        ApiError::internal()
    })
}

/// A hash of a random password: verified against when the user does not
/// exist, so a wrong name costs as long as a wrong password.
const DUMMY_HASH: &str =
    "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$2ZJmXb0fCx1fOihYzvGnT7fh0tpS2n5HLJyyGdqZrNw";

/// Checks a password against a stored hash, off the async runtime. `Err`
/// only when no hashing turn came free in time ([`busy`]).
pub async fn verify_password(hash: Option<String>, password: &str) -> Result<bool, ApiError> {
    let password = password.to_string();
    let found = hash.is_some();
    let hash = hash.unwrap_or_else(|| DUMMY_HASH.to_string());
    let ok = hashing(move || {
        PasswordHash::new(&hash)
            .map(|h| argon2().verify_password(password.as_bytes(), &h).is_ok())
            .unwrap_or(false)
    })
    .await?;
    Ok(found && ok)
}

/// A new random secret with a recognisable prefix (`cw_`, `cwk_`).
pub fn new_secret(prefix: &str) -> String {
    use rand::RngCore;
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    format!(
        "{prefix}{}",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
    )
}

/// How tokens are stored: SHA-256, hex.
pub fn secret_hash(secret: &str) -> String {
    let digest = Sha256::digest(secret.as_bytes());
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

/// A password generated for a new user, shown once: 20 URL-safe characters.
pub fn generated_password() -> String {
    new_secret("").chars().take(20).collect()
}

fn is_live(expires_at: Option<&str>, revoked_at: Option<&str>, at: DateTime<Utc>) -> bool {
    revoked_at.is_none()
        && expires_at
            .map(|e| {
                DateTime::parse_from_rfc3339(e)
                    .map(|e| e.with_timezone(&Utc) > at)
                    .unwrap_or(false)
            })
            .unwrap_or(true)
}

/// When a new token or kiosk link expires: every one does, by default after
/// [`SECRET_DEFAULT_DAYS`], at most after [`SECRET_MAX_DAYS`].
fn expiry(days: Option<i64>) -> Result<Option<String>, ApiError> {
    let d = days.unwrap_or(SECRET_DEFAULT_DAYS);
    if !(1..=SECRET_MAX_DAYS).contains(&d) {
        return Err(ApiError {
            field: Some("expires_days".into()),
            ..ApiError::bad_request(format!("an expiry is 1 to {SECRET_MAX_DAYS} days"))
        });
    }
    Ok(Some(
        (Utc::now() + Duration::days(d)).to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
    ))
}

fn label_ok(field: &str, label: &str) -> Result<String, ApiError> {
    let l = label.trim();
    if l.is_empty() || l.chars().count() > 100 {
        return Err(ApiError {
            field: Some(field.into()),
            ..ApiError::bad_request(format!("{field} must have 1 to 100 characters"))
        });
    }
    Ok(l.to_string())
}

/// Most events one audit query returns.
pub const AUDIT_LIMIT: i64 = 500;

fn user_from_row(r: &sqlx::any::AnyRow) -> Result<User, ApiError> {
    let role: String = r.try_get("role").map_err(db_err)?;
    Ok(User {
        id: r.try_get("id").map_err(db_err)?,
        name: r.try_get("name").map_err(db_err)?,
        role: Role::parse(&role).unwrap_or(Role::Briefing),
        password_hash: r.try_get("password_hash").map_err(db_err)?,
        disabled: r.try_get::<i64, _>("disabled").map_err(db_err)? != 0,
    })
}

/// The access store: users, tokens, kiosks and the audit trail, on the log.
#[derive(Clone)]
pub struct Access {
    log: Log,
}

impl Access {
    pub fn new(log: Log) -> Self {
        Self { log }
    }

    async fn write(&self) -> Result<WriteTx, ApiError> {
        self.log.write().await
    }

    pub async fn user_by_name(&self, name: &str) -> Result<Option<User>, ApiError> {
        sqlx::query("SELECT id, name, role, password_hash, disabled FROM users WHERE name = $1")
            .bind(name)
            .fetch_optional(self.log.pool())
            .await
            .map_err(db_err)?
            .as_ref()
            .map(user_from_row)
            .transpose()
    }

    pub async fn user_by_id(&self, id: i64) -> Result<Option<User>, ApiError> {
        sqlx::query("SELECT id, name, role, password_hash, disabled FROM users WHERE id = $1")
            .bind(id)
            .fetch_optional(self.log.pool())
            .await
            .map_err(db_err)?
            .as_ref()
            .map(user_from_row)
            .transpose()
    }

    pub async fn users(&self) -> Result<Vec<UserInfo>, ApiError> {
        sqlx::query("SELECT id, name, role, disabled, created_at FROM users ORDER BY name")
            .fetch_all(self.log.pool())
            .await
            .map_err(db_err)?
            .iter()
            .map(|r| {
                let role: String = r.try_get("role").map_err(db_err)?;
                Ok(UserInfo {
                    id: r.try_get("id").map_err(db_err)?,
                    name: r.try_get("name").map_err(db_err)?,
                    role: Role::parse(&role).unwrap_or(Role::Briefing),
                    disabled: r.try_get::<i64, _>("disabled").map_err(db_err)? != 0,
                    created_at: r.try_get("created_at").map_err(db_err)?,
                })
            })
            .collect()
    }

    /// Adds a user with a password (checked for length, hashed with argon2id).
    pub async fn add_user(
        &self,
        actor: &str,
        name: &str,
        role: Role,
        password: &str,
    ) -> Result<UserInfo, ApiError> {
        check_username(name).map_err(|m| ApiError {
            field: Some("name".into()),
            ..ApiError::bad_request(m)
        })?;
        check_new_password(password).map_err(|m| ApiError {
            field: Some("password".into()),
            ..ApiError::bad_request(m)
        })?;
        let hash = hash_password(password).await?;
        let mut tx = self.write().await?;
        if sqlx::query("SELECT id FROM users WHERE name = $1")
            .bind(name)
            .fetch_optional(&mut *tx)
            .await
            .map_err(db_err)?
            .is_some()
        {
            return Err(ApiError::conflict(format!("user {name} already exists")));
        }
        let at = now();
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO users (name, role, password_hash, disabled, created_at, updated_at) \
             VALUES ($1, $2, $3, 0, $4, $4) RETURNING id",
        )
        .bind(name)
        .bind(role.as_str())
        .bind(&hash)
        .bind(&at)
        .fetch_one(&mut *tx)
        .await
        .map_err(db_err)?;
        let info = UserInfo {
            id,
            name: name.to_string(),
            role,
            disabled: false,
            created_at: at,
        };
        append_event(
            &mut tx,
            actor,
            kind::USER_ADDED,
            "user",
            name,
            None::<&()>,
            Some(&info),
        )
        .await?;
        tx.commit().await?;
        Ok(info)
    }

    async fn user_or_404(&self, name: &str) -> Result<User, ApiError> {
        self.user_by_name(name)
            .await?
            .ok_or_else(|| ApiError::not_found(format!("no user {name}")))
    }

    /// Disables a user: their sessions and tokens stop working at once.
    pub async fn disable_user(&self, actor: &str, name: &str) -> Result<(), ApiError> {
        let u = self.user_or_404(name).await?;
        self.set_user_column(actor, &u, kind::USER_DISABLED, "disabled", "1")
            .await
    }

    pub async fn set_role(&self, actor: &str, name: &str, role: Role) -> Result<(), ApiError> {
        let u = self.user_or_404(name).await?;
        self.set_user_column(actor, &u, kind::USER_ROLE_CHANGED, "role", role.as_str())
            .await
    }

    /// Sets a new password. The user's sessions end (their session hash is the
    /// password hash); the caller signs the current session in again.
    pub async fn set_password(
        &self,
        actor: &str,
        name: &str,
        password: &str,
    ) -> Result<User, ApiError> {
        check_new_password(password).map_err(|m| ApiError {
            field: Some("new_password".into()),
            ..ApiError::bad_request(m)
        })?;
        let u = self.user_or_404(name).await?;
        let hash = hash_password(password).await?;
        self.set_user_column(
            actor,
            &u,
            kind::USER_PASSWORD_CHANGED,
            "password_hash",
            &hash,
        )
        .await?;
        self.user_or_404(name).await
    }

    async fn set_user_column(
        &self,
        actor: &str,
        u: &User,
        event: &str,
        column: &'static str,
        value: &str,
    ) -> Result<(), ApiError> {
        let mut tx = self.write().await?;
        // `column` is one of three literals above, never input.
        let sql = match column {
            "disabled" => "UPDATE users SET disabled = 1, updated_at = $1 WHERE id = $2",
            "role" => "UPDATE users SET role = $3, updated_at = $1 WHERE id = $2",
            _ => "UPDATE users SET password_hash = $3, updated_at = $1 WHERE id = $2",
        };
        let mut q = sqlx::query(sql).bind(now()).bind(u.id);
        if column != "disabled" {
            q = q.bind(value);
        }
        q.execute(&mut *tx).await.map_err(db_err)?;
        // The log records what changed, never a password or its hash.
        let (before, after) = match column {
            "disabled" => (
                serde_json::json!({"disabled": u.disabled}),
                serde_json::json!({"disabled": true}),
            ),
            "role" => (
                serde_json::json!({"role": u.role}),
                serde_json::json!({"role": value}),
            ),
            _ => (
                serde_json::Value::Null,
                serde_json::json!({"password": "changed"}),
            ),
        };
        append_event(
            &mut tx,
            actor,
            event,
            "user",
            &u.name,
            Some(&before),
            Some(&after),
        )
        .await?;
        tx.commit().await
    }

    /// Records a sign-in, a failed sign-in or a sign-out (never the password).
    pub async fn log_auth(&self, actor: &str, event: &str, name: &str, detail: serde_json::Value) {
        let r: Result<(), ApiError> = async {
            let mut tx = self.write().await?;
            append_event(
                &mut tx,
                actor,
                event,
                "user",
                name,
                None::<&()>,
                Some(&detail),
            )
            .await?;
            tx.commit().await
        }
        .await;
        if r.is_err() {
            tracing::error!(event, "could not log an authentication event");
        }
    }

    /// Creates a personal API token for `user`, returned once.
    pub async fn create_token(
        &self,
        actor: &str,
        user: &str,
        label: &str,
        expires_days: Option<i64>,
    ) -> Result<NewSecret, ApiError> {
        let u = self.user_or_404(user).await?;
        let label = label_ok("label", label)?;
        let expires_at = expiry(expires_days)?;
        let secret = new_secret("cw_");
        let mut tx = self.write().await?;
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO api_tokens (user_id, label, token_hash, created_at, expires_at) \
             VALUES ($1, $2, $3, $4, $5) RETURNING id",
        )
        .bind(u.id)
        .bind(&label)
        .bind(secret_hash(&secret))
        .bind(now())
        .bind(&expires_at)
        .fetch_one(&mut *tx)
        .await
        .map_err(db_err)?;
        append_event(
            &mut tx,
            actor,
            kind::TOKEN_CREATED,
            "token",
            &id.to_string(),
            None::<&()>,
            Some(&serde_json::json!({"user": u.name, "label": label, "expires_at": expires_at})),
        )
        .await?;
        tx.commit().await?;
        Ok(NewSecret {
            id,
            secret,
            expires_at,
        })
    }

    pub async fn tokens_of(&self, user_id: i64) -> Result<Vec<TokenInfo>, ApiError> {
        self.secret_rows(
            "SELECT id, label, created_at, expires_at, revoked_at FROM api_tokens \
             WHERE user_id = $1 ORDER BY id",
            Some(user_id),
        )
        .await
    }

    /// Revokes one of `user_id`'s tokens.
    pub async fn revoke_token(&self, actor: &str, user_id: i64, id: i64) -> Result<(), ApiError> {
        self.revoke(
            actor,
            "UPDATE api_tokens SET revoked_at = $1 WHERE id = $2 AND user_id = $3 AND revoked_at IS NULL",
            id,
            Some(user_id),
            kind::TOKEN_REVOKED,
            "token",
        )
        .await
    }

    /// Creates a kiosk screen token (briefing, read-only), returned once.
    /// A kiosk link; one made for an exercise (`exercise`) shows that
    /// exercise's layer over reality (see `in_exercise`).
    pub async fn create_kiosk(
        &self,
        actor: &str,
        name: &str,
        expires_days: i64,
        exercise: Option<i64>,
    ) -> Result<NewSecret, ApiError> {
        let name = label_ok("name", name)?;
        let expires_at = expiry(Some(expires_days))?;
        let secret = new_secret("cwk_");
        let mut tx = self.write().await?;
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO kiosks (name, token_hash, created_by, created_at, expires_at, exercise_id) \
             VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
        )
        .bind(&name)
        .bind(secret_hash(&secret))
        .bind(actor)
        .bind(now())
        .bind(&expires_at)
        .bind(exercise)
        .fetch_one(&mut *tx)
        .await
        .map_err(db_err)?;
        append_event(
            &mut tx,
            actor,
            kind::KIOSK_CREATED,
            "kiosk",
            &id.to_string(),
            None::<&()>,
            Some(
                &serde_json::json!({"name": name, "expires_at": expires_at, "exercise": exercise}),
            ),
        )
        .await?;
        tx.commit().await?;
        Ok(NewSecret {
            id,
            secret,
            expires_at,
        })
    }

    pub async fn kiosks(&self) -> Result<Vec<TokenInfo>, ApiError> {
        self.secret_rows(
            "SELECT id, name AS label, created_at, expires_at, revoked_at FROM kiosks ORDER BY id",
            None,
        )
        .await
    }

    pub async fn revoke_kiosk(&self, actor: &str, id: i64) -> Result<(), ApiError> {
        self.revoke(
            actor,
            "UPDATE kiosks SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL",
            id,
            None,
            kind::KIOSK_REVOKED,
            "kiosk",
        )
        .await
    }

    async fn secret_rows(&self, sql: &str, bind: Option<i64>) -> Result<Vec<TokenInfo>, ApiError> {
        let mut q = sqlx::query(sql);
        if let Some(b) = bind {
            q = q.bind(b);
        }
        q.fetch_all(self.log.pool())
            .await
            .map_err(db_err)?
            .iter()
            .map(|r| {
                Ok(TokenInfo {
                    id: r.try_get("id").map_err(db_err)?,
                    label: r.try_get("label").map_err(db_err)?,
                    created_at: r.try_get("created_at").map_err(db_err)?,
                    expires_at: r.try_get("expires_at").map_err(db_err)?,
                    revoked_at: r.try_get("revoked_at").map_err(db_err)?,
                })
            })
            .collect()
    }

    async fn revoke(
        &self,
        actor: &str,
        sql: &str,
        id: i64,
        owner: Option<i64>,
        event: &str,
        entity: &str,
    ) -> Result<(), ApiError> {
        let mut tx = self.write().await?;
        let mut q = sqlx::query(sql).bind(now()).bind(id);
        if let Some(o) = owner {
            q = q.bind(o);
        }
        let done = q.execute(&mut *tx).await.map_err(db_err)?.rows_affected();
        if done == 0 {
            return Err(ApiError::not_found(format!("no active {entity} {id}")));
        }
        append_event(
            &mut tx,
            actor,
            event,
            entity,
            &id.to_string(),
            None::<&()>,
            Some(&serde_json::json!({"revoked": true})),
        )
        .await?;
        tx.commit().await
    }

    /// The exercise a kiosk link was made for, if any.
    pub async fn kiosk_exercise(&self, id: i64) -> Result<Option<i64>, ApiError> {
        sqlx::query_scalar("SELECT exercise_id FROM kiosks WHERE id = $1")
            .bind(id)
            .fetch_optional(self.log.pool())
            .await
            .map_err(db_err)
            .map(Option::flatten)
    }

    /// The principal a bearer secret stands for: an API token acting as its
    /// (enabled) user, or a kiosk. `None` for anything unknown, expired or revoked.
    pub async fn principal_for_secret(&self, secret: &str) -> Result<Option<Principal>, ApiError> {
        let hash = secret_hash(secret);
        let at = Utc::now();
        if secret.starts_with("cwk_") {
            return Ok(self
                .kiosk_by_hash(&hash)
                .await?
                .filter(|k| is_live(k.2.as_deref(), k.3.as_deref(), at))
                .map(|(id, name, _, _)| Principal {
                    id,
                    name,
                    role: Role::Briefing,
                    kind: PrincipalKind::Kiosk,
                }));
        }
        let row = sqlx::query(
            "SELECT t.expires_at, t.revoked_at, u.id, u.name, u.role, u.disabled \
             FROM api_tokens t JOIN users u ON u.id = t.user_id WHERE t.token_hash = $1",
        )
        .bind(&hash)
        .fetch_optional(self.log.pool())
        .await
        .map_err(db_err)?;
        let Some(r) = row else { return Ok(None) };
        let expires: Option<String> = r.try_get("expires_at").map_err(db_err)?;
        let revoked: Option<String> = r.try_get("revoked_at").map_err(db_err)?;
        let disabled: i64 = r.try_get("disabled").map_err(db_err)?;
        if disabled != 0 || !is_live(expires.as_deref(), revoked.as_deref(), at) {
            return Ok(None);
        }
        let role: String = r.try_get("role").map_err(db_err)?;
        Ok(Some(Principal {
            id: r.try_get("id").map_err(db_err)?,
            name: r.try_get("name").map_err(db_err)?,
            role: Role::parse(&role).unwrap_or(Role::Briefing),
            kind: PrincipalKind::Token,
        }))
    }

    /// (id, name, expires_at, revoked_at) of the kiosk with this token hash.
    async fn kiosk_by_hash(
        &self,
        hash: &str,
    ) -> Result<Option<(i64, String, Option<String>, Option<String>)>, ApiError> {
        let row = sqlx::query(
            "SELECT id, name, expires_at, revoked_at FROM kiosks WHERE token_hash = $1",
        )
        .bind(hash)
        .fetch_optional(self.log.pool())
        .await
        .map_err(db_err)?;
        let Some(r) = row else { return Ok(None) };
        Ok(Some((
            r.try_get("id").map_err(db_err)?,
            r.try_get("name").map_err(db_err)?,
            r.try_get("expires_at").map_err(db_err)?,
            r.try_get("revoked_at").map_err(db_err)?,
        )))
    }

    /// A live kiosk by id: `(name, token_hash, expires_at)`.
    pub async fn live_kiosk(&self, id: i64) -> Result<Option<(String, String, String)>, ApiError> {
        let row = sqlx::query(
            "SELECT name, token_hash, expires_at, revoked_at FROM kiosks WHERE id = $1",
        )
        .bind(id)
        .fetch_optional(self.log.pool())
        .await
        .map_err(db_err)?;
        let Some(r) = row else { return Ok(None) };
        let expires: String = r.try_get("expires_at").map_err(db_err)?;
        let revoked: Option<String> = r.try_get("revoked_at").map_err(db_err)?;
        if !is_live(Some(&expires), revoked.as_deref(), Utc::now()) {
            return Ok(None);
        }
        Ok(Some((
            r.try_get("name").map_err(db_err)?,
            r.try_get("token_hash").map_err(db_err)?,
            expires,
        )))
    }

    /// Events of the log, newest first, filtered; at most [`AUDIT_LIMIT`].
    pub async fn audit(&self, f: &AuditFilter) -> Result<Vec<Event>, ApiError> {
        let mut sql = String::from(
            "SELECT seq, at, actor, kind, entity_type, entity_id, before_json, after_json \
             FROM events WHERE 1 = 1",
        );
        let mut binds: Vec<String> = Vec::new();
        let mut add = |cond: &str, v: String| {
            binds.push(v);
            sql.push_str(&cond.replace('?', &format!("${}", binds.len())));
        };
        if let Some(a) = f.actor.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
            add(
                " AND actor LIKE ?",
                format!("%{}%", a.replace(['%', '_'], "")),
            );
        }
        if let Some(t) = f
            .entity_type
            .as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty())
        {
            add(" AND entity_type = ?", t.to_string());
        }
        if let Some(i) = f
            .entity_id
            .as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty())
        {
            add(" AND entity_id = ?", i.to_string());
        }
        for (bound, op) in [(&f.from, ">="), (&f.to, "<=")] {
            if let Some(b) = bound.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
                let t = DateTime::parse_from_rfc3339(b).map_err(|_| ApiError {
                    field: Some(if op == ">=" { "from" } else { "to" }.into()),
                    ..ApiError::bad_request(format!(
                        "expected a time such as 2026-02-14T08:00:00+08:00, not {b:?}"
                    ))
                })?;
                add(
                    &format!(" AND at {op} ?"),
                    t.with_timezone(&Utc)
                        .to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
                );
            }
        }
        sql.push_str(&format!(" ORDER BY seq DESC LIMIT {AUDIT_LIMIT}"));
        let mut q = sqlx::query(&sql);
        for b in &binds {
            q = q.bind(b);
        }
        q.fetch_all(self.log.pool())
            .await
            .map_err(db_err)?
            .iter()
            .map(event_from_row)
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The kinds open streams treat as revoking are exactly the access
    /// kinds that can end someone's access.
    #[test]
    fn revoking_kinds_are_the_access_kinds() {
        assert_eq!(
            shared::auth::REVOKING_KINDS,
            [
                kind::USER_DISABLED,
                kind::USER_ROLE_CHANGED,
                kind::USER_PASSWORD_CHANGED,
                kind::TOKEN_REVOKED,
                kind::KIOSK_REVOKED,
                kind::SIGNED_OUT,
            ]
        );
    }

    /// Issue 11.11: no more than the gate's permits run at once; a caller
    /// that finds every turn taken for the whole wait gets `rate_limited`.
    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn password_hashing_is_bounded_server_wide() {
        use std::sync::atomic::{AtomicUsize, Ordering};
        use std::sync::Arc;
        static GATE: tokio::sync::Semaphore = tokio::sync::Semaphore::const_new(2);
        let (now, most) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
        let mut runs = Vec::new();
        for _ in 0..8 {
            let (now, most) = (now.clone(), most.clone());
            runs.push(tokio::spawn(async move {
                gated(&GATE, std::time::Duration::from_secs(30), move || {
                    let n = now.fetch_add(1, Ordering::SeqCst) + 1;
                    most.fetch_max(n, Ordering::SeqCst);
                    std::thread::sleep(std::time::Duration::from_millis(30));
                    now.fetch_sub(1, Ordering::SeqCst);
                })
                .await
            }));
        }
        for r in runs {
            assert_eq!(r.await.expect("task"), Ok(()));
        }
        assert_eq!(
            most.load(Ordering::SeqCst),
            2,
            "at most 2 at once, and 2 did run together"
        );
        let held = GATE.acquire_many(2).await.expect("permits");
        let refused = gated(&GATE, std::time::Duration::from_millis(50), || ()).await;
        assert_eq!(refused, Err(busy()));
        assert_eq!(refused.expect_err("busy").status(), 429);
        drop(held);
        assert_eq!(
            gated(&GATE, std::time::Duration::from_millis(50), || 7).await,
            Ok(7)
        );
    }

    #[tokio::test]
    async fn passwords_hash_with_owasp_parameters_and_verify() {
        let h = hash_password("correct horse battery").await.expect("hash");
        assert!(h.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{h}");
        assert_eq!(
            verify_password(Some(h.clone()), "correct horse battery").await,
            Ok(true)
        );
        assert_eq!(
            verify_password(Some(h), "wrong horse battery").await,
            Ok(false)
        );
        assert_eq!(verify_password(None, "anything at all").await, Ok(false));
    }

    #[test]
    fn secrets_are_random_and_stored_hashed() {
        let a = new_secret("cw_");
        let b = new_secret("cw_");
        assert_ne!(a, b);
        assert!(a.starts_with("cw_") && a.len() > 40);
        assert_eq!(secret_hash(&a).len(), 64);
        assert_ne!(secret_hash(&a), secret_hash(&b));
    }
}
