//! The duty watch: which changes raise an alert, which islands are affected,
//! and the board a wall screen shows. Pure: the server stores alerts when a
//! fault event is written, the board is computed from the current state.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::event::Event;
use crate::fault::{Fault, FaultKind, FaultStatus};
use crate::map::CableState;

/// Why the watch is alerted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum AlertKind {
    /// A fault was logged (by an officer or from a notice) and is active.
    NewFault,
    /// A cable with no open cut now has one.
    CableCut,
    /// An active fault's estimated repair date moved later, or became unknown.
    EtaLater,
    /// A fault was restored.
    Restored,
    /// An island lost all its cable capacity; backups carry its peak demand.
    IslandOnBackup,
    /// An island can carry only part of its peak demand.
    IslandShort,
    /// An island can carry nothing.
    IslandIsolated,
    /// An island on backup, short or isolated is back on a cable.
    IslandRecovered,
    /// A repair ship started sheltering from weather: its queue waits.
    ShipSheltering,
    /// An open fault's repair has had no stage change for 14 days.
    RepairStalled,
}

impl AlertKind {
    pub const ALL: [AlertKind; 10] = [
        Self::NewFault,
        Self::CableCut,
        Self::EtaLater,
        Self::Restored,
        Self::IslandOnBackup,
        Self::IslandShort,
        Self::IslandIsolated,
        Self::IslandRecovered,
        Self::ShipSheltering,
        Self::RepairStalled,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::NewFault => "new_fault",
            Self::CableCut => "cable_cut",
            Self::EtaLater => "eta_later",
            Self::Restored => "restored",
            Self::IslandOnBackup => "island_on_backup",
            Self::IslandShort => "island_short",
            Self::IslandIsolated => "island_isolated",
            Self::IslandRecovered => "island_recovered",
            Self::ShipSheltering => "ship_sheltering",
            Self::RepairStalled => "repair_stalled",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

fn is_open_cut(f: &Fault) -> bool {
    f.kind == FaultKind::Cut && f.status.is_active()
}

/// The alerts a fault change raises. `before` is `None` for a new fault;
/// `other_open_cut` says whether the cable already had another open cut (then
/// it does not *become* cut). A fault recorded already restored (history from
/// a notice) raises nothing.
pub fn alerts_for(before: Option<&Fault>, after: &Fault, other_open_cut: bool) -> Vec<AlertKind> {
    let mut out = Vec::new();
    if before.is_none() && after.status.is_active() {
        out.push(AlertKind::NewFault);
    }
    let was_cut = before.is_some_and(is_open_cut);
    if is_open_cut(after) && !was_cut && !other_open_cut {
        out.push(AlertKind::CableCut);
    }
    if let Some(b) = before {
        if b.status.is_active() && after.status.is_active() {
            let later = match (b.eta.latest_day(), after.eta.latest_day()) {
                (Some(old), Some(new)) => new > old,
                (Some(_), None) => true,
                _ => false,
            };
            if later {
                out.push(AlertKind::EtaLater);
            }
        }
        if after.status == FaultStatus::Restored && b.status != FaultStatus::Restored {
            out.push(AlertKind::Restored);
        }
    }
    out
}

/// The alert an island's move from `before` to `after` raises, if any:
/// into on backup, short or isolated (or between them), and back out.
pub fn island_alert(
    before: crate::resilience::Status,
    after: crate::resilience::Status,
) -> Option<AlertKind> {
    use crate::resilience::Status;
    if before == after {
        return None;
    }
    match after {
        Status::OnBackup => Some(AlertKind::IslandOnBackup),
        Status::Short => Some(AlertKind::IslandShort),
        Status::Isolated => Some(AlertKind::IslandIsolated),
        Status::Degraded | Status::Normal if before.alerts() => Some(AlertKind::IslandRecovered),
        _ => None,
    }
}

/// One alert, as the watch sees it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Alert {
    pub id: i64,
    /// The event that raised it.
    pub seq: i64,
    pub kind: AlertKind,
    /// The fault it is about (`None` for an island alert).
    pub fault_id: Option<i64>,
    /// The island region it is about (`matsu`), for an island alert.
    pub region: Option<String>,
    /// The cable it is about (empty for an island alert).
    pub cable: String,
    /// What changed, in a line (the fault's wording and ETA).
    pub summary: String,
    pub raised_at: DateTime<Utc>,
    /// `user:NAME` of who acknowledged it, and when.
    pub acked_by: Option<String>,
    pub acked_at: Option<DateTime<Utc>>,
}

impl Alert {
    pub fn is_open(&self) -> bool {
        self.acked_at.is_none()
    }
}

/// An island whose standing differs from its standing as designed, as
/// the resilience engine reports it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct IslandStatus {
    /// Region id: matsu, kinmen, penghu, ...
    pub region: String,
    pub status: crate::resilience::Status,
    pub capacity_gbps: f64,
    pub demand_gbps: Option<f64>,
    pub coverage: Option<f64>,
    /// The island's own links (cables, microwave, satellite) carrying less
    /// than designed.
    pub down: Vec<String>,
}

/// The islands whose status now is not their status as designed (Taiping
/// Island lives on satellite by design: that is not news), worst first.
pub fn islands_affected(
    now: &[crate::resilience::IslandFigures],
    designed: &[crate::resilience::IslandFigures],
    links: &[crate::resilience::Link],
) -> Vec<IslandStatus> {
    use crate::resilience::Node;
    let mut out: Vec<IslandStatus> = now
        .iter()
        .filter(|f| {
            designed
                .iter()
                .find(|d| d.region == f.region)
                .is_none_or(|d| d.status != f.status)
        })
        .map(|f| {
            let n = Node::Region(f.region);
            let mut down: Vec<String> = links
                .iter()
                .filter(|l| (l.a == n || l.b == n) && l.available_mbps < l.design_mbps)
                .map(|l| l.id.clone())
                .collect();
            down.sort();
            down.dedup();
            IslandStatus {
                region: f.region.id().to_string(),
                status: f.status,
                capacity_gbps: f.capacity_gbps,
                demand_gbps: f.demand_gbps,
                coverage: f.coverage,
                down,
            }
        })
        .collect();
    out.sort_by(|a, b| {
        a.status
            .cmp(&b.status)
            .then(
                a.coverage
                    .unwrap_or(f64::INFINITY)
                    .total_cmp(&b.coverage.unwrap_or(f64::INFINITY)),
            )
            .then(a.region.cmp(&b.region))
    });
    out
}

/// Everything the duty-watch board shows.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Board {
    /// The log position the board was read at.
    pub seq: i64,
    /// Count of cables in each state, in [`CableState`] order.
    pub cables: Vec<(CableState, usize)>,
    /// Active faults per kind.
    pub faults: Vec<(FaultKind, usize)>,
    pub islands: Vec<IslandStatus>,
    /// Unacknowledged alerts, newest first.
    pub alerts: Vec<Alert>,
    /// The newest events, newest first.
    pub events: Vec<Event>,
}

pub const CABLE_STATES: [CableState; 4] = [
    CableState::Cut,
    CableState::Degraded,
    CableState::Maintenance,
    CableState::InService,
];

/// Counts of cables by state, every state listed (zero included).
pub fn count_states(states: &[CableState]) -> Vec<(CableState, usize)> {
    CABLE_STATES
        .into_iter()
        .map(|s| (s, states.iter().filter(|x| **x == s).count()))
        .collect()
}

/// Active faults per kind, every kind listed.
pub fn count_faults(faults: &[Fault]) -> Vec<(FaultKind, usize)> {
    FaultKind::ALL
        .into_iter()
        .map(|k| {
            (
                k,
                faults
                    .iter()
                    .filter(|f| f.kind == k && f.status.is_active())
                    .count(),
            )
        })
        .collect()
}

/// The one-line summary stored with an alert.
pub fn summary(kind: AlertKind, before: Option<&Fault>, after: &Fault) -> String {
    let eta = |f: &Fault| {
        let s = f.eta.to_iso();
        if s.is_empty() {
            "unknown".to_string()
        } else {
            s
        }
    };
    match kind {
        AlertKind::NewFault | AlertKind::CableCut => {
            format!("{}: {}", after.cable, after.description)
        }
        AlertKind::EtaLater => format!(
            "{}: ETA {} → {}",
            after.cable,
            before.map(eta).unwrap_or_default(),
            eta(after)
        ),
        AlertKind::Restored => format!("{}: restored ({})", after.cable, after.description),
        _ => after.cable.clone(),
    }
}

/// An island alert's line: the island, what happened, and its figures.
pub fn island_summary(kind: AlertKind, f: &crate::resilience::IslandFigures) -> String {
    let what = match kind {
        AlertKind::IslandOnBackup => "on backup: no cable capacity",
        AlertKind::IslandShort => "short of its peak demand",
        AlertKind::IslandIsolated => "isolated: nothing can be carried",
        AlertKind::IslandRecovered => "back on a cable",
        _ => "changed",
    };
    let demand = match (f.demand_gbps, f.coverage) {
        (Some(d), Some(c)) => format!(" of {d:.1} Gbps demand ({:.0} %)", c * 100.0),
        _ => String::new(),
    };
    format!(
        "{}: {what} — {:.1} Gbps{demand}",
        f.region.name_en(),
        f.capacity_gbps
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fault::{Chainage, FaultStatus};

    #[test]
    fn an_island_alerts_going_onto_backup_short_or_isolated_and_back() {
        use crate::resilience::Status::*;
        assert_eq!(
            island_alert(Degraded, OnBackup),
            Some(AlertKind::IslandOnBackup)
        );
        assert_eq!(island_alert(OnBackup, Short), Some(AlertKind::IslandShort));
        assert_eq!(
            island_alert(Short, Isolated),
            Some(AlertKind::IslandIsolated)
        );
        assert_eq!(
            island_alert(Isolated, Degraded),
            Some(AlertKind::IslandRecovered)
        );
        assert_eq!(
            island_alert(OnBackup, Normal),
            Some(AlertKind::IslandRecovered)
        );
        assert_eq!(island_alert(Normal, Degraded), None);
        assert_eq!(island_alert(Degraded, Normal), None);
        assert_eq!(island_alert(Short, Short), None);
        assert_eq!(island_alert(NoFigures, Normal), None);
    }
    use crate::roc::Eta;
    use chrono::NaiveDate;

    fn fault(kind: FaultKind, status: FaultStatus, eta: Option<NaiveDate>) -> Fault {
        Fault {
            id: 1,
            cable: "TDM2".into(),
            detected_on: NaiveDate::from_ymd_opt(2026, 2, 1),
            kind,
            description: "cut".into(),
            chainage: Chainage {
                place: "新北八里".into(),
                station: None,
                km: 10.0,
            },
            alternate_routes: vec![],
            eta: eta.map(Eta::day).unwrap_or(Eta::UNKNOWN),
            status,
            restored_on: None,
            notes: String::new(),
            capacity_lost_pct: None,
            provenance: "test".into(),
            version: 1,
        }
    }

    fn d(m: u32, day: u32) -> Option<NaiveDate> {
        NaiveDate::from_ymd_opt(2026, m, day)
    }

    #[test]
    fn a_new_cut_on_a_whole_cable_raises_new_fault_and_cable_cut() {
        let f = fault(FaultKind::Cut, FaultStatus::Open, None);
        assert_eq!(
            alerts_for(None, &f, false),
            vec![AlertKind::NewFault, AlertKind::CableCut]
        );
        // The cable was already cut by another fault: it does not become cut.
        assert_eq!(alerts_for(None, &f, true), vec![AlertKind::NewFault]);
    }

    #[test]
    fn partial_damage_becoming_a_cut_raises_cable_cut() {
        let b = fault(FaultKind::PartialDamage, FaultStatus::Open, d(3, 1));
        let a = fault(FaultKind::Cut, FaultStatus::Open, d(3, 1));
        assert_eq!(alerts_for(Some(&b), &a, false), vec![AlertKind::CableCut]);
    }

    #[test]
    fn an_eta_moved_later_or_to_unknown_alerts_but_earlier_does_not() {
        let b = fault(FaultKind::Cut, FaultStatus::RepairScheduled, d(3, 1));
        let later = fault(FaultKind::Cut, FaultStatus::RepairScheduled, d(3, 20));
        let earlier = fault(FaultKind::Cut, FaultStatus::RepairScheduled, d(2, 20));
        let unknown = fault(FaultKind::Cut, FaultStatus::RepairScheduled, None);
        assert_eq!(
            alerts_for(Some(&b), &later, true),
            vec![AlertKind::EtaLater]
        );
        assert!(alerts_for(Some(&b), &earlier, true).is_empty());
        assert_eq!(
            alerts_for(Some(&b), &unknown, true),
            vec![AlertKind::EtaLater]
        );
    }

    #[test]
    fn restoring_alerts_once_and_history_raises_nothing() {
        let b = fault(FaultKind::Cut, FaultStatus::Repairing, d(3, 1));
        let a = fault(FaultKind::Cut, FaultStatus::Restored, d(3, 1));
        assert_eq!(alerts_for(Some(&b), &a, false), vec![AlertKind::Restored]);
        assert!(alerts_for(Some(&a), &a, false).is_empty());
        assert!(alerts_for(None, &a, false).is_empty());
    }

    #[test]
    fn alert_kinds_round_trip_their_names() {
        for k in AlertKind::ALL {
            assert_eq!(AlertKind::parse(k.as_str()), Some(k));
            assert_eq!(
                serde_json::to_value(k).ok(),
                Some(serde_json::Value::String(k.as_str().into()))
            );
        }
    }

    #[test]
    fn islands_affected_are_those_off_their_design_worst_first() {
        use crate::resilience::{
            as_designed, island_statuses, Link, LinkKind, Node, Region, Status,
        };
        let l = |id: &str, kind, a, b, mbps: u64, now: u64| Link {
            id: id.into(),
            label: id.into(),
            kind,
            a,
            b,
            design_mbps: mbps,
            available_mbps: now,
            estimate: false,
        };
        let (m, t, w) = (
            Node::Region(Region::Matsu),
            Node::Region(Region::Taiwan),
            Node::International,
        );
        let k = Node::Region(Region::Kinmen);
        let p = Node::Region(Region::TaipingIsland);
        let links = vec![
            l("TDM2", LinkKind::Cable, m, t, 655_000, 0),
            l("TDM3", LinkKind::Cable, m, t, 655_000, 0),
            l("asset:1", LinkKind::Microwave, m, t, 12_600, 12_600),
            l("TK2", LinkKind::Cable, k, t, 655_000, 300_000),
            l("satellite:taiping", LinkKind::Satellite, p, w, 25, 25),
            l("SJC2", LinkKind::Cable, t, w, 144_000_000, 144_000_000),
        ];
        let demand = [(Region::Matsu, 9_500), (Region::Kinmen, 20_000)].into();
        let now = island_statuses(&links, &demand);
        let designed = island_statuses(&as_designed(&links), &demand);
        let affected = islands_affected(&now, &designed, &links);
        let got: Vec<(&str, Status)> = affected
            .iter()
            .map(|i| (i.region.as_str(), i.status))
            .collect();
        // Taiping Island is on satellite by design: not listed.
        assert_eq!(
            got,
            vec![("matsu", Status::OnBackup), ("kinmen", Status::Degraded)]
        );
        assert_eq!(
            affected[0].down,
            vec!["TDM2".to_string(), "TDM3".to_string()]
        );
        assert!(islands_affected(&designed, &designed, &as_designed(&links)).is_empty());
    }

    #[test]
    fn counts_list_every_state_and_kind() {
        let c = count_states(&[CableState::Cut, CableState::Cut, CableState::InService]);
        assert_eq!(c.len(), 4);
        assert_eq!(c[0], (CableState::Cut, 2));
        let f = [
            fault(FaultKind::Cut, FaultStatus::Open, None),
            fault(FaultKind::Cut, FaultStatus::Restored, None),
        ];
        assert!(count_faults(&f).contains(&(FaultKind::Cut, 1)));
    }
}
