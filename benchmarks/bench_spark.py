"""The Spark engine against the in-memory engine: wall time and peak memory, on generated regional flows.

    python benchmarks/bench_spark.py 1000000 10000000         # Spark at each size
    python benchmarks/bench_spark.py 1000000 --memory          # and the in-memory engine at that size

Flows come from /work/shared/bench/regional.py (the regional shape). Spark runs in ``local[2]`` with the
JVM capped at 4 GB (``spark.driver.memory``; Spark spills to disk past it). Each run is a fresh process:
``python_peak_mb`` is the Python driver's own peak RSS, ``jvm_peak_mb`` its JVM's and
``python_workers_peak_mb`` the Python workers' together (both sampled each second).
The pyarrow read floor is the time to parse the CSV once with pyarrow (no engine can read it faster here).
Figures measured on this machine are in benchmarks/README.md; note the load average (shared cores).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
DATA = HERE / "data"
GENERATOR = Path("/work/shared/bench/regional.py")

SPARK = """
import json, os, resource, sys, threading, time
from pathlib import Path
jvm_peak, workers_peak = [0], [0]
def descendants(pid):
    kids = []
    for task in Path(f"/proc/{pid}/task").glob("*/children"):
        kids += [int(k) for k in task.read_text().split()]
    return kids + [d for k in kids for d in descendants(k)]
def watch():
    while True:
        java = workers = 0
        for pid in descendants(os.getpid()):
            try:
                status = Path(f"/proc/{pid}/status").read_text().splitlines()
                rss = [int(line.split()[1]) // 1024 for line in status if line.startswith("VmRSS:")]
                if "java" in Path(f"/proc/{pid}/cmdline").read_text():
                    java += sum(rss)
                else:
                    workers += sum(rss)
            except OSError:
                pass
        jvm_peak[0] = max(jvm_peak[0], java)
        workers_peak[0] = max(workers_peak[0], workers)
        time.sleep(1)
threading.Thread(target=watch, daemon=True).start()
from graphflows.spark import analyse_spark, spark_session
from graphflows.spark.export import write_spark_analysis
t0 = time.perf_counter()
with spark_session("local[2]", driver_memory="4g", shuffle_partitions=int(sys.argv[3])) as spark:
    spark.sparkContext.setLogLevel("ERROR")
    analysis = analyse_spark(spark, [sys.argv[1]])
    t1 = time.perf_counter()
    analysed_peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    info = write_spark_analysis(Path(sys.argv[2]), analysis)
t2 = time.perf_counter()
cpu = resource.getrusage(resource.RUSAGE_SELF)
print(json.dumps({"analyse_s": t1 - t0, "write_s": t2 - t1, "wall_s": t2 - t0,
                  "driver_cpu_s": cpu.ru_utime + cpu.ru_stime,
                  "recipients": info["recipients"], "cycles": analysis.attribution.cycles,
                  "levels": analysis.attribution.levels, "core_edges": analysis.attribution.core_edges,
                  "python_peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                  "python_peak_after_analyse_mb": analysed_peak,
                  "jvm_peak_mb": jvm_peak[0], "python_workers_peak_mb": workers_peak[0]}))
"""

MEMORY = """
import json, resource, sys, time
from pathlib import Path
from graphflows.analysis import attribute
from graphflows.export import write_analysis
from graphflows.graph import graph_from_ingest
from graphflows.ingest import read_flows
t0 = time.perf_counter()
ingest = read_flows([sys.argv[1]]); graph = graph_from_ingest(ingest); result = attribute(graph)
write_analysis(Path(sys.argv[2]), ingest, result)
print(json.dumps({"wall_s": time.perf_counter() - t0, "recipients": result.recipients.height,
                  "python_peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""

FLOOR = """
import json, sys, time
import pyarrow.csv as pc
t0 = time.perf_counter()
table = pc.read_csv(sys.argv[1])
print(json.dumps({"read_s": time.perf_counter() - t0, "rows": table.num_rows}))
"""


def dataset(rows: int) -> Path:
    path = DATA / f"regional_{rows}.csv"
    if not path.exists():
        DATA.mkdir(exist_ok=True)
        with path.open("w") as out:
            subprocess.run([sys.executable, str(GENERATOR), str(rows)], stdout=out, check=True)
    return path


def run(code: str, *args: str) -> dict:
    env = {**os.environ, "PYTHONPATH": str(HERE.parent)}
    done = subprocess.run(
        [sys.executable, "-c", code, *args], capture_output=True, text=True, check=True, env=env
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


def main(argv: list[str]) -> None:
    memory = "--memory" in argv
    sizes = [int(a) for a in argv if not a.startswith("--")] or [1_000_000]
    for rows in sizes:
        path = dataset(rows)
        print(f"{rows:,} flows ({path.stat().st_size / 1e6:.0f} MB CSV); load average {os.getloadavg()}")
        print("  pyarrow read floor:", run(FLOOR, str(path)))
        with tempfile.TemporaryDirectory() as out:
            partitions = str(max(4, rows // 500_000))
            print("  spark local[2], 4 GB JVM:", run(SPARK, str(path), out + "/spark", partitions))
            if memory:
                print("  in-memory engine:", run(MEMORY, str(path), out + "/memory"))
        print(f"  load average after: {os.getloadavg()}")


if __name__ == "__main__":
    main(sys.argv[1:])
