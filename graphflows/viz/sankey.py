"""The flow diagram (Sankey): stovepipes -> commissioners and pools -> providers, one offline HTML file.

Links are coloured by the origin channel of the money: each payer's payments are split over the channels
of government its own income came from (its channel mix), in whole pence that add up exactly; nodes beyond
the top N by money are gathered into one "Other ..." node per kind, so every penny in scope still shows,
except money going back round a loop (drawn by plotly as empty loops), which a note lists instead.

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

from graphflows.analysis.convergence import DEFAULT_MIN_SHARE
from graphflows.graph import FlowGraph
from graphflows.model import Kind
from graphflows.viz.colours import channel_colour, channel_label, faded
from graphflows.viz.money_text import money_text
from graphflows.viz.network import KIND_STYLE, write_text_atomic
from graphflows.viz.page import page, static_text
from graphflows.viz.prepare import (
    MIN_COUNT,
    channel_amounts,
    choose_currency,
    declared_links,
    focus_set,
    money_pairs,
    node_totals,
    of_all_flows,
    only_currency,
)

if TYPE_CHECKING:
    from graphflows.analysis import Attribution
    from graphflows.analysis.convergence import CountBy

#: Nodes kept in a Sankey unless told otherwise (a Sankey with more is a wall of colour).
SANKEY_TOP_N = 40
#: Nodes in dark neutral tones (one per kind) so that colour on the page always means "which channel".
NODE_COLOURS = {
    Kind.STREAM.value: "#3E4C59",
    Kind.COMMISSIONER.value: "#52606D",
    Kind.PROVIDER.value: "#7B8794",
}
OTHER_PREFIX = "other:"
#: Singular and plural of each kind, for notes and "Other ..." nodes.
KIND_NOUNS = {
    Kind.STREAM.value: ("funding stream or pooled budget", "funding streams or pooled budgets"),
    Kind.COMMISSIONER.value: ("commissioner", "commissioners"),
    Kind.PROVIDER.value: ("provider", "providers"),
}

BODY = """<header><h1 id="gf-title">Flow of funds</h1><p id="gf-subtitle"></p>
<div id="gf-key"></div><div id="gf-notes"></div></header>
<div id="gf-sankey"></div>"""


@dataclass
class SankeyData:
    """Nodes (id, name, kind, in/out text) and links (source, target, amount_minor, channel) to draw.

    ``channels``: (channel, label, colour) of the links, most money first. ``by_origin``: link colours are
    the channels the payers' money came from (``False``: the payers' own channels, without attribution).
    """

    currency: str
    nodes: list[dict[str, Any]]
    links: list[dict[str, Any]]
    channels: list[tuple[str, str, str]]
    title: str
    notes: list[str] = field(default_factory=list)
    total_minor: int = 0
    by_origin: bool = True


def prepare_sankey(
    graph: FlowGraph,
    *,
    attribution: Attribution | Literal[False] | None = None,
    focus: str | None = None,
    top_n: int | None = SANKEY_TOP_N,
    currency: str | None = None,
    count_by: CountBy = "channel",
    min_share: float = DEFAULT_MIN_SHARE,
    min_count: int = MIN_COUNT,
) -> SankeyData:
    """Choose what the Sankey draws (see the module docstring).

    ``attribution`` gives the origin channels of the links and marks convergence points (``count_by``,
    ``min_share``) in hover text (computed when ``None``; ``False``: links take the payer's own channel).
    """
    if attribution is None:
        from graphflows.analysis import attribute

        attribution = attribute(graph)
    currency, notes = choose_currency(graph.flows, currency)
    flows = graph.flows.filter(pl.col("currency") == currency)
    pairs, pair_notes = money_pairs(flows)
    totals = node_totals(graph.nodes, pairs)
    title = "Flow of funds"
    if focus is not None:
        shown, how = focus_set(totals, pairs, declared_links(flows, pairs), flows, focus)
        totals = totals.filter(pl.col("id").is_in(sorted(shown)))
        title = f"Flow of funds {how} {totals.filter(pl.col('id') == focus)['name'][0]}"
    ids = totals["id"].implode()
    pairs = pairs.filter(pl.col("from").is_in(ids) & pl.col("to").is_in(ids)).select(
        pl.col("from").alias("payer_id"), pl.col("to").alias("payee_id"), "amount_minor"
    )
    notes += of_all_flows(pair_notes, focus)
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
    # group the payees first (fewer rows to split), then split each payer's money by its origin channels
    by_payer = (
        pairs.join(group.rename({"id": "payee_id", "group": "target"}), on="payee_id")
        .group_by("payer_id", "target")
        .agg(pl.col("amount_minor").sum())
    )
    weights = payer_channels(graph, attribution, currency, totals, by_payer["payer_id"].unique())
    links = (
        split_by_channel(by_payer, weights)
        .join(group.rename({"id": "payer_id", "group": "source"}), on="payer_id")
        .group_by("source", "target", "channel")
        .agg(pl.col("amount_minor").sum())
    )
    inside = links.filter(pl.col("source") == pl.col("target"))
    links = links.filter(pl.col("source") != pl.col("target")).sort(
        ["amount_minor", "source", "target", "channel"], descending=[True, False, False, False]
    )
    links, returned = without_loops(links)
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
    if returned.height:
        notes.append(loop_note(returned, names, currency))
    used = sorted(set(links["source"].to_list()) | set(links["target"].to_list()))
    order = {node: i for i, node in enumerate(used)}
    money_in = dict(links.group_by("target").agg(pl.col("amount_minor").sum()).iter_rows())
    money_out = dict(links.group_by("source").agg(pl.col("amount_minor").sum()).iter_rows())
    meeting = convergence_text(attribution, currency, used, count_by, min_share, min_count)
    node_rows = [
        {
            "id": n,
            "name": names[n],
            "kind": kinds[n],
            "in_text": money_text(int(money_in.get(n, 0)), currency),
            "out_text": money_text(int(money_out.get(n, 0)), currency),
            "convergence": meeting.get(n, ""),
        }
        for n in used
    ]
    channel_money = links.group_by("channel").agg(pl.col("amount_minor").sum())
    channels = [
        (c, channel_label(c), channel_colour(c))
        for c in channel_money.sort(["amount_minor", "channel"], descending=[True, False])[
            "channel"
        ].to_list()
    ]
    link_rows = [
        {"source": order[s], "target": order[t], "amount_minor": int(a), "channel": ch,
         "from_name": names[s], "to_name": names[t], "amount_text": money_text(int(a), currency)}
        for s, t, ch, a in links.select("source", "target", "channel", "amount_minor").iter_rows()
    ]  # fmt: skip
    return SankeyData(
        currency, node_rows, link_rows, channels, title, notes, int(links["amount_minor"].sum()),
        by_origin=attribution is not False,
    )  # fmt: skip


def without_loops(links: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(links drawn, links left out) so that the drawn links have no loop: money that goes back round a
    loop (TfL paying the GLA that funds it, a trust paying back its CCG) would be drawn by plotly as an
    empty loop over the nodes. Payer-payee pairs are taken largest first; a pair that would close a loop
    is left out (and listed in a note), so the smaller payments going back are the ones left out.

    >>> links = pl.DataFrame({"source": ["gla", "tfl", "gla"], "target": ["tfl", "gla", "bus"],
    ...                       "channel": ["lg"] * 3, "amount_minor": [900, 40, 500]})
    >>> [frame.select("source", "target").rows() for frame in without_loops(links)]
    [[('gla', 'tfl'), ('gla', 'bus')], [('tfl', 'gla')]]
    """
    import networkx as nx

    pairs = (
        links.group_by("source", "target")
        .agg(pl.col("amount_minor").sum())
        .sort(["amount_minor", "source", "target"], descending=[True, False, False])
    )
    drawn = nx.DiGraph()
    closing = []
    for source, target in pairs.select("source", "target").iter_rows():
        if drawn.has_node(target) and drawn.has_node(source) and nx.has_path(drawn, target, source):
            closing.append((source, target))
        else:
            drawn.add_edge(source, target)
    if not closing:
        return links, links.clear()
    left_out = pl.DataFrame(closing, schema={"source": pl.String, "target": pl.String}, orient="row")
    return (
        links.join(left_out, on=["source", "target"], how="anti", maintain_order="left"),
        links.join(left_out, on=["source", "target"], how="semi", maintain_order="left"),
    )


def loop_note(returned: pl.DataFrame, names: dict[str, str], currency: str) -> str:
    """The note listing the payments left out of the drawing because they go back round a loop."""
    pairs = (
        returned.group_by("source", "target")
        .agg(pl.col("amount_minor").sum())
        .sort(["amount_minor", "source", "target"], descending=[True, False, False])
    )
    shown = [
        f"{names[s]} → {names[t]} {money_text(int(a), currency)}"
        for s, t, a in pairs.head(LOOPS_LISTED).iter_rows()
    ]
    more = f" and {pairs.height - LOOPS_LISTED:,} more" if pairs.height > LOOPS_LISTED else ""
    return (
        f"Money going back round a loop is not drawn (a Sankey draws it as an empty loop): "
        f"{'; '.join(shown)}{more}; {money_text(int(pairs['amount_minor'].sum()), currency)} in all. "
        "The network view and the analysis count it."
    )


#: Payments going back round a loop named in the Sankey's note (the rest are counted).
LOOPS_LISTED = 5


def payer_channels(
    graph: FlowGraph,
    attribution: Attribution | Literal[False] | None,
    currency: str,
    totals: pl.DataFrame,
    payers: pl.Series,
) -> pl.DataFrame:
    """``payer_id, channel, weight``: where each payer's money came from, by channel of government.

    A payer's income by origin channel (as :func:`~graphflows.analysis.channel_mix`), plus its own channel
    for what it pays beyond its income (it is an origin of that); without an attribution, its own channel.
    """
    beyond_income = pl.col("total_out_minor") - pl.col("total_in_minor")
    own = totals.filter(pl.col("id").is_in(payers.implode())).select(
        pl.col("id").alias("payer_id"),
        "channel",
        (pl.col("total_out_minor") if attribution is False else beyond_income.clip(lower_bound=0)).alias(
            "weight"
        ),
    )
    if attribution is not False:
        from graphflows.analysis import attribute

        result = attribution if attribution is not None else attribute(graph)
        received = channel_amounts(only_currency(result, currency, payers.implode())).select(
            pl.col("recipient_id").alias("payer_id"), "channel", pl.col("amount_minor").alias("weight")
        )
        own = pl.concat([received, own]).group_by("payer_id", "channel").agg(pl.col("weight").sum())
    own = own.filter(pl.col("weight") > 0)
    # a payer with nothing to weigh by (it paid nothing net) still has its own channel
    missing = totals.filter(
        pl.col("id").is_in(payers.implode()) & ~pl.col("id").is_in(own["payer_id"].implode())
    )
    return pl.concat(
        [own, missing.select(pl.col("id").alias("payer_id"), "channel", pl.lit(1, pl.Int64).alias("weight"))]
    )


def split_by_channel(amounts: pl.DataFrame, weights: pl.DataFrame) -> pl.DataFrame:
    """Each row's ``amount_minor`` split over its payer's channels in proportion to their weights, in whole
    pence that add up exactly (rounded down; the pennies left go to the payer's largest channel).

    >>> amounts = pl.DataFrame({"payer_id": ["a"], "target": ["t"], "amount_minor": [101]})
    >>> weights = pl.DataFrame({"payer_id": ["a", "a", "a"], "channel": ["nhs", "education", "private"],
    ...                         "weight": [2, 1, 1]})
    >>> split_by_channel(amounts, weights).sort("channel").rows()
    [('a', 't', 'education', 25), ('a', 't', 'nhs', 51), ('a', 't', 'private', 25)]
    """
    ranked = weights.with_columns(
        (pl.col("weight") / pl.col("weight").sum().over("payer_id")).alias("_share"),
        (pl.col("weight").rank("ordinal", descending=True).over("payer_id", order_by="channel") == 1).alias(
            "_largest"
        ),
    )
    parts = amounts.join(ranked, on="payer_id", how="left").with_columns(
        pl.col("channel").fill_null("unclassified"),
        pl.col("_share").fill_null(1.0),
        pl.col("_largest").fill_null(True),
    )
    parts = parts.with_columns(
        (pl.col("amount_minor") * pl.col("_share")).floor().cast(pl.Int64).alias("_part")
    )
    left = pl.col("amount_minor") - pl.col("_part").sum().over("payer_id", "target")
    return (
        parts.with_columns(
            (pl.col("_part") + pl.when(pl.col("_largest")).then(left).otherwise(0)).alias("amount_minor")
        )
        .filter(pl.col("amount_minor") != 0)
        .select("payer_id", "target", "channel", "amount_minor")
    )


def convergence_text(
    attribution: Attribution | Literal[False] | None,
    currency: str,
    ids: list[str],
    count_by: CountBy,
    min_share: float,
    min_count: int,
) -> dict[str, str]:
    """Hover text for the convergence points among ``ids``: how many channels (or stovepipes) meet there."""
    if not attribution:
        return {}
    from graphflows.analysis import convergence

    table = convergence(
        only_currency(attribution, currency, pl.Series(ids, dtype=pl.String).implode()),
        count_by=count_by,
        min_share=min_share,
        min_count=min_count,
    )
    points = table.filter(pl.col("is_convergence_point"))
    text = {}
    for rid, channels, count in points.select("recipient_id", "channels", f"{count_by}_count").iter_rows():
        listed = ", ".join(channel_label(c) for c in (channels or "").split(";") if c)
        text[rid] = f"Convergence point: money from {count} {count_by}s ({listed})"
    return text


def plotly_text(text: str) -> str:
    """Text for plotly's pseudo-HTML labels: ``<``, ``>`` and ``&`` shown as themselves, never as tags.

    >>> plotly_text("<b>A & B</b>")
    '&lt;b&gt;A &amp; B&lt;/b&gt;'
    """
    return html.escape(text, quote=False)


def sankey_figure(data: SankeyData) -> dict[str, Any]:
    """The plotly figure (plain JSON: data and layout) for the prepared Sankey."""
    colour = {c: hex_colour for c, _, hex_colour in data.channels}
    label = {c: text for c, text, _ in data.channels}
    trace = {
        "type": "sankey",
        "arrangement": "snap",
        "valueformat": ",.2f",
        # a white halo round every name, so the links passing behind a label never strike through it
        "textfont": {"color": "#1f2933", "shadow": LABEL_HALO},
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
            "color": [faded(colour[link["channel"]], 0.7) for link in data.links],
            "customdata": [
                [
                    plotly_text(link["from_name"]),
                    plotly_text(link["to_name"]),
                    link["amount_text"],
                    plotly_text(label[link["channel"]]),
                ]
                for link in data.links
            ],
            "hovertemplate": "%{customdata[0]} → %{customdata[1]}<br>%{customdata[2]}"
            f"<br>{'Origin channel' if data.by_origin else 'Channel of the payer'}: %{{customdata[3]}}"
            "<extra></extra>",
        },
    }
    layout = {
        "font": {"size": 12, "family": "system-ui, Arial, sans-serif"},
        # room above the nodes for plotly's toolbar (shown on hover), so it never covers the top names
        "margin": {"l": 10, "r": 10, "t": MODEBAR_ROOM, "b": 10},
        "paper_bgcolor": "#ffffff",
    }
    return {"data": [trace], "layout": layout}


#: Pixels above the Sankey's nodes kept for plotly's toolbar (its buttons are about 28 pixels high).
MODEBAR_ROOM = 36

#: CSS text-shadow drawn behind the Sankey's names (plotly ``textfont.shadow``).
LABEL_HALO = "0 0 3px #fff, 0 0 3px #fff, 0 0 3px #fff, 0 0 2px #fff"


@cache
def plotly_js() -> str:
    """plotly.js as shipped inside the plotly Python package (no CDN)."""
    from plotly.offline import get_plotlyjs

    return get_plotlyjs()


def render_sankey(data: SankeyData) -> str:
    """HTML for a prepared Sankey."""
    subtitle = (
        f"{len(data.nodes):,} nodes, {len(data.links):,} links; {data.currency}; "
        f"{money_text(data.total_minor, data.currency)} drawn. Link colour: "
        + ("the channel of government the money came from." if data.by_origin else "the payer's channel.")
    )
    payload = {
        "title": data.title,
        "subtitle": subtitle,
        "notes": data.notes,
        "figure": json.loads(json.dumps(sankey_figure(data))),
        "key": [[name, colour] for _, name, colour in data.channels],
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
    count_by: CountBy = "channel",
    min_share: float = DEFAULT_MIN_SHARE,
    min_count: int = MIN_COUNT,
) -> str:
    """The Sankey page as a string (see :func:`write_sankey`)."""
    data = prepare_sankey(
        graph, attribution=attribution, focus=focus, top_n=top_n, currency=currency, count_by=count_by,
        min_share=min_share, min_count=min_count,
    )  # fmt: skip
    return render_sankey(data)


def write_sankey(
    graph: FlowGraph,
    path: str | os.PathLike[str],
    *,
    attribution: Attribution | Literal[False] | None = None,
    focus: str | None = None,
    top_n: int | None = SANKEY_TOP_N,
    currency: str | None = None,
    count_by: CountBy = "channel",
    min_share: float = DEFAULT_MIN_SHARE,
    min_count: int = MIN_COUNT,
) -> Path:
    """Write the Sankey of ``graph`` (or a focus) to one self-contained, offline HTML file; returns its path.

    ``focus``: a stream's id shows everything downstream of it, a provider's everything upstream.
    ``top_n``: nodes kept by money; the others are gathered per kind into "Other ..." nodes. Links are
    coloured by the channel of government the money came from (``count_by``, ``min_share`` and
    ``min_count`` as for :func:`~graphflows.viz.write_view`).
    """
    data = prepare_sankey(
        graph, attribution=attribution, focus=focus, top_n=top_n, currency=currency, count_by=count_by,
        min_share=min_share, min_count=min_count,
    )  # fmt: skip
    write_text_atomic(Path(path), render_sankey(data))
    return Path(path)
