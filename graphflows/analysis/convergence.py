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

from dataclasses import dataclass, replace
from numbers import Integral, Real

import numpy as np
import polars as pl

from graphflows.analysis.attribution import Attribution, CodedBlock, coded_rows, expect_attribution
from graphflows.analysis.channels import (
    CHANNEL_MIX_SCHEMA,
    UNCLASSIFIED,
    channel_codes,
    node_channels,
    sort_channel_mix,
)
from graphflows.analysis.materiality import at_least_share, at_least_share_array
from graphflows.classify.channels import COUNTED_CHANNELS
from graphflows.graph import FlowGraph
from graphflows.model.levels import COUNT_LEVELS, DEFAULT_MIN_SHARE, CountBy

__all__ = ["COUNT_LEVELS", "DEFAULT_MIN_SHARE", "CountBy", "convergence", "convergence_of", "funding_mix"]

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
    "payer_channel_count",
    "effective_payer_channels",
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

    A recipient is a convergence point when at least ``min_count`` channels (``count_by="channel"``: the
    channels its money came down, traced to the origins), channels of its direct payers
    (``count_by="payer_channel"``: the contracts it holds, so money a single payer passes on counts once)
    or stovepipes (``count_by="stovepipe"``) each bring at least ``min_share`` of its income (and a penny).
    Convergence is counted per currency: two currencies are never added.
    ``min_stovepipes`` is the older name of ``min_count``. ``min_share=0`` counts every penny.

    Columns: ``channel_count`` / ``stovepipe_count`` (counted at ``min_share``), ``channels`` (the counted
    channels, largest first, ``;``-joined), ``effective_channels`` / ``effective_stovepipes`` (1 / HHI over
    all shares: the Laakso–Taagepera effective number, robust to thin shares), ``below_min_share_minor``
    (income from the channels or stovepipes below ``min_share`` at the counted level: attributed, just not
    counted), ``payer_channels`` (channels of the direct payers: the contracts a recipient holds), the
    recipient's own ``channel`` and ``form``. Ranked by the counted number, then the effective number at
    that level, then money.
    """
    expect_attribution(result, "convergence")
    _check_level(count_by)
    if min_stovepipes is not None:
        min_count = min_stovepipes
    check_thresholds(min_share, min_count, "min_stovepipes" if min_stovepipes is not None else "min_count")
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
    #: The netted payments (as :attr:`~graphflows.analysis.attribution.Attribution.payments`), if known.
    payments: pl.DataFrame | None = None
    #: ``"origin"``: gathered from origin-level rows; ``"channel"``: from money per channel only (then
    #: ``stovepipes`` and ``origins`` are empty and convergence leaves the stovepipe columns empty).
    level: str = "origin"
    #: When gathered below :data:`DEFAULT_MIN_SHARE`: ``recipient_id, currency, stovepipe_count`` counted at
    #: the default share, so :func:`points_at_default_share` can say what the default would leave out.
    default_counts: pl.DataFrame | None = None


class FactGatherer:
    """Gathers :class:`RecipientFacts` from blocks of rows (each block holds all of its recipients' rows).

    Blocks are integer-coded (:class:`~graphflows.analysis.attribution.CodedBlock`: node indices into the
    graph's sorted ids), so a wide mix is summarised with array arithmetic, not string joins.

    >>> gatherer = FactGatherer(stream.graph, stream.recipients, min_share=0.01)   # doctest: +SKIP
    >>> for block in stream.coded_blocks():                                        # doctest: +SKIP
    ...     gatherer.add(block)
    """

    def __init__(
        self,
        graph: FlowGraph,
        recipients: pl.DataFrame,
        *,
        min_share: float = DEFAULT_MIN_SHARE,
        payments: pl.DataFrame | None = None,
    ):
        if not 0 <= min_share <= 1:
            raise ValueError(f"min_share must be between 0 and 1, not {min_share!r}")
        self.graph, self.recipients, self.min_share = graph, recipients, min_share
        self.payments = payments
        self.ids = graph.nodes["id"].sort()
        self.channel_names, self.channel_of = channel_codes(graph)
        self.level = "origin"
        self._stovepipes: list[pl.DataFrame] = []
        self._mixes: list[pl.DataFrame] = []
        self._default_counts: list[pl.DataFrame] = []  # stovepipes counted at DEFAULT_MIN_SHARE, if below
        self._origins: dict[str, tuple[np.ndarray, np.ndarray]] = {}  # currency -> (high, low) sums

    def add(self, block: CodedBlock) -> None:
        """Take the facts of one block: rows grouped by recipient, origins ascending within each."""
        node, origin, amount = block.node, block.origin, block.amount
        if node.size == 0:
            return
        starts = np.flatnonzero(np.r_[True, node[1:] != node[:-1]])
        group = np.repeat(np.arange(starts.size), np.diff(np.r_[starts, node.size]))
        share = amount / block.total
        material = at_least_share_array(amount, block.total, self.min_share)
        top_amount = np.maximum.reduceat(amount, starts)
        tops = np.flatnonzero(amount == top_amount[group])
        first_top = tops[np.r_[True, group[tops][1:] != group[tops][:-1]]]  # the lowest id among equals
        recipient_ids = self.ids.gather(node[starts])
        self._stovepipes.append(
            pl.DataFrame(
                {
                    "recipient_id": recipient_ids,
                    "currency": pl.repeat(block.currency, starts.size, eager=True, dtype=pl.String),
                    "stovepipe_count": np.add.reduceat(material.astype(np.int64), starts),
                    "stovepipe_below": np.add.reduceat(np.where(material, 0, amount), starts),
                    "hhi": np.add.reduceat(share * share, starts),
                    "top_stovepipe_id": self.ids.gather(origin[first_top]),
                    "top_share": share[first_top],
                }
            )
        )
        if self.min_share < DEFAULT_MIN_SHARE:
            at_default = at_least_share_array(amount, block.total, DEFAULT_MIN_SHARE).astype(np.int64)
            self._default_counts.append(
                self._stovepipes[-1]
                .select("recipient_id", "currency")
                .with_columns(stovepipe_count=np.add.reduceat(at_default, starts))
            )
        # money per recipient and channel: exact integer sums into one cell per (recipient, channel)
        width = max(self.channel_names.len(), 1)
        per_channel = np.zeros(starts.size * width, dtype=np.int64)
        np.add.at(per_channel, group * width + self.channel_of[origin], amount)
        cells = np.flatnonzero(per_channel)  # every row brings at least a penny
        mix_group, mix_channel = np.divmod(cells, width)
        mix_amount = per_channel[cells]
        self._mixes.append(
            pl.DataFrame(
                {
                    "recipient_id": recipient_ids.gather(mix_group),
                    "channel": self.channel_names.gather(mix_channel),
                    "currency": pl.repeat(block.currency, cells.size, eager=True, dtype=pl.String),
                    "amount_minor": mix_amount,
                    "share": mix_amount / block.total[starts][mix_group],
                },
                schema=CHANNEL_MIX_SCHEMA,
            )
        )
        # money per origin over all recipients, exact however large: high and low 31 bits summed apart
        high, low = self._origins.setdefault(
            block.currency, (np.zeros(self.ids.len(), np.int64), np.zeros(self.ids.len(), np.int64))
        )
        np.add.at(high, origin, amount >> 31)
        np.add.at(low, origin, amount & (2**31 - 1))

    def add_channels(self, block: CodedBlock) -> None:
        """Take the channel mix of one block of money per recipient and channel (``origin``: the channel's
        index into :attr:`channel_names`, as :meth:`~graphflows.analysis.attribution.AttributionStream.
        channel_blocks` gives). Facts gathered this way know nothing of single origins."""
        self.level = "channel"
        if block.node.size == 0:
            return
        self._mixes.append(
            pl.DataFrame(
                {
                    "recipient_id": self.ids.gather(block.node),
                    "channel": self.channel_names.gather(block.origin),
                    "currency": pl.repeat(block.currency, block.node.size, eager=True, dtype=pl.String),
                    "amount_minor": block.amount,
                    "share": block.amount / block.total,
                },
                schema=CHANNEL_MIX_SCHEMA,
            )
        )

    def add_rows(self, rows: pl.DataFrame) -> None:
        """Take the facts of attribution rows (the columns of :attr:`Attribution.rows`)."""
        for block in coded_rows(rows, self.ids, self.recipients):
            self.add(block)

    def finish(self) -> RecipientFacts:
        def joined(parts: list[pl.DataFrame], schema: dict[str, pl.DataType]) -> pl.DataFrame:
            return pl.concat(parts) if parts else pl.DataFrame(schema=schema)

        stovepipes = joined(self._stovepipes, STOVEPIPE_FACTS_SCHEMA).cast(STOVEPIPE_FACTS_SCHEMA)  # type: ignore[arg-type]
        parts = []
        for currency, (high, low) in self._origins.items():
            origin = np.flatnonzero(high | low)
            sums = pl.DataFrame({"origin": origin, "high": high[origin], "low": low[origin]})
            parts.append(
                sums.select(
                    pl.lit(currency).alias("currency"),
                    "origin",
                    (
                        pl.col("high").cast(pl.Int128) * pl.lit(2**31, pl.Int128)
                        + pl.col("low").cast(pl.Int128)
                    ).alias("amount_minor"),
                )
            )
        origins = joined(parts, {"currency": pl.String(), "origin": pl.Int64(), "amount_minor": pl.Int128()})
        return RecipientFacts(
            graph=self.graph,
            recipients=self.recipients,
            min_share=self.min_share,
            stovepipes=stovepipes,
            channel_mix=sort_channel_mix(joined(self._mixes, CHANNEL_MIX_SCHEMA)),
            origins=origins.select(
                "currency", self.ids.gather(origins["origin"]).alias("stovepipe_id"), "amount_minor"
            ).sort("currency", "stovepipe_id"),
            payments=self.payments,
            level=self.level,
            default_counts=pl.concat(self._default_counts) if self._default_counts else None,
        )


#: Convergence columns that need origin-level rows: empty when only the channel level was solved.
STOVEPIPE_COLUMNS = (
    "stovepipe_count",
    "effective_stovepipes",
    "top_stovepipe_id",
    "top_share",
    "hhi",
    "top_stovepipe_name",
)

STOVEPIPE_FACTS_SCHEMA = {
    "recipient_id": pl.String(),
    "currency": pl.String(),
    "stovepipe_count": pl.Int64(),
    "stovepipe_below": pl.Int64(),
    "hhi": pl.Float64(),
    "top_stovepipe_id": pl.String(),
    "top_share": pl.Float64(),
}


def gather_facts(result: Attribution, *, min_share: float = DEFAULT_MIN_SHARE) -> RecipientFacts:
    """:class:`RecipientFacts` of a whole attribution."""
    gatherer = FactGatherer(result.graph, result.recipients, min_share=min_share, payments=result.payments)
    gatherer.add_rows(result.rows)
    return gatherer.finish()


def convergence_of(
    facts: RecipientFacts, *, count_by: CountBy = "channel", min_count: int = 2
) -> pl.DataFrame:
    """:func:`convergence` from gathered facts (at the facts' ``min_share``).

    Facts gathered at the channel level leave the columns of :data:`STOVEPIPE_COLUMNS` empty and cannot
    count stovepipes.
    """
    _check_level(count_by)
    if facts.level == "channel" and count_by == "stovepipe":
        raise ValueError("counting stovepipes needs the origin level (attribution rows), not channels only")
    keys = ["recipient_id", "currency"]
    channels = _channel_level(facts.channel_mix, facts.recipients, facts.min_share)
    nodes = _node_facts(facts.graph)
    counted = pl.col(f"{count_by}_count")
    table = (
        facts.recipients.join(facts.stovepipes, on=keys, how="left")
        .join(channels, on=keys, how="left")
        .join(
            _payer_channels(facts.graph, facts.recipients, facts.min_share, facts.payments),
            on=keys,
            how="left",
        )
        .join(nodes.rename({"id": "recipient_id", "name": "recipient_name"}), on="recipient_id", how="left")
        .join(
            nodes.select(pl.col("id").alias("top_stovepipe_id"), pl.col("name").alias("top_stovepipe_name")),
            on="top_stovepipe_id",
            how="left",
        )
        .with_columns(
            pl.col("stovepipe_count", "channel_count", "payer_channel_count").fill_null(0),
            pl.col("stovepipe_below", "channel_below", "payer_channel_below").fill_null(0),
            pl.col("hhi").fill_null(0.0),
        )
        .with_columns(
            (counted >= min_count).alias("is_convergence_point"),
            pl.col(f"{count_by}_below").alias("below_min_share_minor"),
            pl.when(pl.col("hhi") > 0).then(1 / pl.col("hhi")).otherwise(0.0).alias("effective_stovepipes"),
        )
    )
    if facts.level == "channel":
        table = table.with_columns(pl.lit(None, dtype=table.schema[c]).alias(c) for c in STOVEPIPE_COLUMNS)
    return table.sort(  # money is compared only within a currency
        [
            "is_convergence_point",
            f"{count_by}_count",
            as_ranked(pl.col(f"effective_{count_by}s")),
            "currency",
            "total_in_minor",
            "recipient_id",
        ],
        descending=[True, True, True, False, True, False],
    ).select(CONVERGENCE_COLUMNS)


def check_thresholds(min_share: object, min_count: object, count_name: str = "min_count") -> None:
    """Refuse a ``min_share`` that is not a number from 0 to 1, or a ``min_count`` that is not a whole
    number of at least 1, with a ValueError naming the argument.

    >>> check_thresholds("0.01", 2)
    Traceback (most recent call last):
    ValueError: min_share must be a number from 0 to 1 (0.01 is 1%), not '0.01'
    """
    if isinstance(min_share, bool) or not isinstance(min_share, Real) or not 0 <= min_share <= 1:
        raise ValueError(f"min_share must be a number from 0 to 1 (0.01 is 1%), not {min_share!r}")
    if isinstance(min_count, bool) or not isinstance(min_count, Integral) or min_count < 1:
        raise ValueError(f"{count_name} must be a whole number of at least 1, not {min_count!r}")


def points_at_default_share(
    facts: RecipientFacts, *, count_by: CountBy = "channel", min_count: int = 2
) -> int:
    """How many convergence points the same facts give at :data:`DEFAULT_MIN_SHARE` (each channel or
    stovepipe bringing at least 1% of a recipient's income), e.g. to say what ``--min-share 0.01`` would
    leave out of a run at ``--min-share 0``. Facts gathered at the default share or above: their own count.
    """
    if facts.min_share >= DEFAULT_MIN_SHARE:
        table = convergence_of(facts, count_by=count_by, min_count=min_count)
        return int(table["is_convergence_point"].sum())
    stovepipes = facts.stovepipes
    if facts.default_counts is not None:
        keys = ["recipient_id", "currency"]
        stovepipes = stovepipes.drop("stovepipe_count").join(facts.default_counts, on=keys, how="left")
        stovepipes = stovepipes.select(facts.stovepipes.columns)
    at_default = replace(facts, min_share=DEFAULT_MIN_SHARE, stovepipes=stovepipes)
    table = convergence_of(at_default, count_by=count_by, min_count=min_count)
    return int(table["is_convergence_point"].sum())


def as_ranked(effective: pl.Expr) -> pl.Expr:
    """An effective number as it is ranked: in thousandths, as the tables show it, so that recipients whose
    mixes differ only by penny rounding tie and money decides (``floor(x * 1000 + 0.5)``, which Spark
    computes to the same bit).

    >>> pl.select(a=as_ranked(pl.lit(2.1407181)), b=as_ranked(pl.lit(2.1407178))).row(0)
    (2141.0, 2141.0)
    """
    return (effective * 1000 + 0.5).floor()


def _check_level(count_by: str) -> None:
    if count_by not in COUNT_LEVELS:
        raise ValueError(f"count_by must be one of {', '.join(COUNT_LEVELS)}, not {count_by!r}")


def _channel_level(mix: pl.DataFrame, recipients: pl.DataFrame, min_share: float) -> pl.DataFrame:
    """Counted channels (largest first), their number, money below the threshold, HHI and the top channel.

    A channel counts when it brings at least ``min_share`` of the total, decided exactly in integers.
    """
    totals = recipients.select("recipient_id", "currency", "total_in_minor")
    material = at_least_share(pl.col("amount_minor"), pl.col("total_in_minor"), min_share)
    by_money = (
        pl.col("channel")
        .filter(material)
        .sort_by(
            pl.col("amount_minor").filter(material),
            pl.col("channel").filter(material),
            descending=[True, False],
        )
    )
    counted = material & pl.col("channel").is_in(sorted(COUNTED_CHANNELS))
    aggregated = (
        mix.join(totals, on=["recipient_id", "currency"], how="left")
        .group_by("recipient_id", "currency")
        .agg(
            counted.sum().cast(pl.Int64).alias("channel_count"),
            pl.col("amount_minor").filter(~material).sum().cast(pl.Int64).alias("channel_below"),
            (pl.col("share") ** 2).sum().alias("channel_hhi"),
            by_money.str.join(";").alias("channels"),
            pl.col("channel")
            .sort_by(pl.col("amount_minor"), pl.col("channel"), descending=[True, False])
            .first()
            .alias("top_channel"),
            pl.col("share").max().alias("top_channel_share"),
        )
    )
    return aggregated.with_columns(
        pl.when(pl.col("channel_hhi") > 0)
        .then(1 / pl.col("channel_hhi"))
        .otherwise(0.0)
        .alias("effective_channels")
    ).drop("channel_hhi")


def _node_facts(graph: FlowGraph) -> pl.DataFrame:
    """``id, name, kinds, channel, form`` of every node (``unknown`` form where not classified)."""
    nodes = graph.nodes
    form = pl.col("form").fill_null("unknown") if "form" in nodes.columns else pl.lit("unknown")
    return nodes.select("id", "name", pl.col("kinds").list.join(";"), form.alias("form")).join(
        node_channels(graph), on="id", how="left"
    )


def _payer_channels(
    graph: FlowGraph, recipients: pl.DataFrame, min_share: float, payments: pl.DataFrame | None = None
) -> pl.DataFrame:
    """Channels of the direct payers (the contracts a recipient holds), from the same netted payments as
    attribution (a pair netting below zero is left out): ``payer_channels`` (all, most money first),
    ``payer_channel_count`` and ``payer_channel_below`` (at ``min_share``), ``effective_payer_channels``.
    ``payments``: those netted payments with coded ids (:attr:`Attribution.payments`), else the flows are
    netted here.
    """
    from graphflows.analysis.netting import net_pairs

    channels = node_channels(graph)
    if payments is None:
        positive, _negative = net_pairs(graph.flows.select("payer_id", "payee_id", "stream_id", "currency",
                                                           "amount_minor"))  # fmt: skip
        positive = positive.join(
            channels.rename({"id": "payer_id", "channel": "payer_channel"}), on="payer_id", how="left"
        )
    else:
        ordered = channels.sort("id")
        positive = payments.select(
            ordered["id"].gather(payments["payee_id"]).alias("payee_id"),
            "currency",
            ordered["channel"].gather(payments["payer_id"]).alias("payer_channel"),
            "net_minor",
        )
    totals = recipients.select(pl.col("recipient_id").alias("payee_id"), "currency", "total_in_minor")
    paid = (
        positive.with_columns(pl.col("payer_channel").fill_null(UNCLASSIFIED))
        .group_by("payee_id", "currency", "payer_channel")
        .agg(pl.col("net_minor").cast(pl.Int128).sum().alias("amount"))
        .join(totals, on=["payee_id", "currency"], how="inner")
        .with_columns((pl.col("amount") / pl.col("total_in_minor")).alias("share"))
    )
    material = at_least_share(pl.col("amount"), pl.col("total_in_minor"), min_share)
    return paid.group_by(pl.col("payee_id").alias("recipient_id"), "currency").agg(
        pl.col("payer_channel")
        .sort_by(pl.col("amount"), pl.col("payer_channel"), descending=[True, False])
        .str.join(";")
        .alias("payer_channels"),
        (material & pl.col("payer_channel").is_in(sorted(COUNTED_CHANNELS)))
        .sum()
        .cast(pl.Int64)
        .alias("payer_channel_count"),
        pl.col("amount").filter(~material).sum().cast(pl.Int64).alias("payer_channel_below"),
        (1 / (pl.col("share") ** 2).sum()).alias("effective_payer_channels"),
    )


def funding_mix(result: Attribution, recipient_id: str) -> pl.DataFrame:
    """One recipient's income by stovepipe, largest first, with names and the stovepipes' channels.

    >>> funding_mix(result, "inclusion-healthcare")   # doctest: +SKIP

    Node ids are text, so a networkx graph's node ``2`` is ``"2"``; either may be given. An id that is no
    node of the graph is refused (a node that received nothing has an empty mix).
    """
    recipient_id = expect_attribution(result, "funding_mix", recipient_id)
    names = result.graph.nodes.select(
        pl.col("id").alias("stovepipe_id"), pl.col("name").alias("stovepipe_name")
    ).join(node_channels(result.graph).rename({"id": "stovepipe_id"}), on="stovepipe_id", how="left")
    return (
        result.rows.filter(pl.col("recipient_id") == recipient_id)
        .join(names, on="stovepipe_id", how="left")
        .sort(["currency", "amount_minor", "stovepipe_id"], descending=[False, True, False])
        .select("stovepipe_id", "stovepipe_name", "channel", "currency", "amount_minor", "share")
    )
