"""Wall time and peak memory of read, build and analyse, end to end, and against a naive baseline.

    python benchmarks/bench_analyse.py            # 100k and 1M flows
    python benchmarks/bench_analyse.py 100000     # one size

Each measurement runs in a fresh process so peak memory (max RSS) belongs to that step alone.
Figures measured on this machine are in benchmarks/README.md.
"""

from __future__ import annotations

import json
import resource
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
DATA = HERE / "data"

PHASES = """
import json, resource, sys, time
from graphflows.analysis import attribute, convergence
from graphflows.graph import graph_from_ingest
from graphflows.ingest import read_flows
t0 = time.perf_counter(); ingest = read_flows([sys.argv[1]]); t1 = time.perf_counter()
graph = graph_from_ingest(ingest); t2 = time.perf_counter()
result = attribute(graph); t3 = time.perf_counter()
table = convergence(result); t4 = time.perf_counter()
print(json.dumps({"read": t1 - t0, "build": t2 - t1, "attribute": t3 - t2, "convergence": t4 - t3,
                  "nodes": graph.node_count, "rows": result.rows.height,
                  "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""

NAIVE = """
import json, sys, time
import networkx as nx
from graphflows.analysis.netting import net_pairs
from graphflows.graph import graph_from_ingest
from graphflows.ingest import read_flows
graph = graph_from_ingest(read_flows([sys.argv[1]]))
positive, _ = net_pairs(graph.flows)
t0 = time.perf_counter()
G = nx.DiGraph()
G.add_edges_from(positive.select("payer_id", "payee_id").iter_rows())
reach = {}
for origin in [n for n in G if G.in_degree(n) == 0]:
    for node in nx.descendants(G, origin):
        reach[node] = reach.get(node, 0) + 1
print(json.dumps({"naive": time.perf_counter() - t0, "origins": sum(1 for n in G if G.in_degree(n) == 0)}))
"""


def dataset(flows: int) -> Path:
    path = DATA / f"flows-{flows}.csv"
    if not path.exists():
        subprocess.run([sys.executable, str(HERE / "generate.py"), str(flows), str(path)], check=True)
    return path


def in_fresh_process(code: str, path: Path) -> dict:
    done = subprocess.run([sys.executable, "-c", code, str(path)], check=True, capture_output=True, text=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def end_to_end(path: Path) -> tuple[float, float]:
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    start = time.perf_counter()
    subprocess.run(
        [
            sys.executable,
            "-m",
            "graphflows.cli.main",
            "analyse",
            str(path),
            "--out",
            str(DATA / "out"),
            "--top",
            "0",
        ],
        check=True,
        capture_output=True,
    )
    wall = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return wall, max(peak, before) / 1024


def main(sizes: list[int]) -> None:
    print(
        f"{'flows':>9} {'read s':>7} {'build s':>7} {'attrib s':>8} {'conv s':>6} {'peak MB':>8} "
        f"{'e2e s':>6} {'e2e MB':>7} {'nodes':>7} {'rows':>9}"
    )
    for flows in sizes:
        path = dataset(flows)
        phases = in_fresh_process(PHASES, path)
        wall, peak = end_to_end(path)
        print(
            f"{flows:>9} {phases['read']:>7.2f} {phases['build']:>7.2f} {phases['attribute']:>8.2f} "
            f"{phases['convergence']:>6.2f} {phases['peak_mb']:>8.0f} {wall:>6.2f} {peak:>7.0f} "
            f"{phases['nodes']:>7} {phases['rows']:>9}"
        )
    naive_size = min(sizes)
    path = dataset(naive_size)
    naive = in_fresh_process(NAIVE, path)
    ours = in_fresh_process(PHASES, path)
    print(
        f"naive baseline at {naive_size} flows (networkx descendants per root, reach only, "
        f"{naive['origins']} roots): {naive['naive']:.2f} s; graphflows attribute (amounts, all origins): "
        f"{ours['attribute']:.2f} s; ratio {naive['naive'] / ours['attribute']:.1f}x"
    )


if __name__ == "__main__":
    main([int(a) for a in sys.argv[1:]] or [100_000, 1_000_000])
