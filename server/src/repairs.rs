//! Repair operations on the server: each fault's repair stage and booked
//! ship, and each repair ship's state, stored apart from faults (a notice
//! import never touches them) and changed as events, conflict-checked on
//! their version. The board is built in `shared::repair`; the façade loads
//! its inputs (`Registry::repairs_board`).

use std::collections::BTreeMap;

use chrono::NaiveDate;
use shared::api::ApiError;
use shared::event::kind;
use shared::repair::{FaultRow, Repair, RepairForm, ShipState, Stage, STALL_DAYS};
use shared::watch::AlertKind;
use sqlx::{AnyConnection, Row};

use crate::log::{append_event, Log};
use crate::store::{date_str, db_err, now, parse_date};

/// Every fault's repair record.
pub async fn repairs(conn: &mut AnyConnection) -> Result<Vec<Repair>, ApiError> {
    sqlx::query("SELECT fault_id, stage, stage_on, ship_id, booked_on, version FROM repairs ORDER BY fault_id")
        .fetch_all(&mut *conn)
        .await
        .map_err(db_err)?
        .iter()
        .map(|r| {
            let stage: String = r.try_get("stage").map_err(db_err)?;
            Ok(Repair {
                fault_id: r.try_get("fault_id").map_err(db_err)?,
                stage: Stage::parse(&stage).ok_or_else(|| {
                    tracing::error!(stage, "stored repair stage unknown");
                    ApiError::internal()
                })?,
                stage_on: parse_date(r.try_get("stage_on").map_err(db_err)?)?
                    .ok_or_else(ApiError::internal)?,
                ship_id: r.try_get("ship_id").map_err(db_err)?,
                booked_on: parse_date(r.try_get("booked_on").map_err(db_err)?)?,
                version: r.try_get("version").map_err(db_err)?,
            })
        })
        .collect()
}

/// Each ship's state and its version (ships never set are absent: standby).
pub async fn ship_states(
    conn: &mut AnyConnection,
) -> Result<BTreeMap<i64, (ShipState, i64)>, ApiError> {
    sqlx::query("SELECT asset_id, state, version FROM ship_states")
        .fetch_all(&mut *conn)
        .await
        .map_err(db_err)?
        .iter()
        .map(|r| {
            let state: String = r.try_get("state").map_err(db_err)?;
            Ok((
                r.try_get("asset_id").map_err(db_err)?,
                (
                    ShipState::parse(&state).ok_or_else(ApiError::internal)?,
                    r.try_get("version").map_err(db_err)?,
                ),
            ))
        })
        .collect()
}

/// The ids of the repair-ship assets.
async fn ship_ids(conn: &mut AnyConnection) -> Result<Vec<i64>, ApiError> {
    sqlx::query_scalar("SELECT id FROM assets WHERE kind = 'repair_ship'")
        .fetch_all(&mut *conn)
        .await
        .map_err(db_err)
}

/// Sets an open fault's repair stage; refused with a conflict unless
/// `version` is the repair record's (0 before the first).
pub async fn set_repair(
    log: &Log,
    actor: &str,
    fault_id: i64,
    form: &RepairForm,
    version: i64,
    today: NaiveDate,
) -> Result<Repair, ApiError> {
    let mut tx = log.write().await?;
    let status: Option<String> = sqlx::query_scalar("SELECT status FROM faults WHERE id = $1")
        .bind(fault_id)
        .fetch_optional(tx.conn())
        .await
        .map_err(db_err)?;
    match status.as_deref() {
        None => return Err(ApiError::not_found(format!("no fault #{fault_id}"))),
        Some("open" | "repair_scheduled" | "repairing") => {}
        Some(_) => {
            return Err(ApiError::conflict(format!(
                "fault #{fault_id} is no longer open; its repair is over"
            )))
        }
    }
    let before = repairs(tx.conn())
        .await?
        .into_iter()
        .find(|r| r.fault_id == fault_id);
    let current = before.as_ref().map_or(0, |b| b.version);
    if current != version {
        return Err(ApiError::conflict(format!(
            "the repair of fault #{fault_id} was changed by someone else (now version {current}); reload it"
        )));
    }
    let ships = ship_ids(tx.conn()).await?;
    let mut after = form
        .validate(fault_id, before.as_ref(), &ships, today)
        .map_err(ApiError::invalid)?;
    after.version = current + 1;
    let sql = if before.is_some() {
        "UPDATE repairs SET stage = $2, stage_on = $3, ship_id = $4, booked_on = $5, version = $6, \
         updated_at = $7 WHERE fault_id = $1 AND version = $8"
    } else {
        "INSERT INTO repairs (fault_id, stage, stage_on, ship_id, booked_on, version, updated_at) \
         SELECT $1, $2, $3, $4, $5, $6, $7 WHERE $8 = 0"
    };
    let done = sqlx::query(sql)
        .bind(fault_id)
        .bind(after.stage.as_str())
        .bind(date_str(Some(after.stage_on)))
        .bind(after.ship_id)
        .bind(date_str(after.booked_on))
        .bind(after.version)
        .bind(now())
        .bind(current)
        .execute(tx.conn())
        .await
        .map_err(db_err)?;
    if done.rows_affected() != 1 {
        return Err(ApiError::conflict(format!(
            "the repair of fault #{fault_id} was changed meanwhile; reload it"
        )));
    }
    append_event(
        &mut tx,
        actor,
        kind::REPAIR_UPDATED,
        "fault",
        &fault_id.to_string(),
        before.as_ref(),
        Some(&after),
    )
    .await?;
    tx.commit().await?;
    Ok(after)
}

/// Sets a repair ship's state; refused with a conflict unless `version` is
/// the current one (0 before the first).
pub async fn set_ship_state(
    log: &Log,
    actor: &str,
    ship_id: i64,
    state: &str,
    version: i64,
) -> Result<ShipState, ApiError> {
    let state = ShipState::parse(state).ok_or_else(|| {
        ApiError::invalid(vec![shared::fault::FieldError::new(
            "state",
            "bad_choice",
            format!(
                "choose a state: {}",
                ShipState::ALL.map(ShipState::as_str).join(", ")
            ),
        )])
    })?;
    let mut tx = log.write().await?;
    if !ship_ids(tx.conn()).await?.contains(&ship_id) {
        return Err(ApiError::not_found(format!("no repair ship #{ship_id}")));
    }
    let before = ship_states(tx.conn()).await?.get(&ship_id).copied();
    let current = before.map_or(0, |b| b.1);
    if current != version {
        return Err(ApiError::conflict(format!(
            "ship #{ship_id} was changed by someone else (now version {current}); reload it"
        )));
    }
    let sql = if before.is_some() {
        "UPDATE ship_states SET state = $2, version = $3, updated_at = $4 WHERE asset_id = $1 AND version = $5"
    } else {
        "INSERT INTO ship_states (asset_id, state, version, updated_at) SELECT $1, $2, $3, $4 WHERE $5 = 0"
    };
    let done = sqlx::query(sql)
        .bind(ship_id)
        .bind(state.as_str())
        .bind(current + 1)
        .bind(now())
        .bind(current)
        .execute(tx.conn())
        .await
        .map_err(db_err)?;
    if done.rows_affected() != 1 {
        return Err(ApiError::conflict(format!(
            "ship #{ship_id} was changed meanwhile; reload it"
        )));
    }
    let seq = append_event(
        &mut tx,
        actor,
        kind::SHIP_UPDATED,
        "asset",
        &ship_id.to_string(),
        Some(&serde_json::json!({ "state": before.map_or("standby", |b| b.0.as_str()) })),
        Some(&serde_json::json!({ "state": state.as_str(), "version": current + 1 })),
    )
    .await?;
    if state == ShipState::Sheltering && before.map(|b| b.0) != Some(ShipState::Sheltering) {
        let name: String = sqlx::query_scalar("SELECT name FROM assets WHERE id = $1")
            .bind(ship_id)
            .fetch_one(tx.conn())
            .await
            .map_err(db_err)?;
        let queued = repairs(tx.conn())
            .await?
            .iter()
            .filter(|r| r.stage.has_ship() && r.ship_id == Some(ship_id))
            .count();
        let summary =
            format!("{name}: sheltering from weather; {queued} fault(s) in its queue wait");
        crate::watch::raise(&mut tx, seq, AlertKind::ShipSheltering, None, &summary).await?;
    }
    tx.commit().await?;
    Ok(state)
}

/// Raises a `repair_stalled` alert for each of `stalled` (open faults whose
/// repair has had no stage change for [`STALL_DAYS`]) that has none since
/// its repair record last changed: one alert per stall, however often the
/// check runs and on however many servers (the check is one write, under
/// the writer lock). Returns how many it raised.
pub async fn raise_stalled(log: &Log, stalled: &[&FaultRow]) -> Result<usize, ApiError> {
    if stalled.is_empty() {
        return Ok(0);
    }
    let mut tx = log.write().await?;
    // Read under the lock (the board was read before it): which faults are
    // still open, each repair record's version and last change, and when
    // each fault's stall alerts were raised.
    let open: Vec<i64> = sqlx::query_scalar(
        "SELECT id FROM faults WHERE status IN ('open', 'repair_scheduled', 'repairing')",
    )
    .fetch_all(tx.conn())
    .await
    .map_err(db_err)?;
    let records: BTreeMap<i64, (String, i64)> =
        sqlx::query("SELECT fault_id, updated_at, version FROM repairs")
            .fetch_all(tx.conn())
            .await
            .map_err(db_err)?
            .iter()
            .map(|r| {
                Ok((
                    r.try_get("fault_id").map_err(db_err)?,
                    (
                        r.try_get("updated_at").map_err(db_err)?,
                        r.try_get("version").map_err(db_err)?,
                    ),
                ))
            })
            .collect::<Result<_, ApiError>>()?;
    let alerted: Vec<(i64, String)> = sqlx::query(
        "SELECT fault_id, raised_at FROM alerts WHERE kind = $1 AND fault_id IS NOT NULL",
    )
    .bind(AlertKind::RepairStalled.as_str())
    .fetch_all(tx.conn())
    .await
    .map_err(db_err)?
    .iter()
    .map(|r| {
        Ok((
            r.try_get("fault_id").map_err(db_err)?,
            r.try_get("raised_at").map_err(db_err)?,
        ))
    })
    .collect::<Result<_, ApiError>>()?;
    let mut raised = 0;
    for f in stalled {
        let (changed, version) = records
            .get(&f.id)
            .map_or(("", 0), |(at, v)| (at.as_str(), *v));
        // Still open, at the same stage, and not yet alerted since its
        // repair record last changed.
        if !open.contains(&f.id)
            || version != f.repair_version
            || alerted
                .iter()
                .any(|(id, at)| *id == f.id && at.as_str() >= changed)
        {
            continue;
        }
        let days = f.days_in_stage.unwrap_or(STALL_DAYS);
        let seq = append_event(
            &mut tx,
            "system",
            kind::REPAIR_STALLED,
            "fault",
            &f.id.to_string(),
            None::<&serde_json::Value>,
            Some(&serde_json::json!({
                "stage": f.stage.as_str(),
                "stage_on": f.stage_on,
                "days_in_stage": days,
            })),
        )
        .await?;
        let summary = format!(
            "{} #{}: no stage change for {days} days (at {})",
            f.cable,
            f.id,
            f.stage.as_str()
        );
        crate::watch::raise_for_fault(
            &mut tx,
            seq,
            AlertKind::RepairStalled,
            f.id,
            &f.cable,
            &summary,
        )
        .await?;
        raised += 1;
    }
    tx.commit().await?;
    Ok(raised)
}
