//! Island resilience on the server: officers' figures (laid over the
//! compiled-in defaults, every edit an event), and island alerts raised in
//! the transaction of any write that changes what an island can carry.
//! The engine itself is pure (`shared::resilience`); the façade loads the
//! state for reads (`Registry::resilience`).
//!
//! Sits beside `watch`, above `log` and `rows`: the domain stores call
//! [`commit`] instead of committing, so no write can change an island's
//! status without the alert.

use std::collections::BTreeMap;
use std::sync::OnceLock;

use shared::api::ApiError;
use shared::assets::{Asset, SOURCE_SYNTHETIC};
use shared::event::kind;
use shared::reference::{Cable, Station};
use shared::resilience::{
    as_designed, island_statuses, network, Basis, Figure, FigureForm, Figures, Inputs, Region,
    Status,
};
use shared::watch::{island_alert, island_summary};
use sqlx::{AnyConnection, Row};

use crate::log::{append_event, Log, WriteTx};
use crate::rows::{active_faults, asset_from_row, maintenance_rows, ASSET_COLS};
use crate::store::{db_err, now, opt_f64};

/// The compiled-in cables and stations (parsed once; a parse error leaves
/// them empty and is logged: the reference tests keep it from happening).
pub fn reference() -> &'static (Vec<Cable>, Vec<Station>) {
    static REF: OnceLock<(Vec<Cable>, Vec<Station>)> = OnceLock::new();
    REF.get_or_init(
        || match (shared::reference::cables(), shared::reference::stations()) {
            (Ok(c), Ok(s)) => (c, s),
            (Err(e), _) | (_, Err(e)) => {
                tracing::error!(error = %e, "reference data does not parse");
                (Vec::new(), Vec::new())
            }
        },
    )
}

/// The compiled-in figures.
fn defaults() -> Result<Figures, ApiError> {
    Figures::defaults().map_err(|e| {
        tracing::error!(error = %e, "resilience figures do not parse");
        ApiError::internal()
    })
}

/// Every figure: the defaults with the officers' figures over them.
pub async fn figures(conn: &mut AnyConnection) -> Result<Figures, ApiError> {
    let rows =
        sqlx::query("SELECT key, value, basis, source, set_by, version FROM figures ORDER BY key")
            .fetch_all(&mut *conn)
            .await
            .map_err(db_err)?;
    let mut stored = Vec::with_capacity(rows.len());
    for r in &rows {
        let basis: String = r.try_get("basis").map_err(db_err)?;
        stored.push(Figure {
            key: r.try_get("key").map_err(db_err)?,
            value: r.try_get("value").map_err(db_err)?,
            // The unit is the default's (`Figures::with` keeps it).
            unit: shared::resilience::Unit::Mbps,
            basis: Basis::parse(&basis).unwrap_or(Basis::Estimate),
            source: r.try_get("source").map_err(db_err)?,
            set_by: r.try_get("set_by").map_err(db_err)?,
            version: r.try_get("version").map_err(db_err)?,
        });
    }
    Ok(defaults()?.with(stored))
}

/// Replaces one figure; refused with a conflict unless `version` is the
/// figure's current version (0 for a default never edited).
pub async fn set_figure(
    log: &Log,
    actor: &str,
    key: &str,
    form: &FigureForm,
    version: i64,
) -> Result<Figure, ApiError> {
    let mut tx = log.write().await?;
    let before = figures(tx.conn())
        .await?
        .get(key)
        .cloned()
        .ok_or_else(|| ApiError::not_found(format!("no figure {key}")))?;
    if before.version != version {
        return Err(ApiError::conflict(format!(
            "figure {key} was changed by {} (now version {}); reload it",
            before.set_by, before.version
        )));
    }
    let mut after = form.validate(&before).map_err(ApiError::invalid)?;
    after.set_by = actor.to_string();
    after.version = before.version + 1;
    let at = now();
    let done = if before.version == 0 {
        sqlx::query(
            "INSERT INTO figures (key, value, basis, source, set_by, version, updated_at) \
             VALUES ($1, CAST($2 AS DOUBLE PRECISION), $3, $4, $5, $6, $7)",
        )
        .bind(key)
        .bind(opt_f64(after.value))
        .bind(after.basis.as_str())
        .bind(&after.source)
        .bind(actor)
        .bind(after.version)
        .bind(&at)
        .execute(tx.conn())
        .await
    } else {
        sqlx::query(
            "UPDATE figures SET value = CAST($1 AS DOUBLE PRECISION), basis = $2, source = $3, set_by = $4, version = $5, \
             updated_at = $6 WHERE key = $7 AND version = $8",
        )
        .bind(opt_f64(after.value))
        .bind(after.basis.as_str())
        .bind(&after.source)
        .bind(actor)
        .bind(after.version)
        .bind(&at)
        .bind(key)
        .bind(before.version)
        .execute(tx.conn())
        .await
    }
    .map_err(db_err)?;
    if done.rows_affected() != 1 {
        return Err(ApiError::conflict(format!(
            "figure {key} was changed meanwhile; reload it"
        )));
    }
    append_event(
        &mut tx,
        actor,
        kind::FIGURE_UPDATED,
        "figure",
        key,
        Some(&before),
        Some(&after),
    )
    .await?;
    commit(tx).await?;
    Ok(after)
}

/// The records that can add capacity (satellite kinds and microwave links)
/// and are not synthetic: all a status check needs.
async fn capacity_assets(conn: &mut AnyConnection) -> Result<Vec<Asset>, ApiError> {
    sqlx::query(&format!(
        "SELECT {ASSET_COLS} FROM assets WHERE source <> $1 \
         AND kind IN ('microwave', 'sat_terminal', 'sat_backhaul', 'sat_vehicle')"
    ))
    .bind(SOURCE_SYNTHETIC)
    .fetch_all(&mut *conn)
    .await
    .map_err(db_err)?
    .iter()
    .map(asset_from_row)
    .collect()
}

/// Raises the island alerts the transaction's writes call for, then
/// commits. Every write that can change an island's capacity (faults,
/// notices, maintenance, assets, figures) commits through here.
pub(crate) async fn commit(mut tx: WriteTx) -> Result<(), ApiError> {
    check_islands(&mut tx).await?;
    tx.commit().await
}

/// Compares each island's status now with the one last recorded (or, the
/// first time, with its status as designed) and raises an alert for each
/// move into on backup, short or isolated, and back out.
async fn check_islands(tx: &mut WriteTx) -> Result<(), ApiError> {
    let seq: i64 = sqlx::query_scalar("SELECT COALESCE(MAX(seq), 0) FROM events")
        .fetch_one(tx.conn())
        .await
        .map_err(db_err)?;
    if seq == 0 {
        return Ok(());
    }
    let faults = active_faults(tx.conn()).await?;
    let maintenance: Vec<_> = maintenance_rows(tx.conn(), false)
        .await?
        .into_iter()
        .map(|m| m.line)
        .collect();
    let assets = capacity_assets(tx.conn()).await?;
    let figs = figures(tx.conn()).await?;
    let (cables, stations) = reference();
    let net = network(&Inputs {
        cables,
        stations,
        faults: &faults,
        maintenance: &maintenance,
        assets: &assets,
        figures: &figs,
    });
    let now_figures = island_statuses(&net.links, &net.demand);
    let designed = island_statuses(&as_designed(&net.links), &net.demand);
    let recorded: BTreeMap<String, String> =
        sqlx::query("SELECT region, status FROM island_status")
            .fetch_all(tx.conn())
            .await
            .map_err(db_err)?
            .iter()
            .map(|r| {
                Ok((
                    r.try_get("region").map_err(db_err)?,
                    r.try_get("status").map_err(db_err)?,
                ))
            })
            .collect::<Result<_, ApiError>>()?;
    for (f, d) in now_figures.iter().zip(&designed) {
        let id = f.region.id();
        let before = recorded
            .get(id)
            .and_then(|s| Status::parse(s))
            .unwrap_or(d.status);
        if recorded.get(id).map(String::as_str) == Some(f.status.as_str()) {
            continue;
        }
        if let Some(k) = island_alert(before, f.status) {
            crate::watch::raise(tx, seq, k, Some(id), &island_summary(k, f)).await?;
        }
        let sql = if recorded.contains_key(id) {
            "UPDATE island_status SET status = $2, seq = $3 WHERE region = $1"
        } else {
            "INSERT INTO island_status (region, status, seq) VALUES ($1, $2, $3)"
        };
        sqlx::query(sql)
            .bind(id)
            .bind(f.status.as_str())
            .bind(seq)
            .execute(tx.conn())
            .await
            .map_err(db_err)?;
    }
    Ok(())
}

/// Parses a region id for the API (`matsu`).
pub fn region(id: &str) -> Option<Region> {
    Region::ALL.into_iter().find(|r| r.id() == id)
}
