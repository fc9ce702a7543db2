"""graphflows: follow public money across organisational stovepipes.

The public API in one place, for notebooks and scripts::

    import graphflows as gf
    graph = gf.read_graph(["flows.csv"])
    result = gf.attribute(graph)
    table = gf.convergence(result)
"""

from graphflows.analysis import Attribution, attribute, channel_mix, convergence, funding_mix
from graphflows.demo import demo_path
from graphflows.graph import FlowGraph, build_graph, read_graph
from graphflows.ingest import IngestResult, read_flows
from graphflows.model import Kind

__all__ = [
    "Attribution",
    "FlowGraph",
    "IngestResult",
    "Kind",
    "attribute",
    "build_graph",
    "channel_mix",
    "convergence",
    "demo_path",
    "funding_mix",
    "read_flows",
    "read_graph",
]
__version__ = "0.1.0"
