"""What a view shows: one currency, money summed per payer and payee, a focus, the top N by money.

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
from typing import TYPE_CHECKING, Literal

import numpy as np
import polars as pl
import scipy.sparse as sp
from scipy.sparse.csgraph import breadth_first_order

from graphflows.graph import FlowGraph
from graphflows.model import GraphflowsError, Kind
from graphflows.viz.money_text import money_text

if TYPE_CHECKING:
    from graphflows.analysis import Attribution

#: Nodes kept in an interactive network view unless told otherwise.
DEFAULT_TOP_N = 250
#: Most nodes one page will draw: past this a network is unreadable and slow to lay out (use ``top_n``).
MAX_NODES = 3_000
#: Stovepipes listed in a tooltip's funding mix before "and k more".
MIX_ROWS = 5
#: Kinds in order of precedence: a node that is both a commissioner and a provider is drawn as a commissioner.
KIND_ORDER = (Kind.STREAM.value, Kind.COMMISSIONER.value, Kind.PROVIDER.value)


@dataclass
class ViewData:
    """The part of a graph one view draws, and what was left out of it.

    ``nodes``: id, name, kinds, kind (the one that sets shape and colour), total_in_minor, total_out_minor,
    money_minor (larger of in and out), is_convergence_point, stovepipe_count, hhi, mix (list of
    ``[stovepipe name, amount text, share]``). ``edges``: from, to, amount_minor, flow_count, declared
    (a stream named on the payer's flows rather than a payment by the stream itself).
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


def plural(count: int, noun: str) -> str:
    """``plural(1, "flow")`` -> ``'1 flow'``; ``plural(2_000, "flow")`` -> ``'2,000 flows'``."""
    return f"{count:,} {noun}{'' if count == 1 else 's'}"


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


def money_pairs(flows: pl.DataFrame) -> tuple[pl.DataFrame, int]:
    """Flows summed per payer and payee; pairs netting to zero or less (credits) are dropped and counted."""
    pairs = flows.group_by("payer_id", "payee_id").agg(
        pl.col("amount_minor").sum().alias("amount_minor"), pl.len().alias("flow_count")
    )
    kept = pairs.filter((pl.col("amount_minor") > 0) & (pl.col("payer_id") != pl.col("payee_id")))
    return kept.rename({"payer_id": "from", "payee_id": "to"}), pairs.height - kept.height


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
    """Every node with money in, money out and the larger of the two (which sets its size)."""
    out = pairs.group_by("from").agg(pl.col("amount_minor").sum().alias("total_out_minor"))
    into = pairs.group_by("to").agg(pl.col("amount_minor").sum().alias("total_in_minor"))
    kind = pl.lit(None, pl.String)
    for value in reversed(KIND_ORDER):
        kind = pl.when(pl.col("kinds").list.contains(value)).then(pl.lit(value)).otherwise(kind)
    return (
        nodes.select("id", "name", "kinds")
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
) -> ViewData:
    """Choose what a view draws. ``attribution=None`` computes it; ``False`` leaves the funding mix out.

    ``top_n`` keeps the nodes with most money (``None``: all); ``max_edges`` (default ``6 * top_n``)
    keeps the largest links. Every cut is described in ``notes``.
    """
    if top_n is not None and top_n < 1:
        raise GraphflowsError("--top must be at least 1")
    currency, notes = choose_currency(graph.flows, currency)
    flows = graph.flows.filter(pl.col("currency") == currency)
    pairs, netted = money_pairs(flows)
    if netted:
        notes.append(
            f"{plural(netted, 'payer-payee pair')} netting to zero or less (credits, refunds): not drawn."
        )
    declared = declared_links(flows, pairs)
    totals = node_totals(graph.nodes, pairs)
    title, focus_name = "Funding network", None
    if focus is not None:
        shown, how = focus_set(totals, pairs, declared, flows, focus)
        totals = totals.filter(pl.col("id").is_in(sorted(shown)))
        focus_name = totals.filter(pl.col("id") == focus)["name"][0]
        title = f"Funding {how} {focus_name}"
    total_nodes = totals.height
    in_scope = pairs.filter(
        pl.col("from").is_in(totals["id"].implode()) & pl.col("to").is_in(totals["id"].implode())
    )
    total_money = int(in_scope["amount_minor"].sum())
    ranked = totals.sort(["money_minor", "id"], descending=[True, False])
    if min(top_n or ranked.height, ranked.height) > MAX_NODES:
        raise GraphflowsError(
            f"{ranked.height:,} organisations and streams are too many to draw in one view: "
            f"keep the largest with --top (at most {MAX_NODES:,}), or --focus on one of them"
        )
    if top_n is not None and ranked.height > top_n:
        kept = ranked.head(top_n)
        if focus is not None and focus not in kept["id"].to_list():
            kept = pl.concat([kept.head(top_n - 1), ranked.filter(pl.col("id") == focus)])
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
        notes.insert(
            0,
            (
                f"Showing the {kept.height:,} largest of {total_nodes:,} organisations and streams by money. "
                f"Left out: {total_nodes - kept.height:,} nodes and {hidden_flows:,} flows carrying "
                f"{money_text(total_money - drawn, currency)} ({share:.1f}% of the money); "
                "totals in tooltips still count every flow."
            ),
        )
    nodes = kept.sort("id")
    has_analysis = False
    if attribution is not False:
        if attribution is None:
            from graphflows.analysis import attribute

            attribution = attribute(graph)
        nodes = add_analysis(nodes, attribution, currency, graph.nodes)
        has_analysis = True
    else:
        nodes = nodes.with_columns(
            pl.lit(False).alias("is_convergence_point"),
            pl.lit(0, pl.Int64).alias("stovepipe_count"),
            pl.lit(None, pl.Float64).alias("hhi"),
            pl.lit([], pl.List(pl.List(pl.String))).alias("mix"),
        )
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
        has_analysis=has_analysis,
    )


def only_currency(
    attribution: Attribution, currency: str, recipients: pl.Series | None = None
) -> Attribution:
    """The attribution for one currency (and some recipients), each recipient's rows kept whole."""
    keep = pl.col("currency") == currency
    if recipients is not None:
        keep = keep & pl.col("recipient_id").is_in(recipients)
    return replace(
        attribution, rows=attribution.rows.filter(keep), recipients=attribution.recipients.filter(keep)
    )


def add_analysis(
    nodes: pl.DataFrame, attribution: Attribution, currency: str, all_nodes: pl.DataFrame
) -> pl.DataFrame:
    """Convergence flag, stovepipe count, HHI and the top of the funding mix for each node shown."""
    from graphflows.analysis import convergence

    keep = nodes["id"].implode()
    # convergence() of just the recipients shown: the same rows for them, a fraction of the work
    shown = only_currency(attribution, currency, keep)
    table = convergence(shown).select(
        pl.col("recipient_id").alias("id"), "is_convergence_point", "stovepipe_count", "hhi"
    )
    names = all_nodes.select(pl.col("id").alias("stovepipe_id"), pl.col("name").alias("stovepipe_name"))
    rows = shown.rows.join(names, on="stovepipe_id", how="left").sort(
        ["recipient_id", "amount_minor", "stovepipe_id"], descending=[False, True, False]
    )
    ranked = rows.with_columns(pl.int_range(pl.len()).over("recipient_id").alias("_rank"))
    mixes: dict[str, list[list[str]]] = {}
    for rid, sid, name, amount, share in (
        ranked.filter(pl.col("_rank") < MIX_ROWS)
        .select("recipient_id", "stovepipe_id", "stovepipe_name", "amount_minor", "share")
        .iter_rows()
    ):
        mixes.setdefault(rid, []).append(
            [str(name or sid), money_text(int(amount), currency), f"{100 * share:.1f}%"]
        )
    rest = (
        ranked.filter(pl.col("_rank") >= MIX_ROWS)
        .group_by("recipient_id")
        .agg(pl.len().alias("count"), pl.col("amount_minor").sum())
    )
    for rid, count, amount in rest.iter_rows():
        mixes[rid].append([f"{plural(count, 'more stovepipe')}", money_text(int(amount), currency), ""])
    mix = pl.DataFrame(
        {"id": list(mixes), "mix": list(mixes.values())},
        schema={"id": pl.String, "mix": pl.List(pl.List(pl.String))},
    )
    return (
        nodes.join(table, on="id", how="left")
        .join(mix, on="id", how="left")
        .with_columns(
            pl.col("is_convergence_point").fill_null(False),
            pl.col("stovepipe_count").fill_null(0).cast(pl.Int64),
            pl.col("mix").fill_null([]),
        )
    )
