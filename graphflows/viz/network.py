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

from graphflows.graph import FlowGraph
from graphflows.model import Kind
from graphflows.outputs import write_text
from graphflows.viz.layout import positions
from graphflows.viz.money_text import money_short, money_text
from graphflows.viz.page import page, static_text, vis_network_js
from graphflows.viz.prepare import DEFAULT_TOP_N, ViewData, prepare_view

if TYPE_CHECKING:
    from graphflows.analysis import Attribution

#: Shape, colours (Okabe-Ito, safe for colour blindness) and legend text per kind.
KIND_STYLE: dict[str, dict[str, str]] = {
    Kind.STREAM.value: {
        "shape": "diamond",
        "color": "#E69F00",
        "border": "#9a6a00",
        "label": "Funding stream",
    },
    Kind.COMMISSIONER.value: {
        "shape": "square",
        "color": "#56B4E9",
        "border": "#1f6f9c",
        "label": "Commissioner or pooled budget",
    },
    Kind.PROVIDER.value: {"shape": "dot", "color": "#009E73", "border": "#00664a", "label": "Provider"},
}
CONVERGENCE_COLOR = "#D62728"
CONVERGENCE_GLOW = "rgba(214,39,40,0.45)"
#: Smallest and largest node half-size in pixels (vis-network ``nodes.scaling``).
SIZE_MIN, SIZE_MAX = 8.0, 46.0
#: Smallest and largest label font in pixels (vis-network ``nodes.scaling.label``).
FONT_MIN, FONT_MAX = 11.0, 20.0
#: Views with more nodes than this give their largest nodes bigger names, readable in the overview.
HEADLINE_FROM, HEADLINES, HEADLINE_FONT = 60, 12, 44.0
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
    cur = view.currency
    nodes, edges = view.nodes, view.edges
    labels = [
        short_label(name, money_short(int(m), cur))
        for name, m in nodes.select("name", "money_minor").iter_rows()
    ]
    values = {
        i: round(math.sqrt(max(int(m), 0) / 100), 2) for i, m in nodes.select("id", "money_minor").iter_rows()
    }
    headlines = headline_ids(values)
    pos = positions(
        nodes["id"].to_list(),
        edges,
        drawn_boxes(values, dict(zip(nodes["id"], labels, strict=True)), headlines),
    )
    names = dict(zip(nodes["id"].to_list(), nodes["name"].to_list(), strict=True))
    real = edges.filter(~pl.col("declared"))
    payers = dict(real.group_by("to").len().iter_rows())
    payees = dict(real.group_by("from").len().iter_rows())
    max_edge = max(int(edges["amount_minor"].max() or 1), 1) if edges.height else 1
    node_rows = []
    for n in nodes.iter_rows(named=True):
        x, y = pos[n["id"]]
        node_rows.append(
            {
                "id": n["id"],
                "name": n["name"],
                "kind": n["kind"],
                "kinds": ", ".join(KIND_STYLE[k]["label"] for k in n["kinds"] if k in KIND_STYLE)
                or n["kind"],
                "label": labels[len(node_rows)],
                "headline": n["id"] in headlines,
                "value": values[n["id"]],
                "x": x,
                "y": y,
                "in_text": money_text(int(n["total_in_minor"]), cur),
                "out_text": money_text(int(n["total_out_minor"]), cur),
                "payers": payers.get(n["id"], 0),
                "payees": payees.get(n["id"], 0),
                "conv": bool(n["is_convergence_point"]),
                "stovepipes": int(n["stovepipe_count"]),
                "hhi": f"{n['hhi']:.2f}" if n["hhi"] is not None else None,
                "mix": n["mix"],
            }
        )
    edge_rows = []
    for e in edges.iter_rows(named=True):
        amount = int(e["amount_minor"])
        edge_rows.append(
            {
                "from": e["from"],
                "to": e["to"],
                "from_name": names[e["from"]],
                "to_name": names[e["to"]],
                "amount_text": money_text(amount, cur),
                "flows": f"{int(e['flow_count']):,}",
                "declared": bool(e["declared"]),
                "width": round(0.6 + 11 * math.sqrt(amount / max_edge), 2),
            }
        )
    kind_of = dict(zip(nodes["id"].to_list(), nodes["kind"].to_list(), strict=True))
    for row in edge_rows:
        row["color"] = (
            "rgba(120,120,120,0.55)"
            if row["declared"]
            else _faded(KIND_STYLE[kind_of[row["from"]]]["border"])
        )
    shown = [
        k
        for k in (Kind.STREAM.value, Kind.COMMISSIONER.value, Kind.PROVIDER.value)
        if k in set(nodes["kind"].to_list())
    ]
    conv_count = sum(1 for r in node_rows if r["conv"])
    subtitle = (
        f"{len(node_rows):,} organisations and streams, {len(edge_rows):,} links; {cur}; "
        f"{money_text(view.total_money_minor, cur)} paid in all (net per payer and payee)"
        + (f"; {conv_count:,} convergence points shown" if view.has_analysis else "")
    )
    return {
        "focus": view.focus,
        "title": view.title,
        "subtitle": subtitle,
        "nodes": node_rows,
        "edges": edge_rows,
        "notes": view.notes,
        "style": KIND_STYLE,
        "kinds_shown": shown,
        "has_analysis": view.has_analysis,
        "size_min": SIZE_MIN,
        "size_max": SIZE_MAX,
        "font_min": FONT_MIN,
        "font_max": FONT_MAX,
        "headline_font": HEADLINE_FONT,
        "convergence_color": CONVERGENCE_COLOR,
        "convergence_glow": CONVERGENCE_GLOW,
    }


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


def headline_ids(values: dict[str, float]) -> set[str]:
    """In a big view, the nodes with most money: their names stay readable when the whole view is shown.

    >>> sorted(headline_ids({f"n{i}": float(i) for i in range(100)}))[:3]
    ['n88', 'n89', 'n90']
    >>> headline_ids({"a": 1.0})
    set()
    """
    if len(values) <= HEADLINE_FROM:
        return set()
    ranked = sorted(values, key=lambda k: (-values[k], k))
    return set(ranked[:HEADLINES])


def drawn_boxes(
    values: dict[str, float], labels: dict[str, str], headlines: set[str] = frozenset()
) -> dict[str, tuple[float, float, float]]:
    """Width, height and downward offset of the box each node and its label take on the canvas."""
    sizes = drawn_sizes(values)
    font = drawn_sizes(values, FONT_MIN, FONT_MAX)
    boxes = {}
    for key, r in sizes.items():
        size = HEADLINE_FONT if key in headlines else font[key]
        lines = labels[key].split("\n")
        width = max(2 * r, 0.56 * size * max(len(line) for line in lines))
        label_height = 1.25 * size * len(lines)
        height = 2 * r + label_height
        boxes[key] = (width, height, label_height / 2)
    return boxes


def _faded(hex_colour: str, alpha: float = 0.45) -> str:
    r, g, b = (int(hex_colour[i : i + 2], 16) for i in (1, 3, 5))
    return f"rgba({r},{g},{b},{alpha})"


def view_html(
    graph: FlowGraph,
    *,
    attribution: Attribution | Literal[False] | None = None,
    focus: str | None = None,
    top_n: int | None = DEFAULT_TOP_N,
    currency: str | None = None,
) -> str:
    """The whole interactive page as a string (see :func:`write_view`)."""
    view = prepare_view(graph, attribution=attribution, focus=focus, top_n=top_n, currency=currency)
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
) -> Path:
    """Write the interactive network of ``graph`` to one self-contained, offline HTML file; returns its path.

    ``attribution``: an :class:`~graphflows.analysis.Attribution` to show stovepipe mixes and convergence
    points (computed when ``None``; ``False`` leaves them out). ``focus``: a provider's id shows everything
    upstream of it, a stream's id everything downstream. ``top_n``: keep the nodes with most money
    (``None`` keeps all); the page says what was left out (see :func:`prepare_view` for the notes).

    >>> write_view(graph, "view.html", top_n=300)     # doctest: +SKIP
    PosixPath('view.html')
    """
    view = prepare_view(graph, attribution=attribution, focus=focus, top_n=top_n, currency=currency)
    write_text_atomic(Path(path), render_view(view))
    return Path(path)


def write_text_atomic(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` all or nothing (see :mod:`graphflows.outputs`)."""
    write_text(path, text)
