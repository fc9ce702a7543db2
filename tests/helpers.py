"""Small builders shared by tests."""

from __future__ import annotations

from pathlib import Path

import networkx as nx
import polars as pl

FLOWS_HEADER = (
    "payer_id,payer_name,payer_kind,payee_id,payee_name,payee_kind,amount,currency,date,stream_id,reference"
)


def graph_of(*edges: tuple, streams: tuple[str, ...] = ()) -> nx.MultiDiGraph:
    """A MultiDiGraph from (payer, payee, amount[, stream_id[, currency]]) tuples."""
    G = nx.MultiDiGraph()
    for s in streams:
        G.add_node(s, kinds=["stream"])
    for payer, payee, amount, *rest in edges:
        data = {"amount": str(amount)}
        if rest and rest[0]:
            data["stream_id"] = rest[0]
        if len(rest) > 1:
            data["currency"] = rest[1]
        G.add_edge(payer, payee, **data)
    return G


def write_flows(path: Path, rows: list[str], header: str = FLOWS_HEADER, *, pad: bool = True) -> Path:
    """Write a native flows CSV with the given data lines (padded with empty fields to the header's width)."""
    width = header.count(",") + 1
    if pad:
        rows = [row + "," * (width - 1 - row.count(",")) for row in rows]
    path.write_text("\n".join([header, *rows]) + "\n", encoding="utf-8")
    return path


def material(percent: int = 1) -> pl.Expr:
    """An attribution row brings at least ``percent``% of its recipient's income in that currency (exact
    integers: the oracle for the write-back's materiality threshold, 1% by default)."""
    income = pl.col("amount_minor").sum().over("recipient_id", "currency")
    return pl.col("amount_minor") * 100 >= income * percent
