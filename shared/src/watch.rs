//! The duty watch: which changes raise an alert, which islands are affected,
//! and the board a wall screen shows. Pure: the server stores alerts when a
//! fault event is written, the board is computed from the current state.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::event::Event;
use crate::fault::{Fault, FaultKind, FaultStatus};
use crate::map::CableState;
use crate::reference::{Cable, CableKind, Station};

/// Why the watch is alerted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
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
}

impl AlertKind {
    pub const ALL: [AlertKind; 4] = [
        Self::NewFault,
        Self::CableCut,
        Self::EtaLater,
        Self::Restored,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::NewFault => "new_fault",
            Self::CableCut => "cable_cut",
            Self::EtaLater => "eta_later",
            Self::Restored => "restored",
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

/// One alert, as the watch sees it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Alert {
    pub id: i64,
    /// The event that raised it.
    pub seq: i64,
    pub kind: AlertKind,
    pub fault_id: i64,
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

/// An outlying island group and the domestic cables that reach it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IslandStatus {
    /// Region id of the stations: penghu, kinmen, matsu, xiaoliuqiu.
    pub region: String,
    pub cables: Vec<String>,
    /// Those cut or degraded.
    pub down: Vec<String>,
    /// Every cable that reaches it is cut: it lives on microwave and satellite.
    pub cut_off: bool,
}

/// The island groups (regions other than the main island) whose domestic
/// cables are cut or degraded, most affected first.
pub fn islands_affected(
    cables: &[Cable],
    stations: &[Station],
    state_of: impl Fn(&str) -> CableState,
) -> Vec<IslandStatus> {
    let region = |sid: &str| {
        stations
            .iter()
            .find(|s| s.id == sid)
            .map(|s| s.region.as_str())
    };
    let mut islands: Vec<IslandStatus> = Vec::new();
    for c in cables.iter().filter(|c| c.kind == CableKind::Domestic) {
        let mut regions: Vec<&str> = c
            .landings
            .iter()
            .chain(&c.far_ends)
            .filter_map(|s| region(s))
            .filter(|r| *r != "taiwan")
            .collect();
        regions.sort_unstable();
        regions.dedup();
        for r in regions {
            let i = match islands.iter().position(|i| i.region == r) {
                Some(i) => i,
                None => {
                    islands.push(IslandStatus {
                        region: r.to_string(),
                        cables: Vec::new(),
                        down: Vec::new(),
                        cut_off: false,
                    });
                    islands.len() - 1
                }
            };
            islands[i].cables.push(c.abbrev.clone());
            if matches!(state_of(&c.abbrev), CableState::Cut | CableState::Degraded) {
                islands[i].down.push(c.abbrev.clone());
            }
        }
    }
    for i in &mut islands {
        i.cut_off = !i.cables.is_empty() && i.cables.iter().all(|c| state_of(c) == CableState::Cut);
    }
    islands.retain(|i| !i.down.is_empty());
    islands.sort_by(|a, b| {
        b.cut_off
            .cmp(&a.cut_off)
            .then(b.down.len().cmp(&a.down.len()))
            .then(a.region.cmp(&b.region))
    });
    islands
}

/// Everything the duty-watch board shows.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
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
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fault::{Chainage, FaultStatus};
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
    fn matsu_is_cut_off_only_when_every_cable_to_it_is_cut() {
        let cables = crate::reference::cables().unwrap_or_default();
        let stations = crate::reference::stations().unwrap_or_default();
        assert!(!cables.is_empty() && !stations.is_empty());
        let matsu: Vec<String> = islands_affected(&cables, &stations, |_| CableState::Cut)
            .into_iter()
            .find(|i| i.region == "matsu")
            .map(|i| i.cables)
            .unwrap_or_default();
        assert!(
            matsu.len() >= 2,
            "Matsu is reached by TDM2 and TDM3: {matsu:?}"
        );
        let one = matsu[0].clone();
        let islands = islands_affected(&cables, &stations, |c| {
            if c == one {
                CableState::Cut
            } else {
                CableState::InService
            }
        });
        let m = islands.iter().find(|i| i.region == "matsu");
        assert!(m.is_some_and(|m| !m.cut_off && m.down == vec![one.clone()]));
        let all_cut = islands_affected(&cables, &stations, |c| {
            if matsu.iter().any(|m| m == c) {
                CableState::Cut
            } else {
                CableState::InService
            }
        });
        assert!(all_cut.iter().any(|i| i.region == "matsu" && i.cut_off));
        assert!(islands_affected(&cables, &stations, |_| CableState::InService).is_empty());
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
