"""Write analysis results to files: all or nothing, through :mod:`graphflows.outputs`.

Files are written to a staging folder beside the output folder and moved in only when every one is
complete, so a failure never leaves half-finished output; files graphflows did not write are never
overwritten or removed, and CSV text cells cannot run as spreadsheet formulas (unless ``raw_csv``).
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import polars as pl

from graphflows.analysis import Attribution
from graphflows.analysis.attribution import (
    ATTRIBUTION_SCHEMA,
    AttributionStream,
    CodedBlock,
    channels_of,
    coded_rows,
    solved_ahead,
)
from graphflows.analysis.channels import UNCLASSIFIED, channel_mix, channel_totals, node_channels
from graphflows.analysis.convergence import (
    DEFAULT_MIN_SHARE,
    CountBy,
    FactGatherer,
    RecipientFacts,
    convergence_of,
    gather_facts,
    points_at_default_share,
)
from graphflows.graph import FlowGraph
from graphflows.ingest import IngestResult
from graphflows.model import format_minor
from graphflows.model.levels import LEVELS, ResultsFormat
from graphflows.outputs import PathLike, neutralise, write_folder, write_table_to

if TYPE_CHECKING:
    import pyarrow as pa


def money_decimal(column: str, alias: str | None = None) -> pl.Expr:
    """An integer minor-units column as an exact decimal with two places (``-1230`` -> ``-12.30``).

    Exact: a whole number of hundredths divided by 100 at scale 2 (tests compare it with integer text).
    """
    hundred = pl.lit(100).cast(pl.Decimal(38, 2))
    return (pl.col(column).cast(pl.Decimal(38, 2)) / hundred).cast(pl.Decimal(20, 2)).alias(alias or column)


def minor_as_decimal(minor: np.ndarray) -> pl.Series:
    """Integer minor units as exact decimals with two places, without arithmetic: the minor units become the
    unscaled value of a ``Decimal(20, 2)`` (``1230`` -> ``12.30``).

    >>> minor_as_decimal(np.array([1230, -5])).to_list()
    [Decimal('12.30'), Decimal('-0.05')]
    """
    import pyarrow as pa

    low = np.ascontiguousarray(minor, dtype=np.int64)
    words = np.empty((low.size, 2), dtype=np.int64)  # each value as a 128-bit two's complement integer
    words[:, 0 if sys.byteorder == "little" else 1] = low
    words[:, 1 if sys.byteorder == "little" else 0] = low >> 63  # the sign, extended
    unscaled = pa.Array.from_buffers(pa.decimal128(20, 2), low.size, [None, pa.py_buffer(words)])
    return pl.Series(_ArrowArray(unscaled))


class _ArrowArray:
    """An Arrow array handed to polars through the Arrow C data interface: no copy, and polars does not
    import ``pyarrow.compute`` (a tenth of a second) as :func:`polars.from_arrow` does."""

    def __init__(self, array: pa.Array) -> None:
        self.array = array

    def __arrow_c_array__(self, requested_schema: object | None = None) -> tuple[object, object]:
        return self.array.__arrow_c_array__(requested_schema)


def money_text(column: str, alias: str | None = None) -> pl.Expr:
    """An integer minor-units column as exact decimal text with two places (``-12.30``)."""
    return money_decimal(column, alias).cast(pl.String)


#: How amounts and shares are written, by results format: text with two places and rounded shares in CSV,
#: exact decimals and full floats in Parquet.
Money = Callable[[str, str], pl.Expr]


def _money(results_format: ResultsFormat) -> Money:
    return money_text if results_format == "csv" else money_decimal


def _share(column: str, digits: int, results_format: ResultsFormat) -> pl.Expr:
    return pl.col(column).round(digits) if results_format == "csv" else pl.col(column)


def _amounts_table(rows: pl.DataFrame, part: str, results_format: ResultsFormat) -> pl.DataFrame:
    """``recipient_id, <part>, amount, share, currency``: the layout of attribution.csv and channels.csv."""
    return rows.select(
        "recipient_id",
        part,
        _money(results_format)("amount_minor", "amount"),
        _share("share", 6, results_format),
        "currency",
    )


def attribution_table(
    result: Attribution | pl.DataFrame, results_format: ResultsFormat = "csv"
) -> pl.DataFrame:
    """attribution.csv: recipient_id, stovepipe_id, amount, share, currency (of a result or rows)."""
    rows = result.rows if isinstance(result, Attribution) else result
    return _amounts_table(rows, "stovepipe_id", results_format)


def channels_table(result: Attribution | pl.DataFrame, results_format: ResultsFormat = "csv") -> pl.DataFrame:
    """channels.csv: recipient_id, channel, amount, share, currency (income by channel of government).

    Takes a result or its channel mix (:func:`graphflows.analysis.channel_mix`).
    """
    mix = channel_mix(result) if isinstance(result, Attribution) else result
    return _amounts_table(mix, "channel", results_format)


def convergence_table(table: pl.DataFrame, results_format: ResultsFormat = "csv") -> pl.DataFrame:
    """convergence.csv columns, amounts as decimal text (exact decimals in Parquet)."""
    money = _money(results_format)
    return table.select(
        "recipient_id",
        "recipient_name",
        "kinds",
        "channel_count",
        "channels",
        _share("effective_channels", 3, results_format),
        "stovepipe_count",
        _share("effective_stovepipes", 3, results_format),
        money("total_in_minor", "total_in"),
        money("below_min_share_minor", "below_min_share"),
        "top_channel",
        _share("top_channel_share", 6, results_format),
        "top_stovepipe_id",
        _share("top_share", 6, results_format),
        _share("hhi", 6, results_format),
        pl.col("payer_count").cast(pl.Int64),  # a plain integer for every reader (Spark has no unsigned)
        "payer_channels",
        "payer_channel_count",
        _share("effective_payer_channels", 3, results_format),
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


def channel_summary(facts: RecipientFacts | Attribution, table: pl.DataFrame) -> dict[str, Any]:
    """Income by origin channel, the unclassified origins, and convergence points by provider form.

    Income is counted at every recipient it reaches (money passed on is counted again at the next
    recipient), so the figures give shares of attributed income, not budgets.
    """
    if isinstance(facts, Attribution):
        facts = gather_facts(facts)
    totals = channel_totals(facts.channel_mix)
    by_channel: dict[str, dict[str, str]] = {}
    for currency, channel, amount in totals.iter_rows():
        by_channel.setdefault(currency, {})[channel] = format_minor(amount)
    unclassified: dict[str, dict[str, Any]] = {}
    for (currency,), part in totals.partition_by("currency", as_dict=True).items():
        none = part.filter(pl.col("channel") == UNCLASSIFIED)["amount_minor"].sum()
        unclassified[str(currency)] = {  # origins: unknown when only channels were solved
            "origins": None,
            "largest": [],
            "share_of_attributed_income": round(int(none) / max(int(part["amount_minor"].sum()), 1), 6),
        }
    if facts.level == "origin":
        origins = facts.origins.join(
            node_channels(facts.graph).rename({"id": "stovepipe_id"}), on="stovepipe_id", how="left"
        ).filter(pl.col("channel").fill_null(UNCLASSIFIED) == UNCLASSIFIED)
        for currency, part in unclassified.items():
            ranked = origins.filter(pl.col("currency") == currency).sort(
                ["amount_minor", "stovepipe_id"], descending=[True, False]
            )
            part.update(origins=ranked.height, largest=ranked["stovepipe_id"].head(5).to_list())
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
    ingest: IngestResult,
    graph: FlowGraph,
    result: Attribution | AttributionStream,
    table: pl.DataFrame,
    facts: RecipientFacts | None = None,
    **settings: Any,
) -> dict[str, Any]:
    """Counts and totals that reconcile: records_read = flows + rejected + non_money + repeated."""
    if facts is None:
        if not isinstance(result, Attribution):
            raise ValueError("summary of an attribution in blocks needs the facts gathered from them")
        facts = gather_facts(result)
    negatives = result.negative_pairs
    return {
        **reading_counts(ingest),
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
        **self_payment_summary(result.self_payments),
        "recipients": table.height,
        "convergence_points": int(table["is_convergence_point"].sum()),
        **channel_summary(facts, table),
        "analysis": {
            "by": result.by,
            **period_summary(
                result.financial_year,
                flows=ingest.flows.height,
                flows_in_period=result.flows_used,
                undated=result.undated_excluded,
                totals=ingest.totals(),
                period_totals=result.graph.totals(),
            ),
            **settings,
            **_at_default_share(facts, settings),
        },
        "files": ingest.file_counts(),
        "notes": ingest.notes + result.notes,
    }


def reading_counts(ingest: IngestResult) -> dict[str, Any]:
    """What reading the files gave, as summary.json says it (records_read = flows + rejected + non_money +
    repeated; repeated_amount per currency, exact text)."""
    return {
        "records_read": ingest.records_read,
        "flows": ingest.flows.height,
        "rejected": ingest.rejects.height,
        "non_money": ingest.non_money,
        "repeated": ingest.repeated,
        "repeated_amount": {c: format_minor(v) for c, v in ingest.repeated_amount().items()},
    }


def self_payment_summary(table: pl.DataFrame) -> dict[str, Any]:
    """``self_payments`` (lines) and ``self_payment_amount`` (per currency) of summary.json: the money an
    organisation paid itself, left out of income (see :func:`graphflows.analysis.netting.self_payments`)."""
    return {
        "self_payments": int(table["lines"].sum()),
        "self_payment_amount": {
            c: format_minor(v) for c, v in table.select("currency", "amount_minor").iter_rows()
        },
    }


def _at_default_share(facts: RecipientFacts, settings: dict[str, Any]) -> dict[str, int]:
    """Below the default ``min_share``: how many convergence points the default (1%) would give, so that a
    run at ``--min-share 0`` can say how many points rest on crumbs."""
    if settings.get("min_share", DEFAULT_MIN_SHARE) >= DEFAULT_MIN_SHARE:
        return {}
    count_by, min_count = settings.get("count_by", "channel"), settings.get("min_count", 2)
    return {
        "convergence_points_at_default_min_share": points_at_default_share(
            facts, count_by=count_by, min_count=min_count
        )
    }


def period_summary(
    financial_year: str | None,
    *,
    flows: int,
    flows_in_period: int,
    undated: int,
    totals: dict[str, int],
    period_totals: dict[str, int],
) -> dict[str, Any]:
    """The flows and money of a ``--financial-year`` and of the flows left out (dated outside it or undated),
    so that ``total_amount = amount_in_period + amount_outside_period`` and ``amount_in_period =
    attributed_amount + negative_net_amount + self_payment_amount``, per currency. Without a year every
    flow is in the period."""
    kept = {c: period_totals.get(c, 0) for c in sorted(totals)}
    return {
        "financial_year": financial_year,
        "flows_in_period": flows_in_period,
        "amount_in_period": {c: format_minor(v) for c, v in kept.items()},
        "flows_outside_period": flows - flows_in_period,
        "amount_outside_period": {c: format_minor(totals[c] - v) for c, v in kept.items()},
        "undated_flows_excluded": undated,
    }


def _arrow_attribution(blocks: Iterable[CodedBlock], gatherer: FactGatherer) -> Iterator[pa.Table]:
    """attribution.parquet blocks straight from integer codes: ids as dictionary indices into the node ids,
    amounts as decimals whose unscaled value is the minor units (no text is built for 20M rows).

    An empty table first gives the schema.
    """
    import pyarrow as pa

    ids = gatherer.ids.to_arrow().cast(pa.string())
    pennies, money = pa.decimal128(19, 0), pa.decimal128(19, 2)  # 19 digits hold every int64

    def table(node: np.ndarray, origin: np.ndarray, amount: np.ndarray, share: np.ndarray, currency: str):
        def coded(codes: np.ndarray, values: pa.Array) -> pa.DictionaryArray:
            return pa.DictionaryArray.from_arrays(pa.array(codes.astype(np.int32)), values)

        return pa.table(
            {
                "recipient_id": coded(node, ids),
                "stovepipe_id": coded(origin, ids),
                "amount": pa.array(amount, pa.int64()).cast(pennies).view(money).cast(pa.decimal128(20, 2)),
                "share": pa.array(share, pa.float64()),
                "currency": coded(np.zeros(node.size, dtype=np.int32), pa.array([currency], pa.string())),
            }
        )

    empty = np.empty(0, dtype=np.int64)
    yield table(empty, empty, empty, np.empty(0), "")
    for block in blocks:
        gatherer.add(block)
        yield table(block.node, block.origin, block.amount, block.amount / block.total, block.currency)


def write_analysis(
    out_dir: Path,
    ingest: IngestResult,
    result: Attribution | AttributionStream,
    *,
    count_by: CountBy = "channel",
    min_count: int = 2,
    min_share: float = DEFAULT_MIN_SHARE,
    min_stovepipes: int | None = None,
    write_rejects: bool = False,
    raw_csv: bool = False,
    inputs: Iterable[PathLike] = (),
    levels: Iterable[str] = LEVELS,
    results_format: ResultsFormat = "csv",
) -> tuple[dict[str, Any], pl.DataFrame]:
    """Write attribution.csv, channels.csv, convergence.csv, organisations.csv (every node: channel, form
    and how its records were matched), summary.json, and rejects.csv and negative_net.csv when needed.

    ``result`` may be an :class:`~graphflows.analysis.attribution.AttributionStream`: its rows are then
    written block by block as they are solved, never all held. ``levels`` without ``"origin"`` skips
    attribution.csv (the channel table and convergence are still written). ``results_format="parquet"``
    writes the tables as ``.parquet`` with typed columns (amounts as exact decimals); summary.json stays.
    CSV text cells that a spreadsheet would run as formulas start with ``'`` unless ``raw_csv``; an
    output file that is one of ``inputs``, or that graphflows did not write, is refused.
    Returns the summary (with ``files_written``: the names written to ``out_dir``, which summary.json
    does not list) and the convergence table (see :func:`graphflows.analysis.convergence`).
    """
    if min_stovepipes is not None:
        min_count = min_stovepipes
    levels = set(levels)
    if unknown := levels - set(LEVELS):
        raise ValueError(f"unknown result level(s): {', '.join(sorted(unknown))}")
    if not levels:
        raise ValueError("give at least one result level (origin, channel)")
    if results_format not in ("csv", "parquet"):
        raise ValueError(f"results format must be 'csv' or 'parquet', not {results_format!r}")
    ext = "csv" if results_format == "csv" else "parquet"
    gatherer = FactGatherer(result.graph, result.recipients, min_share=min_share, payments=result.payments)
    safe = raw_csv or results_format == "parquet"  # CSV text cells are neutralised once per distinct id
    shown_ids = gatherer.ids if safe else neutralise(gatherer.ids.to_frame())["id"]
    channel_only = "origin" not in levels  # then money is solved per channel, never per origin
    if isinstance(result, Attribution):
        blocks = coded_rows(result.rows, gatherer.ids, result.recipients)
        if channel_only:
            blocks = (channels_of(block, gatherer.channel_of) for block in blocks)
    else:  # the next block is solved while one is written
        blocks = solved_ahead(result.channel_blocks() if channel_only else result.coded_blocks())
    take = gatherer.add_channels if channel_only else gatherer.add
    done: dict[str, Any] = {}

    def table_writer(frame: Callable[[], pl.DataFrame]) -> Callable[[Path], None]:
        return lambda path: write_table_to(path, [frame()], results_format=results_format, raw=raw_csv)

    def gathered() -> Iterator[pl.DataFrame | pa.Table]:
        if results_format == "parquet":
            yield from _arrow_attribution(blocks, gatherer)
            return
        yield attribution_table(pl.DataFrame(schema=ATTRIBUTION_SCHEMA), results_format)  # the header
        for block in blocks:
            gatherer.add(block)
            currency = block.currency if safe else neutralise(pl.DataFrame({"c": [block.currency]}))["c"][0]
            yield pl.DataFrame(  # the columns of attribution_table, built straight from the codes
                {
                    "recipient_id": shown_ids.gather(block.node),
                    "stovepipe_id": shown_ids.gather(block.origin),
                    "amount": minor_as_decimal(block.amount),  # written as 12.30, exactly
                    "share": pl.Series(block.amount / block.total).round(6),
                    "currency": pl.repeat(currency, block.node.size, eager=True, dtype=pl.String),
                }
            )

    def facts() -> tuple[RecipientFacts, pl.DataFrame]:
        if "facts" not in done:
            for block in blocks:  # the blocks go once: none are left when attribution.* took them
                take(block)
            done["facts"] = gatherer.finish()
            done["table"] = convergence_of(done["facts"], count_by=count_by, min_count=min_count)
        return done["facts"], done["table"]

    def info() -> dict[str, Any]:
        if "info" not in done:
            fact, table = facts()
            done["info"] = summary(
                ingest,
                result.graph,
                result,
                table,
                fact,
                count_by=count_by,
                min_count=min_count,
                min_share=min_share,
                levels=sorted(levels),
                results_format=results_format,
            )
        return done["info"]

    writers: dict[str, Callable[[Path], None]] = {}
    if "origin" in levels:
        # cells are neutralised above (once per id), so the blocks are written as they are
        writers[f"attribution.{ext}"] = lambda p: write_table_to(
            p, gathered(), results_format=results_format, raw=True
        )
    if "channel" in levels:
        writers[f"channels.{ext}"] = table_writer(
            lambda: channels_table(facts()[0].channel_mix, results_format)
        )
    writers[f"convergence.{ext}"] = table_writer(lambda: convergence_table(facts()[1], results_format))
    writers[f"organisations.{ext}"] = table_writer(lambda: organisations_table(result.graph))
    if result.negative_pairs.height:
        negative = result.negative_pairs.select(
            "payer_id", "payee_id", "stream_id", "currency",
            _money(results_format)("net_minor", "net_amount"), pl.col("lines").cast(pl.Int64),
        )  # fmt: skip
        writers[f"negative_net.{ext}"] = table_writer(lambda: negative)
    if write_rejects:
        writers[f"rejects.{ext}"] = table_writer(lambda: ingest.rejects)
    writers["summary.json"] = lambda p: p.write_text(json.dumps(info(), indent=2, ensure_ascii=False) + "\n")
    written = write_all(out_dir, writers, stale=ANALYSIS_FILES, inputs=inputs)
    return {**info(), "files_written": written}, facts()[1]


#: Every file ``write_analysis`` may write: those a run does not write are removed, so no stale result stays.
ANALYSIS_FILES = (
    *(
        f"{name}.{ext}"
        for name in ("attribution", "channels", "convergence", "negative_net", "rejects", "organisations")
        for ext in ("csv", "parquet")
    ),
    "summary.json",
)


def write_all(
    out_dir: Path,
    writers: dict[str, Callable[[Path], None]],
    stale: tuple[str, ...] = (),
    *,
    inputs: Iterable[PathLike] = (),
) -> list[str]:
    """Run every writer into a staging folder, then move the finished files into ``out_dir``.

    Files named in ``stale`` that this run does not write are removed from ``out_dir`` when graphflows
    wrote them (see :mod:`graphflows.outputs`). Returns the names written.
    """
    return write_folder(out_dir, writers, stale=stale, inputs=inputs)
