"""Income by channel of government: the origin-level attribution grouped by the origins' channels.

A channel (``nhs``, ``public_health``, ``police_justice``, ``local_government`` ...) is a node attribute set
when the graph is built (see :mod:`graphflows.classify`). A recipient's income from a channel is the sum of
its exact origin-level amounts from origins in that channel, so channel figures add up to the penny.

>>> import networkx as nx
>>> from graphflows.analysis import attribute
>>> G = nx.MultiDiGraph()
>>> G.add_nodes_from([("CCG A", {"channel": "nhs"}), ("CCG B", {"channel": "nhs"})])
>>> G.add_node("PCC", channel="police_justice")
>>> _ = G.add_edges_from([("CCG A", "Mutual", {"amount": "60"}), ("CCG B", "Mutual", {"amount": "30"}),
...                        ("PCC", "Mutual", {"amount": "10"})])
>>> channel_mix(attribute(G)).select("channel", "amount_minor").rows()
[('nhs', 9000), ('police_justice', 1000)]
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import polars as pl

from graphflows.graph import FlowGraph

if TYPE_CHECKING:
    from graphflows.analysis.attribution import Attribution

#: The channel of a node that no rule classified (and of graphs built without classification).
UNCLASSIFIED = "unclassified"

CHANNEL_MIX_SCHEMA = {
    "recipient_id": pl.String(),
    "channel": pl.String(),
    "currency": pl.String(),
    "amount_minor": pl.Int64(),
    "share": pl.Float64(),
}


def node_channels(graph: FlowGraph) -> pl.DataFrame:
    """``id, channel`` for every node; ``unclassified`` where the graph carries no channel."""
    nodes = graph.nodes
    if "channel" not in nodes.columns:
        return nodes.select("id", pl.lit(UNCLASSIFIED).alias("channel"))
    return nodes.select("id", pl.col("channel").fill_null(UNCLASSIFIED))


def channel_codes(graph: FlowGraph) -> tuple[pl.Series, np.ndarray]:
    """The graph's channel names (sorted) and each node's channel as an index into them, nodes in id order.

    Both engines number channels this way, so equal remainders go to the channel first in name order.

    >>> import networkx as nx
    >>> from graphflows.graph import from_networkx
    >>> G = nx.MultiDiGraph([("B", "A", {"amount": "1"})]); G.nodes["B"]["channel"] = "nhs"
    >>> names, codes = channel_codes(from_networkx(G))
    >>> names.to_list(), codes.tolist()
    (['nhs', 'unclassified'], [1, 0])
    """
    channels = node_channels(graph).sort("id")
    names = channels["channel"].unique().sort()
    return names, channels["channel"].cast(pl.Enum(names)).to_physical().to_numpy().astype(np.int64)


def channel_mix(result: Attribution, recipient_id: str | None = None) -> pl.DataFrame:
    """Each recipient's income by channel: ``recipient_id, channel, currency, amount_minor, share``.

    Largest first within each recipient and currency; amounts are sums of the exact origin-level rows, so
    they add up to each recipient's total in. ``recipient_id`` (text, or a networkx node such as ``2``,
    whose id is ``"2"``) keeps one recipient; an id that is no node of the graph is refused.
    """
    from graphflows.analysis.attribution import expect_attribution

    recipient_id = expect_attribution(result, "channel_mix", recipient_id)
    rows = result.rows
    if recipient_id is not None:
        rows = rows.filter(pl.col("recipient_id") == recipient_id)
    return sort_channel_mix(mix_by_channel(rows, node_channels(result.graph), result.recipients))


def mix_by_channel(rows: pl.DataFrame, channels: pl.DataFrame, recipients: pl.DataFrame) -> pl.DataFrame:
    """Channel mix of attribution ``rows`` holding all rows of each recipient in them (unsorted).

    ``channels``: ``id, channel`` (:func:`node_channels`); ``recipients``: their ``total_in_minor``.
    """
    channels = channels.rename({"id": "stovepipe_id"})
    totals = recipients.select("recipient_id", "currency", "total_in_minor")
    return (
        rows.join(channels, on="stovepipe_id", how="left")
        .with_columns(pl.col("channel").fill_null(UNCLASSIFIED))
        .group_by("recipient_id", "currency", "channel")
        .agg(pl.col("amount_minor").sum())
        .join(totals, on=["recipient_id", "currency"], how="left")
        .with_columns((pl.col("amount_minor") / pl.col("total_in_minor")).alias("share"))
        .select(list(CHANNEL_MIX_SCHEMA))
        .cast(CHANNEL_MIX_SCHEMA)  # type: ignore[arg-type]
    )


def sort_channel_mix(mix: pl.DataFrame) -> pl.DataFrame:
    """Recipients in id order, each one's channels largest first."""
    return mix.sort(
        ["recipient_id", "currency", "amount_minor", "channel"], descending=[False, False, True, False]
    )


def origin_channel_totals(result: Attribution) -> pl.DataFrame:
    """Money attributed to each channel across all recipients: ``currency, channel, amount_minor``.

    Counts money where it arrives at recipients (a pound passed on through an intermediary counts at each
    recipient it reaches), so use it for shares of attributed income, not as a budget total.
    """
    return channel_totals(channel_mix(result))


def channel_totals(mix: pl.DataFrame) -> pl.DataFrame:
    """:func:`origin_channel_totals` from a channel mix."""
    return (
        mix.group_by("currency", "channel")
        .agg(pl.col("amount_minor").cast(pl.Int128).sum())
        .sort(["currency", "amount_minor", "channel"], descending=[False, True, False])
    )
