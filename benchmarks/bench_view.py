"""Benchmark: the interactive views of a large graph. Prints generation time, file size, time to settle.

Target (issue 5) for a 1M-flow dataset: a network view of <= 2 MB, written in <= 3 s, settling in headless
Chromium in <= 3 s. The flows come from a seeded generator, written once to benchmarks/data/ (gitignored) and
reused: ``layered`` (benchmarks/generate.py) or ``regional`` (``/work/shared/bench/regional.py`` or
``$GRAPHFLOWS_REGIONAL``: 50 national streams, 200 regions of 25 commissioners, providers paid inside their
region), to which the benchmark adds channels of government (streams and commissioners spread over the
public channels, a third of providers charitable, a third private): channel convergence counts something.

    python benchmarks/bench_view.py                       # 1M regional flows, top 250 nodes, 3 browser runs
    python benchmarks/bench_view.py --data layered --flows 200000 --top 500 --runs 5

Peak memory: the growth of the process's peak resident memory during the step (``VmHWM`` reset through
``/proc/self/clear_refs`` before it), over its resident memory when the step starts.

"Write" is prepare (select, sum, lay out) + render + write, given the graph and its attribution (both
timed separately: the CLI does them once for every output). "Settle" is the time from the start of
navigation until the page has drawn (``window.graphflowsReadyAt``; physics is off, positions come from
Python), median over the runs, each in a fresh browser context.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import polars as pl
from generate import layered_flows

from graphflows.graph import read_graph
from graphflows.viz import prepare_view, write_sankey, write_view
from graphflows.viz.chromium import launch_chromium, refuse_network

DATA = Path(__file__).resolve().parent / "data"
REGIONAL = Path(os.environ.get("GRAPHFLOWS_REGIONAL", "/work/shared/bench/regional.py"))
#: Channels the regional streams and commissioners are spread over (providers: charitable / private / none).
PUBLIC = ("nhs", "local_government", "public_health", "police_justice", "education", "welfare_employment",
          "housing_communities", "fire_rescue", "transport", "central_other")  # fmt: skip


def memory_kb(field: str) -> int:
    return int(re.search(rf"{field}:\s+(\d+)", Path("/proc/self/status").read_text()).group(1))


def timed(label: str, fn, *args, **kwargs):
    """Run ``fn``; print its wall time, CPU time (all threads: steadier than wall time on a shared
    machine) and how much it raised the process's peak resident memory."""
    with contextlib.suppress(OSError):
        Path("/proc/self/clear_refs").write_text("5")  # reset VmHWM to the current resident size
    before = memory_kb("VmRSS")
    start, cpu = time.perf_counter(), time.process_time()
    result = fn(*args, **kwargs)
    seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
    peak = (memory_kb("VmHWM") - before) / 1024
    print(f"{label:<44} {seconds:8.2f} s   CPU {cpu:6.2f} s   peak +{peak:,.0f} MB", flush=True)
    return result, seconds


def regional_flows(flows: int, path: Path) -> None:
    """The shared regional generator's CSV, with ``payer_channel`` and ``payee_channel`` added."""
    raw = path.with_suffix(".raw.csv")
    with raw.open("w") as out:
        subprocess.run([sys.executable, str(REGIONAL), str(flows)], stdout=out, check=True)
    frame = pl.read_csv(raw, infer_schema=False)

    def channel(col: str) -> pl.Expr:
        number = pl.col(col).str.extract(r"(\d+)$").cast(pl.Int64)
        public = number.mod(len(PUBLIC)).replace_strict(dict(enumerate(PUBLIC)), return_dtype=pl.String)
        provider = number.mod(3).replace_strict(
            {0: "charitable", 1: "private", 2: ""}, return_dtype=pl.String
        )
        return pl.when(pl.col(col).str.starts_with("P")).then(provider).otherwise(public)

    frame.with_columns(
        channel("payer_id").alias("payer_channel"), channel("payee_id").alias("payee_channel")
    ).write_csv(path)
    raw.unlink()


def settle_times(path: Path, runs: int) -> list[float]:
    """Seconds from navigation start to drawn, once per fresh browser context."""
    times = []
    with launch_chromium() as browser:
        for _ in range(runs):
            context = browser.new_context(viewport={"width": 1600, "height": 1000})
            try:
                page = context.new_page()
                page.route("**/*", refuse_network)
                page.goto(path.resolve().as_uri())
                page.wait_for_function("window.graphflowsReady === true", timeout=120_000)
                times.append(page.evaluate("window.graphflowsReadyAt") / 1000)
            finally:
                context.close()
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--flows", type=int, default=1_000_000)
    parser.add_argument("--top", type=int, default=250)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--data", choices=("regional", "layered"), default="regional")
    args = parser.parse_args()

    DATA.mkdir(exist_ok=True)
    if args.data == "regional":
        csv = DATA / f"regional-{args.flows}-channels.csv"
        if not csv.exists():
            timed(f"generate {args.flows:,} regional flows (once)", regional_flows, args.flows, csv)
    else:
        csv = DATA / f"flows-{args.flows}-seed{args.seed}.csv"
        if not csv.exists():
            frame, _ = timed(f"generate {args.flows:,} flows (once)", layered_flows, args.flows, args.seed)
            frame.write_csv(csv)
    graph, _ = timed("read CSV and build the graph", read_graph, [csv])
    print(f"graph: {graph.node_count:,} nodes, {graph.flow_count:,} flows")
    from graphflows.analysis import attribute

    attribution, _ = timed("attribute (once, shared by every output)", attribute, graph)

    with tempfile.TemporaryDirectory() as folder:
        out = Path(folder)
        view, _ = timed("prepare only (select, sum, analysis join)", prepare_view, graph,
                        attribution=attribution, top_n=args.top)  # fmt: skip
        writes = []
        for run in range(args.runs):
            _, seconds = timed(f"write view, top {args.top} (with attribution) #{run + 1}", write_view, graph,
                               out / "view.html", attribution=attribution, top_n=args.top)  # fmt: skip
            writes.append(seconds)
        write_s = statistics.median(writes)
        print(f"{'write view: median':<44} {write_s:8.2f} s")
        timed(f"write view, top {args.top} (no analysis)", write_view, graph, out / "plain.html",
              attribution=False, top_n=args.top)  # fmt: skip
        timed("write Sankey, top 40", write_sankey, graph, out / "sankey.html", attribution=attribution)
        size = (out / "view.html").stat().st_size
        sankey_size = (out / "sankey.html").stat().st_size
        shown = f"({view.nodes.height} nodes, {view.edges.height} links)"
        print(f"{'view file size':<44} {size / 1e6:8.2f} MB  {shown}")
        print(f"{'Sankey file size':<44} {sankey_size / 1e6:8.2f} MB")
        settle = settle_times(out / "view.html", args.runs)
        label = f"view settle in Chromium (median of {args.runs})"
        runs = ", ".join(f"{t:.2f}" for t in settle)
        print(f"{label:<44} {statistics.median(settle):8.2f} s  (runs: {runs})")
        sankey_settle = settle_times(out / "sankey.html", args.runs)
        print(f"{'Sankey settle in Chromium (median)':<44} {statistics.median(sankey_settle):8.2f} s")
        kinds = dict(view.nodes.group_by("kind").len().sort("kind").iter_rows())
        points = int(view.nodes["is_convergence_point"].sum())
        print(f"nodes shown by kind: {kinds}; convergence points shown: {points}")
        for note in view.notes:
            print(f"note: {note}")
    ok = size <= 2e6 and write_s <= 3 and statistics.median(settle) <= 3
    print(f"load average while running: {', '.join(f'{x:.1f}' for x in os.getloadavg())} (2 cores, shared)")
    print(f"target (<= 2 MB, <= 3 s write, <= 3 s settle): {'met' if ok else 'NOT met'}")


if __name__ == "__main__":
    main()
