//! The demo inventory: a deterministic synthetic set of backup assets sized
//! like the ministry's programmes, plus the few assets whose facts are public
//! (`../shared/reference/repair-and-backup-facts.md`). Synthetic assets are
//! placed on land (ships at their home port) with more sites on the outlying
//! islands and in remote townships; every one is marked synthetic.
//!
//! The same generator scaled up makes the benchmark's 20,000 assets.

use rand_chacha::rand_core::{RngCore, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::assets::{AssetDraft, AssetKind, AssetStatus, Orbit};

/// A place synthetic sites are drawn in: a box, with the region's name.
struct Area {
    region: &'static str,
    code: &'static str,
    west: f64,
    south: f64,
    east: f64,
    north: f64,
}

const fn area(
    region: &'static str,
    code: &'static str,
    west: f64,
    south: f64,
    east: f64,
    north: f64,
) -> Area {
    Area {
        region,
        code,
        west,
        south,
        east,
        north,
    }
}

/// Outlying islands first, then remote townships, then the western plain
/// (where transport hubs are).
const AREAS: [Area; 12] = [
    area("Matsu", "MAT", 119.85, 25.93, 120.55, 26.40),
    area("Kinmen", "KIN", 118.20, 24.38, 118.50, 24.52),
    area("Penghu", "PEN", 119.30, 23.15, 119.75, 23.80),
    area("Xiaoliuqiu", "XLQ", 120.35, 22.32, 120.40, 22.36),
    area("Lanyu", "LAN", 121.50, 21.99, 121.62, 22.09),
    area("Green Island", "GRN", 121.46, 22.63, 121.51, 22.68),
    area("Hualien", "HUA", 121.20, 23.20, 121.70, 24.30),
    area("Taitung", "TTT", 120.90, 22.40, 121.50, 23.40),
    area("Yilan", "ILA", 121.30, 24.30, 121.90, 24.90),
    area("Nantou", "NAN", 120.80, 23.50, 121.30, 24.20),
    area("Pingtung", "PIF", 120.50, 21.90, 120.90, 22.70),
    area("Western plain", "WES", 120.10, 22.60, 121.60, 25.20),
];

/// How a kind's sites spread over [`AREAS`] (weights in the same order).
fn weights(kind: AssetKind) -> [u32; 12] {
    match kind {
        // Satellite programme: outlying islands and remote villages first.
        AssetKind::SatTerminal | AssetKind::SatBackhaul => {
            [12, 8, 10, 3, 3, 2, 12, 12, 8, 10, 8, 12]
        }
        AssetKind::SatVehicle | AssetKind::HardenedBaseStation | AssetKind::Ppdr => {
            [3, 3, 3, 1, 1, 1, 4, 4, 3, 3, 3, 12]
        }
        AssetKind::Hub5g => [1, 1, 2, 0, 0, 0, 3, 2, 3, 2, 3, 60],
        AssetKind::Microwave => [4, 3, 4, 1, 1, 1, 5, 5, 3, 4, 3, 8],
        AssetKind::Haps => [0, 0, 0, 0, 0, 0, 1, 1, 0, 0, 0, 0],
        AssetKind::RepairShip => [0; 12],
    }
}

/// The ministry's programme sizes (see the reference facts): 773 satellite
/// sites (700 hotspots incl. the 10 public ones below, 70 backhaul, 3
/// overseas), 9 + 31 satellite vehicles, 29 hardened base stations, 1,123
/// transport-hub 5G base stations, 94 microwave sections, 24 PPDR sites, and
/// two high-altitude platforms for the trial (a count of our choosing).
pub const PROGRAMME: [(AssetKind, usize); 8] = [
    (AssetKind::SatTerminal, 690),
    (AssetKind::SatBackhaul, 70),
    (AssetKind::SatVehicle, 40),
    (AssetKind::HardenedBaseStation, 29),
    (AssetKind::Hub5g, 1123),
    (AssetKind::Microwave, 92),
    (AssetKind::Ppdr, 24),
    (AssetKind::Haps, 2),
];

struct Gen {
    rng: ChaCha8Rng,
    /// Per area: the land polygons that touch it (sampling tests only these).
    land: std::collections::HashMap<&'static str, Vec<usize>>,
}

impl Gen {
    fn unit(&mut self) -> f64 {
        (self.rng.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    fn pick<T: Copy>(&mut self, weighted: &[(T, u32)]) -> T {
        let total: u32 = weighted.iter().map(|w| w.1).sum();
        let mut r = (self.unit() * f64::from(total.max(1))) as u32;
        for &(v, w) in weighted {
            if r < w {
                return v;
            }
            r -= w;
        }
        weighted[0].0
    }

    fn area(&mut self, kind: AssetKind) -> &'static Area {
        let w = weights(kind);
        let idx: Vec<(usize, u32)> = w.iter().copied().enumerate().collect();
        &AREAS[self.pick(&idx)]
    }

    /// A point on land inside the area (rejection sampling against the
    /// basemap); the area's centre if no land is found.
    fn on_land(&mut self, a: &'static Area) -> (f64, f64) {
        use geo::{Contains, Intersects};
        let polys = land_polygons();
        let near = self.land.entry(a.code).or_insert_with(|| {
            let area = geo::Rect::new(
                geo::coord! { x: a.west, y: a.south },
                geo::coord! { x: a.east, y: a.north },
            );
            (0..polys.len())
                .filter(|&i| polys[i].0.intersects(&area))
                .collect()
        });
        let near = near.clone();
        for _ in 0..400 {
            let x = a.west + self.unit() * (a.east - a.west);
            let y = a.south + self.unit() * (a.north - a.south);
            let p = geo::Point::new(x, y);
            if near
                .iter()
                .any(|&i| polys[i].0.contains(&p) && polys[i].1.contains(&p))
            {
                return (round6(x), round6(y));
            }
        }
        (
            round6((a.west + a.east) / 2.0),
            round6((a.south + a.north) / 2.0),
        )
    }

    fn status(&mut self) -> AssetStatus {
        self.pick(&[
            (AssetStatus::Ready, 850),
            (AssetStatus::Deployed, 70),
            (AssetStatus::Degraded, 40),
            (AssetStatus::Offline, 20),
            (AssetStatus::Maintenance, 20),
        ])
    }
}

fn round6(v: f64) -> f64 {
    (v * 1e6).round() / 1e6
}

/// Whether a point is on land in the offline basemap.
pub fn on_land(lon: f64, lat: f64) -> bool {
    use geo::Contains;
    let p = geo::Point::new(lon, lat);
    land_polygons()
        .iter()
        .any(|(bb, poly)| bb.contains(&p) && poly.contains(&p))
}

/// The basemap's rings as polygons with their bounding boxes, built once.
/// (Disputed islands appear twice in the source; any ring containing the
/// point counts, so duplicates do no harm.)
fn land_polygons() -> &'static [(geo::Rect, geo::Polygon)] {
    use geo::BoundingRect;
    static POLYS: std::sync::OnceLock<Vec<(geo::Rect, geo::Polygon)>> = std::sync::OnceLock::new();
    POLYS.get_or_init(|| {
        crate::map::land()
            .iter()
            .filter_map(|ring| {
                let line: geo::LineString = ring
                    .iter()
                    .map(|&(x, y)| geo::coord! { x: x, y: y })
                    .collect();
                let bb = line.bounding_rect()?;
                Some((bb, geo::Polygon::new(line, vec![])))
            })
            .collect()
    })
}

fn synthetic(kind: AssetKind, g: &mut Gen, n: usize) -> AssetDraft {
    let a = g.area(kind);
    let (lon, lat) = g.on_land(a);
    let orbit = kind.has_orbit().then(|| {
        if kind == AssetKind::SatVehicle {
            g.pick(&[(Orbit::Leo, 3), (Orbit::Geo, 1)])
        } else {
            g.pick(&[(Orbit::Leo, 4), (Orbit::Meo, 1)])
        }
    });
    let operator = match orbit {
        Some(Orbit::Leo) => "OneWeb",
        Some(Orbit::Meo) => "SES",
        Some(Orbit::Geo) => "GEO operator",
        None => "",
    };
    let (end, capacity_mbps) = match kind {
        AssetKind::Microwave => {
            // The far end on land in the same area: a synthetic link never
            // crosses to a coast the generator knows nothing about.
            let end = g.on_land(a);
            (
                Some(end),
                Some(f64::from(1 + (g.unit() * 10.0) as u32) * 1000.0),
            )
        }
        AssetKind::SatTerminal => (
            None,
            Some(if orbit == Some(Orbit::Meo) {
                50.0
            } else {
                150.0
            }),
        ),
        AssetKind::SatBackhaul => (None, Some(200.0)),
        AssetKind::SatVehicle => (None, Some(100.0)),
        _ => (None, None),
    };
    let programme = match kind {
        AssetKind::SatTerminal | AssetKind::SatBackhaul => "NGSO satellite programme",
        AssetKind::SatVehicle | AssetKind::HardenedBaseStation | AssetKind::Microwave => {
            "High-resilience programme"
        }
        AssetKind::Hub5g => "Transport-hub 5G",
        AssetKind::Ppdr => "PPDR trial",
        AssetKind::Haps => "HAPS trial",
        AssetKind::RepairShip => "",
    };
    AssetDraft {
        name: format!("{}-{}-{n:05}", kind.code(), a.code),
        kind,
        status: g.status(),
        lon,
        lat,
        end,
        region: a.region.to_string(),
        capacity_mbps,
        orbit,
        operator: operator.to_string(),
        programme: programme.to_string(),
        home_port: String::new(),
        zone: String::new(),
        notes: "Synthetic demo record".to_string(),
    }
}

/// `total` synthetic assets in the programmes' proportions, the same for the
/// same seed on every machine (ChaCha8).
pub fn synthetic_inventory(seed: u64, total: usize) -> Vec<AssetDraft> {
    let mut g = Gen {
        rng: ChaCha8Rng::seed_from_u64(seed),
        land: Default::default(),
    };
    let base: usize = PROGRAMME.iter().map(|p| p.1).sum();
    // The programme's three overseas satellite sites, once there is room.
    let overseas = if total >= base + 3 { 3 } else { 0 };
    let synthetic_total = total - overseas;
    let mut out = Vec::with_capacity(total);
    let mut n = 0;
    for (i, &(kind, size)) in PROGRAMME.iter().enumerate() {
        // Proportional shares; the last kind takes the rounding remainder.
        let share = if i + 1 == PROGRAMME.len() {
            synthetic_total.saturating_sub(out.len())
        } else {
            (size * synthetic_total)
                .div_ceil(base)
                .min(synthetic_total - out.len())
        };
        for _ in 0..share {
            n += 1;
            out.push(synthetic(kind, &mut g, n));
        }
    }
    if overseas > 0 {
        for (i, (lon, lat)) in [(139.7, 35.6), (103.8, 1.35), (144.8, 13.45)]
            .into_iter()
            .enumerate()
        {
            out.push(AssetDraft {
                name: format!("SAT-OVS-{:02}", i + 1),
                kind: AssetKind::SatBackhaul,
                status: AssetStatus::Ready,
                lon,
                lat,
                end: None,
                region: "Overseas".into(),
                capacity_mbps: Some(1000.0),
                orbit: Some(Orbit::Leo),
                operator: "OneWeb".into(),
                programme: "NGSO satellite programme".into(),
                home_port: String::new(),
                zone: String::new(),
                notes: "Synthetic demo record: the programme has 3 overseas sites; these places are not public".into(),
            });
        }
    }
    out
}

/// The demo inventory: the programmes' sizes.
pub fn demo_inventory() -> Vec<AssetDraft> {
    let base: usize = PROGRAMME.iter().map(|p| p.1).sum();
    synthetic_inventory(2026, base + 3)
}

fn fact(
    name: &str,
    kind: AssetKind,
    (lon, lat): (f64, f64),
    region: &str,
    capacity_mbps: Option<f64>,
    orbit: Option<Orbit>,
    notes: &str,
) -> AssetDraft {
    AssetDraft {
        name: name.into(),
        kind,
        status: AssetStatus::Ready,
        lon,
        lat,
        end: None,
        region: region.into(),
        capacity_mbps,
        orbit,
        operator: match orbit {
            Some(Orbit::Leo) => "OneWeb".into(),
            Some(Orbit::Meo) => "SES".into(),
            _ => String::new(),
        },
        programme: String::new(),
        home_port: String::new(),
        zone: String::new(),
        notes: notes.into(),
    }
}

/// Assets whose facts are public (positions approximate, town level).
pub fn reference_assets() -> Vec<AssetDraft> {
    let src = "Source: repair-and-backup-facts.md; position approximate";
    let mut out = vec![
        AssetDraft {
            end: Some((121.44, 25.17)),
            ..fact(
                "Matsu–Taiwan microwave",
                AssetKind::Microwave,
                (119.95, 26.16),
                "Matsu",
                Some(12_600.0),
                None,
                &format!("12.6 Gbps (expanding to 14.6) against a 9.5 Gbps peak. {src}"),
            )
        },
        AssetDraft {
            end: Some((120.15, 23.40)),
            ..fact(
                "Penghu–Taiwan microwave",
                AssetKind::Microwave,
                (119.58, 23.57),
                "Penghu",
                Some(8_200.0),
                None,
                &format!("8.2 Gbps. {src}"),
            )
        },
        AssetDraft {
            end: Some((120.20, 23.05)),
            ..fact(
                "Kinmen–Taiwan microwave",
                AssetKind::Microwave,
                (118.32, 24.44),
                "Kinmen",
                Some(3_500.0),
                None,
                &format!("3.5 Gbps (MODA, 2024 Q3); the Taiwan end is not published. {src}"),
            )
        },
        fact(
            "Taiping Island SES MEO link",
            AssetKind::SatTerminal,
            (114.366, 10.377),
            "Taiping Island",
            Some(25.0),
            Some(Orbit::Meo),
            &format!("25 Mbps total (April 2024). {src}"),
        ),
    ];
    // Matsu: 8 LEO dishes and 1 MEO dish, spread over the main islands.
    let matsu = [
        (119.94, 26.155),
        (119.955, 26.16),
        (119.99, 26.215),
        (120.0, 26.225),
        (120.49, 26.37),
        (120.5, 26.365),
        (119.94, 25.975),
        (119.975, 25.96),
        (119.945, 26.15),
    ];
    for (i, p) in matsu.into_iter().enumerate() {
        let orbit = if i == 8 { Orbit::Meo } else { Orbit::Leo };
        out.push(fact(
            &format!(
                "Matsu {} dish {}",
                orbit.as_str(),
                if i == 8 { 1 } else { i + 1 }
            ),
            AssetKind::SatTerminal,
            p,
            "Matsu",
            None,
            Some(orbit),
            &format!("Matsu has 8 LEO dishes and 1 MEO dish. {src}"),
        ));
    }
    out.push(AssetDraft {
        home_port: "Subic Bay".into(),
        zone: "SEAIOCMA".into(),
        operator: "Global Marine".into(),
        ..fact(
            "Cable Retriever",
            AssetKind::RepairShip,
            (120.27, 14.80),
            "At sea",
            None,
            None,
            &format!("Based at Subic Bay, mobilises within 24 h. {src}"),
        )
    });
    for i in 1..=2 {
        out.push(AssetDraft {
            home_port: "Yokohama".into(),
            zone: "Yokohama Zone".into(),
            ..fact(
                &format!("Yokohama Zone standby ship {i}"),
                AssetKind::RepairShip,
                (if i == 1 { 139.66 } else { 139.68 }, 35.44),
                "At sea",
                None,
                None,
                &format!("The zone keeps two ships on standby; names not in the source. {src}"),
            )
        });
    }
    out
}

/// The graph of the demo data, built in memory: the 2026-02-14 notice's
/// faults, the public asset facts (reference records) and the synthetic demo
/// inventory (left out of the figures, as always). For tests and the
/// benchmark; the server builds the same from its database.
pub fn demo_network() -> (crate::resilience::Network, crate::resilience::Figures) {
    use crate::assets::{Asset, SOURCE_REFERENCE, SOURCE_SYNTHETIC};
    use crate::fault::Fault;
    const FIXTURE: &str = include_str!("../tests/fixtures/2026-02-14-fault-notice.txt");
    let cables = crate::reference::cables().unwrap_or_default();
    let stations = crate::reference::stations().unwrap_or_default();
    let parsed = crate::notice::parse_notice(FIXTURE, &cables, &stations);
    let faults: Vec<Fault> = parsed
        .notice
        .faults
        .iter()
        .enumerate()
        .map(|(i, f)| f.open_fault(i as i64 + 1, "test"))
        .collect();
    let refs = reference_assets()
        .into_iter()
        .map(|d| (d, SOURCE_REFERENCE));
    let demo = demo_inventory().into_iter().map(|d| (d, SOURCE_SYNTHETIC));
    let assets: Vec<Asset> = refs
        .chain(demo)
        .enumerate()
        .map(|(i, (draft, source))| Asset {
            id: i as i64 + 1,
            draft,
            source: source.into(),
            version: 1,
        })
        .collect();
    let figures = crate::resilience::Figures::defaults().unwrap_or_default();
    let net = crate::resilience::network(&crate::resilience::Inputs {
        cables: &cables,
        stations: &stations,
        faults: &faults,
        maintenance: &[],
        assets: &assets,
        figures: &figures,
    });
    (net, figures)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_demo_inventory_is_deterministic_sized_and_valid() {
        let a = demo_inventory();
        let b = demo_inventory();
        assert_eq!(a, b, "same seed, same inventory");
        let base: usize = PROGRAMME.iter().map(|p| p.1).sum();
        assert_eq!(a.len(), base + 3);
        let names: std::collections::BTreeSet<_> = a.iter().map(|d| &d.name).collect();
        assert_eq!(names.len(), a.len(), "names are unique");
        for d in a.iter().chain(reference_assets().iter()) {
            let back = crate::assets::AssetForm::from_draft(d).validate();
            assert_eq!(back.as_ref(), Ok(d), "{} survives its own form", d.name);
        }
        let hubs = a.iter().filter(|d| d.kind == AssetKind::Hub5g).count();
        assert_eq!(hubs, 1123);
    }

    #[test]
    fn synthetic_sites_are_on_land_and_denser_on_outlying_islands() {
        let a = synthetic_inventory(7, 5000);
        assert_eq!(a.len(), 5000);
        let off_land = a
            .iter()
            .filter(|d| d.region != "Overseas" && !on_land(d.lon, d.lat))
            .count();
        assert!(
            off_land * 100 < a.len(),
            "{off_land} of {} off land",
            a.len()
        );
        let sat: Vec<_> = a
            .iter()
            .filter(|d| d.kind == AssetKind::SatTerminal)
            .collect();
        let islands = sat
            .iter()
            .filter(|d| {
                [
                    "Matsu",
                    "Kinmen",
                    "Penghu",
                    "Xiaoliuqiu",
                    "Lanyu",
                    "Green Island",
                ]
                .contains(&d.region.as_str())
            })
            .count();
        // About 38 % of hotspots on islands that hold about 2 % of the population.
        assert!(islands * 100 > sat.len() * 25, "{islands} of {}", sat.len());
    }
}
