"""Origin mixes on a graph of integer node indices: the numerical core of attribution.

Every node ``v`` has a pot ``X[v]`` (amount per origin) = the sum of the mixes of the money it received.
Money it pays out carries a *unit mix* ``Y[v]``:

* a flow declared from stream ``S`` carries ``Y[S]`` and is carved out of the payer's pot;
* the payer's other flows share what is left of the pot, ``R = max(X - carved, 0)``, in proportion;
  if they add up to more than ``R`` holds, the excess is the payer's own money (the payer is an origin);
* so ``Y[v] = normalise(R + own * e_v)``, and a node with nothing traceable is its own origin.

Nodes are solved in dependency order (one vectorised step per level of the condensation); strongly
connected groups (cycles) are solved exactly as a sparse linear system (one sparse LU factorisation,
right-hand sides in column blocks); where a carve-out exceeds what a member holds (the rule is then not
linear) they are iterated to convergence instead, with dense arrays. ``forced`` nodes are origins of all
they pay out.

Pots come out in blocks (:func:`iter_mixes`) as they are solved, so a caller can round and write them
without holding every pot; unit mixes are kept only for nodes that pay money on.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import scipy.sparse as sp
from scipy.sparse.csgraph import connected_components
from scipy.sparse.linalg import splu

from graphflows.model import GraphflowsError

#: Entries of a unit mix below this are dropped (they are far below a penny on any real amount).
PRUNE = 1e-16
#: A cycle has converged when no unit-mix entry moves by more than this in one iteration.
TOLERANCE = 1e-12
MAX_ITERATIONS = 20_000
#: Work allowed for one cycle's iteration (cells x iterations), so a hard cycle costs seconds at most.
ITERATION_WORK = 5e7
#: A cycle that must be iterated uses dense arrays of nodes x origins; beyond this many cells it is refused.
MAX_DENSE_CELLS = 50_000_000
#: Pots are handed out in blocks of about this many entries (bounds the memory of a wide mix).
BLOCK_ENTRIES = 2_000_000
#: Cycles of at least this many members are solved with a sparse LU (smaller ones densely: less overhead).
SPARSE_FROM = 100
#: Right-hand-side columns solved at once against a cycle's sparse factorisation.
SOLVE_COLUMNS = 512


CycleSolver = Literal["auto", "sparse", "dense"]


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
    n: int,
    payer: np.ndarray,
    payee: np.ndarray,
    stream: np.ndarray,
    amount: np.ndarray,
    forced: np.ndarray,
    *,
    cycle_solver: CycleSolver = "auto",
) -> Mixes:
    """Pots for a graph of ``n`` nodes with flows ``payer -> payee`` of ``amount`` (>0).

    ``stream[i]`` is the node index of flow i's declared stream, or -1. ``forced`` is a boolean mask of
    nodes that are origins of everything they pay out. ``cycle_solver``: ``"sparse"`` or ``"dense"`` linear
    solves of every cycle (``"auto"``: dense below :data:`SPARSE_FROM` members; the two are tested equal).
    """
    solver = MixSolver(n, payer, payee, stream, amount, forced, cycle_solver=cycle_solver)
    return _collect(list(solver.blocks()), solver.cycles, solver.iterations, solver.approximate)


class MixSolver:
    """Solves pots in dependency order; :meth:`blocks` yields ``(nodes, pots)`` as they are solved.

    Nodes are renumbered in solving order (their *rank*), so the unit mixes solved so far are always a
    prefix of one growing CSR matrix, and each step multiplies by that prefix directly. After the blocks
    are consumed, ``cycles``, ``iterations`` and ``approximate`` tell how the cycles were solved.
    """

    def __init__(
        self,
        n: int,
        payer: np.ndarray,
        payee: np.ndarray,
        stream: np.ndarray,
        amount: np.ndarray,
        forced: np.ndarray,
        *,
        cycle_solver: CycleSolver = "auto",
        block_entries: int = BLOCK_ENTRIES,
        columns: np.ndarray | None = None,
    ):
        amount = amount.astype(np.float64)
        declared = stream >= 0
        mix_source = np.where(declared, stream, payer)
        self.n, self.forced = n, forced
        self.order, self.segments = _solving_order(
            n, payee, mix_source, payer[declared], stream[declared], forced
        )
        rank = np.empty(n, dtype=np.int64)
        rank[self.order] = np.arange(n)
        self.inflow = sp.csr_matrix((amount, (rank[payee], rank[mix_source])), shape=(n, n))
        self.carve = sp.csr_matrix(
            (amount[declared], (rank[payer[declared]], rank[stream[declared]])), shape=(n, n)
        )
        self.undeclared_out = np.bincount(rank[payer[~declared]], weights=amount[~declared], minlength=n)
        # only the unit mixes of nodes whose mix is passed on are ever read
        self.needed = np.zeros(n, dtype=bool)
        self.needed[rank[mix_source]] = True
        self.needed[rank[stream[declared]]] = True
        self.column_of = np.arange(n, dtype=np.int64) if columns is None else columns.astype(np.int64)
        self.width = int(self.column_of.max(initial=-1)) + 1 if columns is not None else n
        self.store = PrefixStore(n, capacity=max(1024, 4 * len(amount)), width=self.width)
        self.cycle_solver = cycle_solver
        self.block_entries = block_entries
        self.cycles = self.approximate = self.iterations = 0

    def blocks(self) -> Iterator[tuple[np.ndarray, sp.csr_matrix]]:
        """``(node indices, pots)``, pots as CSR rows of :attr:`width` (columns: origin node indices, or
        the ``columns`` given for them)."""
        store, order, n = self.store, self.order, self.n
        for start, end, kind in self.segments:
            nodes = order[start:end]
            if kind == "forced":
                store.append(_unit_rows(self.column_of[nodes], self.width))
            elif kind == "acyclic":
                for first, last in self._chunks(start, end):
                    yield self._acyclic(first, last)
            else:
                dense = self.cycle_solver == "dense" or (
                    self.cycle_solver == "auto" and end - start < SPARSE_FROM
                )
                pot, unit, iterations, converged = _solve_cycle(
                    start,
                    end,
                    self.column_of[nodes],
                    self.inflow,
                    self.carve,
                    self.undeclared_out,
                    store,
                    dense,
                )
                store.append(unit)
                self.cycles += 1
                self.approximate += not converged
                self.iterations = max(self.iterations, iterations)
                yield nodes, pot
        forced_rows = np.flatnonzero(self.forced[order])
        if forced_rows.size:
            everything = store.prefix(n)
            for first in range(0, forced_rows.size, 4096):
                rows = forced_rows[first : first + 4096]
                yield order[rows], (self.inflow[rows] @ everything).tocsr()

    def _acyclic(self, start: int, end: int) -> tuple[np.ndarray, sp.csr_matrix]:
        nodes = self.order[start:end]
        pot = self.store.times(self.inflow, start, end)
        needed = np.flatnonzero(self.needed[start:end])
        if needed.size:
            left = _clamped(pot[needed] - self.store.times(self.carve, start, end)[needed])
            own = self.column_of[nodes[needed]]
            unit = _unit_mix(left, own, self.undeclared_out[start:end][needed], self.width)
        else:
            unit = sp.csr_matrix((0, self.width))
        self.store.append(_spread_rows(unit, needed, end - start))
        return nodes, pot

    def _chunks(self, start: int, end: int) -> Iterator[tuple[int, int]]:
        """Row ranges of an acyclic batch whose pots hold about ``block_entries`` entries each."""
        part = self.inflow[start:end]
        widths = np.diff(self.store.indptr[: start + 1])
        row_of_entry = np.repeat(np.arange(end - start), np.diff(part.indptr))
        estimate = np.cumsum(np.bincount(row_of_entry, weights=widths[part.indices], minlength=end - start))
        first = start
        while first < end:
            done = estimate[first - start - 1] if first > start else 0
            last = start + int(np.searchsorted(estimate, done + self.block_entries, side="right"))
            last = min(max(last, first + 1), end)
            yield first, last
            first = last


class PrefixStore:
    """Unit mixes as the rows of one CSR matrix, appended in solving (rank) order.

    >>> store = PrefixStore(3)
    >>> store.append(sp.csr_matrix(np.array([[0.5, 0.0, 0.5]])))
    >>> store.prefix(1).toarray().tolist()
    [[0.5, 0.0, 0.5]]
    """

    def __init__(self, n: int, capacity: int = 1024, width: int | None = None):
        self.n = n  # rows
        self.width = n if width is None else width
        self.indptr = np.zeros(n + 1, dtype=np.int64)
        self.indices = np.empty(capacity, dtype=np.int32 if self.width < 2**31 else np.int64)
        self.data = np.empty(capacity, dtype=np.float64)
        self.rows = 0

    def append(self, block: sp.csr_matrix) -> None:
        """Add the rows of ``block`` (CSR of width n) after those stored so far."""
        block = block.tocsr()
        used = int(self.indptr[self.rows])
        if used + block.nnz > self.indices.size:
            size = max(2 * self.indices.size, used + block.nnz)
            indices, data = np.empty(size, dtype=self.indices.dtype), np.empty(size)
            indices[:used], data[:used] = self.indices[:used], self.data[:used]
            self.indices, self.data = indices, data
        self.indices[used : used + block.nnz] = block.indices
        self.data[used : used + block.nnz] = block.data
        self.indptr[self.rows + 1 : self.rows + 1 + block.shape[0]] = used + block.indptr[1:]
        self.rows += block.shape[0]

    def prefix(self, rows: int) -> sp.csr_matrix:
        """The first ``rows`` stored rows (no copy of the entries)."""
        end = int(self.indptr[rows])
        indptr = self.indptr[: rows + 1]
        if end < 2**31 and self.indices.dtype == np.int32:
            indptr = indptr.astype(np.int32)  # int32 indexes spare scipy a scan of every entry
        return sp.csr_matrix((self.data[:end], self.indices[:end], indptr), shape=(rows, self.width))

    def times(self, matrix: sp.csr_matrix, start: int, end: int) -> sp.csr_matrix:
        """``matrix[start:end] @ Y`` for rows whose columns all point before ``start``."""
        part = matrix[start:end]
        narrow = sp.csr_matrix((part.data, part.indices, part.indptr), shape=(end - start, start))
        return (narrow @ self.prefix(start)).tocsr()


def _unit_rows(nodes: np.ndarray, n: int) -> sp.csr_matrix:
    k = nodes.size
    return sp.csr_matrix((np.ones(k), nodes, np.arange(k + 1)), shape=(k, n))


def _spread_rows(block: sp.csr_matrix, rows: np.ndarray, k: int) -> sp.csr_matrix:
    """``block``'s rows placed at ``rows`` of a k-row matrix; the other rows are empty."""
    counts = np.zeros(k, dtype=np.int64)
    counts[rows] = np.diff(block.indptr)
    indptr = np.concatenate(([0], np.cumsum(counts)))
    return sp.csr_matrix((block.data, block.indices, indptr), shape=(k, block.shape[1]))


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
    start: int,
    end: int,
    own_columns: np.ndarray,
    inflow: sp.csr_matrix,
    carve: sp.csr_matrix,
    undeclared_out: np.ndarray,
    store: PrefixStore,
    dense: bool = False,
) -> tuple[sp.csr_matrix, sp.csr_matrix, int, bool]:
    """Unit mixes of the strongly connected group at ranks ``start:end`` (``own_columns``: each member's
    own origin column).

    An exact linear solve (sparse, or dense when ``dense``), else a damped iteration with dense arrays.
    Returns (pots, unit mixes, iterations, converged).
    """
    k = end - start
    n = store.width
    in_within, fixed_in = _split(inflow, start, end, store)
    carve_within, fixed_carve = _split(carve, start, end, store)
    out = undeclared_out[start:end]
    if not dense:
        unit = _sparse_linear_solution(in_within, carve_within, fixed_in, fixed_carve, out, own_columns)
        if unit is not None:
            return _pruned(fixed_in + in_within @ unit), unit, 0, True
    columns = np.unique(np.concatenate([fixed_in.indices, fixed_carve.indices, own_columns]))
    if not dense_fits(k, columns.size):
        raise CycleError(f"a cycle of {k} organisations with {columns.size} origins is too large to solve")
    column_of = {int(c): i for i, c in enumerate(columns)}
    cycle = DenseCycle(
        base_in=_dense(fixed_in, columns, column_of),
        base_carve=_dense(fixed_carve, columns, column_of),
        in_within=in_within.toarray(),
        carve_within=carve_within.toarray(),
        out=out,
        own_column=np.array([column_of[int(v)] for v in own_columns]),
    )
    pot, dense_unit, iterations, converged = cycle.solve(linear=dense)
    return sparse_mix(pot, columns, n), sparse_mix(dense_unit, columns, n), iterations, converged


def _split(
    matrix: sp.csr_matrix, start: int, end: int, store: PrefixStore
) -> tuple[sp.csr_matrix, sp.csr_matrix]:
    """Rows ``start:end`` of ``matrix`` as (k x k between members, k x n from outside through the prefix)."""
    k = end - start
    part = matrix[start:end].tocoo()
    internal = part.col >= start
    within = sp.csr_matrix(
        (part.data[internal], (part.row[internal], part.col[internal] - start)), shape=(k, k)
    )
    outside = sp.csr_matrix(
        (part.data[~internal], (part.row[~internal], part.col[~internal])), shape=(k, start)
    )
    return within, (outside @ store.prefix(start)).tocsr()


def _row_sums(matrix: sp.spmatrix) -> np.ndarray:
    return np.asarray(matrix.sum(axis=1)).ravel()


def _sparse_linear_solution(
    in_within: sp.csr_matrix,
    carve_within: sp.csr_matrix,
    fixed_in: sp.csr_matrix,
    fixed_carve: sp.csr_matrix,
    out: np.ndarray,
    own_columns: np.ndarray,
) -> sp.csr_matrix | None:
    """The linear rule of :meth:`DenseCycle.linear_solution`, with a sparse LU and blocks of columns.

    Returns the unit mixes (k x n CSR), or None when the rule is not linear here (a carve-out exceeds what
    a member holds) or the system is singular.
    """
    k, n = fixed_in.shape
    received = _row_sums(fixed_in) + _row_sums(in_within)
    carved = _row_sums(fixed_carve) + _row_sums(carve_within)
    scale = max(float(received.max(initial=0.0)), 1.0)
    if (carved > received + 1e-9 * scale).any():
        return None
    total = np.maximum(out, received - carved)
    own = np.maximum(out - (received - carved), 0.0)
    active = total > 1e-9 * scale
    inverse = np.zeros(k)
    inverse[active] = 1.0 / total[active]
    net_within = (in_within - carve_within).tocsr()
    system = (sp.identity(k, format="csr") - sp.diags(inverse) @ net_within).tocsc()
    rows = np.arange(k)
    own_part = sp.csr_matrix((np.where(active, own * inverse, 1.0), (rows, own_columns)), shape=(k, n))
    rhs = (sp.diags(inverse) @ (fixed_in - fixed_carve) + own_part).tocsc()
    net_fixed = (fixed_in - fixed_carve).tocsc()
    try:
        factor = _factorised(system)
    except RuntimeError:  # exactly singular
        return None
    columns = np.flatnonzero(np.diff(rhs.indptr))
    sums = np.zeros(k)
    pieces = []
    for first in range(0, columns.size, SOLVE_COLUMNS):
        chosen = columns[first : first + SOLVE_COLUMNS]
        unit = factor.solve(rhs[:, chosen].toarray(order="F"))
        left = net_fixed[:, chosen].toarray() + net_within @ unit
        if not np.isfinite(unit).all() or unit.min() < -1e-9 or left.min() < -1e-7 * scale:
            return None
        unit = np.maximum(unit, 0.0)
        sums += unit.sum(axis=1)
        r, c = np.nonzero(unit > PRUNE / 2)
        pieces.append((r, chosen[c], unit[r, c]))
    if np.abs(sums - 1).max(initial=0.0) > 1e-9:
        return None
    r, c, v = (np.concatenate(x) for x in zip(*pieces, strict=True)) if pieces else ([], [], [])
    unit = sp.csr_matrix(
        (np.asarray(v, dtype=np.float64) / sums[np.asarray(r, dtype=np.int64)], (r, c)), shape=(k, n)
    )
    return _pruned(unit)


def _factorised(system: sp.csc_matrix) -> Any:
    """A sparse LU of ``system``: in the given order when that fills in little more than COLAMD's order.

    SuperLU solves many right-hand sides several times faster without a column permutation, and the
    members of a cycle come in id order, which often keeps neighbours close (a band).
    """
    natural = splu(system, permc_spec="NATURAL")
    reordered = splu(system, permc_spec="COLAMD")
    fill = natural.L.nnz + natural.U.nnz
    return natural if fill <= 1.5 * (reordered.L.nnz + reordered.U.nnz) else reordered


def _pruned(matrix: sp.csr_matrix) -> sp.csr_matrix:
    """Entries above PRUNE x max(row sum, 1), as :func:`_sparse` keeps them."""
    matrix = matrix.tocsr()
    rows = np.repeat(np.arange(matrix.shape[0]), np.diff(matrix.indptr))
    threshold = PRUNE * np.maximum(_row_sums(matrix), 1.0)
    matrix.data[matrix.data <= threshold[rows]] = 0.0
    matrix.eliminate_zeros()
    return matrix


def dense_fits(members: int, origins: int) -> bool:
    """Whether a strongly connected group of ``members`` reached by ``origins`` origins may be solved in
    dense form (:class:`DenseCycle`): at most :data:`MAX_DENSE_CELLS` cells."""
    return members * max(origins, members) <= MAX_DENSE_CELLS


@dataclass
class DenseCycle:
    """A strongly connected group in dense form: rows are its nodes, columns the origins that reach it.

    Both engines solve each group with it (:meth:`solve`); check :func:`dense_fits` first.
    """

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

    def solve(self, *, linear: bool = True) -> tuple[np.ndarray, np.ndarray, int, bool]:
        """(pots, unit mixes, iterations, converged): exactly when ``linear`` and the linear rule holds,
        else by :meth:`iterate`. Pots are the money each member receives, by origin column."""
        unit = self.linear_solution() if linear else None
        iterations, converged = 0, True
        if unit is None:
            unit, iterations, converged = self.iterate()
        return self.base_in + self.in_within @ unit, unit, iterations, converged

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


def sparse_mix(dense: np.ndarray, columns: np.ndarray, n: int) -> sp.csr_matrix:
    """Dense rows over origin ``columns`` as sparse rows over all ``n`` nodes, entries at or below
    :data:`PRUNE` of their row's total (at least 1) dropped."""
    rows, cols = np.nonzero(dense > PRUNE * np.maximum(dense.sum(axis=1, keepdims=True), 1.0))
    return sp.csr_matrix((dense[rows, cols], (rows, columns[cols])), shape=(dense.shape[0], n))


def _solving_order(
    n: int,
    payee: np.ndarray,
    mix_source: np.ndarray,
    declared_payer: np.ndarray,
    declared_stream: np.ndarray,
    forced: np.ndarray,
) -> tuple[np.ndarray, list[tuple[int, int, str]]]:
    """Nodes in an order where each depends only on earlier ones (or its own cycle), and its segments.

    Segments are (start, end, kind): ``forced`` origins first, then per level of the condensation one
    ``acyclic`` batch and one ``cycle`` segment per strongly connected group.
    """
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
    successors = sp.csr_matrix((np.ones(int(across.sum())), (a[across], b[across])), shape=(count, count))
    successors.sum_duplicates()  # each edge between two components once
    waiting = np.bincount(successors.indices, minlength=count)
    members = np.argsort(component, kind="stable")
    starts = np.concatenate(([0], np.cumsum(size)))
    first = np.flatnonzero(forced)
    pieces: list[np.ndarray] = [first]
    segments: list[tuple[int, int, str]] = [(0, first.size, "forced")] if first.size else []
    done = first.size
    frontier = np.flatnonzero(waiting == 0)
    while frontier.size:
        simple = frontier[~cyclic[frontier]]
        batch = np.sort(members[starts[simple]])  # a simple component has exactly one node
        batch = batch[~forced[batch]]
        if batch.size:
            pieces.append(batch)
            segments.append((done, done + batch.size, "acyclic"))
            done += batch.size
        groups = frontier[cyclic[frontier]]
        for c in groups[np.argsort(members[starts[groups]])]:  # by lowest member: the same on every run
            group = np.sort(members[starts[c] : starts[c + 1]])
            pieces.append(group)
            segments.append((done, done + group.size, "cycle"))
            done += group.size
        reached = successors[frontier].indices
        waiting -= np.bincount(reached, minlength=count)
        touched = np.zeros(count, dtype=bool)
        touched[reached] = True
        frontier = np.flatnonzero((waiting == 0) & touched)
    return np.concatenate(pieces).astype(np.int64), segments


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
