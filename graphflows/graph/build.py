"""Build the funding graph from a flow table.

A :class:`FlowGraph` keeps every individual flow (a multigraph) in columnar form, so a million flows
fit in memory and analyse in seconds; :meth:`FlowGraph.to_networkx` gives the same graph as a
``networkx.MultiDiGraph`` for exploration.

>>> import polars as pl
>>> from graphflows.ingest.base import conform
>>> flows = conform(pl.DataFrame({"payer_id": ["CCG"], "payee_id": ["P"], "amount_minor": [100],
...     "payer_kind": ["commissioner"], "payee_kind": ["provider"], "currency": ["GBP"]}))
>>> g = build_graph(flows)
>>> g.nodes.select("id", "kinds").rows()
[('CCG', ['commissioner']), ('P', ['provider'])]
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

import polars as pl

from graphflows.classify import ChannelMap, classify_nodes
from graphflows.model import CURRENCY_CODE, DEFAULT_CURRENCY, FLOW_COLUMNS, MAX_MINOR, InputError, Kind

if TYPE_CHECKING:
    import networkx as nx

    from graphflows.ingest import IngestResult


@dataclass(frozen=True)
class FlowGraph:
    """Nodes (``id``, ``name``, ``kinds`` and any extra attributes) and flows (one row per payment)."""

    nodes: pl.DataFrame
    flows: pl.DataFrame

    @property
    def node_count(self) -> int:
        return self.nodes.height

    @property
    def flow_count(self) -> int:
        return self.flows.height

    def kind_counts(self) -> dict[str, int]:
        """Nodes per kind (a node with two kinds counts in both)."""
        exploded = self.nodes.select(pl.col("kinds").explode()).to_series()
        return {k.value: int((exploded == k.value).sum()) for k in Kind}

    def totals(self) -> dict[str, int]:
        """Sum of flow amounts per currency in minor units."""
        grouped = self.flows.group_by("currency").agg(pl.col("amount_minor").cast(pl.Int128).sum())
        return {currency: int(total) for currency, total in grouped.sort("currency").iter_rows()}

    def in_financial_year(self, year: str) -> FlowGraph:
        """Only the flows dated in a UK financial year such as ``"2014/15"`` (1 April to 31 March)."""
        start, end = financial_year_bounds(year)
        kept = self.flows.filter(pl.col("date").is_between(start, end, closed="left"))
        return FlowGraph(self.nodes, kept)

    def to_networkx(self) -> nx.MultiDiGraph:
        """The same graph as a networkx MultiDiGraph (one edge per flow)."""
        from graphflows.graph.networkx_io import to_networkx

        return to_networkx(self)


def financial_year_bounds(year: str) -> tuple[date, date]:
    """``"2014/15"`` -> (2014-04-01, 2015-04-01). Also accepts ``"2014-15"`` and ``"2014/2015"``.

    >>> financial_year_bounds("2019/20")
    (datetime.date(2019, 4, 1), datetime.date(2020, 4, 1))
    """
    text = year.strip().replace("-", "/")
    first, _, second = text.partition("/")
    if not (first.isdigit() and len(first) == 4 and second.isdigit() and len(second) in (2, 4)):
        raise ValueError(f"financial year {year!r} should look like 2014/15")
    start = int(first)
    if int(second) % 100 != (start + 1) % 100:
        raise ValueError(f"financial year {year!r}: the second year must follow the first (e.g. 2014/15)")
    return date(start, 4, 1), date(start + 1, 4, 1)


def build_graph(
    flows: pl.DataFrame,
    organisations: pl.DataFrame | None = None,
    channel_map: ChannelMap | None = None,
) -> FlowGraph:
    """Nodes from the payers, payees and declared streams of ``flows``, classified by channel and form.

    A node's name is the first name seen for its id; its kinds are every kind it was seen with, and
    ``stream`` for an id named as a ``stream_id``. ``organisations`` (``id`` plus any columns) adds
    attributes to nodes, such as how an organisation was matched across sources. A ``payer_channel`` or
    ``payee_channel`` column in ``flows`` gives a node's channel (the first one given wins); other nodes
    are classified by ``channel_map`` and the rules of :mod:`graphflows.classify`.

    ``flows`` needs ``payer_id``, ``payee_id`` and ``amount_minor`` (integers); other columns of
    :data:`~graphflows.model.FLOW_COLUMNS` are optional. A blank currency is GBP and blank kinds are
    commissioner (payer) and provider (payee), as in a flows CSV; anything else bad raises InputError.
    """
    flows = checked_flows(flows)
    sides = [_side(flows, "payer"), _side(flows, "payee")]
    sides.append(
        flows.filter(pl.col("stream_id").is_not_null()).select(
            pl.col("stream_id").alias("id"),
            pl.lit(None, pl.String).alias("name"),
            pl.lit(Kind.STREAM.value).alias("kind"),
            pl.lit(None, pl.String).alias("channel_given"),
            pl.lit(None, pl.String).alias("recipient_type"),
        )
    )
    seen = pl.concat(sides).with_row_index("_order")
    nodes = (
        seen.group_by("id")
        .agg(
            pl.col("_order").min(),
            pl.col("name").drop_nulls().first(),
            pl.col("kind").unique().sort().alias("kinds"),
            pl.col("channel_given").drop_nulls().first(),
            pl.col("recipient_type").drop_nulls().first(),
        )
        .sort("_order")
        .drop("_order")
        .with_columns(pl.col("name").fill_null(pl.col("id")))
    )
    if organisations is not None and organisations.height:
        extra = organisations.drop(
            [c for c in ("name", "kinds", "channel_given") if c in organisations.columns]
        )
        nodes = nodes.join(extra, on="id", how="left")
    nodes = classify_nodes(nodes, channel_map).drop("channel_given", "recipient_type")
    return FlowGraph(
        nodes, flows.select(list(FLOW_COLUMNS) + [c for c in flows.columns if c not in FLOW_COLUMNS])
    )


#: Columns a flow table must have (with a value on every row).
REQUIRED_COLUMNS = ("payer_id", "payee_id", "amount_minor")


def checked_flows(flows: pl.DataFrame) -> pl.DataFrame:
    """``flows`` with missing optional columns added and blanks defaulted; InputError naming the first
    bad row (its ``source:line`` when it has one) otherwise. Cheap when the table is already sound.

    >>> checked_flows(pl.DataFrame({"payer_id": ["S"], "payee_id": ["P"]}))
    Traceback (most recent call last):
    ...
    graphflows.model.errors.InputError: flow table: missing column(s) amount_minor (a flow table needs \
payer_id, payee_id, amount_minor; see graphflows.model.FLOW_COLUMNS)
    """
    missing = [c for c in REQUIRED_COLUMNS if c not in flows.columns]
    if missing:
        raise InputError(
            f"flow table: missing column(s) {', '.join(missing)} (a flow table needs "
            f"{', '.join(REQUIRED_COLUMNS)}; see graphflows.model.FLOW_COLUMNS)"
        )
    if not flows.schema["amount_minor"].is_integer():
        raise InputError(
            f"flow table: amount_minor is {flows.schema['amount_minor']}, not whole pence (an integer column)"
        )
    flows = flows.with_columns(
        pl.lit(None, dtype).alias(c) for c, dtype in FLOW_COLUMNS.items() if c not in flows.columns
    )
    flows = flows.with_columns(
        pl.col(c).cast(pl.String) for c in ("payer_id", "payee_id") if flows.schema[c] != pl.String
    )
    for column in REQUIRED_COLUMNS:
        if flows[column].null_count():
            _refuse(flows, pl.col(column).is_null(), f"missing {column}")
    defaults = {
        "currency": DEFAULT_CURRENCY,
        "payer_kind": Kind.COMMISSIONER.value,
        "payee_kind": Kind.PROVIDER.value,
    }
    flows = flows.with_columns(
        pl.col(c).fill_null(pl.lit(value)) for c, value in defaults.items() if flows[c].null_count()
    )
    largest = flows["amount_minor"].cast(pl.Int128).abs().max()
    if largest is not None and largest > MAX_MINOR:
        _refuse(
            flows,
            pl.col("amount_minor").cast(pl.Int128).abs() > MAX_MINOR,
            f"amount_minor {{}} is too large (at most {MAX_MINOR:,})",
            "amount_minor",
        )
    if not flows["currency"].unique().str.contains(CURRENCY_CODE).all():  # read as a flows CSV reads it
        flows = flows.with_columns(pl.col("currency").str.strip_chars().str.to_uppercase())
    if not flows["currency"].unique().str.contains(CURRENCY_CODE).all():
        _refuse(
            flows,
            ~pl.col("currency").str.contains(CURRENCY_CODE),
            "currency {} is not a three-letter ISO 4217 code",
            "currency",
        )
    kinds = [k.value for k in Kind]
    for column in ("payer_kind", "payee_kind"):
        if not flows[column].unique().is_in(kinds).all():
            _refuse(
                flows,
                ~pl.col(column).is_in(kinds),
                f"unknown {column} {{}} (expected {', '.join(kinds)})",
                column,
            )
    return flows


def _refuse(flows: pl.DataFrame, bad: pl.Expr, why: str, column: str | None = None) -> None:
    """Raise InputError naming the first row where ``bad`` holds (``why`` may show its ``column``)."""
    rows = flows.with_row_index("_row").filter(bad)
    first = rows.row(0, named=True)
    where = (
        f"{first['source']}:{first['line']}"
        if first["source"] is not None and first["line"] is not None
        else f"flow table row {first['_row']} (counting from 0)"
    )
    reason = why.format(repr(first[column])) if column else why
    more = f" ({rows.height:,} rows like it)" if rows.height > 1 else ""
    raise InputError(f"{where}: {reason}{more}")


def _side(flows: pl.DataFrame, side: str) -> pl.DataFrame:
    """``id, name, kind, channel_given, recipient_type`` of the payers or payees of ``flows``.

    ``recipient_type`` (360Giving grants to individuals) describes the payee.
    """

    def optional(column: str) -> pl.Expr:
        return pl.col(column).cast(pl.String) if column in flows.columns else pl.lit(None, pl.String)

    return flows.select(
        pl.col(f"{side}_id").alias("id"),
        pl.col(f"{side}_name").alias("name"),
        pl.col(f"{side}_kind").alias("kind"),
        optional(f"{side}_channel").alias("channel_given"),
        (optional("recipient_type") if side == "payee" else pl.lit(None, pl.String)).alias("recipient_type"),
    )


def read_graph(
    paths: str | Path | Iterable[str | Path], *, channel_map: ChannelMap | None = None, **read_options: object
) -> FlowGraph:
    """Read files (any supported format; one path or a list) and build their graph; raises InputError on
    bad input."""
    from graphflows.ingest import read_flows

    result: IngestResult = read_flows(paths, **read_options)  # type: ignore[arg-type]
    return graph_from_ingest(result, channel_map)


def graph_from_ingest(result: IngestResult, channel_map: ChannelMap | None = None) -> FlowGraph:
    """The graph of an :class:`~graphflows.ingest.IngestResult` (with its organisation table, if any)."""
    return build_graph(result.flows, getattr(result, "organisations", None), channel_map)
