"""Write analysis results to files: all or nothing, through :mod:`graphflows.outputs`.

Files are written to a staging folder beside the output folder and moved in only when every one is
complete, so a failure never leaves half-finished output; files graphflows did not write are never
overwritten or removed, and CSV text cells cannot run as spreadsheet formulas (unless ``raw_csv``).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import polars as pl

from graphflows.analysis import Attribution, convergence
from graphflows.graph import FlowGraph
from graphflows.ingest import IngestResult
from graphflows.model import format_minor
from graphflows.outputs import PathLike, write_csv_to, write_folder


def money_text(column: str, alias: str | None = None) -> pl.Expr:
    """An integer minor-units column as exact decimal text with two places (``-12.30``)."""
    minor = pl.col(column)
    sign = pl.when(minor < 0).then(pl.lit("-")).otherwise(pl.lit(""))
    whole = (minor.abs() // 100).cast(pl.String)
    pence = (minor.abs() % 100).cast(pl.String).str.zfill(2)
    return pl.concat_str([sign, whole, pl.lit("."), pence]).alias(alias or column)


def attribution_table(result: Attribution) -> pl.DataFrame:
    """attribution.csv: recipient_id, stovepipe_id, amount, share, currency."""
    return result.rows.select(
        "recipient_id",
        "stovepipe_id",
        money_text("amount_minor", "amount"),
        pl.col("share").round(6),
        "currency",
    )


def convergence_table(table: pl.DataFrame) -> pl.DataFrame:
    """convergence.csv columns, amounts as decimal text."""
    return table.select(
        "recipient_id",
        "recipient_name",
        "kinds",
        "stovepipe_count",
        money_text("total_in_minor", "total_in"),
        "top_stovepipe_id",
        pl.col("top_share").round(6),
        pl.col("hhi").round(6),
        "payer_count",
        "currency",
    )


def summary(
    ingest: IngestResult, graph: FlowGraph, result: Attribution, table: pl.DataFrame, **settings: Any
) -> dict[str, Any]:
    """Counts and totals that reconcile: records_read = flows + rejected + non_money."""
    negatives = result.negative_pairs
    return {
        "records_read": ingest.records_read,
        "flows": ingest.flows.height,
        "rejected": ingest.rejects.height,
        "non_money": ingest.non_money,
        "nodes": {"total": graph.node_count, **graph.kind_counts()},
        "total_amount": {c: format_minor(v) for c, v in ingest.totals().items()},
        "attributed_amount": {c: format_minor(v) for c, v in result.totals().items()},
        "negative_net_pairs": negatives.height,
        "negative_net_amount": {
            c: format_minor(v)
            for c, v in negatives.group_by("currency")
            .agg(pl.col("net_minor").sum())
            .sort("currency")
            .iter_rows()
        },
        "recipients": table.height,
        "convergence_points": int(table["is_convergence_point"].sum()),
        "analysis": {
            "by": result.by,
            "financial_year": result.financial_year,
            "flows_in_period": result.flows_used,
            "undated_flows_excluded": result.undated_excluded,
            **settings,
        },
        "files": [
            {
                "path": f.source,
                "format": f.format,
                "records_read": f.records_read,
                "flows": f.flows.height,
                "rejected": f.rejects.height,
                "non_money": f.non_money,
            }
            for f in ingest.files
        ],
        "notes": ingest.notes + result.notes,
    }


def write_analysis(
    out_dir: Path,
    ingest: IngestResult,
    result: Attribution,
    *,
    min_stovepipes: int = 2,
    min_share: float = 0.0,
    write_rejects: bool = False,
    raw_csv: bool = False,
    inputs: Iterable[PathLike] = (),
) -> tuple[dict[str, Any], pl.DataFrame]:
    """Write attribution.csv, convergence.csv, summary.json (and rejects.csv, negative_net.csv, and
    organisations.csv saying how records were matched to organisations, when files other than flows CSVs
    were read).

    CSV text cells that a spreadsheet would run as formulas start with ``'`` unless ``raw_csv``; an
    output file that is one of ``inputs``, or that graphflows did not write, is refused.
    Returns the summary and the convergence table.
    """
    table = convergence(result, min_stovepipes=min_stovepipes, min_share=min_share)

    def csv(path: Path, frame: pl.DataFrame) -> None:
        write_csv_to(path, frame, raw=raw_csv)

    info = summary(ingest, result.graph, result, table, min_stovepipes=min_stovepipes, min_share=min_share)
    writers: dict[str, Callable[[Path], None]] = {
        "attribution.csv": lambda p: csv(p, attribution_table(result)),
        "convergence.csv": lambda p: csv(p, convergence_table(table)),
        "summary.json": lambda p: p.write_text(json.dumps(info, indent=2, ensure_ascii=False) + "\n"),
    }
    if result.negative_pairs.height:
        negative = result.negative_pairs.select(
            "payer_id", "payee_id", "stream_id", "currency", money_text("net_minor", "net_amount"), "lines"
        )  # fmt: skip
        writers["negative_net.csv"] = lambda p: csv(p, negative)
    if write_rejects:
        writers["rejects.csv"] = lambda p: csv(p, ingest.rejects)
    if ingest.organisations is not None:
        writers["organisations.csv"] = lambda p: csv(p, ingest.organisations)
    write_all(out_dir, writers, stale=ANALYSIS_FILES, inputs=inputs)
    return info, table


#: Every file ``write_analysis`` may write: those a run does not write are removed, so no stale result stays.
ANALYSIS_FILES = (
    "attribution.csv",
    "convergence.csv",
    "summary.json",
    "negative_net.csv",
    "rejects.csv",
    "organisations.csv",
)


def write_all(
    out_dir: Path,
    writers: dict[str, Callable[[Path], None]],
    stale: tuple[str, ...] = (),
    *,
    inputs: Iterable[PathLike] = (),
) -> None:
    """Run every writer into a staging folder, then move the finished files into ``out_dir``.

    Files named in ``stale`` that this run does not write are removed from ``out_dir`` when graphflows
    wrote them (see :mod:`graphflows.outputs`).
    """
    write_folder(out_dir, writers, stale=stale, inputs=inputs)
