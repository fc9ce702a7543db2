"""§2 Results that run as formulas, and names that drive the terminal."""

from __future__ import annotations

import csv

import polars as pl

from graphflows.cli.main import main
from graphflows.outputs import neutralise
from tests.helpers import write_flows

HOSTILE = {
    "P1": '=HYPERLINK("http://evil.example","Click")',
    "P2": "+44 20 7946 0000",
    "P3": "@SUM(1+1)*cmd|' /C calc'!A0",
    "P4": "-2+3",
}


def flows(path):
    rows = []
    for pid, name in HOSTILE.items():
        quoted = '"' + name.replace('"', '""') + '"'
        rows += [f"S1,,stream,{pid},{quoted},provider,100.00,GBP,2020-05-01,S1,",
                 f"S2,,stream,{pid},{quoted},provider,50.00,GBP,2020-05-01,S2,"]  # fmt: skip
    rows += ["S1,,stream,P5,Credit Ltd,provider,-300.00,GBP,2020-05-01,S1,"]  # nets below zero
    return write_flows(path, rows)


def read(path):
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def test_formula_names_are_neutralised_in_every_csv_and_numbers_are_not(tmp_path, capsys):
    source = flows(tmp_path / "flows.csv")
    assert main(["analyse", str(source), "--out", str(tmp_path / "out")]) == 0
    names = {row["recipient_id"]: row["recipient_name"] for row in read(tmp_path / "out" / "convergence.csv")}
    assert names == {pid: "'" + name for pid, name in HOSTILE.items()}
    negative = read(tmp_path / "out" / "negative_net.csv")
    assert [(r["payee_id"], r["net_amount"]) for r in negative] == [("P5", "-300.00")]
    totals = {row["recipient_id"]: row["total_in"] for row in read(tmp_path / "out" / "convergence.csv")}
    assert totals["P1"] == "150.00"


def test_raw_csv_writes_cells_exactly_as_read(tmp_path, capsys):
    source = flows(tmp_path / "flows.csv")
    assert main(["analyse", str(source), "--out", str(tmp_path / "out"), "--raw-csv"]) == 0
    names = {row["recipient_id"]: row["recipient_name"] for row in read(tmp_path / "out" / "convergence.csv")}
    assert names == HOSTILE


def test_orgs_report_and_view_rejects_are_neutralised_too(tmp_path, capsys):
    source = flows(tmp_path / "flows.csv")
    report, nodes = tmp_path / "records.csv", tmp_path / "nodes.csv"
    assert main(["orgs", str(source), "--report", str(report), "--nodes", str(nodes)]) == 0
    assert {r["name"] for r in read(nodes) if r["id"] == "P3"} == {"'" + HOSTILE["P3"]}
    assert {r["name_given"] for r in read(report) if r["id_given"] == "P4"} == {"'-2+3"}
    rows = [
        "S1,,stream,P1,=1+2,provider,ten,GBP,2020-05-01,S1,",
        "S1,,stream,P2,Fine,provider,10.00,GBP,,S1,",
    ]
    bad = write_flows(tmp_path / "bad.csv", rows)
    page = tmp_path / "v.html"
    assert main(["view", str(bad), "--out", str(page), "--skip-invalid", "--no-analysis"]) == 0
    rejects = read(tmp_path / "v.rejects.csv")
    assert [r["reason"] for r in rejects] == ["amount ten is not a number"]
    assert '"payee_name": "=1+2"' in rejects[0]["record"]  # JSON text: starts with {, nothing to run


def test_neutralise_leaves_numbers_and_plain_text_alone():
    frame = pl.DataFrame(
        {
            "text": ["-300.00", "+12", "-1e5", "=1+1", "\tcmd", "\rcmd", "-", "Shelter", None],
            "minor": [-30000, 1200, 1, 2, 3, 4, 5, 6, 7],
        }
    )
    out = neutralise(frame)
    assert out["text"].to_list() == [
        "-300.00",
        "+12",
        "-1e5",
        "'=1+1",
        "'\tcmd",
        "'\rcmd",
        "'-",
        "Shelter",
        None,
    ]
    assert out["minor"].to_list() == frame["minor"].to_list()


def test_control_characters_in_names_never_reach_the_terminal_raw(tmp_path, capsys):
    path = write_flows(
        tmp_path / "flows.csv",
        ["S1,,stream,P1,\"Evil\x1b[2J\x1b]0;owned\x07 Ltd\u202e\",provider,100.00,GBP,2020-05-01,S1,",
         "S2,,stream,P1,,provider,50.00,GBP,2020-05-01,S2,",
         "S1,,stream,P2,Bad\x1b[31m,provider,ten,GBP,2020-05-01,S1,"],
    )  # fmt: skip
    code = main(["analyse", str(path), "--out", str(tmp_path / "out")])
    captured = capsys.readouterr()
    assert code == 2
    assert "\x1b" not in captured.err and "\x07" not in captured.err
    assert "flows.csv:4: amount ten is not a number" in captured.err
    skip = ["--skip-invalid", "--count-by", "stovepipe"]  # two unclassified streams: a convergence point
    assert main(["analyse", str(path), "--out", str(tmp_path / "out"), *skip]) == 0
    out = capsys.readouterr().out
    assert "\x1b" not in out and "\x07" not in out and "\u202e" not in out
    assert "Evil\\x1b[2J\\x1b]0;owned\\x07 Ltd\\u202e" in out
