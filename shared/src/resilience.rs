//! Island resilience: how much of each island's peak demand can still be
//! carried, by what, and which single loss would leave it short.
//!
//! A capacity graph: one node per island region and one for the rest of
//! the world (`International`, a single sink); every link (a cable segment,
//! an inter-region microwave link, an island's satellite capacity) is an
//! undirected edge with the capacity it has now. An island's capacity is the
//! maximum flow from it to `International` (petgraph's Ford-Fulkerson, BFS
//! augmenting paths). Pure: the server builds the links from the registry's
//! state, and a what-if is the same function on links with some cut.

use std::collections::{BTreeMap, BTreeSet};

use petgraph::algo::ford_fulkerson;
use petgraph::graph::{DiGraph, NodeIndex};
use serde::{Deserialize, Serialize};

/// The island regions cablewatch reports on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Region {
    Taiwan,
    Matsu,
    Kinmen,
    Penghu,
    Xiaoliuqiu,
    GreenIsland,
    Lanyu,
    TaipingIsland,
}

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
}

/// A node of the capacity graph.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Node {
    Region(Region),
    /// The rest of the world: every international cable's far end, and every
    /// satellite's ground segment.
    International,
}

/// What a link is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LinkKind {
    Cable,
    Microwave,
    Satellite,
}

/// One edge of the graph, both ways, with its design capacity and what it
/// can carry now (0 when cut; less when partly damaged or degraded).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Link {
    /// The cable abbreviation or asset id it stands for.
    pub id: String,
    pub kind: LinkKind,
    pub a: Node,
    pub b: Node,
    pub design_mbps: u64,
    pub available_mbps: u64,
}

/// How an island stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
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
}

/// A link carrying part of an island's traffic in its maximum flow.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Carried {
    pub link: String,
    pub kind: LinkKind,
    pub gbps: f64,
}

/// One island's figures.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IslandFigures {
    pub region: Region,
    /// Maximum flow to `International`.
    pub capacity_gbps: f64,
    /// What cables alone can carry (at most `capacity_gbps`).
    pub cable_gbps: f64,
    /// The rest of the capacity: microwave and satellite.
    pub backup_gbps: f64,
    pub demand_gbps: f64,
    /// `capacity / demand` (`None` without a demand figure).
    pub coverage: Option<f64>,
    /// Every link with flow in the island's maximum flow, most first.
    pub carried_by: Vec<Carried>,
    /// Links whose loss alone would leave the island short of demand (only
    /// while it is not short already).
    pub single_points: Vec<String>,
    pub status: Status,
}

fn gbps(mbps: u64) -> f64 {
    mbps as f64 / 1000.0
}

/// Maximum flow from `from` to `International` over `links` (available
/// capacities; links whose `keep` is false carry nothing), with the flow on
/// each link (the net of its two directions).
fn max_flow(links: &[Link], from: Node, keep: impl Fn(&Link) -> bool) -> (u64, Vec<u64>) {
    let mut graph: DiGraph<Node, u64> = DiGraph::new();
    let mut index: BTreeMap<Node, NodeIndex> = BTreeMap::new();
    let mut node =
        |g: &mut DiGraph<Node, u64>, n: Node| *index.entry(n).or_insert_with(|| g.add_node(n));
    let source = node(&mut graph, from);
    let sink = node(&mut graph, Node::International);
    let mut edges = Vec::with_capacity(links.len());
    for l in links {
        let (a, b) = (node(&mut graph, l.a), node(&mut graph, l.b));
        let cap = if keep(l) { l.available_mbps } else { 0 };
        edges.push((graph.add_edge(a, b, cap), graph.add_edge(b, a, cap)));
    }
    if source == sink {
        return (0, vec![0; links.len()]);
    }
    let (total, flows) = ford_fulkerson(&graph, source, sink);
    let per_link = edges
        .iter()
        .map(|(ab, ba)| flows[ab.index()].abs_diff(flows[ba.index()]))
        .collect();
    (total, per_link)
}

/// The figures of `region` over `links`, against its peak `demand_mbps`.
pub fn island(links: &[Link], region: Region, demand_mbps: u64) -> IslandFigures {
    let from = Node::Region(region);
    let (total, flows) = max_flow(links, from, |_| true);
    let (cables_now, _) = max_flow(links, from, |l| l.kind == LinkKind::Cable);
    let design: Vec<Link> = links
        .iter()
        .map(|l| Link {
            available_mbps: l.design_mbps,
            ..l.clone()
        })
        .collect();
    let (cables_design, _) = max_flow(&design, from, |l| l.kind == LinkKind::Cable);
    let cable = cables_now.min(total);
    let mut carried_by: Vec<Carried> = links
        .iter()
        .zip(&flows)
        .filter(|(_, f)| **f > 0)
        .map(|(l, f)| Carried {
            link: l.id.clone(),
            kind: l.kind,
            gbps: gbps(*f),
        })
        .collect();
    carried_by.sort_by(|a, b| b.gbps.total_cmp(&a.gbps).then_with(|| a.link.cmp(&b.link)));
    let single_points = if total >= demand_mbps && demand_mbps > 0 {
        links
            .iter()
            .zip(&flows)
            .filter(|(_, f)| **f > 0)
            .filter(|(l, _)| max_flow(links, from, |x| !std::ptr::eq(x, *l)).0 < demand_mbps)
            .map(|(l, _)| l.id.clone())
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect()
    } else {
        Vec::new()
    };
    let status = if total == 0 {
        Status::Isolated
    } else if total < demand_mbps {
        Status::Short
    } else if cables_now == 0 {
        Status::OnBackup
    } else if cables_now < cables_design {
        Status::Degraded
    } else {
        Status::Normal
    };
    IslandFigures {
        region,
        capacity_gbps: gbps(total),
        cable_gbps: gbps(cable),
        backup_gbps: gbps(total - cable),
        demand_gbps: gbps(demand_mbps),
        coverage: (demand_mbps > 0).then(|| total as f64 / demand_mbps as f64),
        carried_by,
        single_points,
        status,
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

/// The figures of every region that has a demand figure, in region order.
pub fn islands(links: &[Link], demand_mbps: &BTreeMap<Region, u64>) -> Vec<IslandFigures> {
    demand_mbps
        .iter()
        .map(|(r, d)| island(links, *r, *d))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use petgraph::visit::EdgeRef;
    use proptest::prelude::*;

    fn link(id: &str, kind: LinkKind, a: Node, b: Node, mbps: u64) -> Link {
        Link {
            id: id.into(),
            kind,
            a,
            b,
            design_mbps: mbps,
            available_mbps: mbps,
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
        let f = island(&with_cut(&matsu_2023(), &cut), Region::Matsu, 9_200);
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
        let f = island(&with_cut(&matsu_2023(), &cut), Region::Matsu, 9_200);
        assert_eq!(f.status, Status::Degraded);
        assert_eq!(
            f.single_points,
            vec!["TDM3".to_string(), "intl".to_string()]
        );
        let all = island(&matsu_2023(), Region::Matsu, 9_200);
        assert_eq!(all.status, Status::Normal);
        assert!(!all.single_points.contains(&"TDM2".to_string()));
    }

    #[test]
    fn backups_that_cover_demand_are_on_backup_and_nothing_is_isolated() {
        let mut links = matsu_2023();
        links.push(link("sat-matsu", LinkKind::Satellite, MATSU, WORLD, 9_000));
        let cut: BTreeSet<String> = ["TDM2", "TDM3"].map(String::from).into();
        let f = island(&with_cut(&links, &cut), Region::Matsu, 9_200);
        assert_eq!(f.status, Status::OnBackup);
        assert!((f.backup_gbps - 11.2).abs() < 1e-9);
        let cut: BTreeSet<String> = ["TDM2", "TDM3", "mw-matsu", "sat-matsu"]
            .map(String::from)
            .into();
        assert_eq!(
            island(&with_cut(&links, &cut), Region::Matsu, 9_200).status,
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
        let (_, f) = ford_fulkerson(&g, s, t);
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
                        kind,
                        a,
                        b,
                        design_mbps: design,
                        available_mbps: design * pct / 100,
                    })
                    .collect()
            },
        )
    }

    proptest! {
        #[test]
        fn capacity_is_bounded_monotone_and_conserved(links in arb_links(), cut_mask in any::<u16>()) {
            for r in &Region::ALL[..4] {
                let from = Node::Region(*r);
                let (total, flows) = max_flow(&links, from, |_| true);
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
                let after = max_flow(&with_cut(&links, &cut), from, |_| true).0;
                prop_assert!(after <= total);
            }
        }
    }
}
