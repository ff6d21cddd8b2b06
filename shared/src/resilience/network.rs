//! The capacity graph built from the registry's state at one moment: every
//! cable with what it carries now, every inter-region microwave link, and
//! each island's satellite capacity. Synthetic demo assets never count.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use super::{Figures, Link, LinkKind, Node, Region};
use crate::assets::{Asset, AssetKind, AssetStatus, Orbit};
use crate::fault::{Fault, FaultKind};
use crate::notice::MaintenanceLine;
use crate::reference::{Cable, CableKind, Station};

/// The registry's state the graph is built from.
pub struct Inputs<'a> {
    pub cables: &'a [Cable],
    pub stations: &'a [Station],
    /// Faults (only active ones count).
    pub faults: &'a [Fault],
    /// Planned maintenance in progress: the cable carries nothing.
    pub maintenance: &'a [MaintenanceLine],
    pub assets: &'a [Asset],
    pub figures: &'a Figures,
}

/// Backup assets of one kind and status in a region: records that count,
/// and synthetic demo records (shown, never counted).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct BackupCount {
    pub region: Region,
    pub kind: AssetKind,
    pub status: AssetStatus,
    pub count: usize,
    pub synthetic: usize,
}

/// International capacity through one landing station (a cable landing at
/// several stations is split evenly among them).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Landing {
    pub station: String,
    pub design_gbps: f64,
    pub available_gbps: f64,
    pub cables: Vec<String>,
    /// Cables through it carrying less than their design capacity.
    pub down: Vec<String>,
}

/// The capacity graph and what was left out of it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Network {
    pub links: Vec<Link>,
    /// Synthetic satellite and microwave records left out.
    pub ignored_synthetic: usize,
    /// Microwave links (`asset:ID`) that cross regions but have no capacity.
    pub no_capacity: Vec<String>,
    pub backups: Vec<BackupCount>,
    pub landings: Vec<Landing>,
    /// Peak demand per region (regions without a figure are absent).
    pub demand: BTreeMap<Region, u64>,
}

/// The region of an asset: its region field if it names one, else where it
/// is. `named` remembers each region field's answer: an inventory of
/// thousands of assets names a handful of regions.
fn asset_region<'a>(
    a: &'a Asset,
    named: &mut std::collections::HashMap<&'a str, Option<Region>>,
) -> Option<Region> {
    let field = a.draft.region.as_str();
    let parsed = *named.entry(field).or_insert_with(|| Region::parse(field));
    parsed.or_else(|| Region::at(a.draft.lon, a.draft.lat))
}

/// How much of its capacity an asset in `status` carries.
fn status_share(status: AssetStatus, figures: &Figures) -> f64 {
    match status {
        AssetStatus::Ready | AssetStatus::Deployed => 1.0,
        AssetStatus::Degraded => figures.fraction("kept:degraded_asset"),
        AssetStatus::Offline | AssetStatus::Maintenance => 0.0,
    }
}

fn counts_for_capacity(kind: AssetKind) -> bool {
    kind == AssetKind::Microwave || kind.has_orbit()
}

/// What a cable carries now: nothing with an open cut or maintenance in
/// progress, less by each active fault's share otherwise.
pub fn cable_available(
    cable: &str,
    design: u64,
    faults: &[Fault],
    maintenance: &[MaintenanceLine],
    figures: &Figures,
) -> u64 {
    let active: Vec<&Fault> = faults
        .iter()
        .filter(|f| f.cable == cable && f.status.is_active())
        .collect();
    if active.iter().any(|f| f.kind == FaultKind::Cut)
        || maintenance.iter().any(|m| m.cable == cable)
    {
        return 0;
    }
    // Each fault takes its share: the officer's figure for that fault, else
    // the default for its kind.
    let kept = active.iter().fold(1.0, |k, f| {
        let lost = f.capacity_lost_pct.map_or_else(
            || {
                figures.fraction(match f.kind {
                    FaultKind::PartialDamage => "lost:partial_damage",
                    _ => "lost:other",
                })
            },
            |p| (p / 100.0).clamp(0.0, 1.0),
        );
        k * (1.0 - lost)
    });
    (design as f64 * kept).round() as u64
}

/// The island regions a cable joins (see [`cable_nodes`]).
pub fn cable_regions(c: &Cable, stations: &[Station]) -> Vec<Region> {
    cable_nodes(c, stations)
        .into_iter()
        .filter_map(|n| match n {
            Node::Region(r) => Some(r),
            _ => None,
        })
        .collect()
}

/// The nodes a cable joins: the regions of its landings (and, for a
/// domestic cable, its far ends), plus `International` for an international
/// cable. A domestic cable that reaches one outlying region only joins it
/// to Taiwan (its Taiwan landing is not published).
fn cable_nodes(c: &Cable, stations: &[Station]) -> Vec<Node> {
    let region = |sid: &String| {
        stations
            .iter()
            .find(|s| &s.id == sid)
            .and_then(|s| Region::parse(&s.region))
    };
    let mut nodes: BTreeSet<Node> = c
        .landings
        .iter()
        .filter_map(region)
        .map(Node::Region)
        .collect();
    match c.kind {
        CableKind::International => {
            if nodes.is_empty() {
                nodes.insert(Node::Region(Region::Taiwan));
            }
            nodes.insert(Node::International);
        }
        CableKind::Domestic => {
            nodes.extend(c.far_ends.iter().filter_map(region).map(Node::Region));
            if nodes.len() == 1 {
                nodes.insert(Node::Region(Region::Taiwan));
            }
        }
    }
    nodes.into_iter().collect()
}

/// Builds the graph from the registry's state.
pub fn network(i: &Inputs<'_>) -> Network {
    let mut links = Vec::new();
    let mut landings: BTreeMap<String, Landing> = BTreeMap::new();
    for c in i.cables {
        let key = format!("cable:{}", c.abbrev);
        let design = i.figures.mbps(&key).unwrap_or(0);
        let available = cable_available(&c.abbrev, design, i.faults, i.maintenance, i.figures);
        let nodes = cable_nodes(c, i.stations);
        for w in nodes.windows(2) {
            links.push(Link {
                id: c.abbrev.clone(),
                label: c.abbrev.clone(),
                kind: LinkKind::Cable,
                a: w[0],
                b: w[1],
                design_mbps: design,
                available_mbps: available,
                estimate: i.figures.is_estimate(&key),
            });
        }
        if c.kind == CableKind::International && !c.landings.is_empty() {
            let n = c.landings.len() as f64;
            for s in &c.landings {
                let l = landings.entry(s.clone()).or_insert_with(|| Landing {
                    station: s.clone(),
                    design_gbps: 0.0,
                    available_gbps: 0.0,
                    cables: Vec::new(),
                    down: Vec::new(),
                });
                l.design_gbps += design as f64 / 1000.0 / n;
                l.available_gbps += available as f64 / 1000.0 / n;
                l.cables.push(c.abbrev.clone());
                if available < design {
                    l.down.push(c.abbrev.clone());
                }
            }
        }
    }
    let mut ignored_synthetic = 0;
    let mut no_capacity = Vec::new();
    // Satellite capacity per region: (design, available, any estimate).
    let mut satellite: BTreeMap<Region, (f64, f64, bool)> = BTreeMap::new();
    let mut backups: BTreeMap<(Region, AssetKind, AssetStatus), (usize, usize)> = BTreeMap::new();
    let mut named = std::collections::HashMap::new();
    for a in i.assets {
        let d = &a.draft;
        let region = asset_region(a, &mut named);
        if let Some(r) = region {
            if d.kind != AssetKind::RepairShip {
                let e = backups.entry((r, d.kind, d.status)).or_default();
                if a.is_synthetic() {
                    e.1 += 1;
                } else {
                    e.0 += 1;
                }
            }
        }
        if !counts_for_capacity(d.kind) {
            continue;
        }
        if a.is_synthetic() {
            ignored_synthetic += 1;
            continue;
        }
        let share = status_share(d.status, i.figures);
        if d.kind == AssetKind::Microwave {
            let far = d.end.and_then(|(lon, lat)| Region::at(lon, lat));
            let (Some(r), Some(f)) = (region, far) else {
                continue;
            };
            if r == f {
                continue;
            }
            let id = format!("asset:{}", a.id);
            let Some(cap) = d.capacity_mbps else {
                no_capacity.push(id);
                continue;
            };
            links.push(Link {
                id,
                label: d.name.clone(),
                kind: LinkKind::Microwave,
                a: Node::Region(r),
                b: Node::Region(f),
                design_mbps: cap.round() as u64,
                available_mbps: (cap * share).round() as u64,
                estimate: false,
            });
        } else if let Some(r) = region {
            let (cap, estimate) = match d.capacity_mbps {
                Some(c) => (c, false),
                None => {
                    let orbit = d.orbit.unwrap_or(Orbit::Geo);
                    let key = format!("orbit:{}", orbit.as_str());
                    (i.figures.mbps(&key).unwrap_or(0) as f64, true)
                }
            };
            let s = satellite.entry(r).or_default();
            s.0 += cap;
            s.1 += cap * share;
            s.2 |= estimate;
        }
    }
    for (r, (design, available, estimate)) in satellite {
        links.push(Link {
            id: format!("satellite:{}", r.id()),
            label: format!("Satellite ({})", r.name_en()),
            kind: LinkKind::Satellite,
            a: Node::Region(r),
            b: Node::International,
            design_mbps: design.round() as u64,
            available_mbps: available.round() as u64,
            estimate,
        });
    }
    Network {
        links,
        ignored_synthetic,
        no_capacity,
        backups: backups
            .into_iter()
            .map(|((region, kind, status), (count, synthetic))| BackupCount {
                region,
                kind,
                status,
                count,
                synthetic,
            })
            .collect(),
        landings: landings.into_values().collect(),
        demand: Region::ALL
            .iter()
            .filter_map(|r| i.figures.demand(*r).map(|d| (*r, d)))
            .collect(),
    }
}

impl Network {
    /// The link ids an officer can cut in a what-if: every cable and every
    /// inter-region microwave link (and each island's satellite capacity).
    pub fn cuttable(&self) -> BTreeSet<&str> {
        self.links.iter().map(|l| l.id.as_str()).collect()
    }

    /// The same network with `cut` carrying nothing, or the ids it does not
    /// know.
    pub fn with_cut(&self, cut: &BTreeSet<String>) -> Result<Network, Vec<String>> {
        let known = self.cuttable();
        let unknown: Vec<String> = cut
            .iter()
            .filter(|c| !known.contains(c.as_str()))
            .cloned()
            .collect();
        if !unknown.is_empty() {
            return Err(unknown);
        }
        Ok(Network {
            links: super::with_cut(&self.links, cut),
            ..self.clone()
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fault::{Chainage, FaultStatus};
    use crate::roc::Eta;

    fn fault(kind: FaultKind, lost: Option<f64>) -> Fault {
        Fault {
            id: 1,
            cable: "TDM2".into(),
            detected_on: None,
            kind,
            description: String::new(),
            chainage: Chainage {
                place: String::new(),
                station: None,
                km: 1.0,
            },
            alternate_routes: Vec::new(),
            eta: Eta::UNKNOWN,
            status: FaultStatus::Open,
            restored_on: None,
            notes: String::new(),
            capacity_lost_pct: lost,
            provenance: String::new(),
            version: 1,
        }
    }

    #[test]
    fn a_fault_takes_its_officers_share_or_its_kinds_default() {
        let figures = Figures::defaults().unwrap_or_default();
        let at = |faults: &[Fault]| cable_available("TDM2", 1_000, faults, &[], &figures);
        assert_eq!(at(&[]), 1_000);
        assert_eq!(
            at(&[fault(FaultKind::PartialDamage, None)]),
            500,
            "the 50 % default"
        );
        assert_eq!(at(&[fault(FaultKind::PartialDamage, Some(90.0))]), 100);
        assert_eq!(
            at(&[
                fault(FaultKind::PartialDamage, None),
                fault(FaultKind::Other, Some(50.0))
            ]),
            250,
            "two faults compound"
        );
        assert_eq!(
            at(&[fault(FaultKind::Cut, Some(10.0))]),
            0,
            "a cut carries nothing"
        );
        let mut restored = fault(FaultKind::Cut, None);
        restored.status = FaultStatus::Restored;
        assert_eq!(at(&[restored]), 1_000);
    }
}
