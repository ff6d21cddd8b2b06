//! N-1 and N-2 contingency sweeps, ranked like a power-grid contingency
//! report: for every single (or every pair of) cable or inter-region link
//! loss, which islands go worse than they are now, worst first; and per
//! island its worst coverage and the loss that causes it.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::{status_of, FlowGraph, Link, LinkKind, Node, Region, Status};

/// An island's outcome under one contingency.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Outcome {
    pub region: Region,
    pub status: Status,
    pub coverage: Option<f64>,
    pub capacity_gbps: f64,
}

/// One contingency: the links lost and the islands that end worse off.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Contingency {
    pub cut: Vec<String>,
    pub islands: Vec<Outcome>,
}

/// An island's worst outcome over the sweep.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Worst {
    pub region: Region,
    pub status: Status,
    pub coverage: Option<f64>,
    pub capacity_gbps: f64,
    /// The loss that causes it (empty: no loss makes it worse).
    pub cut: Vec<String>,
}

/// The result of a sweep.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Sweep {
    pub k: usize,
    /// How many contingencies were computed.
    pub evaluated: usize,
    /// Those that leave some island worse off, worst first.
    pub contingencies: Vec<Contingency>,
    pub worst: Vec<Worst>,
}

/// Ranking key: the worst status, then the lowest coverage, then how many
/// islands are hit.
pub(crate) fn severity(islands: &[Outcome]) -> (Status, f64, std::cmp::Reverse<usize>) {
    let status = islands
        .iter()
        .map(|o| o.status)
        .min()
        .unwrap_or(Status::Normal);
    let coverage = islands
        .iter()
        .filter_map(|o| o.coverage)
        .fold(f64::INFINITY, f64::min);
    (status, coverage, std::cmp::Reverse(islands.len()))
}

/// One region's standing before any loss: its demand, its cable capacity
/// by design, its status, and which candidates carry flow in its maximum
/// flow (all links, and cables alone).
struct Base {
    region: Region,
    demand: Option<u64>,
    design: u64,
    total: u64,
    cables: u64,
    status: Status,
    /// Per candidate: does it carry flow in the island's maximum flow?
    in_total: Vec<bool>,
    /// ... in the cables-only maximum flow?
    in_cables: Vec<bool>,
}

/// Every combination of `k` of the cables and inter-region links that carry
/// something now (satellite capacity is not a contingency: it has no single
/// point to lose).
///
/// A loss only changes an island's maximum flow if a lost link carries flow
/// in it (otherwise the same flow is still feasible and still maximal), so
/// only those flows are computed again.
pub fn sweep(links: &[Link], demand: &BTreeMap<Region, u64>, k: usize) -> Sweep {
    let mut candidates: Vec<&str> = links
        .iter()
        .filter(|l| l.kind != LinkKind::Satellite && l.available_mbps > 0)
        .map(|l| l.id.as_str())
        .collect();
    candidates.sort_unstable();
    candidates.dedup();
    // Each link's candidate index (a link id may stand for several edges).
    let cand_of: Vec<Option<usize>> = links
        .iter()
        .map(|l| candidates.binary_search(&l.id.as_str()).ok())
        .collect();
    let flags = |flows: &[u64]| {
        let mut used = vec![false; candidates.len()];
        for (c, f) in cand_of.iter().zip(flows) {
            if let (Some(c), true) = (c, *f > 0) {
                used[*c] = true;
            }
        }
        used
    };
    let cable_now = |l: &Link| {
        if l.kind == LinkKind::Cable {
            l.available_mbps
        } else {
            0
        }
    };
    let mut g = FlowGraph::new(links);
    let regions: Vec<Base> = Region::ALL
        .iter()
        .filter(|r| {
            let n = Node::Region(**r);
            links.iter().any(|l| (l.a == n) != (l.b == n))
        })
        .map(|r| {
            let from = Node::Region(*r);
            let d = demand.get(r).copied();
            let design = g.capacity(from, |l| {
                if l.kind == LinkKind::Cable {
                    l.design_mbps
                } else {
                    0
                }
            });
            let (total, total_flows) = g.run(from, |l| l.available_mbps);
            let (cables, cable_flows) = g.run(from, cable_now);
            Base {
                region: *r,
                demand: d,
                design,
                total,
                cables,
                status: status_of(true, total, cables, design, d),
                in_total: flags(&total_flows),
                in_cables: flags(&cable_flows),
            }
        })
        .collect();
    let mut worst: BTreeMap<Region, Worst> = regions
        .iter()
        .map(|b| {
            (
                b.region,
                Worst {
                    region: b.region,
                    status: b.status,
                    coverage: b
                        .demand
                        .filter(|d| *d > 0)
                        .map(|d| b.total as f64 / d as f64),
                    capacity_gbps: b.total as f64 / 1000.0,
                    cut: Vec::new(),
                },
            )
        })
        .collect();
    let combos = combinations(candidates.len(), k);
    let evaluated = combos.len();
    let mut out = Vec::new();
    let mut lost_flags = vec![false; candidates.len()];
    for combo in combos {
        for c in &combo {
            lost_flags[*c] = true;
        }
        let lost = |i: usize| cand_of[i].is_some_and(|c| lost_flags[c]);
        let mut islands = Vec::new();
        for b in &regions {
            let from = Node::Region(b.region);
            let total = if combo.iter().any(|c| b.in_total[*c]) {
                g.capacity_indexed(from, |i, l| if lost(i) { 0 } else { l.available_mbps })
            } else {
                b.total
            };
            let status = if total == 0 || b.demand.is_some_and(|d| total < d) {
                status_of(true, total, 0, b.design, b.demand)
            } else {
                let cables = if combo.iter().any(|c| b.in_cables[*c]) {
                    g.capacity_indexed(from, |i, l| if lost(i) { 0 } else { cable_now(l) })
                } else {
                    b.cables
                };
                status_of(true, total, cables, b.design, b.demand)
            };
            if status < b.status {
                let coverage = b.demand.filter(|d| *d > 0).map(|d| total as f64 / d as f64);
                let r = &b.region;
                let o = Outcome {
                    region: *r,
                    status,
                    coverage,
                    capacity_gbps: total as f64 / 1000.0,
                };
                let w = worst.get_mut(r);
                if let Some(w) = w {
                    let worse = (o.status, o.coverage.unwrap_or(f64::INFINITY))
                        < (w.status, w.coverage.unwrap_or(f64::INFINITY));
                    if worse {
                        *w = Worst {
                            region: *r,
                            status: o.status,
                            coverage: o.coverage,
                            capacity_gbps: o.capacity_gbps,
                            cut: combo.iter().map(|c| candidates[*c].to_string()).collect(),
                        };
                    }
                }
                islands.push(o);
            }
        }
        for c in &combo {
            lost_flags[*c] = false;
        }
        let cut: Vec<String> = combo.iter().map(|c| candidates[*c].to_string()).collect();
        if !islands.is_empty() {
            out.push(Contingency { cut, islands });
        }
    }
    out.sort_by(|a, b| {
        let (sa, ca, na) = severity(&a.islands);
        let (sb, cb, nb) = severity(&b.islands);
        sa.cmp(&sb)
            .then(ca.total_cmp(&cb))
            .then(na.cmp(&nb))
            .then_with(|| a.cut.cmp(&b.cut))
    });
    let mut worst: Vec<Worst> = worst.into_values().collect();
    worst.sort_by(|a, b| {
        (a.status, a.coverage.unwrap_or(f64::INFINITY))
            .partial_cmp(&(b.status, b.coverage.unwrap_or(f64::INFINITY)))
            .unwrap_or(std::cmp::Ordering::Equal)
            .then(a.region.cmp(&b.region))
    });
    Sweep {
        k,
        evaluated,
        contingencies: out,
        worst,
    }
}

/// Every `k`-subset of `0..n`, in lexicographic order.
pub(crate) fn combinations(n: usize, k: usize) -> Vec<Vec<usize>> {
    let mut out = Vec::new();
    if k == 0 || k > n {
        return out;
    }
    let mut c: Vec<usize> = (0..k).collect();
    loop {
        out.push(c.clone());
        let Some(i) = (0..k).rev().find(|&i| c[i] != i + n - k) else {
            break;
        };
        c[i] += 1;
        for j in i + 1..k {
            c[j] = c[j - 1] + 1;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn combinations_are_every_subset_once() {
        assert_eq!(combinations(4, 2).len(), 6);
        assert_eq!(combinations(25, 2).len(), 300);
        assert_eq!(combinations(3, 1), vec![vec![0], vec![1], vec![2]]);
        assert!(combinations(2, 3).is_empty());
        assert!(combinations(5, 0).is_empty());
    }
}
