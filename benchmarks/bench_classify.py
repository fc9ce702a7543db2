"""Time of classify_nodes on the nodes of a large generated graph (issue 15).

    python benchmarks/bench_classify.py            # about 200k nodes (2M regional flows)
    python benchmarks/bench_classify.py 1000000    # nodes of a 1M-flow file

Nodes come from /work/shared/bench/regional.py (ids S*, C*, B*, P*). Its names are bare ids, so each node
gets a realistic, distinct name (its id plus a suffix cycling through council, NHS, police, charity,
company, CIC, LLP and society names) and a third get an org-id, so every rule does real work.
Prints the load time of the registers and classify time (best and median of 5 runs, wall and CPU).
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

import polars as pl

HERE = Path(__file__).resolve().parent
DATA = HERE / "data"
GENERATOR = Path("/work/shared/bench/regional.py")
SUFFIXES = [
    "Metropolitan Borough Council", "NHS Foundation Trust", "Community Health Ltd",
    "Police and Crime Commissioner", "Charitable Trust", "Community Interest Company", "Partners LLP",
    "Co-operative Limited", "Surgery", "Housing Association", "Care Services Limited", "CCG",
    "Fire and Rescue Service", "Academy Trust", "Foundation", "Youth Club",
]  # fmt: skip
ORG_IDS = [
    "GB-CHC-1110767",
    "GB-COH-07597525",
    "GB-LAE-TRF",
    "GB-NHS-R1H",
    "GB-COH-RS007153",
    None,
    None,
    None,
]


def nodes_of(rows: int) -> pl.DataFrame:
    path = DATA / f"regional_{rows}.csv"
    if not path.exists():
        DATA.mkdir(exist_ok=True)
        with path.open("w") as out:
            subprocess.run([sys.executable, str(GENERATOR), str(rows)], stdout=out, check=True)
    flows = pl.read_csv(path, columns=["payer_id", "payer_kind", "payee_id", "payee_kind"])
    sides = pl.concat(
        [
            flows.select(id="payer_id", kind="payer_kind"),
            flows.select(id="payee_id", kind="payee_kind"),
        ]
    )
    nodes = sides.group_by("id").agg(kinds=pl.col("kind").unique().sort()).sort("id")
    index = pl.int_range(pl.len())
    return nodes.with_columns(
        name=pl.col("id") + " " + pl.lit(pl.Series(SUFFIXES)).gather(index % len(SUFFIXES)),
        org_ids=pl.lit(pl.Series(ORG_IDS, dtype=pl.String)).gather(index % len(ORG_IDS)),
    )


def main(rows: int) -> None:
    nodes = nodes_of(rows)
    from graphflows.classify import classify_nodes
    from graphflows.registers import body_table, name_table

    t0 = time.perf_counter()
    body_table(), name_table()
    load = time.perf_counter() - t0
    times, cpu = [], []
    for _ in range(5):
        t0, c0 = time.perf_counter(), time.process_time()
        out = classify_nodes(nodes)
        times.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)
    print(f"{nodes.height:,} nodes ({rows:,} flows): registers load {load * 1000:.0f} ms; "
          f"classify_nodes best {min(times):.2f} s, median {statistics.median(times):.2f} s "
          f"(CPU, all threads: median {statistics.median(cpu):.2f} s); "
          f"load average {os.getloadavg()[0]:.1f}")  # fmt: skip
    print(out.group_by("channel_method").len().sort("len", descending=True).rows())


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 2_000_000)
