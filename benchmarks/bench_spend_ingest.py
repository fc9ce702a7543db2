"""Rate of reading and normalising a large "spend over £25k" CSV (target: 1M lines in <= 5 s).

    python benchmarks/bench_spend_ingest.py              # 1,000,000 lines, best and median of 3 runs
    python benchmarks/bench_spend_ingest.py 200000 5     # another size, 5 runs

The machine is shared, so each step runs several times and the load average is printed with the
figures: the best run is the one least disturbed by other work.

The file is generated once into benchmarks/data/ (git-ignored) from the real NHS CCG lines in
tests/data (their suppliers, expense areas and amounts, cycled), with the same quirks: quoted thousands
separators, negative lines, day/month and US-style dates, header case variants, redacted payees and
several lines per transaction. Each step runs in a fresh process so peak memory (max RSS) is its own:

* ``spend.read``: parse, validate and normalise one file (amounts, dates, ids, names): the target;
* ``read_flows``: the same plus organisation matching across payers and payees (what analyse does).
"""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
import zipfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
DATA = HERE / "data"

STEP = """
import json, resource, sys, time
from pathlib import Path
sys.path.insert(0, sys.argv[3])
from graphflows.ingest import read_flows, spend
path = Path(sys.argv[1])
t0 = time.perf_counter()
if sys.argv[2] == "spend.read":
    result = spend.read(path)
    flows, nodes = result.flows.height, None
else:
    result = read_flows([path])
    flows, nodes = result.flows.height, result.organisations.height
seconds = time.perf_counter() - t0
assert result.records_read == flows + result.rejects.height + result.non_money
print(json.dumps({"seconds": seconds, "flows": flows, "nodes": nodes,
                  "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def real_rows() -> list[list[str]]:
    """The real CCG lines (Entity, Date, Expense Type, Expense Area, Supplier, Transaction, Amount)."""
    rows = []
    for code in ("NEBD", "NEHV", "NERD"):
        with zipfile.ZipFile(ROOT / "tests" / "data" / "real" / "nhs-ccg-spend-nel" / f"{code}.zip") as z:
            for name in sorted(z.namelist()):
                reader = csv.reader(io.StringIO(z.read(name).decode("utf-8-sig"), newline=""))
                next(reader)
                rows += [r[1:8] for r in reader]
    return rows


def generate(lines: int) -> Path:
    path = DATA / "spend-ingest" / f"spend-{lines}.csv"
    if path.exists():
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    base = real_rows()
    with path.open("w", encoding="utf-8", newline="") as handle:
        out = csv.writer(handle, lineterminator="\r\n")
        out.writerow(["Department family", "Entity", "Date", "Expense Type", "Expense area", "Supplier",
                      "Transaction number", "amount"])  # fmt: skip
        for i in range(lines):
            entity, day, etype, area, supplier, txn, amount = base[i % len(base)]
            if i % 97 == 0:
                supplier = "REDACTED"
            if i % 5 == 0:
                supplier = supplier.title()  # spelling variants to normalise
            out.writerow(
                ["Department of Health", entity, day, etype, area, supplier, f"{txn}{i // len(base)}", amount]
            )
    return path


def run(step: str, path: Path) -> dict:
    done = subprocess.run(
        [sys.executable, "-c", STEP, str(path), step, str(ROOT)], capture_output=True, text=True, check=True
    )
    return json.loads(done.stdout)


def main() -> None:
    import os
    import statistics

    lines = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000
    runs = int(sys.argv[2]) if len(sys.argv) > 2 else 3
    path = generate(lines)
    size_mb = path.stat().st_size / 1e6
    print(f"{lines:,} lines, {size_mb:.0f} MB: {path}  ({os.cpu_count()} cores, {runs} runs per step)")
    for step in ("spend.read", "read_flows"):
        before = os.getloadavg()[0]
        results = [run(step, path) for _ in range(runs)]
        best = min(results, key=lambda m: m["seconds"])
        median = statistics.median(m["seconds"] for m in results)
        nodes = f", {best['nodes']:,} organisation nodes" if best["nodes"] is not None else ""
        print(
            f"{step:<11} best {best['seconds']:5.2f} s ({lines / best['seconds'] / 1e6:4.2f} M lines/s, "
            f"{size_mb / best['seconds']:5.1f} MB/s)  median {median:5.2f} s  "
            f"peak {best['peak_mb']:,.0f} MB  load avg {before:.1f}->{os.getloadavg()[0]:.1f}  "
            f"({best['flows']:,} flows{nodes})"
        )


if __name__ == "__main__":
    main()
