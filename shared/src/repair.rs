//! Repair operations (pure): a fault's estimated-repair-date history, read
//! from its events (every change of the ETA, from a notice or an edit, is
//! already an event with before and after), how far the date has slipped,
//! and a repair-time model that gives P10/P50/P90 days to restoration from
//! the public repair cases (`data/repair-history.csv`) and, once a ship is
//! booked, from the parts of a repair. Every assumption is an estimate
//! ([`assume`]).

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use crate::event::{kind, Event};
use crate::roc::Eta;

/// One estimated repair date a fault carried, from when and from whom.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
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

/// A public repair case (`data/repair-history.csv`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Case {
    pub cable: String,
    pub fault_on: NaiveDate,
    pub days: f64,
    pub international: bool,
    pub notes: String,
    pub source: String,
}

const HISTORY_CSV: &str = include_str!("../data/repair-history.csv");

/// The public repair cases (parsed once: the model is calibrated on them
/// for every page that shows an estimate).
pub fn history() -> &'static [Case] {
    static CASES: std::sync::LazyLock<Vec<Case>> = std::sync::LazyLock::new(parse_history);
    &CASES
}

fn parse_history() -> Vec<Case> {
    let mut rdr = csv::ReaderBuilder::new()
        .comment(Some(b'#'))
        .from_reader(HISTORY_CSV.as_bytes());
    rdr.records()
        .filter_map(Result::ok)
        .filter_map(|r| {
            let get = |i: usize| r.get(i).unwrap_or("").trim();
            Some(Case {
                cable: get(0).to_string(),
                fault_on: NaiveDate::parse_from_str(get(1), "%Y-%m-%d").ok()?,
                days: get(3).parse().ok()?,
                international: get(4) == "international",
                notes: get(6).to_string(),
                source: get(7).to_string(),
            })
        })
        .collect()
}

fn std_normal() -> statrs::distribution::Normal {
    use statrs::distribution::Normal;
    // Mean 0 and deviation 1 are valid parameters.
    Normal::new(0.0, 1.0).unwrap_or_else(|_| Normal::standard())
}

use statrs::distribution::ContinuousCDF;

/// The standard normal's 10th and 90th percentiles are ∓ this.
const Z90: f64 = 1.281_551_565_544_600_4;

/// A log-normal distribution of days: `ln(days)` is normal (`mu`, `sigma`).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LogNormal {
    pub mu: f64,
    pub sigma: f64,
}

impl LogNormal {
    /// Fitted to durations (their logs' mean and sample deviation).
    pub fn fit(days: &[f64]) -> LogNormal {
        let logs: Vec<f64> = days.iter().filter(|d| **d > 0.0).map(|d| d.ln()).collect();
        let n = logs.len().max(1) as f64;
        let mu = logs.iter().sum::<f64>() / n;
        let var = logs.iter().map(|l| (l - mu).powi(2)).sum::<f64>() / (n - 1.0).max(1.0);
        LogNormal {
            mu,
            sigma: var.sqrt(),
        }
    }

    /// From a median and the ratio of the 90th percentile to it.
    pub fn from_median(median: f64, p90_over_median: f64) -> LogNormal {
        LogNormal {
            mu: median.max(1e-9).ln(),
            sigma: p90_over_median.max(1.0).ln() / Z90,
        }
    }

    pub fn mean(&self) -> f64 {
        (self.mu + self.sigma * self.sigma / 2.0).exp()
    }

    pub fn variance(&self) -> f64 {
        let s2 = self.sigma * self.sigma;
        (s2.exp() - 1.0) * (2.0 * self.mu + s2).exp()
    }

    /// The log-normal with this mean and variance (Fenton-Wilkinson: a sum
    /// of independent log-normals approximated by one with its moments).
    pub fn from_moments(mean: f64, variance: f64) -> LogNormal {
        let mean = mean.max(1e-9);
        let s2 = (1.0 + variance.max(0.0) / (mean * mean)).ln();
        LogNormal {
            mu: mean.ln() - s2 / 2.0,
            sigma: s2.sqrt(),
        }
    }

    /// The `p` quantile (0 < p < 1).
    pub fn quantile(&self, p: f64) -> f64 {
        (self.mu + self.sigma * std_normal().inverse_cdf(p)).exp()
    }

    /// P(days ≤ x).
    pub fn cdf(&self, x: f64) -> f64 {
        if x <= 0.0 {
            return 0.0;
        }
        if self.sigma <= 0.0 {
            return if x.ln() >= self.mu { 1.0 } else { 0.0 };
        }
        std_normal().cdf((x.ln() - self.mu) / self.sigma)
    }

    /// The `p` quantile of the days given that more than `age` have passed:
    /// a fault still open after `age` days is not restored before it.
    pub fn quantile_beyond(&self, age: f64, p: f64) -> f64 {
        let f = self.cdf(age);
        if f <= 0.0 {
            return self.quantile(p);
        }
        // Far in the tail (f ≈ 1) the quantile is the age itself, give or take.
        let q = (f + p * (1.0 - f)).min(1.0 - 1e-12);
        self.quantile(q).max(age)
    }

    pub fn p10(&self) -> f64 {
        (self.mu - Z90 * self.sigma).exp()
    }

    pub fn p50(&self) -> f64 {
        self.mu.exp()
    }

    pub fn p90(&self) -> f64 {
        (self.mu + Z90 * self.sigma).exp()
    }
}

/// The ship a fault is booked on, as far as the estimate needs it.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Booking {
    /// Faults ahead of this one in the ship's queue.
    pub queue_ahead: u32,
    /// Great-circle distance from the ship to the fault's pin.
    pub distance_km: f64,
    /// Days from booking to sailing (Cable Retriever: 1).
    pub mobilisation_days: f64,
}

/// What the estimate of one open fault rests on.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Situation {
    pub kind: crate::fault::FaultKind,
    pub international: bool,
    /// The month the repair falls in (1-12): October to March is the
    /// north-east monsoon.
    pub month: u32,
    pub booking: Option<Booking>,
    /// Days the fault has been open so far (0 for a fault not yet open).
    pub age_days: f64,
}

/// The model's answer: days from the fault to restoration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Estimate {
    pub p10_days: f64,
    pub p50_days: f64,
    pub p90_days: f64,
    /// How many cases the prior rests on (public and this registry's own).
    pub cases: usize,
    /// Of them, this registry's own restored faults.
    #[serde(default)]
    pub own_cases: usize,
    /// What widened or narrowed it, in words.
    pub reasons: Vec<String>,
}

/// The model's assumptions, each an estimate (shown in the UI as such).
pub mod assume {
    /// Transit speed of a repair ship, knots.
    pub const KNOTS: f64 = 12.0;
    /// On-site days for a cut (history: about 7 days on station) and for
    /// other faults, as (median, P90 / median).
    pub const ON_SITE_CUT: (f64, f64) = (7.0, 2.0);
    pub const ON_SITE_OTHER: (f64, f64) = (5.0, 2.0);
    /// Permits in international waters in this region: 2-8 weeks.
    pub const PERMIT: (f64, f64) = (28.0, 2.0);
    /// The north-east monsoon (October-March) stretches time on station and
    /// waiting for a ship by this factor, and widens it.
    pub const MONSOON: f64 = 1.5;
    pub const MONSOON_SIGMA: f64 = 0.15;
}

/// Days at sea for `km` at [`assume::KNOTS`].
pub fn transit_days(km: f64) -> f64 {
    km / (assume::KNOTS * 1.852 * 24.0)
}

fn monsoon(month: u32) -> bool {
    matches!(month, 10..=12 | 1..=3)
}

/// P10/P50/P90 days from detection to restoration for an open fault.
///
/// Without a booked ship the whole duration comes from the cases (`prior`,
/// a log-normal fitted to them). The public cases are mostly monsoon
/// repairs, so in the calm months (April-September) the median is divided
/// by the monsoon factor; in the monsoon the interval is widened. A fault
/// already open `age_days` is not restored before that: the quantiles are
/// those of the durations longer than its age.
///
/// With a ship booked, what remains from today is the sum of its parts: the
/// faults ahead of it on station, mobilisation, transit at 12 knots,
/// permits in international waters and its own time on station (stretched
/// by the monsoon), summed as one log-normal by their moments; the age is
/// added to it.
pub fn estimate(prior: &Prior, s: &Situation) -> Estimate {
    let mut reasons = Vec::new();
    let winter = monsoon(s.month);
    let age = s.age_days.max(0.0);
    let permit = || LogNormal::from_median(assume::PERMIT.0, assume::PERMIT.1);
    let (p10, p50, p90) = match s.booking {
        None => {
            reasons.push("no ship booked".to_string());
            let mut d = prior.dist;
            if winter {
                reasons.push("north-east monsoon".to_string());
                d.sigma += assume::MONSOON_SIGMA;
            } else {
                d.mu -= assume::MONSOON.ln();
            }
            if s.international {
                reasons.push("international waters: permits".to_string());
                let permit = permit();
                d = LogNormal::from_moments(
                    d.mean() + permit.mean(),
                    d.variance() + permit.variance(),
                );
            }
            if age >= 1.0 && d.cdf(age) >= 0.1 {
                reasons.push(format!("open {age:.0} days already"));
            }
            (
                d.quantile_beyond(age, 0.1),
                d.quantile_beyond(age, 0.5),
                d.quantile_beyond(age, 0.9),
            )
        }
        Some(b) => {
            let (median, spread) = if s.kind == crate::fault::FaultKind::Cut {
                assume::ON_SITE_CUT
            } else {
                assume::ON_SITE_OTHER
            };
            let mut on_site = LogNormal::from_median(median, spread);
            if winter {
                reasons.push("north-east monsoon".to_string());
                on_site.mu += assume::MONSOON.ln();
                on_site.sigma += assume::MONSOON_SIGMA;
            }
            let transit = transit_days(b.distance_km);
            let fixed = b.mobilisation_days.max(0.0) + transit;
            let n = f64::from(b.queue_ahead) + 1.0;
            if b.queue_ahead > 0 {
                reasons.push(format!("{} fault(s) ahead on the ship", b.queue_ahead));
            }
            let mut mean = fixed + n * on_site.mean();
            let mut var = n * on_site.variance();
            if s.international {
                reasons.push("international waters: permits".to_string());
                let permit = permit();
                mean += permit.mean();
                var += permit.variance();
            }
            let rest = LogNormal::from_moments(mean, var);
            (age + rest.p10(), age + rest.p50(), age + rest.p90())
        }
    };
    Estimate {
        p10_days: p10,
        p50_days: p50,
        p90_days: p90,
        cases: prior.cases(),
        own_cases: prior.own,
        reasons,
    }
}

/// The log-normal the estimate starts from, and the cases it was fitted to.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Prior {
    pub dist: LogNormal,
    /// Public cases (`data/repair-history.csv`).
    pub public: usize,
    /// This registry's own restored faults.
    pub own: usize,
}

impl Prior {
    pub fn cases(&self) -> usize {
        self.public + self.own
    }
}

/// The prior fitted to the public cases alone (fitted once).
pub fn public_prior() -> &'static Prior {
    static PRIOR: std::sync::OnceLock<Prior> = std::sync::OnceLock::new();
    PRIOR.get_or_init(|| calibrated(&[]))
}

/// The prior fitted to the public cases and `own` restored faults (those
/// the public history already holds, the same cable within a week of the
/// same day, counted once).
pub fn calibrated(own: &[Case]) -> Prior {
    let public = history();
    let new: Vec<&Case> = own
        .iter()
        .filter(|o| {
            o.days > 0.0
                && !public
                    .iter()
                    .any(|p| p.cable == o.cable && (p.fault_on - o.fault_on).num_days().abs() <= 7)
        })
        .collect();
    let days: Vec<f64> = public
        .iter()
        .map(|c| c.days)
        .chain(new.iter().map(|c| c.days))
        .collect();
    Prior {
        dist: LogNormal::fit(&days),
        public: public.len(),
        own: new.len(),
    }
}

/// This registry's restored faults with both days known, as cases.
pub fn own_cases(
    faults: &[crate::fault::Fault],
    international: &dyn Fn(&str) -> bool,
) -> Vec<Case> {
    faults
        .iter()
        .filter(|f| f.status == crate::fault::FaultStatus::Restored)
        .filter_map(|f| {
            let (from, to) = (f.detected_on?, f.restored_on?);
            let days = (to - from).num_days();
            (days > 0).then(|| Case {
                cable: f.cable.clone(),
                fault_on: from,
                days: days as f64,
                international: international(&f.cable),
                notes: String::new(),
                source: f.provenance.clone(),
            })
        })
        .collect()
}

/// A fault's estimate beside its official date.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct FaultEstimate {
    #[serde(flatten)]
    pub estimate: Estimate,
    /// The official ETA in days from detection (its latest day).
    pub official_days: Option<i64>,
    /// Detection + P10 / P50 / P90.
    pub p10_on: Option<NaiveDate>,
    pub p50_on: Option<NaiveDate>,
    pub p90_on: Option<NaiveDate>,
    /// The official date is earlier than the model's P10.
    pub optimistic: bool,
}

/// The estimate of an open fault detected on a known day, with no ship
/// booked, in the month of `today`.
pub fn for_fault(
    fault: &crate::fault::Fault,
    international: bool,
    today: NaiveDate,
    prior: &Prior,
) -> Option<FaultEstimate> {
    for_fault_booked(fault, international, today, None, prior)
}

/// The same with the ship booked for it, if any.
pub fn for_fault_booked(
    fault: &crate::fault::Fault,
    international: bool,
    today: NaiveDate,
    booking: Option<Booking>,
    prior: &Prior,
) -> Option<FaultEstimate> {
    use chrono::Datelike;
    if !fault.status.is_active() {
        return None;
    }
    let detected = fault.detected_on?;
    let e = estimate(
        prior,
        &Situation {
            kind: fault.kind,
            international,
            month: today.month(),
            booking,
            age_days: (today - detected).num_days().max(0) as f64,
        },
    );
    let on = |d: f64| detected.checked_add_days(chrono::Days::new(d.round().max(0.0) as u64));
    let official_days = fault.eta.latest_day().map(|d| (d - detected).num_days());
    Some(FaultEstimate {
        p10_on: on(e.p10_days),
        p50_on: on(e.p50_days),
        p90_on: on(e.p90_days),
        optimistic: official_days.is_some_and(|o| (o as f64) < e.p10_days),
        official_days,
        estimate: e,
    })
}

/// Leave-one-out over the cases: how many actual durations fall within
/// the P10-P90 of a prior fitted to the others (no ship booked, the case's
/// own month and waters).
pub fn backtest(cases: &[Case]) -> (usize, usize) {
    use chrono::Datelike;
    let inside = (0..cases.len())
        .filter(|i| {
            let others: Vec<f64> = cases
                .iter()
                .enumerate()
                .filter(|(j, _)| j != i)
                .map(|(_, c)| c.days)
                .collect();
            let prior = Prior {
                dist: LogNormal::fit(&others),
                public: others.len(),
                own: 0,
            };
            let c = &cases[*i];
            let e = estimate(
                &prior,
                &Situation {
                    kind: crate::fault::FaultKind::Cut,
                    international: false,
                    month: c.fault_on.month(),
                    booking: None,
                    age_days: 0.0,
                },
            );
            (e.p10_days..=e.p90_days).contains(&c.days)
        })
        .count();
    (inside, cases.len())
}

/// Where a fault's repair stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Stage {
    Reported,
    ShipRequested,
    /// A ship is booked: the fault is in its queue.
    ShipBooked,
    /// Waiting for a permit to work in international waters.
    Permit,
    InTransit,
    OnSite,
    Restored,
}

impl Stage {
    pub const ALL: [Stage; 7] = [
        Self::Reported,
        Self::ShipRequested,
        Self::ShipBooked,
        Self::Permit,
        Self::InTransit,
        Self::OnSite,
        Self::Restored,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Reported => "reported",
            Self::ShipRequested => "ship_requested",
            Self::ShipBooked => "ship_booked",
            Self::Permit => "permit",
            Self::InTransit => "in_transit",
            Self::OnSite => "on_site",
            Self::Restored => "restored",
        }
    }

    pub fn parse(s: &str) -> Option<Stage> {
        Self::ALL.into_iter().find(|x| x.as_str() == s.trim())
    }

    /// Whether a ship is (still) attached to the fault at this stage.
    pub fn has_ship(self) -> bool {
        matches!(
            self,
            Self::ShipBooked | Self::Permit | Self::InTransit | Self::OnSite
        )
    }
}

/// A fault's repair as officers record it: its stage since a day, and the
/// ship booked. Kept apart from the fault, so a notice import never
/// touches it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Repair {
    pub fault_id: i64,
    pub stage: Stage,
    /// Since when the repair is at this stage.
    pub stage_on: NaiveDate,
    pub ship_id: Option<i64>,
    /// When the ship was booked: the ship's queue is in this order.
    pub booked_on: Option<NaiveDate>,
    pub version: i64,
}

/// An officer's stage change, every field as typed.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(default)]
pub struct RepairForm {
    pub stage: String,
    /// The day the stage began (`YYYY-MM-DD`).
    pub stage_on: String,
    /// The repair ship's asset id (for a stage with a ship).
    pub ship_id: String,
}

impl RepairForm {
    /// Checks the change against `before` (none yet: `None`) and the known
    /// ship ids, or names every bad field.
    pub fn validate(
        &self,
        fault_id: i64,
        before: Option<&Repair>,
        ships: &[i64],
        today: NaiveDate,
    ) -> Result<Repair, Vec<crate::fault::FieldError>> {
        use crate::fault::FieldError;
        let mut errs = Vec::new();
        let stage = Stage::parse(&self.stage);
        if stage.is_none() {
            errs.push(FieldError::new(
                "stage",
                "bad_choice",
                format!(
                    "choose a stage: {}",
                    Stage::ALL.map(Stage::as_str).join(", ")
                ),
            ));
        }
        let stage_on = match NaiveDate::parse_from_str(self.stage_on.trim(), "%Y-%m-%d") {
            Ok(d) if d <= today => Some(d),
            Ok(_) => {
                errs.push(FieldError::new(
                    "stage_on",
                    "in_future",
                    "a stage cannot begin after today",
                ));
                None
            }
            Err(_) => {
                errs.push(FieldError::new(
                    "stage_on",
                    "bad_date",
                    "expected a date such as 2026-02-14",
                ));
                None
            }
        };
        let ship_id = match self.ship_id.trim() {
            "" => None,
            v => match v.parse::<i64>() {
                Ok(id) if ships.contains(&id) => Some(id),
                _ => {
                    errs.push(FieldError::new(
                        "ship_id",
                        "unknown",
                        "choose a repair ship of the registry",
                    ));
                    None
                }
            },
        };
        if let Some(st) = stage {
            if st.has_ship() && ship_id.is_none() && errs.iter().all(|e| e.field != "ship_id") {
                errs.push(FieldError::new(
                    "ship_id",
                    "required",
                    "this stage needs the ship booked for it",
                ));
            }
        }
        match (stage, stage_on) {
            (Some(stage), Some(stage_on)) if errs.is_empty() => {
                let ship_id = if stage.has_ship() { ship_id } else { None };
                // The booking day stays while the same ship keeps the fault.
                let booked_on = match (before, ship_id) {
                    (Some(b), Some(s)) if b.ship_id == Some(s) => b.booked_on.or(Some(stage_on)),
                    (_, Some(_)) => Some(stage_on),
                    _ => None,
                };
                Ok(Repair {
                    fault_id,
                    stage,
                    stage_on,
                    ship_id,
                    booked_on,
                    version: before.map_or(0, |b| b.version),
                })
            }
            _ => Err(errs),
        }
    }
}

/// A repair ship's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum ShipState {
    Standby,
    Booked,
    InTransit,
    OnSite,
    /// Sheltering from weather: no work.
    Sheltering,
    Released,
}

impl ShipState {
    pub const ALL: [ShipState; 6] = [
        Self::Standby,
        Self::Booked,
        Self::InTransit,
        Self::OnSite,
        Self::Sheltering,
        Self::Released,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Standby => "standby",
            Self::Booked => "booked",
            Self::InTransit => "in_transit",
            Self::OnSite => "on_site",
            Self::Sheltering => "sheltering",
            Self::Released => "released",
        }
    }

    pub fn parse(s: &str) -> Option<ShipState> {
        Self::ALL.into_iter().find(|x| x.as_str() == s.trim())
    }
}

/// Each ship's queue: the faults booked on it and not restored, in booking
/// order (then by fault id).
pub fn queues(repairs: &[Repair]) -> std::collections::BTreeMap<i64, Vec<i64>> {
    let mut booked: Vec<&Repair> = repairs
        .iter()
        .filter(|r| r.stage.has_ship() && r.ship_id.is_some())
        .collect();
    booked.sort_by_key(|r| (r.booked_on, r.fault_id));
    let mut out: std::collections::BTreeMap<i64, Vec<i64>> = Default::default();
    for r in booked {
        if let Some(s) = r.ship_id {
            out.entry(s).or_default().push(r.fault_id);
        }
    }
    out
}

/// Great-circle distance in km.
pub fn distance_km(a: (f64, f64), b: (f64, f64)) -> f64 {
    use geo::{Distance, Haversine, Point};
    Haversine.distance(Point::new(a.0, a.1), Point::new(b.0, b.1)) / 1000.0
}

/// A repair ship on the board.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ShipRow {
    pub id: i64,
    pub name: String,
    pub state: ShipState,
    pub home_port: String,
    pub lon: f64,
    pub lat: f64,
    /// The faults booked on it, in order.
    pub queue: Vec<i64>,
    /// When work on the first fault of its queue is expected to start (the
    /// day it went on site; or today plus mobilisation and transit from
    /// the ship's recorded position to the fault's pin).
    #[serde(default)]
    pub next_start: Option<NaiveDate>,
    /// Of its state (0: never set, standby).
    pub version: i64,
}

/// An open fault on the board.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct FaultRow {
    pub id: i64,
    pub cable: String,
    pub kind: crate::fault::FaultKind,
    pub stage: Stage,
    /// Since when (the detection day while only reported).
    pub stage_on: Option<NaiveDate>,
    pub ship_id: Option<i64>,
    pub days_open: Option<i64>,
    /// The stopwatch: days at the current stage.
    pub days_in_stage: Option<i64>,
    pub official_eta: Eta,
    pub p10_days: Option<f64>,
    pub p50_days: Option<f64>,
    pub p90_days: Option<f64>,
    pub optimistic: bool,
    /// Why the model says what it says.
    pub reasons: Vec<String>,
    /// Of its repair record (0: none yet).
    pub repair_version: i64,
    /// No stage change for [`STALL_DAYS`] or more.
    #[serde(default)]
    pub stalled: bool,
    /// The whole estimate, dated (for the fault's own page).
    #[serde(skip)]
    pub estimate: Option<FaultEstimate>,
}

/// A repair with no stage change for this many days raises an alert.
pub const STALL_DAYS: i64 = 14;

/// The repair board: every repair ship and every open fault.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RepairsBoard {
    pub ships: Vec<ShipRow>,
    pub faults: Vec<FaultRow>,
    /// How many cases the model rests on (public and own).
    pub cases: usize,
    /// Of them, this registry's own restored faults.
    #[serde(default)]
    pub own_cases: usize,
}

impl RepairsBoard {
    /// The open faults whose repair has not moved for [`STALL_DAYS`].
    pub fn stalled(&self) -> impl Iterator<Item = &FaultRow> {
        self.faults.iter().filter(|f| f.stalled)
    }
}

/// What the board is built from.
pub struct BoardInputs<'a> {
    pub faults: &'a [crate::fault::Fault],
    pub repairs: &'a [Repair],
    /// Repair-ship assets with their state and its version.
    pub ships: &'a [(crate::assets::Asset, ShipState, i64)],
    /// Where each open fault's pin is (or its reference station).
    pub position: &'a dyn Fn(&crate::fault::Fault) -> Option<(f64, f64)>,
    pub international: &'a dyn Fn(&str) -> bool,
    pub today: NaiveDate,
    /// The model's prior (public cases, and own restored faults).
    pub prior: &'a Prior,
}

/// When the ship `a` is expected to start on fault `id`, the head of its queue.
fn next_start(i: &BoardInputs<'_>, a: &crate::assets::Asset, id: i64) -> Option<NaiveDate> {
    let f = i.faults.iter().find(|f| f.id == id)?;
    let r = i.repairs.iter().find(|r| r.fault_id == id)?;
    if r.stage == Stage::OnSite {
        return Some(r.stage_on);
    }
    let mobilisation = if r.stage <= Stage::ShipBooked {
        1.0
    } else {
        0.0
    };
    let transit = (i.position)(f).map_or(0.0, |p| {
        transit_days(distance_km((a.draft.lon, a.draft.lat), p))
    });
    i.today
        .checked_add_days(chrono::Days::new((mobilisation + transit).ceil() as u64))
}

/// The board: ships with their queues, open faults with their stage,
/// stopwatch and the model's estimate (a booked ship's queue and distance
/// feed it).
pub fn board(i: &BoardInputs<'_>) -> RepairsBoard {
    let queue = queues(i.repairs);
    let ships = i
        .ships
        .iter()
        .map(|(a, state, version)| ShipRow {
            id: a.id,
            name: a.draft.name.clone(),
            state: *state,
            home_port: a.draft.home_port.clone(),
            lon: a.draft.lon,
            lat: a.draft.lat,
            queue: queue.get(&a.id).cloned().unwrap_or_default(),
            next_start: queue
                .get(&a.id)
                .and_then(|q| q.first())
                .and_then(|id| next_start(i, a, *id)),
            version: *version,
        })
        .collect();
    let faults =
        i.faults
            .iter()
            .filter(|f| f.status.is_active())
            .map(|f| {
                let r = i.repairs.iter().find(|r| r.fault_id == f.id);
                let stage = r.map_or(Stage::Reported, |r| r.stage);
                let stage_on = r.map(|r| r.stage_on).or(f.detected_on);
                let booking = r.and_then(|r| {
                    let ship = r.ship_id?;
                    let (a, _, _) = i.ships.iter().find(|(a, _, _)| a.id == ship)?;
                    let ahead = queue
                        .get(&ship)
                        .and_then(|q| q.iter().position(|id| *id == f.id))
                        .unwrap_or(0);
                    let distance = match stage {
                        Stage::OnSite => 0.0,
                        _ => (i.position)(f)
                            .map_or(0.0, |p| distance_km((a.draft.lon, a.draft.lat), p)),
                    };
                    Some(Booking {
                        queue_ahead: ahead as u32,
                        distance_km: distance,
                        mobilisation_days: if stage <= Stage::ShipBooked { 1.0 } else { 0.0 },
                    })
                });
                let e = for_fault_booked(f, (i.international)(&f.cable), i.today, booking, i.prior);
                let days_in_stage = stage_on.map(|d| (i.today - d).num_days());
                FaultRow {
                    id: f.id,
                    cable: f.cable.clone(),
                    kind: f.kind,
                    stage,
                    stage_on,
                    ship_id: r.and_then(|r| r.ship_id),
                    days_open: f.detected_on.map(|d| (i.today - d).num_days()),
                    days_in_stage,
                    official_eta: f.eta,
                    p10_days: e.as_ref().map(|e| e.estimate.p10_days),
                    p50_days: e.as_ref().map(|e| e.estimate.p50_days),
                    p90_days: e.as_ref().map(|e| e.estimate.p90_days),
                    optimistic: e.as_ref().is_some_and(|e| e.optimistic),
                    reasons: e
                        .as_ref()
                        .map(|e| e.estimate.reasons.clone())
                        .unwrap_or_default(),
                    repair_version: r.map_or(0, |r| r.version),
                    stalled: days_in_stage.is_some_and(|d| d >= STALL_DAYS),
                    estimate: e,
                }
            })
            .collect();
    RepairsBoard {
        ships,
        faults,
        cases: i.prior.cases(),
        own_cases: i.prior.own,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{Datelike, NaiveDate, TimeZone};
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

    #[test]
    fn the_prior_fits_the_public_cases() {
        let cases = history();
        assert_eq!(cases.len(), 7);
        let days: Vec<f64> = cases.iter().map(|c| c.days).collect();
        let prior = LogNormal::fit(&days);
        // The check: median about 44 days, P90 about 103.
        assert!((40.0..48.0).contains(&prior.p50()), "{}", prior.p50());
        assert!((90.0..115.0).contains(&prior.p90()), "{}", prior.p90());
        let m = LogNormal::from_moments(prior.mean(), prior.variance());
        assert!((m.mu - prior.mu).abs() < 1e-9 && (m.sigma - prior.sigma).abs() < 1e-9);
    }

    #[test]
    fn leave_one_out_coverage_is_reported() {
        let (inside, n) = backtest(history());
        assert_eq!(n, 7);
        // An honest 80 % interval covers most of the cases left out.
        assert!(inside >= 5, "{inside} of {n} inside P10-P90");
    }

    fn situation(month: u32, booking: Option<Booking>) -> Situation {
        Situation {
            kind: crate::fault::FaultKind::Cut,
            international: false,
            month,
            booking,
            age_days: 0.0,
        }
    }

    #[test]
    fn no_ship_in_january_is_wider_than_a_booked_ship_in_june() {
        let prior = *public_prior();
        let ship = Booking {
            queue_ahead: 0,
            distance_km: 900.0,
            mobilisation_days: 1.0,
        };
        let jan = estimate(&prior, &situation(1, None));
        let jun = estimate(&prior, &situation(6, Some(ship)));
        assert!(
            jan.p90_days - jan.p10_days > jun.p90_days - jun.p10_days,
            "{jan:?} {jun:?}"
        );
        assert!(jan.reasons.contains(&"no ship booked".to_string()));
        // Two faults on one ship: the second waits for the first.
        let second = estimate(
            &prior,
            &situation(
                6,
                Some(Booking {
                    queue_ahead: 1,
                    ..ship
                }),
            ),
        );
        assert!(second.p50_days > jun.p50_days, "{second:?} {jun:?}");
        // International waters add permits.
        let intl = estimate(
            &prior,
            &Situation {
                international: true,
                ..situation(6, Some(ship))
            },
        );
        assert!(intl.p50_days > jun.p50_days + 14.0);
    }

    #[test]
    fn an_official_date_earlier_than_p10_is_optimistic() {
        let mut f = crate::notice::NoticeFault {
            line: 1,
            cable: "TDM2".into(),
            detected_on: NaiveDate::from_ymd_opt(2026, 1, 10).unwrap_or_default(),
            kind: crate::fault::FaultKind::Cut,
            description: String::new(),
            chainage: crate::fault::Chainage {
                place: String::new(),
                station: None,
                km: 1.0,
            },
            alternate_routes: Vec::new(),
            eta: Eta::day(NaiveDate::from_ymd_opt(2026, 1, 15).unwrap_or_default()),
        }
        .open_fault(1, "test");
        let today = NaiveDate::from_ymd_opt(2026, 1, 12).unwrap_or_default();
        let e = for_fault(&f, false, today, public_prior()).expect("an open fault");
        assert_eq!(e.official_days, Some(5));
        assert!(e.optimistic, "5 days, no ship, January: {e:?}");
        assert_eq!(e.estimate.cases, 7);
        f.eta = Eta::day(NaiveDate::from_ymd_opt(2026, 3, 30).unwrap_or_default());
        assert!(
            !for_fault(&f, false, today, public_prior())
                .expect("open")
                .optimistic
        );
        f.status = crate::fault::FaultStatus::Restored;
        assert!(for_fault(&f, false, today, public_prior()).is_none());
    }

    #[test]
    fn a_stage_change_is_checked_and_ships_queue_in_booking_order() {
        let today = NaiveDate::from_ymd_opt(2026, 3, 1).unwrap_or_default();
        let form = |stage: &str, on: &str, ship: &str| RepairForm {
            stage: stage.into(),
            stage_on: on.into(),
            ship_id: ship.into(),
        };
        let bad = form("sailing", "2026-13-01", "99")
            .validate(1, None, &[5], today)
            .expect_err("three bad fields");
        let fields: Vec<&str> = bad.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["stage", "stage_on", "ship_id"]);
        let no_ship = form("ship_booked", "2026-02-01", "").validate(1, None, &[5], today);
        assert!(no_ship.is_err_and(|e| e[0].field == "ship_id"));
        assert!(
            form("on_site", "2026-03-02", "5")
                .validate(1, None, &[5], today)
                .is_err(),
            "not after today"
        );
        let a = form("ship_booked", "2026-02-01", "5")
            .validate(1, None, &[5], today)
            .expect("ok");
        assert_eq!(a.booked_on, NaiveDate::from_ymd_opt(2026, 2, 1));
        // Moving on to the next stage keeps the booking day.
        let a2 = form("in_transit", "2026-02-20", "5")
            .validate(1, Some(&a), &[5], today)
            .expect("ok");
        assert_eq!(a2.booked_on, a.booked_on);
        let b = form("ship_booked", "2026-01-15", "5")
            .validate(2, None, &[5], today)
            .expect("ok");
        let c = form("ship_requested", "2026-01-10", "")
            .validate(3, None, &[5], today)
            .expect("ok");
        let q = queues(&[a2, b, c]);
        assert_eq!(
            q.get(&5),
            Some(&vec![2, 1]),
            "booked first, first in the queue"
        );
        assert!((distance_km((120.27, 14.80), (121.8, 24.86)) - 1125.0).abs() < 25.0);
    }

    #[test]
    fn a_fault_open_long_is_not_expected_before_its_age() {
        let prior = *public_prior();
        let fresh = estimate(&prior, &situation(6, None));
        let old = estimate(
            &prior,
            &Situation {
                age_days: 120.0,
                ..situation(6, None)
            },
        );
        assert!(old.p10_days >= 120.0, "{old:?}");
        assert!(old.p10_days < old.p50_days && old.p50_days < old.p90_days);
        assert!(old.p50_days > fresh.p50_days);
        assert!(old.reasons.iter().any(|r| r.starts_with("open 120 days")));
        // Booked: what remains is added to the age.
        let ship = Booking {
            queue_ahead: 0,
            distance_km: 0.0,
            mobilisation_days: 1.0,
        };
        let booked = estimate(
            &prior,
            &Situation {
                age_days: 30.0,
                ..situation(6, Some(ship))
            },
        );
        assert!(
            booked.p10_days > 31.0 && booked.p90_days < 60.0,
            "{booked:?}"
        );
    }

    #[test]
    fn own_restored_faults_calibrate_the_prior_once() {
        let public = public_prior();
        assert_eq!((public.public, public.own), (7, 0));
        let case = |cable: &str, on: (i32, u32, u32), days: f64| Case {
            cable: cable.into(),
            fault_on: NaiveDate::from_ymd_opt(on.0, on.1, on.2).unwrap_or_default(),
            days,
            international: false,
            notes: String::new(),
            source: "test".into(),
        };
        let first = &history()[0];
        let own = [
            // The same repair as a public case: counted once.
            case(
                &first.cable,
                (
                    first.fault_on.year(),
                    first.fault_on.month(),
                    first.fault_on.day(),
                ),
                first.days,
            ),
            case("TPKM3", (2026, 3, 1), 400.0),
            case("TPKM3", (2026, 4, 1), 400.0),
        ];
        let p = calibrated(&own);
        assert_eq!((p.public, p.own, p.cases()), (7, 2, 9));
        assert!(
            p.dist.p50() > public.dist.p50(),
            "long repairs raise the median"
        );
        let e = estimate(&p, &situation(1, None));
        assert_eq!((e.cases, e.own_cases), (9, 2));
    }

    proptest::proptest! {
        #[test]
        fn quantiles_beyond_an_age_are_ordered_and_never_before_it(
            mu in 1.0f64..5.0, sigma in 0.05f64..1.5, age in 0.0f64..2000.0
        ) {
            let d = LogNormal { mu, sigma };
            let (a, b, c) = (
                d.quantile_beyond(age, 0.1),
                d.quantile_beyond(age, 0.5),
                d.quantile_beyond(age, 0.9),
            );
            proptest::prop_assert!(a >= age && a <= b && b <= c, "{a} {b} {c} age {age}");
            proptest::prop_assert!(a.is_finite() && c.is_finite());
        }
    }
}
