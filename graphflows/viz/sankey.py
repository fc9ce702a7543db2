"""The flow diagram (Sankey): stovepipes -> commissioners and pools -> providers, one offline HTML file.

Links are coloured by the stream the money came down (the ``stream_id`` named on the flow, or the stream
paying it); nodes beyond the top N by money are gathered into one "Other ..." node per kind, so every
penny in scope still shows.

>>> from graphflows.viz import write_sankey                   # doctest: +SKIP
>>> write_sankey(graph, "flows.html", focus="inclusion-healthcare")   # doctest: +SKIP
"""

from __future__ import annotations

import html
import json
import os
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import polars as pl

from graphflows.graph import FlowGraph
from graphflows.model import Kind
from graphflows.viz.money_text import money_text
from graphflows.viz.network import KIND_STYLE, write_text_atomic
from graphflows.viz.page import page, static_text
from graphflows.viz.prepare import (
    choose_currency,
    declared_links,
    focus_set,
    money_pairs,
    node_totals,
    only_currency,
    plural,
)

if TYPE_CHECKING:
    from graphflows.analysis import Attribution

#: Nodes kept in a Sankey unless told otherwise (a Sankey with more is a wall of colour).
SANKEY_TOP_N = 40
#: Link colours per stream, in order of money (Okabe-Ito, then Tableau); grey for flows naming no stream.
STREAM_COLOURS = ("#E69F00", "#56B4E9", "#009E73", "#CC79A7", "#0072B2", "#D55E00", "#F0E442",
                  "#8C564B", "#9467BD", "#17BECF", "#BCBD22", "#7F7F7F")  # fmt: skip
NO_STREAM = "#B0B7C0"
#: Nodes in dark neutral tones (one per kind) so that colour on the page always means "which stream".
NODE_COLOURS = {
    Kind.STREAM.value: "#3E4C59",
    Kind.COMMISSIONER.value: "#52606D",
    Kind.PROVIDER.value: "#7B8794",
}
OTHER_PREFIX = "other:"
#: Singular and plural of each kind, for notes and "Other ..." nodes.
KIND_NOUNS = {
    Kind.STREAM.value: ("funding stream", "funding streams"),
    Kind.COMMISSIONER.value: ("commissioner or pooled budget", "commissioners or pooled budgets"),
    Kind.PROVIDER.value: ("provider", "providers"),
}

BODY = """<header><h1 id="gf-title">Flow of funds</h1><p id="gf-subtitle"></p>
<div id="gf-key"></div><div id="gf-notes"></div></header>
<div id="gf-sankey"></div>"""


@dataclass
class SankeyData:
    """Nodes (id, name, kind, in/out text) and links (source, target, amount_minor, stream) to draw."""

    currency: str
    nodes: list[dict[str, Any]]
    links: list[dict[str, Any]]
    streams: list[tuple[str, str, str]]  # (stream id, name, colour)
    title: str
    notes: list[str] = field(default_factory=list)
    total_minor: int = 0


def prepare_sankey(
    graph: FlowGraph,
    *,
    attribution: Attribution | Literal[False] | None = None,
    focus: str | None = None,
    top_n: int | None = SANKEY_TOP_N,
    currency: str | None = None,
) -> SankeyData:
    """Choose what the Sankey draws (see the module docstring).

    ``attribution`` marks convergence points in hover text (computed when ``None``; ``False``: left out).
    """
    currency, notes = choose_currency(graph.flows, currency)
    flows = graph.flows.filter(pl.col("currency") == currency)
    pairs, netted = money_pairs(flows)
    totals = node_totals(graph.nodes, pairs)
    title = "Flow of funds"
    if focus is not None:
        shown, how = focus_set(totals, pairs, declared_links(flows, pairs), flows, focus)
        totals = totals.filter(pl.col("id").is_in(sorted(shown)))
        title = f"Flow of funds {how} {totals.filter(pl.col('id') == focus)['name'][0]}"
    ids = totals["id"].implode()
    stream_of = (
        pl.when(pl.col("stream_id").is_not_null())
        .then(pl.col("stream_id"))
        .when(pl.col("payer_kind_") == Kind.STREAM.value)
        .then(pl.col("payer_id"))
    )
    payer_kinds = totals.select(pl.col("id").alias("payer_id"), pl.col("kind").alias("payer_kind_"))
    links = (
        flows.filter(pl.col("payer_id").is_in(ids) & pl.col("payee_id").is_in(ids))
        .filter(pl.col("payer_id") != pl.col("payee_id"))
        .join(payer_kinds, on="payer_id", how="left")
        .with_columns(stream_of.alias("stream"))
        .group_by("payer_id", "payee_id", "stream")
        .agg(pl.col("amount_minor").sum())
        .filter(pl.col("amount_minor") > 0)
    )
    if netted:
        notes.append(
            f"{plural(netted, 'payer-payee pair')} netting to zero or less (credits, refunds): not drawn."
        )
    ranked = totals.sort(["money_minor", "id"], descending=[True, False])
    keep = set(ranked["id"].to_list()) if top_n is None else set(ranked.head(top_n)["id"].to_list())
    if focus is not None:
        keep.add(focus)
    group = totals.select(
        "id",
        pl.when(pl.col("id").is_in(sorted(keep)))
        .then(pl.col("id"))
        .otherwise(pl.lit(OTHER_PREFIX) + pl.col("kind"))
        .alias("group"),
    )
    hidden = dict(
        totals.filter(~pl.col("id").is_in(sorted(keep))).group_by("kind").len().sort("kind").iter_rows()
    )
    links = (
        links.join(group.rename({"id": "payer_id", "group": "source"}), on="payer_id")
        .join(group.rename({"id": "payee_id", "group": "target"}), on="payee_id")
        .group_by("source", "target", "stream")
        .agg(pl.col("amount_minor").sum())
    )
    inside = links.filter(pl.col("source") == pl.col("target"))
    links = links.filter(pl.col("source") != pl.col("target")).sort(
        ["amount_minor", "source", "target", "stream"],
        descending=[True, False, False, False],
        nulls_last=True,
    )
    if hidden:
        parts = ", ".join(f"{n:,} {KIND_NOUNS[k][n != 1]}" for k, n in sorted(hidden.items()))
        notes.insert(
            0, f"Showing the {len(keep):,} largest nodes by money; gathered into 'Other' nodes: {parts}."
        )
    if inside.height:
        notes.append(
            f"{money_text(int(inside['amount_minor'].sum()), currency)} paid between organisations that are "
            "both inside an 'Other' node is not drawn."
        )
    kept = totals.filter(pl.col("id").is_in(sorted(keep)))
    names = dict(kept.select("id", "name").iter_rows())
    kinds = dict(kept.select("id", "kind").iter_rows())
    for kind, count in hidden.items():
        names[OTHER_PREFIX + kind] = f"Other {KIND_NOUNS[kind][1]} ({count:,})"
        kinds[OTHER_PREFIX + kind] = kind
    used = sorted(set(links["source"].to_list()) | set(links["target"].to_list()))
    order = {node: i for i, node in enumerate(used)}
    money_in = dict(links.group_by("target").agg(pl.col("amount_minor").sum()).iter_rows())
    money_out = dict(links.group_by("source").agg(pl.col("amount_minor").sum()).iter_rows())
    meeting = stovepipes_meeting(graph, attribution, currency, used)
    node_rows = [
        {
            "id": n,
            "name": names[n],
            "kind": kinds[n],
            "in_text": money_text(int(money_in.get(n, 0)), currency),
            "out_text": money_text(int(money_out.get(n, 0)), currency),
            "convergence": f"Convergence point: money from {meeting[n]} stovepipes" if n in meeting else "",
        }
        for n in used
    ]
    stream_money = (
        links.filter(pl.col("stream").is_not_null()).group_by("stream").agg(pl.col("amount_minor").sum())
    )
    stream_order = stream_money.sort(["amount_minor", "stream"], descending=[True, False])["stream"].to_list()
    all_names = dict(graph.nodes.filter(pl.col("id").is_in(stream_order)).select("id", "name").iter_rows())
    streams = [
        (s, all_names.get(s, s), STREAM_COLOURS[i % len(STREAM_COLOURS)]) for i, s in enumerate(stream_order)
    ]
    link_rows = [
        {"source": order[s], "target": order[t], "amount_minor": int(a), "stream": st,
         "from_name": names[s], "to_name": names[t], "amount_text": money_text(int(a), currency)}
        for s, t, st, a in links.select("source", "target", "stream", "amount_minor").iter_rows()
    ]  # fmt: skip
    return SankeyData(currency, node_rows, link_rows, streams, title, notes, int(links["amount_minor"].sum()))


def stovepipes_meeting(
    graph: FlowGraph, attribution: Attribution | Literal[False] | None, currency: str, ids: list[str]
) -> dict[str, int]:
    """Which of ``ids`` are convergence points in ``currency``, and how many stovepipes meet at each."""
    if attribution is False:
        return {}
    from graphflows.analysis import attribute, convergence

    result = attribution if attribution is not None else attribute(graph)
    table = convergence(only_currency(result, currency, pl.Series(ids, dtype=pl.String).implode()))
    points = table.filter(pl.col("is_convergence_point"))
    return dict(points.select("recipient_id", "stovepipe_count").iter_rows())


def plotly_text(text: str) -> str:
    """Text for plotly's pseudo-HTML labels: ``<``, ``>`` and ``&`` shown as themselves, never as tags.

    >>> plotly_text("<b>A & B</b>")
    '&lt;b&gt;A &amp; B&lt;/b&gt;'
    """
    return html.escape(text, quote=False)


def sankey_figure(data: SankeyData) -> dict[str, Any]:
    """The plotly figure (plain JSON: data and layout) for the prepared Sankey."""
    colour = {s: c for s, _, c in data.streams}
    stream_name = {s: n for s, n, _ in data.streams}
    trace = {
        "type": "sankey",
        "arrangement": "snap",
        "valueformat": ",.2f",
        "node": {
            "label": [plotly_text(n["name"]) for n in data.nodes],
            "color": [NODE_COLOURS[n["kind"]] for n in data.nodes],
            "line": {"color": "#555", "width": 0.5},
            "pad": 14,
            "thickness": 18,
            "customdata": [
                [
                    plotly_text(n["name"]),
                    plotly_text(KIND_STYLE[n["kind"]]["label"]),
                    n["in_text"],
                    n["out_text"],
                    n["convergence"],
                ]
                for n in data.nodes
            ],
            "hovertemplate": "<b>%{customdata[0]}</b><br>%{customdata[1]}<br>Money in: %{customdata[2]}"
            "<br>Money out: %{customdata[3]}<br>%{customdata[4]}<extra></extra>",
        },
        "link": {
            "source": [link["source"] for link in data.links],
            "target": [link["target"] for link in data.links],
            "value": [link["amount_minor"] / 100 for link in data.links],  # drawing only; text is exact
            "color": [_alpha(colour.get(link["stream"], NO_STREAM)) for link in data.links],
            "customdata": [
                [
                    plotly_text(link["from_name"]),
                    plotly_text(link["to_name"]),
                    link["amount_text"],
                    plotly_text(stream_name.get(link["stream"], "no stream named")),
                ]
                for link in data.links
            ],
            "hovertemplate": "%{customdata[0]} → %{customdata[1]}<br>%{customdata[2]}"
            "<br>Stream: %{customdata[3]}<extra></extra>",
        },
    }
    layout = {
        "font": {"size": 12, "family": "system-ui, Arial, sans-serif"},
        "margin": {"l": 10, "r": 10, "t": 10, "b": 10},
        "paper_bgcolor": "#ffffff",
    }
    return {"data": [trace], "layout": layout}


def _alpha(hex_colour: str, alpha: float = 0.5) -> str:
    r, g, b = (int(hex_colour[i : i + 2], 16) for i in (1, 3, 5))
    return f"rgba({r},{g},{b},{alpha})"


@cache
def plotly_js() -> str:
    """plotly.js as shipped inside the plotly Python package (no CDN)."""
    from plotly.offline import get_plotlyjs

    return get_plotlyjs()


def render_sankey(data: SankeyData) -> str:
    """HTML for a prepared Sankey."""
    subtitle = (
        f"{len(data.nodes):,} nodes, {len(data.links):,} links; {data.currency}; "
        f"{money_text(data.total_minor, data.currency)} drawn. Link colour: the stream the money came down."
    )
    payload = {
        "title": data.title,
        "subtitle": subtitle,
        "notes": data.notes,
        "figure": json.loads(json.dumps(sankey_figure(data))),
        "key": [[name, colour] for _, name, colour in data.streams] + [["No stream named", NO_STREAM]],
        "height": max(560, min(2400, 26 * max(_column_sizes(data)))),
    }
    return page(
        data.title, BODY, styles=[static_text("sankey.css")], scripts=[plotly_js(), static_text("sankey.js")],
        data=payload,
    )  # fmt: skip


def _column_sizes(data: SankeyData) -> list[int]:
    counts: dict[str, int] = {}
    for n in data.nodes:
        counts[n["kind"]] = counts.get(n["kind"], 0) + 1
    return list(counts.values()) or [1]


def sankey_html(
    graph: FlowGraph,
    *,
    attribution: Attribution | Literal[False] | None = None,
    focus: str | None = None,
    top_n: int | None = SANKEY_TOP_N,
    currency: str | None = None,
) -> str:
    """The Sankey page as a string (see :func:`write_sankey`)."""
    data = prepare_sankey(graph, attribution=attribution, focus=focus, top_n=top_n, currency=currency)
    return render_sankey(data)


def write_sankey(
    graph: FlowGraph,
    path: str | os.PathLike[str],
    *,
    attribution: Attribution | Literal[False] | None = None,
    focus: str | None = None,
    top_n: int | None = SANKEY_TOP_N,
    currency: str | None = None,
) -> Path:
    """Write the Sankey of ``graph`` (or a focus) to one self-contained, offline HTML file; returns its path.

    ``focus``: a stream's id shows everything downstream of it, a provider's everything upstream.
    ``top_n``: nodes kept by money; the others are gathered per kind into "Other ..." nodes.
    """
    data = prepare_sankey(graph, attribution=attribution, focus=focus, top_n=top_n, currency=currency)
    write_text_atomic(Path(path), render_sankey(data))
    return Path(path)
