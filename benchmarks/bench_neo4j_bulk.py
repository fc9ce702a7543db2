"""Benchmark: the bulk first load (Neo4j's offline importer) into a freshly started local Neo4j, step by step.

Target (issue 13 §1): the first `graphflows load` of 1M regional flows, with the analysis written back, in
<= 20 s wall on the 2-core development machine.

    python /work/shared/bench/regional.py 1000000 > /tmp/regional_1m.csv
    python benchmarks/bench_neo4j_bulk.py /tmp/regional_1m.csv
    python benchmarks/bench_neo4j_bulk.py /tmp/regional_1m.csv --runs 2 --bolt   # also the Bolt loader

Each run starts a new server on a new folder (as `graphflows neo4j start` then `graphflows load` would), reads
the file (timed apart: the same for both methods), loads it, and checks that the flow count and the money
total in Neo4j equal the input's. Prints each step's wall time, the client's CPU time, the CPU time of a
separate importer JVM (children; only for servers without graphflows.v1.importStore, else the importer's
work is in the server's), the server's CPU time (from /proc) and the load average: the machine is shared.
"""

from __future__ import annotations

import argparse
import os
import resource
import tempfile
import time
from pathlib import Path

from graphflows.graph import read_graph
from graphflows.neo4j import Neo4jSettings, connect, load_graph
from graphflows.neo4j import server as local_server
from graphflows.neo4j.bulk import bulk_load

TOTALS = "MATCH ()-[f:FLOWS_TO]->() RETURN f.currency AS c, sum(f.amount_minor) AS s, count(f) AS n"


def server_cpu(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(") ", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def cpu() -> tuple[float, float]:
    me, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime, children.ru_utime + children.ru_stime


def one_run(path: Path, method: str, heap: str = "2g") -> None:
    started = time.perf_counter()
    graph = read_graph([path])
    read = time.perf_counter() - started
    with tempfile.TemporaryDirectory(prefix="gf-bulk-bench-") as folder:
        data_dir = Path(folder)
        began = time.perf_counter()
        info = local_server.start(data_dir, browser=False, heap=heap, pagecache="1g")
        start = time.perf_counter() - began
        try:
            auth = local_server.credentials(data_dir)
            assert auth is not None
            settings = Neo4jSettings(uri=info.bolt_uri, user=auth[0], password=auth[1])
            server_before, (client_before, child_before) = server_cpu(info.pid), cpu()
            load_avg = os.getloadavg()[0]
            began = time.perf_counter()
            if method == "bulk":
                report = bulk_load(graph, data_dir)
                steps = report.steps
            else:
                with connect(settings) as runner:
                    report = load_graph(runner, graph)
                steps = {}
            wall = time.perf_counter() - began
            server_used = server_cpu(info.pid) - server_before
            client_after, child_after = cpu()
            with connect(settings) as runner:
                rows = runner.run(TOTALS).rows
                attributed = runner.run("MATCH ()-[a:ATTRIBUTED_TO]->() RETURN count(a) AS n").rows[0]["n"]
            assert {r["c"]: r["s"] for r in rows} == graph.totals(), "money in Neo4j differs from the input"
            assert sum(r["n"] for r in rows) == graph.flow_count, "flow count differs"
            wb = report.write_back
            parts = [
                f"{method}: {graph.flow_count:,} flows, {graph.node_count:,} nodes",
                f"{attributed:,} ATTRIBUTED_TO ({wb.attributions:,} material + {wb.remainders:,} remainders)",
                f"read {read:.1f} s, server start {start:.1f} s",
                f"load {wall:.1f} s wall" + "".join(f", {name} {sec:.1f} s" for name, sec in steps.items()),
                f"CPU: client {client_after - client_before:.1f} s, "
                f"importer {child_after - child_before:.1f} s, server {server_used:.1f} s",
                f"load average {load_avg:.1f} -> {os.getloadavg()[0]:.1f}",
            ]
            print(" | ".join(parts), flush=True)
        finally:
            local_server.stop(data_dir)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "flows", type=Path, help="a native flows CSV (e.g. from /work/shared/bench/regional.py)"
    )
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--bolt", action="store_true", help="also time the Bolt loader (fresh server)")
    parser.add_argument("--heap", default="2g", help="the server's heap (graphflows neo4j start: 1g)")
    args = parser.parse_args()
    for _ in range(args.runs):
        one_run(args.flows, "bulk", args.heap)
        if args.bolt:
            one_run(args.flows, "bolt", args.heap)


if __name__ == "__main__":
    main()
