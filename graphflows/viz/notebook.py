"""Views inside Jupyter: the self-contained page in an ``<iframe srcdoc>``, so nothing else is loaded.

>>> '<iframe' in iframe("<p>hi</p>") and "&lt;p&gt;" in iframe("<p>hi</p>")
True
"""

from __future__ import annotations

import html
from typing import Any

from graphflows.graph import FlowGraph
from graphflows.viz.network import view_html
from graphflows.viz.sankey import sankey_html


def iframe(page_html: str, *, height: int = 720) -> str:
    """An ``<iframe>`` holding a whole page in its ``srcdoc`` (escaped, so the notebook stays safe)."""
    return (
        f'<iframe srcdoc="{html.escape(page_html, quote=True)}" style="width:100%;height:{int(height)}px;'
        'border:1px solid #ddd" sandbox="allow-scripts"></iframe>'
    )


def show_view(graph: FlowGraph, *, height: int = 720, **options: Any) -> Any:
    """The network view as an IPython HTML object (options as for :func:`~graphflows.viz.write_view`)."""
    from IPython.display import HTML

    return HTML(_block(iframe(view_html(graph, **options), height=height)))


def show_sankey(graph: FlowGraph, *, height: int = 720, **options: Any) -> Any:
    """The Sankey as an IPython HTML object (options as for :func:`~graphflows.viz.write_sankey`)."""
    from IPython.display import HTML

    return HTML(_block(iframe(sankey_html(graph, **options), height=height)))


def _block(frame: str) -> str:
    """The iframe in a div (IPython warns about HTML that starts with ``<iframe``)."""
    return f'<div class="graphflows-view">{frame}</div>'
