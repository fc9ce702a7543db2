"""Reading one spend workbook saved as .xlsx, .xls and .ods (all by python-calamine): wall and CPU time.

``python benchmarks/bench_workbooks.py [ROWS]`` (default 20,000; .xls holds at most 65,535) writes a council
workbook of ROWS payment lines (Oxford's real lines repeated, dates as date cells, amounts as numbers) in
each kind under benchmarks/data/, reads each with ``read_flows`` (best of 3) and prints the figures; the
totals must agree to the penny.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from graphflows.ingest import read_flows, workbook  # noqa: E402
from tests.test_ingest_odd_inputs import OXFORD_PAYER  # noqa: E402
from tests.test_ingest_workbooks import council_sheets, write_ods, write_xls, write_xlsx  # noqa: E402

DATA = ROOT / "benchmarks" / "data"


def main(rows: int) -> None:
    sheets, _, _ = council_sheets(40)
    payments = sheets["Oct-Dec 2017"]
    lines = payments[4:]
    sheets["Oct-Dec 2017"] = payments[:4] + [lines[i % len(lines)] for i in range(rows)]
    DATA.mkdir(parents=True, exist_ok=True)
    print(f"{rows:,} payment lines; load average {os.getloadavg()[0]:.1f}")
    for kind, write in (("xlsx", write_xlsx), ("xls", write_xls), ("ods", write_ods)):
        path = write(DATA / f"workbook.{kind}", sheets)
        best = None
        for _ in range(3):
            workbook._SCANS.clear()  # each run scans the .xlsx afresh, as reading a new file does
            wall, cpu = time.perf_counter(), time.process_time()
            result = read_flows([path], sources=OXFORD_PAYER)
            took = (time.perf_counter() - wall, time.process_time() - cpu)
            best = took if best is None or took[0] < best[0] else best
        size, total = path.stat().st_size / 1e6, result.totals()["GBP"] / 100
        print(
            f"{kind:>4}: {size:6.2f} MB, {result.flows.height:,} flows, GBP {total:,.2f}; "
            f"best of 3: {best[0]:.2f} s wall, {best[1]:.2f} s CPU"
        )


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 20_000)
