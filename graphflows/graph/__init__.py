"""Records to graph: the :class:`FlowGraph` (columnar, fast) and its networkx form."""

from graphflows.graph.build import FlowGraph, build_graph, graph_from_ingest, read_graph
from graphflows.graph.networkx_io import from_networkx, to_networkx

__all__ = ["FlowGraph", "build_graph", "from_networkx", "graph_from_ingest", "read_graph", "to_networkx"]
