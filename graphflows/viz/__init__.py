"""Interactive views of a funding graph: one self-contained HTML file each, working offline.

>>> import graphflows.viz as viz                               # doctest: +SKIP
>>> viz.write_view(graph, "view.html")                         # network of who pays whom
>>> viz.write_sankey(graph, "flows.html")                      # stovepipes -> commissioners -> providers
>>> viz.write_png("view.html", "view.png")                     # still picture via headless Chromium
>>> viz.show_view(graph)                                       # inline in a notebook
"""

from graphflows.viz.network import view_html, write_view
from graphflows.viz.prepare import DEFAULT_TOP_N, ViewData, prepare_view

__all__ = ["DEFAULT_TOP_N", "ViewData", "prepare_view", "view_html", "write_view"]
