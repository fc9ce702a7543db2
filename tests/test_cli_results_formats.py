"""`graphflows analyse --levels` and `--results-format parquet`: the same tables, typed, all or nothing."""

from __future__ import annotations

import json
import random
from decimal import Decimal

import polars as pl
import pyarrow.parquet as pq
from polars.testing import assert_frame_equal

from graphflows.analysis.convergence import STOVEPIPE_COLUMNS
from graphflows.cli.main import main
from graphflows.demo import demo_path
from graphflows.outputs import read_manifest
from tests.helpers import write_flows

TABLES = ("attribution", "channels", "convergence", "organisations")


def analyse(tmp_path, name: str, *options: str):
    out = tmp_path / name
    assert main(["analyse", str(demo_path()), "--out", str(out), "--top", "0", *options]) == 0
    return out


def test_channel_level_skips_the_origin_rows_and_keeps_the_rest_identical(tmp_path, capsys):
    full = analyse(tmp_path, "full")
    channel = analyse(tmp_path, "channel", "--levels", "channel")
    assert not (channel / "attribution.csv").exists()
    for name in ("channels.csv", "organisations.csv"):
        assert (channel / name).read_bytes() == (full / name).read_bytes()
    # convergence: the same rows and figures, but nothing that needs single origins
    by_channel, by_origin = (
        pl.read_csv(out / "convergence.csv", infer_schema=False) for out in (channel, full)
    )
    origin_level = [c for c in STOVEPIPE_COLUMNS if c in by_channel.columns]
    assert len(origin_level) == 5
    assert_frame_equal(by_channel.drop(origin_level), by_origin.drop(origin_level))
    assert by_channel.select(origin_level).null_count().row(0) == (by_channel.height,) * 5
    assert by_origin["stovepipe_count"].null_count() == 0
    summary = json.loads((channel / "summary.json").read_text())
    full_summary = json.loads((full / "summary.json").read_text())
    assert summary["analysis"]["levels"] == ["channel"]
    for key in ("attributed_amount", "attributed_income_by_origin_channel", "convergence_points_by_form"):
        assert summary[key] == full_summary[key]
    for currency, part in summary["unclassified_origin_income"].items():
        whole = full_summary["unclassified_origin_income"][currency]
        assert part == {**whole, "origins": None, "largest": []}
    assert "attribution.csv" not in capsys.readouterr().out.splitlines()[-1]


def test_counting_stovepipes_needs_the_origin_level(tmp_path, capsys):
    out = tmp_path / "o"
    argv = ["analyse", str(demo_path()), "--out", str(out), "--levels", "channel", "--count-by", "stovepipe"]
    for engine in ("memory", "spark"):  # refused before Spark is even started
        assert main([*argv, "--engine", engine]) == 2
        assert "origin level" in capsys.readouterr().err
        assert not out.exists()


def test_unknown_level_is_refused_before_anything_is_read(tmp_path, capsys):
    assert main(["analyse", str(demo_path()), "--out", str(tmp_path / "o"), "--levels", "stovepipe"]) == 2
    assert "--levels" in capsys.readouterr().err
    assert not (tmp_path / "o").exists()


def test_parquet_holds_the_csv_tables_with_exact_decimal_amounts(tmp_path):
    csv = analyse(tmp_path, "csv", "--min-share", "0.05")
    parquet = analyse(tmp_path, "parquet", "--min-share", "0.05", "--results-format", "parquet")
    for table in TABLES:
        typed = pl.read_parquet(parquet / f"{table}.parquet")
        text = pl.read_csv(csv / f"{table}.csv", infer_schema=False)
        assert typed.columns == text.columns
        assert typed.height == text.height
        for column, dtype in typed.schema.items():
            if isinstance(dtype, pl.Decimal):
                assert dtype.scale == 2
                assert typed[column].cast(pl.String).to_list() == text[column].to_list()
            elif dtype == pl.Float64:  # CSV rounds shares to 6 places; Parquet keeps them whole
                assert (typed[column] - text[column].cast(pl.Float64)).abs().max() <= 5e-4
            elif dtype == pl.String:
                assert typed[column].fill_null("").to_list() == text[column].fill_null("").to_list()
    convergence = pl.read_parquet(parquet / "convergence.parquet")
    assert convergence.schema["total_in"] == pl.Decimal(20, 2)
    assert pl.read_parquet_schema(parquet / "attribution.parquet") == {
        "recipient_id": pl.String,
        "stovepipe_id": pl.String,
        "amount": pl.Decimal(20, 2),
        "share": pl.Float64,
        "currency": pl.String,
    }
    assert convergence.schema["stovepipe_count"] == pl.Int64
    assert convergence.schema["is_convergence_point"] == pl.Boolean
    # pyarrow (and so pandas, DuckDB, Spark) read the same file and the same exact amounts
    arrow = pq.read_table(parquet / "attribution.parquet")
    amounts = pl.read_csv(csv / "attribution.csv", infer_schema=False)["amount"]
    assert sum(arrow.column("amount").to_pylist()) == sum(Decimal(a) for a in amounts)
    assert read_manifest(parquet) >= {f"{t}.parquet" for t in TABLES} | {"summary.json"}


def test_a_run_in_the_other_format_replaces_the_results_it_wrote_before(tmp_path):
    out = analyse(tmp_path, "out")
    analyse(tmp_path, "out", "--results-format", "parquet")
    names = {p.name for p in out.iterdir() if not p.name.startswith(".")}
    assert names == {f"{t}.parquet" for t in (*TABLES, "negative_net")} | {"summary.json"}
    analyse(tmp_path, "out", "--levels", "channel")
    names = {p.name for p in out.iterdir() if not p.name.startswith(".")}
    assert names == {f"{t}.csv" for t in (*TABLES[1:], "negative_net")} | {"summary.json"}


def test_remainder_below_the_threshold_reconciles_with_the_counted_channels(tmp_path):
    out = analyse(tmp_path, "out", "--min-share", "0.2", "--results-format", "parquet")
    convergence = pl.read_parquet(out / "convergence.parquet")
    channels = pl.read_parquet(out / "channels.parquet")
    counted = (
        channels.filter(pl.col("share") >= 0.2)
        .group_by("recipient_id", "currency")
        .agg(pl.col("amount").sum().alias("counted"))
    )
    table = convergence.join(counted, on=["recipient_id", "currency"], how="left").with_columns(
        pl.col("counted").fill_null(Decimal(0))
    )
    assert (table["counted"] + table["below_min_share"] == table["total_in"]).all()
    assert (table["below_min_share"] > 0).any()
    assert table.filter((pl.col("counted") > 0) != (pl.col("channel_count") > 0)).height == 0


def test_attribution_rows_come_in_the_same_order_whatever_the_order_of_input_lines(tmp_path):
    rng = random.Random(5)
    lines = [f"S{s},C{c},{rng.randint(1000, 9000)}.00" for c in range(150) for s in rng.sample(range(8), 2)]
    lines += [f"C{c},C{(c + step) % 150},{rng.randint(1, 900)}.00" for c in range(150) for step in (1, 7)]
    for pair in range(30):  # small cycles side by side: solved in an order that must not follow the input
        lines += [f"S{pair % 8},D{pair},500.00", f"D{pair},E{pair},90.00", f"E{pair},D{pair},10.00"]
        lines += [f"E{pair},P{rng.randrange(300)},{rng.randint(1, 80)}.00" for _ in range(5)]
    lines += [f"C{rng.randrange(150)},P{rng.randrange(300)},{rng.randint(1, 500)}.00" for _ in range(600)]
    outputs = []
    for order in range(2):
        rng.shuffle(lines)
        flows = write_flows(tmp_path / f"flows{order}.csv", lines, header="payer_id,payee_id,amount")
        out = tmp_path / f"out{order}"
        assert main(["analyse", str(flows), "--out", str(out), "--top", "0"]) == 0
        outputs.append((out / "attribution.csv").read_bytes())
    assert outputs[0] == outputs[1]
    assert outputs[0].count(b"\n") > 1000


def test_the_demo_holding_every_row_writes_the_channel_level_as_analyse_does(tmp_path):
    """``demo`` keeps the origin rows in memory (for its views) and sums them by channel; ``analyse``
    solves the channels alone: the same tables."""
    assert main(["demo", "--out", str(tmp_path / "demo"), "--levels", "channel"]) == 0
    solved = analyse(tmp_path, "analyse", "--levels", "channel")
    for name in ("channels.csv", "convergence.csv"):
        assert (tmp_path / "demo" / name).read_bytes() == (solved / name).read_bytes()
    assert not (tmp_path / "demo" / "attribution.csv").exists()
