"""§1 Money lost silently (XLSX): a workbook's ``<dimension>`` is never trusted."""

from __future__ import annotations

import json

from graphflows.ingest import read_flows
from tests.hostile.build import GRANT_HEADER, grant_row, run_cli, with_dimension, workbook

AMOUNTS = ["1000.00", "2500.50", "-300.00", "12.34", "99999.99", "7.00", "410.10", "5.55", "60.00", "1.01"]


def test_an_understated_dimension_loses_no_row_and_no_column(tmp_path):
    rows = [[*grant_row(i, amount), f"extra {i}"] for i, amount in enumerate(AMOUNTS)]
    header = [*GRANT_HEADER, "Notes"]
    path = tmp_path / "grants.xlsx"
    path.write_bytes(with_dimension(workbook(rows, header), "A1:C2"))  # says: 2 rows, 3 columns
    result = read_flows([path])
    assert result.records_read == len(AMOUNTS)
    assert sorted(result.flows["amount_minor"].to_list()) == sorted(round(float(a) * 100) for a in AMOUNTS)
    assert result.flows["Notes"].to_list() == [f"extra {i}" for i in range(len(AMOUNTS))]
    assert result.flows["line"].to_list() == [f"Sheet!{i + 2}" for i in range(len(AMOUNTS))]


def test_a_dimension_claiming_the_whole_sheet_reads_only_what_is_there_in_bounded_memory(tmp_path):
    path = tmp_path / "grants.xlsx"
    rows = [grant_row(i, "250.00") for i in range(3_000)]  # x 16,384 claimed columns: 49 million cells
    path.write_bytes(with_dimension(workbook(rows), "A1:XFD1048576"))
    run = run_cli("analyse", str(path), "--out", str(tmp_path / "out"), "--top", "0")
    assert run.code == 0, run.err
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert summary["records_read"] == 3_000 and summary["flows"] == 3_000 and summary["non_money"] == 0
    assert summary["total_amount"] == {"GBP": "750000.00"}
    assert run.peak_mb < 1024


def test_trailing_blank_rows_are_not_records_but_blank_rows_between_grants_are_counted(tmp_path):
    path = tmp_path / "grants.xlsx"
    path.write_bytes(workbook([grant_row(1), [None] * 9, grant_row(2), [""] * 9, [None] * 9]))
    result = read_flows([path])
    assert (result.records_read, result.flows.height, result.non_money) == (3, 2, 1)
