"""Node positions computed once in Python: the same graph gives the same picture on every run.

The browser then only draws (no physics to wait for), which keeps large views quick to settle.

>>> import polars as pl
>>> edges = pl.DataFrame({"from": ["a", "b"], "to": ["b", "c"], "amount_minor": [5, 7]})
>>> first = positions(["a", "b", "c"], edges)
>>> first == positions(["a", "b", "c"], edges)
True
"""

from __future__ import annotations

import math

import networkx as nx
import polars as pl

#: Fixed seed: layouts are reproducible from one run to the next.
SEED = 20140401
#: Roughly how many pixels apart neighbouring nodes are drawn.
SPACING = 130.0


def positions(ids: list[str], edges: pl.DataFrame) -> dict[str, tuple[float, float]]:
    """Pixel coordinates for ``ids`` from a seeded force layout of the (undirected) money links."""
    if not ids:
        return {}
    G = nx.Graph()
    G.add_nodes_from(sorted(ids))
    for a, b, amount in edges.select("from", "to", "amount_minor").iter_rows():
        if a != b:
            weight = 1.0 + math.log10(max(amount, 1))
            G.add_edge(a, b, weight=weight + (G[a][b]["weight"] if G.has_edge(a, b) else 0.0))
    pos = nx.spring_layout(G, seed=SEED, iterations=80, weight="weight")
    scale = SPACING * math.sqrt(len(ids))
    return {n: (round(float(x) * scale, 1), round(float(y) * scale, 1)) for n, (x, y) in pos.items()}
