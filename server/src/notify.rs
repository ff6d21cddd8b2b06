//! Notifications in storage: subscriptions (made and removed as events, a
//! webhook's secret never in one), the outbox and its delivery log. Sits
//! right above the log, beside `watch` (it reads alerts). Rules are in
//! `shared::notify`; planning which alert goes to whom is the façade's
//! (`Registry::plan_notifications`, it needs the public items), sending is
//! `crate::deliver`'s.
//!
//! At least once, never planned twice: the outbox's `message_id` is unique
//! per (alert, subscription) and planning moves the cursor in the same
//! transaction as the messages it adds, so a restart plans again only what
//! was not committed. A message is claimed (its `next_at` pushed a lease
//! ahead) in a write before it is sent, so two servers never send it at
//! once; one lost mid-send is sent again, with the same id, when the lease
//! runs out.

use base64::Engine as _;
use chrono::{DateTime, Duration, Utc};
use rand::RngCore;
use shared::api::ApiError;
use shared::feed::Item;
use shared::notify::{Attempt, Channel, Message, State, Subscription, SubscriptionDraft};
use shared::resilience::Region;
use shared::watch::AlertKind;
use sqlx::any::AnyRow;
use sqlx::Row;

use crate::log::{append_event, Log};
use crate::store::{db_err, json_err, parse_time, stored_time};

/// How long a claimed message is left to its sender before another may try.
pub const LEASE: Duration = Duration::minutes(2);

const SUB_COLS: &str = "id, user_id, channel, target, islands, cables, kinds, created_at";
const MSG_COLS: &str = "id, message_id, subscription_id, alert_id, channel, target, item_json, \
     state, attempts, next_at, created_at, sent_at";

fn join<T>(v: &[T], f: impl Fn(&T) -> &str) -> String {
    v.iter().map(f).collect::<Vec<_>>().join(",")
}

fn split(s: &str) -> impl Iterator<Item = &str> {
    s.split(',').filter(|p| !p.is_empty())
}

fn sub_from_row(r: &AnyRow) -> Result<Subscription, ApiError> {
    let channel: String = r.try_get("channel").map_err(db_err)?;
    let islands: String = r.try_get("islands").map_err(db_err)?;
    let cables: String = r.try_get("cables").map_err(db_err)?;
    let kinds: String = r.try_get("kinds").map_err(db_err)?;
    Ok(Subscription {
        id: r.try_get("id").map_err(db_err)?,
        user_id: r.try_get("user_id").map_err(db_err)?,
        channel: Channel::parse(&channel).ok_or_else(|| {
            tracing::error!(channel, "stored channel unknown");
            ApiError::internal()
        })?,
        target: r.try_get("target").map_err(db_err)?,
        islands: split(&islands).filter_map(Region::parse).collect(),
        cables: split(&cables).map(str::to_string).collect(),
        kinds: split(&kinds).filter_map(AlertKind::parse).collect(),
        created_at: parse_time(&r.try_get::<String, _>("created_at").map_err(db_err)?)?,
    })
}

fn msg_from_row(r: &AnyRow) -> Result<Message, ApiError> {
    let channel: String = r.try_get("channel").map_err(db_err)?;
    let state: String = r.try_get("state").map_err(db_err)?;
    let item: String = r.try_get("item_json").map_err(db_err)?;
    let sent_at: Option<String> = r.try_get("sent_at").map_err(db_err)?;
    Ok(Message {
        id: r.try_get("id").map_err(db_err)?,
        message_id: r.try_get("message_id").map_err(db_err)?,
        subscription_id: r.try_get("subscription_id").map_err(db_err)?,
        alert_id: r.try_get("alert_id").map_err(db_err)?,
        channel: Channel::parse(&channel).ok_or_else(ApiError::internal)?,
        target: r.try_get("target").map_err(db_err)?,
        state: State::parse(&state).ok_or_else(ApiError::internal)?,
        attempts: r.try_get("attempts").map_err(db_err)?,
        next_at: parse_time(&r.try_get::<String, _>("next_at").map_err(db_err)?)?,
        created_at: parse_time(&r.try_get::<String, _>("created_at").map_err(db_err)?)?,
        sent_at: sent_at.as_deref().map(parse_time).transpose()?,
        item: serde_json::from_str::<Item>(&item).map_err(json_err)?,
        log: Vec::new(),
    })
}

/// A new webhook signing secret: `whsec_` and 32 random bytes in base64
/// (Standard Webhooks).
fn new_secret() -> String {
    let mut key = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut key);
    format!(
        "whsec_{}",
        base64::engine::general_purpose::STANDARD.encode(key)
    )
}

/// Makes a subscription for `user_id`; a webhook's comes with its secret,
/// returned here once.
pub async fn create(
    log: &Log,
    actor: &str,
    user_id: i64,
    d: &SubscriptionDraft,
) -> Result<(Subscription, Option<String>), ApiError> {
    let secret = (d.channel == Channel::Webhook).then(new_secret);
    let at = Utc::now();
    let mut tx = log.write().await?;
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO subscriptions (user_id, channel, target, secret, islands, cables, kinds, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id",
    )
    .bind(user_id)
    .bind(d.channel.as_str())
    .bind(&d.target)
    .bind(secret.clone())
    .bind(join(&d.islands, |r| r.id()))
    .bind(d.cables.join(","))
    .bind(join(&d.kinds, |k| k.as_str()))
    .bind(stored_time(&at))
    .fetch_one(tx.conn())
    .await
    .map_err(db_err)?;
    let sub = Subscription {
        id,
        user_id,
        channel: d.channel,
        target: d.target.clone(),
        islands: d.islands.clone(),
        cables: d.cables.clone(),
        kinds: d.kinds.clone(),
        created_at: at,
    };
    append_event(
        &mut tx,
        actor,
        "subscription.created",
        "subscription",
        &id.to_string(),
        None::<&()>,
        Some(&sub),
    )
    .await?;
    tx.commit().await?;
    Ok((sub, secret))
}

/// A user's subscriptions, or every one (`None`), oldest first.
pub async fn list(log: &Log, user_id: Option<i64>) -> Result<Vec<Subscription>, ApiError> {
    sqlx::query(&format!(
        "SELECT {SUB_COLS} FROM subscriptions WHERE removed_at IS NULL \
         AND ($1 < 0 OR user_id = $1) ORDER BY id"
    ))
    .bind(user_id.unwrap_or(-1))
    .fetch_all(log.pool())
    .await
    .map_err(db_err)?
    .iter()
    .map(sub_from_row)
    .collect()
}

/// Removes one of the user's subscriptions; its pending messages are not sent.
pub async fn remove(log: &Log, actor: &str, user_id: i64, id: i64) -> Result<(), ApiError> {
    let mut tx = log.write().await?;
    let row = sqlx::query(&format!(
        "SELECT {SUB_COLS} FROM subscriptions WHERE id = $1 AND user_id = $2 AND removed_at IS NULL"
    ))
    .bind(id)
    .bind(user_id)
    .fetch_optional(tx.conn())
    .await
    .map_err(db_err)?
    .ok_or_else(|| ApiError::not_found(format!("you have no subscription #{id}")))?;
    let sub = sub_from_row(&row)?;
    let at = crate::store::now();
    sqlx::query("UPDATE subscriptions SET removed_at = $1 WHERE id = $2")
        .bind(&at)
        .bind(id)
        .execute(tx.conn())
        .await
        .map_err(db_err)?;
    sqlx::query(
        "UPDATE outbox SET state = 'failed', next_at = $1 WHERE subscription_id = $2 AND state = 'pending'",
    )
    .bind(&at)
    .bind(id)
    .execute(tx.conn())
    .await
    .map_err(db_err)?;
    append_event(
        &mut tx,
        actor,
        "subscription.removed",
        "subscription",
        &id.to_string(),
        Some(&sub),
        None::<&()>,
    )
    .await?;
    tx.commit().await
}

/// The planning cursor: the newest alert already planned.
pub async fn cursor(log: &Log) -> Result<i64, ApiError> {
    sqlx::query_scalar("SELECT last_alert_id FROM notify_cursor WHERE id = 1")
        .fetch_optional(log.pool())
        .await
        .map_err(db_err)
        .map(|c: Option<i64>| c.unwrap_or(0))
}

/// A message to add to the outbox.
pub struct Planned {
    pub alert_id: i64,
    pub subscription: Subscription,
    pub item: Item,
}

/// Adds `planned` and moves the cursor from `from` to `to`, in one
/// transaction. If another server moved the cursor first, adds nothing
/// (that server planned these alerts). Returns how many messages were added.
pub async fn enqueue(
    log: &Log,
    from: i64,
    to: i64,
    planned: &[Planned],
) -> Result<usize, ApiError> {
    let mut tx = log.write().await?;
    let now: i64 = sqlx::query_scalar("SELECT last_alert_id FROM notify_cursor WHERE id = 1")
        .fetch_one(tx.conn())
        .await
        .map_err(db_err)?;
    if now != from {
        return Ok(0);
    }
    let at = crate::store::now();
    let mut added = 0;
    for p in planned {
        let item = serde_json::to_string(&p.item).map_err(json_err)?;
        let n = sqlx::query(
            "INSERT INTO outbox (message_id, subscription_id, alert_id, channel, target, item_json, \
             state, attempts, next_at, created_at) VALUES ($1, $2, $3, $4, $5, $6, 'pending', 0, $7, $7) \
             ON CONFLICT (message_id) DO NOTHING",
        )
        .bind(shared::notify::message_id(p.alert_id, p.subscription.id))
        .bind(p.subscription.id)
        .bind(p.alert_id)
        .bind(p.subscription.channel.as_str())
        .bind(&p.subscription.target)
        .bind(item)
        .bind(&at)
        .execute(tx.conn())
        .await
        .map_err(db_err)?
        .rows_affected();
        added += n as usize;
    }
    sqlx::query("UPDATE notify_cursor SET last_alert_id = $1 WHERE id = 1")
        .bind(to)
        .execute(tx.conn())
        .await
        .map_err(db_err)?;
    tx.commit().await?;
    Ok(added)
}

/// Claims up to `limit` messages due at `now` (their `next_at` moves a
/// [`LEASE`] ahead), with each one's webhook secret.
pub async fn claim_due(
    log: &Log,
    now: DateTime<Utc>,
    limit: i64,
) -> Result<Vec<(Message, Option<String>)>, ApiError> {
    // A read first: nothing due, nothing written (the sender looks every
    // second and after every commit, its own included).
    let any: Option<i64> = sqlx::query_scalar(
        "SELECT id FROM outbox WHERE state = 'pending' AND next_at <= $1 LIMIT 1",
    )
    .bind(stored_time(&now))
    .fetch_optional(log.pool())
    .await
    .map_err(db_err)?;
    if any.is_none() {
        return Ok(Vec::new());
    }
    let mut tx = log.write().await?;
    let rows = sqlx::query(&format!(
        "SELECT {MSG_COLS} FROM outbox WHERE state = 'pending' AND next_at <= $1 ORDER BY next_at, id LIMIT $2"
    ))
    .bind(stored_time(&now))
    .bind(limit)
    .fetch_all(tx.conn())
    .await
    .map_err(db_err)?;
    let mut out = Vec::with_capacity(rows.len());
    for r in &rows {
        let m = msg_from_row(r)?;
        sqlx::query("UPDATE outbox SET next_at = $1 WHERE id = $2")
            .bind(stored_time(&(now + LEASE)))
            .bind(m.id)
            .execute(tx.conn())
            .await
            .map_err(db_err)?;
        let secret: Option<String> =
            sqlx::query_scalar("SELECT secret FROM subscriptions WHERE id = $1")
                .bind(m.subscription_id)
                .fetch_optional(tx.conn())
                .await
                .map_err(db_err)?
                .flatten();
        out.push((m, secret));
    }
    tx.commit().await?;
    Ok(out)
}

/// Records one attempt at message `id` and what follows: sent, tried again
/// at `retry` or (none) given up.
pub async fn record(
    log: &Log,
    id: i64,
    attempt: &Attempt,
    retry: Option<DateTime<Utc>>,
) -> Result<(), ApiError> {
    let mut tx = log.write().await?;
    sqlx::query("INSERT INTO deliveries (outbox_id, at, ok, detail) VALUES ($1, $2, $3, $4)")
        .bind(id)
        .bind(stored_time(&attempt.at))
        .bind(i64::from(attempt.ok))
        .bind(attempt.detail.chars().take(500).collect::<String>())
        .execute(tx.conn())
        .await
        .map_err(db_err)?;
    let (state, next, sent) = match (attempt.ok, retry) {
        (true, _) => (State::Sent, attempt.at, Some(stored_time(&attempt.at))),
        (false, Some(t)) => (State::Pending, t, None),
        (false, None) => (State::Failed, attempt.at, None),
    };
    sqlx::query(
        "UPDATE outbox SET state = $1, attempts = attempts + 1, next_at = $2, sent_at = $3 \
         WHERE id = $4 AND state = 'pending'",
    )
    .bind(state.as_str())
    .bind(stored_time(&next))
    .bind(sent)
    .bind(id)
    .execute(tx.conn())
    .await
    .map_err(db_err)?;
    tx.commit().await
}

/// Outbox messages with their delivery logs, newest first: one
/// subscription's, a user's, or all.
pub async fn messages(
    log: &Log,
    user_id: Option<i64>,
    subscription_id: Option<i64>,
    limit: i64,
) -> Result<Vec<Message>, ApiError> {
    let rows = sqlx::query(&format!(
        "SELECT {MSG_COLS} FROM outbox WHERE ($1 < 0 OR subscription_id = $1) \
         AND ($2 < 0 OR subscription_id IN (SELECT id FROM subscriptions WHERE user_id = $2)) \
         ORDER BY id DESC LIMIT $3"
    ))
    .bind(subscription_id.unwrap_or(-1))
    .bind(user_id.unwrap_or(-1))
    .bind(limit)
    .fetch_all(log.pool())
    .await
    .map_err(db_err)?;
    let mut out = Vec::with_capacity(rows.len());
    for r in &rows {
        let mut m = msg_from_row(r)?;
        m.log =
            sqlx::query("SELECT at, ok, detail FROM deliveries WHERE outbox_id = $1 ORDER BY id")
                .bind(m.id)
                .fetch_all(log.pool())
                .await
                .map_err(db_err)?
                .iter()
                .map(|d| {
                    Ok(Attempt {
                        at: parse_time(&d.try_get::<String, _>("at").map_err(db_err)?)?,
                        ok: d.try_get::<i64, _>("ok").map_err(db_err)? != 0,
                        detail: d.try_get("detail").map_err(db_err)?,
                    })
                })
                .collect::<Result<_, ApiError>>()?;
        out.push(m);
    }
    Ok(out)
}
