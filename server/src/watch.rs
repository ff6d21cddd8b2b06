//! The duty watch on the server: alerts are raised in the transaction that
//! writes a fault event (rules in `shared::watch`), acknowledged as an event
//! of their own, and the board is read from the current state.

use shared::api::ApiError;
use shared::event::{kind, Event};
use shared::fault::Fault;
use shared::watch::{self, Alert, AlertKind, Board};
use sqlx::any::AnyRow;
use sqlx::Row;

use crate::registry::{append_event, db_err, event_from_row, now};
use crate::Registry;

/// Entity types whose events only principals that may read the audit trail see.
pub const ACCESS_ENTITIES: [&str; 3] = ["user", "token", "kiosk"];

const ALERT_COLS: &str = "id, seq, kind, fault_id, cable, summary, raised_at, acked_by, acked_at";

fn parse_time(s: &str) -> Result<chrono::DateTime<chrono::Utc>, ApiError> {
    chrono::DateTime::parse_from_rfc3339(s)
        .map(|t| t.with_timezone(&chrono::Utc))
        .map_err(|e| {
            tracing::error!(error = %e, "stored time does not parse");
            ApiError::internal()
        })
}

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
    tx: &mut crate::registry::WriteTx,
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

impl Registry {
    /// The newest `seq` in the log (0 when empty).
    pub async fn last_seq(&self) -> Result<i64, ApiError> {
        sqlx::query_scalar("SELECT COALESCE(MAX(seq), 0) FROM events")
            .fetch_one(&self.pool)
            .await
            .map_err(db_err)
    }

    /// Up to `limit` events after `after`, in order.
    pub async fn events_after(&self, after: i64, limit: i64) -> Result<Vec<Event>, ApiError> {
        sqlx::query(
            "SELECT seq, at, actor, kind, entity_type, entity_id, before_json, after_json \
             FROM events WHERE seq > $1 ORDER BY seq LIMIT $2",
        )
        .bind(after)
        .bind(limit)
        .fetch_all(&self.pool)
        .await
        .map_err(db_err)?
        .iter()
        .map(event_from_row)
        .collect()
    }

    /// Up to `limit` events after `after`, in order, as the live stream
    /// sends them (without actor and before/after: not even read).
    pub async fn live_events_after(
        &self,
        after: i64,
        limit: i64,
    ) -> Result<Vec<shared::event::LiveEvent>, ApiError> {
        sqlx::query(
            "SELECT seq, at, kind, entity_type, entity_id \
             FROM events WHERE seq > $1 ORDER BY seq LIMIT $2",
        )
        .bind(after)
        .bind(limit)
        .fetch_all(&self.pool)
        .await
        .map_err(db_err)?
        .iter()
        .map(|r| {
            Ok(shared::event::LiveEvent {
                seq: r.try_get("seq").map_err(db_err)?,
                at: crate::registry::event_time(r)?,
                kind: r.try_get("kind").map_err(db_err)?,
                entity_type: r.try_get("entity_type").map_err(db_err)?,
                entity_id: r.try_get("entity_id").map_err(db_err)?,
            })
        })
        .collect()
    }

    /// Alerts, newest first: the open ones, or all of them.
    pub async fn alerts(&self, open_only: bool, limit: i64) -> Result<Vec<Alert>, ApiError> {
        let filter = if open_only {
            "WHERE acked_at IS NULL"
        } else {
            ""
        };
        sqlx::query(&format!(
            "SELECT {ALERT_COLS} FROM alerts {filter} ORDER BY id DESC LIMIT $1"
        ))
        .bind(limit)
        .fetch_all(&self.pool)
        .await
        .map_err(db_err)?
        .iter()
        .map(alert_from_row)
        .collect()
    }

    /// Acknowledges an open alert: the alert records who and when, and an
    /// `alert.acknowledged` event is written. Acknowledging one already
    /// acknowledged is a conflict naming who did.
    pub async fn ack_alert(&self, actor: &str, id: i64) -> Result<Alert, ApiError> {
        let mut tx = self.write().await?;
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

    /// The duty-watch board as of now.
    pub async fn board(&self) -> Result<Board, ApiError> {
        let seq = self.last_seq().await?;
        let faults = self.faults(false).await?;
        let maint: Vec<_> = self
            .maintenance()
            .await?
            .into_iter()
            .map(|m| m.line)
            .collect();
        let state_of = |c: &str| shared::map::cable_state(c, &faults, &maint);
        let states: Vec<_> = self.cables().iter().map(|c| state_of(&c.abbrev)).collect();
        let islands = watch::islands_affected(self.cables(), self.stations(), state_of);
        let alerts = self.alerts(true, 50).await?;
        let events = sqlx::query(&format!(
            "SELECT seq, at, actor, kind, entity_type, entity_id, NULL AS before_json, NULL AS after_json \
             FROM events WHERE entity_type NOT IN ('{}', '{}', '{}') ORDER BY seq DESC LIMIT 20",
            ACCESS_ENTITIES[0], ACCESS_ENTITIES[1], ACCESS_ENTITIES[2]
        ))
        .fetch_all(&self.pool)
        .await
        .map_err(db_err)?
        .iter()
        .map(event_from_row)
        .collect::<Result<Vec<_>, _>>()?;
        Ok(Board {
            seq,
            cables: watch::count_states(&states),
            faults: watch::count_faults(&faults),
            islands,
            alerts,
            events,
        })
    }
}
