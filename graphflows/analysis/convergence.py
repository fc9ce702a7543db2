"""Convergence points: recipients where money from several channels (or stovepipes) arrives.

A *stovepipe* is one origin of money (a CCG, a grant, a police and crime commissioner); a *channel* groups
origins the way policy analysts do (three CCGs are one channel, ``nhs``). A channel or stovepipe counts for a
recipient when it brings at least ``min_share`` of the recipient's income (materiality).

>>> import networkx as nx
>>> from graphflows.analysis import attribute
>>> G = nx.MultiDiGraph()
>>> for ccg in ("CCG A", "CCG B", "CCG C"):
...     G.add_node(ccg, channel="nhs")
>>> G.add_node("PCC", channel="police_justice")
>>> _ = G.add_edges_from([("CCG A", "Mutual", {"amount": "40"}), ("CCG B", "Mutual", {"amount": "30"}),
...     ("CCG C", "Mutual", {"amount": "20"}), ("PCC", "Mutual", {"amount": "10"}),
...     ("CCG A", "Trust", {"amount": "50"}), ("CCG B", "Trust", {"amount": "50"})])
>>> table = convergence(attribute(G))
>>> table.select("recipient_id", "channel_count", "channels", "stovepipe_count").rows()
[('Mutual', 2, 'nhs;police_justice', 4), ('Trust', 1, 'nhs', 2)]
>>> convergence(attribute(G), count_by="stovepipe")["is_convergence_point"].to_list()
[True, True]
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import polars as pl

from graphflows.analysis.attribution import ATTRIBUTION_SCHEMA, Attribution
from graphflows.analysis.channels import UNCLASSIFIED, mix_by_channel, node_channels, sort_channel_mix
from graphflows.graph import FlowGraph

CountBy = Literal["channel", "stovepipe"]

#: Default materiality: a channel or stovepipe counts when it brings at least 1% of a recipient's income.
DEFAULT_MIN_SHARE = 0.01

CONVERGENCE_COLUMNS = [
    "recipient_id",
    "recipient_name",
    "kinds",
    "channel",
    "form",
    "channel_count",
    "channels",
    "effective_channels",
    "stovepipe_count",
    "effective_stovepipes",
    "total_in_minor",
    "below_min_share_minor",
    "top_channel",
    "top_channel_share",
    "top_stovepipe_id",
    "top_share",
    "hhi",
    "payer_count",
    "payer_channels",
    "currency",
    "is_convergence_point",
    "top_stovepipe_name",
]


def convergence(
    result: Attribution,
    *,
    count_by: CountBy = "channel",
    min_share: float = DEFAULT_MIN_SHARE,
    min_count: int = 2,
    min_stovepipes: int | None = None,
) -> pl.DataFrame:
    """One row per recipient and currency; convergence points first.

    A recipient is a convergence point when at least ``min_count`` channels (``count_by="channel"``) or
    stovepipes (``count_by="stovepipe"``) each bring at least ``min_share`` of its income (and a penny).
    ``min_stovepipes`` is the older name of ``min_count``. ``min_share=0`` counts every penny.

    Columns: ``channel_count`` / ``stovepipe_count`` (counted at ``min_share``), ``channels`` (the counted
    channels, largest first, ``;``-joined), ``effective_channels`` / ``effective_stovepipes`` (1 / HHI over
    all shares: the Laakso–Taagepera effective number, robust to thin shares), ``below_min_share_minor``
    (income from the channels or stovepipes below ``min_share`` at the counted level: attributed, just not
    counted), ``payer_channels`` (channels of the direct payers: the contracts a recipient holds), the
    recipient's own ``channel`` and ``form``. Ranked by the counted number, then the effective number at
    that level, then money.
    """
    if count_by not in ("channel", "stovepipe"):
        raise ValueError(f"count_by must be 'channel' or 'stovepipe', not {count_by!r}")
    if min_stovepipes is not None:
        min_count = min_stovepipes
    return convergence_of(gather_facts(result, min_share=min_share), count_by=count_by, min_count=min_count)


@dataclass(frozen=True)
class RecipientFacts:
    """What convergence and the summary need from the origin-level rows, gathered block by block.

    ``stovepipes``: per recipient and currency, the stovepipe count at ``min_share``, the money below it,
    HHI and the top stovepipe. ``channel_mix``: as :func:`channel_mix`. ``origins``: ``currency,
    stovepipe_id, amount_minor``, the money each origin brings to all recipients.
    """

    graph: FlowGraph
    recipients: pl.DataFrame
    min_share: float
    stovepipes: pl.DataFrame
    channel_mix: pl.DataFrame
    origins: pl.DataFrame


class FactGatherer:
    """Gathers :class:`RecipientFacts` from blocks of rows (each block holds all of its recipients' rows).

    >>> gatherer = FactGatherer(result.graph, result.recipients, min_share=0.01)   # doctest: +SKIP
    >>> for rows in stream.frames():                                               # doctest: +SKIP
    ...     gatherer.add(rows)
    """

    def __init__(self, graph: FlowGraph, recipients: pl.DataFrame, *, min_share: float = DEFAULT_MIN_SHARE):
        if not 0 <= min_share <= 1:
            raise ValueError(f"min_share must be between 0 and 1, not {min_share!r}")
        self.graph, self.recipients, self.min_share = graph, recipients, min_share
        self.channels = node_channels(graph)
        self._stovepipes: list[pl.DataFrame] = []
        self._mixes: list[pl.DataFrame] = []
        self._origins: list[pl.DataFrame] = []

    def add(self, rows: pl.DataFrame) -> None:
        """Take the facts of one block of rows."""
        self._stovepipes.append(_stovepipe_facts(rows, self.min_share))
        self._mixes.append(mix_by_channel(rows, self.channels, self.recipients))
        self._origins.append(
            rows.group_by("currency", "stovepipe_id").agg(pl.col("amount_minor").cast(pl.Int128).sum())
        )

    def finish(self) -> RecipientFacts:
        def joined(parts: list[pl.DataFrame]) -> pl.DataFrame:
            return pl.concat(parts, how="vertical_relaxed") if len(parts) > 1 else parts[0]

        if not self._stovepipes:
            self.add(pl.DataFrame(schema=ATTRIBUTION_SCHEMA))
        origins = joined(self._origins).group_by("currency", "stovepipe_id").agg(pl.col("amount_minor").sum())
        return RecipientFacts(
            graph=self.graph,
            recipients=self.recipients,
            min_share=self.min_share,
            stovepipes=joined(self._stovepipes),
            channel_mix=sort_channel_mix(joined(self._mixes)),
            origins=origins.sort("currency", "stovepipe_id"),
        )


def gather_facts(result: Attribution, *, min_share: float = DEFAULT_MIN_SHARE) -> RecipientFacts:
    """:class:`RecipientFacts` of a whole attribution."""
    gatherer = FactGatherer(result.graph, result.recipients, min_share=min_share)
    gatherer.add(result.rows)
    return gatherer.finish()


def convergence_of(
    facts: RecipientFacts, *, count_by: CountBy = "channel", min_count: int = 2
) -> pl.DataFrame:
    """:func:`convergence` from gathered facts (at the facts' ``min_share``)."""
    if count_by not in ("channel", "stovepipe"):
        raise ValueError(f"count_by must be 'channel' or 'stovepipe', not {count_by!r}")
    keys = ["recipient_id", "currency"]
    channels = _level(facts.channel_mix, "channel", "channel", facts.min_share)
    nodes = _node_facts(facts.graph)
    counted = pl.col(f"{count_by}_count")
    table = (
        facts.recipients.join(facts.stovepipes, on=keys, how="left")
        .join(channels, on=keys, how="left")
        .join(_payer_channels(facts.graph), on=keys, how="left")
        .join(nodes.rename({"id": "recipient_id", "name": "recipient_name"}), on="recipient_id", how="left")
        .join(
            nodes.select(pl.col("id").alias("top_stovepipe_id"), pl.col("name").alias("top_stovepipe_name")),
            on="top_stovepipe_id",
            how="left",
        )
        .with_columns(
            pl.col("stovepipe_count", "channel_count").fill_null(0),
            pl.col("stovepipe_below", "channel_below").fill_null(0),
            pl.col("hhi").fill_null(0.0),
        )
        .with_columns(
            (counted >= min_count).alias("is_convergence_point"),
            pl.col(f"{count_by}_below").alias("below_min_share_minor"),
            pl.when(pl.col("hhi") > 0).then(1 / pl.col("hhi")).otherwise(0.0).alias("effective_stovepipes"),
        )
    )
    return table.sort(
        [
            "is_convergence_point",
            f"{count_by}_count",
            f"effective_{count_by}s",
            "total_in_minor",
            "recipient_id",
        ],
        descending=[True, True, True, True, False],
    ).select(CONVERGENCE_COLUMNS)


def _stovepipe_facts(rows: pl.DataFrame, min_share: float) -> pl.DataFrame:
    """Per recipient and currency: the stovepipe level (:func:`_level`) and the top stovepipe."""
    top = rows.group_by("recipient_id", "currency").agg(
        pl.col("stovepipe_id")
        .sort_by(pl.col("amount_minor"), pl.col("stovepipe_id"), descending=[True, False])
        .first()
        .alias("top_stovepipe_id"),
        pl.col("share").max().alias("top_share"),
    )
    return _level(rows, "stovepipe_id", "stovepipe", min_share).join(
        top, on=["recipient_id", "currency"], how="left"
    )


def _level(rows: pl.DataFrame, key: str, name: str, min_share: float) -> pl.DataFrame:
    """Counted number, counted ids (largest first), money below the threshold and HHI at one level."""
    material = pl.col("share") >= min_share
    by_money = (
        pl.col(key)
        .filter(material)
        .sort_by(
            pl.col("amount_minor").filter(material), pl.col(key).filter(material), descending=[True, False]
        )
    )
    aggregated = rows.group_by("recipient_id", "currency").agg(
        material.sum().cast(pl.Int64).alias(f"{name}_count"),
        pl.col("amount_minor").filter(~material).sum().cast(pl.Int64).alias(f"{name}_below"),
        (pl.col("share") ** 2).sum().alias("hhi" if name == "stovepipe" else "channel_hhi"),
        *(
            [
                by_money.str.join(";").alias("channels"),
                pl.col(key)
                .sort_by(pl.col("amount_minor"), pl.col(key), descending=[True, False])
                .first()
                .alias("top_channel"),
                pl.col("share").max().alias("top_channel_share"),
            ]
            if name == "channel"
            else []
        ),
    )
    if name == "channel":
        aggregated = aggregated.with_columns(
            pl.when(pl.col("channel_hhi") > 0)
            .then(1 / pl.col("channel_hhi"))
            .otherwise(0.0)
            .alias("effective_channels")
        ).drop("channel_hhi")
    return aggregated


def _node_facts(graph: FlowGraph) -> pl.DataFrame:
    """``id, name, kinds, channel, form`` of every node (``unknown`` form where not classified)."""
    nodes = graph.nodes
    form = pl.col("form").fill_null("unknown") if "form" in nodes.columns else pl.lit("unknown")
    return nodes.select("id", "name", pl.col("kinds").list.join(";"), form.alias("form")).join(
        node_channels(graph), on="id", how="left"
    )


def _payer_channels(graph: FlowGraph) -> pl.DataFrame:
    """``recipient_id, currency, payer_channels``: channels of the direct payers, most money first."""
    flows = graph.flows
    channels = node_channels(graph).rename({"id": "payer_id", "channel": "payer_channel"})
    paid = (
        flows.select("payer_id", "payee_id", "currency", "amount_minor")
        .join(channels, on="payer_id", how="left")
        .with_columns(pl.col("payer_channel").fill_null(UNCLASSIFIED))
        .group_by("payee_id", "currency", "payer_channel")
        .agg(pl.col("amount_minor").cast(pl.Int128).sum())
        .filter(pl.col("amount_minor") > 0)
    )
    return paid.group_by(pl.col("payee_id").alias("recipient_id"), "currency").agg(
        pl.col("payer_channel")
        .sort_by(pl.col("amount_minor"), pl.col("payer_channel"), descending=[True, False])
        .str.join(";")
        .alias("payer_channels")
    )


def funding_mix(result: Attribution, recipient_id: str) -> pl.DataFrame:
    """One recipient's income by stovepipe, largest first, with names and the stovepipes' channels.

    >>> funding_mix(result, "inclusion-healthcare")   # doctest: +SKIP
    """
    names = result.graph.nodes.select(
        pl.col("id").alias("stovepipe_id"), pl.col("name").alias("stovepipe_name")
    ).join(node_channels(result.graph).rename({"id": "stovepipe_id"}), on="stovepipe_id", how="left")
    return (
        result.rows.filter(pl.col("recipient_id") == recipient_id)
        .join(names, on="stovepipe_id", how="left")
        .sort(["currency", "amount_minor", "stovepipe_id"], descending=[False, True, False])
        .select("stovepipe_id", "stovepipe_name", "channel", "currency", "amount_minor", "share")
    )
