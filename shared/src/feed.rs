//! The public alert feeds (Atom and CAP 1.2): what an alert says to the
//! public. Pure: the server reads the alerts and faults and writes the XML.
//!
//! An item is *sanitised* by construction: it is built from the fields the
//! ministry's public notice carries (cable, kind, detection date, "N km from
//! place", alternate routes, estimated repair date, status) and an island's
//! figures, never from a fault's notes, its provenance (which names the
//! officer) or the actor of any event. An item of an exercise says so in its
//! title, its status (`Exercise`) and its note.

use chrono::{DateTime, FixedOffset, Utc};
use serde::{Deserialize, Serialize};

use crate::fault::{Fault, FaultKind, FaultStatus};
use crate::reference::{Cable, Station};
use crate::resilience::Region;
use crate::watch::{Alert, AlertKind};

/// How many alerts a feed lists, newest first.
pub const FEED_LEN: usize = 100;

/// The banner every exercise item carries (the same words as the screens).
pub const EXERCISE_MARK: &str = "演習 EXERCISE — not real";

/// CAP's `status`: a real alert, or one of an exercise.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(as = FeedStatus))]
pub enum Status {
    Actual,
    Exercise,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Actual => "Actual",
            Self::Exercise => "Exercise",
        }
    }
}

/// CAP's `severity`, `urgency` and `certainty`, and whether the item is an
/// all-clear.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Grading {
    pub severity: &'static str,
    pub urgency: &'static str,
    pub certainty: &'static str,
    pub all_clear: bool,
}

/// How serious an alert kind is, in CAP's words: a cut cable or an
/// isolated island is severe; an island short or on backup moderate; a
/// partial fault or a later repair date minor; a restoration all clear.
pub fn grading(kind: AlertKind) -> Grading {
    let g = |severity, urgency, all_clear| Grading {
        severity,
        urgency,
        certainty: "Observed",
        all_clear,
    };
    match kind {
        AlertKind::CableCut | AlertKind::IslandIsolated => g("Severe", "Immediate", false),
        AlertKind::IslandShort | AlertKind::IslandOnBackup => g("Moderate", "Immediate", false),
        AlertKind::NewFault | AlertKind::EtaLater | AlertKind::RepairStalled => {
            g("Minor", "Expected", false)
        }
        AlertKind::ShipSheltering => g("Minor", "Expected", false),
        AlertKind::Restored | AlertKind::IslandRecovered => g("Minor", "Past", true),
    }
}

/// The kind as the public reads it.
pub fn kind_label(kind: AlertKind) -> &'static str {
    match kind {
        AlertKind::NewFault => "Subsea cable fault",
        AlertKind::CableCut => "Subsea cable cut",
        AlertKind::EtaLater => "Repair date later",
        AlertKind::Restored => "Subsea cable restored",
        AlertKind::IslandOnBackup => "Island on backup links",
        AlertKind::IslandShort => "Island short of capacity",
        AlertKind::IslandIsolated => "Island cut off",
        AlertKind::IslandRecovered => "Island back on a cable",
        AlertKind::ShipSheltering => "Repair ship sheltering",
        AlertKind::RepairStalled => "Repair stalled",
    }
}

/// Which alert kinds the public feeds carry: faults, restorations and
/// islands. Ship movements and stalled repairs are the watch's business.
pub fn is_public(kind: AlertKind) -> bool {
    !matches!(kind, AlertKind::ShipSheltering | AlertKind::RepairStalled)
}

/// The area an item is about: its words and, for an island, a circle.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Area {
    pub desc: String,
    /// `(lat, lon, radius_km)`.
    pub circle: Option<(f64, f64, f64)>,
}

/// One public item.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Item {
    /// The alert it comes from (negative in an exercise's layer).
    pub alert_id: i64,
    /// The exercise it belongs to, if any.
    pub exercise: Option<(i64, String)>,
    pub kind: AlertKind,
    pub sent: DateTime<Utc>,
    /// One line: the kind and what it is about.
    pub headline: String,
    /// The public facts, one per line.
    pub description: String,
    /// What carries the traffic meanwhile (the alternate routes), if known.
    pub instruction: Option<String>,
    pub cable: Option<String>,
    /// The islands it concerns.
    pub regions: Vec<Region>,
    pub area: Area,
}

impl Item {
    pub fn status(&self) -> Status {
        if self.exercise.is_some() {
            Status::Exercise
        } else {
            Status::Actual
        }
    }

    /// CAP's `identifier` and the file name of the item's CAP document: no
    /// spaces, commas or markup (CAP 1.2 §3.2.1).
    pub fn identifier(&self) -> String {
        match &self.exercise {
            None => format!("cablewatch-alert-{}", self.alert_id),
            Some((ex, _)) => format!(
                "cablewatch-exercise-{ex}-alert-{}",
                self.alert_id.unsigned_abs()
            ),
        }
    }

    /// The title an Atom entry shows: marked when it is an exercise.
    pub fn title(&self) -> String {
        match &self.exercise {
            None => self.headline.clone(),
            Some(_) => format!("{EXERCISE_MARK}: {}", self.headline),
        }
    }

    /// CAP's `note`: why an exercise item exists.
    pub fn note(&self) -> Option<String> {
        self.exercise
            .as_ref()
            .map(|(id, name)| format!("{EXERCISE_MARK}. Exercise {id}: {name}"))
    }
}

/// Taipei time, as CAP wants it (`2026-02-14T08:00:00+08:00`: an offset,
/// never `Z`, and whole seconds).
pub fn cap_time(t: DateTime<Utc>) -> String {
    let taipei = FixedOffset::east_opt(8 * 3600).unwrap_or_else(|| unreachable!("+08:00"));
    t.with_timezone(&taipei)
        .format("%Y-%m-%dT%H:%M:%S%:z")
        .to_string()
}

/// The island regions a cable joins (its landings and far ends).
pub fn cable_regions(cable: &str, cables: &[Cable], stations: &[Station]) -> Vec<Region> {
    cables
        .iter()
        .find(|c| c.abbrev == cable)
        .map(|c| crate::resilience::network::cable_regions(c, stations))
        .unwrap_or_default()
}

fn fault_lines(f: &Fault) -> Vec<String> {
    let kind = match f.kind {
        FaultKind::Cut => "cut",
        FaultKind::PartialDamage => "partial damage",
        FaultKind::Other => "fault",
    };
    let mut lines = vec![format!("Cable: {} ({kind})", f.cable)];
    if !f.description.trim().is_empty() {
        lines.push(format!("Notice wording: {}", f.description.trim()));
    }
    if let Some(d) = f.detected_on {
        lines.push(format!("Detected: {d}"));
    }
    if !f.chainage.place.trim().is_empty() {
        lines.push(format!(
            "Where: {} km from {}",
            f.chainage.km,
            f.chainage.place.trim()
        ));
    }
    let status = match f.status {
        FaultStatus::Open => "open",
        FaultStatus::RepairScheduled => "repair scheduled",
        FaultStatus::Repairing => "repairing",
        FaultStatus::Restored => "restored",
        FaultStatus::Closed => "closed",
    };
    lines.push(format!("Status: {status}"));
    match (f.status, f.restored_on) {
        (FaultStatus::Restored, Some(d)) => lines.push(format!("Restored: {d}")),
        _ => {
            let eta = f.eta.to_iso();
            lines.push(format!(
                "Estimated repair: {}",
                if eta.is_empty() { "unknown" } else { &eta }
            ));
        }
    }
    lines
}

fn routes(f: &Fault) -> Option<String> {
    let labels: Vec<&str> = f
        .alternate_routes
        .iter()
        .map(|r| r.label().trim())
        .filter(|l| !l.is_empty())
        .collect();
    (!labels.is_empty()).then(|| format!("Traffic carried meanwhile by: {}", labels.join(", ")))
}

/// What the item is built from besides the alert.
pub struct Sources<'a> {
    pub faults: &'a [Fault],
    pub cables: &'a [Cable],
    pub stations: &'a [Station],
}

/// The public item of one alert, if the public feeds carry its kind. A
/// fault alert whose fault is not in `faults` keeps its one-line summary.
pub fn item(alert: &Alert, src: &Sources, exercise: Option<(i64, String)>) -> Option<Item> {
    if !is_public(alert.kind) {
        return None;
    }
    item_of_any(alert, src, exercise)
}

/// The item of any alert, whatever its kind (a subscription may ask for
/// ship and stall alerts, which the public feeds leave out). `None` only for
/// an island alert naming no known island.
pub fn item_of_any(alert: &Alert, src: &Sources, exercise: Option<(i64, String)>) -> Option<Item> {
    let label = kind_label(alert.kind);
    let (description, instruction, cable, regions, area) = match &alert.region {
        Some(r) => {
            let region = Region::parse(r)?;
            let (lon, lat) = region.center();
            (
                format!(
                    "{}\nCapacity figures are estimates (cablewatch's resilience model).",
                    alert.summary
                ),
                None,
                None,
                vec![region],
                Area {
                    desc: format!("{} {}", region.name_en(), region.name_zh()),
                    circle: Some((lat, lon, 30.0)),
                },
            )
        }
        None => {
            let fault = alert
                .fault_id
                .and_then(|id| src.faults.iter().find(|f| f.id == id));
            let regions = cable_regions(&alert.cable, src.cables, src.stations);
            let desc = match fault {
                Some(f) => fault_lines(f).join("\n"),
                None => alert.summary.clone(),
            };
            let names: Vec<&str> = regions.iter().map(|r| r.name_en()).collect();
            let area = if names.is_empty() {
                format!("{} cable", alert.cable)
            } else {
                format!("{} cable: {}", alert.cable, names.join(", "))
            };
            (
                desc,
                fault.and_then(routes),
                Some(alert.cable.clone()),
                regions,
                Area {
                    desc: area,
                    circle: None,
                },
            )
        }
    };
    Some(Item {
        alert_id: alert.id,
        exercise,
        kind: alert.kind,
        sent: alert.raised_at,
        headline: format!("{label}: {}", alert.summary),
        description,
        instruction,
        cable,
        regions,
        area,
    })
}

/// The feed's items: the public ones among `alerts`, newest first, only
/// those about `region` when one is named, at most [`FEED_LEN`].
pub fn items(
    alerts: &[Alert],
    src: &Sources,
    exercise: Option<(i64, String)>,
    region: Option<Region>,
) -> Vec<Item> {
    let mut out: Vec<Item> = alerts
        .iter()
        .filter_map(|a| item(a, src, exercise.clone()))
        .filter(|i| region.is_none_or(|r| i.regions.contains(&r)))
        .collect();
    newest_first(&mut out);
    out
}

/// Orders items newest first (the higher alert id first at the same
/// moment) and keeps the first [`FEED_LEN`].
pub fn newest_first(items: &mut Vec<Item>) {
    items.sort_by(|a, b| b.sent.cmp(&a.sent).then(b.alert_id.cmp(&a.alert_id)));
    items.truncate(FEED_LEN);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fault::{AlternateRoute, Chainage};
    use crate::roc::Eta;
    use chrono::TimeZone;

    fn fault() -> Fault {
        Fault {
            id: 7,
            cable: "TK2".into(),
            detected_on: chrono::NaiveDate::from_ymd_opt(2026, 2, 1),
            kind: FaultKind::Cut,
            description: "斷纜".into(),
            chainage: Chainage {
                place: "金門".into(),
                station: None,
                km: 12.5,
            },
            alternate_routes: vec![AlternateRoute::Text {
                text: "微波".into(),
            }],
            eta: Eta::UNKNOWN,
            status: FaultStatus::Open,
            restored_on: None,
            notes: "SECRET internal note".into(),
            capacity_lost_pct: None,
            provenance: "officer alice".into(),
            version: 1,
        }
    }

    fn alert(kind: AlertKind) -> Alert {
        Alert {
            id: 3,
            seq: 10,
            kind,
            fault_id: Some(7),
            region: None,
            cable: "TK2".into(),
            summary: "TK2: 斷纜".into(),
            raised_at: Utc
                .with_ymd_and_hms(2026, 2, 1, 1, 2, 3)
                .single()
                .expect("a time"),
            acked_by: Some("user:bob".into()),
            acked_at: None,
        }
    }

    fn src<'a>(faults: &'a [Fault], cables: &'a [Cable], stations: &'a [Station]) -> Sources<'a> {
        Sources {
            faults,
            cables,
            stations,
        }
    }

    #[test]
    fn an_item_carries_the_public_facts_and_never_notes_or_names() {
        let faults = [fault()];
        let cables = crate::reference::cables().expect("test value");
        let stations = crate::reference::stations().expect("test value");
        let i = item(
            &alert(AlertKind::CableCut),
            &src(&faults, &cables, &stations),
            None,
        )
        .expect("test value");
        let all = serde_json::to_string(&i).expect("test value");
        assert!(!all.contains("SECRET"), "{all}");
        assert!(!all.contains("alice") && !all.contains("bob"), "{all}");
        assert!(
            i.description.contains("12.5 km from 金門"),
            "{}",
            i.description
        );
        assert!(i.description.contains("Estimated repair: unknown"));
        assert_eq!(
            i.instruction.as_deref(),
            Some("Traffic carried meanwhile by: 微波")
        );
        assert_eq!(i.status(), Status::Actual);
        assert!(i.regions.contains(&Region::Kinmen), "{:?}", i.regions);
        assert_eq!(grading(i.kind).severity, "Severe");
    }

    #[test]
    fn an_exercise_item_says_so_everywhere_a_reader_looks() {
        let i = item(
            &Alert {
                id: -2,
                ..alert(AlertKind::NewFault)
            },
            &src(&[], &[], &[]),
            Some((4, "Winter drill".into())),
        )
        .expect("test value");
        assert_eq!(i.status(), Status::Exercise);
        assert!(i.title().starts_with(EXERCISE_MARK));
        assert!(i.note().expect("test value").contains("Winter drill"));
        assert_eq!(i.identifier(), "cablewatch-exercise-4-alert-2");
    }

    #[test]
    fn cap_times_are_taipei_with_an_offset_and_whole_seconds() {
        let t = Utc
            .with_ymd_and_hms(2026, 2, 1, 17, 2, 3)
            .single()
            .expect("a time")
            + chrono::Duration::microseconds(123_456);
        assert_eq!(cap_time(t), "2026-02-02T01:02:03+08:00");
    }

    #[test]
    fn the_feed_is_newest_first_public_kinds_only_and_filtered_by_island() {
        let faults = [fault()];
        let cables = crate::reference::cables().expect("test value");
        let stations = crate::reference::stations().expect("test value");
        let mut a = alert(AlertKind::NewFault);
        let mut b = alert(AlertKind::ShipSheltering);
        b.id = 4;
        let mut c = Alert {
            id: 5,
            fault_id: None,
            region: Some("matsu".into()),
            cable: String::new(),
            summary: "Matsu: short".into(),
            ..alert(AlertKind::IslandShort)
        };
        c.raised_at += chrono::Duration::hours(1);
        a.raised_at -= chrono::Duration::hours(1);
        let s = src(&faults, &cables, &stations);
        let all = items(&[a.clone(), b, c.clone()], &s, None, None);
        assert_eq!(
            all.iter().map(|i| i.alert_id).collect::<Vec<_>>(),
            vec![5, 3]
        );
        let matsu = items(&[a, c], &s, None, Some(Region::Matsu));
        assert_eq!(matsu.len(), 1);
        assert_eq!(matsu[0].area.circle.map(|c| c.2), Some(30.0));
    }
}
