"""The interactive network view: one HTML file with vis-network inline, working offline.

>>> from graphflows.viz import write_view                      # doctest: +SKIP
>>> write_view(graph, "view.html", focus="inclusion-healthcare")  # doctest: +SKIP
"""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import polars as pl

from graphflows.analysis.convergence import DEFAULT_MIN_SHARE
from graphflows.graph import FlowGraph
from graphflows.model import Kind
from graphflows.outputs import write_text
from graphflows.viz.colours import channel_colour, channel_label, channel_order, darker, faded
from graphflows.viz.layout import positions
from graphflows.viz.money_text import money_short, money_text
from graphflows.viz.page import page, static_text, vis_network_js
from graphflows.viz.prepare import DEFAULT_TOP_N, MIN_COUNT, ViewData, prepare_view

if TYPE_CHECKING:
    from graphflows.analysis import Attribution
    from graphflows.analysis.convergence import CountBy

#: Shape and legend text per kind (the legend draws the shapes in neutral grey: colour means channel).
KIND_STYLE: dict[str, dict[str, str]] = {
    Kind.STREAM.value: {
        "shape": "diamond",
        "color": "#9AA5B1",
        "border": "#52606D",
        "label": "Funding stream or pooled budget",
    },
    Kind.COMMISSIONER.value: {
        "shape": "square",
        "color": "#9AA5B1",
        "border": "#52606D",
        "label": "Commissioner",
    },
    Kind.PROVIDER.value: {"shape": "dot", "color": "#9AA5B1", "border": "#52606D", "label": "Provider"},
}
#: How a form of organisation reads in a tooltip.
FORM_LABELS = {
    "public_body": "public body",
    "charity": "charity",
    "cic": "community interest company",
    "mutual_society": "mutual society",
    "company": "company",
    "partnership": "partnership",
    "individual": "individual",
    "unknown": "form unknown",
}
CONVERGENCE_COLOR = "#D62728"
CONVERGENCE_GLOW = "rgba(214,39,40,0.3)"
#: Smallest and largest node half-size in pixels (vis-network ``nodes.scaling``).
SIZE_MIN, SIZE_MAX = 8.0, 46.0
#: Smallest and largest label font in pixels (vis-network ``nodes.scaling.label``).
FONT_MIN, FONT_MAX = 11.0, 20.0
#: The same in a view of at most :data:`HEADLINE_FROM` nodes, which is read whole: every name about 10 to
#: 14 pixels on screen when the whole view is shown (with 11 to 20, most were 6 to 8 pixels, faded).
SMALL_FONT_MIN, SMALL_FONT_MAX = 20.0, 28.0
#: Views with more nodes than this give their largest nodes bigger names, readable in the overview.
HEADLINE_FROM, HEADLINES, HEADLINE_FONT = 60, 12, 44.0
#: Of the headlines, those always given to the nodes with most money (the hubs the eye starts from: a
#: council, a CCG, TfL), whatever the convergence points.
HUB_HEADLINES = 4
#: Largest label on screen, in pixels, however far one zooms in: names grow with the zoom only up to this,
#: so they never swamp the nodes and links. (vis-network 9.1's ``scaling.label.maxVisible`` does not cap
#: the drawn text, so the page sets each label's size as the zoom changes.)
LABEL_MAX_PX, HEADLINE_MAX_PX = 15.0, 17.0
#: A convergence point's red ring, in screen pixels (the page narrows it to a quarter of the node's radius
#: on screen, so that the channel's colour fills even the smallest node); the halo around it grows with the
#: number meeting there.
RING_WIDTH = 2.0
#: The ring of every other node, in screen pixels.
PLAIN_RING_WIDTH = 1.5
#: A convergence point's halo: HALO_STEP pixels, and as many more for each channel or stovepipe meeting
#: there, up to HALO_MAX.
HALO_STEP, HALO_MAX = 2, 16.0
#: Longest name drawn on the canvas; the tooltip always has the full name.
LABEL_CHARS = 32

BODY = """<header><h1 id="gf-title">Funding network</h1><p id="gf-subtitle"></p></header>
<div id="gf-main">
<div id="gf-network" role="img" aria-label="Network of funding flows"></div>
<aside id="gf-panel">
<label for="gf-search">Find an organisation</label>
<input id="gf-search" type="search" list="gf-names" autocomplete="off" placeholder="Name or id, then Enter">
<datalist id="gf-names"></datalist>
<ul id="gf-results"></ul>
<div class="gf-buttons"><button id="gf-fit" type="button">Fit to window</button></div>
<section id="gf-details"></section>
<section id="gf-notes"></section>
<section id="gf-legend"></section>
<section id="gf-convergence"></section>
</aside>
</div>"""


def short_label(name: str, money: str) -> str:
    """Name cut to :data:`LABEL_CHARS` characters, then the amount on a second line.

    >>> short_label("Royal Borough of Windsor and Maidenhead Council", "£1.2m")
    'Royal Borough of Windsor and Ma…\\n£1.2m'
    """
    name = " ".join(name.split())
    if len(name) > LABEL_CHARS:
        name = name[: LABEL_CHARS - 1].rstrip() + "…"
    return f"{name}\n{money}"


def page_data(view: ViewData) -> dict[str, Any]:
    """Everything the page script needs, as plain JSON-ready values (text is escaped later)."""
    node_rows = placed_nodes(view)
    edge_rows = link_rows(view)
    counted = "channels" if view.count_by == "channel" else "stovepipes"
    return {
        "focus": view.focus,
        "title": view.title,
        "subtitle": subtitle(view, len(node_rows), len(edge_rows), sum(1 for r in node_rows if r["conv"])),
        "nodes": node_rows,
        "edges": edge_rows,
        "notes": view.notes,
        "style": KIND_STYLE,
        **legend(view.nodes),
        "has_analysis": view.has_analysis,
        "counted": counted,
        "convergence_rule": (
            f"money from {view.min_count} or more {counted}, each bringing at least "
            f"{100 * view.min_share:g}% of its income"
            if view.has_analysis
            else ""
        ),
        "size_min": SIZE_MIN,
        "size_max": SIZE_MAX,
        "label_max_px": LABEL_MAX_PX,
        "headline_max_px": HEADLINE_MAX_PX,
        "convergence_color": CONVERGENCE_COLOR,
        "convergence_glow": CONVERGENCE_GLOW,
    }


def placed_nodes(view: ViewData) -> list[dict[str, Any]]:
    """One row per node for the page: where it is drawn (the seeded layout, with room for its name), its
    label, size and style, and the text of its card."""
    nodes, edges = view.nodes, view.edges
    labels = {
        i: short_label(name, money_short(int(m), view.currency))
        for i, name, m in nodes.select("id", "name", "money_minor").iter_rows()
    }
    values = {
        i: round(math.sqrt(max(int(m), 0) / 100), 2) for i, m in nodes.select("id", "money_minor").iter_rows()
    }
    points = nodes.filter(pl.col("is_convergence_point")).sort(
        ["count", "money_minor", "id"], descending=[True, True, False]
    )["id"]
    headlines = headline_ids(values, points.to_list())
    fonts = label_fonts(values, headlines)
    radii = drawn_sizes(values)
    pos = positions(nodes["id"].to_list(), edges, drawn_boxes(values, labels, headlines))
    real = edges.filter(~pl.col("declared"))
    payers = dict(real.group_by("to").len().iter_rows())
    payees = dict(real.group_by("from").len().iter_rows())
    rows = []
    for n in nodes.iter_rows(named=True):
        key = n["id"]
        x, y = pos[key]
        rows.append(
            {
                "id": key,
                "name": n["name"],
                "kind": n["kind"],
                "kinds": ", ".join(KIND_STYLE[k]["label"] for k in n["kinds"] if k in KIND_STYLE)
                or n["kind"],
                "label": labels[key],
                "headline": key in headlines,
                "font": round(fonts[key], 2),
                "radius": round(radii[key], 2),
                "font_cap": HEADLINE_MAX_PX if key in headlines else LABEL_MAX_PX,
                "value": values[key],
                "x": x,
                "y": y,
                **node_card(n, view.currency),
                "payers": payers.get(key, 0),
                "payees": payees.get(key, 0),
                **convergence_style(n),
            }
        )
    return rows


def node_card(n: dict[str, Any], cur: str) -> dict[str, Any]:
    """A node's channel, colour, form and money, as its card and fill show them."""
    colour = channel_colour(n["channel"])
    return {
        "channel": n["channel"],
        "channel_label": channel_label(n["channel"]),
        "form": FORM_LABELS.get(n["form"], n["form"].replace("_", " ")),
        "color": colour,
        "border": darker(colour),
        "in_text": money_text(int(n["total_in_minor"]), cur),
        "out_text": money_text(int(n["total_out_minor"]), cur),
        "self_text": money_text(int(n["self_paid_minor"]), cur) if n.get("self_paid_minor") else None,
    }


def convergence_style(n: dict[str, Any]) -> dict[str, Any]:
    """A node's convergence facts and mixes, and the ring and halo that mark a convergence point."""
    conv = bool(n["is_convergence_point"])
    return {
        "conv": conv,
        "ring": RING_WIDTH if conv else PLAIN_RING_WIDTH,
        "halo": min(HALO_MAX, HALO_STEP * (1 + int(n["count"]))) if conv else 0,
        "count": int(n["count"]),
        "channel_count": int(n["channel_count"]),
        "stovepipes": int(n["stovepipe_count"]),
        "channels": [channel_label(c) for c in n["channels"]],
        "effective_channels": _number(n["effective_channels"]),
        "effective_stovepipes": _number(n["effective_stovepipes"]),
        "hhi": _number(n["hhi"]),
        "mix": n["mix"],
        "channel_mix": [
            [channel_label(c), amount, share, channel_colour(c)] for c, amount, share in n["channel_mix"]
        ],
    }


def link_rows(view: ViewData) -> list[dict[str, Any]]:
    """One row per link: its ends, amount, number of flows, width by amount and colour by the payer's
    channel (a dashed grey for a stream named on the payer's flows), and the colour it takes when one of
    its nodes is selected: the same channel's colour at full strength, so a selected node's links (the focus
    of a ``--focus`` view) keep their channel."""
    nodes, edges, cur = view.nodes, view.edges, view.currency
    names = dict(zip(nodes["id"].to_list(), nodes["name"].to_list(), strict=True))
    channel_of = dict(zip(nodes["id"].to_list(), nodes["channel"].to_list(), strict=True))
    max_edge = max(int(edges["amount_minor"].max() or 1), 1) if edges.height else 1
    rows = []
    for e in edges.iter_rows(named=True):
        amount = int(e["amount_minor"])
        strong = darker(channel_colour(channel_of[e["from"]]), 0.85)
        rows.append(
            {
                "from": e["from"],
                "to": e["to"],
                "from_name": names[e["from"]],
                "to_name": names[e["to"]],
                "amount_text": money_text(amount, cur),
                "flows": f"{int(e['flow_count']):,}",
                "declared": bool(e["declared"]),
                "width": round(0.6 + 11 * math.sqrt(amount / max_edge), 2),
                "color": "rgba(120,120,120,0.55)" if e["declared"] else faded(strong),
                "highlight": "#555555" if e["declared"] else strong,
            }
        )
    return rows


def legend(nodes: pl.DataFrame) -> dict[str, Any]:
    """The kinds (shapes) and channels (colours, with how many nodes each) present, in legend order."""
    present = set(nodes["kind"].to_list())
    per_channel = dict(nodes.group_by("channel").len().iter_rows())
    channels = channel_order(set(per_channel))
    return {
        "kinds_shown": [
            k for k in (Kind.STREAM.value, Kind.COMMISSIONER.value, Kind.PROVIDER.value) if k in present
        ],
        "channels_shown": [[channel_label(c), channel_colour(c), int(per_channel[c])] for c in channels],
    }


def subtitle(view: ViewData, nodes: int, links: int, points: int) -> str:
    """The header line: what is drawn, the money in all and how many convergence points are shown."""
    cur = view.currency
    return (
        f"{nodes:,} organisations and streams, {links:,} links; {cur}; "
        f"{money_text(view.total_money_minor, cur)} paid in all "
        "(netted per payer, payee and stream, as the analysis does)"
        + (f"; {points:,} of {view.total_points:,} convergence points shown" if view.has_analysis else "")
    )


def drawn_sizes(values: dict[str, float], low_px: float = 0.0, high_px: float = 0.0) -> dict[str, float]:
    """Each node's half-size in pixels as vis-network will draw it (linear in value between the bounds).

    >>> drawn_sizes({"a": 0.0, "b": 10.0, "c": 5.0})
    {'a': 8.0, 'b': 46.0, 'c': 27.0}
    """
    if not values:
        return {}
    low_px, high_px = (low_px, high_px) if high_px else (SIZE_MIN, SIZE_MAX)
    low, high = min(values.values()), max(values.values())
    return {
        k: low_px + (high_px - low_px) * ((v - low) / (high - low) if high > low else 0.5)
        for k, v in values.items()
    }


def headline_ids(values: dict[str, float], first: list[str] | None = None) -> set[str]:
    """In a big view, the nodes whose names stay readable when the whole view is shown: the
    :data:`HUB_HEADLINES` with most money (the hubs), then ``first`` (the top convergence points), then
    those with most money.

    >>> sorted(headline_ids({f"n{i}": float(i) for i in range(100)}))[:3]
    ['n88', 'n89', 'n90']
    >>> sorted(headline_ids({f"n{i}": float(i) for i in range(100)}, [f"n{i}" for i in range(20)]))
    ['n0', 'n1', 'n2', 'n3', 'n4', 'n5', 'n6', 'n7', 'n96', 'n97', 'n98', 'n99']
    >>> headline_ids({"a": 1.0})
    set()
    """
    if len(values) <= HEADLINE_FROM:
        return set()
    by_money = sorted(values, key=lambda k: (-values[k], k))
    ranked = dict.fromkeys([*by_money[:HUB_HEADLINES], *(first or []), *by_money])
    return set(list(ranked)[:HEADLINES])


def label_fonts(values: dict[str, float], headlines: set[str] = frozenset()) -> dict[str, float]:
    """Each label's font size in canvas units: from :data:`FONT_MIN` to :data:`FONT_MAX` by money
    (:data:`SMALL_FONT_MIN` to :data:`SMALL_FONT_MAX` in a small view), and :data:`HEADLINE_FONT` for the
    headlines (the page caps them on screen as one zooms in).

    >>> label_fonts({"a": 0.0, "b": 10.0}, {"a"})
    {'a': 44.0, 'b': 28.0}
    >>> max(label_fonts({f"n{i}": float(i) for i in range(100)}).values())
    20.0
    """
    small = len(values) <= HEADLINE_FROM
    font = drawn_sizes(values, *((SMALL_FONT_MIN, SMALL_FONT_MAX) if small else (FONT_MIN, FONT_MAX)))
    return {key: HEADLINE_FONT if key in headlines else size for key, size in font.items()}


def drawn_boxes(
    values: dict[str, float], labels: dict[str, str], headlines: set[str] = frozenset()
) -> dict[str, tuple[float, float, float]]:
    """Width, height and downward offset of the box each node and its label take on the canvas."""
    sizes = drawn_sizes(values)
    font = label_fonts(values, headlines)
    boxes = {}
    for key, r in sizes.items():
        size = font[key]
        lines = labels[key].split("\n")
        width = max(2 * r, 0.56 * size * max(len(line) for line in lines))
        label_height = 1.25 * size * len(lines)
        height = 2 * r + label_height
        boxes[key] = (width, height, label_height / 2)
    return boxes


def _number(value: float | None) -> str | None:
    """``1.8615`` -> ``'1.86'``; ``None`` stays ``None``."""
    return f"{value:.2f}" if value is not None else None


def view_html(
    graph: FlowGraph,
    *,
    attribution: Attribution | Literal[False] | None = None,
    focus: str | None = None,
    top_n: int | None = DEFAULT_TOP_N,
    currency: str | None = None,
    count_by: CountBy = "channel",
    min_share: float = DEFAULT_MIN_SHARE,
    min_count: int = MIN_COUNT,
) -> str:
    """The whole interactive page as a string (see :func:`write_view`)."""
    view = prepare_view(
        graph, attribution=attribution, focus=focus, top_n=top_n, currency=currency, count_by=count_by,
        min_share=min_share, min_count=min_count,
    )  # fmt: skip
    return render_view(view)


def render_view(view: ViewData) -> str:
    """HTML for prepared view data."""
    data = page_data(view)
    return page(
        view.title,
        BODY,
        styles=[static_text("view.css")],
        scripts=[vis_network_js(), static_text("view.js")],
        data=data,
    )


def write_view(
    graph: FlowGraph,
    path: str | os.PathLike[str],
    *,
    attribution: Attribution | Literal[False] | None = None,
    focus: str | None = None,
    top_n: int | None = DEFAULT_TOP_N,
    currency: str | None = None,
    count_by: CountBy = "channel",
    min_share: float = DEFAULT_MIN_SHARE,
    min_count: int = MIN_COUNT,
) -> Path:
    """Write the interactive network of ``graph`` to one self-contained, offline HTML file; returns its path.

    ``attribution``: an :class:`~graphflows.analysis.Attribution` to show channel and stovepipe mixes and
    convergence points (computed when ``None``; ``False`` leaves them out). ``focus``: a provider's id
    shows everything upstream of it, a stream's id everything downstream. ``top_n``: the most nodes drawn
    (``None`` keeps all): a larger graph shows its top convergence points with their payers and origins
    (see :func:`prepare_view`), and the page says what was left out. ``count_by`` (``"channel"`` or
    ``"stovepipe"``), ``min_share`` and ``min_count`` say what a convergence point counts, as in
    ``graphflows analyse``.
    Nodes are coloured by channel of government, shaped by kind.

    >>> write_view(graph, "view.html", top_n=300)     # doctest: +SKIP
    PosixPath('view.html')
    """
    view = prepare_view(
        graph, attribution=attribution, focus=focus, top_n=top_n, currency=currency, count_by=count_by,
        min_share=min_share, min_count=min_count,
    )  # fmt: skip
    write_text_atomic(Path(path), render_view(view))
    return Path(path)


def write_text_atomic(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` all or nothing (see :mod:`graphflows.outputs`)."""
    write_text(path, text)
