//! The state at a past moment, rebuilt from the event log: a pure fold.
//!
//! Every fault, maintenance, repair, ship-state and asset write stores the whole record it leaves
//! behind as its event's `after`, so the state at a moment is, per record,
//! the `after` of its last event at or before that moment. A record with no
//! event by then did not exist yet (before the first import: no faults).

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, FixedOffset, NaiveDate, NaiveDateTime, TimeZone, Utc};
use serde::de::DeserializeOwned;

use crate::assets::Asset;
use crate::event::{kind, Event};
use crate::fault::Fault;
use crate::maintenance::Maintenance;
use crate::notice::MaintenanceLine;
use crate::repair::{Repair, ShipState};

/// Asia/Taipei: UTC+8 all year (no daylight saving).
fn taipei_offset() -> FixedOffset {
    FixedOffset::east_opt(8 * 3600).unwrap_or_else(|| unreachable!("+08:00 is a valid offset"))
}

/// Reads `?as_of=`: a Taipei local time (`2026-02-14T09:00`, with or without
/// seconds, or a date alone for the end of that day), or an RFC 3339 moment
/// with its own offset (`2026-02-14T01:00:00Z`).
pub fn parse_as_of(s: &str) -> Result<DateTime<Utc>, String> {
    let s = s.trim();
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Ok(t.with_timezone(&Utc));
    }
    let local = ["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M"]
        .iter()
        .find_map(|f| NaiveDateTime::parse_from_str(s, f).ok())
        .or_else(|| {
            NaiveDate::parse_from_str(s, "%Y-%m-%d")
                .ok()
                .and_then(|d| d.and_hms_opt(23, 59, 59))
        });
    let Some(local) = local else {
        return Err(format!(
            "as_of must be a Taipei time like 2026-02-14T09:00 (or a date, or RFC 3339), not {s:?}"
        ));
    };
    taipei_offset()
        .from_local_datetime(&local)
        .single()
        .map(|t| t.with_timezone(&Utc))
        .ok_or_else(|| format!("as_of {s:?} is not a moment in Taipei"))
}

/// The moment in Taipei as a banner shows it: `2026-02-14 09:00`.
pub fn taipei_minute(at: &DateTime<Utc>) -> String {
    at.with_timezone(&taipei_offset())
        .format("%Y-%m-%d %H:%M")
        .to_string()
}

/// The day it was in Taipei at that moment.
pub fn taipei_day(at: &DateTime<Utc>) -> NaiveDate {
    at.with_timezone(&taipei_offset()).date_naive()
}

/// The same moment as `?as_of=` and a `datetime-local` input write it.
pub fn as_of_param(at: &DateTime<Utc>) -> String {
    at.with_timezone(&taipei_offset())
        .format("%Y-%m-%dT%H:%M")
        .to_string()
}

/// Faults, planned maintenance, repair stages and ship states as they
/// stood at a moment.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct State {
    pub faults: BTreeMap<i64, Fault>,
    pub maintenance: BTreeMap<i64, Maintenance>,
    /// By fault id.
    pub repairs: BTreeMap<i64, Repair>,
    /// By ship (asset) id: its state and that state's version.
    pub ships: BTreeMap<i64, (ShipState, i64)>,
    /// Backup assets by id (each create or edit stores the whole asset).
    pub assets: BTreeMap<i64, Asset>,
}

/// A ship state event's `after`: `{"state": "sheltering", "version": 3}`.
#[derive(serde::Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
struct ShipAfter {
    state: String,
    version: i64,
}

fn ship(e: &Event) -> Result<(ShipState, i64), String> {
    let a: ShipAfter = snapshot(e)?;
    let state = ShipState::parse(&a.state).ok_or_else(|| {
        format!(
            "event {} ({}): unknown ship state {:?}",
            e.seq, e.kind, a.state
        )
    })?;
    Ok((state, a.version))
}

impl State {
    /// The faults, in the order the fault list shows them (detection date, then id).
    pub fn fault_list(&self, open_only: bool) -> Vec<Fault> {
        let mut v: Vec<Fault> = self
            .faults
            .values()
            .filter(|f| !open_only || f.status.is_active())
            .cloned()
            .collect();
        v.sort_by_key(|f| (f.detected_on, f.id));
        v
    }

    /// The planned maintenance not completed at that moment, as the notice
    /// lists it.
    pub fn open_maintenance(&self) -> Vec<MaintenanceLine> {
        self.maintenance
            .values()
            .filter(|m| m.status != "completed")
            .map(|m| m.line.clone())
            .collect()
    }

    /// Applies one event, in log order (what [`state_at`] does for the last
    /// event of each record only). Events of other kinds are ignored.
    pub fn apply(&mut self, e: &Event) -> Result<(), String> {
        match Record::of(e) {
            Some(Record::Fault(id)) => {
                self.faults.insert(id, snapshot(e)?);
            }
            Some(Record::Maintenance(id)) => {
                self.maintenance.insert(id, maintenance(id, e)?);
            }
            Some(Record::Repair(id)) => {
                self.repairs.insert(id, snapshot(e)?);
            }
            Some(Record::Ship(id)) => {
                self.ships.insert(id, ship(e)?);
            }
            Some(Record::Asset(id)) => {
                self.assets.insert(id, snapshot(e)?);
            }
            None => {}
        }
        Ok(())
    }
}

/// Which record an event leaves a whole copy of.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Record {
    Fault(i64),
    Maintenance(i64),
    Repair(i64),
    Ship(i64),
    Asset(i64),
}

impl Record {
    fn of(e: &Event) -> Option<Self> {
        let id = e.entity_id.parse::<i64>().ok()?;
        match (e.entity_type.as_str(), e.kind.as_str()) {
            ("fault", kind::FAULT_REPORTED | kind::FAULT_UPDATED | kind::FAULT_RESTORED) => {
                Some(Self::Fault(id))
            }
            ("maintenance", kind::MAINTENANCE_RECORDED | kind::MAINTENANCE_UPDATED) => {
                Some(Self::Maintenance(id))
            }
            ("fault", kind::REPAIR_UPDATED) => Some(Self::Repair(id)),
            ("asset", kind::SHIP_UPDATED) => Some(Self::Ship(id)),
            ("asset", kind::ASSET_CREATED | kind::ASSET_UPDATED) => Some(Self::Asset(id)),
            _ => None,
        }
    }
}

fn snapshot<T: DeserializeOwned>(e: &Event) -> Result<T, String> {
    let after = e
        .after
        .clone()
        .ok_or_else(|| format!("event {} ({}) has no record after it", e.seq, e.kind))?;
    serde_json::from_value(after).map_err(|err| format!("event {} ({}): {err}", e.seq, e.kind))
}

/// A maintenance record: its first event stores the line alone (planned,
/// version 1), later ones the whole record.
fn maintenance(id: i64, e: &Event) -> Result<Maintenance, String> {
    if e.kind == kind::MAINTENANCE_RECORDED {
        let line: MaintenanceLine = snapshot(e)?;
        Ok(Maintenance {
            id,
            line,
            status: "planned".into(),
            completed_on: None,
            version: 1,
        })
    } else {
        snapshot(e)
    }
}

/// The event kinds the fold reads (the server selects only these).
pub const KINDS: [&str; 9] = [
    kind::FAULT_REPORTED,
    kind::FAULT_UPDATED,
    kind::FAULT_RESTORED,
    kind::MAINTENANCE_RECORDED,
    kind::MAINTENANCE_UPDATED,
    kind::REPAIR_UPDATED,
    kind::SHIP_UPDATED,
    kind::ASSET_CREATED,
    kind::ASSET_UPDATED,
];

/// The state at `at` from `events` in log order: for each record, the
/// `after` of its last event at or before `at` (only those are decoded, so
/// a long log costs one pass and one decode per record).
pub fn state_at(events: &[Event], at: DateTime<Utc>) -> Result<State, String> {
    let mut last: HashMap<Record, &Event> = HashMap::new();
    for e in events.iter().filter(|e| e.at <= at) {
        if let Some(r) = Record::of(e) {
            last.insert(r, e);
        }
    }
    let mut state = State::default();
    for (r, e) in last {
        match r {
            Record::Fault(id) => {
                state.faults.insert(id, snapshot(e)?);
            }
            Record::Maintenance(id) => {
                state.maintenance.insert(id, maintenance(id, e)?);
            }
            Record::Repair(id) => {
                state.repairs.insert(id, snapshot(e)?);
            }
            Record::Ship(id) => {
                state.ships.insert(id, ship(e)?);
            }
            Record::Asset(id) => {
                state.assets.insert(id, snapshot(e)?);
            }
        }
    }
    Ok(state)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fault::{Chainage, FaultKind, FaultStatus};
    use crate::roc::Eta;
    use proptest::prelude::*;

    fn fault(id: i64, version: i64, status: FaultStatus) -> Fault {
        Fault {
            id,
            cable: format!("C{id}"),
            detected_on: NaiveDate::from_ymd_opt(2026, 1, 1 + (id % 28) as u32),
            kind: FaultKind::Cut,
            description: String::new(),
            chainage: Chainage {
                place: "馬祖".into(),
                station: None,
                km: version as f64,
            },
            alternate_routes: vec![],
            eta: Eta::default(),
            status,
            restored_on: None,
            notes: format!("v{version}"),
            capacity_lost_pct: None,
            provenance: "test".into(),
            version,
        }
    }

    fn event(seq: i64, minute: i64, f: &Fault) -> Event {
        Event {
            seq,
            at: Utc
                .with_ymd_and_hms(2026, 2, 1, 0, 0, 0)
                .single()
                .expect("t")
                + chrono::Duration::minutes(minute),
            actor: "test".into(),
            kind: if f.version == 1 {
                kind::FAULT_REPORTED
            } else {
                kind::FAULT_UPDATED
            }
            .into(),
            entity_type: "fault".into(),
            entity_id: f.id.to_string(),
            before: None,
            after: serde_json::to_value(f).ok(),
        }
    }

    #[test]
    fn as_of_reads_taipei_times_dates_and_rfc3339() {
        let t = |s| parse_as_of(s).map(|t| t.to_rfc3339());
        assert_eq!(
            t("2026-02-14T09:00"),
            Ok("2026-02-14T01:00:00+00:00".into())
        );
        assert_eq!(
            t("2026-02-14 09:00"),
            Ok("2026-02-14T01:00:00+00:00".into())
        );
        assert_eq!(t("2026-02-14"), Ok("2026-02-14T15:59:59+00:00".into()));
        assert_eq!(
            t("2026-02-14T01:00:00Z"),
            Ok("2026-02-14T01:00:00+00:00".into())
        );
        assert!(parse_as_of("yesterday").is_err());
        assert!(parse_as_of("2026-02-30T09:00").is_err());
        let at = parse_as_of("2026-02-14T09:05").expect("t");
        assert_eq!(taipei_minute(&at), "2026-02-14 09:05");
        assert_eq!(as_of_param(&at), "2026-02-14T09:05");
    }

    #[test]
    fn before_the_first_event_there_is_nothing_and_later_events_replace_earlier() {
        let evs = vec![
            event(1, 0, &fault(1, 1, FaultStatus::Open)),
            event(2, 10, &fault(2, 1, FaultStatus::Open)),
            event(3, 20, &fault(1, 2, FaultStatus::Restored)),
        ];
        let base = evs[0].at;
        let at = |m| base + chrono::Duration::minutes(m);
        assert!(state_at(&evs, at(-1)).expect("fold").faults.is_empty());
        let s = state_at(&evs, at(15)).expect("fold");
        assert_eq!(s.faults.len(), 2);
        assert_eq!(s.faults[&1].version, 1);
        assert_eq!(s.fault_list(true).len(), 2);
        let s = state_at(&evs, at(20)).expect("fold");
        assert_eq!(s.faults[&1].version, 2, "an event at the moment counts");
        assert_eq!(
            s.fault_list(true).len(),
            1,
            "the restored fault is not open"
        );
        assert_eq!(s.fault_list(false).len(), 2);
    }

    #[test]
    fn repair_stages_and_ship_states_are_folded_too() {
        let f = fault(1, 1, FaultStatus::Open);
        let mut evs = vec![event(1, 0, &f)];
        let repair = Repair {
            fault_id: 1,
            stage: crate::repair::Stage::ShipBooked,
            stage_on: NaiveDate::from_ymd_opt(2026, 2, 2).expect("d"),
            ship_id: Some(9),
            booked_on: NaiveDate::from_ymd_opt(2026, 2, 2),
            version: 1,
        };
        let mut r = event(2, 5, &f);
        r.kind = kind::REPAIR_UPDATED.into();
        r.after = serde_json::to_value(&repair).ok();
        let mut s = event(3, 6, &f);
        s.kind = kind::SHIP_UPDATED.into();
        s.entity_type = "asset".into();
        s.entity_id = "9".into();
        s.after = Some(serde_json::json!({"state": "sheltering", "version": 2}));
        evs.extend([r, s]);
        let at = evs[2].at;
        let state = state_at(&evs, at).expect("fold");
        assert_eq!(state.repairs.get(&1), Some(&repair));
        assert_eq!(state.ships.get(&9), Some(&(ShipState::Sheltering, 2)));
        assert_eq!(
            state.faults[&1].version, 1,
            "a repair event leaves the fault alone"
        );
        let before = state_at(&evs, at - chrono::Duration::minutes(1)).expect("fold");
        assert!(before.ships.is_empty());
    }

    #[test]
    fn a_damaged_snapshot_is_named_not_skipped() {
        let mut e = event(7, 0, &fault(1, 1, FaultStatus::Open));
        e.after = Some(serde_json::json!({"id": "not a fault"}));
        let at = e.at;
        let err = state_at(&[e], at).expect_err("refused");
        assert!(err.contains("event 7"), "{err}");
    }

    proptest! {
        /// The one-decode-per-record fold equals applying every event in
        /// order, at every moment.
        #[test]
        fn the_fold_equals_replaying_every_event(
            writes in proptest::collection::vec((0i64..6, 0i64..3), 0..60),
            cut in 0i64..70,
        ) {
            let mut versions: HashMap<i64, i64> = HashMap::new();
            let mut evs = Vec::new();
            for (seq, (id, status)) in writes.iter().enumerate() {
                let v = versions.entry(*id).or_insert(0);
                *v += 1;
                let status = [FaultStatus::Open, FaultStatus::Repairing, FaultStatus::Restored][*status as usize];
                evs.push(event(seq as i64 + 1, seq as i64, &fault(*id, *v, status)));
            }
            let at = Utc.with_ymd_and_hms(2026, 2, 1, 0, 0, 0).single().expect("t")
                + chrono::Duration::minutes(cut);
            let mut replayed = State::default();
            for e in evs.iter().filter(|e| e.at <= at) {
                replayed.apply(e).expect("apply");
            }
            prop_assert_eq!(state_at(&evs, at).expect("fold"), replayed);
        }
    }
}
