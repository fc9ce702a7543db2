"""Records to graph: the :class:`FlowGraph` (columnar, fast) and its networkx form.

networkx is imported only when a conversion is asked for, so the command line starts quickly.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from graphflows.graph.build import FlowGraph, build_graph, graph_from_ingest, read_graph

if TYPE_CHECKING:
    import networkx as nx

__all__ = ["FlowGraph", "build_graph", "from_networkx", "graph_from_ingest", "read_graph", "to_networkx"]


def to_networkx(graph: FlowGraph) -> nx.MultiDiGraph:
    """The graph as a networkx MultiDiGraph (one edge per flow); see :mod:`graphflows.graph.networkx_io`."""
    from graphflows.graph.networkx_io import to_networkx as convert

    return convert(graph)


def from_networkx(G: nx.Graph) -> FlowGraph:
    """A FlowGraph from a networkx graph whose edges carry ``amount`` (see ``networkx_io``)."""
    from graphflows.graph.networkx_io import from_networkx as convert

    return convert(G)
