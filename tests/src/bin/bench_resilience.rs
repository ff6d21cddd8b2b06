//! The resilience engine's benchmark (issue 12): on the real graph (the
//! demo data) and on a synthetic one with ten times the links, time a full
//! recompute after a write, a what-if, the N-1 sweep and the full N-2 sweep;
//! then hand the same graphs to networkx (`resilience_networkx.py`, run by
//! `cargo xtask bench-resilience` in a venv under target/) and check that
//! every maximum flow agrees.
//!
//! Usage: bench_resilience <python> <script>

use std::collections::BTreeSet;
use std::process::Command;

use anyhow::{ensure, Context, Result};
use e2e::time_ms as time;
use serde_json::{json, Value};
use shared::inventory::demo_network;
use shared::resilience::{
    contingency, island_statuses, islands, network, with_cut, FlowGraph, Inputs, Link, LinkKind,
    Node, Region,
};

/// Ten times the links: each link split into ten parallel links of a tenth
/// of its capacity (the same maximum flows), plus cross links between the
/// outlying islands with capacities from a fixed sequence.
fn tenfold(links: &[Link]) -> Vec<Link> {
    let mut out = Vec::new();
    for l in links {
        for k in 0..10 {
            out.push(Link {
                id: format!("{}#{k}", l.id),
                design_mbps: l.design_mbps / 10,
                available_mbps: l.available_mbps / 10,
                ..l.clone()
            });
        }
    }
    let islands = [
        Region::Matsu,
        Region::Kinmen,
        Region::Penghu,
        Region::TaipingIsland,
    ];
    let mut x: u64 = 2026;
    for i in 0..islands.len() {
        for j in i + 1..islands.len() {
            for k in 0..4 {
                x = x
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                let cap = 1_000 + (x >> 33) % 20_000;
                out.push(Link {
                    id: format!("x-{}-{}-{k}", islands[i].id(), islands[j].id()),
                    label: String::new(),
                    kind: LinkKind::Microwave,
                    a: Node::Region(islands[i]),
                    b: Node::Region(islands[j]),
                    design_mbps: cap,
                    available_mbps: cap,
                    estimate: false,
                });
            }
        }
    }
    out
}

fn node_name(n: Node) -> String {
    match n {
        Node::Region(r) => r.id().to_string(),
        Node::International => "international".into(),
    }
}

/// The contingency candidates, as the sweep picks them.
fn candidates(links: &[Link]) -> Vec<String> {
    let set: BTreeSet<&str> = links
        .iter()
        .filter(|l| l.kind != LinkKind::Satellite && l.available_mbps > 0)
        .map(|l| l.id.as_str())
        .collect();
    set.into_iter().map(str::to_string).collect()
}

/// Every region's capacity (Mbps) under each cut, in the sweep's order.
fn matrix(links: &[Link], cuts: &[Vec<String>]) -> Vec<Vec<u64>> {
    let mut g = FlowGraph::new(links);
    cuts.iter()
        .map(|cut| {
            Region::ALL
                .iter()
                .map(|r| {
                    g.capacity(Node::Region(*r), |l| {
                        if cut.contains(&l.id) {
                            0
                        } else {
                            l.available_mbps
                        }
                    })
                })
                .collect()
        })
        .collect()
}

fn pairs(c: &[String], limit: usize) -> Vec<Vec<String>> {
    let mut out = Vec::new();
    for i in 0..c.len() {
        for j in i + 1..c.len() {
            out.push(vec![c[i].clone(), c[j].clone()]);
        }
    }
    if out.len() > limit {
        // A deterministic even sample.
        let step = out.len() as f64 / limit as f64;
        out = (0..limit)
            .map(|k| out[(k as f64 * step) as usize].clone())
            .collect();
    }
    out
}

struct Case {
    name: &'static str,
    links: Vec<Link>,
    /// N-2 pairs handed to networkx (all of them, or a sample).
    nx_pairs: usize,
}

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().collect();
    ensure!(args.len() == 3, "usage: bench_resilience <python> <script>");
    let (python, script) = (&args[1], &args[2]);
    let (net, figures) = demo_network();
    let demand = net.demand.clone();
    // The recompute a write does, from the registry's state to every
    // island's status: build the graph, then the flows.
    let cables = shared::reference::cables()?;
    let stations = shared::reference::stations()?;
    let assets: Vec<shared::assets::Asset> = shared::inventory::reference_assets()
        .into_iter()
        .enumerate()
        .map(|(i, draft)| shared::assets::Asset {
            id: i as i64 + 1,
            draft,
            source: "reference".into(),
            version: 1,
        })
        .collect();
    let inputs = Inputs {
        cables: &cables,
        stations: &stations,
        faults: &[],
        maintenance: &[],
        assets: &assets,
        figures: &figures,
    };
    let (write_p50, write_p99) = time(2000, || {
        let n = network(&inputs);
        island_statuses(&n.links, &n.demand)
    });
    let synthetic = tenfold(&net.links);
    let cases = [
        Case {
            name: "real",
            links: net.links.clone(),
            nx_pairs: usize::MAX,
        },
        Case {
            name: "synthetic ×10",
            links: synthetic,
            nx_pairs: 3000,
        },
    ];
    let mut rows = Vec::new();
    for case in &cases {
        let links = &case.links;
        let cand = candidates(links);
        let what_if_cut: BTreeSet<String> = [cand[cand.len() / 2].clone()].into();
        let runs = if case.name == "real" { 500 } else { 50 };
        let recompute = time(runs, || islands(links, &demand));
        let what_if = time(runs, || islands(&with_cut(links, &what_if_cut), &demand));
        let n1 = time(runs.min(100), || contingency::sweep(links, &demand, 1));
        let n2_runs = if case.name == "real" { 30 } else { 3 };
        let n2 = time(n2_runs, || contingency::sweep(links, &demand, 2));
        let n2_count = cand.len() * (cand.len() - 1) / 2;

        // The same graph for networkx, with the cuts to compute.
        let singles: Vec<Vec<String>> = cand.iter().map(|c| vec![c.clone()]).collect();
        let doubles = pairs(&cand, case.nx_pairs);
        let graph = json!({
            "regions": Region::ALL.iter().map(|r| r.id()).collect::<Vec<_>>(),
            "demand": Region::ALL.iter().map(|r| demand.get(r).copied()).collect::<Vec<_>>(),
            "links": links.iter().map(|l| json!({
                "id": l.id, "kind": l.kind, "a": node_name(l.a), "b": node_name(l.b),
                "available": l.available_mbps, "design": l.design_mbps,
            })).collect::<Vec<_>>(),
            "n1": singles, "n2": doubles,
        });
        let path =
            std::env::temp_dir().join(format!("cablewatch-bench-resilience-{}.json", rows.len()));
        std::fs::write(&path, graph.to_string())?;
        let out = Command::new(python)
            .arg(script)
            .arg(&path)
            .output()
            .context("run networkx")?;
        ensure!(
            out.status.success(),
            "networkx: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let nx: Value = serde_json::from_slice(&out.stdout)?;
        // The answers agree, every maximum flow of every cut.
        for (key, cuts) in [("n1", &singles), ("n2", &doubles)] {
            let ours = matrix(links, cuts);
            let theirs: Vec<Vec<u64>> = serde_json::from_value(nx[key]["capacities"].clone())?;
            ensure!(
                ours == theirs,
                "{}: {key} capacities differ from networkx",
                case.name
            );
        }
        let base = matrix(links, &[Vec::new()]);
        let theirs: Vec<Vec<u64>> = serde_json::from_value(nx["base"]["capacities"].clone())?;
        ensure!(
            base == theirs,
            "{}: island capacities differ from networkx",
            case.name
        );
        let ms = |v: &Value| v.as_f64().unwrap_or(f64::NAN);
        let nx_n2 = ms(&nx["n2"]["ms"]) * n2_count as f64 / doubles.len().max(1) as f64;
        rows.push((
            case.name,
            links.len(),
            cand.len(),
            n2_count,
            doubles.len(),
            [
                (
                    "recompute (8 islands, with single points)",
                    recompute.0,
                    ms(&nx["base"]["ms"]),
                ),
                ("what-if (one cut)", what_if.0, ms(&nx["what_if"]["ms"])),
                ("N-1 sweep", n1.0, ms(&nx["n1"]["ms"])),
                ("N-2 sweep", n2.0, nx_n2),
            ],
        ));
    }
    println!("Write recompute (graph from the registry's state + every island's status): p50 {write_p50:.3} ms, p99 {write_p99:.3} ms");
    println!();
    println!("| graph | links | candidates | N-2 pairs | operation | cablewatch (petgraph Dinic) | networkx | speed-up |");
    println!("|---|---:|---:|---:|---|---:|---:|---:|");
    for (name, links, cand, n2, sampled, ops) in &rows {
        for (op, ours, theirs) in ops {
            let n2_note = if op.starts_with("N-2") && sampled < n2 {
                format!(" (networkx: {sampled} sampled, scaled)")
            } else {
                String::new()
            };
            println!(
                "| {name} | {links} | {cand} | {n2} | {op}{n2_note} | {ours:.3} ms | {theirs:.1} ms | {:.0}× |",
                theirs / ours
            );
        }
    }
    println!();
    println!("Every maximum flow (each island, each N-1 cut, each N-2 pair computed by both) is equal in both.");
    Ok(())
}
