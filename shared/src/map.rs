//! What the map shows, as data: each cable's state from its faults and
//! maintenance, where each fault lies on its cable (chainage), and the
//! RFC 7946 GeoJSON the API serves. Geometry honesty travels with the data:
//! routes are `schematic`, fault pins on them `approximate`.

use geojson::{Feature, FeatureCollection, Geometry, GeometryValue, JsonObject};
use serde::{Deserialize, Serialize};

use crate::chainage::{place, Placement};
use crate::fault::{Fault, FaultKind};
use crate::notice::MaintenanceLine;
use crate::reference::{Cable, CoordPrecision, Station};

/// A cable's state on the map.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum CableState {
    InService,
    /// Open faults, none of them a cut.
    Degraded,
    /// At least one open cut.
    Cut,
    /// Planned maintenance and no open fault.
    Maintenance,
}

impl CableState {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::InService => "in_service",
            Self::Degraded => "degraded",
            Self::Cut => "cut",
            Self::Maintenance => "maintenance",
        }
    }
}

/// The state of `cable` given every fault and the open maintenance.
/// A cable with any open cut is cut.
pub fn cable_state(cable: &str, faults: &[Fault], maintenance: &[MaintenanceLine]) -> CableState {
    let open: Vec<&Fault> = faults
        .iter()
        .filter(|f| f.cable == cable && f.status.is_active())
        .collect();
    if open.iter().any(|f| f.kind == FaultKind::Cut) {
        CableState::Cut
    } else if !open.is_empty() {
        CableState::Degraded
    } else if maintenance.iter().any(|m| m.cable == cable) {
        CableState::Maintenance
    } else {
        CableState::InService
    }
}

/// Where a fault lies on its cable's schematic route, if its reference place
/// is a registered station near one end of the route.
pub fn fault_position(fault: &Fault, cables: &[Cable], stations: &[Station]) -> Option<Placement> {
    let cable = cables.iter().find(|c| c.abbrev == fault.cable)?;
    let sid = fault.chainage.station.as_deref()?;
    let st = stations.iter().find(|s| s.id == sid)?;
    place(&cable.route, (st.lon, st.lat), fault.chainage.km)
}

fn props(pairs: Vec<(&str, serde_json::Value)>) -> JsonObject {
    pairs.into_iter().map(|(k, v)| (k.to_string(), v)).collect()
}

fn feature(geometry: GeometryValue, properties: JsonObject, id: &str) -> Feature {
    Feature {
        bbox: None,
        geometry: Some(Geometry::new(geometry)),
        id: Some(geojson::feature::Id::String(id.to_string())),
        properties: Some(properties),
        foreign_members: None,
    }
}

/// Cables as LineStrings with their state; every route is schematic.
pub fn cables_geojson(
    cables: &[Cable],
    faults: &[Fault],
    maintenance: &[MaintenanceLine],
) -> FeatureCollection {
    let features = cables
        .iter()
        .filter(|c| c.route.len() >= 2)
        .map(|c| {
            feature(
                GeometryValue::new_line_string(c.route.iter().copied()),
                props(vec![
                    ("abbrev", c.abbrev.clone().into()),
                    ("name_zh", c.name_zh.clone().into()),
                    ("name_en", c.name_en.clone().into()),
                    (
                        "state",
                        cable_state(&c.abbrev, faults, maintenance).as_str().into(),
                    ),
                    ("geometry_quality", "schematic".into()),
                ]),
                &c.abbrev,
            )
        })
        .collect();
    FeatureCollection {
        bbox: None,
        features,
        foreign_members: None,
    }
}

/// Open (or all) faults as Points placed by chainage; a fault that cannot be
/// placed (its place is not a landing station) has no geometry, as RFC 7946
/// allows, and says why.
pub fn faults_geojson(
    faults: &[Fault],
    cables: &[Cable],
    stations: &[Station],
) -> FeatureCollection {
    let features = faults
        .iter()
        .map(|f| {
            let at = fault_position(f, cables, stations);
            let mut p = props(vec![
                ("fault_id", f.id.into()),
                ("cable", f.cable.clone().into()),
                ("kind", f.kind.as_str().into()),
                ("status", f.status.as_str().into()),
                ("place", f.chainage.place.clone().into()),
                ("km", f.chainage.km.into()),
                (
                    "geometry_quality",
                    if at.is_some() {
                        "approximate"
                    } else {
                        "unresolved"
                    }
                    .into(),
                ),
            ]);
            if let Some(a) = at {
                p.insert("beyond_route".into(), a.beyond_route.into());
            }
            Feature {
                bbox: None,
                geometry: at.map(|a| Geometry::new(GeometryValue::new_point((a.lon, a.lat)))),
                id: Some(geojson::feature::Id::Number(f.id.into())),
                properties: Some(p),
                foreign_members: None,
            }
        })
        .collect();
    FeatureCollection {
        bbox: None,
        features,
        foreign_members: None,
    }
}

/// Landing stations as Points; town-level ones are marked approximate.
pub fn stations_geojson(stations: &[Station]) -> FeatureCollection {
    let features = stations
        .iter()
        .map(|s| {
            let quality = match s.precision {
                CoordPrecision::Published => "published",
                CoordPrecision::Approximate => "approximate",
            };
            feature(
                GeometryValue::new_point((s.lon, s.lat)),
                props(vec![
                    ("id", s.id.clone().into()),
                    ("name_zh", s.name_zh.clone().into()),
                    ("name_en", s.name_en.clone().into()),
                    ("region", s.region.clone().into()),
                    ("geometry_quality", quality.into()),
                ]),
                &s.id,
            )
        })
        .collect();
    FeatureCollection {
        bbox: None,
        features,
        foreign_members: None,
    }
}

/// A cable as the map draws it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MapCable {
    pub abbrev: String,
    pub name_zh: String,
    pub name_en: String,
    pub state: CableState,
    /// Schematic route, (lon, lat).
    pub route: Vec<(f64, f64)>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MapStation {
    pub id: String,
    pub name_zh: String,
    pub name_en: String,
    pub lon: f64,
    pub lat: f64,
    pub approximate: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MapFault {
    pub id: i64,
    pub cable: String,
    pub kind: FaultKind,
    pub description: String,
    pub place: String,
    pub km: f64,
    /// On the schematic route (approximate); `None` when the place is not a station.
    pub position: Option<(f64, f64)>,
    /// Registered cables named as alternate routes (text alternates such as 微波 are not drawn).
    pub alternates: Vec<String>,
}

/// An island's standing on the map: a badge at the island.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MapIsland {
    pub region: crate::resilience::Region,
    pub status: crate::resilience::Status,
    pub capacity_gbps: f64,
    pub coverage: Option<f64>,
    pub lon: f64,
    pub lat: f64,
}

/// Everything the map page draws.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MapData {
    pub cables: Vec<MapCable>,
    pub stations: Vec<MapStation>,
    pub faults: Vec<MapFault>,
    /// Outlying islands with their resilience status (not the main island).
    #[serde(default)]
    pub islands: Vec<MapIsland>,
    /// Cables carrying an outlying island's traffic now.
    #[serde(default)]
    pub carrying: Vec<String>,
}

/// The island badges and the cables carrying outlying islands' traffic,
/// from a resilience report.
pub fn island_layer(report: &crate::resilience::Report) -> (Vec<MapIsland>, Vec<String>) {
    use crate::resilience::{LinkKind, Region, Status};
    let mut carrying = std::collections::BTreeSet::new();
    let islands = report
        .islands
        .iter()
        .map(|i| &i.figures)
        .filter(|f| f.region != Region::Taiwan && f.status != Status::NoFigures)
        .map(|f| {
            for c in f.carried_by.iter().filter(|c| c.kind == LinkKind::Cable) {
                carrying.insert(c.link.clone());
            }
            let (lon, lat) = f.region.center();
            MapIsland {
                region: f.region,
                status: f.status,
                capacity_gbps: f.capacity_gbps,
                coverage: f.coverage,
                lon,
                lat,
            }
        })
        .collect();
    // Taiwan's own international cables carry everyone's traffic: only the
    // island links are highlighted.
    let international: std::collections::BTreeSet<&str> = report
        .links
        .iter()
        .filter(|l| {
            l.a == crate::resilience::Node::International
                || l.b == crate::resilience::Node::International
        })
        .map(|l| l.id.as_str())
        .collect();
    carrying.retain(|c| !international.contains(c.as_str()));
    (islands, carrying.into_iter().collect())
}

/// The map's data from the registry's state: open faults only.
pub fn map_data(
    cables: &[Cable],
    stations: &[Station],
    faults: &[Fault],
    maintenance: &[MaintenanceLine],
) -> MapData {
    let open: Vec<Fault> = faults
        .iter()
        .filter(|f| f.status.is_active())
        .cloned()
        .collect();
    MapData {
        cables: cables
            .iter()
            .map(|c| MapCable {
                abbrev: c.abbrev.clone(),
                name_zh: c.name_zh.clone(),
                name_en: c.name_en.clone(),
                state: cable_state(&c.abbrev, &open, maintenance),
                route: c.route.clone(),
            })
            .collect(),
        stations: stations
            .iter()
            .map(|s| MapStation {
                id: s.id.clone(),
                name_zh: s.name_zh.clone(),
                name_en: s.name_en.clone(),
                lon: s.lon,
                lat: s.lat,
                approximate: s.precision == CoordPrecision::Approximate,
            })
            .collect(),
        faults: open
            .iter()
            .map(|f| MapFault {
                id: f.id,
                cable: f.cable.clone(),
                kind: f.kind,
                description: f.description.clone(),
                place: f.chainage.place.clone(),
                km: f.chainage.km,
                position: fault_position(f, cables, stations).map(|p| (p.lon, p.lat)),
                alternates: f
                    .alternate_routes
                    .iter()
                    .filter_map(|a| match a {
                        crate::fault::AlternateRoute::Cable { cable, .. } => Some(cable.clone()),
                        crate::fault::AlternateRoute::Text { .. } => None,
                    })
                    .collect(),
            })
            .collect(),
        islands: Vec::new(),
        carrying: Vec::new(),
    }
}

/// One marker of the asset layer: a single asset, or a cluster of `count`
/// assets of one kind (and one health: `attention` for degraded, offline or
/// in maintenance).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AssetMarker {
    pub kind: crate::assets::AssetKind,
    pub attention: bool,
    pub lon: f64,
    pub lat: f64,
    pub count: u32,
    /// Set for a single asset.
    pub id: Option<i64>,
    pub name: String,
    pub status: Option<crate::assets::AssetStatus>,
    /// The far end of a single microwave link.
    pub end: Option<(f64, f64)>,
    pub synthetic: bool,
}

/// How many SVG elements the asset layer may draw in one view. With the
/// land, cables, stations, pins and scale bar (about 100 more) the whole map
/// stays within 1,500 elements, so it renders and redraws quickly.
pub const ASSET_ELEMENT_BUDGET: usize = 500;

impl AssetMarker {
    /// SVG elements this marker draws: one, and a cluster adds its count.
    pub fn elements(&self) -> usize {
        if self.count > 1 {
            2
        } else {
            1
        }
    }
}

/// SVG elements drawn for `markers`.
pub fn asset_elements(markers: &[AssetMarker]) -> usize {
    markers.iter().map(AssetMarker::elements).sum()
}

/// A named view of the map: a lon/lat box.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct View {
    pub id: &'static str,
    pub west: f64,
    pub south: f64,
    pub east: f64,
    pub north: f64,
}

/// The zoom presets: the region (international cables), Taiwan, each outlying island group.
pub const VIEWS: [View; 6] = [
    View {
        id: "region",
        west: 112.0,
        south: 14.0,
        east: 132.0,
        north: 34.0,
    },
    View {
        id: "taiwan",
        west: 117.8,
        south: 21.6,
        east: 123.0,
        north: 26.7,
    },
    View {
        id: "matsu",
        west: 119.7,
        south: 25.9,
        east: 120.7,
        north: 26.5,
    },
    View {
        id: "kinmen",
        west: 118.1,
        south: 24.3,
        east: 118.6,
        north: 24.6,
    },
    View {
        id: "penghu",
        west: 119.2,
        south: 23.1,
        east: 119.8,
        north: 23.9,
    },
    View {
        id: "xiaoliuqiu",
        west: 120.25,
        south: 22.2,
        east: 120.7,
        north: 22.55,
    },
];

/// Width of the map's SVG coordinate space; the height follows the view.
pub const MAP_WIDTH: f64 = 1000.0;

impl View {
    pub fn by_id(id: &str) -> View {
        VIEWS
            .iter()
            .copied()
            .find(|v| v.id == id)
            .unwrap_or(VIEWS[1])
    }

    fn kx(&self) -> f64 {
        ((self.south + self.north) / 2.0).to_radians().cos()
    }

    /// The part of this view inside `bbox` (`[west, south, east, north]`),
    /// keeping the view's scale: the asset layer is fetched for the visible
    /// area only. A malformed box gives the whole view.
    pub fn within(&self, bbox: &[f64]) -> View {
        match bbox {
            [w, s, e, n] if w < e && s < n && [w, s, e, n].iter().all(|x| x.is_finite()) => View {
                west: w.max(self.west),
                south: s.max(self.south),
                east: e.min(self.east),
                north: n.min(self.north),
                ..*self
            },
            _ => *self,
        }
    }

    /// Height of the SVG for this view (equirectangular, scaled at mid-latitude).
    pub fn height(&self) -> f64 {
        MAP_WIDTH * (self.north - self.south) / ((self.east - self.west) * self.kx())
    }

    /// Projects lon/lat to SVG x/y.
    pub fn project(&self, lon: f64, lat: f64) -> (f64, f64) {
        let x = (lon - self.west) / (self.east - self.west) * MAP_WIDTH;
        let y = (self.north - lat) / (self.north - self.south) * self.height();
        (x, y)
    }

    /// An SVG path (`M x y L x y …`) for a (lon, lat) line.
    pub fn path(&self, line: &[(f64, f64)]) -> String {
        let mut out = String::new();
        let mut last = String::new();
        for (i, &(lon, lat)) in line.iter().enumerate() {
            let (x, y) = self.project(lon, lat);
            // A densified route has vertices closer than the path's precision:
            // a point that rounds to the one before adds nothing.
            let point = format!("{x:.1} {y:.1}");
            if i > 0 && point == last && i + 1 < line.len() {
                continue;
            }
            out.push_str(if i == 0 { "M" } else { "L" });
            out.push_str(&point);
            out.push(' ');
            last = point;
        }
        out.trim_end().to_string()
    }

    /// The asset layer as SVG markup, its symbols drawn at scale `k` (1 at
    /// the preset's own zoom, halved for each step in). A single asset is one
    /// element (a dot, or a dashed line for a microwave link); a cluster is a
    /// disc and its count. Each element carries `data-i`, the marker's index
    /// in `markers`, for the page's one click handler.
    ///
    /// Only numbers and the fixed kind and status names are written: no
    /// asset name or other typed text, so nothing here needs escaping.
    pub fn asset_layer_svg(&self, k: f64, markers: &[AssetMarker]) -> String {
        use std::fmt::Write;
        let mut out = String::with_capacity(markers.len() * 120);
        for (i, m) in markers.iter().enumerate() {
            let (x, y) = self.project(m.lon, m.lat);
            let kind = m.kind.as_str();
            let attention = if m.attention { " attention" } else { "" };
            // Writing to a String cannot fail.
            let _ = if m.count > 1 {
                let r = (7.0 + f64::from(m.count).log10() * 4.0) * k;
                write!(
                    out,
                    r#"<circle class="asset {kind}{attention} cluster" data-i="{i}" data-kind="{kind}" data-count="{n}" cx="{x:.2}" cy="{y:.2}" r="{r:.2}"/><text class="count" data-i="{i}" x="{x:.2}" y="{ty:.2}" font-size="{fs:.2}">{n}</text>"#,
                    n = m.count,
                    ty = y + 3.5 * k,
                    fs = 10.0 * k,
                )
            } else {
                let id = m.id.unwrap_or_default();
                let status = m.status.map(|s| s.as_str()).unwrap_or_default();
                match m.end.map(|(lon, lat)| self.project(lon, lat)) {
                    Some((ex, ey)) => write!(
                        out,
                        r#"<line class="asset {kind}{attention}" data-i="{i}" data-asset="{id}" data-kind="{kind}" data-status="{status}" x1="{x:.2}" y1="{y:.2}" x2="{ex:.2}" y2="{ey:.2}"/>"#
                    ),
                    None => write!(
                        out,
                        r#"<circle class="asset {kind}{attention}" data-i="{i}" data-asset="{id}" data-kind="{kind}" data-status="{status}" cx="{x:.2}" cy="{y:.2}" r="{r:.2}"/>"#,
                        r = 4.0 * k
                    ),
                }
            };
        }
        out
    }

    /// Length in SVG units of `km` at the view's mid-latitude (for the scale bar).
    pub fn km_to_px(&self, km: f64) -> f64 {
        let deg = km / (111.32 * self.kx());
        deg / (self.east - self.west) * MAP_WIDTH
    }
}

/// The offline basemap: land outlines from OpenStreetMap (ODbL), converted
/// once by `cargo xtask basemap` into `assets/land.json`.
const LAND_JSON: &str = include_str!("../../assets/land.json");

/// Attribution shown with the map, as the ODbL requires.
pub const LAND_ATTRIBUTION: &str = "Land: © OpenStreetMap contributors (ODbL)";

#[derive(Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
struct LandFile {
    rings: Vec<Vec<(f64, f64)>>,
}

pub(crate) fn land() -> &'static [Vec<(f64, f64)>] {
    static LAND: std::sync::OnceLock<Vec<Vec<(f64, f64)>>> = std::sync::OnceLock::new();
    LAND.get_or_init(|| {
        serde_json::from_str::<LandFile>(LAND_JSON)
            .map(|f| f.rings)
            .unwrap_or_default()
    })
}

impl View {
    /// The land inside this view as one SVG path, simplified to about one
    /// SVG unit (so the element count stays constant whatever the zoom).
    ///
    /// A preset's path is made once per process and reused.
    pub fn land_path(&self) -> String {
        static PRESETS: [std::sync::OnceLock<String>; VIEWS.len()] =
            [const { std::sync::OnceLock::new() }; VIEWS.len()];
        match VIEWS.iter().position(|v| v == self) {
            Some(i) => PRESETS[i].get_or_init(|| self.make_land_path()).clone(),
            None => self.make_land_path(),
        }
    }

    /// The land of this view as a standalone SVG document whose one path is
    /// `#land`, in the map's own units: pages draw it with `<use
    /// href="/map/land/{id}.svg#land">` and style it from their stylesheet
    /// (fill and stroke are inherited), so the outlines travel once per
    /// view, cached, and never in the page or the wasm.
    pub fn land_svg(&self) -> String {
        format!(
            "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {MAP_WIDTH:.0} {:.0}\">\
             <path id=\"land\" vector-effect=\"non-scaling-stroke\" d=\"{}\"/></svg>",
            self.height(),
            self.land_path()
        )
    }

    /// Where a page finds [`View::land_svg`]'s path.
    pub fn land_href(&self) -> String {
        format!("/map/land/{}.svg#land", self.id)
    }

    fn make_land_path(&self) -> String {
        use geo::{BoundingRect, Intersects, Simplify};
        let area = geo::Rect::new(
            geo::coord! { x: self.west, y: self.south },
            geo::coord! { x: self.east, y: self.north },
        );
        let eps = (self.east - self.west) / MAP_WIDTH;
        let mut d = String::new();
        for ring in land() {
            let line: geo::LineString = ring
                .iter()
                .map(|&(x, y)| geo::coord! { x: x, y: y })
                .collect();
            let Some(bb) = line.bounding_rect() else {
                continue;
            };
            if !bb.intersects(&area) {
                continue;
            }
            // Too small to see at this zoom.
            if (bb.width().max(bb.height())) < eps {
                continue;
            }
            let simple = line.simplify(eps);
            if simple.0.len() < 3 {
                continue;
            }
            let pts: Vec<(f64, f64)> = simple.0.iter().map(|c| (c.x, c.y)).collect();
            d.push_str(&self.path(&pts));
            d.push_str("Z ");
        }
        d.trim_end().to_string()
    }
}

/// A name written on the map: a cable's abbreviation or a station's name.
#[derive(Debug, Clone, PartialEq)]
pub struct MapLabel {
    /// `cable` or `station`.
    pub class: &'static str,
    /// The cable abbreviation or station id the label belongs to.
    pub of: String,
    pub text: String,
    /// The text's start (left end of its baseline), in SVG units.
    pub x: f64,
    pub y: f64,
    /// The box the text takes (x, y, w, h), in SVG units.
    pub rect: (f64, f64, f64, f64),
}

/// Label size on screen, in SVG units at the preset's own zoom.
pub const LABEL_FONT: f64 = 12.0;

/// Estimated width of `text` in em: CJK characters are square, Latin about
/// 0.6 em (the system sans-serif fonts the style sheet names).
fn text_em(text: &str) -> f64 {
    text.chars()
        .map(|c| if u32::from(c) >= 0x2E80 { 1.0 } else { 0.62 })
        .sum()
}

fn overlaps(a: (f64, f64, f64, f64), b: (f64, f64, f64, f64)) -> bool {
    a.0 < b.0 + b.2 && b.0 < a.0 + a.2 && a.1 < b.1 + b.3 && b.1 < a.1 + a.3
}

impl View {
    /// The labels that fit the visible box `(x, y, w, h)` at symbol scale `k`
    /// (1 at the preset's zoom, halved for each step in): faulted cables
    /// first, then landing stations, then cables in service; a label that
    /// would overlap one already placed, or leave the box, is left out, so
    /// zooming in shows more names. Stations are named in the UI language.
    pub fn labels(
        &self,
        data: &MapData,
        visible: (f64, f64, f64, f64),
        k: f64,
        english: bool,
    ) -> Vec<MapLabel> {
        let font = LABEL_FONT * k;
        let pad = 2.0 * k;
        let inside = |(px, py): (f64, f64)| {
            px >= visible.0
                && py >= visible.1
                && px <= visible.0 + visible.2
                && py <= visible.1 + visible.3
        };
        // (rank, class, of, text, anchor)
        type Candidate = (u8, &'static str, String, String, (f64, f64));
        let mut candidates: Vec<Candidate> = Vec::new();
        for c in &data.cables {
            // The middle of the part of the route that is in view.
            let shown: Vec<(f64, f64)> = c
                .route
                .iter()
                .map(|&(lon, lat)| self.project(lon, lat))
                .filter(|p| inside(*p))
                .collect();
            let Some(&(px, py)) = shown.get(shown.len() / 2) else {
                continue;
            };
            let rank = if c.state == CableState::InService {
                2
            } else {
                0
            };
            candidates.push((
                rank,
                "cable",
                c.abbrev.clone(),
                c.abbrev.clone(),
                (px + 4.0 * k, py - 4.0 * k),
            ));
        }
        for s in &data.stations {
            let p = self.project(s.lon, s.lat);
            if !inside(p) {
                continue;
            }
            let name = if english { &s.name_en } else { &s.name_zh };
            candidates.push((
                1,
                "station",
                s.id.clone(),
                name.clone(),
                (p.0 + 6.0 * k, p.1 + 4.0 * k),
            ));
        }
        // Stable: within a rank, the data's order.
        candidates.sort_by_key(|c| c.0);
        let mut placed: Vec<MapLabel> = Vec::new();
        for (_, class, of, text, (x, y)) in candidates {
            if text.is_empty() {
                continue;
            }
            let w = text_em(&text) * font;
            let rect = (
                x - pad,
                y - font - pad,
                w + 2.0 * pad,
                font * 1.25 + 2.0 * pad,
            );
            let fits = rect.0 >= visible.0
                && rect.1 >= visible.1
                && rect.0 + rect.2 <= visible.0 + visible.2
                && rect.1 + rect.3 <= visible.1 + visible.3;
            if fits && !placed.iter().any(|l| overlaps(l.rect, rect)) {
                placed.push(MapLabel {
                    class,
                    of,
                    text,
                    x,
                    y,
                    rect,
                });
            }
        }
        placed
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fault::FaultStatus;
    use crate::notice::parse_notice;
    use crate::reference::{cables, stations};

    const FIXTURE: &str = include_str!("../tests/fixtures/2026-02-14-fault-notice.txt");

    fn notice_faults() -> (Vec<Cable>, Vec<Station>, Vec<Fault>) {
        let cs = cables().expect("cables");
        let st = stations().expect("stations");
        let p = parse_notice(FIXTURE, &cs, &st);
        let faults = p
            .notice
            .faults
            .iter()
            .enumerate()
            .map(|(i, f)| f.open_fault(i as i64 + 1, "test"))
            .collect();
        (cs, st, faults)
    }

    #[test]
    fn views_project_their_corners_onto_the_svg() {
        for v in VIEWS {
            let (x0, y0) = v.project(v.west, v.north);
            let (x1, y1) = v.project(v.east, v.south);
            assert!(x0.abs() < 1e-9 && y0.abs() < 1e-9, "{}", v.id);
            assert!((x1 - MAP_WIDTH).abs() < 1e-9 && (y1 - v.height()).abs() < 1e-9);
            assert!(v.height() > 100.0 && v.height() < 3000.0, "{}", v.id);
        }
        assert_eq!(View::by_id("nowhere").id, "taiwan");
        // Every outlying island group has land in its view; the region view stays small.
        for v in VIEWS {
            let d = v.land_path();
            assert!(d.matches('Z').count() >= 1, "{} has land", v.id);
            assert!(d.len() < 200_000, "{}: {} bytes", v.id, d.len());
        }
        assert!(View::by_id("taiwan")
            .path(&[(120.0, 23.0), (121.0, 24.0)])
            .starts_with('M'));
    }

    #[test]
    fn a_cable_with_any_open_cut_is_cut() {
        let (_, _, faults) = notice_faults();
        assert_eq!(cable_state("TDM2", &faults, &[]), CableState::Cut);
        assert_eq!(cable_state("EAC1", &faults, &[]), CableState::Degraded);
        assert_eq!(cable_state("TSE-1", &faults, &[]), CableState::Degraded);
        assert_eq!(cable_state("APG", &faults, &[]), CableState::InService);
        let mut restored = faults.clone();
        for f in restored.iter_mut().filter(|f| f.cable == "TDM2") {
            f.status = FaultStatus::Restored;
        }
        assert_eq!(cable_state("TDM2", &restored, &[]), CableState::InService);
    }

    #[test]
    fn every_fault_of_the_notice_is_a_point_on_its_cable_within_half_a_percent() {
        let (cs, st, faults) = notice_faults();
        let fc = faults_geojson(&faults, &cs, &st);
        assert_eq!(fc.features.len(), 11);
        for (f, feat) in faults.iter().zip(&fc.features) {
            let Some(Geometry {
                value: GeometryValue::Point { coordinates: p },
                ..
            }) = feat.geometry.as_ref()
            else {
                panic!("{} is placed", f.cable);
            };
            let p = p.as_slice();
            let cable = cs.iter().find(|c| c.abbrev == f.cable).expect("cable");
            let along = crate::chainage::along_route_km(&cable.route, (p[0], p[1]));
            assert!(
                (along - f.chainage.km).abs() <= f.chainage.km * 0.005 + 1e-6,
                "{}: {along} vs {}",
                f.cable,
                f.chainage.km
            );
        }
        let json = serde_json::to_value(&fc).expect("json");
        assert_eq!(json["type"], "FeatureCollection");
        assert_eq!(
            json["features"][0]["properties"]["geometry_quality"],
            "approximate"
        );
    }

    #[test]
    fn alternates_that_are_themselves_faulted_can_be_told() {
        let (cs, st, faults) = notice_faults();
        let d = map_data(&cs, &st, &faults, &[]);
        let state = |c: &str| d.cables.iter().find(|x| x.abbrev == c).map(|x| x.state);
        // FNAL's alternates are APG and EAC (EAC1, itself degraded).
        let fnal = d.faults.iter().find(|f| f.cable == "FNAL").expect("FNAL");
        assert_eq!(fnal.alternates, ["APG", "EAC1"]);
        assert_eq!(state("EAC1"), Some(CableState::Degraded));
        assert_eq!(state("APG"), Some(CableState::InService));
        // EAC2's alternate C2C is in service; EAC1's second fault names C2C too.
        let eac2 = d.faults.iter().find(|f| f.cable == "EAC2").expect("EAC2");
        assert_eq!(eac2.alternates, ["C2C"]);
        assert_eq!(d.faults.len(), 11);
        assert!(d.faults.iter().all(|f| f.position.is_some()));
    }

    #[test]
    fn cables_are_schematic_lines_with_state() {
        let (cs, _, faults) = notice_faults();
        let fc = cables_geojson(&cs, &faults, &[]);
        assert_eq!(fc.features.len(), 22);
        let json = serde_json::to_value(&fc).expect("json");
        let tdm2 = json["features"]
            .as_array()
            .and_then(|a| a.iter().find(|f| f["id"] == "TDM2"))
            .expect("TDM2");
        assert_eq!(tdm2["geometry"]["type"], "LineString");
        assert_eq!(tdm2["properties"]["state"], "cut");
        assert_eq!(tdm2["properties"]["geometry_quality"], "schematic");
    }

    fn labels_for(view: &str, zoom: u8, english: bool) -> (View, Vec<MapLabel>) {
        let (cs, st, faults) = notice_faults();
        let d = map_data(&cs, &st, &faults, &[]);
        let v = View::by_id(view);
        let s = f64::from(1u32 << zoom);
        let (w, h) = (MAP_WIDTH / s, v.height() / s);
        let (x, y) = ((MAP_WIDTH - w) / 2.0, (v.height() - h) / 2.0);
        let labels = v.labels(&d, (x, y, w, h), 1.0 / s, english);
        for l in &labels {
            assert!(l.rect.0 >= x && l.rect.1 >= y, "{} inside", l.text);
            assert!(
                l.rect.0 + l.rect.2 <= x + w && l.rect.1 + l.rect.3 <= y + h,
                "{} inside",
                l.text
            );
        }
        for (i, a) in labels.iter().enumerate() {
            for b in &labels[i + 1..] {
                assert!(!overlaps(a.rect, b.rect), "{} overlaps {}", a.text, b.text);
            }
        }
        (v, labels)
    }

    #[test]
    fn map_labels_fit_the_view_without_overlapping_and_favour_faulted_cables() {
        let (_, taiwan) = labels_for("taiwan", 0, false);
        let cables: Vec<&str> = taiwan
            .iter()
            .filter(|l| l.class == "cable")
            .map(|l| l.text.as_str())
            .collect();
        // The notice's faulted cables are named before any cable in service.
        for c in ["TDM2", "TSE-1"] {
            assert!(cables.contains(&c), "{c} labelled: {cables:?}");
        }
        assert!(
            taiwan.iter().any(|l| l.class == "station"),
            "stations named"
        );
        // An island's own view names its stations.
        let (_, matsu) = labels_for("matsu", 0, false);
        let names: Vec<&str> = matsu.iter().map(|l| l.text.as_str()).collect();
        assert!(
            names.contains(&"南竿") && names.contains(&"東引"),
            "{names:?}"
        );
        let (_, zoomed) = labels_for("taiwan", 2, false);
        assert!(!zoomed.is_empty(), "zoomed in, what is in view is named");
        // Station names follow the UI language.
        let (_, en) = labels_for("taiwan", 0, true);
        let zh_names: Vec<&str> = taiwan
            .iter()
            .filter(|l| l.class == "station")
            .map(|l| l.text.as_str())
            .collect();
        let en_names: Vec<&str> = en
            .iter()
            .filter(|l| l.class == "station")
            .map(|l| l.text.as_str())
            .collect();
        assert!(
            zh_names
                .iter()
                .all(|n| n.chars().any(|c| u32::from(c) >= 0x2E80)),
            "{zh_names:?}"
        );
        assert!(en_names.iter().all(|n| n.is_ascii()), "{en_names:?}");
    }
}
