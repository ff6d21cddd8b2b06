//! Faults (障礙): what broke, where, what carries the traffic, when it is fixed.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::reference::{name_key, resolve_station, CableIndex, Station};
use crate::roc::{Eta, EtaPrecision};

/// Longest free text accepted in a note or description.
pub const MAX_TEXT: usize = 4000;
/// Longest place name accepted.
pub const MAX_PLACE: usize = 100;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum FaultKind {
    /// 部分芯線受損: some fibre pairs damaged, the cable still carries traffic.
    PartialDamage,
    /// 斷纜: the cable is cut.
    Cut,
    Other,
}

impl FaultKind {
    pub const ALL: [FaultKind; 3] = [Self::PartialDamage, Self::Cut, Self::Other];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::PartialDamage => "partial_damage",
            Self::Cut => "cut",
            Self::Other => "other",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }

    /// Reads the kind from the notice's wording.
    pub fn from_notice_text(text: &str) -> Self {
        if text.contains("部分芯線受損") {
            Self::PartialDamage
        } else if text.contains("斷纜") {
            Self::Cut
        } else {
            Self::Other
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum FaultStatus {
    Open,
    RepairScheduled,
    Repairing,
    Restored,
    /// Closed without a repair being recorded (withdrawn, merged, logged in error).
    Closed,
}

impl FaultStatus {
    pub const ALL: [FaultStatus; 5] = [
        Self::Open,
        Self::RepairScheduled,
        Self::Repairing,
        Self::Restored,
        Self::Closed,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Open => "open",
            Self::RepairScheduled => "repair_scheduled",
            Self::Repairing => "repairing",
            Self::Restored => "restored",
            Self::Closed => "closed",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }

    /// Open, repair scheduled or repairing: the fault still affects the cable.
    pub fn is_active(self) -> bool {
        matches!(self, Self::Open | Self::RepairScheduled | Self::Repairing)
    }

    /// The lifecycle: the active states move freely among themselves (a
    /// repair ship driven back by the monsoon un-schedules a repair), an
    /// active fault is restored or closed, a restored one may be reopened or
    /// closed, and a closed one stays closed.
    pub fn can_become(self, next: FaultStatus) -> bool {
        if self == next {
            return true;
        }
        match self {
            Self::Open | Self::RepairScheduled | Self::Repairing => true,
            Self::Restored => matches!(next, Self::Open | Self::Closed),
            Self::Closed => false,
        }
    }
}

/// "N km from landing station Y" along the cable.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Chainage {
    /// The place as written (新北八里, 中國崇明).
    pub place: String,
    /// The registered landing station the place resolves to, if any.
    pub station: Option<String>,
    pub km: f64,
}

impl Chainage {
    pub fn resolve(place: &str, km: f64, stations: &[Station]) -> Self {
        Self {
            place: place.trim().to_string(),
            station: resolve_station(stations, place).map(|s| s.id.clone()),
            km,
        }
    }

    /// `206`, `47.7`, `72.3`: the km as the notice writes it.
    pub fn km_text(&self) -> String {
        format_km(self.km)
    }
}

pub fn format_km(km: f64) -> String {
    let s = format!("{km:.3}");
    s.trim_end_matches('0').trim_end_matches('.').to_string()
}

/// A route that carries the traffic while the fault lasts.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum AlternateRoute {
    /// A registered cable; `label` keeps the wording it was given in.
    Cable { cable: String, label: String },
    /// Anything else: 微波, satellite, "other fibre pairs of the same cable".
    Text { text: String },
}

impl AlternateRoute {
    pub fn label(&self) -> &str {
        match self {
            Self::Cable { label, .. } => label,
            Self::Text { text } => text,
        }
    }
}

/// Splits an alternate-route cell into routes: `APG、EAC` is two cables,
/// `微波` is text, `由同一海纜其他芯線進行傳輸，不影響訊務。` is one text.
pub fn parse_alternate_routes(raw: &str, cables: &CableIndex) -> Vec<AlternateRoute> {
    raw.split(['、', ',', '\n'])
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|part| match cables.resolve(part) {
            Some(cable) => AlternateRoute::Cable {
                cable,
                label: part.to_string(),
            },
            None => AlternateRoute::Text {
                text: part.to_string(),
            },
        })
        .collect()
}

/// The alternate routes as one cell: `APG、EAC`.
pub fn alternate_routes_text(routes: &[AlternateRoute]) -> String {
    routes
        .iter()
        .map(AlternateRoute::label)
        .collect::<Vec<_>>()
        .join("、")
}

/// A fault as stored: the current state behind the event log.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Fault {
    pub id: i64,
    pub cable: String,
    /// `None` for a fault known only from a repair footnote.
    pub detected_on: Option<NaiveDate>,
    pub kind: FaultKind,
    /// The fault's wording (the notice's 障礙情形 cell, or generated).
    pub description: String,
    pub chainage: Chainage,
    pub alternate_routes: Vec<AlternateRoute>,
    pub eta: Eta,
    pub status: FaultStatus,
    pub restored_on: Option<NaiveDate>,
    pub notes: String,
    /// Share of the cable's capacity this fault takes away, as an officer
    /// judged it (`None`: the default for its kind, an estimate).
    #[serde(default)]
    pub capacity_lost_pct: Option<f64>,
    /// Where the fault came from: `notice 2026-02-14` or `officer NAME`.
    pub provenance: String,
    pub version: i64,
}

impl Fault {
    pub fn key(&self) -> String {
        fault_key(
            &self.cable,
            self.detected_on,
            &self.chainage.place,
            self.chainage.km,
        )
    }

    /// Whether the fault was affecting the cable on `day`.
    pub fn is_open_on(&self, day: NaiveDate) -> bool {
        if self.status == FaultStatus::Closed {
            return false;
        }
        let started = self.detected_on.is_none_or(|d| d <= day);
        let not_yet_restored = self.restored_on.is_none_or(|r| r > day);
        let restored_without_date =
            self.status == FaultStatus::Restored && self.restored_on.is_none();
        started && not_yet_restored && !restored_without_date && self.detected_on.is_some()
    }

    pub fn draft(&self) -> FaultDraft {
        FaultDraft {
            cable: self.cable.clone(),
            detected_on: self.detected_on,
            kind: self.kind,
            description: self.description.clone(),
            chainage: self.chainage.clone(),
            alternate_routes: self.alternate_routes.clone(),
            eta: self.eta,
            status: self.status,
            restored_on: self.restored_on,
            notes: self.notes.clone(),
            capacity_lost_pct: self.capacity_lost_pct,
        }
    }
}

/// A fault's identity: cable + detection date + chainage. A fault known only
/// from a repair footnote has no detection date.
pub fn fault_key(cable: &str, detected_on: Option<NaiveDate>, place: &str, km: f64) -> String {
    format!(
        "{}|{}|{}|{}",
        cable,
        detected_on
            .map(|d| d.to_string())
            .unwrap_or_else(|| "-".into()),
        name_key(place),
        format_km(km)
    )
}

/// The standard wording for a fault: `距新北八里約 206 公里處斷纜`.
pub fn describe(kind: FaultKind, chainage: &Chainage) -> String {
    let at = format!("距{}約 {} 公里處", chainage.place, chainage.km_text());
    match kind {
        FaultKind::PartialDamage => format!("{at}發生部分芯線受損障礙"),
        FaultKind::Cut => format!("{at}斷纜"),
        FaultKind::Other => format!("{at}發生障礙"),
    }
}

/// Everything about a fault an officer or a notice sets: what a write carries.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct FaultDraft {
    pub cable: String,
    pub detected_on: Option<NaiveDate>,
    pub kind: FaultKind,
    pub description: String,
    pub chainage: Chainage,
    pub alternate_routes: Vec<AlternateRoute>,
    pub eta: Eta,
    pub status: FaultStatus,
    pub restored_on: Option<NaiveDate>,
    pub notes: String,
    /// See [`Fault::capacity_lost_pct`].
    #[serde(default)]
    pub capacity_lost_pct: Option<f64>,
}

impl FaultDraft {
    pub fn key(&self) -> String {
        fault_key(
            &self.cable,
            self.detected_on,
            &self.chainage.place,
            self.chainage.km,
        )
    }

    /// Names of the fields that differ between two drafts.
    pub fn changed_fields(&self, other: &FaultDraft) -> Vec<&'static str> {
        let mut out = Vec::new();
        let mut cmp = |name, same: bool| {
            if !same {
                out.push(name)
            }
        };
        cmp("cable", self.cable == other.cable);
        cmp("detected_on", self.detected_on == other.detected_on);
        cmp("kind", self.kind == other.kind);
        cmp("description", self.description == other.description);
        cmp("chainage", self.chainage == other.chainage);
        cmp(
            "alternate_routes",
            self.alternate_routes == other.alternate_routes,
        );
        cmp("eta", self.eta == other.eta);
        cmp("status", self.status == other.status);
        cmp("restored_on", self.restored_on == other.restored_on);
        cmp("notes", self.notes == other.notes);
        cmp(
            "capacity_lost_pct",
            self.capacity_lost_pct == other.capacity_lost_pct,
        );
        out
    }
}

/// A field-level validation problem: `code` is stable (the UI translates it),
/// `message` is English for the API and logs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct FieldError {
    pub field: String,
    pub code: String,
    pub message: String,
}

impl FieldError {
    pub fn new(field: &str, code: &str, message: impl Into<String>) -> Self {
        Self {
            field: field.to_string(),
            code: code.to_string(),
            message: message.into(),
        }
    }
}

/// A fault form as typed: every field a string, so nothing typed is lost.
/// A field left out (a plain HTML form post) is empty.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(default)]
pub struct FaultForm {
    pub cable: String,
    pub detected_on: String,
    pub kind: String,
    pub place: String,
    pub km: String,
    /// One route per line, or separated by 、.
    pub alternate_routes: String,
    /// `2026-04-30`, `2026-04`, `115/4/30`, `115 年 4 月`, or empty for unknown.
    pub eta: String,
    pub status: String,
    pub restored_on: String,
    pub notes: String,
    /// Capacity lost, 0 to 100 %; empty for the default of the fault's kind.
    pub capacity_lost_pct: String,
}

impl FaultForm {
    pub fn from_fault(f: &Fault) -> Self {
        Self {
            cable: f.cable.clone(),
            detected_on: f.detected_on.map(|d| d.to_string()).unwrap_or_default(),
            kind: f.kind.as_str().into(),
            place: f.chainage.place.clone(),
            km: f.chainage.km_text(),
            alternate_routes: f
                .alternate_routes
                .iter()
                .map(AlternateRoute::label)
                .collect::<Vec<_>>()
                .join("\n"),
            eta: f.eta.to_iso(),
            status: f.status.as_str().into(),
            restored_on: f.restored_on.map(|d| d.to_string()).unwrap_or_default(),
            notes: f.notes.clone(),
            capacity_lost_pct: f
                .capacity_lost_pct
                .map(|p| p.to_string())
                .unwrap_or_default(),
        }
    }

    /// Checks every field and builds the draft, or names every bad field.
    /// `today` bounds detection dates (a fault cannot be detected tomorrow).
    pub fn validate(
        &self,
        cables: &CableIndex,
        stations: &[Station],
        today: NaiveDate,
    ) -> Result<FaultDraft, Vec<FieldError>> {
        let mut errs = Vec::new();
        let cable = match self.cable.trim() {
            "" => {
                errs.push(FieldError::new("cable", "required", "choose a cable"));
                None
            }
            c => match cables.resolve(c) {
                Some(a) => Some(a),
                None => {
                    errs.push(FieldError::new(
                        "cable",
                        "unknown_cable",
                        format!("unknown cable {c:?}"),
                    ));
                    None
                }
            },
        };
        let detected_on = match parse_day(&self.detected_on) {
            Ok(Some(d)) if d > today => {
                errs.push(FieldError::new(
                    "detected_on",
                    "future_date",
                    "the detection date is in the future",
                ));
                None
            }
            Ok(Some(d)) => Some(d),
            Ok(None) => {
                errs.push(FieldError::new(
                    "detected_on",
                    "required",
                    "enter the date the fault was detected",
                ));
                None
            }
            Err(()) => {
                errs.push(FieldError::new(
                    "detected_on",
                    "bad_date",
                    "expected a date such as 2026-02-14 or 115/2/14",
                ));
                None
            }
        };
        let kind = FaultKind::parse(self.kind.trim());
        if kind.is_none() {
            errs.push(FieldError::new(
                "kind",
                "required",
                "choose the kind of fault",
            ));
        }
        let place = self.place.trim();
        if place.is_empty() {
            errs.push(FieldError::new(
                "place",
                "required",
                "enter the reference place (landing station)",
            ));
        } else if place.chars().count() > MAX_PLACE {
            errs.push(FieldError::new(
                "place",
                "too_long",
                format!("at most {MAX_PLACE} characters"),
            ));
        }
        let km = match self.km.trim().parse::<f64>() {
            Ok(k) if k.is_finite() && (0.0..=40_000.0).contains(&k) => Some(k),
            _ => {
                errs.push(FieldError::new(
                    "km",
                    "bad_km",
                    "expected a distance in km between 0 and 40000",
                ));
                None
            }
        };
        let eta = match parse_eta_input(&self.eta) {
            Ok(e) => Some(e),
            Err(_) => {
                errs.push(FieldError::new(
                    "eta",
                    "bad_eta",
                    "expected a date (2026-04-30), a month (2026-04) or empty for unknown",
                ));
                None
            }
        };
        let status = if self.status.trim().is_empty() {
            Some(FaultStatus::Open)
        } else {
            FaultStatus::parse(self.status.trim())
        };
        if status.is_none() {
            errs.push(FieldError::new("status", "required", "choose a status"));
        }
        let restored_on = match parse_day(&self.restored_on) {
            Ok(d) => d,
            Err(()) => {
                errs.push(FieldError::new(
                    "restored_on",
                    "bad_date",
                    "expected a date such as 2026-02-14",
                ));
                None
            }
        };
        if status == Some(FaultStatus::Restored)
            && restored_on.is_none()
            && self.restored_on.trim().is_empty()
        {
            errs.push(FieldError::new(
                "restored_on",
                "required",
                "a restored fault needs its restoration date",
            ));
        }
        if let (Some(r), Some(d)) = (restored_on, detected_on) {
            if r < d {
                errs.push(FieldError::new(
                    "restored_on",
                    "before_detected",
                    "restored before it was detected",
                ));
            }
        }
        if self.notes.chars().count() > MAX_TEXT {
            errs.push(FieldError::new(
                "notes",
                "too_long",
                format!("at most {MAX_TEXT} characters"),
            ));
        }
        let capacity_lost_pct = match self.capacity_lost_pct.trim().trim_end_matches('%').trim() {
            "" => None,
            v => match v.parse::<f64>() {
                Ok(p) if p.is_finite() && (0.0..=100.0).contains(&p) => Some(p),
                _ => {
                    errs.push(FieldError::new(
                        "capacity_lost_pct",
                        "bad_number",
                        "expected a percentage from 0 to 100 (empty: the default for the kind)",
                    ));
                    None
                }
            },
        };
        if self.alternate_routes.chars().count() > MAX_TEXT {
            errs.push(FieldError::new(
                "alternate_routes",
                "too_long",
                format!("at most {MAX_TEXT} characters"),
            ));
        }
        match (cable, kind, km, eta, status) {
            (Some(cable), Some(kind), Some(km), Some(eta), Some(status)) if errs.is_empty() => {
                let chainage = Chainage::resolve(place, km, stations);
                Ok(FaultDraft {
                    description: describe(kind, &chainage),
                    cable,
                    detected_on,
                    kind,
                    chainage,
                    alternate_routes: parse_alternate_routes(&self.alternate_routes, cables),
                    eta,
                    status,
                    restored_on: if status == FaultStatus::Restored || status == FaultStatus::Closed
                    {
                        restored_on
                    } else {
                        None
                    },
                    notes: self.notes.clone(),
                    capacity_lost_pct,
                })
            }
            _ => Err(errs),
        }
    }
}

/// An ISO (`2026-02-14`) or ROC (`115/2/14`) date; empty is `None`.
fn parse_day(s: &str) -> Result<Option<NaiveDate>, ()> {
    let s = s.trim();
    if s.is_empty() {
        return Ok(None);
    }
    if let Ok(d) = NaiveDate::parse_from_str(s, "%Y-%m-%d") {
        return Ok(Some(d));
    }
    crate::roc::parse_roc_date(s).map(Some).map_err(|_| ())
}

/// An ETA as typed: ISO day or month, ROC forms, or empty / 待定 for unknown.
pub fn parse_eta_input(s: &str) -> Result<Eta, crate::roc::RocDateError> {
    let bad = || crate::roc::RocDateError::Unreadable(s.trim().to_string());
    let s = s.trim();
    if let Ok(d) = NaiveDate::parse_from_str(s, "%Y-%m-%d") {
        return Ok(Eta::day(d));
    }
    if let Some((y, m)) = s.split_once('-') {
        if let (Ok(y), Ok(m)) = (y.parse::<i32>(), m.parse::<u32>()) {
            if y > 1911 {
                return Eta::month(y, m).ok_or_else(bad);
            }
        }
    }
    crate::roc::parse_eta(s)
}

impl Default for Eta {
    fn default() -> Self {
        Eta::UNKNOWN
    }
}

impl EtaPrecision {
    pub fn is_known(self) -> bool {
        self != EtaPrecision::Unknown
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::reference::{cables, stations};

    fn today() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 2, 14).expect("date")
    }

    fn form() -> FaultForm {
        FaultForm {
            cable: "TDM3".into(),
            detected_on: "2026-02-10".into(),
            kind: "cut".into(),
            place: "桃園草漯".into(),
            km: "40".into(),
            alternate_routes: "微波\nTDM2".into(),
            eta: "2026-04".into(),
            status: "open".into(),
            restored_on: String::new(),
            notes: "<script>alert(1)</script>".into(),
            capacity_lost_pct: String::new(),
        }
    }

    #[test]
    fn a_good_form_becomes_a_draft() {
        let cs = cables().expect("cables");
        let st = stations().expect("stations");
        let d = form()
            .validate(&CableIndex::new(&cs), &st, today())
            .expect("valid");
        assert_eq!(d.cable, "TDM3");
        assert_eq!(d.chainage.station.as_deref(), Some("caota"));
        assert_eq!(d.eta.precision, EtaPrecision::Month);
        assert_eq!(d.alternate_routes.len(), 2);
        assert!(
            matches!(&d.alternate_routes[1], AlternateRoute::Cable { cable, .. } if cable == "TDM2")
        );
        assert_eq!(
            d.notes, "<script>alert(1)</script>",
            "notes are kept exactly as typed"
        );
        assert_eq!(d.description, "距桃園草漯約 40 公里處斷纜");
    }

    #[test]
    fn every_bad_field_is_named() {
        let cs = cables().expect("cables");
        let st = stations().expect("stations");
        let bad = FaultForm {
            cable: "NOPE".into(),
            detected_on: "2027-01-01".into(),
            kind: "".into(),
            place: "".into(),
            km: "-3".into(),
            eta: "soon".into(),
            status: "restored".into(),
            ..form()
        };
        let errs = bad
            .validate(&CableIndex::new(&cs), &st, today())
            .expect_err("invalid");
        let fields: Vec<&str> = errs.iter().map(|e| e.field.as_str()).collect();
        for f in [
            "cable",
            "detected_on",
            "kind",
            "place",
            "km",
            "eta",
            "restored_on",
        ] {
            assert!(fields.contains(&f), "{f} named in {fields:?}");
        }
    }

    #[test]
    fn status_lifecycle() {
        use FaultStatus::*;
        assert!(Open.can_become(RepairScheduled));
        assert!(Repairing.can_become(RepairScheduled));
        assert!(Repairing.can_become(Restored));
        assert!(Restored.can_become(Closed));
        assert!(!Closed.can_become(Open));
        assert!(!Restored.can_become(Repairing));
    }

    #[test]
    fn keys_ignore_spacing_in_place_names() {
        let d = NaiveDate::from_ymd_opt(2025, 8, 22);
        assert_eq!(
            fault_key("EAC1", d, "新北 八里", 206.0),
            fault_key("EAC1", d, "新北八里", 206.00)
        );
        assert_ne!(
            fault_key("EAC1", d, "新北八里", 206.0),
            fault_key("EAC1", d, "新北八里", 562.0)
        );
    }
}
