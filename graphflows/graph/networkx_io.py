"""Convert between :class:`FlowGraph` and networkx.

Nodes carry ``name``, ``kinds`` (tuple of kind values) and ``labels`` (Neo4j labels); edges carry
``amount`` (Decimal), ``amount_minor`` (int), ``currency``, ``date``, ``stream_id``, ``reference``,
``source``, ``line`` and any extra columns.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import networkx as nx
import polars as pl

from graphflows.classify import classify_nodes
from graphflows.graph.build import FlowGraph
from graphflows.model import FLOW_COLUMNS, LABELS, Kind, minor_to_decimal, parse_kind, to_minor


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
    """A FlowGraph from any networkx graph whose edges have an ``amount`` (Decimal, int or str).

    Node ``kinds`` (or ``kind``) default to commissioner for payers and provider for payees.
    """
    edges = (
        G.edges(keys=True, data=True)
        if G.is_multigraph()
        else ((u, v, None, d) for u, v, d in G.edges(data=True))
    )
    rows: list[dict[str, Any]] = []
    for u, v, _key, data in edges:
        row = {k: data.get(k) for k in FLOW_COLUMNS if k in data}
        row["payer_id"], row["payee_id"] = str(u), str(v)
        row["payer_name"], row["payee_name"] = _name(G, u), _name(G, v)
        row["payer_kind"] = _first_kind(G, u, Kind.COMMISSIONER)
        row["payee_kind"] = _first_kind(G, v, Kind.PROVIDER)
        row["amount_minor"] = data["amount_minor"] if "amount_minor" in data else _minor(data.get("amount"))
        row["currency"] = data.get("currency") or "GBP"
        row["payer_channel"], row["payee_channel"] = _channel(G, u), _channel(G, v)
        rows.append(row)
    schema = FLOW_COLUMNS | {"payer_channel": pl.String(), "payee_channel": pl.String()}
    flows = pl.DataFrame(rows, schema=schema) if rows else pl.DataFrame(schema=schema)
    from graphflows.graph.build import build_graph

    built = build_graph(flows)
    kinds = {str(n): sorted({k.value for k in _kinds(G, n)}) for n in G.nodes}
    nodes = built.nodes.with_columns(
        pl.struct("id", "kinds")
        .map_elements(
            lambda r: sorted(set(r["kinds"]) | set(kinds.get(r["id"], []))), return_dtype=pl.List(pl.String)
        )
        .alias("kinds")
    )
    isolated = [n for n in map(str, G.nodes) if n not in set(nodes["id"].to_list())]
    if isolated:
        extra = pl.DataFrame(
            {
                "id": isolated,
                "name": [_name(G, n) for n in isolated],
                "kinds": [kinds[n] for n in isolated],
                "channel_given": [_channel(G, n) for n in isolated],
            },
            schema={**nodes.select("id", "name", "kinds").schema, "channel_given": pl.String()},
        )
        nodes = pl.concat([nodes, classify_nodes(extra).drop("channel_given")], how="diagonal_relaxed")
    return FlowGraph(nodes, built.flows.drop("payer_channel", "payee_channel"))


def _minor(amount: Any) -> int:
    if amount is None:
        raise ValueError("every edge needs an amount")
    if isinstance(amount, float):
        amount = Decimal(repr(amount))
    return to_minor(amount if isinstance(amount, (int, Decimal)) else str(amount))


def _name(G: nx.Graph, n: Any) -> str:
    return str(G.nodes[n].get("name") or n) if n in G.nodes else str(n)


def _channel(G: nx.Graph, n: Any) -> str | None:
    """A node's ``channel`` attribute, if it has one (checked when the graph is classified)."""
    value = G.nodes[n].get("channel") if n in G.nodes else None
    return str(value) if value else None


def _kinds(G: nx.Graph, n: Any) -> set[Kind]:
    data = G.nodes.get(n, {})
    raw = data.get("kinds") or ([data["kind"]] if data.get("kind") else [])
    return {parse_kind(str(k)) for k in raw}


def _first_kind(G: nx.Graph, n: Any, default: Kind) -> str:
    kinds = _kinds(G, n)
    return default.value if not kinds or default in kinds else sorted(kinds)[0].value
