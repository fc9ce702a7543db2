"""Attribute every recipient's income to the stovepipes it came from.

>>> import networkx as nx
>>> G = nx.MultiDiGraph()
>>> G.add_node("PH", kinds=["stream"])
>>> _ = G.add_edges_from([("PH", "Council", {"amount": "100"}), ("CCG", "Council", {"amount": "50"}),
...                        ("Council", "Mutual", {"amount": "60"})])
>>> result = attribute(G)
>>> mutual = result.rows.filter(recipient_id="Mutual").sort("stovepipe_id")
>>> mutual.select("stovepipe_id", "amount_minor").rows()
[('CCG', 2000), ('PH', 4000)]
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

import numpy as np
import polars as pl

from graphflows.analysis.mixing import solve_mixes
from graphflows.analysis.netting import net_pairs
from graphflows.graph import FlowGraph, from_networkx
from graphflows.model import Kind

if TYPE_CHECKING:
    import networkx as nx

ATTRIBUTION_SCHEMA = {
    "recipient_id": pl.String(),
    "stovepipe_id": pl.String(),
    "currency": pl.String(),
    "amount_minor": pl.Int64(),
    "share": pl.Float64(),
}
RECIPIENT_SCHEMA = {
    "recipient_id": pl.String(),
    "currency": pl.String(),
    "total_in_minor": pl.Int64(),
    "payer_count": pl.UInt32(),
}


@dataclass(frozen=True)
class Attribution:
    """Where each recipient's money came from.

    ``rows``: one row per recipient, currency and stovepipe with at least one penny (``amount_minor``,
    ``share`` of the recipient's ``total_in``). Amounts are rounded to the penny by largest remainder,
    so each recipient's rows add up exactly to its total in.
    ``recipients``: total in (net of credits) and number of distinct direct payers.
    ``negative_pairs``: payer, payee, stream and currency whose lines net below zero (not attributed).
    """

    graph: FlowGraph
    by: str
    rows: pl.DataFrame
    recipients: pl.DataFrame
    negative_pairs: pl.DataFrame
    financial_year: str | None = None
    flows_used: int = 0
    undated_excluded: int = 0
    notes: list[str] = field(default_factory=list)

    def totals(self) -> dict[str, int]:
        """Attributed money per currency (net positive inflows), in minor units."""
        grouped = self.recipients.group_by("currency").agg(pl.col("total_in_minor").sum()).sort("currency")
        return dict(grouped.iter_rows())


def attribute(
    graph: FlowGraph | nx.Graph,
    *,
    by: Literal["origin", "stream"] = "origin",
    financial_year: str | None = None,
) -> Attribution:
    """Attribute each recipient's income to its origin stovepipes, through any hops and cycles.

    ``by="origin"``: origins are the roots of the money (a stream or commissioner whose own income is
    not in the data, or any node paying out more than it received). ``by="stream"``: every funding
    stream node is the origin of what it pays out, which shows which pots paid.
    ``financial_year`` (``"2014/15"``) keeps only flows dated from 1 April to 31 March.
    """
    if by not in ("origin", "stream"):
        raise ValueError(f"by must be 'origin' or 'stream', not {by!r}")
    if not isinstance(graph, FlowGraph):
        graph = from_networkx(graph)
    flows = graph.flows
    undated = 0
    if financial_year:
        undated = int(flows["date"].null_count())
        graph = graph.in_financial_year(financial_year)
        flows = graph.flows
    positive, negative = net_pairs(flows)
    nodes = graph.nodes.sort("id")  # a fixed order, so results never depend on the order of input lines
    ids = nodes["id"]
    index = pl.DataFrame({"id": ids, "_i": np.arange(ids.len(), dtype=np.int64)})
    forced = np.zeros(ids.len(), dtype=bool)
    if by == "stream":
        forced = nodes["kinds"].list.contains(Kind.STREAM.value).to_numpy()
    pairs = (
        positive.join(index.rename({"id": "payer_id", "_i": "_p"}), on="payer_id")
        .join(index.rename({"id": "payee_id", "_i": "_q"}), on="payee_id")
        .join(index.rename({"id": "stream_id", "_i": "_s"}), on="stream_id", how="left")
        .with_columns(pl.col("_s").fill_null(-1))
    )
    rows, recipients, notes = [], [], []
    for (currency,), part in pairs.partition_by("currency", as_dict=True, maintain_order=True).items():
        mixes = solve_mixes(
            ids.len(),
            part["_p"].to_numpy(),
            part["_q"].to_numpy(),
            part["_s"].to_numpy(),
            part["net_minor"].to_numpy(),
            forced,
        )
        if mixes.approximate:
            notes.append(
                f"{currency}: {mixes.approximate} cycle(s) did not converge fully; shares inside them are "
                "approximate (each recipient's total is still exact)"
            )
        totals = part.group_by("payee_id").agg(
            pl.col("net_minor").sum().alias("total_in_minor"),
            pl.col("payer_id").n_unique().alias("payer_count"),
        )
        pots = pl.DataFrame({"_q": mixes.node, "_o": mixes.origin, "value": mixes.amount})
        named = pots.join(index.rename({"_i": "_q", "id": "recipient_id"}), on="_q").join(
            index.rename({"_i": "_o", "id": "stovepipe_id"}), on="_o"
        )
        rows.append(_round_to_pennies(named, totals, str(currency)))
        recipients.append(
            totals.select(
                pl.col("payee_id").alias("recipient_id"),
                pl.lit(str(currency)).alias("currency"),
                "total_in_minor",
                pl.col("payer_count").cast(pl.UInt32),
            )
        )
    return Attribution(
        graph=graph,
        by=by,
        rows=pl.concat(rows) if rows else pl.DataFrame(schema=ATTRIBUTION_SCHEMA),
        recipients=pl.concat(recipients).sort("recipient_id", "currency")
        if recipients
        else pl.DataFrame(schema=RECIPIENT_SCHEMA),
        negative_pairs=negative,
        financial_year=financial_year,
        flows_used=flows.height,
        undated_excluded=undated,
        notes=notes,
    )


def _round_to_pennies(pots: pl.DataFrame, totals: pl.DataFrame, currency: str) -> pl.DataFrame:
    """Whole minor units per recipient and stovepipe that add up exactly to the recipient's total in."""
    scaled = (
        pots.join(
            totals.select(pl.col("payee_id").alias("recipient_id"), "total_in_minor"), on="recipient_id"
        )
        .sort("recipient_id", "stovepipe_id")
        .with_columns(
            (pl.col("value") * pl.col("total_in_minor") / pl.col("value").sum().over("recipient_id")).alias(
                "exact"
            )
        )
        .with_columns(pl.col("exact").floor().cast(pl.Int64).alias("floor"))
        .with_columns(
            (pl.col("total_in_minor") - pl.col("floor").sum().over("recipient_id")).alias("missing"),
            (pl.col("exact") - pl.col("floor"))
            .rank("ordinal", descending=True)
            .over("recipient_id")
            .alias("rank"),
        )
        .with_columns(
            (pl.col("floor") + (pl.col("rank") <= pl.col("missing")).cast(pl.Int64)).alias("amount_minor")
        )
        .filter(pl.col("amount_minor") > 0)
    )
    return scaled.select(
        "recipient_id",
        "stovepipe_id",
        pl.lit(currency).alias("currency"),
        "amount_minor",
        (pl.col("amount_minor") / pl.col("total_in_minor")).alias("share"),
    )
