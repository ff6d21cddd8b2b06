//! Exercises (演習): a layer of events tagged with an exercise, folded over
//! reality and never into it.
//!
//! An admin schedules an exercise (name, start, end, and a script of
//! injects: faults logged or changed at minutes from the start). While it
//! runs, writes that name it (the `Cablewatch-Exercise` header, or the
//! officer's switch into it) go to the exercise's own events, not to the
//! log: real views never read them. A view "in" an exercise is reality with
//! the layer laid over it ([`Layer::overlay_faults`]): a record the exercise
//! wrote replaces the real one of the same id, and records the exercise
//! created carry negative ids, so they never meet a real one.

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

use crate::assets::Asset;
use crate::event::Event;
use crate::fault::{Fault, FaultForm, FieldError};
use crate::watch::Alert;

/// The request header a write names its exercise with.
pub const HEADER: &str = "Cablewatch-Exercise";
/// The cookie an officer's switch into an exercise sets (the web UI).
pub const COOKIE: &str = "cablewatch_exercise";
/// The query parameter a read names its exercise with.
pub const PARAM: &str = "exercise";
/// The longest exercise: two weeks.
pub const MAX_DAYS: i64 = 14;
/// The most injects a script may hold.
pub const MAX_INJECTS: usize = 200;
/// The longest exercise name, in characters.
pub const MAX_NAME: usize = 120;
/// How often a server looks for injects that are due.
pub const INJECT_CHECK: std::time::Duration = std::time::Duration::from_secs(5);
/// The entity type of an exercise's own real event (`exercise.created`).
pub const ENTITY: &str = "exercise";

/// Event kinds only an exercise layer holds.
pub mod kind {
    pub const CREATED: &str = "exercise.created";
    pub const ALERT_RAISED: &str = "alert.raised";
}

/// One step of an exercise's script: at `at_minute` from the start, log the
/// fault in `fault` (or, with `updates`, change the fault inject number
/// `updates` logged, to `fault`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(default)]
pub struct Inject {
    pub at_minute: i64,
    /// The index of an earlier inject whose fault this one changes.
    pub updates: Option<usize>,
    pub fault: FaultForm,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Exercise {
    pub id: i64,
    pub name: String,
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
    pub injects: Vec<Inject>,
    /// `user:NAME` of the admin who scheduled it.
    pub created_by: String,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Phase {
    Scheduled,
    Running,
    Ended,
}

impl Phase {
    pub fn as_str(self) -> &'static str {
        match self {
            Phase::Scheduled => "scheduled",
            Phase::Running => "running",
            Phase::Ended => "ended",
        }
    }
}

impl Exercise {
    pub fn phase(&self, now: DateTime<Utc>) -> Phase {
        if now < self.starts_at {
            Phase::Scheduled
        } else if now < self.ends_at {
            Phase::Running
        } else {
            Phase::Ended
        }
    }

    /// When inject `i` is due.
    pub fn due_at(&self, i: usize) -> Option<DateTime<Utc>> {
        // Checked: a script's minute is input, and may be absurd.
        let j = self.injects.get(i)?;
        self.starts_at
            .checked_add_signed(Duration::try_minutes(j.at_minute)?)
    }

    /// The injects due by `now` (and before the end) that `played` does not
    /// hold, in script order.
    pub fn due(&self, now: DateTime<Utc>, played: &[usize]) -> Vec<usize> {
        (0..self.injects.len())
            .filter(|i| !played.contains(i))
            .filter(|&i| self.due_at(i).is_some_and(|t| t <= now && t < self.ends_at))
            .collect()
    }
}

/// What an admin sends to schedule an exercise. Times are Taipei local
/// (`2026-12-04T09:00`) or RFC 3339.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(default)]
pub struct ExerciseForm {
    pub name: String,
    pub starts_at: String,
    pub ends_at: String,
    pub injects: Vec<Inject>,
}

/// A checked [`ExerciseForm`].
#[derive(Debug, Clone, PartialEq)]
pub struct ExerciseDraft {
    pub name: String,
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
    pub injects: Vec<Inject>,
}

fn moment(field: &str, s: &str, out: &mut Vec<FieldError>) -> Option<DateTime<Utc>> {
    if s.trim().is_empty() {
        out.push(FieldError::new(field, "required", "required"));
        return None;
    }
    // A date alone would mean its last second: not a start anyone means.
    if s.trim().len() <= 10 {
        out.push(FieldError::new(
            field,
            "bad_time",
            format!("{field} must be a Taipei time like 2026-12-04T09:00, not {s:?}"),
        ));
        return None;
    }
    match crate::history::parse_as_of(s) {
        Ok(t) => Some(t),
        Err(_) => {
            out.push(FieldError::new(
                field,
                "bad_time",
                format!("{field} must be a Taipei time like 2026-12-04T09:00, not {s:?}"),
            ));
            None
        }
    }
}

impl ExerciseForm {
    /// Checks every field and names every bad one. The injects' fault forms
    /// are checked by the caller, who holds the cable list.
    pub fn validate(&self, now: DateTime<Utc>) -> Result<ExerciseDraft, Vec<FieldError>> {
        let mut errs = Vec::new();
        let name = self.name.trim();
        if name.is_empty() {
            errs.push(FieldError::new("name", "required", "name an exercise"));
        } else if name.chars().count() > MAX_NAME {
            errs.push(FieldError::new(
                "name",
                "too_long",
                format!("at most {MAX_NAME} characters"),
            ));
        } else if name.chars().any(char::is_control) {
            errs.push(FieldError::new(
                "name",
                "control_character",
                "a name is one line without control characters",
            ));
        }
        let starts = moment("starts_at", &self.starts_at, &mut errs);
        let ends = moment("ends_at", &self.ends_at, &mut errs);
        if let (Some(s), Some(e)) = (starts, ends) {
            if e <= s {
                errs.push(FieldError::new(
                    "ends_at",
                    "before_start",
                    "an exercise ends after it starts",
                ));
            } else if e - s > Duration::days(MAX_DAYS) {
                errs.push(FieldError::new(
                    "ends_at",
                    "too_long",
                    format!("an exercise lasts at most {MAX_DAYS} days"),
                ));
            }
            if e <= now {
                errs.push(FieldError::new(
                    "ends_at",
                    "in_the_past",
                    "this exercise would already be over",
                ));
            }
        }
        if self.injects.len() > MAX_INJECTS {
            errs.push(FieldError::new(
                "injects",
                "too_many",
                format!("at most {MAX_INJECTS} injects"),
            ));
        }
        let minutes = match (starts, ends) {
            (Some(s), Some(e)) if e > s => (e - s).num_minutes(),
            _ => i64::MAX,
        };
        for (i, j) in self.injects.iter().enumerate() {
            let field = format!("injects[{i}].at_minute");
            if j.at_minute < 0 || j.at_minute >= minutes {
                errs.push(FieldError::new(
                    &field,
                    "outside",
                    "an inject falls between the start and the end",
                ));
            }
            if let Some(u) = j.updates {
                let target = self.injects.get(u).filter(|_| u < i);
                match target {
                    None => errs.push(FieldError::new(
                        &format!("injects[{i}].updates"),
                        "no_such_inject",
                        format!("inject {i} can change only an earlier inject, not {u}"),
                    )),
                    Some(t) if t.updates.is_some() => errs.push(FieldError::new(
                        &format!("injects[{i}].updates"),
                        "not_a_new_fault",
                        format!("inject {u} changes a fault; name the inject that logged it"),
                    )),
                    Some(t) if t.at_minute > j.at_minute => errs.push(FieldError::new(
                        &format!("injects[{i}].at_minute"),
                        "before_its_fault",
                        format!("inject {i} comes before the fault it changes (inject {u})"),
                    )),
                    Some(_) => {}
                }
            }
        }
        if !errs.is_empty() {
            return Err(errs);
        }
        match (starts, ends) {
            (Some(starts_at), Some(ends_at)) => Ok(ExerciseDraft {
                name: name.to_string(),
                starts_at,
                ends_at,
                injects: self.injects.clone(),
            }),
            _ => Err(errs),
        }
    }
}

/// The after of an `alert.acknowledged` event.
#[derive(Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
struct Acked {
    acked_by: String,
    acked_at: DateTime<Utc>,
}

/// An exercise's layer: the records its events leave, and the events.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Layer {
    pub faults: BTreeMap<i64, Fault>,
    pub alerts: BTreeMap<i64, Alert>,
    pub assets: BTreeMap<i64, Asset>,
    /// Which script injects have been played.
    pub played: Vec<usize>,
    /// The layer's events, in order.
    pub events: Vec<LayerEvent>,
}

/// One event of a layer: an [`Event`] and the script inject it played.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LayerEvent {
    #[serde(flatten)]
    pub event: Event,
    pub inject: Option<usize>,
}

fn after<T: serde::de::DeserializeOwned>(e: &Event) -> Result<T, String> {
    let v = e
        .after
        .clone()
        .ok_or_else(|| format!("exercise event {} has no after", e.seq))?;
    serde_json::from_value(v).map_err(|err| format!("exercise event {}: {err}", e.seq))
}

fn entity_id(e: &Event) -> Result<i64, String> {
    e.entity_id
        .parse()
        .map_err(|_| format!("exercise event {} names no id", e.seq))
}

impl Layer {
    /// Folds an exercise's events, in order.
    pub fn fold(events: Vec<LayerEvent>) -> Result<Layer, String> {
        let mut l = Layer::default();
        for le in &events {
            let e = &le.event;
            match (e.entity_type.as_str(), e.kind.as_str()) {
                ("fault", _) => {
                    l.faults.insert(entity_id(e)?, after(e)?);
                }
                ("alert", kind::ALERT_RAISED) => {
                    l.alerts.insert(entity_id(e)?, after(e)?);
                }
                ("alert", crate::event::kind::ALERT_ACKNOWLEDGED) => {
                    let a: Acked = after(e)?;
                    if let Some(alert) = l.alerts.get_mut(&entity_id(e)?) {
                        alert.acked_by = Some(a.acked_by);
                        alert.acked_at = Some(a.acked_at);
                    }
                }
                ("asset", _) => {
                    l.assets.insert(entity_id(e)?, after(e)?);
                }
                _ => {}
            }
            if let Some(i) = le.inject {
                l.played.push(i);
            }
        }
        l.events = events;
        Ok(l)
    }

    /// The faults in the exercise: reality with the layer's records laid
    /// over it, open ones unless `all`, in the real list's order.
    pub fn overlay_faults(&self, real: Vec<Fault>, all: bool) -> Vec<Fault> {
        let mut by_id: BTreeMap<i64, Fault> = real.into_iter().map(|f| (f.id, f)).collect();
        for (id, f) in &self.faults {
            by_id.insert(*id, f.clone());
        }
        let mut v: Vec<Fault> = by_id
            .into_values()
            .filter(|f| all || f.status.is_active())
            .collect();
        v.sort_by_key(|f| (f.detected_on, f.id));
        v
    }

    /// The assets in the exercise: reality with the states the exercise
    /// recorded laid over it, in the real list's order.
    pub fn overlay_assets(&self, real: Vec<Asset>) -> Vec<Asset> {
        real.into_iter()
            .map(|a| self.assets.get(&a.id).cloned().unwrap_or(a))
            .collect()
    }

    /// The id the next fault the exercise logs gets: below every one it has.
    pub fn next_fault_id(&self) -> i64 {
        self.faults.keys().next().map_or(-1, |&k| k.min(0) - 1)
    }

    /// The id the next alert the exercise raises gets.
    pub fn next_alert_id(&self) -> i64 {
        self.alerts.keys().next().map_or(-1, |&k| k.min(0) - 1)
    }

    /// The fault inject `i` logged, if it has been played.
    pub fn fault_of_inject(&self, i: usize) -> Option<i64> {
        self.events
            .iter()
            .find(|e| e.inject == Some(i) && e.event.entity_type == "fault")
            .and_then(|e| e.event.entity_id.parse().ok())
    }

    /// The exercise's alerts, newest first: the open ones, or all.
    pub fn alert_list(&self, open_only: bool) -> Vec<Alert> {
        let mut v: Vec<Alert> = self
            .alerts
            .values()
            .filter(|a| !open_only || a.is_open())
            .cloned()
            .collect();
        v.sort_by(|a, b| b.raised_at.cmp(&a.raised_at).then(a.id.cmp(&b.id)));
        v
    }
}

/// What one line of an exercise's report is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(as = ExerciseStep))]
#[serde(rename_all = "snake_case")]
pub enum Step {
    /// The script played an inject.
    Inject,
    /// An alert was raised.
    Alert,
    /// Someone acknowledged an alert.
    Acknowledged,
    /// Someone logged or changed a fault.
    Fault,
    /// Someone recorded a backup asset's state.
    Backup,
}

impl Step {
    pub fn as_str(self) -> &'static str {
        match self {
            Step::Inject => "inject",
            Step::Alert => "alert",
            Step::Acknowledged => "acknowledged",
            Step::Fault => "fault",
            Step::Backup => "backup",
        }
    }
}

/// One line of the report's timeline.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ReportLine {
    pub at: DateTime<Utc>,
    /// Minutes from the exercise's start.
    pub minute: i64,
    pub step: Step,
    pub what: String,
    /// Who did it (`exercise script` for an inject, `system` for an alert).
    pub by: String,
    /// For a response: seconds since what it answered (an acknowledgement:
    /// since its alert was raised; a fault change or a backup recorded:
    /// since the last inject before it).
    pub response_seconds: Option<i64>,
}

/// An exercise's report: its timeline and how fast the watch answered.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(as = ExerciseReport))]
pub struct Report {
    pub exercise: Exercise,
    pub phase: Phase,
    pub lines: Vec<ReportLine>,
    pub injects_played: usize,
    pub alerts: usize,
    pub acknowledged: usize,
    /// Median seconds from an alert to its acknowledgement.
    pub median_ack_seconds: Option<i64>,
    /// The slowest acknowledgement, in seconds.
    pub max_ack_seconds: Option<i64>,
    pub backups_recorded: usize,
}

fn median(mut v: Vec<i64>) -> Option<i64> {
    if v.is_empty() {
        return None;
    }
    v.sort_unstable();
    let n = v.len();
    Some(if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2
    })
}

/// The report of an exercise from its layer.
pub fn report(ex: &Exercise, layer: &Layer, now: DateTime<Utc>) -> Report {
    let mut lines = Vec::new();
    let mut last_inject: Option<DateTime<Utc>> = None;
    let mut raised: BTreeMap<i64, DateTime<Utc>> = BTreeMap::new();
    let mut ack_secs = Vec::new();
    let mut backups = 0;
    for le in &layer.events {
        let e = &le.event;
        let minute = (e.at - ex.starts_at).num_minutes();
        let mut line = |step: Step, what: String, by: String, response: Option<i64>| {
            lines.push(ReportLine {
                at: e.at,
                minute,
                step,
                what,
                by,
                response_seconds: response,
            })
        };
        let fault_line = || {
            after::<Fault>(e)
                .map(|f| {
                    format!(
                        "#{} {} {}: {}",
                        f.id,
                        f.cable,
                        f.status.as_str(),
                        f.description
                    )
                })
                .unwrap_or_else(|_| format!("fault {}", e.entity_id))
        };
        let since_inject = last_inject.map(|t| (e.at - t).num_seconds());
        match (le.inject, e.entity_type.as_str(), e.kind.as_str()) {
            (Some(i), _, _) => {
                last_inject = Some(e.at);
                line(
                    Step::Inject,
                    format!("inject {i}: {}", fault_line()),
                    "exercise script".into(),
                    None,
                );
            }
            (None, "alert", kind::ALERT_RAISED) => {
                if let (Ok(id), Ok(a)) = (entity_id(e), after::<Alert>(e)) {
                    raised.insert(id, e.at);
                    line(
                        Step::Alert,
                        format!("alert {}: {}", a.kind.as_str(), a.summary),
                        "system".into(),
                        None,
                    );
                }
            }
            (None, "alert", crate::event::kind::ALERT_ACKNOWLEDGED) => {
                let secs = entity_id(e)
                    .ok()
                    .and_then(|id| raised.get(&id))
                    .map(|t| (e.at - *t).num_seconds());
                if let Some(s) = secs {
                    ack_secs.push(s);
                }
                line(
                    Step::Acknowledged,
                    format!("alert {} acknowledged", e.entity_id),
                    e.actor.clone(),
                    secs,
                );
            }
            (None, "fault", _) => line(Step::Fault, fault_line(), e.actor.clone(), since_inject),
            (None, "asset", _) => {
                backups += 1;
                let what = after::<Asset>(e)
                    .map(|a| {
                        format!(
                            "{} ({}): {}",
                            a.draft.name,
                            a.draft.kind.as_str(),
                            a.draft.status.as_str()
                        )
                    })
                    .unwrap_or_else(|_| format!("asset {}", e.entity_id));
                line(Step::Backup, what, e.actor.clone(), since_inject);
            }
            _ => {}
        }
    }
    Report {
        phase: ex.phase(now),
        injects_played: layer.played.len(),
        alerts: raised.len(),
        acknowledged: ack_secs.len(),
        max_ack_seconds: ack_secs.iter().copied().max(),
        median_ack_seconds: median(ack_secs),
        backups_recorded: backups,
        exercise: ex.clone(),
        lines,
    }
}

fn csv_cell(s: &str) -> String {
    // A cell a spreadsheet would run as a formula is quoted as text.
    let s = if s.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{s}")
    } else {
        s.to_string()
    };
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s
    }
}

/// The report's timeline as CSV (RFC 4180), marked as an exercise in its
/// first line.
pub fn report_csv(r: &Report) -> String {
    let mut out = format!(
        "# EXERCISE {} — not real: {}\r\nat,minute,step,what,by,response_seconds\r\n",
        r.exercise.id,
        csv_cell(&r.exercise.name)
    );
    for l in &r.lines {
        out.push_str(&format!(
            "{},{},{},{},{},{}\r\n",
            l.at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            l.minute,
            l.step.as_str(),
            csv_cell(&l.what),
            csv_cell(&l.by),
            l.response_seconds
                .map(|s| s.to_string())
                .unwrap_or_default()
        ));
    }
    out
}

/// The exercise a request is in: the server puts it in the request's
/// extensions (`server::in_exercise`), and every handler or server function
/// that knows exercises reads it there.
#[derive(Debug, Clone, PartialEq)]
pub struct InExercise(pub Exercise);

/// What a screen in an exercise shows of it (the banner and its links).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Context {
    pub id: i64,
    pub name: String,
    pub phase: Phase,
    /// A kiosk link made for the exercise: the screen cannot leave it.
    #[serde(default)]
    pub bound: bool,
}

impl Context {
    pub fn of(ex: &Exercise, now: DateTime<Utc>) -> Self {
        Self {
            id: ex.id,
            name: ex.name.clone(),
            phase: ex.phase(now),
            bound: false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn t(h: u32, m: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 12, 4, h, m, 0)
            .single()
            .unwrap_or_default()
    }

    fn form() -> ExerciseForm {
        ExerciseForm {
            name: "Matsu drill".into(),
            starts_at: "2026-12-04T09:00".into(),
            ends_at: "2026-12-04T12:00".into(),
            injects: vec![
                Inject {
                    at_minute: 5,
                    updates: None,
                    fault: FaultForm::default(),
                },
                Inject {
                    at_minute: 30,
                    updates: Some(0),
                    fault: FaultForm::default(),
                },
            ],
        }
    }

    #[test]
    fn an_absurd_inject_minute_is_named_not_a_panic() {
        let mut f = form();
        f.injects[0].at_minute = i64::MAX;
        f.injects[1].at_minute = i64::MIN;
        let errs = f.validate(t(8, 0)).err().unwrap_or_default();
        assert!(
            errs.iter().any(|e| e.field == "injects[0].at_minute"),
            "{errs:?}"
        );
        let ex = Exercise {
            id: 1,
            name: "x".into(),
            starts_at: t(9, 0),
            ends_at: t(12, 0),
            injects: f.injects.clone(),
            created_by: "user:a".into(),
            created_at: t(8, 0),
        };
        assert_eq!(ex.due_at(0), None);
        assert_eq!(ex.due_at(1), None);
        assert!(ex.due(t(11, 0), &[]).is_empty());
    }

    #[test]
    fn a_good_form_is_taken_in_taipei_time() {
        let d = form().validate(t(0, 0)).unwrap_or_else(|e| panic!("{e:?}"));
        assert_eq!(d.starts_at, t(1, 0));
        assert_eq!(d.ends_at, t(4, 0));
    }

    #[test]
    fn every_bad_field_is_named() {
        let mut f = form();
        f.name = " ".into();
        f.ends_at = "2026-12-04T08:00".into();
        f.injects[1].updates = Some(1);
        let errs = f.validate(t(0, 0)).err().unwrap_or_default();
        let fields: Vec<_> = errs.iter().map(|e| e.field.as_str()).collect();
        assert!(fields.contains(&"name"), "{fields:?}");
        assert!(fields.contains(&"ends_at"), "{fields:?}");
        assert!(fields.contains(&"injects[1].updates"), "{fields:?}");
        let mut g = form();
        g.starts_at = "2026-12-04".into();
        g.injects[0].at_minute = 400;
        let errs = g.validate(t(0, 0)).err().unwrap_or_default();
        let fields: Vec<_> = errs.iter().map(|e| e.field.as_str()).collect();
        // Without a start, no inject is outside; inject 1 still comes
        // before the fault it changes.
        assert_eq!(fields, vec!["starts_at", "injects[1].at_minute"]);
        let mut h = form();
        h.injects[0].at_minute = 180;
        let errs = h.validate(t(0, 0)).err().unwrap_or_default();
        assert!(errs.iter().any(|e| e.field == "injects[0].at_minute"));
        // Over before it is made.
        assert!(form().validate(t(5, 0)).is_err());
    }

    #[test]
    fn phases_and_due_injects() {
        let d = form().validate(t(0, 0)).unwrap_or_else(|e| panic!("{e:?}"));
        let ex = Exercise {
            id: 1,
            name: d.name,
            starts_at: d.starts_at,
            ends_at: d.ends_at,
            injects: d.injects,
            created_by: "user:admin".into(),
            created_at: t(0, 0),
        };
        assert_eq!(ex.phase(t(0, 59)), Phase::Scheduled);
        assert_eq!(ex.phase(t(1, 0)), Phase::Running);
        assert_eq!(ex.phase(t(4, 0)), Phase::Ended);
        assert!(ex.due(t(1, 4), &[]).is_empty());
        assert_eq!(ex.due(t(1, 5), &[]), vec![0]);
        assert_eq!(ex.due(t(1, 40), &[0]), vec![1]);
        assert!(ex.due(t(1, 40), &[0, 1]).is_empty());
    }

    #[test]
    fn csv_cells_cannot_become_formulas() {
        assert_eq!(csv_cell("=1+1"), "'=1+1");
        assert_eq!(csv_cell("a,b"), "\"a,b\"");
        assert_eq!(csv_cell("say \"hi\""), "\"say \"\"hi\"\"\"");
    }

    #[test]
    fn ids_of_exercise_records_stay_below_zero() {
        let mut l = Layer::default();
        assert_eq!(l.next_fault_id(), -1);
        assert_eq!(l.next_alert_id(), -1);
        let f: Fault = serde_json::from_value(serde_json::json!({
            "id": -1, "cable": "TPKM-2", "detected_on": "2026-12-04", "kind": "cut",
            "description": "cut", "chainage": {"place": "", "station": null, "km": 0.0},
            "alternate_routes": [], "eta": {"precision": "unknown", "date": null},
            "status": "open", "restored_on": null, "notes": "", "provenance": "x", "version": 1
        }))
        .unwrap_or_else(|e| panic!("{e}"));
        l.faults.insert(-1, f);
        assert_eq!(l.next_fault_id(), -2);
    }

    #[test]
    fn median_of_even_and_odd() {
        assert_eq!(median(vec![]), None);
        assert_eq!(median(vec![3, 1, 2]), Some(2));
        assert_eq!(median(vec![4, 1, 2, 3]), Some(2));
    }
}
