//! Exercises on the server: scheduling one (a real event, for the audit
//! trail), and writing its layer (`exercise_events`, never `events`). It sits
//! right above the log: the real records an exercise write needs (the faults
//! it may shadow) are handed in by the façade, which owns their SQL.
//!
//! Every layer write takes the log's write transaction (the one writer
//! lock), reads the layer again inside it, and checks the exercise is
//! running, so two officers in one exercise conflict exactly as in reality.

use chrono::{DateTime, Utc};
use shared::api::ApiError;
use shared::event::kind as real_kind;
use shared::exercise::{self, Exercise, ExerciseDraft, Layer, Phase};
use shared::fault::{Fault, FaultDraft, FieldError};
use shared::watch::{self, Alert};
use sqlx::any::AnyRow;
use sqlx::{AnyPool, Row};

use crate::log::{append_event, append_layer_event, layer_events, Log, WriteTx};
use crate::store::{db_err, json_err, parse_time, stored_time};

const COLS: &str = "id, name, starts_at, ends_at, injects_json, created_by, created_at";

fn from_row(r: &AnyRow) -> Result<Exercise, ApiError> {
    let injects: String = r.try_get("injects_json").map_err(db_err)?;
    Ok(Exercise {
        id: r.try_get("id").map_err(db_err)?,
        name: r.try_get("name").map_err(db_err)?,
        starts_at: parse_time(&r.try_get::<String, _>("starts_at").map_err(db_err)?)?,
        ends_at: parse_time(&r.try_get::<String, _>("ends_at").map_err(db_err)?)?,
        injects: serde_json::from_str(&injects).map_err(json_err)?,
        created_by: r.try_get("created_by").map_err(db_err)?,
        created_at: parse_time(&r.try_get::<String, _>("created_at").map_err(db_err)?)?,
    })
}

/// Schedules an exercise; its `exercise.created` event is real (who
/// scheduled what is part of the audit trail), its layer starts empty.
pub(crate) async fn create(
    log: &Log,
    actor: &str,
    d: &ExerciseDraft,
) -> Result<Exercise, ApiError> {
    let mut tx = log.write().await?;
    let at = Utc::now();
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO exercises (name, starts_at, ends_at, injects_json, created_by, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
    )
    .bind(&d.name)
    .bind(stored_time(&d.starts_at))
    .bind(stored_time(&d.ends_at))
    .bind(serde_json::to_string(&d.injects).map_err(json_err)?)
    .bind(actor)
    .bind(stored_time(&at))
    .fetch_one(tx.conn())
    .await
    .map_err(db_err)?;
    let ex = Exercise {
        id,
        name: d.name.clone(),
        starts_at: d.starts_at,
        ends_at: d.ends_at,
        injects: d.injects.clone(),
        created_by: actor.to_string(),
        created_at: at,
    };
    append_event(
        &mut tx,
        actor,
        exercise::kind::CREATED,
        exercise::ENTITY,
        &id.to_string(),
        None::<&()>,
        Some(&serde_json::json!({
            "name": ex.name, "starts_at": ex.starts_at, "ends_at": ex.ends_at,
            "injects": ex.injects.len(),
        })),
    )
    .await?;
    tx.commit().await?;
    Ok(ex)
}

/// One exercise.
pub(crate) async fn get(pool: &AnyPool, id: i64) -> Result<Option<Exercise>, ApiError> {
    sqlx::query(&format!("SELECT {COLS} FROM exercises WHERE id = $1"))
        .bind(id)
        .fetch_optional(pool)
        .await
        .map_err(db_err)?
        .as_ref()
        .map(from_row)
        .transpose()
}

/// Every exercise, the newest start first.
pub(crate) async fn list(pool: &AnyPool) -> Result<Vec<Exercise>, ApiError> {
    sqlx::query(&format!(
        "SELECT {COLS} FROM exercises ORDER BY starts_at DESC, id DESC"
    ))
    .fetch_all(pool)
    .await
    .map_err(db_err)?
    .iter()
    .map(from_row)
    .collect()
}

/// The exercises running at `now` (the inject player's list).
pub(crate) async fn running(pool: &AnyPool, now: DateTime<Utc>) -> Result<Vec<Exercise>, ApiError> {
    let t = stored_time(&now);
    sqlx::query(&format!(
        "SELECT {COLS} FROM exercises WHERE starts_at <= $1 AND ends_at > $2 ORDER BY id"
    ))
    .bind(&t)
    .bind(&t)
    .fetch_all(pool)
    .await
    .map_err(db_err)?
    .iter()
    .map(from_row)
    .collect()
}

fn fold(events: Vec<shared::exercise::LayerEvent>) -> Result<Layer, ApiError> {
    Layer::fold(events).map_err(|e| {
        tracing::error!(error = %e, "an exercise layer does not fold");
        ApiError::internal()
    })
}

/// An exercise's layer, folded.
pub(crate) async fn layer(pool: &AnyPool, id: i64) -> Result<Layer, ApiError> {
    let mut conn = pool.acquire().await.map_err(db_err)?;
    fold(layer_events(&mut conn, id).await?)
}

/// Begins a write in exercise `ex`: the writer lock, then the layer read
/// again under it; refused with a conflict unless the exercise runs.
async fn begin(log: &Log, ex: &Exercise) -> Result<(WriteTx, Layer), ApiError> {
    running_now(ex)?;
    let mut tx = log.write().await?;
    let layer = fold(layer_events(tx.conn(), ex.id).await?)?;
    // Checked again under the lock: the end may have passed while waiting.
    running_now(ex)?;
    Ok((tx, layer))
}

/// A conflict unless `ex` is running now.
pub fn running_now(ex: &Exercise) -> Result<(), ApiError> {
    match ex.phase(Utc::now()) {
        Phase::Running => Ok(()),
        p => Err(ApiError::conflict(format!(
            "exercise #{} ({}) is {}, not running: nothing can be written in it",
            ex.id,
            ex.name,
            p.as_str()
        ))),
    }
}

/// What a fault write in an exercise is: a new fault, or a change of the
/// fault `id` (a real one, which the layer then shadows, or the
/// exercise's own) made on `version`.
pub(crate) enum FaultWrite {
    New,
    Change { id: i64, version: i64 },
}

/// Logs or changes a fault in exercise `ex`. `real` is the real fault of
/// that id (for a change of a real fault the layer has not yet shadowed)
/// and `real_open` the real open faults (for "another cut on this cable").
/// The rules are reality's: a stale version is a conflict, a status may
/// move only as the lifecycle allows, an identical fault is a conflict.
#[allow(clippy::too_many_arguments)]
pub(crate) async fn write_fault(
    log: &Log,
    ex: &Exercise,
    actor: &str,
    inject: Option<usize>,
    what: FaultWrite,
    d: &FaultDraft,
    real: Option<Fault>,
    real_open: Vec<Fault>,
) -> Result<Fault, ApiError> {
    let (mut tx, layer) = begin(log, ex).await?;
    let fault = fault_in_tx(&mut tx, &layer, ex, actor, inject, what, d, real, real_open).await?;
    tx.commit().await?;
    Ok(fault)
}

/// [`write_fault`] inside a write already begun, over `layer` as it stands
/// in that write.
#[allow(clippy::too_many_arguments)]
async fn fault_in_tx(
    tx: &mut WriteTx,
    layer: &Layer,
    ex: &Exercise,
    actor: &str,
    inject: Option<usize>,
    what: FaultWrite,
    d: &FaultDraft,
    real: Option<Fault>,
    real_open: Vec<Fault>,
) -> Result<Fault, ApiError> {
    if let Some(i) = inject {
        if layer.played.contains(&i) {
            return Err(ApiError::conflict(format!("inject {i} was already played")));
        }
    }
    let overlay = layer.overlay_faults(real_open, false);
    let before = match &what {
        FaultWrite::New => None,
        FaultWrite::Change { id, version } => {
            let before = layer
                .faults
                .get(id)
                .cloned()
                .or(real)
                .ok_or_else(|| ApiError::not_found(format!("no fault #{id}")))?;
            if before.version != *version {
                return Err(ApiError::conflict(format!(
                    "fault #{id} was changed by someone else since you opened it (you edited version {version}, it is now version {}); reload it, your text is kept",
                    before.version
                )));
            }
            if !before.status.can_become(d.status) {
                return Err(ApiError::invalid(vec![FieldError::new(
                    "status",
                    "bad_transition",
                    format!(
                        "a {} fault cannot become {}",
                        before.status.as_str(),
                        d.status.as_str()
                    ),
                )]));
            }
            Some(before)
        }
    };
    let key = d.key();
    let id = before
        .as_ref()
        .map_or_else(|| layer.next_fault_id(), |b| b.id);
    if let Some(other) = overlay.iter().find(|f| f.key() == key && f.id != id) {
        return Err(ApiError::conflict(format!(
            "this fault (same cable, date and place) is already recorded as #{}",
            other.id
        )));
    }
    let provenance = before.as_ref().map_or_else(
        || format!("exercise {} {actor}", ex.id),
        |b| b.provenance.clone(),
    );
    let fault = Fault {
        id,
        cable: d.cable.clone(),
        detected_on: d.detected_on,
        kind: d.kind,
        description: d.description.clone(),
        chainage: d.chainage.clone(),
        alternate_routes: d.alternate_routes.clone(),
        eta: d.eta,
        status: d.status,
        restored_on: d.restored_on,
        notes: d.notes.clone(),
        capacity_lost_pct: d.capacity_lost_pct,
        provenance,
        version: before.as_ref().map_or(1, |b| b.version + 1),
    };
    let kind = match &before {
        None => real_kind::FAULT_REPORTED,
        Some(b) if b.status.is_active() && !fault.status.is_active() => real_kind::FAULT_RESTORED,
        Some(_) => real_kind::FAULT_UPDATED,
    };
    append_layer_event(
        tx,
        ex.id,
        inject,
        actor,
        kind,
        "fault",
        &id.to_string(),
        before.as_ref(),
        Some(&fault),
    )
    .await?;
    let other_open_cut = overlay.iter().any(|f| {
        f.cable == fault.cable
            && f.id != fault.id
            && f.kind == shared::fault::FaultKind::Cut
            && f.status.is_active()
    });
    let mut next_alert = layer.next_alert_id();
    for k in watch::alerts_for(before.as_ref(), &fault, other_open_cut) {
        let alert = Alert {
            id: next_alert,
            seq: 0,
            kind: k,
            fault_id: Some(fault.id),
            region: None,
            cable: fault.cable.clone(),
            summary: watch::summary(k, before.as_ref(), &fault),
            raised_at: Utc::now(),
            acked_by: None,
            acked_at: None,
        };
        append_layer_event(
            tx,
            ex.id,
            None,
            "system",
            exercise::kind::ALERT_RAISED,
            "alert",
            &next_alert.to_string(),
            None::<&()>,
            Some(&alert),
        )
        .await?;
        next_alert -= 1;
    }
    Ok(fault)
}

/// Imports a notice into exercise `ex`, all of it or nothing: planned
/// against the exercise's faults (`real_all`, every real fault, with the
/// layer over it, read again under the writer lock), each change written as
/// an officer's fault write in the layer would be (same rules, same
/// alerts), after one `notice.imported` layer event with the counts. The
/// notice's planned maintenance is not played (an exercise has no
/// maintenance); the caller says so.
pub(crate) async fn import_notice(
    log: &Log,
    ex: &Exercise,
    actor: &str,
    notice: &shared::notice::Notice,
    real_all: Vec<Fault>,
) -> Result<(shared::import::ImportPlan, usize), ApiError> {
    let (mut tx, mut layer) = begin(log, ex).await?;
    let real_open: Vec<Fault> = real_all
        .iter()
        .filter(|f| f.status.is_active())
        .cloned()
        .collect();
    let existing = layer.overlay_faults(real_all.clone(), true);
    let plan = shared::import::plan_import(notice, &existing).map_err(ApiError::bad_notice)?;
    if plan.changes.is_empty() {
        return Ok((plan, 0));
    }
    use shared::import::ChangeKind;
    append_layer_event(
        &mut tx,
        ex.id,
        None,
        actor,
        real_kind::NOTICE_IMPORTED,
        "notice",
        &ex.id.to_string(),
        None::<&()>,
        Some(&serde_json::json!({
            "dated": notice.date,
            "new": plan.count(ChangeKind::New),
            "updated": plan.count(ChangeKind::Updated),
            "restored": plan.count(ChangeKind::Restored),
        })),
    )
    .await?;
    let mut events = 1;
    for change in &plan.changes {
        let (what, real) = match (change.fault_id, change.version) {
            (Some(id), Some(version)) => (
                FaultWrite::Change { id, version },
                real_all.iter().find(|f| f.id == id).cloned(),
            ),
            _ => (FaultWrite::New, None),
        };
        fault_in_tx(
            &mut tx,
            &layer,
            ex,
            actor,
            None,
            what,
            &change.after,
            real,
            real_open.clone(),
        )
        .await?;
        events += 1;
        // The next change sees this one (its id, its alerts).
        layer = fold(layer_events(tx.conn(), ex.id).await?)?;
    }
    tx.commit().await?;
    Ok((plan, events))
}

/// Acknowledges one of the exercise's alerts, once.
pub(crate) async fn ack(log: &Log, ex: &Exercise, actor: &str, id: i64) -> Result<Alert, ApiError> {
    let (mut tx, layer) = begin(log, ex).await?;
    let mut alert = layer.alerts.get(&id).cloned().ok_or_else(|| {
        if id > 0 {
            ApiError::conflict(format!(
                "alert #{id} is real: it is acknowledged outside exercise #{} ({}), not in it",
                ex.id, ex.name
            ))
        } else {
            ApiError::not_found(format!("no alert #{id} in this exercise"))
        }
    })?;
    if let (Some(by), Some(at)) = (&alert.acked_by, &alert.acked_at) {
        return Err(ApiError::conflict(format!(
            "alert #{id} was already acknowledged by {by} at {}",
            at.to_rfc3339()
        )));
    }
    let at = Utc::now();
    append_layer_event(
        &mut tx,
        ex.id,
        None,
        actor,
        real_kind::ALERT_ACKNOWLEDGED,
        "alert",
        &id.to_string(),
        Some(&alert),
        Some(&serde_json::json!({ "acked_by": actor, "acked_at": at })),
    )
    .await?;
    tx.commit().await?;
    alert.acked_by = Some(actor.to_string());
    alert.acked_at = Some(at);
    Ok(alert)
}

/// Records a backup asset's new state in the exercise (the asset as the
/// officer left it, checked by the caller against the overlay's version).
pub(crate) async fn write_asset(
    log: &Log,
    ex: &Exercise,
    actor: &str,
    before: &shared::assets::Asset,
    after: &shared::assets::Asset,
) -> Result<(), ApiError> {
    let (mut tx, layer) = begin(log, ex).await?;
    let current = layer.assets.get(&before.id).unwrap_or(before);
    if current.version != before.version {
        return Err(ApiError::conflict(format!(
            "asset #{} was changed by someone else since you opened it (it is now version {}); reload it, your text is kept",
            before.id, current.version
        )));
    }
    append_layer_event(
        &mut tx,
        ex.id,
        None,
        actor,
        real_kind::ASSET_UPDATED,
        "asset",
        &before.id.to_string(),
        Some(current),
        Some(after),
    )
    .await?;
    tx.commit().await
}
