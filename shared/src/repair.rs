//! Repair operations (pure): a fault's estimated-repair-date history, read
//! from its events. Every change of the ETA, from a notice or an edit, is
//! already an event with before and after; this reads them back as a
//! timeline and says how far the date has slipped.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::event::{kind, Event};
use crate::roc::Eta;

/// One estimated repair date a fault carried, from when and from whom.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EtaRevision {
    pub at: DateTime<Utc>,
    /// Who set it: `user:NAME` (an edit or a notice import), `system:demo`.
    pub source: String,
    pub eta: Eta,
}

fn eta_of(v: Option<&serde_json::Value>) -> Option<Eta> {
    serde_json::from_value(v?.get("eta")?.clone()).ok()
}

/// The fault's ETAs, oldest first: the one it was reported with, then each
/// change (an event whose ETA differs from the one before it).
pub fn eta_history(events: &[Event]) -> Vec<EtaRevision> {
    let mut out: Vec<EtaRevision> = Vec::new();
    let mut events: Vec<&Event> = events
        .iter()
        .filter(|e| {
            e.entity_type == "fault"
                && [
                    kind::FAULT_REPORTED,
                    kind::FAULT_UPDATED,
                    kind::FAULT_RESTORED,
                ]
                .contains(&e.kind.as_str())
        })
        .collect();
    events.sort_by_key(|e| e.seq);
    for e in events {
        let Some(eta) = eta_of(e.after.as_ref()) else {
            continue;
        };
        if out.last().is_some_and(|r| r.eta == eta) {
            continue;
        }
        out.push(EtaRevision {
            at: e.at,
            source: e.actor.clone(),
            eta,
        });
    }
    out
}

/// How many days the ETA has moved, latest against first (later is
/// positive); `None` unless both have a date.
pub fn slip_days(history: &[EtaRevision]) -> Option<i64> {
    let first = history.first()?.eta.latest_day()?;
    let last = history.last()?.eta.latest_day()?;
    Some((last - first).num_days())
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{NaiveDate, TimeZone};
    use serde_json::json;

    fn ev(seq: i64, kind: &str, actor: &str, eta: Option<serde_json::Value>) -> Event {
        Event {
            seq,
            at: Utc
                .with_ymd_and_hms(2026, 1, seq as u32, 8, 0, 0)
                .single()
                .unwrap_or_default(),
            actor: actor.into(),
            kind: kind.into(),
            entity_type: "fault".into(),
            entity_id: "7".into(),
            before: None,
            after: eta.map(|e| json!({ "eta": e, "notes": "" })),
        }
    }

    fn day(y: i32, m: u32, d: u32) -> serde_json::Value {
        json!({ "date": format!("{y:04}-{m:02}-{d:02}"), "precision": "day" })
    }

    #[test]
    fn the_history_lists_each_change_of_date_and_the_slip() {
        let events = vec![
            ev(
                1,
                kind::FAULT_REPORTED,
                "user:officer",
                Some(day(2026, 2, 27)),
            ),
            // An edit of the notes only: the same date, no revision.
            ev(
                2,
                kind::FAULT_UPDATED,
                "user:officer",
                Some(day(2026, 2, 27)),
            ),
            ev(
                3,
                kind::FAULT_UPDATED,
                "user:import",
                Some(json!({ "date": "2026-04-01", "precision": "month" })),
            ),
            ev(4, kind::ALERT_ACKNOWLEDGED, "user:watch", None),
            ev(
                5,
                kind::FAULT_UPDATED,
                "user:officer",
                Some(json!({ "date": null, "precision": "unknown" })),
            ),
            ev(
                6,
                kind::FAULT_UPDATED,
                "user:officer",
                Some(day(2026, 5, 3)),
            ),
        ];
        let h = eta_history(&events);
        let sources: Vec<&str> = h.iter().map(|r| r.source.as_str()).collect();
        assert_eq!(
            sources,
            [
                "user:officer",
                "user:import",
                "user:officer",
                "user:officer"
            ]
        );
        assert_eq!(h[1].eta.latest_day(), NaiveDate::from_ymd_opt(2026, 4, 30));
        // 2026-02-27 → 2026-05-03: 65 days later.
        assert_eq!(slip_days(&h), Some(65));
        assert_eq!(slip_days(&h[..1]), Some(0));
        assert_eq!(slip_days(&h[..3]), None, "the latest is unknown");
        assert_eq!(slip_days(&[]), None);
    }
}
