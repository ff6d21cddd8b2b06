//! Reference data compiled into the binary: cable systems, landing stations
//! and the project's own schematic routes.
//!
//! Sources are in `shared/data/` (copied from the project's reference set,
//! see README "Data sources"). Routes are **schematic**: drawn by the project
//! as a landing station plus a few sea waypoints, never surveyed geometry.

use serde::{Deserialize, Serialize};

const CABLES_CSV: &str = include_str!("../data/cables.csv");
const STATIONS_CSV: &str = include_str!("../data/landing-stations.csv");
const ROUTES_CSV: &str = include_str!("../data/routes.csv");

/// Extra names the ministry and the press use for a cable.
const EXTRA_ALIASES: &[(&str, &str)] = &[
    ("EAC1", "EAC"),
    ("EAC1", "EAC-C2C"),
    ("TDM2", "Taima-2"),
    ("TDM2", "臺馬二號"),
    ("TDM2", "台馬二號海纜"),
    ("TDM3", "Taima-3"),
    ("TDM3", "臺馬三號"),
    ("TDM3", "台馬三號海纜"),
    ("TP3", "台澎三號海纜"),
    ("TP2", "台澎二號海纜"),
    ("TK2", "台金二號海纜"),
];

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum CableKind {
    International,
    Domestic,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum CoordPrecision {
    /// Published landing-point coordinates.
    Published,
    /// Town-level coordinates: shown as approximate.
    Approximate,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Station {
    pub id: String,
    pub name_zh: String,
    pub name_en: String,
    /// Island or region: taiwan, penghu, kinmen, matsu, xiaoliuqiu.
    pub region: String,
    pub lat: f64,
    pub lon: f64,
    pub precision: CoordPrecision,
    pub source: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Cable {
    /// The ministry's abbreviation, the cable's key (EAC1, TDM2, Apricot, ...).
    pub abbrev: String,
    pub name_zh: String,
    pub name_en: String,
    pub kind: CableKind,
    /// Station ids of the landings in Taiwan (main island or outlying island).
    pub landings: Vec<String>,
    /// Far ends: station ids for domestic cables, countries for international ones.
    pub far_ends: Vec<String>,
    pub rfs: Option<i32>,
    pub length_km: Option<f64>,
    pub notes: String,
    pub aliases: Vec<String>,
    /// Schematic route as (lon, lat) points, starting at `route_from`.
    pub route: Vec<(f64, f64)>,
    /// The station the schematic route starts at.
    pub route_from: Option<String>,
}

impl Cable {
    /// How the notice names the cable: `東亞交匯一號海纜系統 (EAC1)`.
    pub fn notice_name(&self) -> String {
        if self.name_zh.is_empty() {
            self.abbrev.clone()
        } else {
            format!("{} ({})", self.name_zh, self.abbrev)
        }
    }
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("reference data {file}, line {line}: {message}")]
pub struct ReferenceError {
    pub file: &'static str,
    pub line: usize,
    pub message: String,
}

fn split_list(s: &str) -> Vec<String> {
    s.split(';')
        .map(str::trim)
        .filter(|x| !x.is_empty())
        .map(str::to_string)
        .collect()
}

fn records(
    file: &'static str,
    text: &str,
) -> Result<Vec<(usize, csv::StringRecord)>, ReferenceError> {
    let mut rdr = csv::ReaderBuilder::new()
        .comment(Some(b'#'))
        .from_reader(text.as_bytes());
    let mut out = Vec::new();
    for (i, rec) in rdr.records().enumerate() {
        let rec = rec.map_err(|e| ReferenceError {
            file,
            line: i + 2,
            message: e.to_string(),
        })?;
        let line = rec.position().map_or(i + 2, |p| p.line() as usize);
        out.push((line, rec));
    }
    Ok(out)
}

fn field(rec: &csv::StringRecord, i: usize) -> &str {
    rec.get(i).unwrap_or("").trim()
}

/// Parses the compiled-in landing stations.
pub fn stations() -> Result<Vec<Station>, ReferenceError> {
    let file = "landing-stations.csv";
    records(file, STATIONS_CSV)?
        .into_iter()
        .map(|(line, r)| {
            let num = |i: usize| {
                field(&r, i).parse::<f64>().map_err(|e| ReferenceError {
                    file,
                    line,
                    message: format!("column {i}: {e}"),
                })
            };
            Ok(Station {
                id: field(&r, 0).to_string(),
                name_zh: field(&r, 1).to_string(),
                name_en: field(&r, 2).to_string(),
                region: field(&r, 3).to_string(),
                lat: num(4)?,
                lon: num(5)?,
                precision: if field(&r, 6) == "published" {
                    CoordPrecision::Published
                } else {
                    CoordPrecision::Approximate
                },
                source: field(&r, 7).to_string(),
            })
        })
        .collect()
}

/// Parses the compiled-in cable systems with their aliases and schematic routes.
pub fn cables() -> Result<Vec<Cable>, ReferenceError> {
    let station_ids: Vec<String> = stations()?.into_iter().map(|s| s.id).collect();
    let routes = records("routes.csv", ROUTES_CSV)?;
    let file = "cables.csv";
    records(file, CABLES_CSV)?
        .into_iter()
        .map(|(line, r)| {
            let abbrev = field(&r, 0).to_string();
            let kind = match field(&r, 3) {
                "international" => CableKind::International,
                "domestic" => CableKind::Domestic,
                other => {
                    return Err(ReferenceError {
                        file,
                        line,
                        message: format!("unknown kind {other}"),
                    })
                }
            };
            let landings = split_list(field(&r, 4))
                .into_iter()
                .filter(|s| station_ids.contains(s))
                .collect();
            let name_en = field(&r, 2).to_string();
            let mut aliases = vec![abbrev.clone()];
            for name in [field(&r, 1), name_en.as_str()] {
                if !name.is_empty() {
                    aliases.push(name.to_string());
                }
            }
            if let (Some(open), Some(close)) = (name_en.find('('), name_en.rfind(')')) {
                if open < close {
                    aliases.push(name_en[open + 1..close].to_string());
                    aliases.push(name_en[..open].trim().to_string());
                }
            }
            for (a, alias) in EXTRA_ALIASES {
                if *a == abbrev {
                    aliases.push((*alias).to_string());
                }
            }
            let (route_from, route) = match routes.iter().find(|(_, rr)| field(rr, 0) == abbrev) {
                Some((rline, rr)) => {
                    let pts = field(rr, 2)
                        .split(';')
                        .map(|p| {
                            let mut it = p.split_whitespace().map(str::parse::<f64>);
                            match (it.next(), it.next()) {
                                (Some(Ok(lon)), Some(Ok(lat))) => Ok((lon, lat)),
                                _ => Err(ReferenceError {
                                    file: "routes.csv",
                                    line: *rline,
                                    message: format!("bad waypoint {p:?}"),
                                }),
                            }
                        })
                        .collect::<Result<Vec<_>, _>>()?;
                    // Densified, so that the drawn line and the pins placed
                    // along its geodesic agree (see `chainage::DENSIFY_KM`).
                    let pts = crate::chainage::densify(&pts, crate::chainage::DENSIFY_KM);
                    (Some(field(rr, 1).to_string()), pts)
                }
                None => (None, Vec::new()),
            };
            Ok(Cable {
                abbrev,
                name_zh: field(&r, 1).to_string(),
                name_en,
                kind,
                landings,
                far_ends: split_list(field(&r, 5)),
                rfs: field(&r, 6).parse().ok(),
                length_km: field(&r, 7)
                    .split_whitespace()
                    .next()
                    .and_then(|s| s.parse().ok()),
                notes: field(&r, 8).to_string(),
                aliases,
                route,
                route_from,
            })
        })
        .collect()
}

/// Normalises a name for matching: no spaces, hyphens or brackets, ASCII
/// letters lower-cased, full-width forms folded, 台 → 臺.
pub fn name_key(s: &str) -> String {
    s.chars()
        .filter_map(|c| {
            let c = match c {
                '！'..='～' => char::from_u32(c as u32 - 0xFEE0).unwrap_or(c),
                '台' => '臺',
                c => c,
            };
            if c.is_whitespace() || matches!(c, '-' | '_' | '.' | '(' | ')' | '（' | '）') {
                None
            } else {
                Some(c.to_ascii_lowercase())
            }
        })
        .collect()
}

/// Looks cables up by abbreviation or alias, the way the notice names them.
#[derive(Debug, Clone, Default)]
pub struct CableIndex {
    /// (normalised alias, abbrev), longest alias first.
    keys: Vec<(String, String)>,
}

impl CableIndex {
    pub fn new<'a>(cables: impl IntoIterator<Item = &'a Cable>) -> Self {
        let mut keys: Vec<(String, String)> = cables
            .into_iter()
            .flat_map(|c| {
                c.aliases
                    .iter()
                    .chain(std::iter::once(&c.abbrev))
                    .map(|a| (name_key(a), c.abbrev.clone()))
                    .collect::<Vec<_>>()
            })
            .filter(|(k, _)| !k.is_empty())
            .collect();
        keys.sort_by(|a, b| b.0.chars().count().cmp(&a.0.chars().count()).then(a.cmp(b)));
        keys.dedup();
        Self { keys }
    }

    /// Resolves a cable name as written in a notice cell: `東亞交匯一號海纜系統 (EAC1)`,
    /// `臺馬三號海纜`, `EAC1 海纜`, `NCP`. Returns the abbreviation.
    pub fn resolve(&self, raw: &str) -> Option<String> {
        // A bracketed abbreviation wins: it is how the ministry keys its table.
        let norm_brackets = raw.replace('（', "(").replace('）', ")");
        if let (Some(o), Some(c)) = (norm_brackets.rfind('('), norm_brackets.rfind(')')) {
            if o < c {
                if let Some(a) = self.exact(&norm_brackets[o + 1..c]) {
                    return Some(a);
                }
            }
        }
        let key = name_key(raw);
        if key.is_empty() {
            return None;
        }
        if let Some(a) = self.exact_key(&key) {
            return Some(a);
        }
        for suffix in ["海纜系統", "海纜", "光纜系統", "光纜", "cable", "system"] {
            if let Some(stem) = key.strip_suffix(suffix) {
                if let Some(a) = self.exact_key(stem) {
                    return Some(a);
                }
            }
        }
        None
    }

    fn exact(&self, raw: &str) -> Option<String> {
        self.exact_key(&name_key(raw))
    }

    fn exact_key(&self, key: &str) -> Option<String> {
        self.keys
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, a)| a.clone())
    }
}

/// Finds the landing station a place name refers to: `新北八里` → `bali`,
/// `淡水沙崙` → `tamsui-shalun`. The longest station name contained in the
/// place wins; `None` when the place is not a registered station.
pub fn resolve_station<'a>(stations: &'a [Station], place: &str) -> Option<&'a Station> {
    let key = name_key(place);
    stations
        .iter()
        .filter(|s| {
            let zh = name_key(&s.name_zh);
            let en = name_key(s.name_en.split('(').next().unwrap_or(""));
            (!zh.is_empty() && key.contains(&zh)) || (!en.is_empty() && key == en) || key == s.id
        })
        .max_by_key(|s| s.name_zh.chars().count())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reference_data_parses_completely() {
        let st = stations().expect("stations");
        assert_eq!(st.len(), 13);
        let cs = cables().expect("cables");
        assert_eq!(cs.len(), 22);
        for c in &cs {
            assert!(c.route.len() >= 3, "{} has a schematic route", c.abbrev);
            let from = c.route_from.as_deref().expect("route start");
            let s = st
                .iter()
                .find(|s| s.id == from)
                .expect("route starts at a station");
            assert!(
                (s.lon - c.route[0].0).abs() < 1e-6 && (s.lat - c.route[0].1).abs() < 1e-6,
                "{} route starts at {}",
                c.abbrev,
                from
            );
        }
    }

    #[test]
    fn resolves_cables_the_way_the_notice_names_them() {
        let cs = cables().expect("cables");
        let idx = CableIndex::new(&cs);
        let r = |s: &str| idx.resolve(s);
        assert_eq!(r("東亞交匯一號海纜系統 (EAC1)").as_deref(), Some("EAC1"));
        assert_eq!(r("東亞交匯二號海 纜系統 (EAC2)").as_deref(), Some("EAC2"));
        assert_eq!(r("臺馬三號海纜").as_deref(), Some("TDM3"));
        assert_eq!(r("台馬三號海纜").as_deref(), Some("TDM3"));
        assert_eq!(r("Taima-2").as_deref(), Some("TDM2"));
        assert_eq!(r("EAC1 海纜").as_deref(), Some("EAC1"));
        assert_eq!(r("市通市海纜 (C2C)").as_deref(), Some("C2C"));
        assert_eq!(r("杏子海纜（Apricot）").as_deref(), Some("Apricot"));
        assert_eq!(r("apcn-2").as_deref(), Some("APCN-2"));
        assert_eq!(r("TSE1").as_deref(), Some("TSE-1"));
        assert_eq!(r("微波"), None);
        assert_eq!(r("No Such Cable (XYZ9)"), None);
    }

    #[test]
    fn resolves_places_to_stations() {
        let st = stations().expect("stations");
        let id = |p: &str| resolve_station(&st, p).map(|s| s.id.as_str());
        assert_eq!(id("新北八里"), Some("bali"));
        assert_eq!(id("淡水沙崙"), Some("tamsui-shalun"));
        assert_eq!(id("淡水"), Some("tamsui"));
        assert_eq!(id("宜蘭頭城"), Some("toucheng"));
        assert_eq!(id("中國崇明"), None);
        assert_eq!(id("日本千倉"), None);
    }
}
