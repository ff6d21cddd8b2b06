//! Rows of the domain tables decoded into the shared types: faults,
//! planned maintenance and assets. Below every store that reads them (the
//! domain stores, and `resilience`, which reads all three in a write's
//! transaction to raise island alerts).

use shared::api::ApiError;
use shared::assets::{Asset, AssetDraft, AssetKind, AssetStatus, Orbit};
use shared::fault::{Chainage, Fault, FaultKind, FaultStatus};
use shared::maintenance::Maintenance;
use shared::notice::MaintenanceLine;
use shared::roc::{Eta, EtaPrecision};
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};

use crate::store::{db_err, json_err, parse_date};

/// Fault columns, in the order [`fault_from_row`] reads them.
pub(crate) const FAULT_COLS: &str = "id, cable, detected_on, kind, description, place, station, km, \
    alternate_routes_json, eta_precision, eta_date, status, restored_on, notes, provenance, version, \
    capacity_lost_pct";

pub(crate) fn fault_from_row(r: &AnyRow) -> Result<Fault, ApiError> {
    let get_s = |c: &str| r.try_get::<String, _>(c).map_err(db_err);
    let get_os = |c: &str| r.try_get::<Option<String>, _>(c).map_err(db_err);
    let kind = FaultKind::parse(&get_s("kind")?).unwrap_or(FaultKind::Other);
    let status = FaultStatus::parse(&get_s("status")?).unwrap_or(FaultStatus::Open);
    let precision = EtaPrecision::parse(&get_s("eta_precision")?).unwrap_or(EtaPrecision::Unknown);
    let eta = Eta::from_parts(precision, parse_date(get_os("eta_date")?)?).unwrap_or(Eta::UNKNOWN);
    Ok(Fault {
        id: r.try_get("id").map_err(db_err)?,
        cable: get_s("cable")?,
        detected_on: parse_date(get_os("detected_on")?)?,
        kind,
        description: get_s("description")?,
        chainage: Chainage {
            place: get_s("place")?,
            station: get_os("station")?,
            km: r.try_get("km").map_err(db_err)?,
        },
        alternate_routes: serde_json::from_str(&get_s("alternate_routes_json")?)
            .map_err(json_err)?,
        eta,
        status,
        restored_on: parse_date(get_os("restored_on")?)?,
        notes: get_s("notes")?,
        capacity_lost_pct: r.try_get("capacity_lost_pct").map_err(db_err)?,
        provenance: get_s("provenance")?,
        version: r.try_get("version").map_err(db_err)?,
    })
}

/// Planned maintenance, oldest first; completed ones only when asked.
pub(crate) async fn maintenance_rows(
    conn: &mut AnyConnection,
    include_completed: bool,
) -> Result<Vec<Maintenance>, ApiError> {
    let cols = "id, cable, eta_precision, eta_date, description, alternate_routes_json, \
                status, completed_on, version";
    let sql = if include_completed {
        format!("SELECT {cols} FROM maintenance ORDER BY id")
    } else {
        format!("SELECT {cols} FROM maintenance WHERE status <> 'completed' ORDER BY id")
    };
    sqlx::query(&sql)
        .fetch_all(&mut *conn)
        .await
        .map_err(db_err)?
        .iter()
        .map(|r| {
            let precision =
                EtaPrecision::parse(&r.try_get::<String, _>("eta_precision").map_err(db_err)?)
                    .unwrap_or(EtaPrecision::Unknown);
            let date = parse_date(r.try_get("eta_date").map_err(db_err)?)?;
            Ok(Maintenance {
                id: r.try_get("id").map_err(db_err)?,
                line: MaintenanceLine {
                    cable: r.try_get("cable").map_err(db_err)?,
                    eta: Eta::from_parts(precision, date).unwrap_or(Eta::UNKNOWN),
                    description: r.try_get("description").map_err(db_err)?,
                    alternate_routes: serde_json::from_str(
                        &r.try_get::<String, _>("alternate_routes_json")
                            .map_err(db_err)?,
                    )
                    .map_err(json_err)?,
                },
                status: r.try_get("status").map_err(db_err)?,
                completed_on: parse_date(r.try_get("completed_on").map_err(db_err)?)?,
                version: r.try_get("version").map_err(db_err)?,
            })
        })
        .collect()
}

/// Asset columns, in the order [`asset_from_row`] reads them.
pub(crate) const ASSET_COLS: &str =
    "id, name, kind, status, lon, lat, end_lon, end_lat, region, capacity_mbps, \
    orbit, operator, programme, home_port, zone, notes, source, version";

pub(crate) fn asset_from_row(r: &AnyRow) -> Result<Asset, ApiError> {
    let s = |c: &str| r.try_get::<String, _>(c).map_err(db_err);
    let f = |c: &str| r.try_get::<f64, _>(c).map_err(db_err);
    let of = |c: &str| r.try_get::<Option<f64>, _>(c).map_err(db_err);
    let bad = |what: &str, v: &str| {
        tracing::error!(what, value = v, "stored asset value does not parse");
        ApiError::internal()
    };
    let kind_s = s("kind")?;
    let status_s = s("status")?;
    let orbit = r
        .try_get::<Option<String>, _>("orbit")
        .map_err(db_err)?
        .map(|o| Orbit::parse(&o).ok_or_else(|| bad("orbit", &o)))
        .transpose()?;
    Ok(Asset {
        id: r.try_get("id").map_err(db_err)?,
        draft: AssetDraft {
            name: s("name")?,
            kind: AssetKind::parse(&kind_s).ok_or_else(|| bad("kind", &kind_s))?,
            status: AssetStatus::parse(&status_s).ok_or_else(|| bad("status", &status_s))?,
            lon: f("lon")?,
            lat: f("lat")?,
            end: match (of("end_lon")?, of("end_lat")?) {
                (Some(x), Some(y)) => Some((x, y)),
                _ => None,
            },
            region: s("region")?,
            capacity_mbps: of("capacity_mbps")?,
            orbit,
            operator: s("operator")?,
            programme: s("programme")?,
            home_port: s("home_port")?,
            zone: s("zone")?,
            notes: s("notes")?,
        },
        source: s("source")?,
        version: r.try_get("version").map_err(db_err)?,
    })
}

/// Active faults (open, repair scheduled, repairing), oldest first.
pub(crate) async fn active_faults(conn: &mut AnyConnection) -> Result<Vec<Fault>, ApiError> {
    sqlx::query(&format!(
        "SELECT {FAULT_COLS} FROM faults WHERE status IN ('open', 'repair_scheduled', 'repairing') \
         ORDER BY detected_on, id"
    ))
    .fetch_all(&mut *conn)
    .await
    .map_err(db_err)?
    .iter()
    .map(fault_from_row)
    .collect()
}
