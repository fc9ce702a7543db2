"""Interactive views of a funding graph: one self-contained HTML file each, working offline.

>>> from graphflows import viz                                          # doctest: +SKIP
>>> viz.write_view(graph, "view.html", focus="inclusion-healthcare")    # doctest: +SKIP
>>> viz.write_sankey(graph, "sankey.html")                              # doctest: +SKIP
>>> viz.write_png("view.html", "view.png")                              # doctest: +SKIP
>>> viz.show_view(graph)                                                # doctest: +SKIP
"""

from graphflows.viz.chromium import write_png
from graphflows.viz.network import render_view, view_html, write_view
from graphflows.viz.notebook import iframe, show_sankey, show_view
from graphflows.viz.prepare import DEFAULT_TOP_N, ViewData, prepare_view
from graphflows.viz.sankey import (
    SANKEY_TOP_N,
    SankeyData,
    prepare_sankey,
    render_sankey,
    sankey_html,
    write_sankey,
)

__all__ = [
    "DEFAULT_TOP_N",
    "SANKEY_TOP_N",
    "SankeyData",
    "ViewData",
    "iframe",
    "prepare_sankey",
    "prepare_view",
    "render_sankey",
    "render_view",
    "sankey_html",
    "show_sankey",
    "show_view",
    "view_html",
    "write_png",
    "write_sankey",
    "write_view",
]
