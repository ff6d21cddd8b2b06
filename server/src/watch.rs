//! Alerts on the server: raised in the transaction that writes a fault
//! event (rules in `shared::watch`), acknowledged as an event of their own.
//! They sit right above the log (they are read and acknowledged on it); the
//! board that joins them with faults is the façade's (`Registry::board`).

use shared::api::ApiError;
use shared::event::kind;
use shared::fault::Fault;
use shared::watch::{self, Alert, AlertKind};
use sqlx::any::AnyRow;
use sqlx::Row;

use crate::log::{append_event, Log, WriteTx};
use crate::store::{db_err, now, parse_time};

const ALERT_COLS: &str =
    "id, seq, kind, fault_id, region, cable, summary, raised_at, acked_by, acked_at";

fn alert_from_row(r: &AnyRow) -> Result<Alert, ApiError> {
    let kind: String = r.try_get("kind").map_err(db_err)?;
    let acked_at: Option<String> = r.try_get("acked_at").map_err(db_err)?;
    Ok(Alert {
        id: r.try_get("id").map_err(db_err)?,
        seq: r.try_get("seq").map_err(db_err)?,
        kind: AlertKind::parse(&kind).ok_or_else(|| {
            tracing::error!(kind, "stored alert kind unknown");
            ApiError::internal()
        })?,
        fault_id: r.try_get("fault_id").map_err(db_err)?,
        region: r.try_get("region").map_err(db_err)?,
        cable: r.try_get("cable").map_err(db_err)?,
        summary: r.try_get("summary").map_err(db_err)?,
        raised_at: parse_time(&r.try_get::<String, _>("raised_at").map_err(db_err)?)?,
        acked_by: r.try_get("acked_by").map_err(db_err)?,
        acked_at: acked_at.as_deref().map(parse_time).transpose()?,
    })
}

/// Raises the alerts a fault change calls for, inside the transaction that
/// wrote its event `seq`.
pub(crate) async fn raise_alerts(
    tx: &mut WriteTx,
    seq: i64,
    before: Option<&Fault>,
    after: &Fault,
) -> Result<(), ApiError> {
    let other_open_cut: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM faults WHERE cable = $1 AND id <> $2 AND kind = 'cut' \
         AND status IN ('open', 'repair_scheduled', 'repairing')",
    )
    .bind(&after.cable)
    .bind(after.id)
    .fetch_one(tx.conn())
    .await
    .map_err(db_err)?;
    let at = now();
    for k in watch::alerts_for(before, after, other_open_cut > 0) {
        sqlx::query(
            "INSERT INTO alerts (seq, kind, fault_id, cable, summary, raised_at) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(seq)
        .bind(k.as_str())
        .bind(after.id)
        .bind(&after.cable)
        .bind(watch::summary(k, before, after))
        .bind(&at)
        .execute(tx.conn())
        .await
        .map_err(db_err)?;
    }
    Ok(())
}

/// Raises one alert that is not about a fault change (an island's status,
/// a repair ship), inside the transaction that wrote its event `seq`.
pub(crate) async fn raise(
    tx: &mut WriteTx,
    seq: i64,
    kind: AlertKind,
    region: Option<&str>,
    summary: &str,
) -> Result<(), ApiError> {
    sqlx::query(
        "INSERT INTO alerts (seq, kind, fault_id, region, cable, summary, raised_at) \
         VALUES ($1, $2, NULL, $3, '', $4, $5)",
    )
    .bind(seq)
    .bind(kind.as_str())
    .bind(region)
    .bind(summary)
    .bind(now())
    .execute(tx.conn())
    .await
    .map_err(db_err)?;
    Ok(())
}

/// Raises one alert about a fault that is not a change of the fault itself
/// (its repair has stalled), inside the transaction that wrote event `seq`.
pub(crate) async fn raise_for_fault(
    tx: &mut WriteTx,
    seq: i64,
    kind: AlertKind,
    fault_id: i64,
    cable: &str,
    summary: &str,
) -> Result<(), ApiError> {
    sqlx::query(
        "INSERT INTO alerts (seq, kind, fault_id, region, cable, summary, raised_at) \
         VALUES ($1, $2, $3, NULL, $4, $5, $6)",
    )
    .bind(seq)
    .bind(kind.as_str())
    .bind(fault_id)
    .bind(cable)
    .bind(summary)
    .bind(now())
    .execute(tx.conn())
    .await
    .map_err(db_err)?;
    Ok(())
}

/// Alerts, newest first: the open ones, or all of them.
pub async fn alerts(log: &Log, open_only: bool, limit: i64) -> Result<Vec<Alert>, ApiError> {
    let filter = if open_only {
        "WHERE acked_at IS NULL"
    } else {
        ""
    };
    sqlx::query(&format!(
        "SELECT {ALERT_COLS} FROM alerts {filter} ORDER BY id DESC LIMIT $1"
    ))
    .bind(limit)
    .fetch_all(log.pool())
    .await
    .map_err(db_err)?
    .iter()
    .map(alert_from_row)
    .collect()
}

/// Up to `limit` alerts raised after alert `after`, oldest first.
pub async fn alerts_after(log: &Log, after: i64, limit: i64) -> Result<Vec<Alert>, ApiError> {
    sqlx::query(&format!(
        "SELECT {ALERT_COLS} FROM alerts WHERE id > $1 ORDER BY id LIMIT $2"
    ))
    .bind(after)
    .bind(limit)
    .fetch_all(log.pool())
    .await
    .map_err(db_err)?
    .iter()
    .map(alert_from_row)
    .collect()
}

/// Up to `limit` alerts, newest first, as the board showed them at `at`:
/// raised by then and not yet acknowledged then.
pub async fn alerts_open_at(
    log: &Log,
    at: chrono::DateTime<chrono::Utc>,
    limit: i64,
) -> Result<Vec<Alert>, ApiError> {
    let t = crate::store::stored_time(&at);
    sqlx::query(&format!(
        "SELECT {ALERT_COLS} FROM alerts WHERE raised_at <= $1 \
         AND (acked_at IS NULL OR acked_at > $1) ORDER BY id DESC LIMIT $2"
    ))
    .bind(t)
    .bind(limit)
    .fetch_all(log.pool())
    .await
    .map_err(db_err)?
    .iter()
    .map(|r| {
        // Acknowledged only later: open at that moment.
        let mut a = alert_from_row(r)?;
        a.acked_by = None;
        a.acked_at = None;
        Ok(a)
    })
    .collect()
}

/// Acknowledges an open alert: the alert records who and when, and an
/// `alert.acknowledged` event is written. Acknowledging one already
/// acknowledged is a conflict naming who did.
pub async fn ack_alert(log: &Log, actor: &str, id: i64) -> Result<Alert, ApiError> {
    let mut tx = log.write().await?;
    let row = sqlx::query(&format!("SELECT {ALERT_COLS} FROM alerts WHERE id = $1"))
        .bind(id)
        .fetch_optional(&mut *tx)
        .await
        .map_err(db_err)?
        .ok_or_else(|| ApiError::not_found(format!("no alert #{id}")))?;
    let before = alert_from_row(&row)?;
    if let (Some(by), Some(at)) = (&before.acked_by, &before.acked_at) {
        return Err(ApiError::conflict(format!(
            "alert #{id} was already acknowledged by {by} at {}",
            at.to_rfc3339()
        )));
    }
    let at = now();
    let seq = append_event(
        &mut tx,
        actor,
        kind::ALERT_ACKNOWLEDGED,
        "alert",
        &id.to_string(),
        Some(&before),
        Some(&serde_json::json!({ "acked_by": actor, "acked_at": at })),
    )
    .await?;
    let done = sqlx::query(
        "UPDATE alerts SET acked_by = $1, acked_at = $2, acked_seq = $3 \
         WHERE id = $4 AND acked_at IS NULL",
    )
    .bind(actor)
    .bind(&at)
    .bind(seq)
    .bind(id)
    .execute(&mut *tx)
    .await
    .map_err(db_err)?;
    if done.rows_affected() != 1 {
        return Err(ApiError::conflict(format!(
            "alert #{id} was already acknowledged"
        )));
    }
    let row = sqlx::query(&format!("SELECT {ALERT_COLS} FROM alerts WHERE id = $1"))
        .bind(id)
        .fetch_one(&mut *tx)
        .await
        .map_err(db_err)?;
    let after = alert_from_row(&row)?;
    tx.commit().await?;
    Ok(after)
}
