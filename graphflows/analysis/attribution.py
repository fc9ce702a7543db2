"""Attribute every recipient's income to the stovepipes it came from.

>>> import networkx as nx
>>> G = nx.MultiDiGraph()
>>> G.add_node("PH", kinds=["stream"])
>>> _ = G.add_edges_from([("PH", "Council", {"amount": "100"}), ("CCG", "Council", {"amount": "50"}),
...                        ("Council", "Mutual", {"amount": "60"})])
>>> result = attribute(G)
>>> mutual = result.rows.filter(recipient_id="Mutual").sort("stovepipe_id")
>>> mutual.select("stovepipe_id", "amount_minor").rows()
[('CCG', 2000), ('PH', 4000)]
"""

from __future__ import annotations

import itertools
import queue
import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal, TypeVar

import numpy as np
import polars as pl
import scipy.sparse as sp

from graphflows.analysis.channels import channel_codes
from graphflows.analysis.mixing import MixSolver
from graphflows.analysis.netting import (
    SELF_PAYMENT_SCHEMA,
    check_fits,
    net_pairs,
    self_payment_income_notes,
    self_payments,
)
from graphflows.graph import FlowGraph, from_networkx
from graphflows.model import Kind

if TYPE_CHECKING:
    import networkx as nx

T = TypeVar("T")

ATTRIBUTION_SCHEMA = {
    "recipient_id": pl.String(),
    "stovepipe_id": pl.String(),
    "currency": pl.String(),
    "amount_minor": pl.Int64(),
    "share": pl.Float64(),
}
RECIPIENT_SCHEMA = {
    "recipient_id": pl.String(),
    "currency": pl.String(),
    "total_in_minor": pl.Int64(),
    "payer_count": pl.UInt32(),
}


@dataclass(frozen=True)
class Attribution:
    """Where each recipient's money came from.

    ``rows``: one row per recipient, currency and stovepipe with at least one penny (``amount_minor``,
    ``share`` of the recipient's ``total_in``). Amounts are rounded to the penny by largest remainder,
    so each recipient's rows add up exactly to its total in.
    ``recipients``: total in (net of credits) and number of distinct direct payers.
    ``negative_pairs``: payer, payee, stream and currency whose lines net below zero (not attributed).
    ``self_payments``: lines paid by an organisation to itself and their sum per currency: left out of
    income and of the payer count, and said in ``notes``.
    """

    graph: FlowGraph
    by: str
    rows: pl.DataFrame
    recipients: pl.DataFrame
    negative_pairs: pl.DataFrame
    financial_year: str | None = None
    flows_used: int = 0
    undated_excluded: int = 0
    notes: list[str] = field(default_factory=list)
    #: The netted payments attributed (``payer_id, payee_id, currency, net_minor``, ids as positions in the
    #: sorted node ids), so convergence counts the payers' channels without netting the flows again.
    payments: pl.DataFrame | None = None
    self_payments: pl.DataFrame = field(default_factory=lambda: pl.DataFrame(schema=SELF_PAYMENT_SCHEMA))

    def totals(self) -> dict[str, int]:
        """Attributed money per currency (net positive inflows), in minor units."""
        return _totals(self.recipients)


def expect_attribution(result: object, function: str, node_id: object = None) -> str | None:
    """Refuse, in one line, anything but an :class:`Attribution` given to ``function``, and a ``node_id``
    that is no node of its graph; return the id as text (a networkx node ``2`` is ``"2"``).

    >>> expect_attribution("flows.csv", "convergence")
    Traceback (most recent call last):
    TypeError: convergence expects an Attribution (from gf.attribute(graph)), not str
    """
    if not isinstance(result, Attribution):
        raise TypeError(
            f"{function} expects an Attribution (from gf.attribute(graph)), not {type(result).__name__}"
        )
    if node_id is None:
        return None
    if not result.graph.nodes["id"].is_in([str(node_id)]).any():
        raise ValueError(f"no organisation or stream with id {str(node_id)!r} in this graph")
    return str(node_id)


def _totals(recipients: pl.DataFrame) -> dict[str, int]:
    grouped = recipients.group_by("currency").agg(pl.col("total_in_minor").cast(pl.Int128).sum())
    return {currency: int(total) for currency, total in grouped.sort("currency").iter_rows()}


def attribute(
    graph: FlowGraph | nx.Graph,
    *,
    by: Literal["origin", "stream"] = "origin",
    financial_year: str | None = None,
) -> Attribution:
    """Attribute each recipient's income to its origin stovepipes, through any hops and cycles.

    ``by="origin"``: origins are the roots of the money (a stream or commissioner whose own income is
    not in the data, or any node paying out more than it received). ``by="stream"``: every funding
    stream node is the origin of what it pays out, which shows which pots paid.
    ``financial_year`` (``"2014/15"``) keeps only flows dated from 1 April to 31 March.
    """
    stream = attribute_in_blocks(graph, by=by, financial_year=financial_year)
    ids = stream.graph.nodes["id"].sort()
    rows = []
    for currency, blocks in itertools.groupby(stream.coded_blocks(), key=lambda block: block.currency):
        parts = list(blocks)
        node = np.concatenate([p.node for p in parts])
        origin = np.concatenate([p.origin for p in parts])
        width = np.int64(max(int(origin.max(initial=0)) + 1, 1))
        order = np.argsort(node * width + origin)  # recipients, then stovepipes, in id order
        rows.append(
            _frame(
                currency,
                ids,
                node[order],
                origin[order],
                np.concatenate([p.amount for p in parts])[order],
                np.concatenate([p.total for p in parts])[order],
            )
        )
    return Attribution(
        graph=stream.graph,
        by=stream.by,
        rows=pl.concat(rows) if rows else pl.DataFrame(schema=ATTRIBUTION_SCHEMA),
        recipients=stream.recipients,
        negative_pairs=stream.negative_pairs,
        financial_year=stream.financial_year,
        flows_used=stream.flows_used,
        undated_excluded=stream.undated_excluded,
        notes=stream.notes,
        payments=stream.payments,
        self_payments=stream.self_payments,
    )


#: Rows are handed out in blocks of at least this many (the last of each currency may be smaller).
MIN_BLOCK_ROWS = 500_000


@dataclass(frozen=True)
class CodedBlock:
    """Attribution rows of some recipients as node indices (into the sorted node ids) and minor units."""

    currency: str
    node: np.ndarray
    origin: np.ndarray
    amount: np.ndarray
    total: np.ndarray  # each row's recipient's total in


@dataclass
class AttributionStream:
    """An attribution whose rows come in blocks as they are solved (see :func:`attribute_in_blocks`).

    The fields are those of :class:`Attribution` without ``rows``; ``notes`` is complete once the blocks
    are consumed. Every block holds all the rows of the recipients in it.
    """

    graph: FlowGraph
    by: str
    recipients: pl.DataFrame
    negative_pairs: pl.DataFrame
    financial_year: str | None
    flows_used: int
    undated_excluded: int
    notes: list[str]
    _positive: pl.DataFrame
    _forced: np.ndarray
    _codes: pl.DataFrame  # recipient_code, currency, total_in_minor
    #: The graph's channel names (sorted) and each node's channel as an index into them (nodes in id order).
    channel_names: pl.Series = field(default_factory=lambda: pl.Series("channel", [], pl.String))
    _channel_of: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    #: As :attr:`Attribution.self_payments`.
    self_payments: pl.DataFrame = field(default_factory=lambda: pl.DataFrame(schema=SELF_PAYMENT_SCHEMA))

    def totals(self) -> dict[str, int]:
        """Attributed money per currency (net positive inflows), in minor units."""
        return _totals(self.recipients)

    @property
    def payments(self) -> pl.DataFrame:
        """The netted payments attributed, ids as positions in the sorted node ids (see
        :attr:`Attribution.payments`)."""
        return self._positive.select("payer_id", "payee_id", pl.col("currency").cast(pl.String), "net_minor")

    def coded_blocks(self) -> Iterator[CodedBlock]:
        """Blocks of rounded rows as integer codes, currency by currency (can be consumed once).

        Pennies go to channels first, then to the origins within each channel (see :func:`round_to_pennies`),
        so the rows of each recipient and channel add up to what :meth:`channel_blocks` gives.
        """
        for currency, part, total_of in self._partitions():
            solver = self._solver(part)

            def rounded(nodes: np.ndarray, pot: sp.csr_matrix, total_of: np.ndarray = total_of) -> tuple:
                pot.sort_indices()  # origins ascending in each row (per-row sorts in C)
                node = np.repeat(nodes, np.diff(pot.indptr))  # rows stay together
                return round_to_pennies(
                    node, pot.indices.astype(np.int64), pot.data, total_of, grouped=True, origins_sorted=True,
                    channel_of=self._channel_of,
                )  # fmt: skip

            pots = solved_ahead(solver.blocks())  # the next pots are solved while these are rounded
            yield from _gathered(currency, (rounded(*b) for b in pots), total_of)
            self._note(currency, solver)

    def channel_blocks(self) -> Iterator[CodedBlock]:
        """Blocks of rounded money per recipient and channel (``origin`` holds the channel's index into
        :attr:`channel_names`), currency by currency: the channel sums of :meth:`coded_blocks`, solved
        with one column per channel where that is exact (no carve-out from a stream that has a mix of its
        own), so a wide mix costs a few columns instead of every origin.
        """
        for currency, part, total_of in self._partitions():
            columns, channel_of_column = self._channel_columns(part)
            solver = self._solver(part, columns)

            def rounded(
                nodes: np.ndarray,
                pot: sp.csr_matrix,
                total_of: np.ndarray = total_of,
                channel_of_column: np.ndarray = channel_of_column,
            ) -> tuple:
                pot = pot.tocsr()
                by_channel = sp.csr_matrix(
                    (pot.data, channel_of_column[pot.indices], pot.indptr),
                    shape=(pot.shape[0], self.channel_names.len()),
                )
                by_channel.sum_duplicates()  # also sorts each row's channels
                node = np.repeat(nodes, np.diff(by_channel.indptr))
                return round_to_pennies(
                    node, by_channel.indices.astype(np.int64), by_channel.data, total_of,
                    grouped=True, origins_sorted=True,
                )  # fmt: skip

            yield from _gathered(currency, (rounded(*b) for b in solver.blocks()), total_of)
            self._note(currency, solver)

    def _partitions(self) -> Iterator[tuple[str, pl.DataFrame, np.ndarray]]:
        """(currency, netted payments, total in per node) for each currency."""
        n = self._forced.size
        for (currency,), part in self._positive.partition_by("currency", as_dict=True).items():
            total_of = np.zeros(n, dtype=np.int64)
            totals = self._codes.filter(pl.col("currency") == str(currency))
            total_of[totals["recipient_code"].to_numpy()] = totals["total_in_minor"].to_numpy()
            yield str(currency), part, total_of

    def _solver(self, part: pl.DataFrame, columns: np.ndarray | None = None) -> MixSolver:
        return MixSolver(
            self._forced.size,
            part["payer_id"].to_numpy(),
            part["payee_id"].to_numpy(),
            part["stream_id"].fill_null(-1).to_numpy(),
            part["net_minor"].to_numpy(),
            self._forced,
            columns=columns,
        )

    def _channel_columns(self, part: pl.DataFrame) -> tuple[np.ndarray | None, np.ndarray]:
        """Each node's origin column for a channel-level solve, and each column's channel.

        Origins share their channel's column; a declared stream keeps a column of its own, as carving its
        money out of a payer's pot (never below zero) acts on that stream alone. Where a declared stream
        has a mix of its own (it received money and is not forced) the rule does not add up over a
        channel's origins: then every origin keeps its column (``None``).
        """
        channels = self.channel_names.len()
        declared = np.unique(part["stream_id"].drop_nulls().to_numpy())
        payees = np.zeros(self._forced.size, dtype=bool)
        payees[part["payee_id"].to_numpy()] = True
        if (payees[declared] & ~self._forced[declared]).any():
            return None, self._channel_of
        columns = self._channel_of.copy()
        columns[declared] = channels + np.arange(declared.size)
        return columns, np.concatenate([np.arange(channels), self._channel_of[declared]])

    def _note(self, currency: str, solver: MixSolver) -> None:
        if solver.approximate:
            note = (
                f"{currency}: {solver.approximate} cycle(s) did not converge fully; shares inside them "
                "are approximate (each recipient's total is still exact)"
            )
            if note not in self.notes:
                self.notes.append(note)

    def frames(self) -> Iterator[pl.DataFrame]:
        """Blocks of attribution rows (the columns of :attr:`Attribution.rows`), in solving order."""
        ids = self.graph.nodes["id"].sort()
        for block in self.coded_blocks():
            yield _frame(block.currency, ids, block.node, block.origin, block.amount, block.total)


#: The note when ``by="stream"`` finds no funding stream to start from.
NO_STREAMS = (
    "--by stream: the files declare no funding streams (spend files and OCDS have none; 360Giving grant "
    "programmes, and a flows CSV's stream_id or payer_kind 'stream', give them), so the results are those "
    "of --by origin"
)


def attribute_in_blocks(
    graph: FlowGraph | nx.Graph,
    *,
    by: Literal["origin", "stream"] = "origin",
    financial_year: str | None = None,
) -> AttributionStream:
    """:func:`attribute`, with the rows handed out in blocks as they are solved (bounded memory).

    Recipients, negative pairs and totals are known at once; iterate ``frames()`` for the rows. The
    rows are those of :func:`attribute` (in another order: blocks come in solving order).
    """
    if by not in ("origin", "stream"):
        raise ValueError(f"by must be 'origin' or 'stream', not {by!r}")
    if not isinstance(graph, FlowGraph):
        graph = from_networkx(graph)
    graph, undated = _in_year(graph, financial_year)
    flows = graph.flows
    nodes = graph.nodes.sort("id")  # a fixed order, so results never depend on the order of input lines
    ids = nodes["id"]
    forced, notes = _forced_streams(nodes, by)
    channel_names, channel_of = channel_codes(graph)
    own = self_payments(flows)
    positive, negative = net_pairs(_coded(flows, ids))
    recipients = _recipients(positive, ids)
    return AttributionStream(
        graph=graph,
        by=by,
        recipients=recipients.drop("recipient_code"),
        negative_pairs=_named_pairs(negative, ids),
        financial_year=financial_year,
        flows_used=flows.height,
        undated_excluded=undated,
        notes=[*self_payment_income_notes(own), *notes],
        _positive=positive.sort("currency"),
        _forced=forced,
        _codes=recipients.select("recipient_code", "currency", "total_in_minor"),
        channel_names=channel_names,
        _channel_of=channel_of,
        self_payments=own,
    )


def _in_year(graph: FlowGraph, financial_year: str | None) -> tuple[FlowGraph, int]:
    """The graph of the flows in ``financial_year`` (all flows when None), and how many undated flows
    that left out."""
    if not financial_year:
        return graph, 0
    return graph.in_financial_year(financial_year), int(graph.flows["date"].null_count())


def _forced_streams(nodes: pl.DataFrame, by: str) -> tuple[np.ndarray, list[str]]:
    """Per node (in ``nodes``' order), whether money is attributed to it as a stream (``by="stream"``);
    and the note when no node is a stream."""
    if by != "stream":
        return np.zeros(nodes.height, dtype=bool), []
    forced = nodes["kinds"].list.contains(Kind.STREAM.value).to_numpy()
    return forced, [] if forced.any() else [NO_STREAMS]


def _recipients(positive: pl.DataFrame, ids: pl.Series) -> pl.DataFrame:
    """Per recipient and currency: id, total received, number of payers and the recipient's code, in id
    order; a total too large for 64 bits is refused."""
    totals = positive.group_by("payee_id", "currency").agg(
        pl.col("net_minor").cast(pl.Int128).sum().alias("total_in_minor"),
        pl.col("payer_id").n_unique().cast(pl.UInt32).alias("payer_count"),
    )
    check_fits(totals["total_in_minor"])
    return totals.select(
        ids.gather(totals["payee_id"]).alias("recipient_id"),
        pl.col("currency").cast(pl.String),
        pl.col("total_in_minor").cast(pl.Int64),
        "payer_count",
        pl.col("payee_id").alias("recipient_code"),
    ).sort("recipient_id", "currency")


def _named_pairs(negative: pl.DataFrame, ids: pl.Series) -> pl.DataFrame:
    """The pairs whose payments net negative, with node ids instead of codes, in id order."""
    return negative.with_columns(
        ids.gather(negative[c]).alias(c) for c in ("payer_id", "payee_id", "stream_id")
    ).sort("payer_id", "payee_id", "stream_id", "currency")


def solved_ahead(blocks: Iterable[T], depth: int = 2) -> Iterator[T]:
    """``blocks`` in the same order, solved in a background thread up to ``depth`` blocks ahead of the caller.

    numpy, scipy and polars release the GIL in their loops, so solving the next block overlaps writing
    the last one (two cores). An error in solving is raised here; stopping early stops the solver.
    :meth:`AttributionStream.coded_blocks` uses it too, so pots are solved, rounded and written in three
    threads at once.

    >>> [b.currency for b in solved_ahead(iter([CodedBlock("GBP", *[np.zeros(1)] * 4)]))]
    ['GBP']
    """
    handed: queue.Queue[tuple[str, object]] = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def hand(item: tuple[str, object]) -> bool:
        while not stop.is_set():
            try:
                handed.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def solve() -> None:
        try:
            for block in blocks:
                if not hand(("block", block)):
                    return
        except BaseException as exc:  # handed to the caller's thread
            hand(("error", exc))
            return
        finally:
            close = getattr(blocks, "close", None)
            if close is not None:  # a generator stops (and stops any thread of its own) in this thread
                close()
        hand(("done", None))

    solver = threading.Thread(target=solve, name="graphflows-solver", daemon=True)
    solver.start()
    try:
        while True:
            kind, item = handed.get()
            if kind == "done":
                return
            if kind == "error":
                raise item  # type: ignore[misc]
            yield item  # type: ignore[misc]
    finally:
        stop.set()
        solver.join()


def _gathered(
    currency: str, rounded: Iterable[tuple[np.ndarray, np.ndarray, np.ndarray]], total_of: np.ndarray
) -> Iterator[CodedBlock]:
    """Rounded pieces joined into blocks of at least :data:`MIN_BLOCK_ROWS` rows (small cycles come in
    small pieces)."""
    waiting: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
    held = 0
    for piece in rounded:
        if piece[0].size:
            waiting.append(piece)
            held += piece[0].size
        if held >= MIN_BLOCK_ROWS:
            yield _joined(currency, waiting, total_of)
            waiting, held = [], 0
    if waiting:
        yield _joined(currency, waiting, total_of)


def _joined(currency: str, parts: list[tuple[np.ndarray, ...]], total_of: np.ndarray) -> CodedBlock:
    node, origin, amount = (np.concatenate(column) for column in zip(*parts, strict=True))
    return CodedBlock(currency, node, origin, amount, total_of[node])


def channels_of(block: CodedBlock, channel_of: np.ndarray) -> CodedBlock:
    """A block of origin-level rows as money per recipient and channel (``origin``: the channel code)."""
    width = np.int64(max(int(channel_of.max(initial=0)) + 1, 1))
    cells, inverse = np.unique(block.node * width + channel_of[block.origin], return_inverse=True)
    amount = np.zeros(cells.size, dtype=np.int64)
    np.add.at(amount, inverse, block.amount)
    node = cells // width
    first = np.searchsorted(block.node, node) if block.node.size else node
    return CodedBlock(block.currency, node, cells % width, amount, block.total[first])


def coded_rows(rows: pl.DataFrame, ids: pl.Series, recipients: pl.DataFrame) -> Iterator[CodedBlock]:
    """Attribution rows as one :class:`CodedBlock` per currency (``ids``: the graph's sorted node ids)."""
    node = pl.Enum(ids)
    coded = (
        rows.join(
            recipients.select("recipient_id", "currency", "total_in_minor"), on=["recipient_id", "currency"]
        )
        .select(
            pl.col("recipient_id").cast(node).to_physical().cast(pl.Int64).alias("node"),
            pl.col("stovepipe_id").cast(node).to_physical().cast(pl.Int64).alias("origin"),
            "currency",
            "amount_minor",
            "total_in_minor",
        )
        .sort("currency", "node", "origin")
    )
    for (currency,), part in coded.partition_by("currency", as_dict=True).items():
        yield CodedBlock(
            str(currency),
            part["node"].to_numpy(),
            part["origin"].to_numpy(),
            part["amount_minor"].to_numpy(),
            part["total_in_minor"].to_numpy(),
        )


def _frame(
    currency: str, ids: pl.Series, node: np.ndarray, origin: np.ndarray, amount: np.ndarray, total: np.ndarray
) -> pl.DataFrame:
    """Rows of :attr:`Attribution.rows` from integer codes."""
    return pl.DataFrame(
        {
            "recipient_id": ids.gather(node),
            "stovepipe_id": ids.gather(origin),
            "currency": pl.repeat(currency, node.size, eager=True, dtype=pl.String),
            "amount_minor": amount,
            "share": amount / total,
        },
        schema=ATTRIBUTION_SCHEMA,
    )


def _coded(flows: pl.DataFrame, ids: pl.Series) -> pl.DataFrame:
    """Flows with payer, payee and stream as integer positions in ``ids`` (sorted, unique node ids)."""
    node = pl.Enum(ids)
    return flows.select(
        *(
            pl.col(c).cast(node).to_physical().cast(pl.Int64).alias(c)
            for c in ("payer_id", "payee_id", "stream_id")
        ),
        "currency",
        "amount_minor",
    )


def round_to_pennies(
    node: np.ndarray,
    origin: np.ndarray,
    value: np.ndarray,
    total_of: np.ndarray,
    *,
    grouped: bool = False,
    origins_sorted: bool = False,
    channel_of: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Whole minor units per (node, origin) that add up exactly to each node's total, by largest remainder.

    Ties between equal remainders go to the lower origin index, so the result is deterministic. Returns
    the kept entries node by node, origins ascending within each. ``grouped``: the entries already come
    node by node (origins in any order within a node); ``origins_sorted`` too: origins ascending within
    each node (then nothing is sorted but the remainders that can win a penny).

    ``channel_of`` (a small non-negative code per origin index) rounds in two steps: each node's money per
    channel first (largest remainder over the channels, ties to the lower code), then each channel's
    origins to that channel's amount. So channel amounts are what rounding at the channel level gives,
    and origin amounts still add up to them; every amount stays within a penny of its exact value.

    >>> one = np.array([0, 0, 0])
    >>> round_to_pennies(one, np.array([1, 2, 3]), np.array([1.0, 1.0, 1.0]), np.array([100]))[2]
    array([34, 33, 33])
    >>> round_to_pennies(one, np.array([1, 2, 3]), np.array([1.0, 1.0, 1.0]), np.array([100]),
    ...                  channel_of=np.array([0, 1, 0, 0]))[2]   # origin 1 alone in its channel: 33.3 -> 33
    array([33, 34, 33])
    """
    if not grouped:
        width = np.int64(max(int(origin.max(initial=0)) + 1, 1))
        order = np.argsort(node.astype(np.int64) * width + origin)  # keys are unique: no need for stability
        node, origin, value = node[order], origin[order], value[order]
    elif not origins_sorted and node.size:
        starts = np.flatnonzero(np.r_[True, node[1:] != node[:-1]])
        group = np.repeat(np.arange(starts.size, dtype=np.int64), np.diff(np.r_[starts, node.size]))
        order = _sorting(group, np.zeros(node.size, dtype=np.int64), origin)
        node, origin, value = node[order], origin[order], value[order]
    if node.size == 0:
        return node, origin, value.astype(np.int64)
    starts = np.flatnonzero(np.r_[True, node[1:] != node[:-1]])
    group = np.repeat(np.arange(starts.size, dtype=np.int64), np.diff(np.r_[starts, node.size]))
    total = total_of[node[starts]]
    if int(total.max(initial=0)) >= PRECISE_FROM:  # past 2**50 units a double is too coarse to split exactly
        value = _precise(value)
    exact = value * (total / np.add.reduceat(value, starts))[group]
    channel = None if channel_of is None else channel_of[origin]
    if channel is None or channel.min() == channel.max():  # one channel: its amount is the node's total
        amount = _hand_out(exact, group, starts, total, starts)
    else:
        cell, cell_amount = _channel_cells(exact, group, starts, channel, total)
        amount = _hand_out(exact, cell, None, cell_amount, starts[_cell_group(cell_amount, cell, group)])
    kept = np.flatnonzero(amount > 0)
    return node[kept], origin[kept], amount[kept]


#: Totals from this many minor units on are split in extended precision (a double's 53 bits leave too little
#: room below the penny to hand out every one exactly).
PRECISE_FROM = 2**50


def _precise(value: np.ndarray) -> np.ndarray:
    """``value`` as extended-precision floats (64-bit mantissa on x86 Linux); refused where there are none."""
    if np.finfo(np.longdouble).nmant < 63:
        raise ValueError(
            "a recipient's income is above 2**50 minor units: too large to round exactly on this platform"
        )
    return value.astype(np.longdouble)


def _channel_cells(
    exact: np.ndarray, group: np.ndarray, starts: np.ndarray, channel: np.ndarray, total: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Each entry's (node group, channel) cell, and every cell's amount: each node's ``total`` handed out
    over its channels by largest remainder (ties to the lower channel code)."""
    present = np.flatnonzero(np.bincount(channel))
    local = np.zeros(int(present[-1]) + 1, dtype=np.int64)
    local[present] = np.arange(present.size)
    width = present.size
    key = group * width + local[channel]
    cells = np.flatnonzero(np.bincount(key, minlength=starts.size * width))
    if exact.dtype == np.float64:
        exact_of_cell = np.bincount(key, weights=exact, minlength=starts.size * width)[cells]
    else:  # bincount would sum in doubles
        summed = np.zeros(starts.size * width, dtype=exact.dtype)
        np.add.at(summed, key, exact)
        exact_of_cell = summed[cells]
    cell_group = cells // width
    first = np.flatnonzero(np.r_[True, cell_group[1:] != cell_group[:-1]])
    cell_amount = _hand_out(exact_of_cell, cell_group, first, total, first)  # every node has a cell
    cell_of_key = np.empty(starts.size * width, dtype=np.int64)
    cell_of_key[cells] = np.arange(cells.size)
    return cell_of_key[key], cell_amount


def _cell_group(cell_amount: np.ndarray, cell: np.ndarray, group: np.ndarray) -> np.ndarray:
    """The node group of every cell (from any entry in it)."""
    of_cell = np.empty(cell_amount.size, dtype=np.int64)
    of_cell[cell] = group
    return of_cell


def _hand_out(
    exact: np.ndarray, unit: np.ndarray, unit_starts: np.ndarray | None, target: np.ndarray, base: np.ndarray
) -> np.ndarray:
    """``floor(exact)`` plus a penny each to the largest remainders of every unit, so that unit ``u`` adds
    up to ``target[u]``. Equal remainders go to the lower position ``entry - base[unit]``.

    ``unit_starts``: where each unit begins when units are contiguous, else None (then sums go through
    ``bincount``, exact while amounts stay below 2**53).
    """
    floor = np.floor(exact).astype(np.int64)
    if unit_starts is not None:
        missing = target - np.add.reduceat(floor, unit_starts)
    elif int(target.max(initial=0)) < 2**53:
        missing = target - np.rint(np.bincount(unit, weights=floor, minlength=target.size)).astype(np.int64)
    else:
        sums = np.zeros(target.size, dtype=np.int64)
        np.add.at(sums, unit, floor)
        missing = target - sums
    # rank within each unit by remainder, largest first; equal remainders go to the lower position
    remainder = np.minimum(((exact - floor) * 2**30).astype(np.int64), 2**30 - 1)
    # only remainders above a quarter can win a penny where enough of them are above a quarter: rank those
    high = remainder > 2**28
    if unit_starts is not None:
        highs = np.add.reduceat(high.astype(np.int64), unit_starts)
    else:
        highs = np.bincount(unit, weights=high, minlength=target.size).astype(np.int64)
    enough = highs >= missing
    ranked = np.flatnonzero(high | ~enough[unit])
    sorted_unit, position = _ranked(unit[ranked], 2**30 - 1 - remainder[ranked], ranked - base[unit[ranked]])
    by_remainder = base[sorted_unit] + position
    first = np.flatnonzero(np.r_[True, sorted_unit[1:] != sorted_unit[:-1]])
    rank = np.arange(by_remainder.size) - np.repeat(first, np.diff(np.r_[first, by_remainder.size]))
    amount = floor
    amount[by_remainder[rank < missing[sorted_unit]]] += 1
    return amount


def _ranked(group: np.ndarray, middle: np.ndarray, position: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(group, position) of (group, middle, position) triples of non-negative integers in sorted order.

    One 64-bit key sorted by value when the three fit (faster than an argsort), else a lexsort.

    >>> [a.tolist() for a in _ranked(np.array([0, 0, 1]), np.array([5, 3, 0]), np.array([0, 1, 0]))]
    [[0, 0, 1], [1, 0, 0]]
    """
    if group.size == 0:
        empty = np.empty(0, dtype=np.int64)
        return empty, empty
    bits = [max(int(part.max()), 1).bit_length() for part in (group, middle, position)]
    if sum(bits) <= 63:
        key = np.sort((group << (bits[1] + bits[2])) | (middle << bits[2]) | position)
        return key >> (bits[1] + bits[2]), key & ((1 << bits[2]) - 1)
    order = np.lexsort((position, middle, group))
    return group[order], position[order]


def _sorting(major: np.ndarray, middle: np.ndarray, minor: np.ndarray) -> np.ndarray:
    """The order of (major, middle, minor) triples of non-negative integers (one 64-bit key when they fit).

    >>> _sorting(np.array([1, 0, 0]), np.array([0, 5, 5]), np.array([0, 2, 1])).tolist()
    [2, 1, 0]
    """
    if major.size == 0:
        return np.empty(0, dtype=np.int64)
    bits = [max(int(part.max()), 1).bit_length() for part in (major, middle, minor)]
    if sum(bits) <= 63:
        key = (major << (bits[1] + bits[2])) | (middle << bits[2]) | minor
        return np.argsort(key)  # keys are unique when the triples are: no need for stability
    return np.lexsort((minor, middle, major))
