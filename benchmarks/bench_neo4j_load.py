"""Benchmark: load generated flows into a local Neo4j over Bolt; print flows/s, wall time, client CPU.

Target on the 2-core development machine: 1M flows in <= 15 s. One server per run, warmed up by a first load
(JIT), then emptied (data, constraints and indexes) before each variant; or, with ``--fresh``, a newly
started server for each variant (what ``graphflows neo4j start`` then ``graphflows load`` does).

    python benchmarks/bench_neo4j_load.py                     # the default loader, 1M flows
    python benchmarks/bench_neo4j_load.py --flows 200000 --variants all

Variants (see VARIANTS): the default loader (column batches, two in flight, CREATEd by the server's
``graphflows.v2.createFlows`` procedure); portable Cypher instead of the procedure; one worker instead of
two; new flows MERGEd into a database that holds as many; the previous wire format (a list or a dict per
flow); other batch sizes; the pure-Python packstream encoder instead of neo4j-rust-ext; portable Cypher
without the constraints created first; one pass that MERGEs nodes with each flow instead of separate node
and relationship passes. ``--write-back`` adds the analysis and its write-back, as ``graphflows load`` does.
Figures go in benchmarks/README.md.
"""

from __future__ import annotations

import argparse
import datetime
import logging
import os
import resource
import shutil
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from graphflows.graph import FlowGraph, build_graph
from graphflows.model import FLOW_COLUMNS
from graphflows.neo4j import Neo4jSettings, connect, load_graph
from graphflows.neo4j import loader as loader_module
from graphflows.neo4j import server as local_server


def generated_flows(n: int, *, seed: int = 1) -> pl.DataFrame:
    """``n`` flows: 40 streams -> 400 commissioners -> 20,000 providers, pooled funds, declared streams."""
    rng = np.random.default_rng(seed)
    streams = np.array([f"stream-{i}" for i in range(40)])
    commissioners = np.array([f"comm-{i}" for i in range(400)])
    providers = np.array([f"prov-{i}" for i in range(20_000)])
    tier = rng.random(n)
    to_comm = tier < 0.05
    payer = np.where(to_comm, streams[rng.integers(0, 40, n)], commissioners[rng.integers(0, 400, n)])
    payee = np.where(to_comm, commissioners[rng.integers(0, 400, n)], providers[rng.integers(0, 20_000, n)])
    declared = (~to_comm) & (rng.random(n) < 0.3)
    days = rng.integers(0, 3 * 365, n)
    return pl.DataFrame(
        {
            "payer_id": payer,
            "payer_name": payer,
            "payer_kind": np.where(to_comm, "stream", "commissioner"),
            "payee_id": payee,
            "payee_name": payee,
            "payee_kind": np.where(to_comm, "commissioner", "provider"),
            "amount_minor": rng.integers(100, 50_000_000, n),
            "currency": np.full(n, "GBP"),
            "date": pl.Series(days + 17_987).cast(pl.Int32).cast(pl.Date),  # from 2019-04-01
            "stream_id": pl.Series(streams[rng.integers(0, 40, n)]).zip_with(
                pl.Series(declared), pl.Series([None] * n, dtype=pl.String)
            ),
            "reference": np.char.add("ref-", np.arange(n).astype(str)),
            "source": np.full(n, "generated.csv"),
            "line": (np.arange(n) + 2).astype(str),
        }
    ).cast(FLOW_COLUMNS)


TOTALS_QUERY = "MATCH ()-[f:FLOWS_TO]->() RETURN count(f) AS n, sum(f.amount_minor) AS s"
#: Whether each load also analyses and writes the analysis back (``--write-back``).
WRITE_BACK = False


@dataclass
class Result:
    variant: str
    flows: int
    seconds: float
    client_cpu: float
    schema_and_nodes: float = 0.0
    write_back: float = 0.0
    retries: int = 0
    driver_retries: int = 0

    def line(self) -> str:
        rate = self.flows / self.seconds
        share = self.client_cpu / self.seconds
        return (
            f"{self.variant:<34} {self.flows:>9,} flows  {self.seconds:7.1f} s  {rate:>9,.0f} flows/s  "
            f"client CPU {self.client_cpu:6.1f} s ({share:.0%} of one core); "
            f"schema and nodes {self.schema_and_nodes:.1f} s; "
            f"retries {self.retries} (driver {self.driver_retries})"
            + (f"; analysis and write-back {self.write_back:.1f} s" if self.write_back else "")
        )


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def timed_load(
    name: str, graph: FlowGraph, uri: str, wrap: Callable[[Any], Any] = lambda r: r, **options: Any
) -> Result:
    with connect(Neo4jSettings(uri=uri)) as runner:
        before = runner.run("MATCH ()-[f:FLOWS_TO]->() RETURN count(f) AS n, sum(f.amount_minor) AS s").rows[
            0
        ]
        already = (before["n"], before["s"] or 0)
        wall, cpu = time.perf_counter(), cpu_seconds()
        phases: dict[str, float] = {}

        def progress(done: int, total: int, what: str) -> None:
            phases[what] = time.perf_counter() - wall

        with DriverRetries() as driver_retries:
            report = load_graph(wrap(runner), graph, write_back=WRITE_BACK, progress=progress, **options)
        seconds, client = time.perf_counter() - wall, cpu_seconds() - cpu
        total = runner.run(TOTALS_QUERY).rows[0]
    expected = {"n": graph.flow_count + already[0], "s": sum(graph.totals().values()) + already[1]}
    assert total == expected, (total, expected)
    write_back = seconds - phases["flows"] if WRITE_BACK else 0.0
    return Result(
        name, graph.flow_count, seconds, client, phases.get("nodes", 0.0), write_back, report.retries,
        driver_retries.count,
    )  # fmt: skip


class DriverRetries(logging.Handler):
    """Counts the driver's own transaction retries (deadlocks and other transient errors) while active."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.count = 0

    def emit(self, record: logging.LogRecord) -> None:
        if "will be retried" in record.getMessage():
            self.count += 1

    def __enter__(self) -> DriverRetries:
        logging.getLogger("neo4j").addHandler(self)
        return self

    def __exit__(self, *exc: object) -> None:
        logging.getLogger("neo4j").removeHandler(self)


ROWS_CREATE_QUERY = """
UNWIND $rows AS row
MATCH (payer:Entity {id: row[0]})
MATCH (payee:Entity {id: row[1]})
CREATE (payer)-[f:FLOWS_TO {flow_id: row[2]}]->(payee)
SET f.amount_minor = row[3], f.amount = toFloat(row[3]) / 100.0, f.currency = row[4], f.date = row[5],
    f.stream_id = row[6], f.reference = row[7], f.source = row[8], f.line = row[9]
RETURN count(*) AS flows
"""


class RowsRunner:
    """The previous loader's wire format: a list per flow (dates as date values) instead of columns."""

    def __init__(self, runner: Any, as_dicts: bool = False):
        self.runner, self.as_dicts = runner, as_dicts

    def run(self, query: str, parameters: dict | None = None, *, write: bool = False) -> Any:
        if query != loader_module.CREATE_FLOWS_QUERY:
            return self.runner.run(query, parameters, write=write)
        batch = (parameters or {})["batch"]
        columns = [batch[c] for c in loader_module.FLOW_BATCH_COLUMNS]
        columns[5] = [None if d is None else datetime.date.fromisoformat(d) for d in columns[5]]
        rows: list[Any] = [list(row) for row in zip(*columns, strict=True)]
        text = ROWS_CREATE_QUERY
        if self.as_dicts:
            names = loader_module.FLOW_BATCH_COLUMNS
            rows = [dict(zip(names, row, strict=True)) for row in rows]
            for i, name in enumerate(names):
                text = text.replace(f"row[{i}]", f"row.{name}")
        return self.runner.run(text, {"rows": rows}, write=write)


def rows_variant(graph: FlowGraph, uri: str, batch_size: int, *, as_dicts: bool = False) -> Result:
    kind = "dicts" if as_dicts else "lists"
    return timed_load(
        f"rows as {kind}, Cypher, 1 worker (batch {batch_size:,})",
        graph,
        uri,
        wrap=lambda runner: RowsRunner(runner, as_dicts),
        batch_size=batch_size,
        procedure=False,
        workers=1,
    )


def pure_python_variant(graph: FlowGraph, uri: str, batch_size: int) -> Result:
    """Without neo4j-rust-ext: the driver's pure-Python packstream encoder."""
    from neo4j._codec.packstream import v1

    saved = v1.Packer._pack
    v1.Packer._pack = lambda self, data, dehydration_hooks=None: self._py_pack(data, dehydration_hooks)
    try:
        return timed_load(f"pure-Python driver (batch {batch_size:,})", graph, uri, batch_size=batch_size)
    finally:
        v1.Packer._pack = saved


def single_pass_variant(graph: FlowGraph, uri: str, batch_size: int) -> Result:
    """One pass: each flow row MERGEs its payer and payee as well (no separate node pass)."""
    query = loader_module.CREATE_FLOWS_QUERY.replace("MATCH (payer:Entity", "MERGE (payer:Entity").replace(
        "MATCH (payee:Entity", "MERGE (payee:Entity"
    )
    saved_create, saved_nodes = loader_module.CREATE_FLOWS_QUERY, loader_module._load_nodes
    loader_module.CREATE_FLOWS_QUERY = query
    loader_module._load_nodes = lambda *args, **kwargs: None  # type: ignore[assignment]
    try:
        result = timed_load(
            f"single pass, Cypher, 1 worker (batch {batch_size:,})",
            graph,
            uri,
            batch_size=batch_size,
            procedure=False,
            workers=1,
        )
    finally:
        loader_module.CREATE_FLOWS_QUERY, loader_module._load_nodes = saved_create, saved_nodes
    return result


def no_constraints_variant(graph: FlowGraph, uri: str, batch_size: int) -> Result:
    """Portable Cypher with no constraints or indexes behind it (every node MERGE and MATCH scans)."""
    return timed_load(
        f"no constraints first (batch {batch_size:,})",
        graph,
        uri,
        batch_size=batch_size,
        schema=False,
        procedure=False,
    )


def merge_new_variant(workers: int) -> Callable[[FlowGraph, str, int], Result]:
    """Adding new flows to a database that already holds as many (the MERGE path of reloads)."""

    def run(graph: FlowGraph, uri: str, batch_size: int) -> Result:
        earlier = build_graph(generated_flows(graph.flow_count, seed=2))
        with connect(Neo4jSettings(uri=uri)) as runner:
            load_graph(runner, earlier, write_back=False)
        return timed_load(
            f"new flows MERGEd, {workers} worker(s) (batch {batch_size:,})",
            graph,
            uri,
            batch_size=batch_size,
            workers=workers,
        )

    return run


def loader_variant(name: str, **options: Any) -> Callable[[FlowGraph, str, int], Result]:
    return lambda g, uri, b: timed_load(f"{name} (batch {b:,})", g, uri, batch_size=b, **options)


class BenchServer:
    """One server for the run (a new folder), warmed up once; :meth:`empty` before each variant."""

    def __init__(self, heap: str, pagecache: str):
        self.heap, self.pagecache = heap, pagecache
        self.folder: Path | None = None
        self.uri = ""

    def __enter__(self) -> BenchServer:
        self.folder = Path(tempfile.mkdtemp(prefix="gf-bench-neo4j-"))
        self.uri = local_server.start(
            self.folder, browser=False, heap=self.heap, pagecache=self.pagecache
        ).bolt_uri
        return self

    def empty(self) -> str:
        """Delete all data, constraints and indexes (each variant creates its own schema, or none)."""
        with connect(Neo4jSettings(uri=self.uri)) as runner:
            for what in ("()-[x]->() WITH x LIMIT 50000 DELETE x", "(x) WITH x LIMIT 50000 DELETE x"):
                while runner.run(f"MATCH {what} RETURN count(*) AS n", write=True).rows[0]["n"]:
                    pass
            for row in runner.run("SHOW CONSTRAINTS YIELD name").rows:
                runner.run(f"DROP CONSTRAINT {row['name']}", write=True)
            for row in runner.run("SHOW INDEXES YIELD name, type WHERE type <> 'LOOKUP'").rows:
                runner.run(f"DROP INDEX {row['name']}", write=True)
        return self.uri

    def __exit__(self, *exc: object) -> None:
        assert self.folder is not None
        local_server.stop(self.folder)
        shutil.rmtree(self.folder, ignore_errors=True)


VARIANTS: dict[str, Callable[[FlowGraph, str, int], Result]] = {
    "default": loader_variant("default: procedure, 2 workers"),
    "one-worker": loader_variant("procedure, 1 worker", workers=1),
    "portable": loader_variant("portable Cypher, 2 workers", procedure=False),
    "portable-one-worker": loader_variant("portable Cypher, 1 worker", procedure=False, workers=1),
    "three-workers": loader_variant("procedure, 3 workers", workers=3),
    "merge-new": merge_new_variant(2),
    "merge-new-one-worker": merge_new_variant(1),
    "rows": rows_variant,
    "dicts": lambda g, uri, b: rows_variant(g, uri, b, as_dicts=True),
    "pure-python": pure_python_variant,
    "no-constraints": no_constraints_variant,
    "single-pass": single_pass_variant,
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--flows", type=int, default=1_000_000)
    parser.add_argument(
        "--variants", default="default", help="comma list of " + ", ".join(VARIANTS) + ", or all"
    )
    parser.add_argument("--batch-sizes", default="10000", help="comma list, e.g. 2000,10000,50000")
    parser.add_argument("--repeat", type=int, default=1, help="run the list of variants this many times")
    parser.add_argument("--heap", default="2g")
    parser.add_argument("--pagecache", default="1g")
    parser.add_argument(
        "--warmup", type=int, default=100_000, help="flows loaded (and deleted) first, to warm the JIT"
    )
    parser.add_argument(
        "--write-back", action="store_true", help="also analyse and write the analysis back (as `load` does)"
    )
    parser.add_argument(
        "--fresh", action="store_true", help="a newly started, empty server for each run (no warm-up)"
    )
    args = parser.parse_args()
    global WRITE_BACK
    WRITE_BACK = args.write_back
    names = list(VARIANTS) if args.variants == "all" else args.variants.split(",")
    started = time.perf_counter()
    graph = build_graph(generated_flows(args.flows))
    took = time.perf_counter() - started
    print(f"generated {graph.flow_count:,} flows, {graph.node_count:,} nodes in {took:.1f} s")
    print(f"server: heap {args.heap}, page cache {args.pagecache}; {os.cpu_count()} cores (shared)")
    runs = [(name, int(b)) for name in names * args.repeat for b in args.batch_sizes.split(",")]
    if args.fresh:
        for name, batch_size in runs:  # a new server (new folder, cold JIT) for each run
            with BenchServer(args.heap, args.pagecache) as server:
                print(VARIANTS[name](graph, server.uri, batch_size).line() + "; fresh server", flush=True)
        return
    with BenchServer(args.heap, args.pagecache) as server:
        if args.warmup:
            print(
                timed_load(
                    "warm-up (not a result)", build_graph(generated_flows(args.warmup, seed=9)), server.uri
                ).line()
            )
        for name, batch_size in runs:
            uri = server.empty()
            print(VARIANTS[name](graph, uri, batch_size).line(), flush=True)


if __name__ == "__main__":
    main()
