//! Backup assets: what carries traffic when the cables are cut. Kinds,
//! statuses, the form and its validation, CSV and GeoJSON import/export
//! (all-or-nothing: every bad line or feature is named), counts per
//! kind/region/status, and map clustering.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::fault::{FieldError, MAX_TEXT};
use crate::notice::LineIssue;

pub const MAX_NAME: usize = 100;
pub const MAX_SHORT: usize = 100;

/// Where an asset record came from, as the UI labels it.
pub const SOURCE_SYNTHETIC: &str = "synthetic";
pub const SOURCE_REFERENCE: &str = "reference";

/// The kinds of backup asset in the ministry's programmes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum AssetKind {
    /// 衛星熱點 / 衛星終端: a satellite terminal or hotspot.
    SatTerminal,
    /// 基地臺衛星後傳: a base station with satellite backhaul.
    SatBackhaul,
    /// 衛星行動車.
    SatVehicle,
    /// 高抗災基地臺.
    HardenedBaseStation,
    /// Transport-hub 5G base station.
    #[serde(rename = "hub_5g")]
    Hub5g,
    /// 微波: a link with two ends.
    Microwave,
    /// 高空平臺 (HAPS).
    Haps,
    /// Public-protection and disaster-relief network site.
    Ppdr,
    /// 修復船.
    RepairShip,
}

impl AssetKind {
    pub const ALL: [AssetKind; 9] = [
        Self::SatTerminal,
        Self::SatBackhaul,
        Self::SatVehicle,
        Self::HardenedBaseStation,
        Self::Hub5g,
        Self::Microwave,
        Self::Haps,
        Self::Ppdr,
        Self::RepairShip,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::SatTerminal => "sat_terminal",
            Self::SatBackhaul => "sat_backhaul",
            Self::SatVehicle => "sat_vehicle",
            Self::HardenedBaseStation => "hardened_base_station",
            Self::Hub5g => "hub_5g",
            Self::Microwave => "microwave",
            Self::Haps => "haps",
            Self::Ppdr => "ppdr",
            Self::RepairShip => "repair_ship",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == s.trim())
    }

    /// Satellite kinds carry an orbit.
    pub fn has_orbit(self) -> bool {
        matches!(
            self,
            Self::SatTerminal | Self::SatBackhaul | Self::SatVehicle
        )
    }

    /// A short code for generated names and map glyphs.
    pub fn code(self) -> &'static str {
        match self {
            Self::SatTerminal => "SAT",
            Self::SatBackhaul => "SBH",
            Self::SatVehicle => "SMV",
            Self::HardenedBaseStation => "HBS",
            Self::Hub5g => "5G",
            Self::Microwave => "MW",
            Self::Haps => "HAP",
            Self::Ppdr => "PPD",
            Self::RepairShip => "SHIP",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum AssetStatus {
    Ready,
    Deployed,
    Degraded,
    Offline,
    Maintenance,
}

impl AssetStatus {
    pub const ALL: [AssetStatus; 5] = [
        Self::Ready,
        Self::Deployed,
        Self::Degraded,
        Self::Offline,
        Self::Maintenance,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Ready => "ready",
            Self::Deployed => "deployed",
            Self::Degraded => "degraded",
            Self::Offline => "offline",
            Self::Maintenance => "maintenance",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == s.trim())
    }

    /// Not able to carry traffic as planned: the watch should look at it.
    pub fn needs_attention(self) -> bool {
        matches!(self, Self::Degraded | Self::Offline | Self::Maintenance)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum Orbit {
    #[serde(rename = "LEO")]
    Leo,
    #[serde(rename = "MEO")]
    Meo,
    #[serde(rename = "GEO")]
    Geo,
}

impl Orbit {
    pub const ALL: [Orbit; 3] = [Self::Leo, Self::Meo, Self::Geo];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Leo => "LEO",
            Self::Meo => "MEO",
            Self::Geo => "GEO",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        let s = s.trim();
        Self::ALL
            .into_iter()
            .find(|o| o.as_str().eq_ignore_ascii_case(s))
    }
}

/// A validated asset, as stored (without id, version and source).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AssetDraft {
    pub name: String,
    pub kind: AssetKind,
    pub status: AssetStatus,
    pub lon: f64,
    pub lat: f64,
    /// The far end of a microwave link.
    pub end: Option<(f64, f64)>,
    pub region: String,
    pub capacity_mbps: Option<f64>,
    pub orbit: Option<Orbit>,
    pub operator: String,
    pub programme: String,
    /// Repair ships: home port and maintenance zone.
    pub home_port: String,
    pub zone: String,
    pub notes: String,
}

/// A backup asset in the registry.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Asset {
    pub id: i64,
    #[serde(flatten)]
    pub draft: AssetDraft,
    /// `synthetic`, `reference`, or who created it (`user:NAME`, `import:…`).
    pub source: String,
    pub version: i64,
}

impl Asset {
    pub fn is_synthetic(&self) -> bool {
        self.source == SOURCE_SYNTHETIC
    }
}

/// An asset form as typed: every field a string, so nothing typed is lost.
/// The same columns make the CSV format.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(default)]
pub struct AssetForm {
    pub name: String,
    pub kind: String,
    pub status: String,
    pub lon: String,
    pub lat: String,
    pub end_lon: String,
    pub end_lat: String,
    pub region: String,
    pub capacity_mbps: String,
    pub orbit: String,
    pub operator: String,
    pub programme: String,
    pub home_port: String,
    pub zone: String,
    pub notes: String,
}

/// The CSV columns, in order (the header of an export).
pub const CSV_COLUMNS: [&str; 15] = [
    "name",
    "kind",
    "status",
    "lon",
    "lat",
    "end_lon",
    "end_lat",
    "region",
    "capacity_mbps",
    "orbit",
    "operator",
    "programme",
    "home_port",
    "zone",
    "notes",
];

fn num_text(v: f64) -> String {
    // Enough digits for about 1 m; no trailing zeros.
    let s = format!("{v:.6}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    if s == "-0" {
        "0".into()
    } else {
        s.to_string()
    }
}

impl AssetForm {
    pub fn from_draft(d: &AssetDraft) -> Self {
        Self {
            name: d.name.clone(),
            kind: d.kind.as_str().into(),
            status: d.status.as_str().into(),
            lon: num_text(d.lon),
            lat: num_text(d.lat),
            end_lon: d.end.map(|e| num_text(e.0)).unwrap_or_default(),
            end_lat: d.end.map(|e| num_text(e.1)).unwrap_or_default(),
            region: d.region.clone(),
            capacity_mbps: d.capacity_mbps.map(num_text).unwrap_or_default(),
            orbit: d.orbit.map(|o| o.as_str().to_string()).unwrap_or_default(),
            operator: d.operator.clone(),
            programme: d.programme.clone(),
            home_port: d.home_port.clone(),
            zone: d.zone.clone(),
            notes: d.notes.clone(),
        }
    }

    fn as_row(&self) -> [&str; 15] {
        [
            &self.name,
            &self.kind,
            &self.status,
            &self.lon,
            &self.lat,
            &self.end_lon,
            &self.end_lat,
            &self.region,
            &self.capacity_mbps,
            &self.orbit,
            &self.operator,
            &self.programme,
            &self.home_port,
            &self.zone,
            &self.notes,
        ]
    }

    /// Checks every field and builds the draft, or names every bad field.
    pub fn validate(&self) -> Result<AssetDraft, Vec<FieldError>> {
        let mut errs = Vec::new();
        let name = self.name.trim();
        if name.is_empty() {
            errs.push(FieldError::new("name", "required", "enter a name"));
        }
        short("name", name, MAX_NAME, &mut errs);
        let kind = AssetKind::parse(&self.kind);
        if kind.is_none() {
            errs.push(FieldError::new(
                "kind",
                if self.kind.trim().is_empty() {
                    "required"
                } else {
                    "bad_choice"
                },
                format!(
                    "choose a kind: {}",
                    AssetKind::ALL.map(AssetKind::as_str).join(", ")
                ),
            ));
        }
        let status = if self.status.trim().is_empty() {
            Some(AssetStatus::Ready)
        } else {
            AssetStatus::parse(&self.status)
        };
        if status.is_none() {
            errs.push(FieldError::new(
                "status",
                "bad_choice",
                format!(
                    "choose a status: {}",
                    AssetStatus::ALL.map(AssetStatus::as_str).join(", ")
                ),
            ));
        }
        let lon = coord("lon", &self.lon, 180.0, true, &mut errs);
        let lat = coord("lat", &self.lat, 90.0, true, &mut errs);
        let end_lon = coord("end_lon", &self.end_lon, 180.0, false, &mut errs);
        let end_lat = coord("end_lat", &self.end_lat, 90.0, false, &mut errs);
        let end = match (end_lon, end_lat) {
            (Some(x), Some(y)) => Some((x, y)),
            _ => None,
        };
        if kind == Some(AssetKind::Microwave) {
            for (f, v) in [("end_lon", &self.end_lon), ("end_lat", &self.end_lat)] {
                if v.trim().is_empty() {
                    errs.push(FieldError::new(
                        f,
                        "required",
                        "a microwave link needs its far end",
                    ));
                }
            }
        } else if kind.is_some()
            && !(self.end_lon.trim().is_empty() && self.end_lat.trim().is_empty())
        {
            errs.push(FieldError::new(
                "end_lon",
                "not_applicable",
                "only a microwave link has a far end",
            ));
        }
        let region = self.region.trim();
        if region.is_empty() {
            errs.push(FieldError::new(
                "region",
                "required",
                "enter the region (e.g. Matsu, Penghu, Hualien)",
            ));
        }
        short("region", region, MAX_SHORT, &mut errs);
        let capacity_mbps = match self.capacity_mbps.trim() {
            "" => None,
            s => match s.parse::<f64>() {
                Ok(c) if c.is_finite() && (0.0..=10_000_000.0).contains(&c) => Some(c),
                _ => {
                    errs.push(FieldError::new(
                        "capacity_mbps",
                        "bad_number",
                        "expected a capacity in Mbit/s, 0 or more",
                    ));
                    None
                }
            },
        };
        let orbit = match self.orbit.trim() {
            "" => None,
            s => match Orbit::parse(s) {
                Some(o) if kind.is_none_or(AssetKind::has_orbit) => Some(o),
                Some(_) => {
                    errs.push(FieldError::new(
                        "orbit",
                        "not_applicable",
                        "only satellite assets have an orbit",
                    ));
                    None
                }
                None => {
                    errs.push(FieldError::new(
                        "orbit",
                        "bad_choice",
                        "choose LEO, MEO or GEO",
                    ));
                    None
                }
            },
        };
        if kind == Some(AssetKind::RepairShip) {
            for (f, v) in [("home_port", &self.home_port), ("zone", &self.zone)] {
                if v.trim().is_empty() {
                    errs.push(FieldError::new(
                        f,
                        "required",
                        "a repair ship needs its home port and maintenance zone",
                    ));
                }
            }
        }
        for (f, v) in [
            ("operator", &self.operator),
            ("programme", &self.programme),
            ("home_port", &self.home_port),
            ("zone", &self.zone),
        ] {
            short(f, v.trim(), MAX_SHORT, &mut errs);
        }
        if self.notes.chars().count() > MAX_TEXT {
            errs.push(FieldError::new(
                "notes",
                "too_long",
                format!("at most {MAX_TEXT} characters"),
            ));
        }
        match (kind, status, lon, lat) {
            (Some(kind), Some(status), Some(lon), Some(lat)) if errs.is_empty() => Ok(AssetDraft {
                name: name.to_string(),
                kind,
                status,
                lon,
                lat,
                end: if kind == AssetKind::Microwave {
                    end
                } else {
                    None
                },
                region: region.to_string(),
                capacity_mbps,
                orbit,
                operator: self.operator.trim().to_string(),
                programme: self.programme.trim().to_string(),
                home_port: self.home_port.trim().to_string(),
                zone: self.zone.trim().to_string(),
                notes: self.notes.clone(),
            }),
            _ => Err(errs),
        }
    }
}

fn short(field: &str, v: &str, max: usize, errs: &mut Vec<FieldError>) {
    if v.chars().count() > max {
        errs.push(FieldError::new(
            field,
            "too_long",
            format!("at most {max} characters"),
        ));
    }
}

fn coord(
    field: &str,
    v: &str,
    max: f64,
    required: bool,
    errs: &mut Vec<FieldError>,
) -> Option<f64> {
    match v.trim() {
        "" if !required => None,
        "" => {
            errs.push(FieldError::new(
                field,
                "required",
                "enter a coordinate in degrees",
            ));
            None
        }
        s => match s.parse::<f64>() {
            Ok(x) if x.is_finite() && x.abs() <= max => Some(x),
            _ => {
                errs.push(FieldError::new(
                    field,
                    "bad_coordinate",
                    format!("expected decimal degrees between -{max} and {max}"),
                ));
                None
            }
        },
    }
}

/// A filter on the asset list; empty fields match everything.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema, utoipa::IntoParams))]
#[cfg_attr(feature = "openapi", into_params(parameter_in = Query))]
#[serde(default)]
pub struct AssetFilter {
    pub kind: String,
    pub status: String,
    pub region: String,
    /// Case-insensitive part of the name, operator or programme.
    pub q: String,
}

impl AssetFilter {
    pub fn matches(&self, a: &Asset) -> bool {
        let d = &a.draft;
        (self.kind.is_empty() || d.kind.as_str() == self.kind)
            && (self.status.is_empty() || d.status.as_str() == self.status)
            && (self.region.is_empty() || d.region == self.region)
            && (self.q.trim().is_empty() || {
                let q = self.q.trim().to_lowercase();
                [&d.name, &d.operator, &d.programme]
                    .iter()
                    .any(|f| f.to_lowercase().contains(&q))
            })
    }
}

/// Counts of the whole registry by kind, region and status, and by kind × status.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AssetCounts {
    pub total: usize,
    pub synthetic: usize,
    pub by_kind: BTreeMap<String, usize>,
    pub by_region: BTreeMap<String, usize>,
    pub by_status: BTreeMap<String, usize>,
    /// `kind` → `status` → count.
    pub by_kind_status: BTreeMap<String, BTreeMap<String, usize>>,
}

pub fn count_assets<'a>(assets: impl IntoIterator<Item = &'a Asset>) -> AssetCounts {
    let mut c = AssetCounts::default();
    for a in assets {
        let d = &a.draft;
        c.total += 1;
        if a.is_synthetic() {
            c.synthetic += 1;
        }
        *c.by_kind.entry(d.kind.as_str().into()).or_default() += 1;
        *c.by_region.entry(d.region.clone()).or_default() += 1;
        *c.by_status.entry(d.status.as_str().into()).or_default() += 1;
        *c.by_kind_status
            .entry(d.kind.as_str().into())
            .or_default()
            .entry(d.status.as_str().into())
            .or_default() += 1;
    }
    c
}

/// Writes assets as CSV with the [`CSV_COLUMNS`] header.
pub fn write_csv<'a>(assets: impl IntoIterator<Item = &'a AssetDraft>) -> String {
    let mut w = csv::Writer::from_writer(Vec::new());
    // Writing to a Vec cannot fail on I/O; a record error would be a bug, so
    // it is skipped rather than half-written.
    let _ = w.write_record(CSV_COLUMNS);
    for d in assets {
        let form = AssetForm::from_draft(d);
        let _ = w.write_record(form.as_row().iter().map(|c| csv_cell_out(c).into_owned()));
    }
    w.into_inner()
        .map(|b| String::from_utf8_lossy(&b).into_owned())
        .unwrap_or_default()
}

/// Characters that make a spreadsheet read a cell as a formula (OWASP CSV injection).
const FORMULA_START: [char; 6] = ['=', '+', '-', '@', '\t', '\r'];

/// A cell as written to CSV: text a spreadsheet would run as a formula is
/// prefixed with `'` (numbers such as `-12.5` are left as they are).
/// A cell that already starts with `'` before such a character (or another
/// `'`) gets one more, so reading it back is never ambiguous.
pub fn csv_cell_out(cell: &str) -> std::borrow::Cow<'_, str> {
    let formula = cell.starts_with(FORMULA_START) && cell.parse::<f64>().is_err();
    let quoted = cell
        .strip_prefix('\'')
        .is_some_and(|rest| rest.starts_with(FORMULA_START) || rest.starts_with('\''));
    if formula || quoted {
        std::borrow::Cow::Owned(format!("'{cell}"))
    } else {
        std::borrow::Cow::Borrowed(cell)
    }
}

/// A CSV cell as read: undoes [`csv_cell_out`], so an export imports as it was.
pub fn csv_cell_in(cell: &str) -> &str {
    match cell.strip_prefix('\'') {
        Some(rest) if rest.starts_with(FORMULA_START) || rest.starts_with('\'') => rest,
        _ => cell,
    }
}

/// An input line (or GeoJSON feature) that could not be read, with every problem.
fn line_issue(line: usize, errs: &[FieldError]) -> LineIssue {
    LineIssue {
        line,
        message: errs
            .iter()
            .map(|e| format!("{}: {}", e.field, e.message))
            .collect::<Vec<_>>()
            .join("; "),
    }
}

/// Checks a batch: every row valid and no name twice. Returns the drafts in
/// order, or every bad row named by its line (or feature) number.
fn check_batch(
    rows: Vec<(usize, AssetForm)>,
    mut issues: Vec<LineIssue>,
) -> Result<Vec<AssetDraft>, Vec<LineIssue>> {
    let mut seen: BTreeMap<String, usize> = BTreeMap::new();
    let mut out = Vec::new();
    for (line, form) in rows {
        match form.validate() {
            Ok(d) => {
                if let Some(first) = seen.insert(d.name.clone(), line) {
                    issues.push(LineIssue {
                        line,
                        message: format!("name: {:?} is already used on line {first}", d.name),
                    });
                }
                out.push(d);
            }
            Err(errs) => issues.push(line_issue(line, &errs)),
        }
    }
    if out.is_empty() && issues.is_empty() {
        issues.push(LineIssue {
            line: 1,
            message: "no assets in the file".into(),
        });
    }
    if issues.is_empty() {
        Ok(out)
    } else {
        issues.sort_by_key(|i| i.line);
        Err(issues)
    }
}

/// Reads the CSV format: a header naming known columns (`name`, `kind`,
/// `lon`, `lat` and `region` at least), one asset per row. Line numbers are
/// the file's own (the header is line 1).
pub fn parse_csv(text: &str) -> Result<Vec<AssetDraft>, Vec<LineIssue>> {
    let mut rdr = csv::ReaderBuilder::new()
        .flexible(false)
        .trim(csv::Trim::All)
        .from_reader(text.trim_start_matches('\u{feff}').as_bytes());
    let header = match rdr.headers() {
        Ok(h) => h.clone(),
        Err(e) => {
            return Err(vec![LineIssue {
                line: 1,
                message: format!("the header cannot be read: {e}"),
            }])
        }
    };
    let mut issues = Vec::new();
    for col in header.iter() {
        if !CSV_COLUMNS.contains(&col) {
            issues.push(LineIssue {
                line: 1,
                message: format!(
                    "unknown column {col:?}; the columns are {}",
                    CSV_COLUMNS.join(", ")
                ),
            });
        }
    }
    for need in ["name", "kind", "lon", "lat", "region"] {
        if !header.iter().any(|c| c == need) {
            issues.push(LineIssue {
                line: 1,
                message: format!("missing column {need:?}"),
            });
        }
    }
    if !issues.is_empty() {
        return Err(issues);
    }
    let mut rows = Vec::new();
    for rec in rdr.records() {
        match rec {
            Ok(r) => {
                let line = r.position().map(|p| p.line() as usize).unwrap_or(0);
                if r.iter().all(str::is_empty) {
                    continue;
                }
                let mut f = AssetForm::default();
                for (col, v) in header.iter().zip(r.iter()) {
                    let v = csv_cell_in(v).to_string();
                    match col {
                        "name" => f.name = v,
                        "kind" => f.kind = v,
                        "status" => f.status = v,
                        "lon" => f.lon = v,
                        "lat" => f.lat = v,
                        "end_lon" => f.end_lon = v,
                        "end_lat" => f.end_lat = v,
                        "region" => f.region = v,
                        "capacity_mbps" => f.capacity_mbps = v,
                        "orbit" => f.orbit = v,
                        "operator" => f.operator = v,
                        "programme" => f.programme = v,
                        "home_port" => f.home_port = v,
                        "zone" => f.zone = v,
                        "notes" => f.notes = v,
                        _ => {}
                    }
                }
                rows.push((line, f));
            }
            Err(e) => issues.push(LineIssue {
                line: e.position().map(|p| p.line() as usize).unwrap_or(0),
                message: format!("the row cannot be read: {e}"),
            }),
        }
    }
    check_batch(rows, issues)
}

/// RFC 7946 GeoJSON of assets: points, and microwave links as two-point lines.
pub fn assets_geojson<'a>(
    assets: impl IntoIterator<Item = &'a Asset>,
) -> geojson::FeatureCollection {
    let features = assets
        .into_iter()
        .map(|a| {
            let d = &a.draft;
            let geometry = match d.end {
                Some(e) => geojson::Geometry::new_line_string([(d.lon, d.lat), e]),
                None => geojson::Geometry::new_point((d.lon, d.lat)),
            };
            let mut props = serde_json::Map::new();
            let form = AssetForm::from_draft(d);
            if let Ok(serde_json::Value::Object(m)) = serde_json::to_value(&form) {
                for (k, v) in m {
                    if !matches!(k.as_str(), "lon" | "lat" | "end_lon" | "end_lat") {
                        props.insert(k, v);
                    }
                }
            }
            props.insert("id".into(), a.id.into());
            props.insert("version".into(), a.version.into());
            props.insert("source".into(), a.source.clone().into());
            props.insert("synthetic".into(), a.is_synthetic().into());
            props.insert(
                "geometry_quality".into(),
                if a.source == SOURCE_REFERENCE || a.is_synthetic() {
                    "approximate"
                } else {
                    "as_entered"
                }
                .into(),
            );
            geojson::Feature {
                bbox: None,
                geometry: Some(geometry),
                id: Some(geojson::feature::Id::Number(a.id.into())),
                properties: Some(props),
                foreign_members: None,
            }
        })
        .collect();
    geojson::FeatureCollection {
        bbox: None,
        features,
        foreign_members: None,
    }
}

/// Reads a GeoJSON FeatureCollection of assets: a Point (or, for a microwave
/// link, a two-point LineString) with the CSV columns as properties. Bad
/// features are named by number, from 1.
pub fn parse_geojson(text: &str) -> Result<Vec<AssetDraft>, Vec<LineIssue>> {
    let fc = match text.parse::<geojson::GeoJson>() {
        Ok(geojson::GeoJson::FeatureCollection(fc)) => fc,
        Ok(_) => {
            return Err(vec![LineIssue {
                line: 1,
                message: "expected a GeoJSON FeatureCollection".into(),
            }])
        }
        Err(e) => {
            return Err(vec![LineIssue {
                line: 1,
                message: format!("not GeoJSON: {e}"),
            }])
        }
    };
    let mut rows = Vec::new();
    let mut issues = Vec::new();
    for (i, f) in fc.features.into_iter().enumerate() {
        let n = i + 1;
        let mut form = AssetForm::default();
        if let Some(props) = &f.properties {
            let text = |k: &str| -> String {
                match props.get(k) {
                    Some(serde_json::Value::String(s)) => s.clone(),
                    Some(serde_json::Value::Number(x)) => x.to_string(),
                    _ => String::new(),
                }
            };
            form.name = text("name");
            form.kind = text("kind");
            form.status = text("status");
            form.region = text("region");
            form.capacity_mbps = text("capacity_mbps");
            form.orbit = text("orbit");
            form.operator = text("operator");
            form.programme = text("programme");
            form.home_port = text("home_port");
            form.zone = text("zone");
            form.notes = text("notes");
        }
        match f.geometry.map(|g| g.value) {
            Some(geojson::GeometryValue::Point { coordinates: p }) if p.len() >= 2 => {
                form.lon = p[0].to_string();
                form.lat = p[1].to_string();
            }
            Some(geojson::GeometryValue::LineString { coordinates: l })
                if l.len() == 2 && l.iter().all(|p| p.len() >= 2) =>
            {
                form.lon = l[0][0].to_string();
                form.lat = l[0][1].to_string();
                form.end_lon = l[1][0].to_string();
                form.end_lat = l[1][1].to_string();
            }
            _ => {
                issues.push(LineIssue {
                    line: n,
                    message: "geometry: expected a Point, or a LineString of two points for a microwave link".into(),
                });
                continue;
            }
        }
        rows.push((n, form));
    }
    check_batch(rows, issues)
}

/// What an asset import would do or did.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AssetImportReport {
    pub created: usize,
    pub updated: usize,
    pub unchanged: usize,
    /// False for a preview.
    pub written: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok_form() -> AssetForm {
        AssetForm {
            name: "Nangan hotspot 1".into(),
            kind: "sat_terminal".into(),
            lon: "119.95".into(),
            lat: "26.16".into(),
            region: "Matsu".into(),
            orbit: "leo".into(),
            ..Default::default()
        }
    }

    #[test]
    fn kind_and_status_codes_are_the_same_in_json_and_forms() {
        for k in AssetKind::ALL {
            assert_eq!(serde_json::to_value(k).ok(), Some(k.as_str().into()));
        }
        for s in AssetStatus::ALL {
            assert_eq!(serde_json::to_value(s).ok(), Some(s.as_str().into()));
        }
    }

    #[test]
    fn a_valid_form_becomes_a_draft_with_defaults() {
        let d = ok_form().validate().expect("valid");
        assert_eq!(d.status, AssetStatus::Ready);
        assert_eq!(d.orbit, Some(Orbit::Leo));
        assert_eq!(d.end, None);
    }

    #[test]
    fn every_bad_field_is_named() {
        let f = AssetForm {
            name: String::new(),
            kind: "submarine".into(),
            status: "lost".into(),
            lon: "200".into(),
            lat: "north".into(),
            region: String::new(),
            capacity_mbps: "-5".into(),
            ..Default::default()
        };
        let errs = f.validate().expect_err("invalid");
        let fields: Vec<&str> = errs.iter().map(|e| e.field.as_str()).collect();
        for want in [
            "name",
            "kind",
            "status",
            "lon",
            "lat",
            "region",
            "capacity_mbps",
        ] {
            assert!(fields.contains(&want), "{want} missing from {fields:?}");
        }
    }

    #[test]
    fn kind_specific_rules() {
        let mw = AssetForm {
            kind: "microwave".into(),
            orbit: String::new(),
            ..ok_form()
        };
        let errs = mw.validate().expect_err("needs far end");
        assert!(errs
            .iter()
            .any(|e| e.field == "end_lon" && e.code == "required"));
        let ship = AssetForm {
            kind: "repair_ship".into(),
            orbit: String::new(),
            ..ok_form()
        };
        let errs = ship.validate().expect_err("needs port and zone");
        assert!(errs.iter().any(|e| e.field == "home_port"));
        assert!(errs.iter().any(|e| e.field == "zone"));
        let bs_with_orbit = AssetForm {
            kind: "hardened_base_station".into(),
            ..ok_form()
        };
        let errs = bs_with_orbit.validate().expect_err("no orbit");
        assert!(errs
            .iter()
            .any(|e| e.field == "orbit" && e.code == "not_applicable"));
        let bs_with_end = AssetForm {
            kind: "ppdr".into(),
            orbit: String::new(),
            end_lon: "120".into(),
            ..ok_form()
        };
        assert!(bs_with_end.validate().is_err());
    }

    #[test]
    fn csv_cells_that_a_spreadsheet_would_run_are_neutralised_and_read_back() {
        let evil = AssetForm {
            name: "=HYPERLINK(\"http://x.example\",\"go\")".into(),
            operator: "+cmd|' /C calc'!A0".into(),
            programme: "@SUM(1+1)".into(),
            notes: "-2+3".into(),
            zone: "'=already quoted".into(),
            ..ok_form()
        }
        .validate()
        .expect("valid");
        let text = write_csv([&evil]);
        let row = text.lines().nth(1).expect("a row");
        assert!(
            row.starts_with("'=HYPERLINK") || row.starts_with("\"'=HYPERLINK"),
            "{row}"
        );
        for cell in ["'+cmd", "'@SUM", "'-2+3"] {
            assert!(row.contains(cell), "{cell} not neutralised in {row}");
        }
        assert!(
            !row.contains(",=") && !row.contains(",+") && !row.contains(",@"),
            "{row}"
        );
        // Numbers stay numbers; plain text keeps its own quote.
        assert_eq!(csv_cell_out("-12.5"), "-12.5");
        assert_eq!(csv_cell_out("'tis"), "'tis");
        for cell in ["'", "''", "'''=", "'tis", "=1", "x"] {
            assert_eq!(csv_cell_in(&csv_cell_out(cell)), cell);
        }
        let back = parse_csv(&text).expect("reads back");
        assert_eq!(back, vec![evil]);
    }

    #[test]
    fn csv_round_trips_and_bad_lines_are_all_named() {
        let a = ok_form().validate().expect("valid");
        let b = AssetForm {
            name: "Matsu microwave".into(),
            kind: "microwave".into(),
            orbit: String::new(),
            end_lon: "121.44".into(),
            end_lat: "25.17".into(),
            capacity_mbps: "12600".into(),
            notes: "text, with \"quotes\"\nand a new line".into(),
            ..ok_form()
        }
        .validate()
        .expect("valid");
        let text = write_csv([&a, &b]);
        assert_eq!(parse_csv(&text).expect("round trip"), vec![a, b]);

        let bad = "name,kind,lon,lat,region\n\
                   ok one,ppdr,121,24,Hualien\n\
                   ,ppdr,121,24,Hualien\n\
                   two,boat,121,24,Hualien\n\
                   ok one,ppdr,121,24,Hualien\n";
        let issues = parse_csv(bad).expect_err("bad lines");
        let lines: Vec<usize> = issues.iter().map(|i| i.line).collect();
        assert_eq!(lines, vec![3, 4, 5], "{issues:?}");
        assert!(issues[2].message.contains("line 2"));

        let unknown = parse_csv("name,kind,colour\n").expect_err("header");
        assert!(unknown.iter().any(|i| i.message.contains("colour")));
        assert!(unknown.iter().any(|i| i.message.contains("\"lon\"")));
        assert!(
            parse_csv("name,kind,lon,lat,region\n").is_err(),
            "an empty file is refused"
        );
    }

    #[test]
    fn geojson_round_trips_and_bad_features_are_named() {
        let mut mw = ok_form();
        mw.kind = "microwave".into();
        mw.orbit = String::new();
        mw.end_lon = "121.44".into();
        mw.end_lat = "25.17".into();
        let assets: Vec<Asset> = [ok_form(), mw]
            .into_iter()
            .enumerate()
            .map(|(i, f)| Asset {
                id: i as i64 + 1,
                draft: AssetForm {
                    name: format!("a{i}"),
                    ..f
                }
                .validate()
                .expect("valid"),
                source: "user:x".into(),
                version: 1,
            })
            .collect();
        let text = assets_geojson(&assets).to_string();
        let back = parse_geojson(&text).expect("round trip");
        assert_eq!(
            back,
            assets.iter().map(|a| a.draft.clone()).collect::<Vec<_>>()
        );

        let bad = r#"{"type":"FeatureCollection","features":[
            {"type":"Feature","geometry":{"type":"Point","coordinates":[121,24]},"properties":{"name":"x","kind":"ppdr","region":"Hualien"}},
            {"type":"Feature","geometry":null,"properties":{"name":"y","kind":"ppdr","region":"Hualien"}},
            {"type":"Feature","geometry":{"type":"Point","coordinates":[121,24]},"properties":{"kind":"ppdr"}}]}"#;
        let issues = parse_geojson(bad).expect_err("bad");
        assert_eq!(
            issues.iter().map(|i| i.line).collect::<Vec<_>>(),
            vec![2, 3]
        );
        assert!(parse_geojson("[1,2]").is_err());
    }

    #[test]
    fn counts_and_filters() {
        let mk = |name: &str, kind: &str, status: &str, region: &str, source: &str| Asset {
            id: 1,
            draft: AssetForm {
                name: name.into(),
                kind: kind.into(),
                status: status.into(),
                region: region.into(),
                orbit: String::new(),
                ..ok_form()
            }
            .validate()
            .expect("valid"),
            source: source.into(),
            version: 1,
        };
        let all = [
            mk("a", "ppdr", "ready", "Matsu", SOURCE_SYNTHETIC),
            mk("b", "ppdr", "offline", "Penghu", "user:x"),
            mk("c", "hub_5g", "ready", "Matsu", SOURCE_SYNTHETIC),
        ];
        let c = count_assets(&all);
        assert_eq!(c.total, 3);
        assert_eq!(c.synthetic, 2);
        assert_eq!(c.by_kind["ppdr"], 2);
        assert_eq!(c.by_region["Matsu"], 2);
        assert_eq!(c.by_kind_status["ppdr"]["offline"], 1);
        let f = AssetFilter {
            kind: "ppdr".into(),
            region: "Matsu".into(),
            ..Default::default()
        };
        assert_eq!(all.iter().filter(|a| f.matches(a)).count(), 1);
        let q = AssetFilter {
            q: "B".into(),
            ..Default::default()
        };
        assert_eq!(all.iter().filter(|a| q.matches(a)).count(), 1);
    }
}
