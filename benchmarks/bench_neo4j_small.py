"""Benchmark: a small real load (the 9,411 north-east London CCG flows) into a freshly started local Neo4j,
with the time split by phase: server start, reading the files, schema, nodes, flows, analysis, write-back.

Target (issue 13 §1): the whole `graphflows load` of these files in <= 5 s on a freshly started server.

    python benchmarks/bench_neo4j_small.py      # a fresh server: first load, reload, load into a wiped db
    python benchmarks/bench_neo4j_small.py --runs 3

Every Cypher call goes through a timing runner that files it under the phase its query belongs to, so the
figures add up to the load's wall time (the rest is client-side Python). The server's CPU time is printed too:
on a shared 2-core machine it varies much less than wall time. Figures go in benchmarks/README.md.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from collections import defaultdict
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from graphflows.analysis import attribute
from graphflows.graph import graph_from_ingest
from graphflows.ingest import read_flows
from graphflows.neo4j import BoltRunner, QueryResult, connect, load_graph
from graphflows.neo4j import server as local_server

DATA = Path(__file__).resolve().parents[1] / "tests" / "data" / "real" / "nhs-ccg-spend-nel"


def phase_of(query: str) -> str:
    text = " ".join(query.split())
    if text.startswith(("CREATE CONSTRAINT", "CREATE INDEX", "CALL db.awaitIndexes", "SHOW INDEXES")):
        return "schema"
    if "MERGE (n:Entity" in text:
        return "nodes"
    if "createFlows" in text or ("FLOWS_TO" in text and "flow_id" in text):
        return "flows"
    if "SHOW PROCEDURES" in text or "RETURN count(f) > 0" in text:
        return "checks"
    return "write-back"


class TimingRunner:
    """A runner that adds each query's wall time to its phase (thread-safe enough for two workers)."""

    def __init__(self, runner: BoltRunner):
        self.runner = runner
        self.seconds: dict[str, float] = defaultdict(float)
        self.calls: dict[str, int] = defaultdict(int)

    def run(
        self, query: str, parameters: Mapping[str, Any] | None = None, *, write: bool = False
    ) -> QueryResult:
        started = time.perf_counter()
        try:
            return self.runner.run(query, parameters, write=write)
        finally:
            phase = phase_of(query)
            self.seconds[phase] += time.perf_counter() - started
            self.calls[phase] += 1


def wipe(runner: BoltRunner) -> None:
    for pattern in ("()-[x]->()", "(x)"):
        query = f"MATCH {pattern} WITH x LIMIT 20000 DELETE x RETURN count(*) AS n"
        while runner.run(query, write=True).rows[0]["n"]:
            pass


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def one_load(runner: BoltRunner, graph: Any, label: str, server_pid: int) -> None:
    timing = TimingRunner(runner)
    started, cpu = time.perf_counter(), cpu_seconds(server_pid)
    report = load_graph(timing, graph)
    wall, cpu = time.perf_counter() - started, cpu_seconds(server_pid) - cpu
    analysis_started = time.perf_counter()
    attribute(graph, by="origin")
    analysis = time.perf_counter() - analysis_started  # the Python analysis alone, run again to time it
    parts = ", ".join(
        f"{phase} {timing.seconds[phase]:.2f} s ({timing.calls[phase]} calls)"
        for phase in ("schema", "checks", "nodes", "flows", "write-back")
        if phase in timing.seconds
    )
    print(
        f"{label}: {report.flows} flows in {wall:.2f} s ({report.flows / wall:,.0f} flows/s, server CPU "
        f"{cpu:.1f} s): {parts}; Python analysis about {analysis:.2f} s"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=1, help="fresh servers to measure")
    args = parser.parse_args()
    started = time.perf_counter()
    ingest = read_flows(sorted(DATA.glob("*.zip")))
    graph = graph_from_ingest(ingest)
    seconds = time.perf_counter() - started
    print(f"read {ingest.flows.height} flows, {graph.node_count} nodes in {seconds:.2f} s")
    for run in range(args.runs):
        with tempfile.TemporaryDirectory(prefix="gf-bench-small-") as folder:
            data_dir = Path(folder)
            started = time.perf_counter()
            info = local_server.start(data_dir, browser=False)
            seconds = time.perf_counter() - started
            print(f"run {run + 1}: server started in {seconds:.2f} s (CPU {cpu_seconds(info.pid):.1f} s)")
            try:
                with connect(data_dir=data_dir, uri=info.bolt_uri) as runner:
                    one_load(runner, graph, "  first load, fresh server", info.pid)
                    one_load(runner, graph, "  same load again (MERGE, nothing new)", info.pid)
                    wipe(runner)
                    one_load(runner, graph, "  into the wiped database (warm server)", info.pid)
            finally:
                local_server.stop(data_dir)


if __name__ == "__main__":
    main()
