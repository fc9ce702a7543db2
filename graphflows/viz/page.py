"""Self-contained HTML pages: scripts and styles inline, data as escaped JSON, no request at all.

A Content-Security-Policy in every page forbids loading anything (``default-src 'none'``), so even a
mistake could not make the page fetch from the network.

>>> script_json({"name": "</script><img src=x onerror=alert(1)>"})
'{"name": "\\\\u003c/script\\\\u003e\\\\u003cimg src=x onerror=alert(1)\\\\u003e"}'
"""

from __future__ import annotations

import html
import importlib.util
import json
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

from graphflows.model import GraphflowsError

#: Pages may run their own inline scripts and styles and show inline images; nothing else.
CSP = (
    "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; "
    "img-src data: blob:; font-src data:; connect-src 'none'; form-action 'none'; base-uri 'none'"
)
#: Lets a waiting tool (the PNG writer) stop at the first script error instead of timing out.
ON_ERROR = 'window.addEventListener("error", function () { window.__graphflowsFailed = true; });'
#: vis-network bundled with pyvis 0.3.2 (used inline; pyvis' own template loads from CDNs).
VIS_NETWORK = "templates/lib/vis-9.1.2/vis-network.min.js"


def script_json(value: Any) -> str:
    """JSON that is safe inside ``<script type="application/json">``: no ``<``, ``>``, ``&`` characters."""
    text = json.dumps(value, ensure_ascii=False, separators=(", ", ": "))
    for char, escaped in (
        ("<", "\\u003c"),
        (">", "\\u003e"),
        ("&", "\\u0026"),
        ("\u2028", "\\u2028"),
        ("\u2029", "\\u2029"),
    ):
        text = text.replace(char, escaped)
    return text


@cache
def vis_network_js() -> str:
    """The vis-network library shipped with pyvis, as text (pyvis is not imported: it pulls in IPython)."""
    spec = importlib.util.find_spec("pyvis")
    if spec is None or not spec.submodule_search_locations:
        raise GraphflowsError(
            "the interactive view needs pyvis (pip install pyvis), which bundles vis-network"
        )
    return (Path(next(iter(spec.submodule_search_locations))) / VIS_NETWORK).read_text(encoding="utf-8")


@cache
def static_text(name: str) -> str:
    """A file from ``graphflows/viz/static``."""
    return resources.files("graphflows.viz").joinpath("static", name).read_text(encoding="utf-8")


def page(title: str, body: str, *, styles: list[str], scripts: list[str], data: Any = None) -> str:
    """A whole HTML document. ``body`` is trusted markup (no data in it); data goes in as JSON."""
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en">',
        "<head>",
        '<meta charset="utf-8">',
        f'<meta http-equiv="Content-Security-Policy" content="{CSP}">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        '<meta name="generator" content="graphflows">',
        f"<title>{html.escape(title)}</title>",
        f"<script>{ON_ERROR}</script>",
        *(f"<style>{css}</style>" for css in styles),
        "</head>",
        "<body>",
        body,
    ]
    if data is not None:
        parts.append(f'<script id="gf-data" type="application/json">{script_json(data)}</script>')
    parts += [f"<script>{js}</script>" for js in scripts]
    parts += ["</body>", "</html>", ""]
    return "\n".join(parts)
