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
            .map(|(i, f)| Fault {
                id: i as i64 + 1,
                cable: f.cable.clone(),
                detected_on: Some(f.detected_on),
                kind: f.kind,
                description: f.description.clone(),
                chainage: f.chainage.clone(),
                alternate_routes: f.alternate_routes.clone(),
                eta: f.eta,
                status: FaultStatus::Open,
                restored_on: None,
                notes: String::new(),
                provenance: "test".into(),
                version: 1,
            })
            .collect();
        (cs, st, faults)
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
}
