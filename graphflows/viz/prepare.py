"""What a view shows: one currency, money summed per payer and payee, a focus, and for a large graph its
top convergence points with their payers and origins (or, without an attribution, the top N by money).

Everything here is plain data (polars frames and lists); the page modules only turn it into HTML.

>>> import polars as pl
>>> from graphflows.graph import build_graph
>>> from graphflows.ingest.base import conform
>>> flows = conform(pl.DataFrame({
...     "payer_id": ["PH", "CCG", "Council"], "payee_id": ["Council", "Council", "Mutual"],
...     "payer_kind": ["stream", "commissioner", "commissioner"],
...     "payee_kind": ["commissioner", "commissioner", "provider"],
...     "amount_minor": [10_000, 5_000, 6_000], "currency": ["GBP"] * 3}))
>>> data = prepare_view(build_graph(flows), attribution=False)
>>> data.nodes.select("id", "total_in_minor", "total_out_minor").rows()
[('CCG', 0, 5000), ('Council', 15000, 6000), ('Mutual', 6000, 0), ('PH', 0, 10000)]
>>> data.edges.select("from", "to", "amount_minor").sort("from").rows()
[('CCG', 'Council', 5000), ('Council', 'Mutual', 6000), ('PH', 'Council', 10000)]
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from functools import cached_property
from typing import TYPE_CHECKING, Literal

import numpy as np
import polars as pl
import scipy.sparse as sp
from scipy.sparse.csgraph import breadth_first_order

from graphflows.analysis.channels import UNCLASSIFIED
from graphflows.analysis.convergence import DEFAULT_MIN_SHARE, as_ranked
from graphflows.analysis.netting import net_pairs
from graphflows.graph import FlowGraph
from graphflows.model import DEFAULT_CURRENCY, GraphflowsError, Kind
from graphflows.model.schema import SELF_PAYMENT
from graphflows.model.words import plural
from graphflows.viz.money_text import money_text

if TYPE_CHECKING:
    from graphflows.analysis import Attribution
    from graphflows.analysis.convergence import CountBy

#: Nodes kept in an interactive network view unless told otherwise.
DEFAULT_TOP_N = 250
#: Channels or stovepipes a recipient needs to be a convergence point (``convergence``'s default).
MIN_COUNT = 2
#: Most nodes one page will draw: past this a network is unreadable and slow to lay out (use ``top_n``).
MAX_NODES = 3_000
#: Stovepipes listed in a tooltip's funding mix before "and k more".
MIX_ROWS = 5
#: Kinds in order of precedence: a node that is both a commissioner and a provider is drawn as a commissioner.
KIND_ORDER = (Kind.STREAM.value, Kind.COMMISSIONER.value, Kind.PROVIDER.value)


@dataclass
class ViewData:
    """The part of a graph one view draws, and what was left out of it.

    ``nodes``: id, name, kinds, kind (the one that sets the shape), channel (sets the colour), form,
    total_in_minor, total_out_minor, money_minor (larger of in and out), self_paid_minor (paid to itself,
    left out of in and out; null if nothing) and self_paid_lines (in how many lines), is_convergence_point,
    count (the number counted: channels or stovepipes, as ``count_by``), channel_count, stovepipe_count,
    channels (counted, largest first), effective_channels, effective_stovepipes, hhi, mix and channel_mix
    (lists of ``[stovepipe name or channel, amount text, share]``). ``edges``: from, to, amount_minor,
    flow_count, declared (a stream named on the payer's flows rather than a payment by the stream itself).
    ``selection``: how the nodes were chosen (``all``, ``convergence`` or ``money``).
    """

    currency: str
    nodes: pl.DataFrame
    edges: pl.DataFrame
    title: str
    notes: list[str] = field(default_factory=list)
    focus: str | None = None
    focus_name: str | None = None
    total_nodes: int = 0
    total_edges: int = 0
    total_money_minor: int = 0
    has_analysis: bool = False
    count_by: str = "channel"
    min_share: float = DEFAULT_MIN_SHARE
    min_count: int = MIN_COUNT
    selection: str = "all"
    #: Convergence points among every node in scope (the whole graph, or the focus), drawn or not.
    total_points: int = 0


def choose_currency(flows: pl.DataFrame, currency: str | None) -> tuple[str, list[str]]:
    """The currency to draw (the one with most flows unless given) and a note about the others."""
    counts = flows.group_by("currency").len().sort(["len", "currency"], descending=[True, False])
    if counts.height == 0:
        raise GraphflowsError("nothing to draw: the graph has no flows")
    available = [str(c) for c in counts["currency"].to_list()]
    if currency is None:
        currency = available[0]
    elif currency.upper() not in available:
        raise GraphflowsError(f"no flows in {currency}; the graph has {', '.join(available)}")
    currency = currency.upper()
    others = counts.filter(pl.col("currency") != currency)
    notes = []
    if others.height:
        left = ", ".join(f"{n:,} in {c}" for c, n in others.iter_rows())
        notes.append(
            f"Only {currency} flows are drawn (currencies are never added together); not drawn: {left} flows."
        )
    return currency, notes


def money_pairs(flows: pl.DataFrame) -> tuple[pl.DataFrame, list[str]]:
    """Flows of one currency (the callers keep one: :func:`choose_currency`) netted as the analysis nets
    them (:func:`~graphflows.analysis.netting.net_pairs`: per payer, payee and stream), the positive nets
    summed per payer and payee; and notes on what is not drawn: nets below zero (credits), lines cancelling
    out to zero and self-payments (an organisation paying itself: left out of money in and out, as the
    analysis leaves them out of income). So a node's money in is its income in the attribution.

    >>> f = pl.DataFrame({"payer_id": ["A", "A"], "payee_id": ["B", "B"], "stream_id": ["s", "t"],
    ...     "currency": ["GBP"] * 2, "amount_minor": [500, -200]})
    >>> pairs, notes = money_pairs(f)
    >>> pairs.select("from", "to", "amount_minor").rows()
    [('A', 'B', 500)]
    >>> notes[0][:65]
    '1 payer-payee pair netting below zero on a stream (credits: £2.00'
    """
    currency = str(flows["currency"][0]) if flows.height else DEFAULT_CURRENCY
    own = self_paid(flows)
    columns = ("payer_id", "payee_id", "stream_id", "currency", "amount_minor")
    positive, negative = net_pairs(flows.select(*columns))
    pairs = positive.group_by(pl.col("payer_id").alias("from"), pl.col("payee_id").alias("to")).agg(
        pl.col("net_minor").sum().alias("amount_minor"), pl.col("lines").sum().alias("flow_count")
    )  # in no particular order (sorting 1M flows' pairs by name took 0.4 s; the views order what they draw)
    notes = []
    if negative.height:
        money = money_text(-int(negative["net_minor"].sum()), currency)
        notes.append(
            f"{plural(negative.height, 'payer-payee pair')} netting below zero on a stream (credits: "
            f"{money}): not drawn, and left out of money in and out, as the analysis leaves "
            f"{'it' if negative.height == 1 else 'them'} out of income."
        )
    cancelled = flows.height - int(own["self_paid_lines"].sum()) - int(positive["lines"].sum())
    cancelled -= int(negative["lines"].sum())
    if cancelled:
        notes.append(
            f"{plural(cancelled, 'line')} cancelling out to zero between the same payer and payee: not drawn."
        )
    if own.height:
        lines = int(own["self_paid_lines"].sum())
        money = money_text(int(own["self_paid_minor"].sum()), currency)
        notes.append(
            f"{plural(lines, 'self-payment')} ({plural(own.height, 'organisation')} paying "
            f"{'itself' if own.height == 1 else 'themselves'}: {money}):"
            " not drawn and not counted as money in or out, as the analysis leaves them out of income."
        )
    return pairs, notes


def of_all_flows(notes: list[str], focus: str | None) -> list[str]:
    """:func:`money_pairs`' notes, saying in a focused view that they count every flow read, not only the
    focus's.

    >>> of_all_flows(["2 lines cancelling out to zero ..."], "camden")
    ['Of all the flows read (not only those drawn): 2 lines cancelling out to zero ...']
    """
    if focus is None:
        return notes
    return [f"Of all the flows read (not only those drawn): {note}" for note in notes]


def self_paid(flows: pl.DataFrame) -> pl.DataFrame:
    """``id, self_paid_minor, self_paid_lines``: what each organisation paid itself (left out of its money in
    and out), in how many lines."""
    return (
        flows.filter(SELF_PAYMENT)
        .group_by(pl.col("payer_id").alias("id"))
        .agg(pl.col("amount_minor").sum().alias("self_paid_minor"), pl.len().alias("self_paid_lines"))
    )


def declared_links(flows: pl.DataFrame, pairs: pl.DataFrame) -> pl.DataFrame:
    """Stream -> payer links for flows naming a stream the payer spends, where the stream pays nothing itself.

    They connect streams known only from a ``stream_id`` column to the organisations spending them.
    """
    declared = (
        flows.filter(pl.col("stream_id").is_not_null() & (pl.col("stream_id") != pl.col("payer_id")))
        .group_by("stream_id", "payer_id")
        .agg(pl.col("amount_minor").sum().alias("amount_minor"), pl.len().alias("flow_count"))
        .filter(pl.col("amount_minor") > 0)
        .rename({"stream_id": "from", "payer_id": "to"})
    )
    return declared.join(pairs.select("from", "to"), on=["from", "to"], how="anti")


def node_totals(nodes: pl.DataFrame, pairs: pl.DataFrame) -> pl.DataFrame:
    """Every node with its channel and form, money in, money out and the larger of the two (its size)."""
    out = pairs.group_by("from").agg(pl.col("amount_minor").sum().alias("total_out_minor"))
    into = pairs.group_by("to").agg(pl.col("amount_minor").sum().alias("total_in_minor"))
    kind = pl.lit(None, pl.String)
    for value in reversed(KIND_ORDER):
        kind = pl.when(pl.col("kinds").list.contains(value)).then(pl.lit(value)).otherwise(kind)
    channel = (
        pl.col("channel").fill_null(UNCLASSIFIED) if "channel" in nodes.columns else pl.lit(UNCLASSIFIED)
    )
    form = pl.col("form").fill_null("unknown") if "form" in nodes.columns else pl.lit("unknown")
    return (
        nodes.select("id", "name", "kinds", channel.alias("channel"), form.alias("form"))
        .join(into.rename({"to": "id"}), on="id", how="left")
        .join(out.rename({"from": "id"}), on="id", how="left")
        .with_columns(
            pl.col("total_in_minor").fill_null(0),
            pl.col("total_out_minor").fill_null(0),
            kind.fill_null(Kind.PROVIDER.value).alias("kind"),
        )
        .with_columns(pl.max_horizontal("total_in_minor", "total_out_minor").alias("money_minor"))
    )


def reachable(ids: pl.Series, links: pl.DataFrame, start: list[str], *, upstream: bool) -> set[str]:
    """Ids reachable from ``start`` along ``links`` (from -> to), or against them when ``upstream``."""
    index = {v: i for i, v in enumerate(ids.to_list())}
    src = links["from"].replace_strict(index, return_dtype=pl.Int64).to_numpy()
    dst = links["to"].replace_strict(index, return_dtype=pl.Int64).to_numpy()
    if upstream:
        src, dst = dst, src
    n = len(index)
    matrix = sp.csr_matrix((np.ones(len(src), dtype=np.int8), (src, dst)), shape=(n, n))
    names = ids.to_list()
    found: set[str] = set()
    for node in start:
        order = breadth_first_order(matrix, index[node], directed=True, return_predecessors=False)
        found.update(names[i] for i in order)
    return found


def focus_set(
    totals: pl.DataFrame, pairs: pl.DataFrame, declared: pl.DataFrame, flows: pl.DataFrame, focus: str
) -> tuple[set[str], str]:
    """The ids a focus shows, and how to describe it.

    A stream: everything downstream of it (what it pays, what the organisations spending it pay on).
    A provider: everything upstream of it. A commissioner: both.
    """
    row = totals.filter(pl.col("id") == focus)
    if row.height == 0:
        raise GraphflowsError(f"--focus {focus}: no organisation or stream has this id")
    kind = row["kind"][0]
    links = pl.concat([pairs.select("from", "to"), declared.select("from", "to")])
    ids = totals["id"]
    if kind == Kind.STREAM.value:
        spent = flows.filter(pl.col("stream_id") == focus)
        starts = sorted({focus, *spent["payee_id"].to_list()})
        shown = reachable(ids, pairs, starts, upstream=False) | set(spent["payer_id"].to_list())
        return shown, "downstream of"
    if kind == Kind.PROVIDER.value:
        return reachable(ids, links, [focus], upstream=True), "upstream of"
    up = reachable(ids, links, [focus], upstream=True)
    return up | reachable(ids, pairs, [focus], upstream=False), "upstream and downstream of"


def prepare_view(
    graph: FlowGraph,
    *,
    attribution: Attribution | Literal[False] | None = None,
    focus: str | None = None,
    top_n: int | None = DEFAULT_TOP_N,
    currency: str | None = None,
    max_edges: int | None = None,
    count_by: CountBy = "channel",
    min_share: float = DEFAULT_MIN_SHARE,
    min_count: int = MIN_COUNT,
) -> ViewData:
    """Choose what a view draws. ``attribution=None`` computes it; ``False`` leaves the funding mix out.

    When there are more than ``top_n`` nodes (``None``: keep all), the view keeps the top convergence
    points (in the order of :func:`~graphflows.analysis.convergence` with ``count_by`` and ``min_share``),
    each with its largest direct payers and origins, then fills up with the nodes with most money; without
    an attribution, the nodes with most money. ``max_edges`` (default ``6 * top_n``) keeps the largest
    links. Every cut is described in ``notes``.
    """
    if top_n is not None and top_n < 1:
        raise GraphflowsError("--top must be at least 1")
    currency, notes = choose_currency(graph.flows, currency)
    flows = graph.flows.filter(pl.col("currency") == currency)
    pairs, pair_notes = money_pairs(flows)
    notes += of_all_flows(pair_notes, focus)
    declared = declared_links(flows, pairs)
    totals = node_totals(graph.nodes, pairs).join(self_paid(flows), on="id", how="left")
    title, focus_name = "Funding network", None
    if focus is not None:
        shown, how = focus_set(totals, pairs, declared, flows, focus)
        totals = totals.filter(pl.col("id").is_in(sorted(shown)))
        focus_name = totals.filter(pl.col("id") == focus)["name"][0]
        title = f"Funding {how} {focus_name}"
    total_nodes = totals.height
    scope = totals["id"].implode()
    in_scope = pairs.filter(pl.col("from").is_in(scope) & pl.col("to").is_in(scope))
    total_money = int(in_scope["amount_minor"].sum())
    ranked = totals.sort(["money_minor", "id"], descending=[True, False])
    if min(top_n or ranked.height, ranked.height) > MAX_NODES:
        raise GraphflowsError(
            f"{ranked.height:,} organisations and streams are too many to draw in one view: "
            f"keep the largest with --top (at most {MAX_NODES:,}), or --focus on one of them"
        )
    cut = top_n is not None and ranked.height > top_n
    analysis = None
    if attribution is not False:
        if attribution is None:
            from graphflows.analysis import attribute

            attribution = attribute(graph)
        analysis = ViewAnalysis.of(
            attribution, currency, count_by=count_by, min_share=min_share, min_count=min_count
        )
    chosen: Selection | None = None
    if cut and analysis is not None:
        chosen = convergence_selection(analysis, in_scope, ranked, top_n or 0, focus)
    if chosen is not None:
        kept = ranked.filter(pl.col("id").is_in(chosen.ids))
    elif cut:
        kept = ranked.head(top_n)
        if focus is not None and focus not in kept["id"].to_list():
            kept = pl.concat([kept.head((top_n or 1) - 1), ranked.filter(pl.col("id") == focus)])
    else:
        kept = ranked
    keep = kept["id"].implode()
    edges = pl.concat(
        [
            in_scope.filter(pl.col("from").is_in(keep) & pl.col("to").is_in(keep)).with_columns(
                declared=pl.lit(False)
            ),
            declared.filter(pl.col("from").is_in(keep) & pl.col("to").is_in(keep)).with_columns(
                declared=pl.lit(True)
            ),
        ]
    ).sort(["amount_minor", "from", "to"], descending=[True, False, False])
    edge_cap = max_edges if max_edges is not None else (6 * top_n if top_n else None)
    if edge_cap is not None and edges.height > edge_cap:
        notes.append(
            f"{edges.height - edge_cap:,} smaller links between the nodes shown are left out "
            f"(the {edge_cap:,} largest are drawn)."
        )
        edges = edges.head(edge_cap)
    if kept.height < total_nodes:
        drawn = int(edges.filter(~pl.col("declared"))["amount_minor"].sum())
        hidden_flows = int(in_scope["flow_count"].sum()) - int(
            edges.filter(~pl.col("declared"))["flow_count"].sum()
        )
        share = 100 * (total_money - drawn) / total_money if total_money else 0.0
        if chosen is not None:
            what = chosen.describe(kept.height, total_nodes, count_by)
        else:
            what = (
                f"Showing the {kept.height:,} largest of {total_nodes:,} organisations and streams by money."
            )
            if analysis is not None:
                what = f"No convergence points ({count_by}s meeting) among them. " + what
        notes.insert(
            0,
            (
                f"{what} Left out: {plural(total_nodes - kept.height, 'node')} and "
                f"{plural(hidden_flows, 'flow')} carrying {money_text(total_money - drawn, currency)} "
                f"({share:.1f}% of the money); "
                "totals in tooltips still count every flow."
            ),
        )
    nodes = kept.sort("id")
    nodes = analysis.add_to(nodes, graph.nodes) if analysis is not None else without_analysis(nodes)
    return ViewData(
        currency=currency,
        nodes=nodes,
        edges=edges,
        title=title,
        notes=notes,
        focus=focus,
        focus_name=focus_name,
        total_nodes=total_nodes,
        total_edges=in_scope.height,
        total_money_minor=total_money,
        has_analysis=analysis is not None,
        count_by=count_by,
        min_share=min_share,
        min_count=min_count,
        selection="convergence" if chosen is not None else ("money" if cut else "all"),
        total_points=analysis.point_count(totals["id"]) if analysis is not None else 0,
    )


def without_analysis(nodes: pl.DataFrame) -> pl.DataFrame:
    """The analysis columns of :class:`ViewData` nodes, empty (no attribution)."""
    return nodes.with_columns(
        pl.lit(False).alias("is_convergence_point"),
        *(pl.lit(0, pl.Int64).alias(c) for c in ("count", "channel_count", "stovepipe_count")),
        pl.lit([], pl.List(pl.String)).alias("channels"),
        *(pl.lit(None, pl.Float64).alias(c) for c in ("effective_channels", "effective_stovepipes", "hhi")),
        pl.lit([], MIX_TYPE).alias("mix"),
        pl.lit([], MIX_TYPE).alias("channel_mix"),
    )


def only_currency(
    attribution: Attribution, currency: str, recipients: pl.Series | None = None
) -> Attribution:
    """The attribution for one currency (and some recipients), each recipient's rows kept whole."""
    if recipients is None and attribution.recipients["currency"].unique().to_list() == [currency]:
        return attribution  # nothing to drop: no copy of the rows
    keep = pl.col("currency") == currency
    if recipients is not None:
        keep = keep & pl.col("recipient_id").is_in(recipients)
    return replace(
        attribution, rows=attribution.rows.filter(keep), recipients=attribution.recipients.filter(keep)
    )


@dataclass
class ViewAnalysis:
    """The attribution in one currency and what a convergence point counts, for the views."""

    attribution: Attribution
    currency: str
    count_by: CountBy
    min_share: float
    min_count: int = MIN_COUNT

    @classmethod
    def of(
        cls,
        attribution: Attribution,
        currency: str,
        *,
        count_by: CountBy,
        min_share: float,
        min_count: int = MIN_COUNT,
    ) -> ViewAnalysis:
        return cls(only_currency(attribution, currency), currency, count_by, min_share, min_count)

    def table(self, ids: pl.Series) -> pl.DataFrame:
        """:func:`~graphflows.analysis.convergence` of some recipients: the same rows as for the whole
        graph, at a fraction of the cost (their attribution and the flows into them are all it reads)."""
        from graphflows.analysis import convergence

        keep = ids.implode()
        result = self.attribution
        some = replace(
            result,
            rows=result.rows.filter(pl.col("recipient_id").is_in(keep)),
            recipients=result.recipients.filter(pl.col("recipient_id").is_in(keep)),
            graph=FlowGraph(result.graph.nodes, result.graph.flows.filter(pl.col("payee_id").is_in(keep))),
        )
        return convergence(some, count_by=self.count_by, min_share=self.min_share, min_count=self.min_count)

    @cached_property
    def keys(self) -> pl.DataFrame:
        """:func:`convergence_keys` of every convergence point (computed once)."""
        return convergence_keys(self.attribution, self.count_by, self.min_share, self.min_count)

    def point_count(self, ids: pl.Series) -> int:
        """How many of ``ids`` are convergence points."""
        return self.keys.filter(pl.col("recipient_id").is_in(ids.implode())).height

    def top_points(self, kinds: pl.DataFrame, limit: int) -> list[str]:
        """Up to ``limit`` convergence points among ``kinds`` (``id, kind``) in convergence-table order,
        providers first.

        The table of every recipient costs seconds on a large graph, so the candidates are found first
        from the ranking keys alone (counted number, effective number, money), with a margin for rounding,
        and only they go through :func:`~graphflows.analysis.convergence`, whose order is final.
        """
        keys = self.keys.join(kinds.rename({"id": "recipient_id"}), on="recipient_id")
        provider = pl.col("kind") == Kind.PROVIDER.value
        candidates = pl.concat(
            [
                part.sort(
                    ["count", as_ranked(pl.col("effective")), "total_in_minor", "recipient_id"],
                    descending=[True, True, True, False],
                )
                .head(limit + CANDIDATE_MARGIN)
                .select("recipient_id")
                for part in (keys.filter(provider), keys.filter(~provider))
            ]
        )["recipient_id"]
        table = self.table(candidates).filter(pl.col("is_convergence_point")).select("recipient_id")
        ordered = table.join(kinds.rename({"id": "recipient_id"}), on="recipient_id", maintain_order="left")
        return ordered.sort(~provider, maintain_order=True)["recipient_id"].head(limit).to_list()

    def add_to(self, nodes: pl.DataFrame, all_nodes: pl.DataFrame) -> pl.DataFrame:
        """Convergence facts, the channel mix and the top of the stovepipe mix for each node shown."""
        from graphflows.analysis import channel_mix

        keep = nodes["id"].implode()
        shown = only_currency(self.attribution, self.currency, keep)
        table = self.table(nodes["id"]).select(
            pl.col("recipient_id").alias("id"),
            "is_convergence_point",
            pl.col(f"{self.count_by}_count").alias("count"),
            "channel_count",
            "stovepipe_count",
            pl.col("channels").fill_null("").str.split(";").list.filter(pl.element() != "").alias("channels"),
            "effective_channels",
            "effective_stovepipes",
            "hhi",
        )
        names = all_nodes.select(pl.col("id").alias("stovepipe_id"), pl.col("name").alias("stovepipe_name"))
        stovepipes = mix_rows(
            shown.rows.join(names, on="stovepipe_id", how="left").select(
                "recipient_id",
                pl.coalesce("stovepipe_name", "stovepipe_id").alias("part"),
                "amount_minor",
                "share",
            ),
            self.currency,
            "stovepipe",
        )
        channels = mix_rows(
            channel_mix(shown).select(
                "recipient_id", pl.col("channel").alias("part"), "amount_minor", "share"
            ),
            self.currency,
            None,
        )
        ids = sorted(set(stovepipes) | set(channels))
        mixes = pl.DataFrame(
            {
                "id": ids,
                "mix": [stovepipes.get(i, []) for i in ids],
                "channel_mix": [channels.get(i, []) for i in ids],
            },
            schema={"id": pl.String, "mix": MIX_TYPE, "channel_mix": MIX_TYPE},
        )
        return (
            nodes.join(table, on="id", how="left")
            .join(mixes, on="id", how="left")
            .with_columns(
                pl.col("is_convergence_point").fill_null(False),
                pl.col("count", "channel_count", "stovepipe_count").fill_null(0).cast(pl.Int64),
                pl.col("channels").fill_null([]),
                pl.col("mix", "channel_mix").fill_null([]),
            )
        )


MIX_TYPE = pl.List(pl.List(pl.String))
#: Extra candidates ranked by :func:`convergence_keys` beyond those needed (near-ties in floating point).
CANDIDATE_MARGIN = 50


def channel_amounts(attribution: Attribution, value: str = "amount_minor") -> pl.DataFrame:
    """``recipient_id, channel, <value>``: each recipient's income by origin channel, as ``amount_minor``
    or ``share`` (the sums of :func:`~graphflows.analysis.channel_mix`, unsorted).

    One column, small integer channel codes and polars' streaming engine: on 3.9M attribution rows about
    +40 MB and 0.5 s of CPU, where grouping the whole rows eagerly took +300 MB.
    """
    from graphflows.analysis.channels import node_channels

    channels = node_channels(attribution.graph)
    names = sorted(channels["channel"].unique().to_list())
    code = {c: i for i, c in enumerate(names)}
    coded = channels.lazy().select(
        pl.col("id").alias("stovepipe_id"), pl.col("channel").replace_strict(code, return_dtype=pl.UInt16)
    )
    return (
        attribution.rows.lazy()
        .select("recipient_id", "stovepipe_id", value)
        .join(coded, on="stovepipe_id", how="left")
        .group_by("recipient_id", "channel")
        .agg(pl.col(value).sum())
        .with_columns(
            pl.col("channel").replace_strict(
                dict(enumerate(names)), default=UNCLASSIFIED, return_dtype=pl.String
            )
        )
        .collect(engine="streaming")
    )


def convergence_keys(
    attribution: Attribution, count_by: CountBy, min_share: float, min_count: int = MIN_COUNT
) -> pl.DataFrame:
    """``recipient_id, count, effective, total_in_minor`` of the possible convergence points: the keys
    :func:`~graphflows.analysis.convergence` ranks by, computed without the rest of its table."""
    from graphflows.analysis.materiality import at_least_share
    from graphflows.classify.channels import COUNTED_CHANNELS

    if count_by == "payer_channel":  # from the direct payments: the table itself is as cheap
        from graphflows.analysis import convergence

        table = convergence(attribution, count_by=count_by, min_share=min_share, min_count=min_count)
        return table.filter(pl.col("is_convergence_point")).select(
            "recipient_id",
            pl.col("payer_channel_count").alias("count"),
            pl.col("effective_payer_channels").alias("effective"),
            "total_in_minor",
        )
    counted = at_least_share(pl.col("amount_minor"), pl.col("total_in_minor"), min_share)
    if count_by == "channel":
        rows = channel_amounts(attribution).select("recipient_id", "amount_minor", "channel")
        counted = counted & pl.col("channel").is_in(sorted(COUNTED_CHANNELS))
    else:
        rows = attribution.rows.select("recipient_id", "amount_minor")
    totals = attribution.recipients.select("recipient_id", "total_in_minor").lazy()
    return (
        rows.lazy()
        .join(totals, on="recipient_id")
        .with_columns((pl.col("amount_minor") / pl.col("total_in_minor")).alias("share"))
        .group_by("recipient_id")
        .agg(
            counted.sum().alias("count"),
            (pl.col("share") ** 2).sum().alias("hhi"),
        )
        .filter(pl.col("count") >= min_count)
        .join(totals, on="recipient_id")
        .select("recipient_id", "count", (1 / pl.col("hhi")).alias("effective"), "total_in_minor")
        .collect(engine="streaming")
    )


def mix_rows(rows: pl.DataFrame, currency: str, rest_noun: str | None) -> dict[str, list[list[str]]]:
    """``[part, amount text, share text]`` per recipient, largest first; past :data:`MIX_ROWS` rows
    (when ``rest_noun`` is given) one ``"k more <noun>s"`` row sums the rest."""
    ranked = rows.sort(
        ["recipient_id", "amount_minor", "part"], descending=[False, True, False]
    ).with_columns(pl.int_range(pl.len()).over("recipient_id").alias("_rank"))
    limit = MIX_ROWS if rest_noun else None
    head = ranked if limit is None else ranked.filter(pl.col("_rank") < limit)
    mixes: dict[str, list[list[str]]] = {}
    for rid, part, amount, share in head.select("recipient_id", "part", "amount_minor", "share").iter_rows():
        mixes.setdefault(rid, []).append(
            [str(part), money_text(int(amount), currency), f"{100 * share:.1f}%"]
        )
    if limit is not None:
        rest = (
            ranked.filter(pl.col("_rank") >= limit)
            .group_by("recipient_id")
            .agg(pl.len().alias("count"), pl.col("amount_minor").sum())
        )
        for rid, count, amount in rest.iter_rows():
            mixes[rid].append([plural(count, f"more {rest_noun}"), money_text(int(amount), currency), ""])
    return mixes


@dataclass
class Selection:
    """The nodes a large view keeps around its top convergence points, and why each is there."""

    ids: list[str]
    points: int
    payers: int
    origins: int
    by_money: int
    #: Convergence points among all the nodes in scope (``points`` of them are shown).
    of_points: int = 0
    #: Convergence points kept as someone's payer or origin, or for their money (shown, but not among
    #: the ``points`` chosen as such).
    also_points: int = 0

    def describe(self, kept: int, total: int, count_by: str) -> str:
        """One sentence for the page: what was chosen."""
        parts = [
            f"{plural(self.points, 'top convergence point')} of {self.of_points:,} (providers first; most "
            f"{count_by}s meeting, then the effective number, then money)",
            f"{plural(self.payers, 'direct payer')} of theirs and {plural(self.origins, 'origin')} of their "
            f"money (the largest first, up to {FEEDERS} of each per point)",
        ]
        if self.by_money:
            parts.append(f"{self.by_money:,} more with the most money")
        shown = f"Showing {kept:,} of {total:,} organisations and streams: {'; '.join(parts)}."
        if self.also_points:
            shown += (
                f" {plural(self.also_points, 'more convergence point')} among the payers, origins and "
                f"others: {self.points + self.also_points:,} of {self.of_points:,} are shown."
            )
        return shown


#: Direct payers and origins kept with each convergence point in a large view.
FEEDERS = 5


def convergence_selection(
    analysis: ViewAnalysis, pairs: pl.DataFrame, ranked: pl.DataFrame, top_n: int, focus: str | None
) -> Selection | None:
    """At most ``top_n`` ids around the top convergence points (see :meth:`ViewAnalysis.top_points`).

    Points come in batches of a quarter of ``top_n``: the batch's points, then round by round each one's
    next largest direct payer and next largest origin (up to :data:`FEEDERS` each), so every point shown
    has its main feeders before any has many. Room left after the points is filled by money. ``None``
    when no convergence point is in scope.
    """
    points = analysis.top_points(ranked.select("id", "kind"), top_n)
    if not points:
        return None
    wanted = pl.Series(points, dtype=pl.String).implode()
    in_scope = ranked["id"].implode()
    payers = (
        pairs.filter(pl.col("to").is_in(wanted))
        .sort(["amount_minor", "from"], descending=[True, False])
        .group_by("to", maintain_order=True)
        .agg(pl.col("from").head(FEEDERS))
    )
    origins = (
        analysis.attribution.rows.filter(
            pl.col("recipient_id").is_in(wanted) & pl.col("stovepipe_id").is_in(in_scope)
        )
        .sort(["amount_minor", "stovepipe_id"], descending=[True, False])
        .group_by("recipient_id", maintain_order=True)
        .agg(pl.col("stovepipe_id").head(FEEDERS))
    )
    payers_of, origins_of = dict(payers.iter_rows()), dict(origins.iter_rows())
    chosen: dict[str, str] = {}

    def add(node: str, role: str) -> None:
        if len(chosen) < top_n:
            chosen.setdefault(node, role)

    batch_size = max(1, top_n // 4)
    for start in range(0, len(points), batch_size):
        batch = points[start : start + batch_size]
        for point in batch:
            if point in chosen:
                chosen[point] = "point"  # a point already chosen as someone's payer counts as a point
            add(point, "point")
        for rank in range(FEEDERS):
            for point in batch:
                feeders = payers_of.get(point, [])
                if rank < len(feeders):
                    add(feeders[rank], "payer")
            for point in batch:
                feeders = origins_of.get(point, [])
                if rank < len(feeders):
                    add(feeders[rank], "origin")
        if len(chosen) >= top_n:
            break
    for node in ranked["id"].head(top_n + len(chosen)).to_list():
        add(node, "money")
    if focus is not None and focus not in chosen:
        if len(chosen) >= top_n:
            chosen.popitem()
        chosen[focus] = "focus"
    roles = list(chosen.values())
    ids = list(chosen)
    return Selection(
        ids,
        roles.count("point"),
        roles.count("payer"),
        roles.count("origin"),
        roles.count("money") + roles.count("focus"),
        analysis.point_count(ranked["id"]),
        analysis.point_count(
            pl.Series([i for i, role in chosen.items() if role != "point"], dtype=pl.String)
        ),
    )
