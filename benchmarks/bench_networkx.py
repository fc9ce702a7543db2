"""Time the networkx round trip ``from_networkx(to_networkx(g))`` on a generated graph.

python benchmarks/bench_networkx.py 100000
"""

from __future__ import annotations

import argparse
import resource
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from generate import layered_flows

from graphflows.graph import from_networkx, read_graph


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("flows", type=int, nargs="?", default=100_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "flows.csv"
        layered_flows(args.flows, 1).write_csv(path)
        graph = read_graph([path])
    G = graph.to_networkx()
    best_wall = best_cpu = float("inf")
    for _ in range(args.repeat):
        wall, cpu = time.perf_counter(), time.process_time()
        back = from_networkx(G)
        best_wall = min(best_wall, time.perf_counter() - wall)
        best_cpu = min(best_cpu, time.process_time() - cpu)
    assert back.totals() == graph.totals() and back.flow_count == graph.flow_count
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        f"from_networkx: {graph.flow_count:,} flows, {graph.node_count:,} nodes: "
        f"best of {args.repeat} {best_wall:.2f} s wall, {best_cpu:.2f} s CPU; peak {peak:.0f} MB"
    )


if __name__ == "__main__":
    main()
