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
from graphflows.analysis.channels import UNCLASSIFIED, channel_mix, node_channels, origin_channel_totals
from graphflows.analysis.convergence import DEFAULT_MIN_SHARE, CountBy
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


def channels_table(result: Attribution) -> pl.DataFrame:
    """channels.csv: recipient_id, channel, amount, share, currency (income by channel of government)."""
    return channel_mix(result).select(
        "recipient_id",
        "channel",
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
        "channel_count",
        "channels",
        pl.col("effective_channels").round(3),
        "stovepipe_count",
        pl.col("effective_stovepipes").round(3),
        money_text("total_in_minor", "total_in"),
        money_text("below_min_share_minor", "below_min_share"),
        "top_channel",
        pl.col("top_channel_share").round(6),
        "top_stovepipe_id",
        pl.col("top_share").round(6),
        pl.col("hhi").round(6),
        "payer_count",
        "payer_channels",
        "channel",
        "form",
        "currency",
        "is_convergence_point",
    )


#: organisations.csv: these columns first, then any identity columns the inputs gave (how records matched).
ORGANISATION_COLUMNS = ("id", "name", "kinds", "channel", "channel_method", "form", "form_method")


def organisations_table(graph: FlowGraph) -> pl.DataFrame:
    """organisations.csv: every node with its kinds, channel and form and the rules that gave them."""
    nodes = graph.nodes.with_columns(pl.col("kinds").list.join(";"))
    for column in ORGANISATION_COLUMNS:
        if column not in nodes.columns:
            nodes = nodes.with_columns(pl.lit(None, pl.String).alias(column))
    rest = [c for c in nodes.columns if c not in ORGANISATION_COLUMNS]
    return nodes.select(*ORGANISATION_COLUMNS, *rest).sort("id")


def channel_summary(result: Attribution, table: pl.DataFrame) -> dict[str, Any]:
    """Income by origin channel, the unclassified origins, and convergence points by provider form.

    Income is counted at every recipient it reaches (money passed on is counted again at the next
    recipient), so the figures give shares of attributed income, not budgets.
    """
    by_channel: dict[str, dict[str, str]] = {}
    for currency, channel, amount in origin_channel_totals(result).iter_rows():
        by_channel.setdefault(currency, {})[channel] = format_minor(amount)
    unclassified: dict[str, dict[str, Any]] = {}
    origins = result.rows.join(
        node_channels(result.graph).rename({"id": "stovepipe_id"}), on="stovepipe_id", how="left"
    ).with_columns(pl.col("channel").fill_null(UNCLASSIFIED))
    for (currency,), part in origins.partition_by("currency", as_dict=True).items():
        unknown = part.filter(pl.col("channel") == UNCLASSIFIED)
        ranked = (
            unknown.group_by("stovepipe_id")
            .agg(pl.col("amount_minor").sum())
            .sort(["amount_minor", "stovepipe_id"], descending=[True, False])
        )
        unclassified[str(currency)] = {
            "origins": ranked.height,
            "largest": ranked["stovepipe_id"].head(5).to_list(),
            "share_of_attributed_income": round(
                int(unknown["amount_minor"].sum()) / max(int(part["amount_minor"].sum()), 1), 6
            ),
        }
    return {
        "attributed_income_by_origin_channel": by_channel,
        "unclassified_origin_income": unclassified,
        "convergence_points_by_form": points_by_form(table),
    }


def points_by_form(table: pl.DataFrame) -> dict[str, dict[str, Any]]:
    """Convergence points and their total income per provider form (a convergence table's rows)."""
    points = table.filter(pl.col("is_convergence_point"))
    by_form: dict[str, dict[str, Any]] = {}
    for form, currency, count, total in (
        points.group_by("form", "currency")
        .agg(pl.len(), pl.col("total_in_minor").cast(pl.Int128).sum())
        .sort("form", "currency")
        .iter_rows()
    ):
        entry = by_form.setdefault(form, {"convergence_points": 0, "total_in": {}})
        entry["convergence_points"] += count
        entry["total_in"][currency] = format_minor(total)
    return by_form


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
        **channel_summary(result, table),
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
    count_by: CountBy = "channel",
    min_count: int = 2,
    min_share: float = DEFAULT_MIN_SHARE,
    min_stovepipes: int | None = None,
    write_rejects: bool = False,
    raw_csv: bool = False,
    inputs: Iterable[PathLike] = (),
) -> tuple[dict[str, Any], pl.DataFrame]:
    """Write attribution.csv, channels.csv, convergence.csv, organisations.csv (every node: channel, form
    and how its records were matched), summary.json, and rejects.csv and negative_net.csv when needed.

    CSV text cells that a spreadsheet would run as formulas start with ``'`` unless ``raw_csv``; an
    output file that is one of ``inputs``, or that graphflows did not write, is refused.
    Returns the summary and the convergence table (see :func:`graphflows.analysis.convergence`).
    """
    if min_stovepipes is not None:
        min_count = min_stovepipes
    table = convergence(result, count_by=count_by, min_share=min_share, min_count=min_count)

    def csv(path: Path, frame: pl.DataFrame) -> None:
        write_csv_to(path, frame, raw=raw_csv)

    info = summary(
        ingest, result.graph, result, table, count_by=count_by, min_count=min_count, min_share=min_share
    )
    writers: dict[str, Callable[[Path], None]] = {
        "attribution.csv": lambda p: csv(p, attribution_table(result)),
        "channels.csv": lambda p: csv(p, channels_table(result)),
        "convergence.csv": lambda p: csv(p, convergence_table(table)),
        "organisations.csv": lambda p: csv(p, organisations_table(result.graph)),
        "summary.json": lambda p: p.write_text(json.dumps(info, indent=2, ensure_ascii=False) + "\n"),
    }
    if result.negative_pairs.height:
        negative = result.negative_pairs.select(
            "payer_id", "payee_id", "stream_id", "currency", money_text("net_minor", "net_amount"), "lines"
        )  # fmt: skip
        writers["negative_net.csv"] = lambda p: csv(p, negative)
    if write_rejects:
        writers["rejects.csv"] = lambda p: csv(p, ingest.rejects)
    write_all(out_dir, writers, stale=ANALYSIS_FILES, inputs=inputs)
    return info, table


#: Every file ``write_analysis`` may write: those a run does not write are removed, so no stale result stays.
ANALYSIS_FILES = (
    "attribution.csv",
    "channels.csv",
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
