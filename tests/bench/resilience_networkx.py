"""The networkx side of `cargo xtask bench-resilience`: the same maximum
flows as cablewatch's resilience engine, on the same graph (read from the
JSON file given), timed. Prints the capacities (Mbit/s) and timings as JSON.

Each link is undirected: both directions get its capacity; parallel links
between the same two nodes add up (the same maximum flow).
"""

import json
import sys
import time

import networkx as nx
from networkx.algorithms.flow import preflow_push

SINK = "international"


def graph(links, keep):
    g = nx.DiGraph()
    for l in links:
        cap = keep(l)
        for a, b in ((l["a"], l["b"]), (l["b"], l["a"])):
            if g.has_edge(a, b):
                g[a][b]["capacity"] += cap
            else:
                g.add_edge(a, b, capacity=cap)
    return g


def flow_value(g, region):
    if region not in g or SINK not in g:
        return 0
    return nx.maximum_flow_value(g, region, SINK, flow_func=preflow_push)


def recompute(links, regions, demand):
    """Every island: capacity, cable capacity now and by design, and the
    links whose loss alone would drop it below demand (as the engine does)."""
    out = []
    all_now = graph(links, lambda l: l["available"])
    cable_now = graph(links, lambda l: l["available"] if l["kind"] == "cable" else 0)
    cable_design = graph(links, lambda l: l["design"] if l["kind"] == "cable" else 0)
    for region, d in zip(regions, demand):
        if region not in all_now:
            out.append(0)
            continue
        total, flows = nx.maximum_flow(all_now, region, SINK, flow_func=preflow_push)
        flow_value(cable_now, region)
        flow_value(cable_design, region)
        floor = max(d or 1, 1)
        if total >= floor:
            used = {l["id"] for l in links
                    if flows.get(l["a"], {}).get(l["b"], 0) or flows.get(l["b"], {}).get(l["a"], 0)}
            for lid in used:
                flow_value(graph(links, lambda l, lid=lid: 0 if l["id"] == lid else l["available"]), region)
        out.append(total)
    return out


def sweep(links, regions, cuts):
    caps = []
    for cut in cuts:
        cut = set(cut)
        g = graph(links, lambda l: 0 if l["id"] in cut else l["available"])
        caps.append([flow_value(g, r) for r in regions])
    return caps


def timed(f):
    t = time.perf_counter()
    v = f()
    return v, (time.perf_counter() - t) * 1e3


def main():
    with open(sys.argv[1], encoding="utf-8") as fh:
        spec = json.load(fh)
    links, regions, demand = spec["links"], spec["regions"], spec["demand"]
    base, base_ms = timed(lambda: recompute(links, regions, demand))
    cut = set(spec["n1"][len(spec["n1"]) // 2]) if spec["n1"] else set()
    cut_links = [dict(l, available=0) if l["id"] in cut else l for l in links]
    _, what_if_ms = timed(lambda: recompute(cut_links, regions, demand))
    n1, n1_ms = timed(lambda: sweep(links, regions, spec["n1"]))
    n2, n2_ms = timed(lambda: sweep(links, regions, spec["n2"]))
    json.dump({
        "networkx": nx.__version__,
        "base": {"capacities": [base], "ms": base_ms},
        "what_if": {"ms": what_if_ms},
        "n1": {"capacities": n1, "ms": n1_ms},
        "n2": {"capacities": n2, "ms": n2_ms},
    }, sys.stdout)


if __name__ == "__main__":
    main()
