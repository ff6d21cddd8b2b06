//! The leadership briefing (`/briefing`): one glance at what is cut, who is
//! short, what carries them, when it is fixed, and what changed in the last
//! 24 hours. Built from the watch board, the resilience report, the repair
//! board and the log; pure.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use crate::event::{kind, Event};
use crate::fault::FaultKind;
use crate::map::CableState;
use crate::repair::{RepairsBoard, Stage};
use crate::resilience::{Carried, Region, Report, Status};
use crate::roc::Eta;
use crate::watch::Board;

/// Links shown per island (the ones carrying most).
pub const CARRIERS_SHOWN: usize = 3;
/// Changes listed (the rest are counted).
pub const CHANGES_SHOWN: usize = 8;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Briefing {
    /// When it was built.
    pub at: DateTime<Utc>,
    pub headline: Headline,
    /// Every outlying island with figures, worst first (Taiwan last).
    pub islands: Vec<IslandLine>,
    /// Every open fault, the soonest official date first.
    pub etas: Vec<EtaLine>,
    /// What changed in the 24 hours before `at`, newest first.
    pub changes: Vec<Change>,
    /// How many changes there were in all.
    pub changes_total: usize,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Headline {
    pub cables_cut: usize,
    pub cables_degraded: usize,
    pub open_faults: usize,
    pub islands_on_backup: usize,
    pub islands_short: usize,
    pub islands_isolated: usize,
    /// The open fault whose official date is soonest.
    pub next_repair: Option<EtaLine>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct IslandLine {
    pub region: Region,
    pub status: Status,
    pub coverage: Option<f64>,
    pub capacity_gbps: f64,
    pub demand_gbps: Option<f64>,
    /// The demand figure is an estimate (not public).
    pub demand_estimated: bool,
    /// What carries its traffic, most first.
    pub carried_by: Vec<Carried>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct EtaLine {
    pub fault_id: i64,
    pub cable: String,
    pub kind: FaultKind,
    pub stage: Stage,
    pub official: Eta,
    pub p50_on: Option<NaiveDate>,
    pub p90_on: Option<NaiveDate>,
    pub optimistic: bool,
}

/// One change in the log, as the briefing names it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Change {
    pub at: DateTime<Utc>,
    pub what: ChangeKind,
    /// The cable or thing it is about (`TDM2`, an asset's name), if known.
    pub subject: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(as = BriefingChange))]
#[serde(rename_all = "snake_case")]
pub enum ChangeKind {
    NewFault,
    FaultUpdated,
    Restored,
    NoticeImported,
    RepairProgress,
    RepairStalled,
    ShipState,
    Asset,
    Figure,
    Maintenance,
    AlertAcknowledged,
}

impl ChangeKind {
    /// What a log entry is to the briefing (`None`: not a change of the
    /// picture, e.g. a sign-in).
    pub fn of(event_kind: &str) -> Option<ChangeKind> {
        Some(match event_kind {
            kind::FAULT_REPORTED => Self::NewFault,
            kind::FAULT_UPDATED => Self::FaultUpdated,
            kind::FAULT_RESTORED => Self::Restored,
            kind::NOTICE_IMPORTED => Self::NoticeImported,
            kind::REPAIR_UPDATED => Self::RepairProgress,
            kind::REPAIR_STALLED => Self::RepairStalled,
            kind::SHIP_UPDATED => Self::ShipState,
            kind::ASSET_CREATED | kind::ASSET_UPDATED | kind::ASSETS_IMPORTED => Self::Asset,
            kind::FIGURE_UPDATED => Self::Figure,
            kind::MAINTENANCE_RECORDED | kind::MAINTENANCE_UPDATED => Self::Maintenance,
            kind::ALERT_ACKNOWLEDGED => Self::AlertAcknowledged,
            _ => return None,
        })
    }
}

/// What the briefing is built from.
pub struct Inputs<'a> {
    pub at: DateTime<Utc>,
    pub board: &'a Board,
    pub report: &'a Report,
    pub repairs: &'a RepairsBoard,
    /// The log's entries of the last 24 hours (any order).
    pub events: &'a [Event],
}

fn severity(s: Status) -> u8 {
    match s {
        Status::Isolated => 0,
        Status::Short => 1,
        Status::OnBackup => 2,
        Status::Degraded => 3,
        Status::Normal => 4,
        Status::NoFigures => 5,
    }
}

/// The subject of a change: the cable of a fault event, the name of an
/// asset, else nothing.
fn subject(e: &Event) -> String {
    let field = |k: &str| {
        e.after
            .as_ref()
            .and_then(|a| a.get(k))
            .or_else(|| e.before.as_ref().and_then(|b| b.get(k)))
            .and_then(|v| v.as_str())
            .map(str::to_string)
    };
    field("cable")
        .or_else(|| field("name"))
        .unwrap_or_else(|| format!("{} #{}", e.entity_type, e.entity_id))
}

pub fn build(i: &Inputs<'_>) -> Briefing {
    let count = |s: CableState| {
        i.board
            .cables
            .iter()
            .find(|(x, _)| *x == s)
            .map_or(0, |(_, n)| *n)
    };
    let mut islands: Vec<IslandLine> = i
        .report
        .islands
        .iter()
        .map(|r| {
            let f = &r.figures;
            IslandLine {
                region: f.region,
                status: f.status,
                coverage: f.coverage,
                capacity_gbps: f.capacity_gbps,
                demand_gbps: f.demand_gbps,
                demand_estimated: r.demand_basis
                    == Some(crate::resilience::figures::Basis::Estimate),
                carried_by: f.carried_by.iter().take(CARRIERS_SHOWN).cloned().collect(),
            }
        })
        .collect();
    islands.sort_by_key(|l| (l.region == Region::Taiwan, severity(l.status)));
    let with = |s: Status| islands.iter().filter(|l| l.status == s).count();
    let mut etas: Vec<EtaLine> = i
        .repairs
        .faults
        .iter()
        .map(|r| EtaLine {
            fault_id: r.id,
            cable: r.cable.clone(),
            kind: r.kind,
            stage: r.stage,
            official: r.official_eta,
            p50_on: r.estimate.as_ref().and_then(|e| e.p50_on),
            p90_on: r.estimate.as_ref().and_then(|e| e.p90_on),
            optimistic: r.optimistic,
        })
        .collect();
    // Soonest official date first; unknown dates last.
    etas.sort_by_key(|e| {
        (
            e.official.latest_day().is_none(),
            e.official.latest_day(),
            e.fault_id,
        )
    });
    let since = i.at - chrono::Duration::hours(24);
    let mut changes: Vec<Change> = i
        .events
        .iter()
        .filter(|e| e.at > since && e.at <= i.at)
        .filter_map(|e| {
            Some(Change {
                at: e.at,
                what: ChangeKind::of(&e.kind)?,
                subject: subject(e),
            })
        })
        .collect();
    changes.sort_by_key(|c| std::cmp::Reverse(c.at));
    let changes_total = changes.len();
    changes.truncate(CHANGES_SHOWN);
    Briefing {
        at: i.at,
        headline: Headline {
            cables_cut: count(CableState::Cut),
            cables_degraded: count(CableState::Degraded),
            open_faults: i.repairs.faults.len(),
            islands_on_backup: with(Status::OnBackup),
            islands_short: with(Status::Short),
            islands_isolated: with(Status::Isolated),
            next_repair: etas
                .iter()
                .find(|e| e.official.latest_day().is_some())
                .cloned(),
        },
        islands,
        etas,
        changes,
        changes_total,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn event(seq: i64, hours_ago: i64, kind: &str, after: serde_json::Value) -> Event {
        let now = Utc
            .with_ymd_and_hms(2026, 2, 15, 9, 0, 0)
            .single()
            .unwrap_or_default();
        Event {
            seq,
            at: now - chrono::Duration::hours(hours_ago),
            actor: "user:officer".into(),
            kind: kind.into(),
            entity_type: "fault".into(),
            entity_id: seq.to_string(),
            before: None,
            after: Some(after),
        }
    }

    #[test]
    fn the_briefing_puts_the_worst_island_first_and_counts_the_last_day() {
        let (net, figures) = crate::inventory::demo_network();
        let report = crate::resilience::report(&net, &figures);
        let at = Utc
            .with_ymd_and_hms(2026, 2, 15, 9, 0, 0)
            .single()
            .unwrap_or_default();
        let board = Board {
            seq: 1,
            cables: crate::watch::count_states(&[
                CableState::Cut,
                CableState::Cut,
                CableState::Degraded,
            ]),
            faults: Vec::new(),
            islands: Vec::new(),
            alerts: Vec::new(),
            events: Vec::new(),
        };
        let repairs = RepairsBoard {
            ships: Vec::new(),
            faults: Vec::new(),
            cases: 7,
            own_cases: 0,
        };
        let events = vec![
            event(
                1,
                30,
                kind::FAULT_REPORTED,
                serde_json::json!({ "cable": "TPKM3" }),
            ),
            event(
                2,
                3,
                kind::FAULT_REPORTED,
                serde_json::json!({ "cable": "TDM2" }),
            ),
            event(
                3,
                1,
                kind::FAULT_UPDATED,
                serde_json::json!({ "cable": "TDM2" }),
            ),
            event(4, 2, "auth.signed_in", serde_json::json!({})),
        ];
        let b = build(&Inputs {
            at,
            board: &board,
            report: &report,
            repairs: &repairs,
            events: &events,
        });
        assert_eq!((b.headline.cables_cut, b.headline.cables_degraded), (2, 1));
        // The demo's Matsu cables are cut: the worst island comes first,
        // Taiwan last.
        assert_eq!(b.islands.last().map(|l| l.region), Some(Region::Taiwan));
        let worst = severity(b.islands[0].status);
        assert!(b
            .islands
            .iter()
            .all(|l| l.region == Region::Taiwan || severity(l.status) >= worst));
        assert!(b
            .islands
            .iter()
            .all(|l| l.carried_by.len() <= CARRIERS_SHOWN));
        // The last 24 hours only, newest first, sign-ins left out.
        let what: Vec<(ChangeKind, &str)> = b
            .changes
            .iter()
            .map(|c| (c.what, c.subject.as_str()))
            .collect();
        assert_eq!(
            what,
            [
                (ChangeKind::FaultUpdated, "TDM2"),
                (ChangeKind::NewFault, "TDM2")
            ]
        );
        assert_eq!(b.changes_total, 2);
        assert!(b.headline.next_repair.is_none());
    }
}
