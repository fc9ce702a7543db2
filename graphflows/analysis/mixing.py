"""Origin mixes on a graph of integer node indices: the numerical core of attribution.

Every node ``v`` has a pot ``X[v]`` (amount per origin) = the sum of the mixes of the money it received.
Money it pays out carries a *unit mix* ``Y[v]``:

* a flow declared from stream ``S`` carries ``Y[S]`` and is carved out of the payer's pot;
* the payer's other flows share what is left of the pot, ``R = max(X - carved, 0)``, in proportion;
  if they add up to more than ``R`` holds, the excess is the payer's own money (the payer is an origin);
* so ``Y[v] = normalise(R + own * e_v)``, and a node with nothing traceable is its own origin.

Nodes are solved in dependency order (one vectorised step per level of the condensation); strongly
connected groups (cycles) are solved exactly as a linear system; where a carve-out exceeds what a member
holds (the rule is then not linear) they are iterated to convergence instead. ``forced`` nodes are
origins of all they pay out.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from scipy.sparse.csgraph import connected_components

from graphflows.analysis.rowstore import RowStore
from graphflows.model import GraphflowsError

#: Entries of a unit mix below this are dropped (they are far below a penny on any real amount).
PRUNE = 1e-16
#: A cycle has converged when no unit-mix entry moves by more than this in one iteration.
TOLERANCE = 1e-12
MAX_ITERATIONS = 20_000
#: Work allowed for one cycle's iteration (cells x iterations), so a hard cycle costs seconds at most.
ITERATION_WORK = 5e7
#: A cycle is solved with dense arrays of nodes x origins; beyond this many cells it is refused.
MAX_DENSE_CELLS = 50_000_000


class CycleError(GraphflowsError):
    """A cycle is too large to solve with dense arrays."""


@dataclass(frozen=True)
class Mixes:
    """The pot of every node that received money: COO triples (node, origin, amount)."""

    node: np.ndarray
    origin: np.ndarray
    amount: np.ndarray
    cycles: int  # how many cyclic groups were solved
    iterations: int  # the most iterations any cycle needed (0: all solved exactly)
    approximate: int = 0  # cycles whose iteration stopped before converging (shares inside are approximate)


def solve_mixes(
    n: int, payer: np.ndarray, payee: np.ndarray, stream: np.ndarray, amount: np.ndarray, forced: np.ndarray
) -> Mixes:
    """Pots for a graph of ``n`` nodes with flows ``payer -> payee`` of ``amount`` (>0).

    ``stream[i]`` is the node index of flow i's declared stream, or -1. ``forced`` is a boolean mask of
    nodes that are origins of everything they pay out.
    """
    amount = amount.astype(np.float64)
    declared = stream >= 0
    mix_source = np.where(declared, stream, payer)
    inflow = sp.csr_matrix((amount, (payee, mix_source)), shape=(n, n))
    carve = sp.csr_matrix((amount[declared], (payer[declared], stream[declared])), shape=(n, n))
    undeclared_out = np.bincount(payer[~declared], weights=amount[~declared], minlength=n)

    order = _dependency_levels(n, payee, mix_source, payer[declared], stream[declared], forced)
    store = RowStore(n, capacity=max(1024, 4 * len(amount)))
    pots: list[tuple[np.ndarray, sp.csr_matrix]] = []
    cycles = approximate = 0
    most_iterations = 0
    for acyclic, groups in order:
        easy = acyclic[forced[acyclic]]
        if easy.size:
            store.put(easy, _unit_rows(easy, n))
        batch = acyclic[~forced[acyclic]]
        if batch.size:
            pot = _gathered(inflow, batch, store)
            left = _clamped(pot - _gathered(carve, batch, store))
            store.put(batch, _unit_mix(left, batch, undeclared_out[batch], n))
            pots.append((batch, pot))
        for group in groups:
            pot, unit, iterations, converged = _solve_cycle(group, n, inflow, carve, undeclared_out, store)
            store.put(group, unit)
            pots.append((group, pot))
            cycles += 1
            approximate += not converged
            most_iterations = max(most_iterations, iterations)
    forced_nodes = np.flatnonzero(forced)
    if forced_nodes.size:
        pots.append((forced_nodes, _gathered(inflow, forced_nodes, store)))
    return _collect(pots, cycles, most_iterations, approximate)


def _unit_rows(nodes: np.ndarray, n: int) -> sp.csr_matrix:
    k = nodes.size
    return sp.csr_matrix((np.ones(k), nodes, np.arange(k + 1)), shape=(k, n))


def _gathered(matrix: sp.csr_matrix, rows: np.ndarray, store: RowStore) -> sp.csr_matrix:
    """``matrix[rows] @ Y`` using only the stored rows that ``matrix[rows]`` refers to."""
    part = matrix[rows]
    used, position = np.unique(part.indices, return_inverse=True)
    compact = sp.csr_matrix((part.data, position.ravel(), part.indptr), shape=(rows.size, used.size))
    return (compact @ store.get(used)).tocsr()


def _clamped(matrix: sp.csr_matrix) -> sp.csr_matrix:
    matrix = matrix.tocsr()
    matrix.data = np.maximum(matrix.data, 0.0)
    matrix.eliminate_zeros()
    return matrix


def _unit_mix(left: sp.csr_matrix, nodes: np.ndarray, undeclared_out: np.ndarray, n: int) -> sp.csr_matrix:
    """normalise(left + own * e_v); a row with nothing at all becomes e_v."""
    held = np.asarray(left.sum(axis=1)).ravel()
    own = np.maximum(undeclared_out - held, 0.0)
    own[held + own <= 0] = 1.0
    k = nodes.size
    mixed = (left + sp.csr_matrix((own, (np.arange(k), nodes)), shape=(k, n))).tocsr()
    totals = np.asarray(mixed.sum(axis=1)).ravel()
    unit = sp.diags(1.0 / totals) @ mixed
    unit.data[unit.data < PRUNE] = 0.0
    unit.eliminate_zeros()
    totals = np.asarray(unit.sum(axis=1)).ravel()
    return (sp.diags(1.0 / totals) @ unit).tocsr()


def _solve_cycle(
    group: np.ndarray,
    n: int,
    inflow: sp.csr_matrix,
    carve: sp.csr_matrix,
    undeclared_out: np.ndarray,
    store: RowStore,
) -> tuple[sp.csr_matrix, sp.csr_matrix, int, bool]:
    """Unit mixes of a strongly connected group: an exact linear solve, else a damped iteration.

    Returns (pots, unit mixes, iterations used, converged).
    """
    k = group.size
    inside = np.zeros(n, dtype=bool)
    inside[group] = True
    local = np.full(n, -1, dtype=np.int64)
    local[group] = np.arange(k)

    def split(matrix: sp.csr_matrix) -> tuple[np.ndarray, sp.csr_matrix]:
        part = matrix[group].tocoo()
        internal = inside[part.col]
        within = np.zeros((k, k))
        np.add.at(within, (part.row[internal], local[part.col[internal]]), part.data[internal])
        outside = sp.csr_matrix(
            (part.data[~internal], (part.row[~internal], part.col[~internal])), shape=(k, n)
        )
        return within, outside

    in_within, in_outside = split(inflow)
    carve_within, carve_outside = split(carve)
    fixed_in = _gathered(in_outside, np.arange(k), store)
    fixed_carve = _gathered(carve_outside, np.arange(k), store)
    columns = np.unique(np.concatenate([fixed_in.indices, fixed_carve.indices, group]))
    if k * max(columns.size, k) > MAX_DENSE_CELLS:
        raise CycleError(f"a cycle of {k} organisations with {columns.size} origins is too large to solve")
    column_of = {int(c): i for i, c in enumerate(columns)}
    cycle = _Cycle(
        base_in=_dense(fixed_in, columns, column_of),
        base_carve=_dense(fixed_carve, columns, column_of),
        in_within=in_within,
        carve_within=carve_within,
        out=undeclared_out[group],
        own_column=np.array([column_of[int(v)] for v in group]),
    )
    unit = cycle.linear_solution()
    iterations, converged = 0, True
    if unit is None:
        unit, iterations, converged = cycle.iterate()
    pot = cycle.base_in + in_within @ unit
    return _sparse(pot, columns, n), _sparse(unit, columns, n), iterations, converged


@dataclass
class _Cycle:
    """A strongly connected group in dense form: rows are its nodes, columns the origins that reach it."""

    base_in: np.ndarray  # pot from outside the group
    base_carve: np.ndarray  # carve-outs of streams outside the group
    in_within: np.ndarray  # inflow between members (k x k)
    carve_within: np.ndarray  # carve-outs of member streams (k x k)
    out: np.ndarray  # undeclared outflow per member
    own_column: np.ndarray  # each member's own column

    def unit_from(self, unit: np.ndarray) -> np.ndarray:
        """One application of the mixing rule to the members' current unit mixes."""
        rows = np.arange(unit.shape[0])
        left = np.maximum(
            self.base_in + self.in_within @ unit - (self.base_carve + self.carve_within @ unit), 0.0
        )
        held = left.sum(axis=1)
        own = np.maximum(self.out - held, 0.0)
        own[held + own <= 0] = 1.0
        left[rows, self.own_column] += own
        return left / left.sum(axis=1, keepdims=True)

    def linear_solution(self) -> np.ndarray | None:
        """Solve exactly, assuming no carve-out exceeds what a member holds; None if that fails."""
        k, width = self.base_in.shape
        rows = np.arange(k)
        received = self.base_in.sum(axis=1) + self.in_within.sum(axis=1)
        carved = self.base_carve.sum(axis=1) + self.carve_within.sum(axis=1)
        scale = max(float(received.max(initial=0.0)), 1.0)
        if (carved > received + 1e-9 * scale).any():
            return None
        total = np.maximum(self.out, received - carved)
        own = np.maximum(self.out - (received - carved), 0.0)
        system = np.eye(k)
        rhs = np.zeros((k, width))
        active = total > 1e-9 * scale
        system[active] -= (self.in_within - self.carve_within)[active] / total[active, None]
        rhs[active] = (self.base_in - self.base_carve)[active] / total[active, None]
        rhs[rows[active], self.own_column[active]] += own[active] / total[active]
        rhs[rows[~active], self.own_column[~active]] = 1.0
        try:
            unit = np.linalg.solve(system, rhs)
        except np.linalg.LinAlgError:
            return None
        left = self.base_in + self.in_within @ unit - (self.base_carve + self.carve_within @ unit)
        feasible = np.isfinite(unit).all() and unit.min() > -1e-9 and left.min() > -1e-7 * scale
        if not feasible or np.abs(unit.sum(axis=1) - 1).max() > 1e-9:
            return None
        unit = np.maximum(unit, 0.0)
        return unit / unit.sum(axis=1, keepdims=True)

    def iterate(self) -> tuple[np.ndarray, int, bool]:
        """Damped fixed-point iteration from 'everyone is their own origin'; (unit, iterations, converged)."""
        k, width = self.base_in.shape
        unit = np.zeros((k, width))
        unit[np.arange(k), self.own_column] = 1.0
        budget = int(min(MAX_ITERATIONS, max(500, ITERATION_WORK / (k * width + k * k))))
        for iterations in range(1, budget + 1):
            target = self.unit_from(unit)
            change = np.abs(target - unit).max()
            unit = 0.5 * (unit + target)
            if change < TOLERANCE:
                return target, iterations, True
        return unit, budget, False


def _dense(matrix: sp.csr_matrix, columns: np.ndarray, column_of: dict[int, int]) -> np.ndarray:
    coo = matrix.tocoo()
    out = np.zeros((matrix.shape[0], columns.size))
    if coo.nnz:
        np.add.at(out, (coo.row, np.array([column_of[int(c)] for c in coo.col])), coo.data)
    return out


def _sparse(dense: np.ndarray, columns: np.ndarray, n: int) -> sp.csr_matrix:
    rows, cols = np.nonzero(dense > PRUNE * np.maximum(dense.sum(axis=1, keepdims=True), 1.0))
    return sp.csr_matrix((dense[rows, cols], (rows, columns[cols])), shape=(dense.shape[0], n))


def _dependency_levels(
    n: int,
    payee: np.ndarray,
    mix_source: np.ndarray,
    declared_payer: np.ndarray,
    declared_stream: np.ndarray,
    forced: np.ndarray,
) -> list[tuple[np.ndarray, list[np.ndarray]]]:
    """Nodes in solving order: per level, the acyclic nodes and the cyclic groups (as index arrays)."""
    before = np.concatenate([mix_source, declared_stream])
    after = np.concatenate([payee, declared_payer])
    keep = ~forced[after]  # a forced origin's outflow mix depends on nothing
    before, after = before[keep], after[keep]
    depends = sp.csr_matrix((np.ones(before.size), (before, after)), shape=(n, n))
    count, component = connected_components(depends, directed=True, connection="strong")
    size = np.bincount(component, minlength=count)
    self_loop = np.zeros(count, dtype=bool)
    self_loop[component[before[before == after]]] = True
    cyclic = (size > 1) | self_loop
    a, b = component[before], component[after]
    across = a != b
    keys = np.unique(a[across].astype(np.int64) * count + b[across])  # each edge between components once
    first, second = keys // count, keys % count
    successors = sp.csr_matrix((np.ones(keys.size), (first, second)), shape=(count, count))
    waiting = np.bincount(second, minlength=count)
    frontier = np.flatnonzero(waiting == 0)
    node_order = np.argsort(component, kind="stable")
    starts = np.concatenate(([0], np.cumsum(size)))
    levels: list[tuple[np.ndarray, list[np.ndarray]]] = []
    while frontier.size:
        simple = frontier[~cyclic[frontier]]
        acyclic = node_order[starts[simple]]  # a simple component has exactly one node
        groups = [np.sort(node_order[starts[c] : starts[c + 1]]) for c in frontier[cyclic[frontier]]]
        levels.append((np.sort(acyclic), groups))
        reached = successors[frontier].indices
        np.subtract.at(waiting, reached, 1)
        frontier = np.unique(reached[waiting[reached] == 0])
    return levels


def _collect(
    pots: list[tuple[np.ndarray, sp.csr_matrix]], cycles: int, iterations: int, approximate: int
) -> Mixes:
    nodes, origins, amounts = [], [], []
    for rows, pot in pots:
        coo = pot.tocoo()
        nodes.append(rows[coo.row])
        origins.append(coo.col.astype(np.int64))
        amounts.append(coo.data)
    if not nodes:
        empty = np.empty(0, dtype=np.int64)
        return Mixes(empty, empty, np.empty(0), cycles, iterations, approximate)
    return Mixes(
        np.concatenate(nodes),
        np.concatenate(origins),
        np.concatenate(amounts),
        cycles,
        iterations,
        approximate,
    )
