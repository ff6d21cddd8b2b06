//! What the charts show, computed from the registry's state: pure data the
//! server draws (with plotters) and the tests check. Three charts:
//!
//! - the outage Gantt: each cable a row, each fault a bar from detection to
//!   restoration (or the end of the period, still open), coloured by kind;
//! - ETA drift: each revision of a fault's estimated repair date, as a step;
//! - island capacity against peak demand (cable, backup, demand).

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use crate::fault::{Fault, FaultKind};
use crate::repair::EtaRevision;
use crate::resilience::{Region, Report};

/// One fault's bar on a cable's row.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Bar {
    pub fault_id: i64,
    pub kind: FaultKind,
    /// Within the period: the later of detection and the period's start.
    pub from: NaiveDate,
    /// Within the period: the earlier of restoration and the period's end.
    pub to: NaiveDate,
    /// Not restored by the period's end (the bar runs on).
    pub open: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Row {
    pub cable: String,
    pub bars: Vec<Bar>,
}

/// The outage Gantt over `[from, to]`: every fault whose outage overlaps the
/// period (a fault with no detection date has none; a restored fault with no
/// restoration date is left out: its length is unknown), one row per cable,
/// rows in order of their first bar.
pub fn gantt(faults: &[Fault], from: NaiveDate, to: NaiveDate) -> Vec<Row> {
    let mut rows: Vec<Row> = Vec::new();
    let mut sorted: Vec<&Fault> = faults.iter().collect();
    sorted.sort_by_key(|f| (f.detected_on, f.id));
    for f in sorted {
        let Some(start) = f.detected_on else { continue };
        let end = match (f.status.is_active(), f.restored_on) {
            (true, _) => None,
            (false, Some(r)) => Some(r),
            (false, None) => continue,
        };
        if start > to || end.is_some_and(|e| e < from) {
            continue;
        }
        let bar = Bar {
            fault_id: f.id,
            kind: f.kind,
            from: start.max(from),
            to: end.map_or(to, |e| e.min(to)),
            open: end.is_none_or(|e| e > to),
        };
        match rows.iter_mut().find(|r| r.cable == f.cable) {
            Some(r) => r.bars.push(bar),
            None => rows.push(Row {
                cable: f.cable.clone(),
                bars: vec![bar],
            }),
        }
    }
    rows
}

/// One step of a fault's ETA drift: from `at` on, the fault's estimated
/// repair date was `eta` (its latest day: "2026-04" is 30 April).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(as = EtaStep))]
pub struct Step {
    pub at: DateTime<Utc>,
    pub eta: NaiveDate,
}

/// The ETA drift: each revision with a known date, oldest first (a
/// revision to "unknown" ends no step and starts none).
pub fn eta_drift(history: &[EtaRevision]) -> Vec<Step> {
    history
        .iter()
        .filter_map(|r| {
            Some(Step {
                at: r.at,
                eta: r.eta.latest_day()?,
            })
        })
        .collect()
}

/// An island's bar pair: what it can carry (by cables, by backup) and its
/// peak demand.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Capacity {
    pub region: Region,
    pub cable_gbps: f64,
    pub backup_gbps: f64,
    pub demand_gbps: Option<f64>,
}

/// Capacity against demand for every outlying island (Taiwan's figures are
/// two orders larger and would flatten every other bar; it is left out).
pub fn capacity(report: &Report) -> Vec<Capacity> {
    report
        .islands
        .iter()
        .filter(|r| r.figures.region != Region::Taiwan)
        .map(|r| Capacity {
            region: r.figures.region,
            cable_gbps: r.figures.cable_gbps,
            backup_gbps: r.figures.backup_gbps,
            demand_gbps: r.figures.demand_gbps,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fault::{Chainage, FaultStatus};
    use crate::roc::Eta;

    fn d(m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, m, day).expect("date")
    }

    fn fault(id: i64, cable: &str, on: NaiveDate, restored: Option<NaiveDate>) -> Fault {
        Fault {
            id,
            cable: cable.into(),
            detected_on: Some(on),
            kind: FaultKind::Cut,
            description: String::new(),
            chainage: Chainage {
                place: String::new(),
                station: None,
                km: 0.0,
            },
            alternate_routes: vec![],
            eta: Eta::default(),
            status: if restored.is_some() {
                FaultStatus::Restored
            } else {
                FaultStatus::Open
            },
            restored_on: restored,
            notes: String::new(),
            capacity_lost_pct: None,
            provenance: String::new(),
            version: 1,
        }
    }

    #[test]
    fn the_gantt_clips_bars_to_the_period_and_keeps_open_ones_running() {
        let faults = [
            fault(1, "TPKM3", d(1, 10), Some(d(2, 20))),
            fault(2, "TDM3", d(2, 5), None),
            fault(3, "TPKM3", d(3, 1), None),
            // Restored before the period: not drawn.
            fault(4, "APG", d(1, 1), Some(d(1, 20))),
        ];
        let rows = gantt(&faults, d(2, 1), d(2, 28));
        let cables: Vec<&str> = rows.iter().map(|r| r.cable.as_str()).collect();
        assert_eq!(cables, ["TPKM3", "TDM3"]);
        assert_eq!(rows[0].bars.len(), 1, "fault 3 starts after the period");
        let b = &rows[0].bars[0];
        assert_eq!((b.from, b.to, b.open), (d(2, 1), d(2, 20), false));
        let b = &rows[1].bars[0];
        assert_eq!((b.from, b.to, b.open), (d(2, 5), d(2, 28), true));
    }

    #[test]
    fn eta_drift_steps_through_each_known_date() {
        let at = |h| {
            DateTime::parse_from_rfc3339(&format!("2026-02-14T{h:02}:00:00Z"))
                .expect("t")
                .with_timezone(&Utc)
        };
        let rev = |h, eta: &str| EtaRevision {
            at: at(h),
            source: "user:o".into(),
            eta: crate::fault::parse_eta_input(eta).expect("eta"),
        };
        let steps = eta_drift(&[rev(1, "2026-04"), rev(2, ""), rev(3, "2026-05-10")]);
        assert_eq!(
            steps,
            [
                Step {
                    at: at(1),
                    eta: d(4, 30)
                },
                Step {
                    at: at(3),
                    eta: d(5, 10)
                },
            ]
        );
    }
}
