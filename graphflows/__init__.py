"""graphflows: follow public money across organisational stovepipes.

The public API in one place, for notebooks and scripts::

    import graphflows as gf
    graph = gf.read_graph(["flows.csv"])
    result = gf.attribute(graph)
    table = gf.convergence(result)
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from graphflows.analysis import Attribution, attribute, channel_mix, convergence, funding_mix
    from graphflows.demo import demo_path
    from graphflows.graph import FlowGraph, build_graph, from_networkx, read_graph
    from graphflows.ingest import IngestResult, SourceRules, read_flows, read_manifest
    from graphflows.model import Kind

#: Public names and the module each comes from; imported on first use, so ``graphflows.cli`` starts
#: without loading polars and numpy first (Ctrl-C while starting then ends cleanly).
_PUBLIC = {
    "Attribution": "graphflows.analysis",
    "attribute": "graphflows.analysis",
    "channel_mix": "graphflows.analysis",
    "convergence": "graphflows.analysis",
    "funding_mix": "graphflows.analysis",
    "demo_path": "graphflows.demo",
    "FlowGraph": "graphflows.graph",
    "build_graph": "graphflows.graph",
    "from_networkx": "graphflows.graph",
    "read_graph": "graphflows.graph",
    "IngestResult": "graphflows.ingest",
    "read_flows": "graphflows.ingest",
    "SourceRules": "graphflows.ingest",
    "read_manifest": "graphflows.ingest",
    "Kind": "graphflows.model",
}


def __getattr__(name: str) -> Any:
    if name in _PUBLIC:
        return getattr(importlib.import_module(_PUBLIC[name]), name)
    raise AttributeError(f"module 'graphflows' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted([*globals(), *_PUBLIC])


__all__ = [
    "Attribution",
    "FlowGraph",
    "IngestResult",
    "Kind",
    "SourceRules",
    "attribute",
    "build_graph",
    "channel_mix",
    "convergence",
    "demo_path",
    "from_networkx",
    "funding_mix",
    "read_flows",
    "read_graph",
    "read_manifest",
]
__version__ = "0.1.0"
