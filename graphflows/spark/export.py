"""Write a Spark run's results: the same CSV files as the in-memory engine, plus Parquet.

``attribution.parquet`` is always written (by Spark, as one file); ``attribution.csv`` too while the
attribution has at most :data:`CSV_ROW_LIMIT` rows (the CSV is then the same, row for row, as the
in-memory engine's). Everything goes through :mod:`graphflows.outputs` (staging, manifest).
"""

from __future__ import annotations

import json
import shutil
import tempfile
from pathlib import Path
from typing import Any

import polars as pl

from graphflows.analysis import Attribution
from graphflows.analysis.channels import UNCLASSIFIED
from graphflows.export import (
    ANALYSIS_FILES,
    attribution_table,
    convergence_table,
    money_text,
    organisations_table,
    points_by_form,
    write_all,
)
from graphflows.graph import FlowGraph
from graphflows.model import format_minor
from graphflows.model.schema import empty_flows
from graphflows.outputs import PathLike, write_csv_to
from graphflows.spark.engine import SparkAnalysis

#: Largest attribution written as CSV as well as Parquet.
CSV_ROW_LIMIT = 1_000_000
SPARK_FILES = ANALYSIS_FILES  # the same names, Parquet included


def attribution_rows(analysis: SparkAnalysis) -> pl.DataFrame | None:
    """The attribution rows as polars when small enough for CSV, else None."""
    rows = analysis.attribution.rows
    if rows.count() > CSV_ROW_LIMIT:
        return None
    frame = pl.from_arrow(rows.toArrow())
    return frame.cast({"amount_minor": pl.Int64, "share": pl.Float64}).sort(
        "recipient_id", "currency", "stovepipe_id"
    )


def as_attribution(analysis: SparkAnalysis, rows: pl.DataFrame) -> Attribution:
    """An in-memory :class:`Attribution` holding the Spark results (for the shared table writers)."""
    recipients = pl.from_arrow(analysis.attribution.recipients.toArrow()).cast(
        {"total_in_minor": pl.Int64, "payer_count": pl.UInt32}
    )
    return Attribution(
        graph=FlowGraph(analysis.nodes, empty_flows()),
        by=analysis.attribution.by,
        rows=rows,
        recipients=recipients.sort("recipient_id", "currency"),
        negative_pairs=analysis.attribution.negative_pairs,
        financial_year=analysis.financial_year,
        flows_used=analysis.flows_used,
        undated_excluded=analysis.undated_excluded,
        notes=analysis.attribution.notes,
    )


def spark_summary(analysis: SparkAnalysis) -> dict[str, Any]:
    """summary.json: the in-memory engine's keys, with the engine and Spark's figures."""
    table, negatives = analysis.table, analysis.attribution.negative_pairs
    attributed = (
        table.group_by("currency").agg(pl.col("total_in_minor").cast(pl.Int128).sum()).sort("currency")
    )
    by_channel: dict[str, dict[str, str]] = {}
    for currency, channel, amount in (
        analysis.channels.group_by("currency", "channel")
        .agg(pl.col("amount_minor").cast(pl.Int128).sum())
        .sort(["currency", "amount_minor", "channel"], descending=[False, True, False])
        .iter_rows()
    ):
        by_channel.setdefault(currency, {})[channel] = format_minor(amount)
    unclassified = {}
    for (currency,), part in analysis.channels.partition_by("currency", as_dict=True).items():
        unknown = part.filter(pl.col("channel") == UNCLASSIFIED)
        unclassified[str(currency)] = {
            "share_of_attributed_income": round(
                int(unknown["amount_minor"].sum()) / max(int(part["amount_minor"].sum()), 1), 6
            )
        }
    kinds = analysis.nodes.select(pl.col("kinds").explode()).to_series()
    return {
        "engine": "spark",
        "records_read": analysis.records_read,
        "flows": analysis.records_read - analysis.rejected,
        "rejected": analysis.rejected,
        "nodes": {"total": analysis.nodes.height, **{k: int((kinds == k).sum()) for k in sorted(set(kinds))}},
        "total_amount": {c: format_minor(v) for c, v in analysis.totals.items()},
        "attributed_amount": {c: format_minor(v) for c, v in attributed.iter_rows()},
        "negative_net_pairs": negatives.height,
        "recipients": table.height,
        "convergence_points": int(table["is_convergence_point"].sum()),
        "attributed_income_by_origin_channel": by_channel,
        "unclassified_origin_income": unclassified,
        "convergence_points_by_form": points_by_form(table),
        "analysis": {
            "by": analysis.attribution.by,
            "financial_year": analysis.financial_year,
            "flows_in_period": analysis.flows_used,
            "undated_flows_excluded": analysis.undated_excluded,
            "cycles": analysis.attribution.cycles,
            "levels": analysis.attribution.levels,
            **analysis.settings,
        },
        "files": analysis.files,
        "notes": analysis.attribution.notes,
    }


def parquet_file(frame, path: Path) -> None:
    """Write a Spark frame as one Parquet file at ``path`` (a staged path)."""
    scratch = Path(tempfile.mkdtemp(prefix=".graphflows-spark-", dir=path.parent))
    try:
        frame.coalesce(1).write.mode("overwrite").parquet(str(scratch / "out"))
        (part,) = (scratch / "out").glob("part-*.parquet")
        shutil.move(part, path)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def write_spark_analysis(
    out_dir: Path, analysis: SparkAnalysis, *, raw_csv: bool = False, inputs: tuple[PathLike, ...] = ()
) -> dict[str, Any]:
    """Write the results of a Spark run; returns the summary."""
    rows = attribution_rows(analysis)
    info = spark_summary(analysis)

    def csv(path: Path, frame: pl.DataFrame) -> None:
        write_csv_to(path, frame, raw=raw_csv)

    channels = analysis.channels.select(
        "recipient_id", "channel", money_text("amount_minor", "amount"), pl.col("share").round(6), "currency"
    )
    writers = {
        "attribution.parquet": lambda p: parquet_file(analysis.attribution.rows, p),
        "convergence.parquet": lambda p: analysis.table.write_parquet(p),
        "channels.csv": lambda p: csv(p, channels),
        "convergence.csv": lambda p: csv(p, convergence_table(analysis.table)),
        "organisations.csv": lambda p: csv(p, organisations_table(FlowGraph(analysis.nodes, empty_flows()))),
        "summary.json": lambda p: p.write_text(json.dumps(info, indent=2, ensure_ascii=False) + "\n"),
    }
    if rows is not None:
        writers["attribution.csv"] = lambda p: csv(p, attribution_table(as_attribution(analysis, rows)))
    else:
        info["notes"].append(
            f"attribution.csv not written (more than {CSV_ROW_LIMIT} rows): see attribution.parquet"
        )
    negatives = analysis.attribution.negative_pairs
    if negatives.height:
        negative = negatives.select(
            "payer_id", "payee_id", "stream_id", "currency", money_text("net_minor", "net_amount"), "lines"
        )  # fmt: skip
        writers["negative_net.csv"] = lambda p: csv(p, negative)
    write_all(out_dir, writers, stale=SPARK_FILES, inputs=inputs)
    return info
