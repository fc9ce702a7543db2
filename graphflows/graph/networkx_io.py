"""Convert between :class:`FlowGraph` and networkx.

Nodes carry ``name``, ``kinds`` (tuple of kind values) and ``labels`` (Neo4j labels); edges carry
``amount`` (Decimal), ``amount_minor`` (int), ``currency``, ``date``, ``stream_id``, ``reference``,
``source``, ``line`` and any extra columns.

:func:`from_networkx` reads a graph as strictly as the flows CSV reader reads a file: every value is
checked and a bad one raises :class:`~graphflows.model.InputError` naming the edge or node.

>>> import networkx as nx
>>> G = nx.MultiDiGraph()
>>> G.add_edge("CCG", "P", amount="£1,234.50", currency="gbp", date="2020-05-01")
0
>>> from_networkx(G).flows.select("amount_minor", "currency", "date").rows()
[(123450, 'GBP', datetime.date(2020, 5, 1))]
>>> G.add_edge("CCG", "P", amount="12.5", amount_minor=1200)
1
>>> from_networkx(G)
Traceback (most recent call last):
...
graphflows.model.errors.InputError: edge ('CCG' -> 'P', key 1): amount '12.5' (1250 pence) and \
amount_minor 1200 disagree; edit one and delete the other
"""

from __future__ import annotations

import math
from collections.abc import Callable, Hashable
from datetime import date, datetime
from decimal import Decimal
from numbers import Integral
from os import PathLike
from typing import Any

import networkx as nx
import polars as pl

from graphflows.classify import CHANNELS, classify_nodes, parse_channel
from graphflows.graph.build import FlowGraph, build_graph
from graphflows.ingest.parsing import number_to_minor, parse_amounts, parse_dates
from graphflows.model import (
    FLOW_COLUMNS,
    LABELS,
    MAX_MINOR,
    InputError,
    Kind,
    minor_to_decimal,
    parse_currency,
    parse_kind,
)

#: Edge attributes read as text columns of the flow table (blank or None -> null).
_TEXT = ("stream_id", "reference", "source", "line")


def to_networkx(graph: FlowGraph) -> nx.MultiDiGraph:
    """A MultiDiGraph with one edge per flow, keyed by its position in the flow table."""
    G = nx.MultiDiGraph()
    for row in graph.nodes.iter_rows(named=True):
        attrs = {k: v for k, v in row.items() if k != "id"}
        attrs["kinds"] = tuple(row["kinds"])
        attrs["labels"] = tuple(LABELS[Kind(k)] for k in row["kinds"])
        G.add_node(row["id"], **attrs)
    for key, row in enumerate(graph.flows.iter_rows(named=True)):
        payer, payee = row.pop("payer_id"), row.pop("payee_id")
        for side in ("payer_name", "payee_name", "payer_kind", "payee_kind"):
            row.pop(side)
        row["amount"] = minor_to_decimal(row["amount_minor"])
        G.add_edge(payer, payee, key=key, **row)
    return G


def from_networkx(G: nx.Graph) -> FlowGraph:
    """A FlowGraph from a directed networkx graph (``DiGraph`` or ``MultiDiGraph``); see the README.

    Each edge is one payment from its first node to its second. It needs ``amount`` (int, Decimal,
    float or text such as ``"£1,234.50"``) or ``amount_minor`` (int pence); when it has both (as
    :func:`to_networkx` writes) they must agree. ``currency`` (default GBP), ``date`` (a date,
    datetime or ISO text), ``stream_id`` and ``reference`` are optional. Nodes may have ``name``,
    ``kinds`` (or ``kind``) and ``channel``. Raises InputError naming the first bad edge or node, and
    TypeError for something that is not a graph.
    """
    if not isinstance(G, nx.Graph):
        hint = " (read a file first: gf.read_graph('flows.csv'))" if isinstance(G, (str, PathLike)) else ""
        raise TypeError(
            f"expected a FlowGraph (from gf.read_graph) or a networkx graph, not {type(G).__name__}{hint}"
        )
    if not G.is_directed():
        raise InputError(
            f"{type(G).__name__} has no direction, and payments have a direction: "
            "give an nx.DiGraph or nx.MultiDiGraph (payer -> payee)"
        )
    order, nodes = _read_nodes(G)
    edges = (
        G.edges(keys=True, data=True)
        if G.is_multigraph()
        else ((u, v, None, d) for u, v, d in G.edges(data=True))
    )
    columns: dict[str, list[Any]] = {c: [] for c in ("payer", "payee", "amount_minor", "currency", "date")}
    texts: dict[str, list[Any]] = {c: [] for c in _TEXT}
    where: list[tuple[Any, Any, Any]] = []
    pending_amounts: list[tuple[int, str, int | None]] = []  # (edge, text, amount_minor given)
    pending_dates: list[tuple[int, str]] = []
    currencies: dict[Any, str] = {}
    for i, (u, v, key, data) in enumerate(edges):
        where.append((u, v, key))
        columns["payer"].append(u)
        columns["payee"].append(v)
        columns["amount_minor"].append(_amount(data, i, pending_amounts, (u, v, key)))
        columns["currency"].append(_cached(currencies, data.get("currency"), parse_currency, (u, v, key)))
        columns["date"].append(_date(data.get("date"), i, pending_dates, (u, v, key)))
        for column in _TEXT:
            value = data.get(column)
            texts[column].append(None if _blank(value) else str(value))
    _parse_text_amounts(pending_amounts, columns["amount_minor"], where)
    _parse_text_dates(pending_dates, columns["date"], where)
    flows = _flow_table(order, nodes, columns, texts)
    built = build_graph(flows)
    return FlowGraph(
        _with_given_kinds(built.nodes, nodes), built.flows.drop("payer_channel", "payee_channel")
    )


# ------------------------------------------------------------------------------------------------ nodes


def _read_nodes(G: nx.Graph) -> tuple[dict[Any, int], pl.DataFrame]:
    """Each node's row in a table of ``id, name, kinds, payer_kind, payee_kind, channel``.

    Ids are the nodes as text, so they must stay distinct (``1`` and ``"1"`` are refused).
    """
    rows: dict[str, list[Any]] = {c: [] for c in ("id", "name", "kinds", "channel")}
    seen: dict[str, Any] = {}
    for n, data in G.nodes(data=True):
        node_id = str(n)
        if node_id in seen:
            raise InputError(
                f"nodes {seen[node_id]!r} and {n!r} both become id {node_id!r}: "
                "give every node a distinct id (all text, or all numbers)"
            )
        seen[node_id] = n
        rows["id"].append(node_id)
        name = data.get("name")
        rows["name"].append(node_id if _blank(name) else str(name))
        rows["kinds"].append(sorted(k.value for k in _node_kinds(n, data)))
        rows["channel"].append(_node_channel(n, data.get("channel")))
    kinds = rows["kinds"]
    order = {n: p for p, n in enumerate(seen.values())}
    return order, pl.DataFrame(
        {
            "id": pl.Series(rows["id"], dtype=pl.String),
            "name": pl.Series(rows["name"], dtype=pl.String),
            "kinds": pl.Series(kinds, dtype=pl.List(pl.String)),
            "payer_kind": [_side_kind(k, Kind.COMMISSIONER) for k in kinds],
            "payee_kind": [_side_kind(k, Kind.PROVIDER) for k in kinds],
            "channel": pl.Series(rows["channel"], dtype=pl.String),
        }
    )


def _node_kinds(n: Hashable, data: dict[str, Any]) -> set[Kind]:
    """A node's ``kinds`` (a list, or one kind as text) or ``kind``."""
    raw = data.get("kinds")
    if _blank(raw):
        raw = data.get("kind")
    if _blank(raw):
        return set()
    values = [raw] if isinstance(raw, str) else raw
    try:
        return {parse_kind(str(k)) for k in values}
    except (TypeError, ValueError) as exc:
        raise InputError(f"node {n!r}: kinds {raw!r}: {exc}") from None


def _node_channel(n: Hashable, value: Any) -> str | None:
    if _blank(value):
        return None
    try:
        return parse_channel(str(value))
    except ValueError:
        raise InputError(
            f"node {n!r}: unknown channel {value!r} (expected one of {', '.join(CHANNELS)})"
        ) from None


def _side_kind(kinds: list[str], default: Kind) -> str:
    """The kind a node has as payer or payee: the default when it has no kinds or has that one."""
    return default.value if not kinds or default.value in kinds else kinds[0]


def _with_given_kinds(built: pl.DataFrame, nodes: pl.DataFrame) -> pl.DataFrame:
    """The graph's nodes with the kinds given in networkx added, and isolated nodes appended."""
    given = nodes.select("id", pl.col("kinds").alias("_given"))
    merged = built.join(given, on="id", how="left", maintain_order="left").with_columns(
        pl.concat_list("kinds", pl.col("_given").fill_null(pl.lit([], pl.List(pl.String))))
        .list.unique()
        .list.sort()
        .alias("kinds")
    )
    merged = merged.drop("_given")
    isolated = nodes.join(built.select("id"), on="id", how="anti", maintain_order="left")
    if isolated.is_empty():
        return merged
    extra = isolated.select("id", "name", "kinds", pl.col("channel").alias("channel_given"))
    return pl.concat([merged, classify_nodes(extra).drop("channel_given")], how="diagonal_relaxed")


# ------------------------------------------------------------------------------------------------ edges


def _edge(where: tuple[Any, Any, Any]) -> str:
    u, v, key = where
    return f"edge ({u!r} -> {v!r})" if key is None else f"edge ({u!r} -> {v!r}, key {key!r})"


def _blank(value: Any) -> bool:
    """None, empty text or NaN (how pandas writes a blank cell)."""
    if value is None:
        return True
    if isinstance(value, str):
        return not value.strip()
    return isinstance(value, float) and math.isnan(value)


def _cached(
    cache: dict[Any, str], value: Any, parse: Callable[[Any], str], where: tuple[Any, Any, Any]
) -> str:
    """``parse(value)`` once per distinct value; a ValueError becomes an InputError naming the edge."""
    try:
        return cache[value]
    except (KeyError, TypeError):  # not seen yet, or unhashable
        pass
    try:
        parsed = parse(None if _blank(value) else value)
    except ValueError as exc:
        raise InputError(f"{_edge(where)}: {exc}") from None
    if isinstance(value, Hashable):
        cache[value] = parsed
    return parsed


def _amount(
    data: dict[str, Any], i: int, pending: list[tuple[int, str, int | None]], where: tuple[Any, Any, Any]
) -> int | None:
    """An edge's amount in minor units (None while text waits to be parsed with the others)."""
    amount, given = data.get("amount"), data.get("amount_minor")
    if given is not None:
        if isinstance(given, bool) or not isinstance(given, Integral):
            raise InputError(
                f"{_edge(where)}: amount_minor {given!r} is not a whole number of pence "
                "(give amount instead, e.g. amount='1.99')"
            )
        given = int(given)
        if abs(given) > MAX_MINOR:
            raise InputError(f"{_edge(where)}: amount_minor {given} is too large (at most {MAX_MINOR:,})")
        if amount is None:
            return given
        if type(amount) is Decimal and amount * 100 == given:  # as to_networkx writes them: the fast path
            return given
    elif amount is None:
        raise InputError(f"{_edge(where)}: no amount (give amount, e.g. amount='1234.50')")
    if isinstance(amount, str):
        pending.append((i, amount, given))
        return None
    if isinstance(amount, Integral) and not isinstance(amount, bool):
        amount = int(amount)
    try:
        minor = number_to_minor(amount)
    except ValueError as exc:
        raise InputError(f"{_edge(where)}: {exc}") from None
    _agree(where, amount, minor, given)
    return minor


def _agree(where: tuple[Any, Any, Any], amount: Any, minor: int, given: int | None) -> None:
    if given is not None and given != minor:
        raise InputError(
            f"{_edge(where)}: amount {amount!r} ({minor} pence) and amount_minor {given} disagree; "
            "edit one and delete the other"
        )


def _parse_text_amounts(
    pending: list[tuple[int, str, int | None]], minors: list[int | None], where: list[tuple[Any, Any, Any]]
) -> None:
    """Read text amounts as spend files are read (``£1,234.50``, ``(5.00)``), all in one pass."""
    if not pending:
        return
    minor, problem = parse_amounts(pl.Series([text for _, text, _ in pending], dtype=pl.String))
    for (i, text, given), value, why in zip(pending, minor.to_list(), problem.to_list(), strict=True):
        if why is not None:
            raise InputError(f"{_edge(where[i])}: {why}")
        _agree(where[i], text, value, given)
        minors[i] = value


def _date(value: Any, i: int, pending: list[tuple[int, str]], where: tuple[Any, Any, Any]) -> date | None:
    if _blank(value) or value != value:  # NaN, or pandas' NaT
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        pending.append((i, value))
        return None
    raise InputError(
        f"{_edge(where)}: date {value!r} is not a date (give a datetime.date or ISO text such as 2020-05-01)"
    )


def _parse_text_dates(
    pending: list[tuple[int, str]], dates: list[Any], where: list[tuple[Any, Any, Any]]
) -> None:
    """Read text dates as the flows CSV reads them (ISO 8601), all in one pass."""
    if not pending:
        return
    parsed = parse_dates(pl.Series([text for _, text in pending], dtype=pl.String), iso_only=True)
    for (i, _), value, why in zip(pending, parsed.date.to_list(), parsed.problem.to_list(), strict=True):
        if why is not None:
            raise InputError(f"{_edge(where[i])}: {why}")
        dates[i] = value


def _flow_table(
    position: dict[Any, int], nodes: pl.DataFrame, columns: dict[str, list[Any]], texts: dict[str, list[Any]]
) -> pl.DataFrame:
    """The flow table (FLOW_COLUMNS plus the payer's and payee's channels) of the edges read."""
    sides = nodes.drop("kinds")
    payers = sides[[position[u] for u in columns["payer"]]]
    payees = sides[[position[v] for v in columns["payee"]]]
    flows = pl.DataFrame(
        {
            "payer_id": payers["id"],
            "payer_name": payers["name"],
            "payer_kind": payers["payer_kind"],
            "payee_id": payees["id"],
            "payee_name": payees["name"],
            "payee_kind": payees["payee_kind"],
            "amount_minor": pl.Series(columns["amount_minor"], dtype=pl.Int64),
            "currency": pl.Series(columns["currency"], dtype=pl.String),
            "date": pl.Series(columns["date"], dtype=pl.Date),
            **{c: pl.Series(texts[c], dtype=pl.String) for c in _TEXT},
            "payer_channel": payers["channel"],
            "payee_channel": payees["channel"],
        }
    )
    return flows.select(*FLOW_COLUMNS, "payer_channel", "payee_channel")
