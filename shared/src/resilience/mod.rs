//! Island resilience: how much of each island's peak demand can still be
//! carried, by what, and which next loss would leave it short.
//!
//! A capacity graph: one node per island region and one for the rest of
//! the world (`International`, a single sink: every international cable's
//! far end and every satellite's ground segment). Every link (a cable, an
//! inter-region microwave link, an island's satellite capacity) is an
//! undirected edge with the capacity it has now. An island's capacity is the
//! maximum flow from it to `International` (petgraph's Dinic's algorithm).
//! Pure: [`network`] builds the links from the registry's state, [`report`]
//! computes every island's figures, and a what-if is the same on links with
//! some cut; [`contingency`] sweeps every single and double loss.

pub mod contingency;
pub mod figures;
pub mod network;

use std::collections::{BTreeMap, BTreeSet};

use petgraph::algo::dinics;
use petgraph::graph::{DiGraph, EdgeIndex, NodeIndex};
use serde::{Deserialize, Serialize};

pub use figures::{Basis, Figure, FigureForm, Figures, Unit};
pub use network::{network, Inputs, Network};

/// The island regions cablewatch reports on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Region {
    Taiwan,
    Matsu,
    Kinmen,
    Penghu,
    Xiaoliuqiu,
    GreenIsland,
    Lanyu,
    #[serde(rename = "taiping")]
    TaipingIsland,
}

/// A box around an outlying island group: (west, south, east, north).
type Bbox = (f64, f64, f64, f64);

impl Region {
    pub const ALL: [Region; 8] = [
        Region::Taiwan,
        Region::Matsu,
        Region::Kinmen,
        Region::Penghu,
        Region::Xiaoliuqiu,
        Region::GreenIsland,
        Region::Lanyu,
        Region::TaipingIsland,
    ];

    /// The lower-case id the API and the landing stations use.
    pub fn id(self) -> &'static str {
        match self {
            Self::Taiwan => "taiwan",
            Self::Matsu => "matsu",
            Self::Kinmen => "kinmen",
            Self::Penghu => "penghu",
            Self::Xiaoliuqiu => "xiaoliuqiu",
            Self::GreenIsland => "green_island",
            Self::Lanyu => "lanyu",
            Self::TaipingIsland => "taiping",
        }
    }

    pub fn name_en(self) -> &'static str {
        match self {
            Self::Taiwan => "Taiwan (main island)",
            Self::Matsu => "Matsu",
            Self::Kinmen => "Kinmen",
            Self::Penghu => "Penghu",
            Self::Xiaoliuqiu => "Xiaoliuqiu",
            Self::GreenIsland => "Green Island",
            Self::Lanyu => "Lanyu",
            Self::TaipingIsland => "Taiping Island",
        }
    }

    pub fn name_zh(self) -> &'static str {
        match self {
            Self::Taiwan => "臺灣本島",
            Self::Matsu => "馬祖",
            Self::Kinmen => "金門",
            Self::Penghu => "澎湖",
            Self::Xiaoliuqiu => "小琉球",
            Self::GreenIsland => "綠島",
            Self::Lanyu => "蘭嶼",
            Self::TaipingIsland => "太平島",
        }
    }

    /// From an id (`matsu`), an English or Chinese name (`Green Island`,
    /// `綠島`), any case. Called for every asset whenever the islands'
    /// figures are computed (every write and every watch-board render), so
    /// the names are normalised once and an exact id costs no allocation.
    pub fn parse(s: &str) -> Option<Region> {
        if let Some(r) = Self::ALL.into_iter().find(|r| r.id() == s) {
            return Some(r);
        }
        let k = Self::key(s);
        Self::names()
            .iter()
            .find(|(name, _)| *name == k)
            .map(|(_, r)| *r)
    }

    /// A name as [`Region::parse`] compares it: no spaces, `_` or `-`,
    /// lower case, 台 written 臺.
    fn key(s: &str) -> String {
        s.trim()
            .chars()
            .filter(|c| !c.is_whitespace() && *c != '_' && *c != '-')
            .flat_map(char::to_lowercase)
            .map(|c| if c == '台' { '臺' } else { c })
            .collect()
    }

    /// Every name a region answers to, as [`Region::key`] writes it.
    fn names() -> &'static [(String, Region)] {
        static NAMES: std::sync::LazyLock<Vec<(String, Region)>> = std::sync::LazyLock::new(|| {
            let mut names = Vec::new();
            for r in Region::ALL {
                names.push((Region::key(r.id()), r));
                names.push((Region::key(r.name_en()), r));
                names.push((Region::key(r.name_zh()), r));
            }
            for (alias, r) in [
                ("taipingisland", Region::TaipingIsland),
                ("臺灣", Region::Taiwan),
                ("mainisland", Region::Taiwan),
                ("orchidisland", Region::Lanyu),
            ] {
                names.push((alias.to_string(), r));
            }
            names
        });
        &NAMES
    }

    /// Where the region's badge goes on the map (the middle of the island
    /// group; the main island's centre).
    pub fn center(self) -> (f64, f64) {
        match self {
            Self::Taiwan => (120.95, 23.7),
            Self::Matsu => (120.2, 26.18),
            Self::Kinmen => (118.35, 24.45),
            Self::Penghu => (119.58, 23.57),
            Self::Xiaoliuqiu => (120.37, 22.34),
            Self::GreenIsland => (121.49, 22.66),
            Self::Lanyu => (121.55, 22.04),
            Self::TaipingIsland => (114.37, 10.38),
        }
    }

    /// The outlying island group a point lies in, else Taiwan when the point
    /// is near the main island, else none (at sea, overseas).
    pub fn at(lon: f64, lat: f64) -> Option<Region> {
        const BOXES: [(Region, Bbox); 7] = [
            (Region::Matsu, (119.80, 25.90, 120.60, 26.45)),
            (Region::Kinmen, (118.15, 24.35, 118.55, 24.55)),
            (Region::Penghu, (119.25, 23.10, 119.80, 23.85)),
            (Region::Xiaoliuqiu, (120.34, 22.31, 120.41, 22.37)),
            (Region::GreenIsland, (121.45, 22.62, 121.52, 22.69)),
            (Region::Lanyu, (121.48, 21.98, 121.63, 22.10)),
            (Region::TaipingIsland, (114.30, 10.30, 114.45, 10.45)),
        ];
        let inside = |(w, s, e, n): Bbox| (w..=e).contains(&lon) && (s..=n).contains(&lat);
        BOXES
            .iter()
            .find(|(_, b)| inside(*b))
            .map(|(r, _)| *r)
            .or_else(|| inside((119.95, 21.85, 122.05, 25.35)).then_some(Region::Taiwan))
    }
}

/// A node of the capacity graph.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Node {
    Region(Region),
    /// The rest of the world: every international cable's far end, and every
    /// satellite's ground segment.
    International,
}

/// What a link is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum LinkKind {
    Cable,
    Microwave,
    Satellite,
}

/// One edge of the graph, both ways, with its design capacity and what it
/// can carry now (0 when cut; less when partly damaged or degraded).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Link {
    /// The cable abbreviation, `asset:ID` for a microwave link, or
    /// `satellite:REGION` for an island's satellite capacity.
    pub id: String,
    /// What the UI calls it: the cable's abbreviation, the asset's name.
    #[serde(default)]
    pub label: String,
    pub kind: LinkKind,
    pub a: Node,
    pub b: Node,
    pub design_mbps: u64,
    pub available_mbps: u64,
    /// The capacity is (or includes) an estimate rather than a public or
    /// recorded figure.
    pub estimate: bool,
}

/// How an island stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(as = ResilienceStatus))]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Nothing can be carried.
    Isolated,
    /// Some, but less than peak demand.
    Short,
    /// No cable capacity; backups carry the whole peak demand.
    OnBackup,
    /// Some of the island's cable capacity is lost; demand is still carried.
    Degraded,
    Normal,
    /// No link of the island is known: no capacity figure at all.
    NoFigures,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Isolated => "isolated",
            Self::Short => "short",
            Self::OnBackup => "on_backup",
            Self::Degraded => "degraded",
            Self::Normal => "normal",
            Self::NoFigures => "no_figures",
        }
    }

    pub const ALL: [Status; 6] = [
        Self::Isolated,
        Self::Short,
        Self::OnBackup,
        Self::Degraded,
        Self::Normal,
        Self::NoFigures,
    ];

    pub fn parse(s: &str) -> Option<Status> {
        Self::ALL.into_iter().find(|x| x.as_str() == s)
    }

    /// Whether the watch is told when an island moves into this status.
    pub fn alerts(self) -> bool {
        matches!(self, Self::Isolated | Self::Short | Self::OnBackup)
    }
}

/// A link carrying part of an island's traffic in its maximum flow.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Carried {
    pub link: String,
    pub label: String,
    pub kind: LinkKind,
    pub gbps: f64,
}

/// One island's figures.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct IslandFigures {
    pub region: Region,
    pub status: Status,
    /// Peak demand (`None`: no figure).
    pub demand_gbps: Option<f64>,
    /// Maximum flow to `International`.
    pub capacity_gbps: f64,
    /// What cables alone can carry (at most `capacity_gbps`).
    pub cable_gbps: f64,
    /// The rest of the capacity: microwave and satellite.
    pub backup_gbps: f64,
    /// The island's cable capacity by design (nothing cut or damaged).
    pub cable_design_gbps: f64,
    /// `capacity / demand` (`None` without a demand figure).
    pub coverage: Option<f64>,
    /// Every link with flow in the island's maximum flow, most first.
    pub carried_by: Vec<Carried>,
    /// Links whose loss alone would leave the island short of demand (or,
    /// without a demand figure, isolated); only while it is not already.
    pub single_points: Vec<String>,
}

fn gbps(mbps: u64) -> f64 {
    mbps as f64 / 1000.0
}

/// The capacity graph built once over a set of links; each run sets the
/// capacities and computes one maximum flow. Links between the same two
/// nodes (Taiwan's international cables, a cable's parallel segments) share
/// one pair of edges, one each way, carrying their summed capacity: the
/// same maximum flow on a much smaller graph. A pair's flow is then handed
/// out to its links in order, each up to its capacity.
pub struct FlowGraph<'l> {
    links: &'l [Link],
    graph: DiGraph<Node, u64>,
    nodes: BTreeMap<Node, NodeIndex>,
    /// Per node pair: its two edges.
    pairs: Vec<(EdgeIndex, EdgeIndex)>,
    /// Per link: its node pair.
    pair_of: Vec<usize>,
    /// Scratch: each link's capacity in the current run, each pair's sum.
    link_caps: Vec<u64>,
    pair_caps: Vec<u64>,
}

impl<'l> FlowGraph<'l> {
    pub fn new(links: &'l [Link]) -> Self {
        let mut graph: DiGraph<Node, u64> = DiGraph::new();
        let mut nodes: BTreeMap<Node, NodeIndex> = BTreeMap::new();
        for n in std::iter::once(Node::International).chain(links.iter().flat_map(|l| [l.a, l.b])) {
            nodes.entry(n).or_insert_with(|| graph.add_node(n));
        }
        let mut index: BTreeMap<(Node, Node), usize> = BTreeMap::new();
        let mut pairs = Vec::new();
        let pair_of = links
            .iter()
            .map(|l| {
                let key = (l.a.min(l.b), l.a.max(l.b));
                *index.entry(key).or_insert_with(|| {
                    let (a, b) = (nodes[&key.0], nodes[&key.1]);
                    pairs.push((graph.add_edge(a, b, 0), graph.add_edge(b, a, 0)));
                    pairs.len() - 1
                })
            })
            .collect();
        Self {
            links,
            graph,
            nodes,
            link_caps: vec![0; links.len()],
            pair_caps: vec![0; pairs.len()],
            pairs,
            pair_of,
        }
    }

    pub fn links(&self) -> &'l [Link] {
        self.links
    }

    /// Sets every pair's capacity from `cap(index, link)` and computes the
    /// maximum flow from `from` (with the flow on each edge), if both ends
    /// are in the graph.
    fn flow(&mut self, from: Node, cap: impl Fn(usize, &Link) -> u64) -> Option<(u64, Vec<u64>)> {
        let source = *self.nodes.get(&from)?;
        let sink = *self.nodes.get(&Node::International)?;
        if source == sink {
            return None;
        }
        self.pair_caps.iter_mut().for_each(|c| *c = 0);
        for (i, l) in self.links.iter().enumerate() {
            let c = cap(i, l);
            self.link_caps[i] = c;
            self.pair_caps[self.pair_of[i]] += c;
        }
        for ((ab, ba), c) in self.pairs.iter().zip(&self.pair_caps) {
            self.graph[*ab] = *c;
            self.graph[*ba] = *c;
        }
        Some(dinics(&self.graph, source, sink))
    }

    /// Maximum flow from `from` to `International`, each link carrying at
    /// most `cap(link)`; with the flow on each link (of its pair's net flow,
    /// handed out to the pair's links in order).
    pub fn run(&mut self, from: Node, cap: impl Fn(&Link) -> u64) -> (u64, Vec<u64>) {
        let Some((total, flows)) = self.flow(from, |_, l| cap(l)) else {
            return (0, vec![0; self.links.len()]);
        };
        let mut left: Vec<u64> = self
            .pairs
            .iter()
            .map(|(ab, ba)| flows[ab.index()].abs_diff(flows[ba.index()]))
            .collect();
        let per_link = self
            .pair_of
            .iter()
            .zip(&self.link_caps)
            .map(|(p, c)| {
                let f = left[*p].min(*c);
                left[*p] -= f;
                f
            })
            .collect();
        (total, per_link)
    }

    /// Maximum flow only.
    pub fn capacity(&mut self, from: Node, cap: impl Fn(&Link) -> u64) -> u64 {
        self.flow(from, |_, l| cap(l)).map_or(0, |f| f.0)
    }

    /// Maximum flow only, the capacity given by the link's index too.
    pub fn capacity_indexed(&mut self, from: Node, cap: impl Fn(usize, &Link) -> u64) -> u64 {
        self.flow(from, cap).map_or(0, |f| f.0)
    }
}

/// Whether `region` has any link at all.
fn has_links(links: &[Link], region: Region) -> bool {
    let n = Node::Region(region);
    links.iter().any(|l| (l.a == n) != (l.b == n))
}

/// The status from the capacities (Mbps) and the demand.
pub fn status_of(
    has_links: bool,
    total: u64,
    cables_now: u64,
    cables_design: u64,
    demand_mbps: Option<u64>,
) -> Status {
    if !has_links {
        Status::NoFigures
    } else if total == 0 {
        Status::Isolated
    } else if demand_mbps.is_some_and(|d| total < d) {
        Status::Short
    } else if cables_now == 0 {
        Status::OnBackup
    } else if cables_now < cables_design {
        Status::Degraded
    } else {
        Status::Normal
    }
}

fn is_cable(l: &Link) -> bool {
    l.kind == LinkKind::Cable
}

/// The figures of `region` over `links`, against its peak `demand_mbps`.
pub fn island(links: &[Link], region: Region, demand_mbps: Option<u64>) -> IslandFigures {
    let mut g = FlowGraph::new(links);
    island_on(&mut g, region, demand_mbps, true)
}

fn island_on(
    g: &mut FlowGraph<'_>,
    region: Region,
    demand_mbps: Option<u64>,
    with_single_points: bool,
) -> IslandFigures {
    let links = g.links();
    let from = Node::Region(region);
    let (total, flows) = g.run(from, |l| l.available_mbps);
    let cables_now = g.capacity(from, |l| if is_cable(l) { l.available_mbps } else { 0 });
    let cables_design = g.capacity(from, |l| if is_cable(l) { l.design_mbps } else { 0 });
    let cable = cables_now.min(total);
    let mut carried: BTreeMap<&str, (&Link, u64)> = BTreeMap::new();
    for (l, f) in links.iter().zip(&flows).filter(|(_, f)| **f > 0) {
        carried.entry(&l.id).or_insert((l, 0)).1 += f;
    }
    let mut carried_by: Vec<Carried> = carried
        .into_iter()
        .map(|(id, (l, f))| Carried {
            link: id.to_string(),
            label: l.label.clone(),
            kind: l.kind,
            gbps: gbps(f),
        })
        .collect();
    carried_by.sort_by(|a, b| b.gbps.total_cmp(&a.gbps).then_with(|| a.link.cmp(&b.link)));
    // A link whose loss would drop the island below demand (or to nothing):
    // only links with flow can matter, and a link id may stand for several
    // edges (a cable landing in more than two places).
    let floor = demand_mbps.unwrap_or(1).max(1);
    let single_points = if with_single_points && total >= floor {
        carried_by
            .iter()
            .map(|c| c.link.clone())
            .filter(|id| {
                g.capacity(from, |l| if l.id == *id { 0 } else { l.available_mbps }) < floor
            })
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect()
    } else {
        Vec::new()
    };
    IslandFigures {
        region,
        status: status_of(
            has_links(links, region),
            total,
            cables_now,
            cables_design,
            demand_mbps,
        ),
        demand_gbps: demand_mbps.map(gbps),
        capacity_gbps: gbps(total),
        cable_gbps: gbps(cable),
        backup_gbps: gbps(total - cable),
        cable_design_gbps: gbps(cables_design),
        coverage: demand_mbps
            .filter(|d| *d > 0)
            .map(|d| total as f64 / d as f64),
        carried_by,
        single_points,
    }
}

/// `links` with every link named in `cut` carrying nothing: a what-if.
pub fn with_cut(links: &[Link], cut: &BTreeSet<String>) -> Vec<Link> {
    links
        .iter()
        .map(|l| Link {
            available_mbps: if cut.contains(&l.id) {
                0
            } else {
                l.available_mbps
            },
            ..l.clone()
        })
        .collect()
}

/// The figures of every region, in region order, each against its demand.
pub fn islands(links: &[Link], demand_mbps: &BTreeMap<Region, u64>) -> Vec<IslandFigures> {
    let mut g = FlowGraph::new(links);
    Region::ALL
        .iter()
        .map(|r| island_on(&mut g, *r, demand_mbps.get(r).copied(), true))
        .collect()
}

/// The same without single points of failure: the cheap recompute a write
/// does to see whether an island's status changed.
pub fn island_statuses(links: &[Link], demand_mbps: &BTreeMap<Region, u64>) -> Vec<IslandFigures> {
    let mut g = FlowGraph::new(links);
    Region::ALL
        .iter()
        .map(|r| island_on(&mut g, *r, demand_mbps.get(r).copied(), false))
        .collect()
}

/// `links` as designed: every link at its design capacity.
pub fn as_designed(links: &[Link]) -> Vec<Link> {
    links
        .iter()
        .map(|l| Link {
            available_mbps: l.design_mbps,
            ..l.clone()
        })
        .collect()
}

/// An island's figures with what they rest on and its backup assets.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct IslandReport {
    #[serde(flatten)]
    pub figures: IslandFigures,
    /// Whether the demand figure is public or an estimate (`None`: no figure).
    pub demand_basis: Option<Basis>,
    /// Its source or reasoning.
    pub demand_source: String,
    /// Some link of the island has an estimated capacity.
    pub capacity_estimated: bool,
    /// Backup assets in the region by kind and status.
    pub backups: Vec<network::BackupCount>,
}

/// Surviving international capacity against design.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct International {
    pub design_gbps: f64,
    pub available_gbps: f64,
    pub landings: Vec<network::Landing>,
}

/// Every island's figures at one moment (or under a what-if).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(as = ResilienceReport))]
pub struct Report {
    pub islands: Vec<IslandReport>,
    pub international: International,
    /// Synthetic demo records left out of every figure.
    pub ignored_synthetic: usize,
    /// Inter-region microwave links without a capacity figure.
    pub no_capacity: Vec<String>,
    /// The links cut in a what-if (empty for the real state).
    pub cut: Vec<String>,
    /// The graph: every link with its capacity now.
    pub links: Vec<Link>,
}

/// Every island's figures over `net`.
pub fn report(net: &Network, figures: &Figures) -> Report {
    let all = islands(&net.links, &net.demand);
    let islands = all
        .into_iter()
        .map(|f| {
            let key = format!("demand:{}", f.region.id());
            let demand = figures.get(&key).filter(|d| d.value.is_some());
            let n = Node::Region(f.region);
            IslandReport {
                demand_basis: demand.map(|d| d.basis),
                demand_source: demand.map(|d| d.source.clone()).unwrap_or_default(),
                capacity_estimated: net
                    .links
                    .iter()
                    .any(|l| l.estimate && (l.a == n || l.b == n)),
                backups: net
                    .backups
                    .iter()
                    .filter(|b| b.region == f.region)
                    .cloned()
                    .collect(),
                figures: f,
            }
        })
        .collect();
    let design: f64 = net.landings.iter().map(|l| l.design_gbps).sum();
    let available: f64 = net.landings.iter().map(|l| l.available_gbps).sum();
    Report {
        islands,
        international: International {
            design_gbps: design,
            available_gbps: available,
            landings: net.landings.clone(),
        },
        ignored_synthetic: net.ignored_synthetic,
        no_capacity: net.no_capacity.clone(),
        cut: Vec::new(),
        links: net.links.clone(),
    }
}

/// The report under a what-if: `cut` links carry nothing. Unknown ids are
/// returned, every one.
pub fn what_if(
    net: &Network,
    figures: &Figures,
    cut: &BTreeSet<String>,
) -> Result<Report, Vec<String>> {
    let cut_net = net.with_cut(cut)?;
    Ok(Report {
        cut: cut.iter().cloned().collect(),
        ..report(&cut_net, figures)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use contingency::severity;
    use petgraph::visit::EdgeRef;
    use proptest::prelude::*;

    fn link(id: &str, kind: LinkKind, a: Node, b: Node, mbps: u64) -> Link {
        Link {
            id: id.into(),
            label: id.into(),
            kind,
            a,
            b,
            design_mbps: mbps,
            available_mbps: mbps,
            estimate: false,
        }
    }

    const MATSU: Node = Node::Region(Region::Matsu);
    const TAIWAN: Node = Node::Region(Region::Taiwan);
    const WORLD: Node = Node::International;

    /// Matsu as it was in February 2023: both cables, a 2.2 Gbps microwave
    /// link, Taiwan with ample international capacity; demand 9.2 Gbps.
    fn matsu_2023() -> Vec<Link> {
        vec![
            link("TDM2", LinkKind::Cable, MATSU, TAIWAN, 655_000),
            link("TDM3", LinkKind::Cable, MATSU, TAIWAN, 655_000),
            link("mw-matsu", LinkKind::Microwave, MATSU, TAIWAN, 2_200),
            link("intl", LinkKind::Cable, TAIWAN, WORLD, 100_000_000),
        ]
    }

    #[test]
    fn both_cables_cut_leaves_matsu_short_at_a_quarter_of_demand() {
        let cut: BTreeSet<String> = ["TDM2", "TDM3"].map(String::from).into();
        let f = island(&with_cut(&matsu_2023(), &cut), Region::Matsu, Some(9_200));
        assert_eq!(f.status, Status::Short);
        assert!((f.capacity_gbps - 2.2).abs() < 1e-9);
        assert_eq!(f.cable_gbps, 0.0);
        let coverage = f.coverage.unwrap_or_default();
        assert!((0.23..0.25).contains(&coverage), "{coverage}");
        let carried: Vec<(&str, f64)> = f
            .carried_by
            .iter()
            .map(|c| (c.link.as_str(), c.gbps))
            .collect();
        assert_eq!(carried, vec![("intl", 2.2), ("mw-matsu", 2.2)]);
    }

    #[test]
    fn one_cable_cut_is_degraded_and_the_other_is_a_single_point() {
        let cut: BTreeSet<String> = ["TDM2".to_string()].into();
        let f = island(&with_cut(&matsu_2023(), &cut), Region::Matsu, Some(9_200));
        assert_eq!(f.status, Status::Degraded);
        assert_eq!(
            f.single_points,
            vec!["TDM3".to_string(), "intl".to_string()]
        );
        let all = island(&matsu_2023(), Region::Matsu, Some(9_200));
        assert_eq!(all.status, Status::Normal);
        assert!(!all.single_points.contains(&"TDM2".to_string()));
    }

    #[test]
    fn backups_that_cover_demand_are_on_backup_and_nothing_is_isolated() {
        let mut links = matsu_2023();
        links.push(link("sat-matsu", LinkKind::Satellite, MATSU, WORLD, 9_000));
        let cut: BTreeSet<String> = ["TDM2", "TDM3"].map(String::from).into();
        let f = island(&with_cut(&links, &cut), Region::Matsu, Some(9_200));
        assert_eq!(f.status, Status::OnBackup);
        assert!((f.backup_gbps - 11.2).abs() < 1e-9);
        let cut: BTreeSet<String> = ["TDM2", "TDM3", "mw-matsu", "sat-matsu"]
            .map(String::from)
            .into();
        assert_eq!(
            island(&with_cut(&links, &cut), Region::Matsu, Some(9_200)).status,
            Status::Isolated
        );
    }

    /// Each directed edge's flow in the maximum flow: ((from, to), mbps).
    fn directed_flows(links: &[Link], from: Node) -> Vec<((Node, Node), u64)> {
        let mut g: DiGraph<Node, u64> = DiGraph::new();
        let mut ix: BTreeMap<Node, NodeIndex> = BTreeMap::new();
        let mut n =
            |g: &mut DiGraph<Node, u64>, x: Node| *ix.entry(x).or_insert_with(|| g.add_node(x));
        let s = n(&mut g, from);
        let t = n(&mut g, Node::International);
        for l in links {
            let (a, b) = (n(&mut g, l.a), n(&mut g, l.b));
            g.add_edge(a, b, l.available_mbps);
            g.add_edge(b, a, l.available_mbps);
        }
        if s == t {
            return Vec::new();
        }
        let (_, f) = dinics(&g, s, t);
        g.edge_references()
            .map(|e| ((g[e.source()], g[e.target()]), f[e.id().index()]))
            .collect()
    }

    fn arb_links() -> impl Strategy<Value = Vec<Link>> {
        let node = prop_oneof![
            Just(Node::International),
            (0usize..4).prop_map(|i| Node::Region(Region::ALL[i])),
        ];
        let kind = prop_oneof![
            Just(LinkKind::Cable),
            Just(LinkKind::Microwave),
            Just(LinkKind::Satellite)
        ];
        prop::collection::vec((node.clone(), node, kind, 0u64..50_000, 0u64..=100), 1..14).prop_map(
            |v| {
                v.into_iter()
                    .enumerate()
                    .map(|(i, (a, b, kind, design, pct))| Link {
                        id: format!("l{i}"),
                        label: String::new(),
                        kind,
                        a,
                        b,
                        design_mbps: design,
                        available_mbps: design * pct / 100,
                        estimate: false,
                    })
                    .collect()
            },
        )
    }

    /// A contingency as compared: the cut and each island worse off.
    type Hit = (Vec<String>, Vec<(Region, Status, u64)>);

    /// `Region::parse` as first written (every name normalised on every
    /// call): the reference the table-driven one must agree with.
    fn parse_reference(s: &str) -> Option<Region> {
        let k: String = s
            .trim()
            .chars()
            .filter(|c| !c.is_whitespace() && *c != '_' && *c != '-')
            .flat_map(char::to_lowercase)
            .collect();
        let k = k.replace('台', "臺");
        Region::ALL.into_iter().find(|r| {
            let id: String = r.id().chars().filter(|c| *c != '_').collect();
            let en: String = r
                .name_en()
                .chars()
                .filter(|c| !c.is_whitespace())
                .flat_map(char::to_lowercase)
                .collect();
            k == id
                || k == en
                || k == r.name_zh()
                || (*r == Region::TaipingIsland && k == "taipingisland")
                || (*r == Region::Taiwan && (k == "臺灣" || k == "mainisland"))
                || (*r == Region::Lanyu && k == "orchidisland")
        })
    }

    #[test]
    fn regions_parse_from_ids_and_names_in_any_case() {
        for r in Region::ALL {
            for name in [r.id(), r.name_en(), r.name_zh()] {
                assert_eq!(Region::parse(name), Some(r), "{name}");
                assert_eq!(
                    Region::parse(&format!("  {}  ", name.to_uppercase())),
                    Some(r),
                    "{name}"
                );
            }
        }
        assert_eq!(Region::parse("台灣"), Some(Region::Taiwan));
        assert_eq!(Region::parse("Orchid Island"), Some(Region::Lanyu));
        assert_eq!(Region::parse("green-island"), Some(Region::GreenIsland));
        assert_eq!(Region::parse(""), None);
        assert_eq!(Region::parse("Okinawa"), None);
    }

    proptest! {
        /// Names built from the regions' own words, cased, spaced and
        /// hyphenated at random, parse as the reference parses them.
        #[test]
        fn region_parse_agrees_with_the_reference(
            parts in prop::collection::vec(prop::sample::select(vec![
                "matsu", "Green", "island", "ISLAND", "綠島", "台", "灣", "臺灣本島", "taiping",
                "Taiping Island", "orchid", "lanyu", "main", "_", "-", " ", "(", ")", "Kinmen",
                "penghu", "小琉球", "xiao", "liuqiu", "Taiwan", "x",
            ]), 0..5),
        ) {
            let s: String = parts.concat();
            prop_assert_eq!(Region::parse(&s), parse_reference(&s), "{:?}", s);
        }

        /// The sweep skips flows a loss cannot change; its answer is the
        /// same as computing every island again under every loss.
        #[test]
        fn the_sweep_agrees_with_recomputing_everything(links in arb_links(), d in prop::collection::vec(prop::option::of(1u64..60_000), 4)) {
            let demand: BTreeMap<Region, u64> = Region::ALL[..4].iter().zip(&d).filter_map(|(r, d)| d.map(|d| (*r, d))).collect();
            let base = islands(&links, &demand);
            for k in 1..=2 {
                let sweep = contingency::sweep(&links, &demand, k);
                let mut cands: Vec<&str> = links.iter().filter(|l| l.kind != LinkKind::Satellite && l.available_mbps > 0).map(|l| l.id.as_str()).collect();
                cands.sort_unstable();
                cands.dedup();
                let mut naive = Vec::new();
                for combo in contingency::combinations(cands.len(), k) {
                    let cut: BTreeSet<String> = combo.iter().map(|c| cands[*c].to_string()).collect();
                    let after = islands(&with_cut(&links, &cut), &demand);
                    let worse: Vec<(Region, Status, u64)> = after.iter().zip(&base)
                        .filter(|(a, b)| a.status != Status::NoFigures && a.status < b.status)
                        .map(|(a, _)| (a.region, a.status, (a.capacity_gbps * 1000.0).round() as u64))
                        .collect();
                    if !worse.is_empty() {
                        naive.push((cut.into_iter().collect::<Vec<_>>(), worse));
                    }
                }
                let mut got: Vec<Hit> = sweep.contingencies.iter()
                    .map(|c| (c.cut.clone(), c.islands.iter().map(|o| (o.region, o.status, (o.capacity_gbps * 1000.0).round() as u64)).collect()))
                    .collect();
                got.sort();
                naive.sort();
                prop_assert_eq!(got, naive);
            }
        }

        #[test]
        fn capacity_is_bounded_monotone_and_conserved(links in arb_links(), cut_mask in any::<u16>()) {
            for r in &Region::ALL[..4] {
                let from = Node::Region(*r);
                let (total, flows) = FlowGraph::new(&links).run(from, |l| l.available_mbps);
                // Never more than the island's own edges.
                let own: u64 = links.iter().filter(|l| (l.a == from) != (l.b == from)).map(|l| l.available_mbps).sum();
                prop_assert!(total <= own);
                // Flow conservation: at every node but the island and the
                // sink, what the links bring in equals what they take out.
                let mut net: BTreeMap<Node, i128> = BTreeMap::new();
                let directed = directed_flows(&links, from);
                for ((a, b), f) in directed {
                    *net.entry(a).or_default() -= i128::from(f);
                    *net.entry(b).or_default() += i128::from(f);
                }
                for (node, n) in &net {
                    if *node != from && *node != Node::International {
                        prop_assert_eq!(*n, 0, "conservation at {:?}", node);
                    }
                }
                prop_assert_eq!(net.get(&Node::International).copied().unwrap_or(0), i128::from(total));
                prop_assert_eq!(flows.len(), links.len());
                // Cutting more never raises capacity.
                let cut: BTreeSet<String> = links.iter().enumerate().filter(|(i, _)| cut_mask & (1 << i) != 0).map(|(_, l)| l.id.clone()).collect();
                let cut_links = with_cut(&links, &cut);
                let after = FlowGraph::new(&cut_links).capacity(from, |l| l.available_mbps);
                prop_assert!(after <= total);
            }
        }
    }

    fn of(r: &Report, region: Region) -> &IslandFigures {
        &r.islands
            .iter()
            .find(|i| i.figures.region == region)
            .expect("every region is reported")
            .figures
    }

    #[test]
    fn the_february_notice_leaves_matsu_degraded_on_tdm3() {
        let (net, figures) = crate::inventory::demo_network();
        let r = report(&net, &figures);
        let matsu = of(&r, Region::Matsu);
        assert_eq!(matsu.status, Status::Degraded, "{matsu:?}");
        assert!(
            (matsu.cable_gbps - 655.0).abs() < 1e-9,
            "TDM3 in service, TDM2 cut"
        );
        assert_eq!(matsu.demand_gbps, Some(9.5));
        // Synthetic records are left out and counted.
        assert!(r.ignored_synthetic > 800, "{}", r.ignored_synthetic);
        assert!(r.links.iter().all(|l| l.id != "satellite:hualien"));
        // Islands nothing is known about say so rather than showing 0.
        assert_eq!(of(&r, Region::Lanyu).status, Status::NoFigures);
        assert_eq!(of(&r, Region::GreenIsland).status, Status::NoFigures);
        // Taiping Island lives on its 25 Mbps MEO link.
        let taiping = of(&r, Region::TaipingIsland);
        assert_eq!(taiping.status, Status::OnBackup);
        assert!((taiping.capacity_gbps - 0.025).abs() < 1e-9);
        // International: the cut cables (PLCN, FNAL, RNAL, EAC2, Apricot)
        // and the damaged ones leave less than design.
        assert!(r.international.available_gbps < r.international.design_gbps);
        let toucheng = r
            .international
            .landings
            .iter()
            .find(|l| l.station == "toucheng")
            .expect("toucheng");
        for c in ["PLCN", "FNAL", "RNAL", "Apricot"] {
            assert!(toucheng.down.contains(&c.to_string()), "{c}");
        }
    }

    #[test]
    fn cutting_tdm3_too_leaves_matsu_on_microwave_and_its_nine_dishes() {
        let (net, figures) = crate::inventory::demo_network();
        let cut: BTreeSet<String> = ["TDM3".to_string()].into();
        let r = what_if(&net, &figures, &cut).expect("TDM3 is known");
        let matsu = of(&r, Region::Matsu);
        assert_eq!(matsu.status, Status::OnBackup, "{matsu:?}");
        assert_eq!(matsu.cable_gbps, 0.0);
        // 12.6 Gbps microwave + 8 LEO dishes at the 200 Mbps estimate + 1
        // MEO dish at the 25 Mbps estimate.
        assert!(
            (matsu.capacity_gbps - (12.6 + 8.0 * 0.2 + 0.025)).abs() < 1e-9,
            "{}",
            matsu.capacity_gbps
        );
        let kinds: BTreeSet<LinkKind> = matsu.carried_by.iter().map(|c| c.kind).collect();
        assert!(kinds.contains(&LinkKind::Microwave) && kinds.contains(&LinkKind::Satellite));
        assert_eq!(r.cut, vec!["TDM3".to_string()]);
        // A what-if changes nothing else: Kinmen's cables are untouched.
        assert_eq!(
            of(&r, Region::Kinmen).status,
            of(&report(&net, &figures), Region::Kinmen).status
        );
        let unknown: BTreeSet<String> = ["TDM9".to_string(), "asset:999999".to_string()].into();
        assert_eq!(
            what_if(&net, &figures, &unknown).err(),
            Some(vec!["TDM9".to_string(), "asset:999999".to_string()])
        );
    }

    #[test]
    fn contingencies_rank_the_loss_that_hurts_most_first() {
        let (net, _) = crate::inventory::demo_network();
        let n1 = contingency::sweep(&net.links, &net.demand, 1);
        // TDM3 is Matsu's last cable: losing it is a contingency for Matsu.
        let tdm3 = n1
            .contingencies
            .iter()
            .find(|c| c.cut == ["TDM3"])
            .expect("TDM3 is a contingency");
        assert!(tdm3
            .islands
            .iter()
            .any(|o| o.region == Region::Matsu && o.status == Status::OnBackup));
        let n2 = contingency::sweep(&net.links, &net.demand, 2);
        let n = n1.evaluated;
        assert_eq!(n2.evaluated, n * (n - 1) / 2);
        // Ranked: no contingency is less severe than the one after it.
        for w in n2.contingencies.windows(2) {
            let (a, b) = (severity(&w[0].islands), severity(&w[1].islands));
            assert!(a.0 <= b.0, "{:?} before {:?}", w[0], w[1]);
        }
        // Matsu's worst pair: TDM3 and the microwave link leaves it short.
        let worst = n2
            .worst
            .iter()
            .find(|w| w.region == Region::Matsu)
            .expect("Matsu");
        assert_eq!(worst.status, Status::Short, "{worst:?}");
        assert!(worst.cut.contains(&"TDM3".to_string()));
        assert!(worst.cut.iter().any(|c| c.starts_with("asset:")));
    }
}

/// The share of peak demand carried, as every screen and export writes it:
/// "—" with no figure, and "> 100 %" past all of it (a coverage of 70 is a
/// capacity seventy times the demand: "7000 %" says only "all of it").
pub fn coverage_text(coverage: Option<f64>) -> String {
    match coverage {
        None => "—".into(),
        Some(c) if c > 1.0 => "> 100 %".into(),
        Some(c) => format!("{:.0} %", c * 100.0),
    }
}

#[cfg(test)]
mod coverage_text_tests {
    use super::coverage_text;

    #[test]
    fn a_share_is_written_to_the_percent_and_capped_past_all_of_it() {
        assert_eq!(coverage_text(None), "—");
        assert_eq!(coverage_text(Some(0.0)), "0 %");
        assert_eq!(coverage_text(Some(0.456)), "46 %");
        assert_eq!(coverage_text(Some(1.0)), "100 %");
        assert_eq!(coverage_text(Some(70.44)), "> 100 %");
    }
}
