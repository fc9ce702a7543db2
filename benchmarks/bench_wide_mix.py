"""``graphflows analyse`` on wide and regional mixes, as ratios to the time pyarrow takes to read the file.

    python benchmarks/bench_wide_mix.py                        # wide and regional, 1M flows, 3 runs each
    python benchmarks/bench_wide_mix.py --data wide --runs 5
    python benchmarks/bench_wide_mix.py --flows 200000

Datasets (seeded, generated once into benchmarks/data/): ``wide`` from ``wide_mix.py`` (1,000 streams,
5,000 commissioners transferring among neighbours in one big cycle, 500 pools, 100k providers: ~20M
attribution rows at 1M flows) and ``regional`` from ``generate.py`` (the layered regional graphs of
``bench_analyse.py``: 50 streams, regional commissioners, ~29 stovepipes per recipient: ~2.2M rows).

Each run measures, in this order: the floor (``pyarrow.csv.read_csv`` of the same file, in this
process) and the process floor (a fresh Python process that only reads it with pyarrow, start-up and
imports included, as in the runs it is compared with); the stages in a fresh process (read, build,
attribution solved, rounded and summarised without writing, convergence); the CLI end to end in fresh
processes: all results as CSV, channel level only (``--levels channel``) and all results as Parquet. Peak
memory is each process's max RSS, CPU its user plus system time over all threads. The machine is shared:
medians of the runs and the load average are printed.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
DATA = HERE / "data"

STAGES = """
import json, resource, sys, time
from graphflows.analysis.attribution import attribute_in_blocks
from graphflows.analysis.convergence import FactGatherer, convergence_of
from graphflows.graph import graph_from_ingest
from graphflows.ingest import read_flows
t0 = time.perf_counter(); ingest = read_flows([sys.argv[1]]); t1 = time.perf_counter()
graph = graph_from_ingest(ingest); t2 = time.perf_counter()
stream = attribute_in_blocks(graph)
gatherer = FactGatherer(stream.graph, stream.recipients)
rows = 0
for block in stream.coded_blocks():
    gatherer.add(block)
    rows += block.node.size
facts = gatherer.finish(); t3 = time.perf_counter()
table = convergence_of(facts); t4 = time.perf_counter()
print(json.dumps({"read": t1 - t0, "build": t2 - t1, "attribution": t3 - t2, "convergence": t4 - t3,
                  "rows": rows, "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""

CLI_RUNS = {
    "csv": [],
    "channel only": ["--levels", "channel"],
    "parquet": ["--results-format", "parquet"],
}


def dataset(kind: str, flows: int) -> Path:
    path = DATA / f"{kind}-{flows}.csv"
    if not path.exists():
        DATA.mkdir(exist_ok=True)
        if kind == "wide":
            with path.open("w") as out:
                subprocess.run(
                    [sys.executable, str(HERE / "wide_mix.py"), str(flows)], stdout=out, check=True
                )
        else:
            subprocess.run([sys.executable, str(HERE / "generate.py"), str(flows), str(path)], check=True)
    return path


def floor(path: Path) -> float:
    """Seconds pyarrow takes to read the CSV into a table (the floor every ratio is taken against)."""
    import pyarrow.csv

    start = time.perf_counter()
    pyarrow.csv.read_csv(path)
    return time.perf_counter() - start


def run_child(command: list[str]) -> tuple[float, float, float, str]:
    """Wall seconds, CPU seconds (user + system, all threads), peak RSS (MB) and stdout of a fresh process
    (reaped with wait4: this child's figures alone)."""
    start = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    out = process.stdout.read() if process.stdout else b""
    err = process.stderr.read() if process.stderr else b""
    _, status, usage = os.wait4(process.pid, 0)
    wall = time.perf_counter() - start
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode:
        raise SystemExit(f"{' '.join(command)} failed:\n{err.decode()}")
    return wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024, out.decode()


def fixed_costs() -> dict[str, float]:
    """Seconds no input size changes: Python starting and importing numpy and pyarrow (what the floor's
    process needs), and ``graphflows analyse`` end to end on a two-line file."""
    tiny = DATA / "tiny.csv"
    tiny.write_text("payer_id,payee_id,amount\nS,C,10.00\nC,P,5.00\n")
    out_dir = DATA / "out-tiny"
    shutil.rmtree(out_dir, ignore_errors=True)
    imports, _, _, _ = run_child([sys.executable, "-c", "import numpy, pyarrow.csv"])
    command = [sys.executable, "-m", "graphflows.cli.main", "analyse", str(tiny), "--out", str(out_dir)]
    tiny_run, _, _, _ = run_child([*command, "--top", "0"])
    shutil.rmtree(out_dir, ignore_errors=True)
    return {"python+numpy+pyarrow s": imports, "analyse 2 lines s": tiny_run}


def process_floor(path: Path) -> float:
    """Wall seconds of a fresh process that only reads the CSV with pyarrow (start-up and imports included,
    as in every ``graphflows analyse`` run it is compared with)."""
    script = "import sys, pyarrow.csv; pyarrow.csv.read_csv(sys.argv[1])"
    return run_child([sys.executable, "-c", script, str(path)])[0]


def one_run(path: Path) -> dict[str, float]:
    path.read_bytes()  # in the page cache first: a cold first read (3-5x slower here) is no stable floor
    figures = {"floor": floor(path), "process floor": process_floor(path), **fixed_costs()}
    _, _, peak, out = run_child([sys.executable, "-c", STAGES, str(path)])
    stages = json.loads(out.strip().splitlines()[-1])
    figures.update({k: stages[k] for k in ("read", "build", "attribution", "convergence", "rows")})
    figures["stages peak MB"] = peak
    for name, options in CLI_RUNS.items():
        out_dir = DATA / "out-bench"
        shutil.rmtree(out_dir, ignore_errors=True)
        command = [sys.executable, "-m", "graphflows.cli.main", "analyse", str(path), "--out", str(out_dir)]
        wall, cpu, peak, _ = run_child([*command, "--top", "0", *options])
        figures[f"{name} s"] = wall
        figures[f"{name} CPU s"] = cpu
        figures[f"{name} MB"] = peak
        figures[f"{name} x floor"] = wall / figures["floor"]
        figures[f"{name} x process floor"] = wall / figures["process floor"]
    shutil.rmtree(DATA / "out-bench", ignore_errors=True)
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", choices=["wide", "regional", "both"], default="both")
    parser.add_argument("--flows", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    for kind in ("wide", "regional") if args.data == "both" else (args.data,):
        path = dataset(kind, args.flows)
        runs = []
        for number in range(args.runs):
            load = os.getloadavg()[0]
            figures = one_run(path)
            figures["load"] = load
            runs.append(figures)
            print(
                f"{kind} run {number + 1}: " + ", ".join(f"{k} {v:.2f}" for k, v in figures.items()),
                flush=True,
            )
        rows = int(runs[0]["rows"])
        print(f"\n{kind}, {args.flows:,} flows, {rows:,} attribution rows: median of {args.runs}")
        for key in runs[0]:
            if key != "rows":
                values = [r[key] for r in runs]
                each = ", ".join(f"{v:.2f}" for v in values)
                print(f"  {key:>22}: {statistics.median(values):9.2f}   (runs: {each})")
        print()


if __name__ == "__main__":
    main()
