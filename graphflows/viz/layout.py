"""Node positions computed once in Python: the same graph gives the same picture on every run.

A seeded force layout of the money links, scaled to pixels, then nodes pushed apart until none overlaps
(room is left for each label). The browser then only draws: no physics to wait for.

>>> import polars as pl
>>> edges = pl.DataFrame({"from": ["a", "b"], "to": ["b", "c"], "amount_minor": [5, 7]})
>>> boxes = {"a": (100, 40, 10), "b": (100, 40, 10), "c": (100, 40, 10)}
>>> first = positions(["a", "b", "c"], edges, boxes)
>>> first == positions(["a", "b", "c"], edges, boxes)
True
>>> (ax, ay), (bx, by) = first["a"], first["b"]
>>> abs(ax - bx) >= 100 or abs(ay - by) >= 40
True
"""

from __future__ import annotations

import networkx as nx
import numpy as np
import polars as pl
from scipy.spatial import cKDTree

#: Fixed seed: layouts are reproducible from one run to the next.
SEED = 20140401
#: Gap kept between the boxes of neighbouring nodes and labels (pixels).
MARGIN = 10.0
#: Target distance (pixels) between a node and its nearest neighbour before overlaps are removed.
SPACING = 120.0


def positions(
    ids: list[str], edges: pl.DataFrame, boxes: dict[str, tuple[float, float, float]]
) -> dict[str, tuple[float, float]]:
    """Pixel coordinates for ``ids``.

    ``boxes`` gives each node's drawn ``(width, height, drop)``: the node and its label take a box of that
    size whose centre is ``drop`` pixels below the node's centre (labels are drawn underneath).
    """
    if not ids:
        return {}
    order = sorted(ids)
    G = nx.Graph()
    G.add_nodes_from(order)
    G.add_edges_from((a, b) for a, b in edges.select("from", "to").iter_rows() if a != b)
    pos = nx.spring_layout(G, seed=SEED, iterations=100)
    xy = _landscape(np.array([pos[n] for n in order], dtype=float))
    xy *= SPACING / max(_nearest_median(xy), 1e-9)
    size = np.array([boxes.get(n, (20.0, 20.0, 0.0)) for n in order], dtype=float)
    drop = np.column_stack([np.zeros(len(order)), size[:, 2]])
    xy = _remove_overlaps(xy + drop, size[:, :2] + MARGIN) - drop
    return {n: (round(float(x), 1), round(float(y), 1)) for n, (x, y) in zip(order, xy, strict=True)}


def _landscape(xy: np.ndarray) -> np.ndarray:
    """Rotate so the layout's long axis is horizontal (screens are wide); widen it a little more."""
    if len(xy) < 3:
        return xy
    centred = xy - xy.mean(axis=0)
    _, vectors = np.linalg.eigh(np.cov(centred.T))
    main = vectors[:, -1] * (1 if vectors[np.argmax(np.abs(vectors[:, -1])), -1] > 0 else -1)
    rotated = np.column_stack([centred @ main, centred @ np.array([-main[1], main[0]])])
    return rotated * np.array([1.25, 1.0])


def _nearest_median(xy: np.ndarray) -> float:
    """Median distance from each point to its nearest neighbour."""
    if len(xy) < 2:
        return 1.0
    d = np.sqrt(((xy[:, None, :] - xy[None, :, :]) ** 2).sum(-1))
    np.fill_diagonal(d, np.inf)
    return float(np.median(d.min(axis=1)))


def _remove_overlaps(xy: np.ndarray, size: np.ndarray, rounds: int = 80) -> np.ndarray:
    """Move boxes (centres ``xy``, ``size`` = width, height) apart along the axis where they overlap least."""
    n = len(xy)
    if n < 2:
        return xy
    reach = float(size.max())  # boxes further apart than this cannot touch
    for _ in range(rounds):
        pairs = cKDTree(xy).query_pairs(reach, output_type="ndarray")
        if not len(pairs):
            break
        i, j = pairs[:, 0], pairs[:, 1]
        delta = xy[i] - xy[j]
        overlap = (size[i] + size[j]) / 2 - np.abs(delta)
        hit = (overlap > 0).all(axis=1)
        if not hit.any():
            break
        i, j, delta, overlap = i[hit], j[hit], delta[hit], overlap[hit]
        along_x = overlap[:, 0] < overlap[:, 1]
        sign = np.where(delta >= 0, 1.0, -1.0)  # identical centres: i (the smaller index) moves up/right
        push = np.zeros_like(delta)
        push[along_x, 0] = sign[along_x, 0] * overlap[along_x, 0] / 2
        push[~along_x, 1] = sign[~along_x, 1] * overlap[~along_x, 1] / 2
        moves = np.zeros_like(xy)
        np.add.at(moves, i, push)
        np.add.at(moves, j, -push)
        xy = xy + moves * 0.55
    return xy
