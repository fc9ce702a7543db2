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
#: Below this many nodes networkx's exact spring layout is used; above, :func:`grid_force_layout`.
DENSE_UP_TO = 150
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
    if len(order) < DENSE_UP_TO:
        pos = nx.spring_layout(G, seed=SEED, iterations=100)
        xy = np.array([pos[n] for n in order], dtype=float)
    else:
        index = {n: i for i, n in enumerate(order)}
        pairs = np.array([(index[a], index[b]) for a, b in G.edges()], dtype=np.int64).reshape(-1, 2)
        xy = grid_force_layout(len(order), pairs)
    xy = _landscape(xy)
    xy *= SPACING / max(_nearest_median(xy), 1e-9)
    size = np.array([boxes.get(n, (20.0, 20.0, 0.0)) for n in order], dtype=float)
    drop = np.column_stack([np.zeros(len(order)), size[:, 2]])
    xy = _remove_overlaps(xy + drop, size[:, :2] + MARGIN) - drop
    return {n: (round(float(x), 1), round(float(y), 1)) for n, (x, y) in zip(order, xy, strict=True)}


def grid_force_layout(n: int, edges: np.ndarray, *, iterations: int = 120, seed: int = SEED) -> np.ndarray:
    """Fruchterman-Reingold with the paper's grid variant: nodes repel only within ``2k`` (found with a
    k-d tree), so a step costs about O(n log n) instead of O(n^2). Linked nodes attract; a weak pull to the
    centre keeps separate groups together. Returns positions in roughly the unit square.
    """
    rng = np.random.default_rng(seed)
    xy = rng.random((n, 2))
    k = 1.0 / np.sqrt(n)
    temperature = 0.1
    cooling = temperature / (iterations + 1)
    i, j = edges[:, 0], edges[:, 1]
    for _ in range(iterations):
        moves = np.zeros_like(xy)
        close = cKDTree(xy).query_pairs(2 * k, output_type="ndarray")
        if len(close):
            a, b = close[:, 0], close[:, 1]
            delta = xy[a] - xy[b]
            dist = np.maximum(np.hypot(delta[:, 0], delta[:, 1]), 0.01 * k)[:, None]
            push = delta / dist * (k * k / dist)
            moves += _sum_at(a, push, n) - _sum_at(b, push, n)
        if len(edges):
            delta = xy[i] - xy[j]
            dist = np.maximum(np.hypot(delta[:, 0], delta[:, 1]), 0.01 * k)[:, None]
            pull = delta / dist * (dist * dist / k)
            moves += _sum_at(j, pull, n) - _sum_at(i, pull, n)
        moves += (0.5 - xy) * (0.05 * k)
        length = np.maximum(np.hypot(moves[:, 0], moves[:, 1]), 1e-12)[:, None]
        xy += moves / length * np.minimum(length, temperature)
        temperature -= cooling
    return xy


def _sum_at(index: np.ndarray, values: np.ndarray, n: int) -> np.ndarray:
    """Rows of ``values`` (k x 2) added up per ``index`` into an n x 2 array (a fast ``np.add.at``)."""
    return np.column_stack([np.bincount(index, weights=values[:, c], minlength=n) for c in (0, 1)])


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
    distances, _ = cKDTree(xy).query(xy, k=2)
    return float(np.median(distances[:, 1]))


#: Rounds of :func:`_remove_overlaps` at most. A dense cluster (London's boroughs and suppliers paid by the
#: NHS, the GLA and TfL, between the three hubs) needs a few hundred; it stops when no two boxes overlap.
OVERLAP_ROUNDS = 300
#: Overlap (pixels, within the :data:`MARGIN` kept between boxes) small enough to stop at.
OVERLAP_TOLERANCE = 0.5
#: Every SPREAD_EVERY rounds that still find overlaps, the layout is spread out by SPREAD about its centre.
SPREAD_EVERY, SPREAD = 100, 1.03


def _remove_overlaps(xy: np.ndarray, size: np.ndarray, rounds: int = OVERLAP_ROUNDS) -> np.ndarray:
    """Move boxes (centres ``xy``, ``size`` = width, height) apart along the axis where they overlap least:
    each pair that overlaps moves half the overlap each (the moves of one box add up)."""
    n = len(xy)
    if n < 2:
        return xy
    reach = float(size.max())  # boxes further apart than this cannot touch
    for round_ in range(rounds):
        pairs = cKDTree(xy).query_pairs(reach, output_type="ndarray")
        if not len(pairs):
            break
        i, j = pairs[:, 0], pairs[:, 1]
        delta = xy[i] - xy[j]
        overlap = (size[i] + size[j]) / 2 - np.abs(delta)
        hit = (overlap > OVERLAP_TOLERANCE).all(axis=1)
        if not hit.any():
            break
        i, j, delta, overlap = i[hit], j[hit], delta[hit], overlap[hit]
        along_x = overlap[:, 0] < overlap[:, 1]
        sign = np.where(delta >= 0, 1.0, -1.0)  # identical centres: i (the smaller index) moves up/right
        push = np.zeros_like(delta)
        push[along_x, 0] = sign[along_x, 0] * overlap[along_x, 0] / 2
        push[~along_x, 1] = sign[~along_x, 1] * overlap[~along_x, 1] / 2
        xy = xy + _sum_at(i, push, n) - _sum_at(j, push, n)
        if round_ % SPREAD_EVERY == SPREAD_EVERY - 1:  # a dense cluster can jam: give it room
            centre = xy.mean(axis=0)
            xy = centre + (xy - centre) * SPREAD
    return xy
