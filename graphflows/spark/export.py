"""Write a Spark run's results: the same CSV files as the in-memory engine, plus Parquet.

Spark sorts each table and writes it as Parquet parts; the driver turns one part at a time into the
in-memory engine's CSV layout, so it never holds a whole table. ``attribution.parquet`` is always written
(by Spark, as one file); ``attribution.csv`` too while the attribution has at most :data:`CSV_ROW_LIMIT`
rows. Everything goes through :mod:`graphflows.outputs` (staging, manifest).
"""

from __future__ import annotations

import json
import shutil
import tempfile
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

import polars as pl

from graphflows.analysis.channels import UNCLASSIFIED, channel_totals
from graphflows.analysis.convergence import STOVEPIPE_COLUMNS
from graphflows.export import (
    ANALYSIS_FILES,
    attribution_table,
    channels_table,
    convergence_table,
    money_decimal,
    money_text,
    organisations_table,
    period_summary,
    self_payment_summary,
    write_all,
)
from graphflows.graph import FlowGraph
from graphflows.model import Kind, format_minor
from graphflows.model.levels import LEVELS, ResultsFormat
from graphflows.model.schema import empty_flows
from graphflows.outputs import PathLike, write_table_to
from graphflows.spark.attribution import SOLVING_ORDER
from graphflows.spark.convergence import convergence_order
from graphflows.spark.engine import SparkAnalysis

#: Largest attribution written as CSV as well as Parquet.
CSV_ROW_LIMIT = 1_000_000
SPARK_FILES = ANALYSIS_FILES  # the same names, Parquet included
Order = list[tuple[Any, bool]]  # a column name or a Spark column


#: Rows per block read back from the sorted parts (bounds the driver's memory while writing).
BLOCK_ROWS = 100_000


def sorted_blocks(frame, order: Order, scratch: Path) -> Iterator[pl.DataFrame]:
    """``frame`` sorted by Spark (``(column, descending)``, nulls first as polars sorts), in blocks.

    Spark writes the sorted rows as Parquet parts into ``scratch`` (part files are numbered in sort order);
    they are read back :data:`BLOCK_ROWS` rows at a time, so the driver never holds a whole table or part.
    """
    import pyarrow.parquet as pq
    from pyspark.sql import functions as F

    keys = [F.desc_nulls_first(c) if descending else F.asc_nulls_first(c) for c, descending in order]
    frame.orderBy(*keys).write.mode("overwrite").parquet(str(scratch))
    empty = True
    for part in sorted(scratch.glob("part-*.parquet")):
        for batch in pq.ParquetFile(part).iter_batches(batch_size=BLOCK_ROWS):
            empty = False
            yield pl.from_arrow(batch)  # type: ignore[misc]
    if empty:  # the header still comes from the columns
        yield pl.from_arrow(frame.limit(0).toArrow())  # type: ignore[misc]


def scratch_folder(near: Path) -> Path:
    return Path(tempfile.mkdtemp(prefix=".graphflows-spark-", dir=near.parent)) / "out"


def table_file(
    frame, order: Order, path: Path, shape: Callable[[pl.DataFrame], pl.DataFrame], **options
) -> None:
    """Write ``frame`` sorted to ``path`` (CSV, or ``results_format="parquet"``), each block shaped."""
    scratch = scratch_folder(path)
    try:
        write_table_to(path, (shape(b) for b in sorted_blocks(frame, order, scratch)), **options)
    finally:
        shutil.rmtree(scratch.parent, ignore_errors=True)


def parquet_file(frame, path: Path) -> None:
    """Write a Spark frame as one Parquet file at ``path`` (a staged path)."""
    scratch = scratch_folder(path)
    try:
        frame.coalesce(1).write.mode("overwrite").parquet(str(scratch))
        (part,) = scratch.glob("part-*.parquet")
        shutil.move(part, path)
    finally:
        shutil.rmtree(scratch.parent, ignore_errors=True)


def spark_summary(analysis: SparkAnalysis) -> dict[str, Any]:
    """summary.json: the in-memory engine's keys, with the engine and Spark's figures (small aggregates)."""
    from pyspark.sql import functions as F

    table, negatives = analysis.table, analysis.attribution.negative_pairs
    wide = "decimal(38,0)"
    attributed = table.groupBy("currency").agg(F.sum(F.col("total_in_minor").cast(wide)).alias("t")).collect()
    by_currency = sorted((r["currency"], int(r["t"])) for r in attributed)
    channel_money = pl.from_arrow(
        analysis.channels.groupBy("currency", "channel")
        .agg(F.sum(F.col("amount_minor").cast(wide)).cast("string").alias("amount_minor"))
        .toArrow()
    )
    assert isinstance(channel_money, pl.DataFrame)
    channel_money = channel_money.with_columns(pl.col("amount_minor").cast(pl.Int128))
    by_channel: dict[str, dict[str, str]] = {}
    for currency, channel, amount in channel_totals(channel_money).iter_rows():
        by_channel.setdefault(currency, {})[channel] = format_minor(amount)
    unclassified = {}
    for (currency,), part in channel_money.partition_by("currency", as_dict=True).items():
        unknown = part.filter(pl.col("channel") == UNCLASSIFIED)
        unclassified[str(currency)] = {  # origins are not counted one by one on Spark
            "origins": None,
            "largest": [],
            "share_of_attributed_income": round(
                int(unknown["amount_minor"].sum()) / max(int(part["amount_minor"].sum()), 1), 6
            ),
        }
    kinds = {
        r["kind"]: r["n"]
        for r in analysis.nodes.select(F.explode("kinds").alias("kind"))
        .groupBy("kind")
        .agg(F.count("*").alias("n"))
        .collect()
    }
    points = table.filter("is_convergence_point").groupBy("form", "currency")
    forms = points.agg(
        F.count("*").alias("n"), F.sum(F.col("total_in_minor").cast(wide)).alias("t")
    ).collect()
    by_form: dict[str, dict[str, Any]] = {}
    for row in sorted(forms, key=lambda r: (r["form"], r["currency"])):
        entry = by_form.setdefault(row["form"], {"convergence_points": 0, "total_in": {}})
        entry["convergence_points"] += row["n"]
        entry["total_in"][row["currency"]] = format_minor(int(row["t"]))
    flows = analysis.records_read - analysis.rejected - analysis.non_money - analysis.repeated
    negative_money = (
        negatives.groupBy("currency").agg(F.sum(F.col("net_minor").cast(wide)).alias("t")).collect()
    )
    return {
        "engine": "spark",
        "records_read": analysis.records_read,
        "flows": flows,
        "rejected": analysis.rejected,
        "non_money": analysis.non_money,
        "repeated": analysis.repeated,
        "repeated_amount": {c: format_minor(v) for c, v in analysis.repeated_amount.items()},
        "nodes": {"total": analysis.nodes.count(), **{k.value: kinds.get(k.value, 0) for k in Kind}},
        "total_amount": {c: format_minor(v) for c, v in analysis.totals.items()},
        "attributed_amount": {c: format_minor(v) for c, v in by_currency},
        "negative_net_pairs": negatives.count(),
        "negative_net_amount": {r["currency"]: format_minor(int(r["t"])) for r in sorted(negative_money)},
        **self_payment_summary(analysis.attribution.self_payments),
        "recipients": table.count(),
        "convergence_points": sum(e["convergence_points"] for e in by_form.values()),
        "attributed_income_by_origin_channel": by_channel,
        "unclassified_origin_income": unclassified,
        "convergence_points_by_form": by_form,
        "analysis": {
            "by": analysis.attribution.by,
            **period_summary(
                analysis.financial_year,
                flows=flows,
                flows_in_period=analysis.flows_used,
                undated=analysis.undated_excluded,
                totals=analysis.totals,
                period_totals=analysis.period_totals,
            ),
            "cycles": analysis.attribution.cycles,
            "dependency_levels": analysis.attribution.levels,
            **analysis.settings,
        },
        "files": analysis.files,
        "notes": [*analysis.notes, *analysis.attribution.notes],
    }


def top_points(analysis: SparkAnalysis, top: int) -> pl.DataFrame:
    """The first ``top`` convergence points of the table (for the console), in the table's order."""
    from pyspark.sql import functions as F

    order = convergence_order(analysis.settings["count_by"])
    keys = [F.desc_nulls_first(c) if descending else F.asc_nulls_first(c) for c, descending in order]
    points = analysis.table.filter("is_convergence_point").orderBy(*keys).limit(top)
    frame = pl.from_arrow(points.toArrow())
    assert isinstance(frame, pl.DataFrame)
    return frame


def negative_table(block: pl.DataFrame, results_format: ResultsFormat = "csv") -> pl.DataFrame:
    """negative_net.csv (as the in-memory engine writes it) of a block of negative net pairs."""
    money = money_text if results_format == "csv" else money_decimal
    return block.select(
        "payer_id", "payee_id", "stream_id", "currency", money("net_minor", "net_amount"),
        pl.col("lines").cast(pl.Int64),
    )  # fmt: skip


def rejects_table(block: pl.DataFrame) -> pl.DataFrame:
    """rejects.csv (as the in-memory engine writes it) of a block of rejected records."""
    as_python = pl.col("record").map_elements(
        lambda text: json.dumps(json.loads(text), ensure_ascii=False), return_dtype=pl.String
    )
    return block.select("source", "line", "reason", as_python)


def write_spark_analysis(
    out_dir: Path,
    analysis: SparkAnalysis,
    *,
    raw_csv: bool = False,
    inputs: tuple[PathLike, ...] = (),
    levels: Iterable[str] = LEVELS,
    results_format: ResultsFormat = "csv",
) -> dict[str, Any]:
    """Write the results of a Spark run (each table sorted by Spark, written a block at a time).

    ``levels`` and ``results_format`` as :func:`graphflows.export.write_analysis`: without ``"origin"`` no
    attribution table is written and convergence leaves the columns about single origins empty (as the
    in-memory engine, which then never solves them); ``"parquet"`` writes every table as typed Parquet in
    the in-memory engine's layout (attribution too, however many rows). With CSV, ``attribution.parquet``
    and ``convergence.parquet`` (Spark's own columns) are written as well.
    """
    from pyspark.sql import functions as F

    levels = set(levels)
    info = spark_summary(analysis)
    info["analysis"].update(levels=sorted(levels), results_format=results_format)
    csv: dict[str, Any] = {"raw": raw_csv} if results_format == "csv" else {"results_format": "parquet"}
    ext = "csv" if results_format == "csv" else "parquet"
    rows = analysis.attribution.rows
    table = analysis.table
    if "origin" not in levels:
        types = dict(table.dtypes)
        table = table.withColumns({c: F.lit(None).cast(types[c]) for c in STOVEPIPE_COLUMNS if c in types})
    table_order = convergence_order(analysis.settings["count_by"])
    mix_order = [("recipient_id", False), ("currency", False), ("amount_minor", True), ("channel", False)]
    nodes = analysis.nodes.drop("idx")

    def shaped(shape: Callable[..., pl.DataFrame]) -> Callable[[pl.DataFrame], pl.DataFrame]:
        return lambda block: shape(block, results_format)

    def organisations(block: pl.DataFrame) -> pl.DataFrame:
        return organisations_table(FlowGraph(block, empty_flows()))

    def negative(block: pl.DataFrame) -> pl.DataFrame:
        return negative_table(block, results_format)

    writers: dict[str, Callable[[Path], None]] = {
        f"convergence.{ext}": lambda p: table_file(table, table_order, p, shaped(convergence_table), **csv),
        f"organisations.{ext}": lambda p: table_file(nodes, [("id", False)], p, organisations, **csv),
        "summary.json": lambda p: p.write_text(json.dumps(info, indent=2, ensure_ascii=False) + "\n"),
    }
    if "channel" in levels:
        writers[f"channels.{ext}"] = lambda p: table_file(
            analysis.channels, mix_order, p, shaped(channels_table), **csv
        )
    if results_format == "csv":
        writers["convergence.parquet"] = lambda p: table_file(
            table, table_order, p, lambda b: b, results_format="parquet"
        )
    if "origin" in levels:
        ordered = rows.join(analysis.attribution.solving_order, ["recipient_id", "currency"])
        solving = [(key, False) for key in SOLVING_ORDER]  # the in-memory engine's order, row for row
        if results_format == "parquet":
            writers["attribution.parquet"] = lambda p: table_file(
                ordered, solving, p, shaped(attribution_table), **csv
            )
        else:
            writers["attribution.parquet"] = lambda p: parquet_file(rows, p)
            if rows.count() <= CSV_ROW_LIMIT:
                writers["attribution.csv"] = lambda p: table_file(
                    ordered, solving, p, attribution_table, **csv
                )
            else:
                info["notes"].append(
                    f"attribution.csv not written (more than {CSV_ROW_LIMIT} rows): see attribution.parquet "
                    "(or run with --results-format parquet)"
                )
    if analysis.rejects is not None:
        by_line = [("_file", False), ("_seq", False)]
        writers[f"rejects.{ext}"] = lambda p: table_file(analysis.rejects, by_line, p, rejects_table, **csv)
    negatives = analysis.attribution.negative_pairs
    if info["negative_net_pairs"]:
        by_pair = [(c, False) for c in ("payer_id", "payee_id", "stream_id", "currency")]
        writers[f"negative_net.{ext}"] = lambda p: table_file(negatives, by_pair, p, negative, **csv)
    written = write_all(out_dir, writers, stale=SPARK_FILES, inputs=inputs)
    info["files_written"] = written  # for the terminal; summary.json is already written without it
    return info
